"""Template test problem: fp16 (1000, 776) @ (776, 1048): K and N multiples of 8 (16-byte
rows, the cp.async path) but M, N and K multiples of no tile size, so the zero-filled edge
chunks and the bounds-checked stores run."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_OP = "matmul_fp16"
KBREED_NOTES = "vector-path fp16 matmul with partial tiles for the template tests"

M, K, N = 1000, 776, 1048
KBREED_FLOPS = 2 * M * N * K


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(M, K).half(), torch.randn(K, N).half()]


def get_init_inputs():
    return []
