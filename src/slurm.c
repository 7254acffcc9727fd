/*
 * slurm.c - a bench as a Slurm job array (slurm.h): the two job scripts,
 * written to be read, and their submission through sbatch, the merge after
 * the array. Slurm does the scheduling; kbreed only writes what each task
 * runs: `kbreed bench --continue` on its own problem and database.
 */
#define _GNU_SOURCE
#include "slurm.h"

#include "log.h"
#include "proc.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

char *slurm_task_name(const char *problem)
{
	const char *base = strrchr(problem, '/');
	base = base ? base + 1 : problem;
	size_t len = strlen(base);
	if (len > 3 && !strcmp(base + len - 3, ".py"))
		len -= 3;
	char *name = xasprintf("%.*s", (int)len, base);
	for (char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
			*c = '_';
	if (!*name || *name == '.') {
		free(name);
		name = xstrdup("problem");
	}
	return name;
}

/* s as one word for sh: as it is when it holds nothing sh would read,
 * else in single quotes (' becomes '\''). */
static void quote(struct buf *b, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+.,:/@%") == strlen(s)) {
		buf_printf(b, "%s", s);
		return;
	}
	buf_printf(b, "'");
	for (; *s; s++)
		buf_printf(b, *s == '\'' ? "'\\''" : "%c", *s);
	buf_printf(b, "'");
}

/* A problem as a task will name it: a file by its absolute path (the task
 * runs elsewhere), a suite name as it is. */
static char *task_problem(const char *problem)
{
	if (!util_file_exists(problem) || problem[0] == '/')
		return xstrdup(problem);
	char *abs = realpath(problem, NULL);
	return abs ? abs : xstrdup(problem);
}

static int write_text(const char *path, const char *text)
{
	if (util_write_file(path, text, strlen(text)))
		return error("cannot write %s", path);
	return 0;
}

int slurm_bench_write(const struct slurm_bench *sb)
{
	int rc = -1;
	char **names = xcalloc((size_t)sb->n_problems + 1, sizeof *names);
	struct buf list, bench, merge, opts;
	buf_init(&list, 16u << 20);
	buf_init(&bench, 16u << 20);
	buf_init(&merge, 1u << 20);
	buf_init(&opts, 1u << 20);
	const char *sub[] = { "db", "results", "out", "logs" };
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		char *d = xasprintf("%s/%s", sb->dir, sub[i]);
		int m = util_mkdirs(d);
		free(d);
		if (m)
			goto out;
	}
	/* One line per task; two problems of one name get -2, -3 ... */
	for (int i = 0; i < sb->n_problems; i++) {
		char *name = slurm_task_name(sb->problems[i]), *problem = task_problem(sb->problems[i]);
		for (int k = 2, clash = 1; clash; k++) {
			clash = 0;
			for (int p = 0; p < i; p++)
				clash |= !strcmp(names[p], name);
			if (clash) {
				char *base = slurm_task_name(sb->problems[i]);
				free(name);
				name = xasprintf("%s-%d", base, k);
				free(base);
			}
		}
		if (strchr(problem, '\t') || strchr(problem, '\n')) {
			error("--slurm: the problem '%s' has a tab or a newline in its name", problem);
			free(name);
			free(problem);
			goto out;
		}
		names[i] = name;
		buf_printf(&list, "%s\t%s\n", name, problem);
		free(problem);
	}
	for (int i = 0; i < sb->n_task_args; i++) {
		buf_printf(&opts, " ");
		quote(&opts, sb->task_args[i]);
	}
	buf_printf(&bench,
		   "#!/bin/sh\n"
		   "# kbreed bench on Slurm, written by `kbreed bench --slurm`: one array task per\n"
		   "# problem of problems.txt (task i runs line i+1), each with a database of its\n"
		   "# own in db/. A task that runs again (requeued after preemption, or the bench\n"
		   "# submitted again after a failure or a scancel) resumes its run from that\n"
		   "# database with --continue: what it judged is kept, not judged again.\n"
		   "# kbreed-merge.sbatch folds the databases into kbreed.db after the array.\n"
		   "# The sbatch options given to kbreed are on sbatch's command line (jobs.txt).\n"
		   "#SBATCH --job-name=kbreed-bench\n"
		   "#SBATCH --array=0-%d\n"
		   "#SBATCH --output=%s/logs/bench-%%A_%%a.out\n"
		   "#SBATCH --requeue\n"
		   "set -eu\n"
		   "dir=", sb->n_problems - 1, sb->dir);
	quote(&bench, sb->dir);
	buf_printf(&bench, "\nline=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$dir/problems.txt\")\n"
		   "name=$(printf '%%s\\n' \"$line\" | cut -f1)\n"
		   "problem=$(printf '%%s\\n' \"$line\" | cut -f2-)\n"
		   "echo \"kbreed task $SLURM_ARRAY_TASK_ID: $problem on $(hostname)"
		   " (GPUs: ${CUDA_VISIBLE_DEVICES:-none set})\"\n"
		   "exec ");
	quote(&bench, sb->kbreed);
	buf_printf(&bench, " bench --continue --db \"$dir/db/$name.db\" --out \"$dir/out\" \\\n"
		   "\t--results \"$dir/results/$name.json\"%s \"$problem\"\n", buf_str(&opts));
	buf_printf(&merge,
		   "#!/bin/sh\n"
		   "# kbreed bench on Slurm: after the array (whatever its tasks' ends), folds\n"
		   "# every task's database into kbreed.db. Merging is idempotent: run again\n"
		   "# after the tasks were resumed, it adds only what is new.\n"
		   "#SBATCH --job-name=kbreed-merge\n"
		   "#SBATCH --output=%s/logs/merge-%%j.out\n"
		   "set -eu\n"
		   "dir=", sb->dir);
	quote(&merge, sb->dir);
	buf_printf(&merge, "\nset --\n"
		   "for db in \"$dir\"/db/*.db; do\n"
		   "\t[ -e \"$db\" ] && set -- \"$@\" \"$db\"\n"
		   "done\n"
		   "[ $# -gt 0 ] || { echo \"no task left a database in $dir/db\" >&2; exit 1; }\n"
		   "exec ");
	quote(&merge, sb->kbreed);
	buf_printf(&merge, " merge \"$dir/kbreed.db\" \"$@\"\n");
	char *p_list = xasprintf("%s/problems.txt", sb->dir), *p_bench = xasprintf("%s/kbreed-bench.sbatch", sb->dir),
	     *p_merge = xasprintf("%s/kbreed-merge.sbatch", sb->dir);
	rc = write_text(p_list, buf_str(&list)) || write_text(p_bench, buf_str(&bench)) ||
	     write_text(p_merge, buf_str(&merge)) ? -1 : 0;
	free(p_list);
	free(p_bench);
	free(p_merge);
out:
	for (int i = 0; i < sb->n_problems; i++)
		free(names[i]);
	free(names);
	buf_release(&list);
	buf_release(&bench);
	buf_release(&merge);
	buf_release(&opts);
	return rc;
}

/* A GPU request, which the merge job does not need. */
static bool asks_for_gpus(const char *arg)
{
	return !strncmp(arg, "--gres", 6) || !strncmp(arg, "--gpus", 6) || !strncmp(arg, "-G", 2) ||
	       !strncmp(arg, "--gpu", 5);
}

/* Runs sbatch --parsable with args then script; the job id into *id. */
static int sbatch(const struct slurm_bench *sb, const char *dependency, const char *script, char **id)
{
	const char **argv = xcalloc((size_t)sb->n_sbatch_args + 6, sizeof *argv);
	const char *env[64];
	int n = 0, ne = 0, rc = -1;
	argv[n++] = "sbatch";
	argv[n++] = "--parsable";
	if (dependency)
		argv[n++] = dependency;
	for (int i = 0; i < sb->n_sbatch_args; i++) {
		/* An option's value given apart (--gres gpu:1) goes with it. */
		const char *a = sb->sbatch_args[i];
		bool drop = dependency && asks_for_gpus(a);
		if (!drop)
			argv[n++] = a;
		if (drop && !strchr(a, '=') && a[1] == '-' && i + 1 < sb->n_sbatch_args &&
		    sb->sbatch_args[i + 1][0] != '-')
			i++;
	}
	argv[n++] = script;
	/* sbatch's own settings pass; the tasks get this environment (KBREED_*
	 * and the rest a child of kbreed may see). */
	for (char **e = environ; *e && ne < 63; e++)
		if (!strncmp(*e, "SLURM_CONF=", 11) || !strncmp(*e, "SBATCH_", 7))
			env[ne++] = *e;
	env[ne] = NULL;
	struct proc_opts o = { .argv = argv, .timeout_s = 300, .env = env };
	struct proc_result r;
	proc_result_init(&r);
	if (proc_run(&o, &r) || r.end != PROC_EXITED) {
		error("cannot run sbatch (is Slurm's client installed, and on PATH?)");
		goto out;
	}
	if (r.exit_code != 0) {
		error("sbatch refused %s: %s", script, buf_str(&r.err));
		goto out;
	}
	const char *o_text = buf_str(&r.out);
	size_t len = strspn(o_text, "0123456789_");
	if (!len) {
		error("sbatch printed no job id for %s: %s", script, o_text);
		goto out;
	}
	*id = xasprintf("%.*s", (int)len, o_text);
	rc = 0;
out:
	proc_result_release(&r);
	free(argv);
	return rc;
}

int slurm_bench_submit(const struct slurm_bench *sb, char **array_id, char **merge_id)
{
	*array_id = *merge_id = NULL;
	if (slurm_bench_write(sb))
		return -1;
	char *bench = xasprintf("%s/kbreed-bench.sbatch", sb->dir), *merge = xasprintf("%s/kbreed-merge.sbatch", sb->dir);
	char *dep = NULL, *jobs = NULL;
	int rc = -1;
	if (sbatch(sb, NULL, bench, array_id))
		goto out;
	dep = xasprintf("--dependency=afterany:%s", *array_id);
	if (sbatch(sb, dep, merge, merge_id)) {
		error("the array %s was submitted; merge its databases by hand when it ends: kbreed merge %s/kbreed.db %s/db/*.db",
		      *array_id, sb->dir, sb->dir);
		goto out;
	}
	/* What was submitted when, with which sbatch options. */
	struct buf line;
	buf_init(&line, 1u << 20);
	char date[32];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", gmtime(&now));
	buf_printf(&line, "%s UTC array %s merge %s sbatch", date, *array_id, *merge_id);
	for (int i = 0; i < sb->n_sbatch_args; i++) {
		buf_printf(&line, " ");
		quote(&line, sb->sbatch_args[i]);
	}
	buf_printf(&line, "\n");
	jobs = xasprintf("%s/jobs.txt", sb->dir);
	FILE *f = fopen(jobs, "a");
	if (!f || fputs(buf_str(&line), f) == EOF)
		warn("cannot record the job ids in %s", jobs);
	if (f)
		fclose(f);
	buf_release(&line);
	rc = 0;
out:
	free(bench);
	free(merge);
	free(dep);
	free(jobs);
	return rc;
}
