// expect: incorrect
// Rounds every output through fp16: within crfm's 1e-2, outside strict's 1e-4
// for fp32 (the verdict under strict; pass_crfm stays true).
#include "common.cuh"
#include <cuda_fp16.h>
__global__ static void gelu_half(const float *x, float *y, long long n)
{
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
	     i += (long long)gridDim.x * blockDim.x)
		y[i] = __half2float(__float2half(0.5f * x[i] * erfcf(-x[i] * 0.70710678118654752f)));
}
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	gelu_half<<<1024, 256, 0, (cudaStream_t)stream>>>((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]));
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
