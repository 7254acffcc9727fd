"""Fill test problem: problems/softmax.py scaled down, the same ops, dtypes and layouts:
softmax along dim 1 of (4, 512)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "softmax"
KBREED_OP = "softmax"
KBREED_NOTES = "torch.softmax over 512-element rows, 4 rows"
KBREED_DEFINES = {"SOFTMAX_DIM": 1, "SOFTMAX_INNERMOST": 1}

batch_size = 4
dim = 512

# Rough: 5 per element (max, subtract, exp, sum, divide); memory-bound.
KBREED_FLOPS = 5 * batch_size * dim


class Model(nn.Module):
    """Softmax over the second dimension."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=1)


def get_inputs():
    x = torch.randn(batch_size, dim)
    return [x]


def get_init_inputs():
    return []
