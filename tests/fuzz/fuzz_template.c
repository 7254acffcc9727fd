/*
 * fuzz_template.c - feeds template_parse (src/template.c) arbitrary text.
 * A template's header is read from files under $KBREED_TEMPLATES, which a
 * user may point at templates of their own: the // kbreed-template, family,
 * problems, seeds-from and knob lines must come back as a template or as an
 * error with file and line. A parsed template's knobs are checked against
 * what template.h promises (a default among at most TEMPLATE_MAX_VALUES
 * values), then realised at their defaults, which reads every knob again.
 *
 * Seeds (corpus/template/): every template of templates/ (headers and
 * code), a few headers with a bad knob line, and dup_header_lines.cu.
 *
 * Known and not yet fixed: template_parse leaks the first value of a
 * kbreed-template, family or problems line that the header repeats
 * (dup_header_lines.cu). Until src/template.c frees it, such inputs are
 * skipped here, so that leak detection stays on for everything else (with it
 * off, the leak fills the fuzzer's memory within two minutes). Delete
 * repeats_a_header_line() once the fix is in.
 */
#include "fuzz.h"
#include "template.h"

#include <ctype.h>
#include <stdbool.h>

/* Whether the header (the leading // lines, as template_parse reads them)
 * names the template, its family or its problems more than once. */
static bool repeats_a_header_line(const char *text)
{
	static const char *const keys[] = { "kbreed-template:", "family:", "problems:" };
	int seen[3] = { 0 };
	const char *l = text;
	while (*l) {
		while (*l == '\n')
			l++;
		if (!*l || strncmp(l, "//", 2))
			break;
		const char *s = l + 2;
		while (isspace((unsigned char)*s) && *s != '\n')
			s++;
		for (int k = 0; k < 3; k++)
			if (!strncmp(s, keys[k], strlen(keys[k])) && ++seen[k] > 1)
				return true;
		const char *eol = strchr(l, '\n');
		l = eol ? eol : l + strlen(l);
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct template t;
	if (repeats_a_header_line(text)) {
		free(text);
		return 0;
	}
	if (!template_parse("fuzz.cu", text, &t)) {
		if (!t.name || !t.family || !t.problems || !t.seeds_from ||
		    t.n_knobs < 0 || t.n_knobs > TEMPLATE_MAX_KNOBS)
			abort();
		for (int i = 0; i < t.n_knobs; i++) {
			const struct knob *k = &t.knobs[i];
			bool found = false;
			if (!k->name || !k->what || k->n_values < 1 || k->n_values > TEMPLATE_MAX_VALUES)
				abort();
			for (int v = 0; v < k->n_values; v++)
				found |= k->values[v] == k->def;
			if (!found)
				abort();
		}
		struct genome g;
		genome_default(&g, &t);
		free(genome_realize(&g, NULL));
		template_release(&t);
	}
	free(text);
	return 0;
}
