"""Template test problem: fp32 A.T @ B.T, A stored (518, 333), B (259, 518): both transposed, K even but not a multiple of 4."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A.T, B.T)


def get_inputs():
    return [torch.randn(518, 333), torch.randn(259, 518)]


def get_init_inputs():
    return []
