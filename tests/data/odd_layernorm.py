"""Template test problem: LayerNorm over the last two dims of an odd-sized (3, 5, 7, 9)
tensor (rows of D = 63, not a multiple of any vector width), random affine weight and bias."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_OP = "layernorm"
KBREED_NOTES = "odd-shaped LayerNorm for the template tests"


class Model(nn.Module):
    def __init__(self, normalized_shape):
        super().__init__()
        self.ln = nn.LayerNorm(normalized_shape)
        with torch.no_grad():
            self.ln.weight.normal_(1.0, 0.5)
            self.ln.bias.normal_(0.0, 0.5)

    def forward(self, x):
        return self.ln(x)


def get_inputs():
    return [torch.randn(3, 5, 7, 9)]


def get_init_inputs():
    return [(7, 9)]
