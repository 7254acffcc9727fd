"""Template test problem: fp32 A.unsqueeze(1) * B, A (37,), B (37, 41):
diag(A) @ B as a broadcast multiply; M is odd, every access one element."""
import torch
import torch.nn as nn

KBREED_OP = "matmul_diag"
KBREED_NOTES = "odd-shaped matmul_diag for the rowscale template tests"

N, M = 37, 41

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return A.unsqueeze(1) * B


def get_inputs():
    return [torch.randn(N), torch.randn(N, M)]


def get_init_inputs():
    return []
