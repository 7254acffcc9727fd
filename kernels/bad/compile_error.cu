// expect: compile_error
/*
 * bad/compile_error.cu - does not compile: a missing semicolon and a float
 * pointer assigned from an int. nvcc must reject it; the evaluator should
 * report compile_error with the compiler's message.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

__global__ void gelu_kernel(const float *x, float *y, int64_t n)
{
	int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x
	float *p = 42;
	if (i < n)
		y[i] = 0.5f * x[i] * erfcf(-x[i] * 0.70710678f);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	gelu_kernel<<<1, 256, 0, (cudaStream_t)stream>>>(
		(const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]));
	return KB_OK;
}
