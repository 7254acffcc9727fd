"""Template test problem: fp32 tril(A @ B, diagonal=3) of (300, 177) @ (177, 301): a non-square product, an offset diagonal."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.tril(torch.matmul(A, B), diagonal=3)


def get_inputs():
    return [torch.randn(300, 177), torch.randn(177, 301)]


def get_init_inputs():
    return []
