/*
 * policy.h - what a candidate may call. kbreed breeds kernels: a candidate
 * that hands the work to a vendor library (cuBLAS, cuDNN, CUTLASS's device
 * GEMMs, PyTorch itself) or loads code at run time is not a kernel of its
 * own, and is rejected before it is compiled. The check reads the source; it
 * is a declared rule, not a sandbox (docs/EVALUATION.md).
 */
#ifndef KBREED_POLICY_H
#define KBREED_POLICY_H

#include <stdbool.h>

/* Whether source breaks the policy; when it does, *why (caller frees) names
 * what was found and where. */
bool policy_violation(const char *source, char **why);

/* Whether source would make the compiler read a file outside the include
 * directories: an #include (or #include_next, #import, #embed) of an
 * absolute path, a home directory or a path with a ".." component, or named
 * by a macro; ".incbin" anywhere in the code, or ".include" in a string
 * (inline assembly), after line splices are joined, adjacent literals
 * concatenated and escapes decoded. Comments, character literals and raw
 * strings are told apart as the preprocessor does. Applies whatever
 * --allow-libraries says: it guards the machine's files, not the libraries.
 * When it does, *why (caller frees) names what and where. */
bool policy_reads_files(const char *source, char **why);

#endif
