/*
 * codec.h - JSON in and out. The one file that includes the JSON library:
 * it turns the bridge's replies into kbreed's structs and kbreed's results
 * into JSON for --json and for bench files.
 */
#ifndef KBREED_CODEC_H
#define KBREED_CODEC_H

#include "bridge.h"
#include "problem.h"

#include <stdbool.h>

struct eval_report;

/* When json is {"error": "..."}, returns the message (caller frees); else NULL. */
char *codec_error_message(const char *json);

/* Fills a problem's description from describe's reply (path untouched). */
int codec_problem(const char *json, struct problem *p);
/* Fills r from a manifest and checks its tensors against the problem's. */
int codec_manifest(const char *json, const struct problem *p, struct refset *r);
int codec_baseline(const char *json, struct baseline *b);
int codec_ceilings(const char *json, struct ceilings *c);

/* One eval report as a JSON object (caller frees). */
char *codec_report_json(const struct eval_report *r);



/* One problem's line in a bench file. */
struct bench_row {
	const char *problem;
	const char *tolerance;
	bool ok;                 /* a correct kernel was found */
	double eager_ms, compile_ms, best_ms;
	double pct_eager, pct_compile, pct_floor;  /* 250 means 2.5x faster */
	int round_found;
	bool pass_strict, pass_crfm;  /* the winner's values under each profile */
};

/* {"gpu", "date", "command", "results": [...]} (caller frees). */
char *codec_bench_json(const char *gpu, const char *date, const char *command,
		       const struct bench_row *rows, int n);

/* Prices of one model-name prefix, USD per million tokens. */
struct price {
	char *prefix;
	double in, cached_in, out;
};

/* Parses playbook/prices.json: {"PREFIX": {"in": x, "cached_in": y, "out": z}, ...};
 * keys starting with '_' are comments. */
int codec_prices(const char *json, struct price **prices, int *n);

struct idea_def;
/* Parses the playbook's idea catalogue: a JSON list of objects with string
 * fields id, category, text, families, from, to, set, vary. */
int codec_catalog(const char *json, struct idea_def **defs, int *n);

/* The LLM client's wire formats (src/llm.c). */
struct llm_config;
struct llm_reply;
/* The body of an OpenAI-style chat-completions request: system (omitted
 * when NULL or empty) and prompt as messages, with temperature, the output
 * budget and reasoning_effort when the config sets them (caller frees). */
char *codec_openai_request(const struct llm_config *c, const char *system, const char *prompt);
/* The body of an Anthropic Messages request (caller frees). max_tokens is
 * always sent (16000 when the config has none); reasoning_effort becomes
 * extended thinking with a budget of 1/4 (minimal, low), 1/2 (medium, other)
 * or 3/4 (high) of it, at least 1024 tokens, and then no temperature. */
char *codec_anthropic_request(const struct llm_config *c, const char *system, const char *prompt);
/* Fill r->text, finish_reason and the token counts from a 2xx reply body,
 * and r->status with LLM_OK, or LLM_REFUSED (error = the refusal). Return 0;
 * or -1 with r->status LLM_MALFORMED and r->error saying what is wrong (a
 * snippet of the body included). Print nothing. */
int codec_openai_reply(const char *body, struct llm_reply *r);
int codec_anthropic_reply(const char *body, struct llm_reply *r);
/* Reads an endpoint's error body: OpenAI's {"error": {type, code, message}},
 * Anthropic's {"type": "error", "error": {type, message}}, vLLM's top-level
 * {type, message}, Ollama's {"error": "..."} and Gemini's [{"error": {status,
 * message}}]. *type becomes "TYPE" or "TYPE/CODE" and *message the message,
 * each NULL when absent (caller frees). Returns 0 when either was found. */
int codec_api_error(const char *body, char **type, char **message);

/* The LLM proposer's list of ideas (src/llm_propose.c). */
struct llm_idea;
/* Reads json, a list of objects (or an object whose "ideas" member is one),
 * into *ideas (caller releases each and frees the array), one entry per
 * element in order: category and text (from "idea", else "text") copied as
 * given, NULL when absent or not strings (and both NULL for an element that
 * is not an object); parents from "parents", integers and all-digit strings
 * only, the first two. Returns 0; or -1 with *why (caller frees) when json
 * is not valid JSON or holds no such list. Prints nothing: the text is a
 * model's. */
int codec_llm_ideas(const char *json, struct llm_idea **ideas, int *n, char **why);

#endif
