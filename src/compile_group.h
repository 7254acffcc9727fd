/*
 * compile_group.h - several candidates in one translation unit, so that one
 * nvcc pays once for what does not depend on the kernel.
 *
 * Most of a candidate's nvcc is fixed cost: an empty candidate takes ~1.6 s
 * (cudafe++ and the host compiler over the CUDA headers, cicc over them
 * again, the link), a 2,000-line implicit-GEMM convolution ~2.0 s. A group
 * puts up to COMPILE_GROUP_MAX candidates in one file, each in a namespace of
 * its own, its entry points renamed (kbreed_forward becomes
 * kbreed_forward__member<i>); compile.c compiles the group once (-c) and
 * links one shared object per member, whose kbreed_forward and
 * kbreed_abi_version are that member's (ld --defsym). The worker, the ABI and
 * the cache see nothing new: each member still has its own object under its
 * own key.
 *
 * Only sources that cannot tell they were grouped are grouped
 * (compile_group_fits): headers from a list that is included once, before
 * every member; no directive that outlives the member (every macro the
 * member defines or undefines is saved before it and restored after it with
 * push_macro/pop_macro); no declaration that names a global entity (extern,
 * except the ABI's entry points and extern __shared__ arrays); no code that
 * runs at load time (constructor, destructor attributes), whether written
 * in the code or in a macro's body; no token pasting (##), which could
 * spell either; no macro that may configure the headers (reserved names,
 * NDEBUG, CUDA_..., CUB_...), since the unit includes them before any member. A group that does
 * not compile, or a member that does not link, is compiled alone: its
 * diagnostics and verdict are then its own (compile.c).
 */
#ifndef KBREED_COMPILE_GROUP_H
#define KBREED_COMPILE_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMPILE_GROUP_MAX 8       /* members of one group at most */
#define COMPILE_GROUP_DEFAULT 4   /* compile_group_size() when not told */

/* The members a group may hold: $KBREED_COMPILE_GROUP (1 to
 * COMPILE_GROUP_MAX; 1 compiles every candidate alone) when set and valid,
 * else COMPILE_GROUP_DEFAULT. */
int compile_group_size(void);

/* Whether a candidate's source (text, len bytes, read from `path`) can share
 * a translation unit. When not, *why (static storage) says why. When it can
 * and `header_set` is not NULL, *header_set is the set of headers it
 * includes (a bit each): only members of one set share a unit, so that each member's
 * unit includes what it does, no more. */
bool compile_group_fits(const char *text, size_t len, const char *path, const char **why, uint64_t *header_set);

/* The translation unit of n members (1..COMPILE_GROUP_MAX), each of which
 * fits: the headers they include, then each member in its namespace, with
 * `#line` directives naming its own path so that diagnostics and line
 * information point into its own file. `self` is the unit's own path, named
 * after each member. Caller frees. */
char *compile_group_source(const char *const *texts, const char *const *paths, int n, const char *self);

/* The names member i of a group defines for kbreed_forward and
 * kbreed_abi_version (buffers of 64 bytes). */
void compile_group_symbols(int i, char forward[64], char abi[64]);

#endif
