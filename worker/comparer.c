/*
 * comparer.c - `kbreed-worker JOB --compare`: the trusted half of checking
 * on the GPU. It never loads a candidate.
 *
 * Pipeline position: evaluate. kbreed (src/evaluate.c) starts one comparer
 * per problem and GPU beside the candidate's worker, as kbreed's own user,
 * with a job that names, beside the inputs and parameters, every reference
 * output ("tensor reference <set> <output> ... fd:N") and each output's
 * tolerances. The comparer copies them to the GPU once: the references, and
 * golden copies of every input set and parameter. The candidate's process
 * never holds a reference, and cannot write these golden copies: they live
 * in another process's memory, which it has no handle to.
 *
 * kbreed then hands it the CUDA IPC handles the candidate's worker exported
 * (its input slot, parameters and outputs: "handle" lines, then "attach");
 * after each checked call of a candidate ("compare <set> <pass>") it checks,
 * in the worker's own buffers and with kernels (worker/compare_gpu.cu), that
 * the inputs and parameters the candidate was called with still equal their
 * golden copies, and compares each output with the set's reference under
 * src/compare.c's rule: one "stats" line per output, then "end ok"; or
 * "fault rejected <why>" and "end fault" when an input changed. No output
 * crosses to the host.
 *
 * It is undumpable: no process of the same user (the candidate's worker when
 * kbreed is not root) may read its memory or its descriptors through /proc.
 */
#define _GNU_SOURCE
#include "../include/kbreed_worker_protocol.h"
#include "compare_gpu.h"
#include "worker.h"

#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define CUDA_OK(call) cuda_ok((call), #call)
static void cuda_ok(cudaError_t e, const char *what)
{
	if (e != cudaSuccess)
		die_cuda(what, e);
}

/* One tensor the comparer holds or looks at. */
struct ctensor {
	int dtype;           /* enum kb_dtype */
	int64_t numel;
	size_t bytes;
	void *dev;           /* the comparer's device copy (golden or reference) */
};

/* A buffer of the candidate's worker, opened through its IPC handle. */
struct remote {
	bool given;          /* a handle line named it */
	cudaIpcMemHandle_t handle;
	void *dev;           /* opened; NULL until attached */
};

static struct {
	int sets, n_in, n_param, n_out;
	struct ctensor in[KBW_MAX_SETS][KBW_MAX_TENSORS];   /* golden inputs */
	struct ctensor param[KBW_MAX_TENSORS];               /* golden parameters */
	struct ctensor ref[KBW_MAX_SETS][KBW_MAX_TENSORS];  /* reference outputs */
	double scale[KBW_MAX_SETS][KBW_MAX_TENSORS];         /* max(1, rms(ref)) */
	double tol[KBW_MAX_TENSORS][2 * KBW_PROFILES];       /* atol, rtol per profile */
	struct remote slot[KBW_MAX_TENSORS], rparam[KBW_MAX_TENSORS], out[KBW_MAX_TENSORS];
	bool attached;
	void *work, *host_work;
	cudaStream_t stream;
} cmp;

/* Copies one file-backed tensor of the job to the GPU. */
static void upload(struct ctensor *c, const struct kbw_tensor *t)
{
	c->dtype = t->dtype;
	c->bytes = kbw_tensor_bytes(t);
	c->numel = 1;
	for (int d = 0; d < t->ndim; d++)
		c->numel *= t->shape[d];
	const void *host = map_file(t->source, c->bytes);
	CUDA_OK(cudaMalloc(&c->dev, c->bytes ? c->bytes : 1));
	CUDA_OK(cudaMemcpy(c->dev, host, c->bytes, cudaMemcpyHostToDevice));
}

static void load(const char *path)
{
	struct kbw_job j;
	char why[1024];
	int rc = kbw_job_load(path, &j, why, sizeof why);
	if (!rc && (j.n_refs != j.sets * j.n_outputs || j.n_tols != j.n_outputs)) {
		snprintf(why, sizeof why, "%s: a comparer's job names every reference and tolerance", path);
		rc = KBW_EXIT_JOB;
	}
	if (rc) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "%s", why);
		fprintf(stderr, "kbreed-worker --compare: %s\n", why);
		exit(rc);
	}
	cmp.sets = j.sets;
	cmp.n_in = j.n_inputs;
	cmp.n_param = j.n_params;
	cmp.n_out = j.n_outputs;
	memcpy(cmp.tol, j.tol, sizeof cmp.tol);
	struct kbw_tensor *outs[KBW_MAX_TENSORS] = { NULL };
	for (int i = 0; i < j.n_tensors; i++)
		if (j.tensor[i].kind == KBW_OUTPUT)
			outs[j.tensor[i].index] = &j.tensor[i];
	for (int i = 0; i < j.n_tensors; i++) {
		struct kbw_tensor *t = &j.tensor[i];
		if (t->kind == KBW_INPUT)
			upload(&cmp.in[t->set][t->index], t);
		else if (t->kind == KBW_PARAM)
			upload(&cmp.param[t->index], t);
		else if (t->kind == KBW_REFERENCE) {
			const struct kbw_tensor *o = outs[t->index];
			if (!o || o->dtype != t->dtype || kbw_tensor_bytes(o) != kbw_tensor_bytes(t))
				die_job("reference %d of set %d does not match output %d", t->index, t->set, t->index);
			upload(&cmp.ref[t->set][t->index], t);
		}
	}
	kbw_job_release(&j);
	size_t work = cmpgpu_work_bytes();
	CUDA_OK(cudaMalloc(&cmp.work, work));
	if (!(cmp.host_work = malloc(work)))
		die_job("out of memory");
	CUDA_OK(cudaStreamCreateWithFlags(&cmp.stream, cudaStreamNonBlocking));
	/* Each reference's scale, once: the absolute tolerance is measured in it. */
	for (int s = 0; s < cmp.sets; s++)
		for (int o = 0; o < cmp.n_out; o++) {
			struct ctensor *r = &cmp.ref[s][o];
			int e = cmpgpu_scale(r->dev, r->dtype, r->numel, cmp.work, cmp.host_work, cmp.stream, &cmp.scale[s][o]);
			if (e)
				die_cuda("the scale of a reference", (cudaError_t)e);
		}
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Takes a handle line's buffer for the next attach. */
static void take_handle(const struct kbw_handle *h)
{
	struct remote *r = h->kind == KBW_INPUT ? &cmp.slot[h->index]
			 : h->kind == KBW_PARAM ? &cmp.rparam[h->index] : &cmp.out[h->index];
	size_t len = strlen(h->hex);
	if (len != 2 * sizeof r->handle) {
		/* Left ungiven: the attach that follows says so. */
		fprintf(stderr, "kbreed-worker --compare: a handle of %zu hex digits, not %zu\n", len, 2 * sizeof r->handle);
		return;
	}
	unsigned char *b = (unsigned char *)&r->handle;
	for (size_t i = 0; i < sizeof r->handle; i++)
		b[i] = (unsigned char)(hex_digit(h->hex[2 * i]) << 4 | hex_digit(h->hex[2 * i + 1]));
	r->given = true;
}

/* Closes what the last attach opened (the worker it named may be gone). */
static void detach(void)
{
	struct remote *lists[] = { cmp.slot, cmp.rparam, cmp.out };
	for (int l = 0; l < 3; l++)
		for (int i = 0; i < KBW_MAX_TENSORS; i++)
			if (lists[l][i].dev) {
				cudaIpcCloseMemHandle(lists[l][i].dev);
				lists[l][i].dev = NULL;
			}
	cmp.attached = false;
}

/* Opens every buffer the handle lines named: the slot's inputs, the
 * parameters and the outputs, all of them. The handles are forgotten once
 * opened: a next attach needs new handle lines. */
static void attach(void)
{
	struct remote *lists[] = { cmp.slot, cmp.rparam, cmp.out };
	int counts[] = { cmp.n_in, cmp.n_param, cmp.n_out };
	static const char *const names[] = { "input", "param", "output" };
	detach();
	for (int l = 0; l < 3; l++)
		for (int i = 0; i < counts[l]; i++) {
			struct remote *r = &lists[l][i];
			cudaError_t e = r->given ? cudaIpcOpenMemHandle(&r->dev, r->handle, cudaIpcMemLazyEnablePeerAccess)
						 : cudaErrorInvalidValue;
			if (e != cudaSuccess) {
				r->dev = NULL;
				cudaGetLastError();   /* not sticky: this context stays usable */
				detach();
				reply_text(KBW_REPLY_FAULT, KBW_FAULT_RUNTIME, "cannot open the worker's %s %d: %s", names[l], i,
					   r->given ? cudaGetErrorString(e) : "no handle was given");
				reply_end(false);
				goto forget;
			}
		}
	cmp.attached = true;
	reply_end(true);
forget:
	for (int l = 0; l < 3; l++)
		for (int i = 0; i < KBW_MAX_TENSORS; i++)
			lists[l][i].given = false;
}

/* One checked call of set `set` (pass 0: its first sight, 1: its check
 * call): the inputs first, then every output. */
static void compare(int set, int pass)
{
	char what[64];
	snprintf(what, sizeof what, pass ? "the check call on input set %d" : "input set %d", set);
	if (!cmp.attached || set >= cmp.sets) {
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_RUNTIME, "%s: %s", what,
			   cmp.attached ? "no such set" : "no worker is attached");
		reply_end(false);
		return;
	}
	for (int k = 0; k < cmp.n_in + cmp.n_param; k++) {
		bool input = k < cmp.n_in;
		const struct ctensor *g = input ? &cmp.in[set][k] : &cmp.param[k - cmp.n_in];
		const struct remote *r = input ? &cmp.slot[k] : &cmp.rparam[k - cmp.n_in];
		int same = 0, e = cmpgpu_equal(r->dev, g->dev, g->bytes, cmp.work, cmp.host_work, cmp.stream, &same);
		if (e)
			die_cuda("comparing an input with its golden copy", (cudaError_t)e);
		if (!same) {
			reply_text(KBW_REPLY_FAULT, KBW_FAULT_REJECTED, "%s: the candidate modified %s %d", what,
				   input ? "input" : "parameter", input ? k : k - cmp.n_in);
			reply_end(false);
			return;
		}
	}
	for (int o = 0; o < cmp.n_out; o++) {
		const struct ctensor *ref = &cmp.ref[set][o];
		double atol[KBW_PROFILES], rtol[KBW_PROFILES];
		for (int p = 0; p < KBW_PROFILES; p++) {
			atol[p] = cmp.tol[o][2 * p] * cmp.scale[set][o];
			rtol[p] = cmp.tol[o][2 * p + 1];
		}
		struct kbw_reply r = { .kind = KBW_REPLY_STATS };
		int e = cmpgpu_compare(ref->dev, cmp.out[o].dev, ref->dtype, ref->numel, atol, rtol, cmp.work,
				       cmp.host_work, cmp.stream, &r.stats);
		if (e)
			die_cuda("comparing an output with its reference", (cudaError_t)e);
		r.stats.output = o;
		r.stats.scale = cmp.scale[set][o];
		reply(&r);
	}
	reply_end(true);
}

int comparer_main(const char *job_path)
{
	/* Neither a core dump nor /proc/<pid>/mem or fd/ of this process may
	 * show a reference to another process of this user. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	private_replies();
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "no CUDA device is visible");
		return KBW_EXIT_NO_GPU;
	}
	load(job_path);
	size_t free_b = 0, total = 0;
	CUDA_OK(cudaMemGetInfo(&free_b, &total));
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = KBREED_WORKER_PROTOCOL, .bytes = free_b,
				   .compare = true });
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		struct kbw_cmd c;
		switch (kbw_parse_cmd(line, &c)) {
		case KBW_CMD_HANDLE:
			take_handle(&c.handle);
			break;
		case KBW_CMD_ATTACH:
			attach();
			break;
		case KBW_CMD_COMPARE:
			compare(c.set, c.pass);
			break;
		case KBW_CMD_QUIT:
			free(line);
			detach();
			return KBW_EXIT_OK;
		default:
			reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "unknown command");
		}
	}
	free(line);
	return KBW_EXIT_OK;
}
