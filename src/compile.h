/*
 * compile.h - the compile stage: candidate sources into shared objects with
 * nvcc, many at once, through a content-addressed cache.
 *
 * The cache key is SHA-256 over everything nvcc sees but paths: the source,
 * every header of the include directory (the ABI header), the fixed and
 * extra flags, the target and nvcc's version: the same candidate is never
 * compiled twice. Products live in <cache>/build/<key>.so with the full log
 * in <key>.log; a source that nvcc rejected is remembered too (<key>.failed),
 * but only on the compiler's verdict (a normal exit with an error status):
 * a time limit, a signal or a full disk is tried again next time.
 *
 * Sources that may share a translation unit are compiled in groups
 * (compile_group.h): one nvcc for the group, one link per member, each
 * member's object under its own key. A group that fails, or a member whose
 * object the link-time check (linkcheck.h) refuses, is compiled alone, so
 * that outcomes and diagnostics are always a source's own.
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
	const char *include_dir; /* the headers candidates may include; NULL means <home>/include */
	int group;              /* candidates one nvcc compiles at most (compile_group.h); 0 means
				 * compile_group_size(), 1 compiles each alone */
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
	double seconds;         /* out: time nvcc took (a group's member: its share of the
				 * group's compile and its own link) */
	int grouped;            /* out: compiled in a group of this many (0: alone) */
	bool done;              /* out: the fields above are final */
};

void compile_job_release(struct compile_job *j);

/* Compiles every job, up to o->jobs at once. Returns 0 when every job got
 * an outcome (ok or not), -1 when kbreed itself could not run nvcc; either
 * way every job is marked done before it returns. */
int compile_batch(struct compile_job *jobs, int n, const struct compile_opts *o);

/* The cache key (64 hex digits and a NUL) of the source at path `source`
 * under o (arch, extra, include_dir); runs nvcc --version once per compiler.
 * Returns 0, or -1 when a file cannot be read or nvcc cannot be run. */
int compile_key(const char *source, const struct compile_opts *o, char key[65]);

/* What of nvcc's log may be shown to a model (caller frees): the
 * diagnostics about the candidate's own file (`source`, the path nvcc was
 * given) with the lines they quote, the compiler's and ptxas's own
 * messages and the error count. Diagnostics about any other file, and the
 * source lines they quote, are left out, with one closing line that says
 * how many lines and which files: what the compiler read is never echoed.
 * The full log stays on disk for the user. */
char *compile_log_for_model(const char *log, const char *source);

/* The target for a compute capability: "sm_90a" for 9.0 (wgmma needs the
 * arch-specific target), "sm_100a" for 10.0, else "sm_XY". Static storage. */
const char *compile_arch_for(int major, int minor);

/* The nvcc to run: $KBREED_NVCC, else $CUDA_HOME/bin/nvcc, else
 * /usr/local/cuda/bin/nvcc when present, else "nvcc", as the environment
 * says now. Static storage, valid until the answer changes. */
const char *compile_nvcc(void);

#endif
