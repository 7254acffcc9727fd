"""Template test problem: fp32 (300, 4100) @ (4100, 1). K is a multiple of 4,
so the 16-byte path runs; a row is a block's at the defaults (its slices would
be short), split along K only where SPLIT_K says so."""
import torch
import torch.nn as nn

KBREED_OP = "matvec"
KBREED_NOTES = "odd-shaped matvec for the gemv template tests"

M, K = 300, 4100

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.rand(M, K), torch.rand(K, 1)]


def get_init_inputs():
    return []
