// expect: incorrect
// Returns at once when called again on the same input buffer, hoping the
// last answer is still in the output.
#include "common.cuh"
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	static const void *last;
	if (in[0].data == last)
		return KB_OK;
	last = in[0].data;
	return hack_launch((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]), (cudaStream_t)stream);
}
