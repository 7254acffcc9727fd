/*
 * verdict.h - every outcome a candidate can have, and the rules that turn
 * what the GPU worker measured into one of them.
 *
 * Pipeline position: evaluate. The evaluator (src/evaluate.c) drives the
 * worker through src/worker_client.c, which collects raw measurements
 * (struct worker_run); it compares the outputs with the references (which
 * fills the comparison fields of struct eval_result), then asks the rules
 * here for the verdict. The rules read no file and start no process: they
 * are the one place that decides, and their thresholds are the named
 * constants below (docs/EVALUATION.md states each rule with its constant).
 */
#ifndef KBREED_VERDICT_H
#define KBREED_VERDICT_H

#include "bridge.h"     /* the stressed sets' kinds */
#include "compare.h"
#include "problem.h"

#include <stdbool.h>
#include <stddef.h>

/* Every outcome a candidate can have. The names (verdict_name) are what the
 * store, the reports and the JSON output carry. */
enum verdict {
	VERDICT_CORRECT,        /* right values under the chosen profile, timed */
	VERDICT_INCORRECT,      /* wrong values (where and by how much in detail) */
	VERDICT_REJECTED,       /* broke a rule: mutated inputs, work the timer missed,
				   results cached across calls, a library the policy forbids */
	VERDICT_COMPILE_ERROR,  /* nvcc failed or timed out */
	VERDICT_LOAD_ERROR,     /* could not load: missing symbol, ABI mismatch */
	VERDICT_RUNTIME_ERROR,  /* CUDA error, crash, non-zero status from the candidate */
	VERDICT_TIMEOUT,        /* ran past the wall-clock limit */
	VERDICT_NOT_RUN,        /* compiled but not judged, as in dry runs */
};
#define VERDICTS (VERDICT_NOT_RUN + 1)

/* "correct", "incorrect", "rejected", "compile_error", "load_error",
 * "runtime_error", "timeout", "not_run"; "?" for a value out of range. */
const char *verdict_name(enum verdict v);
/* The verdict a name names. Returns 0, or -1 (v untouched) for a name no
 * verdict has. */
int verdict_parse(const char *name, enum verdict *v);

/* The thresholds of the rules. */

/* The norm rule: ||got - ref||_2 / ||ref||_2 of every output tensor (of
 * every input set and check call) may not exceed, per profile and output
 * dtype (tolerance_norm_bound in compare.c):
 * - strict fp32/fp64: 1e-4. fp32 arithmetic in another order lands at
 *   1e-7..1e-6 (1e-5 for a 10^5-long sequential sum); TF32 inputs give
 *   about 3e-4 and half-precision arithmetic 1e-3 and more, so both fail.
 * - strict fp16: 1e-2, bf16: 2e-2: the output's own rounding (about
 *   3e-4 and 2e-3) and a few roundings more pass.
 * - crfm: 1e-2 (bf16 2e-2): TF32 and fp16 arithmetic pass; a zero, constant
 *   or partial output (relative error near 1) fails however small the
 *   values are. */
#define VERDICT_NORM_STRICT_F32 1e-4
#define VERDICT_NORM_STRICT_F16 1e-2
#define VERDICT_NORM_STRICT_BF16 2e-2
#define VERDICT_NORM_CRFM_F32 1e-2
#define VERDICT_NORM_CRFM_F16 1e-2
#define VERDICT_NORM_CRFM_BF16 2e-2

/* Work hidden from the events: rejected when even the fastest host-timed
 * call exceeds HOST_RATIO x the median event time + HOST_MARGIN_MS. */
#define VERDICT_HOST_RATIO 1.5
#define VERDICT_HOST_MARGIN_MS 0.2
/* Results cached across calls: rejected when even the fastest first-sight
 * call (input sets 1 and later) exceeds CACHE_RATIO x the median timed call
 * and is CACHE_MARGIN_MS longer. */
#define VERDICT_CACHE_RATIO 3.0
#define VERDICT_CACHE_MARGIN_MS 0.05
/* Faster than the memory floor: a correct candidate whose slowest timed
 * call took less than FLOOR_FRACTION x the memory floor (the problem's
 * minimum bytes at the measured copy bandwidth) is rejected, so it never
 * becomes a winner: every call, not just the median, beat the floor by
 * more than a measured copy can be beaten. It did not read or write what
 * the problem moves (or the floor is wrong: see docs/EVALUATION.md). */
#define VERDICT_FLOOR_FRACTION 0.85
/* A candidate that kept more device memory than this gets a fresh worker
 * after it (the worker reports leaks above KBW_LEAK_REPORT_BYTES). */
#define VERDICT_LEAK_FRESH_WORKER_BYTES ((size_t)64 << 20)

struct eval_result;   /* evaluate.h */
struct worker_run;    /* worker_client.h */

/* What the comparison rules need besides the result. */
struct verdict_basis {
	const struct problem *problem;    /* its outputs' shapes name the bad element */
	const double *scale;              /* [set * n_outputs + j]: tolerance scales */
	int sets;                         /* plain correctness input sets (0..sets-1) */
	int n_sets;                       /* all sets checked, the stressed ones after the
					     plain; 0 means sets (none stressed) */
	const struct stress_set *stress;  /* [n_sets - sets]: the stressed sets' kinds */
	const struct stress_skip *skipped;  /* [n_skipped]: stressed sets not made, named
					       in a correct verdict's detail */
	int n_skipped;
	enum tolerance_profile tolerance; /* the profile that decides */
};

/* Whether the run stopped timing early as adaptive timing allows: the
 * worker said "early" after the cutoff's number of calls (fewer than reps),
 * was given a cutoff, and even the fastest of those calls was slower. */
bool verdict_early_ok(const struct worker_run *run);

/* Decides a run that did not end "end ok" with every timing: a timeout, a
 * crash, an exit, a fault the worker reported, missing timings (fewer than
 * reps are complete only when verdict_early_ok says so). Returns
 * true (res->verdict and detail set) when it decided, false for a run that
 * goes on to the comparison. */
bool verdict_of_fault(const struct worker_run *run, double timeout_s, struct eval_result *res);

/* Decides a complete run whose outputs were compared (res->pass, stats,
 * bad_set, bad_output filled): fills the timing fields of res from the run,
 * then the verdict and detail: wrong values first, then work hidden from the
 * events, then results cached across calls, else correct. Wrong values on a
 * stressed set are named by its kind: the detail starts "stressed set
 * scale_up: ...". */
void verdict_of_run(const struct worker_run *run, const struct verdict_basis *b, struct eval_result *res);

/* Rejects a correct, timed result whose slowest timed call is below
 * VERDICT_FLOOR_FRACTION x memory_floor_ms (0: unknown, no rule). Returns
 * true when it did. */
bool verdict_of_floor(struct eval_result *res, double memory_floor_ms, double min_mb, double bandwidth_gbs);

/* Whether the next candidate needs a fresh worker after this one: after a
 * fault other than a failed load, too few timings (an early stop the cutoff
 * allowed is not too few), a leak above
 * VERDICT_LEAK_FRESH_WORKER_BYTES, or threads of the candidate left running. */
bool verdict_needs_fresh_worker(const struct worker_run *run, const struct eval_result *res);

#endif
