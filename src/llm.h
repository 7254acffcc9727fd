/*
 * llm.h - the LLM client of the "propose" stage: one prompt in, one reply
 * out, from an OpenAI-style chat-completions endpoint (OpenAI, Gemini, vLLM,
 * llama.cpp, Ollama, ...), the Anthropic Messages API, or a shell command.
 *
 * A reply always comes back with a status that says what it is worth
 * (a refusal, an empty or cut reply, an endpoint that is down ...), so that
 * the proposer can record it and go on; only a programming or configuration
 * error fails a call. docs/LLM.md is the user's side of this file.
 */
#ifndef KBREED_LLM_H
#define KBREED_LLM_H

#include <stdbool.h>

enum llm_provider {
	LLM_OPENAI,     /* POST {base_url}/chat/completions */
	LLM_ANTHROPIC,  /* POST {base_url}/messages */
	LLM_CMD,        /* sh -c COMMAND, prompt on stdin, reply on stdout */
};

struct llm_config {
	enum llm_provider provider;
	char *model;             /* as the endpoint names it; NULL for cmd */
	char *base_url;          /* no trailing '/'; NULL for cmd */
	char *command;           /* cmd only: the shell command */
	char *api_key;           /* from the environment only; never logged, stored or
				  * passed to children; NULL when none (loopback, cmd) */
	double temperature;      /* < 0: not sent */
	int max_tokens;          /* output budget, reasoning included; 0: not sent
				  * (Anthropic requires one: 16000 then) */
	bool legacy_max_tokens;  /* OpenAI style: send the deprecated "max_tokens"
				  * rather than "max_completion_tokens", for old
				  * servers that know only it; set by
				  * KBREED_LLM_LEGACY_MAX_TOKENS=1, else false */
	char *reasoning_effort;  /* "low", "medium", "high" ...; NULL: not sent */
	double timeout_s;        /* one attempt, from connect to the reply's last byte */
	int max_retries;         /* further attempts after a retryable failure */
	double backoff_s;        /* first retry waits up to this long (full jitter) */
	double backoff_max_s;    /* no jittered wait exceeds this; Retry-After is
				  * honoured up to 4 times this */
};

/* Sets the defaults: timeout 600 s, 4 retries, backoff 2 s up to 60 s,
 * temperature and max_tokens not sent. Owns nothing yet. */
void llm_config_init(struct llm_config *c);
/* Frees the strings (the key's bytes are wiped first) and re-initialises. */
void llm_config_release(struct llm_config *c);

/*
 * Reads a provider spec, "openai:MODEL", "anthropic:MODEL" or "cmd:COMMAND"
 * (the model name may itself hold ':'), into c, which is initialised first
 * (llm_config_init) and must be released by the caller even on failure.
 * base_url: NULL for the provider's own (https://api.openai.com/v1,
 * https://api.anthropic.com/v1); ignored for cmd.
 *
 * The API key comes from the environment only. At the provider's own host:
 * OPENAI_API_KEY (openai) or ANTHROPIC_API_KEY (anthropic), else
 * KBREED_API_KEY. At any other base URL: KBREED_API_KEY only, so that a key
 * named for one company is never sent to another's server. No key is an
 * error unless base_url is on loopback (localhost, 127.0.0.0/8, ::1), where
 * local servers need none. Returns 0, or -1 with the reason reported.
 */
int llm_config_parse(const char *spec, const char *base_url, struct llm_config *c);

/* Whether a URL's host is loopback: localhost, 127.0.0.0/8 or [::1]. */
bool llm_url_is_loopback(const char *url);

enum llm_status {
	LLM_OK,           /* text holds the whole reply */
	LLM_REFUSED,      /* the model declined (OpenAI message.refusal or finish_reason
			   * "content_filter"; Anthropic stop_reason "refusal") */
	LLM_EMPTY,        /* no text; with finish_reason "length", the budget ran out first */
	LLM_TRUNCATED,    /* the output budget (or the command's output cap) cut the
			   * text; text holds what came */
	LLM_MALFORMED,    /* a 2xx reply that is not what the API promises (not JSON,
			   * fields missing, or the connection cut it short); not retried */
	LLM_AUTH,         /* 401 or 403: the key is wrong or lacks access; not retried */
	LLM_QUOTA,        /* 402, or an error whose type says insufficient_quota or
			   * billing; not retried */
	LLM_UNAVAILABLE,  /* retries exhausted on time-outs, 408, 409, 429, 5xx or
			   * connection errors; or the command timed out */
	LLM_ERROR,        /* any other 4xx; the command failed or could not start */
};

/* Its name as in logs and the store: "ok", "refused", "empty", ... */
const char *llm_status_name(enum llm_status s);

struct llm_reply {
	enum llm_status status;
	char *text;             /* the reply's text (LLM_OK, LLM_TRUNCATED), else NULL */
	char *finish_reason;    /* as the endpoint said it ("stop", "length",
				 * "end_turn", "max_tokens" ...), or NULL */
	long in_tokens;         /* prompt tokens, cached ones included (Anthropic's
				 * input + cache read + cache creation) */
	long out_tokens;        /* output tokens, reasoning included */
	long cached_tokens;     /* prompt tokens read from the provider's cache */
	long reasoning_tokens;  /* of out_tokens, spent on hidden reasoning (OpenAI only) */
	long http_status;       /* of the last attempt; 0 when none arrived or cmd */
	int attempts;           /* requests made (1 + retries) */
	char *error;            /* what went wrong, for the log (never the key), or NULL */
};

void llm_reply_init(struct llm_reply *r);
void llm_reply_release(struct llm_reply *r);

/*
 * Asks the model: system (may be NULL) sets the role, prompt is the request.
 * Retries time-outs, connection errors, 408, 409, 429 and 5xx up to
 * c->max_retries times, waiting a random time in [0, min(backoff_max_s,
 * backoff_s * 2^retry)] (full jitter), or the server's Retry-After in seconds
 * (at most 4 * backoff_max_s) when it sends one. The command provider is
 * never retried.
 *
 * Returns 0 when the call was made, whatever r->status says (r is released
 * and refilled); -1 only on a bad configuration (reported). Thread-safe for
 * distinct replies.
 */
int llm_complete(const struct llm_config *c, const char *system, const char *prompt,
		 struct llm_reply *r);

/* Replaces every occurrence of secret in s (in place, NUL-terminated, owned
 * by the caller) by "[key]"; s may grow, so it is reallocated. Returns s. */
char *llm_scrub(char *s, const char *secret);

/* The client's JSON (llm_json.c): request bodies, replies and error bodies
 * of the two wire formats, and the price table. */

/* Reasoning efforts (c->reasoning_effort). Whether one asks for reasoning:
 * set, and not "none". */
bool llm_effort_thinks(const char *effort);
/* An effort written as a number of tokens ("8000"): that number, the budget
 * of Anthropic's budgeted thinking; 0 for anything else. */
long llm_effort_budget(const char *effort);
/* Anthropic's adaptive-thinking effort for a named one: minimal and low ->
 * "low", medium -> "medium", high -> "high", xhigh and max -> "max"; NULL
 * for any other name. */
const char *llm_effort_level(const char *effort);

/* The body of an OpenAI-style chat-completions request: system (omitted
 * when NULL or empty) and prompt as messages, with the output budget
 * (max_completion_tokens, or max_tokens when legacy_max_tokens) and
 * reasoning_effort when the config sets them, and temperature when set and
 * no reasoning is asked for (caller frees). */
char *llm_json_openai_request(const struct llm_config *c, const char *system, const char *prompt);
/* The body of an Anthropic Messages request (caller frees). max_tokens is
 * always sent (16000 when the config has none). A named reasoning effort
 * becomes adaptive thinking, {"type": "adaptive"} with output_config.effort
 * from llm_effort_level; a number of tokens becomes budgeted thinking,
 * {"type": "enabled", "budget_tokens": N}. With thinking, no temperature. */
char *llm_json_anthropic_request(const struct llm_config *c, const char *system, const char *prompt);
/* Fill r->text, finish_reason and the token counts from a 2xx reply body,
 * and r->status with LLM_OK, or LLM_REFUSED (error = the refusal). Return 0;
 * or -1 with r->status LLM_MALFORMED and r->error saying what is wrong (a
 * snippet of the body included). Token counts that are absent or not numbers
 * read as 0; each is clamped to [0, 10^15]. Print nothing. */
int llm_json_openai_reply(const char *body, struct llm_reply *r);
int llm_json_anthropic_reply(const char *body, struct llm_reply *r);
/* Reads an endpoint's error body: OpenAI's {"error": {type, code, message}},
 * Anthropic's {"type": "error", "error": {type, message}}, vLLM's top-level
 * {type, message}, Ollama's {"error": "..."} and Gemini's [{"error": {status,
 * message}}]. *type becomes "TYPE" or "TYPE/CODE" and *message the message,
 * each NULL when absent (caller frees). Returns 0 when either was found. */
int llm_json_api_error(const char *body, char **type, char **message);

/* Whether an error body names a request parameter: OpenAI's error.param
 * is it, or the error's message mentions it ("Unsupported value:
 * 'temperature' ..."). */
bool llm_json_error_names(const char *body, const char *param);

/* Prices of one model-name prefix, USD per million tokens. */
struct price {
	char *prefix;     /* owned */
	double in, cached_in, out;
};

/* Parses playbook/prices.json: {"PREFIX": {"in": x, "cached_in": y, "out": z}, ...};
 * keys starting with '_' are comments; cached_in defaults to in. *prices
 * (caller frees each prefix and the array) holds *n entries, also on failure. */
int llm_json_prices(const char *json, struct price **prices, int *n);

#endif
