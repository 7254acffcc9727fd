/*
 * compile_group.c - which candidates may share a translation unit, and the
 * unit's text (compile_group.h tells why). The reading here is deliberately
 * shallow and conservative: a source it is not sure of is compiled alone,
 * which costs time, never a verdict.
 */
#define _GNU_SOURCE
#include "compile_group.h"

#include "util.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MACROS 512           /* names one member may define or undefine */
#define MAX_TEXT (4u << 20)      /* bytes of one member */

/* Headers a member may include: each is included once before every member
 * (in this order), so that the member's own #include finds its guard set.
 * Every one has an include guard. */
static const char *const headers[] = {
	"stdint.h", "stddef.h", "stdbool.h", "stdio.h", "stdlib.h", "string.h", "math.h", "float.h",
	"limits.h", "cstdint", "cstddef", "cstdio", "cstdlib", "cstring", "cmath", "cfloat", "climits",
	"type_traits", "utility", "algorithm", "cuda_runtime.h", "cuda.h", "cuda_fp16.h", "cuda_bf16.h",
	"cuda_fp8.h", "mma.h", "cuda_pipeline.h", "cooperative_groups.h", "cooperative_groups/reduce.h",
	"cuda/barrier", "cuda/pipeline", "kbreed_candidate.h",
};
#define N_HEADERS (int)(sizeof headers / sizeof headers[0])
_Static_assert(sizeof headers / sizeof headers[0] <= 64, "a header set is one uint64_t");

/* Names a member must not define: the group's own renaming and the ABI's. */
static const char *const reserved[] = { "kbreed_forward", "kbreed_abi_version", "KB_EXPORT", "KB_EXTERN_C",
					"KBREED_CANDIDATE_ABI", "KBREED_ABI_VERSION" };

/* What one member's text holds. */
struct scan {
	bool uses[N_HEADERS];          /* headers it includes */
	char *macros[MAX_MACROS];      /* names it defines or undefines, each once; owned */
	int n_macros;
	const char *why;               /* the first reason it cannot be grouped, or NULL */
};

static void scan_release(struct scan *s)
{
	for (int i = 0; i < s->n_macros; i++)
		free(s->macros[i]);
	s->n_macros = 0;
}

int compile_group_size(void)
{
	const char *v = getenv("KBREED_COMPILE_GROUP");
	char *end = NULL;
	long n = v && *v ? strtol(v, &end, 10) : 0;
	if (v && *v && end && !*end && n >= 1 && n <= COMPILE_GROUP_MAX)
		return (int)n;
	return COMPILE_GROUP_DEFAULT;
}

static bool is_word(int c)
{
	return isalnum(c) || c == '_';
}

/* Past a comment, a string or a character literal that starts at p (or p
 * itself when none starts there). */
static const char *skip_unit(const char *p, const char *end)
{
	if (p + 1 < end && p[0] == '/' && p[1] == '/') {
		while (p < end && *p != '\n')
			p++;
		return p;
	}
	if (p + 1 < end && p[0] == '/' && p[1] == '*') {
		const char *q = p + 2;
		while (q + 1 < end && !(q[0] == '*' && q[1] == '/'))
			q++;
		return q + 1 < end ? q + 2 : end;
	}
	if (*p == '"' || *p == '\'') {
		char quote = *p++;
		while (p < end && *p != quote && *p != '\n')
			p += *p == '\\' && p + 1 < end ? 2 : 1;
		return p < end ? p + 1 : end;
	}
	return p;
}

/* Past blanks and comments, not past a newline when stop_at_newline. */
static const char *skip_space(const char *p, const char *end, bool stop_at_newline)
{
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || (*p == '\n' && !stop_at_newline) ||
				   (*p == '\\' && p + 1 < end && p[1] == '\n')))
			p += *p == '\\' ? 2 : 1;
		const char *q = p < end && *p == '/' ? skip_unit(p, end) : p;
		if (q == p)
			return p;
		p = q;
	}
}

/* Whether a macro of this name may configure the headers (reserved names,
 * NDEBUG, CUDA's and its libraries' switches): a group includes them before
 * any member, so a member that sets one would get headers unlike its own. */
static bool configures_headers(const char *name, size_t len)
{
	static const char *const prefixes[] = { "_", "NDEBUG", "CUDA", "CUB", "CCCL", "THRUST", "LIBCUDACXX" };
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (len >= strlen(prefixes[i]) && !strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static void add_macro(struct scan *s, const char *name, size_t len)
{
	if (configures_headers(name, len)) {
		s->why = "defines a macro that may configure the headers a group includes first";
		return;
	}
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strlen(reserved[i]) == len && !strncmp(reserved[i], name, len)) {
			s->why = "defines a name of the ABI";
			return;
		}
	for (int i = 0; i < s->n_macros; i++)
		if (strlen(s->macros[i]) == len && !strncmp(s->macros[i], name, len))
			return;
	if (s->n_macros == MAX_MACROS) {
		s->why = "defines too many macros";
		return;
	}
	s->macros[s->n_macros++] = xasprintf("%.*s", (int)len, name);
}

/* After the word `extern` (p just past it): whether the declaration is one
 * a member may keep in its namespace: an extern __shared__ array, or an
 * extern "C" entry point of the ABI. */
static bool extern_fits(const char *p, const char *end)
{
	p = skip_space(p, end, false);
	if (end - p >= 10 && !strncmp(p, "__shared__", 10) && (end - p == 10 || !is_word((unsigned char)p[10])))
		return true;
	if (end - p < 3 || strncmp(p, "\"C\"", 3))
		return false;
	/* The declaration up to its parameters or body: it must name an entry point. */
	const char *stop = p + 3;
	while (stop < end && *stop != '(' && *stop != '{' && *stop != ';')
		stop++;
	if (stop >= end || *stop != '(')
		return false;
	static const char *const entries[] = { "kbreed_forward", "kbreed_abi_version" };
	for (size_t i = 0; i < 2; i++) {
		size_t l = strlen(entries[i]);
		const char *q = stop;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n'))
			q--;
		if ((size_t)(q - p) >= l && !strncmp(q - l, entries[i], l) && !is_word((unsigned char)q[-(ptrdiff_t)l - 1]))
			return true;
	}
	return false;
}

/* The word (or other character) at p, checked: what a group cannot hold
 * (a raw string, an extern name, load-time code, token pasting that could
 * spell either). Returns what follows it. */
static const char *check_word(struct scan *s, const char *p, const char *end)
{
	if (*p == '#' && p + 1 < end && p[1] == '#') {
		s->why = "pastes tokens (##), which could spell what a group cannot hold";
		return p + 2;
	}
	if (!is_word((unsigned char)*p))
		return p + 1;
	const char *w = p;
	while (p < end && is_word((unsigned char)*p))
		p++;
	size_t n = (size_t)(p - w);
	if (p < end && *p == '"' && (n == 1 || n == 2 || n == 3) && w[n - 1] == 'R')
		s->why = "has a raw string literal";
	else if (n == 6 && !strncmp(w, "extern", 6) && !extern_fits(p, end))
		s->why = "declares an extern name (global to the whole unit)";
	else if ((n == 11 && !strncmp(w, "constructor", 11)) || (n == 10 && !strncmp(w, "destructor", 10)) ||
		 (n == 13 && !strncmp(w, "init_priority", 13)))
		s->why = "runs code when loaded (a constructor or destructor)";
	return p;
}

/* A macro's body (p to end): its words as the text's, literals and
 * comments skipped. */
static void check_body(struct scan *s, const char *p, const char *end)
{
	while (p < end && !s->why) {
		const char *q = skip_unit(p, end);
		p = q != p ? q : check_word(s, p, end);
	}
}

/* One directive, p just past its '#', end the end of its (joined) line. */
static void directive(struct scan *s, const char *p, const char *end)
{
	static const char *const harmless[] = { "if", "ifdef", "ifndef", "elif", "else", "endif", "error",
						"warning", "elifdef", "elifndef" };
	p = skip_space(p, end, true);
	const char *w = p;
	while (p < end && is_word((unsigned char)*p))
		p++;
	size_t n = (size_t)(p - w);
	if (!n)
		return;  /* the null directive */
	for (size_t i = 0; i < sizeof harmless / sizeof harmless[0]; i++)
		if (strlen(harmless[i]) == n && !strncmp(harmless[i], w, n))
			return;
	p = skip_space(p, end, true);
	if ((n == 6 && !strncmp(w, "define", 6)) || (n == 5 && !strncmp(w, "undef", 5))) {
		const char *name = p;
		while (p < end && is_word((unsigned char)*p))
			p++;
		if (p == name)
			s->why = "has a #define without a name";
		else
			add_macro(s, name, (size_t)(p - name));
		check_body(s, p, end);
		return;
	}
	if (n == 6 && !strncmp(w, "pragma", 6)) {
		static const char *const pragmas[] = { "unroll", "nounroll", "once" };
		const char *k = p;
		while (p < end && is_word((unsigned char)*p))
			p++;
		for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++)
			if (strlen(pragmas[i]) == (size_t)(p - k) && !strncmp(pragmas[i], k, (size_t)(p - k)))
				return;
		s->why = "has a #pragma that would outlive it";
		return;
	}
	if (n == 7 && !strncmp(w, "include", 7) && p < end && (*p == '<' || *p == '"')) {
		char close = *p == '<' ? '>' : '"';
		const char *name = ++p;
		while (p < end && *p != close)
			p++;
		for (int i = 0; p < end && i < N_HEADERS; i++)
			if (strlen(headers[i]) == (size_t)(p - name) && !strncmp(headers[i], name, (size_t)(p - name))) {
				s->uses[i] = true;
				return;
			}
		s->why = "includes a header a group does not include first";
		return;
	}
	s->why = "has a directive a group cannot hold (#line, #include_next, a computed #include ...)";
}

/* Reads a member's text; s->why set when it cannot be grouped. */
static void scan_text(struct scan *s, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	bool line_start = true;
	memset(s, 0, sizeof *s);
	if (len > MAX_TEXT) {
		s->why = "is too large to share a translation unit";
		return;
	}
	if (memchr(text, '\0', len)) {
		s->why = "holds a NUL byte";
		return;
	}
	while (p < end && !s->why) {
		if (*p == '\n') {
			line_start = true;
			p++;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\r' || (*p == '\\' && p + 1 < end && p[1] == '\n')) {
			p += *p == '\\' ? 2 : 1;
			continue;
		}
		const char *q = skip_unit(p, end);
		if (q != p) {
			/* A comment keeps the line's start; a literal does not. */
			line_start = line_start && *p == '/';
			p = q;
			continue;
		}
		if (*p == '#' && line_start) {
			/* The directive's line, with its continuations. */
			const char *e = p;
			while (e < end && *e != '\n') {
				const char *u = e + 1 < end && e[0] == '/' && e[1] == '*' ? skip_unit(e, end) : e;
				e = u != e ? u : e + (*e == '\\' && e + 1 < end && e[1] == '\n' ? 2 : 1);
			}
			directive(s, p + 1, e);
			p = e;
			continue;
		}
		line_start = false;
		p = check_word(s, p, end);
	}
}

bool compile_group_fits(const char *text, size_t len, const char *path, const char **why, uint64_t *header_set)
{
	struct scan s;
	if (strpbrk(path, "\"\\\n")) {
		*why = "has a path that a #line directive cannot name";
		return false;
	}
	scan_text(&s, text, len);
	scan_release(&s);
	*why = s.why;
	if (header_set) {
		*header_set = 0;
		for (int h = 0; h < N_HEADERS; h++)
			*header_set |= s.uses[h] ? (uint64_t)1 << h : 0;
	}
	return !s.why;
}

void compile_group_symbols(int i, char forward[64], char abi[64])
{
	snprintf(forward, 64, "kbreed_forward__member%d", i);
	snprintf(abi, 64, "kbreed_abi_version__member%d", i);
}

char *compile_group_source(const char *const *texts, const char *const *paths, int n, const char *self)
{
	struct buf b;
	struct scan *s = xcalloc((size_t)n, sizeof *s);
	bool uses[N_HEADERS] = { false };
	buf_init(&b, (size_t)n * (MAX_TEXT + (64u << 10)));
	for (int m = 0; m < n; m++) {
		scan_text(&s[m], texts[m], strlen(texts[m]));
		for (int h = 0; h < N_HEADERS; h++)
			uses[h] |= s[m].uses[h];
	}
	buf_printf(&b, "/* %d candidates in one translation unit (kbreed, src/compile_group.c) */\n", n);
	uses[N_HEADERS - 1] = true;  /* the ABI header declares the entry points */
	for (int h = 0; h < N_HEADERS; h++)
		if (uses[h])
			buf_printf(&b, !strcmp(headers[h], "kbreed_candidate.h") ? "#include \"%s\"\n" : "#include <%s>\n",
				   headers[h]);
	for (int m = 0; m < n; m++) {
		char fwd[64], abi[64];
		size_t len = strlen(texts[m]);
		compile_group_symbols(m, fwd, abi);
		for (int k = 0; k < s[m].n_macros; k++)
			buf_printf(&b, "#pragma push_macro(\"%s\")\n", s[m].macros[k]);
		buf_printf(&b, "#define kbreed_forward %s\n#define kbreed_abi_version %s\nnamespace kbreed_member%d {\n",
			   fwd, abi, m);
		buf_printf(&b, "#line 1 \"%s\"\n", paths[m]);
		buf_append(&b, texts[m], len);
		if (len && texts[m][len - 1] != '\n')
			buf_append(&b, "\n", 1);
		buf_printf(&b, "#line 1 \"%s\"\n} /* namespace kbreed_member%d */\n#undef kbreed_forward\n#undef kbreed_abi_version\n",
			   self, m);
		for (int k = s[m].n_macros - 1; k >= 0; k--)
			buf_printf(&b, "#undef %s\n#pragma pop_macro(\"%s\")\n", s[m].macros[k], s[m].macros[k]);
		scan_release(&s[m]);
	}
	free(s);
	return buf_detach(&b);
}
