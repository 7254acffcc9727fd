"""Template test problem: Conv2d(36, 70, 1) with bias on (3, 36, 12, 10) -> (3, 70, 12, 10):
a 1x1 convolution whose positions (120) and input channels (36) are multiples of 4, so
conv_pointwise takes its 16-byte copies, while 70 output channels and 120 positions are
multiples of no tile (edge tiles in both directions) and K = 36 ends mid-slice."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(36, 70, kernel_size=1, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 36, 12, 10)]


def get_init_inputs():
    return []
