"""Fill test problem: problems/rmsnorm.py scaled down, the same ops, dtypes and layouts:
RMSNorm across dim 1 (64 features) of (2, 64, 4, 4)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_OP = "rmsnorm"
KBREED_NOTES = "RMSNorm across dim 1 (64 features) of NCHW, no weight"

batch_size = 2
features = 64
dim1 = 4
dim2 = 4
eps = 1e-5

# Rough: 3 per element (square, sum, divide); memory-bound.
KBREED_FLOPS = 3 * batch_size * features * dim1 * dim2


class Model(nn.Module):
    """x / sqrt(mean(x^2 over dim 1) + eps)."""

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = torch.sqrt(torch.mean(x ** 2, dim=1, keepdim=True) + self.eps)
        return x / rms


def get_inputs():
    x = torch.randn(batch_size, features, dim1, dim2)
    return [x]


def get_init_inputs():
    return [features, eps]
