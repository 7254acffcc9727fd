/* test_bridge.c - the PyTorch bridge on the CPU at tiny sizes: descriptions,
 * reference data (checked against a C computation), the caches, and clear
 * failures for broken problem files, a missing torch and a missing GPU.
 * Needs $KBREED_PYTHON: a Python with torch (Debian's python3-torch works). */
#include "testing.h"

#include "bridge.h"
#include "util.h"

#include <math.h>
#include <sys/stat.h>

static int setup(void **state)
{
	test_private_cache();
	if (!getenv("KBREED_PYTHON"))
		setenv("KBREED_PYTHON", "/usr/bin/python3", 1);
	return 0;
}

static void test_describe(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_describe("tests/data/tiny_layernorm.py", &p), 0);
	assert_string_equal(p.name, "tiny_layernorm");
	assert_int_equal(p.n_inputs, 1);
	assert_int_equal(p.inputs[0].ndim, 4);
	assert_int_equal(p.inputs[0].shape[0], 4);
	assert_int_equal(p.inputs[0].shape[3], 16);
	assert_int_equal(p.n_params, 2);  /* weight, bias */
	assert_int_equal(p.params[0].ndim, 2);
	assert_int_equal(p.n_outputs, 1);
	assert_int_equal(p.outputs[0].dtype, KB_F32);
	assert_true(p.min_bytes == 4 * (2 * 4 * 8 * 16 * 16 + 2 * 16 * 16));
	assert_string_equal(p.path, "tests/data/tiny_layernorm.py");
	problem_release(&p);

	/* Second time from the cache, with the same answer. */
	problem_init(&p);
	double t0 = util_now();
	assert_int_equal(bridge_describe("tests/data/tiny_layernorm.py", &p), 0);
	assert_true(util_now() - t0 < 0.5);
	assert_int_equal(p.n_params, 2);
	problem_release(&p);
}

static void test_tf32_by_default(void **state)
{
	/* PyTorch's defaults run cuDNN's convolutions in TF32: an fp32 problem
	 * with a convolution gets eager timed with TF32 off too; an fp16 one,
	 * or one without a convolution, does not. The graph alone is enough
	 * (a convolution among ops that no family names). */
	const struct { const char *path; bool tf32; } cases[] = {
		{ "tests/data/odd_conv2d.py", true },
		{ "tests/data/odd_dwconv_fp16.py", false },
		{ "tests/data/tiny_layernorm.py", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct problem p;
		problem_init(&p);
		assert_int_equal(bridge_describe(cases[i].path, &p), 0);
		if (bridge_tf32_by_default(&p) != cases[i].tf32)
			fail_msg("%s: bridge_tf32_by_default says %d", cases[i].path, !cases[i].tf32);
		if (cases[i].tf32) {
			assert_non_null(p.graph);
			free(p.family);
			p.family = xstrdup("unknown");
			assert_true(bridge_tf32_by_default(&p));
		}
		problem_release(&p);
	}
}

static double gelu(double x)
{
	return 0.5 * x * (1 + erf(x / sqrt(2.0)));
}

static void test_reference(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_describe("tests/data/tiny_gelu.py", &p), 0);
	struct refset r = { 0 };
	assert_int_equal(bridge_reference(&p, 5, 42, false, "cpu", &r), 0);
	assert_int_equal(r.sets, 5);
	assert_true(r.upcast);
	size_t bytes = tensor_bytes(&p.inputs[0]);
	float *prev = NULL;
	for (int s = 0; s < 5; s++) {
		char *in = xasprintf("%s/set%d.in0.bin", r.dir, s), *out = xasprintf("%s/set%d.out0.bin", r.dir, s);
		char *x = NULL, *y = NULL;
		size_t nx = 0, ny = 0;
		assert_int_equal(util_read_file(in, 1 << 20, &x, &nx), 0);
		assert_int_equal(util_read_file(out, 1 << 20, &y, &ny), 0);
		assert_int_equal(nx, bytes);
		assert_int_equal(ny, bytes);
		const float *xf = (const float *)x, *yf = (const float *)y;
		for (size_t i = 0; i < bytes / 4; i++)
			assert_true(fabs(yf[i] - gelu(xf[i])) <= 1e-6 + 1e-6 * fabs(gelu(xf[i])));
		/* Each set has its own seed. */
		if (prev)
			assert_true(memcmp(prev, x, bytes) != 0);
		free(prev);
		prev = (float *)x;
		free(y);
		free(in);
		free(out);
	}
	free(prev);
	/* Cached: a second request returns the same directory without work. */
	struct refset again = { 0 };
	double t0 = util_now();
	assert_int_equal(bridge_reference(&p, 5, 42, false, "cpu", &again), 0);
	assert_true(util_now() - t0 < 0.5);
	assert_string_equal(again.dir, r.dir);
	/* Another seed is other data. */
	struct refset other = { 0 };
	assert_int_equal(bridge_reference(&p, 5, 7, false, "cpu", &other), 0);
	assert_string_not_equal(other.dir, r.dir);
	/* With the stressed sets: other data, the five kinds after the plain sets. */
	struct refset st = { 0 };
	assert_int_equal(bridge_reference(&p, 2, 42, true, "cpu", &st), 0);
	assert_string_not_equal(st.dir, r.dir);
	assert_int_equal(st.sets, 2);
	assert_int_equal(st.n_stress, STRESS_KINDS);
	assert_int_equal(st.n_skipped, 0);
	for (int k = 0; k < STRESS_KINDS; k++) {
		assert_int_equal(st.stress[k].kind, k);
		assert_int_equal(st.stress[k].from, k % 2);
		char *in = xasprintf("%s/set%d.in0.bin", st.dir, 2 + k);
		assert_true(util_file_exists(in));
		free(in);
	}
	refset_release(&st);
	refset_release(&other);
	refset_release(&again);
	refset_release(&r);
	problem_release(&p);
}

/* The budget: tiny_gelu's sets are 17160 bytes (33 x 65 fp32 in and out).
 * Within it, everything asked; over it, fewer sets in refbudget's order,
 * the stressed kinds left out listed as skipped; and a smaller budget later
 * takes the data already made rather than making less. */
static void test_reference_budget(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_describe("tests/data/tiny_gelu.py", &p), 0);
	assert_int_equal(p.n_stress_kinds, STRESS_KINDS);
	/* Room for 3 sets of 10: 2 plain, 1 stressed (scale_up); 4 kinds left out. */
	setenv("KBREED_REF_BUDGET_GB", "0.00006", 1);
	struct refset r = { 0 };
	assert_int_equal(bridge_reference(&p, 5, 11, true, "cpu", &r), 0);
	assert_int_equal(r.sets, 2);
	assert_int_equal(r.n_stress, 1);
	assert_int_equal(r.stress[0].kind, STRESS_SCALE_UP);
	assert_int_equal(r.n_skipped, 4);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(r.skipped[k].kind, STRESS_SCALE_DOWN + k);
		assert_non_null(strstr(r.skipped[k].why, "budget"));
	}
	char *f = xasprintf("%s/set2.in0.bin", r.dir);
	assert_true(util_file_exists(f));
	free(f);
	f = xasprintf("%s/set3.in0.bin", r.dir);
	assert_false(util_file_exists(f));
	free(f);
	/* Room for less than one set: one plain set, never none. */
	setenv("KBREED_REF_BUDGET_GB", "0.00001", 1);
	struct refset one = { 0 };
	assert_int_equal(bridge_reference(&p, 5, 12, true, "cpu", &one), 0);
	assert_int_equal(one.sets, 1);
	assert_int_equal(one.n_stress, 0);
	assert_int_equal(one.n_skipped, STRESS_KINDS);
	/* Room for 2 sets, where seed 11's 3 are already made: those serve. */
	setenv("KBREED_REF_BUDGET_GB", "0.00004", 1);
	struct refset again = { 0 };
	double t0 = util_now();
	assert_int_equal(bridge_reference(&p, 5, 11, true, "cpu", &again), 0);
	assert_true(util_now() - t0 < 0.5);
	assert_string_equal(again.dir, r.dir);
	assert_int_equal(again.sets, 2);
	/* off: all 5 + 5, as without a budget. */
	setenv("KBREED_REF_BUDGET_GB", "off", 1);
	struct refset all = { 0 };
	assert_int_equal(bridge_reference(&p, 5, 11, true, "cpu", &all), 0);
	assert_int_equal(all.sets, 5);
	assert_int_equal(all.n_stress, STRESS_KINDS);
	assert_int_equal(all.n_skipped, 0);
	assert_string_not_equal(all.dir, r.dir);
	/* A malformed budget is an error, not a silent default. */
	setenv("KBREED_REF_BUDGET_GB", "many", 1);
	struct refset bad = { 0 };
	assert_int_equal(bridge_reference(&p, 5, 11, true, "cpu", &bad), -1);
	unsetenv("KBREED_REF_BUDGET_GB");
	refset_release(&bad);
	refset_release(&all);
	refset_release(&again);
	refset_release(&one);
	refset_release(&r);
	problem_release(&p);
}

static void test_bad_problems(void **state)
{
	const char *bad[] = { "tests/data/bad_syntax.py", "tests/data/bad_no_get_inputs.py",
			      "tests/data/bad_inputs_type.py", NULL };
	for (int i = 0; bad[i]; i++) {
		struct problem p;
		problem_init(&p);
		assert_int_equal(bridge_describe(bad[i], &p), -1);
		problem_release(&p);
	}
	/* Describable, but not deterministic: no reference can be trusted. */
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_describe("tests/data/bad_nondeterministic.py", &p), 0);
	struct refset r = { 0 };
	assert_int_equal(bridge_reference(&p, 5, 42, false, "cpu", &r), -1);
	assert_null(r.dir);
	refset_release(&r);
	problem_release(&p);
}

static void test_no_torch_no_gpu(void **state)
{
	struct problem p;
	problem_init(&p);
	assert_int_equal(bridge_describe("tests/data/tiny_matmul.py", &p), 0);
	/* No CUDA on a CI machine: PyTorch cannot be timed, and says so. */
	struct baseline b = { 0 };
	if (!util_file_exists("/dev/nvidia0"))
		assert_int_equal(bridge_baseline(&p, 20, 1, 1, false, &b), -1);
	baseline_release(&b);
	/* A Python without torch (or none at all) is a clear error. */
	setenv("KBREED_PYTHON", "/nonexistent/python3", 1);
	struct problem q;
	problem_init(&q);
	assert_int_equal(bridge_describe("tests/data/tiny_gelu.py", &q), -1);
	problem_release(&q);
	setenv("KBREED_PYTHON", "/bin/false", 1);
	problem_init(&q);
	assert_int_equal(bridge_describe("tests/data/tiny_gelu.py", &q), -1);
	problem_release(&q);
	problem_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_tf32_by_default),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_reference_budget),
		cmocka_unit_test(test_bad_problems),
		cmocka_unit_test(test_no_torch_no_gpu),
	};
	return cmocka_run_group_tests_name("bridge", tests, setup, NULL);
}
