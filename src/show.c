/*
 * show.c - a stored run for people and tools: the table of a run's
 * candidates, one candidate whole, the list of runs, and a search's outcome
 * as JSON. It reads the store (runs, ideas, candidates, evaluations) and
 * writes nothing; its JSON is made here, beside the views it encodes (one of
 * the few files that include jansson.h).
 *
 * The table is for a terminal: an idea's text is cut to its column with
 * "...", and the whole text is in the candidate's view and in the JSON,
 * which carry every stored field as it is (a time never measured is null,
 * not 0).
 */
#define _GNU_SOURCE
#include "show.h"

#include "json_text.h"
#include "log.h"
#include "report.h"
#include "util.h"
#include "verdict.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Width of the idea column of the table; longer texts end in "...". */
#define IDEA_COLUMN 44

/* v when it was measured (above 0), else null. */
static json_t *measured(double v)
{
	return v > 0 ? json_real(v) : json_null();
}

/* A reference to another row: its id, or null for none (0). */
static json_t *ref(int64_t id)
{
	return id ? json_integer((json_int_t)id) : json_null();
}

/* Text when not empty, else null. */
static json_t *text_or_null(const char *s)
{
	return s && *s ? json_text(s) : json_null();
}

/* Dumps and frees o, then prints it with a newline. */
static int print_json(json_t *o, FILE *f)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return error("cannot encode the JSON (out of memory)");
	fprintf(f, "%s\n", s);
	free(s);
	return 0;
}

static json_t *run_json(const struct run_row *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer((json_int_t)r->id));
	json_object_set_new(o, "uid", json_text(r->uid));
	json_object_set_new(o, "problem", json_text(r->problem));
	json_object_set_new(o, "problem_path", json_text(r->problem_path));
	json_object_set_new(o, "status", json_string(run_state_name(r->status)));
	json_object_set_new(o, "started", text_or_null(r->started));
	json_object_set_new(o, "proposer", json_text(r->proposer));
	json_object_set_new(o, "rounds", json_integer(r->rounds));
	json_object_set_new(o, "ideas", json_integer(r->ideas));
	json_object_set_new(o, "impls", json_integer(r->impls));
	json_object_set_new(o, "keep", json_integer(r->keep));
	json_object_set_new(o, "seed", json_integer(r->seed));
	json_object_set_new(o, "tolerance", json_text(r->tolerance));
	json_object_set_new(o, "gpu", json_text(r->gpu));
	json_object_set_new(o, "arch", json_text(r->arch));
	json_object_set_new(o, "eager_ms", measured(r->eager_ms));
	json_object_set_new(o, "compile_ms", measured(r->compile_ms));
	json_object_set_new(o, "winner", ref(r->winner));
	json_object_set_new(o, "final_ms", measured(r->final_ms));
	json_object_set_new(o, "final_eager_ms", measured(r->final_eager_ms));
	return o;
}

static const struct idea_row *find_idea(const struct idea_row *ideas, int n, int64_t id)
{
	for (int i = 0; id && i < n; i++)
		if (ideas[i].id == id)
			return &ideas[i];
	return NULL;
}

static json_t *idea_json(const struct idea_row *i)
{
	if (!i)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer((json_int_t)i->id));
	json_object_set_new(o, "category", json_text(i->category));
	json_object_set_new(o, "catalog_id", json_text(i->catalog_id));
	json_object_set_new(o, "text", json_text(i->text));
	return o;
}

/* The fields of a candidate every view has. */
static json_t *cand_json(const struct cand_row *c, const struct idea_row *idea)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer((json_int_t)c->id));
	json_object_set_new(o, "round", json_integer(c->round));
	json_object_set_new(o, "origin", json_text(c->origin));
	json_object_set_new(o, "idea", idea_json(idea));
	json_object_set_new(o, "parent1", ref(c->parent1));
	json_object_set_new(o, "parent2", ref(c->parent2));
	json_object_set_new(o, "template", text_or_null(c->template_name));
	json_object_set_new(o, "knobs", text_or_null(c->knobs));
	json_object_set_new(o, "verdict", c->evaluated ? json_string(verdict_name(c->verdict)) : json_null());
	json_object_set_new(o, "detail", c->evaluated ? json_text(c->detail) : json_null());
	json_object_set_new(o, "median_ms", measured(c->median_ms));
	json_object_set_new(o, "pct_eager", measured(c->pct_eager));
	json_object_set_new(o, "pct_floor", measured(c->pct_floor));
	return o;
}

static void release_ideas(struct idea_row *ideas, int n)
{
	for (int i = 0; i < n; i++)
		idea_row_release(&ideas[i]);
	free(ideas);
}

static void release_cands(struct cand_row *c, int n)
{
	for (int i = 0; i < n; i++)
		cand_row_release(&c[i]);
	free(c);
}

/* The run's header lines, for the table and the candidate's view. */
static void print_run_head(const struct run_row *r, FILE *f)
{
	fprintf(f, "run %lld: %s (%s), %s%s%s\n", (long long)r->id, r->problem, r->problem_path,
		run_state_name(r->status), r->started && *r->started ? ", started " : "",
		r->started ? r->started : "");
	fprintf(f, "  proposer %s; %d rounds x %d ideas x %d realisations, %d seeds kept; tolerance %s; seed %d\n",
		r->proposer, r->rounds, r->ideas, r->impls, r->keep, r->tolerance, r->seed);
	fprintf(f, "  GPU %s (%s)", *r->gpu ? r->gpu : "?", *r->arch ? r->arch : "?");
	if (r->eager_ms > 0)
		fprintf(f, "; PyTorch eager %.4f ms", r->eager_ms);
	if (r->compile_ms > 0)
		fprintf(f, ", torch.compile %.4f ms", r->compile_ms);
	fputc('\n', f);
	if (r->winner && r->final_ms > 0)
		fprintf(f, "  winner #%lld: %.4f ms re-timed beside PyTorch eager %.4f ms = %.0f%% of eager\n",
			(long long)r->winner, r->final_ms, r->final_eager_ms,
			r->final_eager_ms / r->final_ms * 100);
	else if (r->status == RUN_DONE || r->status == RUN_STOPPED)
		fprintf(f, "  no correct kernel was found\n");
}

/* What the idea column says of c: its idea's category and text, cut to the
 * column, or how a seed came (naive, bank, user, generated, llm). */
static char *idea_cell(const struct cand_row *c, const struct idea_row *idea)
{
	char *t = idea ? xasprintf("%s: %s", idea->category, idea->text) : xstrdup(c->origin);
	for (char *p = t; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (strlen(t) > IDEA_COLUMN)
		strcpy(t + IDEA_COLUMN - 3, "...");
	return t;
}

int show_run(struct store *s, int64_t run, bool json, FILE *f)
{
	struct run_row r;
	struct cand_row *c = NULL;
	struct idea_row *ideas = NULL;
	int n = 0, n_ideas = 0, rc = -1;
	if (store_run_get(s, run, &r))
		return -1;
	if (store_candidates_of_run(s, run, &c, &n) || store_ideas_of_run(s, run, &ideas, &n_ideas))
		goto out;
	if (json) {
		json_t *o = json_object(), *arr = json_array();
		json_object_set_new(o, "run", run_json(&r));
		for (int i = 0; i < n; i++)
			json_array_append_new(arr, cand_json(&c[i], find_idea(ideas, n_ideas, c[i].idea)));
		json_object_set_new(o, "candidates", arr);
		rc = print_json(o, f);
		goto out;
	}
	print_run_head(&r, f);
	int w_tpl = 8, w_knobs = 5;
	for (int i = 0; i < n; i++) {
		if ((int)strlen(c[i].template_name) > w_tpl)
			w_tpl = (int)strlen(c[i].template_name);
		if ((int)strlen(c[i].knobs) > w_knobs)
			w_knobs = (int)strlen(c[i].knobs);
	}
	fprintf(f, "\n%7s %5s  %-*s  %-*s  %-*s  %-13s %10s %8s\n", "id", "round", IDEA_COLUMN, "idea",
		w_tpl, "template", w_knobs, "knobs", "verdict", "time ms", "% eager");
	for (int i = 0; i < n; i++) {
		char *idea = idea_cell(&c[i], find_idea(ideas, n_ideas, c[i].idea));
		char ms[32] = "-", pct[32] = "-";
		if (c[i].median_ms > 0)
			snprintf(ms, sizeof ms, "%.4f", c[i].median_ms);
		if (c[i].pct_eager > 0)
			snprintf(pct, sizeof pct, "%.0f", c[i].pct_eager);
		fprintf(f, "%c%6lld %5d  %-*s  %-*s  %-*s  %-13s %10s %8s\n", c[i].id == r.winner ? '*' : ' ',
			(long long)c[i].id, c[i].round, IDEA_COLUMN, idea, w_tpl,
			*c[i].template_name ? c[i].template_name : "-", w_knobs, *c[i].knobs ? c[i].knobs : "-",
			c[i].evaluated ? verdict_name(c[i].verdict) : "not judged", ms, pct);
		free(idea);
	}
	fprintf(f, "\n%d candidates%s; `kbreed show %lld ID` prints one whole\n", n,
		r.winner ? " (* the winner)" : "", (long long)run);
	rc = 0;
out:
	release_cands(c, n);
	release_ideas(ideas, n_ideas);
	run_row_release(&r);
	return rc;
}

static json_t *eval_json(const struct eval_row *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "verdict", json_string(verdict_name(e->verdict)));
	json_object_set_new(o, "detail", json_text(e->detail));
	json_object_set_new(o, "log", json_text(e->log));
	json_object_set_new(o, "passes_strict", json_boolean(e->pass_strict));
	json_object_set_new(o, "passes_crfm", json_boolean(e->pass_crfm));
	json_object_set_new(o, "max_abs_err", json_real(e->max_abs));
	json_object_set_new(o, "max_rel_err", json_real(e->max_rel));
	json_object_set_new(o, "sets", json_integer(e->sets));
	json_object_set_new(o, "timed", json_boolean(e->timed));
	json_object_set_new(o, "median_ms", measured(e->timed ? e->median_ms : 0));
	json_object_set_new(o, "min_ms", measured(e->timed ? e->min_ms : 0));
	json_object_set_new(o, "max_ms", measured(e->timed ? e->max_ms : 0));
	json_object_set_new(o, "host_ms", measured(e->timed ? e->host_ms : 0));
	json_object_set_new(o, "reps", json_integer(e->reps));
	json_object_set_new(o, "warmup", json_integer(e->warmup));
	json_object_set_new(o, "flush_mb", json_integer(e->flush_mb));
	json_object_set_new(o, "pct_eager", measured(e->pct_eager));
	json_object_set_new(o, "pct_floor", measured(e->pct_floor));
	json_object_set_new(o, "floor_ms", measured(e->floor_ms));
	json_object_set_new(o, "gpu", text_or_null(e->gpu));
	json_object_set_new(o, "device", text_or_null(e->device));
	json_object_set_new(o, "sm_clock_mhz", json_integer(e->sm_clock));
	json_object_set_new(o, "mem_clock_mhz", json_integer(e->mem_clock));
	json_object_set_new(o, "compile_s", json_real(e->compile_s));
	json_object_set_new(o, "eval_s", json_real(e->eval_s));
	return o;
}

static void print_eval(const struct eval_row *e, FILE *f)
{
	fprintf(f, "verdict   %s%s%s\n", verdict_name(e->verdict), e->detail && *e->detail ? ": " : "",
		e->detail ? e->detail : "");
	if (e->verdict == VERDICT_CORRECT || e->verdict == VERDICT_INCORRECT)
		fprintf(f, "values    %d input sets; strict tolerance %s, crfm %s; max abs err %.3g, max rel err %.3g\n",
			e->sets, e->pass_strict ? "passed" : "failed", e->pass_crfm ? "passed" : "failed",
			e->max_abs, e->max_rel);
	if (e->timed) {
		fprintf(f, "time      %.4f ms median (min %.4f, max %.4f; %d reps after %d warm-up, L2 flushed: %d MB)",
			e->median_ms, e->min_ms, e->max_ms, e->reps, e->warmup, e->flush_mb);
		if (e->pct_eager > 0)
			fprintf(f, " = %.0f%% of PyTorch eager", e->pct_eager);
		if (e->pct_floor > 0)
			fprintf(f, ", %.0f%% of the floor (%.4f ms)", e->pct_floor, e->floor_ms);
		fputc('\n', f);
	}
	if (e->gpu && *e->gpu)
		fprintf(f, "GPU       %s%s%s%s, SM clock %d MHz, memory clock %d MHz\n", e->gpu,
			e->device && *e->device ? " (device " : "", e->device ? e->device : "",
			e->device && *e->device ? ")" : "", e->sm_clock, e->mem_clock);
	fprintf(f, "took      compile %.1f s, judging %.1f s\n", e->compile_s, e->eval_s);
}

int show_candidate(struct store *s, int64_t run, int64_t candidate, bool json, FILE *f)
{
	struct run_row r;
	struct cand_row c;
	struct eval_record e;
	struct idea_row *ideas = NULL;
	int n_ideas = 0, rc = -1, has_eval = 1;
	memset(&c, 0, sizeof c);
	memset(&e, 0, sizeof e);
	if (store_run_get(s, run, &r))
		return -1;
	if (store_candidate_get(s, candidate, &c))
		goto out;
	if (c.run != run) {
		error("candidate %lld is one of run %lld's, not of run %lld's; `kbreed show %lld %lld` prints it",
		      (long long)candidate, (long long)c.run, (long long)run, (long long)c.run,
		      (long long)candidate);
		goto out;
	}
	if (store_ideas_of_run(s, run, &ideas, &n_ideas) || (has_eval = store_eval_get(s, candidate, &e)) < 0)
		goto out;
	const struct idea_row *idea = find_idea(ideas, n_ideas, c.idea);
	if (json) {
		json_t *o = json_object(), *jc = cand_json(&c, idea);
		json_object_set_new(o, "run", run_json(&r));
		json_object_set_new(jc, "source_sha256", json_text(c.sha));
		json_object_set_new(jc, "evaluation", has_eval == 0 ? eval_json(&e.row) : json_null());
		json_object_set_new(jc, "source", json_text(c.source));
		json_object_set_new(o, "candidate", jc);
		rc = print_json(o, f);
		goto out;
	}
	print_run_head(&r, f);
	fprintf(f, "\ncandidate #%lld%s, round %d, %s\n", (long long)c.id, c.id == r.winner ? " (the winner)" : "",
		c.round, c.origin);
	if (idea)
		fprintf(f, "idea      #%lld (%s, %s): %s\n", (long long)idea->id, idea->category, idea->catalog_id,
			idea->text);
	if (c.parent1)
		fprintf(f, "parents   #%lld%s", (long long)c.parent1, c.parent2 ? "" : "\n");
	if (c.parent1 && c.parent2)
		fprintf(f, ", #%lld (recombined)\n", (long long)c.parent2);
	if (*c.template_name)
		fprintf(f, "template  %s %s\n", c.template_name, *c.knobs ? c.knobs : "(defaults)");
	if (has_eval == 0)
		print_eval(&e.row, f);
	else
		fprintf(f, "verdict   not judged yet (the run can be resumed: kbreed run --resume %lld)\n",
			(long long)run);
	fprintf(f, "\n--- errors and logs ---\n%s", has_eval == 0 && e.log && *e.log ? e.log : "(none)\n");
	if (has_eval == 0 && e.log && *e.log && e.log[strlen(e.log) - 1] != '\n')
		fputc('\n', f);
	fprintf(f, "\n--- source (sha256 %.16s) ---\n%s", c.sha, c.source);
	if (*c.source && c.source[strlen(c.source) - 1] != '\n')
		fputc('\n', f);
	rc = 0;
out:
	eval_record_release(&e);
	release_ideas(ideas, n_ideas);
	cand_row_release(&c);
	run_row_release(&r);
	return rc;
}

int show_runs(struct store *s, bool json, FILE *f)
{
	struct run_row *r = NULL;
	int n = 0;
	if (store_runs(s, &r, &n))
		return -1;
	int rc = 0;
	if (json) {
		json_t *arr = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(arr, run_json(&r[i]));
		rc = print_json(arr, f);
	} else if (!n) {
		fprintf(f, "no runs yet: `kbreed run PROBLEM` makes one\n");
	} else {
		fprintf(f, "%6s  %-20s %-8s %-19s %-24s %10s %8s\n", "run", "problem", "status", "started",
			"proposer", "best ms", "% eager");
		for (int i = 0; i < n; i++) {
			char ms[32] = "-", pct[32] = "-";
			if (r[i].winner && r[i].final_ms > 0) {
				snprintf(ms, sizeof ms, "%.4f", r[i].final_ms);
				snprintf(pct, sizeof pct, "%.0f", r[i].final_eager_ms / r[i].final_ms * 100);
			}
			fprintf(f, "%6lld  %-20s %-8s %-19s %-24s %10s %8s\n", (long long)r[i].id, r[i].problem,
				run_state_name(r[i].status), r[i].started ? r[i].started : "", r[i].proposer, ms, pct);
		}
	}
	for (int i = 0; i < n; i++)
		run_row_release(&r[i]);
	free(r);
	return rc;
}

char *show_outcome_json(const struct search_outcome *o, bool dry_run)
{
	bool won = o->winner != 0;
	json_t *j = json_object();
	json_object_set_new(j, "run", json_integer((json_int_t)o->run));
	json_object_set_new(j, "problem", json_text(o->problem));
	json_object_set_new(j, "status", json_string(run_state_name(dry_run ? RUN_DRY_RUN
		: o->stopped ? RUN_STOPPED : RUN_DONE)));
	json_object_set_new(j, "candidates", json_integer(o->candidates));
	json_object_set_new(j, "winner", ref(o->winner));
	json_object_set_new(j, "round_found", won ? json_integer(o->round_found) : json_null());
	json_object_set_new(j, "best_ms", won ? json_real(o->best_ms) : json_null());
	json_object_set_new(j, "eager_ms", won ? json_real(o->eager_ms) : json_null());
	json_object_set_new(j, "compile_ms", won ? measured(o->compile_ms) : json_null());
	json_object_set_new(j, "floor_ms", measured(o->floor_ms));
	json_object_set_new(j, "bound", o->floor_ms > 0 && o->bound ? json_string(o->bound) : json_null());
	json_object_set_new(j, "pct_eager", won ? json_real(o->pct_eager) : json_null());
	json_object_set_new(j, "pct_compile", won ? measured(o->pct_compile) : json_null());
	json_object_set_new(j, "pct_floor", won ? measured(o->pct_floor) : json_null());
	if (won && o->eager_fp32_ms > 0) {  /* only where PyTorch's defaults use TF32 */
		json_object_set_new(j, "eager_fp32_ms", json_real(o->eager_fp32_ms));
		json_object_set_new(j, "pct_eager_fp32", json_real(o->pct_eager_fp32));
	}
	json_object_set_new(j, "passes_strict", won ? json_boolean(o->pass_strict) : json_null());
	json_object_set_new(j, "passes_crfm", won ? json_boolean(o->pass_crfm) : json_null());
	json_object_set_new(j, "max_abs_err", won ? json_real(o->max_abs_err) : json_null());
	json_object_set_new(j, "max_rel_err", won ? json_real(o->max_rel_err) : json_null());
	report_winner_json(j, won ? &o->facts : NULL);
	json_object_set_new(j, "winner_path", text_or_null(o->winner_path));
	json_object_set_new(j, "summary_path", text_or_null(o->summary_path));
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	char *out = xstrdup(s ? s : "{}");
	free(s);
	return out;
}
