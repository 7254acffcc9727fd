# mid_gelu.py's GELU whose get_inputs() goes through numpy, as some
# KernelBench files do: under the GPU as torch's default device its tensor
# cannot become a numpy array, so the references make its inputs on the CPU
# (said once) and judge as before. make test-gpu, section 8.
import torch
import torch.nn as nn
import torch.nn.functional as F

KBREED_FAMILY = "elementwise"
KBREED_OP = "gelu"
KBREED_NOTES = "GELU of 2048 x 8192 fp32 whose inputs pass through numpy"

M, N = 2048, 8192


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return F.gelu(x)


def get_inputs():
    return [torch.from_numpy(torch.randn(M, N).numpy())]


def get_init_inputs():
    return []
