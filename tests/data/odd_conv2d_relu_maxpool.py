"""Template test problem: Conv2d(5, 37, (5, 3), stride 2, padding 1) + ReLU +
MaxPool2d(3, stride 2) on (3, 5, 61, 29) -> conv (3, 37, 30, 15) -> pool (3, 37, 14, 7):
pool windows that straddle position tiles, a trailing conv row that no window covers."""
import torch
import torch.nn as nn

KBREED_FAMILY = "conv"
KBREED_OP = "conv2d_relu_maxpool"
KBREED_NOTES = "odd-shaped convolution + ReLU + max pool for the template tests"
KBREED_DEFINES = {"CONV_STRIDE": 2, "CONV_PAD": 1, "RELU": 1, "POOL": 3, "POOL_STRIDE": 2}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 37, kernel_size=(5, 3), stride=2, padding=1, bias=True)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2)

    def forward(self, x):
        return self.pool(self.relu(self.conv(x)))


def get_inputs():
    return [torch.randn(3, 5, 61, 29)]


def get_init_inputs():
    return []
