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
 * code), a few headers with a bad knob line, dup_header_lines.cu,
 * same_lines.cu and start_lines.cu.
 *
 * A parsed template's same lines are checked too: knob indices within the
 * template, values among the knob's, and canonicalising the defaults keeps
 * every value allowed; so are its start lines (a target, knob indices
 * within the template, genome_start's values allowed, canonical or
 * not). A header line given twice is an error, released
 * with the rest (test_playbook's test_header_errors; fuzzed here too).
 */
#include "fuzz.h"
#include "template.h"

#include <stdbool.h>
#include <string.h>

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
		if (t.n_same < 0 || t.n_same > TEMPLATE_MAX_SAME)
			abort();
		for (int r = 0; r < t.n_same; r++) {
			const struct knob_same *sm = &t.same[r];
			if (sm->n_when < 1 || sm->n_as < 1 || sm->n_when > t.n_knobs || sm->n_as > t.n_knobs)
				abort();
			for (int w = 0; w < sm->n_when; w++)
				if (sm->when_knob[w] < 0 || sm->when_knob[w] >= t.n_knobs)
					abort();
			for (int a = 0; a < sm->n_as; a++)
				if (sm->as_knob[a] < 0 || sm->as_knob[a] >= t.n_knobs)
					abort();
		}
		if (t.n_start < 0 || t.n_start > TEMPLATE_MAX_START)
			abort();
		struct genome g;
		for (int r = -1; r < t.n_start; r++) {
			if (r >= 0) {
				const struct knob_start *st = &t.start[r];
				if (!st->arch[0] || !memchr(st->arch, '\0', sizeof st->arch) || st->n < 1 ||
				    st->n > t.n_knobs)
					abort();
				for (int k = 0; k < st->n; k++)
					if (st->knob[k] < 0 || st->knob[k] >= t.n_knobs)
						abort();
				genome_start(&g, &t, r);
			} else {
				genome_default(&g, &t);
			}
			genome_canonical(&g);
			for (int i = 0; i < t.n_knobs; i++) {
				bool allowed = false;
				for (int v = 0; v < t.knobs[i].n_values; v++)
					allowed |= t.knobs[i].values[v] == g.value[i];
				if (!allowed)
					abort();
			}
		}
		genome_default(&g, &t);
		genome_canonical(&g);
		free(genome_realize(&g, NULL));
		template_release(&t);
	}
	free(text);
	return 0;
}
