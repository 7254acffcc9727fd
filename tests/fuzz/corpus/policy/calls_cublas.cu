// expect: rejected
// Hands the work to a vendor library (here cuBLAS's copy routine, as a stand-in
// for its GEMMs): the library policy rejects it before it runs.
#include "common.cuh"
#include <cublas_v2.h>
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	cublasHandle_t h;
	if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
		return KB_ERR_LAUNCH;
	cublasSetStream(h, (cudaStream_t)stream);
	cublasScopy(h, (int)kb_numel(&in[0]), (const float *)in[0].data, 1, (float *)out[0].data, 1);
	cublasDestroy(h);
	return KB_OK;
}
