/*
 * test_evaluate.c - the evaluator's classification logic, end to end through
 * its worker protocol, with a fake worker (tests/unit/fake_worker.c) in place
 * of the GPU one: no GPU needed. The fake chooses what to do from the
 * basename of the candidate path it is sent, so the paths here are made up.
 * Also: the worker protocol's encoders and decoders (round trips, and a
 * version mismatch rejected by each end), and the verdicts' names.
 */
#include "testing.h"

#include "../../include/kbreed_worker_protocol.h"
#include "evaluate.h"
#include "proc.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>

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
	assert_string_equal(verdict_name(VERDICT_NOT_RUN), "not_run");
	assert_string_equal(verdict_name((enum verdict)99), "?");
	assert_string_equal(verdict_name((enum verdict)-1), "?");
	assert_string_equal(verdict_name((enum verdict)VERDICTS), "?");
}

/* Every verdict's name parses back to it; nothing else parses. */
static void test_verdict_floor(void **state)
{
	struct eval_result r;
	eval_result_init(&r);
	eval_result_set(&r, VERDICT_CORRECT, "correct");
	r.timed = true;
	r.time = (struct timing){ .median_ms = 0.5, .min_ms = 0.4, .max_ms = 0.6, .reps = 20 };
	assert_false(verdict_of_floor(&r, 0, 1, 3000));          /* no floor known: no rule */
	assert_false(verdict_of_floor(&r, 0.7, 1, 3000));        /* 0.6 >= 0.85 x 0.7: within reach */
	assert_int_equal(r.verdict, VERDICT_CORRECT);
	assert_true(verdict_of_floor(&r, 1.0, 1, 3000));         /* every call below 0.85 ms */
	assert_int_equal(r.verdict, VERDICT_REJECTED);
	assert_non_null(strstr(r.detail, "faster than the memory floor"));
	eval_result_set(&r, VERDICT_INCORRECT, "wrong");
	assert_false(verdict_of_floor(&r, 1.0, 1, 3000));        /* wrong values stay incorrect */
	assert_int_equal(r.verdict, VERDICT_INCORRECT);
	eval_result_release(&r);
}

static void test_verdict_parse(void **state)
{
	(void)state;
	for (int i = 0; i < VERDICTS; i++) {
		enum verdict v = (enum verdict)-1;
		const char *name = verdict_name((enum verdict)i);
		assert_string_not_equal(name, "?");
		assert_int_equal(verdict_parse(name, &v), 0);
		assert_int_equal(v, i);
		for (int k = 0; k < i; k++)   /* names are distinct */
			assert_string_not_equal(name, verdict_name((enum verdict)k));
	}
	const char *bad[] = { "", "?", "Correct", "correct ", "dry-run", "not run", "timeout2", NULL };
	for (int i = 0; bad[i]; i++) {
		enum verdict v = VERDICT_TIMEOUT;
		assert_int_equal(verdict_parse(bad[i], &v), -1);
		assert_int_equal(v, VERDICT_TIMEOUT);   /* untouched */
	}
	enum verdict v = VERDICT_TIMEOUT;
	assert_int_equal(verdict_parse(NULL, &v), -1);

	struct eval_result r;
	eval_result_init(&r);
	eval_result_not_run(&r, "dry run: compiled only");
	assert_int_equal(r.verdict, VERDICT_NOT_RUN);
	assert_string_equal(r.detail, "dry run: compiled only");
	eval_result_release(&r);
}

/* A job encoded and decoded again is the same job. */
static void test_protocol_job_round_trip(void **state)
{
	(void)state;
	struct kbw_job j, back;
	kbw_job_init(&j);
	j.version = KBREED_WORKER_PROTOCOL;
	j.sets = 2;
	j.timed_sets = 1;   /* set 1 is checked only, as a stressed set */
	j.warmup = 3;
	j.reps = 25;
	j.flush_mb = 64;
	int64_t shape_in[3] = { 7, 1, 33 }, shape_p[1] = { 5 }, shape_out[2] = { 7, 33 };
	assert_int_equal(kbw_job_add(&j, KBW_INPUT, 0, 0, KB_F16, 3, shape_in, "fd:17"), 0);
	assert_int_equal(kbw_job_add(&j, KBW_INPUT, 1, 0, KB_F16, 3, shape_in, "/some/where/set1.in0.bin"), 0);
	assert_int_equal(kbw_job_add(&j, KBW_PARAM, -1, 0, KB_I64, 1, shape_p, "fd:18"), 0);
	assert_int_equal(kbw_job_add(&j, KBW_OUTPUT, -1, 0, KB_F32, 2, shape_out, NULL), 0);
	assert_int_equal(kbw_job_add(&j, KBW_OUTPUT, -1, 1, KB_BOOL, 0, NULL, NULL), 0);
	char *text = NULL, why[512];
	size_t len = 0;
	assert_int_equal(kbw_job_format(&j, &text, &len, why, sizeof why), 0);
	assert_int_equal(strlen(text), len);
	char *head = xasprintf("kbreed-job %d\n", KBREED_WORKER_PROTOCOL);
	assert_int_equal(strncmp(text, head, strlen(head)), 0);
	free(head);
	assert_non_null(strstr(text, "tensor input 1 0 1 3 7 1 33 /some/where/set1.in0.bin\n"));
	assert_non_null(strstr(text, "tensor output -1 1 6 0 -\n"));
	assert_non_null(strstr(text, "\ntimed_sets 1\n"));

	FILE *f = fmemopen(text, len, "r");
	assert_non_null(f);
	int rc = kbw_job_read(f, "the job", &back, why, sizeof why);
	fclose(f);
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(back.version, KBREED_WORKER_PROTOCOL);
	assert_int_equal(back.sets, 2);
	assert_int_equal(back.timed_sets, 1);
	assert_int_equal(back.warmup, 3);
	assert_int_equal(back.reps, 25);
	assert_int_equal(back.flush_mb, 64);
	assert_int_equal(back.n_tensors, j.n_tensors);
	assert_int_equal(back.n_inputs, 1);
	assert_int_equal(back.n_params, 1);
	assert_int_equal(back.n_outputs, 2);
	for (int i = 0; i < j.n_tensors; i++) {
		const struct kbw_tensor *a = &j.tensor[i], *b = &back.tensor[i];
		assert_int_equal(a->kind, b->kind);
		assert_int_equal(a->set, b->set);
		assert_int_equal(a->index, b->index);
		assert_int_equal(a->dtype, b->dtype);
		assert_int_equal(a->ndim, b->ndim);
		for (int d = 0; d < a->ndim; d++)
			assert_int_equal(a->shape[d], b->shape[d]);
		if (a->source)
			assert_string_equal(a->source, b->source);
		else
			assert_null(b->source);
		assert_int_equal(kbw_tensor_bytes(a), kbw_tensor_bytes(b));
	}
	assert_int_equal(kbw_tensor_bytes(&back.tensor[0]), 7 * 33 * 2);
	assert_int_equal(kbw_tensor_bytes(&back.tensor[4]), 1);
	kbw_job_release(&back);
	free(text);

	/* A source that cannot go on a line is refused, not cut. */
	free(j.tensor[0].source);
	j.tensor[0].source = xstrdup("/a path/with a space");
	assert_int_equal(kbw_job_format(&j, &text, &len, why, sizeof why), -1);
	assert_null(text);
	assert_non_null(strstr(why, "source"));
	kbw_job_release(&j);
}

/* Decodes job text; returns the decoder's status and fills why. */
static int read_job_text(const char *text, char *why, size_t cap)
{
	struct kbw_job j;
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	int rc = kbw_job_read(f, "job", &j, why, cap);
	fclose(f);
	if (!rc)
		kbw_job_release(&j);
	return rc;
}

/* Defective jobs are refused with a reason; another version with its own code. */
static void test_protocol_job_defects(void **state)
{
	(void)state;
	char why[512];
	const char *body = "sets 1\nwarmup 0\nreps 1\nflush_mb 0\n"
			   "tensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n";
	char *good = xasprintf("kbreed-job %d\n%s", KBREED_WORKER_PROTOCOL, body);
	assert_int_equal(read_job_text(good, why, sizeof why), 0);
	free(good);
	/* Without a timed_sets line, every set feeds the timed calls. */
	struct kbw_job j;
	good = xasprintf("kbreed-job %d\nsets 2\nreps 1\ntensor input 0 0 0 1 4 fd:5\n"
			 "tensor input 1 0 0 1 4 fd:6\ntensor output -1 0 0 1 4 -\n", KBREED_WORKER_PROTOCOL);
	FILE *f = fmemopen(good, strlen(good), "r");
	assert_non_null(f);
	assert_int_equal(kbw_job_read(f, "job", &j, why, sizeof why), 0);
	fclose(f);
	assert_int_equal(j.timed_sets, 2);
	kbw_job_release(&j);
	free(good);

	char *old = xasprintf("kbreed-job 1\n%s", body);
	assert_int_equal(read_job_text(old, why, sizeof why), KBW_EXIT_VERSION);
	assert_non_null(strstr(why, "protocol version mismatch"));
	assert_non_null(strstr(why, "version 1"));
	free(old);
	char *newer = xasprintf("kbreed-job %d\n%s", KBREED_WORKER_PROTOCOL + 1, body);
	assert_int_equal(read_job_text(newer, why, sizeof why), KBW_EXIT_VERSION);
	free(newer);

	const char *bad[] = {
		"",                                   /* empty */
		"kbreed-jobs 2\n",                    /* not a job */
		"sets 1\n",                           /* no header */
		"@\nsets 1\nreps 1\n",                /* settings, but no tensors */
		"@\nsets 2\nreps 1\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n", /* set 1 missing */
		"@\nsets 1\nreps 1\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 fd:6\n", /* output with contents */
		"@\nsets 1\nreps 1\ntensor input 0 0 0 1 4 -\ntensor output -1 0 0 1 4 -\n",     /* input without */
		"@\nsets 1\nreps 1\ntensor input 0 0 9 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",  /* dtype */
		"@\nsets 1\nreps 1\ntensor input 0 0 0 1 -4 fd:5\ntensor output -1 0 0 1 4 -\n", /* shape */
		"@\nsets 1\nreps 1\ntensor input 0 0 0 1 4 fd:5\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",
		"@\nsets 1\nsets 1\nreps 1\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n", /* repeated */
		"@\nsets 1\nreps 0\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",  /* no timed call */
		"@\nsets 1\nreps 1\nrepsx 1\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",
		"@\nsets 1\nreps 1\ntensor weight -1 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",
		"@\nsets 1\ntimed_sets 0\nreps 1\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",
		"@\nsets 1\ntimed_sets 2\nreps 1\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",
		"@\nsets 1\ntimed_sets 1\ntimed_sets 1\nreps 1\ntensor input 0 0 0 1 4 fd:5\ntensor output -1 0 0 1 4 -\n",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		char *text = bad[i][0] == '@' ? xasprintf("kbreed-job %d%s", KBREED_WORKER_PROTOCOL, bad[i] + 1)
					      : xstrdup(bad[i]);
		why[0] = '\0';
		int rc = read_job_text(text, why, sizeof why);
		if (rc != KBW_EXIT_JOB)
			print_error("bad job %d decoded with status %d:\n%s\n", i, rc, text);
		assert_int_equal(rc, KBW_EXIT_JOB);
		assert_true(why[0] != '\0');
		free(text);
	}
}

/* Encodes r, checks the line, decodes it again into back. */
static void reply_round_trip(const struct kbw_reply *r, const char *want, struct kbw_reply *back)
{
	/* back->text points into the line parsed: it must outlive this call
	 * (until the next one), so the line is not on this frame's stack. */
	static char line[KBW_MAX_LINE];
	int n = kbw_format_reply(line, sizeof line, r);
	assert_true(n > 0);
	assert_int_equal(strlen(line), n);
	assert_int_equal(line[n - 1], '\n');
	line[n - 1] = '\0';
	if (want)
		assert_string_equal(line, want);
	assert_null(strchr(line, '\n'));
	assert_int_equal(kbw_parse_reply(line, back), 0);
	assert_int_equal(back->kind, r->kind);
}

static void test_protocol_replies(void **state)
{
	(void)state;
	struct kbw_reply b;
	char line[KBW_MAX_LINE];

	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = KBREED_WORKER_PROTOCOL,
					      .bytes = 85899345920ULL }, NULL, &b);
	assert_int_equal(b.version, KBREED_WORKER_PROTOCOL);
	assert_true(b.bytes == 85899345920ULL);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_FIRST, .set = 3, .event_ms = 1.25, .host_ms = 1.5 },
			 "first 3 1.250000 1.500000", &b);
	assert_int_equal(b.set, 3);
	assert_true(b.event_ms == 1.25 && b.host_ms == 1.5);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_TIME, .event_ms = 0.005, .host_ms = 0.02 },
			 "time 0.005000 0.020000", &b);
	assert_true(fabs(b.event_ms - 0.005) < 1e-12 && fabs(b.host_ms - 0.02) < 1e-12);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_CLOCKS, .sm_mhz = 1980, .mem_mhz = 2619 },
			 "clocks 1980 2619", &b);
	assert_int_equal(b.sm_mhz, 1980);
	assert_int_equal(b.mem_mhz, 2619);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_LEAK, .bytes = 1ULL << 33 }, "leak 8589934592", &b);
	assert_true(b.bytes == 1ULL << 33);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_THREADS, .threads = 2 }, "threads 2", &b);
	assert_int_equal(b.threads, 2);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_EARLY, .calls = 5 }, "early 5", &b);
	assert_int_equal(b.calls, 5);
	/* A worker that takes a cutoff says so on its ready line; one that
	 * does not says nothing more, as before. */
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = KBREED_WORKER_PROTOCOL,
					      .bytes = 7, .cutoff = true }, NULL, &b);
	assert_true(b.cutoff);
	assert_true(b.bytes == 7);
	assert_int_equal(kbw_parse_reply("ready 2 7", &b), 0);
	assert_false(b.cutoff);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = true }, "end ok", &b);
	assert_true(b.ok);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = false }, "end fault", &b);
	assert_false(b.ok);
	for (int f = KBW_FAULT_LOAD; f <= KBW_FAULT_REJECTED; f++) {
		enum kbw_fault back;
		assert_int_equal(kbw_fault_parse(kbw_fault_name((enum kbw_fault)f), &back), 0);
		assert_int_equal(back, f);
		reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_FAULT, .fault = (enum kbw_fault)f,
						      .text = "input set 0:\nthe candidate\rmodified input 0" }, NULL, &b);
		assert_int_equal(b.fault, f);
		assert_string_equal(b.text, "input set 0: the candidate modified input 0");
	}
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_ERROR, .text = "no CUDA device is visible" },
			 "error no CUDA device is visible", &b);
	assert_string_equal(b.text, "no CUDA device is visible");

	/* A message longer than a line is cut, and says so. */
	char *huge = xcalloc(3 * KBW_MAX_LINE, 1);
	memset(huge, 'x', 3 * KBW_MAX_LINE - 1);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_FAULT, .fault = KBW_FAULT_RUNTIME, .text = huge }, NULL, &b);
	assert_true(strlen(b.text) < KBW_MAX_LINE);
	assert_string_equal(b.text + strlen(b.text) - 3, "...");
	free(huge);

	/* A worker from before versions said "ready <free_bytes>". */
	assert_int_equal(kbw_parse_reply("ready 1234", &b), 0);
	assert_int_equal(b.kind, KBW_REPLY_READY);
	assert_int_equal(b.version, 1);
	const char *bad[] = { "time 1.0", "time 1.0 2.0 3.0", "first x 1 1", "clocks 1", "fault teapot boom",
			      "end", "end maybe", "leak -", "threads", "hello", "", "ready", "early", "early x",
			      "early -1", "early 5 6", "ready 2 7 cutof", "ready 2 7 cutoff x", NULL };
	for (int i = 0; bad[i]; i++) {
		if (!kbw_parse_reply(bad[i], &b))
			print_error("\"%s\" decoded as a reply\n", bad[i]);
		assert_int_equal(kbw_parse_reply(bad[i], &b), -1);
	}
	/* A buffer too small is an error, never a cut number. */
	assert_int_equal(kbw_format_reply(line, 8, &(struct kbw_reply){ .kind = KBW_REPLY_TIME, .event_ms = 1 }), -1);
}

static void test_protocol_commands_and_info(void **state)
{
	(void)state;
	char line[2 * KBW_MAX_PATH + 16];
	const char *so, *outdir;
	int n = kbw_format_eval(line, sizeof line, "/x/c0-k.so", "/tmp/kbreed-eval-1/c0");
	assert_int_equal(n, (int)strlen("eval /x/c0-k.so\t/tmp/kbreed-eval-1/c0\n"));
	line[n - 1] = '\0';
	assert_int_equal(kbw_parse_command(line, &so, &outdir), KBW_CMD_EVAL);
	assert_string_equal(so, "/x/c0-k.so");
	assert_string_equal(outdir, "/tmp/kbreed-eval-1/c0");
	assert_int_equal(kbw_format_eval(line, sizeof line, "/x/a\tb.so", "/o"), -1);
	assert_int_equal(kbw_format_eval(line, sizeof line, "/x/a.so", "/o\n"), -1);
	/* A cutoff travels as a third field; the plain line has none. */
	struct kbw_eval e;
	n = kbw_format_eval_cutoff(line, sizeof line, "/x/a.so", "/o", 1.25, 5);
	assert_true(n > 0);
	assert_string_equal(line, "eval /x/a.so\t/o\tcutoff 1.250000 5\n");
	line[n - 1] = '\0';
	assert_int_equal(kbw_parse_eval(line, &e), KBW_CMD_EVAL);
	assert_string_equal(e.so, "/x/a.so");
	assert_string_equal(e.outdir, "/o");
	assert_true(e.cutoff_ms == 1.25);
	assert_int_equal(e.cutoff_calls, 5);
	n = kbw_format_eval_cutoff(line, sizeof line, "/x/a.so", "/o", 0, 5);
	assert_string_equal(line, "eval /x/a.so\t/o\n");
	line[n - 1] = '\0';
	assert_int_equal(kbw_parse_eval(line, &e), KBW_CMD_EVAL);
	assert_true(e.cutoff_ms == 0);
	assert_int_equal(kbw_format_eval_cutoff(line, sizeof line, "/x/a.so", "/o", 1.0, 0), -1);
	/* A reader that takes no cutoff still reads the paths. */
	char with[] = "eval /x/a.so\t/o\tcutoff 2 5";
	assert_int_equal(kbw_parse_command(with, &so, &outdir), KBW_CMD_EVAL);
	assert_string_equal(outdir, "/o");
	const char *bad_cut[] = { "eval /x.so\t/o\tcutoff", "eval /x.so\t/o\tcutoff 1", "eval /x.so\t/o\tcutoff 0 5",
				  "eval /x.so\t/o\tcutoff -1 5", "eval /x.so\t/o\tcutoff 1 0", "eval /x.so\t/o\tcutoff 1 5 x",
				  "eval /x.so\t/o\tcutoff 1 5\t", "eval /x.so\t/o\tfast", "eval /x.so\t\tcutoff 1 5", NULL };
	for (int i = 0; bad_cut[i]; i++) {
		char copy[256];
		snprintf(copy, sizeof copy, "%s", bad_cut[i]);
		if (kbw_parse_eval(copy, &e) != KBW_CMD_BAD)
			print_error("\"%s\" decoded as a command\n", bad_cut[i]);
		snprintf(copy, sizeof copy, "%s", bad_cut[i]);
		assert_int_equal(kbw_parse_eval(copy, &e), KBW_CMD_BAD);
	}
	char quit[] = "quit", nothing[] = "eval /x.so", unknown[] = "dance";
	assert_int_equal(kbw_parse_command(quit, &so, &outdir), KBW_CMD_QUIT);
	assert_int_equal(kbw_parse_command(nothing, &so, &outdir), KBW_CMD_BAD);
	assert_int_equal(kbw_parse_command(unknown, &so, &outdir), KBW_CMD_BAD);

	struct kbw_info i = { .version = KBREED_WORKER_PROTOCOL, .name = "NVIDIA H100 80GB HBM3",
			      .cc_major = 9, .cc_minor = 0, .sm_count = 132, .l2_bytes = 52428800,
			      .mem_bytes = 85045837824LL, .smem_per_block_optin = 232448, .driver = 13000,
			      .runtime = 13000, .sm_clock_mhz = 1980, .mem_clock_mhz = 2619, .devices = 8 }, back;
	char text[2048], why[256];
	assert_true(kbw_format_info(text, sizeof text, &i) > 0);
	assert_int_equal(kbw_parse_info(text, &back, why, sizeof why), 0);
	assert_memory_equal(&i, &back, sizeof i);
	assert_int_equal(kbw_parse_info("error no CUDA device is visible\n", &back, why, sizeof why), -1);
	assert_string_equal(why, "no CUDA device is visible");
	assert_int_equal(kbw_parse_info("name X\n", &back, why, sizeof why), -1);
	/* Without a protocol line: a worker from before versions. */
	assert_int_equal(kbw_parse_info("name X\ncc 8 0\n", &back, why, sizeof why), 0);
	assert_int_equal(back.version, 1);
	assert_int_equal(back.devices, 1);  /* nor a devices line: one GPU */
	assert_int_equal(kbw_check_version(back.version, "GPU worker", "kbreed", why, sizeof why), -1);
	assert_non_null(strstr(why, "protocol version mismatch"));
	assert_int_equal(kbw_check_version(KBREED_WORKER_PROTOCOL, "GPU worker", "kbreed", why, sizeof why), 0);
}

/* The lines of checking on the GPU (protocol 4): the ready line's options,
 * export's handles, the worker's checks and kbreed's answers, the
 * comparer's commands and its stats (every double as it was, NaN and
 * infinities too), and the comparer's job with references and tolerances. */
static void test_protocol_gpu_lines(void **state)
{
	(void)state;
	struct kbw_reply b;
	char line[KBW_MAX_LINE];
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = 4, .bytes = 9, .cutoff = true,
					      .ipc = true }, "ready 4 9 cutoff ipc", &b);
	assert_true(b.cutoff && b.ipc && !b.compare);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = 4, .bytes = 9, .compare = true },
			 "ready 4 9 compare", &b);
	assert_true(!b.cutoff && !b.ipc && b.compare);
	assert_int_equal(kbw_parse_reply("ready 4 9 ipc", &b), 0);
	assert_true(b.ipc && !b.cutoff);

	struct kbw_handle h = { .kind = KBW_OUTPUT, .index = 2 };
	for (int k = 0; k < 64; k++)
		snprintf(h.hex + 2 * k, 3, "%02x", (unsigned)(k * 37 + 1) & 0xff);
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_HANDLE, .handle = h }, NULL, &b);
	assert_int_equal(b.handle.kind, KBW_OUTPUT);
	assert_int_equal(b.handle.index, 2);
	assert_string_equal(b.handle.hex, h.hex);
	/* The same line is the comparer's command. */
	int n = kbw_format_handle(line, sizeof line, &h);
	assert_true(n > 0);
	line[n - 1] = '\0';
	struct kbw_cmd c;
	assert_int_equal(kbw_parse_cmd(line, &c), KBW_CMD_HANDLE);
	assert_string_equal(c.handle.hex, h.hex);
	struct kbw_handle bad_h = h;
	bad_h.hex[5] = 'G';
	assert_int_equal(kbw_format_handle(line, sizeof line, &bad_h), -1);
	bad_h = h;
	bad_h.kind = KBW_REFERENCE;   /* a reference is never a worker's buffer */
	assert_int_equal(kbw_format_handle(line, sizeof line, &bad_h), -1);

	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_CHECK, .set = 6, .pass = 1 }, "check 6 1", &b);
	assert_int_equal(b.set, 6);
	assert_int_equal(b.pass, 1);
	struct kbw_stats st = { .output = 1, .scale = 1.0 / 3, .n = 1LL << 31, .n_bad = { 3, 1 },
				.first_bad = { 7, 11 }, .first_got = { NAN, -INFINITY }, .first_want = { 0.1, 1e-300 },
				.n_nonfinite = 2, .max_abs = 0.7, .max_rel = 1e9, .err_sq = 1.0 / 7, .ref_sq = 2.0 / 9 };
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_STATS, .stats = st }, NULL, &b);
	assert_true(isnan(b.stats.first_got[0]) && isinf(b.stats.first_got[1]) && b.stats.first_got[1] < 0);
	b.stats.first_got[0] = st.first_got[0] = 0;
	b.stats.first_got[1] = st.first_got[1] = 0;
	const struct kbw_stats *k = &b.stats;
	assert_true(k->output == st.output && k->scale == st.scale && k->n == st.n && k->n_nonfinite == st.n_nonfinite);
	assert_true(k->max_abs == st.max_abs && k->max_rel == st.max_rel && k->err_sq == st.err_sq &&
		    k->ref_sq == st.ref_sq);
	for (int q = 0; q < KBW_PROFILES; q++)
		assert_true(k->n_bad[q] == st.n_bad[q] && k->first_bad[q] == st.first_bad[q] &&
			    k->first_want[q] == st.first_want[q]);
	st.first_bad[0] = st.first_bad[1] = -1;
	reply_round_trip(&(struct kbw_reply){ .kind = KBW_REPLY_STATS, .stats = st }, NULL, &b);
	assert_true(b.stats.first_bad[0] == -1 && b.stats.first_bad[1] == -1);

	/* kbreed's commands: eval's gpu field, after any cutoff. */
	n = kbw_format_eval_opts(line, sizeof line, "/x/a.so", "/o", 1.5, 3, true);
	assert_string_equal(line, "eval /x/a.so\t/o\tcutoff 1.500000 3\tgpu\n");
	line[n - 1] = '\0';
	assert_int_equal(kbw_parse_cmd(line, &c), KBW_CMD_EVAL);
	assert_true(c.eval.gpu && c.eval.cutoff_ms == 1.5 && c.eval.cutoff_calls == 3);
	assert_string_equal(c.eval.outdir, "/o");
	n = kbw_format_eval_opts(line, sizeof line, "/x/a.so", "/o", 0, 0, true);
	assert_string_equal(line, "eval /x/a.so\t/o\tgpu\n");
	n = kbw_format_stop(line, sizeof line, "input set 1:\nthe candidate modified input 0");
	assert_string_equal(line, "stop input set 1: the candidate modified input 0\n");
	line[n - 1] = '\0';
	assert_int_equal(kbw_parse_cmd(line, &c), KBW_CMD_STOP);
	assert_string_equal(c.text, "input set 1: the candidate modified input 0");
	struct { const char *text; enum kbw_command cmd; } cmds[] = {
		{ "export", KBW_CMD_EXPORT }, { "go", KBW_CMD_GO }, { "attach", KBW_CMD_ATTACH },
		{ "compare 3 0", KBW_CMD_COMPARE }, { "compare 3 2", KBW_CMD_BAD }, { "compare -1 0", KBW_CMD_BAD },
		{ "compare 3", KBW_CMD_BAD }, { "compare 3 1 x", KBW_CMD_BAD }, { "go on", KBW_CMD_BAD },
		{ "handle output 0", KBW_CMD_BAD }, { "handle reference 0 ab", KBW_CMD_BAD },
		{ "handle input 0 AB", KBW_CMD_BAD }, { "eval /x.so\t/o\tgpu\tgpu", KBW_CMD_BAD },
		{ "eval /x.so\t/o\tgpu\tcutoff 1 5", KBW_CMD_BAD }, { "eval /x.so\t/o\tgpux", KBW_CMD_BAD },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char copy[256];
		snprintf(copy, sizeof copy, "%s", cmds[i].text);
		if (kbw_parse_cmd(copy, &c) != cmds[i].cmd)
			print_error("\"%s\" decoded as command %d\n", cmds[i].text, (int)c.cmd);
		assert_int_equal(c.cmd, cmds[i].cmd);
	}
	const char *bad[] = { "check 1", "check 1 2", "check -1 0", "stats 0 1 2", "handle output 0 xyz",
			      "ready 4 9 ipc cutoff", "ready 4 9 ipc ipc", NULL };
	for (int i = 0; bad[i]; i++) {
		if (!kbw_parse_reply(bad[i], &b))
			print_error("\"%s\" decoded as a reply\n", bad[i]);
		assert_int_equal(kbw_parse_reply(bad[i], &b), -1);
	}

	/* The comparer's job: references of every set's output, tolerances. */
	struct kbw_job j, back;
	kbw_job_init(&j);
	j.version = KBREED_WORKER_PROTOCOL;
	j.sets = 2;
	j.warmup = 1;
	j.reps = 3;
	int64_t shape[1] = { 4 };
	char why[512], *text = NULL;
	size_t len = 0;
	for (int s = 0; s < 2; s++)
		assert_int_equal(kbw_job_add(&j, KBW_INPUT, s, 0, KB_F32, 1, shape, s ? "fd:8" : "fd:7"), 0);
	assert_int_equal(kbw_job_add(&j, KBW_OUTPUT, -1, 0, KB_F32, 1, shape, NULL), 0);
	assert_int_equal(kbw_job_add(&j, KBW_REFERENCE, 0, 0, KB_F32, 1, shape, "fd:9"), 0);
	assert_int_equal(kbw_job_add(&j, KBW_REFERENCE, 1, 0, KB_F32, 1, shape, "fd:10"), 0);
	j.n_tols = 1;
	j.tol[0][0] = 1e-4;
	j.tol[0][1] = 1e-4;
	j.tol[0][2] = 1e-2;
	j.tol[0][3] = 1.0 / 3;
	assert_int_equal(kbw_job_format(&j, &text, &len, why, sizeof why), 0);
	assert_non_null(strstr(text, "tensor reference 1 0 0 1 4 fd:10\n"));
	FILE *f = fmemopen(text, len, "r");
	assert_int_equal(kbw_job_read(f, "job", &back, why, sizeof why), 0);
	fclose(f);
	assert_int_equal(back.n_refs, 2);
	assert_int_equal(back.n_tols, 1);
	assert_true(back.tol[0][3] == 1.0 / 3 && back.tol[0][0] == 1e-4);
	kbw_job_release(&back);
	free(text);
	/* A reference short, or a tolerance line out of order, is refused. */
	const char *defects[] = {
		"tensor input 0 0 0 1 4 fd:7\ntensor output -1 0 0 1 4 -\ntensor reference 0 0 0 1 4 fd:9\n",
		"tensor input 0 0 0 1 4 fd:7\ntensor output -1 0 0 1 4 -\ntensor reference 0 0 0 1 4 -\n",
		"tensor input 0 0 0 1 4 fd:7\ntensor output -1 0 0 1 4 -\ntolerance 1 1 1 1 1\n",
		"tensor input 0 0 0 1 4 fd:7\ntensor output -1 0 0 1 4 -\ntolerance 0 1 1 1\n",
		"tensor input 0 0 0 1 4 fd:7\ntensor output -1 0 0 1 4 -\ntolerance 0 1 1 1 -1\n",
	};
	for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
		char *t = xasprintf("kbreed-job %d\nsets %d\nwarmup 1\nreps 3\nflush_mb 0\n%s", KBREED_WORKER_PROTOCOL,
				    i == 0 ? 2 : 1, defects[i]);
		if (i == 0) {   /* two sets: set 1's input given, its reference not */
			char *more = xasprintf("%stensor input 1 0 0 1 4 fd:8\n", t);
			free(t);
			t = more;
		}
		f = fmemopen(t, strlen(t), "r");
		int rc = kbw_job_read(f, "job", &back, why, sizeof why);
		fclose(f);
		if (rc != KBW_EXIT_JOB)
			print_error("defect %zu read: %s\n", i, t);
		assert_int_equal(rc, KBW_EXIT_JOB);
		free(t);
	}
	kbw_job_release(&j);
}

/* The candidate's worker never takes a reference output: the real worker
 * (which reads its job before it looks for a GPU) and the fake refuse a job
 * that names one, with exit 4 and an "error" reply. */
static void test_worker_refuses_references(void **state)
{
	(void)state;
	char *dir = test_tmpdir(), *job = xasprintf("%s/job", dir), *ref = xasprintf("%s/r.bin", dir);
	char *in = xasprintf("%s/i.bin", dir), *replies = xasprintf("%s/replies", dir);
	float four[4] = { 1, 2, 3, 4 };
	write_floats(in, four, 4);
	write_floats(ref, four, 4);
	char *text = xasprintf("kbreed-job %d\nsets 1\nwarmup 0\nreps 1\nflush_mb 0\ntensor input 0 0 0 1 4 %s\n"
			       "tensor output -1 0 0 1 4 -\ntensor reference 0 0 0 1 4 %s\n", KBREED_WORKER_PROTOCOL, in, ref);
	assert_int_equal(util_write_file(job, text, strlen(text)), 0);
	const char *workers[] = { TEST_BUILD "/kbreed-worker", FAKE_WORKER };
	for (int w = 0; w < 2; w++) {
		if (access(workers[w], X_OK))
			continue;   /* the real worker is built by `make all` */
		char *cmd = xasprintf("%s %s </dev/null >%s 2>/dev/null", workers[w], job, replies);
		int st = system(cmd);
		free(cmd);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) != KBW_EXIT_JOB)
			print_error("%s: exit %d\n", workers[w], WEXITSTATUS(st));
		assert_int_equal(WEXITSTATUS(st), KBW_EXIT_JOB);
		char *got = NULL;
		size_t len = 0;
		assert_int_equal(util_read_file(replies, 1 << 16, &got, &len), 0);
		if (w == 0)   /* the fake only says it on stderr */
			assert_non_null(strstr(got, "only a comparer (--compare) takes those"));
		assert_null(strstr(got, "ready"));
		free(got);
	}
	util_remove_tree(dir);
	free(dir);
	free(job);
	free(ref);
	free(in);
	free(replies);
	free(text);
}

/* Each end refuses the other's version: the (fake) worker a job of another
 * version, kbreed a worker that announces another one. */
static void test_protocol_version_mismatch(void **state)
{
	(void)state;
	unsetenv("KBREED_FAKE_WORKER_STARTS");   /* these starts are not test_sequence's */
	/* The worker's side: it decodes its job with the shared decoder. */
	char *dir = test_tmpdir(), *job = xasprintf("%s/job", dir), *in = xasprintf("%s/set0.in0.bin", refdir);
	char *text = xasprintf("kbreed-job 1\nsets 1\nwarmup 0\nreps 1\nflush_mb 0\n"
			       "tensor input 0 0 0 2 %d %d %s\ntensor output -1 0 0 2 %d %d -\n",
			       ROWS, COLS, in, ROWS, COLS);
	assert_int_equal(util_write_file(job, text, strlen(text)), 0);
	const char *argv[] = { getenv("KBREED_WORKER"), job, NULL };
	struct proc_opts po = { .argv = argv, .timeout_s = 30, .keep_user = true, .see_refs = true };
	struct proc_result pr;
	proc_result_init(&pr);
	assert_int_equal(proc_run(&po, &pr), 0);
	if (pr.exit_code != KBW_EXIT_VERSION)
		print_error("fake worker: status %d, out \"%s\", err \"%s\"\n", pr.exit_code, buf_str(&pr.out),
			    buf_str(&pr.err));
	assert_int_equal(pr.end, PROC_EXITED);
	assert_int_equal(pr.exit_code, KBW_EXIT_VERSION);
	assert_int_equal(strncmp(buf_str(&pr.out), "error ", 6), 0);
	assert_non_null(strstr(buf_str(&pr.out), "protocol version mismatch"));
	assert_null(strstr(buf_str(&pr.out), "ready"));
	proc_result_release(&pr);
	util_remove_tree(dir);
	free(dir);
	free(job);
	free(in);
	free(text);

	/* kbreed's side: a worker that announces version 1 is not used. */
	setenv("KBREED_FAKE_PROTOCOL", "1", 1);
	struct eval_opts o;
	eval_opts_defaults(&o);
	o.reps = 20;
	o.timeout_s = 10;
	o.flush_mb = 0;
	struct evaluator *ev = evaluator_new(&problem, &refs, &o);
	assert_non_null(ev);
	struct eval_result res;
	eval_result_init(&res);
	assert_int_equal(evaluator_run(ev, "/nowhere/kbreed-test/correct.so", &res), -1);
	assert_int_not_equal(res.verdict, VERDICT_CORRECT);
	assert_false(res.checked);
	eval_result_release(&res);
	evaluator_free(ev);
	/* ... nor its --info. */
	setenv("KBREED_FAKE_GPU", "1", 1);
	struct gpu_info g;
	assert_int_equal(gpu_info_query(&g), -1);
	gpu_info_release(&g);
	unsetenv("KBREED_FAKE_PROTOCOL");
	assert_int_equal(gpu_info_query(&g), 0);
	assert_string_equal(g.name, "Fake GPU");
	assert_int_equal(g.cc_major, 9);
	assert_int_equal(g.sm_count, 132);
	gpu_info_release(&g);
	unsetenv("KBREED_FAKE_GPU");
	setenv("KBREED_FAKE_WORKER_STARTS", starts_path, 1);
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
	{ "lowprec", VERDICT_INCORRECT, { "too large for the size of the output", "= 0.00015", "bound 0.0001, strict" }, 0 },
	{ "slowhost", VERDICT_REJECTED, { "escaped" }, 0 },
	{ "fewtimes", VERDICT_RUNTIME_ERROR, { "3 of 20 timings" }, 0 },
	{ "correct", VERDICT_CORRECT, { "correct" }, 1 },
	{ "cached", VERDICT_REJECTED, { "seen for the first time take 5.000 ms", "before 1.000 ms",
					"cached across calls" }, 0 },
	{ "lazyfirst", VERDICT_CORRECT, { "correct" }, 0 },  /* set 0 pays one-off costs */
	{ "tinyfirst", VERDICT_CORRECT, { "correct" }, 0 },  /* 8x, but within 0.05 ms */
	{ "noisyfirst", VERDICT_CORRECT, { "correct" }, 0 }, /* median 3.5x, fastest 1x */
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
		   !strcmp(st->name, "tinyfirst") || !strcmp(st->name, "noisyfirst") ||
		   !strcmp(st->name, "leftthread")) {
		assert_true(res->checked);
		assert_true(res->pass[TOL_STRICT]);
		assert_true(res->timed);
		double want = !strcmp(st->name, "cached") ? 5.0 : !strcmp(st->name, "tinyfirst") ? 0.04 :
			      !strcmp(st->name, "noisyfirst") ? 3.5 : 1.0;
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
	} else if (!strcmp(st->name, "lowprec")) {
		/* Every element within strict's element-wise rule, the norm not. */
		assert_true(res->checked);
		assert_int_equal(res->stats.n_bad[TOL_STRICT], 0);
		assert_true(res->stats.norm_bad[TOL_STRICT]);
		assert_false(res->pass[TOL_STRICT]);
		assert_true(res->pass[TOL_CRFM]);
		assert_true(fabs(res->stats.rel_l2 - 1.5e-4) < 1e-5);
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

/* Checking on the GPU, through the fake worker and the fake comparer: every
 * step of the sequence gets the verdict, the detail and the numbers it gets
 * from the output files, and the outputs came through the comparer (the fake
 * deletes its output files when it checks there, so a kbreed that read them
 * would find none). The comparer alone sees an input changed in a check call
 * (mutategpu), and a comparer that cannot attach, or dies during a
 * candidate, leaves the files to judge it, for good. */
static struct evaluator *gpu_ev;

static int free_gpu_ev(void **state)
{
	(void)state;
	evaluator_free(gpu_ev);
	evaluator_free(seq_ev);
	gpu_ev = seq_ev = NULL;
	unsetenv("KBREED_FAKE_CMP_FAIL");
	unsetenv("KBREED_FAKE_NO_IPC");
	return 0;
}

static struct evaluator *new_seq(bool gpu)
{
	struct eval_opts o;
	eval_opts_defaults(&o);
	o.reps = 20;
	o.timeout_s = 2;
	o.sets = SETS;
	o.warmup = 1;
	o.flush_mb = 0;
	o.compare = gpu ? COMPARE_GPU : COMPARE_FILES;
	struct evaluator *ev = evaluator_new(&problem, &refs, &o);
	assert_non_null(ev);
	return ev;
}

static void judge_named(struct evaluator *ev, const char *name, struct eval_result *res)
{
	char *so = xasprintf("/nowhere/kbreed-test/%s.so", name);
	eval_result_init(res);
	assert_int_equal(evaluator_run(ev, so, res), 0);
	free(so);
}

static void test_gpu_compare(void **state)
{
	(void)state;
	struct evaluator *host = seq_ev = new_seq(false), *gpu = gpu_ev = new_seq(true);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct step *st = &steps[i];
		struct eval_result a, b;
		judge_named(host, st->name, &a);
		judge_named(gpu, st->name, &b);
		if (a.verdict != b.verdict || strcmp(a.detail, b.detail) || a.checked != b.checked)
			print_error("%s: files: %s (%s); GPU: %s (%s)\n", st->name, verdict_name(a.verdict), a.detail,
				    verdict_name(b.verdict), b.detail);
		check_step(st, &b);
		assert_int_equal(a.verdict, b.verdict);
		assert_string_equal(a.detail, b.detail);
		assert_false(a.gpu_checked);
		assert_int_equal(b.gpu_checked, b.checked);   /* every comparison on the GPU */
		if (b.checked) {
			assert_int_equal(a.stats.n, b.stats.n);
			assert_int_equal(a.stats.n_nonfinite, b.stats.n_nonfinite);
			assert_true(a.stats.max_abs == b.stats.max_abs && a.stats.max_rel == b.stats.max_rel);
			assert_true(a.stats.rel_l2 == b.stats.rel_l2);
			assert_int_equal(a.norm_set, b.norm_set);
			for (int q = 0; q < TOL_PROFILES; q++) {
				assert_int_equal(a.stats.n_bad[q], b.stats.n_bad[q]);
				assert_int_equal(a.stats.first_bad[q], b.stats.first_bad[q]);
				assert_int_equal(a.bad_set[q], b.bad_set[q]);
				assert_int_equal(a.pass[q], b.pass[q]);
				if (a.stats.first_bad[q] >= 0)
					assert_true(a.stats.first_got[q] == b.stats.first_got[q] ||
						    (isnan(a.stats.first_got[q]) && isnan(b.stats.first_got[q])));
			}
		}
		eval_result_release(&a);
		eval_result_release(&b);
	}

	/* An input changed in a check call: only the comparer looks there. */
	struct eval_result res;
	judge_named(host, "mutategpu", &res);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	eval_result_release(&res);
	judge_named(gpu, "mutategpu", &res);
	if (res.verdict != VERDICT_REJECTED)
		print_error("mutategpu: %s (%s)\n", verdict_name(res.verdict), res.detail);
	assert_int_equal(res.verdict, VERDICT_REJECTED);
	assert_non_null(strstr(res.detail, "the check call on input set 1: the candidate modified input 0"));
	eval_result_release(&res);
	/* ... and a fresh worker after it is attached again. */
	judge_named(gpu, "correct", &res);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	assert_true(res.gpu_checked);
	eval_result_release(&res);
	seq_ev = NULL;
	evaluator_free(host);

	/* A comparer that dies during a candidate: judged again from files,
	 * and so are the candidates after it. */
	setenv("KBREED_FAKE_CMP_FAIL", "compare", 1);
	evaluator_free(gpu);
	gpu = gpu_ev = new_seq(true);
	for (int k = 0; k < 2; k++) {
		judge_named(gpu, k ? "wrong" : "correct", &res);
		assert_int_equal(res.verdict, k ? VERDICT_INCORRECT : VERDICT_CORRECT);
		assert_true(res.checked);
		assert_false(res.gpu_checked);
		eval_result_release(&res);
	}

	/* One that cannot open the worker's buffers: files from the start. */
	setenv("KBREED_FAKE_CMP_FAIL", "attach", 1);
	evaluator_free(gpu);
	gpu = gpu_ev = new_seq(true);
	judge_named(gpu, "correct", &res);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	assert_true(res.checked);
	assert_false(res.gpu_checked);
	eval_result_release(&res);
	unsetenv("KBREED_FAKE_CMP_FAIL");

	/* A worker that cannot export: files, as before. */
	setenv("KBREED_FAKE_NO_IPC", "1", 1);
	evaluator_free(gpu);
	gpu = gpu_ev = new_seq(true);
	judge_named(gpu, "wrong", &res);
	assert_int_equal(res.verdict, VERDICT_INCORRECT);
	assert_false(res.gpu_checked);
	eval_result_release(&res);
	unsetenv("KBREED_FAKE_NO_IPC");
}

/* Reference data with stressed sets after the plain ones, as the bridge's
 * `reference --stress` writes it: the five plain sets of make_refset, then
 * set 5 = set 0 x 1e3 (scale_up) and set 6 = set 1 on a grid of 0.25
 * (ties); clustered_max recorded as skipped. Outputs 2 * x throughout. */
static char *stress_dir;
static struct stress_set stress_sets[] = { { STRESS_SCALE_UP, 0 }, { STRESS_TIES, 1 } };
static struct stress_skip stress_skips[] = { { STRESS_CLUSTERED_MAX, 0, "the reference is not finite" } };

static struct refset make_stressed_refset(void)
{
	stress_dir = test_tmpdir();
	for (int s = 0; s < SETS + 2; s++) {
		int from = s < SETS ? s : stress_sets[s - SETS].from;
		char *p = xasprintf("%s/set%d.in0.bin", refdir, from);
		float x[ROWS * COLS], y[ROWS * COLS];
		char *data = NULL;
		size_t len = 0;
		assert_int_equal(util_read_file(p, 1 << 20, &data, &len), 0);
		assert_int_equal(len, sizeof x);
		memcpy(x, data, sizeof x);
		free(data);
		free(p);
		for (int i = 0; i < ROWS * COLS; i++) {
			if (s >= SETS && stress_sets[s - SETS].kind == STRESS_SCALE_UP)
				x[i] *= 1e3f;
			else if (s >= SETS)
				x[i] = roundf(x[i] * 4) / 4;
			y[i] = 2.0f * x[i];
		}
		p = xasprintf("%s/set%d.in0.bin", stress_dir, s);
		write_floats(p, x, ROWS * COLS);
		free(p);
		p = xasprintf("%s/set%d.out0.bin", stress_dir, s);
		write_floats(p, y, ROWS * COLS);
		free(p);
	}
	return (struct refset){ .dir = stress_dir, .sets = SETS, .seed = 42, .device = "cpu", .gpu = "",
				.stress = stress_sets, .n_stress = 2, .skipped = stress_skips, .n_skipped = 1 };
}

static void judge_as(const struct refset *r, int sets, bool stress, const char *name, struct eval_result *res)
{
	struct eval_opts o;
	eval_opts_defaults(&o);
	o.reps = 20;
	o.timeout_s = 10;
	o.sets = sets;
	o.stress = stress;
	o.flush_mb = 0;
	struct evaluator *ev = evaluator_new(&problem, r, &o);
	assert_non_null(ev);
	char *so = xasprintf("/nowhere/kbreed-test/%s.so", name);
	eval_result_init(res);
	assert_int_equal(evaluator_run(ev, so, res), 0);
	free(so);
	evaluator_free(ev);
}

/* A kernel right on get_inputs()'s range and wrong beyond it (the fake's
 * "clamp": outputs clamped to [-10, 10], as a GELU of a clamped input gives)
 * passes the plain sets, and a stressed set catches it, named by its kind;
 * an honest kernel is correct on every kind, and the skipped kind is named. */
static void test_stressed_sets(void **state)
{
	(void)state;
	struct refset r = make_stressed_refset();
	struct eval_result res;

	judge_as(&r, SETS, true, "correct", &res);
	if (res.verdict != VERDICT_CORRECT)
		print_error("correct: %s\n", res.detail);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	assert_int_equal(res.stressed, 2);
	assert_int_equal(res.stats.n, 2 * (SETS + 2) * ROWS * COLS);   /* first sights and check calls */
	assert_non_null(strstr(res.detail, "correct on 5 input sets, 2 stressed sets (scale_up, ties; "
				"clustered_max skipped: the reference is not finite) and 20 timed calls"));
	assert_true(res.first_median_ms == 1.0);   /* the plain sets 1..4 only */
	eval_result_release(&res);

	judge_as(&r, SETS, true, "clamp", &res);
	if (res.verdict != VERDICT_INCORRECT)
		print_error("clamp: %s\n", res.detail);
	assert_int_equal(res.verdict, VERDICT_INCORRECT);
	assert_int_equal(strncmp(res.detail, "stressed set scale_up: ", 23), 0);
	assert_non_null(strstr(res.detail, "first at stressed set scale_up (from input set 0), output 0"));
	assert_int_equal(res.bad_set[TOL_STRICT], SETS);
	eval_result_release(&res);

	/* The same kernel without stressed sets: right on every plain set. */
	judge_as(&r, SETS, false, "clamp", &res);
	if (res.verdict != VERDICT_CORRECT)
		print_error("clamp, --stress off: %s\n", res.detail);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	assert_int_equal(res.stressed, 0);
	assert_int_equal(res.stats.n, 2 * SETS * ROWS * COLS);
	assert_null(strstr(res.detail, "stressed"));
	eval_result_release(&res);

	/* Fewer plain sets than the data holds: the stressed sets are still
	 * the data's sets 5 and 6, judged as the worker's sets 3 and 4. */
	judge_as(&r, 3, true, "correct", &res);
	if (res.verdict != VERDICT_CORRECT)
		print_error("correct, 3 sets: %s\n", res.detail);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	assert_int_equal(res.stats.n, 2 * (3 + 2) * ROWS * COLS);
	eval_result_release(&res);
	judge_as(&r, 3, true, "clamp", &res);
	assert_int_equal(res.verdict, VERDICT_INCORRECT);
	assert_int_equal(res.bad_set[TOL_STRICT], 3);
	assert_non_null(strstr(res.detail, "stressed set scale_up"));
	eval_result_release(&res);

	util_remove_tree(stress_dir);
	free(stress_dir);
}

/* Adaptive timing through the fake worker, which announces a cutoff and
 * honours it (every call of "correct" takes 1 ms): a cutoff below the
 * candidate's time stops timing after the cutoff's calls, checked in full and
 * correct, and flagged; one above it changes nothing; a worker that stops
 * early without a cutoff that allows it is not believed. */
static void test_adaptive(void **state)
{
	(void)state;
	struct eval_opts o;
	eval_opts_defaults(&o);
	o.reps = 20;
	o.timeout_s = 10;
	o.sets = SETS;
	o.warmup = 1;
	o.flush_mb = 0;
	struct evaluator *ev = seq_ev = evaluator_new(&problem, &refs, &o);
	assert_non_null(ev);
	struct eval_result res;

	eval_result_init(&res);
	int before = count_starts();
	assert_int_equal(evaluator_run_cutoff(ev, "/nowhere/kbreed-test/correct.so", 0.5, 5, &res), 0);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	assert_true(res.checked && res.pass[TOL_STRICT]);
	assert_int_equal(res.stats.n, 2 * SETS * ROWS * COLS);   /* every set checked, twice */
	assert_true(res.timed && res.early);
	assert_int_equal(res.time.reps, 5);
	assert_true(res.time.median_ms == 1.0);
	assert_true(res.cutoff_ms == 0.5);
	assert_non_null(strstr(res.detail, "timing stopped early"));
	assert_non_null(strstr(res.detail, "5 timed calls"));
	eval_result_release(&res);

	/* A close contender: every timed call. The same worker: an early stop
	 * is no fault. */
	eval_result_init(&res);
	assert_int_equal(evaluator_run_cutoff(ev, "/nowhere/kbreed-test/correct.so", 1.3, 5, &res), 0);
	assert_int_equal(res.verdict, VERDICT_CORRECT);
	assert_false(res.early);
	assert_int_equal(res.time.reps, 20);
	assert_true(res.cutoff_ms == 1.3);
	assert_null(strstr(res.detail, "early"));
	eval_result_release(&res);
	assert_int_equal(count_starts() - before, 1);

	/* No cutoff: every call, as ever. */
	eval_result_init(&res);
	assert_int_equal(evaluator_run(ev, "/nowhere/kbreed-test/correct.so", &res), 0);
	assert_false(res.early);
	assert_int_equal(res.time.reps, 20);
	assert_true(res.cutoff_ms == 0);
	eval_result_release(&res);

	/* A worker that stops early where the cutoff did not allow it. */
	const double cuts[] = { 0, 5.0 };
	for (int k = 0; k < 2; k++) {
		eval_result_init(&res);
		assert_int_equal(evaluator_run_cutoff(ev, "/nowhere/kbreed-test/earlylie.so", cuts[k], 3, &res), 0);
		if (res.verdict != VERDICT_RUNTIME_ERROR)
			print_error("earlylie, cutoff %g: %s (%s)\n", cuts[k], verdict_name(res.verdict), res.detail);
		assert_int_equal(res.verdict, VERDICT_RUNTIME_ERROR);
		assert_non_null(strstr(res.detail, "stopped timing after 3 of 20 calls"));
		assert_false(res.timed);
		eval_result_release(&res);
	}
	seq_ev = NULL;
	evaluator_free(ev);
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
		cmocka_unit_test(test_verdict_parse),
		cmocka_unit_test(test_verdict_floor),
		cmocka_unit_test(test_protocol_job_round_trip),
		cmocka_unit_test(test_protocol_job_defects),
		cmocka_unit_test(test_protocol_replies),
		cmocka_unit_test(test_protocol_commands_and_info),
		cmocka_unit_test(test_protocol_gpu_lines),
		cmocka_unit_test(test_worker_refuses_references),
		cmocka_unit_test(test_protocol_version_mismatch),
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_too_many_sets),
		cmocka_unit_test_teardown(test_sequence, free_seq_ev),
		cmocka_unit_test_teardown(test_adaptive, free_seq_ev),
		cmocka_unit_test_teardown(test_gpu_compare, free_gpu_ev),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_stressed_sets),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	util_remove_tree(refdir);
	util_remove_tree(tmp);
	free(refdir);
	free(tmp);
	free(starts_path);
	return failed;
}
