"""Template test problem: AvgPool2d((3, 5), stride=(2, 3), padding=(1, 2),
ceil_mode=True) over a (2, 3, 19, 520) fp16 tensor: rows of 65 16-byte
words, so pool_nd's ROWS = 1 kernel reads them as words (8 halves each) from
a span that starts 2 columns before the row."""
import torch
import torch.nn as nn

KBREED_OP = "avgpool2d"
KBREED_NOTES = "odd-shaped pooling for the pool_nd template tests"


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d((3, 5), stride=(2, 3), padding=(1, 2), ceil_mode=True)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(2, 3, 19, 520, dtype=torch.float16)]


def get_init_inputs():
    return []
