"""Template test problem: fp32 B * A, A (516,), B (50, 516): B @ diag(A),
A scaling the columns, on the 16-byte path."""
import torch
import torch.nn as nn

KBREED_OP = "matmul_diag"
KBREED_NOTES = "odd-shaped matmul_diag for the rowscale template tests"

N, M = 50, 516

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return B * A


def get_inputs():
    return [torch.randn(M), torch.randn(N, M)]


def get_init_inputs():
    return []
