/* test_search.c - the evolutionary loop end to end on a machine without a
 * GPU: real problem files, bridge (CPU), templates, playbook and nvcc; a
 * scripted worker (tests/unit/fake_worker.c) stands in for the GPU and times
 * each candidate by a hash of its name. Checks rounds, seeds, history
 * conditioning, reproducibility, the store, outputs, and resume. */
#include "testing.h"

#include "population.h"
#include "search.h"
#include "store.h"
#include "util.h"

#include <dirent.h>
#include <math.h>
#include <sqlite3.h>

static char *tmp;

static int setup(void **state)
{
	test_private_cache_shared_nvcc();
	tmp = test_tmpdir();
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return -1;
	char *worker = xasprintf("%s/" TEST_BUILD "/tests/fake_worker", cwd);
	char *python = xasprintf("%s/tests/unit/fake_python.sh", cwd);
	setenv("KBREED_WORKER", worker, 1);
	setenv("KBREED_PYTHON", python, 1);
	setenv("KBREED_FAKE_GPU", "1", 1);
	setenv("KBREED_FAKE_SEARCH", "1", 1);
	free(worker);
	free(python);
	return 0;
}

static int teardown(void **state)
{
	util_remove_tree(tmp);
	free(tmp);
	return 0;
}

static void opts(struct search_opts *o, const char *db, const char *out)
{
	search_opts_defaults(o);
	o->rounds = 2;
	o->ideas = 3;
	o->impls = 2;
	o->keep = 2;
	o->seed = 7;
	o->db_path = db;
	o->out_dir = out;
	o->eval.reps = 20;
	o->eval.timeout_s = 30;
}

static long long query(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* The ideas of a database's run 1, in order: round, catalogue id, parents and text. */
static char *idea_trail(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	struct buf b;
	buf_init(&b, 16u << 20);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT round, catalog_id, parent1, parent2, text FROM ideas"
					    " WHERE run = 1 ORDER BY id", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		buf_printf(&b, "%d:%s:%lld+%lld:%s;", sqlite3_column_int(st, 0),
			   (const char *)sqlite3_column_text(st, 1), (long long)sqlite3_column_int64(st, 2),
			   (long long)sqlite3_column_int64(st, 3), (const char *)sqlite3_column_text(st, 4));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return buf_detach(&b);
}

static char *knob_trail(const char *db)
{
	struct store *s = store_open(db);
	assert_non_null(s);
	struct cand_row *rows;
	int n;
	assert_int_equal(store_candidates_of_run(s, 1, &rows, &n), 0);
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < n; i++) {
		buf_printf(&b, "%d:%s[%s];", rows[i].round, rows[i].template_name, rows[i].knobs);
		cand_row_release(&rows[i]);
	}
	free(rows);
	store_close(s);
	return buf_detach(&b);
}

/* The summary's trajectory names each best so far once: a row whose best
 * is the row above's says "#ID, as in round R" instead of repeating its
 * idea, any other row "#ID: idea". Returns the rows; *same (if given) is
 * added the rows that repeat the best above. */
static int check_trajectory(const char *md, int *same)
{
	const char *t = strstr(md, "## Trajectory"), *end = strstr(md, "## Ideas by category");
	assert_true(t && end && t < end);
	char last[64] = "", cell[64];
	int rows = 0;
	for (const char *l = strchr(t, '\n'); l && l < end; l = strchr(l + 1, '\n')) {
		int r, ncand;
		if (sscanf(l + 1, "| %d | %d |", &r, &ncand) != 2)
			continue;
		rows++;
		const char *c = l + 1;   /* to the sixth cell, the best so far (ms) */
		for (int k = 0; k < 6; k++)
			c = strchr(c + 1, '|');
		assert_non_null(c);
		assert_int_equal(sscanf(c + 1, " %63s", cell), 1);
		const char *eol = strchr(c, '\n'), *hash = strchr(c, '#'), *as = strstr(c, ", as in round ");
		assert_true(hash && hash < eol);
		const bool repeat = !strcmp(cell, last);
		assert_int_equal(repeat, as && as < eol);
		if (!repeat)
			assert_true(hash[1 + strspn(hash + 1, "0123456789")] == ':');
		if (same)
			*same += repeat;
		snprintf(last, sizeof last, "%s", cell);
	}
	return rows;
}

static void test_full_run(void **state)
{
	char *db = xasprintf("%s/a.db", tmp), *out = xasprintf("%s/out-a", tmp);
	struct search_opts o;
	opts(&o, db, out);
	struct search_outcome res;
	assert_int_equal(search_run(&o, "tests/data/search_gelu.py", &res), 0);
	assert_int_equal(res.run, 1);
	assert_true(res.winner > 0);
	assert_true(res.best_ms >= 0.5 && res.best_ms <= 1.5);
	assert_true(res.eager_ms == 2.0);
	assert_true(res.pct_eager > 100);
	assert_true(util_file_exists(res.winner_path));
	assert_true(util_file_exists(res.summary_path));
	char *md = NULL;
	assert_int_equal(util_read_file(res.summary_path, 1 << 20, &md, NULL), 0);
	assert_non_null(strstr(md, "## Trajectory"));
	assert_non_null(strstr(md, "## Ideas by category"));
	assert_true(check_trajectory(md, NULL) >= 3);
	assert_non_null(strstr(md, "## The winner's lineage"));
	/* It says whether nvcc or the GPU set the pace (the nvcc cache is
	 * shared between tests: this run's candidates may all be in it). */
	assert_true(strstr(md, "- nvcc: nothing compiled, every candidate was in the cache\n") ||
		    (strstr(md, "- nvcc: ") && strstr(md, " at once: one every ") && strstr(md, " judged one every ")));
	/* The summary says under which tolerances the winner's values hold. */
	assert_true(res.pass_strict && res.pass_crfm);
	assert_non_null(strstr(md, "the winner's values: strict tolerance passed, crfm tolerance passed"));
	free(md);

	/* Round 0 is the naive kernel and the template that serves GELU at its
	 * defaults; rounds 1 and 2 come from ideas. */
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE round=0"), 2);
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE round=0 AND origin='naive'"), 1);
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE round=0 AND origin='template'"
			 " AND template='gelu_vec' AND knobs != ''"), 1);
	/* Round 0 judges the template before the naive kernel: a short run's
	 * budget goes on what may win. */
	assert_int_equal(query(db, "SELECT c.origin = 'template' FROM evaluations e JOIN candidates c"
			       " ON c.id = e.candidate WHERE c.round = 0 ORDER BY e.id LIMIT 1"), 1);
	assert_int_equal(query(db, "SELECT c.origin = 'naive' FROM evaluations e JOIN candidates c"
			       " ON c.id = e.candidate WHERE c.round = 0 ORDER BY e.id DESC LIMIT 1"), 1);
	/* Without a wall-clock budget, round 0 is judged whole before round 1. */
	assert_int_equal(query(db, "SELECT count(*) FROM evaluations e JOIN candidates c ON c.id = e.candidate"
			       " WHERE c.round = 0 AND e.id > (SELECT min(e2.id) FROM evaluations e2 JOIN candidates c2"
			       " ON c2.id = e2.candidate WHERE c2.round = 1)"), 0);
	/* Every round fills its budget, ideas x impls new candidates, with
	 * more ideas where the first ones realise fewer. */
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE round=1"), 6);
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE round=2"), 6);
	assert_true(query(db, "SELECT count(*) FROM ideas WHERE round=1") >= 3);
	/* Every candidate judged exactly once; every idea in one of the six categories. */
	assert_int_equal(query(db, "SELECT count(*) FROM candidates"), query(db, "SELECT count(*) FROM evaluations"));
	assert_int_equal(query(db, "SELECT count(*) FROM ideas WHERE category NOT IN ('memory access',"
			 " 'asynchronous operations and latency hiding', 'data type and precision',"
			 " 'compute and instruction', 'parallelism and occupancy', 'control flow and loops')"), 0);
	/* No idea proposed twice for the same parent. */
	assert_int_equal(query(db, "SELECT count(*) FROM (SELECT catalog_id, parent1, parent2 FROM ideas"
			 " GROUP BY 1, 2, 3 HAVING count(*) > 1)"), 0);
	/* Realisations of an idea are distinct. */
	assert_int_equal(query(db, "SELECT count(*) FROM (SELECT idea, knobs FROM candidates WHERE idea > 0"
			 " GROUP BY 1, 2 HAVING count(*) > 1)"), 0);
	/* Round-1 ideas build on round 0's kernels (the only seeds). */
	assert_int_equal(query(db, "SELECT count(*) FROM ideas WHERE round=1 AND parent1 NOT IN"
			 " (SELECT id FROM candidates WHERE round=0)"), 0);
	/* The winner is the fastest correct candidate, and it is banked. */
	char *sql = xasprintf("SELECT candidate FROM evaluations WHERE verdict='correct' ORDER BY median_ms LIMIT 1");
	assert_int_equal(query(db, sql), res.winner);
	free(sql);
	assert_int_equal(query(db, "SELECT count(*) FROM bank"), 1);
	assert_int_equal(query(db, "SELECT status='done' FROM runs WHERE id=1"), 1);
	/* Adaptive timing, on by default: candidates clearly slower than the
	 * best stop timing after 5 calls, are stored as such with their
	 * cutoff, and none is the winner, which was timed in full. The rounds
	 * after round 0 run under a cutoff; the fake worker's calls all take
	 * the candidate's one time (from a hash of its source), so a candidate
	 * stops early exactly when that time is above its cutoff. */
	long long early = query(db, "SELECT count(*) FROM evaluations WHERE early = 1");
	assert_true(query(db, "SELECT count(*) FROM evaluations e JOIN candidates c ON c.id = e.candidate"
			  " WHERE c.round > 0 AND e.cutoff_ms > 0") > 0);
	assert_int_equal(query(db, "SELECT count(*) FROM evaluations WHERE cutoff_ms > 0 AND median_ms > cutoff_ms"),
			 early);
	assert_int_equal(res.early, early);
	assert_int_equal(query(db, "SELECT count(*) FROM evaluations WHERE early = 1 AND reps = 5 AND"
			 " median_ms > cutoff_ms"), early);
	assert_int_equal(query(db, "SELECT count(*) FROM evaluations WHERE early = 0 AND reps = 20"),
			 query(db, "SELECT count(*) FROM evaluations") - early);
	assert_int_equal(query(db, "SELECT early FROM evaluations e JOIN runs r ON r.winner = e.candidate"), 0);
	search_outcome_release(&res);

	/* The same seed gives the same run. */
	char *db2 = xasprintf("%s/b.db", tmp), *out2 = xasprintf("%s/out-b", tmp);
	opts(&o, db2, out2);
	o.use_bank = false;
	assert_int_equal(search_run(&o, "tests/data/search_gelu.py", &res), 0);
	char *t1 = knob_trail(db), *t2 = knob_trail(db2);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	search_outcome_release(&res);
	free(db2);
	free(out2);
	free(db);
	free(out);
}

/* The suite's ten problems, scaled down (tests/data/fill_<name>.py: the
 * same ops, dtypes, layouts and defines on tiny tensors). */
static const char *const suite[] = { "attention_fp16", "conv2d", "conv2d_relu_maxpool", "cumsum", "gelu",
				     "layernorm", "matmul_fp16", "matmul_fp32", "rmsnorm", "softmax" };

/* At least this many new candidates in each round of a default run
 * (budget: 8 ideas x 4 realisations = 32). */
#define FILL_MIN 24

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static void test_default_budget_fills_every_round(void **state)
{
	/* Every default run (5 rounds x 8 ideas x 4 realisations) fills every
	 * round on each suite family: at least FILL_MIN new candidates judged in
	 * each of rounds 1-5, every one a distinct realisation made from an
	 * idea stated in English, and the same --seed gives the same run (run
	 * again for three families of different templates and catalogue
	 * paths: the rerun of all ten took a third of this test's time, under
	 * the sanitizers minutes of CI, and proved no more). The fake nvcc
	 * (tests/cli/fake_nvcc.sh) compiles, and a private cache keeps its
	 * empty objects apart from the real ones; the rerun finds them and the
	 * reference data there. About 60 s of CPU for the thirteen runs.
	 * Under AddressSanitizer only those three families run (six runs):
	 * filling a round is the playbook's arithmetic, the same in either
	 * build, and the ten took ten of CI's minutes there. */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	char *nvcc = xasprintf("%s/tests/cli/fake_nvcc.sh", cwd), *cache = xasprintf("%s/fill-cache", tmp);
	char *cache_was = xstrdup(getenv("KBREED_CACHE"));
	setenv("KBREED_NVCC", nvcc, 1);
	setenv("KBREED_CACHE", cache, 1);
	int failures = 0, repeats = 0;
	for (size_t p = 0; p < sizeof suite / sizeof suite[0]; p++) {
		bool rerun = !strcmp(suite[p], "conv2d") || !strcmp(suite[p], "matmul_fp16") ||
			     !strcmp(suite[p], "softmax");
		if (UNDER_ASAN && !rerun)
			continue;
		char *path = xasprintf("tests/data/fill_%s.py", suite[p]);
		char *db[2], *out[2];
		struct search_opts o;
		for (int run = 0; run < 2; run++) {
			db[run] = xasprintf("%s/fill-%s-%d.db", tmp, suite[p], run);
			out[run] = xasprintf("%s/fill-%s-%d", tmp, suite[p], run);
			if (run == 1 && !rerun)
				break;
			search_opts_defaults(&o);
			o.seed = 5;
			o.db_path = db[run];
			o.out_dir = out[run];
			o.eval.stress = false;
			struct search_outcome res;
			assert_int_equal(search_run(&o, path, &res), 0);
			assert_true(res.winner > 0);
			/* Eager with TF32 off beside eager (the fake bridge's 6 ms)
			 * only where PyTorch's defaults use TF32: the fp32
			 * convolutions. */
			bool tf32 = !strncmp(suite[p], "conv2d", 6);
			if (res.eager_fp32_ms != (tf32 ? 6.0 : 0))
				fail_msg("%s: eager with TF32 off %g ms", suite[p], res.eager_fp32_ms);
			char *md = NULL;
			assert_int_equal(util_read_file(res.summary_path, 1 << 20, &md, NULL), 0);
			assert_true(!!strstr(md, "; 6.0000 ms with TF32 off, the fp32 arithmetic") == tf32);
			assert_int_equal(check_trajectory(md, &repeats), o.rounds + 1);
			if (tf32)
				assert_true(fabs(res.pct_eager_fp32 - 600 / res.best_ms) < 1e-9 &&
					    strstr(md, "% of eager with TF32 off (6.0000 ms)"));
			free(md);
			search_outcome_release(&res);
		}
		char line[256];
		int n = snprintf(line, sizeof line, "%-20s", suite[p]);
		bool short_round = false;
		for (int r = 1; r <= o.rounds; r++) {
			char *sql = xasprintf("SELECT count(*) FROM candidates WHERE round=%d", r);
			long long c = query(db[0], sql);
			free(sql);
			n += snprintf(line + n, sizeof line - (size_t)n, " %3lld", c);
			short_round |= c < FILL_MIN;
		}
		print_message("%s%s\n", line, short_round ? "  <- a round below " "24" : "");
		failures += short_round;
		/* Every candidate judged; each of rounds 1-5 from an idea in English
		 * on a template (its realisation named by its knobs); no realisation
		 * made twice in the run. */
		assert_int_equal(query(db[0], "SELECT count(*) FROM candidates"),
				 query(db[0], "SELECT count(*) FROM evaluations"));
		assert_int_equal(query(db[0], "SELECT count(*) FROM candidates c LEFT JOIN ideas i ON i.id = c.idea"
				       " WHERE c.round > 0 AND (i.id IS NULL OR length(i.text) < 40"
				       " OR c.template = '' OR c.knobs = '')"), 0);
		assert_int_equal(query(db[0], "SELECT count(*) FROM (SELECT template, knobs FROM candidates"
				       " WHERE template != '' GROUP BY 1, 2 HAVING count(*) > 1)"), 0);
		/* An idea that realised nothing new is not an idea of the run. */
		assert_int_equal(query(db[0], "SELECT count(*) FROM ideas i WHERE NOT EXISTS"
				       " (SELECT 1 FROM candidates c WHERE c.idea = i.id)"), 0);
		/* The same seed, the same run. */
		if (rerun) {
			char *t1 = knob_trail(db[0]), *t2 = knob_trail(db[1]);
			assert_string_equal(t1, t2);
			free(t1);
			free(t2);
			t1 = idea_trail(db[0]);
			t2 = idea_trail(db[1]);
			assert_string_equal(t1, t2);
			free(t1);
			free(t2);
		}
		for (int run = 0; run < 2; run++) {
			free(db[run]);
			free(out[run]);
		}
		free(path);
	}
	assert_int_equal(failures, 0);
	/* Some round of these runs did not beat the best before it (the fake
	 * GPU's times level off): its trajectory row said so, checked above. */
	print_message("trajectory rows that kept the best above: %d\n", repeats);
	assert_true(repeats > 0);
	unsetenv("KBREED_NVCC");
	setenv("KBREED_CACHE", cache_was, 1);
	free(cache_was);
	free(cache);
	free(nvcc);
}

static void exec_sql(const char *db, const char *sql);

static void test_bank_seeds_next_run(void **state)
{
	/* A second run in the first database starts from the banked winner too. */
	char *db = xasprintf("%s/a.db", tmp), *out = xasprintf("%s/out-c", tmp);
	struct search_opts o;
	opts(&o, db, out);
	o.rounds = 0;
	/* Run 1's winner may be a template at its defaults, which round 0 makes
	 * again and the store keeps once: the banked copy is made distinct. */
	exec_sql(db, "UPDATE bank SET source = source || char(10) || '// banked'");
	struct search_outcome res;
	assert_int_equal(search_run(&o, "tests/data/search_gelu.py", &res), 0);
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE run=2 AND origin='bank'"), 1);
	search_outcome_release(&res);
	free(db);
	free(out);
}

static void exec_sql(const char *db, const char *sql)
{
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void test_bank_lends_knobs_across_families(void **state)
{
	/* A kernel banked for another family (a GEMM) lends the knob settings it
	 * shares to a template here whose seeds-from line names that family. */
	char *db = xasprintf("%s/x.db", tmp), *out = xasprintf("%s/out-x", tmp);
	/* gelu_vec's copy inlines ../common/vec_map.cuh, which inlines
	 * dtype.cuh: laid out as in templates/, every shared helper beside it. */
	char *tdir = xasprintf("%s/tpl", tmp), *tfile = xasprintf("%s/elementwise/gelu_lent.cu", tdir);
	char *cdir = xasprintf("%s/common", tdir);
	char *text;
	assert_int_equal(util_read_file("templates/elementwise/gelu_vec.cu", 1 << 20, &text, NULL), 0);
	char *body = strstr(text, "// problems:");
	assert_non_null(body);
	char *lent = xasprintf("// kbreed-template: gelu_lent\n// family: elementwise\n// seeds-from: matmul scan\n%s", body);
	assert_int_equal(util_mkdirs(cdir), 0);
	DIR *common = opendir("templates/common");
	assert_non_null(common);
	for (struct dirent *e; (e = readdir(common));) {
		if (e->d_name[0] == '.')
			continue;
		char *from = xasprintf("templates/common/%s", e->d_name), *to = xasprintf("%s/%s", cdir, e->d_name);
		char *htext = NULL;
		size_t hlen = 0;
		assert_int_equal(util_read_file(from, 1 << 20, &htext, &hlen), 0);
		assert_int_equal(util_write_file(to, htext, hlen), 0);
		free(htext);
		free(from);
		free(to);
	}
	closedir(common);
	char *edir = xasprintf("%s/elementwise", tdir);
	assert_int_equal(util_mkdirs(edir), 0);
	free(edir);
	assert_int_equal(util_write_file(tfile, lent, strlen(lent)), 0);
	setenv("KBREED_TEMPLATES", tdir, 1);
	struct search_opts o;
	opts(&o, db, out);
	o.rounds = 0;
	struct search_outcome res;
	assert_int_equal(search_run(&o, "tests/data/search_gelu.py", &res), 0);
	search_outcome_release(&res);
	/* Banked by that run: gelu's winner. Add a GEMM on the same GPU, and one
	 * of a family nobody seeds from. */
	exec_sql(db, "INSERT INTO bank(problem, family, template, knobs, source, source_sha, gpu, median_ms,"
		     " pct_eager, run) SELECT 'mm', 'matmul', 'gemm_x', 'BM=128 THREADS=128 ITEMS=4 VEC=3', '// x',"
		     " 'x', gpu, 1, 100, run FROM bank LIMIT 1;"
		     "INSERT INTO bank(problem, family, template, knobs, source, source_sha, gpu, median_ms,"
		     " pct_eager, run) SELECT 'sm', 'softmax', 'softmax_x', 'THREADS=512', '// y',"
		     " 'y', gpu, 1, 100, run FROM bank LIMIT 1;");
	assert_int_equal(search_run(&o, "tests/data/search_gelu.py", &res), 0);
	search_outcome_release(&res);
	unsetenv("KBREED_TEMPLATES");
	/* THREADS and ITEMS carried; VEC=3 is not an allowed value, so the default stays. */
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE run=2 AND origin='bank:mm/gemm_x'"
			       " AND template='gelu_lent' AND knobs LIKE '%THREADS=128%' AND knobs LIKE '%ITEMS=4%'"
			       " AND knobs LIKE '%VEC=4%'"), 1);
	assert_int_equal(query(db, "SELECT count(*) FROM candidates WHERE run=2 AND origin LIKE 'bank:sm%'"), 0);
	free(text);
	free(lent);
	free(tfile);
	free(cdir);
	free(tdir);
	free(db);
	free(out);
}

static void test_budget_then_resume(void **state)
{
	char *db = xasprintf("%s/r.db", tmp), *out = xasprintf("%s/out-r", tmp);
	struct search_opts o;
	opts(&o, db, out);
	o.max_candidates = 3;  /* stops after round 1 is proposed */
	struct search_outcome res;
	assert_int_equal(search_run(&o, "tests/data/search_gelu.py", &res), 0);
	assert_int_equal(query(db, "SELECT status='stopped' FROM runs WHERE id=1"), 1);
	long long before = query(db, "SELECT count(*) FROM evaluations");
	assert_true(query(db, "SELECT max(round) FROM candidates") < 2);
	search_outcome_release(&res);

	opts(&o, db, out);
	o.resume = 1;
	assert_int_equal(search_run(&o, NULL, &res), 0);
	assert_int_equal(query(db, "SELECT max(round) FROM candidates"), 2);
	assert_true(query(db, "SELECT count(*) FROM evaluations") > before);
	assert_int_equal(query(db, "SELECT count(*) FROM candidates"), query(db, "SELECT count(*) FROM evaluations"));
	assert_int_equal(query(db, "SELECT status='done' FROM runs WHERE id=1"), 1);
	search_outcome_release(&res);
	/* A finished run is not resumed again. */
	assert_int_equal(search_run(&o, NULL, &res), -1);
	search_outcome_release(&res);
	free(db);
	free(out);
}

static void test_time_budget_mid_round(void **state)
{
	/* A wall-clock budget spent before a round's candidates are judged:
	 * the run stops, resumable, and the summary's trajectory tells the
	 * candidates the round made from those it judged (none here: the
	 * budget is gone before the first). */
	char *db = xasprintf("%s/t.db", tmp), *out = xasprintf("%s/out-t", tmp);
	struct search_opts o;
	opts(&o, db, out);
	o.max_minutes = 1e-9;
	struct search_outcome res;
	search_run(&o, "tests/data/search_gelu.py", &res);
	assert_int_equal(query(db, "SELECT status='stopped' FROM runs WHERE id=1"), 1);
	long long made = query(db, "SELECT count(*) FROM candidates WHERE round=0"),
		  judged = query(db, "SELECT count(*) FROM candidates c JOIN evaluations e ON e.candidate=c.id"
				     " WHERE c.round=0");
	assert_true(made > judged);
	char *md = NULL, row[64];
	assert_non_null(res.summary_path);
	assert_int_equal(util_read_file(res.summary_path, 1 << 20, &md, NULL), 0);
	assert_non_null(strstr(md, "\n| round | candidates | judged | correct | "));
	snprintf(row, sizeof row, "\n| 0 | %lld | %lld | ", made, judged);
	if (!strstr(md, row))
		fail_msg("no trajectory row '%s' in:\n%s", row + 1, md);
	free(md);
	search_outcome_release(&res);
	free(db);
	free(out);
}

/* A candidate of the population with a source of its own; its id. */
static int64_t add_cand(struct population *pop, int round, int64_t idea, int64_t parent1, const char *origin,
			const char *tpl, const char *knobs)
{
	static int made;
	struct cand_row c = { .round = round, .idea = idea, .parent1 = parent1, .origin = xstrdup(origin),
			      .template_name = xstrdup(tpl), .knobs = xstrdup(knobs),
			      .source = xasprintf("// kernel %d\n", made++) };
	bool added = false;
	assert_int_equal(population_add_candidate(pop, &c, &added), 0);
	assert_true(added);
	return pop->cands[pop->n_cands - 1].id;
}

/* A store in tmp/FILE holding one run of gelu with ROUNDS rounds. */
static struct store *open_run(const char *file, int rounds, char **db, int64_t *run)
{
	*db = xasprintf("%s/%s", tmp, file);
	struct store *s = store_open(*db);
	assert_non_null(s);
	struct run_row r = { .problem = "gelu", .problem_path = "/gelu.py", .problem_sha = "ab",
			     .proposer = "playbook", .rounds = rounds, .ideas = 1, .impls = 1, .keep = 1, .seed = 1,
			     .tolerance = "strict", .gpu = "G", .arch = "sm_90a", .eager_ms = 1 };
	assert_int_equal(store_run_create(s, &r), 0);
	free(r.uid);
	*run = r.id;
	return s;
}

static int64_t add_idea(struct population *pop, int round, int64_t parent1, const char *text)
{
	struct idea_row i = { .round = round, .catalog_id = xstrdup("c"), .category = xstrdup("memory access"),
			      .text = xstrdup(text), .parent1 = parent1 };
	assert_int_equal(population_add_idea(pop, &i), 0);
	return i.id;
}

static void test_winner_facts(void **state)
{
	/* What the results say of a winner, read back from the store: its
	 * template, knobs and idea, and the bank kernel at the root of its line
	 * (parent1 back to round 0): another problem's ("bank:mm/gemm_x"), the
	 * problem's own ("bank", named by the run's problem), or none. */
	char *db = NULL;
	int64_t run = 0;
	struct store *s = open_run("facts.db", 2, &db, &run);
	struct population pop;
	population_init(&pop, s, run);
	int64_t naive = add_cand(&pop, 0, 0, 0, "naive", "", "");
	int64_t own = add_cand(&pop, 0, 0, 0, "bank", "gelu_vec", "VEC=4 THREADS=256");
	int64_t lent = add_cand(&pop, 0, 0, 0, "bank:mm/gemm_x", "gelu_lent", "THREADS=128");
	int64_t i1 = add_idea(&pop, 1, lent, "more threads");
	int64_t c1 = add_cand(&pop, 1, i1, lent, "playbook", "gelu_lent", "THREADS=256");
	int64_t i2 = add_idea(&pop, 2, c1, "float4 loads");
	int64_t c2 = add_cand(&pop, 2, i2, c1, "playbook", "gelu_lent", "THREADS=256 VEC=4");
	int64_t i3 = add_idea(&pop, 1, own, "streaming stores");
	int64_t c3 = add_cand(&pop, 1, i3, own, "playbook", "gelu_vec", "VEC=4 THREADS=256 STREAM=1");
	int64_t i4 = add_idea(&pop, 1, naive, "vectorise");
	int64_t c4 = add_cand(&pop, 1, i4, naive, "playbook", "gelu_vec", "VEC=2");
	population_release(&pop);

	/* Read back as bench does, from the store alone. */
	population_init(&pop, s, run);
	assert_int_equal(population_load(&pop), 0);
	struct winner_facts f;
	assert_int_equal(population_winner_facts(&pop, c2, &f), 0);
	assert_string_equal(f.template_name, "gelu_lent");
	assert_string_equal(f.knobs, "THREADS=256 VEC=4");
	assert_string_equal(f.idea, "float4 loads");
	assert_string_equal(f.donor_problem, "mm");
	assert_string_equal(f.donor_template, "gemm_x");
	assert_int_equal(f.donor_seed, lent);
	winner_facts_release(&f);
	assert_int_equal(population_winner_facts(&pop, c3, &f), 0);
	assert_string_equal(f.idea, "streaming stores");
	assert_string_equal(f.donor_problem, "gelu");
	assert_string_equal(f.donor_template, "gelu_vec");
	assert_int_equal(f.donor_seed, own);
	winner_facts_release(&f);
	/* A bank seed that wins itself is its own donor. */
	assert_int_equal(population_winner_facts(&pop, lent, &f), 0);
	assert_null(f.idea);
	assert_int_equal(f.donor_seed, lent);
	winner_facts_release(&f);
	assert_int_equal(population_winner_facts(&pop, c4, &f), 0);
	assert_string_equal(f.template_name, "gelu_vec");
	assert_null(f.donor_problem);
	assert_null(f.donor_template);
	assert_int_equal(f.donor_seed, 0);
	winner_facts_release(&f);
	assert_int_equal(population_winner_facts(&pop, naive, &f), 0);
	assert_string_equal(f.template_name, "");
	assert_string_equal(f.knobs, "");
	assert_null(f.idea);
	assert_null(f.donor_problem);
	winner_facts_release(&f);
	/* Not a candidate of this run. */
	assert_int_equal(population_winner_facts(&pop, c4 + 100, &f), -1);
	assert_null(f.template_name);
	population_release(&pop);
	store_close(s);
	free(db);
}

static void test_budget_defers_naive(void **state)
{
	/* With a wall-clock budget, round 0's naive kernel is judged after the
	 * last round once the template of round 0 is correct: it seeds
	 * nothing, and is still judged, once, in the time left. */
	char *db = xasprintf("%s/budget.db", tmp), *out = xasprintf("%s/out-budget", tmp);
	struct search_opts o;
	opts(&o, db, out);
	o.max_minutes = 60;
	struct search_outcome res;
	assert_int_equal(search_run(&o, "tests/data/search_gelu.py", &res), 0);
	assert_true(res.winner > 0);
	assert_int_equal(query(db, "SELECT count(*) FROM candidates"), query(db, "SELECT count(*) FROM evaluations"));
	assert_int_equal(query(db, "SELECT c.origin = 'naive' FROM evaluations e JOIN candidates c"
			       " ON c.id = e.candidate ORDER BY e.id DESC LIMIT 1"), 1);
	/* The last round was judged whole before the naive kernel. */
	assert_true(query(db, "SELECT count(*) FROM candidates WHERE round = 2") >= 4);
	assert_int_equal(query(db, "SELECT count(*) FROM evaluations e JOIN candidates c ON c.id = e.candidate"
			       " WHERE c.round = 2"), query(db, "SELECT count(*) FROM candidates WHERE round = 2"));
	assert_int_equal(query(db, "SELECT count(*) FROM ideas WHERE parent1 IN"
			       " (SELECT id FROM candidates WHERE origin = 'naive')"), 0);
	assert_int_equal(query(db, "SELECT status='done' FROM runs WHERE id=1"), 1);
	search_outcome_release(&res);
	free(db);
	free(out);
}

static void test_judge_order(void **state)
{
	/* Round 0 is judged tuned first: the bank's kernels, the templates at
	 * their defaults, the user's, a model's, then the naive and generated
	 * ones, each group in the order it came; what was judged is skipped.
	 * Later rounds keep the order they were proposed in. */
	char *db = NULL;
	int64_t run = 0;
	struct store *s = open_run("order.db", 1, &db, &run);
	struct population pop;
	population_init(&pop, s, run);
	int64_t naive = add_cand(&pop, 0, 0, 0, "naive", "", "");
	int64_t user = add_cand(&pop, 0, 0, 0, "user", "", "");
	int64_t tpl = add_cand(&pop, 0, 0, 0, "template", "gelu_vec", "VEC=4");
	int64_t gen = add_cand(&pop, 0, 0, 0, "generated", "", "");
	int64_t llm = add_cand(&pop, 0, 0, 0, "llm", "", "");
	int64_t lent = add_cand(&pop, 0, 0, 0, "bank:mm/gemm_x", "gelu_lent", "THREADS=128");
	int64_t tpl2 = add_cand(&pop, 0, 0, 0, "template", "gelu_x", "");
	int64_t own = add_cand(&pop, 0, 0, 0, "bank", "gelu_vec", "VEC=2");
	int64_t judged = add_cand(&pop, 0, 0, 0, "template", "gelu_y", "");
	int64_t b1 = add_cand(&pop, 1, 0, own, "playbook", "gelu_vec", "VEC=8");
	int64_t a1 = add_cand(&pop, 1, 0, naive, "llm", "", "");
	population_cand(&pop, judged)->evaluated = true;
	int idx[16];
	int n = population_to_judge(&pop, 0, false, idx);
	const int64_t want0[] = { lent, own, tpl, tpl2, user, llm, naive, gen };
	assert_int_equal(n, 8);
	for (int k = 0; k < n; k++)
		assert_int_equal(pop.cands[idx[k]].id, want0[k]);
	n = population_to_judge(&pop, 1, false, idx);
	assert_int_equal(n, 2);
	assert_int_equal(pop.cands[idx[0]].id, b1);
	assert_int_equal(pop.cands[idx[1]].id, a1);
	/* Deferred (a run with a wall-clock budget), the naive and generated
	 * kernels wait while anything else of round 0 is to be judged; later
	 * rounds are the same either way. */
	n = population_to_judge(&pop, 0, true, idx);
	assert_int_equal(n, 6);
	for (int k = 0; k < n; k++)
		assert_int_equal(pop.cands[idx[k]].id, want0[k]);
	assert_int_equal(population_to_judge(&pop, 1, true, idx), 2);
	for (int i = 0; i < pop.n_cands; i++)
		if (pop.cands[i].id != naive && pop.cands[i].id != gen)
			pop.cands[i].evaluated = true;
	n = population_to_judge(&pop, 0, true, idx);
	assert_int_equal(n, 2);
	assert_int_equal(pop.cands[idx[0]].id, naive);
	assert_int_equal(pop.cands[idx[1]].id, gen);
	/* The naive kernel alone is judged all the same, deferred or not. */
	population_release(&pop);
	population_init(&pop, s, run);
	add_cand(&pop, 0, 0, 0, "naive", "", "");
	assert_int_equal(population_to_judge(&pop, 0, false, idx), 1);
	assert_int_equal(population_to_judge(&pop, 0, true, idx), 1);
	population_release(&pop);
	store_close(s);
	free(db);
}

static void test_round0_own_arch_first(void **state)
{
	/* Round 0's templates at their defaults: those whose arch line is the
	 * compile target come first, then the settings of the start lines for
	 * the target, then the others in their order; on another target the
	 * order is the templates' own (t_simt's start line for sm_80 is its
	 * defaults: one candidate). */
	static const char *const texts[] = {
		"// kbreed-template: t_mma\n// family: f\n// problems: op_x\n"
		"// knob A: 1 2 | default 1 | category compute | a\n__global__ void k() {}\n",
		"// kbreed-template: t_other\n// family: f\n// problems: op_y\n__global__ void k() {}\n",
		"// kbreed-template: t_wgmma\n// family: f\n// problems: op_x\n// arch: sm_90a\n"
		"__global__ void k() {}\n",
		"// kbreed-template: t_simt\n// family: f\n// problems: op_x\n"
		"// knob B: 1 2 3 | default 1 | category compute | b\n// start sm_90a: B=2\n// start sm_90a: B=3\n"
		"// start sm_80: B=1\n__global__ void k() {}\n",
	};
	struct template tpls[4];
	for (int t = 0; t < 4; t++) {
		memset(&tpls[t], 0, sizeof tpls[t]);
		assert_int_equal(template_parse("mem.cu", texts[t], &tpls[t]), 0);
	}
	assert_string_equal(tpls[2].arch, "sm_90a");
	assert_string_equal(tpls[0].arch, "");
	struct problem p;
	problem_init(&p);
	p.name = xstrdup("op_x_problem");
	p.family = xstrdup("f");
	p.op = xstrdup("op_x");
	p.defines = xstrdup("");
	const char *const archs[] = { "sm_90a", "sm_80" };
	const char *const want[2][5] = { { "t_wgmma", "t_simt B=2", "t_simt B=3", "t_mma A=1", "t_simt B=1" },
					 { "t_simt B=1", "t_mma A=1", "t_wgmma" } };
	const int n_want[2] = { 5, 3 };
	for (int a = 0; a < 2; a++) {
		char *db = NULL;
		int64_t run = 0;
		struct store *st = open_run(a ? "arch80.db" : "arch90.db", 1, &db, &run);
		struct population pop;
		population_init(&pop, st, run);
		assert_int_equal(population_seed_round0(&pop, &p, tpls, 4, "GPU", archs[a], false), 0);
		int idx[8];
		int n = population_to_judge(&pop, 0, false, idx);
		assert_int_equal(n, n_want[a]);
		for (int k = 0; k < n; k++) {
			const struct cand_row *c = &pop.cands[idx[k]];
			char *got = *c->knobs ? xasprintf("%s %s", c->template_name, c->knobs) : xstrdup(c->template_name);
			assert_string_equal(got, want[a][k]);
			free(got);
		}
		population_release(&pop);
		store_close(st);
		free(db);
	}
	problem_release(&p);
	for (int t = 0; t < 4; t++)
		template_release(&tpls[t]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_run),
		cmocka_unit_test(test_bank_seeds_next_run),
		cmocka_unit_test(test_bank_lends_knobs_across_families),
		cmocka_unit_test(test_winner_facts),
		cmocka_unit_test(test_judge_order),
		cmocka_unit_test(test_budget_defers_naive),
		cmocka_unit_test(test_round0_own_arch_first),
		cmocka_unit_test(test_budget_then_resume),
		cmocka_unit_test(test_time_budget_mid_round),
		cmocka_unit_test(test_default_budget_fills_every_round),
	};
	if (getenv("KBREED_TEST_FILTER"))
		cmocka_set_test_filter(getenv("KBREED_TEST_FILTER"));
	return cmocka_run_group_tests_name("search", tests, setup, teardown);
}
