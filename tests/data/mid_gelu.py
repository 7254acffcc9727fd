# A GELU of 16.8 M elements (64 MB a tensor) for make test-gpu's sections
# that check behaviour, not speed (--gpus, Python solutions): the suite's
# GELU is 1 GB a tensor, and its reference data alone takes minutes to make
# and load. KBREED_OP ties it to the gelu templates and kernels/naive/gelu.cu.
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "elementwise"
KBREED_OP = "gelu"
KBREED_NOTES = "GELU of 2048 x 8192 fp32 for the GPU checks"

M, N = 2048, 8192


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.gelu(x)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
