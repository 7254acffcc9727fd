/*
 * fake_worker.c - a stand-in for build/kbreed-worker on machines without a
 * GPU, for tests of the evaluator (tests/unit/test_evaluate.c). It speaks
 * the worker protocol (include/kbreed_worker_protocol.h) through the same
 * decoder and encoders as worker/worker.c, but never loads anything:
 * what it does with "eval <so>\t<outdir>" is chosen by the basename of <so>:
 *
 *   correct    copies the reference outputs as set<s>/timed<s> outputs; reps
 *              "time 1.000000 1.050000", "clocks 1980 2619", "end ok"
 *   wrong      like correct, but float element 7 of output 0 of set 2 is off by 1
 *   nan        every output all 0xff bytes (the NaN poison left in place)
 *   lowprec    every fp32 output element x 1.00015: within strict's element-wise
 *              rule for the tests' outputs (|ref| <= 2), not within its norm rule
 *   clamp      every fp32 output element clamped to [-10, 10]: what a kernel
 *              that clamps its input there gives for a GELU or an identity, right
 *              on inputs of get_inputs()'s range, wrong on a set scaled by 1e3
 *   slowhost   correct outputs, "time 0.100000 5.000000" (work escaped the events)
 *   fewtimes   correct outputs, only 3 time lines, then "end ok"
 *   crash      raise(SIGSEGV)
 *   exit       exit(7)
 *   hang       sleeps forever
 *   loadfail   fault load_error ..., end fault (and stays up, as the real one)
 *   cudafail   fault runtime_error ..., end fault, exit 3 (as after a CUDA error)
 *   mutate     fault rejected ... modified input 0, end fault
 *   cached     correct outputs, but the correctness calls ("first" lines)
 *              take 5 ms against 1 ms for the timed calls
 *   lazyfirst  correct; the first call of all (input set 0) takes 80 ms
 *   tinyfirst  correct; first-sight calls 0.04 ms, timed 0.005 ms (8x, but
 *              within the absolute margin)
 *   leftthread correct, and "threads 1": a thread of the candidate still runs
 *   earlylie   correct outputs, 3 time lines of 1 ms and "early 3", whatever
 *              the cutoff (a worker that stops early when it must not)
 *   whoami     fault rejected "uid U gid G input ok|<error> reference
 *              ok|<error>": who the worker runs as, whether it can read input
 *              set 0 through the descriptor it was given, and whether it can
 *              open set0.out0.bin, a reference output, by its path
 *
 * Every behaviour that ends "end ok" also replies "first <set> ..." for each
 * input set, as the real worker does.
 *
 * It announces "cutoff" on its ready line (unless $KBREED_FAKE_NO_CUTOFF is
 * set) and honours an eval's cutoff as the real worker does for `correct`
 * and the $KBREED_FAKE_SEARCH candidates: when the candidate's time is above
 * the cutoff, it replies the first <calls> time lines and "early <calls>".
 *
 * The reference outputs are found beside the reference inputs named in the
 * job: input 0 of the job's set s, <dir>/set<f>.in0.bin, has its outputs in
 * <dir>/set<f>.out<j>.bin (f differs from s when the evaluator uses fewer
 * plain sets than the reference data holds, before the stressed ones). The job names inputs as
 * paths or as inherited descriptors ("fd:N"), whose paths the fake reads
 * from /proc/self/fd.
 *
 * With $KBREED_FAKE_PROTOCOL=N, it announces protocol version N in its
 * "ready" line (and --info), as a worker built from another checkout would.
 *
 * With $KBREED_FAKE_NEEDS_ROOT set, a fake that does not run as root
 * replies "error ..." instead of "ready" and exits 2, as a worker that cannot
 * reach the GPU as the unprivileged user would.
 *
 * With $KBREED_FAKE_SEARCH set, any other name is a correct candidate whose
 * time (0.5 to 1.5 ms) comes from a hash of the name: a stand-in GPU for
 * tests of the search loop; $KBREED_FAKE_DELAY_MS makes each such candidate
 * take that long, and $KBREED_FAKE_TIME_SCALE multiplies its times (a
 * tiny scale puts it below any memory floor). With $KBREED_FAKE_GPU set, --info describes a
 * made-up compute capability 9.0 device instead of reporting none.
 *
 * With $KBREED_FAKE_GPUS set to a comma-separated list of model names
 * ("H200,H200,A100"), it is a host of that many GPUs: --info reports the
 * first visible one's name and "devices N", and $CUDA_VISIBLE_DEVICES (a
 * list of indices into it) narrows what is visible, as for the real worker;
 * a worker whose CUDA_VISIBLE_DEVICES names no listed GPU finds none.
 *
 * When $KBREED_FAKE_EVAL_LOG names a file, one line "<device> <so> <cutoff>"
 * is appended to it per candidate judged, device being $CUDA_VISIBLE_DEVICES
 * ("-" when unset), so the candidate's basename and cutoff the cutoff its
 * eval command gave ("-" for none): a test sees where each candidate ran,
 * that none ran twice, and which were judged adaptively.
 *
 * When $KBREED_FAKE_WORKER_STARTS (or $FAKE_WORKER_STARTS) names a file, one
 * line is appended to it per process started, so that a test can count
 * worker restarts. kbreed passes only KBREED_* (and a few other) variables to
 * its children (src/proc.c), so tests that go through the evaluator must use
 * the KBREED_ name.
 */
#define _GNU_SOURCE
#include "../../include/kbreed_worker_protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct job {
	int sets, timed_sets, warmup, reps, flush_mb;
	char *in0[KBW_MAX_SETS];  /* per set: the path of its input 0 */
	int n_out;
	int out_dtype[KBW_MAX_TENSORS];
	size_t out_bytes[KBW_MAX_TENSORS];
	char *refdir;
	int input0_fd;  /* the descriptor of input set 0, input 0; -1 when a path */
};

/* Sends one reply through the protocol's encoder. */
static void reply(const struct kbw_reply *r)
{
	char line[KBW_MAX_LINE];
	if (kbw_format_reply(line, sizeof line, r) < 0)
		snprintf(line, sizeof line, "error fake_worker: cannot encode a reply\n");
	fputs(line, stdout);
	fflush(stdout);
}

static void reply_text(enum kbw_reply_kind kind, enum kbw_fault fault, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_text(enum kbw_reply_kind kind, enum kbw_fault fault, const char *fmt, ...)
{
	char msg[KBW_MAX_LINE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	reply(&(struct kbw_reply){ .kind = kind, .fault = fault, .text = msg });
}

/* A fault and the end of the candidate. */
static void fault(enum kbw_fault f, const char *msg)
{
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_FAULT, .fault = f, .text = msg });
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = false });
}

static void end_ok(void)
{
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = true });
}

static void clocks(void)
{
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_CLOCKS, .sm_mhz = 1980, .mem_mhz = 2619 });
}

/* The protocol version this fake announces. */
static int protocol(void)
{
	const char *v = getenv("KBREED_FAKE_PROTOCOL");
	return v && *v ? atoi(v) : KBREED_WORKER_PROTOCOL;
}

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fake_worker: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(KBW_EXIT_JOB);
}

/* The path behind a job's source: "fd:N" is looked up in /proc/self/fd. */
static void source_path(const char *source, char *target, size_t cap)
{
	if (strncmp(source, "fd:", 3)) {
		snprintf(target, cap, "%s", source);
		return;
	}
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%s", source + 3);
	ssize_t n = readlink(link, target, cap - 1);
	if (n <= 0)
		die("descriptor %s is not open", source);
	target[n] = '\0';
}

/* Reads the job through the protocol's decoder, as the real worker does. */
static void load_job(struct job *j, const char *path)
{
	struct kbw_job kj;
	char why[1024];
	int rc = kbw_job_load(path, &kj, why, sizeof why);
	if (rc) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "%s", why);
		fprintf(stderr, "fake_worker: %s\n", why);
		exit(rc);
	}
	j->sets = kj.sets;
	j->timed_sets = kj.timed_sets;
	j->warmup = kj.warmup;
	j->reps = kj.reps;
	j->flush_mb = kj.flush_mb;
	j->n_out = kj.n_outputs;
	for (int i = 0; i < kj.n_tensors; i++) {
		const struct kbw_tensor *t = &kj.tensor[i];
		if (t->kind == KBW_OUTPUT) {
			j->out_dtype[t->index] = t->dtype;
			j->out_bytes[t->index] = kbw_tensor_bytes(t);
			continue;
		}
		bool first_input = t->kind == KBW_INPUT && t->set == 0 && t->index == 0;
		if (first_input && !strncmp(t->source, "fd:", 3))
			j->input0_fd = atoi(t->source + 3);
		if (t->kind == KBW_INPUT && t->index == 0) {
			char target[4096];
			source_path(t->source, target, sizeof target);
			j->in0[t->set] = strdup(target);
		}
		if (!j->refdir || first_input) {
			char target[4096];
			source_path(t->source, target, sizeof target);
			free(j->refdir);
			j->refdir = strdup(dirname(target));
		}
	}
	kbw_job_release(&kj);
	if (!j->refdir)
		die("job %s names no input", path);
}

static void *read_all(const char *path, size_t bytes)
{
	char *data = malloc(bytes ? bytes : 1);
	FILE *f = fopen(path, "rb");
	if (!data || !f)
		die("cannot read %s: %s", path, strerror(errno));
	if (bytes && fread(data, 1, bytes, f) != bytes)
		die("%s is shorter than %zu bytes", path, bytes);
	fclose(f);
	return data;
}

static void write_all(const char *path, const void *data, size_t bytes)
{
	FILE *f = fopen(path, "wb");
	if (!f || (bytes && fwrite(data, 1, bytes, f) != bytes) || fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
}

enum outputs { OUT_CORRECT, OUT_WRONG, OUT_NAN, OUT_LOWPREC, OUT_CLAMP };

/* The reference output o of the job's set s: beside its input 0. */
static void ref_output_path(const struct job *j, int s, int o, char *path, size_t cap)
{
	const char *in = j->in0[s];
	size_t stem = in && strlen(in) > 8 && !strcmp(in + strlen(in) - 8, ".in0.bin") ? strlen(in) - 8 : 0;
	if (!stem)
		die("input 0 of set %d is not a reference file set<N>.in0.bin: %s", s, in ? in : "(none)");
	snprintf(path, cap, "%.*s.out%d.bin", (int)stem, in, o);
}

/* Writes set<s>.out<j>.bin and timed<s>.out<j>.bin for every set and output. */
static void write_outputs(const struct job *j, const char *outdir, enum outputs how)
{
	char path[4096];
	for (int s = 0; s < j->sets; s++)
		for (int o = 0; o < j->n_out; o++) {
			size_t bytes = j->out_bytes[o];
			void *data;
			if (how == OUT_NAN) {
				data = malloc(bytes ? bytes : 1);
				if (!data)
					die("out of memory");
				memset(data, 0xff, bytes);
			} else {
				ref_output_path(j, s, o, path, sizeof path);
				data = read_all(path, bytes);
			}
			if (how == OUT_CLAMP && j->out_dtype[o] == 0)
				for (size_t i = 0; i + sizeof(float) <= bytes; i += sizeof(float)) {
					float v;
					memcpy(&v, (char *)data + i, sizeof v);
					v = v > 10.0f ? 10.0f : v < -10.0f ? -10.0f : v;
					memcpy((char *)data + i, &v, sizeof v);
				}
			if (how != OUT_LOWPREC) {
				snprintf(path, sizeof path, "%s/timed%d.out%d.bin", outdir, s, o);
				write_all(path, data, bytes);
			}
			if (how == OUT_WRONG && s == 2 && o == 0 && j->out_dtype[o] == 0 &&
			    bytes >= 8 * sizeof(float)) {
				float v;
				memcpy(&v, (char *)data + 7 * sizeof v, sizeof v);
				v += 1.0f;
				memcpy((char *)data + 7 * sizeof v, &v, sizeof v);
			}
			if (how == OUT_LOWPREC && j->out_dtype[o] == 0)
				for (size_t i = 0; i + sizeof(float) <= bytes; i += sizeof(float)) {
					float v;
					memcpy(&v, (char *)data + i, sizeof v);
					v *= 1.00015f;
					memcpy((char *)data + i, &v, sizeof v);
				}
			snprintf(path, sizeof path, "%s/set%d.out%d.bin", outdir, s, o);
			write_all(path, data, bytes);
			if (how == OUT_LOWPREC) {
				snprintf(path, sizeof path, "%s/timed%d.out%d.bin", outdir, s, o);
				write_all(path, data, bytes);
			}
			free(data);
		}
}

static void times(int n, double event_ms, double host_ms)
{
	for (int r = 0; r < n; r++)
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_TIME, .event_ms = event_ms, .host_ms = host_ms });
}

/* The timed calls under e's cutoff: every call takes event_ms, so the
 * fastest of the first calls is slower than the cutoff when event_ms is. */
static void times_within(const struct job *j, const struct kbw_eval *e, double event_ms, double host_ms)
{
	bool early = e->cutoff_ms > 0 && e->cutoff_calls < j->reps && event_ms > e->cutoff_ms;
	int n = early ? e->cutoff_calls : j->reps;
	times(n, event_ms, host_ms);
	if (early)
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_EARLY, .calls = n });
}

/* "first" replies: set 0 takes first0_ms, the others first_ms. */
static void firsts(const struct job *j, double first0_ms, double first_ms)
{
	for (int s = 0; s < j->sets; s++)
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_FIRST, .set = s, .event_ms = s ? first_ms : first0_ms,
					   .host_ms = (s ? first_ms : first0_ms) + 0.05 });
}

/* Who this process is, and what it can read. */
static void whoami(const struct job *j)
{
	char input[128] = "ok", ref[128] = "ok", path[4096];
	char byte;
	if (j->input0_fd < 0)
		snprintf(input, sizeof input, "given-by-path");
	else if (pread(j->input0_fd, &byte, 1, 0) != 1)
		snprintf(input, sizeof input, "%s", strerror(errno));
	snprintf(path, sizeof path, "%s/set0.out0.bin", j->refdir);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		snprintf(ref, sizeof ref, "%s", strerror(errno));
	else
		close(fd);
	char msg[512];
	snprintf(msg, sizeof msg, "uid %d gid %d input %s reference %s", (int)getuid(), (int)getgid(), input, ref);
	fault(KBW_FAULT_REJECTED, msg);
}

/* One line per candidate to $KBREED_FAKE_EVAL_LOG: where it ran. */
static void note_eval(const char *base, double cutoff_ms)
{
	const char *path = getenv("KBREED_FAKE_EVAL_LOG"), *dev = getenv("CUDA_VISIBLE_DEVICES");
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	char line[KBW_MAX_PATH + 64];
	char cut[64] = "-";
	if (cutoff_ms > 0)
		snprintf(cut, sizeof cut, "%g", cutoff_ms);
	int n = snprintf(line, sizeof line, "%s %s %s\n", dev && *dev ? dev : "-", base, cut);
	if (n > 0 && write(fd, line, (size_t)n) != n)
		die("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* With $KBREED_FAKE_GPUS: the model of the first visible GPU into name and
 * how many are visible; 0 when none is. */
static int fake_gpus(char *name, size_t cap)
{
	const char *list = getenv("KBREED_FAKE_GPUS"), *vis = getenv("CUDA_VISIBLE_DEVICES");
	char models[16][64];
	int n = 0, visible = 0;
	for (const char *p = list; p && *p && n < 16;) {
		size_t len = strcspn(p, ",");
		snprintf(models[n++], sizeof models[0], "%.*s", (int)(len < 63 ? len : 63), p);
		p += len + (p[len] == ',');
	}
	if (!vis) {
		if (n)
			snprintf(name, cap, "%s", models[0]);
		return n;
	}
	for (const char *p = vis; *p;) {
		char *end;
		long k = strtol(p, &end, 10);
		if (end == p || k < 0 || k >= n)
			break;  /* CUDA stops at the first entry it cannot use */
		if (!visible++)
			snprintf(name, cap, "%s", models[k]);
		p = *end == ',' ? end + 1 : end;
		if (*end != ',')
			break;
	}
	return visible;
}

static void run_candidate(const struct job *j, const struct kbw_eval *e)
{
	const char *so = e->so, *outdir = e->outdir;
	const char *base = strrchr(so, '/');
	base = base ? base + 1 : so;
	note_eval(base, e->cutoff_ms);
	if (strstr(base, "crash")) {
		fprintf(stderr, "fake_worker: crashing on purpose\n");
		fflush(stderr);
		/* Die of the signal itself, as a crashing kernel does, even where
		 * a handler was installed for it (AddressSanitizer installs one). */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		abort();
	} else if (strstr(base, "exit")) {
		fprintf(stderr, "fake_worker: exiting with 7 on purpose\n");
		exit(7);
	} else if (strstr(base, "hang")) {
		for (;;)
			pause();
	} else if (strstr(base, "loadfail")) {
		fault(KBW_FAULT_LOAD, "cannot load the candidate: boom");
	} else if (strstr(base, "cudafail")) {
		fault(KBW_FAULT_RUNTIME, "input set 0: an illegal memory access");
		exit(3);
	} else if (strstr(base, "mutate")) {
		fault(KBW_FAULT_REJECTED, "input set 0: the candidate modified input 0");
	} else if (strstr(base, "whoami")) {
		whoami(j);
	} else if (strstr(base, "earlylie")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 1.0, 1.0);
		times(3, 1.0, 1.05);
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_EARLY, .calls = 3 });
		clocks();
		end_ok();
	} else if (strstr(base, "cached")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 5.0, 5.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		end_ok();
	} else if (strstr(base, "lazyfirst")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 80.0, 1.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		end_ok();
	} else if (strstr(base, "tinyfirst")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 0.04, 0.04);
		times(j->reps, 0.005, 0.02);
		clocks();
		end_ok();
	} else if (strstr(base, "leftthread")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 1.0, 1.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_THREADS, .threads = 1 });
		end_ok();
	} else if (strstr(base, "nan")) {
		write_outputs(j, outdir, OUT_NAN);
		firsts(j, 1.0, 1.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		end_ok();
	} else if (strstr(base, "slowhost")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 0.1, 0.1);
		times(j->reps, 0.1, 5.0);
		clocks();
		end_ok();
	} else if (strstr(base, "fewtimes")) {
		write_outputs(j, outdir, OUT_CORRECT);
		times(j->reps < 3 ? j->reps : 3, 1.0, 1.05);
		end_ok();
	} else if (strstr(base, "lowprec")) {
		write_outputs(j, outdir, OUT_LOWPREC);
		firsts(j, 1.0, 1.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		end_ok();
	} else if (strstr(base, "clamp")) {
		write_outputs(j, outdir, OUT_CLAMP);
		firsts(j, 1.0, 1.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		end_ok();
	} else if (strstr(base, "wrong")) {
		write_outputs(j, outdir, OUT_WRONG);
		firsts(j, 1.0, 1.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		end_ok();
	} else if (strstr(base, "correct")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 3.0, 1.0);
		times_within(j, e, 1.0, 1.05);
		clocks();
		end_ok();
	} else if (getenv("KBREED_FAKE_SEARCH")) {
		const char *delay = getenv("KBREED_FAKE_DELAY_MS");
		if (delay && atoi(delay) > 0)
			usleep((useconds_t)atoi(delay) * 1000);
		unsigned long h = 5381;
		for (const char *c = base; *c; c++)
			h = h * 33 + (unsigned char)*c;
		double t = 0.5 + (double)(h % 1000) / 1000.0;
		const char *scale = getenv("KBREED_FAKE_TIME_SCALE");
		if (scale && atof(scale) > 0)
			t *= atof(scale);
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 2.0 * t, t);
		times_within(j, e, t, t + 0.05);
		clocks();
		end_ok();
	} else {
		char msg[KBW_MAX_PATH + 64];
		snprintf(msg, sizeof msg, "fake_worker: no behaviour for %s", base);
		fault(KBW_FAULT_LOAD, msg);
	}
}

static void note_start(void)
{
	const char *path = getenv("KBREED_FAKE_WORKER_STARTS");
	if (!path || !*path)
		path = getenv("FAKE_WORKER_STARTS");
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* Run as another user (tests of isolation): not counted. */
		fprintf(stderr, "fake_worker: cannot open %s: %s\n", path, strerror(errno));
		return;
	}
	char line[64];
	int n = snprintf(line, sizeof line, "start %ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n)
		die("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

int main(int argc, char **argv)
{
	char model[64] = "Fake GPU";
	int devices = getenv("KBREED_FAKE_GPUS") ? fake_gpus(model, sizeof model) : getenv("KBREED_FAKE_GPU") ? 1 : 0;
	if (argc == 2 && !strcmp(argv[1], "--info")) {
		if (devices) {
			struct kbw_info info = {
				.version = protocol(), .cc_major = 9, .cc_minor = 0,
				.sm_count = 132, .l2_bytes = 52428800, .mem_bytes = 85899345920LL,
				.smem_per_block_optin = 232448, .driver = 13000, .runtime = 13000,
				.sm_clock_mhz = 1980, .mem_clock_mhz = 2619, .devices = devices,
			};
			snprintf(info.name, sizeof info.name, "%s", model);
			char text[2048];
			if (kbw_format_info(text, sizeof text, &info) < 0)
				die("cannot encode --info");
			fputs(text, stdout);
			return 0;
		}
		printf("error the fake worker has no GPU\n");
		return KBW_EXIT_NO_GPU;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: fake_worker JOBFILE\n");
		return KBW_EXIT_JOB;
	}
	static struct job j;
	j.input0_fd = -1;
	if (getenv("KBREED_FAKE_GPUS") && !devices) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "no CUDA device is visible (CUDA_VISIBLE_DEVICES=%s)",
			   getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "");
		return KBW_EXIT_NO_GPU;
	}
	if (getenv("KBREED_FAKE_NEEDS_ROOT") && getuid() != 0) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "no CUDA device is visible to uid %d", (int)getuid());
		return KBW_EXIT_NO_GPU;
	}
	load_job(&j, argv[1]);
	note_start();
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = protocol(), .bytes = 0,
				   .cutoff = !getenv("KBREED_FAKE_NO_CUTOFF") });

	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		struct kbw_eval e;
		enum kbw_command c = kbw_parse_eval(line, &e);
		if (c == KBW_CMD_QUIT)
			break;
		if (c == KBW_CMD_EVAL)
			run_candidate(&j, &e);
		else
			reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "unknown command");
	}
	free(line);
	free(j.refdir);
	return 0;
}
