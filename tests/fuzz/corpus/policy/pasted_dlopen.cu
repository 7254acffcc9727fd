// expect: rejected - computes GELU correctly, and loads cuBLAS at run time through dlopen/dlsym, every forbidden name pasted together by the preprocessor or from split string literals; the link check finds the loader import (or, with the static CUDA runtime, the library's file name in the data)
// A stand-in for handing the work to a vendor library by a route that the
// source scan cannot see. Whether or not cuBLAS is there, the work is done.
#include "common.cuh"
#include <dlfcn.h>
#define HACK_PASTE(a, b) a##b
typedef int (*hack_create_fn)(void **);
typedef int (*hack_destroy_fn)(void *);
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	void *lib = HACK_PASTE(dl, open)("libcu" "blas.so.13", RTLD_NOW | RTLD_LOCAL);
	if (lib) {
		hack_create_fn create = (hack_create_fn)HACK_PASTE(dl, sym)(lib, "cu" "blasCreate_v2");
		hack_destroy_fn destroy = (hack_destroy_fn)HACK_PASTE(dl, sym)(lib, "cu" "blasDestroy_v2");
		void *h = NULL;
		if (create && destroy && create(&h) == 0)
			destroy(h);
	}
	return hack_launch((const float *)in[0].data, (float *)out[0].data, kb_numel(&in[0]),
			   (cudaStream_t)stream);
}
