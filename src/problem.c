/*
 * problem.c - problems: where they live, the suite, and tensor arithmetic.
 * Loading itself goes through the bridge (bridge_describe), because only
 * PyTorch can read a PyTorch model.
 */
#define _GNU_SOURCE
#include "problem.h"

#include "graph.h"
#include "home.h"
#include "log.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *const problem_suite[] = {
	"layernorm", "softmax", "rmsnorm", "gelu", "cumsum",
	"matmul_fp32", "matmul_fp16", "conv2d", "conv2d_relu_maxpool", "attention_fp16",
	NULL,
};

void problem_init(struct problem *p)
{
	memset(p, 0, sizeof *p);
}

static void free_specs(struct tensor_spec *t, int n)
{
	for (int i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

void problem_release(struct problem *p)
{
	free(p->name);
	free(p->path);
	free(p->family);
	free(p->op);
	free(p->notes);
	free(p->defines);
	free_specs(p->inputs, p->n_inputs);
	free_specs(p->params, p->n_params);
	free_specs(p->outputs, p->n_outputs);
	graph_free(p->graph);
	free(p->graph_error);
	problem_init(p);
}

char *problem_resolve(const char *arg)
{
	char resolved[PATH_MAX];
	if (strchr(arg, '/') || strstr(arg, ".py")) {
		if (!realpath(arg, resolved) || !util_file_exists(resolved)) {
			error("problem file %s does not exist", arg);
			return NULL;
		}
		return xstrdup(resolved);
	}
	char *path = xasprintf("%s/problems/%s.py", home_dir(), arg);
	if (!util_file_exists(path)) {
		error("no problem named '%s' (looked for %s); `kbreed problems` lists the suite",
		      arg, path);
		free(path);
		return NULL;
	}
	return path;
}

int64_t tensor_numel(const struct tensor_spec *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

size_t tensor_bytes(const struct tensor_spec *t)
{
	return (size_t)tensor_numel(t) * dtype_size(t->dtype);
}

char *tensor_shape_str(const struct tensor_spec *t)
{
	struct buf b;
	buf_init(&b, 4096);
	if (t->ndim == 0)
		buf_printf(&b, "scalar");
	for (int i = 0; i < t->ndim; i++)
		buf_printf(&b, i ? "x%lld" : "%lld", (long long)t->shape[i]);
	return buf_detach(&b);
}
