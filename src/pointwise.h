/*
 * pointwise.h - the CUDA text of pointwise ATen ops, for the naive generator
 * (one kernel per op) and for the pointwise template (the whole chain as one
 * device function, carried to it in the problem's defines).
 */
#ifndef KBREED_POINTWISE_H
#define KBREED_POINTWISE_H

#include "graph.h"
#include "util.h"

#include <stddef.h>

/* A double as a C++ literal of type real ("(real)0.5", "(real)-INFINITY"). */
void pointwise_literal(char *out, size_t n, double v);

/* The expression of a pointwise op in x0, x1, x2 (its tensor arguments, as
 * `real`) and its attributes, into e (n bytes). Returns 0, or 1 when op is
 * not pointwise. */
int pointwise_expr(const struct graph_op *op, char *e, size_t n);

/* When g is a pure pointwise graph, appends to out the defines that the
 * pointwise template (templates/elementwise/pointwise_vec.cu) computes it with:
 *   #define KB_PW_NIN 2      the graph's inputs, in the ABI's order (1..4)
 *   #define KB_PW_MAIN 0     the input of the output's shape (its dtype: fp32,
 *                            fp16 or bf16, the output's)
 *   #define KB_PW_BODY ...   statements from `real v` (an element of the main
 *                            input) and `real s[k]` (the one value of input k,
 *                            every other input) to `return y;`
 * Pure pointwise: one output; no parameters; every op pointwise with one
 * result in the output's dtype (or bool); every tensor of the output's
 * shape or of one element. Returns 0
 * when appended, 1 when g is not pure pointwise (nothing appended). */
int pointwise_body(const struct op_graph *g, struct buf *out);

#endif
