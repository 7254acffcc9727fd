/*
 * show.h - what a run left in the store, as people and tools read it
 * (`kbreed show`): the database's runs, one run's candidates as a table, one
 * candidate whole (source, verdict, errors, logs); each also as JSON. And
 * the outcome of a search as one JSON object (`kbreed run --json`).
 *
 * After the search (search.c) has stored everything; reads only.
 */
#ifndef KBREED_SHOW_H
#define KBREED_SHOW_H

#include "search.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Every run of the database, one line each (or a JSON list). 0, or -1
 * after a message. */
int show_runs(struct store *s, bool json, FILE *f);
/* A run: its settings and PyTorch's time, then its candidates as a table
 * (round, idea, template, knobs, verdict, time, % of eager), or one JSON
 * object {"run": {...}, "candidates": [...]}. 0, or -1 after a message
 * (no such run). */
int show_run(struct store *s, int64_t run, bool json, FILE *f);
/* One candidate of a run: where it came from (round, idea, parents,
 * template, knobs), its verdict and timing, the errors and logs of its
 * judging, and its source; or one JSON object {"run": {...}, "candidate":
 * {...}}. 0, or -1 after a message (no such run, no such candidate, or a
 * candidate of another run). */
int show_candidate(struct store *s, int64_t run, int64_t candidate, bool json, FILE *f);

/* A search's outcome as one JSON object (caller frees): the run, its
 * status, the winner and its timing beside PyTorch's, the files written. */
char *show_outcome_json(const struct search_outcome *o, bool dry_run);

#endif
