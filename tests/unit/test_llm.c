/* test_llm.c - the LLM client against a scripted endpoint on loopback
 * (tests/unit/llm_server.c), for both wire formats: replies and their
 * statuses, retries and their waits, what was sent (paths, model, key
 * headers), the key kept out of errors; the command provider and the clean
 * environment it runs in; provider specs, keys and base URLs; the JSON of
 * requests and error bodies. */
#include "testing.h"

#include "http.h"
#include "llm.h"
#include "proc.h"
#include "util.h"

#define LLM_SERVER TEST_BUILD "/tests/llm_server"
#define TEST_KEY "test-key-123"

static const enum llm_provider both[] = { LLM_OPENAI, LLM_ANTHROPIC };

/* A running llm_server with its script and log. */
struct server {
	struct proc p;
	int port;
	char *dir;
	char *log;
};

static void server_start(struct server *s, const char *script)
{
	s->dir = test_tmpdir();
	char *path = xasprintf("%s/script", s->dir);
	char *err = xasprintf("%s/server.err", s->dir);
	s->log = xasprintf("%s/requests.log", s->dir);
	assert_int_equal(util_write_file(path, script, strlen(script)), 0);
	const char *argv[] = { LLM_SERVER, path, s->log, "20", NULL };
	struct proc_opts o = { .argv = argv };
	assert_int_equal(proc_start(&s->p, &o, err), 0);
	struct buf pending, line;
	buf_init(&pending, 1 << 16);
	buf_init(&line, 1 << 16);
	assert_int_equal(proc_read_line(&s->p, &pending, &line, util_now() + 10), 1);
	assert_int_equal(sscanf(buf_str(&line), "port %d", &s->port), 1);
	buf_release(&pending);
	buf_release(&line);
	free(path);
	free(err);
}

/* Stops the server and returns its request log (caller frees). */
static char *server_stop(struct server *s)
{
	proc_stop(&s->p, true, NULL, NULL);
	char *text = NULL;
	size_t len = 0;
	if (!util_file_exists(s->log) || util_read_file(s->log, 1 << 24, &text, &len))
		text = xstrdup("");
	util_remove_tree(s->dir);
	free(s->dir);
	free(s->log);
	return text;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A config for the server on `port` as a user would make it: a spec, a
 * loopback base URL, the key in KBREED_API_KEY. Fast retries. */
static void test_config(struct llm_config *c, enum llm_provider provider, int port)
{
	char *url = xasprintf("http://127.0.0.1:%d/v1", port);
	setenv("KBREED_API_KEY", TEST_KEY, 1);
	assert_int_equal(llm_config_parse(provider == LLM_OPENAI ? "openai:gpt-test" : "anthropic:claude-test",
					  url, c), 0);
	assert_string_equal(c->api_key, TEST_KEY);
	c->timeout_s = 5;
	c->max_retries = 2;
	c->backoff_s = 0.05;
	c->backoff_max_s = 0.2;
	free(url);
}

/* One call against a fresh server: the reply in r, the request log returned
 * (caller frees), the seconds taken in *secs. tweak adjusts the config. */
static char *exchange(enum llm_provider provider, const char *script,
		      void (*tweak)(struct llm_config *), struct llm_reply *r, double *secs)
{
	struct server s;
	struct llm_config c;
	server_start(&s, script);
	test_config(&c, provider, s.port);
	if (tweak)
		tweak(&c);
	llm_reply_init(r);
	double t0 = util_now();
	assert_int_equal(llm_complete(&c, "You write CUDA.", "Make layernorm fast.", r), 0);
	if (secs)
		*secs = util_now() - t0;
	/* The key never shows in what the caller records. */
	if (r->error)
		assert_null(strstr(r->error, TEST_KEY));
	if (r->text)
		assert_null(strstr(r->text, TEST_KEY));
	llm_config_release(&c);
	return server_stop(&s);
}

static void skip_without_curl(void)
{
	if (!http_available())
		skip();
}

static void test_ok_and_what_was_sent(void **state)
{
	skip_without_curl();
	struct llm_reply r;
	char *log = exchange(LLM_OPENAI, "ok hello \"kernels\"\n", NULL, &r, NULL);
	assert_int_equal(r.status, LLM_OK);
	assert_string_equal(r.text, "hello \"kernels\"");
	assert_string_equal(r.finish_reason, "stop");
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.in_tokens, 120);
	assert_int_equal(r.out_tokens, 45);
	assert_int_equal(r.cached_tokens, 64);
	assert_int_equal(r.reasoning_tokens, 12);
	assert_null(r.error);
	assert_non_null(strstr(log, "request 1: POST /v1/chat/completions\n"));
	assert_non_null(strstr(log, "authorization: Bearer " TEST_KEY "\n"));
	assert_non_null(strstr(log, "x-api-key: \n"));
	assert_non_null(strstr(log, "\"model\":\"gpt-test\""));
	assert_non_null(strstr(log, "{\"role\":\"system\",\"content\":\"You write CUDA.\"}"));
	assert_non_null(strstr(log, "{\"role\":\"user\",\"content\":\"Make layernorm fast.\"}"));
	assert_null(strstr(log, "temperature"));  /* not set: not sent */
	assert_int_equal(count(log, "request "), 1);
	llm_reply_release(&r);
	free(log);

	log = exchange(LLM_ANTHROPIC, "ok hello\nkernels\n", NULL, &r, NULL);
	assert_int_equal(r.status, LLM_OK);
	assert_string_equal(r.text, "hello");  /* the text block, not the thinking block */
	assert_string_equal(r.finish_reason, "end_turn");
	assert_int_equal(r.in_tokens, 100 + 30 + 8);
	assert_int_equal(r.out_tokens, 45);
	assert_int_equal(r.cached_tokens, 30);
	assert_int_equal(r.reasoning_tokens, 0);
	assert_non_null(strstr(log, "request 1: POST /v1/messages\n"));
	assert_non_null(strstr(log, "x-api-key: " TEST_KEY "\n"));
	assert_non_null(strstr(log, "authorization: \n"));
	assert_non_null(strstr(log, "anthropic-version: 2023-06-01\n"));
	assert_non_null(strstr(log, "\"model\":\"claude-test\""));
	assert_non_null(strstr(log, "\"max_tokens\":16000"));  /* required: a default */
	assert_non_null(strstr(log, "\"system\":\"You write CUDA.\""));
	assert_non_null(strstr(log, "\"messages\":[{\"role\":\"user\",\"content\":\"Make layernorm fast.\"}]"));
	llm_reply_release(&r);
	free(log);
}

static void set_budget(struct llm_config *c)
{
	c->max_tokens = 4000;
	c->temperature = 0.5;
	c->reasoning_effort = xstrdup("high");
}

static void set_temperature(struct llm_config *c)
{
	c->max_tokens = 4000;
	c->temperature = 0.5;
}

static void set_thinking_budget(struct llm_config *c)
{
	set_budget(c);
	free(c->reasoning_effort);
	c->reasoning_effort = xstrdup("3000");
}

static void set_no_reasoning(struct llm_config *c)
{
	set_budget(c);
	free(c->reasoning_effort);
	c->reasoning_effort = xstrdup("none");
}

static void test_options_sent(void **state)
{
	skip_without_curl();
	struct llm_reply r;
	/* Every OpenAI-style host gets max_completion_tokens; with a reasoning
	 * effort, no temperature (reasoning models refuse it). */
	char *log = exchange(LLM_OPENAI, "ok x", set_budget, &r, NULL);
	assert_int_equal(r.status, LLM_OK);
	assert_non_null(strstr(log, "\"max_completion_tokens\":4000"));
	assert_null(strstr(log, "\"max_tokens\""));
	assert_null(strstr(log, "temperature"));
	assert_non_null(strstr(log, "\"reasoning_effort\":\"high\""));
	llm_reply_release(&r);
	free(log);
	/* No effort, or "none": the temperature goes. */
	log = exchange(LLM_OPENAI, "ok x", set_temperature, &r, NULL);
	assert_non_null(strstr(log, "\"temperature\":0.5"));
	assert_non_null(strstr(log, "\"max_completion_tokens\":4000"));
	assert_null(strstr(log, "reasoning_effort"));
	llm_reply_release(&r);
	free(log);
	log = exchange(LLM_OPENAI, "ok x", set_no_reasoning, &r, NULL);
	assert_non_null(strstr(log, "\"temperature\":0.5"));
	assert_non_null(strstr(log, "\"reasoning_effort\":\"none\""));
	llm_reply_release(&r);
	free(log);
	/* Anthropic: a named effort is adaptive thinking with that effort, and
	 * then no temperature. */
	log = exchange(LLM_ANTHROPIC, "ok x", set_budget, &r, NULL);
	assert_int_equal(r.status, LLM_OK);
	assert_non_null(strstr(log, "\"thinking\":{\"type\":\"adaptive\"}"));
	assert_non_null(strstr(log, "\"output_config\":{\"effort\":\"high\"}"));
	assert_null(strstr(log, "budget_tokens"));
	assert_null(strstr(log, "temperature"));
	llm_reply_release(&r);
	free(log);
	/* A number of tokens: budgeted thinking. */
	log = exchange(LLM_ANTHROPIC, "ok x", set_thinking_budget, &r, NULL);
	assert_int_equal(r.status, LLM_OK);
	assert_non_null(strstr(log, "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":3000}"));
	assert_null(strstr(log, "output_config"));
	assert_null(strstr(log, "temperature"));
	llm_reply_release(&r);
	free(log);
	/* "none": no thinking, the temperature. */
	log = exchange(LLM_ANTHROPIC, "ok x", set_no_reasoning, &r, NULL);
	assert_null(strstr(log, "thinking"));
	assert_null(strstr(log, "output_config"));
	assert_non_null(strstr(log, "\"temperature\":0.5"));
	llm_reply_release(&r);
	free(log);
}

static void test_effort_levels(void **state)
{
	const char *named[][2] = { { "minimal", "low" }, { "low", "low" }, { "medium", "medium" },
				   { "high", "high" }, { "xhigh", "max" }, { "max", "max" } };
	for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
		assert_string_equal(llm_effort_level(named[i][0]), named[i][1]);
		assert_int_equal(llm_effort_budget(named[i][0]), 0);
		assert_true(llm_effort_thinks(named[i][0]));
	}
	assert_null(llm_effort_level("8000"));
	assert_null(llm_effort_level("extreme"));
	assert_int_equal(llm_effort_budget("8000"), 8000);
	assert_int_equal(llm_effort_budget("8k"), 0);
	assert_int_equal(llm_effort_budget("-8000"), 0);
	assert_int_equal(llm_effort_budget("9999999999"), 0);  /* too long to be a budget */
	assert_false(llm_effort_thinks("none"));
	assert_false(llm_effort_thinks(NULL));
}

/* A 400 that names the temperature: asked once more without it, and the
 * second attempt is counted; a second such 400 is not asked again. */
static void test_temperature_refused(void **state)
{
	skip_without_curl();
	struct llm_reply r;
	for (size_t i = 0; i < 2; i++) {
		char *log = exchange(both[i], "400temp\nok fine\n", set_temperature, &r, NULL);
		assert_int_equal(r.status, LLM_OK);
		assert_string_equal(r.text, "fine");
		assert_int_equal(r.attempts, 2);
		assert_int_equal(count(log, "request "), 2);
		assert_int_equal(count(log, "\"temperature\":0.5"), 1);
		char *second = strstr(log, "request 2:");
		assert_non_null(second);
		assert_null(strstr(second, "temperature\":"));
		llm_reply_release(&r);
		free(log);

		log = exchange(both[i], "400temp\n", set_temperature, &r, NULL);
		assert_int_equal(r.status, LLM_ERROR);
		assert_int_equal(r.http_status, 400);
		assert_int_equal(r.attempts, 2);
		assert_int_equal(count(log, "request "), 2);
		llm_reply_release(&r);
		free(log);
	}
	/* Another 400, or one with no temperature sent, is not asked again. */
	char *log = exchange(LLM_OPENAI, "400\nok no\n", set_temperature, &r, NULL);
	assert_int_equal(r.status, LLM_ERROR);
	assert_int_equal(r.attempts, 1);
	llm_reply_release(&r);
	free(log);
	log = exchange(LLM_OPENAI, "400temp\nok no\n", NULL, &r, NULL);
	assert_int_equal(r.status, LLM_ERROR);
	assert_int_equal(r.attempts, 1);
	llm_reply_release(&r);
	free(log);
}

static void slow_backoff(struct llm_config *c)
{
	c->backoff_max_s = 0.5;
}

static void test_429_waits_retry_after(void **state)
{
	skip_without_curl();
	for (int i = 0; i < 2; i++) {
		struct llm_reply r;
		double secs;
		/* Retry-After: 1 is honoured (up to 4 * backoff_max_s = 2 s). */
		char *log = exchange(both[i], "429\nok after the wait\n", slow_backoff, &r, &secs);
		assert_int_equal(r.status, LLM_OK);
		assert_string_equal(r.text, "after the wait");
		assert_int_equal(r.attempts, 2);
		assert_int_equal(r.http_status, 200);
		assert_true(secs >= 0.95 && secs < 3);
		assert_int_equal(count(log, "request "), 2);
		llm_reply_release(&r);
		free(log);
	}
}

static void small_backoff(struct llm_config *c)
{
	c->backoff_max_s = 0.05;
}

static void test_retry_after_honoured_and_capped(void **state)
{
	skip_without_curl();
	struct llm_reply r;
	double secs;
	/* A server asking for 30 s gets 4 * 0.05 s. */
	char *log = exchange(LLM_ANTHROPIC, "429 30\nok done\n", small_backoff, &r, &secs);
	assert_int_equal(r.status, LLM_OK);
	assert_int_equal(r.attempts, 2);
	assert_true(secs >= 0.19 && secs < 2);
	llm_reply_release(&r);
	free(log);
	/* No Retry-After: the jittered wait, at most backoff_max_s. */
	log = exchange(LLM_OPENAI, "429 -\n429 -\nok done\n", small_backoff, &r, &secs);
	assert_int_equal(r.status, LLM_OK);
	assert_int_equal(r.attempts, 3);
	assert_true(secs < 1.5);
	llm_reply_release(&r);
	free(log);
}

static void test_500_then_ok(void **state)
{
	skip_without_curl();
	for (int i = 0; i < 2; i++) {
		struct llm_reply r;
		char *log = exchange(both[i], "500\nok recovered\n", NULL, &r, NULL);
		assert_int_equal(r.status, LLM_OK);
		assert_string_equal(r.text, "recovered");
		assert_int_equal(r.attempts, 2);
		assert_int_equal(r.http_status, 200);
		llm_reply_release(&r);
		free(log);
	}
}

static void one_second(struct llm_config *c)
{
	c->timeout_s = 1;
}

static void test_stall_times_out_then_ok(void **state)
{
	skip_without_curl();
	for (int i = 0; i < 2; i++) {
		struct llm_reply r;
		double secs;
		char *log = exchange(both[i], "stall\nok awake\n", one_second, &r, &secs);
		assert_int_equal(r.status, LLM_OK);
		assert_string_equal(r.text, "awake");
		assert_int_equal(r.attempts, 2);
		assert_true(secs >= 0.95 && secs < 5);
		assert_int_equal(count(log, "request "), 2);
		llm_reply_release(&r);
		free(log);
	}
}

static void test_retries_exhausted(void **state)
{
	skip_without_curl();
	for (int i = 0; i < 2; i++) {
		struct llm_reply r;
		char *log = exchange(both[i], "500\n500\n500\nok too late\n", NULL, &r, NULL);
		assert_int_equal(r.status, LLM_UNAVAILABLE);
		assert_int_equal(r.attempts, 3);  /* max_retries 2 */
		assert_int_equal(r.http_status, 500);
		assert_null(r.text);
		assert_non_null(strstr(r.error, "gave up after 3 attempts"));
		assert_non_null(strstr(r.error, "HTTP 500"));
		assert_int_equal(count(log, "request "), 3);
		llm_reply_release(&r);
		free(log);
	}
	/* Stalled every time: time-outs exhaust the retries too. */
	struct llm_reply r;
	double secs;
	char *log = exchange(LLM_OPENAI, "stall\n", one_second, &r, &secs);
	assert_int_equal(r.status, LLM_UNAVAILABLE);
	assert_int_equal(r.attempts, 3);
	assert_non_null(strstr(r.error, "no complete reply within 1 s"));
	assert_true(secs < 6);
	llm_reply_release(&r);
	free(log);
}

static void test_connection_refused(void **state)
{
	skip_without_curl();
	struct llm_reply r;
	/* The server quits at once: nobody listens on the port. */
	char *log = exchange(LLM_OPENAI, "quit\n", NULL, &r, NULL);
	assert_int_equal(r.status, LLM_UNAVAILABLE);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.http_status, 0);
	assert_non_null(r.error);
	llm_reply_release(&r);
	free(log);
}

static void test_not_retried(void **state)
{
	skip_without_curl();
	struct {
		const char *script;
		enum llm_status status;
		const char *openai_error, *anthropic_error;  /* in r.error */
	} cases[] = {
		{ "malformed\nok no\n", LLM_MALFORMED, "not JSON", "not JSON" },
		{ "truncated\nok no\n", LLM_MALFORMED, "connection closed", "connection closed" },
		{ "refusal\nok no\n", LLM_REFUSED, "I can't help with that.", "stop_reason refusal" },
		{ "empty_length\nok no\n", LLM_EMPTY, "went to reasoning", "budget" },
		{ "auth\nok no\n", LLM_AUTH, "Incorrect API key provided: [key].", "[key]" },
		{ "quota\nok no\n", LLM_QUOTA, "insufficient_quota", "billing_error" },
		{ "400\nok no\n", LLM_ERROR, "HTTP 400 (invalid_request_error", "must be at most 8192" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		for (int i = 0; i < 2; i++) {
			struct llm_reply r;
			char *log = exchange(both[i], cases[k].script, NULL, &r, NULL);
			const char *want = i == 0 ? cases[k].openai_error : cases[k].anthropic_error;
			if (r.status != cases[k].status || !r.error || !strstr(r.error, want))
				fail_msg("%s via %s: status %s, error %s", cases[k].script,
					 i == 0 ? "openai" : "anthropic", llm_status_name(r.status),
					 r.error ? r.error : "(none)");
			assert_int_equal(r.attempts, 1);
			assert_null(r.text);
			assert_int_equal(count(log, "request "), 1);
			llm_reply_release(&r);
			free(log);
		}
	}
}

static void test_budget_cuts_text(void **state)
{
	skip_without_curl();
	for (int i = 0; i < 2; i++) {
		struct llm_reply r;
		char *log = exchange(both[i], "cut __global__ void k(", NULL, &r, NULL);
		assert_int_equal(r.status, LLM_TRUNCATED);
		assert_string_equal(r.text, "__global__ void k(");  /* kept */
		assert_non_null(strstr(r.error, "budget"));
		assert_string_equal(r.finish_reason, i == 0 ? "length" : "max_tokens");
		llm_reply_release(&r);
		free(log);
	}
}

/* The command provider, with a script written for the test. */
static void run_cmd(const char *script, double timeout, struct llm_reply *r, double *secs)
{
	char *dir = test_tmpdir();
	char *path = xasprintf("%s/model.sh", dir);
	assert_int_equal(util_write_file(path, script, strlen(script)), 0);
	char *spec = xasprintf("cmd:sh %s", path);
	struct llm_config c;
	assert_int_equal(llm_config_parse(spec, NULL, &c), 0);
	assert_null(c.api_key);
	c.timeout_s = timeout;
	llm_reply_init(r);
	double t0 = util_now();
	assert_int_equal(llm_complete(&c, "SYSTEM", "PROMPT", r), 0);
	if (secs)
		*secs = util_now() - t0;
	llm_config_release(&c);
	util_remove_tree(dir);
	free(spec);
	free(path);
	free(dir);
}

static void test_cmd_provider(void **state)
{
	struct llm_reply r;
	double secs;
	run_cmd("printf 'reply to: '; cat\n", 10, &r, NULL);
	assert_int_equal(r.status, LLM_OK);
	assert_string_equal(r.text, "reply to: SYSTEM\n\nPROMPT");
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.in_tokens + r.out_tokens, 0);
	llm_reply_release(&r);

	run_cmd("echo 'model not found' >&2; exit 3\n", 10, &r, NULL);
	assert_int_equal(r.status, LLM_ERROR);
	assert_non_null(strstr(r.error, "status 3"));
	assert_non_null(strstr(r.error, "model not found"));
	assert_null(r.text);
	llm_reply_release(&r);

	run_cmd("sleep 30\n", 0.5, &r, &secs);
	assert_int_equal(r.status, LLM_UNAVAILABLE);
	assert_true(secs < 5);
	assert_int_equal(r.attempts, 1);
	llm_reply_release(&r);

	run_cmd("cat >/dev/null; echo '   '\n", 10, &r, NULL);
	assert_int_equal(r.status, LLM_EMPTY);
	llm_reply_release(&r);

	/* Killed: sh -c reports it as exit status 128 + the signal. */
	run_cmd("kill -TERM $$\n", 10, &r, NULL);
	assert_int_equal(r.status, LLM_ERROR);
	assert_non_null(strstr(r.error, "status 143"));
	llm_reply_release(&r);
}

static void test_cmd_sees_no_keys(void **state)
{
	/* main() put keys in the environment before anything ran. */
	assert_string_equal(getenv("OPENAI_API_KEY"), "sk-never-passed-on");
	struct llm_reply r;
	run_cmd("env | grep -c -e KEY -e sk-never-passed-on; echo home=${HOME:+set}\n", 10, &r, NULL);
	assert_int_equal(r.status, LLM_OK);
	assert_string_equal(r.text, "0\nhome=set\n");
	llm_reply_release(&r);
}

static void unset_keys(void)
{
	unsetenv("OPENAI_API_KEY");
	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("KBREED_API_KEY");
}

static void test_config_specs(void **state)
{
	struct llm_config c;
	const char *bad[] = { "", "openai", "openai:", "anthropic:", "cmd:", ":model", "gemini:pro",
			      "OpenAI:gpt" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (!llm_config_parse(bad[i], "http://127.0.0.1:1/v1", &c))
			fail_msg("spec '%s' was accepted", bad[i]);
		llm_config_release(&c);
	}
	assert_int_equal(llm_config_parse(NULL, NULL, &c), -1);
	llm_config_release(&c);

	assert_int_equal(llm_config_parse("cmd:claude -p --model x", "http://ignored", &c), 0);
	assert_int_equal(c.provider, LLM_CMD);
	assert_string_equal(c.command, "claude -p --model x");
	assert_null(c.api_key);
	assert_null(c.base_url);
	llm_config_release(&c);

	if (!http_available()) {
		assert_int_equal(llm_config_parse("openai:m", "http://127.0.0.1:1/v1", &c), -1);
		llm_config_release(&c);
		return;
	}
	unset_keys();
	/* Ollama's model names hold ':'; local servers need no key. */
	assert_int_equal(llm_config_parse("openai:qwen2.5-coder:32b", "http://127.0.0.1:11434/v1/", &c), 0);
	assert_string_equal(c.model, "qwen2.5-coder:32b");
	assert_string_equal(c.base_url, "http://127.0.0.1:11434/v1");
	assert_null(c.api_key);
	assert_false(c.legacy_max_tokens);  /* max_completion_tokens, everywhere */
	assert_true(c.temperature < 0);
	assert_null(c.reasoning_effort);
	llm_config_release(&c);
	/* The deprecated max_tokens only when asked for. */
	setenv("KBREED_LLM_LEGACY_MAX_TOKENS", "1", 1);
	assert_int_equal(llm_config_parse("openai:m", "http://127.0.0.1:8080/v1", &c), 0);
	assert_true(c.legacy_max_tokens);
	char *body = llm_json_openai_request(&(struct llm_config){ .model = "m", .max_tokens = 9,
								  .temperature = -1,
								  .legacy_max_tokens = true }, NULL, "p");
	assert_non_null(strstr(body, "\"max_tokens\":9"));
	assert_null(strstr(body, "max_completion_tokens"));
	free(body);
	llm_config_release(&c);
	assert_int_equal(llm_config_parse("anthropic:claude", "http://localhost:8080/v1", &c), 0);
	assert_false(c.legacy_max_tokens);
	llm_config_release(&c);
	setenv("KBREED_LLM_LEGACY_MAX_TOKENS", "0", 1);
	assert_int_equal(llm_config_parse("openai:m", "http://127.0.0.1:8080/v1", &c), 0);
	assert_false(c.legacy_max_tokens);
	unsetenv("KBREED_LLM_LEGACY_MAX_TOKENS");
	llm_config_release(&c);
	assert_int_equal(llm_config_parse("anthropic:claude", "http://localhost:8080/v1", &c), 0);
	llm_config_release(&c);
	assert_int_equal(llm_config_parse("openai:m", "http://[::1]:8000/v1", &c), 0);
	llm_config_release(&c);
	assert_int_equal(llm_config_parse("openai:m", "ftp://127.0.0.1/v1", &c), -1);
	llm_config_release(&c);
}

static void test_config_keys(void **state)
{
	skip_without_curl();
	struct llm_config c;
	unset_keys();
	/* No key for a remote endpoint is an error. */
	assert_int_equal(llm_config_parse("openai:gpt-5", NULL, &c), -1);
	llm_config_release(&c);
	assert_int_equal(llm_config_parse("anthropic:claude", "https://example.com/v1", &c), -1);
	llm_config_release(&c);

	setenv("OPENAI_API_KEY", "sk-openai", 1);
	assert_int_equal(llm_config_parse("openai:gpt-5", NULL, &c), 0);
	assert_int_equal(c.provider, LLM_OPENAI);
	assert_string_equal(c.base_url, "https://api.openai.com/v1");
	assert_string_equal(c.api_key, "sk-openai");
	assert_false(c.legacy_max_tokens);
	llm_config_release(&c);
	/* OpenAI's key goes to OpenAI only: Gemini's endpoint wants KBREED_API_KEY. */
	const char *gemini = "https://generativelanguage.googleapis.com/v1beta/openai/";
	assert_int_equal(llm_config_parse("openai:gemini-2.5-pro", gemini, &c), -1);
	llm_config_release(&c);
	setenv("KBREED_API_KEY", "gm-key", 1);
	assert_int_equal(llm_config_parse("openai:gemini-2.5-pro", gemini, &c), 0);
	assert_string_equal(c.api_key, "gm-key");
	assert_string_equal(c.base_url, "https://generativelanguage.googleapis.com/v1beta/openai");
	llm_config_release(&c);
	/* At the provider's own host its own key comes first. */
	assert_int_equal(llm_config_parse("openai:gpt-5", NULL, &c), 0);
	assert_string_equal(c.api_key, "sk-openai");
	llm_config_release(&c);
	assert_int_equal(llm_config_parse("anthropic:claude-sonnet-4-5", NULL, &c), 0);
	assert_string_equal(c.base_url, "https://api.anthropic.com/v1");
	assert_string_equal(c.api_key, "gm-key");  /* no ANTHROPIC_API_KEY: the kbreed one */
	llm_config_release(&c);
	setenv("ANTHROPIC_API_KEY", "sk-ant", 1);
	assert_int_equal(llm_config_parse("anthropic:claude-sonnet-4-5", NULL, &c), 0);
	assert_string_equal(c.api_key, "sk-ant");
	llm_config_release(&c);
	/* A key on loopback is sent when there is one. */
	assert_int_equal(llm_config_parse("openai:m", "http://127.0.0.1:8000/v1", &c), 0);
	assert_string_equal(c.api_key, "gm-key");
	llm_config_release(&c);
	unset_keys();
	setenv("OPENAI_API_KEY", "sk-never-passed-on", 1);
}

static void test_loopback(void **state)
{
	assert_true(llm_url_is_loopback("http://127.0.0.1:8000/v1"));
	assert_true(llm_url_is_loopback("http://127.1.2.3/v1"));
	assert_true(llm_url_is_loopback("http://LOCALHOST:11434/v1"));
	assert_true(llm_url_is_loopback("https://[::1]:8080/v1"));
	assert_true(llm_url_is_loopback("http://user:pw@127.0.0.1/v1"));
	assert_false(llm_url_is_loopback("http://127.0.0.1.evil.example/v1"));
	assert_false(llm_url_is_loopback("http://localhost@evil.example/v1"));
	assert_false(llm_url_is_loopback("http://localhost.evil.example/v1"));
	assert_false(llm_url_is_loopback("http://128.0.0.1/v1"));
	assert_false(llm_url_is_loopback("http://127.0.0.256/v1"));
	assert_false(llm_url_is_loopback("http://127.0.0/v1"));
	assert_false(llm_url_is_loopback("file://127.0.0.1/etc"));
	assert_false(llm_url_is_loopback("https://api.openai.com/v1"));
	assert_false(llm_url_is_loopback(NULL));
}

static void test_scrub(void **state)
{
	char *s = llm_scrub(xstrdup("key sk-1 and sk-1 again"), "sk-1");
	assert_string_equal(s, "key [key] and [key] again");
	s = llm_scrub(s, NULL);
	s = llm_scrub(s, "");
	assert_string_equal(s, "key [key] and [key] again");
	free(s);
	assert_null(llm_scrub(NULL, "sk-1"));
}

static void test_api_errors(void **state)
{
	struct {
		const char *body, *type, *message;
	} cases[] = {
		{ "{\"error\":{\"message\":\"m\",\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
		  "insufficient_quota", "m" },
		{ "{\"error\":{\"message\":\"m\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}",
		  "requests/rate_limit_exceeded", "m" },
		{ "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
		  "overloaded_error", "Overloaded" },
		{ "{\"error\":\"model 'x' not found\"}", NULL, "model 'x' not found" },
		{ "{\"object\":\"error\",\"message\":\"too long\",\"type\":\"BadRequestError\",\"code\":400}",
		  "BadRequestError", "too long" },
		{ "[{\"error\":{\"code\":429,\"message\":\"Resource exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}]",
		  "RESOURCE_EXHAUSTED", "Resource exhausted" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *type, *msg;
		assert_int_equal(llm_json_api_error(cases[i].body, &type, &msg), 0);
		if (cases[i].type)
			assert_string_equal(type, cases[i].type);
		else
			assert_null(type);
		assert_string_equal(msg, cases[i].message);
		free(type);
		free(msg);
	}
	const char *junk[] = { "<html>Bad Gateway</html>", "", "{}", "[1]", "{\"ok\":true}" };
	for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
		char *type, *msg;
		assert_int_equal(llm_json_api_error(junk[i], &type, &msg), -1);
		assert_null(type);
		assert_null(msg);
	}
}

static void test_reply_decoding(void **state)
{
	struct llm_reply r;
	llm_reply_init(&r);
	/* Content as parts; a null usage. */
	assert_int_equal(llm_json_openai_reply("{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\","
		"\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},\"finish_reason\":\"stop\"}]}", &r), 0);
	assert_int_equal(r.status, LLM_OK);
	assert_string_equal(r.text, "ab");
	assert_int_equal(r.in_tokens, 0);
	llm_reply_release(&r);
	/* An error where a reply should be. */
	assert_int_equal(llm_json_openai_reply("{\"error\":{\"message\":\"upstream down\",\"type\":\"x\"}}", &r), -1);
	assert_int_equal(r.status, LLM_MALFORMED);
	assert_non_null(strstr(r.error, "upstream down"));
	llm_reply_release(&r);
	assert_int_equal(llm_json_openai_reply("{\"choices\":[{\"message\":{\"content\":7}}]}", &r), -1);
	assert_int_equal(r.status, LLM_MALFORMED);
	llm_reply_release(&r);
	assert_int_equal(llm_json_anthropic_reply("{\"content\":\"text\"}", &r), -1);
	assert_int_equal(r.status, LLM_MALFORMED);
	llm_reply_release(&r);
	/* A long body is cut in the error. */
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(llm_json_anthropic_reply(big, &r), -1);
	assert_true(strlen(r.error) < 300);
	llm_reply_release(&r);
}

static void test_token_counts_clamped(void **state)
{
	/* Wild token counts are clamped to [0, 10^15], never cast past a long's
	 * range: reals too large, negatives, and Anthropic's sum of three. */
	struct llm_reply r;
	llm_reply_init(&r);
	assert_int_equal(llm_json_openai_reply("{\"choices\":[{\"message\":{\"content\":\"x\"}}],"
		"\"usage\":{\"prompt_tokens\":1e300,\"completion_tokens\":-1e300,"
		"\"prompt_tokens_details\":{\"cached_tokens\":-7},"
		"\"completion_tokens_details\":{\"reasoning_tokens\":9223372036854775807}}}", &r), 0);
	assert_int_equal(r.status, LLM_OK);
	assert_true(r.in_tokens == 1000000000000000L);
	assert_true(r.out_tokens == 0);
	assert_true(r.cached_tokens == 0);
	assert_true(r.reasoning_tokens == 1000000000000000L);
	llm_reply_release(&r);
	assert_int_equal(llm_json_openai_reply("{\"choices\":[{\"message\":{\"content\":\"x\"}}],"
		"\"usage\":{\"prompt_tokens\":12.9,\"completion_tokens\":\"5\"}}", &r), 0);
	assert_true(r.in_tokens == 12 && r.out_tokens == 0);
	llm_reply_release(&r);
	assert_int_equal(llm_json_anthropic_reply("{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
		"\"usage\":{\"input_tokens\":1e300,\"cache_read_input_tokens\":1e300,"
		"\"cache_creation_input_tokens\":9223372036854775807,\"output_tokens\":-1e300}}", &r), 0);
	assert_int_equal(r.status, LLM_OK);
	assert_true(r.cached_tokens == 1000000000000000L);
	assert_true(r.in_tokens == 3000000000000000L);
	assert_true(r.out_tokens == 0);
	llm_reply_release(&r);
}

static void test_price_table(void **state)
{
	/* Comments skipped, cached_in defaulting to in; a bad entry fails the
	 * table, with what was read so far still owned by the caller. */
	struct price *p;
	int n;
	assert_int_equal(llm_json_prices("{\"_note\": \"USD\", \"gpt-5\": {\"in\": 1.25, \"cached_in\": 0.125,"
					 " \"out\": 10}, \"claude\": {\"in\": 3, \"out\": 15}}", &p, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].prefix, "gpt-5");
	assert_true(p[0].in == 1.25 && p[0].cached_in == 0.125 && p[0].out == 10);
	assert_string_equal(p[1].prefix, "claude");
	assert_true(p[1].cached_in == 3 && p[1].out == 15);
	for (int i = 0; i < n; i++)
		free(p[i].prefix);
	free(p);
	assert_int_equal(llm_json_prices("{\"a\": {\"in\": 1, \"out\": 2}, \"b\": {\"in\": 1}}", &p, &n), -1);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++)
		free(p[i].prefix);
	free(p);
	assert_int_equal(llm_json_prices("[1]", &p, &n), -1);
	assert_null(p);
	assert_int_equal(n, 0);
}

static void test_bad_config_fails_the_call(void **state)
{
	struct llm_config c;
	struct llm_reply r;
	llm_config_init(&c);
	llm_reply_init(&r);
	c.provider = LLM_CMD;  /* no command */
	assert_int_equal(llm_complete(&c, NULL, "p", &r), -1);
	c.provider = LLM_ANTHROPIC;
	c.model = xstrdup("m");
	c.base_url = xstrdup("http://127.0.0.1:1/v1");
	c.reasoning_effort = xstrdup("high");
	c.max_tokens = 1500;
	free(c.reasoning_effort);
	c.reasoning_effort = xstrdup("1000");  /* below Anthropic's 1024 */
	assert_int_equal(llm_complete(&c, NULL, "p", &r), -1);
	free(c.reasoning_effort);
	c.reasoning_effort = xstrdup("1500");  /* not below max_tokens */
	assert_int_equal(llm_complete(&c, NULL, "p", &r), -1);
	free(c.reasoning_effort);
	c.reasoning_effort = xstrdup("extreme");  /* no adaptive level */
	assert_int_equal(llm_complete(&c, NULL, "p", &r), -1);
	free(c.reasoning_effort);
	c.reasoning_effort = xstrdup("8000");  /* a budget is Anthropic's only */
	c.provider = LLM_OPENAI;
	assert_int_equal(llm_complete(&c, NULL, "p", &r), -1);
	llm_config_release(&c);
	llm_reply_release(&r);
}

int main(void)
{
	/* Keys in the environment from the start, as a user has them: the
	 * command provider's children must still never see them. */
	setenv("OPENAI_API_KEY", "sk-never-passed-on", 1);
	setenv("ANTHROPIC_API_KEY", "sk-never-passed-on", 1);
	setenv("KBREED_API_KEY", "sk-never-passed-on", 1);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_sees_no_keys),
		cmocka_unit_test(test_ok_and_what_was_sent),
		cmocka_unit_test(test_options_sent),
		cmocka_unit_test(test_effort_levels),
		cmocka_unit_test(test_temperature_refused),
		cmocka_unit_test(test_429_waits_retry_after),
		cmocka_unit_test(test_retry_after_honoured_and_capped),
		cmocka_unit_test(test_500_then_ok),
		cmocka_unit_test(test_stall_times_out_then_ok),
		cmocka_unit_test(test_retries_exhausted),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_not_retried),
		cmocka_unit_test(test_budget_cuts_text),
		cmocka_unit_test(test_cmd_provider),
		cmocka_unit_test(test_config_specs),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_reply_decoding),
		cmocka_unit_test(test_token_counts_clamped),
		cmocka_unit_test(test_price_table),
		cmocka_unit_test(test_bad_config_fails_the_call),
	};
	return cmocka_run_group_tests_name("llm", tests, NULL, NULL);
}
