"""Template test problem: L1 normalisation over the last dim of an odd-sized
(3, 13, 517) fp16 tensor: rows of 517 halves (a tail past the 8-byte words, rows
starting off alignment)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return x / torch.sum(torch.abs(x), dim=-1, keepdim=True)


def get_inputs():
    return [torch.randn(3, 13, 517, dtype=torch.float16)]


def get_init_inputs():
    return []
