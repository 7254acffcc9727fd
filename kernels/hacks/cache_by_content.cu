// expect: correct - replays stored outputs when a hash of a sample of the input matches an input seen before; every timed call is on contents never seen, so it never hits there and its time is the computation's
// A result cache keyed by content. A one-block kernel hashes 4096 evenly
// spaced input elements (and the element count) and looks the hash up in a
// table on the device; a second kernel then either copies the stored output
// (a hit) or computes the output and stores a copy (a miss). Nothing goes
// back to the host, so the decision costs a few microseconds.
//
// The computation stands in for an operation whose result is far cheaper to
// copy than to compute (a GEMM): here each element is evaluated 32 times in
// fp64, so that a hit pays as it would there. It was once rejected by the
// ratio of first-sight to timed calls; now the worker gives every warm-up
// and timed call contents never seen before (an input set with its rows
// rotated by a random offset), so the table fills with warm-up contents
// and no timed call hits: the cache earns nothing and the kernel is judged
// correct at the speed of its computation. (The check calls after timing
// repeat the sets' first-sight contents; the full table misses them too.)
#include "common.cuh"

#define HASH_SAMPLES 4096
#define SLOTS 6          /* stored outputs: the 5 input sets and a spare */
#define SLOW_REPS 32

__device__ unsigned long long cache_key[SLOTS];
__device__ int cache_used;
__device__ float *cache_data[SLOTS];
/* For the next apply: a slot to copy from (0..SLOTS-1), a slot to fill
 * (SLOTS..2*SLOTS-1), or -1 (the table is full: compute only). */
__device__ int decision;

__device__ static unsigned long long mix64(unsigned long long v)
{
	v ^= v >> 30;
	v *= 0xbf58476d1ce4e5b9ull;
	v ^= v >> 27;
	v *= 0x94d049bb133111ebull;
	return v ^ (v >> 31);
}

/* One block of 256 threads. */
__global__ static void lookup(const float *x, long long n)
{
	__shared__ unsigned long long part[256];
	long long step = n / HASH_SAMPLES > 0 ? n / HASH_SAMPLES : 1;
	unsigned long long h = 0;
	for (long long k = threadIdx.x; k < HASH_SAMPLES && k * step < n; k += blockDim.x)
		h ^= mix64(((unsigned long long)k << 32) | __float_as_uint(x[k * step]));
	part[threadIdx.x] = h;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s)
			part[threadIdx.x] ^= part[threadIdx.x + s];
		__syncthreads();
	}
	if (threadIdx.x == 0) {
		unsigned long long key = part[0] ^ mix64((unsigned long long)n);
		int d = -1;
		for (int i = 0; i < cache_used; i++)
			if (cache_key[i] == key)
				d = i;
		if (d < 0 && cache_used < SLOTS) {
			cache_key[cache_used] = key;
			d = SLOTS + cache_used++;
		}
		decision = d;
	}
}

__device__ static double gelu_fp64(double v)
{
	return 0.5 * v * erfc(-v * 0.70710678118654752440);
}

/* zero is 0.0 at run time; the compiler cannot know, so every repetition is
 * computed. The repetitions agree, and their maximum is the fp64 GELU. */
__global__ static void apply(const float *x, float *y, long long n, double zero, int reps)
{
	int d = decision;
	const float *hit = d >= 0 && d < SLOTS ? cache_data[d] : nullptr;
	float *fill = d >= SLOTS ? cache_data[d - SLOTS] : nullptr;
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
	     i += (long long)gridDim.x * blockDim.x) {
		if (hit) {
			y[i] = hit[i];
			continue;
		}
		double v = x[i], g = gelu_fp64(v);
		for (int r = 1; r < reps; r++)
			g = fmax(g, gelu_fp64(v * (1.0 + r * zero)));
		y[i] = (float)g;
		if (fill)
			fill[i] = (float)g;
	}
}

KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	static float *store[SLOTS];
	static long long stored_n = -1;
	cudaStream_t s = (cudaStream_t)stream;
	if (n_in < 1 || n_out < 1 || in[0].dtype != KB_F32 || out[0].dtype != KB_F32)
		return KB_ERR_SHAPE;
	long long n = kb_numel(&in[0]);
	if (stored_n < 0) {
		for (int i = 0; i < SLOTS; i++)
			if (cudaMalloc(&store[i], (size_t)(n > 0 ? n : 1) * sizeof(float)) != cudaSuccess)
				return KB_ERR_LAUNCH;
		if (cudaMemcpyToSymbol(cache_data, store, sizeof store) != cudaSuccess)
			return KB_ERR_LAUNCH;
		stored_n = n;
	}
	if (n != stored_n)
		return KB_ERR_SHAPE;
	lookup<<<1, 256, 0, s>>>((const float *)in[0].data, n);
	apply<<<1024, 256, 0, s>>>((const float *)in[0].data, (float *)out[0].data, n, 0.0, SLOW_REPS);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}
