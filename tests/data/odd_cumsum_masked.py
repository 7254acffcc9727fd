"""Template test problem: the masked cumsum of KernelBench level 1 (93),
torch.cumsum(x * mask, dim=1), on an odd-sized (11, 2049) tensor (recognised
from the graph: op cumsum_masked, SCAN_MASKED)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x, mask):
        return torch.cumsum(x * mask, dim=self.dim)


def get_inputs():
    x = torch.randn(11, 2049)
    return [x, torch.randint(0, 2, x.shape).bool()]


def get_init_inputs():
    return [1]
