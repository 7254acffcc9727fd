/*
 * fuzz_catalog.c - feeds propose_parse_catalog (src/propose.c) arbitrary
 * bytes. The playbook's idea catalogue is a file users edit and
 * $KBREED_PLAYBOOK may point anywhere: a list of objects with string fields
 * and a boolean. A bad file must be an error naming the entry, and what was
 * read before it must be released whole (*n counts it, also on failure).
 *
 * Seeds (corpus/catalog/): playbook/ideas.json, tests/data/playbook_wide.json
 * and a few short lists with a missing field or a mistyped "loose".
 */
#include "fuzz.h"
#include "propose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_cstr(data, size);
	struct idea_def *defs = NULL;
	int n = 0;
	propose_parse_catalog(json, &defs, &n);
	for (int i = 0; i < n; i++)
		idea_def_release(&defs[i]);
	free(defs);
	free(json);
	return 0;
}
