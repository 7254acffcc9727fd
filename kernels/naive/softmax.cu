/*
 * naive/softmax.cu - torch.softmax(x, dim=1), fp32.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  (B, L, inner...)   e.g. (4096, 65536): B = 4096 rows of L = 65536
 *   out[0] y  same shape as x
 * B = shape[0], L = shape[1] (the softmax dim), I = product of shape[2:]
 * (1 for a 2-D input). Element (b, l, i) lives at (b * L + l) * I + i.
 *
 * Strategy (numerically stable, three passes over each softmax line):
 *   max m over the line; s = sum exp(x - m) accumulated in double;
 *   y = exp(x - m) / s.
 *   I == 1 (rows contiguous): one 512-thread block per row, block reductions.
 *   I > 1 (strided lines):    one thread per (b, i) line; neighbouring
 *                             threads read neighbouring i, so loads coalesce.
 * Needs no scratch memory.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

#define SM_THREADS 512

/* Block-wide max / sum (blockDim.x a multiple of 32); all threads get it. */
__device__ float block_max(float v, float *sh)
{
	const unsigned full = 0xffffffffu;
	int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
	for (int off = 16; off > 0; off >>= 1)
		v = fmaxf(v, __shfl_down_sync(full, v, off));
	if (lane == 0)
		sh[wid] = v;
	__syncthreads();
	if (wid == 0) {
		v = (lane < (int)(blockDim.x >> 5)) ? sh[lane] : -INFINITY;
		for (int off = 16; off > 0; off >>= 1)
			v = fmaxf(v, __shfl_down_sync(full, v, off));
		if (lane == 0)
			sh[0] = v;
	}
	__syncthreads();
	float r = sh[0];
	__syncthreads();
	return r;
}

__device__ double block_sum(double v, double *sh)
{
	const unsigned full = 0xffffffffu;
	int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
	for (int off = 16; off > 0; off >>= 1)
		v += __shfl_down_sync(full, v, off);
	if (lane == 0)
		sh[wid] = v;
	__syncthreads();
	if (wid == 0) {
		v = (lane < (int)(blockDim.x >> 5)) ? sh[lane] : 0.0;
		for (int off = 16; off > 0; off >>= 1)
			v += __shfl_down_sync(full, v, off);
		if (lane == 0)
			sh[0] = v;
	}
	__syncthreads();
	double r = sh[0];
	__syncthreads();
	return r;
}

/* I == 1: x, y (B, L); one block per row. */
__global__ void softmax_rows(const float *__restrict__ x, float *__restrict__ y,
			     int64_t B, int64_t L)
{
	__shared__ float shf[32];
	__shared__ double shd[32];
	for (int64_t r = blockIdx.x; r < B; r += gridDim.x) {
		const float *xr = x + r * L;
		float *yr = y + r * L;
		float m = -INFINITY;
		for (int64_t l = threadIdx.x; l < L; l += blockDim.x)
			m = fmaxf(m, xr[l]);
		m = block_max(m, shf);
		double s = 0.0;
		for (int64_t l = threadIdx.x; l < L; l += blockDim.x)
			s += (double)expf(xr[l] - m);
		s = block_sum(s, shd);
		float inv = (float)(1.0 / s);
		for (int64_t l = threadIdx.x; l < L; l += blockDim.x)
			yr[l] = expf(xr[l] - m) * inv;
	}
}

/* I > 1: x, y (B, L, I); one thread per (b, i) line of stride I. */
__global__ void softmax_strided(const float *__restrict__ x, float *__restrict__ y,
				int64_t B, int64_t L, int64_t I)
{
	int64_t lines = B * I;
	for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < lines;
	     t += (int64_t)gridDim.x * blockDim.x) {
		int64_t b = t / I, i = t - b * I;
		const float *xl = x + b * L * I + i;
		float *yl = y + b * L * I + i;
		float m = -INFINITY;
		for (int64_t l = 0; l < L; l++)
			m = fmaxf(m, xl[l * I]);
		double s = 0.0;
		for (int64_t l = 0; l < L; l++)
			s += (double)expf(xl[l * I] - m);
		float inv = (float)(1.0 / s);
		for (int64_t l = 0; l < L; l++)
			yl[l * I] = expf(xl[l * I] - m) * inv;
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
	cudaStream_t s = (cudaStream_t)stream;
	if (I == 1) {
		unsigned grid = (unsigned)(B < 2147483647LL ? B : 2147483647LL);
		softmax_rows<<<grid, SM_THREADS, 0, s>>>((const float *)x->data,
							 (float *)y->data, B, L);
	} else {
		int64_t blocks = (B * I + 255) / 256;
		unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
		softmax_strided<<<grid, 256, 0, s>>>((const float *)x->data,
						     (float *)y->data, B, L, I);
	}
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
