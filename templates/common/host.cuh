// host.cuh - host helpers of the templates' kbreed_forward, written once:
//   kb_sm_count()   the current device's number of SMs (multiprocessors), for
//                   sizing a grid to the machine; 0 where the runtime cannot
//                   say (no device, a failed call, a count below 1): the
//                   caller then returns KB_ERR_LAUNCH, or uses a default
// The templates ask once and keep the answer in a static (g_sms), as a
// candidate runs on one device.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_HOST_CUH
#define KBREED_COMMON_HOST_CUH

#include <cuda_runtime.h>

static inline int kb_sm_count(void)
{
	int dev = 0, n = 0;
	if (cudaGetDevice(&dev) != cudaSuccess ||
	    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n < 1)
		return 0;
	return n;
}

#endif
