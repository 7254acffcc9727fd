"""Template test problem: torch.max(x, dim=1)[0] of a (4, 1023, 9) fp16 tensor
(values only, strided, odd inner extent)."""
import torch
import torch.nn as nn

KBREED_OP = "max_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.max(x, dim=1)[0]


def get_inputs():
    return [torch.randn(4, 1023, 9, dtype=torch.float16)]


def get_init_inputs():
    return []
