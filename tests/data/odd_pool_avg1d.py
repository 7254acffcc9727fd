"""Template test problem: AvgPool1d(4, stride=3, padding=2, ceil_mode=True,
count_include_pad=False) over a (4, 6, 999) tensor (padding left out of the divisor)."""
import torch
import torch.nn as nn

KBREED_OP = "avgpool1d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool1d(4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(4, 6, 999)]


def get_init_inputs():
    return []
