/*
 * fuzz_llm_ideas.c - feeds llm_parse_ideas (src/llm_propose.c) arbitrary
 * replies. An "ideas" reply is free text written by a model: the parser
 * hunts for a ```json block or a bare [ ... ] span in it, then reads a list
 * of objects leniently. It must take garbage without crashing and say why it
 * got nothing. Each input is read with room for 8 ideas (the default), then
 * for 1 and for none, so that the limit's bookkeeping is exercised too.
 *
 * Seeds (corpus/llm_ideas/): replies shaped as prompts/ideas.md asks, with
 * and without the fence, wrapped in an object, cut short, and with unknown
 * categories and string parents.
 */
#include "fuzz.h"
#include "llm_propose.h"

static void parse(const char *reply, int max)
{
	struct llm_idea out[8];
	int n = -1;
	char *why = NULL;
	if (llm_parse_ideas(reply, max, out, &n, &why))
		abort();  /* the arguments are good: -1 is for bad ones only */
	if (n < 0 || n > max)
		abort();
	for (int i = 0; i < n; i++) {
		if (!out[i].category || !out[i].text || out[i].n_parents < 0 || out[i].n_parents > 2)
			abort();
		llm_idea_release(&out[i]);
	}
	free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *reply = fuzz_cstr(data, size);
	parse(reply, 8);
	parse(reply, 1);
	parse(reply, 0);
	free(reply);
	return 0;
}
