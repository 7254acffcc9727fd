// expect: incorrect
// Right only on get_inputs()'s range: clamps its input to [-10, 10] before
// an exact GELU (as a lookup table or a polynomial over a fixed range would).
// torch.randn never leaves that range, so every plain input set passes; the
// stressed sets x1e3 and + 100 rms do leave it, and the detail must name
// the first of them: "stressed set scale_up: ...".
#include "common.cuh"
__global__ static void gelu_clamped(const float *x, float *y, long long n)
{
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
	     i += (long long)gridDim.x * blockDim.x) {
		float v = fminf(fmaxf(x[i], -10.0f), 10.0f);
		y[i] = 0.5f * v * erfcf(-v * 0.70710678118654752f);
	}
}
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	gelu_clamped<<<1024, 256, 0, (cudaStream_t)stream>>>((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]));
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
