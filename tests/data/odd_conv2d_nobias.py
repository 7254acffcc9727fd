"""Template test problem: Conv2d(1, 130, (4, 6), stride 3, no padding, no bias) on
(2, 1, 50, 41) -> (2, 130, 16, 12): two inputs only (no bias), a single input channel,
Cout = 130 spanning two channel tiles with a ragged last n8 block."""
import torch
import torch.nn as nn

KBREED_FAMILY = "conv"
KBREED_OP = "conv2d"
KBREED_NOTES = "bias-free convolution with more than one channel tile for the template tests"
KBREED_DEFINES = {"CONV_STRIDE": 3, "CONV_PAD": 0}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 130, kernel_size=(4, 6), stride=3, padding=0, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 1, 50, 41)]


def get_init_inputs():
    return []
