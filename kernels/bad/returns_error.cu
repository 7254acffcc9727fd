// expect: runtime_error
/*
 * bad/returns_error.cu - for tiny_gelu: launches nothing and returns
 * KB_ERR_SHAPE, as a candidate does when it does not support the shapes it
 * was given. Any status but KB_OK is a runtime error.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	(void)in; (void)n_in; (void)out; (void)n_out; (void)stream;
	return KB_ERR_SHAPE;
}
