"""Template test problem: MaxPool1d(7, stride=1, padding=3, dilation=2)
over a (3, 5, 1000) tensor (stride 1 and rows on 16-byte words: the span
read as words, from an offset of 1 into the first)."""
import torch
import torch.nn as nn

KBREED_OP = "maxpool1d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool1d(7, stride=1, padding=3, dilation=2)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(3, 5, 1000)]


def get_init_inputs():
    return []
