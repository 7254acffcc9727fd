/*
 * naive/conv2d.cu - nn.Conv2d(Cin, Cout, (KH, KW), stride 4, padding 2) with
 * bias (dilation 1, groups 1, zero padding), fp32. Channel counts and kernel
 * size come from the weight's shape; stride and padding are the module's
 * hyper-parameters and are fixed below (the output shape is checked against
 * them).
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x       (N, Cin, H, W)        e.g. (100, 3, 224, 224)
 *   in[1]  weight  (Cout, Cin, KH, KW)   e.g. (96, 3, 11, 11)
 *   in[2]  bias    (Cout)                e.g. (96)
 *   out[0] y       (N, Cout, Ho, Wo)     e.g. (100, 96, 55, 55)
 *   Ho = (H + 2*PAD - KH) / STRIDE + 1,  Wo = (W + 2*PAD - KW) / STRIDE + 1
 *
 * Strategy: one thread per output element (1-D grid-stride loop, 64-bit
 * index decoded into n, co, oh, ow); it sums Cin*KH*KW products in float,
 * skipping taps that fall in the zero padding, then adds the bias.
 * No shared-memory tiling, no scratch memory.
 */
#include <cuda_runtime.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

#define CONV_STRIDE 4
#define CONV_PAD 2

__global__ void conv2d_kernel(const float *__restrict__ x,     /* (N, Cin, H, W) */
			      const float *__restrict__ w,     /* (Cout, Cin, KH, KW) */
			      const float *__restrict__ bias,  /* (Cout) */
			      float *__restrict__ y,           /* (N, Cout, Ho, Wo) */
			      int64_t N, int64_t Cin, int64_t H, int64_t W,
			      int64_t Cout, int64_t KH, int64_t KW,
			      int64_t Ho, int64_t Wo)
{
	int64_t total = N * Cout * Ho * Wo;
	for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
	     t += (int64_t)gridDim.x * blockDim.x) {
		int64_t ow = t % Wo;
		int64_t r = t / Wo;
		int64_t oh = r % Ho;
		r /= Ho;
		int64_t co = r % Cout;
		int64_t n = r / Cout;
		int64_t ih0 = oh * CONV_STRIDE - CONV_PAD;
		int64_t iw0 = ow * CONV_STRIDE - CONV_PAD;
		float acc = 0.0f;
		for (int64_t ci = 0; ci < Cin; ci++) {
			const float *xp = x + (n * Cin + ci) * H * W;
			const float *wp = w + (co * Cin + ci) * KH * KW;
			for (int64_t kh = 0; kh < KH; kh++) {
				int64_t ih = ih0 + kh;
				if (ih < 0 || ih >= H)
					continue;
				for (int64_t kw = 0; kw < KW; kw++) {
					int64_t iw = iw0 + kw;
					if (iw < 0 || iw >= W)
						continue;
					acc = fmaf(xp[ih * W + iw], wp[kh * KW + kw], acc);
				}
			}
		}
		y[t] = acc + bias[co];
	}
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 3 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *w = &in[1], *b = &in[2];
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || w->dtype != KB_F32 || b->dtype != KB_F32 ||
	    y->dtype != KB_F32)
		return KB_ERR_SHAPE;
	if (x->ndim != 4 || w->ndim != 4 || b->ndim != 1 || y->ndim != 4)
		return KB_ERR_SHAPE;
	int64_t N = x->shape[0], Cin = x->shape[1], H = x->shape[2], W = x->shape[3];
	int64_t Cout = w->shape[0], KH = w->shape[2], KW = w->shape[3];
	if (N < 0 || Cin < 1 || H < 0 || W < 0 || Cout < 1 || KH < 1 || KW < 1)
		return KB_ERR_SHAPE;
	if (w->shape[1] != Cin || b->shape[0] != Cout)
		return KB_ERR_SHAPE;
	if (H + 2 * CONV_PAD < KH || W + 2 * CONV_PAD < KW)
		return KB_ERR_SHAPE;
	int64_t Ho = (H + 2 * CONV_PAD - KH) / CONV_STRIDE + 1;
	int64_t Wo = (W + 2 * CONV_PAD - KW) / CONV_STRIDE + 1;
	if (y->shape[0] != N || y->shape[1] != Cout || y->shape[2] != Ho ||
	    y->shape[3] != Wo)
		return KB_ERR_SHAPE;
	int64_t total = N * Cout * Ho * Wo;
	if (total == 0)
		return KB_OK;
	int64_t blocks = (total + 255) / 256;
	unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
	conv2d_kernel<<<grid, 256, 0, (cudaStream_t)stream>>>(
		(const float *)x->data, (const float *)w->data, (const float *)b->data,
		(float *)y->data, N, Cin, H, W, Cout, KH, KW, Ho, Wo);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
