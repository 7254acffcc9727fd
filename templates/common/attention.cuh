// attention.cuh - what the attention templates (flash_mma, flash_wgmma) take
// from the problem, written once: the problem's defines, written by
// recognition (src/recognize.c) before the template, and what follows from
// them.
//   ATTN_CAUSAL   1: query i sees keys j <= i only (torch's is_causal: the
//                 mask is tril(ones(Sq, Sk)), aligned at the top left for
//                 any Sq and Sk, so every query sees key 0); absent: 0
//   ATTN_SCALE    the scores' scale, > 0 (SDPA's scale=, or the constants a
//                 decomposed graph multiplies by); absent: 1/sqrt(D)
//   ATTN_BF16     1: q, k, v and the output are bf16; absent: fp16
//                 (attn_t, ATTN_KB_DTYPE, ATTN_PTX_TYPE: the element, its
//                 ABI dtype, its name in PTX's mma and wgmma)
//   ATTN_HEAD_DIM the problem's head dim D (q's last dim): a template then
//                 compiles only the kernels of its head-dim ladder that
//                 this D runs on, not every rung (each rung costs nvcc
//                 0.3-0.4 s of a candidate's 3-5 s); another D is taken
//                 where a kept rung holds it, else refused (KB_ERR_SHAPE).
//                 Absent: every rung. ATTN_KEEP(lo, hi) says whether the
//                 rung for lo < D <= hi is compiled.
// The helpers:
//   attn_sl2(D)                    log2(e) x the scale: the factor the online
//                                  softmax folds into its ex2 (host side)
//   attn_keys(Sk, q_end)           keys a block whose last query row is
//                                  q_end - 1 reads: Sk, or q_end where causal
//   attn_hidden(key, row)          whether the causal mask hides key from
//                                  query row (never where not causal)
//   attn_shapes(in, n_in, out, n_out, &BH, &Sq, &Sk, &D)
//                                  the ABI's tensors checked as attention's
//                                  (0, or KB_ERR_SHAPE)
//   attn_block(nqb, &bh, &qb)      this block's head and query block, of a
//                                  1-D grid of nqb x BH blocks
//   ex2(x)                         2^x by the SFU (ex2.approx.ftz): the
//                                  online softmax's exponential
//   attn_pack2(lo, hi)             two floats rounded to attn_t, packed as
//                                  an mma operand register (lo in the low
//                                  half), or two adjacent outputs
//   attn_to_float(x), attn_from_float(f)
//                                  an attn_t widened (exact); a float
//                                  rounded to attn_t (to nearest)
#ifndef KBREED_ATTENTION_CUH
#define KBREED_ATTENTION_CUH

#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>

#ifndef ATTN_CAUSAL
#define ATTN_CAUSAL 0
#endif
#ifndef ATTN_BF16
#define ATTN_BF16 0
#endif
static_assert(ATTN_CAUSAL == 0 || ATTN_CAUSAL == 1, "ATTN_CAUSAL is 0 or 1");
static_assert(ATTN_BF16 == 0 || ATTN_BF16 == 1, "ATTN_BF16 is 0 or 1");
#ifdef ATTN_HEAD_DIM
static_assert(ATTN_HEAD_DIM >= 1, "ATTN_HEAD_DIM is the head dim, at least 1");
#define ATTN_KEEP(lo, hi) (ATTN_HEAD_DIM > (lo) && ATTN_HEAD_DIM <= (hi))
#else
#define ATTN_KEEP(lo, hi) 1
#endif

#if ATTN_BF16
#include <cuda_bf16.h>
typedef __nv_bfloat16 attn_t;
#define ATTN_KB_DTYPE KB_BF16
#define ATTN_PTX_TYPE "bf16"
#else
typedef __half attn_t;
#define ATTN_KB_DTYPE KB_F16
#define ATTN_PTX_TYPE "f16"
#endif

static inline float attn_sl2(int64_t D)
{
#ifdef ATTN_SCALE
	(void)D;
	return (float)(1.4426950408889634 * (double)(ATTN_SCALE));
#else
	return (float)(1.4426950408889634 / sqrt((double)D));
#endif
}

/* The ABI's tensors as attention's: in q (..., Sq, D), k and v (..., Sk, D),
 * out (..., Sq, D), all attn_t, of one rank from 2, the leading dims equal
 * (BH: their product), Sk and D at least 1; KB_ERR_SHAPE for anything
 * else. */
static int attn_shapes(const kb_tensor *in, int n_in, const kb_tensor *out, int n_out, int64_t *BH,
		       int64_t *Sq, int64_t *Sk, int64_t *D)
{
	if (!in || !out || n_in != 3 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *q = &in[0], *k = &in[1], *v = &in[2], *o = &out[0];
	if (q->dtype != ATTN_KB_DTYPE || k->dtype != ATTN_KB_DTYPE || v->dtype != ATTN_KB_DTYPE ||
	    o->dtype != ATTN_KB_DTYPE)
		return KB_ERR_SHAPE;
	const int nd = q->ndim;
	if (nd < 2 || nd > KBREED_MAX_DIMS || k->ndim != nd || v->ndim != nd || o->ndim != nd)
		return KB_ERR_SHAPE;
	*BH = 1;
	for (int i = 0; i < nd - 2; i++) {
		if (q->shape[i] < 0 || k->shape[i] != q->shape[i] || v->shape[i] != q->shape[i] ||
		    o->shape[i] != q->shape[i])
			return KB_ERR_SHAPE;
		*BH *= q->shape[i];
	}
	*Sq = q->shape[nd - 2], *D = q->shape[nd - 1], *Sk = k->shape[nd - 2];
	if (*Sq < 0 || *Sk < 1 || *D < 1 || k->shape[nd - 1] != *D || v->shape[nd - 2] != *Sk ||
	    v->shape[nd - 1] != *D || o->shape[nd - 2] != *Sq || o->shape[nd - 1] != *D)
		return KB_ERR_SHAPE;
	return 0;
}

static __host__ __device__ __forceinline__ int attn_keys(int Sk, int q_end)
{
	return ATTN_CAUSAL && q_end < Sk ? q_end : Sk;
}

static __device__ __forceinline__ bool attn_hidden(int key, int row)
{
	return ATTN_CAUSAL && key > row;
}

/* Block blockIdx.x of a 1-D grid of nqb x BH: its head bh and query block
 * qb. Not causal, the blocks of one head side by side (they share its K and
 * V in L2). Causal, the query blocks with the most keys first, over all
 * heads (qb = nqb - 1 for the first BH blocks): the longest start first and
 * the short ones fill the tail. */
static __device__ __forceinline__ void attn_block(int nqb, int64_t *bh, int *qb)
{
	const unsigned blk = blockIdx.x, heads = gridDim.x / (unsigned)nqb;
	if (ATTN_CAUSAL) {
		*bh = blk % heads;
		*qb = nqb - 1 - (int)(blk / heads);
	} else {
		*bh = blk / (unsigned)nqb;
		*qb = (int)(blk % (unsigned)nqb);
	}
}

/* 2^x on the special function unit; -inf gives 0. */
static __device__ __forceinline__ float ex2(float x)
{
	float y;
	asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
	return y;
}

static __device__ __forceinline__ uint32_t attn_pack2(float lo, float hi)
{
#if ATTN_BF16
	__nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
#else
	__half2 h = __floats2half2_rn(lo, hi);
#endif
	return *reinterpret_cast<uint32_t *>(&h);
}

static __device__ __forceinline__ float attn_to_float(attn_t x)
{
#if ATTN_BF16
	return __bfloat162float(x);
#else
	return __half2float(x);
#endif
}

static __device__ __forceinline__ attn_t attn_from_float(float f)
{
#if ATTN_BF16
	return __float2bfloat16_rn(f);
#else
	return __float2half_rn(f);
#endif
}

#endif
