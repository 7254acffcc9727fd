// kbreed winner for 23_Softmax: 3.9143 ms on NVIDIA H200 = 156% of PyTorch eager (6.0883 ms), 78% of the floor.
// Run 3, candidate 252, round 1. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template softmax_cluster
#define SOFTMAX_DIM 1
#define SOFTMAX_INNERMOST 1
#define KB_F32_ONLY 1
#define CLUSTER 8
#define THREADS 512
#define VEC 1
#define STREAM 1
#define BULK 1
#define CHUNKS 4
// kbreed-template: softmax_cluster
// family: softmax
// problems: softmax log_softmax
// requires: SOFTMAX_INNERMOST
// knob CLUSTER: 2 4 8 16 | default 8 | category memory access | blocks of a thread-block cluster sharing one row, each holding 1/CLUSTER of it in shared memory (16 is a non-portable cluster size)
// knob THREADS: 256 512 1024 | default 1024 | category parallelism | threads per block
// knob VEC: 1 2 4 | default 4 | category memory access | floats per load and store (float, float2, float4), where rows are a multiple of VEC long and x and y aligned to it; else 1
// knob STREAM: 0 1 | default 1 | category memory access | 1 = x read with __ldcs and y written with __stcs (evict-first): neither is touched again
// knob BULK: 0 1 | default 1 | category asynchronous | 1 = each block's slice arrives by bulk copies (cp.async.bulk: one thread issues, an mbarrier per chunk counts the bytes, no registers hold loads in flight), in CHUNKS pieces, and a piece is refilled with the next row's slice as soon as this row's output has been written from it, so that the next row's load overlaps this row's cluster barrier and writes (rows a multiple of 4 floats, x 16-byte aligned; else as 0; on 23_Softmax, H100: 88.8% of the floor against 82.0% with 0)
// knob CHUNKS: 2 4 8 | default 4 | category asynchronous | BULK=1 only: pieces of a block's slice, each with its own mbarrier: more start the next row's load earlier in the writes, at one block barrier each
// same: BULK=0 CHUNKS=2 as CHUNKS=4
// same: BULK=0 CHUNKS=8 as CHUNKS=4
// check: BULK=1 CHUNKS=2
// check: BULK=1 CHUNKS=8 CLUSTER=16 THREADS=256
/*
 * softmax_cluster.cu - torch.softmax(x, dim) and torch.log_softmax(x, dim)
 * over an innermost dim whose rows are too long for one SM's shared memory,
 * fp32; sm_90 (thread-block clusters, distributed shared memory).
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file:
 *   SOFTMAX_DIM        the softmax dim (negative: counted from the end)
 *   SOFTMAX_LOG        1 = log_softmax: y = x - max - log(sum exp(x - max))
 *   SOFTMAX_INNERMOST  the dim is innermost (required: rows are contiguous)
 *
 * Layout (contiguous, row-major, fp32):
 *   in[0]  x  (outer..., L)   e.g. (4096, 393216): rows of 1.5 MB
 *   out[0] y  same shape
 *
 * Why: a row-at-a-time softmax reads each row twice (statistics, then
 * output); when the rows in flight do not fit in L2 the second read comes
 * from DRAM, and one SM's 227 KB of shared memory cannot hold a 1.5 MB row.
 * A cluster of CLUSTER blocks, one per SM, can: it holds the row across its
 * blocks' shared memory, so x is read from DRAM once and y written once.
 *
 * Strategy: the row is cut into CLUSTER slices of S floats (S = L / CLUSTER
 * rounded up to a multiple of the vector width; the last slices may be
 * short or empty). Block rank r of a cluster loads slice r with V-wide
 * loads (four in flight per thread) into its shared memory, keeping an
 * online (max, sum of exp(x - max)) pair per thread, merged across the
 * block (shuffles, then shared memory). Thread 0 publishes the block's pair
 * in stat[parity of the row]; cluster_sync(); every thread then reads the
 * CLUSTER pairs through distributed shared memory (map_shared_rank) and
 * merges them in rank order, so all blocks get bit-identical statistics;
 * each block writes its slice normalised from shared memory. Each thread
 * reads back only the vectors it stored, so no barrier is needed between
 * the load and the write of a slice, nor between rows.
 * The grid is persistent: as many clusters as fit at once (cudaOccupancy-
 * MaxActiveClusters), each looping over rows r = cluster, cluster +
 * clusters, ...; every block of a cluster runs the same rows.
 * Synchronisation: stat is double-buffered by row parity, so one
 * cluster_sync a row suffices: a block writes stat[p] for row k + 2 only
 * after the sync of row k + 1, which every peer reaches after its reads of
 * row k's stat[p]. A last cluster_sync keeps every block (and its shared
 * memory) alive until its peers have read its final pair.
 * BULK=1: the same statistics and writes, but the slice comes into shared
 * memory by the bulk copy engine (cp.async.bulk, global to shared, with an
 * L2 evict-first policy), cut into CHUNKS pieces of whole float4s. Thread 0
 * arms piece c's mbarrier with its byte count and issues its copy; the
 * threads wait on each piece in turn (phase parity = the row's count mod 2)
 * and fold it into their (max, sum). The writes go piece by piece too;
 * after each, a block barrier (every thread is done reading the piece) and
 * thread 0 refills it with the next row's piece (a proxy fence first: the
 * threads read it through the generic proxy, the copy writes it through
 * the async one). So the next row's bytes are in flight while this row's
 * cluster barrier and writes run, with no registers held for them. Every
 * piece's size follows from the slice's, the same for every row, so a
 * piece that is empty for a block is never armed nor waited on.
 * Unsupported (KB_ERR_SHAPE, at launch): a slice larger than the shared
 * memory a block may have (the row does not fit the cluster: 4 x 227 KB
 * is too little for a 1.5 MB row, 8 is enough), a GPU that cannot place a
 * cluster of CLUSTER such blocks, a dim that is not innermost, not fp32.
 * expf() throughout (no fast-math intrinsics). Rows of -inf give NaN, as
 * PyTorch's softmax does.
 */
#ifndef CLUSTER
#define CLUSTER 8
#endif
#ifndef THREADS
#define THREADS 1024
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef STREAM
#define STREAM 1
#endif
#ifndef BULK
#define BULK 1
#endif
#ifndef CHUNKS
#define CHUNKS 4
#endif
#ifndef SOFTMAX_DIM
#define SOFTMAX_DIM 1
#endif
#ifndef SOFTMAX_LOG
#define SOFTMAX_LOG 0
#endif

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include "kbreed_candidate.h"
// ---- inlined from ../common/softmax_stats.cuh ----
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
// ---- inlined from reduce.cuh ----
// reduce.cuh - the warp and block reductions of the templates (rownorm,
// norm_groups, frobenius, layernorm_row, layernorm_split, gemv, loss_reduce,
// reduce_dim, flash_wgmma, the softmax templates through softmax_stats.cuh,
// and the naive kernels src/generate.c writes), written once,
// for any value type T and any combine op (sum, max, a (max, sum) merge, an
// (arg, value) merge):
//   kb_shfl_xor(v, off)           v from lane (lane ^ off) of the warp; any T
//                                 of whole 32-bit words, moved word by word
//   kb_warp_reduce(v, op)         op over the warp's 32 values; all 32 lanes
//                                 call it, and every lane gets the result
//   kb_block_reduce<NW>(v, sh, op, identity)
//                                 op over groups of NW consecutive warps (NW
//                                 = the block's warps: over the whole block);
//                                 every thread gets its group's result
// op(a, b) returns a combined with b. It must be commutative, bit for bit
// (a + b == b + a holds in IEEE arithmetic), so that the two lanes of each
// butterfly step, and hence all lanes, hold the same value; identity is its
// neutral value (0 for a sum, -inf for a max): op(v, identity) == v.
// The order of the combines is a fixed tree, the same in every lane, every
// warp and every run: deterministic, the result bit-identical in all threads.
//
// kb_block_reduce's contract:
// - every thread of the block calls it, with the same NW (it holds two
//   __syncthreads); the block is whole warps, NW divides their number and
//   is at most 32;
// - sh is shared memory of one T per warp of the block (NW of them when the
//   group is the block): each warp's result meets there;
// - the result is valid in every thread of the group on return;
// - it ends with a __syncthreads, so sh may be written again at once (the
//   next call, or other use) without a barrier of the caller's.
// Stages: a butterfly over each warp; lane 0 of each warp writes sh[warp];
// a barrier; every warp reads its group's NW values (identity past them)
// into its lanes and runs the butterfly again; a barrier.
//
// A type may bring its own kb_shfl_xor(T, int) overload, declared before the
// reduction is instantiated (argument-dependent lookup finds it), to move
// fewer words than the generic one (reduce_dim's accumulator shuffles its
// index only for argmax and argmin).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_REDUCE_CUH
#define KBREED_COMMON_REDUCE_CUH

#include <string.h>

__device__ __forceinline__ float kb_shfl_xor(float v, int off)
{
	return __shfl_xor_sync(0xffffffffu, v, off);
}

__device__ __forceinline__ double kb_shfl_xor(double v, int off)
{
	return __shfl_xor_sync(0xffffffffu, v, off);
}

/* Any other T (float2, double2, a struct of floats, doubles and ints): its
 * 32-bit words one at a time. */
template <typename T> __device__ __forceinline__ T kb_shfl_xor(T v, int off)
{
	static_assert(sizeof(T) % 4 == 0, "kb_shfl_xor moves whole 32-bit words");
	unsigned w[sizeof(T) / 4];
	memcpy(w, &v, sizeof v);
#pragma unroll
	for (int i = 0; i < (int)(sizeof(T) / 4); i++)
		w[i] = __shfl_xor_sync(0xffffffffu, w[i], off);
	memcpy(&v, w, sizeof v);
	return v;
}

/* op over the 32 lanes of the warp (all of them must call); every lane
 * returns the result. */
template <typename T, typename Op> __device__ __forceinline__ T kb_warp_reduce(T v, Op op)
{
#pragma unroll
	for (int off = 16; off > 0; off >>= 1)
		v = op(v, kb_shfl_xor(v, off));
	return v;
}

/* op over each group of NW consecutive warps of the block; see the
 * contract at the top. */
template <int NW, typename T, typename Op>
__device__ __forceinline__ T kb_block_reduce(T v, T *sh, Op op, T identity)
{
	static_assert(NW >= 1 && NW <= 32, "a group of 1 to 32 warps");
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	v = kb_warp_reduce(v, op);
	if (lane == 0)
		sh[warp] = v;
	__syncthreads();
	v = lane < NW ? sh[warp / NW * NW + lane] : identity;
	v = kb_warp_reduce(v, op);
	__syncthreads(); /* sh is free again */
	return v;
}

/* The combine ops the templates share. */
struct kb_sum {
	template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

/* (x, y) pairs summed componentwise: a block's (sum, sum of squares). */
struct kb_sum2 {
	__device__ __forceinline__ double2 operator()(double2 a, double2 b) const
	{
		return make_double2(a.x + b.x, a.y + b.y);
	}
};

/* max where a NaN wins, as torch.max propagates it (the naive kernels of
 * src/generate.c); between two NaNs, or +0 and -0, either may come out. */
struct kb_max_nan {
	template <typename T> __device__ __forceinline__ T operator()(T a, T b) const
	{
		return b > a || b != b ? b : a;
	}
};

/* fmaxf: a NaN is dropped in favour of the other value, as fmaxf does. */
struct kb_fmax {
	__device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

#endif
// ---- end of reduce.cuh ----

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
// ---- end of ../common/softmax_stats.cuh ----
// ---- inlined from ../common/host.cuh ----
// host.cuh - host helpers of the templates' kbreed_forward (and of the naive
// kernels src/generate.c writes), written once:
//   kb_sm_count()   the current device's number of SMs (multiprocessors), for
//                   sizing a grid to the machine; 0 where the runtime cannot
//                   say (no device, a failed call, a count below 1): the
//                   caller then returns KB_ERR_LAUNCH, or uses a default
//   kb_keep_pool_mapped()
//                   raises the current device's default memory pool's
//                   release threshold to the maximum, once per process: the
//                   pool then keeps what cudaFreeAsync returned mapped
//                   between calls instead of handing it back at every
//                   synchronisation, so that a call's stream-ordered
//                   scratch (cudaMallocAsync) costs no new mapping each
//                   time. Best effort: where the runtime refuses, memory is
//                   mapped afresh (slower, never wrong)
// The templates ask once and keep the answer in a static (g_sms), as a
// candidate runs on one device.
//
// Grid-wide state of a call (partial sums, tickets, scratch) is never a
// __device__ global: a candidate exported into PyTorch may run on two
// streams at once, and both calls would share it. Each call takes its own
// with cudaMallocAsync on its stream, initialises it there, and returns it
// with cudaFreeAsync on the same stream, after its last kernel
// (tests/bridge/test_template_state.sh checks that no template keeps any).
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_HOST_CUH
#define KBREED_COMMON_HOST_CUH

#include <cuda_runtime.h>
#include <stdint.h>

static inline int kb_sm_count(void)
{
	int dev = 0, n = 0;
	if (cudaGetDevice(&dev) != cudaSuccess ||
	    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n < 1)
		return 0;
	return n;
}

static inline void kb_keep_pool_mapped(void)
{
	static bool done = false;
	cudaMemPool_t pool;
	int dev = 0;
	uint64_t keep = UINT64_MAX;
	if (done)
		return;
	if (cudaGetDevice(&dev) == cudaSuccess && cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess)
		cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
	done = true;
}

#endif
// ---- end of ../common/host.cuh ----
#if BULK
// ---- inlined from ../common/hopper.cuh ----
// hopper.cuh - the sm_90a helpers of the wgmma templates (gemm_wgmma_f16,
// gemm_wgmma_tf32, flash_wgmma, conv_igemm's WGMMA=1), written once:
//   mbar_init / mbar_wait / mbar_arrive / mbar_arrive_expect_tx
//                                 mbarriers in this block's shared memory
//   tma_load_2d / tma_load_3d / tma_load_5d
//                                 one TMA box global -> shared, counted in bytes on an mbarrier
//   tma_load_2d_mc / tma_load_3d_mc
//                                 the same boxes multicast to the blocks of a cluster
//   bulk_load(dst, src, bytes, bar, policy)
//                                 one contiguous run global -> shared by the bulk copy
//                                 engine (no tensor map), counted in bytes on an mbarrier
//   l2_evict_first()              an L2 policy for data read once (bulk_load's policy)
//   smem_desc(addr, lbo, sbo)     a wgmma shared-memory matrix descriptor, 128-byte swizzle
//   wgmma_fence / wgmma_commit / wgmma_wait<N>
//                                 ordering and completion of asynchronous wgmma groups
//   reg_fence(x)                  keeps the compiler from moving a register's use across a
//                                 wgmma wait (accumulators) or reusing an in-flight A operand
//   KB_WGMMA_REGS16..128, KB_WGMMA_ACC16..128(d)
//                                 a wgmma's accumulator operands for inline asm
//   kb_tensor_map_encoder()       (host) the driver's cuTensorMapEncodeTiled, found
//                                 once through the runtime (no libcuda linked); NULL
//                                 where the driver has none
// Shared-memory operands are 32-bit addresses (smem_u32). The descriptor
// fields: start address >> 4 in bits 0-13, leading-dimension byte offset
// >> 4 in 16-29, stride byte offset >> 4 in 32-45, swizzle mode 1 (128 B)
// in bits 62-63. The wgmma instructions themselves (shape, types,
// transposes) stay in each template, beside the tiling they serve; only
// their accumulator operand lists are here.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_HOPPER_CUH
#define KBREED_COMMON_HOPPER_CUH

#include <cuda.h> /* CUtensorMap: types only, no driver calls linked */
#include <cuda_runtime.h>
#include <stdint.h>
// ---- inlined from smem.cuh ----
// smem.cuh - the shared-memory address of a pointer, as the 32-bit operand
// that PTX's shared-space instructions (cp.async, ldmatrix, mbarrier, TMA,
// wgmma descriptors) take. Shared by ampere.cuh and hopper.cuh.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate, so that a candidate stays
// one whole file.
#ifndef KBREED_COMMON_SMEM_CUH
#define KBREED_COMMON_SMEM_CUH

#include <stdint.h>

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
	return (uint32_t)__cvta_generic_to_shared(p);
}

#endif
// ---- end of smem.cuh ----

__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count)
{
	asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}

/* Wait until the phase of parity `parity` of the barrier has completed. */
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity)
{
	uint32_t done;
	do {
		asm volatile("{\n.reg .pred p;\n"
			     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
			     "selp.u32 %0, 1, 0, p;\n}\n"
			     : "=r"(done)
			     : "r"(bar), "r"(parity)
			     : "memory");
	} while (!done);
}

__device__ __forceinline__ void mbar_arrive(uint32_t bar)
{
	asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}

/* Arrive once and add `bytes` to the transaction count the phase waits for. */
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes)
{
	asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes)
		     : "memory");
}

/* One 2-D TMA box (x = inner coordinate, y = outer) into shared memory at dst;
 * completion is counted in bytes on the mbarrier. */
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3}], [%4];" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(bar)
		     : "memory");
}

/* The same box written to the same offset of every block in `mask` of the
 * cluster, each block's mbarrier at offset `bar` counting the bytes. */
__device__ __forceinline__ void tma_load_2d_mc(uint32_t dst, const CUtensorMap *map, int x, int y, uint32_t bar,
					       uint16_t mask)
{
	asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     ".multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(bar), "h"(mask)
		     : "memory");
}

/* One 3-D TMA box (x = column, y = row, z = the outer index) into shared
 * memory at dst; completion is counted in bytes on the mbarrier. */
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap *map, int x, int y, int z,
					    uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3, %4}], [%5];" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(z), "r"(bar)
		     : "memory");
}

/* The 3-D box written to the same offset of every block in `mask` of the
 * cluster, as tma_load_2d_mc does the 2-D one. */
__device__ __forceinline__ void tma_load_3d_mc(uint32_t dst, const CUtensorMap *map, int x, int y, int z,
					       uint32_t bar, uint16_t mask)
{
	asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     ".multicast::cluster [%0], [%1, {%2, %3, %4}], [%5], %6;" ::"r"(dst),
		     "l"((uint64_t)map), "r"(x), "r"(y), "r"(z), "r"(bar), "h"(mask)
		     : "memory");
}

/* One 5-D TMA box (c0 the innermost coordinate) into shared memory at dst;
 * completion is counted in bytes on the mbarrier. Coordinates may lie
 * outside the tensor (negative too): those elements are zero-filled. */
__device__ __forceinline__ void tma_load_5d(uint32_t dst, const CUtensorMap *map, int c0, int c1, int c2, int c3,
					    int c4, uint32_t bar)
{
	asm volatile("cp.async.bulk.tensor.5d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
		     " [%0], [%1, {%2, %3, %4, %5, %6}], [%7];" ::"r"(dst),
		     "l"((uint64_t)map), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(c4), "r"(bar)
		     : "memory");
}

/* An L2 cache policy under which the lines a load brings in are the first
 * to go: for data read once. */
__device__ __forceinline__ uint64_t l2_evict_first(void)
{
	uint64_t policy;
	asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
	return policy;
}

/* `bytes` contiguous bytes (a multiple of 16, both addresses 16-byte
 * aligned) from global memory at src into shared memory at dst, by the bulk
 * copy engine: one thread issues it, and its completion is counted in bytes
 * on the mbarrier (the issuer's mbar_arrive_expect_tx announces them). */
__device__ __forceinline__ void bulk_load(uint32_t dst, const void *src, uint32_t bytes, uint32_t bar,
					  uint64_t policy)
{
	asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
		     " [%0], [%1], %2, [%3], %4;" ::"r"(dst),
		     "l"((uint64_t)src), "r"(bytes), "r"(bar), "l"(policy)
		     : "memory");
}

/* The accumulator operands of a wgmma, for the inline asm of each
 * template's instruction: KB_WGMMA_REGS<n> is the register list "%0, ...,
 * %<n-1>" of a thread's n fp32 accumulators (n = N/2 for m64nNk*: 16, 32,
 * 64, 96 or 128) and KB_WGMMA_ACC<n>(d) their constraints "+f"(d[0]), ...,
 * "+f"(d[n-1]); the instruction's other operands follow as %n, %n+1, .... */
#define KB_WGMMA_REGS16 \
	"%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15"
#define KB_WGMMA_REGS32 KB_WGMMA_REGS16 ", " \
	"%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define KB_WGMMA_REGS64 KB_WGMMA_REGS32 ", " \
	"%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
	"%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define KB_WGMMA_REGS96 KB_WGMMA_REGS64 ", " \
	"%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
	"%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95"
#define KB_WGMMA_REGS128 KB_WGMMA_REGS96 ", " \
	"%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
	"%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
#define KB_WGMMA_ACC16(d) \
	"+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
	"+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
#define KB_WGMMA_ACC32(d) KB_WGMMA_ACC16(d), \
	"+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
	"+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define KB_WGMMA_ACC64(d) KB_WGMMA_ACC32(d), \
	"+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
	"+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
	"+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
	"+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define KB_WGMMA_ACC96(d) KB_WGMMA_ACC64(d), \
	"+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
	"+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
	"+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
	"+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
#define KB_WGMMA_ACC128(d) KB_WGMMA_ACC96(d), \
	"+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
	"+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
	"+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
	"+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])

/* Shared-memory matrix descriptor, 128-byte swizzle (fields above). */
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t lbo, uint32_t sbo)
{
	return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
	       ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

__device__ __forceinline__ void wgmma_fence(void)
{
	asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
}

__device__ __forceinline__ void wgmma_commit(void)
{
	asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
}

template <int N> __device__ __forceinline__ void wgmma_wait(void)
{
	asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
}

__device__ __forceinline__ void reg_fence(float &x)
{
	asm volatile("" : "+f"(x)::"memory");
}

__device__ __forceinline__ void reg_fence(uint32_t &x)
{
	asm volatile("" : "+r"(x)::"memory");
}

/* cuTensorMapEncodeTiled, as the driver exports it (CUDA 12.0 ABI), looked
 * up once per candidate (gemm_wgmma_f16, gemm_wgmma_tf32, flash_wgmma,
 * conv_igemm's NHWC=4); NULL where the runtime cannot find it, the error
 * that left cleared. */
typedef CUresult (*kb_encode_tiled_fn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
				       const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
				       const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle,
				       CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static inline kb_encode_tiled_fn kb_tensor_map_encoder(void)
{
	static kb_encode_tiled_fn enc = NULL;
	if (enc)
		return enc;
	void *fn = NULL;
	cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
	cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
							 cudaEnableDefault, &q);
#else
	cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &fn, cudaEnableDefault, &q);
#endif
	if (e == cudaSuccess && q == cudaDriverEntryPointSuccess && fn)
		enc = (kb_encode_tiled_fn)fn;
	else
		(void)cudaGetLastError(); /* the caller's launches check the last error */
	return enc;
}

#endif
// ---- end of ../common/hopper.cuh ----
#endif

/* The cluster's barrier, by CUDA's sm_90 intrinsics (what cooperative
 * groups' cluster.sync() calls; its header costs nvcc about 2.5 s of every
 * compile): arrive with release, wait with acquire. */
static __device__ __forceinline__ void cluster_sync()
{
	__cluster_barrier_arrive();
	__cluster_barrier_wait();
}

static_assert(CLUSTER == 2 || CLUSTER == 4 || CLUSTER == 8 || CLUSTER == 16, "CLUSTER");
static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(SOFTMAX_LOG == 0 || SOFTMAX_LOG == 1, "SOFTMAX_LOG is 0 or 1");
static_assert(BULK == 0 || BULK == 1, "BULK is 0 or 1");
static_assert(CHUNKS == 2 || CHUNKS == 4 || CHUNKS == 8, "CHUNKS is 2, 4 or 8");

KBREED_CANDIDATE_ABI

#define NWARPS (THREADS / 32)

template <typename T> __device__ __forceinline__ T load_x(const T *p)
{
#if STREAM
	return __ldcs(p);
#else
	return *p;
#endif
}

template <typename T> __device__ __forceinline__ void store_y(T *p, T v)
{
#if STREAM
	__stcs(p, v);
#else
	*p = v;
#endif
}

/* The row's statistics from this block's (m, s) pair: merged across the
 * block, published in stat[par] for the peers, and after one cluster barrier
 * every block's pair merged in rank order (so all blocks get bit-identical
 * values). m becomes the row's max; returns what sm_out takes with it:
 * 1 / sum, or log(sum) for log_softmax. */
__device__ __forceinline__ float cluster_row_stats(float &m, float s, float2 *red, float2 *stat, int par)
{
	block_ms<NWARPS>(m, s, red);
	if (threadIdx.x == 0)
		stat[par] = make_float2(m, s);
	cluster_sync(); /* every block's pair of this row published */
	m = -INFINITY;
	s = 0.0f;
#pragma unroll
	for (int q = 0; q < CLUSTER; q++) {
		float2 o = *static_cast<float2 *>(__cluster_map_shared_rank(&stat[par], q));
		ms_merge(m, s, o.x, o.y);
	}
	return SOFTMAX_LOG ? logf(s) : 1.0f / s;
}

/* One cluster a row at a time; S floats a slice (a multiple of V). */
template <int V>
__global__ void __launch_bounds__(THREADS, 1)
softmax_cluster(const float *__restrict__ x, float *__restrict__ y, int64_t B, int64_t L, int S)
{
	typedef typename vec_t<V>::T T;
	extern __shared__ float4 sm_slice[]; /* S floats: this block's slice of the row */
	__shared__ float2 red[32];           /* block_ms's scratch */
	__shared__ float2 stat[2];           /* this block's (max, sum) by row parity; peers read it */
	T *sl = reinterpret_cast<T *>(sm_slice);
	const int rank = (int)__clusterRelativeBlockRank();
	const int64_t clusters = gridDim.x / CLUSTER, cid = blockIdx.x / CLUSTER;
	const int64_t lo = (int64_t)rank * S; /* the slice's first element */
	const int n = lo < L ? (int)(L - lo < S ? L - lo : S) : 0;
	const int nv = n / V; /* n is a multiple of V where V > 1 */
	const int t = threadIdx.x;
	int par = 0;
	for (int64_t r = cid; r < B; r += clusters, par ^= 1) {
		const T *xs = reinterpret_cast<const T *>(x + r * L + lo);
		T *ys = reinterpret_cast<T *>(y + r * L + lo);
		float m = -INFINITY, s = 0.0f;
		int k = t;
		for (; k + 3 * THREADS < nv; k += 4 * THREADS) {
			T a = load_x(xs + k), b = load_x(xs + k + THREADS);
			T c = load_x(xs + k + 2 * THREADS), d = load_x(xs + k + 3 * THREADS);
			sl[k] = a;
			sl[k + THREADS] = b;
			sl[k + 2 * THREADS] = c;
			sl[k + 3 * THREADS] = d;
			ms_push_vec(m, s, a);
			ms_push_vec(m, s, b);
			ms_push_vec(m, s, c);
			ms_push_vec(m, s, d);
		}
		for (; k < nv; k += THREADS) {
			T a = load_x(xs + k);
			sl[k] = a;
			ms_push_vec(m, s, a);
		}
		const float inv = cluster_row_stats(m, s, red, stat, par);
		for (k = t; k < nv; k += THREADS) {
			T v = sl[k], o;
#pragma unroll
			for (int j = 0; j < V; j++)
				setcomp(o, j, sm_out<SOFTMAX_LOG>(comp(v, j), m, inv));
			store_y(ys + k, o);
		}
	}
	cluster_sync(); /* no block leaves while a peer may still read its stat */
}

#if BULK
/* BULK=1: one cluster a row at a time as above, the slice (S floats, a
 * multiple of 4) brought in by bulk copies, CHUNKS pieces of cv float4s. */
__global__ void __launch_bounds__(THREADS, 1)
softmax_cluster_bulk(const float *__restrict__ x, float *__restrict__ y, int64_t B, int64_t L, int S)
{
	extern __shared__ __align__(128) float4 sm_slice[]; /* S floats: this block's slice of the row */
	__shared__ float2 red[32];
	__shared__ float2 stat[2];
	__shared__ __align__(8) uint64_t full[CHUNKS]; /* piece c's bytes have landed */
	float4 *sl = sm_slice;
	const int rank = (int)__clusterRelativeBlockRank();
	const int64_t clusters = gridDim.x / CLUSTER, cid = blockIdx.x / CLUSTER;
	const int64_t lo = (int64_t)rank * S;
	const int n = lo < L ? (int)(L - lo < S ? L - lo : S) : 0;
	const int nv = n / 4;
	const int cv = (nv + CHUNKS - 1) / CHUNKS; /* float4s a piece; the last ones may be short or empty */
	const int t = threadIdx.x;
	const uint64_t policy = l2_evict_first();
	if (t == 0) {
		for (int c = 0; c < CHUNKS; c++)
			mbar_init(smem_u32(&full[c]), 1);
		asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
		asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
	}
	__syncthreads();
	/* Thread 0: piece c of row r's slice into place. */
	auto refill = [&](int64_t r, int c) {
		const int b = c * cv, e = min(b + cv, nv);
		if (b >= e)
			return;
		const uint32_t bar = smem_u32(&full[c]), bytes = (uint32_t)(e - b) * 16u;
		mbar_arrive_expect_tx(bar, bytes);
		bulk_load(smem_u32(sl + b), x + r * L + lo + 4 * (int64_t)b, bytes, bar, policy);
	};
	if (t == 0 && cid < B)
		for (int c = 0; c < CHUNKS; c++)
			refill(cid, c);
	int par = 0;
	for (int64_t r = cid; r < B; r += clusters, par ^= 1) {
		float4 *ys = reinterpret_cast<float4 *>(y + r * L + lo);
		float m = -INFINITY, s = 0.0f;
		for (int c = 0; c < CHUNKS; c++) {
			const int b = c * cv, e = min(b + cv, nv);
			if (b >= e)
				break; /* this piece and the ones after it are empty */
			mbar_wait(smem_u32(&full[c]), (uint32_t)par);
			for (int k = b + t; k < e; k += THREADS)
				ms_push_vec(m, s, sl[k]);
		}
		const float inv = cluster_row_stats(m, s, red, stat, par);
		const int64_t next = r + clusters;
		for (int c = 0; c < CHUNKS; c++) {
			const int b = c * cv, e = min(b + cv, nv);
			if (b >= e)
				break;
			for (int k = b + t; k < e; k += THREADS) {
				float4 v = sl[k], o;
				o.x = sm_out<SOFTMAX_LOG>(v.x, m, inv);
				o.y = sm_out<SOFTMAX_LOG>(v.y, m, inv);
				o.z = sm_out<SOFTMAX_LOG>(v.z, m, inv);
				o.w = sm_out<SOFTMAX_LOG>(v.w, m, inv);
				store_y(ys + k, o);
			}
			if (next < B) {
				__syncthreads(); /* every thread is done reading piece c */
				if (t == 0) {
					asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
					refill(next, c);
				}
			}
		}
	}
	cluster_sync(); /* no block leaves while a peer may still read its stat */
}
#endif

static int g_sms = 0, g_optin = 0, g_major = 0;

/* The device's SM count, major version and the shared memory a block may
 * opt into, once. */
static int device_props(void)
{
	if (g_sms == 0) {
		int dev = 0;
		g_sms = kb_sm_count();
		if (g_sms == 0 || cudaGetDevice(&dev) != cudaSuccess ||
		    cudaDeviceGetAttribute(&g_major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
		    cudaDeviceGetAttribute(&g_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) !=
			    cudaSuccess) {
			g_sms = 0;
			return KB_ERR_LAUNCH;
		}
		g_optin -= 1024; /* the static shared memory (red, stat) and some slack */
	}
	return KB_OK;
}

typedef void (*kernel_fn)(const float *, float *, int64_t, int64_t, int);

/* A kernel's state, kept across calls: the dynamic shared memory it is
 * allowed, and how many clusters fit at the last size asked. */
struct launch_state {
	size_t allowed, asked;
	int fit;
	bool non_portable;
};

/* kern over B rows of L floats, slices a multiple of V floats. */
static int launch(kernel_fn kern, struct launch_state *ls, int V, const float *x, float *y, int64_t B,
		  int64_t L, cudaStream_t st)
{
	int64_t S = (L + CLUSTER - 1) / CLUSTER;
	S = (S + V - 1) / V * V;
	if (device_props() != KB_OK)
		return KB_ERR_LAUNCH;
	if (g_major < 9)
		return KB_ERR_SHAPE; /* no clusters before sm_90 */
	if (S * 4 > (int64_t)g_optin)
		return KB_ERR_SHAPE; /* the row does not fit the cluster's shared memory */
	const size_t smem = (size_t)S * 4;
	if (smem > ls->allowed) {
		if (cudaFuncSetAttribute((const void *)kern, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 (int)smem) != cudaSuccess)
			return KB_ERR_LAUNCH;
		ls->allowed = smem;
	}
	if (CLUSTER > 8 && !ls->non_portable) {
		if (cudaFuncSetAttribute((const void *)kern, cudaFuncAttributeNonPortableClusterSizeAllowed, 1) !=
		    cudaSuccess)
			return KB_ERR_SHAPE; /* the GPU does not allow clusters of 16 */
		ls->non_portable = true;
	}
	cudaLaunchConfig_t cfg = {};
	cudaLaunchAttribute at[1];
	at[0].id = cudaLaunchAttributeClusterDimension;
	at[0].val.clusterDim.x = CLUSTER;
	at[0].val.clusterDim.y = 1;
	at[0].val.clusterDim.z = 1;
	cfg.blockDim = dim3(THREADS);
	cfg.dynamicSmemBytes = smem;
	cfg.stream = st;
	cfg.attrs = at;
	cfg.numAttrs = 1;
	if (smem != ls->asked) {
		cfg.gridDim = dim3((unsigned)(g_sms / CLUSTER > 0 ? g_sms / CLUSTER * CLUSTER : CLUSTER));
		ls->fit = 0;
		if (cudaOccupancyMaxActiveClusters(&ls->fit, (const void *)kern, &cfg) != cudaSuccess)
			return KB_ERR_LAUNCH;
		ls->asked = smem;
	}
	if (ls->fit < 1)
		return KB_ERR_SHAPE; /* no cluster of CLUSTER such blocks fits on this GPU */
	int64_t clusters = B < ls->fit ? B : ls->fit;
	cfg.gridDim = dim3((unsigned)(clusters * CLUSTER));
	if (cudaLaunchKernelEx(&cfg, kern, x, y, B, L, (int)S) != cudaSuccess)
		return KB_ERR_LAUNCH;
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	int64_t B, L, I;
	if (softmax_shape(in, n_in, out, n_out, &B, &L, &I))
		return KB_ERR_SHAPE;
	if (I != 1)
		return KB_ERR_SHAPE; /* a strided softmax dim: softmax_online's */
	if (B == 0 || L == 0)
		return KB_OK;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	const float *xp = (const float *)x->data;
	float *yp = (float *)y->data;
	cudaStream_t st = (cudaStream_t)stream;
	/* vector loads: every row, and so every slice, starts aligned */
#if BULK
	/* bulk copies: 16-byte aligned rows (every slice is a multiple of 4 floats) */
	static struct launch_state bulk;
	if (L % 4 == 0 && (uintptr_t)xp % 16 == 0 && (uintptr_t)yp % 16 == 0)
		return launch(softmax_cluster_bulk, &bulk, 4, xp, yp, B, L, st);
#endif
	static struct launch_state vec, one;
	if (VEC > 1 && L % VEC == 0 && (uintptr_t)xp % (VEC * 4) == 0 && (uintptr_t)yp % (VEC * 4) == 0)
		return launch(softmax_cluster<VEC>, &vec, VEC, xp, yp, B, L, st);
	return launch(softmax_cluster<1>, &one, 1, xp, yp, B, L, st);
}
