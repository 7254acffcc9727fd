/*
 * http.c - one HTTP POST through libcurl, for the LLM proposer's model
 * endpoints (src/llm.c). The only file that includes curl.h.
 *
 * A model endpoint is slow by nature: a non-streaming reply is silent while
 * the model generates, for seconds or minutes. So silence before the reply is
 * bounded only by the caller's total limit (and by TCP keepalive, which ends
 * a connection whose peer vanished); once the request is going out or the
 * reply has begun, bytes must keep flowing, and a transfer that stops for
 * HTTP_STALL_S ends at once. curl's own low-speed limit is not used for this
 * because it would also count the model's thinking time as a stall.
 *
 * Built with -DKBREED_NO_CURL (NO_CURL=1, or no libcurl on the build
 * machine), every post fails with a clear message and nothing else changes.
 */
#define _GNU_SOURCE
#include "http.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_DEFAULT_CAP (16u << 20)

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->body, HTTP_DEFAULT_CAP);
}

void http_response_release(struct http_response *r)
{
	buf_release(&r->body);
	free(r->retry_after);
	free(r->error);
	r->retry_after = NULL;
	r->error = NULL;
}

#ifdef KBREED_NO_CURL

bool http_available(void)
{
	return false;
}

int http_global_init(void)
{
	return 0;
}

int http_post(const char *url, const char *const *headers, const char *body, double timeout_s,
	      size_t body_cap, struct http_response *out)
{
	free(out->error);
	out->error = xstrdup("kbreed was built without libcurl");
	return -1;
}

#else

#include <curl/curl.h>
#include <pthread.h>

#define HTTP_STALL_S 30.0     /* no byte moved for this long, mid-transfer: give up */
#define HTTP_CONNECT_S 30.0   /* connection and TLS handshake */
#define HTTP_RETRY_AFTER_MAX 64

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_FAILED_INIT;

static void http_init_once(void)
{
	http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool http_available(void)
{
	return true;
}

int http_global_init(void)
{
	int rc = pthread_once(&http_once, http_init_once);
	if (rc)
		return error("cannot initialise libcurl: pthread_once failed (%d)", rc);
	if (http_init_rc != CURLE_OK)
		return error("cannot initialise libcurl: %s", curl_easy_strerror(http_init_rc));
	return 0;
}

/* The state of one transfer, shared by curl's callbacks. */
struct http_xfer {
	struct http_response *out;
	bool over_cap;          /* the body went past its cap */
	bool stalled;           /* bytes stopped flowing mid-transfer */
	bool replying;          /* the first header line of the reply arrived */
	curl_off_t last_dl;     /* body bytes received at the last progress call */
	curl_off_t last_ul;     /* request bytes sent at the last progress call */
	double last_move;       /* util_now() when bytes last moved */
};

static size_t http_on_body(char *data, size_t size, size_t n, void *p)
{
	struct http_xfer *x = p;
	size_t len = size * n;
	if (buf_append(&x->out->body, data, len)) {
		x->over_cap = true;
		return 0;  /* curl ends the transfer with CURLE_WRITE_ERROR */
	}
	return len;
}

static size_t http_on_header(char *data, size_t size, size_t n, void *p)
{
	struct http_xfer *x = p;
	size_t len = size * n;
	x->replying = true;
	x->last_move = util_now();
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* A new response (after "100 Continue"): forget the earlier one's headers. */
		free(x->out->retry_after);
		x->out->retry_after = NULL;
	} else if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		const char *v = data + 12, *end = data + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		size_t vlen = (size_t)(end - v);
		if (vlen > HTTP_RETRY_AFTER_MAX)
			vlen = HTTP_RETRY_AFTER_MAX;
		free(x->out->retry_after);
		x->out->retry_after = xmalloc(vlen + 1);
		memcpy(x->out->retry_after, v, vlen);
		x->out->retry_after[vlen] = '\0';
	}
	return len;
}

static int http_on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			    curl_off_t ulnow)
{
	struct http_xfer *x = p;
	double now = util_now();
	if (dlnow != x->last_dl || ulnow != x->last_ul) {
		x->last_dl = dlnow;
		x->last_ul = ulnow;
		x->last_move = now;
		return 0;
	}
	/* Silence after the request went out and before the reply began is the
	 * model at work: only the total limit bounds it. */
	bool sending = ulnow > 0 && ulnow < ultotal;
	if ((sending || x->replying) && now - x->last_move > HTTP_STALL_S) {
		x->stalled = true;
		return 1;  /* curl ends the transfer with CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

/* The hosts that never go through a proxy: loopback, plus the user's list. */
static char *http_noproxy(void)
{
	const char *np = getenv("no_proxy");
	if (!np || !*np)
		np = getenv("NO_PROXY");
	if (np && !strcmp(np, "*"))
		return xstrdup("*");
	if (np && *np)
		return xasprintf("localhost,127.0.0.1,::1,%s", np);
	return xstrdup("localhost,127.0.0.1,::1");
}

static void http_fail(struct http_response *out, char *msg)
{
	free(out->error);
	out->error = msg;
}

int http_post(const char *url, const char *const *headers, const char *body, double timeout_s,
	      size_t body_cap, struct http_response *out)
{
	int rc = -1;
	CURL *h = NULL;
	struct curl_slist *list = NULL;
	char *noproxy = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct http_xfer x = { .out = out, .last_move = util_now() };

	if (!url || !body)
		BUG("http_post without a url or a body");
	buf_release(&out->body);
	out->body.cap = body_cap ? body_cap : HTTP_DEFAULT_CAP;
	out->status = 0;
	out->timed_out = out->truncated = false;
	free(out->retry_after);
	out->retry_after = NULL;
	free(out->error);
	out->error = NULL;

	if (http_global_init()) {
		http_fail(out, xstrdup("cannot initialise libcurl"));
		goto out;
	}
	h = curl_easy_init();
	if (!h) {
		http_fail(out, xstrdup("curl_easy_init failed"));
		goto out;
	}
	for (int i = 0; headers && headers[i]; i++) {
		struct curl_slist *l = curl_slist_append(list, headers[i]);
		if (!l) {
			http_fail(out, xstrdup("out of memory for request headers"));
			goto out;
		}
		list = l;
	}
	/* No "Expect: 100-continue" round trip for large prompts. */
	struct curl_slist *l = curl_slist_append(list, "Expect:");
	if (!l) {
		http_fail(out, xstrdup("out of memory for request headers"));
		goto out;
	}
	list = l;
	noproxy = http_noproxy();

	long total_ms = timeout_s > 0 ? (long)(timeout_s * 1000) : 0;
	long connect_ms = (long)(HTTP_CONNECT_S * 1000);
	if (total_ms > 0 && total_ms < connect_ms)
		connect_ms = total_ms;
	CURLcode c = curl_easy_setopt(h, CURLOPT_URL, url);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_NOPROXY, noproxy);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_USERAGENT, "kbreed");
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_on_header);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, http_on_progress);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	if (c) {
		http_fail(out, xasprintf("cannot set up the request: %s", curl_easy_strerror(c)));
		goto out;
	}

	c = curl_easy_perform(h);
	long status = 0;
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
		out->status = status;
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);
	switch (c) {
	case CURLE_OK:
		rc = 0;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		out->timed_out = true;
		http_fail(out, xasprintf("no complete reply within %.3g s (%s)", timeout_s, why));
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		out->timed_out = true;
		http_fail(out, xasprintf("the transfer stalled: no byte for %.0f s", HTTP_STALL_S));
		break;
	case CURLE_WRITE_ERROR:
		if (x.over_cap) {
			out->truncated = true;
			http_fail(out, xasprintf("the reply is larger than %zu bytes", out->body.cap));
		} else {
			http_fail(out, xasprintf("cannot keep the reply: %s", why));
		}
		break;
	case CURLE_PARTIAL_FILE:
		out->truncated = true;
		http_fail(out, xasprintf("the connection closed after %zu bytes of the reply, "
					 "before its end (%s)", out->body.len, why));
		break;
	default:
		http_fail(out, xasprintf("%s", why));
		break;
	}
out:
	curl_slist_free_all(list);
	if (h)
		curl_easy_cleanup(h);
	free(noproxy);
	return rc;
}

#endif
