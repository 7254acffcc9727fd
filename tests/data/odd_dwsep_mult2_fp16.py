"""Template test problem: a depthwise-separable convolution in fp16 with a
channel multiplier: Conv2d(4, 8, 3, padding=1, groups=4) (each input channel
makes two intermediate ones) without bias, then a 1x1 Conv2d(8, 13) with
bias, on (2, 4, 23, 35) -> (2, 13, 23, 35)."""
import torch
import torch.nn as nn

KBREED_NOTES = "fp16 depthwise-separable convolution with a channel multiplier for the conv_dwsep template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(4, 8, 3, padding=1, groups=4, bias=False).half()
        self.pointwise = nn.Conv2d(8, 13, 1, bias=True).half()

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def get_inputs():
    return [torch.randn(2, 4, 23, 35, dtype=torch.float16)]


def get_init_inputs():
    return []
