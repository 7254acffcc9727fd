/*
 * views.c - which dims of a source tensor a chain of view ops regroups
 * (views.h).
 */
#include "views.h"

#include <string.h>


/* Views that regroup dims without moving an element (the source's order
 * kept, dims merged or split), and those that copy or alias a tensor as it
 * is: with unsqueeze, the views that reshape only. */
static const char *const regroups[] = {
	"aten.squeeze", "aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias",
	"aten.flatten", "aten.unflatten", "aten.view_as", "aten.reshape_as", NULL,
};
static const char *const copies[] = {
	"aten.clone", "aten.contiguous", "aten.detach", "aten.alias", "aten.lift_fresh",
	"aten.lift_fresh_copy", NULL,
};

static bool in_names(const char *const *names, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

bool view_is_reshape(const char *name)
{
	return !strcmp(name, "aten.unsqueeze") || in_names(regroups, name) || in_names(copies, name);
}

/* A dim index as the op wrote it (negative from the end) in [0, ndim), or -1. */
static int norm_dim(int64_t d, int ndim)
{
	if (d < 0)
		d += ndim;
	return d >= 0 && d < ndim ? (int)d : -1;
}

/* The identity: every dim of the source is itself (none if it has one element). */
static void identity(const struct graph_tensor *src, struct view_dims *d)
{
	memset(d, 0, sizeof *d);
	d->ndim = src->ndim;
	for (int i = 0; i < src->ndim; i++)
		if (src->shape[i] != 1) {
			d->n[i] = 1;
			d->atom[i][0] = i;
		}
}

/* A dim of one element (no atoms) inserted at position `at`. */
static bool insert_empty(struct view_dims *d, int at)
{
	if (d->ndim >= KBREED_MAX_DIMS || at < 0 || at > d->ndim)
		return false;
	for (int i = d->ndim; i > at; i--) {
		d->n[i] = d->n[i - 1];
		memcpy(d->atom[i], d->atom[i - 1], sizeof d->atom[i]);
	}
	d->n[at] = 0;
	d->ndim++;
	return true;
}

static bool permute(struct view_dims *d, const int64_t *perm, int n)
{
	if (n != d->ndim)
		return false;
	struct view_dims r = *d;
	bool seen[KBREED_MAX_DIMS] = { false };
	for (int i = 0; i < n; i++) {
		int s = norm_dim(perm[i], n);
		if (s < 0 || seen[s])
			return false;
		seen[s] = true;
		r.n[i] = d->n[s];
		memcpy(r.atom[i], d->atom[s], sizeof r.atom[i]);
	}
	*d = r;
	return true;
}

static bool swap(struct view_dims *d, int a, int b)
{
	int64_t perm[KBREED_MAX_DIMS];
	if (a < 0 || b < 0)
		return false;
	for (int i = 0; i < d->ndim; i++)
		perm[i] = i;
	perm[a] = b;
	perm[b] = a;
	return permute(d, perm, d->ndim);
}

/* The regrouping of a reshape to `out`: the atoms read in order, cut into
 * runs whose element counts are the new sizes. False when a new size
 * would split a source dim. */
static bool regroup(const struct graph_tensor *src, struct view_dims *d, const struct graph_tensor *out)
{
	int flat[KBREED_MAX_DIMS], n = 0;
	for (int i = 0; i < d->ndim; i++)
		for (int j = 0; j < d->n[i]; j++)
			flat[n++] = d->atom[i][j];
	struct view_dims r;
	memset(&r, 0, sizeof r);
	r.ndim = out->ndim;
	int next = 0;
	for (int i = 0; i < out->ndim; i++) {
		int64_t want = out->shape[i], have = 1;
		if (want < 0)
			return false;
		while (have < want && next < n) {
			have *= src->shape[flat[next]];
			r.atom[i][r.n[i]++] = flat[next++];
		}
		if (have != want && !(want == 0 && have == 1))
			return false;
	}
	if (next != n)
		return false;
	*d = r;
	return true;
}

/* Applies op (made `out` from its first argument) to *d. */
static bool apply(const struct op_graph *g, const struct graph_op *op, int source, const struct graph_tensor *out,
		  struct view_dims *d)
{
	const char *name = op->name;
	const struct graph_attr *a;
	int64_t v0, v1;
	if (!strcmp(name, "aten.clone") || !strcmp(name, "aten.contiguous") || !strcmp(name, "aten.detach") ||
	    !strcmp(name, "aten.alias") || !strcmp(name, "aten.lift_fresh") || !strcmp(name, "aten.lift_fresh_copy"))
		return true;
	if (!strcmp(name, "aten.expand") || !strcmp(name, "aten.expand_as")) {
		/* only an expand that changes nothing */
		if (out->ndim != d->ndim)
			return false;
		const struct graph_tensor *in = &g->tensors[op->args[0].tensor];
		for (int i = 0; i < out->ndim; i++)
			if (out->shape[i] != in->shape[i])
				return false;
		return true;
	}
	if (!strcmp(name, "aten.permute")) {
		a = graph_op_attr(op, "dims");
		return a && a->value.type == GRAPH_INTS && permute(d, a->value.ints, a->value.n);
	}
	if (!strcmp(name, "aten.transpose")) {
		if (!graph_op_int(op, "dim0", &v0) || !graph_op_int(op, "dim1", &v1))
			return false;
		return swap(d, norm_dim(v0, d->ndim), norm_dim(v1, d->ndim));
	}
	if (!strcmp(name, "aten.t"))
		return d->ndim < 2 || swap(d, 0, 1);
	if (!strcmp(name, "aten.numpy_T")) {
		int64_t perm[KBREED_MAX_DIMS];
		for (int i = 0; i < d->ndim; i++)
			perm[i] = d->ndim - 1 - i;
		return permute(d, perm, d->ndim);
	}
	if (!strcmp(name, "aten.unsqueeze"))
		return graph_op_int(op, "dim", &v0) && insert_empty(d, norm_dim(v0, d->ndim + 1));
	if (in_names(regroups, name))
		return regroup(&g->tensors[source], d, out);
	return false;
}

bool view_dims_of(const struct op_graph *g, int t, int stop, int *source, struct view_dims *d)
{
	int chain[GRAPH_MAX_OPS], n = 0;
	while (t != stop && g->tensors[t].kind == GRAPH_INTER) {
		const struct graph_op *op = &g->ops[g->tensors[t].producer];
		if (!graph_op_is_view(op->name))
			break;
		if (op->n_args < 1 || op->n_outputs != 1 || op->outputs[0] != t || n == GRAPH_MAX_OPS)
			return false;
		chain[n++] = g->tensors[t].producer;
		t = op->args[0].tensor;
	}
	*source = t;
	identity(&g->tensors[t], d);
	while (n-- > 0) {
		const struct graph_op *op = &g->ops[chain[n]];
		if (!apply(g, op, t, &g->tensors[op->outputs[0]], d))
			return false;
		if (d->ndim != g->tensors[op->outputs[0]].ndim)
			return false;
	}
	return true;
}

bool view_dim_is(const struct view_dims *d, int k, int s)
{
	if (k < 0 || k >= d->ndim)
		return false;
	return s < 0 ? d->n[k] == 0 : d->n[k] == 1 && d->atom[k][0] == s;
}

bool view_dims_span(const struct op_graph *g, int source, const struct view_dims *d, int from, int to, int lo,
		    int hi)
{
	const struct graph_tensor *src = &g->tensors[source];
	int want = lo;
	for (int i = from; i < to; i++)
		for (int j = 0; j < d->n[i]; j++) {
			while (want < hi && src->shape[want] == 1)
				want++;
			if (want >= hi || d->atom[i][j] != want)
				return false;
			want++;
		}
	while (want < hi && src->shape[want] == 1)
		want++;
	return want == hi;
}

/* Whether the permutation perm of the dims of in keeps the order of the
 * dims of more than one element. */
static bool order_kept(const struct graph_tensor *in, const int64_t *perm, int n)
{
	int last = -1;
	for (int i = 0; i < n; i++) {
		int s = norm_dim(perm[i], n);
		if (s < 0)
			return false;
		if (in->shape[s] == 1)
			continue;
		if (s < last)
			return false;
		last = s;
	}
	return true;
}

bool view_keeps_order(const struct op_graph *g, int t, int stop, int *source)
{
	for (int guard = 0; guard < GRAPH_MAX_OPS && t != stop && g->tensors[t].kind == GRAPH_INTER; guard++) {
		const struct graph_op *op = &g->ops[g->tensors[t].producer];
		if (!graph_op_is_view(op->name))
			break;
		if (op->n_args < 1 || op->n_outputs != 1 || op->outputs[0] != t)
			return false;
		const struct graph_tensor *in = &g->tensors[op->args[0].tensor];
		const char *name = op->name;
		const struct graph_attr *a;
		int64_t v0, v1;
		if (!strcmp(name, "aten.permute")) {
			a = graph_op_attr(op, "dims");
			if (!a || a->value.type != GRAPH_INTS || a->value.n != in->ndim ||
			    !order_kept(in, a->value.ints, a->value.n))
				return false;
		} else if (!strcmp(name, "aten.transpose") || !strcmp(name, "aten.t")) {
			if (!strcmp(name, "aten.t")) {
				v0 = 0;
				v1 = 1;
			} else if (!graph_op_int(op, "dim0", &v0) || !graph_op_int(op, "dim1", &v1)) {
				return false;
			}
			int d0 = norm_dim(v0, in->ndim), d1 = norm_dim(v1, in->ndim);
			if (in->ndim >= 2 && (d0 < 0 || d1 < 0))
				return false;
			if (in->ndim >= 2 && d0 != d1) {
				int lo = d0 < d1 ? d0 : d1, hi = d0 < d1 ? d1 : d0, big = 0;
				for (int i = lo; i <= hi; i++)
					big += in->shape[i] != 1;
				if (big > 1)
					return false;
			}
		} else if (!strcmp(name, "aten.expand") || !strcmp(name, "aten.expand_as")) {
			const struct graph_tensor *out = &g->tensors[t];
			if (out->ndim != in->ndim || memcmp(out->shape, in->shape, sizeof(int64_t) * (size_t)in->ndim))
				return false;
		} else if (!view_is_reshape(name)) {
			return false;
		}
		t = op->args[0].tensor;
	}
	*source = t;
	return true;
}
