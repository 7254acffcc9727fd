"""Template test problem: fp32 A @ B.T, A (333, 517), B stored (259, 517): B read K-major as stored, odd K."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B.T)


def get_inputs():
    return [torch.randn(333, 517), torch.randn(259, 517)]


def get_init_inputs():
    return []
