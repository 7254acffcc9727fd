# expect: runtime_error
# A load_inline kernel that stores through a null device pointer: a CUDA
# error, after which the worker's context cannot be trusted (it exits 3).
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

_CUDA = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void bad_kernel(float *y) { y[threadIdx.x] = 1.0f; }

torch::Tensor bad_forward(torch::Tensor x)
{
    auto y = torch::empty_like(x);
    bad_kernel<<<1, 32, 0, at::cuda::getCurrentCUDAStream()>>>(nullptr);
    return y;
}
"""

_ext = load_inline(name="kbreed_test_illegal", cpp_sources=["torch::Tensor bad_forward(torch::Tensor x);"],
                   cuda_sources=[_CUDA], functions=["bad_forward"], verbose=False)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return _ext.bad_forward(x)
