// kbreed winner for 37_FrobeniusNorm_: 5.4255 ms on NVIDIA H200 = 130% of PyTorch eager (7.0457 ms), 66% of the floor.
// Run 4, candidate 300, round 2. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template frobenius
#define NORM_FRO_PLAIN 1
#define KB_F32_ONLY 1
#define THREADS 1024
#define BLOCKS_PER_SM 1
#define UNROLL 4
#define STREAM 0
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
// ---- inlined from ../common/reduce.cuh ----
// reduce.cuh - the warp and block reductions of the templates (rownorm,
// norm_groups, frobenius, layernorm_row, layernorm_split, gemv, loss_reduce,
// reduce_dim, flash_wgmma, the softmax templates through softmax_stats.cuh,
// and the naive kernels src/generate.c writes), written once,
// for any value type T and any combine op (sum, max, a (max, sum) merge, an
// (arg, value) merge):
//   kb_shfl_xor(v, off)           v from lane (lane ^ off) of the warp; any T
//                                 of whole 32-bit words, moved word by word
//   kb_warp_reduce(v, op)         op over the warp's 32 values; all 32 lanes
//                                 call it, and every lane gets the result
//   kb_block_reduce<NW>(v, sh, op, identity)
//                                 op over groups of NW consecutive warps (NW
//                                 = the block's warps: over the whole block);
//                                 every thread gets its group's result
// op(a, b) returns a combined with b. It must be commutative, bit for bit
// (a + b == b + a holds in IEEE arithmetic), so that the two lanes of each
// butterfly step, and hence all lanes, hold the same value; identity is its
// neutral value (0 for a sum, -inf for a max): op(v, identity) == v.
// The order of the combines is a fixed tree, the same in every lane, every
// warp and every run: deterministic, the result bit-identical in all threads.
//
// kb_block_reduce's contract:
// - every thread of the block calls it, with the same NW (it holds two
//   __syncthreads); the block is whole warps, NW divides their number and
//   is at most 32;
// - sh is shared memory of one T per warp of the block (NW of them when the
//   group is the block): each warp's result meets there;
// - the result is valid in every thread of the group on return;
// - it ends with a __syncthreads, so sh may be written again at once (the
//   next call, or other use) without a barrier of the caller's.
// Stages: a butterfly over each warp; lane 0 of each warp writes sh[warp];
// a barrier; every warp reads its group's NW values (identity past them)
// into its lanes and runs the butterfly again; a barrier.
//
// A type may bring its own kb_shfl_xor(T, int) overload, declared before the
// reduction is instantiated (argument-dependent lookup finds it), to move
// fewer words than the generic one (reduce_dim's accumulator shuffles its
// index only for argmax and argmin).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_REDUCE_CUH
#define KBREED_COMMON_REDUCE_CUH

#include <string.h>

__device__ __forceinline__ float kb_shfl_xor(float v, int off)
{
	return __shfl_xor_sync(0xffffffffu, v, off);
}

__device__ __forceinline__ double kb_shfl_xor(double v, int off)
{
	return __shfl_xor_sync(0xffffffffu, v, off);
}

/* Any other T (float2, double2, a struct of floats, doubles and ints): its
 * 32-bit words one at a time. */
template <typename T> __device__ __forceinline__ T kb_shfl_xor(T v, int off)
{
	static_assert(sizeof(T) % 4 == 0, "kb_shfl_xor moves whole 32-bit words");
	unsigned w[sizeof(T) / 4];
	memcpy(w, &v, sizeof v);
#pragma unroll
	for (int i = 0; i < (int)(sizeof(T) / 4); i++)
		w[i] = __shfl_xor_sync(0xffffffffu, w[i], off);
	memcpy(&v, w, sizeof v);
	return v;
}

/* op over the 32 lanes of the warp (all of them must call); every lane
 * returns the result. */
template <typename T, typename Op> __device__ __forceinline__ T kb_warp_reduce(T v, Op op)
{
#pragma unroll
	for (int off = 16; off > 0; off >>= 1)
		v = op(v, kb_shfl_xor(v, off));
	return v;
}

/* op over each group of NW consecutive warps of the block; see the
 * contract at the top. */
template <int NW, typename T, typename Op>
__device__ __forceinline__ T kb_block_reduce(T v, T *sh, Op op, T identity)
{
	static_assert(NW >= 1 && NW <= 32, "a group of 1 to 32 warps");
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	v = kb_warp_reduce(v, op);
	if (lane == 0)
		sh[warp] = v;
	__syncthreads();
	v = lane < NW ? sh[warp / NW * NW + lane] : identity;
	v = kb_warp_reduce(v, op);
	__syncthreads(); /* sh is free again */
	return v;
}

/* The combine ops the templates share. */
struct kb_sum {
	template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

/* (x, y) pairs summed componentwise: a block's (sum, sum of squares). */
struct kb_sum2 {
	__device__ __forceinline__ double2 operator()(double2 a, double2 b) const
	{
		return make_double2(a.x + b.x, a.y + b.y);
	}
};

/* max where a NaN wins, as torch.max propagates it (the naive kernels of
 * src/generate.c); between two NaNs, or +0 and -0, either may come out. */
struct kb_max_nan {
	template <typename T> __device__ __forceinline__ T operator()(T a, T b) const
	{
		return b > a || b != b ? b : a;
	}
};

/* fmaxf: a NaN is dropped in favour of the other value, as fmaxf does. */
struct kb_fmax {
	__device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

#endif
// ---- end of ../common/reduce.cuh ----
// ---- inlined from ../common/host.cuh ----
// host.cuh - host helpers of the templates' kbreed_forward (and of the naive
// kernels src/generate.c writes), written once:
//   kb_sm_count()   the current device's number of SMs (multiprocessors), for
//                   sizing a grid to the machine; 0 where the runtime cannot
//                   say (no device, a failed call, a count below 1): the
//                   caller then returns KB_ERR_LAUNCH, or uses a default
//   kb_keep_pool_mapped()
//                   raises the current device's default memory pool's
//                   release threshold to the maximum, once per process: the
//                   pool then keeps what cudaFreeAsync returned mapped
//                   between calls instead of handing it back at every
//                   synchronisation, so that a call's stream-ordered
//                   scratch (cudaMallocAsync) costs no new mapping each
//                   time. Best effort: where the runtime refuses, memory is
//                   mapped afresh (slower, never wrong)
// The templates ask once and keep the answer in a static (g_sms), as a
// candidate runs on one device.
//
// Grid-wide state of a call (partial sums, tickets, scratch) is never a
// __device__ global: a candidate exported into PyTorch may run on two
// streams at once, and both calls would share it. Each call takes its own
// with cudaMallocAsync on its stream, initialises it there, and returns it
// with cudaFreeAsync on the same stream, after its last kernel
// (tests/bridge/test_template_state.sh checks that no template keeps any).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_HOST_CUH
#define KBREED_COMMON_HOST_CUH

#include <cuda_runtime.h>
#include <stdint.h>

static inline int kb_sm_count(void)
{
	int dev = 0, n = 0;
	if (cudaGetDevice(&dev) != cudaSuccess ||
	    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n < 1)
		return 0;
	return n;
}

static inline void kb_keep_pool_mapped(void)
{
	static bool done = false;
	cudaMemPool_t pool;
	int dev = 0;
	uint64_t keep = UINT64_MAX;
	if (done)
		return;
	if (cudaGetDevice(&dev) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess)
		cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
	done = true;
}

#endif
// ---- end of ../common/host.cuh ----

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
