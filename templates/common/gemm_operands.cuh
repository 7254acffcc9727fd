// gemm_operands.cuh - the operands of a matrix product as kbreed_forward
// receives them, read once for the GEMM templates (gemm_wgmma_tf32,
// gemm_wgmma_f16):
//   kb_gemm_operands(a, b, c, dtype, trans_a, trans_b, fold, &s)
//                   C = op(A) @ op(B), op(X) = X or, transposed, X's last two
//                   dims swapped; A (..., M, K) or (..., K, M), B (..., K, N)
//                   or (..., N, K), C (..., M, N), all of one dtype. Fills s
//                   (M, N, K; rows_a, the rows of A the kernel walks; batch,
//                   the matrices of C; whether A and B have one matrix per
//                   batch) and returns KB_OK, or KB_ERR_SHAPE for operands
//                   that do not make that product.
// The batch: where fold is true, B has no leading dims and A is not
// transposed, A's leading dims fold into M (rows_a = their product x M, one
// matrix); otherwise each operand has C's leading dims or none (shared by
// every matrix of C), and C has M rows per matrix.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), so that a candidate stays one whole file.
#ifndef KBREED_COMMON_GEMM_OPERANDS_CUH
#define KBREED_COMMON_GEMM_OPERANDS_CUH

#include <stdint.h>
#include "kbreed_candidate.h"

struct kb_gemm_shape {
	int64_t M, N, K;     /* op(A) (M, K), op(B) (K, N) */
	int64_t rows_a;      /* A's rows as the kernel walks them: M, or M x A's folded leading dims */
	int64_t batch;       /* C's matrices: the product of its leading dims (1 when folded) */
	bool a_batched;      /* A has a matrix per batch (else one, shared) */
	bool b_batched;      /* B likewise */
};

/* The product of dims [0, n) of t. */
static inline int64_t kb_lead(const kb_tensor *t, int n)
{
	int64_t p = 1;
	for (int i = 0; i < n; i++)
		p *= t->shape[i];
	return p;
}

/* Whether t's dims [0, n) are c's dims [0, n). */
static inline bool kb_same_lead(const kb_tensor *t, int n, const kb_tensor *c)
{
	for (int i = 0; i < n; i++)
		if (t->shape[i] != c->shape[i])
			return false;
	return true;
}

static inline int kb_gemm_operands(const kb_tensor *a, const kb_tensor *b, const kb_tensor *c, int dtype,
				   bool trans_a, bool trans_b, bool fold, struct kb_gemm_shape *s)
{
	if (a->dtype != dtype || b->dtype != dtype || c->dtype != dtype)
		return KB_ERR_SHAPE;
	const int na = a->ndim, nb = b->ndim, nc = c->ndim;
	if (na < 2 || nb < 2 || nc < 2 || na > KBREED_MAX_DIMS || nb > KBREED_MAX_DIMS || nc > KBREED_MAX_DIMS)
		return KB_ERR_SHAPE;
	for (int i = 0; i < na; i++)
		if (a->shape[i] < 0)
			return KB_ERR_SHAPE;
	for (int i = 0; i < nb; i++)
		if (b->shape[i] < 0)
			return KB_ERR_SHAPE;
	s->M = trans_a ? a->shape[na - 1] : a->shape[na - 2];
	s->K = trans_a ? a->shape[na - 2] : a->shape[na - 1];
	s->N = trans_b ? b->shape[nb - 2] : b->shape[nb - 1];
	if ((trans_b ? b->shape[nb - 1] : b->shape[nb - 2]) != s->K || c->shape[nc - 1] != s->N)
		return KB_ERR_SHAPE;
	s->rows_a = s->M;
	s->batch = 1;
	s->a_batched = s->b_batched = false;
	if (fold && nb == 2 && !trans_a) {
		if (nc != na || !kb_same_lead(a, na - 1, c))
			return KB_ERR_SHAPE;
		s->rows_a = kb_lead(a, na - 1);
		return KB_OK;
	}
	if (c->shape[nc - 2] != s->M || (na > 2 && (na != nc || !kb_same_lead(a, na - 2, c))) ||
	    (nb > 2 && (nb != nc || !kb_same_lead(b, nb - 2, c))) || (na == 2 && nb == 2 && nc != 2))
		return KB_ERR_SHAPE;
	s->batch = kb_lead(c, nc - 2);
	s->a_batched = na > 2;
	s->b_batched = nb > 2;
	return KB_OK;
}

#endif
