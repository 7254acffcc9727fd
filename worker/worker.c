/*
 * worker.c - the GPU worker: the only part of kbreed that touches the GPU.
 *
 * Pipeline position: evaluate. kbreed (src/evaluate.c) starts one worker per
 * GPU and problem. The worker reads a job file naming the problem's tensors
 * and the reference *inputs* (never the reference outputs: those stay with
 * kbreed, so a candidate can neither read them nor find them in freed
 * memory), copies every input set to the GPU, then answers commands on stdin:
 *
 *   eval <candidate.so>TAB<outdir>  judge one candidate (see run_candidate)
 *   quit
 *
 * The job names each input file by path or, as kbreed writes it, as "fd:N":
 * a descriptor kbreed opened and the worker inherited, so that the worker
 * never needs to see the reference directory (which the sandbox hides, and
 * which is not readable by the unprivileged user the worker may run as).
 *
 * For each candidate it checks the ABI version before calling anything,
 * then makes every call through one input slot, each after NaN-poisoning
 * the outputs and an L2 flush outside the timed region, bracketed by events
 * on the candidate's stream plus a device-wide sync and a host clock:
 * warm-up calls and timed calls on contents never seen before (a set with
 * its rows rotated by a random offset), with each input set's first sight
 * (checked: inputs unchanged, outputs saved) at a random place among the
 * timed calls; then a check call per set on contents seen before. With a
 * cutoff (adaptive timing), a candidate whose first timed calls were all
 * slower than it makes no more timed calls; every checked call still is
 * made. Outputs
 * of the first-sight calls and of the check calls go to <outdir> as raw
 * files; kbreed compares them with the references.
 *
 * As soon as each call returns, before the worker waits for the device, it
 * lists its threads and its signal handlers: a thread the candidate started
 * that is still running (other than the CUDA driver's own), or a handler it
 * installed, could do work after the call that the timer does not see, so
 * either is a broken rule. A candidate that leaves any thread behind is not
 * unloaded (its code may still run), and kbreed replaces the worker.
 *
 * The process boundary is the error boundary: after any CUDA error the
 * context may be poisoned, so the worker reports and exits with code 3, and
 * kbreed starts a fresh one for the next candidate.
 *
 * The protocol (the job file, the commands, the reply lines, the exit codes
 * and their versioning) is include/kbreed_worker_protocol.h, encoded and
 * decoded by worker/worker_protocol.c, which kbreed links too; docs/WORKER.md
 * tells it whole. Replies go on the descriptor that was stdout at start: the
 * worker moves it out of the way and points stdout at stderr, so that what a
 * candidate prints lands in the log, never in the replies.
 */
#define _GNU_SOURCE
#include "../include/kbreed_candidate.h"
#include "../include/kbreed_worker_protocol.h"
#include "worker.h"

#include <cuda_runtime.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_CUDA KBW_EXIT_CUDA
#define EXIT_JOB KBW_EXIT_JOB
#define EXIT_NO_GPU KBW_EXIT_NO_GPU

#define MAX_TENSORS KBW_MAX_TENSORS
#define MAX_SETS KBW_MAX_SETS
#define MAX_THREADS 1024

struct tensor {
	kb_tensor t;      /* ABI view: dtype, shape; data set per call */
	size_t bytes;
	int set;          /* input set, or -1 for params and outputs */
	char *path;       /* raw file with the contents; NULL for outputs */
	const void *golden;   /* the file, mapped read-only */
	void *dev;        /* device copy */
};

struct job {
	int sets, warmup, reps, flush_mb;
	int timed_sets;   /* sets 0..timed_sets-1 feed the warm-up and timed calls;
			     the rest (stressed sets) are checked calls only */
	struct tensor in[MAX_SETS][MAX_TENSORS];  /* per set: inputs */
	int n_in;
	struct tensor param[MAX_TENSORS];
	int n_param;
	struct tensor out[MAX_TENSORS];
	int n_out;
	struct tensor slot[MAX_TENSORS];  /* where timed calls read their inputs */
	void *flush;      /* written before each timed call to evict L2 */
	size_t flush_bytes;
	void *stage;      /* host staging for input checks */
	size_t stage_bytes;
	cudaStream_t stream;
};

/* Where replies go: the original stdout, moved to a descriptor of its own. */
static FILE *replies;

/* Sends one reply, encoded by the protocol's own encoder. */
void reply(const struct kbw_reply *r)
{
	FILE *f = replies ? replies : stdout;
	char line[KBW_MAX_LINE];
	if (kbw_format_reply(line, sizeof line, r) < 0)
		snprintf(line, sizeof line, "error the worker could not encode a reply\n");
	fputs(line, f);
	fflush(f);
}

/* A reply that carries a message: error or fault. */
void reply_text(enum kbw_reply_kind kind, enum kbw_fault fault, const char *fmt, ...)
{
	char msg[KBW_MAX_LINE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	reply(&(struct kbw_reply){ .kind = kind, .fault = fault, .text = msg });
}

void reply_end(bool ok)
{
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_END, .ok = ok });
}

/* Moves the reply channel off descriptor 1 and points 1 at stderr. */
void private_replies(void)
{
	fflush(stdout);
	int fd = fcntl(1, F_DUPFD_CLOEXEC, 64);
	if (fd < 0 || !(replies = fdopen(fd, "w")) || dup2(2, 1) < 0) {
		fprintf(stderr, "kbreed-worker: cannot set up the reply channel: %s\n", strerror(errno));
		exit(EXIT_JOB);
	}
}

/* Replaces newlines so that a message stays on its reply line. */
static const char *one_line(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

_Noreturn void die_cuda(const char *what, cudaError_t e)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
	reply_text(KBW_REPLY_FAULT, KBW_FAULT_RUNTIME, "%s", msg);
	reply_end(false);
	exit(EXIT_CUDA);
}

#define CUDA_OK(call) cuda_ok((call), #call)
static void cuda_ok(cudaError_t e, const char *what)
{
	if (e != cudaSuccess)
		die_cuda(what, e);
}

_Noreturn void die_job(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("kbreed-worker: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(EXIT_JOB);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* NVML, loaded at run time when the driver has it: the clocks during timing. */
typedef int (*nvml_init_fn)(void);
typedef int (*nvml_handle_fn)(unsigned, void **);
typedef int (*nvml_pci_fn)(const char *, void **);
typedef int (*nvml_clock_fn)(void *, int, unsigned *);
static struct {
	bool tried, ok;
	nvml_clock_fn clock;
	void *dev;
} nvml;

static void read_clocks(unsigned *sm, unsigned *mem)
{
	*sm = *mem = 0;
	if (!nvml.tried) {
		nvml.tried = true;
		void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
		if (h) {
			nvml_init_fn init = (nvml_init_fn)dlsym(h, "nvmlInit_v2");
			nvml_handle_fn get = (nvml_handle_fn)dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
			nvml_pci_fn by_pci = (nvml_pci_fn)dlsym(h, "nvmlDeviceGetHandleByPciBusId_v2");
			nvml.clock = (nvml_clock_fn)dlsym(h, "nvmlDeviceGetClockInfo");
			int dev = 0;
			char pci[64];
			cudaGetDevice(&dev);
			/* NVML numbers every GPU of the host and ignores
			 * CUDA_VISIBLE_DEVICES (one GPU per worker on a multi-GPU
			 * host): the device is found by its PCI address. */
			bool have_pci = by_pci && cudaDeviceGetPCIBusId(pci, sizeof pci, dev) == cudaSuccess;
			nvml.ok = init && (get || have_pci) && nvml.clock && init() == 0 &&
				  ((have_pci && by_pci(pci, &nvml.dev) == 0) ||
				   (get && get((unsigned)dev, &nvml.dev) == 0));
		}
	}
	if (nvml.ok) {
		nvml.clock(nvml.dev, 1 /* NVML_CLOCK_SM */, sm);
		nvml.clock(nvml.dev, 2 /* NVML_CLOCK_MEM */, mem);
	}
}

static int print_info(void)
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
		printf("error no CUDA device is visible\n");
		return EXIT_NO_GPU;
	}
	int dev = 0;
	struct cudaDeviceProp p;
	cudaError_t e = cudaGetDeviceProperties(&p, dev);
	if (e != cudaSuccess) {
		printf("error %s\n", cudaGetErrorString(e));
		return EXIT_NO_GPU;
	}
	struct kbw_info info = {
		.version = KBREED_WORKER_PROTOCOL, .cc_major = p.major, .cc_minor = p.minor,
		.sm_count = p.multiProcessorCount, .l2_bytes = p.l2CacheSize,
		.mem_bytes = (long long)p.totalGlobalMem,
		.smem_per_block_optin = (long long)p.sharedMemPerBlockOptin, .devices = n,
	};
	snprintf(info.name, sizeof info.name, "%s", p.name);
	if ((e = cudaDriverGetVersion(&info.driver)) != cudaSuccess ||
	    (e = cudaRuntimeGetVersion(&info.runtime)) != cudaSuccess) {
		printf("error %s\n", cudaGetErrorString(e));
		return EXIT_NO_GPU;
	}
	unsigned sm = 0, mem = 0;
	read_clocks(&sm, &mem);
	info.sm_clock_mhz = (int)sm;
	info.mem_clock_mhz = (int)mem;
	char text[2048];
	if (kbw_format_info(text, sizeof text, &info) < 0) {
		printf("error the device's description does not fit\n");
		return EXIT_NO_GPU;
	}
	fputs(text, stdout);
	return 0;
}

/* Maps a raw file read-only, checking its size. "fd:N" names an inherited
 * descriptor, which is closed once mapped. */
const void *map_file(const char *path, size_t bytes)
{
	int fd;
	if (!strncmp(path, "fd:", 3)) {
		char *end = NULL;
		long n = strtol(path + 3, &end, 10);
		if (!end || *end || n < 3 || n > 1 << 20)
			die_job("bad descriptor %s", path);
		fd = (int)n;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC))
			die_job("descriptor %s is not open: %s", path, strerror(errno));
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		die_job("cannot open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || (size_t)st.st_size != bytes)
		die_job("%s holds %lld bytes, expected %zu", path, (long long)st.st_size, bytes);
	void *p = bytes ? mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, fd, 0) : (void *)"";
	close(fd);
	if (p == MAP_FAILED)
		die_job("cannot map %s: %s", path, strerror(errno));
	return p;
}

/* Reads the job (the protocol's decoder checks it) into the worker's
 * tables. A job of another protocol version: an "error" reply and exit
 * KBW_EXIT_VERSION; any other defect: exit KBW_EXIT_JOB. */
static void load_job(struct job *j, const char *path)
{
	struct kbw_job kj;
	char why[1024];
	int rc = kbw_job_load(path, &kj, why, sizeof why);
	if (!rc && kj.n_refs) {
		/* References are the comparer's alone: a candidate must never
		 * share a process with one. */
		snprintf(why, sizeof why, "%s names reference outputs: only a comparer (--compare) takes those", path);
		kbw_job_release(&kj);
		rc = KBW_EXIT_JOB;
	}
	if (rc) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "%s", why);
		fprintf(stderr, "kbreed-worker: %s\n", why);
		exit(rc);
	}
	j->sets = kj.sets;
	j->timed_sets = kj.timed_sets;
	j->warmup = kj.warmup;
	j->reps = kj.reps;
	j->flush_mb = kj.flush_mb;
	j->n_in = kj.n_inputs;
	j->n_param = kj.n_params;
	j->n_out = kj.n_outputs;
	for (int i = 0; i < kj.n_tensors; i++) {
		struct kbw_tensor *k = &kj.tensor[i];
		struct tensor *t = k->kind == KBW_INPUT ? &j->in[k->set][k->index]
				 : k->kind == KBW_PARAM ? &j->param[k->index] : &j->out[k->index];
		t->t.dtype = k->dtype;
		t->t.ndim = k->ndim;
		for (int d = 0; d < k->ndim; d++)
			t->t.shape[d] = k->shape[d];
		t->bytes = kbw_tensor_bytes(k);
		t->set = k->set;
		t->path = k->source;   /* taken over */
		k->source = NULL;
	}
	kbw_job_release(&kj);
}

/* Copies every tensor with contents to the GPU and allocates the rest. */
static void upload(struct job *j)
{
	size_t largest = 0;
	for (int s = 0; s < j->sets; s++)
		for (int i = 0; i < j->n_in; i++) {
			struct tensor *t = &j->in[s][i];
			if (!t->path)
				die_job("set %d lacks input %d", s, i);
			t->golden = map_file(t->path, t->bytes);
			CUDA_OK(cudaMalloc(&t->dev, t->bytes ? t->bytes : 1));
			CUDA_OK(cudaMemcpy(t->dev, t->golden, t->bytes, cudaMemcpyHostToDevice));
			if (t->bytes > largest)
				largest = t->bytes;
			if (s == 0) {
				j->slot[i] = *t;
				CUDA_OK(cudaMalloc(&j->slot[i].dev, t->bytes ? t->bytes : 1));
			}
		}
	for (int i = 0; i < j->n_param; i++) {
		struct tensor *t = &j->param[i];
		if (!t->path)
			die_job("param %d has no file", i);
		t->golden = map_file(t->path, t->bytes);
		CUDA_OK(cudaMalloc(&t->dev, t->bytes ? t->bytes : 1));
		CUDA_OK(cudaMemcpy(t->dev, t->golden, t->bytes, cudaMemcpyHostToDevice));
		if (t->bytes > largest)
			largest = t->bytes;
	}
	for (int i = 0; i < j->n_out; i++) {
		struct tensor *t = &j->out[i];
		CUDA_OK(cudaMalloc(&t->dev, t->bytes ? t->bytes : 1));
		if (t->bytes > largest)
			largest = t->bytes;
	}
	j->flush_bytes = (size_t)j->flush_mb << 20;
	if (j->flush_bytes)
		CUDA_OK(cudaMalloc(&j->flush, j->flush_bytes));
	j->stage_bytes = largest ? largest : 1;
	CUDA_OK(cudaMallocHost(&j->stage, j->stage_bytes));
	CUDA_OK(cudaStreamCreateWithFlags(&j->stream, cudaStreamNonBlocking));
	CUDA_OK(cudaDeviceSynchronize());
}

typedef int (*abi_fn)(void);
typedef int (*forward_fn)(const kb_tensor *, int, kb_tensor *, int, void *);

/* Fills the ABI arrays for one call: inputs from `src` (a set or the slot). */
static int views(struct job *j, struct tensor *src, kb_tensor *in, kb_tensor *out)
{
	int n = 0;
	for (int i = 0; i < j->n_in; i++) {
		in[n] = src[i].t;
		in[n++].data = src[i].dev;
	}
	for (int i = 0; i < j->n_param; i++) {
		in[n] = j->param[i].t;
		in[n++].data = j->param[i].dev;
	}
	for (int i = 0; i < j->n_out; i++) {
		out[i] = j->out[i].t;
		out[i].data = j->out[i].dev;
	}
	return n;
}

static void poison_outputs(struct job *j)
{
	for (int i = 0; i < j->n_out; i++)
		CUDA_OK(cudaMemsetAsync(j->out[i].dev, 0xff, j->out[i].bytes, j->stream));
}

/* Whether every input and parameter on the GPU still equals its golden copy. */
static bool inputs_intact(struct job *j, struct tensor *src, const char *what)
{
	for (int k = 0; k < j->n_in + j->n_param; k++) {
		struct tensor *t = k < j->n_in ? &src[k] : &j->param[k - j->n_in];
		const void *golden = k < j->n_in ? j->in[t->set >= 0 ? t->set : 0][k].golden : t->golden;
		if (!t->bytes)
			continue;
		CUDA_OK(cudaMemcpy(j->stage, t->dev, t->bytes, cudaMemcpyDeviceToHost));
		if (memcmp(j->stage, golden, t->bytes)) {
			reply_text(KBW_REPLY_FAULT, KBW_FAULT_REJECTED, "%s: the candidate modified %s %d", what,
			      k < j->n_in ? "input" : "parameter", k < j->n_in ? k : k - j->n_in);
			return false;
		}
	}
	return true;
}

/* Writes the current outputs to <outdir>/<prefix>.out<j>.bin, through the
 * pinned staging buffer (a device-to-host copy into pinned memory runs at
 * full PCIe speed; into a fresh file mapping it would fault page by page). */
static void save_outputs(struct job *j, const char *outdir, const char *prefix)
{
	for (int i = 0; i < j->n_out; i++) {
		struct tensor *t = &j->out[i];
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.out%d.bin", outdir, prefix, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			die_job("cannot create %s: %s", path, strerror(errno));
		CUDA_OK(cudaMemcpy(j->stage, t->dev, t->bytes, cudaMemcpyDeviceToHost));
		const char *p = j->stage;
		size_t left = t->bytes;
		while (left) {
			ssize_t n = write(fd, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die_job("cannot write %s: %s", path, strerror(errno));
			p += n;
			left -= (size_t)n;
		}
		close(fd);
	}
}

static void fill_slot(struct job *j, int set)
{
	for (int i = 0; i < j->n_in; i++) {
		CUDA_OK(cudaMemcpyAsync(j->slot[i].dev, j->in[set][i].dev, j->in[set][i].bytes,
					cudaMemcpyDeviceToDevice, j->stream));
		j->slot[i].set = set;
	}
}

/* The worker's own random numbers (xorshift64*), seeded from the kernel at
 * start: the offsets of fresh_slot and the places of the checked calls,
 * which a candidate must not predict. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	if (!rng_state) {
		if (getrandom(&rng_state, sizeof rng_state, 0) != (ssize_t)sizeof rng_state || !rng_state)
			rng_state = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
		rng_state |= 1;
	}
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Fills the slot with contents the candidate has never seen: a random set
 * among those that feed the timed calls (never a stressed one: timing is on
 * the problem's own distribution) with each input rotated by a random, non-zero number of rows (of its last
 * dimension; of elements when it has fewer than 64 rows). The values, and
 * so their range (indices stay indices), are the set's own; where they sit
 * is new. Two copies on the device, outside the timed region. */
static void fresh_slot(struct job *j)
{
	int set = (int)(rng_next() % (uint64_t)j->timed_sets);
	for (int i = 0; i < j->n_in; i++) {
		const struct tensor *src = &j->in[set][i];
		size_t numel = 1;
		for (int d = 0; d < src->t.ndim; d++)
			numel *= (size_t)src->t.shape[d];
		size_t unit = src->t.ndim ? (size_t)src->t.shape[src->t.ndim - 1] : 1;
		if (!unit || numel / unit < 64)
			unit = 1;
		size_t units = numel && unit ? numel / unit : 0, shift = 0;
		if (units > 1)
			shift = 1 + (size_t)(rng_next() % (uint64_t)(units - 1));
		size_t cut = numel ? shift * unit * (src->bytes / numel) : 0;
		const char *from = src->dev;
		char *to = j->slot[i].dev;
		/* slot = src[cut..] followed by src[..cut] */
		if (src->bytes > cut)
			CUDA_OK(cudaMemcpyAsync(to, from + cut, src->bytes - cut, cudaMemcpyDeviceToDevice, j->stream));
		if (cut)
			CUDA_OK(cudaMemcpyAsync(to + (src->bytes - cut), from, cut, cudaMemcpyDeviceToDevice, j->stream));
		j->slot[i].set = -1;
	}
}

/* What the process looked like before the candidate was loaded: its threads
 * and its signal handlers. */
struct baseline {
	pid_t tid[MAX_THREADS];
	int n_tid;
	void *handler[NSIG];
};

/* The threads of this process, as listed in /proc/self/task. */
static int list_threads(pid_t *tid, int cap)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) && n < cap)
		if (e->d_name[0] != '.')
			tid[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	return n;
}

static void *handler_of(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa))
		return NULL;
	return sa.sa_flags & SA_SIGINFO ? (void *)sa.sa_sigaction : (void *)sa.sa_handler;
}

static void take_baseline(struct baseline *b)
{
	b->n_tid = list_threads(b->tid, MAX_THREADS);
	for (int sig = 1; sig < NSIG; sig++)
		b->handler[sig] = handler_of(sig);
}

/* Threads running now that were not in the baseline. Fills `names` with a
 * description of them and sets *foreign to how many are not the CUDA
 * driver's (its threads are named "cuda..."). */
static int new_threads(const struct baseline *b, int *foreign, char *names, size_t cap)
{
	static pid_t now[MAX_THREADS];
	int n = list_threads(now, MAX_THREADS), found = 0;
	size_t used = 0;
	*foreign = 0;
	if (cap)
		names[0] = '\0';
	for (int i = 0; i < n; i++) {
		bool old = false;
		for (int k = 0; k < b->n_tid && !old; k++)
			old = b->tid[k] == now[i];
		if (old)
			continue;
		found++;
		char path[64], comm[64] = "?";
		snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)now[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t got = read(fd, comm, sizeof comm - 1);
			comm[got > 0 ? got : 0] = '\0';
			close(fd);
			one_line(comm);
			for (size_t l = strlen(comm); l && comm[l - 1] == ' '; l--)
				comm[l - 1] = '\0';
		}
		if (strncmp(comm, "cuda", 4))
			++*foreign;
		if (used < cap) {
			int w = snprintf(names + used, cap - used, "%s%d \"%s\"", found > 1 ? ", " : "", (int)now[i], comm);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	return found;
}

/* Called as soon as kbreed_forward returns, before the worker waits for the
 * device: anything the candidate left running that could do work after the
 * call, unseen by the timer, breaks the rules. Returns false after a fault
 * reply. */
static bool nothing_left_running(const struct baseline *b, const char *what)
{
	char names[512];
	int foreign = 0;
	new_threads(b, &foreign, names, sizeof names);
	if (foreign) {
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_REJECTED, "%s: kbreed_forward returned with host threads of the candidate still running (%s): work they do after the call escapes the timer",
		      what, names);
		return false;
	}
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && handler_of(sig) != b->handler[sig]) {
			reply_text(KBW_REPLY_FAULT, KBW_FAULT_REJECTED, "%s: the candidate installed a handler for signal %d (%s): work it does after the call escapes the timer",
			      what, sig, strsignal(sig));
			return false;
		}
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of v[0..n) (n > 0); sorts v. */
static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return (v[(n - 1) / 2] + v[n / 2]) / 2;
}

/* One call of the candidate, bracketed by events on its stream and a host
 * clock that stops after a device-wide synchronisation. *tail_ms is how long
 * the device still worked after the candidate's stream had finished (or
 * after the look at threads): work on other streams, which the events do
 * not see. *idle_ms is the same two waits made once more on the drained
 * device: what the host alone takes at that moment (a few microseconds when
 * it is free, more while nvcc or a comparison share its CPUs), against
 * which the tail is read. Returns false (after a fault reply) when the
 * candidate reported an error or broke a rule. */
static bool timed_call(struct job *j, forward_fn fwd, struct tensor *src, const char *what,
		       const struct baseline *b, cudaEvent_t start, cudaEvent_t stop,
		       float *event_ms, double *host_ms, double *tail_ms, double *idle_ms)
{
	kb_tensor in[2 * MAX_TENSORS], out[MAX_TENSORS];
	int n_in = views(j, src, in, out);
	double t0 = now_ms();
	CUDA_OK(cudaEventRecord(start, j->stream));
	int rc = fwd(in, n_in, out, j->n_out, (void *)j->stream);
	cudaError_t e = cudaEventRecord(stop, j->stream);
	/* The tail is measured at once: the look at threads and handlers below
	 * takes tens of microseconds, enough for a small hidden kernel to end
	 * unseen. A thread that launched work after that first wait is found
	 * by the look (still running) or by the second wait (its work). */
	if (e == cudaSuccess)
		e = cudaEventSynchronize(stop);
	double ts = now_ms();
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	double t1 = now_ms();
	if (!nothing_left_running(b, what))
		return false;
	double tc = now_ms();
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	double t2 = now_ms();
	*tail_ms = fmax(t1 - ts, t2 - tc);
	double i0 = now_ms();
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	double i1 = now_ms();
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	*idle_ms = fmax(i1 - i0, now_ms() - i1);
	if (e == cudaSuccess)
		e = cudaGetLastError();
	if (e != cudaSuccess) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s: the candidate's work failed", what);
		die_cuda(msg, e);
	}
	if (rc != KB_OK) {
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_RUNTIME, "%s: kbreed_forward returned status %d%s", what, rc,
		      rc == KB_ERR_SHAPE ? " (shapes or dtypes not supported)" :
		      rc == KB_ERR_LAUNCH ? " (a launch failed)" : "");
		return false;
	}
	CUDA_OK(cudaEventElapsedTime(event_ms, start, stop));
	*host_ms = (t1 - t0) + (t2 - tc);   /* the candidate's span, not the judge's look */
	return true;
}

/* The end of a candidate: whether threads it started are still running.
 * Their code lives in its shared object, so it is unloaded only when none
 * is; kbreed replaces a worker that reports any. */
static void unload(void *h, const struct baseline *b)
{
	char names[512];
	int foreign = 0;
	int left = new_threads(b, &foreign, names, sizeof names);
	if (left) {
		fprintf(stderr, "kbreed-worker: the candidate left %d thread(s) running: %s\n", left, names);
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_THREADS, .threads = left });
		return;
	}
	dlclose(h);
}

/* "export": the CUDA IPC handle of every buffer a candidate is called with
 * (the input slot, the parameters, the outputs), for kbreed to hand to the
 * comparer. The handles name this process's allocations; they give nobody
 * anything of the comparer's. */
static void export_handles(struct job *j)
{
	struct tensor *lists[] = { j->slot, j->param, j->out };
	int counts[] = { j->n_in, j->n_param, j->n_out };
	enum kbw_kind kinds[] = { KBW_INPUT, KBW_PARAM, KBW_OUTPUT };
	for (int l = 0; l < 3; l++)
		for (int i = 0; i < counts[l]; i++) {
			cudaIpcMemHandle_t h;
			cudaError_t e = cudaIpcGetMemHandle(&h, lists[l][i].dev);
			if (e != cudaSuccess) {
				cudaGetLastError();   /* not sticky: candidates may still be judged */
				reply_text(KBW_REPLY_FAULT, KBW_FAULT_RUNTIME, "cannot export %s %d: %s",
					   l == 0 ? "input" : l == 1 ? "param" : "output", i, cudaGetErrorString(e));
				reply_end(false);
				return;
			}
			struct kbw_reply r = { .kind = KBW_REPLY_HANDLE, .handle = { .kind = kinds[l], .index = i } };
			const unsigned char *b = (const unsigned char *)&h;
			for (size_t k = 0; k < sizeof h; k++)
				snprintf(r.handle.hex + 2 * k, 3, "%02x", b[k]);
			reply(&r);
		}
	reply_end(true);
}

/* Checking on the GPU: a checked call is done and its outputs are in the
 * exported buffers (the device is synchronised); kbreed has the comparer
 * look at them and answers "go", or "stop <why>" (an input was modified),
 * which ends the candidate as rejected. Returns false after a fault reply. */
static bool await_check(int set, int pass)
{
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_CHECK, .set = set, .pass = pass });
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, stdin);
	if (len <= 0)
		die_job("kbreed went away during a check");
	if (line[len - 1] == '\n')
		line[--len] = '\0';
	struct kbw_cmd c;
	bool go = kbw_parse_cmd(line, &c) == KBW_CMD_GO;
	if (!go)
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_REJECTED, "%s",
			   c.cmd == KBW_CMD_STOP && *c.text ? c.text : "kbreed stopped the candidate at a check");
	free(line);
	return go;
}

/* One candidate: e names its shared object and output directory, and the
 * cutoff of adaptive timing (0: none). */
static void run_candidate(struct job *j, const struct kbw_eval *e)
{
	const char *so = e->so, *outdir = e->outdir;
	static struct baseline base;
	take_baseline(&base);
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", dlerror());
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_LOAD, "cannot load the candidate: %s", msg);
		reply_end(false);
		return;
	}
	abi_fn abi = (abi_fn)dlsym(h, "kbreed_abi_version");
	forward_fn fwd = (forward_fn)dlsym(h, "kbreed_forward");
	if (!abi || !fwd) {
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_LOAD, "the candidate does not export %s",
		      !abi ? "kbreed_abi_version (KBREED_CANDIDATE_ABI missing?)" : "kbreed_forward");
		unload(h, &base);
		reply_end(false);
		return;
	}
	int v = abi();
	if (v != KBREED_ABI_VERSION) {
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_LOAD, "ABI version mismatch: the candidate was built for version %d, this worker speaks %d",
		      v, KBREED_ABI_VERSION);
		unload(h, &base);
		reply_end(false);
		return;
	}
	size_t free_before = 0, total = 0;
	CUDA_OK(cudaMemGetInfo(&free_before, &total));
	cudaEvent_t start, stop;
	CUDA_OK(cudaEventCreate(&start));
	CUDA_OK(cudaEventCreate(&stop));
	float ms = 0;
	double host = 0, tail = 0, idle = 0;

	/* Every call sees contents the candidate has never seen: the warm-up
	 * calls and the timed calls read a set whose rows are rotated by a
	 * random offset (fresh_slot), and each set's first sight, checked
	 * against its reference, is one of the timed calls at a random place
	 * among them. So a cache keyed by content never hits where it is
	 * timed, and a candidate cannot tell the checked calls from the others
	 * by content, pointer (all calls read the slot) or order. */
	int n_calls = j->reps + j->sets;
	int *order = malloc((size_t)n_calls * sizeof *order);
	double *tails = malloc((size_t)n_calls * sizeof *tails);   /* of the timed calls */
	double *idles = malloc((size_t)n_calls * sizeof *idles);   /* the same waits, device drained */
	if (!order || !tails || !idles)
		die_job("out of memory");
	for (int k = 0; k < n_calls; k++)
		order[k] = k < j->sets ? k : -1;   /* a set's first sight, or -1: a timed call */
	for (int k = n_calls - 1; k > 0; k--) {
		int m = (int)(rng_next() % (uint64_t)(k + 1)), t = order[k];
		order[k] = order[m];
		order[m] = t;
	}
	char what[64], prefix[64];
	int timed = 0;
	float fastest = 0;
	bool early = false;   /* adaptive timing: no more timed calls */
	for (int k = -j->warmup; k < n_calls; k++) {
		int set = k < 0 ? -1 : order[k];
		if (early && k >= 0 && set < 0)
			continue;   /* the first sights still to come are all made */
		if (set >= 0) {
			fill_slot(j, set);
			snprintf(what, sizeof what, "input set %d", set);
		} else {
			fresh_slot(j);
			snprintf(what, sizeof what, k < 0 ? "warm-up call" : "timed call %d", timed);
		}
		poison_outputs(j);
		if (j->flush_bytes)
			CUDA_OK(cudaMemsetAsync(j->flush, k & 0xff, j->flush_bytes, j->stream));
		CUDA_OK(cudaStreamSynchronize(j->stream));
		if (!timed_call(j, fwd, j->slot, what, &base, start, stop, &ms, &host, &tail, &idle))
			goto fault;
		if (set >= 0 && e->gpu) {
			/* The comparer checks the inputs and the outputs. */
			reply(&(struct kbw_reply){ .kind = KBW_REPLY_FIRST, .set = set, .event_ms = ms, .host_ms = host });
			if (!await_check(set, 0))
				goto fault;
		} else if (set >= 0) {
			if (!inputs_intact(j, j->slot, what))
				goto fault;
			reply(&(struct kbw_reply){ .kind = KBW_REPLY_FIRST, .set = set, .event_ms = ms, .host_ms = host });
			snprintf(prefix, sizeof prefix, "set%d", set);
			save_outputs(j, outdir, prefix);
		} else if (k >= 0) {
			reply(&(struct kbw_reply){ .kind = KBW_REPLY_TIME, .event_ms = ms, .host_ms = host });
			tails[timed] = tail;
			idles[timed] = idle;
			if (!timed++ || ms < fastest)
				fastest = ms;
			/* Adaptive timing: even the fastest of the first calls was
			 * slower than the cutoff, so this candidate cannot come near
			 * the best; its remaining timed calls are not made. */
			if (e->cutoff_ms > 0 && timed == e->cutoff_calls && timed < j->reps && fastest > e->cutoff_ms)
				early = true;
		}
	}
	if (early)
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_EARLY, .calls = timed });
	/* The timed calls left the device busy after the candidate's stream
	 * was done: work on another stream, outside the events. The median
	 * call, robust both ways: a slow synchronisation in a few honest calls
	 * is not taken for hidden work, and hidden work that ended unseen in a
	 * few calls (the host preempted between the launch and the wait, so
	 * that the wait began after it) does not let it through. Read against
	 * the median of the same waits on the drained device: a host whose
	 * CPUs nvcc shares answers a wait slower, hidden work or not. */
	double mid_tail = timed ? median_of(tails, timed) : 0;
	double mid_idle = timed ? median_of(idles, timed) : 0;
	if (timed && mid_tail - mid_idle > KBW_TAIL_MS) {
		reply_text(KBW_REPLY_FAULT, KBW_FAULT_REJECTED,
			   "work escaped the events: after the candidate's stream had finished, the device still worked "
			   "%.3f ms in the median timed call, %.3f ms past the same wait on the drained device "
			   "(limit %.2f ms): all work must be on the given stream",
			   mid_tail, mid_tail - mid_idle, KBW_TAIL_MS);
		goto fault;
	}
	/* Then every set once more, as contents seen before: the outputs of
	 * repeated contents are checked too (a cache must give them right). */
	for (int set = 0; set < j->sets; set++) {
		snprintf(what, sizeof what, "the check call on input set %d", set);
		fill_slot(j, set);
		poison_outputs(j);
		if (j->flush_bytes)
			CUDA_OK(cudaMemsetAsync(j->flush, set & 0xff, j->flush_bytes, j->stream));
		CUDA_OK(cudaStreamSynchronize(j->stream));
		if (!timed_call(j, fwd, j->slot, what, &base, start, stop, &ms, &host, &tail, &idle))
			goto fault;
		if (e->gpu) {
			if (!await_check(set, 1))
				goto fault;
			continue;
		}
		if (!inputs_intact(j, j->slot, what))
			goto fault;
		snprintf(prefix, sizeof prefix, "timed%d", set);
		save_outputs(j, outdir, prefix);
	}
	free(order);
	free(tails);
	free(idles);
	order = NULL;
	tails = NULL;
	idles = NULL;
	unsigned sm, mem;
	read_clocks(&sm, &mem);
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_CLOCKS, .sm_mhz = (int)sm, .mem_mhz = (int)mem });
	cudaEventDestroy(start);
	cudaEventDestroy(stop);
	size_t free_after = 0;
	CUDA_OK(cudaMemGetInfo(&free_after, &total));
	if (free_after + KBW_LEAK_REPORT_BYTES < free_before)
		reply(&(struct kbw_reply){ .kind = KBW_REPLY_LEAK, .bytes = free_before - free_after });
	unload(h, &base);
	reply_end(true);
	return;
fault:
	free(order);
	free(tails);
	free(idles);
	reply_end(false);
	/* The candidate stays loaded: its code may still be referenced by work
	 * in flight, and kbreed replaces this worker after a fault anyway. */
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--info"))
		return print_info();
	if (argc == 3 && argv[1][0] != '-' && !strcmp(argv[2], "--compare"))
		return comparer_main(argv[1]);
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: kbreed-worker JOBFILE [--compare] | --info\n");
		return EXIT_JOB;
	}
	private_replies();
	static struct job j;
	load_job(&j, argv[1]);
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
		reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "no CUDA device is visible");
		return EXIT_NO_GPU;
	}
	upload(&j);
	unsigned sm, mem;
	read_clocks(&sm, &mem);  /* NVML starts now, not while a candidate is watched */
	size_t free_b = 0, total = 0;
	CUDA_OK(cudaMemGetInfo(&free_b, &total));
	reply(&(struct kbw_reply){ .kind = KBW_REPLY_READY, .version = KBREED_WORKER_PROTOCOL, .bytes = free_b,
				   .cutoff = true, .ipc = true });

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
		else if (c.cmd == KBW_CMD_EXPORT)
			export_handles(&j);
		else
			reply_text(KBW_REPLY_ERROR, KBW_FAULT_LOAD, "unknown command");
	}
	free(line);
	return 0;
}
