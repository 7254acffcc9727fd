/*
 * naive/layernorm.cu - nn.LayerNorm over the trailing dims, eps 1e-5, with
 * elementwise affine:  y = (x - mean) / sqrt(var + eps) * weight + bias,
 * mean and (biased) var taken over the normalized dims of each row.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x      (R..., D0, D1, D2)   e.g. (16, 64, 256, 256)
 *   in[1]  weight (D0, D1, D2)         e.g. (64, 256, 256)
 *   in[2]  bias   (D0, D1, D2)
 *   out[0] y      same shape as x
 * The normalized shape is the weight's shape (any ndim >= 1); x's trailing
 * dims must equal it. Rows R = numel(x) / numel(weight), row length M =
 * numel(weight).
 *
 * Strategy: one 1024-thread block per row (grid-stride over rows). Three
 * passes over the row: (1) sum of x in per-thread double partials, block
 * reduction -> mean; (2) sum of (x - mean)^2, same way -> var (two-pass
 * variance, no cancellation); (3) normalise in double, scale/shift in float.
 * Needs no scratch memory.
 */
#include <cuda_runtime.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

#define LN_THREADS 1024
#define LN_EPS 1e-5

/* Sum of v over the block (blockDim.x a multiple of 32, <= 1024); every
 * thread gets the result. sh must hold 32 doubles. */
__device__ double block_sum(double v, double *sh)
{
	const unsigned full = 0xffffffffu;
	int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
	int nwarps = blockDim.x >> 5;
	for (int off = 16; off > 0; off >>= 1)
		v += __shfl_down_sync(full, v, off);
	if (lane == 0)
		sh[wid] = v;
	__syncthreads();
	if (wid == 0) {
		v = (lane < nwarps) ? sh[lane] : 0.0;
		for (int off = 16; off > 0; off >>= 1)
			v += __shfl_down_sync(full, v, off);
		if (lane == 0)
			sh[0] = v;
	}
	__syncthreads();
	double r = sh[0];
	__syncthreads(); /* sh may be reused by the next call */
	return r;
}

__global__ void layernorm_kernel(const float *__restrict__ x,     /* (R, M) */
				 const float *__restrict__ w,     /* (M) */
				 const float *__restrict__ b,     /* (M) */
				 float *__restrict__ y,           /* (R, M) */
				 int64_t R, int64_t M)
{
	__shared__ double sh[32];
	for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
		const float *xr = x + r * M;
		float *yr = y + r * M;

		double s = 0.0;
		for (int64_t i = threadIdx.x; i < M; i += blockDim.x)
			s += (double)xr[i];
		double mean = block_sum(s, sh) / (double)M;

		double q = 0.0;
		for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
			double d = (double)xr[i] - mean;
			q += d * d;
		}
		double var = block_sum(q, sh) / (double)M;
		double rstd = 1.0 / sqrt(var + LN_EPS);

		for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
			float n = (float)(((double)xr[i] - mean) * rstd);
			yr[i] = n * w[i] + b[i];
		}
	}
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 3 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *w = &in[1], *b = &in[2];
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || w->dtype != KB_F32 || b->dtype != KB_F32 ||
	    y->dtype != KB_F32)
		return KB_ERR_SHAPE;
	if (w->ndim < 1 || x->ndim < w->ndim || x->ndim > KBREED_MAX_DIMS ||
	    b->ndim != w->ndim || y->ndim != x->ndim)
		return KB_ERR_SHAPE;
	int lead = x->ndim - w->ndim;
	for (int i = 0; i < w->ndim; i++)
		if (x->shape[lead + i] != w->shape[i] || b->shape[i] != w->shape[i])
			return KB_ERR_SHAPE;
	if (!kb_same_shape(x, y))
		return KB_ERR_SHAPE;

	int64_t M = kb_numel(w);
	int64_t N = kb_numel(x);
	if (N == 0)
		return KB_OK;
	if (M == 0)
		return KB_ERR_SHAPE;
	int64_t R = N / M;
	unsigned grid = (unsigned)(R < 2147483647LL ? R : 2147483647LL);
	layernorm_kernel<<<grid, LN_THREADS, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, (const float *)w->data,
		(const float *)b->data, (float *)y->data, R, M);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
