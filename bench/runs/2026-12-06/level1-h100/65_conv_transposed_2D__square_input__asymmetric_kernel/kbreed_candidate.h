/*
 * kbreed_candidate.h - the candidate-kernel ABI, version 1.
 *
 * A candidate is one CUDA source file that includes this header, writes
 * KBREED_CANDIDATE_ABI; once at file scope, and defines kbreed_forward().
 * kbreed compiles it into a shared object; the GPU worker dlopen()s it,
 * checks kbreed_abi_version() against KBREED_ABI_VERSION before calling
 * anything else, then calls kbreed_forward() once per evaluation call.
 *
 * Tensor order (docs/ABI.md): in[] holds the forward() arguments in order,
 * then the module's parameters (named_parameters() order), then its buffers
 * (named_buffers() order). out[] holds forward()'s results: one tensor, or
 * the elements of a returned tuple in order.
 *
 * Every tensor is a contiguous, row-major device buffer. Outputs are
 * preallocated by the worker and poisoned with NaN before each call: the
 * candidate must write every element. Inputs must not be modified.
 * All work must be enqueued on `stream` (a cudaStream_t); the worker
 * synchronises the device after the call.
 */
#ifndef KBREED_CANDIDATE_H
#define KBREED_CANDIDATE_H

#include <stdint.h>

#define KBREED_ABI_VERSION 1
#define KBREED_MAX_DIMS 8

/* Element types, numbered as the bridge and the worker number them. */
enum kb_dtype {
	KB_F32 = 0,
	KB_F16 = 1,
	KB_BF16 = 2,
	KB_F64 = 3,
	KB_I32 = 4,
	KB_I64 = 5,
	KB_BOOL = 6,  /* one byte per element */
};

typedef struct kb_tensor {
	void *data;                       /* device pointer, contiguous row-major */
	int32_t dtype;                    /* enum kb_dtype */
	int32_t ndim;                     /* 0..KBREED_MAX_DIMS; 0 is a scalar */
	int64_t shape[KBREED_MAX_DIMS];   /* elements per dimension, outermost first */
} kb_tensor;

#ifdef __cplusplus
#define KB_EXTERN_C extern "C"
#else
#define KB_EXTERN_C
#endif
#define KB_EXPORT KB_EXTERN_C __attribute__((visibility("default")))

/* Status codes kbreed_forward() returns. Anything but KB_OK is a runtime error. */
#define KB_OK 0
#define KB_ERR_SHAPE 1     /* shapes or dtypes the candidate does not support */
#define KB_ERR_LAUNCH 2    /* a CUDA call or launch failed */

/* Elements of a tensor: the product of its shape. */
static inline int64_t kb_numel(const kb_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

/* Whether b has a's shape: as many dimensions (0..KBREED_MAX_DIMS) and the
 * same extent in each, none negative. The check of an output against the
 * input it mirrors; a source helper, not part of the binary interface. */
static inline int kb_same_shape(const kb_tensor *a, const kb_tensor *b)
{
	if (a->ndim < 0 || a->ndim > KBREED_MAX_DIMS || b->ndim != a->ndim)
		return 0;
	for (int i = 0; i < a->ndim; i++)
		if (a->shape[i] < 0 || b->shape[i] != a->shape[i])
			return 0;
	return 1;
}

/* Placed once at file scope in every candidate: exports the ABI version. */
#define KBREED_CANDIDATE_ABI \
	KB_EXPORT int kbreed_abi_version(void) { return KBREED_ABI_VERSION; }

/* The entry point every candidate defines. `stream` is a cudaStream_t. */
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream);

#endif /* KBREED_CANDIDATE_H */
