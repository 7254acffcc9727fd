/*
 * compare_gpu.h - the correctness rule of src/compare.c as CUDA kernels,
 * for the comparer (worker/comparer.c), which holds the references on the
 * GPU and compares a candidate's outputs there, in the candidate worker's
 * own buffers (opened through CUDA IPC), without a copy to the host.
 *
 * Pipeline position: evaluate, inside kbreed-worker --compare. Built by
 * nvcc from worker/compare_gpu.cu; the interface is plain C so that the
 * worker (built with gcc against cudart_static) links it.
 *
 * What it computes is exactly what compare_buffers() counts (src/compare.h):
 * per element |got - ref| <= atol * scale + rtol * |ref| under each profile,
 * NaN passes only against NaN, an infinity only against the same infinity,
 * integers and booleans must match; the count outside, the first flat index
 * outside and the values there, the NaN/Inf count, max abs and rel error,
 * and the sums of squares of the norm rule (over finite pairs). kbreed
 * applies the norm rule to the sums (compare_finish). The counts, maxima and
 * the first mismatch are exact; the sums are summed in another order than
 * on the host, so they may differ from the host's in the last bits.
 */
#ifndef KBREED_COMPARE_GPU_H
#define KBREED_COMPARE_GPU_H

#include "../include/kbreed_worker_protocol.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compares n elements of dtype (enum kb_dtype) at ref and got (device
 * pointers) on stream, with atol[p] (already multiplied by the scale) and
 * rtol[p] per profile. work is device memory of cmpgpu_work_bytes(); host
 * memory of the same size is staged in host_work. Fills out (its output and
 * scale fields are the caller's). Returns 0 or a cudaError_t. */
int cmpgpu_compare(const void *ref, const void *got, int dtype, int64_t n, const double *atol,
		   const double *rtol, void *work, void *host_work, void *stream, struct kbw_stats *out);

/* max(1, root mean square of the finite elements) of a float reference on
 * the device; 1 for integers and booleans (compare_scale's rule). Returns 0
 * or a cudaError_t. */
int cmpgpu_scale(const void *ref, int dtype, int64_t n, void *work, void *host_work, void *stream,
		 double *scale);

/* Whether bytes at a and b (device pointers) are equal; *same set. Returns
 * 0 or a cudaError_t. */
int cmpgpu_equal(const void *a, const void *b, size_t bytes, void *work, void *host_work, void *stream,
		 int *same);

/* Bytes of work memory the functions above need (device and host alike). */
size_t cmpgpu_work_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
