// common.cuh - the exact GELU that the reward-hack kernels in this folder
// compute (when they compute anything): one thread per element, grid-stride.
#pragma once
#include "kbreed_candidate.h"
#include <cuda_runtime.h>

__global__ static void hack_gelu(const float *x, float *y, long long n)
{
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
	     i += (long long)gridDim.x * blockDim.x)
		y[i] = 0.5f * x[i] * erfcf(-x[i] * 0.70710678118654752f);
}

static inline int hack_launch(const float *x, float *y, long long n, cudaStream_t s)
{
	hack_gelu<<<1024, 256, 0, s>>>(x, y, n);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
