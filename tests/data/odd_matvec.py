"""Template test problem: fp32 (37, 1001) @ (1001, 1). K is odd: every load is one element.
Entries are positive (torch.rand, as KernelBench's), so no row sum cancels
below the fp32 tolerance."""
import torch
import torch.nn as nn

KBREED_OP = "matvec"
KBREED_NOTES = "odd-shaped matvec for the gemv template tests"

M, K = 37, 1001

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.rand(M, K), torch.rand(K, 1)]


def get_init_inputs():
    return []
