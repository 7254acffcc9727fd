// kbreed winner for 11_4D_tensor_matrix_multiplication: 3.2852 ms on NVIDIA H100 80GB HBM3 = 314% of PyTorch eager (10.3272 ms), 47% of the floor.
// Run 6, candidate 441, round 1. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template gemm_wgmma_tf32
#define TRANS_A 0
#define TRANS_B 0
#define KB_F32_ONLY 1
#define BN 128
#define STAGES 3
#define PRECISION 2
#define GROUP 1
#define SPLIT_K 0
// kbreed-template: gemm_wgmma_tf32
// family: matmul
// problems: matmul_fp32 matmul_nt matmul_tn matmul_tt matmul_batched matmul_tensor3d matmul_tensor4d matmul_triu matmul_tril
// arch: sm_90a
// knob BN: 128 256 | default 256 | category memory access | block tile columns = the n of each wgmma (m64nBNk8); runs as 128 at PRECISION=2 and 3, whose two accumulator sets would not fit in registers at 256
// knob STAGES: 2 3 4 | default 4 | category asynchronous | shared-memory stages of the TMA ring (operand slices of 128 bytes in K: 32 fp32, 64 bf16); clamped to what fits in 227 KB (3 at PRECISION=2 and 3)
// knob PRECISION: 1 2 3 | default 3 | category data type | loose 1 | 3 = 3xTF32 split prepared by a pre-pass (hi*hi + lo*hi + hi*lo, about fp32 accuracy); 2 = 3xBF16, the same three products of bfloat16 halves at twice TF32's tensor-core rate (about 4e-6 relative, as fp32's own rounding at large K; strict allows 1e-4); 1 = one TF32 product per step (within 1e-2, not 1e-4, at K = 4096)
// knob GROUP: 1 8 16 | default 8 | category memory access | tile raster of the persistent loop: GROUP rows of tiles are swept column by column, so their A rows and B columns stay in L2
// knob SPLIT_K: 0 1 2 4 8 16 32 | default 0 | category parallelism | K ranges computed by separate tiles into fp32 partial sums, added by a second pass in a fixed order; 0 = as many as it takes to give every SM a tile when there are fewer tiles than SMs (large K, small M x N), 1 = none; in every case pieces of at most 8192 K
// start sm_90a: PRECISION=2
// same: PRECISION=3 BN=256 as BN=128
// same: PRECISION=3 STAGES=4 as STAGES=3
// same: PRECISION=2 BN=256 as BN=128
// same: PRECISION=2 STAGES=4 as STAGES=3
// check: PRECISION=2
// check: PRECISION=2 BN=128 STAGES=2 GROUP=1
/*
 * gemm_wgmma_tf32.cu - C = A @ B in fp32 on Hopper tensor cores with
 * wgmma (TF32 inputs, fp32 accumulation), operands brought into shared
 * memory by the tensor memory accelerator (TMA). Needs sm_90a (wgmma,
 * setmaxnreg, TMA); on any other GPU it returns KB_ERR_SHAPE.
 *
 * Layout (contiguous, row-major, fp32). C = op(A) @ op(B), op(X) = X, or
 * X with its last two dims swapped where the problem's defines say
 * TRANS_A / TRANS_B (A.T, B.T, transpose(-2, -1) in the model):
 *   in[0]  A  (..., M, K), or (..., K, M) with TRANS_A
 *   in[1]  B  (..., K, N), or (..., N, K) with TRANS_B
 *   out[0] C  (..., M, N)
 * The leading dims are a batch: each operand has the same leading dims as
 * C (strided batches, bmm) or none (one matrix for every batch, as the
 * weights of a tensor-matrix product). Where B has none and A is not
 * transposed, A's leading dims simply fold into M (e.g. (16, 1024, 2048) @
 * (2048, 768) is one 16384 x 768 x 2048 product). MATMUL_TRI = 1 (triu) or
 * 2 (tril), with MATMUL_TRI_DIAG the diagonal, keeps only C's upper or
 * lower triangle (torch.triu / torch.tril of the product): tiles wholly in
 * the zeroed part are written as zeros without being computed, the tiles
 * on the diagonal are masked as they are stored.
 *
 * Pre-pass. wgmma reads TF32 operands from shared memory only K-major
 * (no transpose bit for 32-bit types). A (M, K) and B^T (N, K) are K-major;
 * A^T and B as stored ((K, M), (K, N)) are not, so a tiled shared-memory
 * transpose writes them K-major into scratch (cudaMallocAsync, freed with
 * cudaFreeAsync on the stream), each batch's matrix after the other, rows
 * of pitch ldk = K rounded up to 16 bytes (as TMA wants). With
 * PRECISION=3 the pre-pass also splits every value x into hi = tf32(x)
 * (cvt.rna) and lo = tf32(x - hi) (x - hi is exact in fp32), so every
 * operand is copied: hi and lo of each. With PRECISION=1 a K-major operand
 * is read in place by TMA (its low 13 mantissa bits ignored by the tensor
 * core) unless K % 4 != 0 or its base is not 16-byte aligned; the others
 * are written once, rounded with cvt.rna. The tensor maps are 3-D (K, rows,
 * batch) and keep the true extent K, so the pitch padding is never read.
 *
 * Split K. When the tiles are fewer than the SMs (K = 524288 with M = N =
 * 256 makes 4 tiles), each tile's K range is cut into SPLIT_K pieces,
 * every piece a tile of its own, whose fp32 results go to a scratch array
 * of partial sums; a second kernel adds the pieces in order (deterministic,
 * no atomics). Whatever SPLIT_K says, no piece is longer than PIECE_K
 * (8192): the tensor core's fp32 accumulation is not round-to-nearest, and
 * its drift grows with the length of the sum (on the H200, one 8-deep step
 * at a time over K = 40003 took gemm_tf32's 3xTF32 past the strict
 * tolerance); the partial sums are added in IEEE fp32.
 *
 * Main kernel. A persistent grid (one block per SM, held to one by asking
 * for more than half the SM's shared memory) walks the 128 x TBN tiles of
 * C, of every batch and K piece, each batch's in a grouped raster (GROUP
 * tile rows column by column). Each block is
 * warp-specialised: warpgroup 0 is the producer (it drops to 40 registers
 * with setmaxnreg and one thread issues every copy), warpgroups 1 and 2
 * are consumers (raised to 232 registers), each owning 64 rows of the
 * tile. For every tile and every 32-deep K step the producer waits until
 * ring stage s is empty, announces the stage's byte count on its "full"
 * mbarrier and issues one cp.async.bulk.tensor box per operand piece: A
 * [128][32] and B^T [TBN][32] (hi and lo of each at PRECISION=3). Each
 * consumer waits on "full" and issues 4 k8 steps of wgmma.mma_async
 * m64nTBNk8: at PRECISION=1 one product into acc; at PRECISION=3 lo*hi and
 * hi*lo into a second accumulator set cor, then hi*hi into acc (lo*lo,
 * about 2^-22 relative, is dropped). It commits the step as one group and,
 * once the previous step's group has completed (wgmma.wait_group 1), lane 0
 * of each of its warps arrives on the previous stage's "empty" mbarrier
 * (count 8). The ring runs on across tiles, so the producer fetches the
 * next tile while the consumers store this one.
 * Accuracy at PRECISION=3: keeping the corrections in their own
 * accumulators means the big sum is rounded once per k8 product, not three
 * times; a CPU model of tensor-core accumulation (exact partial sums
 * truncated into fp32) put this at ~0.23 of the strict tolerance (1e-4 *
 * max(1, rms) + 1e-4 * |ref|) at K = 4096, one shared accumulator at ~0.7.
 * Inf/NaN inputs come out as NaN at PRECISION=3 (lo = inf - inf).
 *
 * PRECISION=2 (3xBF16). The same three products, of bfloat16 halves: the
 * pre-pass writes hi = bf16(x) and lo = bf16(x - hi) (cvt.rn; x - hi is
 * exact in fp32), 2 bytes each, and the consumers issue wgmma m64nTBNk16
 * .bf16 (K-major, no transpose), which the tensor cores run at twice the
 * TF32 rate: the three products cost 1.5 TF32 products, not 3. bf16 keeps
 * fp32's exponent range (no scaling, no overflow that fp32 would not
 * have); each half carries 8 significant bits, so hi + lo holds x to about
 * 2^-17 and lo*lo, dropped, is about 2^-16 of a product. On the CPU
 * (exact products of the halves, PyTorch's bf16 rounding), against fp64:
 * ||C - ref|| / ||ref|| about 4.4e-6 at K = 8 to 65536 (fp32's own
 * summation at K = 65536: 4.6e-6; 3xTF32 8e-8; TF32 3e-4), the worst
 * element at 0.45 of the strict tolerance at K = 8 and 0.17 at K = 4096,
 * inputs x 1e3 alike. On an H100 (tests/data/odd_matmul_fp32*.py):
 * 5.8e-6 to 1.2e-5 (bench/device-2026-12-06-h100.md), the tensor cores'
 * accumulation included. A stage holds 64 bf16 of K per row (the same 128
 * bytes, so the same boxes, swizzle and descriptors: a k16 step of bf16 is
 * 32 bytes as a k8 step of tf32 is), the rows of the scratch copies a
 * multiple of 8 elements (16 bytes).
 * Epilogue: C = acc (+ cor), stored straight from registers (float2 where
 * N is even and C 8-byte aligned), skipping rows >= M and columns >= N.
 *
 * Shared memory, per stage (every piece starts on a 1024-byte boundary):
 *   A pieces [128][32] fp32 (16 KB each): row m is 128 bytes (32 k) at m * 128;
 *   B pieces [TBN][32] fp32 (TBN * 128 bytes each): row n (of B^T) the same;
 *   order: A (A_hi, A_lo), then B (B_hi, B_lo).
 * TMA writes them with 128-byte swizzling: within each 1024-byte group of
 * 8 rows, 16-byte piece c of row r lands at piece c ^ (r % 8). wgmma reads
 * both operands K-major through matrix descriptors (start address >> 4 in
 * bits 0-13, LBO >> 4 in 16-29, SBO >> 4 in 32-45, swizzle mode 1 = 128B in
 * bits 62-63, base offset 0): start = piece + row0 * 128 + kk * 32 for k8
 * step kk (8 tf32 = 32 bytes: the swizzle is applied to the full address,
 * so stepping inside the 128-byte row is how K advances, exactly as 16
 * fp16 do), SBO = 1024 (next 8 rows), LBO unused (the k8 slice lies in one
 * swizzle atom). The accumulator layout does not depend on the input type:
 * register 4i+{0,1} holds row 16*warp + lane/4, columns 8i + 2*(lane%4) +
 * {0,1}; 4i+{2,3} the same columns 8 rows further down.
 *
 * Edges. TMA fills the parts of a box outside the tensor with zeros, so
 * tiles hanging over M, N or K need no special case: zero k columns of A
 * meet zero k columns of B^T, and rows >= M or columns >= N are not stored.
 * K == 0 writes zeros. Tensor maps are encoded on the host every call
 * (cuTensorMapEncodeTiled, reached through cudaGetDriverEntryPoint: no
 * driver library is linked) and passed as __grid_constant__ parameters.
 * The batch, transpose, triangle and split-K paths were added without a
 * GPU at hand; tests/data/odd_matmul_fp32_*.py are their GPU checks.
 */
#ifndef BN
#define BN 256
#endif
#ifndef STAGES
#define STAGES 4
#endif
#ifndef PRECISION
#define PRECISION 3
#endif
#ifndef GROUP
#define GROUP 8
#endif
#ifndef SPLIT_K
#define SPLIT_K 0
#endif
/* The longest K range one tile sums on the tensor cores (see Split K). */
#define PIECE_K 8192
/* From the problem (recognition), not knobs. */
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef MATMUL_TRI
#define MATMUL_TRI 0
#endif
#ifndef MATMUL_TRI_DIAG
#define MATMUL_TRI_DIAG 0
#endif

#include <cuda.h> /* CUtensorMap and its enums: types only, no driver calls linked */
#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"

static_assert(BN == 128 || BN == 256, "BN is 128 or 256");
static_assert(STAGES >= 2 && STAGES <= 8, "STAGES");
static_assert(PRECISION >= 1 && PRECISION <= 3, "PRECISION is 1, 2 or 3");
static_assert(GROUP >= 1 && GROUP <= 64, "GROUP");
static_assert(SPLIT_K >= 0 && SPLIT_K <= 64, "SPLIT_K");
static_assert((TRANS_A == 0 || TRANS_A == 1) && (TRANS_B == 0 || TRANS_B == 1), "TRANS_A, TRANS_B are 0 or 1");
static_assert(MATMUL_TRI >= 0 && MATMUL_TRI <= 2, "MATMUL_TRI is 0, 1 (triu) or 2 (tril)");

KBREED_CANDIDATE_ABI

/* Tile geometry, after the clamps the knobs describe. */
#define EBYTES (PRECISION == 2 ? 2 : 4)             /* bytes of an operand element: bf16 or tf32 */
#define BK (128 / EBYTES)                           /* K per stage: one 128-byte swizzle row */
#define KSTEP (32 / EBYTES)                         /* K per wgmma: k8 tf32, k16 bf16 (32 bytes) */
#define CONSUMERS 2                                 /* consumer warpgroups, 64 rows each */
#define BM 128                                      /* block tile rows */
#define TBN ((PRECISION != 1 && BN > 128) ? 128 : BN) /* block tile columns (<= 128 accumulators) */
#define NSPLIT (PRECISION != 1 ? 2 : 1)             /* pieces per operand: hi (and lo) */
#define NTHREADS (128 * (CONSUMERS + 1))            /* producer warpgroup + consumers */
#define A_BYTES (BM * BK * EBYTES)                  /* one A piece: 16 KB */
#define B_BYTES (TBN * BK * EBYTES)                 /* one B^T piece */
#define STAGE_BYTES (NSPLIT * (A_BYTES + B_BYTES))
#define SMEM_OPTIN 232448                           /* 227 KB: the sm_90 per-block limit */
#define SMEM_EXTRA (1024 + 256)                     /* alignment slack + mbarriers */
#define STAGE_FIT ((SMEM_OPTIN - SMEM_EXTRA) / STAGE_BYTES)
#define NSTAGE (STAGES < STAGE_FIT ? STAGES : STAGE_FIT)
#define SMEM_USED (NSTAGE * STAGE_BYTES + SMEM_EXTRA)
/* More than half an SM's shared memory, so that one block runs per SM. */
#define SMEM_ALLOC (SMEM_USED > 120 * 1024 ? SMEM_USED : 120 * 1024)
#define PRODUCER_REGS 40
#define CONSUMER_REGS 232

static_assert(NSTAGE >= 2, "two stages must fit");
static_assert(STAGE_BYTES % 1024 == 0 && A_BYTES % 1024 == 0 && B_BYTES % 1024 == 0,
	      "pieces keep 1024-byte alignment");
static_assert(2 * 8 * NSTAGE <= 256, "mbarriers fit their reserve");
static_assert(SMEM_ALLOC <= SMEM_OPTIN, "shared memory");
static_assert(128 * PRODUCER_REGS + 128 * CONSUMERS * CONSUMER_REGS <= 65536, "register file");

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GEMM_WGMMA_DEVICE 1
#else
#define GEMM_WGMMA_DEVICE 0
#endif

/* ---- PTX wrappers: mbarrier, TMA, wgmma (sm_90a), in templates/common ---- */

// ---- inlined from ../common/hopper.cuh ----
// hopper.cuh - the sm_90a helpers of the wgmma templates (gemm_wgmma_f16,
// gemm_wgmma_tf32, flash_wgmma, conv_igemm's WGMMA=1), written once:
//   mbar_init / mbar_wait / mbar_arrive / mbar_arrive_expect_tx
//                                 mbarriers in this block's shared memory
//   tma_load_2d / tma_load_3d / tma_load_5d
//                                 one TMA box global -> shared, counted in bytes on an mbarrier
//   tma_load_2d_mc / tma_load_3d_mc
//                                 the same boxes multicast to the blocks of a cluster
//   bulk_load(dst, src, bytes, bar, policy)
//                                 one contiguous run global -> shared by the bulk copy
//                                 engine (no tensor map), counted in bytes on an mbarrier
//   l2_evict_first()              an L2 policy for data read once (bulk_load's policy)
//   smem_desc(addr, lbo, sbo)     a wgmma shared-memory matrix descriptor, 128-byte swizzle
//   wgmma_fence / wgmma_commit / wgmma_wait<N>
//                                 ordering and completion of asynchronous wgmma groups
//   reg_fence(x)                  keeps the compiler from moving a register's use across a
//                                 wgmma wait (accumulators) or reusing an in-flight A operand
//   KB_WGMMA_REGS16..128, KB_WGMMA_ACC16..128(d)
//                                 a wgmma's accumulator operands for inline asm
//   kb_tensor_map_encoder()       (host) the driver's cuTensorMapEncodeTiled, found
//                                 once through the runtime (no libcuda linked); NULL
//                                 where the driver has none
// Shared-memory operands are 32-bit addresses (smem_u32). The descriptor
// fields: start address >> 4 in bits 0-13, leading-dimension byte offset
// >> 4 in 16-29, stride byte offset >> 4 in 32-45, swizzle mode 1 (128 B)
// in bits 62-63. The wgmma instructions themselves (shape, types,
// transposes) stay in each template, beside the tiling they serve; only
// their accumulator operand lists are here.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_HOPPER_CUH
#define KBREED_COMMON_HOPPER_CUH

#include <cuda.h> /* CUtensorMap: types only, no driver calls linked */
#include <cuda_runtime.h>
#include <stdint.h>
// ---- inlined from smem.cuh ----
// smem.cuh - the shared-memory address of a pointer, as the 32-bit operand
// that PTX's shared-space instructions (cp.async, ldmatrix, mbarrier, TMA,
// wgmma descriptors) take. Shared by ampere.cuh and hopper.cuh.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_SMEM_CUH
#define KBREED_COMMON_SMEM_CUH

#include <stdint.h>

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
	return (uint32_t)__cvta_generic_to_shared(p);
}

#endif
// ---- end of smem.cuh ----

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count)
{
	asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}

/* Wait until the phase of parity `parity` of the barrier has completed. */
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity)
{
	uint32_t done;
	do {
		asm volatile("{\n.reg .pred p;\n"
			     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
			     "selp.u32 %0, 1, 0, p;\n}\n"
			     : "=r"(done)
			     : "r"(bar), "r"(parity)
			     : "memory");
	} while (!done);
}

__device__ __forceinline__ void mbar_arrive(uint32_t bar)
{
	asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}

/* Arrive once and add `bytes` to the transaction count the phase waits for. */
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes)
{
	asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes)
		     : "memory");
}

/* One 2-D TMA box (x = inner coordinate, y = outer) into shared memory at dst;
 * completion is counted in bytes on the mbarrier. */
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3}], [%4];" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(bar)
		     : "memory");
}

/* The same box written to the same offset of every block in `mask` of the
 * cluster, each block's mbarrier at offset `bar` counting the bytes. */
__device__ __forceinline__ void tma_load_2d_mc(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar,
					       uint16_t mask)
{
	asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     ".multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(bar), "h"(mask)
		     : "memory");
}

/* One 3-D TMA box (x = column, y = row, z = the outer index) into shared
 * memory at dst; completion is counted in bytes on the mbarrier. */
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap *map, int x, int y, int z,
					    uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3, %4}], [%5];" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(z), "r"(bar)
		     : "memory");
}

/* The 3-D box written to the same offset of every block in `mask` of the
 * cluster, as tma_load_2d_mc does the 2-D one. */
__device__ __forceinline__ void tma_load_3d_mc(uint32_t dst, const CUtensorMap *map, int x, int y, int z,
					       uint32_t bar, uint16_t mask)
{
	asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     ".multicast::cluster [%0], [%1, {%2, %3, %4}], [%5], %6;" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(z), "r"(bar), "h"(mask)
		     : "memory");
}

/* One 5-D TMA box (c0 the innermost coordinate) into shared memory at dst;
 * completion is counted in bytes on the mbarrier. Coordinates may lie
 * outside the tensor (negative too): those elements are zero-filled. */
__device__ __forceinline__ void tma_load_5d(uint32_t dst, const CUtensorMap *map, int c0, int c1, int c2, int c3,
					    int c4, uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.5d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3, %4, %5, %6}], [%7];" ::"r"(dst),
		     "l"((uint64_t)map), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(c4), "r"(bar)
		     : "memory");
}

/* An L2 cache policy under which the lines a load brings in are the first
 * to go: for data read once. */
__device__ __forceinline__ uint64_t l2_evict_first(void)
{
	uint64_t policy;
	asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
	return policy;
}

/* `bytes` contiguous bytes (a multiple of 16, both addresses 16-byte
 * aligned) from global memory at src into shared memory at dst, by the bulk
 * copy engine: one thread issues it, and its completion is counted in bytes
 * on the mbarrier (the issuer's mbar_arrive_expect_tx announces them). */
__device__ __forceinline__ void bulk_load(uint32_t dst, const void *src, uint32_t bytes, uint32_t bar,
					  uint64_t policy)
{
	asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
		     " [%0], [%1], %2, [%3], %4;" ::"r"(dst),
		     "l"((uint64_t)src), "r"(bytes), "r"(bar), "l"(policy)
		     : "memory");
}

/* The accumulator operands of a wgmma, for the inline asm of each
 * template's instruction: KB_WGMMA_REGS<n> is the register list "%0, ...,
 * %<n-1>" of a thread's n fp32 accumulators (n = N/2 for m64nNk*: 16, 32,
 * 64, 96 or 128) and KB_WGMMA_ACC<n>(d) their constraints "+f"(d[0]), ...,
 * "+f"(d[n-1]); the instruction's other operands follow as %n, %n+1, .... */
#define KB_WGMMA_REGS16 \
	"%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15"
#define KB_WGMMA_REGS32 KB_WGMMA_REGS16 ", " \
	"%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define KB_WGMMA_REGS64 KB_WGMMA_REGS32 ", " \
	"%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
	"%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define KB_WGMMA_REGS96 KB_WGMMA_REGS64 ", " \
	"%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
	"%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95"
#define KB_WGMMA_REGS128 KB_WGMMA_REGS96 ", " \
	"%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
	"%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
#define KB_WGMMA_ACC16(d) \
	"+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
	"+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
#define KB_WGMMA_ACC32(d) KB_WGMMA_ACC16(d), \
	"+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
	"+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define KB_WGMMA_ACC64(d) KB_WGMMA_ACC32(d), \
	"+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
	"+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
	"+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
	"+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define KB_WGMMA_ACC96(d) KB_WGMMA_ACC64(d), \
	"+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
	"+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
	"+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
	"+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
#define KB_WGMMA_ACC128(d) KB_WGMMA_ACC96(d), \
	"+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
	"+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
	"+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
	"+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])

/* Shared-memory matrix descriptor, 128-byte swizzle (fields above). */
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t lbo, uint32_t sbo)
{
	return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
	       ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

__device__ __forceinline__ void wgmma_fence(void)
{
	asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
}

__device__ __forceinline__ void wgmma_commit(void)
{
	asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
}

template <int N> __device__ __forceinline__ void wgmma_wait(void)
{
	asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
}

__device__ __forceinline__ void reg_fence(float &x)
{
	asm volatile("" : "+f"(x)::"memory");
}

__device__ __forceinline__ void reg_fence(uint32_t &x)
{
	asm volatile("" : "+r"(x)::"memory");
}

/* cuTensorMapEncodeTiled, as the driver exports it (CUDA 12.0 ABI), looked
 * up once per candidate (gemm_wgmma_f16, gemm_wgmma_tf32, flash_wgmma,
 * conv_igemm's NHWC=4); NULL where the runtime cannot find it, the error
 * that left cleared. */
typedef CUresult (*kb_encode_tiled_fn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
				       const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
				       const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle,
				       CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static inline kb_encode_tiled_fn kb_tensor_map_encoder(void)
{
	static kb_encode_tiled_fn enc = NULL;
	if (enc)
		return enc;
	void *fn = NULL;
	cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
	cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
							 cudaEnableDefault, &q);
#else
	cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &fn, cudaEnableDefault, &q);
#endif
	if (e == cudaSuccess && q == cudaDriverEntryPointSuccess && fn)
		enc = (kb_encode_tiled_fn)fn;
	else
		(void)cudaGetLastError(); /* the caller's launches check the last error */
	return enc;
}

#endif
// ---- end of ../common/hopper.cuh ----
// ---- inlined from ../common/host.cuh ----
// host.cuh - host helpers of the templates' kbreed_forward (and of the naive
// kernels src/generate.c writes), written once:
//   kb_sm_count()   the current device's number of SMs (multiprocessors), for
//                   sizing a grid to the machine; 0 where the runtime cannot
//                   say (no device, a failed call, a count below 1): the
//                   caller then returns KB_ERR_LAUNCH, or uses a default
//   kb_keep_pool_mapped()
//                   raises the current device's default memory pool's
//                   release threshold to the maximum, once per process: the
//                   pool then keeps what cudaFreeAsync returned mapped
//                   between calls instead of handing it back at every
//                   synchronisation, so that a call's stream-ordered
//                   scratch (cudaMallocAsync) costs no new mapping each
//                   time. Best effort: where the runtime refuses, memory is
//                   mapped afresh (slower, never wrong)
// The templates ask once and keep the answer in a static (g_sms), as a
// candidate runs on one device.
//
// Grid-wide state of a call (partial sums, tickets, scratch) is never a
// __device__ global: a candidate exported into PyTorch may run on two
// streams at once, and both calls would share it. Each call takes its own
// with cudaMallocAsync on its stream, initialises it there, and returns it
// with cudaFreeAsync on the same stream, after its last kernel
// (tests/bridge/test_template_state.sh checks that no template keeps any).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_HOST_CUH
#define KBREED_COMMON_HOST_CUH

#include <cuda_runtime.h>
#include <stdint.h>

static inline int kb_sm_count(void)
{
	int dev = 0, n = 0;
	if (cudaGetDevice(&dev) != cudaSuccess ||
	    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n < 1)
		return 0;
	return n;
}

static inline void kb_keep_pool_mapped(void)
{
	static bool done = false;
	cudaMemPool_t pool;
	int dev = 0;
	uint64_t keep = UINT64_MAX;
	if (done)
		return;
	if (cudaGetDevice(&dev) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess)
		cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
	done = true;
}

#endif
// ---- end of ../common/host.cuh ----
// ---- inlined from ../common/gemm_operands.cuh ----
// gemm_operands.cuh - the operands of a matrix product as kbreed_forward
// receives them, read once for the GEMM templates (gemm_wgmma_tf32,
// gemm_wgmma_f16):
//   kb_gemm_operands(a, b, c, dtype, trans_a, trans_b, fold, &s)
//                   C = op(A) @ op(B), op(X) = X or, transposed, X's last two
//                   dims swapped; A (..., M, K) or (..., K, M), B (..., K, N)
//                   or (..., N, K), C (..., M, N), all of one dtype. Fills s
//                   (M, N, K; rows_a, the rows of A the kernel walks; batch,
//                   the matrices of C; whether A and B have one matrix per
//                   batch) and returns KB_OK, or KB_ERR_SHAPE for operands
//                   that do not make that product.
// The batch: where fold is true, B has no leading dims and A is not
// transposed, A's leading dims fold into M (rows_a = their product x M, one
// matrix); otherwise each operand has C's leading dims or none (shared by
// every matrix of C), and C has M rows per matrix.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), so that a candidate stays one whole file.
#ifndef KBREED_COMMON_GEMM_OPERANDS_CUH
#define KBREED_COMMON_GEMM_OPERANDS_CUH

#include <stdint.h>
#include "kbreed_candidate.h"

struct kb_gemm_shape {
	int64_t M, N, K;     /* op(A) (M, K), op(B) (K, N) */
	int64_t rows_a;      /* A's rows as the kernel walks them: M, or M x A's folded leading dims */
	int64_t batch;       /* C's matrices: the product of its leading dims (1 when folded) */
	bool a_batched;      /* A has a matrix per batch (else one, shared) */
	bool b_batched;      /* B likewise */
};

/* The product of dims [0, n) of t. */
static inline int64_t kb_lead(const kb_tensor *t, int n)
{
	int64_t p = 1;
	for (int i = 0; i < n; i++)
		p *= t->shape[i];
	return p;
}

/* Whether t's dims [0, n) are c's dims [0, n). */
static inline bool kb_same_lead(const kb_tensor *t, int n, const kb_tensor *c)
{
	for (int i = 0; i < n; i++)
		if (t->shape[i] != c->shape[i])
			return false;
	return true;
}

static inline int kb_gemm_operands(const kb_tensor *a, const kb_tensor *b, const kb_tensor *c, int dtype,
				   bool trans_a, bool trans_b, bool fold, struct kb_gemm_shape *s)
{
	if (a->dtype != dtype || b->dtype != dtype || c->dtype != dtype)
		return KB_ERR_SHAPE;
	const int na = a->ndim, nb = b->ndim, nc = c->ndim;
	if (na < 2 || nb < 2 || nc < 2 || na > KBREED_MAX_DIMS || nb > KBREED_MAX_DIMS || nc > KBREED_MAX_DIMS)
		return KB_ERR_SHAPE;
	for (int i = 0; i < na; i++)
		if (a->shape[i] < 0)
			return KB_ERR_SHAPE;
	for (int i = 0; i < nb; i++)
		if (b->shape[i] < 0)
			return KB_ERR_SHAPE;
	s->M = trans_a ? a->shape[na - 1] : a->shape[na - 2];
	s->K = trans_a ? a->shape[na - 2] : a->shape[na - 1];
	s->N = trans_b ? b->shape[nb - 2] : b->shape[nb - 1];
	if ((trans_b ? b->shape[nb - 1] : b->shape[nb - 2]) != s->K || c->shape[nc - 1] != s->N)
		return KB_ERR_SHAPE;
	s->rows_a = s->M;
	s->batch = 1;
	s->a_batched = s->b_batched = false;
	if (fold && nb == 2 && !trans_a) {
		if (nc != na || !kb_same_lead(a, na - 1, c))
			return KB_ERR_SHAPE;
		s->rows_a = kb_lead(a, na - 1);
		return KB_OK;
	}
	if (c->shape[nc - 2] != s->M || (na > 2 && (na != nc || !kb_same_lead(a, na - 2, c))) ||
	    (nb > 2 && (nb != nc || !kb_same_lead(b, nb - 2, c))) || (na == 2 && nb == 2 && nc != 2))
		return KB_ERR_SHAPE;
	s->batch = kb_lead(c, nc - 2);
	s->a_batched = na > 2;
	s->b_batched = nb > 2;
	return KB_OK;
}

#endif
// ---- end of ../common/gemm_operands.cuh ----
// ---- inlined from ../common/split_k.cuh ----
// split_k.cuh - how a GEMM is split along K, and the second pass that adds
// the pieces (gemm_tf32, gemm_wgmma_tf32), written once:
//   kb_split_pieces(want, tiles, nk, sms, max_steps)
//                   how many K pieces: want (the SPLIT_K knob), or (0) enough
//                   to give each of the sms SMs a tile when there are fewer
//                   tiles than SMs, each piece at least 8 of the nk K steps,
//                   at most 32 pieces; then at least enough that no piece is
//                   longer than max_steps steps (0: no limit); at most nk; at
//                   least 1
//   sum_pieces_kernel(part, nsplit, n, C)
//                   C[i] = part[i] + part[n + i] + ... + part[(nsplit-1)*n + i],
//                   added in that order in IEEE fp32: deterministic, no
//                   atomics, the same result at every launch shape
// The first pass writes the fp32 result of each K piece p to part + p * n
// (n = the elements of C); the caller takes part from cudaMallocAsync on
// its stream and returns it there (templates/common/host.cuh).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate.
#ifndef KBREED_COMMON_SPLIT_K_CUH
#define KBREED_COMMON_SPLIT_K_CUH

#include <cuda_runtime.h>
#include <stdint.h>

static inline int64_t kb_split_pieces(int64_t want, int64_t tiles, int64_t nk, int64_t sms, int64_t max_steps)
{
	int64_t p = want;
	if (p == 0) {
		p = 1;
		if (tiles < sms) {
			p = sms / tiles;
			if (p > nk / 8)
				p = nk / 8;
			if (p > 32)
				p = 32;
		}
	}
	if (max_steps > 0 && p < (nk + max_steps - 1) / max_steps)
		p = (nk + max_steps - 1) / max_steps;
	if (p > nk)
		p = nk;
	return p < 1 ? 1 : p;
}

__global__ void __launch_bounds__(256)
sum_pieces_kernel(const float *__restrict__ part, int nsplit, int64_t n, float *__restrict__ C)
{
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
		float sum = part[i];
		for (int p = 1; p < nsplit; p++)
			sum += part[p * n + i];
		C[i] = sum;
	}
}

#endif
// ---- end of ../common/split_k.cuh ----

#if TBN == 128
/* D(64 x 128, fp32, 64 per thread) += A(64 x K) * B(128 x K)^T, both K-major
 * in shared memory: TF32 k8 steps, or bf16 k16 at PRECISION=2 (whose
 * instruction also takes the transpose bits: 0, K-major). */
#if PRECISION == 2
#define WGMMA_N128 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16"
#define WGMMA_ARGS "p, 1, 1, 0, 0"
#else
#define WGMMA_N128 "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32"
#define WGMMA_ARGS "p, 1, 1"
#endif
static __device__ __forceinline__ void wgmma_n128(float *d, uint64_t da, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n" WGMMA_N128 " {"
		     KB_WGMMA_REGS64
		     "}, %64, %65, " WGMMA_ARGS ";\n}\n"
		     : KB_WGMMA_ACC64(d)
		     : "l"(da), "l"(db), "r"(scale_d));
}
#define WGMMA wgmma_n128
#endif

#if TBN == 256
/* D(64 x 256, fp32, 128 per thread) += A(64 x 8) * B(256 x 8)^T; both TF32, K-major in shared memory. */
static __device__ __forceinline__ void wgmma_n256(float *d, uint64_t da, uint64_t db, int scale_d)
{
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
		     "wgmma.mma_async.sync.aligned.m64n256k8.f32.tf32.tf32 {"
		     KB_WGMMA_REGS128
		     "}, %128, %129, p, 1, 1;\n}\n"
		     : KB_WGMMA_ACC128(d)
		     : "l"(da), "l"(db), "r"(scale_d));
}
#define WGMMA wgmma_n256
#endif

/* ---- pre-pass: TF32 (or bf16) rounding, hi/lo split, transpose of B ---- */

#if PRECISION == 2
typedef uint16_t elem_t; /* an operand element as the tensor cores read it: bf16 bits */

/* x rounded to the nearest bf16 (ties to even), as its bits. */
static __device__ __forceinline__ uint16_t bf16_rn(float x)
{
	uint16_t r;
	asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x));
	return r;
}

/* hi = bf16(x), lo = bf16(x - hi). */
static __device__ __forceinline__ void split_one(float x, elem_t &hi, elem_t &lo)
{
	hi = bf16_rn(x);
	lo = bf16_rn(x - __uint_as_float((uint32_t)hi << 16));
}

/* Four consecutive elements' hi at h (and lo at l, unless NULL), 8-byte aligned. */
static __device__ __forceinline__ void split4(float4 x, elem_t *h, elem_t *l)
{
	elem_t h0, h1, h2, h3, l0, l1, l2, l3;
	split_one(x.x, h0, l0);
	split_one(x.y, h1, l1);
	split_one(x.z, h2, l2);
	split_one(x.w, h3, l3);
	*reinterpret_cast<uint2 *>(h) = make_uint2(h0 | (uint32_t)h1 << 16, h2 | (uint32_t)h3 << 16);
	if (l)
		*reinterpret_cast<uint2 *>(l) = make_uint2(l0 | (uint32_t)l1 << 16, l2 | (uint32_t)l3 << 16);
}
#else
typedef float elem_t; /* tf32 in fp32 bits */

/* x rounded to the nearest TF32 value (ties away from zero), as fp32 bits. */
static __device__ __forceinline__ float tf32_rna(float x)
{
	uint32_t r;
	asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
	return __uint_as_float(r);
}

/* hi = tf32(x), lo = tf32(x - hi). */
static __device__ __forceinline__ void split_one(float x, elem_t &hi, elem_t &lo)
{
	hi = tf32_rna(x);
	lo = tf32_rna(x - hi);
}

/* Four consecutive elements' hi at h (and lo at l, unless NULL), 16-byte aligned. */
static __device__ __forceinline__ void split4(float4 x, elem_t *h, elem_t *l)
{
	const float4 hv = make_float4(tf32_rna(x.x), tf32_rna(x.y), tf32_rna(x.z), tf32_rna(x.w));
	*reinterpret_cast<float4 *>(h) = hv;
	if (l)
		*reinterpret_cast<float4 *>(l) = make_float4(tf32_rna(x.x - hv.x), tf32_rna(x.y - hv.y),
							     tf32_rna(x.z - hv.z), tf32_rna(x.w - hv.w));
}
#endif

/* One element's hi at h (and lo at l, unless NULL). */
static __device__ __forceinline__ void split1(float x, elem_t *h, elem_t *l)
{
	elem_t hv, lv;
	split_one(x, hv, lv);
	*h = hv;
	if (l)
		*l = lv;
}

/*
 * hi[z, r, c] = tf32(src[z, r, c]) (bf16 at PRECISION=2) and, when lo is
 * not NULL, lo[z, r, c] = tf32(src - hi), for `batch` matrices src (rows,
 * cols), pitch cols, each rows * cols apart; hi and lo have pitch ldd (a
 * multiple of 16 bytes, 16-byte aligned bases), each matrix rows * ldd
 * after the last. VEC: cols % 4 == 0 and src 16-byte aligned, so one
 * thread handles a float4. Blocks stride over rows (y), column chunks (x)
 * and matrices (z).
 */
template <bool VEC>
__global__ void __launch_bounds__(256)
split_rows_kernel(const float *__restrict__ src, int64_t rows, int cols, int64_t batch, elem_t *__restrict__ hi,
		  elem_t *__restrict__ lo, int64_t ldd)
{
	const int units = VEC ? cols / 4 : cols;
	for (int64_t z = blockIdx.z; z < batch; z += gridDim.z) {
		const float *sz = src + z * rows * cols;
		elem_t *hz = hi + z * rows * ldd, *lz = lo ? lo + z * rows * ldd : NULL;
		for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
			for (int u = blockIdx.x * blockDim.x + threadIdx.x; u < units; u += gridDim.x * blockDim.x) {
				if (VEC) {
					const float4 x = *reinterpret_cast<const float4 *>(sz + r * cols + 4 * (int64_t)u);
					const int64_t d = r * ldd + 4 * (int64_t)u;
					split4(x, hz + d, lz ? lz + d : NULL);
				} else {
					const int64_t d = r * ldd + u;
					split1(sz[r * cols + u], hz + d, lz ? lz + d : NULL);
				}
			}
		}
	}
}

/*
 * The same for the transpose: `batch` matrices X (K, R) row-major in, each
 * K * R apart; hi[z, r, k] = tf32(X[z, k, r]) (and lo) out, pitch ldk, each
 * matrix R * ldk after the last. 32 x 32 tiles through shared memory
 * (padded to 33 columns: no bank conflicts either way), block 32 x 8;
 * blockIdx.x picks the 32 columns of X, blockIdx.y strides over 32-row
 * tiles, blockIdx.z over the matrices.
 */
__global__ void __launch_bounds__(256)
transpose_split_kernel(const float *__restrict__ X, int K, int R, int64_t batch, elem_t *__restrict__ hi,
		       elem_t *__restrict__ lo, int64_t ldk)
{
	__shared__ float t[32][33];
	const int r0 = blockIdx.x * 32, tiles_k = (K + 31) / 32;
	const int tx = threadIdx.x, ty = threadIdx.y;
	for (int64_t z = blockIdx.z; z < batch; z += gridDim.z) {
		const float *xz = X + z * K * (int64_t)R;
		elem_t *hz = hi + z * R * ldk, *lz = lo ? lo + z * R * ldk : NULL;
		for (int tk = blockIdx.y; tk < tiles_k; tk += gridDim.y) {
			const int k0 = tk * 32;
#pragma unroll
			for (int j = 0; j < 4; j++) {
				const int k = k0 + ty + 8 * j, r = r0 + tx;
				t[ty + 8 * j][tx] = (k < K && r < R) ? xz[(int64_t)k * R + r] : 0.0f;
			}
			__syncthreads();
#pragma unroll
			for (int j = 0; j < 4; j++) {
				const int r = r0 + ty + 8 * j, k = k0 + tx;
				if (r < R && k < K) {
					const int64_t d = (int64_t)r * ldk + k;
					split1(t[tx][ty + 8 * j], hz + d, lz ? lz + d : NULL);
				}
			}
			__syncthreads();
		}
	}
}

/* ---- main kernel ---- */

/* Tile t of the raster -> (tile row tm, column tn): GROUP tile rows are
 * swept column by column (the last group may hold fewer rows). */
static __device__ __forceinline__ void tile_of(int t, int tiles_m, int tiles_n, int &tm, int &tn)
{
	int per_group = GROUP * tiles_n;
	int g = t / per_group, r = t - g * per_group;
	int first = g * GROUP;
	int rows = tiles_m - first < GROUP ? tiles_m - first : GROUP;
	tm = first + r % rows;
	tn = r / rows;
}

/* Stores C[r, c] and C[r, c + 1] (c even; c + 1 may be past N only when !pair). */
static __device__ __forceinline__ void store2(float *C, int64_t ldc, int N, int r, int c, float x, float y,
					      bool pair)
{
	float *p = C + (int64_t)r * ldc + c;
	if (pair) {
		*reinterpret_cast<float2 *>(p) = make_float2(x, y);
	} else {
		p[0] = x;
		if (c + 1 < N)
			p[1] = y;
	}
}

/* Whether the tile at (m0, n0) lies wholly where MATMUL_TRI zeroes C. */
static __device__ __forceinline__ bool tile_zeroed(int m0, int n0)
{
#if MATMUL_TRI == 1
	return (n0 + TBN - 1) - m0 < MATMUL_TRI_DIAG; /* every column - row below the diagonal */
#elif MATMUL_TRI == 2
	return n0 - (m0 + BM - 1) > MATMUL_TRI_DIAG;
#else
	return false;
#endif
}

/* x, or 0 where MATMUL_TRI zeroes C[r, c]. */
static __device__ __forceinline__ float tri_keep(float x, int r, int c)
{
#if MATMUL_TRI == 1
	return c - r >= MATMUL_TRI_DIAG ? x : 0.0f;
#elif MATMUL_TRI == 2
	return c - r <= MATMUL_TRI_DIAG ? x : 0.0f;
#else
	return x;
#endif
}

/* The work of tile number t: K piece, batch, tile row and column. */
struct tile_work {
	int piece, bt, tm, tn;
};

static __device__ __forceinline__ tile_work work_of(int t, int batch, int tiles_m, int tiles_n)
{
	const int per_batch = tiles_m * tiles_n;
	tile_work w;
	w.piece = t / (batch * per_batch);
	const int rest = t - w.piece * batch * per_batch;
	w.bt = rest / per_batch;
	tile_of(rest - w.bt * per_batch, tiles_m, tiles_n, w.tm, w.tn);
	return w;
}

/* The first K step of piece p of nsplit over nk steps (piece nsplit: nk). */
static __device__ __forceinline__ int piece_start(int p, int nk, int nsplit)
{
	return (int)((int64_t)p * nk / nsplit);
}

/*
 * The persistent kernel. tmA / tmAl: A hi / lo (K, M, batch_a), box 32 x
 * 128 x 1; tmB / tmBl: B^T hi / lo (K, N, batch_b), box 32 x TBN x 1 (the
 * lo maps are unused at PRECISION=1); a_batched / b_batched: whether the
 * operand has a matrix per batch (else matrix 0 serves every batch). C:
 * nsplit x batch matrices (M, N), each M * N after the last (nsplit > 1:
 * the partial sums of the K pieces). pair: N even and C 8-byte aligned
 * (float2 stores).
 */
__global__ void __launch_bounds__(NTHREADS, 1)
gemm_wgmma_tf32_kernel(const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmAl,
		       const __grid_constant__ CUtensorMap tmB, const __grid_constant__ CUtensorMap tmBl,
		       float *__restrict__ C, int M, int N, int K, int batch, int a_batched, int b_batched,
		       int nsplit, int pair)
{
#if GEMM_WGMMA_DEVICE
	extern __shared__ uint8_t smem_raw[];
	const uint32_t base = (smem_u32(smem_raw) + 1023u) & ~1023u;
	const uint32_t full_bar = base + NSTAGE * STAGE_BYTES; /* NSTAGE x 8 bytes */
	const uint32_t empty_bar = full_bar + NSTAGE * 8;      /* NSTAGE x 8 bytes */

	const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + TBN - 1) / TBN;
	const int tiles = tiles_m * tiles_n * batch * nsplit;
	const int nk = (K + BK - 1) / BK;
	const int wg = threadIdx.x / 128;

	if (threadIdx.x == 0) {
		for (int s = 0; s < NSTAGE; s++) {
			mbar_init(full_bar + 8 * s, 1);              /* the producer's expect_tx */
			mbar_init(empty_bar + 8 * s, 4 * CONSUMERS); /* one arrival per consumer warp */
		}
		asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
		asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
	}
	__syncthreads();

	if (wg == 0) {
		/* Producer warpgroup: one thread issues every copy. */
		asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(PRODUCER_REGS));
		if (threadIdx.x == 0) {
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmA) : "memory");
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmB) : "memory");
#if NSPLIT == 2
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmAl) : "memory");
			asm volatile("prefetch.tensormap [%0];" ::"l"((uint64_t)&tmBl) : "memory");
#endif
			int s = 0;
			uint32_t phase = 0;
			for (int t = blockIdx.x; t < tiles; t += gridDim.x) {
				const tile_work w = work_of(t, batch, tiles_m, tiles_n);
				const int m0 = w.tm * BM, n0 = w.tn * TBN;
				if (tile_zeroed(m0, n0))
					continue;
				const int za = a_batched ? w.bt : 0, zb = b_batched ? w.bt : 0;
				const int kb1 = piece_start(w.piece + 1, nk, nsplit);
				for (int kb = piece_start(w.piece, nk, nsplit); kb < kb1; kb++) {
					/* first pass: parity 1 of a fresh barrier counts as complete */
					mbar_wait(empty_bar + 8 * s, phase ^ 1);
					const uint32_t fb = full_bar + 8 * s;
					const uint32_t sa = base + s * STAGE_BYTES, sb = sa + NSPLIT * A_BYTES;
					mbar_arrive_expect_tx(fb, STAGE_BYTES);
					tma_load_3d(sa, &tmA, kb * BK, m0, za, fb);
					tma_load_3d(sb, &tmB, kb * BK, n0, zb, fb);
#if NSPLIT == 2
					tma_load_3d(sa + A_BYTES, &tmAl, kb * BK, m0, za, fb);
					tma_load_3d(sb + B_BYTES, &tmBl, kb * BK, n0, zb, fb);
#endif
					if (++s == NSTAGE) {
						s = 0;
						phase ^= 1;
					}
				}
			}
		}
	} else {
		/* Consumer warpgroup cw owns rows cw*64 .. cw*64+63 of the tile. */
		asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(CONSUMER_REGS));
		const int cw = wg - 1;
		const int tid = threadIdx.x & 127, warp = tid >> 5, lane = tid & 31;
		float acc[TBN / 2];
#if NSPLIT == 2
		float cor[TBN / 2];
#endif
		int s = 0;
		uint32_t phase = 0;
		for (int t = blockIdx.x; t < tiles; t += gridDim.x) {
			const tile_work w = work_of(t, batch, tiles_m, tiles_n);
			const int m0 = w.tm * BM, n0 = w.tn * TBN;
			/* A zeroed tile is stored as zeros without touching acc (a
			 * non-wgmma write to it would serialise the wgmma pipeline). */
			const bool zero = tile_zeroed(m0, n0);
			if (!zero) {
				const int kb0 = piece_start(w.piece, nk, nsplit), kb1 = piece_start(w.piece + 1, nk, nsplit);
				int prev = 0;
				for (int kb = kb0; kb < kb1; kb++) {
					mbar_wait(full_bar + 8 * s, phase);
					const uint32_t sa = base + s * STAGE_BYTES + cw * 64 * 128;
					const uint32_t sb = base + s * STAGE_BYTES + NSPLIT * A_BYTES;
					wgmma_fence();
#pragma unroll
					for (int kk = 0; kk < BK / KSTEP; kk++) {
						const uint64_t da = smem_desc(sa + kk * 32, 16, 1024);
						const uint64_t db = smem_desc(sb + kk * 32, 16, 1024);
						/* scale-d 0 on the piece's first k8 step: D = A*B */
#if NSPLIT == 2
						const uint64_t dal = smem_desc(sa + A_BYTES + kk * 32, 16, 1024);
						const uint64_t dbl = smem_desc(sb + B_BYTES + kk * 32, 16, 1024);
						WGMMA(cor, dal, db, kb - kb0 + kk);
						WGMMA(cor, da, dbl, 1);
#endif
						WGMMA(acc, da, db, kb - kb0 + kk);
					}
					wgmma_commit();
					if (kb > kb0) {
						/* the previous step's group is done: free its stage */
						wgmma_wait<1>();
						if (lane == 0)
							mbar_arrive(empty_bar + 8 * prev);
					}
					prev = s;
					if (++s == NSTAGE) {
						s = 0;
						phase ^= 1;
					}
				}
				wgmma_wait<0>();
#pragma unroll
				for (int i = 0; i < TBN / 2; i++) {
					reg_fence(acc[i]);
#if NSPLIT == 2
					reg_fence(cor[i]);
					acc[i] += cor[i];
#endif
				}
				if (lane == 0)
					mbar_arrive(empty_bar + 8 * prev);
			}

			/* Accumulator layout in the opening comment. */
			float *Ct = C + ((int64_t)w.piece * batch + w.bt) * M * (int64_t)N;
			const bool pr = pair != 0;
			const int r0 = m0 + cw * 64 + warp * 16 + (lane >> 2);
			const int r1 = r0 + 8;
#pragma unroll
			for (int i = 0; i < TBN / 8; i++) {
				const int c = n0 + 8 * i + 2 * (lane & 3);
				if (c < N) {
					if (r0 < M)
						store2(Ct, N, N, r0, c, zero ? 0.0f : tri_keep(acc[4 * i], r0, c),
						       zero ? 0.0f : tri_keep(acc[4 * i + 1], r0, c + 1), pr);
					if (r1 < M)
						store2(Ct, N, N, r1, c, zero ? 0.0f : tri_keep(acc[4 * i + 2], r1, c),
						       zero ? 0.0f : tri_keep(acc[4 * i + 3], r1, c + 1), pr);
				}
			}
		}
	}
#endif
}

/* ---- host side ---- */

/* cuTensorMapEncodeTiled (hopper.cuh's kb_tensor_map_encoder) */
static kb_encode_tiled_fn g_encode = NULL;
static int g_sms = 0, g_major = 0;
static bool g_attr_set = false;

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

/* A 3-D tensor map of operand elements (fp32, or bf16 at PRECISION=2):
 * `batch` matrices of `inner` x `outer` elements, rows `pitch` elements
 * apart, matrices outer * pitch apart; boxes of BK (128 bytes) x box_outer
 * x 1, 128-byte swizzle, zero fill. */
static int make_map(CUtensorMap *map, const elem_t *ptr, int64_t inner, int64_t outer, int64_t batch,
		    int64_t pitch, uint32_t box_outer)
{
	cuuint64_t dims[3] = { (cuuint64_t)inner, (cuuint64_t)outer, (cuuint64_t)batch };
	cuuint64_t strides[2] = { (cuuint64_t)(pitch * EBYTES), (cuuint64_t)(outer * pitch * EBYTES) };
	cuuint32_t box[3] = { BK, box_outer, 1 };
	cuuint32_t estr[3] = { 1, 1, 1 };
	const CUtensorMapDataType type =
		PRECISION == 2 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
	CUresult r = g_encode(map, type, 3, (void *)ptr, dims, strides, box, estr,
			      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
			      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
	return r == CUDA_SUCCESS ? KB_OK : KB_ERR_LAUNCH;
}

static unsigned grid_cap(int64_t n, int64_t cap)
{
	return (unsigned)(n < 1 ? 1 : n < cap ? n : cap);
}

/* One operand as the main kernel reads it: `batch` matrices of `rows` x K,
 * K-major. Stored K-major (kmajor) it is split (and padded) by rows, else
 * transposed from (K, rows); with no scratch given (in place), nothing
 * runs. */
struct operand {
	const float *src; /* as the caller passed it */
	int64_t batch, rows;
	bool kmajor;
	bool copy;        /* written into scratch (hi, lo) */
	const elem_t *hi, *lo;
	int64_t pitch;
};

static int prepare(struct operand *o, int64_t K, int64_t ldk, elem_t *hi, elem_t *lo, cudaStream_t st)
{
	if (!o->copy) { /* PRECISION=1 only: elem_t is float */
		o->hi = o->lo = (const elem_t *)o->src;
		o->pitch = K;
		return KB_OK;
	}
	o->hi = hi;
	o->lo = lo;
	o->pitch = ldk;
	if (o->kmajor) {
		const bool vec = K % 4 == 0 && (uintptr_t)o->src % 16 == 0;
		const int64_t units = vec ? K / 4 : K;
		dim3 grid(grid_cap((units + 255) / 256, 1024), grid_cap(o->rows, 65535), grid_cap(o->batch, 65535));
		if (vec)
			split_rows_kernel<true><<<grid, 256, 0, st>>>(o->src, o->rows, (int)K, o->batch, hi, lo, ldk);
		else
			split_rows_kernel<false><<<grid, 256, 0, st>>>(o->src, o->rows, (int)K, o->batch, hi, lo, ldk);
	} else {
		dim3 grid(grid_cap((o->rows + 31) / 32, 0x7fffffff), grid_cap((K + 31) / 32, 65535),
			  grid_cap(o->batch, 65535));
		transpose_split_kernel<<<grid, dim3(32, 8), 0, st>>>(o->src, (int)K, (int)o->rows, o->batch, hi, lo,
								      ldk);
	}
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

static size_t round256(size_t x)
{
	return (x + 255) / 256 * 256;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 2 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *a = &in[0], *b = &in[1];
	kb_tensor *c = &out[0];
	/* op(A) (M, K), op(B) (K, N), and the batch (templates/common/
	 * gemm_operands.cuh); A's leading dims fold into M but under a
	 * triangle, which is cut per matrix */
	struct kb_gemm_shape gs;
	if (kb_gemm_operands(a, b, c, KB_F32, TRANS_A, TRANS_B, !MATMUL_TRI, &gs) != KB_OK)
		return KB_ERR_SHAPE;
	const int64_t N = gs.N, K = gs.K, rows_a = gs.rows_a, batch = gs.batch;
	const bool a_batched = gs.a_batched, b_batched = gs.b_batched;
	if (rows_a == 0 || N == 0 || batch == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	if (K == 0) /* an empty sum: C = 0 */
		return cudaMemsetAsync(c->data, 0, (size_t)(batch * rows_a * N * 4), st) == cudaSuccess
			       ? KB_OK
			       : KB_ERR_LAUNCH;

	int rc = setup();
	if (rc)
		return rc;
	if (g_major != 9) /* wgmma and this kernel's setmaxnreg are sm_90a only */
		return KB_ERR_SHAPE;
	/* int coordinates in the kernel, with a tile of headroom */
	const int64_t lim = 0x7fffffffLL - 512;
	const int64_t nk = (K + BK - 1) / BK;
	const int64_t tiles = ((rows_a + BM - 1) / BM) * ((N + TBN - 1) / TBN) * batch;
	if (rows_a > lim || N > lim || K > lim || batch > lim || tiles > lim)
		return KB_ERR_SHAPE;
	const int nsplit = (int)kb_split_pieces(SPLIT_K, tiles, nk, g_sms, PIECE_K / BK);
	if (tiles * nsplit > lim)
		return KB_ERR_SHAPE;
	if (!g_attr_set) {
		if (cudaFuncSetAttribute((const void *)gemm_wgmma_tf32_kernel,
					 cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_ALLOC) != cudaSuccess)
			return KB_ERR_LAUNCH;
		/* The scratch comes from the device's default memory pool; by
		 * default the pool hands memory back at every synchronisation, so
		 * each call would map its hundreds of MB afresh. Keep it mapped:
		 * a workspace, never results (each call rewrites all of it). */
		kb_keep_pool_mapped();
		g_attr_set = true;
	}

	/* The operands, and whether each needs a scratch copy (see the top). */
	struct operand oa = { (const float *)a->data, a_batched ? batch : 1, rows_a, !TRANS_A, true, NULL, NULL, 0 };
	struct operand ob = { (const float *)b->data, b_batched ? batch : 1, N, TRANS_B != 0, true, NULL, NULL, 0 };
#if PRECISION == 1
	oa.copy = !(oa.kmajor && K % 4 == 0 && (uintptr_t)oa.src % 16 == 0);
	ob.copy = !(ob.kmajor && K % 4 == 0 && (uintptr_t)ob.src % 16 == 0);
#endif
	/* Scratch, one allocation: [A_hi][A_lo][B_hi][B_lo] (the lo pieces at
	 * PRECISION=2 and 3, each copied operand's), then the partial sums;
	 * rows of 16 bytes' multiple, as TMA wants. */
	const int64_t ldk = (K + 16 / EBYTES - 1) / (16 / EBYTES) * (16 / EBYTES);
	const size_t a_piece = oa.copy ? round256((size_t)(oa.batch * rows_a * ldk * EBYTES)) : 0;
	const size_t b_piece = ob.copy ? round256((size_t)(ob.batch * N * ldk * EBYTES)) : 0;
	const int64_t c_elems = batch * rows_a * N;
	const size_t part_bytes = nsplit > 1 ? round256((size_t)(nsplit * c_elems * 4)) : 0;
	const size_t bytes = NSPLIT * (a_piece + b_piece) + part_bytes;
	uint8_t *scratch = NULL;
	if (cudaMallocAsync((void **)&scratch, bytes, st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	uint8_t *at = scratch;
	elem_t *a_hi = (elem_t *)at, *a_lo = NSPLIT == 2 ? (elem_t *)(at + a_piece) : NULL;
	at += NSPLIT * a_piece;
	elem_t *b_hi = (elem_t *)at, *b_lo = NSPLIT == 2 ? (elem_t *)(at + b_piece) : NULL;
	at += NSPLIT * b_piece;
	float *part = nsplit > 1 ? (float *)at : NULL;
	float *dst = part ? part : (float *)c->data;
	CUtensorMap map_a, map_al, map_b, map_bl;
	unsigned grid;

	rc = prepare(&oa, K, ldk, a_hi, a_lo, st);
	if (!rc)
		rc = prepare(&ob, K, ldk, b_hi, b_lo, st);
	if (!rc)
		rc = make_map(&map_a, oa.hi, K, rows_a, oa.batch, oa.pitch, BM);
	if (!rc)
		rc = make_map(&map_b, ob.hi, K, N, ob.batch, ob.pitch, TBN);
#if NSPLIT == 2
	if (!rc)
		rc = make_map(&map_al, oa.lo, K, rows_a, oa.batch, oa.pitch, BM);
	if (!rc)
		rc = make_map(&map_bl, ob.lo, K, N, ob.batch, ob.pitch, TBN);
#else
	map_al = map_a; /* unused */
	map_bl = map_b;
#endif
	if (rc)
		goto out;
	grid = (unsigned)(tiles * nsplit < g_sms ? tiles * nsplit : g_sms);
	gemm_wgmma_tf32_kernel<<<grid, NTHREADS, SMEM_ALLOC, st>>>(
		map_a, map_al, map_b, map_bl, dst, (int)rows_a, (int)N, (int)K, (int)batch, a_batched ? 1 : 0,
		b_batched ? 1 : 0, nsplit, (N % 2 == 0 && (uintptr_t)dst % 8 == 0) ? 1 : 0);
	if (cudaGetLastError() != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	if (!rc && part) {
		sum_pieces_kernel<<<grid_cap((c_elems + 255) / 256, 4 * g_sms), 256, 0, st>>>(part, nsplit, c_elems,
											   (float *)c->data);
		if (cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
out:
	if (cudaFreeAsync(scratch, st) != cudaSuccess)
		rc = KB_ERR_LAUNCH;
	return rc;
}
