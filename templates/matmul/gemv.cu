// kbreed-template: gemv
// family: matmul
// problems: matvec
// requires: KB_MATVEC
// knob THREADS: 64 128 256 512 1024 | default 256 | category parallelism | threads per block
// knob ROWS_PER_BLOCK: 1 2 4 8 | default 1 | category parallelism | rows of A a block works on at once, each by THREADS / ROWS_PER_BLOCK threads (at least a warp: clamped to THREADS / 32); the rows share x through L1
// knob SPLIT_K: 0 1 2 4 8 16 32 | default 0 | category parallelism | blocks sharing one row, each taking a slice of K, their partial sums added in order by a second kernel; 0 = by shape (enough blocks for one wave of the GPU's SMs)
// knob VEC: 1 2 4 | default 4 | category memory access | 4-byte words per load of A and x (4, 8 or 16 bytes), used where K is a multiple of the word's elements and A and x start on a word
// knob UNROLL: 1 2 4 8 | default 4 | category asynchronous operations and latency hiding | words of A each thread has in flight before it multiplies any
// knob STREAM: 0 1 | default 0 | category memory access | 1 = streaming loads of A (__ldcs, evict-first): A is read once, x stays in L2 for every row
// same: THREADS=64 ROWS_PER_BLOCK=4 as ROWS_PER_BLOCK=2
// same: THREADS=64 ROWS_PER_BLOCK=8 as ROWS_PER_BLOCK=2
// same: THREADS=128 ROWS_PER_BLOCK=8 as ROWS_PER_BLOCK=4
/*
 * gemv.cu - y = A @ x, a matrix times a vector (torch.matmul(A, B) with B
 * (K, 1), torch.mv, A @ v), leading batch dims of A folded into its rows;
 * fp32, fp16 or bf16, accumulated in fp32, the result in the input dtype.
 *
 * Recognition (src/recognize.c) writes KB_MATVEC where the graph is that
 * product and nothing more; the template is offered only then.
 *
 * Layout (contiguous, row-major):
 *   in[0]  A  (..., K): R rows of K, R the product of the leading dims
 *   in[1]  x  K elements: (K, 1) or (K,)
 *   out[0] y  R elements ((..., 1) or (...,)), A's dtype
 *
 * The work is memory bound: A (R*K elements) crosses DRAM once, x (K) is
 * read by every row but from L2 (or L1, for the rows of one block).
 *
 * Strategy: a block works on ROWS_PER_BLOCK rows at once, each row by a
 * group of ROW_THREADS = THREADS / ROWS_PER_BLOCK threads (whole warps). Where
 * there are few rows for the SMs (K-heavy shapes: 256 rows of 131072), a row
 * is split into SPLIT_K slices of K, each slice a block of its own, and a
 * second kernel adds each row's SPLIT_K partial sums in slice order. The
 * group walks its slice a 4*VEC-byte word per thread at a time (neighbouring
 * threads on neighbouring words: every warp load is one run of 32 words),
 * UNROLL words in flight, each multiplied by the same word of x and summed
 * in fp32, one accumulator per unrolled word. The threads' sums meet by a
 * warp shuffle tree, then in shared memory between a group's warps, in a
 * fixed order: no atomics, the same bits on every call.
 * Words are used where K is a multiple of their elements and A and x start
 * on a word, so that every row starts on one too; otherwise (an odd K, an
 * offset base) every load is one element, still coalesced. Row offsets are
 * 64-bit; blocks grid-stride over (row group, slice) pairs.
 * The partial sums of SPLIT_K live in scratch of the call's own
 * (cudaMallocAsync on its stream, rows x split floats, every one written by
 * the first kernel before the second reads it; freed with cudaFreeAsync on
 * the stream), so that calls on several streams at once do not share them;
 * at most GEMV_MAX_PARTS floats: a shape needing more takes fewer slices.
 */
#ifndef THREADS
#define THREADS 256
#endif
#ifndef ROWS_PER_BLOCK
#define ROWS_PER_BLOCK 1
#endif
#ifndef SPLIT_K
#define SPLIT_K 0
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
#ifndef STREAM
#define STREAM 0
#endif
#ifndef KB_MATVEC
#define KB_MATVEC 1
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>
#include "kbreed_candidate.h"
#include "../common/dtype.cuh" // kbreed:inline
#include "../common/reduce.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 1024, "THREADS");
static_assert(ROWS_PER_BLOCK >= 1 && ROWS_PER_BLOCK <= 32 && (ROWS_PER_BLOCK & (ROWS_PER_BLOCK - 1)) == 0,
	      "ROWS_PER_BLOCK is a power of two");
static_assert(SPLIT_K == 0 || (SPLIT_K >= 1 && SPLIT_K <= 32 && (SPLIT_K & (SPLIT_K - 1)) == 0), "SPLIT_K");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC is 1, 2 or 4");
static_assert(UNROLL >= 1 && UNROLL <= 8, "UNROLL");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");

KBREED_CANDIDATE_ABI

#define NWARPS (THREADS / 32)
/* Rows a block holds at once (a warp at least per row), threads per row. */
#define RPB (ROWS_PER_BLOCK < NWARPS ? ROWS_PER_BLOCK : NWARPS)
#define ROW_THREADS (THREADS / RPB)
static_assert(ROW_THREADS % 32 == 0 && ROW_THREADS * RPB == THREADS, "a row's group is whole warps");

#define GEMV_MAX_PARTS (1 << 18)        /* most floats of scratch for the slices' sums */

/* One thread's share of sum_k a[k] * x[k] over the words [w0, w1) of one
 * row: words lane, lane + ROW_THREADS, ..., UNROLL of them loaded before
 * any is used.
 * W is the word (T itself on the element path), E its elements. */
template <typename T, typename W>
static __device__ __forceinline__ float row_share(const W *__restrict__ a, const W *__restrict__ x, int64_t w0,
						  int64_t w1, int lane)
{
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	float acc[UNROLL];
#pragma unroll
	for (int u = 0; u < UNROLL; u++)
		acc[u] = 0.0f;
	for (int64_t w = w0 + lane; w < w1; w += (int64_t)ROW_THREADS * UNROLL) {
		W ra[UNROLL], rx[UNROLL];
#pragma unroll
		for (int u = 0; u < UNROLL; u++)
			if (w + (int64_t)u * ROW_THREADS < w1) {
				ra[u] = ld_word<STREAM == 1>(a + w + (int64_t)u * ROW_THREADS);
				rx[u] = ld_word<false>(x + w + (int64_t)u * ROW_THREADS);
			}
#pragma unroll
		for (int u = 0; u < UNROLL; u++) {
			if (w + (int64_t)u * ROW_THREADS >= w1)
				break;
			T ea[E], ex[E];
			memcpy(ea, &ra[u], sizeof ra[u]);
			memcpy(ex, &rx[u], sizeof rx[u]);
#pragma unroll
			for (int j = 0; j < E; j++)
				acc[u] = fmaf(to_float(ea[j]), to_float(ex[j]), acc[u]);
		}
	}
	float s = 0.0f;
#pragma unroll
	for (int u = 0; u < UNROLL; u++)
		s += acc[u];
	return s;
}

/* The product: `rows` rows of k elements, nw words; `split` slices per row
 * (a power of two at most 32), each of `chunk` words. split == 1 writes y,
 * else the slices' sums into part[row * split + slice] (the call's scratch,
 * rows x split floats). */
template <typename T, typename W>
__global__ void __launch_bounds__(THREADS)
gemv_kernel(const T *__restrict__ A, const T *__restrict__ x, T *__restrict__ y, float *__restrict__ part,
	    int64_t rows, int64_t k, int64_t nw, int split, int64_t chunk)
{
	__shared__ float wsum[NWARPS];
	const int lane = threadIdx.x % ROW_THREADS, group = threadIdx.x / ROW_THREADS;
	const int64_t groups = (rows + RPB - 1) / RPB;
	const W *xw = reinterpret_cast<const W *>(x);
	/* Every thread of the block runs the same iterations (the barriers below). */
	for (int64_t item = blockIdx.x; item < groups * split; item += gridDim.x) {
		const int slice = (int)(item % split);
		const int64_t r = (item / split) * RPB + group;
		const int64_t w0 = (int64_t)slice * chunk;
		const int64_t w1 = w0 + chunk < nw ? w0 + chunk : nw;
		float s = 0.0f;
		if (r < rows && w0 < w1)
			s = row_share<T, W>(reinterpret_cast<const W *>(A + r * k), xw, w0, w1, lane);
		/* A fixed tree over the row's group of warps (wsum: one float per
		 * warp of the block, free again on return). */
		if (ROW_THREADS > 32)
			s = kb_block_reduce<ROW_THREADS / 32>(s, wsum, kb_sum(), 0.0f);
		else
			s = kb_warp_reduce(s, kb_sum());
		if (lane == 0 && r < rows) {
			if (split == 1)
				y[r] = from_float<T>(s);
			else
				part[r * split + slice] = s;
		}
	}
}

/* The second pass of a split row: its slices' sums, in slice order. */
template <typename T>
__global__ void __launch_bounds__(256)
gemv_finish(const float *__restrict__ part, T *__restrict__ y, int64_t rows, int split)
{
	for (int64_t r = (int64_t)blockIdx.x * 256 + threadIdx.x; r < rows; r += (int64_t)gridDim.x * 256) {
		float s = 0.0f;
		for (int k = 0; k < split; k++)
			s += part[r * split + k];
		y[r] = from_float<T>(s);
	}
}

/* ---- launch ---- */

static unsigned grid_of(int64_t items)
{
	if (items < 1)
		return 1;
	return (unsigned)(items > 2147483647LL ? 2147483647LL : items);
}

/* Slices per row: SPLIT_K, or by shape the most that still leave the blocks
 * within one wave of resident blocks (THREADS-thread blocks, 2048 threads a
 * SM) and every slice a full pass of the group's unrolled loads; fewer where
 * the scratch would not hold the rows' sums. */
static int split_of(int64_t rows, int64_t nw, int *split)
{
	int s = SPLIT_K;
	if (s == 0) {
		static int sms = 0;   /* the device's, asked once */
		if (sms == 0)
			sms = kb_sm_count();
		if (sms == 0)
			return KB_ERR_LAUNCH;
		const int64_t wave = (int64_t)sms * (2048 / THREADS);
		const int64_t groups = (rows + RPB - 1) / RPB;
		s = 1;
		while (s < 32 && groups * s * 2 <= wave && nw / (s * 2) >= (int64_t)ROW_THREADS * UNROLL)
			s *= 2;
	}
	while (s > 1 && rows * s > GEMV_MAX_PARTS)
		s /= 2;
	*split = s;
	return KB_OK;
}

template <typename T, typename W>
static int run(const T *A, const T *x, T *y, int64_t rows, int64_t k, cudaStream_t st)
{
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	const int64_t nw = k / E;
	int split = 1;
	int rc = split_of(rows, nw, &split);
	if (rc)
		return rc;
	const int64_t chunk = (nw + split - 1) / split;
	const int64_t groups = (rows + RPB - 1) / RPB;
	/* The slices' sums: the call's own, on its stream (see the top). */
	float *part = NULL;
	if (split > 1) {
		kb_keep_pool_mapped();
		if (cudaMallocAsync((void **)&part, (size_t)(rows * split) * sizeof(float), st) != cudaSuccess)
			return KB_ERR_LAUNCH;
	}
	gemv_kernel<T, W><<<grid_of(groups * split), THREADS, 0, st>>>(A, x, y, part, rows, k, nw, split, chunk);
	if (cudaGetLastError() != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	if (!rc && split > 1) {
		gemv_finish<T><<<grid_of((rows + 255) / 256), 256, 0, st>>>(part, y, rows, split);
		if (cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
	if (part && cudaFreeAsync(part, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}

template <typename T>
static int launch(const T *A, const T *x, T *y, int64_t rows, int64_t k, cudaStream_t st)
{
	typedef typename word_t<VEC>::T W;
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	const bool wide = E > 1 && k % E == 0 && (uintptr_t)A % sizeof(W) == 0 && (uintptr_t)x % sizeof(W) == 0;
	return wide ? run<T, W>(A, x, y, rows, k, st) : run<T, T>(A, x, y, rows, k, st);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 2 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *a = &in[0], *x = &in[1];
	kb_tensor *y = &out[0];
	if (!kb_takes_dtype(a->dtype))
		return KB_ERR_SHAPE;
	if (x->dtype != a->dtype || y->dtype != a->dtype)
		return KB_ERR_SHAPE;
	if (a->ndim < 2 || a->ndim > KBREED_MAX_DIMS || x->ndim < 1 || x->ndim > KBREED_MAX_DIMS ||
	    y->ndim < 0 || y->ndim > KBREED_MAX_DIMS)
		return KB_ERR_SHAPE;
	/* A (rows, K), x K elements, y one per row (recognition saw to their order). */
	const int64_t k = a->shape[a->ndim - 1];
	int64_t rows = 1;
	for (int d = 0; d < a->ndim - 1; d++) {
		if (a->shape[d] < 0)
			return KB_ERR_SHAPE;
		rows *= a->shape[d];
	}
	for (int d = 0; d < x->ndim; d++)
		if (x->shape[d] < 0)
			return KB_ERR_SHAPE;
	for (int d = 0; d < y->ndim; d++)
		if (y->shape[d] < 0)
			return KB_ERR_SHAPE;
	if (k < 0 || kb_numel(x) != k || kb_numel(y) != rows)
		return KB_ERR_SHAPE;
	if (rows == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	switch (a->dtype) {
	case KB_F32:
		return launch<float>((const float *)a->data, (const float *)x->data, (float *)y->data, rows, k, st);
#if !KB_F32_ONLY
	case KB_F16:
		return launch<__half>((const __half *)a->data, (const __half *)x->data, (__half *)y->data, rows, k, st);
	default:
		return launch<__nv_bfloat16>((const __nv_bfloat16 *)a->data, (const __nv_bfloat16 *)x->data,
					     (__nv_bfloat16 *)y->data, rows, k, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
