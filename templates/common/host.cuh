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
