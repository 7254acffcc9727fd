"""Template test problem: cumsum along dim 1 of an odd-sized (5, 3001) tensor (rows longer
than one tile and not a multiple of any vector width)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "scan"
KBREED_OP = "cumsum"
KBREED_NOTES = "odd-shaped cumsum for the template tests"


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return torch.cumsum(x, dim=self.dim)


def get_inputs():
    return [torch.randn(5, 3001)]


def get_init_inputs():
    return [1]
