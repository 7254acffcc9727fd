/*
 * policy.c - the library policy: a scan of the candidate's source for the
 * headers, entry points and loaders that would let a library do its work.
 * Comments are skipped, so a kernel may say what it does not use.
 */
#define _GNU_SOURCE
#include "policy.h"

#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
