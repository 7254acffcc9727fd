"""Template test problem: exact GELU on an odd-sized (13, 1027) tensor (13351 elements,
not a multiple of any vector width)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "elementwise"
KBREED_OP = "gelu"
KBREED_NOTES = "odd-shaped GELU for the template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.gelu(x)


def get_inputs():
    return [torch.randn(13, 1027)]


def get_init_inputs():
    return []
