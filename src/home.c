/*
 * home.c - finding kbreed's own files from the running binary, in a checkout
 * (build/kbreed) or installed by `make install` (PREFIX/bin/kbreed, its files
 * in PREFIX/share/kbreed, the worker in PREFIX/libexec/kbreed).
 */
#define _GNU_SOURCE
#include "home.h"

#include "log.h"
#include "util.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A file every home holds: the bridge kbreed runs for every problem. */
#define HOME_MARK "bridge/kbreed_bridge.py"

static char *exe_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return xstrdup(".");
	path[n] = '\0';
	return xstrdup(dirname(path));
}

/* dir made absolute and free of "..", or dir itself when it does not exist. */
static char *canonical(char *dir)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return dir;
	free(dir);
	return xstrdup(real);
}

static bool holds_mark(const char *dir)
{
	char *mark = xasprintf("%s/%s", dir, HOME_MARK);
	bool yes = util_file_exists(mark);
	free(mark);
	return yes;
}

const char *home_dir(void)
{
	static char *home;
	if (home)
		return home;
	const char *env = getenv("KBREED_HOME");
	if (env && *env) {
		home = canonical(xstrdup(env));
		if (!holds_mark(home))
			warn("$KBREED_HOME is %s, which holds no %s: kbreed's files are not there", home,
			     HOME_MARK);
		return home;
	}
	char *dir = exe_dir();
	char *installed = canonical(xasprintf("%s/../share/kbreed", dir));
	char *checkout = canonical(xasprintf("%s/..", dir));
	if (holds_mark(installed)) {
		home = installed;
		free(checkout);
	} else {
		if (!holds_mark(checkout))
			warn("kbreed's files are not beside its binary %s (looked for %s in %s and %s); "
			     "install with `make install PREFIX=...`, or set KBREED_HOME to a kbreed checkout",
			     dir, HOME_MARK, installed, checkout);
		home = checkout;
		free(installed);
	}
	free(dir);
	return home;
}

bool home_is_checkout(void)
{
	char *make = xasprintf("%s/Makefile", home_dir()), *main_c = xasprintf("%s/src/main.c", home_dir());
	bool yes = util_file_exists(make) && util_file_exists(main_c);
	free(make);
	free(main_c);
	return yes;
}

const char *home_worker(void)
{
	static char *worker;
	const char *env = getenv("KBREED_WORKER");
	if (!worker && env && *env)
		worker = xstrdup(env);
	if (!worker) {
		char *dir = exe_dir();
		worker = xasprintf("%s/kbreed-worker", dir);
		if (!util_file_exists(worker)) {
			char *installed = canonical(xasprintf("%s/../libexec/kbreed/kbreed-worker", dir));
			if (util_file_exists(installed)) {
				free(worker);
				worker = installed;
			} else {
				free(installed);
			}
		}
		free(dir);
	}
	return worker;
}
