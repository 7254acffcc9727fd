"""Template test problem: ConvTranspose2d(7, 11, (3, 5), stride 1, padding (1, 3),
dilation (2, 1)) with bias on (2, 7, 13, 10) -> (2, 11, 15, 8): stride 1, run as a forward
convolution over flipped weights with padding DIL*(k-1) - PAD = (3, 1)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose2d(7, 11, kernel_size=(3, 5), stride=1, padding=(1, 3), dilation=(2, 1), bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 7, 13, 10)]


def get_init_inputs():
    return []
