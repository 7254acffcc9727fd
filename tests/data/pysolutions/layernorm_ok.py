# expect: correct
# LayerNorm whose parameters are made empty (uninitialised) and in another
# order of random draws than the problem's Model: correct only because the
# judge loads the problem's values into parameters that match its own in
# order, shape and dtype.
import torch
import torch.nn as nn
import torch.nn.functional as F


class ModelNew(nn.Module):
    def __init__(self, normalized_shape):
        super().__init__()
        torch.randn(7)   # a draw the problem's Model does not make
        self.shape = tuple(normalized_shape)
        self.weight = nn.Parameter(torch.empty(self.shape))
        self.bias = nn.Parameter(torch.empty(self.shape))

    def forward(self, x):
        return F.layer_norm(x, self.shape, self.weight, self.bias, 1e-5)
