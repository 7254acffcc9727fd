"""Template test problem: fp32 (7, 129, 203) @ (203, 131): A's batch folds into M (903 rows)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(7, 129, 203), torch.randn(203, 131)]


def get_init_inputs():
    return []
