/*
 * views.h - which dims of a source tensor a chain of view ops regroups.
 *
 * Part of the problem stage, for recognition (src/recognize.c). A model
 * often reaches its one real op through views: A.T, an einsum's unsqueeze,
 * permute and reshape, a result viewed back to four dims. Templates take
 * the inputs as stored and write the output as stored, so recognition must
 * know how the op's operand dims map onto the stored dims. A view chain is
 * followed back from a tensor to its source (the first tensor not made by a
 * view op) and replayed forward: every dim of the result is a run of the
 * source's dims ("atoms", the source dims of more than one element, in
 * memory order within the run). Dims of one element hold no atoms.
 */
#ifndef KBREED_VIEWS_H
#define KBREED_VIEWS_H

#include "graph.h"

#include <stdbool.h>

struct view_dims {
	int ndim;
	int n[KBREED_MAX_DIMS];                   /* atoms of each dim */
	int atom[KBREED_MAX_DIMS][KBREED_MAX_DIMS]; /* the source dims of each, outermost first */
};

/* Follows tensor t back through view ops to its source: the first tensor
 * not made by a view op, or `stop` when the chain reaches it (-1: none).
 * Fills *source and *d (t's dims as runs of the source's dims). False when
 * a view on the way cannot be followed (a slice, an expand that grows, a
 * reshape that splits a source dim, a chain longer than the graph). */
bool view_dims_of(const struct op_graph *g, int t, int stop, int *source, struct view_dims *d);

/* True when dim k of d is exactly the one source dim s (or holds no atom
 * and s < 0). */
bool view_dim_is(const struct view_dims *d, int k, int s);

/* True when reading d's dims [from, to) in order gives the source dims of
 * more than one element among [lo, hi) in order: those dims hold that
 * source range in memory order. */
bool view_dims_span(const struct op_graph *g, int source, const struct view_dims *d, int from, int to, int lo,
		    int hi);

/* True when every view between tensor t and `stop` (or t's source when
 * stop is not on the chain) keeps the elements' order: reshapes, unit dims
 * added or removed, permutes that only move dims of one element. Fills
 * *source as view_dims_of does. */
bool view_keeps_order(const struct op_graph *g, int t, int stop, int *source);

/* True for a view op that neither moves nor drops an element: it regroups
 * dims (view, reshape, squeeze, unsqueeze, flatten, ...) or copies or
 * aliases the tensor as it is (clone, contiguous, detach, alias). */
bool view_is_reshape(const char *name);

#endif
