"""Template test problem: AvgPool3d((2, 3, 3), stride=(1, 2, 2), padding=(1, 1, 0),
divisor_override=7) over a (2, 3, 7, 11, 13) tensor."""
import torch
import torch.nn as nn

KBREED_OP = "avgpool3d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool3d((2, 3, 3), stride=(1, 2, 2), padding=(1, 1, 0), divisor_override=7)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(2, 3, 7, 11, 13)]


def get_init_inputs():
    return []
