/* test_compare.c - the tolerance rule: both profiles, NaN/Inf, half types,
 * integers, the output-magnitude scale, and threads agreeing with one. */
#include "testing.h"

#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The norm rule, on synthetic outputs. A softmax over rows of 65536 (values
 * about 1.5e-5, as in the issue that asked for it): the reference in
 * double, rounded to fp32 as the bridge writes it. */
#define SM_ROWS 16
#define SM_COLS 65536

/* A deterministic normal-ish draw: the sum of four uniforms, centred. */
static double draw(uint64_t *x)
{
	double v = 0;
	for (int k = 0; k < 4; k++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		v += (double)(*x >> 11) / 9007199254740992.0;
	}
	return (v - 2.0) * 1.7320508;
}

static float *softmax_input(void)
{
	float *x = malloc(sizeof(float) * SM_ROWS * SM_COLS);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < SM_ROWS * SM_COLS; i++)
		x[i] = (float)draw(&seed);
	return x;
}

enum sm_way { SM_DOUBLE, SM_F32_SEQ, SM_F32_PAIRWISE, SM_F16_EXP, SM_F16_EXP_OUT };

/* One row of softmax computed one way; fp32 results. */
static void softmax_row(const float *x, float *y, enum sm_way way)
{
	float mx = x[0];
	for (int j = 1; j < SM_COLS; j++)
		mx = x[j] > mx ? x[j] : mx;
	if (way == SM_DOUBLE) {
		double sum = 0;
		for (int j = 0; j < SM_COLS; j++)
			sum += exp((double)x[j] - mx);
		for (int j = 0; j < SM_COLS; j++)
			y[j] = (float)(exp((double)x[j] - mx) / sum);
		return;
	}
	float e[SM_COLS];
	if (way == SM_F16_EXP_OUT) {
		/* exp(x - max - log(sum)) in half precision: the outputs themselves
		 * (about 1.5e-5) are fp16 subnormals. */
		float sum = 0;
		for (int j = 0; j < SM_COLS; j++)
			sum += expf(x[j] - mx);
		float lse = logf(sum);
		for (int j = 0; j < SM_COLS; j++)
			y[j] = (float)(_Float16)expf((float)(_Float16)(x[j] - mx - lse));
		return;
	}
	for (int j = 0; j < SM_COLS; j++)
		e[j] = way == SM_F16_EXP ? (float)(_Float16)expf((float)(_Float16)(x[j] - mx)) : expf(x[j] - mx);
	float sum = 0;
	if (way == SM_F32_PAIRWISE) {
		float part[SM_COLS / 256];
		for (int b = 0; b < SM_COLS / 256; b++) {
			part[b] = 0;
			for (int j = 255; j >= 0; j--)   /* another order within each block too */
				part[b] += e[b * 256 + j];
		}
		for (int n = SM_COLS / 256; n > 1; n /= 2)
			for (int b = 0; b < n / 2; b++)
				part[b] += part[b + n / 2];
		sum = part[0];
	} else {
		for (int j = 0; j < SM_COLS; j++)
			sum += e[j];
	}
	for (int j = 0; j < SM_COLS; j++)
		y[j] = e[j] / sum;
}

static float *softmax(const float *x, enum sm_way way)
{
	float *y = malloc(sizeof(float) * SM_ROWS * SM_COLS);
	for (int r = 0; r < SM_ROWS; r++)
		softmax_row(x + (size_t)r * SM_COLS, y + (size_t)r * SM_COLS, way);
	return y;
}

static void expect_norm(const float *ref, const float *got, bool strict_pass, bool crfm_pass,
			double lo, double hi, const char *what)
{
	struct compare_stats s;
	compare_buffers(ref, got, KB_F32, SM_ROWS * SM_COLS, compare_scale(ref, KB_F32, SM_ROWS * SM_COLS), 2, &s);
	bool strict = s.n_bad[TOL_STRICT] == 0 && !s.norm_bad[TOL_STRICT];
	bool crfm = s.n_bad[TOL_CRFM] == 0 && !s.norm_bad[TOL_CRFM];
	print_message("%s: ||got - ref|| / ||ref|| = %.3g, max abs %.3g; strict %s, crfm %s\n", what, s.rel_l2,
		      s.max_abs, strict ? "pass" : "fail", crfm ? "pass" : "fail");
	if (strict != strict_pass || crfm != crfm_pass)
		fail_msg("%s: strict %d crfm %d, want %d %d (rel_l2 %.3g)", what, strict, crfm, strict_pass, crfm_pass,
			 s.rel_l2);
	if (s.rel_l2 < lo || s.rel_l2 > hi)
		fail_msg("%s: rel_l2 %.3g outside [%g, %g]", what, s.rel_l2, lo, hi);
}

static void test_norm_softmax(void **state)
{
	float *x = softmax_input(), *ref = softmax(x, SM_DOUBLE);
	/* An all-zero output: every element within crfm's 1e-2 * max(1, rms). */
	float *got = calloc(SM_ROWS * SM_COLS, sizeof *got);
	struct compare_stats s;
	compare_buffers(ref, got, KB_F32, SM_ROWS * SM_COLS, compare_scale(ref, KB_F32, SM_ROWS * SM_COLS), 1, &s);
	assert_int_equal(s.n_bad[TOL_CRFM], 0);   /* the element-wise rule alone would pass it */
	expect_norm(ref, got, false, false, 0.999, 1.001, "all zeros");
	/* Only the first 10% of rows computed (here 2 of 16 rows; the rest zero). */
	memcpy(got, ref, sizeof(float) * 2 * SM_COLS);
	expect_norm(ref, got, false, false, 0.9, 0.97, "10% of rows");
	/* A constant output: 1 / columns everywhere. */
	for (int i = 0; i < SM_ROWS * SM_COLS; i++)
		got[i] = 1.0f / SM_COLS;
	expect_norm(ref, got, false, false, 0.5, 1.0, "constant 1/N");
	free(got);
	/* Exponentials in half precision, every element within strict's 1e-4:
	 * of the normalised outputs (about 1.5e-5, fp16 subnormals: errors of a
	 * few 1e-7, as the issue measured), and of x - max before an fp32 sum.
	 * Both fail strict (bound 1e-4) and pass crfm (half precision is what
	 * crfm allows). */
	got = softmax(x, SM_F16_EXP_OUT);
	expect_norm(ref, got, false, true, 1e-3, 1e-2, "fp16 exponentials of the outputs");
	free(got);
	got = softmax(x, SM_F16_EXP);
	expect_norm(ref, got, false, true, 1e-4, 1e-3, "fp16 exponentials, fp32 sum");
	free(got);
	/* Honest fp32, in two orders: both pass strict by far. */
	got = softmax(x, SM_F32_SEQ);
	expect_norm(ref, got, true, true, 0, 1e-5, "fp32, sequential sum");
	free(got);
	got = softmax(x, SM_F32_PAIRWISE);
	expect_norm(ref, got, true, true, 0, 1e-5, "fp32, blocked sums in another order");
	free(got);
	free(ref);
	free(x);
}

/* TF32: inputs rounded to 10 mantissa bits (round to nearest). */
static float to_tf32(float v)
{
	uint32_t b;
	memcpy(&b, &v, sizeof b);
	b = (b + 0x1000u) & ~0x1fffu;
	memcpy(&v, &b, sizeof v);
	return v;
}

/* A matmul (M, K) @ (K, N): the fp32 reference from double, TF32 inputs
 * with fp32 accumulation, and plain fp32 in another order. */
static void test_norm_matmul(void **state)
{
	enum { M = 64, K = 512, N = 64 };
	static float a[M * K], b[K * N], ref[M * N], tf[M * N], f32[M * N];
	static uint16_t ah[M * K], bh[K * N], ref16[M * N], got16[M * N];
	uint64_t seed = 12345;
	for (int i = 0; i < M * K; i++)
		a[i] = (float)draw(&seed);
	for (int i = 0; i < K * N; i++)
		b[i] = (float)draw(&seed);
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double d = 0;
			float t = 0, f = 0;
			for (int k = 0; k < K; k++) {
				d += (double)a[i * K + k] * b[k * N + j];
				t += to_tf32(a[i * K + k]) * to_tf32(b[k * N + j]);
				f += a[i * K + (K - 1 - k)] * b[(K - 1 - k) * N + j];
			}
			ref[i * N + j] = (float)d;
			tf[i * N + j] = t;
			f32[i * N + j] = f;
		}
	struct compare_stats s;
	compare_buffers(ref, tf, KB_F32, M * N, compare_scale(ref, KB_F32, M * N), 1, &s);
	print_message("TF32 matmul: rel_l2 %.3g\n", s.rel_l2);
	assert_true(s.rel_l2 > 1e-4 && s.rel_l2 < 1e-3);
	assert_true(s.norm_bad[TOL_STRICT]);   /* TF32 is not fp32 */
	assert_false(s.norm_bad[TOL_CRFM]);    /* but crfm's TF32 templates still pass */
	assert_int_equal(s.n_bad[TOL_CRFM], 0);
	compare_buffers(ref, f32, KB_F32, M * N, compare_scale(ref, KB_F32, M * N), 1, &s);
	print_message("fp32 matmul, reversed order: rel_l2 %.3g\n", s.rel_l2);
	assert_true(s.rel_l2 < 1e-5);
	assert_false(s.norm_bad[TOL_STRICT]);
	/* fp16 inputs and output, fp32 accumulation (the fp16 GEMM templates),
	 * against the reference computed in fp32 and rounded to fp16. */
	for (int i = 0; i < M * K; i++) {
		_Float16 h = (_Float16)a[i];
		memcpy(&ah[i], &h, 2);
	}
	for (int i = 0; i < K * N; i++) {
		_Float16 h = (_Float16)b[i];
		memcpy(&bh[i], &h, 2);
	}
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double d = 0;
			float f = 0;
			for (int k = 0; k < K; k++) {
				d += (double)compare_half_to_float(ah[i * K + k]) * compare_half_to_float(bh[k * N + j]);
				f += compare_half_to_float(ah[i * K + (K - 1 - k)]) * compare_half_to_float(bh[(K - 1 - k) * N + j]);
			}
			_Float16 r = (_Float16)(float)d, g = (_Float16)f;
			memcpy(&ref16[i * N + j], &r, 2);
			memcpy(&got16[i * N + j], &g, 2);
		}
	compare_buffers(ref16, got16, KB_F16, M * N, compare_scale(ref16, KB_F16, M * N), 1, &s);
	print_message("fp16 matmul, fp32 accumulation: rel_l2 %.3g\n", s.rel_l2);
	assert_false(s.norm_bad[TOL_STRICT]);
	assert_int_equal(s.n_bad[TOL_STRICT], 0);
}

static void test_norm_bounds(void **state)
{
	/* The bounds are verdict.h's; integers have none. */
	assert_true(tolerance_norm_bound(TOL_STRICT, KB_F32) == 1e-4);
	assert_true(tolerance_norm_bound(TOL_STRICT, KB_F16) == 1e-2);
	assert_true(tolerance_norm_bound(TOL_CRFM, KB_F32) == 1e-2);
	assert_true(tolerance_norm_bound(TOL_CRFM, KB_BF16) == 2e-2);
	assert_true(tolerance_norm_bound(TOL_STRICT, KB_I32) == 0);
	/* A zero reference leaves the decision to the elements. */
	float z[3] = { 0, 0, 0 }, g[3] = { 0, 1e-6f, 0 };
	struct compare_stats s;
	compare_buffers(z, g, KB_F32, 3, 1, 1, &s);
	assert_false(s.norm_bad[TOL_STRICT]);
	assert_int_equal(s.n_bad[TOL_STRICT], 0);
	/* Integers: exact, no norm. */
	int32_t ri[2] = { 1, 2 }, gi[2] = { 1, 2 };
	compare_buffers(ri, gi, KB_I32, 2, 1, 1, &s);
	assert_true(s.rel_l2 == 0 && !s.norm_bad[TOL_STRICT]);
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
		cmocka_unit_test(test_norm_softmax),
		cmocka_unit_test(test_norm_matmul),
		cmocka_unit_test(test_norm_bounds),
	};
	return cmocka_run_group_tests_name("compare", tests, NULL, NULL);
}
