"""Template test problem: fp32 bmm of (5, 133, 201) and (5, 201, 75): a batch of ragged products."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.bmm(A, B)


def get_inputs():
    return [torch.randn(5, 133, 201), torch.randn(5, 201, 75)]


def get_init_inputs():
    return []
