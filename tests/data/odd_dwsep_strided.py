"""Template test problem: a depthwise-separable convolution with every
hyper-parameter of the depthwise step off its default: Conv2d(5, 5, (3, 5),
stride=2, padding=(1, 3), dilation=(2, 1), groups=5) with bias, then a 1x1
Conv2d(5, 19) with bias, on (3, 5, 29, 41) -> (3, 19, 14, 22): stride 2 on
both axes, unequal padding and dilation, an asymmetric window."""
import torch
import torch.nn as nn

KBREED_NOTES = "strided, padded and dilated depthwise-separable convolution for the conv_dwsep template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(5, 5, (3, 5), stride=2, padding=(1, 3), dilation=(2, 1), groups=5,
                                   bias=True)
        self.pointwise = nn.Conv2d(5, 19, 1, bias=True)

    def forward(self, x):
        x = self.depthwise(x)
        return self.pointwise(x)


def get_inputs():
    return [torch.randn(3, 5, 29, 41)]


def get_init_inputs():
    return []
