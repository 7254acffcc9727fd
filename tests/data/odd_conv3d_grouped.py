"""Template test problem: Conv3d(6, 10, (2, 3, 2), padding (1, 1, 0), groups 2), no
bias, on (2, 6, 5, 7, 6) -> (2, 10, 6, 7, 5): a grouped 3-D convolution."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(6, 10, kernel_size=(2, 3, 2), padding=(1, 1, 0), groups=2, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 6, 5, 7, 6)]


def get_init_inputs():
    return []
