"""Template test problem: fp32 (333, 517) @ (517, 259). No size is a multiple of 2, so the
scalar (4-byte) load paths run and every tile, including the K slices, has a ragged edge."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_OP = "matmul_fp32"
KBREED_NOTES = "odd-shaped fp32 matmul for the template tests"

M, K, N = 333, 517, 259
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
