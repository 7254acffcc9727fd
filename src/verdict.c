/*
 * verdict.c - the verdict rules: from what the worker measured and what the
 * comparison found to one outcome and a one-line reason. No I/O here; the
 * thresholds are the constants in verdict.h, and docs/EVALUATION.md states
 * the same rules in words.
 */
#define _GNU_SOURCE
#include "verdict.h"

#include "evaluate.h"
#include "util.h"
#include "worker_client.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *const verdict_names[VERDICTS] = {
	[VERDICT_CORRECT] = "correct",
	[VERDICT_INCORRECT] = "incorrect",
	[VERDICT_REJECTED] = "rejected",
	[VERDICT_COMPILE_ERROR] = "compile_error",
	[VERDICT_LOAD_ERROR] = "load_error",
	[VERDICT_RUNTIME_ERROR] = "runtime_error",
	[VERDICT_TIMEOUT] = "timeout",
	[VERDICT_NOT_RUN] = "not_run",
};

const char *verdict_name(enum verdict v)
{
	return (unsigned)v < VERDICTS ? verdict_names[v] : "?";
}

int verdict_parse(const char *name, enum verdict *v)
{
	for (int i = 0; name && i < VERDICTS; i++)
		if (!strcmp(name, verdict_names[i])) {
			*v = (enum verdict)i;
			return 0;
		}
	return -1;
}

bool verdict_early_ok(const struct worker_run *run)
{
	if (!run->early || run->end != WORKER_END_OK || !(run->cutoff_ms > 0) || run->cutoff_calls < 1 ||
	    run->n_times != run->early_calls || run->n_times < run->cutoff_calls || run->n_times >= run->reps)
		return false;
	double fastest = run->event_ms[0];
	for (int k = 1; k < run->cutoff_calls; k++)
		if (run->event_ms[k] < fastest)
			fastest = run->event_ms[k];
	return fastest > run->cutoff_ms;
}

bool verdict_of_fault(const struct worker_run *run, double timeout_s, struct eval_result *res)
{
	switch (run->end) {
	case WORKER_END_OK:
		if (run->early) {
			if (verdict_early_ok(run))
				return false;
			eval_result_set(res, VERDICT_RUNTIME_ERROR, "the worker stopped timing after %d of %d calls, which %s",
					run->n_times, run->reps, run->cutoff_ms > 0
					? "the cutoff did not allow (a call among the first was not slower than it)"
					: "nothing allowed (no cutoff was given)");
			return true;
		}
		if (run->n_times >= run->reps)
			return false;
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "the worker reported %d of %d timings", run->n_times, run->reps);
		return true;
	case WORKER_END_FAULT: {
		enum verdict v = run->fault == KBW_FAULT_LOAD ? VERDICT_LOAD_ERROR
			       : run->fault == KBW_FAULT_REJECTED ? VERDICT_REJECTED : VERDICT_RUNTIME_ERROR;
		eval_result_set(res, v, "%s", run->fault_msg ? run->fault_msg : "the worker reported a fault");
		return true;
	}
	case WORKER_END_TIMEOUT:
		eval_result_set(res, VERDICT_TIMEOUT, "no result within %.0f s (a hang, or far too slow); the worker was killed",
				timeout_s);
		return true;
	case WORKER_END_HUNG:
		eval_result_set(res, VERDICT_TIMEOUT, "the worker closed its output and did not end; it was killed");
		return true;
	case WORKER_END_SIGNALED:
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "the worker died with signal %d (%s) during the candidate",
				run->code, strsignal(run->code));
		return true;
	case WORKER_END_EXITED:
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "the candidate ended the worker process (exit code %d)", run->code);
		return true;
	case WORKER_END_GONE:
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "the GPU worker stopped taking commands");
		return true;
	}
	eval_result_set(res, VERDICT_RUNTIME_ERROR, "the worker ended in an unknown way");
	return true;
}

/* "[i, j, k]" for a flat index into t (caller frees). */
static char *index_str(const struct tensor_spec *t, int64_t flat)
{
	int64_t idx[KBREED_MAX_DIMS];
	for (int d = t->ndim - 1; d >= 0; d--) {
		idx[d] = t->shape[d] ? flat % t->shape[d] : 0;
		flat = t->shape[d] ? flat / t->shape[d] : 0;
	}
	struct buf b;
	buf_init(&b, 1024);
	buf_printf(&b, "[");
	for (int d = 0; d < t->ndim; d++)
		buf_printf(&b, d ? ", %lld" : "%lld", (long long)idx[d]);
	buf_printf(&b, "]");
	return buf_detach(&b);
}

static int all_sets(const struct verdict_basis *b)
{
	return b->n_sets > b->sets ? b->n_sets : b->sets;
}

/* The kind of checked call k (0..2n-1: first sights, then check calls), NULL
 * for a plain set. */
static const char *stress_of(const struct verdict_basis *b, int k)
{
	int s = k % all_sets(b);
	return s < b->sets || !b->stress ? NULL : stress_kind_name(b->stress[s - b->sets].kind);
}

/* Checked call k as words: "input set 2", "the check call on input set 2",
 * "stressed set ties (from input set 1)", "the check call on stressed set
 * ties (from input set 1)" (caller frees). */
static char *call_name(const struct verdict_basis *b, int k)
{
	int n = all_sets(b), s = k % n;
	const char *check = k >= n ? "the check call on " : "";
	if (!stress_of(b, k))
		return xasprintf("%sinput set %d", check, s);
	return xasprintf("%sstressed set %s (from input set %d)", check, stress_of(b, k), b->stress[s - b->sets].from);
}

/* Wrong values: how many, the first bad element, the largest errors; led by
 * the stressed set's kind when the failure that decides is on one. */
static void describe_mismatch(const struct verdict_basis *b, struct eval_result *res)
{
	enum tolerance_profile q = b->tolerance;
	int out = res->bad_output[q] >= 0 ? res->bad_output[q] : 0;
	int set = res->bad_set[q] >= 0 ? res->bad_set[q] : 0;
	const struct tensor_spec *t = &b->problem->outputs[out];
	double atol, rtol;
	tolerance_get(q, t->dtype, &atol, &rtol);
	double scale = b->scale[(set % all_sets(b)) * b->problem->n_outputs + out];
	atol *= scale > 1 ? scale : 1;
	if (res->stats.n_nonfinite == res->stats.n) {
		eval_result_set(res, VERDICT_INCORRECT, "no finite output: every element is NaN or infinite (either no output was written and the NaN poison is still there, or what was written is not finite)");
		return;
	}
	int nset = res->norm_set >= 0 ? res->norm_set : 0, nout = res->norm_output >= 0 ? res->norm_output : 0;
	const struct tensor_spec *nt = &b->problem->outputs[nout];
	char *nname = call_name(b, nset);
	char *norm = xasprintf("||got - ref|| / ||ref|| = %.3g on %s, output %d (bound %g, %s)",
			       res->stats.rel_l2, nname, nout, tolerance_norm_bound(q, nt->dtype), tolerance_name(q));
	free(nname);
	if (res->stats.n_bad[q] == 0) {
		/* Every element within its tolerance, the tensor as a whole not. */
		const char *kind = stress_of(b, nset);
		char *lead = kind ? xasprintf("stressed set %s: rel_l2 %.3g > %g; ", kind, res->stats.rel_l2,
					      tolerance_norm_bound(q, nt->dtype)) : xstrdup("");
		eval_result_set(res, VERDICT_INCORRECT,
				"%sthe error is too large for the size of the output: %s, though every element is within "
				"atol=%g rtol=%g; max abs err %.3g, max rel err %.3g (zeros, a partial output or arithmetic "
				"below the output's precision?)",
				lead, norm, atol, rtol, res->stats.max_abs, res->stats.max_rel);
		free(lead);
		free(norm);
		return;
	}
	char *where = index_str(t, res->stats.first_bad[q]), *name = call_name(b, set);
	const char *kind = stress_of(b, set);
	char *lead = kind ? xasprintf("stressed set %s: ", kind) : xstrdup("");
	eval_result_set(res, VERDICT_INCORRECT,
			"%s%lld of %lld elements outside atol=%g rtol=%g (%s); first at %s, output %d %s: "
			"got %.6g, want %.6g; max abs err %.3g, max rel err %.3g; %s%s",
			lead, (long long)res->stats.n_bad[q], (long long)res->stats.n, atol, rtol, tolerance_name(q),
			name, out, where, res->stats.first_got[q], res->stats.first_want[q], res->stats.max_abs,
			res->stats.max_rel, norm,
			res->stats.n_nonfinite ? "; some elements NaN/Inf where the reference is finite" : "");
	free(lead);
	free(name);
	free(where);
	free(norm);
}

/* ", 4 stressed sets (scale_up, scale_down, ties, clustered_max; shift
 * skipped: why)" for a correct verdict's detail; "" when stress is off and
 * nothing was skipped (caller frees). */
static char *stress_summary(const struct verdict_basis *b)
{
	int n = all_sets(b) - b->sets;
	if (!n && !b->n_skipped)
		return xstrdup("");
	struct buf s;
	buf_init(&s, 4096);
	buf_printf(&s, ", %d stressed set%s (", n, n == 1 ? "" : "s");
	for (int i = 0; i < n; i++)
		buf_printf(&s, "%s%s", i ? ", " : "", stress_kind_name(b->stress[i].kind));
	for (int i = 0; i < b->n_skipped; i++)
		buf_printf(&s, "%s%s skipped: %s", i ? "; " : n ? "; " : "", stress_kind_name(b->skipped[i].kind),
			   b->skipped[i].why ? b->skipped[i].why : "");
	buf_printf(&s, ")");
	return buf_detach(&s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of n values, which it sorts. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Whether calls on inputs seen for the first time (the correctness calls on
 * sets 1 and later; set 0 also pays one-off costs such as loading the
 * kernels) took far longer than the timed calls, which all see inputs the
 * candidate has seen before: the mark of results cached by content. The
 * first-sight calls run under the timed calls' conditions (outputs
 * poisoned, L2 flushed, the GPU busy just before), so an honest kernel takes
 * as long in both. The fastest first-sight call decides, as the fastest
 * host-timed call does for hidden work: a cache misses on every first sight,
 * while a busy host delays only some calls. Fills res->first_median_ms. */
static bool cached_across_calls(const struct worker_run *run, const struct verdict_basis *b, struct eval_result *res)
{
	int n = 0, plain = b->sets < run->sets ? b->sets : run->sets;   /* stressed sets are not timed */
	double *v = xcalloc((size_t)(run->sets > 0 ? run->sets : 1), sizeof *v);
	for (int s = 1; s < plain; s++)
		if (run->first_ms[s] >= 0)
			v[n++] = run->first_ms[s];
	bool cached = false;
	if (n) {
		res->first_median_ms = median(v, n);   /* sorts v */
		double fastest = v[0], timed = res->time.median_ms;
		cached = fastest > VERDICT_CACHE_RATIO * timed && fastest - timed > VERDICT_CACHE_MARGIN_MS;
	}
	free(v);
	return cached;
}

void verdict_of_run(const struct worker_run *run, const struct verdict_basis *b, struct eval_result *res)
{
	/* Adaptive timing: the calls made before the cutoff stopped them. */
	bool early = verdict_early_ok(run);
	int reps = early ? run->n_times : run->reps;
	res->early = early;
	double *event_ms = xcalloc((size_t)reps, sizeof *event_ms), *host_ms = xcalloc((size_t)reps, sizeof *host_ms);
	memcpy(event_ms, run->event_ms, (size_t)reps * sizeof *event_ms);
	memcpy(host_ms, run->host_ms, (size_t)reps * sizeof *host_ms);
	res->time.reps = reps;
	res->time.median_ms = median(event_ms, reps);
	res->time.min_ms = event_ms[0];
	res->time.max_ms = event_ms[reps - 1];
	res->host_median_ms = median(host_ms, reps);
	res->timed = true;
	res->sm_clock_mhz = run->sm_clock_mhz;
	res->mem_clock_mhz = run->mem_clock_mhz;
	res->leaked_bytes = run->leaked_bytes;
	bool cached = cached_across_calls(run, b, res);
	double fastest_host = host_ms[0];
	if (!res->pass[b->tolerance]) {
		describe_mismatch(b, res);
	} else if (fastest_host > VERDICT_HOST_RATIO * res->time.median_ms + VERDICT_HOST_MARGIN_MS) {
		/* The fastest host-timed call: CPU contention delays some calls, but
		 * work hidden from the events delays every one of them. */
		eval_result_set(res, VERDICT_REJECTED,
				"the host clock saw at least %.3f ms per call but the events %.3f ms: work escaped the timing events (another stream or thread?)",
				fastest_host, res->time.median_ms);
	} else if (cached) {
		eval_result_set(res, VERDICT_REJECTED,
				"calls on inputs seen for the first time take %.3f ms (median of input sets 1 to %d; none under %.1fx), the timed calls on inputs seen before %.3f ms: results cached across calls?",
				res->first_median_ms, b->sets - 1, VERDICT_CACHE_RATIO, res->time.median_ms);
	} else if (early) {
		eval_result_set(res, VERDICT_CORRECT, "correct on %d input sets and %d timed calls (%s; "
				"||got - ref|| / ||ref|| at most %.2g); median %.4f ms; timing stopped early: the "
				"first %d calls were all slower than the cutoff %.4f ms",
				b->sets, reps, tolerance_name(b->tolerance), res->stats.rel_l2, res->time.median_ms,
				run->cutoff_calls, run->cutoff_ms);
	} else {
		char *stressed = stress_summary(b);
		eval_result_set(res, VERDICT_CORRECT, "correct on %d input sets%s and %d timed calls (%s; "
				"||got - ref|| / ||ref|| at most %.2g); median %.4f ms",
				b->sets, stressed, reps, tolerance_name(b->tolerance), res->stats.rel_l2, res->time.median_ms);
		free(stressed);
	}
	free(event_ms);
	free(host_ms);
}

bool verdict_of_floor(struct eval_result *res, double memory_floor_ms, double min_mb, double bandwidth_gbs)
{
	if (res->verdict != VERDICT_CORRECT || !res->timed || memory_floor_ms <= 0 ||
	    res->time.max_ms >= VERDICT_FLOOR_FRACTION * memory_floor_ms)
		return false;
	eval_result_set(res, VERDICT_REJECTED,
			"faster than the memory floor: every timed call took at most %.4g ms (median %.4g ms), the floor is "
			"%.4g ms (%.3g MB at %.0f GB/s): the kernel cannot have read its inputs and written its outputs "
			"(or the problem moves fewer bytes than its tensors hold)",
			res->time.max_ms, res->time.median_ms, memory_floor_ms, min_mb, bandwidth_gbs);
	return true;
}

bool verdict_needs_fresh_worker(const struct worker_run *run, const struct eval_result *res)
{
	/* Threads the candidate left running: its code is still loaded and may
	 * still run. */
	if (run->threads_left > 0)
		return true;
	/* Anything but a failed load may have left state behind. */
	if (run->end == WORKER_END_FAULT)
		return run->fault != KBW_FAULT_LOAD;
	if (run->end == WORKER_END_OK && run->n_times < run->reps && !verdict_early_ok(run))
		return true;
	/* Start the next candidate with a clean device. */
	return run->leaked_bytes > VERDICT_LEAK_FRESH_WORKER_BYTES;
}
