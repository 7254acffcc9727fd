"""Template test problem: fp32 (100, 40003) @ (40003, 70): one tile and a long K, so the product is split along K and summed by a second pass.
gemm_tf32 refuses it at PRECISION=3: K is beyond the length its tensor-core
sums keep within the strict tolerance."""
import torch
import torch.nn as nn

KBREED_TEST_REFUSED = "gemm_tf32"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(100, 40003), torch.randn(40003, 70)]


def get_init_inputs():
    return []
