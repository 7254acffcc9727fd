// vec_map.cuh - the bandwidth loop of the elementwise templates (gelu_vec,
// pointwise_vec), written once:
//   word_t<V>::T                  a word of 4 * V bytes: float, float2, float4
//                                 (from dtype.cuh, which this file pulls in)
//   vec_ld<S>(p), vec_st<S>(p, v) one load / store; S = 1 adds streaming
//                                 (evict-first) cache hints, __ldcs / __stcs
//   vec_map<NT, NI, S, W>(x, y, n, fw, fe)
//                                 y = f(x) over n elements of T, read as words W
//                                 (E = sizeof(W) / sizeof(T) elements each):
//                                 fw(W) -> W computes one word, fe(T) -> T one element
//
// vec_map's layout: the n / E words are split into chunks of NT * NI; each
// thread of an NT-thread block loads NI words NT apart (block-strided, so
// every load instruction is coalesced across the warp), all of them before
// it computes and stores any; the grid strides over the chunks, so any grid
// size covers all of x. The n % E tail elements are done by the first E
// threads of the grid. x and y must be aligned to sizeof(W).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_VEC_MAP_CUH
#define KBREED_COMMON_VEC_MAP_CUH

#include <stdint.h>
#include "dtype.cuh" // kbreed:inline

template <bool S, typename W> static __device__ __forceinline__ W vec_ld(const W *p)
{
	if (S)
		return __ldcs(p);
	return *p;
}

template <bool S, typename W> static __device__ __forceinline__ void vec_st(W *p, W v)
{
	if (S)
		__stcs(p, v);
	else
		*p = v;
}

template <int NT, int NI, bool S, typename W, typename T, typename FW, typename FE>
static __device__ __forceinline__ void vec_map(const T *__restrict__ x, T *__restrict__ y, int64_t n,
					       FW fw, FE fe)
{
	static_assert(sizeof(W) % sizeof(T) == 0, "a word holds whole elements");
	constexpr int E = sizeof(W) / sizeof(T);
	const W *xw = reinterpret_cast<const W *>(x);
	W *yw = reinterpret_cast<W *>(y);
	const int64_t nw = n / E;
	const int64_t chunk = (int64_t)NT * NI;
	const int64_t step = (int64_t)gridDim.x * chunk;
	for (int64_t base = (int64_t)blockIdx.x * chunk + threadIdx.x; base < nw; base += step) {
		W r[NI];
		if (base + (NI - 1) * NT < nw) {
#pragma unroll
			for (int k = 0; k < NI; k++)
				r[k] = vec_ld<S>(xw + base + k * NT);
#pragma unroll
			for (int k = 0; k < NI; k++)
				vec_st<S>(yw + base + k * NT, fw(r[k]));
		} else {
#pragma unroll
			for (int k = 0; k < NI; k++)
				if (base + k * NT < nw)
					r[k] = vec_ld<S>(xw + base + k * NT);
#pragma unroll
			for (int k = 0; k < NI; k++)
				if (base + k * NT < nw)
					vec_st<S>(yw + base + k * NT, fw(r[k]));
		}
	}
	/* the n % E tail */
	if (E > 1) {
		int64_t t = (int64_t)blockIdx.x * NT + threadIdx.x;
		int64_t i = nw * E + t;
		if (t < E && i < n)
			y[i] = fe(x[i]);
	}
}

#endif
