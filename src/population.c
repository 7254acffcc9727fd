/*
 * population.c - a run's candidates and ideas (population.h): kept in step
 * with the store, read by the proposers, seeded from the naive kernel and
 * the bank.
 */
#define _GNU_SOURCE
#include "population.h"

#include "home.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The two origins of a bank kernel (population_seed_round0): "bank", the
 * problem's own, taken whole; "bank:PROBLEM/TEMPLATE", another problem's,
 * whose knobs a template here took. */
#define ORIGIN_BANK "bank"

/* Whether an origin is the bank's: "bank" or "bank:PROBLEM/TEMPLATE". */
static bool bank_origin(const char *o)
{
	size_t n = strlen(ORIGIN_BANK);
	return !strncmp(o, ORIGIN_BANK, n) && (!o[n] || o[n] == ':');
}

void population_init(struct population *pop, struct store *db, int64_t run)
{
	memset(pop, 0, sizeof *pop);
	pop->db = db;
	pop->run = run;
}

void population_release(struct population *pop)
{
	for (int i = 0; i < pop->n_cands; i++)
		cand_row_release(&pop->cands[i]);
	free(pop->cands);
	for (int i = 0; i < pop->n_ideas; i++)
		idea_row_release(&pop->ideas[i]);
	free(pop->ideas);
	memset(pop, 0, sizeof *pop);
}

int population_load(struct population *pop)
{
	if (store_candidates_of_run(pop->db, pop->run, &pop->cands, &pop->n_cands) ||
	    store_ideas_of_run(pop->db, pop->run, &pop->ideas, &pop->n_ideas))
		return -1;
	pop->cap_cands = pop->n_cands;
	pop->cap_ideas = pop->n_ideas;
	/* Judged sources stay in the store: memory stays flat over long runs. */
	for (int i = 0; i < pop->n_cands; i++)
		if (pop->cands[i].evaluated) {
			free(pop->cands[i].source);
			pop->cands[i].source = NULL;
		}
	return 0;
}

int population_add_candidate(struct population *pop, struct cand_row *c, bool *added)
{
	bool dup = false;
	if (added)
		*added = false;
	c->run = pop->run;
	if (store_candidate_put(pop->db, c, &dup))
		return -1;
	if (dup) {
		cand_row_release(c);
		return 0;
	}
	if (pop->n_cands == pop->cap_cands) {
		pop->cap_cands = pop->cap_cands ? 2 * pop->cap_cands : 64;
		pop->cands = xrealloc(pop->cands, (size_t)pop->cap_cands * sizeof *pop->cands);
	}
	free(c->detail);
	c->detail = xstrdup("");
	pop->cands[pop->n_cands++] = *c;
	memset(c, 0, sizeof *c);
	if (added)
		*added = true;
	return 0;
}

int population_add_idea(struct population *pop, struct idea_row *i)
{
	i->run = pop->run;
	if (store_idea_put(pop->db, i))
		return -1;
	if (pop->n_ideas == pop->cap_ideas) {
		pop->cap_ideas = pop->cap_ideas ? 2 * pop->cap_ideas : 64;
		pop->ideas = xrealloc(pop->ideas, (size_t)pop->cap_ideas * sizeof *pop->ideas);
	}
	pop->ideas[pop->n_ideas++] = *i;
	int64_t id = i->id;
	memset(i, 0, sizeof *i);
	i->id = id;
	return 0;
}

struct cand_row *population_cand(struct population *pop, int64_t id)
{
	for (int i = 0; i < pop->n_cands; i++)
		if (pop->cands[i].id == id)
			return &pop->cands[i];
	return NULL;
}

struct idea_row *population_idea(struct population *pop, int64_t id)
{
	for (int i = 0; i < pop->n_ideas; i++)
		if (pop->ideas[i].id == id)
			return &pop->ideas[i];
	return NULL;
}

int population_winner_facts(struct population *pop, int64_t winner, struct winner_facts *f)
{
	memset(f, 0, sizeof *f);
	const struct cand_row *w = population_cand(pop, winner), *root = w;
	if (!w)
		return error("run %lld has no candidate %lld", (long long)pop->run, (long long)winner);
	const struct idea_row *idea = w->idea ? population_idea(pop, w->idea) : NULL;
	f->template_name = xstrdup(w->template_name);
	f->knobs = xstrdup(w->knobs);
	f->idea = idea ? xstrdup(idea->text) : NULL;
	/* A line is at most as long as the run has candidates: a parent cycle
	 * (a damaged database) ends the walk rather than hanging it. */
	for (int steps = 0; root->parent1 && steps < pop->n_cands; steps++) {
		const struct cand_row *up = population_cand(pop, root->parent1);
		if (!up)
			break;
		root = up;
	}
	const char *o = root->origin;
	size_t n = strlen(ORIGIN_BANK);
	if (!bank_origin(o))
		return 0;
	f->donor_seed = root->id;
	const char *slash = o[n] ? strrchr(o + n + 1, '/') : NULL;
	if (slash) {
		f->donor_problem = xasprintf("%.*s", (int)(slash - (o + n + 1)), o + n + 1);
		f->donor_template = xstrdup(slash + 1);
		return 0;
	}
	/* The problem's own bank kernel, kept whole with its template's name. */
	struct run_row r;
	if (store_run_get(pop->db, pop->run, &r)) {
		winner_facts_release(f);
		return -1;
	}
	f->donor_problem = xstrdup(r.problem);
	f->donor_template = xstrdup(root->template_name);
	run_row_release(&r);
	return 0;
}

bool cand_is_correct(const struct cand_row *c)
{
	return c->evaluated && c->verdict == VERDICT_CORRECT && c->median_ms > 0;
}

/* Whether a ranks before b: fully timed before stopped early (adaptive
 * timing), then by median. */
static bool faster(bool a_early, double a_ms, bool b_early, double b_ms)
{
	return a_early != b_early ? !a_early : a_ms < b_ms;
}

const struct cand_row *population_best(const struct population *pop, int round)
{
	const struct cand_row *b = NULL;
	for (int i = 0; i < pop->n_cands; i++) {
		const struct cand_row *c = &pop->cands[i];
		if (c->round <= round && cand_is_correct(c) && (!b || faster(c->early, c->median_ms, b->early, b->median_ms)))
			b = c;
	}
	return b;
}

int population_last_round(const struct population *pop)
{
	int last = -1;
	for (int i = 0; i < pop->n_cands; i++)
		if (pop->cands[i].round > last)
			last = pop->cands[i].round;
	return last;
}

int population_record(struct population *pop, struct cand_row *c, const struct judgement *o,
		      const struct judge *j)
{
	const struct eval_result *res = &o->res;
	struct eval_row e = {
		.verdict = res->verdict, .detail = res->detail, .log = res->log,
		.pass_strict = res->pass[TOL_STRICT], .pass_crfm = res->pass[TOL_CRFM],
		.timed = res->timed, .max_abs = res->stats.max_abs, .max_rel = res->stats.max_rel,
		.median_ms = res->time.median_ms, .min_ms = res->time.min_ms,
		.max_ms = res->time.max_ms, .host_ms = res->host_median_ms, .reps = res->time.reps,
		.warmup = j->o.eval.warmup, .sets = j->o.eval.sets, .flush_mb = j->o.eval.flush_mb,
		.pct_eager = o->rep.pct_eager, .pct_floor = o->rep.pct_floor, .floor_ms = o->rep.roof.floor_ms,
		.gpu = o->rep.gpu ? o->rep.gpu->name : j->gpu.name,
		.device = o->rep.gpu ? o->rep.gpu->device : NULL, .sm_clock = res->sm_clock_mhz, .mem_clock = res->mem_clock_mhz,
		.compile_s = o->compile_s, .eval_s = res->wall_s,
		.early = res->early, .cutoff_ms = res->cutoff_ms,
	};
	if (store_eval_put(pop->db, c->id, &e))
		return -1;
	c->evaluated = true;
	free(c->detail);
	c->verdict = e.verdict;
	c->detail = xstrdup(res->detail ? res->detail : "");
	c->median_ms = res->timed && res->verdict == VERDICT_CORRECT ? res->time.median_ms : 0;
	c->pct_eager = o->rep.pct_eager;
	c->pct_floor = o->rep.pct_floor;
	c->early = res->early;
	return 0;
}

/* Where a candidate comes in its round's judging order (population_to_judge),
 * lower first: in round 0 by where it came from, tuned first; every
 * candidate of a later round alike (the proposer's order). */
#define JUDGE_RANKS 5
#define JUDGE_RANK_NAIVE 4
static int judge_rank(const struct cand_row *c)
{
	if (c->round > 0)
		return 0;
	if (bank_origin(c->origin))
		return 0;
	if (!strcmp(c->origin, "template"))
		return 1;
	if (!strcmp(c->origin, "user"))
		return 2;
	if (!strcmp(c->origin, "naive") || !strcmp(c->origin, "generated"))
		return JUDGE_RANK_NAIVE;
	return 3;   /* a model's own first kernels */
}

int population_to_judge(const struct population *pop, int round, bool defer_naive, int *idx)
{
	int n = 0;
	for (int rank = 0; rank < JUDGE_RANKS; rank++) {
		if (rank == JUDGE_RANK_NAIVE && defer_naive && n > 0)
			break;
		for (int i = 0; i < pop->n_cands; i++) {
			const struct cand_row *c = &pop->cands[i];
			if (c->round == round && !c->evaluated && judge_rank(c) == rank)
				idx[n++] = i;
		}
	}
	return n;
}

struct known *population_knowns(struct population *pop, const struct template *tpls, int n_tpls,
				bool dry_run)
{
	struct known *k = xcalloc((size_t)pop->n_cands + 1, sizeof *k);
	for (int i = 0; i < pop->n_cands; i++) {
		const struct cand_row *c = &pop->cands[i];
		struct known *x = &k[i];
		x->id = c->id;
		x->round = c->round;
		x->tpl = *c->template_name ? template_find(tpls, n_tpls, c->template_name) : NULL;
		if (x->tpl && genome_parse(&x->genome, x->tpl, c->knobs))
			x->tpl = NULL;  /* a template changed under a stored run: treat as hand-written */
		else if (x->tpl)
			genome_canonical(&x->genome);   /* stored before a same line: as it runs */
		x->correct = cand_is_correct(c) ||
			     (dry_run && c->evaluated && c->verdict == VERDICT_NOT_RUN);
		x->median_ms = c->median_ms;
		x->early = c->early;
		x->pct_floor = c->pct_floor;
		x->pct_eager = c->pct_eager;
		x->idea = c->idea;
		const struct idea_row *idea = c->idea ? population_idea(pop, c->idea) : NULL;
		x->idea_catalog = idea ? idea->catalog_id : "";
		x->idea_category = idea ? idea->category : "";
		const struct cand_row *parent = c->parent1 ? population_cand(pop, c->parent1) : NULL;
		x->parent_ms = parent && cand_is_correct(parent) ? parent->median_ms : 0;
	}
	return k;
}

static int cmp_by_time(const void *a, const void *b)
{
	const struct known *x = *(const struct known *const *)a, *y = *(const struct known *const *)b;
	if (x->early != y->early)
		return x->early ? 1 : -1;   /* fully timed first */
	return (x->median_ms > y->median_ms) - (x->median_ms < y->median_ms);
}

int population_pick_seeds(const struct known *k, int n_k, int keep, const struct known **seeds)
{
	int n = 0;
	const struct known **sorted = xcalloc((size_t)n_k + 1, sizeof *sorted);
	for (int i = 0; i < n_k; i++)
		if (k[i].correct)
			sorted[n++] = &k[i];
	qsort(sorted, (size_t)n, sizeof *sorted, cmp_by_time);
	int picked = 0, per_lineage = (keep + 1) / 2;
	bool *used = xcalloc((size_t)n + 1, sizeof *used);
	for (int pass = 0; pass < 2 && picked < keep; pass++)
		for (int i = 0; i < n && picked < keep; i++) {
			if (used[i])
				continue;
			int same = 0;
			for (int j = 0; j < picked; j++)
				same += seeds[j]->tpl == sorted[i]->tpl;
			if (pass == 0 && same >= per_lineage)
				continue;
			seeds[picked++] = sorted[i];
			used[i] = true;
		}
	free(used);
	free(sorted);
	return picked;
}

char **population_tried(const struct population *pop, int *n)
{
	char **tried = xcalloc((size_t)pop->n_ideas + 1, sizeof *tried);
	for (int i = 0; i < pop->n_ideas; i++) {
		const struct idea_row *d = &pop->ideas[i];
		tried[i] = !strcmp(d->catalog_id, "recombine")
			? xasprintf("recombine:%lld", (long long)(d->parent1 * 100003 + d->parent2))
			: xasprintf("%s:%lld", d->catalog_id, (long long)d->parent1);
	}
	*n = pop->n_ideas;
	return tried;
}

/* The first line of s, at most 160 bytes, into a new string. */
static char *first_line(const char *s)
{
	size_t n = strcspn(s ? s : "", "\n");
	if (n > 160)
		n = 160;
	return xasprintf("%.*s", (int)n, s ? s : "");
}

char *population_idea_outcome(const struct population *pop, const struct idea_row *idea)
{
	int n = 0, ok = 0, judged = 0;
	double best_ms = 0;
	const struct cand_row *failed = NULL;
	for (int j = 0; j < pop->n_cands; j++) {
		const struct cand_row *c = &pop->cands[j];
		if (c->idea != idea->id)
			continue;
		n++;
		if (!c->evaluated)
			continue;
		judged++;
		if (cand_is_correct(c)) {
			ok++;
			if (!best_ms || c->median_ms < best_ms)
				best_ms = c->median_ms;
		} else if (!failed && c->verdict != VERDICT_NOT_RUN) {
			failed = c;
		}
	}
	if (ok)
		return xasprintf("%d of %d realisations correct, best %.4f ms", ok, n, best_ms);
	if (!judged)
		return xasprintf("%d realisations, not judged", n);
	if (!failed)
		return xasprintf("%d realisations, compiled, not timed (dry run)", n);
	char *why = first_line(failed->detail);
	char *s = xasprintf("%d realisations, none correct; #%lld: %s: %s", n, (long long)failed->id,
			    verdict_name(failed->verdict), why);
	free(why);
	return s;
}

int population_seed_files(struct population *pop, const char *const *paths, int n)
{
	for (int i = 0; i < n; i++) {
		struct cand_row c = { .origin = xstrdup("user"), .template_name = xstrdup(""),
				      .knobs = xstrdup("") };
		int rc = util_read_file(paths[i], 4u << 20, &c.source, NULL);
		if (rc)
			error("--seed-kernel %s cannot be read", paths[i]);
		if (!rc)
			rc = population_add_candidate(pop, &c, NULL);
		cand_row_release(&c);
		if (rc)
			return -1;
	}
	return 0;
}

/* Adds g (made canonical), realised for p, to round 0. */
static int seed_genome(struct population *pop, const struct problem *p, struct genome *g)
{
	genome_canonical(g);
	struct cand_row c = { .origin = xstrdup("template"), .template_name = xstrdup(g->tpl->name),
			      .knobs = genome_knobs_str(g), .source = genome_realize(g, p->defines) };
	int rc = population_add_candidate(pop, &c, NULL);
	cand_row_release(&c);
	return rc;
}

int population_seed_round0(struct population *pop, const struct problem *p, const struct template *tpls,
			   int n_tpls, const char *gpu, const char *arch, bool use_bank)
{
	char *naive = xasprintf("%s/kernels/naive/%s.cu", home_dir(), p->op);
	int rc = 0;
	if (util_file_exists(naive)) {
		struct cand_row c = { .origin = xstrdup("naive"), .template_name = xstrdup(""),
				      .knobs = xstrdup("") };
		if (util_read_file(naive, 4u << 20, &c.source, NULL) || population_add_candidate(pop, &c, NULL))
			rc = -1;
		cand_row_release(&c);
	}
	free(naive);
	/* Each template that serves the problem, at its defaults: a short run
	 * starts from the tuned families, not only from the naive kernel.
	 * Those written for this GPU's target (their arch line) come first, so
	 * that round 0 judges them first (population_to_judge keeps the order
	 * within a kind): a one-minute attention run on the H200 spent its
	 * time on flash_mma and never judged flash_wgmma. With them the
	 * templates written for the problem's structure (a requires line that
	 * names a define recognition wrote, template_specialised; one that only
	 * rules structures out does not count): a one-minute run of a 1x1 conv spent
	 * its time on conv_igemm's start lines and never judged conv_pointwise.
	 * Then the settings of the start lines for this target (measured best
	 * on it), the own and specialised templates' first (a 1x1 conv's
	 * conv_pointwise lines before conv_igemm's), then the other templates'
	 * defaults. */
	for (int pass = 0; pass < 4 && !rc; pass++)   /* 0: the own and specialised, 1 and 2: start lines, 3: the rest */
		for (int t = 0; t < n_tpls && !rc; t++) {
			const struct template *tp = &tpls[t];
			if (!template_serves(tp, p->op, p->defines))
				continue;
			bool own = (arch && *tp->arch && !strcmp(tp->arch, arch)) || template_specialised(tp);
			struct genome g;
			if (pass == 1 || pass == 2) {
				if (own != (pass == 1))
					continue;
				for (int i = 0; i < tp->n_start && !rc; i++)
					if (arch && !strcmp(tp->start[i].arch, arch) &&
					    template_requires_met(tp->start[i].requires, p->defines)) {
						genome_start(&g, tp, i);
						rc = seed_genome(pop, p, &g);
					}
			} else if (own == (pass == 0)) {
				genome_default(&g, tp);
				rc = seed_genome(pop, p, &g);
			}
		}
	if (rc || !use_bank)
		goto done;
	/* The bank's kernels for this problem, its family, and the families
	 * whose tile settings a template serving it can take (seeds-from). */
	struct buf families;
	buf_init(&families, 1u << 16);
	buf_printf(&families, "%s", p->family);
	for (int t = 0; t < n_tpls; t++)
		if (template_serves(&tpls[t], p->op, p->defines) && *tpls[t].seeds_from)
			buf_printf(&families, " %s", tpls[t].seeds_from);
	struct bank_row *bank = NULL;
	int n = 0;
	rc = store_bank_for(pop->db, p->name, buf_str(&families), gpu, &bank, &n);
	buf_release(&families);
	if (rc)
		return -1;
	for (int i = 0; i < n && !rc; i++) {
		/* A kernel banked for another problem joins only through a template
		 * that serves this one, re-realised here; one banked for another
		 * family lends its shared knob settings (a GEMM's tile shape) to
		 * every template here that seeds from that family. */
		const struct template *t = template_find(tpls, n_tpls, bank[i].template_name);
		bool same_problem = !strcmp(bank[i].problem, p->name);
		for (int k = -1; k < n_tpls && !rc; k++) {
			const struct template *to = NULL;
			char *source = NULL;
			struct genome g;
			if (k < 0 && same_problem) {
				source = xstrdup(bank[i].source);
			} else if (k < 0 && t && template_serves(t, p->op, p->defines)) {
				if (genome_parse(&g, t, bank[i].knobs) == 0) {
					genome_canonical(&g);
					to = t;
					source = genome_realize(&g, p->defines);
				}
			} else if (k >= 0 && strcmp(bank[i].family, p->family) &&
				   template_serves(&tpls[k], p->op, p->defines) &&
				   template_seeds_from(&tpls[k], bank[i].family) &&
				   genome_transplant(&g, &tpls[k], bank[i].knobs) > 0) {
				genome_canonical(&g);
				to = &tpls[k];
				source = genome_realize(&g, p->defines);
			}
			if (!source)
				continue;
			struct cand_row c = {
				.origin = same_problem ? xstrdup(ORIGIN_BANK)
						       : xasprintf(ORIGIN_BANK ":%s/%s", bank[i].problem, bank[i].template_name),
				.template_name = xstrdup(to ? to->name : bank[i].template_name),
				.knobs = to ? genome_knobs_str(&g) : xstrdup(bank[i].knobs), .source = source };
			if (to && to != t)
				info("seed from the bank: %s's %s (%s) lends %s its settings: %s", bank[i].problem,
				     bank[i].template_name, bank[i].knobs, to->name, c.knobs);
			rc = population_add_candidate(pop, &c, NULL);
			cand_row_release(&c);
		}
	}
	for (int i = 0; i < n; i++)
		bank_row_release(&bank[i]);
	free(bank);
done:
	return rc;
}
