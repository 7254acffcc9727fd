"""Template test problem: a bf16 (3, 29, 1030) batch @ (1030, 1):
the batch folds into 87 rows; K is even but not a multiple of 8, so 16-byte
words do not fit and 4-byte ones (VEC=1) do."""
import torch
import torch.nn as nn

KBREED_OP = "matvec"
KBREED_NOTES = "odd-shaped matvec for the gemv template tests"

BATCH, M, K = 3, 29, 1030

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.matmul(A, B)


def get_inputs():
    return [torch.rand(BATCH, M, K, dtype=torch.bfloat16), torch.rand(K, 1, dtype=torch.bfloat16)]


def get_init_inputs():
    return []
