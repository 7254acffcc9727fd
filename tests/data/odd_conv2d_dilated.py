"""Template test problem: Conv2d(5, 21, (3, 4), stride (1, 2), padding (2, 3),
dilation (2, 3)), no bias, on (2, 5, 23, 31) -> (2, 21, 23, 14): every hyper-parameter
different per axis."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 21, kernel_size=(3, 4), stride=(1, 2), padding=(2, 3), dilation=(2, 3), bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 5, 23, 31)]


def get_init_inputs():
    return []
