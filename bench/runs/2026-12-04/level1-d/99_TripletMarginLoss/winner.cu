// kbreed winner for 99_TripletMarginLoss: 0.7190 ms on NVIDIA H200 = 429% of PyTorch eager (3.0869 ms), 106% of the floor.
// Run 13, candidate 1127, round 2. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template loss_reduce
#define KB_LOSS_OP KB_LOSS_TRIPLET
#define KB_LOSS_REDUCTION KB_LOSS_MEAN
#define KB_LOSS_MARGIN (1)
#define KB_LOSS_EPS (9.9999999999999995e-07)
#define KB_LOSS_ROWS 1
#define KB_F32_ONLY 1
#define THREADS 128
#define VEC 4
#define UNROLL 8
#define BLOCKS_PER_SM 4
#define PER_ROW 0
#define STREAM 0
// kbreed-template: loss_reduce
// family: loss
// problems: mse_loss huber_loss kl_div triplet_margin_loss cosine_similarity_loss hinge_loss cross_entropy
// requires: KB_LOSS_OP
// knob THREADS: 128 256 512 1024 | default 512 | category parallelism | threads per block
// knob VEC: 1 2 4 | default 4 | category memory access | 4-byte words per load (4, 8 or 16 bytes: 1, 2 or 4 floats, 2, 4 or 8 halves)
// knob UNROLL: 1 2 4 8 | default 4 | category asynchronous operations and latency hiding | words of each input a thread has in flight before it combines any
// knob BLOCKS_PER_SM: 1 2 4 8 | default 2 | category parallelism | resident blocks aimed for per SM: the grid is SMs x this, or fewer when the work is small
// knob PER_ROW: 0 1 2 | default 0 | category parallelism | row losses (triplet, cosine, cross-entropy): threads per row, 0 = by shape (a warp for rows up to 32 words a lane, else the block), 1 = a warp, 2 = the whole block
// knob STREAM: 0 1 | default 0 | category memory access | 1 = streaming loads (__ldcs, evict-first): every input byte is read once
/*
 * loss_reduce.cu - a loss to its scalar in one pass: every input element is
 * read once, each element's (or each row's) term is added up in double, and
 * the blocks' partial sums meet in the last block to finish (a grid-wide
 * reduction with an atomic ticket), which divides by the reduction's count
 * and writes the one output element. fp32, fp16 or bf16 inputs, any shape.
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is the
 * Huber loss with delta 1, mean:
 *   KB_LOSS_OP         which loss (below)
 *   KB_LOSS_REDUCTION  KB_LOSS_MEAN (the sum over the terms' count),
 *                      KB_LOSS_SUM, or KB_LOSS_BATCHMEAN (kl_div: the sum
 *                      over in[0].shape[0])
 *   KB_LOSS_BETA       smooth_l1_loss's beta
 *   KB_LOSS_DELTA      huber_loss's delta
 *   KB_LOSS_LOG_INPUT  kl_div: 1 = in[0] holds probabilities and the graph
 *                      takes their log (kl_div(torch.log(p), t)); 0 = in[0]
 *                      is the log-probability input itself
 *   KB_LOSS_LOG_TARGET kl_div's log_target
 *   KB_LOSS_MARGIN     triplet_margin_loss's margin
 *   KB_LOSS_EPS        triplet: added to each difference (pairwise_distance);
 *                      cosine: the floor of each norm
 *   KB_LOSS_IGNORE_INDEX  cross_entropy's ignore_index
 *   KB_LOSS_ROWS       1 for a loss of a term per row (triplet, cosine,
 *                      cross-entropy): read by the catalogue's row ideas,
 *                      not here
 *
 * The terms, as PyTorch computes them (x = in[0], y = in[1], d = x - y):
 *   KB_LOSS_MSE        d^2
 *   KB_LOSS_SMOOTH_L1  |d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta
 *   KB_LOSS_HUBER      |d| < delta ? 0.5 d^2 : delta (|d| - 0.5 delta)
 *   KB_LOSS_KL_DIV     xlogy(y, y) - y * L, L = log(x) or x (LOG_INPUT;
 *                      then y log(y / x) where that is finite and normal);
 *                      log_target: exp(y) * (y - L)
 *   KB_LOSS_HINGE      max(1 - x * y, 0)
 *   a row (the last dim, D elements) per term:
 *   KB_LOSS_TRIPLET    max(margin + ||a - p + eps|| - ||a - n + eps||, 0),
 *                      a, p, n = in[0..2], the 2-norm along the row
 *   KB_LOSS_COSINE     1 - sum(x y) / (max(||x||, eps) max(||y||, eps))
 *   KB_LOSS_CROSS_ENTROPY  logsumexp(x) - x[t], x = in[0] (B, C) the logits
 *                      of a row, t = in[1] (B,) its int64 class; a row whose
 *                      t is ignore_index adds nothing, and the mean is over
 *                      the rows that are not (no weights, no label
 *                      smoothing); a t out of [0, C) gives NaN (torch stops
 *                      with a device assert)
 * A NaN anywhere gives NaN (every clamp here is written so that it keeps a
 * NaN, as torch's clamp does); no input is clamped or assumed finite.
 *
 * Layout (contiguous, row-major): the inputs share one shape (no
 * broadcast: recognition writes no KB_LOSS_OP for a broadcast graph),
 * but for cross-entropy's (B, C) logits and (B,) classes; out[0] is 0-d,
 * in in[0]'s dtype.
 *
 * Strategy. Element losses: the blocks grid-stride over 4*VEC-byte words
 * of all inputs at once, UNROLL words of each in flight per thread; the E
 * terms of a word are added in float and that sum into a double, so the
 * result carries no more than a word's rounding however long the input (the
 * reference is computed in float64 and rounded once: docs/EVALUATION.md).
 * The elements past the last whole word are taken one at a time. Row
 * losses: a warp or the block per row (PER_ROW) walks its rows' words,
 * keeping the row's sums in double, meets by shuffles (and shared memory for
 * a block), and its first thread adds the row's term; cross-entropy keeps a
 * running maximum and the sum of exponentials below it (one pass), merged
 * pairwise. Either way each block
 * then sums its threads in double and writes its partial to scratch; the
 * last block to take a ticket adds the partials in a fixed order (the
 * result does not depend on which block finished last) and writes the
 * output. The partials and the ticket are the call's own (cudaMallocAsync
 * on its stream, the ticket zeroed there by cudaMemsetAsync, all freed by
 * cudaFreeAsync on the stream after the kernel), so that calls on several
 * streams at once do not share them. The word path needs every input
 * aligned to the word (and, for rows, D a multiple of the word's
 * elements); otherwise the one-element instantiation runs.
 */
#ifndef THREADS
#define THREADS 512
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
#ifndef BLOCKS_PER_SM
#define BLOCKS_PER_SM 2
#endif
#ifndef PER_ROW
#define PER_ROW 0
#endif
#ifndef STREAM
#define STREAM 0
#endif

/* The losses and reductions, as recognition names them. */
#define KB_LOSS_MSE 0
#define KB_LOSS_SMOOTH_L1 1
#define KB_LOSS_HUBER 2
#define KB_LOSS_KL_DIV 3
#define KB_LOSS_HINGE 4
#define KB_LOSS_TRIPLET 5
#define KB_LOSS_COSINE 6
#define KB_LOSS_CROSS_ENTROPY 7
#define KB_LOSS_MEAN 1   /* torch's reduction enum: 1 mean, 2 sum */
#define KB_LOSS_SUM 2
#define KB_LOSS_BATCHMEAN 3
#ifndef KB_LOSS_OP
#define KB_LOSS_OP KB_LOSS_HUBER
#define KB_LOSS_REDUCTION KB_LOSS_MEAN
#define KB_LOSS_DELTA 1
#endif
#ifndef KB_LOSS_REDUCTION
#define KB_LOSS_REDUCTION KB_LOSS_MEAN
#endif
#ifndef KB_LOSS_BETA
#define KB_LOSS_BETA 1
#endif
#ifndef KB_LOSS_DELTA
#define KB_LOSS_DELTA 1
#endif
#ifndef KB_LOSS_LOG_INPUT
#define KB_LOSS_LOG_INPUT 0
#endif
#ifndef KB_LOSS_LOG_TARGET
#define KB_LOSS_LOG_TARGET 0
#endif
#ifndef KB_LOSS_MARGIN
#define KB_LOSS_MARGIN 1
#endif
#ifndef KB_LOSS_EPS
#define KB_LOSS_EPS 1e-6
#endif
#ifndef KB_LOSS_IGNORE_INDEX
#define KB_LOSS_IGNORE_INDEX (-100)
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <type_traits>
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
static_assert(UNROLL >= 1 && UNROLL <= 8, "UNROLL");
static_assert(BLOCKS_PER_SM >= 1 && BLOCKS_PER_SM <= 32, "BLOCKS_PER_SM");
static_assert(PER_ROW >= 0 && PER_ROW <= 2, "PER_ROW is 0, 1 or 2");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(KB_LOSS_OP >= KB_LOSS_MSE && KB_LOSS_OP <= KB_LOSS_CROSS_ENTROPY, "KB_LOSS_OP");
static_assert(KB_LOSS_REDUCTION >= KB_LOSS_MEAN && KB_LOSS_REDUCTION <= KB_LOSS_BATCHMEAN, "KB_LOSS_REDUCTION");

KBREED_CANDIDATE_ABI

#define ROWS (KB_LOSS_OP == KB_LOSS_TRIPLET || KB_LOSS_OP == KB_LOSS_COSINE)
#define CE (KB_LOSS_OP == KB_LOSS_CROSS_ENTROPY)
#define N_IN (KB_LOSS_OP == KB_LOSS_TRIPLET ? 3 : 2)
#define NWARPS (THREADS / 32)
#define LOSS_MAX_GRID 4096

/* A call's grid-wide state, in its own scratch (see the top). */
struct grid_state {
	double2 *part;    /* a partial (sum, count) per block */
	unsigned *ticket; /* blocks done; zeroed before the kernel */
};

/* ---- the terms ---- */

/* max(v, 0) that keeps a NaN, as torch's clamp_min does. */
__device__ __forceinline__ float clamp0(float v) { return v < 0.0f ? 0.0f : v; }
__device__ __forceinline__ double clamp0(double v) { return v < 0.0 ? 0.0 : v; }

/* One element's term of an element loss, in float (x, y widened). */
__device__ __forceinline__ float term(float x, float y)
{
#if KB_LOSS_OP == KB_LOSS_MSE
	const float d = x - y;
	return d * d;
#elif KB_LOSS_OP == KB_LOSS_SMOOTH_L1
	const float z = fabsf(x - y);
	return z < (float)KB_LOSS_BETA ? 0.5f * z * z / (float)KB_LOSS_BETA : z - 0.5f * (float)KB_LOSS_BETA;
#elif KB_LOSS_OP == KB_LOSS_HUBER
	const float z = fabsf(x - y);
	return z < (float)KB_LOSS_DELTA ? 0.5f * z * z : (float)KB_LOSS_DELTA * (z - 0.5f * (float)KB_LOSS_DELTA);
#elif KB_LOSS_OP == KB_LOSS_KL_DIV
#if KB_LOSS_LOG_INPUT && !KB_LOSS_LOG_TARGET
	/* y log y - y log x as y log(y / x): the two logs nearly cancel where
	 * x is close to y, and their float roundings would not; the quotient
	 * carries one rounding, relative to the result. Zeros, negatives,
	 * infinities and quotients out of the normal range take the literal
	 * form below, whose NaNs and infinities are torch's. */
	const float r = y / x;
	if (y > 0.0f && r >= 1.17549435e-38f && r <= 3.40282347e38f && y <= 3.40282347e38f)
		return y * logf(r);
#endif
	const float l = KB_LOSS_LOG_INPUT ? logf(x) : x;
#if KB_LOSS_LOG_TARGET
	return expf(y) * (y - l);
#else
	/* xlogy(y, y): NaN for a NaN y, 0 for y == 0, else y log y. */
	const float yly = y == 0.0f ? 0.0f : y * logf(y);
	return yly - y * l;
#endif
#elif KB_LOSS_OP == KB_LOSS_HINGE
	return clamp0(1.0f - x * y);
#else
	return 0.0f;   /* row losses: see row_term */
#endif
}

/* The sums a row loss keeps per row, and the row's term from them. */
#define ROW_SUMS 3
__device__ __forceinline__ void row_add(float *s, float a, float b, float c)
{
#if KB_LOSS_OP == KB_LOSS_TRIPLET
	const float dp = a - b + (float)KB_LOSS_EPS, dn = a - c + (float)KB_LOSS_EPS;
	s[0] = fmaf(dp, dp, s[0]);
	s[1] = fmaf(dn, dn, s[1]);
#else
	s[0] = fmaf(a, b, s[0]);
	s[1] = fmaf(a, a, s[1]);
	s[2] = fmaf(b, b, s[2]);
#endif
}

__device__ __forceinline__ double row_term(const double *s)
{
#if KB_LOSS_OP == KB_LOSS_TRIPLET
	return clamp0((double)KB_LOSS_MARGIN + sqrt(s[0]) - sqrt(s[1]));
#else
	const double eps = (double)KB_LOSS_EPS;
	double n1 = sqrt(s[1]), n2 = sqrt(s[2]);
	n1 = n1 < eps ? eps : n1;
	n2 = n2 < eps ? eps : n2;
	return 1.0 - s[0] / (n1 * n2);
#endif
}

/* A row's ROW_SUMS sums, reduced together (one pair of barriers for all). */
struct row_sums_t {
	double v[ROW_SUMS];
};

struct row_sums_add {
	__device__ __forceinline__ row_sums_t operator()(row_sums_t a, row_sums_t b) const
	{
#pragma unroll
		for (int q = 0; q < ROW_SUMS; q++)
			a.v[q] += b.v[q];
		return a;
	}
};

/* ---- sums across a block, the grid ---- */

/* The block's total, valid in every thread (kb_block_reduce: every thread
 * of the block calls it; sh holds NWARPS doubles). */
static __device__ __forceinline__ double block_sum(double v, double *sh)
{
	return kb_block_reduce<NWARPS>(v, sh, kb_sum(), 0.0);
}

/* Adds the block's acc (and cnt, the rows it counted: cross-entropy) to
 * the grid's totals; the last block writes total / div to y, or total /
 * count for cross-entropy's mean. The partials are added in block order by
 * a fixed tree, whichever block comes last. */
template <typename T>
static __device__ __forceinline__ void grid_finish(double acc, double cnt, T *__restrict__ y, double div,
						   grid_state gs)
{
	__shared__ double sh[NWARPS];
	__shared__ bool last;
	acc = block_sum(acc, sh);
	if (CE)
		cnt = block_sum(cnt, sh);
	if (threadIdx.x == 0) {
		gs.part[blockIdx.x] = make_double2(acc, cnt);
		__threadfence();
		last = atomicAdd(gs.ticket, 1u) == gridDim.x - 1;
	}
	__syncthreads();
	if (!last)
		return;
	__threadfence();
	double a = 0.0, c = 0.0;
	for (int k = threadIdx.x; k < (int)gridDim.x; k += THREADS) {
		const double2 p = __ldcg(&gs.part[k]);
		a += p.x;
		c += p.y;
	}
	a = block_sum(a, sh);
	if (CE)
		c = block_sum(c, sh);
	if (threadIdx.x == 0)
		y[0] = from_float<T>((float)(a / (CE && KB_LOSS_REDUCTION == KB_LOSS_MEAN ? c : div)));
}

/* ---- element losses ---- */

/* The terms of n elements of x and y, W a word (or T
 * itself for the one-element path). */
template <typename T, typename W>
__global__ void __launch_bounds__(THREADS)
loss_elems(const T *__restrict__ x, const T *__restrict__ y, T *__restrict__ out, int64_t n, double div,
	   grid_state gs)
{
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	const int64_t nw = n / E;
	const W *xw = reinterpret_cast<const W *>(x), *yw = reinterpret_cast<const W *>(y);
	const int64_t stride = (int64_t)gridDim.x * THREADS;
	double acc = 0.0;
	for (int64_t k = (int64_t)blockIdx.x * THREADS + threadIdx.x; k < nw; k += stride * UNROLL) {
		W a[UNROLL], b[UNROLL];
#pragma unroll
		for (int u = 0; u < UNROLL; u++)
			if (k + u * stride < nw) {
				a[u] = ld_word<STREAM>(xw + k + u * stride);
				b[u] = ld_word<STREAM>(yw + k + u * stride);
			}
#pragma unroll
		for (int u = 0; u < UNROLL; u++) {
			if (k + u * stride >= nw)
				break;
			T ea[E], eb[E];
			memcpy(ea, &a[u], sizeof a[u]);
			memcpy(eb, &b[u], sizeof b[u]);
			float s = 0.0f;
#pragma unroll
			for (int j = 0; j < E; j++)
				s += term(to_float(ea[j]), to_float(eb[j]));
			acc += (double)s;
		}
	}
	/* The elements past the last whole word. */
	for (int64_t i = nw * E + (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride)
		acc += (double)term(to_float(x[i]), to_float(y[i]));
	grid_finish(acc, 0.0, out, div, gs);
}

/* ---- row losses ---- */

/* G = 32: a warp per row, THREADS / 32 rows per block at a time; G =
 * THREADS: the block per row. Each row's sums are kept in double per
 * thread (a word's products in float), combined across the group, and the
 * group's first thread adds the row's term. */
template <typename T, typename W, int G>
__global__ void __launch_bounds__(THREADS)
loss_rows(const T *__restrict__ a, const T *__restrict__ b, const T *__restrict__ c, T *__restrict__ out,
	  int64_t rows, int64_t D, double div, grid_state gs)
{
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	constexpr int GROUPS = THREADS / G;
	__shared__ row_sums_t part[NWARPS];
	const int lane = threadIdx.x % G, group = threadIdx.x / G;
	const int64_t nw = D / E;   /* D % E == 0 on the word path */
	double acc = 0.0;
	/* Every thread of the block runs the same iterations (the barriers). */
	for (int64_t first = (int64_t)blockIdx.x * GROUPS; first < rows; first += (int64_t)gridDim.x * GROUPS) {
		const int64_t r = first + group;
		row_sums_t s = { { 0.0, 0.0, 0.0 } };
		if (r < rows) {
			const W *aw = reinterpret_cast<const W *>(a + r * D);
			const W *bw = reinterpret_cast<const W *>(b + r * D);
			const W *cw = reinterpret_cast<const W *>((N_IN == 3 ? c : b) + r * D);
			for (int64_t k = lane; k < nw; k += G * UNROLL) {
				W wa[UNROLL], wb[UNROLL], wc[UNROLL];
#pragma unroll
				for (int u = 0; u < UNROLL; u++)
					if (k + u * G < nw) {
						wa[u] = ld_word<STREAM>(aw + k + u * G);
						wb[u] = ld_word<STREAM>(bw + k + u * G);
						if (N_IN == 3)
							wc[u] = ld_word<STREAM>(cw + k + u * G);
					}
#pragma unroll
				for (int u = 0; u < UNROLL; u++) {
					if (k + u * G >= nw)
						break;
					T ea[E], eb[E], ec[E];
					memcpy(ea, &wa[u], sizeof wa[u]);
					memcpy(eb, &wb[u], sizeof wb[u]);
					if (N_IN == 3)
						memcpy(ec, &wc[u], sizeof wc[u]);
					float f[ROW_SUMS] = { 0.0f, 0.0f, 0.0f };
#pragma unroll
					for (int j = 0; j < E; j++)
						row_add(f, to_float(ea[j]), to_float(eb[j]), N_IN == 3 ? to_float(ec[j]) : 0.0f);
#pragma unroll
					for (int q = 0; q < ROW_SUMS; q++)
						s.v[q] += (double)f[q];
				}
			}
		}
		if (G > 32) {
			const row_sums_t zero = { { 0.0, 0.0, 0.0 } };
			s = kb_block_reduce<NWARPS>(s, part, row_sums_add(), zero);
		} else {
			s = kb_warp_reduce(s, row_sums_add());
		}
		if (lane == 0 && r < rows)
			acc += row_term(s.v);
	}
	grid_finish(acc, 0.0, out, div, gs);
}

/* ---- cross-entropy: logsumexp of a row less its class's logit ---- */

/* A row's running maximum m and the sum s of exp(v - m) of what it saw. An
 * equal maximum adds 1 (so -inf and +inf rows stay finite in s, as their
 * logsumexp is -inf or +inf in torch too); a NaN makes s NaN. */
struct lse_t {
	float m, s;
};

__device__ __forceinline__ void lse_add(lse_t &a, float v)
{
	if (v > a.m) {
		a.s = a.s * expf(a.m - v) + 1.0f;
		a.m = v;
	} else {
		a.s += v == a.m ? 1.0f : expf(v - a.m);
	}
}

__device__ __forceinline__ lse_t lse_merge(lse_t a, lse_t b)
{
	const float m = a.m > b.m ? a.m : b.m;
	lse_t r;
	r.m = m;
	r.s = (a.m == m ? a.s : a.s * expf(a.m - m)) + (b.m == m ? b.s : b.s * expf(b.m - m));
	return r;
}

/* lse_merge as a combine op: commutative bit for bit (the larger maximum,
 * then a sum of two terms), (-inf, 0) its identity. */
struct lse_merge_op {
	__device__ __forceinline__ lse_t operator()(lse_t a, lse_t b) const { return lse_merge(a, b); }
};

/* G threads per row (a warp, or the block), as loss_rows. */
template <typename T, typename W, int G>
__global__ void __launch_bounds__(THREADS)
loss_ce(const T *__restrict__ x, const int64_t *__restrict__ tgt, T *__restrict__ out, int64_t rows, int64_t C,
	grid_state gs)
{
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	constexpr int GROUPS = THREADS / G;
	__shared__ lse_t part[NWARPS];
	const int lane = threadIdx.x % G, group = threadIdx.x / G;
	const int64_t nw = C / E;   /* C % E == 0 on the word path */
	double acc = 0.0, cnt = 0.0;
	for (int64_t first = (int64_t)blockIdx.x * GROUPS; first < rows; first += (int64_t)gridDim.x * GROUPS) {
		const int64_t r = first + group;
		lse_t a = { -INFINITY, 0.0f };
		if (r < rows) {
			const W *xw = reinterpret_cast<const W *>(x + r * C);
			for (int64_t k = lane; k < nw; k += G * UNROLL) {
				W w[UNROLL];
#pragma unroll
				for (int u = 0; u < UNROLL; u++)
					if (k + u * G < nw)
						w[u] = ld_word<STREAM>(xw + k + u * G);
#pragma unroll
				for (int u = 0; u < UNROLL; u++) {
					if (k + u * G >= nw)
						break;
					T e[E];
					memcpy(e, &w[u], sizeof w[u]);
#pragma unroll
					for (int j = 0; j < E; j++)
						lse_add(a, to_float(e[j]));
				}
			}
		}
		if (G > 32) {
			const lse_t empty = { -INFINITY, 0.0f };
			a = kb_block_reduce<NWARPS>(a, part, lse_merge_op(), empty);
		} else {
			a = kb_warp_reduce(a, lse_merge_op());
		}
		if (lane == 0 && r < rows) {
			const int64_t t = tgt[r];
			if (t != (int64_t)KB_LOSS_IGNORE_INDEX) {
				const double xt = t >= 0 && t < C ? (double)to_float(x[r * C + t]) : (double)NAN;
				acc += (double)a.m + log((double)a.s) - xt;
				cnt += 1.0;
			}
		}
	}
	grid_finish(acc, cnt, out, 1.0, gs);   /* sum: divided by 1; mean: by cnt */
}

/* ---- launch ---- */

static int sm_count()
{
	static int n = 0;
	if (n == 0)
		n = kb_sm_count();
	if (n == 0)
		n = 132;
	return n;
}

/* Blocks for work of `units` (words, or rows over the rows per block). */
static unsigned grid_of(int64_t units)
{
	int64_t g = (int64_t)sm_count() * BLOCKS_PER_SM;
	if (g > LOSS_MAX_GRID)
		g = LOSS_MAX_GRID;
	if (units < g)
		g = units;
	return (unsigned)(g < 1 ? 1 : g);
}

/* The call's grid state for `grid` blocks, one allocation on st
 * ([grid partials][ticket]), the ticket zeroed on st; *mem is what the
 * caller frees with cudaFreeAsync on st. On failure nothing is left
 * allocated. */
static int state_new(unsigned grid, cudaStream_t st, grid_state *gs, void **mem)
{
	const size_t part_bytes = (size_t)grid * sizeof(double2);
	void *p = NULL;
	kb_keep_pool_mapped();
	if (cudaMallocAsync(&p, part_bytes + sizeof(unsigned), st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	gs->part = (double2 *)p;
	gs->ticket = (unsigned *)((char *)p + part_bytes);
	if (cudaMemsetAsync(gs->ticket, 0, sizeof(unsigned), st) != cudaSuccess) {
		cudaFreeAsync(p, st);
		return KB_ERR_LAUNCH;
	}
	*mem = p;
	return KB_OK;
}

template <typename T>
static int launch(const kb_tensor *in, T *out, int64_t n, int64_t rows, int64_t D, double div, cudaStream_t st)
{
	typedef typename word_t<VEC>::T W;
	constexpr int E = (int)(sizeof(W) / sizeof(T));
	bool wide = E > 1;
	for (int i = 0; i < N_IN; i++)
		wide = wide && (uintptr_t)in[i].data % sizeof(W) == 0;
	const T *a = (const T *)in[0].data, *b = (const T *)in[1].data;
	const T *c = N_IN == 3 ? (const T *)in[2].data : nullptr;
	/* The grid and the instantiation. */
#if CE
	(void)c;
	(void)n;
	(void)div;
	(void)b;
	wide = E > 1 && (uintptr_t)in[0].data % sizeof(W) == 0 && D % E == 0;
	const int64_t per_lane = (D / (wide ? E : 1) + 31) / 32;
	const bool warp = PER_ROW == 1 || (PER_ROW == 0 && per_lane <= 32);
	const int groups = warp ? NWARPS : 1;
	const unsigned grid = grid_of((rows + groups - 1) / groups);
	const int64_t *t = (const int64_t *)in[1].data;
#elif ROWS
	wide = wide && D % E == 0;
	const int64_t per_lane = (D / (wide ? E : 1) + 31) / 32;
	const bool warp = PER_ROW == 1 || (PER_ROW == 0 && per_lane <= 32);
	const int groups = warp ? NWARPS : 1;
	const unsigned grid = grid_of((rows + groups - 1) / groups);
#else
	(void)c;
	(void)rows;
	(void)D;
	const unsigned grid = grid_of((n / (wide ? E : 1) + THREADS - 1) / THREADS);
#endif
	/* The call's own partials and ticket, on its stream (see the top). */
	grid_state gs;
	void *mem = NULL;
	int rc = state_new(grid, st, &gs, &mem);
	if (rc)
		return rc;
#if CE
	if (warp && wide)
		loss_ce<T, W, 32><<<grid, THREADS, 0, st>>>(a, t, out, rows, D, gs);
	else if (warp)
		loss_ce<T, T, 32><<<grid, THREADS, 0, st>>>(a, t, out, rows, D, gs);
	else if (wide)
		loss_ce<T, W, THREADS><<<grid, THREADS, 0, st>>>(a, t, out, rows, D, gs);
	else
		loss_ce<T, T, THREADS><<<grid, THREADS, 0, st>>>(a, t, out, rows, D, gs);
#elif ROWS
	if (warp && wide)
		loss_rows<T, W, 32><<<grid, THREADS, 0, st>>>(a, b, c, out, rows, D, div, gs);
	else if (warp)
		loss_rows<T, T, 32><<<grid, THREADS, 0, st>>>(a, b, c, out, rows, D, div, gs);
	else if (wide)
		loss_rows<T, W, THREADS><<<grid, THREADS, 0, st>>>(a, b, c, out, rows, D, div, gs);
	else
		loss_rows<T, T, THREADS><<<grid, THREADS, 0, st>>>(a, b, c, out, rows, D, div, gs);
#else
	if (wide)
		loss_elems<T, W><<<grid, THREADS, 0, st>>>(a, b, out, n, div, gs);
	else
		loss_elems<T, T><<<grid, THREADS, 0, st>>>(a, b, out, n, div, gs);
#endif
	if (cudaGetLastError() != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	if (cudaFreeAsync(mem, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != N_IN || n_out != 1 || out[0].ndim != 0)
		return KB_ERR_SHAPE;
	const int dt = in[0].dtype;
	if (!kb_takes_dtype(dt) || out[0].dtype != dt)
		return KB_ERR_SHAPE;
	/* One shape for all inputs; for cross-entropy (B, C) and (B,) int64. */
	if (CE && (in[0].ndim != 2 || in[1].dtype != KB_I64 || in[1].ndim != 1 || in[1].shape[0] != in[0].shape[0]))
		return KB_ERR_SHAPE;
	for (int i = 1; i < N_IN && !CE; i++)
		if (in[i].dtype != dt || !kb_same_shape(&in[0], &in[i]))
			return KB_ERR_SHAPE;
	const int64_t n = kb_numel(&in[0]);
	if (n < 0)
		return KB_ERR_SHAPE;
	/* Rows of D (row losses: the last dim) and what the sum is divided by. */
	const int64_t D = in[0].ndim > 0 ? in[0].shape[in[0].ndim - 1] : 1;
	int64_t rows = 1;
	for (int d = 0; d + 1 < in[0].ndim; d++)
		rows *= in[0].shape[d];
	double div = 1.0;
#if ROWS
	if (KB_LOSS_REDUCTION == KB_LOSS_MEAN)
		div = (double)rows;   /* no rows: 0 / 0, NaN as torch's mean of nothing */
#else
	if (KB_LOSS_REDUCTION == KB_LOSS_MEAN)
		div = (double)n;
	else if (KB_LOSS_REDUCTION == KB_LOSS_BATCHMEAN)
		div = in[0].ndim > 0 ? (double)in[0].shape[0] : 1.0;
#endif
	cudaStream_t st = (cudaStream_t)stream;
	switch (dt) {
	case KB_F32:
		return launch<float>(in, (float *)out[0].data, n, rows, D, div, st);
#if !KB_F32_ONLY
	case KB_F16:
		return launch<__half>(in, (__half *)out[0].data, n, rows, D, div, st);
	default:
		return launch<__nv_bfloat16>(in, (__nv_bfloat16 *)out[0].data, n, rows, D, div, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
