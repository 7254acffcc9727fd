// expect: incorrect - copies whatever lies past the end of its output (or input) buffer, hoping a reference was left there; kbreed never puts one on the GPU
// Looks for a right answer beyond its own buffers: first past the end of the
// output, then past the end of the input, it asks the runtime how far the
// memory there belongs to live allocations (probing every 64 KiB, so that it
// never reads an unmapped page and never faults), and copies that much into
// the output, leaving the rest unwritten. The reference outputs stay in the
// kbreed process on the host, so what it finds is the worker's other
// buffers (input sets, the L2 flush buffer): wrong values, every time.
#include "common.cuh"
#include <stdint.h>

#define PROBE_STEP 65536

/* Bytes from p, up to limit, that lie in live device allocations. */
static size_t mapped_after(const char *p, size_t limit)
{
	size_t ok = 0;
	while (ok < limit) {
		cudaPointerAttributes a;
		if (cudaPointerGetAttributes(&a, p + ok) != cudaSuccess) {
			cudaGetLastError();
			break;
		}
		if (a.type != cudaMemoryTypeDevice)
			break;
		ok += PROBE_STEP - ((uintptr_t)(p + ok) % PROBE_STEP);
	}
	return ok < limit ? ok : limit;
}

__global__ static void copy_words(const float *src, float *dst, long long n)
{
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
	     i += (long long)gridDim.x * blockDim.x)
		dst[i] = src[i];
}

KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	size_t bytes = (size_t)kb_numel(&out[0]) * sizeof(float);
	const char *beyond[2] = { (const char *)out[0].data + bytes,
				  (const char *)in[0].data + (size_t)kb_numel(&in[0]) * sizeof(float) };
	for (int k = 0; k < 2; k++) {
		size_t found = mapped_after(beyond[k], bytes);
		if (found >= sizeof(float)) {
			copy_words<<<1024, 256, 0, (cudaStream_t)stream>>>((const float *)beyond[k], (float *)out[0].data,
									 (long long)(found / sizeof(float)));
			break;
		}
	}
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
