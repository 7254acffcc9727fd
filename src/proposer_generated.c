/*
 * proposer_generated.c - the generator as a proposer (proposer.h): round 0
 * only. When nothing else seeds a run, the problem's op graph (captured by
 * the bridge) becomes a straightforward kernel, one CUDA kernel per ATen op
 * (src/generate.h), so that any recognised PyTorch problem starts.
 */
#define _GNU_SOURCE
#include "proposer.h"

#include "generate.h"
#include "graph.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static enum proposer_status generated_seed(void *self, const struct proposer_env *env)
{
	const struct problem *p = &env->judge->p;
	if (!p->graph) {
		info("no op graph for %s (%s): nothing to generate", p->name,
		     p->graph_error ? p->graph_error : "not captured");
		return PROPOSER_OK;
	}
	char *source = NULL, *why = NULL;
	int rc = generate_naive(p->graph, &source, &why);
	if (rc < 0) {
		free(why);
		return PROPOSER_FAILED;
	}
	if (rc > 0) {
		warn("the generator does not cover %s's graph: %s (--llm can take it)", p->name, why ? why : "?");
		free(why);
		return PROPOSER_OK;
	}
	struct cand_row c = { .origin = xstrdup("generated"), .template_name = xstrdup(""),
			      .knobs = xstrdup(""), .source = source };
	rc = population_add_candidate(env->pop, &c, NULL);
	cand_row_release(&c);
	free(why);
	return rc ? PROPOSER_FAILED : PROPOSER_OK;
}

static const struct proposer_ops generated_ops = {
	.name = "generated",
	.seed = generated_seed,
};

void proposer_generated_new(struct proposer *p)
{
	*p = (struct proposer){ .ops = &generated_ops };
}
