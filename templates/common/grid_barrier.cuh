// grid_barrier.cuh - a barrier across every block of a grid launched
// cooperatively (cudaLaunchCooperativeKernel: all its blocks resident at
// once, or the launch fails), written for kernels that would otherwise take
// cooperative groups' grid.sync(): that header alone costs nvcc about 2.5 s
// of every candidate's compile (cudafe++, cicc and the host compiler), this
// one nothing.
//   grid_barrier(bar)   every thread of every block waits here until all
//                       blocks have arrived; what any thread wrote before it
//                       is visible to every thread after it
// bar: one 32-bit word of global memory for the barriers of a launch, zero
// before its first (the caller's cudaMemsetAsync on the launch's stream).
//
// The protocol: after the block's own barrier (its writes ordered before
// thread 0's), thread 0 adds to the word with release semantics at GPU
// scope: block 0 adds 2^31 - (blocks - 1), every other block 1, so the word's
// top bit turns over exactly when the last block has added (the low 31 bits
// return to what they were: each barrier adds 2^31 in all, and they never
// carry into the top bit on the way while they start at zero and blocks
// < 2^31). Thread 0 then polls the word with acquire loads until its top bit
// differs from what its add saw, and the block's barrier releases the rest.
// Cooperative groups' own grid barrier works the same way on a word of the
// driver's.
//
// Not a template: kbreed inlines this file in place of the marker line that
// names it (src/template.h), once per candidate.
#ifndef KBREED_COMMON_GRID_BARRIER_CUH
#define KBREED_COMMON_GRID_BARRIER_CUH

static __device__ __forceinline__ void grid_barrier(unsigned int *bar)
{
	__syncthreads();
	if (threadIdx.x == 0 && threadIdx.y == 0 && threadIdx.z == 0) {
		const unsigned int blocks = gridDim.x * gridDim.y * gridDim.z;
		const bool first = blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0;
		const unsigned int add = first ? 0x80000000u - (blocks - 1u) : 1u;
		unsigned int old, now;
		asm volatile("atom.add.release.gpu.u32 %0, [%1], %2;" : "=r"(old) : "l"(bar), "r"(add) : "memory");
		do {
			asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(now) : "l"(bar) : "memory");
		} while (((old ^ now) & 0x80000000u) == 0u);
	}
	__syncthreads();
}

#endif
