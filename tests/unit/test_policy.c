/* test_policy.c - the library policy: vendor libraries, run-time loading and
 * running programs are found in code, not in comments or identifiers. */
#include "testing.h"

#include "policy.h"
#include "util.h"

#include <glob.h>

static void expect(const char *source, bool bad, const char *needle)
{
	char *why = NULL;
	bool got = policy_violation(source, &why);
	if (got != bad)
		fail_msg("policy_violation(\"%s\") = %d, want %d (%s)", source, got, bad, why ? why : "");
	if (needle)
		assert_non_null(strstr(why, needle));
	free(why);
}

static void test_policy(void **state)
{
	expect("#include <cublas_v2.h>\n", true, "cuBLAS (line 1)");
	expect("int k;\n\ncublasSgemm(h, a, b);\n", true, "line 3");
	expect("#include \"cudnn.h\"\n", true, "cuDNN");
	expect("#include <torch/extension.h>\n", true, "PyTorch");
	expect("#include <cutlass/gemm/device/gemm.h>\n", true, "CUTLASS");
	expect("void *h = dlopen(\"libcublas.so\", 1);\n", true, NULL);
	expect("system(\"nvidia-smi\");\n", true, "system");
	expect("execvp(argv[0], argv);\n", true, "exec");
	/* Allowed: comments that name them, identifiers that contain the letters,
	 * CUTLASS's building blocks, plain CUDA. */
	expect("// no cublas here: a kernel of our own\n__global__ void k() {}\n", false, NULL);
	expect("/* unlike cudnn,\n   this is hand-written */ int x;\n", false, NULL);
	expect("int filesystem(int); int executes_fast = 1; int my_fork_count;\n", false, NULL);
	expect("#include <cute/tensor.hpp>\n#include <cuda_fp16.h>\n#include <mma.h>\n", false, NULL);
}

static void test_ends_in_exec(void **state)
{
	/* A source that ends inside the word: the scan stops at the NUL. This
	 * binary is built with AddressSanitizer over policy.c (Makefile), so a
	 * read past the end aborts it. */
	expect("execv", false, NULL);
	expect("execl", false, NULL);
	expect("int x; execvp", false, NULL);
	expect("execv(", true, "exec");
	expect("exec", false, NULL);
}

static void test_shipped_kernels(void **state)
{
	/* Every kernel kbreed ships passes, but the one that is there to fail. */
	glob_t g;
	assert_int_equal(glob("kernels/*/*.cu", 0, NULL, &g), 0);
	assert_int_equal(glob("templates/*/*.cu", GLOB_APPEND, NULL, &g), 0);
	assert_true(g.gl_pathc > 30);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *text = NULL, *why = NULL;
		assert_int_equal(util_read_file(g.gl_pathv[i], 1 << 20, &text, NULL), 0);
		bool bad = policy_violation(text, &why);
		bool want = strstr(g.gl_pathv[i], "calls_cublas") != NULL;
		if (bad != want)
			fail_msg("%s: policy says %s (%s)", g.gl_pathv[i], bad ? "no" : "yes", why ? why : "");
		free(why);
		free(text);
	}
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_ends_in_exec),
		cmocka_unit_test(test_shipped_kernels),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
