/* test_store.c - the SQLite store: schema, rows in and out, de-duplication,
 * a process killed mid-write, and databases that cannot be used. */
#include "testing.h"

#include "store.h"
#include "util.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

static char *tmp;

static int setup(void **state)
{
	tmp = test_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	util_remove_tree(tmp);
	free(tmp);
	return 0;
}

static int64_t new_run(struct store *s)
{
	struct run_row r = { .problem = "p", .problem_path = "/p.py", .problem_sha = "ab",
			     .proposer = "playbook", .rounds = 5, .ideas = 8, .impls = 4, .keep = 4,
			     .seed = 1, .tolerance = "strict", .gpu = "G", .arch = "sm_90a",
			     .eager_ms = 2.5 };
	assert_int_equal(store_run_create(s, &r), 0);
	return r.id;
}

static void test_rows(void **state)
{
	char *path = xasprintf("%s/rows.db", tmp);
	struct store *s = store_open(path);
	assert_non_null(s);
	int64_t run = new_run(s);
	assert_true(run > 0);

	struct run_row r;
	assert_int_equal(store_run_get(s, run, &r), 0);
	assert_string_equal(r.problem, "p");
	assert_string_equal(r.status, "running");
	assert_true(r.eager_ms == 2.5);
	free(r.status);
	r.status = xstrdup("done");
	r.winner = 7;
	assert_int_equal(store_run_update(s, &r), 0);
	run_row_release(&r);
	assert_int_equal(store_run_get(s, run, &r), 0);
	assert_string_equal(r.status, "done");
	assert_int_equal(r.winner, 7);
	run_row_release(&r);
	assert_int_equal(store_run_get(s, 999, &r), -1);

	struct idea_row i = { .run = run, .round = 1, .catalog_id = "x", .category = "memory access",
			      .text = "an idea", .parent1 = 1 };
	assert_int_equal(store_idea_put(s, &i), 0);
	struct cand_row c = { .run = run, .round = 1, .idea = i.id, .parent1 = 1, .origin = "playbook",
			      .template_name = "t", .knobs = "A=1", .source = "__global__ void k(){}" };
	bool dup = true;
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	assert_false(dup);
	int64_t first = c.id;
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	assert_true(dup);
	assert_int_equal(c.id, first);

	struct eval_row e = { .verdict = "correct", .detail = "fine", .timed = true, .median_ms = 1.25,
			      .pct_eager = 200, .gpu = "G" };
	assert_int_equal(store_eval_put(s, first, &e), 0);
	e.median_ms = 9;  /* a second write for the same candidate is ignored */
	assert_int_equal(store_eval_put(s, first, &e), 0);

	struct cand_row *rows;
	int n;
	assert_int_equal(store_candidates_of_run(s, run, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_true(rows[0].evaluated);
	assert_string_equal(rows[0].verdict, "correct");
	assert_true(rows[0].median_ms == 1.25);
	assert_string_equal(rows[0].knobs, "A=1");
	cand_row_release(&rows[0]);
	free(rows);

	struct bank_row b1 = { .problem = "p", .family = "f", .template_name = "t", .knobs = "A=1",
			       .source = "s1", .gpu = "G", .median_ms = 2, .pct_eager = 100, .run = run };
	struct bank_row b2 = b1;
	b2.problem = "q";
	b2.source = "s2";
	b2.pct_eager = 500;
	assert_int_equal(store_bank_put(s, &b1), 0);
	assert_int_equal(store_bank_put(s, &b1), 0);  /* same kernel: updated, not doubled */
	assert_int_equal(store_bank_put(s, &b2), 0);
	struct bank_row *bank;
	assert_int_equal(store_bank_for(s, "p", "f", "G", &bank, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(bank[0].problem, "p");  /* the problem's own first */
	for (int k = 0; k < n; k++)
		bank_row_release(&bank[k]);
	free(bank);
	assert_int_equal(store_bank_for(s, "p", "f", "other GPU", &bank, &n), 0);
	assert_int_equal(n, 0);
	free(bank);
	store_close(s);
	free(path);
}

static void test_llm_calls(void **state)
{
	char *path = xasprintf("%s/llm.db", tmp);
	struct store *s = store_open(path);
	int64_t run = new_run(s);
	struct llm_call_row bad = { .run = run, .round = 1, .kind = "ideas", .model = "m", .prompt_sha = "aa",
				    .prompt = "p", .status = "malformed", .in_tokens = 10, .out_tokens = 5,
				    .cost_usd = 0.5, .attempts = 1 };
	assert_int_equal(store_llm_call_put(s, &bad), 0);
	assert_null(store_llm_cached(s, "aa"));  /* only good replies are reused */
	struct llm_call_row good = bad;
	good.status = "ok";
	good.reply = "the reply";
	assert_int_equal(store_llm_call_put(s, &good), 0);
	char *r = store_llm_cached(s, "aa");
	assert_string_equal(r, "the reply");
	free(r);
	assert_null(store_llm_cached(s, "bb"));
	long tokens;
	double cost;
	assert_int_equal(store_llm_totals(s, run, &tokens, &cost), 0);
	assert_int_equal(tokens, 30);
	assert_true(cost > 0.99 && cost < 1.01);
	store_close(s);
	free(path);
}

static void test_killed_mid_write(void **state)
{
	char *path = xasprintf("%s/kill.db", tmp);
	struct store *s = store_open(path);
	int64_t run = new_run(s);
	store_close(s);
	pid_t pid = fork();
	if (pid == 0) {
		struct store *w = store_open(path);
		for (int i = 0;; i++) {
			char *src = xasprintf("// candidate %d\n%0*d", i, 2000, i);
			struct cand_row c = { .run = run, .round = 1, .origin = "playbook",
					      .template_name = "t", .knobs = "", .source = src };
			bool dup;
			if (store_candidate_put(w, &c, &dup))
				_exit(3);
			struct eval_row e = { .verdict = "correct", .median_ms = i };
			store_eval_put(w, c.id, &e);
			free(src);
		}
	}
	usleep(300 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* Everything committed is there, whole; the database is sound and writable. */
	sqlite3 *h;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
	s = store_open(path);
	assert_non_null(s);
	struct cand_row *rows;
	int n;
	assert_int_equal(store_candidates_of_run(s, run, &rows, &n), 0);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		assert_non_null(strstr(rows[i].source, "// candidate"));
		assert_int_equal(strlen(rows[i].source), strlen(rows[i].source));
		cand_row_release(&rows[i]);
	}
	free(rows);
	int64_t more = new_run(s);
	assert_true(more > run);
	store_close(s);
	free(path);
}

static void test_unusable(void **state)
{
	char *path = xasprintf("%s/garbage.db", tmp);
	char junk[8192];
	memset(junk, 'x', sizeof junk);
	assert_int_equal(util_write_file(path, junk, sizeof junk), 0);
	assert_null(store_open(path));
	/* Nothing was written over it. */
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(util_read_file(path, 1 << 20, &data, &len), 0);
	assert_int_equal(len, sizeof junk);
	free(data);
	assert_null(store_open("/proc/kbreed-cannot-be-here/x.db"));
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_llm_calls),
		cmocka_unit_test(test_killed_mid_write),
		cmocka_unit_test(test_unusable),
	};
	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
