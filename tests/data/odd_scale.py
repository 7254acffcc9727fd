"""Template test problem: a matrix times a scalar input (a 0-d tensor, KernelBench's
5_Matrix_scalar_multiplication) on an odd-sized (17, 1003) fp32 tensor."""
import torch
import torch.nn as nn

KBREED_OP = "scale"
KBREED_NOTES = "odd-shaped scalar multiplication for the pointwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, s):
        return A * s


def get_inputs():
    return [torch.randn(17, 1003), torch.tensor(3.25)]


def get_init_inputs():
    return []
