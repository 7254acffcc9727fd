"""CI test problem: forward adds fresh random noise, so two runs differ
(`reference` must answer exit 2)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return x + 1e-3 * torch.rand_like(x)


def get_inputs():
    return [torch.randn(8, 8)]


def get_init_inputs():
    return []
