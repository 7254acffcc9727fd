/*
 * main.c - the kbreed command line. Reads like the pipeline:
 *
 *   problem (bridge_describe) -> compile (compile_batch) -> evaluate
 *   (bridge_reference, bridge_baseline, evaluator_run) -> report
 *
 * Exit codes: 0 success (for eval: the candidate is correct), 1 the
 * candidate was judged and is not correct, 2 bad usage or a broken
 * environment (no GPU, no torch, unreadable problem).
 */
#define _GNU_SOURCE
#include "bridge.h"
#include "recognize.h"
#include "compare.h"
#include "compile.h"
#include "evaluate.h"
#include "judge.h"
#include "home.h"
#include "log.h"
#include "problem.h"
#include "policy.h"
#include "proc.h"
#include "report.h"
#include "sandbox.h"
#include "search.h"
#include "store.h"
#include "template.h"
#include "util.h"

#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KBREED_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_JUDGED = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kbreed [-v|-q] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  problems [--json]           list the built-in suite: shapes, dtypes, FLOPs, bytes\n"
		"  eval PROBLEM KERNEL.cu...   judge candidates against PyTorch on this GPU, one session\n"
		"      [--json] [--tolerance strict|crfm] [--sets N] [--reps N] [--warmup N]\n"
		"      [--timeout SECONDS] [--arch sm_XX] [--torch-compile] [--no-baseline]\n"
		"      [--allow-libraries]  (else cuBLAS, cuDNN, dlopen ... are rejected)\n"
		"  run PROBLEM                 breed kernels over rounds (the playbook proposer)\n"
		"      [--rounds R] [--ideas I] [--impls K] [--keep S] [--seed N] [--resume RUN]\n"
		"      [--tolerance strict|crfm] [--db PATH] [--out DIR] [--max-minutes M]\n"
		"      [--max-candidates N] [--no-bank] [--torch-compile] [--dry-run]\n"
		"      [eval's --sets/--reps/...]; --dry-run proposes, realises and compiles only\n"
		"      [--llm openai:MODEL|anthropic:MODEL|cmd:COMMAND] [--llm-code SPEC]\n"
		"      [--llm-base-url URL] [--reasoning-effort E] [--max-output-tokens N]\n"
		"      [--temperature T] [--max-cost USD] [--max-tokens N]\n"
		"      [--llm-concurrency N] [--llm-repairs N] [--llm-timeout S]   (docs/LLM.md)\n"
		"  bench [PROBLEM...]          run the suite (or a subset) and record the results\n"
		"      [run's options] [--results FILE]\n"
		"  template [NAME [KNOB=V...]] list the playbook's templates, or print one realised\n"
		"      [--for PROBLEM]  (adds the problem's KBREED_DEFINES: strides, windows)\n"
		"  compile KERNEL.cu...        compile candidates through the cache\n"
		"      [--arch sm_XX] [--jobs N]\n"
		"  version\n"
		"\n"
		"PROBLEM is a suite name (see `kbreed problems`) or the path of any\n"
		"KernelBench-format file. Environment: KBREED_PYTHON (python with torch),\n"
		"KBREED_CACHE (cache directory), KBREED_DB (the store), KBREED_ARCH, KBREED_NVCC.\n");
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

static bool valid_arch(const char *a)
{
	return a && !strncmp(a, "sm_", 3) && strlen(a) >= 5 && strlen(a) < 12;
}

/* kbreed describe PROBLEM [--json]: the op graph, the family (declared or
 * recognised), the floor's inputs and the defines. */
static int cmd_describe(int argc, char **argv)
{
	bool json = argc == 3 && !strcmp(argv[2], "--json");
	int rc = EXIT_USAGE;
	struct problem p;
	struct recognition r;
	char *path = NULL, *text = NULL;
	problem_init(&p);
	recognition_init(&r);
	if (argc < 2 || argc > 3 || (argc == 3 && !json)) {
		error("usage: kbreed describe PROBLEM [--json]");
		goto out;
	}
	path = problem_resolve(argv[1]);
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

static int cmd_problems(int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			{
			error("problems: unknown option %s", argv[i]);
			return EXIT_USAGE;
		}
	}
	int rc = EXIT_OK;
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

static int parse_int(const char *s, int lo, int hi, const char *what, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < lo || v > hi)
		return error("%s must be an integer from %d to %d, not '%s'", what, lo, hi, s);
	*out = (int)v;
	return 0;
}

static int cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "arch", required_argument, NULL, 'a' },
		{ "jobs", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *arch_flag = NULL;
	int jobs = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'a')
			arch_flag = optarg;
		else if (c == 'j' && !parse_int(optarg, 1, 1024, "--jobs", &jobs))
			continue;
		else
			return EXIT_USAGE;
	}
	if (optind >= argc) {
		error("compile: name at least one .cu file");
		return EXIT_USAGE;
	}
	struct gpu_info g = { 0 };
	const char *arch = pick_arch(arch_flag, NULL);
	if (!arch && gpu_info_query(&g) == 0)
		arch = pick_arch(NULL, &g);
	if (!valid_arch(arch)) {
		error("no compile target: no GPU detected; pass --arch sm_XX or set KBREED_ARCH");
		gpu_info_release(&g);
		return EXIT_USAGE;
	}
	int n = argc - optind;
	struct compile_job *j = xcalloc((size_t)n, sizeof *j);
	for (int i = 0; i < n; i++)
		j[i].source = argv[optind + i];
	struct compile_opts o = { .arch = arch, .jobs = jobs };
	int rc = compile_batch(j, n, &o) ? EXIT_USAGE : EXIT_OK;
	for (int i = 0; i < n; i++) {
		printf("%s: %s%s (%.1f s) %s\n", j[i].source,
		       j[i].ok ? "ok" : j[i].timed_out ? "timeout" : "compile_error",
		       j[i].cached ? ", cached" : "", j[i].seconds, j[i].ok ? j[i].so_path : j[i].log_path ? j[i].log_path : "");
		if (!j[i].ok && rc == EXIT_OK)
			rc = EXIT_JUDGED;
		compile_job_release(&j[i]);
	}
	free(j);
	gpu_info_release(&g);
	return rc;
}

/* Judges kernel files against a problem in one session: every kernel
 * through the judge's one order of checks, each verdict printed as it comes.
 * Exit: 0 when every kernel is correct, 1 when one is not, 2 when kbreed
 * could not judge. */
static int eval_kernels(const char *problem_arg, const char *const *kernels, int n,
			const struct judge_opts *jo, bool json)
{
	int rc = EXIT_USAGE, got = 0, index;
	struct judge j;
	struct judge_batch *batch = NULL;
	bool all_correct = true, opened = false;
	char *path = problem_resolve(problem_arg);
	if (!path)
		goto out;
	for (int i = 0; i < n; i++)
		if (!util_file_exists(kernels[i])) {
			error("kernel file %s does not exist or cannot be read", kernels[i]);
			goto out;
		}
	if (judge_open(&j, path, jo))
		goto out;
	opened = true;
	if (judge_prepare(&j))
		goto out;
	batch = judge_batch_start(&j, kernels, n);
	if (json && n > 1)
		printf("[\n");
	for (int i = 0; i < n; i++) {
		struct judgement o;
		if ((got = judge_batch_next(batch, &index, &o)) <= 0)
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

static int cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "tolerance", required_argument, NULL, 't' },
		{ "sets", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "arch", required_argument, NULL, 'a' },
		{ "torch-compile", no_argument, NULL, 'C' },
		{ "no-baseline", no_argument, NULL, 'N' },
		{ "allow-libraries", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct eval_opts eo;
	eval_opts_defaults(&eo);
	bool json = false, torch_compile = false, baseline_on = true;
	const char *arch_flag = NULL;
	int c, v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'J': json = true; break;
		case 'C': torch_compile = true; break;
		case 'N': baseline_on = false; break;
		case 'A': eo.allow_libraries = true; break;
		case 'a': arch_flag = optarg; break;
		case 't':
			if ((v = tolerance_parse(optarg)) < 0) {
				error("--tolerance must be strict or crfm, not '%s'", optarg);
				return EXIT_USAGE;
			}
			eo.tolerance = (enum tolerance_profile)v;
			break;
		case 's': if (parse_int(optarg, 1, 16, "--sets", &eo.sets)) return EXIT_USAGE; break;
		case 'r': if (parse_int(optarg, 20, 100000, "--reps", &eo.reps)) return EXIT_USAGE; break;
		case 'w': if (parse_int(optarg, 0, 100000, "--warmup", &eo.warmup)) return EXIT_USAGE; break;
		case 'T': if (parse_int(optarg, 1, 86400, "--timeout", &v)) return EXIT_USAGE;
			eo.timeout_s = v; break;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		error("eval takes a problem and kernels: kbreed eval PROBLEM KERNEL.cu [KERNEL.cu...]");
		return EXIT_USAGE;
	}
	struct judge_opts jo = { .eval = eo, .arch = arch_flag, .baseline = baseline_on,
				 .torch_compile = torch_compile };
	return eval_kernels(argv[optind], (const char *const *)argv + optind + 1, argc - optind - 1, &jo, json);
}

/* Options shared by run and bench. Returns 0, or EXIT_USAGE after a message. */
static int parse_search(int argc, char **argv, struct search_opts *so, const char **results,
			bool allow_resume)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'R' },
		{ "ideas", required_argument, NULL, 'I' },
		{ "impls", required_argument, NULL, 'K' },
		{ "keep", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'e' },
		{ "resume", required_argument, NULL, 'u' },
		{ "tolerance", required_argument, NULL, 't' },
		{ "db", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "results", required_argument, NULL, 'x' },
		{ "max-minutes", required_argument, NULL, 'm' },
		{ "max-candidates", required_argument, NULL, 'c' },
		{ "no-bank", no_argument, NULL, 'B' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "llm", required_argument, NULL, 'L' },
		{ "llm-code", required_argument, NULL, 'M' },
		{ "llm-base-url", required_argument, NULL, 'U' },
		{ "reasoning-effort", required_argument, NULL, 'E' },
		{ "max-output-tokens", required_argument, NULL, 'O' },
		{ "temperature", required_argument, NULL, 'P' },
		{ "max-cost", required_argument, NULL, 'Q' },
		{ "max-tokens", required_argument, NULL, 'Z' },
		{ "llm-concurrency", required_argument, NULL, 'Y' },
		{ "llm-repairs", required_argument, NULL, 'X' },
		{ "llm-timeout", required_argument, NULL, 'W' },
		{ "allow-libraries", no_argument, NULL, 'A' },
		{ "torch-compile", no_argument, NULL, 'C' },
		{ "sets", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "arch", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	int c, v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'R': if (parse_int(optarg, 0, 100, "--rounds", &so->rounds)) return EXIT_USAGE;
			so->given |= SEARCH_GIVEN_ROUNDS; break;
		case 'I': if (parse_int(optarg, 1, 256, "--ideas", &so->ideas)) return EXIT_USAGE;
			so->given |= SEARCH_GIVEN_IDEAS; break;
		case 'K': if (parse_int(optarg, 1, 64, "--impls", &so->impls)) return EXIT_USAGE;
			so->given |= SEARCH_GIVEN_IMPLS; break;
		case 'S': if (parse_int(optarg, 1, 64, "--keep", &so->keep)) return EXIT_USAGE;
			so->given |= SEARCH_GIVEN_KEEP; break;
		case 'e': if (parse_int(optarg, 0, 1 << 30, "--seed", &so->seed)) return EXIT_USAGE;
			so->given |= SEARCH_GIVEN_SEED; break;
		case 'u':
			if (!allow_resume) {
				error("--resume belongs to kbreed run");
				return EXIT_USAGE;
			}
			if (parse_int(optarg, 1, 1 << 30, "--resume", &v)) return EXIT_USAGE;
			so->resume = v;
			break;
		case 't':
			if ((v = tolerance_parse(optarg)) < 0) {
				error("--tolerance must be strict or crfm, not '%s'", optarg);
				return EXIT_USAGE;
			}
			so->eval.tolerance = (enum tolerance_profile)v;
			so->given |= SEARCH_GIVEN_TOLERANCE;
			break;
		case 'd': so->db_path = optarg; break;
		case 'o': so->out_dir = optarg; break;
		case 'x':
			if (!results) {
				error("--results belongs to kbreed bench");
				return EXIT_USAGE;
			}
			*results = optarg;
			break;
		case 'm': if (parse_int(optarg, 1, 100000, "--max-minutes", &v)) return EXIT_USAGE;
			so->max_minutes = v; break;
		case 'c': if (parse_int(optarg, 1, 10000000, "--max-candidates", &so->max_candidates)) return EXIT_USAGE; break;
		case 'B': so->use_bank = false; break;
		case 'D': so->dry_run = true; break;
		case 'L': so->llm = optarg; break;
		case 'M': so->llm_code = optarg; break;
		case 'U': so->llm_base_url = optarg; break;
		case 'E': so->reasoning_effort = optarg; break;
		case 'O': if (parse_int(optarg, 1, 10000000, "--max-output-tokens", &so->max_output_tokens)) return EXIT_USAGE; break;
		case 'P': {
			char *end;
			so->temperature = strtod(optarg, &end);
			if (*end || so->temperature < 0 || so->temperature > 2) {
				error("--temperature must be a number from 0 to 2, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'Q': {
			char *end;
			so->max_cost = strtod(optarg, &end);
			if (*end || so->max_cost <= 0) {
				error("--max-cost must be a positive number of dollars, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'Y': if (parse_int(optarg, 1, 256, "--llm-concurrency", &so->llm_concurrency)) return EXIT_USAGE; break;
		case 'X': if (parse_int(optarg, 0, 10, "--llm-repairs", &so->llm_repairs)) return EXIT_USAGE; break;
		case 'A': so->eval.allow_libraries = true; break;
		case 'W': if (parse_int(optarg, 1, 86400, "--llm-timeout", &v)) return EXIT_USAGE;
			so->llm_timeout_s = v; break;
		case 'Z': if (parse_int(optarg, 1, 2000000000, "--max-tokens", &v)) return EXIT_USAGE;
			so->max_tokens = v; break;
		case 'C': so->torch_compile = true; break;
		case 's': if (parse_int(optarg, 1, 16, "--sets", &so->eval.sets)) return EXIT_USAGE; break;
		case 'r': if (parse_int(optarg, 20, 100000, "--reps", &so->eval.reps)) return EXIT_USAGE; break;
		case 'w': if (parse_int(optarg, 0, 100000, "--warmup", &so->eval.warmup)) return EXIT_USAGE; break;
		case 'T': if (parse_int(optarg, 1, 86400, "--timeout", &v)) return EXIT_USAGE;
			so->eval.timeout_s = v; break;
		case 'a':
			if (!valid_arch(optarg)) {
				error("--arch wants sm_XX, not '%s'", optarg);
				return EXIT_USAGE;
			}
			so->arch = optarg;
			break;
		default: return EXIT_USAGE;
		}
	}
	return 0;
}

/* Lists the templates and their knobs, or prints one realised. */
static int cmd_template(int argc, char **argv)
{
	struct template *t = NULL;
	int n = 0, rc = EXIT_USAGE;
	const char *for_problem = NULL;
	struct problem p;
	problem_init(&p);
	/* --for PROBLEM may come anywhere after the name. */
	int argn = 0;
	char **args = xmalloc((size_t)argc * sizeof *args);
	for (int i = 0; i < argc; i++) {
		if (i > 0 && !strcmp(argv[i], "--for")) {
			if (i + 1 >= argc) {
				error("--for needs a problem");
				free(args);
				return EXIT_USAGE;
			}
			for_problem = argv[++i];
		} else {
			args[argn++] = argv[i];
		}
	}
	if (template_load_all(&t, &n))
		goto out;
	if (argn < 2) {
		for (int i = 0; i < n; i++) {
			printf("%s (family %s, serves %s)\n", t[i].name, t[i].family, t[i].problems);
			for (int k = 0; k < t[i].n_knobs; k++) {
				printf("  %-16s [", t[i].knobs[k].name);
				for (int v = 0; v < t[i].knobs[k].n_values; v++)
					printf("%s%d%s", v ? " " : "", t[i].knobs[k].values[v],
					       t[i].knobs[k].values[v] == t[i].knobs[k].def ? "*" : "");
				printf("]  %s\n", t[i].knobs[k].what);
			}
		}
		rc = EXIT_OK;
		goto out;
	}
	const struct template *one = template_find(t, n, args[1]);
	if (!one) {
		error("no template named '%s'; `kbreed template` lists them", args[1]);
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
	struct buf knobs;
	buf_init(&knobs, 1u << 16);
	for (int i = 2; i < argn; i++)
		buf_printf(&knobs, "%s%s", i > 2 ? " " : "", args[i]);
	struct genome g;
	if (genome_parse(&g, one, buf_str(&knobs)) == 0) {
		char *src = genome_realize(&g, p.defines);
		fputs(src, stdout);
		free(src);
		rc = EXIT_OK;
	}
	buf_release(&knobs);
out:
	problem_release(&p);
	free(args);
	template_free_all(t, n);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	struct search_opts so;
	search_opts_defaults(&so);
	char *db = store_default_path();
	so.db_path = db;
	int rc = parse_search(argc, argv, &so, NULL, true);
	if (rc)
		goto out;
	rc = EXIT_USAGE;
	if (so.resume ? argc - optind > 1 : argc - optind != 1) {
		error(so.resume ? "run --resume RUN takes no problem, or the run's own" : "run takes one problem: kbreed run PROBLEM");
		goto out;
	}
	struct search_outcome res;
	if (search_run(&so, optind < argc ? argv[optind] : NULL, &res) == 0) {
		if (so.dry_run)
			printf("dry run %lld: %d candidates proposed and compiled, none judged\n",
			       (long long)res.run, res.candidates);
		else if (res.winner)
			printf("winner: %s\n  %.4f ms = %.0f%% of PyTorch eager (%.4f ms), %.0f%% of the floor, found in round %d\n",
			       res.winner_path, res.best_ms, res.pct_eager, res.eager_ms, res.pct_floor, res.round_found);
		else
			printf("no correct kernel was found\n");
		printf("summary: %s\n", res.summary_path ? res.summary_path : "(none)");
		rc = res.winner || so.dry_run ? EXIT_OK : EXIT_JUDGED;
	}
	search_outcome_release(&res);
out:
	free(db);
	return rc;
}

static int cmd_bench(int argc, char **argv, const char *command)
{
	struct search_opts so;
	search_opts_defaults(&so);
	char *db = store_default_path();
	so.db_path = db;
	const char *results = NULL;
	int rc = parse_search(argc, argv, &so, &results, false);
	if (rc) {
		free(db);
		return rc;
	}
	const char *const *names = (const char *const *)argv + optind;
	int n = argc - optind;
	if (n == 0) {
		names = problem_suite;
		while (problem_suite[n])
			n++;
	}
	struct bench_row *rows = xcalloc((size_t)n, sizeof *rows);
	struct gpu_info g = { 0 };
	if (gpu_info_query(&g)) {
		error("kbreed bench needs an NVIDIA GPU");
		rc = EXIT_USAGE;
		goto out;
	}
	const char *out_base = so.out_dir;
	for (int i = 0; i < n; i++) {
		struct search_outcome res;
		char *out_dir = out_base ? xasprintf("%s/%s", out_base, names[i]) : NULL;
		so.out_dir = out_dir;
		info("bench %d/%d: %s", i + 1, n, names[i]);
		rows[i].problem = names[i];
		rows[i].tolerance = tolerance_name(so.eval.tolerance);
		if (search_run(&so, names[i], &res) == 0 && res.winner) {
			rows[i].ok = true;
			rows[i].eager_ms = res.eager_ms;
			rows[i].compile_ms = res.compile_ms;
			rows[i].best_ms = res.best_ms;
			rows[i].pct_eager = res.pct_eager;
			rows[i].pct_compile = res.pct_compile;
			rows[i].pct_floor = res.pct_floor;
			rows[i].round_found = res.round_found;
			rows[i].pass_strict = res.pass_strict;
			rows[i].pass_crfm = res.pass_crfm;
		} else {
			rc = EXIT_JUDGED;
		}
		search_outcome_release(&res);
		free(out_dir);
	}
	char date[16];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
	char *safe = xstrdup(g.name);
	for (char *c = safe; *c; c++)
		if (!isalnum((unsigned char)*c))
			*c = '-';
	char *path = results ? xstrdup(results) : xasprintf("%s/bench/results/%s-%s.json", home_dir(), date, safe);
	char *json = report_bench_json(g.name, date, command, rows, n);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if ((slash && util_mkdirs(dir)) || util_write_file(path, json, strlen(json)))
		rc = EXIT_USAGE;
	printf("| problem | eager ms | compile ms | best ms | %% of eager | %% of compile | %% of floor | round |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < n; i++)
		if (rows[i].ok)
			printf("| %s | %.4f | %.4f | %.4f | %.1f | %.1f | %.1f | %d |\n", rows[i].problem,
			       rows[i].eager_ms, rows[i].compile_ms, rows[i].best_ms, rows[i].pct_eager,
			       rows[i].pct_compile, rows[i].pct_floor, rows[i].round_found);
		else
			printf("| %s | no correct kernel | | | | | | |\n", rows[i].problem);
	printf("results: %s\n", path);
	free(dir);
	free(json);
	free(path);
	free(safe);
out:
	gpu_info_release(&g);
	free(rows);
	free(db);
	return rc;
}

int main(int argc, char **argv)
{
	int i = 1;
	/* Past a file-size limit, writes fail with EFBIG and are reported; the
	 * default action would kill kbreed mid-write. */
	signal(SIGXFSZ, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			log_verbosity = LOG_DEBUG;
		else if (!strcmp(argv[i], "-q"))
			log_verbosity = LOG_ERROR;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			error("unknown option %s", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[i];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "describe"))
		return cmd_describe(argc, argv);
	if (!strcmp(cmd, "problems"))
		return cmd_problems(argc, argv);
	if (!strcmp(cmd, "eval"))
		return cmd_eval(argc, argv);
	if (!strcmp(cmd, "compile"))
		return cmd_compile(argc, argv);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "template"))
		return cmd_template(argc, argv);
	if (!strcmp(cmd, "bench")) {
		struct buf command;
		buf_init(&command, 1u << 16);
		buf_printf(&command, "kbreed");
		for (int k = 0; k < argc; k++)
			buf_printf(&command, " %s", argv[k]);
		int rc = cmd_bench(argc, argv, buf_str(&command));
		buf_release(&command);
		return rc;
	}
	if (!strcmp(cmd, "version")) {
		printf("kbreed %s (candidate ABI %d)\n", KBREED_VERSION, KBREED_ABI_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	error("unknown command '%s'", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
