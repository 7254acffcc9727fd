/*
 * naive/gelu.cu - exact (erf) GELU, fp32:  y = 0.5 * x * (1 + erf(x / sqrt(2))).
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  any shape   e.g. (4096, 65536)
 *   out[0] y  same shape as x
 *
 * Strategy: elementwise, one thread per element in a 1-D grid-stride loop with
 * 64-bit indices. Evaluated as 0.5 * x * erfc(-x / sqrt(2)), which is the same
 * function (1 + erf(z) == erfc(-z)) without the cancellation 1 + erf(z)
 * suffers for very negative x. Needs no scratch memory.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

__global__ void gelu_kernel(const float *__restrict__ x,  /* (n) */
			    float *__restrict__ y,        /* (n) */
			    int64_t n)
{
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (int64_t)gridDim.x * blockDim.x) {
		float v = x[i];
		y[i] = 0.5f * v * erfcf(-v * 0.70710678118654752f);
	}
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
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
		return KB_OK;
	int64_t blocks = (n + 255) / 256;
	unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
	gelu_kernel<<<grid, 256, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, (float *)y->data, n);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
