/*
 * sandbox.c - keeping the children that handle candidates apart from
 * kbreed: the environment's allow-list (secrets never pass), bubblewrap or
 * namespaces made here, the reference directory covered, and the
 * unprivileged user a root kbreed hands them to, with the check that this
 * user can reach what the child needs.
 *
 * Everything that needs the heap or the user database is worked out in the
 * parent before fork (sandbox_plan_prepare); what the child does after fork
 * (sandbox_child_*) is system calls only, which is all that is safe after
 * fork in a process with threads. proc.c runs the children; this file does
 * not call into it: its probes fork for themselves.
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <libgen.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* RLIMIT_NPROC for the unprivileged user: room for nvcc's tools and the
 * CUDA runtime's threads in several children at once, not for a fork bomb. */
#define SANDBOX_NPROC 1024

extern char **environ;

/* Names (or NAME_ prefixes, written with a trailing '*') children may see. */
static const char *const env_allow[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_*", "TZ", "TMPDIR", "TERM",
	"CUDA_*", "NVIDIA_*", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME",
	"PYTHONUNBUFFERED", "VIRTUAL_ENV", "CONDA_PREFIX", "TORCH*", "TORCHINDUCTOR_*",
	"TRITON_*", "XDG_CACHE_HOME", "OMP_NUM_THREADS", "KBREED_*", NULL,
};

/* Never passed on, whatever pattern above let the name through, in any
 * case (KBREED_api_key, CUDA_AUTH): a name that holds one of these could
 * carry a secret. PASS covers PASSWORD, PASSWD and PASSPHRASE. */
static const char *const env_deny_substrings[] = {
	"KEY", "TOKEN", "SECRET", "PASS", "AUTH", "CREDENTIAL", "PRIVATE", "COOKIE", "SESSION", NULL,
};

bool sandbox_env_allowed(const char *name)
{
	for (int i = 0; env_deny_substrings[i]; i++)
		if (strcasestr(name, env_deny_substrings[i]))
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
		if (name && sandbox_env_allowed(name))
			clean[k++] = environ[i];
		free(name);
	}
	return clean;
}

char **sandbox_clean_env(void)
{
	static char **clean;
	if (!clean)
		clean = clean_env_now();
	return clean;
}

int sandbox_bwrap_argv(const char *const *argv, const char *hide, bool pid_ns, const char **out, int cap)
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
		 * what is hidden here), and nothing left behind: all that the
		 * child starts ends with bubblewrap's first process... */
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

/* Whether this process (root) can make the namespaces SANDBOX_NS needs,
 * and with pid_ns SANDBOX_NS_PID: a process namespace whose first process
 * mounts a /proc of its own. */
static bool unshare_works(bool pid_ns)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS | CLONE_NEWNET | (pid_ns ? CLONE_NEWPID : 0)) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=700"))
			_exit(1);
		if (!pid_ns)
			_exit(0);
		pid_t first = fork();
		if (first == 0)
			_exit(sandbox_child_mount_proc() ? 1 : 0);
		int st = 0;
		_exit(first > 0 && waitpid(first, &st, 0) == first && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
	}
	int st = 0;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

enum sandbox_kind sandbox_kind(void)
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
	const char *argv[SANDBOX_MAX_ARGV];
	if (geteuid() == 0 && unshare_works(true))
		state = SANDBOX_NS_PID;
	else if (geteuid() == 0 && unshare_works(false))
		state = SANDBOX_NS;
	else if (sandbox_bwrap_argv(probe, "/tmp", true, argv, SANDBOX_MAX_ARGV) > 0 && runs_ok(argv))
		state = SANDBOX_BWRAP_PID;
	else if (sandbox_bwrap_argv(probe, "/tmp", false, argv, SANDBOX_MAX_ARGV) > 0 && runs_ok(argv))
		state = SANDBOX_BWRAP;
	return (enum sandbox_kind)state;
}

bool sandbox_available(void)
{
	return sandbox_kind() != SANDBOX_NONE;
}

bool sandbox_has_pid_ns(enum sandbox_kind kind)
{
	return kind == SANDBOX_BWRAP_PID || kind == SANDBOX_NS_PID;
}

const char *sandbox_kind_name(void)
{
	switch (sandbox_kind()) {
	case SANDBOX_NS:
	case SANDBOX_NS_PID:
		return "namespaces";
	case SANDBOX_BWRAP:
	case SANDBOX_BWRAP_PID:
		return "bubblewrap";
	default:
		return "none";
	}
}

char *sandbox_hidden_dir(void)
{
	char *cache = util_cache_dir();
	char *dir = xasprintf("%s/refs", cache);
	free(cache);
	return dir;
}

bool sandbox_run_as(uid_t *uid, gid_t *gid)
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

bool sandbox_user_can_run(const char *const *argv, const char *cwd, uid_t uid, gid_t gid, char **why)
{
	struct access_check c[SANDBOX_MAX_ARGV + 4];
	int n = 0, cap = SANDBOX_MAX_ARGV + 4;
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

/* Sets "NAME=VALUE" in the plan's environment (the entry is not copied). */
static void env_put(struct sandbox_plan *plan, const char *entry)
{
	size_t len = strcspn(entry, "="), n = 0;
	while (plan->env[n] && !(strncmp(plan->env[n], entry, len + 1) == 0))
		n++;
	if (!plan->env[n]) {
		plan->env = xrealloc(plan->env, (n + 2) * sizeof *plan->env);
		plan->env[n + 1] = NULL;
	}
	plan->env[n] = (char *)entry;
}

void sandbox_plan_prepare(struct sandbox_plan *plan, const struct sandbox_request *req)
{
	static bool noted;
	memset(plan, 0, sizeof *plan);
	plan->env = clean_env_now();
	if (req->tmpdir) {
		/* Its own TMPDIR: children in PID namespaces of their own all have
		 * the same pid, so temporary names made from the pid (nvcc's
		 * tmpxft_<pid>_...) would collide in a shared directory. */
		plan->tmpdir_var = xasprintf("TMPDIR=%s", req->tmpdir);
		env_put(plan, plan->tmpdir_var);
	}
	for (int i = 0; req->env && req->env[i]; i++)
		env_put(plan, req->env[i]);
	plan->exec_argv = req->argv;
	plan->isolate = req->isolate;
	if (!req->isolate)
		return;
	plan->kind = sandbox_kind();
	/* Without a process namespace, where one was asked to be left out: the
	 * kinds without one work wherever those with one do. */
	if (req->host_pids && plan->kind == SANDBOX_NS_PID)
		plan->kind = SANDBOX_NS;
	else if (req->host_pids && plan->kind == SANDBOX_BWRAP_PID)
		plan->kind = SANDBOX_BWRAP;
	char *hide = sandbox_hidden_dir();
	if (!req->see_refs && util_is_dir(hide))
		plan->hide = hide;
	else
		free(hide);
	uid_t uid;
	gid_t gid;
	if (!req->keep_user && sandbox_run_as(&uid, &gid)) {
		char *why = NULL;
		if (sandbox_user_can_run(req->argv, req->cwd, uid, gid, &why)) {
			plan->drop = true;
			plan->uid = uid;
			plan->gid = gid;
		} else if (!noted) {
			info("%s runs as root: user %d %s (said once)", req->argv[0], (int)uid,
			     why ? why : "cannot run it");
			noted = true;
		}
		free(why);
	}
	/* Changing user comes first: bubblewrap was found to work as root. */
	if (plan->drop && (plan->kind == SANDBOX_BWRAP || plan->kind == SANDBOX_BWRAP_PID))
		plan->kind = SANDBOX_NONE;
	if (plan->kind == SANDBOX_BWRAP || plan->kind == SANDBOX_BWRAP_PID) {
		if (sandbox_bwrap_argv(req->argv, plan->hide, plan->kind == SANDBOX_BWRAP_PID, plan->bwrap,
				       SANDBOX_MAX_ARGV) < 0) {
			warn("%s: too many arguments for the sandbox; it runs without", req->argv[0]);
			plan->kind = SANDBOX_NONE;
		} else {
			plan->exec_argv = plan->bwrap;
		}
	}
}

void sandbox_plan_release(struct sandbox_plan *plan)
{
	free(plan->hide);
	free(plan->env);
	free(plan->tmpdir_var);
	plan->hide = NULL;
	plan->env = NULL;
	plan->tmpdir_var = NULL;
}

int sandbox_child_enter(const struct sandbox_plan *plan)
{
	if (plan->kind != SANDBOX_NS && plan->kind != SANDBOX_NS_PID)
		return 0;
	/* A network with nothing in it, the reference data covered by an empty,
	 * read-only file system that only root could take away, and with a
	 * process namespace, no process outside to look at (kbreed's
	 * /proc/PID/environ) and none left behind. */
	int flags = CLONE_NEWNS | CLONE_NEWNET | (plan->kind == SANDBOX_NS_PID ? CLONE_NEWPID : 0);
	if (unshare(flags) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	if (plan->hide && mount("tmpfs", plan->hide, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
				"size=4k,mode=700"))
		return -1;
	return 0;
}

int sandbox_child_mount_proc(void)
{
	return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int sandbox_child_drop(const struct sandbox_plan *plan)
{
	if (plan->drop) {
		/* Counted over all of that user's processes (and threads): set only
		 * for the unprivileged user, whom kbreed's children alone use. */
		struct rlimit rl = { SANDBOX_NPROC, SANDBOX_NPROC };
		if (setrlimit(RLIMIT_NPROC, &rl))
			return -1;
		return become(plan->uid, plan->gid);
	}
	/* An isolated child that keeps root (nvcc, which writes into kbreed's
	 * cache) may not read other processes' memory or environment: the
	 * processes between it and kbreed are copies of kbreed. */
	if (plan->isolate && geteuid() == 0 && prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0))
		return -1;
	return 0;
}
