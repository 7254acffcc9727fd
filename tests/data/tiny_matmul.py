"""CI test problem: fp32 (17, 33) @ (33, 9)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "matmul"
KBREED_NOTES = "tiny matmul for the bridge tests"

M, K, N = 17, 33, 9
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
