"""Template test problem: fp32 torch.diag(A) @ B written out, A (130,),
B (130, 260): M is a multiple of 4, the 16-byte path."""
import torch
import torch.nn as nn

KBREED_OP = "matmul_diag"
KBREED_NOTES = "odd-shaped matmul_diag for the rowscale template tests"

N, M = 130, 260

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.diag(A) @ B


def get_inputs():
    return [torch.randn(N), torch.randn(N, M)]


def get_init_inputs():
    return []
