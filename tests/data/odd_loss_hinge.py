"""Template test problem: hinge loss mean(clamp(1 - x * y, min=0)) of (41, 97)
fp32 tensors, targets of +-1."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "hinge_loss"
KBREED_NOTES = "odd-shaped loss for the loss_reduce template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return torch.mean(torch.clamp(1 - predictions * targets, min=0))


def get_inputs():
    return [torch.randn(41, 97), torch.randint(0, 2, (41, 97)).float() * 2 - 1]


def get_init_inputs():
    return []
