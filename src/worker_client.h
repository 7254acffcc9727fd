/*
 * worker_client.h - kbreed's side of the GPU worker's process: starts it
 * (as the unprivileged user when kbreed is root), sends it candidates,
 * reads its replies under a time limit, stops and restarts it. It speaks
 * the protocol of include/kbreed_worker_protocol.h and decides nothing:
 * what the replies mean for a candidate is src/verdict.c's business.
 *
 * Pipeline position: evaluate, below src/evaluate.c, which owns one client.
 */
#ifndef KBREED_WORKER_CLIENT_H
#define KBREED_WORKER_CLIENT_H

#include "../include/kbreed_worker_protocol.h"
#include "proc.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How one "eval" ended. */
enum worker_end {
	WORKER_END_OK,        /* "end ok" */
	WORKER_END_FAULT,     /* "end fault" (fault and fault_msg say why) */
	WORKER_END_TIMEOUT,   /* no "end" within the time limit: killed */
	WORKER_END_HUNG,      /* closed its replies but did not exit: killed */
	WORKER_END_SIGNALED,  /* died by signal `code` */
	WORKER_END_EXITED,    /* exited with status `code` before "end" */
	WORKER_END_GONE,      /* would not take the command */
};

/* The raw outcome of one candidate in the worker: what it replied. */
struct worker_run {
	enum worker_end end;
	int code;                 /* SIGNALED: the signal; EXITED: the exit status */
	enum kbw_fault fault;     /* END_FAULT: the first fault's class */
	char *fault_msg;          /* END_FAULT: its message; owned, may be NULL */
	int sets, reps;           /* as asked */
	double cutoff_ms;         /* adaptive timing, as asked (set by the caller before
				     worker_client_eval; 0: none); 0 after it when the
				     worker takes no cutoff, so none applied */
	int cutoff_calls;         /* timed calls before the cutoff is looked at */
	bool early;               /* "early": the worker stopped timing at the cutoff */
	int early_calls;          /* the timed calls it says it made then */
	double *event_ms;         /* [reps]: CUDA events per timed call, in order */
	double *host_ms;          /* [reps]: host clock around call + device sync */
	int n_times;              /* timed calls reported */
	double *first_ms;         /* [sets]: events per first-sight call; -1 unknown */
	int sm_clock_mhz, mem_clock_mhz;  /* just after timing; 0 when unknown */
	size_t leaked_bytes;      /* device memory the candidate kept; 0 below the
				     worker's reporting threshold */
	int threads_left;         /* threads of the candidate still running */
	/* Checking on the GPU (set by the caller before worker_client_eval): */
	bool gpu;                 /* ask for "check" pauses instead of output files;
				     false after it when the worker takes no "gpu" */
	int (*on_check)(void *ctx, int set, int pass, char **stop_why);
				  /* called at each "check": 0 and *stop_why NULL
				     to go on, 0 and a message (malloc'd) to stop
				     the candidate, -1 when the check itself failed
				     (the candidate is stopped) */
	void *check_ctx;
	int checks;               /* "check" lines answered */
};

void worker_run_init(struct worker_run *r, int sets, int reps);
void worker_run_release(struct worker_run *r);

struct worker_client {
	char *job_path;     /* the job file (written by the caller); owned copy */
	char *log_path;     /* the worker's stderr; owned */
	char *worker_path;  /* the program to start (a copy, with drop); owned */
	char *origin_path;  /* where the program is: home_worker() or the script; owned */
	const int *fds;     /* descriptors the worker inherits; the caller's */
	int n_fds;
	struct proc proc;   /* pid -1 when none is running */
	struct buf pending; /* bytes read from the worker past the last line */
	bool drop;          /* the worker runs as run_uid/run_gid (kbreed is root) */
	uid_t run_uid;
	gid_t run_gid;
	char *dir;          /* the caller's private directory; owned copy */
	char *exec_dir;     /* with drop: where the worker and each candidate are
			       copied for it to read (root's, 0711); may equal dir */
	bool started;       /* a worker has started: how it starts is settled */
	bool takes_cutoff;  /* the running worker's ready line said "cutoff" */
	bool takes_ipc;     /* ... said "ipc": export and eval's gpu field */
	bool comparer;      /* started with --compare (a trusted comparer) */
	int starts;         /* processes started, to tell a new one from the last */
	bool host_pids;     /* no process namespace of its own (set by the caller
			       before the start: --compare gpu, whose CUDA IPC
			       handles do not cross process namespaces) */
	bool standin;       /* $KBREED_WORKER names another worker and
			       $KBREED_RUN_AS is not set: it may read references */
	int count;          /* candidates sent, to name copies */
	char *device_var;   /* "CUDA_VISIBLE_DEVICES=..." for a worker on one GPU of
			       several; owned; NULL: kbreed's own environment */
	char *interp;       /* the Python worker: the interpreter that runs
			       worker_path (a script); owned; NULL: a program */
	char **args;        /* its arguments after the job file; owned, NULL-terminated */
};

/* Prepares a client; starts nothing. dir is the caller's private directory
 * (the worker's log goes there); job_path the job file; fds the descriptors
 * the job names, which must stay open until the client is released.
 * Returns 0 (a client that cannot drop privileges falls back to root, with
 * a warning). */
int worker_client_init(struct worker_client *wc, const char *dir, const char *job_path,
		       const int *fds, int n_fds);
/* The same for the Python worker (bridge/kbreed_pyworker.py, docs/WORKER.md):
 * `interp script JOB args...`, which judges Python solutions. It is never a
 * stand-in: whatever $KBREED_WORKER says, it is isolated as the GPU worker
 * is (reference directory hidden, the unprivileged user when kbreed is
 * root, the script and each solution copied where that user can read them).
 * args (NULL-terminated, may be NULL) are copied. */
int worker_client_init_python(struct worker_client *wc, const char *dir, const char *job_path,
			      const int *fds, int n_fds, const char *interp, const char *script,
			      const char *const *args);
/* The same for the comparer, `kbreed-worker JOB --compare` (docs/WORKER.md):
 * trusted, it runs as kbreed's own user (never the unprivileged one, which
 * the candidate's worker may run as), in its own network namespace, and
 * reads the references through fds. */
int worker_client_init_comparer(struct worker_client *wc, const char *dir, const char *job_path,
				const int *fds, int n_fds);
/* Sends one line (newline included) to a running process. Returns 0, or -1
 * (the process is stopped) when it would not take it. */
int worker_client_send(struct worker_client *wc, const char *line);
/* Sends line (when not NULL) and reads replies until "end", each passed to
 * take (may be NULL) with ctx. Returns 0 at "end ok", 1 at "end fault"
 * (*fault_msg, when given, gets the first fault's message, malloc'd), -1
 * when the process died, did not answer within timeout_s, or replied
 * "error" (it is then stopped; *fault_msg gets the error's message). */
int worker_client_request(struct worker_client *wc, const char *line, double timeout_s,
			  void (*take)(void *ctx, const struct kbw_reply *r), void *ctx, char **fault_msg);
/* Asks a running worker to quit, waits briefly, and removes the copies. */
void worker_client_release(struct worker_client *wc);

bool worker_client_running(const struct worker_client *wc);
/* Starts a worker and waits for "ready" with the right protocol version.
 * Returns 0, or -1 (reported) when none could be started. */
int worker_client_start(struct worker_client *wc);
/* Ends the worker: kill_it kills at once, else it is asked to quit. */
void worker_client_stop(struct worker_client *wc, bool kill_it);

/* Runs one candidate: creates outdir for the worker to write into, sends
 * the shared object (a copy the worker can read, when it runs as another
 * user), with run->cutoff_ms when the worker takes a cutoff, and reads
 * replies until "end", the worker's death or timeout_s.
 * A worker that died or timed out is gone afterwards. run must have been
 * initialised. Returns 0 with run filled, or -1 (reported) when kbreed
 * itself failed: no worker could be started, outdir could not be made. */
int worker_client_eval(struct worker_client *wc, const char *so_path, const char *outdir,
		       double timeout_s, struct worker_run *run);

/* The last bytes of the worker's stderr (the caller frees). */
char *worker_client_log_tail(struct worker_client *wc);

#endif
