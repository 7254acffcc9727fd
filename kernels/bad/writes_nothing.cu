// expect: incorrect
/*
 * bad/writes_nothing.cu - for tiny_gelu: checks its arguments, launches
 * nothing and returns KB_OK. The output keeps the worker's NaN poison, so the
 * comparison with the reference must fail.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kbreed_candidate.h"

KBREED_CANDIDATE_ABI

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	(void)stream;
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	return KB_OK;  /* nothing written */
}
