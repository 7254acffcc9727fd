/*
 * naive/rmsnorm.cu - y = x / sqrt(mean(x^2, dim=1, keepdim=True) + 1e-5),
 * no parameters, fp32.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  (B, C, inner...)   e.g. (32, 64, 256, 256): B=32, C=64, I=65536
 *   out[0] y  same shape as x
 * B = shape[0], C = shape[1] (the reduced dim), I = product of shape[2:]
 * (1 for a 2-D input). Element (b, c, i) lives at (b * C + c) * I + i.
 *
 * Strategy: one thread per (b, i) position; it walks its C elements with
 * stride I, accumulating x^2 in double, then writes x * (1/sqrt(ms + eps)).
 * Neighbouring threads own neighbouring i, so every load and store is
 * coalesced. 1-D grid-stride loop, 64-bit indices. Needs no scratch memory.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

#define RMS_EPS 1e-5

__global__ void rmsnorm_kernel(const float *__restrict__ x,  /* (B, C, I) */
			       float *__restrict__ y,        /* (B, C, I) */
			       int64_t B, int64_t C, int64_t I)
{
	int64_t lines = B * I;
	for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < lines;
	     t += (int64_t)gridDim.x * blockDim.x) {
		int64_t b = t / I, i = t - b * I;
		const float *xl = x + b * C * I + i;
		float *yl = y + b * C * I + i;
		double ss = 0.0;
		for (int64_t c = 0; c < C; c++) {
			double v = (double)xl[c * I];
			ss += v * v;
		}
		double r = 1.0 / sqrt(ss / (double)C + RMS_EPS);
		for (int64_t c = 0; c < C; c++)
			yl[c * I] = (float)((double)xl[c * I] * r);
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
	if (x->ndim < 2 || !kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	int64_t B = x->shape[0], C = x->shape[1], I = 1;
	for (int i = 2; i < x->ndim; i++)
		I *= x->shape[i];
	if (B * C * I == 0)
		return KB_OK;
	int64_t blocks = (B * I + 255) / 256;
	unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
	rmsnorm_kernel<<<grid, 256, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, (float *)y->data, B, C, I);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
