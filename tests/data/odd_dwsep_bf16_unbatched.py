"""Template test problem: a depthwise-separable convolution in bf16 on an
unbatched input: Conv2d(3, 3, 5, padding=(2, 4), dilation=(1, 2), groups=3)
with bias, then a 1x1 Conv2d(3, 130) without bias, on (3, 19, 27) -> (130,
19, 27): 130 output channels, past one channel tile of 128."""
import torch
import torch.nn as nn

KBREED_NOTES = "unbatched bf16 depthwise-separable convolution for the conv_dwsep template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(3, 3, 5, padding=(2, 4), dilation=(1, 2), groups=3,
                                   bias=True).to(torch.bfloat16)
        self.pointwise = nn.Conv2d(3, 130, 1, bias=False).to(torch.bfloat16)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def get_inputs():
    return [torch.randn(3, 19, 27, dtype=torch.bfloat16)]


def get_init_inputs():
    return []
