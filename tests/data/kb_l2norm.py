"""Template test problem in KernelBench's form (level 1's L2Norm, sizes scaled down
for a CPU): x divided by its 2-norm over dim 1, keepdim."""
import torch
import torch.nn as nn


class Model(nn.Module):
    """
    Simple model that performs L2 normalization.
    """
    def __init__(self):
        super(Model, self).__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.norm(x, p=2, dim=1, keepdim=True)


batch_size = 16
dim = 4096


def get_inputs():
    x = torch.randn(batch_size, dim)
    return [x]


def get_init_inputs():
    return []
