/*
 * bridge.c - running bridge/kbreed_bridge.py and caching what it makes;
 * its replies are read into structs by bridge_json.c.
 *
 * The cache lives under util_cache_dir():
 *   describe/<key>.json        problem descriptions, keyed by file and bridge
 *   refs/<name>-<key>/          reference data (docs/BRIDGE.md), made in a
 *                               temporary directory and renamed into place, so
 *                               an interrupted run never leaves a half set;
 *                               as many sets as the budget allows (refbudget.h)
 *   machine/<gpu>.json          the machine's measured ceilings
 */
#define _GNU_SOURCE
#include "bridge.h"

#include "home.h"
#include "log.h"
#include "recognize.h"
#include "proc.h"
#include "refbudget.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DESCRIBE_TIMEOUT_S 300
#define REFERENCE_TIMEOUT_S 3600
#define BASELINE_TIMEOUT_S 1200
#define CEILINGS_TIMEOUT_S 600

static const char *const stress_names[STRESS_KINDS] = {
	[STRESS_SCALE_UP] = "scale_up",
	[STRESS_SCALE_DOWN] = "scale_down",
	[STRESS_SHIFT] = "shift",
	[STRESS_TIES] = "ties",
	[STRESS_CLUSTERED_MAX] = "clustered_max",
};

const char *stress_kind_name(enum stress_kind k)
{
	return (unsigned)k < STRESS_KINDS ? stress_names[k] : "?";
}

int stress_kind_parse(const char *name, enum stress_kind *k)
{
	for (int i = 0; name && i < STRESS_KINDS; i++)
		if (!strcmp(name, stress_names[i])) {
			*k = (enum stress_kind)i;
			return 0;
		}
	return -1;
}

void refset_release(struct refset *r)
{
	free(r->dir);
	free(r->device);
	free(r->gpu);
	free(r->stress);
	for (int i = 0; i < r->n_skipped; i++)
		free(r->skipped[i].why);
	free(r->skipped);
	memset(r, 0, sizeof *r);
}

void baseline_release(struct baseline *b)
{
	free(b->compile_error);
	free(b->gpu);
	memset(b, 0, sizeof *b);
}

void baseline_copy(struct baseline *to, const struct baseline *from)
{
	*to = *from;
	to->compile_error = from->compile_error ? xstrdup(from->compile_error) : NULL;
	to->gpu = from->gpu ? xstrdup(from->gpu) : NULL;
}

void ceilings_release(struct ceilings *c)
{
	free(c->gpu);
	memset(c, 0, sizeof *c);
}

const char *bridge_python(void)
{
	const char *p = getenv("KBREED_PYTHON");
	return p && *p ? p : "python3";
}

static char *script_path(void)
{
	return xasprintf("%s/bridge/kbreed_bridge.py", home_dir());
}

/* With -v, the bridge's stderr (its --verbose log among the rest), one
 * debug line per line, after it ends: kbreed captures it to put into error
 * messages, so it is not seen as it is written. */
static void debug_lines(const char *text)
{
	if (log_verbosity < LOG_DEBUG)
		return;
	while (*text) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);
		debug("bridge: %.*s", len, text);
		text += len + (nl != NULL);
	}
}

/* Runs one bridge command; on success *json holds its reply (caller frees). */
static int run_bridge(const char *const *args, double timeout_s, char **json)
{
	const char *argv[32];
	char *script = script_path();
	int n = 0, rc = -1;
	argv[n++] = bridge_python();
	argv[n++] = script;
	if (log_verbosity >= LOG_DEBUG)
		argv[n++] = "--verbose";   /* the bridge logs where its time goes */
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	struct proc_opts o = { .argv = argv, .timeout_s = timeout_s, .out_cap = 16u << 20 };
	struct proc_result r;
	proc_result_init(&r);
	debug("bridge: %s %s", argv[0], args[0]);
	if (proc_run(&o, &r)) {
		error("cannot start the PyTorch bridge with %s (set KBREED_PYTHON)", argv[0]);
		goto out;
	}
	debug_lines(buf_str(&r.err));
	if (r.end == PROC_TIMEOUT) {
		error("the PyTorch bridge (%s) did not finish within %.0f s", args[0], timeout_s);
		goto out;
	}
	if (r.end == PROC_SIGNALED) {
		error("the PyTorch bridge (%s) died with signal %d", args[0], r.signal);
		goto out;
	}
	if (r.exit_code == 127) {
		error("cannot run %s: Python with PyTorch is needed (set KBREED_PYTHON): %s",
		      argv[0], buf_str(&r.err));
		goto out;
	}
	char *msg = bridge_json_error(buf_str(&r.out));
	if (r.exit_code != 0 || msg) {
		if (msg)
			error("%s", msg);
		else
			error("the PyTorch bridge (%s) failed with exit code %d: %.2000s", args[0],
			      r.exit_code, buf_str(&r.err));
		free(msg);
		goto out;
	}
	*json = buf_detach(&r.out);
	rc = 0;
out:
	proc_result_release(&r);
	free(script);
	return rc;
}

/* SHA-256 over the files' contents and extra strings, as cache keys. */
static int hash_inputs(const char *const *files, const char *extra, char hex[65])
{
	struct sha256 s;
	sha256_init(&s);
	for (int i = 0; files[i]; i++) {
		char *data = NULL;
		size_t len = 0;
		if (util_read_file(files[i], 64u << 20, &data, &len))
			return -1;
		sha256_update(&s, data, len);
		sha256_update(&s, "\0", 1);
		free(data);
	}
	sha256_update(&s, extra, strlen(extra));
	sha256_final_hex(&s, hex);
	return 0;
}

int bridge_describe(const char *path, struct problem *p)
{
	int rc = -1;
	char *script = script_path(), *cache = util_cache_dir();
	char *dir = xasprintf("%s/describe", cache), *file = NULL, *json = NULL;
	char key[65];
	const char *files[] = { path, script, NULL };
	if (hash_inputs(files, bridge_python(), key))
		goto out;
	file = xasprintf("%s/%s.json", dir, key);
	if (util_file_exists(file) && !util_read_file(file, 16u << 20, &json, NULL) &&
	    !bridge_json_problem(json, p))
		goto done;
	free(json);
	json = NULL;
	const char *args[] = { "describe", path, NULL };
	if (run_bridge(args, DESCRIBE_TIMEOUT_S, &json) || bridge_json_problem(json, p))
		goto out;
	if (util_mkdirs(dir) == 0)
		util_write_file(file, json, strlen(json));  /* a cache miss next time at worst */
done:
	free(p->path);
	p->path = xstrdup(path);
	recognize_problem(p);   /* an unrecognised graph is a warning, not a failure */
	rc = 0;
out:
	free(json);
	free(file);
	free(dir);
	free(cache);
	free(script);
	return rc;
}

static int load_manifest(const char *dir, const struct problem *p, struct refset *r)
{
	char *file = xasprintf("%s/manifest.json", dir), *json = NULL;
	int rc = -1;
	if (!util_file_exists(file) || util_read_file(file, 16u << 20, &json, NULL))
		goto out;
	rc = bridge_json_manifest(json, p, r);
	if (!rc) {
		free(r->dir);
		r->dir = xstrdup(dir);
	}
out:
	free(json);
	free(file);
	return rc;
}

pid_t bridge_describe_ahead(const char *const *names, int n)
{
	if (n <= 0)
		return 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		debug("describing ahead: fork failed (%s); each problem is described when it starts",
		      strerror(errno));
		return 0;
	}
	if (pid > 0)
		return pid;
	/* The child: quiet, and gone with _exit (the parent's atexit work is
	 * the parent's). */
	log_verbosity = LOG_QUIET;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	for (int i = 0; i < n; i++) {
		char *path = problem_resolve(names[i]);
		struct problem p;
		memset(&p, 0, sizeof p);
		if (path && bridge_describe(path, &p) == 0)
			problem_release(&p);
		free(path);
	}
	_exit(0);
}

void bridge_describe_ahead_end(pid_t pid)
{
	if (pid <= 0)
		return;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* The cache directory of a plan's reference data (caller frees), or NULL
 * (reported). A plan that leaves out none of the stressed kinds has the key
 * it had before there was a budget, so earlier caches still serve. */
static char *plan_dir(const struct problem *p, const char *cache, const char *script,
		      const struct ref_plan *plan, int seed, bool stress, const char *device)
{
	char key[65], *extra = xasprintf("sets=%d seed=%d device=%s stress=%d", plan->sets, seed, device, stress);
	if (stress && plan->stress < p->n_stress_kinds) {
		char *more = xasprintf("%s stress_max=%d", extra, plan->stress);
		free(extra);
		extra = more;
	}
	const char *files[] = { p->path, script, NULL };
	char *dir = hash_inputs(files, extra, key) ? NULL : xasprintf("%s/refs/%s-%.16s", cache, p->name, key);
	free(extra);
	return dir;
}

static bool same_plan(const struct ref_plan *a, const struct ref_plan *b)
{
	return a->sets == b->sets && a->stress == b->stress;
}

/* Says once that the budget cut the sets asked for to `used`. */
static void say_cut(const struct problem *p, const struct ref_plan *asked, const struct ref_plan *used,
		    const struct ref_budget *b)
{
	char per[32], all[32], lim[32];
	ref_bytes_str(ref_set_bytes(p), per, sizeof per);
	ref_bytes_str(ref_plan_bytes(p, asked), all, sizeof all);
	ref_bytes_str(b->bytes, lim, sizeof lim);
	int n = used->sets + used->stress;
	warn("reference data for %s: %d sets of %s would take %s, more than the budget %s (%s): "
	     "judging on %d set%s (%d plain, %d stressed)", p->name, asked->sets + asked->stress, per, all, lim,
	     b->why, n, n == 1 ? "" : "s", used->sets, used->stress);
}

int bridge_reference(const struct problem *p, int sets, int seed, bool stress, const char *device,
		     struct refset *r)
{
	int rc = -1;
	char *script = script_path(), *cache = util_cache_dir();
	char *refs = xasprintf("%s/refs", cache), *dir = NULL, *tmp = NULL;
	struct ref_plan asked = { .sets = sets, .stress = stress ? p->n_stress_kinds : 0 };
	struct ref_budget budget;
	if (util_mkdirs(refs) || ref_budget_for(refs, &budget))
		goto out;
	/* The plan the budget allows; a larger one made earlier (the budget is
	 * read from the free space, which its own data lowers) serves as well. */
	struct ref_plan fit = ref_plan_fit(p, asked, budget.bytes), plan = asked;
	for (;;) {
		free(dir);
		if (!(dir = plan_dir(p, cache, script, &plan, seed, stress, device)))
			goto out;
		if (util_is_dir(dir) && load_manifest(dir, p, r) == 0) {
			if (!same_plan(&plan, &asked))
				say_cut(p, &asked, &plan, &budget);
			rc = 0;
			goto out;
		}
		if (same_plan(&plan, &fit) || !ref_plan_shrink(&plan))
			break;
	}
	if (!same_plan(&fit, &asked))
		say_cut(p, &asked, &fit, &budget);
	char made[64] = "";
	if (stress && fit.stress == asked.stress)
		snprintf(made, sizeof made, " and the stressed ones");
	else if (stress)
		snprintf(made, sizeof made, " and %d of the %d stressed ones", fit.stress, asked.stress);
	info("making reference data for %s (%d input set%s%s, on %s); cached in %s", p->name, fit.sets,
	     fit.sets == 1 ? "" : "s", made, device, dir);
	tmp = xasprintf("%s.tmp.%ld", dir, (long)getpid());
	if (util_is_dir(tmp))
		util_remove_tree(tmp);
	if (util_mkdirs(tmp))
		goto out;
	char sets_s[16], seed_s[16], stress_s[16];
	snprintf(sets_s, sizeof sets_s, "%d", fit.sets);
	snprintf(seed_s, sizeof seed_s, "%d", seed);
	snprintf(stress_s, sizeof stress_s, "%d", fit.stress);
	const char *args[16] = { "reference", p->path, "--dir", tmp, "--sets", sets_s,
				 "--seed", seed_s, "--device", device };
	int n = 10;
	if (stress)
		args[n++] = "--stress";
	if (stress && fit.stress < asked.stress) {
		args[n++] = "--stress-max";
		args[n++] = stress_s;
	}
	args[n] = NULL;
	char *json = NULL;
	if (run_bridge(args, REFERENCE_TIMEOUT_S, &json)) {
		util_remove_tree(tmp);
		goto out;
	}
	free(json);
	if (util_is_dir(dir))
		util_remove_tree(dir);  /* an unreadable earlier set */
	if (rename(tmp, dir)) {
		error("cannot move %s into place: %s", tmp, strerror(errno));
		util_remove_tree(tmp);
		goto out;
	}
	rc = load_manifest(dir, p, r);
	if (rc)
		error("the bridge's reference data in %s does not match the problem", dir);
out:
	free(tmp);
	free(dir);
	free(refs);
	free(cache);
	free(script);
	return rc;
}

bool bridge_tf32_by_default(const struct problem *p)
{
	bool conv = p->family && !strcmp(p->family, "conv");
	for (int i = 0; p->graph && i < p->graph->n_ops && !conv; i++)
		conv = strstr(p->graph->ops[i].name, "convolution") != NULL;  /* aten.convolution, aten._convolution */
	bool fp32 = false;
	for (int i = 0; i < p->n_inputs; i++)
		fp32 |= p->inputs[i].dtype == KB_F32;
	for (int i = 0; i < p->n_params; i++)
		fp32 |= p->params[i].dtype == KB_F32;
	return conv && fp32;
}

int bridge_baseline(const struct problem *p, int reps, int warmup, int flush_mb,
		    bool with_compile, struct baseline *b)
{
	char reps_s[16], warm_s[16], flush_s[16];
	snprintf(reps_s, sizeof reps_s, "%d", reps);
	snprintf(warm_s, sizeof warm_s, "%d", warmup);
	snprintf(flush_s, sizeof flush_s, "%d", flush_mb);
	const char *args[12] = { "time", p->path, "--reps", reps_s, "--warmup", warm_s, "--flush-mb", flush_s };
	int n = 8;
	if (with_compile)
		args[n++] = "--compile";
	if (bridge_tf32_by_default(p))
		args[n++] = "--eager-fp32";
	args[n] = NULL;
	char *json = NULL;
	int rc = run_bridge(args, BASELINE_TIMEOUT_S, &json);
	if (!rc)
		rc = bridge_json_baseline(json, b);
	free(json);
	return rc;
}

/* <cache>/machine/<gpu>.json, the GPU's name made safe for a file name
 * (caller frees). */
static char *ceilings_file(const char *gpu_name)
{
	char *cache = util_cache_dir();
	char *safe = xstrdup(gpu_name && *gpu_name ? gpu_name : "gpu");
	for (char *s = safe; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			*s = '_';
	char *file = xasprintf("%s/machine/%s.json", cache, safe);
	free(safe);
	free(cache);
	return file;
}

int bridge_ceilings_cached(const char *gpu_name, struct ceilings *c)
{
	char *file = ceilings_file(gpu_name), *json = NULL;
	int rc = util_file_exists(file) && !util_read_file(file, 1u << 20, &json, NULL) &&
		 !bridge_json_ceilings(json, c) ? 0 : -1;
	free(json);
	free(file);
	return rc;
}

int bridge_ceilings(const char *gpu_name, struct ceilings *c)
{
	int rc = -1;
	char *file = ceilings_file(gpu_name), *json = NULL;
	char *dir = xstrdup(file);
	*strrchr(dir, '/') = '\0';
	if (bridge_ceilings_cached(gpu_name, c) == 0) {
		rc = 0;
		goto out;
	}
	info("measuring this machine's ceilings once (bandwidth, matmul rates); cached in %s", file);
	const char *args[] = { "ceilings", NULL };
	if (run_bridge(args, CEILINGS_TIMEOUT_S, &json) || bridge_json_ceilings(json, c))
		goto out;
	if (util_mkdirs(dir) == 0)
		util_write_file(file, json, strlen(json));
	rc = 0;
out:
	free(json);
	free(file);
	free(dir);
	return rc;
}
