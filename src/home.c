/*
 * home.c - finding kbreed's own files from the running binary.
 */
#define _GNU_SOURCE
#include "home.h"

#include "util.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *exe_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return xstrdup(".");
	path[n] = '\0';
	return xstrdup(dirname(path));
}

const char *home_dir(void)
{
	static char *home;
	if (home)
		return home;
	const char *env = getenv("KBREED_HOME");
	if (env && *env) {
		home = xstrdup(env);
	} else {
		char *dir = exe_dir();
		home = xasprintf("%s/..", dir);
		char real[PATH_MAX];
		if (realpath(home, real)) {
			free(home);
			home = xstrdup(real);
		}
		free(dir);
	}
	return home;
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
		free(dir);
	}
	return worker;
}
