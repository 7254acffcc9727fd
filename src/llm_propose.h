/*
 * llm_propose.h - the LLM proposer's pure half, part of the "propose" stage:
 * prompts filled from templates (prompts/NAME.md), and a model's replies
 * turned back into ideas and CUDA candidates. Nothing here
 * talks to a network; src/llm.c carries the prompts and brings the replies.
 *
 * The steps, each a prompt with {slot} placeholders:
 *   ideas      problem, GPU, floor, seeds, history -> a ```json list of ideas
 *   realize    problem, ABI header, parent(s), one idea -> one ```cuda file
 *   repair     a failed file and its report -> the corrected file
 *   recombine  two parents and their ideas -> one file combining them
 * A reply is model output: every function here takes garbage without
 * crashing and says why it got nothing out of it.
 */
#ifndef KBREED_LLM_PROPOSE_H
#define KBREED_LLM_PROPOSE_H

#include <stdint.h>

/*
 * Reads <dir>/<name>.md, where dir is $KBREED_PROMPTS when set, else
 * <home>/prompts ("ideas", "realize", "repair", "recombine"). A leading
 * <!-- ... --> comment (the template's notes for maintainers) is left out,
 * so that its slot names are not filled and sent. *text: caller frees.
 * Returns 0, or -1 (reported) when the file cannot be read.
 */
int llm_prompt_load(const char *name, char **text);

/*
 * tmpl with every "{key}" replaced by its value, for the n pairs keys[i],
 * values[i] (a NULL value counts as ""). One pass: text coming from a value
 * is never filled again. "{x}" for an x not among the keys is left as it is
 * (JSON examples in the prompts rely on it). Returns the text (caller
 * frees), or NULL (reported) when it would exceed 16 MiB.
 */
char *llm_prompt_fill(const char *tmpl, const char *const *keys, const char *const *values, int n);

/* "- memory access\n- asynchronous ...\n": the six categories of
 * idea_categories, as the ideas prompt's {categories} (caller frees). */
char *llm_categories_text(void);

/* A seed as the ideas prompt shows it. */
struct llm_seed {
	int64_t id;            /* the candidate's id in the store */
	double median_ms;      /* its median time; <= 0 when not timed (a dry run) */
	double pct_eager;      /* 100 * eager_ms / median_ms: 250 is 2.5x faster */
	double pct_floor;      /* 100 * floor_ms / median_ms; <= 0 when unknown */
	const char *idea;      /* the idea that made it; NULL or "" for round 0 */
	const char *source;    /* its CUDA source */
};

/* The {seeds} text: per seed a heading with its numbers, its idea and its
 * source in a ```cuda block (caller frees). */
char *llm_seeds_text(const struct llm_seed *seeds, int n);

/* An idea tried before, with what came of it. */
struct llm_tried {
	const int64_t *parents;   /* the seed ids it was applied to */
	int n_parents;
	const char *category;
	const char *idea;         /* its English */
	const char *outcome;      /* as the caller puts it: "best 0.41 ms, 1.3x its
				   * parent", "all 4 realisations incorrect" ... */
};

/* The {history} text: one bullet per idea, "(none yet)" for n == 0
 * (caller frees). */
char *llm_history_text(const struct llm_tried *tried, int n);

/* One idea read from a reply. */
struct llm_idea {
	char *category;       /* owned; one of idea_categories, as spelt there */
	char *text;           /* owned; the idea in English */
	int64_t parents[2];   /* seed ids named by the model; not checked against
			       * the seeds here (the caller knows them) */
	int n_parents;        /* 0, 1 or 2 */
};

void llm_idea_release(struct llm_idea *i);

/*
 * Reads the ideas in an "ideas" reply. The JSON is the first ```json fenced
 * block, else the first top-level [ ... ] span of the reply (preferring a '['
 * that opens a list of objects); it must be a list of objects, or an object
 * whose "ideas" member is one. Each object gives "category" (matched against
 * the six categories, ignoring case and surrounding blanks), "idea" (or
 * "text") and "parents" (a list; integers and all-digit strings are read,
 * anything else ignored, at most the first two kept). Entries with an
 * unknown category or an empty idea are dropped, and at most max are kept.
 *
 * out: room for max ideas; *n of them are filled (caller releases each).
 * *why (caller frees) is NULL when every entry was taken, else it says what
 * was not and why: "no JSON list in the reply", "the JSON list is not valid
 * JSON (...)", "2 dropped: unknown category 'memory'", "3 beyond the limit
 * of 8" ... Returns 0 whatever the reply holds (*n may be 0); -1 only for
 * bad arguments.
 */
int llm_parse_ideas(const char *reply, int max, struct llm_idea *out, int *n, char **why);

/*
 * Takes the candidate source out of a realize, repair or recombine reply:
 * the LAST fenced block tagged cuda, cu, c++ or cpp that contains
 * "kbreed_forward"; when no tagged block does, the last untagged one that
 * does. An unterminated last block (a reply cut short) counts as a block.
 *
 * The source is completed where the model forgot the ABI's boilerplate:
 * without "kbreed_candidate.h" an #include "kbreed_candidate.h" line is put
 * first; without KBREED_CANDIDATE_ABI (and no hand-written
 * kbreed_abi_version) that macro is put on its own line right after the
 * include line. Both are harmless to a correct file and save a compile
 * round-trip for a common slip.
 *
 * Returns 0 with *source (caller frees); or -1 with *why (caller frees):
 * "no code block in the reply" or "the code defines no kbreed_forward".
 * Prints nothing.
 */
int llm_extract_source(const char *reply, char **source, char **why);

#endif
