/*
 * http.h - the HTTP client of the LLM proposer: one POST, its reply capped,
 * its time bounded. The one file that includes libcurl (src/http.c); built
 * without it (NO_CURL=1, or no libcurl found), every post fails with
 * "kbreed was built without libcurl" and the command-line provider still works.
 */
#ifndef KBREED_HTTP_H
#define KBREED_HTTP_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>

/* What came back from one POST. */
struct http_response {
	long status;        /* HTTP status; 0 when no status line arrived */
	struct buf body;    /* the reply body, capped at http_post's body_cap */
	char *retry_after;  /* the raw Retry-After header value, or NULL */
	bool timed_out;     /* the total time limit passed, or the transfer stalled */
	bool truncated;     /* the body is incomplete: over body_cap, or the
			     * connection closed before Content-Length bytes */
	char *error;        /* why no complete reply arrived, or NULL; owned */
};

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);

/* Whether this build can talk HTTP (false when built without libcurl). */
bool http_available(void);

/* Initialises libcurl once per process; safe to call from any thread, any
 * number of times (pthread_once). http_post calls it itself; main may call it
 * early so that a broken libcurl shows before any work starts. Returns 0 or -1. */
int http_global_init(void);

/*
 * POSTs body to url with the given headers (a NULL-terminated list of
 * "Name: value"; may be NULL). At most timeout_s seconds in all; a transfer
 * whose bytes stop flowing once the reply has started, or whose connection
 * cannot be opened within 30 s, ends earlier. At most body_cap bytes of reply
 * are kept (0 means 16 MiB). Redirects are not followed (they would carry the
 * headers elsewhere).
 *
 * Returns 0 when a complete HTTP reply arrived, whatever its status; -1
 * otherwise, with out->error saying why (out->status is set when a status
 * line arrived before the failure). Prints nothing: the caller decides what
 * to report. Header values are never copied into out->error.
 */
int http_post(const char *url, const char *const *headers, const char *body, double timeout_s,
	      size_t body_cap, struct http_response *out);

#endif
