"""Template test problem: Conv1d(40, 130, 3, padding 1) without bias on (2, 40, 4094) ->
(2, 130, 4094): more output channels than one block's 128 (a second channel tile of 2),
input channels that fill two chunks of 16 and part of a third (of 32: one and part of a
second), and rows whose length is not a multiple of 4 (4-byte copies)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(40, 130, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 40, 4094)]


def get_init_inputs():
    return []
