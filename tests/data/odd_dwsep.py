"""Template test problem: a depthwise-separable convolution, a 3x3 depthwise
Conv2d(6, 6, 3, padding=1, groups=6) then a 1x1 Conv2d(6, 21), no biases, on
(3, 6, 37, 53) -> (3, 21, 37, 53): odd extents, 6 intermediate channels (not a
multiple of a channel step) and 21 output channels (not a multiple of a
channel tile)."""
import torch
import torch.nn as nn

KBREED_NOTES = "odd-shaped depthwise-separable convolution for the conv_dwsep template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False)
        self.pointwise = nn.Conv2d(6, 21, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def get_inputs():
    return [torch.randn(3, 6, 37, 53)]


def get_init_inputs():
    return []
