/* test_graph.c - the op graph decoded from describe's JSON (bridge_json.c),
 * checked by graph_validate, and recognised (recognize.c). Bad and hostile
 * graphs are rejected with an error, never half-built. Needs no Python. */
#include "testing.h"

#include "bridge.h"
#include "graph.h"
#include "recognize.h"
#include "template.h"
#include "util.h"

#include <math.h>
#include <string.h>

/* x (4x8) -> leaky_relu(negative_slope=0.2) -> out */
#define T_X "{\"kind\": \"input\", \"index\": 0, \"name\": \"x\", \"dtype\": \"f32\", \"shape\": [4, 8]}"
#define T_Y "{\"kind\": \"inter\", \"name\": \"t1\", \"dtype\": \"f32\", \"shape\": [4, 8]}"
#define OP_LEAKY(out) "{\"op\": \"aten.leaky_relu\", \"overload\": \"default\"," \
	" \"args\": [{\"name\": \"self\", \"tensor\": 0}], \"attrs\": {\"negative_slope\": 0.2}," \
	" \"outputs\": [" out "]}"

static int decode(const char *json, struct op_graph **g)
{
	*g = NULL;
	return bridge_json_graph_text(json, g);
}

static void test_decode_and_recognise(void **state)
{
	struct op_graph *g;
	assert_int_equal(decode("{\"tensors\": [" T_X ", " T_Y "], \"ops\": [" OP_LEAKY("1")
				"], \"outputs\": [1]}", &g), 0);
	assert_int_equal(g->n_tensors, 2);
	assert_int_equal(g->n_inputs, 1);
	assert_int_equal(g->tensors[1].producer, 0);
	assert_string_equal(g->ops[0].name, "aten.leaky_relu");
	double v = 0;
	assert_true(graph_op_float(&g->ops[0], "negative_slope", &v) && v == 0.2);
	struct recognition r;
	recognition_init(&r);
	assert_true(recognize_graph(g, &r));
	assert_string_equal(r.family, "elementwise");
	assert_string_equal(r.op, "leaky_relu");
	assert_non_null(strstr(r.defines, "#define LEAKY_SLOPE 0.2\n"));
	recognition_release(&r);
	graph_free(g);
}

static void test_attribute_types(void **state)
{
	struct op_graph *g;
	assert_int_equal(decode("{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.hardtanh\","
				" \"overload\": \"default\", \"args\": [{\"name\": \"self\", \"tensor\": 0}],"
				" \"attrs\": {\"min_val\": \"-inf\", \"max_val\": 2, \"k\": [1, 2], \"f\": [1.5, \"nan\"],"
				" \"b\": true, \"n\": null, \"s\": \"mean\"}, \"outputs\": [1]}], \"outputs\": [1]}", &g), 0);
	const struct graph_op *op = &g->ops[0];
	double v = 0;
	assert_true(graph_op_float(op, "min_val", &v) && isinf(v) && v < 0);
	assert_int_equal(graph_op_attr(op, "max_val")->value.type, GRAPH_INT);
	assert_int_equal(graph_op_attr(op, "k")->value.type, GRAPH_INTS);
	assert_int_equal(graph_op_attr(op, "f")->value.type, GRAPH_FLOATS);
	assert_true(isnan(graph_op_attr(op, "f")->value.floats[1]));
	assert_int_equal(graph_op_attr(op, "b")->value.type, GRAPH_BOOL);
	assert_int_equal(graph_op_attr(op, "n")->value.type, GRAPH_NONE);
	assert_string_equal(graph_op_attr(op, "s")->value.s, "mean");
	graph_free(g);
}

static void test_rejects(void **state)
{
	struct op_graph *g;
	const char *bad[] = {
		"[]",
		"{\"tensors\": [], \"ops\": [], \"outputs\": []}",   /* no output */
		/* an op reading a tensor out of range, negative, or not yet made */
		"{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.relu\", \"overload\": \"\","
		" \"args\": [{\"name\": \"self\", \"tensor\": 7}], \"attrs\": {}, \"outputs\": [1]}], \"outputs\": [1]}",
		"{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.relu\", \"overload\": \"\","
		" \"args\": [{\"name\": \"self\", \"tensor\": -1}], \"attrs\": {}, \"outputs\": [1]}], \"outputs\": [1]}",
		"{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.relu\", \"overload\": \"\","
		" \"args\": [{\"name\": \"self\", \"tensor\": 1}], \"attrs\": {}, \"outputs\": [1]}], \"outputs\": [1]}",
		/* an op returning an input; two ops returning the same tensor; an orphan */
		"{\"tensors\": [" T_X "], \"ops\": [" OP_LEAKY("0") "], \"outputs\": [0]}",
		"{\"tensors\": [" T_X ", " T_Y "], \"ops\": [" OP_LEAKY("1") ", " OP_LEAKY("1") "], \"outputs\": [1]}",
		"{\"tensors\": [" T_X ", " T_Y "], \"ops\": [], \"outputs\": [1]}",
		/* a param before an input; a wrong index; an unknown kind or dtype */
		"{\"tensors\": [{\"kind\": \"param\", \"index\": 0, \"name\": \"w\", \"dtype\": \"f32\", \"shape\": [2]}, "
		T_X "], \"ops\": [], \"outputs\": [0]}",
		"{\"tensors\": [{\"kind\": \"input\", \"index\": 3, \"name\": \"x\", \"dtype\": \"f32\", \"shape\": [2]}],"
		" \"ops\": [], \"outputs\": [0]}",
		"{\"tensors\": [{\"kind\": \"ghost\", \"name\": \"x\", \"dtype\": \"f32\", \"shape\": [2]}],"
		" \"ops\": [], \"outputs\": [0]}",
		"{\"tensors\": [{\"kind\": \"input\", \"index\": 0, \"name\": \"x\", \"dtype\": \"c64\", \"shape\": [2]}],"
		" \"ops\": [], \"outputs\": [0]}",
		/* shapes: too many dims, negative, overflowing, a float */
		"{\"tensors\": [{\"kind\": \"input\", \"index\": 0, \"name\": \"x\", \"dtype\": \"f32\","
		" \"shape\": [1,1,1,1,1,1,1,1,1]}], \"ops\": [], \"outputs\": [0]}",
		"{\"tensors\": [{\"kind\": \"input\", \"index\": 0, \"name\": \"x\", \"dtype\": \"f32\", \"shape\": [-2]}],"
		" \"ops\": [], \"outputs\": [0]}",
		"{\"tensors\": [{\"kind\": \"input\", \"index\": 0, \"name\": \"x\", \"dtype\": \"f32\","
		" \"shape\": [4294967296, 4294967296]}], \"ops\": [], \"outputs\": [0]}",
		"{\"tensors\": [{\"kind\": \"input\", \"index\": 0, \"name\": \"x\", \"dtype\": \"f32\", \"shape\": [2.5]}],"
		" \"ops\": [], \"outputs\": [0]}",
		/* huge integers, an index past int, duplicate keys, a list of strings */
		"{\"tensors\": [" T_X "], \"ops\": [], \"outputs\": [99999999999999999999]}",
		"{\"tensors\": [" T_X "], \"ops\": [], \"outputs\": [4294967296]}",
		"{\"tensors\": [" T_X "], \"ops\": [], \"outputs\": [0], \"outputs\": [0]}",
		"{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.relu\", \"overload\": \"\","
		" \"args\": [{\"name\": \"self\", \"tensor\": 0}], \"attrs\": {\"k\": [\"a\"]}, \"outputs\": [1]}],"
		" \"outputs\": [1]}",
		/* an attribute that is an object */
		"{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.relu\", \"overload\": \"\","
		" \"args\": [{\"name\": \"self\", \"tensor\": 0}], \"attrs\": {\"k\": {}}, \"outputs\": [1]}],"
		" \"outputs\": [1]}",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		g = (struct op_graph *)1;
		assert_int_not_equal(decode(bad[i], &g), 0);
		assert_null(g);
	}
}

static void test_caps(void **state)
{
	/* A name over GRAPH_MAX_NAME bytes and a list over GRAPH_MAX_LIST are
	 * rejected, not truncated. */
	struct buf b;
	buf_init(&b, 1u << 20);
	buf_printf(&b, "{\"tensors\": [{\"kind\": \"input\", \"index\": 0, \"name\": \"");
	for (int i = 0; i <= GRAPH_MAX_NAME; i++)
		buf_printf(&b, "a");
	buf_printf(&b, "\", \"dtype\": \"f32\", \"shape\": [2]}], \"ops\": [], \"outputs\": [0]}");
	struct op_graph *g = NULL;
	assert_int_not_equal(decode(buf_str(&b), &g), 0);
	buf_release(&b);
	buf_init(&b, 1u << 20);
	buf_printf(&b, "{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.sum\", \"overload\": \"\","
		   " \"args\": [{\"name\": \"self\", \"tensor\": 0}], \"attrs\": {\"dim\": [0");
	for (int i = 0; i < GRAPH_MAX_LIST; i++)
		buf_printf(&b, ", 0");
	buf_printf(&b, "]}, \"outputs\": [1]}], \"outputs\": [1]}");
	assert_int_not_equal(decode(buf_str(&b), &g), 0);
	buf_release(&b);
}

static void test_unrecognised_names_ops(void **state)
{
	struct op_graph *g;
	assert_int_equal(decode("{\"tensors\": [" T_X ", " T_Y "], \"ops\": [{\"op\": \"aten.fft_fft\","
				" \"overload\": \"default\", \"args\": [{\"name\": \"self\", \"tensor\": 0}],"
				" \"attrs\": {}, \"outputs\": [1]}], \"outputs\": [1]}", &g), 0);
	struct recognition r;
	recognition_init(&r);
	assert_false(recognize_graph(g, &r));
	assert_null(r.family);
	assert_non_null(strstr(r.missing, "aten.fft_fft"));
	recognition_release(&r);
	graph_free(g);
}

/* diag(a) @ B and B @ diag(a) as newer torch writes them: diag of a vector
 * becomes diag_embed (offset 0, dims -2 and -1), feeding an mm. Either way
 * round it is the row-scaling product (templates/matmul/rowscale.cu). */
static void recognise_diag(const char *diag_op, const char *attrs, bool rows, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "{\"tensors\": [{\"kind\": \"input\", \"index\": 0, \"name\": \"a\", \"dtype\": \"f32\", \"shape\": [5]},"
		   " {\"kind\": \"input\", \"index\": 1, \"name\": \"B\", \"dtype\": \"f32\", \"shape\": [5, 5]},"
		   " {\"kind\": \"inter\", \"name\": \"t2\", \"dtype\": \"f32\", \"shape\": [5, 5]},"
		   " {\"kind\": \"inter\", \"name\": \"t3\", \"dtype\": \"f32\", \"shape\": [5, 5]}],"
		   " \"ops\": [{\"op\": \"aten.%s\", \"overload\": \"default\", \"args\": [{\"name\": \"self\", \"tensor\": 0}],"
		   " \"attrs\": {%s}, \"outputs\": [2]},"
		   " {\"op\": \"aten.mm\", \"overload\": \"default\", \"args\": [{\"name\": \"self\", \"tensor\": %d},"
		   " {\"name\": \"mat2\", \"tensor\": %d}], \"attrs\": {}, \"outputs\": [3]}], \"outputs\": [3]}",
		   diag_op, attrs, rows ? 2 : 1, rows ? 1 : 2);
	struct op_graph *g;
	assert_int_equal(decode(buf_str(&b), &g), 0);
	struct recognition r;
	recognition_init(&r);
	bool found = recognize_graph(g, &r);
	if (want) {
		assert_true(found);
		assert_string_equal(r.op, "matmul_diag");
		assert_non_null(strstr(r.defines, want));
	} else {
		assert_true(!found || strcmp(r.op, "matmul_diag"));
	}
	recognition_release(&r);
	graph_free(g);
	buf_release(&b);
}

static void test_diag_embed_product(void **state)
{
	recognise_diag("diag", "\"diagonal\": 0", true, "#define KB_DIAG_ROWS 1\n");
	recognise_diag("diag_embed", "\"offset\": 0, \"dim1\": -2, \"dim2\": -1", true, "#define KB_DIAG_ROWS 1\n");
	recognise_diag("diag_embed", "", false, "#define KB_DIAG_ROWS 0\n");
	/* Not the diagonal matrix of a: another diagonal. */
	recognise_diag("diag_embed", "\"offset\": 1", true, NULL);
}

/* A depthwise-separable pair, x (2x4x5x7) -> 3x3 depthwise (groups 4,
 * padding 1) -> 1x1 pointwise to 6 channels, and a transposed conv: the
 * FLOPs come from the shapes when torch did not count them. */
#define T_IN(i, name, shape) "{\"kind\": \"input\", \"index\": " #i ", \"name\": \"" name "\"," \
	" \"dtype\": \"f32\", \"shape\": " shape "}"
#define T_PARAM(i, name, shape) "{\"kind\": \"param\", \"index\": " #i ", \"name\": \"" name "\"," \
	" \"dtype\": \"f32\", \"shape\": " shape "}"
#define T_INTER(name, shape) "{\"kind\": \"inter\", \"name\": \"" name "\", \"dtype\": \"f32\", \"shape\": " shape "}"
#define OP_CONV(x, w, transposed, groups, pad, out) "{\"op\": \"aten.convolution\", \"overload\": \"default\"," \
	" \"args\": [{\"name\": \"input\", \"tensor\": " #x "}, {\"name\": \"weight\", \"tensor\": " #w "}]," \
	" \"attrs\": {\"stride\": [1, 1], \"padding\": [" #pad ", " #pad "], \"dilation\": [1, 1]," \
	" \"transposed\": " #transposed ", \"output_padding\": [0, 0], \"groups\": " #groups "}," \
	" \"outputs\": [" #out "]}"

/* A product of two inputs (JSON tensors and ops after them) recognised
 * as op `want`, with the define lines `has` (each "NAME value", in one
 * string separated by ';') and without the names `lacks` (';' too). */
static void recognise_product(const char *tensors, const char *ops, int out, const char *want, const char *has,
			      const char *lacks)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "{\"tensors\": [%s], \"ops\": [%s], \"outputs\": [%d]}", tensors, ops, out);
	struct op_graph *g;
	assert_int_equal(decode(buf_str(&b), &g), 0);
	struct recognition r;
	recognition_init(&r);
	assert_true(recognize_graph(g, &r));
	assert_string_equal(r.op, want);
	char *copy = xstrdup(has);
	for (char *save = NULL, *d = strtok_r(copy, ";", &save); d; d = strtok_r(NULL, ";", &save)) {
		char line[96];
		snprintf(line, sizeof line, "#define %s\n", d);
		if (!strstr(r.defines, line))
			fail_msg("%s: '%s' not among the defines:\n%s", want, d, r.defines);
	}
	free(copy);
	copy = xstrdup(lacks);
	for (char *save = NULL, *d = strtok_r(copy, ";", &save); d; d = strtok_r(NULL, ";", &save))
		if (template_defines_name(r.defines, d))
			fail_msg("%s: %s among the defines:\n%s", want, d, r.defines);
	free(copy);
	recognition_release(&r);
	graph_free(g);
	buf_release(&b);
}

/* Graph tensors and a two-operand product, as describe's JSON has them. */
#define MM_IN(i, dt, sh) \
	"{\"kind\": \"input\", \"index\": " #i ", \"name\": \"in" #i "\", \"dtype\": \"" dt "\", \"shape\": " sh "}"
#define MM_MID(n, dt, sh) "{\"kind\": \"inter\", \"name\": \"t" #n "\", \"dtype\": \"" dt "\", \"shape\": " sh "}"
#define MM_OP(name, a, b, out) \
	"{\"op\": \"aten." name "\", \"overload\": \"default\", \"args\": [{\"name\": \"self\", \"tensor\": " #a "}," \
	" {\"name\": \"mat2\", \"tensor\": " #b "}], \"attrs\": {}, \"outputs\": [" #out "]}"

/* The 16-bit products are named with their dtype and carry the defines
 * gemm_wgmma_f16 is compiled from: TRANS_A/TRANS_B as in fp32, MATMUL_BATCH
 * where the batch does not fold into A's rows, MATMUL_BF16 for bf16. */
static void test_matmul_16bit(void **state)
{
	/* torch.bmm in bf16 */
	recognise_product(MM_IN(0, "bf16", "[2, 3, 4]") ", " MM_IN(1, "bf16", "[2, 4, 5]") ", " MM_MID(2, "bf16", "[2, 3, 5]"),
			  MM_OP("bmm", 0, 1, 2), 2, "matmul_batched_bf16",
			  "TRANS_A 0;TRANS_B 0;MATMUL_BATCH 1;MATMUL_BF16 1", "MATMUL_TRI");
	/* the same in fp32: the batch define, not the dtype's */
	recognise_product(MM_IN(0, "f32", "[2, 3, 4]") ", " MM_IN(1, "f32", "[2, 4, 5]") ", " MM_MID(2, "f32", "[2, 3, 5]"),
			  MM_OP("bmm", 0, 1, 2), 2, "matmul_batched", "MATMUL_BATCH 1", "MATMUL_BF16");
	/* x @ w.T in fp16: B transposed, no batch */
	recognise_product(MM_IN(0, "f16", "[3, 4]") ", " MM_IN(1, "f16", "[5, 4]") ", " MM_MID(2, "f16", "[4, 5]") ", "
			  MM_MID(3, "f16", "[3, 5]"),
			  "{\"op\": \"aten.t\", \"overload\": \"default\", \"args\": [{\"name\": \"self\", \"tensor\": 1}],"
			  " \"attrs\": {}, \"outputs\": [2]}, " MM_OP("mm", 0, 2, 3),
			  3, "matmul_nt_fp16", "TRANS_A 0;TRANS_B 1", "MATMUL_BATCH;MATMUL_BF16");
	/* A.T @ B in bf16, plain matrices */
	recognise_product(MM_IN(0, "bf16", "[4, 3]") ", " MM_IN(1, "bf16", "[4, 5]") ", " MM_MID(2, "bf16", "[3, 4]") ", "
			  MM_MID(3, "bf16", "[3, 5]"),
			  "{\"op\": \"aten.t\", \"overload\": \"default\", \"args\": [{\"name\": \"self\", \"tensor\": 0}],"
			  " \"attrs\": {}, \"outputs\": [2]}, " MM_OP("mm", 2, 1, 3),
			  3, "matmul_tn_bf16", "TRANS_A 1;TRANS_B 0;MATMUL_BF16 1", "MATMUL_BATCH");
	/* a plain fp16 product keeps its name */
	recognise_product(MM_IN(0, "f16", "[3, 4]") ", " MM_IN(1, "f16", "[4, 5]") ", " MM_MID(2, "f16", "[3, 5]"),
			  MM_OP("mm", 0, 1, 2), 2, "matmul_fp16", "TRANS_A 0;TRANS_B 0", "MATMUL_BATCH;MATMUL_BF16");
}
#undef MM_IN
#undef MM_MID
#undef MM_OP

/* The FLOPs recognition counts in the graph of json (which must decode). */
static double flops_of(const char *json)
{
	struct op_graph *g;
	assert_int_equal(decode(json, &g), 0);
	double flops = recognize_flops(g);
	graph_free(g);
	return flops;
}

static void test_conv_flops(void **state)
{
	struct op_graph *g;
	assert_int_equal(decode("{\"tensors\": [" T_IN(0, "x", "[2, 4, 5, 7]") ", "
				T_PARAM(0, "depthwise.weight", "[4, 1, 3, 3]") ", "
				T_PARAM(1, "pointwise.weight", "[6, 4, 1, 1]") ", "
				T_INTER("t3", "[2, 4, 5, 7]") ", " T_INTER("t4", "[2, 6, 5, 7]") "], \"ops\": ["
				OP_CONV(0, 1, false, 4, 1, 3) ", " OP_CONV(3, 2, false, 1, 0, 4) "], \"outputs\": [4]}",
				&g), 0);
	/* depthwise 2*N*C*OH*OW*KH*KW, pointwise 2*N*Cout*OH*OW*C */
	const double want = 2.0 * 2 * 4 * 5 * 7 * 9 + 2.0 * 2 * 6 * 5 * 7 * 4;
	assert_true(recognize_flops(g) == want);
	struct problem p;
	problem_init(&p);
	p.name = xstrdup("dwsep");
	p.family = xstrdup("generic");
	p.graph = g;
	assert_true(recognize_problem(&p));
	assert_string_equal(p.op, "conv2d_depthwise_separable");
	assert_true(p.flops == want);
	assert_non_null(strstr(p.defines, "#define CONV_PW_BIAS 0\n"));
	/* A count the bridge made stands. */
	p.flops = 123;
	recognize_problem(&p);
	assert_true(p.flops == 123);
	problem_release(&p);

	/* A 3x3 second conv is no pointwise one: a chain, without CONV_PW_BIAS,
	 * its FLOPs counted all the same. */
	assert_int_equal(decode("{\"tensors\": [" T_IN(0, "x", "[2, 4, 5, 7]") ", "
				T_PARAM(0, "depthwise.weight", "[4, 1, 3, 3]") ", "
				T_PARAM(1, "pointwise.weight", "[6, 4, 3, 3]") ", "
				T_INTER("t3", "[2, 4, 5, 7]") ", " T_INTER("t4", "[2, 6, 5, 7]") "], \"ops\": ["
				OP_CONV(0, 1, false, 4, 1, 3) ", " OP_CONV(3, 2, false, 1, 1, 4) "], \"outputs\": [4]}",
				&g), 0);
	struct recognition r;
	recognition_init(&r);
	assert_true(recognize_graph(g, &r));
	assert_string_equal(r.op, "conv2d_chain");
	assert_null(strstr(r.defines, "CONV_PW_BIAS"));
	recognition_release(&r);
	assert_true(recognize_flops(g) == 2.0 * 2 * 4 * 5 * 7 * 9 + 2.0 * 2 * 6 * 5 * 7 * 4 * 9);
	graph_free(g);

	/* Transposed, weight (Cin 4, Cout/groups 3, 2, 2): each input element
	 * meets 3*2*2 weights. */
	assert_int_equal(decode("{\"tensors\": [" T_IN(0, "x", "[2, 4, 5, 7]") ", "
				T_PARAM(0, "w", "[4, 3, 2, 2]") ", " T_INTER("t2", "[2, 3, 6, 8]") "], \"ops\": ["
				OP_CONV(0, 1, true, 1, 0, 2) "], \"outputs\": [2]}", &g), 0);
	assert_true(recognize_flops(g) == 2.0 * 2 * 4 * 5 * 7 * 3 * 2 * 2);
	graph_free(g);
	/* Products: mm (3x5 @ 5x4), bmm (2x3x5 @ 2x5x4), addmm (bias, 3x5, 5x4)
	 * and mv (3x5 @ 5): 2 x the output's numel x the contracted length. */
#define OP_MM(name, args, out) "{\"op\": \"aten." name "\", \"overload\": \"default\", \"args\": [" args "]," \
	" \"attrs\": {}, \"outputs\": [" #out "]}"
#define ARG(name, t) "{\"name\": \"" name "\", \"tensor\": " #t "}"
	assert_true(flops_of("{\"tensors\": [" T_IN(0, "a", "[3, 5]") ", " T_IN(1, "b", "[5, 4]") ", "
				T_INTER("c", "[3, 4]") "], \"ops\": [" OP_MM("mm", ARG("self", 0) ", " ARG("mat2", 1), 2)
				"], \"outputs\": [2]}") == 2.0 * 3 * 4 * 5);
	assert_true(flops_of("{\"tensors\": [" T_IN(0, "a", "[2, 3, 5]") ", " T_IN(1, "b", "[2, 5, 4]") ", "
				T_INTER("c", "[2, 3, 4]") "], \"ops\": [" OP_MM("bmm", ARG("self", 0) ", " ARG("mat2", 1), 2)
				"], \"outputs\": [2]}") == 2.0 * 2 * 3 * 4 * 5);
	/* addmm's left operand is mat1 (5 long), not its bias self (4). */
	assert_true(flops_of("{\"tensors\": [" T_IN(0, "a", "[3, 5]") ", " T_IN(1, "b", "[5, 4]") ", "
				T_PARAM(0, "bias", "[4]") ", " T_INTER("c", "[3, 4]") "], \"ops\": ["
				OP_MM("addmm", ARG("self", 2) ", " ARG("mat1", 0) ", " ARG("mat2", 1), 3)
				"], \"outputs\": [3]}") == 2.0 * 3 * 4 * 5);
	assert_true(flops_of("{\"tensors\": [" T_IN(0, "a", "[3, 5]") ", " T_IN(1, "v", "[5]") ", "
				T_INTER("c", "[3]") "], \"ops\": [" OP_MM("mv", ARG("self", 0) ", " ARG("vec", 1), 2)
				"], \"outputs\": [2]}") == 2.0 * 3 * 5);
	/* Attention: q (2, 3, 7, 8), k and v (2, 3, 9, 8): Q K^T and P V. */
	assert_true(flops_of("{\"tensors\": [" T_IN(0, "q", "[2, 3, 7, 8]") ", " T_IN(1, "k", "[2, 3, 9, 8]") ", "
				T_IN(2, "v", "[2, 3, 9, 8]") ", " T_INTER("o", "[2, 3, 7, 8]") "], \"ops\": ["
				OP_MM("_scaled_dot_product_flash_attention", ARG("query", 0) ", " ARG("key", 1) ", "
				      ARG("value", 2), 3) "], \"outputs\": [3]}") == 2.0 * 2 * 3 * 7 * 9 * (8 + 8));
#undef OP_MM
#undef ARG
	/* Nothing to count: 0. */
	assert_int_equal(decode("{\"tensors\": [" T_X ", " T_Y "], \"ops\": [" OP_LEAKY("1")
				"], \"outputs\": [1]}", &g), 0);
	assert_true(recognize_flops(g) == 0);
	graph_free(g);
}

/* The recognised op, then each #define as " NAME=VALUE". */
static void op_and_defines(const struct recognition *r, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s", r->op);
	for (const char *p = r->defines; (p = strstr(p, "#define ")) && n < size; p++) {
		char name[64], value[64];
		if (sscanf(p, "#define %63s %63s", name, value) == 2)
			n += (size_t)snprintf(out + n, size - n, " %s=%s", name, value);
	}
}

/* Attention is "attention_fp16" (the flash templates' op) only where it is
 * what they compute: a fused SDPA op without a mask or dropout, or a
 * decomposed one (PyTorch's math path: bmm, _safe_softmax, bmm) with no op
 * that makes or applies a mask but torch's causal mask; causality and a
 * scale other than 1/sqrt(D) as ATTN_CAUSAL and ATTN_SCALE, the head dim
 * (8 here) as ATTN_HEAD_DIM; "attention_bf16" (ATTN_BF16) likewise. Otherwise "attention" (plain fp32) or
 * "attention_masked", which no template serves. */
static const char *attention_op_in(const char *dtype, const char *ops, int n_inter, bool mask_input)
{
	static char op[128];
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "{\"tensors\": [");
	const char *names[] = { "q", "k", "v" };
	for (int i = 0; i < 3; i++)
		buf_printf(&b, "{\"kind\": \"input\", \"index\": %d, \"name\": \"%s\", \"dtype\": \"%s\", "
			   "\"shape\": [2, 3, 7, 8]}, ", i, names[i], dtype);
	/* tensor 3, m (7 x 7): a fourth input, or a constant no op reads */
	if (mask_input)
		buf_printf(&b, "{\"kind\": \"input\", \"index\": 3, \"name\": \"m\", \"dtype\": \"%s\", "
			   "\"shape\": [7, 7]}, ", dtype);
	else
		buf_printf(&b, "{\"kind\": \"const\", \"name\": \"m\", \"dtype\": \"%s\", \"shape\": [7, 7]}, ",
			   dtype);
	for (int i = 0; i < n_inter; i++)
		buf_printf(&b, "%s{\"kind\": \"inter\", \"name\": \"t%d\", \"dtype\": \"%s\", \"shape\": [2, 3, 7, %d]}",
			   i ? ", " : "", i, dtype, i == 0 || i == 1 ? 7 : 8);
	buf_printf(&b, "], \"ops\": [%s], \"outputs\": [%d]}", ops, 3 + n_inter);
	struct op_graph *g;
	assert_int_equal(decode(buf_str(&b), &g), 0);
	struct recognition r;
	recognition_init(&r);
	assert_true(recognize_graph(g, &r));
	assert_string_equal(r.family, "attention");
	op_and_defines(&r, op, sizeof op);
	recognition_release(&r);
	graph_free(g);
	buf_release(&b);
	return op;
}

static const char *attention_op(const char *dtype, const char *ops, int n_inter)
{
	return attention_op_in(dtype, ops, n_inter, false);
}

#define SDPA(name, args, attrs) "{\"op\": \"aten." name "\", \"overload\": \"default\", \"args\": [" \
	"{\"name\": \"query\", \"tensor\": 0}, {\"name\": \"key\", \"tensor\": 1}, {\"name\": \"value\", \"tensor\": 2}" \
	args "], \"attrs\": {" attrs "}, \"outputs\": [4]}"
#define OP1(name, a, attrs, out) "{\"op\": \"aten." name "\", \"overload\": \"default\", \"args\": [" \
	"{\"name\": \"self\", \"tensor\": " #a "}], \"attrs\": {" attrs "}, \"outputs\": [" #out "]}"
#define OP2(name, a, b, out) "{\"op\": \"aten." name "\", \"overload\": \"default\", \"args\": [" \
	"{\"name\": \"self\", \"tensor\": " #a "}, {\"name\": \"mat2\", \"tensor\": " #b "}], \"attrs\": {}," \
	" \"outputs\": [" #out "]}"

static void test_attention_kinds(void **state)
{
	assert_string_equal(attention_op("f16", SDPA("scaled_dot_product_attention", "", ""), 1), "attention_fp16 ATTN_HEAD_DIM=8");
	assert_string_equal(attention_op("f16", SDPA("_scaled_dot_product_flash_attention", "",
						      "\"dropout_p\": 0.0, \"is_causal\": false, \"scale\": null"), 1),
			    "attention_fp16 ATTN_HEAD_DIM=8");
	assert_string_equal(attention_op("f32", SDPA("scaled_dot_product_attention", "", ""), 1), "attention");
	assert_string_equal(attention_op("bf16", SDPA("scaled_dot_product_attention", "", "\"is_causal\": true"), 1),
			    "attention_bf16 ATTN_BF16=1 ATTN_CAUSAL=1 ATTN_HEAD_DIM=8");
	assert_string_equal(attention_op("f16", SDPA("_scaled_dot_product_flash_attention", "",
						      "\"is_causal\": true"), 1), "attention_fp16 ATTN_CAUSAL=1 ATTN_HEAD_DIM=8");
	assert_string_equal(attention_op("f16", SDPA("scaled_dot_product_attention", "", "\"scale\": 0.5"), 1),
			    "attention_fp16 ATTN_SCALE=0.5 ATTN_HEAD_DIM=8");
	assert_string_equal(attention_op("f32", SDPA("scaled_dot_product_attention", "", "\"scale\": 0.5"), 1),
			    "attention_masked");
	assert_string_equal(attention_op("f16", SDPA("scaled_dot_product_attention", "", "\"scale\": -0.5"), 1),
			    "attention_masked");  /* the online softmax needs a positive scale */
	assert_string_equal(attention_op("f16", SDPA("scaled_dot_product_attention", "", "\"scale\": 0.0"), 1),
			    "attention_masked");  /* uniform weights, not the default */
	assert_string_equal(attention_op("f16", SDPA("scaled_dot_product_attention", "", "\"scale\": 0.35355339059327373"),
				      1),
			    "attention_fp16 ATTN_HEAD_DIM=8");  /* 1/sqrt(8), the default said aloud */
	assert_string_equal(attention_op("f16", SDPA("scaled_dot_product_attention", "", "\"dropout_p\": 0.1"), 1),
			    "attention_masked");
	assert_string_equal(attention_op_in("f16", SDPA("_scaled_dot_product_efficient_attention",
							 ", {\"name\": \"attn_bias\", \"tensor\": 3}", ""), 1, true),
			    "attention_masked");
	/* Decomposed as PyTorch's math path: q and k scaled by D^-1/4 each
	 * (D = 8), q k^T, _safe_softmax, P v; then with a causal mask (tril
	 * of the scores), and without the scaling. Written out: q k^T / sqrt(D). */
#define Q4 "\"other\": 0.5946035575013605"
	assert_string_equal(attention_op("f32", OP1("mul", 0, Q4, 4) ", " OP1("mul", 1, Q4, 5) ", " OP2("bmm", 4, 5, 6)
					 ", " OP1("_safe_softmax", 6, "\"dim\": -1", 7) ", " OP2("bmm", 7, 2, 8), 5),
			    "attention");
	assert_string_equal(attention_op("f32", OP1("mul", 0, Q4, 4) ", " OP1("mul", 1, Q4, 5) ", " OP2("bmm", 4, 5, 6)
					 ", " OP1("tril", 6, "", 7) ", " OP1("_safe_softmax", 7, "\"dim\": -1", 8) ", "
					 OP2("bmm", 8, 2, 9), 6),
			    "attention_masked");
	assert_string_equal(attention_op("f32", OP2("bmm", 0, 1, 4) ", " OP1("_safe_softmax", 4, "\"dim\": -1", 5)
					 ", " OP2("bmm", 5, 2, 6), 3),
			    "attention_masked");
	assert_string_equal(attention_op("f16", OP2("bmm", 0, 1, 4) ", " OP1("_safe_softmax", 4, "\"dim\": -1", 5)
					 ", " OP2("bmm", 5, 2, 6), 3),
			    "attention_fp16 ATTN_SCALE=1 ATTN_HEAD_DIM=8");
	assert_string_equal(attention_op("f16", OP2("bmm", 0, 1, 4) ", " OP1("div", 4, "\"other\": 2.8284271247461903", 5)
					 ", " OP1("_softmax", 5, "\"dim\": -1", 6) ", " OP2("bmm", 6, 2, 7), 4),
			    "attention_fp16 ATTN_HEAD_DIM=8");
	/* torch 2.11's math path with an attn_mask: the mask, a fourth input,
	 * added to the scaled scores. */
	assert_string_equal(attention_op_in("f32", OP1("mul", 0, Q4, 4) ", " OP1("mul", 1, Q4, 5) ", "
					    OP2("bmm", 4, 5, 6) ", {\"op\": \"aten.add\", \"overload\": \"Tensor\", \"args\": ["
					    "{\"name\": \"self\", \"tensor\": 6}, {\"name\": \"other\", \"tensor\": 3}], \"attrs\": {},"
					    " \"outputs\": [7]}, " OP1("_safe_softmax", 7, "\"dim\": -1", 8) ", " OP2("bmm", 8, 2, 9), 6,
					    true),
			    "attention_masked");
	/* A fused op whose query was scaled first: not the default scale. */
	assert_string_equal(attention_op("f16", OP1("mul", 0, Q4, 4) ", "
					 "{\"op\": \"aten.scaled_dot_product_attention\", \"overload\": \"default\", \"args\": ["
					 "{\"name\": \"query\", \"tensor\": 4}, {\"name\": \"key\", \"tensor\": 1}, "
					 "{\"name\": \"value\", \"tensor\": 2}], \"attrs\": {}, \"outputs\": [5]}", 2),
			    "attention_masked");
#undef Q4
	/* The math path's scale as a number wrapped in a 0-dim tensor (no value
	 * recorded): the scale is unknown here, taken as the default. */
	struct op_graph *g;
	assert_int_equal(decode("{\"tensors\": ["
				"{\"kind\": \"input\", \"index\": 0, \"name\": \"q\", \"dtype\": \"f16\", \"shape\": [2, 3, 7, 8]}, "
				"{\"kind\": \"input\", \"index\": 1, \"name\": \"k\", \"dtype\": \"f16\", \"shape\": [2, 3, 8, 7]}, "
				"{\"kind\": \"input\", \"index\": 2, \"name\": \"v\", \"dtype\": \"f16\", \"shape\": [2, 3, 7, 8]}, "
				"{\"kind\": \"const\", \"name\": \"c\", \"dtype\": \"f32\", \"shape\": []}, "
				"{\"kind\": \"inter\", \"name\": \"t0\", \"dtype\": \"f16\", \"shape\": [2, 3, 7, 8]}, "
				"{\"kind\": \"inter\", \"name\": \"t1\", \"dtype\": \"f16\", \"shape\": [2, 3, 7, 7]}, "
				"{\"kind\": \"inter\", \"name\": \"t2\", \"dtype\": \"f16\", \"shape\": [2, 3, 7, 7]}, "
				"{\"kind\": \"inter\", \"name\": \"t3\", \"dtype\": \"f16\", \"shape\": [2, 3, 7, 8]}], "
				"\"ops\": [{\"op\": \"aten.mul\", \"overload\": \"Tensor\", \"args\": [{\"name\": \"self\", \"tensor\": 0}, "
				"{\"name\": \"other\", \"tensor\": 3}], \"attrs\": {}, \"outputs\": [4]}, "
				OP2("bmm", 4, 1, 5) ", " OP1("_safe_softmax", 5, "\"dim\": -1", 6) ", " OP2("bmm", 6, 2, 7)
				"], \"outputs\": [7]}", &g), 0);
	struct recognition r;
	recognition_init(&r);
	assert_true(recognize_graph(g, &r));
	assert_string_equal(r.op, "attention_fp16");
	recognition_release(&r);
	graph_free(g);
}
#undef SDPA
#undef OP1
#undef OP2

/* The graphs torch 2.11 records on the meta device (its math path: the
 * inputs upcast, q and k^T scaled by D^-1/4 as mul.Scalar, _safe_softmax)
 * for F.scaled_dot_product_attention of the files of tests/data/sdpa, described
 * on the GPU machine (H100, 2026-12-05): all but the masked one are the
 * flash templates', with the defines that say how (the head dim, 64, too). */
static void test_attention_torch_graphs(void **state)
{
	static const struct { const char *file, *op, *from, *to; } want[] = {
		{ "plain", "attention_fp16 ATTN_HEAD_DIM=64", NULL, NULL }, { "bf16", "attention_bf16 ATTN_BF16=1 ATTN_HEAD_DIM=64", NULL, NULL },
		{ "causal", "attention_fp16 ATTN_CAUSAL=1 ATTN_HEAD_DIM=64", NULL, NULL },
		{ "scale", "attention_fp16 ATTN_SCALE=0.3 ATTN_HEAD_DIM=64", NULL, NULL }, { "mask", "attention_masked", NULL, NULL },
		/* the causal graph changed: another diagonal, where's values
		 * swapped, the mask's shape transposed: not torch's causal mask */
		{ "causal", "attention_masked", "\"diagonal\":0", "\"diagonal\":1" },
		{ "causal", "attention_masked", "\"tensor\":10},{\"name\":\"other\",\"tensor\":9}",
		  "\"tensor\":9},{\"name\":\"other\",\"tensor\":10}" },
		{ "causal", "attention_masked", "\"name\":\"t7\",\"dtype\":\"bool\",\"shape\":[96,80]",
		  "\"name\":\"t7\",\"dtype\":\"bool\",\"shape\":[80,96]" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char path[128], *json = NULL;
		snprintf(path, sizeof path, "tests/data/sdpa/graphs/%s.json", want[i].file);
		assert_int_equal(util_read_file(path, 1u << 20, &json, NULL), 0);
		if (want[i].from) {
			/* the change, in place (no longer than the text it replaces) */
			char *at = strstr(json, want[i].from);
			assert_non_null(at);
			assert_true(strlen(want[i].to) == strlen(want[i].from));
			memcpy(at, want[i].to, strlen(want[i].to));
		}
		struct op_graph *g;
		assert_int_equal(decode(json, &g), 0);
		struct recognition r;
		recognition_init(&r);
		assert_true(recognize_graph(g, &r));
		char op[128];
		op_and_defines(&r, op, sizeof op);
		if (strcmp(op, want[i].op))
			fail_msg("%s (%s): %s, not %s", want[i].file, want[i].to ? want[i].to : "as described", op,
				 want[i].op);
		recognition_release(&r);
		graph_free(g);
		free(json);
	}
}

/* Causal attention's floor is the work its mask leaves: the FLOPs counted
 * for every score scale by sum_i min(i + 1, Sk) / (Sq Sk); a count the file
 * declares stands, and a plain attention keeps its count. */
static void test_causal_flops(void **state)
{
	static const struct { const char *file; bool declared; double share; } cases[] = {
		/* Sq = 96 queries, Sk = 80 keys: rows 0..79 see i + 1, 16 rows all 80 */
		{ "causal", false, (80.0 * 81 / 2 + 16 * 80) / (96.0 * 80) },
		{ "causal", true, 1 },
		{ "plain", false, 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[128], *json = NULL;
		snprintf(path, sizeof path, "tests/data/sdpa/graphs/%s.json", cases[i].file);
		assert_int_equal(util_read_file(path, 1u << 20, &json, NULL), 0);
		struct problem p;
		problem_init(&p);
		assert_int_equal(decode(json, &p.graph), 0);
		free(json);
		p.name = xstrdup(cases[i].file);
		p.family = xstrdup("generic");
		p.n_inputs = 3;
		p.inputs = xcalloc(3, sizeof *p.inputs);
		for (int t = 0; t < 3; t++) {
			const struct graph_tensor *g = &p.graph->tensors[t];
			p.inputs[t].name = xstrdup(g->name);
			p.inputs[t].dtype = (enum kb_dtype)g->dtype;
			p.inputs[t].ndim = g->ndim;
			memcpy(p.inputs[t].shape, g->shape, sizeof g->shape);
		}
		p.flops = 1e9;
		p.flops_declared = cases[i].declared;
		assert_true(recognize_problem(&p));
		if (fabs(p.flops - 1e9 * cases[i].share) > 1)
			fail_msg("%s%s: %.0f FLOPs, want %.0f", cases[i].file, cases[i].declared ? " (declared)" : "",
				 p.flops, 1e9 * cases[i].share);
		problem_release(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_and_recognise),
		cmocka_unit_test(test_attribute_types),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_unrecognised_names_ops),
		cmocka_unit_test(test_diag_embed_product),
		cmocka_unit_test(test_matmul_16bit),
		cmocka_unit_test(test_conv_flops),
		cmocka_unit_test(test_attention_kinds),
		cmocka_unit_test(test_attention_torch_graphs),
		cmocka_unit_test(test_causal_flops),
	};
	return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
