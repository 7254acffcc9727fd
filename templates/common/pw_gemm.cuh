// pw_gemm.cuh - the GEMM of a pointwise (1x1) convolution, written once for
// the templates that run one (conv_pointwise; conv_dwsep with SPLIT=1):
//   y[n][co][p] = bias[co] + sum_ci w[co][ci] * x[n][ci][p]
// over N images of P positions, x and w fp32, y and bias of type TY (fp32,
// or fp16 and bf16 rounded from the fp32 accumulators), on mma.sync: m16n8k8
// TF32 (3xTF32 at PREC = 3, one TF32 product at PREC = 1) or m16n8k16 bf16
// (3xBF16 at PREC = 2, the same three products on halves that the tensor
// cores multiply at twice TF32's rate). conv_pointwise.cu's
// header comment tells the strategy: a persistent grid, each block a
// sequence of (tile, K slice) items through a cp.async ring that runs across
// tile boundaries, the weight's rows and x's rows copied 16 bytes at a time
// where V16 (P and Cin multiples of 4, 16-byte aligned pointers), y written
// from the accumulators.
//   pwg<BM, BN, BK, WARPS, STAGES, PREC, WRES>
//                                 the tile's constants (a type); WRES = 1
//                                 (PREC = 2 only): the weight tile resident
//                                 in shared memory as bf16 hi and lo halves
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
#include "ampere.cuh" // kbreed:inline
#include "dtype.cuh" // kbreed:inline
#include "host.cuh" // kbreed:inline

template <int kBM, int kBN, int kBK, int kWarps, int kStages, int kPrec, int kWres = 0> struct pwg {
	static constexpr int bm = kBM, bn = kBN, bk = kBK, stages = kStages, prec = kPrec;
	static constexpr bool wres = kWres && kPrec == 2;             /* the weights resident (3xBF16 only) */
	static constexpr int nt = kWarps * 32;
	static constexpr int warps_m = 2, warps_n = kWarps / 2;
	static constexpr int wm = bm / warps_m, wn = bn / warps_n;   /* channels, positions a warp */
	static constexpr int mt = wm / 16, ntl = wn / 8;
	static constexpr int lda = bk + 4, ldb = bn + 8;              /* sA, sB rows, floats */
	static constexpr int stage_floats = (wres ? 0 : bm * lda) + bk * ldb;
	static constexpr int smem_bytes = stages * stage_floats * 4;  /* the ring (WRES: the weights after it) */
	/* WRES: the weights' row in shared memory, bf16 halves, for a K padded
	 * to kpad (whole slices): 16 bytes of pad make the stride an odd
	 * multiple of 16 bytes, so an ldmatrix phase's 8 rows hit distinct banks */
	static __host__ __device__ constexpr int ldw(int kpad) { return kpad + 8; }
	static __host__ __device__ constexpr int wres_bytes(int kpad) { return 2 * bm * ldw(kpad) * 2; }
	static_assert(kWarps == 4 || kWarps == 8, "4 or 8 warps");
	static_assert(kPrec >= 1 && kPrec <= 3, "PREC is 1, 2 or 3");
	static_assert(bk % (kPrec == 2 ? 16 : 8) == 0 && stages >= 2, "whole k steps, a ring of two stages at least");
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
	float *sA = stage, *sB = stage + (C::wres ? 0 : C::bm * C::lda);
	if (V16) {
		/* Cin and P are multiples of 4: a piece lies wholly inside or outside */
		for (int i = tid; i < (C::wres ? 0 : C::bm * (C::bk / 4)); i += C::nt) {
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
		for (int i = tid; i < (C::wres ? 0 : C::bm * C::bk); i += C::nt) {
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

/* One stage's products at PREC = 3 (3xTF32: small*big + big*small +
 * big*big per 8-deep step) or 1 (big*big, one TF32 product) on mma.sync
 * m16n8k8. A: one ldmatrix.x4 per m16 tile, lane a_lane's rows (rows 0-15,
 * k 0-3 or 4-7: registers a0..a3 of the TF32 A layout); B: rows t and t + 4
 * of the step, column g (b_lane), two scalar loads per n8 tile. */
template <class C>
__device__ __forceinline__ void pwg_slice_tf32(float (&acc)[C::mt][C::ntl][4], uint32_t sa, const float *sB, int a_lane,
					       int b_lane)
{
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
}

/* One 16-deep step of the 3xBF16 products, A's fragments given (ahi, alo:
 * one m16n8k16 fragment per m16 tile): x's two k8 fragments per n8 tile,
 * rows t, t + 4, t + 8, t + 12 of the step (b_lane: row t, column g),
 * split into hi and lo, then lo*hi, hi*lo and hi*hi into the accumulators. */
template <class C>
__device__ __forceinline__ void pwg_step_bf16(float (&acc)[C::mt][C::ntl][4], const uint32_t (&ahi)[C::mt][4],
					      const uint32_t (&alo)[C::mt][4], const float *sB, int b_lane, int ks)
{
#pragma unroll
	for (int j = 0; j < C::ntl; j++) {
		const float *bp = sB + b_lane + ks * 16 * C::ldb + j * 8;
		uint32_t b0, b1, s0, s1;
		bf16x2_split(bp[0], bp[4 * C::ldb], b0, s0);
		bf16x2_split(bp[8 * C::ldb], bp[12 * C::ldb], b1, s1);
#pragma unroll
		for (int i = 0; i < C::mt; i++) {
			mma_m16n8k16_bf16(acc[i][j], alo[i], b0, b1);
			mma_m16n8k16_bf16(acc[i][j], ahi[i], s0, s1);
			mma_m16n8k16_bf16(acc[i][j], ahi[i], b0, b1);
		}
	}
}

/* One stage's products at PREC = 2 (3xBF16 on mma.sync m16n8k16): per
 * 16-deep step, lo*hi + hi*lo + hi*hi into the accumulators, each fp32 value
 * split into hi = bf16(x) and lo = bf16(x - hi) as its fragment is read (the
 * dropped lo*lo term is about 2^-16 of a product). The k16 fragment is built
 * from the two k8 fragments the TF32 path reads, k taken in a permuted order
 * that A and B share (a reduction's order is free): the bf16 pair a thread
 * holds at logical k (2t, 2t + 1) is physical k (t, t + 4) of the step's
 * first eight, and (2t + 8, 2t + 9) is (8 + t, 12 + t). So A comes from two
 * ldmatrix.x4 as before (registers 0 and 2 of one are row g's k t and t + 4;
 * 1 and 3 row g + 8's) and B from four scalar loads, rows t, t + 4, t + 8,
 * t + 12 of the slice. */
template <class C>
__device__ __forceinline__ void pwg_slice_bf16(float (&acc)[C::mt][C::ntl][4], uint32_t sa, const float *sB, int a_lane,
					       int b_lane)
{
#pragma unroll
	for (int ks = 0; ks < C::bk / 16; ks++) {
		uint32_t ahi[C::mt][4], alo[C::mt][4];
#pragma unroll
		for (int i = 0; i < C::mt; i++) {
#pragma unroll
			for (int h = 0; h < 2; h++) { /* k 0-7 of the step, then 8-15 */
				uint32_t r[4];
				ldsm_x4(r, sa + (uint32_t)(a_lane + i * 16 * C::lda + ks * 16 + h * 8) * 4u);
				bf16x2_split(__uint_as_float(r[0]), __uint_as_float(r[2]), ahi[i][2 * h], alo[i][2 * h]);
				bf16x2_split(__uint_as_float(r[1]), __uint_as_float(r[3]), ahi[i][2 * h + 1],
					     alo[i][2 * h + 1]);
			}
		}
		pwg_step_bf16<C>(acc, ahi, alo, sB, b_lane, ks);
	}
}

/* WRES: the weight rows co0.. of the block's channel tile into shared
 * memory once, as bf16 hi = bf16(w) and lo = bf16(w - hi) (the split
 * pwg_slice_bf16 makes per slice), K zero-padded to kpad, each 16 k of a
 * row stored in the order pwg_slice_bf16 pairs them (position q holds
 * physical k (q & 8) + (q & 7) / 2 + 4 * (q & 1)): one ldmatrix.x4 of a
 * 16 x 16 piece is then a whole m16n8k16 A fragment, in the k order that
 * x's fragments are read in. */
template <class C>
__device__ __forceinline__ void pwg_fill_weights(uint32_t *whi, uint32_t *wlo, const float *__restrict__ w, int co0,
						 int Ci, int Co, int kpad)
{
	const int half = kpad / 2, ldw2 = C::ldw(kpad) / 2; /* bf16 pairs a row, a row's stride */
	for (int i = threadIdx.x; i < C::bm * half; i += C::nt) {
		const int r = i / half, q = 2 * (i % half); /* positions q, q + 1: physical k, k + 4 */
		const int k = (q & ~7) + ((q & 7) >> 1), co = co0 + r;
		const float *wr = w + (int64_t)co * Ci;
		const float v0 = co < Co && k < Ci ? wr[k] : 0.0f, v1 = co < Co && k + 4 < Ci ? wr[k + 4] : 0.0f;
		bf16x2_split(v0, v1, whi[r * ldw2 + q / 2], wlo[r * ldw2 + q / 2]);
	}
}

/* One stage's products at PREC = 2 with the weights resident (WRES): as
 * pwg_slice_bf16, A's hi and lo fragments one ldmatrix.x4 each from the
 * split rows (wh, wl: this lane's row and k half at the slice's first k),
 * no split in registers. */
template <class C>
__device__ __forceinline__ void pwg_slice_bf16_res(float (&acc)[C::mt][C::ntl][4], uint32_t wh, uint32_t wl, int ldw,
						   const float *sB, int b_lane)
{
#pragma unroll
	for (int ks = 0; ks < C::bk / 16; ks++) {
		uint32_t ahi[C::mt][4], alo[C::mt][4];
#pragma unroll
		for (int i = 0; i < C::mt; i++) {
			const uint32_t off = (uint32_t)(i * 16 * ldw + ks * 16) * 2u;
			ldsm_x4(ahi[i], wh + off);
			ldsm_x4(alo[i], wl + off);
		}
		pwg_step_bf16<C>(acc, ahi, alo, sB, b_lane, ks);
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
	/* WRES: the split weights after the ring, hi rows then lo rows; this
	 * lane's ldmatrix row (rows 0-7, 8-15 of an m16 tile, then the same at
	 * k 8-15) */
	const int kpad = nk * C::bk, ldw = C::ldw(kpad);
	uint32_t *const whi = reinterpret_cast<uint32_t *>(pwg_smem + C::stages * C::stage_floats); /* bf16 pairs */
	uint32_t *const wlo = whi + C::bm * ldw / 2;
	const int w_lane = ((wm * C::wm + (lane & 7) + (lane & 8)) * ldw + (lane >> 4) * 8) / 2;
	int w_co0 = -1; /* the channel tile whose weights are resident */
	for (int64_t it = 0; it < items; it++) {
		cp_async_wait<C::stages - 2>(); /* item it landed (this thread's copies) */
		__syncthreads();             /* ... everyone's; and item it-1's stage is free */
		if constexpr (C::wres) {
			/* a new channel tile (the first, or one more where Cout > BM):
			 * its weights, after the barrier above ended every use of the
			 * last ones */
			const int co0 = pwg_tile_of<C>(blockIdx.x + it / nk * gridDim.x, tilesP, N).co0;
			if (co0 != w_co0) {
				pwg_fill_weights<C>(whi, wlo, w, co0, Ci, Co, kpad);
				w_co0 = co0;
				__syncthreads();
			}
		}
		if (it + C::stages - 1 < items)
			load_item(it + C::stages - 1);
		cp_async_commit(); /* possibly empty: the group count stays uniform */
		const float *sA = pwg_smem + (int)(it % C::stages) * C::stage_floats;
		const float *sB = sA + (C::wres ? 0 : C::bm * C::lda);
		const uint32_t sa = smem_u32(sA);
		if constexpr (C::wres) {
			const uint32_t k0 = (uint32_t)((int)(it % nk) * C::bk) * 2u;
			pwg_slice_bf16_res<C>(acc, smem_u32(whi + w_lane) + k0, smem_u32(wlo + w_lane) + k0, ldw, sB, b_lane);
		} else if constexpr (C::prec == 2) {
			pwg_slice_bf16<C>(acc, sa, sB, a_lane, b_lane);
		} else {
			pwg_slice_tf32<C>(acc, sa, sB, a_lane, b_lane);
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
	/* The ring, and with WRES the split weights of a channel tile (K
	 * padded to whole slices) after it: BM x Cin that does not fit an SM
	 * beside the ring (Cin above about 330 at BM = 128, BN = 128, three
	 * stages) is KB_ERR_SHAPE. */
	const int64_t kpad = ((int64_t)Ci + C::bk - 1) / C::bk * C::bk;
	const int64_t smem = C::smem_bytes + (C::wres ? (int64_t)C::wres_bytes((int)(kpad < 65536 ? kpad : 65536)) : 0);
	if (smem > 227 * 1024)
		return KB_ERR_SHAPE;
	/* kept across calls: the shared memory allowed, the blocks an SM holds
	 * (for the size they were found for) */
	static int per_sm = 0;
	static int64_t per_sm_smem = -1;
	if (per_sm_smem != smem) {
		if (cudaFuncSetAttribute((const void *)pwg_kernel<C, V16, TY>, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 (int)smem) != cudaSuccess ||
		    cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, pwg_kernel<C, V16, TY>, C::nt, (size_t)smem) !=
			    cudaSuccess)
			return KB_ERR_LAUNCH;
		per_sm_smem = smem;
	}
	if (per_sm < 1)
		return KB_ERR_SHAPE; /* the ring does not fit an SM */
	const int sms = kb_sm_count();
	if (sms < 1)
		return KB_ERR_LAUNCH;
	const int64_t tilesP = ((int64_t)P + C::bn - 1) / C::bn, chans = ((int64_t)Co + C::bm - 1) / C::bm;
	if (tilesP > 2147483647LL)
		return KB_ERR_SHAPE;
	const int64_t tiles = N * tilesP * chans;
	const int64_t grid = tiles < (int64_t)per_sm * sms ? tiles : (int64_t)per_sm * sms;
	pwg_kernel<C, V16, TY><<<(unsigned)grid, C::nt, (size_t)smem, st>>>(x, w, bias, y, N, Ci, Co, P, (int)tilesP, tiles);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

#endif
