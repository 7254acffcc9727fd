"""Square fp16 matrix product: the tensor-core case of 1_Square_matrix_multiplication_."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_NOTES = "C = A @ B, 4096 cube, fp16 in and out"

M = 4096
N = 4096
K = 4096

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
