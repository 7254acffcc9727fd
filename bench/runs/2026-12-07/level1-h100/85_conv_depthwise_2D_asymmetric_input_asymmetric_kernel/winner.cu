// kbreed winner for 85_conv_depthwise_2D_asymmetric_input_asymmetric_kernel: 0.4079 ms on NVIDIA H100 80GB HBM3 = 557% of PyTorch eager (2.2699 ms), 85% of the floor.
// Run 16, candidate 1493, round 2. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template conv_depthwise
#define CONV_DIMS 2
#define CONV_STRIDE 1
#define CONV_STRIDE_H 1
#define CONV_STRIDE_W 1
#define CONV_PAD 0
#define CONV_PAD_H 0
#define CONV_PAD_W 0
#define CONV_DIL 1
#define CONV_DIL_H 1
#define CONV_DIL_W 1
#define CONV_KERNEL_H 3
#define CONV_KERNEL_W 7
#define CONV_GROUPS 128
#define CONV_BIAS 0
#define CONV_TRANSPOSED 0
#define CONV_COUT_GROUP 1
#define CONV_NARROW_CIN 1
#define CONV_FEW_CIN 1
#define KB_F32_ONLY 1
#define TILE_W 128
#define TILE_H 32
#define OUT_PER_THREAD 2
#define THREADS 128
#define VEC 4
#define STREAM 0
// kbreed-template: conv_depthwise
// family: conv
// problems: conv2d_depthwise
// requires: CONV_KERNEL_H CONV_KERNEL_W
// knob TILE_W: 32 64 128 | default 64 | category memory access | output columns of a block's tile, one per thread of a row group, so a warp stores 32 consecutive outputs
// knob TILE_H: 8 16 32 64 | default 16 | category memory access | output rows of a block's tile; a taller tile stages proportionally less halo ((TILE_H-1)*SH + DH*(KH-1) + 1 input rows for TILE_H output rows)
// knob OUT_PER_THREAD: 1 2 4 8 | default 4 | category parallelism | vertically adjacent outputs one thread computes, sharing every input row it reads from shared memory
// knob THREADS: 64 128 256 512 | default 256 | category parallelism | threads per block
// knob VEC: 1 4 | default 4 | category memory access | elements per load while staging the window: 4 = one 16-byte (fp32) or 8-byte (fp16, bf16) load and one 16-byte shared store per four elements, used where W is a multiple of 4 and x is aligned; 1 = element by element
// knob STREAM: 0 1 | default 0 | category memory access | 1 = y is stored with evict-first hints (written once, never read back)
/*
 * conv_depthwise.cu - nn.Conv2d with groups == in_channels (a depthwise
 * convolution, F.conv2d(..., groups=C)), computed directly (no GEMM): any
 * window KH x KW, stride, zero padding and dilation per axis, a channel
 * multiplier (Cout = C * MULT, output channel co reads input channel
 * co / MULT), optional bias; fp32, fp16 or bf16 with fp32 accumulation;
 * batched (N, C, H, W) or unbatched (C, H, W).
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is a 3x3
 * depthwise convolution with stride 1, padding 1 and a bias:
 *   CONV_KERNEL_H, _W        the window (required for realisation: the
 *                            header's requires: line)
 *   CONV_STRIDE_H, _W        the stride per axis (or CONV_STRIDE for both; 1)
 *   CONV_PAD_H, _W           zero padding on both sides per axis (CONV_PAD; 0)
 *   CONV_DIL_H, _W           dilation per axis (CONV_DIL; 1)
 *   CONV_GROUPS              the groups, which must equal C (checked at launch)
 *   CONV_BIAS                1 = in[2] is the bias (default 0)
 *   CONV_TRANSPOSED          must be 0
 *
 * Layout (contiguous, row-major; one dtype for every tensor):
 *   in[0]  x       (N, C, H, W) or (C, H, W)
 *   in[1]  weight  (Cout, 1, KH, KW), Cout = C * MULT
 *   in[2]  bias    (Cout), where CONV_BIAS
 *   out[0] y       (N, Cout, OH, OW) or (Cout, OH, OW),
 *                  OH = (H + 2*PH - DH*(KH-1) - 1) / SH + 1, OW likewise
 *   y[n][co][oh][ow] = bias[co] + sum over kh, kw of
 *       weight[co][0][kh][kw] * x[n][co / MULT][oh*SH - PH + kh*DH][ow*SW - PW + kw*DW]
 *   (terms whose input lies in the padding are zero).
 *
 * Strategy. The work is memory-bound (KH*KW multiply-adds per output, one
 * read of x and one write of y at best), so the kernel's job is to read each
 * input element from DRAM about once and to keep every access coalesced.
 * A block owns a tile of TH x TILE_W outputs of one input plane (n, c), for
 * each of the MULT output channels that read it. It stages the input window
 * the tile needs, IN_H x IN_W with IN_H = (TH-1)*SH + DH*(KH-1) + 1 and
 * IN_W = (TILE_W-1)*SW + DW*(KW-1) + 1 elements starting at
 * (oh0*SH - PH, ow0*SW - PW), into shared memory as fp32: consecutive
 * threads load consecutive columns of a row (coalesced), and elements in
 * the padding or past the input are written as zero without being read, so
 * nothing outside x is ever addressed. With VEC = 4, where W is a multiple
 * of 4 and x is aligned, a thread loads four elements at once: tiles start
 * on multiples of TILE_W, so every window row starts SHIFT = (-PW) mod 4
 * elements into an aligned word, a compile-time offset; the rows are staged
 * from that word on, at a pitch of whole words, and every word lies wholly
 * inside the input row or wholly outside it (W being a multiple of 4).
 * Neighbouring tiles of a plane have neighbouring block numbers, so the halo
 * they share is read from L2.
 * Then, for each output channel of the plane, its KH*KW weights are copied
 * to shared memory (and into registers where there are at most 64) and
 * each thread computes OUT_PER_THREAD vertically adjacent outputs of one
 * column: it walks the SPAN = (OPT-1)*SH + DH*(KH-1) + 1 input rows its
 * outputs draw on, reads each needed element of a row once and adds it into
 * every output whose window holds that row (register blocking along H).
 * Adjacent threads own adjacent columns, so a warp's shared-memory reads are
 * 32 consecutive words (or a stride of SW: at most SW-way conflicts) and
 * its global stores are 32 consecutive outputs. Window, stride, padding
 * and dilation are compile-time constants: every loop over the window
 * unrolls and the test whether a row belongs to an output folds away.
 *
 * The tile height actually used, TH, is TILE_H halved while the window
 * would take more than 160 KB of shared memory (never below
 * OUT_PER_THREAD); more than 48 KB is opted into at launch. Blocks
 * grid-stride over (plane, tile) pairs; plane offsets are 64-bit, offsets
 * within a plane 32-bit (H*W and OH*OW below 2^31, checked at launch).
 * KB_ERR_SHAPE for anything else: other dtypes, mixed dtypes, a weight
 * whose window is not the compiled one, Cout not a multiple of C, C not
 * CONV_GROUPS, an output shape that is not PyTorch's.
 */
#ifndef TILE_W
#define TILE_W 64
#endif
#ifndef TILE_H
#define TILE_H 16
#endif
#ifndef OUT_PER_THREAD
#define OUT_PER_THREAD 4
#endif
#ifndef THREADS
#define THREADS 256
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef STREAM
#define STREAM 0
#endif

/* Compiled on its own: a 3x3 window, padding 1, with bias. */
#ifndef CONV_KERNEL_H
#define CONV_KERNEL_H 3
#define CONV_KERNEL_W 3
#define CONV_PAD_H 1
#define CONV_PAD_W 1
#define CONV_BIAS 1
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
#ifndef CONV_TRANSPOSED
#define CONV_TRANSPOSED 0
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

#define KH CONV_KERNEL_H
#define KW CONV_KERNEL_W
#define SH CONV_STRIDE_H
#define SW CONV_STRIDE_W
#define PH CONV_PAD_H
#define PW CONV_PAD_W
#define DH CONV_DIL_H
#define DW CONV_DIL_W
#define OPT OUT_PER_THREAD

static_assert(TILE_W == 32 || TILE_W == 64 || TILE_W == 128, "TILE_W is 32, 64 or 128");
static_assert(TILE_H == 8 || TILE_H == 16 || TILE_H == 32 || TILE_H == 64, "TILE_H is 8, 16, 32 or 64");
static_assert(OPT == 1 || OPT == 2 || OPT == 4 || OPT == 8, "OUT_PER_THREAD is 1, 2, 4 or 8");
static_assert(TILE_H % OPT == 0, "a tile holds whole row groups");
static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 512, "THREADS");
static_assert(VEC == 1 || VEC == 4, "VEC is 1 or 4");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(KH >= 1 && KW >= 1, "CONV_KERNEL: windows of at least 1");
static_assert(SH >= 1 && SW >= 1, "CONV_STRIDE");
static_assert(PH >= 0 && PW >= 0, "CONV_PAD");
static_assert(DH >= 1 && DW >= 1, "CONV_DIL");
static_assert(CONV_BIAS == 0 || CONV_BIAS == 1, "CONV_BIAS is 0 or 1");
static_assert(CONV_TRANSPOSED == 0, "a transposed convolution is not this template's");

KBREED_CANDIDATE_ABI

/* The staged window of a tile of th x TILE_W outputs, in elements; with
 * VEC = 4 each row is stored from the aligned word its first element lies
 * in, SHIFT elements in, at a pitch of whole words. */
constexpr int in_rows(int th) { return (th - 1) * SH + DH * (KH - 1) + 1; }
constexpr int IN_W = (TILE_W - 1) * SW + DW * (KW - 1) + 1;
constexpr int SHIFT = VEC == 4 ? ((-PW) % 4 + 4) % 4 : 0;
constexpr int PITCH = VEC == 4 ? (SHIFT + IN_W + 3) / 4 * 4 : IN_W;
constexpr int SMEM_CAP = 160 * 1024;
constexpr int smem_bytes(int th) { return (in_rows(th) * PITCH + KH * KW) * (int)sizeof(float); }
/* The tile height: TILE_H, halved while its window would not fit. */
constexpr int fit_rows(int th) { return th > OPT && smem_bytes(th) > SMEM_CAP ? fit_rows(th / 2) : th; }
constexpr int TH = fit_rows(TILE_H);
constexpr int IN_H = in_rows(TH);
constexpr int SMEM_BYTES = smem_bytes(TH);
static_assert(SMEM_BYTES <= 227 * 1024, "the window of one tile does not fit in shared memory: lower TILE_W");
/* Row groups per tile, thread jobs (column, row group) per tile, and the
 * input rows one row group draws on. */
constexpr int GROUPS = TH / OPT;
constexpr int JOBS = TILE_W * GROUPS;
constexpr int SPAN = (OPT - 1) * SH + DH * (KH - 1) + 1;
/* The weights live in registers where they are few. */
constexpr bool W_IN_REGS = KH * KW <= 64;

/* Four elements from an aligned address, widened to float. */
static __device__ __forceinline__ float4 load4(const float *p)
{
	return *reinterpret_cast<const float4 *>(p);
}

template <typename T>
static __device__ __forceinline__ float4 load4(const T *p)
{
	const uint2 u = *reinterpret_cast<const uint2 *>(p);
	T e[4];
	memcpy(e, &u, sizeof u);
	return make_float4(to_float(e[0]), to_float(e[1]), to_float(e[2]), to_float(e[3]));
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

/* One block per (input plane, tile) pair, grid-striding; tiles_w x tiles_h
 * tiles per plane, the plane index b / tiles = n*C + c. WIDE: the window
 * is staged four elements at a time (VEC = 4, W a multiple of 4, x aligned). */
template <typename T, bool WIDE>
__global__ void __launch_bounds__(THREADS)
dw_kernel(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias, T *__restrict__ y,
	  int64_t total, int C, int mult, int H, int W, int OH, int OW, int tiles_h, int tiles_w)
{
	extern __shared__ float4 smem4[];
	float *s_in = reinterpret_cast<float *>(smem4);   /* [IN_H][PITCH], row r's element c at SHIFT + c */
	float *s_w = s_in + IN_H * PITCH;                 /* [KH][KW] */
	const int tiles = tiles_h * tiles_w;
	for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
		const int64_t plane = b / tiles;
		const int t = (int)(b - plane * tiles);
		const int oh0 = (t / tiles_w) * TH, ow0 = (t % tiles_w) * TILE_W;
		const int ih0 = oh0 * SH - PH, iw0 = ow0 * SW - PW;
		const int c = (int)(plane % C);
		const int64_t n = plane / C;
		const T *xp = x + plane * (int64_t)H * W;
		__syncthreads();   /* the previous tile's readers are done with s_in and s_w */
		if (WIDE) {
			/* Word q of row r holds input columns iw0 - SHIFT + 4q .. + 3. */
			constexpr int NW = PITCH / 4;
#pragma unroll 4
			for (int i = threadIdx.x; i < IN_H * NW; i += THREADS) {
				const int r = i / NW, q = i - r * NW;
				const int ih = ih0 + r, iw = iw0 - SHIFT + 4 * q;
				float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
				if (ih >= 0 && ih < H && iw >= 0 && iw < W)
					v = load4(xp + ih * W + iw);
				reinterpret_cast<float4 *>(s_in)[i] = v;
			}
		} else {
#pragma unroll 4
			for (int i = threadIdx.x; i < IN_H * IN_W; i += THREADS) {
				const int r = i / IN_W, col = i - r * IN_W;
				const int ih = ih0 + r, iw = iw0 + col;
				s_in[r * PITCH + SHIFT + col] =
					ih >= 0 && ih < H && iw >= 0 && iw < W ? to_float(xp[ih * W + iw]) : 0.0f;
			}
		}
		for (int m = 0; m < mult; m++) {
			const int co = c * mult + m;
			if (m > 0)
				__syncthreads();   /* done with the previous channel's weights */
			for (int i = threadIdx.x; i < KH * KW; i += THREADS)
				s_w[i] = to_float(w[(int64_t)co * (KH * KW) + i]);
			__syncthreads();
			float wr[W_IN_REGS ? KH * KW : 1];
			if (W_IN_REGS) {
#pragma unroll
				for (int k = 0; k < (W_IN_REGS ? KH * KW : 1); k++)
					wr[k] = s_w[k];
			}
			const float bv = CONV_BIAS ? to_float(bias[co]) : 0.0f;
			T *yp = y + (n * C * mult + co) * (int64_t)OH * OW;
			for (int q = threadIdx.x; q < JOBS; q += THREADS) {
				const int col = q % TILE_W, g = q / TILE_W;
				const int ow = ow0 + col, oh = oh0 + g * OPT;
				if (ow >= OW || oh >= OH)
					continue;
				float acc[OPT];
#pragma unroll
				for (int j = 0; j < OPT; j++)
					acc[j] = bv;
				/* Row e of the span holds tap kh = (e - j*SH)/DH of output j. */
				const float *sp = s_in + g * OPT * SH * PITCH + SHIFT + col * SW;
#pragma unroll
				for (int e = 0; e < SPAN; e++)
#pragma unroll
					for (int kw = 0; kw < KW; kw++) {
						const float v = sp[e * PITCH + kw * DW];
#pragma unroll
						for (int j = 0; j < OPT; j++) {
							const int d = e - j * SH;
							if (d >= 0 && d % DH == 0 && d / DH < KH) {
								const int k = (d / DH) * KW + kw;
								acc[j] = fmaf(v, W_IN_REGS ? wr[W_IN_REGS ? k : 0] : s_w[k], acc[j]);
							}
						}
					}
				T *yo = yp + oh * OW + ow;
#pragma unroll
				for (int j = 0; j < OPT; j++)
					if (oh + j < OH)
						store(yo + j * OW, acc[j]);
			}
		}
	}
}

/* ---- launch ---- */

template <typename T>
static int launch(const kb_tensor *in, kb_tensor *y, int64_t N, int C, int mult, int H, int W, int OH, int OW,
		  cudaStream_t st)
{
	const int tiles_h = (OH + TH - 1) / TH, tiles_w = (OW + TILE_W - 1) / TILE_W;
	const int64_t total = N * C * (int64_t)tiles_h * tiles_w;
	const unsigned grid = (unsigned)(total < (1 << 30) ? total : (1 << 30));   /* the rest grid-strides */
	const bool wide = VEC == 4 && W % 4 == 0 && (uintptr_t)in[0].data % (4 * sizeof(T)) == 0;
	void (*kernel)(const T *, const T *, const T *, T *, int64_t, int, int, int, int, int, int, int, int) =
		wide ? dw_kernel<T, true> : dw_kernel<T, false>;
	if (SMEM_BYTES > 48 * 1024 &&
	    cudaFuncSetAttribute((const void *)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
				 SMEM_BYTES) != cudaSuccess)
		return KB_ERR_LAUNCH;
	kernel<<<grid, THREADS, SMEM_BYTES, st>>>((const T *)in[0].data, (const T *)in[1].data,
						   CONV_BIAS ? (const T *)in[2].data : nullptr, (T *)y->data, total, C,
						   mult, H, W, OH, OW, tiles_h, tiles_w);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

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
	if (!kb_args_one_dtype(in, n_in, 2 + CONV_BIAS, out, n_out, 1))
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *wt = &in[1];
	kb_tensor *y = &out[0];
	if ((x->ndim != 4 && x->ndim != 3) || y->ndim != x->ndim || wt->ndim != 4)
		return KB_ERR_SHAPE;
	const int bat = x->ndim == 4;
	const int64_t N = bat ? x->shape[0] : 1, C = x->shape[bat], H = x->shape[bat + 1], W = x->shape[bat + 2];
	const int64_t Cout = wt->shape[0];
	if (N < 0 || C < 1 || H < 1 || W < 1 || Cout < C || Cout % C || Cout > 2147483647LL)
		return KB_ERR_SHAPE;
#ifdef CONV_GROUPS
	if (C != CONV_GROUPS)
		return KB_ERR_SHAPE;
#endif
	if (wt->shape[1] != 1 || wt->shape[2] != KH || wt->shape[3] != KW)
		return KB_ERR_SHAPE;
	if (CONV_BIAS && (in[2].ndim != 1 || in[2].shape[0] != Cout))
		return KB_ERR_SHAPE;
	const int64_t OH = out_extent(H, KH, SH, PH, DH), OW = out_extent(W, KW, SW, PW, DW);
	if (OH < 1 || OW < 1 || H * W > 2147483647LL || OH * OW > 2147483647LL)
		return KB_ERR_SHAPE;
	if ((bat && y->shape[0] != N) || y->shape[bat] != Cout || y->shape[bat + 1] != OH || y->shape[bat + 2] != OW)
		return KB_ERR_SHAPE;
	if (N == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	const int mult = (int)(Cout / C);
	switch (x->dtype) {
	case KB_F32:
		return launch<float>(in, y, N, (int)C, mult, (int)H, (int)W, (int)OH, (int)OW, st);
#if !KB_F32_ONLY
	case KB_F16:
		return launch<__half>(in, y, N, (int)C, mult, (int)H, (int)W, (int)OH, (int)OW, st);
	default:
		return launch<__nv_bfloat16>(in, y, N, (int)C, mult, (int)H, (int)W, (int)OH, (int)OW, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
