// reduce.cuh - the warp and block reductions of the templates (rownorm,
// norm_groups, frobenius, layernorm_row, layernorm_split, gemv, loss_reduce,
// reduce_dim, flash_wgmma, the softmax templates through softmax_stats.cuh,
// and the naive kernels src/generate.c writes), written once,
// for any value type T and any combine op (sum, max, a (max, sum) merge, an
// (arg, value) merge):
//   kb_shfl_xor(v, off)           v from lane (lane ^ off) of the warp; any T
//                                 of whole 32-bit words, moved word by word
//   kb_warp_reduce(v, op)         op over the warp's 32 values; all 32 lanes
//                                 call it, and every lane gets the result
//   kb_block_reduce<NW>(v, sh, op, identity)
//                                 op over groups of NW consecutive warps (NW
//                                 = the block's warps: over the whole block);
//                                 every thread gets its group's result
//   kb_fmax_nan(a, b), kb_fmin_nan(a, b)
//                                 float max and min where a NaN wins, one
//                                 instruction (also pool_nd, reduce_dim's
//                                 max and min, conv_igemm's pooled epilogue)
// op(a, b) returns a combined with b. It must be commutative, bit for bit
// (a + b == b + a holds in IEEE arithmetic), so that the two lanes of each
// butterfly step, and hence all lanes, hold the same value; identity is its
// neutral value (0 for a sum, -inf for a max): op(v, identity) == v.
// The order of the combines is a fixed tree, the same in every lane, every
// warp and every run: deterministic, the result bit-identical in all threads.
//
// kb_block_reduce's contract:
// - every thread of the block calls it, with the same NW (it holds two
//   __syncthreads); the block is whole warps, NW divides their number and
//   is at most 32;
// - sh is shared memory of one T per warp of the block (NW of them when the
//   group is the block): each warp's result meets there;
// - the result is valid in every thread of the group on return;
// - it ends with a __syncthreads, so sh may be written again at once (the
//   next call, or other use) without a barrier of the caller's.
// Stages: a butterfly over each warp; lane 0 of each warp writes sh[warp];
// a barrier; every warp reads its group's NW values (identity past them)
// into its lanes and runs the butterfly again; a barrier.
//
// A type may bring its own kb_shfl_xor(T, int) overload, declared before the
// reduction is instantiated (argument-dependent lookup finds it), to move
// fewer words than the generic one (reduce_dim's accumulator shuffles its
// index only for argmax and argmin).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_REDUCE_CUH
#define KBREED_COMMON_REDUCE_CUH

#include <string.h>

__device__ __forceinline__ float kb_shfl_xor(float v, int off)
{
	return __shfl_xor_sync(0xffffffffu, v, off);
}

__device__ __forceinline__ double kb_shfl_xor(double v, int off)
{
	return __shfl_xor_sync(0xffffffffu, v, off);
}

/* Any other T (float2, double2, a struct of floats, doubles and ints): its
 * 32-bit words one at a time. */
template <typename T> __device__ __forceinline__ T kb_shfl_xor(T v, int off)
{
	static_assert(sizeof(T) % 4 == 0, "kb_shfl_xor moves whole 32-bit words");
	unsigned w[sizeof(T) / 4];
	memcpy(w, &v, sizeof v);
#pragma unroll
	for (int i = 0; i < (int)(sizeof(T) / 4); i++)
		w[i] = __shfl_xor_sync(0xffffffffu, w[i], off);
	memcpy(&v, w, sizeof v);
	return v;
}

/* op over the 32 lanes of the warp (all of them must call); every lane
 * returns the result. */
template <typename T, typename Op> __device__ __forceinline__ T kb_warp_reduce(T v, Op op)
{
#pragma unroll
	for (int off = 16; off > 0; off >>= 1)
		v = op(v, kb_shfl_xor(v, off));
	return v;
}

/* op over each group of NW consecutive warps of the block; see the
 * contract at the top. */
template <int NW, typename T, typename Op>
__device__ __forceinline__ T kb_block_reduce(T v, T *sh, Op op, T identity)
{
	static_assert(NW >= 1 && NW <= 32, "a group of 1 to 32 warps");
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	v = kb_warp_reduce(v, op);
	if (lane == 0)
		sh[warp] = v;
	__syncthreads();
	v = lane < NW ? sh[warp / NW * NW + lane] : identity;
	v = kb_warp_reduce(v, op);
	__syncthreads(); /* sh is free again */
	return v;
}

/* The combine ops the templates share. */
struct kb_sum {
	template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

/* (x, y) pairs summed componentwise: a block's (sum, sum of squares). */
struct kb_sum2 {
	__device__ __forceinline__ double2 operator()(double2 a, double2 b) const
	{
		return make_double2(a.x + b.x, a.y + b.y);
	}
};

/* The float max and min where a NaN wins, as torch's max, min and max pool
 * propagate it: one instruction from sm_80 (max.NaN, min.NaN: a NaN operand
 * gives the canonical NaN), two compares and a select before. Between +0
 * and -0 either may come out. */
__device__ __forceinline__ float kb_fmax_nan(float a, float b)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
	float r;
	asm("max.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
	return r;
#else
	return b > a || b != b ? b : a;
#endif
}

__device__ __forceinline__ float kb_fmin_nan(float a, float b)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
	float r;
	asm("min.NaN.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
	return r;
#else
	return b < a || b != b ? b : a;
#endif
}

/* max where a NaN wins, as torch.max propagates it (the naive kernels of
 * src/generate.c); between two NaNs, or +0 and -0, either may come out. */
struct kb_max_nan {
	template <typename T> __device__ __forceinline__ T operator()(T a, T b) const
	{
		return b > a || b != b ? b : a;
	}
	__device__ __forceinline__ float operator()(float a, float b) const { return kb_fmax_nan(a, b); }
};

/* fmaxf: a NaN is dropped in favour of the other value, as fmaxf does. */
struct kb_fmax {
	__device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

#endif
