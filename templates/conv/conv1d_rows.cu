// kbreed-template: conv1d_rows
// family: conv
// problems: conv1d conv1d_grouped conv_transpose1d conv_transpose1d_grouped
// requires: !CONV_TRANSPOSED_STRIDED
// knob CO: 64 128 | default 128 | category memory access | output channels per block (the GEMM's M); a warp computes 64 channels x 32 outputs, so a block has CO/64 x OT/32 warps. The block's weights (every tap, every input channel of the group, split into bfloat16 hi and lo halves) stay in shared memory for its life
// knob OT: 64 128 256 | default 128 | category parallelism | consecutive outputs of one row per tile (the GEMM's N): a tile stages (OT-1)*stride + (K-1)*dilation + 1 input positions of each channel, so a wider tile reads its halo fewer times
// knob CK: 16 32 | default 16 | category memory access | input channels per pipeline stage: the stage holds CK rows of the tile's input span, copied by cp.async (16 bytes where a row allows)
// knob STAGES: 2 3 4 | default 3 | category asynchronous | depth of the cp.async ring over (tile, channel chunk) steps, lowered to what fits in 227 KB beside the weights; the ring flows on across a block's tiles, so the next tile's rows land while this one's outputs are stored
// knob STREAM: 0 1 | default 0 | category memory access | 1 = y is stored with evict-first hints (written once, never read back)
// start sm_90a CONV_STRIDED: CK=32
// start sm_90a !CONV_STRIDED: CO=64 CK=32
// check: CO=64 OT=64 CK=32 STAGES=4 STREAM=1
// check: CO=128 OT=256 CK=16 STAGES=2
/*
 * conv1d_rows.cu - nn.Conv1d on the tensor cores with fp32-class accuracy
 * (3xBF16: hi*hi + hi*lo + lo*hi of bfloat16 halves on mma.sync m16n8k16,
 * fp32 accumulation; about 4e-6 relative, the strict tolerance): any
 * stride, padding, dilation and window, groups, an optional bias; fp32
 * tensors, batched (N, Cin, L) or unbatched (Cin, L). Also nn.ConvTranspose1d
 * of stride 1, which is a forward conv (below); a strided transposed conv
 * is not served (requires line: most of its taps meet no input).
 *
 * The problem's defines, written by recognition (src/recognize.c) and placed
 * before this file, say what to compute; compiled on its own it is a window
 * of 3, stride 1, no padding, no bias:
 *   CONV_STRIDE[_W], CONV_PAD[_W], CONV_DIL[_W], CONV_KERNEL[_W],
 *   CONV_GROUPS, CONV_BIAS    (templates/common/conv_geometry.cuh)
 *
 * Layout (contiguous, row-major, fp32; G groups):
 *   in[0]  x       (N, Cin, L)
 *   in[1]  weight  (Cout, Cin/G, K)
 *   in[2]  bias    (Cout), where CONV_BIAS
 *   out[0] y       (N, Cout, OL), OL = (L + 2P - DIL*(K-1) - 1) / S + 1
 *   y[n][co][o] = bias[co] + sum over ci < CinG and taps k of
 *       w[co][ci][k] * x[n][g*CinG + ci][o*S - P + k*DIL]   (zero outside x),
 *   g = co / CoutG.
 *
 * Transposed (CONV_TRANSPOSED, stride 1): in[1] is (Cin, CoutG, K) and
 *   y[n][co][o] = bias[co] + sum over ci, k of
 *       w[g*CinG + ci][co - g*CoutG][k] * x[n][g*CinG + ci][o + P - k*DIL],
 * the forward conv above with the window reversed (tap k' = K-1-k reads
 * w[.][.][K-1-k'] at o - (DIL*(K-1) - P) + k'*DIL), padding FPAD =
 * DIL*(K-1) - P (negative where P is larger: the span then starts right of
 * o) and OL = L - 1 - 2P + DIL*(K-1) + OUT_PAD + 1. Only the weights' load
 * and the shape checks differ.
 *
 * Why. As an implicit GEMM over (output position, output channel, (tap,
 * channel)) the B operand's rows are gathered one value per tap (a 4-byte
 * copy each), or x is first rewritten channels-last (conv_igemm NHWC: a
 * read and a write of all of x before the GEMM reads it again). Here
 * nothing is gathered: a tile's outputs o0 .. o0+OT-1 of one row read one
 * contiguous span of each input channel, positions o0*S - P onwards, so the
 * block copies whole spans (16-byte cp.async where the row is aligned, zeros
 * outside x) and builds each B fragment from shared memory at the tap's
 * offset: B[(ci, k)][o] = span[ci][o*S + k*DIL]. x is read from DRAM once
 * (the halo of neighbouring tiles again from L2), y written once.
 *
 * How. A block owns CO output channels of one group (blockIdx.y) and walks
 * tiles blockIdx.x, blockIdx.x + gridDim.x, ... of N * ceil(OL / OT) (the
 * grid fills the GPU once: the weights are split and staged once per block).
 * Its weights are held as s_w[hi|lo][tap][co][ci pair] (bfloat16 pairs,
 * rows padded to 4 mod 8 words: ldmatrix reads them without conflicts), the
 * channels padded with zeros to whole chunks of CK. The K loop of a tile
 * runs over chunks of CK input channels; each chunk is one step of a
 * cp.async ring of STAGES spans [CK][RX] (fp32; fewer where they would not
 * fit), and the ring flows on over the block's tiles. Per step, for each tap and 16 channels, a warp takes
 * its A fragments (64 channels) by ldmatrix and its B fragments (32
 * outputs) from the span, split into bfloat16 halves in registers, and
 * issues 48 mma. After a tile's last chunk each warp stores its 64 x 32
 * outputs from its accumulators, bias added (pairs of consecutive outputs,
 * 8-byte stores where OL is even).
 *
 * Shared memory: 2 * K * CO * RW words of weights (RW = ceil(CinG/CK)*CK/2
 * rounded up to 4 mod 8), CO biases, NS * CK * RX floats of spans (RX: the
 * span rounded up to a multiple of 4, plus 3 for the alignment shift, then
 * to 4 mod 16; NS: STAGES, lowered while that passes 227 KB, at least 2);
 * KB_ERR_SHAPE where 2 stages pass it (fewer channels per block, a narrower
 * tile or a smaller CK fit), for other dtypes, a weight
 * whose window is not the compiled one, channels the groups do not divide,
 * an output length that is not PyTorch's.
 */
#ifndef CO
#define CO 128
#endif
#ifndef OT
#define OT 128
#endif
#ifndef CK
#define CK 16
#endif
#ifndef STAGES
#define STAGES 3
#endif
#ifndef STREAM
#define STREAM 0
#endif

/* Compiled on its own: a window of 3, stride 1, no padding. */
#ifndef CONV_KERNEL_W
#ifndef CONV_KERNEL
#define CONV_KERNEL 3
#endif
#ifndef CONV_STRIDE
#define CONV_STRIDE 1
#endif
#ifndef CONV_PAD
#define CONV_PAD 0
#endif
#endif
#ifndef CONV_DIMS
#define CONV_DIMS 1
#endif
#include "../common/conv_geometry.cuh" // kbreed:inline
#ifndef CONV_BIAS
#define CONV_BIAS 0
#endif
#if defined(CONV_KERNEL_W)
#define KW CONV_KERNEL_W
#else
#define KW CONV_KERNEL
#endif

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/dtype.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline
#include "../common/ampere.cuh" // kbreed:inline

static_assert(CO == 64 || CO == 128, "CO is 64 or 128");
static_assert(OT == 64 || OT == 128 || OT == 256, "OT is 64, 128 or 256");
static_assert(CK == 16 || CK == 32, "CK is 16 or 32");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2, 3 or 4");
static_assert(STREAM == 0 || STREAM == 1, "STREAM is 0 or 1");
static_assert(CONV_DIMS == 1, "a 1-D convolution is this template's");
static_assert(CONV_TRANSPOSED == 0 || STRIDE_W == 1, "a transposed conv of stride 1 only (requires line)");
static_assert(KW >= 1 && STRIDE_W >= 1 && PAD_W >= 0 && DIL_W >= 1, "CONV_KERNEL, CONV_STRIDE, CONV_PAD, CONV_DIL");
static_assert(CONV_BIAS == 0 || CONV_BIAS == 1, "CONV_BIAS is 0 or 1");

KBREED_CANDIDATE_ABI

constexpr int WM = CO / 64;            /* warps along the channels */
constexpr int WN = OT / 32;            /* warps along the outputs */
constexpr int THREADS = 32 * WM * WN;
constexpr int SMEM_CAP = 227 * 1024;
/* The forward conv's padding: a transposed conv's is the window's reach less its own. */
constexpr int FPAD = CONV_TRANSPOSED ? DIL_W * (KW - 1) - PAD_W : PAD_W;
/* Input positions a tile's OT outputs read from the first one's. */
constexpr int SPAN = (OT - 1) * STRIDE_W + (KW - 1) * DIL_W + 1;
/* A span's row in shared memory, in floats: the span and the up to 3
 * positions before it that the 16-byte copies start at (a multiple of 4),
 * rounded up to 4 mod 16 (2*RX is 8 mod 32: the B reads of lanes t, t+1 ..
 * fall in different banks). */
constexpr int RX = ((SPAN + 3 + 3) / 4 * 4 + 11) / 16 * 16 + 4;

/* Words per weight row: the group's channels in bfloat16 pairs, padded to
 * whole chunks, then to 4 mod 8 (ldmatrix's eight rows in distinct banks). */
static int weight_row(int cin_pad) { return (cin_pad / 2 + 3) / 8 * 8 + 4; }
static size_t smem_bytes(int rw, int ns)
{
	return ((size_t)2 * KW * CO * rw + CO + (size_t)ns * CK * RX) * 4;
}

struct geom {
	int cin_g, cout_g, ctiles, L, OL, chunks, rw;
	int ns;              /* stages of the ring: STAGES, or fewer where they would not fit */
	int64_t cin, cout, tiles_o, ntiles;
	bool vec_x, vec_y;   /* 16-byte copies of x's rows; 8-byte stores of y's */
};

static __device__ __forceinline__ void store1(float *p, float v)
{
#if STREAM
	__stcs(p, v);
#else
	*p = v;
#endif
}
static __device__ __forceinline__ void store2(float *p, float a, float b)
{
#if STREAM
	__stcs(reinterpret_cast<float2 *>(p), make_float2(a, b));
#else
	*reinterpret_cast<float2 *>(p) = make_float2(a, b);
#endif
}

/* Until at most ns - 2 of this thread's copy groups are pending (step s's landed). */
static __device__ __forceinline__ void wait_ring(int ns)
{
	if (ns >= 4)
		cp_async_wait<2>();
	else if (ns == 3)
		cp_async_wait<1>();
	else
		cp_async_wait<0>();
}

/* The first input position of a tile's span, as a multiple of 4 at or
 * below o0*S - P, and the span's offset from it (0..3). */
static __device__ __forceinline__ void span_start(int o0, int &a0, int &shift)
{
	const int start = o0 * STRIDE_W - FPAD;
	a0 = start >= 0 ? start & ~3 : -((-start + 3) & ~3);
	shift = start - a0;
}

/* Copies step s's span (tile t, chunk c) into stage buf: CK rows of RX
 * floats from a0, zeros outside x and past the group's channels. */
static __device__ __forceinline__ void issue(const float *__restrict__ x, float *buf, int64_t t, int c, int g,
					     const geom &p)
{
	const int64_t n = t / p.tiles_o;
	const int o0 = (int)(t - n * p.tiles_o) * OT;
	int a0, shift;
	span_start(o0, a0, shift);
	const int q4 = RX / 4;
	for (int i = threadIdx.x; i < CK * q4; i += THREADS) {
		const int r = i / q4, j = i - r * q4;
		const int ci = c * CK + r, pos = a0 + 4 * j;
		const uint32_t dst = smem_u32(buf + r * RX + 4 * j);
		if (ci >= p.cin_g) {
			cp_async16(dst, x, 0);
			continue;
		}
		const float *row = x + (n * p.cin + (int64_t)g * p.cin_g + ci) * p.L;
		if (p.vec_x && pos >= 0 && pos + 4 <= p.L) {
			cp_async16(dst, row + pos);
		} else {
#pragma unroll
			for (int e = 0; e < 4; e++) {
				const bool in = pos + e >= 0 && pos + e < p.L;
				cp_async4(dst + 4 * e, in ? row + pos + e : x, in ? 4 : 0);
			}
		}
	}
}

/*
 * Grid: (blocks, G * ctiles); block (bx, by) owns channels co0 .. co0+CO-1
 * of group by / ctiles (co0 = (by % ctiles) * CO; those past CoutG from zero
 * weights, not stored) and tiles bx, bx + gridDim.x, ... Warp (wm, wn)
 * computes channels wm*64 .. +63 and outputs wn*32 .. +31 of each tile.
 */
__global__ void __launch_bounds__(THREADS, 1)
conv1d_kernel(const float *__restrict__ x, const float *__restrict__ w, const float *__restrict__ bias,
	      float *__restrict__ y, geom p)
{
	extern __shared__ float4 smem4[];
	const int rw = p.rw;
	uint32_t *s_whi = reinterpret_cast<uint32_t *>(smem4);   /* [KW][CO][rw] */
	uint32_t *s_wlo = s_whi + KW * CO * rw;
	float *s_b = reinterpret_cast<float *>(s_wlo + KW * CO * rw);
	float *s_x = s_b + CO;                                   /* [ns][CK][RX] */
	const int g = blockIdx.y / p.ctiles, co0 = (blockIdx.y % p.ctiles) * CO;

	/* The weights, w[g*CoutG + co0 + co][ci][tap] (transposed:
	 * w[g*CinG + ci][co0 + co][KW-1-tap]), split once. */
	for (int i = threadIdx.x; i < KW * CO * rw; i += THREADS) {
		const int j = i % rw, co = (i / rw) % CO, tap = i / (rw * CO);
		float v0 = 0.0f, v1 = 0.0f;
		if (co0 + co < p.cout_g) {
			/* Input channel ci's weight is wr[ci * wstep]. */
			const int64_t wstep = CONV_TRANSPOSED ? (int64_t)p.cout_g * KW : KW;
			const float *wr = CONV_TRANSPOSED
				? w + ((int64_t)g * p.cin_g * p.cout_g + co0 + co) * KW + (KW - 1 - tap)
				: w + ((int64_t)g * p.cout_g + co0 + co) * p.cin_g * KW + tap;
			if (2 * j < p.cin_g)
				v0 = wr[2 * j * wstep];
			if (2 * j + 1 < p.cin_g)
				v1 = wr[(2 * j + 1) * wstep];
		}
		uint32_t hi, lo;
		bf16x2_split(v0, v1, hi, lo);
		s_whi[i] = hi;
		s_wlo[i] = lo;
	}
	for (int co = threadIdx.x; co < CO; co += THREADS)
		s_b[co] = CONV_BIAS && co0 + co < p.cout_g ? bias[(int64_t)g * p.cout_g + co0 + co] : 0.0f;

	const int64_t mine = blockIdx.x < p.ntiles ? (p.ntiles - blockIdx.x + gridDim.x - 1) / gridDim.x : 0;
	const int64_t steps = mine * p.chunks;
	/* Step s: tile blockIdx.x + (s / chunks) * gridDim.x, chunk s % chunks. */
	for (int s = 0; s < p.ns - 1; s++) {
		if (s < steps)
			issue(x, s_x + s * CK * RX, blockIdx.x + (s / p.chunks) * (int64_t)gridDim.x, s % p.chunks, g, p);
		cp_async_commit();
	}

	const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
	const int wm = warp / WN, wn = warp % WN;
	const int gq = lane / 4, tq = lane % 4;   /* the fragment's row group and thread in it */
	/* ldmatrix: lane l gives row l % 16 of the 16x16 A tile, columns (l / 16) * 8. */
	const uint32_t a_hi = smem_u32(s_whi) +
			      4u * ((wm * 64 + lane % 16) * rw + (lane / 16) * 4);
	const uint32_t a_lo = a_hi + 4u * KW * CO * rw;

	float acc[4][4][4];
#pragma unroll
	for (int mt = 0; mt < 4; mt++)
#pragma unroll
		for (int nt = 0; nt < 4; nt++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				acc[mt][nt][e] = 0.0f;

	int c = 0;
	int64_t t = blockIdx.x;
	for (int64_t s = 0; s < steps; s++) {
		wait_ring(p.ns);
		__syncthreads();   /* step s landed; every warp is done with step s-1's stage */
		{
			const int64_t f = s + p.ns - 1;
			if (f < steps)
				issue(x, s_x + (int)(f % p.ns) * CK * RX,
				      blockIdx.x + (f / p.chunks) * (int64_t)gridDim.x, (int)(f % p.chunks), g, p);
			cp_async_commit();
		}
		const int64_t n = t / p.tiles_o;
		const int o0 = (int)(t - n * p.tiles_o) * OT;
		int a0, shift;
		span_start(o0, a0, shift);
		const float *sx = s_x + (int)(s % p.ns) * CK * RX + (2 * tq) * RX + shift + (wn * 32 + gq) * STRIDE_W;
#pragma unroll
		for (int tap = 0; tap < KW; tap++) {
#pragma unroll
			for (int kk = 0; kk < CK / 16; kk++) {
				/* B: 4 tiles of 16 input channels x 8 outputs, from the span,
				 * split into bfloat16 halves once for the warp's 4 A tiles. */
				const float *xb = sx + kk * 16 * RX + tap * DIL_W;
				uint32_t bh[4][2], bl[4][2];
#pragma unroll
				for (int nt = 0; nt < 4; nt++) {
					const float *q = xb + nt * 8 * STRIDE_W;
					bf16x2_split(q[0], q[RX], bh[nt][0], bl[nt][0]);
					bf16x2_split(q[8 * RX], q[9 * RX], bh[nt][1], bl[nt][1]);
				}
				/* A: 4 tiles of 16 channels x 16 input channels, hi and lo, one at a time. */
				const uint32_t aoff = 4u * ((tap * CO) * rw + (c * CK + kk * 16) / 2);
#pragma unroll
				for (int mt = 0; mt < 4; mt++) {
					uint32_t ah[4], al[4];
					ldsm_x4(ah, a_hi + aoff + 4u * (mt * 16) * rw);
					ldsm_x4(al, a_lo + aoff + 4u * (mt * 16) * rw);
#pragma unroll
					for (int nt = 0; nt < 4; nt++) {
						mma_m16n8k16_bf16(acc[mt][nt], al, bh[nt][0], bh[nt][1]);
						mma_m16n8k16_bf16(acc[mt][nt], ah, bl[nt][0], bl[nt][1]);
						mma_m16n8k16_bf16(acc[mt][nt], ah, bh[nt][0], bh[nt][1]);
					}
				}
			}
		}
		if (++c < p.chunks)
			continue;
		/* The tile's last chunk: its outputs, bias added. */
		float *yn = y + (n * p.cout + (int64_t)g * p.cout_g + co0) * p.OL;
#pragma unroll
		for (int mt = 0; mt < 4; mt++)
#pragma unroll
			for (int h = 0; h < 2; h++) {
				const int co = wm * 64 + mt * 16 + gq + 8 * h;
				const float b = s_b[co];
				float *yr = yn + (int64_t)co * p.OL;
				const bool live = co0 + co < p.cout_g;
#pragma unroll
				for (int nt = 0; nt < 4; nt++) {
					const int o = o0 + wn * 32 + nt * 8 + 2 * tq;
					const float v0 = acc[mt][nt][2 * h] + b, v1 = acc[mt][nt][2 * h + 1] + b;
					acc[mt][nt][2 * h] = 0.0f;
					acc[mt][nt][2 * h + 1] = 0.0f;
					if (!live || o >= p.OL)
						continue;
					if (p.vec_y && o + 1 < p.OL) {
						store2(yr + o, v0, v1);
					} else {
						store1(yr + o, v0);
						if (o + 1 < p.OL)
							store1(yr + o + 1, v1);
					}
				}
			}
		c = 0;
		t += gridDim.x;
	}
	cp_async_wait<0>();
}

/* ---- launch ---- */

static int launch(const kb_tensor *in, kb_tensor *yt, int64_t N, int G, int cin_g, int cout_g, int L, int OL,
		  cudaStream_t st)
{
	geom p;
	p.cin_g = cin_g;
	p.cout_g = cout_g;
	p.ctiles = (cout_g + CO - 1) / CO;
	p.L = L;
	p.OL = OL;
	p.chunks = (cin_g + CK - 1) / CK;
	p.rw = weight_row(p.chunks * CK);
	p.cin = (int64_t)G * cin_g;
	p.cout = (int64_t)G * cout_g;
	p.tiles_o = (OL + OT - 1) / OT;
	p.ntiles = N * p.tiles_o;
	p.vec_x = L % 4 == 0 && (uintptr_t)in[0].data % 16 == 0;
	p.vec_y = OL % 2 == 0 && (uintptr_t)yt->data % 8 == 0;
	p.ns = STAGES;
	while (p.ns > 2 && smem_bytes(p.rw, p.ns) > SMEM_CAP)
		p.ns--;
	const size_t smem = smem_bytes(p.rw, p.ns);
	if (smem > SMEM_CAP)
		return KB_ERR_SHAPE;   /* fewer channels per block, a narrower tile or a smaller CK fit */
	const int64_t cols = (int64_t)G * p.ctiles;
	if (cols > 65535)
		return KB_ERR_SHAPE;
	if (cudaFuncSetAttribute((const void *)conv1d_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
				 (int)smem) != cudaSuccess)
		return KB_ERR_LAUNCH;
	int per_sm = 0;
	if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, conv1d_kernel, THREADS, smem) != cudaSuccess)
		return KB_ERR_LAUNCH;
	if (per_sm < 1)
		return KB_ERR_SHAPE;
	const int sms = kb_sm_count();
	if (sms < 1)
		return KB_ERR_LAUNCH;
	/* One wave: every block resident, each splitting its weights once. */
	int64_t bx = ((int64_t)sms * per_sm + cols - 1) / cols;
	if (bx > p.ntiles)
		bx = p.ntiles;
	if (bx < 1)
		bx = 1;
	conv1d_kernel<<<dim3((unsigned)bx, (unsigned)cols), THREADS, smem, st>>>(
		(const float *)in[0].data, (const float *)in[1].data, CONV_BIAS ? (const float *)in[2].data : nullptr,
		(float *)yt->data, p);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!kb_args_one_dtype(in, n_in, 2 + CONV_BIAS, out, n_out, 1) || in[0].dtype != KB_F32)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *wt = &in[1];
	kb_tensor *y = &out[0];
	if ((x->ndim != 3 && x->ndim != 2) || y->ndim != x->ndim || wt->ndim != 3)
		return KB_ERR_SHAPE;
	const int bat = x->ndim == 3;
	const int64_t N = bat ? x->shape[0] : 1, cin = x->shape[bat], L = x->shape[bat + 1];
	const int G = CONV_GROUPS;
	if (N < 0 || cin < 1 || cin % G || wt->shape[2] != KW)
		return KB_ERR_SHAPE;
	/* Forward (Cout, CinG, K); transposed (Cin, CoutG, K). */
	const int64_t cout = CONV_TRANSPOSED ? wt->shape[1] * G : wt->shape[0];
	if (wt->shape[CONV_TRANSPOSED ? 0 : 1] != (CONV_TRANSPOSED ? cin : cin / G))
		return KB_ERR_SHAPE;
	if (cout < 1 || cout % G || y->shape[bat] != cout || cout > 2147483647LL || cin > 65536)
		return KB_ERR_SHAPE;
	if (CONV_BIAS && (in[2].ndim != 1 || in[2].shape[0] != cout))
		return KB_ERR_SHAPE;
	if (L < 1 || L > 2147483647LL - 4 * (int64_t)OT * STRIDE_W)
		return KB_ERR_SHAPE;
	const int64_t reach = (int64_t)DIL_W * (KW - 1);
	const int64_t OL = CONV_TRANSPOSED ? L - 1 - 2 * PAD_W + reach + OPAD_W + 1
					   : (L + 2 * PAD_W - reach - 1) / STRIDE_W + 1;
	if ((CONV_TRANSPOSED ? OL < 1 : L + 2 * PAD_W - reach - 1 < 0) || y->shape[bat + 1] != OL)
		return KB_ERR_SHAPE;
	/* Span positions (o0*S - FPAD + RX) stay in int. */
	if (OL * STRIDE_W + L + PAD_W + reach > 2147483647LL - 4 * (int64_t)OT * STRIDE_W)
		return KB_ERR_SHAPE;
	if (bat && y->shape[0] != N)
		return KB_ERR_SHAPE;
	if (N == 0)
		return KB_OK;
	return launch(in, y, N, G, (int)(cin / G), (int)(cout / G), (int)L, (int)OL, (cudaStream_t)stream);
}
