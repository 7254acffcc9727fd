/*
 * kb_run.cu - one candidate called in a plain process, for a profiler:
 *
 *   nvcc -O2 -o build/kb_run scripts/kb_run.cu -ldl
 *   build/kb_run CANDIDATE.so CALLS IN... -- OUT...
 *
 * Each IN and OUT is DTYPE:D0,D1,... (f32, f16 or bf16), the candidate's
 * tensors in order. The inputs are filled with uniform values in [-1, 1)
 * (a fixed hash of the index, not the judge's random sets), the outputs
 * with zeros; then kbreed_forward is called CALLS times on one stream, and
 * the mean time of a call (CUDA events around all of them, after one
 * warm-up call) is printed. Nothing is checked: this is `ncu` or
 * `compute-sanitizer` material (scripts/device.sh's `profile` step), where
 * the judge's worker, inside its sandbox and with its clean environment,
 * cannot be followed. Exit 0 when every call returned KB_OK, 1 otherwise,
 * 2 on bad arguments.
 */
#include "../include/kbreed_candidate.h"

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*forward_fn)(const kb_tensor *, int, kb_tensor *, int, void *);

static __global__ void fill_uniform(void *data, int dtype, long long n, unsigned seed)
{
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
	     i += (long long)gridDim.x * blockDim.x) {
		unsigned long long h = (unsigned long long)i * 0x9e3779b97f4a7c15ull + seed;
		h ^= h >> 31;
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
		float v = (float)(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
		if (dtype == KB_F32) {
			((float *)data)[i] = v;
		} else {
			/* f16 or bf16: the top 16 bits of a float are a bf16; f16 by hand is not
			 * worth it here, so f16 gets small integers' worth of bits (still finite) */
			unsigned u;
			memcpy(&u, &v, 4);
			((unsigned short *)data)[i] = dtype == KB_BF16 ? (unsigned short)(u >> 16)
								       : (unsigned short)(0x3800 | ((u >> 13) & 0x3ff));
		}
	}
}

static int parse_tensor(const char *arg, kb_tensor *t)
{
	memset(t, 0, sizeof(*t));
	const char *colon = strchr(arg, ':');
	if (!colon)
		return -1;
	size_t n = (size_t)(colon - arg);
	if (n == 3 && !strncmp(arg, "f32", 3))
		t->dtype = KB_F32;
	else if (n == 3 && !strncmp(arg, "f16", 3))
		t->dtype = KB_F16;
	else if (n == 4 && !strncmp(arg, "bf16", 4))
		t->dtype = KB_BF16;
	else
		return -1;
	const char *p = colon + 1;
	while (*p) {
		char *end;
		long long d = strtoll(p, &end, 10);
		if (end == p || d < 1 || t->ndim == KBREED_MAX_DIMS)
			return -1;
		t->shape[t->ndim++] = d;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return 0;
}

static size_t bytes_of(const kb_tensor *t)
{
	return (size_t)kb_numel(t) * (t->dtype == KB_F32 ? 4 : 2);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: kb_run CANDIDATE.so CALLS IN... -- OUT...  (DTYPE:D0,D1,...; f32 f16 bf16)\n");
		return 2;
	}
	int calls = atoi(argv[2]);
	kb_tensor in[16], out[16];
	int n_in = 0, n_out = 0, outs = 0;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			outs = 1;
			continue;
		}
		kb_tensor *t = outs ? &out[n_out] : &in[n_in];
		if ((outs ? n_out : n_in) == 16 || parse_tensor(argv[i], t)) {
			fprintf(stderr, "kb_run: bad tensor '%s' (DTYPE:D0,D1,..., at most 16 a side)\n", argv[i]);
			return 2;
		}
		outs ? n_out++ : n_in++;
	}
	if (calls < 1 || !outs || n_out == 0) {
		fprintf(stderr, "kb_run: CALLS >= 1 and at least one OUT after --\n");
		return 2;
	}
	void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	forward_fn fwd = so ? (forward_fn)dlsym(so, "kbreed_forward") : NULL;
	if (!fwd) {
		fprintf(stderr, "kb_run: %s: %s\n", argv[1], dlerror());
		return 2;
	}
	for (int i = 0; i < n_in + n_out; i++) {
		kb_tensor *t = i < n_in ? &in[i] : &out[i - n_in];
		if (cudaMalloc(&t->data, bytes_of(t)) != cudaSuccess) {
			fprintf(stderr, "kb_run: cannot allocate %zu bytes\n", bytes_of(t));
			return 1;
		}
		if (i < n_in)
			fill_uniform<<<1024, 256>>>(t->data, t->dtype, kb_numel(t), 17u * (unsigned)i + 1u);
		else
			cudaMemset(t->data, 0, bytes_of(t));
	}
	cudaStream_t s;
	cudaEvent_t e0, e1;
	cudaStreamCreate(&s);
	cudaEventCreate(&e0);
	cudaEventCreate(&e1);
	cudaDeviceSynchronize();
	int bad = fwd(in, n_in, out, n_out, s) != KB_OK;
	cudaEventRecord(e0, s);
	for (int c = 0; c < calls && !bad; c++)
		bad = fwd(in, n_in, out, n_out, s) != KB_OK;
	cudaEventRecord(e1, s);
	cudaError_t err = cudaDeviceSynchronize();
	float ms = 0;
	cudaEventElapsedTime(&ms, e0, e1);
	if (bad || err != cudaSuccess) {
		fprintf(stderr, "kb_run: %s\n", bad ? "a call did not return KB_OK" : cudaGetErrorString(err));
		return 1;
	}
	printf("kb_run: %s: %d calls, %.4f ms a call\n", argv[1], calls, ms / calls);
	return 0;
}
