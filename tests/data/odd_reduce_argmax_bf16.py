"""Template test problem: argmax over the last dim of a (33, 515) bf16 tensor
(bf16 keeps 8 bits of mantissa: ties are likely, and the first index must win)."""
import torch
import torch.nn as nn

KBREED_OP = "argmax_dim"
KBREED_NOTES = "odd-shaped reduction for the reduce_dim template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.argmax(x, dim=-1)


def get_inputs():
    return [torch.randn(33, 515).to(torch.bfloat16)]


def get_init_inputs():
    return []
