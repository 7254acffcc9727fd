/*
 * test_llm_propose.c - the LLM proposer's pure half: the prompt templates and
 * their slots, filling them, and reading ideas and sources out of replies,
 * garbage included.
 */
#include "testing.h"

#include "llm_propose.h"
#include "propose.h"

/* Each template and the slots its documentation promises. */
static const char *const ideas_slots[] = { "problem_source", "gpu", "ceilings", "floor", "bound",
					   "seeds", "history", "categories", "n", NULL };
static const char *const realize_slots[] = { "problem_source", "abi", "parent_sources", "idea", NULL };
static const char *const repair_slots[] = { "source", "report", NULL };
static const char *const recombine_slots[] = { "parent_a", "parent_b", NULL };

static void check_template(const char *name, const char *const *slots)
{
	char *text = NULL;
	assert_int_equal(llm_prompt_load(name, &text), 0);
	assert_non_null(text);
	assert_null(strstr(text, "<!--"));   /* the maintainers' note is left out */
	for (int i = 0; slots[i]; i++) {
		char *slot = NULL;
		assert_true(asprintf(&slot, "{%s}", slots[i]) > 0);
		if (!strstr(text, slot))
			fail_msg("prompts/%s.md lacks %s", name, slot);
		free(slot);
	}
	free(text);
}

static void test_templates_have_their_slots(void **state)
{
	check_template("ideas", ideas_slots);
	check_template("realize", realize_slots);
	check_template("repair", repair_slots);
	check_template("recombine", recombine_slots);
	char *text = NULL;
	assert_int_equal(llm_prompt_load("realize", &text), 0);
	assert_non_null(strstr(text, "```cuda"));
	free(text);
	assert_int_equal(llm_prompt_load("ideas", &text), 0);
	assert_non_null(strstr(text, "```json"));
	free(text);
}

static void test_template_missing_and_override(void **state)
{
	char *text = (char *)1;
	assert_int_equal(llm_prompt_load("no-such-prompt", &text), -1);
	assert_null(text);
	assert_int_equal(llm_prompt_load("../etc/passwd", &text), -1);

	char *dir = test_tmpdir(), *path = NULL;
	assert_true(asprintf(&path, "%s/ideas.md", dir) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("<!-- note {n} -->\nmine {n}\n", f);
	fclose(f);
	setenv("KBREED_PROMPTS", dir, 1);
	assert_int_equal(llm_prompt_load("ideas", &text), 0);
	assert_string_equal(text, "mine {n}\n");
	free(text);
	unsetenv("KBREED_PROMPTS");
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

static void test_fill(void **state)
{
	const char *keys[] = { "a", "bb", "n" };
	const char *vals[] = { "1", "{a} stays", NULL };
	char *s = llm_prompt_fill("x{a}y{bb}z{c}{n}{ {\"k\": 1} {a}{a", keys, vals, 3);
	assert_string_equal(s, "x1y{a} staysz{c}{ {\"k\": 1} 1{a");
	free(s);
	s = llm_prompt_fill("", keys, vals, 3);
	assert_string_equal(s, "");
	free(s);
	s = llm_prompt_fill("{abc}{a}", keys, vals, 0);
	assert_string_equal(s, "{abc}{a}");
	free(s);

	/* The real template: every slot filled, the JSON example left alone. */
	char *tmpl = NULL, *cats = llm_categories_text();
	assert_int_equal(llm_prompt_load("ideas", &tmpl), 0);
	const char *k[] = { "problem_source", "gpu", "ceilings", "floor", "bound", "seeds", "history",
			    "categories", "n" };
	const char *v[] = { "class Model: pass", "H100", "3.3 TB/s", "0.01 ms", "memory", "S", "H", cats, "8" };
	s = llm_prompt_fill(tmpl, k, v, 9);
	assert_null(strstr(s, "{problem_source}"));
	assert_null(strstr(s, "{categories}"));
	assert_non_null(strstr(s, "class Model: pass"));
	assert_non_null(strstr(s, "asynchronous operations and latency hiding"));
	assert_non_null(strstr(s, "{\"category\": \"memory access\""));
	free(s);
	free(tmpl);
	free(cats);
}

static void test_seeds_and_history_text(void **state)
{
	struct llm_seed seeds[2] = {
		{ 7, 0.125, 180, 62.5, NULL, "__global__ void k() {}\nkbreed_forward" },
		{ 9, 0.2, 110, 0, "vectorise the loads", "src" },
	};
	char *s = llm_seeds_text(seeds, 2);
	assert_non_null(strstr(s, "Seed 7: 0.1250 ms, 180 % of eager, 62 % of floor"));
	assert_non_null(strstr(s, "Seed 9"));
	assert_non_null(strstr(s, "floor unknown"));
	assert_non_null(strstr(s, "vectorise the loads"));
	assert_non_null(strstr(s, "```cuda\nsrc\n```"));
	free(s);
	/* A seed nothing timed (a dry run) is shown without numbers. */
	struct llm_seed untimed = { 3, 0, 0, 0, NULL, "src" };
	s = llm_seeds_text(&untimed, 1);
	assert_non_null(strstr(s, "Seed 3: not timed yet"));
	assert_null(strstr(s, " ms"));
	assert_null(strstr(s, "% of"));
	free(s);
	int64_t p[2] = { 7, 9 };
	struct llm_tried t[1] = { { p, 2, "memory access", "use float4", "best 0.1 ms" } };
	s = llm_history_text(t, 1);
	assert_string_equal(s, "- on seed 7 and 9 [memory access] use float4 -> best 0.1 ms\n");
	free(s);
	s = llm_history_text(NULL, 0);
	assert_string_equal(s, "(none yet)\n");
	free(s);
}

static void release_all(struct llm_idea *ideas, int n)
{
	for (int i = 0; i < n; i++)
		llm_idea_release(&ideas[i]);
}

static void test_ideas_fenced(void **state)
{
	const char *reply =
		"Here are my ideas.\n\n```json\n[\n"
		" {\"category\": \"Memory Access\", \"idea\": \"use float4 loads\", \"parents\": [12]},\n"
		" {\"category\": \"control flow and loops\", \"idea\": \"unroll by 4\", \"parents\": [12, 15]}\n"
		"]\n```\nThat is all. [1]\n";
	struct llm_idea ideas[4];
	int n = -1;
	char *why = (char *)1;
	assert_int_equal(llm_parse_ideas(reply, 4, ideas, &n, &why), 0);
	assert_null(why);
	assert_int_equal(n, 2);
	assert_string_equal(ideas[0].category, "memory access");
	assert_string_equal(ideas[0].text, "use float4 loads");
	assert_int_equal(ideas[0].n_parents, 1);
	assert_int_equal(ideas[0].parents[0], 12);
	assert_string_equal(ideas[1].category, "control flow and loops");
	assert_int_equal(ideas[1].n_parents, 2);
	assert_int_equal(ideas[1].parents[1], 15);
	release_all(ideas, n);
}

static void test_ideas_unfenced_and_prose(void **state)
{
	struct llm_idea ideas[4];
	int n;
	char *why;
	assert_int_equal(llm_parse_ideas("[{\"category\": \"data type and precision\", \"idea\": \"bf16\"}]",
					 4, ideas, &n, &why), 0);
	assert_null(why);
	assert_int_equal(n, 1);
	assert_int_equal(ideas[0].n_parents, 0);
	release_all(ideas, n);

	/* Prose with a bracket before the list; a ```python block is not JSON. */
	const char *reply = "Seed [12] is slow. See:\n```python\nx = [1]\n```\nIdeas: "
			    "[ {\"category\": \" parallelism and occupancy \", \"text\": \"more blocks\","
			    " \"parents\": [\"12\", \"seed 3\", 1.5, null, 4, 5]} ] -- done";
	assert_int_equal(llm_parse_ideas(reply, 4, ideas, &n, &why), 0);
	assert_null(why);
	assert_int_equal(n, 1);
	assert_string_equal(ideas[0].category, "parallelism and occupancy");
	assert_string_equal(ideas[0].text, "more blocks");
	assert_int_equal(ideas[0].n_parents, 2);   /* "12" and 4; the rest ignored, 5 beyond two */
	assert_int_equal(ideas[0].parents[0], 12);
	assert_int_equal(ideas[0].parents[1], 4);
	release_all(ideas, n);

	/* {"ideas": [...]} */
	assert_int_equal(llm_parse_ideas("```json\n{\"ideas\": [{\"category\": \"compute and instruction\","
					 " \"idea\": \"fma\"}]}\n```", 4, ideas, &n, &why), 0);
	assert_int_equal(n, 1);
	release_all(ideas, n);
}

static void test_ideas_dropped_and_truncated(void **state)
{
	const char *reply = "```json\n["
			    "{\"category\": \"memory\", \"idea\": \"a\"},"
			    "{\"category\": \"magic\", \"idea\": \"b\"},"
			    "{\"category\": \"memory access\", \"idea\": \"  \"},"
			    "{\"category\": \"memory access\", \"idea\": \"c\"},"
			    "{\"category\": \"memory access\", \"idea\": \"d\"},"
			    "{\"category\": \"memory access\", \"idea\": \"e\"},"
			    "42]\n```";
	struct llm_idea ideas[2];
	int n;
	char *why;
	assert_int_equal(llm_parse_ideas(reply, 2, ideas, &n, &why), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ideas[0].text, "c");
	assert_string_equal(ideas[1].text, "d");
	assert_non_null(why);
	assert_non_null(strstr(why, "2 dropped: unknown category 'memory'"));
	assert_non_null(strstr(why, "1 dropped: empty idea"));
	assert_non_null(strstr(why, "1 dropped: no category and no idea"));
	assert_non_null(strstr(why, "1 beyond the limit of 2"));
	free(why);
	release_all(ideas, n);
}

static void expect_no_ideas(const char *reply, const char *reason)
{
	struct llm_idea ideas[4];
	int n = -1;
	char *why = NULL;
	assert_int_equal(llm_parse_ideas(reply, 4, ideas, &n, &why), 0);
	assert_int_equal(n, 0);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("reply '%s': reason '%s' lacks '%s'", reply, why, reason);
	free(why);
}

static void test_ideas_garbage(void **state)
{
	expect_no_ideas("", "no JSON list");
	expect_no_ideas("I cannot help with that.", "no JSON list");
	expect_no_ideas("[{\"category\": \"memory access\", \"idea\": \"x\"", "not valid JSON");
	expect_no_ideas("```json\n[{\"category\": \"memory access\", \"idea\": \"x\"", "not valid JSON");
	expect_no_ideas("```json\n```", "not valid JSON");
	expect_no_ideas("```json\n{\"a\": 1}\n```", "not a list of ideas");
	expect_no_ideas("```json\n[]\n```", "empty");
	expect_no_ideas("[[[[[[]]]]]]", "no category and no idea");
	expect_no_ideas("[\"\\\"]\"", "not valid JSON");
	expect_no_ideas("]]] [ { ] } \"", "not valid JSON");
	expect_no_ideas("```json\n[{\"category\": 3, \"idea\": [1], \"parents\": {\"a\": 1}}]\n```",
			"no category and no idea");

	/* max 0 keeps nothing, and says so. */
	struct llm_idea one[1];
	int n;
	char *why;
	assert_int_equal(llm_parse_ideas("[{\"category\": \"memory access\", \"idea\": \"x\"}]", 0, one, &n, &why), 0);
	assert_int_equal(n, 0);
	assert_non_null(strstr(why, "1 beyond the limit of 0"));
	free(why);
}

#define KERNEL(tag, body) "```" tag "\n" body "```\n"

static void test_source_last_cuda_block(void **state)
{
	const char *reply =
		"First try:\n" KERNEL("cuda", "#include \"kbreed_candidate.h\"\nKBREED_CANDIDATE_ABI\n// v1 kbreed_forward\n")
		"Usage:\n" KERNEL("python", "kbreed_forward = 1\n")
		"Better:\n" KERNEL("CUDA", "#include \"kbreed_candidate.h\"\nKBREED_CANDIDATE_ABI\n// v2 kbreed_forward\n")
		"Untagged:\n" KERNEL("", "// v3 kbreed_forward\n")
		"Helper:\n" KERNEL("cpp", "// no entry point\n");
	char *src = NULL, *why = NULL;
	assert_int_equal(llm_extract_source(reply, &src, &why), 0);
	assert_null(why);
	assert_string_equal(src, "#include \"kbreed_candidate.h\"\nKBREED_CANDIDATE_ABI\n// v2 kbreed_forward\n");
	free(src);

	/* Untagged only when no tagged block has the entry point. */
	assert_int_equal(llm_extract_source(KERNEL("", "// u1 kbreed_forward\n") KERNEL("cu", "// none\n")
					    KERNEL("", "// u2 kbreed_forward\n"), &src, &why), 0);
	assert_non_null(strstr(src, "// u2 kbreed_forward"));
	free(src);

	/* A reply cut short inside its block still gives the block. */
	assert_int_equal(llm_extract_source("```c++\nint kbreed_forward", &src, &why), 0);
	assert_non_null(strstr(src, "int kbreed_forward\n"));
	free(src);
}

static void test_source_completed(void **state)
{
	char *src = NULL, *why = NULL;
	assert_int_equal(llm_extract_source(KERNEL("cuda", "#include <cuda_runtime.h>\nKB_EXPORT int kbreed_forward() {}\n"),
					    &src, &why), 0);
	assert_string_equal(src, "#include \"kbreed_candidate.h\"\nKBREED_CANDIDATE_ABI\n"
				 "#include <cuda_runtime.h>\nKB_EXPORT int kbreed_forward() {}\n");
	free(src);

	assert_int_equal(llm_extract_source(KERNEL("cuda", "#include <cuda_runtime.h>\n#include \"kbreed_candidate.h\"\n"
							   "int kbreed_forward;\n"), &src, &why), 0);
	assert_string_equal(src, "#include <cuda_runtime.h>\n#include \"kbreed_candidate.h\"\nKBREED_CANDIDATE_ABI\n"
				 "int kbreed_forward;\n");
	free(src);

	/* A hand-written kbreed_abi_version gets the include only, no second definition. */
	assert_int_equal(llm_extract_source(KERNEL("cuda", "int kbreed_abi_version(void) { return 1; }\nkbreed_forward\n"),
					    &src, &why), 0);
	assert_string_equal(src, "#include \"kbreed_candidate.h\"\nint kbreed_abi_version(void) { return 1; }\nkbreed_forward\n");
	free(src);
}

static void test_source_rejected(void **state)
{
	char *src = (char *)1, *why = NULL;
	assert_int_equal(llm_extract_source("Sure! Here is the kernel: kbreed_forward(...)", &src, &why), -1);
	assert_null(src);
	assert_string_equal(why, "no code block in the reply");
	free(why);
	assert_int_equal(llm_extract_source("", &src, &why), -1);
	assert_string_equal(why, "no code block in the reply");
	free(why);
	assert_int_equal(llm_extract_source(KERNEL("cuda", "__global__ void k() {}\n") KERNEL("python", "kbreed_forward\n"),
					    &src, &why), -1);
	assert_string_equal(why, "the code defines no kbreed_forward");
	free(why);
}

int main(void)
{
	test_private_cache();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_templates_have_their_slots),
		cmocka_unit_test(test_template_missing_and_override),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_seeds_and_history_text),
		cmocka_unit_test(test_ideas_fenced),
		cmocka_unit_test(test_ideas_unfenced_and_prose),
		cmocka_unit_test(test_ideas_dropped_and_truncated),
		cmocka_unit_test(test_ideas_garbage),
		cmocka_unit_test(test_source_last_cuda_block),
		cmocka_unit_test(test_source_completed),
		cmocka_unit_test(test_source_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
