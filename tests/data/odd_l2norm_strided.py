"""Template test problem: L2 normalisation over dim 1 of an odd-sized (5, 37, 11)
tensor: the reduced dim strided (11 columns a sample), 37 steps a column."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return x / torch.norm(x, p=2, dim=1, keepdim=True)


def get_inputs():
    return [torch.randn(5, 37, 11)]


def get_init_inputs():
    return []
