"""Template test problem: fp16 A.unsqueeze(1) * B, A (45,), B (45, 1032):
M is a multiple of 8, the 16-byte path."""
import torch
import torch.nn as nn

KBREED_OP = "matmul_diag"
KBREED_NOTES = "odd-shaped matmul_diag for the rowscale template tests"

N, M = 45, 1032

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return A.unsqueeze(1) * B


def get_inputs():
    return [torch.randn(N, dtype=torch.float16), torch.randn(N, M, dtype=torch.float16)]


def get_init_inputs():
    return []
