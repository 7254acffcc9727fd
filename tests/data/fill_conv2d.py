"""Fill test problem: problems/conv2d.py scaled down, the same ops, dtypes and layouts:
Conv2d(3, 96, 11, stride 4, padding 2) with bias on (2, 3, 27, 27) -> (2, 96, 6, 6)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "conv"
KBREED_OP = "conv2d"
KBREED_NOTES = "nn.Conv2d(3, 96, 11, stride 4, padding 2) with bias on 2x3x27x27 -> 2x96x6x6"

batch_size = 2
in_channels = 3
out_channels = 96
kernel_size = 11
stride = 4
padding = 2
height = 27
width = 27

# The hyper-parameters no tensor carries, for the playbook templates.
KBREED_DEFINES = {"CONV_STRIDE": stride, "CONV_PAD": padding}

out_height = (height + 2 * padding - kernel_size) // stride + 1
out_width = (width + 2 * padding - kernel_size) // stride + 1
KBREED_FLOPS = 2 * batch_size * out_channels * out_height * out_width * in_channels * kernel_size * kernel_size


class Model(nn.Module):
    """One 2-D convolution."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                              padding=padding, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs():
    x = torch.randn(batch_size, in_channels, height, width)
    return [x]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding]
