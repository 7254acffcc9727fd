"""Template test problem: cumsum along dim 1 of a 3-D (3, 257, 7) tensor (strided lines)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "scan"
KBREED_OP = "cumsum"
KBREED_NOTES = "strided cumsum for the template tests"


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return torch.cumsum(x, dim=self.dim)


def get_inputs():
    return [torch.randn(3, 257, 7)]


def get_init_inputs():
    return [1]
