// kbreed winner for softmax: 0.6483 ms on NVIDIA H200 = 162% of PyTorch eager (1.0508 ms), 78% of the floor.
// Run 4, candidate 575, round 3. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template softmax_online
#define SOFTMAX_DIM 1
#define SOFTMAX_INNERMOST 1
#define THREADS 1024
#define VEC 4
#define ONLINE 1
#define STREAM_STORES 1
#define BLOCKS_PER_SM 0
#define SMEM_KB 96
#define SPLIT 2
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
// ---- inlined from ../common/softmax_stats.cuh ----
// softmax_stats.cuh - the running statistics of the softmax templates
// (softmax_online, softmax_cluster), written once:
//   vec_t<V>::T               float, float2 or float4: V floats a load
//   comp(v, j), setcomp(v, j, f)
//                             component j of such a vector (j a constant after
//                             unrolling, so the vector stays in registers)
//   ms_merge(m, s, m2, s2)    (m, s) := the merge of two (max, sum of
//                             exp(x - max)) pairs, an empty pair being (-inf, 0)
//   ms_push(m, s, v)          one value added to a pair, online: the sum is
//                             rescaled when the max grows
//   ms_push_vec(m, s, v)      V values: one rescale for the vector's max
//   sm_out<LOG>(v, m, k)      y from x = v and the row's max m: exp(v - m) * k,
//                             k = 1 / sum; for log_softmax (LOG = 1)
//                             v - m - k, k = log(sum)
//   block_ms<NW>(m, s, sh)    the pairs of a block of NW warps merged
//                             (kb_block_reduce of reduce.cuh, which this file
//                             pulls in, with ms_merge); every thread gets the
//                             result (sh: NW float2 of shared memory, free
//                             again on return)
//   softmax_shape(in, n_in, out, n_out, &B, &L, &I)
//                             (host) the checks every softmax candidate makes
//                             (one fp32 input, an output of its shape, SOFTMAX_DIM
//                             in range) and x as B x L x I, L the softmax dim:
//                             KB_OK or KB_ERR_SHAPE
// A row of -inf stays (-inf, 0), so exp(x - max) is NaN there, as in PyTorch.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_SOFTMAX_STATS_CUH
#define KBREED_COMMON_SOFTMAX_STATS_CUH

#include <math.h>
// ---- inlined from reduce.cuh ----
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
// ---- end of reduce.cuh ----

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
__device__ __forceinline__ void setcomp(float &v, int, float f) { v = f; }
__device__ __forceinline__ void setcomp(float2 &v, int j, float f)
{
	if (j == 0) v.x = f; else v.y = f;
}
__device__ __forceinline__ void setcomp(float4 &v, int j, float f)
{
	if (j == 0) v.x = f; else if (j == 1) v.y = f; else if (j == 2) v.z = f; else v.w = f;
}

__device__ __forceinline__ void ms_merge(float &m, float &s, float m2, float s2)
{
	float M = fmaxf(m, m2);
	if (M == -INFINITY)
		return; /* both empty */
	float a = (m == -INFINITY) ? 0.0f : s * expf(m - M);
	float b = (m2 == -INFINITY) ? 0.0f : s2 * expf(m2 - M);
	m = M;
	s = a + b;
}

__device__ __forceinline__ void ms_push(float &m, float &s, float v)
{
	if (v > m) {
		s = (m == -INFINITY ? 0.0f : s * expf(m - v)) + 1.0f;
		m = v;
	} else if (m != -INFINITY) { /* else v = m = -inf: adds 0 */
		s += expf(v - m);
	}
}

template <typename T>
__device__ __forceinline__ void ms_push_vec(float &m, float &s, const T &v)
{
	constexpr int V = sizeof(T) / sizeof(float);
	float mc = comp(v, 0);
#pragma unroll
	for (int j = 1; j < V; j++)
		mc = fmaxf(mc, comp(v, j));
	if (mc > m) {
		s = (m == -INFINITY) ? 0.0f : s * expf(m - mc);
		m = mc;
	}
	if (m != -INFINITY) { /* else all V values are -inf */
		float acc = 0.0f;
#pragma unroll
		for (int j = 0; j < V; j++)
			acc += expf(comp(v, j) - m);
		s += acc;
	}
}

template <int LOG> __device__ __forceinline__ float sm_out(float v, float m, float k)
{
	return LOG ? (v - m) - k : expf(v - m) * k;
}

/* ms_merge as a combine op on (m, s) pairs: commutative bit for bit (the
 * larger maximum, then a sum of two terms), (-inf, 0) its identity. */
struct ms_merge_op {
	__device__ __forceinline__ float2 operator()(float2 a, float2 b) const
	{
		ms_merge(a.x, a.y, b.x, b.y);
		return a;
	}
};

template <int NW> __device__ void block_ms(float &m, float &s, float2 *sh)
{
	const float2 empty = make_float2(-INFINITY, 0.0f);
	const float2 t = kb_block_reduce<NW>(make_float2(m, s), sh, ms_merge_op(), empty);
	m = t.x;
	s = t.y;
}

/* Host: the shape checks and the B x L x I view of x (see the top). */
static int softmax_shape(const kb_tensor *in, int n_in, const kb_tensor *out, int n_out, int64_t *B,
			 int64_t *L, int64_t *I)
{
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *y = &out[0];
	if (x->dtype != KB_F32 || y->dtype != KB_F32 || x->ndim < 1 || !kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	const int d = SOFTMAX_DIM < 0 ? SOFTMAX_DIM + x->ndim : SOFTMAX_DIM;
	if (d < 0 || d >= x->ndim)
		return KB_ERR_SHAPE;
	*B = 1;
	*L = x->shape[d];
	*I = 1;
	for (int i = 0; i < d; i++)
		*B *= x->shape[i];
	for (int i = d + 1; i < x->ndim; i++)
		*I *= x->shape[i];
	return KB_OK;
}

#endif
// ---- end of ../common/softmax_stats.cuh ----
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
