/*
 * compile.h - the compile stage: candidate sources into shared objects with
 * nvcc, many at once, through a content-addressed cache.
 *
 * The cache key is SHA-256 over the source, the ABI header, the flags, the
 * target and nvcc's version: the same candidate is never compiled twice.
 * Products live in <cache>/build/<key>.so with the full log in <key>.log;
 * a source that nvcc rejected is remembered too (<key>.failed).
 */
#ifndef KBREED_COMPILE_H
#define KBREED_COMPILE_H

#include <pthread.h>
#include <stdbool.h>

struct compile_opts {
	const char *arch;       /* e.g. "sm_90a" (see compile_arch_for) */
	int jobs;               /* nvcc processes at once; 0 means the CPU count */
	double timeout_s;       /* per job; 0 means 300 s */
	const char *extra;      /* extra nvcc flags, space-separated; may be NULL */
	/* When set, compile_batch marks each job done under this lock and
	 * broadcasts `cond`, so that another thread can judge candidates while
	 * the rest still compile. */
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
};

struct compile_job {
	const char *source;     /* in: path of the .cu; not owned */
	bool ok;                /* out: a shared object was made (or found) */
	bool cached;            /* out: found in the cache, nvcc not run */
	bool timed_out;         /* out: nvcc ran past the limit */
	char *so_path;          /* out, owned: the shared object when ok */
	char *log;              /* out, owned: nvcc's output (capped at 256 KiB) */
	char *log_path;         /* out, owned: the full log on disk */
	double seconds;         /* out: time nvcc took */
	bool done;              /* out: the fields above are final */
};

void compile_job_release(struct compile_job *j);

/* Compiles every job, up to o->jobs at once. Returns 0 when every job got
 * an outcome (ok or not), -1 when kbreed itself could not run nvcc; either
 * way every job is marked done before it returns. */
int compile_batch(struct compile_job *jobs, int n, const struct compile_opts *o);

/* The target for a compute capability: "sm_90a" for 9.0 (wgmma needs the
 * arch-specific target), "sm_100a" for 10.0, else "sm_XY". Static storage. */
const char *compile_arch_for(int major, int minor);

/* The nvcc to run: $KBREED_NVCC, else $CUDA_HOME/bin/nvcc, else
 * /usr/local/cuda/bin/nvcc when present, else "nvcc". Static storage. */
const char *compile_nvcc(void);

#endif
