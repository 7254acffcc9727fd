/*
 * sandbox.h - what keeps the children that handle candidates (nvcc and the
 * GPU worker) apart from kbreed: an environment with no secrets, an empty
 * network, the reference directory (sandbox_hidden_dir) covered, bubblewrap
 * or namespaces made here, and, when kbreed runs as root, an unprivileged
 * user (sandbox_run_as).
 *
 * proc.c runs the children and asks this file for a plan before fork
 * (sandbox_plan_prepare: everything that needs the heap or the user
 * database) and for the steps a child takes after fork (sandbox_child_*:
 * system calls only). This file never calls back into proc.c; the few
 * probes it runs itself (does bubblewrap work, can that user reach that
 * file) use a fork of their own.
 */
#ifndef KBREED_SANDBOX_H
#define KBREED_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#define SANDBOX_MAX_ARGV 160

/* How isolated children are isolated here. */
enum sandbox_kind {
	SANDBOX_NONE,
	SANDBOX_BWRAP,      /* bubblewrap: network namespace */
	SANDBOX_BWRAP_PID,  /* bubblewrap: network and process namespaces, own /proc */
	SANDBOX_NS,         /* root: mount and network namespaces made here */
	SANDBOX_NS_PID,     /* root: mount, network and process namespaces, own /proc */
};

/* Whether children asked to run without network can be, and $KBREED_NO_SANDBOX
 * is not set: as root, through namespaces kbreed makes itself (unshare);
 * otherwise through bubblewrap (bwrap on PATH and working here). Both give
 * them a process namespace of their own where the machine allows it.
 * Checked once per effective user; call it from the main thread before
 * starting threads. */
bool sandbox_available(void);
/* How: "namespaces", "bubblewrap" or "none". */
const char *sandbox_kind_name(void);
/* The kind in force for this effective user (probed at the first call). */
enum sandbox_kind sandbox_kind(void);
/* Whether the kind gives children a process namespace: everything they
 * start ends with them, and they see no other process. */
bool sandbox_has_pid_ns(enum sandbox_kind kind);

/* The directory isolated children must not see: the reference data in the
 * cache (<cache>/refs). Caller frees. */
char *sandbox_hidden_dir(void);

/* The bubblewrap command line for argv: fills out (NULL-terminated, at most
 * cap entries) and returns its length, or -1 when it does not fit. hide is
 * covered with an empty tmpfs when not NULL; pid_ns adds a process
 * namespace with its own /proc. */
int sandbox_bwrap_argv(const char *const *argv, const char *hide, bool pid_ns, const char **out, int cap);

/* Whether isolated children of this process run as another user, and which:
 * only when kbreed runs as root, as $KBREED_RUN_AS (a name or a number),
 * else "nobody"; KBREED_RUN_AS=root (or 0) keeps them as root. False, with
 * nothing filled, when they keep kbreed's user. */
bool sandbox_run_as(uid_t *uid, gid_t *gid);

/* Whether a child running as uid/gid could run argv (the program, each
 * path on its command line, relative to cwd when given, and $TMPDIR). Tests
 * it in a short-lived child that takes that identity; only root can. On
 * false, *why (when not NULL) says what it could not reach (caller frees). */
bool sandbox_user_can_run(const char *const *argv, const char *cwd, uid_t uid, gid_t gid, char **why);

/* The environment children get: the parent's, less anything that could be a
 * secret, kept to a known list of harmless names. NULL-terminated; static,
 * made at the first call. (Each child gets it as of its start: the plan
 * makes it anew, before fork, for every child.) */
char **sandbox_clean_env(void);
/* Whether a variable name is kept in the children's environment. */
bool sandbox_env_allowed(const char *name);

/* What a child wants from the sandbox. */
struct sandbox_request {
	const char *const *argv;   /* the program and its arguments */
	const char *cwd;           /* where it runs; NULL: kbreed's */
	bool isolate;              /* it handles candidates (proc_opts.no_network) */
	bool keep_user;            /* never change the user */
	bool see_refs;             /* leave the reference directory visible */
	const char *tmpdir;        /* the child's TMPDIR; NULL: kbreed's */
	const char *const *env;    /* "NAME=VALUE" set over the clean environment;
				      NULL-terminated, may be NULL; must outlive the plan */
	bool host_pids;            /* no process namespace of its own (proc_opts) */
};

/* What a child does to isolate itself, worked out before fork. */
struct sandbox_plan {
	enum sandbox_kind kind;   /* for this child: SANDBOX_NONE when not isolated */
	bool isolate;             /* the child handles candidates */
	bool drop;                /* take uid/gid */
	uid_t uid;
	gid_t gid;
	char *hide;               /* an existing directory to cover, or NULL */
	const char *bwrap[SANDBOX_MAX_ARGV];  /* the bubblewrap command line */
	const char *const *exec_argv;  /* what the child runs: bwrap or argv */
	char **env;               /* the clean environment, made for this child */
	char *tmpdir_var;         /* "TMPDIR=..." in env when the request set one; owned */
};

/* Fills plan for req (never fails: what cannot be had is left out, and said
 * once). Release with sandbox_plan_release. */
void sandbox_plan_prepare(struct sandbox_plan *plan, const struct sandbox_request *req);
void sandbox_plan_release(struct sandbox_plan *plan);

/* After fork, in the child, before it starts the program: the namespaces
 * (network, mount, and process when the kind has one: then the next child
 * forked is the first process of the new namespace) and the hidden
 * directory. Returns 0, or -1 with errno set. */
int sandbox_child_enter(const struct sandbox_plan *plan);
/* In the first process of a new process namespace: a /proc of its own.
 * Returns 0, or -1 with errno set. */
int sandbox_child_mount_proc(void);
/* In the process that runs the program, just before exec: the unprivileged
 * user, with a bounded number of processes (RLIMIT_NPROC, set only for that
 * user: as any other user it would count all of that user's processes), or
 * for one that keeps root, no power to look into other processes
 * (CAP_SYS_PTRACE). Returns 0, or -1 with errno set. */
int sandbox_child_drop(const struct sandbox_plan *plan);
#endif
