"""Template test problem: MaxPool3d((2, 3, 3), stride=(1, 2, 3),
padding=(1, 1, 1), dilation=(1, 2, 1)) over a (2, 2, 5, 9, 600) fp32 tensor,
no indices: pool_nd's ROWS = 1 kernel reduces the window's 6 input rows
(kd, kh) column by column, read as 16-byte words. fp32: torch has no fp16
or bf16 max_pool3d on the CPU."""
import torch
import torch.nn as nn

KBREED_OP = "maxpool3d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool3d((2, 3, 3), stride=(1, 2, 3), padding=(1, 1, 1), dilation=(1, 2, 1))

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(2, 2, 5, 9, 600)]


def get_init_inputs():
    return []
