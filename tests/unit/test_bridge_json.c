/* test_bridge_json.c - the bridge's replies read into structs, checked field
 * by field: missing, mistyped and out-of-range fields are errors. Needs no
 * Python (test_bridge.c runs the bridge itself). */
#include "testing.h"

#include "bridge.h"
#include "util.h"

static const char *describe_json =
	"{\"name\": \"ln\", \"family\": \"norm\", \"notes\": \"n\", \"file_sha256\": \"ab\","
	" \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [4, 8]}],"
	" \"params\": [{\"name\": \"w\", \"dtype\": \"f32\", \"shape\": [8]}],"
	" \"outputs\": [{\"name\": \"out0\", \"dtype\": \"f16\", \"shape\": [4, 8]}],"
	" \"flops\": 1000, \"min_bytes\": 224}";

static void test_problem(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	assert_string_equal(p.name, "ln");
	assert_string_equal(p.family, "norm");
	assert_int_equal(p.n_inputs, 1);
	assert_int_equal(p.n_params, 1);
	assert_int_equal(p.n_outputs, 1);
	assert_int_equal(p.inputs[0].ndim, 2);
	assert_int_equal(p.inputs[0].shape[1], 8);
	assert_int_equal(p.outputs[0].dtype, KB_F16);
	assert_int_equal(tensor_bytes(&p.outputs[0]), 64);
	assert_true(p.flops == 1000 && p.min_bytes == 224);
	char *s = tensor_shape_str(&p.inputs[0]);
	assert_string_equal(s, "4x8");
	free(s);
	problem_release(&p);
}

/* bridge_json_problem() on the least description with one more member,
 * "KEY": VALUE, into a fresh *p (released by the caller). */
static int parse_with(const char *key, const char *value, struct problem *p)
{
	char *j = xasprintf("{\"%s\": %s, \"inputs\": [], \"params\": [],"
			    " \"outputs\": [{\"dtype\": \"f32\", \"shape\": [1]}], \"flops\": 0,"
			    " \"min_bytes\": 4}", key, value);
	problem_init(p);
	int rc = bridge_json_problem(j, p);
	free(j);
	return rc;
}

static void test_problem_defines(void **state)
{
	/* KBREED_DEFINES become #define lines, in the file's order. */
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	assert_string_equal(p.defines, "");
	problem_release(&p);
	const char *with =
		"{\"name\": \"c\", \"defines\": {\"CONV_STRIDE\": 4, \"CONV_PAD\": 2, \"EPS\": 0.5},"
		" \"inputs\": [], \"params\": [], \"outputs\": [{\"dtype\": \"f32\", \"shape\": [1]}],"
		" \"flops\": 0, \"min_bytes\": 4}";
	assert_int_equal(bridge_json_problem(with, &p), 0);
	assert_string_equal(p.defines, "#define CONV_STRIDE 4\n#define CONV_PAD 2\n#define EPS 0.5\n");
	problem_release(&p);
	const char *bad[] = { "{\"1X\": 1}", "{\"A B\": 1}", "{\"X\": \"4\"}", "[1]", NULL };
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(parse_with("defines", bad[i], &p), -1);
		problem_release(&p);
	}
	/* Defines past 64 KiB are refused, not cut short: 3000 of about 24
	 * bytes each. */
	struct buf big;
	buf_init(&big, 0);
	buf_printf(&big, "{\"defines\": {");
	for (int i = 0; i < 3000; i++)
		buf_printf(&big, "%s\"DEFINE_NUMBER_%d\": %d", i ? ", " : "", i, i);
	buf_printf(&big, "}, \"inputs\": [], \"params\": [], \"outputs\": [{\"dtype\": \"f32\", \"shape\": [1]}],"
		   " \"flops\": 0, \"min_bytes\": 4}");
	problem_init(&p);
	assert_int_equal(bridge_json_problem(buf_str(&big), &p), -1);
	problem_release(&p);
	buf_release(&big);
}

/* "stress": the kinds the file allows, counted for the reference budget;
 * absent (an older bridge): all of them. */
static void test_problem_stress_kinds(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	assert_int_equal(p.n_stress_kinds, STRESS_KINDS);
	problem_release(&p);
	const char *good[][2] = { { "[]", "0" }, { "[\"ties\"]", "1" }, { "[\"scale_down\", \"shift\", \"ties\"]", "3" } };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(parse_with("stress", good[i][0], &p), 0);
		assert_int_equal(p.n_stress_kinds, atoi(good[i][1]));
		problem_release(&p);
	}
	const char *bad[] = { "\"ties\"", "[\"warp\"]", "[1]",
			      "[\"ties\", \"ties\", \"ties\", \"ties\", \"ties\", \"ties\"]", NULL };
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(parse_with("stress", bad[i], &p), -1);
		problem_release(&p);
	}
}

static void test_problem_rejects(void **state)
{
	struct problem p;
	const char *bad[] = {
		"not json",
		"[1, 2]",
		"{\"inputs\": [], \"params\": [], \"outputs\": [], \"flops\": 0}",  /* no min_bytes */
		"{\"inputs\": [{\"dtype\": \"f8\", \"shape\": [1]}], \"params\": [], \"outputs\": [], \"flops\": 0, \"min_bytes\": 0}",
		"{\"inputs\": [{\"dtype\": \"f32\", \"shape\": [-1]}], \"params\": [], \"outputs\": [], \"flops\": 0, \"min_bytes\": 0}",
		"{\"inputs\": [], \"params\": [], \"outputs\": [], \"flops\": 0, \"min_bytes\": 0}",  /* no output */
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		problem_init(&p);
		assert_int_equal(bridge_json_problem(bad[i], &p), -1);
		problem_release(&p);
	}
}

static void test_manifest_must_match(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	struct refset r = { 0 };
	const char *good =
		"{\"sets\": 5, \"seed\": 42, \"device\": \"cuda\", \"upcast\": true, \"gpu\": null,"
		" \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [4, 8]}],"
		" \"params\": [{\"name\": \"w\", \"dtype\": \"f32\", \"shape\": [8]}],"
		" \"outputs\": [{\"name\": \"out0\", \"dtype\": \"f16\", \"shape\": [4, 8]}]}";
	assert_int_equal(bridge_json_manifest(good, &p, &r), 0);
	assert_int_equal(r.sets, 5);
	assert_true(r.upcast);
	assert_string_equal(r.device, "cuda");
	assert_string_equal(r.gpu, "");
	const char *other_shape =
		"{\"sets\": 5, \"seed\": 42,"
		" \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [4, 9]}],"
		" \"params\": [{\"name\": \"w\", \"dtype\": \"f32\", \"shape\": [8]}],"
		" \"outputs\": [{\"name\": \"out0\", \"dtype\": \"f16\", \"shape\": [4, 8]}]}";
	assert_int_equal(bridge_json_manifest(other_shape, &p, &r), -1);
	refset_release(&r);
	problem_release(&p);
}

/* The stressed sets of a manifest: numbered after the plain ones, from a
 * plain set, each kind once whether written or skipped; anything else is
 * refused and leaves the refset as it was. */
static void test_manifest_stress(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	const char *head = "{\"sets\": 2, \"seed\": 42,"
		" \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [4, 8]}],"
		" \"params\": [{\"name\": \"w\", \"dtype\": \"f32\", \"shape\": [8]}],"
		" \"outputs\": [{\"name\": \"out0\", \"dtype\": \"f16\", \"shape\": [4, 8]}]";
	struct refset r = { 0 };
	char *j = xasprintf("%s, \"stress\": [{\"set\": 2, \"kind\": \"ties\", \"from\": 1},"
			    " {\"set\": 3, \"kind\": \"scale_up\", \"from\": 0}],"
			    " \"stress_skipped\": [{\"kind\": \"shift\", \"from\": 0, \"why\": \"overflow\"}]}", head);
	assert_int_equal(bridge_json_manifest(j, &p, &r), 0);
	free(j);
	assert_int_equal(r.n_stress, 2);
	assert_int_equal(r.stress[0].kind, STRESS_TIES);
	assert_int_equal(r.stress[0].from, 1);
	assert_int_equal(r.stress[1].kind, STRESS_SCALE_UP);
	assert_int_equal(r.n_skipped, 1);
	assert_int_equal(r.skipped[0].kind, STRESS_SHIFT);
	assert_string_equal(r.skipped[0].why, "overflow");
	const char *bad[] = {
		"\"stress\": [{\"set\": 3, \"kind\": \"ties\", \"from\": 1}]",          /* a gap */
		"\"stress\": [{\"set\": 2, \"kind\": \"bogus\", \"from\": 1}]",         /* no such kind */
		"\"stress\": [{\"set\": 2, \"kind\": \"ties\", \"from\": 2}]",          /* from a stressed set */
		"\"stress\": [{\"set\": 2, \"kind\": \"ties\", \"from\": -1}]",
		"\"stress\": [{\"set\": 2, \"kind\": \"ties\", \"from\": 0}, {\"set\": 3, \"kind\": \"ties\", \"from\": 1}]",
		"\"stress\": [{\"set\": 2, \"kind\": \"ties\", \"from\": 0}], \"stress_skipped\": [{\"kind\": \"ties\", \"from\": 0}]",
		"\"stress\": {\"set\": 2}", "\"stress\": [3]", "\"stress_skipped\": \"none\"",
		"\"stress\": [{\"set\": 2, \"kind\": 4, \"from\": 0}]",
		"\"stress\": [{\"set\": 2, \"kind\": \"ties\"}]",
		"\"stress_skipped\": [{\"kind\": \"ties\", \"from\": 0}, {\"kind\": \"shift\", \"from\": 0},"
		" {\"kind\": \"scale_up\", \"from\": 0}, {\"kind\": \"scale_down\", \"from\": 0},"
		" {\"kind\": \"clustered_max\", \"from\": 0}, {\"kind\": \"ties\", \"from\": 1}]",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		j = xasprintf("%s, %s}", head, bad[i]);
		if (bridge_json_manifest(j, &p, &r) != -1)
			print_error("accepted: %s\n", bad[i]);
		assert_int_equal(bridge_json_manifest(j, &p, &r), -1);
		assert_int_equal(r.n_stress, 2);   /* untouched */
		free(j);
	}
	/* Absent lists: none. */
	j = xasprintf("%s}", head);
	assert_int_equal(bridge_json_manifest(j, &p, &r), 0);
	assert_int_equal(r.n_stress, 0);
	assert_int_equal(r.n_skipped, 0);
	free(j);
	refset_release(&r);
	problem_release(&p);
}

static void test_baseline_and_ceilings(void **state)
{
	struct baseline b = { 0 };
	assert_int_equal(bridge_json_baseline("{\"eager\": {\"median_ms\": 1.5, \"min_ms\": 1.4, \"max_ms\": 2, \"reps\": 30},"
					" \"compile\": {\"error\": \"no triton\"}, \"gpu\": \"H\"}", &b), 0);
	assert_true(b.eager.median_ms == 1.5 && b.eager.reps == 30);
	assert_false(b.has_compile);
	assert_string_equal(b.compile_error, "no triton");
	baseline_release(&b);
	assert_int_equal(bridge_json_baseline("{\"eager\": {\"median_ms\": 1.5}}", &b), -1);
	baseline_release(&b);
	/* Eager with TF32 off, where the bridge was asked for it; null otherwise;
	 * a malformed one is an error, not a missing one. */
	assert_int_equal(bridge_json_baseline("{\"eager\": {\"median_ms\": 1.5, \"min_ms\": 1.4, \"max_ms\": 2, \"reps\": 30},"
					" \"eager_fp32\": {\"median_ms\": 4.5, \"min_ms\": 4.4, \"max_ms\": 5, \"reps\": 30},"
					" \"compile\": null, \"gpu\": \"H\"}", &b), 0);
	assert_true(b.has_eager_fp32 && b.eager_fp32.median_ms == 4.5);
	baseline_release(&b);
	assert_int_equal(bridge_json_baseline("{\"eager\": {\"median_ms\": 1.5, \"min_ms\": 1.4, \"max_ms\": 2, \"reps\": 30},"
					" \"eager_fp32\": null, \"gpu\": \"H\"}", &b), 0);
	assert_false(b.has_eager_fp32);
	baseline_release(&b);
	assert_int_equal(bridge_json_baseline("{\"eager\": {\"median_ms\": 1.5, \"min_ms\": 1.4, \"max_ms\": 2, \"reps\": 30},"
					" \"eager_fp32\": {\"median_ms\": -1}, \"gpu\": \"H\"}", &b), -1);
	assert_false(b.has_eager_fp32);
	baseline_release(&b);

	struct ceilings c = { 0 };
	assert_int_equal(bridge_json_ceilings("{\"gpu\": \"H\", \"bandwidth_gbs\": 3000, \"fp32_tflops\": 50,"
					" \"tf32_tflops\": 300, \"fp16_tflops\": 700, \"bf16_tflops\": 700}", &c), 0);
	assert_true(c.bandwidth_gbs == 3000);
	ceilings_release(&c);
	assert_int_equal(bridge_json_ceilings("{\"bandwidth_gbs\": 0, \"fp32_tflops\": 1, \"tf32_tflops\": 1,"
					" \"fp16_tflops\": 1, \"bf16_tflops\": 1}", &c), -1);
	ceilings_release(&c);
}

static void test_error_message(void **state)
{
	char *m = bridge_json_error("{\"error\": \"bad problem\"}");
	assert_string_equal(m, "bad problem");
	free(m);
	assert_null(bridge_json_error("{\"name\": 1}"));
	assert_null(bridge_json_error("garbage"));
}

static void test_numbers_out_of_range(void **state)
{
	/* Counts and seeds that do not fit an int, or are not whole, are errors,
	 * not values a cast would make up. */
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_json_problem(describe_json, &p), 0);
	const char *specs =
		" \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [4, 8]}],"
		" \"params\": [{\"name\": \"w\", \"dtype\": \"f32\", \"shape\": [8]}],"
		" \"outputs\": [{\"name\": \"out0\", \"dtype\": \"f16\", \"shape\": [4, 8]}]}";
	const char *bad[] = {
		"\"sets\": 1e300, \"seed\": 42", "\"sets\": -1e300, \"seed\": 42",
		"\"sets\": 2147483648, \"seed\": 42", "\"sets\": 0, \"seed\": 42",
		"\"sets\": -3, \"seed\": 42", "\"sets\": 2.5, \"seed\": 42",
		"\"sets\": 5, \"seed\": 1e300", "\"sets\": 5, \"seed\": -2147483649",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		struct refset r = { 0 };
		char *j = xasprintf("{%s,%s", bad[i], specs);
		assert_int_equal(bridge_json_manifest(j, &p, &r), -1);
		assert_int_equal(r.sets, 0);
		refset_release(&r);
		free(j);
	}
	/* The edges still pass; a whole real is a whole number. */
	struct refset r = { 0 };
	char *j = xasprintf("{\"sets\": 2147483647, \"seed\": -2147483648,%s", specs);
	assert_int_equal(bridge_json_manifest(j, &p, &r), 0);
	assert_int_equal(r.sets, 2147483647);
	assert_int_equal(r.seed, -2147483648);
	free(j);
	j = xasprintf("{\"sets\": 3.0, \"seed\": 7,%s", specs);
	assert_int_equal(bridge_json_manifest(j, &p, &r), 0);
	assert_int_equal(r.sets, 3);
	free(j);
	refset_release(&r);
	problem_release(&p);

	const char *reps[] = { "1e300", "-1e300", "0", "-5", "2147483648", "30.5", NULL };
	for (int i = 0; reps[i]; i++) {
		struct baseline b = { 0 };
		char *e = xasprintf("{\"eager\": {\"median_ms\": 1, \"min_ms\": 1, \"max_ms\": 1,"
				    " \"reps\": %s}}", reps[i]);
		assert_int_equal(bridge_json_baseline(e, &b), -1);
		baseline_release(&b);
		free(e);
		/* torch.compile's timing too. */
		e = xasprintf("{\"eager\": {\"median_ms\": 1, \"min_ms\": 1, \"max_ms\": 1, \"reps\": 3},"
			      " \"compile\": {\"median_ms\": 1, \"min_ms\": 1, \"max_ms\": 1, \"reps\": %s}}",
			      reps[i]);
		assert_int_equal(bridge_json_baseline(e, &b), -1);
		assert_false(b.has_compile);
		baseline_release(&b);
		free(e);
	}
}

static void test_shape_too_large(void **state)
{
	/* A shape whose element count would overflow a size in bytes is refused;
	 * 2^56 elements is the most one tensor may have. */
	const char *shapes[] = { "[4294967296, 4294967296]", "[9223372036854775807, 2]",
				 "[268435456, 268435457]", "[65536, 65536, 65536, 65536]", NULL };
	struct problem p;
	for (int i = 0; shapes[i]; i++) {
		char *j = xasprintf("{\"inputs\": [{\"dtype\": \"f32\", \"shape\": %s}], \"params\": [],"
				    " \"outputs\": [{\"dtype\": \"f32\", \"shape\": [1]}], \"flops\": 0,"
				    " \"min_bytes\": 4}", shapes[i]);
		problem_init(&p);
		assert_int_equal(bridge_json_problem(j, &p), -1);
		problem_release(&p);
		free(j);
	}
	problem_init(&p);
	assert_int_equal(bridge_json_problem("{\"inputs\": [{\"dtype\": \"f64\", \"shape\": [268435456, 268435456]}],"
					     " \"params\": [], \"outputs\": [{\"dtype\": \"f32\", \"shape\": [0, 9223372036854775807]}],"
					     " \"flops\": 0, \"min_bytes\": 4}", &p), 0);
	assert_true(tensor_bytes(&p.inputs[0]) == ((size_t)1 << 56) * 8);
	assert_true(tensor_bytes(&p.outputs[0]) == 0);
	problem_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem),
		cmocka_unit_test(test_problem_defines),
		cmocka_unit_test(test_problem_stress_kinds),
		cmocka_unit_test(test_problem_rejects),
		cmocka_unit_test(test_manifest_must_match),
		cmocka_unit_test(test_manifest_stress),
		cmocka_unit_test(test_baseline_and_ceilings),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_numbers_out_of_range),
		cmocka_unit_test(test_shape_too_large),
	};
	return cmocka_run_group_tests_name("bridge_json", tests, NULL, NULL);
}
