/*
 * search.c - the loop of the seed article, small on purpose: round 0 from
 * the naive kernel and the bank (population.c), then each round a proposer
 * writes ideas and candidates (proposer.h), the judge compiles and judges
 * them (judge.h), and the population records every outcome as it comes. At
 * the end the winner is re-timed beside a fresh PyTorch measurement, banked,
 * and written out with a summary of how it was found.
 *
 * All state lives in the store, so `--resume` rebuilds the population from
 * the database and carries on: candidates without an evaluation are judged,
 * then rounds continue from the last one.
 */
#define _GNU_SOURCE
#include "search.h"

#include "home.h"
#include "judge.h"
#include "log.h"
#include "population.h"
#include "proposer.h"
#include "store.h"
#include "template.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	o->adaptive = true;
	eval_opts_defaults(&o->eval);
}

void search_outcome_release(struct search_outcome *o)
{
	free(o->problem);
	free(o->winner_path);
	free(o->summary_path);
	winner_facts_release(&o->facts);
	memset(o, 0, sizeof *o);
}

/* One run of the loop. */
struct search {
	const struct search_opts *o;
	struct store *db;
	struct judge j;              /* the problem, the GPU, the references, PyTorch */
	struct population pop;       /* every candidate and idea of the run */
	struct proposer prop;        /* the playbook or a model */
	struct proposer_env env;     /* what the proposer sees */
	struct template *tpls;       /* the playbook's templates */
	int n_tpls;
	struct run_row run;
	char *work;                  /* <cache>/runs/<uid>: candidate sources for nvcc (by
				      * uid: runs of many databases share a cache) */
	uint64_t rng;
	double t0;                   /* when this invocation started */
	bool stopped;                /* a budget ended the run early */
	/* Where the GPU's idle time went, besides what the judge counts
	 * (waiting for nvcc, for the references and PyTorch): seconds. */
	double propose_s;            /* proposers writing ideas and candidates (round 0 too) */
	double store_s;              /* recording outcomes in the store */
	double retime_s;             /* PyTorch re-timed beside the winner */
};

/* A proposer's round (attempt 0) or its repair attempt of a round, its time
 * counted as proposing. Proposers read what the judge measured (the floor,
 * the ceilings, PyTorch), so the session is prepared first. */
static enum proposer_status propose(struct search *s, int round, int attempt)
{
	if (judge_prepare(&s->j))
		return PROPOSER_FAILED;
	double t0 = util_now();
	enum proposer_status ps = attempt ? s->prop.ops->repair(s->prop.self, &s->env, round, attempt)
					  : s->prop.ops->round(s->prop.self, &s->env, round);
	s->propose_s += util_now() - t0;
	return ps;
}

/* A new run's row names PyTorch eager's time at its start, known once the
 * session is prepared (it is made while round 0 compiles); torch.compile's
 * comes with the winner's re-timing (finish). */
static void note_baseline(struct search *s)
{
	if (s->run.eager_ms > 0 || !judge_prepared(&s->j) || !s->j.have_base || !s->run.id)
		return;
	s->run.eager_ms = s->j.base.eager.median_ms;
	if (store_run_update(s->db, &s->run))
		warn("run %lld: PyTorch's time could not be stored with the run", (long long)s->run.id);
}

/* Whether a kernel of round 0 is still to be judged. */
static bool round0_waits(const struct search *s)
{
	for (int i = 0; i < s->pop.n_cands; i++)
		if (s->pop.cands[i].round == 0 && !s->pop.cands[i].evaluated)
			return true;
	return false;
}

static bool out_of_time(const struct search *s)
{
	return s->o->max_minutes > 0 && util_now() - s->t0 > s->o->max_minutes * 60;
}

static bool over_budget(const struct search *s)
{
	return out_of_time(s) || (s->o->max_candidates > 0 && s->pop.n_cands >= s->o->max_candidates);
}

/* Compiles and judges every candidate of a round that has no evaluation
 * yet, in the population's order (round 0: the bank and the templates
 * before the naive kernel; with defer_naive, the naive kernel not at all
 * while anything else of round 0 is to be judged), recording each outcome
 * as it comes. */
static int judge_round(struct search *s, int round, bool defer_naive)
{
	int rc = 0;
	int *idx = xcalloc((size_t)s->pop.n_cands + 1, sizeof *idx);
	int n = population_to_judge(&s->pop, round, defer_naive, idx);
	char **paths = xcalloc((size_t)n + 1, sizeof *paths);
	struct judge_batch *batch = NULL;
	if (!n)
		goto out;
	for (int k = 0; k < n; k++) {
		struct cand_row *c = &s->pop.cands[idx[k]];
		paths[k] = xasprintf("%s/c%lld.cu", s->work, (long long)c->id);
		if (!c->source && !(c->source = store_candidate_source(s->db, c->id))) {
			rc = -1;
			goto out;
		}
		if (util_write_file(paths[k], c->source, strlen(c->source))) {
			rc = error("cannot write candidate sources to %s (disk full?); the run is stored and can be resumed",
				   s->work);
			goto out;
		}
		/* The store keeps it: memory stays flat over long runs. */
		free(c->source);
		c->source = NULL;
	}
	if (!judge_prepared(&s->j))
		info("round %d: compiling %d candidates while the references and PyTorch's times are made", round, n);
	progress(false, "round %d: compiling %d candidates", round, n);
	batch = judge_batch_start(&s->j, (const char *const *)paths, n);
	int done = 0;
	for (;; done++) {
		struct judgement o;
		int k;
		if (out_of_time(s)) {
			progress(true, "wall-clock budget reached; the run can be resumed");
			s->stopped = true;
			break;
		}
		int got = judge_batch_next(batch, &k, &o);
		if (got <= 0) {
			rc = got;
			break;
		}
		struct cand_row *c = &s->pop.cands[idx[k]];
		double t0 = util_now();
		rc = population_record(&s->pop, c, &o, &s->j);
		judgement_release(&o);
		note_baseline(s);
		s->store_s += util_now() - t0;
		if (rc)
			break;
		const struct cand_row *b = population_best(&s->pop, round);
		if (s->o->dry_run)
			progress(false, "round %d/%d: compiled %d/%d (#%lld %s)", round, s->run.rounds, done + 1, n,
				 (long long)c->id, verdict_name(c->verdict));
		else
			progress(false, "round %d/%d: judged %d/%d (#%lld %s) | best %.4f ms = %.0f%% of eager, %.0f%% of floor",
				 round, s->run.rounds, done + 1, n, (long long)c->id, verdict_name(c->verdict),
				 b ? b->median_ms : 0, b ? b->pct_eager : 0, b ? b->pct_floor : 0);
	}
	if (rc)
		goto out;
	const struct cand_row *b = population_best(&s->pop, round);
	if (done < n && s->stopped)
		progress(true, "round %d/%d stopped by the wall-clock budget: %d of %d candidates %s; best %.4f ms",
			 round, s->run.rounds, done, n, s->o->dry_run ? "compiled" : "judged", b ? b->median_ms : 0);
	else if (s->o->dry_run)
		progress(true, "round %d/%d done: %d candidates compiled (dry run)", round, s->run.rounds, n);
	else
		progress(true, "round %d/%d done: %d candidates; best %.4f ms = %.0f%% of PyTorch eager, %.0f%% of the floor",
			 round, s->run.rounds, n, b ? b->median_ms : 0, b ? b->pct_eager : 0, b ? b->pct_floor : 0);
out:
	if (judge_batch_end(batch))
		rc = -1;
	for (int k = 0; k < n; k++)
		free(paths[k]);
	free(paths);
	free(idx);
	return rc;
}

/* The summary: trajectory, ideas by category, the winner's lineage. */
static char *summary(struct search *s, const struct cand_row *w, const struct search_outcome *out)
{
	struct buf b;
	buf_init(&b, 16u << 20);
	char date[32];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	buf_printf(&b, "# kbreed run %lld: %s\n\n", (long long)s->run.id, s->j.p.name);
	if (judge_gpus(&s->j) > 1)
		buf_printf(&b, "- date: %s; GPU: %d x %s (%s), every time below on that model; proposer: %s\n", date,
			   judge_gpus(&s->j), s->j.gpu.name, s->j.arch, s->run.proposer);
	else
		buf_printf(&b, "- date: %s; GPU: %s (%s); proposer: %s\n", date, s->j.gpu.name, s->j.arch, s->run.proposer);
	buf_printf(&b, "- rounds %d, ideas %d per round, %d realisations each, %d seeds kept; tolerance %s; seed %d\n",
		   s->run.rounds, s->run.ideas, s->run.impls, s->run.keep, s->run.tolerance, s->run.seed);
	buf_printf(&b, "- PyTorch eager %.4f ms", s->j.base.eager.median_ms);
	if (s->j.base.has_eager_fp32)
		buf_printf(&b, " (its defaults: cuDNN in TF32; %.4f ms with TF32 off, the fp32 arithmetic "
			   "the strict tolerance asks for)", s->j.base.eager_fp32.median_ms);
	if (out->compile_ms > 0)   /* measured beside the winner's re-timing */
		buf_printf(&b, ", torch.compile %.4f ms", out->compile_ms);
	buf_printf(&b, "; floor %.4f ms (%s-bound)\n", s->j.roof.floor_ms, s->j.roof.bound);
	if (w) {
		buf_printf(&b, "- **winner**: candidate #%lld, round %d: %.4f ms re-timed beside PyTorch eager %.4f ms%s = "
			   "**%.0f%% of PyTorch eager**", (long long)w->id, w->round, out->best_ms, out->eager_ms,
			   out->eager_from_start ? " (timed at the session's start: it could not be timed again)" : "",
			   out->pct_eager);
		if (out->eager_fp32_ms > 0)
			buf_printf(&b, ", %.0f%% of eager with TF32 off (%.4f ms)", out->pct_eager_fp32,
				   out->eager_fp32_ms);
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
	char *line = s->prop.ops->summary ? s->prop.ops->summary(s->prop.self, &s->env) : NULL;
	if (line)
		buf_printf(&b, "- %s\n", line);
	free(line);
	double wall = util_now() - s->t0;
	double busy = judge_gpu_seconds(&s->j), gpu_wall = wall * judge_gpus(&s->j);
	double idle = gpu_wall > busy ? gpu_wall - busy : 0;
	double named = s->j.wait_s + s->j.prepare_wait_s + s->retime_s + s->propose_s + s->store_s;
	if (s->o->dry_run)
		buf_printf(&b, "- this invocation: %d candidates compiled in %.1f min (a dry run: none judged)", s->j.judged,
			   wall / 60);
	else
		buf_printf(&b, "- this invocation: %d candidates judged in %.1f min; %.0f candidates per GPU-hour",
			   s->j.judged, wall / 60, busy > 0 ? s->j.judged / (busy / 3600) : 0);
	if (s->o->adaptive && !s->o->dry_run)
		buf_printf(&b, "; %d stopped timing early (slower than %.1fx the best; every one checked in full)",
			   s->j.early, JUDGE_EARLY_FACTOR);
	buf_printf(&b, "\n");
	if (!s->o->dry_run)
		buf_printf(&b, "- GPU busy %.0f%% (judging %.1f s of %.1f s); idle share %.0f%%: waiting for nvcc %.1f s, "
			   "for the references and PyTorch %.1f s, proposing %.1f s, the store %.1f s, other %.1f s\n",
			   gpu_wall > 0 ? 100 * busy / gpu_wall : 0, busy, gpu_wall, gpu_wall > 0 ? 100 * idle / gpu_wall : 0,
			   s->j.wait_s, s->j.prepare_wait_s + s->retime_s, s->propose_s, s->store_s,
			   idle > named ? idle - named : 0);
	/* Which of the two sets the pace: nvcc making candidates (so many at
	 * once) or the GPUs judging them. */
	if (s->j.judged > 0) {
		if (!s->j.compiled) {
			buf_printf(&b, "- nvcc: nothing compiled, every candidate was in the cache\n");
		} else {
			double each = s->j.nvcc_s / s->j.compiled;
			double made = each / (s->j.compile_jobs > 0 ? s->j.compile_jobs : 1);
			double judged = busy / s->j.judged / judge_gpus(&s->j);
			buf_printf(&b, "- nvcc: %d candidates compiled (%d of them several to one nvcc), %.1f s each, "
				   "%d at once: one every %.2f s", s->j.compiled, s->j.grouped, each, s->j.compile_jobs, made);
			if (!s->o->dry_run)
				buf_printf(&b, "; the GPU%s judged one every %.2f s%s", judge_gpus(&s->j) > 1 ? "s" : "", judged,
					   made > judged ? ": the compiler, not the GPU, set this run's pace" : "");
			buf_printf(&b, "\n");
		}
	}
	buf_printf(&b, "\n");

	/* judged: candidates with a verdict; a wall-clock budget can end a
	 * round before every one of its candidates was judged. */
	/* The last column names the best so far and the idea that made it,
	 * once: a round that did not beat it says so. */
	buf_printf(&b, "## Trajectory\n\n| round | candidates | judged | correct | best this round (ms) | best so far (ms) | %% of eager | the best so far, and the idea that got there |\n|---|---|---|---|---|---|---|---|\n");
	int64_t prev_best = 0;
	int prev_round = -1;
	for (int r = 0; r <= s->run.rounds; r++) {
		int n = 0, judged = 0, ok = 0;
		const struct cand_row *br = NULL;
		for (int i = 0; i < s->pop.n_cands; i++) {
			const struct cand_row *c = &s->pop.cands[i];
			if (c->round != r)
				continue;
			n++;
			judged += c->evaluated;
			if (cand_is_correct(c)) {
				ok++;
				if (!br || c->median_ms < br->median_ms)
					br = c;
			}
		}
		if (!n)
			continue;
		const struct cand_row *bs = population_best(&s->pop, r);
		const struct idea_row *idea = bs && bs->idea ? population_idea(&s->pop, bs->idea) : NULL;
		char round_best[32] = "-";
		if (br)
			snprintf(round_best, sizeof round_best, "%.4f", br->median_ms);
		buf_printf(&b, "| %d | %d | %d | %d | %s | %.4f | %.0f%% | ", r, n, judged, ok, round_best,
			   bs ? bs->median_ms : 0, bs ? bs->pct_eager : 0);
		if (!bs)
			buf_printf(&b, "- |\n");
		else if (bs->id == prev_best)
			buf_printf(&b, "#%lld, as in round %d |\n", (long long)bs->id, prev_round);
		else
			buf_printf(&b, "#%lld: %s |\n", (long long)bs->id, idea ? idea->text : bs->origin);
		if (bs && bs->id != prev_best) {
			prev_best = bs->id;
			prev_round = r;
		}
	}

	buf_printf(&b, "\n## Ideas by category\n\n| category | ideas | candidates | correct | best speed-up over parent |\n|---|---|---|---|---|\n");
	for (int cat = 0; cat < 6; cat++) {
		int ideas = 0, n = 0, ok = 0;
		double gain = 0;
		for (int i = 0; i < s->pop.n_ideas; i++)
			ideas += !strcmp(s->pop.ideas[i].category, idea_categories[cat]);
		for (int i = 0; i < s->pop.n_cands; i++) {
			const struct cand_row *c = &s->pop.cands[i];
			const struct idea_row *idea = c->idea ? population_idea(&s->pop, c->idea) : NULL;
			if (!idea || strcmp(idea->category, idea_categories[cat]))
				continue;
			n++;
			const struct cand_row *parent = population_cand(&s->pop, c->parent1);
			if (cand_is_correct(c)) {
				ok++;
				if (parent && cand_is_correct(parent) && parent->median_ms / c->median_ms > gain)
					gain = parent->median_ms / c->median_ms;
			}
		}
		char speedup[32] = "-";
		if (gain > 0)
			snprintf(speedup, sizeof speedup, "%.2fx", gain);
		buf_printf(&b, "| %s | %d | %d | %d | %s |\n", idea_categories[cat], ideas, n, ok, speedup);
	}

	buf_printf(&b, "\n## The winner's lineage\n\n");
	for (const struct cand_row *c = w; c; c = c->parent1 ? population_cand(&s->pop, c->parent1) : NULL) {
		const struct idea_row *idea = c->idea ? population_idea(&s->pop, c->idea) : NULL;
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
				  : xasprintf("kbreed-out/%s-run%lld", s->j.p.name, (long long)s->run.id);
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
			s->j.p.name, out->best_ms, s->j.gpu.name, out->pct_eager, out->eager_ms, out->pct_floor,
			(long long)s->run.id, (long long)w->id, w->round, s->j.arch + 3, s->j.arch, source);
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
	const struct cand_row *w = population_best(&s->pop, s->run.rounds);
	out->run = s->run.id;
	out->problem = xstrdup(s->j.p.name);
	out->stopped = s->stopped;
	out->candidates = s->pop.n_cands;
	out->early = s->j.early;
	if (!s->o->dry_run && judge_prepare(&s->j))
		return -1;
	out->floor_ms = s->j.roof.floor_ms;
	out->bound = out->floor_ms > 0 ? s->j.roof.bound : NULL;
	char *source = w ? store_candidate_source(s->db, w->id) : NULL;
	if (w && !source)
		return -1;
	if (w) {
		char *path = xasprintf("%s/c%lld.cu", s->work, (long long)w->id);
		struct baseline fresh = { 0 };
		struct judgement o = { 0 };
		eval_result_init(&o.res);
		progress(true, "re-timing the winner #%lld beside a fresh PyTorch measurement", (long long)w->id);
		int rc = util_write_file(path, source, strlen(source));
		double t0 = util_now();
		if (!rc)
			rc = judge_prepare(&s->j);
		/* Every timed call, whatever adaptive timing did in the rounds. */
		if (!rc)
			rc = judge_one_full(&s->j, path, &o);
		/* PyTorch last, with the GPU memory the workers held (inputs,
		 * references: twice the sets) given back: it makes its own. */
		judge_release_workers(&s->j);
		if (!rc && o.res.verdict == VERDICT_CORRECT && judge_fresh_baseline(&s->j, &fresh)) {
			if (!s->j.have_base) {
				rc = -1;
			} else {
				warn("PyTorch could not be timed again beside the winner; it is placed against "
				     "PyTorch's times from the session's start");
				baseline_release(&fresh);
				baseline_copy(&fresh, &s->j.base);
				out->eager_from_start = true;
			}
		}
		s->retime_s += util_now() - t0;
		if (!rc && o.res.verdict == VERDICT_CORRECT) {
			out->winner = w->id;
			out->round_found = w->round;
			out->best_ms = o.res.time.median_ms;
			out->eager_ms = fresh.eager.median_ms;
			out->compile_ms = fresh.has_compile ? fresh.compile.median_ms : 0;
			out->eager_fp32_ms = fresh.has_eager_fp32 ? fresh.eager_fp32.median_ms : 0;
			out->pct_eager = out->eager_ms / out->best_ms * 100;
			out->pct_eager_fp32 = out->eager_fp32_ms > 0 ? out->eager_fp32_ms / out->best_ms * 100 : 0;
			out->pct_compile = out->compile_ms > 0 ? out->compile_ms / out->best_ms * 100 : 0;
			out->pct_floor = out->floor_ms > 0 ? out->floor_ms / out->best_ms * 100 : 0;
			out->pass_strict = o.res.pass[TOL_STRICT];
			out->pass_crfm = o.res.pass[TOL_CRFM];
			out->max_abs_err = o.res.stats.max_abs;
			out->max_rel_err = o.res.stats.max_rel;
		} else if (!rc) {
			warn("the winner #%lld did not hold up when re-timed: %s", (long long)w->id,
			     o.res.detail ? o.res.detail : "?");
			w = NULL;
		}
		judgement_release(&o);
		baseline_release(&fresh);
		free(path);
		if (rc) {
			free(source);
			return -1;
		}
	}
	/* The outputs first: a run whose winner could not be written out stays
	 * open, and --resume writes it again, rather than a finished run that
	 * lost its result. */
	int rc = write_outputs(s, w, source, out);
	if (rc) {
		error("the run's results could not be written; the run is kept open: --resume %lld writes them",
		      (long long)s->run.id);
		goto out;
	}
	s->run.winner = out->winner;
	s->run.final_ms = out->best_ms;
	s->run.final_eager_ms = out->eager_ms;
	if (out->compile_ms > 0)
		s->run.compile_ms = out->compile_ms;
	s->run.status = s->o->dry_run ? RUN_DRY_RUN : s->stopped ? RUN_STOPPED : RUN_DONE;
	if (w) {
		struct bank_row b = { .problem = s->j.p.name, .family = s->j.p.family,
				      .template_name = w->template_name, .knobs = w->knobs,
				      .source = source, .gpu = s->j.gpu.name, .median_ms = out->best_ms,
				      .pct_eager = out->pct_eager, .run = s->run.id };
		rc = store_bank_put(s->db, &b);
	}
	if (!rc)
		rc = store_run_update(s->db, &s->run);
	if (!rc && out->winner)
		rc = population_winner_facts(&s->pop, out->winner, &out->facts);
out:
	free(source);
	return rc;
}

static void search_release(struct search *s)
{
	proposer_free(&s->prop);
	population_release(&s->pop);
	template_free_all(s->tpls, s->n_tpls);
	run_row_release(&s->run);
	judge_close(&s->j);
	store_close(s->db);
	free(s->work);
}

/* The proposer the options ask for. */
static int open_proposer(struct search *s, const char *problem_path)
{
	const struct search_opts *o = s->o;
	if (!o->llm)
		return proposer_playbook_new(&s->prop);
	struct llm_proposer_opts lo = {
		.llm = o->llm, .llm_code = o->llm_code, .base_url = o->llm_base_url,
		.reasoning_effort = o->reasoning_effort, .max_output_tokens = o->max_output_tokens,
		.temperature = o->temperature, .max_cost = o->max_cost, .max_tokens = o->max_tokens,
		.concurrency = o->llm_concurrency, .timeout_s = o->llm_timeout_s,
		.repairs = o->llm_repairs, .problem_path = problem_path,
	};
	return proposer_llm_new(&s->prop, &lo);
}

/* A resume names the stored run's problem or none (refused otherwise), and
 * the options the stored run fixes apply: one given that differs is warned of. */
static int resume_check(const struct search_opts *o, const char *problem_arg, const struct run_row *r)
{
	if (problem_arg && strcmp(problem_arg, r->problem)) {
		char *path = problem_resolve(problem_arg);
		bool same = path && !strcmp(path, r->problem_path);
		free(path);
		if (!same)
			return error("run %lld is a run of %s (%s), not of %s", (long long)r->id, r->problem,
				     r->problem_path, problem_arg);
	}
	const char *tol = tolerance_name(o->eval.tolerance);
	const struct { unsigned bit; const char *flag; bool differs; } fixed[] = {
		{ SEARCH_GIVEN_ROUNDS, "--rounds", o->rounds != r->rounds },
		{ SEARCH_GIVEN_IDEAS, "--ideas", o->ideas != r->ideas },
		{ SEARCH_GIVEN_IMPLS, "--impls", o->impls != r->impls },
		{ SEARCH_GIVEN_KEEP, "--keep", o->keep != r->keep },
		{ SEARCH_GIVEN_SEED, "--seed", o->seed != r->seed },
		{ SEARCH_GIVEN_TOLERANCE, "--tolerance", strcmp(tol, r->tolerance) != 0 },
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if ((o->given & fixed[i].bit) && fixed[i].differs)
			warn("%s differs from run %lld's; a resumed run keeps its own: rounds %d, ideas %d,"
			     " impls %d, keep %d, seed %d, tolerance %s", fixed[i].flag, (long long)r->id,
			     r->rounds, r->ideas, r->impls, r->keep, r->seed, r->tolerance);
	return 0;
}

int search_run(const struct search_opts *o, const char *problem_arg, struct search_outcome *out)
{
	struct search s = { .o = o, .t0 = util_now() };
	int rc = -1;
	char *path = NULL;
	memset(out, 0, sizeof *out);
	s.db = store_open(o->db_path);
	if (!s.db)
		goto out;
	if (o->resume) {
		if (store_run_get(s.db, o->resume, &s.run) || store_run_lock(s.db, s.run.id) ||
		    resume_check(o, problem_arg, &s.run))
			goto out;
		if (s.run.status == RUN_DONE) {
			error("run %lld is finished; start a new run instead", (long long)o->resume);
			goto out;
		}
		if (s.run.status == RUN_DRY_RUN) {
			error("run %lld was a dry run; start a new run instead", (long long)o->resume);
			goto out;
		}
		path = xstrdup(s.run.problem_path);
	} else {
		path = problem_resolve(problem_arg);
		if (!path)
			goto out;
	}
	struct judge_opts jo = { .eval = o->eval, .arch = o->arch, .baseline = true,
				 .torch_compile = o->torch_compile, .compile_late = true, .dry_run = o->dry_run,
				 .gpus = o->gpus, .adaptive = o->adaptive };
	if (o->resume)
		jo.eval.tolerance = tolerance_parse(s.run.tolerance) == TOL_CRFM ? TOL_CRFM : TOL_STRICT;
	if (judge_open(&s.j, path, &jo))
		goto out;
	if (o->dry_run)
		info("dry run: proposing, realising and compiling for %s; nothing is judged", s.j.arch);
	if (o->resume && strcmp(s.run.problem_sha, s.j.p.sha256)) {
		error("%s changed since run %lld started; its results would not be comparable", path,
		      (long long)o->resume);
		goto out;
	}
	/* The references and PyTorch's times are made while round 0 is
	 * written and compiled; judging waits for them. */
	if (template_load_all(&s.tpls, &s.n_tpls) || open_proposer(&s, path) || judge_prepare_start(&s.j))
		goto out;
	if (!o->resume) {
		s.run = (struct run_row){
			.problem = xstrdup(s.j.p.name), .problem_path = xstrdup(path),
			.problem_sha = xstrdup(s.j.p.sha256),
			.proposer = o->llm ? xasprintf("llm %s", o->llm) : xstrdup("playbook"),
			.rounds = o->rounds, .ideas = o->ideas, .impls = o->impls, .keep = o->keep,
			.seed = o->seed, .tolerance = xstrdup(tolerance_name(o->eval.tolerance)),
			.gpu = xstrdup(s.j.gpu.name), .arch = xstrdup(s.j.arch),
			.status = o->dry_run ? RUN_DRY_RUN : RUN_RUNNING,
		};
		if (store_run_create(s.db, &s.run) || store_run_lock(s.db, s.run.id))
			goto out;
		population_init(&s.pop, s.db, s.run.id);
		info("run %lld: %s, %d rounds x %d ideas x %d realisations (resume with --resume %lld)",
		     (long long)s.run.id, s.j.p.name, o->rounds, o->ideas, o->impls, (long long)s.run.id);
	} else {
		population_init(&s.pop, s.db, s.run.id);
		if (population_load(&s.pop))
			goto out;
		info("resuming run %lld: %d candidates and %d ideas stored", (long long)s.run.id, s.pop.n_cands,
		     s.pop.n_ideas);
		/* Adaptive timing's cutoff starts from the best stored. */
		const struct cand_row *best = population_best(&s.pop, s.run.rounds);
		if (best)
			judge_note_best(&s.j, best->median_ms);
	}
	char *cache = util_cache_dir();
	s.work = xasprintf("%s/runs/%s", cache, s.run.uid);
	free(cache);
	if (util_mkdirs(s.work))
		goto out;
	s.rng = (uint64_t)s.run.seed * 0x9e3779b97f4a7c15ull + (uint64_t)s.pop.n_ideas + 1;
	s.env = (struct proposer_env){ .pop = &s.pop, .judge = &s.j, .run = &s.run, .tpls = s.tpls,
				       .n_tpls = s.n_tpls, .rng = &s.rng,
				       .strict = s.j.o.eval.tolerance == TOL_STRICT, .dry_run = o->dry_run };

	int last = population_last_round(&s.pop);
	if (last < 0) {
		double t0 = util_now();
		if (population_seed_files(&s.pop, o->seed_kernels, o->n_seed_kernels) ||
		    population_seed_round0(&s.pop, &s.j.p, s.tpls, s.n_tpls, s.j.gpu.name, s.j.arch, o->use_bank))
			goto out;
		/* Nothing hand-written (templates at their defaults do not count:
		 * they may not take this shape): a kernel generated from the op
		 * graph, then the main proposer's own first kernels (a model
		 * writes them, with the generated one offered as a starting point). */
		bool handwritten = false;
		for (int i = 0; i < s.pop.n_cands; i++)
			handwritten |= !s.pop.cands[i].template_name || !*s.pop.cands[i].template_name;
		if (!handwritten) {
			struct proposer gen;
			proposer_generated_new(&gen);
			if (gen.ops->seed(gen.self, &s.env) == PROPOSER_FAILED)
				goto out;
			if (s.prop.ops->seed) {
				/* A model reads the floor and the ceilings: prepared first. */
				s.propose_s += util_now() - t0;
				if (judge_prepare(&s.j))
					goto out;
				t0 = util_now();
				enum proposer_status ps = s.prop.ops->seed(s.prop.self, &s.env);
				if (ps == PROPOSER_FAILED)
					goto out;
				s.stopped |= ps == PROPOSER_STOP;
			}
		}
		s.propose_s += util_now() - t0;
		if (s.pop.n_cands == 0) {
			error("%s has no round-0 seed: no kernels/naive/%s.cu, nothing in the bank, no --seed-kernel, "
			      "no kernel generated from its graph%s", s.j.p.name, s.j.p.op,
			      s.o->llm ? ", none from the model" : "; --llm can write one");
			s.run.status = RUN_FAILED;
			store_run_update(s.db, &s.run);
			goto out;
		}
		last = 0;
	}
	/* With a wall-clock budget, round 0's naive kernel waits for the end
	 * of the run once anything faster of round 0 is correct: it cannot
	 * seed the search then, and a slow one spends a short budget (the
	 * one-minute attention run: 25 s on its 867 ms calls before round 1). */
	bool defer = o->max_minutes > 0 && !o->dry_run;
	if (judge_round(&s, last, defer))
		goto out;
	/* A round 0 the model wrote is mended like any of its rounds. */
	for (int a = 1; last == 0 && s.prop.ops->repair && a <= s.prop.repairs && !s.stopped; a++) {
		enum proposer_status ps = propose(&s, 0, a);
		if (ps == PROPOSER_FAILED)
			goto out;
		s.stopped |= ps == PROPOSER_STOP;
		if (judge_round(&s, 0, defer))
			goto out;
	}
	if (last == 0 && round0_waits(&s) && !s.stopped) {
		if (!population_best(&s.pop, 0)) {
			if (judge_round(&s, 0, false))   /* nothing else is correct: the naive kernel seeds */
				goto out;
		} else {
			info("round 0: the naive kernel is judged after the last round, if time remains (a faster "
			     "kernel of round 0 is correct and the run has a wall-clock budget)");
		}
	}
	for (int r = last + 1; r <= s.run.rounds && !s.stopped; r++) {
		if (over_budget(&s)) {
			progress(true, "budget reached before round %d; the run can be resumed", r);
			s.stopped = true;
			break;
		}
		enum proposer_status ps = propose(&s, r, 0);
		if (ps == PROPOSER_FAILED)
			goto out;
		s.stopped |= ps == PROPOSER_STOP;
		if (judge_round(&s, r, false))
			goto out;
		for (int a = 1; s.prop.ops->repair && a <= s.prop.repairs && !s.stopped; a++) {
			ps = propose(&s, r, a);
			if (ps == PROPOSER_FAILED)
				goto out;
			s.stopped |= ps == PROPOSER_STOP;
			if (judge_round(&s, r, false))
				goto out;
		}
	}
	/* Round 0's deferred naive kernel, in the time left; without any, the
	 * run stays resumable for it. */
	if (round0_waits(&s) && !o->dry_run) {
		if (out_of_time(&s))
			s.stopped = true;
		else if (judge_round(&s, 0, false))
			goto out;
	}
	rc = finish(&s, out);
out:
	free(path);
	search_release(&s);
	return rc;
}
