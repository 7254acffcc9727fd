/*
 * judge.h - the judge: one session per problem on one GPU, and the one
 * place where a candidate meets the rules.
 *
 * A session owns everything a verdict depends on: the problem as the bridge
 * described it, the GPU and its compile target, the reference data, the
 * PyTorch baseline, the machine's ceilings (and so the roofline), and the
 * GPU worker (src/evaluate.h). Every candidate goes through the same checks
 * in the same order:
 *
 *   1. policy       the source's text (src/policy.h), unless --allow-libraries
 *   2. compile      nvcc through the cache (src/compile.h), in the background
 *   3. load         what the shared object imports (src/linkcheck.h), then
 *                   in the worker: the ABI version, the entry point
 *   4. correctness  fresh inputs, every set, against the references
 *   5. timing       L2 flushed, events cross-checked by the host clock
 *   6. verdict      under the session's tolerance, placed against PyTorch
 *                   and the floor (src/report.h)
 *
 * On a host of several GPUs, a session judges on those its options name
 * (judge_opts.gpus), one worker per GPU: the candidates of a batch go to
 * whichever GPU is free, each judged once. Times are comparable only on one
 * GPU model, so a session uses the GPUs of one model, the first named's;
 * PyTorch, the references and the ceilings are measured on that first GPU.
 * With one GPU everything runs as in the one-GPU judge, in the caller's
 * thread.
 *
 * Adaptive timing (judge_opts.adaptive): each candidate is sent with a
 * cutoff, JUDGE_EARLY_FACTOR x the fastest correct median the session had
 * placed when its batch began (PyTorch eager's before there is one; one
 * cutoff per batch, so that the order candidates finish in, on one GPU or
 * several, changes nothing); a candidate whose first
 * JUDGE_EARLY_CALLS timed calls are all slower stops timing there
 * (eval_result.early), its correctness checked in full. The winner's
 * re-timing (judge_one_full) never has a cutoff.
 *
 * Overlap: judge_prepare_start makes the references, reads the ceilings and
 * times PyTorch in a thread of its own, while the caller writes candidates
 * and nvcc compiles them; a candidate waits for it only when it is to run.
 * The session counts where judging waited (for nvcc, for the references and
 * PyTorch), so that a run can say where the GPU's idle time went.
 *
 * `kbreed eval`, every round of `kbreed run`, the winner's re-timing and
 * `kbreed bench` all judge through this file; docs/EVALUATION.md states
 * the rules it applies. The judge knows nothing of the search that feeds it.
 */
#ifndef KBREED_JUDGE_H
#define KBREED_JUDGE_H

#include "bridge.h"
#include "evaluate.h"
#include "problem.h"
#include "report.h"

#include <pthread.h>
#include <stdbool.h>

/* Adaptive timing: the cutoff is this many times the fastest correct median
 * so far (PyTorch eager's before any), and it is looked at after this many
 * timed calls. A candidate within the factor of the best is a close
 * contender and gets every timed call. $KBREED_EARLY_CUTOFF_MS, when set,
 * replaces the cutoff of every candidate (tests: a tiny one forces an early
 * stop). */
#define JUDGE_EARLY_FACTOR 1.3
#define JUDGE_EARLY_CALLS 5

struct judge_opts {
	struct eval_opts eval;   /* sets, reps, tolerance, time limit, library policy */
	const char *arch;        /* compile target; NULL: $KBREED_ARCH, else the GPU's
	                          * (sm_90a in a dry run) */
	bool baseline;           /* time PyTorch eager when the session is prepared */
	bool torch_compile;      /* and torch.compile */
	bool compile_late;       /* torch.compile in judge_fresh_baseline only, not
				  * when the session is prepared: a search's minutes
				  * go to its candidates (torch.compile's timing took
				  * 6-14 s of level-1 runs on the H200), and its
				  * winner's re-timing measures torch.compile */
	bool dry_run;            /* no GPU: policy and compile only; verdict not_run */
	bool adaptive;           /* adaptive timing: a cutoff for every candidate but
				  * the winner's re-timing (off in eval by default) */
	const char *gpus;        /* --gpus: "all" (NULL) or indices, e.g. "0,2" */
};

void judge_opts_defaults(struct judge_opts *o);

/* A further GPU of the session's model, judging beside the first. */
struct judge_lane {
	struct gpu_info gpu;       /* its device is set */
	struct evaluator *ev;      /* its worker; NULL until prepared */
	struct evaluator *pyev;    /* its Python worker; NULL until a .py comes */
	double gpu_s;              /* seconds spent judging in its worker */
	int judged;
};

struct judge {
	struct judge_opts o;
	struct problem p;          /* described at open */
	struct gpu_info gpu;       /* name "none (dry run)" in a dry run */
	char *arch;                /* owned, e.g. "sm_90a" */
	struct refset refs;        /* reference data; prepared sessions only */
	struct baseline base;      /* PyTorch, timed when prepared (o.baseline) */
	bool have_base;
	struct ceilings ceil;      /* measured ceilings of this GPU */
	bool have_ceil;
	struct roofline roof;      /* the floor; 0 when the ceilings are unknown */
	struct evaluator *ev;      /* the GPU worker; NULL until prepared, or dry */
	struct evaluator *pyev;    /* the Python worker, for Python solutions;
				    * NULL until the first is judged */
	double gpu_s;              /* seconds spent judging in the worker */
	double wait_s;             /* seconds judging waited for nvcc */
	double nvcc_s;             /* nvcc's own seconds, summed over the candidates it compiled */
	int compiled;              /* candidates nvcc compiled (not found in the cache) */
	int grouped;               /* of those, compiled several to one nvcc (compile_group.h) */
	int compile_jobs;          /* nvcc processes at once, as the last batch ran them */
	double prepare_wait_s;     /* seconds judging (or the caller) waited for the
				    * references, ceilings and PyTorch's times */
	double prepare_s;          /* seconds judge_prepare's work took */
	int judged;                /* candidates given a verdict */
	int early;                 /* of those, timing stopped early (adaptive) */
	double best_ms;            /* the fastest correct median placed so far; 0: none */
	/* judge_prepare_start: the preparation in a thread of its own. */
	pthread_t prep_tid;
	bool prep_threaded;        /* prep_tid runs (not yet joined) */
	bool prep_done;            /* prepared (prep_rc says how) */
	int prep_rc;
	bool released;             /* judge_release_workers ran: nothing more is judged */
	struct judge_lane *more;   /* GPUs beyond the first, of its model; owned */
	int n_more;
	/* With more than one GPU, one thread per GPU (lane 0: the first) lives
	 * as long as the session: a worker dies with the thread that started
	 * it (PR_SET_PDEATHSIG), so threads are not made per batch. */
	pthread_t *lane_tid;       /* [1 + n_more] once started; owned */
	int lanes;                 /* lane threads running */
	pthread_mutex_t lane_lock; /* guards current and the batch's lane state */
	pthread_cond_t lane_cond;  /* work for the lanes, or an outcome for the caller */
	struct judge_batch *current; /* the batch the lanes take candidates from */
	bool lanes_quit;           /* judge_close: the lane threads end */
	bool env_set;              /* CUDA_VISIBLE_DEVICES was set to gpu.device for
				    * PyTorch and nvcc; restored to saved_env at close */
	char *saved_env;           /* kbreed's own CUDA_VISIBLE_DEVICES; NULL: unset */
};

/* GPUs judging in the session (1 + n_more), and their seconds of judging. */
int judge_gpus(const struct judge *j);
double judge_gpu_seconds(const struct judge *j);

/* Describes the problem at path and finds the GPU (or, in a dry run, the
 * target alone). Cheap: nothing is timed. Returns 0, or -1 reported (the
 * session is then released). */
int judge_open(struct judge *j, const char *problem_path, const struct judge_opts *o);
/* Makes the reference data, reads the ceilings, times PyTorch (o.baseline)
 * and starts the worker. A no-op in a dry run; after judge_prepare_start,
 * waits for it. Returns 0 or -1 reported (and the same again after). */
int judge_prepare(struct judge *j);
/* Starts judge_prepare's work in a thread of its own and returns at once;
 * candidates may be batched meanwhile (nvcc compiles; judging waits for it).
 * Until judge_prepare returns, the caller must not read refs, base,
 * have_base, ceil, have_ceil, roof or ev. Returns 0, or what judge_prepare
 * returned when no thread could be started. */
int judge_prepare_start(struct judge *j);
/* Whether judge_prepare has finished (and so those fields may be read). */
bool judge_prepared(const struct judge *j);
/* A correct median known from elsewhere (a resumed run's best): the cutoff
 * counts it as placed. */
void judge_note_best(struct judge *j, double ms);
/* Ends the session's workers and lane threads, so that the GPU memory they
 * hold (the inputs, the references) is free for PyTorch's closing
 * measurement; no candidate is judged after it (judging then fails,
 * reported). */
void judge_release_workers(struct judge *j);
void judge_close(struct judge *j);

/* One candidate's outcome. */
struct judgement {
	struct eval_result res;    /* the verdict and everything measured */
	struct eval_report rep;    /* against PyTorch and the floor; points into the
	                            * session and into res: valid while both are */
	double compile_s;          /* nvcc's time; 0 when cached or not compiled */
};

void judgement_release(struct judgement *o);

/* A set of candidates judged together: the policy is checked at once, nvcc
 * compiles in the background (all CPUs but two), and outcomes come back in
 * order, each as soon as its candidate is compiled and judged. */
struct judge_batch;

/* Whether path is a Python solution (it ends in .py): a KernelBench-style
 * `class ModelNew`, judged by the Python worker (docs/EVALUATION.md, Python
 * solutions) with no library policy, compile or link check, and the rest as
 * for a kernel. */
bool judge_is_python(const char *path);
/* Reads a Python solution's text, without running it: 0 when it names
 * ModelNew, else -1 with *why (caller frees) saying what is wrong. Whether
 * ModelNew is really a class the file defines is the worker's to find. */
int judge_python_check(const char *path, char **why);

/* paths: the candidates' .cu files, or Python solutions (judge_is_python)
 * (not copied: they must outlive the batch). */
struct judge_batch *judge_batch_start(struct judge *j, const char *const *paths, int n);
/* Waits for the next outcome. Returns 1 with *index and *out filled (caller
 * releases out), 0 when every outcome was handed out, -1 when kbreed itself
 * failed (reported: no worker could be started, nvcc could not be run). */
int judge_batch_next(struct judge_batch *b, int *index, struct judgement *out);
/* Waits for nvcc, frees the batch; outcomes not taken are dropped. Returns 0,
 * or -1 when the compiler could not be run. b may be NULL. */
int judge_batch_end(struct judge_batch *b);

/* One candidate, through a batch of one. Returns 0 or -1 as above. */
int judge_one(struct judge *j, const char *path, struct judgement *out);
/* The same with every timed call whatever the session's adaptive timing
 * says: the winner's re-timing. */
int judge_one_full(struct judge *j, const char *path, struct judgement *out);

/* Times PyTorch again now, for a comparison made beside it (the winner's
 * re-timing). Returns 0 or -1 reported. */
int judge_fresh_baseline(struct judge *j, struct baseline *b);

#endif
