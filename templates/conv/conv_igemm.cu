// kbreed-template: conv_igemm
// family: conv
// problems: conv2d conv2d_relu_maxpool
// seeds-from: matmul
// knob BM: 64 128 256 | default 128 | category memory access | output positions per block (rows of the implicit GEMM); halved while a thread would hold more than 128 accumulators (BM*BN/threads)
// knob BN: 32 64 96 128 | default 96 | category memory access | output channels per block, an upper bound: n8 tiles past Cout are neither loaded nor multiplied (Cout = 96 fits one BN = 96 or 128 block; 96 holds no idle accumulators)
// knob BK: 16 32 | default 16 | category memory access | reduction depth (Cin*KH*KW taps) per pipeline slice; K is padded with zeros to a multiple of BK
// knob WARPS: 4 8 | default 8 | category parallelism | warps per block; the warp grid (along M x along N) is derived from the tile
// knob STAGES: 2 3 4 | default 3 | category asynchronous | cp.async ring depth in shared memory (lowered to what fits in 227 KB)
// knob PRECISION: 1 3 | default 3 | category data type | loose 1 | 1 = single TF32 (passes only the loose 1e-2 profile); 3 = 3xTF32 split (big*big + big*small + small*big), fp32-class accuracy
/*
 * conv_igemm.cu - nn.Conv2d (groups 1, dilation 1, zero padding) with bias,
 * optionally followed by ReLU and MaxPool2d (no padding, floor mode), fp32,
 * as an implicit GEMM on the tensor cores (mma.sync m16n8k8 TF32).
 *
 * Hyper-parameters no tensor carries come from the problem file
 * (KBREED_DEFINES), as #defines in front of this file:
 *   CONV_STRIDE, CONV_PAD   required
 *   RELU                    0 or 1 (default 0)
 *   POOL                    max-pool window, 0 = no pooling (default 0)
 *   POOL_STRIDE             pool stride (default POOL, as in PyTorch)
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x       (N, Cin, H, W)        e.g. (100, 3, 224, 224)
 *   in[1]  weight  (Cout, Cin, KH, KW)   e.g. (96, 3, 11, 11)
 *   in[2]  bias    (Cout)                absent when n_in == 2
 *   out[0] y       (N, Cout, Ho, Wo)     POOL = 0, e.g. (100, 96, 55, 55)
 *                  (N, Cout, Po, Qo)     POOL > 0, e.g. (100, 96, 27, 27)
 *   Ho = (H + 2*CONV_PAD - KH) / CONV_STRIDE + 1, Wo likewise;
 *   Po = (Ho - POOL) / POOL_STRIDE + 1, Qo likewise.
 *
 * The GEMM: D[m][co] = sum_k A[m][k] * B[k][co], m = (n, oh, ow) flattened
 * (M = N*Ho*Wo), k = (ci, kh, kw) flattened (K = Cin*KH*KW), A[m][k] =
 * x[n][ci][oh*S - P + kh][ow*S - P + kw] (0 in the padding) and B[k][co] =
 * weight[co][k] (the weight tensor as stored is B transposed).
 *
 * Weights first. A small kernel rewrites the weights once per call into the
 * order in which the mma wants them (a static __device__ buffer; a
 * cudaMallocAsync one where that is too small), K and Cout padded with
 * zeros to multiples of 8: for each (k8 block kb, n8 block nb) 32 lanes x
 * {b0, b1} (PRECISION=1) or {b0, b1, b0 small, b1 small} (PRECISION=3),
 * b0 = B[8kb + t][8nb + g], b1 = B[8kb + t + 4][8nb + g] (g = lane/4,
 * t = lane%4), each already rounded to TF32 (cvt.rna) and, for 3xTF32,
 * split into big = tf32(w) and small = tf32(w - big). A B fragment is then
 * one 16-byte (8-byte) shared-memory load with no conversion.
 *
 * Main kernel. A block owns a tile of TBM output positions by BN output
 * channels (one-dimensional grid, channel tiles of one position tile
 * adjacent). K is walked in BK-deep slices through a STAGES ring of
 * shared-memory buffers filled by cp.async, STAGES-1 slices ahead of the
 * one being multiplied, one __syncthreads per slice. The copies of the
 * slice ahead are issued in BK/8 pieces, one before each k8 step of the
 * current slice, so the gather's many small copies drain while the mma
 * issue instead of stalling the warp in one burst. Where a thread holds
 * at most 64 accumulators and two rings fit, two blocks share an SM
 * (launch bounds), so one block's gather and epilogue overlap the other's
 * mma.
 *   A slice (TBM x BK): gathered from x on the fly (im2col): lane l of a
 *     warp loads tap k = slice*BK + l % BK for one position (two positions
 *     per warp when BK = 16), so a warp reads runs of consecutive kw, i.e.
 *     consecutive addresses of x. Each position's base address and its
 *     first input row/column (oh*S - P, ow*S - P) are computed once per
 *     block into a shared table; each thread carries the (ci, kh, kw) of its
 *     tap from slice to slice with a mixed-radix add, so no division runs in
 *     the loop. 4-byte cp.async; taps in the padding, past K or past M copy
 *     zero bytes (src-size 0: nothing is read, the slot is zero-filled).
 *     Stored row-major sA[TBM][BK + 4]: the 4-float pad puts the eight
 *     16-byte rows read by one ldmatrix phase in distinct banks, and the
 *     two positions of a BK = 16 warp are four rows apart, so the two
 *     half-warps write disjoint banks.
 *   B slice: the prepared blocks of this slice and channel tile, copied with
 *     16-byte cp.async (only the n8 blocks below Cout).
 * Warp tile WTM x WTN, MT = WTM/16 by NT = WTN/8 mma tiles; the n8 tiles of
 * the block are dealt to the WARPS_N warp columns round-robin (warp column
 * wn takes tiles wn, wn + WARPS_N, ...), so a Cout below BN leaves every
 * warp the same share, and pairs of tiles wholly past Cout are skipped
 * (warp-uniform branch). A fragments: one ldmatrix.x4 per m16 tile (b16
 * 8x8 matrices = 8 rows x 4 fp32: lanes 0-7 rows 0-7 at k 0-3 -> a0,
 * lanes 8-15 rows 8-15 -> a1, lanes 16-23 rows 0-7 at k 4-7 -> a2, lanes
 * 24-31 rows 8-15 -> a3), then split: big = x with the low 13 bits
 * cleared, small = (x - big) likewise (x - big is exact); PRECISION=1
 * rounds with cvt.rna.tf32. 3xTF32 issues small*big, big*small, big*big
 * into one fp32 accumulator (small*small, ~2^-20 relative, is dropped).
 *
 * Epilogue. The accumulators (c0,c1: row g, columns 2t,2t+1; c2,c3: row
 * g+8) get the bias and ReLU and are staged through shared memory (reusing
 * the ring) as sC[channel][position] with a TBM + 4 stride (conflict-free
 * for the fragment writes), a chunk of channels at a time where the whole
 * tile does not fit. Then:
 *   POOL = 0: each warp stores runs of consecutive positions of one channel
 *     (consecutive ow: contiguous in y), evict-first (__stcs).
 *   POOL > 0: y is filled with 0xff bytes before the kernel. The block
 *     finds the pooled rows (n, po) whose windows meet its position range
 *     (a contiguous range of pooled rows, since positions are contiguous);
 *     one thread per (pooled cell, group of 8 channels) takes the max over
 *     the window's conv outputs that lie in the tile, from shared memory,
 *     and folds it into y with one atomic per cell and channel: a float max
 *     on bit patterns, atomicMax(int) for values with the sign bit clear and
 *     atomicMin(unsigned) for the others, for which the 0xffffffff fill is
 *     the identity. It holds for any sign, so ReLU is not required; windows
 *     split between blocks are completed by their neighbours' atomics.
 *     Every window has at least one conv output (floor mode), so every cell
 *     is written.
 * Limits (KB_ERR_SHAPE otherwise): N*Ho*Wo, Cin*H*W and Cin*KH*KW below
 * 2^31 - 2^16. NaN propagates through ReLU and the pool as in PyTorch.
 */
#ifndef BM
#define BM 256
#endif
#ifndef BN
#define BN 128
#endif
#ifndef BK
#define BK 16
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

#ifndef CONV_STRIDE
#error "conv_igemm: CONV_STRIDE is not defined (the problem file sets it in KBREED_DEFINES)"
#endif
#ifndef CONV_PAD
#error "conv_igemm: CONV_PAD is not defined (the problem file sets it in KBREED_DEFINES)"
#endif
#ifndef RELU
#define RELU 0
#endif
#ifndef POOL
#define POOL 0
#endif
#ifndef POOL_STRIDE
#define POOL_STRIDE POOL
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/ampere.cuh" // kbreed:inline

static_assert(BM == 64 || BM == 128 || BM == 256, "BM is 64, 128 or 256");
static_assert(BN == 32 || BN == 64 || BN == 96 || BN == 128, "BN is 32, 64, 96 or 128");
static_assert(BK == 16 || BK == 32, "BK is 16 or 32");
static_assert(WARPS == 4 || WARPS == 8, "WARPS is 4 or 8");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2, 3 or 4");
static_assert(PRECISION == 1 || PRECISION == 3, "PRECISION is 1 or 3");
static_assert(CONV_STRIDE >= 1 && CONV_PAD >= 0, "CONV_STRIDE >= 1, CONV_PAD >= 0");
static_assert(RELU == 0 || RELU == 1, "RELU is 0 or 1");
static_assert(POOL >= 0 && (POOL == 0 || POOL_STRIDE >= 1), "POOL >= 0, POOL_STRIDE >= 1");

KBREED_CANDIDATE_ABI

#define NTHREADS (WARPS * 32)

/* Block tile rows: halved while a thread would hold more than 128 accumulators. */
constexpr int clamp_bm(int bm)
{
	while (bm > 64 && bm * BN / NTHREADS > 128)
		bm /= 2;
	return bm;
}
constexpr int TBM = clamp_bm(BM);

/* Warp grid: the WARPS_N (warps along the channels) whose warp tile needs
 * the fewest fragment loads per k step (MT + NT), fewer columns on ties. */
constexpr int warp_cost(int wn)
{
	int wm = WARPS / wn;
	int tm = TBM / wm, tn = BN / wn;
	if (WARPS % wn || tm < 16 || tm % 16 || tn < 8 || tn % 8)
		return 1 << 20;
	return tm / 16 + tn / 8;
}
constexpr int pick_warps_n()
{
	int best = 1;
	for (int wn = 2; wn <= WARPS; wn *= 2)
		if (warp_cost(wn) < warp_cost(best))
			best = wn;
	return best;
}
constexpr int WARPS_N = pick_warps_n();
constexpr int WARPS_M = WARPS / WARPS_N;
constexpr int WTM = TBM / WARPS_M;   /* warp tile rows */
constexpr int MT = WTM / 16;         /* m16 tiles per warp */
constexpr int NT = BN / 8 / WARPS_N; /* n8 tiles per warp */
constexpr int NCH = NT % 2 == 0 ? 2 : 1; /* n8 tiles per skip test */
static_assert(warp_cost(WARPS_N) < (1 << 20), "no warp grid fits the tile");
static_assert(NT % NCH == 0, "NT");

constexpr int FR = PRECISION == 3 ? 4 : 2;          /* floats per lane per B block */
constexpr int LDK = BK + 4;                         /* sA row stride (floats) */
constexpr int A_FLOATS = TBM * LDK;
constexpr int B_FLOATS = (BK / 8) * (BN / 8) * 32 * FR;
constexpr int STAGE_FLOATS = A_FLOATS + B_FLOATS;
constexpr int MINFO_BYTES = TBM * 16;               /* int4 per position */
constexpr int SMEM_CAP = 227 * 1024;
constexpr int fit_stages()
{
	int s = STAGES;
	while (s > 2 && s * STAGE_FLOATS * 4 + MINFO_BYTES > SMEM_CAP)
		s--;
	return s;
}
constexpr int NSTAGE = fit_stages();
constexpr int SMEM_BYTES = NSTAGE * STAGE_FLOATS * 4 + MINFO_BYTES;
static_assert(SMEM_BYTES <= SMEM_CAP, "shared memory");

/* Gather: lanes along k, RPI positions per warp instruction, NR per thread. */
constexpr int RPI = 32 / BK;
constexpr int ROWSTEP = WARPS * RPI;
constexpr int NR = TBM / ROWSTEP;
static_assert(TBM % ROWSTEP == 0, "gather rows");

/* Epilogue staging: sC[CW][TBM + 4], CW channels at a time. */
constexpr int LDC = TBM + 4;
constexpr int pick_cw()
{
	int cw = BN;
	while (cw > 8 && cw * LDC > NSTAGE * STAGE_FLOATS)
		cw = cw / 2 % 8 == 0 ? cw / 2 : 8; /* whole n8 tiles per chunk */
	return cw;
}
constexpr int CW = pick_cw();
static_assert(CW % 8 == 0 && CW * LDC <= NSTAGE * STAGE_FLOATS, "epilogue staging");

/* Two blocks per SM where the accumulators leave room (at most 64 per
 * thread, so 128 registers suffice) and two rings fit in shared memory:
 * one block's gather then overlaps the other's mma and epilogue. */
constexpr int MINB = (TBM * BN / NTHREADS <= 64 && 2 * (SMEM_BYTES + 1024) <= 228 * 1024) ? 2 : 1;

/* The gather of the next slice is issued in KPARTS pieces, one before each
 * k8 step of the current slice, so that its copies drain while mma issue. */
constexpr int KPARTS = BK / 8;
static_assert(NR % KPARTS == 0, "gather parts");

#define BIG_NEG (-(1 << 29)) /* input row of positions past M: never inside */

/* ---- PTX wrappers: cp.async, ldmatrix, mma.sync in templates/common; here this kernel's own ---- */

/* max that returns NaN when either operand is NaN (as torch's max pool). */
__device__ __forceinline__ float max_nan(float a, float b)
{
	float r;
	asm("max.NaN.f32 %0, %1, %2;\n" : "=f"(r) : "f"(a), "f"(b));
	return r;
}

/* Float max on the bit pattern; 0xffffffff is the identity (see the top). */
__device__ __forceinline__ void atomic_fmax(float *p, float v)
{
	int i = __float_as_int(v);
	if (i >= 0)
		atomicMax((int *)p, i);
	else
		atomicMin((unsigned *)p, (unsigned)i);
}

__device__ __forceinline__ float act(float v)
{
#if RELU
	return v < 0.0f ? 0.0f : v; /* keeps NaN */
#else
	return v;
#endif
}

/* ---- weights into fragment order ----------------------------------------- */

/* wsp: (nkb, nnb, 32 lanes, FR) floats; nkb = k8 blocks up to K padded to a
 * multiple of BK (zeros past K), nnb = ceil(Cout/8) (zeros past Cout). */
__global__ void conv_prep_weights(const float *__restrict__ w, /* (Cout, K) */
				  float *__restrict__ wsp, int Cout, int K, int nkb, int nnb)
{
	int64_t total = (int64_t)nkb * nnb * 32;
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
	     i += (int64_t)gridDim.x * blockDim.x) {
		int lane = (int)(i & 31);
		int64_t blk = i >> 5;
		int nb = (int)(blk % nnb), kb = (int)(blk / nnb);
		int n = nb * 8 + (lane >> 2);
		int k0 = kb * 8 + (lane & 3), k1 = k0 + 4;
		float w0 = 0.0f, w1 = 0.0f;
		if (n < Cout) {
			if (k0 < K)
				w0 = w[(int64_t)n * K + k0];
			if (k1 < K)
				w1 = w[(int64_t)n * K + k1];
		}
		unsigned b0 = to_tf32(w0), b1 = to_tf32(w1);
#if PRECISION == 3
		unsigned s0 = to_tf32(w0 - __uint_as_float(b0));
		unsigned s1 = to_tf32(w1 - __uint_as_float(b1));
		reinterpret_cast<float4 *>(wsp)[i] = make_float4(__uint_as_float(b0), __uint_as_float(b1),
								 __uint_as_float(s0), __uint_as_float(s1));
#else
		reinterpret_cast<float2 *>(wsp)[i] = make_float2(__uint_as_float(b0), __uint_as_float(b1));
#endif
	}
}

/* ---- the convolution ------------------------------------------------------ */

struct conv_args {
	const float *x;    /* (N, Cin, H, W) */
	const float *wsp;  /* prepared weights, see conv_prep_weights */
	const float *bias; /* (Cout) or NULL */
	float *y;          /* (N, Cout, Ho, Wo) or (N, Cout, Po, Qo) */
	int Cin, H, W, Cout, KH, KW, Ho, Wo, Po, Qo;
	int M, K, nk;      /* positions, taps, BK slices */
	int nnb;           /* n8 blocks of the prepared weights */
	int ntiles;        /* channel tiles */
	int dci, dkh, dkw; /* BK as (ci, kh, kw) digits: BK = (dci*KH + dkh)*KW + dkw */
};

__global__ void __launch_bounds__(NTHREADS, MINB) conv_igemm_kernel(const conv_args a)
{
	extern __shared__ __align__(16) float smem[];
	int4 *minfo = reinterpret_cast<int4 *>(smem + NSTAGE * STAGE_FLOATS);

	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int tile_m = blockIdx.x / a.ntiles, tile_n = blockIdx.x - tile_m * a.ntiles;
	const int m0 = tile_m * TBM, n0 = tile_n * BN;
	const int mcount = min(TBM, a.M - m0);
	const int ncols = min(BN, a.Cout - n0);
	const int nvalid = (ncols + 7) >> 3; /* n8 blocks with a channel below Cout */
	const int HoWo = a.Ho * a.Wo;

	/* Per-position table: x address of tap (0,0,0) and the first input row/column. */
	for (int r = tid; r < TBM; r += NTHREADS) {
		int4 e;
		if (r < mcount) {
			int m = m0 + r;
			int n = m / HoWo, p = m - n * HoWo;
			int oh = p / a.Wo, ow = p - oh * a.Wo;
			int ih0 = oh * CONV_STRIDE - CONV_PAD, iw0 = ow * CONV_STRIDE - CONV_PAD;
			int64_t off = (int64_t)n * a.Cin * a.H * a.W + (int64_t)ih0 * a.W + iw0;
			unsigned long long p64 = (unsigned long long)(uintptr_t)a.x + (unsigned long long)(off * 4);
			e = make_int4((int)(unsigned)p64, (int)(unsigned)(p64 >> 32), ih0, iw0);
		} else {
			unsigned long long p64 = (unsigned long long)(uintptr_t)a.x;
			e = make_int4((int)(unsigned)p64, (int)(unsigned)(p64 >> 32), BIG_NEG, 0);
		}
		minfo[r] = e;
	}
	__syncthreads();

	/* Gather state: this thread's tap column kk and positions row0 + i*ROWSTEP. */
	const int kk = lane % BK;
	const int row0 = RPI == 1 ? warp : (warp >> 2) * 8 + (warp & 3) + 4 * (lane / BK);
	int ci, kh, kw;
	{
		int khw = a.KH * a.KW;
		ci = kk / khw;
		int r = kk - ci * khw;
		kh = r / a.KW;
		kw = r - kh * a.KW;
	}
	const unsigned sbase = smem_u32(smem);
	const float *wtile = a.wsp + (size_t)(n0 / 8) * 32 * FR;
	const int bchunks = nvalid * 8 * FR; /* 16-byte chunks per k8 block row */

	/* The copies of one slice are issued in KPARTS pieces: slice_begin
	 * fixes the slot and this thread's tap offset, gather_part(p) copies
	 * rows p*NR/KPARTS .. (p+1)*NR/KPARTS - 1 of this thread's A column
	 * (part 0 also the B slice), slice_end advances the tap by BK. */
	unsigned g_sa = 0, g_koff = 0;
	int g_khv = 0;
	auto slice_begin = [&](int slot) {
		g_sa = sbase + (unsigned)(slot * STAGE_FLOATS) * 4u;
		g_khv = ci < a.Cin ? kh : BIG_NEG;
		g_koff = ((unsigned)ci * (unsigned)a.H + (unsigned)kh) * (unsigned)a.W + (unsigned)kw;
	};
	auto gather_part = [&](int p, int slice) {
		const unsigned dst0 = g_sa + (unsigned)(row0 * LDK + kk) * 4u;
#pragma unroll
		for (int q = 0; q < NR / KPARTS; q++) {
			const int i = p * (NR / KPARTS) + q;
			int4 e = minfo[row0 + i * ROWSTEP];
			int ih = e.z + g_khv, iw = e.w + kw;
			bool ok = (unsigned)ih < (unsigned)a.H && (unsigned)iw < (unsigned)a.W;
			unsigned long long p64 = ((unsigned long long)(unsigned)e.y << 32) | (unsigned)e.x;
			const float *src = reinterpret_cast<const float *>(p64 + (unsigned long long)g_koff * 4u);
			cp_async4(dst0 + (unsigned)(i * ROWSTEP * LDK) * 4u, src, ok ? 4 : 0);
		}
		if (p == 0) {
			const unsigned sb = g_sa + (unsigned)A_FLOATS * 4u;
#pragma unroll
			for (int kb = 0; kb < BK / 8; kb++) {
				const float *g = wtile + ((size_t)(slice * (BK / 8) + kb) * a.nnb) * 32 * FR;
				const unsigned d = sb + (unsigned)(kb * (BN / 8) * 32 * FR) * 4u;
				for (int c = tid; c < bchunks; c += NTHREADS)
					cp_async16(d + (unsigned)c * 16u, g + c * 4);
			}
		}
	};
	auto slice_end = [&]() {
		kw += a.dkw;
		if (kw >= a.KW) {
			kw -= a.KW;
			kh++;
		}
		kh += a.dkh;
		if (kh >= a.KH) {
			kh -= a.KH;
			ci++;
		}
		ci += a.dci;
	};

	const int wm = warp % WARPS_M, wn = warp / WARPS_M;
	float acc[MT][NT][4];
#pragma unroll
	for (int i = 0; i < MT; i++)
#pragma unroll
		for (int j = 0; j < NT; j++)
#pragma unroll
			for (int c = 0; c < 4; c++)
				acc[i][j][c] = 0.0f;

	/* ldmatrix row address of this lane (see the top), in floats within a slot */
	const int a_lane = (wm * WTM + (lane & 7) + ((lane >> 3) & 1) * 8) * LDK + (lane >> 4) * 4;

#pragma unroll 1
	for (int s = 0; s < NSTAGE - 1; s++) {
		if (s < a.nk) {
			slice_begin(s);
#pragma unroll
			for (int p = 0; p < KPARTS; p++)
				gather_part(p, s);
			slice_end();
		}
		cp_async_commit();
	}

#pragma unroll 1
	for (int kt = 0; kt < a.nk; kt++) {
		cp_async_wait<NSTAGE - 2>();
		__syncthreads(); /* slice kt visible to all; slot (kt-1) % NSTAGE free */
		const int ls = kt + NSTAGE - 1; /* the slice loaded during this one */
		const bool loading = ls < a.nk;
		if (loading)
			slice_begin(ls % NSTAGE);
		const int slot = kt % NSTAGE;
		const unsigned sa = sbase + (unsigned)(slot * STAGE_FLOATS) * 4u;
		const float *sB = smem + slot * STAGE_FLOATS + A_FLOATS;
#pragma unroll
		for (int ks = 0; ks < BK / 8; ks++) {
			if (loading)
				gather_part(ks, ls);
			unsigned abig[MT][4];
#if PRECISION == 3
			unsigned asmall[MT][4];
#endif
#pragma unroll
			for (int i = 0; i < MT; i++) {
				unsigned r[4];
				ldsm_x4(r, sa + (unsigned)(a_lane + i * 16 * LDK + ks * 8) * 4u);
#pragma unroll
				for (int c = 0; c < 4; c++) {
#if PRECISION == 3
					unsigned big = r[c] & 0xffffe000u;
					float rest = __uint_as_float(r[c]) - __uint_as_float(big);
					abig[i][c] = big;
					asmall[i][c] = __float_as_uint(rest) & 0xffffe000u;
#else
					abig[i][c] = to_tf32(__uint_as_float(r[c]));
#endif
				}
			}
#pragma unroll
			for (int jc = 0; jc < NT; jc += NCH) {
				if (wn + WARPS_N * jc >= nvalid)
					continue; /* warp-uniform: these n8 tiles are past Cout */
#pragma unroll
				for (int jj = 0; jj < NCH; jj++) {
					const int j = jc + jj;
					const float *bp = sB + ((ks * (BN / 8) + wn + WARPS_N * j) * 32 + lane) * FR;
#if PRECISION == 3
					float4 b = *reinterpret_cast<const float4 *>(bp);
					unsigned bb0 = __float_as_uint(b.x), bb1 = __float_as_uint(b.y);
					unsigned bs0 = __float_as_uint(b.z), bs1 = __float_as_uint(b.w);
#pragma unroll
					for (int i = 0; i < MT; i++)
						mma_m16n8k8_tf32(acc[i][j], asmall[i], bb0, bb1);
#pragma unroll
					for (int i = 0; i < MT; i++)
						mma_m16n8k8_tf32(acc[i][j], abig[i], bs0, bs1);
#pragma unroll
					for (int i = 0; i < MT; i++)
						mma_m16n8k8_tf32(acc[i][j], abig[i], bb0, bb1);
#else
					float2 b = *reinterpret_cast<const float2 *>(bp);
#pragma unroll
					for (int i = 0; i < MT; i++)
						mma_m16n8k8_tf32(acc[i][j], abig[i], __float_as_uint(b.x), __float_as_uint(b.y));
#endif
				}
			}
		}
		if (loading)
			slice_end();
		cp_async_commit();
	}
	cp_async_wait<0>();
	__syncthreads(); /* the ring is free for the epilogue */

	/* ---- epilogue ---- */
	float *sC = smem;
	const int g = lane >> 2, t = lane & 3;
#if POOL == 0
	/* Positions this thread stores: rows er0 + u*ERT, channels ec0 + v*ECT. */
	constexpr int ERT = TBM < NTHREADS ? TBM : NTHREADS;
	constexpr int ECT = NTHREADS / ERT;
	constexpr int EU = TBM / ERT;
	const int er0 = tid % ERT, ec0 = tid / ERT;
	int64_t ybase[EU];
#pragma unroll
	for (int u = 0; u < EU; u++) {
		int r = er0 + u * ERT;
		ybase[u] = -1;
		if (r < mcount) {
			int m = m0 + r;
			int n = m / HoWo, p = m - n * HoWo;
			ybase[u] = ((int64_t)n * a.Cout + n0) * HoWo + p;
		}
	}
#else
	/* Pooled rows R = n*Po + po whose windows meet positions [m0, m0 + mcount). */
	int R_lo, R_hi;
	{
		int n = m0 / HoWo, oh = (m0 - n * HoWo) / a.Wo;
		int po = oh - POOL + 1 <= 0 ? 0 : (oh - POOL + POOL_STRIDE) / POOL_STRIDE;
		R_lo = n * a.Po + min(po, a.Po);
		int ml = m0 + mcount - 1;
		n = ml / HoWo;
		oh = (ml - n * HoWo) / a.Wo;
		R_hi = n * a.Po + min(a.Po - 1, oh / POOL_STRIDE);
	}
	const int npairs = R_hi >= R_lo ? (R_hi - R_lo + 1) * a.Qo : 0;
	const int PoQo = a.Po * a.Qo;
#endif

#pragma unroll 1
	for (int c0 = 0; c0 < ncols; c0 += CW) {
		if (c0 > 0)
			__syncthreads(); /* the previous chunk has been read */
#pragma unroll
		for (int j = 0; j < NT; j++) {
			const int col = (wn + WARPS_N * j) * 8; /* first column of this n8 tile */
			if (col >= ncols || col < c0 || col >= c0 + CW)
				continue;
			const int cl = col - c0 + 2 * t;
			const int co = n0 + col + 2 * t;
			float b0 = 0.0f, b1 = 0.0f;
			if (a.bias) {
				if (co < a.Cout)
					b0 = __ldg(a.bias + co);
				if (co + 1 < a.Cout)
					b1 = __ldg(a.bias + co + 1);
			}
#pragma unroll
			for (int i = 0; i < MT; i++) {
				const int r = wm * WTM + i * 16 + g;
				sC[cl * LDC + r] = act(acc[i][j][0] + b0);
				sC[(cl + 1) * LDC + r] = act(acc[i][j][1] + b1);
				sC[cl * LDC + r + 8] = act(acc[i][j][2] + b0);
				sC[(cl + 1) * LDC + r + 8] = act(acc[i][j][3] + b1);
			}
		}
		__syncthreads();
		const int ncw = min(CW, ncols - c0);
#if POOL == 0
#pragma unroll
		for (int u = 0; u < EU; u++) {
			if (ybase[u] < 0)
				continue;
			float *yp = a.y + ybase[u] + (int64_t)c0 * HoWo;
			const int r = er0 + u * ERT;
			for (int c = ec0; c < ncw; c += ECT)
				__stcs(yp + (int64_t)c * HoWo, sC[c * LDC + r]);
		}
#else
		{
			const int ngroups = (ncw + 7) >> 3;
			const int items = npairs * ngroups;
			for (int it = tid; it < items; it += NTHREADS) {
				const int grp = it / npairs, pair = it - grp * npairs;
				const int rq = pair / a.Qo, qo = pair - rq * a.Qo;
				const int R = R_lo + rq;
				const int n = R / a.Po, po = R - n * a.Po;
				/* tile offset of the window's first conv output */
				const int w0 = n * HoWo + po * POOL_STRIDE * a.Wo + qo * POOL_STRIDE - m0;
				const int wl = w0 + (POOL - 1) * a.Wo + POOL - 1;
				const int cbeg = grp * 8, cend = min(ncw, cbeg + 8);
				float *yp = a.y + ((int64_t)n * a.Cout + n0 + c0) * PoQo + (int64_t)po * a.Qo + qo;
				if (w0 >= 0 && wl < mcount) {
					/* whole window in the tile */
					for (int c = cbeg; c < cend; c++) {
						const float *s = sC + c * LDC + w0;
						float v = s[0];
#pragma unroll
						for (int pr = 0; pr < POOL; pr++)
#pragma unroll
							for (int pc = 0; pc < POOL; pc++)
								v = max_nan(v, s[pr * a.Wo + pc]);
						atomic_fmax(yp + (int64_t)c * PoQo, v);
					}
				} else {
					bool any = false;
#pragma unroll
					for (int pr = 0; pr < POOL; pr++)
#pragma unroll
						for (int pc = 0; pc < POOL; pc++)
							any |= (unsigned)(w0 + pr * a.Wo + pc) < (unsigned)mcount;
					if (!any)
						continue;
					for (int c = cbeg; c < cend; c++) {
						const float *s = sC + c * LDC;
						float v = -INFINITY;
#pragma unroll
						for (int pr = 0; pr < POOL; pr++)
#pragma unroll
							for (int pc = 0; pc < POOL; pc++) {
								int o = w0 + pr * a.Wo + pc;
								if ((unsigned)o < (unsigned)mcount)
									v = max_nan(v, s[o]);
							}
						atomic_fmax(yp + (int64_t)c * PoQo, v);
					}
				}
			}
		}
#endif
	}
}

/* ---- host ----------------------------------------------------------------- */

#define WSP_STATIC_FLOATS (1 << 20) /* 4 MB: Cout = 96, K = 363 needs 94 KB */
__device__ __align__(16) float g_wsp[WSP_STATIC_FLOATS];

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || (n_in != 2 && n_in != 3) || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *w = &in[1], *b = n_in == 3 ? &in[2] : NULL;
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || w->dtype != KB_F32 || y->dtype != KB_F32 ||
	    (b && b->dtype != KB_F32))
		return KB_ERR_SHAPE;
	if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || (b && b->ndim != 1))
		return KB_ERR_SHAPE;
	const int64_t lim = (int64_t)INT32_MAX - 65536;
	int64_t N = x->shape[0], Cin = x->shape[1], H = x->shape[2], W = x->shape[3];
	int64_t Cout = w->shape[0], KH = w->shape[2], KW = w->shape[3];
	if (N < 0 || Cin < 1 || H < 1 || W < 1 || Cout < 1 || KH < 1 || KW < 1)
		return KB_ERR_SHAPE;
	if (w->shape[1] != Cin || (b && b->shape[0] != Cout))
		return KB_ERR_SHAPE;
	if (H + 2 * CONV_PAD < KH || W + 2 * CONV_PAD < KW)
		return KB_ERR_SHAPE;
	int64_t Ho = (H + 2 * CONV_PAD - KH) / CONV_STRIDE + 1;
	int64_t Wo = (W + 2 * CONV_PAD - KW) / CONV_STRIDE + 1;
	int64_t Po = 0, Qo = 0;
#if POOL > 0
	if (Ho < POOL || Wo < POOL)
		return KB_ERR_SHAPE;
	Po = (Ho - POOL) / POOL_STRIDE + 1;
	Qo = (Wo - POOL) / POOL_STRIDE + 1;
	if (y->shape[0] != N || y->shape[1] != Cout || y->shape[2] != Po || y->shape[3] != Qo)
		return KB_ERR_SHAPE;
#else
	if (y->shape[0] != N || y->shape[1] != Cout || y->shape[2] != Ho || y->shape[3] != Wo)
		return KB_ERR_SHAPE;
#endif
	int64_t M = N * Ho * Wo, K = Cin * KH * KW;
	if (M > lim || Cin * H * W > lim || K > lim || Cout > lim || H > lim || W > lim)
		return KB_ERR_SHAPE;
	if (M == 0)
		return KB_OK; /* N == 0: y is empty */

	cudaStream_t st = (cudaStream_t)stream;
	static bool attr_set = false;
	if (!attr_set) {
		if (cudaFuncSetAttribute(conv_igemm_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 SMEM_BYTES) != cudaSuccess)
			return KB_ERR_LAUNCH;
		attr_set = true;
	}

	/* Weights in fragment order. */
	int nk = (int)((K + BK - 1) / BK);
	int nkb = nk * (BK / 8); /* k8 blocks up to the padded K the slices read */
	int nnb = (int)((Cout + 7) / 8);
	size_t wsp_floats = (size_t)nkb * nnb * 32 * FR;
	float *wsp = NULL;
	bool own = false;
	if (wsp_floats <= WSP_STATIC_FLOATS) {
		static float *static_wsp = NULL;
		if (!static_wsp && cudaGetSymbolAddress((void **)&static_wsp, g_wsp) != cudaSuccess) {
			static_wsp = NULL;
			return KB_ERR_LAUNCH;
		}
		wsp = static_wsp;
	} else {
		if (cudaMallocAsync((void **)&wsp, wsp_floats * sizeof(float), st) != cudaSuccess)
			return KB_ERR_LAUNCH;
		own = true;
	}
	int rc = KB_OK;
	{
		int64_t th = (int64_t)nkb * nnb * 32;
		int64_t blocks = (th + 255) / 256;
		conv_prep_weights<<<(unsigned)(blocks < 65536 ? blocks : 65536), 256, 0, st>>>(
			(const float *)w->data, wsp, (int)Cout, (int)K, nkb, nnb);
		if (cudaGetLastError() != cudaSuccess) {
			rc = KB_ERR_LAUNCH;
			goto out;
		}
	}
#if POOL > 0
	if (cudaMemsetAsync(y->data, 0xff, (size_t)kb_numel(y) * sizeof(float), st) != cudaSuccess) {
		rc = KB_ERR_LAUNCH;
		goto out;
	}
#endif
	{
		conv_args a;
		a.x = (const float *)x->data;
		a.wsp = wsp;
		a.bias = b ? (const float *)b->data : NULL;
		a.y = (float *)y->data;
		a.Cin = (int)Cin;
		a.H = (int)H;
		a.W = (int)W;
		a.Cout = (int)Cout;
		a.KH = (int)KH;
		a.KW = (int)KW;
		a.Ho = (int)Ho;
		a.Wo = (int)Wo;
		a.Po = (int)Po;
		a.Qo = (int)Qo;
		a.M = (int)M;
		a.K = (int)K;
		a.nk = nk;
		a.nnb = nnb;
		a.ntiles = (int)((Cout + BN - 1) / BN);
		int khw = (int)(KH * KW);
		a.dci = BK / khw;
		a.dkh = (BK % khw) / (int)KW;
		a.dkw = (BK % khw) % (int)KW;
		int64_t grid = ((M + TBM - 1) / TBM) * a.ntiles;
		if (grid > INT32_MAX) {
			rc = KB_ERR_SHAPE;
			goto out;
		}
		conv_igemm_kernel<<<(unsigned)grid, NTHREADS, SMEM_BYTES, st>>>(a);
		if (cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
out:
	if (own && cudaFreeAsync(wsp, st) != cudaSuccess && rc == KB_OK)
		rc = KB_ERR_LAUNCH;
	return rc;
}
