"""Template test problem: BatchNorm2d in training mode, no affine, over a (3, 3, 61, 67)
tensor: 3 channels of 12261 elements (few, large groups: several blocks per
channel's statistics), rows of 4087 (the row-per-block normalise pass; a
multiple of nothing)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)

    def forward(self, x):
        return self.bn(x)


def get_inputs():
    return [torch.randn(3, 3, 61, 67) * 2.0 + 3.0]


def get_init_inputs():
    return [3]
