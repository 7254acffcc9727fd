"""Template test problem: GroupNorm, 3 groups of 7 channels, over an odd-sized
(3, 21, 5, 9) tensor (315 elements a group), random affine weight and bias."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_features, num_groups):
        super().__init__()
        self.gn = nn.GroupNorm(num_groups=num_groups, num_channels=num_features)
        with torch.no_grad():
            self.gn.weight.normal_(1.0, 0.5)
            self.gn.bias.normal_(0.0, 0.5)

    def forward(self, x):
        return self.gn(x)


def get_inputs():
    return [torch.randn(3, 21, 5, 9) + 0.25]


def get_init_inputs():
    return [21, 3]
