"""Template test problem: RMSNorm across dim 1 of an odd-sized (3, 7, 5, 11) tensor
(55 positions per channel plane, not a multiple of any vector width)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_OP = "rmsnorm"
KBREED_NOTES = "odd-shaped RMSNorm over dim 1 for the template tests"


class Model(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps

    def forward(self, x):
        rms = torch.sqrt(torch.mean(x ** 2, dim=1, keepdim=True) + self.eps)
        return x / rms


def get_inputs():
    return [torch.randn(3, 7, 5, 11)]


def get_init_inputs():
    return [7, 1e-5]
