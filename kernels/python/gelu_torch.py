# expect: correct
# A KernelBench-style solution of a GELU problem in plain torch ops: the exact
# erf form written out, so it is not F.gelu itself.
import math

import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.erf(x * (1.0 / math.sqrt(2.0))))
