"""Template test problem: torch.min(x, dim=2)[0] of a (5, 37, 301) fp32
tensor with NaNs sprinkled in (one element in 300): a NaN in a row gives NaN
(reduce_dim's min is one min.NaN), as torch's does."""
import torch
import torch.nn as nn

KBREED_OP = "min_dim"
KBREED_NOTES = "odd-shaped reduction with NaNs for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.min(x, dim=2)[0]


def get_inputs():
    x = torch.randn(5, 37, 301)
    x[torch.rand(x.shape) < 1 / 300] = float("nan")
    return [x]


def get_init_inputs():
    return []
