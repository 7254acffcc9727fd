"""Template test problem: softmax over dim -1 of a 3-D (3, 5, 777) tensor (the last dim,
given as -1, with a rank above 2)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.softmax(x, dim=-1)


def get_inputs():
    return [torch.randn(3, 5, 777)]


def get_init_inputs():
    return []
