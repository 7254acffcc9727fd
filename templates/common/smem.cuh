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
