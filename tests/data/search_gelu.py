# A small GELU for tests of the search loop: KBREED_OP ties it to the gelu
# templates and to kernels/naive/gelu.cu.
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "elementwise"
KBREED_OP = "gelu"
KBREED_NOTES = "small GELU for the search tests"

M, N = 33, 1030


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.gelu(x)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
