/*
 * propose.c - the playbook proposer.
 *
 * For each seed it lists the catalogue ideas that apply (family, the seed's
 * template, not tried on this seed before, and a real change), weighs them
 * by how their category has paid off in this run so far and by the seed's
 * rank, and draws without replacement. From round two on, when two seeds
 * share a template, one proposal recombines them. Each idea's text gets the
 * parent's measured facts: time, share of the floor, bound, and the change.
 * The catalogue itself is read here too (jansson), beside struct idea_def.
 */
#define _GNU_SOURCE
#include "propose.h"

#include "home.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

int rng_below(uint64_t *s, int n)
{
	return n > 0 ? (int)(rng_next(s) % (uint64_t)n) : 0;
}

void idea_def_release(struct idea_def *d)
{
	free(d->id);
	free(d->category);
	free(d->text);
	free(d->families);
	free(d->from);
	free(d->to);
	free(d->set);
	free(d->vary);
	free(d->requires);
	free(d->when);
	memset(d, 0, sizeof *d);
}

void proposal_release(struct proposal *p)
{
	free(p->catalog_id);
	free(p->category);
	free(p->text);
	free(p->set);
	free(p->vary);
	memset(p, 0, sizeof *p);
}

static char *get_string(json_t *o, const char *key, const char *fallback)
{
	json_t *v = json_object_get(o, key);
	return xstrdup(json_is_string(v) ? json_string_value(v) : fallback);
}

int propose_parse_catalog(const char *text, struct idea_def **defs, int *n)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	*defs = NULL;
	*n = 0;
	if (!j || !json_is_array(j)) {
		json_decref(j);
		return error("idea catalogue: not a JSON list (%s at line %d)", j ? "wrong type" : e.text, e.line);
	}
	size_t len = json_array_size(j);
	*defs = xcalloc(len, sizeof **defs);
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		json_t *o = json_array_get(j, i);
		struct idea_def *d = &(*defs)[i];
		json_t *id = json_object_get(o, "id"), *cat = json_object_get(o, "category"),
		       *txt = json_object_get(o, "text");
		if (!json_is_string(id) || !json_is_string(cat) || !json_is_string(txt)) {
			rc = error("idea catalogue: entry %zu needs string fields id, category and text", i);
			break;
		}
		d->id = xstrdup(json_string_value(id));
		d->category = xstrdup(json_string_value(cat));
		d->text = xstrdup(json_string_value(txt));
		d->families = get_string(o, "families", "*");
		d->from = get_string(o, "from", "*");
		d->to = get_string(o, "to", "");
		d->set = get_string(o, "set", "");
		d->vary = get_string(o, "vary", "");
		d->requires = get_string(o, "requires", "");
		d->when = get_string(o, "when", "");
		json_t *loose = json_object_get(o, "loose");
		if (loose && !json_is_boolean(loose)) {
			rc = error("idea catalogue: entry %zu (%s): loose must be true or false", i, d->id);
			idea_def_release(d);  /* not counted in *n: the caller would not free it */
			break;
		}
		d->loose = json_is_true(loose);
		*n = (int)i + 1;
	}
	json_decref(j);
	return rc;
}

int propose_load_catalog(struct idea_def **defs, int *n)
{
	const char *env = getenv("KBREED_PLAYBOOK");
	char *path = env && *env ? xstrdup(env) : xasprintf("%s/playbook/ideas.json", home_dir());
	char *json = NULL;
	int rc = util_read_file(path, 4u << 20, &json, NULL);
	if (!rc)
		rc = propose_parse_catalog(json, defs, n);
	for (int i = 0; !rc && i < *n; i++) {
		bool known = false;
		for (int c = 0; c < 6; c++)
			known |= !strcmp((*defs)[i].category, idea_categories[c]);
		if (!known)
			rc = error("%s: idea %s has category '%s', not one of the six", path,
				   (*defs)[i].id, (*defs)[i].category);
	}
	free(json);
	free(path);
	return rc;
}

/* Whether a space-separated list names word, or holds the wildcard "*". */
static bool list_has(const char *list, const char *word)
{
	return util_word_in(list, "*") || util_word_in(list, word);
}

static bool tried(const struct propose_ctx *ctx, const char *id, int64_t parent)
{
	char key[256];
	snprintf(key, sizeof key, "%s:%lld", id, (long long)parent);
	for (int i = 0; i < ctx->n_tried; i++)
		if (!strcmp(ctx->tried[i], key))
			return true;
	return false;
}

/* Whether the parent has every "KNOB=value" of an idea's when (a naive
 * parent has no knobs: only an empty when holds for it). */
static bool when_met(const char *when, const struct known *parent)
{
	if (!*when)
		return true;
	if (!parent->tpl)
		return false;
	struct genome g;
	if (genome_parse(&g, parent->tpl, when))
		return false;
	for (int k = 0; k < parent->tpl->n_knobs; k++)
		if (template_settings_name(when, parent->tpl->knobs[k].name) &&
		    g.value[k] != parent->genome.value[k])
			return false;
	return true;
}

/* The template an idea moves a parent to, or NULL when it does not apply. */
static const struct template *target(const struct propose_ctx *ctx, const struct idea_def *d,
				     const struct known *parent)
{
	if (!list_has(d->families, ctx->family) || (d->loose && ctx->strict) ||
	    !template_requires_met(d->requires, ctx->defines))
		return NULL;
	/* from before when: an idea's when names its own templates' knobs,
	 * which another parent's template may lack (an error, were it parsed) */
	if (parent->tpl ? !list_has(d->from, parent->tpl->name) : !list_has(d->from, "naive"))
		return NULL;
	if (!when_met(d->when, parent))
		return NULL;
	const struct template *to = parent->tpl;
	if (*d->to)
		to = template_find(ctx->templates, ctx->n_templates, d->to);
	if (!to || !template_serves(to, ctx->problem, ctx->defines))
		return NULL;
	if (!template_accepts(to, d->set) || (*d->vary && !template_count_knobs(to, d->vary) && !*d->set))
		return NULL;
	/* It must change what it says it changes: a new template; else a knob
	 * it sets (an idea whose settings the parent already has would state a
	 * change that is not made, whatever it varies); else, setting nothing,
	 * knobs to vary. */
	if (to != parent->tpl)
		return to;
	if (!*d->set)
		return template_count_knobs(to, d->vary) ? to : NULL;
	struct genome set, g = parent->genome, was = parent->genome;
	if (genome_parse(&set, to, d->set))
		return NULL;
	for (int k = 0; k < to->n_knobs; k++)
		if (template_settings_name(d->set, to->knobs[k].name))
			g.value[k] = set.value[k];
	/* where the template runs those settings as the parent's, no change either */
	genome_canonical(&g);
	genome_canonical(&was);
	return genome_equal(&g, &was) ? NULL : to;
}

/* How well a category has paid off in this run: 1 + the mean log speed-up
 * of its ideas' children over their parents (failures count as no gain).
 * Categories not tried yet get a bonus, so that each gets its chance. */
static double category_weight(const struct propose_ctx *ctx, const char *category)
{
	double sum = 0;
	int count = 0;
	for (int i = 0; i < ctx->n_history; i++) {
		const struct known *c = &ctx->history[i];
		if (!c->idea || !c->idea_category || strcmp(c->idea_category, category))
			continue;
		count++;
		if (c->correct && c->parent_ms > 0 && c->median_ms < c->parent_ms)
			sum += log(c->parent_ms / c->median_ms);
	}
	return 1.0 + (count ? 4.0 * sum / count : 0.5);
}

/* Fills {slots} of an idea's text. */
static char *fill(const struct propose_ctx *ctx, const char *text, const struct known *p,
		  const struct template *to, const char *set, const char *vary)
{
	struct buf b;
	buf_init(&b, 1u << 16);
	for (const char *s = text; *s;) {
		if (*s != '{') {
			buf_append(&b, s++, 1);
			continue;
		}
		const char *e = strchr(s, '}');
		if (!e) {
			buf_append(&b, s, strlen(s));
			break;
		}
		char slot[64];
		snprintf(slot, sizeof slot, "%.*s", (int)(e - s - 1), s + 1);
		if (!strcmp(slot, "time"))
			buf_printf(&b, "%.4f ms", p->median_ms);
		else if (!strcmp(slot, "pct_floor"))
			buf_printf(&b, "%.0f%%", p->pct_floor);
		else if (!strcmp(slot, "pct_eager"))
			buf_printf(&b, "%.0f%%", p->pct_eager);
		else if (!strcmp(slot, "bound"))
			buf_printf(&b, "%s", ctx->bound);
		else if (!strcmp(slot, "floor"))
			buf_printf(&b, "%.4f ms", ctx->floor_ms);
		else if (!strcmp(slot, "problem"))
			buf_printf(&b, "%s", ctx->problem);
		else if (!strcmp(slot, "template"))
			buf_printf(&b, "%s", to->name);
		else if (!strcmp(slot, "set"))
			buf_printf(&b, "%s", *set ? set : "the same settings");
		else if (!strcmp(slot, "vary"))
			buf_printf(&b, "%s", *vary ? vary : "nothing else");
		else if (!strcmp(slot, "parent"))
			buf_printf(&b, "#%lld", (long long)p->id);
		else if (!strcmp(slot, "knobs")) {
			char *k = p->tpl ? genome_knobs_str(&p->genome) : xstrdup("hand-written");
			buf_printf(&b, "%s", k);
			free(k);
		} else
			buf_printf(&b, "{%s}", slot);
		s = e + 1;
	}
	return buf_detach(&b);
}

static bool recombine_tried(const struct propose_ctx *ctx, const struct proposal *made, int n_made,
			    const struct known *p1, const struct known *p2)
{
	for (int i = 0; i < n_made; i++)
		if (made[i].parent1 == p1 && made[i].parent2 == p2)
			return true;
	return tried(ctx, "recombine", p1->id * 100003 + p2->id);
}

/* Up to `want` recombinations of two seeds of one template with different
 * knob settings, best pairs first. Returns how many. */
static int recombine(const struct propose_ctx *ctx, const struct known *const *seeds, int n_seeds, int want,
		     struct proposal *out)
{
	int made = 0;
	for (int a = 0; a < n_seeds && made < want; a++)
		for (int b = a + 1; b < n_seeds && made < want; b++) {
			const struct known *p1 = seeds[a], *p2 = seeds[b];
			if (!p1->tpl || p1->tpl != p2->tpl || genome_equal(&p1->genome, &p2->genome) ||
			    recombine_tried(ctx, out, made, p1, p2))
				continue;
			struct proposal *p = &out[made++];
			*p = (struct proposal){ 0 };  /* every field, step included */
			char *k1 = genome_knobs_str(&p1->genome), *k2 = genome_knobs_str(&p2->genome);
			p->def = NULL;
			p->catalog_id = xstrdup("recombine");
			p->category = xstrdup(p1->idea_category && *p1->idea_category ? p1->idea_category
										 : "parallelism and occupancy");
			p->text = xasprintf("Recombine the two best %s kernels: #%lld (%.4f ms, %s) and #%lld "
					    "(%.4f ms, %s) reached their speed by different knob settings; "
					    "taking each knob from one or the other may keep both gains.",
					    p1->tpl->name, (long long)p1->id, p1->median_ms, k1,
					    (long long)p2->id, p2->median_ms, k2);
			p->parent1 = p1;
			p->parent2 = p2;
			p->to = p1->tpl;
			p->set = xstrdup("");
			p->vary = xstrdup("");
			free(k1);
			free(k2);
		}
	return made;
}

/* Up to `want` knob steps: for each seed of a template, best first, each
 * knob moved one value up or down its list (then two, ...), unless that step was tried on
 * that seed. Returns how many. Deterministic: seeds in rank order, knobs in
 * the header's order, up before down. */
static int knob_steps(const struct propose_ctx *ctx, const struct known *const *seeds, int n_seeds, int want,
		      struct proposal *out)
{
	int made = 0;
	/* Neighbouring values first; further ones once those were all tried. */
	for (int dist = 1; dist < TEMPLATE_MAX_VALUES && made < want; dist++)
	for (int s = 0; s < n_seeds && made < want; s++) {
		const struct known *p1 = seeds[s];
		const struct template *t = p1->tpl;
		if (!t)
			continue;
		for (int k = 0; k < t->n_knobs && made < want; k++) {
			const struct knob *kn = &t->knobs[k];
			int at = -1;
			for (int v = 0; v < kn->n_values; v++)
				if (kn->values[v] == p1->genome.value[k])
					at = v;
			for (int dir = 1; dir >= -1 && made < want; dir -= 2) {
				int to = at + dir * dist;
				if (dist > 1 && !(at + dir * (dist - 1) >= 0 && at + dir * (dist - 1) < kn->n_values))
					continue;
				if (at < 0 || to < 0 || to >= kn->n_values)
					continue;
				/* A loose value lowers precision: never under strict. */
				if (kn->loose[to] && ctx->strict)
					continue;
				char id[128], set[96];
				snprintf(set, sizeof set, "%s=%d", kn->name, kn->values[to]);
				snprintf(id, sizeof id, "step %s", set);
				if (tried(ctx, id, p1->id))
					continue;
				struct proposal *p = &out[made++];
				*p = (struct proposal){ 0 };  /* every field, step included */
				char *knobs = genome_knobs_str(&p1->genome);
				p->def = NULL;
				p->catalog_id = xstrdup(id);
				p->category = xstrdup(kn->category);
				if (ctx->eager_ms > 0 && p1->median_ms > 0)
					p->text = xasprintf(
						"As #%lld (%s, %s) with %s instead of %d (%s): a step %s that knob from a "
						"kernel at %.4f ms, %.0f%% of the %s floor; the catalogue has no untried "
						"idea for it. Its other realisations also move one neighbouring knob.",
						(long long)p1->id, t->name, knobs, set, p1->genome.value[k],
						*kn->what ? kn->what : "a knob", dir > 0 ? "up" : "down",
						p1->median_ms, p1->pct_floor, ctx->bound);
				else
					p->text = xasprintf(
						"As #%lld (%s, %s) with %s instead of %d (%s): a step %s that knob; the "
						"catalogue has no untried idea for it. Its other realisations also move "
						"one neighbouring knob.",
						(long long)p1->id, t->name, knobs, set, p1->genome.value[k],
						*kn->what ? kn->what : "a knob", dir > 0 ? "up" : "down");
				free(knobs);
				p->parent1 = p1;
				p->parent2 = NULL;
				p->to = t;
				p->set = xstrdup(set);
				p->vary = xstrdup("");
				p->step = true;
			}
		}
	}
	return made;
}

struct option_ {
	const struct idea_def *def;
	const struct known *parent;
	const struct template *to;
	double weight;
};

int propose_playbook(const struct propose_ctx *ctx, const struct known *const *seeds, int n_seeds,
		     int want, struct proposal *out)
{
	int n_opts = 0, made = 0;
	struct option_ *opts = xcalloc((size_t)(ctx->n_catalog * (n_seeds ? n_seeds : 1)) + 1, sizeof *opts);
	for (int s = 0; s < n_seeds; s++)
		for (int i = 0; i < ctx->n_catalog; i++) {
			const struct idea_def *d = &ctx->catalog[i];
			const struct template *to = target(ctx, d, seeds[s]);
			if (!to || tried(ctx, d->id, seeds[s]->id))
				continue;
			/* Better seeds and better-paying categories are drawn more often. */
			opts[n_opts++] = (struct option_){ d, seeds[s], to,
				category_weight(ctx, d->category) / (1.0 + s) };
		}

	/* A recombination of two seeds of one template, when there are such. */
	if (want > 1)
		made += recombine(ctx, seeds, n_seeds, 1, out + made);
	while (made < want && n_opts > 0) {
		double total = 0;
		for (int i = 0; i < n_opts; i++)
			total += opts[i].weight;
		double r = (double)(rng_next(ctx->rng) >> 11) / (double)(1ull << 53) * total;
		int pick = n_opts - 1;
		for (int i = 0; i < n_opts; i++) {
			r -= opts[i].weight;
			if (r <= 0) {
				pick = i;
				break;
			}
		}
		struct option_ o = opts[pick];
		opts[pick] = opts[--n_opts];
		struct proposal *p = &out[made++];
		*p = (struct proposal){ 0 };  /* every field, step included */
		p->def = o.def;
		p->catalog_id = xstrdup(o.def->id);
		p->category = xstrdup(o.def->category);
		p->text = fill(ctx, o.def->text, o.parent, o.to, o.def->set, o.def->vary);
		p->parent1 = o.parent;
		p->parent2 = NULL;
		p->to = o.to;
		p->set = xstrdup(o.def->set);
		p->vary = xstrdup(o.def->vary);
	}
	free(opts);
	/* The catalogue ran dry: recombine more pairs, then step knobs. */
	if (made < want)
		made += recombine(ctx, seeds, n_seeds, want - made, out + made);
	if (made < want)
		made += knob_steps(ctx, seeds, n_seeds, want - made, out + made);
	return made;
}
