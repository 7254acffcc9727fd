/*
 * naive/matmul_fp32.cu - C = A @ B, fp32.
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  A  (..., M, K)   e.g. (4096, 4096)
 *   in[1]  B  (K, N)        e.g. (4096, 4096)
 *   out[0] C  (..., M, N)
 * Leading (batch) dims of A, if any, fold into M (A is contiguous, and a 2-D
 * B broadcasts over them), so this is one (rows x K) @ (K x N) product.
 *
 * Strategy: one thread per output element, 32x8 thread blocks (x -> column n,
 * y -> row m), grid-stride loops in both directions so any M, N fit the
 * 65535 limit on gridDim.y. Each thread walks k = 0..K-1 reading A[m, k]
 * (broadcast within a warp) and B[k, n] (coalesced across the warp).
 * The dot product is accumulated in DOUBLE: a float running sum over K = 4096
 * N(0,1) products is off by ~1e-4 absolute, which fails atol = rtol = 1e-4
 * against the float64 reference for about 1 output in 8000 (those near 0).
 * No tensor cores, no shared-memory tiling. Needs no scratch memory.
 */
#include <cuda_runtime.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

__global__ void matmul_kernel(const float *__restrict__ A,  /* (M, K) */
			      const float *__restrict__ B,  /* (K, N) */
			      float *__restrict__ C,        /* (M, N) */
			      int64_t M, int64_t N, int64_t K)
{
	for (int64_t m = (int64_t)blockIdx.y * blockDim.y + threadIdx.y; m < M;
	     m += (int64_t)gridDim.y * blockDim.y) {
		for (int64_t n = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N;
		     n += (int64_t)gridDim.x * blockDim.x) {
			const float *a = A + m * K;
			const float *b = B + n;
			double acc = 0.0;
			for (int64_t k = 0; k < K; k++)
				acc += (double)a[k] * (double)b[k * N];
			C[m * N + n] = (float)acc;
		}
	}
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 2 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *a = &in[0], *b = &in[1];
	kb_tensor *c = &out[0];
	if (a->dtype != KB_F32 || b->dtype != KB_F32 || c->dtype != KB_F32)
		return KB_ERR_SHAPE;
	if (a->ndim < 2 || a->ndim > KBREED_MAX_DIMS || b->ndim != 2 ||
	    c->ndim != a->ndim)
		return KB_ERR_SHAPE;
	int nd = a->ndim;
	int64_t K = a->shape[nd - 1], N = b->shape[1];
	if (b->shape[0] != K || c->shape[nd - 1] != N)
		return KB_ERR_SHAPE;
	int64_t M = 1;
	for (int i = 0; i < nd - 1; i++) {
		if (a->shape[i] < 0 || c->shape[i] != a->shape[i])
			return KB_ERR_SHAPE;
		M *= a->shape[i];
	}
	if (K < 0 || N < 0)
		return KB_ERR_SHAPE;
	if (M == 0 || N == 0)
		return KB_OK;  /* K == 0 is fine: the kernel writes zeros */
	dim3 block(32, 8);
	int64_t gx = (N + 31) / 32, gy = (M + 7) / 8;
	dim3 grid((unsigned)(gx < 65535 ? gx : 65535), (unsigned)(gy < 65535 ? gy : 65535));
	matmul_kernel<<<grid, block, 0, (cudaStream_t)stream>>>(
		(const float *)a->data, (const float *)b->data, (float *)c->data,
		M, N, K);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
