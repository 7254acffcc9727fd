"""Template test problem: Conv3d(3, 13, (3, 2, 4), stride (2, 1, 2), padding (1, 0, 2),
dilation (1, 2, 1)) with bias on (2, 3, 9, 11, 14) -> (2, 13, 5, 9, 8): a 3-D convolution,
K = 72 taps, asymmetric per axis."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 13, kernel_size=(3, 2, 4), stride=(2, 1, 2), padding=(1, 0, 2), dilation=(1, 2, 1), bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 3, 9, 11, 14)]


def get_init_inputs():
    return []
