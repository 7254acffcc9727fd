"""Export test problem: two tensors and a Python number in, a tuple of two
tensors out (tests/cli/test_export.sh: the operator's schema and its tuple
return, a number as a 0-d tensor argument)."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a, b, alpha):
        return a + alpha * b, a * b


def get_inputs():
    return [torch.randn(8, 33), torch.randn(8, 33), 0.5]


def get_init_inputs():
    return []
