"""Template test problem: mean squared error of two (37, 1001) fp16 tensors
(37037 elements: whole 16-byte words and a tail of 5)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "mse_loss"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return torch.mean((predictions - targets) ** 2)


def get_inputs():
    return [torch.randn(37, 1001, dtype=torch.float16), torch.randn(37, 1001, dtype=torch.float16)]


def get_init_inputs():
    return []
