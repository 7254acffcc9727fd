// kbreed winner for 75_conv_transposed_2D_asymmetric_input_asymmetric_kernel_strided__grouped____padded____dilated__: 0.8351 ms on NVIDIA H100 80GB HBM3 = 796% of PyTorch eager (6.6469 ms), 35% of the floor.
// Run 6, candidate 541, round 3. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template conv_transpose_direct
#define CONV_DIMS 2
#define CONV_STRIDE_H 2
#define CONV_STRIDE_W 3
#define CONV_PAD_H 1
#define CONV_PAD_W 2
#define CONV_DIL_H 2
#define CONV_DIL_W 1
#define CONV_KERNEL_H 3
#define CONV_KERNEL_W 5
#define CONV_OUT_PAD 0
#define CONV_OUT_PAD_H 0
#define CONV_OUT_PAD_W 0
#define CONV_GROUPS 4
#define CONV_BIAS 0
#define CONV_TRANSPOSED 1
#define CONV_STRIDED 1
#define CONV_TRANSPOSED_STRIDED 1
#define CONV_COUT_GROUP 16
#define CONV_FEW_CIN 1
#define KB_F32_ONLY 1
#define CO 32
#define LANES 128
#define ROWS 8
#define WARPS 4
#define OPT 2
#define STREAM 1
// kbreed-template: conv_transpose_direct
// family: conv
// problems: conv_transpose1d conv_transpose2d conv_transpose3d conv_transpose1d_grouped conv_transpose2d_grouped conv_transpose3d_grouped
// requires: CONV_TRANSPOSED_STRIDED
// knob CO: 8 16 32 64 | default 32 | category memory access | output channels per block (fewer where a group has fewer), each thread's accumulators: one staged x value feeds CO multiply-adds; the block's weights for them (Cin/groups x taps x CO, fp32) stay in shared memory for the block's whole life
// knob LANES: 16 32 64 128 | default 32 | category parallelism | a tile's outputs of one phase per row, at most (fewer where a row has fewer): a tile is SH*ROWS rows of SW*LANES consecutive outputs, and its input patch about ROWS x LANES per input channel
// knob ROWS: 1 2 4 8 | default 1 | category parallelism | a tile's rows of one phase (one on a 1-D conv, fewer where shared memory would not fit): the tile is SH*ROWS rows high, ROWS x LANES outputs of each phase
// knob WARPS: 1 2 4 | default 1 | category parallelism | warps per phase (lowered while a block would pass 1024 threads): a block has 32*WARPS*SH*SW threads, and its warps share a tile's products in units of 32 outputs of one phase, dealt in turn
// knob OPT: 1 2 | default 1 | category compute | outputs per thread at a time, 32 apart in their phase: each weight read from shared memory feeds OPT outputs' multiply-adds (a thread's accumulators: OPT x CO)
// knob STREAM: 0 1 | default 0 | category memory access | 1 = y is stored with evict-first hints (written once, never read back)
// start sm_90a: CO=16 LANES=64 ROWS=2 WARPS=4
// check: CO=64 LANES=128 ROWS=8 WARPS=4
// check: CO=8 LANES=16 ROWS=2 WARPS=2 STREAM=1 OPT=2
/*
 * conv_transpose_direct.cu - nn.ConvTranspose1d/2d/3d with a stride above
 * 1 on some axis, computed directly on the FMA pipes (fp32 arithmetic, no
 * tensor cores, strict accuracy): any window, stride, padding, dilation and
 * output padding per axis, groups, an optional bias; fp32, fp16 or bf16 with
 * fp32 accumulation; batched (N, Cin, [D, [H,]] W) or unbatched.
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is a 2-D
 * 3x3 transposed convolution of stride 2, padding 1, no bias:
 *   CONV_DIMS, CONV_STRIDE[_A], CONV_PAD[_A], CONV_DIL[_A], CONV_OUT_PAD[_A],
 *   CONV_GROUPS, CONV_BIAS    (templates/common/conv_geometry.cuh)
 *   CONV_KERNEL[_D|_H|_W]     the window, per axis (compile-time: the tap
 *                             loops unroll)
 *
 * Layout (contiguous, row-major; one dtype for every tensor; G groups):
 *   in[0]  x       (N, Cin, D, H, W), fewer axes for 1-D and 2-D
 *   in[1]  weight  (Cin, Cout/G, KD, KH, KW)
 *   in[2]  bias    (Cout), where CONV_BIAS
 *   out[0] y       (N, Cout, OD, OH, OW), O = (I-1)*S - 2*P + DIL*(K-1) + OPAD + 1
 *   y[n][g*CoutG + co][o] = bias + sum over ci < CinG and taps k of
 *       x[n][g*CinG + ci][i] * weight[g*CinG + ci][co][k],
 *   i = (o + P - k*DIL) / S per axis, where it divides and 0 <= i < I.
 *
 * Why. With a stride S, output o takes tap k only where S divides
 * o + P - k*DIL: one output in S^dims of a 3x3 window of stride 5 has a tap
 * at all (81: one in 25 has one, and that one only). A GEMM over every tap
 * gathers and multiplies zeros; the phase-split GEMM (conv_igemm PHASES=1)
 * multiplies only real taps but stores every S-th output (partial sectors,
 * rewritten S times). This kernel reads x and the real taps, multiplies on
 * the FMA pipes (the work per output is Cin/G * taps, small where the
 * stride is large) and stores whole rows of consecutive outputs.
 *
 * How. A block owns NC output channels of one group (blockIdx.y; NC = CO,
 * or less where the group has fewer, CONV_COUT_GROUP) and walks a run of
 * up to 8 consecutive tiles (more blocks than SMs: the GPU balances blocks
 * whose tiles differ in work): TH = SH*RI output rows (one od, one n) of TW = SW*LW
 * consecutive outputs from (th*TH, tw*TW), multiples of the strides: RI =
 * ROWS rows (1 on a 1-D conv) and LW = LANES columns of each phase, or
 * fewer that share a row's ceil(OW / SW) evenly, RI and then LW halved while the
 * block's shared memory would not fit. Its weights for those channels,
 * every tap and every input channel of the group, are copied to shared
 * memory once a block, as s_w[tap][ci][co] in fp32, and the bias beside
 * them. Per tile, the block first stages the input patch the tile reads, every
 * input channel of the group (PZ planes x PR rows x PC columns, fp32,
 * zeros outside x), with independent loads (many in flight per SM, where a
 * load per (tap, ci) in the products would wait on each); the products
 * then read only shared memory and need no bounds. A tile whose od takes
 * no tap stages nothing and stores its bias.
 * The taps of an output depend only on its phase along each axis, (oh + PH)
 * mod SH and (ow + PW) mod SW, and a tile holds RI x LW outputs of each of
 * the SH*SW phases, in units of 32 (output q of phase (ch, cw): row
 * ch + SH*(q / LW), column cw + SW*(q % LW) of the tile), all NC channels
 * of each. The units, phase-major, go to the block's warps in turn, so a
 * phase with more taps than the others spreads over several warps (77: one
 * phase in four has taps, on one od in two). So the 32 lanes
 * of a warp take the same taps (no divergence), read neighbouring patch
 * columns for each (tap, ci) (no bank conflict), and read the same NC
 * weights (a broadcast, float4 at a time). Phases with no tap cost nothing
 * but their stores (bias or zero). The results go through shared memory,
 * s_out[row][co][column], so that each warp then stores runs of
 * consecutive outputs of one channel's row (a lane's own outputs are SW
 * apart), a warp per (row, channel). Offsets of a channel's plane are
 * 32-bit (its D*H*W and OD*OH*OW below 2^31, checked at launch), of planes
 * 64-bit.
 *
 * Shared memory, 4 bytes each: taps*CinG*NC weights, NC biases,
 * CinG*PZ*PR*PC staged inputs, TH*NC*TW staged outputs (opted into above
 * 48 KB); KB_ERR_SHAPE where the weights and the narrowest tile's patch
 * pass 227 KB (a smaller CO fits), for other dtypes or mixed ones, a
 * weight whose window is not the compiled one, channels that the groups do
 * not divide, an output shape that is not PyTorch's.
 */
#ifndef CO
#define CO 32
#endif
#ifndef LANES
#define LANES 32
#endif
#ifndef ROWS
#define ROWS 1
#endif
#ifndef WARPS
#define WARPS 1
#endif
#ifndef OPT
#define OPT 1
#endif
#ifndef STREAM
#define STREAM 0
#endif

/* Compiled on its own: 2-D, a 3x3 window of stride 2, padding 1. */
#ifndef CONV_KERNEL_W
#ifndef CONV_KERNEL
#define CONV_KERNEL 3
#endif
#ifndef CONV_STRIDE
#define CONV_STRIDE 2
#endif
#ifndef CONV_PAD
#define CONV_PAD 1
#endif
#ifndef CONV_TRANSPOSED
#define CONV_TRANSPOSED 1
#endif
#endif
// ---- inlined from ../common/conv_geometry.cuh ----
// conv_geometry.cuh - a convolution's hyper-parameters per axis (D, H, W),
// for the templates that serve 1-, 2- and 3-D convolutions alike:
//   CONV_DIMS                 1, 2 or 3 (from the axis names where not given)
//   STRIDE_A, PAD_A, DIL_A    per axis A (CONV_STRIDE_A, or the bare
//                             CONV_STRIDE; PAD required, DIL 1 by default)
//   OPAD_A                    the output padding (transposed only; 0)
//   CONV_GROUPS (1), CONV_TRANSPOSED (0) where not given.
// Recognition writes CONV_DIMS and each axis's CONV_STRIDE_A, CONV_PAD_A,
// CONV_DIL_A (CONV_OUT_PAD_A when transposed), with the bare name where the
// axes agree; a file that declares its own KBREED_DEFINES may give the bare
// names only (then it is 2-D unless an axis name says otherwise). Axes the
// problem does not have are 1 wide: STRIDE 1, PAD 0, DIL 1, OPAD 0.
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), so that a candidate stays one file.
#ifndef KBREED_COMMON_CONV_GEOMETRY_CUH
#define KBREED_COMMON_CONV_GEOMETRY_CUH

#ifndef CONV_DIMS
#if defined(CONV_STRIDE_D) || defined(CONV_PAD_D)
#define CONV_DIMS 3
#elif defined(CONV_STRIDE_H) || defined(CONV_PAD_H)
#define CONV_DIMS 2
#elif defined(CONV_STRIDE_W) || defined(CONV_PAD_W)
#define CONV_DIMS 1
#else
#define CONV_DIMS 2
#endif
#endif
#ifndef CONV_GROUPS
#define CONV_GROUPS 1
#endif
#ifndef CONV_TRANSPOSED
#define CONV_TRANSPOSED 0
#endif

#if defined(CONV_STRIDE_W)
#define STRIDE_W CONV_STRIDE_W
#elif defined(CONV_STRIDE)
#define STRIDE_W CONV_STRIDE
#else
#error "CONV_STRIDE is not defined (recognition writes it, or the problem file's KBREED_DEFINES)"
#endif
#if CONV_DIMS < 2
#define STRIDE_H 1
#elif defined(CONV_STRIDE_H)
#define STRIDE_H CONV_STRIDE_H
#else
#define STRIDE_H CONV_STRIDE
#endif
#if CONV_DIMS < 3
#define STRIDE_D 1
#elif defined(CONV_STRIDE_D)
#define STRIDE_D CONV_STRIDE_D
#else
#define STRIDE_D CONV_STRIDE
#endif

#if defined(CONV_PAD_W)
#define PAD_W CONV_PAD_W
#elif defined(CONV_PAD)
#define PAD_W CONV_PAD
#else
#error "CONV_PAD is not defined (recognition writes it, or the problem file's KBREED_DEFINES)"
#endif
#if CONV_DIMS < 2
#define PAD_H 0
#elif defined(CONV_PAD_H)
#define PAD_H CONV_PAD_H
#else
#define PAD_H CONV_PAD
#endif
#if CONV_DIMS < 3
#define PAD_D 0
#elif defined(CONV_PAD_D)
#define PAD_D CONV_PAD_D
#else
#define PAD_D CONV_PAD
#endif

#if defined(CONV_DIL_W)
#define DIL_W CONV_DIL_W
#elif defined(CONV_DIL)
#define DIL_W CONV_DIL
#else
#define DIL_W 1
#endif
#if CONV_DIMS < 2
#define DIL_H 1
#elif defined(CONV_DIL_H)
#define DIL_H CONV_DIL_H
#elif defined(CONV_DIL)
#define DIL_H CONV_DIL
#else
#define DIL_H 1
#endif
#if CONV_DIMS < 3
#define DIL_D 1
#elif defined(CONV_DIL_D)
#define DIL_D CONV_DIL_D
#elif defined(CONV_DIL)
#define DIL_D CONV_DIL
#else
#define DIL_D 1
#endif

#if defined(CONV_OUT_PAD_W)
#define OPAD_W CONV_OUT_PAD_W
#elif defined(CONV_OUT_PAD)
#define OPAD_W CONV_OUT_PAD
#else
#define OPAD_W 0
#endif
#if CONV_DIMS < 2
#define OPAD_H 0
#elif defined(CONV_OUT_PAD_H)
#define OPAD_H CONV_OUT_PAD_H
#elif defined(CONV_OUT_PAD)
#define OPAD_H CONV_OUT_PAD
#else
#define OPAD_H 0
#endif
#if CONV_DIMS < 3
#define OPAD_D 0
#elif defined(CONV_OUT_PAD_D)
#define OPAD_D CONV_OUT_PAD_D
#elif defined(CONV_OUT_PAD)
#define OPAD_D CONV_OUT_PAD
#else
#define OPAD_D 0
#endif

#endif
// ---- end of ../common/conv_geometry.cuh ----
#ifndef CONV_BIAS
#define CONV_BIAS 0
#endif

/* The window per axis (1 on the axes the problem does not have). */
#if defined(CONV_KERNEL_W)
#define KW CONV_KERNEL_W
#else
#define KW CONV_KERNEL
#endif
#if CONV_DIMS < 2
#define KH 1
#elif defined(CONV_KERNEL_H)
#define KH CONV_KERNEL_H
#else
#define KH CONV_KERNEL
#endif
#if CONV_DIMS < 3
#define KD 1
#elif defined(CONV_KERNEL_D)
#define KD CONV_KERNEL_D
#else
#define KD CONV_KERNEL
#endif

#include <cuda_runtime.h>
#include <stdint.h>
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

static_assert(CO == 8 || CO == 16 || CO == 32 || CO == 64, "CO is 8, 16, 32 or 64");
static_assert(LANES == 16 || LANES == 32 || LANES == 64 || LANES == 128, "LANES is 16, 32, 64 or 128");
static_assert(ROWS == 1 || ROWS == 2 || ROWS == 4 || ROWS == 8, "ROWS is 1, 2, 4 or 8");
static_assert(WARPS == 1 || WARPS == 2 || WARPS == 4, "WARPS is 1, 2 or 4");
static_assert(OPT == 1 || OPT == 2, "OPT is 1 or 2");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(CONV_TRANSPOSED == 1, "a forward convolution is not this template's");
static_assert(CONV_DIMS >= 1 && CONV_DIMS <= 3, "CONV_DIMS is 1, 2 or 3");
static_assert(KD >= 1 && KH >= 1 && KW >= 1, "CONV_KERNEL: windows of at least 1");
static_assert(STRIDE_D >= 1 && STRIDE_H >= 1 && STRIDE_W >= 1, "CONV_STRIDE");
static_assert(PAD_D >= 0 && PAD_H >= 0 && PAD_W >= 0, "CONV_PAD");
static_assert(DIL_D >= 1 && DIL_H >= 1 && DIL_W >= 1, "CONV_DIL");
static_assert(OPAD_D >= 0 && OPAD_H >= 0 && OPAD_W >= 0, "CONV_OUT_PAD");
static_assert(CONV_BIAS == 0 || CONV_BIAS == 1, "CONV_BIAS is 0 or 1");
static_assert(STRIDE_H * STRIDE_W <= 32, "a warp per phase: more than 32 phases (STRIDE_H*STRIDE_W) need more than 1024 threads");

KBREED_CANDIDATE_ABI

constexpr int TAPS = KD * KH * KW;
constexpr int PHASES = STRIDE_H * STRIDE_W;   /* phases of a tile */
/* Warps per phase: WARPS, halved while the block would pass 1024 threads. */
constexpr int fit_warps(int w) { return w > 1 && 32 * w * PHASES > 1024 ? fit_warps(w / 2) : w; }
constexpr int WPP = fit_warps(WARPS);
constexpr int THREADS = 32 * WPP * PHASES;
constexpr int SMEM_CAP = 227 * 1024;
constexpr int TILES_PER_BLOCK = 8;   /* a block's run of tiles, at most (see the launch) */

/* Channels a block computes: CO, or fewer where a group has fewer output
 * channels (CONV_COUT_GROUP, from recognition: a hint; the kernel takes any
 * count and leaves the channels past the group's unstored). */
#ifdef CONV_COUT_GROUP
constexpr int fit_co(int c) { return c > 8 && c / 2 >= CONV_COUT_GROUP ? fit_co(c / 2) : c; }
constexpr int NC = fit_co(CO);
#else
constexpr int NC = CO;
#endif

/* ceil(a / b) for b > 0 and any a. */
static constexpr __host__ __device__ int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/*
 * The input patch a tile reads. Outputs o0 .. o0+T-1 of an axis, o0 a
 * multiple of the stride S (o0 = S*t), take inputs from t + B to
 * t + floor((T - 1 + P) / S), B = ceil((P - (K-1)*DIL) / S) (below 0 where
 * the window reaches left of the padding): B per axis, and the patch's
 * extent for a tile of r outputs of each phase. Along D a tile has one
 * output, od, whose inputs are PZ planes from ceil_div(od + P - (K-1)*DIL, S).
 */
constexpr int B_H = ceil_div(PAD_H - (KH - 1) * DIL_H, STRIDE_H);
constexpr int B_W = ceil_div(PAD_W - (KW - 1) * DIL_W, STRIDE_W);
constexpr int PZ = (KD - 1) * DIL_D / STRIDE_D + 1;
static __host__ __device__ int patch_rows(int ri) { return (STRIDE_H * ri - 1 + PAD_H - STRIDE_H * B_H) / STRIDE_H + 1; }
static __host__ __device__ int patch_cols(int lw) { return (STRIDE_W * lw - 1 + PAD_W - STRIDE_W * B_W) / STRIDE_W + 1; }

/* Shared memory, in floats: the weights [TAPS][cin_g][NC], the bias [NC],
 * the input patch [cin_g][PZ][PR][PC] and the staged outputs [TH][NC][TW]. */
static size_t smem_bytes(int cin_g, int ri, int lw)
{
	return ((size_t)TAPS * cin_g * NC + NC + (size_t)cin_g * PZ * patch_rows(ri) * patch_cols(lw) +
		(size_t)STRIDE_H * ri * NC * STRIDE_W * lw) *
	       sizeof(float);
}

template <typename T>
static __device__ __forceinline__ void store(T *p, float v)
{
#if STREAM
	__stcs(p, from_float<T>(v));
#else
	*p = from_float<T>(v);
#endif
}

/* Whether phase c of an axis takes tap k: the stride divides c + P - k*DIL
 * (the same for every output of the phase). Then the tap's input, as a
 * patch offset, is the output's index within its phase plus tap_off. */
template <int S, int P, int DIL>
static __device__ __forceinline__ bool takes(int c, int k)
{
	return ((c + P - k * DIL) % S + S) % S == 0;
}
template <int S, int P, int DIL, int B>
static __device__ __forceinline__ int tap_off(int c, int k)
{
	return (c + P - k * DIL - S * B) / S;   /* >= 0 where takes() */
}

/*
 * Grid: (blocks, G * ceil(CoutG / NC)); block (bx, by) owns channel tile
 * by and walks tiles bx*per .. bx*per + per - 1 of ntiles = N*OD*ceil(OH/TH)*
 * ceil(OW/TW), TH = SH*ri, TW = SW*lw. In its channel tile, g = by / ctiles,
 * channels co0 .. co0 + NC - 1 of the group (co0 = (by % ctiles) * NC;
 * those past CoutG are computed from zero weights and not stored).
 * Per tile: stage the input patch (zeros outside x), compute each phase's
 * outputs from shared memory into s_out, store s_out's rows.
 */
template <typename T>
__global__ void __launch_bounds__(THREADS, 1)
convt_kernel(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, T *__restrict__ y,
	     int cin_g, int cout_g, int ctiles, int ri, int lw, int ID, int IH, int IW, int OD, int OH, int OW,
	     int64_t ntiles, int64_t per)
{
	extern __shared__ float4 smem4[];
	const int TH = STRIDE_H * ri, TW = STRIDE_W * lw;
	const int PR = patch_rows(ri), PC = patch_cols(lw);
	const int pplane = PZ * PR * PC;                     /* patch floats per input channel */
	float *s_w = reinterpret_cast<float *>(smem4);      /* [TAPS][cin_g][NC] */
	float *s_b = s_w + (size_t)TAPS * cin_g * NC;       /* [NC] */
	float *s_x = s_b + NC;                              /* [cin_g][PZ][PR][PC] */
	float *s_out = s_x + (size_t)cin_g * pplane;        /* [TH][NC][TW] */
	const int g = blockIdx.y / ctiles, co0 = (blockIdx.y % ctiles) * NC;
	const int G = gridDim.y / ctiles;

	/* The weights of the tile's channels, w[g*cin_g + ci][co0 + co][tap]:
	 * consecutive threads read consecutive (co, tap) of one ci. */
	for (int i = threadIdx.x; i < cin_g * NC * TAPS; i += THREADS) {
		const int tap = i % TAPS, co = (i / TAPS) % NC, ci = i / (TAPS * NC);
		float v = 0.0f;
		if (co0 + co < cout_g)
			v = to_float(w[((int64_t)(g * cin_g + ci) * cout_g + co0 + co) * TAPS + tap]);
		s_w[(tap * cin_g + ci) * NC + co] = v;
	}
	for (int co = threadIdx.x; co < NC; co += THREADS)
		s_b[co] = CONV_BIAS && co0 + co < cout_g ? to_float(bias[g * cout_g + co0 + co]) : 0.0f;

	/* The products come in units of 32*OPT outputs of one phase (a warp's:
	 * its lanes share their taps), phase-major, dealt to the warps in turn:
	 * a phase with many taps spreads over consecutive warps, not onto the
	 * same few, where the phases' taps differ. */
	const int warp = threadIdx.x / 32, lane32 = threadIdx.x % 32;
	const int chunks = (ri * lw + 32 * OPT - 1) / (32 * OPT), units = PHASES * chunks;
	const int tiles_w = (OW + TW - 1) / TW, tiles_h = (OH + TH - 1) / TH;
	const int iplane = ID * IH * IW, oplane = OD * OH * OW;
	const int cin = G * cin_g, cout = G * cout_g;
	const int staged = cin_g * pplane;
	/* This block's tiles: a run of per consecutive ones (neighbours share
	 * input rows; see the launch for per). */
	const int64_t b_end = min(ntiles, ((int64_t)blockIdx.x + 1) * per);
	for (int64_t b = (int64_t)blockIdx.x * per; b < b_end; b++) {
		const int tw = (int)(b % tiles_w);
		int64_t q = b / tiles_w;
		const int th = (int)(q % tiles_h);
		q /= tiles_h;
		const int od = (int)(q % OD);
		const int64_t n = q / OD;
		const T *xn = x + (n * cin + (int64_t)g * cin_g) * iplane;
		const int id0 = ceil_div(od + PAD_D - (KD - 1) * DIL_D, STRIDE_D);
		const int ih0 = th * ri + B_H, iw0 = tw * lw + B_W;
		/* Whether od takes a tap at all (77: one od in two takes none):
		 * where not, the tile is its bias, and nothing is staged. */
		bool taps_d = false;
#pragma unroll
		for (int kd = 0; kd < KD; kd++) {
			const int numd = od + PAD_D - kd * DIL_D;
			taps_d |= numd % STRIDE_D == 0 && numd / STRIDE_D >= 0 && numd / STRIDE_D < ID;
		}

		__syncthreads();   /* the previous tile's stores have read s_out and its products s_x */
		/* The patch: every load independent, four in flight per thread;
		 * zeros outside x (padding, ragged tiles), so that the products
		 * below need no bounds. */
		for (int i0 = threadIdx.x; taps_d && i0 < staged; i0 += 4 * THREADS) {
			float v[4];
#pragma unroll
			for (int u = 0; u < 4; u++) {
				const int i = i0 + u * THREADS;
				v[u] = 0.0f;
				if (i < staged) {
					const int c = i % PC, line = i / PC;
					const int r = line % PR, zc = line / PR;
					const int z = zc % PZ, ci = zc / PZ;
					const int id = id0 + z, ih = ih0 + r, iw = iw0 + c;
					if ((unsigned)id < (unsigned)ID && (unsigned)ih < (unsigned)IH &&
					    (unsigned)iw < (unsigned)IW)
						v[u] = to_float(__ldg(xn + (int64_t)ci * iplane + (id * IH + ih) * IW + iw));
				}
			}
#pragma unroll
			for (int u = 0; u < 4; u++)
				if (i0 + u * THREADS < staged)
					s_x[i0 + u * THREADS] = v[u];
		}
		__syncthreads();

		for (int u = warp; u < units; u += THREADS / 32) {
			const int ph = u / chunks, e0 = (u - ph * chunks) * (32 * OPT) + lane32;
			if (e0 >= ri * lw)
				continue;
			const int ch = ph / STRIDE_W, cw = ph % STRIDE_W;
			/* This lane's OPT outputs, 32 apart in the phase's order (past
			 * the tile's last one: computed again from it, not stored);
			 * pos, each one's patch offset from the tap's. */
			int pos[OPT], at[OPT];
#pragma unroll
			for (int j = 0; j < OPT; j++) {
				const int e = min(e0 + 32 * j, ri * lw - 1);
				const int r = e / lw, c = e - r * lw;
				pos[j] = r * PC + c;
				at[j] = e0 + 32 * j < ri * lw ? (ch + STRIDE_H * r) * NC * TW + cw + STRIDE_W * c : -1;
			}
			float acc[OPT][NC];
#pragma unroll
			for (int v = 0; v < NC / 4; v++) {
				const float4 b4 = reinterpret_cast<const float4 *>(s_b)[v];
#pragma unroll
				for (int j = 0; j < OPT; j++) {
					acc[j][4 * v + 0] = b4.x;
					acc[j][4 * v + 1] = b4.y;
					acc[j][4 * v + 2] = b4.z;
					acc[j][4 * v + 3] = b4.w;
				}
			}
#pragma unroll
			for (int kd = 0; kd < KD; kd++) {
				/* Along D the tile's one od decides (the same for the block). */
				const int numd = od + PAD_D - kd * DIL_D;
				if (numd % STRIDE_D)
					continue;
				const int id = numd / STRIDE_D;
				if (id < 0 || id >= ID)
					continue;
#pragma unroll
				for (int kh = 0; kh < KH; kh++) {
					if (!takes<STRIDE_H, PAD_H, DIL_H>(ch, kh))
						continue;   /* the phase's: one per warp */
					const int zr = (id - id0) * PR + tap_off<STRIDE_H, PAD_H, DIL_H, B_H>(ch, kh);
#pragma unroll
					for (int kw = 0; kw < KW; kw++) {
						if (!takes<STRIDE_W, PAD_W, DIL_W>(cw, kw))
							continue;
						const float *xp = s_x + zr * PC + tap_off<STRIDE_W, PAD_W, DIL_W, B_W>(cw, kw);
						const float4 *wp = reinterpret_cast<const float4 *>(
							s_w + (size_t)((kd * KH + kh) * KW + kw) * cin_g * NC);
#pragma unroll 4
						for (int ci = 0; ci < cin_g; ci++) {
							float xv[OPT];
#pragma unroll
							for (int j = 0; j < OPT; j++)
								xv[j] = xp[ci * pplane + pos[j]];
#pragma unroll
							for (int v = 0; v < NC / 4; v++) {
								const float4 w4 = wp[ci * (NC / 4) + v];
#pragma unroll
								for (int j = 0; j < OPT; j++) {
									acc[j][4 * v + 0] = fmaf(xv[j], w4.x, acc[j][4 * v + 0]);
									acc[j][4 * v + 1] = fmaf(xv[j], w4.y, acc[j][4 * v + 1]);
									acc[j][4 * v + 2] = fmaf(xv[j], w4.z, acc[j][4 * v + 2]);
									acc[j][4 * v + 3] = fmaf(xv[j], w4.w, acc[j][4 * v + 3]);
								}
							}
						}
					}
				}
			}
#pragma unroll
			for (int j = 0; j < OPT; j++)
				if (at[j] >= 0) {
#pragma unroll
					for (int co = 0; co < NC; co++)
						s_out[at[j] + co * TW] = acc[j][co];
				}
		}
		__syncthreads();
		/* A warp per (row, channel) line: runs of consecutive outputs. */
		T *yn = y + (n * cout + (int64_t)g * cout_g + co0) * oplane + od * OH * OW;
		for (int line = warp; line < TH * NC; line += THREADS / 32) {
			const int row = line / NC, co = line % NC;
			const int h = th * TH + row;
			if (h >= OH || co0 + co >= cout_g)
				continue;
			T *yr = yn + (int64_t)co * oplane + h * OW + tw * TW;
			const float *sr = s_out + line * TW;
			const int run = min(TW, OW - tw * TW);
			for (int e = lane32; e < run; e += 32)
				store(yr + e, sr[e]);
		}
	}
}

/* ---- launch ---- */

template <typename T>
static int launch(const kb_tensor *in, kb_tensor *y, int64_t N, int G, int cin_g, int cout_g, const int64_t *is,
		  const int64_t *os, cudaStream_t st)
{
	/* The tile's rows and columns of each phase (see the top). */
	/* Columns: LANES at most, as many per tile across a row (65 outputs of
	 * stride 2, 33 a phase, at LANES=32: 17 and 16, not 32 and 1). */
	const int64_t need = (os[2] + STRIDE_W - 1) / STRIDE_W, across = (need + LANES - 1) / LANES;
	int lw = (int)((need + across - 1) / across), ri = CONV_DIMS < 2 ? 1 : ROWS;
	while (ri > 1 && smem_bytes(cin_g, ri, lw) > SMEM_CAP)
		ri /= 2;
	while (lw > 8 && smem_bytes(cin_g, ri, lw) > SMEM_CAP)
		lw = (lw + 1) / 2;
	const int TH = STRIDE_H * ri, TW = STRIDE_W * lw;
	const size_t smem = smem_bytes(cin_g, ri, lw);
	if (smem > SMEM_CAP)
		return KB_ERR_SHAPE;   /* the weights and patch alone: a smaller CO */
	const int ctiles = (cout_g + NC - 1) / NC;
	const int64_t tiles_w = (os[2] + TW - 1) / TW, tiles_h = (os[1] + TH - 1) / TH;
	const int64_t ntiles = N * os[0] * tiles_h * tiles_w;
	void (*kernel)(const T *, const T *, const T *, T *, int, int, int, int, int, int, int, int, int, int,
		       int, int64_t, int64_t) = convt_kernel<T>;
	if (smem > 48 * 1024 &&
	    cudaFuncSetAttribute((const void *)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem) !=
		    cudaSuccess)
		return KB_ERR_LAUNCH;
	int per_sm = 0;
	if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, THREADS, smem) != cudaSuccess)
		return KB_ERR_LAUNCH;
	if (per_sm < 1)
		return KB_ERR_SHAPE;   /* no block fits an SM */
	/* Blocks of TILES_PER_BLOCK consecutive tiles each (per channel tile),
	 * or fewer tiles where that would not fill the GPU: a block loads its
	 * weights once for its tiles, and where tiles differ in work (77's
	 * planes with taps and without) the GPU hands the next block to the
	 * first SM free, wave after wave, where one block per SM walking a
	 * fixed share of the tiles leaves some SMs idle at the end. */
	const int64_t ctcols = (int64_t)G * ctiles;
	if (ctcols > 65535)
		return KB_ERR_SHAPE;
	const int64_t fill = ((int64_t)kb_sm_count() * per_sm + ctcols - 1) / ctcols;
	int64_t per = TILES_PER_BLOCK;
	if ((ntiles + per - 1) / per < fill)
		per = (ntiles + fill - 1) / fill;
	if (per < 1)
		per = 1;
	const int64_t bx = (ntiles + per - 1) / per;
	if (bx > 2147483647LL)
		return KB_ERR_SHAPE;
	kernel<<<dim3((unsigned)bx, (unsigned)ctcols), THREADS, smem, st>>>(
		(const T *)in[0].data, (const T *)in[1].data, CONV_BIAS ? (const T *)in[2].data : nullptr,
		(T *)y->data, cin_g, cout_g, ctiles, ri, lw, (int)is[0], (int)is[1], (int)is[2], (int)os[0], (int)os[1],
		(int)os[2], ntiles, per);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

/* PyTorch's output extent of one transposed axis; below 1 where the
 * padding eats it (PyTorch refuses that). */
static int64_t out_extent(int64_t in, int k, int s, int p, int dil, int opad)
{
	return (in - 1) * s - 2 * (int64_t)p + (int64_t)dil * (k - 1) + opad + 1;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!kb_args_one_dtype(in, n_in, 2 + CONV_BIAS, out, n_out, 1))
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *wt = &in[1];
	kb_tensor *y = &out[0];
	const int nd = CONV_DIMS;
	if ((x->ndim != nd + 2 && x->ndim != nd + 1) || y->ndim != x->ndim || wt->ndim != nd + 2)
		return KB_ERR_SHAPE;
	const int bat = x->ndim == nd + 2;
	const int64_t N = bat ? x->shape[0] : 1, cin = x->shape[bat];
	/* Spatial extents as (D, H, W), 1 on the axes the problem lacks. */
	int64_t is[3] = {1, 1, 1}, ks[3] = {1, 1, 1}, os[3] = {1, 1, 1};
	for (int a = 0; a < nd; a++) {
		is[3 - nd + a] = x->shape[bat + 1 + a];
		ks[3 - nd + a] = wt->shape[2 + a];
		os[3 - nd + a] = y->shape[bat + 1 + a];
	}
	const int G = CONV_GROUPS;
	if (N < 0 || cin < 1 || cin % G || wt->shape[0] != cin || wt->shape[1] < 1)
		return KB_ERR_SHAPE;
	const int64_t cin_g = cin / G, cout_g = wt->shape[1], cout = cout_g * G;
	if (cin_g > 65536 || cout > 2147483647LL || y->shape[bat] != cout)
		return KB_ERR_SHAPE;
	if (ks[0] != KD || ks[1] != KH || ks[2] != KW)
		return KB_ERR_SHAPE;
	if (CONV_BIAS && (in[2].ndim != 1 || in[2].shape[0] != cout))
		return KB_ERR_SHAPE;
	if (is[0] < 1 || is[1] < 1 || is[2] < 1 || is[0] * is[1] * is[2] > 2147483647LL)
		return KB_ERR_SHAPE;
	if (os[0] != out_extent(is[0], KD, STRIDE_D, PAD_D, DIL_D, OPAD_D) ||
	    os[1] != out_extent(is[1], KH, STRIDE_H, PAD_H, DIL_H, OPAD_H) ||
	    os[2] != out_extent(is[2], KW, STRIDE_W, PAD_W, DIL_W, OPAD_W))
		return KB_ERR_SHAPE;
	if (os[0] < 1 || os[1] < 1 || os[2] < 1 || os[0] * os[1] * os[2] > 2147483647LL)
		return KB_ERR_SHAPE;
	if (bat && y->shape[0] != N)
		return KB_ERR_SHAPE;
	if (N == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	switch (x->dtype) {
	case KB_F32:
		return launch<float>(in, y, N, G, (int)cin_g, (int)cout_g, is, os, st);
#if !KB_F32_ONLY
	case KB_F16:
		return launch<__half>(in, y, N, G, (int)cin_g, (int)cout_g, is, os, st);
	default:
		return launch<__nv_bfloat16>(in, y, N, G, (int)cin_g, (int)cout_g, is, os, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
