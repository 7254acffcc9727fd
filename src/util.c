/*
 * util.c - buffers, files, SHA-256 and clocks shared by every stage.
 */
#define _GNU_SOURCE
#include "util.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUF_DEFAULT_CAP (64u << 20)

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : BUF_DEFAULT_CAP;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	if (n > b->cap || b->len > b->cap - n)
		return -1;
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc ? b->alloc : 256;
		while (want < b->len + n + 1)
			want *= 2;
		char *p = realloc(b->data, want);
		if (!p)
			return -1;
		b->data = p;
		b->alloc = want;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	int rc = buf_append(b, s, (size_t)n);
	free(s);
	return rc;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_detach(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");
	buf_init(b, b->cap);
	return s;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		BUG("out of memory");
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		BUG("out of memory");
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		BUG("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		BUG("out of memory");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		BUG("out of memory");
	return s;
}

int util_read_file(const char *path, size_t cap, char **out, size_t *len)
{
	int rc = -1;
	struct buf b;
	buf_init(&b, cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error("cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error("cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n)) {
			error("%s is larger than %zu bytes", path, b.cap);
			goto out;
		}
	}
	if (len)
		*len = b.len;
	*out = buf_detach(&b);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&b);
	return rc;
}

int util_write_file(const char *path, const void *data, size_t len)
{
	int rc = -1;
	/* Failure injection for tests: writes to paths containing this text fail
	 * as on a full disk. */
	const char *inject = getenv("KBREED_TEST_ENOSPC");
	if (inject && *inject && strstr(path, inject)) {
		errno = ENOSPC;
		return error("cannot write %s: %s", path, strerror(errno));
	}
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		error("cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error("cannot write %s: %s", tmp, strerror(errno));
			goto out_unlink;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) || close(fd)) {
		fd = -1;
		error("cannot write %s: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path)) {
		error("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out_unlink;
	}
	rc = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rc;
}

/* Copies from into a new temporary beside to, synced; returns its name
 * (caller frees and unlinks), or NULL after a message. */
static char *copy_beside(const char *from, const char *to)
{
	char *tmp = xasprintf("%s.tmp.%ld", to, (long)getpid());
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, ok = 0;
	if (in < 0) {
		error("cannot read %s: %s", from, strerror(errno));
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		error("cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	char chunk[1 << 16];
	for (;;) {
		ssize_t n = read(in, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error("cannot read %s: %s", from, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, chunk + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				error("cannot write %s: %s", tmp, strerror(errno));
				goto out;
			}
			done += w;
		}
	}
	if (fsync(out)) {
		error("cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	ok = 1;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) && ok) {
		error("cannot write %s: %s", tmp, strerror(errno));
		ok = 0;
	}
	if (!ok && out >= 0)
		unlink(tmp);
	if (!ok) {
		free(tmp);
		tmp = NULL;
	}
	return tmp;
}

int util_link_or_copy(const char *from, const char *to)
{
	if (link(from, to) == 0)
		return 0;
	if (errno == EEXIST)
		return 1;
	if (errno != EXDEV && errno != EPERM && errno != ENOTSUP)
		return error("cannot link %s to %s: %s", from, to, strerror(errno));
	char *tmp = copy_beside(from, to);
	if (!tmp)
		return -1;
	int rc = 0;
	if (link(tmp, to))
		rc = errno == EEXIST ? 1 : error("cannot link %s to %s: %s", tmp, to, strerror(errno));
	unlink(tmp);
	free(tmp);
	return rc;
}

int util_mkdirs(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0700) && errno != EEXIST) {
				rc = error("cannot create directory %s: %s", p, strerror(errno));
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	if (!rc && !util_is_dir(path))
		rc = error("%s exists and is not a directory", path);
	free(p);
	return rc;
}

int util_remove_tree(const char *path)
{
	if (!path || !*path || !strcmp(path, "/"))
		BUG("refusing to remove an empty path or /");
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : error("cannot open %s: %s", path, strerror(errno));
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *child = xasprintf("%s/%s", path, e->d_name);
		struct stat st;
		if (!lstat(child, &st) && S_ISDIR(st.st_mode))
			rc |= util_remove_tree(child);
		else if (unlink(child))
			rc = error("cannot remove %s: %s", child, strerror(errno));
		free(child);
	}
	closedir(d);
	if (rmdir(path))
		rc = error("cannot remove %s: %s", path, strerror(errno));
	return rc;
}

bool util_file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool util_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* SHA-256 as in FIPS 180-4. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha256_k[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(s->h, iv, sizeof iv);
	s->bytes = 0;
	s->fill = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	s->bytes += len;
	while (len) {
		size_t take = 64 - s->fill < len ? 64 - s->fill : len;
		memcpy(s->block + s->fill, p, take);
		s->fill += take;
		p += take;
		len -= take;
		if (s->fill == 64) {
			sha256_block(s, s->block);
			s->fill = 0;
		}
	}
}

void sha256_final_hex(struct sha256 *s, char hex[65])
{
	uint64_t bits = s->bytes * 8;
	uint8_t pad = 0x80;
	sha256_update(s, &pad, 1);
	uint8_t zero = 0;
	while (s->fill != 56)
		sha256_update(s, &zero, 1);
	uint8_t len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

void util_sha256_hex(const void *data, size_t len, char hex[65])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final_hex(&s, hex);
}

double util_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

char *util_cache_dir(void)
{
	const char *v = getenv("KBREED_CACHE");
	if (v && *v)
		return xstrdup(v);
	v = getenv("XDG_CACHE_HOME");
	if (v && *v)
		return xasprintf("%s/kbreed", v);
	v = getenv("HOME");
	return xasprintf("%s/.cache/kbreed", v && *v ? v : "/tmp");
}

char *util_data_dir(void)
{
	const char *v = getenv("XDG_DATA_HOME");
	if (v && *v)
		return xasprintf("%s/kbreed", v);
	v = getenv("HOME");
	return xasprintf("%s/.local/share/kbreed", v && *v ? v : "/tmp");
}

bool util_word_in(const char *list, const char *word)
{
	size_t len = strlen(word);
	if (!len)
		return false;
	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
			return true;
	return false;
}
