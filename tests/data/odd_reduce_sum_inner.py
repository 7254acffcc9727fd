"""Template test problem: sum over the last dim, keepdim, of a (5, 7, 1031) tensor
(rows of 1031 floats: every row starts misaligned, with a scalar head and tail)."""
import torch
import torch.nn as nn

KBREED_OP = "sum_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.sum(x, dim=-1, keepdim=True)


def get_inputs():
    return [torch.randn(5, 7, 1031)]


def get_init_inputs():
    return []
