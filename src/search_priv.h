/*
 * search_priv.h - what the search's files share among themselves (search.c,
 * the loop; search_llm.c, the rounds a model writes). Not for other stages:
 * they see search.h.
 */
#ifndef KBREED_SEARCH_PRIV_H
#define KBREED_SEARCH_PRIV_H

#include "bridge.h"
#include "evaluate.h"
#include "llm.h"
#include "problem.h"
#include "propose.h"
#include "report.h"
#include "search.h"
#include "store.h"
#include "template.h"

#include <stdbool.h>
#include <stdint.h>

struct search {
	const struct search_opts *o;
	struct store *db;
	struct problem p;
	struct gpu_info gpu;
	const char *arch;
	struct refset refs;
	struct ceilings ceil;
	bool have_ceil;
	struct baseline base;
	struct roofline roof;
	struct template *tpls;
	int n_tpls;
	struct idea_def *catalog;
	int n_catalog;
	struct evaluator *ev;
	struct run_row run;
	bool stopped;               /* a budget ended the run early */
	bool use_llm;               /* the LLM proposer rather than the playbook */
	struct llm_config llm;      /* ideas */
	struct llm_config llm_code; /* realisations */
	char *problem_source;       /* the problem file's text, for prompts */
	struct price *prices;       /* the LLM price table, loaded on first use */
	int n_prices;
	bool prices_loaded, price_warned;
	struct cand_row *cands;     /* every candidate of the run, oldest first */
	int n_cands, cap_cands;
	struct idea_row *ideas;     /* every idea of the run, oldest first */
	int n_ideas, cap_ideas;
	char *work;                 /* <cache>/runs/<id>: candidate sources */
	uint64_t rng;
	double t0;                  /* when this invocation started */
	double gpu_s;               /* time spent judging on the GPU */
	double compile_s;           /* time the GPU waited for nvcc */
	int judged;                 /* candidates judged in this invocation */
	bool tty;
};

/* A progress line: rewritten in place on a terminal, one line each otherwise;
 * `keep` ends the line on a terminal too. Quiet under -q. */
void search_progress(struct search *s, bool keep, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct cand_row *search_find_cand(struct search *s, int64_t id);
struct idea_row *search_find_idea(struct search *s, int64_t id);
/* Judged correct under the run's profile, and timed. */
bool search_is_correct(const struct cand_row *c);
/* Store and keep a new candidate (a source the run already has is skipped)
 * or idea; both take over the row's strings. */
int search_add_candidate(struct search *s, struct cand_row *c);
int search_add_idea(struct search *s, struct idea_row *i);
/* The proposer's view of every candidate (caller frees). */
struct known *search_knowns(struct search *s);
/* The best `keep` correct candidates, diverse across templates. */
int search_pick_seeds(struct search *s, struct known *k, const struct known **seeds);

/* search_llm.c: a round of ideas and kernels from the model; then repairs of
 * the round's failed kernels (attempt 1 repairs the model's kernels, later
 * attempts the repairs). Return 0, or -1 when the run cannot go on. */
int search_llm_round(struct search *s, int round);
int search_llm_repair(struct search *s, int round, int attempt);

#endif
