/*
 * fake_nvcc.c - stands in for nvcc (KBREED_NVCC, through tests/cli/fake_nvcc.sh)
 * in tests that need many candidates fast: answers --version, and "compiles"
 * by copying an empty shared object (fake_nvcc_empty.so beside this program,
 * built by cc, so that the judge's link-time check reads a real ELF file) to
 * the -o path, logging the start of each compile to $KBREED_FAKE_EVENT_LOG
 * when set. The fake worker judges candidates by name, so nothing is ever
 * loaded. One process per compile, none started by it: the tests that use it
 * compile thousands of candidates.
 *
 * A source may ask for a broken machine, for as long as a file exists:
 *   // fake_nvcc: killed while /path/to/flag exists   (dies by SIGKILL)
 *   // fake_nvcc: disk full while /path/to/flag exists (exits 1, ENOSPC message)
 *   // this does not compile                             (a compile error, below)
 * (the first line of each kind counts; the flag is the text between "while "
 * and the line's last " exists"). With $KBREED_FAKE_SLOW_TEXT set, a source
 * that contains that text gets the line "kbreed-fake-slow" after its shared
 * object's bytes: the fake worker (KBREED_FAKE_SEARCH) times it 1 ms slower,
 * as a naive kernel is slow on a GPU, so that a test's winner does not hang
 * on a hash of the sources.
 * Groups (src/compile_group.h): "-c GROUP.cu" checks the group's text as one
 * source and writes, as its "object", the members' paths (from the unit's
 * #line 1 directives, the group's own path left out), one per line; a link
 * of that object with --defsym=kbreed_forward=kbreed_forward__member<i> makes
 * member i's shared object as above.
 * Exit status: 0, 1 (a compile error, the disk full), 2 (a bad command line,
 * a file it cannot read or write).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fake_nvcc: %s %s: %s\n", what, path, strerror(errno));
	exit(2);
}

/* The whole of path, NUL-terminated (its length in *len). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot read", path);
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	size_t r;
	while (s && (r = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			char *t = realloc(s, cap * 2);
			if (!t) {
				free(s);
				s = NULL;
				break;
			}
			s = t;
			cap *= 2;
		}
	}
	fclose(f);
	if (!s) {
		fprintf(stderr, "fake_nvcc: out of memory reading %s\n", path);
		exit(2);
	}
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

static void spill(const char *path, const char *bytes, size_t n, const char *tail)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n || (tail && fputs(tail, f) == EOF) || fclose(f) != 0)
		die("cannot write", path);
}

/* The length of the line at line (without its newline) in *n, and the
 * next line, or NULL after the last. */
static const char *next_line(const char *line, size_t *n)
{
	const char *end = strchr(line, '\n');
	*n = end ? (size_t)(end - line) : strlen(line);
	return end ? end + 1 : NULL;
}

/* The flag file of the first line of src that says "fake_nvcc: KIND while
 * FLAG exists", or NULL. */
static char *flag_for(const char *src, const char *kind)
{
	char key[64];
	snprintf(key, sizeof key, "fake_nvcc: %s while ", kind);
	size_t n;
	for (const char *line = src, *next; line; line = next) {
		next = next_line(line, &n);
		const char *k = memmem(line, n, key, strlen(key));
		if (k) {
			const char *f = k + strlen(key), *last = NULL;
			for (const char *e = f; (e = memmem(e, (size_t)(line + n - e), " exists", 7)); e++)
				last = e;
			if (last)
				return strndup(f, (size_t)(last - f));
		}
	}
	return NULL;
}

/* Line i (from 1) of s, without its newline, or NULL. */
static char *line_of(const char *s, long i)
{
	size_t n;
	long at = 1;
	for (const char *line = s, *next; line; line = next, at++) {
		next = next_line(line, &n);
		if (at == i)
			return strndup(line, n);
	}
	return NULL;
}

/* The members of a group unit: each '#line 1 "PATH"' line's PATH but the
 * unit's own, one per line (the empty string where none). */
static char *members_of(const char *text, const char *self)
{
	size_t cap = strlen(text) + 2, n = 0;
	char *out = malloc(cap);
	if (!out)
		exit(2);
	out[0] = '\0';
	static const char pre[] = "#line 1 \"";
	size_t len;
	for (const char *line = text, *next; line; line = next) {
		next = next_line(line, &len);
		if (len > sizeof pre && !strncmp(line, pre, sizeof pre - 1) && line[len - 1] == '"') {
			const char *p = line + sizeof pre - 1;
			size_t plen = len - (sizeof pre - 1) - 1;
			if (!(strlen(self) == plen && !strncmp(p, self, plen))) {
				memcpy(out + n, p, plen);
				n += plen;
				out[n++] = '\n';
				out[n] = '\0';
			}
		}
	}
	return out;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		puts("fake nvcc for kbreed tests, release 0.0");
		return 0;
	}
	const char *out = NULL, *src = NULL, *object = NULL, *member = NULL;
	int unit = 0;
	static const char defsym[] = "--defsym=kbreed_forward=kbreed_forward__member";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "-c"))
			unit = 1;
		else if (ends_with(argv[i], ".cu"))
			src = argv[i];
		else if (ends_with(argv[i], ".o"))
			object = argv[i];
		else if (!strncmp(argv[i], defsym, sizeof defsym - 1))
			member = argv[i] + sizeof defsym - 1;
	}
	char *member_src = NULL;
	if (object && member) {
		/* a member's link: its source is line <member + 1> of the object */
		char *obj = slurp(object, NULL);
		member_src = line_of(obj, atol(member) + 1);
		free(obj);
		src = member_src;
	}
	if (!out || !src || !*src) {
		fprintf(stderr, "fake_nvcc: need -o OUT and a .cu\n");
		return 2;
	}
	char *text = slurp(src, NULL);
	char *members = unit ? members_of(text, src) : NULL;

	const char *events = getenv("KBREED_FAKE_EVENT_LOG");
	if (events && *events && !object) {
		FILE *f = fopen(events, "a");
		if (!f)
			die("cannot append to", events);
		if (unit) {
			fputs("nvcc group ", f);
			for (const char *m = members; *m;) {
				const char *end = strchr(m, '\n');
				char *path = strndup(m, (size_t)(end - m));
				fprintf(f, "%s ", base(path));
				free(path);
				m = end + 1;
			}
			fputc('\n', f);
		} else {
			fprintf(f, "nvcc %s\n", base(src));
		}
		fclose(f);
	}

	if (strstr(text, "fake_nvcc: ")) {
		char *flag = flag_for(text, "killed");
		if (flag && *flag && access(flag, F_OK) == 0)
			kill(getpid(), SIGKILL);
		free(flag);
		flag = flag_for(text, "disk full");
		if (flag && *flag && access(flag, F_OK) == 0) {
			fprintf(stderr, "fake_nvcc: write to TMPDIR: No space left on device\n");
			return 1;
		}
		free(flag);
	}
	/* A compile error as nvcc prints it, after a diagnostic about another
	 * file that quotes one of its lines (what "#include" of a file of the
	 * machine makes nvcc print): kbreed must never pass that line on to a
	 * model. */
	if (strstr(text, "this does not compile")) {
		fprintf(stderr, "/etc/kbreed-fake-secret(1): error: identifier \"FAKE_SECRET_WORD\" is undefined\n"
				"  FAKE_SECRET_WORD:x:0:0\n  ^\n\n");
		fprintf(stderr, "%s(3): error: fake compile error\n  // this does not compile\n  ^\n\n"
				"2 errors detected in the compilation of \"%s\".\n", src, src);
		return 1;
	}
	if (unit) {
		/* as the members, one per line; a lone newline where there are none */
		spill(out, members, strlen(members), *members ? NULL : "\n");
		return 0;
	}

	/* The empty shared object beside this program. */
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 64);
	if (n <= 0)
		die("cannot find itself", "/proc/self/exe");
	self[n] = '\0';
	strcpy(strrchr(self, '/') + 1, "fake_nvcc_empty.so");
	size_t len;
	char *so = slurp(self, &len);
	const char *slow = getenv("KBREED_FAKE_SLOW_TEXT");
	spill(out, so, len, slow && *slow && strstr(text, slow) ? "kbreed-fake-slow\n" : NULL);
	free(so);
	free(text);
	free(members);
	free(member_src);
	return 0;
}
