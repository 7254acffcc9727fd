"""Fill test problem: problems/gelu.py scaled down, the same ops, dtypes and layouts:
exact (erf) GELU on (8, 256)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "elementwise"
KBREED_OP = "gelu"
KBREED_NOTES = "F.gelu with the exact erf form on 2048 fp32 elements"

batch_size = 8
dim = 256

# Rough: 5 per element, counting erf as one; memory-bound.
KBREED_FLOPS = 5 * batch_size * dim


class Model(nn.Module):
    """GELU, approximate='none'."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x)


def get_inputs():
    x = torch.randn(batch_size, dim)
    return [x]


def get_init_inputs():
    return []
