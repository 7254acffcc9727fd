/* test_compile.c - nvcc through the cache: real compiles (no GPU needed),
 * cache hits, remembered failures, time limits, and the ABI symbols of what
 * comes out. Also compiles every shipped kernel at the default target. */
#include "testing.h"

#include "compile.h"
#include "../../include/kbreed_candidate.h"
#include "util.h"

#include <dlfcn.h>
#include <glob.h>

#define ARCH "sm_90a"

static int setup(void **state)
{
	test_private_cache();
	return 0;
}

static void test_arch_for(void **state)
{
	assert_string_equal(compile_arch_for(9, 0), "sm_90a");
	assert_string_equal(compile_arch_for(8, 6), "sm_86");
	assert_string_equal(compile_arch_for(10, 0), "sm_100a");
	assert_string_equal(compile_arch_for(12, 0), "sm_120");
}

static void test_compile_and_cache(void **state)
{
	struct compile_opts o = { .arch = ARCH, .jobs = 2 };
	struct compile_job j = { .source = "kernels/bad/good_gelu.cu" };
	assert_int_equal(compile_batch(&j, 1, &o), 0);
	assert_true(j.ok);
	assert_false(j.cached);
	assert_true(util_file_exists(j.so_path));
	char *first = xstrdup(j.so_path);
	compile_job_release(&j);

	struct compile_job again = { .source = "kernels/bad/good_gelu.cu" };
	assert_int_equal(compile_batch(&again, 1, &o), 0);
	assert_true(again.ok && again.cached);
	assert_string_equal(again.so_path, first);
	compile_job_release(&again);

	/* Other flags, other key. */
	struct compile_opts o2 = { .arch = ARCH, .extra = "-DKBREED_TEST_FLAG=1" };
	struct compile_job other = { .source = "kernels/bad/good_gelu.cu" };
	assert_int_equal(compile_batch(&other, 1, &o2), 0);
	assert_true(other.ok && !other.cached);
	assert_string_not_equal(other.so_path, first);
	compile_job_release(&other);
	free(first);
}

static void test_abi_symbols(void **state)
{
	struct compile_opts o = { .arch = ARCH };
	struct compile_job j[3] = { { .source = "kernels/bad/good_gelu.cu" },
				    { .source = "kernels/bad/abi_mismatch.cu" },
				    { .source = "kernels/bad/no_symbol.cu" } };
	assert_int_equal(compile_batch(j, 3, &o), 0);
	for (int i = 0; i < 3; i++)
		assert_true(j[i].ok);
	/* Loading needs no GPU as long as nothing CUDA is called. */
	void *h = dlopen(j[0].so_path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	int (*abi)(void) = (int (*)(void))dlsym(h, "kbreed_abi_version");
	assert_non_null(abi);
	assert_int_equal(abi(), KBREED_ABI_VERSION);
	assert_non_null(dlsym(h, "kbreed_forward"));
	dlclose(h);
	h = dlopen(j[1].so_path, RTLD_NOW | RTLD_LOCAL);
	abi = (int (*)(void))dlsym(h, "kbreed_abi_version");
	assert_int_not_equal(abi(), KBREED_ABI_VERSION);
	dlclose(h);
	h = dlopen(j[2].so_path, RTLD_NOW | RTLD_LOCAL);
	assert_null(dlsym(h, "kbreed_forward"));
	dlclose(h);
	for (int i = 0; i < 3; i++)
		compile_job_release(&j[i]);
}

/* The header's shape helper, as candidates call it: b mirrors a exactly. */
static void test_same_shape(void **state)
{
	kb_tensor a = { .ndim = 3, .shape = { 4, 0, 7 } }, b = a;
	assert_true(kb_same_shape(&a, &b));
	b.shape[2] = 6;
	assert_false(kb_same_shape(&a, &b));
	b = a;
	b.ndim = 2;
	assert_false(kb_same_shape(&a, &b));
	a.shape[0] = b.shape[0] = -4;   /* equal, but no extent is negative */
	b.ndim = 3;
	assert_false(kb_same_shape(&a, &b));
	kb_tensor s = { .ndim = 0 }, t = { .ndim = 0 };
	assert_true(kb_same_shape(&s, &t));   /* scalars */
	s.ndim = t.ndim = KBREED_MAX_DIMS + 1;
	assert_false(kb_same_shape(&s, &t));
}

static void test_compile_error_remembered(void **state)
{
	struct compile_opts o = { .arch = ARCH };
	struct compile_job j = { .source = "kernels/bad/compile_error.cu" };
	assert_int_equal(compile_batch(&j, 1, &o), 0);
	assert_false(j.ok);
	assert_false(j.timed_out);
	assert_non_null(strstr(j.log, "error"));
	assert_true(util_file_exists(j.log_path));
	compile_job_release(&j);
	struct compile_job again = { .source = "kernels/bad/compile_error.cu" };
	assert_int_equal(compile_batch(&again, 1, &o), 0);
	assert_false(again.ok);
	assert_true(again.cached);
	assert_non_null(strstr(again.log, "error"));
	compile_job_release(&again);
}

static void test_timeout(void **state)
{
	/* A source never seen before, with a limit nvcc cannot meet. */
	char *dir = test_tmpdir(), *src = xasprintf("%s/slow.cu", dir);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(util_read_file("kernels/bad/good_gelu.cu", 1 << 20, &text, &len), 0);
	char *unique = xasprintf("%s\n// %s %f\n", text, dir, util_now());
	assert_int_equal(util_write_file(src, unique, strlen(unique)), 0);
	struct compile_opts o = { .arch = ARCH, .timeout_s = 0.05 };
	struct compile_job j = { .source = src };
	double t0 = util_now();
	assert_int_equal(compile_batch(&j, 1, &o), 0);
	assert_false(j.ok);
	assert_true(j.timed_out);
	assert_true(util_now() - t0 < 10);
	assert_non_null(strstr(j.log, "time limit"));
	compile_job_release(&j);
	/* A timeout is not remembered as a failure: with time, it compiles. */
	o.timeout_s = 300;
	struct compile_job k = { .source = src };
	assert_int_equal(compile_batch(&k, 1, &o), 0);
	assert_true(k.ok && !k.cached);
	compile_job_release(&k);
	util_remove_tree(dir);
	free(unique);
	free(text);
	free(src);
	free(dir);
}

/* The fake compiler (tests/cli/fake_nvcc.sh) by absolute path; restore
 * with unsetenv("KBREED_NVCC"). */
static void use_fake_nvcc(void)
{
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	char *fake = xasprintf("%s/tests/cli/fake_nvcc.sh", cwd);
	setenv("KBREED_NVCC", fake, 1);
	free(fake);
}

static void write_text(const char *path, const char *text)
{
	assert_int_equal(util_write_file(path, text, strlen(text)), 0);
}

static void test_key_covers_inputs(void **state)
{
	/* Whatever nvcc sees changes the key: the source, any header of the
	 * include directory (the ABI header first), the target, the flags. */
	use_fake_nvcc();
	char *dir = test_tmpdir(), *inc = xasprintf("%s/include", dir), *src = xasprintf("%s/k.cu", dir);
	char *hdr = xasprintf("%s/kbreed_candidate.h", inc), *abi = NULL;
	assert_int_equal(util_mkdirs(inc), 0);
	assert_int_equal(util_read_file("include/kbreed_candidate.h", 1 << 20, &abi, NULL), 0);
	write_text(hdr, abi);
	write_text(src, "#include \"kbreed_candidate.h\"\n");
	struct compile_opts o = { .arch = ARCH, .include_dir = inc };
	char base[65], again[65], k[65];
	assert_int_equal(compile_key(src, &o, base), 0);
	assert_int_equal(strlen(base), 64);
	assert_int_equal(compile_key(src, &o, again), 0);
	assert_string_equal(base, again);

	char *changed = xasprintf("%s\n/* one more line */\n", abi);
	write_text(hdr, changed);
	assert_int_equal(compile_key(src, &o, k), 0);
	assert_string_not_equal(k, base);
	write_text(hdr, abi);
	assert_int_equal(compile_key(src, &o, k), 0);
	assert_string_equal(k, base);

	char *other = xasprintf("%s/helper.h", inc);
	write_text(other, "#define X 1\n");
	assert_int_equal(compile_key(src, &o, k), 0);
	assert_string_not_equal(k, base);
	unlink(other);

	struct compile_opts o80 = { .arch = "sm_80", .include_dir = inc };
	assert_int_equal(compile_key(src, &o80, k), 0);
	assert_string_not_equal(k, base);
	struct compile_opts ox = { .arch = ARCH, .include_dir = inc, .extra = "-DX=1" };
	assert_int_equal(compile_key(src, &ox, k), 0);
	assert_string_not_equal(k, base);
	write_text(src, "#include \"kbreed_candidate.h\"\n// other\n");
	assert_int_equal(compile_key(src, &o, k), 0);
	assert_string_not_equal(k, base);

	struct compile_opts missing = { .arch = ARCH, .include_dir = inc };
	char *gone = xasprintf("%s/gone.cu", dir);
	assert_int_equal(compile_key(gone, &missing, k), -1);
	unsetenv("KBREED_NVCC");
	util_remove_tree(dir);
	free(gone);
	free(other);
	free(changed);
	free(abi);
	free(hdr);
	free(src);
	free(inc);
	free(dir);
}

static void test_machine_failures_not_remembered(void **state)
{
	/* nvcc killed by a signal, or stopped by a full disk, says nothing about
	 * the source: the next batch, on a mended machine, compiles it. Only the
	 * compiler's verdict on the source is remembered. */
	use_fake_nvcc();
	char *dir = test_tmpdir(), *flag = xasprintf("%s/broken", dir);
	const char *kinds[] = { "killed", "disk full" };
	for (int i = 0; i < 2; i++) {
		char *src = xasprintf("%s/k%d.cu", dir, i);
		char *text = xasprintf("// fake_nvcc: %s while %s exists\n// %s %f\n", kinds[i], flag, dir,
				       util_now());
		write_text(src, text);
		write_text(flag, "");
		struct compile_opts o = { .arch = ARCH };
		struct compile_job j = { .source = src };
		assert_int_equal(compile_batch(&j, 1, &o), 0);
		assert_false(j.ok);
		assert_false(j.cached);
		assert_false(j.timed_out);
		assert_non_null(strstr(j.log, "not remembered as a failure"));
		compile_job_release(&j);
		unlink(flag);
		struct compile_job k = { .source = src };
		assert_int_equal(compile_batch(&k, 1, &o), 0);
		if (!k.ok || k.cached)
			fail_msg("after a %s nvcc, the source was remembered as failed:\n%s", kinds[i], k.log);
		compile_job_release(&k);
		free(text);
		free(src);
	}
	/* A real verdict is still remembered. */
	char *bad = xasprintf("%s/bad.cu", dir);
	char *text = xasprintf("this does not compile %f\n", util_now());
	write_text(bad, text);
	struct compile_opts o = { .arch = ARCH };
	struct compile_job b = { .source = bad };
	assert_int_equal(compile_batch(&b, 1, &o), 0);
	assert_false(b.ok);
	compile_job_release(&b);
	struct compile_job b2 = { .source = bad };
	assert_int_equal(compile_batch(&b2, 1, &o), 0);
	assert_true(!b2.ok && b2.cached);
	compile_job_release(&b2);
	unsetenv("KBREED_NVCC");
	util_remove_tree(dir);
	free(text);
	free(bad);
	free(flag);
	free(dir);
}

/* Sources of one name in other directories, compiled at once: nvcc names
 * its temporary files after its pid, which is the same in every PID
 * namespace of its own, so each compile needs a TMPDIR of its own. */
static void test_same_name_at_once(void **state)
{
	char *src = NULL;
	assert_int_equal(util_read_file("kernels/naive/conv2d.cu", 1u << 20, &src, NULL), 0);
	char *dirs[3], *paths[3];
	struct compile_job j[3] = { { 0 } };
	for (int i = 0; i < 3; i++) {
		dirs[i] = xasprintf("%s/same%d", getenv("KBREED_CACHE"), i);
		paths[i] = xasprintf("%s/x.cu", dirs[i]);
		char *text = xasprintf("// copy %d\n%s", i, src);
		assert_int_equal(util_mkdirs(dirs[i]), 0);
		assert_int_equal(util_write_file(paths[i], text, strlen(text)), 0);
		free(text);
		j[i].source = paths[i];
	}
	struct compile_opts o = { .arch = ARCH, .jobs = 3 };
	assert_int_equal(compile_batch(j, 3, &o), 0);
	for (int i = 0; i < 3; i++) {
		if (!j[i].ok)
			print_error("%s: %s\n", paths[i], j[i].log ? j[i].log : "");
		assert_true(j[i].ok);
		compile_job_release(&j[i]);
		free(paths[i]);
		free(dirs[i]);
	}
	free(src);
}

/* What the model may see of a log: its own file's diagnostics, never what
 * the compiler printed of another file. */
static void test_log_for_model_synthetic(void **state)
{
	const char *log =
		"/tmp/x/cand.cu(3): error: identifier \"undefined_thing\" is undefined\n"
		"  x[0] = undefined_thing;\n"
		"         ^\n"
		"\n"
		"/etc/shadow(1): error: identifier \"root\" is undefined\n"
		"  root:$6$SECRETHASH:19000:0:99999:7:::\n"
		"  ^\n"
		"\n"
		"In file included from /tmp/x/cand.cu:2:\n"
		"/home/u/.netrc:1:1: error: 'machine' does not name a type\n"
		"    1 | machine host login me password HUNTER2\n"
		"      | ^~~~~~~\n"
		"/tmp/tmpxft_0001.s: Assembler messages:\n"
		"/tmp/tmpxft_0001.s:12: Error: junk at end of line, first unrecognized character is `S3CR3T'\n"
		"unexpected line LEAKED_TOKEN\n"
		"   indented orphan ORPHAN_TOKEN\n"
		"ptxas error   : Entry function '_Z1kPf' uses too much shared data (0x12000 bytes, 0xc000 max)\n"
		"/tmp/x/cand.cu:9:5: warning: unused variable 'y'\n"
		"    9 |   int y;\n"
		"3 errors detected in the compilation of \"/tmp/x/cand.cu\".\n";
	char *m = compile_log_for_model(log, "/tmp/x/cand.cu");
	const char *kept[] = { "cand.cu(3): error: identifier \"undefined_thing\"", "x[0] = undefined_thing;",
			       "uses too much shared data", "cand.cu:9:5: warning", "   9 |   int y;",
			       "3 errors detected", "left out" };
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
		if (!strstr(m, kept[i]))
			fail_msg("\"%s\" missing from:\n%s", kept[i], m);
	const char *gone[] = { "SECRETHASH", "root", "HUNTER2", "machine", "S3CR3T", "LEAKED_TOKEN", "ORPHAN_TOKEN" };
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
		if (strstr(m, gone[i]))
			fail_msg("\"%s\" reached the model:\n%s", gone[i], m);
	free(m);
	/* Nothing to leave out: the log as it was, and no note. */
	m = compile_log_for_model("a.cu(1): error: x\n  int x\n  ^\n\n1 error detected in the compilation of \"a.cu\".\n", "a.cu");
	assert_string_equal(m, "a.cu(1): error: x\n  int x\n  ^\n\n1 error detected in the compilation of \"a.cu\".\n");
	free(m);
	m = compile_log_for_model(NULL, "a.cu");
	assert_string_equal(m, "");
	free(m);
}

/* The real nvcc, told to include a file of the machine: the line it prints
 * of that file never reaches the model. */
static void test_log_for_model_nvcc(void **state)
{
	char *dir = test_tmpdir();
	char *secret = xasprintf("%s/secret.txt", dir), *src = xasprintf("%s/cand.cu", dir);
	const char *content = "zq_secret_word_1 zq_secret_word_2\n";
	assert_int_equal(util_write_file(secret, content, strlen(content)), 0);
	char *text = xasprintf("__global__ void k(float *x) { x[0] = zq_own_undefined; }\n#include \"%s\"\n", secret);
	assert_int_equal(util_write_file(src, text, strlen(text)), 0);
	struct compile_opts o = { .arch = ARCH, .jobs = 1 };
	struct compile_job j = { .source = src };
	assert_int_equal(compile_batch(&j, 1, &o), 0);
	assert_false(j.ok);
	assert_non_null(strstr(j.log, "zq_secret_word_1"));   /* nvcc did print it */
	char *m = compile_log_for_model(j.log, src);
	assert_null(strstr(m, "zq_secret_word"));
	assert_non_null(strstr(m, "zq_own_undefined"));
	assert_non_null(strstr(m, "secret.txt"));   /* named in the closing note */
	free(m);
	compile_job_release(&j);
	util_remove_tree(dir);
	free(text);
	free(src);
	free(secret);
	free(dir);
}

static void test_shipped_kernels_compile(void **state)
{
	glob_t g;
	assert_int_equal(glob("kernels/naive/*.cu", 0, NULL, &g), 0);
	assert_int_equal(glob("kernels/example_relu.cu", GLOB_APPEND, NULL, &g), 0);
	assert_int_equal(glob("kernels/hacks/*.cu", GLOB_APPEND, NULL, &g), 0);
	assert_true(g.gl_pathc >= 19);
	struct compile_job *j = calloc(g.gl_pathc, sizeof *j);
	for (size_t i = 0; i < g.gl_pathc; i++)
		j[i].source = g.gl_pathv[i];
	struct compile_opts o = { .arch = ARCH };
	assert_int_equal(compile_batch(j, (int)g.gl_pathc, &o), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (!j[i].ok)
			fprintf(stderr, "%s:\n%s\n", j[i].source, j[i].log);
		assert_true(j[i].ok);
		compile_job_release(&j[i]);
	}
	free(j);
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arch_for),
		cmocka_unit_test(test_compile_and_cache),
		cmocka_unit_test(test_abi_symbols),
		cmocka_unit_test(test_same_shape),
		cmocka_unit_test(test_compile_error_remembered),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_key_covers_inputs),
		cmocka_unit_test(test_machine_failures_not_remembered),
		cmocka_unit_test(test_same_name_at_once),
		cmocka_unit_test(test_log_for_model_synthetic),
		cmocka_unit_test(test_log_for_model_nvcc),
		cmocka_unit_test(test_shipped_kernels_compile),
	};
	return cmocka_run_group_tests_name("compile", tests, setup, NULL);
}
