"""Template test problem: InstanceNorm1d with affine weight and bias over an
odd-sized (3, 7, 1531) tensor: rows of 1531 elements (long enough for the
row-per-block normalise pass at most knob settings, a multiple of nothing)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.inorm = nn.InstanceNorm1d(num_features, affine=True)
        with torch.no_grad():
            self.inorm.weight.normal_(1.0, 0.5)
            self.inorm.bias.normal_(0.0, 0.5)

    def forward(self, x):
        return self.inorm(x)


def get_inputs():
    return [torch.randn(3, 7, 1531) * 0.5 + 4.0]


def get_init_inputs():
    return [7]
