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
 *   noisyfirst correct; first-sight calls on odd sets take 6 ms (a busy
 *              host), on even sets 1 ms as the timed calls
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
 * tiny scale puts it below any memory floor). A shared object that fake_nvcc.sh
 * marked "kbreed-fake-slow" ($KBREED_FAKE_SLOW_TEXT) takes 1 ms more
 * ($KBREED_FAKE_SLOW_MS more when set: a naive kernel hundreds of times
 * slower than PyTorch). With $KBREED_FAKE_GPU set, --info describes a
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
 * Checking on the GPU (docs/EVALUATION.md), with files for memory: the fake
 * announces "ipc" on its ready line (unless $KBREED_FAKE_NO_IPC is set); on
 * "export" it replies one "handle" per input, parameter and output, whose hex
 * digits spell the path of a file in <the job's directory>/fake-ipc-<pid>/
 * that stands for the buffer. Given "eval ...TABgpu", a behaviour that ends
 * "end ok" then, for each checked call (each set's first sight, then each
 * set's check call), puts that call's outputs and inputs into those files,
 * replies "check <set> <pass>" and waits for "go" ("stop <why>": "fault
 * rejected <why>", "end fault"); it deletes the output files it wrote to
 * <outdir>, so that a kbreed that compared them would find none. mutategpu
 * is correct but changes input 0 of the check call of set 1 (only a
 * comparer sees it).
 *
 * `fake_worker JOB --compare` is the fake comparer: it reads the comparer's
 * job (references, golden inputs, tolerances), replies "ready ... compare",
 * takes "handle" and "attach" lines (attach fails when a handle's file does
 * not exist), and on "compare <set> <pass>" compares the files the handles
 * name with the golden inputs and the references, by src/compare.c's own
 * compare_buffers, answering "stats" lines as the real comparer does.
 * $KBREED_FAKE_CMP_FAIL=attach makes attach fail, =compare makes the comparer
 * exit at its first compare (a comparer that broke).
 *
 * When $KBREED_FAKE_WORKER_STARTS (or $FAKE_WORKER_STARTS) names a file, one
 * line is appended to it per process started, so that a test can count
 * worker restarts. kbreed passes only KBREED_* (and a few other) variables to
 * its children (src/proc.c), so tests that go through the evaluator must use
 * the KBREED_ name.
 */
#define _GNU_SOURCE
#include "../../include/kbreed_worker_protocol.h"
#include "compare.h"

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
	char *in_path[KBW_MAX_SETS][KBW_MAX_TENSORS];  /* every input's file */
	size_t in_bytes[KBW_MAX_TENSORS];
	int n_in;
	char *param_path[KBW_MAX_TENSORS];
	size_t param_bytes[KBW_MAX_TENSORS];
	int n_param;
	char *job_dir;  /* where the job file is: the fake's "device memory" goes below */
};

/* Checking on the GPU: the eval being run, when it asked for it. */
static struct {
	const struct job *j;
	const char *outdir;
	bool gpu;             /* "eval ...TABgpu" */
	bool mutate;          /* mutategpu */
	char dir[4096];       /* exported: the buffers' files; "" before export */
} ipc;

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

static void write_all(const char *path, const void *data, size_t bytes);
static void *read_all(const char *path, size_t bytes);
static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void copy_to(const char *from, const char *to, size_t bytes, bool flip)
{
	char *data = read_all(from, bytes);
	if (flip && bytes)
		data[0] ^= 1;
	write_all(to, data, bytes);
	free(data);
}

/* Checking on the GPU: every checked call, paced by kbreed's go. Returns
 * false after "fault" and "end fault" (kbreed said stop). */
static bool gpu_checks(void)
{
	const struct job *j = ipc.j;
	char from[4096 + 64], to[4096 + 64];
	for (int pass = 0; pass < 2; pass++)
		for (int s = 0; s < j->sets; s++) {
			for (int o = 0; o < j->n_out; o++) {
				snprintf(from, sizeof from, "%s/%s%d.out%d.bin", ipc.outdir, pass ? "timed" : "set", s, o);
				snprintf(to, sizeof to, "%s/output%d", ipc.dir, o);
				copy_to(from, to, j->out_bytes[o], false);
			}
			for (int i = 0; i < j->n_in; i++) {
				snprintf(to, sizeof to, "%s/input%d", ipc.dir, i);
				copy_to(j->in_path[s][i], to, j->in_bytes[i], ipc.mutate && pass == 1 && s == 1 && i == 0);
			}
			for (int i = 0; i < j->n_param; i++) {
				snprintf(to, sizeof to, "%s/param%d", ipc.dir, i);
				copy_to(j->param_path[i], to, j->param_bytes[i], false);
			}
			reply(&(struct kbw_reply){ .kind = KBW_REPLY_CHECK, .set = s, .pass = pass });
			char *line = NULL;
			size_t cap = 0;
			ssize_t len = getline(&line, &cap, stdin);
			if (len > 0 && line[len - 1] == '\n')
				line[--len] = '\0';
			struct kbw_cmd c;
			enum kbw_command k = len > 0 ? kbw_parse_cmd(line, &c) : KBW_CMD_BAD;
			if (k != KBW_CMD_GO) {
				reply_text(KBW_REPLY_FAULT, KBW_FAULT_REJECTED, "%s",
					   k == KBW_CMD_STOP ? c.text : "fake_worker: no go");
				reply(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = false });
				free(line);
				return false;
			}
			free(line);
		}
	/* No output files: what kbreed knows it learnt from the comparer. */
	for (int pass = 0; pass < 2; pass++)
		for (int s = 0; s < j->sets; s++)
			for (int o = 0; o < j->n_out; o++) {
				snprintf(from, sizeof from, "%s/%s%d.out%d.bin", ipc.outdir, pass ? "timed" : "set", s, o);
				unlink(from);
			}
	return true;
}

static void end_ok(void)
{
	if (ipc.gpu && !gpu_checks())
		return;
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = true });
}

/* "export": a file per buffer, its path in hex as the handle. */
static void export_handles(const struct job *j)
{
	snprintf(ipc.dir, sizeof ipc.dir, "%s/fake-ipc-%ld", j->job_dir, (long)getpid());
	if (mkdir(ipc.dir, 0700) && errno != EEXIST) {
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_RUNTIME, "cannot create %s: %s", ipc.dir, strerror(errno));
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = false });
		ipc.dir[0] = '\0';
		return;
	}
	static const char *const names[] = { "input", "param", "output" };
	int counts[] = { j->n_in, j->n_param, j->n_out };
	for (int l = 0; l < 3; l++)
		for (int i = 0; i < counts[l]; i++) {
			char path[4096 + 64];
			struct kbw_reply r = { .kind = KBW_REPLY_HANDLE, .handle = { .kind = (enum kbw_kind)l, .index = i } };
			snprintf(path, sizeof path, "%s/%s%d", ipc.dir, names[l], i);
			if (strlen(path) * 2 > KBW_HANDLE_HEX)
				die("%s is too long for a handle", path);
			for (size_t k = 0; path[k]; k++)
				snprintf(r.handle.hex + 2 * k, 3, "%02x", (unsigned char)path[k]);
			reply(&r);
		}
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
	j->n_in = kj.n_inputs;
	j->n_param = kj.n_params;
	char *copy = strdup(path);
	j->job_dir = strdup(dirname(copy));
	free(copy);
	if (kj.n_refs)
		die("%s names reference outputs: only a comparer takes those", path);
	for (int i = 0; i < kj.n_tensors; i++) {
		const struct kbw_tensor *t = &kj.tensor[i];
		if (t->kind != KBW_OUTPUT) {
			char target[4096];
			source_path(t->source, target, sizeof target);
			if (t->kind == KBW_INPUT) {
				j->in_path[t->set][t->index] = strdup(target);
				j->in_bytes[t->index] = kbw_tensor_bytes(t);
			} else {
				j->param_path[t->index] = strdup(target);
				j->param_bytes[t->index] = kbw_tensor_bytes(t);
			}
		}
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

/* Whether fake_nvcc.sh appended its "kbreed-fake-slow" line to so. */
static bool marked_slow(const char *so)
{
	static const char mark[] = "kbreed-fake-slow\n";
	FILE *f = fopen(so, "rb");
	if (!f)
		return false;
	char tail[sizeof mark - 1];
	bool slow = fseek(f, -(long)sizeof tail, SEEK_END) == 0 && fread(tail, 1, sizeof tail, f) == sizeof tail &&
		    memcmp(tail, mark, sizeof tail) == 0;
	fclose(f);
	return slow;
}

static void run_candidate(const struct job *j, const struct kbw_eval *e)
{
	const char *so = e->so, *outdir = e->outdir;
	const char *base = strrchr(so, '/');
	base = base ? base + 1 : so;
	note_eval(base, e->cutoff_ms);
	ipc.j = j;
	ipc.outdir = outdir;
	ipc.gpu = e->gpu && ipc.dir[0];
	ipc.mutate = strstr(base, "mutategpu") != NULL;
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
	} else if (strstr(base, "mutategpu")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 1.0, 1.0);
		times(j->reps, 1.0, 1.05);
		clocks();
		end_ok();
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
	} else if (strstr(base, "noisyfirst")) {
		write_outputs(j, outdir, OUT_CORRECT);
		for (int s = 0; s < j->sets; s++)
			reply(&(struct kbw_reply){ .kind = KBW_REPLY_FIRST, .set = s, .event_ms = s % 2 ? 6.0 : 1.0,
						   .host_ms = (s % 2 ? 6.0 : 1.0) + 0.05 });
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
		const char *slow_ms = getenv("KBREED_FAKE_SLOW_MS");
		if (marked_slow(so))
			t += slow_ms && atof(slow_ms) > 0 ? atof(slow_ms) : 1.0;
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

/* ---- The fake comparer ---------------------------------------------- */

static struct {
	struct kbw_job job;
	const char *ref[KBW_MAX_SETS][KBW_MAX_TENSORS];  /* reference sources ("fd:N") */
	const char *in[KBW_MAX_SETS][KBW_MAX_TENSORS];   /* golden inputs */
	const char *param[KBW_MAX_TENSORS];
	const struct kbw_tensor *out[KBW_MAX_TENSORS];
	size_t in_bytes[KBW_MAX_TENSORS], param_bytes[KBW_MAX_TENSORS];
	char *given[3][KBW_MAX_TENSORS];             /* handle paths, by kind */
	char *attached[3][KBW_MAX_TENSORS];
} fc;

/* A job's source: "fd:N" read through the descriptor from offset 0 (the
 * comparer, kbreed's own, does not see the reference directory by path),
 * else the file. */
static void *read_source(const char *source, size_t bytes)
{
	if (strncmp(source, "fd:", 3))
		return read_all(source, bytes);
	char *data = malloc(bytes ? bytes : 1);
	int fd = atoi(source + 3);
	if (!data || (bytes && pread(fd, data, bytes, 0) != (ssize_t)bytes))
		die("cannot read %s: %s", source, strerror(errno));
	return data;
}

/* Whether the file a handle names holds the golden contents. */
static bool same_file(const char *a, const char *golden, size_t bytes)
{
	char *x = read_all(a, bytes), *y = read_source(golden, bytes);
	bool same = !memcmp(x, y, bytes);
	free(x);
	free(y);
	return same;
}

static void fake_attach(void)
{
	const struct kbw_job *j = &fc.job;
	int counts[] = { j->n_inputs, j->n_params, j->n_outputs };
	const char *fail = getenv("KBREED_FAKE_CMP_FAIL");
	bool ok = !(fail && !strcmp(fail, "attach"));
	for (int l = 0; l < 3; l++)
		for (int i = 0; i < counts[l]; i++) {
			free(fc.attached[l][i]);
			fc.attached[l][i] = fc.given[l][i];
			fc.given[l][i] = NULL;
			ok = ok && fc.attached[l][i];
		}
	if (!ok) {
		fault(KBW_FAULT_RUNTIME, "cannot open the worker's buffers");
		return;
	}
	end_ok();
}

static void fake_compare(int set, int pass)
{
	const struct kbw_job *j = &fc.job;
	const char *fail = getenv("KBREED_FAKE_CMP_FAIL");
	if (fail && !strcmp(fail, "compare"))
		exit(3);
	if (set >= j->sets || !fc.attached[2][0]) {
		fault(KBW_FAULT_RUNTIME, "no such set, or not attached");
		return;
	}
	char what[64];
	snprintf(what, sizeof what, pass ? "the check call on input set %d" : "input set %d", set);
	for (int i = 0; i < j->n_inputs; i++)
		if (!same_file(fc.attached[0][i], fc.in[set][i], fc.in_bytes[i])) {
			snprintf(what + strlen(what), sizeof what - strlen(what), ": the candidate modified input %d", i);
			fault(KBW_FAULT_REJECTED, what);
			return;
		}
	for (int i = 0; i < j->n_params; i++)
		if (!same_file(fc.attached[1][i], fc.param[i], fc.param_bytes[i])) {
			snprintf(what + strlen(what), sizeof what - strlen(what), ": the candidate modified parameter %d", i);
			fault(KBW_FAULT_REJECTED, what);
			return;
		}
	for (int o = 0; o < j->n_outputs; o++) {
		const struct kbw_tensor *t = fc.out[o];
		size_t bytes = kbw_tensor_bytes(t);
		int64_t n = bytes / (kbw_tensor_bytes(&(struct kbw_tensor){ .dtype = t->dtype }));
		void *ref = read_source(fc.ref[set][o], bytes), *got = read_all(fc.attached[2][o], bytes);
		double scale = compare_scale(ref, t->dtype, n);
		struct compare_stats cs;
		compare_buffers(ref, got, t->dtype, n, scale, 1, &cs);
		struct kbw_reply r = { .kind = KBW_REPLY_STATS };
		struct kbw_stats *k = &r.stats;
		k->output = o;
		k->scale = scale;
		k->n = cs.n;
		k->n_nonfinite = cs.n_nonfinite;
		k->max_abs = cs.max_abs;
		k->max_rel = cs.max_rel;
		k->err_sq = cs.err_sq;
		k->ref_sq = cs.ref_sq;
		for (int q = 0; q < KBW_PROFILES; q++) {
			k->n_bad[q] = cs.n_bad[q];
			k->first_bad[q] = cs.first_bad[q];
			k->first_got[q] = cs.first_got[q];
			k->first_want[q] = cs.first_want[q];
		}
		reply(&r);
		free(ref);
		free(got);
	}
	end_ok();
}

/* Hex digits back to the path they spell. */
static char *unhex(const char *hex)
{
	size_t n = strlen(hex) / 2;
	char *p = calloc(n + 1, 1);
	for (size_t i = 0; p && i < n; i++) {
		unsigned v = 0;
		sscanf(hex + 2 * i, "%2x", &v);
		p[i] = (char)v;
	}
	return p;
}

static int comparer_main(const char *path)
{
	char why[1024];
	struct kbw_job *j = &fc.job;
	int rc = kbw_job_load(path, j, why, sizeof why);
	if (!rc && (j->n_refs != j->sets * j->n_outputs || j->n_tols != j->n_outputs)) {
		snprintf(why, sizeof why, "%s: a comparer's job names every reference and tolerance", path);
		rc = KBW_EXIT_JOB;
	}
	if (rc) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "%s", why);
		return rc;
	}
	for (int i = 0; i < j->n_tensors; i++) {
		const struct kbw_tensor *t = &j->tensor[i];
		if (t->kind == KBW_OUTPUT) {
			fc.out[t->index] = t;
			continue;
		}
		if (t->kind == KBW_REFERENCE) {
			fc.ref[t->set][t->index] = t->source;
		} else if (t->kind == KBW_INPUT) {
			fc.in[t->set][t->index] = t->source;
			fc.in_bytes[t->index] = kbw_tensor_bytes(t);
		} else {
			fc.param[t->index] = t->source;
			fc.param_bytes[t->index] = kbw_tensor_bytes(t);
		}
	}
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = protocol(), .bytes = 0, .compare = true });
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		struct kbw_cmd c;
		switch (kbw_parse_cmd(line, &c)) {
		case KBW_CMD_HANDLE:
			free(fc.given[c.handle.kind][c.handle.index]);
			fc.given[c.handle.kind][c.handle.index] = unhex(c.handle.hex);
			break;
		case KBW_CMD_ATTACH:
			fake_attach();
			break;
		case KBW_CMD_COMPARE:
			fake_compare(c.set, c.pass);
			break;
		case KBW_CMD_QUIT:
			free(line);
			return 0;
		default:
			reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "unknown command");
		}
	}
	free(line);
	return 0;
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
	if (argc == 3 && argv[1][0] != '-' && !strcmp(argv[2], "--compare"))
		return comparer_main(argv[1]);
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: fake_worker JOBFILE [--compare]\n");
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
				   .cutoff = !getenv("KBREED_FAKE_NO_CUTOFF"), .ipc = !getenv("KBREED_FAKE_NO_IPC") });

	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		struct kbw_cmd c;
		kbw_parse_cmd(line, &c);
		if (c.cmd == KBW_CMD_QUIT)
			break;
		if (c.cmd == KBW_CMD_EVAL)
			run_candidate(&j, &c.eval);
		else if (c.cmd == KBW_CMD_EXPORT && !getenv("KBREED_FAKE_NO_IPC"))
			export_handles(&j);
		else
			reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "unknown command");
	}
	free(line);
	free(j.refdir);
	return 0;
}
