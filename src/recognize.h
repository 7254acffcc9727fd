/*
 * recognize.h - from a problem's op graph to its playbook family.
 *
 * Part of the problem stage, after the bridge's describe: the graph
 * (src/graph.h) says which ATen ops the forward calls; recognition names the
 * family (elementwise, reduce, norm, softmax, scan, loss, matmul, pool, conv,
 * attention), the op as templates name it ("gelu", "layernorm", "conv2d",
 * "maxpool1d", ...) and the hyper-parameters no tensor carries, as #define
 * lines ("#define CONV_STRIDE 4"). A problem file's KBREED_FAMILY (with
 * KBREED_OP and KBREED_DEFINES) still wins: recognition only fills what the
 * file leaves open.
 */
#ifndef KBREED_RECOGNIZE_H
#define KBREED_RECOGNIZE_H

#include "graph.h"
#include "problem.h"

#include <stdbool.h>

struct recognition {
	char *family;    /* playbook family; owned; NULL when not recognised */
	char *op;        /* the op as templates name it; owned; NULL when not recognised */
	char *defines;   /* "#define NAME value\n" lines; owned, "" when none */
	char *missing;   /* not recognised: the ops no family covers ("aten.foo, aten.bar")
	                  * or why; owned; NULL when recognised */
};

void recognition_init(struct recognition *r);
void recognition_release(struct recognition *r);

/* Recognises g into r (released first). Returns true when a family was
 * found; otherwise r->missing says what was not covered. */
bool recognize_graph(const struct op_graph *g, struct recognition *r);

/* The FLOPs (two per multiply-add) of the graph's convolutions, matrix
 * products (mm, addmm, bmm, baddbmm, mv, addmv, dot, matmul) and
 * scaled dot-product attention, counted from their tensors' shapes as
 * PyTorch's FlopCounterMode counts them: a depthwise-separable pair is the
 * depthwise's 2*N*C*OH*OW*KH*KW plus the pointwise's 2*N*Cout*OH*OW*C, a
 * product 2 x its output's numel x the left operand's last axis. 0 for a
 * graph without any. */
double recognize_flops(const struct op_graph *g);

/* Applies recognition to a loaded problem: when the file does not declare
 * KBREED_FAMILY, p->family, p->op (unless KBREED_OP is declared) and
 * p->defines (unless KBREED_DEFINES is declared) come from the graph. An
 * unrecognised graph leaves family "generic" and warns, naming the ops not
 * covered and saying that --llm can take them. Where p->flops is 0 (the
 * bridge's torch could not count them, as on torch 1.13) it becomes
 * recognize_flops(p->graph). Returns true when p's family
 * was declared or recognised. */
bool recognize_problem(struct problem *p);

#endif
