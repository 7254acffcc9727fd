/* test_store.c - the SQLite store: schema, rows in and out, de-duplication,
 * run states and verdicts the schema lists, references that must lead
 * somewhere, the migration of a first-schema database, run locks, a process
 * killed mid-write, and databases that are refused untouched (not SQLite,
 * not kbreed's, from a newer kbreed, damaged). */
#include "testing.h"

#include "store.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

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
	free(r.uid);  /* the one field store_run_create allocates */
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
	assert_int_equal(r.status, RUN_RUNNING);
	assert_true(r.eager_ms == 2.5);
	r.status = RUN_DONE;
	assert_int_equal(store_run_update(s, &r), 0);
	run_row_release(&r);
	assert_int_equal(store_run_get(s, run, &r), 0);
	assert_int_equal(r.status, RUN_DONE);
	assert_int_equal(r.winner, 0);
	assert_int_equal(strlen(r.uid), 32);
	char *uid = xstrdup(r.uid);
	run_row_release(&r);
	assert_int_equal(store_run_get(s, 999, &r), -1);

	struct idea_row i = { .run = run, .round = 1, .catalog_id = "x", .category = "memory access",
			      .text = "an idea" };
	assert_int_equal(store_idea_put(s, &i), 0);
	struct cand_row c = { .run = run, .round = 1, .idea = i.id, .origin = "playbook",
			      .template_name = "t", .knobs = "A=1", .source = "__global__ void k(){}" };
	bool dup = true;
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	assert_false(dup);
	int64_t first = c.id;
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	assert_true(dup);
	assert_int_equal(c.id, first);

	struct eval_row e = { .verdict = VERDICT_CORRECT, .detail = "fine", .timed = true, .median_ms = 1.25,
			      .pct_eager = 200, .gpu = "G", .device = "1" };
	assert_int_equal(store_eval_put(s, first, &e), 0);
	e.median_ms = 9;  /* a second write for the same candidate is ignored */
	assert_int_equal(store_eval_put(s, first, &e), 0);

	struct cand_row *rows;
	int n;
	assert_int_equal(store_candidates_of_run(s, run, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_true(rows[0].evaluated);
	assert_int_equal(rows[0].verdict, VERDICT_CORRECT);
	assert_true(rows[0].median_ms == 1.25);
	assert_string_equal(rows[0].knobs, "A=1");
	cand_row_release(&rows[0]);
	free(rows);

	/* Read back one at a time, every column: what `kbreed show` prints. */
	struct cand_row one;
	assert_int_equal(store_candidate_get(s, first, &one), 0);
	assert_int_equal(one.run, run);
	assert_int_equal(one.idea, i.id);
	assert_string_equal(one.source, "__global__ void k(){}");
	assert_true(one.evaluated && one.median_ms == 1.25);
	cand_row_release(&one);
	assert_int_equal(store_candidate_get(s, first + 100, &one), -1);
	struct eval_record er;
	assert_int_equal(store_eval_get(s, first, &er), 0);
	assert_int_equal(er.row.verdict, VERDICT_CORRECT);
	assert_string_equal(er.row.detail, "fine");
	assert_string_equal(er.row.gpu, "G");
	assert_string_equal(er.row.device, "1");
	assert_true(er.row.timed && er.row.median_ms == 1.25 && er.row.pct_eager == 200);
	eval_record_release(&er);
	struct cand_row c2 = c;
	c2.source = "__global__ void k2(){}";
	assert_int_equal(store_candidate_put(s, &c2, &dup), 0);
	assert_int_equal(store_eval_get(s, c2.id, &er), 1);  /* not judged yet */
	struct run_row *runs;
	assert_int_equal(store_runs(s, &runs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(runs[0].id, run);
	assert_true(runs[0].started && strlen(runs[0].started) == 19);  /* YYYY-MM-DD HH:MM:SS */
	assert_string_equal(runs[0].uid, uid);
	free(uid);
	run_row_release(&runs[0]);
	free(runs);

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

/* Runs SQL on a database through SQLite directly; returns SQLite's code. */
static int raw_sql(const char *path, const char *sql)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc;
}

/* The integer one query returns, read through SQLite directly. */
static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static char *slurp(const char *path, size_t *len)
{
	char *data = NULL;
	assert_int_equal(util_read_file(path, 64u << 20, &data, len), 0);
	return data;
}

/* store_open(path) fails and leaves the file byte for byte as it was. */
static void assert_refused_untouched(const char *path)
{
	size_t before_len, after_len;
	char *before = slurp(path, &before_len);
	assert_null(store_open(path));
	char *after = slurp(path, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);
	free(before);
	free(after);
}

static void test_states(void **state)
{
	for (int st = RUN_RUNNING; st <= RUN_DRY_RUN; st++)
		assert_int_equal(run_state_parse(run_state_name(st)), st);
	assert_string_equal(run_state_name(RUN_DRY_RUN), "dry_run");
	assert_int_equal(run_state_parse("dry-run"), -1);
	assert_int_equal(run_state_parse(NULL), -1);

	char *path = xasprintf("%s/states.db", tmp);
	struct store *s = store_open(path);
	assert_non_null(s);
	/* Every state goes in and comes back (the CHECK list matches the enum). */
	for (int st = RUN_RUNNING; st <= RUN_DRY_RUN; st++) {
		struct run_row r = { .problem = "p", .status = st, .tolerance = "strict" }, back;
		assert_int_equal(store_run_create(s, &r), 0);
		assert_int_equal(store_run_get(s, r.id, &back), 0);
		assert_int_equal(back.status, st);
		assert_string_equal(back.uid, r.uid);
		free(r.uid);
		run_row_release(&back);
	}
	int64_t run = new_run(s);
	/* Every verdict is stored under its name and read back as itself. */
	for (int i = 0; i < VERDICTS; i++) {
		char *src = xasprintf("// %d", i);
		struct cand_row c = { .run = run, .origin = "playbook", .template_name = "", .knobs = "", .source = src };
		bool dup;
		assert_int_equal(store_candidate_put(s, &c, &dup), 0);
		struct eval_row e = { .verdict = (enum verdict)i };
		assert_int_equal(store_eval_put(s, c.id, &e), 0);
		free(src);
	}
	struct cand_row *back_rows = NULL;
	int n_back = 0;
	assert_int_equal(store_candidates_of_run(s, run, &back_rows, &n_back), 0);
	assert_int_equal(n_back, VERDICTS);
	for (int i = 0; i < n_back; i++) {
		assert_true(back_rows[i].evaluated);
		assert_int_equal(back_rows[i].verdict, (enum verdict)i);
		cand_row_release(&back_rows[i]);
	}
	free(back_rows);
	struct cand_row c = { .run = run, .origin = "playbook", .template_name = "", .knobs = "", .source = "// x" };
	bool dup;
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	struct eval_row bad = { .verdict = (enum verdict)VERDICTS };  /* named "?": no verdict */
	assert_int_equal(store_eval_put(s, c.id, &bad), -1);  /* not ignored: refused */
	store_close(s);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM evaluations"), VERDICTS);
	/* Strings outside the lists are refused by the database itself. */
	assert_int_equal(raw_sql(path, "INSERT INTO runs(problem, status) VALUES('p', 'dry-run')"), SQLITE_CONSTRAINT);
	assert_int_equal(raw_sql(path, "UPDATE runs SET status='finished' WHERE id=1"), SQLITE_CONSTRAINT);
	free(path);
}

static void test_references(void **state)
{
	char *path = xasprintf("%s/refs.db", tmp);
	struct store *s = store_open(path);
	assert_non_null(s);
	int64_t run = new_run(s);
	struct idea_row i = { .run = run + 100, .round = 1, .catalog_id = "x", .category = "c", .text = "t" };
	assert_int_equal(store_idea_put(s, &i), -1);  /* no such run */
	i.run = run;
	i.parent1 = 4242;
	assert_int_equal(store_idea_put(s, &i), -1);  /* no such candidate */
	i.parent1 = 0;
	assert_int_equal(store_idea_put(s, &i), 0);   /* 0: no parent */
	struct cand_row c = { .run = run, .idea = i.id + 7, .origin = "playbook", .template_name = "",
			      .knobs = "", .source = "// a" };
	bool dup;
	assert_int_equal(store_candidate_put(s, &c, &dup), -1);  /* no such idea */
	c.idea = i.id;
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	struct eval_row e = { .verdict = VERDICT_CORRECT };
	assert_int_equal(store_eval_put(s, c.id + 1, &e), -1);  /* no such candidate */
	struct run_row r;
	assert_int_equal(store_run_get(s, run, &r), 0);
	r.winner = c.id + 1;
	assert_int_equal(store_run_update(s, &r), -1);
	r.winner = c.id;
	assert_int_equal(store_run_update(s, &r), 0);
	run_row_release(&r);
	store_close(s);
	/* Foreign keys hold for every connection kbreed opens, and the schema declares them. */
	assert_true(raw_int(path, "SELECT count(*) FROM pragma_foreign_key_list('candidates')") >= 4);
	free(path);
}

/* The first schema, exactly as the first kbreed wrote it (store.c before
 * PRAGMA user_version), with rows as it wrote them. */
static const char *const fixture_v1 =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS runs("
	" id INTEGER PRIMARY KEY, problem TEXT NOT NULL, problem_path TEXT, problem_sha TEXT,"
	" proposer TEXT, rounds INT, ideas INT, impls INT, keep INT, seed INT, tolerance TEXT,"
	" gpu TEXT, arch TEXT, eager_ms REAL, compile_ms REAL, status TEXT, winner INT,"
	" final_ms REAL, final_eager_ms REAL,"
	" started TEXT DEFAULT (datetime('now')), updated TEXT);"
	"CREATE TABLE IF NOT EXISTS ideas("
	" id INTEGER PRIMARY KEY, run INT NOT NULL REFERENCES runs(id), round INT,"
	" catalog_id TEXT, category TEXT, text TEXT, parent1 INT, parent2 INT);"
	"CREATE TABLE IF NOT EXISTS candidates("
	" id INTEGER PRIMARY KEY, run INT NOT NULL REFERENCES runs(id), round INT, idea INT,"
	" parent1 INT, parent2 INT, origin TEXT, template TEXT, knobs TEXT, source TEXT NOT NULL,"
	" source_sha TEXT NOT NULL, created TEXT DEFAULT (datetime('now')),"
	" UNIQUE(run, source_sha));"
	"CREATE TABLE IF NOT EXISTS evaluations("
	" id INTEGER PRIMARY KEY, candidate INT NOT NULL UNIQUE REFERENCES candidates(id),"
	" verdict TEXT NOT NULL, detail TEXT, log TEXT, pass_strict INT, pass_crfm INT,"
	" max_abs REAL, max_rel REAL, timed INT, median_ms REAL, min_ms REAL, max_ms REAL,"
	" host_ms REAL, reps INT, warmup INT, sets INT, flush_mb INT, pct_eager REAL,"
	" pct_floor REAL, floor_ms REAL, gpu TEXT, sm_clock INT, mem_clock INT,"
	" compile_s REAL, eval_s REAL, created TEXT DEFAULT (datetime('now')));"
	"CREATE TABLE IF NOT EXISTS bank("
	" id INTEGER PRIMARY KEY, problem TEXT, family TEXT, template TEXT, knobs TEXT,"
	" source TEXT NOT NULL, source_sha TEXT NOT NULL, gpu TEXT, median_ms REAL,"
	" pct_eager REAL, run INT, created TEXT DEFAULT (datetime('now')),"
	" UNIQUE(problem, gpu, source_sha));"
	"CREATE TABLE IF NOT EXISTS llm_calls("
	" id INTEGER PRIMARY KEY, run INT, round INT, kind TEXT, model TEXT, prompt_sha TEXT,"
	" prompt TEXT, reply TEXT, status TEXT, error TEXT, in_tokens INT, out_tokens INT,"
	" cached_tokens INT, reasoning_tokens INT, cost_usd REAL, attempts INT,"
	" created TEXT DEFAULT (datetime('now')));"
	"CREATE INDEX IF NOT EXISTS llm_calls_sha ON llm_calls(prompt_sha);"
	"CREATE INDEX IF NOT EXISTS candidates_run ON candidates(run);"
	"CREATE INDEX IF NOT EXISTS ideas_run ON ideas(run);"
	"PRAGMA journal_mode=WAL;"
	"INSERT OR IGNORE INTO meta VALUES('schema_version', '1');"
	"INSERT INTO runs(problem, problem_path, problem_sha, proposer, rounds, ideas, impls, keep,"
	" seed, tolerance, gpu, arch, eager_ms, compile_ms, status, winner)"
	" VALUES('gelu', '/p/gelu.py', 'ab', 'playbook', 3, 8, 4, 4, 1, 'strict', 'G', 'sm_90a',"
	" 2.5, 0, 'done', 0);"
	"INSERT INTO runs(problem, status, winner) VALUES('gelu', 'dry-run', 0);"
	"INSERT INTO runs(problem, status, winner) VALUES('gelu', 'stopped', 0);"
	"INSERT INTO runs(problem, status, winner) VALUES('gelu', 'running', 0);"
	"INSERT INTO candidates(run, round, idea, parent1, parent2, origin, template, knobs, source,"
	" source_sha) VALUES(1, 0, 0, 0, 0, 'naive', '', '', 'naive source', 'sha0');"
	"INSERT INTO ideas(run, round, catalog_id, category, text, parent1, parent2)"
	" VALUES(1, 1, 'vec', 'memory access', 'vectorise', 1, 0);"
	"INSERT INTO candidates(run, round, idea, parent1, parent2, origin, template, knobs, source,"
	" source_sha) VALUES(1, 1, 1, 1, 0, 'playbook', 't', 'VEC=4', 'better source', 'sha1');"
	"INSERT INTO evaluations(candidate, verdict, detail, median_ms) VALUES(1, 'correct', 'ok', 2.0);"
	"INSERT INTO evaluations(candidate, verdict, detail, median_ms) VALUES(2, 'correct', 'ok', 1.0);"
	"UPDATE runs SET winner=2, final_ms=1.0 WHERE id=1;"
	"INSERT INTO candidates(run, round, idea, parent1, parent2, origin, template, knobs, source,"
	" source_sha) VALUES(2, 0, 0, 0, 0, 'naive', '', '', 'dry source', 'sha2');"
	"INSERT INTO evaluations(candidate, verdict) VALUES(3, 'not_run');"
	"INSERT INTO bank(problem, family, template, knobs, source, source_sha, gpu, median_ms,"
	" pct_eager, run) VALUES('gelu', 'f', 't', 'VEC=4', 'better source', 'sha1', 'G', 1.0, 250, 1);"
	"INSERT INTO llm_calls(run, round, kind, model, prompt_sha, prompt, reply, status, in_tokens,"
	" out_tokens, cost_usd, attempts) VALUES(1, 1, 'ideas', 'm', 'aa', 'p', 'r', 'ok', 10, 5, 0.5, 1);"
	"INSERT INTO llm_calls(run, round, kind, model, prompt_sha, prompt, status, in_tokens,"
	" out_tokens, cost_usd, attempts) VALUES(0, 0, 'ideas', 'm', 'bb', 'p', 'budget', 0, 0, 0, 0);";

static void test_migrate_v1(void **state)
{
	char *path = xasprintf("%s/v1.db", tmp);
	assert_int_equal(raw_sql(path, fixture_v1), SQLITE_OK);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 0);
	struct store *s = store_open(path);
	assert_non_null(s);
	struct run_row r;
	assert_int_equal(store_run_get(s, 1, &r), 0);
	assert_int_equal(r.status, RUN_DONE);
	assert_string_equal(r.problem_path, "/p/gelu.py");
	assert_int_equal(r.winner, 2);
	assert_int_equal(r.rounds, 3);
	run_row_release(&r);
	static const enum run_state want[] = { RUN_DONE, RUN_DRY_RUN, RUN_STOPPED, RUN_RUNNING };
	for (int id = 2; id <= 4; id++) {
		assert_int_equal(store_run_get(s, id, &r), 0);
		assert_int_equal(r.status, want[id - 1]);
		assert_int_equal(r.winner, 0);
		run_row_release(&r);
	}
	struct cand_row *rows;
	int n;
	assert_int_equal(store_candidates_of_run(s, 1, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].source, "naive source");
	assert_int_equal(rows[0].idea, 0);
	assert_int_equal(rows[1].idea, 1);
	assert_int_equal(rows[1].parent1, 1);
	assert_string_equal(rows[1].knobs, "VEC=4");
	assert_true(rows[1].evaluated && rows[1].median_ms == 1.0);
	for (int i = 0; i < n; i++)
		cand_row_release(&rows[i]);
	free(rows);
	struct idea_row *ideas;
	assert_int_equal(store_ideas_of_run(s, 1, &ideas, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ideas[0].parent1, 1);
	assert_int_equal(ideas[0].parent2, 0);
	idea_row_release(&ideas[0]);
	free(ideas);
	struct bank_row *bank;
	assert_int_equal(store_bank_for(s, "gelu", "f", "G", &bank, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bank[0].run, 1);
	bank_row_release(&bank[0]);
	free(bank);
	long tokens;
	double cost;
	assert_int_equal(store_llm_totals(s, 1, &tokens, &cost), 0);
	assert_int_equal(tokens, 15);
	/* It goes on as a current database: new rows, new states. */
	int64_t run = new_run(s);
	assert_int_equal(run, 5);
	store_close(s);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name='meta'"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'v1_%'"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM runs WHERE status='dry_run'"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM candidates WHERE idea IS NULL"), 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM evaluations"), 3);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM llm_calls WHERE run IS NULL"), 1);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check='ok'"), 1);
	/* And opens again as it is. */
	s = store_open(path);
	assert_non_null(s);
	store_close(s);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), 5);

	/* A first-schema database whose rows point nowhere is left as it was. */
	char *bad = xasprintf("%s/v1-dangling.db", tmp);
	assert_int_equal(raw_sql(bad, fixture_v1), SQLITE_OK);
	assert_int_equal(raw_sql(bad, "PRAGMA journal_mode=DELETE; INSERT INTO candidates(run, source, source_sha)"
				      " VALUES(77, 's', 'x')"), SQLITE_OK);
	assert_refused_untouched(bad);
	assert_int_equal(raw_int(bad, "SELECT count(*) FROM meta"), 1);
	free(bad);
	free(path);
}

static void test_refused_untouched(void **state)
{
	/* A SQLite database of someone else's. */
	char *path = xasprintf("%s/foreign.db", tmp);
	assert_int_equal(raw_sql(path, "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES('mine');"), SQLITE_OK);
	assert_refused_untouched(path);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);
	free(path);

	/* Someone else's that happens to have a table called runs. */
	path = xasprintf("%s/foreign-runs.db", tmp);
	assert_int_equal(raw_sql(path, "CREATE TABLE runs(x); CREATE TABLE meta(key, value);"), SQLITE_OK);
	assert_refused_untouched(path);
	free(path);

	/* kbreed's, from a newer kbreed. */
	path = xasprintf("%s/newer.db", tmp);
	struct store *s = store_open(path);
	assert_non_null(s);
	new_run(s);
	store_close(s);
	assert_int_equal(raw_sql(path, "PRAGMA user_version=99"), SQLITE_OK);
	assert_refused_untouched(path);
	free(path);

	/* An empty path: SQLite would make a temporary database. */
	assert_null(store_open(""));
	assert_null(store_open(NULL));
}

static void test_damaged(void **state)
{
	char *path = xasprintf("%s/damaged.db", tmp);
	struct store *s = store_open(path);
	assert_non_null(s);
	int64_t run = new_run(s);
	for (int i = 0; i < 3000; i++) {
		char *src = xasprintf("// candidate %d, a line of source of some length", i);
		struct cand_row c = { .run = run, .round = 1, .origin = "playbook", .template_name = "t",
				      .knobs = "A=1", .source = src };
		bool dup;
		assert_int_equal(store_candidate_put(s, &c, &dup), 0);
		free(src);
	}
	store_close(s);
	size_t len;
	char *data = slurp(path, &len);
	assert_true(len > 64 * 1024);
	unsigned seed = 12345;
	for (size_t i = len / 2; i < len / 2 + 4096; i++)
		data[i] = (char)(rand_r(&seed) >> 7);
	assert_int_equal(util_write_file(path, data, len), 0);
	free(data);
	assert_refused_untouched(path);
	free(path);
}

static void test_run_lock(void **state)
{
	char *path = xasprintf("%s/lock.db", tmp);
	struct store *a = store_open(path), *b = store_open(path);
	assert_non_null(a);
	assert_non_null(b);
	int64_t run = new_run(a), other = new_run(a);
	assert_int_equal(store_run_lock(a, run), 0);
	assert_int_equal(store_run_lock(a, run), 0);    /* again through the holder: fine */
	assert_int_equal(store_run_lock(b, run), -1);   /* a second store, same process: refused */
	assert_int_equal(store_run_lock(b, 999), -1);   /* no such run */
	assert_int_equal(store_run_lock(b, other), 0);  /* another run is free */
	store_close(a);                                  /* released at close */
	struct store *c = store_open(path);
	assert_int_equal(store_run_lock(c, run), 0);
	store_close(c);
	store_close(b);

	/* Another process holds it while it lives; once it is killed, the lock is taken over. */
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct store *w = store_open(path);
		char ok = w && store_run_lock(w, run) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	char ok = 0;
	assert_int_equal(read(ready[0], &ok, 1), 1);
	assert_int_equal(ok, 'y');
	c = store_open(path);
	assert_int_equal(store_run_lock(c, run), -1);
	char *q = xasprintf("SELECT pid FROM run_locks WHERE run=%lld", (long long)run);
	assert_int_equal(raw_int(path, q), pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(store_run_lock(c, run), 0);
	assert_int_equal(raw_int(path, q), getpid());
	store_close(c);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM run_locks"), 0);
	close(ready[0]);
	close(ready[1]);
	free(q);
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
			struct eval_row e = { .verdict = VERDICT_CORRECT, .median_ms = i };
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

/* A database of one run: a parent and a child candidate (the child from an
 * idea on the parent), both judged, the child the winner and banked. tag
 * makes the sources differ between databases. Returns the path (caller frees). */
static char *merge_source(const char *name, const char *tag, int extra_runs)
{
	char *path = xasprintf("%s/%s.db", tmp, name);
	struct store *s = store_open(path);
	assert_non_null(s);
	for (int k = 0; k < extra_runs; k++)
		new_run(s);  /* ids differ between sources, as they would */
	int64_t run = new_run(s);
	char *src1 = xasprintf("// parent %s", tag), *src2 = xasprintf("// child %s", tag);
	bool dup;
	struct cand_row p = { .run = run, .origin = "naive", .template_name = "", .knobs = "", .source = src1 };
	assert_int_equal(store_candidate_put(s, &p, &dup), 0);
	struct idea_row i = { .run = run, .round = 1, .catalog_id = "vec", .category = "memory",
			      .text = "vectorise", .parent1 = p.id };
	assert_int_equal(store_idea_put(s, &i), 0);
	struct cand_row c = { .run = run, .round = 1, .idea = i.id, .parent1 = p.id, .origin = "playbook",
			      .template_name = "t", .knobs = "VEC=4", .source = src2 };
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	struct eval_row e = { .verdict = VERDICT_CORRECT, .median_ms = 2.0, .gpu = "G", .device = "1" };
	assert_int_equal(store_eval_put(s, p.id, &e), 0);
	e.median_ms = 1.0;
	assert_int_equal(store_eval_put(s, c.id, &e), 0);
	struct run_row r;
	assert_int_equal(store_run_get(s, run, &r), 0);
	r.status = RUN_DONE;
	r.winner = c.id;
	r.final_ms = 1.0;
	assert_int_equal(store_run_update(s, &r), 0);
	run_row_release(&r);
	struct bank_row b = { .problem = "p", .family = "f", .template_name = "t", .knobs = "VEC=4",
			      .source = src2, .gpu = "G", .median_ms = 1.0, .pct_eager = 250, .run = run };
	assert_int_equal(store_bank_put(s, &b), 0);
	struct llm_call_row l = { .run = run, .round = 1, .kind = "ideas", .model = "m", .prompt_sha = tag,
				  .prompt = "p", .reply = "r", .status = "ok" };
	assert_int_equal(store_llm_call_put(s, &l), 0);
	store_close(s);
	free(src1);
	free(src2);
	return path;
}

/* Every table's row count and largest id, as one string: equal strings,
 * an unchanged database. */
static char *fingerprint(const char *path)
{
	const char *tables[] = { "runs", "ideas", "candidates", "evaluations", "bank", "llm_calls" };
	struct buf b;
	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char *q = xasprintf("SELECT count(*) * 100000 + coalesce(max(id), 0) FROM %s", tables[i]);
		buf_printf(&b, "%s=%lld ", tables[i], raw_int(path, q));
		free(q);
	}
	buf_printf(&b, "done=%lld", raw_int(path, "SELECT count(*) FROM runs WHERE status='done'"));
	return buf_detach(&b);
}

static int merge(const char *target, const char *const *sources, int n, struct store_merge_counts *c)
{
	struct store *s = store_open(target);
	assert_non_null(s);
	int rc = store_merge(s, sources, n, c);
	store_close(s);
	return rc;
}

static void test_merge_remap(void **state)
{
	char *a = merge_source("ma", "a", 0), *b = merge_source("mb", "b", 2);
	char *target = xasprintf("%s/mt.db", tmp);
	struct store *s = store_open(target);
	assert_non_null(s);
	new_run(s);  /* the target's own run keeps id 1 */
	store_close(s);
	const char *srcs[] = { a, b };
	struct store_merge_counts c;
	assert_int_equal(merge(target, srcs, 2, &c), 0);
	assert_int_equal(c.runs, 4);  /* a's one, b's three */
	assert_int_equal(c.candidates, 4);
	assert_int_equal(c.ideas, 2);
	assert_int_equal(c.evaluations, 4);
	assert_int_equal(c.bank, 2);
	assert_int_equal(c.llm_calls, 2);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM runs"), 5);
	/* Ids remapped, and every reference still leads to its own row. */
	assert_int_equal(raw_int(target, "SELECT count(*) FROM candidates c JOIN candidates p ON p.id = c.parent1"
				 " WHERE substr(c.source, 10) = substr(p.source, 11) AND c.source LIKE '// child %'"), 2);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM runs r JOIN candidates w ON w.id = r.winner"
				 " WHERE w.run = r.id AND w.source LIKE '// child %'"), 2);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM candidates c JOIN ideas i ON i.id = c.idea"
				 " WHERE i.run = c.run AND i.parent1 = c.parent1"), 2);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM evaluations e JOIN candidates c ON c.id = e.candidate"
				 " WHERE e.median_ms = 1.0 AND c.source LIKE '// child %' AND e.device = '1'"), 2);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM bank b JOIN runs r ON r.id = b.run"
				 " JOIN candidates w ON w.id = r.winner WHERE w.source = b.source"), 2);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	assert_int_equal(raw_int(target, "SELECT count(DISTINCT uid) FROM runs"), 5);
	/* Idempotent: again, and each source again alone, adds nothing. */
	char *before = fingerprint(target);
	assert_int_equal(merge(target, srcs, 2, &c), 0);
	assert_int_equal(c.runs + c.candidates + c.ideas + c.evaluations + c.bank + c.llm_calls + c.runs_advanced, 0);
	assert_int_equal(merge(target, srcs + 1, 1, &c), 0);
	char *after = fingerprint(target);
	assert_string_equal(before, after);
	/* A source merged into itself is refused. */
	assert_int_equal(merge(a, srcs, 1, &c), -1);
	free(before);
	free(after);
	free(a);
	free(b);
	free(target);
}

/* A copy of a run that went on elsewhere (a resumed Slurm task) brings its
 * new rows and its later state; the run is not doubled. */
static void test_merge_advanced(void **state)
{
	char *a = merge_source("adv", "x", 0);
	char *target = xasprintf("%s/adv-t.db", tmp);
	const char *srcs[] = { a };
	struct store_merge_counts c;
	assert_int_equal(raw_sql(a, "UPDATE runs SET status='running', winner=NULL, updated='2000-01-01 00:00:00'"), SQLITE_OK);
	assert_int_equal(merge(target, srcs, 1, &c), 0);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM runs WHERE status='running'"), 1);
	/* The source's run goes on: a new candidate, judged, and it ends. */
	struct store *s = store_open(a);
	assert_non_null(s);
	bool dup;
	struct cand_row n = { .run = 1, .round = 2, .origin = "playbook", .template_name = "t", .knobs = "VEC=8",
			      .source = "// later" };
	assert_int_equal(store_candidate_put(s, &n, &dup), 0);
	struct eval_row e = { .verdict = VERDICT_CORRECT, .median_ms = 0.5, .gpu = "G" };
	assert_int_equal(store_eval_put(s, n.id, &e), 0);
	struct run_row r;
	assert_int_equal(store_run_get(s, 1, &r), 0);
	r.status = RUN_DONE;
	r.winner = n.id;
	assert_int_equal(store_run_update(s, &r), 0);
	run_row_release(&r);
	store_close(s);
	assert_int_equal(merge(target, srcs, 1, &c), 0);
	assert_int_equal(c.runs, 0);
	assert_int_equal(c.runs_advanced, 1);
	assert_int_equal(c.candidates, 1);
	assert_int_equal(c.evaluations, 1);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM candidates"), 3);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM runs r JOIN candidates w ON w.id = r.winner"
				 " WHERE r.status = 'done' AND w.source = '// later'"), 1);
	/* The target's copy going on later keeps its own state against an older source. */
	assert_int_equal(raw_sql(target, "UPDATE runs SET status='stopped', updated='2999-01-01 00:00:00'"), SQLITE_OK);
	assert_int_equal(merge(target, srcs, 1, &c), 0);
	assert_int_equal(c.runs_advanced, 0);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM runs WHERE status='stopped'"), 1);
	free(a);
	free(target);
}

/* Two runs of one uid with another problem: refused, nothing written. */
static void test_merge_conflict(void **state)
{
	char *a = merge_source("ca", "a", 0), *b = merge_source("cb", "b", 0), *x = merge_source("cx", "x", 0);
	char *target = xasprintf("%s/ct.db", tmp);
	const char *first[] = { a };
	assert_int_equal(merge(target, first, 1, NULL), 0);
	char *uid_sql = xasprintf("ATTACH '%s' AS t; UPDATE runs SET uid = (SELECT uid FROM t.runs);"
				  " UPDATE runs SET problem_sha = 'other'", a);
	assert_int_equal(raw_sql(b, uid_sql), SQLITE_OK);
	char *before = fingerprint(target);
	const char *srcs[] = { x, b };
	assert_int_equal(merge(target, srcs, 2, NULL), -1);
	char *after = fingerprint(target);
	assert_string_equal(before, after);  /* x, merged first, was rolled back too */
	free(uid_sql);
	free(before);
	free(after);
	free(a);
	free(b);
	free(x);
	free(target);
}

/* A merge that fails mid-way (a later source is not a kbreed database, or
 * is missing) leaves the target as it was. */
static void test_merge_interrupted(void **state)
{
	char *a = merge_source("ia", "a", 0), *b = merge_source("ib", "b", 0);
	char *target = xasprintf("%s/it.db", tmp), *bad = xasprintf("%s/ibad.db", tmp);
	const char *one[] = { a };
	assert_int_equal(merge(target, one, 1, NULL), 0);
	assert_int_equal(raw_sql(bad, "CREATE TABLE notes(x TEXT);"), SQLITE_OK);
	char *before = fingerprint(target);
	const char *srcs[] = { b, bad };
	assert_int_equal(merge(target, srcs, 2, NULL), -1);
	char *after = fingerprint(target);
	assert_string_equal(before, after);
	free(after);
	const char *missing[] = { b, "/nonexistent/kbreed.db" };
	assert_int_equal(merge(target, missing, 2, NULL), -1);
	after = fingerprint(target);
	assert_string_equal(before, after);
	assert_int_equal(raw_int(target, "SELECT count(*) FROM candidates WHERE source LIKE '%% b'"), 0);
	free(before);
	free(after);
	free(a);
	free(b);
	free(bad);
	free(target);
}

/* A database of schema 2 (no run uids, no devices) is migrated: each run
 * gets a uid of its own. */
static void test_migrate_v2(void **state)
{
	char *path = merge_source("v2", "v", 1);
	assert_int_equal(raw_sql(path, "DROP INDEX runs_uid; ALTER TABLE runs DROP COLUMN uid;"
				 " ALTER TABLE evaluations DROP COLUMN device; ALTER TABLE evaluations DROP COLUMN early;"
				 " ALTER TABLE evaluations DROP COLUMN cutoff_ms; PRAGMA user_version=2;"), SQLITE_OK);
	struct store *s = store_open(path);
	assert_non_null(s);
	int64_t run = new_run(s);
	store_close(s);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(path, "SELECT count(DISTINCT uid) FROM runs WHERE length(uid) = 32"), run);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM evaluations WHERE device IS NULL"), 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM evaluations WHERE early = 0 AND cutoff_ms IS NULL"), 2);
	free(path);
}

/* A database of schema 3 (no adaptive timing) is migrated: its evaluations
 * were all timed in full; a new one records an early stop and its cutoff,
 * and the candidates read back say which. */
static void test_migrate_v3(void **state)
{
	char *path = merge_source("v3", "w", 1);
	assert_int_equal(raw_sql(path, "ALTER TABLE evaluations DROP COLUMN early;"
				 " ALTER TABLE evaluations DROP COLUMN cutoff_ms; PRAGMA user_version=3;"), SQLITE_OK);
	struct store *s = store_open(path);
	assert_non_null(s);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM evaluations WHERE early = 0 AND cutoff_ms IS NULL"), 2);
	struct cand_row c = { .run = 1, .round = 1, .origin = "playbook", .template_name = "", .knobs = "",
			      .source = "// timed early" };
	bool dup;
	assert_int_equal(store_candidate_put(s, &c, &dup), 0);
	struct eval_row e = { .verdict = VERDICT_CORRECT, .detail = "stopped early", .timed = true,
			      .median_ms = 3.0, .reps = 5, .early = true, .cutoff_ms = 1.3 };
	assert_int_equal(store_eval_put(s, c.id, &e), 0);
	struct cand_row *rows;
	int n, early = 0;
	assert_int_equal(store_candidates_of_run(s, 1, &rows, &n), 0);
	for (int i = 0; i < n; i++) {
		early += rows[i].early;
		if (rows[i].id == c.id)
			assert_true(rows[i].early && rows[i].median_ms == 3.0);
		cand_row_release(&rows[i]);
	}
	free(rows);
	assert_int_equal(early, 1);
	store_close(s);
	assert_int_equal(raw_int(path, "SELECT reps FROM evaluations WHERE early = 1 AND cutoff_ms = 1.3"), 5);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_llm_calls),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_refused_untouched),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_run_lock),
		cmocka_unit_test(test_killed_mid_write),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_merge_remap),
		cmocka_unit_test(test_merge_advanced),
		cmocka_unit_test(test_merge_conflict),
		cmocka_unit_test(test_merge_interrupted),
		cmocka_unit_test(test_migrate_v2),
		cmocka_unit_test(test_migrate_v3),
	};
	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
