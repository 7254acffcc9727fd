/*
 * graph.c - the op graph of a problem's forward pass: lifetime, invariants,
 * lookups and a readable listing.
 *
 * The graph arrives from the bridge (decoded in bridge_json.c, the only
 * place that sees its JSON) and is read by recognize.c and the generators.
 * Nothing here trusts the decoder: graph_validate checks every index before
 * anyone follows it.
 */
#include "graph.h"

#include "log.h"
#include "dtype.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct op_graph *graph_new(void)
{
	return xcalloc(1, sizeof(struct op_graph));
}

void graph_value_release(struct graph_value *v)
{
	free(v->ints);
	free(v->floats);
	free(v->s);
	memset(v, 0, sizeof *v);
}

static void op_release(struct graph_op *op)
{
	free(op->name);
	free(op->overload);
	for (int i = 0; i < op->n_args; i++)
		free(op->args[i].name);
	free(op->args);
	for (int i = 0; i < op->n_attrs; i++) {
		free(op->attrs[i].name);
		graph_value_release(&op->attrs[i].value);
	}
	free(op->attrs);
	free(op->outputs);
}

void graph_free(struct op_graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_tensors; i++)
		free(g->tensors[i].name);
	free(g->tensors);
	for (int i = 0; i < g->n_ops; i++)
		op_release(&g->ops[i]);
	free(g->ops);
	free(g->outputs);
	free(g);
}

static int check_tensor(const struct op_graph *g, int i, const char *what)
{
	const struct graph_tensor *t = &g->tensors[i];
	if (t->ndim < 0 || t->ndim > KBREED_MAX_DIMS)
		return error("%s: tensor %d has %d dimensions (0..%d)", what, i, t->ndim, KBREED_MAX_DIMS);
	for (int d = 0; d < t->ndim; d++)
		if (t->shape[d] < 0)
			return error("%s: tensor %d has a negative extent", what, i);
	if (t->dtype != GRAPH_DTYPE_OTHER && (t->dtype < KB_F32 || t->dtype > KB_BOOL))
		return error("%s: tensor %d has an unknown dtype %d", what, i, t->dtype);
	enum graph_tensor_kind want = i < g->n_inputs ? GRAPH_INPUT
		: i < g->n_inputs + g->n_params ? GRAPH_PARAM : t->kind;
	if (t->kind != want || (want == GRAPH_PARAM && i < g->n_inputs))
		return error("%s: tensor %d is out of place: inputs come first, then parameters", what, i);
	if (t->kind == GRAPH_INPUT && t->index != i)
		return error("%s: input tensor %d has index %d", what, i, t->index);
	if (t->kind == GRAPH_PARAM && t->index != i - g->n_inputs)
		return error("%s: parameter tensor %d has index %d", what, i, t->index);
	if ((t->kind == GRAPH_INTER) != (t->producer >= 0))
		return error("%s: tensor %d: only tensors made by an op have a producer", what, i);
	if (t->producer >= g->n_ops)
		return error("%s: tensor %d names op %d, past the last op", what, i, t->producer);
	return 0;
}

int graph_validate(const struct op_graph *g, const char *what)
{
	int rc = 0;
	char *made = NULL;   /* made[t]: tensor t exists by the op being checked */

	if (g->n_tensors < 0 || g->n_tensors > GRAPH_MAX_TENSORS || g->n_ops < 0 ||
	    g->n_ops > GRAPH_MAX_OPS || g->n_inputs < 0 || g->n_params < 0 ||
	    g->n_inputs + g->n_params > g->n_tensors || g->n_outputs < 1 ||
	    g->n_outputs > GRAPH_MAX_TENSORS) {
		rc = error("%s: graph counts out of range (%d tensors, %d inputs, %d params, %d ops, %d outputs)",
			   what, g->n_tensors, g->n_inputs, g->n_params, g->n_ops, g->n_outputs);
		goto out;
	}
	made = xcalloc((size_t)g->n_tensors + 1, 1);
	for (int i = 0; i < g->n_tensors; i++) {
		rc = check_tensor(g, i, what);
		if (rc)
			goto out;
		made[i] = g->tensors[i].kind != GRAPH_INTER;
	}
	for (int k = 0; k < g->n_ops; k++) {
		const struct graph_op *op = &g->ops[k];
		for (int a = 0; a < op->n_args; a++) {
			int t = op->args[a].tensor;
			if (t < 0 || t >= g->n_tensors || !made[t]) {
				rc = error("%s: op %d (%s) reads tensor %d, which does not exist yet",
					   what, k, op->name, t);
				goto out;
			}
		}
		for (int o = 0; o < op->n_outputs; o++) {
			int t = op->outputs[o];
			if (t < 0 || t >= g->n_tensors || made[t] || g->tensors[t].producer != k) {
				rc = error("%s: op %d (%s) returns tensor %d, which is not its own",
					   what, k, op->name, t);
				goto out;
			}
			made[t] = 1;
		}
	}
	for (int i = 0; i < g->n_tensors; i++)
		if (!made[i]) {
			rc = error("%s: tensor %d is made by no op", what, i);
			goto out;
		}
	for (int o = 0; o < g->n_outputs; o++)
		if (g->outputs[o] < 0 || g->outputs[o] >= g->n_tensors) {
			rc = error("%s: output %d names tensor %d, which does not exist", what, o, g->outputs[o]);
			goto out;
		}
out:
	free(made);
	return rc;
}

const struct graph_attr *graph_op_attr(const struct graph_op *op, const char *name)
{
	for (int i = 0; i < op->n_attrs; i++)
		if (!strcmp(op->attrs[i].name, name))
			return &op->attrs[i];
	return NULL;
}

bool graph_op_int(const struct graph_op *op, const char *name, int64_t *out)
{
	const struct graph_attr *a = graph_op_attr(op, name);
	if (!a || (a->value.type != GRAPH_INT && a->value.type != GRAPH_BOOL))
		return false;
	*out = a->value.type == GRAPH_INT ? a->value.i : a->value.b;
	return true;
}

bool graph_op_float(const struct graph_op *op, const char *name, double *out)
{
	const struct graph_attr *a = graph_op_attr(op, name);
	if (!a || (a->value.type != GRAPH_INT && a->value.type != GRAPH_FLOAT))
		return false;
	*out = a->value.type == GRAPH_INT ? (double)a->value.i : a->value.f;
	return true;
}

int graph_op_arg(const struct graph_op *op, const char *name)
{
	for (int i = 0; i < op->n_args; i++)
		if (!strcmp(op->args[i].name, name))
			return op->args[i].tensor;
	return -1;
}

int graph_op_input(const struct graph_op *op, int k)
{
	return k >= 0 && k < op->n_args ? op->args[k].tensor : -1;
}

bool graph_op_is_view(const char *name)
{
	static const char *const views[] = {
		"aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias",
		"aten.permute", "aten.transpose", "aten.t", "aten.expand", "aten.unsqueeze",
		"aten.squeeze", "aten.clone", "aten.contiguous", "aten.detach", "aten.alias",
		"aten.slice", "aten.select", "aten.flatten", "aten.unflatten", "aten.as_strided",
		"aten._to_copy", "aten.lift_fresh", "aten.lift_fresh_copy", "aten.numpy_T",
		"aten.split", "aten.split_with_sizes", "aten.unbind", "aten.narrow", "aten.movedim",
		"aten.view_as", "aten.expand_as", "aten.reshape_as", "aten.copy_", "aten.copy",
		NULL,
	};
	for (int i = 0; views[i]; i++)
		if (!strcmp(name, views[i]))
			return true;
	return false;
}

static void print_value(const struct graph_value *v, FILE *f)
{
	switch (v->type) {
	case GRAPH_NONE: fputs("None", f); break;
	case GRAPH_BOOL: fputs(v->b ? "True" : "False", f); break;
	case GRAPH_INT: fprintf(f, "%lld", (long long)v->i); break;
	case GRAPH_FLOAT: fprintf(f, "%.9g", v->f); break;
	case GRAPH_STRING: fprintf(f, "'%s'", v->s ? v->s : ""); break;
	case GRAPH_INTS:
	case GRAPH_FLOATS:
		fputc('[', f);
		for (int i = 0; i < v->n; i++) {
			if (v->type == GRAPH_INTS)
				fprintf(f, "%s%lld", i ? ", " : "", (long long)v->ints[i]);
			else
				fprintf(f, "%s%.9g", i ? ", " : "", v->floats[i]);
		}
		fputc(']', f);
		break;
	}
}

static const char *kind_name(enum graph_tensor_kind k)
{
	switch (k) {
	case GRAPH_INPUT: return "input";
	case GRAPH_PARAM: return "param";
	case GRAPH_CONST: return "const";
	case GRAPH_INTER: return "inter";
	}
	return "?";
}

static void print_tensor_type(const struct graph_tensor *t, FILE *f)
{
	fprintf(f, "%s[", t->dtype == GRAPH_DTYPE_OTHER ? "other" : dtype_name((enum kb_dtype)t->dtype));
	for (int d = 0; d < t->ndim; d++)
		fprintf(f, "%s%lld", d ? "x" : "", (long long)t->shape[d]);
	fputc(']', f);
}

void graph_print(const struct op_graph *g, FILE *f)
{
	for (int i = 0; i < g->n_tensors; i++) {
		const struct graph_tensor *t = &g->tensors[i];
		if (t->kind == GRAPH_INTER)
			continue;
		fprintf(f, "  %%%d = %s %s ", i, kind_name(t->kind), t->name);
		print_tensor_type(t, f);
		fputc('\n', f);
	}
	for (int k = 0; k < g->n_ops; k++) {
		const struct graph_op *op = &g->ops[k];
		fputs("  ", f);
		for (int o = 0; o < op->n_outputs; o++)
			fprintf(f, "%s%%%d", o ? ", " : "", op->outputs[o]);
		fprintf(f, "%s%s(", op->n_outputs ? " = " : "", op->name);
		int first = 1;
		for (int a = 0; a < op->n_args; a++, first = 0)
			fprintf(f, "%s%s=%%%d", first ? "" : ", ", op->args[a].name, op->args[a].tensor);
		for (int a = 0; a < op->n_attrs; a++, first = 0) {
			fprintf(f, "%s%s=", first ? "" : ", ", op->attrs[a].name);
			print_value(&op->attrs[a].value, f);
		}
		fputs(")", f);
		for (int o = 0; o < op->n_outputs; o++) {
			fputs(o ? ", " : " : ", f);
			print_tensor_type(&g->tensors[op->outputs[o]], f);
		}
		fputc('\n', f);
	}
	fputs("  return", f);
	for (int o = 0; o < g->n_outputs; o++)
		fprintf(f, "%s %%%d", o ? "," : "", g->outputs[o]);
	fputc('\n', f);
}
