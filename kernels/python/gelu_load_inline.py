# expect: correct
# A KernelBench-style solution for the suite's gelu (fp32): exact GELU in a
# CUDA kernel of its own, built with torch.utils.cpp_extension.load_inline as
# KernelBench's and CRFM's solutions are, launched on PyTorch's current stream.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

_CUDA = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void gelu_kernel(const float *__restrict__ x, float *__restrict__ y, int64_t n)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float v = x[i];
        y[i] = 0.5f * v * erfcf(-v * 0.70710678118654752f);
    }
}

torch::Tensor gelu_forward(torch::Tensor x)
{
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == torch::kFloat32, "a CUDA float32 tensor");
    x = x.contiguous();
    auto y = torch::empty_like(x);
    int64_t n = x.numel();
    if (n == 0)
        return y;
    int64_t blocks = (n + 255) / 256;
    unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
    gelu_kernel<<<grid, 256, 0, at::cuda::getCurrentCUDAStream()>>>(x.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_CPP = "torch::Tensor gelu_forward(torch::Tensor x);"

_ext = load_inline(name="kbreed_test_gelu", cpp_sources=[_CPP], cuda_sources=[_CUDA],
                   functions=["gelu_forward"], extra_cuda_cflags=["-O3"], verbose=False)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return _ext.gelu_forward(x)
