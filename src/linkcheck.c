/*
 * linkcheck.c - the library policy's link-time layer: reads a compiled
 * candidate's ELF64 shared object and judges what it will ask the dynamic
 * loader for. Sits between compile and the worker's dlopen.
 *
 * Three things are read, straight from the file with <elf.h>:
 *   - the libraries it needs (DT_NEEDED): the C and C++ runtimes and the
 *     CUDA runtime only;
 *   - the symbols it imports (undefined entries of .dynsym): an allow-list of
 *     what a kernel's host code needs (the CUDA runtime API, memory, strings,
 *     math, printf, the C++ runtime's support, pthread basics). Loaders,
 *     program runners, raw syscalls and vendor libraries are named in a deny
 *     list first, so the reason reads well;
 *   - its read-only and initialised data, for the file names of vendor
 *     libraries ("libcublas..."), which a dlopen would need.
 * The section table is cross-checked against the program headers that the
 * loader itself uses, so that what is read here is what will be bound.
 */
#define _GNU_SOURCE
#include "linkcheck.h"

#include "log.h"
#include "util.h"

#include <ctype.h>
#include <elf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SO_CAP (512u << 20)   /* the largest shared object read */

/* Imports that are never a kernel's business, whatever the source looked like. */
static const struct {
	const char *name;   /* exact symbol, or a prefix when it ends in '*' */
	const char *what;
} denied[] = {
	{ "dlopen", "run-time loading" },
	{ "dlmopen", "run-time loading" },
	{ "dlsym", "run-time loading" },
	{ "dlvsym", "run-time loading" },
	{ "__libc_dlopen_mode", "run-time loading" },
	{ "__libc_dlsym", "run-time loading" },
	{ "dl_iterate_phdr", "walking the loaded libraries" },
	{ "syscall", "raw system calls" },
	{ "system", "running programs" },
	{ "popen", "running programs" },
	{ "exec*", "running programs" },
	{ "fexecve", "running programs" },
	{ "posix_spawn*", "running programs" },
	{ "fork", "running programs" },
	{ "vfork", "running programs" },
	{ "_Fork", "running programs" },
	{ "clone", "running programs" },
	{ "clone3", "running programs" },
	{ "__clone", "running programs" },
	{ "ptrace", "tracing processes" },
	{ "cublas*", "cuBLAS" },
	{ "cudnn*", "cuDNN" },
	{ "cufft*", "cuFFT" },
	{ "curand*", "cuRAND" },
	{ "cusparse*", "cuSPARSE" },
	{ "cusolver*", "cuSOLVER" },
	{ "cutensor*", "cuTENSOR" },
	{ "nvrtc*", "NVRTC (compiling code at run time)" },
	{ "nvJitLink*", "nvJitLink (linking code at run time)" },
	{ "_ZN2at*", "PyTorch (ATen)" },
	{ "_ZN3c10*", "PyTorch (c10)" },
	{ "_ZN5torch*", "PyTorch" },
};

/* The static CUDA runtime imports these itself (to find libcuda, and for its
 * own bookkeeping): when it is linked in, they cannot be told from the
 * candidate's and are let through (linkcheck.h). */
static const char *const runtime_loader[] = { "dlopen", "dlmopen", "dlsym", "dlvsym", "syscall" };

/* The rest of what the static CUDA runtime (CUDA 13's libcudart_static)
 * imports: files, sockets, shared memory for IPC, its own threads. Allowed
 * only when it is linked in; a newer runtime that imports more is refused
 * by name, loudly, until it is added here. */
static const char *const runtime_imports[] = {
	"__fxstat", "__getdelim", "__xstat", "bind", "chmod", "close", "closedir", "connect",
	"dlclose", "dlerror", "fchmod", "fclose", "fcntl", "fdopen", "feof", "ferror", "fgetc",
	"fileno", "fopen", "fread", "fscanf", "fseek", "ftell", "ftruncate", "get_nprocs",
	"getcwd", "getegid", "geteuid", "gethostname", "getpid", "getuid", "gnu_get_libc_version",
	"kill", "listen", "localtime_r", "lseek", "madvise", "mkdir", "mkfifo", "mmap",
	"mprotect", "munmap", "nftw", "open", "opendir", "pipe", "poll", "pthread_kill", "read",
	"readdir", "realpath", "recvmsg", "remove", "rmdir", "sem_destroy", "sem_init",
	"sem_post", "sem_timedwait", "sem_trywait", "sem_wait", "sendmsg", "setenv", "setsockopt",
	"shm_open", "shm_unlink", "shmat", "shmctl", "shmdt", "shmget", "socket", "socketpair",
	"sscanf", "sysconf",
	"sysinfo", "uname", "unlink", "write",
};

/* What a kernel's host code may import. A '*' ends a prefix. */
static const char *const allowed[] = {
	/* The CUDA runtime API, and the registration calls nvcc generates. */
	"__cuda*",
	/* Toolchain hooks, weak and harmless. */
	"__gmon_start__", "_ITM_deregisterTMCloneTable", "_ITM_registerTMCloneTable",
	"__tls_get_addr", "__stack_chk_fail", "__errno_location", "__assert_fail", "abort",
	"exit", "_exit", "atexit",
	/* Memory. */
	"malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign", "memalign",
	/* Strings and numbers. */
	"memcpy", "memmove", "memset", "memcmp", "memchr", "strlen", "strnlen", "strcmp",
	"strncmp", "strcpy", "strncpy", "strcat", "strncat", "strchr", "strrchr", "strstr",
	"strdup", "strndup", "strtol", "strtoul", "strtoll", "strtoull", "strtod", "strtof",
	"atoi", "atol", "atof", "abs", "labs", "llabs", "qsort", "bsearch", "getenv",
	"__memcpy_chk", "__memmove_chk", "__memset_chk", "__strcpy_chk", "__strncpy_chk",
	"__strcat_chk", "__strncat_chk", "__isoc99_sscanf", "__isoc23_strtol",
	"__isoc23_strtoul", "__isoc23_strtoll", "__isoc23_strtoull",
	/* printf and friends, to the streams the worker already has. */
	"printf", "fprintf", "vprintf", "vfprintf", "snprintf", "vsnprintf", "sprintf",
	"vsprintf", "puts", "fputs", "putchar", "fputc", "putc", "fwrite", "fflush", "stderr",
	"stdout", "__printf_chk", "__fprintf_chk", "__vprintf_chk", "__vfprintf_chk",
	"__sprintf_chk", "__snprintf_chk", "__vsprintf_chk", "__vsnprintf_chk",
	/* Clocks. */
	"clock_gettime", "clock", "time", "gettimeofday", "sched_yield", "usleep", "nanosleep",
	/* Math (libm). */
	"sqrt", "sqrtf", "cbrt", "cbrtf", "exp", "expf", "exp2", "exp2f", "expm1", "expm1f",
	"log", "logf", "log2", "log2f", "log10", "log10f", "log1p", "log1pf", "pow", "powf",
	"sin", "sinf", "cos", "cosf", "tan", "tanf", "sincos", "sincosf", "asin", "asinf",
	"acos", "acosf", "atan", "atanf", "atan2", "atan2f", "sinh", "sinhf", "cosh", "coshf",
	"tanh", "tanhf", "erf", "erff", "erfc", "erfcf", "tgamma", "tgammaf", "lgamma",
	"lgammaf", "fabs", "fabsf", "floor", "floorf", "ceil", "ceilf", "round", "roundf",
	"lround", "lroundf", "llround", "llroundf", "trunc", "truncf", "fmod", "fmodf", "fmin",
	"fminf", "fmax", "fmaxf", "fma", "fmaf", "ldexp", "ldexpf", "frexp", "frexpf", "modf",
	"modff", "nearbyint", "nearbyintf", "rint", "rintf", "lrint", "lrintf", "hypot",
	"hypotf", "exp10", "exp10f",
	/* pthread basics (threads left running are the worker's to find). */
	"pthread_once", "pthread_self", "pthread_create", "pthread_join", "pthread_detach",
	"pthread_mutex_*", "pthread_mutexattr_*", "pthread_cond_*", "pthread_condattr_*",
	"pthread_key_*", "pthread_getspecific", "pthread_setspecific", "pthread_rwlock_*",
	"pthread_spin_*", "pthread_rwlockattr_*",
	/* The C++ runtime's support: exceptions, guards, new/delete, std::thread. */
	"__cxa_*", "__gxx_personality_v0", "_Unwind_Resume", "_Znwm", "_Znam", "_ZnwmSt*",
	"_ZnamSt*", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZdlPv*", "_ZdaPv*",
	"_ZSt9terminatev", "_ZTVN10__cxxabiv1*", "_ZTISt*", "_ZTSSt*", "_ZNSt9exception*",
	"_ZNKSt9exception*", "_ZNSt9bad_alloc*", "_ZNSt6thread*", "_ZTINSt6thread*", "_ZTSNSt6thread*",
	"_ZNSt18condition_variable*", "_ZSt7nothrow",
};

/* The shared libraries a candidate may need, by soname prefix. */
static const char *const allowed_needed[] = {
	"libcudart.so.", "libc.so.", "libm.so.", "libgcc_s.so.", "libstdc++.so.",
	"ld-linux-x86-64.so.", "ld-linux-aarch64.so.", "libdl.so.", "libpthread.so.", "librt.so.",
};

/* Vendor libraries' file names, found in the data (what a dlopen would be
 * given, however the string literal was pasted together). */
static const char *const library_files[] = {
	"libcublas", "libcudnn", "libcufft", "libcurand", "libcusparse", "libcusolver",
	"libcutensor", "libnvblas", "libnvrtc", "libtorch", "libc10",
};

/* Whether name matches pattern: exact, or a prefix when pattern ends in '*'. */
static bool matches(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

/* Whether name is a CUDA runtime API entry point: "cuda" and a capital. */
static bool is_runtime_api(const char *name)
{
	return strncmp(name, "cuda", 4) == 0 && isupper((unsigned char)name[4]);
}

/* std::__throw_length_error and its kin: _ZSt<digits>__throw_... */
static bool is_std_throw(const char *name)
{
	if (strncmp(name, "_ZSt", 4))
		return false;
	const char *p = name + 4;
	while (isdigit((unsigned char)*p))
		p++;
	return p > name + 4 && strncmp(p, "__throw_", 8) == 0;
}

/* The ELF file as read, and the pieces the checks use. */
struct elf_view {
	const char *path;
	const unsigned char *data;   /* the whole file */
	size_t len;                  /* bytes */
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;        /* e_shnum entries */
	const Elf64_Sym *dynsym;     /* n_dynsym entries, from .dynsym */
	size_t n_dynsym;
	const char *dynstr;          /* .dynstr, dynstr_len bytes */
	size_t dynstr_len;
	const Elf64_Dyn *dyn;        /* n_dyn entries, from .dynamic */
	size_t n_dyn;
	bool static_runtime;         /* the static CUDA runtime is linked in */
};

static bool in_file(const struct elf_view *v, uint64_t off, uint64_t size)
{
	return off <= v->len && size <= v->len - off;
}

/* A NUL-terminated string at off in .dynstr, or NULL. */
static const char *dynstr_at(const struct elf_view *v, uint64_t off)
{
	if (off >= v->dynstr_len || !memchr(v->dynstr + off, '\0', v->dynstr_len - off))
		return NULL;
	return v->dynstr + off;
}

/* Finds .dynsym, .dynstr and .dynamic, and checks them against PT_DYNAMIC. */
static int elf_view_parse(struct elf_view *v)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)v->data;
	const Elf64_Shdr *dynsym_sh = NULL, *dynamic_sh = NULL;
	if (v->len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return error("%s is not an ELF file", v->path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return error("%s is not a little-endian ELF64 file", v->path);
	if (eh->e_type != ET_DYN)
		return error("%s is not a shared object", v->path);
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(v, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) ||
	    !in_file(v, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)) ||
	    eh->e_shoff % 8 || eh->e_phoff % 8)
		return error("%s: section or program header table out of bounds", v->path);
	v->eh = eh;
	v->sh = (const Elf64_Shdr *)(v->data + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *s = &v->sh[i];
		if (s->sh_type != SHT_NOBITS && !in_file(v, s->sh_offset, s->sh_size))
			return error("%s: section %u out of bounds", v->path, i);
		if (s->sh_type == SHT_DYNSYM) {
			if (dynsym_sh)
				return error("%s has two dynamic symbol tables", v->path);
			dynsym_sh = s;
		} else if (s->sh_type == SHT_DYNAMIC) {
			if (dynamic_sh)
				return error("%s has two dynamic sections", v->path);
			dynamic_sh = s;
		}
	}
	if (!dynsym_sh || !dynamic_sh)
		return error("%s has no dynamic symbol table or dynamic section", v->path);
	/* The string table must be one: a SHT_NOBITS one was never bounds-checked. */
	if (dynsym_sh->sh_link >= eh->e_shnum || dynamic_sh->sh_link != dynsym_sh->sh_link ||
	    v->sh[dynsym_sh->sh_link].sh_type != SHT_STRTAB ||
	    dynsym_sh->sh_offset % 8 || dynamic_sh->sh_offset % 8)
		return error("%s: inconsistent dynamic sections", v->path);
	const Elf64_Shdr *str = &v->sh[dynsym_sh->sh_link];
	v->dynsym = (const Elf64_Sym *)(v->data + dynsym_sh->sh_offset);
	v->n_dynsym = dynsym_sh->sh_size / sizeof(Elf64_Sym);
	v->dynstr = (const char *)(v->data + str->sh_offset);
	v->dynstr_len = str->sh_size;
	v->dyn = (const Elf64_Dyn *)(v->data + dynamic_sh->sh_offset);
	v->n_dyn = dynamic_sh->sh_size / sizeof(Elf64_Dyn);

	/* The loader reads PT_DYNAMIC and the addresses in it, not the sections:
	 * they must be the same tables. */
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(v->data + eh->e_phoff);
	bool found = false;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC) {
			if (found || ph[i].p_offset != dynamic_sh->sh_offset)
				return error("%s: PT_DYNAMIC is not the .dynamic section", v->path);
			found = true;
		}
	if (!found)
		return error("%s has no PT_DYNAMIC", v->path);
	for (size_t i = 0; i < v->n_dyn && v->dyn[i].d_tag != DT_NULL; i++) {
		const Elf64_Dyn *d = &v->dyn[i];
		if ((d->d_tag == DT_SYMTAB && d->d_un.d_ptr != dynsym_sh->sh_addr) ||
		    (d->d_tag == DT_STRTAB && d->d_un.d_ptr != str->sh_addr))
			return error("%s: the dynamic section points at other tables than .dynsym/.dynstr", v->path);
	}
	return 0;
}

/* Whether the static CUDA runtime is linked in: the object needs no
 * libcudart but defines the runtime's registration call itself (.symtab). */
static bool has_static_runtime(const struct elf_view *v)
{
	for (size_t i = 0; i < v->n_dyn && v->dyn[i].d_tag != DT_NULL; i++) {
		const char *lib = v->dyn[i].d_tag == DT_NEEDED ? dynstr_at(v, v->dyn[i].d_un.d_val) : NULL;
		if (lib && !strncmp(lib, "libcudart.so.", 13))
			return false;
	}
	for (unsigned i = 0; i < v->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &v->sh[i];
		if (s->sh_type != SHT_SYMTAB || s->sh_link >= v->eh->e_shnum || s->sh_offset % 8 ||
		    v->sh[s->sh_link].sh_type != SHT_STRTAB)
			continue;
		const Elf64_Shdr *str = &v->sh[s->sh_link];
		const Elf64_Sym *sym = (const Elf64_Sym *)(v->data + s->sh_offset);
		const char *names = (const char *)(v->data + str->sh_offset);
		for (size_t k = 0; k < s->sh_size / sizeof *sym; k++) {
			uint32_t at = sym[k].st_name;
			if (sym[k].st_shndx == SHN_UNDEF || at >= str->sh_size)
				continue;
			if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && str->sh_size - at > 23 &&
			    !memcmp(names + at, "__cudaRegisterFatBinary", 24))
				return true;
		}
	}
	return false;
}

static int check_needed(const struct elf_view *v, char **why)
{
	for (size_t i = 0; i < v->n_dyn && v->dyn[i].d_tag != DT_NULL; i++) {
		if (v->dyn[i].d_tag != DT_NEEDED)
			continue;
		const char *lib = dynstr_at(v, v->dyn[i].d_un.d_val);
		if (!lib)
			return error("%s: a DT_NEEDED entry out of bounds", v->path);
		bool ok = false;
		for (size_t k = 0; k < sizeof allowed_needed / sizeof allowed_needed[0] && !ok; k++)
			ok = !strncmp(lib, allowed_needed[k], strlen(allowed_needed[k]));
		if (!ok) {
			*why = xasprintf("the shared object needs %s: the policy allows the C, C++ and CUDA runtimes only",
					 lib);
			return 1;
		}
	}
	return 0;
}

static int check_imports(const struct elf_view *v, char **why)
{
	for (size_t i = 1; i < v->n_dynsym; i++) {
		const Elf64_Sym *s = &v->dynsym[i];
		if (s->st_shndx != SHN_UNDEF || !s->st_name)
			continue;
		const char *name = dynstr_at(v, s->st_name);
		if (!name)
			return error("%s: a symbol name out of bounds", v->path);
		for (size_t k = 0; k < sizeof denied / sizeof denied[0]; k++) {
			if (!matches(denied[k].name, name))
				continue;
			bool runtime = false;
			for (size_t r = 0; r < sizeof runtime_loader / sizeof runtime_loader[0]; r++)
				runtime |= v->static_runtime && !strcmp(name, runtime_loader[r]);
			if (runtime)
				goto next;
			*why = xasprintf("the shared object imports %s (%s): the policy asks for kernels of their own",
					 name, denied[k].what);
			return 1;
		}
		if (is_runtime_api(name) || is_std_throw(name))
			continue;
		for (size_t k = 0; v->static_runtime && k < sizeof runtime_imports / sizeof runtime_imports[0]; k++)
			if (!strcmp(runtime_imports[k], name))
				goto next;
		for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
			if (matches(allowed[k], name))
				goto next;
		*why = xasprintf("the shared object imports %s, which is not on the list of what a kernel's host code may call",
				 name);
		return 1;
next:;
	}
	return 0;
}

/* The names of vendor libraries in allocated data that is not code. */
static int check_data(const struct elf_view *v, char **why)
{
	for (unsigned i = 0; i < v->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &v->sh[i];
		if (s->sh_type != SHT_PROGBITS || !(s->sh_flags & SHF_ALLOC) || (s->sh_flags & SHF_EXECINSTR))
			continue;
		const unsigned char *p = v->data + s->sh_offset;
		for (size_t k = 0; k < sizeof library_files / sizeof library_files[0]; k++) {
			const unsigned char *hit = memmem(p, s->sh_size, library_files[k], strlen(library_files[k]));
			if (hit) {
				*why = xasprintf("the shared object's data names %s (at offset %zu): the policy asks for kernels of their own",
						 library_files[k], (size_t)(hit - v->data));
				return 1;
			}
		}
	}
	return 0;
}

int linkcheck_so(const char *so_path, char **why)
{
	char *data = NULL;
	size_t len = 0;
	struct elf_view v = { .path = so_path };
	int rc;
	*why = NULL;
	rc = util_read_file(so_path, SO_CAP, &data, &len);
	if (rc)
		goto out;
	v.data = (const unsigned char *)data;
	v.len = len;
	rc = elf_view_parse(&v);
	if (rc)
		goto out;
	v.static_runtime = has_static_runtime(&v);
	rc = check_needed(&v, why);
	if (rc)
		goto out;
	rc = check_imports(&v, why);
	if (rc)
		goto out;
	rc = check_data(&v, why);
out:
	free(data);
	return rc < 0 ? -1 : rc;
}
