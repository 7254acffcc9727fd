/*
 * report.c - verdicts for people: what happened, how fast against PyTorch,
 * and how close to what the hardware allows; and the same as JSON (--json,
 * bench files), through jansson.
 */
#define _GNU_SOURCE
#include "report.h"

#include "compare.h"
#include "json_text.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void roofline_compute(const struct problem *p, const struct ceilings *c, struct roofline *r)
{
	memset(r, 0, sizeof *r);
	r->bound = "memory";
	if (!c || c->bandwidth_gbs <= 0)
		return;
	enum kb_dtype t = p->n_inputs ? p->inputs[0].dtype : p->outputs[0].dtype;
	r->peak_tflops = t == KB_F16 ? c->fp16_tflops : t == KB_BF16 ? c->bf16_tflops : c->fp32_tflops;
	/* fp32 to fp32 accuracy also runs on the tensor cores as three products
	 * of split halves per step: 3xTF32, and 3xBF16 (bf16 halves at twice
	 * the TF32 rate, within the strict tolerance: bench/device-2026-12-06-h100.md).
	 * Where the fastest of them beats the FP32 units, it is the limit (the
	 * FLOPs counted are those of GEMMs, convolutions and attention, which
	 * they serve). */
	if (t == KB_F32 && c->tf32_tflops / 3 > r->peak_tflops)
		r->peak_tflops = c->tf32_tflops / 3;
	if (t == KB_F32 && c->bf16_tflops / 3 > r->peak_tflops)
		r->peak_tflops = c->bf16_tflops / 3;
	r->memory_ms = p->min_bytes / (c->bandwidth_gbs * 1e9) * 1e3;
	r->compute_ms = r->peak_tflops > 0 ? p->flops / (r->peak_tflops * 1e12) * 1e3 : 0;
	r->floor_ms = r->memory_ms > r->compute_ms ? r->memory_ms : r->compute_ms;
	r->bound = r->compute_ms > r->memory_ms ? "compute" : "memory";
}

void report_derive(struct eval_report *r)
{
	roofline_compute(r->problem, r->ceilings, &r->roof);
	r->pct_eager = r->pct_compile = r->pct_floor = 0;
	const struct eval_result *res = r->result;
	if (!res->timed || res->time.median_ms <= 0)
		return;
	double ms = res->time.median_ms;
	if (r->baseline) {
		r->pct_eager = r->baseline->eager.median_ms / ms * 100;
		if (r->baseline->has_compile)
			r->pct_compile = r->baseline->compile.median_ms / ms * 100;
	}
	if (r->roof.floor_ms > 0)
		r->pct_floor = r->roof.floor_ms / ms * 100;
}

void report_print(FILE *f, const struct eval_report *r)
{
	const struct eval_result *res = r->result;
	fprintf(f, "%s on %s: %s\n", r->candidate, r->problem->name, verdict_name(res->verdict));
	fprintf(f, "  %s\n", res->detail ? res->detail : "");
	if (res->checked) {
		fprintf(f, "  correctness: strict %s, crfm %s; max abs err %.3g, max rel err %.3g, "
			"||got - ref|| / ||ref|| %.3g over %lld elements\n",
			res->pass[TOL_STRICT] ? "pass" : "FAIL", res->pass[TOL_CRFM] ? "pass" : "FAIL",
			res->stats.max_abs, res->stats.max_rel, res->stats.rel_l2, (long long)res->stats.n);
	}
	if (res->timed) {
		fprintf(f, "  time: median %.4f ms (min %.4f, max %.4f, %d calls, L2 flushed; host %.4f ms)",
			res->time.median_ms, res->time.min_ms, res->time.max_ms, res->time.reps,
			res->host_median_ms);
		if (res->sm_clock_mhz)
			fprintf(f, " at %d/%d MHz", res->sm_clock_mhz, res->mem_clock_mhz);
		fputc('\n', f);
		if (res->early)
			fprintf(f, "  timing stopped early after %d of %d calls: the first were all slower than the "
				"cutoff %.4f ms (adaptive timing; a winner is re-timed in full)\n",
				res->time.reps, r->opts->reps, res->cutoff_ms);
	}
	if (r->baseline) {
		fprintf(f, "  PyTorch eager: %.4f ms", r->baseline->eager.median_ms);
		if (r->pct_eager > 0)
			fprintf(f, " -> %.1f%% of PyTorch eager", r->pct_eager);
		fputc('\n', f);
		if (r->baseline->has_compile) {
			fprintf(f, "  torch.compile: %.4f ms", r->baseline->compile.median_ms);
			if (r->pct_compile > 0)
				fprintf(f, " -> %.1f%% of torch.compile", r->pct_compile);
			fputc('\n', f);
		} else if (r->baseline->compile_error) {
			fprintf(f, "  torch.compile failed: %s\n", r->baseline->compile_error);
		}
	}
	if (r->roof.floor_ms > 0) {
		fprintf(f, "  floor: %.4f ms (%s-bound: %.4f ms moving %.0f MB, %.4f ms of arithmetic at %.0f TFLOP/s)",
			r->roof.floor_ms, r->roof.bound, r->roof.memory_ms, r->problem->min_bytes / 1e6,
			r->roof.compute_ms, r->roof.peak_tflops);
		if (r->pct_floor > 0)
			fprintf(f, " -> %.1f%% of the floor", r->pct_floor);
		fputc('\n', f);
	}
	if (r->gpu)
		fprintf(f, "  GPU: %s (%s)\n", r->gpu->name, r->arch ? r->arch : "");
	if (res->log && *res->log && res->verdict != VERDICT_CORRECT) {
		fprintf(f, "  log:\n");
		const char *s = res->log;
		size_t n = strlen(s);
		if (n > 4000) {
			s += n - 4000;
			fprintf(f, "    [...]\n");
		}
		fprintf(f, "%s%s", s, s[strlen(s) ? strlen(s) - 1 : 0] == '\n' ? "" : "\n");
	}
}

static json_t *timing_json(const struct timing *t)
{
	return json_pack("{s:f, s:f, s:f, s:i}", "median_ms", t->median_ms, "min_ms", t->min_ms,
			 "max_ms", t->max_ms, "reps", t->reps);
}

static json_t *num_or_null(double v, bool valid)
{
	return valid ? json_real(v) : json_null();
}

char *report_json(const struct eval_report *r)
{
	const struct eval_result *res = r->result;
	json_t *o = json_object();
	json_object_set_new(o, "problem", json_text(r->problem->name));
	json_object_set_new(o, "candidate", json_text(r->candidate));
	json_object_set_new(o, "verdict", json_string(verdict_name(res->verdict)));
	json_object_set_new(o, "tolerance", json_string(tolerance_name(r->opts->tolerance)));
	json_object_set_new(o, "detail", json_text(res->detail));
	json_object_set_new(o, "arch", json_string(r->arch ? r->arch : ""));
	if (res->checked) {
		json_t *c = json_object();
		for (int p = 0; p < TOL_PROFILES; p++) {
			double atol, rtol;
			tolerance_get(p, r->problem->outputs[0].dtype, &atol, &rtol);
			json_t *v = json_pack("{s:b, s:f, s:f, s:I}", "pass", res->pass[p], "atol",
					      atol, "rtol", rtol, "bad_elements",
					      (json_int_t)res->stats.n_bad[p]);
			json_object_set_new(v, "norm_bound",
					    json_real(tolerance_norm_bound(p, r->problem->outputs[0].dtype)));
			json_object_set_new(v, "norm_pass", json_boolean(!res->stats.norm_bad[p]));
			if (res->stats.first_bad[p] >= 0) {
				json_object_set_new(v, "first_bad", json_pack("{s:i, s:i, s:I, s:f, s:f}",
					"set", res->bad_set[p], "output", res->bad_output[p],
					"index", (json_int_t)res->stats.first_bad[p],
					"got", res->stats.first_got[p], "want", res->stats.first_want[p]));
			}
			json_object_set_new(c, tolerance_name(p), v);
		}
		json_object_set_new(c, "elements", json_integer((json_int_t)res->stats.n));
		json_object_set_new(c, "max_abs_err", json_real(res->stats.max_abs));
		json_object_set_new(c, "max_rel_err", json_real(res->stats.max_rel));
		json_object_set_new(c, "rel_l2_err", json_real(res->stats.rel_l2));
		json_object_set_new(c, "nonfinite", json_integer((json_int_t)res->stats.n_nonfinite));
		json_object_set_new(c, "sets", json_integer(r->opts->sets));
		/* How many sets of each kind were checked, and the stressed sets
		 * the bridge skipped (docs/EVALUATION.md). */
		json_t *kinds = json_object(), *skipped = json_array();
		int per_kind[STRESS_KINDS] = { 0 };
		for (int i = 0; r->refs && i < res->stressed && i < r->refs->n_stress; i++)
			per_kind[r->refs->stress[i].kind]++;
		json_object_set_new(kinds, "plain", json_integer(r->opts->sets));
		for (int k = 0; k < STRESS_KINDS; k++)
			json_object_set_new(kinds, stress_kind_name((enum stress_kind)k), json_integer(per_kind[k]));
		for (int i = 0; r->refs && r->opts->stress && i < r->refs->n_skipped; i++) {
			const struct stress_skip *sk = &r->refs->skipped[i];
			json_array_append_new(skipped, json_pack("{s:s, s:i, s:o}", "kind", stress_kind_name(sk->kind),
								 "from", sk->from, "why", json_text(sk->why)));
		}
		json_object_set_new(c, "set_kinds", kinds);
		json_object_set_new(c, "stress_skipped", skipped);
		json_object_set_new(o, "correctness", c);
	}
	if (res->timed) {
		json_t *t = timing_json(&res->time);
		json_object_set_new(t, "host_median_ms", json_real(res->host_median_ms));
		json_object_set_new(t, "warmup", json_integer(r->opts->warmup));
		json_object_set_new(t, "flush_mb", json_integer(r->opts->flush_mb));
		json_object_set_new(t, "sm_clock_mhz", json_integer(res->sm_clock_mhz));
		json_object_set_new(t, "mem_clock_mhz", json_integer(res->mem_clock_mhz));
		json_object_set_new(t, "reps_asked", json_integer(r->opts->reps));
		json_object_set_new(t, "early", json_boolean(res->early));
		json_object_set_new(t, "cutoff_ms", num_or_null(res->cutoff_ms, res->cutoff_ms > 0));
		json_object_set_new(o, "time", t);
	}
	if (r->baseline) {
		json_t *b = json_object();
		json_object_set_new(b, "eager", timing_json(&r->baseline->eager));
		if (r->baseline->has_compile)
			json_object_set_new(b, "compile", timing_json(&r->baseline->compile));
		if (r->baseline->compile_error)
			json_object_set_new(b, "compile_error", json_text(r->baseline->compile_error));
		json_object_set_new(o, "pytorch", b);
	}
	json_object_set_new(o, "pct_eager", num_or_null(r->pct_eager, r->pct_eager > 0));
	json_object_set_new(o, "pct_compile", num_or_null(r->pct_compile, r->pct_compile > 0));
	json_object_set_new(o, "pct_floor", num_or_null(r->pct_floor, r->pct_floor > 0));
	json_object_set_new(o, "floor_ms", num_or_null(r->roof.floor_ms, r->roof.floor_ms > 0));
	json_object_set_new(o, "bound", r->roof.floor_ms > 0 ? json_string(r->roof.bound) : json_null());
	if (r->gpu) {
		json_object_set_new(o, "gpu", json_pack("{s:s, s:i, s:i, s:i, s:i}", "name",
			r->gpu->name ? r->gpu->name : "", "cc_major", r->gpu->cc_major,
			"cc_minor", r->gpu->cc_minor, "sm_count", r->gpu->sm_count,
			"driver", r->gpu->driver));
	}
	if (r->ceilings) {
		json_object_set_new(o, "ceilings", json_pack("{s:f, s:f, s:f, s:f, s:f}",
			"bandwidth_gbs", r->ceilings->bandwidth_gbs,
			"fp32_tflops", r->ceilings->fp32_tflops, "tf32_tflops", r->ceilings->tf32_tflops,
			"fp16_tflops", r->ceilings->fp16_tflops, "bf16_tflops", r->ceilings->bf16_tflops));
	}
	if (res->leaked_bytes)
		json_object_set_new(o, "leaked_bytes", json_integer((json_int_t)res->leaked_bytes));
	json_object_set_new(o, "wall_s", json_real(res->wall_s));
	if (res->log && *res->log)
		json_object_set_new(o, "log", json_text(res->log));
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *out = xstrdup(s ? s : "{}");
	free(s);
	return out;
}

/* Stored knobs, "VEC=4 THREADS=256", as {"VEC": 4, "THREADS": 256}: an
 * integer value as a number, any other as text, a name without a value as
 * null; null when there are none. */
static json_t *knobs_json(const char *knobs)
{
	if (!knobs || !*knobs)
		return json_null();
	json_t *o = json_object();
	char *copy = xstrdup(knobs);
	for (char *save = NULL, *kv = strtok_r(copy, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '='), *end = NULL;
		if (eq)
			*eq = '\0';
		json_t *v = json_null();
		if (eq) {
			long long n = strtoll(eq + 1, &end, 10);
			v = eq[1] && !*end ? json_integer((json_int_t)n) : json_text(eq + 1);
		}
		json_object_set_new(o, kv, v);
	}
	free(copy);
	return o;
}

void winner_facts_release(struct winner_facts *f)
{
	free(f->template_name);
	free(f->knobs);
	free(f->idea);
	free(f->donor_problem);
	free(f->donor_template);
	memset(f, 0, sizeof *f);
}

void report_winner_json(struct json_t *o, const struct winner_facts *f)
{
	bool has = f && f->template_name;
	json_object_set_new(o, "template", has && *f->template_name ? json_text(f->template_name) : json_null());
	json_object_set_new(o, "knobs", knobs_json(has ? f->knobs : NULL));
	json_object_set_new(o, "idea", has && f->idea ? json_text(f->idea) : json_null());
	json_t *donor = json_null();
	if (has && f->donor_problem) {
		donor = json_object();
		json_object_set_new(donor, "problem", json_text(f->donor_problem));
		json_object_set_new(donor, "template", f->donor_template && *f->donor_template
						       ? json_text(f->donor_template) : json_null());
		json_object_set_new(donor, "seed", json_integer((json_int_t)f->donor_seed));
	}
	json_object_set_new(o, "donor", donor);
}

char *report_bench_json(const char *gpu, const char *date, const char *command,
			const struct bench_row *rows, int n)
{
	json_t *o = json_object();
	json_object_set_new(o, "gpu", json_text(gpu));
	json_object_set_new(o, "date", json_text(date));
	json_object_set_new(o, "command", json_text(command));
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		json_t *x = json_object();
		json_object_set_new(x, "problem", json_text(r->problem));
		json_object_set_new(x, "run", r->run ? json_integer((json_int_t)r->run) : json_null());
		json_object_set_new(x, "tolerance", json_text(r->tolerance));
		if (r->gpu)
			json_object_set_new(x, "gpu", json_text(r->gpu));
		json_object_set_new(x, "eager_ms", num_or_null(r->eager_ms, r->ok));
		json_object_set_new(x, "compile_ms", num_or_null(r->compile_ms, r->ok && r->compile_ms > 0));
		json_object_set_new(x, "best_ms", num_or_null(r->best_ms, r->ok));
		json_object_set_new(x, "floor_ms", num_or_null(r->floor_ms, r->floor_ms > 0));
		json_object_set_new(x, "bound", r->floor_ms > 0 && r->bound ? json_string(r->bound) : json_null());
		json_object_set_new(x, "pct_eager", num_or_null(r->pct_eager, r->ok));
		json_object_set_new(x, "pct_compile", num_or_null(r->pct_compile, r->ok && r->pct_compile > 0));
		if (r->ok && r->eager_from_start)   /* only where the closing measurement failed */
			json_object_set_new(x, "eager_from_start", json_true());
		if (r->ok && r->eager_fp32_ms > 0) {  /* only where PyTorch's defaults use TF32 */
			json_object_set_new(x, "eager_fp32_ms", json_real(r->eager_fp32_ms));
			json_object_set_new(x, "pct_eager_fp32", json_real(r->pct_eager_fp32));
		}
		json_object_set_new(x, "pct_floor", num_or_null(r->pct_floor, r->ok && r->pct_floor > 0));
		json_object_set_new(x, "round_found", r->ok ? json_integer(r->round_found) : json_null());
		json_object_set_new(x, "passes_strict", r->ok ? json_boolean(r->pass_strict) : json_null());
		json_object_set_new(x, "passes_crfm", r->ok ? json_boolean(r->pass_crfm) : json_null());
		json_object_set_new(x, "winner", r->ok && r->winner ? json_integer((json_int_t)r->winner) : json_null());
		report_winner_json(x, r->ok ? &r->facts : NULL);
		json_array_append_new(arr, x);
	}
	json_object_set_new(o, "results", arr);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *out = xstrdup(s ? s : "{}");
	free(s);
	return out;
}
