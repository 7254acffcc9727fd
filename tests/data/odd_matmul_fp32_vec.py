"""Template test problem: fp32 (1000, 1036) @ (1036, 1052). K and N are multiples of 4, so
the 16-byte load and store paths run, but no size is a multiple of a tile (64, 128 or 256
rows and columns; 8, 16 or 32 deep)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_OP = "matmul_fp32"
KBREED_NOTES = "vector-path fp32 matmul for the template tests"

M, K, N = 1000, 1036, 1052
KBREED_FLOPS = 2 * M * N * K


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, N)]


def get_init_inputs():
    return []
