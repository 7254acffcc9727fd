// expect: runtime_error
/*
 * bad/illegal_address.cu - for tiny_gelu: the kernel stores through a null
 * device pointer, so the device faults with cudaErrorIllegalAddress (700,
 * "an illegal memory access was encountered"). The launch itself succeeds and
 * kbreed_forward returns KB_OK; the fault surfaces at the worker's
 * synchronisation, and it is sticky: the CUDA context is unusable afterwards,
 * so the worker process must be replaced.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

__global__ void bad_store_kernel(const float *__restrict__ x, float *y, int64_t n)
{
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (int64_t)gridDim.x * blockDim.x)
		y[i] = x[i];  /* y is null */
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || y->dtype != KB_F32 || x->ndim != 2 || y->ndim != 2 ||
	    y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] ||
	    x->shape[0] < 0 || x->shape[1] < 0)
		return KB_ERR_SHAPE;
	int64_t n = kb_numel(x);
	if (n == 0)
		return KB_OK;
	int64_t blocks = (n + 255) / 256;
	unsigned grid = (unsigned)(blocks < 65536 ? blocks : 65536);
	float *bad = (float *)0;  /* instead of (float *)y->data */
	(void)y;
	bad_store_kernel<<<grid, 256, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, bad, n);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
