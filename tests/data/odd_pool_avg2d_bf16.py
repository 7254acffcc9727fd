"""Template test problem: AvgPool2d(5, stride=2, padding=2, ceil_mode=True)
over a (2, 3, 31, 45) bf16 tensor (padding counted, windows clipped at the end)."""
import torch
import torch.nn as nn

KBREED_OP = "avgpool2d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=2, padding=2, ceil_mode=True)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(2, 3, 31, 45, dtype=torch.bfloat16)]


def get_init_inputs():
    return []
