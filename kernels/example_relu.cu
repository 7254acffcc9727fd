/*
 * example_relu.cu - the ABI example (docs/ABI.md): y = max(x, 0), fp32.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  any shape (0-D scalar included)
 *   out[0] y  same shape as x, preallocated by the worker
 *
 * Strategy: one thread per element, 1-D grid-stride loop with 64-bit indices,
 * so any element count works with a capped grid. Needs no scratch memory.
 *
 * Build by hand:
 *   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC \
 *        -gencode arch=compute_90a,code=sm_90a -Iinclude \
 *        kernels/example_relu.cu -o example_relu.so
 */
#include <cuda_runtime.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI  /* exports kbreed_abi_version(); write it exactly once */

__global__ void relu_kernel(const float *__restrict__ x,  /* (n) */
			    float *__restrict__ y,        /* (n) */
			    int64_t n)
{
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (int64_t)gridDim.x * blockDim.x) {
		float v = x[i];
		y[i] = v > 0.0f ? v : (v == v ? 0.0f : v);  /* NaN stays NaN, like torch */
	}
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	/* Check everything this candidate relies on; refuse the rest. */
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || y->dtype != KB_F32)
		return KB_ERR_SHAPE;
	if (!kb_same_shape(x, y))
		return KB_ERR_SHAPE;

	int64_t n = kb_numel(x);
	if (n == 0)
		return KB_OK;  /* nothing to write; a 0-block launch would fail */
	int64_t blocks = (n + 255) / 256;
	unsigned grid = (unsigned)(blocks < 65536 ? blocks : 65536);

	/* All work goes on the caller's stream; do not synchronise. */
	relu_kernel<<<grid, 256, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, (float *)y->data, n);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
