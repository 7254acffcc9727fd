"""Template test problem: torch.mv of an fp16 (77, 2056) matrix and a
(2056,) vector: K is a multiple of 8, the 16-byte path."""
import torch
import torch.nn as nn

KBREED_OP = "matvec"
KBREED_NOTES = "odd-shaped matvec for the gemv template tests"

M, K = 77, 2056

class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A, B):
        return torch.mv(A, B)


def get_inputs():
    return [torch.rand(M, K, dtype=torch.float16), torch.rand(K, dtype=torch.float16)]


def get_init_inputs():
    return []
