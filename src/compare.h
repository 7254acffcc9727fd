/*
 * compare.h - the correctness rule: a candidate's output against the
 * reference, element by element, under both tolerance profiles at once.
 *
 * An element passes when |got - ref| <= atol * scale + rtol * |ref|, where
 * scale = max(1, rms(ref)): torch.allclose's rule, with the absolute term
 * measured in the output's own magnitude. Without the scale, outputs that
 * are sums of thousands of terms (a 4096-deep fp32 matmul, a 16384-long
 * cumsum) fail even when PyTorch itself computes them, because elements near
 * zero carry the rounding of large partial sums. NaN never passes unless the reference is NaN at that element; an
 * infinity passes only where the reference holds the same infinity.
 * Integers and booleans must match exactly.
 *
 * Beside it, a rule on the whole tensor: the norm-relative error
 * ||got - ref||_2 / ||ref||_2 (over the finite pairs, in double) may not
 * exceed a bound per profile and dtype (tolerance_norm_bound; the constants
 * are in verdict.h). The element-wise rule scales its absolute term with
 * max(1, rms): for outputs far below 1 (a softmax over 65536 columns, about
 * 1.5e-5 each) it lets zeros, a partial output or half-precision arithmetic
 * pass; the norm rule measures the error in the output's own size.
 */
#ifndef KBREED_COMPARE_H
#define KBREED_COMPARE_H

#include "../include/kbreed_candidate.h"

#include <stdbool.h>
#include <stdint.h>

enum tolerance_profile {
	TOL_STRICT = 0,  /* fp32 atol = rtol = 1e-4; fp16/bf16 1e-2 (KernelBench today) */
	TOL_CRFM = 1,    /* 1e-2 for every dtype (the seed article's rule) */
	TOL_PROFILES = 2,
};

const char *tolerance_name(enum tolerance_profile p);
/* Parses "strict" or "crfm"; -1 when unknown. */
int tolerance_parse(const char *s);
/* atol and rtol of a profile for an output dtype. */
void tolerance_get(enum tolerance_profile p, enum kb_dtype t, double *atol, double *rtol);

/* The bound on ||got - ref||_2 / ||ref||_2 of a profile for an output
 * dtype; 0 for integers and booleans (they match exactly or fail). */
double tolerance_norm_bound(enum tolerance_profile p, enum kb_dtype t);

/* What one comparison found, per profile and overall. */
struct compare_stats {
	int64_t n;                         /* elements compared */
	int64_t n_bad[TOL_PROFILES];       /* elements outside tolerance */
	int64_t first_bad[TOL_PROFILES];   /* flat index of the first; -1 when none */
	double first_got[TOL_PROFILES];    /* the candidate's value there */
	double first_want[TOL_PROFILES];   /* the reference's value there */
	int64_t n_nonfinite;               /* NaN/Inf where the reference is finite */
	double max_abs;                    /* max |got - ref| over finite pairs */
	double max_rel;                    /* max |got - ref| / |ref| over finite pairs, ref != 0 */
	double err_sq;                     /* sum of (got - ref)^2 over finite pairs */
	double ref_sq;                     /* sum of ref^2 over the same pairs */
	double rel_l2;                     /* largest ||got - ref||_2 / ||ref||_2 of a tensor
					      compared (0 where ||ref|| = 0) */
	bool norm_bad[TOL_PROFILES];       /* some tensor's rel_l2 above its bound */
};

void compare_stats_init(struct compare_stats *s);
/* Folds b (a later stretch of elements, or another tensor) into a. Flat
 * indices of b are offset by `offset`; the sums add up, rel_l2 is the larger
 * and norm_bad either's (compare_buffers settles them per tensor). */
void compare_stats_merge(struct compare_stats *a, const struct compare_stats *b, int64_t offset);

/* Compares n elements of dtype t, with the absolute tolerance multiplied by
 * `scale` (see compare_scale), and the tensor's norm-relative error with
 * its bound. Splits the work over `threads` threads. */
void compare_buffers(const void *ref, const void *got, enum kb_dtype t, int64_t n,
		     double scale, int threads, struct compare_stats *out);

/* The norm rule on one tensor's counts and sums (what compare_buffers ends
 * with, and what kbreed applies to the comparer's counts from the GPU):
 * rel_l2 from err_sq and ref_sq, norm_bad per profile. */
void compare_finish(struct compare_stats *s, enum kb_dtype t);
/* max(1, root mean square of the finite elements of ref): the scale of the
 * absolute tolerance for that reference. */
double compare_scale(const void *ref, enum kb_dtype t, int64_t n);

/* IEEE half and bfloat16 to float, for the comparison and for tests. */
float compare_half_to_float(uint16_t h);
float compare_bf16_to_float(uint16_t h);

#endif
