// kbreed winner for 86_conv_depthwise_separable_2D: 3.5239 ms on NVIDIA H100 80GB HBM3 = 106% of PyTorch eager (3.7344 ms), 30% of the floor.
// Run 2, candidate 54, round 1. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template conv_dwsep
#define CONV_DIMS 2
#define CONV_STRIDE 1
#define CONV_STRIDE_H 1
#define CONV_STRIDE_W 1
#define CONV_PAD 1
#define CONV_PAD_H 1
#define CONV_PAD_W 1
#define CONV_DIL 1
#define CONV_DIL_H 1
#define CONV_DIL_W 1
#define CONV_KERNEL 3
#define CONV_KERNEL_H 3
#define CONV_KERNEL_W 3
#define CONV_GROUPS 64
#define CONV_BIAS 0
#define CONV_TRANSPOSED 0
#define CONV_PW_BIAS 0
#define KB_F32_ONLY 1
#define TILE_W 32
#define TILE_H 4
#define CO_TILE 128
#define KC 8
#define THREADS 256
#define PRECISION 3
#define SPLIT 1
// kbreed-template: conv_dwsep
// family: conv
// problems: conv2d_depthwise_separable
// requires: CONV_KERNEL_H CONV_KERNEL_W CONV_PW_BIAS
// knob TILE_W: 16 32 64 | default 32 | category memory access | output columns of a block's pixel tile; a warp's stores of one output channel are TILE_W consecutive outputs of a row (32 with the defaults)
// knob TILE_H: 1 2 4 8 | default 4 | category memory access | output rows of a block's pixel tile (halved while a thread would hold more than 128 accumulators or the tile's buffers would not fit); a taller tile stages proportionally less halo
// knob CO_TILE: 16 32 64 128 | default 128 | category memory access | output channels per block: the depthwise tile is computed once per block and feeds CO_TILE channels, so it is recomputed Cout/CO_TILE times per pixel tile
// knob KC: 8 16 32 | default 8 | category control flow and loops | intermediate (depthwise) channels per step: each step stages KC input windows, makes KC depthwise tiles and adds KC terms into every output; deeper steps mean fewer barriers and more shared memory
// knob THREADS: 64 128 256 | default 256 | category parallelism | threads per block; each holds TILE_H*TILE_W*CO_TILE/THREADS accumulators
// knob PRECISION: 1 3 32 | default 32 | category data type | loose 1 | 32 = the pointwise step on fp32 FMAs (strict); 3 = 3xTF32 tensor-core products (mma.sync m16n8k8, each value split into big and small: big*big + big*small + small*big, fp32-class accuracy, strict); 1 = single TF32 tensor-core products (passes only the loose crfm tolerance)
// knob SPLIT: 0 1 | default 0 | category memory access | 1 = not fused: the depthwise step writes the intermediate (fp32) to stream-ordered scratch, then the pointwise step runs as a GEMM per image on the tensor cores (templates/common/pw_gemm.cuh, conv_pointwise's: 3xTF32, TF32 at PRECISION=1); the intermediate crosses memory twice, but the products run at the tensor cores' rate; 0 = fused
// same: SPLIT=1 PRECISION=32 as PRECISION=3
// same: SPLIT=1 TILE_W=16 as TILE_W=32
// same: SPLIT=1 TILE_W=64 as TILE_W=32
// same: SPLIT=1 TILE_H=1 as TILE_H=4
// same: SPLIT=1 TILE_H=2 as TILE_H=4
// same: SPLIT=1 TILE_H=8 as TILE_H=4
// same: SPLIT=1 CO_TILE=16 as CO_TILE=128
// same: SPLIT=1 CO_TILE=32 as CO_TILE=128
// same: SPLIT=1 CO_TILE=64 as CO_TILE=128
// same: SPLIT=1 KC=16 as KC=8
// same: SPLIT=1 KC=32 as KC=8
// same: SPLIT=1 THREADS=64 as THREADS=256
// same: SPLIT=1 THREADS=128 as THREADS=256
/*
 * conv_dwsep.cu - a depthwise-separable convolution, nn.Conv2d(C, CM, (KH,
 * KW), groups=C) followed by nn.Conv2d(CM, Cout, 1), fused: the depthwise
 * result never goes to global memory. Any window, stride, zero padding and
 * dilation (per axis) of the depthwise step, a channel multiplier (CM = C *
 * MULT, intermediate channel cm reads input channel cm / MULT), a bias on
 * either step or both; fp32, fp16 or bf16 with fp32 arithmetic throughout
 * (the intermediate too, where PyTorch rounds it to the dtype); batched (N,
 * C, H, W) or unbatched (C, H, W).
 *
 * The problem's defines, written by recognition (src/recognize.c, which
 * names a graph conv2d_depthwise_separable only where the second conv is a
 * 1x1 one of stride 1, no padding and groups 1 over the first's output, and
 * the parameters come in the order below), say what to compute; compiled
 * on its own it is a 3x3 depthwise step with padding 1, no biases:
 *   CONV_KERNEL_H, _W        the depthwise window (required: the requires: line)
 *   CONV_STRIDE_H, _W        its stride per axis (or CONV_STRIDE; 1)
 *   CONV_PAD_H, _W           its zero padding per axis (CONV_PAD; 0)
 *   CONV_DIL_H, _W           its dilation per axis (CONV_DIL; 1)
 *   CONV_GROUPS              its groups, which must equal C (checked at launch)
 *   CONV_BIAS                1 = the depthwise step has a bias (default 0)
 *   CONV_PW_BIAS             1 = the pointwise step has a bias (required)
 *   CONV_TRANSPOSED          must be 0; CONV_DIMS, where given, 2
 *
 * Layout (contiguous, row-major; one dtype for every tensor):
 *   in[0]  x        (N, C, H, W) or (C, H, W)
 *   in[1]  dw       (CM, 1, KH, KW), CM = C * MULT
 *   in[2]  dw_bias  (CM), where CONV_BIAS
 *   next   pw       (Cout, CM, 1, 1)
 *   next   pw_bias  (Cout), where CONV_PW_BIAS
 *   out[0] y        (N, Cout, OH, OW) or (Cout, OH, OW),
 *                   OH = (H + 2*PH - DH*(KH-1) - 1) / SH + 1, OW likewise
 *   mid[n][cm][oh][ow] = dw_bias[cm] + sum over kh, kw of
 *       dw[cm][0][kh][kw] * x[n][cm / MULT][oh*SH - PH + kh*DH][ow*SW - PW + kw*DW]
 *   y[n][co][oh][ow] = pw_bias[co] + sum over cm of pw[co][cm][0][0] * mid[n][cm][oh][ow]
 *
 * Strategy. A block owns a pixel tile, TH x TILE_W outputs of one image,
 * for CO_TILE output channels; neighbouring blocks hold the channel tiles
 * of one pixel tile, so they read its input from L2. It walks the CM
 * intermediate channels KC at a time; per step:
 *   1. stage the KC input windows the tile needs, IN_H x IN_W with IN_H =
 *      (TH-1)*SH + DH*(KH-1) + 1 and IN_W = (TILE_W-1)*SW + DW*(KW-1) + 1
 *      elements from (oh0*SH - PH, ow0*SW - PW), into shared memory as fp32
 *      (consecutive threads load consecutive columns; the padding, the
 *      input's edges and channels past CM are written as zero without
 *      being read), with the KC channels' depthwise weights (and biases)
 *      and the KC x CO_TILE slice of the pointwise weights (zero past CM
 *      and Cout);
 *   2. compute the KC depthwise tiles from shared memory into shared
 *      memory, mid[k][p] (p = row * TILE_W + column of the pixel tile;
 *      the window, stride and dilation being constants, every tap loop
 *      unrolls);
 *   3. add mid[k][p] * pw[co][cm0 + k] into every output of the block:
 *      PRECISION = 32: each thread keeps a TCO x TP block of accumulators
 *        (TCO channels cg*TCO + i, TP pixels j*NPX + px), reading per k
 *        TP intermediate values (consecutive threads, consecutive pixels:
 *        no bank conflicts) and TCO weights (the same for a warp: one
 *        broadcast, 16-byte loads), for TCO*TP fp32 FMAs in cm order;
 *      PRECISION = 1: the block's P x CO_TILE product is cut into m16 x n8
 *        tiles dealt round-robin to the warps, and each 8-deep slice of
 *        KC is one mma.sync m16n8k8 per tile, both operands rounded to
 *        TF32 (cvt.rna) as the fragments are read (rows padded by 8
 *        floats, so a fragment's 32 reads hit 32 banks);
 *      PRECISION = 3: the same tiles, every value split as it is read
 *        into big = tf32(x) and small = tf32(x - big) (x - big is exact),
 *        and three products per slice into the one accumulator,
 *        small*big, big*small, big*big (small*small, about 2^-22
 *        relative, dropped): fp32-class sums on the tensor cores. Written
 *        without a GPU at hand; make test-gpu's section 3 judges it (every
 *        PRECISION value).
 * Then each thread stores its outputs: a warp writes runs of consecutive
 * pixels of one channel (PRECISION = 32; rows of 8 for the mma tiles).
 * Pixels of the tile past OH or OW are computed from zeros and never
 * stored; each output depends only on its own pixel's intermediates.
 *
 * The tile height used, TH, is TILE_H halved while a thread would hold
 * more than 128 accumulators (TH*TILE_W*CO_TILE/THREADS) or the buffers
 * would take more than 160 KB of shared memory (more than 48 KB is opted
 * into at launch). Blocks grid-stride over (image, pixel tile, channel
 * tile); every offset into a tensor is 64-bit (16 x 128 x 512 x 512
 * outputs are past 2^31). KB_ERR_SHAPE for anything else: other or mixed
 * dtypes, a depthwise weight whose window is not the compiled one, CM not
 * a multiple of C, C not CONV_GROUPS, a pointwise weight that is not
 * (Cout, CM, 1, 1), an output shape that is not PyTorch's.
 */
#ifndef TILE_W
#define TILE_W 32
#endif
#ifndef TILE_H
#define TILE_H 4
#endif
#ifndef CO_TILE
#define CO_TILE 128
#endif
#ifndef KC
#define KC 8
#endif
#ifndef THREADS
#define THREADS 256
#endif
#ifndef PRECISION
#define PRECISION 32
#endif
#ifndef SPLIT
#define SPLIT 0
#endif

/* Compiled on its own: a 3x3 window, padding 1, no biases. */
#ifndef CONV_KERNEL_H
#define CONV_KERNEL_H 3
#define CONV_KERNEL_W 3
#define CONV_PAD_H 1
#define CONV_PAD_W 1
#endif
// ---- inlined from ../common/conv_axes.cuh ----
// conv_axes.cuh - the 2-D convolution templates' per-axis geometry, from
// the bare names where only those are given (recognition writes both):
//   CONV_KERNEL_W (CONV_KERNEL_H), CONV_STRIDE_H/_W (CONV_STRIDE; 1),
//   CONV_PAD_H/_W (CONV_PAD; 0), CONV_DIL_H/_W (CONV_DIL; 1), CONV_BIAS (0).
// Included after the template's own stand-alone defaults (CONV_KERNEL_H at
// least). Not a template: kbreed inlines this file in place of the marker
// line that names it (src/template.h), so that a candidate stays one file.
#ifndef KBREED_COMMON_CONV_AXES_CUH
#define KBREED_COMMON_CONV_AXES_CUH

#ifndef CONV_KERNEL_W
#define CONV_KERNEL_W CONV_KERNEL_H
#endif
/* Per-axis values, from the bare name where only that is given. */
#ifndef CONV_STRIDE
#define CONV_STRIDE 1
#endif
#ifndef CONV_STRIDE_H
#define CONV_STRIDE_H CONV_STRIDE
#endif
#ifndef CONV_STRIDE_W
#define CONV_STRIDE_W CONV_STRIDE
#endif
#ifndef CONV_PAD
#define CONV_PAD 0
#endif
#ifndef CONV_PAD_H
#define CONV_PAD_H CONV_PAD
#endif
#ifndef CONV_PAD_W
#define CONV_PAD_W CONV_PAD
#endif
#ifndef CONV_DIL
#define CONV_DIL 1
#endif
#ifndef CONV_DIL_H
#define CONV_DIL_H CONV_DIL
#endif
#ifndef CONV_DIL_W
#define CONV_DIL_W CONV_DIL
#endif
#ifndef CONV_BIAS
#define CONV_BIAS 0
#endif

#endif
// ---- end of ../common/conv_axes.cuh ----
#ifndef CONV_PW_BIAS
#define CONV_PW_BIAS 0
#endif
#ifndef CONV_TRANSPOSED
#define CONV_TRANSPOSED 0
#endif
#ifndef CONV_DIMS
#define CONV_DIMS 2
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
// ---- inlined from ../common/ampere.cuh ----
// ampere.cuh - the sm_80 tensor-core and copy helpers of the mma.sync
// templates (gemm_mma_f16, gemm_tf32, conv_igemm, flash_mma), written once:
//   cp_async16(dst, src)          16 bytes global -> shared (.cg, L2 only)
//   cp_async16(dst, src, n)       the same, reading n bytes (0 or 16) and zero-filling the rest
//   cp_async4(dst, src, n)        4 bytes (.ca), reading n (0 or 4), zero-filling the rest
//   cp_async_commit()             closes this thread's group of copies
//   cp_async_wait<N>()            until at most N of its latest groups are pending
//   ldsm_x4(r, addr)              ldmatrix: four 8x8 b16 matrices from shared memory
//   ldsm_x4_t(r, addr)            the same, transposed
//   mma_m16n8k16_f16 / _bf16      d += a * b, one m16n8k16 fragment, fp32 accumulate
//   mma_m16n8k8_tf32              d += a * b, one m16n8k8 fragment of TF32
//   to_tf32(x)                    fp32 rounded to TF32 (to nearest, ties away), as bits
//   tf32_split(x, big, small)     x as big + small, two TF32s (3xTF32's operands):
//                                 big = tf32(x), small = tf32(x - big) (x - big is exact)
//   tf32_split_trunc(x, big, small)
//                                 the same by truncation: the top 19 bits of x, then of
//                                 x - big (two logic ops where the rounding takes two
//                                 conversions; about 2^-20 relative instead of 2^-22)
// Shared-memory operands are 32-bit addresses (smem_u32). Every copy, wait
// and ldmatrix carries a "memory" clobber, so the compiler keeps ordinary
// shared-memory reads and writes on their side of it.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_AMPERE_CUH
#define KBREED_COMMON_AMPERE_CUH

#include <stdint.h>
// ---- inlined from smem.cuh ----
// smem.cuh - the shared-memory address of a pointer, as the 32-bit operand
// that PTX's shared-space instructions (cp.async, ldmatrix, mbarrier, TMA,
// wgmma descriptors) take. Shared by ampere.cuh and hopper.cuh.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_SMEM_CUH
#define KBREED_COMMON_SMEM_CUH

#include <stdint.h>

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
	return (uint32_t)__cvta_generic_to_shared(p);
}

#endif
// ---- end of smem.cuh ----

__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src)
{
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}

/* src_bytes 0 reads nothing and writes 16 zero bytes. */
__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, int src_bytes)
{
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
		     : "memory");
}

/* src_bytes 0 reads nothing and writes a zero. */
__device__ __forceinline__ void cp_async4(uint32_t dst, const void *src, int src_bytes)
{
	asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
		     : "memory");
}

__device__ __forceinline__ void cp_async_commit()
{
	asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* Wait until at most N of this thread's most recent groups are pending. */
template <int N> __device__ __forceinline__ void cp_async_wait()
{
	asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void ldsm_x4(uint32_t r[4], uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
		     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		     : "r"(addr)
		     : "memory");
}

__device__ __forceinline__ void ldsm_x4_t(uint32_t r[4], uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
		     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		     : "r"(addr)
		     : "memory");
}

/* d += a (16x16, row) * b (16x8, col); fp16 in, fp32 accumulate. */
__device__ __forceinline__ void mma_m16n8k16_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
		     "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
		     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* The same with bf16 inputs. */
__device__ __forceinline__ void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
		     "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
		     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* d += a (16x8, row) * b (8x8, col); TF32 in, fp32 accumulate. */
__device__ __forceinline__ void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
	asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
	    "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
	    : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
	    : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t to_tf32(float x)
{
	uint32_t r;
	asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
	return r;
}

__device__ __forceinline__ void tf32_split(float x, uint32_t &big, uint32_t &small)
{
	big = to_tf32(x);
	small = to_tf32(x - __uint_as_float(big));
}

/* x as bits (an ldmatrix register, say). */
__device__ __forceinline__ void tf32_split_trunc(uint32_t x, uint32_t &big, uint32_t &small)
{
	big = x & 0xffffe000u;
	small = __float_as_uint(__uint_as_float(x) - __uint_as_float(big)) & 0xffffe000u;
}

#endif
// ---- end of ../common/ampere.cuh ----
#if SPLIT
// ---- inlined from ../common/pw_gemm.cuh ----
// pw_gemm.cuh - the GEMM of a pointwise (1x1) convolution, written once for
// the templates that run one (conv_pointwise; conv_dwsep with SPLIT=1):
//   y[n][co][p] = bias[co] + sum_ci w[co][ci] * x[n][ci][p]
// over N images of P positions, x and w fp32, y and bias of type TY (fp32,
// or fp16 and bf16 rounded from the fp32 accumulators), on mma.sync m16n8k8 TF32
// (3xTF32 at PREC = 3, one TF32 product at PREC = 1). conv_pointwise.cu's
// header comment tells the strategy: a persistent grid, each block a
// sequence of (tile, K slice) items through a cp.async ring that runs across
// tile boundaries, the weight's rows and x's rows copied 16 bytes at a time
// where V16 (P and Cin multiples of 4, 16-byte aligned pointers), y written
// from the accumulators.
//   pwg<BM, BN, BK, WARPS, STAGES, PREC>   the tile's constants (a type)
//   pwg_launch<C, V16, TY>(x, w, bias, y, N, Ci, Co, P, stream)
//                                 the kernel on as many blocks as fit at
//                                 once: KB_OK, KB_ERR_SHAPE where the ring
//                                 does not fit an SM, KB_ERR_LAUNCH
// The constants are members of a type, not macros, so that a template's own
// knob macros (conv_pointwise's BM, BN...) are not rewritten in here.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_PW_GEMM_CUH
#define KBREED_COMMON_PW_GEMM_CUH

#include <cuda_runtime.h>
#include <stdint.h>
#include <type_traits>
#include "kbreed_candidate.h"
// ---- inlined from host.cuh ----
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
// ---- end of host.cuh ----

template <int kBM, int kBN, int kBK, int kWarps, int kStages, int kPrec> struct pwg {
	static constexpr int bm = kBM, bn = kBN, bk = kBK, stages = kStages, prec = kPrec;
	static constexpr int nt = kWarps * 32;
	static constexpr int warps_m = 2, warps_n = kWarps / 2;
	static constexpr int wm = bm / warps_m, wn = bn / warps_n;   /* channels, positions a warp */
	static constexpr int mt = wm / 16, ntl = wn / 8;
	static constexpr int lda = bk + 4, ldb = bn + 8;              /* sA, sB rows, floats */
	static constexpr int stage_floats = bm * lda + bk * ldb;
	static constexpr int smem_bytes = stages * stage_floats * 4;
	static_assert(kWarps == 4 || kWarps == 8, "4 or 8 warps");
	static_assert(kPrec == 1 || kPrec == 3, "PREC is 1 or 3");
	static_assert(bk % 8 == 0 && stages >= 2, "whole k8 steps, a ring of two stages at least");
	static_assert(wn % 8 == 0 && wm % 16 == 0, "warp tiles of whole mma tiles");
	static_assert(ldb % 32 == 8, "the B fragment's loads are conflict-free at a row stride of 8 banks");
	static_assert(smem_bytes <= 227 * 1024, "the ring fits an SM's shared memory");
};

/* One C::bk slice of the weight (sA) and of x[n] (sB) into a stage. */
template <class C, bool V16>
__device__ __forceinline__ void pwg_load_slice(float *stage, const float *__restrict__ w, const float *__restrict__ xs,
					   int co0, int p0, int k0, int Ci, int Co, int P)
{
	const int tid = threadIdx.x;
	float *sA = stage, *sB = stage + C::bm * C::lda;
	if (V16) {
		/* Cin and P are multiples of 4: a piece lies wholly inside or outside */
		for (int i = tid; i < C::bm * (C::bk / 4); i += C::nt) {
			const int r = i / (C::bk / 4), c = 4 * (i % (C::bk / 4));
			const int co = co0 + r, k = k0 + c;
			const bool ok = co < Co && k < Ci;
			cp_async16(smem_u32(sA + r * C::lda + c), ok ? w + (int64_t)co * Ci + k : w, ok ? 16 : 0);
		}
		for (int i = tid; i < C::bk * (C::bn / 4); i += C::nt) {
			const int r = i / (C::bn / 4), c = 4 * (i % (C::bn / 4));
			const int k = k0 + r, p = p0 + c;
			const bool ok = k < Ci && p < P;
			cp_async16(smem_u32(sB + r * C::ldb + c), ok ? xs + (int64_t)k * P + p : xs, ok ? 16 : 0);
		}
	} else {
		for (int i = tid; i < C::bm * C::bk; i += C::nt) {
			const int r = i / C::bk, c = i % C::bk;
			const int co = co0 + r, k = k0 + c;
			const bool ok = co < Co && k < Ci;
			cp_async4(smem_u32(sA + r * C::lda + c), ok ? w + (int64_t)co * Ci + k : w, ok ? 4 : 0);
		}
		for (int i = tid; i < C::bk * C::bn; i += C::nt) {
			const int r = i / C::bn, c = i % C::bn;
			const int k = k0 + r, p = p0 + c;
			const bool ok = k < Ci && p < P;
			cp_async4(smem_u32(sB + r * C::ldb + c), ok ? xs + (int64_t)k * P + p : xs, ok ? 4 : 0);
		}
	}
}

/* x as TF32: PREC=3 big and small by truncation (ampere.cuh's
 * tf32_split_trunc); PREC=1 rounded once (small unused). */
template <int PREC> __device__ __forceinline__ void pwg_parts(uint32_t x, uint32_t &big, uint32_t &small)
{
	if constexpr (PREC == 3) {
		tf32_split_trunc(x, big, small);
	} else {
		big = to_tf32(__uint_as_float(x));
		small = 0;
	}
}

/* A tile's place: output channels from co0, positions from p0 of image img.
 * Tiles run position tile fastest, then image, then channel tile, so the
 * blocks at work at one time read neighbouring stretches of x. */
struct pwg_tile {
	int64_t img;
	int p0, co0;
};

template <class C> __device__ __forceinline__ pwg_tile pwg_tile_of(int64_t tile, int tilesP, int64_t N)
{
	const int64_t per_ct = N * tilesP;
	const int64_t rest = tile % per_ct;
	return { rest / tilesP, (int)(rest % tilesP) * C::bn, (int)(tile / per_ct) * C::bm };
}

template <class C> __device__ __forceinline__ void pwg_zero(float (&acc)[C::mt][C::ntl][4])
{
#pragma unroll
	for (int i = 0; i < C::mt; i++)
#pragma unroll
		for (int j = 0; j < C::ntl; j++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				acc[i][j][e] = 0.0f;
}

/* One output, evict-first where it is fp32 (fp16 and bf16 rounded from v). */
template <typename TY> __device__ __forceinline__ void pwg_st(TY *p, float v)
{
	if constexpr (std::is_same<TY, float>::value)
		__stcs(p, v);
	else
		*p = from_float<TY>(v);
}

/* The accumulators of tile `at` to y, with the bias, evict-first. */
template <class C, bool V16, typename TY>
__device__ __forceinline__ void pwg_store_tile(float (&acc)[C::mt][C::ntl][4], const pwg_tile &at, const TY *__restrict__ bias,
					       TY *__restrict__ y, int Co, int P)
{
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int g = lane >> 2, t = lane & 3;
	const int wm = warp % C::warps_m, wn = warp / C::warps_m;
#pragma unroll
	for (int i = 0; i < C::mt; i++) {
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const int co = at.co0 + wm * C::wm + i * 16 + g + 8 * h;
			if (co >= Co)
				continue;
			const float b = bias ? to_float(bias[co]) : 0.0f;
			TY *yr = y + (at.img * Co + co) * (int64_t)P;
#pragma unroll
			for (int j = 0; j < C::ntl; j++) {
				const int p = at.p0 + wn * C::wn + j * 8 + 2 * t;
				const float v0 = acc[i][j][2 * h] + b, v1 = acc[i][j][2 * h + 1] + b;
				if constexpr (V16 && std::is_same<TY, float>::value) {
					if (p < P) /* P even: p + 1 < P too */
						__stcs(reinterpret_cast<float2 *>(yr + p), make_float2(v0, v1));
				} else {
					if (p < P)
						pwg_st(yr + p, v0);
					if (p + 1 < P)
						pwg_st(yr + p + 1, v1);
				}
			}
		}
	}
}

/* Persistent: block b takes tiles b, b + gridDim.x, ...; its work is one
 * sequence of (tile, slice) items, and the ring runs across tile
 * boundaries, so the next tile's first slices load while this tile's last
 * is multiplied and its results are stored (with a Cin of a slice or two,
 * a tile's whole x arrives during the previous tile's products). */
template <class C, bool V16, typename TY>
__global__ void __launch_bounds__(C::nt)
pwg_kernel(const float *__restrict__ x, const float *__restrict__ w, const TY *__restrict__ bias,
	       TY *__restrict__ y, int64_t N, int Ci, int Co, int P, int tilesP, int64_t tiles)
{
	extern __shared__ __align__(16) float pwg_smem[];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int g = lane >> 2, t = lane & 3;
	const int wm = warp % C::warps_m, wn = warp / C::warps_m;
	const int nk = (Ci + C::bk - 1) / C::bk;
	const int64_t mine = tiles > blockIdx.x ? (tiles - 1 - blockIdx.x) / gridDim.x + 1 : 0;
	const int64_t items = mine * nk;
	/* item `it` of this block: slice it % nk of its tile it / nk */
	auto load_item = [&](int64_t it) {
		const pwg_tile at = pwg_tile_of<C>(blockIdx.x + it / nk * gridDim.x, tilesP, N);
		pwg_load_slice<C, V16>(pwg_smem + (int)(it % C::stages) * C::stage_floats, w, x + at.img * Ci * (int64_t)P, at.co0,
				at.p0, (int)(it % nk) * C::bk, Ci, Co, P);
	};

	float acc[C::mt][C::ntl][4];
	pwg_zero<C>(acc);

#pragma unroll
	for (int s = 0; s < C::stages - 1; s++) {
		if (s < items)
			load_item(s);
		cp_async_commit();
	}
	/* ldmatrix rows of this lane: rows 0-15 of an m16 tile, k 0-3 or 4-7 */
	const int a_lane = (wm * C::wm + (lane & 15)) * C::lda + (lane >> 4) * 4;
	const int b_lane = t * C::ldb + wn * C::wn + g;
	for (int64_t it = 0; it < items; it++) {
		cp_async_wait<C::stages - 2>(); /* item it landed (this thread's copies) */
		__syncthreads();             /* ... everyone's; and item it-1's stage is free */
		if (it + C::stages - 1 < items)
			load_item(it + C::stages - 1);
		cp_async_commit(); /* possibly empty: the group count stays uniform */
		const float *sA = pwg_smem + (int)(it % C::stages) * C::stage_floats, *sB = sA + C::bm * C::lda;
		const uint32_t sa = smem_u32(sA);
#pragma unroll
		for (int ks = 0; ks < C::bk / 8; ks++) {
			uint32_t abig[C::mt][4], asmall[C::mt][4];
#pragma unroll
			for (int i = 0; i < C::mt; i++) {
				uint32_t r[4];
				ldsm_x4(r, sa + (uint32_t)(a_lane + i * 16 * C::lda + ks * 8) * 4u);
#pragma unroll
				for (int c = 0; c < 4; c++)
					pwg_parts<C::prec>(r[c], abig[i][c], asmall[i][c]);
			}
#pragma unroll
			for (int j = 0; j < C::ntl; j++) {
				const float *bp = sB + b_lane + ks * 8 * C::ldb + j * 8;
				uint32_t b0, b1, s0, s1;
				pwg_parts<C::prec>(__float_as_uint(bp[0]), b0, s0);
				pwg_parts<C::prec>(__float_as_uint(bp[4 * C::ldb]), b1, s1);
#pragma unroll
				for (int i = 0; i < C::mt; i++) {
					if constexpr (C::prec == 3) {
						mma_m16n8k8_tf32(acc[i][j], asmall[i], b0, b1);
						mma_m16n8k8_tf32(acc[i][j], abig[i], s0, s1);
					}
					mma_m16n8k8_tf32(acc[i][j], abig[i], b0, b1);
				}
			}
		}
		if (it % nk == nk - 1) { /* the tile's last slice: its results out, fresh accumulators */
			pwg_store_tile<C, V16, TY>(acc, pwg_tile_of<C>(blockIdx.x + it / nk * gridDim.x, tilesP, N), bias, y, Co, P);
			pwg_zero<C>(acc);
		}
	}
	cp_async_wait<0>();
}

template <class C, bool V16, typename TY>
static int pwg_launch(const float *x, const float *w, const TY *bias, TY *y, int64_t N, int Ci, int Co, int P,
		  cudaStream_t st)
{
	/* kept across calls: the shared memory allowed, the blocks an SM holds */
	static int per_sm = 0;
	if (per_sm == 0) {
		if (cudaFuncSetAttribute((const void *)pwg_kernel<C, V16, TY>, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 C::smem_bytes) != cudaSuccess ||
		    cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, pwg_kernel<C, V16, TY>, C::nt, C::smem_bytes) !=
			    cudaSuccess)
			return KB_ERR_LAUNCH;
		if (per_sm < 1)
			return KB_ERR_SHAPE; /* the ring does not fit an SM */
	}
	const int sms = kb_sm_count();
	if (sms < 1)
		return KB_ERR_LAUNCH;
	const int64_t tilesP = ((int64_t)P + C::bn - 1) / C::bn, chans = ((int64_t)Co + C::bm - 1) / C::bm;
	if (tilesP > 2147483647LL)
		return KB_ERR_SHAPE;
	const int64_t tiles = N * tilesP * chans;
	const int64_t grid = tiles < (int64_t)per_sm * sms ? tiles : (int64_t)per_sm * sms;
	pwg_kernel<C, V16, TY><<<(unsigned)grid, C::nt, C::smem_bytes, st>>>(x, w, bias, y, N, Ci, Co, P, (int)tilesP, tiles);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

#endif
// ---- end of ../common/pw_gemm.cuh ----
#endif

#define KH CONV_KERNEL_H
#define KW CONV_KERNEL_W
#define SH CONV_STRIDE_H
#define SW CONV_STRIDE_W
#define PH CONV_PAD_H
#define PW CONV_PAD_W
#define DH CONV_DIL_H
#define DW CONV_DIL_W

static_assert(TILE_W == 16 || TILE_W == 32 || TILE_W == 64, "TILE_W is 16, 32 or 64");
static_assert(TILE_H == 1 || TILE_H == 2 || TILE_H == 4 || TILE_H == 8, "TILE_H is 1, 2, 4 or 8");
static_assert(CO_TILE == 16 || CO_TILE == 32 || CO_TILE == 64 || CO_TILE == 128, "CO_TILE is 16, 32, 64 or 128");
static_assert(KC == 8 || KC == 16 || KC == 32, "KC is 8, 16 or 32");
static_assert(THREADS == 64 || THREADS == 128 || THREADS == 256, "THREADS is 64, 128 or 256");
static_assert(PRECISION == 1 || PRECISION == 3 || PRECISION == 32,
	      "PRECISION is 1 (TF32), 3 (3xTF32) or 32 (fp32 FMA)");
static_assert(SPLIT == 0 || SPLIT == 1, "SPLIT is 0 or 1");
static_assert(KH >= 1 && KW >= 1, "CONV_KERNEL: windows of at least 1");
static_assert(SH >= 1 && SW >= 1, "CONV_STRIDE");
static_assert(PH >= 0 && PW >= 0, "CONV_PAD");
static_assert(DH >= 1 && DW >= 1, "CONV_DIL");
static_assert(CONV_BIAS == 0 || CONV_BIAS == 1, "CONV_BIAS is 0 or 1");
static_assert(CONV_PW_BIAS == 0 || CONV_PW_BIAS == 1, "CONV_PW_BIAS is 0 or 1");
static_assert(CONV_TRANSPOSED == 0, "a transposed convolution is not this template's");
static_assert(CONV_DIMS == 2, "a 2-D depthwise-separable convolution only");

KBREED_CANDIDATE_ABI

/* The buffers of one step, in floats, for a tile th rows high: the KC
 * input windows, the KC depthwise tiles (rows padded by 8), the KC x
 * CO_TILE pointwise weights (rows padded by 8), the KC depthwise windows'
 * weights and their biases. */
constexpr int IN_W = (TILE_W - 1) * SW + DW * (KW - 1) + 1;
constexpr int in_rows(int th) { return (th - 1) * SH + DH * (KH - 1) + 1; }
constexpr int mid_pitch(int th) { return th * TILE_W + 8; }
constexpr int PW_PITCH = CO_TILE + 8;
constexpr long long smem_floats(int th)
{
	return (long long)KC * in_rows(th) * IN_W + (long long)KC * mid_pitch(th) + KC * PW_PITCH + KC * KH * KW + KC;
}
constexpr int SMEM_CAP = 160 * 1024;
constexpr int accumulators(int th) { return th * TILE_W * CO_TILE / THREADS; }
/* The tile height: TILE_H, halved while a thread's accumulators or the
 * buffers would be too many. */
constexpr int fit_rows(int th)
{
	return th > 1 && (accumulators(th) > 128 || smem_floats(th) * 4 > SMEM_CAP) ? fit_rows(th / 2) : th;
}
constexpr int TH = fit_rows(TILE_H);
constexpr int IN_H = in_rows(TH);
constexpr int P = TH * TILE_W;                 /* pixels per tile */
constexpr int MID_PITCH = mid_pitch(TH);
constexpr long long SMEM_BYTES_LL = smem_floats(TH) * 4;
static_assert(SMEM_BYTES_LL <= 227 * 1024, "one step's buffers do not fit in shared memory: lower KC or TILE_W");
constexpr int SMEM_BYTES = (int)SMEM_BYTES_LL;
constexpr int ACC = accumulators(TH);          /* per thread */
static_assert(ACC >= 1 && ACC * THREADS == P * CO_TILE && ACC <= 128, "accumulators per thread");

/* PRECISION = 32: a thread's TCO x TP block, TP the smallest power of two
 * with 4*TP*TP >= ACC (TCO about four times TP: the weights are broadcast,
 * the intermediates are not), within the tile. */
constexpr int pick_tp(int a)
{
	int tp = 1;
	while (4 * tp * tp < a)
		tp *= 2;
	return tp;
}
constexpr int TP0 = pick_tp(ACC) < P ? pick_tp(ACC) : P;
constexpr int TP = ACC / TP0 > CO_TILE ? ACC / CO_TILE : TP0;
constexpr int TCO = ACC / TP;
constexpr int NPX = P / TP;                    /* threads along the pixels */
constexpr int NCO = CO_TILE / TCO;             /* threads along the channels */
static_assert(TP * TCO == ACC && TP <= P && TCO <= CO_TILE && NPX * NCO == THREADS, "the thread block");

/* PRECISION = 1 or 3: m16 x n8 tiles dealt round-robin to the warps. */
constexpr int WARPS = THREADS / 32;
constexpr int NT_ALL = CO_TILE / 8;
constexpr int TILES = P / 16 * NT_ALL;
constexpr int TPW = (TILES + WARPS - 1) / WARPS;   /* tiles per warp, the last ones maybe idle */
static_assert(P % 16 == 0, "pixel tiles of whole m16 blocks");

template <typename T>
__global__ void __launch_bounds__(THREADS)
dwsep_kernel(const T *__restrict__ x, const T *__restrict__ dw, const T *__restrict__ dw_bias,
	     const T *__restrict__ pw, const T *__restrict__ pw_bias, T *__restrict__ y, int64_t total,
	     int C, int mult, int CM, int Cout, int H, int W, int OH, int OW, int tiles_w, int tiles, int co_tiles)
{
	extern __shared__ float4 smem4[];
	float *s_in = reinterpret_cast<float *>(smem4);   /* [KC][IN_H][IN_W] */
	float *s_mid = s_in + KC * IN_H * IN_W;           /* [KC][MID_PITCH] */
	float *s_pw = s_mid + KC * MID_PITCH;             /* [KC][PW_PITCH], k-major */
	float *s_dw = s_pw + KC * PW_PITCH;               /* [KC][KH*KW] */
	float *s_db = s_dw + KC * KH * KW;                /* [KC] */
	const int tid = threadIdx.x;
	for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
		const int cot = (int)(b % co_tiles);
		const int64_t rest = b / co_tiles;
		const int t = (int)(rest % tiles);
		const int64_t n = rest / tiles;
		const int oh0 = (t / tiles_w) * TH, ow0 = (t % tiles_w) * TILE_W, co0 = cot * CO_TILE;
		const int ih0 = oh0 * SH - PH, iw0 = ow0 * SW - PW;

		/* The accumulators, from the pointwise bias. */
		float acc[PRECISION == 32 ? TCO : TPW][PRECISION == 32 ? TP : 4];
		const int px = tid % NPX, cg = tid / NPX;
		const int warp = tid / 32, g = (tid % 32) / 4, tq = tid % 4;
		if constexpr (PRECISION == 32) {
#pragma unroll
			for (int i = 0; i < TCO; i++) {
				const int co = co0 + cg * TCO + i;
				const float bv = CONV_PW_BIAS && co < Cout ? to_float(pw_bias[co]) : 0.0f;
#pragma unroll
				for (int j = 0; j < TP; j++)
					acc[i][j] = bv;
			}
		} else {
#pragma unroll
			for (int i = 0; i < TPW; i++) {
				const int co = co0 + (warp + i * WARPS) % NT_ALL * 8 + 2 * tq;
				const float b0 = CONV_PW_BIAS && co < Cout ? to_float(pw_bias[co]) : 0.0f;
				const float b1 = CONV_PW_BIAS && co + 1 < Cout ? to_float(pw_bias[co + 1]) : 0.0f;
				acc[i][0] = acc[i][2] = b0;
				acc[i][1] = acc[i][3] = b1;
			}
		}

		for (int cm0 = 0; cm0 < CM; cm0 += KC) {
			__syncthreads();   /* the previous step's (or tile's) readers are done */
			/* 1. The KC input windows, zero outside x and past CM. */
#pragma unroll 4
			for (int i = tid; i < KC * IN_H * IN_W; i += THREADS) {
				const int k = i / (IN_H * IN_W), rem = i - k * (IN_H * IN_W);
				const int r = rem / IN_W, col = rem - r * IN_W;
				const int cm = cm0 + k, ih = ih0 + r, iw = iw0 + col;
				float v = 0.0f;
				if (cm < CM && ih >= 0 && ih < H && iw >= 0 && iw < W)
					v = to_float(x[((n * C + cm / mult) * H + ih) * (int64_t)W + iw]);
				s_in[i] = v;
			}
			for (int i = tid; i < KC * KH * KW; i += THREADS) {
				const int k = i / (KH * KW), cm = cm0 + k;
				s_dw[i] = cm < CM ? to_float(dw[(int64_t)cm * (KH * KW) + (i - k * (KH * KW))]) : 0.0f;
			}
			if (CONV_BIAS && tid < KC)
				s_db[tid] = cm0 + tid < CM ? to_float(dw_bias[cm0 + tid]) : 0.0f;
			/* pw[co0 + j][cm0 + k] into s_pw[k][j]: runs of KC consecutive
			 * elements of a weight row per read. */
			for (int i = tid; i < KC * CO_TILE; i += THREADS) {
				const int j = i / KC, k = i - j * KC;
				const int co = co0 + j, cm = cm0 + k;
				s_pw[k * PW_PITCH + j] = co < Cout && cm < CM ? to_float(pw[(int64_t)co * CM + cm]) : 0.0f;
			}
			__syncthreads();
			/* 2. The KC depthwise tiles. */
			for (int i = tid; i < KC * P; i += THREADS) {
				const int k = i / P, p = i - k * P;
				const int r = p / TILE_W, col = p - r * TILE_W;
				const float *sp = s_in + (k * IN_H + r * SH) * IN_W + col * SW;
				const float *wk = s_dw + k * (KH * KW);
				float v = CONV_BIAS ? s_db[k] : 0.0f;
#pragma unroll
				for (int kh = 0; kh < KH; kh++)
#pragma unroll
					for (int kw = 0; kw < KW; kw++)
						v = fmaf(sp[kh * DH * IN_W + kw * DW], wk[kh * KW + kw], v);
				s_mid[k * MID_PITCH + p] = v;
			}
			__syncthreads();
			/* 3. The pointwise terms of these KC channels. */
			if constexpr (PRECISION == 32) {
#pragma unroll 2
				for (int k = 0; k < KC; k++) {
					float mv[TP], wv[TCO];
#pragma unroll
					for (int j = 0; j < TP; j++)
						mv[j] = s_mid[k * MID_PITCH + j * NPX + px];
					const float *wp = s_pw + k * PW_PITCH + cg * TCO;
					if constexpr (TCO % 4 == 0) {
#pragma unroll
						for (int i = 0; i < TCO; i += 4) {
							const float4 w4 = *reinterpret_cast<const float4 *>(wp + i);
							wv[i] = w4.x;
							wv[i + 1] = w4.y;
							wv[i + 2] = w4.z;
							wv[i + 3] = w4.w;
						}
					} else {
#pragma unroll
						for (int i = 0; i < TCO; i++)
							wv[i] = wp[i];
					}
#pragma unroll
					for (int i = 0; i < TCO; i++)
#pragma unroll
						for (int j = 0; j < TP; j++)
							acc[i][j] = fmaf(wv[i], mv[j], acc[i][j]);
				}
			} else {
#pragma unroll
				for (int kk = 0; kk < KC; kk += 8) {
					const float *m_lo = s_mid + (kk + tq) * MID_PITCH, *m_hi = m_lo + 4 * MID_PITCH;
					const float *w_lo = s_pw + (kk + tq) * PW_PITCH, *w_hi = w_lo + 4 * PW_PITCH;
#pragma unroll
					for (int i = 0; i < TPW; i++) {
						const int tile = warp + i * WARPS;
						if (tile >= TILES)   /* the same for the whole warp */
							break;
						const int m0 = tile / NT_ALL * 16 + g, n0 = tile % NT_ALL * 8 + g;
						if constexpr (PRECISION == 3) {
							const float av[4] = { m_lo[m0], m_lo[m0 + 8], m_hi[m0], m_hi[m0 + 8] };
							const float w0 = w_lo[n0], w1 = w_hi[n0];
							uint32_t big[4], small[4], b0, b1, s0, s1;
#pragma unroll
							for (int c = 0; c < 4; c++)
								tf32_split(av[c], big[c], small[c]);
							tf32_split(w0, b0, s0);
							tf32_split(w1, b1, s1);
							mma_m16n8k8_tf32(acc[i], small, b0, b1);
							mma_m16n8k8_tf32(acc[i], big, s0, s1);
							mma_m16n8k8_tf32(acc[i], big, b0, b1);
						} else {
							const uint32_t a[4] = { to_tf32(m_lo[m0]), to_tf32(m_lo[m0 + 8]),
										to_tf32(m_hi[m0]), to_tf32(m_hi[m0 + 8]) };
							mma_m16n8k8_tf32(acc[i], a, to_tf32(w_lo[n0]), to_tf32(w_hi[n0]));
						}
					}
				}
			}
		}

		/* The outputs of the tile inside y. */
		const int64_t plane = (int64_t)OH * OW;
		if constexpr (PRECISION == 32) {
#pragma unroll
			for (int i = 0; i < TCO; i++) {
				const int co = co0 + cg * TCO + i;
				if (co >= Cout)
					break;
				T *yp = y + (n * Cout + co) * plane;
#pragma unroll
				for (int j = 0; j < TP; j++) {
					const int p = j * NPX + px, oh = oh0 + p / TILE_W, ow = ow0 + p % TILE_W;
					if (oh < OH && ow < OW)
						yp[(int64_t)oh * OW + ow] = from_float<T>(acc[i][j]);
				}
			}
		} else {
#pragma unroll
			for (int i = 0; i < TPW; i++) {
				const int tile = warp + i * WARPS;
				if (tile >= TILES)
					break;
				const int co = co0 + tile % NT_ALL * 8 + 2 * tq;
#pragma unroll
				for (int e = 0; e < 4; e++) {
					const int p = tile / NT_ALL * 16 + g + (e >= 2 ? 8 : 0), c = co + (e & 1);
					const int oh = oh0 + p / TILE_W, ow = ow0 + p % TILE_W;
					if (c < Cout && oh < OH && ow < OW)
						y[(n * Cout + c) * plane + (int64_t)oh * OW + ow] = from_float<T>(acc[i][e]);
				}
			}
		}
	}
}

/* ---- launch ---- */

template <typename T>
static int launch(const kb_tensor *in, kb_tensor *y, int64_t N, int C, int mult, int Cout, int H, int W, int OH,
		  int OW, cudaStream_t st)
{
	const int tiles_h = (OH + TH - 1) / TH, tiles_w = (OW + TILE_W - 1) / TILE_W;
	const int co_tiles = (Cout + CO_TILE - 1) / CO_TILE;
	const int64_t tiles = (int64_t)tiles_h * tiles_w;
	if (tiles > 2147483647LL)
		return KB_ERR_SHAPE;
	const int64_t total = N * tiles * co_tiles;
	const unsigned grid = (unsigned)(total < (1 << 30) ? total : (1 << 30));   /* the rest grid-strides */
	const kb_tensor *pw = &in[2 + CONV_BIAS];
	void (*kernel)(const T *, const T *, const T *, const T *, const T *, T *, int64_t, int, int, int, int, int,
		       int, int, int, int, int, int) = dwsep_kernel<T>;
	if (SMEM_BYTES > 48 * 1024 &&
	    cudaFuncSetAttribute((const void *)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
				 SMEM_BYTES) != cudaSuccess)
		return KB_ERR_LAUNCH;
	kernel<<<grid, THREADS, SMEM_BYTES, st>>>((const T *)in[0].data, (const T *)in[1].data,
						   CONV_BIAS ? (const T *)in[2].data : nullptr, (const T *)pw->data,
						   CONV_PW_BIAS ? (const T *)pw[1].data : nullptr, (T *)y->data, total, C,
						   mult, C * mult, Cout, H, W, OH, OW, tiles_w, (int)tiles, co_tiles);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

#if SPLIT
/* SPLIT=1, the depthwise step alone: mid[n][cm][oh][ow] in fp32 (as the
 * fused path keeps it), a block a run of 1024 outputs of one (n, cm) plane
 * (32-bit index arithmetic within it), the window unrolled, x through the
 * read-only cache (neighbouring windows overlap). */
#define SPLIT_RUN 1024
template <typename T>
__global__ void __launch_bounds__(256)
dw_mid_kernel(const T *__restrict__ x, const T *__restrict__ dw, const T *__restrict__ dwb, float *__restrict__ mid,
	      int runs, int C, int mult, int H, int W, int OH, int OW)
{
	const int64_t plane = blockIdx.x / (unsigned)runs;   /* n * CM + cm */
	const int cm = (int)(plane % (C * mult)), p0 = (int)(blockIdx.x % (unsigned)runs) * SPLIT_RUN;
	const int64_t n = plane / (C * mult);
	const T *xp = x + (n * C + cm / mult) * (int64_t)H * W;
	float w[KH * KW];
#pragma unroll
	for (int k = 0; k < KH * KW; k++)
		w[k] = to_float(dw[(int64_t)cm * KH * KW + k]);
	const float b = CONV_BIAS ? to_float(dwb[cm]) : 0.0f;
	float *mp = mid + plane * (int64_t)OH * OW;
	const int count = OH * OW;
#pragma unroll 4
	for (int p = p0 + threadIdx.x; p < min(p0 + SPLIT_RUN, count); p += 256) {
		const int oh = p / OW, ow = p - oh * OW;
		float acc = b;
#pragma unroll
		for (int kh = 0; kh < KH; kh++) {
			const int ih = oh * SH - PH + kh * DH;
			if (ih < 0 || ih >= H)
				continue;
#pragma unroll
			for (int kw = 0; kw < KW; kw++) {
				const int iw = ow * SW - PW + kw * DW;
				if (iw >= 0 && iw < W)
					acc = fmaf(w[kh * KW + kw], to_float(xp[(int64_t)ih * W + iw]), acc);
			}
		}
		mp[p] = acc;
	}
}

/* fp16 and bf16 pointwise weights widened to fp32 for the GEMM. */
template <typename T> __global__ void widen_kernel(const T *__restrict__ a, float *__restrict__ b, int64_t n)
{
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
		b[i] = to_float(a[i]);
}

/* SPLIT=1: the depthwise step into fp32 scratch, then the pointwise GEMM
 * (pw_gemm.cuh, 128 x 128 tiles 32 deep, 8 warps, 3 stages: the tile measured on 86,
 * bench/device-2026-12-05c-h100.md; conv_pointwise's default is now 4 warps) over it,
 * y rounded to T. */
typedef pwg<128, 128, 32, 8, 3, PRECISION == 1 ? 1 : 3> SPLIT_GEMM;

template <typename T>
static int launch_split(const kb_tensor *in, kb_tensor *y, int64_t N, int C, int mult, int Cout, int H, int W,
			int OH, int OW, cudaStream_t st)
{
	const int CM = C * mult;
	if ((int64_t)OH * OW > 2147483647LL)
		return KB_ERR_SHAPE;
	const int P = OH * OW;
	const int64_t runs = ((int64_t)P + SPLIT_RUN - 1) / SPLIT_RUN, blocks = N * CM * runs;
	if (blocks > 2147483647LL)
		return KB_ERR_SHAPE;
	const kb_tensor *pw = &in[2 + CONV_BIAS];
	const bool wide = sizeof(T) != sizeof(float);   /* the pointwise weights need widening */
	const size_t mid_n = (size_t)(N * CM) * (size_t)P, w_n = wide ? (size_t)Cout * CM : 0;
	float *mid = nullptr;
	kb_keep_pool_mapped();
	if (cudaMallocAsync((void **)&mid, (mid_n + w_n) * sizeof(float), st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	float *wf = wide ? mid + mid_n : (float *)pw->data;   /* mid_n floats keep wf 4-byte aligned */
	dw_mid_kernel<T><<<(unsigned)blocks, 256, 0, st>>>((const T *)in[0].data, (const T *)in[1].data,
							    CONV_BIAS ? (const T *)in[2].data : nullptr, mid, (int)runs,
							    C, mult, H, W, OH, OW);
	if (wide)
		widen_kernel<T><<<(unsigned)((w_n + 255) / 256 < 4096 ? (w_n + 255) / 256 : 4096), 256, 0, st>>>(
			(const T *)pw->data, wf, (int64_t)w_n);
	int rc = cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
	if (rc == KB_OK) {
		const T *bp = CONV_PW_BIAS ? (const T *)pw[1].data : nullptr;
		T *yp = (T *)y->data;
		const bool v16 = P % 4 == 0 && CM % 4 == 0 && ((uintptr_t)wf | (uintptr_t)yp) % 16 == 0;
		rc = v16 ? pwg_launch<SPLIT_GEMM, true, T>(mid, wf, bp, yp, N, CM, Cout, P, st)
			 : pwg_launch<SPLIT_GEMM, false, T>(mid, wf, bp, yp, N, CM, Cout, P, st);
	}
	if (cudaFreeAsync(mid, st) != cudaSuccess && rc == KB_OK)
		rc = KB_ERR_LAUNCH;
	return rc;
}
#define LAUNCH launch_split
#else
#define LAUNCH launch
#endif

/* PyTorch's output extent of one axis; below 1 where the dilated window
 * does not fit in the padded input (PyTorch refuses that). */
static int64_t out_extent(int64_t in, int k, int s, int p, int dil)
{
	const int64_t num = in + 2 * (int64_t)p - (int64_t)dil * (k - 1) - 1;
	return num < 0 ? 0 : num / s + 1;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 3 + CONV_BIAS + CONV_PW_BIAS || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *dw = &in[1], *pw = &in[2 + CONV_BIAS];
	kb_tensor *y = &out[0];
	if (!kb_takes_dtype(x->dtype))
		return KB_ERR_SHAPE;
	for (int i = 1; i < n_in; i++)
		if (in[i].dtype != x->dtype)
			return KB_ERR_SHAPE;
	if (y->dtype != x->dtype)
		return KB_ERR_SHAPE;
	if ((x->ndim != 4 && x->ndim != 3) || y->ndim != x->ndim || dw->ndim != 4 || pw->ndim != 4)
		return KB_ERR_SHAPE;
	const int bat = x->ndim == 4;
	const int64_t N = bat ? x->shape[0] : 1, C = x->shape[bat], H = x->shape[bat + 1], W = x->shape[bat + 2];
	const int64_t CM = dw->shape[0], Cout = pw->shape[0];
	if (N < 0 || C < 1 || H < 1 || W < 1 || CM < C || CM % C || CM > 2147483647LL || Cout < 1 ||
	    Cout > 2147483647LL || H > 2147483647LL || W > 2147483647LL)
		return KB_ERR_SHAPE;
#ifdef CONV_GROUPS
	if (C != CONV_GROUPS)
		return KB_ERR_SHAPE;
#endif
	if (dw->shape[1] != 1 || dw->shape[2] != KH || dw->shape[3] != KW)
		return KB_ERR_SHAPE;
	if (pw->shape[1] != CM || pw->shape[2] != 1 || pw->shape[3] != 1)
		return KB_ERR_SHAPE;
	if (CONV_BIAS && (in[2].ndim != 1 || in[2].shape[0] != CM))
		return KB_ERR_SHAPE;
	if (CONV_PW_BIAS && (pw[1].ndim != 1 || pw[1].shape[0] != Cout))
		return KB_ERR_SHAPE;
	const int64_t OH = out_extent(H, KH, SH, PH, DH), OW = out_extent(W, KW, SW, PW, DW);
	if (OH < 1 || OW < 1 || OH > 2147483647LL || OW > 2147483647LL)
		return KB_ERR_SHAPE;
	if ((bat && y->shape[0] != N) || y->shape[bat] != Cout || y->shape[bat + 1] != OH || y->shape[bat + 2] != OW)
		return KB_ERR_SHAPE;
	if (N == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	const int mult = (int)(CM / C);
	switch (x->dtype) {
	case KB_F32:
		return LAUNCH<float>(in, y, N, (int)C, mult, (int)Cout, (int)H, (int)W, (int)OH, (int)OW, st);
#if !KB_F32_ONLY
	case KB_F16:
		return LAUNCH<__half>(in, y, N, (int)C, mult, (int)Cout, (int)H, (int)W, (int)OH, (int)OW, st);
	default:
		return LAUNCH<__nv_bfloat16>(in, y, N, (int)C, mult, (int)Cout, (int)H, (int)W, (int)OH, (int)OW, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
