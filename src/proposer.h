/*
 * proposer.h - the one interface behind which kernels are proposed.
 *
 * A proposer writes a round: ideas in English for the run's seeds, each
 * realised several ways as candidate sources, all added to the population
 * (which stores them). The search loop calls a proposer through this table
 * and never looks inside; a proposer reads the population and the judge's
 * session and never calls back into the loop.
 *
 * Implementations: the playbook (proposer_playbook.c, the default: the
 * catalogue of ideas over parameterised templates, offline), a language
 * model (proposer_llm.c), and the generator (proposer_generated.c: round 0
 * only, a naive kernel written from the problem's op graph).
 */
#ifndef KBREED_PROPOSER_H
#define KBREED_PROPOSER_H

#include "judge.h"
#include "population.h"
#include "store.h"
#include "template.h"

#include <stdbool.h>
#include <stdint.h>

/* What a proposer sees of the run it serves. */
struct proposer_env {
	struct population *pop;        /* where its ideas and candidates go */
	const struct judge *judge;     /* the problem, the GPU, PyTorch's time, the floor */
	const struct run_row *run;     /* rounds, ideas per round, realisations, seeds kept */
	const struct template *tpls;   /* the playbook's templates (the bank and history
	                                * name them) */
	int n_tpls;
	uint64_t *rng;                 /* the run's random state (--seed) */
	bool strict;                   /* judged under the strict tolerance */
	bool dry_run;                  /* nothing is timed: no time may be quoted */
};

/* What a proposer call came to. */
enum proposer_status {
	PROPOSER_OK = 0,        /* the round's candidates are in the population */
	PROPOSER_STOP = 1,      /* a budget of the proposer's ran out: the run ends
	                         * here, cleanly, and can be resumed */
	PROPOSER_FAILED = -1,   /* the run cannot go on (reported) */
};

struct proposer_ops {
	const char *name;
	/* Optional: first kernels for round 0, asked when the naive kernel, the
	 * bank and --seed-kernel gave none. Adds nothing when it has none. */
	enum proposer_status (*seed)(void *self, const struct proposer_env *env);
	/* Required: the ideas and candidates of `round`. */
	enum proposer_status (*round)(void *self, const struct proposer_env *env, int round);
	/* Optional (NULL: none): candidates that mend the round's failed ones;
	 * attempt counts from 1. Adds nothing when nothing is to be mended. */
	enum proposer_status (*repair)(void *self, const struct proposer_env *env, int round, int attempt);
	/* Optional: a line for the run's summary, e.g. tokens and cost (caller frees). */
	char *(*summary)(void *self, const struct proposer_env *env);
	/* Optional: frees self. */
	void (*free)(void *self);
};

struct proposer {
	const struct proposer_ops *ops;
	void *self;
	int repairs;                   /* repair attempts per round (0: none) */
};

void proposer_free(struct proposer *p);

/* The playbook (playbook/ideas.json over templates/). Returns 0 or -1. */
int proposer_playbook_new(struct proposer *p);

/* The generator: a naive kernel from the problem's op graph (src/generate.h),
 * for round 0 only. Cannot fail. */
void proposer_generated_new(struct proposer *p);

/* A language model (docs/LLM.md). */
struct llm_proposer_opts {
	const char *llm;               /* "openai:MODEL", "anthropic:MODEL", "cmd:COMMAND" */
	const char *llm_code;          /* another model for realisations; NULL: llm */
	const char *base_url;
	const char *reasoning_effort;
	int max_output_tokens;         /* 0: the provider's default */
	double temperature;            /* < 0: not sent */
	double max_cost;               /* USD per run; 0: no limit */
	long max_tokens;               /* tokens in + out per run; 0: no limit */
	int concurrency;               /* requests in flight at once */
	double timeout_s;              /* one attempt of one request; 0: the client's default */
	int repairs;                   /* repair attempts per round */
	const char *problem_path;      /* its source goes into the prompts */
};

int proposer_llm_new(struct proposer *p, const struct llm_proposer_opts *o);

#endif
