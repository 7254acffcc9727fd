// expect: rejected
// Does the work on a stream of its own, so that events on the candidate's
// stream see nothing: the worker's wait for the whole device after the
// stream's end event (KBW_TAIL_MS) must give it away, in every timed call.
#include "common.cuh"
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	static cudaStream_t mine;
	if (!mine && cudaStreamCreateWithFlags(&mine, cudaStreamNonBlocking) != cudaSuccess)
		return KB_ERR_LAUNCH;
	return hack_launch((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]), mine);
}
