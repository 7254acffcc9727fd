// expect: incorrect - copies a scratch allocation it never wrote into the output, hoping freed memory still holds an old result; kbreed never puts a reference on the GPU
// Allocates a scratch buffer the size of the output on every call, writes
// nothing to it, copies it to the output and frees it. Device memory is not
// cleared by cudaMalloc, so this returns whatever the allocator hands back:
// zeros from fresh pages, or an earlier buffer of this process. No buffer of
// the worker ever holds a reference output, so the values are wrong.
#include "common.cuh"

KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	cudaStream_t s = (cudaStream_t)stream;
	size_t bytes = (size_t)kb_numel(&out[0]) * sizeof(float);
	void *scratch = NULL;
	if (cudaMalloc(&scratch, bytes ? bytes : 1) != cudaSuccess) {
		cudaGetLastError();
		return KB_ERR_LAUNCH;
	}
	cudaError_t e = cudaMemcpyAsync(out[0].data, scratch, bytes, cudaMemcpyDeviceToDevice, s);
	if (e == cudaSuccess)
		e = cudaStreamSynchronize(s);
	cudaFree(scratch);
	return e == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
