"""Template test problem: BatchNorm2d in training mode over an odd-sized (3, 5, 7, 9)
tensor (63 positions a sample, 189 elements a channel: multiples of nothing), random
affine weight and bias; the statistics are the batch's own."""
import torch
import torch.nn as nn

KBREED_NOTES = "odd-shaped BatchNorm for the norm_groups template tests"


class Model(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features)
        with torch.no_grad():
            self.bn.weight.normal_(1.0, 0.5)
            self.bn.bias.normal_(0.0, 0.5)

    def forward(self, x):
        return self.bn(x)


def get_inputs():
    return [torch.randn(3, 5, 7, 9) * 2.0 + 0.5]


def get_init_inputs():
    return [5]
