/*
 * linkcheck.h - the library policy's second layer, after compiling: what the
 * candidate's shared object imports. The text policy (policy.h) reads the
 * source and is defeated by token pasting, line splices and the like; the
 * imports are what the dynamic loader will bind, whatever the source looked
 * like. The judge calls linkcheck_so() after compiling and before loading,
 * and --allow-libraries lifts it as it lifts the text policy.
 *
 * What each layer catches, and what neither does: docs/EVALUATION.md.
 */
#ifndef KBREED_LINKCHECK_H
#define KBREED_LINKCHECK_H

/*
 * Reads the ELF64 shared object at so_path (its dynamic symbol table, its
 * DT_NEEDED entries and its read-only data) and judges it:
 *   0  allowed;
 *   1  it objects: *why (caller frees) names the symbol, library or string
 *      and why it is not allowed;
 *  -1  the file cannot be read or is not an ELF64 shared object it can
 *      parse (reported with error(); *why stays NULL).
 *
 * The check is exact when the candidate is built with `-cudart shared`: every
 * import is then the candidate's own. With the static CUDA runtime linked in
 * (nvcc's default), the runtime itself imports dlopen, dlsym, dlvsym, dlmopen
 * and syscall, so those five cannot be told from the candidate's and are let
 * through; everything else is judged the same way.
 */
int linkcheck_so(const char *so_path, char **why);

#endif
