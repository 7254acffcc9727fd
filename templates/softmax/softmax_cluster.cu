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
#include "../common/softmax_stats.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline
#if BULK
#include "../common/hopper.cuh" // kbreed:inline
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
