// kbreed-template: gemm_tf32
// family: matmul
// problems: matmul_fp32
// knob BM: 64 128 256 | default 128 | category memory access | rows of C per block (halved, like BN, until the accumulators fit: 64 per thread and array at PRECISION=3, 128 at PRECISION=1)
// knob BN: 64 128 256 | default 256 | category memory access | columns of C per block (the default runs as 128 at PRECISION=3 after the clamp)
// knob BK: 16 32 | default 32 | category memory access | depth of the A and B slices staged per pipeline step
// knob WARPS: 4 8 | default 8 | category parallelism | warps per block; the warp grid (along M x along N) is derived from the block tile
// knob STAGES: 2 3 4 | default 4 | category asynchronous | shared-memory ring of cp.async slices (fewer where the ring would pass 227 KB)
// knob PRECISION: 1 3 | default 3 | category data type | loose 1 | 1 = inputs rounded once to TF32 (fast; within 1e-2, not 1e-4, at K = 4096); 3 = 3xTF32 split (big*big + big*small + small*big), about fp32 accuracy (a K longer than 8192 is cut into pieces, see SPLIT_K)
// knob SPLIT_K: 0 1 2 4 8 16 32 | default 0 | category parallelism | K ranges computed by separate blocks into fp32 partial sums, added in a fixed order by a second pass; 0 = as many as it takes to give every SM a block when there are fewer tiles than SMs (large K, small M x N), 1 = none; at PRECISION=3 in every case pieces of at most 8192 K
/*
 * gemm_tf32.cu - C = A @ B in fp32 on the tensor cores (TF32 mma.sync).
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  A  (M, K)   e.g. (4096, 4096)
 *   in[1]  B  (K, N)   e.g. (4096, 4096)
 *   out[0] C  (M, N)
 * Any M, N, K >= 0 (each below 2^31 - 1024); rank 2 only.
 *
 * Strategy. A block computes a TBM x TBN tile of C (BM x BN after the
 * register clamp below) with WARPS warps; the grid is one-dimensional and
 * rastered in groups of 8 block rows, so that blocks running together share
 * slices of A and B in L2. The K dimension is walked in BK-deep slices: the
 * A slice (TBM x BK) and the B slice (BK x TBN) of each step are copied with
 * cp.async into a ring of STAGES shared-memory buffers, STAGES-1 steps ahead
 * of the one being multiplied, with one __syncthreads per step. Elements
 * outside the matrices are zero-filled by the copies (src-size 0), so edge
 * tiles need no special case until the final stores. The copies are 16 bytes
 * wide when K % 4 == 0, N % 4 == 0 and A, B, C are 16-byte aligned (the VEC
 * instantiation), else 4 bytes wide (same layout, same pipeline).
 *
 * Shared memory, per stage (fp32):
 *   sA[TBM][BK + 4]   row-major as in A; the 4-float pad makes the eight
 *                     16-byte rows read by each ldmatrix phase hit distinct
 *                     banks (row stride = 4 banks mod 32).
 *   sB[BK][TBN + 8]   row-major as in B; the 8-float pad (row stride = 8
 *                     banks mod 32) makes the 128-bit fragment loads below
 *                     conflict-free.
 *
 * Warp tile WTM x WTN = (TBM / WARPS_M) x (TBN / WARPS_N), a grid of
 * MT = WTM/16 by NT = WTN/8 mma tiles of m16n8k8 (WTM % 16 == 0, WTN % 32
 * == 0; the warp grid is the one with the squarest warp tile). Per 8-deep k
 * step (g = lane / 4, t = lane % 4):
 *   A fragments: one ldmatrix.x4 (b16 8x8 matrices = 8 rows x 4 fp32) per
 *     m16 tile: lanes 0-7 give rows 0-7 at k 0-3 (-> a0), lanes 8-15 rows
 *     8-15 at k 0-3 (-> a1), lanes 16-23 rows 0-7 at k 4-7 (-> a2), lanes
 *     24-31 rows 8-15 at k 4-7 (-> a3); each thread then holds A[g(+8)][t(+4)]
 *     as the mma's A layout wants.
 *   B fragments: the mma wants b0 = B[k = t][n = g], b1 = B[t + 4][g]. The
 *     n order inside the warp tile is permuted so that one thread's values
 *     are contiguous: in each 32-column chunk h of the warp tile, mma tile
 *     j = 4h + jj uses for its n-index c the physical column 32h + 4c + jj.
 *     Thread (g, t) then reads B[t][32h + 4g .. +3] and B[t + 4][...] as two
 *     float4 (b0, b1 of tiles 4h..4h+3); per 8-thread phase the rows t give
 *     bank offsets 0, 8, 16, 24 and g = 0/1 adds 0/4: no conflicts.
 *   C: c0, c1 (row g) and c2, c3 (row g + 8) of tile 4h + jj sit at columns
 *     32h + 8t + jj and 32h + 8t + 4 + jj, so a thread owns 8 contiguous
 *     columns per chunk and row and stores them as two float4.
 * Fragments are converted with cvt.rna.tf32.f32 as they are built.
 * PRECISION=3 splits each value x into big = tf32(x) and small = tf32(x -
 * big) (x - big is exact in fp32) and accumulates small*big and big*small
 * into a second accumulator array and big*big into the first; C = first +
 * second. small*small (about 2^-22 relative) is dropped. Keeping the
 * corrections apart means the main accumulator is rounded once per 8 k, not
 * three times. Tensor-core accumulation is not IEEE round-to-nearest
 * (published measurements of earlier generations show truncation); a CPU
 * model with exact 8-term sums truncated into the accumulator put one shared
 * accumulator at ~0.7 of the strict tolerance (1e-4 * max(1, rms) + 1e-4 *
 * |ref|) at K = 4096 (randn inputs), separate ones at ~0.23, plain TF32 at
 * ~11: PRECISION=1 passes only looser tolerances, such as 1e-2. The drift
 * grows with K: on the H200, K = 40003 took every PRECISION=3 setting past
 * the strict tolerance, so at PRECISION=3 no sum on the tensor cores is
 * longer than MAX_K_STRICT (8192, about half the tolerance by the model):
 * a longer K is cut into pieces (below).
 * Split K. The K range is cut into nsplit pieces of klen (a multiple of
 * BK): SPLIT_K of them, or (0) enough to give every SM a block when the
 * tiles are fewer than the SMs (M = N = 256, K = 524288 makes 4 tiles of
 * 128 x 128); at PRECISION=3 at least enough that none is longer than
 * MAX_K_STRICT. blockIdx.y is the piece: its blocks read A's columns and
 * B's rows of that range and store their tile's fp32 result into a scratch
 * array of partial sums (cudaMallocAsync on the stream), piece p at p * M *
 * N; sum_pieces_kernel (templates/common/split_k.cuh) then adds the pieces
 * in order into C, in IEEE fp32 (deterministic, no atomics). With one piece
 * the blocks store into C and there is no scratch.
 * Register clamp: each thread holds TBM*TBN/(32*WARPS) accumulators per
 * array; the block tile is halved (the longer side first, BN when square)
 * until that is at most 64 (PRECISION=3, two arrays) or 128 (PRECISION=1).
 * The defaults run 128 x 128 tiles of 8 warps with 64 x 32 warp tiles at
 * PRECISION=3 and 128 x 256 with 64 x 64 warp tiles at PRECISION=1.
 * Inf/NaN inputs propagate as NaN with PRECISION=3 (small = inf - inf).
 * No scratch memory without a split. Untimed on a GPU when written: the fragment, copy and
 * store index maps were checked against a CPU model of ldmatrix and mma for
 * every knob setting and ragged shapes, not on hardware.
 */
#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 256
#endif
#ifndef BK
#define BK 32
#endif
#ifndef WARPS
#define WARPS 8
#endif
#ifndef STAGES
#define STAGES 4
#endif
#ifndef PRECISION
#define PRECISION 3
#endif
#ifndef SPLIT_K
#define SPLIT_K 0
#endif
/* The longest K the 3xTF32 accumulation keeps within the strict tolerance. */
#define MAX_K_STRICT 8192

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/ampere.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline
#include "../common/split_k.cuh" // kbreed:inline

static_assert(BM == 64 || BM == 128 || BM == 256, "BM is 64, 128 or 256");
static_assert(BN == 64 || BN == 128 || BN == 256, "BN is 64, 128 or 256");
static_assert(BK == 16 || BK == 32, "BK is 16 or 32");
static_assert(WARPS == 4 || WARPS == 8, "WARPS is 4 or 8");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2, 3 or 4");
static_assert(PRECISION == 1 || PRECISION == 3, "PRECISION is 1 or 3");
static_assert(SPLIT_K >= 0 && SPLIT_K <= 32, "SPLIT_K is 0 to 32");

KBREED_CANDIDATE_ABI

#define NTHREADS (WARPS * 32)
#define GROUP 8 /* block rows per raster group */

/* Accumulators per thread and array, and the block tile that respects it. */
constexpr int ACC_CAP = PRECISION == 3 ? 64 : 128;
constexpr int clamp_side(int bm, int bn, int lim, bool want_m)
{
	while (bm * bn > lim) {
		if (bn >= bm)
			bn /= 2;
		else
			bm /= 2;
	}
	return want_m ? bm : bn;
}
constexpr int TBM = clamp_side(BM, BN, ACC_CAP * NTHREADS, true);
constexpr int TBN = clamp_side(BM, BN, ACC_CAP * NTHREADS, false);

/* Warps along M: the grid with the squarest warp tile (WTM % 16 == 0, WTN % 32 == 0). */
constexpr int pick_warps_m(int bm, int bn, int w)
{
	int best = 0, cost = 1 << 30;
	for (int wm = 1; wm <= w; wm *= 2) {
		int wn = w / wm;
		if (bm % wm || bn % wn)
			continue;
		int tm = bm / wm, tn = bn / wn;
		if (tm % 16 || tn % 32)
			continue;
		if (tm + tn < cost) {
			cost = tm + tn;
			best = wm;
		}
	}
	return best;
}
constexpr int WARPS_M = pick_warps_m(TBM, TBN, WARPS);
static_assert(WARPS_M > 0, "no warp grid fits the block tile");
constexpr int WARPS_N = WARPS / WARPS_M;
constexpr int WTM = TBM / WARPS_M; /* warp tile rows */
constexpr int WTN = TBN / WARPS_N; /* warp tile columns */
constexpr int MT = WTM / 16;       /* m16 tiles per warp */
constexpr int NT = WTN / 8;        /* n8 tiles per warp */
constexpr int NH = WTN / 32;       /* 32-column chunks per warp */
static_assert(MT * NT * 4 <= ACC_CAP, "accumulator clamp");

constexpr int SA = BK + 4;   /* sA row stride, floats */
constexpr int SB = TBN + 8;  /* sB row stride, floats */
constexpr int STAGE_FLOATS = TBM * SA + BK * SB;
constexpr int SMEM_LIMIT = 227 * 1024;
constexpr int clamp_stages(int s)
{
	while (s > 2 && s * STAGE_FLOATS * 4 > SMEM_LIMIT)
		s--;
	return s;
}
constexpr int NSTAGE = clamp_stages(STAGES);
constexpr int SMEM_BYTES = NSTAGE * STAGE_FLOATS * 4;
static_assert(SMEM_BYTES <= SMEM_LIMIT, "shared memory");

/* Copies per thread per stage: 16-byte chunks (VEC) or single floats. */
constexpr int A_CHUNKS = TBM * BK / 4, B_CHUNKS = BK * TBN / 4;
static_assert(A_CHUNKS % NTHREADS == 0 && B_CHUNKS % NTHREADS == 0, "chunks per thread");
static_assert(NTHREADS % (BK / 4) == 0 && NTHREADS % (TBN / 4) == 0, "chunk columns per thread");

/* The stage copies, from float pointers: `ok` false reads nothing and zero-fills. */
__device__ __forceinline__ void cp_async16_f(float *dst, const float *src, bool ok)
{
	cp_async16(smem_u32(dst), src, ok ? 16 : 0);
}

__device__ __forceinline__ void cp_async4_f(float *dst, const float *src, bool ok)
{
	cp_async4(smem_u32(dst), src, ok ? 4 : 0);
}

__device__ __forceinline__ float comp(const float4 &v, int j)
{
	return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
}

/* Issue the copies of k-slice k0 into one stage (sA, sB); K is the piece's
 * length, lda the distance between A's rows. */
template <bool VEC>
__device__ __forceinline__ void load_stage(float *sA, float *sB, const float *__restrict__ A,
					   const float *__restrict__ B, int M, int N, int K, int64_t lda,
					   int m0, int n0, int k0, int tid)
{
	if (VEC) {
		/* a thread's chunks lie AR rows (A) or BR rows (B) apart in one column */
		constexpr int AR = NTHREADS / (BK / 4), BR = NTHREADS / (TBN / 4);
		const int ar = tid / (BK / 4), akc = (tid % (BK / 4)) * 4;
		const int br = tid / (TBN / 4), bnc = (tid % (TBN / 4)) * 4;
		const bool a_in = k0 + akc < K; /* K % 4 == 0: the chunk is all in or all out */
		const bool b_in = n0 + bnc < N; /* N % 4 == 0: likewise */
		const float *ap = A + (int64_t)(m0 + ar) * lda + (k0 + akc);
		const float *bp = B + (int64_t)(k0 + br) * N + (n0 + bnc);
#pragma unroll
		for (int i = 0; i < A_CHUNKS / NTHREADS; i++) {
			const int r = ar + i * AR;
			const bool ok = a_in && m0 + r < M;
			cp_async16_f(sA + r * SA + akc, ok ? ap + (int64_t)(i * AR) * lda : A, ok);
		}
#pragma unroll
		for (int i = 0; i < B_CHUNKS / NTHREADS; i++) {
			const int r = br + i * BR;
			const bool ok = b_in && k0 + r < K;
			cp_async16_f(sB + r * SB + bnc, ok ? bp + (int64_t)(i * BR) * N : B, ok);
		}
	} else {
#pragma unroll 4
		for (int i = 0; i < 4 * A_CHUNKS / NTHREADS; i++) {
			int c = tid + i * NTHREADS;
			int r = c / BK, kc = c % BK;
			int gm = m0 + r, gk = k0 + kc;
			bool ok = gm < M && gk < K;
			cp_async4_f(sA + r * SA + kc, ok ? A + (int64_t)gm * lda + gk : A, ok);
		}
#pragma unroll 4
		for (int i = 0; i < 4 * B_CHUNKS / NTHREADS; i++) {
			int c = tid + i * NTHREADS;
			int r = c / TBN, nc = c % TBN;
			int gk = k0 + r, gn = n0 + nc;
			bool ok = gk < K && gn < N;
			cp_async4_f(sB + r * SB + nc, ok ? B + (int64_t)gk * N + gn : B, ok);
		}
	}
}

template <bool VEC>
__global__ void __launch_bounds__(NTHREADS, 1)
gemm_tf32_kernel(const float *__restrict__ A, /* (M, Kall), rows lda apart */
		 const float *__restrict__ B, /* (Kall, N) */
		 float *__restrict__ C,       /* (M, N), or nsplit of them: the partial sums */
		 int M, int N, int Kall, int klen)
{
	/* This block's K piece: columns [k_begin, k_begin + K) of A, rows of B. */
	const int64_t lda = Kall;
	const int k_begin = blockIdx.y * klen;
	const int K = min(klen, Kall - k_begin);
	A += k_begin;
	B += (int64_t)k_begin * N;
	C += (int64_t)blockIdx.y * M * N;
	extern __shared__ float4 smem4[];
	float *smem = reinterpret_cast<float *>(smem4);
	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
	const int g = lane >> 2, t = lane & 3;

	/* Grouped raster: GROUP block rows share each sweep over the block columns. */
	const int tiles_m = (M + TBM - 1) / TBM, tiles_n = (N + TBN - 1) / TBN;
	const int per_group = GROUP * tiles_n;
	const int pid = blockIdx.x;
	const int first_m = (pid / per_group) * GROUP;
	const int gsize = min(tiles_m - first_m, GROUP);
	const int pid_m = first_m + (pid % per_group) % gsize;
	const int pid_n = (pid % per_group) / gsize;
	const int m0 = pid_m * TBM, n0 = pid_n * TBN;

	const int wm0 = (warp / WARPS_N) * WTM, wn0 = (warp % WARPS_N) * WTN;

	float acc[MT][NT][4];
#if PRECISION == 3
	float cor[MT][NT][4];
#endif
#pragma unroll
	for (int i = 0; i < MT; i++)
#pragma unroll
		for (int j = 0; j < NT; j++)
#pragma unroll
			for (int e = 0; e < 4; e++) {
				acc[i][j][e] = 0.0f;
#if PRECISION == 3
				cor[i][j][e] = 0.0f;
#endif
			}

	const int KT = (K + BK - 1) / BK;

	/* Prologue: the first NSTAGE-1 slices in flight (one commit group each). */
#pragma unroll
	for (int s = 0; s < NSTAGE - 1; s++) {
		if (s < KT)
			load_stage<VEC>(smem + s * STAGE_FLOATS, smem + s * STAGE_FLOATS + TBM * SA, A, B,
					M, N, K, lda, m0, n0, s * BK, tid);
		cp_async_commit();
	}

	/* Lane-dependent parts of the fragment addresses. */
	const uint32_t smem_u = smem_u32(smem);
	const uint32_t a_lane =
		(uint32_t)(((wm0 + (lane & 7) + ((lane >> 3) & 1) * 8) * SA + (lane >> 4) * 4) * 4);
	const int b_lane = t * SB + wn0 + g * 4;

	for (int kt = 0; kt < KT; kt++) {
		/* slice kt has landed (at most NSTAGE-2 newer groups pending) ... */
		cp_async_wait<NSTAGE - 2>();
		/* ... for every thread, and every warp is done with slice kt-1 */
		__syncthreads();
		{
			int nk = kt + NSTAGE - 1; /* refill the stage slice kt-1 used */
			if (nk < KT) {
				int s = nk % NSTAGE;
				load_stage<VEC>(smem + s * STAGE_FLOATS, smem + s * STAGE_FLOATS + TBM * SA,
						A, B, M, N, K, lda, m0, n0, nk * BK, tid);
			}
			cp_async_commit();
		}
		const int s = kt % NSTAGE;
		const uint32_t sA_u = smem_u + (uint32_t)(s * STAGE_FLOATS * 4);
		const float *sB = smem + s * STAGE_FLOATS + TBM * SA;

#pragma unroll
		for (int kk = 0; kk < BK / 8; kk++) {
			uint32_t a_raw[MT][4];
#pragma unroll
			for (int i = 0; i < MT; i++)
				ldsm_x4(a_raw[i], sA_u + a_lane + (uint32_t)((i * 16 * SA + kk * 8) * 4));
			uint32_t b_big[NT][2];
#if PRECISION == 3
			uint32_t b_small[NT][2];
#endif
#pragma unroll
			for (int h = 0; h < NH; h++) {
				const float *bp = sB + b_lane + kk * 8 * SB + h * 32;
				float4 lo = *reinterpret_cast<const float4 *>(bp);          /* k = t     */
				float4 hi = *reinterpret_cast<const float4 *>(bp + 4 * SB); /* k = t + 4 */
#pragma unroll
				for (int jj = 0; jj < 4; jj++) {
					float x0 = comp(lo, jj), x1 = comp(hi, jj);
#if PRECISION == 3
					tf32_split(x0, b_big[4 * h + jj][0], b_small[4 * h + jj][0]);
					tf32_split(x1, b_big[4 * h + jj][1], b_small[4 * h + jj][1]);
#else
					b_big[4 * h + jj][0] = to_tf32(x0);
					b_big[4 * h + jj][1] = to_tf32(x1);
#endif
				}
			}
			/* one m16 row of tiles at a time: its A halves are live only here */
#pragma unroll
			for (int i = 0; i < MT; i++) {
				uint32_t a_big[4];
#if PRECISION == 3
				uint32_t a_small[4];
#endif
#pragma unroll
				for (int e = 0; e < 4; e++) {
					float x = __uint_as_float(a_raw[i][e]);
#if PRECISION == 3
					tf32_split(x, a_big[e], a_small[e]);
#else
					a_big[e] = to_tf32(x);
#endif
				}
#pragma unroll
				for (int j = 0; j < NT; j++) {
#if PRECISION == 3
					mma_m16n8k8_tf32(cor[i][j], a_small, b_big[j][0], b_big[j][1]);
					mma_m16n8k8_tf32(cor[i][j], a_big, b_small[j][0], b_small[j][1]);
#endif
					mma_m16n8k8_tf32(acc[i][j], a_big, b_big[j][0], b_big[j][1]);
				}
			}
		}
	}
	cp_async_wait<0>(); /* nothing may land in shared memory after exit */

	/* Epilogue: per m16 tile, rows g and g+8; per chunk h, 8 contiguous columns. */
#pragma unroll
	for (int i = 0; i < MT; i++)
#pragma unroll
		for (int half = 0; half < 2; half++) {
			const int row = m0 + wm0 + i * 16 + g + half * 8;
			if (row >= M)
				continue;
			float *crow = C + (int64_t)row * N;
#pragma unroll
			for (int h = 0; h < NH; h++) {
				const int col = n0 + wn0 + h * 32 + 8 * t;
				float v[8];
#pragma unroll
				for (int jj = 0; jj < 4; jj++) {
					v[jj] = acc[i][4 * h + jj][2 * half];
					v[4 + jj] = acc[i][4 * h + jj][2 * half + 1];
#if PRECISION == 3
					v[jj] += cor[i][4 * h + jj][2 * half];
					v[4 + jj] += cor[i][4 * h + jj][2 * half + 1];
#endif
				}
				if (VEC) { /* N % 4 == 0: a float4 is all in or all out */
					if (col < N)
						*reinterpret_cast<float4 *>(crow + col) =
							make_float4(v[0], v[1], v[2], v[3]);
					if (col + 4 < N)
						*reinterpret_cast<float4 *>(crow + col + 4) =
							make_float4(v[4], v[5], v[6], v[7]);
				} else {
#pragma unroll
					for (int e = 0; e < 8; e++)
						if (col + e < N)
							crow[col + e] = v[e];
				}
			}
		}
}

static bool g_attr_set[2];
static int g_sms = 0;

template <bool VEC>
static int launch(const float *A, const float *B, float *C, int M, int N, int K, int klen, unsigned blocks,
		  unsigned nsplit, cudaStream_t st)
{
	if (!g_attr_set[VEC]) {
		if (cudaFuncSetAttribute((const void *)gemm_tf32_kernel<VEC>,
					 cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES) != cudaSuccess)
			return KB_ERR_LAUNCH;
		g_attr_set[VEC] = true;
	}
	gemm_tf32_kernel<VEC><<<dim3(blocks, nsplit), NTHREADS, SMEM_BYTES, st>>>(A, B, C, M, N, K, klen);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 2 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *a = &in[0], *b = &in[1];
	kb_tensor *c = &out[0];
	if (a->dtype != KB_F32 || b->dtype != KB_F32 || c->dtype != KB_F32)
		return KB_ERR_SHAPE;
	if (a->ndim != 2 || b->ndim != 2 || c->ndim != 2)
		return KB_ERR_SHAPE;
	const int64_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
	if (M < 0 || K < 0 || N < 0 || b->shape[0] != K || c->shape[0] != M || c->shape[1] != N)
		return KB_ERR_SHAPE;
	/* int indices in the kernel, with a tile of headroom */
	if (M > INT32_MAX - 1024 || N > INT32_MAX - 1024 || K > INT32_MAX - 1024)
		return KB_ERR_SHAPE;
	if (M == 0 || N == 0)
		return KB_OK; /* nothing to write */
	const int64_t blocks = ((M + TBM - 1) / TBM) * ((N + TBN - 1) / TBN);
	if (blocks > INT32_MAX)
		return KB_ERR_SHAPE;
	if (g_sms == 0 && (g_sms = kb_sm_count()) == 0)
		return KB_ERR_LAUNCH;
	/* The pieces, each a whole number of BK steps, none empty. */
	const int64_t nk = (K + BK - 1) / BK;
	/* at PRECISION=3 no piece longer than MAX_K_STRICT (see the top) */
	int64_t nsplit = kb_split_pieces(SPLIT_K, blocks, nk, g_sms, PRECISION == 3 ? MAX_K_STRICT / BK : 0);
	const int64_t klen = nk == 0 ? BK : (nk + nsplit - 1) / nsplit * BK;
	nsplit = K == 0 ? 1 : (K + klen - 1) / klen;
	if (nsplit > 65535)
		return KB_ERR_SHAPE;
	const float *ap = (const float *)a->data, *bp = (const float *)b->data;
	float *cp = (float *)c->data;
	cudaStream_t st = (cudaStream_t)stream;
	/* The pieces' partial sums: a workspace kept mapped between calls
	 * (templates/common/host.cuh), rewritten whole by every call. */
	float *part = NULL;
	if (nsplit > 1) {
		kb_keep_pool_mapped();
		if (cudaMallocAsync((void **)&part, (size_t)(nsplit * M * N) * sizeof(float), st) != cudaSuccess)
			return KB_ERR_LAUNCH;
	}
	float *dst = part ? part : cp;
	/* klen is a multiple of BK (of 4): every piece's A columns and B rows
	 * keep the base alignment. */
	const bool vec = K % 4 == 0 && N % 4 == 0 && (uintptr_t)ap % 16 == 0 &&
			 (uintptr_t)bp % 16 == 0 && (uintptr_t)dst % 16 == 0;
	int rc = vec ? launch<true>(ap, bp, dst, (int)M, (int)N, (int)K, (int)klen, (unsigned)blocks,
				     (unsigned)nsplit, st)
		     : launch<false>(ap, bp, dst, (int)M, (int)N, (int)K, (int)klen, (unsigned)blocks,
				      (unsigned)nsplit, st);
	if (part) {
		if (!rc) {
			const int64_t n = M * N, want = (n + 255) / 256, cap = 4 * (int64_t)g_sms;
			sum_pieces_kernel<<<(unsigned)(want < cap ? want : cap), 256, 0, st>>>(part, (int)nsplit, n, cp);
			if (cudaGetLastError() != cudaSuccess)
				rc = KB_ERR_LAUNCH;
		}
		if (cudaFreeAsync(part, st) != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
	return rc;
}
