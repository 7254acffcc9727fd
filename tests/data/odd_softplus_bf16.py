"""Template test problem: Softplus (beta 2, threshold 5) on an odd-sized (9, 2053) bf16
tensor (18477 elements)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "softplus"
KBREED_NOTES = "odd-shaped bf16 Softplus for the pointwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.softplus(x, beta=2.0, threshold=5.0)


def get_inputs():
    return [torch.randn(9, 2053, dtype=torch.bfloat16) * 4]


def get_init_inputs():
    return []
