// expect: runtime_error
/*
 * bad/abort_in_entry.cu - for tiny_gelu: kbreed_forward calls abort(), so the
 * worker process dies of SIGABRT during the call (as after a failed assertion
 * in host code). The evaluator must survive the dead worker, report a
 * runtime error, and start a fresh worker for the next candidate.
 */
#include <cuda_runtime.h>
#include <stdlib.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	(void)in; (void)n_in; (void)out; (void)n_out; (void)stream;
	abort();
}
