/*
 * compile.c - nvcc jobs in parallel, with a time limit each and a cache.
 */
#define _GNU_SOURCE
#include "compile.h"

#include "compile_group.h"
#include "home.h"
#include "linkcheck.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_CAP (256u << 10)
#define MAX_FLAGS 48

static void mark_done(const struct compile_opts *o, struct compile_job *j)
{
	if (o->lock)
		pthread_mutex_lock(o->lock);
	j->done = true;
	if (o->lock) {
		pthread_cond_broadcast(o->cond);
		pthread_mutex_unlock(o->lock);
	}
}

void compile_job_release(struct compile_job *j)
{
	free(j->so_path);
	free(j->log);
	free(j->log_path);
	j->so_path = j->log = j->log_path = NULL;
}

const char *compile_arch_for(int major, int minor)
{
	static char arch[32];
	if ((major == 9 && minor == 0) || (major == 10 && minor == 0))
		snprintf(arch, sizeof arch, "sm_%d%da", major, minor);
	else
		snprintf(arch, sizeof arch, "sm_%d%d", major, minor);
	return arch;
}

const char *compile_nvcc(void)
{
	static char *nvcc;
	const char *v = getenv("KBREED_NVCC");
	const char *cuda = getenv("CUDA_HOME");
	char *now;
	if (v && *v)
		now = xstrdup(v);
	else if (cuda && *cuda)
		now = xasprintf("%s/bin/nvcc", cuda);
	else if (access("/usr/local/cuda/bin/nvcc", X_OK) == 0)
		now = xstrdup("/usr/local/cuda/bin/nvcc");
	else
		now = xstrdup("nvcc");
	if (nvcc && !strcmp(nvcc, now)) {
		free(now);
	} else {
		free(nvcc);
		nvcc = now;
	}
	return nvcc;
}

/* nvcc's version banner, part of every cache key; remembered per compiler. */
static int nvcc_version(char **out)
{
	static char *version, *version_of;
	if (version && !strcmp(version_of, compile_nvcc())) {
		*out = version;
		return 0;
	}
	free(version);
	free(version_of);
	version = version_of = NULL;
	const char *argv[] = { compile_nvcc(), "--version", NULL };
	struct proc_opts o = { .argv = argv, .timeout_s = 60 };
	struct proc_result r;
	proc_result_init(&r);
	int rc = proc_run(&o, &r);
	if (rc || r.end != PROC_EXITED || r.exit_code != 0) {
		rc = error("cannot run %s (set KBREED_NVCC or CUDA_HOME): %s", compile_nvcc(),
			   buf_str(&r.err));
	} else {
		version = buf_detach(&r.out);
		version_of = xstrdup(compile_nvcc());
		*out = version;
	}
	proc_result_release(&r);
	return rc ? -1 : 0;
}

/* Splits flags into argv entries; returns the count added. */
static int add_words(const char **argv, int n, char *words)
{
	for (char *save = NULL, *w = strtok_r(words, " \t", &save); w && n < MAX_FLAGS - 2;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	return n;
}

/* What a slot runs: a job alone, a group's unit, or one member's link. */
enum task_kind { TASK_ALONE, TASK_GROUP, TASK_LINK };

struct task {
	enum task_kind kind;
	int job;     /* TASK_ALONE, TASK_LINK: the job */
	int group;   /* TASK_GROUP, TASK_LINK: the group */
	int member;  /* TASK_LINK: its place in the group */
};

struct running {
	pid_t pid;
	double started;
	char *tmp_so;     /* what nvcc writes: a job's object, a group's unit's .o */
	char *key_path;   /* <cache>/build/<key>, without extension (not for a group) */
	int job;          /* index into the batch; -1 for a group */
	struct task task;
	double limit;     /* seconds it may run */
	char *log_path;   /* where its output goes */
};

static char *read_log(const char *path)
{
	char *text = NULL;
	FILE *f = fopen(path, "r");
	struct buf b;
	buf_init(&b, LOG_CAP);
	if (f) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			if (buf_append(&b, chunk, n)) {
				buf_printf(&b, "\n[log cut at %u KiB; full log in %s]\n", LOG_CAP >> 10, path);
				break;
			}
		fclose(f);
	}
	text = buf_detach(&b);
	return text;
}

/* Whether nvcc's log says the machine, not the source, made it fail: a full
 * disk or TMPDIR, an output it could not write, memory it could not get. */
static bool environment_failure(const char *log)
{
	static const char *const signs[] = { "No space left on device", "Could not open output file",
					     "Cannot allocate memory", "Disk quota exceeded", NULL };
	for (int i = 0; signs[i]; i++)
		if (strstr(log, signs[i]))
			return true;
	return false;
}

/* Settles a job whose nvcc ended as `end` (code: exit status or signal).
 * Only the compiler's verdict on the source (a normal exit with a non-zero
 * status) is remembered as <key>.failed: a time limit, a signal or a machine
 * that could not let nvcc work says nothing about the source. */
static void finish(struct compile_job *j, struct running *r, enum proc_end end, int code)
{
	char *so = xasprintf("%s.so", r->key_path);
	bool ok = end == PROC_EXITED && code == 0;
	j->timed_out = end == PROC_TIMEOUT;
	j->log = read_log(j->log_path);
	if (ok && rename(r->tmp_so, so) == 0) {
		j->ok = true;
		j->so_path = so;
		so = NULL;
	} else {
		unlink(r->tmp_so);
		if (end == PROC_EXITED && code != 0 && !environment_failure(j->log)) {
			char *failed = xasprintf("%s.failed", r->key_path);
			util_write_file(failed, "", 0);
			free(failed);
		}
	}
	char *note = NULL;
	if (end == PROC_TIMEOUT)
		note = xasprintf("%s\n[kbreed: nvcc killed after the time limit]\n", j->log);
	else if (end == PROC_SIGNALED)
		note = xasprintf("%s\n[kbreed: nvcc ended by signal %d; not remembered as a failure]\n",
				 j->log, code);
	else if (!ok && environment_failure(j->log))
		note = xasprintf("%s\n[kbreed: the machine stopped nvcc; not remembered as a failure]\n", j->log);
	if (note) {
		free(j->log);
		j->log = note;
	}
	free(so);
	free(r->tmp_so);
	free(r->key_path);
	free(r->log_path);
	memset(r, 0, sizeof *r);
}

/* The flags every candidate is compiled with, before the target, the
 * include directory and the extra flags. */
static const char *const fixed_flags[] = { "-O3", "-std=c++17", "-shared", "-Xcompiler", "-fPIC",
					   "-lineinfo", NULL };

#define MAX_HEADERS 64

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds a file's name and content to the hash. */
static int hash_file(struct sha256 *h, const char *path, const char *name)
{
	char *data = NULL;
	size_t len = 0;
	if (util_read_file(path, 16u << 20, &data, &len))
		return -1;
	sha256_update(h, name, strlen(name) + 1);
	sha256_update(h, data, len);
	sha256_update(h, "\0", 1);
	free(data);
	return 0;
}

/* Adds every header of the include directory (sorted by name) to the hash:
 * a candidate may include any of them. */
static int hash_headers(struct sha256 *h, const char *dir, char **why)
{
	char *names[MAX_HEADERS];
	int n = 0, rc = 0;
	DIR *d = opendir(dir);
	if (!d) {
		*why = xasprintf("cannot read the include directory %s: %s\n", dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == MAX_HEADERS) {
			*why = xasprintf("more than %d files in %s\n", MAX_HEADERS, dir);
			rc = -1;
			break;
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (!rc)
		qsort(names, (size_t)n, sizeof *names, cmp_name);
	for (int i = 0; !rc && i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		if (!util_is_dir(path) && hash_file(h, path, names[i])) {
			*why = xasprintf("cannot read %s\n", path);
			rc = -1;
		}
		free(path);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

static char *include_dir_of(const struct compile_opts *o)
{
	return o->include_dir ? xstrdup(o->include_dir) : xasprintf("%s/include", home_dir());
}

static char *gencode_of(const char *arch)
{
	return xasprintf("arch=compute_%s,code=%s", arch + (strncmp(arch, "sm_", 3) ? 0 : 3), arch);
}

/* The key of one source: everything nvcc sees besides paths. */
static int key_of(const char *source, const char *include_dir, const char *gencode, const char *extra,
		  const char *version, char key[65], char **why)
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, "kbreed compile key 2", 21);
	if (hash_file(&h, source, "")) {
		*why = xasprintf("cannot read %s\n", source);
		return -1;
	}
	if (hash_headers(&h, include_dir, why))
		return -1;
	for (int i = 0; fixed_flags[i]; i++)
		sha256_update(&h, fixed_flags[i], strlen(fixed_flags[i]) + 1);
	const char *parts[] = { gencode, extra ? extra : "", version };
	for (int i = 0; i < 3; i++)
		sha256_update(&h, parts[i], strlen(parts[i]) + 1);
	sha256_final_hex(&h, key);
	return 0;
}

int compile_key(const char *source, const struct compile_opts *o, char key[65])
{
	char *version = NULL, *why = NULL, *include = include_dir_of(o), *gencode = gencode_of(o->arch);
	int rc = nvcc_version(&version);
	if (!rc && key_of(source, include, gencode, o->extra, version, key, &why))
		rc = error("compile key of %s: %.*s", source, (int)strcspn(why, "\n"), why);
	free(why);
	free(gencode);
	free(include);
	return rc;
}

/* A group of candidates compiled as one translation unit (compile_group.h). */
struct group {
	int member[COMPILE_GROUP_MAX];  /* jobs, in the unit's order */
	int n;
	char *stem;                     /* <cache>/build/group.<pid>.<k>: its .cu, .o and .log */
	char *log;                      /* nvcc's output for the unit */
	double seconds;                 /* the unit's compile */
	int links;                      /* members whose link ended */
};

/* One batch's state: its jobs, their plan and what runs. */
struct batch {
	struct compile_job *jobs;
	int n;
	const struct compile_opts *o;
	char *dir;                 /* <cache>/build */
	char *version, *include, *include_dir, *gencode, *extra;
	double timeout;
	char **key_path;           /* [n]: <dir>/<key> without extension, or NULL */
	int *twin_of;              /* [n]: an earlier job with the same key, or -1 */
	char **text;               /* [n]: the source, kept while its group is made */
	struct task *plan;         /* tasks in order: jobs alone and groups */
	int n_plan, next;
	struct task *urgent;       /* links and retries, before the plan's next */
	int n_urgent;
	struct group *groups;
	int n_groups;
	struct running *slots;
	char **slot_tmp;           /* each slot's TMPDIR */
	int width;
};

/* Settles job i (its fields final) and every later job of the same key. */
static void settle(struct batch *b, int i)
{
	struct compile_job *j = &b->jobs[i];
	for (int t = i + 1; t < b->n; t++) {
		struct compile_job *w = &b->jobs[t];
		if (b->twin_of[t] != i)
			continue;
		w->ok = j->ok;
		w->cached = true;
		w->timed_out = j->timed_out;
		w->so_path = j->so_path ? xstrdup(j->so_path) : NULL;
		w->log = j->log ? xstrdup(j->log) : NULL;
		w->log_path = j->log_path ? xstrdup(j->log_path) : NULL;
		mark_done(b->o, w);
	}
	mark_done(b->o, j);
}

static void push_urgent(struct batch *b, struct task t)
{
	b->urgent[b->n_urgent++] = t;
}

/* The next task, retries and links first; false when none is left. */
static bool next_task(struct batch *b, struct task *t)
{
	if (b->n_urgent) {
		*t = b->urgent[0];
		memmove(b->urgent, b->urgent + 1, (size_t)--b->n_urgent * sizeof *b->urgent);
		return true;
	}
	if (b->next < b->n_plan) {
		*t = b->plan[b->next++];
		return true;
	}
	return false;
}

/* Keys every job, settles those the cache already holds, and plans the
 * rest: consecutive jobs that may share a unit and include the same
 * headers in groups of up to compile_group_size(), fewer when that keeps
 * every slot busy. */
static void plan_batch(struct batch *b)
{
	int *todo = xcalloc((size_t)b->n + 1, sizeof *todo), n_todo = 0;
	for (int i = 0; i < b->n; i++) {
		struct compile_job *j = &b->jobs[i];
		char key[65], *why = NULL;
		b->twin_of[i] = -1;
		if (key_of(j->source, b->include_dir, b->gencode, b->o->extra, b->version, key, &why)) {
			j->log = why;
			mark_done(b->o, j);
			continue;
		}
		b->key_path[i] = xasprintf("%s/%s", b->dir, key);
		char *so = xasprintf("%s.so", b->key_path[i]), *failed = xasprintf("%s.failed", b->key_path[i]);
		j->log_path = xasprintf("%s.log", b->key_path[i]);
		if (util_file_exists(so) || util_file_exists(failed)) {
			j->ok = util_file_exists(so);
			j->cached = true;
			j->so_path = j->ok ? so : NULL;
			if (j->ok)
				so = NULL;
			j->log = read_log(j->log_path);
			mark_done(b->o, j);
		} else {
			for (int k = 0; k < n_todo && b->twin_of[i] < 0; k++)
				if (!strcmp(b->key_path[todo[k]], b->key_path[i]))
					b->twin_of[i] = todo[k];
			if (b->twin_of[i] < 0)
				todo[n_todo++] = i;
		}
		free(so);
		free(failed);
	}
	int most = b->o->group > 0 ? b->o->group : compile_group_size();
	int size = (n_todo + b->width - 1) / b->width;
	if (size > most)
		size = most;
	if (size > COMPILE_GROUP_MAX)
		size = COMPILE_GROUP_MAX;
	b->plan = xcalloc((size_t)n_todo + 1, sizeof *b->plan);
	b->urgent = xcalloc((size_t)2 * n_todo + 1, sizeof *b->urgent);
	b->groups = xcalloc((size_t)n_todo + 1, sizeof *b->groups);
	struct group *open = NULL;  /* the group being filled */
	uint64_t open_headers = 0;  /* the headers its members include */
	for (int k = 0; k < n_todo; k++) {
		int i = todo[k];
		const char *why = NULL;
		size_t len = 0;
		uint64_t headers = 0;
		bool fits = size > 1 && !util_read_file(b->jobs[i].source, 16u << 20, &b->text[i], &len) &&
			    compile_group_fits(b->text[i], len, b->jobs[i].source, &why, &headers);
		if (!fits) {
			if (why)
				debug("%s compiles alone: it %s", b->jobs[i].source, why);
			free(b->text[i]);
			b->text[i] = NULL;
			b->plan[b->n_plan++] = (struct task){ TASK_ALONE, i, -1, 0 };
			continue;
		}
		if (!open || open->n == size || open_headers != headers) {
			open = &b->groups[b->n_groups];
			open_headers = headers;
			b->plan[b->n_plan++] = (struct task){ TASK_GROUP, -1, b->n_groups++, 0 };
		}
		open->member[open->n++] = i;
	}
	/* A group of one is a job alone. */
	for (int t = 0; t < b->n_plan; t++) {
		struct group *g = b->plan[t].kind == TASK_GROUP ? &b->groups[b->plan[t].group] : NULL;
		if (g && g->n == 1)
			b->plan[t] = (struct task){ TASK_ALONE, g->member[0], -1, 0 };
	}
	free(todo);
}

/* Starts task t in slot s: 0 when it runs, 1 when nothing was started
 * (a group whose unit could not be written: its members wait as jobs
 * alone), -1 when kbreed could not start nvcc. */
static int start_task(struct batch *b, int s, struct task t)
{
	const char *argv[MAX_FLAGS + 8];
	char *extra = xstrdup(b->extra), *tmp = NULL, *log_path = NULL, *source = NULL, *object = NULL;
	char *sym[2] = { NULL, NULL };
	double limit = b->timeout;
	int k = 0, rc = 0;
	argv[k++] = compile_nvcc();
	for (int f = 0; fixed_flags[f]; f++)
		if (t.kind != TASK_GROUP || strcmp(fixed_flags[f], "-shared"))
			argv[k++] = fixed_flags[f];
	argv[k++] = "-gencode";
	argv[k++] = b->gencode;
	argv[k++] = b->include;
	k = add_words(argv, k, extra);
	if (t.kind == TASK_GROUP) {
		struct group *g = &b->groups[t.group];
		const char *texts[COMPILE_GROUP_MAX], *paths[COMPILE_GROUP_MAX];
		for (int m = 0; m < g->n; m++) {
			texts[m] = b->text[g->member[m]];
			paths[m] = b->jobs[g->member[m]].source;
		}
		static atomic_int units;  /* groups made by this process: unique names */
		g->stem = xasprintf("%s/group.%ld.%d", b->dir, (long)getpid(), atomic_fetch_add(&units, 1));
		source = xasprintf("%s.cu", g->stem);
		char *unit = compile_group_source(texts, paths, g->n, source);
		for (int m = 0; m < g->n; m++) {
			free(b->text[g->member[m]]);
			b->text[g->member[m]] = NULL;
		}
		if (util_write_file(source, unit, strlen(unit))) {
			warn("cannot write %s; its %d candidates compile alone", source, g->n);
			for (int m = 0; m < g->n; m++)
				push_urgent(b, (struct task){ TASK_ALONE, g->member[m], -1, 0 });
			free(unit);
			rc = 1;
			goto out;
		}
		free(unit);
		tmp = xasprintf("%s.o", g->stem);
		log_path = xasprintf("%s.log", g->stem);
		argv[k++] = "-c";
	} else {
		tmp = xasprintf("%s.so.tmp.%ld.%d", b->key_path[t.job], (long)getpid(), s);
		log_path = xstrdup(b->jobs[t.job].log_path);
		source = xstrdup(b->jobs[t.job].source);
	}
	argv[k++] = "-o";
	argv[k++] = tmp;
	if (t.kind == TASK_LINK) {
		char fwd[64], abi[64];
		compile_group_symbols(t.member, fwd, abi);
		sym[0] = xasprintf("--defsym=kbreed_forward=%s", fwd);
		sym[1] = xasprintf("--defsym=kbreed_abi_version=%s", abi);
		object = xasprintf("%s.o", b->groups[t.group].stem);
		argv[k++] = "-Xlinker";
		argv[k++] = sym[0];
		argv[k++] = "-Xlinker";
		argv[k++] = sym[1];
		argv[k++] = object;
		free(log_path);
		log_path = xasprintf("%s.link", b->key_path[t.job]);
	} else {
		argv[k++] = source;
	}
	argv[k] = NULL;
	struct proc_opts po = { .argv = argv, .cpu_seconds = (size_t)limit + 5, .file_size_mb = 1024,
				.no_network = true, .tmpdir = b->slot_tmp[s] };
	pid_t pid;
	if (proc_spawn_logged(&po, log_path, &pid)) {
		rc = -1;
		goto out;
	}
	debug("compiling %s%s", t.kind == TASK_LINK ? "(link) " : "", t.kind == TASK_LINK ? object : source);
	b->slots[s] = (struct running){ pid, util_now(), tmp, t.kind == TASK_GROUP ? NULL : xstrdup(b->key_path[t.job]),
					t.kind == TASK_GROUP ? -1 : t.job, t, limit, log_path };
	tmp = log_path = NULL;
out:
	free(tmp);
	free(log_path);
	free(source);
	free(object);
	free(sym[0]);
	free(sym[1]);
	free(extra);
	return rc;
}

/* A group's unit ended: its members are linked, or compiled alone when it
 * did not compile (whatever the reason: the diagnostics must be each
 * member's own). A group has one job's time limit, not its members' sum:
 * one member that takes nvcc past it (a compile bomb) costs the others one
 * limit, then meets it alone. */
static void group_ended(struct batch *b, struct running *r, enum proc_end end, int code)
{
	struct group *g = &b->groups[r->task.group];
	g->seconds = util_now() - r->started;
	g->log = read_log(r->log_path);
	unlink(r->log_path);
	char *unit = xasprintf("%s.cu", g->stem);
	unlink(unit);
	free(unit);
	bool ok = end == PROC_EXITED && code == 0;
	if (!ok)
		debug("a group of %d did not compile (%s); its members compile alone", g->n,
		      end == PROC_TIMEOUT ? "time limit" : "nvcc failed");
	for (int m = 0; m < g->n; m++)
		push_urgent(b, ok ? (struct task){ TASK_LINK, g->member[m], r->task.group, m }
				  : (struct task){ TASK_ALONE, g->member[m], -1, 0 });
	if (!ok)
		unlink(r->tmp_so);
	free(r->tmp_so);
	free(r->log_path);
	memset(r, 0, sizeof *r);
}

/* A member's link ended: its object is kept, or it compiles alone (a link
 * that failed, or an object that imports what the link-time check refuses:
 * a member never answers for another's code). */
static void link_ended(struct batch *b, struct running *r, enum proc_end end, int code)
{
	struct group *g = &b->groups[r->task.group];
	struct compile_job *j = &b->jobs[r->job];
	char *why = NULL, *link_log = read_log(r->log_path);
	bool ok = end == PROC_EXITED && code == 0;
	if (ok && linkcheck_so(r->tmp_so, &why) != 0) {
		debug("%s: its group's object fails the link-time check (%s); it compiles alone", j->source,
		      why ? why : "unreadable");
		ok = false;
	}
	free(why);
	char *so = xasprintf("%s.so", r->key_path);
	if (ok && rename(r->tmp_so, so) == 0) {
		j->ok = true;
		j->so_path = so;
		so = NULL;
		j->grouped = g->n;
		j->seconds = g->seconds / g->n + (util_now() - r->started);
		j->log = xasprintf("%s%s", g->log ? g->log : "", link_log);
		util_write_file(j->log_path, j->log, strlen(j->log));
		settle(b, r->job);
	} else {
		unlink(r->tmp_so);
		push_urgent(b, (struct task){ TASK_ALONE, r->job, -1, 0 });
	}
	unlink(r->log_path);
	if (++g->links == g->n) {
		char *object = xasprintf("%s.o", g->stem);
		unlink(object);
		free(object);
	}
	free(so);
	free(link_log);
	free(r->tmp_so);
	free(r->key_path);
	free(r->log_path);
	memset(r, 0, sizeof *r);
}

static void batch_release(struct batch *b)
{
	for (int i = 0; i < b->n; i++) {
		free(b->key_path[i]);
		free(b->text[i]);
	}
	for (int g = 0; g < b->n_groups; g++) {
		if (b->groups[g].stem) {
			char *left = xasprintf("%s.o", b->groups[g].stem);
			unlink(left);
			free(left);
			left = xasprintf("%s.cu", b->groups[g].stem);
			unlink(left);
			free(left);
		}
		free(b->groups[g].stem);
		free(b->groups[g].log);
	}
	for (int s = 0; b->slot_tmp && s < b->width; s++) {
		if (b->slot_tmp[s])
			util_remove_tree(b->slot_tmp[s]);
		free(b->slot_tmp[s]);
	}
	free(b->slot_tmp);
	free(b->slots);
	free(b->key_path);
	free(b->twin_of);
	free(b->text);
	free(b->plan);
	free(b->urgent);
	free(b->groups);
	free(b->gencode);
	free(b->include);
	free(b->include_dir);
	free(b->extra);
	free(b->dir);
}

int compile_batch(struct compile_job *jobs, int n, const struct compile_opts *o)
{
	char *cache = util_cache_dir();
	struct batch b = { .jobs = jobs, .n = n, .o = o };
	int rc = -1;
	b.dir = xasprintf("%s/build", cache);
	b.include_dir = include_dir_of(o);
	b.include = xasprintf("-I%s", b.include_dir);
	b.gencode = gencode_of(o->arch);
	b.extra = xstrdup(o->extra ? o->extra : "");
	b.width = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	b.timeout = o->timeout_s > 0 ? o->timeout_s : 300;
	b.key_path = xcalloc((size_t)n + 1, sizeof *b.key_path);
	b.twin_of = xcalloc((size_t)n + 1, sizeof *b.twin_of);
	b.text = xcalloc((size_t)n + 1, sizeof *b.text);
	free(cache);
	if (b.width < 1)
		b.width = 1;
	if (nvcc_version(&b.version) || util_mkdirs(b.dir))
		goto out;
	b.slots = xcalloc((size_t)b.width, sizeof *b.slots);
	/* A TMPDIR per slot: nvcc names its temporary files after its pid, and
	 * every nvcc in a PID namespace of its own is pid 2. */
	const char *tmp_base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	b.slot_tmp = xcalloc((size_t)b.width, sizeof *b.slot_tmp);
	for (int s = 0; s < b.width; s++) {
		b.slot_tmp[s] = xasprintf("%s/kbreed-nvcc.%ld.%d", tmp_base, (long)getpid(), s);
		util_remove_tree(b.slot_tmp[s]);
		if (mkdir(b.slot_tmp[s], 0700) || chmod(b.slot_tmp[s], 01777)) {
			error("cannot make %s: %s", b.slot_tmp[s], strerror(errno));
			goto out;
		}
	}
	plan_batch(&b);
	int active = 0;
	for (;;) {
		/* Fill free slots. */
		struct task t;
		for (int s = 0; s < b.width; s++) {
			if (b.slots[s].pid)
				continue;
			if (!next_task(&b, &t))
				break;
			int started = start_task(&b, s, t);
			if (started < 0)
				goto out;
			if (started > 0) {
				s--;  /* this slot is still free */
				continue;
			}
			active++;
		}
		if (!active && !b.n_urgent && b.next == b.n_plan)
			break;
		/* Reap whatever finished; kill what ran too long. */
		for (int s = 0; s < b.width; s++) {
			struct running *r = &b.slots[s];
			if (!r->pid)
				continue;
			enum proc_end end;
			int code = 0;
			int w = proc_wait_nohang(r->pid, &end, &code);
			if (w == 0 && util_now() - r->started > r->limit) {
				proc_kill(r->pid);
				end = PROC_TIMEOUT;
			} else if (w == 0) {
				continue;
			} else if (w < 0) {
				end = PROC_FAILED;  /* lost track of it: no verdict */
				code = 0;
			}
			active--;
			if (r->task.kind == TASK_GROUP) {
				group_ended(&b, r, end, code);
			} else if (r->task.kind == TASK_LINK) {
				link_ended(&b, r, end, code);
			} else {
				int i = r->job;
				jobs[i].seconds = util_now() - r->started;
				finish(&jobs[i], r, end, code);
				settle(&b, i);
			}
		}
		if (active)
			usleep(5000);
	}
	rc = 0;
out:
	/* On failure, jobs never started still get their outcome: not compiled. */
	for (int s = 0; b.slots && s < b.width; s++)
		if (b.slots[s].pid) {
			proc_kill(b.slots[s].pid);
			if (b.slots[s].job >= 0 && !jobs[b.slots[s].job].done)
				finish(&jobs[b.slots[s].job], &b.slots[s], PROC_SIGNALED, SIGKILL);
			else
				unlink(b.slots[s].tmp_so);
			free(b.slots[s].tmp_so);
			free(b.slots[s].key_path);
			free(b.slots[s].log_path);
			memset(&b.slots[s], 0, sizeof b.slots[s]);
		}
	for (int i = 0; i < n; i++)
		if (!jobs[i].done) {
			if (!jobs[i].log)
				jobs[i].log = xstrdup("not compiled: kbreed could not run nvcc\n");
			mark_done(o, &jobs[i]);
		}
	batch_release(&b);
	return rc;
}

/* Where a diagnostic line says it is: the length of the path that starts it
 * ("F(12): error", "F:12:3: error", "F: In function", "F: Assembler
 * messages:"), or 0 when it starts with no location. */
static size_t location_len(const char *line, size_t len)
{
	if (!len || line[0] == ' ' || line[0] == '\t')
		return 0;
	for (size_t i = 1; i < len; i++) {
		const char *p = line + i;
		size_t d = 0;
		if (*p == '(') {
			while (i + 1 + d < len && p[1 + d] >= '0' && p[1 + d] <= '9')
				d++;
			if (d && i + 1 + d + 2 < len && p[1 + d] == ')' && p[2 + d] == ':')
				return i;
		} else if (*p == ':') {
			while (i + 1 + d < len && p[1 + d] >= '0' && p[1 + d] <= '9')
				d++;
			if (d && i + 1 + d < len && p[1 + d] == ':')
				return i;
			static const char *const ctx[] = { ": In ", ": At ", ": Assembler messages:" };
			for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++)
				if (len - i >= strlen(ctx[k]) && !strncmp(p, ctx[k], strlen(ctx[k])))
					return i;
		}
	}
	return 0;
}

/* Whether the path (len bytes) names the candidate's own source. */
static bool is_own_file(const char *path, size_t len, const char *source, const char *source_real)
{
	char *p = xasprintf("%.*s", (int)len, path);
	bool own = !strcmp(p, source);
	if (!own && source_real) {
		char *real = realpath(p, NULL);
		own = real && !strcmp(real, source_real);
		free(real);
	}
	free(p);
	return own;
}

/* Lines nvcc prints that are no diagnostic of a file: its own and ptxas's
 * messages, the closing count, kbreed's notes. */
static bool tool_line(const char *line, size_t len)
{
	static const char *const starts[] = { "ptxas", "nvlink", "nvcc fatal", "nvcc error", "nvcc warning",
					      "[kbreed", "compilation terminated.", NULL };
	for (int i = 0; starts[i]; i++)
		if (len >= strlen(starts[i]) && !strncmp(line, starts[i], strlen(starts[i])))
			return true;
	char *l = xasprintf("%.*s", (int)len, line);
	bool count = strstr(l, " detected in the compilation of \"") != NULL;
	free(l);
	return count;
}

char *compile_log_for_model(const char *log, const char *source)
{
	struct buf out, others;
	buf_init(&out, LOG_CAP + 4096);
	buf_init(&others, 1024);
	char *source_real = source ? realpath(source, NULL) : NULL;
	bool keep = false, last_blank = true;
	int dropped = 0, n_others = 0;
	for (const char *p = log ? log : ""; *p;) {
		size_t len = strcspn(p, "\n");
		size_t loc = location_len(p, len);
		bool blank = strspn(p, " \t\r") >= len;
		bool indented = len && (p[0] == ' ' || p[0] == '\t');
		bool show;
		if (loc) {
			/* A diagnostic: shown, with what it quotes, for the candidate's own file only. */
			keep = source && is_own_file(p, loc, source, source_real);
			show = keep;
			if (!keep) {
				char *name = xasprintf("%.*s", (int)(loc > 200 ? 200 : loc), p);
				if (!strstr(buf_str(&others), name) && n_others < 3) {
					buf_printf(&others, "%s%s", n_others ? ", " : "", name);
					n_others++;
				}
				free(name);
			}
		} else if (blank) {
			show = !last_blank;
		} else if (indented) {
			show = keep;   /* a quoted source line, a caret, an instantiation context */
		} else {
			keep = false;
			show = tool_line(p, len);
		}
		if (show) {
			buf_append(&out, p, len);
			buf_append(&out, "\n", 1);
			last_blank = blank;
		} else if (!blank) {
			dropped++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	if (dropped)
		buf_printf(&out, "[kbreed: %d line%s of the compiler's output that %s not about this kernel's own file left out%s%s%s]\n",
			   dropped, dropped == 1 ? "" : "s", dropped == 1 ? "is" : "are", n_others ? " (" : "",
			   buf_str(&others), n_others ? ")" : "");
	free(source_real);
	buf_release(&others);
	return buf_detach(&out);
}
