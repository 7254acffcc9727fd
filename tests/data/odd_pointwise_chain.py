"""Template test problem: a chain of pointwise ops with constants, SELU then hardtanh
(-0.5, 0.8) then softsign-like division, on an odd-sized (5, 2711) fp32 tensor."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "pointwise_chain"
KBREED_NOTES = "odd-shaped pointwise chain for the pointwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        y = F.hardtanh(torch.selu(x), min_val=-0.5, max_val=0.8)
        return y / (1 + torch.abs(x))


def get_inputs():
    return [torch.randn(5, 2711)]


def get_init_inputs():
    return []
