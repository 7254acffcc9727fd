/* test_refbudget.c - the reference data's budget, no Python needed: a plan's
 * bytes, the order sets are dropped in, the plan that fits, the budget from
 * its limits (the cap and its override, half the free space, half the RAM
 * for a cache in RAM) and a malformed override refused. */
#include "testing.h"

#include "refbudget.h"
#include "util.h"

#include <stdint.h>

/* A problem of one f32 input of n elements, one output of the same, and one
 * parameter of m elements. */
static void problem_of(struct problem *p, int64_t n, int64_t m)
{
	problem_init(p);
	p->inputs = xcalloc(1, sizeof *p->inputs);
	p->outputs = xcalloc(1, sizeof *p->outputs);
	p->params = xcalloc(1, sizeof *p->params);
	p->n_inputs = p->n_outputs = p->n_params = 1;
	struct tensor_spec *t[] = { p->inputs, p->outputs, p->params };
	for (int i = 0; i < 3; i++) {
		t[i]->dtype = KB_F32;
		t[i]->ndim = 1;
		t[i]->shape[0] = i == 2 ? m : n;
	}
	p->n_stress_kinds = 5;
}

static void test_bytes(void **state)
{
	struct problem p;
	problem_of(&p, 1000, 10);
	assert_int_equal(ref_set_bytes(&p), 8000);
	struct ref_plan plan = { .sets = 5, .stress = 5 };
	assert_int_equal(ref_plan_bytes(&p, &plan), 40 + 10 * 8000);
	/* Level 1's scalar multiplication: 65536 x 16384 fp32 in and out, 5 + 5
	 * sets: the 86 GB that filled /dev/shm. */
	p.inputs[0].ndim = p.outputs[0].ndim = 2;
	p.inputs[0].shape[0] = p.outputs[0].shape[0] = 65536;
	p.inputs[0].shape[1] = p.outputs[0].shape[1] = 16384;
	p.n_params = 0;
	assert_true(ref_plan_bytes(&p, &plan) == 10ull * 2 * 65536 * 16384 * 4);
	char s[32];
	ref_bytes_str(ref_plan_bytes(&p, &plan), s, sizeof s);
	assert_string_equal(s, "85.9 GB");
	ref_bytes_str(40, s, sizeof s);
	assert_string_equal(s, "40 B");
	ref_bytes_str(17160, s, sizeof s);
	assert_string_equal(s, "17.2 kB");
	p.n_params = 1;
	problem_release(&p);
}

/* The drop order: plain sets down to 2, stressed from the last down to 1,
 * the second plain set, the last stressed; never below 1 plain set. */
static void test_shrink_order(void **state)
{
	struct ref_plan plan = { .sets = 5, .stress = 5 };
	const int want[][2] = { { 4, 5 }, { 3, 5 }, { 2, 5 }, { 2, 4 }, { 2, 3 }, { 2, 2 }, { 2, 1 }, { 1, 1 }, { 1, 0 } };
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		assert_true(ref_plan_shrink(&plan));
		assert_int_equal(plan.sets, want[i][0]);
		assert_int_equal(plan.stress, want[i][1]);
	}
	assert_false(ref_plan_shrink(&plan));
	assert_int_equal(plan.sets, 1);
	assert_int_equal(plan.stress, 0);
	/* Stress off: the plain sets alone, down to 1. */
	struct ref_plan plain = { .sets = 3, .stress = 0 };
	assert_true(ref_plan_shrink(&plain));
	assert_true(ref_plan_shrink(&plain));
	assert_int_equal(plain.sets, 1);
	assert_false(ref_plan_shrink(&plain));
}

static void test_fit(void **state)
{
	struct problem p;
	problem_of(&p, 1000, 10);   /* 8000 bytes a set, 40 of parameters */
	struct ref_plan asked = { .sets = 5, .stress = 5 };
	/* Fits: unchanged, at the budget's very byte too. */
	struct ref_plan f = ref_plan_fit(&p, asked, UINT64_MAX);
	assert_int_equal(f.sets, 5);
	assert_int_equal(f.stress, 5);
	f = ref_plan_fit(&p, asked, 40 + 10 * 8000);
	assert_int_equal(f.sets + f.stress, 10);
	/* One byte less: one plain set fewer. */
	f = ref_plan_fit(&p, asked, 40 + 10 * 8000 - 1);
	assert_int_equal(f.sets, 4);
	assert_int_equal(f.stress, 5);
	/* Room for 3 sets: 2 plain, 1 stressed. */
	f = ref_plan_fit(&p, asked, 40 + 3 * 8000);
	assert_int_equal(f.sets, 2);
	assert_int_equal(f.stress, 1);
	/* Room for none: still 1 plain set. */
	f = ref_plan_fit(&p, asked, 100);
	assert_int_equal(f.sets, 1);
	assert_int_equal(f.stress, 0);
	problem_release(&p);
}

static void test_budget(void **state)
{
	struct ref_budget b;
	const uint64_t G = 1000000000ull;
	/* The cap alone (the disk has room, the cache is not in RAM). */
	assert_int_equal(ref_budget_compute(NULL, "/c/refs", 1000 * G, false, 8 * G, &b), 0);
	assert_true(b.bytes == 32 * G);
	assert_non_null(strstr(b.why, "the cap, 32 GB (KBREED_REF_BUDGET_GB)"));
	/* Half the free space, when less. */
	assert_int_equal(ref_budget_compute("", "/c/refs", 40 * G, false, 8 * G, &b), 0);
	assert_true(b.bytes == 20 * G);
	assert_non_null(strstr(b.why, "half the 40 GB free on the filesystem of /c/refs"));
	/* In RAM: half the RAM available too (not counted on a disk). */
	assert_int_equal(ref_budget_compute(NULL, "/dev/shm/kbc/refs", 60 * G, true, 30 * G, &b), 0);
	assert_true(b.bytes == 15 * G);
	assert_non_null(strstr(b.why, "RAM available: /dev/shm/kbc/refs is in RAM"));
	/* Unknown free space and RAM: the cap. */
	assert_int_equal(ref_budget_compute(NULL, "/c/refs", UINT64_MAX, true, UINT64_MAX, &b), 0);
	assert_true(b.bytes == 32 * G);
	/* The override sets the cap, the free space still counts. */
	assert_int_equal(ref_budget_compute("100", "/c/refs", 1000 * G, false, 0, &b), 0);
	assert_true(b.bytes == 100 * G);
	assert_non_null(strstr(b.why, "from KBREED_REF_BUDGET_GB"));
	assert_int_equal(ref_budget_compute("100", "/c/refs", 50 * G, false, 0, &b), 0);
	assert_true(b.bytes == 25 * G);
	assert_int_equal(ref_budget_compute("0.00006", "/c/refs", 50 * G, false, 0, &b), 0);
	assert_true(b.bytes == 60000);
	/* off: no limit at all. */
	assert_int_equal(ref_budget_compute("off", "/c/refs", 2 * G, true, 2 * G, &b), 0);
	assert_true(b.bytes == UINT64_MAX);
	/* Malformed: refused, never read as something else. */
	const char *bad[] = { "0", "-1", "32GB", "abc", "nan", "inf", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(ref_budget_compute(bad[i], "/c/refs", 50 * G, false, 0, &b), -1);
}

/* The machine's half: a real directory gives a finite budget. */
static void test_budget_for(void **state)
{
	char *dir = test_tmpdir();
	struct ref_budget b;
	unsetenv("KBREED_REF_BUDGET_GB");
	assert_int_equal(ref_budget_for(dir, &b), 0);
	assert_true(b.bytes > 0 && b.bytes <= 32000000000ull);
	assert_true(b.why[0] != '\0');
	setenv("KBREED_REF_BUDGET_GB", "0.001", 1);
	assert_int_equal(ref_budget_for(dir, &b), 0);
	assert_true(b.bytes <= 1000000);
	setenv("KBREED_REF_BUDGET_GB", "lots", 1);
	assert_int_equal(ref_budget_for(dir, &b), -1);
	unsetenv("KBREED_REF_BUDGET_GB");
	rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_shrink_order),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_budget_for),
	};
	return cmocka_run_group_tests_name("refbudget", tests, NULL, NULL);
}
