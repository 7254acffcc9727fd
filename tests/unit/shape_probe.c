/*
 * shape_probe.c - whether a compiled candidate accepts a problem's shapes,
 * on a machine without a GPU.
 *
 *   shape_probe LIB.so IN... -- OUT...      each tensor as DTYPE:D0xD1x... (f32:3x5, i64:7, f32: for a scalar)
 *
 * Calls kbreed_forward() once with tensors of those shapes whose data
 * pointers point nowhere (never dereferenced on the host; with no GPU, the
 * first CUDA call fails). A candidate checks shapes and dtypes before its
 * first CUDA call, so the status says whether it took them: KB_ERR_SHAPE
 * means it refused the problem it was realised for; anything else (the
 * failed launch) means its host code got past its checks. Prints the status;
 * exit 0 unless it was KB_ERR_SHAPE (1) or the call could not be made (2).
 * The bridge tests (tests/bridge/template_lib.sh, probe_shapes) run it on
 * every realisation they compile.
 */
#include "../../include/kbreed_candidate.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dtypes[] = { "f32", "f16", "bf16", "f64", "i32", "i64", "bool" };

static int parse(const char *spec, kb_tensor *t)
{
	const char *colon = strchr(spec, ':');
	if (!colon)
		return -1;
	t->dtype = -1;
	for (int i = 0; i < (int)(sizeof dtypes / sizeof *dtypes); i++)
		if ((size_t)(colon - spec) == strlen(dtypes[i]) && !strncmp(spec, dtypes[i], strlen(dtypes[i])))
			t->dtype = i;
	if (t->dtype < 0)
		return -1;
	t->ndim = 0;
	/* Somewhere no host code may read, 256-byte aligned as allocations are. */
	t->data = (void *)(uintptr_t)0x7f0000000000ULL;
	for (const char *p = colon + 1; *p;) {
		char *end;
		long long d = strtoll(p, &end, 10);
		if (end == p || d < 0 || t->ndim == KBREED_MAX_DIMS)
			return -1;
		t->shape[t->ndim++] = d;
		p = *end == 'x' ? end + 1 : end;
		if (*end && *end != 'x')
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: shape_probe LIB.so IN... -- OUT...\n");
		return 2;
	}
	kb_tensor in[64], out[64];
	int n_in = 0, n_out = 0, after = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			after = 1;
			continue;
		}
		kb_tensor *t = after ? &out[n_out] : &in[n_in];
		if ((after ? n_out : n_in) == 64 || parse(argv[i], t)) {
			fprintf(stderr, "shape_probe: bad tensor '%s'\n", argv[i]);
			return 2;
		}
		after ? n_out++ : n_in++;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "shape_probe: %s\n", dlerror());
		return 2;
	}
	int (*version)(void) = (int (*)(void))dlsym(lib, "kbreed_abi_version");
	int (*forward)(const kb_tensor *, int, kb_tensor *, int, void *) =
		(int (*)(const kb_tensor *, int, kb_tensor *, int, void *))dlsym(lib, "kbreed_forward");
	if (!version || !forward || version() != KBREED_ABI_VERSION) {
		fprintf(stderr, "shape_probe: %s: no kbreed_forward of ABI %d\n", argv[1], KBREED_ABI_VERSION);
		return 2;
	}
	int rc = forward(in, n_in, out, n_out, NULL);
	printf("%d\n", rc);
	return rc == KB_ERR_SHAPE ? 1 : 0;
}
