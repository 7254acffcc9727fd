"""Template test problem: ConvTranspose2d(6, 10, (3, 4), stride (2, 3), padding (1, 2),
dilation (2, 1), output_padding (1, 2), groups 2) with bias on (2, 6, 7, 5) -> (2, 10, 16, 14):
strides 2 and 3, dilated, grouped, output padding."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose2d(6, 10, kernel_size=(3, 4), stride=(2, 3), padding=(1, 2), dilation=(2, 1), output_padding=(1, 2), groups=2, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 6, 7, 5)]


def get_init_inputs():
    return []
