"""Template test problem: the exclusive cumsum of KernelBench level 1 (92), zeros and
then the cumsum of all but the last, along dim 1 of an odd-sized (9, 1027)
tensor (recognised from the graph: op cumsum_exclusive, SCAN_EXCLUSIVE)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        cumsum = torch.cumsum(x.narrow(dim=self.dim, start=0, length=x.size(self.dim) - 1), dim=self.dim)
        return torch.cat((torch.zeros_like(x.select(self.dim, 0).unsqueeze(self.dim)), cumsum), dim=self.dim)


def get_inputs():
    return [torch.randn(9, 1027)]


def get_init_inputs():
    return [1]
