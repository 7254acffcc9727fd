"""Template test problem: prod over dim 0 of a (13, 77) tensor of values near 1
(the reduced axis outermost: OUTER = 1)."""
import torch
import torch.nn as nn

KBREED_OP = "prod_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.prod(x, dim=0)


def get_inputs():
    return [1.0 + 0.1 * torch.randn(13, 77)]


def get_init_inputs():
    return []
