// expect: incorrect
// Writes zeros everywhere: close to GELU for many inputs under a loose
// absolute tolerance, never under a relative one.
#include "common.cuh"
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	return cudaMemsetAsync(out[0].data, 0, (size_t)kb_numel(&out[0]) * sizeof(float), (cudaStream_t)stream)
		== cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
