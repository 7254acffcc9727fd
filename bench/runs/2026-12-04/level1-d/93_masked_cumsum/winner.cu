// kbreed winner for 93_masked_cumsum: 2.3562 ms on NVIDIA H200 = 351% of PyTorch eager (8.2673 ms), 97% of the floor.
// Run 11, candidate 863, round 2. Build it as a shared object with its ABI header beside it:
//   nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_90a,code=sm_90a -I. winner.cu -o winner.so
// and call kbreed_forward() as docs/ABI.md describes (inputs, then parameters; outputs; a stream).
// kbreed candidate: template cumsum_block
#define SCAN_DIM 1
#define SCAN_MASKED 1
#define KB_F32_ONLY 1
#define THREADS 512
#define VEC 4
#define ITEMS 4
#define TRANSPOSE 1
#define GRID 0
// kbreed-template: cumsum_block
// family: scan
// problems: cumsum cumprod cumsum_exclusive cumsum_masked
// knob THREADS: 64 128 256 512 1024 | default 256 | category parallelism | threads per block; one block scans one row at a time
// knob VEC: 1 2 4 | default 4 | category memory access | floats per global load and store (float, float2, float4)
// knob ITEMS: 1 2 4 8 | default 8 | category control flow | vectors per thread per tile (tile = THREADS*ITEMS*VEC elements)
// knob TRANSPOSE: 0 1 | default 1 | category memory access | 1 = stage each tile through shared memory so that global loads and stores are warp-contiguous; 0 = each thread loads its own ITEMS consecutive vectors directly
// knob GRID: 0 1 | default 0 | category parallelism | 0 = one block per row (grid-stride past the launch cap), 1 = a persistent grid of SMs x resident blocks striding over the rows
/*
 * cumsum_block.cu - an inclusive or exclusive scan along one dim, fp32:
 * torch.cumsum(x, dim) (the suite's cumsum; KernelBench 89), cumprod (90),
 * the exclusive cumsum (92: zeros, then the cumsum of all but the last) and
 * the masked one (93: torch.cumsum(x * mask, dim)), as graph recognition
 * names them. Recognition's defines choose: SCAN_DIM (default 1),
 * SCAN_PROD (a product instead of a sum), SCAN_EXCLUSIVE (y[l] leaves out
 * x[l]), SCAN_MASKED (a second input, bool, same shape: x * mask).
 *
 * Layout (contiguous, row-major, fp32; the mask one byte per element):
 *   in[0]  x     shape (outer..., L, inner...), L = shape[SCAN_DIM]
 *   in[1]  mask  same shape, bool (SCAN_MASKED only)
 *   out[0] y     same shape:  y[b, l, i] = x[b, 0, i] op ... op x[b, l, i]
 *                (exclusive: up to l - 1; the empty scan is 0 or 1)
 * B = product of the dims before SCAN_DIM, I = product of those after it;
 * element (b, l, i) lives at (b * L + l) * I + i.
 *
 * Strategy, I == 1 (fast path): one block per row (grid-stride over rows).
 * The row is cut into tiles of THREADS * ITEMS * VEC elements; in a tile,
 * thread t owns ITEMS*VEC consecutive elements. Each thread combines its
 * elements, the thread totals are scanned (exclusive) in DOUBLE by warp
 * shuffles and a shared-memory pass over the warp totals, the running
 * carry of earlier tiles (double) is combined in, and each thread replays
 * its elements sequentially in double, rounding each output once to float.
 * So every output is within half an ulp of the float64 scan, as a float
 * scan over 16384 N(0,1) values is not (atol = rtol = 1e-4 near zero).
 * TRANSPOSE=1 loads the tile into shared memory with warp-contiguous vector
 * loads (padded, conflict-free reads of each thread's run) and writes the
 * results back the same way; TRANSPOSE=0 has each thread load its run
 * directly (VEC-wide, stride ITEMS*VEC*4 bytes across the warp, completed
 * in L1). The vector path needs L % VEC == 0 and x, y (and the mask, to
 * VEC bytes) aligned; otherwise the VEC=1 instantiation runs.
 * GRID=0 launches one block per row (capped; the blocks still grid-stride
 * over rows past the cap), GRID=1 a persistent grid sized by the occupancy
 * calculator, each block scanning every gridDim-th row.
 * I > 1 (general, correctness over speed): one thread per (b, i) line, a
 * sequential double running scan, neighbouring threads on neighbouring i.
 * No scratch memory.
 * Measured on an H100 (cumsum, 16384 x 16384, floor 0.716 ms): 0.721 ms with
 * THREADS=256 ITEMS=8 TRANSPOSE=1, 0.736 ms with THREADS=256 ITEMS=4
 * TRANSPOSE=1, 0.786 ms with THREADS=1024 TRANSPOSE=1; TRANSPOSE=0 is much
 * slower (0.96 ms at THREADS=512 ITEMS=4, 1.5 ms with ITEMS=8 or VEC=2).
 */
#ifndef THREADS
#define THREADS 256
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef ITEMS
#define ITEMS 8
#endif
#ifndef TRANSPOSE
#define TRANSPOSE 1
#endif
#ifndef GRID
#define GRID 0
#endif
#if defined(SCAN_REVERSE) && SCAN_REVERSE
#error "cumsum_block scans forwards: it does not compute a reverse scan (SCAN_REVERSE)"
#endif
#ifndef SCAN_DIM
#define SCAN_DIM 1
#endif
#ifndef SCAN_PROD
#define SCAN_PROD 0
#endif
#ifndef SCAN_EXCLUSIVE
#define SCAN_EXCLUSIVE 0
#endif
#ifndef SCAN_MASKED
#define SCAN_MASKED 0
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
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

static_assert(THREADS % 32 == 0 && THREADS >= 64 && THREADS <= 1024, "THREADS");
static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");
static_assert(ITEMS >= 1 && ITEMS <= 16, "ITEMS");
static_assert(TRANSPOSE == 0 || TRANSPOSE == 1, "TRANSPOSE is 0 or 1");
static_assert(GRID == 0 || GRID == 1, "GRID is 0 or 1");

/* The scan's operator and its identity, in double. */
#if SCAN_PROD
#define SCAN_ID 1.0
#define SCAN_OP(a, b) ((a) * (b))
#else
#define SCAN_ID 0.0
#define SCAN_OP(a, b) ((a) + (b))
#endif

KBREED_CANDIDATE_ABI

#define NWARPS (THREADS / 32)

template <int V> struct vec_t;
template <> struct vec_t<1> { typedef float T; };
template <> struct vec_t<2> { typedef float2 T; };
template <> struct vec_t<4> { typedef float4 T; };

__device__ __forceinline__ void unpack(float v, float *o) { o[0] = v; }
__device__ __forceinline__ void unpack(float2 v, float *o) { o[0] = v.x; o[1] = v.y; }
__device__ __forceinline__ void unpack(float4 v, float *o)
{
	o[0] = v.x; o[1] = v.y; o[2] = v.z; o[3] = v.w;
}
__device__ __forceinline__ void pack(float &v, const float *o) { v = o[0]; }
__device__ __forceinline__ void pack(float2 &v, const float *o) { v = make_float2(o[0], o[1]); }
__device__ __forceinline__ void pack(float4 &v, const float *o)
{
	v = make_float4(o[0], o[1], o[2], o[3]);
}

/* V mask bytes as one load. */
template <int V> struct mvec_t;
template <> struct mvec_t<1> { typedef unsigned char T; };
template <> struct mvec_t<2> { typedef uchar2 T; };
template <> struct mvec_t<4> { typedef uchar4 T; };
__device__ __forceinline__ void unpack_mask(unsigned char v, float *o) { o[0] = v ? 1.0f : 0.0f; }
__device__ __forceinline__ void unpack_mask(uchar2 v, float *o)
{
	o[0] = v.x ? 1.0f : 0.0f; o[1] = v.y ? 1.0f : 0.0f;
}
__device__ __forceinline__ void unpack_mask(uchar4 v, float *o)
{
	o[0] = v.x ? 1.0f : 0.0f; o[1] = v.y ? 1.0f : 0.0f;
	o[2] = v.z ? 1.0f : 0.0f; o[3] = v.w ? 1.0f : 0.0f;
}

/* The V elements of the scan at g: x, times the mask (as torch's x * mask
 * does: an Inf or NaN under a false mask stays NaN). */
template <int V>
__device__ __forceinline__ void load_elems(const float *__restrict__ x, const unsigned char *__restrict__ m,
					   int64_t g, float *o)
{
	unpack(*reinterpret_cast<const typename vec_t<V>::T *>(x + g), o);
#if SCAN_MASKED
	float f[V];
	unpack_mask(*reinterpret_cast<const typename mvec_t<V>::T *>(m + g), f);
#pragma unroll
	for (int j = 0; j < V; j++)
		o[j] *= f[j];
#endif
}

/* shared-memory slot of tile element e: one pad word per 32 */
__device__ __forceinline__ int pad(int e) { return e + (e >> 5); }

/*
 * Exclusive block scan of v (double) under SCAN_OP; returns this thread's
 * exclusive prefix and puts the block total in *total. wsum holds
 * NWARPS + 1 doubles.
 */
__device__ __forceinline__ double block_exscan(double v, double *wsum, double *total)
{
	const unsigned full = 0xffffffffu;
	int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
	double inc = v;
#pragma unroll
	for (int off = 1; off < 32; off <<= 1) {
		double n = __shfl_up_sync(full, inc, off);
		if (lane >= off)
			inc = SCAN_OP(n, inc);
	}
	double ex = __shfl_up_sync(full, inc, 1);
	if (lane == 0)
		ex = SCAN_ID;
	if (lane == 31)
		wsum[wid] = inc;
	__syncthreads();
	if (wid == 0) {
		double w = lane < NWARPS ? wsum[lane] : SCAN_ID;
		double wi = w;
#pragma unroll
		for (int off = 1; off < 32; off <<= 1) {
			double n = __shfl_up_sync(full, wi, off);
			if (lane >= off)
				wi = SCAN_OP(n, wi);
		}
		double wex = __shfl_up_sync(full, wi, 1);
		if (lane == 0)
			wex = SCAN_ID;
		if (lane < NWARPS)
			wsum[lane] = wex; /* exclusive over warps */
		if (lane == NWARPS - 1)
			wsum[NWARPS] = wi;
	}
	__syncthreads();
	double r = SCAN_OP(wsum[wid], ex);
	*total = wsum[NWARPS];
	__syncthreads(); /* wsum is reused by the next tile */
	return r;
}

template <int V>
__global__ void __launch_bounds__(THREADS)
cumsum_rows(const float *__restrict__ x, const unsigned char *__restrict__ m, float *__restrict__ y,
	    int64_t B, int64_t L)
{
	typedef typename vec_t<V>::T T;
	constexpr int IPT = ITEMS * V;           /* elements per thread per tile */
	constexpr int TILE = THREADS * IPT;      /* elements per tile */
	__shared__ double wsum[NWARPS + 1];
#if TRANSPOSE
	extern __shared__ float stile[];         /* pad(TILE) floats */
#endif
	const int t = threadIdx.x;
	for (int64_t r = blockIdx.x; r < B; r += gridDim.x) {
		const float *xr = x + r * L;
		const unsigned char *mr = SCAN_MASKED ? m + r * L : m;
		float *yr = y + r * L;
		double carry = SCAN_ID;
		for (int64_t base = 0; base < L; base += TILE) {
			float e[IPT];
#if TRANSPOSE
			/* warp-contiguous vector loads into shared memory */
#pragma unroll
			for (int k = 0; k < ITEMS; k++) {
				int vi = k * THREADS + t;           /* vector within tile */
				int64_t g = base + (int64_t)vi * V;
				float tmp[V];
				if (g < L) {
					load_elems<V>(xr, mr, g, tmp);
				} else {
#pragma unroll
					for (int j = 0; j < V; j++)
						tmp[j] = (float)SCAN_ID;
				}
#pragma unroll
				for (int j = 0; j < V; j++)
					stile[pad(vi * V + j)] = tmp[j];
			}
			__syncthreads();
#pragma unroll
			for (int q = 0; q < IPT; q++)
				e[q] = stile[pad(t * IPT + q)];
#else
#pragma unroll
			for (int k = 0; k < ITEMS; k++) {
				int64_t g = base + (int64_t)t * IPT + k * V;
				if (g < L) {
					load_elems<V>(xr, mr, g, e + k * V);
				} else {
#pragma unroll
					for (int j = 0; j < V; j++)
						e[k * V + j] = (float)SCAN_ID;
				}
			}
#endif
			double dsum = SCAN_ID;
#pragma unroll
			for (int q = 0; q < IPT; q++)
				dsum = SCAN_OP(dsum, (double)e[q]);
			double total;
			double acc = SCAN_OP(carry, block_exscan(dsum, wsum, &total));
			carry = SCAN_OP(carry, total);
#pragma unroll
			for (int q = 0; q < IPT; q++) {
#if SCAN_EXCLUSIVE
				double before = acc;
				acc = SCAN_OP(acc, (double)e[q]);
				e[q] = (float)before;
#else
				acc = SCAN_OP(acc, (double)e[q]);
				e[q] = (float)acc;
#endif
			}
#if TRANSPOSE
			/* all reads of stile happened before block_exscan's barriers */
#pragma unroll
			for (int q = 0; q < IPT; q++)
				stile[pad(t * IPT + q)] = e[q];
			__syncthreads();
#pragma unroll
			for (int k = 0; k < ITEMS; k++) {
				int vi = k * THREADS + t;
				int64_t g = base + (int64_t)vi * V;
				if (g < L) {
					float tmp[V];
#pragma unroll
					for (int j = 0; j < V; j++)
						tmp[j] = stile[pad(vi * V + j)];
					T o;
					pack(o, tmp);
					*reinterpret_cast<T *>(yr + g) = o;
				}
			}
			__syncthreads(); /* stile is reloaded by the next tile */
#else
#pragma unroll
			for (int k = 0; k < ITEMS; k++) {
				int64_t g = base + (int64_t)t * IPT + k * V;
				if (g < L) {
					T o;
					pack(o, e + k * V);
					*reinterpret_cast<T *>(yr + g) = o;
				}
			}
#endif
		}
	}
}

/* The general scan for I > 1: one thread per (b, i) line. */
__global__ void cumsum_strided(const float *__restrict__ x, const unsigned char *__restrict__ m,
			       float *__restrict__ y, int64_t B, int64_t L, int64_t I)
{
	int64_t lines = B * I;
	for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < lines;
	     t += (int64_t)gridDim.x * blockDim.x) {
		int64_t b = t / I, i = t - b * I;
		const float *xl = x + b * L * I + i;
		const unsigned char *ml = SCAN_MASKED ? m + b * L * I + i : m;
		float *yl = y + b * L * I + i;
		double acc = SCAN_ID;
		for (int64_t l = 0; l < L; l++) {
			float v = xl[l * I];
#if SCAN_MASKED
			v *= ml[l * I] ? 1.0f : 0.0f;
#endif
#if SCAN_EXCLUSIVE
			yl[l * I] = (float)acc;
			acc = SCAN_OP(acc, (double)v);
#else
			acc = SCAN_OP(acc, (double)v);
			yl[l * I] = (float)acc;
#endif
		}
	}
}

template <int V>
static int launch_rows(const float *x, const unsigned char *m, float *y, int64_t B, int64_t L, cudaStream_t st)
{
	size_t smem = 0;
#if TRANSPOSE
	{
		const int tile = THREADS * ITEMS * V;
		smem = (size_t)(tile + tile / 32 + 1) * sizeof(float);
		static bool attr_set = false;
		if (!attr_set) {
			if (smem > 48 * 1024 &&
			    cudaFuncSetAttribute(cumsum_rows<V>, cudaFuncAttributeMaxDynamicSharedMemorySize,
						 (int)smem) != cudaSuccess)
				return KB_ERR_LAUNCH;
			attr_set = true;
		}
	}
#endif
	unsigned grid = (unsigned)(B < 2147483647LL ? B : 2147483647LL);
#if GRID
	{
		static int cached_grid = 0;
		if (cached_grid == 0) {
			const int sms = kb_sm_count();
			int per = 0;
			if (sms == 0 || cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, cumsum_rows<V>, THREADS, smem) !=
						cudaSuccess)
				return KB_ERR_LAUNCH;
			cached_grid = sms * (per > 0 ? per : 1);
		}
		if (grid > (unsigned)cached_grid)
			grid = (unsigned)cached_grid;
	}
#endif
	cumsum_rows<V><<<grid, THREADS, smem, st>>>(x, m, y, B, L);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || n_in != 1 + SCAN_MASKED || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0];
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || y->dtype != KB_F32)
		return KB_ERR_SHAPE;
	if (x->ndim < 1 || !kb_same_shape(x, y))
		return KB_ERR_SHAPE;
	const unsigned char *mp = NULL;
#if SCAN_MASKED
	const kb_tensor *mk = &in[1];
	if (mk->dtype != KB_BOOL || !kb_same_shape(x, mk))
		return KB_ERR_SHAPE;
	mp = (const unsigned char *)mk->data;
#endif
	int dim = SCAN_DIM < 0 ? SCAN_DIM + x->ndim : SCAN_DIM;
	if (dim < 0 || dim >= x->ndim)
		return KB_ERR_SHAPE;
	int64_t B = 1, L = x->shape[dim], I = 1;
	for (int i = 0; i < dim; i++)
		B *= x->shape[i];
	for (int i = dim + 1; i < x->ndim; i++)
		I *= x->shape[i];
	if (B == 0 || L == 0 || I == 0)
		return KB_OK;
	const float *xp = (const float *)x->data;
	float *yp = (float *)y->data;
	cudaStream_t st = (cudaStream_t)stream;
	if (I == 1) {
		if (VEC > 1 && L % VEC == 0 && ((uintptr_t)xp % (VEC * 4)) == 0 &&
		    ((uintptr_t)yp % (VEC * 4)) == 0 && ((uintptr_t)mp % VEC) == 0)
			return launch_rows<VEC>(xp, mp, yp, B, L, st);
		return launch_rows<1>(xp, mp, yp, B, L, st);
	}
	int64_t lines = B * I;
	int64_t blocks = (lines + 127) / 128;
	unsigned grid = (unsigned)(blocks < 1048576 ? blocks : 1048576);
	cumsum_strided<<<grid, 128, 0, st>>>(xp, mp, yp, B, L, I);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
