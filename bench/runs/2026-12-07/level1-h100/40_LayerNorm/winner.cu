// kbreed winner for 40_LayerNorm: 0.3032 ms on NVIDIA H100 80GB HBM3 = 2669% of PyTorch eager (8.0936 ms), 62% of the floor.
// Run 1, candidate 2, round 0. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template layernorm_row
#define NORM_EPS 1e-05
#define KB_F32_ONLY 1
#define THREADS 512
#define VEC 4
#define BLOCKS_PER_ROW 256
#define ROWS_PER_LAUNCH 0
// kbreed-template: layernorm_row
// family: norm
// problems: layernorm
// knob THREADS: 256 512 1024 | default 512 | category parallelism | threads per block (both kernels)
// knob VEC: 1 2 4 | default 4 | category memory access | floats per load and store (float, float2, float4)
// knob BLOCKS_PER_ROW: 64 256 1024 | default 256 | category parallelism | blocks sharing one row (capped at one vector per thread for short rows)
// knob ROWS_PER_LAUNCH: 0 1 2 | default 0 | category parallelism | rows per stats+normalise kernel pair: 0 = all rows in one pair (x read twice from DRAM, weight and bias once); 1 or 2 = pairs over groups of rows, meant to re-read x from L2 (measured slower on the suite problem: 0.54-0.59 ms against 0.45)
/*
 * layernorm_row.cu - nn.LayerNorm over the trailing dims, eps 1e-5, with
 * elementwise affine:  y = (x - mean) / sqrt(var + eps) * weight + bias,
 * mean and biased var over the D = numel(weight) elements of each row.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x      (R..., D0, D1, ...)  e.g. (16, 64, 256, 256): R = 16 rows
 *   in[1]  weight (D0, D1, ...)        e.g. (64, 256, 256): D = 4,194,304
 *   in[2]  bias   (D0, D1, ...)
 *   out[0] y      same shape as x
 *
 * Strategy: two kernels per group of rows. Stats: grid (rows,
 * BLOCKS_PER_ROW), the row index fastest; block (r, j) sums its contiguous
 * slice of row r as shifted sums s1 = sum(x - K), s2 = sum((x - K)^2),
 * K = the row's first element, in double per thread; the block's pair goes
 * to scratch and the last block of the row (atomic ticket) adds the pairs
 * in double, writes (mean, rstd) for the row and resets the ticket for the
 * call's next pair of kernels. Normalise: same grid; each block reads its row's (mean, rstd) and
 * writes its slice with streaming stores (y is never re-read). As the row
 * index varies fastest, the blocks resident together share one slice of
 * weight and bias, which should then cross DRAM about once in all, not once
 * per row. (Measured on an H100 with the slice index fastest: 0.45 ms on
 * the suite problem, about what re-reading weight and bias from DRAM for
 * every row costs; the row-fastest order was not yet measured when
 * written.) ROWS_PER_LAUNCH > 0 runs the pair per group of rows so that the
 * second read of x might hit in L2, at the cost of more launches (measured
 * slower, in the slice-fastest order).
 * The vector path needs D % VEC == 0 and x, w, b, y aligned to VEC*4 bytes;
 * otherwise the VEC=1 instantiation runs. Scratch: the call's own, one
 * cudaMallocAsync on its stream sized for one launch (at most 2^18
 * partials, 2^16 rows' stats and tickets), the tickets zeroed there by
 * cudaMemsetAsync, freed by cudaFreeAsync on the stream after the last
 * launch, so that calls on several streams at once do not share it; large
 * R is done in several launches, one after the other on the stream.
 */
#ifndef THREADS
#define THREADS 512
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef BLOCKS_PER_ROW
#define BLOCKS_PER_ROW 256
#endif
#ifndef ROWS_PER_LAUNCH
#define ROWS_PER_LAUNCH 0
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include "kbreed_candidate.h"
// ---- inlined from ../common/reduce.cuh ----
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
//   kb_fmax_nan(a, b), kb_fmin_nan(a, b)
//                                 float max and min where a NaN wins, one
//                                 instruction (also pool_nd, reduce_dim's
//                                 max and min, conv_igemm's pooled epilogue)
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

/* The float max and min where a NaN wins, as torch's max, min and max pool
 * propagate it: one instruction from sm_80 (max.NaN, min.NaN: a NaN operand
 * gives the canonical NaN), two compares and a select before. Between +0
 * and -0 either may come out. */
__device__ __forceinline__ float kb_fmax_nan(float a, float b)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
	float r;
	asm("max.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
	return r;
#else
	return b > a || b != b ? b : a;
#endif
}

__device__ __forceinline__ float kb_fmin_nan(float a, float b)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
	float r;
	asm("min.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
	return r;
#else
	return b < a || b != b ? b : a;
#endif
}

/* max where a NaN wins, as torch.max propagates it (the naive kernels of
 * src/generate.c); between two NaNs, or +0 and -0, either may come out. */
struct kb_max_nan {
	template <typename T> __device__ __forceinline__ T operator()(T a, T b) const
	{
		return b > a || b != b ? b : a;
	}
	__device__ __forceinline__ float operator()(float a, float b) const { return kb_fmax_nan(a, b); }
};

/* fmaxf: a NaN is dropped in favour of the other value, as fmaxf does. */
struct kb_fmax {
	__device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

#endif
// ---- end of ../common/reduce.cuh ----
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
static_assert(BLOCKS_PER_ROW >= 1 && BLOCKS_PER_ROW <= 4096, "BLOCKS_PER_ROW");
static_assert(ROWS_PER_LAUNCH >= 0 && ROWS_PER_LAUNCH <= 64, "ROWS_PER_LAUNCH");

KBREED_CANDIDATE_ABI

#define LN_EPS 1e-5
#define NWARPS (THREADS / 32)
#define LN_MAX_ROWS 65536          /* rows per launch (stats, tickets) */
#define LN_MAX_SLOTS (1 << 18)     /* partial (s1, s2) pairs per launch */

/* A call's scratch, for the rows of one launch (see the top). */
struct ln_scratch {
	double2 *part;    /* [row][block]: (s1, s2) */
	float2 *stats;    /* (mean, rstd) per row */
	unsigned *ticket; /* per row: its blocks done; zeroed before the first launch, reset by the last block */
};

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

/* grid (rows of this launch, bpr): the row index varies fastest, so the
 * blocks that run together share a slice (of weight and bias in ln_norm);
 * x points at the launch's first row */
template <int V>
__global__ void __launch_bounds__(THREADS)
ln_stats(const float *__restrict__ x, int64_t D, int bpr, ln_scratch sc)
{
	typedef typename vec_t<V>::T T;
	__shared__ double2 sh[NWARPS];
	__shared__ bool last;
	const int row = blockIdx.x, blk = blockIdx.y;
	const float *xr = x + (int64_t)row * D;
	const int64_t nv = D / V;
	const int64_t cv = (nv + bpr - 1) / bpr;
	const int64_t v0 = (int64_t)blk * cv;
	const int64_t v1 = v0 + cv < nv ? v0 + cv : nv;
	const float K = xr[0];
	const T *xv = reinterpret_cast<const T *>(xr);
	double s1 = 0.0, s2 = 0.0;
	int64_t i = v0 + threadIdx.x;
	for (; i + THREADS < v1; i += 2 * THREADS) {
		T a = xv[i], b = xv[i + THREADS];
		float f1 = 0.0f, f2 = 0.0f;
#pragma unroll
		for (int j = 0; j < V; j++) {
			float d = comp(a, j) - K, e = comp(b, j) - K;
			f1 += d + e;
			f2 = fmaf(d, d, f2);
			f2 = fmaf(e, e, f2);
		}
		s1 += (double)f1;
		s2 += (double)f2;
	}
	if (i < v1) {
		T a = xv[i];
		float f1 = 0.0f, f2 = 0.0f;
#pragma unroll
		for (int j = 0; j < V; j++) {
			float d = comp(a, j) - K;
			f1 += d;
			f2 = fmaf(d, d, f2);
		}
		s1 += (double)f1;
		s2 += (double)f2;
	}
	double2 t = kb_block_reduce<NWARPS>(make_double2(s1, s2), sh, kb_sum2(), make_double2(0.0, 0.0));
	if (threadIdx.x == 0) {
		sc.part[(int64_t)row * bpr + blk] = t;
		__threadfence();
		unsigned ticket = atomicAdd(&sc.ticket[row], 1u);
		last = (ticket == (unsigned)bpr - 1);
	}
	__syncthreads();
	if (!last)
		return;
	__threadfence();
	double2 a = make_double2(0.0, 0.0);
	for (int k = threadIdx.x; k < bpr; k += THREADS) {
		double2 p = __ldcg(&sc.part[(int64_t)row * bpr + k]);
		a.x += p.x;
		a.y += p.y;
	}
	a = kb_block_reduce<NWARPS>(a, sh, kb_sum2(), make_double2(0.0, 0.0));
	if (threadIdx.x == 0) {
		double m1 = a.x / (double)D;
		double var = a.y / (double)D - m1 * m1;
		if (var < 0.0)
			var = 0.0;
		sc.stats[row] = make_float2((float)((double)K + m1), (float)(1.0 / sqrt(var + LN_EPS)));
		sc.ticket[row] = 0u;
	}
}

template <int V>
__global__ void __launch_bounds__(THREADS)
ln_norm(const float *__restrict__ x, const float *__restrict__ w,
	const float *__restrict__ b, float *__restrict__ y, int64_t D, int bpr, const float2 *__restrict__ stats)
{
	typedef typename vec_t<V>::T T;
	const int row = blockIdx.x, blk = blockIdx.y;
	const int64_t nv = D / V;
	const int64_t cv = (nv + bpr - 1) / bpr;
	const int64_t v0 = (int64_t)blk * cv;
	const int64_t v1 = v0 + cv < nv ? v0 + cv : nv;
	const float2 st = stats[row];
	const T *xv = reinterpret_cast<const T *>(x + (int64_t)row * D);
	T *yv = reinterpret_cast<T *>(y + (int64_t)row * D);
	const T *wv = reinterpret_cast<const T *>(w);
	const T *bv = reinterpret_cast<const T *>(b);
	int64_t i = v0 + threadIdx.x;
	for (; i + THREADS < v1; i += 2 * THREADS) {
		T a0 = xv[i], a1 = xv[i + THREADS];
		T w0 = wv[i], w1 = wv[i + THREADS];
		T b0 = bv[i], b1 = bv[i + THREADS];
		__stcs(yv + i, normv(a0, st.x, st.y, w0, b0));
		__stcs(yv + i + THREADS, normv(a1, st.x, st.y, w1, b1));
	}
	if (i < v1)
		__stcs(yv + i, normv(xv[i], st.x, st.y, wv[i], bv[i]));
}

static size_t round256(size_t n)
{
	return (n + 255) / 256 * 256;
}

template <int V>
static int run(const float *x, const float *w, const float *b, float *y,
	       int64_t R, int64_t D, cudaStream_t st)
{
	const int64_t nv = D / V;
	int64_t bpr = (nv + THREADS - 1) / THREADS;
	if (bpr > BLOCKS_PER_ROW)
		bpr = BLOCKS_PER_ROW;
	if (bpr < 1)
		bpr = 1;
	int64_t per = ROWS_PER_LAUNCH > 0 ? ROWS_PER_LAUNCH : R;
	if (per > LN_MAX_ROWS)
		per = LN_MAX_ROWS;
	if (per > LN_MAX_SLOTS / bpr)
		per = LN_MAX_SLOTS / bpr;
	/* The call's scratch for one launch's rows, one allocation on its
	 * stream: [pairs][stats][tickets], every launch reusing it in turn. */
	const int64_t live = R < per ? R : per;
	const size_t part_bytes = round256((size_t)(live * bpr) * sizeof(double2));
	const size_t stats_bytes = round256((size_t)live * sizeof(float2));
	const size_t ticket_bytes = (size_t)live * sizeof(unsigned);
	uint8_t *mem = NULL;
	int rc = KB_OK;
	kb_keep_pool_mapped();
	if (cudaMallocAsync((void **)&mem, part_bytes + stats_bytes + ticket_bytes, st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	ln_scratch sc;
	sc.part = (double2 *)mem;
	sc.stats = (float2 *)(mem + part_bytes);
	sc.ticket = (unsigned *)(mem + part_bytes + stats_bytes);
	if (cudaMemsetAsync(sc.ticket, 0, ticket_bytes, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	for (int64_t r0 = 0; r0 < R && !rc; r0 += per) {
		int64_t rows = R - r0 < per ? R - r0 : per;
		dim3 grid((unsigned)rows, (unsigned)bpr);
		ln_stats<V><<<grid, THREADS, 0, st>>>(x + r0 * D, D, (int)bpr, sc);
		if (cudaGetLastError() != cudaSuccess) {
			rc = KB_ERR_LAUNCH;
			break;
		}
		ln_norm<V><<<grid, THREADS, 0, st>>>(x + r0 * D, w, b, y + r0 * D, D, (int)bpr, sc.stats);
		if (cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
	if (cudaFreeAsync(mem, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
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
