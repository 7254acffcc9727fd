// expect: compile_error
/*
 * bad/compile_bomb.cu - for tiny_gelu: a template that instantiates two
 * deeper copies of itself and has no base case, so that its instantiation
 * never ends (with memoisation it would still go on forever, one level at a
 * time). The compiler stops at its instantiation-depth limit within seconds
 * and reports an error: compile_error, long before kbreed's compile time
 * limit would have to kill it.
 */
#include <cuda_runtime.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

template <int N> struct tower {
	__device__ static float apply(float x)
	{
		return tower<N + 1>::apply(x * 0.5f) + tower<N + 2>::apply(x * 0.25f);
	}
};

__global__ void bomb_kernel(const float *x, float *y, int64_t n)
{
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (int64_t)gridDim.x * blockDim.x)
		y[i] = tower<0>::apply(x[i]);
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	bomb_kernel<<<64, 256, 0, (cudaStream_t)stream>>>(
		(const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]));
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
