/*
 * search.c - the evolutionary loop, its bookkeeping and its report.
 *
 * All state lives in the store; the arrays here are a cache of it, so that
 * `--resume` rebuilds them from the database and carries on: candidates
 * without an evaluation are judged, then rounds continue from the last one.
 */
#define _GNU_SOURCE
#include "search_priv.h"

#include "bridge.h"
#include "compile.h"
#include "home.h"
#include "llm.h"
#include "log.h"
#include "problem.h"
#include "policy.h"
#include "proc.h"
#include "propose.h"
#include "realize.h"
#include "report.h"
#include "store.h"
#include "template.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void search_opts_defaults(struct search_opts *o)
{
	memset(o, 0, sizeof *o);
	o->rounds = 5;
	o->ideas = 8;
	o->impls = 4;
	o->keep = 4;
	o->seed = 1;
	o->use_bank = true;
	o->temperature = -1;
	o->llm_concurrency = 4;
	o->llm_repairs = 1;
	eval_opts_defaults(&o->eval);
}

void search_outcome_release(struct search_outcome *o)
{
	free(o->winner_path);
	free(o->summary_path);
	memset(o, 0, sizeof *o);
}


void search_progress(struct search *s, bool keep, const char *fmt, ...)
{
	if (log_verbosity < LOG_INFO)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (s->tty)
		fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	if (!s->tty || keep)
		fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
}

struct cand_row *search_find_cand(struct search *s, int64_t id)
{
	for (int i = 0; i < s->n_cands; i++)
		if (s->cands[i].id == id)
			return &s->cands[i];
	return NULL;
}

struct idea_row *search_find_idea(struct search *s, int64_t id)
{
	for (int i = 0; i < s->n_ideas; i++)
		if (s->ideas[i].id == id)
			return &s->ideas[i];
	return NULL;
}

bool search_is_correct(const struct cand_row *c)
{
	return c->evaluated && !strcmp(c->verdict, "correct") && c->median_ms > 0;
}

static const struct cand_row *best(struct search *s, int up_to_round)
{
	const struct cand_row *b = NULL;
	for (int i = 0; i < s->n_cands; i++) {
		const struct cand_row *c = &s->cands[i];
		if (c->round <= up_to_round && search_is_correct(c) && (!b || c->median_ms < b->median_ms))
			b = c;
	}
	return b;
}

/* Stores a new candidate (skipping a source the run already has) and keeps it. */
int search_add_candidate(struct search *s, struct cand_row *c)
{
	bool dup = false;
	c->run = s->run.id;
	if (store_candidate_put(s->db, c, &dup))
		return -1;
	if (dup) {
		cand_row_release(c);
		return 0;
	}
	if (s->n_cands == s->cap_cands) {
		s->cap_cands = s->cap_cands ? 2 * s->cap_cands : 64;
		s->cands = xrealloc(s->cands, (size_t)s->cap_cands * sizeof *s->cands);
	}
	c->verdict = xstrdup("");
	c->detail = xstrdup("");
	s->cands[s->n_cands++] = *c;
	memset(c, 0, sizeof *c);
	return 0;
}

int search_add_idea(struct search *s, struct idea_row *i)
{
	i->run = s->run.id;
	if (store_idea_put(s->db, i))
		return -1;
	if (s->n_ideas == s->cap_ideas) {
		s->cap_ideas = s->cap_ideas ? 2 * s->cap_ideas : 64;
		s->ideas = xrealloc(s->ideas, (size_t)s->cap_ideas * sizeof *s->ideas);
	}
	s->ideas[s->n_ideas++] = *i;
	memset(i, 0, sizeof *i);
	return 0;
}

static bool over_budget(struct search *s)
{
	if (s->o->max_minutes > 0 && util_now() - s->t0 > s->o->max_minutes * 60)
		return true;
	return s->o->max_candidates > 0 && s->n_cands >= s->o->max_candidates;
}

/* Round 0: the naive kernel and the bank's kernels for this problem. */
static int seed_round0(struct search *s)
{
	char *naive = xasprintf("%s/kernels/naive/%s.cu", home_dir(), s->p.op);
	int rc = 0;
	if (util_file_exists(naive)) {
		struct cand_row c = { .origin = xstrdup("naive"), .template_name = xstrdup(""),
				      .knobs = xstrdup("") };
		if (util_read_file(naive, 4u << 20, &c.source, NULL) || search_add_candidate(s, &c))
			rc = -1;
		cand_row_release(&c);
	}
	free(naive);
	if (rc || !s->o->use_bank)
		return rc;
	/* The bank's kernels for this problem, its family, and the families
	 * whose tile settings a template serving it can take (seeds-from). */
	struct buf families;
	buf_init(&families, 1u << 16);
	buf_printf(&families, "%s", s->p.family);
	for (int t = 0; t < s->n_tpls; t++)
		if (template_serves(&s->tpls[t], s->p.op) && *s->tpls[t].seeds_from)
			buf_printf(&families, " %s", s->tpls[t].seeds_from);
	struct bank_row *bank = NULL;
	int n = 0;
	rc = store_bank_for(s->db, s->p.name, buf_str(&families), s->gpu.name, &bank, &n);
	buf_release(&families);
	if (rc)
		return -1;
	for (int i = 0; i < n && !rc; i++) {
		/* A kernel banked for another problem joins only through a template
		 * that serves this one, re-realised here; one banked for another
		 * family lends its shared knob settings (a GEMM's tile shape) to
		 * every template here that seeds from that family. */
		const struct template *t = template_find(s->tpls, s->n_tpls, bank[i].template_name);
		bool same_problem = !strcmp(bank[i].problem, s->p.name);
		for (int k = -1; k < s->n_tpls && !rc; k++) {
			const struct template *to = NULL;
			char *source = NULL;
			struct genome g;
			if (k < 0 && same_problem) {
				source = xstrdup(bank[i].source);
			} else if (k < 0 && t && template_serves(t, s->p.op)) {
				if (genome_parse(&g, t, bank[i].knobs) == 0) {
					to = t;
					source = genome_realize(&g, s->p.defines);
				}
			} else if (k >= 0 && strcmp(bank[i].family, s->p.family) &&
				   template_serves(&s->tpls[k], s->p.op) &&
				   template_seeds_from(&s->tpls[k], bank[i].family) &&
				   genome_transplant(&g, &s->tpls[k], bank[i].knobs) > 0) {
				to = &s->tpls[k];
				source = genome_realize(&g, s->p.defines);
			}
			if (!source)
				continue;
			struct cand_row c = {
				.origin = same_problem ? xstrdup("bank")
						       : xasprintf("bank:%s/%s", bank[i].problem, bank[i].template_name),
				.template_name = xstrdup(to ? to->name : bank[i].template_name),
				.knobs = to ? genome_knobs_str(&g) : xstrdup(bank[i].knobs), .source = source };
			if (to && to != t)
				info("seed from the bank: %s's %s (%s) lends %s its settings: %s", bank[i].problem,
				     bank[i].template_name, bank[i].knobs, to->name, c.knobs);
			rc = search_add_candidate(s, &c);
			cand_row_release(&c);
		}
	}
	for (int i = 0; i < n; i++)
		bank_row_release(&bank[i]);
	free(bank);
	if (!rc && s->n_cands == 0)
		rc = error("%s has no round-0 seed: no kernels/naive/%s.cu and nothing in the bank",
			   s->p.name, s->p.op);
	return rc;
}

static void fill_eval_row(struct search *s, const struct eval_result *res, const struct eval_report *rep,
			  double compile_s, struct eval_row *e)
{
	*e = (struct eval_row){
		.verdict = verdict_name(res->verdict), .detail = res->detail, .log = res->log,
		.pass_strict = res->pass[TOL_STRICT], .pass_crfm = res->pass[TOL_CRFM],
		.timed = res->timed, .max_abs = res->stats.max_abs, .max_rel = res->stats.max_rel,
		.median_ms = res->time.median_ms, .min_ms = res->time.min_ms,
		.max_ms = res->time.max_ms, .host_ms = res->host_median_ms, .reps = res->time.reps,
		.warmup = s->o->eval.warmup, .sets = s->o->eval.sets, .flush_mb = s->o->eval.flush_mb,
		.pct_eager = rep->pct_eager, .pct_floor = rep->pct_floor, .floor_ms = rep->roof.floor_ms,
		.gpu = s->gpu.name, .sm_clock = res->sm_clock_mhz, .mem_clock = res->mem_clock_mhz,
		.compile_s = compile_s, .eval_s = res->wall_s,
	};
}

struct compiler {
	struct compile_job *jobs;
	int n;
	struct compile_opts opts;
	int rc;
};

static void *compile_thread(void *arg)
{
	struct compiler *c = arg;
	c->rc = compile_batch(c->jobs, c->n, &c->opts);
	return NULL;
}

/* Compiles and judges every candidate of a round that has no evaluation yet.
 * nvcc runs on its own thread, so that the GPU judges each candidate as soon
 * as it is compiled. */
static int judge_round(struct search *s, int round)
{
	int n = 0, rc = 0;
	int *idx = xcalloc((size_t)s->n_cands + 1, sizeof *idx);
	for (int i = 0; i < s->n_cands; i++)
		if (s->cands[i].round == round && !s->cands[i].evaluated)
			idx[n++] = i;
	if (!n) {
		free(idx);
		return 0;
	}
	struct compile_job *jobs = xcalloc((size_t)n, sizeof *jobs);
	char **paths = xcalloc((size_t)n, sizeof *paths);
	char **banned = xcalloc((size_t)n, sizeof *banned);  /* the library policy's objections */
	for (int j = 0; j < n; j++) {
		struct cand_row *c = &s->cands[idx[j]];
		paths[j] = xasprintf("%s/c%lld.cu", s->work, (long long)c->id);
		if (!c->source && !(c->source = store_candidate_source(s->db, c->id))) {
			rc = -1;
			goto out;
		}
		if (!s->o->eval.allow_libraries)
			policy_violation(c->source, &banned[j]);
		if (util_write_file(paths[j], c->source, strlen(c->source))) {
			rc = error("cannot write candidate sources to %s (disk full?); the run is stored and can be resumed",
				   s->work);
			goto out;
		}
		/* The store keeps it: memory stays flat over long runs. */
		free(c->source);
		c->source = NULL;
		jobs[j].source = paths[j];
	}
	search_progress(s, false, "round %d: compiling %d candidates", round, n);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct compiler comp = { .jobs = jobs, .n = n,
				 .opts = { .arch = s->arch, .lock = &lock, .cond = &cond } };
	/* Leave two cores to the worker, so nvcc does not disturb the timings. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	comp.opts.jobs = cpus > 3 ? (int)cpus - 2 : 1;
	pthread_t tid;
	bool threaded = pthread_create(&tid, NULL, compile_thread, &comp) == 0;
	if (!threaded)
		compile_thread(&comp);
	for (int j = 0; j < n; j++) {
		struct cand_row *c = &s->cands[idx[j]];
		double wait0 = util_now();
		pthread_mutex_lock(&lock);
		while (!jobs[j].done)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		s->compile_s += util_now() - wait0;  /* the GPU waited for nvcc */
		if (s->o->max_minutes > 0 && util_now() - s->t0 > s->o->max_minutes * 60) {
			search_progress(s, true, "wall-clock budget reached; the run can be resumed");
			s->stopped = true;
			break;
		}
		struct eval_result res;
		eval_result_init(&res);
		if (banned[j]) {
			eval_result_policy(&res, banned[j]);
		} else if (!jobs[j].ok) {
			eval_result_compile_error(&res, jobs[j].timed_out, jobs[j].log);
		} else if (s->o->dry_run) {
			res.detail = xstrdup("dry run: compiled, not judged");
		} else {
			double g0 = util_now();
			if (evaluator_run(s->ev, jobs[j].so_path, &res)) {
				rc = error("candidate %lld: %s", (long long)c->id, res.detail ? res.detail : "evaluation failed");
				eval_result_release(&res);
				goto joined;
			}
			s->gpu_s += util_now() - g0;
		}
		struct eval_report rep = { .problem = &s->p, .candidate = paths[j], .arch = s->arch,
					   .opts = &s->o->eval, .result = &res, .gpu = &s->gpu,
					   .baseline = &s->base, .ceilings = s->have_ceil ? &s->ceil : NULL };
		report_derive(&rep);
		struct eval_row e;
		fill_eval_row(s, &res, &rep, jobs[j].seconds, &e);
		if (s->o->dry_run && jobs[j].ok && !banned[j])
			e.verdict = "not_run";
		if (store_eval_put(s->db, c->id, &e)) {
			eval_result_release(&res);
			rc = -1;
			goto joined;
		}
		c->evaluated = true;
		free(c->verdict);
		free(c->detail);
		c->verdict = xstrdup(e.verdict);
		c->detail = xstrdup(res.detail ? res.detail : "");
		c->median_ms = res.timed && res.verdict == VERDICT_CORRECT ? res.time.median_ms : 0;
		c->pct_eager = rep.pct_eager;
		c->pct_floor = rep.pct_floor;
		s->judged++;
		const struct cand_row *b = best(s, round);
		if (s->o->dry_run)
			search_progress(s, false, "round %d/%d: compiled %d/%d (#%lld %s)", round, s->run.rounds,
				 j + 1, n, (long long)c->id, e.verdict);
		else
			search_progress(s, false, "round %d/%d: judged %d/%d (#%lld %s) | best %.4f ms = %.0f%% of eager, %.0f%% of floor",
				 round, s->run.rounds, j + 1, n, (long long)c->id, e.verdict,
				 b ? b->median_ms : 0, b ? b->pct_eager : 0, b ? b->pct_floor : 0);
		eval_result_release(&res);
	}
	const struct cand_row *b = best(s, round);
	if (s->o->dry_run)
		search_progress(s, true, "round %d/%d done: %d candidates compiled (dry run)", round, s->run.rounds, n);
	else
		search_progress(s, true, "round %d/%d done: %d candidates; best %.4f ms = %.0f%% of PyTorch eager, %.0f%% of the floor",
			 round, s->run.rounds, n, b ? b->median_ms : 0, b ? b->pct_eager : 0, b ? b->pct_floor : 0);
joined:
	if (threaded) {
		pthread_join(tid, NULL);
		threaded = false;
	}
	if (comp.rc)
		rc = -1;
out:
	for (int j = 0; j < n; j++) {
		compile_job_release(&jobs[j]);
		free(paths[j]);
		free(banned[j]);
	}
	free(banned);
	free(paths);
	free(jobs);
	free(idx);
	return rc;
}

/* The proposer's view of every candidate (history) and of the seeds. */
struct known *search_knowns(struct search *s)
{
	struct known *k = xcalloc((size_t)s->n_cands + 1, sizeof *k);
	for (int i = 0; i < s->n_cands; i++) {
		const struct cand_row *c = &s->cands[i];
		struct known *x = &k[i];
		x->id = c->id;
		x->round = c->round;
		x->tpl = *c->template_name ? template_find(s->tpls, s->n_tpls, c->template_name) : NULL;
		if (x->tpl && genome_parse(&x->genome, x->tpl, c->knobs))
			x->tpl = NULL;  /* a template changed under a stored run: treat as hand-written */
		/* A dry run judges nothing: what compiled may seed the next round. */
		x->correct = search_is_correct(c) || (s->o->dry_run && c->evaluated && !strcmp(c->verdict, "not_run"));
		x->median_ms = c->median_ms;
		x->pct_floor = c->pct_floor;
		x->pct_eager = c->pct_eager;
		x->idea = c->idea;
		const struct idea_row *idea = c->idea ? search_find_idea(s, c->idea) : NULL;
		x->idea_catalog = idea ? idea->catalog_id : "";
		x->idea_category = idea ? idea->category : "";
		const struct cand_row *parent = c->parent1 ? search_find_cand(s, c->parent1) : NULL;
		x->parent_ms = parent && search_is_correct(parent) ? parent->median_ms : 0;
	}
	return k;
}

static int cmp_by_time(const void *a, const void *b)
{
	const struct known *x = *(const struct known *const *)a, *y = *(const struct known *const *)b;
	return (x->median_ms > y->median_ms) - (x->median_ms < y->median_ms);
}

/* The best `keep` correct candidates, at most half of them (rounded up) of
 * any one template, so that one lineage cannot crowd out the others. */
int search_pick_seeds(struct search *s, struct known *k, const struct known **seeds)
{
	int n = 0, keep = s->run.keep;
	const struct known **sorted = xcalloc((size_t)s->n_cands + 1, sizeof *sorted);
	for (int i = 0; i < s->n_cands; i++)
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

/* Writes, stores and keeps the ideas and candidates of `round`. */
static int propose_round(struct search *s, int round)
{
	int rc = 0;
	struct known *k = search_knowns(s);
	const struct known **seeds = xcalloc((size_t)s->run.keep + 1, sizeof *seeds);
	int n_seeds = search_pick_seeds(s, k, seeds);
	int n_tried = s->n_ideas;  /* add_idea grows n_ideas below */
	char **tried = xcalloc((size_t)n_tried + 1, sizeof *tried);
	for (int i = 0; i < n_tried; i++)
		tried[i] = !strcmp(s->ideas[i].catalog_id, "recombine")
			? xasprintf("recombine:%lld", (long long)(s->ideas[i].parent1 * 100003 + s->ideas[i].parent2))
			: xasprintf("%s:%lld", s->ideas[i].catalog_id, (long long)s->ideas[i].parent1);
	int n_seen = 0;
	struct genome *seen = xcalloc((size_t)s->n_cands + 1, sizeof *seen);
	for (int i = 0; i < s->n_cands; i++)
		if (k[i].tpl)
			seen[n_seen++] = k[i].genome;
	struct propose_ctx ctx = {
		.problem = s->p.op, .family = s->p.family, .bound = s->roof.bound,
		.floor_ms = s->roof.floor_ms, .eager_ms = s->base.eager.median_ms,
		.templates = s->tpls, .n_templates = s->n_tpls, .catalog = s->catalog,
		.n_catalog = s->n_catalog, .history = k, .n_history = s->n_cands,
		.tried = (const char *const *)tried, .n_tried = n_tried, .rng = &s->rng,
		.strict = s->o->eval.tolerance == TOL_STRICT,
	};
	struct proposal *props = xcalloc((size_t)s->run.ideas + 1, sizeof *props);
	int n_props = n_seeds ? propose_playbook(&ctx, seeds, n_seeds, s->run.ideas, props) : 0;
	if (!n_seeds)
		search_progress(s, true, "round %d: no correct kernel to build on; nothing to propose", round);
	struct genome *real = xcalloc((size_t)s->run.impls + 1, sizeof *real);
	for (int i = 0; i < n_props && !rc; i++) {
		struct proposal *p = &props[i];
		struct idea_row idea = { .round = round, .catalog_id = xstrdup(p->catalog_id),
					 .category = xstrdup(p->category), .text = xstrdup(p->text),
					 .parent1 = p->parent1->id, .parent2 = p->parent2 ? p->parent2->id : 0 };
		int64_t parent1 = idea.parent1, parent2 = idea.parent2;
		if (search_add_idea(s, &idea)) {
			idea_row_release(&idea);
			rc = -1;
			break;
		}
		int64_t idea_id = s->ideas[s->n_ideas - 1].id;
		debug("idea %lld [%s] %s", (long long)idea_id, p->category, p->text);
		int n_real = realize_playbook(p, s->run.impls, seen, n_seen, &s->rng, real);
		for (int r = 0; r < n_real && !rc; r++) {
			seen = xrealloc(seen, (size_t)(n_seen + 1) * sizeof *seen);
			seen[n_seen++] = real[r];
			struct cand_row c = { .round = round, .idea = idea_id, .parent1 = parent1,
					      .parent2 = parent2, .origin = xstrdup("playbook"),
					      .template_name = xstrdup(real[r].tpl->name),
					      .knobs = genome_knobs_str(&real[r]),
					      .source = genome_realize(&real[r], s->p.defines) };
			rc = search_add_candidate(s, &c);
			cand_row_release(&c);
		}
	}
	search_progress(s, true, "round %d: %d ideas from %d seeds", round, n_props, n_seeds);
	for (int i = 0; i < n_props; i++)
		proposal_release(&props[i]);
	free(props);
	free(real);
	free(seen);
	for (int i = 0; i < n_tried; i++)
		free(tried[i]);
	free(tried);
	free(seeds);
	free(k);
	return rc;
}

static int load_history(struct search *s)
{
	if (store_candidates_of_run(s->db, s->run.id, &s->cands, &s->n_cands) ||
	    store_ideas_of_run(s->db, s->run.id, &s->ideas, &s->n_ideas))
		return -1;
	s->cap_cands = s->n_cands;
	s->cap_ideas = s->n_ideas;
	for (int i = 0; i < s->n_cands; i++)
		if (s->cands[i].evaluated) {
			free(s->cands[i].source);
			s->cands[i].source = NULL;
		}
	return 0;
}

/* The summary: trajectory, ideas by category, the winner's lineage. */
static char *summary(struct search *s, const struct cand_row *w, const struct search_outcome *out)
{
	struct buf b;
	buf_init(&b, 16u << 20);
	char date[32];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	buf_printf(&b, "# kbreed run %lld: %s\n\n", (long long)s->run.id, s->p.name);
	buf_printf(&b, "- date: %s; GPU: %s (%s); proposer: %s\n", date, s->gpu.name, s->arch, s->run.proposer);
	buf_printf(&b, "- rounds %d, ideas %d per round, %d realisations each, %d seeds kept; tolerance %s; seed %d\n",
		   s->run.rounds, s->run.ideas, s->run.impls, s->run.keep, s->run.tolerance, s->run.seed);
	buf_printf(&b, "- PyTorch eager %.4f ms", s->base.eager.median_ms);
	if (s->base.has_compile)
		buf_printf(&b, ", torch.compile %.4f ms", s->base.compile.median_ms);
	buf_printf(&b, "; floor %.4f ms (%s-bound)\n", s->roof.floor_ms, s->roof.bound);
	if (w) {
		buf_printf(&b, "- **winner**: candidate #%lld, round %d: %.4f ms re-timed beside PyTorch eager %.4f ms = "
			   "**%.0f%% of PyTorch eager**", (long long)w->id, w->round, out->best_ms, out->eager_ms,
			   out->pct_eager);
		if (out->compile_ms > 0)
			buf_printf(&b, ", %.0f%% of torch.compile", out->pct_compile);
		buf_printf(&b, ", %.0f%% of the floor\n", out->pct_floor);
		buf_printf(&b, "- the winner's values: strict tolerance %s, crfm tolerance %s (max abs err %.3g, "
			   "max rel err %.3g)%s\n", out->pass_strict ? "passed" : "**failed**",
			   out->pass_crfm ? "passed" : "**failed**", out->max_abs_err, out->max_rel_err,
			   out->pass_crfm && !out->pass_strict
				   ? "; **it passes only the loose crfm tolerance: its arithmetic is less precise"
				     " than the model's dtype (e.g. TF32 for fp32)**" : "");
	} else {
		buf_printf(&b, "- no correct kernel was found\n");
	}
	if (s->use_llm) {
		long tokens = 0;
		double cost = 0;
		store_llm_totals(s->db, s->run.id, &tokens, &cost);
		buf_printf(&b, "- LLM: %ld tokens in and out, $%.4f by the price table\n", tokens, cost);
	}
	double wall = util_now() - s->t0;
	buf_printf(&b, "- this invocation: %d candidates judged in %.1f min; %.0f candidates per GPU-hour; "
		   "GPU idle %.0f%% of the time (compiling %.0f s, PyTorch and references the rest)\n\n",
		   s->judged, wall / 60, s->gpu_s > 0 ? s->judged / (s->gpu_s / 3600) : 0,
		   wall > 0 ? 100 * (1 - s->gpu_s / wall) : 0, s->compile_s);

	buf_printf(&b, "## Trajectory\n\n| round | candidates | correct | best this round (ms) | best so far (ms) | %% of eager | idea that got there |\n|---|---|---|---|---|---|---|\n");
	for (int r = 0; r <= s->run.rounds; r++) {
		int n = 0, ok = 0;
		const struct cand_row *br = NULL;
		for (int i = 0; i < s->n_cands; i++) {
			const struct cand_row *c = &s->cands[i];
			if (c->round != r)
				continue;
			n++;
			if (search_is_correct(c)) {
				ok++;
				if (!br || c->median_ms < br->median_ms)
					br = c;
			}
		}
		if (!n)
			continue;
		const struct cand_row *bs = best(s, r);
		const struct idea_row *idea = bs && bs->idea ? search_find_idea(s, bs->idea) : NULL;
		char round_best[32] = "-";
		if (br)
			snprintf(round_best, sizeof round_best, "%.4f", br->median_ms);
		buf_printf(&b, "| %d | %d | %d | %s | %.4f | %.0f%% | %s |\n", r, n, ok, round_best,
			   bs ? bs->median_ms : 0, bs ? bs->pct_eager : 0,
			   idea ? idea->text : bs ? bs->origin : "-");
	}

	buf_printf(&b, "\n## Ideas by category\n\n| category | ideas | candidates | correct | best speed-up over parent |\n|---|---|---|---|---|\n");
	for (int cat = 0; cat < 6; cat++) {
		int ideas = 0, n = 0, ok = 0;
		double gain = 0;
		for (int i = 0; i < s->n_ideas; i++)
			ideas += !strcmp(s->ideas[i].category, propose_categories[cat]);
		for (int i = 0; i < s->n_cands; i++) {
			const struct cand_row *c = &s->cands[i];
			const struct idea_row *idea = c->idea ? search_find_idea(s, c->idea) : NULL;
			if (!idea || strcmp(idea->category, propose_categories[cat]))
				continue;
			n++;
			const struct cand_row *parent = search_find_cand(s, c->parent1);
			if (search_is_correct(c)) {
				ok++;
				if (parent && search_is_correct(parent) && parent->median_ms / c->median_ms > gain)
					gain = parent->median_ms / c->median_ms;
			}
		}
		char speedup[32] = "-";
		if (gain > 0)
			snprintf(speedup, sizeof speedup, "%.2fx", gain);
		buf_printf(&b, "| %s | %d | %d | %d | %s |\n", propose_categories[cat], ideas, n, ok, speedup);
	}

	buf_printf(&b, "\n## The winner's lineage\n\n");
	for (const struct cand_row *c = w; c; c = c->parent1 ? search_find_cand(s, c->parent1) : NULL) {
		const struct idea_row *idea = c->idea ? search_find_idea(s, c->idea) : NULL;
		buf_printf(&b, "- #%lld, round %d, %s%s%s%s%s%s: %.4f ms (%.0f%% of eager, %.0f%% of floor)\n",
			   (long long)c->id, c->round, c->origin, *c->template_name ? " " : "", c->template_name,
			   *c->knobs ? " [" : "", c->knobs, *c->knobs ? "]" : "", c->median_ms, c->pct_eager,
			   c->pct_floor);
		if (idea) {
			buf_printf(&b, "  - idea (%s): %s\n", idea->category, idea->text);
			if (c->parent2)
				buf_printf(&b, "  - recombined with #%lld\n", (long long)c->parent2);
		}
	}
	return buf_detach(&b);
}

/* Writes the winner (with the ABI header beside it) and the summary. */
static int write_outputs(struct search *s, const struct cand_row *w, const char *source,
			 struct search_outcome *out)
{
	char *dir = s->o->out_dir ? xstrdup(s->o->out_dir)
				  : xasprintf("kbreed-out/%s-run%lld", s->p.name, (long long)s->run.id);
	int rc = util_mkdirs(dir);
	if (!rc && w) {
		char *header = xasprintf("%s/include/kbreed_candidate.h", home_dir()), *htext = NULL;
		size_t hlen = 0;
		char *hcopy = xasprintf("%s/kbreed_candidate.h", dir);
		if (util_read_file(header, 1u << 20, &htext, &hlen) == 0)
			rc = util_write_file(hcopy, htext, hlen);
		char *text = xasprintf(
			"// kbreed winner for %s: %.4f ms on %s = %.0f%% of PyTorch eager (%.4f ms), %.0f%% of the floor.\n"
			"// Run %lld, candidate %lld, round %d. Build it as a shared object with its ABI header beside it:\n"
			"//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_%s,code=%s -I. winner.cu -o winner.so\n"
			"// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).\n%s",
			s->p.name, out->best_ms, s->gpu.name, out->pct_eager, out->eager_ms, out->pct_floor,
			(long long)s->run.id, (long long)w->id, w->round, s->arch + 3, s->arch, source);
		out->winner_path = xasprintf("%s/winner.cu", dir);
		if (!rc)
			rc = util_write_file(out->winner_path, text, strlen(text));
		free(text);
		free(hcopy);
		free(htext);
		free(header);
	}
	if (!rc) {
		char *md = summary(s, w, out);
		out->summary_path = xasprintf("%s/summary.md", dir);
		rc = util_write_file(out->summary_path, md, strlen(md));
		free(md);
	}
	free(dir);
	return rc;
}

/* Re-times the winner beside a fresh PyTorch measurement, banks it. */
static int finish(struct search *s, struct search_outcome *out)
{
	const struct cand_row *w = best(s, s->run.rounds);
	out->run = s->run.id;
	out->floor_ms = s->roof.floor_ms;
	out->candidates = s->n_cands;
	char *source = w ? store_candidate_source(s->db, w->id) : NULL;
	if (w && !source)
		return -1;
	if (w) {
		char *path = xasprintf("%s/c%lld.cu", s->work, (long long)w->id);
		struct compile_job job = { .source = path };
		struct compile_opts co = { .arch = s->arch };
		struct baseline fresh = { 0 };
		struct eval_result res;
		eval_result_init(&res);
		search_progress(s, true, "re-timing the winner #%lld beside a fresh PyTorch measurement", (long long)w->id);
		int rc = util_write_file(path, source, strlen(source));
		if (!rc)
			rc = compile_batch(&job, 1, &co);
		if (!rc && job.ok)
			rc = bridge_baseline(&s->p, s->o->eval.reps, s->o->eval.warmup, s->o->eval.flush_mb,
					     s->o->torch_compile, &fresh);
		if (!rc && job.ok)
			rc = evaluator_run(s->ev, job.so_path, &res);
		if (!rc && job.ok && res.verdict == VERDICT_CORRECT) {
			out->winner = w->id;
			out->round_found = w->round;
			out->best_ms = res.time.median_ms;
			out->eager_ms = fresh.eager.median_ms;
			out->compile_ms = fresh.has_compile ? fresh.compile.median_ms : 0;
			out->pct_eager = out->eager_ms / out->best_ms * 100;
			out->pct_compile = out->compile_ms > 0 ? out->compile_ms / out->best_ms * 100 : 0;
			out->pct_floor = out->floor_ms > 0 ? out->floor_ms / out->best_ms * 100 : 0;
			out->pass_strict = res.pass[TOL_STRICT];
			out->pass_crfm = res.pass[TOL_CRFM];
			out->max_abs_err = res.stats.max_abs;
			out->max_rel_err = res.stats.max_rel;
		} else if (!rc) {
			warn("the winner #%lld did not hold up when re-timed: %s", (long long)w->id,
			     res.detail ? res.detail : "compile failed");
			w = NULL;
		}
		eval_result_release(&res);
		baseline_release(&fresh);
		compile_job_release(&job);
		free(path);
		if (rc) {
			free(source);
			return -1;
		}
	}
	s->run.winner = out->winner;
	s->run.final_ms = out->best_ms;
	s->run.final_eager_ms = out->eager_ms;
	free(s->run.status);
	s->run.status = xstrdup(s->o->dry_run ? "dry-run" : s->stopped ? "stopped" : "done");
	int rc = store_run_update(s->db, &s->run);
	if (!rc && w) {
		struct bank_row b = { .problem = s->p.name, .family = s->p.family,
				      .template_name = w->template_name, .knobs = w->knobs,
				      .source = source, .gpu = s->gpu.name, .median_ms = out->best_ms,
				      .pct_eager = out->pct_eager, .run = s->run.id };
		rc = store_bank_put(s->db, &b);
	}
	if (!rc)
		rc = write_outputs(s, w, source, out);
	free(source);
	return rc;
}

static void search_release(struct search *s)
{
	llm_config_release(&s->llm);
	llm_config_release(&s->llm_code);
	for (int i = 0; i < s->n_prices; i++)
		free(s->prices[i].prefix);
	free(s->prices);
	free(s->problem_source);
	evaluator_free(s->ev);
	for (int i = 0; i < s->n_cands; i++)
		cand_row_release(&s->cands[i]);
	free(s->cands);
	for (int i = 0; i < s->n_ideas; i++)
		idea_row_release(&s->ideas[i]);
	free(s->ideas);
	for (int i = 0; i < s->n_catalog; i++)
		idea_def_release(&s->catalog[i]);
	free(s->catalog);
	template_free_all(s->tpls, s->n_tpls);
	run_row_release(&s->run);
	baseline_release(&s->base);
	ceilings_release(&s->ceil);
	refset_release(&s->refs);
	gpu_info_release(&s->gpu);
	problem_release(&s->p);
	store_close(s->db);
	free(s->work);
}

int search_run(const struct search_opts *o, const char *problem_arg, struct search_outcome *out)
{
	struct search s = { .o = o, .t0 = util_now(), .tty = isatty(2) };
	llm_config_init(&s.llm);
	llm_config_init(&s.llm_code);
	proc_clean_env();  /* computed once, here, before nvcc's thread forks */
	info("candidates run %s", proc_sandbox() ? "without network (bubblewrap)"
						 : "with the network: no working bwrap here (install bubblewrap)");
	int rc = -1;
	char *path = NULL;
	memset(out, 0, sizeof *out);
	problem_init(&s.p);
	s.db = store_open(o->db_path);
	if (!s.db)
		goto out;
	if (o->resume) {
		if (store_run_get(s.db, o->resume, &s.run))
			goto out;
		if (!strcmp(s.run.status, "done")) {
			error("run %lld is finished; start a new run instead", (long long)o->resume);
			goto out;
		}
		path = xstrdup(s.run.problem_path);
	} else {
		path = problem_resolve(problem_arg);
		if (!path)
			goto out;
	}
	if (o->dry_run) {
		/* No GPU is asked for: the target comes from --arch, $KBREED_ARCH, or sm_90a. */
		const char *env = getenv("KBREED_ARCH");
		s.gpu.name = xstrdup("none (dry run)");
		s.arch = o->arch ? o->arch : env && *env ? env : "sm_90a";
		info("dry run: proposing, realising and compiling for %s; nothing is judged", s.arch);
	} else if (gpu_info_query(&s.gpu)) {
		error("kbreed run needs an NVIDIA GPU to judge kernels; none is usable here (--dry-run needs none)");
		goto out;
	} else {
		s.arch = o->arch ? o->arch : compile_arch_for(s.gpu.cc_major, s.gpu.cc_minor);
	}
	if (bridge_describe(path, &s.p) || template_load_all(&s.tpls, &s.n_tpls) ||
	    propose_load_catalog(&s.catalog, &s.n_catalog))
		goto out;
	if (o->llm) {
		if (llm_config_parse(o->llm, o->llm_base_url, &s.llm) ||
		    llm_config_parse(o->llm_code ? o->llm_code : o->llm, o->llm_base_url, &s.llm_code))
			goto out;
		for (struct llm_config *c = &s.llm; c; c = c == &s.llm ? &s.llm_code : NULL) {
			c->temperature = o->temperature;
			c->max_tokens = o->max_output_tokens;
			if (o->llm_timeout_s > 0)
				c->timeout_s = o->llm_timeout_s;
			if (o->reasoning_effort)
				c->reasoning_effort = xstrdup(o->reasoning_effort);
		}
		s.use_llm = true;
		if (util_read_file(path, 4u << 20, &s.problem_source, NULL))
			goto out;
	}
	if (o->resume && strcmp(s.run.problem_sha, s.p.sha256)) {
		error("%s changed since run %lld started; its results would not be comparable", path,
		      (long long)o->resume);
		goto out;
	}
	if (o->resume && !strcmp(s.run.status, "dry-run")) {
		error("run %lld was a dry run; start a new run instead", (long long)o->resume);
		goto out;
	}
	if (!o->dry_run) {
		if (bridge_reference(&s.p, o->eval.sets, o->eval.seed, "cuda", &s.refs))
			goto out;
		s.have_ceil = bridge_ceilings(s.gpu.name, &s.ceil) == 0;
		info("timing PyTorch on %s", s.gpu.name);
		if (bridge_baseline(&s.p, o->eval.reps, o->eval.warmup, o->eval.flush_mb, o->torch_compile, &s.base))
			goto out;
	}
	roofline_compute(&s.p, s.have_ceil ? &s.ceil : NULL, &s.roof);
	if (!o->resume) {
		s.run = (struct run_row){
			.problem = xstrdup(s.p.name), .problem_path = xstrdup(path),
			.problem_sha = xstrdup(s.p.sha256),
			.proposer = o->llm ? xasprintf("llm %s", o->llm) : xstrdup("playbook"),
			.rounds = o->rounds, .ideas = o->ideas, .impls = o->impls, .keep = o->keep,
			.seed = o->seed, .tolerance = xstrdup(tolerance_name(o->eval.tolerance)),
			.gpu = xstrdup(s.gpu.name), .arch = xstrdup(s.arch),
			.eager_ms = s.base.eager.median_ms,
			.compile_ms = s.base.has_compile ? s.base.compile.median_ms : 0,
			.status = xstrdup(o->dry_run ? "dry-run" : "running"),
		};
		if (store_run_create(s.db, &s.run))
			goto out;
		info("run %lld: %s, %d rounds x %d ideas x %d realisations (resume with --resume %lld)",
		     (long long)s.run.id, s.p.name, o->rounds, o->ideas, o->impls, (long long)s.run.id);
	} else {
		if (load_history(&s))
			goto out;
		info("resuming run %lld: %d candidates and %d ideas stored", (long long)s.run.id, s.n_cands,
		     s.n_ideas);
	}
	char *cache = util_cache_dir();
	s.work = xasprintf("%s/runs/%lld", cache, (long long)s.run.id);
	free(cache);
	if (util_mkdirs(s.work))
		goto out;
	s.rng = (uint64_t)s.run.seed * 0x9e3779b97f4a7c15ull + (uint64_t)s.n_ideas + 1;
	struct eval_opts eo = o->eval;
	eo.tolerance = tolerance_parse(s.run.tolerance) == TOL_CRFM ? TOL_CRFM : TOL_STRICT;
	if (!o->dry_run && !(s.ev = evaluator_new(&s.p, &s.refs, &eo)))
		goto out;

	int last = -1;
	for (int i = 0; i < s.n_cands; i++)
		if (s.cands[i].round > last)
			last = s.cands[i].round;
	if (last < 0) {
		if (seed_round0(&s))
			goto out;
		last = 0;
	}
	if (judge_round(&s, last))
		goto out;
	for (int r = last + 1; r <= s.run.rounds; r++) {
		if (over_budget(&s)) {
			search_progress(&s, true, "budget reached before round %d; the run can be resumed", r);
			s.stopped = true;
			break;
		}
		if ((s.use_llm ? search_llm_round(&s, r) : propose_round(&s, r)) || judge_round(&s, r))
			goto out;
		for (int a = 1; s.use_llm && a <= o->llm_repairs && !s.stopped; a++)
			if (search_llm_repair(&s, r, a) || judge_round(&s, r))
				goto out;
		if (s.stopped)
			break;
	}
	rc = finish(&s, out);
out:
	free(path);
	search_release(&s);
	return rc;
}
