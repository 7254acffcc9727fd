// expect: correct
/*
 * bad/good_gelu.cu - the control: a correct exact-erf GELU for the evaluator's
 * test problem tiny_gelu (in[0] x fp32 (R, C), any R and C; out[0] y (R, C)).
 * y = 0.5 * x * (1 + erf(x / sqrt(2))), written as 0.5 * x * erfc(-x / sqrt(2)).
 * One thread per element, 1-D grid-stride loop, 64-bit indices.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

__global__ void gelu_kernel(const float *__restrict__ x, float *__restrict__ y,
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
	if (x->dtype != KB_F32 || y->dtype != KB_F32 || x->ndim != 2 || y->ndim != 2 ||
	    y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] ||
	    x->shape[0] < 0 || x->shape[1] < 0)
		return KB_ERR_SHAPE;
	int64_t n = kb_numel(x);
	if (n == 0)
		return KB_OK;
	int64_t blocks = (n + 255) / 256;
	unsigned grid = (unsigned)(blocks < 65536 ? blocks : 65536);
	gelu_kernel<<<grid, 256, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, (float *)y->data, n);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
