/*
 * fuzz_linkcheck.c - feeds linkcheck_so (src/linkcheck.c) mutated ELF
 * shared objects. The file it reads was made by a compiler from a source
 * the candidate's author controls, so its headers, section table, dynamic
 * section and string tables are all outside input: every offset, size and
 * index in them must be checked before it is followed. linkcheck_so takes a
 * path, so each input is written to one temporary file first. The answer
 * must be one of the three documented ones, with *why set exactly for 1.
 *
 * Seeds (corpus/linkcheck/, rebuilt by elf_seeds.sh): small real shared
 * objects made with cc: one that imports only allowed symbols, the same
 * stripped, one that imports dlopen, one whose data names libcublas, one
 * that needs libm, and one that passes for the static CUDA runtime.
 */
#define _GNU_SOURCE
#include "fuzz.h"
#include "linkcheck.h"

#include <stdio.h>
#include <unistd.h>

static char path[4096];
static int fd = -1;

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fd < 0) {
		const char *tmp = getenv("TMPDIR");
		snprintf(path, sizeof path, "%s/kbreed-fuzz-linkcheck-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		atexit(remove_file);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	char *why = (char *)1;
	int rc = linkcheck_so(path, &why);
	if (rc < -1 || rc > 1 || (rc == 1) != (why != NULL))
		abort();
	free(why);
	return 0;
}
