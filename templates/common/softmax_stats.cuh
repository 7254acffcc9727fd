// softmax_stats.cuh - the running statistics of the softmax templates
// (softmax_online, softmax_cluster), written once:
//   vec_t<V>::T               float, float2 or float4: V floats a load
//   comp(v, j), setcomp(v, j, f)
//                             component j of such a vector (j a constant after
//                             unrolling, so the vector stays in registers)
//   ms_merge(m, s, m2, s2)    (m, s) := the merge of two (max, sum of
//                             exp(x - max)) pairs, an empty pair being (-inf, 0)
//   ms_push(m, s, v)          one value added to a pair, online: the sum is
//                             rescaled when the max grows
//   ms_push_vec(m, s, v)      V values: one rescale for the vector's max
//   sm_out<LOG>(v, m, k)      y from x = v and the row's max m: exp(v - m) * k,
//                             k = 1 / sum; for log_softmax (LOG = 1)
//                             v - m - k, k = log(sum)
//   block_ms<NW>(m, s, sh)    the pairs of a block of NW warps merged
//                             (kb_block_reduce of reduce.cuh, which this file
//                             pulls in, with ms_merge); every thread gets the
//                             result (sh: NW float2 of shared memory, free
//                             again on return)
//   softmax_shape(in, n_in, out, n_out, &B, &L, &I)
//                             (host) the checks every softmax candidate makes
//                             (one fp32 input, an output of its shape, SOFTMAX_DIM
//                             in range) and x as B x L x I, L the softmax dim:
//                             KB_OK or KB_ERR_SHAPE
// A row of -inf stays (-inf, 0), so exp(x - max) is NaN there, as in PyTorch.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_SOFTMAX_STATS_CUH
#define KBREED_COMMON_SOFTMAX_STATS_CUH

#include <math.h>
#include "reduce.cuh" // kbreed:inline

template <int V> struct vec_t;
template <> struct vec_t<1> { typedef float T; };
template <> struct vec_t<2> { typedef float2 T; };
template <> struct vec_t<4> { typedef float4 T; };

__device__ __forceinline__ float comp(float v, int) { return v; }
__device__ __forceinline__ float comp(float2 v, int j) { return j == 0 ? v.x : v.y; }
__device__ __forceinline__ float comp(float4 v, int j)
{
	return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
}
__device__ __forceinline__ void setcomp(float &v, int, float f) { v = f; }
__device__ __forceinline__ void setcomp(float2 &v, int j, float f)
{
	if (j == 0) v.x = f; else v.y = f;
}
__device__ __forceinline__ void setcomp(float4 &v, int j, float f)
{
	if (j == 0) v.x = f; else if (j == 1) v.y = f; else if (j == 2) v.z = f; else v.w = f;
}

__device__ __forceinline__ void ms_merge(float &m, float &s, float m2, float s2)
{
	float M = fmaxf(m, m2);
	if (M == -INFINITY)
		return; /* both empty */
	float a = (m == -INFINITY) ? 0.0f : s * expf(m - M);
	float b = (m2 == -INFINITY) ? 0.0f : s2 * expf(m2 - M);
	m = M;
	s = a + b;
}

__device__ __forceinline__ void ms_push(float &m, float &s, float v)
{
	if (v > m) {
		s = (m == -INFINITY ? 0.0f : s * expf(m - v)) + 1.0f;
		m = v;
	} else if (m != -INFINITY) { /* else v = m = -inf: adds 0 */
		s += expf(v - m);
	}
}

template <typename T>
__device__ __forceinline__ void ms_push_vec(float &m, float &s, const T &v)
{
	constexpr int V = sizeof(T) / sizeof(float);
	float mc = comp(v, 0);
#pragma unroll
	for (int j = 1; j < V; j++)
		mc = fmaxf(mc, comp(v, j));
	if (mc > m) {
		s = (m == -INFINITY) ? 0.0f : s * expf(m - mc);
		m = mc;
	}
	if (m != -INFINITY) { /* else all V values are -inf */
		float acc = 0.0f;
#pragma unroll
		for (int j = 0; j < V; j++)
			acc += expf(comp(v, j) - m);
		s += acc;
	}
}

template <int LOG> __device__ __forceinline__ float sm_out(float v, float m, float k)
{
	return LOG ? (v - m) - k : expf(v - m) * k;
}

/* ms_merge as a combine op on (m, s) pairs: commutative bit for bit (the
 * larger maximum, then a sum of two terms), (-inf, 0) its identity. */
struct ms_merge_op {
	__device__ __forceinline__ float2 operator()(float2 a, float2 b) const
	{
		ms_merge(a.x, a.y, b.x, b.y);
		return a;
	}
};

template <int NW> __device__ void block_ms(float &m, float &s, float2 *sh)
{
	const float2 empty = make_float2(-INFINITY, 0.0f);
	const float2 t = kb_block_reduce<NW>(make_float2(m, s), sh, ms_merge_op(), empty);
	m = t.x;
	s = t.y;
}

/* Host: the shape checks and the B x L x I view of x (see the top). */
static int softmax_shape(const kb_tensor *in, int n_in, const kb_tensor *out, int n_out, int64_t *B,
			 int64_t *L, int64_t *I)
{
	if (!in || !out || n_in != 1 || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *y = &out[0];
	if (x->dtype != KB_F32 || y->dtype != KB_F32 || x->ndim < 1 || !kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	const int d = SOFTMAX_DIM < 0 ? SOFTMAX_DIM + x->ndim : SOFTMAX_DIM;
	if (d < 0 || d >= x->ndim)
		return KB_ERR_SHAPE;
	*B = 1;
	*L = x->shape[d];
	*I = 1;
	for (int i = 0; i < d; i++)
		*B *= x->shape[i];
	for (int i = d + 1; i < x->ndim; i++)
		*I *= x->shape[i];
	return KB_OK;
}

#endif
