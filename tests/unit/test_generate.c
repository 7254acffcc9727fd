/* test_generate.c - naive candidates from hand-built op graphs: each is
 * generated and compiled with real nvcc through compile_batch (no GPU
 * needed), and a graph with an op the generator does not cover is refused
 * with a reason naming it. */
#include "testing.h"

#include "compile.h"
#include "generate.h"
#include "graph.h"
#include "pointwise.h"
#include "util.h"

#define ARCH "sm_90a"

static int setup(void **state)
{
	test_private_cache();
	return 0;
}

/* ---- building graphs by hand ---- */

static int add_tensor(struct op_graph *g, enum graph_tensor_kind kind, int dtype, int ndim, const int64_t *shape)
{
	g->tensors = xrealloc(g->tensors, (size_t)(g->n_tensors + 1) * sizeof *g->tensors);
	struct graph_tensor *t = &g->tensors[g->n_tensors];
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->dtype = dtype;
	t->ndim = ndim;
	t->producer = -1;
	t->index = -1;
	if (kind == GRAPH_INPUT)
		t->index = g->n_inputs++;
	else if (kind == GRAPH_PARAM)
		t->index = g->n_params++;
	for (int d = 0; d < ndim; d++)
		t->shape[d] = shape[d];
	t->name = xasprintf("t%d", g->n_tensors);
	return g->n_tensors++;
}

static struct graph_op *add_op(struct op_graph *g, const char *name, const char *overload, int n_args,
			       const int *args, const char *const *arg_names)
{
	g->ops = xrealloc(g->ops, (size_t)(g->n_ops + 1) * sizeof *g->ops);
	struct graph_op *op = &g->ops[g->n_ops++];
	memset(op, 0, sizeof *op);
	op->name = xstrdup(name);
	op->overload = xstrdup(overload);
	op->args = xcalloc((size_t)n_args + 1, sizeof *op->args);
	op->n_args = n_args;
	for (int k = 0; k < n_args; k++) {
		op->args[k].tensor = args[k];
		op->args[k].name = xstrdup(arg_names[k]);
	}
	op->attrs = xcalloc(GRAPH_MAX_ATTRS, sizeof *op->attrs);
	op->outputs = xcalloc(GRAPH_MAX_OP_OUTPUTS, sizeof *op->outputs);
	return op;
}

/* An intermediate made by the last op. */
static int add_result(struct op_graph *g, int dtype, int ndim, const int64_t *shape)
{
	int t = add_tensor(g, GRAPH_INTER, dtype, ndim, shape);
	struct graph_op *op = &g->ops[g->n_ops - 1];
	g->tensors[t].producer = g->n_ops - 1;
	op->outputs[op->n_outputs++] = t;
	return t;
}

static struct graph_value *add_attr(struct graph_op *op, const char *name, enum graph_value_type type)
{
	struct graph_attr *a = &op->attrs[op->n_attrs++];
	a->name = xstrdup(name);
	a->value.type = type;
	return &a->value;
}

static void attr_i(struct graph_op *op, const char *name, int64_t v) { add_attr(op, name, GRAPH_INT)->i = v; }
static void attr_f(struct graph_op *op, const char *name, double v) { add_attr(op, name, GRAPH_FLOAT)->f = v; }
static void attr_b(struct graph_op *op, const char *name, bool v) { add_attr(op, name, GRAPH_BOOL)->b = v; }
static void attr_none(struct graph_op *op, const char *name) { add_attr(op, name, GRAPH_NONE); }
static void attr_l(struct graph_op *op, const char *name, int n, const int64_t *v)
{
	struct graph_value *x = add_attr(op, name, GRAPH_INTS);
	x->n = n;
	x->ints = n ? xcalloc((size_t)n, sizeof *x->ints) : NULL;
	for (int i = 0; i < n; i++)
		x->ints[i] = v[i];
}

static void set_output(struct op_graph *g, int t)
{
	g->outputs = xrealloc(g->outputs, (size_t)(g->n_outputs + 1) * sizeof *g->outputs);
	g->outputs[g->n_outputs++] = t;
}

/* Generates g's candidate and compiles it with nvcc; fails the test with
 * the source and nvcc's log when either step fails. */
static void generate_and_compile(struct op_graph *g, const char *label)
{
	assert_int_equal(graph_validate(g, label), 0);
	char *src = NULL, *why = NULL;
	int rc = generate_naive(g, &src, &why);
	if (rc)
		fprintf(stderr, "%s: generate_naive: %d: %s\n", label, rc, why ? why : "");
	assert_int_equal(rc, 0);
	assert_non_null(src);
	assert_null(why);
	assert_non_null(strstr(src, "KBREED_CANDIDATE_ABI"));
	assert_non_null(strstr(src, "__global__"));
	assert_non_null(strstr(src, "cudaGetLastError"));
	/* The half headers and overloads only where a tensor is fp16 or bf16
	 * (nvcc's time). */
	bool half = false;
	for (int i = 0; i < g->n_tensors; i++)
		half |= g->tensors[i].dtype == KB_F16 || g->tensors[i].dtype == KB_BF16;
	assert_int_equal(strstr(src, "#include <cuda_fp16.h>") != NULL, half);
	assert_int_equal(strstr(src, "kb_ld(__half v)") != NULL, half);
	char *dir = test_tmpdir();
	char *path = xasprintf("%s/%s.cu", dir, label);
	assert_int_equal(util_write_file(path, src, strlen(src)), 0);
	struct compile_opts o = { .arch = ARCH, .jobs = 1 };
	struct compile_job j = { .source = path };
	assert_int_equal(compile_batch(&j, 1, &o), 0);
	if (!j.ok)
		fprintf(stderr, "%s: nvcc failed:\n%s\n---- source ----\n%s\n", label, j.log ? j.log : "", src);
	assert_true(j.ok);
	compile_job_release(&j);
	util_remove_tree(dir);
	free(path);
	free(dir);
	free(src);
}

/* pointwise_body: the defines of a graph, or NULL when it is refused. */
static char *body_of(struct op_graph *g)
{
	assert_int_equal(graph_validate(g, "body"), 0);
	struct buf b;
	buf_init(&b, 1u << 16);
	int rc = pointwise_body(g, &b);
	char *out = rc ? NULL : buf_detach(&b);
	if (rc) {
		assert_int_equal(b.len, 0);  /* nothing appended */
		buf_release(&b);
	}
	return out;
}

static void test_pointwise_body(void **state)
{
	int64_t s[] = { 7, 33 }, row[] = { 33 };
	/* leaky_relu(x * s) with s a 0-d second input: one body, s read as s[1]. */
	struct op_graph *g = graph_new();
	int x = add_tensor(g, GRAPH_INPUT, KB_F16, 2, s);
	int sc = add_tensor(g, GRAPH_INPUT, KB_F32, 0, NULL);
	add_op(g, "aten.mul", "Tensor", 2, (int[]){ x, sc }, (const char *const[]){ "self", "other" });
	int t = add_result(g, KB_F16, 2, s);
	struct graph_op *op = add_op(g, "aten.leaky_relu", "default", 1, &t, (const char *const[]){ "self" });
	attr_f(op, "negative_slope", 0.25);
	set_output(g, add_result(g, KB_F16, 2, s));
	char *body = body_of(g);
	assert_non_null(body);
	assert_non_null(strstr(body, "#define KB_PW_NIN 2\n#define KB_PW_MAIN 0\n#define KB_PW_BODY "));
	assert_non_null(strstr(body, "real x1 = s[1];"));
	assert_non_null(strstr(body, "x0 * (real)0.25"));
	assert_non_null(strstr(body, "return t1;\n"));
	free(body);
	graph_free(g);
	/* Refused: a broadcast row operand; a parameter; a cast to an integer
	 * type on the way; a non-pointwise op. */
	for (int k = 0; k < 4; k++) {
		g = graph_new();
		x = add_tensor(g, GRAPH_INPUT, KB_F32, 2, s);
		int other = k == 0 ? add_tensor(g, GRAPH_INPUT, KB_F32, 1, row)
			  : k == 1 ? add_tensor(g, GRAPH_PARAM, KB_F32, 0, NULL) : -1;
		if (other >= 0) {
			add_op(g, "aten.add", "Tensor", 2, (int[]){ x, other }, (const char *const[]){ "self", "other" });
		} else if (k == 2) {
			add_op(g, "aten._to_copy", "default", 1, &x, (const char *const[]){ "self" });
			t = add_result(g, KB_I32, 2, s);
			add_op(g, "aten._to_copy", "default", 1, &t, (const char *const[]){ "self" });
		} else {
			add_op(g, "aten.cumsum", "default", 1, &x, (const char *const[]){ "self" });
			attr_i(&g->ops[0], "dim", 1);
		}
		set_output(g, add_result(g, KB_F32, 2, s));
		body = body_of(g);
		if (body)
			fail_msg("case %d: a body for a graph that is not pure pointwise:\n%s", k, body);
		graph_free(g);
	}
}

static void test_relu(void **state)
{
	struct op_graph *g = graph_new();
	int64_t s[] = { 7, 33 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F32, 2, s);
	add_op(g, "aten.relu", "default", 1, &x, (const char *const[]){ "self" });
	int y = add_result(g, KB_F32, 2, s);
	set_output(g, y);
	generate_and_compile(g, "relu");
	graph_free(g);
}

static void test_conv2d_grouped(void **state)
{
	struct op_graph *g = graph_new();
	int64_t xs[] = { 2, 4, 9, 11 }, ws[] = { 6, 2, 3, 3 }, ys[] = { 2, 6, 5, 6 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F32, 4, xs);
	int w = add_tensor(g, GRAPH_PARAM, KB_F32, 4, ws);
	int args[] = { x, w };
	struct graph_op *op = add_op(g, "aten.convolution", "default", 2, args, (const char *const[]){ "input", "weight" });
	attr_none(op, "bias");
	attr_l(op, "stride", 2, (const int64_t[]){ 2, 2 });
	attr_l(op, "padding", 2, (const int64_t[]){ 1, 1 });
	attr_l(op, "dilation", 2, (const int64_t[]){ 1, 1 });
	attr_b(op, "transposed", false);
	attr_l(op, "output_padding", 2, (const int64_t[]){ 0, 0 });
	attr_i(op, "groups", 2);
	set_output(g, add_result(g, KB_F32, 4, ys));
	char *src = NULL, *why = NULL;
	assert_int_equal(generate_naive(g, &src, &why), 0);
	/* Inputs then parameters, as the ABI orders them; the strides hard-coded. */
	assert_non_null(strstr(src, "n_in != 2"));
	assert_non_null(strstr(src, "o0 * 2 - 1"));
	free(src);
	generate_and_compile(g, "conv2d");
	graph_free(g);
}

static void test_conv_transpose3d_fp16(void **state)
{
	struct op_graph *g = graph_new();
	int64_t xs[] = { 1, 4, 3, 4, 5 }, ws[] = { 4, 3, 2, 3, 3 }, bs[] = { 6 }, ys[] = { 1, 6, 6, 7, 9 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F16, 5, xs);
	int w = add_tensor(g, GRAPH_PARAM, KB_F16, 5, ws);
	int b = add_tensor(g, GRAPH_PARAM, KB_F16, 1, bs);
	int args[] = { x, w, b };
	struct graph_op *op = add_op(g, "aten.convolution", "default", 3, args,
				     (const char *const[]){ "input", "weight", "bias" });
	attr_l(op, "stride", 3, (const int64_t[]){ 2, 2, 2 });
	attr_l(op, "padding", 3, (const int64_t[]){ 0, 1, 1 });
	attr_l(op, "dilation", 3, (const int64_t[]){ 1, 1, 1 });
	attr_b(op, "transposed", true);
	attr_l(op, "output_padding", 3, (const int64_t[]){ 0, 0, 0 });
	attr_i(op, "groups", 2);
	set_output(g, add_result(g, KB_F16, 5, ys));
	generate_and_compile(g, "conv_transpose3d");
	graph_free(g);
}

static void test_layer_norm(void **state)
{
	struct op_graph *g = graph_new();
	int64_t xs[] = { 4, 8, 16 }, ps[] = { 8, 16 }, st[] = { 4, 1, 1 };
	int x = add_tensor(g, GRAPH_INPUT, KB_BF16, 3, xs);
	int w = add_tensor(g, GRAPH_PARAM, KB_BF16, 2, ps);
	int b = add_tensor(g, GRAPH_PARAM, KB_BF16, 2, ps);
	int args[] = { x, w, b };
	struct graph_op *op = add_op(g, "aten.native_layer_norm", "default", 3, args,
				     (const char *const[]){ "input", "weight", "bias" });
	attr_l(op, "normalized_shape", 2, ps);
	attr_f(op, "eps", 1e-5);
	int y = add_result(g, KB_BF16, 3, xs);
	add_result(g, KB_F32, 3, st);
	add_result(g, KB_F32, 3, st);
	set_output(g, y);
	/* The statistics: templates/common/reduce.cuh's block reduction over
	 * the 8 warps of a 256-thread block, inlined. */
	char *src = NULL, *why = NULL;
	assert_int_equal(generate_naive(g, &src, &why), 0);
	assert_non_null(strstr(src, "// ---- inlined from common/reduce.cuh ----"));
	assert_non_null(strstr(src, "kb_block_reduce<8>(s, sh, kb_sum(), 0.0)"));
	free(src);
	generate_and_compile(g, "layer_norm");
	graph_free(g);
}

static void test_cumsum(void **state)
{
	struct op_graph *g = graph_new();
	int64_t s[] = { 3, 100, 5 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F32, 3, s);
	struct graph_op *op = add_op(g, "aten.cumsum", "default", 1, &x, (const char *const[]){ "self" });
	attr_i(op, "dim", 1);
	attr_none(op, "dtype");
	set_output(g, add_result(g, KB_F32, 3, s));
	char *src = NULL, *why = NULL;
	assert_int_equal(generate_naive(g, &src, &why), 0);
	assert_non_null(strstr(src, "j < 100"));   /* the scanned dimension */
	free(src);
	generate_and_compile(g, "cumsum");
	graph_free(g);
}

static void test_matmul_transposed(void **state)
{
	/* torch.matmul(A.T, B): permute then mm, the transpose as a gather. */
	struct op_graph *g = graph_new();
	int64_t as[] = { 40, 24 }, bs[] = { 40, 17 }, ts[] = { 24, 40 }, ys[] = { 24, 17 };
	int a = add_tensor(g, GRAPH_INPUT, KB_F32, 2, as);
	int b = add_tensor(g, GRAPH_INPUT, KB_F32, 2, bs);
	struct graph_op *op = add_op(g, "aten.permute", "default", 1, &a, (const char *const[]){ "self" });
	attr_l(op, "dims", 2, (const int64_t[]){ 1, 0 });
	int at = add_result(g, KB_F32, 2, ts);
	int args[] = { at, b };
	add_op(g, "aten.mm", "default", 2, args, (const char *const[]){ "self", "mat2" });
	set_output(g, add_result(g, KB_F32, 2, ys));
	generate_and_compile(g, "matmul_t");
	graph_free(g);
}

static void test_max_pool2d(void **state)
{
	struct op_graph *g = graph_new();
	int64_t xs[] = { 2, 3, 13, 10 }, ys[] = { 2, 3, 6, 5 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F32, 4, xs);
	struct graph_op *op = add_op(g, "aten.max_pool2d_with_indices", "default", 1, &x,
				     (const char *const[]){ "self" });
	attr_l(op, "kernel_size", 2, (const int64_t[]){ 3, 3 });
	attr_l(op, "stride", 2, (const int64_t[]){ 2, 2 });
	attr_l(op, "padding", 2, (const int64_t[]){ 1, 1 });
	attr_l(op, "dilation", 2, (const int64_t[]){ 2, 1 });
	attr_b(op, "ceil_mode", false);
	int y = add_result(g, KB_F32, 4, ys);
	add_result(g, KB_I64, 4, ys);
	set_output(g, y);
	generate_and_compile(g, "max_pool2d");
	graph_free(g);
}

static void test_chain(void **state)
{
	/* softmax then a broadcast add of a parameter, a mean over dim 1 with
	 * keepdim, and a view: scratch, broadcasting, alias and the copy out. */
	struct op_graph *g = graph_new();
	int64_t xs[] = { 4, 6, 5 }, bs[] = { 5 }, ms[] = { 4, 1, 5 }, vs[] = { 20 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F32, 3, xs);
	int bias = add_tensor(g, GRAPH_PARAM, KB_F32, 1, bs);
	struct graph_op *op = add_op(g, "aten._softmax", "default", 1, &x, (const char *const[]){ "self" });
	attr_i(op, "dim", 1);
	attr_b(op, "half_to_float", false);
	int s = add_result(g, KB_F32, 3, xs);
	int args[] = { s, bias };
	op = add_op(g, "aten.add", "Tensor", 2, args, (const char *const[]){ "self", "other" });
	attr_i(op, "alpha", 1);
	int t = add_result(g, KB_F32, 3, xs);
	op = add_op(g, "aten.mean", "dim", 1, &t, (const char *const[]){ "self" });
	attr_l(op, "dim", 1, (const int64_t[]){ 1 });
	attr_b(op, "keepdim", true);
	int m = add_result(g, KB_F32, 3, ms);
	op = add_op(g, "aten.view", "default", 1, &m, (const char *const[]){ "self" });
	attr_l(op, "size", 1, vs);
	set_output(g, add_result(g, KB_F32, 1, vs));
	char *src = NULL, *why = NULL;
	assert_int_equal(generate_naive(g, &src, &why), 0);
	assert_non_null(strstr(src, "cudaMallocAsync"));
	assert_non_null(strstr(src, "cudaFreeAsync"));
	/* The scratch stays mapped between calls, set before the first
	 * allocation, by templates/common/host.cuh's helper, inlined: the
	 * candidate is one whole file, with no marker line left. */
	const char *keep = strstr(src, "\tkb_keep_pool_mapped();");
	assert_non_null(keep);
	assert_true(keep < strstr(src, "cudaMallocAsync(&scratch"));
	assert_non_null(strstr(src, "// ---- inlined from common/host.cuh ----"));
	assert_non_null(strstr(src, "cudaMemPoolAttrReleaseThreshold"));
	assert_null(strstr(src, "kbreed:inline"));
	assert_non_null(strstr(src, "copy_out0"));
	free(src);
	generate_and_compile(g, "chain");
	graph_free(g);
}

/* _safe_softmax (PyTorch's attention on its math path): a softmax whose
 * rows of nothing but -inf (every key masked) give zeros, not NaN. */
static void test_safe_softmax(void **state)
{
	struct op_graph *g = graph_new();
	int64_t xs[] = { 2, 3, 7, 9 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F16, 4, xs);
	struct graph_op *op = add_op(g, "aten._safe_softmax", "default", 1, &x, (const char *const[]){ "self" });
	attr_i(op, "dim", -1);
	attr_none(op, "dtype");
	set_output(g, add_result(g, KB_F16, 4, xs));
	char *src = NULL, *why = NULL;
	assert_int_equal(generate_naive(g, &src, &why), 0);
	assert_non_null(strstr(src, "m == -INFINITY ? 0.0 : exp(v) / sum"));
	free(src);
	assert_true(generate_covers("aten._safe_softmax"));
	generate_and_compile(g, "safe_softmax");
	graph_free(g);
}

static void test_uncovered(void **state)
{
	struct op_graph *g = graph_new();
	int64_t s[] = { 8, 8 };
	int x = add_tensor(g, GRAPH_INPUT, KB_F32, 2, s);
	add_op(g, "aten.relu", "default", 1, &x, (const char *const[]){ "self" });
	int r = add_result(g, KB_F32, 2, s);
	add_op(g, "aten.linalg_eigh", "default", 1, &r, (const char *const[]){ "self" });
	set_output(g, add_result(g, KB_F32, 2, s));
	char *src = NULL, *why = NULL;
	assert_int_equal(generate_naive(g, &src, &why), 1);
	assert_null(src);
	assert_non_null(why);
	assert_non_null(strstr(why, "aten.linalg_eigh"));
	assert_null(strstr(why, "aten.relu"));
	free(why);
	assert_true(generate_covers("aten.relu"));
	assert_false(generate_covers("aten.linalg_eigh"));
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uncovered),
		cmocka_unit_test(test_relu),
		cmocka_unit_test(test_pointwise_body),
		cmocka_unit_test(test_conv2d_grouped),
		cmocka_unit_test(test_conv_transpose3d_fp16),
		cmocka_unit_test(test_layer_norm),
		cmocka_unit_test(test_cumsum),
		cmocka_unit_test(test_matmul_transposed),
		cmocka_unit_test(test_max_pool2d),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_safe_softmax),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
