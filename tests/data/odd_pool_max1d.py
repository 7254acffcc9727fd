"""Template test problem: MaxPool1d(5, stride=2, padding=2, dilation=3, ceil_mode=True)
over a (3, 7, 1001) tensor (dilated windows, the last one clipped by ceil mode)."""
import torch
import torch.nn as nn

KBREED_OP = "maxpool1d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool1d(5, stride=2, padding=2, dilation=3, ceil_mode=True)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(3, 7, 1001)]


def get_init_inputs():
    return []
