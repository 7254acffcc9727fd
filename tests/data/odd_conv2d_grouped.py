"""Template test problem: Conv2d(12, 30, 3, stride 2, padding 1, groups 3) with bias
on (2, 12, 19, 17) -> (2, 30, 10, 9): three groups of 4 input and 10 output channels (a
group's channels end inside an n8 block)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(12, 30, 3, stride=2, padding=1, groups=3, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 12, 19, 17)]


def get_init_inputs():
    return []
