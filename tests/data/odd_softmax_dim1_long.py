"""Template test problem: softmax over dim 1 of a (2, 3001, 13) tensor: few lines
(26), each long, so several threads must share one."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.softmax(x, dim=1)


def get_inputs():
    return [torch.randn(2, 3001, 13)]


def get_init_inputs():
    return []
