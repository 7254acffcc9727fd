/*
 * util.h - small shared pieces: capped growable buffers, files and paths,
 * SHA-256 for content addressing, and a monotonic clock.
 */
#ifndef KBREED_UTIL_H
#define KBREED_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer that refuses to grow past `cap` bytes. Always
 * NUL-terminated when len > 0. */
struct buf {
	char *data;    /* owned; NULL until the first append */
	size_t len;    /* bytes used, excluding the terminating NUL */
	size_t alloc;  /* bytes allocated */
	size_t cap;    /* most bytes this buffer may hold; 0 means 64 MiB */
};

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
/* Returns 0, or -1 (nothing appended) when the cap would be exceeded or
 * memory ran out. */
int buf_append(struct buf *b, const void *data, size_t n);
__attribute__((format(printf, 2, 3))) int buf_printf(struct buf *b, const char *fmt, ...);
/* The contents as a string ("" when empty); still owned by the buffer. */
const char *buf_str(const struct buf *b);
/* Hands the contents to the caller (free() them) and resets the buffer. */
char *buf_detach(struct buf *b);

/* malloc/strdup that abort on exhaustion: an out-of-memory host is not a
 * recoverable state for a CLI. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);

/* Reads a whole file into *out (caller frees), at most `cap` bytes. */
int util_read_file(const char *path, size_t cap, char **out, size_t *len);
/* Writes data to path atomically (temporary file, fsync, rename). */
int util_write_file(const char *path, const void *data, size_t len);
/* Gives the file from the name to as well, on any filesystem, never
 * replacing a file at to: a hard link where both are on one filesystem,
 * else a copy written beside to, synced, then linked into place. from stays;
 * the caller removes it once the move is complete. Returns 0, 1 when to
 * exists already (nothing done), or -1 after a message. */
int util_link_or_copy(const char *from, const char *to);
/* mkdir -p with mode 0700 for new directories. */
int util_mkdirs(const char *path);
/* rm -r of a directory tree that kbreed made; refuses "/" and "". */
int util_remove_tree(const char *path);
bool util_file_exists(const char *path);
/* Whether a space-separated list holds word as a whole entry ("VEC" is not
 * in "XVEC THREADS"); an empty word is in no list. */
bool util_word_in(const char *list, const char *word);
bool util_is_dir(const char *path);

/* SHA-256 of data, as 64 lowercase hex characters plus NUL into hex[65]. */
void util_sha256_hex(const void *data, size_t len, char hex[65]);

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final_hex(struct sha256 *s, char hex[65]);

/* Seconds on a monotonic clock. */
double util_now(void);

/* The user's cache directory for kbreed (caller frees): $KBREED_CACHE, else
 * $XDG_CACHE_HOME/kbreed, else $HOME/.cache/kbreed. */
char *util_cache_dir(void);
/* The user's data directory for kbreed, where results are kept (caller
 * frees): $XDG_DATA_HOME/kbreed, else $HOME/.local/share/kbreed. */
char *util_data_dir(void);

#endif
