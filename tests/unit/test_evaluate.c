/*
 * test_evaluate.c - the evaluator's classification logic, end to end through
 * its worker protocol, with a fake worker (tests/unit/fake_worker.c) in place
 * of the GPU one: no GPU needed. The fake chooses what to do from the
 * basename of the candidate path it is sent, so the paths here are made up.
 */
#include "testing.h"

#include "evaluate.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <sys/stat.h>

#define FAKE_WORKER TEST_BUILD "/tests/fake_worker"
#define SETS 5
#define ROWS 4
#define COLS 33

static char *refdir;       /* reference data written by hand */
static char *starts_path;  /* the fake worker appends a line per start */
static struct tensor_spec in_spec = { .name = "x", .dtype = KB_F32, .ndim = 2, .shape = { ROWS, COLS } };
static struct tensor_spec out_spec = { .name = "out", .dtype = KB_F32, .ndim = 2, .shape = { ROWS, COLS } };
static struct problem problem = {
	.name = "twice", .path = "/nowhere/twice.py", .family = "elementwise", .notes = "",
	.inputs = &in_spec, .n_inputs = 1, .params = NULL, .n_params = 0,
	.outputs = &out_spec, .n_outputs = 1,
};
static struct refset refs;
static struct evaluator *seq_ev;  /* freed by the teardown, also after a failed assertion */

static void write_floats(const char *path, const float *v, size_t n)
{
	assert_int_equal(util_write_file(path, v, n * sizeof *v), 0);
}

/* Five sets of random inputs, outputs 2 * x. */
static void make_refset(void)
{
	refdir = test_tmpdir();
	unsigned seed = 42;
	for (int s = 0; s < SETS; s++) {
		float x[ROWS * COLS], y[ROWS * COLS];
		for (int i = 0; i < ROWS * COLS; i++) {
			seed = seed * 1103515245u + 12345u;
			x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
			y[i] = 2.0f * x[i];
		}
		char *p = xasprintf("%s/set%d.in0.bin", refdir, s);
		write_floats(p, x, ROWS * COLS);
		free(p);
		p = xasprintf("%s/set%d.out0.bin", refdir, s);
		write_floats(p, y, ROWS * COLS);
		free(p);
	}
	refs = (struct refset){ .dir = refdir, .sets = SETS, .seed = 42, .device = "cpu", .gpu = "" };
}

static int count_starts(void)
{
	FILE *f = fopen(starts_path, "r");
	if (!f)
		return 0;
	int n = 0, c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(verdict_name(VERDICT_CORRECT), "correct");
	assert_string_equal(verdict_name(VERDICT_INCORRECT), "incorrect");
	assert_string_equal(verdict_name(VERDICT_REJECTED), "rejected");
	assert_string_equal(verdict_name(VERDICT_COMPILE_ERROR), "compile_error");
	assert_string_equal(verdict_name(VERDICT_LOAD_ERROR), "load_error");
	assert_string_equal(verdict_name(VERDICT_RUNTIME_ERROR), "runtime_error");
	assert_string_equal(verdict_name(VERDICT_TIMEOUT), "timeout");
	assert_string_equal(verdict_name((enum verdict)99), "?");
	assert_string_equal(verdict_name((enum verdict)-1), "?");
}

static void test_opts_defaults(void **state)
{
	(void)state;
	struct eval_opts o;
	memset(&o, 0x5a, sizeof o);
	eval_opts_defaults(&o);
	assert_true(o.sets >= 5);
	assert_true(o.reps >= 20);
	assert_true(o.warmup >= 0);
	assert_true(o.flush_mb >= 0);
	assert_true(o.timeout_s > 0);
	assert_true(o.threads >= 1);
	assert_int_equal(o.tolerance, TOL_STRICT);
}

static void test_too_many_sets(void **state)
{
	(void)state;
	struct eval_opts o;
	eval_opts_defaults(&o);
	o.sets = SETS + 1;
	assert_null(evaluator_new(&problem, &refs, &o));
	o.sets = SETS;
	struct evaluator *ev = evaluator_new(&problem, &refs, &o);
	assert_non_null(ev);
	evaluator_free(ev);  /* never started a worker */
}

/* One step of the sequence: the candidate's made-up name, what must come of
 * it, and how many workers must have been started while judging it (1 when
 * the previous step had to leave no worker behind). */
struct step {
	const char *name;
	enum verdict verdict;
	const char *detail[3];  /* substrings of res.detail */
	int starts;
};

static const struct step steps[] = {
	{ "correct", VERDICT_CORRECT, { "correct on 5 input sets" }, 1 },
	{ "wrong", VERDICT_INCORRECT, { "first at input set 2,", "output 0 [0, 7]", "1 of 1320" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 0 },
	{ "crash", VERDICT_RUNTIME_ERROR, { "signal 11" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 1 },
	{ "exit", VERDICT_RUNTIME_ERROR, { "exit code 7" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 1 },
	{ "hang", VERDICT_TIMEOUT, { "within 2 s", "killed" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 1 },
	{ "loadfail", VERDICT_LOAD_ERROR, { "cannot load the candidate: boom" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 0 },   /* a failed load keeps the worker */
	{ "cudafail", VERDICT_RUNTIME_ERROR, { "input set 0", "illegal memory access" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 1 },
	{ "mutate", VERDICT_REJECTED, { "input set 0", "modified input 0" }, 0 },
	{ "nan", VERDICT_INCORRECT, { "no output was written" }, 1 },
	{ "slowhost", VERDICT_REJECTED, { "escaped" }, 0 },
	{ "fewtimes", VERDICT_RUNTIME_ERROR, { "3 of 20 timings" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 1 },
	{ "cached", VERDICT_REJECTED, { "seen for the first time take 5.000 ms", "before 1.000 ms",
					"cached across calls" }, 0 },
	{ "lazyfirst", VERDICT_CORRECT, { "correct" }, 0 },  /* set 0 pays one-off costs */
	{ "tinyfirst", VERDICT_CORRECT, { "correct" }, 0 },  /* 8x, but within 0.05 ms */
	{ "leftthread", VERDICT_CORRECT, { "correct" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 1 },    /* a thread was left: fresh worker */
};

static void check_step(const struct step *st, const struct eval_result *res)
{
	const char *d = res->detail ? res->detail : "";
	if (res->verdict != st->verdict)
		print_error("%s: got %s (%s)\n", st->name, verdict_name(res->verdict), d);
	assert_int_equal(res->verdict, st->verdict);
	for (int i = 0; i < 3 && st->detail[i]; i++) {
		if (!strstr(d, st->detail[i]))
			print_error("%s: \"%s\" not in \"%s\"\n", st->name, st->detail[i], d);
		assert_non_null(strstr(d, st->detail[i]));
	}

	if (!strcmp(st->name, "correct")) {
		assert_true(res->checked);
		assert_true(res->pass[TOL_STRICT]);
		assert_true(res->pass[TOL_CRFM]);
		assert_int_equal(res->stats.n, 2 * SETS * ROWS * COLS);
		assert_int_equal(res->stats.n_bad[TOL_STRICT], 0);
		assert_int_equal(res->bad_set[TOL_STRICT], -1);
		assert_true(res->timed);
		assert_int_equal(res->time.reps, 20);
		assert_true(res->time.median_ms == 1.0);
		assert_true(res->time.min_ms == 1.0 && res->time.max_ms == 1.0);
		assert_true(fabs(res->host_median_ms - 1.05) < 1e-9);
		assert_int_equal(res->sm_clock_mhz, 1980);
		assert_int_equal(res->mem_clock_mhz, 2619);
		assert_null(res->log);
		assert_true(res->first_median_ms == 1.0);  /* set 0 (3 ms) left out */
	} else if (!strcmp(st->name, "cached") || !strcmp(st->name, "lazyfirst") ||
		   !strcmp(st->name, "tinyfirst") || !strcmp(st->name, "leftthread")) {
		assert_true(res->checked);
		assert_true(res->pass[TOL_STRICT]);
		assert_true(res->timed);
		double want = !strcmp(st->name, "cached") ? 5.0 : !strcmp(st->name, "tinyfirst") ? 0.04 : 1.0;
		assert_true(fabs(res->first_median_ms - want) < 1e-9);
	} else if (!strcmp(st->name, "wrong")) {
		assert_true(res->checked);
		assert_false(res->pass[TOL_STRICT]);
		assert_false(res->pass[TOL_CRFM]);
		assert_int_equal(res->stats.n_bad[TOL_STRICT], 1);
		assert_int_equal(res->stats.n_bad[TOL_CRFM], 1);
		assert_int_equal(res->stats.first_bad[TOL_STRICT], 7);
		assert_int_equal(res->bad_set[TOL_STRICT], 2);
		assert_int_equal(res->bad_output[TOL_STRICT], 0);
		assert_true(fabs(res->stats.first_got[TOL_STRICT] - res->stats.first_want[TOL_STRICT] - 1.0) < 1e-5);
		assert_int_equal(res->stats.n_nonfinite, 0);
	} else if (!strcmp(st->name, "nan")) {
		assert_true(res->checked);
		assert_false(res->pass[TOL_STRICT]);
		assert_int_equal(res->stats.n_nonfinite, res->stats.n);
		assert_int_equal(res->stats.n, 2 * SETS * ROWS * COLS);
	} else if (!strcmp(st->name, "slowhost")) {
		assert_true(res->checked);
		assert_true(res->pass[TOL_STRICT]);
		assert_true(res->timed);
		assert_true(fabs(res->time.median_ms - 0.1) < 1e-9);
		assert_true(fabs(res->host_median_ms - 5.0) < 1e-9);
	} else {
		/* Faults: nothing was compared or timed. */
		assert_false(res->checked);
		assert_false(res->timed);
	}
	if (!strcmp(st->name, "crash")) {
		assert_non_null(res->log);
		assert_non_null(strstr(res->log, "crashing on purpose"));
	}
	if (!strcmp(st->name, "exit")) {
		assert_non_null(res->log);
		assert_non_null(strstr(res->log, "exiting with 7"));
	}
	if (!strcmp(st->name, "hang"))
		assert_true(res->wall_s >= 1.9 && res->wall_s < 30);
}

static void test_sequence(void **state)
{
	(void)state;
	struct eval_opts o;
	eval_opts_defaults(&o);
	o.reps = 20;
	o.timeout_s = 2;
	o.sets = SETS;
	o.warmup = 1;
	o.flush_mb = 0;
	struct evaluator *ev = seq_ev = evaluator_new(&problem, &refs, &o);
	assert_non_null(ev);
	assert_int_equal(count_starts(), 0);  /* the worker starts with the first candidate */

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct step *st = &steps[i];
		char *so = xasprintf("/nowhere/kbreed-test/%s.so", st->name);
		struct eval_result res;
		eval_result_init(&res);
		int before = count_starts();
		int rc = evaluator_run(ev, so, &res);
		int started = count_starts() - before;
		if (rc != 0 || started != st->starts)
			print_error("step %zu (%s): rc %d, %d worker(s) started, want %d; %s: %s\n", i,
				    st->name, rc, started, st->starts, verdict_name(res.verdict),
				    res.detail ? res.detail : "");
		assert_int_equal(rc, 0);
		check_step(st, &res);
		assert_int_equal(started, st->starts);
		eval_result_release(&res);
		free(so);
	}
	int total = count_starts();
	seq_ev = NULL;
	evaluator_free(ev);  /* asks the worker to quit; starts none */
	assert_int_equal(count_starts(), total);
	assert_int_equal(total, 8);
}

/* Whom the worker runs as, and what it can read: the reference inputs
 * through the descriptors it inherits, never a reference output. As root,
 * with KBREED_RUN_AS naming the unprivileged user (a stand-in worker keeps
 * kbreed's user otherwise), it runs as that user and cannot open the
 * reference outputs; as anyone else, as that same user. */
static void test_isolation(void **state)
{
	(void)state;
	struct passwd *nobody = getpwnam("nobody");
	bool drop = geteuid() == 0 && nobody;
	if (drop)
		setenv("KBREED_RUN_AS", "nobody", 1);
	struct eval_opts o;
	eval_opts_defaults(&o);
	o.reps = 20;
	o.timeout_s = 10;
	o.flush_mb = 0;
	struct evaluator *ev = evaluator_new(&problem, &refs, &o);
	assert_non_null(ev);
	/* The references are kept private to kbreed's user. */
	struct stat st;
	assert_int_equal(stat(refdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	char *out0 = xasprintf("%s/set0.out0.bin", refdir);
	assert_int_equal(stat(out0, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(out0);

	struct eval_result res;
	eval_result_init(&res);
	assert_int_equal(evaluator_run(ev, "/nowhere/kbreed-test/whoami.so", &res), 0);
	const char *d = res.detail ? res.detail : "";
	char *want = xasprintf("uid %d gid %d ", drop ? (int)nobody->pw_uid : (int)getuid(),
			       drop ? (int)nobody->pw_gid : (int)getgid());
	if (!strstr(d, want) || !strstr(d, "input ok"))
		print_error("whoami: %s\n", d);
	assert_non_null(strstr(d, want));
	assert_non_null(strstr(d, "input ok"));
	if (drop)
		assert_null(strstr(d, "reference ok"));
	eval_result_release(&res);
	free(want);
	evaluator_free(ev);

	/* A worker that cannot start as the unprivileged user at its first
	 * start runs as root, with a warning, rather than not at all. */
	if (drop) {
		setenv("KBREED_FAKE_NEEDS_ROOT", "1", 1);
		ev = evaluator_new(&problem, &refs, &o);
		assert_non_null(ev);
		eval_result_init(&res);
		assert_int_equal(evaluator_run(ev, "/nowhere/kbreed-test/whoami.so", &res), 0);
		d = res.detail ? res.detail : "";
		if (!strstr(d, "uid 0 gid 0 "))
			print_error("whoami after the fallback: %s\n", d);
		assert_non_null(strstr(d, "uid 0 gid 0 "));
		assert_non_null(strstr(d, "input ok"));
		eval_result_release(&res);
		evaluator_free(ev);
		unsetenv("KBREED_FAKE_NEEDS_ROOT");
	}
	unsetenv("KBREED_RUN_AS");
}

static int free_seq_ev(void **state)
{
	(void)state;
	evaluator_free(seq_ev);  /* stops the worker, removes its private directory */
	seq_ev = NULL;
	return 0;
}

int main(void)
{
	char fake[PATH_MAX];
	if (!realpath(FAKE_WORKER, fake)) {
		fprintf(stderr, "test_evaluate: %s is missing (make %s; tests run from the repository root)\n",
			FAKE_WORKER, FAKE_WORKER);
		return 1;
	}
	/* Before anything starts a child: the children's environment is
	 * computed once (src/proc.c), and so is home_worker(). Only KBREED_*
	 * names reach the worker. */
	setenv("KBREED_WORKER", fake, 1);
	char *tmp = test_tmpdir();
	starts_path = xasprintf("%s/starts", tmp);
	setenv("KBREED_FAKE_WORKER_STARTS", starts_path, 1);
	make_refset();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_too_many_sets),
		cmocka_unit_test_teardown(test_sequence, free_seq_ev),
		cmocka_unit_test(test_isolation),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	util_remove_tree(refdir);
	util_remove_tree(tmp);
	free(refdir);
	free(tmp);
	free(starts_path);
	return failed;
}
