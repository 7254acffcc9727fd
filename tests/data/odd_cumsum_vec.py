"""Template test problem: cumsum along dim 1 of (6, 5004): rows a multiple of 4 (float4
paths) but not of any tile, so the last tile of each row is partial."""
import torch
import torch.nn as nn

KBREED_FAMILY = "scan"
KBREED_OP = "cumsum"
KBREED_NOTES = "vector-path cumsum for the template tests"


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return torch.cumsum(x, dim=self.dim)


def get_inputs():
    return [torch.randn(6, 5004)]


def get_init_inputs():
    return [1]
