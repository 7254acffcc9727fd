/*
 * compile.c - nvcc jobs in parallel, with a time limit each and a cache.
 */
#define _GNU_SOURCE
#include "compile.h"

#include "home.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (nvcc)
		return nvcc;
	const char *v = getenv("KBREED_NVCC");
	const char *cuda = getenv("CUDA_HOME");
	if (v && *v)
		nvcc = xstrdup(v);
	else if (cuda && *cuda)
		nvcc = xasprintf("%s/bin/nvcc", cuda);
	else if (access("/usr/local/cuda/bin/nvcc", X_OK) == 0)
		nvcc = xstrdup("/usr/local/cuda/bin/nvcc");
	else
		nvcc = xstrdup("nvcc");
	return nvcc;
}

/* nvcc's version banner, part of every cache key. */
static int nvcc_version(char **out)
{
	static char *version;
	if (version) {
		*out = version;
		return 0;
	}
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

static void finish(struct compile_job *j, struct running *r, bool ok, bool timed_out)
{
	char *so = xasprintf("%s.so", r->key_path);
	j->timed_out = timed_out;
	if (ok && rename(r->tmp_so, so) == 0) {
		j->ok = true;
		j->so_path = so;
		so = NULL;
	} else {
		unlink(r->tmp_so);
		if (!timed_out) {
			/* Remember that nvcc rejects this source. */
			char *failed = xasprintf("%s.failed", r->key_path);
			util_write_file(failed, "", 0);
			free(failed);
		}
	}
	j->log = read_log(j->log_path);
	if (timed_out) {
		char *l = xasprintf("%s\n[kbreed: nvcc killed after the time limit]\n", j->log);
		free(j->log);
		j->log = l;
	}
	free(so);
	free(r->tmp_so);
	free(r->key_path);
	memset(r, 0, sizeof *r);
}

int compile_batch(struct compile_job *jobs, int n, const struct compile_opts *o)
{
	char *version = NULL, *cache = util_cache_dir();
	char *dir = xasprintf("%s/build", cache), *header = xasprintf("%s/include/kbreed_candidate.h", home_dir());
	char *include = xasprintf("-I%s/include", home_dir());
	int rc = -1, width = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	double timeout = o->timeout_s > 0 ? o->timeout_s : 300;
	char *arch = xstrdup(o->arch);
	char *gencode = xasprintf("arch=compute_%s,code=%s", arch + 3, arch);
	struct running *slots = NULL;
	if (width < 1)
		width = 1;
	if (nvcc_version(&version) || util_mkdirs(dir))
		goto out;
	slots = xcalloc((size_t)width, sizeof *slots);
	int next = 0, active = 0;
	while (next < n || active) {
		/* Fill free slots. */
		for (int s = 0; s < width && next < n; s++) {
			if (slots[s].pid)
				continue;
			struct compile_job *j = &jobs[next++];
			char key[65];
			const char *files[] = { j->source, header, NULL };
			struct sha256 h;
			sha256_init(&h);
			for (int f = 0; files[f]; f++) {
				char *data = NULL;
				size_t len = 0;
				if (util_read_file(files[f], 16u << 20, &data, &len)) {
					j->log = xasprintf("cannot read %s\n", files[f]);
					mark_done(o, j);
					goto next_job;
				}
				sha256_update(&h, data, len);
				sha256_update(&h, "\0", 1);
				free(data);
			}
			char *flags = xasprintf("%s|%s|%s", gencode, o->extra ? o->extra : "", version);
			sha256_update(&h, flags, strlen(flags));
			free(flags);
			sha256_final_hex(&h, key);
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
			argv[k++] = "-O3";
			argv[k++] = "-std=c++17";
			argv[k++] = "-shared";
			argv[k++] = "-Xcompiler";
			argv[k++] = "-fPIC";
			argv[k++] = "-lineinfo";
			argv[k++] = "-gencode";
			argv[k++] = gencode;
			argv[k++] = include;
			k = add_words(argv, k, extra);
			argv[k++] = "-o";
			argv[k++] = tmp;
			argv[k++] = j->source;
			argv[k] = NULL;
			struct proc_opts po = { .argv = argv, .cpu_seconds = (size_t)timeout + 5,
						.file_size_mb = 1024, .no_network = true };
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
				finish(j, &slots[s], false, true);
				mark_done(o, j);
				active--;
			} else if (w != 0) {
				j->seconds = util_now() - slots[s].started;
				finish(j, &slots[s], w == 1 && end == PROC_EXITED && code == 0, false);
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
						finish(&jobs[i], &slots[s], false, false);
					}
			if (!jobs[i].log)
				jobs[i].log = xstrdup("not compiled: kbreed could not run nvcc\n");
			mark_done(o, &jobs[i]);
		}
	free(slots);
	free(gencode);
	free(arch);
	free(include);
	free(header);
	free(dir);
	free(cache);
	return rc;
}
