"""Template test problem: sum over the last dim of a (67, 4100) fp16 tensor
(a block per row, 16-byte loads, accumulated in float)."""
import torch
import torch.nn as nn

KBREED_OP = "sum_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.sum(x, dim=1)


def get_inputs():
    return [torch.randn(67, 4100, dtype=torch.float16)]


def get_init_inputs():
    return []
