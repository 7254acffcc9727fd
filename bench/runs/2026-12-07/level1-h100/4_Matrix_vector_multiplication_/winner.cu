// kbreed winner for 4_Matrix_vector_multiplication_: 2.7283 ms on NVIDIA H100 80GB HBM3 = 102% of PyTorch eager (2.7733 ms), 104% of the floor.
// Run 1, candidate 56, round 2. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template gemv
#define TRANS_A 0
#define TRANS_B 0
#define KB_MATVEC 1
#define KB_F32_ONLY 1
#define THREADS 1024
#define ROWS_PER_BLOCK 1
#define SPLIT_K 16
#define VEC 4
#define UNROLL 4
#define STREAM 1
// kbreed-template: gemv
// family: matmul
// problems: matvec
// requires: KB_MATVEC
// knob THREADS: 64 128 256 512 1024 | default 256 | category parallelism | threads per block
// knob ROWS_PER_BLOCK: 1 2 4 8 | default 1 | category parallelism | rows of A a block works on at once, each by THREADS / ROWS_PER_BLOCK threads (at least a warp: clamped to THREADS / 32); the rows share x through L1
// knob SPLIT_K: 0 1 2 4 8 16 32 | default 0 | category parallelism | blocks sharing one row, each taking a slice of K, their partial sums added in order by a second kernel; 0 = by shape (enough blocks for one wave of the GPU's SMs)
// knob VEC: 1 2 4 | default 4 | category memory access | 4-byte words per load of A and x (4, 8 or 16 bytes), used where K is a multiple of the word's elements and A and x start on a word
// knob UNROLL: 1 2 4 8 | default 4 | category asynchronous operations and latency hiding | words of A each thread has in flight before it multiplies any
// knob STREAM: 0 1 | default 0 | category memory access | 1 = streaming loads of A (__ldcs, evict-first): A is read once, x stays in L2 for every row
// same: THREADS=64 ROWS_PER_BLOCK=4 as ROWS_PER_BLOCK=2
// same: THREADS=64 ROWS_PER_BLOCK=8 as ROWS_PER_BLOCK=2
// same: THREADS=128 ROWS_PER_BLOCK=8 as ROWS_PER_BLOCK=4
/*
 * gemv.cu - y = A @ x, a matrix times a vector (torch.matmul(A, B) with B
 * (K, 1), torch.mv, A @ v), leading batch dims of A folded into its rows;
 * fp32, fp16 or bf16, accumulated in fp32, the result in the input dtype.
 *
 * Recognition (src/recognize.c) writes KB_MATVEC where the graph is that
 * product and nothing more; the template is offered only then.
 *
 * Layout (contiguous, row-major):
 *   in[0]  A  (..., K): R rows of K, R the product of the leading dims
 *   in[1]  x  K elements: (K, 1) or (K,)
 *   out[0] y  R elements ((..., 1) or (...,)), A's dtype
 *
 * The work is memory bound: A (R*K elements) crosses DRAM once, x (K) is
 * read by every row but from L2 (or L1, for the rows of one block).
 *
 * Strategy: a block works on ROWS_PER_BLOCK rows at once, each row by a
 * group of ROW_THREADS = THREADS / ROWS_PER_BLOCK threads (whole warps). Where
 * there are few rows for the SMs (K-heavy shapes: 256 rows of 131072), a row
 * is split into SPLIT_K slices of K, each slice a block of its own, and a
 * second kernel adds each row's SPLIT_K partial sums in slice order. The
 * group walks its slice a 4*VEC-byte word per thread at a time (neighbouring
 * threads on neighbouring words: every warp load is one run of 32 words),
 * UNROLL words in flight, each multiplied by the same word of x and summed
 * in fp32, one accumulator per unrolled word. The threads' sums meet by a
 * warp shuffle tree, then in shared memory between a group's warps, in a
 * fixed order: no atomics, the same bits on every call.
 * Words are used where K is a multiple of their elements and A and x start
 * on a word, so that every row starts on one too; otherwise (an odd K, an
 * offset base) every load is one element, still coalesced. Row offsets are
 * 64-bit; blocks grid-stride over (row group, slice) pairs.
 * The partial sums of SPLIT_K live in scratch of the call's own
 * (cudaMallocAsync on its stream, rows x split floats, every one written by
 * the first kernel before the second reads it; freed with cudaFreeAsync on
 * the stream), so that calls on several streams at once do not share them;
 * at most GEMV_MAX_PARTS floats: a shape needing more takes fewer slices.
 */
#ifndef THREADS
#define THREADS 256
#endif
#ifndef ROWS_PER_BLOCK
#define ROWS_PER_BLOCK 1
#endif
#ifndef SPLIT_K
#define SPLIT_K 0
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
#ifndef STREAM
#define STREAM 0
#endif
#ifndef KB_MATVEC
#define KB_MATVEC 1
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>
#include "kbreed_candidate.h"
// ---- inlined from ../common/dtype.cuh ----
// dtype.cuh - the element types of the memory-bound templates (pointwise_vec,
// reduce_dim), written once:
//   to_float(v)        fp32, fp16 or bf16 widened to float (exact)
//   from_float<T>(v)   float rounded to T (to nearest even)
//   word_t<V>::T       the word of a vectorised access: 4 * V bytes (float,
//                      float2, float4), whatever the element type it carries
//   ld_word(p)         one word or element, with streaming (evict-first)
//                      cache hints when `stream` is true
//   st_word(p, w)      one word or element stored, likewise
//   kb_takes_dtype(dt) whether this build takes elements of dtype dt
//   kb_args_one_dtype(in, n_in, want_in, out, n_out, want_out)
//                      an entry's first check: the tensor counts it wants,
//                      every tensor of in[0]'s dtype, one this build takes
//
// KB_F32_ONLY (recognition writes 1 where every tensor of the problem is
// fp32, or an integer) leaves fp16 and bf16 out: their headers, overloads and
// the templates' fp16/bf16 kernels (each such kernel sits under
// `#if !KB_F32_ONLY`), about a quarter of a candidate's nvcc time. Such a
// build answers KB_ERR_SHAPE for fp16 or bf16 tensors.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_DTYPE_CUH
#define KBREED_COMMON_DTYPE_CUH

#ifndef KB_F32_ONLY
#define KB_F32_ONLY 0
#endif
#if !KB_F32_ONLY
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#endif
#include <stdint.h>
#include <string.h>
#include "kbreed_candidate.h"

static __device__ __forceinline__ float to_float(float v) { return v; }
template <typename T> static __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
#if !KB_F32_ONLY
static __device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
static __device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
#endif

/* fp32 always; fp16 and bf16 unless KB_F32_ONLY. */
static inline bool kb_takes_dtype(int dt)
{
	return dt == KB_F32 || (!KB_F32_ONLY && (dt == KB_F16 || dt == KB_BF16));
}

/* The kernel entry's arguments: want_in inputs and want_out outputs, every
 * one of in[0]'s dtype, which this build takes. */
static inline bool kb_args_one_dtype(const kb_tensor *in, int n_in, int want_in, const kb_tensor *out, int n_out,
				     int want_out)
{
	if (!in || !out || n_in != want_in || n_out != want_out || !kb_takes_dtype(in[0].dtype))
		return false;
	for (int i = 1; i < n_in; i++)
		if (in[i].dtype != in[0].dtype)
			return false;
	for (int i = 0; i < n_out; i++)
		if (out[i].dtype != in[0].dtype)
			return false;
	return true;
}

template <int V> struct word_t;
template <> struct word_t<1> { typedef float T; };
template <> struct word_t<2> { typedef float2 T; };
template <> struct word_t<4> { typedef float4 T; };

/* The raw type of an S-byte access, for which __ldcs exists. */
template <int S> struct raw_t;
template <> struct raw_t<2> { typedef unsigned short T; };
template <> struct raw_t<4> { typedef float T; };
template <> struct raw_t<8> { typedef float2 T; };
template <> struct raw_t<16> { typedef float4 T; };

/* A word (float, float2, float4) or one 2-byte element, loaded plainly or
 * with __ldcs (evict-first). */
template <bool STREAMING, typename W> static __device__ __forceinline__ W ld_word(const W *p)
{
	typedef typename raw_t<(int)sizeof(W)>::T R;
	const R *q = reinterpret_cast<const R *>(p);
	R r = STREAMING ? __ldcs(q) : *q;
	W w;
	memcpy(&w, &r, sizeof w);
	return w;
}

/* A word or one 2-byte element, stored plainly or with __stcs (evict-first). */
template <bool STREAMING, typename W> static __device__ __forceinline__ void st_word(W *p, W w)
{
	typedef typename raw_t<(int)sizeof(W)>::T R;
	R r;
	memcpy(&r, &w, sizeof r);
	if (STREAMING)
		__stcs(reinterpret_cast<R *>(p), r);
	else
		*reinterpret_cast<R *>(p) = r;
}

#endif
// ---- end of ../common/dtype.cuh ----
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
static_assert(ROWS_PER_BLOCK >= 1 && ROWS_PER_BLOCK <= 32 && (ROWS_PER_BLOCK & (ROWS_PER_BLOCK - 1)) == 0,
	      "ROWS_PER_BLOCK is a power of two");
static_assert(SPLIT_K == 0 || (SPLIT_K >= 1 && SPLIT_K <= 32 && (SPLIT_K & (SPLIT_K - 1)) == 0), "SPLIT_K");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC is 1, 2 or 4");
static_assert(UNROLL >= 1 && UNROLL <= 8, "UNROLL");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");

KBREED_CANDIDATE_ABI

#define NWARPS (THREADS / 32)
/* Rows a block holds at once (a warp at least per row), threads per row. */
#define RPB (ROWS_PER_BLOCK < NWARPS ? ROWS_PER_BLOCK : NWARPS)
#define ROW_THREADS (THREADS / RPB)
static_assert(ROW_THREADS % 32 == 0 && ROW_THREADS * RPB == THREADS, "a row's group is whole warps");

#define GEMV_MAX_PARTS (1 << 18)        /* most floats of scratch for the slices' sums */

/* One thread's share of sum_k a[k] * x[k] over the words [w0, w1) of one
 * row: words lane, lane + ROW_THREADS, ..., UNROLL of them loaded before
 * any is used.
 * W is the word (T itself on the element path), E its elements. */
template <typename T, typename W>
static __device__ __forceinline__ float row_share(const W *__restrict__ a, const W *__restrict__ x, int64_t w0,
						  int64_t w1, int lane)
{
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	float acc[UNROLL];
#pragma unroll
	for (int u = 0; u < UNROLL; u++)
		acc[u] = 0.0f;
	for (int64_t w = w0 + lane; w < w1; w += (int64_t)ROW_THREADS * UNROLL) {
		W ra[UNROLL], rx[UNROLL];
#pragma unroll
		for (int u = 0; u < UNROLL; u++)
			if (w + (int64_t)u * ROW_THREADS < w1) {
				ra[u] = ld_word<STREAM == 1>(a + w + (int64_t)u * ROW_THREADS);
				rx[u] = ld_word<false>(x + w + (int64_t)u * ROW_THREADS);
			}
#pragma unroll
		for (int u = 0; u < UNROLL; u++) {
			if (w + (int64_t)u * ROW_THREADS >= w1)
				break;
			T ea[E], ex[E];
			memcpy(ea, &ra[u], sizeof ra[u]);
			memcpy(ex, &rx[u], sizeof rx[u]);
#pragma unroll
			for (int j = 0; j < E; j++)
				acc[u] = fmaf(to_float(ea[j]), to_float(ex[j]), acc[u]);
		}
	}
	float s = 0.0f;
#pragma unroll
	for (int u = 0; u < UNROLL; u++)
		s += acc[u];
	return s;
}

/* The product: `rows` rows of k elements, nw words; `split` slices per row
 * (a power of two at most 32), each of `chunk` words. split == 1 writes y,
 * else the slices' sums into part[row * split + slice] (the call's scratch,
 * rows x split floats). */
template <typename T, typename W>
__global__ void __launch_bounds__(THREADS)
gemv_kernel(const T *__restrict__ A, const T *__restrict__ x, T *__restrict__ y, float *__restrict__ part,
	    int64_t rows, int64_t k, int64_t nw, int split, int64_t chunk)
{
	__shared__ float wsum[NWARPS];
	const int lane = threadIdx.x % ROW_THREADS, group = threadIdx.x / ROW_THREADS;
	const int64_t groups = (rows + RPB - 1) / RPB;
	const W *xw = reinterpret_cast<const W *>(x);
	/* Every thread of the block runs the same iterations (the barriers below). */
	for (int64_t item = blockIdx.x; item < groups * split; item += gridDim.x) {
		const int slice = (int)(item % split);
		const int64_t r = (item / split) * RPB + group;
		const int64_t w0 = (int64_t)slice * chunk;
		const int64_t w1 = w0 + chunk < nw ? w0 + chunk : nw;
		float s = 0.0f;
		if (r < rows && w0 < w1)
			s = row_share<T, W>(reinterpret_cast<const W *>(A + r * k), xw, w0, w1, lane);
		/* A fixed tree over the row's group of warps (wsum: one float per
		 * warp of the block, free again on return). */
		if (ROW_THREADS > 32)
			s = kb_block_reduce<ROW_THREADS / 32>(s, wsum, kb_sum(), 0.0f);
		else
			s = kb_warp_reduce(s, kb_sum());
		if (lane == 0 && r < rows) {
			if (split == 1)
				y[r] = from_float<T>(s);
			else
				part[r * split + slice] = s;
		}
	}
}

/* The second pass of a split row: its slices' sums, in slice order. */
template <typename T>
__global__ void __launch_bounds__(256)
gemv_finish(const float *__restrict__ part, T *__restrict__ y, int64_t rows, int split)
{
	for (int64_t r = (int64_t)blockIdx.x * 256 + threadIdx.x; r < rows; r += (int64_t)gridDim.x * 256) {
		float s = 0.0f;
		for (int k = 0; k < split; k++)
			s += part[r * split + k];
		y[r] = from_float<T>(s);
	}
}

/* ---- launch ---- */

static unsigned grid_of(int64_t items)
{
	if (items < 1)
		return 1;
	return (unsigned)(items > 2147483647LL ? 2147483647LL : items);
}

/* Slices per row: SPLIT_K, or by shape the most that still leave the blocks
 * within one wave of resident blocks (THREADS-thread blocks, 2048 threads a
 * SM) and every slice a full pass of the group's unrolled loads; fewer where
 * the scratch would not hold the rows' sums. */
static int split_of(int64_t rows, int64_t nw, int *split)
{
	int s = SPLIT_K;
	if (s == 0) {
		static int sms = 0;   /* the device's, asked once */
		if (sms == 0)
			sms = kb_sm_count();
		if (sms == 0)
			return KB_ERR_LAUNCH;
		const int64_t wave = (int64_t)sms * (2048 / THREADS);
		const int64_t groups = (rows + RPB - 1) / RPB;
		s = 1;
		while (s < 32 && groups * s * 2 <= wave && nw / (s * 2) >= (int64_t)ROW_THREADS * UNROLL)
			s *= 2;
	}
	while (s > 1 && rows * s > GEMV_MAX_PARTS)
		s /= 2;
	*split = s;
	return KB_OK;
}

template <typename T, typename W>
static int run(const T *A, const T *x, T *y, int64_t rows, int64_t k, cudaStream_t st)
{
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	const int64_t nw = k / E;
	int split = 1;
	int rc = split_of(rows, nw, &split);
	if (rc)
		return rc;
	const int64_t chunk = (nw + split - 1) / split;
	const int64_t groups = (rows + RPB - 1) / RPB;
	/* The slices' sums: the call's own, on its stream (see the top). */
	float *part = NULL;
	if (split > 1) {
		kb_keep_pool_mapped();
		if (cudaMallocAsync((void **)&part, (size_t)(rows * split) * sizeof(float), st) != cudaSuccess)
			return KB_ERR_LAUNCH;
	}
	gemv_kernel<T, W><<<grid_of(groups * split), THREADS, 0, st>>>(A, x, y, part, rows, k, nw, split, chunk);
	if (cudaGetLastError() != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	if (!rc && split > 1) {
		gemv_finish<T><<<grid_of((rows + 255) / 256), 256, 0, st>>>(part, y, rows, split);
		if (cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
	if (part && cudaFreeAsync(part, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}

template <typename T>
static int launch(const T *A, const T *x, T *y, int64_t rows, int64_t k, cudaStream_t st)
{
	typedef typename word_t<VEC>::T W;
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	const bool wide = E > 1 && k % E == 0 && (uintptr_t)A % sizeof(W) == 0 && (uintptr_t)x % sizeof(W) == 0;
	return wide ? run<T, W>(A, x, y, rows, k, st) : run<T, T>(A, x, y, rows, k, st);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 2 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *a = &in[0], *x = &in[1];
	kb_tensor *y = &out[0];
	if (!kb_takes_dtype(a->dtype))
		return KB_ERR_SHAPE;
	if (x->dtype != a->dtype || y->dtype != a->dtype)
		return KB_ERR_SHAPE;
	if (a->ndim < 2 || a->ndim > KBREED_MAX_DIMS || x->ndim < 1 || x->ndim > KBREED_MAX_DIMS ||
	    y->ndim < 0 || y->ndim > KBREED_MAX_DIMS)
		return KB_ERR_SHAPE;
	/* A (rows, K), x K elements, y one per row (recognition saw to their order). */
	const int64_t k = a->shape[a->ndim - 1];
	int64_t rows = 1;
	for (int d = 0; d < a->ndim - 1; d++) {
		if (a->shape[d] < 0)
			return KB_ERR_SHAPE;
		rows *= a->shape[d];
	}
	for (int d = 0; d < x->ndim; d++)
		if (x->shape[d] < 0)
			return KB_ERR_SHAPE;
	for (int d = 0; d < y->ndim; d++)
		if (y->shape[d] < 0)
			return KB_ERR_SHAPE;
	if (k < 0 || kb_numel(x) != k || kb_numel(y) != rows)
		return KB_ERR_SHAPE;
	if (rows == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	switch (a->dtype) {
	case KB_F32:
		return launch<float>((const float *)a->data, (const float *)x->data, (float *)y->data, rows, k, st);
#if !KB_F32_ONLY
	case KB_F16:
		return launch<__half>((const __half *)a->data, (const __half *)x->data, (__half *)y->data, rows, k, st);
	default:
		return launch<__nv_bfloat16>((const __nv_bfloat16 *)a->data, (const __nv_bfloat16 *)x->data,
					     (__nv_bfloat16 *)y->data, rows, k, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
