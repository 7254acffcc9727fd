/*
 * codec.h - JSON in and out. The one file that includes the JSON library:
 * it turns the bridge's replies into kbreed's structs and kbreed's results
 * into JSON for --json and for bench files.
 */
#ifndef KBREED_CODEC_H
#define KBREED_CODEC_H

#include "bridge.h"
#include "problem.h"

#include <stdbool.h>

struct eval_report;

/* When json is {"error": "..."}, returns the message (caller frees); else NULL. */
char *codec_error_message(const char *json);

/* Fills a problem's description from describe's reply (path untouched). */
int codec_problem(const char *json, struct problem *p);
/* Fills r from a manifest and checks its tensors against the problem's. */
int codec_manifest(const char *json, const struct problem *p, struct refset *r);
int codec_baseline(const char *json, struct baseline *b);
int codec_ceilings(const char *json, struct ceilings *c);

/* One eval report as a JSON object (caller frees). */
char *codec_report_json(const struct eval_report *r);



/* One problem's line in a bench file. */
struct bench_row {
	const char *problem;
	const char *tolerance;
	bool ok;                 /* a correct kernel was found */
	double eager_ms, compile_ms, best_ms;
	double pct_eager, pct_compile, pct_floor;  /* 250 means 2.5x faster */
	int round_found;
};

/* {"gpu", "date", "command", "results": [...]} (caller frees). */
char *codec_bench_json(const char *gpu, const char *date, const char *command,
		       const struct bench_row *rows, int n);

struct idea_def;
/* Parses the playbook's idea catalogue: a JSON list of objects with string
 * fields id, category, text, families, from, to, set, vary. */
int codec_catalog(const char *json, struct idea_def **defs, int *n);
#endif
