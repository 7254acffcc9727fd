// kbreed winner for 76_conv_standard_1D_dilated_strided__: 7.8776 ms on NVIDIA H100 80GB HBM3 = 156% of PyTorch eager (12.3000 ms), 60% of the floor.
// Run 1, candidate 5, round 0. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template conv1d_rows
#define CONV_DIMS 1
#define CONV_STRIDE 3
#define CONV_STRIDE_W 3
#define CONV_PAD 0
#define CONV_PAD_W 0
#define CONV_DIL 4
#define CONV_DIL_W 4
#define CONV_KERNEL 3
#define CONV_KERNEL_W 3
#define CONV_GROUPS 1
#define CONV_BIAS 0
#define CONV_TRANSPOSED 0
#define CONV_STRIDED 1
#define CONV_COUT_GROUP 128
#define CONV_FEW_CIN 1
#define KB_F32_ONLY 1
#define CO 128
#define OT 128
#define CK 16
#define STAGES 3
#define STREAM 0
// kbreed-template: conv1d_rows
// family: conv
// problems: conv1d conv1d_grouped
// knob CO: 64 128 | default 128 | category memory access | output channels per block (the GEMM's M); a warp computes 64 channels x 32 outputs, so a block has CO/64 x OT/32 warps. The block's weights (every tap, every input channel of the group, split into bfloat16 hi and lo halves) stay in shared memory for its life
// knob OT: 64 128 256 | default 128 | category parallelism | consecutive outputs of one row per tile (the GEMM's N): a tile stages (OT-1)*stride + (K-1)*dilation + 1 input positions of each channel, so a wider tile reads its halo fewer times
// knob CK: 16 32 | default 16 | category memory access | input channels per pipeline stage: the stage holds CK rows of the tile's input span, copied by cp.async (16 bytes where a row allows)
// knob STAGES: 2 3 4 | default 3 | category asynchronous | depth of the cp.async ring over (tile, channel chunk) steps; the ring flows on across a block's tiles, so the next tile's rows land while this one's outputs are stored
// knob STREAM: 0 1 | default 0 | category memory access | 1 = y is stored with evict-first hints (written once, never read back)
// check: CO=64 OT=64 CK=32 STAGES=4 STREAM=1
// check: CO=128 OT=256 CK=16 STAGES=2
/*
 * conv1d_rows.cu - nn.Conv1d on the tensor cores with fp32-class accuracy
 * (3xBF16: hi*hi + hi*lo + lo*hi of bfloat16 halves on mma.sync m16n8k16,
 * fp32 accumulation; about 4e-6 relative, the strict tolerance): any
 * stride, padding, dilation and window, groups, an optional bias; fp32
 * tensors, batched (N, Cin, L) or unbatched (Cin, L).
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is a window
 * of 3, stride 1, no padding, no bias:
 *   CONV_STRIDE[_W], CONV_PAD[_W], CONV_DIL[_W], CONV_KERNEL[_W],
 *   CONV_GROUPS, CONV_BIAS    (templates/common/conv_geometry.cuh)
 *
 * Layout (contiguous, row-major, fp32; G groups):
 *   in[0]  x       (N, Cin, L)
 *   in[1]  weight  (Cout, Cin/G, K)
 *   in[2]  bias    (Cout), where CONV_BIAS
 *   out[0] y       (N, Cout, OL), OL = (L + 2P - DIL*(K-1) - 1) / S + 1
 *   y[n][co][o] = bias[co] + sum over ci < CinG and taps k of
 *       w[co][ci][k] * x[n][g*CinG + ci][o*S - P + k*DIL]   (zero outside x),
 *   g = co / CoutG.
 *
 * Why. As an implicit GEMM over (output position, output channel, (tap,
 * channel)) the B operand's rows are gathered one value per tap (a 4-byte
 * copy each), or x is first rewritten channels-last (conv_igemm NHWC: a
 * read and a write of all of x before the GEMM reads it again). Here
 * nothing is gathered: a tile's outputs o0 .. o0+OT-1 of one row read one
 * contiguous span of each input channel, positions o0*S - P onwards, so the
 * block copies whole spans (16-byte cp.async where the row is aligned, zeros
 * outside x) and builds each B fragment from shared memory at the tap's
 * offset: B[(ci, k)][o] = span[ci][o*S + k*DIL]. x is read from DRAM once
 * (the halo of neighbouring tiles again from L2), y written once.
 *
 * How. A block owns CO output channels of one group (blockIdx.y) and walks
 * tiles blockIdx.x, blockIdx.x + gridDim.x, ... of N * ceil(OL / OT) (the
 * grid fills the GPU once: the weights are split and staged once per block).
 * Its weights are held as s_w[hi|lo][tap][co][ci pair] (bfloat16 pairs,
 * rows padded to 4 mod 8 words: ldmatrix reads them without conflicts), the
 * channels padded with zeros to whole chunks of CK. The K loop of a tile
 * runs over chunks of CK input channels; each chunk is one step of a
 * cp.async ring of STAGES spans [CK][RX] (fp32), and the ring flows on over
 * the block's tiles. Per step, for each tap and 16 channels, a warp takes
 * its A fragments (64 channels) by ldmatrix and its B fragments (32
 * outputs) from the span, split into bfloat16 halves in registers, and
 * issues 48 mma. After a tile's last chunk each warp stores its 64 x 32
 * outputs from its accumulators, bias added (pairs of consecutive outputs,
 * 8-byte stores where OL is even).
 *
 * Shared memory: 2 * K * CO * RW words of weights (RW = ceil(CinG/CK)*CK/2
 * rounded up to 4 mod 8), CO biases, STAGES * CK * RX floats of spans (RX:
 * the span rounded up to a multiple of 4, plus 3 for the alignment shift, then
 * to 4 mod 16); KB_ERR_SHAPE where that passes 227 KB (fewer channels per
 * block, a narrower tile or fewer stages fit), for other dtypes, a weight
 * whose window is not the compiled one, channels the groups do not divide,
 * an output length that is not PyTorch's.
 */
#ifndef CO
#define CO 128
#endif
#ifndef OT
#define OT 128
#endif
#ifndef CK
#define CK 16
#endif
#ifndef STAGES
#define STAGES 3
#endif
#ifndef STREAM
#define STREAM 0
#endif

/* Compiled on its own: a window of 3, stride 1, no padding. */
#ifndef CONV_KERNEL_W
#ifndef CONV_KERNEL
#define CONV_KERNEL 3
#endif
#ifndef CONV_STRIDE
#define CONV_STRIDE 1
#endif
#ifndef CONV_PAD
#define CONV_PAD 0
#endif
#endif
#ifndef CONV_DIMS
#define CONV_DIMS 1
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
#if defined(CONV_KERNEL_W)
#define KW CONV_KERNEL_W
#else
#define KW CONV_KERNEL
#endif

#include <cuda_runtime.h>
#include <cuda_bf16.h>
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
// ---- inlined from ../common/ampere.cuh ----
// ampere.cuh - the sm_80 tensor-core and copy helpers of the mma.sync
// templates (gemm_mma_f16, gemm_tf32, conv_igemm, flash_mma), written once:
//   cp_async16(dst, src)          16 bytes global -> shared (.cg, L2 only)
//   cp_async16(dst, src, n)       the same, reading n bytes (0 or 16) and zero-filling the rest
//   cp_async16_ca(dst, src, n)    16 bytes through L1 (.ca: for gathers that read a line again),
//                                 reading n bytes (0 or 16) and zero-filling the rest
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

/* As above, cached in L1 on the way (.ca). */
__device__ __forceinline__ void cp_async16_ca(uint32_t dst, const void *src, int src_bytes)
{
	asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
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

/* Two values as bfloat16 pairs for the 3xBF16 split: hi = bf16(x) and
 * lo = bf16(x - hi), both rounded to nearest (ties to even), x0 in the low
 * half of each register (the element of the lower k index), x1 in the high. */
__device__ __forceinline__ void bf16x2_split(float x0, float x1, uint32_t &hi, uint32_t &lo)
{
	asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(hi) : "f"(x1), "f"(x0));
	const float h0 = __uint_as_float(hi << 16), h1 = __uint_as_float(hi & 0xffff0000u);
	asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(lo) : "f"(x1 - h1), "f"(x0 - h0));
}

#endif
// ---- end of ../common/ampere.cuh ----

static_assert(CO == 64 || CO == 128, "CO is 64 or 128");
static_assert(OT == 64 || OT == 128 || OT == 256, "OT is 64, 128 or 256");
static_assert(CK == 16 || CK == 32, "CK is 16 or 32");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2, 3 or 4");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(CONV_DIMS == 1 && CONV_TRANSPOSED == 0, "a forward 1-D convolution is this template's");
static_assert(KW >= 1 && STRIDE_W >= 1 && PAD_W >= 0 && DIL_W >= 1, "CONV_KERNEL, CONV_STRIDE, CONV_PAD, CONV_DIL");
static_assert(CONV_BIAS == 0 || CONV_BIAS == 1, "CONV_BIAS is 0 or 1");

KBREED_CANDIDATE_ABI

constexpr int WM = CO / 64;            /* warps along the channels */
constexpr int WN = OT / 32;            /* warps along the outputs */
constexpr int THREADS = 32 * WM * WN;
constexpr int SMEM_CAP = 227 * 1024;
/* Input positions a tile's OT outputs read from the first one's. */
constexpr int SPAN = (OT - 1) * STRIDE_W + (KW - 1) * DIL_W + 1;
/* A span's row in shared memory, in floats: the span and the up to 3
 * positions before it that the 16-byte copies start at (a multiple of 4),
 * rounded up to 4 mod 16 (2*RX is 8 mod 32: the B reads of lanes t, t+1 ..
 * fall in different banks). */
constexpr int RX = ((SPAN + 3 + 3) / 4 * 4 + 11) / 16 * 16 + 4;

/* Words per weight row: the group's channels in bfloat16 pairs, padded to
 * whole chunks, then to 4 mod 8 (ldmatrix's eight rows in distinct banks). */
static __host__ __device__ int weight_row(int cin_pad) { return (cin_pad / 2 + 3) / 8 * 8 + 4; }
static size_t smem_bytes(int rw)
{
	return ((size_t)2 * KW * CO * rw + CO + (size_t)STAGES * CK * RX) * 4;
}

struct geom {
	int cin_g, cout_g, ctiles, L, OL, chunks, rw;
	int64_t cin, cout, tiles_o, ntiles;
	bool vec_x, vec_y;   /* 16-byte copies of x's rows; 8-byte stores of y's */
};

static __device__ __forceinline__ void store1(float *p, float v)
{
#if STREAM
	__stcs(p, v);
#else
	*p = v;
#endif
}
static __device__ __forceinline__ void store2(float *p, float a, float b)
{
#if STREAM
	__stcs(reinterpret_cast<float2 *>(p), make_float2(a, b));
#else
	*reinterpret_cast<float2 *>(p) = make_float2(a, b);
#endif
}

/* The first input position of a tile's span, as a multiple of 4 at or
 * below o0*S - P, and the span's offset from it (0..3). */
static __device__ __forceinline__ void span_start(int o0, int &a0, int &shift)
{
	const int start = o0 * STRIDE_W - PAD_W;
	a0 = start >= 0 ? start & ~3 : -((-start + 3) & ~3);
	shift = start - a0;
}

/* Copies step s's span (tile t, chunk c) into stage buf: CK rows of RX
 * floats from a0, zeros outside x and past the group's channels. */
static __device__ __forceinline__ void issue(const float *__restrict__ x, float *buf, int64_t t, int c, int g,
					     const geom &p)
{
	const int64_t n = t / p.tiles_o;
	const int o0 = (int)(t - n * p.tiles_o) * OT;
	int a0, shift;
	span_start(o0, a0, shift);
	const int q4 = RX / 4;
	for (int i = threadIdx.x; i < CK * q4; i += THREADS) {
		const int r = i / q4, j = i - r * q4;
		const int ci = c * CK + r, pos = a0 + 4 * j;
		const uint32_t dst = (uint32_t)__cvta_generic_to_shared(buf + r * RX + 4 * j);
		if (ci >= p.cin_g) {
			cp_async16(dst, x, 0);
			continue;
		}
		const float *row = x + (n * p.cin + (int64_t)g * p.cin_g + ci) * p.L;
		if (p.vec_x && pos >= 0 && pos + 4 <= p.L) {
			cp_async16(dst, row + pos);
		} else {
#pragma unroll
			for (int e = 0; e < 4; e++) {
				const bool in = pos + e >= 0 && pos + e < p.L;
				cp_async4(dst + 4 * e, in ? row + pos + e : x, in ? 4 : 0);
			}
		}
	}
}

/*
 * Grid: (blocks, G * ctiles); block (bx, by) owns channels co0 .. co0+CO-1
 * of group by / ctiles (co0 = (by % ctiles) * CO; those past CoutG from zero
 * weights, not stored) and tiles bx, bx + gridDim.x, ... Warp (wm, wn)
 * computes channels wm*64 .. +63 and outputs wn*32 .. +31 of each tile.
 */
__global__ void __launch_bounds__(THREADS, 1)
conv1d_kernel(const float *__restrict__ x, const float *__restrict__ w, const float *__restrict__ bias,
	      float *__restrict__ y, geom p)
{
	extern __shared__ float4 smem4[];
	const int rw = p.rw;
	uint32_t *s_whi = reinterpret_cast<uint32_t *>(smem4);   /* [KW][CO][rw] */
	uint32_t *s_wlo = s_whi + KW * CO * rw;
	float *s_b = reinterpret_cast<float *>(s_wlo + KW * CO * rw);
	float *s_x = s_b + CO;                                   /* [STAGES][CK][RX] */
	const int g = blockIdx.y / p.ctiles, co0 = (blockIdx.y % p.ctiles) * CO;

	/* The weights, w[g*CoutG + co0 + co][ci][tap], split once. */
	for (int i = threadIdx.x; i < KW * CO * rw; i += THREADS) {
		const int j = i % rw, co = (i / rw) % CO, tap = i / (rw * CO);
		float v0 = 0.0f, v1 = 0.0f;
		if (co0 + co < p.cout_g) {
			const float *wr = w + ((int64_t)g * p.cout_g + co0 + co) * p.cin_g * KW + tap;
			if (2 * j < p.cin_g)
				v0 = wr[2 * j * KW];
			if (2 * j + 1 < p.cin_g)
				v1 = wr[(2 * j + 1) * KW];
		}
		uint32_t hi, lo;
		bf16x2_split(v0, v1, hi, lo);
		s_whi[i] = hi;
		s_wlo[i] = lo;
	}
	for (int co = threadIdx.x; co < CO; co += THREADS)
		s_b[co] = CONV_BIAS && co0 + co < p.cout_g ? bias[(int64_t)g * p.cout_g + co0 + co] : 0.0f;

	const int64_t mine = blockIdx.x < p.ntiles ? (p.ntiles - blockIdx.x + gridDim.x - 1) / gridDim.x : 0;
	const int64_t steps = mine * p.chunks;
	/* Step s: tile blockIdx.x + (s / chunks) * gridDim.x, chunk s % chunks. */
#pragma unroll
	for (int s = 0; s < STAGES - 1; s++) {
		if (s < steps)
			issue(x, s_x + s * CK * RX, blockIdx.x + (s / p.chunks) * (int64_t)gridDim.x, s % p.chunks, g, p);
		cp_async_commit();
	}

	const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
	const int wm = warp / WN, wn = warp % WN;
	const int gq = lane / 4, tq = lane % 4;   /* the fragment's row group and thread in it */
	/* ldmatrix: lane l gives row l % 16 of the 16x16 A tile, columns (l / 16) * 8. */
	const uint32_t a_hi = (uint32_t)__cvta_generic_to_shared(s_whi) +
			      4u * ((wm * 64 + lane % 16) * rw + (lane / 16) * 4);
	const uint32_t a_lo = a_hi + 4u * KW * CO * rw;

	float acc[4][4][4];
#pragma unroll
	for (int mt = 0; mt < 4; mt++)
#pragma unroll
		for (int nt = 0; nt < 4; nt++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				acc[mt][nt][e] = 0.0f;

	int c = 0;
	int64_t t = blockIdx.x;
	for (int64_t s = 0; s < steps; s++) {
		cp_async_wait<STAGES - 2>();
		__syncthreads();   /* step s landed; every warp is done with step s-1's stage */
		{
			const int64_t f = s + STAGES - 1;
			if (f < steps)
				issue(x, s_x + (int)(f % STAGES) * CK * RX,
				      blockIdx.x + (f / p.chunks) * (int64_t)gridDim.x, (int)(f % p.chunks), g, p);
			cp_async_commit();
		}
		const int64_t n = t / p.tiles_o;
		const int o0 = (int)(t - n * p.tiles_o) * OT;
		int a0, shift;
		span_start(o0, a0, shift);
		const float *sx = s_x + (int)(s % STAGES) * CK * RX + (2 * tq) * RX + shift + (wn * 32 + gq) * STRIDE_W;
#pragma unroll
		for (int tap = 0; tap < KW; tap++) {
#pragma unroll
			for (int kk = 0; kk < CK / 16; kk++) {
				/* B: 4 tiles of 16 input channels x 8 outputs, from the span,
				 * split into bfloat16 halves once for the warp's 4 A tiles. */
				const float *xb = sx + kk * 16 * RX + tap * DIL_W;
				uint32_t bh[4][2], bl[4][2];
#pragma unroll
				for (int nt = 0; nt < 4; nt++) {
					const float *q = xb + nt * 8 * STRIDE_W;
					bf16x2_split(q[0], q[RX], bh[nt][0], bl[nt][0]);
					bf16x2_split(q[8 * RX], q[9 * RX], bh[nt][1], bl[nt][1]);
				}
				/* A: 4 tiles of 16 channels x 16 input channels, hi and lo, one at a time. */
				const uint32_t aoff = 4u * ((tap * CO) * rw + (c * CK + kk * 16) / 2);
#pragma unroll
				for (int mt = 0; mt < 4; mt++) {
					uint32_t ah[4], al[4];
					ldsm_x4(ah, a_hi + aoff + 4u * (mt * 16) * rw);
					ldsm_x4(al, a_lo + aoff + 4u * (mt * 16) * rw);
#pragma unroll
					for (int nt = 0; nt < 4; nt++) {
						mma_m16n8k16_bf16(acc[mt][nt], al, bh[nt][0], bh[nt][1]);
						mma_m16n8k16_bf16(acc[mt][nt], ah, bl[nt][0], bl[nt][1]);
						mma_m16n8k16_bf16(acc[mt][nt], ah, bh[nt][0], bh[nt][1]);
					}
				}
			}
		}
		if (++c < p.chunks)
			continue;
		/* The tile's last chunk: its outputs, bias added. */
		float *yn = y + (n * p.cout + (int64_t)g * p.cout_g + co0) * p.OL;
#pragma unroll
		for (int mt = 0; mt < 4; mt++)
#pragma unroll
			for (int h = 0; h < 2; h++) {
				const int co = wm * 64 + mt * 16 + gq + 8 * h;
				const float b = s_b[co];
				float *yr = yn + (int64_t)co * p.OL;
				const bool live = co0 + co < p.cout_g;
#pragma unroll
				for (int nt = 0; nt < 4; nt++) {
					const int o = o0 + wn * 32 + nt * 8 + 2 * tq;
					const float v0 = acc[mt][nt][2 * h] + b, v1 = acc[mt][nt][2 * h + 1] + b;
					acc[mt][nt][2 * h] = 0.0f;
					acc[mt][nt][2 * h + 1] = 0.0f;
					if (!live || o >= p.OL)
						continue;
					if (p.vec_y && o + 1 < p.OL) {
						store2(yr + o, v0, v1);
					} else {
						store1(yr + o, v0);
						if (o + 1 < p.OL)
							store1(yr + o + 1, v1);
					}
				}
			}
		c = 0;
		t += gridDim.x;
	}
	cp_async_wait<0>();
}

/* ---- launch ---- */

static int launch(const kb_tensor *in, kb_tensor *yt, int64_t N, int G, int cin_g, int cout_g, int L, int OL,
		  cudaStream_t st)
{
	geom p;
	p.cin_g = cin_g;
	p.cout_g = cout_g;
	p.ctiles = (cout_g + CO - 1) / CO;
	p.L = L;
	p.OL = OL;
	p.chunks = (cin_g + CK - 1) / CK;
	p.rw = weight_row(p.chunks * CK);
	p.cin = (int64_t)G * cin_g;
	p.cout = (int64_t)G * cout_g;
	p.tiles_o = (OL + OT - 1) / OT;
	p.ntiles = N * p.tiles_o;
	p.vec_x = L % 4 == 0 && (uintptr_t)in[0].data % 16 == 0;
	p.vec_y = OL % 2 == 0 && (uintptr_t)yt->data % 8 == 0;
	const size_t smem = smem_bytes(p.rw);
	if (smem > SMEM_CAP)
		return KB_ERR_SHAPE;   /* fewer channels per block, a narrower tile or fewer stages fit */
	const int64_t cols = (int64_t)G * p.ctiles;
	if (cols > 65535)
		return KB_ERR_SHAPE;
	if (cudaFuncSetAttribute((const void *)conv1d_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
				 (int)smem) != cudaSuccess)
		return KB_ERR_LAUNCH;
	int per_sm = 0;
	if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, conv1d_kernel, THREADS, smem) != cudaSuccess)
		return KB_ERR_LAUNCH;
	if (per_sm < 1)
		return KB_ERR_SHAPE;
	const int sms = kb_sm_count();
	if (sms < 1)
		return KB_ERR_LAUNCH;
	/* One wave: every block resident, each splitting its weights once. */
	int64_t bx = ((int64_t)sms * per_sm + cols - 1) / cols;
	if (bx > p.ntiles)
		bx = p.ntiles;
	if (bx < 1)
		bx = 1;
	conv1d_kernel<<<dim3((unsigned)bx, (unsigned)cols), THREADS, smem, st>>>(
		(const float *)in[0].data, (const float *)in[1].data, CONV_BIAS ? (const float *)in[2].data : nullptr,
		(float *)yt->data, p);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!kb_args_one_dtype(in, n_in, 2 + CONV_BIAS, out, n_out, 1) || in[0].dtype != KB_F32)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *wt = &in[1];
	kb_tensor *y = &out[0];
	if ((x->ndim != 3 && x->ndim != 2) || y->ndim != x->ndim || wt->ndim != 3)
		return KB_ERR_SHAPE;
	const int bat = x->ndim == 3;
	const int64_t N = bat ? x->shape[0] : 1, cin = x->shape[bat], L = x->shape[bat + 1];
	const int G = CONV_GROUPS;
	if (N < 0 || cin < 1 || cin % G || wt->shape[1] != cin / G || wt->shape[2] != KW)
		return KB_ERR_SHAPE;
	const int64_t cout = wt->shape[0];
	if (cout < 1 || cout % G || y->shape[bat] != cout || cout > 2147483647LL || cin > 65536)
		return KB_ERR_SHAPE;
	if (CONV_BIAS && (in[2].ndim != 1 || in[2].shape[0] != cout))
		return KB_ERR_SHAPE;
	if (L < 1 || L > 2147483647LL - 4 * (int64_t)OT * STRIDE_W)
		return KB_ERR_SHAPE;
	const int64_t OL = (L + 2 * PAD_W - (int64_t)DIL_W * (KW - 1) - 1) / STRIDE_W + 1;
	if (L + 2 * PAD_W - (int64_t)DIL_W * (KW - 1) - 1 < 0 || y->shape[bat + 1] != OL)
		return KB_ERR_SHAPE;
	if (bat && y->shape[0] != N)
		return KB_ERR_SHAPE;
	if (N == 0)
		return KB_OK;
	return launch(in, y, N, G, (int)(cin / G), (int)(cout / G), (int)L, (int)OL, (cudaStream_t)stream);
}
