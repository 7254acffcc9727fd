/* test_compare.c - the tolerance rule: both profiles, NaN/Inf, half types,
 * integers, the output-magnitude scale, and threads agreeing with one. */
#include "testing.h"

#include "compare.h"

#include <math.h>

static void test_profiles(void **state)
{
	double a, r;
	tolerance_get(TOL_STRICT, KB_F32, &a, &r);
	assert_true(a == 1e-4 && r == 1e-4);
	tolerance_get(TOL_STRICT, KB_F16, &a, &r);
	assert_true(a == 1e-2 && r == 1e-2);
	tolerance_get(TOL_CRFM, KB_F32, &a, &r);
	assert_true(a == 1e-2 && r == 1e-2);
	assert_int_equal(tolerance_parse("strict"), TOL_STRICT);
	assert_int_equal(tolerance_parse("crfm"), TOL_CRFM);
	assert_int_equal(tolerance_parse("loose"), -1);
	assert_string_equal(tolerance_name(TOL_CRFM), "crfm");
}

static void test_f32_rule(void **state)
{
	float ref[5] = { 0.0f, 1.0f, -2.0f, 100.0f, 0.5f };
	float got[5] = { 5e-5f, 1.00025f, -2.0f, 100.0f + 5e-3f, 0.5f };
	struct compare_stats s;
	compare_buffers(ref, got, KB_F32, 5, 1, 1, &s);
	/* 5e-5 <= 1e-4: pass. 2.5e-4 > 1e-4 + 1e-4 * 1: fail under strict.
	 * 5e-3 <= 1e-4 + 1e-2: pass. */
	assert_int_equal(s.n, 5);
	assert_int_equal(s.n_bad[TOL_STRICT], 1);
	assert_int_equal(s.first_bad[TOL_STRICT], 1);
	assert_true(fabs(s.first_want[TOL_STRICT] - 1.0) < 1e-12);
	assert_int_equal(s.n_bad[TOL_CRFM], 0);
	assert_int_equal(s.first_bad[TOL_CRFM], -1);
	assert_true(s.max_abs > 4e-3 && s.max_abs < 6e-3);
}

static void test_nan_and_inf(void **state)
{
	float ref[6] = { NAN, 1.0f, INFINITY, -INFINITY, 2.0f, 3.0f };
	float got[6] = { NAN, NAN, INFINITY, INFINITY, INFINITY, 3.0f };
	struct compare_stats s;
	compare_buffers(ref, got, KB_F32, 6, 1, 1, &s);
	/* NaN where the reference is NaN passes; NaN elsewhere never; the sign
	 * of an infinity matters; Inf where the reference is finite fails. */
	assert_int_equal(s.n_bad[TOL_STRICT], 3);
	assert_int_equal(s.n_bad[TOL_CRFM], 3);
	assert_int_equal(s.first_bad[TOL_STRICT], 1);
	assert_int_equal(s.n_nonfinite, 2);
}

static void test_poison_is_caught(void **state)
{
	/* An output never written still holds the worker's 0xff poison: NaN. */
	float ref[4] = { 1, 2, 3, 4 }, got[4];
	memset(got, 0xff, sizeof got);
	struct compare_stats s;
	compare_buffers(ref, got, KB_F32, 4, 1, 1, &s);
	assert_int_equal(s.n_bad[TOL_CRFM], 4);
	assert_int_equal(s.n_nonfinite, 4);
	uint16_t h = 0xffff;
	assert_true(isnan(compare_half_to_float(h)));
	assert_true(isnan(compare_bf16_to_float(h)));
}

static void test_half_conversion(void **state)
{
	assert_true(compare_half_to_float(0x3c00) == 1.0f);
	assert_true(compare_half_to_float(0xc000) == -2.0f);
	assert_true(compare_half_to_float(0x7bff) == 65504.0f);
	assert_true(compare_half_to_float(0x0001) == ldexpf(1.0f, -24));  /* smallest subnormal */
	assert_true(isinf(compare_half_to_float(0x7c00)));
	assert_true(compare_bf16_to_float(0x3f80) == 1.0f);
	/* fp16: 1.0 against 1.0098 (0x3c0a) passes 1e-2, 1.0 against 1.0215 (0x3c16) fails. */
	uint16_t ref[2] = { 0x3c00, 0x3c00 }, got[2] = { 0x3c0a, 0x3c16 };
	struct compare_stats s;
	compare_buffers(ref, got, KB_F16, 2, 1, 1, &s);
	assert_int_equal(s.n_bad[TOL_STRICT], 1);
	assert_int_equal(s.first_bad[TOL_STRICT], 1);
}

static void test_integers_exact(void **state)
{
	int32_t ref[3] = { 1, 2, 3 }, got[3] = { 1, 2, 4 };
	struct compare_stats s;
	compare_buffers(ref, got, KB_I32, 3, 1, 1, &s);
	assert_int_equal(s.n_bad[TOL_CRFM], 1);
	assert_int_equal(s.first_bad[TOL_CRFM], 2);
}

static void test_scale(void **state)
{
	/* A reference of magnitude ~100: the absolute term grows with it. */
	enum { N = 1000 };
	float ref[N], got[N];
	for (int i = 0; i < N; i++) {
		ref[i] = (i % 2 ? 100.0f : -100.0f);
		got[i] = ref[i];
	}
	ref[3] = 0.0f;
	got[3] = 5e-3f;  /* 5e-3 > 1e-4 unscaled, < 1e-4 * ~100 scaled */
	double scale = compare_scale(ref, KB_F32, N);
	assert_true(scale > 99 && scale < 101);
	struct compare_stats s;
	compare_buffers(ref, got, KB_F32, N, 1, 1, &s);
	assert_int_equal(s.n_bad[TOL_STRICT], 1);
	compare_buffers(ref, got, KB_F32, N, scale, 1, &s);
	assert_int_equal(s.n_bad[TOL_STRICT], 0);
	/* Small outputs keep the plain rule. */
	float small[2] = { 0.1f, 0.2f };
	assert_true(compare_scale(small, KB_F32, 2) == 1.0);
}

static void test_threads_agree(void **state)
{
	int64_t n = (1 << 21) + 17;  /* big enough to split, not a multiple of threads */
	float *ref = malloc((size_t)n * sizeof *ref), *got = malloc((size_t)n * sizeof *got);
	for (int64_t i = 0; i < n; i++) {
		ref[i] = (float)(i % 1000) * 0.01f;
		got[i] = ref[i];
	}
	got[n - 1] += 1.0f;
	got[1234567] += 0.5f;
	got[99] = NAN;
	struct compare_stats one, many;
	compare_buffers(ref, got, KB_F32, n, 1, 1, &one);
	compare_buffers(ref, got, KB_F32, n, 1, 7, &many);
	assert_int_equal(one.n, n);
	assert_int_equal(many.n, n);
	assert_int_equal(one.n_bad[TOL_STRICT], 3);
	assert_int_equal(many.n_bad[TOL_STRICT], 3);
	assert_int_equal(many.first_bad[TOL_STRICT], 99);
	assert_true(one.max_abs == many.max_abs);
	free(ref);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_f32_rule),
		cmocka_unit_test(test_nan_and_inf),
		cmocka_unit_test(test_poison_is_caught),
		cmocka_unit_test(test_half_conversion),
		cmocka_unit_test(test_integers_exact),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_threads_agree),
	};
	return cmocka_run_group_tests_name("compare", tests, NULL, NULL);
}
