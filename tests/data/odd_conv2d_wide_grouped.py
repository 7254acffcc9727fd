"""Template test problem: Conv2d(40, 48, 3, padding 1, groups 2), no bias, on
(2, 40, 19, 23) -> (2, 48, 19, 23): two groups of 20 input and 24 output channels.
Under the channels-last gathers a group's channels are padded to 20 (NHWC=1) or 24
(NHWC=2 and 3), so a 32-deep K slice ends inside a tap, and each tap spans several
of the gather's channel pieces: the paths the suite's small odd convs (at most 7
channels a group) never take."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(40, 48, 3, padding=1, groups=2, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 40, 19, 23)]


def get_init_inputs():
    return []
