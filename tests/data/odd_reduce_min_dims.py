"""Template test problem: amin over dims (1, 2) of a (6, 17, 19, 5) tensor
(two adjacent dims reduced at once, inner extent 5)."""
import torch
import torch.nn as nn

KBREED_OP = "min_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.amin(x, dim=(1, 2))


def get_inputs():
    return [torch.randn(6, 17, 19, 5)]


def get_init_inputs():
    return []
