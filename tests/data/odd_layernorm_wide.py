"""Template test problem: LayerNorm over the last three dims of (3, 64, 1031, 127):
3 rows of D = 8,380,288 (a multiple of 4, so the float4 paths run), slices too long
for an SM's shared memory even one row at a time, so layernorm_split holds the first
part of each slice there and reads the rest again; 3 rows, so ROWS=2's last group
has one row."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_OP = "layernorm"
KBREED_NOTES = "LayerNorm whose rows do not fit the GPU's shared memory, for the template tests"


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
    return [torch.randn(3, 64, 1031, 127) * 2.0 - 1.0]


def get_init_inputs():
    return [(64, 1031, 127)]
