/*
 * problem.h - the first stage: what a problem is.
 *
 * A problem is a KernelBench-format PyTorch file. kbreed learns its shape
 * through the bridge's `describe` (src/bridge.c) and keeps it as this plain
 * struct: the tensors a candidate receives and must produce, the work it
 * represents (FLOPs, fewest bytes moved) and the playbook family.
 */
#ifndef KBREED_PROBLEM_H
#define KBREED_PROBLEM_H

#include "../include/kbreed_candidate.h"
#include "dtype.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct op_graph;

struct tensor_spec {
	char *name;                      /* argument or parameter name; owned */
	enum kb_dtype dtype;
	int ndim;
	int64_t shape[KBREED_MAX_DIMS];  /* outermost first */
};

struct problem {
	char *name;         /* file stem, e.g. "layernorm"; owned */
	char *path;         /* absolute path of the .py file; owned */
	char *family;       /* playbook family, e.g. "norm"; owned */
	char *op;           /* the operation, as templates name it, e.g. "layernorm"; owned */
	char *notes;        /* one line for people; owned, may be "" */
	char *defines;      /* the file's KBREED_DEFINES as "#define NAME value" lines
	                     * (hyper-parameters no tensor carries: a stride, a pool
	                     * window), prepended to realised templates; owned, may be "" */
	char sha256[65];    /* of the file's bytes */
	struct tensor_spec *inputs;   /* forward() arguments, in order */
	int n_inputs;
	struct tensor_spec *params;   /* named_parameters() then named_buffers() */
	int n_params;
	struct tensor_spec *outputs;  /* forward() results, in order */
	int n_outputs;
	double flops;       /* per forward call; 0 when unknown */
	double min_bytes;   /* every input, parameter and output once */
	struct op_graph *graph;  /* forward() as ATen ops (src/graph.h); owned,
	                          * NULL when the bridge could not capture it */
	char *graph_error;  /* why graph is NULL; owned, NULL when there is a graph */
	bool family_declared;   /* the file sets KBREED_FAMILY (then family, op and
	                         * defines are the file's, as before recognition) */
	bool op_declared;       /* the file sets KBREED_OP */
	bool defines_declared;  /* the file sets KBREED_DEFINES */
	bool flops_declared;    /* the file sets KBREED_FLOPS (flops is the file's) */
	int n_stress_kinds;     /* stressed input kinds the file allows (its KBREED_STRESS),
	                         * 0 to STRESS_KINDS (src/bridge.h); all when describe
	                         * did not say */
};

void problem_init(struct problem *p);
void problem_release(struct problem *p);

/* Resolves a problem argument to a file path (caller frees): an existing
 * path is taken as is; otherwise NAME is looked up as problems/NAME.py under
 * the kbreed home (src/home). Returns NULL, with an error reported, when
 * neither exists. */
char *problem_resolve(const char *name_or_path);

/* Names of the built-in suite, NULL-terminated, in the suite's order. */
extern const char *const problem_suite[];

int64_t tensor_numel(const struct tensor_spec *t);
size_t tensor_bytes(const struct tensor_spec *t);
/* "16x64x256x256" into out (caller frees). */
char *tensor_shape_str(const struct tensor_spec *t);

#endif
