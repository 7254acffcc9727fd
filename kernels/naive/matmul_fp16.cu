/*
 * naive/matmul_fp16.cu - C = A @ B, fp16 in and out, fp32 accumulation.
 *
 * Layout (contiguous, row-major, fp16):
 *   in[0]  A  (..., M, K)   e.g. (4096, 4096)
 *   in[1]  B  (K, N)        e.g. (4096, 4096)
 *   out[0] C  (..., M, N)
 * Leading (batch) dims of A, if any, fold into M (A is contiguous, and a 2-D
 * B broadcasts over them), so this is one (rows x K) @ (K x N) product.
 *
 * Strategy: one thread per output element, 32x8 thread blocks (x -> column n,
 * y -> row m), grid-stride loops in both directions so any M, N fit the
 * 65535 limit on gridDim.y. Each thread walks k = 0..K-1 reading A[m, k]
 * (broadcast within a warp) and B[k, n] (coalesced across the warp),
 * accumulating in float; the result is rounded to fp16 once (round to
 * nearest even). No tensor cores, no shared-memory tiling. No scratch memory.
 */
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

__global__ void matmul_kernel(const __half *__restrict__ A,  /* (M, K) */
			      const __half *__restrict__ B,  /* (K, N) */
			      __half *__restrict__ C,        /* (M, N) */
			      int64_t M, int64_t N, int64_t K)
{
	for (int64_t m = (int64_t)blockIdx.y * blockDim.y + threadIdx.y; m < M;
	     m += (int64_t)gridDim.y * blockDim.y) {
		for (int64_t n = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; n < N;
		     n += (int64_t)gridDim.x * blockDim.x) {
			const __half *a = A + m * K;
			const __half *b = B + n;
			float acc = 0.0f;
			for (int64_t k = 0; k < K; k++)
				acc = fmaf(__half2float(a[k]), __half2float(b[k * N]), acc);
			C[m * N + n] = __float2half_rn(acc);
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
	if (a->dtype != KB_F16 || b->dtype != KB_F16 || c->dtype != KB_F16)
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
		(const __half *)a->data, (const __half *)b->data, (__half *)c->data,
		M, N, K);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
