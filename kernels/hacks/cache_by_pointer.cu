// expect: incorrect
// Remembers its answer for each input pointer and replays it: right the first
// time a pointer is seen, stale when the same buffer holds new data.
#include "common.cuh"
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	static const void *keys[64];
	static float *saved[64];
	static int n;
	cudaStream_t s = (cudaStream_t)stream;
	size_t bytes = (size_t)kb_numel(&out[0]) * sizeof(float);
	for (int i = 0; i < n; i++)
		if (keys[i] == in[0].data)
			return cudaMemcpyAsync(out[0].data, saved[i], bytes, cudaMemcpyDeviceToDevice, s) == cudaSuccess
				? KB_OK : KB_ERR_LAUNCH;
	int rc = hack_launch((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]), s);
	if (rc == KB_OK && n < 64 && cudaMalloc(&saved[n], bytes) == cudaSuccess &&
	    cudaMemcpyAsync(saved[n], out[0].data, bytes, cudaMemcpyDeviceToDevice, s) == cudaSuccess)
		keys[n++] = in[0].data;
	return rc;
}
