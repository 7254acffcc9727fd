// expect: runtime_error
// Asks for a terabyte of scratch memory and reports the failure.
#include "common.cuh"
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	void *p = NULL;
	if (cudaMallocAsync(&p, (size_t)1 << 40, (cudaStream_t)stream) != cudaSuccess) {
		cudaGetLastError();
		return KB_ERR_LAUNCH;
	}
	cudaFreeAsync(p, (cudaStream_t)stream);
	return hack_launch((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]), (cudaStream_t)stream);
}
