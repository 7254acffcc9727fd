"""Template test problem: fp32 (100, 40003) @ (40003, 70): one tile and a long K, so the product is split along K and summed by a second pass.
At PRECISION=3, gemm_tf32 and gemm_wgmma_tf32 cut K into pieces of at most
8192 (the length their tensor-core sums keep within the strict tolerance)
whatever SPLIT_K says; 40003 is no multiple of 4 (4-byte copies)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(100, 40003), torch.randn(40003, 70)]


def get_init_inputs():
    return []
