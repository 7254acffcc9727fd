"""Template test problem: log_softmax over the last dim of a (9, 1003) tensor (rows of
1003 floats: a scalar head and tail on every row but the first)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.log_softmax(x, dim=1)


def get_inputs():
    return [torch.randn(9, 1003)]


def get_init_inputs():
    return []
