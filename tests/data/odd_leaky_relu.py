"""Template test problem: LeakyReLU (slope 0.07) on an odd-sized (13, 1027) fp32 tensor
(13351 elements, not a multiple of any vector width). No KBREED_FAMILY: recognition
reads the graph and writes its expression (KB_PW_BODY) for the pointwise template."""
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_OP = "leaky_relu"
KBREED_NOTES = "odd-shaped LeakyReLU for the pointwise template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.leaky_relu(x, negative_slope=0.07)


def get_inputs():
    return [torch.randn(13, 1027)]


def get_init_inputs():
    return []
