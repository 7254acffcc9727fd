// kbreed-template: conv_pointwise
// family: conv
// problems: conv1d_pointwise conv2d_pointwise conv3d_pointwise
// requires: CONV_POINTWISE_PLAIN
// knob BM: 64 128 | default 128 | category memory access | output channels per block (rows of each image's GEMM, the weight's rows); where Cout <= BM every input element is read from DRAM once
// knob BN: 64 128 256 | default 128 | category memory access | positions per block (columns of the GEMM), one contiguous run of x's and y's rows; 256 halves the weight slices copied per position (runs with 8 warps, each a 64 x 64 tile as at 128 with 4)
// knob BK: 16 32 | default 32 | category memory access | input channels per pipeline slice (the GEMM's K)
// knob WARPS: 4 8 | default 4 | category parallelism | warps per block: 2 along the channels by WARPS/2 along the positions (4: each warp a 64 x 64 tile, fewer fragment loads per product; on 87_conv_pointwise_2D, H100: 5.77 ms against 7.01 ms with 8)
// knob STAGES: 2 3 4 | default 3 | category asynchronous | cp.async ring depth in shared memory
// knob PRECISION: 1 2 3 | default 2 | category data type | loose 1 | 1 = single TF32 (passes only the loose 1e-2 profile); 3 = 3xTF32 split (big*big + big*small + small*big), fp32-class accuracy; 2 = 3xBF16, the same three products of bfloat16 halves on mma.sync m16n8k16, twice TF32's rate (about 4e-6 relative; on 87_conv_pointwise_2D, H100: 5.40 ms against 5.85 ms at 3)
// knob WRES: 0 1 | default 0 | category memory access | 1 = the block's weight tile (BM x Cin) stays in shared memory, split once into bfloat16 hi and lo in the order the 3xBF16 products read them, and the ring carries x alone: no weight slice copied from L2 per tile and no A fragment split per slice (PRECISION=2 only; BM x Cin past the shared memory beside the ring, Cin above about 330 at BM=128 and 160 at BN=256 STAGES=4, is KB_ERR_SHAPE; on 87_conv_pointwise_2D, H100: 4.97 ms against 5.42 ms at 0, 4.86 ms with BN=256 STAGES=4)
// check: PRECISION=2 BK=16 BM=64 BN=64 WARPS=8
// check: PRECISION=2 WARPS=8 STAGES=2
// check: BN=256 BM=64 BK=16 STAGES=4
// start sm_90a CONV_FEW_CIN: WRES=1 BN=256 STAGES=4
// start sm_90a CONV_FEW_CIN: WRES=1
// check: WRES=1
// check: WRES=1 BK=16 BM=64 BN=64 WARPS=8 STAGES=2
// check: WRES=1 BN=256 STAGES=4
// same: BN=256 WARPS=4 as WARPS=8
// same: PRECISION=1 WRES=1 as WRES=0
// same: PRECISION=3 WRES=1 as WRES=0
/*
 * conv_pointwise.cu - nn.Conv1d/2d/3d with a window of 1 on every axis,
 * stride 1, no padding, groups 1 (a "pointwise" or 1x1 convolution), with or
 * without bias, fp32, on the tensor cores (mma.sync, TF32 or bf16 halves):
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
 * rounds once (cvt.rna.tf32). PRECISION=2 reads the same fragments two k8
 * halves at a time, splits each value into bfloat16 hi = bf16(x) and lo =
 * bf16(x - hi) and issues lo*hi, hi*lo, hi*hi on mma.sync m16n8k16 bf16,
 * which runs at twice the TF32 rate: the 3xTF32 products' tensor time
 * halves, for a dropped lo*lo term of about 2^-16 of a product (k taken in
 * an order A and B share, see pw_gemm.cuh's pwg_slice_bf16).
 * WRES=1 (3xBF16 only): the weights of the block's channel tile are
 * loaded once (again only where a block's tiles move to another channel
 * tile, Cout > BM) into shared memory after the ring, split into bf16 hi
 * and lo rows with each 16 k stored in the shared k order, so that one
 * ldmatrix.x4 is a whole A fragment; the ring's stages hold x's rows
 * alone (pw_gemm.cuh's pwg_fill_weights, pwg_slice_bf16_res).
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
#define WARPS 4
#endif
#ifndef STAGES
#define STAGES 3
#endif
#ifndef PRECISION
#define PRECISION 2
#endif
#ifndef WRES
#define WRES 0
#endif
#ifndef CONV_DIMS
#define CONV_DIMS 2
#endif
/* 256 positions on 4 warps would be 256 accumulators a thread: 8 warps */
#if BN == 256 && WARPS == 4
#undef WARPS
#define WARPS 8
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/pw_gemm.cuh" // kbreed:inline

static_assert(BM == 64 || BM == 128, "BM is 64 or 128");
static_assert(BN == 64 || BN == 128 || BN == 256, "BN is 64, 128 or 256");
static_assert(BK == 16 || BK == 32, "BK is 16 or 32");
static_assert(WARPS == 4 || WARPS == 8, "WARPS is 4 or 8");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2 to 4");
static_assert(PRECISION >= 1 && PRECISION <= 3, "PRECISION is 1, 2 or 3");
static_assert(WRES == 0 || WRES == 1, "WRES is 0 or 1");
static_assert(CONV_DIMS >= 1 && CONV_DIMS <= 3, "CONV_DIMS is 1, 2 or 3");

KBREED_CANDIDATE_ABI

/* PRECISION 1 and 3 read fp32 fragments: WRES runs as 0 there */
#if WRES && PRECISION != 2
#undef WRES
#define WRES 0
#endif
typedef pwg<BM, BN, BK, WARPS, STAGES, PRECISION, WRES> CFG;

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
		return pwg_launch<CFG, true, float>(xp, wp, bp, yp, N, (int)Ci, (int)Co, (int)P, st);
	return pwg_launch<CFG, false, float>(xp, wp, bp, yp, N, (int)Ci, (int)Co, (int)P, st);
}
