/*
 * proposer_playbook.c - the playbook proposer (proposer.h): ideas drawn from
 * the catalogue (src/propose.c), each realised as distinct knob settings of
 * a template (src/realize.c). Works offline; the default.
 */
#define _GNU_SOURCE
#include "proposer.h"

#include "log.h"
#include "realize.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct playbook {
	struct idea_def *catalog;
	int n_catalog;
};

/* The round's budget is ideas x impls new candidates. A first batch of
 * `ideas` ideas is drawn; where their realisations fall short (an idea
 * whose settings were all tried realises fewer), further batches of ideas
 * (more recombinations, knob steps), each on twice as many of the best
 * correct kernels as the one before, fill the rest, up to this many batches.
 * A proposal that realises nothing new (a recombination whose every child
 * was tried) is not recorded and does not count towards its batch: the
 * batch draws again on the same seeds until it has its ideas or nothing
 * untried is left there. */
#define PLAYBOOK_BATCHES 4

/* The no-retry key of a proposal, as population_tried writes an idea's. */
static char *tried_key(const struct proposal *p)
{
	return p->parent2 ? xasprintf("recombine:%lld", (long long)(p->parent1->id * 100003 + p->parent2->id))
			  : xasprintf("%s:%lld", p->catalog_id, (long long)p->parent1->id);
}

static enum proposer_status playbook_round(void *self, const struct proposer_env *env, int round)
{
	struct playbook *pb = self;
	struct population *pop = env->pop;
	const struct judge *j = env->judge;
	int rc = 0, budget = env->run->ideas * env->run->impls, made = 0, n_ideas = 0, n_seeds = 0;
	/* What was known at the round's start: this round's candidates are not judged yet. */
	int n_known = pop->n_cands;
	struct known *k = population_knowns(pop, env->tpls, env->n_tpls, env->dry_run);
	/* A batch's seeds are the best of the n_known kernels of k; later
	 * batches also build on lower-ranked correct kernels (twice as many
	 * each time), as the space around the best may be spent. Each batch's
	 * are picked when it is reached (most rounds fill their budget with the
	 * first), into `seeds`; `next` holds the next batch's when the end of a
	 * batch needed them early (n_next, -1 when not picked). */
	const struct known **seeds = xcalloc((size_t)n_known + 1, sizeof *seeds);
	const struct known **next = xcalloc((size_t)n_known + 1, sizeof *next);
	n_seeds = population_pick_seeds(k, n_known, env->run->keep, seeds);
	int n_first = n_seeds, n_next = -1;
	int n_seen = 0;
	struct genome *seen = xcalloc((size_t)pop->n_cands + 1, sizeof *seen);
	for (int i = 0; i < pop->n_cands; i++)
		if (k[i].tpl)
			seen[n_seen++] = k[i].genome;
	/* Proposals of this round that realised nothing new (every setting
	 * they reach was tried): not ideas of the run, but not drawn again
	 * this round either, so that they do not take the place of ideas that
	 * realise something ("catalog_id:parent", as population_tried). */
	int n_spent = 0;
	char **spent = NULL;
	if (!n_seeds)
		progress(true, "round %d: no correct kernel to build on; nothing to propose", round);
	struct genome *real = xcalloc((size_t)env->run->impls + 1, sizeof *real);
	for (int batch = 0; n_seeds && batch < PLAYBOOK_BATCHES && made < budget && !rc; batch++) {
		int want = batch ? (budget - made + env->run->impls - 1) / env->run->impls : env->run->ideas;
		if (batch) {
			if (n_next < 0)
				n_next = population_pick_seeds(k, n_known, env->run->keep << batch, next);
			const struct known **t = seeds;
			seeds = next;
			next = t;
			n_seeds = n_next;
			n_next = -1;
		}
		/* The batch draws until `want` of its ideas realised something, or
		 * nothing untried is left on its seeds. */
		int got = 0, drawn = 0;
		for (;;) {
			/* What this run has tried, this round's earlier draws included. */
			int n_tried = 0;
			char **tried = population_tried(pop, &n_tried);
			tried = xrealloc(tried, (size_t)(n_tried + n_spent + 1) * sizeof *tried);
			for (int i = 0; i < n_spent; i++)
				tried[n_tried++] = xstrdup(spent[i]);
			struct propose_ctx ctx = {
				.problem = j->p.op, .defines = j->p.defines, .family = j->p.family, .bound = j->roof.bound,
				.floor_ms = j->roof.floor_ms, .eager_ms = j->have_base ? j->base.eager.median_ms : 0,
				.templates = env->tpls, .n_templates = env->n_tpls, .catalog = pb->catalog,
				.n_catalog = pb->n_catalog, .history = k, .n_history = n_known,
				.tried = (const char *const *)tried, .n_tried = n_tried, .rng = env->rng,
				.strict = env->strict,
			};
			struct proposal *props = xcalloc((size_t)(want - got) + 1, sizeof *props);
			int n_props = propose_playbook(&ctx, seeds, n_seeds, want - got, props);
			drawn += n_props;
			for (int i = 0; i < n_props && !rc; i++) {
				struct proposal *p = &props[i];
				int n_real = realize_playbook(p, env->run->impls, seen, n_seen, env->rng, real);
				if (!n_real) {
					spent = xrealloc(spent, (size_t)(n_spent + 1) * sizeof *spent);
					spent[n_spent++] = tried_key(p);
					continue;
				}
				struct idea_row idea = { .round = round, .catalog_id = xstrdup(p->catalog_id),
							 .category = xstrdup(p->category), .text = xstrdup(p->text),
							 .parent1 = p->parent1->id, .parent2 = p->parent2 ? p->parent2->id : 0 };
				int64_t parent1 = idea.parent1, parent2 = idea.parent2;
				if (population_add_idea(pop, &idea)) {
					idea_row_release(&idea);
					rc = -1;
					break;
				}
				n_ideas++;
				got++;
				debug("idea %lld [%s] %s", (long long)idea.id, p->category, p->text);
				for (int r = 0; r < n_real && !rc; r++) {
					seen = xrealloc(seen, (size_t)(n_seen + 1) * sizeof *seen);
					seen[n_seen++] = real[r];
					struct cand_row c = { .round = round, .idea = idea.id, .parent1 = parent1,
							      .parent2 = parent2, .origin = xstrdup("playbook"),
							      .template_name = xstrdup(real[r].tpl->name),
							      .knobs = genome_knobs_str(&real[r]),
							      .source = genome_realize(&real[r], j->p.defines) };
					rc = population_add_candidate(pop, &c, NULL);
					cand_row_release(&c);
					made += !rc;
				}
			}
			for (int i = 0; i < n_props; i++)
				proposal_release(&props[i]);
			free(props);
			for (int i = 0; i < n_tried; i++)
				free(tried[i]);
			free(tried);
			if (!n_props || got >= want || made >= budget || rc)
				break;
		}
		if (!drawn) {
			if (batch + 1 == PLAYBOOK_BATCHES)
				break;
			n_next = population_pick_seeds(k, n_known, env->run->keep << (batch + 1), next);
			if (n_next == n_seeds)
				break;  /* nothing untried is left, and no more kernels to build on */
		}
	}
	progress(true, "round %d: %d ideas from %d seeds, %d candidates%s", round, n_ideas, n_first, made,
		 n_seeds && made < budget ? " (every setting of the templates near the correct kernels is tried)" : "");
	for (int i = 0; i < n_spent; i++)
		free(spent[i]);
	free(spent);
	free(real);
	free(seen);
	free(seeds);
	free(next);
	free(k);
	return rc ? PROPOSER_FAILED : PROPOSER_OK;
}

static void playbook_free(void *self)
{
	struct playbook *pb = self;
	if (!pb)
		return;
	for (int i = 0; i < pb->n_catalog; i++)
		idea_def_release(&pb->catalog[i]);
	free(pb->catalog);
	free(pb);
}

static const struct proposer_ops playbook_ops = {
	.name = "playbook",
	.round = playbook_round,
	.free = playbook_free,
};

int proposer_playbook_new(struct proposer *p)
{
	struct playbook *pb = xcalloc(1, sizeof *pb);
	if (propose_load_catalog(&pb->catalog, &pb->n_catalog)) {
		playbook_free(pb);
		return -1;
	}
	*p = (struct proposer){ .ops = &playbook_ops, .self = pb };
	return 0;
}

void proposer_free(struct proposer *p)
{
	if (p->ops && p->ops->free)
		p->ops->free(p->self);
	memset(p, 0, sizeof *p);
}
