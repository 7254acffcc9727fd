"""Template test problem: fp16 A.T @ B, A stored (520, 333), B (520, 264): A read M-major as
stored, its rows of 333 copied to a padded pitch; B's rows 16-byte aligned (read in place),
N = 264 a multiple of 8 (16-byte stores); K = 520 and M, N multiples of no tile."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A.T, B)


def get_inputs():
    return [torch.randn(520, 333).half(), torch.randn(520, 264).half()]


def get_init_inputs():
    return []
