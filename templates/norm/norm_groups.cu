// kbreed-template: norm_groups
// family: norm
// problems: batchnorm instancenorm groupnorm
// knob THREADS: 128 256 512 | default 256 | category parallelism | threads per block, in both passes
// knob VEC: 1 2 4 | default 4 | category memory access | elements per load and store (4 floats = 16 bytes, 4 halves = 8 bytes)
// knob SPLIT: 0 1 4 16 64 | default 0 | category parallelism | blocks sharing one group's statistics: 0 = by shape (enough blocks to fill the GPU when groups are few and large), else that many (capped by the group's size)
// knob STATS: 0 1 2 | default 0 | category data type and precision | statistics per thread: 0 = shifted sums in float per loop step, double per thread; 1 = shifted sums in double throughout; 2 = Welford (count, mean, M2) in float per thread
// knob UNROLL: 1 2 4 | default 2 | category asynchronous operations and latency hiding | vectors each thread has in flight before it uses any, in both passes
// knob STREAM: 0 1 | default 0 | category memory access | 1 = the normalise pass loads x and stores y with evict-first hints (__ldcs, __stcs); 0 = plain, so that x may still be in L2 from the statistics pass
/*
 * norm_groups.cu - the normalisations whose statistics are over groups of
 * channels and positions: batch norm, instance norm and group norm,
 *   y = (x - mean_g) / sqrt(var_g + eps) * weight[c] + bias[c],
 * mean and biased var over the elements of group g, weight and bias per
 * channel c (1 and 0 where the module has none).
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say which; compiled on its own it is a batch norm in
 * training mode:
 *   NORM_GROUPS    group norm with this many groups (nn.GroupNorm): a group
 *                  is (n, g), C / NORM_GROUPS channels x all positions
 *   NORM_INSTANCE  instance norm (nn.InstanceNorm1d/2d/3d): a group is one
 *                  (n, c), its positions the last NORM_INSTANCE dims of x
 *   neither        batch norm (nn.BatchNorm1d/2d/3d): a group is channel c,
 *                  over every n and position
 *   NORM_TRAINING  batch norm: 1 = the batch's statistics (training mode);
 *                  0 = the running statistics (eval mode, one pass)
 *   NORM_EPS       eps (default 1e-5)
 *
 * Layout (contiguous, row-major):
 *   in[0]  x  (N, C, spatial...) e.g. (16, 64, 256, 256); fp32, fp16 or
 *             bf16. S = the product of the spatial dims (1 for (N, C)).
 *   then, as the module has them (named_parameters, then named_buffers):
 *          weight (C), bias (C)                   affine
 *          running_mean (C), running_var (C),     batch norm's and instance
 *          num_batches_tracked (int64 scalar)     norm's tracked statistics
 *             (read by batch norm in eval mode only)
 *   out[0] y  same shape and dtype as x
 * Weight, bias and the running statistics may be fp32 or x's dtype.
 * A row is the S contiguous elements of one (n, c): rows r = n * C + c. The
 * group of row r: c (batch), r (instance), r / (C / G) (group norm).
 *
 * Strategy, two passes (one in eval mode):
 *   Statistics: grid (groups, P); block (g, j) takes the j-th of P equal
 *   ranges of group g's elements (N segments of S for batch norm, one run
 *   of S or C/G x S otherwise), walking each contiguous run with VEC-wide
 *   loads (head and tail one element at a time, so any S works), UNROLL
 *   vectors in flight. It sums s1 = sum(x - K), s2 = sum((x - K)^2) about
 *   K = the group's first element (STATS 0/1), or keeps Welford's (n,
 *   mean, M2) and turns it into those sums at the end (STATS 2); the
 *   block's sums meet in double by a fixed shuffle tree. With P > 1 each
 *   block leaves its pair in scratch and the last block of the group to
 *   finish (atomic ticket) adds the P pairs in the same fixed order
 *   whoever it is: the result does not depend on timing. The group's
 *   (mean, rstd) go to scratch too.
 *   Normalise: rows of at least THREADS x VEC elements take a grid (rows,
 *   chunks); the block reads its row's channel parameters once and streams
 *   its chunk. Shorter rows take a flat grid-stride loop, a vector at a
 *   time (a row index per vector). The vector path needs S % VEC == 0 and
 *   x, y aligned; otherwise the VEC = 1 instantiation runs.
 * P is chosen by shape with SPLIT = 0: groups x P about one wave of
 * resident blocks, each block at least 4 x THREADS x VEC x UNROLL
 * elements (batch norm over 16 x 64 x 256 x 256: 64 groups of 1M
 * elements, some 16 blocks each). Scratch is the call's own: one
 * cudaMallocAsync on its stream ([pairs][stats][tickets]), the tickets
 * zeroed there by cudaMemsetAsync, freed by cudaFreeAsync on the stream
 * after the normalise pass, so that calls on several streams at once do
 * not share it; at most 2^20 groups and 2^18 partial pairs (P is lowered
 * to fit); more groups are refused. Eval-mode batch norm takes none.
 * var is clamped at 0; a NaN in a group makes its outputs NaN.
 * Runs shorter than a block (batch norm with S of a few elements,
 * BatchNorm1d on (N, C)) are not walked run by run, which would leave most
 * threads idle: the block's threads stride over its range element by
 * element, each finding its run by a division (scattered loads; a layout
 * with threads across channels for such shapes is not written yet).
 */
#ifndef THREADS
#define THREADS 256
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef SPLIT
#define SPLIT 0
#endif
#ifndef STATS
#define STATS 0
#endif
#ifndef UNROLL
#define UNROLL 2
#endif
#ifndef STREAM
#define STREAM 0
#endif
#ifndef NORM_EPS
#define NORM_EPS 1e-5
#endif
#ifndef NORM_TRAINING
#define NORM_TRAINING 1
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "kbreed_candidate.h"
#include "../common/dtype.cuh" // kbreed:inline
#include "../common/reduce.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

static_assert(THREADS == 128 || THREADS == 256 || THREADS == 512, "THREADS is 128, 256 or 512");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC is 1, 2 or 4");
static_assert(SPLIT >= 0 && SPLIT <= 1024, "SPLIT");
static_assert(STATS >= 0 && STATS <= 2, "STATS is 0, 1 or 2");
static_assert(UNROLL >= 1 && UNROLL <= 8, "UNROLL");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
#if defined(NORM_GROUPS) && defined(NORM_INSTANCE)
#error "NORM_GROUPS and NORM_INSTANCE exclude each other"
#endif
#ifdef NORM_GROUPS
static_assert(NORM_GROUPS >= 1, "NORM_GROUPS");
#endif
#ifdef NORM_INSTANCE
static_assert(NORM_INSTANCE >= 1, "NORM_INSTANCE");
#endif

KBREED_CANDIDATE_ABI

#define NG_MAX_GROUPS (1 << 20)
#define NG_MAX_PARTS (1 << 18)
#define NWARPS (THREADS / 32)


/* V elements of T in one aligned access. */
template <typename T, int V> struct alignas(sizeof(T) * V) pack_t {
	T v[V];
};

/* One element of a parameter tensor that is fp32 or x's dtype. */
static __device__ __forceinline__ float ld_param(const void *p, int dtype, int64_t i)
{
#if !KB_F32_ONLY
	if (dtype == KB_F16)
		return __half2float(((const __half *)p)[i]);
	if (dtype == KB_BF16)
		return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
#endif
	return ((const float *)p)[i];
}

/* A thread's statistics of the values it saw, about the shift K. */
struct acc_t {
#if STATS == 2
	int n;
	float mean, m2;
#elif STATS == 1
	double s1, s2;
#else
	double s1, s2; /* per thread */
	float f1, f2;  /* per loop step */
#endif
};

static __device__ __forceinline__ void acc_init(acc_t &a)
{
#if STATS == 2
	a.n = 0;
	a.mean = 0.f;
	a.m2 = 0.f;
#elif STATS == 1
	a.s1 = a.s2 = 0.0;
#else
	a.s1 = a.s2 = 0.0;
	a.f1 = a.f2 = 0.f;
#endif
}

static __device__ __forceinline__ void acc_add(acc_t &a, float v, float k)
{
#if STATS == 2
	(void)k;
	a.n++;
	const float d = v - a.mean;
	a.mean += d / (float)a.n;
	a.m2 += d * (v - a.mean);
#elif STATS == 1
	const double d = (double)v - (double)k;
	a.s1 += d;
	a.s2 += d * d;
#else
	const float d = v - k;
	a.f1 += d;
	a.f2 += d * d;
#endif
}

/* The end of a loop step: STATS 0 moves its float sums into double. */
static __device__ __forceinline__ void acc_step(acc_t &a)
{
#if STATS == 0
	a.s1 += a.f1;
	a.s2 += a.f2;
	a.f1 = a.f2 = 0.f;
#else
	(void)a;
#endif
}

/* The thread's (s1, s2) about K, in double. */
static __device__ __forceinline__ double2 acc_sums(const acc_t &a, float k)
{
#if STATS == 2
	const double d = (double)a.mean - (double)k;
	return a.n ? make_double2(a.n * d, (double)a.m2 + a.n * d * d) : make_double2(0.0, 0.0);
#else
	(void)k;
	return make_double2(a.s1, a.s2);
#endif
}

/* Adds elements [a0, a1) of the run p (element a at p[a], p - x0 elements
 * from x's start) to the thread's statistics: a head one element at a time
 * up to the first VEC-aligned element, whole vectors, then the tail. */
template <typename T, int V>
static __device__ __forceinline__ void run_stats(const T *__restrict__ p, int64_t at, int64_t a0, int64_t a1,
						 float k, acc_t &acc)
{
	if (V > 1) {
		int64_t h = (V - (at + a0) % V) % V; /* elements before the first aligned one */
		if (h > a1 - a0)
			h = a1 - a0;
		if (threadIdx.x < h)
			acc_add(acc, to_float(p[a0 + threadIdx.x]), k);
		a0 += h;
	}
	const int64_t nv = (a1 - a0) / V;
	const pack_t<T, V> *pv = reinterpret_cast<const pack_t<T, V> *>(p + a0);
	int64_t i = threadIdx.x;
	for (; i + (UNROLL - 1) * THREADS < nv; i += UNROLL * THREADS) {
		pack_t<T, V> w[UNROLL];
#pragma unroll
		for (int u = 0; u < UNROLL; u++)
			w[u] = pv[i + u * THREADS];
#pragma unroll
		for (int u = 0; u < UNROLL; u++)
#pragma unroll
			for (int e = 0; e < V; e++)
				acc_add(acc, to_float(w[u].v[e]), k);
		acc_step(acc);
	}
	for (; i < nv; i += THREADS) {
		const pack_t<T, V> w = pv[i];
#pragma unroll
		for (int e = 0; e < V; e++)
			acc_add(acc, to_float(w.v[e]), k);
	}
	for (int64_t t = a0 + nv * V + threadIdx.x; t < a1; t += THREADS)
		acc_add(acc, to_float(p[t]), k);
	acc_step(acc);
}

/* Where a group lies: `segs` runs of L elements, run k of group g at
 * x + g * gstride + k * segstride; M = segs * L elements. */
struct groups_t {
	int64_t segs, L, segstride, gstride, M;
	int P;       /* blocks per group */
	double eps;
	/* The call's scratch (see the top). */
	float2 *stats;    /* per group: (mean, rstd) */
	double2 *part;    /* [group][block]: (s1, s2); P > 1 only */
	unsigned *ticket; /* per group: its blocks done, zeroed before; P > 1 only */
};

/* Statistics of group blockIdx.x, block blockIdx.y of P: (mean, rstd) to
 * gr.stats, by the group's only or last block. */
template <typename T, int V>
__global__ void __launch_bounds__(THREADS) stats_kernel(const T *__restrict__ x, groups_t gr)
{
	const int64_t g = blockIdx.x;
	const int j = blockIdx.y;
	const T *base = x + g * gr.gstride;
	const float k = to_float(base[0]);
	const int64_t lo = gr.M * j / gr.P, hi = gr.M * (j + 1) / gr.P;
	acc_t acc;
	acc_init(acc);
	if (gr.L < THREADS) {
		for (int64_t i = lo + threadIdx.x; i < hi; i += THREADS) {
			const int64_t s = i / gr.L;
			acc_add(acc, to_float(base[s * gr.segstride + (i - s * gr.L)]), k);
			acc_step(acc);
		}
	} else if (lo < hi) {
		for (int64_t s = lo / gr.L; s <= (hi - 1) / gr.L; s++) {
			const int64_t a0 = lo > s * gr.L ? lo - s * gr.L : 0;
			const int64_t a1 = hi < (s + 1) * gr.L ? hi - s * gr.L : gr.L;
			const T *p = base + s * gr.segstride;
			run_stats<T, V>(p, p - x, a0, a1, k, acc);
		}
	}
	/* The block's sums, in a fixed order (kb_block_reduce's tree). */
	__shared__ double2 sh[NWARPS];
	const double2 zero = make_double2(0.0, 0.0);
	double2 sums = kb_block_reduce<NWARPS>(acc_sums(acc, k), sh, kb_sum2(), zero);
	__shared__ bool last;
	if (gr.P > 1) {
		if (threadIdx.x == 0) {
			gr.part[g * gr.P + j] = sums;
			__threadfence();
			last = atomicAdd(&gr.ticket[g], 1u) == (unsigned)gr.P - 1;
		}
		__syncthreads();
		if (!last)
			return;
		/* The last block: every pair, in block order (a fixed tree). */
		double2 t = make_double2(0.0, 0.0);
		for (int q = threadIdx.x; q < gr.P; q += THREADS) {
			const double2 v = __ldcg(&gr.part[g * gr.P + q]);
			t.x += v.x;
			t.y += v.y;
		}
		sums = kb_block_reduce<NWARPS>(t, sh, kb_sum2(), zero);
	}
	if (threadIdx.x == 0) {
		const double m1 = sums.x / (double)gr.M;
		double var = sums.y / (double)gr.M - m1 * m1;
		if (var < 0.0)
			var = 0.0;
		gr.stats[g] = make_float2((float)((double)k + m1), (float)(1.0 / sqrt(var + gr.eps)));
	}
}

/* What the normalise pass needs of the problem. */
struct params_t {
	const void *w, *b;     /* (C) or NULL */
	const void *rm, *rv;   /* running statistics (C), eval mode only */
	int w_dt, b_dt, rm_dt, rv_dt;
	int64_t C, S, rows;
	int64_t cg;            /* group norm: channels per group */
	double eps;
	const float2 *stats;   /* per group: (mean, rstd), the statistics pass's */
};

/* Row r's y = (x - m) * a + b. */
static __device__ __forceinline__ void row_coeffs(const params_t &q, int64_t r, float &m, float &a, float &b)
{
	const int64_t c = r % q.C;
#if !NORM_TRAINING && !defined(NORM_GROUPS) && !defined(NORM_INSTANCE)
	m = ld_param(q.rm, q.rm_dt, c);
	a = (float)(1.0 / sqrt((double)ld_param(q.rv, q.rv_dt, c) + q.eps));
#else
#if defined(NORM_GROUPS)
	const float2 st = q.stats[r / q.cg];
#elif defined(NORM_INSTANCE)
	const float2 st = q.stats[r];
#else
	const float2 st = q.stats[c];
#endif
	m = st.x;
	a = st.y;
#endif
	if (q.w)
		a *= ld_param(q.w, q.w_dt, c);
	b = q.b ? ld_param(q.b, q.b_dt, c) : 0.f;
}

template <typename W> static __device__ __forceinline__ W ld_x(const W *p)
{
	return STREAM ? ld_word<true>(p) : *p;
}
template <typename W> static __device__ __forceinline__ void st_y(W *p, W w)
{
	if (STREAM)
		st_word<true>(p, w);
	else
		*p = w;
}

/* Loads and stores of a pack: a whole word for fp32, otherwise as raw words. */
template <typename T, int V> static __device__ __forceinline__ pack_t<T, V> ld_pack(const pack_t<T, V> *p)
{
	typedef typename raw_t<(int)sizeof(pack_t<T, V>)>::T R;
	const R r = ld_x(reinterpret_cast<const R *>(p));
	pack_t<T, V> v;
	memcpy(&v, &r, sizeof v);
	return v;
}
template <typename T, int V> static __device__ __forceinline__ void st_pack(pack_t<T, V> *p, const pack_t<T, V> &v)
{
	typedef typename raw_t<(int)sizeof(pack_t<T, V>)>::T R;
	R r;
	memcpy(&r, &v, sizeof r);
	st_y(reinterpret_cast<R *>(p), r);
}

/* Long rows: block (r, j) writes chunks j, j + gridDim.y, ... of row r. */
template <typename T, int V>
__global__ void __launch_bounds__(THREADS) normalize_rows(const T *__restrict__ x, T *__restrict__ y, params_t q)
{
	const int64_t r = blockIdx.x;
	float m, a, b;
	row_coeffs(q, r, m, a, b);
	const int64_t nv = q.S / V, tile = (int64_t)THREADS * UNROLL;
	const pack_t<T, V> *xv = reinterpret_cast<const pack_t<T, V> *>(x + r * q.S);
	pack_t<T, V> *yv = reinterpret_cast<pack_t<T, V> *>(y + r * q.S);
	for (int64_t t0 = blockIdx.y * tile; t0 < nv; t0 += (int64_t)gridDim.y * tile) {
		pack_t<T, V> w[UNROLL];
#pragma unroll
		for (int u = 0; u < UNROLL; u++) {
			const int64_t i = t0 + u * THREADS + threadIdx.x;
			if (i < nv)
				w[u] = ld_pack(xv + i);
		}
#pragma unroll
		for (int u = 0; u < UNROLL; u++) {
			const int64_t i = t0 + u * THREADS + threadIdx.x;
			if (i < nv) {
#pragma unroll
				for (int e = 0; e < V; e++)
					w[u].v[e] = from_float<T>((to_float(w[u].v[e]) - m) * a + b);
				st_pack(yv + i, w[u]);
			}
		}
	}
}

/* Short rows: every vector of x in a grid-stride loop, its row's
 * coefficients looked up (S % V == 0: a vector never spans two rows). */
template <typename T, int V>
__global__ void __launch_bounds__(THREADS) normalize_flat(const T *__restrict__ x, T *__restrict__ y, params_t q)
{
	const int64_t nv = q.rows * q.S / V, stride = (int64_t)gridDim.x * THREADS;
	const pack_t<T, V> *xv = reinterpret_cast<const pack_t<T, V> *>(x);
	pack_t<T, V> *yv = reinterpret_cast<pack_t<T, V> *>(y);
	for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < nv; i += stride) {
		pack_t<T, V> w = ld_pack(xv + i);
		float m, a, b;
		row_coeffs(q, i * V / q.S, m, a, b);
#pragma unroll
		for (int e = 0; e < V; e++)
			w.v[e] = from_float<T>((to_float(w.v[e]) - m) * a + b);
		st_pack(yv + i, w);
	}
}

/* Batch norm in eval mode reads the running statistics: no statistics pass. */
#if !NORM_TRAINING && !defined(NORM_GROUPS) && !defined(NORM_INSTANCE)
#define NG_STATS 0
#else
#define NG_STATS 1
#endif

static int g_sms = 0;

/* Blocks per group of the statistics pass, V elements per load. */
static int parts_of(const groups_t &gr, int64_t groups, int V)
{
	int64_t P = SPLIT;
	if (SPLIT == 0) {
		const int64_t wave = (int64_t)g_sms * (2048 / THREADS), most = gr.M / (4LL * THREADS * V * UNROLL);
		P = (wave + groups - 1) / groups;
		if (P > most)
			P = most;
	}
	if (P > gr.M)
		P = gr.M;
	if (P > 65535)
		P = 65535;
	if (P > 1 && groups * P > NG_MAX_PARTS)
		P = NG_MAX_PARTS / groups;
	if (P < 1)
		P = 1;
	return (int)P;
}

/* gr.P, gr's scratch and the tickets' zeroing already set. */
template <typename T, int V>
static int launch_stats(const T *x, const groups_t &gr, int64_t groups, cudaStream_t st)
{
	stats_kernel<T, V><<<dim3((unsigned)groups, (unsigned)gr.P), THREADS, 0, st>>>(x, gr);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

static size_t round256(size_t n)
{
	return (n + 255) / 256 * 256;
}

template <typename T, int V>
static int launch_normalize(const T *x, T *y, const params_t &q, cudaStream_t st)
{
	const int64_t nv = q.S / V;
	if (q.S >= (int64_t)THREADS * V && q.rows <= 0x7fffffffLL) {
		int64_t chunks = (nv + (int64_t)THREADS * UNROLL - 1) / ((int64_t)THREADS * UNROLL);
		if (chunks > 65535)
			chunks = 65535;
		normalize_rows<T, V><<<dim3((unsigned)q.rows, (unsigned)chunks), THREADS, 0, st>>>(x, y, q);
	} else {
		const int64_t total = q.rows * nv, wave = (int64_t)g_sms * (2048 / THREADS) * 4;
		int64_t blocks = (total + THREADS - 1) / THREADS;
		if (blocks > wave)
			blocks = wave;
		normalize_flat<T, V><<<(unsigned)blocks, THREADS, 0, st>>>(x, y, q);
	}
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

template <typename T>
static int run(const void *xp, void *yp, const groups_t &gr0, int64_t groups, const params_t &q0, cudaStream_t st)
{
	const T *x = (const T *)xp;
	T *y = (T *)yp;
	const size_t align = sizeof(T) * VEC;
	const bool x_al = (uintptr_t)x % align == 0, y_al = (uintptr_t)y % align == 0;
	groups_t gr = gr0;
	params_t q = q0;
	uint8_t *scratch = NULL;
	int rc = KB_OK;
	if (NG_STATS) {
		/* The call's scratch, one allocation on its stream: [pairs]
		 * [stats][tickets], the pairs and tickets only where P > 1. */
		gr.P = parts_of(gr, groups, x_al ? VEC : 1);
		const size_t part_bytes = gr.P > 1 ? round256((size_t)(groups * gr.P) * sizeof(double2)) : 0;
		const size_t stats_bytes = round256((size_t)groups * sizeof(float2));
		const size_t ticket_bytes = gr.P > 1 ? (size_t)groups * sizeof(unsigned) : 0;
		kb_keep_pool_mapped();
		if (cudaMallocAsync((void **)&scratch, part_bytes + stats_bytes + ticket_bytes, st) != cudaSuccess)
			return KB_ERR_LAUNCH;
		gr.part = gr.P > 1 ? (double2 *)scratch : NULL;
		gr.stats = (float2 *)(scratch + part_bytes);
		gr.ticket = gr.P > 1 ? (unsigned *)(scratch + part_bytes + stats_bytes) : NULL;
		q.stats = gr.stats;
		if (gr.ticket && cudaMemsetAsync(gr.ticket, 0, ticket_bytes, st) != cudaSuccess)
			rc = KB_ERR_LAUNCH;
		if (!rc)
			rc = x_al ? launch_stats<T, VEC>(x, gr, groups, st) : launch_stats<T, 1>(x, gr, groups, st);
	}
	if (!rc)
		rc = x_al && y_al && q.S % VEC == 0 ? launch_normalize<T, VEC>(x, y, q, st)
						    : launch_normalize<T, 1>(x, y, q, st);
	if (scratch && cudaFreeAsync(scratch, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}

/* A parameter or running statistic: C elements of fp32 or x's dtype. */
static bool param_ok(const kb_tensor *t, int64_t C, int x_dtype)
{
	return t->data && kb_numel(t) == C && (t->dtype == KB_F32 || t->dtype == x_dtype);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in < 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (!kb_same_shape(x, y) || x->dtype != y->dtype ||
	    !kb_takes_dtype(x->dtype))
		return KB_ERR_SHAPE;
	const int64_t numel = kb_numel(x);
	params_t q;
	memset(&q, 0, sizeof q);
	q.eps = NORM_EPS;
	groups_t gr;
	memset(&gr, 0, sizeof gr);
	gr.eps = NORM_EPS;
	int64_t groups = 0;
#ifdef NORM_INSTANCE
	if (!NORM_TRAINING || x->ndim < NORM_INSTANCE + 1)
		return KB_ERR_SHAPE; /* running statistics in eval mode: not served */
	q.S = 1;
	for (int i = x->ndim - NORM_INSTANCE; i < x->ndim; i++)
		q.S *= x->shape[i];
	q.C = x->shape[x->ndim - NORM_INSTANCE - 1];
#else
	if (x->ndim < 2)
		return KB_ERR_SHAPE;
	q.S = 1;
	for (int i = 2; i < x->ndim; i++)
		q.S *= x->shape[i];
	q.C = x->shape[1];
#endif
	if (numel == 0)
		return KB_OK;
	q.rows = numel / q.S;
	/* Parameters, then buffers: the tracked statistics end in the int64 count. */
	int np = n_in - 1;
	const kb_tensor *w = NULL, *b = NULL, *rm = NULL, *rv = NULL;
	if (np >= 3 && in[n_in - 1].dtype == KB_I64 && kb_numel(&in[n_in - 1]) == 1) {
		rm = &in[n_in - 3];
		rv = &in[n_in - 2];
		np -= 3;
	}
	if (np == 2) {
		w = &in[1];
		b = &in[2];
	} else if (np != 0) {
		return KB_ERR_SHAPE;
	}
	if ((w && !param_ok(w, q.C, x->dtype)) || (b && !param_ok(b, q.C, x->dtype)) ||
	    (rm && !param_ok(rm, q.C, x->dtype)) || (rv && !param_ok(rv, q.C, x->dtype)))
		return KB_ERR_SHAPE;
	if (w) {
		q.w = w->data, q.w_dt = w->dtype;
		q.b = b->data, q.b_dt = b->dtype;
	}
	if (!NG_STATS) {
		if (!rm)
			return KB_ERR_SHAPE; /* eval mode without running statistics */
		q.rm = rm->data, q.rm_dt = rm->dtype;
		q.rv = rv->data, q.rv_dt = rv->dtype;
	}
#if defined(NORM_GROUPS)
	if (q.C % NORM_GROUPS)
		return KB_ERR_SHAPE;
	q.cg = q.C / NORM_GROUPS;
	groups = q.rows / q.cg;
	gr.segs = 1;
	gr.L = q.cg * q.S;
	gr.gstride = gr.L;
#elif defined(NORM_INSTANCE)
	groups = q.rows;
	gr.segs = 1;
	gr.L = q.S;
	gr.gstride = q.S;
#else
	groups = q.C;
	gr.segs = q.rows / q.C;
	gr.L = q.S;
	gr.segstride = q.C * q.S;
	gr.gstride = q.S;
#endif
	gr.M = gr.segs * gr.L;
	if (NG_STATS && groups > NG_MAX_GROUPS)
		return KB_ERR_SHAPE;
	if (g_sms == 0)
		g_sms = kb_sm_count();
	if (g_sms == 0)
		return KB_ERR_LAUNCH;
	cudaStream_t st = (cudaStream_t)stream;
#if !KB_F32_ONLY
	if (x->dtype == KB_F16)
		return run<__half>(x->data, y->data, gr, groups, q, st);
	if (x->dtype == KB_BF16)
		return run<__nv_bfloat16>(x->data, y->data, gr, groups, q, st);
#endif
	return run<float>(x->data, y->data, gr, groups, q, st);
}
