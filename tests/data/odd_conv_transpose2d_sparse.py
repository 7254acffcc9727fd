"""Template test problem: ConvTranspose2d(5, 7, (3, 2), stride (5, 4), padding (1, 2),
dilation (2, 3), output_padding (2, 1)) with bias on (3, 5, 9, 13) -> (3, 7, 45, 49):
a stride above the window, so most outputs take no tap (bias only) and the rest one."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose2d(5, 7, kernel_size=(3, 2), stride=(5, 4), padding=(1, 2), dilation=(2, 3), output_padding=(2, 1), bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(3, 5, 9, 13)]


def get_init_inputs():
    return []
