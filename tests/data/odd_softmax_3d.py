"""Template test problem: softmax over dim 1 of a 3-D (3, 17, 5) tensor (strided lines)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "softmax"
KBREED_OP = "softmax"
KBREED_NOTES = "strided softmax for the template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.softmax(x, dim=1)


def get_inputs():
    return [torch.randn(3, 17, 5)]


def get_init_inputs():
    return []
