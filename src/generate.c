/*
 * generate.c - a naive CUDA candidate for any recognised op graph.
 *
 * Reads a problem's forward pass (struct op_graph, src/graph.h) and writes
 * one standalone .cu against the candidate ABI: a header comment naming the
 * ops, a small preamble of device helpers (loads and stores of every ABI
 * dtype, block sums), one __global__ per op with its shapes as constants,
 * and kbreed_forward, which checks every tensor against the graph, launches
 * the kernels in order on the caller's stream and returns an ABI status.
 *
 * Layout: every tensor is materialised contiguous and row-major, so shape-only
 * ops (view, reshape, unsqueeze, clone...) simply share their source's
 * storage, and ops that move data (permute, transpose, expand, slice, select,
 * flip, repeat) become one gather kernel with per-dimension strides.
 * Intermediates live in cudaMallocAsync scratch freed at the end (the pool
 * keeps it mapped between calls: mapping gigabytes afresh each call costs
 * host time the events do not see, and the judge rejects that); a result
 * that an op computes is written straight into out[]; anything else is
 * copied there at the end.
 *
 * Arithmetic: pointwise math in `real` (float, or double when the graph holds
 * fp64), reductions, matrix products, convolutions and norms accumulate in
 * double. Kernels are straightforward: one thread per output element, or one
 * block per reduced row, grid-stride loops with 64-bit indices.
 */
#include "generate.h"
#include "home.h"

#include "pointwise.h"
#include "template.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GEN_SOURCE_CAP (16u << 20)   /* bytes of generated source */
#define GEN_WHY_CAP 4096
#define GEN_THREADS 256
#define GEN_WARPS (GEN_THREADS / 32)
/* Where the marker lines of the shared device helpers point, relative to
 * the templates directory (the .cuh files of templates/common). */
#define GEN_COMMON "common/"
#define GEN_MAX_GRID (1 << 20)

enum gen_loc_kind { LOC_NONE = 0, LOC_IN, LOC_OUT, LOC_SCRATCH };

/* Where a tensor's elements live in the generated forward. */
struct gen_loc {
	enum gen_loc_kind kind;
	int idx;          /* in[idx], out[idx] or scratch[idx] */
};

struct gen {
	const struct op_graph *g;
	struct buf kern;          /* the kernels */
	struct buf body;          /* kbreed_forward's launches */
	struct buf why;           /* what is not covered */
	struct gen_loc *loc;      /* per tensor */
	int n_scratch;
	int op;                   /* index of the op being emitted */
	bool f64;                 /* the graph holds fp64: real is double */
	bool block_reduce;        /* a kernel calls kb_block_reduce (templates/common/reduce.cuh) */
};

/* ---- small helpers ---- */

static const char *ctype(int dt)
{
	switch (dt) {
	case KB_F32: return "float";
	case KB_F16: return "__half";
	case KB_BF16: return "__nv_bfloat16";
	case KB_F64: return "double";
	case KB_I32: return "int32_t";
	case KB_I64: return "int64_t";
	case KB_BOOL: return "bool";
	default: return NULL;
	}
}

static const char *kname_dtype(int dt)
{
	static const char *const n[] = { "KB_F32", "KB_F16", "KB_BF16", "KB_F64", "KB_I32", "KB_I64", "KB_BOOL" };
	return dt >= 0 && dt <= KB_BOOL ? n[dt] : "?";
}

static int64_t dt_size(int dt)
{
	switch (dt) {
	case KB_F16: case KB_BF16: return 2;
	case KB_F32: case KB_I32: return 4;
	case KB_BOOL: return 1;
	default: return 8;
	}
}

static int64_t numel(const struct graph_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

static void contig_strides(const struct graph_tensor *t, int64_t *st)
{
	int64_t s = 1;
	for (int i = t->ndim - 1; i >= 0; i--) {
		st[i] = s;
		s *= t->shape[i];
	}
}

static const char *base_name(const char *name)
{
	return strncmp(name, "aten.", 5) ? name : name + 5;
}

/* A double as a C++ literal of type real (or a named infinity / NaN). */
static void fmt_num(char *out, size_t n, double v)
{
	pointwise_literal(out, n, v);
}

static double attr_num(const struct graph_op *op, const char *name, double dflt)
{
	double v;
	return graph_op_float(op, name, &v) ? v : dflt;
}

static int64_t attr_int(const struct graph_op *op, const char *name, int64_t dflt)
{
	int64_t v;
	return graph_op_int(op, name, &v) ? v : dflt;
}

/* An int list attribute; a single int counts as a list of one. Returns
 * the element count, 0 when absent or None. */
static int attr_ints(const struct graph_op *op, const char *name, int64_t *out, int cap)
{
	const struct graph_attr *a = graph_op_attr(op, name);
	if (!a)
		return 0;
	if (a->value.type == GRAPH_INT) {
		out[0] = a->value.i;
		return 1;
	}
	if (a->value.type != GRAPH_INTS)
		return 0;
	int n = a->value.n < cap ? a->value.n : cap;
	for (int i = 0; i < n; i++)
		out[i] = a->value.ints[i];
	return n;
}

static const char *attr_str(const struct graph_op *op, const char *name)
{
	const struct graph_attr *a = graph_op_attr(op, name);
	return a && a->value.type == GRAPH_STRING && a->value.s ? a->value.s : NULL;
}

static int norm_dim(int64_t d, int nd)
{
	if (nd == 0)
		return 0;
	return (int)(d < 0 ? d + nd : d);
}

static int64_t grid_for(int64_t n)
{
	int64_t b = (n + GEN_THREADS - 1) / GEN_THREADS;
	return b < 1 ? 1 : (b > GEN_MAX_GRID ? GEN_MAX_GRID : b);
}

static int64_t grid_blocks(int64_t n)
{
	return n < 1 ? 1 : (n > GEN_MAX_GRID ? GEN_MAX_GRID : n);
}

static void why_add(struct gen *G, const char *fmt, const char *what)
{
	if (G->why.len)
		buf_printf(&G->why, "; ");
	buf_printf(&G->why, fmt, what);
}

static const struct graph_tensor *T(struct gen *G, int t)
{
	return &G->g->tensors[t];
}

/* The expression of tensor t's storage as a typed pointer. */
static void ptr(struct gen *G, int t, bool write, char *out, size_t n)
{
	const struct gen_loc *l = &G->loc[t];
	const char *ty = ctype(T(G, t)->dtype);
	const char *c = write ? "" : "const ";
	switch (l->kind) {
	case LOC_IN: snprintf(out, n, "(%s%s *)in[%d].data", c, ty, l->idx); break;
	case LOC_OUT: snprintf(out, n, "(%s%s *)out[%d].data", c, ty, l->idx); break;
	default: snprintf(out, n, "(%s%s *)scratch[%d]", c, ty, l->idx); break;
	}
}

/* Gives tensor t storage: the out[] slot it is the first result in, else scratch. */
static void place(struct gen *G, int t)
{
	if (G->loc[t].kind != LOC_NONE)
		return;
	for (int j = 0; j < G->g->n_outputs; j++) {
		if (G->g->outputs[j] != t)
			continue;
		bool taken = false;
		for (int u = 0; u < G->g->n_tensors; u++)
			if (G->loc[u].kind == LOC_OUT && G->loc[u].idx == j)
				taken = true;
		if (!taken) {
			G->loc[t].kind = LOC_OUT;
			G->loc[t].idx = j;
			return;
		}
	}
	int64_t bytes = numel(T(G, t)) * dt_size(T(G, t)->dtype);
	G->loc[t].kind = LOC_SCRATCH;
	G->loc[t].idx = G->n_scratch++;
	buf_printf(&G->body,
		   "\tif (cudaMallocAsync(&scratch[%d], %lld, s) != cudaSuccess) { rc = KB_ERR_LAUNCH; goto done; }  /* t%d */\n",
		   G->loc[t].idx, (long long)(bytes > 16 ? bytes : 16), t);
}

static void launch(struct gen *G, const char *kname, int64_t grid, const char *args)
{
	buf_printf(&G->body, "\t%s<<<%lld, %d, 0, s>>>(%s);\n"
		   "\tif (cudaGetLastError() != cudaSuccess) { rc = KB_ERR_LAUNCH; goto done; }\n",
		   kname, (long long)grid, GEN_THREADS, args);
}

/* The kernel comment and name for the current op. */
static void kernel_head(struct gen *G, const struct graph_op *op, char *kname, size_t n)
{
	const char *b = base_name(op->name);
	snprintf(kname, n, "op%d_%s", G->op, b);
	for (char *p = kname; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	buf_printf(&G->kern, "\n/* op %d: %s.%s ->", G->op, op->name, op->overload);
	for (int k = 0; k < op->n_outputs; k++) {
		const struct graph_tensor *t = T(G, op->outputs[k]);
		buf_printf(&G->kern, " t%d (", op->outputs[k]);
		for (int d = 0; d < t->ndim; d++)
			buf_printf(&G->kern, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
		buf_printf(&G->kern, ") %s", ctype(t->dtype));
	}
	buf_printf(&G->kern, " */\n");
}

/* Splits flat index `var` over shape (outermost first) and adds
 * coordinate * strides[k][d] to each offset variable offs[k]; a dimension
 * with a modulus mods[k][d] > 0 uses the coordinate modulo it. */
static void emit_split(struct buf *b, const char *ind, const char *var, int nd, const int64_t *shape,
		       int n_off, int64_t strides[][KBREED_MAX_DIMS], int64_t mods[][KBREED_MAX_DIMS],
		       const char *const *offs)
{
	buf_printf(b, "%s{\n%s\tint64_t r_ = %s, c_;\n", ind, ind, var);
	for (int d = nd - 1; d >= 0; d--) {
		if (shape[d] == 1)
			continue;
		bool any = false;
		for (int k = 0; k < n_off; k++)
			if (strides[k][d])
				any = true;
		if (!any) {
			buf_printf(b, "%s\tr_ /= %lld;\n", ind, (long long)shape[d]);
			continue;
		}
		buf_printf(b, "%s\tc_ = r_ %% %lld; r_ /= %lld;", ind, (long long)shape[d], (long long)shape[d]);
		for (int k = 0; k < n_off; k++) {
			if (!strides[k][d])
				continue;
			if (mods && mods[k][d] > 0)
				buf_printf(b, " %s += (c_ %% %lld) * %lld;", offs[k], (long long)mods[k][d],
					   (long long)strides[k][d]);
			else
				buf_printf(b, " %s += c_ * %lld;", offs[k], (long long)strides[k][d]);
		}
		buf_printf(b, "\n");
	}
	buf_printf(b, "%s\t(void)c_; (void)r_;\n%s}\n", ind, ind);
}

/* Strides of `in` broadcast to `out`'s shape (0 on broadcast dims). */
static int bcast_strides(const struct graph_tensor *in, const struct graph_tensor *out, int64_t *st)
{
	int64_t cs[KBREED_MAX_DIMS];
	contig_strides(in, cs);
	int off = out->ndim - in->ndim;
	if (off < 0)
		return -1;
	for (int d = 0; d < out->ndim; d++) {
		int di = d - off;
		if (di < 0 || in->shape[di] == 1)
			st[d] = 0;
		else if (in->shape[di] == out->shape[d])
			st[d] = cs[di];
		else
			return -1;
	}
	return 0;
}

/* ---- pointwise ---- */

static bool uses(const char *e, const char *x)
{
	return strstr(e, x) != NULL;
}

/* One kernel computing output tensor `y` as expr over up to 3 inputs
 * broadcast to its shape. */
static void emit_pointwise_expr(struct gen *G, const struct graph_op *op, const char *kname, int y,
				const int *xs, int nx, const char *expr)
{
	const struct graph_tensor *ty = T(G, y);
	int64_t st[3][KBREED_MAX_DIMS];
	const char *offs[3] = { "o0", "o1", "o2" };
	bool same[3] = { false, false, false };
	int used[3];
	int nu = 0;
	for (int k = 0; k < nx && k < 3; k++) {
		char xn[4] = { 'x', (char)('0' + k), 0 };
		if (!uses(expr, xn))
			continue;
		used[nu] = k;
		bcast_strides(T(G, xs[k]), ty, st[nu]);
		same[nu] = numel(T(G, xs[k])) == numel(ty);
		nu++;
	}
	int64_t n = numel(ty);
	buf_printf(&G->kern, "__global__ void %s(", kname);
	for (int u = 0; u < nu; u++)
		buf_printf(&G->kern, "const %s *__restrict__ a%d, ", ctype(T(G, xs[used[u]])->dtype), used[u]);
	buf_printf(&G->kern, "%s *__restrict__ y)\n{\n"
		   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
		   "\t     i += (int64_t)gridDim.x * blockDim.x) {\n", ctype(ty->dtype), (long long)n);
	bool need_split = false;
	for (int u = 0; u < nu; u++)
		if (!same[u])
			need_split = true;
	if (need_split) {
		int64_t sst[3][KBREED_MAX_DIMS];
		const char *soffs[3];
		int ns = 0;
		for (int u = 0; u < nu; u++) {
			buf_printf(&G->kern, "\t\tint64_t o%d = %s;\n", used[u], same[u] ? "i" : "0");
			if (same[u])
				continue;
			memcpy(sst[ns], st[u], sizeof sst[ns]);
			soffs[ns++] = offs[used[u]];
		}
		emit_split(&G->kern, "\t\t", "i", ty->ndim, ty->shape, ns, sst, NULL, soffs);
	}
	for (int u = 0; u < nu; u++)
		buf_printf(&G->kern, "\t\treal x%d = kb_ld(a%d[%s]);\n", used[u], used[u], need_split ? offs[used[u]] : "i");
	buf_printf(&G->kern, "\t\tkb_st(&y[i], %s);\n\t}\n}\n", expr);
	char args[1024] = "";
	size_t al = 0;
	for (int u = 0; u < nu; u++) {
		char p[128];
		ptr(G, xs[used[u]], false, p, sizeof p);
		al += snprintf(args + al, sizeof args - al, "%s, ", p);
	}
	char p[128];
	ptr(G, y, true, p, sizeof p);
	snprintf(args + al, sizeof args - al, "%s", p);
	if (n > 0)
		launch(G, kname, grid_for(n), args);
}

static int emit_pointwise(struct gen *G, const struct graph_op *op)
{
	char expr[1024];
	if (pointwise_expr(op, expr, sizeof expr))
		return 1;
	int y = op->outputs[0];
	int xs[3];
	int nx = 0;
	for (int k = 0; k < op->n_args && nx < 3; k++)
		xs[nx++] = op->args[k].tensor;
	/* where(cond, self, other) may be given as named args in any order. */
	for (int k = 0; k < nx; k++) {
		int64_t st[KBREED_MAX_DIMS];
		if (bcast_strides(T(G, xs[k]), T(G, y), st)) {
			why_add(G, "%s with operands that do not broadcast", op->name);
			return 1;
		}
	}
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	emit_pointwise_expr(G, op, kname, y, xs, nx, expr);
	return 0;
}

/* ---- data movement: gathers ---- */

static bool is_alias_op(const char *b)
{
	static const char *const names[] = { "view", "_unsafe_view", "_reshape_alias", "reshape", "view_as",
		"reshape_as", "unsqueeze", "squeeze", "flatten", "unflatten", "alias", "detach", "contiguous",
		"clone", "lift_fresh", "lift_fresh_copy", "_to_copy", "to", "unsqueeze_", "squeeze_", "view_copy",
		"_unsafe_view_copy", "reshape_copy", "alias_copy", "dropout", "feature_dropout", NULL };
	for (int i = 0; names[i]; i++)
		if (!strcmp(b, names[i]))
			return true;
	return false;
}

/* Emits y[i] = x[base + sum c_d * st_d] (coordinates modulo mods when > 0). */
static void emit_gather_kernel(struct gen *G, const struct graph_op *op, int x, int y, int64_t base,
			       int64_t *st, int64_t *mods)
{
	const struct graph_tensor *ty = T(G, y);
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	int64_t n = numel(ty);
	int64_t sst[1][KBREED_MAX_DIMS], smod[1][KBREED_MAX_DIMS];
	memcpy(sst[0], st, sizeof sst[0]);
	memcpy(smod[0], mods, sizeof smod[0]);
	const char *offs[1] = { "o" };
	buf_printf(&G->kern, "__global__ void %s(const %s *__restrict__ x, %s *__restrict__ y)\n{\n"
		   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
		   "\t     i += (int64_t)gridDim.x * blockDim.x) {\n\t\tint64_t o = %lldLL;\n",
		   kname, ctype(T(G, x)->dtype), ctype(ty->dtype), (long long)n, (long long)base);
	emit_split(&G->kern, "\t\t", "i", ty->ndim, ty->shape, 1, sst, smod, offs);
	buf_printf(&G->kern, "\t\tkb_st(&y[i], kb_ld(x[o]));\n\t}\n}\n");
	char px[128], py[128], args[300];
	ptr(G, x, false, px, sizeof px);
	ptr(G, y, true, py, sizeof py);
	snprintf(args, sizeof args, "%s, %s", px, py);
	if (n > 0)
		launch(G, kname, grid_for(n), args);
}

static int emit_gather(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	int x = graph_op_input(op, 0), y = op->outputs[0];
	if (x < 0)
		return 1;
	const struct graph_tensor *tx = T(G, x), *ty = T(G, y);
	int64_t cs[KBREED_MAX_DIMS], st[KBREED_MAX_DIMS] = { 0 }, mods[KBREED_MAX_DIMS] = { 0 };
	int64_t base = 0, l[GRAPH_MAX_LIST];
	contig_strides(tx, cs);
	int nd = tx->ndim;
	if (!strcmp(b, "permute")) {
		int k = attr_ints(op, "dims", l, GRAPH_MAX_LIST);
		if (k != nd || ty->ndim != nd)
			return 1;
		for (int d = 0; d < nd; d++)
			st[d] = cs[norm_dim(l[d], nd)];
	} else if (!strcmp(b, "transpose") || !strcmp(b, "t") || !strcmp(b, "numpy_T") || !strcmp(b, "movedim")) {
		for (int d = 0; d < nd; d++)
			st[d] = cs[d];
		if (!strcmp(b, "numpy_T")) {
			for (int d = 0; d < nd; d++)
				st[d] = cs[nd - 1 - d];
		} else if (nd >= 2 || strcmp(b, "t")) {
			int d0 = nd >= 2 ? 0 : 0, d1 = nd >= 2 ? 1 : 0;
			if (strcmp(b, "t")) {
				d0 = norm_dim(attr_int(op, strcmp(b, "movedim") ? "dim0" : "source", 0), nd);
				d1 = norm_dim(attr_int(op, strcmp(b, "movedim") ? "dim1" : "destination", 0), nd);
			}
			if (!strcmp(b, "movedim")) {
				int perm[KBREED_MAX_DIMS], o = 0;
				for (int d = 0; d < nd; d++)
					if (d != d0)
						perm[o++] = d;
				for (int d = nd - 1; d > d1; d--)
					perm[d] = perm[d - 1];
				perm[d1] = d0;
				for (int d = 0; d < nd; d++)
					st[d] = cs[perm[d]];
			} else {
				st[d0] = cs[d1];
				st[d1] = cs[d0];
			}
		}
	} else if (!strcmp(b, "expand") || !strcmp(b, "expand_as") || !strcmp(b, "broadcast_to")) {
		if (bcast_strides(tx, ty, st))
			return 1;
	} else if (!strcmp(b, "repeat")) {
		int off = ty->ndim - nd;
		if (off < 0)
			return 1;
		for (int d = 0; d < ty->ndim; d++) {
			int di = d - off;
			st[d] = di < 0 ? 0 : cs[di];
			mods[d] = di < 0 ? 0 : tx->shape[di];
		}
	} else if (!strcmp(b, "slice") || !strcmp(b, "narrow")) {
		int d = norm_dim(attr_int(op, "dim", 0), nd);
		int64_t size = tx->shape[d];
		int64_t start = attr_int(op, "start", 0), step = attr_int(op, "step", 1);
		if (start < 0)
			start += size;
		if (start < 0)
			start = 0;
		if (start > size)
			start = size;
		for (int k = 0; k < nd; k++)
			st[k] = cs[k];
		st[d] = cs[d] * step;
		base = start * cs[d];
	} else if (!strcmp(b, "select")) {
		int d = norm_dim(attr_int(op, "dim", 0), nd);
		int64_t idx = attr_int(op, "index", 0);
		if (idx < 0)
			idx += tx->shape[d];
		base = idx * cs[d];
		for (int k = 0, o = 0; k < nd; k++)
			if (k != d)
				st[o++] = cs[k];
	} else if (!strcmp(b, "flip")) {
		int k = attr_ints(op, "dims", l, GRAPH_MAX_LIST);
		for (int d = 0; d < nd; d++)
			st[d] = cs[d];
		for (int i = 0; i < k; i++) {
			int d = norm_dim(l[i], nd);
			st[d] = -cs[d];
			base += (tx->shape[d] - 1) * cs[d];
		}
	} else if (!strcmp(b, "diagonal") || (!strcmp(b, "diag") && nd == 2)) {
		int64_t off = attr_int(op, strcmp(b, "diag") ? "offset" : "diagonal", 0);
		int d1 = norm_dim(attr_int(op, "dim1", 0), nd), d2 = norm_dim(attr_int(op, "dim2", 1), nd);
		int o = 0;
		for (int k = 0; k < nd; k++)
			if (k != d1 && k != d2)
				st[o++] = cs[k];
		st[o] = cs[d1] + cs[d2];
		base = off >= 0 ? off * cs[d2] : -off * cs[d1];
	} else if (!strcmp(b, "as_strided")) {
		int k = attr_ints(op, "stride", l, GRAPH_MAX_LIST);
		if (k != ty->ndim)
			return 1;
		for (int d = 0; d < k; d++)
			st[d] = l[d];
		base = attr_int(op, "storage_offset", 0);
	} else {
		return 1;
	}
	emit_gather_kernel(G, op, x, y, base, st, mods);
	return 0;
}

/* ---- triangles and diagonals ---- */

static int emit_triangle(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	int x = graph_op_input(op, 0), y = op->outputs[0];
	const struct graph_tensor *ty = T(G, y);
	char kname[96], px[128], py[128], args[300];
	int64_t n = numel(ty);
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	ptr(G, x, false, px, sizeof px);
	ptr(G, y, true, py, sizeof py);
	snprintf(args, sizeof args, "%s, %s", px, py);
	const char *xt = ctype(T(G, x)->dtype), *yt = ctype(ty->dtype);
	buf_printf(&G->kern, "__global__ void %s(const %s *__restrict__ x, %s *__restrict__ y)\n{\n"
		   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
		   "\t     i += (int64_t)gridDim.x * blockDim.x) {\n", kname, xt, yt, (long long)n);
	if (!strcmp(b, "triu") || !strcmp(b, "tril")) {
		if (ty->ndim < 2)
			return 1;
		int64_t H = ty->shape[ty->ndim - 2], W = ty->shape[ty->ndim - 1];
		int64_t k = attr_int(op, "diagonal", 0);
		buf_printf(&G->kern, "\t\tint64_t col = i %% %lld, row = (i / %lld) %% %lld;\n"
			   "\t\tkb_st(&y[i], col - row %s %lld ? kb_ld(x[i]) : (real)0);\n",
			   (long long)W, (long long)W, (long long)H, b[3] == 'u' ? ">=" : "<=", (long long)k);
	} else {   /* diag_embed / diag of a vector: (..., m) -> (..., m+|k|, m+|k|) */
		int64_t k = attr_int(op, strcmp(b, "diag") ? "offset" : "diagonal", 0);
		int64_t M = ty->shape[ty->ndim - 1], m = T(G, x)->shape[T(G, x)->ndim - 1];
		if (!strcmp(b, "diag_embed") && (attr_int(op, "dim1", -2) != -2 && attr_int(op, "dim1", -2) != ty->ndim - 2))
			return 1;
		buf_printf(&G->kern, "\t\tint64_t col = i %% %lld, row = (i / %lld) %% %lld, batch = i / (%lldLL * %lld);\n"
			   "\t\tint64_t j = %s;\n"
			   "\t\tkb_st(&y[i], col - row == %lld ? kb_ld(x[batch * %lld + j]) : (real)0);\n",
			   (long long)M, (long long)M, (long long)M, (long long)M, (long long)M,
			   k >= 0 ? "row" : "col", (long long)k, (long long)m);
	}
	buf_printf(&G->kern, "\t}\n}\n");
	if (n > 0)
		launch(G, kname, grid_for(n), args);
	return 0;
}

/* ---- concatenation ---- */

static int emit_cat(struct gen *G, const struct graph_op *op)
{
	int y = op->outputs[0];
	const struct graph_tensor *ty = T(G, y);
	int d = norm_dim(attr_int(op, "dim", 0), ty->ndim);
	int64_t inner = 1;
	for (int k = d + 1; k < ty->ndim; k++)
		inner *= ty->shape[k];
	int64_t D = ty->shape[d], n = numel(ty);
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	buf_printf(&G->kern, "__global__ void %s(", kname);
	char args[4096] = "";
	size_t al = 0;
	int used[GRAPH_MAX_OP_INPUTS], nu = 0;
	for (int k = 0; k < op->n_args; k++) {
		const struct graph_tensor *tk = T(G, op->args[k].tensor);
		if (numel(tk) == 0)
			continue;
		if (tk->ndim != ty->ndim)
			return 1;
		used[nu++] = op->args[k].tensor;
		buf_printf(&G->kern, "const %s *__restrict__ x%d, ", ctype(tk->dtype), nu - 1);
		char p[128];
		ptr(G, op->args[k].tensor, false, p, sizeof p);
		al += snprintf(args + al, sizeof args - al, "%s, ", p);
	}
	char py[128];
	ptr(G, y, true, py, sizeof py);
	snprintf(args + al, sizeof args - al, "%s", py);
	buf_printf(&G->kern, "%s *__restrict__ y)\n{\n"
		   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
		   "\t     i += (int64_t)gridDim.x * blockDim.x) {\n"
		   "\t\tint64_t in = i %% %lld, c = (i / %lld) %% %lld, outer = i / (%lldLL * %lld);\n",
		   ctype(ty->dtype), (long long)n, (long long)inner, (long long)inner, (long long)D,
		   (long long)inner, (long long)D);
	int64_t start = 0;
	for (int k = 0; k < nu; k++) {
		int64_t s = T(G, used[k])->shape[d];
		buf_printf(&G->kern, "\t\t%sif (c < %lld) kb_st(&y[i], kb_ld(x%d[(outer * %lld + (c - %lld)) * %lld + in]));\n",
			   k ? "else " : "", (long long)(start + s), k, (long long)s, (long long)start, (long long)inner);
		start += s;
	}
	buf_printf(&G->kern, "\t}\n}\n");
	if (n > 0)
		launch(G, kname, grid_for(n), args);
	return 0;
}

/* ---- reductions ---- */

enum red_kind { RED_SUM, RED_MEAN, RED_PROD, RED_MAX, RED_MIN, RED_NORM, RED_VAR, RED_STD, RED_ANY, RED_ALL };

struct red {
	enum red_kind kind;
	double p;             /* RED_NORM order */
	double correction;    /* RED_VAR, RED_STD */
	bool arg;             /* indices wanted (max.dim, argmax) */
	int y, yi;            /* value and index outputs, -1 when absent */
	const char *elem;     /* per element expression in x0 (and x1), as real */
	int x, x2;            /* inputs; x2 -1 unless elem reads x1 */
	bool dims[KBREED_MAX_DIMS];  /* reduced dims of x */
	double final_scale;   /* losses: 1/numel for mean */
};

static void red_combine(struct buf *b, const struct red *r, const char *acc, const char *v, const char *ai,
			const char *vi)
{
	switch (r->kind) {
	case RED_PROD: buf_printf(b, "%s *= %s;", acc, v); break;
	case RED_MAX: case RED_MIN:
		buf_printf(b, "if ((%s %s %s) || (%s != %s && %s == %s) || ((%s == %s || (%s != %s && %s != %s)) && %s < %s)) { %s = %s; %s = %s; }",
			   v, r->kind == RED_MAX ? ">" : "<", acc, v, v, acc, acc, v, acc, v, v, acc, acc, vi, ai,
			   acc, v, ai, vi);
		break;
	case RED_NORM:
		if (isinf(r->p)) {
			buf_printf(b, "if (%s > %s || %s != %s) %s = %s;", v, acc, v, v, acc, v);
			break;
		}
		/* fall through */
	default: buf_printf(b, "%s += %s;", acc, v); break;
	}
}

static int emit_reduce_kernel(struct gen *G, const struct graph_op *op, struct red *r)
{
	const struct graph_tensor *tx = T(G, r->x);
	int nd = tx->ndim;
	int64_t cs[KBREED_MAX_DIMS];
	contig_strides(tx, cs);
	int64_t kshape[KBREED_MAX_DIMS], rshape[KBREED_MAX_DIMS];
	int64_t kst[1][KBREED_MAX_DIMS], rst[1][KBREED_MAX_DIMS];
	int nk = 0, nr = 0;
	int64_t NO = 1, R = 1;
	for (int d = 0; d < nd; d++) {
		if (r->dims[d]) {
			rshape[nr] = tx->shape[d];
			rst[0][nr++] = cs[d];
			R *= tx->shape[d];
		} else {
			kshape[nk] = tx->shape[d];
			kst[0][nk++] = cs[d];
			NO *= tx->shape[d];
		}
	}
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	if (r->y >= 0)
		place(G, r->y);
	if (r->yi >= 0)
		place(G, r->yi);
	const char *init = "0.0";
	if (r->kind == RED_PROD) init = "1.0";
	if (r->kind == RED_MAX || (r->kind == RED_NORM && isinf(r->p))) init = r->kind == RED_MAX ? "-INFINITY" : "0.0";
	if (r->kind == RED_MIN) init = "INFINITY";
	const char *yt = r->y >= 0 ? ctype(T(G, r->y)->dtype) : "float";
	buf_printf(&G->kern, "__global__ void %s(const %s *__restrict__ a0, const %s *__restrict__ a1, %s *__restrict__ y, int64_t *__restrict__ yi)\n{\n"
		   "\t__shared__ double sh[%d];\n\t__shared__ int64_t shi[%d];\n"
		   "\tfor (int64_t o = blockIdx.x; o < %lldLL; o += gridDim.x) {\n\t\tint64_t base = 0;\n",
		   kname, ctype(tx->dtype), r->x2 >= 0 ? ctype(T(G, r->x2)->dtype) : "float", yt,
		   GEN_THREADS, GEN_THREADS, (long long)NO);
	const char *ob[1] = { "base" }, *oo[1] = { "off" };
	emit_split(&G->kern, "\t\t", "o", nk, kshape, 1, kst, NULL, ob);
	/* The element loop, twice for variances (mean first). */
	bool two = r->kind == RED_VAR || r->kind == RED_STD;
	buf_printf(&G->kern, "\t\tdouble mean = 0.0;\n");
	for (int pass = two ? 0 : 1; pass < 2; pass++) {
		buf_printf(&G->kern, "\t\tdouble acc = %s;\n\t\tint64_t ai = INT64_MAX;\n"
			   "\t\tfor (int64_t j = threadIdx.x; j < %lldLL; j += blockDim.x) {\n\t\t\tint64_t off = base;\n",
			   pass == 0 ? "0.0" : init, (long long)R);
		emit_split(&G->kern, "\t\t\t", "j", nr, rshape, 1, rst, NULL, oo);
		buf_printf(&G->kern, "\t\t\treal x0 = kb_ld(a0[off]);\n");
		if (r->x2 >= 0)
			buf_printf(&G->kern, "\t\t\treal x1 = kb_ld(a1[off]);\n");
		char ve[600];
		if (pass == 0)
			snprintf(ve, sizeof ve, "(double)x0");
		else if (two)
			snprintf(ve, sizeof ve, "((double)x0 - mean) * ((double)x0 - mean)");
		else if (r->kind == RED_NORM)
			snprintf(ve, sizeof ve, isinf(r->p) ? "fabs((double)x0)" : r->p == 2 ? "(double)x0 * (double)x0" :
				 r->p == 1 ? "fabs((double)x0)" : "pow(fabs((double)x0), %.17g)", r->p);
		else if (r->kind == RED_ANY || r->kind == RED_ALL)
			snprintf(ve, sizeof ve, "(double)(x0 %s (real)0)", r->kind == RED_ANY ? "!=" : "==");
		else
			snprintf(ve, sizeof ve, "(double)(%s)", r->elem ? r->elem : "x0");
		buf_printf(&G->kern, "\t\t\tdouble v = %s;\n\t\t\tint64_t vi = j;\n\t\t\t(void)vi;\n\t\t\t", ve);
		struct red plain = *r;
		if (pass == 0)
			plain.kind = RED_SUM;
		red_combine(&G->kern, &plain, "acc", "v", "ai", "vi");
		buf_printf(&G->kern, "\n\t\t}\n\t\tsh[threadIdx.x] = acc;\n\t\tshi[threadIdx.x] = ai;\n\t\t__syncthreads();\n"
			   "\t\tfor (int w = blockDim.x / 2; w > 0; w >>= 1) {\n"
			   "\t\t\tif (threadIdx.x < w) {\n\t\t\t\tdouble v = sh[threadIdx.x + w];\n\t\t\t\tint64_t vi = shi[threadIdx.x + w];\n"
			   "\t\t\t\tacc = sh[threadIdx.x];\n\t\t\t\tai = shi[threadIdx.x];\n\t\t\t\t");
		red_combine(&G->kern, &plain, "acc", "v", "ai", "vi");
		buf_printf(&G->kern, "\n\t\t\t\tsh[threadIdx.x] = acc;\n\t\t\t\tshi[threadIdx.x] = ai;\n\t\t\t}\n\t\t\t__syncthreads();\n\t\t}\n"
			   "\t\tacc = sh[0];\n\t\tai = shi[0];\n\t\t__syncthreads();\n");
		if (pass == 0)
			buf_printf(&G->kern, "\t\tmean = acc / %lld.0;\n", (long long)R);
	}
	const char *fin = "acc";
	char fb[200];
	switch (r->kind) {
	case RED_MEAN: snprintf(fb, sizeof fb, "acc / %lld.0", (long long)R); fin = fb; break;
	case RED_NORM:
		if (r->p == 2) fin = "sqrt(acc)";
		else if (r->p != 1 && !isinf(r->p)) { snprintf(fb, sizeof fb, "pow(acc, 1.0 / %.17g)", r->p); fin = fb; }
		break;
	case RED_VAR: case RED_STD:
		snprintf(fb, sizeof fb, "%s(acc / (%lld.0 - %.17g))", r->kind == RED_STD ? "sqrt" : "",
			 (long long)R, r->correction);
		fin = fb;
		break;
	case RED_ANY: fin = "(double)(acc != 0.0)"; break;
	case RED_ALL: fin = "(double)(acc == 0.0)"; break;
	default:
		if (r->final_scale != 1) { snprintf(fb, sizeof fb, "acc * %.17g", r->final_scale); fin = fb; }
		break;
	}
	buf_printf(&G->kern, "\t\tif (threadIdx.x == 0) {\n");
	if (r->y >= 0)
		buf_printf(&G->kern, "\t\t\tkb_st(&y[o], %s);\n", fin);
	if (r->yi >= 0)
		buf_printf(&G->kern, "\t\t\tyi[o] = ai;\n");
	buf_printf(&G->kern, "\t\t}\n\t}\n}\n");
	char px[128], px2[128] = "(const float *)0", py[128] = "(float *)0", pyi[128] = "(int64_t *)0", args[600];
	ptr(G, r->x, false, px, sizeof px);
	if (r->x2 >= 0)
		ptr(G, r->x2, false, px2, sizeof px2);
	if (r->y >= 0)
		ptr(G, r->y, true, py, sizeof py);
	if (r->yi >= 0)
		ptr(G, r->yi, true, pyi, sizeof pyi);
	snprintf(args, sizeof args, "%s, %s, %s, %s", px, px2, py, pyi);
	if (NO > 0 && R > 0)
		launch(G, kname, grid_blocks(NO), args);
	return 0;
}

static int emit_reduce(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	struct red r = { .y = op->outputs[0], .yi = -1, .x = graph_op_input(op, 0), .x2 = -1, .p = 2,
			 .final_scale = 1 };
	if (r.x < 0)
		return 1;
	const struct graph_tensor *tx = T(G, r.x);
	int nd = tx->ndim;
	if (!strcmp(b, "sum")) r.kind = RED_SUM;
	else if (!strcmp(b, "mean")) r.kind = RED_MEAN;
	else if (!strcmp(b, "prod")) r.kind = RED_PROD;
	else if (!strcmp(b, "amax") || !strcmp(b, "max")) r.kind = RED_MAX;
	else if (!strcmp(b, "amin") || !strcmp(b, "min")) r.kind = RED_MIN;
	else if (!strcmp(b, "argmax")) { r.kind = RED_MAX; r.arg = true; }
	else if (!strcmp(b, "argmin")) { r.kind = RED_MIN; r.arg = true; }
	else if (!strcmp(b, "any")) r.kind = RED_ANY;
	else if (!strcmp(b, "all")) r.kind = RED_ALL;
	else if (!strcmp(b, "var") || !strcmp(b, "std")) {
		r.kind = b[0] == 'v' ? RED_VAR : RED_STD;
		r.correction = attr_num(op, "correction", attr_int(op, "unbiased", 1) ? 1 : 0);
	} else if (!strcmp(b, "norm") || !strcmp(b, "linalg_vector_norm") || !strcmp(b, "frobenius_norm")) {
		r.kind = RED_NORM;
		const struct graph_attr *pa = graph_op_attr(op, strcmp(b, "norm") ? "ord" : "p");
		if (pa && pa->value.type == GRAPH_STRING)
			r.p = 2;   /* 'fro' */
		else if (pa && (pa->value.type == GRAPH_FLOAT || pa->value.type == GRAPH_INT))
			r.p = pa->value.type == GRAPH_FLOAT ? pa->value.f : (double)pa->value.i;
		if (r.p == 0 || isinf(r.p) < 0)
			return 1;
	} else
		return 1;
	int64_t l[GRAPH_MAX_LIST];
	int k = attr_ints(op, "dim", l, GRAPH_MAX_LIST);
	for (int d = 0; d < nd; d++)
		r.dims[d] = k == 0;
	for (int i = 0; i < k; i++)
		r.dims[norm_dim(l[i], nd)] = true;
	if (r.arg) {
		r.yi = r.y;
		r.y = -1;
	} else if ((r.kind == RED_MAX || r.kind == RED_MIN) && op->n_outputs >= 2) {
		r.yi = op->outputs[1];   /* max.dim: (values, indices) */
	}
	if (r.yi >= 0 && T(G, r.yi)->dtype != KB_I64)
		return 1;
	return emit_reduce_kernel(G, op, &r);
}

/* ---- losses ---- */

static int emit_loss(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	int x = graph_op_input(op, 0), t = graph_op_input(op, 1);
	if (x < 0 || t < 0 || numel(T(G, x)) != numel(T(G, t)))
		return 1;
	char e[512], a[64];
	if (!strcmp(b, "mse_loss"))
		snprintf(e, sizeof e, "(x0 - x1) * (x0 - x1)");
	else if (!strcmp(b, "l1_loss"))
		snprintf(e, sizeof e, "fabs(x0 - x1)");
	else if (!strcmp(b, "smooth_l1_loss")) {
		double beta = attr_num(op, "beta", 1);
		fmt_num(a, sizeof a, beta);
		if (beta == 0)
			snprintf(e, sizeof e, "fabs(x0 - x1)");
		else
			snprintf(e, sizeof e, "(fabs(x0 - x1) < %s ? (real)0.5 * (x0 - x1) * (x0 - x1) / %s : fabs(x0 - x1) - (real)0.5 * %s)", a, a, a);
	} else if (!strcmp(b, "huber_loss")) {
		fmt_num(a, sizeof a, attr_num(op, "delta", 1));
		snprintf(e, sizeof e, "(fabs(x0 - x1) < %s ? (real)0.5 * (x0 - x1) * (x0 - x1) : %s * (fabs(x0 - x1) - (real)0.5 * %s))", a, a, a);
	} else if (!strcmp(b, "soft_margin_loss"))
		snprintf(e, sizeof e, "log1p(exp(-x0 * x1))");
	else
		return 1;
	int64_t red = attr_int(op, "reduction", 1);
	int y = op->outputs[0];
	if (red == 0) {
		int xs[2] = { x, t };
		char kname[96];
		kernel_head(G, op, kname, sizeof kname);
		place(G, y);
		emit_pointwise_expr(G, op, kname, y, xs, 2, e);
		return 0;
	}
	struct red r = { .kind = RED_SUM, .y = y, .yi = -1, .x = x, .x2 = t, .elem = e,
			 .final_scale = red == 1 ? 1.0 / (double)numel(T(G, x)) : 1.0 };
	for (int d = 0; d < KBREED_MAX_DIMS; d++)
		r.dims[d] = true;
	return emit_reduce_kernel(G, op, &r);
}

/* ---- softmax ---- */

/* softmax, log_softmax, and _safe_softmax (PyTorch's attention without a
 * fused kernel: a row whose every element is -inf, all masked, gives zeros
 * instead of NaN). */
static int emit_softmax(struct gen *G, const struct graph_op *op)
{
	bool logsm = strstr(op->name, "log_softmax") != NULL;
	bool safe = !strcmp(base_name(op->name), "_safe_softmax");
	int x = graph_op_input(op, 0), y = op->outputs[0];
	const struct graph_tensor *tx = T(G, x);
	int d = norm_dim(attr_int(op, "dim", -1), tx->ndim);
	int64_t D = tx->ndim ? tx->shape[d] : 1, inner = 1;
	for (int k = d + 1; k < tx->ndim; k++)
		inner *= tx->shape[k];
	int64_t rows = D ? numel(tx) / D : 0;
	char kname[96], px[128], py[128], args[300];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	buf_printf(&G->kern, "__global__ void %s(const %s *__restrict__ x, %s *__restrict__ y)\n{\n"
		   "\t__shared__ double sh[%d];\n"
		   "\tfor (int64_t row = blockIdx.x; row < %lldLL; row += gridDim.x) {\n"
		   "\t\tint64_t base = (row / %lld) * %lldLL + row %% %lld;\n"
		   "\t\tdouble m = -INFINITY;\n"
		   "\t\tfor (int64_t j = threadIdx.x; j < %lld; j += blockDim.x) {\n"
		   "\t\t\tdouble v = (double)kb_ld(x[base + j * %lld]);\n\t\t\tif (v > m || v != v) m = v;\n\t\t}\n"
		   "\t\tm = kb_block_reduce<%d>(m, sh, kb_max_nan(), (double)-INFINITY);\n"
		   "\t\tdouble sum = 0.0;\n"
		   "\t\tfor (int64_t j = threadIdx.x; j < %lld; j += blockDim.x)\n"
		   "\t\t\tsum += exp((double)kb_ld(x[base + j * %lld]) - m);\n"
		   "\t\tsum = kb_block_reduce<%d>(sum, sh, kb_sum(), 0.0);\n"
		   "\t\tfor (int64_t j = threadIdx.x; j < %lld; j += blockDim.x) {\n"
		   "\t\t\tdouble v = (double)kb_ld(x[base + j * %lld]) - m;\n"
		   "\t\t\tkb_st(&y[base + j * %lld], %s);\n\t\t}\n\t}\n}\n",
		   kname, ctype(tx->dtype), ctype(T(G, y)->dtype), GEN_WARPS, (long long)rows,
		   (long long)inner, (long long)(D * inner), (long long)inner, (long long)D, (long long)inner,
		   GEN_WARPS, (long long)D, (long long)inner, GEN_WARPS, (long long)D, (long long)inner,
		   (long long)inner, logsm ? "v - log(sum)" : safe ? "m == -INFINITY ? 0.0 : exp(v) / sum" : "exp(v) / sum");
	G->block_reduce = true;
	ptr(G, x, false, px, sizeof px);
	ptr(G, y, true, py, sizeof py);
	snprintf(args, sizeof args, "%s, %s", px, py);
	if (rows > 0)
		launch(G, kname, grid_blocks(rows), args);
	return 0;
}

/* ---- scans ---- */

static int emit_scan(struct gen *G, const struct graph_op *op)
{
	bool prod = strstr(op->name, "cumprod") != NULL;
	int x = graph_op_input(op, 0), y = op->outputs[0];
	const struct graph_tensor *tx = T(G, x);
	int d = norm_dim(attr_int(op, "dim", 0), tx->ndim);
	int64_t D = tx->ndim ? tx->shape[d] : 1, inner = 1;
	for (int k = d + 1; k < tx->ndim; k++)
		inner *= tx->shape[k];
	int64_t lines = D ? numel(tx) / D : 0;
	char kname[96], px[128], py[128], args[300];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	buf_printf(&G->kern, "__global__ void %s(const %s *__restrict__ x, %s *__restrict__ y)\n{\n"
		   "\tfor (int64_t line = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; line < %lldLL;\n"
		   "\t     line += (int64_t)gridDim.x * blockDim.x) {\n"
		   "\t\tint64_t base = (line / %lld) * %lldLL + line %% %lld;\n"
		   "\t\tdouble acc = %s;\n"
		   "\t\tfor (int64_t j = 0; j < %lld; j++) {\n"
		   "\t\t\tacc %s= (double)kb_ld(x[base + j * %lld]);\n"
		   "\t\t\tkb_st(&y[base + j * %lld], acc);\n\t\t}\n\t}\n}\n",
		   kname, ctype(tx->dtype), ctype(T(G, y)->dtype), (long long)lines, (long long)inner,
		   (long long)(D * inner), (long long)inner, prod ? "1.0" : "0.0", (long long)D, prod ? "*" : "+",
		   (long long)inner, (long long)inner);
	ptr(G, x, false, px, sizeof px);
	ptr(G, y, true, py, sizeof py);
	snprintf(args, sizeof args, "%s, %s", px, py);
	if (lines > 0)
		launch(G, kname, grid_for(lines), args);
	return 0;
}

/* ---- norms ---- */

/* Writes a per-group statistic output when the graph kept it with n elements. */
static void stat_arg(struct gen *G, const struct graph_op *op, int k, int64_t n, char *out, size_t len,
		     const char **type)
{
	*type = "float";
	snprintf(out, len, "(float *)0");
	if (k < op->n_outputs && numel(T(G, op->outputs[k])) == n && n > 0) {
		place(G, op->outputs[k]);
		ptr(G, op->outputs[k], true, out, len);
		*type = ctype(T(G, op->outputs[k])->dtype);
	}
}

/* Layer, group, batch and instance norm: one block per statistics group.
 * Element j of group g sits at base(g) + (j / inner_len) * outer_step + j % inner_len,
 * and uses channel ch(g, j) for its weight and bias. */
static int emit_norm(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	int x = graph_op_input(op, 0), y = op->outputs[0];
	int w = graph_op_arg(op, "weight"), bias = graph_op_arg(op, "bias");
	const struct graph_tensor *tx = T(G, x);
	int64_t n = numel(tx);
	double eps = attr_num(op, "eps", 1e-5);
	/* groups, elements per group, and the element/channel maps */
	int64_t groups, len, inner_len, outer_step, gstride;
	char chexpr[300];
	bool use_running = false;
	int rm = -1, rv = -1;
	if (!strcmp(b, "native_layer_norm") || !strcmp(b, "layer_norm")) {
		int64_t l[GRAPH_MAX_LIST];
		int k = attr_ints(op, "normalized_shape", l, GRAPH_MAX_LIST);
		len = 1;
		for (int i = 0; i < k; i++)
			len *= l[i];
		groups = len ? n / len : 0;
		inner_len = len; outer_step = 0; gstride = len;
		snprintf(chexpr, sizeof chexpr, "j");
	} else if (!strcmp(b, "native_group_norm") || !strcmp(b, "group_norm")) {
		int64_t G_ = attr_int(op, strcmp(b, "group_norm") ? "group" : "num_groups", 1);
		int64_t N = tx->shape[0], C = tx->shape[1], HW = C ? n / (N * C) : 0;
		groups = N * G_;
		len = (C / G_) * HW;
		inner_len = len; outer_step = 0; gstride = len;
		snprintf(chexpr, sizeof chexpr, "(g %% %lld) * %lld + j / %lld", (long long)G_, (long long)(C / G_),
			 (long long)(HW ? HW : 1));
	} else {   /* batch norm family: statistics per channel over (N, spatial) */
		int64_t N = tx->shape[0], C = tx->ndim > 1 ? tx->shape[1] : 1, HW = (N && C) ? n / (N * C) : 0;
		bool training = attr_int(op, "training", strstr(b, "no_training") ? 0 : 1);
		if (strstr(b, "no_training"))
			training = false;
		rm = graph_op_arg(op, "running_mean");
		rv = graph_op_arg(op, "running_var");
		use_running = !training;
		if (use_running && (rm < 0 || rv < 0))
			return 1;
		groups = C;
		len = N * HW;
		inner_len = HW; outer_step = C * HW; gstride = HW;
		snprintf(chexpr, sizeof chexpr, "g");
	}
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	const char *wt = w >= 0 ? ctype(T(G, w)->dtype) : "float", *bt = bias >= 0 ? ctype(T(G, bias)->dtype) : "float";
	const char *rmt = rm >= 0 ? ctype(T(G, rm)->dtype) : "float", *rvt = rv >= 0 ? ctype(T(G, rv)->dtype) : "float";
	char pmean[128], prstd[128];
	const char *mt, *rt;
	stat_arg(G, op, 1, groups, pmean, sizeof pmean, &mt);
	stat_arg(G, op, 2, groups, prstd, sizeof prstd, &rt);
	buf_printf(&G->kern, "__global__ void %s(const %s *__restrict__ x, const %s *__restrict__ w, const %s *__restrict__ b,\n"
		   "\tconst %s *__restrict__ rmean, const %s *__restrict__ rvar, %s *__restrict__ y, %s *__restrict__ smean, %s *__restrict__ srstd)\n{\n"
		   "\t__shared__ double sh[%d];\n"
		   "\tfor (int64_t g = blockIdx.x; g < %lldLL; g += gridDim.x) {\n"
		   "\t\tint64_t base = g * %lldLL;\n"
		   "\t\tdouble mean, rstd;\n",
		   kname, ctype(tx->dtype), wt, bt, rmt, rvt, ctype(T(G, y)->dtype), mt, rt, GEN_WARPS,
		   (long long)groups, (long long)gstride);
#define ELEM "base + (j / %lld) * %lldLL + j %% %lld"
	char el[200];
	snprintf(el, sizeof el, ELEM, (long long)(inner_len ? inner_len : 1), (long long)outer_step,
		 (long long)(inner_len ? inner_len : 1));
#undef ELEM
	if (use_running) {
		buf_printf(&G->kern, "\t\tmean = (double)kb_ld(rmean[g]);\n\t\trstd = 1.0 / sqrt((double)kb_ld(rvar[g]) + %.17g);\n", eps);
	} else {
		buf_printf(&G->kern, "\t\tdouble s = 0.0;\n"
			   "\t\tfor (int64_t j = threadIdx.x; j < %lldLL; j += blockDim.x)\n\t\t\ts += (double)kb_ld(x[%s]);\n"
			   "\t\tmean = kb_block_reduce<%d>(s, sh, kb_sum(), 0.0) / %lld.0;\n"
			   "\t\tdouble q = 0.0;\n"
			   "\t\tfor (int64_t j = threadIdx.x; j < %lldLL; j += blockDim.x) {\n"
			   "\t\t\tdouble v = (double)kb_ld(x[%s]) - mean;\n\t\t\tq += v * v;\n\t\t}\n"
			   "\t\trstd = 1.0 / sqrt(kb_block_reduce<%d>(q, sh, kb_sum(), 0.0) / %lld.0 + %.17g);\n",
			   (long long)len, el, GEN_WARPS, (long long)len, (long long)len, el, GEN_WARPS, (long long)len, eps);
		G->block_reduce = true;
	}
	buf_printf(&G->kern, "\t\tif (threadIdx.x == 0 && smean) kb_st(&smean[g], mean);\n"
		   "\t\tif (threadIdx.x == 0 && srstd) kb_st(&srstd[g], rstd);\n"
		   "\t\tfor (int64_t j = threadIdx.x; j < %lldLL; j += blockDim.x) {\n"
		   "\t\t\tint64_t i = %s, ch = %s;\n\t\t\t(void)ch;\n"
		   "\t\t\tdouble v = ((double)kb_ld(x[i]) - mean) * rstd;\n"
		   "%s%s"
		   "\t\t\tkb_st(&y[i], v);\n\t\t}\n\t}\n}\n",
		   (long long)len, el, chexpr, w >= 0 ? "\t\t\tv *= (double)kb_ld(w[ch]);\n" : "",
		   bias >= 0 ? "\t\t\tv += (double)kb_ld(b[ch]);\n" : "");
	char px[128], pw[128] = "(const float *)0", pb[128] = "(const float *)0", prm[128] = "(const float *)0",
	     prv[128] = "(const float *)0", py[128], args[1100];
	ptr(G, x, false, px, sizeof px);
	if (w >= 0) ptr(G, w, false, pw, sizeof pw);
	if (bias >= 0) ptr(G, bias, false, pb, sizeof pb);
	if (rm >= 0) ptr(G, rm, false, prm, sizeof prm);
	if (rv >= 0) ptr(G, rv, false, prv, sizeof prv);
	ptr(G, y, true, py, sizeof py);
	snprintf(args, sizeof args, "%s, %s, %s, %s, %s, %s, %s, %s", px, pw, pb, prm, prv, py, pmean, prstd);
	if (groups > 0 && len > 0)
		launch(G, kname, grid_blocks(groups), args);
	/* Other outputs (running statistics of the functional form): not computed. */
	for (int k = 3; k < op->n_outputs; k++) {
		if (numel(T(G, op->outputs[k])) == 0)
			continue;
		why_add(G, "%s's updated running statistics", op->name);
		return 1;
	}
	for (int k = 1; k < 3 && k < op->n_outputs; k++)
		if (G->loc[op->outputs[k]].kind == LOC_NONE)
			place(G, op->outputs[k]);   /* empty or unused statistics: storage only */
	return 0;
}

/* ---- matrix products ---- */

/* Batched C[b, m, n] = alpha * sum_k A[b, m, k] B[b, k, n] + beta * bias[...],
 * operands addressed by strides so that 1-D operands, transposes and
 * broadcast batches need no copies. */
static int emit_matmul(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	int y = op->outputs[0], a, bm, c = -1;
	double alpha = attr_num(op, "alpha", 1), beta = attr_num(op, "beta", 1);
	bool btrans = false;
	if (!strcmp(b, "addmm") || !strcmp(b, "baddbmm") || !strcmp(b, "addmv")) {
		c = graph_op_input(op, 0);
		a = graph_op_input(op, 1);
		bm = graph_op_input(op, 2);
	} else if (!strcmp(b, "linear")) {
		a = graph_op_input(op, 0);
		bm = graph_op_input(op, 1);
		c = graph_op_arg(op, "bias");
		btrans = true;
	} else {
		a = graph_op_input(op, 0);
		bm = graph_op_input(op, 1);
	}
	if (a < 0 || bm < 0)
		return 1;
	const struct graph_tensor *ta = T(G, a), *tb = T(G, bm), *ty = T(G, y);
	if (ta->ndim < 1 || tb->ndim < 1)
		return 1;
	/* Matrix views of the operands. */
	int64_t M, K, N, ask, asm_, bsk, bsn;
	int a_batch = ta->ndim >= 2 ? ta->ndim - 2 : 0, b_batch = tb->ndim >= 2 ? tb->ndim - 2 : 0;
	if (ta->ndim == 1) { M = 1; K = ta->shape[0]; ask = 1; asm_ = 0; }
	else { M = ta->shape[ta->ndim - 2]; K = ta->shape[ta->ndim - 1]; ask = 1; asm_ = K; }
	if (btrans) {   /* weight (N, K) */
		N = tb->shape[0]; bsk = 1; bsn = tb->ndim == 2 ? tb->shape[1] : 0;
		if (tb->shape[tb->ndim - 1] != K)
			return 1;
		b_batch = 0;
	} else if (tb->ndim == 1) { N = 1; bsk = 1; bsn = 0; if (tb->shape[0] != K) return 1; }
	else { N = tb->shape[tb->ndim - 1]; bsk = N; bsn = 1; if (tb->shape[tb->ndim - 2] != K) return 1; }
	int64_t MN = M * N, n = numel(ty), batch = MN ? n / MN : 0;
	if (batch * MN != n)
		return 1;
	/* Batch strides of A and B over the output's batch dims (right-aligned). */
	int ob = ty->ndim - (ta->ndim >= 2 ? 1 : 0) - ((tb->ndim >= 2 && !btrans) || btrans ? 1 : 0);
	if (ta->ndim == 1 && tb->ndim == 1)
		ob = 0;
	if (ob < 0)
		ob = 0;
	int64_t bshape[KBREED_MAX_DIMS], bst[2][KBREED_MAX_DIMS];
	int64_t prod = 1;
	for (int d = 0; d < ob; d++) {
		bshape[d] = ty->shape[d];
		prod *= bshape[d];
	}
	if (prod != batch)
		return 1;
	for (int k = 0; k < 2; k++) {
		const struct graph_tensor *t = k ? tb : ta;
		int nb = k ? b_batch : a_batch;
		int64_t mat = k ? (btrans ? 0 : K * N) : M * K;
		if (k && tb->ndim == 1)
			mat = K;
		int64_t s = mat;
		for (int d = ob - 1; d >= 0; d--) {
			int di = d - (ob - nb);
			if (di < 0 || t->shape[di] == 1) {
				bst[k][d] = 0;
			} else {
				bst[k][d] = s;
			}
			if (di >= 0)
				s *= t->shape[di];
		}
	}
	/* The bias term, broadcast to (batch..., M, N) = the output's shape. */
	int64_t cst[1][KBREED_MAX_DIMS];
	if (c >= 0 && bcast_strides(T(G, c), ty, cst[0]))
		return 1;
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	char al[64], be[64];
	snprintf(al, sizeof al, "%.17g", alpha);
	snprintf(be, sizeof be, "%.17g", beta);
	buf_printf(&G->kern, "/* A (%lld x %lld), B (%lld x %lld), %lld batches; double accumulation */\n"
		   "__global__ void %s(const %s *__restrict__ A, const %s *__restrict__ B, const %s *__restrict__ C, %s *__restrict__ y)\n{\n"
		   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
		   "\t     i += (int64_t)gridDim.x * blockDim.x) {\n"
		   "\t\tint64_t n = i %% %lld, m = (i / %lld) %% %lld, bt = i / %lldLL;\n"
		   "\t\tint64_t ao = m * %lldLL, bo = n * %lldLL;\n",
		   (long long)M, (long long)K, (long long)K, (long long)N, (long long)batch, kname, ctype(ta->dtype),
		   ctype(tb->dtype), c >= 0 ? ctype(T(G, c)->dtype) : "float", ctype(ty->dtype), (long long)n,
		   (long long)N, (long long)N, (long long)M, (long long)MN, (long long)asm_, (long long)bsn);
	const char *offs[2] = { "ao", "bo" };
	if (ob > 0)
		emit_split(&G->kern, "\t\t", "bt", ob, bshape, 2, bst, NULL, offs);
	buf_printf(&G->kern, "\t\tdouble acc = 0.0;\n"
		   "\t\tfor (int64_t k = 0; k < %lldLL; k++)\n"
		   "\t\t\tacc += (double)kb_ld(A[ao + k * %lldLL]) * (double)kb_ld(B[bo + k * %lldLL]);\n",
		   (long long)K, (long long)ask, (long long)bsk);
	if (c >= 0) {
		const char *co[1] = { "co" };
		buf_printf(&G->kern, "\t\tint64_t co = 0;\n");
		emit_split(&G->kern, "\t\t", "i", ty->ndim, ty->shape, 1, cst, NULL, co);
		buf_printf(&G->kern, "\t\tkb_st(&y[i], %s * acc + %s * (double)kb_ld(C[co]));\n\t}\n}\n", al, be);
	} else {
		buf_printf(&G->kern, "\t\tkb_st(&y[i], %s * acc);\n\t}\n}\n", al);
	}
	char pa[128], pb[128], pc[128] = "(const float *)0", py[128], args[600];
	ptr(G, a, false, pa, sizeof pa);
	ptr(G, bm, false, pb, sizeof pb);
	if (c >= 0)
		ptr(G, c, false, pc, sizeof pc);
	ptr(G, y, true, py, sizeof py);
	snprintf(args, sizeof args, "%s, %s, %s, %s", pa, pb, pc, py);
	if (n > 0)
		launch(G, kname, grid_for(n), args);
	return 0;
}

/* ---- convolutions ---- */

/* A spatial list attribute expanded to sd entries (one value repeats). */
static void spatial(const struct graph_op *op, const char *name, int sd, int64_t dflt, int64_t *out)
{
	int64_t l[GRAPH_MAX_LIST];
	int k = attr_ints(op, name, l, GRAPH_MAX_LIST);
	for (int d = 0; d < sd; d++)
		out[d] = k == 0 ? dflt : (k == 1 ? l[0] : (d < k ? l[d] : dflt));
}

static int emit_conv(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	int x = graph_op_input(op, 0), w = graph_op_arg(op, "weight"), bias = graph_op_arg(op, "bias");
	int y = op->outputs[0];
	if (w < 0)
		w = graph_op_input(op, 1);
	if (x < 0 || w < 0)
		return 1;
	const struct graph_tensor *tx = T(G, x), *tw = T(G, w), *ty = T(G, y);
	if (tx->ndim != ty->ndim || tx->ndim < 3 || tx->ndim > 5 || tw->ndim != tx->ndim)
		return 1;   /* unbatched inputs: not covered */
	int sd = tx->ndim - 2;
	bool tr = strstr(b, "transpose") != NULL || attr_int(op, "transposed", 0);
	int64_t stride[3], pad[3], dil[3], groups = attr_int(op, "groups", 1);
	spatial(op, "stride", sd, 1, stride);
	spatial(op, "dilation", sd, 1, dil);
	const char *ps = attr_str(op, "padding");
	if (ps && !strcmp(ps, "same")) {
		for (int d = 0; d < sd; d++)
			pad[d] = dil[d] * (tw->shape[2 + d] - 1) / 2;
	} else {
		spatial(op, "padding", sd, 0, pad);
	}
	int64_t Nb = tx->shape[0], Cin = tx->shape[1], Cout = ty->shape[1];
	int64_t CinG = Cin / groups, CoutG = Cout / groups;
	if (groups < 1 || Cin % groups || Cout % groups)
		return 1;
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	int64_t n = numel(ty);
	buf_printf(&G->kern, "/* %s convolution, %dd: x (%lld, %lld, ...), groups %lld, stride/pad/dil",
		   tr ? "transposed" : "direct", sd, (long long)Nb, (long long)Cin, (long long)groups);
	for (int d = 0; d < sd; d++)
		buf_printf(&G->kern, " %lld/%lld/%lld", (long long)stride[d], (long long)pad[d], (long long)dil[d]);
	buf_printf(&G->kern, "; one thread per output element */\n"
		   "__global__ void %s(const %s *__restrict__ x, const %s *__restrict__ w, const %s *__restrict__ bias, %s *__restrict__ y)\n{\n"
		   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
		   "\t     i += (int64_t)gridDim.x * blockDim.x) {\n\t\tint64_t r = i;\n",
		   kname, ctype(tx->dtype), ctype(tw->dtype), bias >= 0 ? ctype(T(G, bias)->dtype) : "float",
		   ctype(ty->dtype), (long long)n);
	for (int d = sd - 1; d >= 0; d--)
		buf_printf(&G->kern, "\t\tint64_t o%d = r %% %lld; r /= %lld;\n", d, (long long)ty->shape[2 + d],
			   (long long)ty->shape[2 + d]);
	buf_printf(&G->kern, "\t\tint64_t oc = r %% %lld, nb = r / %lld;\n"
		   "\t\tint64_t g = oc / %lld;\n"
		   "\t\tdouble acc = %s;\n"
		   "\t\tfor (int64_t ic = 0; ic < %lld; ic++) {\n"
		   "\t\t\tint64_t c = g * %lld + ic;\n",
		   (long long)Cout, (long long)Cout, (long long)CoutG,
		   bias >= 0 ? "(double)kb_ld(bias[oc])" : "0.0", (long long)CinG, (long long)CinG);
	char ind[16] = "\t\t\t";
	for (int d = 0; d < sd; d++) {
		int64_t Kd = tw->shape[2 + d], Id = tx->shape[2 + d];
		buf_printf(&G->kern, "%sfor (int64_t k%d = 0; k%d < %lld; k%d++) {\n", ind, d, d, (long long)Kd, d);
		if (!tr) {
			buf_printf(&G->kern, "%s\tint64_t i%d = o%d * %lld - %lld + k%d * %lld;\n"
				   "%s\tif (i%d < 0 || i%d >= %lld) continue;\n",
				   ind, d, d, (long long)stride[d], (long long)pad[d], d, (long long)dil[d],
				   ind, d, d, (long long)Id);
		} else {
			buf_printf(&G->kern, "%s\tint64_t t%d = o%d + %lld - k%d * %lld;\n"
				   "%s\tif (t%d < 0 || t%d %% %lld != 0) continue;\n"
				   "%s\tint64_t i%d = t%d / %lld;\n"
				   "%s\tif (i%d >= %lld) continue;\n",
				   ind, d, d, (long long)pad[d], d, (long long)dil[d], ind, d, d, (long long)stride[d],
				   ind, d, d, (long long)stride[d], ind, d, (long long)Id);
		}
		size_t l = strlen(ind);
		ind[l] = '\t';
		ind[l + 1] = 0;
	}
	/* x[nb, c, i...] and w[oc, ic, k...] (w[c, oc % CoutG, k...] when transposed) */
	buf_printf(&G->kern, "%sint64_t xo = nb * %lldLL + c, wo = ", ind, (long long)Cin);
	if (tr)
		buf_printf(&G->kern, "c * %lldLL + oc %% %lld;\n", (long long)CoutG, (long long)CoutG);
	else
		buf_printf(&G->kern, "oc * %lldLL + ic;\n", (long long)CinG);
	for (int d = 0; d < sd; d++)
		buf_printf(&G->kern, "%sxo = xo * %lld + i%d; wo = wo * %lld + k%d;\n", ind, (long long)tx->shape[2 + d],
			   d, (long long)tw->shape[2 + d], d);
	buf_printf(&G->kern, "%sacc += (double)kb_ld(x[xo]) * (double)kb_ld(w[wo]);\n", ind);
	for (int d = sd - 1; d >= 0; d--) {
		ind[strlen(ind) - 1] = 0;
		buf_printf(&G->kern, "%s}\n", ind);
	}
	buf_printf(&G->kern, "\t\t}\n\t\tkb_st(&y[i], acc);\n\t}\n}\n");
	char px[128], pw[128], pb[128] = "(const float *)0", py[128], args[600];
	ptr(G, x, false, px, sizeof px);
	ptr(G, w, false, pw, sizeof pw);
	if (bias >= 0)
		ptr(G, bias, false, pb, sizeof pb);
	ptr(G, y, true, py, sizeof py);
	snprintf(args, sizeof args, "%s, %s, %s, %s", px, pw, pb, py);
	if (n > 0)
		launch(G, kname, grid_for(n), args);
	return 0;
}

/* ---- pooling ---- */

static int emit_pool(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	bool maxp = !strncmp(b, "max_pool", 8);
	int sd = b[maxp ? 8 : 8] - '0';
	if (!maxp)
		sd = b[8] - '0';   /* "avg_pool2d" */
	if (sd < 1 || sd > 3)
		return 1;
	int x = graph_op_input(op, 0), y = op->outputs[0], yi = -1;
	if (maxp && op->n_outputs >= 2)
		yi = op->outputs[1];
	const struct graph_tensor *tx = T(G, x), *ty = T(G, y);
	if (tx->ndim < sd || ty->ndim != tx->ndim)
		return 1;
	int64_t ks[3], stride[3], pad[3], dil[3];
	spatial(op, "kernel_size", sd, 1, ks);
	int64_t l[GRAPH_MAX_LIST];
	if (attr_ints(op, "stride", l, GRAPH_MAX_LIST) == 0)
		memcpy(stride, ks, sizeof stride);
	else
		spatial(op, "stride", sd, 1, stride);
	spatial(op, "padding", sd, 0, pad);
	spatial(op, "dilation", sd, 1, dil);
	bool include_pad = attr_int(op, "count_include_pad", 1);
	int64_t divisor = attr_int(op, "divisor_override", 0);
	int64_t in_plane = 1, out_plane = 1;
	for (int d = 0; d < sd; d++) {
		in_plane *= tx->shape[tx->ndim - sd + d];
		out_plane *= ty->shape[ty->ndim - sd + d];
	}
	char kname[96];
	kernel_head(G, op, kname, sizeof kname);
	place(G, y);
	if (yi >= 0)
		place(G, yi);
	int64_t n = numel(ty);
	buf_printf(&G->kern, "__global__ void %s(const %s *__restrict__ x, %s *__restrict__ y, int64_t *__restrict__ yi)\n{\n"
		   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
		   "\t     i += (int64_t)gridDim.x * blockDim.x) {\n\t\tint64_t r = i;\n",
		   kname, ctype(tx->dtype), ctype(ty->dtype), (long long)n);
	for (int d = sd - 1; d >= 0; d--)
		buf_printf(&G->kern, "\t\tint64_t o%d = r %% %lld; r /= %lld;\n", d,
			   (long long)ty->shape[ty->ndim - sd + d], (long long)ty->shape[ty->ndim - sd + d]);
	buf_printf(&G->kern, "\t\tconst %s *xp = x + r * %lldLL;\n", ctype(tx->dtype), (long long)in_plane);
	if (maxp) {
		buf_printf(&G->kern, "\t\treal m = -INFINITY;\n\t\tint64_t mi = -1;\n");
	} else {
		buf_printf(&G->kern, "\t\tdouble acc = 0.0;\n\t\tint64_t cnt = 1;\n");
		for (int d = 0; d < sd; d++) {
			int64_t Id = tx->shape[tx->ndim - sd + d];
			buf_printf(&G->kern, "\t\tint64_t s%d = o%d * %lld - %lld, e%d = s%d + %lld < %lld ? s%d + %lld : %lld;\n",
				   d, d, (long long)stride[d], (long long)pad[d], d, d, (long long)ks[d],
				   (long long)(Id + pad[d]), d, (long long)ks[d], (long long)(Id + pad[d]));
			if (include_pad)
				buf_printf(&G->kern, "\t\tcnt *= e%d - s%d;\n", d, d);
			buf_printf(&G->kern, "\t\tif (s%d < 0) s%d = 0;\n\t\tif (e%d > %lld) e%d = %lld;\n", d, d, d,
				   (long long)Id, d, (long long)Id);
			if (!include_pad)
				buf_printf(&G->kern, "\t\tcnt *= e%d - s%d;\n", d, d);
		}
	}
	char ind[16] = "\t\t";
	for (int d = 0; d < sd; d++) {
		int64_t Id = tx->shape[tx->ndim - sd + d];
		if (maxp)
			buf_printf(&G->kern, "%sfor (int64_t k%d = 0; k%d < %lld; k%d++) {\n"
				   "%s\tint64_t i%d = o%d * %lld - %lld + k%d * %lld;\n"
				   "%s\tif (i%d < 0 || i%d >= %lld) continue;\n",
				   ind, d, d, (long long)ks[d], d, ind, d, d, (long long)stride[d], (long long)pad[d], d,
				   (long long)dil[d], ind, d, d, (long long)Id);
		else
			buf_printf(&G->kern, "%sfor (int64_t i%d = s%d; i%d < e%d; i%d++) {\n", ind, d, d, d, d, d);
		size_t l2 = strlen(ind);
		ind[l2] = '\t';
		ind[l2 + 1] = 0;
	}
	buf_printf(&G->kern, "%sint64_t xo = 0;\n", ind);
	for (int d = 0; d < sd; d++)
		buf_printf(&G->kern, "%sxo = xo * %lld + i%d;\n", ind, (long long)tx->shape[tx->ndim - sd + d], d);
	if (maxp)
		buf_printf(&G->kern, "%sreal v = kb_ld(xp[xo]);\n%sif (v > m || (v != v && m == m) || mi < 0) { m = v; mi = xo; }\n",
			   ind, ind);
	else
		buf_printf(&G->kern, "%sacc += (double)kb_ld(xp[xo]);\n", ind);
	for (int d = sd - 1; d >= 0; d--) {
		ind[strlen(ind) - 1] = 0;
		buf_printf(&G->kern, "%s}\n", ind);
	}
	if (maxp)
		buf_printf(&G->kern, "\t\tkb_st(&y[i], m);\n\t\tif (yi) yi[i] = mi;\n\t}\n}\n");
	else if (divisor)
		buf_printf(&G->kern, "\t\t(void)cnt;\n\t\tkb_st(&y[i], acc / %lld.0);\n\t}\n}\n", (long long)divisor);
	else
		buf_printf(&G->kern, "\t\tkb_st(&y[i], acc / (double)cnt);\n\t}\n}\n");
	char px[128], py[128], pyi[128] = "(int64_t *)0", args[600];
	ptr(G, x, false, px, sizeof px);
	ptr(G, y, true, py, sizeof py);
	if (yi >= 0 && T(G, yi)->dtype == KB_I64)
		ptr(G, yi, true, pyi, sizeof pyi);
	snprintf(args, sizeof args, "%s, %s, %s", px, py, pyi);
	if (n > 0)
		launch(G, kname, grid_for(n), args);
	(void)out_plane;
	return 0;
}

/* ---- the driver ---- */

typedef int (*gen_emit_fn)(struct gen *G, const struct graph_op *op);

struct gen_family {
	const char *names;   /* space-separated base names */
	gen_emit_fn emit;
};

static const struct gen_family gen_families[] = {
	{ "permute transpose t numpy_T movedim expand expand_as broadcast_to repeat slice narrow select flip "
	  "diagonal as_strided", emit_gather },
	{ "triu tril diag_embed", emit_triangle },
	{ "cat concat concatenate", emit_cat },
	{ "sum mean prod amax amin max min argmax argmin any all var std norm linalg_vector_norm frobenius_norm",
	  emit_reduce },
	{ "mse_loss l1_loss smooth_l1_loss huber_loss soft_margin_loss", emit_loss },
	{ "_softmax _log_softmax softmax log_softmax _safe_softmax", emit_softmax },
	{ "cumsum cumprod", emit_scan },
	{ "native_layer_norm layer_norm native_group_norm group_norm native_batch_norm batch_norm "
	  "_native_batch_norm_legit _native_batch_norm_legit_no_training _native_batch_norm_legit_functional",
	  emit_norm },
	{ "mm bmm matmul mv dot vdot addmm baddbmm addmv linear", emit_matmul },
	{ "convolution _convolution conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d",
	  emit_conv },
	{ "max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices "
	  "max_pool3d_with_indices avg_pool1d avg_pool2d avg_pool3d", emit_pool },
	{ NULL, NULL },
};

static const struct gen_family *family_of(const char *name)
{
	const char *b = base_name(name);
	for (int i = 0; gen_families[i].names; i++)
		if (util_word_in(gen_families[i].names, b))
			return &gen_families[i];
	return NULL;
}

bool generate_covers(const char *name)
{
	char e[1024];
	struct graph_op op = { .name = (char *)name, .overload = (char *)"" };
	const char *b = base_name(name);
	if (is_alias_op(b) || family_of(name) || !strcmp(b, "diag"))
		return true;
	return pointwise_expr(&op, e, sizeof e) == 0;
}

/* Shape-only: y shares x's storage (same elements in the same order). */
static bool emit_alias(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	int x = graph_op_input(op, 0);
	if (!is_alias_op(b) || x < 0 || op->n_outputs != 1)
		return false;
	int y = op->outputs[0];
	if (T(G, x)->dtype != T(G, y)->dtype || numel(T(G, x)) != numel(T(G, y)))
		return false;
	if (G->loc[y].kind != LOC_NONE)
		return false;
	G->loc[y] = G->loc[x];
	buf_printf(&G->body, "\t/* op %d: %s: t%d shares t%d's storage */\n", G->op, op->name, y, x);
	return true;
}

static int emit_op(struct gen *G, const struct graph_op *op)
{
	const char *b = base_name(op->name);
	if (emit_alias(G, op))
		return 0;
	for (int k = 0; k < op->n_outputs; k++)
		if (!ctype(T(G, op->outputs[k])->dtype)) {
			why_add(G, "%s (a result of a dtype outside the ABI)", op->name);
			return 1;
		}
	const struct gen_family *f = family_of(op->name);
	int rc;
	if (!strcmp(b, "diag"))
		rc = T(G, graph_op_input(op, 0))->ndim == 1 ? emit_triangle(G, op) : emit_gather(G, op);
	else if (f)
		rc = f->emit(G, op);
	else
		rc = emit_pointwise(G, op);
	if (rc > 0 && !strstr(buf_str(&G->why), op->name))
		why_add(G, "%s", op->name);
	return rc;
}

/* Whether a tensor of the graph is fp16 or bf16: only then does the
 * kernel include cuda_fp16.h and cuda_bf16.h and their overloads (nvcc takes
 * about 0.5 s more for the two headers, a fifth of a small kernel's compile). */
static bool graph_has_half(const struct op_graph *g)
{
	for (int i = 0; i < g->n_tensors; i++)
		if (g->tensors[i].dtype == KB_F16 || g->tensors[i].dtype == KB_BF16)
			return true;
	return false;
}

static void emit_preamble(struct gen *G, struct buf *o)
{
	const struct op_graph *g = G->g;
	const bool half = graph_has_half(g);
	buf_printf(o, "/*\n * Naive candidate generated by kbreed (src/generate.c) from the problem's op graph.\n"
		   " * Ops, in order:");
	for (int i = 0; i < g->n_ops; i++)
		buf_printf(o, "%s %s", i ? "," : "", g->ops[i].name);
	buf_printf(o, ".\n * One kernel per op, shapes as constants, intermediates in stream-ordered\n"
		   " * scratch; pointwise math in `real`, sums in double.\n */\n"
		   "#include <cuda_runtime.h>\n%s"
		   "#include <math.h>\n#include <stdint.h>\n#include \"kbreed_candidate.h\"\n\n"
		   "KBREED_CANDIDATE_ABI\n\n", half ? "#include <cuda_fp16.h>\n#include <cuda_bf16.h>\n" : "");
	/* The shared helpers, inlined by generate_naive (src/template.h). */
	if (G->n_scratch)
		buf_printf(o, "#include \"" GEN_COMMON "host.cuh\" // kbreed:inline\n");
	if (G->block_reduce)
		buf_printf(o, "#include \"" GEN_COMMON "reduce.cuh\" // kbreed:inline\n");
	buf_printf(o, "%s"
		   "typedef %s real;\n\n"
		   "static __device__ __forceinline__ real kb_ld(float v) { return (real)v; }\n"
		   "static __device__ __forceinline__ real kb_ld(double v) { return (real)v; }\n"
		   "%s"
		   "static __device__ __forceinline__ real kb_ld(int32_t v) { return (real)v; }\n"
		   "static __device__ __forceinline__ real kb_ld(int64_t v) { return (real)v; }\n"
		   "static __device__ __forceinline__ real kb_ld(bool v) { return v ? (real)1 : (real)0; }\n"
		   "static __device__ __forceinline__ void kb_st(float *p, double v) { *p = (float)v; }\n"
		   "static __device__ __forceinline__ void kb_st(double *p, double v) { *p = v; }\n"
		   "%s"
		   "static __device__ __forceinline__ void kb_st(int32_t *p, double v) { *p = (int32_t)v; }\n"
		   "static __device__ __forceinline__ void kb_st(int64_t *p, double v) { *p = (int64_t)v; }\n"
		   "static __device__ __forceinline__ void kb_st(bool *p, double v) { *p = v != 0.0; }\n\n"
		   "static bool kb_is(const kb_tensor *t, int dtype, int ndim, const int64_t *shape)\n{\n"
		   "\tif (t->dtype != dtype || t->ndim != ndim)\n\t\treturn false;\n"
		   "\tfor (int i = 0; i < ndim; i++)\n\t\tif (t->shape[i] != shape[i])\n\t\t\treturn false;\n"
		   "\treturn true;\n}\n", G->n_scratch || G->block_reduce ? "\n" : "", G->f64 ? "double" : "float",
		   half ? "static __device__ __forceinline__ real kb_ld(__half v) { return (real)__half2float(v); }\n"
			  "static __device__ __forceinline__ real kb_ld(__nv_bfloat16 v) { return (real)__bfloat162float(v); }\n"
			: "",
		   half ? "static __device__ __forceinline__ void kb_st(__half *p, double v) { *p = __float2half((float)v); }\n"
			  "static __device__ __forceinline__ void kb_st(__nv_bfloat16 *p, double v) "
			  "{ *p = __float2bfloat16((float)v); }\n"
			: "");
}

static void emit_check(struct buf *o, const char *arr, int i, const struct graph_tensor *t)
{
	buf_printf(o, "\t{\n\t\tstatic const int64_t shape[] = {");
	for (int d = 0; d < t->ndim; d++)
		buf_printf(o, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
	buf_printf(o, "%s};\n\t\tif (!kb_is(&%s[%d], %s, %d, shape))\n\t\t\treturn KB_ERR_SHAPE;  /* %s */\n\t}\n",
		   t->ndim ? "" : "0", arr, i, kname_dtype(t->dtype), t->ndim, t->name ? t->name : "");
}

int generate_naive(const struct op_graph *g, char **source, char **why)
{
	struct gen G = { .g = g };
	struct buf o;
	int rc = 0;
	*source = NULL;
	*why = NULL;
	buf_init(&G.kern, GEN_SOURCE_CAP);
	buf_init(&G.body, GEN_SOURCE_CAP);
	buf_init(&G.why, GEN_WHY_CAP);
	buf_init(&o, GEN_SOURCE_CAP);
	if (graph_validate(g, "generate")) {
		buf_printf(&G.why, "invalid op graph");
		rc = -1;
		goto out;
	}
	G.loc = xcalloc((size_t)g->n_tensors + 1, sizeof *G.loc);
	for (int t = 0; t < g->n_tensors; t++) {
		const struct graph_tensor *tt = &g->tensors[t];
		if (tt->dtype == KB_F64)
			G.f64 = true;
		if (tt->kind == GRAPH_INPUT || tt->kind == GRAPH_PARAM) {
			G.loc[t].kind = LOC_IN;
			G.loc[t].idx = t;
		}
		if (tt->kind == GRAPH_CONST) {
			why_add(&G, "%s (a constant tensor the ABI does not pass)", tt->name ? tt->name : "?");
			rc = 1;
		}
	}
	for (int j = 0; j < g->n_outputs; j++)
		if (!ctype(g->tensors[g->outputs[j]].dtype)) {
			why_add(&G, "%s (a result of a dtype outside the ABI)", g->tensors[g->outputs[j]].name);
			rc = 1;
		}
	for (int i = 0; i < g->n_ops; i++) {
		G.op = i;
		int r = emit_op(&G, &g->ops[i]);
		if (r < 0) {
			rc = -1;
			goto out;
		}
		if (r > 0)
			rc = 1;
	}
	if (rc)
		goto out;
	/* Results not computed in place: copy them into out[]. */
	for (int j = 0; j < g->n_outputs; j++) {
		int t = g->outputs[j];
		if (G.loc[t].kind == LOC_OUT && G.loc[t].idx == j)
			continue;
		const struct graph_tensor *tt = &g->tensors[t];
		int64_t n = numel(tt);
		char kname[64], px[128], args[300];
		snprintf(kname, sizeof kname, "copy_out%d", j);
		buf_printf(&G.kern, "\n/* result %d: a copy of t%d */\n"
			   "__global__ void %s(const %s *__restrict__ x, %s *__restrict__ y)\n{\n"
			   "\tfor (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL;\n"
			   "\t     i += (int64_t)gridDim.x * blockDim.x)\n\t\tkb_st(&y[i], kb_ld(x[i]));\n}\n",
			   j, t, kname, ctype(tt->dtype), ctype(tt->dtype), (long long)n);
		ptr(&G, t, false, px, sizeof px);
		snprintf(args, sizeof args, "%s, (%s *)out[%d].data", px, ctype(tt->dtype), j);
		if (n > 0)
			launch(&G, kname, grid_for(n), args);
	}
	emit_preamble(&G, &o);
	buf_append(&o, buf_str(&G.kern), G.kern.len);
	buf_printf(&o, "\nKB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,\n"
		   "                             kb_tensor *out, int n_out, void *stream)\n{\n"
		   "\tcudaStream_t s = (cudaStream_t)stream;\n\tint rc = KB_OK;\n"
		   "\tvoid *scratch[%d] = { 0 };\n\n"
		   "\tif (!in || !out || n_in != %d || n_out != %d)\n\t\treturn KB_ERR_SHAPE;\n",
		   G.n_scratch ? G.n_scratch : 1, g->n_inputs + g->n_params, g->n_outputs);
	for (int i = 0; i < g->n_inputs + g->n_params; i++)
		emit_check(&o, "in", i, &g->tensors[i]);
	for (int j = 0; j < g->n_outputs; j++)
		emit_check(&o, "out", j, &g->tensors[g->outputs[j]]);
	/* The scratch comes from the device's default memory pool, which by
	 * default hands memory back at every synchronisation: each call would
	 * map its scratch afresh, host time outside the kernels' events. */
	buf_printf(&o, "\n%s", G.n_scratch ? "\tkb_keep_pool_mapped();  /* scratch stays mapped between calls */\n" : "");
	buf_append(&o, buf_str(&G.body), G.body.len);
	buf_printf(&o, "\tgoto done;  /* everything is enqueued */\n"
		   "done:\n"
		   "\tfor (int k = 0; k < %d; k++)\n"
		   "\t\tif (scratch[k] && cudaFreeAsync(scratch[k], s) != cudaSuccess && rc == KB_OK)\n"
		   "\t\t\trc = KB_ERR_LAUNCH;\n"
		   "\treturn rc;\n}\n", G.n_scratch ? G.n_scratch : 1);
	if (!o.len || o.len + 1 >= GEN_SOURCE_CAP || G.kern.len + 1 >= GEN_SOURCE_CAP) {
		buf_printf(&G.why, "generated source past its cap");
		rc = -1;
		goto out;
	}
	/* The marker lines replaced by the helpers' text: one whole file. */
	char *templates = xasprintf("%s/templates/naive.cu", home_dir()), *text = buf_detach(&o);
	if (template_inline(templates, text, source)) {
		buf_printf(&G.why, "the shared device helpers (templates/common) could not be inlined");
		rc = -1;
	}
	free(templates);
	free(text);
out:
	if (rc)
		*why = xstrdup(G.why.len ? buf_str(&G.why) : "generation failed");
	free(G.loc);
	buf_release(&o);
	buf_release(&G.kern);
	buf_release(&G.body);
	buf_release(&G.why);
	return rc;
}
