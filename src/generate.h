/*
 * generate.h - a naive CUDA candidate for any recognised op graph.
 *
 * Part of the problem stage's output side: given a problem's forward pass as
 * ATen ops (src/graph.h), emit one complete, standalone .cu file against the
 * candidate ABI (docs/ABI.md) that computes it straightforwardly: one kernel
 * per op, shapes as constants, intermediates in stream-ordered scratch, every
 * launch checked. It is the trusted first rung that search improves upon.
 */
#ifndef KBREED_GENERATE_H
#define KBREED_GENERATE_H

#include "graph.h"

/* Emits a candidate for g. Returns 0 with *source set to the whole .cu
 * (caller frees); 1 when the graph has ops or dtypes this generator does not
 * cover, with *why naming them (caller frees); -1 on an internal error (an
 * invalid graph, a source past its size cap), with *why saying what. */
int generate_naive(const struct op_graph *g, char **source, char **why);

/* Whether the naive generator covers the op named name ("aten.mul"). */
bool generate_covers(const char *name);

#endif
