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

#endif
