"""Template test problem: fp32 (6, 98308) @ (98308, 1): a handful of
long rows, each split over many blocks whose sums a second pass adds."""
import torch
import torch.nn as nn

KBREED_OP = "matvec"
KBREED_NOTES = "odd-shaped matvec for the gemv template tests"

M, K = 6, 98308

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.rand(M, K), torch.rand(K, 1)]


def get_init_inputs():
    return []
