"""Template test problem: Conv1d(6, 19, 5, stride 3, padding 2, dilation 2) with bias on (3, 6, 97)
-> (3, 19, 31): a 1-D convolution (run as 2-D with H = KH = 1), dilated and strided,
K = 30 taps."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(6, 19, 5, stride=3, padding=2, dilation=2, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 6, 97)]


def get_init_inputs():
    return []
