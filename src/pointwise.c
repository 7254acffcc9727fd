/*
 * pointwise.c - the CUDA text of pointwise ATen ops (see pointwise.h).
 *
 * One table of expressions serves two consumers: the naive generator, which
 * writes one kernel per op, and recognition, which writes a pure pointwise
 * graph as one chain of statements (KB_PW_BODY) that the pointwise template
 * inlines, so that every pointwise problem gets a vectorised kernel whose
 * body is its own expression. Arithmetic is in `real` (float for fp32, fp16
 * and bf16 graphs): for half types the chain is computed in float and
 * rounded once, at the store.
 */
#define _GNU_SOURCE
#include "pointwise.h"

#include "dtype.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PW_MAX_INPUTS 4   /* inputs the template takes: one main, the rest one element each */

static const char *base_name(const char *name)
{
	return strncmp(name, "aten.", 5) ? name : name + 5;
}

void pointwise_literal(char *out, size_t n, double v)
{
	if (isnan(v))
		snprintf(out, n, "(real)NAN");
	else if (isinf(v))
		snprintf(out, n, "(real)%sINFINITY", v < 0 ? "-" : "");
	else
		snprintf(out, n, "(real)%.17g", v);
}

static void fmt_num(char *out, size_t n, double v)
{
	pointwise_literal(out, n, v);
}

static double attr_num(const struct graph_op *op, const char *name, double dflt)
{
	double v;
	return graph_op_float(op, name, &v) ? v : dflt;
}

static const char *attr_str(const struct graph_op *op, const char *name)
{
	const struct graph_attr *a = graph_op_attr(op, name);
	return a && a->value.type == GRAPH_STRING && a->value.s ? a->value.s : NULL;
}

/* The expression of a pointwise op in x0, x1, x2 (its tensor arguments,
 * as real) and its attributes. Returns 0, or 1 when op is not pointwise. */
int pointwise_expr(const struct graph_op *op, char *e, size_t n)
{
	const char *b = base_name(op->name);
	char nb[64];
	snprintf(nb, sizeof nb, "%s", b);
	size_t l = strlen(nb);
	if (l > 1 && nb[l - 1] == '_' && nb[l - 2] != '_')
		nb[l - 1] = 0;   /* in-place twin: the graph is in SSA form */
	char a[64], c[64], d[64];
	/* The second operand: a tensor, else the "other" scalar. */
	const char *X1 = "x1";
	char other[64];
	if (op->n_args < 2) {
		fmt_num(other, sizeof other, attr_num(op, "other", 0));
		X1 = other;
	}
	fmt_num(a, sizeof a, attr_num(op, "alpha", 1));
#define IS(s) (!strcmp(nb, s))
	if (IS("relu")) snprintf(e, n, "(x0 != x0 ? x0 : (x0 > (real)0 ? x0 : (real)0))");
	else if (IS("leaky_relu")) { fmt_num(a, sizeof a, attr_num(op, "negative_slope", 0.01)); snprintf(e, n, "(x0 > (real)0 ? x0 : x0 * %s)", a); }
	else if (IS("sigmoid")) snprintf(e, n, "((real)1 / ((real)1 + exp(-x0)))");
	else if (IS("tanh")) snprintf(e, n, "tanh(x0)");
	else if (IS("gelu")) {
		const char *ap = attr_str(op, "approximate");
		if (ap && !strcmp(ap, "tanh"))
			snprintf(e, n, "((real)0.5 * x0 * ((real)1 + tanh((real)0.79788456080286536 * (x0 + (real)0.044715 * x0 * x0 * x0))))");
		else
			snprintf(e, n, "((real)0.5 * x0 * ((real)1 + erf(x0 * (real)0.70710678118654752)))");
	}
	else if (IS("silu")) snprintf(e, n, "(x0 / ((real)1 + exp(-x0)))");
	else if (IS("mish")) snprintf(e, n, "(x0 * tanh(log1p(exp(x0))))");
	else if (IS("elu")) {
		fmt_num(a, sizeof a, attr_num(op, "alpha", 1));
		fmt_num(c, sizeof c, attr_num(op, "scale", 1));
		fmt_num(d, sizeof d, attr_num(op, "input_scale", 1));
		snprintf(e, n, "(x0 > (real)0 ? x0 * %s : expm1(x0 * %s) * %s * %s)", c, d, a, c);
	}
	else if (IS("selu")) snprintf(e, n, "(x0 > (real)0 ? x0 * (real)1.0507009873554805 : expm1(x0) * (real)1.6732632423543772 * (real)1.0507009873554805)");
	else if (IS("celu")) { fmt_num(a, sizeof a, attr_num(op, "alpha", 1)); snprintf(e, n, "(x0 > (real)0 ? x0 : expm1(x0 / %s) * %s)", a, a); }
	else if (IS("hardsigmoid")) snprintf(e, n, "(x0 != x0 ? x0 : (x0 <= (real)-3 ? (real)0 : (x0 >= (real)3 ? (real)1 : x0 / (real)6 + (real)0.5)))");
	else if (IS("hardswish")) snprintf(e, n, "(x0 <= (real)-3 ? (real)0 : (x0 >= (real)3 ? x0 : x0 * (x0 + (real)3) / (real)6))");
	else if (IS("hardtanh")) {
		fmt_num(a, sizeof a, attr_num(op, "min_val", -1));
		fmt_num(c, sizeof c, attr_num(op, "max_val", 1));
		snprintf(e, n, "(x0 < %s ? %s : (x0 > %s ? %s : x0))", a, a, c, c);
	}
	else if (IS("softplus")) {
		fmt_num(a, sizeof a, attr_num(op, "beta", 1));
		fmt_num(c, sizeof c, attr_num(op, "threshold", 20));
		snprintf(e, n, "(x0 * %s > %s ? x0 : log1p(exp(x0 * %s)) / %s)", a, c, a, a);
	}
	else if (IS("abs")) snprintf(e, n, "fabs(x0)");
	else if (IS("neg")) snprintf(e, n, "(-x0)");
	else if (IS("exp")) snprintf(e, n, "exp(x0)");
	else if (IS("exp2")) snprintf(e, n, "exp2(x0)");
	else if (IS("expm1")) snprintf(e, n, "expm1(x0)");
	else if (IS("log")) snprintf(e, n, "log(x0)");
	else if (IS("log2")) snprintf(e, n, "log2(x0)");
	else if (IS("log10")) snprintf(e, n, "log10(x0)");
	else if (IS("log1p")) snprintf(e, n, "log1p(x0)");
	else if (IS("sqrt")) snprintf(e, n, "sqrt(x0)");
	else if (IS("rsqrt")) snprintf(e, n, "((real)1 / sqrt(x0))");
	else if (IS("reciprocal")) snprintf(e, n, "((real)1 / x0)");
	else if (IS("square")) snprintf(e, n, "(x0 * x0)");
	else if (IS("sin")) snprintf(e, n, "sin(x0)");
	else if (IS("cos")) snprintf(e, n, "cos(x0)");
	else if (IS("erf")) snprintf(e, n, "erf(x0)");
	else if (IS("floor")) snprintf(e, n, "floor(x0)");
	else if (IS("ceil")) snprintf(e, n, "ceil(x0)");
	else if (IS("trunc")) snprintf(e, n, "trunc(x0)");
	else if (IS("round")) snprintf(e, n, "rint(x0)");
	else if (IS("sign") || IS("sgn")) snprintf(e, n, "(x0 != x0 ? x0 : (real)((x0 > (real)0) - (x0 < (real)0)))");
	else if (IS("logical_not")) snprintf(e, n, "(real)(x0 == (real)0)");
	else if (IS("logical_and")) snprintf(e, n, "(real)(x0 != (real)0 && %s != (real)0)", X1);
	else if (IS("logical_or")) snprintf(e, n, "(real)(x0 != (real)0 || %s != (real)0)", X1);
	else if (IS("mul")) snprintf(e, n, "(x0 * %s)", X1);
	else if (IS("add")) snprintf(e, n, "(x0 + %s * %s)", a, X1);
	else if (IS("sub")) snprintf(e, n, "(x0 - %s * %s)", a, X1);
	else if (IS("rsub")) snprintf(e, n, "(%s - %s * x0)", X1, a);
	else if (IS("div")) {
		const char *m = attr_str(op, "rounding_mode");
		if (m && !strcmp(m, "trunc")) snprintf(e, n, "trunc(x0 / %s)", X1);
		else if (m && !strcmp(m, "floor")) snprintf(e, n, "floor(x0 / %s)", X1);
		else snprintf(e, n, "(x0 / %s)", X1);
	}
	else if (IS("pow")) {
		if (!strcmp(op->overload, "Tensor_Tensor")) snprintf(e, n, "pow(x0, x1)");
		else if (!strcmp(op->overload, "Scalar")) { fmt_num(a, sizeof a, attr_num(op, "self", 1)); snprintf(e, n, "pow(%s, x0)", a); }
		else {
			double p = attr_num(op, "exponent", 1);
			fmt_num(a, sizeof a, p);
			if (p == 2) snprintf(e, n, "(x0 * x0)");
			else if (p == 1) snprintf(e, n, "x0");
			else if (p == 0.5) snprintf(e, n, "sqrt(x0)");
			else snprintf(e, n, "pow(x0, %s)", a);
		}
	}
	else if (IS("clamp") || IS("clamp_min") || IS("clamp_max") || IS("clip")) {
		double lo = -INFINITY, hi = INFINITY;
		if (!IS("clamp_max")) lo = attr_num(op, "min", -INFINITY);
		if (!IS("clamp_min")) hi = attr_num(op, "max", INFINITY);
		fmt_num(a, sizeof a, lo);
		fmt_num(c, sizeof c, hi);
		snprintf(e, n, "(x0 < %s ? %s : (x0 > %s ? %s : x0))", a, a, c, c);
	}
	else if (IS("maximum") || IS("fmax")) snprintf(e, n, "(x0 != x0 ? x0 : (x1 != x1 ? x1 : (x0 > x1 ? x0 : x1)))");
	else if (IS("minimum") || IS("fmin")) snprintf(e, n, "(x0 != x0 ? x0 : (x1 != x1 ? x1 : (x0 < x1 ? x0 : x1)))");
	else if (IS("where")) snprintf(e, n, "(x0 != (real)0 ? x1 : x2)");
	else if (IS("masked_fill")) { fmt_num(a, sizeof a, attr_num(op, "value", 0)); snprintf(e, n, "(x1 != (real)0 ? %s : x0)", a); }
	else if (IS("xlogy")) snprintf(e, n, "(%s != %s ? %s : (x0 == (real)0 ? (real)0 : x0 * log(%s)))", X1, X1, X1, X1);
	else if (IS("eq")) snprintf(e, n, "(real)(x0 == %s)", X1);
	else if (IS("ne")) snprintf(e, n, "(real)(x0 != %s)", X1);
	else if (IS("gt")) snprintf(e, n, "(real)(x0 > %s)", X1);
	else if (IS("ge")) snprintf(e, n, "(real)(x0 >= %s)", X1);
	else if (IS("lt")) snprintf(e, n, "(real)(x0 < %s)", X1);
	else if (IS("le")) snprintf(e, n, "(real)(x0 <= %s)", X1);
	else if (IS("_to_copy") || IS("to") || IS("clone") || IS("contiguous") || IS("lift_fresh_copy") ||
		 IS("alias") || IS("detach") || IS("positive") || IS("_copy") || IS("type_as")) snprintf(e, n, "x0");
	else if (IS("copy")) snprintf(e, n, "x1");
	else if (IS("zeros_like") || IS("zeros") || IS("new_zeros") || IS("empty_like") || IS("empty") ||
		 IS("new_empty") || IS("zero")) snprintf(e, n, "(real)0");
	else if (IS("ones_like") || IS("ones") || IS("new_ones")) snprintf(e, n, "(real)1");
	else if (IS("full_like") || IS("full") || IS("new_full") || IS("fill")) { fmt_num(a, sizeof a, attr_num(op, IS("fill") ? "value" : "fill_value", 0)); snprintf(e, n, "%s", a); }
	else if (IS("scalar_tensor")) { fmt_num(a, sizeof a, attr_num(op, "s", 0)); snprintf(e, n, "%s", a); }
	else return 1;
#undef IS
	return 0;
}


static int64_t numel(const struct graph_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

static bool same_shape(const struct graph_tensor *a, const struct graph_tensor *b)
{
	if (a->ndim != b->ndim)
		return false;
	for (int i = 0; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return false;
	return true;
}

static bool half_or_float(int dt)
{
	return dt == KB_F32 || dt == KB_F16 || dt == KB_BF16;
}

/* The C++ name of tensor t inside KB_PW_BODY: v, s[k] or t<op>. */
static void value_name(const struct op_graph *g, int main_in, int t, char *out, size_t n)
{
	const struct graph_tensor *x = &g->tensors[t];
	if (x->kind == GRAPH_INPUT && x->index == main_in)
		snprintf(out, n, "v");
	else if (x->kind == GRAPH_INPUT)
		snprintf(out, n, "s[%d]", x->index);
	else
		snprintf(out, n, "t%d", x->producer);
}

int pointwise_body(const struct op_graph *g, struct buf *out)
{
	if (g->n_outputs != 1 || g->n_params != 0 || g->n_inputs < 1 || g->n_inputs > PW_MAX_INPUTS ||
	    g->n_ops < 1)
		return 1;
	const struct graph_tensor *y = &g->tensors[g->outputs[0]];
	if (y->kind != GRAPH_INTER || !half_or_float(y->dtype))
		return 1;
	/* The main input: the first of the output's shape and dtype; every
	 * other input holds one element. */
	int main_in = -1;
	for (int t = 0; t < g->n_tensors; t++) {
		const struct graph_tensor *x = &g->tensors[t];
		if (x->kind != GRAPH_INPUT)
			continue;
		if (main_in < 0 && same_shape(x, y) && x->dtype == y->dtype)
			main_in = x->index;
		else if (numel(x) != 1 || x->dtype == GRAPH_DTYPE_OTHER)
			return 1;
	}
	if (main_in < 0)
		return 1;
	struct buf b;
	buf_init(&b, 1u << 16);
	int rc = 0;
	buf_printf(&b, "#define KB_PW_NIN %d\n#define KB_PW_MAIN %d\n#define KB_PW_BODY", g->n_inputs, main_in);
	for (int k = 0; k < g->n_ops && !rc; k++) {
		const struct graph_op *op = &g->ops[k];
		char e[1024];
		if (op->n_outputs != 1 || op->n_args > 3 || pointwise_expr(op, e, sizeof e)) {
			rc = 1;
			break;
		}
		const struct graph_tensor *r = &g->tensors[op->outputs[0]];
		/* Each result in the output's dtype (or bool, 0 or 1 exactly): the
		 * chain runs in float, so a cast to another type, which would
		 * round or truncate on the way, is not written. */
		if (!(same_shape(r, y) || numel(r) == 1) || (r->dtype != y->dtype && r->dtype != KB_BOOL)) {
			rc = 1;
			break;
		}
		buf_printf(&b, " real t%d; {", k);
		for (int a = 0; a < op->n_args; a++) {
			char xn[4] = { 'x', (char)('0' + a), 0 }, name[32];
			const struct graph_tensor *x = &g->tensors[op->args[a].tensor];
			if (!(same_shape(x, y) || numel(x) == 1)) {
				rc = 1;
				break;
			}
			if (!strstr(e, xn))
				continue;
			value_name(g, main_in, op->args[a].tensor, name, sizeof name);
			buf_printf(&b, " real %s = %s;", xn, name);
		}
		buf_printf(&b, " t%d = %s; }", k, e);
	}
	if (!rc) {
		char name[32];
		value_name(g, main_in, g->outputs[0], name, sizeof name);
		buf_printf(&b, " return %s;\n", name);
		/* A body past the buffer's cap is not offered: better none than cut. */
		rc = b.len + 64 >= (1u << 16) ? 1 : buf_append(out, buf_str(&b), b.len) ? 1 : 0;
	}
	buf_release(&b);
	return rc;
}
