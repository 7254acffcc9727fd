/*
 * proc.h - child processes: nvcc, the Python bridge and the GPU worker all run
 * as children with a clean environment (no API keys), resource limits, their
 * own process group (so a timeout kills everything they started) and a
 * wall-clock limit.
 *
 * Between kbreed and each program stands a reaper, so that all the program
 * starts (even in a session of its own) ends with it.
 *
 * Children that handle candidates (nvcc and the GPU worker, started with
 * no_network) are isolated as far as this machine allows, by the sandbox
 * (sandbox.h): a network of their own, the reference directory covered by
 * an empty file system, and, when kbreed runs as root, an unprivileged user.
 */
#ifndef KBREED_PROC_H
#define KBREED_PROC_H

#include "util.h"

#include <stdbool.h>
#include <sys/types.h>

/* How a child ended. */
enum proc_end {
	PROC_EXITED,    /* exit_code is valid */
	PROC_SIGNALED,  /* signal is valid */
	PROC_TIMEOUT,   /* killed by kbreed after the time limit */
	PROC_FAILED,    /* could not be started */
};

struct proc_opts {
	const char *const *argv;   /* argv[0] is looked up in PATH */
	const char *cwd;           /* NULL: inherit */
	double timeout_s;          /* wall-clock limit; 0 means none */
	size_t out_cap;            /* stdout bytes kept; 0 means 64 MiB */
	size_t err_cap;            /* stderr bytes kept; 0 means 1 MiB */
	const char *stdin_data;    /* written to the child's stdin, then closed; may be NULL */
	size_t cpu_seconds;        /* RLIMIT_CPU; 0 means unlimited */
	size_t address_space_mb;   /* RLIMIT_AS; 0 means unlimited (the GPU worker:
				      CUDA reserves far more address space than
				      it uses, and would fail under a limit) */
	size_t file_size_mb;       /* RLIMIT_FSIZE; 0 means unlimited */
	bool no_network;           /* the child handles candidates: isolate it. A
				      network namespace of its own, empty, and the
				      reference directory hidden, when sandbox_available()
				      says it works here; when kbreed runs as root,
				      also run as the unprivileged user (sandbox_run_as)
				      if that user can reach the program and every
				      path on its command line (checked first: if
				      not, the child keeps kbreed's user) */
	bool keep_user;            /* with no_network: never change the user */
	bool see_refs;             /* with no_network: leave the reference directory
				      visible (a stand-in worker in tests, which
				      fakes right outputs by reading them) */
	const char *tmpdir;        /* the child's TMPDIR; NULL: kbreed's (children in PID
				      namespaces of their own share a pid: give each
				      one that names temporary files by pid its own) */
	const int *keep_fds;       /* descriptors the child inherits, same numbers */
	int n_keep_fds;
	const char *const *env;    /* "NAME=VALUE" entries set in the child's clean
				      environment over what it holds (e.g. the GPU
				      worker's CUDA_VISIBLE_DEVICES); NULL-terminated;
				      NULL: none */
	bool host_pids;            /* with no_network: stay in kbreed's process
				      namespace (the GPU worker and the comparer of
				      --compare gpu: legacy CUDA IPC handles do not
				      cross process namespaces); the rest of the
				      sandbox stays */
};

struct proc_result {
	enum proc_end end;
	int exit_code;     /* when end == PROC_EXITED */
	int signal;        /* when end == PROC_SIGNALED */
	double wall_s;     /* time from start to end */
	struct buf out;    /* captured stdout (capped) */
	struct buf err;    /* captured stderr (capped) */
	bool truncated;    /* output went past a cap and was cut */
};

void proc_result_init(struct proc_result *r);
void proc_result_release(struct proc_result *r);

/* Runs a child to completion. Returns 0 when the child ran (whatever its
 * exit), -1 when it could not be started. */
int proc_run(const struct proc_opts *o, struct proc_result *r);

/* A long-lived child that talks over pipes (the GPU worker). */
struct proc {
	pid_t pid;       /* -1 when not running */
	int in_fd;       /* its stdin, ours to write */
	int out_fd;      /* its stdout, ours to read */
	int err_fd;      /* its stderr, ours to read; -1 when sent to a file */
	bool sandboxed;  /* runs under bwrap, which reports a child's death by
			    signal N as exit status 128 + N */
};

/* Starts argv with pipes on stdin/stdout; stderr goes to err_path (appended)
 * when given. Returns 0 or -1. */
int proc_start(struct proc *p, const struct proc_opts *o, const char *err_path);
/* Reads one '\n'-terminated line from the child's stdout into line (without
 * the newline). Returns 1 on a line, 0 at end of file, -1 on error, -2 on
 * timeout (deadline is util_now() based; 0 means none). */
int proc_read_line(struct proc *p, struct buf *pending, struct buf *line, double deadline);
/* Closes the pipes, waits up to grace_s seconds for the child to end, then
 * kills its group; fills how it ended (end/code may be NULL). */
void proc_finish(struct proc *p, double grace_s, enum proc_end *end, int *code);
/* Kills the child's process group (if running) and reaps it; fills how it
 * ended when end is not NULL. */
void proc_stop(struct proc *p, bool kill_it, enum proc_end *end, int *code);

/* Starts a child whose stdout and stderr both go to log_path (truncated).
 * Returns 0 with *pid set, or -1. Reap it with proc_wait_nohang. */
int proc_spawn_logged(const struct proc_opts *o, const char *log_path, pid_t *pid);
/* Non-blocking reap: 1 when the child ended (end/code filled), 0 when still
 * running, -1 on error. */
int proc_wait_nohang(pid_t pid, enum proc_end *end, int *code);
/* Kills a child's whole process group and reaps it. */
void proc_kill(pid_t pid);
#endif
