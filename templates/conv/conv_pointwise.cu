// kbreed-template: conv_pointwise
// family: conv
// problems: conv1d_pointwise conv2d_pointwise conv3d_pointwise
// requires: CONV_POINTWISE_PLAIN
// knob BM: 64 128 | default 128 | category memory access | output channels per block (rows of each image's GEMM, the weight's rows); where Cout <= BM every input element is read from DRAM once
// knob BN: 64 128 | default 128 | category memory access | positions per block (columns of the GEMM), one contiguous run of x's and y's rows
// knob BK: 16 32 | default 32 | category memory access | input channels per pipeline slice (the GEMM's K)
// knob WARPS: 4 8 | default 8 | category parallelism | warps per block: 2 along the channels by WARPS/2 along the positions
// knob STAGES: 2 3 4 | default 3 | category asynchronous | cp.async ring depth in shared memory
// knob PRECISION: 1 3 | default 3 | category data type | loose 1 | 1 = single TF32 (passes only the loose 1e-2 profile); 3 = 3xTF32 split (big*big + big*small + small*big), fp32-class accuracy
/*
 * conv_pointwise.cu - nn.Conv1d/2d/3d with a window of 1 on every axis,
 * stride 1, no padding, groups 1 (a "pointwise" or 1x1 convolution), with or
 * without bias, fp32, on the tensor cores (mma.sync m16n8k8 TF32):
 *   y[n][co][p] = bias[co] + sum_ci w[co][ci] * x[n][ci][p]
 * p running over the D*H*W positions (any number of spatial axes: each is 1
 * in the window, so the positions are simply x's and y's rows).
 *
 * The problem's defines, written by recognition (src/recognize.c), placed
 * before this file:
 *   CONV_POINTWISE_PLAIN   1: the conv is what this template computes
 *                          (required: a 1x1 conv with a stride or padding
 *                          is another problem, conv_igemm's)
 *   CONV_DIMS              1, 2 or 3 (default 2)
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x       (N, Cin, spatial...)        e.g. (16, 64, 1024, 1024)
 *   in[1]  weight  (Cout, Cin, 1, ...)         e.g. (128, 64, 1, 1)
 *   in[2]  bias    (Cout)                      absent when n_in == 2
 *   out[0] y       (N, Cout, spatial...)       e.g. (16, 128, 1024, 1024)
 *
 * Why not conv_igemm: its implicit GEMM takes the output positions as the
 * GEMM's rows and gathers x tap by tap with 4-byte copies; for a 1x1 window
 * a tap is an input channel, HW floats from the next, so every copy is a
 * sector of its own. Here each image is a plain GEMM, weight (Cout x Cin)
 * times x[n] (Cin x P), whose B operand rows are contiguous runs of x: 16-byte
 * copies, every byte of x used, and y written in 32-byte runs. Such a conv
 * is memory-bound where Cin is small (87_conv_pointwise_2D: K = 64, 12.9 GB
 * of x and y against 0.8 TFLOP of 3xTF32 products).
 *
 * Tiling. A tile is BM output channels by BN positions of one image (the
 * position tile fastest, then the image, then the channel tile). The grid
 * is persistent, as many blocks as fit at once (occupancy), block b taking
 * tiles b, b + grid, ...; its work is one sequence of (tile, K slice) items,
 * K (Cin) walked in BK-deep slices through a ring of STAGES shared-memory
 * stages filled by cp.async STAGES-1 items ahead, one barrier an item, the
 * ring running across tile boundaries: the next tile's slices load while
 * this tile's last is multiplied and its results stored (a Cin of one or
 * two slices leaves a non-persistent block nothing to overlap its loads
 * with but its own epilogue). Per stage:
 *   sA [BM][BK + 4]  the weight's rows (16-byte copies of BK/4 pieces a row);
 *                    the 4-float pad puts the eight 16-byte rows an
 *                    ldmatrix phase reads in distinct banks;
 *   sB [BK][BN + 8]  x[n]'s rows (16-byte copies); the 8-float pad makes the
 *                    B fragment's scalar loads conflict-free (row stride
 *                    = 8 banks mod 32: lanes (g, t) hit bank 8t + g).
 * Channels past Cout, input channels past Cin and positions past P copy zero
 * bytes (src-size 0: the slot is zero-filled). Where P or Cin is not a
 * multiple of 4 (or a pointer is not 16-byte aligned) every copy is a 4-byte
 * one (V16 = false), and y is written a float at a time.
 * Warps: 2 along the channels by WARPS/2 along the positions; warp tile
 * WM x WN = (BM/2) x (BN/(WARPS/2)), MT = WM/16 by NT = WN/8 mma tiles.
 * A fragments: one ldmatrix.x4 per m16 tile (8x8 b16 matrices = 8 rows x 4
 * fp32: lanes 0-15 rows 0-15 at k 0-3, lanes 16-31 the same rows at k 4-7,
 * so r = a0..a3 of the m16n8k8 TF32 A layout). B fragments: b0 = B[t][g],
 * b1 = B[t + 4][g] (g = lane/4, t = lane%4), two scalar loads. PRECISION=3
 * splits each value into big = its top 19 bits and small = the rest's top
 * 19 bits, in registers, and issues small*big, big*small, big*big into one
 * fp32 accumulator (small*small, ~2^-20 relative, dropped); PRECISION=1
 * rounds once (cvt.rna.tf32).
 * Epilogue, after a tile's last slice: accumulator (c0, c1) is row g,
 * columns 2t, 2t+1 (c2, c3 eight rows down): the bias added, written
 * straight from registers with evict-first stores, a float2 per pair (V16),
 * so a quad writes 32 contiguous bytes of a y row; then the accumulators
 * start again from zero.
 * Unsupported (KB_ERR_SHAPE): not fp32, shapes that disagree, a window
 * other than 1, P, Cin or Cout past 2^31 - 1.
 */
#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 128
#endif
#ifndef BK
#define BK 32
#endif
#ifndef WARPS
#define WARPS 8
#endif
#ifndef STAGES
#define STAGES 3
#endif
#ifndef PRECISION
#define PRECISION 3
#endif
#ifndef CONV_DIMS
#define CONV_DIMS 2
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/ampere.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline

static_assert(BM == 64 || BM == 128, "BM is 64 or 128");
static_assert(BN == 64 || BN == 128, "BN is 64 or 128");
static_assert(BK == 16 || BK == 32, "BK is 16 or 32");
static_assert(WARPS == 4 || WARPS == 8, "WARPS is 4 or 8");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2 to 4");
static_assert(PRECISION == 1 || PRECISION == 3, "PRECISION is 1 or 3");
static_assert(CONV_DIMS >= 1 && CONV_DIMS <= 3, "CONV_DIMS is 1, 2 or 3");

KBREED_CANDIDATE_ABI

#define NT (WARPS * 32)
#define WARPS_M 2
#define WARPS_N (WARPS / WARPS_M)
#define WM (BM / WARPS_M)               /* channels a warp */
#define WN (BN / WARPS_N)               /* positions a warp */
#define MT (WM / 16)
#define NTL (WN / 8)
#define LDA (BK + 4)                    /* sA row, floats */
#define LDB (BN + 8)                    /* sB row, floats */
#define STAGE_FLOATS (BM * LDA + BK * LDB)
#define SMEM_BYTES (STAGES * STAGE_FLOATS * 4)

static_assert(WN % 8 == 0 && WM % 16 == 0, "warp tiles of whole mma tiles");
static_assert(LDB % 32 == 8, "the B fragment's loads are conflict-free at a row stride of 8 banks");
static_assert(SMEM_BYTES <= 227 * 1024, "the ring fits an SM's shared memory");

/* One BK slice of the weight (sA) and of x[n] (sB) into a stage. */
template <bool V16>
__device__ __forceinline__ void load_slice(float *stage, const float *__restrict__ w, const float *__restrict__ xs,
					   int co0, int p0, int k0, int Ci, int Co, int P)
{
	const int tid = threadIdx.x;
	float *sA = stage, *sB = stage + BM * LDA;
	if (V16) {
		/* Cin and P are multiples of 4: a piece lies wholly inside or outside */
		for (int i = tid; i < BM * (BK / 4); i += NT) {
			const int r = i / (BK / 4), c = 4 * (i % (BK / 4));
			const int co = co0 + r, k = k0 + c;
			const bool ok = co < Co && k < Ci;
			cp_async16(smem_u32(sA + r * LDA + c), ok ? w + (int64_t)co * Ci + k : w, ok ? 16 : 0);
		}
		for (int i = tid; i < BK * (BN / 4); i += NT) {
			const int r = i / (BN / 4), c = 4 * (i % (BN / 4));
			const int k = k0 + r, p = p0 + c;
			const bool ok = k < Ci && p < P;
			cp_async16(smem_u32(sB + r * LDB + c), ok ? xs + (int64_t)k * P + p : xs, ok ? 16 : 0);
		}
	} else {
		for (int i = tid; i < BM * BK; i += NT) {
			const int r = i / BK, c = i % BK;
			const int co = co0 + r, k = k0 + c;
			const bool ok = co < Co && k < Ci;
			cp_async4(smem_u32(sA + r * LDA + c), ok ? w + (int64_t)co * Ci + k : w, ok ? 4 : 0);
		}
		for (int i = tid; i < BK * BN; i += NT) {
			const int r = i / BN, c = i % BN;
			const int k = k0 + r, p = p0 + c;
			const bool ok = k < Ci && p < P;
			cp_async4(smem_u32(sB + r * LDB + c), ok ? xs + (int64_t)k * P + p : xs, ok ? 4 : 0);
		}
	}
}

/* x as TF32: PRECISION=3 big and small by truncation (ampere.cuh's
 * tf32_split_trunc); PRECISION=1 rounded once (small unused). */
__device__ __forceinline__ void tf32_parts(uint32_t x, uint32_t &big, uint32_t &small)
{
#if PRECISION == 3
	tf32_split_trunc(x, big, small);
#else
	big = to_tf32(__uint_as_float(x));
	small = 0;
#endif
}

/* A tile's place: output channels from co0, positions from p0 of image img.
 * Tiles run position tile fastest, then image, then channel tile, so the
 * blocks at work at one time read neighbouring stretches of x. */
struct tile_at {
	int64_t img;
	int p0, co0;
};

__device__ __forceinline__ tile_at tile_of(int64_t tile, int tilesP, int64_t N)
{
	const int64_t per_ct = N * tilesP;
	const int64_t rest = tile % per_ct;
	return { rest / tilesP, (int)(rest % tilesP) * BN, (int)(tile / per_ct) * BM };
}

/* The accumulators of tile `at` to y, with the bias, evict-first. */
template <bool V16>
__device__ __forceinline__ void store_tile(float (&acc)[MT][NTL][4], const tile_at &at, const float *__restrict__ bias,
					   float *__restrict__ y, int Co, int P)
{
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int g = lane >> 2, t = lane & 3;
	const int wm = warp % WARPS_M, wn = warp / WARPS_M;
#pragma unroll
	for (int i = 0; i < MT; i++) {
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const int co = at.co0 + wm * WM + i * 16 + g + 8 * h;
			if (co >= Co)
				continue;
			const float b = bias ? bias[co] : 0.0f;
			float *yr = y + (at.img * Co + co) * (int64_t)P;
#pragma unroll
			for (int j = 0; j < NTL; j++) {
				const int p = at.p0 + wn * WN + j * 8 + 2 * t;
				const float v0 = acc[i][j][2 * h] + b, v1 = acc[i][j][2 * h + 1] + b;
				if (V16) {
					if (p < P) /* P even: p + 1 < P too */
						__stcs(reinterpret_cast<float2 *>(yr + p), make_float2(v0, v1));
				} else {
					if (p < P)
						__stcs(yr + p, v0);
					if (p + 1 < P)
						__stcs(yr + p + 1, v1);
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
template <bool V16>
__global__ void __launch_bounds__(NT)
conv_pointwise(const float *__restrict__ x, const float *__restrict__ w, const float *__restrict__ bias,
	       float *__restrict__ y, int64_t N, int Ci, int Co, int P, int tilesP, int64_t tiles)
{
	extern __shared__ __align__(16) float smem[];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const int g = lane >> 2, t = lane & 3;
	const int wm = warp % WARPS_M, wn = warp / WARPS_M;
	const int nk = (Ci + BK - 1) / BK;
	const int64_t mine = tiles > blockIdx.x ? (tiles - 1 - blockIdx.x) / gridDim.x + 1 : 0;
	const int64_t items = mine * nk;
	/* item `it` of this block: slice it % nk of its tile it / nk */
	auto load_item = [&](int64_t it) {
		const tile_at at = tile_of(blockIdx.x + it / nk * gridDim.x, tilesP, N);
		load_slice<V16>(smem + (int)(it % STAGES) * STAGE_FLOATS, w, x + at.img * Ci * (int64_t)P, at.co0,
				at.p0, (int)(it % nk) * BK, Ci, Co, P);
	};

	float acc[MT][NTL][4];
#pragma unroll
	for (int i = 0; i < MT; i++)
#pragma unroll
		for (int j = 0; j < NTL; j++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				acc[i][j][e] = 0.0f;

#pragma unroll
	for (int s = 0; s < STAGES - 1; s++) {
		if (s < items)
			load_item(s);
		cp_async_commit();
	}
	/* ldmatrix rows of this lane: rows 0-15 of an m16 tile, k 0-3 or 4-7 */
	const int a_lane = (wm * WM + (lane & 15)) * LDA + (lane >> 4) * 4;
	const int b_lane = t * LDB + wn * WN + g;
	for (int64_t it = 0; it < items; it++) {
		cp_async_wait<STAGES - 2>(); /* item it landed (this thread's copies) */
		__syncthreads();             /* ... everyone's; and item it-1's stage is free */
		if (it + STAGES - 1 < items)
			load_item(it + STAGES - 1);
		cp_async_commit(); /* possibly empty: the group count stays uniform */
		const float *sA = smem + (int)(it % STAGES) * STAGE_FLOATS, *sB = sA + BM * LDA;
		const uint32_t sa = smem_u32(sA);
#pragma unroll
		for (int ks = 0; ks < BK / 8; ks++) {
			uint32_t abig[MT][4], asmall[MT][4];
#pragma unroll
			for (int i = 0; i < MT; i++) {
				uint32_t r[4];
				ldsm_x4(r, sa + (uint32_t)(a_lane + i * 16 * LDA + ks * 8) * 4u);
#pragma unroll
				for (int c = 0; c < 4; c++)
					tf32_parts(r[c], abig[i][c], asmall[i][c]);
			}
#pragma unroll
			for (int j = 0; j < NTL; j++) {
				const float *bp = sB + b_lane + ks * 8 * LDB + j * 8;
				uint32_t b0, b1, s0, s1;
				tf32_parts(__float_as_uint(bp[0]), b0, s0);
				tf32_parts(__float_as_uint(bp[4 * LDB]), b1, s1);
#pragma unroll
				for (int i = 0; i < MT; i++) {
#if PRECISION == 3
					mma_m16n8k8_tf32(acc[i][j], asmall[i], b0, b1);
					mma_m16n8k8_tf32(acc[i][j], abig[i], s0, s1);
#endif
					mma_m16n8k8_tf32(acc[i][j], abig[i], b0, b1);
				}
			}
		}
		if (it % nk == nk - 1) { /* the tile's last slice: its results out, fresh accumulators */
			store_tile<V16>(acc, tile_of(blockIdx.x + it / nk * gridDim.x, tilesP, N), bias, y, Co, P);
#pragma unroll
			for (int i = 0; i < MT; i++)
#pragma unroll
				for (int j = 0; j < NTL; j++)
#pragma unroll
					for (int e = 0; e < 4; e++)
						acc[i][j][e] = 0.0f;
		}
	}
	cp_async_wait<0>();
}

template <bool V16>
static int launch(const float *x, const float *w, const float *bias, float *y, int64_t N, int Ci, int Co, int P,
		  cudaStream_t st)
{
	/* kept across calls: the shared memory allowed, the blocks an SM holds */
	static int per_sm = 0;
	if (per_sm == 0) {
		if (cudaFuncSetAttribute((const void *)conv_pointwise<V16>, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 SMEM_BYTES) != cudaSuccess ||
		    cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, conv_pointwise<V16>, NT, SMEM_BYTES) !=
			    cudaSuccess)
			return KB_ERR_LAUNCH;
		if (per_sm < 1)
			return KB_ERR_SHAPE; /* the ring does not fit an SM */
	}
	const int sms = kb_sm_count();
	if (sms < 1)
		return KB_ERR_LAUNCH;
	const int64_t tilesP = ((int64_t)P + BN - 1) / BN, chans = ((int64_t)Co + BM - 1) / BM;
	if (tilesP > 2147483647LL)
		return KB_ERR_SHAPE;
	const int64_t tiles = N * tilesP * chans;
	const int64_t grid = tiles < (int64_t)per_sm * sms ? tiles : (int64_t)per_sm * sms;
	conv_pointwise<V16><<<(unsigned)grid, NT, SMEM_BYTES, st>>>(x, w, bias, y, N, Ci, Co, P, (int)tilesP, tiles);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || (n_in != 2 && n_in != 3) || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *w = &in[1], *b = n_in == 3 ? &in[2] : NULL;
	kb_tensor *y = &out[0];
	const int nd = CONV_DIMS + 2;
	if (x->dtype != KB_F32 || w->dtype != KB_F32 || y->dtype != KB_F32 || (b && b->dtype != KB_F32))
		return KB_ERR_SHAPE;
	if (x->ndim != nd || w->ndim != nd || y->ndim != nd || (b && b->ndim != 1))
		return KB_ERR_SHAPE;
	const int64_t N = x->shape[0], Ci = x->shape[1], Co = w->shape[0];
	int64_t P = 1;
	for (int d = 2; d < nd; d++) {
		if (w->shape[d] != 1 || y->shape[d] != x->shape[d] || x->shape[d] < 0)
			return KB_ERR_SHAPE;
		P *= x->shape[d];
	}
	if (N < 0 || Ci < 1 || Co < 1 || w->shape[1] != Ci || y->shape[0] != N || y->shape[1] != Co ||
	    (b && b->shape[0] != Co))
		return KB_ERR_SHAPE;
	if (Ci > 2147483647LL || Co > 2147483647LL || P > 2147483647LL)
		return KB_ERR_SHAPE;
	if (N == 0 || P == 0)
		return KB_OK;
	const float *xp = (const float *)x->data, *wp = (const float *)w->data;
	const float *bp = b ? (const float *)b->data : NULL;
	float *yp = (float *)y->data;
	cudaStream_t st = (cudaStream_t)stream;
	const bool v16 = P % 4 == 0 && Ci % 4 == 0 && ((uintptr_t)xp | (uintptr_t)wp | (uintptr_t)yp) % 16 == 0;
	if (v16)
		return launch<true>(xp, wp, bp, yp, N, (int)Ci, (int)Co, (int)P, st);
	return launch<false>(xp, wp, bp, yp, N, (int)Ci, (int)Co, (int)P, st);
}
