"""Fill test problem: problems/cumsum.py scaled down, the same ops, dtypes and layouts:
inclusive prefix sum along dim 1 of (4, 512)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "scan"
KBREED_OP = "cumsum"
KBREED_NOTES = "torch.cumsum along 512-element rows, 4 rows"

batch_size = 4
length = 512
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
