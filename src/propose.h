/*
 * propose.h - the propose stage: ideas in English, conditioned on what was
 * tried and what it measured. This is the built-in playbook proposer: it
 * draws from a catalogue of mechanism-level ideas kept as data
 * (playbook/ideas.json), each a move in a template's knob space, and fills
 * the idea's text with the parent's measured facts.
 */
#ifndef KBREED_PROPOSE_H
#define KBREED_PROPOSE_H

#include "template.h"

#include <stdbool.h>
#include <stdint.h>

/* The six idea categories of the seed article. */

/* One catalogue entry (playbook/ideas.json). */
struct idea_def {
	char *id;          /* stable name, e.g. "vectorize-loads" */
	char *category;    /* one of idea_categories */
	char *text;        /* English, with {slots} for measured facts */
	char *families;    /* space-separated families it applies to, "*" for all */
	char *from;        /* templates a parent may have: names, "naive", "*" */
	char *to;          /* template to move to; "" keeps the parent's */
	char *set;         /* knob settings it makes, "VEC=4 STREAM=1" */
	char *vary;        /* knobs its realisations vary, "THREADS UNROLL" */
	char *requires;    /* defines the problem must have, "!NAME" for one it must
	                    * not have ("KB_RED_INNERMOST"); "" for any problem */
	char *when;        /* knob values the parent must have, "BM=256", where the
	                    * text's premise is about them; "" for any parent */
	bool loose;        /* it lowers precision below the model's dtype (TF32 for
	                    * fp32): proposed only under the loose crfm tolerance */
};

void idea_def_release(struct idea_def *d);
/* Parses the playbook's idea catalogue: a JSON list of objects with string
 * fields id, category, text, families, from, to, set, vary, requires, when,
 * and boolean loose. */
int propose_parse_catalog(const char *json, struct idea_def **defs, int *n);
/* Loads $KBREED_PLAYBOOK, else <home>/playbook/ideas.json. */
int propose_load_catalog(struct idea_def **defs, int *n);

/* What the proposer knows of a candidate: enough to condition on. */
struct known {
	int64_t id;
	int round;
	const struct template *tpl;   /* NULL for hand-written sources (naive, bank) */
	struct genome genome;         /* valid when tpl */
	bool correct;                 /* correct under the run's profile, and timed */
	double median_ms;             /* when correct */
	bool early;                   /* its timing stopped early (adaptive timing): it
				       * ranks after every fully timed kernel */
	double pct_floor;             /* when correct and known */
	double pct_eager;
	double parent_ms;             /* its first parent's median, 0 when unknown */
	int64_t idea;                 /* the idea that made it, 0 for seeds */
	const char *idea_catalog;     /* that idea's catalogue id, "" for seeds */
	const char *idea_category;
};

/* A proposal: one idea for one or two parents. */
struct proposal {
	const struct idea_def *def;   /* NULL for a recombination */
	char *catalog_id;             /* def->id or "recombine"; owned */
	char *category;               /* owned */
	char *text;                   /* the idea in English, facts filled in; owned */
	const struct known *parent1;
	const struct known *parent2;  /* recombinations only */
	const struct template *to;    /* the template its realisations use */
	char *set;                    /* knob settings its realisations make ("" none); owned */
	char *vary;                   /* knobs they draw freely; owned */
	bool step;                    /* a knob step (catalogue run dry): realisations
	                               * after the first also move one other knob
	                               * to a neighbouring value */
};

void proposal_release(struct proposal *p);

struct propose_ctx {
	const char *problem;
	const char *defines;     /* the problem's defines ("#define NAME value" lines), may be NULL */
	const char *family;
	const char *bound;            /* "memory" or "compute" */
	double floor_ms;
	double eager_ms;
	const struct template *templates;
	int n_templates;
	const struct idea_def *catalog;
	int n_catalog;
	const struct known *history;  /* every candidate so far */
	int n_history;
	const char *const *tried;     /* "catalog_id:parent_id" of every earlier idea */
	int n_tried;
	uint64_t *rng;                /* the run's random state */
	bool strict;                  /* judged under the strict tolerance: no loose ideas */
};

/* Writes up to `want` proposals for the seeds into out (caller releases
 * each). Returns how many. Catalogue ideas first; when they run dry, more
 * recombinations of seeds of one template, then knob steps around the best
 * seeds ("as #27 with STAGES=3 ..."): one knob to a neighbouring value (further
 * values once the neighbours were tried), and
 * in the step's other realisations one more knob beside it. */
int propose_playbook(const struct propose_ctx *ctx, const struct known *const *seeds, int n_seeds,
		     int want, struct proposal *out);

/* Deterministic random numbers (xorshift64*), so --seed reproduces a run. */
uint64_t rng_next(uint64_t *state);
int rng_below(uint64_t *state, int n);

#endif
