# Not a solution: defines no model class at all.
import torch


def gelu(x):
    return torch.nn.functional.gelu(x)
