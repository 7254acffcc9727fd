/*
 * search.h - the driver: the evolutionary loop of the seed article.
 *
 * Round 0 evaluates the problem's naive kernel and the bank's kernels for it.
 * Each later round, the proposer writes ideas for the best correct kernels so
 * far (the seeds), each idea is realised several ways, every candidate is
 * compiled in parallel and judged, and everything is stored as it finishes.
 * At the end the winner is re-timed beside a fresh PyTorch measurement,
 * enters the bank, and is written out with a summary of how it was found.
 */
#ifndef KBREED_SEARCH_H
#define KBREED_SEARCH_H

#include "evaluate.h"
#include "report.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* The options a run fixes when it starts, as bits of search_opts.given:
 * a resume that names one with another value is warned that the stored
 * one applies. */
enum search_given {
	SEARCH_GIVEN_ROUNDS = 1 << 0,
	SEARCH_GIVEN_IDEAS = 1 << 1,
	SEARCH_GIVEN_IMPLS = 1 << 2,
	SEARCH_GIVEN_KEEP = 1 << 3,
	SEARCH_GIVEN_SEED = 1 << 4,
	SEARCH_GIVEN_TOLERANCE = 1 << 5,
};

struct search_opts {
	int rounds;              /* rounds after round 0 */
	int ideas;               /* ideas per round */
	int impls;               /* realisations per idea */
	int keep;                /* seeds carried into each round */
	int seed;                /* random seed of the proposer */
	double max_minutes;      /* wall-clock budget; 0 means none */
	int max_candidates;      /* candidate budget; 0 means none */
	int64_t resume;          /* run id to continue; 0 starts a new run */
	unsigned given;          /* SEARCH_GIVEN_* bits: fixed options named on the command line */
	const char *db_path;     /* the store */
	const char *out_dir;     /* where winner and summary go; NULL: kbreed-out/ */
	const char *arch;        /* compile target; NULL: detected */
	const char *gpus;        /* --gpus: "all" (NULL) or indices, e.g. "0,2": the GPUs
				  * of the first one's model judge at once */
	bool torch_compile;      /* also time torch.compile */
	bool use_bank;           /* seed round 0 from the bank */
	const char *seed_kernels[16]; /* the user's own kernels, added to round 0 */
	int n_seed_kernels;
	bool dry_run;            /* propose, realise and compile; judge nothing (no GPU needed) */
	bool adaptive;           /* adaptive timing (judge.h): a candidate clearly slower
				  * than the best stops timing early (on by default) */
	/* The LLM proposer, when llm is set (else the playbook). */
	const char *llm;         /* "openai:MODEL", "anthropic:MODEL", "cmd:COMMAND" */
	const char *llm_code;    /* another model for realisations; NULL: llm */
	const char *llm_base_url;
	const char *reasoning_effort;
	int max_output_tokens;   /* 0: the provider's default */
	double temperature;      /* < 0: not sent */
	double max_cost;         /* USD; 0: no limit */
	long max_tokens;         /* tokens in + out; 0: no limit */
	int llm_concurrency;     /* requests in flight at once (4) */
	double llm_timeout_s;    /* one attempt of one request; 0: the client's default (600 s) */
	int llm_repairs;         /* repair attempts for a model's kernel that fails to compile (1) */
	struct eval_opts eval;
};

void search_opts_defaults(struct search_opts *o);

struct search_outcome {
	int64_t run;
	int64_t winner;          /* candidate id, 0 when nothing was correct */
	int round_found;
	double best_ms;          /* the winner, re-timed at the end */
	double eager_ms;         /* PyTorch eager beside it */
	bool eager_from_start;   /* PyTorch could not be timed again at the end: its
				  * times are the session's start measurement */
	double compile_ms;       /* torch.compile beside it; 0 when not measured */
	double eager_fp32_ms;    /* eager with TF32 off beside it, where PyTorch's defaults
				  * use TF32 (bridge_tf32_by_default); 0 when not measured */
	double pct_eager_fp32;   /* 0 when not measured */
	double floor_ms;         /* 0 when unknown */
	const char *bound;       /* "memory" or "compute" (static); NULL when the floor is unknown */
	double pct_eager, pct_compile, pct_floor;
	bool pass_strict;        /* the winner's values under each profile, re-timed run */
	bool pass_crfm;
	double max_abs_err, max_rel_err;
	int candidates;          /* judged in this run */
	int early;               /* of those judged in this invocation, timing stopped early */
	bool stopped;            /* a budget ended it early; it can be resumed */
	struct winner_facts facts; /* the winner's template, knobs, idea and donor; empty
				    * when there is none */
	char *problem;           /* its name; owned */
	char *winner_path;       /* owned */
	char *summary_path;      /* owned */
};

void search_outcome_release(struct search_outcome *o);

/* Runs (or resumes) a search on a problem. Returns 0 when the run finished,
 * -1 when it could not (reported; what was finished stays stored). */
int search_run(const struct search_opts *o, const char *problem_arg, struct search_outcome *out);

#endif
