/*
 * graph.h - a problem's forward pass as a graph of ATen operators.
 *
 * Part of the problem stage. The bridge's `describe` runs Model.forward on
 * meta tensors under a recording dispatch mode and sends back every ATen
 * operator it called (docs/BRIDGE.md, "The op graph"); src/bridge_json.c
 * decodes that into the structs below, and src/recognize.c reads them to
 * decide the problem's family and hyper-parameters. Generators read them
 * to emit a kernel for the whole forward.
 *
 * Tensors are numbered 0..n_tensors-1 and every op refers to them by that
 * number. The first tensors are the forward's inputs (kind GRAPH_INPUT, in
 * forward()'s argument order), then the module's parameters and buffers
 * (GRAPH_PARAM, named_parameters() then named_buffers()): the order in which
 * the candidate ABI passes them (docs/ABI.md). Then come tensors that no op
 * made and that are neither (GRAPH_CONST, e.g. a tensor kept in a plain
 * attribute) and the tensors ops produce (GRAPH_INTER), in the order made.
 * An in-place op produces a new tensor number (the graph is in SSA form).
 * The forward's results are listed in op_graph.outputs; any tensor may be
 * one, an input included.
 *
 * Ownership: an op_graph owns everything it points to; graph_free releases it.
 */
#ifndef KBREED_GRAPH_H
#define KBREED_GRAPH_H

#include "../include/kbreed_candidate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Limits the decoder enforces; a graph past them is rejected, not truncated. */
#define GRAPH_MAX_TENSORS 16384
#define GRAPH_MAX_OPS 8192
#define GRAPH_MAX_OP_INPUTS 64      /* tensor arguments of one op */
#define GRAPH_MAX_OP_OUTPUTS 16
#define GRAPH_MAX_ATTRS 32          /* non-tensor arguments of one op */
#define GRAPH_MAX_LIST 64           /* elements of one list attribute */
#define GRAPH_MAX_NAME 256          /* bytes of any name or string, NUL excluded */

/* A tensor's dtype: the ABI's, or GRAPH_DTYPE_OTHER for dtypes that only
 * intermediates may have (u8, i8, i16, complex, ...). */
#define GRAPH_DTYPE_OTHER (-1)

/* The type of an op's non-tensor argument, as the op's schema gives it. */
enum graph_value_type {
	GRAPH_NONE = 0,   /* None: an optional argument not given (a bias=None) */
	GRAPH_BOOL,
	GRAPH_INT,        /* int, SymInt, an int Scalar */
	GRAPH_FLOAT,      /* float, a float Scalar; may be +-inf or NaN */
	GRAPH_INTS,       /* int[] (dims, stride, padding, a shape) */
	GRAPH_FLOATS,     /* float[] */
	GRAPH_STRING,     /* str and enum-like arguments (dtype "f32", reduction "mean") */
};

struct graph_value {
	enum graph_value_type type;
	bool b;           /* GRAPH_BOOL */
	int64_t i;        /* GRAPH_INT */
	double f;         /* GRAPH_FLOAT */
	int n;            /* GRAPH_INTS / GRAPH_FLOATS: elements, 0..GRAPH_MAX_LIST */
	int64_t *ints;    /* GRAPH_INTS: n elements; owned, NULL when n == 0 */
	double *floats;   /* GRAPH_FLOATS: n elements; owned, NULL when n == 0 */
	char *s;          /* GRAPH_STRING: owned, at most GRAPH_MAX_NAME bytes */
};

/* One non-tensor argument of an op, named as in the op's schema. */
struct graph_attr {
	char *name;                 /* schema argument name: "dim", "keepdim", "stride"; owned */
	struct graph_value value;
};

/* One tensor argument of an op. A Tensor[] argument (aten.cat's "tensors")
 * gives one graph_arg per element, in order, all under the same name. */
struct graph_arg {
	char *name;                 /* schema argument name: "input", "weight", "self"; owned */
	int tensor;                 /* index into op_graph.tensors */
};

enum graph_tensor_kind {
	GRAPH_INPUT = 0,  /* a forward() argument */
	GRAPH_PARAM,      /* a parameter or buffer of the module */
	GRAPH_CONST,      /* neither, and made by no op (a plain tensor attribute) */
	GRAPH_INTER,      /* made by an op */
};

struct graph_tensor {
	enum graph_tensor_kind kind;
	int index;        /* GRAPH_INPUT: position among the inputs; GRAPH_PARAM:
	                   * position among the params (the ABI's order); else -1 */
	int producer;     /* GRAPH_INTER: index of the op that made it; else -1 */
	char *name;       /* input or parameter name ("A", "conv.weight"), or "t<N>"; owned */
	int dtype;        /* enum kb_dtype, or GRAPH_DTYPE_OTHER */
	int ndim;         /* 0..KBREED_MAX_DIMS; 0 is a scalar */
	int64_t shape[KBREED_MAX_DIMS]; /* elements per dimension, outermost first */
};

struct graph_op {
	char *name;                 /* ATen name without overload: "aten.convolution"; owned */
	char *overload;             /* "default", "Tensor", "dim_IntList"...; owned, may be "" */
	struct graph_arg *args;     /* tensor arguments, in schema order; owned */
	int n_args;
	struct graph_attr *attrs;   /* non-tensor arguments, in schema order; owned */
	int n_attrs;
	int *outputs;               /* indices of the tensors it returns, in order; owned */
	int n_outputs;
};

struct op_graph {
	struct graph_tensor *tensors;  /* owned; see the file comment for the order */
	int n_tensors;
	int n_inputs;                  /* the first n_inputs tensors are GRAPH_INPUT */
	int n_params;                  /* the next n_params are GRAPH_PARAM */
	struct graph_op *ops;          /* owned; in execution order */
	int n_ops;
	int *outputs;                  /* the forward's results, tensor indices; owned */
	int n_outputs;
};

/* An empty graph; the caller frees it with graph_free. Aborts when out of memory, like xcalloc. */
struct op_graph *graph_new(void);
/* Frees g and everything it owns; graph_free(NULL) is a no-op. */
void graph_free(struct op_graph *g);
/* Releases a value's owned storage and zeroes it. */
void graph_value_release(struct graph_value *v);

/* Checks the invariants above (indices in range, inputs then params first,
 * every GRAPH_INTER made by exactly the op it names, before it is used).
 * Returns 0, or -1 with the first violation reported (what names the source). */
int graph_validate(const struct op_graph *g, const char *what);

/* The attribute named name of op, or NULL. */
const struct graph_attr *graph_op_attr(const struct graph_op *op, const char *name);
/* The attribute as an integer (GRAPH_INT or GRAPH_BOOL); false when absent or another type. */
bool graph_op_int(const struct graph_op *op, const char *name, int64_t *out);
/* The attribute as a number (GRAPH_INT or GRAPH_FLOAT); false when absent or another type. */
bool graph_op_float(const struct graph_op *op, const char *name, double *out);
/* The tensor index of the first tensor argument named name, or -1. */
int graph_op_arg(const struct graph_op *op, const char *name);
/* The tensor index of the k-th tensor argument (any name), or -1. */
int graph_op_input(const struct graph_op *op, int k);

/* True when name is a shape-only op (view, reshape, permute, expand,
 * unsqueeze, t, clone, contiguous, detach...) that moves no arithmetic. */
bool graph_op_is_view(const char *name);

/* Writes a readable listing of g (one line per tensor of the ABI, one per
 * op) to f. */
void graph_print(const struct op_graph *g, FILE *f);

#endif
