"""Template test problem: mean over dim 1 of a (3, 257, 35) tensor
(the reduced axis strided, as KernelBench's 48 has it)."""
import torch
import torch.nn as nn

KBREED_OP = "mean_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.mean(x, dim=1)


def get_inputs():
    return [torch.rand(3, 257, 35)]


def get_init_inputs():
    return []
