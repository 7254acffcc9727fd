"""Fill test problem: problems/matmul_fp32.py scaled down, the same ops, dtypes and layouts:
fp32 (64, 64) @ (64, 64)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_OP = "matmul_fp32"
KBREED_NOTES = "C = A @ B, 64 cube, fp32 in and out"

M = 64
N = 64
K = 64

KBREED_FLOPS = 2 * M * N * K


class Model(nn.Module):
    """A single matrix multiplication."""

    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)


def get_inputs():
    A = torch.randn(M, K)
    B = torch.randn(K, N)
    return [A, B]


def get_init_inputs():
    return []
