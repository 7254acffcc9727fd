// expect: incorrect - computes nothing and tries to take the answer from the comparer that holds the references (--compare gpu): its /proc entries (mem, maps, fd/) and CUDA IPC handles guessed from its own; every way is refused, so its zeros are judged
// What a candidate can reach of the comparer (docs/EVALUATION.md, "Checking on
// the GPU"). The comparer is another process, undumpable, that never exports a
// handle of its own; the references never enter the candidate's worker. This
// kernel tries, in order, and says on stderr (the worker's log) what each try
// gave:
//   1. find the comparer: a process whose command line ends in "--compare";
//   2. read its memory through /proc/<pid>/mem and process_vm_readv;
//   3. open its descriptors /proc/<pid>/fd/N (the reference files are among
//      them while it loads) and read a file as large as the output;
//   4. CUDA IPC: take the handle of its own output buffer, put the comparer's
//      pid wherever its own pid sits in the handle, and try to open that; then
//      try handles with one byte changed at a time.
// Anything that opens is a hole: the kernel then fails the call (a runtime
// error, not the "incorrect" expected above), so the GPU check flags it. When
// every try fails, as it must, the output is all zeros: incorrect.
#include "common.cuh"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// read() through a volatile pointer, which the compiler cannot fold back into
// a call: with _FORTIFY_SOURCE (Ubuntu's compilers turn it on) a read into a
// buffer of known size becomes __read_chk, and a two-argument open() becomes
// __open_2, which kbreed's link check refuses before the kernel ever runs
// (so open() gets its third argument). The plain names are what the static
// CUDA runtime imports already.
static ssize_t (*volatile plain_read)(int, void *, size_t) = read;

// errno as the log says it (strerror is not on the link check's list).
static const char *errno_text(void)
{
	static char text[32];
	snprintf(text, sizeof text, "refused (errno %d)", errno);
	return text;
}

// The pid of a process whose command line ends in "--compare"; -1 when none.
static int find_comparer(void)
{
	DIR *d = opendir("/proc");
	int found = -1;
	struct dirent *e;
	while (d && found < 0 && (e = readdir(d))) {
		int pid = atoi(e->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		char path[64], args[4096];
		snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
		int fd = open(path, O_RDONLY, 0);
		if (fd < 0)
			continue;
		ssize_t n = plain_read(fd, args, sizeof args - 1);
		close(fd);
		if (n <= 10)
			continue;
		args[n] = '\0';
		// Arguments are NUL-separated: the last one, before the final NUL.
		const char *last = args + n - 1;
		while (last > args && last[-1])
			last--;
		if (!strcmp(last, "--compare"))
			found = pid;
	}
	if (d)
		closedir(d);
	return found;
}

// Tries the comparer's memory through /proc and process_vm_readv, its
// descriptors through /proc/<pid>/fd. Returns the number of ways that gave
// anything; what each gave goes to stderr.
static int try_proc(int pid, size_t out_bytes)
{
	int holes = 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", pid);
	int fd = open(path, O_RDONLY, 0);
	fprintf(stderr, "reads_comparer: open %s: %s\n", path, fd < 0 ? errno_text() : "OPENED");
	if (fd >= 0) {
		holes++;
		close(fd);
	}
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY, 0);
	char maps[256];
	ssize_t got = fd >= 0 ? plain_read(fd, maps, sizeof maps) : -1;
	fprintf(stderr, "reads_comparer: read %s: %s\n", path, got > 0 ? "READ" : errno_text());
	holes += got > 0;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	fprintf(stderr, "reads_comparer: list %s: %s\n", path, d ? "LISTED" : errno_text());
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char file[128];
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		int f = open(file, O_RDONLY, 0);
		if (f >= 0 && lseek(f, 0, SEEK_END) == (off_t)out_bytes) {
			fprintf(stderr, "reads_comparer: opened %s, a file the size of the output\n", file);
			holes++;
		}
		if (f >= 0)
			close(f);
	}
	if (d) {
		holes++;
		closedir(d);
	}
	return holes;
}

// Whether p shows one of this process's own buffers (the worker's inputs and
// outputs): a guessed handle that opens one of those is no way into the
// comparer. A driver may ignore a byte of the handle, or open a handle of the
// same process as a second mapping at another address (seen on the H200 with
// no comparer running), so a mapping counts as its own when it starts at an
// own buffer's address or with the same first bytes (the output was filled
// with a pattern beforehand; the inputs hold random values).
enum { PROBE = 64 };
static bool own_buffer(const void *p, const kb_tensor *in, int n_in, const kb_tensor *out, int n_out)
{
	unsigned char seen[PROBE], own[PROBE];
	bool readable = cudaMemcpy(seen, p, PROBE, cudaMemcpyDeviceToHost) == cudaSuccess;
	cudaGetLastError();
	for (int k = 0; k < n_in + n_out; k++) {
		const kb_tensor *t = k < n_in ? &in[k] : &out[k - n_in];
		if (p == t->data)
			return true;
		if (readable && (size_t)kb_numel(t) * 2 >= PROBE &&
		    cudaMemcpy(own, t->data, PROBE, cudaMemcpyDeviceToHost) == cudaSuccess && !memcmp(seen, own, PROBE))
			return true;
	}
	return false;
}

// Tries CUDA IPC handles made from the handle of its own output buffer: the
// comparer's pid put where its own appears, then single bytes changed.
// Returns the number that opened memory other than its own (each closed again).
static int try_ipc(int pid, const kb_tensor *in, int n_in, const kb_tensor *out, int n_out)
{
	void *own = out[0].data;
	cudaIpcMemHandle_t mine, guess;
	if (cudaIpcGetMemHandle(&mine, own) != cudaSuccess) {
		cudaGetLastError();
		fprintf(stderr, "reads_comparer: no IPC handle of its own buffer to start from\n");
		return 0;
	}
	int opened = 0, tries = 0, self = getpid();
	// A pattern no reference holds, so that an alias of the output is known
	// by its contents.
	cudaMemset(own, 0x5b, (size_t)kb_numel(&out[0]) * sizeof(float));
	cudaDeviceSynchronize();
	for (int variant = 0; variant < 1 + (int)sizeof mine.reserved * 4; variant++) {
		guess = mine;
		if (variant == 0) {
			if (pid <= 0)
				continue;
			// The comparer's pid wherever this process's pid is written.
			for (size_t k = 0; k + sizeof(int) <= sizeof guess.reserved; k++)
				if (!memcmp(guess.reserved + k, &self, sizeof self))
					memcpy(guess.reserved + k, &pid, sizeof pid);
		} else {
			// One byte changed: a neighbouring allocation, another id.
			int k = (variant - 1) / 4, delta = 1 + (variant - 1) % 4;
			guess.reserved[k] = (char)(guess.reserved[k] + delta);
		}
		void *p = NULL;
		tries++;
		if (cudaIpcOpenMemHandle(&p, guess, cudaIpcMemLazyEnablePeerAccess) == cudaSuccess) {
			bool mine = own_buffer(p, in, n_in, out, n_out);
			fprintf(stderr, "reads_comparer: a guessed IPC handle (variant %d) opened %p: %s\n", variant, p,
				mine ? "one of its own buffers (its address or contents), no way in" : "OPENED");
			opened += !mine;
			cudaIpcCloseMemHandle(p);
		}
		cudaGetLastError();
	}
	fprintf(stderr, "reads_comparer: %d guessed IPC handles tried, %d opened\n", tries, opened);
	return opened;
}

KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	static bool tried;
	static int holes;
	size_t bytes = (size_t)kb_numel(&out[0]) * sizeof(float);
	if (!tried) {
		tried = true;
		int pid = find_comparer();
		fprintf(stderr, "reads_comparer: comparer %s (pid %d)\n", pid > 0 ? "found" : "not visible", pid);
		holes = (pid > 0 ? try_proc(pid, bytes) : 0) + try_ipc(pid, in, n_in, out, n_out);
		if (holes)
			fprintf(stderr, "reads_comparer: %d way(s) into the comparer OPENED: failing on purpose\n", holes);
	}
	if (holes)
		return KB_ERR_LAUNCH;   // a hole: the GPU check sees runtime_error, not incorrect
	return cudaMemsetAsync(out[0].data, 0, bytes, (cudaStream_t)stream) == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
