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
