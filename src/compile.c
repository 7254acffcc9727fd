/*
 * compile.c - nvcc jobs in parallel, with a time limit each and a cache.
 */
#define _GNU_SOURCE
#include "compile.h"

#include "home.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
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

struct running {
	pid_t pid;
	double started;
	char *tmp_so;
	char *key_path;   /* <cache>/build/<key>, without extension */
	int job;          /* index into the batch */
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

int compile_batch(struct compile_job *jobs, int n, const struct compile_opts *o)
{
	char *version = NULL, *cache = util_cache_dir();
	char *dir = xasprintf("%s/build", cache), *include_dir = include_dir_of(o);
	char *include = xasprintf("-I%s", include_dir);
	int rc = -1, width = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	double timeout = o->timeout_s > 0 ? o->timeout_s : 300;
	char *arch = xstrdup(o->arch);
	char *gencode = gencode_of(arch);
	struct running *slots = NULL;
	char **slot_tmp = NULL;  /* each slot's TMPDIR */
	if (width < 1)
		width = 1;
	if (nvcc_version(&version) || util_mkdirs(dir))
		goto out;
	slots = xcalloc((size_t)width, sizeof *slots);
	/* A TMPDIR per slot: nvcc names its temporary files after its pid, and
	 * every nvcc in a PID namespace of its own is pid 2. */
	const char *tmp_base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	slot_tmp = xcalloc((size_t)width, sizeof *slot_tmp);
	for (int s = 0; s < width; s++) {
		slot_tmp[s] = xasprintf("%s/kbreed-nvcc.%ld.%d", tmp_base, (long)getpid(), s);
		util_remove_tree(slot_tmp[s]);
		if (mkdir(slot_tmp[s], 0700) || chmod(slot_tmp[s], 01777)) {
			error("cannot make %s: %s", slot_tmp[s], strerror(errno));
			goto out;
		}
	}
	int next = 0, active = 0;
	while (next < n || active) {
		/* Fill free slots. */
		for (int s = 0; s < width && next < n; s++) {
			if (slots[s].pid)
				continue;
			struct compile_job *j = &jobs[next++];
			char key[65], *why = NULL;
			if (key_of(j->source, include_dir, gencode, o->extra, version, key, &why)) {
				j->log = why;
				mark_done(o, j);
				goto next_job;
			}
			char *key_path = xasprintf("%s/%s", dir, key);
			char *so = xasprintf("%s.so", key_path), *failed = xasprintf("%s.failed", key_path);
			j->log_path = xasprintf("%s.log", key_path);
			if (util_file_exists(so) || util_file_exists(failed)) {
				j->ok = util_file_exists(so);
				j->cached = true;
				j->so_path = j->ok ? so : NULL;
				if (!j->ok)
					free(so);
				j->log = read_log(j->log_path);
				free(failed);
				free(key_path);
				mark_done(o, j);
				s--;  /* this slot is still free */
				continue;
			}
			free(so);
			free(failed);
			bool twin = false;  /* the same source is compiling in another slot */
			for (int t = 0; t < width; t++)
				twin |= slots[t].pid && !strcmp(slots[t].key_path, key_path);
			if (twin) {
				free(key_path);
				free(j->log_path);
				j->log_path = NULL;
				next--;
				break;
			}
			char *tmp = xasprintf("%s.so.tmp.%ld.%d", key_path, (long)getpid(), s);
			char *extra = xstrdup(o->extra ? o->extra : "");
			const char *argv[MAX_FLAGS];
			int k = 0;
			argv[k++] = compile_nvcc();
			for (int f = 0; fixed_flags[f]; f++)
				argv[k++] = fixed_flags[f];
			argv[k++] = "-gencode";
			argv[k++] = gencode;
			argv[k++] = include;
			k = add_words(argv, k, extra);
			argv[k++] = "-o";
			argv[k++] = tmp;
			argv[k++] = j->source;
			argv[k] = NULL;
			struct proc_opts po = { .argv = argv, .cpu_seconds = (size_t)timeout + 5,
						.file_size_mb = 1024, .no_network = true, .tmpdir = slot_tmp[s] };
			pid_t pid;
			if (proc_spawn_logged(&po, j->log_path, &pid)) {
				free(tmp);
				free(key_path);
				free(extra);
				goto out;
			}
			debug("compiling %s", j->source);
			slots[s] = (struct running){ pid, util_now(), tmp, key_path, next - 1 };
			free(extra);
			active++;
			continue;
next_job:
			s--;
		}
		/* Reap whatever finished; kill what ran too long. */
		for (int s = 0; s < width; s++) {
			if (!slots[s].pid)
				continue;
			struct compile_job *j = &jobs[slots[s].job];
			enum proc_end end;
			int code = 0;
			int w = proc_wait_nohang(slots[s].pid, &end, &code);
			if (w == 0 && util_now() - slots[s].started > timeout) {
				proc_kill(slots[s].pid);
				j->seconds = util_now() - slots[s].started;
				finish(j, &slots[s], PROC_TIMEOUT, 0);
				mark_done(o, j);
				active--;
			} else if (w != 0) {
				j->seconds = util_now() - slots[s].started;
				if (w < 0) {
					end = PROC_FAILED;  /* lost track of it: no verdict */
					code = 0;
				}
				finish(j, &slots[s], end, code);
				mark_done(o, j);
				active--;
			}
		}
		if (active)
			usleep(5000);
	}
	rc = 0;
out:
	/* On failure, jobs never started still get their outcome: not compiled. */
	for (int i = 0; i < n; i++)
		if (!jobs[i].done) {
			if (slots)
				for (int s = 0; s < width; s++)
					if (slots[s].pid && slots[s].job == i) {
						proc_kill(slots[s].pid);
						finish(&jobs[i], &slots[s], PROC_SIGNALED, SIGKILL);
					}
			if (!jobs[i].log)
				jobs[i].log = xstrdup("not compiled: kbreed could not run nvcc\n");
			mark_done(o, &jobs[i]);
		}
	for (int s = 0; slot_tmp && s < width; s++) {
		if (slot_tmp[s])
			util_remove_tree(slot_tmp[s]);
		free(slot_tmp[s]);
	}
	free(slot_tmp);
	free(slots);
	free(gencode);
	free(arch);
	free(include);
	free(include_dir);
	free(dir);
	free(cache);
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
