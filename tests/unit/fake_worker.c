/*
 * fake_worker.c - a stand-in for build/kbreed-worker on machines without a
 * GPU, for tests of the evaluator (tests/unit/test_evaluate.c). It speaks
 * the worker protocol of worker/worker.c exactly, but never loads anything:
 * what it does with "eval <so>\t<outdir>" is chosen by the basename of <so>:
 *
 *   correct    copies the reference outputs as set<s>/timed<s> outputs; reps
 *              "time 1.000000 1.050000", "clocks 1980 2619", "end ok"
 *   wrong      like correct, but float element 7 of output 0 of set 2 is off by 1
 *   nan        every output all 0xff bytes (the NaN poison left in place)
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
 *   whoami     fault rejected "uid U gid G input ok|<error> reference
 *              ok|<error>": who the worker runs as, whether it can read input
 *              set 0 through the descriptor it was given, and whether it can
 *              open set0.out0.bin, a reference output, by its path
 *
 * Every behaviour that ends "end ok" also replies "first <set> ..." for each
 * input set, as the real worker does.
 *
 * The reference outputs are found beside the reference inputs named in the
 * job: <dir of set0.in0.bin>/set<s>.out<j>.bin. The job names inputs as
 * paths or as inherited descriptors ("fd:N"), whose paths the fake reads
 * from /proc/self/fd.
 *
 * With $KBREED_FAKE_NEEDS_ROOT set, a fake that does not run as root
 * replies "error ..." instead of "ready" and exits 2, as a worker that cannot
 * reach the GPU as the unprivileged user would.
 *
 * With $KBREED_FAKE_SEARCH set, any other name is a correct candidate whose
 * time (0.5 to 1.5 ms) comes from a hash of the name: a stand-in GPU for
 * tests of the search loop; $KBREED_FAKE_DELAY_MS makes each such candidate
 * take that long. With $KBREED_FAKE_GPU set, --info describes a
 * made-up compute capability 9.0 device instead of reporting none.
 *
 * When $KBREED_FAKE_WORKER_STARTS (or $FAKE_WORKER_STARTS) names a file, one
 * line is appended to it per process started, so that a test can count
 * worker restarts. kbreed passes only KBREED_* (and a few other) variables to
 * its children (src/proc.c), so tests that go through the evaluator must use
 * the KBREED_ name.
 */
#define _GNU_SOURCE
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

#define MAX_TENSORS 64
#define MAX_DIMS 8

struct job {
	int sets, warmup, reps, flush_mb;
	int n_out;
	int out_dtype[MAX_TENSORS];
	size_t out_bytes[MAX_TENSORS];
	char *refdir;
	int input0_fd;  /* the descriptor of input set 0, input 0; -1 when a path */
};

static void reply(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fake_worker: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(4);
}

static void parse_tensor(struct job *j, char *line)
{
	static const size_t sizes[] = { 4, 2, 2, 8, 4, 8, 1 };
	char kind[16];
	int set, idx, dtype, ndim, used = 0;
	if (sscanf(line, "tensor %15s %d %d %d %d%n", kind, &set, &idx, &dtype, &ndim, &used) != 5 ||
	    idx < 0 || idx >= MAX_TENSORS || ndim < 0 || ndim > MAX_DIMS || dtype < 0 || dtype > 6)
		die("bad tensor line: %s", line);
	char *p = line + used;
	size_t elems = 1;
	for (int d = 0; d < ndim; d++) {
		long long v;
		int n = 0;
		if (sscanf(p, " %lld%n", &v, &n) != 1 || v < 0)
			die("bad shape: %s", line);
		elems *= (size_t)v;
		p += n;
	}
	while (*p == ' ')
		p++;
	char target[4096];
	if (!strncmp(p, "fd:", 3)) {
		char link[64];
		snprintf(link, sizeof link, "/proc/self/fd/%s", p + 3);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			die("descriptor %s is not open", p);
		target[n] = '\0';
		if (!strcmp(kind, "input") && set == 0 && idx == 0)
			j->input0_fd = atoi(p + 3);
		p = target;
	}
	if (!strcmp(kind, "output")) {
		j->out_dtype[idx] = dtype;
		j->out_bytes[idx] = elems * sizes[dtype];
		if (idx + 1 > j->n_out)
			j->n_out = idx + 1;
	} else if (!strcmp(kind, "input") || !strcmp(kind, "param")) {
		if (!strcmp(p, "-"))
			die("%s without a file: %s", kind, line);
		if (!j->refdir || (!strcmp(kind, "input") && set == 0 && idx == 0)) {
			char *copy = strdup(p);
			free(j->refdir);
			j->refdir = strdup(dirname(copy));
			free(copy);
		}
	} else {
		die("unknown tensor kind: %s", line);
	}
}

static void load_job(struct job *j, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open job %s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool header = false;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n)
			continue;
		if (!header) {
			if (strcmp(line, "kbreed-job 1"))
				die("%s is not a version 1 job file", path);
			header = true;
		} else if (!strncmp(line, "tensor ", 7)) {
			parse_tensor(j, line);
		} else if (sscanf(line, "sets %d", &j->sets) == 1 ||
			   sscanf(line, "warmup %d", &j->warmup) == 1 ||
			   sscanf(line, "reps %d", &j->reps) == 1 ||
			   sscanf(line, "flush_mb %d", &j->flush_mb) == 1) {
			continue;
		} else {
			die("unknown job line: %s", line);
		}
	}
	free(line);
	fclose(f);
	if (j->sets < 1 || j->reps < 1 || j->n_out < 1 || !j->refdir)
		die("job %s is incomplete", path);
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

enum outputs { OUT_CORRECT, OUT_WRONG, OUT_NAN };

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
				snprintf(path, sizeof path, "%s/set%d.out%d.bin", j->refdir, s, o);
				data = read_all(path, bytes);
			}
			snprintf(path, sizeof path, "%s/timed%d.out%d.bin", outdir, s, o);
			write_all(path, data, bytes);
			if (how == OUT_WRONG && s == 2 && o == 0 && j->out_dtype[o] == 0 &&
			    bytes >= 8 * sizeof(float)) {
				float v;
				memcpy(&v, (char *)data + 7 * sizeof v, sizeof v);
				v += 1.0f;
				memcpy((char *)data + 7 * sizeof v, &v, sizeof v);
			}
			snprintf(path, sizeof path, "%s/set%d.out%d.bin", outdir, s, o);
			write_all(path, data, bytes);
			free(data);
		}
}

static void times(int n, const char *event_ms, const char *host_ms)
{
	for (int r = 0; r < n; r++)
		reply("time %s %s", event_ms, host_ms);
}

/* "first" replies: set 0 takes first0_ms, the others first_ms. */
static void firsts(const struct job *j, double first0_ms, double first_ms)
{
	for (int s = 0; s < j->sets; s++)
		reply("first %d %.6f %.6f", s, s ? first_ms : first0_ms, (s ? first_ms : first0_ms) + 0.05);
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
	reply("fault rejected uid %d gid %d input %s reference %s", (int)getuid(), (int)getgid(), input, ref);
	reply("end fault");
}

static void run_candidate(const struct job *j, const char *so, const char *outdir)
{
	const char *base = strrchr(so, '/');
	base = base ? base + 1 : so;
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
		reply("fault load_error cannot load the candidate: boom");
		reply("end fault");
	} else if (strstr(base, "cudafail")) {
		reply("fault runtime_error input set 0: an illegal memory access");
		reply("end fault");
		exit(3);
	} else if (strstr(base, "mutate")) {
		reply("fault rejected input set 0: the candidate modified input 0");
		reply("end fault");
	} else if (strstr(base, "whoami")) {
		whoami(j);
	} else if (strstr(base, "cached")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 5.0, 5.0);
		times(j->reps, "1.000000", "1.050000");
		reply("clocks 1980 2619");
		reply("end ok");
	} else if (strstr(base, "lazyfirst")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 80.0, 1.0);
		times(j->reps, "1.000000", "1.050000");
		reply("clocks 1980 2619");
		reply("end ok");
	} else if (strstr(base, "tinyfirst")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 0.04, 0.04);
		times(j->reps, "0.005000", "0.020000");
		reply("clocks 1980 2619");
		reply("end ok");
	} else if (strstr(base, "leftthread")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 1.0, 1.0);
		times(j->reps, "1.000000", "1.050000");
		reply("clocks 1980 2619");
		reply("threads 1");
		reply("end ok");
	} else if (strstr(base, "nan")) {
		write_outputs(j, outdir, OUT_NAN);
		firsts(j, 1.0, 1.0);
		times(j->reps, "1.000000", "1.050000");
		reply("clocks 1980 2619");
		reply("end ok");
	} else if (strstr(base, "slowhost")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 0.1, 0.1);
		times(j->reps, "0.100000", "5.000000");
		reply("clocks 1980 2619");
		reply("end ok");
	} else if (strstr(base, "fewtimes")) {
		write_outputs(j, outdir, OUT_CORRECT);
		times(j->reps < 3 ? j->reps : 3, "1.000000", "1.050000");
		reply("end ok");
	} else if (strstr(base, "wrong")) {
		write_outputs(j, outdir, OUT_WRONG);
		firsts(j, 1.0, 1.0);
		times(j->reps, "1.000000", "1.050000");
		reply("clocks 1980 2619");
		reply("end ok");
	} else if (strstr(base, "correct")) {
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 3.0, 1.0);
		times(j->reps, "1.000000", "1.050000");
		reply("clocks 1980 2619");
		reply("end ok");
	} else if (getenv("KBREED_FAKE_SEARCH")) {
		const char *delay = getenv("KBREED_FAKE_DELAY_MS");
		if (delay && atoi(delay) > 0)
			usleep((useconds_t)atoi(delay) * 1000);
		unsigned long h = 5381;
		for (const char *c = base; *c; c++)
			h = h * 33 + (unsigned char)*c;
		char t[32], host[32];
		snprintf(t, sizeof t, "%.6f", 0.5 + (double)(h % 1000) / 1000.0);
		snprintf(host, sizeof host, "%.6f", 0.55 + (double)(h % 1000) / 1000.0);
		write_outputs(j, outdir, OUT_CORRECT);
		firsts(j, 2.0 * atof(t), atof(t));
		times(j->reps, t, host);
		reply("clocks 1980 2619");
		reply("end ok");
	} else {
		reply("fault load_error fake_worker: no behaviour for %s", base);
		reply("end fault");
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
	if (argc == 2 && !strcmp(argv[1], "--info")) {
		if (getenv("KBREED_FAKE_GPU")) {
			printf("name Fake GPU\ncc 9 0\nsm_count 132\nl2_bytes 52428800\n"
			       "mem_bytes 85899345920\ndriver 13000\nruntime 13000\nclocks 1980 2619\n");
			return 0;
		}
		printf("error the fake worker has no GPU\n");
		return 2;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: fake_worker JOBFILE\n");
		return 4;
	}
	static struct job j;
	j.input0_fd = -1;
	if (getenv("KBREED_FAKE_NEEDS_ROOT") && getuid() != 0) {
		reply("error no CUDA device is visible to uid %d", (int)getuid());
		return 2;
	}
	load_job(&j, argv[1]);
	note_start();
	reply("ready 0");

	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!strcmp(line, "quit"))
			break;
		if (!strncmp(line, "eval ", 5)) {
			char *so = line + 5;
			char *tab = strchr(so, '\t');
			if (!tab) {
				reply("fault load_error malformed eval command");
				reply("end fault");
				continue;
			}
			*tab = '\0';
			run_candidate(&j, so, tab + 1);
			continue;
		}
		reply("error unknown command");
	}
	free(line);
	free(j.refdir);
	return 0;
}
