/*
 * fuzz_llm_json.c - feeds the LLM client's wire-format decoders
 * (src/llm_json.c) arbitrary bytes: the body of an OpenAI-style or Anthropic
 * reply, an endpoint's error body, and the price table. Reply and error
 * bodies come from a server on the network (or a proxy in front of it), so
 * each decoder must turn anything into a status and a message; a reply is
 * decoded twice into the same struct, as llm.c does across retries, so that
 * what a first decode left behind is released by the second.
 *
 * Seeds (corpus/llm_json/): an OpenAI and an Anthropic reply (text, parts,
 * refusal, usage with cache and reasoning counts), the error bodies of
 * OpenAI, Anthropic, vLLM, Ollama and Gemini, and playbook/prices.json.
 */
#include "fuzz.h"
#include "llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_cstr(data, size);

	struct llm_reply r;
	llm_reply_init(&r);
	llm_json_openai_reply(body, &r);
	llm_json_openai_reply(body, &r);
	llm_json_anthropic_reply(body, &r);
	llm_json_anthropic_reply(body, &r);
	llm_reply_release(&r);

	char *type = NULL, *message = NULL;
	llm_json_api_error(body, &type, &message);
	free(type);
	free(message);

	struct price *prices = NULL;
	int n = 0;
	llm_json_prices(body, &prices, &n);
	for (int i = 0; i < n; i++)
		free(prices[i].prefix);
	free(prices);

	free(body);
	return 0;
}
