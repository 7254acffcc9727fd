"""Inclusive prefix sum along dim 1 (KernelBench level 1, 89_cumsum)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "scan"
KBREED_NOTES = "torch.cumsum along 16384-element rows, 16384 rows; fp32 rounding order matters"

batch_size = 16384
length = 16384
dim = 1

# One addition per element; memory-bound.
KBREED_FLOPS = batch_size * length


class Model(nn.Module):
    """Cumulative sum along a fixed dimension."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, dim=self.dim)


def get_inputs():
    x = torch.randn(batch_size, length)
    return [x]


def get_init_inputs():
    return [dim]
