"""Template test problem: cumprod along dim 1 of an odd-sized (7, 2053) tensor, values
near 1 so that the products stay in range along the whole row (recognised from
the graph: op cumprod, SCAN_PROD)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return torch.cumprod(x, dim=self.dim)


def get_inputs():
    return [1 + 0.01 * torch.randn(7, 2053)]


def get_init_inputs():
    return [1]
