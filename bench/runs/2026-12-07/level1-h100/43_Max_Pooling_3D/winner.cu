// kbreed winner for 43_Max_Pooling_3D: 1.5464 ms on NVIDIA H100 80GB HBM3 = 253% of PyTorch eager (3.9174 ms), 103% of the floor.
// Run 1, candidate 2, round 0. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template pool_nd
#define POOL 3
#define POOL_D 3
#define POOL_H 3
#define POOL_W 3
#define POOL_STRIDE 2
#define POOL_STRIDE_D 2
#define POOL_STRIDE_H 2
#define POOL_STRIDE_W 2
#define POOL_PAD 1
#define POOL_PAD_D 1
#define POOL_PAD_H 1
#define POOL_PAD_W 1
#define POOL_DIL 3
#define POOL_DIL_D 3
#define POOL_DIL_H 3
#define POOL_DIL_W 3
#define POOL_CEIL 0
#define POOL_OP POOL_OP_MAX
#define KB_F32_ONLY 1
#define THREADS 256
#define OPT 4
#define WINDOW 1
#define VEC 4
#define STREAM 0
#define ROWS 0
#define TILE_H 16
// kbreed-template: pool_nd
// family: pool
// problems: maxpool1d maxpool2d maxpool3d avgpool1d avgpool2d avgpool3d
// requires: POOL_OP
// knob THREADS: 64 128 256 512 1024 | default 256 | category parallelism | threads per block
// knob OPT: 1 2 4 8 | default 4 | category parallelism | adjacent outputs along the innermost axis computed by one thread
// knob WINDOW: 0 1 | default 1 | category memory access | 1 = a thread loads the input span its OPT outputs share once into registers (up to 64 elements), 0 = every output reads its own window
// knob VEC: 1 2 4 | default 4 | category memory access | 4-byte words per load of the register span (4, 8 or 16 bytes), used where OPT times the stride along W is a multiple of the word's elements and rows start on a word
// knob STREAM: 0 1 | default 0 | category memory access | 1 = streaming loads (__ldcs, evict-first): no window overlaps another's rows
// knob ROWS: 0 1 2 | default 1 | category memory access | 1 = a block reads the window's input rows whole (coalesced words), reduces them column by column into shared memory, then every output of the row from there; 0 = each thread reads its own outputs' spans; 2 = a block owns TILE_H output rows of one plane and walks the D axis, each input slice's tile read into shared memory once (no row read again for the next output row or slice)
// knob TILE_H: 4 8 16 32 | default 16 | category parallelism | ROWS=2 only: output rows of a block's tile (more rows, less of the window's halo read twice; fewer, more blocks)
// same: ROWS=0 TILE_H=4 as TILE_H=16
// same: ROWS=0 TILE_H=8 as TILE_H=16
// same: ROWS=0 TILE_H=32 as TILE_H=16
// same: ROWS=1 TILE_H=4 as TILE_H=16
// same: ROWS=1 TILE_H=8 as TILE_H=16
// same: ROWS=1 TILE_H=32 as TILE_H=16
// check: ROWS=2 TILE_H=4 THREADS=64 VEC=1
// check: ROWS=2 TILE_H=32 THREADS=1024
// start sm_90a POOL_D !POOL_INDICES: ROWS=0 THREADS=256 OPT=4
/*
 * pool_nd.cu - max and average pooling over the last 1, 2 or 3 dims (the
 * MaxPool1d/2d/3d and AvgPool1d/2d/3d modules, F.max_pool*, F.avg_pool*),
 * any window, stride, padding, dilation (max), ceil mode, count_include_pad
 * and divisor_override (avg); fp32, fp16 or bf16; batched or not.
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is a 3x3
 * max pool with stride 2 and padding 1 over the last two dims:
 *   POOL_OP              POOL_OP_MAX or POOL_OP_AVG
 *   POOL_W, _H, _D       the window per axis; _H and _D only for 2-D and 3-D
 *                        (which are defined says how many dims are pooled)
 *   POOL_STRIDE_W/_H/_D  the stride per axis
 *   POOL_PAD_W/_H/_D     the implicit padding on both sides per axis
 *   POOL_DIL_W/_H/_D     the dilation per axis (max only; 1 if not defined)
 *   POOL_CEIL            1 = ceil mode (the output's extents say it too)
 *   POOL_COUNT_PAD       avg: 1 = padded elements count in the divisor
 *   POOL_DIVISOR         avg: divisor_override, where the model sets one
 *
 * Layout (contiguous, row-major):
 *   in[0]  x  (..., ID, IH, IW): every dim before the pooled ones is a plane
 *             (N*C, or C for an unbatched input)
 *   out[0] y  (..., OD, OH, OW), x's dtype; fewer pooled dims drop D (and H)
 *   out[1] indices, int64, max only where the model returns them: the flat
 *             index of each maximum within its input plane (d*IH + h)*IW + w
 *
 * Semantics as PyTorch's:
 *   output extent  O = floor((I + 2P - DIL*(K-1) - 1 + (ceil ? S-1 : 0)) / S) + 1,
 *                  less one in ceil mode where the last window would start at or
 *                  past I + P (it must start inside the input or the left padding);
 *                  y's shape is checked against it
 *   max            window elements inside the input, in (d, h, w) order: a value
 *                  replaces the running maximum (from -inf) when it is greater or
 *                  NaN, so a NaN anywhere gives NaN, ties keep the first index and
 *                  NaNs the last; a window with no element inside gives -inf
 *                  and, like one of -infs only, the index of its first tap at
 *                  or past 0 on every axis
 *   avg            the float sum of the elements inside the input, divided by the
 *                  window's size clipped to I + P per axis (count_include_pad), or
 *                  by the number of elements inside (not), or by divisor_override
 *
 * Strategy: a thread owns OPT adjacent outputs of one output row (one plane,
 * od, oh). For each (kd, kh) of the window whose input row lies inside, it
 * either loads the span of that row all OPT outputs draw on into registers
 * once, (OPT-1)*S + DIL*(K-1) + 1 elements (WINDOW=1; with stride 1 that is
 * OPT + DIL*(K-1) loads for OPT*K uses, and elements no output uses are
 * never loaded), or reads each output's K elements (WINDOW=0, or a span over 64).
 * With OPT times the stride along W a multiple of a word's E elements and
 * every row starting on a word (IW a multiple of E, x aligned), the span is
 * read as 4*VEC-byte words: a thread's first input column is then -PW plus a
 * multiple of E, so the span starts (-PW) mod E elements into its first word, a compile-time
 * offset, and every word lies wholly inside the row or wholly outside.
 * Neighbouring threads own neighbouring runs of outputs, so a warp's loads
 * are one stretch of the input row, served from L1 where windows overlap.
 * Outside the input the span holds the op's neutral value (-inf, 0), so
 * every tap is taken without a test; the maximum is one max.NaN. Only a
 * model that returns the maxima's indices tracks them, in a kernel of its
 * own (INDEX) that tests each tap (an index is of a tap inside).
 * The window is a compile-time constant: every loop over it unrolls. Threads
 * grid-stride over (row, run of OPT) pairs; index math is 32-bit where the
 * count of pairs fits, input offsets are 64-bit.
 *
 * ROWS = 1 reads the input as the hardware likes it, whatever the stride:
 * a block owns a tile of one output row (up to ROW_SPAN input columns), and
 * its threads read each input row of the window in turn as consecutive
 * words (a warp's load is one stretch of the row), keeping per column the
 * maximum or sum over the window's rows (kd, kh) in registers; those column
 * results go to shared memory, and each output is then its window's columns
 * there. Max and sum are separable, so the value is the same (a sum up to
 * rounding order); the index of a maximum is not (its ties follow PyTorch's
 * row-major order), so a model that returns indices runs the ROWS = 0
 * kernel, as does a window wider than ROW_SPAN. Short rows share a block:
 * up to THREADS / 32 of them, each with whole warps that still cover its
 * words in one pass (a block per short row idles and waits on barriers; a
 * 3-D pool of 256-wide rows ran at 7% of its floor so); rows too short to
 * give even one warp a quarter of its threads' words run the ROWS = 0 kernel.
 *
 * ROWS = 2 reads each input element once per block that covers it, where
 * ROWS = 0 and 1 read an input row again for every output row whose window
 * takes it (a 3x3x3 window at stride 2: 2.25 times, from L2, which then
 * bounds the kernel: 43_Max_Pooling_3D ran at 59% of its DRAM floor). A
 * block owns a tile of TILE_H output rows by up to OW outputs (fewer where
 * the tile's input words would not fit the prefetch registers or its shared
 * memory SLAB_SMEM) of one plane, and walks the input slices along D that
 * some window takes, in order. Each slice's tile of input rows and columns
 * comes into registers while the previous one is reduced, then into shared
 * memory (neutral values outside the input); every position of the output
 * tile reduces its window's (kh, kw) taps from there into a ring of the
 * last DIL_D*(K_D-1)+1 reduced slices, and every output whose window's last
 * slice this was is reduced from the ring and written. Only the indices
 * of a maximum are not separable: a model that returns them runs the
 * ROWS = 0 kernel, as does a tile that fits nowhere.
 */
#ifndef THREADS
#define THREADS 256
#endif
#ifndef OPT
#define OPT 4
#endif
#ifndef WINDOW
#define WINDOW 1
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef STREAM
#define STREAM 0
#endif
#ifndef ROWS
#define ROWS 1
#endif
#ifndef TILE_H
#define TILE_H 16
#endif

/* The ops, as recognition names them in POOL_OP. */
#define POOL_OP_MAX 0
#define POOL_OP_AVG 1
#ifndef POOL_OP
#define POOL_OP POOL_OP_MAX
#define POOL_H 3
#define POOL_W 3
#define POOL_STRIDE_H 2
#define POOL_STRIDE_W 2
#define POOL_PAD_H 1
#define POOL_PAD_W 1
#define POOL_CEIL 0
#endif

/* How many dims are pooled, and every axis's parameters; an axis not
 * pooled is one of extent 1 (window 1, stride 1, no padding). */
#if defined(POOL_D)
#define DIMS 3
#elif defined(POOL_H)
#define DIMS 2
#else
#define DIMS 1
#endif
#ifndef POOL_D
#define POOL_D 1
#endif
#ifndef POOL_H
#define POOL_H 1
#endif
#ifndef POOL_STRIDE_D
#define POOL_STRIDE_D 1
#endif
#ifndef POOL_STRIDE_H
#define POOL_STRIDE_H 1
#endif
#ifndef POOL_STRIDE_W
#define POOL_STRIDE_W POOL_W
#endif
#ifndef POOL_PAD_D
#define POOL_PAD_D 0
#endif
#ifndef POOL_PAD_H
#define POOL_PAD_H 0
#endif
#ifndef POOL_PAD_W
#define POOL_PAD_W 0
#endif
#ifndef POOL_DIL_D
#define POOL_DIL_D 1
#endif
#ifndef POOL_DIL_H
#define POOL_DIL_H 1
#endif
#ifndef POOL_DIL_W
#define POOL_DIL_W 1
#endif
#ifndef POOL_CEIL
#define POOL_CEIL 0
#endif
#ifndef POOL_COUNT_PAD
#define POOL_COUNT_PAD 1
#endif
#ifndef POOL_DIVISOR
#define POOL_DIVISOR 0
#endif

#include <cuda_runtime.h>
#include <math.h>
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

static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 1024, "THREADS");
static_assert(OPT == 1 || OPT == 2 || OPT == 4 || OPT == 8, "OPT is 1, 2, 4 or 8");
static_assert(WINDOW == 0 || WINDOW == 1, "WINDOW is 0 or 1");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC is 1, 2 or 4");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(ROWS >= 0 && ROWS <= 2, "ROWS is 0, 1 or 2");
static_assert(TILE_H >= 1 && TILE_H <= 64, "TILE_H");
static_assert(POOL_OP == POOL_OP_MAX || POOL_OP == POOL_OP_AVG, "POOL_OP");
static_assert(POOL_D >= 1 && POOL_H >= 1 && POOL_W >= 1, "POOL_D/H/W: windows of at least 1");
static_assert(POOL_STRIDE_D >= 1 && POOL_STRIDE_H >= 1 && POOL_STRIDE_W >= 1, "POOL_STRIDE");
static_assert(POOL_PAD_D >= 0 && POOL_PAD_H >= 0 && POOL_PAD_W >= 0, "POOL_PAD");
static_assert(POOL_DIL_D >= 1 && POOL_DIL_H >= 1 && POOL_DIL_W >= 1, "POOL_DIL");
static_assert(POOL_OP == POOL_OP_MAX || (POOL_DIL_D == 1 && POOL_DIL_H == 1 && POOL_DIL_W == 1),
	      "average pooling has no dilation");
/* PyTorch refuses padding over half the window (the window, not its dilated span). */
static_assert(2 * POOL_PAD_D <= POOL_D && 2 * POOL_PAD_H <= POOL_H && 2 * POOL_PAD_W <= POOL_W,
	      "padding at most half the window");
static_assert(POOL_DIVISOR >= 0, "POOL_DIVISOR");

KBREED_CANDIDATE_ABI

#define KD POOL_D
#define KH POOL_H
#define KW POOL_W
#define SD POOL_STRIDE_D
#define SH POOL_STRIDE_H
#define SW POOL_STRIDE_W
#define PD POOL_PAD_D
#define PH POOL_PAD_H
#define PW POOL_PAD_W
#define DD POOL_DIL_D
#define DH POOL_DIL_H
#define DW POOL_DIL_W
#define IS_MAX (POOL_OP == POOL_OP_MAX)

/* The input span one thread's OPT outputs draw on along W, and whether it
 * is held in registers. */
#define SPAN ((OPT - 1) * SW + DW * (KW - 1) + 1)
#define IN_REGS (WINDOW == 1 && SPAN <= 64)

/* What a span holds outside the input: the op's neutral value, so that
 * without indices every tap is taken, no per-tap test of the window. */
#define NEUTRAL (IS_MAX ? -INFINITY : 0.0f)

/* The running result of one output: a maximum and its index, or a sum. */
struct acc_t {
	float v;
	int64_t i;
};

static __device__ __forceinline__ void acc_init(acc_t &a)
{
	a.v = NEUTRAL;
	a.i = 0;
}

/* One input element, at flat index i of its plane, into the result; the
 * index only where the model returns it (INDEX), else one max.NaN. */
template <bool INDEX>
static __device__ __forceinline__ void acc_add(acc_t &a, float v, int64_t i)
{
#if IS_MAX
	if (!INDEX) {
		a.v = kb_fmax_nan(a.v, v);
	} else if (v > a.v || v != v) {
		a.v = v;
		a.i = i;
	}
#else
	a.v += v;
#endif
}

template <typename T>
static __device__ __forceinline__ T load(const T *p)
{
	return ld_word<STREAM == 1>(p);
}

/* The E elements at p into e: one word of W (WIDE, E * sizeof(T) bytes), or
 * the element at p alone (E = 1). */
template <bool WIDE, typename W, typename T, int E>
static __device__ __forceinline__ void load_elems(const T *p, T (&e)[E])
{
	static_assert(!WIDE || sizeof(W) == sizeof e, "a word is E elements");
	if (WIDE) {
		const W w = ld_word<STREAM == 1>(reinterpret_cast<const W *>(p));
		memcpy(e, &w, sizeof e);
	} else {
		e[0] = load(p);
	}
}

/* One axis of a window: its first input coordinate, the range of window
 * taps k inside the input [k0, k1), its first tap at or past 0 (where
 * PyTorch's index of a maximum starts, even past the input), and (avg) its
 * size clipped to I + P. */
struct axis_t {
	int start, k0, k1, first, size;
};

template <int K, int S, int P, int DIL>
static __device__ __forceinline__ axis_t axis_of(int o, int in)
{
	axis_t a;
	a.start = o * S - P;
	/* taps k with 0 <= start + k*DIL < in */
	a.k0 = a.start >= 0 ? 0 : (-a.start + DIL - 1) / DIL;
	a.first = a.start + a.k0 * DIL;
	const int last = in - 1 - a.start;   /* largest k*DIL still inside */
	a.k1 = last < 0 ? 0 : min(K, last / DIL + 1);
	if (a.k0 > a.k1)
		a.k0 = a.k1;
	/* avg: [start, min(start + K, in + P)) is the window counted with padding */
	a.size = min(a.start + K, in + P) - a.start;
	return a;
}

/* avg's divisor: divisor_override where the model sets one, else the
 * window's size clipped to the padded input (count_include_pad) or the
 * count of its elements inside the input. */
static __device__ __forceinline__ int avg_divisor(int cnt, int size)
{
	return POOL_DIVISOR ? POOL_DIVISOR : POOL_COUNT_PAD ? size : cnt;
}

/* A window's sum over avg_divisor(cnt, size); 0 for an empty window. */
static __device__ __forceinline__ float avg_of(float sum, int cnt, int size)
{
	const int div = avg_divisor(cnt, size);
	return div ? sum / (float)div : 0.0f;
}

/* y[o] (and the index, when asked for) from a finished result. For avg,
 * cnt is the number of elements inside, size the clipped window's size. */
template <typename T>
static __device__ __forceinline__ void put(T *y, int64_t *yi, int64_t o, const acc_t &a, int cnt, int size)
{
#if IS_MAX
	y[o] = from_float<T>(a.v);
	if (yi)
		yi[o] = a.i;
#else
	y[o] = from_float<T>(avg_of(a.v, cnt, size));
#endif
}

/* Whether the span may be read as words of W for element type T (the
 * shape's part, IW % E == 0 and an aligned x, is checked at launch). */
template <typename T>
struct wide_t {
	typedef typename word_t<VEC>::T W;
	static constexpr int E = (int)(sizeof(W) / sizeof(T));
	static constexpr bool ok = IN_REGS && VEC > 1 && (OPT * SW) % E == 0;
	static constexpr int SHIFT = ((-PW) % E + E) % E;   /* the span's offset in its first word */
	static constexpr int NW = (SHIFT + SPAN + E - 1) / E;  /* words covering the span */
};

/* The kernel: `rows` output rows of OW outputs each (rows = planes*OD*OH),
 * runs = ceil(OW / OPT) per row; IDX is the index type of (row, run) pairs;
 * INDEX: the model returns the maxima's indices (yi), else none is kept. */
template <typename T, typename IDX, bool WIDE, bool INDEX>
__global__ void __launch_bounds__(THREADS)
pool_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t *__restrict__ yi, IDX rows, int ID, int IH,
	    int IW, int OD, int OH, int OW)
{
	const IDX runs = ((IDX)OW + OPT - 1) / OPT;
	const IDX total = rows * runs;
	for (IDX t = (IDX)blockIdx.x * THREADS + threadIdx.x; t < total; t += (IDX)gridDim.x * THREADS) {
		const int ow0 = (int)(t % runs) * OPT;
		IDX r = t / runs;
		const int oh = (int)(r % (IDX)OH);
		r /= (IDX)OH;
		const int od = (int)(r % (IDX)OD);
		const IDX plane = r / (IDX)OD;
		const T *xp = x + (int64_t)plane * ID * IH * IW;
		const axis_t ad = axis_of<KD, SD, PD, DD>(od, ID);
		const axis_t ah = axis_of<KH, SH, PH, DH>(oh, IH);
		/* Per output j: the taps along W inside the input. */
		int w0[OPT], w1[OPT], wsize[OPT];
		acc_t acc[OPT];
#pragma unroll
		for (int j = 0; j < OPT; j++) {
			const axis_t aw = axis_of<KW, SW, PW, DW>(ow0 + j, IW);
			w0[j] = aw.k0;
			w1[j] = aw.k1;
			wsize[j] = aw.size;
			acc_init(acc[j]);
			/* The index a maximum keeps when no element beats -inf. */
			acc[j].i = ((int64_t)ad.first * IH + ah.first) * IW + aw.first;
		}
		const int wstart = ow0 * SW - PW;   /* the span's first input column */
#pragma unroll 1
		for (int kd = ad.k0; kd < ad.k1; kd++) {
			const int id = ad.start + kd * DD;
			/* Every row of the window unrolled (its loads in flight at
			 * once), those outside the input skipped. */
#pragma unroll
			for (int kh = 0; kh < KH; kh++) {
				if (kh < ah.k0 || kh >= ah.k1)
					continue;
				const int ih = ah.start + kh * DH;
				const int64_t rowoff = ((int64_t)id * IH + ih) * IW;
				const T *xr = xp + rowoff;
				if (IN_REGS) {
					/* The span, once; e is the column offset from wstart. */
					float s[IN_REGS ? SPAN : 1];
					if (WIDE && wide_t<T>::ok) {
						typedef typename wide_t<T>::W W;
						constexpr int E = wide_t<T>::E, SHIFT = wide_t<T>::SHIFT;
						const int a = wstart - SHIFT;   /* a multiple of E, as IW is */
#pragma unroll
						for (int q = 0; q < wide_t<T>::NW; q++) {
							T e[E];
							if (a + q * E >= 0 && a + q * E < IW) {
								const W w = ld_word<STREAM == 1>(reinterpret_cast<const W *>(xr + a + q * E));
								memcpy(e, &w, sizeof w);
							} else {
#pragma unroll
								for (int k = 0; k < E; k++)
									e[k] = from_float<T>(NEUTRAL);
							}
#pragma unroll
							for (int k = 0; k < E; k++)
								if (q * E + k - SHIFT >= 0 && q * E + k - SHIFT < (IN_REGS ? SPAN : 1))
									s[q * E + k - SHIFT] = to_float(e[k]);
						}
					} else {
#pragma unroll
						for (int e = 0; e < (IN_REGS ? SPAN : 1); e++) {
							const int iw = wstart + e;
							s[e] = (iw >= 0 && iw < IW) ? to_float(load(xr + iw)) : NEUTRAL;
						}
					}
#pragma unroll
					for (int j = 0; j < OPT; j++)
#pragma unroll
						for (int kw = 0; kw < KW; kw++)
							if ((!INDEX || (kw >= w0[j] && kw < w1[j])) && j * SW + kw * DW < (IN_REGS ? SPAN : 1))
								acc_add<INDEX>(acc[j], s[j * SW + kw * DW], rowoff + wstart + j * SW + kw * DW);
				} else {
#pragma unroll
					for (int j = 0; j < OPT; j++)
#pragma unroll
						for (int kw = 0; kw < KW; kw++)
							if (kw >= w0[j] && kw < w1[j]) {
								const int iw = wstart + j * SW + kw * DW;
								acc_add<INDEX>(acc[j], to_float(load(xr + iw)), rowoff + iw);
							}
				}
			}
		}
		const int64_t obase = ((int64_t)r * OH + oh) * OW;   /* r = plane*OD + od */
		const int cnt_dh = (ad.k1 - ad.k0) * (ah.k1 - ah.k0);
		const int size_dh = ad.size * ah.size;
#pragma unroll
		for (int j = 0; j < OPT; j++)
			if (ow0 + j < OW)
				put(y, INDEX ? yi : nullptr, obase + ow0 + j, acc[j], cnt_dh * (w1[j] - w0[j]), size_dh * wsize[j]);
	}
}

/* ROWS = 1: input columns of one output row's tile held in shared memory,
 * and the words of each input row a thread has in flight at once. */
#define ROW_SPAN 8192
#define ROW_WORDS 4

/* The column result of a and v: their maximum (NaN wins) or their sum. */
static __device__ __forceinline__ float col_add(float a, float v)
{
#if IS_MAX
	return kb_fmax_nan(a, v);
#else
	return a + v;
#endif
}

/* `rows` output rows (planes*OD*OH) of OW outputs, in tiles of `tile`
 * outputs; WIDE: rows read as words of VEC 4-byte words (IW a multiple of
 * the word's elements, x aligned), else element by element. A block takes
 * `rpb` rows at once where a row is short (tile = OW): each row THREADS/rpb
 * threads (whole warps) and ROW_SPAN/rpb columns of the shared memory.
 * Block and row indices are 32-bit (IDX): a 64-bit division is a call of
 * some 70 instructions, each row takes five, and short rows paid more for
 * them than for their loads. Counts past 32 bits run the ROWS = 0 kernel. */
template <typename T, bool WIDE, typename IDX = uint32_t>
__global__ void __launch_bounds__(THREADS)
pool_rows_kernel(const T *__restrict__ x, T *__restrict__ y, IDX rows, int ID, int IH, int IW, int OD,
		 int OH, int OW, int tile, int rpb)
{
	typedef typename word_t<VEC>::T W;
	constexpr int E = WIDE ? (int)(sizeof(W) / sizeof(T)) : 1;
	__shared__ float smem[ROW_SPAN];
	const int group = THREADS / rpb, t = threadIdx.x % group;
	float *col = smem + threadIdx.x / group * (ROW_SPAN / rpb);
	const IDX tiles = (IDX)((OW + tile - 1) / tile);
	const IDX sets = (rows + rpb - 1) / rpb;
	const float none = NEUTRAL;
	for (IDX b = blockIdx.x; b < sets * tiles; b += gridDim.x) {
		const int ow0 = (int)(b % tiles) * tile;
		IDX r = b / tiles * rpb + threadIdx.x / group;   /* plane*OD*OH + od*OH + oh */
		/* A group past the last row reads the last (and writes nothing). */
		const bool live = r < rows;
		if (!live)
			r = rows - 1;
		const int oh = (int)(r % (IDX)OH);
		const int od = (int)(r / (IDX)OH % (IDX)OD);
		const T *xp = x + (int64_t)(r / (IDX)OH / (IDX)OD) * ID * IH * IW;
		const axis_t ad = axis_of<KD, SD, PD, DD>(od, ID);
		const axis_t ah = axis_of<KH, SH, PH, DH>(oh, IH);
		const int nout = min(tile, OW - ow0);
		const int c0 = ow0 * SW - PW;   /* the span's first input column */
		const int span = (nout - 1) * SW + DW * (KW - 1) + 1;
		const int a0 = c0 >= 0 ? c0 / E * E : -((-c0 + E - 1) / E * E);   /* c0 rounded down to a word */
		const int words = (c0 + span - a0 + E - 1) / E;
		/* ROW_WORDS words a thread, `group` apart: all their loads of one
		 * input row in flight before any is combined (a 1-D pool's window
		 * has one row). A word lies wholly inside the row or wholly outside. */
		for (int q0 = t; q0 < words; q0 += group * ROW_WORDS) {
			float v[ROW_WORDS][E];
			bool in[ROW_WORDS];
#pragma unroll
			for (int u = 0; u < ROW_WORDS; u++) {
				const int c = a0 + (q0 + u * group) * E;
				in[u] = q0 + u * group < words && c >= 0 && c < IW;
#pragma unroll
				for (int k = 0; k < E; k++)
					v[u][k] = none;
			}
#pragma unroll 1
			for (int kd = ad.k0; kd < ad.k1; kd++) {
				const T *xd = xp + (int64_t)(ad.start + kd * DD) * IH * IW + a0 + q0 * E;
#pragma unroll
				for (int kh = 0; kh < KH; kh++) {
					if (kh < ah.k0 || kh >= ah.k1)
						continue;
					const T *xr = xd + (int64_t)(ah.start + kh * DH) * IW;
					T e[ROW_WORDS][E];
#pragma unroll
					for (int u = 0; u < ROW_WORDS; u++) {
						if (!in[u])
							continue;
						load_elems<WIDE, W>(xr + u * group * E, e[u]);
					}
#pragma unroll
					for (int u = 0; u < ROW_WORDS; u++)
						if (in[u])
#pragma unroll
							for (int k = 0; k < E; k++)
								v[u][k] = col_add(v[u][k], to_float(e[u][k]));
				}
			}
#pragma unroll
			for (int u = 0; u < ROW_WORDS; u++) {
				const int c = a0 + (q0 + u * group) * E;
#pragma unroll
				for (int k = 0; k < E; k++)
					if (q0 + u * group < words && c + k - c0 >= 0 && c + k - c0 < span)
						col[c + k - c0] = v[u][k];
			}
		}
		__syncthreads();
		/* Every tap, unconditionally: a column outside the input holds the
		 * neutral value. An average divides by the window's count, which is
		 * the same for every window inside the row: its reciprocal, once
		 * (an output within 1 ulp of the quotient; a division for the few
		 * windows the row's ends clip). */
		T *yr = y + (int64_t)r * OW + ow0;
#if !IS_MAX
		const int cnt_dh = (ad.k1 - ad.k0) * (ah.k1 - ah.k0), size_dh = ad.size * ah.size;
		const int full = avg_divisor(cnt_dh * KW, size_dh * KW);
		const float inv = full ? 1.0f / (float)full : 0.0f;
#endif
		for (int j = t; j < (live ? nout : 0); j += group) {
			float a = none;
#pragma unroll
			for (int kw = 0; kw < KW; kw++)
				a = col_add(a, col[j * SW + kw * DW]);
#if IS_MAX
			yr[j] = from_float<T>(a);
#else
			const int start = (ow0 + j) * SW - PW;
			const bool inside = POOL_DIVISOR || (POOL_COUNT_PAD ? start + KW <= IW + PW
								  : start >= 0 && start + (KW - 1) * DW < IW);
			if (inside) {
				yr[j] = from_float<T>(a * inv);
			} else {
				const axis_t aw = axis_of<KW, SW, PW, DW>(ow0 + j, IW);
				yr[j] = from_float<T>(avg_of(a, cnt_dh * (aw.k1 - aw.k0), size_dh * aw.size));
			}
#endif
		}
		__syncthreads();
	}
}

/* ROWS = 2: a block owns a tile of TILE_H output rows by up to OW outputs
 * of one plane and walks the D axis; every input slice's tile is read once
 * into shared memory. */
#define SLAB_SMEM (100 * 1024)   /* dynamic shared memory a block may take */
#define SLAB_PF (THREADS >= 512 ? 4 : 8)   /* words a thread prefetches */
#define SLAB_RING (DD * (KD - 1) + 1)   /* reduced slices a window spans */

/* Whether input slice id is a tap of some output's window along D. */
static __device__ __forceinline__ bool slab_used(int id, int OD)
{
#pragma unroll
	for (int kd = 0; kd < KD; kd++) {
		const int t = id + PD - kd * DD;
		if (t >= 0 && t % SD == 0 && t / SD < OD)
			return true;
	}
	return false;
}

/* The last input slice output od's window takes along D; -1 where it takes
 * none (its value is the empty window's). */
static __device__ __forceinline__ int slab_last(int od, int ID)
{
	const axis_t a = axis_of<KD, SD, PD, DD>(od, ID);
	return a.k1 > a.k0 ? a.start + (a.k1 - 1) * DD : -1;
}

/* One block per (plane, tile of nh output rows, tile of nw outputs); tiles
 * = planes * htiles * wtiles. Per input slice id along D that a window
 * takes, in order: its rows_in input rows by `words` words of the tile's
 * columns (from a0, a multiple of E) come into registers while the last
 * slice is reduced; then into `raw` (neutral values outside the input);
 * each thread reduces, for its own positions of the tile, the window's
 * (kh, kw) taps from there into ring slot id % SLAB_RING, and writes every
 * output whose window's last slice along D this was, reducing its slices'
 * ring entries. A position's ring entries and outputs are one thread's, so
 * only the raw tile needs barriers. Max and sum are separable: the value is
 * PyTorch's (a sum up to rounding order).
 * The shared tile's layout: a row of `pitch` floats holds the columns c % SW
 * == 0 first, then those of phase 1, ..., each phase pitch / SW long, so that
 * the lanes of a warp, at consecutive outputs SW columns apart, read
 * consecutive words (a stride-2 pool's taps had 2-way bank conflicts). */
template <typename T, bool WIDE>
__global__ void __launch_bounds__(THREADS)
pool_slab_kernel(const T *__restrict__ x, T *__restrict__ y, int64_t tiles, int htiles, int wtiles, int ID, int IH,
		 int IW, int OD, int OH, int OW, int nh0, int nw0, int pitch)
{
	typedef typename word_t<VEC>::T W;
	constexpr int E = WIDE ? (int)(sizeof(W) / sizeof(T)) : 1;
	extern __shared__ float slab_smem[];
	const float none = NEUTRAL;
	for (int64_t b = blockIdx.x; b < tiles; b += gridDim.x) {
		const int wt = (int)(b % wtiles), ht = (int)(b / wtiles % htiles);
		const int64_t plane = b / wtiles / htiles;
		const int oh0 = ht * nh0, ow0 = wt * nw0;
		const int nh = min(nh0, OH - oh0), nw = min(nw0, OW - ow0);
		const int h0 = oh0 * SH - PH;   /* the tile's first input row */
		const int rows_in = (nh - 1) * SH + DH * (KH - 1) + 1;
		const int c0 = ow0 * SW - PW;   /* its first input column */
		const int a0 = c0 >= 0 ? c0 / E * E : -((-c0 + E - 1) / E * E);
		const int words = (c0 + (nw - 1) * SW + DW * (KW - 1) + 1 - a0 + E - 1) / E;
		const int nwords = rows_in * words, npos = nh * nw;
		float *raw = slab_smem, *ring = slab_smem + rows_in * pitch;
		const int wp = pitch / SW;   /* the columns of one phase c % SW */
		const T *xp = x + plane * ID * IH * IW;
		T *yp = y + plane * OD * OH * OW;
		float v[SLAB_PF][E];
		/* Slice id's words into v (neutral outside the input). */
		auto fetch = [&](int id) {
#pragma unroll
			for (int u = 0; u < SLAB_PF; u++) {
				const int q = threadIdx.x + u * THREADS;
				const int r = q / words, c = a0 + (q - r * words) * E, ih = h0 + r;
#pragma unroll
				for (int k = 0; k < E; k++)
					v[u][k] = none;
				if (q < nwords && ih >= 0 && ih < IH && c >= 0 && c < IW) {
					const T *p = xp + ((int64_t)id * IH + ih) * IW + c;
					T e[E];
					load_elems<WIDE, W>(p, e);
#pragma unroll
					for (int k = 0; k < E; k++)
						v[u][k] = to_float(e[k]);
				}
			}
		};
		auto stash = [&]() {
#pragma unroll
			for (int u = 0; u < SLAB_PF; u++) {
				const int q = threadIdx.x + u * THREADS;
				const int r = q / words, cw = (q - r * words) * E;
				if (q < nwords)
#pragma unroll
					for (int k = 0; k < E; k++)
						raw[r * pitch + (cw + k) % SW * wp + (cw + k) / SW] = v[u][k];
			}
		};
		/* The outputs od of [od_next, ...) whose last slice is at or before
		 * `upto`, from the ring. */
		int od_next = 0;
		auto emit = [&](int upto) {
			for (; od_next < OD; od_next++) {
				const int last = slab_last(od_next, ID);
				if (last > upto)
					break;
				const axis_t ad = axis_of<KD, SD, PD, DD>(od_next, ID);
				T *yo = yp + (int64_t)od_next * OH * OW;
				for (int p = threadIdx.x; p < npos; p += THREADS) {
					const int lh = p / nw, lw = p - lh * nw;
					float a = none;
					for (int kd = ad.k0; kd < ad.k1; kd++)
						a = col_add(a, ring[(ad.start + kd * DD) % SLAB_RING * npos + p]);
#if IS_MAX
					yo[(int64_t)(oh0 + lh) * OW + ow0 + lw] = from_float<T>(a);
#else
					const axis_t ah = axis_of<KH, SH, PH, DH>(oh0 + lh, IH);
					const axis_t aw = axis_of<KW, SW, PW, DW>(ow0 + lw, IW);
					yo[(int64_t)(oh0 + lh) * OW + ow0 + lw] = from_float<T>(
						avg_of(a, (ad.k1 - ad.k0) * (ah.k1 - ah.k0) * (aw.k1 - aw.k0),
						       ad.size * ah.size * aw.size));
#endif
				}
			}
		};
		/* Ring slot indices are id % SLAB_RING of ids >= 0. */
		int id = 0;
		while (id < ID && !slab_used(id, OD))
			id++;
		if (id < ID) {
			fetch(id);
			stash();
		}
		__syncthreads();
		while (id < ID) {
			int next = id + 1;
			while (next < ID && !slab_used(next, OD))
				next++;
			if (next < ID)
				fetch(next);   /* in flight while this slice is reduced */
			float *z = ring + id % SLAB_RING * npos;
			const int cr = c0 - a0;   /* the tile's first window column in raw */
			for (int p = threadIdx.x; p < npos; p += THREADS) {
				const int lh = p / nw, lw = p - lh * nw;
				const float *s = raw + lh * SH * pitch + lw;
				float a = none;
#pragma unroll
				for (int kh = 0; kh < KH; kh++)
#pragma unroll
					for (int kw = 0; kw < KW; kw++)
						a = col_add(a, s[kh * DH * pitch + (cr + kw * DW) % SW * wp + (cr + kw * DW) / SW]);
				z[p] = a;
			}
			emit(id);
			__syncthreads();   /* every thread is done with raw */
			if (next < ID)
				stash();
			__syncthreads();
			id = next;
		}
		emit(0x7fffffff);   /* what is left: windows that take no slice */
		__syncthreads();   /* raw is the next tile's */
	}
}

/* The tile ROWS = 2 takes: nw outputs a row (OW halved until the block's
 * words fit its prefetch and its shared memory fits SLAB_SMEM); 0 where
 * none fits. The row pitch of its shared tile and the shared memory's
 * bytes come back too. */
static int slab_tile(int nh, int OW, int E, int *pitch, size_t *smem)
{
	for (int nw = OW; nw >= 1; nw = nw > 1 ? (nw + 1) / 2 : 0) {
		const int rows_in = (nh - 1) * SH + DH * (KH - 1) + 1;
		const int words = ((nw - 1) * SW + DW * (KW - 1) + 1 + 2 * (E - 1)) / E;   /* any start */
		const size_t bytes = ((size_t)rows_in * ((words * E + SW - 1) / SW * SW) + (size_t)SLAB_RING * nh * nw) *
				     sizeof(float);
		if ((int64_t)rows_in * words <= (int64_t)SLAB_PF * THREADS && bytes <= SLAB_SMEM) {
			*pitch = (words * E + SW - 1) / SW * SW;
			*smem = bytes;
			return nw;
		}
		if (nw == 1)
			break;
	}
	return 0;
}

/* ---- launch ---- */

/* PyTorch's output extent of one axis (pooling_output_shape). */
static int64_t out_extent(int64_t in, int k, int s, int p, int dil)
{
	const int64_t num = in + 2 * p - (int64_t)dil * (k - 1) - 1 + (POOL_CEIL ? s - 1 : 0);
	int64_t o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;   /* floor division */
	if (POOL_CEIL && (o - 1) * s >= in + p)
		o--;
	return o;
}

/* ROWS = 0's kernel (and every case the others do not take), its index
 * type and loads picked at launch. */
template <typename T, bool INDEX>
static int launch_outputs(const T *x, T *y, int64_t *yi, int64_t rows, unsigned grid, bool small, bool wide, int I0,
			  int I1, int I2, int O0, int O1, int O2, cudaStream_t st)
{
	if (small && wide)
		pool_kernel<T, uint32_t, true, INDEX><<<grid, THREADS, 0, st>>>(x, y, yi, (uint32_t)rows, I0, I1, I2, O0,
										 O1, O2);
	else if (small)
		pool_kernel<T, uint32_t, false, INDEX><<<grid, THREADS, 0, st>>>(x, y, yi, (uint32_t)rows, I0, I1, I2, O0,
										  O1, O2);
	else if (wide)
		pool_kernel<T, uint64_t, true, INDEX><<<grid, THREADS, 0, st>>>(x, y, yi, (uint64_t)rows, I0, I1, I2, O0,
										 O1, O2);
	else
		pool_kernel<T, uint64_t, false, INDEX><<<grid, THREADS, 0, st>>>(x, y, yi, (uint64_t)rows, I0, I1, I2, O0,
										  O1, O2);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

template <typename T>
static int launch(const T *x, T *y, int64_t *yi, int64_t planes, const int64_t *ie, const int64_t *oe,
		  cudaStream_t st)
{
	const int64_t runs = (oe[2] + OPT - 1) / OPT;
	const int64_t rows = planes * oe[0] * oe[1];
	const int64_t total = rows * runs;
	const int64_t blocks = (total + THREADS - 1) / THREADS;
	const unsigned grid = (unsigned)(blocks > 1048576 ? 1048576 : blocks);   /* the rest grid-strides */
	const bool small = total + (int64_t)grid * THREADS < 4294967295LL;
	const bool wide = wide_t<T>::ok && ie[2] % wide_t<T>::E == 0 &&
			  (uintptr_t)x % sizeof(typename wide_t<T>::W) == 0;
	const int I0 = (int)ie[0], I1 = (int)ie[1], I2 = (int)ie[2], O0 = (int)oe[0], O1 = (int)oe[1], O2 = (int)oe[2];
	if (ROWS == 2 && !yi) {
		typedef typename word_t<VEC>::T W;
		const bool rwide = ie[2] % (int64_t)(sizeof(W) / sizeof(T)) == 0 && (uintptr_t)x % sizeof(W) == 0;
		const int nh = (int)(oe[1] < TILE_H ? oe[1] : TILE_H);
		int pitch = 0;
		size_t smem = 0;
		const int nw = slab_tile(nh, (int)oe[2], rwide ? (int)(sizeof(W) / sizeof(T)) : 1, &pitch, &smem);
		if (nw >= 1) {
			const int htiles = (int)((oe[1] + nh - 1) / nh), wtiles = (int)((oe[2] + nw - 1) / nw);
			const int64_t tiles = planes * htiles * wtiles;
			const unsigned g = (unsigned)(tiles > 1048576 ? 1048576 : tiles);
			void (*kernel)(const T *, T *, int64_t, int, int, int, int, int, int, int, int, int, int, int) =
				rwide ? pool_slab_kernel<T, true> : pool_slab_kernel<T, false>;
			if (cudaFuncSetAttribute((const void *)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
						 (int)smem) != cudaSuccess)
				return KB_ERR_LAUNCH;
			kernel<<<g, THREADS, smem, st>>>(x, y, tiles, htiles, wtiles, I0, I1, I2, O0, O1, O2, nh, nw, pitch);
			return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
		}
	}
	if (ROWS == 1 && !yi && DW * (KW - 1) + 1 <= ROW_SPAN) {
		typedef typename word_t<VEC>::T W;
		const bool rwide = ie[2] % (int64_t)(sizeof(W) / sizeof(T)) == 0 && (uintptr_t)x % sizeof(W) == 0;
		const int e = rwide ? (int)(sizeof(W) / sizeof(T)) : 1;
		/* The most outputs whose span fits, less a word of alignment. */
		const int64_t fit = (ROW_SPAN - e - DW * (KW - 1)) / SW + 1;
		const int tile = (int)(oe[2] < fit ? oe[2] : fit);
		const int64_t tspan = (int64_t)(tile - 1) * SW + DW * (KW - 1) + 1;
		/* Rows of a whole tile share a block while each row's threads
		 * still cover its words in one pass and its span fits its share. */
		int rpb = 1;
		while (tile == O2 && rpb * 2 <= THREADS / 32 && (int64_t)(THREADS / (rpb * 2)) * ROW_WORDS * e >= tspan + e &&
		       tspan + e <= ROW_SPAN / (rpb * 2))
			rpb *= 2;
		const int64_t blocks = tile >= 1 ? (rows + rpb - 1) / rpb * ((oe[2] + tile - 1) / tile) : 0;
		const unsigned g = (unsigned)(blocks > 1048576 ? 1048576 : blocks);
		/* The last block index, a grid's stride past it and the last row
		 * in 32 bits (past them the input would be hundreds of GB). */
		const bool fits32 = blocks + g < 4294967295LL && rows + THREADS < 4294967295LL;
		if (tile >= 1 && tspan / e >= THREADS / rpb / 4 && fits32) {
			if (rwide)
				pool_rows_kernel<T, true><<<g, THREADS, 0, st>>>(x, y, (uint32_t)rows, I0, I1, I2, O0, O1, O2, tile,
										  rpb);
			else
				pool_rows_kernel<T, false><<<g, THREADS, 0, st>>>(x, y, (uint32_t)rows, I0, I1, I2, O0, O1, O2, tile,
										   rpb);
			return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
		}
	}
#if IS_MAX
	if (yi)
		return launch_outputs<T, true>(x, y, yi, rows, grid, small, wide, I0, I1, I2, O0, O1, O2, st);
#endif
	return launch_outputs<T, false>(x, y, nullptr, rows, grid, small, wide, I0, I1, I2, O0, O1, O2, st);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 1 || n_out < 1 || n_out > (IS_MAX ? 2 : 1))
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (!kb_takes_dtype(x->dtype))
		return KB_ERR_SHAPE;
	if (y->dtype != x->dtype || x->ndim < DIMS + 1 || y->ndim != x->ndim)
		return KB_ERR_SHAPE;
	if (n_out == 2 && (out[1].dtype != KB_I64 || !kb_same_shape(y, &out[1])))
		return KB_ERR_SHAPE;
	/* The planes, then (D, H, W) in and out, missing axes of extent 1. */
	const int nd = x->ndim;
	int64_t planes = 1, ie[3] = { 1, 1, 1 }, oe[3] = { 1, 1, 1 };
	for (int d = 0; d < nd - DIMS; d++) {
		if (x->shape[d] < 0 || y->shape[d] != x->shape[d])
			return KB_ERR_SHAPE;
		planes *= x->shape[d];
	}
	for (int a = 0; a < DIMS; a++)
		ie[3 - DIMS + a] = x->shape[nd - DIMS + a];
	oe[0] = out_extent(ie[0], KD, SD, PD, DD);
	oe[1] = out_extent(ie[1], KH, SH, PH, DH);
	oe[2] = out_extent(ie[2], KW, SW, PW, DW);
	for (int a = 0; a < 3; a++)
		if (ie[a] < 1 || ie[a] > 2147483647LL / 4 || oe[a] < 1)
			return KB_ERR_SHAPE;   /* torch refuses an empty output too */
	for (int a = 0; a < DIMS; a++)
		if (y->shape[nd - DIMS + a] != oe[3 - DIMS + a])
			return KB_ERR_SHAPE;
	if (planes == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	int64_t *yi = n_out == 2 ? (int64_t *)out[1].data : nullptr;
	switch (x->dtype) {
	case KB_F32:
		return launch<float>((const float *)x->data, (float *)y->data, yi, planes, ie, oe, st);
#if !KB_F32_ONLY
	case KB_F16:
		return launch<__half>((const __half *)x->data, (__half *)y->data, yi, planes, ie, oe, st);
	default:
		return launch<__nv_bfloat16>((const __nv_bfloat16 *)x->data, (__nv_bfloat16 *)y->data, yi, planes,
					     ie, oe, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
