"""Fill test problem: problems/matmul_fp16.py scaled down, the same ops, dtypes and layouts:
fp16 (64, 64) @ (64, 64)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_OP = "matmul_fp16"
KBREED_NOTES = "C = A @ B, 64 cube, fp16 in and out"

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
    A = torch.randn(M, K).half()
    B = torch.randn(K, N).half()
    return [A, B]


def get_init_inputs():
    return []
