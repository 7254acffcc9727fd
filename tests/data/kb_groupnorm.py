"""Template test problem in KernelBench's form (level 1's GroupNorm, sizes scaled
down for a CPU): nn.GroupNorm, 8 groups of 2 channels, default affine."""
import torch
import torch.nn as nn


class Model(nn.Module):
    """
    Simple model that performs Group Normalization.
    """
    def __init__(self, num_features: int, num_groups: int):
        super(Model, self).__init__()
        self.gn = nn.GroupNorm(num_groups=num_groups, num_channels=num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gn(x)


batch_size = 4
features = 16
num_groups = 8
dim1 = 32
dim2 = 32


def get_inputs():
    x = torch.randn(batch_size, features, dim1, dim2)
    return [x]


def get_init_inputs():
    return [features, num_groups]
