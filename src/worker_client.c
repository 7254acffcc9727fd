/*
 * worker_client.c - the GPU worker's process as kbreed sees it: where it
 * runs from, as whom, how it starts (and falls back to root when it cannot
 * start unprivileged), how a candidate is sent to it and its replies read
 * under a time limit, and how it ends. Every line is encoded and decoded by
 * the protocol's own code (worker/worker_protocol.c); what the replies mean
 * for the candidate is decided in src/verdict.c.
 */
#define _GNU_SOURCE
#include "worker_client.h"

#include "home.h"
#include "log.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define WORKER_START_TIMEOUT_S 900   /* uploading every input set may take long */
#define WORKER_QUIT_GRACE_S 10       /* for a worker asked to quit */
#define WORKER_LOG_TAIL 8192         /* bytes of its stderr kept with a verdict */

void worker_run_init(struct worker_run *r, int sets, int reps)
{
	memset(r, 0, sizeof *r);
	r->sets = sets;
	r->reps = reps;
	r->event_ms = xcalloc((size_t)(reps > 0 ? reps : 1), sizeof *r->event_ms);
	r->host_ms = xcalloc((size_t)(reps > 0 ? reps : 1), sizeof *r->host_ms);
	r->first_ms = xcalloc((size_t)(sets > 0 ? sets : 1), sizeof *r->first_ms);
	for (int s = 0; s < sets; s++)
		r->first_ms[s] = -1;
}

void worker_run_release(struct worker_run *r)
{
	free(r->fault_msg);
	free(r->event_ms);
	free(r->host_ms);
	free(r->first_ms);
	memset(r, 0, sizeof *r);
}

static bool noexec(const char *dir)
{
	struct statvfs v;
	return statvfs(dir, &v) == 0 && (v.f_flag & ST_NOEXEC);
}

/* A directory for programs and shared objects the unprivileged worker
 * loads: the private directory unless its file system forbids running code
 * (as /dev/shm often does in containers), else a new one in $TMPDIR, /tmp or
 * /var/tmp. */
static char *make_exec_dir(const char *tmp)
{
	if (!noexec(tmp))
		return xstrdup(tmp);
	const char *bases[] = { getenv("TMPDIR"), "/tmp", "/var/tmp" };
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
		if (!bases[i] || !*bases[i] || !util_is_dir(bases[i]) || noexec(bases[i]))
			continue;
		char *dir = xasprintf("%s/kbreed-exec-XXXXXX", bases[i]);
		if (mkdtemp(dir))
			return dir;
		free(dir);
	}
	return NULL;
}

/* Copies a file kbreed's user can read to where the worker can; mode as given. */
static int copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int rc = in < 0 || out < 0 ? -1 : 0;
	char chunk[1 << 16];
	while (!rc) {
		ssize_t n = read(in, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		for (ssize_t done = 0; done < n && !rc;) {
			ssize_t w = write(out, chunk + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rc = -1;
			else
				done += w;
		}
	}
	if (!rc && fchmod(out, mode))
		rc = -1;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		rc = -1;
	if (rc)
		unlink(to);
	return rc;
}

/* Sets up wc for worker_path (copied), run by interp when not NULL; a
 * stand-in may see the references. */
static int client_init(struct worker_client *wc, const char *dir, const char *job_path, const int *fds,
		       int n_fds, const char *worker_path, const char *interp, bool standin, bool trusted)
{
	memset(wc, 0, sizeof *wc);
	wc->proc.pid = -1;
	buf_init(&wc->pending, 1u << 20);
	wc->dir = xstrdup(dir);
	wc->job_path = xstrdup(job_path);
	wc->log_path = xasprintf("%s/worker.log", dir);
	wc->fds = fds;
	wc->n_fds = n_fds;
	wc->worker_path = xstrdup(worker_path);
	wc->origin_path = xstrdup(worker_path);
	wc->interp = interp ? xstrdup(interp) : NULL;
	wc->standin = standin;
	wc->comparer = trusted;
	wc->drop = !wc->standin && !trusted && sandbox_run_as(&wc->run_uid, &wc->run_gid);
	if (wc->drop) {
		/* The worker reads its job and writes outputs (in directories
		 * handed to it) here; it may not list or change anything else. */
		wc->exec_dir = make_exec_dir(dir);
		char *base = xstrdup(worker_path);
		char *copy = wc->exec_dir ? xasprintf("%s/%s", wc->exec_dir, interp ? basename(base) : "kbreed-worker") : NULL;
		free(base);
		if (!copy || chmod(dir, 0711) || chmod(wc->exec_dir, 0711) ||
		    copy_file(wc->worker_path, copy, interp ? 0644 : 0755)) {
			warn("cannot prepare a directory for the unprivileged %s worker: it runs as root",
			     interp ? "Python" : "GPU");
			wc->drop = false;
			free(copy);
		} else {
			free(wc->worker_path);
			wc->worker_path = copy;
		}
	}
	return 0;
}

int worker_client_init(struct worker_client *wc, const char *dir, const char *job_path,
		       const int *fds, int n_fds)
{
	/* A stand-in worker ($KBREED_WORKER, as in tests) keeps kbreed's user
	 * and sees the reference directory unless KBREED_RUN_AS asks
	 * otherwise: it may need what the real one must not read. */
	const char *standin = getenv("KBREED_WORKER"), *run_as = getenv("KBREED_RUN_AS");
	return client_init(wc, dir, job_path, fds, n_fds, home_worker(), NULL,
			   standin && *standin && !(run_as && *run_as), false);
}

int worker_client_init_comparer(struct worker_client *wc, const char *dir, const char *job_path,
				const int *fds, int n_fds)
{
	client_init(wc, dir, job_path, fds, n_fds, home_worker(), NULL, false, true);
	free(wc->log_path);
	wc->log_path = xasprintf("%s/comparer.log", dir);
	wc->args = xcalloc(2, sizeof *wc->args);
	wc->args[0] = xstrdup("--compare");
	return 0;
}

int worker_client_init_python(struct worker_client *wc, const char *dir, const char *job_path,
			      const int *fds, int n_fds, const char *interp, const char *script,
			      const char *const *args)
{
	client_init(wc, dir, job_path, fds, n_fds, script, interp, false, false);
	int n = 0;
	while (args && args[n])
		n++;
	wc->args = xcalloc((size_t)n + 1, sizeof *wc->args);
	for (int i = 0; i < n; i++)
		wc->args[i] = xstrdup(args[i]);
	return 0;
}

bool worker_client_running(const struct worker_client *wc)
{
	return wc->proc.pid > 0;
}

void worker_client_stop(struct worker_client *wc, bool kill_it)
{
	if (wc->proc.pid > 0) {
		if (!kill_it && wc->proc.in_fd >= 0) {
			ssize_t n = write(wc->proc.in_fd, "quit\n", 5);
			(void)n;   /* a worker that is gone is stopped below all the same */
		}
		if (kill_it)
			proc_stop(&wc->proc, true, NULL, NULL);
		else
			proc_finish(&wc->proc, WORKER_QUIT_GRACE_S, NULL, NULL);
	}
	wc->pending.len = 0;
}

void worker_client_release(struct worker_client *wc)
{
	worker_client_stop(wc, false);
	if (wc->exec_dir && wc->dir && strcmp(wc->exec_dir, wc->dir))
		util_remove_tree(wc->exec_dir);
	free(wc->exec_dir);
	free(wc->worker_path);
	free(wc->origin_path);
	free(wc->job_path);
	free(wc->log_path);
	free(wc->device_var);
	free(wc->interp);
	for (int i = 0; wc->args && wc->args[i]; i++)
		free(wc->args[i]);
	free(wc->args);
	free(wc->dir);
	buf_release(&wc->pending);
	memset(wc, 0, sizeof *wc);
	wc->proc.pid = -1;
}

char *worker_client_log_tail(struct worker_client *wc)
{
	char *text = NULL;
	size_t len = 0;
	if (util_read_file(wc->log_path, 64u << 20, &text, &len))
		return xstrdup("");
	if (len > WORKER_LOG_TAIL) {
		char *tail = xstrdup(text + len - WORKER_LOG_TAIL);
		free(text);
		text = tail;
	}
	return text;
}

/* "GPU worker" or "Python worker", for messages. */
static const char *kind_of(const struct worker_client *wc)
{
	return wc->interp ? "Python worker" : wc->comparer ? "comparer" : "GPU worker";
}

int worker_client_start(struct worker_client *wc)
{
	if (wc->proc.pid > 0)
		return 0;
	const char *argv[16];
	int argc = 0;
	if (wc->interp)
		argv[argc++] = wc->interp;
	argv[argc++] = wc->worker_path;
	argv[argc++] = wc->job_path;
	for (int i = 0; wc->args && wc->args[i] && argc < 15; i++)
		argv[argc++] = wc->args[i];
	argv[argc] = NULL;
	const char *env[] = { wc->device_var, NULL };
	struct proc_opts o = { .argv = argv, .no_network = true, .keep_user = !wc->drop,
			       .see_refs = wc->standin && !wc->comparer, .host_pids = wc->host_pids, .keep_fds = wc->fds, .n_keep_fds = wc->n_fds,
			       .env = env };
	struct buf line;
	struct kbw_reply r = { .kind = KBW_REPLY_ERROR };
	char why[1024] = "";
	int rc = -1;
	buf_init(&line, 1u << 20);
	if (truncate(wc->log_path, 0) && errno != ENOENT)
		warn("cannot truncate %s: %s", wc->log_path, strerror(errno));
	if (proc_start(&wc->proc, &o, wc->log_path))
		goto out;
	signal(SIGPIPE, SIG_IGN);
	int got = proc_read_line(&wc->proc, &wc->pending, &line, util_now() + WORKER_START_TIMEOUT_S);
	bool ready = got == 1 && kbw_parse_reply(buf_str(&line), &r) == 0 && r.kind == KBW_REPLY_READY;
	if (ready && !kbw_check_version(r.version, kind_of(wc), "kbreed", why, sizeof why) &&
	    (!wc->comparer || r.compare)) {
		wc->started = true;
		wc->starts++;
		wc->takes_cutoff = r.cutoff;
		wc->takes_ipc = r.ipc;
		rc = 0;
		goto out;
	}
	char *tail = worker_client_log_tail(wc);
	worker_client_stop(wc, true);
	if (ready && wc->comparer && !why[0]) {
		error("%s is not a comparer: its ready line lacks \"compare\"", wc->worker_path);
	} else if (ready) {
		/* Another protocol: no fallback can help. */
		error("%s (%s)", why, wc->worker_path);
	} else if (wc->drop && !wc->started && got != -2) {
		/* Settled at the first start, before any candidate ran in it, so
		 * that no candidate can bring this about. */
		warn("the %s could not start as an unprivileged user (%s%s%s); it runs as root",
		     kind_of(wc), buf_str(&line), *tail ? "; its log: " : "", tail);
		free(tail);
		wc->drop = false;
		char *copy = wc->worker_path;
		wc->worker_path = xstrdup(wc->origin_path);
		free(copy);
		buf_release(&line);
		return worker_client_start(wc);
	} else if (got == -2) {
		error("the %s did not get ready within %d s", kind_of(wc), WORKER_START_TIMEOUT_S);
	} else {
		error("the %s could not start: %s%s", kind_of(wc), buf_str(&line), tail);
	}
	free(tail);
out:
	buf_release(&line);
	return rc;
}

/* Takes one reply line into run. Returns true at "end". */
static bool take_reply(const char *l, struct worker_run *run)
{
	struct kbw_reply r;
	if (kbw_parse_reply(l, &r))
		return false;   /* not a reply: ignored, as unknown replies are */
	switch (r.kind) {
	case KBW_REPLY_TIME:
		if (run->n_times < run->reps) {
			run->event_ms[run->n_times] = r.event_ms;
			run->host_ms[run->n_times++] = r.host_ms;
		}
		break;
	case KBW_REPLY_FIRST:
		if (r.set >= 0 && r.set < run->sets)
			run->first_ms[r.set] = r.event_ms;
		break;
	case KBW_REPLY_FAULT:
		if (!run->fault_msg) {
			run->fault = r.fault;
			run->fault_msg = xstrdup(r.text);
		}
		break;
	case KBW_REPLY_CLOCKS:
		run->sm_clock_mhz = r.sm_mhz;
		run->mem_clock_mhz = r.mem_mhz;
		break;
	case KBW_REPLY_LEAK:
		run->leaked_bytes = (size_t)r.bytes;
		break;
	case KBW_REPLY_THREADS:
		run->threads_left = r.threads;
		break;
	case KBW_REPLY_EARLY:
		run->early = true;
		run->early_calls = r.calls;
		break;
	case KBW_REPLY_END:
		run->end = r.ok ? WORKER_END_OK : WORKER_END_FAULT;
		if (!r.ok && !run->fault_msg) {
			run->fault = KBW_FAULT_RUNTIME;
			run->fault_msg = xstrdup("the worker reported a fault");
		}
		return true;
	case KBW_REPLY_READY:
	case KBW_REPLY_ERROR:
	case KBW_REPLY_HANDLE:
	case KBW_REPLY_CHECK:    /* answered in worker_client_eval */
	case KBW_REPLY_STATS:
		break;
	}
	return false;
}

/* A "check": asks the caller's on_check, answers "go" or "stop <why>".
 * Returns -1 when the answer could not be sent. */
static int answer_check(struct worker_client *wc, const struct kbw_reply *r, struct worker_run *run)
{
	char *why = NULL;
	if (!run->on_check || run->on_check(run->check_ctx, r->set, r->pass, &why) || why) {
		char line[KBW_MAX_LINE];
		if (!why)
			why = xstrdup("kbreed could not check this call");
		int n = kbw_format_stop(line, sizeof line, why);
		free(why);
		if (n < 0)
			return -1;
		return worker_client_send(wc, line);
	}
	run->checks++;
	return worker_client_send(wc, "go\n");
}

int worker_client_send(struct worker_client *wc, const char *line)
{
	size_t len = strlen(line);
	if (wc->proc.pid <= 0 || write(wc->proc.in_fd, line, len) != (ssize_t)len) {
		worker_client_stop(wc, true);
		return -1;
	}
	return 0;
}

int worker_client_request(struct worker_client *wc, const char *line, double timeout_s,
			  void (*take)(void *ctx, const struct kbw_reply *r), void *ctx, char **fault_msg)
{
	struct buf l;
	int rc = -1;
	buf_init(&l, 1u << 20);
	if (fault_msg)
		*fault_msg = NULL;
	if (line && worker_client_send(wc, line))
		goto out;
	double deadline = util_now() + timeout_s;
	while (proc_read_line(&wc->proc, &wc->pending, &l, deadline) == 1) {
		struct kbw_reply r;
		if (kbw_parse_reply(buf_str(&l), &r))
			continue;
		if (r.kind == KBW_REPLY_FAULT && fault_msg && !*fault_msg)
			*fault_msg = xstrdup(r.text);
		if (r.kind == KBW_REPLY_END) {
			rc = r.ok ? 0 : 1;
			goto out;
		}
		if (r.kind == KBW_REPLY_ERROR) {
			/* A command it does not know, or a fatal error: no "end" follows. */
			if (fault_msg && !*fault_msg)
				*fault_msg = xstrdup(r.text);
			break;
		}
		if (take)
			take(ctx, &r);
	}
	worker_client_stop(wc, true);   /* died, silent past the deadline, or an error */
out:
	buf_release(&l);
	return rc;
}

int worker_client_eval(struct worker_client *wc, const char *so_path, const char *outdir,
		       double timeout_s, struct worker_run *run)
{
	int rc = -1;
	char *so_copy = NULL;
	char cmd[2 * KBW_MAX_PATH + 16];
	struct buf line;
	buf_init(&line, 1u << 20);
	int idx = wc->count++;
	if (worker_client_start(wc))
		goto out;
	if (util_mkdirs(outdir) || (wc->drop && chown(outdir, wc->run_uid, wc->run_gid))) {
		error("cannot create %s for the %s: %s", outdir, kind_of(wc), strerror(errno));
		goto out;
	}
	const char *load = so_path;
	if (wc->drop) {
		/* The build cache is private to kbreed's user: the worker loads a copy. */
		char *base = xstrdup(so_path);
		so_copy = xasprintf("%s/c%d-%s", wc->exec_dir, idx, basename(base));
		free(base);
		if (copy_file(so_path, so_copy, 0644) == 0)
			load = so_copy;
	}
	if (!wc->takes_cutoff)
		run->cutoff_ms = 0;   /* a worker that cannot stop early times every call */
	if (!wc->takes_ipc)
		run->gpu = false;     /* nor does one that cannot export write no files */
	int len = kbw_format_eval_opts(cmd, sizeof cmd, load, outdir, run->cutoff_ms, run->cutoff_calls, run->gpu);
	if (len < 0) {
		error("cannot send %s to the %s: a tab or newline in the path, or too long", load, kind_of(wc));
		goto out;
	}
	rc = 0;
	if (write(wc->proc.in_fd, cmd, (size_t)len) != len) {
		worker_client_stop(wc, true);
		run->end = WORKER_END_GONE;
		goto out;
	}
	double deadline = util_now() + timeout_s;
	int got;
	bool ended = false;
	while (!ended && (got = proc_read_line(&wc->proc, &wc->pending, &line, deadline)) == 1) {
		struct kbw_reply r;
		if (run->gpu && kbw_parse_reply(buf_str(&line), &r) == 0 && r.kind == KBW_REPLY_CHECK) {
			if (answer_check(wc, &r, run)) {
				run->end = WORKER_END_GONE;
				goto out;
			}
			continue;
		}
		ended = take_reply(buf_str(&line), run);
	}
	if (ended)
		goto out;
	if (got == -2) {
		worker_client_stop(wc, true);
		run->end = WORKER_END_TIMEOUT;
		goto out;
	}
	enum proc_end end = PROC_EXITED;
	int code = 0;
	proc_finish(&wc->proc, WORKER_QUIT_GRACE_S, &end, &code);
	wc->pending.len = 0;
	run->end = end == PROC_TIMEOUT ? WORKER_END_HUNG : end == PROC_SIGNALED ? WORKER_END_SIGNALED : WORKER_END_EXITED;
	run->code = code;
out:
	if (so_copy)
		unlink(so_copy);
	free(so_copy);
	buf_release(&line);
	return rc;
}
