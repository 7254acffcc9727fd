"""Template test problem: softmax over dim 1 of an odd-sized (7, 1001) tensor (rows not
16-byte aligned after the first)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "softmax"
KBREED_OP = "softmax"
KBREED_NOTES = "odd-shaped softmax for the template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.softmax(x, dim=1)


def get_inputs():
    return [torch.randn(7, 1001)]


def get_init_inputs():
    return []
