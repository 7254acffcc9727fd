"""Template test problem: fp32 einsum bijl,lk->bijk on (2, 3, 67, 45) and (45, 99): the einsum's views fold into one product."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.einsum("bijl,lk->bijk", A, B)


def get_inputs():
    return [torch.randn(2, 3, 67, 45), torch.randn(45, 99)]


def get_init_inputs():
    return []
