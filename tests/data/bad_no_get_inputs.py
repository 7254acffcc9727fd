"""CI test problem: has Model and get_init_inputs but no get_inputs (exit 2)."""
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return x


def get_init_inputs():
    return []
