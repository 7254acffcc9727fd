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
 * code), and a few headers with a bad knob line.
 */
#include "fuzz.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct template t;
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
