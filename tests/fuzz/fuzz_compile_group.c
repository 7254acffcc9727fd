/*
 * fuzz_compile_group.c - feeds compile_group_fits (src/compile_group.c)
 * arbitrary source text, and builds a group of two from every text that
 * fits. Candidates are written by a model or a user; the scan walks
 * comments, literals, continued lines and directives by hand: it must never
 * read past the text's end (an unterminated comment or string, a backslash
 * or a '#' as the last byte), say why exactly when it says no, and a unit it
 * builds must hold both members and restore every macro it saved (what the
 * members' own text says aside).
 *
 * Seeds: the candidates of kernels/naive, kernels/bad and kernels/hacks
 * (most fit a group; the hacks mostly do not), and tests/fuzz/corpus/
 * compile_group/ (directives continued over lines, the ABI's extern "C",
 * extern __shared__, a constructor).
 */
#include "fuzz.h"
#include "compile_group.h"

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);   /* not NUL-terminated: the length is the text's */
	const char *why = "unset";
	uint64_t headers = 0;
	bool fits = compile_group_fits(text, size, "/tmp/member.cu", &why, &headers);
	if (fits != (why == NULL))
		abort();
	if (fits) {
		char *source = fuzz_cstr(data, size);
		const char *texts[2] = { source, source }, *paths[2] = { "/tmp/a.cu", "/tmp/b.cu" };
		char *unit = compile_group_source(texts, paths, 2, "/tmp/group.cu");
		if (!strstr(unit, "namespace kbreed_member0 {") || !strstr(unit, "namespace kbreed_member1 {") ||
		    count(unit, "#pragma push_macro(") - 2 * count(source, "#pragma push_macro(") !=
			    count(unit, "#pragma pop_macro(") - 2 * count(source, "#pragma pop_macro("))
			abort();
		free(unit);
		free(source);
	}
	free(text);
	return 0;
}
