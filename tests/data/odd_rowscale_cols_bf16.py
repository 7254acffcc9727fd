"""Template test problem: bf16 B @ torch.diag(A), A (1030,), B (33, 1030):
A scaling the columns; M is even but not a multiple of 8 (4-byte words
at VEC=1 only)."""
import torch
import torch.nn as nn

KBREED_OP = "matmul_diag"
KBREED_NOTES = "odd-shaped matmul_diag for the rowscale template tests"

N, M = 33, 1030

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return B @ torch.diag(A)


def get_inputs():
    return [torch.randn(M, dtype=torch.bfloat16), torch.randn(N, M, dtype=torch.bfloat16)]


def get_init_inputs():
    return []
