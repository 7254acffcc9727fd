// kbreed-template: gelu_vec
// family: elementwise
// problems: gelu
// knob THREADS: 64 128 256 512 1024 | default 512 | category parallelism | threads per block
// knob VEC: 1 2 4 | default 4 | category memory access | floats per load and store (float, float2, float4)
// knob ITEMS: 1 2 4 8 | default 1 | category control flow | vectors per thread per iteration, all loaded before any is computed
// knob GRID: 0 1 | default 0 | category parallelism | 0 = one thread per ITEMS vectors (grid covers all), 1 = grid-stride with a persistent grid of SMs x resident blocks
// knob STREAM: 0 1 | default 0 | category memory access | 1 = streaming cache hints (__ldcs loads, __stcs stores)
/*
 * gelu_vec.cu - exact GELU, y = 0.5 * x * (1 + erf(x / sqrt(2))), fp32, any
 * shape (flattened to n elements), as F.gelu(x) with approximate='none'.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  any shape, n = numel elements    e.g. (4096, 65536)
 *   out[0] y  same shape
 *
 * Strategy: pure bandwidth (the loop: templates/common/vec_map.cuh). The
 * flattened array is split into n / VEC
 * vectors; each thread loads ITEMS vectors (block-strided so every load
 * instruction is coalesced across the warp), then computes and stores them.
 * GRID=0 launches enough blocks for one pass (capped; the kernel still
 * grid-strides if the cap is hit), GRID=1 a persistent grid sized by the
 * occupancy calculator. STREAM=1 marks loads and stores evict-first.
 * The vector path needs x and y aligned to VEC*4 bytes; otherwise the
 * scalar (V=1) instantiation runs. The n % VEC tail elements are done by
 * the first threads of the grid. erff() (not a fast-math intrinsic) keeps
 * the result within a few ulp of the float64 reference. No scratch memory.
 * Measured on an H100 (4096 x 65536, eager 0.715 ms): 0.721 ms with
 * THREADS=512 ITEMS=1, 0.725 ms with THREADS=256 ITEMS=2, 0.73-0.74 ms with
 * ITEMS=4 or STREAM=1, 0.76-0.78 ms with GRID=1.
 */
#ifndef THREADS
#define THREADS 512
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef ITEMS
#define ITEMS 1
#endif
#ifndef GRID
#define GRID 0
#endif
#ifndef STREAM
#define STREAM 0
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"

static_assert(THREADS % 32 == 0 && THREADS >= 32 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");
static_assert(ITEMS >= 1 && ITEMS <= 8, "ITEMS");
static_assert(GRID == 0 || GRID == 1, "GRID is 0 or 1");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");

KBREED_CANDIDATE_ABI

#include "../common/vec_map.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

__device__ __forceinline__ float gelu1(float x)
{
	return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f));
}
__device__ __forceinline__ float gelu_v(float v) { return gelu1(v); }
__device__ __forceinline__ float2 gelu_v(float2 v)
{
	return make_float2(gelu1(v.x), gelu1(v.y));
}
__device__ __forceinline__ float4 gelu_v(float4 v)
{
	return make_float4(gelu1(v.x), gelu1(v.y), gelu1(v.z), gelu1(v.w));
}

template <int V>
__global__ void __launch_bounds__(THREADS)
gelu_kernel(const float *__restrict__ x, float *__restrict__ y, int64_t n)
{
	typedef typename word_t<V>::T W;
	vec_map<THREADS, ITEMS, STREAM, W>(x, y, n, [](W w) { return gelu_v(w); },
					   [](float v) { return gelu1(v); });
}

template <int V> static int launch(const float *x, float *y, int64_t n, cudaStream_t s)
{
	const int64_t chunk = (int64_t)THREADS * ITEMS;
	int64_t nv = n / V;
	int64_t blocks = (nv + chunk - 1) / chunk;
	if (blocks < 1)
		blocks = 1;
#if GRID
	{
		static int cached_grid = 0;
		if (cached_grid == 0) {
			const int sms = kb_sm_count();
			int per = 0;
			if (sms == 0 ||
			    cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, gelu_kernel<V>, THREADS, 0) != cudaSuccess)
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
	gelu_kernel<V><<<(unsigned)blocks, THREADS, 0, s>>>(x, y, n);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
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
	if (!kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	int64_t n = kb_numel(x);
	if (n == 0)
		return KB_OK;
	const float *xp = (const float *)x->data;
	float *yp = (float *)y->data;
	cudaStream_t s = (cudaStream_t)stream;
	if (VEC > 1 && ((uintptr_t)xp % (VEC * 4)) == 0 && ((uintptr_t)yp % (VEC * 4)) == 0)
		return launch<VEC>(xp, yp, n, s);
	return launch<1>(xp, yp, n, s);
}
