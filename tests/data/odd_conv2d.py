"""Template test problem: Conv2d(5, 37, (5, 3), stride 2, padding 1) with bias on (3, 5, 33, 29)
-> (3, 37, 16, 15): channel counts, kernel and image sizes that are multiples of nothing
(K = 75 taps, 720 positions, Cout below one channel tile)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "conv"
KBREED_OP = "conv2d"
KBREED_NOTES = "odd-shaped convolution for the template tests"
KBREED_DEFINES = {"CONV_STRIDE": 2, "CONV_PAD": 1}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 37, kernel_size=(5, 3), stride=2, padding=1, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 5, 33, 29)]


def get_init_inputs():
    return []
