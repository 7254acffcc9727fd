"""Template test problem: fp32 A.T @ B, A stored (517, 333), B (517, 259): the transposed-A pre-pass, odd sizes."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A.T, B)


def get_inputs():
    return [torch.randn(517, 333), torch.randn(517, 259)]


def get_init_inputs():
    return []
