// kbreed-template: gemm_wgmma_f16
// family: matmul
// problems: matmul_fp16 matmul_nt_fp16 matmul_tn_fp16 matmul_tt_fp16 matmul_batched_fp16 matmul_tensor3d_fp16 matmul_tensor4d_fp16 matmul_bf16 matmul_nt_bf16 matmul_tn_bf16 matmul_tt_bf16 matmul_batched_bf16 matmul_tensor3d_bf16 matmul_tensor4d_bf16
// arch: sm_90a
// knob BN: 128 192 256 | default 256 | category memory access | block tile columns (of B and C) = the n of each wgmma (m64nBNk16)
// knob WG_M: 64 128 | default 64 | category compute | rows of C per consumer warpgroup (one or two m64 wgmma per k step); 128 runs as 64 unless BN is 128, so that a thread holds at most 128 fp32 accumulators
// knob CONSUMERS: 1 2 | default 2 | category parallelism | consumer warpgroups per block, stacked along M: the block tile is (CONSUMERS x WG_M) x BN and all consumers share each B stage
// knob STAGES: 3 4 5 6 | default 4 | category asynchronous | shared-memory stages of the TMA ring (A and B slices 64 deep in K); clamped to what fits in 227 KB
// knob GROUP: 1 8 16 | default 8 | category memory access | tile raster of the persistent loop: GROUP rows of tiles are swept column by column, so their A rows and the B columns in use stay in L2
// knob CLUSTER: 1 2 | default 1 | category memory access | blocks per thread-block cluster, on vertically adjacent tiles: with 2, each B slice is read from L2 once and multicast by TMA into both blocks' shared memory
// same: WG_M=128 BN=192 as WG_M=64
// same: WG_M=128 BN=256 as WG_M=64
/*
 * gemm_wgmma_f16.cu - C = A @ B on Hopper tensor cores with wgmma, operands
 * brought into shared memory by the tensor memory accelerator (TMA); fp16
 * (or bf16) in and out, fp32 accumulation. Needs sm_90a (wgmma, setmaxnreg,
 * TMA); on any other GPU it returns KB_ERR_SHAPE.
 *
 * Layout (contiguous, row-major, all three fp16, or bf16 where recognition
 * writes MATMUL_BF16). C = op(A) @ op(B), op(X) = X, or X with its last two
 * dims swapped where recognition writes TRANS_A / TRANS_B (A.T, B.T,
 * transpose(-2, -1) in the model):
 *   in[0]  A  (..., M, K), or (..., K, M) with TRANS_A   e.g. (4096, 4096)
 *   in[1]  B  (K, N), or (N, K) with TRANS_B             e.g. (4096, 4096)
 *   out[0] C  (..., M, N)
 * Where B is one matrix and A is not transposed, A's leading dims fold into
 * M (a (16, 1024, 2048) tensor times a (2048, 768) matrix is one 16384 x
 * 768 x 2048 product): the plain kernel. Other leading dims are a batch,
 * which recognition marks with MATMUL_BATCH (B has leading dims, or A is
 * transposed under them): each operand then has C's leading dims (strided
 * batches, bmm) or none (one matrix for every batch), and the kernel walks
 * the tiles of every batch. Without MATMUL_BATCH such shapes, and with
 * MATMUL_TRI (a triangle of the product, gemm_wgmma_tf32's) every shape,
 * return KB_ERR_SHAPE.
 *
 * Strategy. A persistent grid (one block per SM, held to one by asking for
 * more than half the SM's shared memory) walks the BM x BN tiles of C, BM =
 * CONSUMERS * WG_M. Blocks come in clusters of CLUSTER; a cluster takes a
 * unit of CLUSTER vertically adjacent tiles (same columns of B, same
 * batch), block rank r the r-th, and the clusters walk the units in a
 * grouped raster (GROUP rows of units column by column, one batch after the
 * other); a unit's tile below M is computed from
 * any valid rows of A and not stored. Each block is warp-specialised:
 * warpgroup 0 is the producer (it drops to 40 registers with setmaxnreg and
 * one thread issues all copies), warpgroups 1..CONSUMERS are consumers
 * (raised to 232 or 240 registers). For every tile and every 64-deep K
 * step, the producer waits until ring stage s is empty, announces the
 * stage's byte count on its "full" mbarrier and issues
 * cp.async.bulk.tensor copies: its own BM x 64 box of A (BM/64 boxes of
 * 64 x 64 with TRANS_A), and the 64 x 64 boxes of B numbered j = rank (mod
 * CLUSTER) among the BN/64 of the stage, multicast to every block of the
 * cluster (so each block's "full" barrier counts bytes sent by all
 * producers of the cluster). Each consumer waits on
 * "full", issues 4 k16 steps of wgmma.mma_async m64nBNk16 (twice each when
 * WG_M = 128) into fp32 accumulators held in registers, commits them as one
 * group, and once the previous step's group has completed
 * (wgmma.wait_group 1) each of its warps arrives on the previous stage's
 * "empty" mbarrier in every block of the cluster, lane r on block r's
 * (count CLUSTER x 4 x CONSUMERS), since every producer writes into every
 * block. All mbarrier waits and arrivals are CTA-scoped (no cluster-scope
 * fences on the per-stage path; the hand-over they order is wgmma reads,
 * already complete, before TMA writes). The ring
 * runs on across tiles, so the producer fetches the next tile while the
 * consumers store this one. Cluster barriers after the mbarrier set-up and
 * before exit keep remote arrivals within the blocks' lifetimes.
 * Epilogue: accumulators are rounded to fp16 (bf16) and stored straight from
 * registers, skipping rows >= M and columns >= N: where N % 8 == 0 (and C
 * is 16-byte aligned) the 4 lanes of each quad first transpose their half2
 * pairs with two shuffle steps so that each lane writes 8 consecutive
 * columns in one 16-byte store (a quarter of the store instructions, full
 * 32-byte sectors); otherwise half2 where N is even, else single halves.
 *
 * Shared memory, per stage (every piece starts on a 1024-byte boundary):
 *   A slice [BM][64]: row m is 128 bytes (64 k), at m * 128;
 *   B slice, BN/64 chunks of [64 k][64 n]: chunk j covers columns 64j..64j+63,
 *     row k of it is 128 bytes (64 n) at j * 8192 + k * 128.
 * Both are written by TMA with 128-byte swizzling: within each 1024-byte
 * group of 8 rows, 16-byte piece c of row r lands at piece c ^ (r % 8)
 * (address bits [4:6] ^= bits [7:9]). wgmma reads them through matrix
 * descriptors (start address >> 4 in bits 0-13, LBO >> 4 in 16-29, SBO >> 4
 * in 32-45, swizzle mode 1 = 128B in bits 62-63, base offset 0):
 *   A, K-major (imm-trans-a 0): start = slice + row0 * 128 + kk * 32 for
 *     k16 step kk (the swizzle is applied to the full address, so stepping
 *     32 bytes inside the 128-byte row is how K advances), SBO = 1024 (next
 *     8 rows), LBO unused (1);
 *   B, N-major (imm-trans-b 1, allowed for 16-bit types): start = slice +
 *     kk * 2048 (16 k rows of 128 bytes; 1024-aligned, so the swizzle phase
 *     is unchanged), SBO = 1024 (next 8 k rows), LBO = 8192 (next 64
 *     columns: the next chunk). These are the PTX ISA's MN-major 128B
 *     swizzle canonical layout: 64 n contiguous x 8 k rows per 1024-byte
 *     atom, LBO stepping along N between atoms and SBO along K.
 * The mapping was checked element by element against a model of both sides
 * on the CPU for every knob setting (not on a GPU when written).
 * The transposed operands are copied by TMA as they are stored, in boxes of
 * the same bytes, and wgmma's transpose bits (16-bit types only) read them
 * with the other major-ness:
 *   A with TRANS_A, stored (K, M): the A slice is BM/64 chunks of [64 k][64
 *     m], chunk i covering rows 64i..64i+63 of the tile, row k of it at i *
 *     8192 + k * 128: M-major (imm-trans-a 1), the layout of B above. The
 *     m64 block at row0 starts at row0 * 128 as before (64 rows of 128
 *     bytes = one chunk); start = that + kk * 2048, SBO = 1024 (next 8 k
 *     rows), LBO = 8192 (next 64 rows: one m64 block never reaches it);
 *   B with TRANS_B, stored (N, K): the B slice is [BN][64], row n of it (64
 *     k) at n * 128, written as BN/64 boxes of 64 n x 64 k: K-major
 *     (imm-trans-b 0), read as A is: start = slice + kk * 32, SBO = 1024,
 *     LBO unused (1).
 * Stage sizes, ring and barriers are the same in all four layouts. These
 * were checked as the plain one was: a CPU model of TMA's swizzled writes
 * against the descriptors' reads (the PTX ISA's canonical layouts), every
 * element of every k16 step, for every BN, WG_M and CONSUMERS.
 *
 * Edges. TMA fills the parts of a box outside the tensor with zeros, so
 * tiles hanging over M, N or K need no special case: zero k columns of A
 * meet zero k rows of B, and rows >= M or columns >= N are not stored. TMA
 * needs 16-byte aligned row pitches and base addresses: when the stored
 * row length of an operand (K or N, M with TRANS_A) is not a multiple of
 * 8 (or its base is not 16-byte aligned) the operand is first copied
 * into scratch (cudaMallocAsync, freed with cudaFreeAsync on the stream)
 * with its pitch rounded up to 8 elements; the tensor map keeps the true
 * extent, so the padding is never read. K == 0 writes zeros.
 *
 * Tensor maps are encoded on the host every call (cuTensorMapEncodeTiled,
 * reached through cudaGetDriverEntryPoint: no driver library is linked) and
 * passed as __grid_constant__ parameters; with MATMUL_BATCH they are 3-D,
 * the batch outermost (extent 1 for an operand without one).
 *
 * With none of TRANS_A, TRANS_B, MATMUL_BATCH and MATMUL_BF16 the kernel is
 * the plain fp16 one, PTX for PTX (tests/bridge/test_matmul.sh). The
 * transposed, batched and bf16 paths were added without a GPU at hand;
 * tests/data/odd_matmul_fp16_nt.py, _fp16_tn.py and _bf16_batched.py are
 * their GPU checks.
 */
#ifndef BN
#define BN 256
#endif
#ifndef WG_M
#define WG_M 64
#endif
#ifndef CONSUMERS
#define CONSUMERS 2
#endif
#ifndef STAGES
#define STAGES 4
#endif
#ifndef GROUP
#define GROUP 8
#endif
#ifndef CLUSTER
#define CLUSTER 1
#endif
/* From the problem (recognition), not knobs. */
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef MATMUL_BATCH
#define MATMUL_BATCH 0
#endif
#ifndef MATMUL_BF16
#define MATMUL_BF16 0
#endif
#ifndef MATMUL_TRI
#define MATMUL_TRI 0
#endif

#include <cuda.h> /* CUtensorMap and its enums: types only, no driver calls linked */
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#if MATMUL_BF16
#include <cuda_bf16.h>
#endif
#include <stdint.h>
#include "kbreed_candidate.h"

static_assert(BN == 128 || BN == 192 || BN == 256, "BN is 128, 192 or 256");
static_assert(WG_M == 64 || WG_M == 128, "WG_M is 64 or 128");
static_assert(CONSUMERS == 1 || CONSUMERS == 2, "CONSUMERS is 1 or 2");
static_assert(STAGES >= 2 && STAGES <= 8, "STAGES");
static_assert(GROUP >= 1 && GROUP <= 64, "GROUP");
static_assert(CLUSTER == 1 || CLUSTER == 2, "CLUSTER is 1 or 2");
static_assert((TRANS_A == 0 || TRANS_A == 1) && (TRANS_B == 0 || TRANS_B == 1), "TRANS_A, TRANS_B are 0 or 1");
static_assert(MATMUL_BATCH == 0 || MATMUL_BATCH == 1, "MATMUL_BATCH is 0 or 1");
static_assert(MATMUL_BF16 == 0 || MATMUL_BF16 == 1, "MATMUL_BF16 is 0 or 1");

KBREED_CANDIDATE_ABI

/* Tile geometry, after the clamps the knobs describe. */
#define BK 64                                        /* K per stage: one 128-byte swizzle row */
#define WGM ((WG_M == 128 && BN <= 128) ? 128 : 64)  /* rows per consumer (<= 128 accumulators) */
#define MT (WGM / 64)                                /* m64 wgmma per consumer per k16 step */
#define BM (WGM * CONSUMERS)                         /* block tile rows */
#define NTHREADS (128 * (CONSUMERS + 1))             /* producer warpgroup + consumers */
#define A_BYTES (BM * BK * 2)
#define B_CHUNK_BYTES (BK * 64 * 2)                  /* one 64 x 64 box of B: 8192 */
#define B_BYTES (BK * BN * 2)
#define STAGE_BYTES (A_BYTES + B_BYTES)
#define SMEM_OPTIN 232448                            /* 227 KB: the sm_90 per-block limit */
#define SMEM_EXTRA (1024 + 256)                      /* alignment slack + mbarriers */
#define STAGE_FIT ((SMEM_OPTIN - SMEM_EXTRA) / STAGE_BYTES)
#define NSTAGE (STAGES < STAGE_FIT ? STAGES : STAGE_FIT)
#define SMEM_USED (NSTAGE * STAGE_BYTES + SMEM_EXTRA)
/* More than half an SM's shared memory, so that one block runs per SM. */
#define SMEM_ALLOC (SMEM_USED > 120 * 1024 ? SMEM_USED : 120 * 1024)
#define PRODUCER_REGS 40
#define CONSUMER_REGS (CONSUMERS == 1 ? 240 : 232)

static_assert(NSTAGE >= 2, "two stages must fit");
static_assert(STAGE_BYTES % 1024 == 0 && A_BYTES % 1024 == 0, "stages keep 1024-byte alignment");
static_assert(2 * 8 * NSTAGE <= 256, "mbarriers fit their reserve");
static_assert(SMEM_ALLOC <= SMEM_OPTIN, "shared memory");
static_assert(128 * PRODUCER_REGS + 128 * CONSUMERS * CONSUMER_REGS <= 65536, "register file");

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GEMM_WGMMA_DEVICE 1
#else
#define GEMM_WGMMA_DEVICE 0
#endif

/* The element type as C++, wgmma (its input type) and TMA name it. */
#if MATMUL_BF16
typedef __nv_bfloat16 elem_t;
#define ELEM_PTX "bf16"
#define ELEM_KB KB_BF16
#define ELEM_TMA CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
#else
typedef __half elem_t;
#define ELEM_PTX "f16"
#define ELEM_KB KB_F16
#define ELEM_TMA CU_TENSOR_MAP_DATA_TYPE_FLOAT16
#endif

/* wgmma's transpose bits (imm-trans-a, imm-trans-b): 1 reads the operand
 * MN-major. A is M-major as stored with TRANS_A; B is N-major as stored
 * without TRANS_B, K-major with it. */
#if TRANS_A
#define TNSP_A "1"
#else
#define TNSP_A "0"
#endif
#if TRANS_B
#define TNSP_B "0"
#else
#define TNSP_B "1"
#endif

/* ---- PTX wrappers: mbarrier, TMA, wgmma (sm_90a), in templates/common ---- */

#include "../common/hopper.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline
#include "../common/gemm_operands.cuh" // kbreed:inline

/* ---- clusters ---- */

static __device__ __forceinline__ int cluster_rank(void)
{
#if CLUSTER > 1
	uint32_t r;
	asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
	return (int)r;
#else
	return 0;
#endif
}

/* All threads of all blocks of the cluster (nothing when CLUSTER is 1). */
static __device__ __forceinline__ void cluster_sync(void)
{
#if CLUSTER > 1
	asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;" ::: "memory");
#endif
}

/* A consumer warp is done with a stage: arrive on its "empty" mbarrier in
 * every block of the cluster (each producer multicasts into all of them),
 * lane r of the warp on block r's, so the arrivals leave together. The
 * arrivals keep the default .release.cta semantics: what they order is only
 * that this warp's wgmma reads of the stage (finished, by wgmma.wait_group)
 * come before the producer's next copy into it, while a .cluster-scope
 * release (or the producer's .cluster-scope acquire) can add a cluster-wide
 * memory fence to every stage of the pipeline. */
static __device__ __forceinline__ void release_stage(uint32_t bar, int lane)
{
#if CLUSTER > 1
	if (lane < CLUSTER)
		asm volatile("{\n.reg .b32 ra;\n"
			     "mapa.shared::cluster.u32 ra, %0, %1;\n"
			     "mbarrier.arrive.shared::cluster.b64 _, [ra];\n}\n" ::"r"(bar),
			     "r"((uint32_t)lane)
			     : "memory");
#else
	if (lane == 0)
		mbar_arrive(bar);
#endif
}

#if BN == 128
/* D(64 x 128, fp32, 64 per thread) += A(64 x 16) * B(16 x 128); the transpose bits as above. */
static __device__ __forceinline__ void wgmma_n128(float *d, uint64_t da, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n128k16.f32." ELEM_PTX "." ELEM_PTX " {"
		     KB_WGMMA_REGS64
		     "}, %64, %65, p, 1, 1, " TNSP_A ", " TNSP_B ";\n}\n"
		     : KB_WGMMA_ACC64(d)
		     : "l"(da), "l"(db), "r"(scale_d));
}
#define WGMMA wgmma_n128
#endif

#if BN == 192
/* D(64 x 192, fp32, 96 per thread) += A(64 x 16) * B(16 x 192); the transpose bits as above. */
static __device__ __forceinline__ void wgmma_n192(float *d, uint64_t da, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %98, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n192k16.f32." ELEM_PTX "." ELEM_PTX " {"
		     KB_WGMMA_REGS96
		     "}, %96, %97, p, 1, 1, " TNSP_A ", " TNSP_B ";\n}\n"
		     : KB_WGMMA_ACC96(d)
		     : "l"(da), "l"(db), "r"(scale_d));
}
#define WGMMA wgmma_n192
#endif

#if BN == 256
/* D(64 x 256, fp32, 128 per thread) += A(64 x 16) * B(16 x 256); the transpose bits as above. */
static __device__ __forceinline__ void wgmma_n256(float *d, uint64_t da, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n256k16.f32." ELEM_PTX "." ELEM_PTX " {"
		     KB_WGMMA_REGS128
		     "}, %128, %129, p, 1, 1, " TNSP_A ", " TNSP_B ";\n}\n"
		     : KB_WGMMA_ACC128(d)
		     : "l"(da), "l"(db), "r"(scale_d));
}

#define WGMMA wgmma_n256
#endif

/* Unit u of the raster -> (unit row um, column un): GROUP unit rows are
 * swept column by column (the last group may hold fewer rows). */
static __device__ __forceinline__ void unit_of(int u, int units_m, int units_n, int &um, int &un)
{
	int per_group = GROUP * units_n;
	int g = u / per_group, r = u - g * per_group;
	int first = g * GROUP;
	int rows = units_m - first < GROUP ? units_m - first : GROUP;
	um = first + r % rows;
	un = r / rows;
}

/* elem(x) in the low half (lower address), elem(y) in the high half. */
static __device__ __forceinline__ uint32_t pack_half2(float x, float y)
{
#if MATMUL_BF16
	__nv_bfloat162 h = __floats2bfloat162_rn(x, y);
#else
	__half2 h = __floats2half2_rn(x, y);
#endif
	return *reinterpret_cast<uint32_t *>(&h);
}

/* 4 x 4 transpose across the lanes of a quad (lanes 4t..4t+3, q = lane % 4):
 * on entry lane q holds X[q][0..3] in v, on exit X[0..3][q]. Two butterfly
 * steps: lanes q and q ^ 2 swap the off-diagonal 2 x 2 blocks, then lanes q
 * and q ^ 1 swap the off-diagonal entries inside each block. Every lane of
 * the warp must call it. */
static __device__ __forceinline__ void quad_transpose(uint32_t v[4], int lane)
{
	const bool b = (lane & 2) != 0, a = (lane & 1) != 0;
#pragma unroll
	for (int k = 0; k < 2; k++) {
		const uint32_t got = __shfl_xor_sync(0xffffffffu, b ? v[k] : v[k + 2], 2);
		if (b)
			v[k] = got;
		else
			v[k + 2] = got;
	}
#pragma unroll
	for (int k = 0; k < 4; k += 2) {
		const uint32_t got = __shfl_xor_sync(0xffffffffu, a ? v[k] : v[k + 1], 1);
		if (a)
			v[k] = got;
		else
			v[k + 1] = got;
	}
}

/* Stores C[r, c] and C[r, c + 1] (c even; c + 1 may be past N only when !pair). */
static __device__ __forceinline__ void store2(elem_t *C, int64_t ldc, int N, int r, int c, float x,
					      float y, bool pair)
{
	elem_t *p = C + (int64_t)r * ldc + c;
#if MATMUL_BF16
	if (pair) {
		*reinterpret_cast<__nv_bfloat162 *>(p) = __floats2bfloat162_rn(x, y);
	} else {
		p[0] = __float2bfloat16_rn(x);
		if (c + 1 < N)
			p[1] = __float2bfloat16_rn(y);
	}
#else
	if (pair) {
		*reinterpret_cast<__half2 *>(p) = __floats2half2_rn(x, y);
	} else {
		p[0] = __float2half_rn(x);
		if (c + 1 < N)
			p[1] = __float2half_rn(y);
	}
#endif
}

/* One TMA box of an operand into shared memory at dst: x the inner (stored
 * contiguous) coordinate, y the outer, z the batch (3-D maps, MATMUL_BATCH;
 * ignored otherwise). load_box_mc writes it into every block of `mask` in
 * the cluster. */
static __device__ __forceinline__ void load_box(uint32_t dst, const CUtensorMap *map, int x, int y, int z,
						uint32_t bar)
{
#if MATMUL_BATCH
	tma_load_3d(dst, map, x, y, z, bar);
#else
	tma_load_2d(dst, map, x, y, bar);
#endif
}

#if CLUSTER > 1
static __device__ __forceinline__ void load_box_mc(uint32_t dst, const CUtensorMap *map, int x, int y, int z,
						   uint32_t bar, uint16_t mask)
{
#if MATMUL_BATCH
	tma_load_3d_mc(dst, map, x, y, z, bar, mask);
#else
	tma_load_2d_mc(dst, map, x, y, bar, mask);
#endif
}
#endif

/*
 * The persistent kernel, launched in clusters of CLUSTER blocks along x.
 * tmA: A (M rows, K cols), box 64 x BM; with TRANS_A (K rows, M cols), box
 * 64 x 64. tmB: B (K rows, N cols), box 64 x 64; with TRANS_B (N rows, K
 * cols), the same box. C: (M, N), pitch ldc. pair: 2 when N % 8 == 0 and C
 * is 16-byte aligned (16-byte stores), else 1 when N is even and C 4-byte
 * aligned (half2 stores), else 0. With MATMUL_BATCH the maps have a third
 * dim, the batch (a_batched / b_batched: whether the operand has a matrix
 * per batch, else matrix 0 serves every one), and C holds `batch` (M, N)
 * matrices, each M * ldc after the last.
 */
__global__ void __launch_bounds__(384, 1)
gemm_wgmma_kernel(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB,
		  elem_t *__restrict__ C, int M, int N, int K, int64_t ldc, int pair
#if MATMUL_BATCH
		  , int batch, int a_batched, int b_batched
#endif
		  )
{
#if GEMM_WGMMA_DEVICE
	extern __shared__ uint8_t smem_raw[];
	const uint32_t base = (smem_u32(smem_raw) + 1023u) & ~1023u;
	const uint32_t full_bar = base + NSTAGE * STAGE_BYTES; /* NSTAGE x 8 bytes */
	const uint32_t empty_bar = full_bar + NSTAGE * 8;      /* NSTAGE x 8 bytes */

	/* A unit is CLUSTER vertically adjacent tiles, one per block of the cluster. */
	const int tiles_m = (M + BM - 1) / BM;
	const int units_m = (tiles_m + CLUSTER - 1) / CLUSTER, units_n = (N + BN - 1) / BN;
#if MATMUL_BATCH
	const int per_batch = units_m * units_n;
	const int units = per_batch * batch;
#else
	const int units = units_m * units_n;
#endif
	const int cluster_id = blockIdx.x / CLUSTER, clusters = gridDim.x / CLUSTER;
	const int rank = cluster_rank();
	const int nk = (K + BK - 1) / BK;
	const int wg = threadIdx.x / 128;

	if (threadIdx.x == 0) {
		for (int s = 0; s < NSTAGE; s++) {
			mbar_init(full_bar + 8 * s, 1); /* the producer's expect_tx */
			/* one arrival per consumer warp of every block in the cluster */
			mbar_init(empty_bar + 8 * s, CLUSTER * 4 * CONSUMERS);
		}
		asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
		asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
	}
	__syncthreads();
	cluster_sync(); /* peers' barriers are initialised before any copy or arrival */

	if (wg == 0) {
		/* Producer warpgroup: one thread issues every copy. */
		asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(PRODUCER_REGS));
		if (threadIdx.x == 0) {
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmA) : "memory");
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmB) : "memory");
			int s = 0;
			uint32_t phase = 0;
			for (int u = cluster_id; u < units; u += clusters) {
				int um, un;
#if MATMUL_BATCH
				const int bt = u / per_batch;
				unit_of(u - bt * per_batch, units_m, units_n, um, un);
				const int za = a_batched ? bt : 0, zb = b_batched ? bt : 0;
#else
				unit_of(u, units_m, units_n, um, un);
				const int za = 0, zb = 0;
#endif
				int m0 = (um * CLUSTER + rank) * BM;
				if (m0 >= M) /* a unit's spare tile: load anything valid, store nothing */
					m0 = 0;
				const int n0 = un * BN;
				for (int kb = 0; kb < nk; kb++) {
					/* first pass: parity 1 of a fresh barrier counts as complete */
					mbar_wait(empty_bar + 8 * s, phase ^ 1);
					const uint32_t fb = full_bar + 8 * s;
					const uint32_t sa = base + s * STAGE_BYTES, sb = sa + A_BYTES;
					/* this block's A box + every B chunk (some from the peer) */
					mbar_arrive_expect_tx(fb, STAGE_BYTES);
#if TRANS_A
#pragma unroll
					for (int i = 0; i < BM / 64; i++)
						load_box(sa + i * 8192, &tmA, m0 + 64 * i, kb * BK, za, fb);
#else
					load_box(sa, &tmA, kb * BK, m0, za, fb);
#endif
#pragma unroll
					for (int j = 0; j < BN / 64; j++) {
						/* chunk j: columns n0 + 64j .. of B, as stored */
#if TRANS_B
						const int bx = kb * BK, by = n0 + 64 * j;
#else
						const int bx = n0 + 64 * j, by = kb * BK;
#endif
#if CLUSTER == 1
						load_box(sb + j * B_CHUNK_BYTES, &tmB, bx, by, zb, fb);
#else
						if (j % CLUSTER == rank)
							load_box_mc(sb + j * B_CHUNK_BYTES, &tmB, bx, by, zb, fb,
								    (uint16_t)((1u << CLUSTER) - 1));
#endif
					}
					if (++s == NSTAGE) {
						s = 0;
						phase ^= 1;
					}
				}
			}
		}
	} else {
		/* Consumer warpgroup cw owns rows cw*WGM .. cw*WGM+WGM-1 of the tile. */
		asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(CONSUMER_REGS));
		const int cw = wg - 1;
		const int tid = threadIdx.x & 127, warp = tid >> 5, lane = tid & 31;
		float acc[MT][BN / 2];
		int s = 0;
		uint32_t phase = 0;
		for (int u = cluster_id; u < units; u += clusters) {
			int um, un;
#if MATMUL_BATCH
			const int bt = u / per_batch;
			unit_of(u - bt * per_batch, units_m, units_n, um, un);
			elem_t *const Ct = C + (int64_t)bt * M * ldc;
#else
			unit_of(u, units_m, units_n, um, un);
			elem_t *const Ct = C;
#endif
			const int m0 = (um * CLUSTER + rank) * BM, n0 = un * BN;
			int prev = 0;
			for (int kb = 0; kb < nk; kb++) {
				mbar_wait(full_bar + 8 * s, phase);
				const uint32_t sa = base + s * STAGE_BYTES + cw * WGM * 128;
				const uint32_t sb = base + s * STAGE_BYTES + A_BYTES;
				wgmma_fence();
#pragma unroll
				for (int kk = 0; kk < BK / 16; kk++) {
#if TRANS_B
					const uint64_t db = smem_desc(sb + kk * 32, 16, 1024);
#else
					const uint64_t db = smem_desc(sb + kk * 2048, B_CHUNK_BYTES, 1024);
#endif
#pragma unroll
					for (int mt = 0; mt < MT; mt++) {
#if TRANS_A
						const uint64_t da = smem_desc(sa + mt * 64 * 128 + kk * 2048, 8192, 1024);
#else
						const uint64_t da = smem_desc(sa + mt * 64 * 128 + kk * 32, 16, 1024);
#endif
						/* scale-d 0 on the tile's first k16 step: D = A*B */
						WGMMA(acc[mt], da, db, kb + kk);
					}
				}
				wgmma_commit();
				if (kb > 0) {
					/* the previous step's group is done: free its stage */
					wgmma_wait<1>();
					release_stage(empty_bar + 8 * prev, lane);
				}
				prev = s;
				if (++s == NSTAGE) {
					s = 0;
					phase ^= 1;
				}
			}
			wgmma_wait<0>();
#pragma unroll
			for (int mt = 0; mt < MT; mt++)
#pragma unroll
				for (int i = 0; i < BN / 2; i++)
					reg_fence(acc[mt][i]);
			release_stage(empty_bar + 8 * prev, lane);

			/* Accumulator layout of m64nBN: register 4i+{0,1} holds row
			 * 16*warp + lane/4, columns 8i + 2*(lane%4) + {0,1};
			 * 4i+{2,3} the same columns 8 rows further down. */
#pragma unroll
			for (int mt = 0; mt < MT; mt++) {
				const int r0 = m0 + cw * WGM + mt * 64 + warp * 16 + (lane >> 2);
				const int r1 = r0 + 8;
				if (pair == 2) {
					/* 16-byte stores: for each row and each 32 columns
					 * 32g..32g+31, the 4 lanes of a quad transpose their
					 * half2 pairs so that lane q holds the 8 columns
					 * 32g + 8q .. 32g + 8q + 7 (N % 8 == 0, so such a run
					 * is inside N or wholly past it). */
					const int q = lane & 3;
#pragma unroll
					for (int h = 0; h < 2; h++) {
						const int r = h ? r1 : r0;
#pragma unroll
						for (int g = 0; g < BN / 32; g++) {
							uint32_t v[4];
#pragma unroll
							for (int j = 0; j < 4; j++)
								v[j] = pack_half2(acc[mt][4 * (4 * g + j) + 2 * h],
										  acc[mt][4 * (4 * g + j) + 2 * h + 1]);
							quad_transpose(v, lane);
							const int c = n0 + 32 * g + 8 * q;
							if (r < M && c < N)
								*reinterpret_cast<uint4 *>(Ct + (int64_t)r * ldc + c) =
									make_uint4(v[0], v[1], v[2], v[3]);
						}
					}
				} else {
					const bool pr = pair != 0;
#pragma unroll
					for (int i = 0; i < BN / 8; i++) {
						const int c = n0 + 8 * i + 2 * (lane & 3);
						if (c < N) {
							if (r0 < M)
								store2(Ct, ldc, N, r0, c, acc[mt][4 * i], acc[mt][4 * i + 1], pr);
							if (r1 < M)
								store2(Ct, ldc, N, r1, c, acc[mt][4 * i + 2], acc[mt][4 * i + 3],
								       pr);
						}
					}
				}
			}
		}
	}
	/* No block leaves while a peer may still arrive on its barriers. */
	cluster_sync();
#endif
}

/* ---- host side ---- */

/* cuTensorMapEncodeTiled (hopper.cuh's kb_tensor_map_encoder) */
static kb_encode_tiled_fn g_encode = NULL;
static int g_sms = 0, g_major = 0;
static int g_clusters = 0; /* clusters of CLUSTER blocks that fit on the GPU at once */

/* Finds the encoder, the SM count and the compute capability once. */
static int setup(void)
{
	if (g_sms > 0)
		return KB_OK;
	int dev = 0;
	g_sms = kb_sm_count();
	if (g_sms == 0 || cudaGetDevice(&dev) != cudaSuccess ||
	    cudaDeviceGetAttribute(&g_major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
		g_sms = 0;
		return KB_ERR_LAUNCH;
	}
	g_encode = kb_tensor_map_encoder();
	if (!g_encode) {
		g_sms = 0;
		return KB_ERR_LAUNCH;
	}
	return KB_OK;
}

/* A tensor map of `batch` matrices of `inner` x `outer` elements, rows
 * `pitch` elements apart, matrices outer * pitch apart (3-D with
 * MATMUL_BATCH, else 2-D and batch 1); boxes of box_inner x box_outer (x 1),
 * 128-byte swizzle, zero fill. */
static int make_map(CUtensorMap *map, const void *ptr, int64_t inner, int64_t outer, int64_t batch,
		    int64_t pitch, uint32_t box_inner, uint32_t box_outer)
{
	cuuint64_t dims[3] = { (cuuint64_t)inner, (cuuint64_t)outer, (cuuint64_t)batch };
	cuuint64_t strides[2] = { (cuuint64_t)pitch * 2, (cuuint64_t)(outer * pitch * 2) };
	cuuint32_t box[3] = { box_inner, box_outer, 1 };
	cuuint32_t estr[3] = { 1, 1, 1 };
	CUresult r = g_encode(map, ELEM_TMA, MATMUL_BATCH ? 3 : 2, (void *)ptr, dims, strides, box, estr,
			      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
			      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
	return r == CUDA_SUCCESS ? KB_OK : KB_ERR_LAUNCH;
}

/* An operand stored as rows x cols (all its matrices' rows one after the
 * other, pitch cols) is usable by TMA as is when its pitch is a multiple of
 * 16 bytes and its base 16-byte aligned; otherwise it is copied into
 * scratch with the pitch rounded up to 8 elements (*copy, *pitch). */
static int tma_operand(const elem_t *src, int64_t rows, int64_t cols, cudaStream_t st,
		       const elem_t **use, void **copy, int64_t *pitch)
{
	*use = src;
	*copy = NULL;
	*pitch = cols;
	if (cols % 8 == 0 && (uintptr_t)src % 16 == 0)
		return KB_OK;
	int64_t p = (cols + 7) / 8 * 8;
	kb_keep_pool_mapped();
	if (cudaMallocAsync(copy, (size_t)(rows * p * 2), st) != cudaSuccess) {
		*copy = NULL;
		return KB_ERR_LAUNCH;
	}
	if (cudaMemcpy2DAsync(*copy, (size_t)p * 2, src, (size_t)cols * 2, (size_t)cols * 2, (size_t)rows,
			      cudaMemcpyDeviceToDevice, st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	*use = (const elem_t *)*copy;
	*pitch = p;
	return KB_OK;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 2 || n_out != 1)
		return KB_ERR_SHAPE;
	if (MATMUL_TRI) /* a triangle of the product: not computed here */
		return KB_ERR_SHAPE;
	const kb_tensor *a = &in[0], *b = &in[1];
	kb_tensor *c = &out[0];
	/* op(A) (M, K), op(B) (K, N), and the batch (templates/common/gemm_operands.cuh) */
	struct kb_gemm_shape gs;
	if (kb_gemm_operands(a, b, c, ELEM_KB, TRANS_A, TRANS_B, true, &gs) != KB_OK)
		return KB_ERR_SHAPE;
	/* a batch of more than one matrix of either operand needs MATMUL_BATCH */
	if (!MATMUL_BATCH && (gs.a_batched || gs.b_batched))
		return KB_ERR_SHAPE;
	const int64_t M = gs.M, N = gs.N, K = gs.K, rows_a = gs.rows_a, batch = gs.batch;
	const bool a_batched = gs.a_batched, b_batched = gs.b_batched;
	if (rows_a == 0 || N == 0 || batch == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	if (K == 0) /* an empty sum: C = 0 */
		return cudaMemsetAsync(c->data, 0, (size_t)(batch * rows_a * N * 2), st) == cudaSuccess
			       ? KB_OK
			       : KB_ERR_LAUNCH;
	/* int coordinates in the kernel, with a tile of headroom */
	const int64_t lim = 0x7fffffffLL - 512;
	const int64_t tiles_m = (rows_a + BM - 1) / BM;
	const int64_t units_m = (tiles_m + CLUSTER - 1) / CLUSTER, units_n = (N + BN - 1) / BN;
	if (rows_a > lim || N > lim || K > lim || batch > lim || units_m * units_n > lim / batch ||
	    units_m + GROUP > lim)
		return KB_ERR_SHAPE;

	int rc = setup();
	if (rc)
		return rc;
	if (g_major != 9) /* wgmma and this kernel's setmaxnreg are sm_90a only */
		return KB_ERR_SHAPE;
	if (g_clusters == 0) {
		if (cudaFuncSetAttribute((const void *)gemm_wgmma_kernel,
					 cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_ALLOC) != cudaSuccess)
			return KB_ERR_LAUNCH;
		int n = g_sms / CLUSTER;
#if CLUSTER > 1
		/* GPCs whose SM count is odd leave an SM out: ask how many fit. */
		cudaLaunchConfig_t cfg = {};
		cudaLaunchAttribute at[1];
		at[0].id = cudaLaunchAttributeClusterDimension;
		at[0].val.clusterDim.x = CLUSTER;
		at[0].val.clusterDim.y = 1;
		at[0].val.clusterDim.z = 1;
		cfg.gridDim = dim3((unsigned)(n * CLUSTER));
		cfg.blockDim = dim3(NTHREADS);
		cfg.dynamicSmemBytes = SMEM_ALLOC;
		cfg.attrs = at;
		cfg.numAttrs = 1;
		int fit = 0;
		if (cudaOccupancyMaxActiveClusters(&fit, (const void *)gemm_wgmma_kernel, &cfg) != cudaSuccess)
			return KB_ERR_LAUNCH;
		if (fit > 0 && fit < n)
			n = fit;
#endif
		g_clusters = n > 0 ? n : 1;
	}

	/* Each operand as stored: its matrices (one, or one per batch) of
	 * rows x cols, cols contiguous. */
	const int64_t mats_a = a_batched ? batch : 1, mats_b = b_batched ? batch : 1;
	const int64_t rows_sa = TRANS_A ? K : rows_a, cols_sa = TRANS_A ? M : K;
	const int64_t rows_sb = TRANS_B ? N : K, cols_sb = TRANS_B ? K : N;
	const elem_t *ap, *bp;
	void *a_copy = NULL, *b_copy = NULL;
	int64_t lda, ldb;
	CUtensorMap map_a, map_b;
	const int64_t units = units_m * units_n * batch;
	unsigned grid;
	int pair;
	rc = tma_operand((const elem_t *)a->data, mats_a * rows_sa, cols_sa, st, &ap, &a_copy, &lda);
	if (rc)
		goto out;
	rc = tma_operand((const elem_t *)b->data, mats_b * rows_sb, cols_sb, st, &bp, &b_copy, &ldb);
	if (rc)
		goto out;
	/* A: BM x 64 (k) boxes, or 64 (m) x 64 (k) as stored (K, M); B: 64 x 64 either way */
	rc = make_map(&map_a, ap, cols_sa, rows_sa, mats_a, lda, TRANS_A ? 64 : BK, TRANS_A ? BK : BM);
	if (rc)
		goto out;
	rc = make_map(&map_b, bp, cols_sb, rows_sb, mats_b, ldb, 64, BK);
	if (rc)
		goto out;
	grid = (unsigned)((units < g_clusters ? units : g_clusters) * CLUSTER);
	if (N % 8 == 0 && (uintptr_t)c->data % 16 == 0)
		pair = 2;
	else
		pair = (N % 2 == 0 && (uintptr_t)c->data % 4 == 0) ? 1 : 0;
	{
		cudaLaunchConfig_t cfg = {};
		cudaLaunchAttribute at[1];
		at[0].id = cudaLaunchAttributeClusterDimension;
		at[0].val.clusterDim.x = CLUSTER;
		at[0].val.clusterDim.y = 1;
		at[0].val.clusterDim.z = 1;
		cfg.gridDim = dim3(grid);
		cfg.blockDim = dim3(NTHREADS);
		cfg.dynamicSmemBytes = SMEM_ALLOC;
		cfg.stream = st;
		cfg.attrs = at;
		cfg.numAttrs = CLUSTER > 1 ? 1 : 0;
		if (cudaLaunchKernelEx(&cfg, gemm_wgmma_kernel, map_a, map_b, (elem_t *)c->data, (int)rows_a,
				       (int)N, (int)K, (int64_t)N, pair
#if MATMUL_BATCH
				       , (int)batch, a_batched ? 1 : 0, b_batched ? 1 : 0
#endif
				       ) != cudaSuccess ||
		    cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
out:
	if (a_copy && cudaFreeAsync(a_copy, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	if (b_copy && cudaFreeAsync(b_copy, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}
