/*
 * slurm.h - `kbreed bench --slurm`: a bench as a Slurm job array, one task
 * per problem, each with its own database in a shared directory, and a
 * final job, dependent on the array, that folds the databases into one
 * (`kbreed merge`). kbreed writes two readable job scripts into the
 * directory, submits them with sbatch and says how to follow them (squeue,
 * sacct). A task that runs again (requeued after preemption, or the whole
 * bench submitted again after a failure or a scancel) resumes its run from
 * its database (`kbreed bench --continue`): nothing judged is judged again.
 *
 * The directory, shared by every node:
 *   problems.txt          NAME<TAB>PROBLEM, line i+1 for task i
 *   kbreed-bench.sbatch   the array
 *   kbreed-merge.sbatch   the merge, after the array (afterany)
 *   db/NAME.db            each task's database
 *   results/NAME.json     each task's bench results
 *   out/                  winners and summaries
 *   logs/                 Slurm's output of every task and of the merge
 *   kbreed.db             the merged database
 *   jobs.txt              one line per submission: its job ids
 *
 * Pipeline position: beside search, driving whole runs; it runs sbatch
 * through src/proc.h and knows nothing of the judge. docs/SCALE.md tells a
 * user how to use it.
 */
#ifndef KBREED_SLURM_H
#define KBREED_SLURM_H

struct slurm_bench {
	const char *dir;                    /* the shared directory (made when missing) */
	const char *kbreed;                 /* kbreed's absolute path, as the nodes see it */
	const char *const *problems;        /* as the user named them */
	int n_problems;
	const char *const *task_args;       /* bench options every task gets (search,
					     * judging); quoted for the shell here */
	int n_task_args;
	const char *const *sbatch_args;     /* the user's sbatch options (after --) */
	int n_sbatch_args;
};

/* The name of a problem's task files: a suite name as it is, a file's base
 * name without .py; letters, digits, '-', '_' and '.' only (caller frees). */
char *slurm_task_name(const char *problem);

/* Writes the scripts and problems.txt into sb->dir without submitting.
 * Returns 0, or -1 (reported). */
int slurm_bench_write(const struct slurm_bench *sb);

/* slurm_bench_write, then sbatch for the array and for the merge after it;
 * *array_id and *merge_id are the job ids (caller frees). Returns 0, or -1
 * (reported: no sbatch, a refusal with sbatch's words). */
int slurm_bench_submit(const struct slurm_bench *sb, char **array_id, char **merge_id);

#endif
