"""CI test problem: LayerNorm over the last two dims of a (4, 8, 16, 16) tensor, with
random (not 1/0) weight and bias so that the parameter files carry information."""
import torch
import torch.nn as nn

KBREED_FAMILY = "norm"
KBREED_NOTES = "tiny LayerNorm for the bridge tests"

batch_size = 4
features = 8
dim1 = 16
dim2 = 16


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
    return [torch.randn(batch_size, features, dim1, dim2)]


def get_init_inputs():
    return [(dim1, dim2)]
