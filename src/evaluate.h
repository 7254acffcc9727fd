/*
 * evaluate.h - the judge. Runs candidates in the GPU worker (worker/worker.c),
 * compares their outputs with the references, and classifies every outcome.
 *
 * An evaluator belongs to one problem and one reference set. It keeps one
 * worker process alive across candidates and starts a fresh one after any
 * fault, crash or timeout, so that no candidate can leave a poisoned CUDA
 * context behind for the next.
 *
 * Only this process reads the reference outputs. The worker gets the
 * reference inputs as open descriptors, runs isolated (src/proc.h: the
 * reference directory hidden; as the unprivileged user when kbreed runs as
 * root, with copies of itself and of each candidate where that user can read
 * them), and the reference files are kept private to kbreed's user (0600 in
 * a 0700 directory). An evaluator also makes this process undumpable, so
 * that no process of the same user can read the references from its memory
 * or through its /proc entries. docs/EVALUATION.md has the rules.
 *
 * Inside: src/worker_client.c runs the worker process and speaks its
 * protocol (include/kbreed_worker_protocol.h, docs/WORKER.md);
 * src/verdict.c holds the rules that turn measurements into a verdict;
 * src/evaluate.c writes the job, compares the outputs and ties them up.
 */
#ifndef KBREED_EVALUATE_H
#define KBREED_EVALUATE_H

#include "bridge.h"
#include "compare.h"
#include "problem.h"
#include "verdict.h"   /* enum verdict, verdict_name, verdict_parse */

#include <stdbool.h>
#include <stddef.h>

/* The GPU, as the worker sees it. */
struct gpu_info {
	char *name;                 /* owned */
	int cc_major, cc_minor;
	int sm_count;
	long long l2_bytes;
	long long mem_bytes;
	int driver, runtime;        /* CUDA versions, e.g. 13000 */
	int sm_clock_mhz;           /* when queried; 0 when unknown */
	int mem_clock_mhz;
	int devices;                /* GPUs visible to the worker that was asked */
	int index;                  /* its index among kbreed's visible GPUs (--gpus) */
	char *device;               /* owned: CUDA_VISIBLE_DEVICES for a worker on this GPU
				     * alone (an entry of kbreed's own list, else its index);
				     * NULL: the host's only GPU, workers inherit kbreed's */
};

/* Asks the worker about the GPU (`kbreed-worker --info`). Returns 0, or -1
 * when there is no usable GPU or the worker speaks another protocol version
 * (reason reported). */
int gpu_info_query(struct gpu_info *g);
void gpu_info_release(struct gpu_info *g);

/* Whether spec is a --gpus value: "all", or indices among the visible GPUs
 * ("0", "0,2,3"), each once. Returns 0, or -1 after a message. */
int gpu_spec_check(const char *spec);
/*
 * The GPUs spec names (NULL: "all"), each described by a worker that sees it
 * alone: *gpus (n of them, in the order named) is the caller's, released by
 * gpu_list_free. A host with one GPU, asked for all, gives exactly what
 * gpu_info_query gives (device NULL): one GPU runs as it always did.
 * Returns 0; -2 (reported) when no GPU is usable at all; -1 (reported) when
 * a GPU named is not there or cannot be used.
 */
int gpu_select(const char *spec, struct gpu_info **gpus, int *n);
void gpu_list_free(struct gpu_info *gpus, int n);

/* Where outputs are checked: on the GPU by a comparer unless told files;
 * where the comparer cannot run, from files, said as a warning only where
 * --compare gpu (or $KBREED_COMPARE=gpu) asked for it. */
enum compare_mode {
	COMPARE_DEFAULT,  /* the comparer where it runs, else files, quietly */
	COMPARE_GPU,      /* --compare gpu: the same, a fallback warned */
	COMPARE_FILES,    /* --compare files */
};

struct eval_opts {
	int sets;          /* plain correctness input sets (>= 5) */
	bool stress;       /* also the stressed sets the reference data holds (on) */
	int seed;          /* base seed of the reference data */
	int warmup;        /* untimed calls before timing */
	int reps;          /* timed calls (>= 20) */
	int flush_mb;      /* L2 flush size before each timed call */
	double timeout_s;  /* wall-clock limit for one candidate in the worker */
	int threads;       /* host threads for comparisons */
	enum tolerance_profile tolerance;  /* the profile that decides the verdict */
	bool allow_libraries;              /* skip the library policy (src/policy.h) */
	enum compare_mode compare;  /* where outputs are checked (docs/EVALUATION.md,
				       "Checking on the GPU") */
};

void eval_opts_defaults(struct eval_opts *o);

struct eval_result {
	enum verdict verdict;            /* under opts.tolerance */
	char *detail;                    /* one line: why; owned */
	char *log;                       /* compile log or worker stderr; owned, may be NULL */
	bool checked;                    /* outputs were compared */
	bool gpu_checked;                /* ... on the GPU, by the comparer */
	bool pass[TOL_PROFILES];         /* verdict of the values under each profile */
	struct compare_stats stats;      /* over every set and output, flat indices per tensor */
	int bad_set[TOL_PROFILES];       /* set of the first bad element, -1 when none; sets
					    0..n-1 as the worker numbers them (plain, then
					    stressed: n = opts.sets + stressed), n and above
					    the check calls of set (k - n) */
	int bad_output[TOL_PROFILES];    /* output index of the first bad element */
	int norm_set, norm_output;       /* where stats.rel_l2 (the largest) was found; -1 when none */
	int stressed;                    /* stressed sets checked (after the opts.sets plain ones) */
	bool timed;                      /* timing numbers below are valid */
	struct timing time;              /* CUDA events, L2 flushed before each call;
					    time.reps: the timed calls made */
	double cutoff_ms;                /* adaptive timing's cutoff sent with it; 0: none */
	bool early;                      /* timing stopped at the cutoff: time.reps < the
					    reps asked, every one of the first calls slower */
	double host_median_ms;           /* host wall clock around call + device sync */
	double first_median_ms;          /* events, correctness calls on input sets 1..sets-1
					    (inputs seen for the first time); 0 when unknown */
	int sm_clock_mhz, mem_clock_mhz; /* read just after timing; 0 when unknown */
	size_t leaked_bytes;             /* device memory not given back */
	double wall_s;                   /* the whole evaluation */
};

void eval_result_init(struct eval_result *r);
/* Sets r's verdict and its one-line detail (printf-style; replaces any). */
void eval_result_set(struct eval_result *r, enum verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fills r as the outcome of a candidate that was compiled and not judged
 * (VERDICT_NOT_RUN, as in dry runs); why becomes the detail. */
void eval_result_not_run(struct eval_result *r, const char *why);
/* Fills r as the outcome of a candidate the library policy rejects. */
void eval_result_policy(struct eval_result *r, const char *why);
/* Fills r as the outcome of a candidate nvcc did not compile; log is copied. */
void eval_result_compile_error(struct eval_result *r, bool timed_out, const char *log);
void eval_result_release(struct eval_result *r);

struct evaluator;

/* Opens an evaluator for a problem whose references are in r. The problem
 * and refset must outlive it. Returns NULL on failure (reported). */
struct evaluator *evaluator_new(const struct problem *p, const struct refset *r,
				const struct eval_opts *o);
/* The same, its worker on one GPU of several: device is gpu_info.device
 * (copied; NULL: the worker inherits kbreed's view). */
struct evaluator *evaluator_new_on(const struct problem *p, const struct refset *r,
				   const struct eval_opts *o, const char *device);
/* An evaluator of Python solutions (KernelBench's `class ModelNew`): the
 * same job, references, comparison and rules, its worker the Python worker
 * (bridge/kbreed_pyworker.py under the bridge's Python) instead of
 * kbreed-worker, isolated the same way. Each solution gets a fresh worker
 * (Python cannot unload one), whose time limit is opts.timeout_s plus
 * EVAL_PYTHON_LOAD_S for the solution's import (load_inline compiles then).
 * device as for evaluator_new_on. */
struct evaluator *evaluator_new_python(const struct problem *p, const struct refset *r,
				       const struct eval_opts *o, const char *device);
#define EVAL_PYTHON_LOAD_S 300
/* Judges one compiled candidate (a shared object), or, for an evaluator of
 * Python solutions, one solution's .py file. Always fills res with an
 * outcome; returns -1 only when kbreed itself failed (e.g. no worker could
 * be started), with res->detail saying why. */
int evaluator_run(struct evaluator *ev, const char *so_path, struct eval_result *res);
/* The same, adaptively: when even the fastest of the first `calls` timed
 * calls is slower than cutoff_ms, the worker makes no more timed calls (every
 * checked call is still made) and res->early is set. cutoff_ms 0: none. A
 * worker that cannot stop early times every call (res->cutoff_ms 0). */
int evaluator_run_cutoff(struct evaluator *ev, const char *so_path, double cutoff_ms, int calls,
			 struct eval_result *res);
void evaluator_free(struct evaluator *ev);

#endif
