// kbreed-template: flash_wgmma
// family: attention
// problems: attention_fp16 attention_bf16
// arch: sm_90a
// knob BLOCK_N: 64 128 | default 128 | category memory access | keys per step of the key loop = the n of the S = Q K^T wgmma and the k extent of P V; lowered to 64 for D = 128 with three consumers (160 registers a thread)
// knob STAGES: 2 3 4 | default 3 | category asynchronous | slots of the K/V shared-memory ring filled by TMA ahead of the consumers (lowered to what fits in 227 KB: 3 for D = 128 with 128-key steps; on the H200 3 ran 3.573 ms against 3.825 ms with 2, bench/suite-defaults-2026-12-04-h200.md)
// knob CONSUMERS: 2 3 | default 2 | category parallelism | consumer warpgroups of 64 query rows each: the block owns 64 x CONSUMERS query rows of one head, all sharing each K/V tile
/*
 * flash_wgmma.cu - F.scaled_dot_product_attention(q, k, v), causal or not,
 * no mask, no dropout, scale 1/sqrt(D) or the problem's, fp16 or bf16 in and
 * out (attn_t), fp32 accumulation, on Hopper tensor cores (wgmma) with K and
 * V streamed in by the tensor memory accelerator (TMA):
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
 * The leading dims (rank >= 2) are equal in all four and fold into BH.
 * Sq >= 0 and Sk >= 1 are any sizes.
 *
 * Two paths. The fast path takes D = 64, and D = 72 to 128 in steps of 8
 * (as 128: the tensor maps are D wide, so TMA fills the tiles' columns past
 * D with zeros, which add nothing to the scores, and they are not stored),
 * on an sm_90 GPU with 16-byte aligned tensors; everything else (other head
 * dims up to 512, unaligned pointers, other GPUs) runs a plain kernel: one
 * warp a query row, lanes striding over D, keys one at a time with an online
 * softmax in fp32. It is slow but exact enough, and it keeps every shape
 * correct.
 *
 * Fast path (FlashAttention-3 style, without ping-pong scheduling). Each
 * block of a 1-D grid of nqb * BH blocks owns query rows [qb * BM, qb * BM +
 * BM) of a head bh (attn_block: the blocks of one head side by side, sharing
 * its K and V in L2; where causal, the longest query blocks first), BM = 64 *
 * CONSUMERS, and reads the keys up to Sk (where causal, up to its last row:
 * attn_keys). Warpgroup 0 is
 * the producer: it drops to 24 or 32 registers (setmaxnreg) and one thread
 * issues every TMA copy: the Q tile once (on its own mbarrier), then for each
 * step j of BN keys the K and V tiles into ring slot j % ST, after waiting
 * for the slot's "empty" mbarrier and announcing the bytes on its "full"
 * one. Warpgroups 1..CONSUMERS are consumers (raised to 240 or 160
 * registers); consumer cw owns query rows cw * 64 .. + 63 of the tile:
 *   - S = Q K^T: D/16 wgmma m64nBNk16, both operands from shared memory,
 *     K-major (Q rows and K rows both have D contiguous), fp32 accumulators;
 *   - keys >= Sk are set to -inf (TMA filled their K rows with zeros), and
 *     where causal the keys past each row;
 *   - online softmax on the accumulators, base 2 with log2(e) x scale folded
 *     into one FMA before ex2; row max over the 4 lanes of a quad by two
 *     shuffles; O rescaled by exp2(m_old - m_new); row sums kept per lane and
 *     reduced at the end;
 *   - P rounded to attn_t in registers and fed as the register A operand of
 *     O += P V: BN/16 wgmma m64nDk16, V from shared memory N-major (V rows
 *     are keys = the k of this product, D contiguous = its n), imm-trans-b 1.
 *   The next step's S wgmma is issued right behind this step's P V (both
 *   then waited for together), so the tensor cores see the two back to back;
 *   afterwards lane 0 of each consumer warp arrives on the slot's "empty".
 * Epilogue: O / l rounded to attn_t and stored from registers in pairs, rows
 * >= Sq skipped.
 *
 * Register fragments (PTX ISA, wgmma m64nNk16): accumulator register
 * 4i + 2h + e of a thread of warp w (of the warpgroup), lane = 4g + t, is
 * row 16w + g + 8h, column 8i + 2t + e. The register A fragment of a k16
 * slice has a0,a1: row g, columns 2t, 2t+1; a2,a3: row g + 8; a4,a5: row g,
 * columns 8 + 2t, 8 + 2t + 1; a6,a7: row g + 8, columns 8 + 2t.. (plus 16w
 * rows). So the accumulators 8kk .. 8kk + 7 of S, packed in pairs, are
 * exactly the A fragment of k16 slice kk of P: no data movement.
 *
 * Shared memory (dynamic, from a 1024-byte boundary): the Q tile, ST K
 * tiles, ST V tiles, then the mbarriers. Every tile is D/64 chunks of
 * [rows][64] attn_t (128-byte rows; chunk c holds columns 64c .. 64c + 63),
 * written by TMA with 128-byte swizzling (16-byte piece p of row r at piece
 * p ^ (r % 8) within each 1024-byte group of 8 rows); chunk c of a tile of
 * R rows starts at c * R * 128. Matrix descriptors (start >> 4 in bits
 * 0-13, LBO >> 4 in 16-29, SBO >> 4 in 32-45, swizzle mode 1 = 128B in bits
 * 62-63):
 *   Q (A, K-major), k16 step kk: start = Q + (kk / 4) * BM * 128 +
 *     cw * 64 * 128 + (kk % 4) * 32, SBO = 1024 (next 8 rows);
 *   K (B, K-major), k16 step kk: start = K + (kk / 4) * BN * 128 +
 *     (kk % 4) * 32, SBO = 1024 (next 8 keys);
 *   V (B, N-major), k16 step kk (keys 16kk ..): start = V + kk * 2048,
 *     SBO = 1024 (next 8 keys), LBO = BN * 128 (next 64 columns of D).
 *
 * Edges. The tensor maps are 3-D (D, S, BH), so a box reaching past Sq or
 * Sk within a head is zero-filled (never the next head's rows), and the
 * full box's bytes still count on the mbarrier. Zero Q rows give finite
 * scores and are not stored; zero K rows are masked; zero V rows meet P = 0.
 */
#ifndef BLOCK_N
#define BLOCK_N 128
#endif
#ifndef STAGES
#define STAGES 3
#endif
#ifndef CONSUMERS
#define CONSUMERS 2
#endif

#include <cuda.h> /* CUtensorMap and its enums: types only, no driver calls linked */
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>
#include "kbreed_candidate.h"

static_assert(BLOCK_N == 64 || BLOCK_N == 128, "BLOCK_N is 64 or 128");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2 to 4");
static_assert(CONSUMERS == 2 || CONSUMERS == 3, "CONSUMERS is 2 or 3");

KBREED_CANDIDATE_ABI

#define SMEM_OPTIN 232448    /* 227 KB: the sm_90 per-block limit */
#define SMEM_EXTRA (1024 + 256) /* alignment slack + mbarriers */

/* Ring slots (at most `want`, at least 2) that fit beside the Q tile. */
constexpr int fa_fit_stages(int want, int q_bytes, int kv_bytes)
{
	return want <= 2 || q_bytes + 2 * want * kv_bytes + SMEM_EXTRA <= SMEM_OPTIN
		       ? want
		       : fa_fit_stages(want - 1, q_bytes, kv_bytes);
}

/* Everything the fast kernel for head dim D derives from the knobs. */
template <int D> struct fa_cfg {
	static constexpr int CONS = CONSUMERS;
	static constexpr int BM = 64 * CONS;                       /* query rows a block */
	static constexpr int BN = (CONS == 3 && D == 128) ? 64 : BLOCK_N;
	static constexpr int NT = 128 * (CONS + 1);                /* producer + consumers */
	static constexpr int Q_BYTES = BM * D * 2;
	static constexpr int KV_BYTES = BN * D * 2;                /* one K or V tile */
	static constexpr int ST = fa_fit_stages(STAGES, Q_BYTES, KV_BYTES);
	static constexpr int SMEM = Q_BYTES + 2 * ST * KV_BYTES + SMEM_EXTRA;
	static constexpr int PRODUCER_REGS = CONS == 2 ? 24 : 32;
	static constexpr int CONSUMER_REGS = CONS == 2 ? 240 : 160;
	static_assert(D == 64 || D == 128, "fast path head dims");
	static_assert(SMEM <= SMEM_OPTIN, "shared memory");
	/* two slots at least: a consumer waits for slot j + 1 before it frees slot j */
	static_assert(ST >= 2, "two ring slots must fit");
	static_assert(8 * (1 + 2 * ST) <= 256, "mbarriers fit their reserve");
	static_assert(Q_BYTES % 1024 == 0 && KV_BYTES % 1024 == 0, "tiles keep 1024-byte alignment");
	static_assert(128 * PRODUCER_REGS + 128 * CONS * CONSUMER_REGS <= 65536, "register file");
};

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FA_WGMMA_DEVICE 1
#else
#define FA_WGMMA_DEVICE 0
#endif

/* ---- PTX wrappers: mbarrier, TMA, wgmma (sm_90a), in templates/common ---- */

#include "../common/hopper.cuh" // kbreed:inline
#include "../common/reduce.cuh" // kbreed:inline
#include "../common/attention.cuh" // kbreed:inline

/* D(64 x 64, fp32, 32 a thread) (+)= A(64 x 16, smem, K-major) * B(16 x 64, smem, K-major). */
static __device__ __forceinline__ void wgmma_ss_n64(float *d, uint64_t da, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n64k16.f32." ATTN_PTX_TYPE "." ATTN_PTX_TYPE " {"
		     KB_WGMMA_REGS32
		     "}, %32, %33, p, 1, 1, 0, 0;\n}\n"
		     : KB_WGMMA_ACC32(d)
		     : "l"(da), "l"(db), "r"(scale_d));
}

/* D(64 x 64, fp32, 32 a thread) += A(64 x 16, registers) * B(16 x 64, smem, N-major: imm-trans-b 1). */
static __device__ __forceinline__ void wgmma_rs_n64(float *d, const uint32_t *a, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n64k16.f32." ATTN_PTX_TYPE "." ATTN_PTX_TYPE " {"
		     KB_WGMMA_REGS32
		     "}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
		     : KB_WGMMA_ACC32(d)
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));
}

/* D(64 x 128, fp32, 64 a thread) (+)= A(64 x 16, smem, K-major) * B(16 x 128, smem, K-major). */
static __device__ __forceinline__ void wgmma_ss_n128(float *d, uint64_t da, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n128k16.f32." ATTN_PTX_TYPE "." ATTN_PTX_TYPE " {"
		     KB_WGMMA_REGS64
		     "}, %64, %65, p, 1, 1, 0, 0;\n}\n"
		     : KB_WGMMA_ACC64(d)
		     : "l"(da), "l"(db), "r"(scale_d));
}

/* D(64 x 128, fp32, 64 a thread) += A(64 x 16, registers) * B(16 x 128, smem, N-major: imm-trans-b 1). */
static __device__ __forceinline__ void wgmma_rs_n128(float *d, const uint32_t *a, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n128k16.f32." ATTN_PTX_TYPE "." ATTN_PTX_TYPE " {"
		     KB_WGMMA_REGS64
		     "}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
		     : KB_WGMMA_ACC64(d)
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));
}

/* S += Q K^T over the D/16 k16 steps (the first overwrites S). */
template <int D, int BN, int BM>
static __device__ __forceinline__ void issue_qk(float *sacc, uint32_t q_base, uint32_t k_base)
{
#pragma unroll
	for (int kk = 0; kk < D / 16; kk++) {
		const uint32_t off = (uint32_t)((kk % 4) * 32); /* k16 step within a 128-byte row */
		const uint64_t da = smem_desc(q_base + (kk / 4) * BM * 128 + off, 16, 1024);
		const uint64_t db = smem_desc(k_base + (kk / 4) * BN * 128 + off, 16, 1024);
		if (BN == 128)
			wgmma_ss_n128(sacc, da, db, kk);
		else
			wgmma_ss_n64(sacc, da, db, kk);
	}
}

/* O += P V over the BN/16 k16 steps; P from registers. */
template <int D, int BN>
static __device__ __forceinline__ void issue_pv(float *oacc, uint32_t (*pa)[4], uint32_t v_base)
{
#pragma unroll
	for (int kk = 0; kk < BN / 16; kk++) {
		const uint64_t db = smem_desc(v_base + kk * 2048, BN * 128, 1024);
		if (D == 128)
			wgmma_rs_n128(oacc, pa[kk], db, 1);
		else
			wgmma_rs_n64(oacc, pa[kk], db, 1);
	}
}

/*
 * The fast kernel. tmQ: q as (D, Sq, BH), box 64 x BM x 1; tmK, tmV: k and v
 * as (D, Sk, BH), box 64 x BN x 1. o: (BH, Sq, D).
 */
template <int D>
__global__ void __launch_bounds__(fa_cfg<D>::NT, 1)
flash_wgmma_fwd(const __grid_constant__ CUtensorMap tmQ, const __grid_constant__ CUtensorMap tmK,
		const __grid_constant__ CUtensorMap tmV, attn_t *__restrict__ o, int Sq, int Sk,
		int dg /* the tensors' head dim, <= D */, int nqb, float sl2 /* log2(e) x scale */)
{
#if FA_WGMMA_DEVICE
	typedef fa_cfg<D> C;
	constexpr int BM = C::BM, BN = C::BN, ST = C::ST, CH = D / 64;
	constexpr int NNT = BN / 8; /* n8 column groups of S */
	constexpr int NDT = D / 8;  /* n8 column groups of O */
	extern __shared__ uint8_t smem_raw[];
	const uint32_t sQ = (smem_u32(smem_raw) + 1023u) & ~1023u;
	const uint32_t sK = sQ + C::Q_BYTES;         /* ST tiles */
	const uint32_t sV = sK + ST * C::KV_BYTES;   /* ST tiles */
	const uint32_t q_bar = sV + ST * C::KV_BYTES;
	const uint32_t full_bar = q_bar + 8;          /* ST x 8 bytes */
	const uint32_t empty_bar = full_bar + ST * 8; /* ST x 8 bytes */

	int64_t bh64;
	int qb;
	attn_block(nqb, &bh64, &qb);
	const int bh = (int)bh64;
	const int q0 = qb * BM;
	const int nkb = (attn_keys(Sk, q0 + BM) + BN - 1) / BN;
	const int wg = threadIdx.x / 128;

	if (threadIdx.x == 0) {
		mbar_init(q_bar, 1);
		for (int s = 0; s < ST; s++) {
			mbar_init(full_bar + 8 * s, 1);                  /* the producer's expect_tx */
			mbar_init(empty_bar + 8 * s, 4 * C::CONS);       /* lane 0 of each consumer warp */
		}
		asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
		asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
	}
	__syncthreads();

	if (wg == 0) {
		/* Producer warpgroup: one thread issues every copy. */
		asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(C::PRODUCER_REGS));
		if (threadIdx.x == 0) {
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmQ) : "memory");
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmK) : "memory");
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmV) : "memory");
			mbar_arrive_expect_tx(q_bar, C::Q_BYTES);
#pragma unroll
			for (int c = 0; c < CH; c++)
				tma_load_3d(sQ + c * BM * 128, &tmQ, 64 * c, q0, bh, q_bar);
			int s = 0;
			uint32_t phase = 0;
			for (int j = 0; j < nkb; j++) {
				/* first pass: parity 1 of a fresh barrier counts as complete */
				mbar_wait(empty_bar + 8 * s, phase ^ 1);
				const uint32_t fb = full_bar + 8 * s;
				mbar_arrive_expect_tx(fb, 2 * C::KV_BYTES);
#pragma unroll
				for (int c = 0; c < CH; c++) {
					tma_load_3d(sK + s * C::KV_BYTES + c * BN * 128, &tmK, 64 * c, j * BN, bh, fb);
					tma_load_3d(sV + s * C::KV_BYTES + c * BN * 128, &tmV, 64 * c, j * BN, bh, fb);
				}
				if (++s == ST) {
					s = 0;
					phase ^= 1;
				}
			}
		}
	} else {
		asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(C::CONSUMER_REGS));
		const int cw = wg - 1;
		const int tid = threadIdx.x & 127, warp = tid >> 5, lane = tid & 31;
		const int g = lane >> 2, t = lane & 3;
		const uint32_t q_base = sQ + cw * 64 * 128;

		float oacc[D / 2];  /* O: register 4i + 2h + e = row g + 8h, column 8i + 2t + e */
		float sacc[BN / 2]; /* S, then P in fp32, same layout */
		uint32_t pa[BN / 16][4]; /* P in attn_t: the A fragments of the BN/16 k16 steps */
		float row_m[2] = { -INFINITY, -INFINITY }, row_l[2] = { 0.0f, 0.0f };
#pragma unroll
		for (int i = 0; i < D / 2; i++)
			oacc[i] = 0.0f;

		mbar_wait(q_bar, 0);
		int s = 0;
		uint32_t phase = 0;
		mbar_wait(full_bar, 0);
		wgmma_fence();
		issue_qk<D, BN, BM>(sacc, q_base, sK);
		wgmma_commit();
		wgmma_wait<0>();
#pragma unroll
		for (int i = 0; i < BN / 2; i++)
			reg_fence(sacc[i]);

		for (int j = 0; j < nkb; j++) {
			const int kv0 = j * BN;
			/* keys past Sk (last step only); where causal, keys past the
			 * row (steps reaching past the warp's first row) */
			const int row0 = q0 + cw * 64 + warp * 16; /* rows row0 + g, row0 + g + 8 */
			if (kv0 + BN > Sk || (ATTN_CAUSAL && kv0 + BN - 1 > row0)) {
#pragma unroll
				for (int n = 0; n < NNT; n++)
#pragma unroll
					for (int e = 0; e < 2; e++) {
						const int key = kv0 + n * 8 + 2 * t + e;
						if (key >= Sk || attn_hidden(key, row0 + g))
							sacc[4 * n + e] = -INFINITY;
						if (key >= Sk || attn_hidden(key, row0 + g + 8))
							sacc[4 * n + 2 + e] = -INFINITY;
					}
			}

			/* online softmax, base 2; sacc becomes P (fp32) */
#pragma unroll
			for (int h = 0; h < 2; h++) {
				float mx = -INFINITY;
#pragma unroll
				for (int n = 0; n < NNT; n++)
					mx = fmaxf(mx, fmaxf(sacc[4 * n + 2 * h], sacc[4 * n + 2 * h + 1]));
				mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
				mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
				const float m_new = fmaxf(row_m[h], mx);
				const float ms = m_new == -INFINITY ? 0.0f : m_new * sl2;
				const float corr = ex2(row_m[h] * sl2 - ms); /* 0 the first time */
				row_m[h] = m_new;
				float sum = 0.0f;
#pragma unroll
				for (int n = 0; n < NNT; n++) {
					const float p0 = ex2(fmaf(sacc[4 * n + 2 * h], sl2, -ms));
					const float p1 = ex2(fmaf(sacc[4 * n + 2 * h + 1], sl2, -ms));
					sacc[4 * n + 2 * h] = p0;
					sacc[4 * n + 2 * h + 1] = p1;
					sum += p0 + p1;
				}
				row_l[h] = row_l[h] * corr + sum;
#pragma unroll
				for (int d = 0; d < NDT; d++) {
					oacc[4 * d + 2 * h] *= corr;
					oacc[4 * d + 2 * h + 1] *= corr;
				}
			}
			/* k16 step kk of P V is S columns 16kk .. 16kk + 15: registers 8kk .. 8kk + 7 */
#pragma unroll
			for (int kk = 0; kk < BN / 16; kk++)
#pragma unroll
				for (int r = 0; r < 4; r++)
					pa[kk][r] = attn_pack2(sacc[8 * kk + 2 * r], sacc[8 * kk + 2 * r + 1]);

			/* O += P V for this step, then S = Q K^T for the next, back to back */
			wgmma_fence();
			issue_pv<D, BN>(oacc, pa, sV + s * C::KV_BYTES);
			wgmma_commit();
			int sn = s + 1;
			uint32_t pn = phase;
			if (sn == ST) {
				sn = 0;
				pn ^= 1;
			}
			if (j + 1 < nkb) {
				mbar_wait(full_bar + 8 * sn, pn);
				wgmma_fence();
				issue_qk<D, BN, BM>(sacc, q_base, sK + sn * C::KV_BYTES);
				wgmma_commit();
			}
			wgmma_wait<0>();
#pragma unroll
			for (int i = 0; i < D / 2; i++)
				reg_fence(oacc[i]);
#pragma unroll
			for (int i = 0; i < BN / 2; i++)
				reg_fence(sacc[i]);
#pragma unroll
			for (int kk = 0; kk < BN / 16; kk++)
#pragma unroll
				for (int r = 0; r < 4; r++)
					reg_fence(pa[kk][r]);
			/* K and V of slot s are read: hand the slot back */
			if (lane == 0)
				mbar_arrive(empty_bar + 8 * s);
			s = sn;
			phase = pn;
		}

		/* O / l, rounded to attn_t; rows past Sq are not written */
#pragma unroll
		for (int h = 0; h < 2; h++) {
			float l = row_l[h];
			l += __shfl_xor_sync(0xffffffffu, l, 1);
			l += __shfl_xor_sync(0xffffffffu, l, 2);
			const float inv = 1.0f / l;
			const int row = q0 + cw * 64 + warp * 16 + g + 8 * h;
			if (row < Sq) {
				attn_t *orow = o + ((int64_t)bh * Sq + row) * dg + 2 * t;
#pragma unroll
				for (int d = 0; d < NDT; d++)
					if (d * 8 < dg) /* the padded columns are not the tensor's */
						*reinterpret_cast<uint32_t *>(orow + d * 8) =
							attn_pack2(oacc[4 * d + 2 * h] * inv, oacc[4 * d + 2 * h + 1] * inv);
			}
		}
	}
#endif
}

/*
 * The plain path: warp w of the grid takes query row w of (BH * Sq, D);
 * lane l holds elements l, l + 32, ... (DPL of them, D <= 32 * DPL) of its q
 * row and O row. Keys are visited one at a time (where causal, those up to
 * the row's own index): the score is a warp sum, then the online softmax
 * update, all in fp32.
 */
template <int DPL>
__global__ void __launch_bounds__(256)
attn_rowwise(const attn_t *__restrict__ q, const attn_t *__restrict__ k,
	     const attn_t *__restrict__ v, attn_t *__restrict__ o, int64_t rows, int64_t Sq,
	     int64_t Sk, int D, float sl2)
{
	const int64_t r = (int64_t)blockIdx.x * 8 + (threadIdx.x >> 5);
	const int lane = threadIdx.x & 31;
	if (r >= rows)
		return;
	const int64_t bh = r / Sq;
	const attn_t *qr = q + r * D;
	const attn_t *kb = k + bh * Sk * D, *vb = v + bh * Sk * D;
	float qv[DPL], acc[DPL];
#pragma unroll
	for (int i = 0; i < DPL; i++) {
		const int d = lane + 32 * i;
		qv[i] = d < D ? attn_to_float(qr[d]) : 0.0f;
		acc[i] = 0.0f;
	}
	float m = -INFINITY, l = 0.0f;
	const int64_t qi = r % Sq, nk = ATTN_CAUSAL && qi + 1 < Sk ? qi + 1 : Sk;
	for (int64_t j = 0; j < nk; j++) {
		const attn_t *kr = kb + j * D, *vr = vb + j * D;
		float sc = 0.0f;
#pragma unroll
		for (int i = 0; i < DPL; i++) {
			const int d = lane + 32 * i;
			if (d < D)
				sc = fmaf(qv[i], attn_to_float(kr[d]), sc);
		}
		sc = kb_warp_reduce(sc, kb_sum());
		const float m_new = fmaxf(m, sc);
		const float corr = exp2f((m - m_new) * sl2); /* 0 the first time */
		const float p = exp2f((sc - m_new) * sl2);
		m = m_new;
		l = l * corr + p;
#pragma unroll
		for (int i = 0; i < DPL; i++) {
			const int d = lane + 32 * i;
			acc[i] = acc[i] * corr + (d < D ? p * attn_to_float(vr[d]) : 0.0f);
		}
	}
	const float inv = 1.0f / l;
	attn_t *orow = o + r * D;
#pragma unroll
	for (int i = 0; i < DPL; i++) {
		const int d = lane + 32 * i;
		if (d < D)
			orow[d] = attn_from_float(acc[i] * inv);
	}
}

/* ---- host side ---- */

/* cuTensorMapEncodeTiled (hopper.cuh's kb_tensor_map_encoder); NULL: the plain path only */
static kb_encode_tiled_fn g_encode = NULL;
static int g_ready = 0;  /* 1: looked up; the fast path needs g_major == 9 and g_encode */
static int g_major = 0;
/* shared-memory attribute set per kernel (of those compiled) */
#if ATTN_KEEP(63, 64)
static int g_attr64 = 0;
#endif
#if ATTN_KEEP(64, 128)
static int g_attr128 = 0;
#endif

/* Finds the encoder and the compute capability once. */
static int setup(void)
{
	if (g_ready)
		return KB_OK;
	int dev = 0;
	if (cudaGetDevice(&dev) != cudaSuccess ||
	    cudaDeviceGetAttribute(&g_major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
		return KB_ERR_LAUNCH;
	g_encode = kb_tensor_map_encoder();
	g_ready = 1;
	return KB_OK;
}

/* A 3-D attn_t tensor map over (D, S, BH) contiguous, boxes of 64 x rows x 1,
 * 128-byte swizzle, zero fill outside (rows past S, and the columns of a
 * box past D). */
static int make_map(CUtensorMap *map, const void *ptr, int64_t D, int64_t S, int64_t BH, uint32_t rows)
{
	cuuint64_t dims[3] = { (cuuint64_t)D, (cuuint64_t)S, (cuuint64_t)BH };
	cuuint64_t strides[2] = { (cuuint64_t)(D * 2), (cuuint64_t)(S * D * 2) };
	cuuint32_t box[3] = { 64, rows, 1 };
	cuuint32_t estr[3] = { 1, 1, 1 };
	const CUtensorMapDataType type = ATTN_BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
	CUresult r = g_encode(map, type, 3, (void *)ptr, dims, strides, box, estr,
			      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
			      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
	return r == CUDA_SUCCESS ? KB_OK : KB_ERR_LAUNCH;
}

template <int D>
static int flash_launch(const attn_t *q, const attn_t *k, const attn_t *v, attn_t *o, int64_t BH,
			int64_t Sq, int64_t Sk, int dg, cudaStream_t st, int *attr)
{
	typedef fa_cfg<D> C;
	if (!*attr) {
		if (cudaFuncSetAttribute((const void *)flash_wgmma_fwd<D>,
					 cudaFuncAttributeMaxDynamicSharedMemorySize, C::SMEM) != cudaSuccess)
			return KB_ERR_LAUNCH;
		*attr = 1;
	}
	CUtensorMap mq, mk, mv;
	/* the maps are dg wide: the tiles' columns past dg arrive as zeros */
	if (make_map(&mq, q, dg, Sq, BH, C::BM) || make_map(&mk, k, dg, Sk, BH, C::BN) ||
	    make_map(&mv, v, dg, Sk, BH, C::BN))
		return KB_ERR_LAUNCH;
	const int64_t nqb = (Sq + C::BM - 1) / C::BM;
	const float sl2 = attn_sl2(dg);
	flash_wgmma_fwd<D><<<(unsigned)(nqb * BH), C::NT, C::SMEM, st>>>(mq, mk, mv, o, (int)Sq, (int)Sk,
									 dg, (int)nqb, sl2);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

template <int DPL>
static int rowwise_launch(const attn_t *q, const attn_t *k, const attn_t *v, attn_t *o, int64_t BH,
			  int64_t Sq, int64_t Sk, int64_t D, cudaStream_t st)
{
	const int64_t rows = BH * Sq, blocks = (rows + 7) / 8;
	if (blocks > 2147483647LL)
		return KB_ERR_SHAPE;
	const float sl2 = attn_sl2(D);
	attn_rowwise<DPL><<<(unsigned)blocks, 256, 0, st>>>(q, k, v, o, rows, Sq, Sk, (int)D, sl2);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	int64_t BH, Sq, Sk, D;
	if (attn_shapes(in, n_in, out, n_out, &BH, &Sq, &Sk, &D))
		return KB_ERR_SHAPE;
	const kb_tensor *q = &in[0], *k = &in[1], *v = &in[2], *o = &out[0];
	if (BH == 0 || Sq == 0)
		return KB_OK;
	const attn_t *qp = (const attn_t *)q->data, *kp = (const attn_t *)k->data;
	const attn_t *vp = (const attn_t *)v->data;
	attn_t *op = (attn_t *)o->data;
	cudaStream_t st = (cudaStream_t)stream;
	int rc = setup();
	if (rc)
		return rc;

	/* the fast path: TMA needs 16-byte aligned bases and row pitches (D a
	 * multiple of 8); D = 64 runs as itself, 72 to 128 as 128 with the
	 * columns past D zero (ATTN_HEAD_DIM compiles only the problem's
	 * kernels: templates/common/attention.cuh; a D whose kernel is not
	 * compiled goes on to the row kernels) */
	const bool aligned = ((uintptr_t)qp | (uintptr_t)kp | (uintptr_t)vp | (uintptr_t)op) % 16 == 0;
	const int64_t lim = 2147483647LL - 512; /* int rows and grid in the kernel */
	if (g_major == 9 && g_encode && aligned && D % 8 == 0 && (D == 64 || (D > 64 && D <= 128)) &&
	    Sq <= lim && Sk <= lim && BH <= lim && ((Sq + 191) / 64) * BH <= lim) {
#if ATTN_KEEP(64, 128)
		if (D > 64)
			return flash_launch<128>(qp, kp, vp, op, BH, Sq, Sk, (int)D, st, &g_attr128);
#endif
#if ATTN_KEEP(63, 64)
		if (D == 64)
			return flash_launch<64>(qp, kp, vp, op, BH, Sq, Sk, (int)D, st, &g_attr64);
#endif
	}
	/* everything else: one warp a query row */
#if ATTN_KEEP(0, 128)
	if (D <= 128)
		return rowwise_launch<4>(qp, kp, vp, op, BH, Sq, Sk, D, st);
#endif
#if ATTN_KEEP(128, 256)
	if (D <= 256)
		return rowwise_launch<8>(qp, kp, vp, op, BH, Sq, Sk, D, st);
#endif
#if ATTN_KEEP(256, 512)
	if (D <= 512)
		return rowwise_launch<16>(qp, kp, vp, op, BH, Sq, Sk, D, st);
#endif
	return KB_ERR_SHAPE;
}
