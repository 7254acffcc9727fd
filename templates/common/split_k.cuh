// split_k.cuh - the second pass of a GEMM split along K (gemm_tf32,
// gemm_wgmma_tf32), written once:
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
