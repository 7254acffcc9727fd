"""Template test problem: ConvTranspose1d(5, 9, 4, stride 2, padding 1,
output_padding 1), no bias, on (3, 5, 37) -> (3, 9, 75): stride 2, the division gather."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose1d(5, 9, 4, stride=2, padding=1, output_padding=1, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 5, 37)]


def get_init_inputs():
    return []
