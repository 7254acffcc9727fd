# expect: incorrect
# Returns memory it never wrote, hoping it holds an earlier answer: what
# PyTorch's allocator hands out holds the poison the judge left there.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.empty_like(x)
