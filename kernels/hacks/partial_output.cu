// expect: incorrect
// Computes the first half of the output only.
#include "common.cuh"
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	return hack_launch((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]) / 2, (cudaStream_t)stream);
}
