"""Template test problem: ConvTranspose1d(48, 132, 3, stride 1, padding 3, groups 4),
with bias, on (2, 48, 1000) -> (2, 132, 996): 1-D, stride 1, grouped (12 input and 33
output channels a group: partial channel chunks and tiles), a padding past the window's
reach (the equivalent forward conv's padding is -1: every span starts right of its
outputs), rows whose length is a multiple of 4 (16-byte copies)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose1d(48, 132, 3, stride=1, padding=3, groups=4, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 48, 1000)]


def get_init_inputs():
    return []
