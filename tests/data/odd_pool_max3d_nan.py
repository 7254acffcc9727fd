"""Template test problem: MaxPool3d(3, stride=2, padding=1, dilation=2) over
a (2, 3, 7, 11, 72) fp32 tensor with NaNs and -infs sprinkled in (one element
in 400 each), no indices: a NaN in a window must give NaN (pool_nd takes the
maximum with max.NaN, and outside the input holds -inf), as torch's does, on
each of the ROWS kernels; a window of -infs gives -inf."""
import torch
import torch.nn as nn

KBREED_OP = "maxpool3d"
KBREED_NOTES = "odd-shaped pooling with NaNs for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool3d(3, stride=2, padding=1, dilation=2)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    x = torch.randn(2, 3, 7, 11, 72)
    r = torch.rand(x.shape)
    x[r < 1 / 400] = float("nan")
    x[r > 1 - 1 / 400] = float("-inf")
    return [x]


def get_init_inputs():
    return []
