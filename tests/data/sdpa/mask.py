"""SDPA problem for describing on the GPU machine (scripts/plans): mask."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q, k, v, m):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m)


def get_inputs():
    q = torch.randn(2, 3, 96, 64).half()
    k = torch.randn(2, 3, 80, 64).half()
    v = torch.randn(2, 3, 80, 64).half()
    return [q, k, v, torch.randn(96, 80).half()]


def get_init_inputs():
    return []
