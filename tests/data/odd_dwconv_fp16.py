"""Template test problem: a depthwise Conv2d(7, 7, 3, padding=1, groups=7)
with bias in fp16 on (2, 7, 19, 132) -> (2, 7, 19, 132): half precision
weights and data, rows longer than one tile and a multiple of 4 elements
(staged 8 bytes at a time) but not of any tile, padding 1 (each staged row
starts 3 elements into its first word)."""
import torch
import torch.nn as nn

KBREED_NOTES = "fp16 depthwise convolution for the conv_depthwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(7, 7, 3, padding=1, groups=7, bias=True).half()

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 7, 19, 132, dtype=torch.float16)]


def get_init_inputs():
    return []
