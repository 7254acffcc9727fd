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

#include <stdbool.h>

struct judge_opts {
	struct eval_opts eval;   /* sets, reps, tolerance, time limit, library policy */
	const char *arch;        /* compile target; NULL: $KBREED_ARCH, else the GPU's
	                          * (sm_90a in a dry run) */
	bool baseline;           /* time PyTorch eager when the session is prepared */
	bool torch_compile;      /* and torch.compile */
	bool dry_run;            /* no GPU: policy and compile only; verdict not_run */
};

void judge_opts_defaults(struct judge_opts *o);

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
	double gpu_s;              /* seconds spent judging in the worker */
	double wait_s;             /* seconds judging waited for nvcc */
	int judged;                /* candidates given a verdict */
};

/* Describes the problem at path and finds the GPU (or, in a dry run, the
 * target alone). Cheap: nothing is timed. Returns 0, or -1 reported (the
 * session is then released). */
int judge_open(struct judge *j, const char *problem_path, const struct judge_opts *o);
/* Makes the reference data, reads the ceilings, times PyTorch (o.baseline)
 * and starts the worker. A no-op in a dry run. Returns 0 or -1 reported. */
int judge_prepare(struct judge *j);
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

/* paths: the candidates' .cu files (not copied: they must outlive the batch). */
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

/* Times PyTorch again now, for a comparison made beside it (the winner's
 * re-timing). Returns 0 or -1 reported. */
int judge_fresh_baseline(struct judge *j, struct baseline *b);

#endif
