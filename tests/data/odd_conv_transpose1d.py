"""Template test problem: ConvTranspose1d(6, 5, 5, stride 1, padding 0, dilation 3,
output_padding 2), no bias, on (3, 6, 17) -> (3, 5, 31): 1-D, stride 1, output padding
(allowed below the dilation)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose1d(6, 5, 5, stride=1, padding=0, dilation=3, output_padding=2, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 6, 17)]


def get_init_inputs():
    return []
