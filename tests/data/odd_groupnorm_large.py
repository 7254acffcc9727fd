"""Template test problem: GroupNorm, 2 groups of 3 channels, no affine, over a
(2, 6, 45, 92) tensor: groups of 12420 elements (several blocks each), rows of
4140 (a multiple of 4 but of no block's tile: the row-per-block normalise pass
with whole vectors)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_features, num_groups):
        super().__init__()
        self.gn = nn.GroupNorm(num_groups=num_groups, num_channels=num_features, affine=False)

    def forward(self, x):
        return self.gn(x)


def get_inputs():
    return [torch.randn(2, 6, 45, 92) - 2.0]


def get_init_inputs():
    return [6, 2]
