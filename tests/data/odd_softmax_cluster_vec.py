"""Template test problem: softmax over rows of 99996 floats (391 KB: a multiple of 4
but of no cluster size times the block, so the slices end mid-block)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.softmax(x, dim=1)


def get_inputs():
    return [torch.randn(5, 99996)]


def get_init_inputs():
    return []
