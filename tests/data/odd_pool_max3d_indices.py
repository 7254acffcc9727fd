"""Template test problem: MaxPool3d(3, stride=2, padding=1, return_indices=True)
over a (2, 3, 9, 10, 11) tensor: the values and the int64 indices of the maxima."""
import torch
import torch.nn as nn

KBREED_OP = "maxpool3d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool3d(3, stride=2, padding=1, return_indices=True)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(2, 3, 9, 10, 11)]


def get_init_inputs():
    return []
