/*
 * llm.c - the LLM client of the "propose" stage: a prompt to a model and its
 * reply back, judged. Three providers behind one call: an OpenAI-style
 * chat-completions endpoint, the Anthropic Messages API (both over
 * src/http.c, their JSON in src/llm_json.c), and a shell command run through
 * src/proc.c with the prompt on stdin.
 *
 * What this file adds to a plain POST is the judgement of what came back and
 * the patience with endpoints that are busy: every reply ends as one status
 * (llm.h), failures that may pass (time-outs, 429, 5xx, dropped
 * connections) are retried with exponential backoff and full jitter, the
 * server's Retry-After is honoured within a bound, and failures that will
 * not pass (a bad key, no credit, a bad request) are not retried.
 *
 * The API key is read from the environment and lives only in the config and
 * in the request's headers: it is never logged, never put in an error (a
 * server that echoes it is scrubbed), and children never see it (proc.c
 * strips every variable whose name holds KEY, TOKEN or SECRET).
 */
#define _GNU_SOURCE
#include "llm.h"

#include "http.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LLM_OPENAI_URL "https://api.openai.com/v1"
#define LLM_ANTHROPIC_URL "https://api.anthropic.com/v1"
#define LLM_ANTHROPIC_VERSION "2023-06-01"
#define LLM_REPLY_CAP (4u << 20)     /* bytes of reply text kept from a command */
#define LLM_BODY_CAP (16u << 20)     /* bytes of an HTTP reply body */
#define LLM_STDERR_TAIL 500          /* bytes of a failed command's stderr in the error */
#define LLM_HOST_MAX 256

static const char *const llm_status_names[] = {
	[LLM_OK] = "ok",
	[LLM_REFUSED] = "refused",
	[LLM_EMPTY] = "empty",
	[LLM_TRUNCATED] = "truncated",
	[LLM_MALFORMED] = "malformed",
	[LLM_AUTH] = "auth",
	[LLM_QUOTA] = "quota",
	[LLM_UNAVAILABLE] = "unavailable",
	[LLM_ERROR] = "error",
};

const char *llm_status_name(enum llm_status s)
{
	if ((unsigned)s >= sizeof llm_status_names / sizeof *llm_status_names)
		return "unknown";
	return llm_status_names[s];
}

static const char *llm_provider_name(enum llm_provider p)
{
	switch (p) {
	case LLM_OPENAI:
		return "openai";
	case LLM_ANTHROPIC:
		return "anthropic";
	case LLM_CMD:
		return "cmd";
	}
	return "unknown";
}

void llm_config_init(struct llm_config *c)
{
	memset(c, 0, sizeof *c);
	c->provider = LLM_OPENAI;
	c->temperature = -1;
	c->timeout_s = 600;
	c->max_retries = 4;
	c->backoff_s = 2;
	c->backoff_max_s = 60;
}

/* Frees a secret after overwriting its bytes. */
static void llm_free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void llm_config_release(struct llm_config *c)
{
	free(c->model);
	free(c->base_url);
	free(c->command);
	llm_free_secret(c->api_key);
	free(c->reasoning_effort);
	llm_config_init(c);
}

void llm_reply_init(struct llm_reply *r)
{
	memset(r, 0, sizeof *r);
	r->status = LLM_ERROR;
}

void llm_reply_release(struct llm_reply *r)
{
	free(r->text);
	free(r->finish_reason);
	free(r->error);
	llm_reply_init(r);
}

char *llm_scrub(char *s, const char *secret)
{
	if (!s || !secret || !*secret || !strstr(s, secret))
		return s;
	size_t n = strlen(secret);
	struct buf b;
	buf_init(&b, 0);
	const char *p = s, *hit;
	while ((hit = strstr(p, secret))) {
		if (buf_append(&b, p, (size_t)(hit - p)) || buf_append(&b, "[key]", 5))
			BUG("out of memory while scrubbing a key");
		p = hit + n;
	}
	if (buf_append(&b, p, strlen(p)))
		BUG("out of memory while scrubbing a key");
	llm_free_secret(s);  /* it held the key */
	return buf_detach(&b);
}

/* The host of an http(s) URL into host (lowercase, IPv6 without brackets).
 * Returns 0, or -1 when the URL is not http(s) or its host is unreadable. */
static int llm_url_host(const char *url, char *host, size_t size)
{
	const char *p;
	if (!url)
		return -1;
	if (!strncasecmp(url, "http://", 7))
		p = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		p = url + 8;
	else
		return -1;
	size_t auth = strcspn(p, "/?#");
	/* user:password@host: the host is after the last '@' of the authority. */
	for (size_t i = auth; i > 0; i--)
		if (p[i - 1] == '@') {
			p += i;
			auth -= i;
			break;
		}
	size_t n;
	if (*p == '[') {
		const char *close = memchr(p, ']', auth);
		if (!close)
			return -1;
		p++;
		n = (size_t)(close - p);
	} else {
		n = strcspn(p, ":/?#");
		if (n > auth)
			n = auth;
	}
	if (n == 0 || n >= size)
		return -1;
	for (size_t i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[n] = '\0';
	return 0;
}

/* Whether s is a dotted quad 127.a.b.c. */
static bool llm_is_ipv4_loopback(const char *s)
{
	int parts = 0;
	const char *p = s;
	while (*p) {
		int digits = 0, v = 0;
		while (isdigit((unsigned char)*p) && digits < 4) {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return false;
		if (parts == 0 && v != 127)
			return false;
		parts++;
		if (*p == '.' && parts < 4)
			p++;
		else if (*p)
			return false;
	}
	return parts == 4;
}

bool llm_url_is_loopback(const char *url)
{
	char host[LLM_HOST_MAX];
	if (llm_url_host(url, host, sizeof host))
		return false;
	return !strcmp(host, "localhost") || !strcmp(host, "::1") || llm_is_ipv4_loopback(host);
}

/* A non-empty environment variable, or NULL. */
static const char *llm_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int llm_config_parse(const char *spec, const char *base_url, struct llm_config *c)
{
	llm_config_init(c);
	const char *colon = spec ? strchr(spec, ':') : NULL;
	if (!colon)
		return error("LLM spec '%s': expected openai:MODEL, anthropic:MODEL or cmd:COMMAND",
			     spec ? spec : "");
	size_t plen = (size_t)(colon - spec);
	const char *rest = colon + 1;
	const char *own_url, *own_key;
	if (plen == 6 && !strncmp(spec, "openai", 6)) {
		c->provider = LLM_OPENAI;
		own_url = LLM_OPENAI_URL;
		own_key = "OPENAI_API_KEY";
	} else if (plen == 9 && !strncmp(spec, "anthropic", 9)) {
		c->provider = LLM_ANTHROPIC;
		own_url = LLM_ANTHROPIC_URL;
		own_key = "ANTHROPIC_API_KEY";
	} else if (plen == 3 && !strncmp(spec, "cmd", 3)) {
		c->provider = LLM_CMD;
		if (!*rest)
			return error("LLM spec '%s': no command after cmd:", spec);
		c->command = xstrdup(rest);
		return 0;
	} else {
		return error("LLM spec '%s': unknown provider '%.*s' (openai, anthropic or cmd)", spec,
			     (int)plen, spec);
	}
	if (!*rest)
		return error("LLM spec '%s': no model after %.*s:", spec, (int)plen, spec);
	if (!http_available())
		return error("LLM spec '%s': kbreed was built without libcurl (the cmd provider "
			     "still works)", spec);
	c->model = xstrdup(rest);
	c->base_url = xstrdup(base_url && *base_url ? base_url : own_url);
	size_t n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	char host[LLM_HOST_MAX], own_host[LLM_HOST_MAX];
	if (llm_url_host(c->base_url, host, sizeof host))
		return error("LLM base URL '%s': expected http://HOST... or https://HOST...", c->base_url);
	if (llm_url_host(own_url, own_host, sizeof own_host))
		BUG("a provider's own URL does not parse");
	bool own = !strcmp(host, own_host) && !strncmp(c->base_url, "https://", 8);
	bool loopback = llm_url_is_loopback(c->base_url);
	/* Only the provider's own host gets the key named after it. */
	const char *key = own && llm_env(own_key) ? llm_env(own_key) : llm_env("KBREED_API_KEY");
	if (key) {
		c->api_key = xstrdup(key);
	} else if (!loopback) {
		return error("no API key for %s: set %s%s", c->base_url, own ? own_key : "KBREED_API_KEY",
			     own ? " or KBREED_API_KEY" : " (keys named after a provider go only to "
			     "its own host)");
	}
	if (c->api_key && !loopback && strncasecmp(c->base_url, "https://", 8))
		warn("the API key goes to %s over plain http", host);
	/* max_completion_tokens everywhere (max_tokens is deprecated, and refused
	 * by reasoning models); an old local server may know only max_tokens. */
	const char *legacy = llm_env("KBREED_LLM_LEGACY_MAX_TOKENS");
	c->legacy_max_tokens = c->provider == LLM_OPENAI && legacy && strcmp(legacy, "0");
	return 0;
}

/* Whether the config can be used at all. */
static int llm_config_check(const struct llm_config *c)
{
	if (c->provider == LLM_CMD) {
		if (!c->command || !*c->command)
			return error("LLM config: the cmd provider has no command");
	} else if (c->provider == LLM_OPENAI || c->provider == LLM_ANTHROPIC) {
		if (!c->model || !*c->model || !c->base_url || !*c->base_url)
			return error("LLM config: %s needs a model and a base URL",
				     llm_provider_name(c->provider));
		if (!http_available())
			return error("LLM config: kbreed was built without libcurl");
		int max = c->max_tokens > 0 ? c->max_tokens : 16000;
		const char *effort = c->reasoning_effort;
		long budget = llm_effort_budget(effort);
		if (c->provider == LLM_OPENAI && budget > 0)
			return error("LLM config: reasoning effort %s: a number of tokens is a thinking "
				     "budget, for Anthropic only", effort);
		if (c->provider == LLM_ANTHROPIC && budget > 0 && (budget < 1024 || budget >= max))
			return error("LLM config: a thinking budget of %ld tokens: Anthropic wants at "
				     "least 1024, and fewer than max_tokens (%d)", budget, max);
		if (c->provider == LLM_ANTHROPIC && !budget && llm_effort_thinks(effort) &&
		    !llm_effort_level(effort))
			return error("LLM config: reasoning effort '%s' for Anthropic: none, minimal, "
				     "low, medium, high, xhigh, max or a number of tokens", effort);
	} else {
		return error("LLM config: unknown provider %d", (int)c->provider);
	}
	if (c->timeout_s <= 0 || c->max_retries < 0 || c->backoff_s < 0 || c->backoff_max_s < 0)
		return error("LLM config: timeout must be positive, retries and backoff not negative");
	return 0;
}

static void llm_set_error(struct llm_reply *r, enum llm_status s, char *msg)
{
	r->status = s;
	free(r->error);
	r->error = msg;
}

/* Whether a string is only whitespace. */
static bool llm_blank(const char *s)
{
	for (; s && *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* The last n bytes of s, trimmed (caller frees). */
static char *llm_tail(const char *s, size_t n)
{
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	size_t from = len > n ? len - n : 0;
	return xasprintf("%s%.*s", from ? "..." : "", (int)(len - from), s + from);
}

/* The cmd provider: sh -c COMMAND, system and prompt on stdin, reply on
 * stdout. One attempt: a command-line client has its own retries. */
static void llm_run_command(const struct llm_config *c, const char *system, const char *prompt,
			    struct llm_reply *r)
{
	const char *argv[] = { "sh", "-c", c->command, NULL };
	char *input = system && *system ? xasprintf("%s\n\n%s", system, prompt) : xstrdup(prompt);
	/* With the network (it is a model's client), without the keys. */
	struct proc_opts o = { .argv = argv, .timeout_s = c->timeout_s, .out_cap = LLM_REPLY_CAP,
			       .stdin_data = input, .no_network = false };
	struct proc_result pr;
	proc_result_init(&pr);
	r->attempts = 1;
	if (proc_run(&o, &pr)) {
		llm_set_error(r, LLM_ERROR, xstrdup("cannot start sh for the cmd provider"));
		goto out;
	}
	char *tail = llm_tail(buf_str(&pr.err), LLM_STDERR_TAIL);
	switch (pr.end) {
	case PROC_TIMEOUT:
		llm_set_error(r, LLM_UNAVAILABLE, xasprintf("the command gave no reply within %.3g s",
							    c->timeout_s));
		break;
	case PROC_SIGNALED:
		llm_set_error(r, LLM_ERROR, xasprintf("the command was killed by signal %d%s%s",
						      pr.signal, *tail ? ": " : "", tail));
		break;
	case PROC_FAILED:
		llm_set_error(r, LLM_ERROR, xstrdup("the command could not be started"));
		break;
	case PROC_EXITED:
		if (pr.exit_code) {
			llm_set_error(r, LLM_ERROR, xasprintf("the command exited with status %d%s%s",
							      pr.exit_code, *tail ? ": " : "", tail));
		} else if (llm_blank(buf_str(&pr.out))) {
			llm_set_error(r, LLM_EMPTY, xstrdup("the command printed no reply"));
		} else if (pr.truncated) {
			/* proc_run says only that some stream passed its cap: stdout's
			 * (4 MiB) is far likelier than stderr's (1 MiB) to matter. */
			r->text = buf_detach(&pr.out);
			llm_set_error(r, LLM_TRUNCATED, xasprintf("the command's output passed its "
				"cap (%u bytes of reply, 1 MiB of stderr) and was cut", LLM_REPLY_CAP));
		} else {
			r->text = buf_detach(&pr.out);
			r->status = LLM_OK;
		}
		break;
	}
	free(tail);
out:
	proc_result_release(&pr);
	free(input);
}

/* Whether finish_reason says that the output budget ran out. */
static bool llm_budget_ran_out(const char *finish)
{
	return finish && (!strcmp(finish, "length") || !strcmp(finish, "max_tokens") ||
			  !strcmp(finish, "model_context_window_exceeded"));
}

/* Turns a decoded 2xx reply with status LLM_OK into OK, EMPTY or TRUNCATED. */
static void llm_judge_text(const struct llm_config *c, struct llm_reply *r)
{
	bool budget = llm_budget_ran_out(r->finish_reason);
	char limit[64] = "the server's default";
	if (c->max_tokens > 0)
		snprintf(limit, sizeof limit, "max_tokens %d", c->max_tokens);
	if (llm_blank(r->text)) {
		free(r->text);
		r->text = NULL;
		if (!budget) {
			llm_set_error(r, LLM_EMPTY, xasprintf("the reply has no text (finish_reason %s)",
				r->finish_reason ? r->finish_reason : "none"));
		} else if (r->reasoning_tokens > 0) {
			llm_set_error(r, LLM_EMPTY, xasprintf("the output budget (%s) ran out before any "
				"text: %ld of %ld output tokens went to reasoning; raise max_tokens or "
				"lower reasoning_effort", limit, r->reasoning_tokens, r->out_tokens));
		} else {
			llm_set_error(r, LLM_EMPTY, xasprintf("the output budget (%s) ran out before any "
				"text (finish_reason %s, %ld output tokens); raise max_tokens", limit,
				r->finish_reason, r->out_tokens));
		}
	} else if (budget) {
		llm_set_error(r, LLM_TRUNCATED, xasprintf("the output budget (%s) ran out mid-reply "
			"(finish_reason %s): the text is cut after %ld output tokens", limit,
			r->finish_reason, r->out_tokens));
	}
}

/* Whether an HTTP status is worth another attempt. */
static bool llm_status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

static bool llm_has(const char *s, const char *word)
{
	return s && strcasestr(s, word);
}

/*
 * Judges one attempt into r. Returns true when it failed in a way that may
 * pass (r->status is then LLM_UNAVAILABLE, in case no retry follows).
 */
static bool llm_judge_attempt(const struct llm_config *c, int post_rc, struct http_response *h,
			      struct llm_reply *r)
{
	r->http_status = h->status;
	r->status = LLM_ERROR;
	free(r->text);
	free(r->finish_reason);
	free(r->error);
	r->text = r->finish_reason = r->error = NULL;
	r->in_tokens = r->out_tokens = r->cached_tokens = r->reasoning_tokens = 0;
	if (post_rc) {
		/* A body cut short or too long came from a server that answered:
		 * asking again would cost a second reply, so it is recorded. */
		if (h->truncated && !h->timed_out) {
			llm_set_error(r, LLM_MALFORMED, xasprintf("malformed reply: %s", h->error));
			return false;
		}
		llm_set_error(r, LLM_UNAVAILABLE, xstrdup(h->error ? h->error : "no reply"));
		return true;
	}
	const char *body = buf_str(&h->body);
	if (h->status >= 200 && h->status < 300) {
		int rc = c->provider == LLM_ANTHROPIC ? llm_json_anthropic_reply(body, r)
						      : llm_json_openai_reply(body, r);
		if (!rc && r->status == LLM_OK)
			llm_judge_text(c, r);
		return false;
	}
	char *type = NULL, *msg = NULL;
	llm_json_api_error(body, &type, &msg);
	char *what;
	if (type || msg)
		what = xasprintf("HTTP %ld%s%s%s: %.300s", h->status, type ? " (" : "", type ? type : "",
				 type ? ")" : "", msg ? msg : "no message");
	else
		what = xasprintf("HTTP %ld: %.200s", h->status, body);
	bool retry = false;
	if (h->status == 401 || h->status == 403) {
		llm_set_error(r, LLM_AUTH, what);
	} else if (h->status == 402 || llm_has(type, "insufficient_quota") || llm_has(type, "billing") ||
		   llm_has(msg, "credit balance is too low")) {
		llm_set_error(r, LLM_QUOTA, what);
	} else if (llm_status_retryable(h->status)) {
		llm_set_error(r, LLM_UNAVAILABLE, what);
		retry = true;
	} else {
		llm_set_error(r, LLM_ERROR, what);
	}
	free(type);
	free(msg);
	return retry;
}

/* splitmix64: the jitter's random source, one state per call. */
static uint64_t llm_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Seconds before retry number `retry` (0 for the first). */
static double llm_backoff(const struct llm_config *c, int retry, const char *retry_after,
			  uint64_t *rng)
{
	if (retry_after) {
		char *end;
		errno = 0;
		double s = strtod(retry_after, &end);
		/* Seconds only; an HTTP date falls back to the jittered wait. */
		if (end != retry_after && !*end && !errno && s >= 0 && isdigit((unsigned char)*retry_after))
			return s < 4 * c->backoff_max_s ? s : 4 * c->backoff_max_s;
	}
	double ceiling = c->backoff_s * (double)(1ull << (retry < 30 ? retry : 30));
	if (ceiling > c->backoff_max_s)
		ceiling = c->backoff_max_s;
	return ceiling * (double)(llm_random(rng) >> 11) * 0x1p-53;
}

static void llm_sleep(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The request over HTTP, with its retries. */
static void llm_run_http(const struct llm_config *c, const char *system, const char *prompt,
			 struct llm_reply *r)
{
	const char *name = llm_provider_name(c->provider);
	bool anthropic = c->provider == LLM_ANTHROPIC;
	char *url = xasprintf("%s/%s", c->base_url, anthropic ? "messages" : "chat/completions");
	char *body = anthropic ? llm_json_anthropic_request(c, system, prompt)
			       : llm_json_openai_request(c, system, prompt);
	char *auth = NULL;
	if (c->api_key)
		auth = anthropic ? xasprintf("x-api-key: %s", c->api_key)
				 : xasprintf("Authorization: Bearer %s", c->api_key);
	const char *headers[4];
	int nh = 0;
	headers[nh++] = "Content-Type: application/json";
	if (anthropic)
		headers[nh++] = "anthropic-version: " LLM_ANTHROPIC_VERSION;
	if (auth)
		headers[nh++] = auth;
	headers[nh] = NULL;

	uint64_t rng = (uint64_t)(util_now() * 1e9) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)r;
	/* A model that takes no temperature (a reasoning one) answers 400 naming
	 * it: asked once more without it. The shallow copy owns nothing. */
	struct llm_config no_temp = *c;
	no_temp.temperature = -1;
	bool temp_sent = strstr(body, "\"temperature\":") != NULL;
	int retries = 0;  /* after retryable failures: the backoff's count */
	for (int attempt = 0;; attempt++) {
		struct http_response h;
		http_response_init(&h);
		r->attempts = attempt + 1;
		double t0 = util_now();
		int post_rc = http_post(url, headers, body, c->timeout_s, LLM_BODY_CAP, &h);
		bool retry = llm_judge_attempt(c, post_rc, &h, r);
		r->error = llm_scrub(r->error, c->api_key);
		debug("%s %s: attempt %d: %s in %.2f s%s%s", name, c->model, attempt + 1,
		      llm_status_name(r->status), util_now() - t0, r->error ? ": " : "",
		      r->error ? r->error : "");
		double wait = retry ? llm_backoff(c, retries, h.retry_after, &rng) : 0;
		bool drop_temp = !post_rc && h.status == 400 && temp_sent &&
				 llm_json_error_names(buf_str(&h.body), "temperature");
		http_response_release(&h);
		if (drop_temp) {
			info("%s %s: the model refuses the temperature; asking again without it",
			     name, c->model);
			free(body);
			body = anthropic ? llm_json_anthropic_request(&no_temp, system, prompt)
					 : llm_json_openai_request(&no_temp, system, prompt);
			temp_sent = false;
			continue;
		}
		if (!retry)
			break;
		if (retries >= c->max_retries) {
			char *last = r->error;
			r->error = xasprintf("gave up after %d attempts; the last: %s", attempt + 1,
					     last ? last : "no reply");
			free(last);
			break;
		}
		retries++;
		info("%s %s: %s; retry %d of %d in %.1f s", name, c->model, r->error ? r->error : "failed",
		     retries, c->max_retries, wait);
		llm_sleep(wait);
	}
	free(url);
	free(body);
	llm_free_secret(auth);
}

int llm_complete(const struct llm_config *c, const char *system, const char *prompt,
		 struct llm_reply *r)
{
	llm_reply_release(r);
	if (!prompt)
		BUG("llm_complete without a prompt");
	if (llm_config_check(c))
		return -1;
	if (c->provider == LLM_CMD)
		llm_run_command(c, system, prompt, r);
	else
		llm_run_http(c, system, prompt, r);
	r->error = llm_scrub(r->error, c->api_key);
	r->text = llm_scrub(r->text, c->api_key);
	return 0;
}
