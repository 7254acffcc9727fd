"""Template test problem: argmin over dim 1 of a (3, 129, 37) tensor
(strided, as KernelBench's 52 has it), keepdim."""
import torch
import torch.nn as nn

KBREED_OP = "argmin_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.argmin(x, dim=1, keepdim=True)


def get_inputs():
    return [torch.rand(3, 129, 37)]


def get_init_inputs():
    return []
