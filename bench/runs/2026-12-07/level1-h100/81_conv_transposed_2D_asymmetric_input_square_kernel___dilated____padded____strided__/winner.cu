// kbreed winner for 81_conv_transposed_2D_asymmetric_input_square_kernel___dilated____padded____strided__: 1.3413 ms on NVIDIA H100 80GB HBM3 = 137% of PyTorch eager (1.8336 ms), 21% of the floor.
// Run 1, candidate 137, round 5. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template conv_transpose_direct
#define CONV_DIMS 2
#define CONV_STRIDE 5
#define CONV_STRIDE_H 5
#define CONV_STRIDE_W 5
#define CONV_PAD 1
#define CONV_PAD_H 1
#define CONV_PAD_W 1
#define CONV_DIL 2
#define CONV_DIL_H 2
#define CONV_DIL_W 2
#define CONV_KERNEL 3
#define CONV_KERNEL_H 3
#define CONV_KERNEL_W 3
#define CONV_OUT_PAD 0
#define CONV_OUT_PAD_H 0
#define CONV_OUT_PAD_W 0
#define CONV_GROUPS 1
#define CONV_BIAS 0
#define CONV_TRANSPOSED 1
#define CONV_STRIDED 1
#define CONV_TRANSPOSED_STRIDED 1
#define CONV_FEW_CIN 1
#define KB_F32_ONLY 1
#define CO 16
#define LANES 64
#define ROWS 2
#define WARPS 4
#define STREAM 1
// kbreed-template: conv_transpose_direct
// family: conv
// problems: conv_transpose1d conv_transpose2d conv_transpose3d conv_transpose1d_grouped conv_transpose2d_grouped conv_transpose3d_grouped
// requires: CONV_TRANSPOSED_STRIDED
// knob CO: 8 16 32 64 | default 32 | category memory access | output channels per block, each thread's accumulators: one x value read feeds CO multiply-adds; the block's weights for them (Cin/groups x taps x CO, fp32) stay in shared memory for the block's whole life
// knob LANES: 16 32 64 128 | default 32 | category parallelism | a tile's outputs of one phase per row, at most (fewer where a row has fewer): a tile is SH*ROWS rows of SW*LANES consecutive outputs
// knob ROWS: 1 2 4 8 | default 1 | category parallelism | a tile's rows of one phase (one on a 1-D conv); the tile is SH*ROWS rows high, and each warp walks its phase's ROWS x LANES outputs 32 at a time
// knob WARPS: 1 2 4 | default 1 | category parallelism | warps per phase (lowered while a block would pass 1024 threads): a block has 32*WARPS*SH*SW threads, and a phase's outputs of a tile are shared among its warps
// knob STREAM: 0 1 | default 0 | category memory access | 1 = y is stored with evict-first hints (written once, never read back)
// check: CO=64 LANES=128 ROWS=8 WARPS=4
// check: CO=8 LANES=16 ROWS=2 WARPS=2 STREAM=1
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
 * How. A block owns CO output channels of one group (blockIdx.y) and walks
 * tiles (grid-stride): TH = SH*ROWS output rows (one od, one n; ROWS is 1
 * on a 1-D conv) of TW = SW*LW consecutive outputs, LW = min(LANES,
 * ceil(OW / SW)), from (th*TH, tw*TW), multiples of the strides. Its weights for those channels, every
 * tap and every input channel of the group, are copied to shared memory
 * once, as s_w[tap][ci][co] in fp32.
 * The taps of an output depend only on its phase along each axis, (oh + PH)
 * mod SH and (ow + PW) mod SW, and a tile holds ROWS x LW outputs of each of
 * the SH*SW phases: WARPS warps of the block take phase (ch, cw) and walk
 * its outputs 32*WARPS at a time (output q: row ch + SH*(q / LW), column
 * cw + SW*(q % LW) of the tile), all CO channels of each. So the 32 lanes of a
 * warp take the same taps (no divergence), read neighbouring inputs along W
 * for each (tap, ci) (one or two coalesced runs), and read the same CO
 * weights (a shared-memory broadcast, float4 at a time). Phases with no tap
 * cost nothing but their stores (bias or zero). The results go through
 * shared memory, s_out[row][co][column], so that each warp then stores runs
 * of consecutive outputs of one channel's row (a lane's own outputs are SW
 * apart). A row narrower than SW*LANES makes a narrower tile (LW), so no
 * lane waits on columns past the row's end. Offsets of a channel's plane
 * are 32-bit (its D*H*W and OD*OH*OW below 2^31, checked at launch), of
 * planes 64-bit.
 *
 * Shared memory: taps*CinG*CO*4 + TH*CO*TW*4 bytes (opted into above 48
 * KB); KB_ERR_SHAPE where that exceeds 227 KB (a smaller CO fits), for
 * other dtypes or mixed ones, a weight whose window is not the compiled
 * one, channels that the groups do not divide, an output shape that is not
 * PyTorch's.
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
constexpr int RI = CONV_DIMS < 2 ? 1 : ROWS;  /* a tile's rows of one phase */
constexpr int TH = STRIDE_H * RI;             /* a tile's rows */
constexpr int SMEM_CAP = 227 * 1024;

/* The weights, then the staged outputs of a tile tw outputs wide. */
static size_t smem_bytes(int cin_g, int tw)
{
	return ((size_t)TAPS * cin_g * CO + (size_t)TH * CO * tw) * sizeof(float);
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

/* Where output o takes tap k of one axis: the input index, or -1 (no tap:
 * the stride does not divide, or the input lies outside [0, in)). */
template <int S, int P, int DIL>
static __device__ __forceinline__ int tap_input(int o, int k, int in)
{
	const int num = o + P - k * DIL;
	if (num < 0 || num % S)
		return -1;
	const int i = num / S;
	return i < in ? i : -1;
}

/*
 * Grid: (blocks, G * ceil(CoutG / CO)); block (bx, by) owns channel tile
 * by and walks tiles bx, bx + gridDim.x, ... of ntiles = N*OD*ceil(OH/TH)*
 * ceil(OW/TW), TW = SW*lw. In its channel tile, g = by / ctiles, channels
 * co0 .. co0 + CO - 1 of the group (co0 = (by % ctiles) * CO; those past
 * CoutG are computed from zero weights and not stored).
 */
template <typename T>
__global__ void __launch_bounds__(THREADS)
convt_kernel(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, T *__restrict__ y,
	     int cin_g, int cout_g, int ctiles, int lw, int ID, int IH, int IW, int OD, int OH, int OW,
	     int64_t ntiles)
{
	extern __shared__ float4 smem4[];
	const int TW = STRIDE_W * lw;
	float *s_w = reinterpret_cast<float *>(smem4);     /* [TAPS][cin_g][CO] */
	float *s_out = s_w + (size_t)TAPS * cin_g * CO;    /* [TH][CO][TW] */
	const int g = blockIdx.y / ctiles, co0 = (blockIdx.y % ctiles) * CO;
	const int G = gridDim.y / ctiles;

	/* The weights of the tile's channels, w[g*cin_g + ci][co0 + co][tap]:
	 * consecutive threads read consecutive (co, tap) of one ci. */
	for (int i = threadIdx.x; i < cin_g * CO * TAPS; i += THREADS) {
		const int tap = i % TAPS, co = (i / TAPS) % CO, ci = i / (TAPS * CO);
		float v = 0.0f;
		if (co0 + co < cout_g)
			v = to_float(w[((int64_t)(g * cin_g + ci) * cout_g + co0 + co) * TAPS + tap]);
		s_w[(tap * cin_g + ci) * CO + co] = v;
	}

	/* This warp's phase (ch, cw); the phase's WPP warps walk its RI x lw
	 * outputs of the tile, 32*WPP at a time. */
	const int ph = threadIdx.x / (32 * WPP), lane = threadIdx.x % (32 * WPP);
	const int ch = ph / STRIDE_W, cw = ph % STRIDE_W;
	const int tiles_w = (OW + TW - 1) / TW, tiles_h = (OH + TH - 1) / TH;
	const int iplane = ID * IH * IW, oplane = OD * OH * OW;
	const int cin = G * cin_g, cout = G * cout_g;
	for (int64_t b = blockIdx.x; b < ntiles; b += gridDim.x) {
		const int tw = (int)(b % tiles_w);
		int64_t q = b / tiles_w;
		const int th = (int)(q % tiles_h);
		q /= tiles_h;
		const int od = (int)(q % OD);
		const int64_t n = q / OD;
		const T *xn = x + (n * cin + (int64_t)g * cin_g) * iplane;

		__syncthreads();   /* the previous tile's stores have read s_out (and s_w is written) */
		for (int e = lane; e < RI * lw; e += 32 * WPP) {
			const int row = ch + STRIDE_H * (e / lw), col = cw + STRIDE_W * (e % lw);
			const int oh = th * TH + row, ow = tw * TW + col;
			float acc[CO];
#pragma unroll
			for (int co = 0; co < CO; co++)
				acc[co] = CONV_BIAS && co0 + co < cout_g ? to_float(__ldg(bias + g * cout_g + co0 + co)) : 0.0f;
			const bool inside = oh < OH && ow < OW;
#pragma unroll
			for (int kd = 0; kd < KD; kd++) {
				const int id = tap_input<STRIDE_D, PAD_D, DIL_D>(od, kd, ID);
				if (id < 0)
					continue;
#pragma unroll
				for (int kh = 0; kh < KH; kh++) {
					/* Whether the stride divides is the phase's (one per
					 * warp); the input's bounds are each lane's. */
					if (((ch + PAD_H - kh * DIL_H) % STRIDE_H + STRIDE_H) % STRIDE_H)
						continue;
					const int ih = inside ? tap_input<STRIDE_H, PAD_H, DIL_H>(oh, kh, IH) : -1;
#pragma unroll
					for (int kw = 0; kw < KW; kw++) {
						if (((cw + PAD_W - kw * DIL_W) % STRIDE_W + STRIDE_W) % STRIDE_W)
							continue;
						const int iw = inside ? tap_input<STRIDE_W, PAD_W, DIL_W>(ow, kw, IW) : -1;
						if (ih < 0 || iw < 0)
							continue;
						const T *xp = xn + (id * IH + ih) * IW + iw;
						const float4 *wp = reinterpret_cast<const float4 *>(
							s_w + (size_t)((kd * KH + kh) * KW + kw) * cin_g * CO);
#pragma unroll 4
						for (int ci = 0; ci < cin_g; ci++) {
							const float xv = to_float(__ldg(xp + (int64_t)ci * iplane));
#pragma unroll
							for (int v = 0; v < CO / 4; v++) {
								const float4 w4 = wp[ci * (CO / 4) + v];
								acc[4 * v + 0] = fmaf(xv, w4.x, acc[4 * v + 0]);
								acc[4 * v + 1] = fmaf(xv, w4.y, acc[4 * v + 1]);
								acc[4 * v + 2] = fmaf(xv, w4.z, acc[4 * v + 2]);
								acc[4 * v + 3] = fmaf(xv, w4.w, acc[4 * v + 3]);
							}
						}
					}
				}
			}
#pragma unroll
			for (int co = 0; co < CO; co++)
				s_out[(row * CO + co) * TW + col] = acc[co];
		}
		__syncthreads();
		/* Row by row, channel by channel: runs of consecutive outputs. */
		T *yn = y + (n * cout + (int64_t)g * cout_g + co0) * oplane + od * OH * OW;
		for (int i = threadIdx.x; i < TH * CO * TW; i += THREADS) {
			const int e = i % TW, co = (i / TW) % CO, row = i / (TW * CO);
			const int h = th * TH + row, wo = tw * TW + e;
			if (h < OH && wo < OW && co0 + co < cout_g)
				store(yn + (int64_t)co * oplane + h * OW + wo, s_out[i]);
		}
	}
}

/* ---- launch ---- */

template <typename T>
static int launch(const kb_tensor *in, kb_tensor *y, int64_t N, int G, int cin_g, int cout_g, const int64_t *is,
		  const int64_t *os, cudaStream_t st)
{
	/* The tile's phase columns: LANES, or fewer where a row is narrower. */
	const int64_t need = (os[2] + STRIDE_W - 1) / STRIDE_W;
	const int lw = need < LANES ? (int)need : LANES;
	const int TW = STRIDE_W * lw;
	const size_t smem = smem_bytes(cin_g, TW);
	if (smem > SMEM_CAP)
		return KB_ERR_SHAPE;
	const int ctiles = (cout_g + CO - 1) / CO;
	const int64_t tiles_w = (os[2] + TW - 1) / TW, tiles_h = (os[1] + TH - 1) / TH;
	const int64_t ntiles = N * os[0] * tiles_h * tiles_w;
	void (*kernel)(const T *, const T *, const T *, T *, int, int, int, int, int, int, int, int, int, int,
		       int64_t) = convt_kernel<T>;
	if (smem > 48 * 1024 &&
	    cudaFuncSetAttribute((const void *)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem) !=
		    cudaSuccess)
		return KB_ERR_LAUNCH;
	int per_sm = 0;
	if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, THREADS, smem) != cudaSuccess)
		return KB_ERR_LAUNCH;
	if (per_sm < 1)
		return KB_ERR_SHAPE;   /* no block fits an SM */
	/* Enough blocks to fill the GPU once, spread over the channel tiles;
	 * each loads its weights once and walks its tiles. */
	const int64_t cols = (int64_t)G * ctiles;
	if (cols > 65535)
		return KB_ERR_SHAPE;
	int64_t bx = ((int64_t)kb_sm_count() * per_sm + cols - 1) / cols;
	if (bx > ntiles)
		bx = ntiles;
	if (bx < 1)
		bx = 1;
	kernel<<<dim3((unsigned)bx, (unsigned)cols), THREADS, smem, st>>>(
		(const T *)in[0].data, (const T *)in[1].data, CONV_BIAS ? (const T *)in[2].data : nullptr,
		(T *)y->data, cin_g, cout_g, ctiles, lw, (int)is[0], (int)is[1], (int)is[2], (int)os[0], (int)os[1],
		(int)os[2], ntiles);
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
	if (!in || !out || n_in != 2 + CONV_BIAS || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *wt = &in[1];
	kb_tensor *y = &out[0];
	if (!kb_takes_dtype(x->dtype))
		return KB_ERR_SHAPE;
	if (wt->dtype != x->dtype || y->dtype != x->dtype || (CONV_BIAS && in[2].dtype != x->dtype))
		return KB_ERR_SHAPE;
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
