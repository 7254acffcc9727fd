/*
 * policy.c - the library policy: a scan of the candidate's source for the
 * headers, entry points and loaders that would let a library do its work.
 * Comments are skipped, so a kernel may say what it does not use.
 *
 * Beside it, policy_reads_files: what the compiler would read besides the
 * candidate and the include directories (an #include of an absolute path or
 * of "..", an include named by a macro, .incbin or .include in inline
 * assembly). nvcc prints lines of what it reads, and what it reads is
 * compiled into the candidate: neither may carry a file of the machine.
 */
#define _GNU_SOURCE
#include "policy.h"

#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What is forbidden, and why, as a user reads it. */
static const struct {
	const char *text;
	const char *what;
} forbidden[] = {
	{ "cublas", "cuBLAS" },
	{ "cublasLt", "cuBLASLt" },
	{ "cudnn", "cuDNN" },
	{ "cutlass/gemm/device", "a CUTLASS device-level GEMM" },
	{ "cufft", "cuFFT" },
	{ "cusparse", "cuSPARSE" },
	{ "torch/", "PyTorch" },
	{ "ATen/", "PyTorch (ATen)" },
	{ "dlopen", "dlopen (loading code at run time)" },
	{ "dlsym", "dlsym (loading code at run time)" },
	{ "system(", "system() (running programs)" },
	{ "popen(", "popen() (running programs)" },
	{ "fork(", "fork()" },
	{ "exec", "exec*() (running programs)" },
};

/* The source with comments blanked out (newlines kept, for line numbers). */
static char *strip_comments(const char *s)
{
	char *out = xstrdup(s), *o = out;
	for (const char *p = s; *p;) {
		if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n') {
				*o++ = ' ';
				p++;
			}
		} else if (p[0] == '/' && p[1] == '*') {
			while (*p && !(p[0] == '*' && p[1] == '/')) {
				*o++ = *p == '\n' ? '\n' : ' ';
				p++;
			}
			for (int i = 0; i < 2 && *p; i++, p++)
				*o++ = ' ';
		} else if (*p == '"') {
			/* Strings stay: an #include "cublas_v2.h" is found through them. */
			*o++ = *p++;
			while (*p && *p != '"' && *p != '\n') {
				if (*p == '\\' && p[1])
					*o++ = *p++;
				*o++ = *p++;
			}
			if (*p == '"')
				*o++ = *p++;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* Whether the word at hit ("exec...") is an execl/execv-family call: a '(' within
 * the next three characters. Reads no further than the terminating NUL. */
static bool exec_call_at(const char *hit)
{
	if (hit[4] != 'l' && hit[4] != 'v')
		return false;
	for (int i = 5; i < 8 && hit[i]; i++)
		if (hit[i] == '(')
			return true;
	return false;
}

bool policy_violation(const char *source, char **why)
{
	char *code = strip_comments(source);
	bool bad = false;
	*why = NULL;
	for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0] && !bad; i++) {
		const char *hit = code;
		while ((hit = strcasestr(hit, forbidden[i].text))) {
			/* exec must start a word: "executes" in an identifier is fine, execv is not. */
			bool word = hit == code || !(isalnum((unsigned char)hit[-1]) || hit[-1] == '_');
			bool exec_call = strncmp(forbidden[i].text, "exec", 4) || (word && exec_call_at(hit));
			if (word && exec_call) {
				int line = 1;
				for (const char *c = code; c < hit; c++)
					line += *c == '\n';
				*why = xasprintf("the source uses %s (line %d): the policy asks for kernels of its own",
						 forbidden[i].what, line);
				bad = true;
				break;
			}
			hit += strlen(forbidden[i].text);
		}
	}
	free(code);
	return bad;
}

/* The include check below reads the source as the preprocessor does: line
 * splices joined first, then comments, strings, character literals and raw
 * strings told apart, so that none of them hides a directive or fakes one. */

/* The source with every backslash-newline removed; line[k] is the original
 * line of output byte k (caller frees both). */
static char *splice_lines(const char *s, int **line_of)
{
	size_t n = strlen(s);
	char *out = xmalloc(n + 1);
	int *line = xmalloc((n + 1) * sizeof *line);
	size_t k = 0;
	int ln = 1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && (s[i + 1] == '\n' || (s[i + 1] == '\r' && s[i + 2] == '\n'))) {
			i += s[i + 1] == '\r' ? 2 : 1;
			ln++;
			continue;
		}
		line[k] = ln;
		out[k++] = s[i];
		if (s[i] == '\n')
			ln++;
	}
	out[k] = '\0';
	line[k] = ln;
	*line_of = line;
	return out;
}

/* Skips blanks and comments within one logical line from p. */
static const char *skip_blanks(const char *p)
{
	for (;;) {
		if (*p == ' ' || *p == '\t' || *p == '\v' || *p == '\f' || *p == '\r') {
			p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end ? end + 2 : p + strlen(p);
		} else {
			return p;
		}
	}
}

/* Whether an included path leaves the include directories: absolute, a
 * home directory, or a ".." component. */
static bool path_escapes(const char *path, size_t len)
{
	if (!len || path[0] == '/' || path[0] == '~' || path[0] == '\\')
		return true;
	for (size_t i = 0; i < len; i++) {
		bool start = i == 0 || path[i - 1] == '/' || path[i - 1] == '\\';
		if (start && path[i] == '.' && i + 1 < len && path[i + 1] == '.' &&
		    (i + 2 == len || path[i + 2] == '/' || path[i + 2] == '\\'))
			return true;
	}
	return false;
}

/* Checks the directive at p (just after its '#'). Returns a reason, or NULL. */
static char *check_directive(const char *p, int line)
{
	p = skip_blanks(p);
	size_t n = 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	static const char *const reads[] = { "include", "include_next", "import", "embed" };
	bool reads_file = false;
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
		reads_file |= n == strlen(reads[i]) && !strncmp(p, reads[i], n);
	if (!reads_file)
		return NULL;
	const char *q = skip_blanks(p + n);
	char close = *q == '"' ? '"' : *q == '<' ? '>' : 0;
	if (!close)
		return xasprintf("the source includes a file named by a macro (line %d): "
				 "only #include \"file\" or <file> is allowed", line);
	const char *path = q + 1;
	size_t len = 0;
	while (path[len] && path[len] != close && path[len] != '\n')
		len++;
	if (path_escapes(path, len))
		return xasprintf("the source includes %.*s%.*s%c (line %d): files outside the include "
				 "directories are not compiled in", 1, q, (int)(len > 200 ? 200 : len), path,
				 close, line);
	return NULL;
}

/* C escapes of a string literal's body decoded into b (what the assembler
 * will read), so that ".inc\x62in" is seen as what it is. */
static const char *decode_escape(const char *p, struct buf *b)
{
	/* p at the backslash */
	p++;
	if (*p == 'x') {
		unsigned v = 0;
		p++;
		while (isxdigit((unsigned char)*p)) {
			v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
			p++;
		}
		if (v & 0xff)   /* a NUL ends the assembler's text: nothing to see */
			buf_append(b, (char[]){ (char)v }, 1);
		return p;
	}
	if (*p >= '0' && *p <= '7') {
		unsigned v = 0;
		for (int i = 0; i < 3 && *p >= '0' && *p <= '7'; i++, p++)
			v = v * 8 + (unsigned)(*p - '0');
		if (v & 0xff)
			buf_append(b, (char[]){ (char)v }, 1);
		return p;
	}
	if (*p) {
		buf_append(b, p, 1);
		p++;
	}
	return p;
}

/* Whether text (a decoded run of adjacent string literals, or code) asks
 * the assembler to read a file. */
static const char *assembler_reads_file(const char *text)
{
	if (strcasestr(text, "incbin"))
		return ".incbin";
	if (strcasestr(text, ".include"))
		return ".include";
	return NULL;
}

bool policy_reads_files(const char *source, char **why)
{
	int *line_of = NULL;
	char *s = splice_lines(source, &line_of);
	struct buf lit;       /* adjacent string literals, decoded and joined */
	buf_init(&lit, (size_t)1 << 24);
	int lit_line = 0;
	bool line_start = true;   /* only blanks and comments since the last newline */
	*why = NULL;
	const char *p = s;
	while (*p && !*why) {
		int line = line_of[p - s];
		if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end ? end + 2 : p + strlen(p);
			continue;
		}
		bool raw = *p == '"' && p > s && p[-1] == 'R' &&
			   (p - 1 == s || !(isalnum((unsigned char)p[-2]) || p[-2] == '_') ||
			    p[-2] == 'u' || p[-2] == 'U' || p[-2] == 'L' || p[-2] == '8');
		if (*p == '"') {
			if (!lit.len)
				lit_line = line;
			if (raw) {
				/* R"delim( ... )delim" */
				const char *open = strchr(p + 1, '(');
				size_t dl = open ? (size_t)(open - p - 1) : 0;
				const char *end = NULL;
				if (open && dl <= 16) {
					char term[20];
					snprintf(term, sizeof term, ")%.*s\"", (int)dl, p + 1);
					end = strstr(open + 1, term);
					buf_append(&lit, open + 1, end ? (size_t)(end - open - 1) : strlen(open + 1));
					p = end ? end + strlen(term) : p + strlen(p);
				} else {
					p++;
				}
			} else {
				p++;
				while (*p && *p != '"' && *p != '\n') {
					if (*p == '\\')
						p = decode_escape(p, &lit);
					else
						buf_append(&lit, p++, 1);
				}
				if (*p == '"')
					p++;
			}
			line_start = false;
			continue;
		}
		if (*p == '\'' && !(p > s && isalnum((unsigned char)p[-1]) && isalnum((unsigned char)p[1]) &&
				     isdigit((unsigned char)p[-1]))) {
			/* A character literal (not a digit separator): '"' and '/''*' are
			 * characters, not strings or comments. */
			p++;
			while (*p && *p != '\'' && *p != '\n')
				p += *p == '\\' && p[1] ? 2 : 1;
			if (*p == '\'')
				p++;
			line_start = false;
			continue;
		}
		bool blank = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f' || *p == '\n';
		if (!blank && lit.len) {
			const char *what = assembler_reads_file(buf_str(&lit));
			if (what)
				*why = xasprintf("the source asks the assembler to read a file (%s, line %d): "
						 "files outside the include directories are not compiled in", what, lit_line);
			lit.len = 0;
			lit.data[0] = '\0';
			if (*why)
				break;
		}
		if (line_start && (*p == '#' || (p[0] == '%' && p[1] == ':') ||
				   (p[0] == '?' && p[1] == '?' && p[2] == '='))) {
			*why = check_directive(p + (*p == '#' ? 1 : *p == '%' ? 2 : 3), line);
			while (*p && *p != '\n')   /* the rest of the directive */
				p++;
			continue;
		}
		if (!blank) {
			/* A word of code: an identifier or number, or one character. */
			size_t w = 0;
			while (isalnum((unsigned char)p[w]) || p[w] == '_')
				w++;
			for (size_t i = 0; i + 6 <= w; i++)
				if (!strncasecmp(p + i, "incbin", 6)) {
					*why = xasprintf("the source asks the assembler to read a file (.incbin, line %d): "
							 "files outside the include directories are not compiled in", line);
					break;
				}
			line_start = false;
			p += w ? w : 1;
			continue;
		}
		if (*p == '\n')
			line_start = true;
		p++;
	}
	if (!*why && lit.len) {
		const char *what = assembler_reads_file(buf_str(&lit));
		if (what)
			*why = xasprintf("the source asks the assembler to read a file (%s, line %d): "
					 "files outside the include directories are not compiled in", what, lit_line);
	}
	buf_release(&lit);
	free(line_of);
	free(s);
	return *why != NULL;
}
