/*
 * dtype.h - the element types of the candidate ABI by name and size. Part of
 * the problem stage; the problem, its op graph and the judge share it.
 */
#ifndef KBREED_DTYPE_H
#define KBREED_DTYPE_H

#include "../include/kbreed_candidate.h"

#include <stddef.h>

/* Bytes per element; 0 for an unknown type. */
size_t dtype_size(enum kb_dtype t);
/* "f32", "f16", "bf16", "f64", "i32", "i64", "bool"; "?" for an unknown type. */
const char *dtype_name(enum kb_dtype t);
/* Parses a name as dtype_name gives it; returns -1 when unknown. */
int dtype_parse(const char *s);

#endif
