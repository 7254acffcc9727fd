"""Template test problem: Conv2d(4, 70, 3, stride 1, padding 2) + ReLU + MaxPool2d(2,
stride 3) on (9, 4, 7, 11) -> conv (9, 70, 9, 13) -> pool (9, 70, 3, 4): images much
smaller than a position tile (one tile spans several images), a pool stride larger than
the window (conv outputs between windows are dropped), Cout = 70."""
import torch
import torch.nn as nn

KBREED_FAMILY = "conv"
KBREED_OP = "conv2d_relu_maxpool"
KBREED_NOTES = "small-image convolution + ReLU + strided max pool for the template tests"
KBREED_DEFINES = {"CONV_STRIDE": 1, "CONV_PAD": 2, "RELU": 1, "POOL": 2, "POOL_STRIDE": 3}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 70, kernel_size=3, stride=1, padding=2, bias=True)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=3)

    def forward(self, x):
        return self.pool(self.relu(self.conv(x)))


def get_inputs():
    return [torch.randn(9, 4, 7, 11)]


def get_init_inputs():
    return []
