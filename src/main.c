/*
 * main.c - the kbreed command line. Reads like the pipeline:
 *
 *   problem (bridge_describe) -> compile (compile_batch) -> evaluate
 *   (bridge_reference, bridge_baseline, evaluator_run) -> report
 *
 * In git's manner: a table of commands (`commands[]` at the bottom), each
 * with its summary, its usage and the groups of options it takes. Every
 * option is parsed in one place, its group's setter: the judging options
 * (judge_group) are shared by eval, run and bench, the search and LLM
 * options (search_group, llm_group) by run and bench. `kbreed --help` lists
 * the commands, `kbreed COMMAND --help` prints one command's usage and
 * options, `kbreed --version` the version. Bad values are refused before any
 * work starts, so a long search never fails at its end over an option.
 *
 * Exit codes: 0 success (for eval: the candidate is correct; for --help and
 * --version: always), 1 the candidate was judged and is not correct (run,
 * bench: no correct kernel was found), 2 bad usage (an unknown command or
 * option, a bad value) or a broken environment (no GPU, no torch,
 * unreadable problem, unwritable output).
 */
#define _GNU_SOURCE
#include "bridge.h"
#include "recognize.h"
#include "compare.h"
#include "compile.h"
#include "compile_group.h"
#include "evaluate.h"
#include "export.h"
#include "generate.h"
#include "graph.h"
#include "recognize.h"
#include "judge.h"
#include "home.h"
#include "log.h"
#include "problem.h"
#include "policy.h"
#include "population.h"
#include "proc.h"
#include "report.h"
#include "report_html.h"
#include "search.h"
#include "show.h"
#include "slurm.h"
#include "store.h"
#include "template.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KBREED_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_JUDGED = 1, EXIT_USAGE = 2 };

/* ---- values: each kind of option value is checked by one function ------ */

/* An integer written as digits only (a leading '-' where lo < 0): no spaces,
 * no trailing junk, no hex. Returns 0, or -1 after a message naming what. */
static int parse_int(const char *s, int lo, int hi, const char *what, int *out)
{
	const char *d = (lo < 0 && *s == '-') ? s + 1 : s;
	char *end;
	errno = 0;
	long v = isdigit((unsigned char)*d) ? strtol(s, &end, 10) : 0;
	if (!isdigit((unsigned char)*d) || *end || errno || v < lo || v > hi)
		return error("%s must be an integer from %d to %d, not '%s'", what, lo, hi, s);
	*out = (int)v;
	return 0;
}

/* A finite decimal number in [lo, hi] (above lo when lo_open): no spaces,
 * no nan, no inf, no hex. Returns 0, or -1 after a message naming what. */
static int parse_real(const char *s, double lo, bool lo_open, double hi, const char *what,
		      double *out)
{
	char *end = NULL;
	double v = 0;
	bool ok = isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]));
	for (const char *c = s; ok && *c; c++)
		ok = isdigit((unsigned char)*c) || *c == '.' || *c == 'e' || *c == 'E' ||
		     *c == '-' || *c == '+';
	if (ok) {
		errno = 0;
		v = strtod(s, &end);
		ok = !*end && !errno && isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
	}
	if (!ok)
		return error("%s must be a number %s %g %s %g, not '%s'", what,
			     lo_open ? "above" : "from", lo, lo_open ? "up to" : "to", hi, s);
	*out = v;
	return 0;
}

/* A compile target nvcc is given as -gencode arch=compute_NN,code=sm_NN:
 * sm_ then two or three digits and at most one letter (sm_90a, sm_100f). */
static bool valid_arch(const char *a)
{
	if (!a || strncmp(a, "sm_", 3))
		return false;
	size_t digits = strspn(a + 3, "0123456789");
	const char *rest = a + 3 + digits;
	return digits >= 2 && digits <= 3 &&
	       (!*rest || (islower((unsigned char)rest[0]) && !rest[1]));
}

static int parse_arch(const char *s, const char *what, const char **out)
{
	if (!valid_arch(s))
		return error("%s wants a target such as sm_80 or sm_90a, not '%s'", what, s);
	*out = s;
	return 0;
}

/* A file or directory name, URL, model name ...: anything but empty. */
static int parse_text(const char *s, const char *what, const char **out)
{
	if (!*s)
		return error("%s must not be empty", what);
	*out = s;
	return 0;
}

/* $KBREED_ARCH, when set, must be a target too; checked before any work. */
static int check_env_arch(void)
{
	const char *env = getenv("KBREED_ARCH"), *unused;
	return env && *env ? parse_arch(env, "$KBREED_ARCH", &unused) : 0;
}

/* The compile target: --arch, else $KBREED_ARCH, else the GPU's. */
static const char *pick_arch(const char *flag, const struct gpu_info *g)
{
	if (flag && *flag)
		return flag;
	const char *env = getenv("KBREED_ARCH");
	if (env && *env)
		return env;
	if (g && g->cc_major)
		return compile_arch_for(g->cc_major, g->cc_minor);
	return NULL;
}

/* Makes dir (and its parents) and proves a file can be written in it, so
 * that a run does not find out at its end. Returns 0, or -1 after a message. */
static int check_out_dir(const char *dir, const char *what)
{
	struct stat st;
	int rc = -1, fd;
	char *probe = NULL;
	if (!*dir)
		return error("%s must not be empty", what);
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return error("%s %s exists and is not a directory", what, dir);
	if (util_mkdirs(dir))
		return -1;  /* util_mkdirs said why */
	probe = xasprintf("%s/.kbreed-probe-XXXXXX", dir);
	fd = mkstemp(probe);
	if (fd < 0) {
		error("%s %s cannot be written: %s", what, dir, strerror(errno));
		goto out;
	}
	close(fd);
	if (unlink(probe)) {
		error("%s %s: cannot remove %s: %s", what, dir, probe, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(probe);
	return rc;
}

/* A file that will be written at the end: not a directory, and its
 * directory can be made and written. Returns 0, or -1 after a message. */
static int check_out_file(const char *path, const char *what)
{
	int rc;
	if (!*path)
		return error("%s must not be empty", what);
	if (util_is_dir(path))
		return error("%s %s is a directory", what, path);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	rc = check_out_dir(slash ? dir : ".", what);
	free(dir);
	return rc;
}

/* ---- option tables: each group parses its options into one struct ----- */

/* One option: its long name (without --), the name of its argument (NULL for
 * a flag), one line of help, and the group's id for it. */
struct cli_opt {
	int id;
	const char *name;
	const char *arg;
	const char *help;
};

/* Options parsed by one setter into one struct (the context). */
struct cli_group {
	const char *title;                 /* heading in `kbreed COMMAND --help` */
	const struct cli_opt *opts;        /* ends with a NULL name */
	int (*set)(void *ctx, int id, const char *arg);  /* 0, or -1 after a message */
};

/* The judging options, shared by eval, run and bench. */
struct judge_cli {
	struct eval_opts eval;
	const char *arch;        /* --arch; NULL: $KBREED_ARCH, else the GPU's */
	bool torch_compile;      /* also time torch.compile */
	bool tolerance_given;    /* --tolerance was on the command line */
	int adaptive;            /* --adaptive: 1 on, 0 off, -1 the command's default
				  * (on for run and bench, off for eval) */
};

static void judge_cli_init(struct judge_cli *j)
{
	memset(j, 0, sizeof *j);
	eval_opts_defaults(&j->eval);
	j->adaptive = -1;
}

enum { J_TOLERANCE, J_SETS, J_STRESS, J_REPS, J_WARMUP, J_TIMEOUT, J_ARCH, J_TORCH_COMPILE,
       J_ALLOW_LIBRARIES, J_ADAPTIVE, J_COMPARE };

static const struct cli_opt judge_opts[] = {
	{ J_TOLERANCE, "tolerance", "strict|crfm", "the profile that decides (strict); both are recorded" },
	{ J_SETS, "sets", "N", "correctness input sets, 1 to 16 (5)" },
	{ J_STRESS, "stress", "on|off", "also check stressed inputs: x1e3, x1e-3, shifted, ties, clustered maxima (on)" },
	{ J_REPS, "reps", "N", "timed calls, L2 flushed before each, 20 to 100000 (30)" },
	{ J_WARMUP, "warmup", "N", "untimed calls before timing, 0 to 100000 (5)" },
	{ J_TIMEOUT, "timeout", "SECONDS", "wall-clock limit per kernel in the worker (180)" },
	{ J_ARCH, "arch", "sm_XX", "compile target (default: $KBREED_ARCH, else the GPU's)" },
	{ J_TORCH_COMPILE, "torch-compile", NULL, "also time torch.compile" },
	{ J_ALLOW_LIBRARIES, "allow-libraries", NULL, "let kernels call cuBLAS, cuDNN, dlopen ... (else rejected)" },
	{ J_ADAPTIVE, "adaptive", "on|off", "stop timing a kernel whose first 5 timed calls are all slower than "
	  "1.3x the best so far (run, bench: on; eval: off)" },
	{ J_COMPARE, "compare", "gpu|files", "where outputs are checked: on the GPU by a comparer, or from files "
	  "(default: $KBREED_COMPARE, else gpu where the worker can, files elsewhere)" },
	{ 0, NULL, NULL, NULL },
};

static int judge_set(void *ctx, int id, const char *arg)
{
	struct judge_cli *j = ctx;
	int v;
	switch (id) {
	case J_TOLERANCE:
		if ((v = tolerance_parse(arg)) < 0)
			return error("--tolerance must be strict or crfm, not '%s'", arg);
		j->eval.tolerance = (enum tolerance_profile)v;
		j->tolerance_given = true;
		return 0;
	case J_SETS: return parse_int(arg, 1, 16, "--sets", &j->eval.sets);
	case J_STRESS:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return error("--stress must be on or off, not '%s'", arg);
		j->eval.stress = !strcmp(arg, "on");
		return 0;
	case J_REPS: return parse_int(arg, 20, 100000, "--reps", &j->eval.reps);
	case J_WARMUP: return parse_int(arg, 0, 100000, "--warmup", &j->eval.warmup);
	case J_TIMEOUT:
		if (parse_int(arg, 1, 86400, "--timeout", &v))
			return -1;
		j->eval.timeout_s = v;
		return 0;
	case J_ARCH: return parse_arch(arg, "--arch", &j->arch);
	case J_TORCH_COMPILE: j->torch_compile = true; return 0;
	case J_ALLOW_LIBRARIES: j->eval.allow_libraries = true; return 0;
	case J_ADAPTIVE:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return error("--adaptive must be on or off, not '%s'", arg);
		j->adaptive = !strcmp(arg, "on");
		return 0;
	case J_COMPARE:
		if (strcmp(arg, "gpu") && strcmp(arg, "files"))
			return error("--compare must be gpu or files, not '%s'", arg);
		j->eval.compare = !strcmp(arg, "gpu") ? COMPARE_GPU : COMPARE_FILES;
		return 0;
	}
	BUG("judge option without a case");
}

static const struct cli_group judge_group = { "judging", judge_opts, judge_set };

/* The search options, shared by run and bench; context: struct search_opts. */
enum { S_ROUNDS, S_IDEAS, S_IMPLS, S_KEEP, S_SEED, S_MAX_MINUTES, S_MAX_CANDIDATES, S_DB,
       S_OUT, S_NO_BANK, S_DRY_RUN, S_SEED_KERNEL, S_GPUS };

static const struct cli_opt search_opts_table[] = {
	{ S_ROUNDS, "rounds", "R", "rounds after round 0, 0 to 100 (5)" },
	{ S_IDEAS, "ideas", "I", "ideas per round, 1 to 256 (8)" },
	{ S_IMPLS, "impls", "K", "realisations per idea, 1 to 64 (4)" },
	{ S_KEEP, "keep", "S", "seeds carried into each round, 1 to 64 (4)" },
	{ S_SEED, "seed", "N", "random seed of the proposer (1)" },
	{ S_MAX_MINUTES, "max-minutes", "M", "stop after M minutes of wall clock" },
	{ S_MAX_CANDIDATES, "max-candidates", "N", "stop after N candidates" },
	{ S_DB, "db", "PATH", "the store (default: $KBREED_DB, else <data>/kbreed.db)" },
	{ S_OUT, "out", "DIR", "where winner.cu and summary.md go (kbreed-out/PROBLEM-runN)" },
	{ S_NO_BANK, "no-bank", NULL, "do not seed round 0 from the bank of earlier winners" },
	{ S_DRY_RUN, "dry-run", NULL, "propose, realise and compile only: judge nothing, no GPU needed" },
	{ S_SEED_KERNEL, "seed-kernel", "FILE", "add your own kernel to round 0 (repeatable, up to 16)" },
	{ S_GPUS, "gpus", "LIST|all", "the GPUs to judge on, e.g. 0,2 (all visible; docs/SCALE.md)" },
	{ 0, NULL, NULL, NULL },
};

static int search_set(void *ctx, int id, const char *arg)
{
	struct search_opts *so = ctx;
	int v;
	switch (id) {
	case S_ROUNDS:
		so->given |= SEARCH_GIVEN_ROUNDS;
		return parse_int(arg, 0, 100, "--rounds", &so->rounds);
	case S_IDEAS:
		so->given |= SEARCH_GIVEN_IDEAS;
		return parse_int(arg, 1, 256, "--ideas", &so->ideas);
	case S_IMPLS:
		so->given |= SEARCH_GIVEN_IMPLS;
		return parse_int(arg, 1, 64, "--impls", &so->impls);
	case S_KEEP:
		so->given |= SEARCH_GIVEN_KEEP;
		return parse_int(arg, 1, 64, "--keep", &so->keep);
	case S_SEED:
		so->given |= SEARCH_GIVEN_SEED;
		return parse_int(arg, 0, 1 << 30, "--seed", &so->seed);
	case S_MAX_MINUTES:
		if (parse_int(arg, 1, 100000, "--max-minutes", &v))
			return -1;
		so->max_minutes = v;
		return 0;
	case S_MAX_CANDIDATES:
		return parse_int(arg, 1, 10000000, "--max-candidates", &so->max_candidates);
	case S_DB:
		/* SQLite takes "" for a temporary database: the run would be lost. */
		return parse_text(arg, "--db", &so->db_path);
	case S_OUT: return parse_text(arg, "--out", &so->out_dir);
	case S_NO_BANK: so->use_bank = false; return 0;
	case S_DRY_RUN: so->dry_run = true; return 0;
	case S_SEED_KERNEL:
		if (so->n_seed_kernels >= (int)(sizeof so->seed_kernels / sizeof so->seed_kernels[0]))
			return error("--seed-kernel: at most %d kernels",
				     (int)(sizeof so->seed_kernels / sizeof so->seed_kernels[0]));
		if (!util_file_exists(arg))
			return error("--seed-kernel: %s does not exist or is not a file", arg);
		if (judge_is_python(arg))
			return error("--seed-kernel: %s is a Python solution; a run breeds CUDA kernels "
				     "(kbreed eval PROBLEM %s judges it)", arg, arg);
		so->seed_kernels[so->n_seed_kernels++] = arg;
		return 0;
	case S_GPUS:
		if (gpu_spec_check(arg))
			return -1;
		so->gpus = arg;
		return 0;
	}
	BUG("search option without a case");
}

static const struct cli_group search_group = { "search", search_opts_table, search_set };

/* The LLM proposer's options (docs/LLM.md); context: struct search_opts. */
enum { L_LLM, L_LLM_CODE, L_BASE_URL, L_EFFORT, L_MAX_OUTPUT_TOKENS, L_TEMPERATURE,
       L_MAX_COST, L_MAX_TOKENS, L_CONCURRENCY, L_REPAIRS, L_TIMEOUT };

static const struct cli_opt llm_opts[] = {
	{ L_LLM, "llm", "SPEC", "a model proposes: openai:MODEL, anthropic:MODEL or cmd:COMMAND" },
	{ L_LLM_CODE, "llm-code", "SPEC", "another model writes the realisations (default: --llm)" },
	{ L_BASE_URL, "llm-base-url", "URL", "the provider's API address" },
	{ L_EFFORT, "reasoning-effort", "E", "minimal, low, medium, high, xhigh, max, none; "
	  "for Anthropic also a thinking budget in tokens (8000)" },
	{ L_MAX_OUTPUT_TOKENS, "max-output-tokens", "N", "per reply (default: the provider's)" },
	{ L_TEMPERATURE, "temperature", "T", "sampling temperature, 0 to 2 (default: not sent)" },
	{ L_MAX_COST, "max-cost", "USD", "stop when the requests have cost this much" },
	{ L_MAX_TOKENS, "max-tokens", "N", "stop after N tokens in and out" },
	{ L_CONCURRENCY, "llm-concurrency", "N", "requests in flight at once, 1 to 256 (4)" },
	{ L_REPAIRS, "llm-repairs", "N", "repairs of a kernel that fails to compile, 0 to 10 (1)" },
	{ L_TIMEOUT, "llm-timeout", "SECONDS", "limit of one attempt of one request (600)" },
	{ 0, NULL, NULL, NULL },
};

static int llm_set(void *ctx, int id, const char *arg)
{
	struct search_opts *so = ctx;
	int v;
	switch (id) {
	case L_LLM: return parse_text(arg, "--llm", &so->llm);
	case L_LLM_CODE: return parse_text(arg, "--llm-code", &so->llm_code);
	case L_BASE_URL: return parse_text(arg, "--llm-base-url", &so->llm_base_url);
	case L_EFFORT: return parse_text(arg, "--reasoning-effort", &so->reasoning_effort);
	case L_MAX_OUTPUT_TOKENS:
		return parse_int(arg, 1, 10000000, "--max-output-tokens", &so->max_output_tokens);
	case L_TEMPERATURE: return parse_real(arg, 0, false, 2, "--temperature", &so->temperature);
	case L_MAX_COST: return parse_real(arg, 0, true, 1e9, "--max-cost", &so->max_cost);
	case L_MAX_TOKENS:
		if (parse_int(arg, 1, 2000000000, "--max-tokens", &v))
			return -1;
		so->max_tokens = v;
		return 0;
	case L_CONCURRENCY: return parse_int(arg, 1, 256, "--llm-concurrency", &so->llm_concurrency);
	case L_REPAIRS: return parse_int(arg, 0, 10, "--llm-repairs", &so->llm_repairs);
	case L_TIMEOUT:
		if (parse_int(arg, 1, 86400, "--llm-timeout", &v))
			return -1;
		so->llm_timeout_s = v;
		return 0;
	}
	BUG("llm option without a case");
}

static const struct cli_group llm_group = { "LLM proposer (docs/LLM.md)", llm_opts, llm_set };

/* run's own: --resume; context: struct search_opts. */
static const struct cli_opt resume_opts[] = {
	{ 0, "resume", "RUN", "continue an interrupted or budget-stopped run" },
	{ 0, NULL, NULL, NULL },
};

static int resume_set(void *ctx, int id, const char *arg)
{
	struct search_opts *so = ctx;
	int v;
	(void)id;
	if (parse_int(arg, 1, 1 << 30, "--resume", &v))
		return -1;
	so->resume = v;
	return 0;
}

static const struct cli_group resume_group = { "run", resume_opts, resume_set };

/* bench's own; context: struct bench_cli. */
struct bench_cli {
	const char *results;     /* --results FILE */
	bool cont;               /* --continue: resume each problem's run in --db */
	bool slurm;              /* --slurm: submit to Slurm instead (docs/SCALE.md) */
	const char *slurm_dir;   /* --slurm-dir DIR; NULL: --out */
};

enum { B_RESULTS, B_CONTINUE, B_SLURM, B_SLURM_DIR };

static const struct cli_opt bench_opts[] = {
	{ B_RESULTS, "results", "FILE", "where the JSON results go (a checkout's bench/results/DATE-GPU.json; "
	  "installed: <data>/bench/)" },
	{ B_CONTINUE, "continue", NULL, "resume each problem's unfinished run in --db; keep a finished one" },
	{ B_SLURM, "slurm", NULL, "submit a Slurm job array, one task per problem, then merge; "
	  "sbatch options after -- (docs/SCALE.md)" },
	{ B_SLURM_DIR, "slurm-dir", "DIR", "the Slurm bench's shared directory (default: --out)" },
	{ 0, NULL, NULL, NULL },
};

static int bench_set(void *ctx, int id, const char *arg)
{
	struct bench_cli *b = ctx;
	switch (id) {
	case B_RESULTS: return parse_text(arg, "--results", &b->results);
	case B_CONTINUE: b->cont = true; return 0;
	case B_SLURM: b->slurm = true; return 0;
	case B_SLURM_DIR: return parse_text(arg, "--slurm-dir", &b->slurm_dir);
	}
	BUG("bench option without a case");
}

static const struct cli_group results_group = { "bench", bench_opts, bench_set };

/* run's Slurm options (bench's, for one problem); context: struct bench_cli. */
static const struct cli_opt run_slurm_opts[] = {
	{ B_SLURM, "slurm", NULL, "submit the run to Slurm as a one-task job array, then merge into DIR/kbreed.db; "
	  "sbatch options after -- (docs/SCALE.md)" },
	{ B_SLURM_DIR, "slurm-dir", "DIR", "the shared directory of the Slurm job (default: --out)" },
	{ 0, NULL, NULL, NULL },
};

static const struct cli_group run_slurm_group = { "Slurm", run_slurm_opts, bench_set };

/* --json, for problems, describe, eval and show; context: bool. */
static const struct cli_opt json_opts[] = {
	{ 0, "json", NULL, "print JSON (eval: one object, or a list for several kernels)" },
	{ 0, NULL, NULL, NULL },
};

/* --json, for run and bench; context: bool. */
static const struct cli_opt outcome_json_opts[] = {
	{ 0, "json", NULL, "print the outcome as one JSON object (progress stays on stderr)" },
	{ 0, NULL, NULL, NULL },
};

static int flag_set(void *ctx, int id, const char *arg)
{
	(void)id;
	(void)arg;
	*(bool *)ctx = true;
	return 0;
}

static const struct cli_group json_group = { "output", json_opts, flag_set };
static const struct cli_group outcome_json_group = { "output", outcome_json_opts, flag_set };

/* show's --db; context: const char *. */
static const struct cli_opt db_opts[] = {
	{ 0, "db", "PATH", "the store (default: $KBREED_DB, else <data>/kbreed.db)" },
	{ 0, NULL, NULL, NULL },
};

static int db_set(void *ctx, int id, const char *arg)
{
	(void)id;
	return parse_text(arg, "--db", (const char **)ctx);
}

static const struct cli_group db_group = { "store", db_opts, db_set };

/* eval's own: --no-baseline; context: bool (set: no baseline). */
static const struct cli_opt no_baseline_opts[] = {
	{ 0, "no-baseline", NULL, "do not time PyTorch beside the kernels" },
	{ 0, NULL, NULL, NULL },
};

static const struct cli_group no_baseline_group = { "eval", no_baseline_opts, flag_set };

/* compile's options; context: struct compile_cli. */
struct compile_cli {
	const char *arch;        /* NULL: $KBREED_ARCH, else the GPU's */
	int jobs;                /* nvcc processes at once; 0: one per core */
	int group;               /* sources one nvcc compiles at most; 0: the default */
};

enum { C_ARCH, C_JOBS, C_GROUP };

static const struct cli_opt compile_opts_table[] = {
	{ C_ARCH, "arch", "sm_XX", "compile target (default: $KBREED_ARCH, else the GPU's)" },
	{ C_JOBS, "jobs", "N", "nvcc processes at once, 1 to 1024 (one per core)" },
	{ C_GROUP, "group", "N", "sources one nvcc compiles at most, 1 to 8 (default $KBREED_COMPILE_GROUP, else 4)" },
	{ 0, NULL, NULL, NULL },
};

static int compile_set(void *ctx, int id, const char *arg)
{
	struct compile_cli *c = ctx;
	if (id == C_ARCH)
		return parse_arch(arg, "--arch", &c->arch);
	if (id == C_GROUP)
		return parse_int(arg, 1, COMPILE_GROUP_MAX, "--group", &c->group);
	return parse_int(arg, 1, 1024, "--jobs", &c->jobs);
}

static const struct cli_group compile_group = { "compile", compile_opts_table, compile_set };

/* template's: --for PROBLEM; context: const char *. */
static const struct cli_opt for_opts[] = {
	{ 0, "for", "PROBLEM", "add the problem's KBREED_DEFINES (strides, windows)" },
	{ 0, NULL, NULL, NULL },
};

static int for_set(void *ctx, int id, const char *arg)
{
	(void)id;
	return parse_text(arg, "--for", (const char **)ctx);
}

static const struct cli_group for_group = { "template", for_opts, for_set };

/* export's and report's options; context: struct stored_cli. */
struct stored_cli {
	const char *db;          /* --db; NULL: the default store */
	const char *out;         /* --out */
};

enum { O_DB, O_OUT };

static const struct cli_opt export_opts[] = {
	{ O_DB, "db", "PATH", "the store (default: $KBREED_DB, else <data>/kbreed.db)" },
	{ O_OUT, "out", "DIR", "where the files go (kbreed-out/PROBLEM-runN/export-cID)" },
	{ 0, NULL, NULL, NULL },
};

static int stored_set(void *ctx, int id, const char *arg)
{
	struct stored_cli *c = ctx;
	if (id == O_DB)
		return parse_text(arg, "--db", &c->db);
	return parse_text(arg, "--out", &c->out);
}

static const struct cli_opt report_opts[] = {
	{ O_DB, "db", "PATH", "the store (default: $KBREED_DB, else <data>/kbreed.db)" },
	{ O_OUT, "out", "FILE", "where the page goes (kbreed-out/PROBLEM-runN/report.html)" },
	{ 0, NULL, NULL, NULL },
};

static const struct cli_group export_group = { "export", export_opts, stored_set };
static const struct cli_group report_group = { "report", report_opts, stored_set };

/* A run (digits) or a candidate (c and digits) on the command line. */
static int parse_run_or_candidate(const char *s, int64_t *run, int64_t *cand)
{
	int v;
	*run = *cand = 0;
	if ((s[0] == 'c' || s[0] == 'C') && isdigit((unsigned char)s[1])) {
		if (parse_int(s + 1, 1, INT32_MAX, "a candidate (cID)", &v))
			return -1;
		*cand = v;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return error("want a run number or a candidate as cID (c42), not '%s'", s);
	if (parse_int(s, 1, INT32_MAX, "a run", &v))
		return -1;
	*run = v;
	return 0;
}

/* ---- commands ------------------------------------------------------------ */

#define CLI_MAX_GROUPS 6

struct command {
	const char *name;
	int (*fn)(const struct command *cmd, int argc, char **argv);
	const char *summary;     /* one line, for `kbreed --help` */
	const char *usage;       /* synopsis lines and what it does, for `kbreed CMD --help` */
	const struct cli_group *groups[CLI_MAX_GROUPS];  /* its options; NULL ends */
};

static void command_help(const struct command *cmd, FILE *f)
{
	fputs(cmd->usage, f);
	fprintf(f, "\noptions:\n  -h, --help%*s%s\n", 16, "", "print this help");
	for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g]; g++) {
		fprintf(f, "\n%s:\n", cmd->groups[g]->title);
		for (const struct cli_opt *o = cmd->groups[g]->opts; o->name; o++) {
			int w = o->arg ? (int)(strlen(o->name) + strlen(o->arg) + 3) :
					 (int)strlen(o->name) + 2;
			fprintf(f, "  --%s%s%s%*s%s\n", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
				w < 26 ? 26 - w : 1, "", o->help);
		}
	}
}

enum { CLI_PARSED = 0, CLI_HELP = 1, CLI_BAD = -1 };

/*
 * Parses argv (argv[0] is the command's name) against the command's option
 * groups, ctx[g] being the struct group g fills. Options and operands may
 * be mixed; the operands end up at argv[optind...]. Returns CLI_PARSED,
 * CLI_HELP after printing the command's help on stdout, or CLI_BAD after a
 * message on stderr.
 */
static int cli_parse(const struct command *cmd, int argc, char **argv, void *const ctx[])
{
	int n = 0, c, rc = CLI_BAD;
	for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g]; g++)
		for (const struct cli_opt *o = cmd->groups[g]->opts; o->name; o++)
			n++;
	struct option *lo = xcalloc((size_t)n + 2, sizeof *lo);
	int k = 0;
	for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g]; g++)
		for (const struct cli_opt *o = cmd->groups[g]->opts; o->name; o++, k++)
			lo[k] = (struct option){ o->name, o->arg ? required_argument : no_argument,
						 NULL, 256 + k };
	lo[k] = (struct option){ "help", no_argument, NULL, 'h' };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'h') {
			command_help(cmd, stdout);
			rc = CLI_HELP;
			goto out;
		}
		if (c == ':') {
			error("%s: option %s needs a value; `kbreed %s --help` lists the options",
			      cmd->name, argv[optind - 1], cmd->name);
			goto out;
		}
		if (c < 256 || c >= 256 + n) {
			if (optopt >= 256)
				error("%s: option '%s' takes no value", cmd->name, argv[optind - 1]);
			else if (optopt)
				error("%s: unknown option '-%c'; `kbreed %s --help` lists the options",
				      cmd->name, optopt, cmd->name);
			else
				error("%s: unknown option '%s'; `kbreed %s --help` lists the options",
				      cmd->name, argv[optind - 1], cmd->name);
			goto out;
		}
		/* Find the group and option of flat index c - 256. */
		int want = c - 256;
		for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g]; g++)
			for (const struct cli_opt *o = cmd->groups[g]->opts; o->name; o++)
				if (want-- == 0 && cmd->groups[g]->set(ctx[g], o->id, optarg))
					goto out;
	}
	rc = CLI_PARSED;
out:
	free(lo);
	return rc;
}

/* Parses as cli_parse and turns the outcome into the command's return:
 * -1 to go on, else the exit code (EXIT_OK after help, EXIT_USAGE). */
static int cli_parse_exit(const struct command *cmd, int argc, char **argv, void *const ctx[])
{
	int rc = cli_parse(cmd, argc, argv, ctx);
	return rc == CLI_PARSED ? -1 : rc == CLI_HELP ? EXIT_OK : EXIT_USAGE;
}

static const struct command *command_find(const char *name);
static void main_usage(FILE *f);

static int cmd_problems(const struct command *cmd, int argc, char **argv)
{
	bool json = false;
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &json });
	if (rc >= 0)
		return rc;
	if (optind < argc) {
		error("problems takes no operands, not '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	rc = EXIT_OK;
	if (json)
		printf("[");
	else
		printf("%-20s %-11s %-34s %-20s %10s %10s\n", "problem", "family", "inputs",
		       "output", "GFLOP", "min MB");
	for (int i = 0; problem_suite[i]; i++) {
		struct problem p;
		problem_init(&p);
		char *path = problem_resolve(problem_suite[i]);
		if (!path || bridge_describe(path, &p)) {
			rc = EXIT_USAGE;
			free(path);
			problem_release(&p);
			continue;
		}
		struct buf ins;
		buf_init(&ins, 1u << 16);
		for (int k = 0; k < p.n_inputs; k++) {
			char *s = tensor_shape_str(&p.inputs[k]);
			buf_printf(&ins, "%s%s %s", k ? ", " : "", dtype_name(p.inputs[k].dtype), s);
			free(s);
		}
		if (p.n_params)
			buf_printf(&ins, " +%d params", p.n_params);
		char *out = tensor_shape_str(&p.outputs[0]);
		if (json)
			printf("%s{\"name\": \"%s\", \"family\": \"%s\", \"inputs\": \"%s\", \"output\": \"%s %s\", \"flops\": %.0f, \"min_bytes\": %.0f}",
			       i ? ", " : "", p.name, p.family, buf_str(&ins), dtype_name(p.outputs[0].dtype),
			       out, p.flops, p.min_bytes);
		else
			printf("%-20s %-11s %-34s %-4s %-15s %10.2f %10.1f\n", p.name, p.family,
			       buf_str(&ins), dtype_name(p.outputs[0].dtype), out, p.flops / 1e9,
			       p.min_bytes / 1e6);
		free(out);
		buf_release(&ins);
		free(path);
		problem_release(&p);
	}
	if (json)
		printf("]\n");
	return rc;
}

static int cmd_compile(const struct command *cmd, int argc, char **argv)
{
	struct compile_cli cc = { 0 };
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &cc });
	if (rc >= 0)
		return rc;
	if (optind >= argc) {
		error("compile: name at least one .cu file");
		return EXIT_USAGE;
	}
	if (check_env_arch())
		return EXIT_USAGE;
	struct gpu_info g = { 0 };
	const char *arch = pick_arch(cc.arch, NULL);
	if (!arch && gpu_info_query(&g) == 0)
		arch = pick_arch(NULL, &g);
	if (!arch) {
		error("no compile target: no GPU detected; pass --arch sm_XX or set KBREED_ARCH");
		gpu_info_release(&g);
		return EXIT_USAGE;
	}
	if (!valid_arch(arch)) {
		error("bad compile target '%s' (want sm_XX or sm_XXa)", arch);
		gpu_info_release(&g);
		return EXIT_USAGE;
	}
	int n = argc - optind;
	struct compile_job *j = xcalloc((size_t)n, sizeof *j);
	for (int i = 0; i < n; i++)
		j[i].source = argv[optind + i];
	struct compile_opts o = { .arch = arch, .jobs = cc.jobs, .group = cc.group };
	rc = compile_batch(j, n, &o) ? EXIT_USAGE : EXIT_OK;
	for (int i = 0; i < n; i++) {
		char *with = j[i].grouped ? xasprintf(", in a group of %d", j[i].grouped) : xstrdup("");
		printf("%s: %s%s%s (%.1f s) %s\n", j[i].source,
		       j[i].ok ? "ok" : j[i].timed_out ? "timeout" : "compile_error",
		       j[i].cached ? ", cached" : "", with, j[i].seconds,
		       j[i].ok ? j[i].so_path : j[i].log_path ? j[i].log_path : "");
		free(with);
		if (!j[i].ok && rc == EXIT_OK)
			rc = EXIT_JUDGED;
		compile_job_release(&j[i]);
	}
	free(j);
	gpu_info_release(&g);
	return rc;
}

/*
 * `kbreed eval`: one judging session (src/judge.h) for the problem, every
 * kernel through its one order of checks, each report printed as it comes.
 * Returns the exit code: 0 when every kernel is correct, 1 when one is not,
 * 2 when kbreed could not judge.
 */
static int eval_judge(const struct judge_cli *jc, bool json, bool baseline_on,
		      const char *problem_arg, char **kernels, int n)
{
	/* One GPU, the first: a session's reports come in the kernels' order. */
	struct judge_opts jo = { .eval = jc->eval, .arch = jc->arch, .baseline = baseline_on,
				 .torch_compile = jc->torch_compile, .gpus = "0", .adaptive = jc->adaptive == 1 };
	int rc = EXIT_USAGE, index;
	struct judge j;
	struct judge_batch *batch = NULL;
	bool all_correct = true, opened = false;
	char *path = problem_resolve(problem_arg);
	if (!path)
		goto out;
	for (int i = 0; i < n; i++) {
		char *why = NULL;
		if (!util_file_exists(kernels[i])) {
			error("kernel file %s does not exist or cannot be read", kernels[i]);
			goto out;
		}
		if (judge_is_python(kernels[i]) && judge_python_check(kernels[i], &why)) {
			error("%s", why);
			free(why);
			goto out;
		}
	}
	if (judge_open(&j, path, &jo))
		goto out;
	opened = true;
	/* nvcc compiles while the references and PyTorch's times are made. */
	if (judge_prepare_start(&j))
		goto out;
	batch = judge_batch_start(&j, (const char *const *)kernels, n);
	if (json && n > 1)
		printf("[\n");
	for (int i = 0; i < n; i++) {
		struct judgement o;
		if (judge_batch_next(batch, &index, &o) <= 0)
			goto out;
		if (json) {
			char *s = report_json(&o.rep);
			printf("%s%s\n", s, n > 1 && i + 1 < n ? "," : "");
			free(s);
		} else {
			report_print(stdout, &o.rep);
		}
		fflush(stdout);
		all_correct &= o.res.verdict == VERDICT_CORRECT;
		judgement_release(&o);
	}
	if (json && n > 1)
		printf("]\n");
	rc = all_correct ? EXIT_OK : EXIT_JUDGED;
out:
	if (judge_batch_end(batch))
		rc = EXIT_USAGE;
	if (opened)
		judge_close(&j);
	free(path);
	return rc;
}

static int cmd_eval(const struct command *cmd, int argc, char **argv)
{
	struct judge_cli jc;
	bool json = false, no_baseline = false;
	judge_cli_init(&jc);
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &jc, &json, &no_baseline });
	if (rc >= 0)
		return rc;
	if (argc - optind < 2) {
		error("eval takes a problem and kernels: kbreed eval PROBLEM KERNEL.cu|SOLUTION.py [...]");
		return EXIT_USAGE;
	}
	if (check_env_arch())
		return EXIT_USAGE;
	return eval_judge(&jc, json, !no_baseline, argv[optind], argv + optind + 1,
			  argc - optind - 1);
}

/* kbreed describe PROBLEM [--json]: the op graph, the family (declared or
 * recognised), the floor's inputs and the defines. */
static int cmd_describe(const struct command *cmd, int argc, char **argv)
{
	bool json = false;
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &json });
	if (rc >= 0)
		return rc;
	rc = EXIT_USAGE;
	struct problem p;
	struct recognition r;
	char *path = NULL, *text = NULL;
	problem_init(&p);
	recognition_init(&r);
	if (argc - optind != 1) {
		error("describe takes one problem: kbreed describe PROBLEM [--json]");
		goto out;
	}
	path = problem_resolve(argv[optind]);
	if (!path || bridge_describe(path, &p))
		goto out;
	bool recognised = p.family_declared || (p.graph && recognize_graph(p.graph, &r));
	if (json) {
		text = bridge_json_describe(&p, recognised, recognised ? NULL : r.missing ? r.missing
					    : p.graph_error);
		if (!text) {
			error("describe: cannot encode %s as JSON", p.name);
			goto out;
		}
		printf("%s\n", text);
	} else {
		printf("problem   %s (%s)\nfamily    %s, op %s (%s)\n", p.name, p.path, p.family, p.op,
		       p.family_declared ? "declared by the file" : recognised ? "recognised"
		       : "NOT recognised; --llm can take it");
		if (!recognised)
			printf("missing   %s\n", r.missing ? r.missing : p.graph_error);
		printf("floor     %.0f FLOPs, %.0f bytes\n", p.flops, p.min_bytes);
		printf("defines   %s\n", p.defines && *p.defines ? "" : "(none)");
		if (p.defines && *p.defines)
			printf("%s", p.defines);
		printf("graph%s\n", p.graph ? "" : " (none)");
		if (p.graph)
			graph_print(p.graph, stdout);
	}
	rc = EXIT_OK;
out:
	free(text);
	free(path);
	recognition_release(&r);
	problem_release(&p);
	return rc;
}

/* Prints the naive kernel generated from a problem's op graph (round 0 of a
 * run when the problem has no hand-written one). */
static int cmd_generate(const struct command *cmd, int argc, char **argv)
{
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ NULL });
	if (rc >= 0)
		return rc;
	if (argc - optind != 1) {
		error("generate takes one problem: kbreed generate PROBLEM");
		return EXIT_USAGE;
	}
	struct problem p;
	problem_init(&p);
	char *path = problem_resolve(argv[optind]), *source = NULL, *why = NULL;
	rc = EXIT_USAGE;
	if (!path || bridge_describe(path, &p))
		goto out;
	if (!p.graph) {
		error("%s: no op graph (%s)", p.name, p.graph_error ? p.graph_error : "not captured");
		goto out;
	}
	int g = generate_naive(p.graph, &source, &why);
	if (g > 0)
		error("%s: the generator does not cover it: %s (kbreed run --llm can take it)", p.name, why ? why : "?");
	if (g == 0) {
		fputs(source, stdout);
		rc = fflush(stdout) ? EXIT_USAGE : EXIT_OK;
	}
out:
	free(source);
	free(why);
	free(path);
	problem_release(&p);
	return rc;
}

/* Lists the templates and their knobs, or prints one realised. */
static int cmd_template(const struct command *cmd, int argc, char **argv)
{
	struct template *t = NULL;
	int n = 0;
	const char *for_problem = NULL;
	struct problem p;
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &for_problem });
	if (rc >= 0)
		return rc;
	rc = EXIT_USAGE;
	problem_init(&p);
	if (template_load_all(&t, &n))
		goto out;
	if (optind >= argc) {
		for (int i = 0; i < n; i++) {
			printf("%s (family %s, serves %s)\n", t[i].name, t[i].family, t[i].problems);
			for (int k = 0; k < t[i].n_knobs; k++) {
				printf("  %-16s [", t[i].knobs[k].name);
				for (int v = 0; v < t[i].knobs[k].n_values; v++)
					printf("%s%d%s%s", v ? " " : "", t[i].knobs[k].values[v],
					       t[i].knobs[k].values[v] == t[i].knobs[k].def ? "*" : "",
					       t[i].knobs[k].loose[v] ? "~" : "");
				printf("]  (%s) %s\n", t[i].knobs[k].category, t[i].knobs[k].what);
			}
			for (int r = 0; r < t[i].n_same; r++) {
				const struct knob_same *sm = &t[i].same[r];
				printf("  same:");
				for (int w = 0; w < sm->n_when; w++)
					printf(" %s=%d", t[i].knobs[sm->when_knob[w]].name, sm->when_value[w]);
				printf(" as");
				for (int a = 0; a < sm->n_as; a++)
					printf(" %s=%d", t[i].knobs[sm->as_knob[a]].name, sm->as_value[a]);
				putchar('\n');
			}
			for (int r = 0; r < t[i].n_start; r++) {
				const struct knob_start *st = &t[i].start[r];
				printf("  start %s%s%s:", st->arch, *st->requires ? " " : "", st->requires);
				for (int k = 0; k < st->n; k++)
					printf(" %s=%d", t[i].knobs[st->knob[k]].name, st->value[k]);
				putchar('\n');
			}
		}
		if (n)
			printf("\n* the default; ~ a loose value (lowers precision: crfm runs only); same: settings the "
			       "template runs as others (realised as those); start ARCH: settings round 0 also "
			       "judges on that target (where the problem's defines have the NAMEs after ARCH, none of "
			       "the !NAMEs)\n");
		rc = EXIT_OK;
		goto out;
	}
	const struct template *one = template_find(t, n, argv[optind]);
	if (!one) {
		error("no template named '%s'; `kbreed template` lists them", argv[optind]);
		goto out;
	}
	if (for_problem) {
		/* The problem's KBREED_DEFINES (a stride, a pool window) go in too. */
		char *path = problem_resolve(for_problem);
		int brc = path ? bridge_describe(path, &p) : -1;
		free(path);
		if (brc)
			goto out;  /* the bridge said why */
	}
	/* An op the template does not list: realised anyway (a look at what
	 * it would do), but said, since no search would offer it. */
	if (for_problem && strcmp(one->problems, "*") && !util_word_in(one->problems, p.op ? p.op : ""))
		warn("template %s does not list %s's op %s among those it serves (%s): realised anyway, "
		     "but no search offers it there", one->name, p.name, p.op ? p.op : "(none)", one->problems);
	/* A template that requires defines (pointwise_vec, the graph's body)
	 * would realise as something else without them: refused. */
	if (for_problem && *one->requires && !template_serves(one, p.op ? p.op : "", p.defines)) {
		error("template %s does not serve %s: its requires line is '%s' (each NAME a define the problem "
		      "must have, each !NAME one it must not; `kbreed describe` shows the problem's)", one->name,
		      p.name, one->requires);
		goto out;
	}
	struct buf knobs;
	buf_init(&knobs, 1u << 16);
	for (int i = optind + 1; i < argc; i++)
		buf_printf(&knobs, "%s%s", i > optind + 1 ? " " : "", argv[i]);
	struct genome g;
	if (genome_parse(&g, one, buf_str(&knobs)) == 0) {
		char *asked = genome_knobs_str(&g);
		if (genome_canonical(&g)) {
			char *runs = genome_knobs_str(&g);
			info("%s runs %s as %s (its same: lines): realised so", one->name, asked, runs);
			free(runs);
		}
		free(asked);
		char *src = genome_realize(&g, p.defines);
		fputs(src, stdout);
		free(src);
		rc = EXIT_OK;
	}
	buf_release(&knobs);
out:
	problem_release(&p);
	template_free_all(t, n);
	return rc;
}

/*
 * What run and bench do with their parsed options before any work: the
 * judging options go into so, the target is --arch or $KBREED_ARCH (checked
 * here, else detected by the search), and the output directory must be
 * usable now rather than at the end. Returns 0, or -1 after a message.
 */
static int search_opts_ready(struct search_opts *so, const struct judge_cli *jc)
{
	so->eval = jc->eval;
	so->torch_compile = jc->torch_compile;
	so->adaptive = jc->adaptive != 0;
	if (jc->tolerance_given)
		so->given |= SEARCH_GIVEN_TOLERANCE;
	so->arch = pick_arch(jc->arch, NULL);
	if (check_env_arch())
		return -1;
	if (so->out_dir)
		return check_out_dir(so->out_dir, "--out");
	/* The default, kbreed-out/PROBLEM-runN, is made at the end. */
	struct stat st;
	if (stat("kbreed-out", &st) == 0 && !S_ISDIR(st.st_mode))
		return error("kbreed-out exists and is not a directory; pass --out DIR");
	return 0;
}

static int bench_slurm(const struct command *cmd, int argc, char **argv, const struct search_opts *so,
		       const struct bench_cli *bc, const char *const *names, int n, char **sbatch_args,
		       int n_sbatch);

static int cmd_run(const struct command *cmd, int argc, char **argv)
{
	struct search_opts so;
	struct judge_cli jc;
	struct bench_cli bc = { 0 };
	char *db = NULL;
	bool json = false;
	search_opts_defaults(&so);
	judge_cli_init(&jc);
	/* Past "--": sbatch's options (--slurm). */
	int ends = argc;
	for (int k = 1; k < argc; k++)
		if (!strcmp(argv[k], "--")) {
			ends = k;
			break;
		}
	int rc = cli_parse_exit(cmd, ends, argv, (void *const[]){ &so, &so, &jc, &so, &bc, &json });
	if (rc >= 0)
		goto out;
	rc = EXIT_USAGE;
	if (ends < argc && !bc.slurm) {
		error("run: what follows -- is for sbatch: it needs --slurm");
		goto out;
	}
	if (so.resume ? ends - optind > 1 : ends - optind != 1) {
		error(so.resume ? "run --resume RUN takes no problem, or the run's own" : "run takes one problem: kbreed run PROBLEM");
		goto out;
	}
	if (bc.slurm_dir && !bc.slurm) {
		error("run: --slurm-dir is the directory of a --slurm job: it needs --slurm");
		goto out;
	}
	if (bc.slurm && (so.resume || json)) {
		error("run --slurm: %s", so.resume ? "the job resumes its own run when submitted again; drop --resume"
						   : "--json prints the outcome, which the job leaves in its directory; drop one of them");
		goto out;
	}
	if (search_opts_ready(&so, &jc))
		goto out;
	if (bc.slurm) {
		/* A bench of one problem: the same job scripts, resumable task and merge. */
		rc = bench_slurm(cmd, ends, argv, &so, &bc, (const char *const *)argv + optind, 1,
				 argv + ends + (ends < argc), argc - ends - (ends < argc));
		goto out;
	}
	if (!so.db_path)
		so.db_path = db = store_default_path();
	struct search_outcome res;
	if (search_run(&so, optind < argc ? argv[optind] : NULL, &res) == 0) {
		if (json) {
			char *text = show_outcome_json(&res, so.dry_run);
			printf("%s\n", text);
			free(text);
		} else if (so.dry_run)
			printf("dry run %lld: %d candidates proposed and compiled, none judged\n",
			       (long long)res.run, res.candidates);
		else if (res.winner)
			printf("winner: %s\n  %.4f ms = %.0f%% of PyTorch eager (%.4f ms), %.0f%% of the floor, found in round %d\n",
			       res.winner_path, res.best_ms, res.pct_eager, res.eager_ms, res.pct_floor, res.round_found);
		else
			printf("no correct kernel was found\n");
		if (!json)
			printf("summary: %s\n", res.summary_path ? res.summary_path : "(none)");
		rc = res.winner || so.dry_run ? EXIT_OK : EXIT_JUDGED;
		if (fflush(stdout))
			rc = EXIT_USAGE;
	}
	search_outcome_release(&res);
out:
	free(db);
	return rc;
}

/* The winner of a problem's run as a bench row. */
static void bench_row_fill(struct bench_row *row, const struct search_outcome *res)
{
	row->ok = true;
	row->eager_ms = res->eager_ms;
	row->compile_ms = res->compile_ms;
	row->best_ms = res->best_ms;
	row->pct_eager = res->pct_eager;
	row->pct_compile = res->pct_compile;
	row->eager_fp32_ms = res->eager_fp32_ms;
	row->pct_eager_fp32 = res->pct_eager_fp32;
	row->eager_from_start = res->eager_from_start;
	row->pct_floor = res->pct_floor;
	row->round_found = res->round_found;
	row->pass_strict = res->pass_strict;
	row->pass_crfm = res->pass_crfm;
	row->run = res->run;
	row->winner = res->winner;
	row->floor_ms = res->floor_ms;
	row->bound = res->bound;
}

/* The winner's template, knobs, idea and donor into row->facts, read from
 * the store: one reading for every row, whichever process found it (a
 * bench over several GPUs hands rows back through a pipe, which carries no
 * strings). Returns 0 or -1 (reported). */
static int bench_row_facts(struct store *db, struct bench_row *row)
{
	if (!row->ok || !row->winner)
		return 0;
	struct population pop;
	population_init(&pop, db, row->run);
	int rc = population_load(&pop);
	if (!rc)
		rc = population_winner_facts(&pop, row->winner, &row->facts);
	population_release(&pop);
	/* A run kept as it was (--continue) was not re-judged here: its floor
	 * is the one its winner was judged against. */
	struct eval_record e;
	int got = !rc && row->floor_ms <= 0 ? store_eval_get(db, row->winner, &e) : 1;
	if (got == 0) {
		row->floor_ms = e.row.floor_ms;
		row->pct_floor = row->floor_ms > 0 && row->best_ms > 0 ? row->floor_ms / row->best_ms * 100 : 0;
		eval_record_release(&e);
	}
	return got < 0 ? -1 : rc;
}

/*
 * One problem of a bench into row: its search, or with cont, its latest run
 * in the database resumed (a finished one is kept as it is, read back).
 * The winner goes to out_base/NAME when out_base is set. Returns 0 when a
 * correct kernel was found.
 */
static int bench_one(const struct search_opts *so_in, const char *name, const char *out_base, bool cont,
		     struct bench_row *row)
{
	struct search_opts so = *so_in;
	struct search_outcome res;
	char *task = slurm_task_name(name);
	char *out_dir = out_base ? xasprintf("%s/%s", out_base, task) : NULL;
	int rc = -1;
	so.out_dir = out_dir;
	if (cont) {
		struct store *db = store_open(so.db_path);
		char *path = db ? problem_resolve(name) : NULL;
		struct run_row r;
		int got = path ? store_run_latest(db, path, &r) : -1;
		store_close(db);
		free(path);
		if (got < 0)
			goto out;
		if (got == 1 && r.status == RUN_DONE) {
			info("%s: run %lld finished earlier; kept as it is", name, (long long)r.id);
			row->run = r.id;
			row->ok = r.winner && r.final_ms > 0;
			row->winner = r.winner;
			row->best_ms = r.final_ms;
			row->eager_ms = r.final_eager_ms;
			row->pct_eager = row->ok ? r.final_eager_ms / r.final_ms * 100 : 0;
			rc = row->ok ? 0 : -1;
			run_row_release(&r);
			goto out;
		}
		if (got == 1 && r.status != RUN_DRY_RUN) {
			info("%s: resuming run %lld (%s)", name, (long long)r.id, run_state_name(r.status));
			so.resume = r.id;
		}
		if (got == 1)
			run_row_release(&r);
	}
	if (search_run(&so, name, &res) == 0 && res.winner) {
		bench_row_fill(row, &res);
		rc = 0;
	} else {
		row->run = res.run;
	}
	search_outcome_release(&res);
out:
	free(out_dir);
	free(task);
	return rc;
}

/*
 * A bench over several GPUs: each problem runs alone on one GPU, as many at
 * once as there are GPUs, each in a process of its own (a run's judge, its
 * PyTorch timings and its workers see that GPU only), each writing the one
 * database (SQLite serialises them). rows get what each child found.
 * Returns 0 when every problem found a correct kernel.
 */
static int bench_on_gpus(const struct search_opts *so, const char *const *names, int n, const char *out_base,
			 bool cont, const struct gpu_info *gpus, int ng, struct bench_row *rows)
{
	pid_t *pid = xcalloc((size_t)ng, sizeof *pid);
	int *fd = xcalloc((size_t)ng, sizeof *fd), *problem_of = xcalloc((size_t)ng, sizeof *problem_of);
	int next = 0, running = 0, rc = 0;
	while (next < n || running) {
		for (int k = 0; k < ng && next < n; k++) {
			int p[2];
			if (pid[k] > 0)
				continue;
			if (pipe2(p, O_CLOEXEC)) {
				error("bench: pipe: %s", strerror(errno));
				next = n;
				rc = -1;
				break;
			}
			int i = next++;
			fflush(NULL);
			pid_t c = fork();
			if (c == 0) {
				close(p[0]);
				struct search_opts o = *so;
				char index[16];
				snprintf(index, sizeof index, "%d", gpus[k].index);
				o.gpus = index;
				struct bench_row r = rows[i];
				int one = bench_one(&o, names[i], out_base, cont, &r);
				ssize_t w = write(p[1], &r, sizeof r);
				fflush(NULL);
				_exit(one == 0 && w == (ssize_t)sizeof r ? 0 : 1);
			}
			close(p[1]);
			if (c < 0) {
				close(p[0]);
				error("bench: fork: %s", strerror(errno));
				next = n;
				rc = -1;
				break;
			}
			info("bench: %s on GPU %d (%s)", names[i], gpus[k].index, gpus[k].name);
			pid[k] = c;
			fd[k] = p[0];
			problem_of[k] = i;
			running++;
		}
		if (!running)
			break;
		int st;
		pid_t w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		for (int k = 0; k < ng; k++) {
			if (pid[k] != w)
				continue;
			struct bench_row r, *row = &rows[problem_of[k]];
			if (read(fd[k], &r, sizeof r) == (ssize_t)sizeof r) {
				/* Its numbers; its strings are the parent's own (bound is a
				 * literal, at the same address in a forked child). */
				r.problem = row->problem;
				r.tolerance = row->tolerance;
				*row = r;
			}
			row->gpu = gpus[k].name;
			if (!row->ok)
				rc = -1;
			close(fd[k]);
			pid[k] = 0;
			running--;
		}
	}
	free(pid);
	free(fd);
	free(problem_of);
	return rc;
}

/*
 * What each Slurm task gets of the bench's command line: its search and
 * judging options, not the problems, nor what the task sets itself (--db,
 * --out, --results, --continue; run's --resume), what only submitting means
 * (--slurm, --slurm-dir) or how the submitter prints (--json). run --slurm
 * hands its options on the same way: its task is a bench of one problem. Options are matched as getopt_long does, by a unique prefix
 * too. *out is argv's strings (caller frees the array).
 */
static void bench_task_args(const struct command *cmd, int argc, char **argv, const char ***out, int *n)
{
	static const char *const own[] = { "db", "out", "results", "continue", "slurm", "slurm-dir", "json",
					   "resume", NULL };
	*out = xcalloc((size_t)argc + 1, sizeof **out);
	*n = 0;
	for (int k = 1; k < argc; k++) {
		const char *a = argv[k];
		if (strncmp(a, "--", 2) || !a[2])
			continue;  /* a problem */
		size_t len = strcspn(a + 2, "=");
		const struct cli_opt *hit = NULL;
		int hits = 0;
		for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g]; g++)
			for (const struct cli_opt *o = cmd->groups[g]->opts; o->name; o++) {
				if (strncmp(o->name, a + 2, len))
					continue;
				if (strlen(o->name) == len) {
					hit = o;
					hits = 1;
					goto found;
				}
				hit = o;
				hits++;
			}
found:
		if (hits != 1)
			continue;  /* refused by the parser already */
		bool skip = false;
		for (int i = 0; own[i]; i++)
			skip |= !strcmp(hit->name, own[i]);
		bool apart = hit->arg && !a[2 + len];
		if (!skip) {
			(*out)[(*n)++] = a;
			if (apart && k + 1 < argc)
				(*out)[(*n)++] = argv[k + 1];
		}
		if (apart)
			k++;
	}
}

/* `kbreed bench --slurm`: the job scripts into the shared directory and
 * their submission. Returns the exit code. */
static int bench_slurm(const struct command *cmd, int argc, char **argv, const struct search_opts *so,
		       const struct bench_cli *bc, const char *const *names, int n, char **sbatch_args,
		       int n_sbatch)
{
	const char *dir = bc->slurm_dir ? bc->slurm_dir : so->out_dir;
	char *abs = NULL, *self = NULL, *array = NULL, *merge = NULL;
	const char **task_args = NULL;
	int n_task = 0, rc = EXIT_USAGE;
	if (!dir) {
		error("--slurm needs a shared directory for its databases and results: --slurm-dir DIR or --out DIR");
		goto out;
	}
	if (check_out_dir(dir, bc->slurm_dir ? "--slurm-dir" : "--out"))
		goto out;
	abs = realpath(dir, NULL);
	self = realpath("/proc/self/exe", NULL);
	if (!abs || !self) {
		error("--slurm: cannot find the absolute path of %s", abs ? "kbreed itself" : dir);
		goto out;
	}
	bench_task_args(cmd, argc, argv, &task_args, &n_task);
	struct slurm_bench sb = { .dir = abs, .kbreed = self, .problems = names, .n_problems = n,
				  .task_args = task_args, .n_task_args = n_task,
				  .sbatch_args = (const char *const *)sbatch_args, .n_sbatch_args = n_sbatch };
	if (slurm_bench_submit(&sb, &array, &merge))
		goto out;
	printf("submitted: job array %s (%d task%s, one per problem), then job %s merges their databases\n"
	       "  follow:  squeue -j %s,%s   or   sacct -j %s,%s --format=JobID,JobName,State,Elapsed\n"
	       "  scripts: %s/kbreed-bench.sbatch, %s/kbreed-merge.sbatch\n"
	       "  results: %s/kbreed.db (merged), %s/results/, %s/out/\n"
	       "  a task that failed or was cancelled: the same command again resumes it\n",
	       array, n, n == 1 ? "" : "s", merge, array, merge, array, merge, abs, abs, abs, abs, abs);
	rc = EXIT_OK;
out:
	free(abs);
	free(self);
	free(array);
	free(merge);
	free(task_args);
	return rc;
}

static int cmd_bench(const struct command *cmd, int argc, char **argv)
{
	struct search_opts so;
	struct judge_cli jc;
	struct bench_cli bc = { 0 };
	struct buf command;
	struct bench_row *rows = NULL;
	struct gpu_info *gpus = NULL;
	bool json_out = false;
	int n = 0, ng = 0;
	char *db = NULL;
	search_opts_defaults(&so);
	judge_cli_init(&jc);
	/* The command as typed goes into the results; parsing reorders argv. */
	buf_init(&command, 1u << 16);
	buf_printf(&command, "kbreed");
	for (int k = 0; k < argc; k++)
		buf_printf(&command, " %s", argv[k]);
	/* Past "--": sbatch's options (--slurm). */
	int ends = argc;
	for (int k = 1; k < argc; k++)
		if (!strcmp(argv[k], "--")) {
			ends = k;
			break;
		}
	int rc = cli_parse_exit(cmd, ends, argv, (void *const[]){ &so, &so, &jc, &bc, &json_out });
	if (rc >= 0)
		goto out;
	rc = EXIT_USAGE;
	if (ends < argc && !bc.slurm) {
		error("bench: what follows -- is for sbatch: it needs --slurm");
		goto out;
	}
	if (search_opts_ready(&so, &jc) || (bc.results && check_out_file(bc.results, "--results")))
		goto out;
	const char *const *names = (const char *const *)argv + optind;
	n = ends - optind;
	if (n == 0) {
		names = problem_suite;
		while (problem_suite[n])
			n++;
	}
	if (bc.slurm && json_out) {
		error("bench: --json prints the results, which a --slurm bench leaves in its directory's "
		      "results/ later; drop one of them");
		goto out;
	}
	if (bc.slurm) {
		rc = bench_slurm(cmd, ends, argv, &so, &bc, names, n, argv + ends + (ends < argc),
				 argc - ends - (ends < argc));
		goto out;
	}
	rows = xcalloc((size_t)n, sizeof *rows);
	if (gpu_select(so.gpus, &gpus, &ng)) {
		error("kbreed bench needs an NVIDIA GPU");
		goto out;
	}
	if (!so.db_path)
		so.db_path = db = store_default_path();
	rc = EXIT_OK;
	for (int i = 0; i < n; i++) {
		rows[i].problem = names[i];
		rows[i].tolerance = tolerance_name(so.eval.tolerance);
	}
	bool mixed = false;
	for (int k = 1; k < ng; k++)
		mixed |= strcmp(gpus[k].name, gpus[0].name) != 0;
	if (ng > 1 && n > 1) {
		/* Different problems on different GPUs at once, in one database
		 * made (in WAL mode) before they start. */
		struct store *made = store_open(so.db_path);
		if (!made) {
			rc = EXIT_USAGE;
			goto out;
		}
		store_close(made);
		if (bench_on_gpus(&so, names, n, so.out_dir, bc.cont, gpus, ng, rows))
			rc = EXIT_JUDGED;
	} else {
		if (mixed)
			warn("one problem on GPUs of several models: it runs on the %s's only", gpus[0].name);
		/* The later problems are described while the first ones run. */
		pid_t ahead = bridge_describe_ahead(names + 1, n - 1);
		for (int i = 0; i < n; i++) {
			info("bench %d/%d: %s", i + 1, n, names[i]);
			if (bench_one(&so, names[i], so.out_dir, bc.cont, &rows[i]))
				rc = EXIT_JUDGED;
		}
		bridge_describe_ahead_end(ahead);
	}
	struct store *store = store_open(so.db_path);
	for (int i = 0; i < n; i++)
		if (!store || bench_row_facts(store, &rows[i]))
			rc = EXIT_USAGE;
	store_close(store);
	char date[16];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
	/* Several models: the file says so, each row names its own; no time is
	 * ever set against one taken on another model. */
	struct buf gpu_names;
	buf_init(&gpu_names, 1u << 16);
	buf_printf(&gpu_names, "%s", gpus[0].name);
	for (int k = 1; mixed && k < ng; k++) {
		bool seen = false;
		for (int m = 0; m < k; m++)
			seen |= !strcmp(gpus[m].name, gpus[k].name);
		if (!seen)
			buf_printf(&gpu_names, ", %s", gpus[k].name);
	}
	if (!mixed)
		for (int i = 0; i < n; i++)
			rows[i].gpu = NULL;
	char *safe = xstrdup(buf_str(&gpu_names));
	for (char *c = safe; *c; c++)
		if (!isalnum((unsigned char)*c))
			*c = '-';
	/* A checkout keeps its results beside the code; an installed kbreed in
	 * the data directory. */
	char *data = home_is_checkout() ? NULL : util_data_dir();
	char *path = bc.results ? xstrdup(bc.results)
		: data ? xasprintf("%s/bench/%s-%s.json", data, date, safe)
		: xasprintf("%s/bench/results/%s-%s.json", home_dir(), date, safe);
	free(data);
	char *json = report_bench_json(buf_str(&gpu_names), date, buf_str(&command), rows, n);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if ((slash && util_mkdirs(dir)) || util_write_file(path, json, strlen(json)))
		rc = EXIT_USAGE;
	if (json_out) {
		/* What the results file holds; where it is goes to stderr. */
		printf("%s\n", json);
		info("results: %s", path);
	} else {
		printf("| problem |%s eager ms | compile ms | best ms | %% of eager | %% of compile | %% of floor "
		       "| round |\n", mixed ? " GPU |" : "");
		printf("|---|%s---|---|---|---|---|---|---|\n", mixed ? "---|" : "");
		for (int i = 0; i < n; i++) {
			printf("| %s |", rows[i].problem);
			if (mixed)
				printf(" %s |", rows[i].gpu ? rows[i].gpu : "");
			if (rows[i].ok)
				printf(" %.4f | %.4f | %.4f | %.1f | %.1f | %.1f | %d |\n", rows[i].eager_ms,
				       rows[i].compile_ms, rows[i].best_ms, rows[i].pct_eager, rows[i].pct_compile,
				       rows[i].pct_floor, rows[i].round_found);
			else
				printf(" no correct kernel | | | | | | |\n");
		}
		if (mixed)
			printf("(each problem's times are on its own GPU's model, beside PyTorch on that GPU)\n");
		printf("results: %s\n", path);
	}
	if (fflush(stdout))
		rc = EXIT_USAGE;
	buf_release(&gpu_names);
	free(dir);
	free(json);
	free(path);
	free(safe);
out:
	gpu_list_free(gpus, ng);
	for (int i = 0; rows && i < n; i++)
		winner_facts_release(&rows[i].facts);
	free(rows);
	free(db);
	buf_release(&command);
	return rc;
}

/* `kbreed merge TARGET SOURCE...`: store_merge, and what it brought. */
static int cmd_merge(const struct command *cmd, int argc, char **argv)
{
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ NULL });
	if (rc >= 0)
		return rc;
	if (argc - optind < 2) {
		error("merge takes a target and sources: kbreed merge TARGET.db SOURCE.db...");
		return EXIT_USAGE;
	}
	struct store *s = store_open(argv[optind]);
	if (!s)
		return EXIT_USAGE;
	struct store_merge_counts c;
	rc = store_merge(s, (const char *const *)argv + optind + 1, argc - optind - 1, &c) ? EXIT_USAGE : EXIT_OK;
	if (rc == EXIT_OK)
		printf("merged %d database%s into %s: %d new runs, %d runs further along, %d ideas, "
		       "%d candidates, %d evaluations, %d bank kernels, %d model calls\n", argc - optind - 1,
		       argc - optind > 2 ? "s" : "", argv[optind], c.runs, c.runs_advanced, c.ideas, c.candidates,
		       c.evaluations, c.bank, c.llm_calls);
	store_close(s);
	return rc;
}

/* `kbreed export RUN|cID`: the winner of a run, or one candidate, as a
 * standalone .cu, a KernelBench ModelNew file and a PyTorch operator. */
static int cmd_export(const struct command *cmd, int argc, char **argv)
{
	struct stored_cli sc = { 0 };
	struct export_request req = { 0 };
	struct export_result res;
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &sc });
	if (rc >= 0)
		return rc;
	if (argc - optind != 1) {
		error("export takes one run or candidate: kbreed export RUN|cID [--out DIR]");
		return EXIT_USAGE;
	}
	/* --out is made once the export is known to be possible. */
	if (parse_run_or_candidate(argv[optind], &req.run, &req.candidate))
		return EXIT_USAGE;
	if (sc.out && util_file_exists(sc.out) && !util_is_dir(sc.out)) {
		error("--out %s exists and is not a directory", sc.out);
		return EXIT_USAGE;
	}
	char *db = sc.db ? xstrdup(sc.db) : store_default_path();
	req.db_path = db;
	req.out_dir = sc.out;
	rc = EXIT_USAGE;
	if (export_write(&req, &res) == 0) {
		printf("exported candidate #%lld of run %lld (%s) to %s/\n", (long long)res.candidate,
		       (long long)res.run, res.verdict, res.dir);
		printf("  kernel.cu      the kernel, with kbreed_candidate.h beside it\n"
		       "  model_new.py   ModelNew, a drop-in for the problem's Model (KernelBench format)\n"
		       "  op/            the PyTorch operator: cd op && pip install --no-build-isolation .\n");
		rc = EXIT_OK;
	}
	export_result_release(&res);
	free(db);
	return rc;
}

/* `kbreed report RUN`: the run as one self-contained HTML page. */
static int cmd_report(const struct command *cmd, int argc, char **argv)
{
	struct stored_cli sc = { 0 };
	int64_t run, cand;
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &sc });
	if (rc >= 0)
		return rc;
	if (argc - optind != 1) {
		error("report takes one run: kbreed report RUN [--out FILE]");
		return EXIT_USAGE;
	}
	if (parse_run_or_candidate(argv[optind], &run, &cand))
		return EXIT_USAGE;
	if (cand) {
		error("report takes a run, not a candidate: kbreed report RUN");
		return EXIT_USAGE;
	}
	if (sc.out && util_is_dir(sc.out)) {
		error("--out %s is a directory; name the file", sc.out);
		return EXIT_USAGE;
	}
	char *db = sc.db ? xstrdup(sc.db) : store_default_path(), *path = NULL;
	rc = EXIT_USAGE;
	if (report_html_write(db, run, sc.out, &path) == 0) {
		printf("report: %s\n", path);
		rc = EXIT_OK;
	}
	free(path);
	free(db);
	return rc;
}

/* kbreed show [RUN [CANDIDATE]]: what a run stored, read back (src/show.c). */
static int cmd_show(const struct command *cmd, int argc, char **argv)
{
	const char *db_flag = NULL;
	bool json = false;
	struct store *s = NULL;
	char *db = NULL;
	int run = 0, cand = 0;
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ &db_flag, &json });
	if (rc >= 0)
		return rc;
	rc = EXIT_USAGE;
	if (argc - optind > 2) {
		error("show takes a run and at most one of its candidates: kbreed show [RUN [CANDIDATE]]");
		goto out;
	}
	if ((optind < argc && parse_int(argv[optind], 1, INT_MAX, "RUN", &run)) ||
	    (optind + 1 < argc && parse_int(argv[optind + 1], 1, INT_MAX, "CANDIDATE", &cand)))
		goto out;
	/* Reading must not make an empty database where none was. */
	db = db_flag ? xstrdup(db_flag) : store_default_path();
	if (!util_file_exists(db)) {
		error("no database at %s: `kbreed run` stores its runs there, and --db PATH or "
		      "KBREED_DB names another", db);
		goto out;
	}
	s = store_open(db);
	if (!s)
		goto out;
	int shown = !run ? show_runs(s, json, stdout)
		: cand ? show_candidate(s, run, cand, json, stdout)
		: show_run(s, run, json, stdout);
	rc = shown || fflush(stdout) ? EXIT_USAGE : EXIT_OK;
out:
	store_close(s);
	free(db);
	return rc;
}

static void print_version(void)
{
	printf("kbreed %s (candidate ABI %d)\n", KBREED_VERSION, KBREED_ABI_VERSION);
}

static int cmd_version(const struct command *cmd, int argc, char **argv)
{
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ NULL });
	if (rc >= 0)
		return rc;
	if (optind < argc) {
		error("version takes no operands, not '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	print_version();
	return EXIT_OK;
}

static int cmd_help(const struct command *cmd, int argc, char **argv)
{
	int rc = cli_parse_exit(cmd, argc, argv, (void *const[]){ NULL });
	if (rc >= 0)
		return rc;
	if (argc - optind > 1) {
		error("help takes at most one command");
		return EXIT_USAGE;
	}
	if (optind == argc) {
		main_usage(stdout);
		return EXIT_OK;
	}
	const struct command *c = command_find(argv[optind]);
	if (!c) {
		error("unknown command '%s'; `kbreed --help` lists them", argv[optind]);
		return EXIT_USAGE;
	}
	command_help(c, stdout);
	return EXIT_OK;
}

#define PROBLEM_HELP \
	"PROBLEM is a suite name (see `kbreed problems`) or the path of any\n" \
	"KernelBench-format file.\n"

static const struct command commands[] = {
	{ "problems", cmd_problems, "list the built-in suite: shapes, dtypes, FLOPs, bytes",
	  "usage: kbreed problems [--json]\n"
	  "\n"
	  "Lists the built-in suite: each problem's family, inputs, output, GFLOP and\n"
	  "the fewest bytes it must move.\n",
	  { &json_group } },
	{ "eval", cmd_eval, "judge kernels against PyTorch on this GPU, in one session",
	  "usage: kbreed eval [OPTIONS] PROBLEM KERNEL.cu|SOLUTION.py [...]\n"
	  "\n"
	  "Compiles the kernels, checks them against PyTorch's outputs on several input\n"
	  "sets, times them beside PyTorch and prints a report for each. A .py file is\n"
	  "a KernelBench-style solution (class ModelNew), judged in a Python worker\n"
	  "by the same rules (docs/EVALUATION.md, Python solutions). Exit status:\n"
	  "0 every kernel correct, 1 some kernel judged not correct, 2 bad usage or\n"
	  "environment (no GPU, no torch, broken problem file).\n"
	  "\n"
	  PROBLEM_HELP,
	  { &judge_group, &json_group, &no_baseline_group } },
	{ "run", cmd_run, "breed kernels for a problem over rounds",
	  "usage: kbreed run [OPTIONS] PROBLEM\n"
	  "   or: kbreed run --resume RUN [OPTIONS]\n"
	  "   or: kbreed run --slurm --slurm-dir DIR [OPTIONS] PROBLEM [-- SBATCH OPTIONS]\n"
	  "\n"
	  "Round 0 judges the problem's naive kernel and the bank's; each later round\n"
	  "the proposer (the playbook, or a model with --llm) writes ideas for the best\n"
	  "kernels so far, each idea is realised several ways, compiled and judged.\n"
	  "The winner and a summary are written out at the end. Exit status: 0 a\n"
	  "correct kernel was found (or a dry run finished), 1 none was, 2 bad usage\n"
	  "or environment. With --slurm, the run is submitted to Slurm instead, as\n"
	  "a bench of one problem (docs/SCALE.md).\n"
	  "\n"
	  PROBLEM_HELP,
	  { &search_group, &llm_group, &judge_group, &resume_group, &run_slurm_group, &outcome_json_group } },
	{ "bench", cmd_bench, "run the suite (or some problems) and record the results",
	  "usage: kbreed bench [OPTIONS] [PROBLEM...]\n"
	  "   or: kbreed bench --slurm --slurm-dir DIR [OPTIONS] [PROBLEM...] [-- SBATCH OPTIONS]\n"
	  "\n"
	  "Runs a search (as kbreed run) for each problem, the whole suite when none is\n"
	  "named, and records the winners beside PyTorch in a JSON file: times, ratios,\n"
	  "the floor, and each winner's template, knobs, idea and donor (the bank\n"
	  "kernel its line started from); `sh bench/bench_table.sh FILE` prints it as\n"
	  "a markdown table (bench/README.md). With --out\n"
	  "DIR, each problem's winner goes to DIR/PROBLEM. On several GPUs, problems\n"
	  "run at once, one per GPU. With --slurm, a Slurm job array runs one problem\n"
	  "per task instead, each with its own database in DIR, and a final job merges\n"
	  "them (docs/SCALE.md).\n",
	  { &search_group, &llm_group, &judge_group, &results_group, &outcome_json_group } },
	{ "merge", cmd_merge, "fold databases into one: runs, candidates, evaluations, the bank",
	  "usage: kbreed merge TARGET.db SOURCE.db...\n"
	  "\n"
	  "Copies what the sources hold into the target (made when missing): runs,\n"
	  "ideas, candidates, evaluations, model calls and the bank, with ids remapped.\n"
	  "A run keeps its identity across databases: one the target has already gains\n"
	  "only what it lacks, so merging twice adds nothing, and a copy that went on\n"
	  "further (a resumed task) brings its later state. Runs that share an identity\n"
	  "but not a problem are refused. One transaction: when any source fails,\n"
	  "the target is left as it was. Exit status 2 then.\n",
	  { NULL } },
	{ "export", cmd_export, "write a run's winner (or a candidate) for PyTorch",
	  "usage: kbreed export [--db PATH] [--out DIR] RUN|cID\n"
	  "\n"
	  "Writes the winner of run RUN, or candidate ID (c42), as the standalone\n"
	  "kernel.cu with its ABI header, model_new.py (KernelBench's ModelNew: the\n"
	  "problem's Model with forward() on the kernel, built with load_inline) and\n"
	  "op/ (a PyTorch custom operator registered through torch.library, with a\n"
	  "fake implementation for torch.compile, built by its setup.py).\n"
	  "docs/EXPORT.md explains the files.\n",
	  { &export_group } },
	{ "report", cmd_report, "write a run as one HTML page: trajectory, candidates, lineage",
	  "usage: kbreed report [--db PATH] [--out FILE] RUN\n"
	  "\n"
	  "Writes one self-contained HTML file (inline SVG, no script, no network):\n"
	  "the best time per round against PyTorch eager, torch.compile and the\n"
	  "floor; every candidate by round, coloured by verdict (hover for its idea\n"
	  "and knobs); the winner's lineage with the idea on each edge; the ideas by\n"
	  "category; the winner on the roofline of the GPU.\n",
	  { &report_group } },
	{ "show", cmd_show, "a run's candidates as a table, or one candidate whole",
	  "usage: kbreed show [--db PATH] [--json] [RUN [CANDIDATE]]\n"
	  "\n"
	  "Without a run, lists the runs in the database. With one, prints its settings\n"
	  "and every candidate: round, idea, template, knobs, verdict, time and % of\n"
	  "PyTorch eager (* marks the winner). With a candidate of that run too, prints\n"
	  "where it came from, its verdict and timing, the errors and logs of its\n"
	  "judging, and its source. --json prints the same as one JSON object. Exit\n"
	  "status 2 for a database, run or candidate that does not exist.\n",
	  { &db_group, &json_group } },
	{ "describe", cmd_describe, "a problem's op graph, its family, its floor and defines",
	  "usage: kbreed describe [--json] PROBLEM\n"
	  "\n"
	  "Prints the problem's forward pass as ATen ops (captured by the bridge), the\n"
	  "family kbreed recognises in it (or the file declares), the FLOPs and bytes\n"
	  "of its floor, and the defines its templates get.\n"
	  "\n"
	  PROBLEM_HELP,
	  { &json_group } },
	{ "generate", cmd_generate, "print the naive kernel generated from a problem's op graph",
	  "usage: kbreed generate PROBLEM\n"
	  "\n"
	  "Prints the straightforward kernel (one CUDA kernel per ATen op of the\n"
	  "problem's forward) that starts a run when the problem has no naive kernel\n"
	  "of its own. Exit status 2 when the graph has an op the generator does not\n"
	  "cover (a model can take it: kbreed run --llm).\n"
	  "\n"
	  PROBLEM_HELP,
	  { NULL } },
	{ "template", cmd_template, "list the playbook's templates, or print one realised",
	  "usage: kbreed template [--for PROBLEM] [NAME [KNOB=VALUE...]]\n"
	  "\n"
	  "Without a name, lists the templates and their knobs (* marks a default).\n"
	  "With one, prints the template realised with the knobs given. A template\n"
	  "that requires defines (pointwise_vec: the graph's expression) is refused\n"
	  "for a problem that lacks them; one that does not list the problem's op is\n"
	  "realised with a warning (no search would offer it there). Settings a\n"
	  "template runs as others (its `same:` lines, listed with its knobs: conv_igemm\n"
	  "with WGMMA=1 runs BK=16 as BK=32) are realised as those, and it says so.\n",
	  { &for_group } },
	{ "compile", cmd_compile, "compile kernels through the cache",
	  "usage: kbreed compile [--arch sm_XX] [--jobs N] [--group N] KERNEL.cu...\n"
	  "\n"
	  "Compiles each kernel to a shared object through the cache and prints where\n"
	  "it is, or where the compiler's log is. Exit status: 0 all compiled, 1 some\n"
	  "did not, 2 bad usage or no compiler.\n",
	  { &compile_group } },
	{ "version", cmd_version, "print the version and the candidate ABI version",
	  "usage: kbreed version\n"
	  "   or: kbreed --version\n",
	  { NULL } },
	{ "help", cmd_help, "list the commands, or print one command's help",
	  "usage: kbreed help [COMMAND]\n"
	  "   or: kbreed COMMAND --help\n",
	  { NULL } },
};

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void main_usage(FILE *f)
{
	fprintf(f,
		"usage: kbreed [-v|-q] COMMAND [ARGS]\n"
		"   or: kbreed --help | --version\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"`kbreed COMMAND --help` prints a command's usage and options. -v says more,\n"
		"-q only errors.\n"
		"\n"
		PROBLEM_HELP
		"Environment: KBREED_PYTHON (python with torch), KBREED_DB (the store;\n"
		"default <data>/kbreed.db, <data> being $XDG_DATA_HOME/kbreed or\n"
		"~/.local/share/kbreed), KBREED_CACHE (cache directory; default\n"
		"$XDG_CACHE_HOME/kbreed or ~/.cache/kbreed), KBREED_REF_BUDGET_GB (the\n"
		"reference data's cap in GB, default 32, or off; fewer input sets are\n"
		"judged above it), KBREED_HOME (kbreed's own files; default: found beside\n"
		"the binary), KBREED_ARCH, KBREED_NVCC, KBREED_COMPILE_GROUP (candidates\n"
		"one nvcc compiles at most, 1 to 8, default 4).\n");
}

int main(int argc, char **argv)
{
	int i = 1;
	/* Past a file-size limit, writes fail with EFBIG and are reported; the
	 * default action would kill kbreed mid-write. */
	signal(SIGXFSZ, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v")) {
			log_verbosity = LOG_DEBUG;
		} else if (!strcmp(argv[i], "-q")) {
			log_verbosity = LOG_ERROR;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			main_usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			print_version();
			return EXIT_OK;
		} else {
			error("unknown option '%s'; `kbreed --help` lists the options", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	const struct command *cmd = command_find(argv[i]);
	if (!cmd) {
		error("unknown command '%s'; `kbreed --help` lists the commands", argv[i]);
		return EXIT_USAGE;
	}
	return cmd->fn(cmd, argc - i, argv + i);
}
