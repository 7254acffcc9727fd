"""Template test problem in KernelBench's form (level 1's depthwise-separable
2-D convolution, sizes scaled down for a CPU): a 3x3 depthwise Conv2d (groups =
in_channels, padding 1) followed by a 1x1 Conv2d, no bias."""
import torch
import torch.nn as nn


class Model(nn.Module):
    """
    Performs a depthwise-separable 2D convolution operation.
    """
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, bias: bool = False):
        super(Model, self).__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                   dilation=dilation, groups=in_channels, bias=bias)
        self.pointwise = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.depthwise(x)
        x = self.pointwise(x)
        return x


batch_size = 2
in_channels = 8
out_channels = 16
kernel_size = 3
width = 32
height = 32
stride = 1
padding = 1
dilation = 1


def get_inputs():
    x = torch.rand(batch_size, in_channels, height, width)
    return [x]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding, dilation]
