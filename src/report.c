/*
 * report.c - verdicts for people: what happened, how fast against PyTorch,
 * and how close to what the hardware allows.
 */
#include "report.h"

#include "compare.h"

#include <string.h>

void roofline_compute(const struct problem *p, const struct ceilings *c, struct roofline *r)
{
	memset(r, 0, sizeof *r);
	r->bound = "memory";
	if (!c || c->bandwidth_gbs <= 0)
		return;
	enum kb_dtype t = p->n_inputs ? p->inputs[0].dtype : p->outputs[0].dtype;
	r->peak_tflops = t == KB_F16 ? c->fp16_tflops : t == KB_BF16 ? c->bf16_tflops : c->fp32_tflops;
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
		fprintf(f, "  correctness: strict %s, crfm %s; max abs err %.3g, max rel err %.3g over %lld elements\n",
			res->pass[TOL_STRICT] ? "pass" : "FAIL", res->pass[TOL_CRFM] ? "pass" : "FAIL",
			res->stats.max_abs, res->stats.max_rel, (long long)res->stats.n);
	}
	if (res->timed) {
		fprintf(f, "  time: median %.4f ms (min %.4f, max %.4f, %d calls, L2 flushed; host %.4f ms)",
			res->time.median_ms, res->time.min_ms, res->time.max_ms, res->time.reps,
			res->host_median_ms);
		if (res->sm_clock_mhz)
			fprintf(f, " at %d/%d MHz", res->sm_clock_mhz, res->mem_clock_mhz);
		fputc('\n', f);
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
