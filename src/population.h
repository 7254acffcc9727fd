/*
 * population.h - a run's population: every candidate and idea it has, as
 * stored, with what the judge said of each; the seeds each round builds on;
 * and round 0, from the problem's naive kernel and the bank.
 *
 * The store holds the truth; the arrays here are a cache of it, so that a
 * resumed run rebuilds them from the database (population_load) and goes on.
 * Proposers add to a population and read it; the search loop records the
 * judge's outcomes into it. It calls neither.
 */
#ifndef KBREED_POPULATION_H
#define KBREED_POPULATION_H

#include "judge.h"
#include "propose.h"
#include "report.h"
#include "store.h"
#include "template.h"

#include <stdbool.h>
#include <stdint.h>

struct population {
	struct store *db;            /* not owned */
	int64_t run;                 /* the run's id */
	struct cand_row *cands;      /* every candidate of the run, oldest first */
	int n_cands, cap_cands;
	struct idea_row *ideas;      /* every idea of the run, oldest first */
	int n_ideas, cap_ideas;
};

void population_init(struct population *pop, struct store *db, int64_t run);
void population_release(struct population *pop);
/* Reads the run's candidates and ideas from the store. Returns 0 or -1. */
int population_load(struct population *pop);

/* Stores and keeps a new candidate (a source the run already has is skipped:
 * *added false) or idea (its id set); both take over the row's strings and
 * leave the row empty. Return 0 or -1 (reported). */
int population_add_candidate(struct population *pop, struct cand_row *c, bool *added);
int population_add_idea(struct population *pop, struct idea_row *i);

struct cand_row *population_cand(struct population *pop, int64_t id);
struct idea_row *population_idea(struct population *pop, int64_t id);
/* Judged correct under the run's profile, and timed. */
bool cand_is_correct(const struct cand_row *c);
/* The fastest correct candidate of rounds up to `round`, or NULL. A fully
 * timed one always comes before one whose timing stopped early (adaptive
 * timing), which is the best only when nothing was timed in full. */
const struct cand_row *population_best(const struct population *pop, int round);
/* The last round with a candidate, -1 when there is none. */
int population_last_round(const struct population *pop);

/* What the results say of candidate `winner` (report.h's struct winner_facts):
 * its template, knobs and idea, and the bank kernel its line started from,
 * followed by parent1 back to its round-0 seed, whose origin says whether
 * the bank gave it (population_seed_round0). The population must be loaded
 * (population_load, or the running search's). Returns 0, or -1 (reported:
 * no such candidate, or the run unreadable); f is empty then. */
int population_winner_facts(struct population *pop, int64_t winner, struct winner_facts *f);

/* The candidates of `round` not yet judged, as indices into pop->cands, in
 * the order to judge them, into idx (room for pop->n_cands). Returns how
 * many. Round 0 judges what is known to be tuned first: the bank's kernels,
 * then each template at its defaults, then the user's own kernels, then any
 * a model wrote, and the naive and generated kernels last; each group in
 * the order it was added. A short run's budget then goes on the kernels
 * that may win, not on timing a naive one; the naive kernel is still
 * judged when time remains (and first when it is the only seed). Later
 * rounds keep the proposer's order. Only the order changes, never which
 * candidates there are: --seed gives the same run.
 *
 * defer_naive leaves round 0's naive and generated kernels out whenever
 * anything else of the round is still to be judged: a run with a
 * wall-clock budget judges them after its last round (search.c). */
int population_to_judge(const struct population *pop, int round, bool defer_naive, int *idx);

/* Records the judge's outcome of candidate c: stored, then kept. */
int population_record(struct population *pop, struct cand_row *c, const struct judgement *o,
		      const struct judge *j);

/* The proposers' view of every candidate (caller frees). In a dry run,
 * what compiled counts as correct so that it can seed the next round. */
struct known *population_knowns(struct population *pop, const struct template *tpls, int n_tpls,
				bool dry_run);
/* The best `keep` correct candidates of k (n_k of them), at most half of
 * them (rounded up) of any one template, so that one lineage cannot crowd
 * out the others; every fully timed one ranks before any whose timing
 * stopped early. seeds holds min(keep, n_k) entries; they point into k.
 * Returns how many. */
int population_pick_seeds(const struct known *k, int n_k, int keep, const struct known **seeds);
/* "catalog_id:parent" of every idea so far, for the playbook's no-retry rule
 * (caller frees each and the array). */
char **population_tried(const struct population *pop, int *n);
/* What came of an idea, in a line a model reads: how many realisations,
 * how many correct and the best time, or why they failed (caller frees). */
char *population_idea_outcome(const struct population *pop, const struct idea_row *idea);

/* Adds the user's own kernel files to round 0 (origin "user"). Returns 0 or
 * -1 (reported: a file that cannot be read). */
int population_seed_files(struct population *pop, const char *const *paths, int n);

/* Round 0: the problem's naive kernel (kernels/naive/OP.cu), each template
 * that serves the problem at its defaults (those whose arch line is `arch`,
 * the compile target, first), then the bank's
 * kernels for it, its family, and the families whose tile settings a
 * template serving it takes (seeds-from). Returns 0 or -1 (reported).
 * Finding nothing is not an error here: the loop asks the proposers next. */
int population_seed_round0(struct population *pop, const struct problem *p, const struct template *tpls,
			   int n_tpls, const char *gpu, const char *arch, bool use_bank);

#endif
