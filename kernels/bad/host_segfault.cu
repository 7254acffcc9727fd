// expect: runtime_error
/*
 * bad/host_segfault.cu - for tiny_gelu: kbreed_forward stores through a NULL
 * host pointer, so the worker process dies of SIGSEGV during the call. The
 * pointer is read through a volatile global so the compiler cannot see that
 * it is null (and cannot turn the store into a trap instruction instead).
 * The evaluator must survive the dead worker and report a runtime error.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

static int *volatile null_host_ptr = 0;

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	(void)in; (void)n_in; (void)out; (void)n_out; (void)stream;
	int *p = null_host_ptr;
	*p = 42;  /* SIGSEGV */
	return KB_OK;
}
