"""Template test problem: Huber loss, delta 0.7, mean, of two (1003,) bf16
tensors (a 1-D input, and the delta scales the linear branch)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "huber_loss"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return F.huber_loss(predictions, targets, delta=0.7)


def get_inputs():
    return [torch.randn(1003).to(torch.bfloat16), torch.randn(1003).to(torch.bfloat16)]


def get_init_inputs():
    return []
