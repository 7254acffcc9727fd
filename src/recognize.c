/*
 * recognize.c - names a problem's family, op and hyper-parameters from its
 * op graph (see recognize.h).
 *
 * The graph's shape-only ops (views, permutes, copies) are set aside and the
 * rest, the compute ops, are matched family by family, most specific first:
 * attention, convolutions, pooling, losses (a scalar result), softmax, scans,
 * norms, matrix products, reductions, and last pointwise chains. Each rule
 * reads only ATen names and schema attributes, so it holds on torch 1.13 and
 * 2.x alike; where the two break an op down differently both forms are listed.
 */
#include "recognize.h"
#include "views.h"

#include "log.h"
#include "pointwise.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RECOGNIZE_MAX_DEFINES (80u << 10)   /* bytes of #define lines (a pointwise body included) */

/* The compute ops of a graph: indices into g->ops, views left out. */
struct compute {
	const struct op_graph *g;
	int *ops;
	int n;
};

static const char *const pointwise_ops[] = {
	"relu", "leaky_relu", "sigmoid", "tanh", "gelu", "elu", "selu", "celu", "hardsigmoid",
	"hardtanh", "hardswish", "relu6", "softplus", "silu", "mish", "abs", "neg", "exp", "log",
	"log1p", "expm1", "sqrt", "rsqrt", "reciprocal", "erf", "sign", "square", "add", "sub",
	"rsub", "mul", "div", "pow", "clamp", "clamp_min", "clamp_max", "where", "maximum",
	"minimum", "threshold", "fill", "zeros_like", "ones_like", "full_like", "zeros", "ones",
	"full", "empty_like", "eq", "ne", "gt", "lt", "ge", "le", "logical_not", "bitwise_not",
	"masked_fill", "lerp", "xlogy", "_to_copy", "scalar_tensor", "sin", "cos", "floor", "ceil",
	"round", "trunc", "frac", "logsigmoid", "log_sigmoid_forward", "softshrink", "hardshrink",
	"tanhshrink", "triu", "tril", NULL,
};

static const char *const reduce_ops[] = {
	"sum", "mean", "amax", "amin", "max", "min", "prod", "argmax", "argmin", "norm",
	"linalg_vector_norm", "var", "std", "var_mean", "logsumexp", NULL,
};

static bool in_list(const char *const *list, const char *name)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/* "aten.relu" -> "relu"; other namespaces keep their prefix. */
static const char *short_name(const struct graph_op *op)
{
	return strncmp(op->name, "aten.", 5) ? op->name : op->name + 5;
}

static const struct graph_op *cop(const struct compute *c, int k)
{
	return &c->g->ops[c->ops[k]];
}

static int count(const struct compute *c, const char *name)
{
	int n = 0;
	for (int k = 0; k < c->n; k++)
		n += !strcmp(short_name(cop(c, k)), name);
	return n;
}

static const struct graph_op *find(const struct compute *c, const char *name)
{
	for (int k = 0; k < c->n; k++)
		if (!strcmp(short_name(cop(c, k)), name))
			return cop(c, k);
	return NULL;
}

static bool has(const struct compute *c, const char *name)
{
	return find(c, name) != NULL;
}

static bool all_in(const struct compute *c, const char *const *a, const char *const *b)
{
	for (int k = 0; k < c->n; k++) {
		const char *s = short_name(cop(c, k));
		if (!in_list(a, s) && !(b && in_list(b, s)))
			return false;
	}
	return true;
}

/* The op that made tensor t, or NULL for an input, a parameter or a constant. */
static const struct graph_op *producer(const struct op_graph *g, int t)
{
	if (t < 0 || t >= g->n_tensors || g->tensors[t].kind != GRAPH_INTER)
		return NULL;
	return &g->ops[g->tensors[t].producer];
}

/* The graph tensor a view chain starts from: follows shape-only ops back. */
static int view_source(const struct op_graph *g, int t)
{
	for (int guard = 0; guard < GRAPH_MAX_OPS && g->tensors[t].kind == GRAPH_INTER; guard++) {
		const struct graph_op *op = &g->ops[g->tensors[t].producer];
		if (!graph_op_is_view(op->name) || op->n_args < 1)
			break;
		t = op->args[0].tensor;
	}
	return t;
}

/* True when only views that keep the elements' order (view_is_reshape:
 * no permute, slice or expand) lie between tensor t and where it came from. */
static bool only_reshapes(const struct op_graph *g, int t)
{
	for (int guard = 0; guard < GRAPH_MAX_OPS && g->tensors[t].kind == GRAPH_INTER; guard++) {
		const struct graph_op *op = &g->ops[g->tensors[t].producer];
		if (!graph_op_is_view(op->name) || op->n_args < 1)
			break;
		if (!view_is_reshape(op->name))
			return false;
		t = op->args[0].tensor;
	}
	return true;
}

/* ---- #define lines ---- */

static void def_int(struct buf *b, const char *name, int64_t v)
{
	buf_printf(b, "#define %s %lld\n", name, (long long)v);
}

static void def_float(struct buf *b, const char *name, double v)
{
	if (isfinite(v))
		buf_printf(b, "#define %s %.9g\n", name, v);
	else
		buf_printf(b, "#define %s %s\n", name, isnan(v) ? "(0.0f/0.0f)" : v > 0 ? "INFINITY" : "(-INFINITY)");
}

/* Per-axis values v[0..dims) as NAME_D/_H/_W (the last `dims` axes), and
 * NAME itself when they are all equal. */
static void def_values(struct buf *b, const char *name, int dims, const int64_t *v)
{
	static const char *const axes[] = { "D", "H", "W" };
	bool same = true;
	for (int d = 1; d < dims; d++)
		same &= v[d] == v[0];
	if (same)
		def_int(b, name, v[0]);
	for (int d = 0; d < dims; d++) {
		char full[64];
		snprintf(full, sizeof full, "%s_%s", name, axes[3 - dims + d]);
		def_int(b, full, v[d]);
	}
}

/* An int or int[] attribute, spatial dims deep, into v[0..dims) (the last
 * `dims` entries; one int stands for every axis; fallback where absent). */
static void axes_values(const struct graph_op *op, const char *attr, int dims, int64_t fallback,
			int64_t v[3])
{
	const struct graph_attr *a = graph_op_attr(op, attr);
	for (int d = 0; d < 3; d++)
		v[d] = fallback;
	for (int d = 0; d < dims && d < 3; d++) {
		if (a && a->value.type == GRAPH_INT)
			v[d] = a->value.i;
		else if (a && a->value.type == GRAPH_INTS && a->value.n > 0)
			v[d] = a->value.ints[a->value.n - dims + d >= 0 ? a->value.n - dims + d
					     : a->value.n - 1];
	}
}

/* That attribute as def_values writes it. */
static void def_axes(struct buf *b, const struct graph_op *op, const char *attr,
		     const char *name, int dims, int64_t fallback)
{
	int64_t v[3];
	if (dims < 1 || dims > 3)
		return;
	axes_values(op, attr, dims, fallback, v);
	def_values(b, name, dims, v);
}

/* The first int of an int or int[] attribute (a reduction's dim). */
static bool first_int(const struct graph_op *op, const char *attr, int64_t *out)
{
	const struct graph_attr *a = graph_op_attr(op, attr);
	if (a && a->value.type == GRAPH_INT) {
		*out = a->value.i;
		return true;
	}
	if (a && a->value.type == GRAPH_INTS && a->value.n >= 1) {
		*out = a->value.ints[0];
		return true;
	}
	return false;
}

static void set(struct recognition *r, const char *family, const char *op)
{
	r->family = xstrdup(family);
	r->op = xstrdup(op);
}

static const char *dtype_suffix(const struct op_graph *g)
{
	return g->n_inputs > 0 && g->tensors[0].dtype == KB_F16 ? "_fp16"
		: g->n_inputs > 0 && g->tensors[0].dtype == KB_BF16 ? "_bf16" : "_fp32";
}

/* ---- the families ---- */

static bool is_sdpa(const struct graph_op *op)
{
	return !strncmp(short_name(op), "_scaled_dot_product", 19) ||
	       !strcmp(short_name(op), "scaled_dot_product_attention");
}

/* Whether op (a mul or div) applies a constant the graph does not record:
 * a 0-dim tensor that no op made (a number wrapped as a tensor). */
static bool unknown_constant(const struct op_graph *g, const struct graph_op *op)
{
	for (int a = 0; a < op->n_args; a++) {
		const struct graph_tensor *t = &g->tensors[op->args[a].tensor];
		if (t->kind == GRAPH_CONST && t->ndim == 0)
			return true;
	}
	return false;
}

/* Whether tensor t is the scalar v: a 0-dim tensor made by scalar_tensor
 * with that value (or, where the op took it as a number, attr of op). */
static bool scalar_is(const struct op_graph *g, const struct graph_op *op, const char *arg, double v)
{
	double x;
	int t = graph_op_arg(op, arg);
	if (t < 0)
		return graph_op_float(op, arg, &x) && x == v;
	const struct graph_op *made = producer(g, t);
	return made && !strcmp(short_name(made), "scalar_tensor") && g->tensors[t].ndim == 0 &&
	       graph_op_float(made, "s", &x) && x == v;
}

/* Whether the masking ops of a decomposed attention are exactly the causal
 * mask of torch's math path for is_causal=True: ones(Sq, Sk), its tril
 * (diagonal 0), where(tril, 0, -inf), added once to the scores. Key j is
 * then seen by query i where j <= i (the top-left diagonal, for any Sq and
 * Sk), as the templates' ATTN_CAUSAL computes. */
static bool causal_mask(const struct compute *c)
{
	const struct op_graph *g = c->g;
	if (count(c, "ones") != 1 || count(c, "tril") != 1 || count(c, "where") != 1 || count(c, "add") != 1 ||
	    g->n_inputs != 3 || g->tensors[0].ndim < 2 || g->tensors[1].ndim < 2)
		return false;
	const struct graph_op *tril = find(c, "tril"), *where = find(c, "where"), *add = find(c, "add");
	const struct graph_op *ones = producer(g, graph_op_input(tril, 0));
	int64_t diagonal = 0;
	double alpha = 1;
	if (!ones || strcmp(short_name(ones), "ones") || ones->n_outputs != 1 || tril->n_outputs != 1 ||
	    where->n_outputs != 1 || (graph_op_attr(tril, "diagonal") && !graph_op_int(tril, "diagonal", &diagonal)) ||
	    diagonal != 0 || (graph_op_attr(add, "alpha") && !graph_op_float(add, "alpha", &alpha)) || alpha != 1)
		return false;
	const struct graph_tensor *m = &g->tensors[ones->outputs[0]];
	const struct graph_tensor *q = &g->tensors[0], *k = &g->tensors[1];
	if (m->ndim != 2 || m->shape[0] != q->shape[q->ndim - 2] || m->shape[1] != k->shape[k->ndim - 2])
		return false;
	if (graph_op_arg(where, "condition") != tril->outputs[0] || !scalar_is(g, where, "self", 0) ||
	    !scalar_is(g, where, "other", -INFINITY))
		return false;
	return add->n_args == 2 && (add->args[0].tensor == where->outputs[0]) != (add->args[1].tensor == where->outputs[0]);
}

/* Whether an attention graph computes what the flash templates do:
 * softmax(q k^T * scale [+ causal mask]) v of its three inputs, no other
 * mask, no dropout; *causal and *scale say which (scale 0: the default,
 * 1/sqrt(D)). A fused SDPA op says all of this in its arguments. A
 * decomposed one (PyTorch's math path on the meta device, with
 * _safe_softmax; or attention written out) shows a mask as the ops that make
 * or apply one (only torch's causal mask, causal_mask above, is taken),
 * dropout as its own ops, and its scale as the constants its muls and divs
 * apply (the math path scales q and k^T by D^-1/4 each, or by scale^1/2):
 * their product is the scale. Where a constant was recorded as a tensor
 * without its value, the scale is not known here and is taken as the
 * default (the judge finds a wrong one). The templates' online softmax
 * needs a positive scale. */
static bool attention_form(const struct compute *c, bool *causal, double *scale)
{
	/* Ops that make or apply a mask or a bias (torch 2.11's math path adds
	 * an attn_mask, or its causal mask made by ones, tril and where, to the
	 * scores), and dropout's. */
	static const char *const masking[] = {
		"tril", "triu", "where", "masked_fill", "add", "sub", "dropout", "native_dropout", "bernoulli",
		"rand_like", "randn_like", NULL,
	};
	*causal = false;
	*scale = 0;
	/* The templates take exactly q, k and v (a mask or a bias as a fourth
	 * input is not theirs to apply). */
	if (c->g->n_inputs != 3)
		return false;
	bool fused = false, unknown = false, masked = false;
	double factor = 1, fused_scale = 0;
	for (int k = 0; k < c->n; k++) {
		const struct graph_op *op = cop(c, k);
		const char *name = short_name(op);
		double v = 0;
		masked |= in_list(masking, name);
		if (!strcmp(name, "mul") && graph_op_float(op, "other", &v))
			factor *= v;
		else if (!strcmp(name, "div") && graph_op_float(op, "other", &v))
			factor = v != 0 ? factor / v : 0;
		else if (!strcmp(name, "mul") || !strcmp(name, "div"))
			unknown |= unknown_constant(c->g, op);
		if (!is_sdpa(op))
			continue;
		fused = true;
		int64_t is_causal = 0;
		double dropout = 0;
		const struct graph_attr *sc = graph_op_attr(op, "scale");
		if ((graph_op_float(op, "dropout_p", &dropout) && dropout != 0) || graph_op_arg(op, "attn_mask") >= 0 ||
		    graph_op_arg(op, "attn_bias") >= 0)
			return false;
		if (sc && sc->value.type != GRAPH_NONE &&
		    (!graph_op_float(op, "scale", &fused_scale) || !(fused_scale > 0 && isfinite(fused_scale))))
			return false;  /* scale=0 is uniform weights, not the default */
		*causal |= graph_op_int(op, "is_causal", &is_causal) && is_causal;
	}
	if (masked) {
		if (fused || !causal_mask(c))
			return false;
		*causal = true;
	}
	if (fused && (factor != 1 || unknown))
		return false;
	if (unknown || (fused && fused_scale == 0))
		return true;
	const struct op_graph *g = c->g;
	if (g->n_inputs < 1 || g->tensors[0].ndim < 1 || g->tensors[0].shape[g->tensors[0].ndim - 1] < 1)
		return false;
	double s = fused ? fused_scale : factor;
	if (!(s > 0 && isfinite(s)))
		return false;
	/* the default where it is 1/sqrt(D) to float precision */
	if (fabs(s * sqrt((double)g->tensors[0].shape[g->tensors[0].ndim - 1]) - 1) >= 1e-5)
		*scale = s;
	return true;
}

/* Attention: "attention_fp16" or "attention_bf16" where the flash
 * templates compute it (attention_form: plain, or causal or scaled as
 * ATTN_CAUSAL and ATTN_SCALE say; bf16 as ATTN_BF16 says; ATTN_HEAD_DIM,
 * q's last dim, keeps the templates' kernels to those of this head dim),
 * "attention"
 * where it is plain in fp32, "attention_masked" otherwise (masked, with
 * dropout, or causal or scaled in fp32): no template serves those yet, so
 * they run from their generated kernel. */
static bool attention(const struct compute *c, struct recognition *r, struct buf *b)
{
	bool sdpa = false;
	for (int k = 0; k < c->n; k++)
		sdpa |= is_sdpa(cop(c, k));
	int mms = count(c, "bmm") + count(c, "matmul") + count(c, "baddbmm");
	if (!sdpa && !(mms >= 2 && (has(c, "_softmax") || has(c, "softmax") || has(c, "_safe_softmax"))))
		return false;
	bool causal;
	double scale;
	bool form = attention_form(c, &causal, &scale);
	const char *dtype = dtype_suffix(c->g);
	if (form && (!strcmp(dtype, "_fp16") || !strcmp(dtype, "_bf16"))) {
		bool bf16 = !strcmp(dtype, "_bf16");
		set(r, "attention", bf16 ? "attention_bf16" : "attention_fp16");
		if (bf16)
			def_int(b, "ATTN_BF16", 1);
		if (causal)
			def_int(b, "ATTN_CAUSAL", 1);
		if (scale != 0)
			def_float(b, "ATTN_SCALE", scale);
		const struct graph_tensor *q = &c->g->tensors[0];
		if (q->ndim >= 1 && q->shape[q->ndim - 1] >= 1)
			def_int(b, "ATTN_HEAD_DIM", q->shape[q->ndim - 1]);
	} else {
		set(r, "attention", form && !causal && scale == 0 ? "attention" : "attention_masked");
	}
	return true;
}

/* An int or int[] attribute whose every entry is want (absent: the default
 * dflt stands for it). */
static bool ints_all(const struct graph_op *op, const char *attr, int64_t want, int64_t dflt)
{
	const struct graph_attr *a = graph_op_attr(op, attr);
	if (!a || a->value.type == GRAPH_NONE)
		return want == dflt;
	if (a->value.type == GRAPH_INT)
		return a->value.i == want;
	if (a->value.type != GRAPH_INTS)
		return false;
	for (int i = 0; i < a->value.n; i++)
		if (a->value.ints[i] != want)
			return false;
	return true;
}

/* Whether the graph is exactly a depthwise conv dw (the first compute op)
 * feeding a pointwise one: a 1x1 window, stride 1, no padding, groups 1,
 * over every channel dw makes; the forward's one input into dw, and the
 * parameters in the order the fused template reads them (dw's weight and
 * bias, then the pointwise's). Sets *pw to the pointwise conv. */
static bool separable(const struct compute *c, const struct graph_op *dw, const struct graph_op **pw)
{
	const struct op_graph *g = c->g;
	if (c->n != 2 || cop(c, 0) != dw || dw->n_outputs < 1)
		return false;
	const struct graph_op *op = cop(c, 1);
	int x = graph_op_arg(op, "input"), w = graph_op_arg(op, "weight"), bias = graph_op_arg(op, "bias");
	int w1 = graph_op_arg(dw, "weight"), bias1 = graph_op_arg(dw, "bias"), x1 = graph_op_arg(dw, "input");
	int64_t groups = 1, transposed = 0;
	graph_op_int(op, "groups", &groups);
	graph_op_int(op, "transposed", &transposed);
	if (x < 0 || w < 0 || view_source(g, x) != dw->outputs[0] || !only_reshapes(g, x) ||
	    g->tensors[x].ndim != g->tensors[dw->outputs[0]].ndim || groups != 1 || transposed ||
	    !ints_all(op, "stride", 1, 1) || !ints_all(op, "padding", 0, 0))
		return false;
	const struct graph_tensor *tw = &g->tensors[w], *tw1 = &g->tensors[w1];
	if (tw->ndim != tw1->ndim || tw->shape[1] != tw1->shape[0])
		return false;
	for (int d = 2; d < tw->ndim; d++)
		if (tw->shape[d] != 1)
			return false;
	/* in[0] x; in[1..] dw's weight (and bias), the pointwise's weight (and bias). */
	int next = g->n_inputs;
	if (g->n_inputs != 1 || x1 < 0 || view_source(g, x1) != 0 || w1 != next++ ||
	    (bias1 >= 0 && bias1 != next++) || w != next++ || (bias >= 0 && bias != next++) ||
	    g->n_params != next - g->n_inputs)
		return false;
	*pw = op;
	return true;
}

static bool conv(const struct compute *c, struct recognition *r, struct buf *b)
{
	int n = count(c, "convolution") + count(c, "_convolution");
	if (n == 0)
		return false;
	const struct graph_op *op = find(c, "convolution");
	if (!op)
		op = find(c, "_convolution");
	const struct op_graph *g = c->g;
	int w = graph_op_arg(op, "weight"), x = graph_op_arg(op, "input");
	if (w < 0 || x < 0 || g->tensors[w].ndim < 3)
		return false;
	int dims = g->tensors[w].ndim - 2;
	int64_t groups = 1, transposed = 0;
	graph_op_int(op, "groups", &groups);
	graph_op_int(op, "transposed", &transposed);
	int64_t cin = g->tensors[x].ndim > 1 ? g->tensors[x].shape[1] : 0;
	bool pointwise = true;
	for (int d = 0; d < dims; d++)
		pointwise &= g->tensors[w].shape[2 + d] == 1;
	bool bias = graph_op_arg(op, "bias") >= 0;
	char name[64];
	const struct graph_op *pool = find(c, "max_pool2d_with_indices");
	if (!pool)
		pool = find(c, "max_pool2d");
	const struct graph_op *pw = NULL;
	if (n == 2 && groups > 1 && groups == cin && !transposed && separable(c, op, &pw)) {
		snprintf(name, sizeof name, "conv%dd_depthwise_separable", dims);
	} else if (n > 1) {
		snprintf(name, sizeof name, "conv%dd_chain", dims);
	} else if (dims == 2 && !transposed && has(c, "relu") && pool && c->n == 3) {
		snprintf(name, sizeof name, "conv2d_relu_maxpool");
	} else {
		snprintf(name, sizeof name, "conv%s%dd%s", transposed ? "_transpose" : "", dims,
			 groups > 1 && groups == cin && !transposed ? "_depthwise"
			 : pointwise && groups == 1 ? "_pointwise" : groups > 1 ? "_grouped" : "");
		for (int k = 0; k < c->n; k++)
			if (cop(c, k) != op)
				return false;   /* a conv plus other work: not one of ours */
	}
	set(r, "conv", name);
	def_int(b, "CONV_DIMS", dims);
	def_axes(b, op, "stride", "CONV_STRIDE", dims, 1);
	def_axes(b, op, "padding", "CONV_PAD", dims, 0);
	def_axes(b, op, "dilation", "CONV_DIL", dims, 1);
	/* The window, from the weight's trailing dims (Cout, Cin/groups, k...):
	 * a template that unrolls over it need not read it at run time. */
	if (dims <= 3)
		def_values(b, "CONV_KERNEL", dims, g->tensors[w].shape + 2);
	if (transposed)
		def_axes(b, op, "output_padding", "CONV_OUT_PAD", dims, 0);
	def_int(b, "CONV_GROUPS", groups);
	def_int(b, "CONV_BIAS", bias);
	def_int(b, "CONV_TRANSPOSED", transposed);
	/* A 1x1 window everywhere, stride 1, no padding, groups 1: each image a
	 * plain GEMM, weight times x's rows (conv_pointwise's requires line). */
	if (strstr(name, "_pointwise") && !transposed && ints_all(op, "stride", 1, 1) && ints_all(op, "padding", 0, 0))
		def_int(b, "CONV_POINTWISE_PLAIN", 1);
	/* A stride above 1 on some axis: CONV_STRIDED (the ideas whose boxes
	 * read a patch of inputs per patch of outputs ask for stride 1), and a
	 * transposed conv's CONV_TRANSPOSED_STRIDED: most of its taps meet no
	 * input (the ideas that split it by output phase ask). */
	if (dims <= 3) {
		int64_t stride[3];
		bool strided = false;
		axes_values(op, "stride", dims, 1, stride);
		for (int d = 0; d < dims; d++)
			strided |= stride[d] > 1;
		if (strided)
			def_int(b, "CONV_STRIDED", 1);
		if (strided && transposed)
			def_int(b, "CONV_TRANSPOSED_STRIDED", 1);
	}
	/* Input channels a group (0 where x has no batch axis: unknown). Each
	 * tap's channels fit one 16-byte copy at 4 or fewer (a first layer's
	 * colour channels): channels-last layouts that pad a group's channels
	 * to 8 or 32 multiply K by 2 to 10. At 128 or fewer a 128-channel tile
	 * of the weights fits in shared memory beside a deep ring. Start lines
	 * and ideas ask for them. */
	int64_t cin_group = g->tensors[x].ndim == dims + 2 && groups > 0 ? cin / groups : 0;
	/* Output channels a group, from the weight: (Cin, Cout/groups, k...)
	 * transposed, (Cout, Cin/groups, k...) forward. A template sizes its
	 * channel tile to it (a hint: the kernels check the shapes they get). */
	int64_t cout_group = transposed ? g->tensors[w].shape[1]
			     : groups > 0 ? g->tensors[w].shape[0] / groups : 0;
	if (cout_group > 0)
		def_int(b, "CONV_COUT_GROUP", cout_group);
	if (cin_group > 0 && cin_group <= 4)
		def_int(b, "CONV_NARROW_CIN", 1);
	if (cin_group > 0 && cin_group <= 128)
		def_int(b, "CONV_FEW_CIN", 1);
	if (pw)   /* the depthwise conv's hyper-parameters above, the pointwise's bias here */
		def_int(b, "CONV_PW_BIAS", graph_op_arg(pw, "bias") >= 0);
	if (!strcmp(name, "conv2d_relu_maxpool")) {
		def_int(b, "RELU", 1);
		def_axes(b, pool, "kernel_size", "POOL", 2, 1);
		def_axes(b, pool, "stride", "POOL_STRIDE", 2, 1);
	}
	return true;
}

static bool pool(const struct compute *c, struct recognition *r, struct buf *b)
{
	static const char *const pools[] = {
		"max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
		"max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
		"avg_pool3d", NULL,
	};
	if (c->n != 1 || !in_list(pools, short_name(cop(c, 0))))
		return false;
	const struct graph_op *op = cop(c, 0);
	const struct op_graph *g = c->g;
	/* 1-D pools reach ATen as 2-D ones over an unsqueezed input: the op's
	 * name says how many spatial dims there are, one less where its input
	 * has one dim more than the problem's. The input may be unbatched,
	 * (C, L...), or batched, (N, C, L...). */
	int src = view_source(g, op->args[0].tensor);
	const char *digit = strpbrk(short_name(op), "123");
	int dims = digit ? *digit - '0' : 0;
	if (g->tensors[op->args[0].tensor].ndim == g->tensors[src].ndim + 1)
		dims--;
	if (dims < 1 || dims > 3 || g->tensors[src].ndim < dims + 1 || g->tensors[src].ndim > dims + 2)
		return false;
	bool max = !strncmp(short_name(op), "max", 3);
	char name[32];
	snprintf(name, sizeof name, "%spool%dd", max ? "max" : "avg", dims);
	set(r, "pool", name);
	def_axes(b, op, "kernel_size", "POOL", dims, 1);
	/* stride=None reaches ATen as an empty list: the window's size. */
	const struct graph_attr *stride = graph_op_attr(op, "stride");
	bool no_stride = !stride || stride->value.type == GRAPH_NONE ||
			 (stride->value.type == GRAPH_INTS && stride->value.n == 0);
	def_axes(b, op, no_stride ? "kernel_size" : "stride", "POOL_STRIDE", dims, 1);
	def_axes(b, op, "padding", "POOL_PAD", dims, 0);
	if (max)
		def_axes(b, op, "dilation", "POOL_DIL", dims, 1);
	int64_t v = 0;
	if (graph_op_int(op, "ceil_mode", &v))
		def_int(b, "POOL_CEIL", v);
	if (!max && graph_op_int(op, "count_include_pad", &v))
		def_int(b, "POOL_COUNT_PAD", v);
	if (!max && graph_op_int(op, "divisor_override", &v))
		def_int(b, "POOL_DIVISOR", v);
	/* pool_nd computes the values, and the indices as a second result,
	 * from the one input: POOL_OP only where the graph is just that, the
	 * views between being the 1-D pools' unsqueeze and squeeze. */
	const struct graph_tensor *tx = &g->tensors[src];
	bool served = g->n_inputs == 1 && g->n_params == 0 && src == 0 && op->n_args == 1 &&
		      only_reshapes(g, op->args[0].tensor) && (tx->dtype == KB_F32 || tx->dtype == KB_F16 ||
								 tx->dtype == KB_BF16) &&
		      g->n_outputs >= 1 && g->n_outputs <= op->n_outputs && (max || g->n_outputs == 1);
	for (int k = 0; served && k < g->n_outputs; k++)
		served = view_source(g, g->outputs[k]) == op->outputs[k] && only_reshapes(g, g->outputs[k]) &&
			 g->tensors[g->outputs[k]].ndim == tx->ndim;
	if (served)
		buf_printf(b, "#define POOL_OP %s\n", max ? "POOL_OP_MAX" : "POOL_OP_AVG");
	/* The maxima's indices are a result: pool_nd's start line for 3-D
	 * pools (ROWS=0 at other settings) is not for a model that asks for
	 * them, where every ROWS is the same indexed kernel. */
	if (served && g->n_outputs == 2)
		def_int(b, "POOL_INDICES", 1);
	return true;
}

/* ---- the loss template's defines ---- */

static bool is_op(const struct graph_op *op, const char *name)
{
	return op && !strcmp(short_name(op), name);
}

/* An attribute that is absent or None (an optional argument not given). */
static bool attr_none(const struct graph_op *op, const char *name)
{
	const struct graph_attr *a = graph_op_attr(op, name);
	return !a || a->value.type == GRAPH_NONE;
}

static bool attr_is(const struct graph_op *op, const char *name, double want)
{
	double v;
	return graph_op_float(op, name, &v) && v == want;
}

/* Whether tensor t is input k as it comes: the input itself, or copies and
 * views that leave its elements in place (broadcast_tensors' expand to its
 * own shape, clone, a view to the same shape), never a permute. */
static bool is_input(const struct op_graph *g, int t, int k)
{
	static const char *const same[] = {
		"expand", "expand_as", "clone", "contiguous", "alias", "detach", "view", "reshape",
		"_unsafe_view", "lift_fresh", NULL,
	};
	const struct graph_tensor *b = &g->tensors[k];
	for (int guard = 0; guard < GRAPH_MAX_OPS && t >= 0 && t < g->n_tensors; guard++) {
		const struct graph_tensor *a = &g->tensors[t];
		if (a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim))
			return false;
		if (t == k)
			return true;
		const struct graph_op *op = producer(g, t);
		if (!op || !in_list(same, short_name(op)) || op->n_args < 1)
			return false;
		t = graph_op_input(op, 0);
	}
	return false;
}

/* An op of inputs x and y in either order (a symmetric one: sub squared, mul). */
static bool args_are(const struct op_graph *g, const struct graph_op *op, int x, int y, bool either_order)
{
	int a = graph_op_input(op, 0), b = graph_op_input(op, 1);
	return op->n_args == 2 && ((is_input(g, a, x) && is_input(g, b, y)) ||
				   (either_order && is_input(g, a, y) && is_input(g, b, x)));
}

/* An int[] attribute that names only the last of ndim dims. */
static bool last_dim(const struct graph_op *op, const char *name, int ndim)
{
	const struct graph_attr *a = graph_op_attr(op, name);
	return a && a->value.type == GRAPH_INTS && a->value.n == 1 &&
	       (a->value.ints[0] == ndim - 1 || a->value.ints[0] == -1);
}

/* max(||x||, eps) along the last dim, x being input k, as torch's
 * cosine_similarity decomposes it: sqrt(clamp_min(sum(x ** 2, dim, keepdim),
 * eps ** 2)) (torch 1.13) or clamp_min(linalg_vector_norm(x, 2, dim,
 * keepdim), eps) (torch 2); in-place forms too. Sets eps; false for
 * anything else. */
static bool clamped_norm(const struct op_graph *g, int t, int k, double *eps)
{
	const struct graph_op *op = producer(g, t);
	const int nd = g->tensors[k].ndim;
	int64_t keep = 0;
	bool sq = is_op(op, "sqrt") || is_op(op, "sqrt_");
	if (sq)
		op = producer(g, graph_op_input(op, 0));
	if (!(is_op(op, "clamp_min") || is_op(op, "clamp_min_")) || op->n_args != 1 || !graph_op_float(op, "min", eps))
		return false;
	op = producer(g, graph_op_input(op, 0));
	if (is_op(op, "clone"))   /* torch 2 clones the norm before clamping it in place */
		op = producer(g, graph_op_input(op, 0));
	if (!op || op->n_args != 1 || !graph_op_int(op, "keepdim", &keep) || !keep || !attr_none(op, "dtype"))
		return false;
	if (!sq)
		return is_op(op, "linalg_vector_norm") && attr_is(op, "ord", 2) && last_dim(op, "dim", nd) &&
		       is_input(g, graph_op_input(op, 0), k);
	if (!is_op(op, "sum") || !last_dim(op, "dim", nd) || !(*eps >= 0))
		return false;
	*eps = sqrt(*eps);
	op = producer(g, graph_op_input(op, 0));
	return is_op(op, "pow") && op->n_args == 1 && attr_is(op, "exponent", 2) && is_input(g, graph_op_input(op, 0), k);
}

/* The reduction to a scalar at the end of a decomposed loss: mean or sum of
 * all elements (no dim, no dtype), or a sum divided by in[0]'s first extent
 * (kl_div's batchmean). Returns the tensor reduced, or -1. */
static int loss_reduction(const struct op_graph *g, const struct graph_op *op, int *red)
{
	if (is_op(op, "div") && op->n_args == 1 && g->tensors[0].ndim > 0 &&
	    attr_is(op, "other", (double)g->tensors[0].shape[0]) && attr_none(op, "rounding_mode")) {
		op = producer(g, graph_op_input(op, 0));
		if (!is_op(op, "sum"))
			return -1;
		*red = 3;
	} else if (is_op(op, "mean")) {
		*red = 1;
	} else if (is_op(op, "sum")) {
		*red = 2;
	} else {
		return -1;
	}
	if (op->n_args != 1 || !attr_none(op, "dim") || !attr_none(op, "dtype"))
		return -1;
	return graph_op_input(op, 0);
}

/* cross_entropy(x, t) of (B, C) logits and (B,) int64 classes, as torch
 * decomposes it: nll_loss_forward(_log_softmax(x, 1), t), no weight, mean or
 * sum, its ignore_index. Writes the defines and returns "cross_entropy", or
 * NULL for anything else (weights, more dims, label smoothing). */
static const char *cross_entropy_defines(const struct op_graph *g, const struct graph_op *nll, struct buf *b)
{
	const struct graph_tensor *x = &g->tensors[0], *t = &g->tensors[1];
	int64_t red = 0, ignore = 0, half = 0, dim = 0;
	if (g->n_inputs != 2 || x->ndim != 2 || t->dtype != KB_I64 || t->ndim != 1 || t->shape[0] != x->shape[0])
		return NULL;
	if (nll->n_outputs < 1 || nll->outputs[0] != g->outputs[0] || graph_op_arg(nll, "weight") >= 0 ||
	    !graph_op_int(nll, "reduction", &red) || (red != 1 && red != 2) ||
	    !graph_op_int(nll, "ignore_index", &ignore) || !is_input(g, graph_op_arg(nll, "target"), 1))
		return NULL;
	const struct graph_op *ls = producer(g, graph_op_arg(nll, "self"));
	if (!(is_op(ls, "_log_softmax") || is_op(ls, "log_softmax")) || ls->n_args != 1 ||
	    !is_input(g, graph_op_input(ls, 0), 0) || !graph_op_int(ls, "dim", &dim) || (dim != 1 && dim != -1) ||
	    (graph_op_int(ls, "half_to_float", &half) && half) || !attr_none(ls, "dtype"))
		return NULL;
	buf_printf(b, "#define KB_LOSS_OP KB_LOSS_CROSS_ENTROPY\n#define KB_LOSS_REDUCTION %s\n",
		   red == 1 ? "KB_LOSS_MEAN" : "KB_LOSS_SUM");
	buf_printf(b, "#define KB_LOSS_IGNORE_INDEX (%lld)\n#define KB_LOSS_ROWS 1\n", (long long)ignore);
	return "cross_entropy";
}

/* The defines of the loss template (templates/loss/loss_reduce.cu) for a
 * graph that computes, from its inputs as they come (all of one shape and
 * one float dtype, no parameters) and to a 0-d result of that dtype, one of:
 * mse_loss, or mean/sum((x - y) ** 2); smooth_l1_loss (beta); huber_loss
 * (delta); kl_div as torch decomposes it, xlogy(t, t) - t * L or, with
 * log_target, exp(t) * (t - L), where L is in[0] or log(in[0]), reduced by
 * mean, sum or batchmean; mean/sum(clamp(1 - x * y, min=0)) (hinge); and
 * triplet_margin_loss as torch decomposes it (p = 2, eps, margin, no swap;
 * the norm along the last dim); and mean/sum(1 - cosine_similarity(x, y,
 * dim=-1)) as torch 1.13 or 2 decomposes it (KB_LOSS_ROWS then marks a loss
 * of a term per row, for the catalogue's row ideas). Anything else gets none, and the
 * template is then not offered. Returns the op that recognition names the loss
 * ("mse_loss", "huber_loss", "kl_div", "hinge_loss",
 * "triplet_margin_loss", "cosine_similarity_loss"; "cross_entropy" from
 * cross_entropy_defines), or NULL where nothing was written. */
static const char *loss_template_defines(const struct op_graph *g, struct buf *b)
{
	if (g->n_params != 0 || g->n_inputs < 2 || g->n_inputs > 3 || g->n_outputs != 1)
		return NULL;
	const struct graph_tensor *t0 = &g->tensors[0], *ty = &g->tensors[g->outputs[0]];
	if (t0->dtype != KB_F32 && t0->dtype != KB_F16 && t0->dtype != KB_BF16)
		return NULL;
	if (ty->ndim != 0 || ty->dtype != t0->dtype)
		return NULL;
	const struct graph_op *nll = producer(g, g->outputs[0]);
	if (is_op(nll, "nll_loss_forward") || is_op(nll, "nll_loss"))
		return cross_entropy_defines(g, nll, b);
	for (int i = 1; i < g->n_inputs; i++) {
		const struct graph_tensor *t = &g->tensors[i];
		if (t->dtype != t0->dtype || t->ndim != t0->ndim ||
		    memcmp(t->shape, t0->shape, sizeof(int64_t) * (size_t)t0->ndim))
			return NULL;
	}
	const struct graph_op *top = producer(g, g->outputs[0]), *op;
	if (!top)
		return NULL;
	const char *kind = NULL;
	int64_t red = 0, log_target = 0;
	double v = 0;
	bool log_input = false;
	char param[160] = "";
	if (g->n_inputs == 2 && (is_op(top, "mse_loss") || is_op(top, "smooth_l1_loss") ||
				 is_op(top, "huber_loss")) && args_are(g, top, 0, 1, true)) {
		if (!graph_op_int(top, "reduction", &red) || (red != 1 && red != 2))
			return NULL;
		kind = is_op(top, "mse_loss") ? "KB_LOSS_MSE" : is_op(top, "huber_loss") ? "KB_LOSS_HUBER"
											  : "KB_LOSS_SMOOTH_L1";
		if (is_op(top, "smooth_l1_loss")) {
			if (!graph_op_float(top, "beta", &v) || !(v >= 0))
				return NULL;
			snprintf(param, sizeof param, "#define KB_LOSS_BETA (%.17g)\n", v);
		} else if (is_op(top, "huber_loss")) {
			if (!graph_op_float(top, "delta", &v) || !(v > 0))
				return NULL;
			snprintf(param, sizeof param, "#define KB_LOSS_DELTA (%.17g)\n", v);
		}
	} else if (g->n_inputs == 2) {
		int ired = 0;
		int body = loss_reduction(g, top, &ired);
		red = ired;
		op = producer(g, body);
		if (!op)
			return NULL;
		if ((is_op(op, "pow") && op->n_args == 1 && attr_is(op, "exponent", 2)) ||
		    (is_op(op, "mul") && op->n_args == 2 && graph_op_input(op, 0) == graph_op_input(op, 1))) {
			/* (x - y) ** 2 */
			const struct graph_op *d = producer(g, graph_op_input(op, 0));
			if (!is_op(d, "sub") || !args_are(g, d, 0, 1, true) || !(attr_none(d, "alpha") || attr_is(d, "alpha", 1)))
				return NULL;
			kind = "KB_LOSS_MSE";
		} else if (is_op(op, "rsub") && op->n_args == 1 && attr_is(op, "other", 1) &&
			   (attr_none(op, "alpha") || attr_is(op, "alpha", 1))) {
			/* 1 - cosine_similarity(x, y, dim=-1): the sum along the
			 * last dim of (x / max(||x||, eps)) * (y / max(||y||, eps)) */
			const struct graph_op *sm = producer(g, graph_op_input(op, 0));
			int64_t keep = 0;
			if (!is_op(sm, "sum") || sm->n_args != 1 || !last_dim(sm, "dim", t0->ndim) ||
			    (graph_op_int(sm, "keepdim", &keep) && keep) || !attr_none(sm, "dtype") || red == 3)
				return NULL;
			const struct graph_op *m = producer(g, graph_op_input(sm, 0));
			if (!is_op(m, "mul") || m->n_args != 2)
				return NULL;
			double eps[2] = { -1, -1 };
			for (int k = 0; k < 2; k++) {
				const struct graph_op *dv = producer(g, graph_op_input(m, k));
				if (!is_op(dv, "div") || dv->n_args != 2 || !attr_none(dv, "rounding_mode") ||
				    !is_input(g, graph_op_input(dv, 0), k) || !clamped_norm(g, graph_op_input(dv, 1), k, &eps[k]))
					return NULL;
			}
			if (eps[0] != eps[1] || !isfinite(eps[0]) || t0->ndim < 1)
				return NULL;
			kind = "KB_LOSS_COSINE";
			snprintf(param, sizeof param, "#define KB_LOSS_EPS (%.17g)\n#define KB_LOSS_ROWS 1\n", eps[0]);
		} else if ((is_op(op, "clamp") && attr_is(op, "min", 0) && attr_none(op, "max")) ||
			   (is_op(op, "clamp_min") && attr_is(op, "min", 0))) {
			/* clamp(1 - x * y, min=0) */
			const struct graph_op *s = producer(g, graph_op_input(op, 0));
			if (!is_op(s, "rsub") || s->n_args != 1 || !attr_is(s, "other", 1) ||
			    !(attr_none(s, "alpha") || attr_is(s, "alpha", 1)))
				return NULL;
			const struct graph_op *m = producer(g, graph_op_input(s, 0));
			if (!is_op(m, "mul") || !args_are(g, m, 0, 1, true))
				return NULL;
			kind = "KB_LOSS_HINGE";
		} else if (is_op(op, "sub") && op->n_args == 2 && (attr_none(op, "alpha") || attr_is(op, "alpha", 1))) {
			/* xlogy(t, t) - t * L */
			const struct graph_op *xl = producer(g, graph_op_input(op, 0));
			const struct graph_op *m = producer(g, graph_op_input(op, 1));
			if (!is_op(xl, "xlogy") || !args_are(g, xl, 1, 1, false) || !is_op(m, "mul") || m->n_args != 2)
				return NULL;
			int l = is_input(g, graph_op_input(m, 0), 1) ? graph_op_input(m, 1) : graph_op_input(m, 0);
			if (!is_input(g, graph_op_input(m, 0), 1) && !is_input(g, graph_op_input(m, 1), 1))
				return NULL;
			const struct graph_op *lg = producer(g, l);
			log_input = is_op(lg, "log") && lg->n_args == 1 && is_input(g, graph_op_input(lg, 0), 0);
			if (!is_input(g, l, 0) && !log_input)
				return NULL;
			kind = "KB_LOSS_KL_DIV";
		} else if (is_op(op, "mul") && op->n_args == 2) {
			/* exp(t) * (t - L) */
			const struct graph_op *e = producer(g, graph_op_input(op, 0));
			const struct graph_op *d = producer(g, graph_op_input(op, 1));
			if (!is_op(e, "exp") || e->n_args != 1 || !is_input(g, graph_op_input(e, 0), 1) || !is_op(d, "sub") ||
			    d->n_args != 2 || !is_input(g, graph_op_input(d, 0), 1) ||
			    !(attr_none(d, "alpha") || attr_is(d, "alpha", 1)))
				return NULL;
			int l = graph_op_input(d, 1);
			const struct graph_op *lg = producer(g, l);
			log_input = is_op(lg, "log") && lg->n_args == 1 && is_input(g, graph_op_input(lg, 0), 0);
			if (!is_input(g, l, 0) && !log_input)
				return NULL;
			kind = "KB_LOSS_KL_DIV";
			log_target = 1;
		} else {
			return NULL;
		}
		if (red == 3 && strcmp(kind, "KB_LOSS_KL_DIV"))
			return NULL;
	} else {
		/* clamp_min(margin + ||a - p + eps|| - ||a - n + eps||, 0), reduced */
		int ired = 0;
		int body = loss_reduction(g, top, &ired);
		red = ired;
		op = producer(g, body);
		if (red == 3 || !((is_op(op, "clamp_min") && attr_is(op, "min", 0)) ||
				  (is_op(op, "clamp") && attr_is(op, "min", 0) && attr_none(op, "max"))))
			return NULL;
		const struct graph_op *s = producer(g, graph_op_input(op, 0));
		if (!is_op(s, "sub") || s->n_args != 2 || !(attr_none(s, "alpha") || attr_is(s, "alpha", 1)))
			return NULL;
		const struct graph_op *am = producer(g, graph_op_input(s, 0));
		double margin = 0, eps[2] = { 0, 0 };
		if (!is_op(am, "add") || am->n_args != 1 || !graph_op_float(am, "other", &margin) ||
		    !(attr_none(am, "alpha") || attr_is(am, "alpha", 1)))
			return NULL;
		int norms[2] = { graph_op_input(am, 0), graph_op_input(s, 1) };
		for (int k = 0; k < 2; k++) {
			/* ||a - in[k + 1] + eps||_2 along the last dim */
			const struct graph_op *n = producer(g, norms[k]);
			const struct graph_attr *dim = n ? graph_op_attr(n, "dim") : NULL;
			int64_t keep = 0;
			if (!(is_op(n, "norm") && attr_is(n, "p", 2)) && !(is_op(n, "linalg_vector_norm") && attr_is(n, "ord", 2)))
				return NULL;
			if (n->n_args != 1 || !dim || dim->value.type != GRAPH_INTS || dim->value.n != 1 ||
			    (dim->value.ints[0] != t0->ndim - 1 && dim->value.ints[0] != -1) ||
			    (graph_op_int(n, "keepdim", &keep) && keep) || !attr_none(n, "dtype") || t0->ndim < 1)
				return NULL;
			const struct graph_op *e = producer(g, graph_op_input(n, 0));
			if (!is_op(e, "add") || e->n_args != 1 || !graph_op_float(e, "other", &eps[k]) ||
			    !(attr_none(e, "alpha") || attr_is(e, "alpha", 1)))
				return NULL;
			const struct graph_op *d = producer(g, graph_op_input(e, 0));
			if (!is_op(d, "sub") || !args_are(g, d, 0, k + 1, false) || !(attr_none(d, "alpha") || attr_is(d, "alpha", 1)))
				return NULL;
		}
		if (eps[0] != eps[1] || !isfinite(margin) || !isfinite(eps[0]))
			return NULL;
		kind = "KB_LOSS_TRIPLET";
		snprintf(param, sizeof param, "#define KB_LOSS_MARGIN (%.17g)\n#define KB_LOSS_EPS (%.17g)\n"
			 "#define KB_LOSS_ROWS 1\n", margin, eps[0]);
	}
	buf_printf(b, "#define KB_LOSS_OP %s\n", kind);
	buf_printf(b, "#define KB_LOSS_REDUCTION %s\n",
		   red == 1 ? "KB_LOSS_MEAN" : red == 2 ? "KB_LOSS_SUM" : "KB_LOSS_BATCHMEAN");
	buf_printf(b, "%s", param);
	if (!strcmp(kind, "KB_LOSS_KL_DIV")) {
		def_int(b, "KB_LOSS_LOG_INPUT", log_input);
		def_int(b, "KB_LOSS_LOG_TARGET", log_target);
	}
	static const char *const names[][2] = {
		{ "KB_LOSS_MSE", "mse_loss" }, { "KB_LOSS_SMOOTH_L1", "huber_loss" },
		{ "KB_LOSS_HUBER", "huber_loss" }, { "KB_LOSS_KL_DIV", "kl_div" },
		{ "KB_LOSS_HINGE", "hinge_loss" }, { "KB_LOSS_TRIPLET", "triplet_margin_loss" },
		{ "KB_LOSS_COSINE", "cosine_similarity_loss" },
	};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if (!strcmp(kind, names[k][0]))
			return names[k][1];
	return NULL;
}

static bool loss(const struct compute *c, struct recognition *r, struct buf *b)
{
	const struct op_graph *g = c->g;
	if (g->n_outputs != 1 || g->tensors[g->outputs[0]].ndim != 0 || c->n == 0)
		return false;
	const char *op = NULL;
	int norms = count(c, "norm") + count(c, "linalg_vector_norm");
	if (has(c, "mse_loss") || (c->n <= 4 && has(c, "sub") && (has(c, "pow") || has(c, "square")) &&
				  has(c, "mean")))
		op = "mse_loss";
	else if (has(c, "smooth_l1_loss") || has(c, "huber_loss"))
		op = "huber_loss";
	else if (has(c, "nll_loss") || has(c, "nll_loss_forward") || has(c, "cross_entropy_loss"))
		op = "cross_entropy";
	else if (has(c, "kl_div") || has(c, "xlogy"))
		op = "kl_div";
	else if (has(c, "triplet_margin_loss") || (norms >= 2 && (has(c, "clamp_min") || has(c, "clamp"))))
		op = "triplet_margin_loss";
	else if (has(c, "cosine_similarity") || ((norms >= 1 || has(c, "sqrt")) && has(c, "sum") &&
						 has(c, "div") && !has(c, "clamp_min") && !has(c, "clamp")))
		op = "cosine_similarity_loss";
	else if ((has(c, "clamp_min") || has(c, "clamp") || has(c, "relu")) && has(c, "mul") &&
		 has(c, "mean"))
		op = "hinge_loss";
	/* A loss the template computes is named by the exact match (kl_div
	 * with log_target decomposes to exp, sub and mul, which the rules
	 * above do not know). */
	struct buf t;
	buf_init(&t, 1024);
	const char *exact = loss_template_defines(g, &t);
	if (exact)
		op = exact;
	if (!op) {
		buf_release(&t);
		return false;
	}
	set(r, "loss", op);
	const struct graph_op *hl = find(c, "smooth_l1_loss");
	double v;
	if (hl && graph_op_float(hl, "beta", &v))
		def_float(b, "LOSS_BETA", v);
	hl = find(c, "huber_loss");
	if (hl && graph_op_float(hl, "delta", &v))
		def_float(b, "LOSS_DELTA", v);
	if (t.len)
		buf_printf(b, "%s", buf_str(&t));
	buf_release(&t);
	return true;
}

static bool softmax(const struct compute *c, struct recognition *r, struct buf *b)
{
	if (c->n != 1)
		return false;
	const struct graph_op *op = cop(c, 0);
	const char *s = short_name(op);
	bool log = !strcmp(s, "_log_softmax") || !strcmp(s, "log_softmax");
	if (!log && strcmp(s, "_softmax") && strcmp(s, "softmax"))
		return false;
	set(r, "softmax", log ? "log_softmax" : "softmax");
	int64_t dim = -1;
	if (first_int(op, "dim", &dim))
		def_int(b, "SOFTMAX_DIM", dim);
	if (log)
		def_int(b, "SOFTMAX_LOG", 1);
	/* The softmax axis innermost (nothing but extents of 1 after it): rows
	 * for the row and cluster templates; a strided axis gets the ideas for
	 * columns. */
	int x = graph_op_input(op, 0);
	if (x >= 0) {
		const struct graph_tensor *tx = &c->g->tensors[x];
		int64_t d = dim < 0 ? dim + tx->ndim : dim, inner = 1;
		for (int64_t k = d + 1; k < tx->ndim; k++)
			inner *= tx->shape[k];
		if (d >= 0 && d < tx->ndim && inner == 1)
			def_int(b, "SOFTMAX_INNERMOST", 1);
	}
	return true;
}

static bool scan(const struct compute *c, struct recognition *r, struct buf *b)
{
	const struct graph_op *op = find(c, "cumsum");
	if (!op)
		op = find(c, "cumprod");
	if (!op)
		return false;
	static const char *const extra[] = { "flip", "cat", "mul", "sub", "zeros_like", "zeros",
					     "where", "masked_fill", "cumsum", "cumprod", "fill", NULL };
	if (!all_in(c, extra, NULL))
		return false;
	const struct op_graph *g = c->g;
	char name[48];
	const char *base = short_name(op);
	bool masked = false;
	for (int i = 0; i < g->n_inputs; i++)
		masked |= g->tensors[i].dtype == KB_BOOL;
	const char *variant = has(c, "flip") ? "_reverse"
		: masked ? "_masked"
		: has(c, "cat") || has(c, "sub") ? "_exclusive" : "";
	snprintf(name, sizeof name, "%s%s", base, variant);
	set(r, "scan", name);
	int64_t dim = 0;
	if (first_int(op, "dim", &dim))
		def_int(b, "SCAN_DIM", dim);
	/* The variant for templates, which see defines, not names. */
	if (!strcmp(base, "cumprod"))
		def_int(b, "SCAN_PROD", 1);
	if (*variant)
		def_int(b, variant[1] == 'r' ? "SCAN_REVERSE" : variant[1] == 'm' ? "SCAN_MASKED" : "SCAN_EXCLUSIVE", 1);
	return true;
}

/* Whether the graph is exactly input 0 divided by its L1 norm (abs, sum) or
 * its L2 norm (norm or linalg_vector_norm, p 2) over one dim with keepdim,
 * and nothing else: 1 or 2, or 0 where it is anything else. */
static int rownorm_plain(const struct compute *c, const char *name, const struct graph_op *n2,
			 const struct graph_op *div)
{
	const struct op_graph *g = c->g;
	if (!div || div->n_args != 2 || g->n_inputs != 1 || g->n_params != 0 || g->outputs[0] != div->outputs[0])
		return 0;
	const int x = div->args[0].tensor;
	if (g->tensors[x].kind != GRAPH_INPUT || g->tensors[x].index != 0)
		return 0;
	const struct graph_op *red = NULL;
	int want = 0, src = -1;
	if (!strcmp(name, "l1norm") && c->n == 3 && has(c, "abs") && (red = find(c, "sum"))) {
		const struct graph_op *ab = find(c, "abs");
		if (ab->n_args != 1 || ab->args[0].tensor != x || red->n_args != 1 ||
		    red->args[0].tensor != ab->outputs[0])
			return 0;
		want = 1;
		src = x;
	} else if (!strcmp(name, "l2norm") && c->n == 2 && n2 && n2->n_args == 1) {
		double p = 2.0, ord = 2.0; /* norm's p, linalg_vector_norm's ord */
		if ((graph_op_attr(n2, "p") && (!graph_op_float(n2, "p", &p) || p != 2.0)) ||
		    (graph_op_attr(n2, "ord") && (!graph_op_float(n2, "ord", &ord) || ord != 2.0)))
			return 0;
		red = n2;
		want = 2;
		src = n2->args[0].tensor;
	}
	if (!want || src != x || div->args[1].tensor != red->outputs[0])
		return 0;
	const struct graph_attr *d = graph_op_attr(red, "dim");
	int64_t keep = 0;
	if (!d || d->value.type != GRAPH_INTS || d->value.n != 1 || !graph_op_int(red, "keepdim", &keep) || !keep)
		return 0;
	return want;
}

static bool norm(const struct compute *c, struct recognition *r, struct buf *b)
{
	const struct graph_op *op;
	double eps;
	if ((op = find(c, "native_layer_norm"))) {
		set(r, "norm", "layernorm");
		if (graph_op_float(op, "eps", &eps))
			def_float(b, "NORM_EPS", eps);
		return true;
	}
	if ((op = find(c, "native_batch_norm")) || (op = find(c, "_native_batch_norm_legit")) ||
	    (op = find(c, "_native_batch_norm_legit_functional")) ||
	    (op = find(c, "_native_batch_norm_legit_no_training"))) {
		/* instance_norm reaches ATen as a batch norm over (1, N*C, ...). */
		int src = view_source(c->g, op->args[0].tensor);
		bool instance = src != op->args[0].tensor;
		int64_t training = 0;
		graph_op_int(op, "training", &training);
		set(r, "norm", instance ? "instancenorm" : "batchnorm");
		def_int(b, "NORM_TRAINING", training);
		/* For templates: an instance norm's statistics are over the
		 * batch norm's spatial dims, the last ndim - 2 of x. */
		if (instance && c->g->tensors[op->args[0].tensor].ndim > 2)
			def_int(b, "NORM_INSTANCE", c->g->tensors[op->args[0].tensor].ndim - 2);
		if (graph_op_float(op, "eps", &eps))
			def_float(b, "NORM_EPS", eps);
		return true;
	}
	if ((op = find(c, "native_group_norm"))) {
		int64_t groups = 1;
		set(r, "norm", "groupnorm");
		if (graph_op_int(op, "group", &groups))
			def_int(b, "NORM_GROUPS", groups);
		if (graph_op_float(op, "eps", &eps))
			def_float(b, "NORM_EPS", eps);
		return true;
	}
	/* Normalisations written out: a statistic of x, then x divided by it. */
	if (!(has(c, "div") || has(c, "mul")) || c->g->n_outputs != 1 ||
	    c->g->tensors[c->g->outputs[0]].ndim == 0)
		return false;
	static const char *const parts[] = { "abs", "sum", "mean", "pow", "mul", "div", "sqrt",
					     "rsqrt", "add", "norm", "linalg_vector_norm", "square",
					     "clamp_min", "clamp", "sub", NULL };
	if (!all_in(c, parts, NULL))
		return false;
	const struct graph_op *n2 = find(c, "norm");
	if (!n2)
		n2 = find(c, "linalg_vector_norm");
	const char *name = NULL;
	int64_t dim = 0;
	if (n2) {
		const struct graph_attr *d = graph_op_attr(n2, "dim");
		int nd = n2->n_args > 0 ? c->g->tensors[n2->args[0].tensor].ndim : -1;
		bool all = !d || d->value.type == GRAPH_NONE ||
			   (d->value.type == GRAPH_INTS && (d->value.n == 0 || d->value.n == nd));
		name = all ? "frobenius_norm" : "l2norm";
		if (!all && first_int(n2, "dim", &dim))
			def_int(b, "NORM_DIM", dim);
	} else if (has(c, "abs") && (has(c, "sum") || has(c, "mean"))) {
		name = "l1norm";
	} else if ((has(c, "pow") || has(c, "square") || count(c, "mul") >= 2) && has(c, "mean") &&
		   (has(c, "sqrt") || has(c, "rsqrt"))) {
		name = "rmsnorm";
	} else if (has(c, "sqrt") && has(c, "sum")) {
		name = "l2norm";
	}
	if (!name)
		return false;
	const struct graph_op *red = find(c, "mean");
	if (!red)
		red = find(c, "sum");
	if (!n2 && red && first_int(red, "dim", &dim))
		def_int(b, "NORM_DIM", dim);
	const struct graph_op *add = find(c, "add");
	if (add && graph_op_float(add, "other", &eps))
		def_float(b, "NORM_EPS", eps);
	/* Exactly x / ||x||_F (templates/norm/frobenius.cu): the norm (p 2) of
	 * input 0 over every element and the division of input 0 by it. */
	const struct graph_op *div = find(c, "div");
	double p = 2.0;
	/* Exactly x / sum(|x|, dim, keepdim) or x / ||x||_2 over one dim, keepdim
	 * (templates/norm/rownorm.cu): NORM_ROW_P is 1 or 2. */
	int p_row = rownorm_plain(c, name, n2, div);
	if (p_row)
		def_int(b, "NORM_ROW_P", p_row);
	if (!strcmp(name, "frobenius_norm") && c->n == 2 && div && div->n_args == 2 && n2->n_args == 1 &&
	    (!graph_op_attr(n2, "p") || graph_op_float(n2, "p", &p)) && p == 2.0 &&
	    div->args[1].tensor == n2->outputs[0] && c->g->outputs[0] == div->outputs[0] &&
	    n2->args[0].tensor == div->args[0].tensor && c->g->tensors[div->args[0].tensor].kind == GRAPH_INPUT &&
	    c->g->tensors[div->args[0].tensor].index == 0 && c->g->n_inputs == 1 && c->g->n_params == 0)
		def_int(b, "NORM_FRO_PLAIN", 1);
	set(r, "norm", name);
	return true;
}

/* How a matrix product's operands and result lie in memory, as the matmul
 * templates take them: A stored (..., M, K) or, transposed, (..., K, M); B
 * (..., K, N) or (..., N, K); the result (..., M, N). Found by following
 * the views between the stored tensors (inputs 0 and 1) and the product
 * (op, whose operands are args a and b, its result res), and between res
 * and the forward's one output. False when they lie otherwise (operands
 * swapped, a slice, a dim reordered in another way). */
static bool mm_layout(const struct op_graph *g, int a, int b, int res, bool *ta, bool *tb)
{
	struct view_dims da, db;
	int sa, sb, so;
	if (g->n_outputs != 1 || !view_dims_of(g, a, -1, &sa, &da) || !view_dims_of(g, b, -1, &sb, &db) ||
	    !view_keeps_order(g, g->outputs[0], res, &so) || so != res)
		return false;
	if (g->tensors[sa].kind != GRAPH_INPUT || g->tensors[sa].index != 0 ||
	    g->tensors[sb].kind != GRAPH_INPUT || g->tensors[sb].index != 1)
		return false;
	const int r = g->tensors[a].ndim, na = g->tensors[sa].ndim, nb = g->tensors[sb].ndim;
	if (r < 2 || g->tensors[b].ndim != r || na < 2 || nb < 2)
		return false;
	const int64_t *sha = g->tensors[sa].shape, *shb = g->tensors[sb].shape;
#define ATOM(sh, i) ((sh)[i] != 1 ? (i) : -1)
	if (view_dim_is(&da, r - 1, ATOM(sha, na - 1)) && view_dims_span(g, sa, &da, 0, r - 1, 0, na - 1))
		*ta = false;
	else if (view_dim_is(&da, r - 1, ATOM(sha, na - 2)) && view_dim_is(&da, r - 2, ATOM(sha, na - 1)) &&
		 view_dims_span(g, sa, &da, 0, r - 2, 0, na - 2))
		*ta = true;
	else
		return false;
	if (view_dim_is(&db, r - 1, ATOM(shb, nb - 1)) && view_dim_is(&db, r - 2, ATOM(shb, nb - 2)) &&
	    view_dims_span(g, sb, &db, 0, r - 2, 0, nb - 2))
		*tb = false;
	else if (view_dim_is(&db, r - 1, ATOM(shb, nb - 2)) && view_dim_is(&db, r - 2, ATOM(shb, nb - 1)) &&
		 view_dims_span(g, sb, &db, 0, r - 2, 0, nb - 2))
		*tb = true;
	else
		return false;
#undef ATOM
	return true;
}

/* Whether t is fp32, fp16 or bf16: the dtypes of the memory-bound templates. */
static bool float_dtype(const struct graph_tensor *t)
{
	return t->dtype == KB_F32 || t->dtype == KB_F16 || t->dtype == KB_BF16;
}

static int64_t numel_of(const struct graph_tensor *t)
{
	int64_t n = 1;
	for (int d = 0; d < t->ndim; d++)
		n *= t->shape[d];
	return n;
}

/* Whether the graph's one result is tensor t, or t through views that keep
 * the elements' order (a result reshaped, an extent of 1 dropped). */
static bool result_is(const struct op_graph *g, int t)
{
	if (g->n_outputs != 1)
		return false;
	int o = g->outputs[0];
	return view_source(g, o) == t && only_reshapes(g, o) && numel_of(&g->tensors[o]) == numel_of(&g->tensors[t]);
}

/* The define of the matrix-vector template (templates/matmul/gemv.cu),
 * KB_MATVEC, when the graph is y = A @ b and nothing more: one mm, mv or
 * matmul of the two inputs, fp32, fp16 or bf16 alike, A (..., K) taken in
 * its own order (leading dims folded into rows by reshapes, not
 * transposed), b's K elements in their order (a (K, 1) or (K,) input, or any
 * view of a tensor with one extent above 1), the result in the rows' order.
 * Nothing is written otherwise (a bias, a transposed A, a scaled result),
 * and the template is then not offered. */
static void matvec_template_defines(const struct compute *c, const struct graph_op *op, int a, int bb,
				    struct buf *b)
{
	const struct op_graph *g = c->g;
	const char *s = short_name(op);
	if (c->n != 1 || (strcmp(s, "mm") && strcmp(s, "mv") && strcmp(s, "matmul")) || op->n_args != 2 ||
	    g->n_inputs != 2 || g->n_params != 0 || op->n_outputs < 1)
		return;
	const struct graph_tensor *opa = &g->tensors[a], *opb = &g->tensors[bb];
	const struct graph_tensor *in_a = &g->tensors[0], *in_b = &g->tensors[1];
	if (view_source(g, a) != 0 || view_source(g, bb) != 1 || !only_reshapes(g, a) || opa->ndim != 2 ||
	    in_a->ndim < 2 || in_a->shape[in_a->ndim - 1] != opa->shape[1])
		return;
	const int64_t k = opa->shape[1];
	if (!((opb->ndim == 1 && opb->shape[0] == k) || (opb->ndim == 2 && opb->shape[0] == k && opb->shape[1] == 1)) ||
	    numel_of(in_b) != k)
		return;
	int wide = 0;   /* b's source: extents above 1 */
	for (int d = 0; d < in_b->ndim; d++)
		wide += in_b->shape[d] > 1;
	if (!only_reshapes(g, bb) && wide > 1)
		return;
	const struct graph_tensor *ty = &g->tensors[op->outputs[0]];
	if (!float_dtype(in_a) || in_b->dtype != in_a->dtype || ty->dtype != in_a->dtype ||
	    !result_is(g, op->outputs[0]))
		return;
	def_int(b, "KB_MATVEC", 1);
}

/* The define of the row-scaling template (templates/matmul/rowscale.cu),
 * KB_DIAG_ROWS, when the graph is diag(a) @ B (1: y[i, j] = a[i] * B[i, j],
 * a scaling the rows) or B @ diag(a) (0: y[i, j] = B[i, j] * a[j], the
 * columns), written either as a broadcast multiply (mul, the two inputs)
 * or as aten.diag feeding an mm: a the 1-D input 0, B the 2-D input 1 as it
 * is, one dtype (fp32, fp16 or bf16) throughout, the result in B's order.
 * diag_out is the tensor aten.diag made (-1 for the multiply). Nothing is
 * written otherwise. */
static void diag_template_defines(const struct op_graph *g, const struct graph_op *op, int diag_out,
				  struct buf *b)
{
	const struct graph_tensor *in_a = &g->tensors[0], *in_b = &g->tensors[1];
	if (g->n_inputs != 2 || g->n_params != 0 || op->n_args != 2 || op->n_outputs < 1 || in_a->ndim != 1 ||
	    in_b->ndim != 2 || !float_dtype(in_a) || in_b->dtype != in_a->dtype ||
	    g->tensors[op->outputs[0]].dtype != in_a->dtype || !result_is(g, op->outputs[0]))
		return;
	const int64_t n = in_b->shape[0], m = in_b->shape[1];
	int rows = -1;
	for (int k = 0; k < 2; k++) {
		int t = op->args[k].tensor, other = op->args[1 - k].tensor;
		if (other != 1)
			continue;   /* B as it is */
		if (diag_out >= 0) {
			if (t == diag_out)
				rows = k == 0;   /* diag(a) @ B, or B @ diag(a) */
			continue;
		}
		const struct graph_tensor *tt = &g->tensors[t];
		if (view_source(g, t) != 0 || !only_reshapes(g, t))
			continue;
		if (tt->ndim == 2 && tt->shape[0] == n && tt->shape[1] == 1 && in_a->shape[0] == n)
			rows = 1;   /* a[:, None] * B */
		else if (((tt->ndim == 1 && tt->shape[0] == m) || (tt->ndim == 2 && tt->shape[0] == 1 &&
			  tt->shape[1] == m)) && in_a->shape[0] == m)
			rows = 0;   /* B * a, B * a[None, :] */
	}
	if (rows >= 0)
		def_int(b, "KB_DIAG_ROWS", rows);
}

static bool matmul(const struct compute *c, struct recognition *r, struct buf *b)
{
	static const char *const mms[] = { "mm", "bmm", "addmm", "mv", "matmul", "dot", "baddbmm",
					   "addmv", NULL };
	static const char *const extra[] = { "triu", "tril", "mul", "add", NULL };
	const struct op_graph *g = c->g;
	const struct graph_op *op = NULL;
	int n = 0;
	for (int k = 0; k < c->n; k++)
		if (in_list(mms, short_name(cop(c, k)))) {
			op = op ? op : cop(c, k);
			n++;
		}
	if (c->n == 1 && !op && !strcmp(short_name(cop(c, 0)), "mul") && g->n_inputs == 2 &&
	    g->tensors[0].ndim == 1 && g->tensors[1].ndim == 2) {
		set(r, "matmul", "matmul_diag");   /* diag(a) @ B is a broadcast multiply */
		diag_template_defines(g, cop(c, 0), -1, b);
		return true;
	}
	/* torch.diag(a) @ B (or B @ torch.diag(a)) written out: the same product.
	 * Newer torch decomposes diag of a vector into diag_embed(a) (offset 0,
	 * dims -2 and -1). */
	const struct graph_op *dg = find(c, "diag");
	if (!dg)
		dg = find(c, "diag_embed");
	if (c->n == 2 && dg && op && !strcmp(short_name(op), "mm") && g->n_inputs == 2 &&
	    g->tensors[0].ndim == 1 && g->tensors[1].ndim == 2 && dg->n_args == 1 && dg->n_outputs == 1 &&
	    graph_op_input(dg, 0) == 0) {
		int64_t diagonal = 0, dim1 = -2, dim2 = -1;
		graph_op_int(dg, "diagonal", &diagonal);
		graph_op_int(dg, "offset", &diagonal);
		graph_op_int(dg, "dim1", &dim1);
		graph_op_int(dg, "dim2", &dim2);
		if (diagonal == 0 && (dim1 == -2 || dim1 == 0) && (dim2 == -1 || dim2 == 1)) {
			set(r, "matmul", "matmul_diag");
			diag_template_defines(g, op, dg->outputs[0], b);
			return true;
		}
	}
	if (n != 1 || !all_in(c, mms, extra))
		return false;
	int a = graph_op_input(op, op->n_args >= 3 ? 1 : 0), bb = graph_op_input(op, op->n_args >= 3 ? 2 : 1);
	if (a < 0 || bb < 0 || op->n_outputs != 1)
		return false;
	int sa = view_source(g, a), sb = view_source(g, bb);
	const char *s = short_name(op);
	/* The product alone, or cut to a triangle (triu/tril of its result). */
	const struct graph_op *tri = find(c, "triu");
	if (!tri)
		tri = find(c, "tril");
	int res = op->outputs[0];
	int64_t diag = 0;
	bool plain = c->n == 1 || (c->n == 2 && tri && tri->n_args == 1 && tri->args[0].tensor == res &&
				   tri->n_outputs == 1 && (!graph_op_attr(tri, "diagonal") ||
							   graph_op_int(tri, "diagonal", &diag)));
	if (plain && tri)
		res = tri->outputs[0];
	bool ta = false, tb = false;
	bool known = plain && (!strcmp(s, "mm") || !strcmp(s, "bmm") || !strcmp(s, "matmul")) &&
		     mm_layout(g, a, bb, res, &ta, &tb);
	char name[48];
	if (tri)
		snprintf(name, sizeof name, "matmul_%s", has(c, "triu") ? "triu" : "tril");
	else if (!strcmp(s, "mv") || (g->tensors[sb].ndim == 2 && g->tensors[sb].shape[1] == 1))
		snprintf(name, sizeof name, "matvec");
	else if (!strcmp(s, "dot"))
		snprintf(name, sizeof name, "dot");
	else if (!known)
		snprintf(name, sizeof name, "matmul_other");   /* no template: the naive kernel */
	else if (g->tensors[sa].ndim >= 3 && g->tensors[sb].ndim >= 3)
		snprintf(name, sizeof name, "matmul_batched");
	else if (g->tensors[sa].ndim >= 3 || g->tensors[sb].ndim >= 3)
		snprintf(name, sizeof name, "matmul_tensor%dd", g->tensors[sa].ndim > g->tensors[sb].ndim
			 ? g->tensors[sa].ndim : g->tensors[sb].ndim);
	else if (ta || tb)
		snprintf(name, sizeof name, "matmul_%s%s", ta ? "t" : "n", tb ? "t" : "n");
	else
		snprintf(name, sizeof name, "matmul%s", dtype_suffix(g));
	if (tri && !known)
		snprintf(name, sizeof name, "matmul_other");
	/* The layouts beyond the plain product in fp32 are named for the
	 * layout alone (gemm_wgmma_tf32 takes them); in another dtype the name
	 * ends in it (matmul_nt_fp16, matmul_batched_bf16), and gemm_wgmma_f16
	 * takes the fp16 and bf16 ones but the triangles. */
	if (strcmp(dtype_suffix(g), "_fp32") && strncmp(name, "matmul_fp", 9) && strncmp(name, "matmul_bf", 9) &&
	    strcmp(name, "matmul_other") && strcmp(name, "matvec") && strcmp(name, "dot"))
		snprintf(name + strlen(name), sizeof name - strlen(name), "%s", dtype_suffix(g));
	set(r, "matmul", name);
	if (known) {
		def_int(b, "TRANS_A", ta);
		def_int(b, "TRANS_B", tb);
		/* A batch that does not fold into A's rows (B has leading dims, or
		 * A is transposed under them): gemm_wgmma_f16 compiles its batch
		 * loop only then (gemm_wgmma_tf32 reads the batch at run time). */
		if (g->tensors[sb].ndim > 2 || (g->tensors[sa].ndim > 2 && ta))
			def_int(b, "MATMUL_BATCH", 1);
		/* gemm_wgmma_f16's element type, chosen when it is compiled */
		if (g->tensors[sa].dtype == KB_BF16)
			def_int(b, "MATMUL_BF16", 1);
	}
	if (known && tri) {
		def_int(b, "MATMUL_TRI", has(c, "triu") ? 1 : 2);
		def_int(b, "MATMUL_TRI_DIAG", diag);
	}
	if (!strcmp(name, "matvec"))
		matvec_template_defines(c, op, a, bb, b);
	return true;
}

/* The defines of the reduction template (templates/reduce/reduce_dim.cu)
 * when op, the graph's one compute op, is a reduction it computes: sum,
 * mean, amax/max, amin/min, prod, argmax or argmin over one dim or a run of
 * adjacent dims, of the graph's one input (fp32, fp16 or bf16), returning
 * one tensor: the values in the input's dtype, or the indices (argmax,
 * argmin, or the second result of max.dim/min.dim) as int64. Nothing is
 * written for anything else (all dims, dims apart, a dtype= cast, both
 * results of max.dim returned), and the template is then not offered.
 * KB_RED_INNERMOST is written too when the reduced axis is innermost. */
static void reduce_template_defines(const struct op_graph *g, const struct graph_op *op, struct buf *b)
{
	const char *s = short_name(op);
	int x = graph_op_input(op, 0);
	if (x < 0 || g->n_inputs != 1 || g->n_params != 0 || g->n_outputs != 1 || x != 0 ||
	    op->n_args != 1 || g->tensors[x].ndim < 1)
		return;
	const struct graph_tensor *tx = &g->tensors[x];
	if (tx->dtype != KB_F32 && tx->dtype != KB_F16 && tx->dtype != KB_BF16)
		return;
	/* Which result the graph returns: the values, or max.dim's indices. */
	int which = -1;
	for (int k = 0; k < op->n_outputs; k++)
		if (op->outputs[k] == g->outputs[0])
			which = k;
	const char *kind = NULL;
	bool arg = false;
	if (!strcmp(s, "sum")) kind = "KB_RED_SUM";
	else if (!strcmp(s, "mean")) kind = "KB_RED_MEAN";
	else if (!strcmp(s, "prod")) kind = "KB_RED_PROD";
	else if (!strcmp(s, "amax") || (!strcmp(s, "max") && which == 0)) kind = "KB_RED_MAX";
	else if (!strcmp(s, "amin") || (!strcmp(s, "min") && which == 0)) kind = "KB_RED_MIN";
	else if (!strcmp(s, "argmax") || (!strcmp(s, "max") && which == 1)) { kind = "KB_RED_ARGMAX"; arg = true; }
	else if (!strcmp(s, "argmin") || (!strcmp(s, "min") && which == 1)) { kind = "KB_RED_ARGMIN"; arg = true; }
	if (!kind || which < 0 || (which == 1 && op->n_outputs != 2))
		return;
	const struct graph_tensor *ty = &g->tensors[g->outputs[0]];
	if (ty->dtype != (arg ? KB_I64 : tx->dtype))
		return;
	/* The reduced dims: given, each once, adjacent. */
	const struct graph_attr *a = graph_op_attr(op, "dim");
	int64_t dims[KBREED_MAX_DIMS];
	int n = 0;
	if (a && a->value.type == GRAPH_INT)
		dims[n++] = a->value.i;
	else if (a && a->value.type == GRAPH_INTS && a->value.n >= 1 && a->value.n <= tx->ndim)
		for (int k = 0; k < a->value.n; k++)
			dims[n++] = a->value.ints[k];
	if (n == 0)
		return;
	bool seen[KBREED_MAX_DIMS] = { false };
	int lo = tx->ndim, hi = -1;
	for (int k = 0; k < n; k++) {
		int64_t d = dims[k] < 0 ? dims[k] + tx->ndim : dims[k];
		if (d < 0 || d >= tx->ndim || seen[d])
			return;
		seen[d] = true;
		lo = d < lo ? (int)d : lo;
		hi = d > hi ? (int)d : hi;
	}
	if (hi - lo + 1 != n)
		return;
	int64_t keepdim = 0;
	graph_op_int(op, "keepdim", &keepdim);
	if (ty->ndim != (keepdim ? tx->ndim : tx->ndim - n))
		return;
	buf_printf(b, "#define KB_RED_OP %s\n", kind);
	def_int(b, "KB_RED_RANK", tx->ndim);
	def_int(b, "KB_RED_DIM", lo);
	def_int(b, "KB_RED_NDIMS", n);
	def_int(b, "KB_RED_KEEPDIM", keepdim != 0);
	/* The reduced axis innermost (nothing but extents of 1 after it): the
	 * catalogue's ideas for rows; strided ones get those for columns. */
	int64_t inner = 1;
	for (int d = hi + 1; d < tx->ndim; d++)
		inner *= tx->shape[d];
	if (inner == 1)
		def_int(b, "KB_RED_INNERMOST", 1);
}

static bool reduce(const struct compute *c, struct recognition *r, struct buf *b)
{
	if (c->n != 1 || !in_list(reduce_ops, short_name(cop(c, 0))))
		return false;
	const struct graph_op *op = cop(c, 0);
	char name[48];
	const char *s = short_name(op);
	if (!strcmp(s, "amax"))
		s = "max";
	else if (!strcmp(s, "amin"))
		s = "min";
	int64_t dim = 0, keepdim = 0;
	bool has_dim = first_int(op, "dim", &dim);
	snprintf(name, sizeof name, "%s%s", s, has_dim ? "_dim" : "_all");
	set(r, "reduce", name);
	if (has_dim)
		def_int(b, "REDUCE_DIM", dim);
	graph_op_int(op, "keepdim", &keepdim);
	def_int(b, "KEEPDIM", keepdim);
	reduce_template_defines(c->g, op, b);
	return true;
}

static bool pointwise(const struct compute *c, struct recognition *r, struct buf *b)
{
	if (c->n == 0 || !all_in(c, pointwise_ops, NULL))
		return false;
	const struct graph_op *op = cop(c, 0);
	const char *s = short_name(op), *name = "pointwise_chain";
	double v;
	if (c->n == 1) {
		name = s;
		if (!strcmp(s, "gelu")) {
			const struct graph_attr *a = graph_op_attr(op, "approximate");
			if (a && a->value.type == GRAPH_STRING && !strcmp(a->value.s, "tanh"))
				name = "gelu_tanh";
		} else if (!strcmp(s, "elu")) {
			double scale = 1;
			graph_op_float(op, "scale", &scale);
			if (scale != 1)
				name = "selu";
			if (graph_op_float(op, "alpha", &v))
				def_float(b, "ELU_ALPHA", v);
			def_float(b, "ELU_SCALE", scale);
		} else if (!strcmp(s, "silu")) {
			name = "swish";
		} else if (!strcmp(s, "mul")) {
			name = "scale";
		} else if (!strcmp(s, "leaky_relu")) {
			def_float(b, "LEAKY_SLOPE", graph_op_float(op, "negative_slope", &v) ? v : 0.01);
		} else if (!strcmp(s, "hardtanh")) {
			def_float(b, "HARDTANH_MIN", graph_op_float(op, "min_val", &v) ? v : -1);
			def_float(b, "HARDTANH_MAX", graph_op_float(op, "max_val", &v) ? v : 1);
		} else if (!strcmp(s, "softplus")) {
			def_float(b, "SOFTPLUS_BETA", graph_op_float(op, "beta", &v) ? v : 1);
			def_float(b, "SOFTPLUS_THRESHOLD", graph_op_float(op, "threshold", &v) ? v : 20);
		}
	} else if (c->n == 2 && has(c, "sigmoid") && has(c, "mul")) {
		name = "swish";
	} else if (c->n == 3 && has(c, "abs") && has(c, "add") && has(c, "div")) {
		name = "softsign";
	}
	set(r, "elementwise", name);
	/* The whole graph as one expression, for the pointwise template; none
	 * when it is not pure pointwise (a broadcast operand, a parameter). */
	pointwise_body(c->g, b);
	return true;
}

void recognition_init(struct recognition *r)
{
	memset(r, 0, sizeof *r);
}

void recognition_release(struct recognition *r)
{
	free(r->family);
	free(r->op);
	free(r->defines);
	free(r->missing);
	recognition_init(r);
}

/* The compute ops no family knows, as "aten.a, aten.b" (each once). */
static char *uncovered(const struct compute *c)
{
	static const char *const known[] = {
		"convolution", "_convolution", "max_pool1d", "max_pool2d", "max_pool3d",
		"max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
		"avg_pool3d", "_softmax", "_log_softmax", "cumsum", "cumprod", "native_layer_norm",
		"native_batch_norm", "native_group_norm", "mm", "bmm", "addmm", "mv", "dot", "flip",
		"cat", "mse_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "kl_div", NULL,
	};
	struct buf b;
	buf_init(&b, 4096);
	for (int k = 0; k < c->n; k++) {
		const struct graph_op *op = cop(c, k);
		const char *s = short_name(op);
		if (in_list(pointwise_ops, s) || in_list(reduce_ops, s) || in_list(known, s))
			continue;
		if (b.len && strstr(buf_str(&b), op->name))
			continue;
		buf_printf(&b, "%s%s", b.len ? ", " : "", op->name);
	}
	if (!b.len)
		buf_printf(&b, "a combination of covered ops that no family matches");
	return buf_detach(&b);
}

bool recognize_graph(const struct op_graph *g, struct recognition *r)
{
	recognition_release(r);
	struct compute c = { g, xcalloc((size_t)g->n_ops + 1, sizeof(int)), 0 };
	for (int k = 0; k < g->n_ops; k++)
		if (!graph_op_is_view(g->ops[k].name))
			c.ops[c.n++] = k;
	struct buf b;
	buf_init(&b, RECOGNIZE_MAX_DEFINES);
	bool ok = attention(&c, r, &b) || conv(&c, r, &b) || pool(&c, r, &b) ||
		  loss(&c, r, &b) || softmax(&c, r, &b) || scan(&c, r, &b) || norm(&c, r, &b) ||
		  matmul(&c, r, &b) || reduce(&c, r, &b) || pointwise(&c, r, &b);
	if (ok) {
		r->defines = b.len ? buf_detach(&b) : xstrdup("");
	} else {
		free(r->family);
		free(r->op);
		r->family = r->op = NULL;
		r->defines = xstrdup("");
		r->missing = c.n ? uncovered(&c) : xstrdup("a forward without compute ops");
	}
	buf_release(&b);
	free(c.ops);
	return ok;
}

/* The numel of graph tensor t, as a double (the counts below exceed 2^53
 * only for tensors no GPU holds). */
static double graph_numel(const struct op_graph *g, int t)
{
	double n = 1;
	for (int d = 0; d < g->tensors[t].ndim; d++)
		n *= (double)g->tensors[t].shape[d];
	return n;
}

/* One convolution's FLOPs, two per multiply-add, as PyTorch's FlopCounterMode
 * counts them: each output element (each input element of a transposed
 * one) meets Cin/groups x window weights (Cout/groups x window), which is
 * the weight's numel over its first dim either way round. 0 where the
 * tensors are not there. */
static double conv_flops(const struct op_graph *g, const struct graph_op *op)
{
	int64_t transposed = 0;
	int w = graph_op_arg(op, "weight"), x = graph_op_arg(op, "input");
	graph_op_int(op, "transposed", &transposed);
	int t = transposed ? x : op->n_outputs > 0 ? op->outputs[0] : -1;
	if (w < 0 || t < 0 || t >= g->n_tensors || g->tensors[w].ndim < 3 || g->tensors[w].shape[0] < 1)
		return 0;
	return 2 * graph_numel(g, t) * (graph_numel(g, w) / (double)g->tensors[w].shape[0]);
}

/* The length of tensor t's last axis (its contracted one in a product); 0
 * where t is absent or a scalar. */
static double last_axis(const struct op_graph *g, int t)
{
	if (t < 0 || t >= g->n_tensors || g->tensors[t].ndim < 1)
		return 0;
	return (double)g->tensors[t].shape[g->tensors[t].ndim - 1];
}

/* One matrix product's FLOPs, two per multiply-add: each output element is a
 * dot product along the last axis of the left operand, whichever ATen
 * spelling (mm, addmm, bmm, baddbmm, mv, addmv, dot, matmul) holds it. 0
 * where the tensors are not there, or for ops that are no product. */
static double product_flops(const struct op_graph *g, const struct graph_op *op)
{
	static const struct {
		const char *name, *left;
	} products[] = {
		{ "mm", "self" }, { "bmm", "self" }, { "mv", "self" }, { "dot", "self" }, { "matmul", "self" },
		{ "addmm", "mat1" }, { "baddbmm", "batch1" }, { "addmv", "mat" },
	};
	const char *name = short_name(op);
	for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
		if (strcmp(name, products[i].name))
			continue;
		int left = graph_op_arg(op, products[i].left), out = op->n_outputs > 0 ? op->outputs[0] : -1;
		if (out < 0 || out >= g->n_tensors)
			return 0;
		return 2 * graph_numel(g, out) * last_axis(g, left);
	}
	return 0;
}

/* Scaled dot-product attention, as FlopCounterMode counts it: the two
 * products, Q K^T (B*H*Sq*Sk*D multiply-adds) and P V (B*H*Sq*Sk*Dv). */
static double attention_flops(const struct op_graph *g, const struct graph_op *op)
{
	const char *name = short_name(op);
	if (strncmp(name, "_scaled_dot_product", 19) && strcmp(name, "scaled_dot_product_attention"))
		return 0;
	int q = graph_op_arg(op, "query"), k = graph_op_arg(op, "key"), v = graph_op_arg(op, "value");
	if (q < 0 || k < 0 || v < 0 || g->tensors[q].ndim < 2 || g->tensors[k].ndim < 2 || last_axis(g, q) < 1)
		return 0;
	double sk = (double)g->tensors[k].shape[g->tensors[k].ndim - 2];
	double rows = graph_numel(g, q) / last_axis(g, q);   /* B*H*Sq */
	return 2 * rows * sk * (last_axis(g, q) + last_axis(g, v));
}

double recognize_flops(const struct op_graph *g)
{
	double flops = 0;
	for (int k = 0; g && k < g->n_ops; k++) {
		const struct graph_op *op = &g->ops[k];
		const char *name = short_name(op);
		if (!strcmp(name, "convolution") || !strcmp(name, "_convolution"))
			flops += conv_flops(g, op);
		else
			flops += product_flops(g, op) + attention_flops(g, op);
	}
	return flops;
}

static bool has_half(const struct tensor_spec *t, int n)
{
	for (int i = 0; i < n; i++)
		if (t[i].dtype == KB_F16 || t[i].dtype == KB_BF16)
			return true;
	return false;
}

/* "#define KB_F32_ONLY 1" appended to p->defines where no tensor of p is
 * fp16 or bf16: the memory-bound templates then leave their half-precision
 * kernels and headers out of every candidate's compile (about a quarter of
 * its nvcc time; templates/common/dtype.cuh). */
static void note_f32_only(struct problem *p)
{
	if (has_half(p->inputs, p->n_inputs) || has_half(p->params, p->n_params) ||
	    has_half(p->outputs, p->n_outputs) || (p->defines && strstr(p->defines, "KB_F32_ONLY")))
		return;
	char *d = xasprintf("%s#define KB_F32_ONLY 1\n", p->defines ? p->defines : "");
	free(p->defines);
	p->defines = d;
}

/* Causal attention (ATTN_CAUSAL among the defines, q and k as inputs 0 and
 * 1): the share of the scores the mask leaves, sum over query rows i of
 * min(i + 1, Sk), over Sq * Sk. FlopCounterMode counts every score of an
 * SDPA op or of the math path's products; a kernel computes only those a
 * row sees (about half where Sq = Sk), and the floor is that work. 1 where
 * not causal. */
static double causal_share(const struct problem *p)
{
	if (!p->defines || !strstr(p->defines, "#define ATTN_CAUSAL 1\n") || p->n_inputs < 2 ||
	    p->inputs[0].ndim < 2 || p->inputs[1].ndim < 2)
		return 1;
	double sq = (double)p->inputs[0].shape[p->inputs[0].ndim - 2];
	double sk = (double)p->inputs[1].shape[p->inputs[1].ndim - 2];
	if (sq < 1 || sk < 1)
		return 1;
	/* rows 0 .. m - 1 see i + 1 keys, the rest all sk */
	double m = sq < sk ? sq : sk;
	return (m * (m + 1) / 2 + (sq - m) * sk) / (sq * sk);
}

bool recognize_problem(struct problem *p)
{
	struct recognition r;
	bool ok = false;
	recognition_init(&r);
	if (p->flops <= 0 && p->graph)
		p->flops = recognize_flops(p->graph);   /* torch without FlopCounterMode counted none */
	if (p->family_declared) {
		ok = true;
		goto out;
	}
	if (!p->graph) {
		warn("%s: no op graph (%s); family left as '%s', --llm can still take it", p->name,
		     p->graph_error ? p->graph_error : "none sent", p->family);
		goto out;
	}
	if (!recognize_graph(p->graph, &r)) {
		warn("%s: not recognised: no playbook family covers %s; --llm can take it", p->name,
		     r.missing);
		goto out;
	}
	free(p->family);
	p->family = r.family;
	r.family = NULL;
	if (!p->op_declared) {
		free(p->op);
		p->op = r.op;
		r.op = NULL;
	}
	if (!p->defines_declared) {
		free(p->defines);
		p->defines = r.defines;
		r.defines = NULL;
	}
	ok = true;
out:
	if (ok) {
		note_f32_only(p);
		if (!p->flops_declared)
			p->flops *= causal_share(p);
	}
	recognition_release(&r);
	return ok;
}
