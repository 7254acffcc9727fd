// kbreed-template: pointwise_vec
// family: elementwise
// problems: *
// requires: KB_PW_BODY
// knob THREADS: 64 128 256 512 1024 | default 256 | category parallelism | threads per block
// knob VEC: 1 2 4 | default 4 | category memory access | 4-byte words per load and store (4, 8 or 16 bytes: 1, 2 or 4 floats, 2, 4 or 8 halves)
// knob ITEMS: 1 2 4 8 | default 2 | category control flow | vectors per thread per iteration, all loaded before any is computed
// knob GRID: 0 1 | default 0 | category parallelism | 0 = one thread per ITEMS vectors (grid covers all), 1 = grid-stride with a persistent grid of SMs x resident blocks
// knob STREAM: 0 1 | default 0 | category memory access | 1 = streaming cache hints (__ldcs loads, __stcs stores)
/*
 * pointwise_vec.cu - any pure pointwise problem, y = f(x, s...), fp32, fp16
 * or bf16, any shape (flattened to n elements).
 *
 * f is the problem's own op graph: recognition writes it as the statements
 * of KB_PW_BODY (src/pointwise.c) among the problem's defines, which come
 * before this file; `problems: *` with `requires: KB_PW_BODY` offers the
 * template to exactly the problems that have one. Compiled on its own, f is
 * ReLU.
 *
 * Layout (contiguous, row-major):
 *   in[KB_PW_MAIN]  x  any shape, n elements, fp32 / fp16 / bf16
 *   in[k], k != KB_PW_MAIN   one element each (a 0-d tensor: a scale, a
 *                    threshold), any ABI dtype, read once per thread
 *   out[0]          y  x's shape and dtype
 *
 * Strategy: pure bandwidth (the loop: templates/common/vec_map.cuh). The
 * flattened array is read as 4*VEC-byte words
 * (float, float2, float4: 4*VEC/sizeof(T) elements each); each thread loads
 * ITEMS words (block-strided, so every load instruction is coalesced), then
 * computes f in float on every element and stores. Half types are widened
 * to float and rounded once at the store. GRID=0 launches one pass (the
 * kernel still grid-strides past the launch cap), GRID=1 a persistent grid
 * sized by the occupancy calculator. STREAM=1 marks loads and stores
 * evict-first. Unaligned x or y run the one-element instantiation; the
 * n % elements-per-word tail is done by the first threads of the grid.
 */
#ifndef THREADS
#define THREADS 256
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef ITEMS
#define ITEMS 2
#endif
#ifndef GRID
#define GRID 0
#endif
#ifndef STREAM
#define STREAM 0
#endif
#ifndef KB_PW_BODY
#define KB_PW_NIN 1
#define KB_PW_MAIN 0
#define KB_PW_BODY real t0; { real x0 = v; t0 = (x0 != x0 ? x0 : (x0 > (real)0 ? x0 : (real)0)); } return t0;
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <type_traits>
#include "kbreed_candidate.h"
#include "../common/dtype.cuh" // kbreed:inline

static_assert(THREADS % 32 == 0 && THREADS >= 32 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");
static_assert(ITEMS >= 1 && ITEMS <= 8, "ITEMS");
static_assert(GRID == 0 || GRID == 1, "GRID is 0 or 1");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(KB_PW_NIN >= 1 && KB_PW_NIN <= 4 && KB_PW_MAIN >= 0 && KB_PW_MAIN < KB_PW_NIN, "KB_PW_NIN");

KBREED_CANDIDATE_ABI

#include "../common/vec_map.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

typedef float real;

/* The problem's expression: v is an element of x, s[k] the value of input k. */
static __device__ __forceinline__ real kb_pw(real v, const real *s)
{
	(void)s;
	KB_PW_BODY
}

/* The one-element inputs: pointers and ABI dtypes, by value. */
struct scalars {
	const void *p[KB_PW_NIN];
	int dtype[KB_PW_NIN];
};

static __device__ real load_scalar(const void *p, int dtype)
{
	switch (dtype) {
	case KB_F32: return *(const float *)p;
#if !KB_F32_ONLY
	case KB_F16: return __half2float(*(const __half *)p);
	case KB_BF16: return __bfloat162float(*(const __nv_bfloat16 *)p);
#endif
	case KB_F64: return (real)*(const double *)p;
	case KB_I32: return (real)*(const int32_t *)p;
	case KB_I64: return (real)*(const int64_t *)p;
	case KB_BOOL: return *(const bool *)p ? (real)1 : (real)0;
	default: return (real)NAN;
	}
}

/* f on every element of one word of T. */
template <typename T, typename W> static __device__ __forceinline__ W apply(W w, const real *s)
{
	constexpr int E = sizeof(W) / sizeof(T);
	T e[E];
	memcpy(e, &w, sizeof w);
#pragma unroll
	for (int j = 0; j < E; j++)
		e[j] = from_float<T>(kb_pw(to_float(e[j]), s));
	memcpy(&w, e, sizeof w);
	return w;
}

/* WIDE: x and y read as words of 4 * VEC bytes; else one T at a time. */
template <typename T, bool WIDE>
__global__ void __launch_bounds__(THREADS)
pointwise_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t n, scalars sc)
{
	typedef typename word_t<VEC>::T Wv;
	typedef typename std::conditional<WIDE, Wv, T>::type W;
	real s[KB_PW_NIN];
#pragma unroll
	for (int k = 0; k < KB_PW_NIN; k++)
		s[k] = k == KB_PW_MAIN ? (real)0 : load_scalar(sc.p[k], sc.dtype[k]);
	vec_map<THREADS, ITEMS, STREAM, W>(x, y, n, [&](W w) { return apply<T>(w, s); },
					   [&](T v) { return from_float<T>(kb_pw(to_float(v), s)); });
}

template <typename T, bool WIDE>
static int launch(const T *x, T *y, int64_t n, const scalars &sc, cudaStream_t st)
{
	constexpr int E = WIDE ? 4 * VEC / (int)sizeof(T) : 1;
	const int64_t chunk = (int64_t)THREADS * ITEMS;
	int64_t blocks = (n / E + chunk - 1) / chunk;
	if (blocks < 1)
		blocks = 1;
#if GRID
	{
		static int cached_grid = 0;
		if (cached_grid == 0) {
			const int sms = kb_sm_count();
			int per = 0;
			if (sms == 0 ||
			    cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, pointwise_kernel<T, WIDE>, THREADS, 0) != cudaSuccess)
				return KB_ERR_LAUNCH;
			cached_grid = sms * (per > 0 ? per : 1);
		}
		if (blocks > cached_grid)
			blocks = cached_grid;
	}
#else
	if (blocks > 2147483647LL)
		blocks = 2147483647LL;
#endif
	pointwise_kernel<T, WIDE><<<(unsigned)blocks, THREADS, 0, st>>>(x, y, n, sc);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

template <typename T>
static int run(const kb_tensor *x, kb_tensor *y, int64_t n, const scalars &sc, cudaStream_t st)
{
	const T *xp = (const T *)x->data;
	T *yp = (T *)y->data;
	if (((uintptr_t)xp % (4 * VEC)) == 0 && ((uintptr_t)yp % (4 * VEC)) == 0)
		return launch<T, true>(xp, yp, n, sc, st);
	return launch<T, false>(xp, yp, n, sc, st);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != KB_PW_NIN || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[KB_PW_MAIN];
	kb_tensor *y = &out[0];
	if (x->dtype != y->dtype || !kb_takes_dtype(x->dtype))
		return KB_ERR_SHAPE;
	if (!kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	scalars sc;
	memset(&sc, 0, sizeof sc);
	for (int k = 0; k < KB_PW_NIN; k++) {
		if (k == KB_PW_MAIN)
			continue;
		if (kb_numel(&in[k]) != 1 || !in[k].data)
			return KB_ERR_SHAPE;
		sc.p[k] = in[k].data;
		sc.dtype[k] = in[k].dtype;
	}
	int64_t n = kb_numel(x);
	if (n == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	switch (x->dtype) {
	case KB_F32: return run<float>(x, y, n, sc, st);
#if !KB_F32_ONLY
	case KB_F16: return run<__half>(x, y, n, sc, st);
	default: return run<__nv_bfloat16>(x, y, n, sc, st);
#else
	default: return KB_ERR_SHAPE;
#endif
	}
}
