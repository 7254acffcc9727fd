/*
 * proposer_llm.c - the language-model proposer (proposer.h; kbreed run --llm): ideas
 * in English for the seeds, each realised as complete sources (in parallel,
 * up to --llm-concurrency requests), a crossover prompt for ideas with two
 * parents, repairs of kernels that failed, and every request recorded in the
 * store with its tokens and cost, through the reply cache and the budgets.
 */
#define _GNU_SOURCE
#include "proposer.h"

#include "llm.h"

#include "home.h"
#include "llm_propose.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct llm_proposer {
	struct llm_proposer_opts o;
	struct llm_config llm;      /* ideas */
	struct llm_config llm_code; /* realisations */
	char *problem_source;       /* the problem file's text, for prompts */
	struct price *prices;       /* the LLM price table, loaded on first use */
	int n_prices;
	bool prices_loaded, price_warned;
	bool stopped;               /* a budget ran out */
	int calls_ok, calls_failed; /* requests answered, and not, in this invocation */
	char *last_error;           /* the last failed request's reason */
};

/* Cost of a call from the price table (playbook/prices.json, or
 * $KBREED_PRICES): USD per million tokens of the longest matching model
 * prefix; 0, with one warning, for a model it does not list. */
static double call_cost(struct llm_proposer *s, const struct llm_config *c, const struct llm_reply *r)
{
	if (!s->prices_loaded) {
		s->prices_loaded = true;
		const char *env = getenv("KBREED_PRICES");
		char *path = env && *env ? xstrdup(env) : xasprintf("%s/playbook/prices.json", home_dir());
		char *json = NULL;
		if (util_read_file(path, 1u << 20, &json, NULL) == 0 &&
		    llm_json_prices(json, &s->prices, &s->n_prices))
			warn("%s is not a usable price table: costs count as 0", path);
		free(json);
		free(path);
	}
	const struct price *best = NULL;
	for (int i = 0; c->model && i < s->n_prices; i++)
		if (!strncmp(c->model, s->prices[i].prefix, strlen(s->prices[i].prefix)) &&
		    (!best || strlen(s->prices[i].prefix) > strlen(best->prefix)))
			best = &s->prices[i];
	if (!best) {
		if (c->model && !s->price_warned) {
			warn("no price for model %s in the price table: its cost counts as 0", c->model);
			s->price_warned = true;
		}
		return 0;
	}
	long uncached = r->in_tokens > r->cached_tokens ? r->in_tokens - r->cached_tokens : 0;
	return (uncached * best->in + r->cached_tokens * best->cached_in + r->out_tokens * best->out) / 1e6;
}

/* Keeps the reason of the last failed request, for the run's end. */
static void llm_note_error(struct llm_proposer *s, const struct llm_reply *r)
{
	char *e = xasprintf("%s%s%s", llm_status_name(r->status), r->error ? ": " : "", r->error ? r->error : "");
	char *old = __atomic_exchange_n(&s->last_error, e, __ATOMIC_ACQ_REL);
	free(old);
}

/* One request to a model, through the reply cache and the budgets, recorded
 * whatever happens. Returns the reply text (caller frees) or NULL; sets
 * *fatal when the run cannot go on (authentication, quota, budget). */
static char *llm_call(struct llm_proposer *s, const struct population *pop, int round, const char *kind, const struct llm_config *c,
		      const char *spec, const char *prompt, bool *fatal)
{
	static const char *system = "You are an expert CUDA kernel engineer working inside kbreed, "
				    "an evolutionary search for fast GPU kernels. Answer exactly in the format asked.";
	struct sha256 h;
	char sha[65];
	sha256_init(&h);
	sha256_update(&h, spec, strlen(spec) + 1);
	sha256_update(&h, system, strlen(system) + 1);
	sha256_update(&h, prompt, strlen(prompt));
	sha256_final_hex(&h, sha);
	struct llm_call_row row = { .run = pop->run, .round = round, .kind = kind, .model = spec,
				    .prompt_sha = sha, .prompt = prompt };
	char *text = store_llm_cached(pop->db, sha);
	if (text) {
		row.reply = text;
		row.status = "cached";
		store_llm_call_put(pop->db, &row);
		__atomic_add_fetch(&s->calls_ok, 1, __ATOMIC_RELAXED);
		return text;
	}
	long tokens = 0;
	double cost = 0;
	store_llm_totals(pop->db, pop->run, &tokens, &cost);
	if ((s->o.max_tokens > 0 && tokens >= s->o.max_tokens) ||
	    (s->o.max_cost > 0 && cost >= s->o.max_cost)) {
		progress(true, "LLM budget reached (%ld tokens, $%.2f): the run stops here", tokens, cost);
		*fatal = true;
		s->stopped = true;
		return NULL;
	}
	struct llm_reply r;
	llm_reply_init(&r);
	if (llm_complete(c, system, prompt, &r)) {
		__atomic_add_fetch(&s->calls_failed, 1, __ATOMIC_RELAXED);
		*fatal = true;
		llm_reply_release(&r);
		return NULL;
	}
	row.reply = r.text;
	row.status = llm_status_name(r.status);
	row.error = r.error;
	row.in_tokens = r.in_tokens;
	row.out_tokens = r.out_tokens;
	row.cached_tokens = r.cached_tokens;
	row.reasoning_tokens = r.reasoning_tokens;
	row.cost_usd = call_cost(s, c, &r);
	row.attempts = r.attempts;
	if (store_llm_call_put(pop->db, &row))
		*fatal = true;
	if (r.status == LLM_OK && r.text && *r.text) {
		text = r.text;
		r.text = NULL;
		__atomic_add_fetch(&s->calls_ok, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&s->calls_failed, 1, __ATOMIC_RELAXED);
		llm_note_error(s, &r);
		progress(true, "round %d: %s call: %s%s%s", round, kind, llm_status_name(r.status),
			 r.error ? ": " : "", r.error ? r.error : "");
		if (r.status == LLM_AUTH || r.status == LLM_QUOTA) {
			error("the model endpoint refused us (%s): %s", llm_status_name(r.status),
			      r.error ? r.error : "");
			*fatal = true;
		}
	}
	llm_reply_release(&r);
	return text;
}

/* One request for the pool: its prompt in, its reply out. */
struct llm_job {
	struct llm_proposer *s;
	const struct population *pop;
	int round;
	const char *kind;
	const struct llm_config *cfg;
	const char *spec;
	char *prompt;         /* owned */
	char *reply;          /* out, owned; NULL when none */
	int64_t idea, parent1, parent2;
	bool *fatal;          /* shared: set when the run cannot go on */
};

struct llm_pool {
	struct llm_job *jobs;
	int n, next;
	pthread_mutex_t lock;
};

static void *llm_pool_thread(void *arg)
{
	struct llm_pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int i = p->next < p->n ? p->next++ : -1;
		pthread_mutex_unlock(&p->lock);
		if (i < 0)
			return NULL;
		struct llm_job *j = &p->jobs[i];
		if (*j->fatal)
			continue;  /* the run is stopping: ask nothing more */
		j->reply = llm_call(j->s, j->pop, j->round, j->kind, j->cfg, j->spec, j->prompt, j->fatal);
	}
}

/* Runs the requests, up to --llm-concurrency at once (SQLite serialises the
 * bookkeeping; the budget is checked before each request, so a run may pass
 * it by the requests already in flight). */
static int run_llm_jobs(struct llm_proposer *s, struct llm_job *jobs, int n)
{
	struct llm_pool pool = { .jobs = jobs, .n = n };
	pthread_mutex_init(&pool.lock, NULL);
	int width = s->o.concurrency > 0 ? s->o.concurrency : 1;
	if (width > n)
		width = n;
	pthread_t *tid = xcalloc((size_t)width, sizeof *tid);
	int started = 0;
	for (int i = 0; i < width; i++)
		started += pthread_create(&tid[started], NULL, llm_pool_thread, &pool) == 0;
	if (!started)
		llm_pool_thread(&pool);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	pthread_mutex_destroy(&pool.lock);
	return 0;
}

/* The text the prompts show of a candidate: its stored source. */
static char *source_of(const struct population *pop, int64_t id)
{
	char *src = store_candidate_source(pop->db, id);
	return src ? src : xstrdup("");
}

/* A round written by the model: ideas in English for the seeds, then each
 * idea realised K times as complete sources. Round 0 (first) has no seeds:
 * the ideas are for a first kernel, each realised from the reference alone. */
static enum proposer_status llm_write_round(struct llm_proposer *s, const struct proposer_env *env, int round,
					    bool first)
{
	struct population *pop = env->pop;
	const struct judge *jg = env->judge;
	const struct run_row *run = env->run;
	int rc = 0, n_seeds, n_ideas = 0;
	bool fatal = false;
	struct known *k = population_knowns(pop, env->tpls, env->n_tpls, env->dry_run);
	const struct known **seeds = xcalloc((size_t)run->keep + 1, sizeof *seeds);
	if (first) {
		/* Round 0: what is there already (a kernel generated from the op
		 * graph, not yet judged) is offered as a starting point. */
		n_seeds = 0;
		for (int i = 0; i < pop->n_cands && n_seeds < run->keep; i++)
			seeds[n_seeds++] = &k[i];
	} else {
		n_seeds = population_pick_seeds(k, pop->n_cands, run->keep, seeds);
	}
	char *tmpl_ideas = NULL, *tmpl_real = NULL, *tmpl_comb = NULL, *abi = NULL, *reply = NULL;
	struct llm_seed *ls = xcalloc((size_t)n_seeds + 1, sizeof *ls);
	/* The history is of the ideas before this round: its own are added below. */
	int n_before = pop->n_ideas;
	struct llm_tried *lt = xcalloc((size_t)n_before + 1, sizeof *lt);
	char **outcomes = xcalloc((size_t)n_before + 1, sizeof *outcomes);
	struct llm_idea *ideas = xcalloc((size_t)run->ideas + 1, sizeof *ideas);
	char *seeds_text = NULL, *history = NULL, *cats = NULL, *prompt = NULL, *why = NULL;
	struct llm_job *jobs = NULL;
	int n_jobs = 0;
	char *abi_path = xasprintf("%s/include/kbreed_candidate.h", home_dir());
	if (!n_seeds && !first) {
		progress(true, "round %d: no kernel to build on; nothing to propose", round);
		goto out;
	}
	if (llm_prompt_load("ideas", &tmpl_ideas) || llm_prompt_load("realize", &tmpl_real) ||
	    llm_prompt_load("recombine", &tmpl_comb) ||
	    util_read_file(abi_path, 1u << 20, &abi, NULL)) {
		rc = -1;
		goto out;
	}
	for (int i = 0; i < n_seeds; i++) {
		const struct cand_row *c = population_cand(pop, seeds[i]->id);
		const struct idea_row *idea = c && c->idea ? population_idea(pop, c->idea) : NULL;
		/* A dry run timed nothing: no time is quoted. */
		ls[i] = (struct llm_seed){ seeds[i]->id, env->dry_run ? 0 : seeds[i]->median_ms,
					   env->dry_run ? 0 : seeds[i]->pct_eager, env->dry_run ? 0 : seeds[i]->pct_floor,
					   idea ? idea->text : "", source_of(pop, seeds[i]->id) };
	}
	for (int i = 0; i < n_before; i++) {
		outcomes[i] = population_idea_outcome(pop, &pop->ideas[i]);
		lt[i] = (struct llm_tried){ &pop->ideas[i].parent1, pop->ideas[i].parent2 ? 2 : 1,
					    pop->ideas[i].category, pop->ideas[i].text, outcomes[i] };
	}
	seeds_text = first && !n_seeds ? xstrdup("(none yet: the ideas are for the first kernel, written from the "
						 "PyTorch reference above; give no parents)\n")
				       : llm_seeds_text(ls, n_seeds);
	history = llm_history_text(lt, n_before);
	cats = llm_categories_text();
	char ceil_text[256], floor_text[64], n_text[16];
	snprintf(ceil_text, sizeof ceil_text, "%.0f GB/s device copy; %.0f TFLOP/s fp32, %.0f tf32, %.0f fp16, %.0f bf16",
		 jg->ceil.bandwidth_gbs, jg->ceil.fp32_tflops, jg->ceil.tf32_tflops, jg->ceil.fp16_tflops,
		 jg->ceil.bf16_tflops);
	if (jg->roof.floor_ms > 0)
		snprintf(floor_text, sizeof floor_text, "%.4f ms", jg->roof.floor_ms);
	else
		snprintf(floor_text, sizeof floor_text, "not known (no ceilings measured)");
	snprintf(n_text, sizeof n_text, "%d", run->ideas);
	const char *keys[] = { "problem_source", "gpu", "ceilings", "floor", "bound", "seeds", "history", "categories", "n" };
	const char *vals[] = { s->problem_source, jg->gpu.name, jg->have_ceil ? ceil_text : "not measured",
			       floor_text, jg->roof.bound, seeds_text, history, cats, n_text };
	prompt = llm_prompt_fill(tmpl_ideas, keys, vals, 9);
	reply = llm_call(s, pop, round, "ideas", &s->llm, s->o.llm, prompt, &fatal);
	if (fatal)
		goto out;
	if (reply && llm_parse_ideas(reply, run->ideas, ideas, &n_ideas, &why) == 0 && why && *why)
		progress(true, "round %d: %s", round, why);
	for (int i = 0; i < n_ideas && !rc; i++) {
		/* The parents the model named, when they are seeds; else the best seed. */
		int64_t p1 = n_seeds ? seeds[0]->id : 0, p2 = 0;
		for (int q = 0; q < ideas[i].n_parents; q++)
			for (int j = 0; j < n_seeds; j++)
				if (seeds[j]->id == ideas[i].parents[q]) {
					if (q == 0)
						p1 = ideas[i].parents[q];
					else if (ideas[i].parents[q] != p1)
						p2 = ideas[i].parents[q];
				}
		struct idea_row row = { .round = round, .catalog_id = xstrdup("llm"),
					.category = xstrdup(ideas[i].category), .text = xstrdup(ideas[i].text),
					.parent1 = p1, .parent2 = p2 };
		if (population_add_idea(pop, &row)) {
			idea_row_release(&row);
			rc = -1;
			break;
		}
		int64_t idea_id = row.id;
		char *src1 = p1 ? source_of(pop, p1) : xstrdup(""), *src2 = p2 ? source_of(pop, p2) : NULL;
		char *parents = !p1 ? xstrdup("(none yet: write the first kernel from the PyTorch reference above)\n")
			      : src2 ? xasprintf("Parent #%lld:\n```cuda\n%s\n```\n\nParent #%lld:\n```cuda\n%s\n```\n",
						 (long long)p1, src1, (long long)p2, src2)
				     : xasprintf("Parent #%lld:\n```cuda\n%s\n```\n", (long long)p1, src1);
		char *rprompt;
		if (p2) {
			/* Two parents: the crossover prompt, each parent with the idea that made it. */
			const struct cand_row *c1 = population_cand(pop, p1), *c2 = population_cand(pop, p2);
			const struct idea_row *i1 = c1 && c1->idea ? population_idea(pop, c1->idea) : NULL;
			const struct idea_row *i2 = c2 && c2->idea ? population_idea(pop, c2->idea) : NULL;
			char *a = xasprintf("Candidate #%lld. Its idea: %s\n\n```cuda\n%s\n```\n", (long long)p1,
					    i1 ? i1->text : "(a seed)", src1);
			char *b = xasprintf("Candidate #%lld. Its idea: %s\n\n```cuda\n%s\n```\n\nThe idea to realise "
					    "in combining them: %s\n", (long long)p2, i2 ? i2->text : "(a seed)", src2,
					    ideas[i].text);
			const char *ckeys[] = { "parent_a", "parent_b" };
			const char *cvals[] = { a, b };
			rprompt = llm_prompt_fill(tmpl_comb, ckeys, cvals, 2);
			free(a);
			free(b);
		} else {
			const char *rkeys[] = { "problem_source", "abi", "parent_sources", "idea" };
			const char *rvals[] = { s->problem_source, abi, parents, ideas[i].text };
			rprompt = llm_prompt_fill(tmpl_real, rkeys, rvals, 4);
		}
		for (int r = 0; r < run->impls; r++) {
			/* Independent realisations: the same prompt, marked so each is its own call. */
			jobs = xrealloc(jobs, (size_t)(n_jobs + 1) * sizeof *jobs);
			jobs[n_jobs++] = (struct llm_job){
				.s = s, .pop = pop, .round = round, .kind = "realize", .cfg = &s->llm_code,
				.spec = s->o.llm_code ? s->o.llm_code : s->o.llm,
				.prompt = xasprintf("%s\n\n(Realisation %d of %d: write it your own way.)\n",
						    rprompt, r + 1, run->impls),
				.idea = idea_id, .parent1 = p1, .parent2 = p2, .fatal = &fatal };
		}
		free(rprompt);
		free(parents);
		free(src1);
		free(src2);
	}
	if (!rc && n_jobs)
		rc = run_llm_jobs(s, jobs, n_jobs);
	for (int j = 0; j < n_jobs; j++) {
		char *source = NULL, *reason = NULL;
		if (!rc && jobs[j].reply && llm_extract_source(jobs[j].reply, &source, &reason) == 0) {
			struct cand_row c = { .round = round, .idea = jobs[j].idea, .parent1 = jobs[j].parent1,
					      .parent2 = jobs[j].parent2, .origin = xstrdup("llm"),
					      .template_name = xstrdup(""), .knobs = xstrdup(""), .source = source };
			rc = population_add_candidate(pop, &c, NULL);
			cand_row_release(&c);
		} else if (jobs[j].reply) {
			progress(true, "round %d: a realisation of idea %lld gave no kernel: %s", round,
				 (long long)jobs[j].idea, reason ? reason : "?");
		}
		free(reason);
		free(jobs[j].reply);
		free(jobs[j].prompt);
	}
	free(jobs);
	if (first)
		progress(true, "round 0: %d ideas for a first kernel from the model", n_ideas);
	else
		progress(true, "round %d: %d ideas from the model for %d seeds", round, n_ideas, n_seeds);
out:
	for (int i = 0; i < n_before; i++)
		free(outcomes[i]);
	free(outcomes);
	for (int i = 0; i < n_ideas; i++)
		llm_idea_release(&ideas[i]);
	free(ideas);
	for (int i = 0; i < n_seeds; i++)
		free((char *)ls[i].source);
	free(ls);
	free(lt);
	free(seeds_text);
	free(history);
	free(cats);
	free(prompt);
	free(why);
	free(reply);
	free(abi);
	free(abi_path);
	free(tmpl_ideas);
	free(tmpl_real);
	free(tmpl_comb);
	free(seeds);
	free(k);
	if (rc)
		return PROPOSER_FAILED;
	if (s->stopped)
		return PROPOSER_STOP;
	if (!fatal && s->calls_ok == 0 && s->calls_failed > 0) {
		/* Nothing the model was asked has been answered: the run would
		 * only go on achieving nothing. */
		error("every request to the model failed (%d); the last: %s", s->calls_failed,
		      s->last_error ? s->last_error : "?");
		return PROPOSER_FAILED;
	}
	return fatal ? PROPOSER_FAILED : PROPOSER_OK;
}

static enum proposer_status llm_round(void *self, const struct proposer_env *env, int round)
{
	return llm_write_round(self, env, round, false);
}

/* Round 0 when nothing else seeds the run: the model writes the first kernels. */
static enum proposer_status llm_seed(void *self, const struct proposer_env *env)
{
	return llm_write_round(self, env, 0, true);
}

/* Asks the model to mend its kernels of this round that failed (compile
 * error, wrong answer, crash): each gets a repair prompt with its source and
 * the judge's report, and the reply becomes a new candidate of the round. */
static enum proposer_status llm_repair(void *self, const struct proposer_env *env, int round, int attempt)
{
	struct llm_proposer *s = self;
	struct population *pop = env->pop;
	char *tmpl = NULL;
	struct llm_job *jobs = NULL;
	int n_jobs = 0, rc = 0;
	bool fatal = false;
	const char *want = attempt == 1 ? "llm" : "llm-repair";
	if (llm_prompt_load("repair", &tmpl))
		return PROPOSER_FAILED;
	for (int i = 0; i < pop->n_cands; i++) {
		const struct cand_row *c = &pop->cands[i];
		if (c->round != round || strcmp(c->origin, want) || !c->evaluated || cand_is_correct(c) ||
		    c->verdict == VERDICT_NOT_RUN || c->verdict == VERDICT_TIMEOUT)
			continue;
		bool repaired = false;
		for (int j = 0; j < pop->n_cands; j++)
			repaired |= pop->cands[j].parent1 == c->id && !strcmp(pop->cands[j].origin, "llm-repair");
		if (repaired)
			continue;
		char *src = source_of(pop, c->id), *report = store_eval_report(pop->db, c->id);
		const char *keys[] = { "source", "report" };
		const char *vals[] = { src, report ? report : "" };
		jobs = xrealloc(jobs, (size_t)(n_jobs + 1) * sizeof *jobs);
		jobs[n_jobs++] = (struct llm_job){ .s = s, .pop = pop, .round = round, .kind = "repair",
			.cfg = &s->llm_code, .spec = s->o.llm_code ? s->o.llm_code : s->o.llm,
			.prompt = llm_prompt_fill(tmpl, keys, vals, 2), .idea = c->idea, .parent1 = c->id,
			.fatal = &fatal };
		free(src);
		free(report);
	}
	if (n_jobs) {
		progress(true, "round %d: asking the model to repair %d kernels (attempt %d)", round, n_jobs, attempt);
		run_llm_jobs(s, jobs, n_jobs);
	}
	for (int j = 0; j < n_jobs; j++) {
		char *source = NULL, *reason = NULL;
		if (!rc && jobs[j].reply && llm_extract_source(jobs[j].reply, &source, &reason) == 0) {
			struct cand_row c = { .round = round, .idea = jobs[j].idea, .parent1 = jobs[j].parent1,
					      .origin = xstrdup("llm-repair"), .template_name = xstrdup(""),
					      .knobs = xstrdup(""), .source = source };
			rc = population_add_candidate(pop, &c, NULL);
			cand_row_release(&c);
		}
		free(reason);
		free(jobs[j].reply);
		free(jobs[j].prompt);
	}
	free(jobs);
	free(tmpl);
	if (rc)
		return PROPOSER_FAILED;
	if (s->stopped)
		return PROPOSER_STOP;
	return fatal ? PROPOSER_FAILED : PROPOSER_OK;
}

static char *llm_summary(void *self, const struct proposer_env *env)
{
	long tokens = 0;
	double cost = 0;
	store_llm_totals(env->pop->db, env->pop->run, &tokens, &cost);
	return xasprintf("LLM: %ld tokens in and out, $%.4f by the price table", tokens, cost);
}

static void llm_free(void *self)
{
	struct llm_proposer *s = self;
	if (!s)
		return;
	llm_config_release(&s->llm);
	llm_config_release(&s->llm_code);
	for (int i = 0; i < s->n_prices; i++)
		free(s->prices[i].prefix);
	free(s->prices);
	free(s->problem_source);
	free(s->last_error);
	free(s);
}

static const struct proposer_ops llm_ops = {
	.name = "llm",
	.seed = llm_seed,
	.round = llm_round,
	.repair = llm_repair,
	.summary = llm_summary,
	.free = llm_free,
};

int proposer_llm_new(struct proposer *p, const struct llm_proposer_opts *o)
{
	struct llm_proposer *s = xcalloc(1, sizeof *s);
	s->o = *o;
	llm_config_init(&s->llm);
	llm_config_init(&s->llm_code);
	if (llm_config_parse(o->llm, o->base_url, &s->llm) ||
	    llm_config_parse(o->llm_code ? o->llm_code : o->llm, o->base_url, &s->llm_code) ||
	    util_read_file(o->problem_path, 4u << 20, &s->problem_source, NULL)) {
		llm_free(s);
		return -1;
	}
	for (struct llm_config *c = &s->llm; c; c = c == &s->llm ? &s->llm_code : NULL) {
		c->temperature = o->temperature;
		c->max_tokens = o->max_output_tokens;
		if (o->timeout_s > 0)
			c->timeout_s = o->timeout_s;
		if (o->reasoning_effort)
			c->reasoning_effort = xstrdup(o->reasoning_effort);
	}
	*p = (struct proposer){ .ops = &llm_ops, .self = s, .repairs = o->repairs };
	return 0;
}
