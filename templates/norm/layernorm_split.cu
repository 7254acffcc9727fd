// kbreed-template: layernorm_split
// family: norm
// problems: layernorm
// knob THREADS: 256 512 1024 | default 512 | category parallelism | threads per block
// knob VEC: 1 2 4 | default 4 | category memory access | floats per load and store (float, float2, float4)
// knob BLOCKS_PER_SM: 1 2 4 | default 1 | category parallelism | resident blocks per SM of the persistent cooperative grid (lowered to what fits)
// knob SMEM_CACHE: 0 1 | default 1 | category memory access | 1 = each block keeps its slice of the current row in shared memory (x read from DRAM once; as much of the slice as fits); 0 = the normalise step re-reads x, hoping for L2 hits
// knob HINTS: 0 1 2 | default 1 | category memory access | cache hints: 0 = none; 1 = x loaded with __ldcs and y stored with __stcs (evict-first); 2 = as 1, and weight and bias loaded under an L2 evict_last policy so they stay in L2 from row to row
// knob UNROLL: 1 2 4 | default 2 | category control flow | vectors per thread per loop iteration, all loaded before use
// knob ROWS: 1 2 | default 1 | category memory access | rows normalised per sweep over the slice: 2 reads each weight and bias vector once for two rows and meets at half the grid barriers, and holds two rows' slices in shared memory (where they do not fit, the rest of each slice is read from global memory again)
// knob BULK: 0 1 | default 0 | category asynchronous | 1 = on sm_90 and later, where the slices of a group wholly fit shared memory and rows are float4s, x arrives by bulk copies (cp.async.bulk: one thread issues, an mbarrier per piece counts the bytes), a whole slice in flight at once and no registers holding loads; each piece refilled with the next group's row as soon as it is normalised
// knob CHUNKS: 2 4 8 | default 4 | category asynchronous | BULK=1 only: pieces of a slice, each with its own mbarrier: more start the next group's load earlier in the writes, at one block barrier each
// same: SMEM_CACHE=0 BULK=1 as BULK=0
// same: BULK=0 CHUNKS=2 as CHUNKS=4
// same: BULK=0 CHUNKS=8 as CHUNKS=4
// check: ROWS=2 SMEM_CACHE=0 VEC=2
// check: BULK=1 ROWS=2 CHUNKS=8 THREADS=256
/*
 * layernorm_split.cu - nn.LayerNorm over the trailing dims, eps 1e-5, with
 * elementwise affine:  y = (x - mean) / sqrt(var + eps) * weight + bias,
 * mean and biased var over the D = numel(weight) elements of each row.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x      (R..., D0, D1, ...)  e.g. (16, 64, 256, 256): R = 16 rows
 *   in[1]  weight (D0, D1, ...)        e.g. (64, 256, 256): D = 4,194,304
 *   in[2]  bias   (D0, D1, ...)
 *   out[0] y      same shape as x
 *
 * Strategy: few, huge rows, so every row is split across the WHOLE GPU. One
 * persistent cooperative kernel (cudaLaunchCooperativeKernel, grid = SMs x
 * BLOCKS_PER_SM, checked against occupancy); block j owns the same
 * contiguous slice of D (cv vectors) in every row. The rows go in groups of
 * ROWS. Per group (rows r0 .. r0+ROWS-1):
 *   grid_barrier(); every block adds the grid's partial (s1, s2) pairs of
 *   each row of the group in double -> mean, rstd; then one fused loop over
 *   the slice (ascending on even groups, descending on odd ones: see
 *   slice_pass) normalises the group (x from shared memory) while loading
 *   the next group (into shared memory) and accumulating each of its rows'
 *   shifted sums s1 = sum(x - K), s2 = sum((x - K)^2), K = x[row, 0], in
 *   float per loop iteration and double per thread; the block's pairs go to
 *   a double-buffered scratch array (parity of the group): the call's own,
 *   2 x ROWS x grid pairs by cudaMallocAsync on its stream (every pair is
 *   written before the grid barrier that precedes its reading, so it needs
 *   no zeroing), freed by cudaFreeAsync on the stream after the kernel, so
 *   that calls on several streams at once do not share it.
 * So reads of the next group overlap the writes of this one, and x crosses
 * DRAM once where the slices fit shared memory (ROWS slots of cap vectors
 * per block; past cap, a slice's x is read from global memory again: 127 KB
 * of slice per SM for D = 4M, one row fits, two do not quite).
 * Weight and bias (32 MB for the suite problem) are read once per group:
 * they should stay in L2, but measured on an H100 (HINTS=1) they do not, and
 * 16 rows x 32 MB of re-reads make the kernel 0.43 ms against a 0.19 ms
 * floor; HINTS=2 asks L2 to keep them (evict_last policy: 0.33 ms, L2 still
 * missing about a third of them), ROWS=2 reads them half as often and meets
 * at half the grid barriers. One grid barrier per group
 * (templates/common/grid_barrier.cuh, on a word after the partials, zeroed
 * on the stream before the launch). SMEM_CACHE=0 holds nothing in shared
 * memory (cap 0). The vector path needs D % VEC == 0 and x, w, b, y aligned
 * to VEC*4 bytes; otherwise the VEC=1 instantiation runs.
 */
#ifndef THREADS
#define THREADS 512
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef BLOCKS_PER_SM
#define BLOCKS_PER_SM 1
#endif
#ifndef SMEM_CACHE
#define SMEM_CACHE 1
#endif
#ifndef HINTS
#define HINTS 1
#endif
#ifndef UNROLL
#define UNROLL 2
#endif
#ifndef ROWS
#define ROWS 1
#endif
#ifndef BULK
#define BULK 0
#endif
#ifndef CHUNKS
#define CHUNKS 4
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/reduce.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline
#include "../common/grid_barrier.cuh" // kbreed:inline
#if BULK && SMEM_CACHE
#include "../common/hopper.cuh" // kbreed:inline
#endif

static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");
static_assert(BLOCKS_PER_SM >= 1 && BLOCKS_PER_SM <= 8, "BLOCKS_PER_SM");
static_assert(SMEM_CACHE == 0 || SMEM_CACHE == 1, "SMEM_CACHE is 0 or 1");
static_assert(HINTS >= 0 && HINTS <= 2, "HINTS is 0, 1 or 2");
static_assert(UNROLL >= 1 && UNROLL <= 8, "UNROLL");
static_assert(ROWS == 1 || ROWS == 2, "ROWS is 1 or 2");
static_assert(BULK == 0 || BULK == 1, "BULK is 0 or 1");
static_assert(CHUNKS >= 1 && CHUNKS <= 8, "CHUNKS");

KBREED_CANDIDATE_ABI

#define LN_EPS 1e-5
#define NWARPS (THREADS / 32)
#define LB_MIN (BLOCKS_PER_SM * THREADS <= 2048 ? BLOCKS_PER_SM : 2048 / THREADS)
#define LN_MAX_GRID 4096
/* shared memory of an SM not for the cache, per block: the driver's 1 KB,
 * the static sh, and some slack */
#define LN_SMEM_RESERVE (1024 + NWARPS * (int)sizeof(double2) + 256)


template <int V> struct vec_t;
template <> struct vec_t<1> { typedef float T; };
template <> struct vec_t<2> { typedef float2 T; };
template <> struct vec_t<4> { typedef float4 T; };

__device__ __forceinline__ float comp(float v, int) { return v; }
__device__ __forceinline__ float comp(float2 v, int j) { return j == 0 ? v.x : v.y; }
__device__ __forceinline__ float comp(float4 v, int j)
{
	return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
}
__device__ __forceinline__ float norm1(float v, float m, float r, float w, float b)
{
	return (v - m) * r * w + b;
}
__device__ __forceinline__ float normv(float v, float m, float r, float w, float b)
{
	return norm1(v, m, r, w, b);
}
__device__ __forceinline__ float2 normv(float2 v, float m, float r, float2 w, float2 b)
{
	return make_float2(norm1(v.x, m, r, w.x, b.x), norm1(v.y, m, r, w.y, b.y));
}
__device__ __forceinline__ float4 normv(float4 v, float m, float r, float4 w, float4 b)
{
	return make_float4(norm1(v.x, m, r, w.x, b.x), norm1(v.y, m, r, w.y, b.y),
			   norm1(v.z, m, r, w.z, b.z), norm1(v.w, m, r, w.w, b.w));
}

template <typename T> __device__ __forceinline__ void store_y(T *p, T v)
{
#if HINTS >= 1
	__stcs(p, v);
#else
	*p = v;
#endif
}

/* x: read once per row (evict-first with HINTS >= 1) */
template <typename T> __device__ __forceinline__ T load_x(const T *p)
{
#if HINTS >= 1
	return __ldcs(p);
#else
	return *p;
#endif
}

/* weight and bias: read once per row, the same slice every row */
__device__ __forceinline__ uint64_t wb_policy()
{
	uint64_t pol = 0;
#if HINTS >= 2
	asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(pol));
#endif
	return pol;
}
__device__ __forceinline__ float load_wb(const float *p, uint64_t pol)
{
#if HINTS >= 2
	float v;
	asm volatile("ld.global.nc.L2::cache_hint.f32 %0, [%1], %2;" : "=f"(v) : "l"(p), "l"(pol));
	return v;
#else
	(void)pol;
	return __ldg(p);
#endif
}
__device__ __forceinline__ float2 load_wb(const float2 *p, uint64_t pol)
{
#if HINTS >= 2
	float2 v;
	asm volatile("ld.global.nc.L2::cache_hint.v2.f32 {%0, %1}, [%2], %3;"
		     : "=f"(v.x), "=f"(v.y) : "l"(p), "l"(pol));
	return v;
#else
	(void)pol;
	return __ldg(p);
#endif
}
__device__ __forceinline__ float4 load_wb(const float4 *p, uint64_t pol)
{
#if HINTS >= 2
	float4 v;
	asm volatile("ld.global.nc.L2::cache_hint.v4.f32 {%0, %1, %2, %3}, [%4], %5;"
		     : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p), "l"(pol));
	return v;
#else
	(void)pol;
	return __ldg(p);
#endif
}

/* One sweep over a block's slice: what every slice_step of it needs. The
 * group being normalised is rows r0 .. r0+kc-1 (kc <= ROWS), the next group
 * rn .. rn+kn-1 is loaded; all pointers are offset to the slice's start. */
template <int V> struct sweep_t {
	typedef typename vec_t<V>::T T;
	T *sx;                /* the cache: ROWS slots of cap vectors each */
	int cap;              /* vectors of each slot held in shared memory (0: none) */
	int n;                /* the slice's length in vectors */
	int kc, kn;           /* rows normalised and rows loaded by this sweep */
	const T *xc[ROWS];    /* x of the rows normalised */
	T *y[ROWS];           /* y of the rows normalised */
	const T *xn[ROWS];    /* x of the rows loaded */
	const T *w, *b;
	float mean[ROWS], rstd[ROWS], shift[ROWS];
};

/* UNROLL vectors per thread of one slice_pass iteration; GUARD checks i < n.
 * Vector i of row slot k lives in sx[k * cap + i] when i < cap; past cap it
 * is read again from global memory (the part of a slice that shared memory
 * cannot hold: loaded for the statistics without an evict-first hint, so
 * that the second read may still hit L2). */
template <int V, bool CACHE, bool DO_NORM, bool DO_NEXT, bool GUARD>
__device__ __forceinline__ void slice_step(const sweep_t<V> &s, int i0, double (&s1)[ROWS],
					   double (&s2)[ROWS])
{
	typedef typename vec_t<V>::T T;
	T cur[UNROLL][ROWS], nxt[UNROLL][ROWS], w[UNROLL], b[UNROLL];
	const uint64_t pol = DO_NORM ? wb_policy() : 0;
#pragma unroll
	for (int u = 0; u < UNROLL; u++) {
		const int i = i0 + u * THREADS;
		const bool held = CACHE && i < s.cap;
		if (!GUARD || i < s.n) {
#pragma unroll
			for (int k = 0; k < ROWS; k++)
				if (DO_NEXT && k < s.kn)
					nxt[u][k] = held ? load_x(s.xn[k] + i) : s.xn[k][i];
			if (DO_NORM) {
#pragma unroll
				for (int k = 0; k < ROWS; k++)
					if (k < s.kc)
						cur[u][k] = held ? s.sx[k * s.cap + i] : load_x(s.xc[k] + i);
				w[u] = load_wb(s.w + i, pol);
				b[u] = load_wb(s.b + i, pol);
			}
		}
	}
	float f1[ROWS], f2[ROWS];
#pragma unroll
	for (int k = 0; k < ROWS; k++)
		f1[k] = f2[k] = 0.0f;
#pragma unroll
	for (int u = 0; u < UNROLL; u++) {
		const int i = i0 + u * THREADS;
		const bool held = CACHE && i < s.cap;
		if (!GUARD || i < s.n) {
#pragma unroll
			for (int k = 0; k < ROWS; k++) {
				if (DO_NORM && k < s.kc)
					store_y(s.y[k] + i, normv(cur[u][k], s.mean[k], s.rstd[k], w[u], b[u]));
				if (DO_NEXT && k < s.kn) {
					if (held)
						s.sx[k * s.cap + i] = nxt[u][k];
#pragma unroll
					for (int j = 0; j < V; j++) {
						float d = comp(nxt[u][k], j) - s.shift[k];
						f1[k] += d;
						f2[k] = fmaf(d, d, f2[k]);
					}
				}
			}
		}
	}
	if (DO_NEXT) {
#pragma unroll
		for (int k = 0; k < ROWS; k++) {
			s1[k] += (double)f1[k];
			s2[k] += (double)f2[k];
		}
	}
}

/*
 * One loop over this block's slice of n vectors; thread t handles vectors
 * t, t + THREADS, ... in chunks of UNROLL, in ascending chunk order, or
 * descending when rev:
 *   DO_NORM: y of the kc rows normalised (x from shared memory up to cap,
 *            from global memory past it)
 *   DO_NEXT: x of the kn next rows loaded (into shared memory up to cap) and
 *            their shifted sums accumulated into s1, s2.
 * A thread owns the same vectors in every sweep, so its reads of a slot
 * precede its own writes of the next row into it: no barrier is needed.
 * Alternating the direction from sweep to sweep means that the weight and
 * bias lines used last by one sweep are the first the next asks for: when
 * L2 cannot hold all of weight and bias, part of them still hits, instead
 * of none under the LRU-like thrash of a cyclic sweep.
 */
template <int V, bool CACHE, bool DO_NORM, bool DO_NEXT>
__device__ __forceinline__ void slice_pass(const sweep_t<V> &s, bool rev, double (&s1)[ROWS],
					   double (&s2)[ROWS])
{
	const int t = threadIdx.x;
	const int step = UNROLL * THREADS;
	/* full chunks c (t + c*step + (UNROLL-1)*THREADS < n), then maybe a partial one */
	const int last = s.n - 1 - t - (UNROLL - 1) * THREADS;
	const int nfull = last >= 0 ? last / step + 1 : 0;
	const bool partial = t + nfull * step < s.n;
	if (!rev) {
		for (int c = 0; c < nfull; c++)
			slice_step<V, CACHE, DO_NORM, DO_NEXT, false>(s, t + c * step, s1, s2);
		if (partial)
			slice_step<V, CACHE, DO_NORM, DO_NEXT, true>(s, t + nfull * step, s1, s2);
	} else {
		if (partial)
			slice_step<V, CACHE, DO_NORM, DO_NEXT, true>(s, t + nfull * step, s1, s2);
		for (int c = nfull - 1; c >= 0; c--)
			slice_step<V, CACHE, DO_NORM, DO_NEXT, false>(s, t + c * step, s1, s2);
	}
}

/* The mean and rstd of row r (x: its start; the shift K = x[0]) from the
 * grid's G partial pairs pp[0 .. G-1] (every thread calls it: a block
 * reduction; every thread gets the result). */
__device__ __forceinline__ void row_stats(const double2 *pp, int G, const float *xr, int64_t D,
					  double2 *sh, float &mean, float &rstd)
{
	double2 a = make_double2(0.0, 0.0);
	for (int j = threadIdx.x; j < G; j += THREADS) {
		double2 p = __ldcg(pp + j);
		a.x += p.x;
		a.y += p.y;
	}
	a = kb_block_reduce<NWARPS>(a, sh, kb_sum2(), make_double2(0.0, 0.0));
	double m1 = a.x / (double)D;
	double var = a.y / (double)D - m1 * m1;
	if (var < 0.0)
		var = 0.0;
	mean = (float)((double)__ldg(xr) + m1);
	rstd = (float)(1.0 / sqrt(var + LN_EPS));
}

/* The block's (s1, s2) of each row loaded by the sweep into the partials
 * pp[k * G + blk] (every thread calls it: block reductions). */
__device__ __forceinline__ void post_sums(const double (&s1)[ROWS], const double (&s2)[ROWS],
					  int kn, double2 *sh, double2 *pp)
{
#pragma unroll
	for (int k = 0; k < ROWS; k++) {
		if (k >= kn)
			break;
		double2 t = kb_block_reduce<NWARPS>(make_double2(s1[k], s2[k]), sh, kb_sum2(),
						    make_double2(0.0, 0.0));
		if (threadIdx.x == 0)
			pp[(size_t)k * gridDim.x + blockIdx.x] = t;
	}
}

template <int V, bool CACHE>
__global__ void __launch_bounds__(THREADS, LB_MIN)
ln_coop(const float *__restrict__ x, const float *__restrict__ w,
	const float *__restrict__ b, float *__restrict__ y, int64_t R, int64_t D, int64_t cv,
	int cap, double2 *__restrict__ part, unsigned int *bar)
{
	/* part: the call's scratch, [parity][row slot][block] (s1, s2),
	 * 2 x ROWS x gridDim.x pairs; bar: the grid barrier's word, zero at the
	 * launch */
	typedef typename vec_t<V>::T T;
	extern __shared__ float4 smem_raw[];
	__shared__ double2 sh[NWARPS];
	const int G = gridDim.x, blk = blockIdx.x;
	const int64_t nv = D / V;
	const int64_t v0 = (int64_t)blk * cv < nv ? (int64_t)blk * cv : nv;
	const int64_t v1 = v0 + cv < nv ? v0 + cv : nv;
	sweep_t<V> s;
	s.sx = reinterpret_cast<T *>(smem_raw);
	s.cap = CACHE ? cap : 0;
	s.n = (int)(v1 - v0); /* slice length: < 2^31 (cv is bounded) */
	s.w = reinterpret_cast<const T *>(w) + v0;
	s.b = reinterpret_cast<const T *>(b) + v0;
#pragma unroll
	for (int k = 0; k < ROWS; k++) {
		s.xc[k] = s.xn[k] = nullptr;
		s.y[k] = nullptr;
		s.mean[k] = s.rstd[k] = s.shift[k] = 0.0f;
	}

	/* prologue: the first group's rows loaded, their sums posted (parity 0) */
	{
		double s1[ROWS] = {}, s2[ROWS] = {};
		s.kc = 0;
		s.kn = R < ROWS ? (int)R : ROWS;
#pragma unroll
		for (int k = 0; k < ROWS; k++)
			if (k < s.kn) {
				s.xn[k] = reinterpret_cast<const T *>(x + k * D) + v0;
				s.shift[k] = __ldg(x + k * D);
			}
		slice_pass<V, CACHE, false, true>(s, true, s1, s2);
		post_sums(s1, s2, s.kn, sh, part);
	}
	int64_t g = 0; /* the group: rows g*ROWS .. */
	for (int64_t r0 = 0; r0 < R; r0 += ROWS, g++) {
		grid_barrier(bar);
		/* statistics of rows r0.. from the grid's partials (parity g) */
		const double2 *pp = part + (size_t)(g & 1) * ROWS * G;
		s.kc = R - r0 < ROWS ? (int)(R - r0) : ROWS;
#pragma unroll
		for (int k = 0; k < ROWS; k++) {
			if (k >= s.kc)
				break;
			const int64_t r = r0 + k;
			row_stats(pp + (size_t)k * G, G, x + r * D, D, sh, s.mean[k], s.rstd[k]);
			s.xc[k] = reinterpret_cast<const T *>(x + r * D) + v0;
			s.y[k] = reinterpret_cast<T *>(y + r * D) + v0;
		}
		const int64_t rn = r0 + ROWS;
		s.kn = rn >= R ? 0 : R - rn < ROWS ? (int)(R - rn) : ROWS;
#pragma unroll
		for (int k = 0; k < ROWS; k++)
			if (k < s.kn) {
				s.xn[k] = reinterpret_cast<const T *>(x + (rn + k) * D) + v0;
				s.shift[k] = __ldg(x + (rn + k) * D);
			}
		double s1[ROWS] = {}, s2[ROWS] = {};
		if (s.kn > 0) {
			slice_pass<V, CACHE, true, true>(s, (g & 1) != 0, s1, s2);
			post_sums(s1, s2, s.kn, sh, part + (size_t)((g + 1) & 1) * ROWS * G);
		} else {
			slice_pass<V, CACHE, true, false>(s, (g & 1) != 0, s1, s2);
		}
	}
}

#if BULK && SMEM_CACHE
/*
 * BULK=1 (sm_90, float4 slices wholly in shared memory): the same groups,
 * statistics and writes as ln_coop, but x arrives by bulk copies
 * (cp.async.bulk: thread 0 issues, an mbarrier per piece of a row slot
 * counts the bytes), so that no register holds a load in flight and a whole
 * slice is in flight at once, where ln_coop's loop keeps UNROLL vectors per
 * thread in flight and waits a DRAM round trip for each. A slot's slice is
 * CHUNKS pieces; each piece is refilled with the next group's row as soon as
 * every thread has normalised it, so the next group's reads overlap this
 * group's writes; the sums of the next group are then taken from shared
 * memory, piece by piece as they land. Load number j of a piece completes
 * its mbarrier's phase j: the group g normalised was load g, parity g & 1.
 */
__global__ void __launch_bounds__(THREADS, LB_MIN)
ln_bulk(const float *__restrict__ x, const float *__restrict__ w, const float *__restrict__ b,
	float *__restrict__ y, int64_t R, int64_t D, int64_t cv, int cap, double2 *__restrict__ part,
	unsigned int *bar)
{
	(void)cap; /* the whole slice: cap == cv */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
	extern __shared__ __align__(128) float4 slots[]; /* ROWS slots of n float4 */
	__shared__ double2 sh[NWARPS];
	__shared__ __align__(8) uint64_t full[ROWS][CHUNKS]; /* piece c of slot k has landed */
	const int G = gridDim.x, blk = blockIdx.x, t = threadIdx.x;
	const int64_t nv = D / 4;
	const int64_t v0 = (int64_t)blk * cv < nv ? (int64_t)blk * cv : nv;
	const int64_t v1 = v0 + cv < nv ? v0 + cv : nv;
	const int n = (int)(v1 - v0);
	const int pc = (n + CHUNKS - 1) / CHUNKS; /* float4s a piece; the last ones may be short or empty */
	const float4 *wv = reinterpret_cast<const float4 *>(w) + v0;
	const float4 *bv = reinterpret_cast<const float4 *>(b) + v0;
	const uint64_t policy = l2_evict_first();
	if (t == 0) {
		for (int k = 0; k < ROWS; k++)
			for (int c = 0; c < CHUNKS; c++)
				mbar_init(smem_u32(&full[k][c]), 1);
		asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
		asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
	}
	__syncthreads();
	/* Thread 0: piece c of row r into slot k. */
	auto refill = [&](int k, int64_t r, int c) {
		const int lo = c * pc, hi = min(lo + pc, n);
		if (lo >= hi)
			return;
		const uint32_t mb = smem_u32(&full[k][c]), bytes = (uint32_t)(hi - lo) * 16u;
		mbar_arrive_expect_tx(mb, bytes);
		bulk_load(smem_u32(slots + (size_t)k * n + lo), x + r * D + 4 * (v0 + lo), bytes, mb, policy);
	};
	/* The block's sums of the kn rows from rn in their slots (load parity
	 * par), posted to pp: every thread calls it. */
	auto take_sums = [&](int64_t rn, int kn, uint32_t par, double2 *pp) {
		double s1[ROWS] = {}, s2[ROWS] = {};
#pragma unroll
		for (int k = 0; k < ROWS; k++) {
			if (k >= kn)
				break;
			const float K = __ldg(x + (rn + k) * D);
			for (int c = 0; c < CHUNKS; c++) {
				const int lo = c * pc, hi = min(lo + pc, n);
				if (lo >= hi)
					break;
				mbar_wait(smem_u32(&full[k][c]), par);
				float f1 = 0.0f, f2 = 0.0f;
				for (int i = lo + t; i < hi; i += THREADS) {
					const float4 v = slots[(size_t)k * n + i];
					const float d0 = v.x - K, d1 = v.y - K, d2 = v.z - K, d3 = v.w - K;
					f1 += (d0 + d1) + (d2 + d3);
					f2 = fmaf(d0, d0, fmaf(d1, d1, fmaf(d2, d2, fmaf(d3, d3, f2))));
				}
				s1[k] += (double)f1;
				s2[k] += (double)f2;
			}
		}
		post_sums(s1, s2, kn, sh, pp);
	};

	/* prologue: the first group loaded, its sums posted (parity 0) */
	const int k0 = R < ROWS ? (int)R : ROWS;
	if (t == 0)
		for (int k = 0; k < k0; k++)
			for (int c = 0; c < CHUNKS; c++)
				refill(k, k, c);
	take_sums(0, k0, 0u, part);
	int64_t g = 0;
	for (int64_t r0 = 0; r0 < R; r0 += ROWS, g++) {
		grid_barrier(bar);
		const double2 *pp = part + (size_t)(g & 1) * ROWS * G;
		const int kc = R - r0 < ROWS ? (int)(R - r0) : ROWS;
		float mean[ROWS], rstd[ROWS];
#pragma unroll
		for (int k = 0; k < ROWS; k++) {
			mean[k] = rstd[k] = 0.0f;
			if (k >= kc)
				break;
			row_stats(pp + (size_t)k * G, G, x + (r0 + k) * D, D, sh, mean[k], rstd[k]);
		}
		const int64_t rn = r0 + ROWS;
		const int kn = rn >= R ? 0 : R - rn < ROWS ? (int)(R - rn) : ROWS;
		const uint64_t pol = wb_policy();
		/* the pieces in ascending order on even groups, descending on odd
		 * ones (weight and bias lines last used are asked for first) */
		for (int cc = 0; cc < CHUNKS; cc++) {
			const int c = (g & 1) ? CHUNKS - 1 - cc : cc;
			const int lo = c * pc, hi = min(lo + pc, n);
			if (lo >= hi)
				continue;
			for (int i0 = lo + t; i0 < hi; i0 += UNROLL * THREADS) {
				float4 wu[UNROLL], bu[UNROLL];
#pragma unroll
				for (int u = 0; u < UNROLL; u++) {
					const int i = i0 + u * THREADS;
					if (i < hi) {
						wu[u] = load_wb(wv + i, pol);
						bu[u] = load_wb(bv + i, pol);
					}
				}
#pragma unroll
				for (int u = 0; u < UNROLL; u++) {
					const int i = i0 + u * THREADS;
					if (i >= hi)
						break;
#pragma unroll
					for (int k = 0; k < ROWS; k++)
						if (k < kc)
							store_y(reinterpret_cast<float4 *>(y + (r0 + k) * D) + v0 + i,
								normv(slots[(size_t)k * n + i], mean[k], rstd[k],
								      wu[u], bu[u]));
				}
			}
			if (kn > 0) {
				__syncthreads(); /* every thread is done reading piece c */
				if (t == 0) {
					asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
					for (int k = 0; k < kn; k++)
						refill(k, rn + k, c);
				}
			}
		}
		if (kn > 0)
			take_sums(rn, kn, (uint32_t)((g + 1) & 1), part + (size_t)((g + 1) & 1) * ROWS * G);
	}
#else
	__trap(); /* launched only on sm_90 and later */
#endif
}
#endif

static int g_sms = 0, g_optin = 0, g_per_sm = 0, g_major = 0;

typedef void (*ln_kernel)(const float *, const float *, const float *, float *, int64_t, int64_t,
			  int64_t, int, double2 *, unsigned int *);

/* kern on G blocks, with the call's own partials (2 x ROWS x G pairs) and
 * barrier word, allocated, zeroed (the word) and freed on st. */
static int launch(ln_kernel kern, const float *x, const float *w, const float *b, float *y,
		  int64_t R, int64_t D, int G, int64_t cv, int cap, size_t smem, cudaStream_t st)
{
	double2 *part = NULL;
	int rc = KB_OK;
	const size_t pairs = 2 * (size_t)ROWS * G;
	kb_keep_pool_mapped();
	if (cudaMallocAsync((void **)&part, pairs * sizeof(double2) + sizeof(double2), st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	unsigned int *bar = reinterpret_cast<unsigned int *>(part + pairs);
	void *args[] = {(void *)&x, (void *)&w, (void *)&b, (void *)&y, (void *)&R,
			(void *)&D, (void *)&cv, (void *)&cap, (void *)&part, (void *)&bar};
	cudaError_t e = cudaMemsetAsync(bar, 0, sizeof *bar, st);
	if (e == cudaSuccess)
		e = cudaLaunchCooperativeKernel((const void *)kern, dim3(G), dim3(THREADS), args, smem, st);
	if (e != cudaSuccess || cudaGetLastError() != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	if (cudaFreeAsync(part, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}

/* The grid of BLOCKS_PER_SM down to 1 blocks per SM whose blocks' shared
 * memory (a share of the SM's) holds the most of x: ROWS slots of cap
 * vectors of V floats, cap up to the slice; the most blocks per SM among
 * equals. With whole, only grids whose slices fit whole count. Returns the
 * blocks (0: none fits), with the slice's vectors and cap. */
static int64_t pick_grid(ln_kernel kern, int V, int64_t nv, bool whole, int64_t *cv_out, int *cap_out)
{
	int64_t want = (nv + THREADS - 1) / THREADS; /* no more blocks than useful */
	if (want < 1)
		want = 1;
	int64_t bestG = 0, bestheld = 0;
	for (int bps = BLOCKS_PER_SM; bps >= 1; bps--) {
		int64_t G = (int64_t)g_sms * bps;
		if (G > want)
			G = want;
		if (G > LN_MAX_GRID)
			G = LN_MAX_GRID;
		const int64_t cv = (nv + G - 1) / G;
		int64_t budget = g_per_sm / bps - LN_SMEM_RESERVE;
		if (budget > g_optin)
			budget = g_optin;
		int64_t cap = budget / ((int64_t)ROWS * V * (int64_t)sizeof(float));
		if (cap > cv)
			cap = cv;
		if (cap < 1 || (whole && cap < cv))
			continue;
		int nb = 0;
		if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(
			    &nb, kern, THREADS, (size_t)cap * ROWS * V * sizeof(float)) != cudaSuccess)
			return -1;
		if ((int64_t)nb * g_sms >= G && cap * G > bestheld) {
			bestG = G;
			bestheld = cap * G;
			*cv_out = cv;
			*cap_out = (int)cap;
		}
	}
	return bestG;
}

/* Whether a kernel may use up to g_optin bytes of dynamic shared memory
 * (asked once per kernel). */
static bool allow_smem(ln_kernel kern, bool *asked)
{
	if (!*asked) {
		if (cudaFuncSetAttribute((const void *)kern, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 g_optin) != cudaSuccess)
			return false;
		*asked = true;
	}
	return true;
}

template <int V>
static int run(const float *x, const float *w, const float *b, float *y, int64_t R,
	       int64_t D, cudaStream_t st)
{
	const int64_t nv = D / V;
	int64_t cv = 0, G = 0;
	int cap = 0;
#if SMEM_CACHE
#if BULK && SMEM_CACHE
	if (V == 4 && g_major >= 9) {
		static bool asked = false;
		if (!allow_smem(ln_bulk, &asked))
			return KB_ERR_LAUNCH;
		G = pick_grid(ln_bulk, 4, nv, true, &cv, &cap);
		if (G < 0)
			return KB_ERR_LAUNCH;
		if (G > 0)
			return launch(ln_bulk, x, w, b, y, R, D, (int)G, cv, cap,
				      (size_t)cap * ROWS * 4 * sizeof(float), st);
	}
#endif
	{
		static bool asked = false;
		if (!allow_smem(ln_coop<V, true>, &asked))
			return KB_ERR_LAUNCH;
		G = pick_grid(ln_coop<V, true>, V, nv, false, &cv, &cap);
		if (G < 0)
			return KB_ERR_LAUNCH;
		if (G > 0)
			return launch(ln_coop<V, true>, x, w, b, y, R, D, (int)G, cv, cap,
				      (size_t)cap * ROWS * V * sizeof(float), st);
	}
#endif
	int nb = 0;
	if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&nb, ln_coop<V, false>, THREADS, 0) !=
		    cudaSuccess || nb < 1)
		return KB_ERR_LAUNCH;
	int64_t want = (nv + THREADS - 1) / THREADS;
	G = (int64_t)g_sms * (nb < BLOCKS_PER_SM ? nb : BLOCKS_PER_SM);
	if (G > want)
		G = want;
	if (G > LN_MAX_GRID)
		G = LN_MAX_GRID;   /* G >= 1: nv >= 1 (D >= 1, V divides it) and nb >= 1 */
	cv = (nv + G - 1) / G;
	return launch(ln_coop<V, false>, x, w, b, y, R, D, (int)G, cv, 0, 0, st);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 3 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *w = &in[1], *b = &in[2];
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || w->dtype != KB_F32 || b->dtype != KB_F32 ||
	    y->dtype != KB_F32)
		return KB_ERR_SHAPE;
	if (w->ndim < 1 || x->ndim < w->ndim || x->ndim > KBREED_MAX_DIMS ||
	    b->ndim != w->ndim || y->ndim != x->ndim)
		return KB_ERR_SHAPE;
	int lead = x->ndim - w->ndim;
	for (int i = 0; i < w->ndim; i++)
		if (x->shape[lead + i] != w->shape[i] || b->shape[i] != w->shape[i])
			return KB_ERR_SHAPE;
	if (!kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	int64_t D = kb_numel(w);
	int64_t N = kb_numel(x);
	if (N == 0)
		return KB_OK;
	if (D == 0)
		return KB_ERR_SHAPE;
	int64_t R = N / D;
	if (g_sms == 0) {
		int dev = 0, coop = 0;
		g_sms = kb_sm_count();
		if (g_sms == 0 || cudaGetDevice(&dev) != cudaSuccess ||
		    cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev) != cudaSuccess ||
		    !coop ||
		    cudaDeviceGetAttribute(&g_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) !=
			    cudaSuccess ||
		    cudaDeviceGetAttribute(&g_per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev) !=
			    cudaSuccess ||
		    cudaDeviceGetAttribute(&g_major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
			g_sms = 0;
			return KB_ERR_LAUNCH;
		}
		/* leave room for the static shared memory (sh, BULK's mbarriers) */
		g_optin -= (int)(NWARPS * sizeof(double2) + 256);
	}
	const float *xp = (const float *)x->data, *wp = (const float *)w->data;
	const float *bp = (const float *)b->data;
	float *yp = (float *)y->data;
	cudaStream_t st = (cudaStream_t)stream;
	const uintptr_t al = VEC * 4;
	if (VEC > 1 && D % VEC == 0 && (uintptr_t)xp % al == 0 && (uintptr_t)wp % al == 0 &&
	    (uintptr_t)bp % al == 0 && (uintptr_t)yp % al == 0)
		return run<VEC>(xp, wp, bp, yp, R, D, st);
	return run<1>(xp, wp, bp, yp, R, D, st);
}
