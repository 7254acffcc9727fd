"""Template test problem: ConvTranspose3d(8, 12, (3, 2, 3), stride 2, padding (1, 0, 1),
output_padding (1, 1, 0), dilation (1, 2, 1), groups 4) with bias on (2, 8, 5, 6, 4)
-> (2, 12, 10, 14, 7): 3-D, strided, grouped, output padding."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose3d(8, 12, kernel_size=(3, 2, 3), stride=2, padding=(1, 0, 1), output_padding=(1, 1, 0), dilation=(1, 2, 1), groups=4, bias=True)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 8, 5, 6, 4)]


def get_init_inputs():
    return []
