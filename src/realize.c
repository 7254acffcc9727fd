/*
 * realize.c - from an idea to genomes: the parent's settings carried over,
 * the idea's settings applied, the free knobs drawn.
 */
#define _GNU_SOURCE
#include "realize.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static bool seen_before(const struct genome *g, const struct genome *seen, int n)
{
	for (int i = 0; i < n; i++)
		if (genome_equal(g, &seen[i]))
			return true;
	return false;
}

/* The genome the idea starts from: the parent's knob values where the
 * target template has the same knob with that value allowed, else defaults. */
static void base_genome(const struct proposal *p, struct genome *g)
{
	genome_default(g, p->to);
	const struct known *parent = p->parent1;
	if (!parent->tpl)
		return;
	for (int k = 0; k < p->to->n_knobs; k++) {
		int pk = template_knob(parent->tpl, p->to->knobs[k].name);
		if (pk < 0)
			continue;
		for (int v = 0; v < p->to->knobs[k].n_values; v++)
			if (p->to->knobs[k].values[v] == parent->genome.value[pk])
				g->value[k] = parent->genome.value[pk];
	}
}

int realize_playbook(const struct proposal *p, int k, const struct genome *seen, int n_seen,
		     uint64_t *rng, struct genome *out)
{
	int made = 0;
	struct genome base;
	base_genome(p, &base);
	if (p->set && *p->set) {
		struct genome set;
		if (genome_parse(&set, p->to, p->set) == 0) {
			/* Only the knobs the idea names: genome_parse fills the rest with defaults. */
			for (int i = 0; i < p->to->n_knobs; i++) {
				if (template_settings_name(p->set, p->to->knobs[i].name))
					base.value[i] = set.value[i];
			}
		}
	}
	for (int attempt = 0; made < k && attempt < 40 * k; attempt++) {
		struct genome g = base;
		if (p->parent2) {
			/* Each knob from one parent or the other; the first try takes
			 * parent 1's with parent 2's first differing knob. */
			for (int i = 0; i < p->to->n_knobs; i++)
				if (rng_below(rng, 2))
					g.value[i] = p->parent2->genome.value[i];
		} else if (p->step && (attempt > 0 || made > 0)) {
			/* A knob step: one other knob to a neighbouring value. */
			int i = rng_below(rng, p->to->n_knobs);
			const struct knob *kn = &p->to->knobs[i];
			/* Not the step's own knob; never to a loose value (lowering
			 * precision is the catalogue's move, under the loose tolerance). */
			if (template_settings_name(p->set, kn->name))
				continue;
			for (int v = 0; v < kn->n_values; v++)
				if (kn->values[v] == g.value[i]) {
					int to = v + (rng_below(rng, 2) ? 1 : -1);
					if (to >= 0 && to < kn->n_values && !kn->loose[to])
						g.value[i] = kn->values[to];
					break;
				}
		} else if (p->vary && *p->vary && (attempt > 0 || made > 0)) {
			for (int i = 0; i < p->to->n_knobs; i++)
				if (util_word_in(p->vary, p->to->knobs[i].name))
					g.value[i] = p->to->knobs[i].values[rng_below(rng, p->to->knobs[i].n_values)];
		}
		genome_canonical(&g);   /* settings the template runs as others: those */
		if (seen_before(&g, seen, n_seen) || seen_before(&g, out, made))
			continue;
		out[made++] = g;
	}
	/* Too few new settings (the idea's own knobs were all tried): widen by
	 * moving one or two knobs the idea does not set to neighbouring values,
	 * so that the idea is still realised k ways where k new ones exist. Not
	 * for a recombination, whose children hold only its parents' values. */
	for (int attempt = 0; !p->parent2 && made < k && attempt < 40 * k; attempt++) {
		struct genome g = made ? out[rng_below(rng, made)] : base;
		for (int moves = 1 + (attempt >= 10 * k); moves > 0; moves--) {
			int i = rng_below(rng, p->to->n_knobs);
			const struct knob *kn = &p->to->knobs[i];
			if (p->set && template_settings_name(p->set, kn->name))
				continue;
			for (int v = 0; v < kn->n_values; v++)
				if (kn->values[v] == g.value[i]) {
					int to = v + (rng_below(rng, 2) ? 1 : -1);
					if (to >= 0 && to < kn->n_values && !kn->loose[to])
						g.value[i] = kn->values[to];
					break;
				}
		}
		genome_canonical(&g);
		if (seen_before(&g, seen, n_seen) || seen_before(&g, out, made))
			continue;
		out[made++] = g;
	}
	return made;
}
