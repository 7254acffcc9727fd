/*
 * evaluate.c - the judge's host side: writes the worker's job, hands each
 * candidate to the worker (src/worker_client.c), compares the outputs it
 * wrote with the reference outputs (which only this process reads), and asks
 * the rules (src/verdict.c) for the verdict.
 *
 * Checking on the GPU (opts.compare, docs/EVALUATION.md): beside the
 * worker runs a comparer (`kbreed-worker JOB --compare`, trusted, started
 * here with the references as descriptors) that holds the references and
 * golden inputs on the GPU. The worker exports its buffers' IPC handles
 * once per process; they are handed to the comparer, and at each checked
 * call the worker pauses ("check") while the comparer compares in place and
 * answers with the counts compare_buffers() would have found. When the
 * comparer cannot start, attach or answer, the evaluator falls back to the
 * output files, for good: said as a warning where --compare gpu asked for
 * the comparer, as a debug line where it is only the default.
 */
#define _GNU_SOURCE
#include "evaluate.h"

#include "home.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "util.h"
#include "worker_client.h"

#include <dirent.h>
#include <ctype.h>
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

void eval_opts_defaults(struct eval_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct eval_opts){
		.sets = 5, .stress = true, .seed = 42, .warmup = 5, .reps = 30, .flush_mb = 256,
		.timeout_s = 180, .threads = cpus > 1 ? (int)(cpus > 16 ? 16 : cpus) : 1,
		.tolerance = TOL_STRICT,
	};
	const char *cmp = getenv("KBREED_COMPARE");
	o->compare = !cmp ? COMPARE_DEFAULT : !strcmp(cmp, "gpu") ? COMPARE_GPU :
		     !strcmp(cmp, "files") ? COMPARE_FILES : COMPARE_DEFAULT;
}

void eval_result_init(struct eval_result *r)
{
	memset(r, 0, sizeof *r);
	compare_stats_init(&r->stats);
	for (int p = 0; p < TOL_PROFILES; p++)
		r->bad_set[p] = r->bad_output[p] = -1;
	r->norm_set = r->norm_output = -1;
}

void eval_result_set(struct eval_result *r, enum verdict v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(r->detail);
	r->detail = s ? s : xstrdup("(no detail)");
	r->verdict = v;
}

void eval_result_not_run(struct eval_result *r, const char *why)
{
	eval_result_set(r, VERDICT_NOT_RUN, "%s", why ? why : "compiled, not judged");
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
	free(g->device);
	memset(g, 0, sizeof *g);
}

/* gpu_info_query for a worker that sees device alone (NULL: kbreed's view). */
static int gpu_info_query_on(const char *device, struct gpu_info *g)
{
	const char *argv[] = { home_worker(), "--info", NULL };
	char *var = device ? xasprintf("CUDA_VISIBLE_DEVICES=%s", device) : NULL;
	const char *env[] = { var, NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 120, .env = env };
	struct proc_result r;
	struct kbw_info info;
	char why[1024];
	proc_result_init(&r);
	int rc = -1;
	memset(g, 0, sizeof *g);
	if (proc_run(&o, &r)) {
		error("cannot start the GPU worker %s", home_worker());
		goto out;
	}
	if (kbw_parse_info(buf_str(&r.out), &info, why, sizeof why)) {
		if (r.end != PROC_EXITED || r.exit_code != 0)
			error("no usable GPU: %s", *buf_str(&r.out) ? why : buf_str(&r.err));
		else
			error("%s", why);
		goto out;
	}
	if (kbw_check_version(info.version, "GPU worker", "kbreed", why, sizeof why)) {
		error("%s (%s)", why, home_worker());
		goto out;
	}
	if (r.end != PROC_EXITED || r.exit_code != 0) {
		error("no usable GPU: the worker's --info ended with status %d", r.exit_code);
		goto out;
	}
	g->name = xstrdup(info.name);
	g->cc_major = info.cc_major;
	g->cc_minor = info.cc_minor;
	g->sm_count = info.sm_count;
	g->l2_bytes = info.l2_bytes;
	g->mem_bytes = info.mem_bytes;
	g->driver = info.driver;
	g->runtime = info.runtime;
	g->sm_clock_mhz = info.sm_clock_mhz;
	g->mem_clock_mhz = info.mem_clock_mhz;
	g->devices = info.devices;
	g->device = device ? xstrdup(device) : NULL;
	rc = 0;
out:
	free(var);
	proc_result_release(&r);
	return rc;
}

int gpu_info_query(struct gpu_info *g)
{
	return gpu_info_query_on(NULL, g);
}

void gpu_list_free(struct gpu_info *gpus, int n)
{
	for (int i = 0; gpus && i < n; i++)
		gpu_info_release(&gpus[i]);
	free(gpus);
}

/* The indices spec names into idx (cap of them); returns how many, 0 for
 * "all", -1 (reported) for anything else. */
static int gpu_spec_parse(const char *spec, int *idx, int cap)
{
	int n = 0;
	if (!spec || !strcmp(spec, "all"))
		return 0;
	for (const char *p = spec;;) {
		char *end;
		long v = isdigit((unsigned char)*p) ? strtol(p, &end, 10) : -1;
		if (v < 0 || v >= 1024 || (*end && *end != ',') || n >= cap)
			return error("--gpus wants all or GPU indices such as 0,2 (at most %d), not '%s'", cap, spec);
		for (int k = 0; k < n; k++)
			if (idx[k] == v)
				return error("--gpus names GPU %ld twice", v);
		idx[n++] = (int)v;
		if (!*end)
			return n;
		p = end + 1;
	}
}

int gpu_spec_check(const char *spec)
{
	int idx[256];
	return gpu_spec_parse(spec, idx, 256) < 0 ? -1 : 0;
}

int gpu_select(const char *spec, struct gpu_info **gpus, int *n)
{
	int idx[256], want = gpu_spec_parse(spec, idx, 256), rc = -1;
	struct gpu_info first = { 0 };
	*gpus = NULL;
	*n = 0;
	if (want < 0)
		goto out;
	if (gpu_info_query(&first)) {
		rc = -2;
		goto out;
	}
	int visible = first.devices > 0 ? first.devices : 1;
	if (visible == 1 && (want == 0 || (want == 1 && idx[0] == 0))) {
		/* The host's one GPU, as it always ran. */
		*gpus = xcalloc(1, sizeof **gpus);
		(*gpus)[0] = first;
		memset(&first, 0, sizeof first);
		*n = 1;
		rc = 0;
		goto out;
	}
	if (want == 0)
		for (want = 0; want < visible && want < 256; want++)
			idx[want] = want;
	/* A worker on one GPU sees it through CUDA_VISIBLE_DEVICES: the entry
	 * of kbreed's own list when it has one (Slurm sets it), else the index. */
	const char *list = getenv("CUDA_VISIBLE_DEVICES");
	*gpus = xcalloc((size_t)want, sizeof **gpus);
	for (int k = 0; k < want; k++) {
		if (idx[k] >= visible) {
			error("--gpus: there is no GPU %d here; %d %s visible (0 to %d)", idx[k], visible,
			      visible == 1 ? "is" : "are", visible - 1);
			goto out;
		}
		char *device = NULL;
		if (list && *list) {
			const char *p = list;
			for (int skip = idx[k]; skip > 0 && p; skip--)
				p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
			if (p)
				device = strndup(p, strcspn(p, ","));
		}
		if (!device)
			device = xasprintf("%d", idx[k]);
		int q = gpu_info_query_on(device, &(*gpus)[k]);
		(*gpus)[k].index = idx[k];
		free(device);
		if (q)
			goto out;
		*n = k + 1;
	}
	rc = 0;
out:
	gpu_info_release(&first);
	if (rc) {
		gpu_list_free(*gpus, want > 0 ? want : 0);
		*gpus = NULL;
		*n = 0;
	}
	return rc;
}

struct evaluator {
	const struct problem *problem;
	const struct refset *refs;
	struct eval_opts opts;
	int n_sets;         /* sets checked: opts.sets plain ones, then the stressed */
	char *tmp;          /* private directory: job file, worker log, outputs */
	char *job_path;
	struct worker_client wc;  /* the worker's process */
	bool wc_ready;      /* wc was initialised */
	double *scale;      /* [set * n_outputs + j]: tolerance scale, 0 until computed (n_sets sets) */
	int count;          /* candidates judged, to name output directories */
	int *fds;           /* reference inputs and parameters, opened here for the worker */
	int n_fds;
	bool python;        /* judges Python solutions in the Python worker */
	/* Checking on the GPU (opts.compare): */
	char *cmp_job_path; /* the comparer's job: the worker's plus the references */
	int *cmp_fds;       /* its descriptors: the worker's and the references' */
	int n_cmp_fds;
	struct worker_client cmp;  /* the comparer's process */
	bool cmp_ready;     /* cmp was initialised */
	bool cmp_off;       /* fell back to the output files for good */
	int attached;       /* wc.starts when the comparer was attached to it; 0: never */
};

_Static_assert(TOL_PROFILES == KBW_PROFILES, "the comparer reports one count per tolerance profile");

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

/* Opens a file for a child to inherit, appending it to fds; its job names
 * it fd:N. */
static int open_for(int **fds, int *n, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error("cannot open %s: %s", path, strerror(errno));
	*fds = xrealloc(*fds, (size_t)(*n + 1) * sizeof **fds);
	(*fds)[(*n)++] = fd;
	return fd;
}

/* Opens a reference input for the worker to inherit. */
static int open_for_worker(struct evaluator *ev, const char *path)
{
	return open_for(&ev->fds, &ev->n_fds, path);
}

/* The reference data's number for the worker's set s: the plain sets are
 * the first opts.sets of the data's, the stressed ones follow its plain ones. */
static int file_set(const struct evaluator *ev, int s)
{
	return s < ev->opts.sets ? s : ev->refs->sets + (s - ev->opts.sets);
}

/* The worker's job (include/kbreed_worker_protocol.h): the settings, every
 * tensor, the reference inputs and parameters as descriptors opened here. */
static int write_job(struct evaluator *ev)
{
	const struct problem *p = ev->problem;
	const struct eval_opts *o = &ev->opts;
	struct kbw_job j;
	char *text = NULL, why[512];
	size_t len = 0;
	int rc = -1;
	kbw_job_init(&j);
	j.version = KBREED_WORKER_PROTOCOL;
	j.sets = ev->n_sets;
	j.timed_sets = o->sets;   /* timing stays on the problem's own distribution */
	j.warmup = o->warmup;
	j.reps = o->reps;
	j.flush_mb = o->flush_mb;
	for (int s = 0; s < ev->n_sets; s++)
		for (int i = 0; i < p->n_inputs; i++) {
			char *path = xasprintf("%s/set%d.in%d.bin", ev->refs->dir, file_set(ev, s), i);
			int fd = open_for_worker(ev, path);
			free(path);
			if (fd < 0)
				goto out;
			char src[32];
			snprintf(src, sizeof src, "fd:%d", fd);
			const struct tensor_spec *t = &p->inputs[i];
			if (kbw_job_add(&j, KBW_INPUT, s, i, (int)t->dtype, t->ndim, t->shape, src))
				goto oom;
		}
	for (int i = 0; i < p->n_params; i++) {
		char *path = xasprintf("%s/param%d.bin", ev->refs->dir, i);
		int fd = open_for_worker(ev, path);
		free(path);
		if (fd < 0)
			goto out;
		char src[32];
		snprintf(src, sizeof src, "fd:%d", fd);
		const struct tensor_spec *t = &p->params[i];
		if (kbw_job_add(&j, KBW_PARAM, -1, i, (int)t->dtype, t->ndim, t->shape, src))
			goto oom;
	}
	for (int i = 0; i < p->n_outputs; i++) {
		const struct tensor_spec *t = &p->outputs[i];
		if (kbw_job_add(&j, KBW_OUTPUT, -1, i, (int)t->dtype, t->ndim, t->shape, NULL))
			goto oom;
	}
	if (kbw_job_format(&j, &text, &len, why, sizeof why)) {
		error("cannot write the GPU worker's job: %s", why);
		goto out;
	}
	rc = util_write_file(ev->job_path, text, len);
	if (rc || !ev->cmp_job_path)
		goto out;
	/* The comparer's job: the same, with every reference output and each
	 * output's tolerances. Its descriptors are the worker's and the
	 * references', which the worker never inherits. */
	ev->cmp_fds = xcalloc((size_t)ev->n_fds + 1, sizeof *ev->cmp_fds);
	memcpy(ev->cmp_fds, ev->fds, (size_t)ev->n_fds * sizeof *ev->fds);
	ev->n_cmp_fds = ev->n_fds;
	for (int s = 0; s < ev->n_sets; s++)
		for (int i = 0; i < p->n_outputs; i++) {
			char *path = xasprintf("%s/set%d.out%d.bin", ev->refs->dir, file_set(ev, s), i);
			int fd = open_for(&ev->cmp_fds, &ev->n_cmp_fds, path);
			free(path);
			if (fd < 0) {
				rc = -1;
				goto out;
			}
			char src[32];
			snprintf(src, sizeof src, "fd:%d", fd);
			const struct tensor_spec *t = &p->outputs[i];
			if (kbw_job_add(&j, KBW_REFERENCE, s, i, (int)t->dtype, t->ndim, t->shape, src))
				goto oom;
		}
	for (int i = 0; i < p->n_outputs && i < KBW_MAX_TENSORS; i++)
		for (int q = 0; q < TOL_PROFILES; q++)
			tolerance_get(q, p->outputs[i].dtype, &j.tol[i][2 * q], &j.tol[i][2 * q + 1]);
	j.n_tols = p->n_outputs;
	free(text);
	text = NULL;
	if (kbw_job_format(&j, &text, &len, why, sizeof why)) {
		error("cannot write the comparer's job: %s", why);
		rc = -1;
		goto out;
	}
	rc = util_write_file(ev->cmp_job_path, text, len);
	if (!rc && chmod(ev->cmp_job_path, 0600))
		rc = error("cannot make %s private: %s", ev->cmp_job_path, strerror(errno));
	goto out;
oom:
	error("cannot build the GPU worker's job: out of memory");
	rc = -1;
out:
	free(text);
	kbw_job_release(&j);
	return rc;
}

struct evaluator *evaluator_new(const struct problem *p, const struct refset *r,
				const struct eval_opts *o)
{
	return evaluator_new_on(p, r, o, NULL);
}

/* The parts of an evaluator both kinds share: the private directory, the
 * job and its descriptors. NULL on failure (reported). */
static struct evaluator *evaluator_alloc(const struct problem *p, const struct refset *r,
					 const struct eval_opts *o)
{
	if (o->sets > r->sets) {
		error("asked for %d input sets, the reference data has %d", o->sets, r->sets);
		return NULL;
	}
	int n_sets = o->sets + (o->stress ? r->n_stress : 0);
	if (n_sets > KBW_MAX_SETS) {
		error("%d input sets and %d stressed ones are more than the worker takes (%d)", o->sets,
		      n_sets - o->sets, KBW_MAX_SETS);
		return NULL;
	}
	struct evaluator *ev = xcalloc(1, sizeof *ev);
	ev->problem = p;
	ev->refs = r;
	ev->opts = *o;
	ev->n_sets = n_sets;
	ev->scale = xcalloc((size_t)(n_sets * p->n_outputs), sizeof *ev->scale);
	ev->tmp = make_private_dir();
	if (!ev->tmp)
		goto fail;
	ev->job_path = xasprintf("%s/job", ev->tmp);
	if (o->compare != COMPARE_FILES)
		ev->cmp_job_path = xasprintf("%s/compare.job", ev->tmp);
	/* The references sit in this process's memory while it compares: no
	 * process of the same user may read it, or its /proc entries. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	protect_refs(r->dir);
	if (write_job(ev))
		goto fail;
	return ev;
fail:
	evaluator_free(ev);
	return NULL;
}

struct evaluator *evaluator_new_on(const struct problem *p, const struct refset *r,
				   const struct eval_opts *o, const char *device)
{
	struct evaluator *ev = evaluator_alloc(p, r, o);
	if (!ev)
		return NULL;
	if (worker_client_init(&ev->wc, ev->tmp, ev->job_path, ev->fds, ev->n_fds)) {
		evaluator_free(ev);
		return NULL;
	}
	ev->wc_ready = true;
	if (device)
		ev->wc.device_var = xasprintf("CUDA_VISIBLE_DEVICES=%s", device);
	if (ev->cmp_job_path) {
		worker_client_init_comparer(&ev->cmp, ev->tmp, ev->cmp_job_path, ev->cmp_fds, ev->n_cmp_fds);
		ev->cmp_ready = true;
		/* Legacy CUDA IPC handles do not cross process namespaces: the
		 * worker and the comparer stay in kbreed's (docs/EVALUATION.md). */
		ev->wc.host_pids = ev->cmp.host_pids = true;
		if (device)
			ev->cmp.device_var = xasprintf("CUDA_VISIBLE_DEVICES=%s", device);
	}
	return ev;
}

struct evaluator *evaluator_new_python(const struct problem *p, const struct refset *r,
				       const struct eval_opts *o, const char *device)
{
	struct evaluator *ev = evaluator_alloc(p, r, o);
	if (!ev)
		return NULL;
	/* The problem's text, for get_init_inputs(), as a descriptor: the
	 * unprivileged worker may not be able to open it by its path. Its base
	 * name only names it in messages (a path on the command line would be
	 * checked for that user, and its absence keep the worker as root). */
	int fd = open_for_worker(ev, p->path);
	char src[32], seed[32], *copy = xstrdup(p->path);
	snprintf(src, sizeof src, "fd:%d", fd);
	snprintf(seed, sizeof seed, "%d", o->seed);
	const char *args[] = { "--problem", src, "--problem-name", basename(copy), "--seed", seed, NULL };
	char *script = xasprintf("%s/bridge/kbreed_pyworker.py", home_dir());
	if (fd < 0 || worker_client_init_python(&ev->wc, ev->tmp, ev->job_path, ev->fds, ev->n_fds,
						bridge_python(), script, args)) {
		free(script);
		free(copy);
		evaluator_free(ev);
		return NULL;
	}
	free(script);
	free(copy);
	ev->wc_ready = true;
	ev->python = true;
	if (device)
		ev->wc.device_var = xasprintf("CUDA_VISIBLE_DEVICES=%s", device);
	return ev;
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

/* Folds one output's comparison (k: the checked call, as res->bad_set
 * numbers them; j: the output) into res. */
static void fold_output(struct eval_result *res, int k, int j, const struct compare_stats *s)
{
	if (s->rel_l2 > res->stats.rel_l2 || res->norm_set < 0) {
		res->norm_set = k;
		res->norm_output = j;
	}
	for (int q = 0; q < TOL_PROFILES; q++)
		if (s->first_bad[q] >= 0 && res->bad_set[q] < 0) {
			res->bad_set[q] = k;
			res->bad_output[q] = j;
		}
	/* Flat indices stay per tensor: merge without offset, keep the first. */
	struct compare_stats before = res->stats;
	compare_stats_merge(&res->stats, s, 0);
	for (int q = 0; q < TOL_PROFILES; q++)
		if (before.first_bad[q] >= 0) {
			res->stats.first_bad[q] = before.first_bad[q];
			res->stats.first_got[q] = before.first_got[q];
			res->stats.first_want[q] = before.first_want[q];
		}
}

/* Every checked call's outputs are folded in: the verdict of the values. */
static void finish_outputs(const struct evaluator *ev, struct eval_result *res)
{
	for (int q = 0; q < TOL_PROFILES; q++)
		res->pass[q] = res->stats.n_bad[q] == 0 && !res->stats.norm_bad[q];
	res->checked = true;
	res->stressed = ev->n_sets - ev->opts.sets;
}

/* Compares every saved output with its reference. Returns 0, or -1 when
 * files were missing (a worker bug, reported). */
static int check_outputs(struct evaluator *ev, const char *outdir, struct eval_result *res)
{
	const struct problem *p = ev->problem;
	int sets = ev->n_sets;
	for (int k = 0; k < 2 * sets; k++) {
		int set = k % sets;
		for (int j = 0; j < p->n_outputs; j++) {
			const struct tensor_spec *t = &p->outputs[j];
			size_t bytes = tensor_bytes(t);
			char *ref_path = xasprintf("%s/set%d.out%d.bin", ev->refs->dir, file_set(ev, set), j);
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
				fold_output(res, k, j, &s);
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
	finish_outputs(ev, res);
	return 0;
}

/* The verdict of a run whose outputs were all compared (src/verdict.c). */
static void judge_values(const struct evaluator *ev, const struct worker_run *run, struct eval_result *res)
{
	struct verdict_basis b = { .problem = ev->problem, .scale = ev->scale, .sets = ev->opts.sets,
				   .n_sets = ev->n_sets, .stress = ev->refs->stress,
				   .skipped = ev->opts.stress ? ev->refs->skipped : NULL,
				   .n_skipped = ev->opts.stress ? ev->refs->n_skipped : 0,
				   .tolerance = ev->opts.tolerance };
	verdict_of_run(run, &b, res);
}

/* Checking on the GPU gives way to the output files for the rest of this
 * evaluator's life; said once. */
static void gpu_off(struct evaluator *ev, const char *why)
{
	void (*say)(const char *, ...) = ev->opts.compare == COMPARE_GPU ? warn : debug;
	if (!ev->cmp_off)
		say("checking on the GPU is off for %s: %s; outputs are compared from files", ev->problem->name, why);
	ev->cmp_off = true;
	if (ev->cmp_ready)
		worker_client_stop(&ev->cmp, true);
}

/* Collects the worker's "handle" lines (export). */
struct handles {
	struct kbw_handle h[3 * KBW_MAX_TENSORS];
	int n;
};

static void take_handle(void *ctx, const struct kbw_reply *r)
{
	struct handles *hs = ctx;
	if (r->kind == KBW_REPLY_HANDLE && hs->n < 3 * KBW_MAX_TENSORS)
		hs->h[hs->n++] = r->handle;
}

/* Readies checking on the GPU for the next candidate: the comparer running
 * and attached to the running worker's buffers (exported once per worker
 * process). Returns true when the candidate may be checked there. */
static bool gpu_ready(struct evaluator *ev)
{
	if (ev->opts.compare == COMPARE_FILES || ev->cmp_off || !ev->cmp_ready || ev->python)
		return false;
	if (!ev->wc.takes_ipc) {
		gpu_off(ev, "the GPU worker cannot export its buffers");
		return false;
	}
	if (!worker_client_running(&ev->cmp) && worker_client_start(&ev->cmp)) {
		gpu_off(ev, "the comparer did not start");
		return false;
	}
	if (ev->attached == ev->wc.starts)
		return true;
	struct handles hs = { .n = 0 };
	char *why = NULL;
	int rc = worker_client_request(&ev->wc, "export\n", 60, take_handle, &hs, &why);
	for (int i = 0; rc == 0 && i < hs.n; i++) {
		char line[KBW_MAX_LINE];
		rc = kbw_format_handle(line, sizeof line, &hs.h[i]) < 0 ? -1 : worker_client_send(&ev->cmp, line);
	}
	if (rc == 0) {
		free(why);
		why = NULL;
		rc = worker_client_request(&ev->cmp, "attach\n", 60, NULL, NULL, &why);
	}
	if (rc) {
		char *msg = xasprintf("the comparer could not reach the worker's buffers (%s)",
				      why ? why : "a process did not answer");
		gpu_off(ev, msg);
		free(msg);
		free(why);
		return false;
	}
	ev->attached = ev->wc.starts;
	return true;
}

/* One candidate's checks on the GPU, as worker_client_eval asks for them. */
struct gpu_check {
	struct evaluator *ev;
	struct eval_result *res;
	int k;              /* the checked call being folded (res->bad_set numbering) */
	int outputs;        /* stats lines of this call, each output once */
	bool failed;        /* the comparer failed: the candidate is judged again */
	bool rejected;      /* the comparer's fault is the candidate's doing */
};

static void take_stats(void *ctx, const struct kbw_reply *r)
{
	struct gpu_check *g = ctx;
	const struct problem *p = g->ev->problem;
	if (r->kind == KBW_REPLY_FAULT) {
		g->rejected = r->fault == KBW_FAULT_REJECTED;
		return;
	}
	if (r->kind != KBW_REPLY_STATS || r->stats.output >= p->n_outputs ||
	    g->outputs != r->stats.output)
		return;   /* out of order: the count below tells */
	g->outputs++;
	const struct kbw_stats *k = &r->stats;
	struct compare_stats s;
	compare_stats_init(&s);
	s.n = k->n;
	s.n_nonfinite = k->n_nonfinite;
	s.max_abs = k->max_abs;
	s.max_rel = k->max_rel;
	s.err_sq = k->err_sq;
	s.ref_sq = k->ref_sq;
	for (int q = 0; q < TOL_PROFILES; q++) {
		s.n_bad[q] = k->n_bad[q];
		s.first_bad[q] = k->first_bad[q];
		s.first_got[q] = k->first_got[q];
		s.first_want[q] = k->first_want[q];
	}
	compare_finish(&s, p->outputs[k->output].dtype);
	int set = g->k % g->ev->n_sets;
	g->ev->scale[set * p->n_outputs + k->output] = k->scale;
	fold_output(g->res, g->k, k->output, &s);
}

static int gpu_check(void *ctx, int set, int pass, char **stop_why)
{
	struct gpu_check *g = ctx;
	struct evaluator *ev = g->ev;
	char line[64], *why = NULL;
	*stop_why = NULL;
	if (set >= ev->n_sets) {
		g->failed = true;
		return -1;
	}
	snprintf(line, sizeof line, "compare %d %d\n", set, pass);
	g->k = pass ? ev->n_sets + set : set;
	g->rejected = false;
	g->outputs = 0;
	int rc = worker_client_request(&ev->cmp, line, ev->opts.timeout_s, take_stats, g, &why);
	if (rc == 1 && g->rejected) {
		*stop_why = why;   /* an input or parameter changed: the candidate's fault */
		return 0;
	}
	free(why);
	if (rc || g->outputs != ev->problem->n_outputs) {
		g->failed = true;
		return -1;
	}
	return 0;
}

int evaluator_run(struct evaluator *ev, const char *so_path, struct eval_result *res)
{
	return evaluator_run_cutoff(ev, so_path, 0, 0, res);
}

int evaluator_run_cutoff(struct evaluator *ev, const char *so_path, double cutoff_ms, int calls,
			 struct eval_result *res)
{
	double t0 = util_now();
	int rc = 0;
	char *outdir = xasprintf("%s/c%d", ev->tmp, ev->count++);
	struct worker_run run;
	worker_run_init(&run, ev->n_sets, ev->opts.reps);
	if (cutoff_ms > 0 && calls >= 1 && calls < ev->opts.reps) {
		run.cutoff_ms = cutoff_ms;
		run.cutoff_calls = calls;
	}

	if (worker_client_start(&ev->wc)) {
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "kbreed could not start the %s worker",
				ev->python ? "Python" : "GPU");
		rc = -1;
		goto out;
	}
	/* A Python solution compiles what it loads (load_inline) as it is
	 * imported, inside the call. */
	double limit_s = ev->opts.timeout_s + (ev->python ? EVAL_PYTHON_LOAD_S : 0);
	struct gpu_check g = { .ev = ev, .res = res };
	if (gpu_ready(ev)) {
		run.gpu = true;
		run.on_check = gpu_check;
		run.check_ctx = &g;   /* the comparer's answers count in the candidate's time */
	}
	if (worker_client_eval(&ev->wc, so_path, outdir, limit_s, &run)) {
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "kbreed could not hand %s to the %s worker", so_path,
				ev->python ? "Python" : "GPU");
		rc = -1;
		goto out;
	}
	res->sm_clock_mhz = run.sm_clock_mhz;
	res->mem_clock_mhz = run.mem_clock_mhz;
	res->leaked_bytes = run.leaked_bytes;
	res->cutoff_ms = run.cutoff_ms;
	if (g.failed) {
		/* The comparer broke, not the candidate: judge it again from files. */
		gpu_off(ev, "the comparer failed during a candidate");
		worker_client_stop(&ev->wc, true);
		worker_run_release(&run);
		if (util_is_dir(outdir))
			util_remove_tree(outdir);
		free(outdir);
		eval_result_release(res);
		return evaluator_run_cutoff(ev, so_path, cutoff_ms, calls, res);
	}
	if (verdict_of_fault(&run, limit_s, res)) {
		if (run.end != WORKER_END_OK)
			res->log = worker_client_log_tail(&ev->wc);
	} else if (run.gpu && run.checks != 2 * ev->n_sets) {
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "the worker asked for %d checks, not %d", run.checks,
				2 * ev->n_sets);
		rc = -1;
	} else if (run.gpu) {
		finish_outputs(ev, res);
		res->gpu_checked = true;
		judge_values(ev, &run, res);
	} else if (check_outputs(ev, outdir, res)) {
		eval_result_set(res, VERDICT_RUNTIME_ERROR, "outputs missing from %s", outdir);
		rc = -1;
	} else {
		judge_values(ev, &run, res);
	}
	/* A Python worker has imported its solution for good: the next one
	 * gets a fresh worker. */
	if (worker_client_running(&ev->wc) && (ev->python || verdict_needs_fresh_worker(&run, res)))
		worker_client_stop(&ev->wc, true);
out:
	res->wall_s = util_now() - t0;
	if (util_is_dir(outdir))
		util_remove_tree(outdir);
	worker_run_release(&run);
	free(outdir);
	return rc;
}

void evaluator_free(struct evaluator *ev)
{
	if (!ev)
		return;
	if (ev->wc_ready)
		worker_client_release(&ev->wc);   /* asks the worker to quit */
	if (ev->cmp_ready)
		worker_client_release(&ev->cmp);
	for (int i = ev->n_fds; i < ev->n_cmp_fds; i++)
		close(ev->cmp_fds[i]);   /* the references' (the rest are the worker's) */
	free(ev->cmp_fds);
	free(ev->cmp_job_path);
	for (int i = 0; i < ev->n_fds; i++)
		close(ev->fds[i]);
	free(ev->fds);
	if (ev->tmp)
		util_remove_tree(ev->tmp);
	free(ev->tmp);
	free(ev->job_path);
	free(ev->scale);
	free(ev);
}
