// kbreed-template: softmax_online
// family: softmax
// problems: softmax log_softmax
// knob THREADS: 256 512 1024 | default 1024 | category parallelism | threads per block (one block works on one row at a time)
// knob VEC: 1 2 4 | default 4 | category memory access | floats per load and store (float, float2, float4)
// knob ONLINE: 0 1 | default 1 | category memory access | 1 = one read pass computing max and rescaled sum together, 0 = a max pass then a sum pass (the row is read three times)
// knob STREAM_STORES: 0 1 | default 1 | category memory access | 1 = y written with __stcs (evict-first) so the outputs do not push rows out of L2
// knob BLOCKS_PER_SM: 0 1 2 | default 0 | category parallelism | 0 = one block per row; k = persistent grid of SMs*k blocks looping over rows (bounds the rows in flight, hence the L2 footprint of the re-read)
// knob SMEM_KB: 0 96 200 | default 0 | category memory access | KB of shared memory per block holding the start of the row between the passes (each thread keeps the vectors it loaded), so only the rest is re-read from L2
// knob SPLIT: 0 1 2 4 8 | default 0 | category parallelism | strided axis (I > 1): threads of a 256-thread block sharing one column (b, i), each taking every SPLIT-th step of L; 0 = by shape (more where the columns are too few to fill the GPU)
/*
 * softmax_online.cu - torch.softmax(x, dim) and torch.log_softmax(x, dim),
 * fp32, along any dim.
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is a
 * softmax over dim 1:
 *   SOFTMAX_DIM  the softmax dim (negative: counted from the end)
 *   SOFTMAX_LOG  1 = log_softmax: y = x - max - log(sum exp(x - max))
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  (outer..., L, inner...)   e.g. (4096, 65536): B = 4096 rows of L = 65536
 *   out[0] y  same shape
 * B = product of the dims before SOFTMAX_DIM, L = its extent, I = product
 * of the dims after it (1 when it is the last). Element (b, l, i) lives at
 * (b * L + l) * I + i.
 *
 * Strategy, I == 1 (the fast path): a block owns a row. Pass 1 reads the
 * row once with VEC-wide loads and keeps a per-thread running (max, sum of
 * exp(x - max)) pair, rescaling the sum when the max grows (ONLINE=1), or
 * takes the max in one pass and the sum in a second (ONLINE=0); the pairs are
 * merged across the warp by shuffles and across the block through shared
 * memory. Pass 2 re-reads the row and writes exp(x - max) / sum. The re-read
 * was meant to hit in L2, but measured on an H100 with 4096 x 65536 it does
 * not (1.05 ms, about three DRAM passes, for a 0.72 ms floor): the rows in
 * flight (256 KB each, one or more per SM) overflow what L2 keeps. SMEM_KB
 * > 0 keeps the first SMEM_KB KB of the row's vectors in shared memory,
 * written in pass 1 and read in pass 2 by the thread that loaded them (no
 * extra barrier), so pass 2 re-reads only the rest: 56 KB a row with 200 KB,
 * which with one block per SM fits L2 comfortably (untested on a GPU when
 * written). Rows whose start is not aligned to
 * VEC*4 bytes are split into a scalar head, a vector body and a scalar tail,
 * provided x and y rows share the same misalignment; otherwise the scalar
 * path runs. BLOCKS_PER_SM > 0 runs a persistent grid (SMs x k blocks, capped
 * by occupancy) so that at most SMs*k rows are in flight.
 * I > 1 (the strided path): a column (b, i) is the L elements I apart;
 * neighbouring threads take neighbouring columns, so each step of a warp
 * reads one contiguous run of I. A column is walked by SPLIT threads of the
 * block, each with an online (max, sum) pair over every SPLIT-th element
 * (four loads in flight); the pairs meet in shared memory in a fixed order,
 * and a second pass writes the column. Two reads and one write of x in all.
 * expf() throughout (no fast-math intrinsics). No scratch memory.
 * Rows of -inf give NaN (exp(-inf - -inf)), as PyTorch's softmax does.
 */
#ifndef THREADS
#define THREADS 1024
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef ONLINE
#define ONLINE 1
#endif
#ifndef STREAM_STORES
#define STREAM_STORES 1
#endif
#ifndef BLOCKS_PER_SM
#define BLOCKS_PER_SM 0
#endif
#ifndef SMEM_KB
#define SMEM_KB 0
#endif
#ifndef SPLIT
#define SPLIT 0
#endif
#ifndef SOFTMAX_DIM
#define SOFTMAX_DIM 1
#endif
#ifndef SOFTMAX_LOG
#define SOFTMAX_LOG 0
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/softmax_stats.cuh" // kbreed:inline
#include "../common/reduce.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");
static_assert(ONLINE == 0 || ONLINE == 1, "ONLINE is 0 or 1");
static_assert(STREAM_STORES == 0 || STREAM_STORES == 1, "STREAM_STORES is 0 or 1");
static_assert(BLOCKS_PER_SM >= 0 && BLOCKS_PER_SM <= 8, "BLOCKS_PER_SM");
static_assert(SMEM_KB >= 0 && SMEM_KB <= 227, "SMEM_KB");
static_assert(SPLIT == 0 || SPLIT == 1 || SPLIT == 2 || SPLIT == 4 || SPLIT == 8, "SPLIT");
static_assert(SOFTMAX_LOG == 0 || SOFTMAX_LOG == 1, "SOFTMAX_LOG is 0 or 1");

KBREED_CANDIDATE_ABI

#define NWARPS (THREADS / 32)
/* register budget: persistent grids promise BLOCKS_PER_SM resident blocks */
#define LB_MIN (BLOCKS_PER_SM > 0 ? BLOCKS_PER_SM : 1)

template <typename T> __device__ __forceinline__ void store_y(T *p, T v)
{
#if STREAM_STORES
	__stcs(p, v);
#else
	*p = v;
#endif
}

/*
 * Visit the row xr[0, L) as: scalar head of h elements, vector body of nv
 * vectors, scalar tail. f(float v, int64_t i) for scalars and
 * fv(T v, int64_t i) for vectors starting at element i.
 * Body vector k (0 <= k < nv) is always visited by thread k % THREADS, so a
 * thread finds in the shared-memory cache sc[k] (k < nc) what it stored:
 * MODE 0 reads global memory, MODE 1 reads it and stores vectors k < nc to
 * sc, MODE 2 takes vectors k < nc from sc and the rest from global memory.
 */
template <int V, int MODE, typename FS, typename FV>
__device__ __forceinline__ void visit(const float *xr, int64_t h, int64_t nv,
				      int64_t L, typename vec_t<V>::T *sc, int64_t nc,
				      FS fs, FV fv)
{
	typedef typename vec_t<V>::T T;
	int t = threadIdx.x;
	if (t < h)
		fs(xr[t], (int64_t)t);
	const T *xv = reinterpret_cast<const T *>(xr + h);
	auto get = [&](int64_t k) -> T {
		if (MODE == 2 && k < nc)
			return sc[k];
		return xv[k];
	};
	auto put = [&](int64_t k, const T &a) {
		if (MODE == 1 && k < nc)
			sc[k] = a;
	};
	int64_t i = t;
	/* four vectors in flight per thread where possible */
	for (; i + 3 * THREADS < nv; i += 4 * THREADS) {
		T a = get(i), b = get(i + THREADS), c = get(i + 2 * THREADS), d = get(i + 3 * THREADS);
		put(i, a);
		put(i + THREADS, b);
		put(i + 2 * THREADS, c);
		put(i + 3 * THREADS, d);
		fv(a, h + i * V);
		fv(b, h + (i + THREADS) * V);
		fv(c, h + (i + 2 * THREADS) * V);
		fv(d, h + (i + 3 * THREADS) * V);
	}
	for (; i < nv; i += THREADS) {
		T a = get(i);
		put(i, a);
		fv(a, h + i * V);
	}
	int64_t tail0 = h + nv * V;
	if (tail0 + t < L)
		fs(xr[tail0 + t], tail0 + t);
}

template <int V>
__global__ void __launch_bounds__(THREADS, LB_MIN)
softmax_rows(const float *__restrict__ x, float *__restrict__ y, int64_t B, int64_t L,
	     int64_t nc)
{
	typedef typename vec_t<V>::T T;
	__shared__ float2 sh[32];
	extern __shared__ float4 sm_cache[]; /* nc vectors (nc = 0: none) */
	T *sc = reinterpret_cast<T *>(sm_cache);
	constexpr int M1 = SMEM_KB > 0 ? 1 : 0; /* first pass: fill the cache */
	constexpr int M2 = SMEM_KB > 0 ? 2 : 0; /* later passes: use it */
	for (int64_t r = blockIdx.x; r < B; r += gridDim.x) {
		const float *xr = x + r * L;
		float *yr = y + r * L;
		int64_t h = 0;
		if (V > 1) {
			uintptr_t a = (uintptr_t)xr % (V * 4);
			h = a ? (int64_t)((V * 4 - a) / 4) : 0;
			if (h > L)
				h = L;
		}
		int64_t nv = (L - h) / V;

		float m = -INFINITY, s = 0.0f;
#if ONLINE
		visit<V, M1>(xr, h, nv, L, sc, nc,
			 [&](float v, int64_t) { ms_push(m, s, v); },
			 [&](const T &v, int64_t) { ms_push_vec(m, s, v); });
		block_ms<NWARPS>(m, s, sh);
#else
		visit<V, M1>(xr, h, nv, L, sc, nc,
			 [&](float v, int64_t) { m = fmaxf(m, v); },
			 [&](const T &v, int64_t) {
#pragma unroll
				 for (int j = 0; j < V; j++)
					 m = fmaxf(m, comp(v, j));
			 });
		m = kb_block_reduce<NWARPS>(m, (float *)sh, kb_fmax(), -INFINITY);
		visit<V, M2>(xr, h, nv, L, sc, nc,
			 [&](float v, int64_t) { s += expf(v - m); },
			 [&](const T &v, int64_t) {
				 float acc = 0.0f;
#pragma unroll
				 for (int j = 0; j < V; j++)
					 acc += expf(comp(v, j) - m);
				 s += acc;
			 });
		s = kb_block_reduce<NWARPS>(s, (float *)sh, kb_sum(), 0.0f);
#endif
		const float inv = SOFTMAX_LOG ? logf(s) : 1.0f / s;
		const float mm = m;
		T *yv = reinterpret_cast<T *>(yr + h);
		visit<V, M2>(xr, h, nv, L, sc, nc,
			 [&](float v, int64_t i) { store_y(yr + i, sm_out<SOFTMAX_LOG>(v, mm, inv)); },
			 [&](const T &v, int64_t i) {
				 T o;
#pragma unroll
				 for (int j = 0; j < V; j++)
					 setcomp(o, j, sm_out<SOFTMAX_LOG>(comp(v, j), mm, inv));
				 store_y(yv + (i - h) / V, o);
			 });
	}
}

/* The strided path (I > 1): SPL threads per column, 256 / SPL columns a block. */
#define STRIDED_THREADS 256
template <int SPL>
__global__ void __launch_bounds__(STRIDED_THREADS, 4)
softmax_strided(const float *__restrict__ x, float *__restrict__ y, int64_t B, int64_t L, int64_t I)
{
	constexpr int CW = STRIDED_THREADS / SPL; /* columns a block */
	__shared__ float2 part[SPL][CW];
	const int tx = threadIdx.x % CW, ty = threadIdx.x / CW;
	const int64_t lines = B * I;
	for (int64_t c0 = (int64_t)blockIdx.x * CW; c0 < lines; c0 += (int64_t)gridDim.x * CW) {
		const int64_t t = c0 + tx;
		const bool live = t < lines;
		const int64_t b = live ? t / I : 0, i = live ? t - b * I : 0;
		const float *xl = x + b * L * I + i;
		float *yl = y + b * L * I + i;
		float m = -INFINITY, s = 0.0f;
		if (live) {
			int64_t l = ty;
			for (; l + 3 * SPL < L; l += 4 * SPL) {
				float a = xl[l * I], c = xl[(l + SPL) * I];
				float d = xl[(l + 2 * SPL) * I], e = xl[(l + 3 * SPL) * I];
				ms_push(m, s, a);
				ms_push(m, s, c);
				ms_push(m, s, d);
				ms_push(m, s, e);
			}
			for (; l < L; l += SPL)
				ms_push(m, s, xl[l * I]);
		}
		if (SPL > 1) {
			/* every thread of the column merges the same pairs in the
			 * same order, so all get the same (m, s) */
			part[ty][tx] = make_float2(m, s);
			__syncthreads();
			m = -INFINITY;
			s = 0.0f;
#pragma unroll
			for (int k = 0; k < SPL; k++)
				ms_merge(m, s, part[k][tx].x, part[k][tx].y);
			__syncthreads(); /* part reused by the next columns */
		}
		if (!live)
			continue;
		const float inv = SOFTMAX_LOG ? logf(s) : 1.0f / s;
		int64_t l = ty;
		for (; l + 3 * SPL < L; l += 4 * SPL) {
			float a = xl[l * I], c = xl[(l + SPL) * I];
			float d = xl[(l + 2 * SPL) * I], e = xl[(l + 3 * SPL) * I];
			store_y(yl + l * I, sm_out<SOFTMAX_LOG>(a, m, inv));
			store_y(yl + (l + SPL) * I, sm_out<SOFTMAX_LOG>(c, m, inv));
			store_y(yl + (l + 2 * SPL) * I, sm_out<SOFTMAX_LOG>(d, m, inv));
			store_y(yl + (l + 3 * SPL) * I, sm_out<SOFTMAX_LOG>(e, m, inv));
		}
		for (; l < L; l += SPL)
			store_y(yl + l * I, sm_out<SOFTMAX_LOG>(xl[l * I], m, inv));
	}
}

static int g_sms = 0, g_optin = 0;

/* The SM count and the shared memory a block may opt into, once. */
static int device_props(void)
{
	if (g_sms == 0) {
		int dev = 0;
		g_sms = kb_sm_count();
		if (g_sms == 0 || cudaGetDevice(&dev) != cudaSuccess ||
		    cudaDeviceGetAttribute(&g_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) !=
			    cudaSuccess) {
			g_sms = 0;
			return KB_ERR_LAUNCH;
		}
		g_optin -= 1024; /* the static shared memory (sh) and some slack */
	}
	return KB_OK;
}

template <int V> static int launch_rows(const float *x, float *y, int64_t B, int64_t L,
					cudaStream_t st)
{
	typedef typename vec_t<V>::T T;
	if (device_props() != KB_OK)
		return KB_ERR_LAUNCH;
	size_t smem = 0;
	int64_t nc = 0;
#if SMEM_KB > 0
	{
		static bool attr = false;
		size_t cap = (size_t)SMEM_KB * 1024;
		if (cap > (size_t)g_optin)
			cap = (size_t)g_optin;
		if (!attr) {
			if (cudaFuncSetAttribute((const void *)softmax_rows<V>,
						 cudaFuncAttributeMaxDynamicSharedMemorySize, (int)cap) !=
			    cudaSuccess)
				return KB_ERR_LAUNCH;
			attr = true;
		}
		/* no more than a row's worth of vectors */
		int64_t want = L / V + 1;
		nc = (int64_t)(cap / sizeof(T));
		if (nc > want)
			nc = want;
		smem = (size_t)nc * sizeof(T);
	}
#endif
	int64_t grid = B;
#if BLOCKS_PER_SM > 0
	{
		int per = 0;
		if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, softmax_rows<V>, THREADS, smem) !=
		    cudaSuccess)
			return KB_ERR_LAUNCH;
		if (per < 1)
			per = 1;
		int64_t cap = (int64_t)g_sms * (per < BLOCKS_PER_SM ? per : BLOCKS_PER_SM);
		if (grid > cap)
			grid = cap;
	}
#endif
	if (grid > 2147483647LL)
		grid = 2147483647LL;
	softmax_rows<V><<<(unsigned)grid, THREADS, smem, st>>>(x, y, B, L, nc);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

/* The strided path; SPLIT = 0 picks the threads per column by shape: more
 * while the columns leave the GPU short of threads (2048 an SM) and each
 * thread still has at least 8 steps of L. */
static int launch_strided(const float *x, float *y, int64_t B, int64_t L, int64_t I,
			  cudaStream_t st)
{
	if (device_props() != KB_OK)
		return KB_ERR_LAUNCH;
	int64_t lines = B * I;
	int spl = SPLIT;
	if (spl == 0) {
		spl = 1;
		while (spl < 8 && lines * spl < (int64_t)g_sms * 2048 && L >= 16 * spl)
			spl *= 2;
	}
	int64_t cw = STRIDED_THREADS / spl;
	int64_t blocks = (lines + cw - 1) / cw;
	unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
	switch (spl) {
	case 1: softmax_strided<1><<<grid, STRIDED_THREADS, 0, st>>>(x, y, B, L, I); break;
	case 2: softmax_strided<2><<<grid, STRIDED_THREADS, 0, st>>>(x, y, B, L, I); break;
	case 4: softmax_strided<4><<<grid, STRIDED_THREADS, 0, st>>>(x, y, B, L, I); break;
	default: softmax_strided<8><<<grid, STRIDED_THREADS, 0, st>>>(x, y, B, L, I); break;
	}
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	int64_t B, L, I;
	if (softmax_shape(in, n_in, out, n_out, &B, &L, &I))
		return KB_ERR_SHAPE;
	if (B == 0 || L == 0 || I == 0)
		return KB_OK;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	const float *xp = (const float *)x->data;
	float *yp = (float *)y->data;
	cudaStream_t st = (cudaStream_t)stream;
	if (I == 1) {
		/* vector path: x and y rows share their misalignment (mod VEC*4) */
		if (VEC > 1 && ((uintptr_t)xp % (VEC * 4)) == ((uintptr_t)yp % (VEC * 4)))
			return launch_rows<VEC>(xp, yp, B, L, st);
		return launch_rows<1>(xp, yp, B, L, st);
	}
	return launch_strided(xp, yp, B, L, I, st);
}
