"""Template test problem: LayerNorm over the last two dims of (4, 6, 40, 100): rows of
D = 4000 (a multiple of 4, so the float4 paths run) split over several blocks, 24 rows."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_OP = "layernorm"
KBREED_NOTES = "vector-path LayerNorm for the template tests"


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
    return [torch.randn(4, 6, 40, 100) * 3.0 + 2.0]


def get_init_inputs():
    return [(40, 100)]
