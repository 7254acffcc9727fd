// kbreed-template: gemm_mma_f16
// family: matmul
// problems: matmul_fp16
// knob BM: 64 128 256 | default 128 | category memory access | block tile rows (of A and C); clamped so that a warp holds at most a 64x64 piece of C
// knob BN: 64 128 256 | default 256 | category memory access | block tile columns (of B and C); clamped like BM
// knob BK: 32 64 | default 64 | category memory access | depth of the K step staged in shared memory per pipeline stage
// knob WARPS: 4 8 | default 8 | category parallelism | warps per block, arranged over the tile as the grid that makes each warp's piece of C most square
// knob STAGES: 2 3 4 | default 3 | category asynchronous | depth of the cp.async ring in shared memory (STAGES-1 K steps in flight while one is computed)
// knob GROUP: 1 8 16 | default 8 | category memory access | block raster: GROUP rows of tiles are swept column by column, so their A rows and the B columns in use stay in L2
/*
 * gemm_mma_f16.cu - C = A @ B on tensor cores with mma.sync, fp16 (or bf16)
 * in and out, fp32 accumulation.
 *
 * The element type is chosen when the candidate is compiled: fp16, or bf16
 * where the problem's defines say MATMUL_BF16 (recognition writes it for a
 * bf16 product, src/recognize.c); tensors of the other type are refused
 * (KB_ERR_SHAPE). One type's kernels and headers only: both cost nvcc twice
 * the device code and cuda_bf16.h for a problem that has one.
 *
 * Layout (contiguous, row-major, all three of one dtype, fp16 or bf16):
 *   in[0]  A  (..., M, K)   e.g. (4096, 4096); leading dims fold into M
 *   in[1]  B  (K, N)        e.g. (4096, 4096)
 *   out[0] C  (..., M, N)
 *
 * Strategy. Each block computes a BM_E x BN_E tile of C (the knobs BM x BN,
 * halved along the longer side until a warp's share is at most 64x64 fp32
 * accumulators, i.e. 128 registers a thread: 256x256 with 8 warps runs as
 * 128x256, and any 4-warp tile of more than 128x128 elements runs as
 * 128x128; 256x64 stays). The warps
 * form a WM x WN grid over the tile, chosen at compile time so each warp's
 * piece WTM x WTN (multiples of 16) is as square as possible. K is walked in
 * steps of BK: A's BM_E x BK slice and B's BK x BN_E slice of each step are
 * copied into a STAGES-deep ring of shared-memory buffers with 16-byte
 * cp.async.cg (bypassing L1), STAGES-1 steps ahead of the step being
 * computed; chunks outside A or B (the M, N, K edges) are zero-filled by
 * giving cp.async a source size of 0, so edge tiles need no special case in
 * the math. One __syncthreads per K step guards the ring.
 *
 * Shared memory, per stage: A slice [BM_E][BK] then B slice [BK][BN_E], both
 * row-major, rows cut into 16-byte chunks (8 elements). Chunk c of row r is
 * stored at chunk position c ^ s(r), with s(r) = r & 7 when a row holds 8 or
 * more chunks and (r >> 1) & 3 when it holds 4 (BK = 32: two rows share a
 * 128-byte line). Any 8 consecutive rows' copies of one logical chunk then
 * fall in 8 different 16-byte bank groups, so each 8x8 matrix that ldmatrix
 * reads (8 rows x 16 bytes) and each quarter-warp's cp.async write is free
 * of bank conflicts.
 *
 * Math: per 16-deep k step a warp loads its A fragments with ldmatrix.x4
 * (one 16x16 block of A per 16 rows; lanes 0-15 address rows 0-15 at k 0-7,
 * lanes 16-31 the same rows at k 8-15) and its B fragments with
 * ldmatrix.x4.trans (one 16x16 block of B for two 8-column fragments; the
 * transpose turns N-contiguous rows of B into the "col" operand), then runs
 * mma.sync.m16n8k16.row.col.f32.{f16,bf16} over every (16-row, 8-column)
 * pair of its piece. Fragments are double-buffered in registers: the next
 * k step's are loaded while the current one's mma run; the first k step of
 * the next stage is loaded right after the barrier that makes it visible.
 *
 * Slow path: when K or N is not a multiple of 8, or the base of A or B is
 * not 16-byte aligned, rows are not 16-byte aligned; a second instantiation
 * of the kernel (VEC = false) then loads both operands element by element
 * (bounds-checked, zero beyond the edges) and writes them with ordinary
 * shared-memory stores into the same swizzled layout: correct for any shape,
 * but its loads are synchronous. Keeping it out of the fast kernel keeps the
 * fast kernel's register allocation free of spills.
 *
 * Epilogue: accumulators are rounded to fp16/bf16 and stored straight from
 * the mma fragment layout, two adjacent columns per 4-byte store when N is
 * even, element by element at the right edge; rows and columns outside C
 * are skipped. The grid is one-dimensional over tiles; GROUP > 1 orders it
 * in bands of GROUP tile rows, walked column by column (L2 reuse). K = 0
 * writes zeros. No scratch memory.
 *
 * Registers (ptxas, sm_90a): at the defaults 128 accumulators, 2 x 32
 * fragment registers and the loader's few pointers come to about 240 of
 * the 255 a thread may have with one block per SM; the loader advances
 * loop-carried pointers (chain()) rather than holding one per row. Not yet
 * measured on a GPU when written.
 */
#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 256
#endif
#ifndef BK
#define BK 64
#endif
#ifndef WARPS
#define WARPS 8
#endif
#ifndef STAGES
#define STAGES 4
#endif
#ifndef GROUP
#define GROUP 8
#endif
#ifndef MATMUL_BF16
#define MATMUL_BF16 0
#endif

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#if MATMUL_BF16
#include <cuda_bf16.h>
#endif
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/ampere.cuh" // kbreed:inline

static_assert(BM == 64 || BM == 128 || BM == 256, "BM is 64, 128 or 256");
static_assert(BN == 64 || BN == 128 || BN == 256, "BN is 64, 128 or 256");
static_assert(BK == 32 || BK == 64, "BK is 32 or 64");
static_assert(MATMUL_BF16 == 0 || MATMUL_BF16 == 1, "MATMUL_BF16 is 0 or 1");
static_assert(WARPS == 4 || WARPS == 8, "WARPS is 4 or 8");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2 to 4");
static_assert(GROUP >= 1 && GROUP <= 64, "GROUP is 1 to 64");

KBREED_CANDIDATE_ABI

#define THREADS (WARPS * 32)

/* ---- compile-time tile geometry ---------------------------------------- */

/* The knob tile, halved along its longer side while a warp's share of it
 * exceeds 64x64 accumulators. */
constexpr int tile_area_cap = 64 * 64 * WARPS;
constexpr int clamp_bm(int bm, int bn)
{
	return bm * bn <= tile_area_cap ? bm : (bm >= bn ? clamp_bm(bm / 2, bn) : clamp_bm(bm, bn / 2));
}
constexpr int clamp_bn(int bm, int bn)
{
	return bm * bn <= tile_area_cap ? bn : (bm >= bn ? clamp_bn(bm / 2, bn) : clamp_bn(bm, bn / 2));
}
constexpr int BM_E = clamp_bm(BM, BN);
constexpr int BN_E = clamp_bn(BM, BN);

/* Warps along M: the divisor of WARPS giving 16-multiple warp pieces with
 * the smallest WTM + WTN (ldmatrix work per k step), ties to fewer rows. */
constexpr bool wm_ok(int wm)
{
	return WARPS % wm == 0 && BM_E % (wm * 16) == 0 && BN_E % ((WARPS / wm) * 16) == 0;
}
constexpr int wm_cost(int wm) { return BM_E / wm + BN_E / (WARPS / wm); }
constexpr int pick_wm()
{
	int best = 0;
	for (int wm = 1; wm <= WARPS; wm *= 2)
		if (wm_ok(wm) && (best == 0 || wm_cost(wm) < wm_cost(best)))
			best = wm;
	return best;
}
constexpr int WM = pick_wm();
constexpr int WN = WARPS / (WM > 0 ? WM : 1);
constexpr int WTM = BM_E / (WM > 0 ? WM : 1); /* warp piece rows */
constexpr int WTN = BN_E / WN;                /* warp piece columns */
constexpr int MI = WTM / 16;                  /* m16 fragments per warp */
constexpr int NI = WTN / 8;                   /* n8 fragments per warp */
constexpr int KS = BK / 16;                   /* k16 steps per stage */

static_assert(WM > 0 && WM * WN == WARPS, "no warp layout for this tile");
static_assert(WTM % 16 == 0 && WTN % 16 == 0 && NI % 2 == 0, "warp piece");
static_assert(MI * NI * 4 <= 128, "at most 128 accumulators a thread");
static_assert(KS % 2 == 0, "fragment buffers alternate: stage starts use buffer 0");

constexpr int A_CPR = BK / 8;                 /* 16-byte chunks per A row */
constexpr int B_CPR = BN_E / 8;               /* 16-byte chunks per B row */
constexpr int A_STAGE = BM_E * BK * 2;        /* bytes */
constexpr int B_STAGE = BK * BN_E * 2;
constexpr int STAGE_BYTES = A_STAGE + B_STAGE;
constexpr int SMEM_BYTES = STAGES * STAGE_BYTES;
constexpr int A_ITERS = BM_E * A_CPR / THREADS; /* chunks a thread copies per stage */
constexpr int B_ITERS = BK * B_CPR / THREADS;
constexpr int A_RSTEP = THREADS / A_CPR;      /* row distance between a thread's chunks */
constexpr int B_RSTEP = THREADS / B_CPR;

static_assert(THREADS % A_CPR == 0 && THREADS % B_CPR == 0, "loader mapping");
static_assert(A_ITERS >= 1 && A_ITERS * THREADS == BM_E * A_CPR, "A loader");
static_assert(B_ITERS >= 1 && B_ITERS * THREADS == BK * B_CPR, "B loader");
static_assert(A_RSTEP % 8 == 0, "A chunks of one thread share their swizzle");
static_assert(SMEM_BYTES <= 227 * 1024, "shared memory");

/* Stored chunk position of logical chunk c in row r of a tile whose rows
 * hold CPR 16-byte chunks. */
template <int CPR> __device__ __forceinline__ int swz(int r, int c)
{
	static_assert(CPR == 4 || CPR >= 8, "rows of 4 or at least 8 chunks");
	return CPR >= 8 ? c ^ (r & 7) : c ^ ((r >> 1) & 3);
}

/* ---- PTX wrappers: cp.async, ldmatrix, mma.sync in templates/common; here this kernel's own ---- */

__device__ __forceinline__ void st_shared16(uint32_t dst, uint4 v)
{
	asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst), "r"(v.x), "r"(v.y),
		     "r"(v.z), "r"(v.w)
		     : "memory");
}
/* The element type, as the problem's defines say (only that one is compiled),
 * and its conversions. */
#if MATMUL_BF16
typedef __nv_bfloat16 elem_t;
typedef __nv_bfloat162 elem2_t;
#define ELEM_KB KB_BF16
#define ELEM_MMA mma_m16n8k16_bf16
#define ELEM2_RN __floats2bfloat162_rn
#define ELEM_RN __float2bfloat16_rn
#else
typedef __half elem_t;
typedef __half2 elem2_t;
#define ELEM_KB KB_F16
#define ELEM_MMA mma_m16n8k16_f16
#define ELEM2_RN __floats2half2_rn
#define ELEM_RN __float2half_rn
#endif
/* d += a * b for one m16n8k16 fragment of T (elem_t: the kernel is
 * instantiated for no other). */
template <typename T> struct mma_op {
	static __device__ __forceinline__ void run(float d[4], const uint32_t a[4], const uint32_t b[2])
	{
		ELEM_MMA(d, a, b[0], b[1]);
	}
	static __device__ __forceinline__ uint32_t pack(float x, float y)
	{
		elem2_t h = ELEM2_RN(x, y);
		return *reinterpret_cast<uint32_t *>(&h);
	}
	static __device__ __forceinline__ T one(float x) { return ELEM_RN(x); }
};

/* ---- the kernel --------------------------------------------------------- */

struct gemm_args {
	const uint16_t *A; /* (M, K), 16-bit elements */
	const uint16_t *B; /* (K, N) */
	void *C;           /* (M, N) */
	int64_t M, N, K;
	int tiles_m, tiles_n;
	int c_vec;         /* 1: N even and C 4-byte aligned, paired stores */
};

/* p + step, computed as a chain of additions the compiler cannot fold back
 * into per-row offsets kept live across the main loop. */
__device__ __forceinline__ const uint16_t *chain(const uint16_t *p, int64_t step)
{
	p += step;
	asm("" : "+l"(p));
	return p;
}

/* The first n (0..8) of the 8 elements at p, zeros after them, read one
 * element at a time (p need not be aligned; nothing beyond p[n-1] is read). */
__device__ __forceinline__ uint4 load8_guarded(const uint16_t *p, int n)
{
	uint32_t w[4] = {0u, 0u, 0u, 0u};
#pragma unroll
	for (int j = 0; j < 8; j++)
		if (j < n)
			w[j >> 1] |= (uint32_t)__ldg(p + j) << (16 * (j & 1));
	return make_uint4(w[0], w[1], w[2], w[3]);
}

/* VEC: rows of A and B are 16-byte aligned (K % 8 == 0, N % 8 == 0, aligned
 * bases): cp.async path; else the element-wise path for both. */
template <typename T, bool VEC>
__global__ void __launch_bounds__(THREADS, 1) gemm_mma_kernel(const gemm_args g)
{
	extern __shared__ __align__(128) unsigned char smem[];
	const uint32_t smem0 = smem_u32(smem);
	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int64_t M = g.M, N = g.N, K = g.K;

	/* block raster: bands of GROUP tile rows, column by column inside a band */
	int tm, tn;
	{
		const int64_t bid = blockIdx.x;
		const int64_t per_band = (int64_t)GROUP * g.tiles_n;
		const int64_t band = bid / per_band;
		const int64_t first = band * GROUP;
		const int64_t rows = min((int64_t)g.tiles_m - first, (int64_t)GROUP);
		const int64_t in_band = bid - band * per_band;
		tm = (int)(first + in_band % rows);
		tn = (int)(in_band / rows);
	}
	const int64_t m0 = (int64_t)tm * BM_E, n0 = (int64_t)tn * BN_E;
	const int ktiles = (int)((K + BK - 1) / BK);

	/* loader: this thread copies rows a_r0 + i * A_RSTEP (i < A_ITERS) of
	 * the A slice at chunk a_c, and rows b_r0 + i * B_RSTEP of the B slice at
	 * chunk b_c. Stages are loaded in K order, so the loader keeps pointers to
	 * the next stage's first chunks and what is left of K, and advances them
	 * (loop-carried state rather than per-row pointers held across the loop). */
	const int a_r0 = tid / A_CPR, a_c = tid % A_CPR;
	const int b_r0 = tid / B_CPR, b_c = tid % B_CPR;
	const uint32_t a_st = (uint32_t)(a_r0 * BK * 2 + swz<A_CPR>(a_r0, a_c) * 16);
	/* A row i valid when i * A_RSTEP < a_rows (m0 < M, so this fits an int) */
	const int a_rows = (int)min(M - (m0 + a_r0), (int64_t)BM_E);
	const bool b_cok = n0 + b_c * 8 < N;    /* chunk column inside B (N % 8 == 0 path) */
	const int b_cleft = (int)min(N - (n0 + b_c * 8), (int64_t)8); /* columns of it inside B */
	const uint16_t *a_p = g.A + (m0 + a_r0) * K + a_c * 8; /* row a_r0 of the next stage */
	const uint16_t *b_p = g.B + (int64_t)b_r0 * N + n0 + b_c * 8;
	const int64_t a_rs = (int64_t)A_RSTEP * K, b_rs = (int64_t)B_RSTEP * N; /* row steps */
	int64_t kleft = K; /* K - (first k of the next stage) */

	auto load_next = [&](int slot) {
		const uint32_t sa = smem0 + slot * STAGE_BYTES;
		const uint32_t sb = sa + A_STAGE;
		const uint16_t *q = a_p;
		const int64_t a_kleft = kleft - a_c * 8; /* columns from this thread's chunk on */
		const int64_t b_kleft = kleft - b_r0;    /* rows from this thread's first row on */
		if (VEC) {
			const bool kok = a_kleft > 0; /* K % 8 == 0: a chunk is all in or all out */
#pragma unroll
			for (int i = 0; i < A_ITERS; i++) {
				const bool ok = kok && i * A_RSTEP < a_rows;
				cp_async16(sa + a_st + i * A_RSTEP * BK * 2, ok ? q : g.A, ok ? 16 : 0);
				q = chain(q, a_rs);
			}
		} else {
			const int kn = (int)min(a_kleft, (int64_t)8);
#pragma unroll
			for (int i = 0; i < A_ITERS; i++) {
				st_shared16(sa + a_st + i * A_RSTEP * BK * 2,
					    load8_guarded(q, i * A_RSTEP < a_rows ? kn : 0));
				q = chain(q, a_rs);
			}
		}
		q = b_p;
#pragma unroll
		for (int i = 0; i < B_ITERS; i++) {
			const int r = b_r0 + i * B_RSTEP;
			const bool rok = i * B_RSTEP < b_kleft;
			const uint32_t dst = sb + r * BN_E * 2 + swz<B_CPR>(r, b_c) * 16;
			if (VEC) {
				const bool ok = rok && b_cok;
				cp_async16(dst, ok ? q : g.B, ok ? 16 : 0);
			} else {
				st_shared16(dst, load8_guarded(q, rok ? b_cleft : 0));
			}
			q = chain(q, b_rs);
		}
		a_p += BK;
		b_p += (int64_t)BK * N;
		kleft -= BK;
	};

	/* fragment addresses inside a stage: A rows wm * WTM + mi * 16 + (lane & 15),
	 * logical chunk kk * 2 + (lane >> 4); B rows kk * 16 + (lane & 15), chunk
	 * (wn * WTN) / 8 + nj * 2 + (lane >> 4). Both swizzles depend on lane only. */
	const int wm = warp / WN, wn = warp % WN;
	const int lr = lane & 15, lh = lane >> 4;
	const uint32_t a_frag = (uint32_t)((wm * WTM + lr) * BK * 2);
	uint32_t a_kx[KS];
#pragma unroll
	for (int kk = 0; kk < KS; kk++)
		a_kx[kk] = (uint32_t)(swz<A_CPR>(lr, kk * 2 + lh) * 16);
	const uint32_t b_frag = (uint32_t)(A_STAGE + lr * BN_E * 2);
	uint32_t b_nx[NI / 2];
#pragma unroll
	for (int nj = 0; nj < NI / 2; nj++)
		b_nx[nj] = (uint32_t)(swz<B_CPR>(lr, (wn * WTN) / 8 + nj * 2 + lh) * 16);

	uint32_t af[2][MI][4], bf[2][NI][2];
	auto load_frags = [&](int buf, int slot, int kk) {
		const uint32_t base = smem0 + slot * STAGE_BYTES;
#pragma unroll
		for (int mi = 0; mi < MI; mi++)
			ldsm_x4(af[buf][mi], base + a_frag + mi * 16 * BK * 2 + a_kx[kk]);
#pragma unroll
		for (int nj = 0; nj < NI / 2; nj++) {
			uint32_t r[4];
			ldsm_x4_t(r, base + b_frag + kk * 16 * BN_E * 2 + b_nx[nj]);
			bf[buf][2 * nj][0] = r[0];
			bf[buf][2 * nj][1] = r[1];
			bf[buf][2 * nj + 1][0] = r[2];
			bf[buf][2 * nj + 1][1] = r[3];
		}
	};

	float acc[MI][NI][4];
#pragma unroll
	for (int mi = 0; mi < MI; mi++)
#pragma unroll
		for (int ni = 0; ni < NI; ni++)
#pragma unroll
			for (int j = 0; j < 4; j++)
				acc[mi][ni][j] = 0.0f;

	/* prologue: stages 0 .. STAGES-2 in flight, one commit group each */
#pragma unroll
	for (int s = 0; s < STAGES - 1; s++) {
		if (s < ktiles)
			load_next(s);
		cp_async_commit();
	}
	if (ktiles > 0) {
		cp_async_wait<STAGES - 2>();
		__syncthreads();
		load_frags(0, 0, 0);
	}

	int slot = 0; /* slot of stage kt */
	for (int kt = 0; kt < ktiles; kt++) {
		/* refill the slot read during step kt-1 (every warp is past the
		 * barrier that ended it) with step kt + STAGES - 1 */
		{
			const int nk = kt + STAGES - 1;
			int ns = slot + STAGES - 1;
			ns = ns >= STAGES ? ns - STAGES : ns;
			if (nk < ktiles)
				load_next(ns);
			cp_async_commit();
		}
		const int next_slot = slot + 1 == STAGES ? 0 : slot + 1;
#pragma unroll
		for (int kk = 0; kk < KS; kk++) {
			if (kk + 1 < KS) {
				load_frags((kk + 1) & 1, slot, kk + 1);
			} else if (kt + 1 < ktiles) {
				/* step kt+1 has landed (at most STAGES-2 newer groups
				 * pending) and every warp is done with slot `slot` */
				cp_async_wait<STAGES - 2>();
				__syncthreads();
				load_frags(0, next_slot, 0); /* KS is even: buffer 0 */
			}
#pragma unroll
			for (int mi = 0; mi < MI; mi++)
#pragma unroll
				for (int ni = 0; ni < NI; ni++)
					mma_op<T>::run(acc[mi][ni], af[kk & 1][mi], bf[kk & 1][ni]);
		}
		slot = next_slot;
	}
	cp_async_wait<0>(); /* only empty groups can remain; drain them anyway */

	/* epilogue: fragment element j of (mi, ni) is row g + 8 * (j >> 1),
	 * column 2 * (lane & 3) + (j & 1) of that 16x8 block, g = lane >> 2 */
	T *C = reinterpret_cast<T *>(g.C);
	const int64_t rbase = m0 + wm * WTM + (lane >> 2);
	const int64_t cbase = n0 + wn * WTN + 2 * (lane & 3);
#pragma unroll
	for (int mi = 0; mi < MI; mi++) {
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const int64_t r = rbase + mi * 16 + h * 8;
			if (r >= M)
				continue;
			T *crow = C + r * N;
#pragma unroll
			for (int ni = 0; ni < NI; ni++) {
				const int64_t c = cbase + ni * 8;
				const float x = acc[mi][ni][2 * h], y = acc[mi][ni][2 * h + 1];
				if (g.c_vec && c + 1 < N) {
					*reinterpret_cast<uint32_t *>(crow + c) = mma_op<T>::pack(x, y);
				} else {
					if (c < N)
						crow[c] = mma_op<T>::one(x);
					if (c + 1 < N)
						crow[c + 1] = mma_op<T>::one(y);
				}
			}
		}
	}
}

/* ---- host side ---------------------------------------------------------- */

template <typename T, bool VEC> static int launch(const gemm_args &g, cudaStream_t st)
{
	static bool attr = false; /* the attribute outlives the call; set it once */
	if (!attr) {
		if (cudaFuncSetAttribute((const void *)gemm_mma_kernel<T, VEC>,
					 cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES) != cudaSuccess)
			return KB_ERR_LAUNCH;
		attr = true;
	}
	const unsigned grid = (unsigned)g.tiles_m * (unsigned)g.tiles_n;
	gemm_mma_kernel<T, VEC><<<grid, THREADS, SMEM_BYTES, st>>>(g);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 2 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *a = &in[0], *b = &in[1];
	kb_tensor *c = &out[0];
	const int32_t dt = a->dtype;
	if (dt != ELEM_KB || b->dtype != dt || c->dtype != dt)
		return KB_ERR_SHAPE;
	if (a->ndim < 2 || a->ndim > KBREED_MAX_DIMS || b->ndim != 2 || c->ndim != a->ndim)
		return KB_ERR_SHAPE;
	const int nd = a->ndim;
	const int64_t K = a->shape[nd - 1], N = b->shape[1];
	if (K < 0 || N < 0 || b->shape[0] != K || c->shape[nd - 1] != N)
		return KB_ERR_SHAPE;
	int64_t M = 1;
	for (int i = 0; i < nd - 1; i++) {
		if (a->shape[i] < 0 || c->shape[i] != a->shape[i])
			return KB_ERR_SHAPE;
		M *= a->shape[i];
	}
	if (M == 0 || N == 0)
		return KB_OK; /* nothing to write */

	gemm_args g;
	g.A = (const uint16_t *)a->data;
	g.B = (const uint16_t *)b->data;
	g.C = c->data;
	g.M = M;
	g.N = N;
	g.K = K;
	const int64_t tiles_m = (M + BM_E - 1) / BM_E, tiles_n = (N + BN_E - 1) / BN_E;
	if (tiles_m * tiles_n > 2147483647LL)
		return KB_ERR_SHAPE; /* beyond a one-dimensional grid */
	g.tiles_m = (int)tiles_m;
	g.tiles_n = (int)tiles_n;
	const bool vec = K % 8 == 0 && N % 8 == 0 && (uintptr_t)a->data % 16 == 0 &&
			 (uintptr_t)b->data % 16 == 0;
	g.c_vec = N % 2 == 0 && (uintptr_t)c->data % 4 == 0;
	cudaStream_t st = (cudaStream_t)stream;
	return vec ? launch<elem_t, true>(g, st) : launch<elem_t, false>(g, st);
}
