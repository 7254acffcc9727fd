/*
 * judge.c - the judging session (judge.h): problem, GPU, references,
 * baseline, ceilings and worker in one place, and every candidate through
 * the same checks in the same order: policy (files the compiler would read,
 * then libraries), compile, load, correctness,
 * timing, verdict. A Python solution skips the first three (it is not CUDA
 * source) and is loaded, checked and timed by the Python worker.
 */
#define _GNU_SOURCE
#include "judge.h"

#include "compile.h"
#include "linkcheck.h"
#include "log.h"
#include "policy.h"
#include "sandbox.h"
#include "util.h"

#include <ctype.h>
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

/* The GPUs of the session: the first named, and those of its model beside
 * it. A first GPU that is one of several is made the one PyTorch and nvcc
 * see, through CUDA_VISIBLE_DEVICES (restored at close). */
static int open_gpus(struct judge *j)
{
	struct gpu_info *list = NULL;
	int n = 0, rc = gpu_select(j->o.gpus, &list, &n);
	if (rc == -2)
		error("judging kernels needs an NVIDIA GPU; none is usable here (a dry run needs none)");
	if (rc)
		return -1;
	j->gpu = list[0];
	j->more = xcalloc((size_t)n, sizeof *j->more);
	for (int k = 1; k < n; k++) {
		if (!strcmp(list[k].name, j->gpu.name)) {
			j->more[j->n_more++].gpu = list[k];
			continue;
		}
		warn("GPU %s (%s) is left out: its times are not comparable with the %s's; "
		     "give it a run of its own (--gpus %s)", list[k].device, list[k].name, j->gpu.name,
		     list[k].device);
		gpu_info_release(&list[k]);
	}
	free(list);
	if (j->gpu.device) {
		const char *had = getenv("CUDA_VISIBLE_DEVICES");
		j->saved_env = had ? xstrdup(had) : NULL;
		if (setenv("CUDA_VISIBLE_DEVICES", j->gpu.device, 1))
			return error("cannot set CUDA_VISIBLE_DEVICES");
		j->env_set = true;
	}
	if (j->n_more)
		info("judging on %d GPUs (%s): %s", 1 + j->n_more, j->gpu.name, j->gpu.device);
	for (int k = 0; k < j->n_more; k++)
		info("  and %s", j->more[k].gpu.device);
	return 0;
}

int judge_gpus(const struct judge *j)
{
	return 1 + j->n_more;
}

double judge_gpu_seconds(const struct judge *j)
{
	double s = j->gpu_s;
	for (int k = 0; k < j->n_more; k++)
		s += j->more[k].gpu_s;
	return s;
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
	} else if (open_gpus(j)) {
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

/* PyTorch's times with the session's timing options; torch.compile's too
 * when with_compile. */
static int time_pytorch(struct judge *j, bool with_compile, struct baseline *b)
{
	return bridge_baseline(&j->p, j->o.eval.reps, j->o.eval.warmup, j->o.eval.flush_mb, with_compile, b);
}

/* judge_prepare's work: references, ceilings, PyTorch, the workers. */
static int prepare_now(struct judge *j)
{
	double t0 = util_now();
	int rc = -1;
	if (bridge_reference(&j->p, j->o.eval.sets, j->o.eval.seed, j->o.eval.stress, "cuda", &j->refs))
		goto out;
	/* The budget may have cut the plain sets: the candidates are judged, and
	 * their evaluations recorded, on those made (the stressed ones it left
	 * out are among refs.skipped). Nothing else reads eval.sets before the
	 * session is prepared. */
	if (j->refs.sets < j->o.eval.sets)
		j->o.eval.sets = j->refs.sets;
	j->have_ceil = bridge_ceilings(j->gpu.name, &j->ceil) == 0;
	if (!j->have_ceil)
		warn("no machine ceilings: results are not placed against the floor");
	roofline_compute(&j->p, j->have_ceil ? &j->ceil : NULL, &j->roof);
	if (j->o.baseline) {
		info("timing PyTorch on %s", j->gpu.name);
		if (time_pytorch(j, j->o.torch_compile && !j->o.compile_late, &j->base))
			goto out;
		j->have_base = true;
	}
	j->ev = evaluator_new(&j->p, &j->refs, &j->o.eval);
	if (!j->ev)
		goto out;
	/* A further GPU whose worker cannot be set up is left out; the others judge. */
	for (int k = 0; k < j->n_more;) {
		j->more[k].ev = evaluator_new_on(&j->p, &j->refs, &j->o.eval, j->more[k].gpu.device);
		if (j->more[k].ev) {
			k++;
			continue;
		}
		warn("GPU %s is left out: its worker cannot be set up", j->more[k].gpu.device);
		gpu_info_release(&j->more[k].gpu);
		memmove(&j->more[k], &j->more[k + 1], (size_t)(j->n_more - k - 1) * sizeof *j->more);
		j->n_more--;
	}
	info("references%s ready for %s (%.1f s)", j->o.baseline ? " and PyTorch's times" : "", j->p.name,
	     util_now() - t0);
	rc = 0;
out:
	j->prepare_s = util_now() - t0;
	return rc;
}

static void *prepare_thread(void *arg)
{
	struct judge *j = arg;
	j->prep_rc = prepare_now(j);
	return NULL;
}

int judge_prepare_start(struct judge *j)
{
	if (j->o.dry_run || j->prep_done || j->prep_threaded)
		return 0;
	if (pthread_create(&j->prep_tid, NULL, prepare_thread, j) == 0) {
		j->prep_threaded = true;
		return 0;
	}
	return judge_prepare(j);
}

int judge_prepare(struct judge *j)
{
	if (j->o.dry_run)
		return 0;
	if (j->prep_done)
		return j->prep_rc;
	double t0 = util_now();
	if (j->prep_threaded) {
		pthread_join(j->prep_tid, NULL);
		j->prep_threaded = false;
	} else {
		j->prep_rc = prepare_now(j);
	}
	j->prep_done = true;
	j->prepare_wait_s += util_now() - t0;
	return j->prep_rc;
}

bool judge_prepared(const struct judge *j)
{
	return j->o.dry_run || j->prep_done;
}

void judge_note_best(struct judge *j, double ms)
{
	if (ms > 0 && (j->best_ms <= 0 || ms < j->best_ms))
		j->best_ms = ms;
}

int judge_fresh_baseline(struct judge *j, struct baseline *b)
{
	return time_pytorch(j, j->o.torch_compile, b);
}

static void lanes_stop(struct judge *j);

void judge_release_workers(struct judge *j)
{
	lanes_stop(j);
	for (int k = 0; k < j->n_more; k++) {
		evaluator_free(j->more[k].ev);
		evaluator_free(j->more[k].pyev);
		j->more[k].ev = j->more[k].pyev = NULL;
	}
	evaluator_free(j->ev);
	evaluator_free(j->pyev);
	j->ev = j->pyev = NULL;
	j->released = true;
}

void judge_close(struct judge *j)
{
	if (j->prep_threaded) {
		/* Waited for, so that nothing it made is lost. */
		pthread_join(j->prep_tid, NULL);
		j->prep_threaded = false;
	}
	judge_release_workers(j);
	for (int k = 0; k < j->n_more; k++)
		gpu_info_release(&j->more[k].gpu);
	free(j->more);
	if (j->env_set) {
		if (j->saved_env)
			setenv("CUDA_VISIBLE_DEVICES", j->saved_env, 1);
		else
			unsetenv("CUDA_VISIBLE_DEVICES");
	}
	free(j->saved_env);
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
	bool full;                   /* every timed call: no cutoff (the winner's re-timing) */
	bool cutoff_set;             /* cutoff_ms is decided (at the first candidate run) */
	double cutoff_ms;            /* adaptive timing's cutoff for the batch; 0: none */
	bool *python;                /* per candidate: a Python solution */
	char **banned;               /* the policy's objection per candidate, or NULL */
	int *job_of;                 /* candidate -> its compile job; -1 when banned */
	struct compile_job *jobs;    /* the candidates that were not banned, in order */
	int n_jobs;
	struct compile_opts co;
	pthread_mutex_t lock;        /* guards the compile jobs' state and all below */
	pthread_cond_t cond;         /* a job compiled, or an outcome is ready */
	pthread_t tid;
	bool threaded;
	int compile_rc;
	/* Several GPUs: the session's lane threads (one per GPU) take the next
	 * candidate in order, judge it on their GPU and leave the outcome
	 * here; judge_batch_next hands outcomes out as they finish. The fields
	 * from laned on are guarded by the session's lane_lock. With one GPU
	 * the caller's thread judges, in order, as it always did. */
	bool laned;                  /* the session's lane threads judge it; else the caller */
	int dispatched;              /* candidates a lane has taken */
	int active;                  /* lanes judging one of its candidates now */
	struct judgement *outs;      /* [n]: outcomes not yet handed out */
	int *lane_of;                /* [n]: the lane that judged it; 0 is the first GPU */
	int *finished;               /* [n]: candidates in the order they finished */
	int n_finished, handed;      /* finished so far; handed out of those */
	bool failed;                 /* a lane met a failure of kbreed's own */
	bool stop;                   /* judge_batch_end: take nothing more */
};

/* What a lane thread needs: its session and which GPU it is. */
struct lane_arg {
	struct judge *j;
	int lane;
};

static void *compile_thread(void *arg)
{
	struct judge_batch *b = arg;
	b->compile_rc = compile_batch(b->jobs, b->n_jobs, &b->co);
	return NULL;
}

/* The cutoff of adaptive timing for the candidates of b: JUDGE_EARLY_FACTOR
 * x the fastest correct median placed before the batch's first candidate
 * ran, else x PyTorch eager's; 0 for none (adaptive timing off, a full batch,
 * nothing to compare with). One cutoff for the whole batch, whatever order
 * its candidates finish in, so that a run is the same on one GPU or several.
 * Called once the session is prepared. */
static double cutoff_for(struct judge_batch *b)
{
	struct judge *j = b->j;
	if (!j->o.adaptive || b->full)
		return 0;
	if (b->laned)
		pthread_mutex_lock(&j->lane_lock);
	if (!b->cutoff_set) {
		const char *forced = getenv("KBREED_EARLY_CUTOFF_MS");
		if (forced && *forced && atof(forced) > 0)
			b->cutoff_ms = atof(forced);
		else if (j->best_ms > 0)
			b->cutoff_ms = JUDGE_EARLY_FACTOR * j->best_ms;
		else if (j->have_base && j->base.eager.median_ms > 0)
			b->cutoff_ms = JUDGE_EARLY_FACTOR * j->base.eager.median_ms;
		b->cutoff_set = true;
	}
	double cutoff = b->cutoff_ms;
	if (b->laned)
		pthread_mutex_unlock(&j->lane_lock);
	return cutoff;
}

bool judge_is_python(const char *path)
{
	size_t n = strlen(path);
	return n > 3 && !strcmp(path + n - 3, ".py");
}

int judge_python_check(const char *path, char **why)
{
	char *text = NULL;
	size_t len = 0;
	int rc = -1;
	*why = NULL;
	if (util_read_file(path, 16u << 20, &text, &len)) {
		*why = xasprintf("%s cannot be read (or is larger than 16 MiB)", path);
		return -1;
	}
	/* ModelNew as a whole word, anywhere: a comment that names it passes
	 * here and fails in the worker, which imports the file. */
	for (const char *p = text; (p = strstr(p, "ModelNew")); p += 8) {
		bool before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool after = isalnum((unsigned char)p[8]) || p[8] == '_';
		if (!before && !after) {
			rc = 0;
			break;
		}
	}
	if (rc)
		*why = xasprintf("%s defines no ModelNew: a Python solution is a KernelBench-style file "
				 "with class ModelNew(nn.Module), built like the problem's Model "
				 "(docs/EVALUATION.md, Python solutions)", path);
	free(text);
	return rc;
}

/* Steps 3-5 for a Python solution, in the Python worker of GPU lane (made at
 * its first solution). Returns 0, or -1 when kbreed itself failed. */
static int judge_python(struct judge *j, int lane, const char *path, struct judgement *out)
{
	if (j->o.dry_run) {
		out->res.verdict = VERDICT_NOT_RUN;
		out->res.detail = xstrdup("dry run: a Python solution is not judged");
		return 0;
	}
	if (judge_prepare(j))
		return -1;
	if (j->released)
		return error("%s: the session's workers were released; nothing more is judged", path);
	struct evaluator **pyev = lane ? &j->more[lane - 1].pyev : &j->pyev;
	if (!*pyev)
		*pyev = evaluator_new_python(&j->p, &j->refs, &j->o.eval, lane ? j->more[lane - 1].gpu.device : NULL);
	if (!*pyev)
		return -1;
	double g0 = util_now();
	if (evaluator_run(*pyev, path, &out->res)) {
		error("%s: %s", path, out->res.detail ? out->res.detail : "evaluation failed");
		judgement_release(out);
		return -1;
	}
	if (lane)
		j->more[lane - 1].gpu_s += util_now() - g0;
	else
		j->gpu_s += util_now() - g0;
	return 0;
}

/* Steps 1-5 for candidate i on GPU lane (0: the session's first): waits for
 * its compile job, then the policy's, the compiler's or the worker's
 * outcome into out. Returns 0, or -1 when kbreed itself failed. */
static int judge_candidate(struct judge_batch *b, int i, int lane, struct judgement *out)
{
	struct judge *j = b->j;
	int lc;
	char *why = NULL;
	struct compile_job *job = b->job_of[i] >= 0 ? &b->jobs[b->job_of[i]] : NULL;
	memset(out, 0, sizeof *out);
	eval_result_init(&out->res);
	if (job) {
		double wait0 = util_now();
		pthread_mutex_lock(&b->lock);
		while (!job->done)
			pthread_cond_wait(&b->cond, &b->lock);
		j->wait_s += util_now() - wait0;
		if (!job->cached && job->seconds > 0) {
			j->nvcc_s += job->seconds;
			j->compiled++;
			j->grouped += job->grouped > 0;
		}
		pthread_mutex_unlock(&b->lock);
		out->compile_s = job->cached ? 0 : job->seconds;
	}
	if (b->python[i]) {
		if (judge_python(j, lane, b->paths[i], out))
			return -1;
	} else if (!job) {
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
		/* 3-5: load, correctness and timing, in the worker of this GPU. */
		if (judge_prepare(j))
			return -1;
		if (j->released)
			return error("%s: the session's workers were released; nothing more is judged", b->paths[i]);
		struct evaluator *ev = lane ? j->more[lane - 1].ev : j->ev;
		double cutoff = cutoff_for(b);
		double g0 = util_now();
		if (evaluator_run_cutoff(ev, job->so_path, cutoff, JUDGE_EARLY_CALLS, &out->res)) {
			error("%s: %s", b->paths[i], out->res.detail ? out->res.detail : "evaluation failed");
			judgement_release(out);
			return -1;
		}
		if (lane)
			j->more[lane - 1].gpu_s += util_now() - g0;
		else
			j->gpu_s += util_now() - g0;
	}
	return 0;
}

/* 6. the verdict of candidate i, judged on lane, placed against PyTorch and
 * the floor (measured on the first GPU, of the same model); a result beyond
 * the memory floor is rejected, never a winner. */
static void judge_place(struct judge_batch *b, int i, int lane, struct judgement *out)
{
	struct judge *j = b->j;
	if (j->have_ceil)
		verdict_of_floor(&out->res, j->roof.memory_ms, j->p.min_bytes / 1e6, j->ceil.bandwidth_gbs);
	out->rep = (struct eval_report){
		.problem = &j->p, .candidate = b->paths[i], .arch = j->arch, .opts = &j->o.eval,
		.refs = j->o.dry_run ? NULL : &j->refs, .result = &out->res, .gpu = lane ? &j->more[lane - 1].gpu : &j->gpu,
		.baseline = j->have_base ? &j->base : NULL, .ceilings = j->have_ceil ? &j->ceil : NULL };
	report_derive(&out->rep);
	if (out->res.verdict == VERDICT_CORRECT && out->res.timed)
		judge_note_best(j, out->res.time.median_ms);
	j->early += out->res.early;
	j->judged++;
	if (lane)
		j->more[lane - 1].judged++;
}

/* One GPU's thread: takes the current batch's next candidate whenever there
 * is one, until the session closes. */
static void *lane_thread(void *arg)
{
	struct lane_arg *a = arg;
	struct judge *j = a->j;
	pthread_mutex_lock(&j->lane_lock);
	for (;;) {
		struct judge_batch *b = j->current;
		if (j->lanes_quit)
			break;
		if (!b || b->stop || b->failed || b->dispatched >= b->n) {
			pthread_cond_wait(&j->lane_cond, &j->lane_lock);
			continue;
		}
		int i = b->dispatched++;
		b->active++;
		pthread_mutex_unlock(&j->lane_lock);
		struct judgement o;
		int rc = judge_candidate(b, i, a->lane, &o);
		pthread_mutex_lock(&j->lane_lock);
		if (rc) {
			b->failed = true;
		} else {
			b->outs[i] = o;
			b->lane_of[i] = a->lane;
			b->finished[b->n_finished++] = i;
		}
		b->active--;
		pthread_cond_broadcast(&j->lane_cond);
	}
	pthread_mutex_unlock(&j->lane_lock);
	free(a);
	return NULL;
}

/* Starts one thread per GPU, once per session. Returns 0, or -1 when none
 * could be started (the caller then judges alone). */
static int lanes_start(struct judge *j)
{
	if (j->lanes)
		return 0;
	pthread_mutex_init(&j->lane_lock, NULL);
	pthread_cond_init(&j->lane_cond, NULL);
	j->lane_tid = xcalloc((size_t)j->n_more + 1, sizeof *j->lane_tid);
	for (int k = 0; k <= j->n_more; k++) {
		struct lane_arg *a = xcalloc(1, sizeof *a);
		*a = (struct lane_arg){ .j = j, .lane = k };
		if (pthread_create(&j->lane_tid[j->lanes], NULL, lane_thread, a)) {
			free(a);
			break;
		}
		j->lanes++;
	}
	if (j->lanes < 2) {
		lanes_stop(j);
		return -1;
	}
	return 0;
}

static void lanes_stop(struct judge *j)
{
	if (!j->lane_tid)
		return;
	pthread_mutex_lock(&j->lane_lock);
	j->lanes_quit = true;
	pthread_cond_broadcast(&j->lane_cond);
	pthread_mutex_unlock(&j->lane_lock);
	for (int k = 0; k < j->lanes; k++)
		pthread_join(j->lane_tid[k], NULL);
	pthread_mutex_destroy(&j->lane_lock);
	pthread_cond_destroy(&j->lane_cond);
	free(j->lane_tid);
	j->lane_tid = NULL;
	j->lanes = 0;
	j->lanes_quit = false;
}

static struct judge_batch *batch_start(struct judge *j, const char *const *paths, int n, bool full)
{
	struct judge_batch *b = xcalloc(1, sizeof *b);
	b->j = j;
	b->full = full;
	b->paths = paths;
	b->n = n;
	b->python = xcalloc((size_t)n + 1, sizeof *b->python);
	b->banned = xcalloc((size_t)n + 1, sizeof *b->banned);
	b->job_of = xcalloc((size_t)n + 1, sizeof *b->job_of);
	b->jobs = xcalloc((size_t)n + 1, sizeof *b->jobs);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	/* 1. policy: a banned source is not compiled at all. A Python
	 * solution is neither (docs/EVALUATION.md, Python solutions). */
	for (int i = 0; i < n; i++) {
		char *text = NULL;
		if ((b->python[i] = judge_is_python(paths[i]))) {
			b->job_of[i] = -1;
			continue;
		}
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
	j->compile_jobs = b->co.jobs;
	b->threaded = pthread_create(&b->tid, NULL, compile_thread, b) == 0;
	if (!b->threaded)
		compile_thread(b);
	/* 3-5 on every GPU at once, when there are several and a worker each. */
	if (j->n_more && !j->o.dry_run && n > 1 && judge_prepare(j) == 0 && lanes_start(j) == 0) {
		b->outs = xcalloc((size_t)n, sizeof *b->outs);
		b->lane_of = xcalloc((size_t)n, sizeof *b->lane_of);
		b->finished = xcalloc((size_t)n, sizeof *b->finished);
		b->laned = true;
		pthread_mutex_lock(&j->lane_lock);
		j->current = b;
		pthread_cond_broadcast(&j->lane_cond);
		pthread_mutex_unlock(&j->lane_lock);
	}
	return b;
}

struct judge_batch *judge_batch_start(struct judge *j, const char *const *paths, int n)
{
	return batch_start(j, paths, n, false);
}

int judge_batch_next(struct judge_batch *b, int *index, struct judgement *out)
{
	if (b->next >= b->n)
		return 0;
	struct judge *j = b->j;
	if (!b->laned) {
		int i = b->next++;
		*index = i;
		if (judge_candidate(b, i, 0, out))
			return -1;
		judge_place(b, i, 0, out);
		return 1;
	}
	pthread_mutex_lock(&j->lane_lock);
	while (b->handed == b->n_finished && !b->failed)
		pthread_cond_wait(&j->lane_cond, &j->lane_lock);
	if (b->handed == b->n_finished) {
		pthread_mutex_unlock(&j->lane_lock);
		return -1;   /* a lane failed (reported) */
	}
	int i = b->finished[b->handed++], lane = b->lane_of[i];
	*out = b->outs[i];
	memset(&b->outs[i], 0, sizeof b->outs[i]);
	judge_place(b, i, lane, out);   /* under the lock: the lanes count too */
	pthread_mutex_unlock(&j->lane_lock);
	b->next++;
	*index = i;
	return 1;
}

int judge_batch_end(struct judge_batch *b)
{
	if (!b)
		return 0;
	if (b->laned) {
		/* The lanes finish what they hold, and take nothing more. */
		struct judge *j = b->j;
		pthread_mutex_lock(&j->lane_lock);
		b->stop = true;
		while (b->active)
			pthread_cond_wait(&j->lane_cond, &j->lane_lock);
		j->current = NULL;
		pthread_mutex_unlock(&j->lane_lock);
		for (int h = b->handed; h < b->n_finished; h++)
			judgement_release(&b->outs[b->finished[h]]);
	}
	if (b->threaded)
		pthread_join(b->tid, NULL);
	int rc = b->compile_rc ? -1 : 0;
	for (int i = 0; i < b->n_jobs; i++)
		compile_job_release(&b->jobs[i]);
	for (int i = 0; i < b->n; i++)
		free(b->banned[i]);
	free(b->outs);
	free(b->lane_of);
	free(b->finished);
	free(b->jobs);
	free(b->job_of);
	free(b->banned);
	free(b->python);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
	return rc;
}

static int one(struct judge *j, const char *path, bool full, struct judgement *out)
{
	const char *paths[1] = { path };
	int index;
	struct judge_batch *b = batch_start(j, paths, 1, full);
	int rc = judge_batch_next(b, &index, out);
	if (judge_batch_end(b) && rc == 1) {
		judgement_release(out);
		rc = -1;
	}
	return rc == 1 ? 0 : -1;
}

int judge_one(struct judge *j, const char *path, struct judgement *out)
{
	return one(j, path, false, out);
}

int judge_one_full(struct judge *j, const char *path, struct judgement *out)
{
	return one(j, path, true, out);
}
