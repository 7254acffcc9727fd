"""Template test problem: bf16 bmm of (5, 133, 200) and (5, 200, 75): a batch of ragged
products; A's rows 16-byte aligned (read in place), B's rows of 75 copied to a padded pitch,
N odd (single-element stores)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.bmm(A, B)


def get_inputs():
    return [torch.randn(5, 133, 200).bfloat16(), torch.randn(5, 200, 75).bfloat16()]


def get_init_inputs():
    return []
