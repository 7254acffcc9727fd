/*
 * home.h - where kbreed's own files are: bridge/, problems/, include/,
 * kernels/, templates/, playbook/, prompts/.
 *
 * $KBREED_HOME when set; else, beside the running binary (/proc/self/exe),
 * the first of ../share/kbreed (an installed kbreed: PREFIX/bin/kbreed and
 * PREFIX/share/kbreed) and .. (a checkout: build/kbreed) that holds
 * bridge/kbreed_bridge.py. Nothing found is said once, with the places
 * looked at; the checkout's place is then used so that later messages name
 * the files missing.
 */
#ifndef KBREED_HOME_H
#define KBREED_HOME_H

#include <stdbool.h>

/* The kbreed home directory; static storage, computed once. */
const char *home_dir(void);
/* Whether the home is a checkout (it holds a Makefile and src/main.c), not
 * an installed share/kbreed. A checkout keeps bench results in bench/results/. */
bool home_is_checkout(void);
/* The GPU worker binary: $KBREED_WORKER when set (tests use a fake one),
 * else kbreed-worker beside the running binary, else, installed,
 * ../libexec/kbreed/kbreed-worker. Computed once. */
const char *home_worker(void);

#endif
