"""Fill test problem: problems/layernorm.py scaled down, the same ops, dtypes and layouts:
LayerNorm over the last three dimensions of (2, 4, 8, 8)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_OP = "layernorm"
KBREED_NOTES = "nn.LayerNorm over (4, 8, 8) per sample, affine weight and bias"

batch_size = 2
features = 4
dim1 = 8
dim2 = 8

# Rough: 8 per element (mean, variance, normalise, scale and shift); memory-bound.
KBREED_FLOPS = 8 * batch_size * features * dim1 * dim2


class Model(nn.Module):
    """Layer normalization with learned weight and bias over (features, dim1, dim2)."""

    def __init__(self, normalized_shape: tuple):
        super().__init__()
        self.ln = nn.LayerNorm(normalized_shape=normalized_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(x)


def get_inputs():
    x = torch.randn(batch_size, features, dim1, dim2)
    return [x]


def get_init_inputs():
    return [(features, dim1, dim2)]
