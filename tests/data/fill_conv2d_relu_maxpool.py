"""Fill test problem: problems/conv2d_relu_maxpool.py scaled down, the same ops, dtypes and layouts:
conv 11x11/4 with bias, ReLU, 3x3/2 max pool on (2, 3, 35, 35) -> (2, 96, 3, 3)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "conv"
KBREED_OP = "conv2d_relu_maxpool"
KBREED_NOTES = "Conv2d(3, 96, 11, stride 4, padding 2) + ReLU + MaxPool2d(3, 2): 2x3x35x35 -> 2x96x3x3"

batch_size = 2
in_channels = 3
out_channels = 96
kernel_size = 11
stride = 4
padding = 2
height = 35
width = 35
pool_kernel = 3
pool_stride = 2

# The hyper-parameters no tensor carries, for the playbook templates.
KBREED_DEFINES = {"CONV_STRIDE": stride, "CONV_PAD": padding, "RELU": 1, "POOL": pool_kernel, "POOL_STRIDE": pool_stride}

out_height = (height + 2 * padding - kernel_size) // stride + 1
out_width = (width + 2 * padding - kernel_size) // stride + 1
KBREED_FLOPS = 2 * batch_size * out_channels * out_height * out_width * in_channels * kernel_size * kernel_size


class Model(nn.Module):
    """Convolution, ReLU, max pooling."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, pool_kernel, pool_stride):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                              padding=padding, bias=True)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=pool_kernel, stride=pool_stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.conv(x)))


def get_inputs():
    x = torch.randn(batch_size, in_channels, height, width)
    return [x]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride, padding, pool_kernel, pool_stride]
