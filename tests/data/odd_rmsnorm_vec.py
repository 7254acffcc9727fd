"""Template test problem: RMSNorm across dim 1 of (3, 70, 4, 13): 52 positions per
channel plane (a multiple of 4 but not of any tile) and C = 70 channels (more than some
register caches hold, so the re-read path runs too)."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_OP = "rmsnorm"
KBREED_NOTES = "vector-path RMSNorm over dim 1 for the template tests"


class Model(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps

    def forward(self, x):
        rms = torch.sqrt(torch.mean(x ** 2, dim=1, keepdim=True) + self.eps)
        return x / rms


def get_inputs():
    return [torch.randn(3, 70, 4, 13)]


def get_init_inputs():
    return [70, 1e-5]
