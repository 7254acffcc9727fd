"""Template test problem: a depthwise Conv2d(4, 8, (5, 3), stride=(1, 2),
padding=(0, 1), groups=4) with bias on (2, 4, 33, 70) -> (2, 8, 29, 35): a
channel multiplier of 2 (output channels 2c and 2c+1 read input channel c)
and a stride along W only."""
import torch
import torch.nn as nn

KBREED_NOTES = "depthwise convolution with a channel multiplier for the conv_depthwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, (5, 3), stride=(1, 2), padding=(0, 1), groups=4, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 4, 33, 70)]


def get_init_inputs():
    return []
