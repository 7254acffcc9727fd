"""Template test problem: GroupNorm in bf16, 5 groups of 3 channels, random affine
weight and bias (bf16, as the module's .to(bfloat16) leaves them), over an
odd-sized (3, 15, 7, 11) tensor: 231 elements a group."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_features, num_groups):
        super().__init__()
        self.gn = nn.GroupNorm(num_groups=num_groups, num_channels=num_features)
        with torch.no_grad():
            self.gn.weight.normal_(1.0, 0.5)
            self.gn.bias.normal_(0.0, 0.5)
        self.to(torch.bfloat16)

    def forward(self, x):
        return self.gn(x)


def get_inputs():
    return [torch.randn(3, 15, 7, 11, dtype=torch.bfloat16)]


def get_init_inputs():
    return [15, 5]
