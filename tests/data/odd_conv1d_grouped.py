"""Template test problem: Conv1d(48, 36, 4, stride 2, padding 3, dilation 3, groups 3) with
bias on (5, 48, 1000) -> (5, 36, 499): grouped (16 input and 12 output channels a group), rows
whose length is a multiple of 4 (16-byte copies) and an odd output length, spans that start
left of x (the padding)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(48, 36, 4, stride=2, padding=3, dilation=3, groups=3, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(5, 48, 1000)]


def get_init_inputs():
    return []
