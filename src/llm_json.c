/*
 * llm_json.c - the LLM client's JSON, through jansson: the request bodies and
 * replies of the two wire formats (OpenAI-style chat completions and
 * Anthropic Messages), endpoints' error bodies, and the price table
 * (playbook/prices.json). The pure half of the client: llm.c talks, this
 * file encodes and decodes.
 */
#include "llm.h"

#include "json_text.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The wire formats. Replies from model endpoints are data from
 * outside: nothing here prints, every field is checked for its type, and a
 * body that is not what the API promises becomes LLM_MALFORMED with a short
 * snippet of it in the reply's error. */

#define LLM_JSON_SNIPPET 200
#define LLM_JSON_ANTHROPIC_MAX_TOKENS 16000
#define LLM_JSON_MAX_TOKENS 1000000000000000L  /* 10^15: a clamp, no real reply nears it */

/* The first bytes of a body for an error message, on one line (caller frees). */
static char *llm_json_snippet(const char *body)
{
	size_t n = strlen(body);
	bool cut = n > LLM_JSON_SNIPPET;
	char *s = xmalloc(LLM_JSON_SNIPPET + 4);
	memcpy(s, body, cut ? LLM_JSON_SNIPPET : n);
	s[cut ? LLM_JSON_SNIPPET : n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if (cut)
		strcat(s, "...");
	return s;
}

static int llm_json_malformed(struct llm_reply *r, const char *body, const char *what)
{
	char *snip = llm_json_snippet(body);
	free(r->error);
	r->error = xasprintf("malformed reply: %s: %s", what, snip);
	r->status = LLM_MALFORMED;
	free(snip);
	return -1;
}

/* A token count from an object's field: 0 when absent or not a number, and
 * clamped to [0, LLM_JSON_MAX_TOKENS] (a real is truncated), so that a wild
 * value (1e300, a negative) neither overflows the cast nor the sums of counts
 * made from it. */
static long llm_json_tokens(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	double x = 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		return i < 0 ? 0 : i > LLM_JSON_MAX_TOKENS ? LLM_JSON_MAX_TOKENS : (long)i;
	}
	if (json_is_real(v))
		x = json_real_value(v);
	if (!(x > 0))
		return 0;
	return x >= (double)LLM_JSON_MAX_TOKENS ? LLM_JSON_MAX_TOKENS : (long)x;
}

static void llm_json_set_text_json(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, json_text(s));
}

static char *llm_json_dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		BUG("json_dumps failed on a request");
	char *out = xstrdup(s);
	free(s);
	return out;
}

static json_t *llm_json_message(const char *role, const char *content)
{
	json_t *m = json_object();
	json_object_set_new(m, "role", json_string(role));
	llm_json_set_text_json(m, "content", content);
	return m;
}

bool llm_effort_thinks(const char *effort)
{
	return effort && *effort && strcmp(effort, "none");
}

long llm_effort_budget(const char *effort)
{
	size_t n = effort ? strlen(effort) : 0;
	if (n == 0 || n > 9 || strspn(effort, "0123456789") != n)
		return 0;
	return strtol(effort, NULL, 10);
}

const char *llm_effort_level(const char *effort)
{
	static const char *const map[][2] = {
		{ "minimal", "low" }, { "low", "low" }, { "medium", "medium" },
		{ "high", "high" }, { "xhigh", "max" }, { "max", "max" },
	};
	for (size_t i = 0; effort && i < sizeof map / sizeof *map; i++)
		if (!strcmp(effort, map[i][0]))
			return map[i][1];
	return NULL;
}

char *llm_json_openai_request(const struct llm_config *c, const char *system, const char *prompt)
{
	json_t *o = json_object();
	llm_json_set_text_json(o, "model", c->model);
	json_t *msgs = json_array();
	if (system && *system)
		json_array_append_new(msgs, llm_json_message("system", system));
	json_array_append_new(msgs, llm_json_message("user", prompt));
	json_object_set_new(o, "messages", msgs);
	/* Reasoning models refuse any temperature but their default. */
	if (c->temperature >= 0 && !llm_effort_thinks(c->reasoning_effort))
		json_object_set_new(o, "temperature", json_real(c->temperature));
	if (c->max_tokens > 0)
		json_object_set_new(o, c->legacy_max_tokens ? "max_tokens" : "max_completion_tokens",
				    json_integer(c->max_tokens));
	if (c->reasoning_effort)
		llm_json_set_text_json(o, "reasoning_effort", c->reasoning_effort);
	return llm_json_dump(o);
}

char *llm_json_anthropic_request(const struct llm_config *c, const char *system, const char *prompt)
{
	json_t *o = json_object();
	long max = c->max_tokens > 0 ? c->max_tokens : LLM_JSON_ANTHROPIC_MAX_TOKENS;
	llm_json_set_text_json(o, "model", c->model);
	json_object_set_new(o, "max_tokens", json_integer(max));
	if (system && *system)
		llm_json_set_text_json(o, "system", system);
	json_t *msgs = json_array();
	json_array_append_new(msgs, llm_json_message("user", prompt));
	json_object_set_new(o, "messages", msgs);
	const char *effort = c->reasoning_effort;
	long budget = llm_effort_budget(effort);
	if (budget > 0) {
		json_object_set_new(o, "thinking", json_pack("{s:s, s:I}", "type", "enabled",
							     "budget_tokens", (json_int_t)budget));
	} else if (llm_effort_thinks(effort)) {
		/* llm_complete's check has refused an effort without a level. */
		const char *level = llm_effort_level(effort);
		json_object_set_new(o, "thinking", json_pack("{s:s}", "type", "adaptive"));
		json_object_set_new(o, "output_config", json_pack("{s:s}", "effort",
								  level ? level : "medium"));
	} else if (c->temperature >= 0) {
		json_object_set_new(o, "temperature", json_real(c->temperature));
	}
	return llm_json_dump(o);
}

/* Starts decoding a reply: the body as a JSON object, or LLM_MALFORMED. */
static json_t *llm_json_reply_object(const char *body, struct llm_reply *r)
{
	json_t *j = json_loads(body, 0, NULL);
	if (!j)
		llm_json_malformed(r, body, "not JSON");
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		llm_json_malformed(r, body, "not a JSON object");
	}
	return j;
}

/* A 2xx body that carries an error instead of a reply (some proxies). */
static int llm_json_error_in_reply(json_t *j, const char *body, struct llm_reply *r)
{
	char *type = NULL, *msg = NULL;
	char *text = json_dumps(j, JSON_COMPACT);
	int rc;
	if (text && !llm_json_api_error(text, &type, &msg)) {
		char *what = xasprintf("an error instead of a reply (%s: %s)", type ? type : "error",
				       msg ? msg : "no message");
		rc = llm_json_malformed(r, body, what);
		free(what);
	} else {
		rc = -1;
	}
	free(text);
	free(type);
	free(msg);
	return rc;
}

int llm_json_openai_reply(const char *body, struct llm_reply *r)
{
	json_t *j = llm_json_reply_object(body, r);
	if (!j)
		return -1;
	int rc = -1;
	json_t *choices = json_object_get(j, "choices");
	if (!json_is_array(choices) || json_array_size(choices) == 0) {
		if (llm_json_error_in_reply(j, body, r))
			llm_json_malformed(r, body, "no choices");
		goto out;
	}
	json_t *choice = json_array_get(choices, 0);
	json_t *msg = json_object_get(choice, "message");
	if (!json_is_object(msg)) {
		llm_json_malformed(r, body, "choices[0] has no message");
		goto out;
	}
	json_t *content = json_object_get(msg, "content");
	struct buf text;
	buf_init(&text, 0);
	if (json_is_string(content)) {
		buf_append(&text, json_string_value(content), json_string_length(content));
	} else if (json_is_array(content)) {
		/* Content as parts, as some compatible servers send it. */
		size_t i;
		json_t *part;
		json_array_foreach(content, i, part) {
			json_t *t = json_object_get(part, "text");
			if (json_is_string(t))
				buf_append(&text, json_string_value(t), json_string_length(t));
		}
	} else if (!json_is_null(content) && content) {
		buf_release(&text);
		llm_json_malformed(r, body, "message.content is neither text nor null");
		goto out;
	}
	json_t *finish = json_object_get(choice, "finish_reason");
	free(r->finish_reason);
	r->finish_reason = json_is_string(finish) ? xstrdup(json_string_value(finish)) : NULL;
	json_t *usage = json_object_get(j, "usage");
	r->in_tokens = llm_json_tokens(usage, "prompt_tokens");
	r->out_tokens = llm_json_tokens(usage, "completion_tokens");
	r->cached_tokens = llm_json_tokens(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
	r->reasoning_tokens = llm_json_tokens(json_object_get(usage, "completion_tokens_details"),
					 "reasoning_tokens");
	json_t *refusal = json_object_get(msg, "refusal");
	free(r->text);
	r->text = NULL;
	if (json_is_string(refusal) || (r->finish_reason && !strcmp(r->finish_reason, "content_filter"))) {
		r->status = LLM_REFUSED;
		free(r->error);
		r->error = xasprintf("the model refused: %s", json_is_string(refusal) ?
				     json_string_value(refusal) : "finish_reason content_filter");
		buf_release(&text);
	} else {
		r->status = LLM_OK;
		r->text = buf_detach(&text);
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int llm_json_anthropic_reply(const char *body, struct llm_reply *r)
{
	json_t *j = llm_json_reply_object(body, r);
	if (!j)
		return -1;
	int rc = -1;
	json_t *content = json_object_get(j, "content");
	if (!json_is_array(content)) {
		if (llm_json_error_in_reply(j, body, r))
			llm_json_malformed(r, body, "no content list");
		goto out;
	}
	/* The text blocks, in order; thinking and tool blocks are not the reply. */
	struct buf text;
	buf_init(&text, 0);
	size_t i;
	json_t *block;
	json_array_foreach(content, i, block) {
		json_t *type = json_object_get(block, "type"), *t = json_object_get(block, "text");
		if (json_is_string(type) && !strcmp(json_string_value(type), "text") && json_is_string(t))
			buf_append(&text, json_string_value(t), json_string_length(t));
	}
	json_t *stop = json_object_get(j, "stop_reason");
	free(r->finish_reason);
	r->finish_reason = json_is_string(stop) ? xstrdup(json_string_value(stop)) : NULL;
	json_t *usage = json_object_get(j, "usage");
	r->cached_tokens = llm_json_tokens(usage, "cache_read_input_tokens");
	r->in_tokens = llm_json_tokens(usage, "input_tokens") + r->cached_tokens +
		       llm_json_tokens(usage, "cache_creation_input_tokens");
	r->out_tokens = llm_json_tokens(usage, "output_tokens");
	r->reasoning_tokens = 0;
	free(r->text);
	r->text = NULL;
	if (r->finish_reason && !strcmp(r->finish_reason, "refusal")) {
		r->status = LLM_REFUSED;
		free(r->error);
		r->error = xasprintf("the model refused (stop_reason refusal)%s%.200s",
				     text.len ? ": " : "", buf_str(&text));
		buf_release(&text);
	} else {
		r->status = LLM_OK;
		r->text = buf_detach(&text);
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static char *llm_json_string_or_null(json_t *v)
{
	return json_is_string(v) && json_string_length(v) ? xstrdup(json_string_value(v)) : NULL;
}

int llm_json_api_error(const char *body, char **type, char **message)
{
	*type = *message = NULL;
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	json_t *o = json_is_array(j) ? json_array_get(j, 0) : j;  /* Gemini: a list */
	if (!json_is_object(o)) {
		json_decref(j);
		return -1;
	}
	json_t *e = json_object_get(o, "error");
	if (json_is_string(e)) {
		*message = llm_json_string_or_null(e);
	} else {
		json_t *src = json_is_object(e) ? e : o;
		*message = llm_json_string_or_null(json_object_get(src, "message"));
		char *t = llm_json_string_or_null(json_object_get(src, "type"));
		char *code = llm_json_string_or_null(json_object_get(src, "code"));
		if (!t)
			t = llm_json_string_or_null(json_object_get(src, "status"));
		if (!json_is_object(e) && t && !strcmp(t, "error")) {
			/* Anthropic's envelope {"type": "error"} with no error object. */
			free(t);
			t = NULL;
		}
		if (t && code && strcmp(t, code)) {
			*type = xasprintf("%s/%s", t, code);
			free(t);
			free(code);
		} else if (t) {
			*type = t;
			free(code);
		} else {
			*type = code;
		}
	}
	json_decref(j);
	return *type || *message ? 0 : -1;
}

bool llm_json_error_names(const char *body, const char *param)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	json_t *o = json_is_array(j) ? json_array_get(j, 0) : j;
	json_t *e = json_object_get(o, "error");
	json_t *named = json_object_get(json_is_object(e) ? e : o, "param");
	bool found = json_is_string(named) && !strcmp(json_string_value(named), param);
	json_decref(j);
	char *type = NULL, *msg = NULL;
	if (!found && !llm_json_api_error(body, &type, &msg))
		found = msg && strstr(msg, param);
	free(type);
	free(msg);
	return found;
}

/* The price table. */

static json_t *parse(const char *text, const char *what)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		error("%s: not JSON (%s at line %d)", what, e.text, e.line);
	else if (!json_is_object(j)) {
		error("%s: expected a JSON object", what);
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* A number field of an object into *out; -1, printing nothing, when it is
 * absent or not a number. */
static int llm_json_number(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

int llm_json_prices(const char *text, struct price **prices, int *n)
{
	json_t *j = parse(text, "price table");
	*prices = NULL;
	*n = 0;
	if (!j)
		return -1;
	const char *key;
	json_t *v;
	int rc = 0;
	*prices = xcalloc(json_object_size(j) + 1, sizeof **prices);
	json_object_foreach(j, key, v) {
		if (key[0] == '_')
			continue;
		struct price *p = &(*prices)[(*n)++];
		p->prefix = xstrdup(key);
		double in = 0, cached = 0, out = 0;
		if (!json_is_object(v) || llm_json_number(v, "in", &in) ||
		    llm_json_number(v, "out", &out)) {
			rc = error("price table: %s needs numbers 'in' and 'out'", key);
			break;
		}
		if (llm_json_number(v, "cached_in", &cached))
			cached = in;
		p->in = in;
		p->cached_in = cached;
		p->out = out;
	}
	json_decref(j);  /* after the message: key lives in j */
	return rc;
}
