"""Template test problem: LeakyReLU (slope 0.07) on an odd-sized (7, 3, 1031) fp16 tensor
(21651 elements: odd, so the 8-byte and 16-byte half paths have a tail)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "leaky_relu"
KBREED_NOTES = "odd-shaped fp16 LeakyReLU for the pointwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.leaky_relu(x, negative_slope=0.07)


def get_inputs():
    return [torch.randn(7, 3, 1031, dtype=torch.float16)]


def get_init_inputs():
    return []
