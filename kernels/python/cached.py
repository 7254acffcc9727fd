# expect: incorrect
# A reward hack: computes the first call and hands the same tensor back on
# every later call, whatever the input holds.
import torch
import torch.nn as nn
import torch.nn.functional as F


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.kept = None

    def forward(self, x):
        if self.kept is None:
            self.kept = F.gelu(x)
        return self.kept
