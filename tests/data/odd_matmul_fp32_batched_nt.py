"""Template test problem: fp32 (3, 2, 131, 96) @ (3, 2, 65, 96).transpose(-2, -1): two batch dims, B transposed per matrix."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B.transpose(-2, -1))


def get_inputs():
    return [torch.randn(3, 2, 131, 96), torch.randn(3, 2, 65, 96)]


def get_init_inputs():
    return []
