"""Template test problem: AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
over an unbatched (5, 33, 47) tensor (overlapping windows, stride 1)."""
import torch
import torch.nn as nn

KBREED_OP = "avgpool2d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(5, 33, 47)]


def get_init_inputs():
    return []
