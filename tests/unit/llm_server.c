/*
 * llm_server.c - a scripted stand-in for a model endpoint, for the tests of
 * the LLM client (tests/unit/test_llm.c). An HTTP/1.1 server on 127.0.0.1
 * that serves one connection at a time (Connection: close).
 *
 *   llm_server SCRIPT LOG [IDLE_S]
 *
 * It binds port 0, prints "port N" on stdout, then answers requests. SCRIPT
 * holds one action per line, applied in order to successive requests
 * whatever their path; the last line repeats once the script is used up.
 * The wire format follows the path: .../chat/completions gets OpenAI's chat
 * completion JSON, .../messages Anthropic's message JSON.
 *
 *   ok TEXT...    200, a normal reply with that text and usage (cached and
 *                 reasoning tokens included)
 *   okfile PATH   as ok, with the whole file (several lines) as the text
 *   cut TEXT...   200, that text but finish_reason "length" / stop_reason
 *                 "max_tokens" (the output budget ran out mid-reply)
 *   429 [N|-]     429 with Retry-After: N (default 1; '-' for none) and a
 *                 rate-limit error
 *   quota         429 with an insufficient_quota (OpenAI) or billing_error
 *                 (Anthropic) error
 *   500           500 with a server error
 *   400           400 with an invalid-request error (a bad request: not retried)
 *   400temp       400 refusing the temperature, as a reasoning model does:
 *                 OpenAI's unsupported_value error with "param": "temperature",
 *                 Anthropic's invalid_request_error whose message names it
 *   stall         reads the request, then answers nothing for 30 s (or until
 *                 the client hangs up)
 *   malformed     200 with the body {"choices": [
 *   truncated     200 whose Content-Length says 1000, then 20 bytes and close
 *   refusal       200, OpenAI message.refusal / Anthropic stop_reason "refusal"
 *   empty_length  200, no text, finish_reason "length" / stop_reason "max_tokens"
 *   auth          401, whose message echoes the key received (a test that the
 *                 client scrubs it)
 *   quit          exit before accepting another connection
 *
 * Each request is appended to LOG: "request N: METHOD PATH", the values of
 * the Authorization, x-api-key and anthropic-version headers, the body, and
 * the action taken. The server exits by itself after IDLE_S seconds (default
 * 20) without a connection, or at a "quit" line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_LINES 256
#define MAX_HEAD (64 << 10)
#define MAX_BODY (8 << 20)

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("llm_server: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;  /* the client went away */
		s += w;
		n -= (size_t)w;
	}
}

/* s as a JSON string literal, quotes included (caller frees). */
static char *json_quote(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 6 + 3), *p = out;
	if (!out)
		die("out of memory");
	*p++ = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (ch < 0x20) {
			p += sprintf(p, "\\u%04x", ch);
		} else {
			*p++ = (char)ch;
		}
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

struct request {
	char method[16];
	char path[1024];
	char authorization[1024];
	char api_key[1024];
	char version[64];
	char *body;
	size_t body_len;
};

/* The value of header `name` in the head, into out (empty when absent). */
static void header_value(const char *head, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	out[0] = '\0';
	for (const char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (!strncasecmp(h, name, n) && h[n] == ':') {
			h += n + 1;
			while (*h == ' ')
				h++;
			size_t len = strcspn(h, "\r\n");
			if (len >= size)
				len = size - 1;
			memcpy(out, h, len);
			out[len] = '\0';
			return;
		}
	}
}

/* Reads one request. Returns 0, or -1 when the client sent none. */
static int read_request(int fd, struct request *rq)
{
	char *head = malloc(MAX_HEAD + 1);
	size_t len = 0;
	char *end = NULL;
	if (!head)
		die("out of memory");
	while (!end) {
		if (len == MAX_HEAD) {
			free(head);
			return -1;
		}
		ssize_t got = read(fd, head + len, MAX_HEAD - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			free(head);
			return -1;
		}
		len += (size_t)got;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	size_t head_len = (size_t)(end - head) + 4;
	if (sscanf(head, "%15s %1023s", rq->method, rq->path) != 2) {
		free(head);
		return -1;
	}
	char cl[32];
	header_value(head, "Authorization", rq->authorization, sizeof rq->authorization);
	header_value(head, "x-api-key", rq->api_key, sizeof rq->api_key);
	header_value(head, "anthropic-version", rq->version, sizeof rq->version);
	header_value(head, "Content-Length", cl, sizeof cl);
	size_t want = (size_t)strtoul(cl, NULL, 10);
	if (want > MAX_BODY)
		want = MAX_BODY;
	rq->body = malloc(want + 1);
	if (!rq->body)
		die("out of memory");
	size_t have = len - head_len < want ? len - head_len : want;
	memcpy(rq->body, head + head_len, have);
	free(head);
	while (have < want) {
		ssize_t got = read(fd, rq->body + have, want - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	rq->body[have] = '\0';
	rq->body_len = have;
	return 0;
}

static void respond(int fd, int status, const char *reason, const char *extra_headers,
		    const char *body)
{
	char head[512];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, reason, strlen(body), extra_headers ? extra_headers : "");
	write_all(fd, head, (size_t)n);
	write_all(fd, body, strlen(body));
}

static void openai_reply(int fd, const char *content, const char *refusal, const char *finish,
			 long reasoning)
{
	char *body = NULL;
	if (asprintf(&body,
		     "{\"id\":\"chatcmpl-test\",\"object\":\"chat.completion\",\"created\":1,"
		     "\"model\":\"test-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
		     "\"assistant\",\"content\":%s,\"refusal\":%s},\"finish_reason\":\"%s\"}],"
		     "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":45,\"total_tokens\":165,"
		     "\"prompt_tokens_details\":{\"cached_tokens\":64},"
		     "\"completion_tokens_details\":{\"reasoning_tokens\":%ld}}}",
		     content, refusal, finish, reasoning) < 0)
		die("out of memory");
	respond(fd, 200, "OK", NULL, body);
	free(body);
}

static void anthropic_reply(int fd, const char *content_blocks, const char *stop)
{
	char *body = NULL;
	if (asprintf(&body,
		     "{\"id\":\"msg_test\",\"type\":\"message\",\"role\":\"assistant\","
		     "\"model\":\"test-model\",\"content\":[%s],\"stop_reason\":\"%s\","
		     "\"stop_sequence\":null,\"usage\":{\"input_tokens\":100,"
		     "\"cache_creation_input_tokens\":8,\"cache_read_input_tokens\":30,"
		     "\"output_tokens\":45}}",
		     content_blocks, stop) < 0)
		die("out of memory");
	respond(fd, 200, "OK", NULL, body);
	free(body);
}

static void error_reply(int fd, bool anthropic, int status, const char *reason,
			const char *headers, const char *type, const char *message)
{
	char *msg = json_quote(message), *body = NULL;
	int n = anthropic
		? asprintf(&body, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":%s}}",
			   type, msg)
		: asprintf(&body, "{\"error\":{\"message\":%s,\"type\":\"%s\",\"param\":null,"
			   "\"code\":\"%s\"}}", msg, type, type);
	if (n < 0)
		die("out of memory");
	respond(fd, status, reason, headers, body);
	free(body);
	free(msg);
}

/* Waits up to 30 s, answering nothing, until the client hangs up. */
static void stall(int fd)
{
	struct timeval now, t0;
	gettimeofday(&t0, NULL);
	for (;;) {
		gettimeofday(&now, NULL);
		long left_ms = 30000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_usec - t0.tv_usec) / 1000);
		if (left_ms <= 0)
			return;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)left_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		char chunk[4096];
		ssize_t got = read(fd, chunk, sizeof chunk);
		if (got <= 0 && !(got < 0 && errno == EINTR))
			return;
	}
}

static void serve(int fd, const char *action, const struct request *rq)
{
	bool anthropic = strstr(rq->path, "/messages") != NULL;
	bool openai = strstr(rq->path, "/chat/completions") != NULL;
	const char *arg = strchr(action, ' ');
	arg = arg ? arg + 1 : "";
	if (!strncmp(action, "okfile ", 7)) {
		FILE *f = fopen(arg, "r");
		char *text = NULL;
		size_t cap = 0;
		if (!f)
			die("cannot open %s", arg);
		FILE *mem = open_memstream(&text, &cap);
		fputs("ok ", mem);
		int ch;
		while ((ch = fgetc(f)) != EOF)
			fputc(ch, mem);
		fclose(mem);
		fclose(f);
		serve(fd, text, rq);
		free(text);
		return;
	}
	if (!anthropic && !openai) {
		respond(fd, 404, "Not Found", NULL, "{\"error\":\"no such path\"}");
	} else if (!strncmp(action, "ok", 2) && (!action[2] || action[2] == ' ')) {
		char *text = json_quote(arg);
		if (anthropic) {
			char *blocks = NULL;
			if (asprintf(&blocks, "{\"type\":\"thinking\",\"thinking\":\"hidden\","
				     "\"signature\":\"sig\"},{\"type\":\"text\",\"text\":%s}", text) < 0)
				die("out of memory");
			anthropic_reply(fd, blocks, "end_turn");
			free(blocks);
		} else {
			openai_reply(fd, text, "null", "stop", 12);
		}
		free(text);
	} else if (!strncmp(action, "cut ", 4)) {
		char *text = json_quote(arg), *block = NULL;
		if (anthropic) {
			if (asprintf(&block, "{\"type\":\"text\",\"text\":%s}", text) < 0)
				die("out of memory");
			anthropic_reply(fd, block, "max_tokens");
		} else {
			openai_reply(fd, text, "null", "length", 0);
		}
		free(block);
		free(text);
	} else if (!strncmp(action, "429", 3)) {
		char headers[64] = "";
		if (strcmp(arg, "-"))
			snprintf(headers, sizeof headers, "Retry-After: %s\r\n", *arg ? arg : "1");
		error_reply(fd, anthropic, 429, "Too Many Requests", headers,
			    anthropic ? "rate_limit_error" : "rate_limit_exceeded",
			    "Rate limit reached for requests");
	} else if (!strcmp(action, "quota")) {
		error_reply(fd, anthropic, 429, "Too Many Requests", NULL,
			    anthropic ? "billing_error" : "insufficient_quota",
			    "You exceeded your current quota, please check your plan and billing details.");
	} else if (!strcmp(action, "500")) {
		error_reply(fd, anthropic, 500, "Internal Server Error", NULL,
			    anthropic ? "api_error" : "server_error", "Internal server error");
	} else if (!strcmp(action, "400")) {
		error_reply(fd, anthropic, 400, "Bad Request", NULL, "invalid_request_error",
			    "max_tokens: must be at most 8192");
	} else if (!strcmp(action, "400temp")) {
		if (anthropic)
			error_reply(fd, true, 400, "Bad Request", NULL, "invalid_request_error",
				    "temperature: not supported when thinking is enabled for this model");
		else
			respond(fd, 400, "Bad Request", NULL, "{\"error\":{\"message\":\"Unsupported value: "
				"'temperature' does not support 0.5 with this model. Only the default (1) "
				"value is supported.\",\"type\":\"invalid_request_error\",\"param\":"
				"\"temperature\",\"code\":\"unsupported_value\"}}");
	} else if (!strcmp(action, "stall")) {
		stall(fd);
	} else if (!strcmp(action, "malformed")) {
		respond(fd, 200, "OK", NULL, "{\"choices\": [");
	} else if (!strcmp(action, "truncated")) {
		const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Content-Length: 1000\r\nConnection: close\r\n\r\n";
		write_all(fd, head, strlen(head));
		write_all(fd, "{\"id\":\"chatcmpl-tes", 20);
	} else if (!strcmp(action, "refusal")) {
		if (anthropic)
			anthropic_reply(fd, "", "refusal");
		else
			openai_reply(fd, "null", "\"I can't help with that.\"", "stop", 0);
	} else if (!strcmp(action, "empty_length")) {
		if (anthropic)
			anthropic_reply(fd, "{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"s\"}",
					"max_tokens");
		else
			openai_reply(fd, "\"\"", "null", "length", 45);
	} else if (!strcmp(action, "auth")) {
		const char *key = rq->api_key[0] ? rq->api_key : rq->authorization;
		if (!strncmp(key, "Bearer ", 7))
			key += 7;
		char *msg = NULL;
		if (asprintf(&msg, "Incorrect API key provided: %s. Find your key at the console.", key) < 0)
			die("out of memory");
		error_reply(fd, anthropic, 401, "Unauthorized", NULL,
			    anthropic ? "authentication_error" : "invalid_api_key", msg);
		free(msg);
	} else {
		respond(fd, 500, "Internal Server Error", NULL, "{\"error\":\"llm_server: unknown action\"}");
	}
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: llm_server SCRIPT LOG [IDLE_S]");
	int idle_s = argc > 3 ? atoi(argv[3]) : 20;
	if (idle_s <= 0)
		idle_s = 20;
	signal(SIGPIPE, SIG_IGN);

	char *lines[MAX_LINES];
	int n_lines = 0;
	FILE *f = fopen(argv[1], "r");
	if (!f)
		die("cannot open %s: %s", argv[1], strerror(errno));
	char line[4096];
	while (n_lines < MAX_LINES && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (!(lines[n_lines++] = strdup(line)))
			die("out of memory");
	}
	fclose(f);
	if (!n_lines)
		die("%s holds no action", argv[1]);
	FILE *log = fopen(argv[2], "a");
	if (!log)
		die("cannot open %s: %s", argv[2], strerror(errno));

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof addr;
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(ls, (struct sockaddr *)&addr, sizeof addr) || listen(ls, 16) ||
	    getsockname(ls, (struct sockaddr *)&addr, &alen))
		die("cannot listen on 127.0.0.1: %s", strerror(errno));
	printf("port %d\n", ntohs(addr.sin_port));
	fflush(stdout);

	for (int count = 0;; count++) {
		const char *action = lines[count < n_lines ? count : n_lines - 1];
		if (!strcmp(action, "quit"))
			break;
		struct pollfd p = { .fd = ls, .events = POLLIN };
		int ready = poll(&p, 1, idle_s * 1000);
		if (ready < 0 && errno == EINTR) {
			count--;
			continue;
		}
		if (ready <= 0)
			break;  /* idle: nobody is testing any more */
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			count--;
			continue;
		}
		struct timeval tv = { 5, 0 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		struct request rq = { 0 };
		if (read_request(fd, &rq)) {
			close(fd);
			count--;
			continue;
		}
		fprintf(log, "request %d: %s %s\nauthorization: %s\nx-api-key: %s\n"
			"anthropic-version: %s\nbody: %s\naction: %s\n\n",
			count + 1, rq.method, rq.path, rq.authorization, rq.api_key, rq.version,
			rq.body, action);
		fflush(log);
		serve(fd, action, &rq);
		shutdown(fd, SHUT_WR);
		close(fd);
		free(rq.body);
	}
	fclose(log);
	close(ls);
	for (int i = 0; i < n_lines; i++)
		free(lines[i]);
	return 0;
}
