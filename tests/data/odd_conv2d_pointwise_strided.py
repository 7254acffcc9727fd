"""Template test problem: Conv2d(8, 6, 1, stride=2) on (2, 8, 9, 7) -> (2, 6, 5, 4): a 1x1
window with a stride, which is not a plain GEMM of x's rows (conv_pointwise refuses it:
recognition writes no CONV_POINTWISE_PLAIN; conv_igemm serves it)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 6, kernel_size=1, stride=2, bias=False)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(2, 8, 9, 7)]


def get_init_inputs():
    return []
