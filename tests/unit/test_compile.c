/* test_compile.c - nvcc through the cache: real compiles (no GPU needed),
 * cache hits, remembered failures, time limits, and the ABI symbols of what
 * comes out. Also compiles every shipped kernel at the default target. */
#include "testing.h"

#include "compile.h"
#include "compile_group.h"
#include "linkcheck.h"
#include "../../include/kbreed_candidate.h"
#include "proc.h"
#include "util.h"

#include <ctype.h>
#include <dlfcn.h>
#include <glob.h>

#define ARCH "sm_90a"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

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

/* What may share a translation unit, and what must compile alone. */
static void test_group_fits(void **state)
{
	static const struct {
		const char *text;
		bool fits;
	} cases[] = {
		{ "#include <cuda_runtime.h>\n#include \"kbreed_candidate.h\"\n#define BM 64\n"
		  "extern __shared__ __align__(16) float smem[];\n__global__ void k(float *x) { x[0] = smem[0]; }\n"
		  "KBREED_CANDIDATE_ABI;\n#pragma unroll\n", true },
		{ "/* extern int x; a constructor */\n// #pragma pack(1)\nconst char *s = \"extern constructor\";\n", true },
		{ "extern \"C\" int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *s)\n{ return 0; }\n", true },
		{ "  #  include <cuda_fp16.h>\n#if 0\n#error no\n#endif\n", true },
		{ "#include <cublas_v2.h>\n", false },          /* a header not included first */
		{ "#include \"../common/host.cuh\"\n", false },
		{ "extern \"C\" __global__ void k(float *x) {}\n", false },  /* one name for the whole unit */
		{ "extern int counter;\n", false },
		{ "extern \"C\" {\nint kbreed_forward(void);\n}\n", false },
		{ "__attribute__((constructor)) static void f(void) {}\n", false },
		{ "static void g(void) __attribute__((destructor));\n", false },
		{ "#pragma pack(1)\n", false },                   /* outlives the member */
		{ "#line 7 \"other.cu\"\n", false },
		{ "#define kbreed_forward my_forward\n", false },
		{ "#define KB_EXPORT\n", false },
		{ "const char *p = R\"(extern)\";\n", false },
		{ "#include_next <stdio.h>\n", false },
		{ "#define \\\n  BM 64\n#include \\\n <cublas_v2.h>\n", false },  /* continued lines */
		{ "#define CTOR __attribute__((constructor))\nCTOR static void f(void) {}\n", false },  /* in a macro */
		{ "#define EXPORT extern \"C\"\nEXPORT __global__ void k(void) {}\n", false },
		{ "#define CAT(a, b) a##b\n", false },          /* pasting could spell either */
		{ "#define __CUDA_NO_HALF_OPERATORS__\n#include <cuda_fp16.h>\n", false },  /* configures a header */
		{ "#define NDEBUG 1\n", false },
		{ "#undef _GNU_SOURCE\n", false },
		{ "#define TILE(x) ((x) * 16) /* extern */\n#define NAME \"constructor\"\n", true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *why = NULL;
		bool fits = compile_group_fits(cases[i].text, strlen(cases[i].text), "/tmp/c1.cu", &why, NULL);
		if (fits != cases[i].fits)
			fail_msg("case %zu: fits %d, want %d (%s):\n%s", i, fits, cases[i].fits, why ? why : "", cases[i].text);
		assert_true(fits ? why == NULL : why != NULL);
	}
	const char *why = NULL;
	assert_false(compile_group_fits("int x;\n", 7, "/tmp/a\"b.cu", &why, NULL));  /* no #line for it */
	assert_false(compile_group_fits("int x;\0int y;\n", 14, "/tmp/c1.cu", &why, NULL));
	/* Texts are not NUL-terminated: a scan that ends at a word's last byte
	 * must not look one past it (a heap copy of exactly the text, so that
	 * the sanitizers see a read past it). */
	static const char *const ends[] = { "extern __shared__", "extern \"C\"", "#define", "#include <math.h",
					    "/* open", "\"open", "#", "x\\", "extern" };
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		size_t len = strlen(ends[i]);
		char *copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, ends[i], len);
		why = "unset";
		bool fits = compile_group_fits(copy, len, "/tmp/c1.cu", &why, NULL);
		assert_true(fits ? why == NULL : why != NULL);
		free(copy);
	}
	/* The headers a member includes, as a set: the same set in any order
	 * and spelling, another set for one more header. */
	static const char *const sets[3] = { "#include <math.h>\n#include <cuda_runtime.h>\n",
					     "#  include <cuda_runtime.h> // the runtime\n#include <math.h>\n",
					     "#include <cuda_runtime.h>\n#include <math.h>\n#include <cuda_fp16.h>\n" };
	uint64_t set[3];
	for (int i = 0; i < 3; i++)
		assert_true(compile_group_fits(sets[i], strlen(sets[i]), "/tmp/c1.cu", &why, &set[i]));
	assert_true(set[0] == set[1] && set[0] != 0);
	assert_true(set[2] != set[0]);
	setenv("KBREED_COMPILE_GROUP", "1", 1);
	assert_int_equal(compile_group_size(), 1);
	setenv("KBREED_COMPILE_GROUP", "9", 1);
	assert_int_equal(compile_group_size(), COMPILE_GROUP_DEFAULT);
	setenv("KBREED_COMPILE_GROUP", "3x", 1);
	assert_int_equal(compile_group_size(), COMPILE_GROUP_DEFAULT);
	unsetenv("KBREED_COMPILE_GROUP");
}

/* PTX with what a namespace and the order of functions change taken out:
 * mangled names and the names of extern __shared__ arrays become "F",
 * labels and local depots lose their function's number, the ".globl"
 * comments and blank lines go; then the top-level declarations, one string each, sorted.
 * Returns how many (caller frees each and the array). */
static int ptx_units(const char *path, char ***out)
{
	char *text = NULL;
	assert_int_equal(util_read_file(path, 64u << 20, &text, NULL), 0);
	struct buf names, b;
	buf_init(&names, 1 << 16);
	buf_init(&b, 128u << 20);
	/* The extern shared arrays' names, each as " name\n". */
	for (char *p = strstr(text, ".extern .shared"); p; p = strstr(p + 1, ".extern .shared")) {
		char *e = strstr(p, "[]"), *w = e;
		while (w && w > p && (isalnum((unsigned char)w[-1]) || w[-1] == '_'))
			w--;
		if (w && w < e)
			buf_printf(&names, " %.*s\n", (int)(e - w), w);
	}
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		if (strspn(p, " \t") >= len || (strstr(p, "// .globl") && (size_t)(strstr(p, "// .globl") - p) < len)) {
			p += len + (p[len] == '\n');
			continue;
		}
		for (size_t i = 0; i < len;) {
			bool start = i == 0 || !(isalnum((unsigned char)p[i - 1]) || p[i - 1] == '_' || p[i - 1] == '$');
			size_t w = 0;
			while (i + w < len && (isalnum((unsigned char)p[i + w]) || p[i + w] == '_' || p[i + w] == '$'))
				w++;
			if (!start || !w) {
				buf_append(&b, p + i, 1);
				i++;
				continue;
			}
			char *word = xasprintf(" %.*s\n", (int)w, p + i);
			if (!strncmp(p + i, "_Z", 2) || strstr(buf_str(&names), word))
				buf_append(&b, "F", 1);
			else if (!strncmp(p + i, "$L__BB", 6) || !strncmp(p + i, "__local_depot", 13)) {
				size_t k = !strncmp(p + i, "$L__BB", 6) ? 6 : 13;
				buf_append(&b, p + i, k);
				while (k < w && isdigit((unsigned char)p[i + k]))
					k++;
				buf_append(&b, p + i + k, w - k);
			} else
				buf_append(&b, p + i, w);
			free(word);
			i += w;
		}
		buf_append(&b, "\n", 1);
		p += len + (p[len] == '\n');
	}
	/* Split before every top-level declaration. */
	char *all = buf_detach(&b), **units = NULL;
	int n = 0;
	for (char *p = all; *p;) {
		char *e = p;
		do {
			e = strchr(e, '\n');
			e = e ? e + 1 : p + strlen(p);
		} while (*e && !(*e == '.' && strncmp(e, ".loc", 4)));
		units = realloc(units, (size_t)(n + 1) * sizeof *units);
		units[n++] = xasprintf("%.*s", (int)(e - p), p);
		p = e;
	}
	qsort(units, (size_t)n, sizeof *units, cmp_str);
	free(all);
	free(text);
	buf_release(&names);
	*out = units;
	return n;
}

static void nvcc_ptx(const char *source, const char *ptx)
{
	const char *argv[] = { compile_nvcc(), "-O3", "-std=c++17", "-arch=sm_90a", "-Iinclude", "-ptx", "-o", ptx,
			       source, NULL };
	struct proc_opts po = { .argv = argv, .timeout_s = 300 };
	struct proc_result r;
	proc_result_init(&r);
	assert_int_equal(proc_run(&po, &r), 0);
	if (r.end != PROC_EXITED || r.exit_code)
		fail_msg("nvcc -ptx %s:\n%s", source, buf_str(&r.err));
	proc_result_release(&r);
}

/* A group compiles to the same device code as its members alone: the same
 * kernels, instruction for instruction, whatever names the members share
 * (kernels, macros, extern shared arrays, helpers). */
static void test_group_same_code(void **state)
{
	char *dir = test_tmpdir();
	static const char *const texts[2] = {
		"#include <cuda_runtime.h>\n#include \"kbreed_candidate.h\"\n#define SCALE 2.0f\n"
		"extern __shared__ float tile[];\n"
		"static __device__ float twice(float v) { return v * SCALE; }\n"
		"__global__ void kernel(const float *x, float *y, long n)\n"
		"{ long i = blockIdx.x * (long)blockDim.x + threadIdx.x; tile[threadIdx.x] = i < n ? x[i] : 0.f;\n"
		"  __syncthreads(); if (i < n) y[i] = twice(tile[threadIdx.x ^ 1]); }\n"
		"KBREED_CANDIDATE_ABI;\n"
		"KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)\n"
		"{ long n = kb_numel(&in[0]); kernel<<<(n + 255) / 256, 256, 1024, (cudaStream_t)stream>>>(\n"
		"  (const float *)in[0].data, (float *)out[0].data, n); return cudaGetLastError() ? KB_ERR_LAUNCH : KB_OK; }\n",
		"#include <cuda_runtime.h>\n#include <math.h>\n#include \"kbreed_candidate.h\"\n#define SCALE 3\n"
		"extern __shared__ double tile[];\n"
		"static __device__ float twice(float v) { return tanhf(v) + SCALE; }\n"
		"template <int N> __global__ void kernel(const float *x, float *y, long n)\n"
		"{ long i = blockIdx.x * (long)blockDim.x + threadIdx.x;\n#pragma unroll\n"
		"  for (int k = 0; k < N; k++) tile[k] = k; if (i < n) y[i] = twice(x[i]) + tile[i % N]; }\n"
		"KBREED_CANDIDATE_ABI;\n"
		"KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)\n"
		"{ long n = kb_numel(&in[0]); kernel<4><<<(n + 127) / 128, 128, 64, (cudaStream_t)stream>>>(\n"
		"  (const float *)in[0].data, (float *)out[0].data, n); return cudaGetLastError() ? KB_ERR_LAUNCH : KB_OK; }\n",
	};
	const char *paths[3];
	const char *all[3];
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(util_read_file("kernels/bad/good_gelu.cu", 1 << 20, &text, &len), 0);
	for (int m = 0; m < 3; m++) {
		all[m] = m < 2 ? texts[m] : text;
		paths[m] = xasprintf("%s/m%d.cu", dir, m);
		assert_int_equal(util_write_file(paths[m], all[m], strlen(all[m])), 0);
		const char *why = NULL;
		if (!compile_group_fits(all[m], strlen(all[m]), paths[m], &why, NULL))
			fail_msg("%s does not fit a group: %s", paths[m], why);
	}
	char *unit_path = xasprintf("%s/group.cu", dir), *unit = compile_group_source(all, paths, 3, unit_path);
	assert_int_equal(util_write_file(unit_path, unit, strlen(unit)), 0);
	char *ptx = xasprintf("%s/group.ptx", dir);
	nvcc_ptx(unit_path, ptx);
	char **grouped = NULL, **alone = NULL;
	int n_grouped = ptx_units(ptx, &grouped), n_alone = 0;
	for (int m = 0; m < 3; m++) {
		char *one = xasprintf("%s/m%d.ptx", dir, m), **units = NULL;
		nvcc_ptx(paths[m], one);
		int n = ptx_units(one, &units);
		for (int k = 0; k < n; k++) {
			if (!strncmp(units[k], ".version", 8) || !strncmp(units[k], ".target", 7) ||
			    !strncmp(units[k], ".address_size", 13) || units[k][0] != '.') {
				free(units[k]);
				continue;  /* the file's header, once in the group */
			}
			alone = realloc(alone, (size_t)(n_alone + 1) * sizeof *alone);
			alone[n_alone++] = units[k];
		}
		free(units);
		free(one);
	}
	qsort(alone, (size_t)n_alone, sizeof *alone, cmp_str);
	int kernels = 0, g = 0;
	for (int k = 0; k < n_grouped; k++) {
		if (!strncmp(grouped[k], ".version", 8) || !strncmp(grouped[k], ".target", 7) ||
		    !strncmp(grouped[k], ".address_size", 13) || grouped[k][0] != '.')
			continue;
		if (g >= n_alone || strcmp(grouped[k], alone[g]))
			fail_msg("the group's device code differs from its members' alone (%d of %d, %d):\n--- group:\n[%.2000s]\n--- alone:\n[%.2000s]", k, n_grouped, n_alone,
				 grouped[k], g < n_alone ? alone[g] : "(nothing)");
		kernels += strstr(grouped[k], ".entry") != NULL;
		g++;
	}
	assert_int_equal(g, n_alone);
	assert_true(kernels >= 3);
	for (int k = 0; k < n_grouped; k++)
		free(grouped[k]);
	for (int k = 0; k < n_alone; k++)
		free(alone[k]);
	free(grouped);
	free(alone);
	for (int m = 0; m < 3; m++)
		free((char *)paths[m]);
	util_remove_tree(dir);
	free(ptx);
	free(unit);
	free(unit_path);
	free(text);
	free(dir);
}

/* Loads a compiled candidate (no GPU needed as long as nothing CUDA is
 * called): its kbreed_abi_version() (-1 without one), and whether it has a
 * kbreed_forward. */
static int abi_version_of(const char *so, bool *has_forward)
{
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	int (*abi)(void) = (int (*)(void))dlsym(h, "kbreed_abi_version");
	int version = abi ? abi() : -1;
	*has_forward = dlsym(h, "kbreed_forward") != NULL;
	dlclose(h);
	return version;
}

/* A source never seen before: `head`, `from`'s text, `tail` and a unique
 * last line, written to dir/name (caller frees the path). */
static char *fresh_variant(const char *dir, const char *from, const char *name, const char *head, const char *tail)
{
	char *text = NULL, *path = xasprintf("%s/%s", dir, name);
	assert_int_equal(util_read_file(from, 1 << 20, &text, NULL), 0);
	char *unique = xasprintf("%s%s\n%s\n// %s %s %f\n", head, text, tail, dir, name, util_now());
	assert_int_equal(util_write_file(path, unique, strlen(unique)), 0);
	free(unique);
	free(text);
	return path;
}

static char *fresh_copy(const char *dir, const char *from, const char *name)
{
	return fresh_variant(dir, from, name, "", "");
}

/* Each member's object is its own: kbreed_abi_version and kbreed_forward
 * are the member's (one member answers another ABI version); a member that
 * does not link (no kbreed_forward), the members of a group that does not
 * compile, and a member whose object the link-time check refuses for a
 * mate's data are compiled alone, each with its own outcome and diagnostics;
 * members that include other headers are never grouped together. */
static void test_group_outcomes(void **state)
{
	char *dir = test_tmpdir();
	char *good = fresh_copy(dir, "kernels/bad/good_gelu.cu", "good.cu");
	char *other = fresh_copy(dir, "kernels/bad/abi_mismatch.cu", "other.cu");
	char *none = fresh_copy(dir, "kernels/bad/no_symbol.cu", "none.cu");
	struct compile_opts o = { .arch = ARCH, .jobs = 1, .group = 3 };
	struct compile_job j[3] = { { .source = good }, { .source = other }, { .source = none } };
	assert_int_equal(compile_batch(j, 3, &o), 0);
	for (int i = 0; i < 3; i++)
		assert_true(j[i].ok && !j[i].cached);
	assert_int_equal(j[0].grouped, 3);
	assert_int_equal(j[1].grouped, 3);
	assert_int_equal(j[2].grouped, 0);   /* its link failed: compiled alone */
	/* Member 1's own entry points: its version is not the ABI's, member 0's is. */
	bool forward = false;
	assert_int_equal(abi_version_of(j[0].so_path, &forward), KBREED_ABI_VERSION);
	assert_true(forward);
	int other_version = abi_version_of(j[1].so_path, &forward);
	assert_true(other_version >= 0 && other_version != KBREED_ABI_VERSION);
	assert_true(forward);
	abi_version_of(j[2].so_path, &forward);
	assert_false(forward);
	for (int i = 0; i < 3; i++)
		compile_job_release(&j[i]);

	/* One member does not compile: every member compiles alone. */
	char *a = fresh_copy(dir, "kernels/bad/good_gelu.cu", "a.cu");
	char *broken = fresh_copy(dir, "kernels/bad/compile_error.cu", "broken.cu");
	char *c = fresh_copy(dir, "kernels/bad/good_gelu.cu", "c.cu");
	struct compile_job k[3] = { { .source = a }, { .source = broken }, { .source = c } };
	const char *why = NULL;
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(util_read_file(broken, 1 << 20, &text, &len), 0);
	assert_true(compile_group_fits(text, len, broken, &why, NULL));  /* it was in the group */
	free(text);
	assert_int_equal(compile_batch(k, 3, &o), 0);
	assert_true(k[0].ok && k[2].ok);
	assert_false(k[1].ok);
	for (int i = 0; i < 3; i++)
		assert_int_equal(k[i].grouped, 0);
	assert_non_null(strstr(k[1].log, "broken.cu"));
	assert_null(strstr(k[1].log, "/a.cu"));
	assert_null(strstr(k[0].log, "broken.cu"));
	assert_true(util_file_exists(k[1].log_path));
	for (int i = 0; i < 3; i++)
		compile_job_release(&k[i]);
	/* A mate whose object names a vendor library (what the link-time check
	 * refuses): the other member's object would hold that name too, so it
	 * is compiled alone, and its own object passes. */
	char *clean = fresh_copy(dir, "kernels/bad/good_gelu.cu", "clean.cu");
	char *named = fresh_variant(dir, "kernels/bad/good_gelu.cu", "named.cu", "",
				    "__attribute__((used)) static const char library[] = \"libcu\" \"blas.so.13\";");
	struct compile_job m[2] = { { .source = clean }, { .source = named } };
	assert_int_equal(compile_batch(m, 2, &o), 0);
	assert_true(m[0].ok && m[1].ok);
	assert_int_equal(m[0].grouped, 0);
	char *lc_why = NULL;
	assert_int_equal(linkcheck_so(m[0].so_path, &lc_why), 0);
	assert_true(linkcheck_so(m[1].so_path, &lc_why) > 0);
	free(lc_why);
	for (int i = 0; i < 2; i++)
		compile_job_release(&m[i]);
	free(named);
	free(clean);
	/* Members that include other headers never share a unit: each unit
	 * includes what its members do, no more. */
	char *plain = fresh_copy(dir, "kernels/bad/good_gelu.cu", "plain.cu");
	char *more = fresh_variant(dir, "kernels/bad/good_gelu.cu", "more.cu", "#include <cuda_fp16.h>\n", "");
	struct compile_job h[2] = { { .source = plain }, { .source = more } };
	assert_int_equal(compile_batch(h, 2, &o), 0);
	assert_true(h[0].ok && h[1].ok);
	assert_int_equal(h[0].grouped, 0);
	assert_int_equal(h[1].grouped, 0);
	for (int i = 0; i < 2; i++)
		compile_job_release(&h[i]);
	free(more);
	free(plain);
	/* The group's own files are gone; only keyed products stay. */
	char *cache = util_cache_dir();
	char *pattern = xasprintf("%s/build/group.*", cache);
	glob_t g;
	assert_int_equal(glob(pattern, 0, NULL, &g), GLOB_NOMATCH);
	free(pattern);
	free(cache);
	util_remove_tree(dir);
	free(a);
	free(broken);
	free(c);
	free(good);
	free(other);
	free(none);
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
		cmocka_unit_test(test_group_fits),
		cmocka_unit_test(test_group_same_code),
		cmocka_unit_test(test_group_outcomes),
		cmocka_unit_test(test_shipped_kernels_compile),
	};
	return cmocka_run_group_tests_name("compile", tests, setup, NULL);
}
