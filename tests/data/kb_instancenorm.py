"""Template test problem in KernelBench's form (level 1's InstanceNorm, sizes scaled
down for a CPU): nn.InstanceNorm2d, no affine (its default)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    """
    Simple model that performs Instance Normalization.
    """
    def __init__(self, num_features: int):
        super(Model, self).__init__()
        self.inorm = nn.InstanceNorm2d(num_features=num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inorm(x)


batch_size = 4
features = 16
dim1 = 32
dim2 = 32


def get_inputs():
    x = torch.randn(batch_size, features, dim1, dim2)
    return [x]


def get_init_inputs():
    return [features]
