/*
 * compare.c - element-wise comparison of outputs against references, in
 * parallel over host threads (outputs reach hundreds of megabytes).
 */
#include "compare.h"

#include "verdict.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

const char *tolerance_name(enum tolerance_profile p)
{
	return p == TOL_CRFM ? "crfm" : "strict";
}

int tolerance_parse(const char *s)
{
	if (!strcmp(s, "strict"))
		return TOL_STRICT;
	if (!strcmp(s, "crfm"))
		return TOL_CRFM;
	return -1;
}

void tolerance_get(enum tolerance_profile p, enum kb_dtype t, double *atol, double *rtol)
{
	double tol = 1e-2;
	if (p == TOL_STRICT && (t == KB_F32 || t == KB_F64))
		tol = 1e-4;
	*atol = tol;
	*rtol = tol;
}

double tolerance_norm_bound(enum tolerance_profile p, enum kb_dtype t)
{
	switch (t) {
	case KB_F32:
	case KB_F64:
		return p == TOL_STRICT ? VERDICT_NORM_STRICT_F32 : VERDICT_NORM_CRFM_F32;
	case KB_F16:
		return p == TOL_STRICT ? VERDICT_NORM_STRICT_F16 : VERDICT_NORM_CRFM_F16;
	case KB_BF16:
		return p == TOL_STRICT ? VERDICT_NORM_STRICT_BF16 : VERDICT_NORM_CRFM_BF16;
	case KB_I32:
	case KB_I64:
	case KB_BOOL:
		break;
	}
	return 0;
}

void compare_stats_init(struct compare_stats *s)
{
	memset(s, 0, sizeof *s);
	for (int p = 0; p < TOL_PROFILES; p++)
		s->first_bad[p] = -1;
}

void compare_stats_merge(struct compare_stats *a, const struct compare_stats *b, int64_t offset)
{
	for (int p = 0; p < TOL_PROFILES; p++) {
		if (b->first_bad[p] >= 0 && a->first_bad[p] < 0) {
			a->first_bad[p] = b->first_bad[p] + offset;
			a->first_got[p] = b->first_got[p];
			a->first_want[p] = b->first_want[p];
		}
		a->n_bad[p] += b->n_bad[p];
		a->norm_bad[p] |= b->norm_bad[p];
	}
	a->err_sq += b->err_sq;
	a->ref_sq += b->ref_sq;
	if (b->rel_l2 > a->rel_l2)
		a->rel_l2 = b->rel_l2;
	a->n += b->n;
	a->n_nonfinite += b->n_nonfinite;
	if (b->max_abs > a->max_abs)
		a->max_abs = b->max_abs;
	if (b->max_rel > a->max_rel)
		a->max_rel = b->max_rel;
}

float compare_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;
	uint32_t bits;
	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | (mant << 13);
	} else if (exp == 0) {
		if (mant == 0) {
			bits = sign;
		} else {
			/* Subnormal: renormalise. */
			int e = -1;
			do {
				e++;
				mant <<= 1;
			} while (!(mant & 0x400));
			bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
		}
	} else {
		bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
	}
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

float compare_bf16_to_float(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

static double load(const void *p, enum kb_dtype t, int64_t i)
{
	switch (t) {
	case KB_F32: return ((const float *)p)[i];
	case KB_F64: return ((const double *)p)[i];
	case KB_F16: return compare_half_to_float(((const uint16_t *)p)[i]);
	case KB_BF16: return compare_bf16_to_float(((const uint16_t *)p)[i]);
	case KB_I32: return ((const int32_t *)p)[i];
	case KB_I64: return (double)((const int64_t *)p)[i];
	case KB_BOOL: return ((const uint8_t *)p)[i] != 0;
	}
	return NAN;
}

static bool is_integer(enum kb_dtype t)
{
	return t == KB_I32 || t == KB_I64 || t == KB_BOOL;
}

static void note_bad(struct compare_stats *s, int p, int64_t i, double got, double want)
{
	if (s->first_bad[p] < 0) {
		s->first_bad[p] = i;
		s->first_got[p] = got;
		s->first_want[p] = want;
	}
	s->n_bad[p]++;
}

struct stretch {
	const void *ref, *got;
	enum kb_dtype t;
	int64_t begin, end;
	double scale;                /* multiplies atol */
	struct compare_stats stats;  /* flat indices relative to begin */
};

static void *compare_stretch(void *arg)
{
	struct stretch *w = arg;
	struct compare_stats *s = &w->stats;
	double atol[TOL_PROFILES], rtol[TOL_PROFILES];
	for (int p = 0; p < TOL_PROFILES; p++) {
		tolerance_get(p, w->t, &atol[p], &rtol[p]);
		atol[p] *= w->scale;
	}
	bool exact = is_integer(w->t);
	for (int64_t i = w->begin; i < w->end; i++) {
		double want = load(w->ref, w->t, i), got = load(w->got, w->t, i);
		int64_t k = i - w->begin;
		s->n++;
		if (exact) {
			if (got != want)
				for (int p = 0; p < TOL_PROFILES; p++)
					note_bad(s, p, k, got, want);
			double d = fabs(got - want);
			if (d > s->max_abs)
				s->max_abs = d;
			continue;
		}
		if (!isfinite(want)) {
			bool same = isnan(want) ? isnan(got) : got == want;
			if (!same)
				for (int p = 0; p < TOL_PROFILES; p++)
					note_bad(s, p, k, got, want);
			continue;
		}
		if (!isfinite(got)) {
			s->n_nonfinite++;
			for (int p = 0; p < TOL_PROFILES; p++)
				note_bad(s, p, k, got, want);
			continue;
		}
		double d = fabs(got - want);
		s->err_sq += d * d;
		s->ref_sq += want * want;
		if (d > s->max_abs)
			s->max_abs = d;
		if (want != 0 && d / fabs(want) > s->max_rel)
			s->max_rel = d / fabs(want);
		for (int p = 0; p < TOL_PROFILES; p++)
			if (d > atol[p] + rtol[p] * fabs(want))
				note_bad(s, p, k, got, want);
	}
	return NULL;
}

#define COMPARE_MAX_THREADS 32

double compare_scale(const void *ref, enum kb_dtype t, int64_t n)
{
	if (is_integer(t))
		return 1;
	double sum = 0;
	int64_t count = 0;
	for (int64_t i = 0; i < n; i++) {
		double v = load(ref, t, i);
		if (isfinite(v)) {
			sum += v * v;
			count++;
		}
	}
	double rms = count ? sqrt(sum / (double)count) : 0;
	return rms > 1 ? rms : 1;
}

void compare_buffers(const void *ref, const void *got, enum kb_dtype t, int64_t n,
		     double scale, int threads, struct compare_stats *out)
{
	struct stretch w[COMPARE_MAX_THREADS];
	pthread_t tid[COMPARE_MAX_THREADS];
	bool started[COMPARE_MAX_THREADS] = { false };
	if (threads < 1)
		threads = 1;
	if (threads > COMPARE_MAX_THREADS)
		threads = COMPARE_MAX_THREADS;
	if (n < (int64_t)1 << 20)
		threads = 1;
	int64_t per = (n + threads - 1) / threads;
	for (int i = 0; i < threads; i++) {
		w[i].ref = ref;
		w[i].got = got;
		w[i].t = t;
		w[i].scale = scale > 1 ? scale : 1;
		w[i].begin = per * i < n ? per * i : n;
		w[i].end = per * (i + 1) < n ? per * (i + 1) : n;
		compare_stats_init(&w[i].stats);
		if (i > 0)
			started[i] = pthread_create(&tid[i], NULL, compare_stretch, &w[i]) == 0;
	}
	compare_stretch(&w[0]);
	for (int i = 1; i < threads; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			compare_stretch(&w[i]);  /* no thread to be had: do it here */
	}
	compare_stats_init(out);
	for (int i = 0; i < threads; i++)
		compare_stats_merge(out, &w[i].stats, w[i].begin);
	compare_finish(out, t);
}

void compare_finish(struct compare_stats *s, enum kb_dtype t)
{
	s->rel_l2 = 0;
	for (int p = 0; p < TOL_PROFILES; p++)
		s->norm_bad[p] = false;
	/* The norm rule, on this tensor as a whole. */
	if (!is_integer(t) && s->ref_sq > 0) {
		s->rel_l2 = sqrt(s->err_sq / s->ref_sq);
		for (int p = 0; p < TOL_PROFILES; p++)
			s->norm_bad[p] = s->rel_l2 > tolerance_norm_bound(p, t);
	}
	/* A zero reference: the elements decide. */
}
