/*
 * testing.h - what every unit test includes: cmocka and a few helpers.
 * Tests run from the repository root (tests/run_tests.sh sees to it).
 */
#ifndef KBREED_TESTING_H
#define KBREED_TESTING_H

#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The build directory this test was built into (build/ or the sanitized
 * build-asan/), where its helpers lie; the Makefile defines it. */
#ifndef TEST_BUILD
#define TEST_BUILD "build"
#endif

/* A fresh private directory under $TMPDIR (caller frees). */
static inline char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *t = NULL;
	if (asprintf(&t, "%s/kbreed-test-XXXXXX", base) < 0 || !mkdtemp(t))
		abort();
	return t;
}

/* Points kbreed's cache at a private directory for this test binary, and
 * its home at the checkout (tests run from the repository root). */
static inline void test_private_cache(void)
{
	char *dir = test_tmpdir();
	setenv("KBREED_CACHE", dir, 1);
	free(dir);
	char cwd[4096];
	if (getcwd(cwd, sizeof cwd))
		setenv("KBREED_HOME", cwd, 1);
}

#endif
