"""CI test problem: exact GELU on an odd-sized (33, 65) tensor; no metadata but the family."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "elementwise"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.gelu(x)


def get_inputs():
    return [torch.randn(33, 65)]


def get_init_inputs():
    return []
