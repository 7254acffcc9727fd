"""Template test problem: a depthwise Conv2d(5, 5, (3, 5), padding=(2, 3),
dilation=2, groups=5) without bias on (2, 5, 41, 29) -> (2, 5, 41, 27): an
asymmetric window, dilation 2 and unequal padding, no bias."""
import torch
import torch.nn as nn

KBREED_NOTES = "dilated asymmetric depthwise convolution without bias for the conv_depthwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 5, (3, 5), padding=(2, 3), dilation=2, groups=5, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 5, 41, 29)]


def get_init_inputs():
    return []
