/*
 * fuzz_policy.c - feeds policy_violation (src/policy.c) arbitrary source
 * text. Candidates are written by a model or a user, and the scan strips
 * comments and looks for forbidden words with hand-written pointer walks:
 * The same for policy_reads_files (line splices, raw strings, escapes):
 * it must never read past the text's end (unterminated comments and
 * strings, a backslash as the last byte, "exec" at the end), and it says
 * why exactly when it says no.
 *
 * Seeds (corpus/policy/): kernels of kernels/ and templates/, one that
 * includes cuBLAS, one that calls execv, and one that only mentions them in
 * comments.
 */
#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *source = fuzz_cstr(data, size);
	char *why = (char *)1;
	bool bad = policy_violation(source, &why);
	if (bad != (why != NULL))
		abort();
	free(why);
	why = (char *)1;
	bad = policy_reads_files(source, &why);
	if (bad != (why != NULL))
		abort();
	free(why);
	free(source);
	return 0;
}
