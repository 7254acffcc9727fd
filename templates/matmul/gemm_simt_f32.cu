// kbreed-template: gemm_simt_f32
// family: matmul
// problems: matmul_fp32
// knob BM: 64 128 | default 128 | category memory access | rows of C per block
// knob BN: 64 128 | default 128 | category memory access | columns of C per block
// knob BK: 8 16 | default 8 | category memory access | depth of the A and B slices staged in shared memory per step
// knob TM: 4 8 | default 8 | category compute | rows of C per thread (threads per block = BM/TM x BN/TN)
// knob TN: 4 8 | default 8 | category compute | columns of C per thread
// knob DOUBLE_BUFFER: 0 1 | default 1 | category asynchronous | 1 = two shared-memory buffers: the next slice is loaded into registers while this one is multiplied, one barrier per step; 0 = load, barrier, multiply, barrier
/*
 * gemm_simt_f32.cu - C = A @ B in fp32 on the CUDA cores, exact fp32 FMA.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  A  (M, K)   e.g. (4096, 4096)
 *   in[1]  B  (K, N)   e.g. (4096, 4096)
 *   out[0] C  (M, N)
 * Any M, N, K >= 0 (each below 2^31 - 1024); rank 2 only.
 *
 * Strategy: register tiling. A block of (BM/TM) x (BN/TN) threads computes
 * a BM x BN tile of C; the grid is one-dimensional, rastered in groups of 8
 * block rows so that blocks running together share A and B slices in L2.
 * K is walked in BK-deep slices staged in shared memory:
 *   sA[BK][BM + 4]  the A slice TRANSPOSED (k-major), so that the TM values
 *                   of A a thread needs at one k are contiguous (float4
 *                   reads); the pad keeps the transposing stores (4 scalar
 *                   stores per float4 loaded along k) apart in the banks.
 *   sB[BK][BN]      the B slice as in B.
 * Thread (ty, tx) owns TM rows and TN columns of the tile, in groups of 4:
 * rows q*(4*BM/TM) + 4*ty + r and columns q*(4*BN/TN) + 4*tx + c, so that
 * the float4 shared-memory reads of neighbouring threads are neighbouring
 * (conflict-free) and the float4 stores of C are coalesced. For each k of
 * the slice a thread reads TM/4 + TN/4 float4 and does TM*TN FMAs into its
 * register tile, summing k in order (plain fp32, round-to-nearest; about
 * 0.05 of the 1e-4 tolerance at K = 4096 in a CPU model).
 * Global loads are float4 when K % 4 == 0, N % 4 == 0 and A, B, C are
 * 16-byte aligned (the VEC instantiation); otherwise scalar, with the same
 * shared layout. Out-of-range elements are loaded as zeros; stores are
 * guarded. DOUBLE_BUFFER=1 loads slice k+1 into registers before
 * multiplying slice k and stores it to the other buffer afterwards.
 * No scratch memory. Untimed on a GPU when written (index maps checked on a
 * CPU model for every knob setting and ragged shapes).
 */
#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 128
#endif
#ifndef BK
#define BK 8
#endif
#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 8
#endif
#ifndef DOUBLE_BUFFER
#define DOUBLE_BUFFER 1
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"

static_assert(BM == 64 || BM == 128, "BM is 64 or 128");
static_assert(BN == 64 || BN == 128, "BN is 64 or 128");
static_assert(BK == 8 || BK == 16, "BK is 8 or 16");
static_assert(TM == 4 || TM == 8, "TM is 4 or 8");
static_assert(TN == 4 || TN == 8, "TN is 4 or 8");
static_assert(DOUBLE_BUFFER == 0 || DOUBLE_BUFFER == 1, "DOUBLE_BUFFER is 0 or 1");

KBREED_CANDIDATE_ABI

#define TX (BN / TN)           /* threads along N */
#define TY (BM / TM)           /* threads along M */
#define NTHREADS (TX * TY)     /* 64 .. 1024 */
#define GROUP 8                /* block rows per raster group */
#define LDA (BM + 4)           /* sA row stride, floats */
#define LDB BN                 /* sB row stride, floats */
#define NBUF (DOUBLE_BUFFER ? 2 : 1)
#define STRIDE_M (4 * BM / TM) /* rows between a thread's groups of 4 */
#define STRIDE_N (4 * BN / TN) /* columns between a thread's groups of 4 */
/* Loads per thread per slice: float4 chunks (VEC) or floats, rounded up. */
constexpr int A_VECS = BM * BK / 4, B_VECS = BK * BN / 4;
constexpr int A_ELEMS = BM * BK, B_ELEMS = BK * BN;
constexpr int LA4 = (A_VECS + NTHREADS - 1) / NTHREADS, LB4 = (B_VECS + NTHREADS - 1) / NTHREADS;
constexpr int LA1 = (A_ELEMS + NTHREADS - 1) / NTHREADS, LB1 = (B_ELEMS + NTHREADS - 1) / NTHREADS;
constexpr int LA = LA4 * 4 > LA1 ? LA4 * 4 : LA1; /* staging floats, either path */
constexpr int LB = LB4 * 4 > LB1 ? LB4 * 4 : LB1;

/* Register budget of the VEC path: as many resident blocks (up to 512
 * threads per SM) as leave each thread its tile, its operands, its staging
 * registers and about 40 more for addresses (56 in 64-thread blocks, which
 * hold more loads per thread); the scalar path, for odd shapes, takes what
 * it needs. */
constexpr int REG_EST = TM * TN + TM + TN + LA4 * 4 + LB4 * 4 + (NTHREADS < 128 ? 56 : 40);
constexpr int fit_blocks()
{
	int b = 65536 / (NTHREADS * REG_EST);
	int cap = NTHREADS >= 512 ? 1 : 512 / NTHREADS;
	return b < 1 ? 1 : b > cap ? cap : b;
}
constexpr int MIN_BLOCKS = fit_blocks();

/* Global -> registers: slice k0 of A (BM x BK) and of B (BK x BN), zeros outside. */
template <bool VEC>
__device__ __forceinline__ void fetch(float ra[LA], float rb[LB], const float *__restrict__ A,
				      const float *__restrict__ B, int M, int N, int K, int m0,
				      int n0, int k0, int tid)
{
	if (VEC) {
#pragma unroll
		for (int i = 0; i < LA4; i++) {
			int c = tid + i * NTHREADS;
			float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
			if (A_VECS % NTHREADS == 0 || c < A_VECS) {
				int r = c / (BK / 4), kq = (c % (BK / 4)) * 4;
				int gm = m0 + r, gk = k0 + kq;
				if (gm < M && gk < K) /* K % 4 == 0: all four in */
					v = *reinterpret_cast<const float4 *>(A + (int64_t)gm * K + gk);
			}
			ra[4 * i] = v.x;
			ra[4 * i + 1] = v.y;
			ra[4 * i + 2] = v.z;
			ra[4 * i + 3] = v.w;
		}
#pragma unroll
		for (int i = 0; i < LB4; i++) {
			int c = tid + i * NTHREADS;
			float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
			if (B_VECS % NTHREADS == 0 || c < B_VECS) {
				int r = c / (BN / 4), nq = (c % (BN / 4)) * 4;
				int gk = k0 + r, gn = n0 + nq;
				if (gk < K && gn < N) /* N % 4 == 0: all four in */
					v = *reinterpret_cast<const float4 *>(B + (int64_t)gk * N + gn);
			}
			rb[4 * i] = v.x;
			rb[4 * i + 1] = v.y;
			rb[4 * i + 2] = v.z;
			rb[4 * i + 3] = v.w;
		}
	} else {
#pragma unroll
		for (int i = 0; i < LA1; i++) {
			int c = tid + i * NTHREADS;
			float v = 0.f;
			if (A_ELEMS % NTHREADS == 0 || c < A_ELEMS) {
				int gm = m0 + c / BK, gk = k0 + c % BK;
				if (gm < M && gk < K)
					v = A[(int64_t)gm * K + gk];
			}
			ra[i] = v;
		}
#pragma unroll
		for (int i = 0; i < LB1; i++) {
			int c = tid + i * NTHREADS;
			float v = 0.f;
			if (B_ELEMS % NTHREADS == 0 || c < B_ELEMS) {
				int gk = k0 + c / BN, gn = n0 + c % BN;
				if (gk < K && gn < N)
					v = B[(int64_t)gk * N + gn];
			}
			rb[i] = v;
		}
	}
}

/* Registers -> shared: A transposed into sA[k][m], B as is into sB[k][n]. */
template <bool VEC>
__device__ __forceinline__ void stash(const float ra[LA], const float rb[LB], float *sA, float *sB,
				      int tid)
{
	if (VEC) {
#pragma unroll
		for (int i = 0; i < LA4; i++) {
			int c = tid + i * NTHREADS;
			if (A_VECS % NTHREADS == 0 || c < A_VECS) {
				int r = c / (BK / 4), kq = (c % (BK / 4)) * 4;
#pragma unroll
				for (int e = 0; e < 4; e++)
					sA[(kq + e) * LDA + r] = ra[4 * i + e];
			}
		}
#pragma unroll
		for (int i = 0; i < LB4; i++) {
			int c = tid + i * NTHREADS;
			if (B_VECS % NTHREADS == 0 || c < B_VECS) {
				int r = c / (BN / 4), nq = (c % (BN / 4)) * 4;
				*reinterpret_cast<float4 *>(sB + r * LDB + nq) =
					make_float4(rb[4 * i], rb[4 * i + 1], rb[4 * i + 2], rb[4 * i + 3]);
			}
		}
	} else {
#pragma unroll
		for (int i = 0; i < LA1; i++) {
			int c = tid + i * NTHREADS;
			if (A_ELEMS % NTHREADS == 0 || c < A_ELEMS)
				sA[(c % BK) * LDA + c / BK] = ra[i];
		}
#pragma unroll
		for (int i = 0; i < LB1; i++) {
			int c = tid + i * NTHREADS;
			if (B_ELEMS % NTHREADS == 0 || c < B_ELEMS)
				sB[(c / BN) * LDB + c % BN] = rb[i];
		}
	}
}

template <bool VEC>
__global__ void __launch_bounds__(NTHREADS, VEC ? MIN_BLOCKS : 1)
gemm_simt_kernel(const float *__restrict__ A, /* (M, K) */
		 const float *__restrict__ B, /* (K, N) */
		 float *__restrict__ C,       /* (M, N) */
		 int M, int N, int K)
{
	__shared__ __align__(16) float sA[NBUF][BK * LDA];
	__shared__ __align__(16) float sB[NBUF][BK * LDB];
	const int tid = threadIdx.x, tx = tid % TX, ty = tid / TX;

	/* Grouped raster: GROUP block rows share each sweep over the block columns. */
	const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
	const int per_group = GROUP * tiles_n;
	const int pid = blockIdx.x;
	const int first_m = (pid / per_group) * GROUP;
	const int gsize = min(tiles_m - first_m, GROUP);
	const int m0 = (first_m + (pid % per_group) % gsize) * BM;
	const int n0 = ((pid % per_group) / gsize) * BN;

	float acc[TM][TN];
#pragma unroll
	for (int i = 0; i < TM; i++)
#pragma unroll
		for (int j = 0; j < TN; j++)
			acc[i][j] = 0.0f;

	float ra[LA], rb[LB];
	const int KT = (K + BK - 1) / BK;

	auto multiply = [&](const float *a_s, const float *b_s) {
#pragma unroll
		for (int k = 0; k < BK; k++) {
			float a[TM], b[TN];
#pragma unroll
			for (int q = 0; q < TM / 4; q++) {
				float4 v = *reinterpret_cast<const float4 *>(a_s + k * LDA + q * STRIDE_M + 4 * ty);
				a[4 * q] = v.x;
				a[4 * q + 1] = v.y;
				a[4 * q + 2] = v.z;
				a[4 * q + 3] = v.w;
			}
#pragma unroll
			for (int q = 0; q < TN / 4; q++) {
				float4 v = *reinterpret_cast<const float4 *>(b_s + k * LDB + q * STRIDE_N + 4 * tx);
				b[4 * q] = v.x;
				b[4 * q + 1] = v.y;
				b[4 * q + 2] = v.z;
				b[4 * q + 3] = v.w;
			}
#pragma unroll
			for (int i = 0; i < TM; i++)
#pragma unroll
				for (int j = 0; j < TN; j++)
					acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
		}
	};

#if DOUBLE_BUFFER
	if (KT > 0) {
		fetch<VEC>(ra, rb, A, B, M, N, K, m0, n0, 0, tid);
		stash<VEC>(ra, rb, sA[0], sB[0], tid);
		__syncthreads();
	}
	for (int kt = 0; kt < KT; kt++) {
		const int cur = kt & 1;
		const bool more = kt + 1 < KT;
		if (more) /* next slice's loads in flight during the FMAs */
			fetch<VEC>(ra, rb, A, B, M, N, K, m0, n0, (kt + 1) * BK, tid);
		multiply(sA[cur], sB[cur]);
		if (more) /* the other buffer: last read before the previous barrier */
			stash<VEC>(ra, rb, sA[cur ^ 1], sB[cur ^ 1], tid);
		__syncthreads();
	}
#else
	for (int kt = 0; kt < KT; kt++) {
		fetch<VEC>(ra, rb, A, B, M, N, K, m0, n0, kt * BK, tid);
		stash<VEC>(ra, rb, sA[0], sB[0], tid);
		__syncthreads();
		multiply(sA[0], sB[0]);
		__syncthreads();
	}
#endif

	/* Epilogue: rows in groups of 4 (STRIDE_M apart), columns likewise. */
#pragma unroll
	for (int i = 0; i < TM; i++) {
		const int row = m0 + (i / 4) * STRIDE_M + 4 * ty + (i % 4);
		if (row >= M)
			continue;
		float *crow = C + (int64_t)row * N;
#pragma unroll
		for (int q = 0; q < TN / 4; q++) {
			const int col = n0 + q * STRIDE_N + 4 * tx;
			if (VEC) { /* N % 4 == 0: the float4 is all in or all out */
				if (col < N)
					*reinterpret_cast<float4 *>(crow + col) =
						make_float4(acc[i][4 * q], acc[i][4 * q + 1], acc[i][4 * q + 2],
							    acc[i][4 * q + 3]);
			} else {
#pragma unroll
				for (int c = 0; c < 4; c++)
					if (col + c < N)
						crow[col + c] = acc[i][4 * q + c];
			}
		}
	}
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
	const int64_t blocks = ((M + BM - 1) / BM) * ((N + BN - 1) / BN);
	if (blocks > INT32_MAX)
		return KB_ERR_SHAPE;
	const float *ap = (const float *)a->data, *bp = (const float *)b->data;
	float *cp = (float *)c->data;
	const bool vec = K % 4 == 0 && N % 4 == 0 && (uintptr_t)ap % 16 == 0 &&
			 (uintptr_t)bp % 16 == 0 && (uintptr_t)cp % 16 == 0;
	cudaStream_t st = (cudaStream_t)stream;
	if (vec)
		gemm_simt_kernel<true><<<(unsigned)blocks, NTHREADS, 0, st>>>(ap, bp, cp, (int)M, (int)N, (int)K);
	else
		gemm_simt_kernel<false><<<(unsigned)blocks, NTHREADS, 0, st>>>(ap, bp, cp, (int)M, (int)N, (int)K);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
