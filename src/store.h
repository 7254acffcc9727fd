/*
 * store.h - the store stage: one SQLite database (WAL) holding runs, ideas,
 * candidates, evaluations and the bank of known-good kernels. Every write is
 * its own transaction, committed as it happens, so a run killed at any moment
 * keeps everything it finished. Schema: docs/SCHEMA.md.
 */
#ifndef KBREED_STORE_H
#define KBREED_STORE_H

#include "verdict.h"

#include <stdbool.h>
#include <stdint.h>

struct store;

/* Where a run stands. Stored as its name, so the database reads plainly. */
enum run_state {
	RUN_RUNNING,   /* "running": started, or killed before it ended; resumable */
	RUN_DONE,      /* "done": every round judged and the winner re-timed */
	RUN_STOPPED,   /* "stopped": a budget (minutes, candidates, cost) ended it; resumable */
	RUN_FAILED,    /* "failed": ended by an error it could not survive */
	RUN_DRY_RUN,   /* "dry_run": proposed and compiled only; never resumed */
};

/* The stored name of a state ("running", ..., "dry_run"). */
const char *run_state_name(enum run_state st);
/* The state named name, or -1 when it names none. */
int run_state_parse(const char *name);

struct run_row {
	int64_t id;
	char *problem;        /* name */
	char *problem_path;
	char *problem_sha;    /* of the problem file */
	char *proposer;       /* "playbook" or "llm:..." */
	int rounds, ideas, impls, keep, seed;
	char *tolerance;      /* "strict" or "crfm" */
	char *gpu;
	char *arch;
	double eager_ms;      /* PyTorch eager at the start of the run */
	double compile_ms;    /* torch.compile, 0 when not measured */
	enum run_state status;
	int64_t winner;       /* candidate id, 0 when none */
	double final_ms;      /* the winner re-timed at the end */
	double final_eager_ms;/* PyTorch re-timed beside it */
	char *uid;            /* its identity in every database (32 hex digits); set by
			       * store_run_create and store_run_get */
	char *started;        /* "YYYY-MM-DD HH:MM:SS" UTC, as read back; NULL before */
};

struct idea_row {
	int64_t id, run;
	int round;
	char *catalog_id;     /* the playbook entry, or "llm" */
	char *category;       /* one of the six CRFM categories */
	char *text;           /* the idea in English, facts filled in */
	int64_t parent1, parent2;  /* candidate ids; 0 when absent */
};

struct cand_row {
	int64_t id, run;
	int round;
	int64_t idea;                 /* 0 for seeds (naive, bank) */
	int64_t parent1, parent2;     /* 0 when absent */
	char *origin;                 /* "naive", "bank", "playbook", "llm" */
	char *template_name;          /* "" for hand-written sources */
	char *knobs;                  /* "VEC=4 THREADS=256", "" when none */
	char *source;                 /* the complete .cu; the search drops it once written */
	char sha[65];                 /* of source */
	/* Filled when an evaluation exists. */
	bool evaluated;
	enum verdict verdict;         /* when evaluated */
	char *detail;
	double median_ms;             /* 0 unless timed */
	double pct_eager, pct_floor;
	bool early;                   /* timing stopped early (adaptive): median_ms is of
				       * fewer calls, and it ranks after every fully timed one */
};

struct eval_row {
	enum verdict verdict;
	const char *detail, *log;
	bool pass_strict, pass_crfm, timed;
	double max_abs, max_rel;
	double median_ms, min_ms, max_ms, host_ms;
	int reps, warmup, sets, flush_mb;
	double pct_eager, pct_floor, floor_ms;
	const char *gpu;              /* the model it was timed on */
	const char *device;           /* which of the host's GPUs (its CUDA_VISIBLE_DEVICES
	                               * entry, "0" ...); NULL when the only one */
	int sm_clock, mem_clock;
	double compile_s, eval_s;
	bool early;                   /* adaptive timing stopped after `reps` timed calls */
	double cutoff_ms;             /* the cutoff it was judged under; 0: none */
};

/* An evaluation as read back: the row, whose strings point into the
 * record's own copies. */
struct eval_record {
	struct eval_row row;
	char *detail, *log, *gpu;     /* owned; row.detail, row.log, row.gpu point here */
	char *device;                 /* owned; row.device points here ("" when not recorded) */
};

struct bank_row {
	int64_t id;
	char *problem, *family, *template_name, *knobs, *source, *gpu;
	double median_ms, pct_eager;
	int64_t run;
};

/* One request to a model, as the LLM proposer made it. Keys are never here. */
struct llm_call_row {
	int64_t run;
	int round;
	const char *kind;          /* "ideas", "realize" */
	const char *model;         /* "openai:gpt-4o", ... */
	const char *prompt_sha;    /* SHA-256 of model, system prompt and prompt */
	const char *prompt;
	const char *reply;         /* NULL when none came */
	const char *status;        /* llm_status_name(), "cached", or "budget" */
	const char *error;
	long in_tokens, out_tokens, cached_tokens, reasoning_tokens;
	double cost_usd;
	int attempts;
};

/* The schema this kbreed writes, kept in PRAGMA user_version. Version 1 is
 * the schema of the first kbreed (user_version 0, meta.schema_version 1);
 * store_open migrates it. */
#define STORE_SCHEMA_VERSION 4

/* Opens (creating when needed) the database at path. Returns NULL on failure,
 * reported with the path and the reason. Before anything is written it
 * refuses: an empty path, a file that is not SQLite, a SQLite database that
 * kbreed did not make, one from a newer kbreed, and a damaged one (PRAGMA
 * quick_check). A database of an older schema is migrated in one
 * transaction. Foreign keys are enforced on every connection. */
struct store *store_open(const char *path);
/* Releases the run lock this store holds, if any, and closes. NULL is a no-op. */
void store_close(struct store *s);
/* The default database path (caller frees): $KBREED_DB, else kbreed.db in
 * the data directory (util_data_dir()). A database an older kbreed left in
 * <cache>/kbreed.db is moved there once, WAL and all, with a message; while
 * it cannot be moved (another kbreed has it open) it is used where it is.
 * When both exist, the data directory's is used and the old one is left as
 * it is, said each time: nothing is merged, nothing removed. */
char *store_default_path(void);

int store_run_create(struct store *s, struct run_row *r);   /* sets r->id */
int store_run_get(struct store *s, int64_t id, struct run_row *r);
int store_run_update(struct store *s, const struct run_row *r);
/* Every run of the database, oldest first (caller releases each and frees). */
int store_runs(struct store *s, struct run_row **rows, int *n);
void run_row_release(struct run_row *r);
/* Takes the lock of a run for this process until store_close: refused
 * (-1, reported with the holder's pid) while another live process, or
 * another store in this one, holds it. A lock left by a dead process is
 * taken over. Taking it again through the same store is a no-op. */
int store_run_lock(struct store *s, int64_t run);

int store_idea_put(struct store *s, struct idea_row *i);    /* sets i->id */
int store_ideas_of_run(struct store *s, int64_t run, struct idea_row **rows, int *n);
void idea_row_release(struct idea_row *i);

/* Stores a candidate; when the run already holds the same source, sets
 * c->id to that one and *dup to true instead. */
int store_candidate_put(struct store *s, struct cand_row *c, bool *dup);
/* Every candidate of a run, oldest first, with its evaluation if any. */
int store_candidates_of_run(struct store *s, int64_t run, struct cand_row **rows, int *n);
/* One candidate of any run (c->run says which), with its evaluation's
 * summary if any and its source. -1 after a message when there is none. */
int store_candidate_get(struct store *s, int64_t id, struct cand_row *c);
void cand_row_release(struct cand_row *c);
/* The source of one candidate (caller frees), or NULL (reported). */
char *store_candidate_source(struct store *s, int64_t id);

/* The run a candidate belongs to. Returns 0, or -1 reported (no such candidate). */
int store_candidate_run(struct store *s, int64_t id, int64_t *run);

int store_eval_put(struct store *s, int64_t candidate, const struct eval_row *e);
/* A candidate's evaluation, every column: 0, 1 when it has none (not judged
 * yet), -1 after a message. Release with eval_record_release. */
int store_eval_get(struct store *s, int64_t candidate, struct eval_record *e);
void eval_record_release(struct eval_record *e);
/* The detail and log of a candidate's evaluation, as one report (caller frees). */
char *store_eval_report(struct store *s, int64_t candidate);

int store_llm_call_put(struct store *s, const struct llm_call_row *c);
/* The reply of an earlier successful call with this prompt hash (caller
 * frees), or NULL: a resumed run does not pay twice. */
char *store_llm_cached(struct store *s, const char *prompt_sha);
/* Tokens (in + out) and cost of a run's calls so far. */
int store_llm_totals(struct store *s, int64_t run, long *tokens, double *cost);

int store_bank_put(struct store *s, const struct bank_row *b);

/* What store_merge brought into the target. */
struct store_merge_counts {
	int runs;            /* runs new to the target */
	int runs_advanced;   /* runs the target had, whose source copy was further along */
	int ideas, candidates, evaluations, bank, llm_calls;  /* rows added (bank: or made faster) */
};

/*
 * Folds the databases at sources[0..n) into s: runs, ideas, candidates,
 * evaluations, the bank and the model calls, with ids remapped, in one
 * transaction: on any failure (a source that cannot be opened, a conflict)
 * nothing is written, and s is as it was. Each source is opened as
 * store_open does (and so migrated to this schema when it is older).
 *
 * A run is known by its uid, which it keeps across databases: a run the
 * target has already gains only the rows it lacks (candidates by source,
 * ideas by round and text, evaluations by candidate), and takes the
 * source's state (status, winner, final times) when the source's copy was
 * updated later. Merging the same database twice adds nothing. Two runs
 * with one uid but another problem or other fixed settings are a conflict:
 * the merge is refused. Bank rows are one per (problem, GPU, source); the
 * faster time is kept. counts may be NULL. Returns 0, or -1 (reported).
 */
int store_merge(struct store *s, const char *const *sources, int n, struct store_merge_counts *counts);
/* The latest run of the problem at problem_path in the store, in r (caller
 * releases). Returns 1 when there is one, 0 when none, -1 on error (reported). */
int store_run_latest(struct store *s, const char *problem_path, struct run_row *r);
/* Bank kernels for a problem, or for any of the space-separated families, on
 * a GPU: the problem's own first, then fastest first. */
int store_bank_for(struct store *s, const char *problem, const char *family, const char *gpu,
		   struct bank_row **rows, int *n);
void bank_row_release(struct bank_row *b);

#endif
