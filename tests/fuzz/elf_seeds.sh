#!/bin/sh
# elf_seeds.sh - rebuilds the seed corpus of fuzz_linkcheck
# (corpus/linkcheck/): small real shared objects made with cc, each taking
# one path through linkcheck_so. Run from anywhere; needs cc, strip and
# libdl/libm's development files (Debian's build-essential).
set -eu
out="$(cd "$(dirname "$0")" && pwd)/corpus/linkcheck"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
cc_so() { cc -shared -fPIC -O1 -nostartfiles -Wl,-z,noseparate-code -Wl,--hash-style=gnu -x c - -o "$@"; }

# Imports only what a kernel's host code may: allowed.
printf '%s\n' '#include <stdio.h>' '#include <stdlib.h>' \
	'int kbreed_forward(int n) { float *p = malloc(n * sizeof *p); printf("%p\n", (void *)p); free(p); return 0; }' |
	cc_so "$out/allowed.so"
# The same, with no .symtab.
strip "$out/allowed.so" -o "$out/stripped.so"
# Imports dlopen: refused.
printf '%s\n' '#include <dlfcn.h>' 'int kbreed_forward(void) { return dlopen("x.so", RTLD_NOW) != 0; }' |
	cc_so "$out/dlopen.so" -ldl
# Names a vendor library in its data: refused.
printf '%s\n' 'const char *kbreed_library_name = "libcublas.so.12";' \
	'int kbreed_forward(void) { return kbreed_library_name[0]; }' | cc_so "$out/libname.so"
# Needs libm: allowed.
printf '%s\n' '#include <math.h>' 'double kbreed_forward(double x) { return erf(x) + sqrt(x); }' |
	cc_so "$out/needs_libm.so" -lm
# Defines the static CUDA runtime's registration call and imports its loader:
# taken for the static runtime, so dlopen and syscall are let through.
printf '%s\n' '#include <dlfcn.h>' '#include <unistd.h>' \
	'void __cudaRegisterFatBinary(void) {}' \
	'long kbreed_forward(void) { return (long)dlopen("libcuda.so.1", RTLD_NOW) + syscall(39); }' |
	cc_so "$out/static_runtime.so" -ldl
