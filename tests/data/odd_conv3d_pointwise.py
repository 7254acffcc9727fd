"""Template test problem: Conv3d(7, 11, 1) with bias on (2, 7, 3, 5, 9) -> (2, 11, 3, 5, 9):
a 1x1x1 convolution over three spatial axes (135 positions, 7 input channels: the
4-byte copies of conv_pointwise)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(7, 11, kernel_size=1, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 7, 3, 5, 9)]


def get_init_inputs():
    return []
