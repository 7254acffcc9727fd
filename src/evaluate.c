/*
 * evaluate.c - the judge's host side: drives the GPU worker, compares the
 * outputs it wrote with the reference outputs (which only this process
 * reads), and turns everything that can happen into a verdict.
 */
#define _GNU_SOURCE
#include "evaluate.h"

#include "home.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define WORKER_START_TIMEOUT_S 900
#define WORKER_LOG_TAIL 8192
/* Results cached across calls: rejected when calls on inputs seen for the
 * first time take more than CACHE_RATIO times the timed calls (on inputs
 * seen before) and CACHE_MARGIN_MS more. */
#define CACHE_RATIO 3.0
#define CACHE_MARGIN_MS 0.05

static const char *const verdict_names[] = {
	[VERDICT_CORRECT] = "correct",
	[VERDICT_INCORRECT] = "incorrect",
	[VERDICT_REJECTED] = "rejected",
	[VERDICT_COMPILE_ERROR] = "compile_error",
	[VERDICT_LOAD_ERROR] = "load_error",
	[VERDICT_RUNTIME_ERROR] = "runtime_error",
	[VERDICT_TIMEOUT] = "timeout",
	[VERDICT_NOT_RUN] = "not_run",
};

const char *verdict_name(enum verdict v)
{
	return (unsigned)v < sizeof verdict_names / sizeof verdict_names[0] ? verdict_names[v] : "?";
}

void eval_opts_defaults(struct eval_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct eval_opts){
		.sets = 5, .seed = 42, .warmup = 5, .reps = 30, .flush_mb = 256,
		.timeout_s = 180, .threads = cpus > 1 ? (int)(cpus > 16 ? 16 : cpus) : 1,
		.tolerance = TOL_STRICT,
	};
}

void eval_result_init(struct eval_result *r)
{
	memset(r, 0, sizeof *r);
	compare_stats_init(&r->stats);
	for (int p = 0; p < TOL_PROFILES; p++)
		r->bad_set[p] = r->bad_output[p] = -1;
}

void eval_result_policy(struct eval_result *r, const char *why)
{
	r->verdict = VERDICT_REJECTED;
	free(r->detail);
	r->detail = xstrdup(why);
}

void eval_result_compile_error(struct eval_result *r, bool timed_out, const char *log)
{
	r->verdict = VERDICT_COMPILE_ERROR;
	free(r->detail);
	free(r->log);
	r->detail = xstrdup(timed_out ? "nvcc did not finish within the time limit" : "nvcc rejected the source");
	r->log = xstrdup(log ? log : "");
}

void eval_result_release(struct eval_result *r)
{
	free(r->detail);
	free(r->log);
	eval_result_init(r);
}

void gpu_info_release(struct gpu_info *g)
{
	free(g->name);
	memset(g, 0, sizeof *g);
}

int gpu_info_query(struct gpu_info *g)
{
	const char *argv[] = { home_worker(), "--info", NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 120 };
	struct proc_result r;
	proc_result_init(&r);
	int rc = -1;
	memset(g, 0, sizeof *g);
	if (proc_run(&o, &r)) {
		error("cannot start the GPU worker %s", home_worker());
		goto out;
	}
	if (r.end != PROC_EXITED || r.exit_code != 0) {
		const char *msg = buf_str(&r.out);
		if (!strncmp(msg, "error ", 6))
			msg += 6;
		error("no usable GPU: %s", *msg ? msg : buf_str(&r.err));
		goto out;
	}
	char *text = xstrdup(buf_str(&r.out));
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "name ", 5))
			g->name = xstrdup(line + 5);
		sscanf(line, "cc %d %d", &g->cc_major, &g->cc_minor);
		sscanf(line, "sm_count %d", &g->sm_count);
		sscanf(line, "l2_bytes %lld", &g->l2_bytes);
		sscanf(line, "mem_bytes %lld", &g->mem_bytes);
		sscanf(line, "driver %d", &g->driver);
		sscanf(line, "runtime %d", &g->runtime);
		sscanf(line, "clocks %d %d", &g->sm_clock_mhz, &g->mem_clock_mhz);
	}
	free(text);
	if (!g->name || !g->cc_major) {
		error("the GPU worker's --info reply is incomplete");
		goto out;
	}
	rc = 0;
out:
	proc_result_release(&r);
	return rc;
}

struct evaluator {
	const struct problem *problem;
	const struct refset *refs;
	struct eval_opts opts;
	char *tmp;          /* private directory: job file, worker log, outputs */
	char *job_path;
	char *log_path;     /* the worker's stderr */
	struct proc worker; /* pid -1 when none is running */
	struct buf pending; /* bytes read from the worker past the last line */
	double *scale;      /* [set * n_outputs + j]: tolerance scale, 0 until computed */
	int count;          /* candidates judged, to name output directories */
	int *fds;           /* reference inputs and parameters, opened here for the worker */
	int n_fds;
	bool drop;          /* the worker runs as run_uid/run_gid (kbreed is root) */
	uid_t run_uid;
	gid_t run_gid;
	char *exec_dir;     /* with drop: where the worker and each candidate are
			       copied for it to read (root's, 0711); may be tmp */
	char *worker_path;  /* the program to start */
	bool started;       /* a worker has started: how it starts is settled */
	bool standin;       /* $KBREED_WORKER names another worker, and
			       $KBREED_RUN_AS is not set: it may read references */
};

/* Where outputs travel: RAM-backed /dev/shm when there, else $TMPDIR. */
static char *make_private_dir(void)
{
	const char *base = util_is_dir("/dev/shm") && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
	if (!base)
		base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *tmpl = xasprintf("%s/kbreed-eval-XXXXXX", base);
	if (!mkdtemp(tmpl)) {
		error("cannot create a directory in %s: %s", base, strerror(errno));
		free(tmpl);
		return NULL;
	}
	return tmpl;
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

/* Keeps the reference data private to kbreed's user: the set's directory
 * 0700, its files 0600, and the cache's reference directory 0700. */
static void protect_refs(const char *dir)
{
	if (chmod(dir, 0700))
		warn("cannot make %s private: %s", dir, strerror(errno));
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			struct stat st;
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
			    (st.st_mode & 077) && fchmodat(dirfd(d), e->d_name, 0600, 0))
				warn("cannot make %s/%s private: %s", dir, e->d_name, strerror(errno));
		}
		closedir(d);
	}
	char *hidden = sandbox_hidden_dir(), *copy = xstrdup(dir);
	if (!strcmp(dirname(copy), hidden) && chmod(hidden, 0700))
		warn("cannot make %s private: %s", hidden, strerror(errno));
	free(copy);
	free(hidden);
}

/* Opens a reference input for the worker to inherit; its job names it fd:N. */
static int open_for_worker(struct evaluator *ev, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error("cannot open %s: %s", path, strerror(errno));
	ev->fds = xrealloc(ev->fds, (size_t)(ev->n_fds + 1) * sizeof *ev->fds);
	ev->fds[ev->n_fds++] = fd;
	return fd;
}

static int write_job(struct evaluator *ev)
{
	const struct problem *p = ev->problem;
	const struct eval_opts *o = &ev->opts;
	struct buf b;
	buf_init(&b, 1u << 20);
	buf_printf(&b, "kbreed-job 1\nsets %d\nwarmup %d\nreps %d\nflush_mb %d\n", o->sets,
		   o->warmup, o->reps, o->flush_mb);
	for (int kind = 0; kind < 3; kind++) {
		const struct tensor_spec *t = kind == 0 ? p->inputs : kind == 1 ? p->params : p->outputs;
		int n = kind == 0 ? p->n_inputs : kind == 1 ? p->n_params : p->n_outputs;
		for (int s = 0; s < (kind == 0 ? o->sets : 1); s++)
			for (int i = 0; i < n; i++) {
				buf_printf(&b, "tensor %s %d %d %d %d", kind == 0 ? "input" : kind == 1 ? "param" : "output",
					   kind == 0 ? s : -1, i, (int)t[i].dtype, t[i].ndim);
				for (int d = 0; d < t[i].ndim; d++)
					buf_printf(&b, " %lld", (long long)t[i].shape[d]);
				if (kind < 2) {
					char *path = kind == 0 ? xasprintf("%s/set%d.in%d.bin", ev->refs->dir, s, i)
							       : xasprintf("%s/param%d.bin", ev->refs->dir, i);
					int fd = open_for_worker(ev, path);
					free(path);
					if (fd < 0) {
						buf_release(&b);
						return -1;
					}
					buf_printf(&b, " fd:%d\n", fd);
				} else {
					buf_printf(&b, " -\n");
				}
			}
	}
	int rc = util_write_file(ev->job_path, b.data, b.len);
	buf_release(&b);
	return rc;
}

struct evaluator *evaluator_new(const struct problem *p, const struct refset *r,
				const struct eval_opts *o)
{
	if (o->sets > r->sets) {
		error("asked for %d input sets, the reference data has %d", o->sets, r->sets);
		return NULL;
	}
	struct evaluator *ev = xcalloc(1, sizeof *ev);
	ev->problem = p;
	ev->refs = r;
	ev->opts = *o;
	ev->worker.pid = -1;
	buf_init(&ev->pending, 1u << 20);
	ev->scale = xcalloc((size_t)(o->sets * p->n_outputs), sizeof *ev->scale);
	ev->tmp = make_private_dir();
	if (!ev->tmp)
		goto fail;
	ev->job_path = xasprintf("%s/job", ev->tmp);
	ev->log_path = xasprintf("%s/worker.log", ev->tmp);
	/* The references sit in this process's memory while it compares: no
	 * process of the same user may read it, or its /proc entries. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	protect_refs(r->dir);
	if (write_job(ev))
		goto fail;
	/* A stand-in worker ($KBREED_WORKER, as in tests) keeps kbreed's user
	 * and sees the reference directory unless KBREED_RUN_AS asks
	 * otherwise: it may need what the real one must not read. */
	const char *standin = getenv("KBREED_WORKER"), *run_as = getenv("KBREED_RUN_AS");
	ev->worker_path = xstrdup(home_worker());
	ev->standin = standin && *standin && !(run_as && *run_as);
	ev->drop = !ev->standin && sandbox_run_as(&ev->run_uid, &ev->run_gid);
	if (ev->drop) {
		/* The worker reads its job and writes outputs (in directories
		 * handed to it) here; it may not list or change anything else. */
		ev->exec_dir = make_exec_dir(ev->tmp);
		char *copy = ev->exec_dir ? xasprintf("%s/kbreed-worker", ev->exec_dir) : NULL;
		if (!copy || chmod(ev->tmp, 0711) || chmod(ev->exec_dir, 0711) ||
		    copy_file(ev->worker_path, copy, 0755)) {
			warn("cannot prepare a directory for the unprivileged GPU worker: it runs as root");
			ev->drop = false;
			free(copy);
		} else {
			free(ev->worker_path);
			ev->worker_path = copy;
		}
	}
	return ev;
fail:
	evaluator_free(ev);
	return NULL;
}

static void stop_worker(struct evaluator *ev, bool kill_it)
{
	if (ev->worker.pid > 0) {
		if (!kill_it && ev->worker.in_fd >= 0) {
			ssize_t n = write(ev->worker.in_fd, "quit\n", 5);
			(void)n;
		}
		if (kill_it)
			proc_stop(&ev->worker, true, NULL, NULL);
		else
			proc_finish(&ev->worker, 10, NULL, NULL);
	}
	ev->pending.len = 0;
}

/* The last bytes of the worker's stderr (caller frees). */
static char *worker_log_tail(struct evaluator *ev)
{
	char *text = NULL;
	size_t len = 0;
	if (util_read_file(ev->log_path, 64u << 20, &text, &len))
		return xstrdup("");
	if (len > WORKER_LOG_TAIL) {
		char *tail = xstrdup(text + len - WORKER_LOG_TAIL);
		free(text);
		text = tail;
	}
	return text;
}

static int start_worker(struct evaluator *ev)
{
	const char *argv[] = { ev->worker_path, ev->job_path, NULL };
	struct proc_opts o = { .argv = argv, .no_network = true, .keep_user = !ev->drop,
			       .see_refs = ev->standin, .keep_fds = ev->fds, .n_keep_fds = ev->n_fds };
	struct buf line;
	int rc = -1;
	buf_init(&line, 1u << 20);
	if (truncate(ev->log_path, 0) && errno != ENOENT)
		warn("cannot truncate %s: %s", ev->log_path, strerror(errno));
	if (proc_start(&ev->worker, &o, ev->log_path))
		goto out;
	signal(SIGPIPE, SIG_IGN);
	int got = proc_read_line(&ev->worker, &ev->pending, &line, util_now() + WORKER_START_TIMEOUT_S);
	if (got == 1 && !strncmp(buf_str(&line), "ready", 5)) {
		ev->started = true;
		rc = 0;
		goto out;
	}
	char *tail = worker_log_tail(ev);
	stop_worker(ev, true);
	if (ev->drop && !ev->started && got != -2) {
		/* Settled at the first start, before any candidate ran in it, so
		 * that no candidate can bring this about. */
		warn("the GPU worker could not start as an unprivileged user (%s%s%s); it runs as root",
		     buf_str(&line), *tail ? "; its log: " : "", tail);
		free(tail);
		ev->drop = false;
		free(ev->worker_path);
		ev->worker_path = xstrdup(home_worker());
		buf_release(&line);
		return start_worker(ev);
	}
	if (got == -2)
		error("the GPU worker did not get ready within %d s", WORKER_START_TIMEOUT_S);
	else
		error("the GPU worker could not start: %s%s", buf_str(&line), tail);
	free(tail);
out:
	buf_release(&line);
	return rc;
}

static void set_detail(struct eval_result *res, enum verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_detail(struct eval_result *res, enum verdict v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(res->detail);
	res->detail = s ? s : xstrdup("(no detail)");
	res->verdict = v;
}

/* Maps a file of `bytes` read-only; NULL on failure (reported). */
static const void *map_ro(const char *path, size_t bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	void *p = NULL;
	if (fstat(fd, &st) || (size_t)st.st_size != bytes)
		error("%s holds %lld bytes, expected %zu", path, (long long)st.st_size, bytes);
	else
		p = mmap(NULL, bytes ? bytes : 1, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* "[i, j, k]" for a flat index into t (caller frees). */
static char *index_str(const struct tensor_spec *t, int64_t flat)
{
	int64_t idx[KBREED_MAX_DIMS];
	for (int d = t->ndim - 1; d >= 0; d--) {
		idx[d] = t->shape[d] ? flat % t->shape[d] : 0;
		flat = t->shape[d] ? flat / t->shape[d] : 0;
	}
	struct buf b;
	buf_init(&b, 1024);
	buf_printf(&b, "[");
	for (int d = 0; d < t->ndim; d++)
		buf_printf(&b, d ? ", %lld" : "%lld", (long long)idx[d]);
	buf_printf(&b, "]");
	return buf_detach(&b);
}

/* Compares every saved output with its reference. Returns 0, or -1 when
 * files were missing (a worker bug, reported). */
static int check_outputs(struct evaluator *ev, const char *outdir, struct eval_result *res)
{
	const struct problem *p = ev->problem;
	int sets = ev->opts.sets;
	for (int k = 0; k < 2 * sets; k++) {
		int set = k % sets;
		for (int j = 0; j < p->n_outputs; j++) {
			const struct tensor_spec *t = &p->outputs[j];
			size_t bytes = tensor_bytes(t);
			char *ref_path = xasprintf("%s/set%d.out%d.bin", ev->refs->dir, set, j);
			char *got_path = xasprintf("%s/%s%d.out%d.bin", outdir, k < sets ? "set" : "timed", set, j);
			const void *ref = map_ro(ref_path, bytes), *got = map_ro(got_path, bytes);
			int rc = 0;
			if (!ref || !got) {
				rc = -1;
			} else {
				struct compare_stats s;
				double *scale = &ev->scale[set * p->n_outputs + j];
				if (*scale == 0)
					*scale = compare_scale(ref, t->dtype, tensor_numel(t));
				compare_buffers(ref, got, t->dtype, tensor_numel(t), *scale, ev->opts.threads, &s);
				for (int q = 0; q < TOL_PROFILES; q++)
					if (s.first_bad[q] >= 0 && res->bad_set[q] < 0) {
						res->bad_set[q] = k;
						res->bad_output[q] = j;
					}
				/* Flat indices stay per tensor: merge without offset, keep the first. */
				struct compare_stats before = res->stats;
				compare_stats_merge(&res->stats, &s, 0);
				for (int q = 0; q < TOL_PROFILES; q++)
					if (before.first_bad[q] >= 0) {
						res->stats.first_bad[q] = before.first_bad[q];
						res->stats.first_got[q] = before.first_got[q];
						res->stats.first_want[q] = before.first_want[q];
					}
			}
			if (ref)
				munmap((void *)ref, bytes ? bytes : 1);
			if (got)
				munmap((void *)got, bytes ? bytes : 1);
			free(ref_path);
			free(got_path);
			if (rc)
				return -1;
		}
	}
	for (int q = 0; q < TOL_PROFILES; q++)
		res->pass[q] = res->stats.n_bad[q] == 0;
	res->checked = true;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void describe_mismatch(struct evaluator *ev, struct eval_result *res)
{
	enum tolerance_profile q = ev->opts.tolerance;
	const struct tensor_spec *t = &ev->problem->outputs[res->bad_output[q] >= 0 ? res->bad_output[q] : 0];
	double atol, rtol;
	tolerance_get(q, t->dtype, &atol, &rtol);
	double scale = ev->scale[(res->bad_set[q] % ev->opts.sets) * ev->problem->n_outputs +
				 (res->bad_output[q] >= 0 ? res->bad_output[q] : 0)];
	atol *= scale > 1 ? scale : 1;
	int sets = ev->opts.sets;
	if (res->stats.n_nonfinite == res->stats.n) {
		set_detail(res, VERDICT_INCORRECT,
			   "no output was written: every element still holds the NaN poison");
		return;
	}
	char *where = index_str(t, res->stats.first_bad[q]);
	int set = res->bad_set[q];
	set_detail(res, VERDICT_INCORRECT,
		   "%lld of %lld elements outside atol=%g rtol=%g (%s); first at %s %d, output %d %s: "
		   "got %.6g, want %.6g; max abs err %.3g, max rel err %.3g%s",
		   (long long)res->stats.n_bad[q], (long long)res->stats.n, atol, rtol,
		   tolerance_name(q), set < sets ? "input set" : "timed call on input set",
		   set % sets, res->bad_output[q], where, res->stats.first_got[q],
		   res->stats.first_want[q], res->stats.max_abs, res->stats.max_rel,
		   res->stats.n_nonfinite ? "; some elements NaN/Inf where the reference is finite" : "");
	free(where);
}

/* Whether calls on inputs seen for the first time (the correctness calls on
 * sets 1 and later; set 0 also pays one-off costs such as loading the
 * kernels) took far longer than the timed calls, which all see inputs the
 * candidate has seen before: the mark of results cached by content. The
 * first-sight calls run under the timed calls' conditions (outputs
 * poisoned, L2 flushed, the GPU busy just before), so an honest kernel takes
 * as long in both. Fills res->first_median_ms. */
static bool cached_across_calls(struct evaluator *ev, const double *first_ms, struct eval_result *res)
{
	int sets = ev->opts.sets, n = 0;
	double *v = xcalloc((size_t)sets, sizeof *v);
	for (int s = 1; s < sets; s++)
		if (first_ms[s] >= 0)
			v[n++] = first_ms[s];
	bool cached = false;
	if (n) {
		res->first_median_ms = median(v, n);
		double timed = res->time.median_ms;
		cached = res->first_median_ms > CACHE_RATIO * timed && res->first_median_ms - timed > CACHE_MARGIN_MS;
	}
	free(v);
	return cached;
}

int evaluator_run(struct evaluator *ev, const char *so_path, struct eval_result *res)
{
	double t0 = util_now();
	int rc = 0;
	int idx = ev->count++;
	char *outdir = xasprintf("%s/c%d", ev->tmp, idx);
	char *so_copy = NULL;
	struct buf line;
	buf_init(&line, 1u << 20);
	int reps = ev->opts.reps, sets = ev->opts.sets;
	double *event_ms = xcalloc((size_t)reps, sizeof *event_ms);
	double *host_ms = xcalloc((size_t)reps, sizeof *host_ms);
	double *first_ms = xcalloc((size_t)sets, sizeof *first_ms);
	for (int s = 0; s < sets; s++)
		first_ms[s] = -1;
	int n_times = 0, threads_left = 0;
	char *fault_class = NULL, *fault_msg = NULL;
	bool ended = false, ok = false;

	if (ev->worker.pid <= 0 && start_worker(ev)) {
		set_detail(res, VERDICT_RUNTIME_ERROR, "kbreed could not start the GPU worker");
		rc = -1;
		goto out;
	}
	if (util_mkdirs(outdir) || (ev->drop && chown(outdir, ev->run_uid, ev->run_gid))) {
		set_detail(res, VERDICT_RUNTIME_ERROR, "cannot create %s", outdir);
		rc = -1;
		goto out;
	}
	const char *load = so_path;
	if (ev->drop) {
		/* The build cache is private to kbreed's user: the worker loads a copy. */
		char *base = xstrdup(so_path);
		so_copy = xasprintf("%s/c%d-%s", ev->exec_dir, idx, basename(base));
		free(base);
		if (copy_file(so_path, so_copy, 0644) == 0)
			load = so_copy;
	}
	char *cmd = xasprintf("eval %s\t%s\n", load, outdir);
	size_t len = strlen(cmd);
	ssize_t wrote = write(ev->worker.in_fd, cmd, len);
	free(cmd);
	if (wrote != (ssize_t)len) {
		stop_worker(ev, true);
		set_detail(res, VERDICT_RUNTIME_ERROR, "the GPU worker stopped taking commands");
		goto out;
	}
	double deadline = util_now() + ev->opts.timeout_s;
	int got;
	while ((got = proc_read_line(&ev->worker, &ev->pending, &line, deadline)) == 1) {
		const char *l = buf_str(&line);
		double e, h;
		int set;
		if (sscanf(l, "time %lf %lf", &e, &h) == 2 && n_times < reps) {
			event_ms[n_times] = e;
			host_ms[n_times++] = h;
		} else if (sscanf(l, "first %d %lf %lf", &set, &e, &h) == 3) {
			if (set >= 0 && set < sets)
				first_ms[set] = e;
		} else if (!strncmp(l, "fault ", 6) && !fault_class) {
			const char *sp = strchr(l + 6, ' ');
			fault_class = sp ? strndup(l + 6, (size_t)(sp - l - 6)) : xstrdup(l + 6);
			fault_msg = xstrdup(sp ? sp + 1 : "");
		} else if (sscanf(l, "clocks %d %d", &res->sm_clock_mhz, &res->mem_clock_mhz) == 2) {
			continue;
		} else if (sscanf(l, "leak %zu", &res->leaked_bytes) == 1) {
			continue;
		} else if (sscanf(l, "threads %d", &threads_left) == 1) {
			continue;
		} else if (!strncmp(l, "end ", 4)) {
			ended = true;
			ok = !strcmp(l + 4, "ok");
			break;
		}
	}
	if (!ended) {
		if (got == -2) {
			stop_worker(ev, true);
			set_detail(res, VERDICT_TIMEOUT, "no result within %.0f s (a hang, or far too slow); the worker was killed",
				   ev->opts.timeout_s);
		} else {
			enum proc_end end = PROC_EXITED;
			int code = 0;
			proc_finish(&ev->worker, 10, &end, &code);
			ev->pending.len = 0;
			if (end == PROC_TIMEOUT)
				set_detail(res, VERDICT_TIMEOUT, "the worker closed its output and did not end; it was killed");
			else if (end == PROC_SIGNALED)
				set_detail(res, VERDICT_RUNTIME_ERROR, "the worker died with signal %d (%s) during the candidate",
					   code, strsignal(code));
			else
				set_detail(res, VERDICT_RUNTIME_ERROR, "the candidate ended the worker process (exit code %d)", code);
		}
		res->log = worker_log_tail(ev);
		goto out;
	}
	if (!ok) {
		enum verdict v = VERDICT_RUNTIME_ERROR;
		if (fault_class && !strcmp(fault_class, "load_error"))
			v = VERDICT_LOAD_ERROR;
		else if (fault_class && !strcmp(fault_class, "rejected"))
			v = VERDICT_REJECTED;
		set_detail(res, v, "%s", fault_msg ? fault_msg : "the worker reported a fault");
		/* Anything but a failed load may have left state behind: fresh worker. */
		if (v != VERDICT_LOAD_ERROR)
			stop_worker(ev, true);
		res->log = worker_log_tail(ev);
		goto out;
	}
	if (n_times < reps) {
		set_detail(res, VERDICT_RUNTIME_ERROR, "the worker reported %d of %d timings", n_times, reps);
		stop_worker(ev, true);
		goto out;
	}
	if (check_outputs(ev, outdir, res)) {
		set_detail(res, VERDICT_RUNTIME_ERROR, "outputs missing from %s", outdir);
		rc = -1;
		goto out;
	}
	res->time.reps = reps;
	res->time.median_ms = median(event_ms, reps);
	res->time.min_ms = event_ms[0];
	res->time.max_ms = event_ms[reps - 1];
	res->host_median_ms = median(host_ms, reps);
	res->timed = true;
	bool cached = cached_across_calls(ev, first_ms, res);
	if (!res->pass[ev->opts.tolerance]) {
		describe_mismatch(ev, res);
	} else if (host_ms[0] > 1.5 * res->time.median_ms + 0.2) {
		/* The fastest host-timed call: CPU contention delays some calls, but
		 * work hidden from the events delays every one of them. */
		set_detail(res, VERDICT_REJECTED,
			   "the host clock saw at least %.3f ms per call but the events %.3f ms: work escaped the timing events (another stream or thread?)",
			   host_ms[0], res->time.median_ms);
	} else if (cached) {
		set_detail(res, VERDICT_REJECTED,
			   "calls on inputs seen for the first time take %.3f ms (median of input sets 1 to %d), the timed calls on inputs seen before %.3f ms: results cached across calls?",
			   res->first_median_ms, sets - 1, res->time.median_ms);
	} else {
		set_detail(res, VERDICT_CORRECT, "correct on %d input sets and %d timed calls (%s); median %.4f ms",
			   sets, reps, tolerance_name(ev->opts.tolerance), res->time.median_ms);
	}
	if (res->leaked_bytes > (64u << 20))
		stop_worker(ev, true);  /* start the next candidate with a clean device */
out:
	/* Threads the candidate left running: its code is still loaded and may
	 * still run, so the next candidate gets a fresh worker. */
	if (threads_left > 0 && ev->worker.pid > 0)
		stop_worker(ev, true);
	res->wall_s = util_now() - t0;
	if (util_is_dir(outdir))
		util_remove_tree(outdir);
	if (so_copy)
		unlink(so_copy);
	free(so_copy);
	free(fault_class);
	free(fault_msg);
	free(event_ms);
	free(host_ms);
	free(first_ms);
	buf_release(&line);
	free(outdir);
	return rc;
}

void evaluator_free(struct evaluator *ev)
{
	if (!ev)
		return;
	stop_worker(ev, false);
	for (int i = 0; i < ev->n_fds; i++)
		close(ev->fds[i]);
	free(ev->fds);
	if (ev->exec_dir && ev->tmp && strcmp(ev->exec_dir, ev->tmp))
		util_remove_tree(ev->exec_dir);
	free(ev->exec_dir);
	free(ev->worker_path);
	if (ev->tmp)
		util_remove_tree(ev->tmp);
	free(ev->tmp);
	free(ev->job_path);
	free(ev->log_path);
	buf_release(&ev->pending);
	free(ev->scale);
	free(ev);
}
