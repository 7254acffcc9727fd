/*
 * fuzz.h - what the libFuzzer harnesses of tests/fuzz/ share. libFuzzer
 * hands a harness bytes that are not NUL-terminated, and kbreed's parsers
 * take C strings: fuzz_cstr() makes the string (an embedded NUL simply ends
 * it early, as it would for text read from a file or a socket). The logger
 * is silenced once, so that millions of rejected inputs print nothing.
 */
#ifndef KBREED_FUZZ_H
#define KBREED_FUZZ_H
#include "log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* data as a NUL-terminated string (caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_verbosity = LOG_QUIET;
	return 0;
}
#endif
