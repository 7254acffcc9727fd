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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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

/* test_private_cache, but the compiled kernels (<cache>/build) in
 * $KBREED_TEST_NVCC_CACHE where make sets it: `make test-asan` then finds
 * the templates that `make test` compiled, source, flags and nvcc alike, and
 * does not run nvcc on them again (nvcc is no code the sanitizers watch).
 * Only for tests that do not count cache hits. */
static inline void test_private_cache_shared_nvcc(void)
{
	test_private_cache();
	const char *shared = getenv("KBREED_TEST_NVCC_CACHE");
	if (!shared || !*shared)
		return;
	char *link = NULL;
	if (asprintf(&link, "%s/build", getenv("KBREED_CACHE")) < 0)
		abort();
	if ((mkdir(shared, 0755) == 0 || errno == EEXIST) && symlink(shared, link) != 0)
		fprintf(stderr, "cannot link %s to %s: the kernels compile afresh\n", link, shared);
	free(link);
}

#endif