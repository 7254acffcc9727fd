/*
 * home.h - where kbreed's own files are: bridge/, problems/, include/,
 * kernels/. $KBREED_HOME, else the directory above the running binary
 * (build/kbreed -> the checkout).
 */
#ifndef KBREED_HOME_H
#define KBREED_HOME_H

/* The kbreed home directory; static storage, computed once. */
const char *home_dir(void);
/* The GPU worker binary: $KBREED_WORKER when set (tests use a fake one),
 * else build/kbreed-worker beside the running binary. Computed once. */
const char *home_worker(void);

#endif
