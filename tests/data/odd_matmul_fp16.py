"""Template test problem: fp16 (333, 517) @ (517, 259), sizes that are multiples of
nothing, so K and N rows are not 16-byte aligned (the element-wise load path) and every
tile edge is partial."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_OP = "matmul_fp16"
KBREED_NOTES = "odd-shaped fp16 matmul for the template tests"

M, K, N = 333, 517, 259
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
