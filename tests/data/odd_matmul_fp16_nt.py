"""Template test problem: fp16 A @ B.T (x @ w.T, the linear layer), A (333, 517), B stored
(259, 517): B read K-major as stored; K = 517 rows are not 16-byte aligned (both operands
copied to a padded pitch), N = 259 is odd (single-element stores), every tile edge partial."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B.T)


def get_inputs():
    return [torch.randn(333, 517).half(), torch.randn(259, 517).half()]


def get_init_inputs():
    return []
