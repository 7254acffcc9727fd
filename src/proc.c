/*
 * proc.c - running children safely: fork/exec with a clean environment,
 * resource limits, a process group per child, capped capture of their
 * output, and a wall-clock limit enforced with poll().
 *
 * Children that handle candidates (no_network) are isolated by the
 * sandbox (sandbox.c): its plan, which needs the heap and the user
 * database, is made in the parent before fork; the child only makes system
 * calls, which is all that is safe after fork in a process with threads.
 */
#define _GNU_SOURCE
#include "proc.h"

#include "log.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: says why it cannot go on, and ends. */
static _Noreturn void child_fail(const char *what)
{
	const char *e = strerror(errno);
	ssize_t w = write(2, "kbreed: ", 8);
	w = write(2, what, strlen(what));
	w = write(2, ": ", 2);
	w = write(2, e, strlen(e));
	w = write(2, "\n", 1);
	(void)w;
	_exit(126);
}

void proc_result_init(struct proc_result *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->out, 0);
	buf_init(&r->err, 1u << 20);
}

void proc_result_release(struct proc_result *r)
{
	buf_release(&r->out);
	buf_release(&r->err);
}

static void set_limit(int what, rlim_t v)
{
	struct rlimit rl = { v, v };
	setrlimit(what, &rl);
}

/* A directory entry as getdents64 gives it. */
struct dirent64_raw {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* In the reaper: kills every process whose parent is pid, found by a scan of
 * /proc with system calls only. Returns how many it killed. */
static int kill_children_of(pid_t pid)
{
	char dents[8192];
	int killed = 0;
	int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	for (;;) {
		long n = syscall(SYS_getdents64, dir, dents, sizeof dents);
		if (n <= 0)
			break;
		for (long at = 0; at < n;) {
			struct dirent64_raw *e = (struct dirent64_raw *)(dents + at);
			at += e->reclen;
			char path[64] = "/proc/";
			size_t k = 6;
			bool digits = e->name[0] != '\0';
			for (const char *c = e->name; *c && digits; c++)
				digits = *c >= '0' && *c <= '9' && k < 40 && (path[k++] = *c);
			if (!digits)
				continue;
			memcpy(path + k, "/stat", 6);
			/* "pid (comm) state ppid ...": comm is at most 16 bytes. */
			char stat[256];
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t got = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
			if (fd >= 0)
				close(fd);
			if (got <= 0)
				continue;
			stat[got] = '\0';
			char *close_paren = strrchr(stat, ')');
			if (!close_paren || close_paren[1] != ' ' || !close_paren[2] || close_paren[3] != ' ')
				continue;
			long ppid = 0, child = 0;
			for (const char *c = close_paren + 4; *c >= '0' && *c <= '9'; c++)
				ppid = ppid * 10 + (*c - '0');
			for (const char *c = e->name; *c; c++)
				child = child * 10 + (*c - '0');
			if (ppid == pid && kill((pid_t)child, SIGKILL) == 0)
				killed++;
		}
	}
	close(dir);
	return killed;
}

/* In the reaper: waits for main, reaping whatever else ends meanwhile (the
 * orphans handed to it). Returns main's wait status. */
static int reap_until(pid_t main_pid)
{
	for (;;) {
		int st = 0;
		pid_t w = waitpid(-1, &st, 0);
		if (w == main_pid)
			return st;
		if (w < 0 && errno != EINTR)
			return 126 << 8;  /* lost: as if it could not start */
	}
}

/* In the reaper, once the program has ended: kills what it left behind
 * (handed to the reaper as orphans, setsid or not), until nothing is left
 * or nothing more can be found. */
static void sweep_children(pid_t self)
{
	for (;;) {
		int found = kill_children_of(self);
		pid_t w = waitpid(-1, NULL, found ? 0 : WNOHANG);
		if (w > 0 || (w < 0 && errno == EINTR))
			continue;
		break;
	}
}

/* In the reaper: closes every descriptor but keep (-1: none). */
static void close_all_but(int keep)
{
	if (keep < 0) {
		if (syscall(SYS_close_range, 0u, ~0u, 0u) == 0)
			return;
	} else if ((keep == 0 || syscall(SYS_close_range, 0u, (unsigned)keep - 1, 0u) == 0) &&
		   syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0) {
		return;
	}
	/* A kernel before close_range (5.9). */
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 0; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		if (fd != keep)
			close(fd);
}

/* In the reaper: ends the way the program did. */
static _Noreturn void end_like(int st)
{
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		signal(sig, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		kill(getpid(), sig);
		_exit(128 + sig);
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 126);
}

/* The process that runs the program, after fork from its reaper: never
 * returns. */
static _Noreturn void child_program(const struct proc_opts *o, const struct sandbox_plan *plan, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (sandbox_child_drop(plan))
		child_fail("cannot change to the unprivileged user");
	prctl(PR_SET_PDEATHSIG, SIGKILL);  /* a change of user clears it */
	if (getppid() != parent)
		_exit(126);  /* the reaper ended before the death signal was armed */
	execvpe(plan->exec_argv[0], (char *const *)plan->exec_argv, plan->env);
	fprintf(stderr, "cannot run %s: %s\n", o->argv[0], strerror(errno));
	_exit(127);
}

/* The first process of a new process namespace: a /proc of its own, then
 * the program; when the program ends, so does the namespace and all in it.
 * Hands the program's wait status to the reaper outside through status_fd. */
static _Noreturn void child_ns_init(const struct proc_opts *o, const struct sandbox_plan *plan, int status_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (sandbox_child_mount_proc())
		child_fail("cannot mount /proc in the process namespace");
	pid_t prog = fork();
	if (prog < 0)
		child_fail("fork");
	if (prog == 0)
		child_program(o, plan, 1);
	int st = reap_until(prog);
	ssize_t w = write(status_fd, &st, sizeof st);
	(void)w;
	_exit(0);
}

/* In the child, after fork: never returns. The child is a reaper between
 * kbreed and the program, so that everything the program starts ends with
 * it: in a process namespace (the sandbox's, made here or by bubblewrap),
 * or else as the subreaper of all the program leaves behind, killed once
 * the program has ended. (Killed at a time limit, the reaper dies with its
 * group: a process that left the group then survives, where there is no
 * process namespace.) */
static _Noreturn void child_exec(const struct proc_opts *o, const struct sandbox_plan *plan, pid_t parent,
				 int in_fd, int out_fd, int err_fd)
{
	setpgid(0, 0);
	/* Children die with kbreed: a killed run leaves no worker or nvcc behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(126);
	for (int i = 0; i < o->n_keep_fds; i++)
		if (o->keep_fds[i] > 2 && fcntl(o->keep_fds[i], F_SETFD, 0))
			child_fail("cannot pass on a descriptor");
	if (o->cwd && chdir(o->cwd))
		_exit(126);
	if (o->cpu_seconds)
		set_limit(RLIMIT_CPU, (rlim_t)o->cpu_seconds);
	if (o->address_space_mb)
		set_limit(RLIMIT_AS, (rlim_t)o->address_space_mb << 20);
	if (o->file_size_mb)
		set_limit(RLIMIT_FSIZE, (rlim_t)o->file_size_mb << 20);
	set_limit(RLIMIT_CORE, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);  /* the reaper waits for its children */
	/* The reaper is a copy of kbreed: nothing may read its memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (sandbox_child_enter(plan))
		child_fail("cannot make namespaces");
	if (getppid() != parent)
		_exit(126);  /* kbreed ended before the death signal was armed */
	bool pid_ns = plan->kind == SANDBOX_NS_PID;
	int status[2] = { -1, -1 };
	if (pid_ns && pipe2(status, O_CLOEXEC))
		child_fail("pipe");
	if (!pid_ns && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		child_fail("cannot become a subreaper");
	pid_t self = getpid();
	pid_t first = fork();
	if (first < 0)
		child_fail("fork");
	if (first == 0) {
		if (pid_ns)
			child_ns_init(o, plan, status[1]);
		child_program(o, plan, self);
	}
	/* The reaper holds none of the pipes (a stdin never closed would keep
	 * the program waiting), nor anything else kbreed had open. */
	close_all_but(pid_ns ? status[0] : -1);
	int st = reap_until(first);
	if (pid_ns) {
		int inner;
		close(status[1]);
		if (read(status[0], &inner, sizeof inner) == (ssize_t)sizeof inner)
			st = inner;
	} else {
		sweep_children(self);
	}
	end_like(st);
}

/* The sandbox's plan for a child of these options. */
static void plan_for(const struct proc_opts *o, struct sandbox_plan *plan)
{
	struct sandbox_request req = { .argv = o->argv, .cwd = o->cwd, .isolate = o->no_network,
				       .keep_user = o->keep_user, .see_refs = o->see_refs, .tmpdir = o->tmpdir,
				       .env = o->env, .host_pids = o->host_pids };
	sandbox_plan_prepare(plan, &req);
}

static int make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC))
		return error("pipe: %s", strerror(errno));
	return 0;
}

int proc_start(struct proc *p, const struct proc_opts *o, const char *err_path)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int errfile = -1;
	int rc = -1;
	struct sandbox_plan plan;
	pid_t parent = getpid();
	plan_for(o, &plan);
	p->pid = -1;
	p->in_fd = p->out_fd = p->err_fd = -1;
	if (make_pipe(in) || make_pipe(out))
		goto out;
	if (err_path) {
		errfile = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (errfile < 0) {
			error("cannot open %s: %s", err_path, strerror(errno));
			goto out;
		}
	} else if (make_pipe(err)) {
		goto out;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		error("fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(o, &plan, parent, in[0], out[1], err_path ? errfile : err[1]);
	setpgid(pid, pid);
	p->pid = pid;
	p->sandboxed = plan.exec_argv == plan.bwrap;
	p->in_fd = in[1];
	in[1] = -1;
	p->out_fd = out[0];
	out[0] = -1;
	if (!err_path) {
		p->err_fd = err[0];
		err[0] = -1;
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0) close(in[i]);
		if (out[i] >= 0) close(out[i]);
		if (err[i] >= 0) close(err[i]);
	}
	if (errfile >= 0)
		close(errfile);
	sandbox_plan_release(&plan);
	return rc;
}

/* How a child ended, from its wait status. */
static void decode_status(const struct proc *p, int st, enum proc_end *end, int *code)
{
	if (WIFEXITED(st)) {
		*end = PROC_EXITED;
		*code = WEXITSTATUS(st);
		if (p->sandboxed && *code > 128 && *code < 128 + 65) {
			*end = PROC_SIGNALED;
			*code -= 128;
		}
	} else {
		*end = PROC_SIGNALED;
		*code = WTERMSIG(st);
	}
}

void proc_stop(struct proc *p, bool kill_it, enum proc_end *end, int *code)
{
	if (p->in_fd >= 0)
		close(p->in_fd);
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->in_fd = p->out_fd = p->err_fd = -1;
	if (p->pid <= 0)
		return;
	if (kill_it)
		kill(-p->pid, SIGKILL);
	int st = 0;
	while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
		;
	/* Whatever the child left behind in its group goes too. */
	kill(-p->pid, SIGKILL);
	if (end)
		decode_status(p, st, end, code);
	p->pid = -1;
}

void proc_finish(struct proc *p, double grace_s, enum proc_end *end, int *code)
{
	double deadline = util_now() + grace_s;
	int dummy;
	enum proc_end e = PROC_EXITED;
	if (!code)
		code = &dummy;
	while (p->pid > 0 && util_now() < deadline) {
		int st;
		pid_t w = waitpid(p->pid, &st, WNOHANG);
		if (w == p->pid) {
			kill(-p->pid, SIGKILL);
			decode_status(p, st, &e, code);
			p->pid = -1;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		usleep(2000);
	}
	if (p->pid > 0) {
		proc_stop(p, true, &e, code);
		e = PROC_TIMEOUT;
	} else {
		proc_stop(p, false, NULL, NULL);  /* closes the pipes */
	}
	if (end)
		*end = e;
}

int proc_read_line(struct proc *p, struct buf *pending, struct buf *line, double deadline)
{
	line->len = 0;
	for (;;) {
		char *nl = pending->len ? memchr(pending->data, '\n', pending->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - pending->data);
			if (buf_append(line, pending->data, n))
				return -1;
			memmove(pending->data, nl + 1, pending->len - n - 1);
			pending->len -= n + 1;
			pending->data[pending->len] = '\0';
			return 1;
		}
		int wait_ms = -1;
		if (deadline > 0) {
			double left = deadline - util_now();
			if (left <= 0)
				return -2;
			wait_ms = (int)(left * 1000) + 1;
		}
		struct pollfd pfd = { .fd = p->out_fd, .events = POLLIN };
		int n = poll(&pfd, 1, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return -2;
		char chunk[4096];
		ssize_t got = read(p->out_fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got == 0 ? 0 : -1;
		if (buf_append(pending, chunk, (size_t)got))
			return -1;
	}
}

int proc_run(const struct proc_opts *o, struct proc_result *r)
{
	struct proc p;
	double t0 = util_now();
	if (r->out.cap == 0 || o->out_cap)
		r->out.cap = o->out_cap ? o->out_cap : 64u << 20;
	if (o->err_cap)
		r->err.cap = o->err_cap;
	if (proc_start(&p, o, NULL)) {
		r->end = PROC_FAILED;
		return -1;
	}
	/* Standard input is fed from the same loop that drains the outputs, so a
	 * child that writes before it has read everything cannot deadlock us. */
	const char *in = o->stdin_data;
	size_t in_left = in ? strlen(in) : 0;
	signal(SIGPIPE, SIG_IGN);
	if (!in_left) {
		close(p.in_fd);
		p.in_fd = -1;
	} else {
		fcntl(p.in_fd, F_SETFL, fcntl(p.in_fd, F_GETFL) | O_NONBLOCK);
	}

	double deadline = o->timeout_s > 0 ? t0 + o->timeout_s : 0;
	bool timed_out = false;
	struct pollfd fds[3] = { { .fd = p.out_fd, .events = POLLIN },
				 { .fd = p.err_fd, .events = POLLIN },
				 { .fd = p.in_fd, .events = POLLOUT } };
	int open_fds = 2;
	while (open_fds || fds[2].fd >= 0) {
		int wait_ms = -1;
		if (deadline) {
			double left = deadline - util_now();
			if (left <= 0) {
				timed_out = true;
				break;
			}
			wait_ms = (int)(left * 1000) + 1;
		}
		int n = poll(fds, 3, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(fds[2].fd, in, in_left);
			if (w > 0) {
				in += w;
				in_left -= (size_t)w;
			}
			if (in_left == 0 || (w < 0 && errno != EAGAIN && errno != EINTR)) {
				close(fds[2].fd);
				fds[2].fd = p.in_fd = -1;
			}
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char chunk[65536];
			ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				fds[i].fd = -1;
				open_fds--;
				if (open_fds == 0 && fds[2].fd >= 0) {
					/* The child closed its outputs: nobody reads the rest. */
					close(fds[2].fd);
					fds[2].fd = p.in_fd = -1;
				}
				continue;
			}
			struct buf *b = i == 0 ? &r->out : &r->err;
			if (buf_append(b, chunk, (size_t)got))
				r->truncated = true;
		}
	}
	/* Pipes closed; the child may still linger. Wait for it within the limit. */
	enum proc_end end = PROC_EXITED;
	int code = 0;
	if (!timed_out && deadline) {
		proc_finish(&p, deadline - util_now() > 0 ? deadline - util_now() : 0, &end, &code);
		timed_out = end == PROC_TIMEOUT;
	} else {
		proc_stop(&p, timed_out, &end, &code);
	}
	r->wall_s = util_now() - t0;
	if (timed_out) {
		r->end = PROC_TIMEOUT;
	} else {
		r->end = end;
		if (end == PROC_EXITED)
			r->exit_code = code;
		else
			r->signal = code;
	}
	return 0;
}

int proc_spawn_logged(const struct proc_opts *o, const char *log_path, pid_t *pid)
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = -1;
	struct sandbox_plan plan;
	pid_t parent = getpid();
	plan_for(o, &plan);
	if (in < 0 || log < 0) {
		error("cannot open %s: %s", log_path, strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid_t p = fork();
	if (p < 0) {
		error("fork: %s", strerror(errno));
		goto out;
	}
	if (p == 0)
		child_exec(o, &plan, parent, in, log, log);
	setpgid(p, p);
	*pid = p;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (log >= 0)
		close(log);
	sandbox_plan_release(&plan);
	return rc;
}

int proc_wait_nohang(pid_t pid, enum proc_end *end, int *code)
{
	int st = 0;
	pid_t w = waitpid(pid, &st, WNOHANG);
	if (w == 0)
		return 0;
	if (w < 0)
		return errno == EINTR ? 0 : -1;
	kill(-pid, SIGKILL);  /* leftovers of its group */
	if (WIFEXITED(st)) {
		*end = PROC_EXITED;
		*code = WEXITSTATUS(st);
	} else {
		*end = PROC_SIGNALED;
		*code = WTERMSIG(st);
	}
	return 1;
}

void proc_kill(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}
