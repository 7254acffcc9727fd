/*
 * report.h - the last stage: a verdict as people read it, and as JSON.
 * Places every timing against PyTorch and against the hardware's floor.
 */
#ifndef KBREED_REPORT_H
#define KBREED_REPORT_H

#include "bridge.h"
#include "evaluate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The time no kernel can beat on this machine: the larger of fewest bytes
 * over bandwidth and FLOPs over the matching peak. */
struct roofline {
	double floor_ms;      /* 0 when unknown */
	double memory_ms;     /* min_bytes / bandwidth */
	double compute_ms;    /* flops / peak for the problem's dtype */
	const char *bound;    /* "memory" or "compute"; static */
	double peak_tflops;   /* the peak used (fp32: FP32 or a third of TF32, whichever is higher) */
};

void roofline_compute(const struct problem *p, const struct ceilings *c, struct roofline *r);

struct eval_report {
	const struct problem *problem;
	const char *candidate;            /* path of the .cu */
	const char *arch;                 /* e.g. "sm_90a" */
	const struct eval_opts *opts;
	const struct refset *refs;        /* the stressed sets' kinds; may be NULL */
	const struct eval_result *result;
	const struct gpu_info *gpu;       /* may be NULL */
	const struct baseline *baseline;  /* may be NULL */
	const struct ceilings *ceilings;  /* may be NULL */
	struct roofline roof;
	double pct_eager;     /* eager_ms / kernel_ms * 100; 0 when not timed */
	double pct_compile;   /* same against torch.compile; 0 when not measured */
	double pct_floor;     /* floor_ms / kernel_ms * 100 */
};

/* Fills the derived fields (roof, percentages) from the others. */
void report_derive(struct eval_report *r);
/* The verdict for a terminal. */
void report_print(FILE *f, const struct eval_report *r);

/* One eval report as a JSON object (caller frees). */
char *report_json(const struct eval_report *r);

/* What the results (bench files, `run --json`) say of a run's winner, read
 * from its stored rows by population_winner_facts. Every string is owned;
 * winner_facts_release frees them. */
struct winner_facts {
	char *template_name;   /* "" for a hand-written source (naive, generated, model's) */
	char *knobs;           /* as stored: "VEC=4 THREADS=256"; "" when none */
	char *idea;            /* the text of the idea it realises; NULL for a round-0 seed */
	char *donor_problem;   /* the bank kernel its line (parent1 back to round 0)
				* started from: the problem it was banked for; NULL
				* when the line did not start from the bank */
	char *donor_template;  /* that kernel's template ("" when hand-written); NULL with no donor */
	int64_t donor_seed;    /* the round-0 candidate it became in this run; 0 with no donor */
};

void winner_facts_release(struct winner_facts *f);

/* One problem's line in a bench file. */
struct bench_row {
	const char *problem;
	int64_t run;             /* the run in its database; 0 when none was made */
	const char *tolerance;
	bool ok;                 /* a correct kernel was found */
	double eager_ms, compile_ms, best_ms;
	double floor_ms;         /* 0 when unknown */
	const char *bound;       /* "memory" or "compute" (static); NULL when unknown */
	double pct_eager, pct_compile, pct_floor;  /* 250 means 2.5x faster */
	double eager_fp32_ms, pct_eager_fp32;      /* eager with TF32 off; 0 when not measured */
	bool eager_from_start;   /* PyTorch could not be timed again beside the winner:
				  * its times are the session's start measurement */
	int round_found;
	bool pass_strict, pass_crfm;  /* the winner's values under each profile */
	int64_t winner;          /* its candidate id; 0 when none */
	struct winner_facts facts;  /* its template, knobs, idea and donor, read
				     * from the store; owned (winner_facts_release) */
	const char *gpu;         /* the GPU model it ran on, when the bench used
				  * several models; NULL: the file's "gpu" */
};

/* The winner's facts into the JSON object o: "template" (null for a
 * hand-written source), "knobs" (an object, name -> value: a number where
 * the stored value is an integer; null when none), "idea" (null for a
 * round-0 seed) and "donor" ({"problem", "template", "seed"}, or null when
 * its line did not start from the bank). f NULL: all four null. */
struct json_t;
void report_winner_json(struct json_t *o, const struct winner_facts *f);

/* {"gpu", "date", "command", "results": [...]} (caller frees). */
char *report_bench_json(const char *gpu, const char *date, const char *command,
			const struct bench_row *rows, int n);

#endif
