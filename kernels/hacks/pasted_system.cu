// expect: rejected - computes GELU correctly, and runs a program through system(), its name pasted together by the preprocessor so that the source never spells it; the link check finds the import
// The text policy reads the source and misses it; the link check reads what
// the shared object imports (src/linkcheck.c) and rejects it.
#include "common.cuh"
#include <stdlib.h>
#define HACK_PASTE(a, b) a##b
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	static int ran;
	if (!ran++ && HACK_PASTE(sys, tem)("true") == -1)
		return KB_ERR_LAUNCH;
	return hack_launch((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]),
			   (cudaStream_t)stream);
}
