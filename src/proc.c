/*
 * proc.c - running children safely: fork/exec with a clean environment,
 * resource limits, a process group per child, capped capture of their
 * output, and a wall-clock limit enforced with poll().
 */
#define _GNU_SOURCE
#include "proc.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Names (or NAME_ prefixes, written with a trailing '*') children may see. */
static const char *const env_allow[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_*", "TZ", "TMPDIR", "TERM",
	"CUDA_*", "NVIDIA_*", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME",
	"PYTHONUNBUFFERED", "VIRTUAL_ENV", "CONDA_PREFIX", "TORCH*", "TORCHINDUCTOR_*",
	"TRITON_*", "XDG_CACHE_HOME", "OMP_NUM_THREADS", "KBREED_*", NULL,
};

/* Never passed on, even when a pattern above matches. */
static const char *const env_deny_substrings[] = {
	"KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", NULL,
};

bool proc_env_allowed(const char *name)
{
	for (int i = 0; env_deny_substrings[i]; i++)
		if (strstr(name, env_deny_substrings[i]))
			return false;
	for (int i = 0; env_allow[i]; i++) {
		const char *pat = env_allow[i];
		size_t n = strlen(pat);
		if (pat[n - 1] == '*') {
			if (!strncmp(name, pat, n - 1))
				return true;
		} else if (!strcmp(name, pat)) {
			return true;
		}
	}
	return false;
}

char **proc_clean_env(void)
{
	static char **clean;
	if (clean)
		return clean;
	size_t n = 0;
	while (environ[n])
		n++;
	clean = xcalloc(n + 1, sizeof *clean);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		if (!eq)
			continue;
		char *name = strndup(environ[i], (size_t)(eq - environ[i]));
		if (name && proc_env_allowed(name))
			clean[k++] = environ[i];
		free(name);
	}
	return clean;
}

bool proc_sandbox(void)
{
	static int state = -1;  /* -1 unknown, 0 no, 1 yes */
	if (state >= 0)
		return state;
	state = 0;
	const char *off = getenv("KBREED_NO_SANDBOX");
	if (off && *off && strcmp(off, "0"))
		return false;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("bwrap", "bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent",
		       "--", "true", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		state = 1;
	return state;
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

/* In the child, after fork: never returns. */
static void child_exec(const struct proc_opts *o, int in_fd, int out_fd, int err_fd)
{
	setpgid(0, 0);
	/* Children die with kbreed: a killed run leaves no worker or nvcc behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(126);
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
	if (o->no_network && proc_sandbox()) {
		/* The whole file system as it is, devices (the GPU) included; only
		 * the network is a new, empty namespace. */
		const char *argv[128];
		int n = 0;
		const char *pre[] = { "bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", "--" };
		for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
			argv[n++] = pre[i];
		for (int i = 0; o->argv[i] && n < 127; i++)
			argv[n++] = o->argv[i];
		argv[n] = NULL;
		execvpe(argv[0], (char *const *)argv, proc_clean_env());
	} else {
		execvpe(o->argv[0], (char *const *)o->argv, proc_clean_env());
	}
	fprintf(stderr, "cannot run %s: %s\n", o->argv[0], strerror(errno));
	_exit(127);
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
		child_exec(o, in[0], out[1], err_path ? errfile : err[1]);
	setpgid(pid, pid);
	p->pid = pid;
	p->sandboxed = o->no_network && proc_sandbox();
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
		child_exec(o, in, log, log);
	setpgid(p, p);
	*pid = p;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (log >= 0)
		close(log);
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
