"""Template test problem: InstanceNorm2d (no affine, as nn.InstanceNorm2d's default)
over an odd-sized (3, 5, 11, 13) tensor: 143 positions a (sample, channel), a
multiple of nothing."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.inorm = nn.InstanceNorm2d(num_features=num_features)

    def forward(self, x):
        return self.inorm(x)


def get_inputs():
    return [torch.randn(3, 5, 11, 13) * 3.0 - 1.0]


def get_init_inputs():
    return [5]
