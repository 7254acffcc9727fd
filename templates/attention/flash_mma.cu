// kbreed-template: flash_mma
// family: attention
// problems: attention_fp16 attention_bf16
// knob BLOCK_M: 64 128 256 | default 256 | category memory access | query rows per block (one (b, h) each), 16 per m16 fragment; each warp holds BLOCK_M / (16 * warps) fragments, at most 2 (1 for D = 256), the block shrinking to fit
// knob BLOCK_N: 32 64 128 | default 64 | category memory access | keys per step of the key loop (K and V tiles of BLOCK_N rows); at most 64 for D = 256, and for D > 64 with two fragments per warp
// knob WARPS: 2 4 8 | default 8 | category parallelism | warps per block, lowered to BLOCK_M / 16 where the block has fewer 16-row fragments
// knob STAGES: 1 2 3 4 | default 2 | category asynchronous | slots of the K/V shared-memory ring: 1 = V loads during S and the softmax, the next K during P V; 2 = the next step's K and V load during this step; 3 and 4 = two and three steps ahead (lowered to what fits in 227 KB)
// knob Q_IN_REGS: 0 1 | default 0 | category memory access | 1 = the warp's Q fragments are read from shared memory once and stay in registers; 0 = re-read with ldmatrix at every key step (fewer registers); only with one fragment per warp or D <= 64
/*
 * flash_mma.cu - F.scaled_dot_product_attention(q, k, v), causal or not, no
 * mask, no dropout, scale 1/sqrt(D) or the problem's, fp16 or bf16 in and
 * out (attn_t), fp32 accumulation:
 *   out[bh, i, :] = sum_j softmax_j(q[bh, i, :] . k[bh, j, :] * scale) v[bh, j, :]
 * j over the keys, or where causal over j <= i. The problem's defines
 * (ATTN_CAUSAL, ATTN_SCALE, ATTN_BF16, ATTN_HEAD_DIM) and their helpers:
 * templates/common/attention.cuh.
 *
 * Layout (contiguous, row-major, attn_t: fp16, or bf16 where ATTN_BF16):
 *   in[0]  q    (..., Sq, D)   e.g. (16, 16, 4096, 128)
 *   in[1]  k    (..., Sk, D)   e.g. (16, 16, 4096, 128)
 *   in[2]  v    (..., Sk, D)   e.g. (16, 16, 4096, 128)
 *   out[0] out  (..., Sq, D)   e.g. (16, 16, 4096, 128)
 * The leading dims (batch, heads: any number of them, rank >= 2) are equal
 * in all four and fold into BH. D is any multiple of 8 up to 256 (others:
 * KB_ERR_SHAPE): the kernel is instantiated for D = 32, 64, 96, 128 and 256
 * and runs as the smallest that holds it, the columns past the tensors'
 * head dim (dg) zero-filled in shared memory, where they add nothing to the
 * scores, and not stored. v has the head dim of q and k. Sq >= 0 and Sk >= 1
 * are any sizes.
 *
 * Strategy (FlashAttention-2 on tensor cores, mma.sync): each block of a
 * 1-D grid of nqb * BH blocks owns query rows [qb * BM, qb * BM + BM) of a
 * head bh (attn_block: the blocks of one head side by side, sharing its K
 * and V in L2; where causal, the longest query blocks first). Warp w owns MF
 * fragments of 16 query rows, rows (w * MF + f) * 16 .. + 15 of the block.
 * The block walks the keys in steps of BN, up to Sk (where causal, up to its
 * last row: attn_keys):
 *   - the K and V tiles (BN x D each) arrive in shared memory by 16-byte
 *     cp.async (rows past Sk zero-filled) in a ring of ST slots, ST - 1
 *     steps ahead, one barrier a step (ST = 1: K and V as separate groups,
 *     three barriers a step, V landing while S and the softmax are computed
 *     and the next K while P V is);
 *   - S = Q K^T by mma.sync.m16n8k16 (attn_t in, fp32 accumulate): Q as the A
 *     operand (row), K as the B operand through non-transposed ldmatrix (a
 *     row-major (keys, D) tile is exactly the "col" layout of K^T); each K
 *     fragment serves the warp's MF query fragments;
 *   - online softmax in registers, base 2: scores times log2(e) x scale
 *     folded into one FMA before ex2; keys >= Sk (and where causal, keys
 *     past the row) are -inf; the running row
 *     max m and partial row sum l live in the four lanes of a quad (max
 *     reduced by two shuffles at each step, l only at the end); O is
 *     rescaled by exp2(m_old - m_new);
 *   - P is rounded to attn_t in registers: the accumulator of two adjacent
 *     n8 tiles of S is, element for element, the A fragment of a k16 step of
 *     P V, so P never touches shared memory; V is the B operand through
 *     ldmatrix.trans.
 * At the end O / l is rounded to attn_t and written in pairs (32-bit stores), rows
 * >= Sq skipped. The scores never touch global memory.
 *
 * Shared memory (dynamic): Q tile (BM x DS), then ST K tiles, then ST V
 * tiles (BN x DS each), attn_t, DS = D (128 for D = 96, whose rows are padded),
 * from a 128-byte boundary (the kernel rounds the base up; 128 bytes more
 * are asked for). Each row is a run of 16-byte chunks, chunk c of row r
 * stored at c ^ (r & 7) (at c ^ ((r >> 1) & 3) for the 64-byte rows of
 * D = 32), so the eight rows an ldmatrix phase reads fall in eight
 * different bank groups, as do the eight chunks of a cp.async phase.
 *
 * Derived at compile time per D, so every knob setting builds and runs:
 *   NW = min(WARPS, BLOCK_M / 16) warps, NT = 32 * NW threads;
 *   MF = min(BLOCK_M / (16 * NW), 2; 1 for D = 256) fragments a warp,
 *   BM = 16 * MF * NW query rows a block;
 *   BN = BLOCK_N, at most 64 where O and S would not fit in registers;
 *   Q in registers only where Q_IN_REGS and MF * D <= 128, MF * BN <= 128;
 *   ST = STAGES, lowered until Q and the ring fit in 227 KB.
 * Registers (ptxas, sm_90a, D = 128): the default 235, no spills; MF = 2
 * with BN = 64 uses all 255 and spills a few words; MF = 1: 148 (BN 32) to
 * 235 (BN 128, Q in registers). No scratch memory.
 */
#ifndef BLOCK_M
#define BLOCK_M 128
#endif
#ifndef BLOCK_N
#define BLOCK_N 32
#endif
#ifndef WARPS
#define WARPS 4
#endif
#ifndef STAGES
#define STAGES 2
#endif
#ifndef Q_IN_REGS
#define Q_IN_REGS 0
#endif

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/ampere.cuh" // kbreed:inline
#include "../common/attention.cuh" // kbreed:inline

static_assert(BLOCK_M == 64 || BLOCK_M == 128 || BLOCK_M == 256, "BLOCK_M is 64, 128 or 256");
static_assert(BLOCK_N == 32 || BLOCK_N == 64 || BLOCK_N == 128, "BLOCK_N is 32, 64 or 128");
static_assert(WARPS == 2 || WARPS == 4 || WARPS == 8, "WARPS is 2, 4 or 8");
static_assert(STAGES >= 1 && STAGES <= 4, "STAGES is 1 to 4");
static_assert(Q_IN_REGS == 0 || Q_IN_REGS == 1, "Q_IN_REGS is 0 or 1");

KBREED_CANDIDATE_ABI

#define SMEM_CAP (227 * 1024) /* opt-in shared memory per block on an H100 */

/* Ring slots (at most `want`) that fit beside the Q tile. */
constexpr int fit_stages(int want, int q_bytes, int kv_bytes)
{
	return want <= 1 || q_bytes + 2 * want * kv_bytes <= SMEM_CAP
		       ? want
		       : fit_stages(want - 1, q_bytes, kv_bytes);
}

/* Everything the kernel for head dim D derives from the knobs. */
template <int D> struct fa_cfg {
	static constexpr int DS = D == 96 ? 128 : D;                  /* smem row, halves */
	static constexpr int NW = WARPS < BLOCK_M / 16 ? WARPS : BLOCK_M / 16;
	static constexpr int MF_MAX = D > 128 ? 1 : 2;                 /* O must fit in registers */
	static constexpr int MF = BLOCK_M / (16 * NW) < MF_MAX ? BLOCK_M / (16 * NW) : MF_MAX;
	static constexpr int BM = 16 * MF * NW;
	static constexpr int BN = (BLOCK_N > 64 && (D > 128 || (MF > 1 && D > 64))) ? 64 : BLOCK_N;
	static constexpr int QREG = Q_IN_REGS && MF * D <= 128 && MF * BN <= 128;
	static constexpr int NT = 32 * NW;
	static constexpr int Q_BYTES = BM * DS * 2;
	static constexpr int KV_BYTES = BN * DS * 2;                  /* one K or V tile */
	static constexpr int ST = fit_stages(STAGES, Q_BYTES + 128, KV_BYTES);
	/* bytes asked for: the tiles, and room to start them on a 128-byte boundary */
	static constexpr int SMEM = Q_BYTES + 2 * ST * KV_BYTES + 128;
	static_assert(D % 16 == 0 && BN % 16 == 0 && MF >= 1, "tile shape");
	static_assert(SMEM <= SMEM_CAP, "tiles do not fit in shared memory");
};

/* d += a * b, one m16n8k16 fragment in the inputs' type, fp32 accumulate. */
__device__ __forceinline__ void mma_attn(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
#if ATTN_BF16
	mma_m16n8k16_bf16(d, a, b0, b1);
#else
	mma_m16n8k16_f16(d, a, b0, b1);
#endif
}

/* Byte offset of 16-byte chunk c of row r in a swizzled tile of DS halves a row. */
template <int DS> __device__ __forceinline__ uint32_t swz(int r, int c)
{
	if (DS >= 64)
		return (uint32_t)(r * DS * 2 + ((c ^ (r & 7)) << 4));
	return (uint32_t)(r * DS * 2 + ((c ^ ((r >> 1) & 3)) << 4));
}

/*
 * ldmatrix addresses. `lane` is this lane's address of chunk `half` (0 or 1)
 * of its row, swz(row, half) from a tile base; the address of chunk
 * 2 * kc + half of the same row is then lane ^ X + Y with compile-time X, Y:
 * the swizzle only flips chunk bits below the row size (bits 4..6 of a byte
 * offset, bits 4..5 for 64-byte rows), which the tile bases and row offsets
 * leave clear. So no per-kc address is kept in a register.
 */
template <int DS> __device__ __forceinline__ uint32_t chunk_addr(uint32_t lane, int kc)
{
	constexpr int M = DS >= 64 ? 7 : 3;
	return (lane ^ (uint32_t)(((2 * kc) & M) << 4)) + (uint32_t)(((2 * kc) & ~M) << 4);
}

/*
 * Start the copy of rows [0, R) of a (rows, dg) attn_t matrix at g into the
 * swizzled tile at s, D columns a row: rows >= valid and columns >= dg are
 * zero-filled (g itself stays a valid address: it is a row that exists).
 */
template <int D, int DS, int R, int NT>
__device__ __forceinline__ void load_tile(uint32_t s, const attn_t *g, int valid, int dg, int tid)
{
	constexpr int CH = D / 8; /* 16-byte chunks a row */
#pragma unroll
	for (int i = tid; i < R * CH; i += NT) {
		const int r = i / CH, c = i % CH;
		const bool ok = r < valid && c * 8 < dg;
		cp_async16(s + swz<DS>(r, c), ok ? (const void *)(g + (int64_t)r * dg + c * 8)
						 : (const void *)g, ok ? 16 : 0);
	}
}

template <int D>
__global__ void __launch_bounds__(fa_cfg<D>::NT, 1)
flash_fwd(const attn_t *__restrict__ q,  /* (BH, Sq, dg) */
	  const attn_t *__restrict__ k,  /* (BH, Sk, dg) */
	  const attn_t *__restrict__ v,  /* (BH, Sk, dg) */
	  attn_t *__restrict__ o,        /* (BH, Sq, dg) */
	  int Sq, int Sk, int dg /* the tensors' head dim, <= D */, int nqb,
	  float sl2 /* log2(e) x scale */)
{
	typedef fa_cfg<D> C;
	constexpr int DS = C::DS, MF = C::MF, BM = C::BM, BN = C::BN, NT = C::NT, ST = C::ST;
	constexpr int NKC = D / 16;  /* k16 steps of Q K^T */
	constexpr int NNT = BN / 8;  /* n8 tiles of S */
	constexpr int NDT = D / 8;   /* n8 tiles of O */
	extern __shared__ __align__(128) unsigned char smem[];
	const uint32_t sQ = (smem_u32(smem) + 127) & ~127u; /* chunk_addr needs 128-byte tiles */
	const uint32_t sK = sQ + C::Q_BYTES;             /* ST tiles */
	const uint32_t sV = sK + ST * C::KV_BYTES;       /* ST tiles */

	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int g = lane >> 2, t = lane & 3; /* row in the 8-row group, column pair */
	int64_t bh;
	int qb;
	attn_block(nqb, &bh, &qb);
	const int q0 = qb * BM;
	const attn_t *qg = q + (bh * Sq + q0) * dg;
	const attn_t *kg = k + bh * Sk * dg;
	const attn_t *vg = v + bh * Sk * dg;
	const int nkb = (attn_keys(Sk, q0 + BM) + BN - 1) / BN;

	/*
	 * ldmatrix .x4 over a 16 x 16 block: lanes 8i .. 8i + 7 give the rows of
	 * matrix i, which is (rows 0-7, chunk 0), (rows 8-15, chunk 0), (rows 0-7,
	 * chunk 1), (rows 8-15, chunk 1) for i = 0..3. For Q that is a0..a3 of
	 * the A fragment; for K the b0 of n8 tiles 0 and 1, then their b1; for V
	 * (transposed) b0, b1 of n8 tile 0, then of n8 tile 1.
	 */
	const uint32_t lo = swz<DS>((lane & 7) + (((lane >> 3) & 1) << 3), lane >> 4);
	const uint32_t aQ = sQ + warp * MF * 16 * DS * 2 + lo;

	/* prologue: Q with the first K/V tiles */
	load_tile<D, DS, BM, NT>(sQ, qg, Sq - q0, dg, tid);
	if (ST == 1) {
		load_tile<D, DS, BN, NT>(sK, kg, Sk, dg, tid);
		cp_async_commit();
		load_tile<D, DS, BN, NT>(sV, vg, Sk, dg, tid);
		cp_async_commit();
	} else {
#pragma unroll
		for (int s = 0; s < ST - 1; s++) {
			if (s < nkb) {
				load_tile<D, DS, BN, NT>(sK + s * C::KV_BYTES, kg + (int64_t)s * BN * dg,
							 Sk - s * BN, dg, tid);
				load_tile<D, DS, BN, NT>(sV + s * C::KV_BYTES, vg + (int64_t)s * BN * dg,
							 Sk - s * BN, dg, tid);
			}
			cp_async_commit();
		}
	}

	uint32_t qf[C::QREG ? MF : 1][C::QREG ? NKC : 1][4];
	if (C::QREG) {
		/* Q arrived with the first group */
		if (ST == 1)
			cp_async_wait<1>();
		else
			cp_async_wait<(ST > 1 ? ST - 2 : 0)>();
		__syncthreads();
#pragma unroll
		for (int f = 0; f < MF; f++)
#pragma unroll
			for (int kc = 0; kc < NKC; kc++)
				ldsm_x4(qf[C::QREG ? f : 0][C::QREG ? kc : 0],
					chunk_addr<DS>(aQ, kc) + f * 16 * DS * 2);
	}

	float oacc[MF][NDT][4];
	float row_m[MF][2], row_l[MF][2]; /* rows g and g + 8 of each fragment */
#pragma unroll
	for (int f = 0; f < MF; f++) {
#pragma unroll
		for (int d = 0; d < NDT; d++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				oacc[f][d][e] = 0.0f;
		row_m[f][0] = row_m[f][1] = -INFINITY;
		row_l[f][0] = row_l[f][1] = 0.0f;
	}

	for (int j = 0; j < nkb; j++) {
		const int kv0 = j * BN;
		const int slot = ST == 1 ? 0 : j % ST;
		const uint32_t aK = sK + slot * C::KV_BYTES + lo;
		const uint32_t aV = aK + ST * C::KV_BYTES;

		if (ST == 1) {
			cp_async_wait<1>(); /* K_j landed; V_j may still be on its way */
			__syncthreads();
		} else {
			cp_async_wait<(ST > 1 ? ST - 2 : 0)>(); /* tile j landed */
			__syncthreads(); /* ... for everyone, and tile j - 1's slot is free */
			const int jn = j + ST - 1;
			if (jn < nkb) {
				const int sn = jn % ST;
				load_tile<D, DS, BN, NT>(sK + sn * C::KV_BYTES, kg + (int64_t)jn * BN * dg,
							 Sk - jn * BN, dg, tid);
				load_tile<D, DS, BN, NT>(sV + sn * C::KV_BYTES, vg + (int64_t)jn * BN * dg,
							 Sk - jn * BN, dg, tid);
			}
			cp_async_commit(); /* possibly empty: keeps the group count uniform */
		}

		/* S = Q K^T for this warp's rows and the BN keys of the step */
		float sacc[MF][NNT][4];
#pragma unroll
		for (int f = 0; f < MF; f++)
#pragma unroll
			for (int n = 0; n < NNT; n++)
#pragma unroll
				for (int e = 0; e < 4; e++)
					sacc[f][n][e] = 0.0f;
#pragma unroll
		for (int kc = 0; kc < NKC; kc++) {
			uint32_t qa[MF][4];
#pragma unroll
			for (int f = 0; f < MF; f++) {
				if (C::QREG) {
#pragma unroll
					for (int e = 0; e < 4; e++)
						qa[f][e] = qf[C::QREG ? f : 0][C::QREG ? kc : 0][e];
				} else {
					ldsm_x4(qa[f], chunk_addr<DS>(aQ, kc) + f * 16 * DS * 2);
				}
			}
#pragma unroll
			for (int np = 0; np < NNT / 2; np++) {
				uint32_t b[4];
				ldsm_x4(b, chunk_addr<DS>(aK, kc) + np * 16 * DS * 2);
#pragma unroll
				for (int f = 0; f < MF; f++) {
					mma_attn(sacc[f][2 * np], qa[f], b[0], b[2]);
					mma_attn(sacc[f][2 * np + 1], qa[f], b[1], b[3]);
				}
			}
		}

		/* keys past Sk (last step only); where causal, keys past the row
		 * (steps reaching past the warp's first row) */
		if (kv0 + BN > Sk || (ATTN_CAUSAL && kv0 + BN - 1 > q0 + warp * MF * 16)) {
#pragma unroll
			for (int f = 0; f < MF; f++)
#pragma unroll
				for (int n = 0; n < NNT; n++)
#pragma unroll
					for (int e = 0; e < 4; e++) {
						const int key = kv0 + n * 8 + 2 * t + (e & 1);
						const int row = q0 + (warp * MF + f) * 16 + g + 8 * (e >> 1);
						if (key >= Sk || attn_hidden(key, row))
							sacc[f][n][e] = -INFINITY;
					}
		}

		/* online softmax, base 2; sacc becomes P (fp32) */
#pragma unroll
		for (int f = 0; f < MF; f++) {
#pragma unroll
			for (int h = 0; h < 2; h++) {
				float mx = -INFINITY;
#pragma unroll
				for (int n = 0; n < NNT; n++)
					mx = fmaxf(mx, fmaxf(sacc[f][n][2 * h], sacc[f][n][2 * h + 1]));
				mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
				mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
				const float m_new = fmaxf(row_m[f][h], mx);
				const float ms = m_new == -INFINITY ? 0.0f : m_new * sl2;
				const float corr = ex2(row_m[f][h] * sl2 - ms); /* 0 the first time */
				row_m[f][h] = m_new;
				float sum = 0.0f;
#pragma unroll
				for (int n = 0; n < NNT; n++) {
					const float p0 = ex2(fmaf(sacc[f][n][2 * h], sl2, -ms));
					const float p1 = ex2(fmaf(sacc[f][n][2 * h + 1], sl2, -ms));
					sacc[f][n][2 * h] = p0;
					sacc[f][n][2 * h + 1] = p1;
					sum += p0 + p1;
				}
				row_l[f][h] = row_l[f][h] * corr + sum;
#pragma unroll
				for (int d = 0; d < NDT; d++) {
					oacc[f][d][2 * h] *= corr;
					oacc[f][d][2 * h + 1] *= corr;
				}
			}
		}
		/* P to attn_t A fragments: k16 step kk is n8 tiles 2kk (a0, a1) and 2kk + 1 (a2, a3) */
		uint32_t pa[MF][NNT / 2][4];
#pragma unroll
		for (int f = 0; f < MF; f++)
#pragma unroll
			for (int kk = 0; kk < NNT / 2; kk++) {
				pa[f][kk][0] = attn_pack2(sacc[f][2 * kk][0], sacc[f][2 * kk][1]);
				pa[f][kk][1] = attn_pack2(sacc[f][2 * kk][2], sacc[f][2 * kk][3]);
				pa[f][kk][2] = attn_pack2(sacc[f][2 * kk + 1][0], sacc[f][2 * kk + 1][1]);
				pa[f][kk][3] = attn_pack2(sacc[f][2 * kk + 1][2], sacc[f][2 * kk + 1][3]);
			}

		if (ST == 1) {
			cp_async_wait<0>(); /* V_j landed */
			__syncthreads();    /* ... for everyone, and everyone is done with K_j */
			if (j + 1 < nkb)
				load_tile<D, DS, BN, NT>(sK, kg + (int64_t)(kv0 + BN) * dg, Sk - (kv0 + BN), dg, tid);
			cp_async_commit();
		}

		/* O += P V: two n8 tiles of S make the A fragment of one k16 step */
#pragma unroll
		for (int kk = 0; kk < NNT / 2; kk++) {
#pragma unroll
			for (int dp = 0; dp < NDT / 2; dp++) {
				uint32_t b[4];
				ldsm_x4_t(b, chunk_addr<DS>(aV, dp) + kk * 16 * DS * 2);
#pragma unroll
				for (int f = 0; f < MF; f++) {
					mma_attn(oacc[f][2 * dp], pa[f][kk], b[0], b[1]);
					mma_attn(oacc[f][2 * dp + 1], pa[f][kk], b[2], b[3]);
				}
			}
		}

		if (ST == 1) {
			__syncthreads(); /* everyone is done with V_j */
			if (j + 1 < nkb)
				load_tile<D, DS, BN, NT>(sV, vg + (int64_t)(kv0 + BN) * dg, Sk - (kv0 + BN), dg, tid);
			cp_async_commit();
		}
	}
	cp_async_wait<0>(); /* nothing left in flight at exit */

	/* O / l, rounded to attn_t; rows past Sq are not written */
#pragma unroll
	for (int f = 0; f < MF; f++) {
#pragma unroll
		for (int h = 0; h < 2; h++) {
			float l = row_l[f][h];
			l += __shfl_xor_sync(0xffffffffu, l, 1);
			l += __shfl_xor_sync(0xffffffffu, l, 2);
			const float inv = 1.0f / l;
			const int row = q0 + (warp * MF + f) * 16 + g + 8 * h;
			if (row < Sq) {
				attn_t *orow = o + (bh * Sq + row) * dg + 2 * t;
#pragma unroll
				for (int d = 0; d < NDT; d++) {
					if (d * 8 < dg) /* the padded columns are not the tensor's */
						*reinterpret_cast<uint32_t *>(orow + d * 8) =
							attn_pack2(oacc[f][d][2 * h] * inv, oacc[f][d][2 * h + 1] * inv);
				}
			}
		}
	}
}

template <int D>
static int flash_launch(const attn_t *q, const attn_t *k, const attn_t *v, attn_t *o,
			int64_t BH, int64_t Sq, int64_t Sk, int dg, cudaStream_t st)
{
	typedef fa_cfg<D> C;
	static bool attr = false;
	if (!attr) {
		int dev = 0, optin = 0;
		if (cudaGetDevice(&dev) != cudaSuccess ||
		    cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) !=
			    cudaSuccess)
			return KB_ERR_LAUNCH;
		if (C::SMEM > optin)
			return KB_ERR_SHAPE; /* a GPU with less shared memory than an H100 */
		if (cudaFuncSetAttribute((const void *)flash_fwd<D>,
					 cudaFuncAttributeMaxDynamicSharedMemorySize, C::SMEM) !=
		    cudaSuccess)
			return KB_ERR_LAUNCH;
		attr = true;
	}
	const int64_t nqb = (Sq + C::BM - 1) / C::BM;
	const int64_t blocks = nqb * BH;
	if (Sq > 2147483647LL - 512 || Sk > 2147483647LL - 512 || blocks > 2147483647LL)
		return KB_ERR_SHAPE; /* row indices are int in the kernel, the grid is 1-D */
	const float sl2 = attn_sl2(dg);
	flash_fwd<D><<<(unsigned)blocks, C::NT, C::SMEM, st>>>(q, k, v, o, (int)Sq, (int)Sk, dg,
								  (int)nqb, sl2);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	int64_t BH, Sq, Sk, D;
	if (attn_shapes(in, n_in, out, n_out, &BH, &Sq, &Sk, &D))
		return KB_ERR_SHAPE;
	const kb_tensor *q = &in[0], *k = &in[1], *v = &in[2], *o = &out[0];
	/* 16-byte cp.async needs 16-byte aligned rows: D a multiple of 8 */
	if (D % 8 || ((uintptr_t)q->data | (uintptr_t)k->data | (uintptr_t)v->data | (uintptr_t)o->data) % 16)
		return KB_ERR_SHAPE;
	if (BH == 0 || Sq == 0)
		return KB_OK;
	const attn_t *qp = (const attn_t *)q->data, *kp = (const attn_t *)k->data;
	const attn_t *vp = (const attn_t *)v->data;
	attn_t *op = (attn_t *)o->data;
	cudaStream_t st = (cudaStream_t)stream;
	/* the smallest compiled instantiation that holds D, its columns past D
	 * zero (ATTN_HEAD_DIM compiles only the problem's: templates/common/
	 * attention.cuh) */
	const int dg = (int)D;
#if ATTN_KEEP(0, 32)
	if (D <= 32)
		return flash_launch<32>(qp, kp, vp, op, BH, Sq, Sk, dg, st);
#endif
#if ATTN_KEEP(32, 64)
	if (D <= 64)
		return flash_launch<64>(qp, kp, vp, op, BH, Sq, Sk, dg, st);
#endif
#if ATTN_KEEP(64, 96)
	if (D <= 96)
		return flash_launch<96>(qp, kp, vp, op, BH, Sq, Sk, dg, st);
#endif
#if ATTN_KEEP(96, 128)
	if (D <= 128)
		return flash_launch<128>(qp, kp, vp, op, BH, Sq, Sk, dg, st);
#endif
#if ATTN_KEEP(128, 256)
	if (D <= 256)
		return flash_launch<256>(qp, kp, vp, op, BH, Sq, Sk, dg, st);
#endif
	return KB_ERR_SHAPE;
}
