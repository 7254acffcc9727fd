// kbreed-template: reduce_dim
// family: reduce
// problems: sum_dim mean_dim max_dim min_dim prod_dim argmax_dim argmin_dim
// requires: KB_RED_OP
// knob THREADS: 64 128 256 512 1024 | default 256 | category parallelism | threads per block
// knob VEC: 1 2 4 | default 4 | category memory access | 4-byte words per load (4, 8 or 16 bytes: 1, 2 or 4 floats, 2, 4 or 8 halves)
// knob PER_ROW: 0 1 2 | default 0 | category parallelism | reduced axis innermost: threads per output, 0 = by shape (a warp for short rows or many rows, else the block), 1 = a warp, 2 = the whole block
// knob SPLIT: 0 1 2 4 8 16 32 | default 0 | category parallelism | reduced axis strided: threads of a block sharing one output column, each taking every SPLIT-th step of R; 0 = by shape (just enough columns for the inner extent)
// knob UNROLL: 1 2 4 8 | default 4 | category asynchronous operations and latency hiding | loads each thread has in flight before it combines any
// knob STREAM: 0 1 | default 0 | category memory access | 1 = streaming loads (__ldcs, evict-first): every input byte is read once
// start sm_90a !KB_RED_INNERMOST: THREADS=512 SPLIT=8 UNROLL=1
/*
 * reduce_dim.cu - torch.sum / mean / amax / max(dim)[0] / amin / min(dim)[0]
 * / prod / argmax / argmin over one dim (or a run of adjacent dims), keepdim
 * or not; fp32, fp16 or bf16 input, any shape.
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is an
 * argmax over dim 1 of a 3-D tensor:
 *   KB_RED_OP      KB_RED_SUM, _MEAN, _MAX, _MIN, _PROD, _ARGMAX or _ARGMIN
 *   KB_RED_RANK    the input's number of dims
 *   KB_RED_DIM     the first reduced dim (0 <= DIM < RANK)
 *   KB_RED_NDIMS   how many adjacent dims are reduced, from DIM on
 *   KB_RED_KEEPDIM 1 = the reduced dims stay, as extent 1
 *
 * Layout (contiguous, row-major):
 *   in[0]  x  (OUTER, R, INNER) seen through its shape: OUTER the product of
 *             the dims before DIM, R of the reduced ones, INNER of the rest
 *   out[0] y  (OUTER, INNER) as torch shapes it (keepdim or not); x's dtype,
 *             int64 for argmax and argmin
 *
 * Semantics as PyTorch's: sums, means and products accumulate in float
 * whatever the input dtype and round once; max and min propagate NaN;
 * argmax and argmin return the first index of the extreme, a NaN counting as
 * the extreme (its first index wins); an empty R gives 0 (sum), 1 (prod),
 * NaN (mean) and is refused for the others, as torch refuses it.
 *
 * Strategy, INNER == 1 (the reduced axis innermost: a row per output): a
 * group of threads, a warp or the whole block (PER_ROW), walks its row with
 * 4*VEC-byte loads, UNROLL of them in flight per thread; the row's head up to
 * the first aligned word and its tail are read one element at a time, so any
 * R and any row start work. Partial results meet by warp shuffles, then
 * through shared memory between warps. Groups grid-stride over the rows.
 * Strategy, INNER > 1 (the reduced axis strided): a block covers a tile of
 * adjacent output columns of one outer index; each thread owns E adjacent
 * columns (one 4*VEC-byte word per step of R where INNER is a multiple of E
 * and x is aligned, else E = 1) and walks R, so every warp load is coalesced
 * along INNER. SPLIT threads share a column, each taking every SPLIT-th step
 * of R; they meet in shared memory. Blocks grid-stride over the tiles.
 * Accumulators carry (value, index); the index is dead code unless the op
 * is argmax or argmin, and it decides ties wherever partials meet, so the
 * first index wins whatever the order the threads combined in.
 */
#ifndef THREADS
#define THREADS 256
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef PER_ROW
#define PER_ROW 0
#endif
#ifndef SPLIT
#define SPLIT 0
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
#ifndef STREAM
#define STREAM 0
#endif

/* The ops, as recognition names them in KB_RED_OP. */
#define KB_RED_SUM 0
#define KB_RED_MEAN 1
#define KB_RED_MAX 2
#define KB_RED_MIN 3
#define KB_RED_PROD 4
#define KB_RED_ARGMAX 5
#define KB_RED_ARGMIN 6
#ifndef KB_RED_OP
#define KB_RED_OP KB_RED_ARGMAX
#define KB_RED_RANK 3
#define KB_RED_DIM 1
#define KB_RED_NDIMS 1
#define KB_RED_KEEPDIM 0
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <type_traits>
#include "kbreed_candidate.h"
#include "../common/dtype.cuh" // kbreed:inline
#include "../common/reduce.cuh" // kbreed:inline

static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");
static_assert(PER_ROW >= 0 && PER_ROW <= 2, "PER_ROW is 0, 1 or 2");
static_assert(SPLIT == 0 || (SPLIT >= 1 && SPLIT <= 32 && (SPLIT & (SPLIT - 1)) == 0), "SPLIT");
static_assert(UNROLL >= 1 && UNROLL <= 8, "UNROLL");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(KB_RED_OP >= KB_RED_SUM && KB_RED_OP <= KB_RED_ARGMIN, "KB_RED_OP");
static_assert(KB_RED_RANK >= 1 && KB_RED_RANK <= KBREED_MAX_DIMS, "KB_RED_RANK");
static_assert(KB_RED_DIM >= 0 && KB_RED_NDIMS >= 1 && KB_RED_DIM + KB_RED_NDIMS <= KB_RED_RANK, "KB_RED_DIM");
static_assert(KB_RED_KEEPDIM == 0 || KB_RED_KEEPDIM == 1, "KB_RED_KEEPDIM");

KBREED_CANDIDATE_ABI

#define ARG (KB_RED_OP == KB_RED_ARGMAX || KB_RED_OP == KB_RED_ARGMIN)
#define NWARPS (THREADS / 32)

/* A partial result: the value so far and, for argmax/argmin, its index
 * along R (INT_MAX before any element). */
struct acc_t {
	float v;
	int i;
};

static __device__ __forceinline__ acc_t acc_init()
{
	acc_t a;
	a.i = 0x7fffffff;
#if KB_RED_OP == KB_RED_SUM || KB_RED_OP == KB_RED_MEAN
	a.v = 0.0f;
#elif KB_RED_OP == KB_RED_PROD
	a.v = 1.0f;
#elif KB_RED_OP == KB_RED_MAX || KB_RED_OP == KB_RED_ARGMAX
	a.v = -INFINITY;
#else
	a.v = INFINITY;
#endif
	return a;
}

/* a <- a combined with b. Commutative (every lane of a shuffle tree ends
 * with the same result) and, for the arg ops, order-free: NaN beats any
 * number, a strictly better value wins, equals go to the lower index. */
static __device__ __forceinline__ void merge(acc_t &a, float bv, int bi)
{
#if KB_RED_OP == KB_RED_SUM || KB_RED_OP == KB_RED_MEAN
	a.v += bv;
#elif KB_RED_OP == KB_RED_PROD
	a.v *= bv;
#elif KB_RED_OP == KB_RED_MAX
	a.v = kb_fmax_nan(a.v, bv);   /* once NaN, NaN */
#elif KB_RED_OP == KB_RED_MIN
	a.v = kb_fmin_nan(a.v, bv);
#else
	const bool bnan = bv != bv, anan = a.v != a.v;
#if KB_RED_OP == KB_RED_ARGMAX
	const bool better = bv > a.v;
#else
	const bool better = bv < a.v;
#endif
	if (better || (bnan && !anan) || ((bv == a.v || (bnan && anan)) && bi < a.i)) {
		a.v = bv;
		a.i = bi;
	}
#endif
}

/* merge as a combine op of kb_warp_reduce and kb_block_reduce
 * (templates/common/reduce.cuh), acc_init() its identity. */
struct acc_merge {
	__device__ __forceinline__ acc_t operator()(acc_t a, acc_t b) const
	{
		merge(a, b.v, b.i);
		return a;
	}
};

/* Their shuffle of an acc_t (found by argument-dependent lookup): the index
 * moves only for argmax and argmin, the only ops that read it. */
static __device__ __forceinline__ acc_t kb_shfl_xor(acc_t a, int off)
{
	acc_t b;
	b.v = __shfl_xor_sync(0xffffffffu, a.v, off);
	b.i = ARG ? __shfl_xor_sync(0xffffffffu, a.i, off) : 0;
	return b;
}

/* Writes one output: the value in x's dtype (the mean divided by R), or the
 * index as int64. */
template <typename T>
static __device__ __forceinline__ void put(T *y, int64_t *yi, int64_t o, acc_t a, int R)
{
#if ARG
	yi[o] = a.i;
#elif KB_RED_OP == KB_RED_MEAN
	y[o] = from_float<T>(a.v / (float)R);
#else
	y[o] = from_float<T>(a.v);
#endif
}

/* ---- the reduced axis innermost: a group of G threads per row ---- */

/* This thread's share of row (R elements): the scalar head up to the first
 * 4*VEC-byte boundary, the words in between, UNROLL per thread in flight,
 * then the scalar tail. */
template <typename T, int G>
static __device__ __forceinline__ acc_t row_share(const T *__restrict__ row, int R, int lane)
{
	typedef typename word_t<VEC>::T W;
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	acc_t a = acc_init();
	int head = (int)(((uintptr_t)row / sizeof(T)) % E);
	head = head ? E - head : 0;
	if (head > R)
		head = R;
	if (lane < head)
		merge(a, to_float(ld_word<STREAM>(row + lane)), lane);
	const W *w = reinterpret_cast<const W *>(row + head);
	const int nw = (R - head) / E;
	for (int k = lane; k < nw; k += G * UNROLL) {
		W r[UNROLL];
#pragma unroll
		for (int u = 0; u < UNROLL; u++)
			if (k + u * G < nw)
				r[u] = ld_word<STREAM>(w + k + u * G);
#pragma unroll
		for (int u = 0; u < UNROLL; u++) {
			if (k + u * G >= nw)
				break;
			T e[E];
			memcpy(e, &r[u], sizeof r[u]);
			const int base = head + (k + u * G) * E;
#pragma unroll
			for (int j = 0; j < E; j++)
				merge(a, to_float(e[j]), base + j);
		}
	}
	for (int i = head + nw * E + lane; i < R; i += G)
		merge(a, to_float(ld_word<STREAM>(row + i)), i);
	return a;
}

/* G = 32: a warp per row, THREADS / 32 rows per block at a time.
 * G = THREADS: the block per row. */
template <typename T, int G>
__global__ void __launch_bounds__(THREADS)
reduce_rows(const T *__restrict__ x, T *__restrict__ y, int64_t *__restrict__ yi, int64_t rows, int R)
{
	constexpr int GROUPS = THREADS / G;
	__shared__ acc_t part[NWARPS];
	const int lane = threadIdx.x % G, group = threadIdx.x / G;
	/* Every thread of the block runs the same iterations (the barriers below). */
	for (int64_t first = (int64_t)blockIdx.x * GROUPS; first < rows; first += (int64_t)gridDim.x * GROUPS) {
		const int64_t o = first + group;
		acc_t a = acc_init();
		if (o < rows)
			a = row_share<T, G>(x + o * R, R, lane);
		if (G > 32)
			a = kb_block_reduce<NWARPS>(a, part, acc_merge(), acc_init());
		else
			a = kb_warp_reduce(a, acc_merge());
		if (lane == 0 && o < rows)
			put(y, yi, o, a, R);
	}
}

/* ---- the reduced axis strided: threads along INNER, looping over R ---- */

/* E adjacent columns per thread (one word, or E = 1 when !WIDE), split
 * threads per column. A tile: (THREADS / split) * E columns of one outer
 * index; tiles = OUTER * ceil(INNER / tile). */
template <typename T, bool WIDE>
__global__ void __launch_bounds__(THREADS)
reduce_strided(const T *__restrict__ x, T *__restrict__ y, int64_t *__restrict__ yi, int64_t outer, int R,
	       int64_t inner, int split)
{
	typedef typename word_t<VEC>::T Wv;
	typedef typename std::conditional<WIDE, Wv, T>::type W;
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	__shared__ acc_t part[THREADS];
	const int cols = THREADS / split;
	const int tx = threadIdx.x % cols, ty = threadIdx.x / cols;
	const int64_t tile = (int64_t)cols * E;
	const int64_t per_outer = (inner + tile - 1) / tile;
	for (int64_t t = blockIdx.x; t < outer * per_outer; t += gridDim.x) {
		const int64_t o = t / per_outer;
		const int64_t j0 = (t % per_outer) * tile + (int64_t)tx * E;   /* WIDE: inner % E == 0 */
		const bool live = j0 < inner;
		acc_t a[E];
#pragma unroll
		for (int j = 0; j < E; j++)
			a[j] = acc_init();
		if (live) {
			const T *col = x + o * R * inner + j0;
			for (int r = ty; r < R; r += split * UNROLL) {
				W w[UNROLL];
#pragma unroll
				for (int u = 0; u < UNROLL; u++)
					if (r + u * split < R)
						w[u] = ld_word<STREAM>(reinterpret_cast<const W *>(col + (int64_t)(r + u * split) * inner));
#pragma unroll
				for (int u = 0; u < UNROLL; u++) {
					if (r + u * split >= R)
						break;
					T e[E];
					memcpy(e, &w[u], sizeof w[u]);
#pragma unroll
					for (int j = 0; j < E; j++)
						merge(a[j], to_float(e[j]), r + u * split);
				}
			}
		}
		/* The split threads of each column meet in shared memory, a
		 * column element at a time. */
		if (split > 1) {
#pragma unroll
			for (int j = 0; j < E; j++) {
				part[threadIdx.x] = a[j];
				__syncthreads();
				if (ty == 0)
					for (int s = 1; s < split; s++)
						merge(a[j], part[s * cols + tx].v, part[s * cols + tx].i);
				__syncthreads();
			}
		}
		if (ty == 0 && live) {
#pragma unroll
			for (int j = 0; j < E; j++)
				put(y, yi, o * inner + j0 + j, a[j], R);
		}
	}
}

/* ---- launch ---- */

static int64_t grid_of(int64_t items)
{
	if (items < 1)
		return 1;
	return items > 2147483647LL ? 2147483647LL : items;
}

template <typename T>
static int launch(const T *x, T *y, int64_t *yi, int64_t outer, int R, int64_t inner, cudaStream_t st)
{
	if (inner == 1) {
		typedef typename word_t<VEC>::T W;
		constexpr int E = (int)(sizeof(W) / sizeof(T));
		/* By shape: a warp when a row is a few words a lane, or when there
		 * are rows enough for every warp slot of a large GPU. */
		const bool warp = PER_ROW == 1 || (PER_ROW == 0 && ((int64_t)R <= 32LL * E * 8 || outer >= 8192));
		if (warp)
			reduce_rows<T, 32><<<(unsigned)grid_of((outer + NWARPS - 1) / NWARPS), THREADS, 0, st>>>(x, y, yi, outer, R);
		else
			reduce_rows<T, THREADS><<<(unsigned)grid_of(outer), THREADS, 0, st>>>(x, y, yi, outer, R);
	} else {
		typedef typename word_t<VEC>::T W;
		constexpr int E = (int)(sizeof(W) / sizeof(T));
		const bool wide = E > 1 && inner % E == 0 && (uintptr_t)x % sizeof(W) == 0;
		const int e = wide ? E : 1;
		int split = SPLIT;
		if (split == 0) {
			/* Halve the columns while half still cover INNER. */
			split = 1;
			while (split < 32 && (int64_t)(THREADS / (split * 2)) * e >= inner)
				split *= 2;
		}
		const int64_t tile = (int64_t)(THREADS / split) * e;
		const int64_t tiles = outer * ((inner + tile - 1) / tile);
		if (wide)
			reduce_strided<T, true><<<(unsigned)grid_of(tiles), THREADS, 0, st>>>(x, y, yi, outer, R, inner, split);
		else
			reduce_strided<T, false><<<(unsigned)grid_of(tiles), THREADS, 0, st>>>(x, y, yi, outer, R, inner, split);
	}
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (!kb_takes_dtype(x->dtype))
		return KB_ERR_SHAPE;
	if (y->dtype != (ARG ? KB_I64 : x->dtype))
		return KB_ERR_SHAPE;
	if (x->ndim != KB_RED_RANK || y->ndim != (KB_RED_KEEPDIM ? KB_RED_RANK : KB_RED_RANK - KB_RED_NDIMS))
		return KB_ERR_SHAPE;
	/* (OUTER, R, INNER), and y's shape checked against x's. */
	int64_t outer = 1, r = 1, inner = 1;
	for (int d = 0, dy = 0; d < KB_RED_RANK; d++) {
		const bool reduced = d >= KB_RED_DIM && d < KB_RED_DIM + KB_RED_NDIMS;
		if (x->shape[d] < 0)
			return KB_ERR_SHAPE;
		if (reduced)
			r *= x->shape[d];
		else if (d < KB_RED_DIM)
			outer *= x->shape[d];
		else
			inner *= x->shape[d];
		if (!reduced || KB_RED_KEEPDIM) {
			if (y->shape[dy] != (reduced ? 1 : x->shape[d]))
				return KB_ERR_SHAPE;
			dy++;
		}
	}
	if (r > (1LL << 30))
		return KB_ERR_SHAPE;   /* indices along R are ints, with room for the unrolled steps */
	if (outer * inner == 0)
		return KB_OK;
#if KB_RED_OP != KB_RED_SUM && KB_RED_OP != KB_RED_MEAN && KB_RED_OP != KB_RED_PROD
	if (r == 0)
		return KB_ERR_SHAPE;   /* torch: "Expected reduction dim to have non-zero size" */
#endif
	cudaStream_t st = (cudaStream_t)stream;
	int64_t *yi = ARG ? (int64_t *)y->data : nullptr;
	switch (x->dtype) {
	case KB_F32:
		return launch<float>((const float *)x->data, ARG ? nullptr : (float *)y->data, yi, outer, (int)r, inner, st);
#if !KB_F32_ONLY
	case KB_F16:
		return launch<__half>((const __half *)x->data, ARG ? nullptr : (__half *)y->data, yi, outer, (int)r, inner, st);
	default:
		return launch<__nv_bfloat16>((const __nv_bfloat16 *)x->data, ARG ? nullptr : (__nv_bfloat16 *)y->data, yi,
					     outer, (int)r, inner, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
