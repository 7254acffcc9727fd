/*
 * json_text.h - text as a JSON string, for the few files that encode JSON
 * through jansson (report, show, the LLM client's wire formats). Text read
 * from outside (a compiler's log, a model's reply) need not be UTF-8; it is
 * never dropped for that.
 */
#ifndef KBREED_JSON_TEXT_H
#define KBREED_JSON_TEXT_H

#include <jansson.h>

/* s as a new JSON string (caller owns the reference); NULL reads as "".
 * When s is not valid UTF-8, every byte outside ASCII becomes '?'. */
json_t *json_text(const char *s);

#endif
