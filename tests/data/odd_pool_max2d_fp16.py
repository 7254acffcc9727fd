"""Template test problem: MaxPool2d((3, 4), stride=(2, 3), padding=(1, 2),
dilation=(2, 1), ceil_mode=True) over a (2, 5, 37, 53) fp16 tensor."""
import torch
import torch.nn as nn

KBREED_OP = "maxpool2d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d((3, 4), stride=(2, 3), padding=(1, 2), dilation=(2, 1), ceil_mode=True)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(2, 5, 37, 53, dtype=torch.float16)]


def get_init_inputs():
    return []
