// hopper.cuh - the sm_90a helpers of the wgmma templates (gemm_wgmma_f16,
// gemm_wgmma_tf32, flash_wgmma), written once:
//   mbar_init / mbar_wait / mbar_arrive / mbar_arrive_expect_tx
//                                 mbarriers in this block's shared memory
//   tma_load_2d / tma_load_3d     one TMA box global -> shared, counted in bytes on an mbarrier
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
// Shared-memory operands are 32-bit addresses (smem_u32). The descriptor
// fields: start address >> 4 in bits 0-13, leading-dimension byte offset
// >> 4 in 16-29, stride byte offset >> 4 in 32-45, swizzle mode 1 (128 B)
// in bits 62-63. The wgmma instructions themselves (shape, types,
// transposes) stay in each template, beside the tiling they serve.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_HOPPER_CUH
#define KBREED_COMMON_HOPPER_CUH

#include <cuda.h> /* CUtensorMap: types only, no driver calls linked */
#include <stdint.h>
#include "smem.cuh" // kbreed:inline

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

#endif
