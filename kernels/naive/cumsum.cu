/*
 * naive/cumsum.cu - torch.cumsum(x, dim=1), fp32.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  (B, L, inner...)   e.g. (16384, 16384): B = 16384 rows of L
 *   out[0] y  same shape:  y[b, l, i] = sum_{k <= l} x[b, k, i]
 * B = shape[0], L = shape[1] (the scanned dim), I = product of shape[2:]
 * (1 for a 2-D input). Element (b, l, i) lives at (b * L + l) * I + i.
 *
 * Strategy: one thread per (b, i) line, a sequential running sum kept in
 * DOUBLE and rounded to float at each store. A float running sum over 16384
 * N(0,1) values drifts by ~1e-4 absolute, which fails atol = rtol = 1e-4
 * against a float64 reference near zero crossings; double keeps every output
 * within half an ulp of float. 1-D grid-stride loop, 64-bit indices. For a 2-D
 * input neighbouring threads read different rows (uncoalesced, but each
 * thread walks its own row, so cache lines are reused from L1/L2).
 * Needs no scratch memory.
 */
#include <cuda_runtime.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

__global__ void cumsum_kernel(const float *__restrict__ x,  /* (B, L, I) */
			      float *__restrict__ y,        /* (B, L, I) */
			      int64_t B, int64_t L, int64_t I)
{
	int64_t lines = B * I;
	for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < lines;
	     t += (int64_t)gridDim.x * blockDim.x) {
		int64_t b = t / I, i = t - b * I;
		const float *xl = x + b * L * I + i;
		float *yl = y + b * L * I + i;
		double acc = 0.0;
		for (int64_t l = 0; l < L; l++) {
			acc += (double)xl[l * I];
			yl[l * I] = (float)acc;
		}
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
	int64_t B = x->shape[0], L = x->shape[1], I = 1;
	for (int i = 2; i < x->ndim; i++)
		I *= x->shape[i];
	if (B * L * I == 0)
		return KB_OK;
	int64_t blocks = (B * I + 63) / 64;
	unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
	cumsum_kernel<<<grid, 64, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, (float *)y->data, B, L, I);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
