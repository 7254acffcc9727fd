/*
 * export.h - a stored kernel taken back into PyTorch (`kbreed export`).
 *
 * After the search: the winner of a run, or any candidate, written out as
 *
 *   kernel.cu, kbreed_candidate.h   the standalone kernel and its ABI header
 *   model_new.py                    KernelBench's format: class ModelNew(Model),
 *                                   the kernel built with load_inline
 *   op/                             a PyTorch custom operator (torch.library,
 *                                   with a fake implementation), built by
 *                                   setup.py
 *   README.md                       what each file is and how to use it
 *
 * The Python and C++ skeletons live in <home>/export/ (the .py files and
 * export/launch.cpp); docs/EXPORT.md explains them.
 */
#ifndef KBREED_EXPORT_H
#define KBREED_EXPORT_H

#include <stdint.h>

struct export_request {
	const char *db_path;   /* the store */
	int64_t run;           /* export this run's winner, or (0) ... */
	int64_t candidate;     /* ... this candidate */
	const char *out_dir;   /* NULL: kbreed-out/<problem>-run<N>/export-c<ID> */
};

struct export_result {
	char *dir;             /* where the files went; owned */
	char *problem;         /* the problem's name; owned */
	int64_t run, candidate;
	char *verdict;         /* the candidate's verdict ("not judged" when none); owned */
	double median_ms;      /* as judged; 0 when not timed */
};

void export_result_release(struct export_result *r);

/* Writes the export described by req. Returns 0, or -1 reported (no such
 * run or candidate, a run without a winner, the problem file gone, a file
 * that cannot be written). */
int export_write(const struct export_request *req, struct export_result *out);

#endif
