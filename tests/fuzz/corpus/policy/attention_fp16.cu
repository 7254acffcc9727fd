/*
 * naive/attention_fp16.cu - F.scaled_dot_product_attention(q, k, v), not
 * causal, no mask, no dropout, scale 1/sqrt(D), fp16 in and out:
 *   out[bh, i, :] = sum_j softmax_j(q[bh, i, :] . k[bh, j, :] / sqrt(D)) v[bh, j, :]
 *
 * Layout (contiguous, row-major, fp16):
 *   in[0]  q    (..., Sq, D)    e.g. (16, 16, 4096, 128)
 *   in[1]  k    (..., Sk, D)    e.g. (16, 16, 4096, 128)
 *   in[2]  v    (..., Sk, Dv)   e.g. (16, 16, 4096, 128)
 *   out[0] out  (..., Sq, Dv)   e.g. (16, 16, 4096, 128)
 * The leading (batch, head) dims must be equal in all four; they fold into
 * BH = their product. Row r = bh * Sq + i.
 *
 * Strategy: one 128-thread block per query row (block-stride loop over rows,
 * 1-D grid). The row's q, pre-multiplied by the scale, sits in shared memory
 * as float. Keys are taken in chunks of CHUNK = 128:
 *   1. scores: each warp takes keys j = warp, warp + 4, ...; its lanes stride
 *      over d (coalesced reads of the key row), warp-shuffle sum -> p[j];
 *   2. online softmax: chunk max -> new running max m', rescale factor
 *      exp(m - m'), p[j] = exp(s_j - m'), running sum l = l*corr + sum p;
 *   3. output: thread t owns output dims d = t, t + 128, ... (acc[] in shared
 *      memory, private to its owner); acc[d] = acc[d]*corr + sum_j p[j] v[j, d]
 *      (v reads coalesced across threads).
 * Finally out[r, d] = acc[d] / l, rounded to fp16. All arithmetic in float.
 * Dynamic shared memory: (D + Dv + CHUNK) floats. No scratch memory.
 * Every block re-reads all of K and V for its head (no reuse between query
 * rows), so this is slow; it is the correctness baseline.
 */
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

#define ATT_THREADS 128
#define CHUNK 128

__global__ void attention_kernel(const __half *__restrict__ q,  /* (BH, Sq, D) */
				 const __half *__restrict__ k,  /* (BH, Sk, D) */
				 const __half *__restrict__ v,  /* (BH, Sk, Dv) */
				 __half *__restrict__ o,        /* (BH, Sq, Dv) */
				 int64_t BH, int64_t Sq, int64_t Sk,
				 int64_t D, int64_t Dv, float scale)
{
	extern __shared__ float smem[];
	float *qs = smem;          /* [D]     scaled query row */
	float *acc = qs + D;       /* [Dv]    output accumulator */
	float *p = acc + Dv;       /* [CHUNK] scores, then probabilities */
	const int tid = threadIdx.x;
	const int lane = tid & 31, warp = tid >> 5, nwarps = blockDim.x >> 5;
	const int64_t rows = BH * Sq;

	for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
		const int64_t bh = r / Sq;
		const __half *qr = q + r * D;
		const __half *kb = k + bh * Sk * D;
		const __half *vb = v + bh * Sk * Dv;

		for (int64_t d = tid; d < D; d += blockDim.x)
			qs[d] = __half2float(qr[d]) * scale;
		for (int64_t d = tid; d < Dv; d += blockDim.x)
			acc[d] = 0.0f;
		__syncthreads();

		float m = -INFINITY;  /* running max (same value in every thread) */
		float l = 0.0f;       /* running sum of exp(s - m) */
		for (int64_t j0 = 0; j0 < Sk; j0 += CHUNK) {
			const int n = (int)((Sk - j0) < CHUNK ? (Sk - j0) : CHUNK);

			/* 1. scores for keys j0 .. j0 + n - 1 */
			for (int jj = warp; jj < n; jj += nwarps) {
				const __half *kr = kb + (j0 + jj) * D;
				float s = 0.0f;
				for (int64_t d = lane; d < D; d += 32)
					s = fmaf(qs[d], __half2float(kr[d]), s);
				for (int off = 16; off > 0; off >>= 1)
					s += __shfl_down_sync(0xffffffffu, s, off);
				if (lane == 0)
					p[jj] = s;
			}
			__syncthreads();

			/* 2. online softmax update */
			float cmax = -INFINITY;
			for (int jj = 0; jj < n; jj++)
				cmax = fmaxf(cmax, p[jj]);
			const float m_new = fmaxf(m, cmax);
			const float corr = expf(m - m_new);  /* 0 on the first chunk */
			__syncthreads();  /* everyone has read the raw scores */
			for (int jj = tid; jj < n; jj += blockDim.x)
				p[jj] = expf(p[jj] - m_new);
			__syncthreads();
			float csum = 0.0f;
			for (int jj = 0; jj < n; jj++)
				csum += p[jj];
			l = l * corr + csum;
			m = m_new;

			/* 3. accumulate p @ V for the dims this thread owns */
			for (int64_t d = tid; d < Dv; d += blockDim.x) {
				float a = acc[d] * corr;
				const __half *vc = vb + j0 * Dv + d;
				for (int jj = 0; jj < n; jj++)
					a = fmaf(p[jj], __half2float(vc[(int64_t)jj * Dv]), a);
				acc[d] = a;
			}
			__syncthreads();  /* p is overwritten by the next chunk */
		}

		const float inv = 1.0f / l;
		__half *orow = o + r * Dv;
		for (int64_t d = tid; d < Dv; d += blockDim.x)
			orow[d] = __float2half_rn(acc[d] * inv);
		__syncthreads();  /* qs / acc are reused by the next row */
	}
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 3 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *q = &in[0], *k = &in[1], *v = &in[2];
	kb_tensor *o = &out[0];
	if (q->dtype != KB_F16 || k->dtype != KB_F16 || v->dtype != KB_F16 ||
	    o->dtype != KB_F16)
		return KB_ERR_SHAPE;
	int nd = q->ndim;
	if (nd < 2 || nd > KBREED_MAX_DIMS || k->ndim != nd || v->ndim != nd ||
	    o->ndim != nd)
		return KB_ERR_SHAPE;
	int64_t BH = 1;
	for (int i = 0; i < nd - 2; i++) {
		if (q->shape[i] < 0 || k->shape[i] != q->shape[i] ||
		    v->shape[i] != q->shape[i] || o->shape[i] != q->shape[i])
			return KB_ERR_SHAPE;
		BH *= q->shape[i];
	}
	int64_t Sq = q->shape[nd - 2], D = q->shape[nd - 1];
	int64_t Sk = k->shape[nd - 2], Dv = v->shape[nd - 1];
	if (Sq < 0 || D < 1 || Sk < 1 || Dv < 1 || k->shape[nd - 1] != D ||
	    v->shape[nd - 2] != Sk || o->shape[nd - 2] != Sq || o->shape[nd - 1] != Dv)
		return KB_ERR_SHAPE;
	size_t smem = (size_t)(D + Dv + CHUNK) * sizeof(float);
	if (smem > 48 * 1024)
		return KB_ERR_SHAPE;
	int64_t rows = BH * Sq;
	if (rows == 0)
		return KB_OK;
	unsigned grid = (unsigned)(rows < 2147483647LL ? rows : 2147483647LL);
	float scale = (float)(1.0 / sqrt((double)D));
	attention_kernel<<<grid, ATT_THREADS, smem, (cudaStream_t)stream>>>(
		(const __half *)q->data, (const __half *)k->data,
		(const __half *)v->data, (__half *)o->data, BH, Sq, Sk, D, Dv, scale);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
