"""Template test problem: a depthwise Conv2d(6, 6, 3, stride=2, padding=1,
groups=6) with bias on (3, 6, 37, 53) -> (3, 6, 19, 27): odd extents, a
stride of 2 on both axes and padding on every side."""
import torch
import torch.nn as nn

KBREED_NOTES = "odd-shaped strided depthwise convolution for the conv_depthwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 6, 37, 53)]


def get_init_inputs():
    return []
