// kbreed-template: frobenius
// family: norm
// problems: frobenius_norm
// requires: NORM_FRO_PLAIN
// knob THREADS: 256 512 1024 | default 512 | category parallelism | threads per block, in both passes
// knob BLOCKS_PER_SM: 1 2 4 | default 2 | category parallelism | blocks per SM of each pass's grid-stride grid (the grid is SMs x this)
// knob UNROLL: 1 2 4 | default 4 | category memory access | independent 16-byte loads in flight per thread and loop step
// knob STREAM: 0 1 | default 1 | category memory access | 1 = the second pass reads x and writes y with evict-first hints (__ldcs, __stcs): neither is read again
/*
 * frobenius.cu - Frobenius-norm normalisation over the whole tensor:
 *   y = x / ||x||_F,  ||x||_F = sqrt(sum of x^2 over every element), fp32,
 * as torch.norm(x, p='fro') followed by x / norm. Offered where recognition
 * found exactly that graph (NORM_FRO_PLAIN: no eps, no other dims).
 *
 * Layout (contiguous, fp32, any shape; the norm is over all elements):
 *   in[0]  x  e.g. (112, 64, 512, 512): 1.9e9 elements, 7.5 GB
 *   out[0] y  same shape
 *
 * Strategy: two passes over x, each a grid of SMs x BLOCKS_PER_SM blocks
 * striding over x in 16-byte chunks (float4), UNROLL chunks in flight per
 * thread and step.
 *   Pass 1 sums the squares: each thread in double (1.9e9 terms spread over
 *   some 10^5 threads leave each about 10^4: an fp32 running sum could
 *   drift by 1e-4 relative, the whole tolerance, where double stays exact
 *   to 1e-12), each block's sum (a fixed shuffle tree) to partial[block].
 *   Pass 2: every block adds the partial sums again in the same fixed order
 *   (a few hundred doubles from L2, so every block gets the same bits and
 *   no third kernel or grid-wide sync is needed), rounds sqrt(total) to
 *   fp32 as torch's norm is, and writes y = x / norm (IEEE division, as
 *   torch's div).
 * x is read twice and y written once: 1.5x the memory floor of one read
 * and one write, which no method reaches unless x fits on chip (7.5 GB
 * does not); eager PyTorch moves the same bytes (norm, then div).
 * The chunks past the last whole float4 (numel % 4) and any x or y not
 * 16-byte aligned take the scalar path (VEC = 1). The partial sums live in
 * scratch of the call's own (cudaMallocAsync on its stream, one double per
 * block, each written by pass 1 before pass 2 reads it; cudaFreeAsync on
 * the stream after pass 2), so that calls on several streams at once do
 * not share them; the pool keeps it mapped between calls. NaN or inf anywhere
 * makes every output NaN (or 0 and NaN), as in PyTorch; an all-zero x
 * gives 0 / 0 = NaN, as PyTorch does.
 */
#ifndef THREADS
#define THREADS 512
#endif
#ifndef BLOCKS_PER_SM
#define BLOCKS_PER_SM 2
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
#ifndef STREAM
#define STREAM 1
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/reduce.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

static_assert(THREADS == 256 || THREADS == 512 || THREADS == 1024, "THREADS is 256, 512 or 1024");
static_assert(BLOCKS_PER_SM >= 1 && BLOCKS_PER_SM <= 8, "BLOCKS_PER_SM");
static_assert(UNROLL >= 1 && UNROLL <= 8, "UNROLL");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");

KBREED_CANDIDATE_ABI

#define MAX_BLOCKS 4096 /* of either pass; 132 SMs x 8 is 1056 */

#define NWARPS (THREADS / 32)

/* Pass 1: partial[block] = the sum of x^2 over this block's chunks. */
template <int VEC>
__global__ void __launch_bounds__(THREADS) sumsq_kernel(const float *__restrict__ x, double *__restrict__ partial,
							 int64_t n)
{
	const int64_t stride = (int64_t)gridDim.x * THREADS;
	const int64_t first = (int64_t)blockIdx.x * THREADS + threadIdx.x;
	double acc = 0.0;
	if (VEC == 4) {
		const float4 *x4 = reinterpret_cast<const float4 *>(x);
		const int64_t n4 = n / 4;
		int64_t i = first;
		for (; i + (UNROLL - 1) * stride < n4; i += UNROLL * stride) {
			float4 v[UNROLL];
#pragma unroll
			for (int u = 0; u < UNROLL; u++)
				v[u] = __ldg(x4 + i + u * stride);
#pragma unroll
			for (int u = 0; u < UNROLL; u++)
				acc += (double)v[u].x * v[u].x + (double)v[u].y * v[u].y + (double)v[u].z * v[u].z +
				       (double)v[u].w * v[u].w;
		}
		for (; i < n4; i += stride) {
			const float4 v = __ldg(x4 + i);
			acc += (double)v.x * v.x + (double)v.y * v.y + (double)v.z * v.z + (double)v.w * v.w;
		}
		for (int64_t j = 4 * n4 + first; j < n; j += stride) /* the last numel % 4 */
			acc += (double)x[j] * x[j];
	} else {
		for (int64_t j = first; j < n; j += stride)
			acc += (double)x[j] * x[j];
	}
	__shared__ double sh[NWARPS];
	acc = kb_block_reduce<NWARPS>(acc, sh, kb_sum(), 0.0); /* a fixed tree */
	if (threadIdx.x == 0)
		partial[blockIdx.x] = acc;
}

static __device__ __forceinline__ float4 load4(const float4 *p)
{
	return STREAM ? __ldcs(p) : *p;
}

static __device__ __forceinline__ void store4(float4 *p, float4 v)
{
	if (STREAM)
		__stcs(p, v);
	else
		*p = v;
}

/* Pass 2: y = x / sqrt(the sum of the `parts` partial sums). */
template <int VEC>
__global__ void __launch_bounds__(THREADS) scale_kernel(const float *__restrict__ x, float *__restrict__ y,
							 const double *__restrict__ partial, int64_t n, int parts)
{
	__shared__ double sh[NWARPS];
	double t = 0.0;
	for (int p = threadIdx.x; p < parts; p += THREADS)
		t += partial[p];
	t = kb_block_reduce<NWARPS>(t, sh, kb_sum(), 0.0); /* the same bits in every thread */
	const float norm = (float)sqrt(t);
	const int64_t stride = (int64_t)gridDim.x * THREADS;
	const int64_t first = (int64_t)blockIdx.x * THREADS + threadIdx.x;
	if (VEC == 4) {
		const float4 *x4 = reinterpret_cast<const float4 *>(x);
		float4 *y4 = reinterpret_cast<float4 *>(y);
		const int64_t n4 = n / 4;
		int64_t i = first;
		for (; i + (UNROLL - 1) * stride < n4; i += UNROLL * stride) {
			float4 v[UNROLL];
#pragma unroll
			for (int u = 0; u < UNROLL; u++)
				v[u] = load4(x4 + i + u * stride);
#pragma unroll
			for (int u = 0; u < UNROLL; u++)
				store4(y4 + i + u * stride,
				       make_float4(v[u].x / norm, v[u].y / norm, v[u].z / norm, v[u].w / norm));
		}
		for (; i < n4; i += stride) {
			const float4 v = load4(x4 + i);
			store4(y4 + i, make_float4(v.x / norm, v.y / norm, v.z / norm, v.w / norm));
		}
		for (int64_t j = 4 * n4 + first; j < n; j += stride)
			y[j] = x[j] / norm;
	} else {
		for (int64_t j = first; j < n; j += stride)
			y[j] = x[j] / norm;
	}
}

static int g_sms = 0;

template <int VEC>
static int launch(const float *x, float *y, int64_t n, cudaStream_t st)
{
	const int64_t units = VEC == 4 ? (n / 4 > 0 ? n / 4 : 1) : n;
	int64_t blocks = (units + THREADS - 1) / THREADS;
	const int64_t cap = (int64_t)g_sms * BLOCKS_PER_SM < MAX_BLOCKS ? (int64_t)g_sms * BLOCKS_PER_SM : MAX_BLOCKS;
	if (blocks > cap)
		blocks = cap;
	/* The blocks' partial sums: the call's own, on its stream. */
	double *partial = NULL;
	int rc = KB_OK;
	kb_keep_pool_mapped();
	if (cudaMallocAsync((void **)&partial, (size_t)blocks * sizeof(double), st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	sumsq_kernel<VEC><<<(unsigned)blocks, THREADS, 0, st>>>(x, partial, n);
	if (cudaGetLastError() != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	if (!rc) {
		scale_kernel<VEC><<<(unsigned)blocks, THREADS, 0, st>>>(x, y, partial, n, (int)blocks);
		if (cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
	if (cudaFreeAsync(partial, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || y->dtype != KB_F32 || !kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	int64_t n = 1;
	for (int i = 0; i < x->ndim; i++) {
		if (x->shape[i] < 0)
			return KB_ERR_SHAPE;
		n *= x->shape[i];
	}
	if (n == 0)
		return KB_OK;
	if (g_sms == 0)
		g_sms = kb_sm_count();
	if (g_sms == 0)
		return KB_ERR_LAUNCH;
	const float *xp = (const float *)x->data;
	float *yp = (float *)y->data;
	cudaStream_t st = (cudaStream_t)stream;
	if ((uintptr_t)xp % 16 == 0 && (uintptr_t)yp % 16 == 0)
		return launch<4>(xp, yp, n, st);
	return launch<1>(xp, yp, n, st);
}
