/*
 * fuzz_llm_source.c - feeds llm_extract_source (src/llm_propose.c) arbitrary
 * replies. A realize, repair or recombine reply is a model's prose around
 * one or more fenced code blocks, possibly cut short by the output budget;
 * the parser picks the block that defines kbreed_forward and completes the
 * ABI boilerplate. It must never read past the reply's end, and what it
 * returns must be the source it promises: ending in a newline and naming
 * kbreed_forward and the candidate header.
 *
 * Seeds (corpus/llm_source/): realize replies with a tagged block, an
 * untagged one, several blocks, a missing include or ABI macro, a reply cut
 * inside its block, and a kernel from kernels/.
 */
#include "fuzz.h"
#include "llm_propose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *reply = fuzz_cstr(data, size);
	char *source = NULL, *why = NULL;
	int rc = llm_extract_source(reply, &source, &why);
	if (rc == 0) {
		size_t len = source ? strlen(source) : 0;
		if (!source || why || !len || source[len - 1] != '\n' ||
		    !strstr(source, "kbreed_forward") || !strstr(source, "kbreed_candidate.h"))
			abort();
	} else if (rc != -1 || source || !why) {
		abort();
	}
	free(source);
	free(why);
	free(reply);
	return 0;
}
