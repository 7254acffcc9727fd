/*
 * compare_gpu.cu - the correctness rule of src/compare.c on the GPU, for
 * the comparer (worker/comparer.c); the interface and the promise are in
 * worker/compare_gpu.h.
 *
 * Each comparison runs in two steps: CMP_BLOCKS blocks each take one
 * contiguous stretch of the tensor and reduce what they found into one
 * `struct part`; the host then folds the parts in block order (so the sums
 * are the same from run to run) and, when something failed, a one-thread
 * kernel reads the values at the first failing index. Built with
 * -fmad=false: the tolerance test |got - ref| > atol + rtol * |ref| must
 * round as the host's does, not as a fused multiply-add would.
 */
#include "compare_gpu.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define CMP_BLOCKS 1024
#define CMP_THREADS 256
#define NO_INDEX LLONG_MAX   /* "no failing element" while reducing */

/* What one block (or one thread) found in its stretch. */
struct part {
	long long bad[KBW_PROFILES];     /* elements outside tolerance */
	long long first[KBW_PROFILES];   /* smallest failing flat index; NO_INDEX */
	long long nonfinite;             /* NaN/Inf where the reference is finite */
	double max_abs, max_rel;         /* over finite pairs (max_rel: ref != 0) */
	double err_sq, ref_sq;           /* sums of squares over finite pairs */
};

/* Element i of a tensor of dtype t as a double, as src/compare.c's load(). */
__device__ static double load(const void *p, int t, long long i)
{
	switch (t) {
	case KB_F32: return ((const float *)p)[i];
	case KB_F64: return ((const double *)p)[i];
	case KB_F16: return __half2float(__ushort_as_half(((const unsigned short *)p)[i]));
	case KB_BF16: return __int_as_float((int)((unsigned)((const unsigned short *)p)[i] << 16));
	case KB_I32: return ((const int *)p)[i];
	case KB_I64: return (double)((const long long *)p)[i];
	case KB_BOOL: return ((const unsigned char *)p)[i] != 0;
	}
	return nan("");
}

__device__ static bool is_integer(int t)
{
	return t == KB_I32 || t == KB_I64 || t == KB_BOOL;
}

__device__ static void note_bad(struct part *s, int p, long long i)
{
	if (s->first[p] == NO_INDEX)
		s->first[p] = i;   /* a thread walks its elements in order */
	s->bad[p]++;
}

/* The stretch of n elements block b of CMP_BLOCKS takes: [*begin, *end). */
__device__ static void stretch(long long n, long long *begin, long long *end)
{
	long long per = (n + CMP_BLOCKS - 1) / CMP_BLOCKS;
	*begin = per * blockIdx.x < n ? per * blockIdx.x : n;
	*end = per * (blockIdx.x + 1) < n ? per * (blockIdx.x + 1) : n;
}

/* Folds b into a: counts and sums add, maxima and first indices win. */
__device__ static void fold(struct part *a, const struct part *b)
{
	for (int p = 0; p < KBW_PROFILES; p++) {
		a->bad[p] += b->bad[p];
		if (b->first[p] < a->first[p])
			a->first[p] = b->first[p];
	}
	a->nonfinite += b->nonfinite;
	a->max_abs = fmax(a->max_abs, b->max_abs);
	a->max_rel = fmax(a->max_rel, b->max_rel);
	a->err_sq += b->err_sq;
	a->ref_sq += b->ref_sq;
}

/* Reduces each thread's part into parts[blockIdx.x]. */
__device__ static void reduce_block(struct part *mine, struct part *parts)
{
	__shared__ struct part sh[CMP_THREADS];
	sh[threadIdx.x] = *mine;
	__syncthreads();
	for (int half = CMP_THREADS / 2; half > 0; half /= 2) {
		if ((int)threadIdx.x < half)
			fold(&sh[threadIdx.x], &sh[threadIdx.x + half]);
		__syncthreads();
	}
	if (threadIdx.x == 0)
		parts[blockIdx.x] = sh[0];
}

/* The element-wise rule, compare_stretch() of src/compare.c, element by
 * element; each thread takes every CMP_THREADS-th element of the block's
 * stretch. */
__global__ static void compare_kernel(const void *ref, const void *got, int t, long long n, double atol0,
				      double rtol0, double atol1, double rtol1, struct part *parts)
{
	struct part s;
	memset(&s, 0, sizeof s);
	for (int p = 0; p < KBW_PROFILES; p++)
		s.first[p] = NO_INDEX;
	const double atol[KBW_PROFILES] = { atol0, atol1 }, rtol[KBW_PROFILES] = { rtol0, rtol1 };
	bool exact = is_integer(t);
	long long begin, end;
	stretch(n, &begin, &end);
	for (long long i = begin + threadIdx.x; i < end; i += CMP_THREADS) {
		double want = load(ref, t, i), have = load(got, t, i);
		if (exact) {
			if (have != want)
				for (int p = 0; p < KBW_PROFILES; p++)
					note_bad(&s, p, i);
			s.max_abs = fmax(s.max_abs, fabs(have - want));
			continue;
		}
		if (!isfinite(want)) {
			bool same = isnan(want) ? isnan(have) : have == want;
			if (!same)
				for (int p = 0; p < KBW_PROFILES; p++)
					note_bad(&s, p, i);
			continue;
		}
		if (!isfinite(have)) {
			s.nonfinite++;
			for (int p = 0; p < KBW_PROFILES; p++)
				note_bad(&s, p, i);
			continue;
		}
		double d = fabs(have - want);
		s.err_sq += d * d;
		s.ref_sq += want * want;
		s.max_abs = fmax(s.max_abs, d);
		if (want != 0 && d / fabs(want) > s.max_rel)
			s.max_rel = d / fabs(want);
		for (int p = 0; p < KBW_PROFILES; p++)
			if (d > atol[p] + rtol[p] * fabs(want))
				note_bad(&s, p, i);
	}
	reduce_block(&s, parts);
}

/* The values at index i, for the first mismatch's report. */
__global__ static void fetch_kernel(const void *ref, const void *got, int t, long long i, double *out)
{
	out[0] = load(got, t, i);
	out[1] = load(ref, t, i);
}

/* Sum of squares and count of the finite elements (compare_scale). */
__global__ static void scale_kernel(const void *ref, int t, long long n, struct part *parts)
{
	struct part s;
	memset(&s, 0, sizeof s);
	long long begin, end;
	stretch(n, &begin, &end);
	for (long long i = begin + threadIdx.x; i < end; i += CMP_THREADS) {
		double v = load(ref, t, i);
		if (isfinite(v)) {
			s.ref_sq += v * v;
			s.nonfinite++;   /* here: the count of finite elements */
		}
	}
	for (int p = 0; p < KBW_PROFILES; p++)
		s.first[p] = NO_INDEX;
	reduce_block(&s, parts);
}

/* Sets *differs when any byte of a and b differs: 16 bytes at a time
 * (cudaMalloc's pointers are aligned), then the tail. */
__global__ static void equal_kernel(const unsigned char *a, const unsigned char *b, size_t bytes, int *differs)
{
	size_t words = bytes / 16, stride = (size_t)gridDim.x * blockDim.x;
	const uint4 *wa = (const uint4 *)a, *wb = (const uint4 *)b;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += stride) {
		uint4 x = wa[i], y = wb[i];
		if (x.x != y.x || x.y != y.y || x.z != y.z || x.w != y.w)
			*differs = 1;
	}
	for (size_t i = words * 16 + (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < bytes; i += stride)
		if (a[i] != b[i])
			*differs = 1;
}

extern "C" size_t cmpgpu_work_bytes(void)
{
	return CMP_BLOCKS * sizeof(struct part) + 64;
}

/* Folds the blocks' parts (copied to host) in block order. */
static void fold_host(const struct part *parts, struct part *all)
{
	memset(all, 0, sizeof *all);
	for (int p = 0; p < KBW_PROFILES; p++)
		all->first[p] = NO_INDEX;
	for (int b = 0; b < CMP_BLOCKS; b++) {
		const struct part *s = &parts[b];
		for (int p = 0; p < KBW_PROFILES; p++) {
			all->bad[p] += s->bad[p];
			if (s->first[p] < all->first[p])
				all->first[p] = s->first[p];
		}
		all->nonfinite += s->nonfinite;
		all->max_abs = s->max_abs > all->max_abs ? s->max_abs : all->max_abs;
		all->max_rel = s->max_rel > all->max_rel ? s->max_rel : all->max_rel;
		all->err_sq += s->err_sq;
		all->ref_sq += s->ref_sq;
	}
}

/* Runs a reduction already launched: copies the parts back and folds them. */
static cudaError_t collect(void *work, void *host_work, cudaStream_t st, struct part *all)
{
	cudaError_t e = cudaGetLastError();
	if (e == cudaSuccess)
		e = cudaMemcpyAsync(host_work, work, CMP_BLOCKS * sizeof(struct part), cudaMemcpyDeviceToHost, st);
	if (e == cudaSuccess)
		e = cudaStreamSynchronize(st);
	if (e == cudaSuccess)
		fold_host((const struct part *)host_work, all);
	return e;
}

extern "C" int cmpgpu_compare(const void *ref, const void *got, int dtype, int64_t n, const double *atol,
			      const double *rtol, void *work, void *host_work, void *stream, struct kbw_stats *out)
{
	cudaStream_t st = (cudaStream_t)stream;
	struct part all;
	compare_kernel<<<CMP_BLOCKS, CMP_THREADS, 0, st>>>(ref, got, dtype, (long long)n, atol[0], rtol[0], atol[1],
							    rtol[1], (struct part *)work);
	cudaError_t e = collect(work, host_work, st, &all);
	if (e != cudaSuccess)
		return (int)e;
	out->n = n;
	out->n_nonfinite = all.nonfinite;
	out->max_abs = all.max_abs;
	out->max_rel = all.max_rel;
	out->err_sq = all.err_sq;
	out->ref_sq = all.ref_sq;
	for (int p = 0; p < KBW_PROFILES; p++) {
		out->n_bad[p] = all.bad[p];
		out->first_bad[p] = all.first[p] == NO_INDEX ? -1 : all.first[p];
		out->first_got[p] = out->first_want[p] = 0;
		if (out->first_bad[p] < 0)
			continue;
		double *pair = (double *)work, v[2];
		fetch_kernel<<<1, 1, 0, st>>>(ref, got, dtype, out->first_bad[p], pair);
		if ((e = cudaGetLastError()) != cudaSuccess ||
		    (e = cudaMemcpyAsync(v, pair, sizeof v, cudaMemcpyDeviceToHost, st)) != cudaSuccess ||
		    (e = cudaStreamSynchronize(st)) != cudaSuccess)
			return (int)e;
		out->first_got[p] = v[0];
		out->first_want[p] = v[1];
	}
	return 0;
}

extern "C" int cmpgpu_scale(const void *ref, int dtype, int64_t n, void *work, void *host_work, void *stream,
			    double *scale)
{
	*scale = 1;
	if (dtype == KB_I32 || dtype == KB_I64 || dtype == KB_BOOL)
		return 0;
	cudaStream_t st = (cudaStream_t)stream;
	struct part all;
	scale_kernel<<<CMP_BLOCKS, CMP_THREADS, 0, st>>>(ref, dtype, (long long)n, (struct part *)work);
	cudaError_t e = collect(work, host_work, st, &all);
	if (e != cudaSuccess)
		return (int)e;
	double rms = all.nonfinite ? sqrt(all.ref_sq / (double)all.nonfinite) : 0;
	*scale = rms > 1 ? rms : 1;
	return 0;
}

extern "C" int cmpgpu_equal(const void *a, const void *b, size_t bytes, void *work, void *host_work, void *stream,
			    int *same)
{
	cudaStream_t st = (cudaStream_t)stream;
	int *flag = (int *)work, differs = 0;
	*same = 0;
	cudaError_t e = cudaMemsetAsync(flag, 0, sizeof *flag, st);
	if (e != cudaSuccess)
		return (int)e;
	if (bytes)
		equal_kernel<<<CMP_BLOCKS, CMP_THREADS, 0, st>>>((const unsigned char *)a, (const unsigned char *)b, bytes,
								 flag);
	if ((e = cudaGetLastError()) != cudaSuccess ||
	    (e = cudaMemcpyAsync(&differs, flag, sizeof differs, cudaMemcpyDeviceToHost, st)) != cudaSuccess ||
	    (e = cudaStreamSynchronize(st)) != cudaSuccess)
		return (int)e;
	(void)host_work;
	*same = !differs;
	return 0;
}
