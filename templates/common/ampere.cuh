// ampere.cuh - the sm_80 tensor-core and copy helpers of the mma.sync
// templates (gemm_mma_f16, gemm_tf32, conv_igemm, flash_mma), written once:
//   cp_async16(dst, src)          16 bytes global -> shared (.cg, L2 only)
//   cp_async16(dst, src, n)       the same, reading n bytes (0 or 16) and zero-filling the rest
//   cp_async16_ca(dst, src, n)    16 bytes through L1 (.ca: for gathers that read a line again),
//                                 reading n bytes (0 or 16) and zero-filling the rest
//   cp_async4(dst, src, n)        4 bytes (.ca), reading n (0 or 4), zero-filling the rest
//   cp_async_commit()             closes this thread's group of copies
//   cp_async_wait<N>()            until at most N of its latest groups are pending
//   ldsm_x4(r, addr)              ldmatrix: four 8x8 b16 matrices from shared memory
//   ldsm_x4_t(r, addr)            the same, transposed
//   mma_m16n8k16_f16 / _bf16      d += a * b, one m16n8k16 fragment, fp32 accumulate
//   mma_m16n8k8_tf32              d += a * b, one m16n8k8 fragment of TF32
//   to_tf32(x)                    fp32 rounded to TF32 (to nearest, ties away), as bits
//   tf32_split(x, big, small)     x as big + small, two TF32s (3xTF32's operands):
//                                 big = tf32(x), small = tf32(x - big) (x - big is exact)
//   tf32_split_trunc(x, big, small)
//                                 the same by truncation: the top 19 bits of x, then of
//                                 x - big (two logic ops where the rounding takes two
//                                 conversions; about 2^-20 relative instead of 2^-22)
// Shared-memory operands are 32-bit addresses (smem_u32). Every copy, wait
// and ldmatrix carries a "memory" clobber, so the compiler keeps ordinary
// shared-memory reads and writes on their side of it.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_AMPERE_CUH
#define KBREED_COMMON_AMPERE_CUH

#include <stdint.h>
#include "smem.cuh" // kbreed:inline

__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src)
{
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src) : "memory");
}

/* src_bytes 0 reads nothing and writes 16 zero bytes. */
__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, int src_bytes)
{
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
		     : "memory");
}

/* As above, cached in L1 on the way (.ca). */
__device__ __forceinline__ void cp_async16_ca(uint32_t dst, const void *src, int src_bytes)
{
	asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
		     : "memory");
}

/* src_bytes 0 reads nothing and writes a zero. */
__device__ __forceinline__ void cp_async4(uint32_t dst, const void *src, int src_bytes)
{
	asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
		     : "memory");
}

__device__ __forceinline__ void cp_async_commit()
{
	asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* Wait until at most N of this thread's most recent groups are pending. */
template <int N> __device__ __forceinline__ void cp_async_wait()
{
	asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void ldsm_x4(uint32_t r[4], uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
		     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		     : "r"(addr)
		     : "memory");
}

__device__ __forceinline__ void ldsm_x4_t(uint32_t r[4], uint32_t addr)
{
	asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
		     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		     : "r"(addr)
		     : "memory");
}

/* d += a (16x16, row) * b (16x8, col); fp16 in, fp32 accumulate. */
__device__ __forceinline__ void mma_m16n8k16_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
		     "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
		     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* The same with bf16 inputs. */
__device__ __forceinline__ void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
		     "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
		     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* d += a (16x8, row) * b (8x8, col); TF32 in, fp32 accumulate. */
__device__ __forceinline__ void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1)
{
	asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
	    "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
	    : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
	    : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t to_tf32(float x)
{
	uint32_t r;
	asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
	return r;
}

__device__ __forceinline__ void tf32_split(float x, uint32_t &big, uint32_t &small)
{
	big = to_tf32(x);
	small = to_tf32(x - __uint_as_float(big));
}

/* x as bits (an ldmatrix register, say). */
__device__ __forceinline__ void tf32_split_trunc(uint32_t x, uint32_t &big, uint32_t &small)
{
	big = x & 0xffffe000u;
	small = __float_as_uint(__uint_as_float(x) - __uint_as_float(big)) & 0xffffe000u;
}

/* Two values as bfloat16 pairs for the 3xBF16 split: hi = bf16(x) and
 * lo = bf16(x - hi), both rounded to nearest (ties to even), x0 in the low
 * half of each register (the element of the lower k index), x1 in the high. */
__device__ __forceinline__ void bf16x2_split(float x0, float x1, uint32_t &hi, uint32_t &lo)
{
	asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(hi) : "f"(x1), "f"(x0));
	const float h0 = __uint_as_float(hi << 16), h1 = __uint_as_float(hi & 0xffff0000u);
	asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(lo) : "f"(x1 - h1), "f"(x0 - h0));
}

#endif
