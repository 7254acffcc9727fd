"""Template test problem: a depthwise Conv2d(6, 12, 5, padding=(2, 1),
groups=6) with bias on (2, 6, 27, 68) -> (2, 12, 27, 66): rows a multiple
of 4 elements (staged 16 bytes at a time) but not of any tile, each staged
row starting 3 elements into its first word (padding 1 along W), a 5x5
window and a channel multiplier of 2."""
import torch
import torch.nn as nn

KBREED_NOTES = "depthwise convolution on 16-byte aligned rows for the conv_depthwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(6, 12, 5, padding=(2, 1), groups=6, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 6, 27, 68)]


def get_init_inputs():
    return []
