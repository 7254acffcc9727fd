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

static void expect_files(const char *source, bool bad, const char *needle)
{
	char *why = NULL;
	bool got = policy_reads_files(source, &why);
	if (got != bad)
		fail_msg("policy_reads_files(\"%s\") = %d, want %d (%s)", source, got, bad, why ? why : "");
	if (got != (why != NULL))
		fail_msg("policy_reads_files(\"%s\"): verdict %d but why %s", source, got, why ? why : "NULL");
	if (needle && (!why || !strstr(why, needle)))
		fail_msg("policy_reads_files(\"%s\"): \"%s\" lacks \"%s\"", source, why ? why : "", needle);
	free(why);
}

static void test_reads_files(void **state)
{
	/* Files of the machine, named outright. */
	expect_files("#include \"/etc/shadow\"\n", true, "/etc/shadow");
	expect_files("int x;\n#include </etc/passwd>\n", true, "line 2");
	expect_files("#include \"../../refs/set0.out0.bin\"\n", true, "..");
	expect_files("#include <../x.h>\n", true, NULL);
	expect_files("#include \"a/../../b.h\"\n", true, NULL);
	expect_files("#include \"~/.ssh/id_rsa\"\n", true, NULL);
	expect_files("#include_next </etc/shadow>\n", true, NULL);
	expect_files("#import \"/etc/shadow\"\n", true, NULL);
	/* Spelled so that a plain text scan misses them. */
	expect_files("  #  /* c */ include \"/etc/shadow\"\n", true, NULL);
	expect_files("#inc\\\nlude \"/etc/shadow\"\n", true, NULL);
	expect_files("%:include \"/etc/shadow\"\n", true, NULL);
	expect_files("/* a\n b */ #include \"/etc/shadow\"\n", true, NULL);
	expect_files("#define F \"/etc/shadow\"\n#include F\n", true, "macro");
	/* A character literal that fakes a comment or a string hides nothing. */
	expect_files("int c = '/*';\n#include \"/etc/shadow\"\nint d = '*/';\n", true, NULL);
	expect_files("char q = '\"';\n#include \"/etc/shadow\"\n", true, NULL);
	/* Assembler directives that read files, however the literal is built. */
	expect_files("asm(\".incbin \\\"/etc/shadow\\\"\");\n", true, ".incbin");
	expect_files("asm(\".inc\" /* x */ \"bin \\\"/etc/shadow\\\"\");\n", true, ".incbin");
	expect_files("asm(\".inc\\x62in \\\"/etc/shadow\\\"\");\n", true, ".incbin");
	expect_files("asm(\".inc\\142in \\\"/etc/shadow\\\"\");\n", true, ".incbin");
	expect_files("asm(R\"x(.incbin \"/etc/shadow\")x\");\n", true, ".incbin");
	expect_files("asm(\".INCBIN \\\"/etc/shadow\\\"\");\n", true, ".incbin");
	expect_files("asm(\".include \\\"/etc/shadow\\\"\");\n", true, ".include");
	expect_files("#define S(x) #x\nasm(S(.incbin \"/etc/shadow\"));\n", true, ".incbin");
	/* Allowed: the include directories, relative names, comments and
	 * strings that only mention them. */
	expect_files("#include \"kbreed_candidate.h\"\n#include <cuda_runtime.h>\n#include <cuda/std/cmath>\n", false, NULL);
	expect_files("#include \"sub/dir/x.cuh\"\n#include \"..x.h\"\n", false, NULL);
	expect_files("// #include \"/etc/shadow\"\n/* .incbin */ int x;\n", false, NULL);
	expect_files("const char *s = \"#include </etc/shadow>\";\nint y = 1'000'000;\n", false, NULL);
	expect_files("#if 0\n#error no\n#endif\n#pragma unroll\n", false, NULL);
	/* Text that ends in the middle of everything. */
	expect_files("#include", true, "macro");
	expect_files("#include \"", true, NULL);
	expect_files("asm(\"", false, NULL);
	expect_files("R\"x(", false, NULL);
	expect_files("'", false, NULL);
	expect_files("\\", false, NULL);
	expect_files("/*", false, NULL);
	expect_files("\"\\x", false, NULL);
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
		why = NULL;
		/* Templates include their common parts as "../common/x.cuh" (inlined
		 * when they are realised); what reaches nvcc has no "..". */
		if (!strstr(g.gl_pathv[i], "templates/") && policy_reads_files(text, &why))
			fail_msg("%s: reads files: %s", g.gl_pathv[i], why);
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
		cmocka_unit_test(test_reads_files),
		cmocka_unit_test(test_shipped_kernels),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
