"""Template test problem: a depthwise Conv2d(3, 3, 7, stride=(3, 1),
padding=3, dilation=(1, 2), groups=3) with bias in bf16 on an unbatched
(3, 23, 45) input -> (3, 8, 39): a wide window, stride along H only,
dilation along W only, no batch dimension."""
import torch
import torch.nn as nn

KBREED_NOTES = "unbatched bf16 depthwise convolution for the conv_depthwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 7, stride=(3, 1), padding=3, dilation=(1, 2), groups=3,
                              bias=True).to(torch.bfloat16)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 23, 45, dtype=torch.bfloat16)]


def get_init_inputs():
    return []
