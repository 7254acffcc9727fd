"""Template test problem: BatchNorm1d in eval mode (the running statistics, set at
random) over an odd-sized (5, 7, 33) tensor: one pass, no batch statistics."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.bn = nn.BatchNorm1d(num_features)
        with torch.no_grad():
            self.bn.weight.normal_(1.0, 0.5)
            self.bn.bias.normal_(0.0, 0.5)
            self.bn.running_mean.normal_(0.0, 1.0)
            self.bn.running_var.uniform_(0.5, 2.0)
        self.bn.eval()

    def forward(self, x):
        return self.bn(x)


def get_inputs():
    return [torch.randn(5, 7, 33)]


def get_init_inputs():
    return [7]
