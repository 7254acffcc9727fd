/* test_util.c - SHA-256 against known vectors, capped buffers, atomic files. */
#include "testing.h"

#include "util.h"

static void test_sha256_vectors(void **state)
{
	char hex[65];
	util_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	util_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	util_sha256_hex(two, strlen(two), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* Fed in odd pieces, the same digest. */
	struct sha256 s;
	sha256_init(&s);
	for (size_t i = 0; i < strlen(two); i += 7)
		sha256_update(&s, two + i, strlen(two) - i < 7 ? strlen(two) - i : 7);
	sha256_final_hex(&s, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_buf_cap(void **state)
{
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(buf_append(&b, "world", 5), 0);
	assert_int_equal(buf_append(&b, "!", 1), -1);  /* past the cap: refused, not cut */
	assert_string_equal(buf_str(&b), "helloworld");
	buf_release(&b);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
	char *s = buf_detach(&b);
	assert_string_equal(s, "42-x");
	free(s);
}

static void test_files(void **state)
{
	char *dir = test_tmpdir();
	char *sub = xasprintf("%s/a/b/c", dir), *file = xasprintf("%s/f.txt", sub);
	assert_int_equal(util_mkdirs(sub), 0);
	assert_true(util_is_dir(sub));
	assert_int_equal(util_write_file(file, "data", 4), 0);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(util_read_file(file, 100, &text, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(text, "data");
	free(text);
	assert_int_equal(util_read_file(file, 2, &text, &len), -1);  /* over the cap */
	assert_int_equal(util_read_file("/nonexistent/x", 100, &text, &len), -1);
	assert_int_equal(util_remove_tree(dir), 0);
	assert_false(util_is_dir(dir));
	free(file);
	free(sub);
	free(dir);
}

static void test_cache_dir(void **state)
{
	setenv("KBREED_CACHE", "/x/y", 1);
	char *d = util_cache_dir();
	assert_string_equal(d, "/x/y");
	free(d);
	unsetenv("KBREED_CACHE");
	setenv("XDG_CACHE_HOME", "/c", 1);
	d = util_cache_dir();
	assert_string_equal(d, "/c/kbreed");
	free(d);
}

static void test_word_in(void **state)
{
	assert_true(util_word_in("VEC THREADS", "VEC"));
	assert_true(util_word_in("XVEC VEC", "VEC"));
	assert_false(util_word_in("XVEC VECTOR", "VEC"));
	assert_true(util_word_in("matmul", "matmul"));
	assert_false(util_word_in("matmul_fp16", "matmul"));
	assert_false(util_word_in("", "x"));
	assert_false(util_word_in("a b", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_word_in),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_cache_dir),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
