// expect: runtime_error
// Calls exit() from the entry point: the worker process ends under kbreed.
#include "common.cuh"
#include <stdlib.h>
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	exit(0);
}
