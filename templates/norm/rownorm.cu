// kbreed-template: rownorm
// family: norm
// problems: l1norm l2norm
// requires: NORM_ROW_P
// knob THREADS: 128 256 512 1024 | default 512 | category parallelism | threads per block
// knob VEC: 1 2 4 | default 4 | category memory access | elements per load and store (4 floats = 16 bytes, 4 halves = 8 bytes)
// knob PER_ROW: 0 1 2 | default 0 | category parallelism | reduced dim innermost: threads per row, 0 = by shape (a warp for rows of up to 32 x VEC x CACHE elements, else the block), 1 = a warp, 2 = the whole block
// knob CACHE: 0 4 8 16 | default 8 | category memory access | vectors per thread kept in registers between the sum and the division (x read once where the row fits); the rest of a longer row is read again
// knob STREAM: 0 1 | default 0 | category memory access | 1 = x loaded and y stored with evict-first hints (__ldcs, __stcs)
/*
 * rownorm.cu - x divided by its L1 or L2 norm over one dim, keepdim:
 *   NORM_ROW_P 1:  y = x / sum(|x|, dim, keepdim=True)       (l1norm)
 *   NORM_ROW_P 2:  y = x / sqrt(sum(x^2, dim, keepdim=True)) (l2norm,
 *                  torch.norm(x, p=2, dim, keepdim=True))
 * The problem's defines, written by recognition (src/recognize.c), say
 * which and over what: NORM_ROW_P (written only where the graph is exactly
 * that: no eps, no clamp), NORM_DIM (negative counts from the end);
 * compiled on its own it is the L2 norm over dim 1.
 *
 * Layout (contiguous, row-major; fp32, fp16 or bf16):
 *   in[0]  x  (OUTER, R, INNER) seen through its shape: R = shape[dim]
 *             e.g. (16, 16384): OUTER 16, R 16384, INNER 1
 *   out[0] y  same shape and dtype
 *
 * Strategy, INNER == 1 (the reduced dim innermost: a row per warp or per
 * block, PER_ROW): the group walks its row with VEC-wide loads, the head up
 * to the first aligned element and the tail one element at a time (any R,
 * any row start), keeping the first CACHE vectors of each thread in
 * registers; the sum (|x| or x^2, float) meets by shuffles and, for a
 * block, through shared memory; then each thread divides what it holds and
 * re-reads only what did not fit. Rows grid-stride.
 * Strategy, INNER > 1 (the reduced dim strided): a thread per column
 * (o, i), adjacent threads on adjacent i (coalesced), sums down R, then
 * walks R again dividing (the second read mostly from L2).
 * As torch: the sum in float, rounded to x's dtype (torch's sum and norm
 * return x's dtype) before the IEEE division x / s; a zero row gives NaN
 * (0 / 0), a NaN in the row NaN.
 */
#ifndef THREADS
#define THREADS 512
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef PER_ROW
#define PER_ROW 0
#endif
#ifndef CACHE
#define CACHE 8
#endif
#ifndef STREAM
#define STREAM 0
#endif
#ifndef NORM_ROW_P
#define NORM_ROW_P 2
#endif
#ifndef NORM_DIM
#define NORM_DIM 1
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "kbreed_candidate.h"
#include "../common/dtype.cuh" // kbreed:inline
#include "../common/reduce.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

static_assert(THREADS % 32 == 0 && THREADS >= 128 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC is 1, 2 or 4");
static_assert(PER_ROW >= 0 && PER_ROW <= 2, "PER_ROW is 0, 1 or 2");
static_assert(CACHE >= 0 && CACHE <= 32, "CACHE");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(NORM_ROW_P == 1 || NORM_ROW_P == 2, "NORM_ROW_P is 1 or 2");

KBREED_CANDIDATE_ABI

#define NWARPS (THREADS / 32)
#define NCACHE (CACHE > 0 ? CACHE : 1) /* the register array's extent */

/* V elements of T in one aligned access. */
template <typename T, int V> struct alignas(sizeof(T) * V) pack_t {
	T v[V];
};

template <typename T, int V> static __device__ __forceinline__ pack_t<T, V> ld_pack(const pack_t<T, V> *p)
{
	typedef typename raw_t<(int)sizeof(pack_t<T, V>)>::T R;
	const R r = ld_word<(bool)STREAM>(reinterpret_cast<const R *>(p));
	pack_t<T, V> v;
	memcpy(&v, &r, sizeof v);
	return v;
}
template <typename T, int V> static __device__ __forceinline__ void st_pack(pack_t<T, V> *p, const pack_t<T, V> &v)
{
	typedef typename raw_t<(int)sizeof(pack_t<T, V>)>::T R;
	R r;
	memcpy(&r, &v, sizeof r);
	st_word<(bool)STREAM>(reinterpret_cast<R *>(p), r);
}

/* One element's term of the norm. */
static __device__ __forceinline__ float term(float v)
{
	return NORM_ROW_P == 1 ? fabsf(v) : v * v;
}

/* The norm from the sum of terms, kept in fp32 (T's range is not enough:
 * the L1 norm of fp16 rows of values near 1e3 passes 65504; the reference is
 * computed in fp32 too). */
template <typename T> static __device__ __forceinline__ float finish(float s)
{
	return NORM_ROW_P == 2 ? sqrtf(s) : s;
}

/* Rows innermost. A group of NT threads (a warp, or the block when NT is
 * THREADS) per row; rows grid-stride over groups. V: the vector width (1
 * where x or y is not aligned). */
template <typename T, int V, int NT>
__global__ void __launch_bounds__(THREADS) rows_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t rows,
						       int64_t R)
{
	__shared__ float warp_part[NWARPS];
	const int lane = NT == THREADS ? threadIdx.x : threadIdx.x & 31;
	const int64_t per_block = THREADS / NT;
	const int64_t first = (int64_t)blockIdx.x * per_block + (NT == THREADS ? 0 : threadIdx.x / 32);
	for (int64_t r = first; r < rows; r += (int64_t)gridDim.x * per_block) {
		const T *xr = x + r * R;
		T *yr = y + r * R;
		int64_t h = V > 1 ? (V - (r * R) % V) % V : 0; /* elements before the first aligned one */
		if (h > R)
			h = R;
		const int64_t nv = (R - h) / V, t0 = h + nv * V; /* the tail: [t0, R) */
		const pack_t<T, V> *xv = reinterpret_cast<const pack_t<T, V> *>(xr + h);
		pack_t<T, V> *yv = reinterpret_cast<pack_t<T, V> *>(yr + h);
		float s = 0.f, head = 0.f, tail = 0.f;
		if (lane < h) {
			head = to_float(xr[lane]);
			s += term(head);
		}
		if (t0 + lane < R) {
			tail = to_float(xr[t0 + lane]);
			s += term(tail);
		}
		pack_t<T, V> w[NCACHE];
#pragma unroll
		for (int k = 0; k < CACHE; k++) {
			const int64_t i = lane + (int64_t)k * NT;
			if (i < nv)
				w[k] = ld_pack(xv + i);
		}
#pragma unroll
		for (int k = 0; k < CACHE; k++) {
			const int64_t i = lane + (int64_t)k * NT;
			if (i < nv)
#pragma unroll
				for (int e = 0; e < V; e++)
					s += term(to_float(w[k].v[e]));
		}
		for (int64_t i = lane + (int64_t)CACHE * NT; i < nv; i += NT) {
			const pack_t<T, V> u = ld_pack(xv + i);
#pragma unroll
			for (int e = 0; e < V; e++)
				s += term(to_float(u.v[e]));
		}
		/* the same tree, so the same bits, in every thread of the group;
		 * the block's reduction leaves warp_part free for the next row */
		if (NT == THREADS)
			s = kb_block_reduce<NWARPS>(s, warp_part, kb_sum(), 0.f);
		else
			s = kb_warp_reduce(s, kb_sum());
		const float n = finish<T>(s);
		if (lane < h)
			yr[lane] = from_float<T>(head / n);
		if (t0 + lane < R)
			yr[t0 + lane] = from_float<T>(tail / n);
#pragma unroll
		for (int k = 0; k < CACHE; k++) {
			const int64_t i = lane + (int64_t)k * NT;
			if (i < nv) {
#pragma unroll
				for (int e = 0; e < V; e++)
					w[k].v[e] = from_float<T>(to_float(w[k].v[e]) / n);
				st_pack(yv + i, w[k]);
			}
		}
		for (int64_t i = lane + (int64_t)CACHE * NT; i < nv; i += NT) {
			pack_t<T, V> u = ld_pack(xv + i);
#pragma unroll
			for (int e = 0; e < V; e++)
				u.v[e] = from_float<T>(to_float(u.v[e]) / n);
			st_pack(yv + i, u);
		}
	}
}

/* The reduced dim strided: a thread per column (o, i) of OUTER x INNER. */
template <typename T>
__global__ void __launch_bounds__(THREADS) cols_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t outer,
						       int64_t R, int64_t inner)
{
	const int64_t cols = outer * inner;
	for (int64_t c = (int64_t)blockIdx.x * THREADS + threadIdx.x; c < cols; c += (int64_t)gridDim.x * THREADS) {
		const int64_t o = c / inner, i = c % inner;
		const T *xc = x + o * R * inner + i;
		T *yc = y + o * R * inner + i;
		float s = 0.f;
		for (int64_t k = 0; k < R; k++)
			s += term(to_float(xc[k * inner]));
		const float n = finish<T>(s);
		for (int64_t k = 0; k < R; k++)
			yc[k * inner] = from_float<T>(to_float(xc[k * inner]) / n);
	}
}

static int g_sms = 0;

template <typename T, int V>
static int launch_rows(const T *x, T *y, int64_t rows, int64_t R, cudaStream_t st)
{
	const bool warp = PER_ROW == 1 || (PER_ROW == 0 && R <= 32LL * V * (CACHE > 0 ? CACHE : 4));
	const int64_t per_block = warp ? THREADS / 32 : 1, wave = (int64_t)g_sms * (2048 / THREADS) * 8;
	int64_t blocks = (rows + per_block - 1) / per_block;
	if (blocks > wave)
		blocks = wave;
	if (warp)
		rows_kernel<T, V, 32><<<(unsigned)blocks, THREADS, 0, st>>>(x, y, rows, R);
	else
		rows_kernel<T, V, THREADS><<<(unsigned)blocks, THREADS, 0, st>>>(x, y, rows, R);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

template <typename T>
static int run(const void *xp, void *yp, int64_t outer, int64_t R, int64_t inner, cudaStream_t st)
{
	const T *x = (const T *)xp;
	T *y = (T *)yp;
	if (inner > 1) {
		const int64_t cols = outer * inner, wave = (int64_t)g_sms * (2048 / THREADS) * 8;
		int64_t blocks = (cols + THREADS - 1) / THREADS;
		if (blocks > wave)
			blocks = wave;
		cols_kernel<T><<<(unsigned)blocks, THREADS, 0, st>>>(x, y, outer, R, inner);
		return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
	}
	const size_t align = sizeof(T) * VEC;
	if ((uintptr_t)x % align == 0 && (uintptr_t)y % align == 0)
		return launch_rows<T, VEC>(x, y, outer, R, st);
	return launch_rows<T, 1>(x, y, outer, R, st);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (!kb_same_shape(x, y) || x->dtype != y->dtype ||
	    !kb_takes_dtype(x->dtype))
		return KB_ERR_SHAPE;
	const int dim = NORM_DIM < 0 ? NORM_DIM + x->ndim : NORM_DIM;
	if (dim < 0 || dim >= x->ndim)
		return KB_ERR_SHAPE;
	int64_t outer = 1, inner = 1;
	for (int i = 0; i < dim; i++)
		outer *= x->shape[i];
	for (int i = dim + 1; i < x->ndim; i++)
		inner *= x->shape[i];
	const int64_t R = x->shape[dim];
	if (outer * R * inner == 0)
		return KB_OK;
	if (g_sms == 0)
		g_sms = kb_sm_count();
	if (g_sms == 0)
		return KB_ERR_LAUNCH;
	cudaStream_t st = (cudaStream_t)stream;
#if !KB_F32_ONLY
	if (x->dtype == KB_F16)
		return run<__half>(x->data, y->data, outer, R, inner, st);
	if (x->dtype == KB_BF16)
		return run<__nv_bfloat16>(x->data, y->data, outer, R, inner, st);
#endif
	return run<float>(x->data, y->data, outer, R, inner, st);
}
