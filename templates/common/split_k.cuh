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
