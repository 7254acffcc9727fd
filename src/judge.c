/*
 * judge.c - the judging session (judge.h): problem, GPU, references,
 * baseline, ceilings and worker in one place, and every candidate through
 * the same checks in the same order: policy (files the compiler would read,
 * then libraries), compile, load, correctness,
 * timing, verdict.
 */
#define _GNU_SOURCE
#include "judge.h"

#include "compile.h"
#include "linkcheck.h"
#include "log.h"
#include "policy.h"
#include "sandbox.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void judge_opts_defaults(struct judge_opts *o)
{
	memset(o, 0, sizeof *o);
	eval_opts_defaults(&o->eval);
	o->baseline = true;
}

/* sm_NN or sm_NNa/f: letters and digits only, since it reaches nvcc's
 * command line. */
static bool arch_ok(const char *a)
{
	if (!a || strncmp(a, "sm_", 3) || strlen(a) < 5 || strlen(a) > 11)
		return false;
	for (const char *c = a + 3; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z')))
			return false;
	return true;
}

int judge_open(struct judge *j, const char *problem_path, const struct judge_opts *o)
{
	memset(j, 0, sizeof *j);
	j->o = *o;
	problem_init(&j->p);
	/* The children's environment and the sandbox are settled once, here,
	 * before any thread forks nvcc. */
	sandbox_clean_env();
	info("candidates run %s", sandbox_available() ? "without network (bubblewrap)"
						 : "with the network: no working bwrap here (install bubblewrap)");
	const char *env = getenv("KBREED_ARCH");
	const char *arch = o->arch && *o->arch ? o->arch : env && *env ? env : NULL;
	if (o->dry_run) {
		j->gpu.name = xstrdup("none (dry run)");
		if (!arch)
			arch = "sm_90a";
	} else if (gpu_info_query(&j->gpu)) {
		error("judging kernels needs an NVIDIA GPU; none is usable here (a dry run needs none)");
		goto fail;
	} else if (!arch) {
		arch = compile_arch_for(j->gpu.cc_major, j->gpu.cc_minor);
	}
	if (!arch_ok(arch)) {
		error("bad compile target '%s' (want sm_XX, e.g. sm_90a)", arch ? arch : "");
		goto fail;
	}
	j->arch = xstrdup(arch);
	if (bridge_describe(problem_path, &j->p))
		goto fail;
	roofline_compute(&j->p, NULL, &j->roof);
	return 0;
fail:
	judge_close(j);
	return -1;
}

int judge_prepare(struct judge *j)
{
	if (j->o.dry_run || j->ev)
		return 0;
	if (bridge_reference(&j->p, j->o.eval.sets, j->o.eval.seed, "cuda", &j->refs))
		return -1;
	j->have_ceil = bridge_ceilings(j->gpu.name, &j->ceil) == 0;
	if (!j->have_ceil)
		warn("no machine ceilings: results are not placed against the floor");
	roofline_compute(&j->p, j->have_ceil ? &j->ceil : NULL, &j->roof);
	if (j->o.baseline) {
		info("timing PyTorch on %s", j->gpu.name);
		if (judge_fresh_baseline(j, &j->base))
			return -1;
		j->have_base = true;
	}
	j->ev = evaluator_new(&j->p, &j->refs, &j->o.eval);
	return j->ev ? 0 : -1;
}

int judge_fresh_baseline(struct judge *j, struct baseline *b)
{
	return bridge_baseline(&j->p, j->o.eval.reps, j->o.eval.warmup, j->o.eval.flush_mb,
			       j->o.torch_compile, b);
}

void judge_close(struct judge *j)
{
	evaluator_free(j->ev);
	baseline_release(&j->base);
	ceilings_release(&j->ceil);
	refset_release(&j->refs);
	gpu_info_release(&j->gpu);
	problem_release(&j->p);
	free(j->arch);
	memset(j, 0, sizeof *j);
}

void judgement_release(struct judgement *o)
{
	eval_result_release(&o->res);
	memset(o, 0, sizeof *o);
}

struct judge_batch {
	struct judge *j;
	const char *const *paths;
	int n, next;
	char **banned;               /* the policy's objection per candidate, or NULL */
	int *job_of;                 /* candidate -> its compile job; -1 when banned */
	struct compile_job *jobs;    /* the candidates that were not banned, in order */
	int n_jobs;
	struct compile_opts co;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t tid;
	bool threaded;
	int compile_rc;
};

static void *compile_thread(void *arg)
{
	struct judge_batch *b = arg;
	b->compile_rc = compile_batch(b->jobs, b->n_jobs, &b->co);
	return NULL;
}

struct judge_batch *judge_batch_start(struct judge *j, const char *const *paths, int n)
{
	struct judge_batch *b = xcalloc(1, sizeof *b);
	b->j = j;
	b->paths = paths;
	b->n = n;
	b->banned = xcalloc((size_t)n + 1, sizeof *b->banned);
	b->job_of = xcalloc((size_t)n + 1, sizeof *b->job_of);
	b->jobs = xcalloc((size_t)n + 1, sizeof *b->jobs);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	/* 1. policy: a banned source is not compiled at all. */
	for (int i = 0; i < n; i++) {
		char *text = NULL;
		if (util_read_file(paths[i], 16u << 20, &text, NULL))
			b->banned[i] = xasprintf("the source %s cannot be read", paths[i]);
		else if (!policy_reads_files(text, &b->banned[i]) && !j->o.eval.allow_libraries)
			policy_violation(text, &b->banned[i]);
		free(text);
		b->job_of[i] = b->banned[i] ? -1 : b->n_jobs;
		if (!b->banned[i])
			b->jobs[b->n_jobs++].source = paths[i];
	}
	/* 2. compile, in the background; leave two cores to the worker so that
	 * nvcc does not disturb the timings. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	b->co = (struct compile_opts){ .arch = j->arch, .jobs = cpus > 3 ? (int)cpus - 2 : 1,
				       .lock = &b->lock, .cond = &b->cond };
	b->threaded = pthread_create(&b->tid, NULL, compile_thread, b) == 0;
	if (!b->threaded)
		compile_thread(b);
	return b;
}

int judge_batch_next(struct judge_batch *b, int *index, struct judgement *out)
{
	if (b->next >= b->n)
		return 0;
	struct judge *j = b->j;
	int i = b->next++, lc;
	char *why = NULL;
	struct compile_job *job = b->job_of[i] >= 0 ? &b->jobs[b->job_of[i]] : NULL;
	memset(out, 0, sizeof *out);
	eval_result_init(&out->res);
	*index = i;
	if (job) {
		double wait0 = util_now();
		pthread_mutex_lock(&b->lock);
		while (!job->done)
			pthread_cond_wait(&b->cond, &b->lock);
		pthread_mutex_unlock(&b->lock);
		j->wait_s += util_now() - wait0;
		out->compile_s = job->cached ? 0 : job->seconds;
	}
	if (!job) {
		eval_result_policy(&out->res, b->banned[i]);
	} else if (!job->ok) {
		/* What is stored and shown to a model: the diagnostics of the
		 * candidate's own file; the full log stays in the build cache. */
		char *shown = compile_log_for_model(job->log, job->source);
		char *log = job->log_path ? xasprintf("%s[kbreed: the full log is %s]\n", shown, job->log_path)
					  : xstrdup(shown);
		eval_result_compile_error(&out->res, job->timed_out, log);
		free(log);
		free(shown);
	} else if (!j->o.eval.allow_libraries && (lc = linkcheck_so(job->so_path, &why)) != 0) {
		/* 3a. what the shared object imports, whatever its text looked like. */
		if (lc > 0) {
			char *detail = xasprintf("the link-time check: %s", why);
			eval_result_policy(&out->res, detail);
			free(detail);
		} else {
			out->res.verdict = VERDICT_LOAD_ERROR;
			out->res.detail = xstrdup("the shared object could not be read for the link-time check");
		}
		free(why);
	} else if (j->o.dry_run) {
		out->res.verdict = VERDICT_NOT_RUN;
		out->res.detail = xstrdup("dry run: compiled, not judged");
	} else {
		/* 3-5: load, correctness and timing, in the worker. */
		if (!j->ev && judge_prepare(j))
			return -1;
		double g0 = util_now();
		if (evaluator_run(j->ev, job->so_path, &out->res)) {
			error("%s: %s", b->paths[i], out->res.detail ? out->res.detail : "evaluation failed");
			judgement_release(out);
			return -1;
		}
		j->gpu_s += util_now() - g0;
	}
	/* 6. the verdict, placed against PyTorch and the floor; a result
	 * beyond the memory floor is rejected, never a winner. */
	if (j->have_ceil)
		verdict_of_floor(&out->res, j->roof.memory_ms, j->p.min_bytes / 1e6, j->ceil.bandwidth_gbs);
	out->rep = (struct eval_report){
		.problem = &j->p, .candidate = b->paths[i], .arch = j->arch, .opts = &j->o.eval,
		.result = &out->res, .gpu = &j->gpu, .baseline = j->have_base ? &j->base : NULL,
		.ceilings = j->have_ceil ? &j->ceil : NULL };
	report_derive(&out->rep);
	j->judged++;
	return 1;
}

int judge_batch_end(struct judge_batch *b)
{
	if (!b)
		return 0;
	if (b->threaded)
		pthread_join(b->tid, NULL);
	int rc = b->compile_rc ? -1 : 0;
	for (int i = 0; i < b->n_jobs; i++)
		compile_job_release(&b->jobs[i]);
	for (int i = 0; i < b->n; i++)
		free(b->banned[i]);
	free(b->jobs);
	free(b->job_of);
	free(b->banned);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
	return rc;
}

int judge_one(struct judge *j, const char *path, struct judgement *out)
{
	const char *paths[1] = { path };
	int index;
	struct judge_batch *b = judge_batch_start(j, paths, 1);
	int rc = judge_batch_next(b, &index, out);
	if (judge_batch_end(b) && rc == 1) {
		judgement_release(out);
		rc = -1;
	}
	return rc == 1 ? 0 : -1;
}
