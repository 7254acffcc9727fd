"""Template test problem: Conv2d(13, 21, 1), no bias, on (2, 13, 7, 9)
-> (2, 21, 7, 9): a 1x1 convolution (K = Cin = 13)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(13, 21, kernel_size=1, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 13, 7, 9)]


def get_init_inputs():
    return []
