/*
 * proc.c - running children safely: fork/exec with a clean environment,
 * resource limits, a process group per child, capped capture of their
 * output, and a wall-clock limit enforced with poll().
 *
 * Children that handle candidates (no_network) are isolated. Everything
 * that needs the heap or the user database (the sandbox's command line, the
 * directory to hide, the unprivileged user and whether it can reach what
 * the child needs) is worked out in the parent before fork; the child only
 * makes system calls, which is all that is safe after fork in a process
 * with threads.
 */
#define _GNU_SOURCE
#include "proc.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGV 160

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

/* The clean environment as of now: a new array of pointers into environ. */
static char **clean_env_now(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **clean = xcalloc(n + 1, sizeof *clean);
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

char **proc_clean_env(void)
{
	static char **clean;
	if (!clean)
		clean = clean_env_now();
	return clean;
}

/* How isolated children are isolated here. */
enum sandbox_kind {
	SANDBOX_NONE,
	SANDBOX_BWRAP,      /* bubblewrap: network namespace */
	SANDBOX_BWRAP_PID,  /* bubblewrap: network and process namespaces, own /proc */
	SANDBOX_NS,         /* root: mount and network namespaces made here */
};

int proc_bwrap_argv(const char *const *argv, const char *hide, bool pid_ns, const char **out, int cap)
{
	const char *pre[16];
	int n = 0, k = 0;
	pre[n++] = "bwrap";
	/* The whole file system as it is, devices (the GPU) included... */
	pre[n++] = "--dev-bind";
	pre[n++] = "/";
	pre[n++] = "/";
	/* ...but a network with nothing in it... */
	pre[n++] = "--unshare-net";
	if (pid_ns) {
		/* ...no other process to look through (/proc/PID/root would show
		 * what is hidden here)... */
		pre[n++] = "--unshare-pid";
		pre[n++] = "--proc";
		pre[n++] = "/proc";
	}
	pre[n++] = "--die-with-parent";
	if (hide) {
		/* ...and the reference data covered by an empty directory. */
		pre[n++] = "--tmpfs";
		pre[n++] = hide;
	}
	pre[n++] = "--";
	for (int i = 0; i < n; i++) {
		if (k >= cap - 1)
			return -1;
		out[k++] = pre[i];
	}
	for (int i = 0; argv[i]; i++) {
		if (k >= cap - 1)
			return -1;
		out[k++] = argv[i];
	}
	out[k] = NULL;
	return k;
}

/* Whether a command runs to success, its output discarded. */
static bool runs_ok(const char *const *argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Whether this process (root) can make the namespaces SANDBOX_NS needs. */
static bool unshare_works(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS | CLONE_NEWNET) == 0 &&
		      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		      mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=700") == 0
			      ? 0 : 1);
	int st = 0;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static enum sandbox_kind sandbox_state(void)
{
	static int state = -1;
	static uid_t for_euid;
	if (state >= 0 && for_euid == geteuid())
		return (enum sandbox_kind)state;
	for_euid = geteuid();
	state = SANDBOX_NONE;
	const char *off = getenv("KBREED_NO_SANDBOX");
	if (off && *off && strcmp(off, "0"))
		return SANDBOX_NONE;
	const char *probe[] = { "true", NULL };
	const char *argv[MAX_ARGV];
	if (geteuid() == 0 && unshare_works())
		state = SANDBOX_NS;
	else if (proc_bwrap_argv(probe, "/tmp", true, argv, MAX_ARGV) > 0 && runs_ok(argv))
		state = SANDBOX_BWRAP_PID;
	else if (proc_bwrap_argv(probe, "/tmp", false, argv, MAX_ARGV) > 0 && runs_ok(argv))
		state = SANDBOX_BWRAP;
	return (enum sandbox_kind)state;
}

bool proc_sandbox(void)
{
	return sandbox_state() != SANDBOX_NONE;
}

const char *proc_sandbox_kind(void)
{
	switch (sandbox_state()) {
	case SANDBOX_NS:
		return "namespaces";
	case SANDBOX_BWRAP:
	case SANDBOX_BWRAP_PID:
		return "bubblewrap";
	default:
		return "none";
	}
}

char *proc_hidden_dir(void)
{
	char *cache = util_cache_dir();
	char *dir = xasprintf("%s/refs", cache);
	free(cache);
	return dir;
}

bool proc_run_as(uid_t *uid, gid_t *gid)
{
	static bool warned;
	if (geteuid() != 0)
		return false;
	const char *name = getenv("KBREED_RUN_AS");
	if (!name || !*name)
		name = "nobody";
	if (!strcmp(name, "root") || !strcmp(name, "0"))
		return false;
	struct passwd pw, *found = NULL;
	char buf[16384];
	char *end = NULL;
	long id = strtol(name, &end, 10);
	if (end && *end == '\0' && id > 0) {
		if (getpwuid_r((uid_t)id, &pw, buf, sizeof buf, &found) || !found) {
			*uid = (uid_t)id;
			*gid = (gid_t)id;
			return true;
		}
	} else if (getpwnam_r(name, &pw, buf, sizeof buf, &found) || !found) {
		if (!warned)
			warn("no user %s to run nvcc and the GPU worker as (KBREED_RUN_AS): they run as root", name);
		warned = true;
		return false;
	}
	if (found->pw_uid == 0)
		return false;
	*uid = found->pw_uid;
	*gid = found->pw_gid;
	return true;
}

/* Takes uid/gid for good, with no supplementary groups; in a child only.
 * Raw system calls: they change this thread, which after fork is the only
 * one, without the library's machinery for changing every thread. */
static int become(uid_t uid, gid_t gid)
{
	if (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, gid, gid, gid) ||
	    syscall(SYS_setresuid, uid, uid, uid))
		return -1;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}

struct access_check {
	char *path;
	int mode;
	const char *verb;
};

static void add_check(struct access_check *c, int *n, int cap, const char *cwd, const char *path, int mode,
		      const char *verb)
{
	if (*n >= cap)
		return;
	c[*n].path = path[0] != '/' && cwd ? xasprintf("%s/%s", cwd, path) : xstrdup(path);
	c[*n].mode = mode;
	c[*n].verb = verb;
	++*n;
}

bool proc_user_can_run(const char *const *argv, const char *cwd, uid_t uid, gid_t gid, char **why)
{
	struct access_check c[MAX_ARGV + 4];
	int n = 0, cap = MAX_ARGV + 4;
	bool ok = false;
	if (why)
		*why = NULL;
	if (geteuid() != 0) {
		if (why)
			*why = xstrdup("only root can take another user's identity");
		return false;
	}
	/* The program, as execvp would find it. */
	if (strchr(argv[0], '/')) {
		add_check(c, &n, cap, cwd, argv[0], X_OK, "run");
	} else {
		const char *path = getenv("PATH");
		char *copy = xstrdup(path && *path ? path : "/usr/bin:/bin");
		for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char *full = xasprintf("%s/%s", d, argv[0]);
			struct stat st;
			bool here = stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0;
			if (here)
				add_check(c, &n, cap, cwd, full, X_OK, "run");
			free(full);
			if (here)
				break;
		}
		free(copy);
		if (!n) {
			if (why)
				*why = xasprintf("%s is not on PATH", argv[0]);
			return false;
		}
	}
	/* Every argument that names a file (or is an option whose value does,
	 * like -I/dir): read it; one that names a new file in an existing
	 * directory (an output): write there. */
	for (int i = 1; argv[i]; i++) {
		const char *p = argv[i][0] == '-' ? strchr(argv[i], '/') : argv[i];
		if (!p || !*p)
			continue;
		char *full = p[0] != '/' && cwd ? xasprintf("%s/%s", cwd, p) : xstrdup(p);
		struct stat st;
		if (stat(full, &st) == 0) {
			add_check(c, &n, cap, NULL, full, S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK, "read");
		} else if (strchr(p, '/')) {
			char *copy = xstrdup(full);
			char *dir = dirname(copy);
			if (util_is_dir(dir))
				add_check(c, &n, cap, NULL, dir, W_OK | X_OK, "write in");
			free(copy);
		}
		free(full);
	}
	const char *tmp = getenv("TMPDIR");
	add_check(c, &n, cap, NULL, tmp && *tmp ? tmp : "/tmp", W_OK | X_OK, "write in");

	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if ((cwd && chdir(cwd)) || become(uid, gid))
			_exit(255);
		for (int i = 0; i < n; i++)
			if (access(c[i].path, c[i].mode))
				_exit(i < 200 ? i + 1 : 200);
		_exit(0);
	}
	int st = 0;
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	int code = pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 255;
	ok = code == 0;
	if (!ok && why)
		*why = code >= 1 && code <= n ? xasprintf("cannot %s %s", c[code - 1].verb, c[code - 1].path)
					      : xstrdup("cannot take that identity");
	for (int i = 0; i < n; i++)
		free(c[i].path);
	return ok;
}

/* What a child does to isolate itself, worked out before fork. */
struct isolation {
	enum sandbox_kind kind;   /* for this child: SANDBOX_NONE when not isolated */
	bool drop;                /* take uid/gid */
	uid_t uid;
	gid_t gid;
	char *hide;               /* an existing directory to cover, or NULL */
	const char *argv[MAX_ARGV];  /* the bubblewrap command line */
	char **env;               /* the clean environment, made for this child */
	pid_t parent;
};

static void isolation_prepare(const struct proc_opts *o, struct isolation *iso)
{
	static bool noted;
	memset(iso, 0, sizeof *iso);
	iso->parent = getpid();
	iso->env = clean_env_now();
	if (!o->no_network)
		return;
	iso->kind = sandbox_state();
	char *hide = proc_hidden_dir();
	if (!o->see_refs && util_is_dir(hide))
		iso->hide = hide;
	else
		free(hide);
	uid_t uid;
	gid_t gid;
	if (!o->keep_user && proc_run_as(&uid, &gid)) {
		char *why = NULL;
		if (proc_user_can_run(o->argv, o->cwd, uid, gid, &why)) {
			iso->drop = true;
			iso->uid = uid;
			iso->gid = gid;
		} else if (!noted) {
			info("%s runs as root: user %d %s (said once)", o->argv[0], (int)uid, why ? why : "cannot run it");
			noted = true;
		}
		free(why);
	}
	/* Changing user comes first: bubblewrap was found to work as root. */
	if (iso->drop && (iso->kind == SANDBOX_BWRAP || iso->kind == SANDBOX_BWRAP_PID))
		iso->kind = SANDBOX_NONE;
	if ((iso->kind == SANDBOX_BWRAP || iso->kind == SANDBOX_BWRAP_PID) &&
	    proc_bwrap_argv(o->argv, iso->hide, iso->kind == SANDBOX_BWRAP_PID, iso->argv, MAX_ARGV) < 0) {
		warn("%s: too many arguments for the sandbox; it runs without", o->argv[0]);
		iso->kind = SANDBOX_NONE;
	}
}

static void isolation_release(struct isolation *iso)
{
	free(iso->hide);
	free(iso->env);
	iso->hide = NULL;
	iso->env = NULL;
}

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

/* In the child, after fork: never returns. */
static void child_exec(const struct proc_opts *o, const struct isolation *iso, int in_fd, int out_fd,
		       int err_fd)
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
	if (iso->kind == SANDBOX_NS) {
		/* A network with nothing in it, and the reference data covered by
		 * an empty, read-only file system that only root could take away. */
		if (unshare(CLONE_NEWNS | CLONE_NEWNET) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			child_fail("cannot make namespaces");
		if (iso->hide && mount("tmpfs", iso->hide, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
				       "size=4k,mode=700"))
			child_fail("cannot hide the reference data");
	}
	if (iso->drop) {
		if (become(iso->uid, iso->gid))
			child_fail("cannot change to the unprivileged user");
		prctl(PR_SET_PDEATHSIG, SIGKILL);  /* a change of user clears it */
	}
	if (getppid() != iso->parent)
		_exit(126);  /* kbreed ended before the death signal was armed */
	if (iso->kind == SANDBOX_BWRAP || iso->kind == SANDBOX_BWRAP_PID)
		execvpe(iso->argv[0], (char *const *)iso->argv, iso->env);
	else
		execvpe(o->argv[0], (char *const *)o->argv, iso->env);
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
	struct isolation iso;
	isolation_prepare(o, &iso);
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
		child_exec(o, &iso, in[0], out[1], err_path ? errfile : err[1]);
	setpgid(pid, pid);
	p->pid = pid;
	p->sandboxed = iso.kind == SANDBOX_BWRAP || iso.kind == SANDBOX_BWRAP_PID;
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
	isolation_release(&iso);
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
	struct isolation iso;
	isolation_prepare(o, &iso);
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
		child_exec(o, &iso, in, log, log);
	setpgid(p, p);
	*pid = p;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (log >= 0)
		close(log);
	isolation_release(&iso);
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
