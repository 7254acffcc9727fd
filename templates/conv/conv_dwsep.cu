// kbreed-template: conv_dwsep
// family: conv
// problems: conv2d_depthwise_separable
// requires: CONV_KERNEL_H CONV_KERNEL_W CONV_PW_BIAS
// knob TILE_W: 16 32 64 | default 32 | category memory access | output columns of a block's pixel tile; a warp's stores of one output channel are TILE_W consecutive outputs of a row (32 with the defaults)
// knob TILE_H: 1 2 4 8 | default 4 | category memory access | output rows of a block's pixel tile (halved while a thread would hold more than 128 accumulators or the tile's buffers would not fit); a taller tile stages proportionally less halo
// knob CO_TILE: 16 32 64 128 | default 128 | category memory access | output channels per block: the depthwise tile is computed once per block and feeds CO_TILE channels, so it is recomputed Cout/CO_TILE times per pixel tile
// knob KC: 8 16 32 | default 8 | category control flow and loops | intermediate (depthwise) channels per step: each step stages KC input windows, makes KC depthwise tiles and adds KC terms into every output; deeper steps mean fewer barriers and more shared memory
// knob THREADS: 64 128 256 | default 256 | category parallelism | threads per block; each holds TILE_H*TILE_W*CO_TILE/THREADS accumulators
// knob PRECISION: 1 3 32 | default 32 | category data type | loose 1 | 32 = the pointwise step on fp32 FMAs (strict); 3 = 3xTF32 tensor-core products (mma.sync m16n8k8, each value split into big and small: big*big + big*small + small*big, fp32-class accuracy, strict); 1 = single TF32 tensor-core products (passes only the loose crfm tolerance)
// knob SPLIT: 0 1 | default 0 | category memory access | 1 = not fused: the depthwise step writes the intermediate (fp32) to stream-ordered scratch, then the pointwise step runs as a GEMM per image on the tensor cores (templates/common/pw_gemm.cuh, conv_pointwise's: 3xTF32, TF32 at PRECISION=1); the intermediate crosses memory twice, but the products run at the tensor cores' rate; 0 = fused
// same: SPLIT=1 PRECISION=32 as PRECISION=3
// same: SPLIT=1 TILE_W=16 as TILE_W=32
// same: SPLIT=1 TILE_W=64 as TILE_W=32
// same: SPLIT=1 TILE_H=1 as TILE_H=4
// same: SPLIT=1 TILE_H=2 as TILE_H=4
// same: SPLIT=1 TILE_H=8 as TILE_H=4
// same: SPLIT=1 CO_TILE=16 as CO_TILE=128
// same: SPLIT=1 CO_TILE=32 as CO_TILE=128
// same: SPLIT=1 CO_TILE=64 as CO_TILE=128
// same: SPLIT=1 KC=16 as KC=8
// same: SPLIT=1 KC=32 as KC=8
// same: SPLIT=1 THREADS=64 as THREADS=256
// same: SPLIT=1 THREADS=128 as THREADS=256
/*
 * conv_dwsep.cu - a depthwise-separable convolution, nn.Conv2d(C, CM, (KH,
 * KW), groups=C) followed by nn.Conv2d(CM, Cout, 1), fused: the depthwise
 * result never goes to global memory. Any window, stride, zero padding and
 * dilation (per axis) of the depthwise step, a channel multiplier (CM = C *
 * MULT, intermediate channel cm reads input channel cm / MULT), a bias on
 * either step or both; fp32, fp16 or bf16 with fp32 arithmetic throughout
 * (the intermediate too, where PyTorch rounds it to the dtype); batched (N,
 * C, H, W) or unbatched (C, H, W).
 *
 * The problem's defines, written by recognition (src/recognize.c, which
 * names a graph conv2d_depthwise_separable only where the second conv is a
 * 1x1 one of stride 1, no padding and groups 1 over the first's output, and
 * the parameters come in the order below), say what to compute; compiled
 * on its own it is a 3x3 depthwise step with padding 1, no biases:
 *   CONV_KERNEL_H, _W        the depthwise window (required: the requires: line)
 *   CONV_STRIDE_H, _W        its stride per axis (or CONV_STRIDE; 1)
 *   CONV_PAD_H, _W           its zero padding per axis (CONV_PAD; 0)
 *   CONV_DIL_H, _W           its dilation per axis (CONV_DIL; 1)
 *   CONV_GROUPS              its groups, which must equal C (checked at launch)
 *   CONV_BIAS                1 = the depthwise step has a bias (default 0)
 *   CONV_PW_BIAS             1 = the pointwise step has a bias (required)
 *   CONV_TRANSPOSED          must be 0; CONV_DIMS, where given, 2
 *
 * Layout (contiguous, row-major; one dtype for every tensor):
 *   in[0]  x        (N, C, H, W) or (C, H, W)
 *   in[1]  dw       (CM, 1, KH, KW), CM = C * MULT
 *   in[2]  dw_bias  (CM), where CONV_BIAS
 *   next   pw       (Cout, CM, 1, 1)
 *   next   pw_bias  (Cout), where CONV_PW_BIAS
 *   out[0] y        (N, Cout, OH, OW) or (Cout, OH, OW),
 *                   OH = (H + 2*PH - DH*(KH-1) - 1) / SH + 1, OW likewise
 *   mid[n][cm][oh][ow] = dw_bias[cm] + sum over kh, kw of
 *       dw[cm][0][kh][kw] * x[n][cm / MULT][oh*SH - PH + kh*DH][ow*SW - PW + kw*DW]
 *   y[n][co][oh][ow] = pw_bias[co] + sum over cm of pw[co][cm][0][0] * mid[n][cm][oh][ow]
 *
 * Strategy. A block owns a pixel tile, TH x TILE_W outputs of one image,
 * for CO_TILE output channels; neighbouring blocks hold the channel tiles
 * of one pixel tile, so they read its input from L2. It walks the CM
 * intermediate channels KC at a time; per step:
 *   1. stage the KC input windows the tile needs, IN_H x IN_W with IN_H =
 *      (TH-1)*SH + DH*(KH-1) + 1 and IN_W = (TILE_W-1)*SW + DW*(KW-1) + 1
 *      elements from (oh0*SH - PH, ow0*SW - PW), into shared memory as fp32
 *      (consecutive threads load consecutive columns; the padding, the
 *      input's edges and channels past CM are written as zero without
 *      being read), with the KC channels' depthwise weights (and biases)
 *      and the KC x CO_TILE slice of the pointwise weights (zero past CM
 *      and Cout);
 *   2. compute the KC depthwise tiles from shared memory into shared
 *      memory, mid[k][p] (p = row * TILE_W + column of the pixel tile;
 *      the window, stride and dilation being constants, every tap loop
 *      unrolls);
 *   3. add mid[k][p] * pw[co][cm0 + k] into every output of the block:
 *      PRECISION = 32: each thread keeps a TCO x TP block of accumulators
 *        (TCO channels cg*TCO + i, TP pixels j*NPX + px), reading per k
 *        TP intermediate values (consecutive threads, consecutive pixels:
 *        no bank conflicts) and TCO weights (the same for a warp: one
 *        broadcast, 16-byte loads), for TCO*TP fp32 FMAs in cm order;
 *      PRECISION = 1: the block's P x CO_TILE product is cut into m16 x n8
 *        tiles dealt round-robin to the warps, and each 8-deep slice of
 *        KC is one mma.sync m16n8k8 per tile, both operands rounded to
 *        TF32 (cvt.rna) as the fragments are read (rows padded by 8
 *        floats, so a fragment's 32 reads hit 32 banks);
 *      PRECISION = 3: the same tiles, every value split as it is read
 *        into big = tf32(x) and small = tf32(x - big) (x - big is exact),
 *        and three products per slice into the one accumulator,
 *        small*big, big*small, big*big (small*small, about 2^-22
 *        relative, dropped): fp32-class sums on the tensor cores. Written
 *        without a GPU at hand; make test-gpu's section 3 judges it (every
 *        PRECISION value).
 * Then each thread stores its outputs: a warp writes runs of consecutive
 * pixels of one channel (PRECISION = 32; rows of 8 for the mma tiles).
 * Pixels of the tile past OH or OW are computed from zeros and never
 * stored; each output depends only on its own pixel's intermediates.
 *
 * The tile height used, TH, is TILE_H halved while a thread would hold
 * more than 128 accumulators (TH*TILE_W*CO_TILE/THREADS) or the buffers
 * would take more than 160 KB of shared memory (more than 48 KB is opted
 * into at launch). Blocks grid-stride over (image, pixel tile, channel
 * tile); every offset into a tensor is 64-bit (16 x 128 x 512 x 512
 * outputs are past 2^31). KB_ERR_SHAPE for anything else: other or mixed
 * dtypes, a depthwise weight whose window is not the compiled one, CM not
 * a multiple of C, C not CONV_GROUPS, a pointwise weight that is not
 * (Cout, CM, 1, 1), an output shape that is not PyTorch's.
 */
#ifndef TILE_W
#define TILE_W 32
#endif
#ifndef TILE_H
#define TILE_H 4
#endif
#ifndef CO_TILE
#define CO_TILE 128
#endif
#ifndef KC
#define KC 8
#endif
#ifndef THREADS
#define THREADS 256
#endif
#ifndef PRECISION
#define PRECISION 32
#endif
#ifndef SPLIT
#define SPLIT 0
#endif

/* Compiled on its own: a 3x3 window, padding 1, no biases. */
#ifndef CONV_KERNEL_H
#define CONV_KERNEL_H 3
#define CONV_KERNEL_W 3
#define CONV_PAD_H 1
#define CONV_PAD_W 1
#endif
#include "../common/conv_axes.cuh" // kbreed:inline
#ifndef CONV_PW_BIAS
#define CONV_PW_BIAS 0
#endif
#ifndef CONV_TRANSPOSED
#define CONV_TRANSPOSED 0
#endif
#ifndef CONV_DIMS
#define CONV_DIMS 2
#endif

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/dtype.cuh" // kbreed:inline
#include "../common/ampere.cuh" // kbreed:inline
#if SPLIT
#include "../common/pw_gemm.cuh" // kbreed:inline
#endif

#define KH CONV_KERNEL_H
#define KW CONV_KERNEL_W
#define SH CONV_STRIDE_H
#define SW CONV_STRIDE_W
#define PH CONV_PAD_H
#define PW CONV_PAD_W
#define DH CONV_DIL_H
#define DW CONV_DIL_W

static_assert(TILE_W == 16 || TILE_W == 32 || TILE_W == 64, "TILE_W is 16, 32 or 64");
static_assert(TILE_H == 1 || TILE_H == 2 || TILE_H == 4 || TILE_H == 8, "TILE_H is 1, 2, 4 or 8");
static_assert(CO_TILE == 16 || CO_TILE == 32 || CO_TILE == 64 || CO_TILE == 128, "CO_TILE is 16, 32, 64 or 128");
static_assert(KC == 8 || KC == 16 || KC == 32, "KC is 8, 16 or 32");
static_assert(THREADS == 64 || THREADS == 128 || THREADS == 256, "THREADS is 64, 128 or 256");
static_assert(PRECISION == 1 || PRECISION == 3 || PRECISION == 32,
	      "PRECISION is 1 (TF32), 3 (3xTF32) or 32 (fp32 FMA)");
static_assert(SPLIT == 0 || SPLIT == 1, "SPLIT is 0 or 1");
static_assert(KH >= 1 && KW >= 1, "CONV_KERNEL: windows of at least 1");
static_assert(SH >= 1 && SW >= 1, "CONV_STRIDE");
static_assert(PH >= 0 && PW >= 0, "CONV_PAD");
static_assert(DH >= 1 && DW >= 1, "CONV_DIL");
static_assert(CONV_BIAS == 0 || CONV_BIAS == 1, "CONV_BIAS is 0 or 1");
static_assert(CONV_PW_BIAS == 0 || CONV_PW_BIAS == 1, "CONV_PW_BIAS is 0 or 1");
static_assert(CONV_TRANSPOSED == 0, "a transposed convolution is not this template's");
static_assert(CONV_DIMS == 2, "a 2-D depthwise-separable convolution only");

KBREED_CANDIDATE_ABI

/* The buffers of one step, in floats, for a tile th rows high: the KC
 * input windows, the KC depthwise tiles (rows padded by 8), the KC x
 * CO_TILE pointwise weights (rows padded by 8), the KC depthwise windows'
 * weights and their biases. */
constexpr int IN_W = (TILE_W - 1) * SW + DW * (KW - 1) + 1;
constexpr int in_rows(int th) { return (th - 1) * SH + DH * (KH - 1) + 1; }
constexpr int mid_pitch(int th) { return th * TILE_W + 8; }
constexpr int PW_PITCH = CO_TILE + 8;
constexpr long long smem_floats(int th)
{
	return (long long)KC * in_rows(th) * IN_W + (long long)KC * mid_pitch(th) + KC * PW_PITCH + KC * KH * KW + KC;
}
constexpr int SMEM_CAP = 160 * 1024;
constexpr int accumulators(int th) { return th * TILE_W * CO_TILE / THREADS; }
/* The tile height: TILE_H, halved while a thread's accumulators or the
 * buffers would be too many. */
constexpr int fit_rows(int th)
{
	return th > 1 && (accumulators(th) > 128 || smem_floats(th) * 4 > SMEM_CAP) ? fit_rows(th / 2) : th;
}
constexpr int TH = fit_rows(TILE_H);
constexpr int IN_H = in_rows(TH);
constexpr int P = TH * TILE_W;                 /* pixels per tile */
constexpr int MID_PITCH = mid_pitch(TH);
constexpr long long SMEM_BYTES_LL = smem_floats(TH) * 4;
static_assert(SMEM_BYTES_LL <= 227 * 1024, "one step's buffers do not fit in shared memory: lower KC or TILE_W");
constexpr int SMEM_BYTES = (int)SMEM_BYTES_LL;
constexpr int ACC = accumulators(TH);          /* per thread */
static_assert(ACC >= 1 && ACC * THREADS == P * CO_TILE && ACC <= 128, "accumulators per thread");

/* PRECISION = 32: a thread's TCO x TP block, TP the smallest power of two
 * with 4*TP*TP >= ACC (TCO about four times TP: the weights are broadcast,
 * the intermediates are not), within the tile. */
constexpr int pick_tp(int a)
{
	int tp = 1;
	while (4 * tp * tp < a)
		tp *= 2;
	return tp;
}
constexpr int TP0 = pick_tp(ACC) < P ? pick_tp(ACC) : P;
constexpr int TP = ACC / TP0 > CO_TILE ? ACC / CO_TILE : TP0;
constexpr int TCO = ACC / TP;
constexpr int NPX = P / TP;                    /* threads along the pixels */
constexpr int NCO = CO_TILE / TCO;             /* threads along the channels */
static_assert(TP * TCO == ACC && TP <= P && TCO <= CO_TILE && NPX * NCO == THREADS, "the thread block");

/* PRECISION = 1 or 3: m16 x n8 tiles dealt round-robin to the warps. */
constexpr int WARPS = THREADS / 32;
constexpr int NT_ALL = CO_TILE / 8;
constexpr int TILES = P / 16 * NT_ALL;
constexpr int TPW = (TILES + WARPS - 1) / WARPS;   /* tiles per warp, the last ones maybe idle */
static_assert(P % 16 == 0, "pixel tiles of whole m16 blocks");

template <typename T>
__global__ void __launch_bounds__(THREADS)
dwsep_kernel(const T *__restrict__ x, const T *__restrict__ dw, const T *__restrict__ dw_bias,
	     const T *__restrict__ pw, const T *__restrict__ pw_bias, T *__restrict__ y, int64_t total,
	     int C, int mult, int CM, int Cout, int H, int W, int OH, int OW, int tiles_w, int tiles, int co_tiles)
{
	extern __shared__ float4 smem4[];
	float *s_in = reinterpret_cast<float *>(smem4);   /* [KC][IN_H][IN_W] */
	float *s_mid = s_in + KC * IN_H * IN_W;           /* [KC][MID_PITCH] */
	float *s_pw = s_mid + KC * MID_PITCH;             /* [KC][PW_PITCH], k-major */
	float *s_dw = s_pw + KC * PW_PITCH;               /* [KC][KH*KW] */
	float *s_db = s_dw + KC * KH * KW;                /* [KC] */
	const int tid = threadIdx.x;
	for (int64_t b = blockIdx.x; b < total; b += gridDim.x) {
		const int cot = (int)(b % co_tiles);
		const int64_t rest = b / co_tiles;
		const int t = (int)(rest % tiles);
		const int64_t n = rest / tiles;
		const int oh0 = (t / tiles_w) * TH, ow0 = (t % tiles_w) * TILE_W, co0 = cot * CO_TILE;
		const int ih0 = oh0 * SH - PH, iw0 = ow0 * SW - PW;

		/* The accumulators, from the pointwise bias. */
		float acc[PRECISION == 32 ? TCO : TPW][PRECISION == 32 ? TP : 4];
		const int px = tid % NPX, cg = tid / NPX;
		const int warp = tid / 32, g = (tid % 32) / 4, tq = tid % 4;
		if constexpr (PRECISION == 32) {
#pragma unroll
			for (int i = 0; i < TCO; i++) {
				const int co = co0 + cg * TCO + i;
				const float bv = CONV_PW_BIAS && co < Cout ? to_float(pw_bias[co]) : 0.0f;
#pragma unroll
				for (int j = 0; j < TP; j++)
					acc[i][j] = bv;
			}
		} else {
#pragma unroll
			for (int i = 0; i < TPW; i++) {
				const int co = co0 + (warp + i * WARPS) % NT_ALL * 8 + 2 * tq;
				const float b0 = CONV_PW_BIAS && co < Cout ? to_float(pw_bias[co]) : 0.0f;
				const float b1 = CONV_PW_BIAS && co + 1 < Cout ? to_float(pw_bias[co + 1]) : 0.0f;
				acc[i][0] = acc[i][2] = b0;
				acc[i][1] = acc[i][3] = b1;
			}
		}

		for (int cm0 = 0; cm0 < CM; cm0 += KC) {
			__syncthreads();   /* the previous step's (or tile's) readers are done */
			/* 1. The KC input windows, zero outside x and past CM. */
#pragma unroll 4
			for (int i = tid; i < KC * IN_H * IN_W; i += THREADS) {
				const int k = i / (IN_H * IN_W), rem = i - k * (IN_H * IN_W);
				const int r = rem / IN_W, col = rem - r * IN_W;
				const int cm = cm0 + k, ih = ih0 + r, iw = iw0 + col;
				float v = 0.0f;
				if (cm < CM && ih >= 0 && ih < H && iw >= 0 && iw < W)
					v = to_float(x[((n * C + cm / mult) * H + ih) * (int64_t)W + iw]);
				s_in[i] = v;
			}
			for (int i = tid; i < KC * KH * KW; i += THREADS) {
				const int k = i / (KH * KW), cm = cm0 + k;
				s_dw[i] = cm < CM ? to_float(dw[(int64_t)cm * (KH * KW) + (i - k * (KH * KW))]) : 0.0f;
			}
			if (CONV_BIAS && tid < KC)
				s_db[tid] = cm0 + tid < CM ? to_float(dw_bias[cm0 + tid]) : 0.0f;
			/* pw[co0 + j][cm0 + k] into s_pw[k][j]: runs of KC consecutive
			 * elements of a weight row per read. */
			for (int i = tid; i < KC * CO_TILE; i += THREADS) {
				const int j = i / KC, k = i - j * KC;
				const int co = co0 + j, cm = cm0 + k;
				s_pw[k * PW_PITCH + j] = co < Cout && cm < CM ? to_float(pw[(int64_t)co * CM + cm]) : 0.0f;
			}
			__syncthreads();
			/* 2. The KC depthwise tiles. */
			for (int i = tid; i < KC * P; i += THREADS) {
				const int k = i / P, p = i - k * P;
				const int r = p / TILE_W, col = p - r * TILE_W;
				const float *sp = s_in + (k * IN_H + r * SH) * IN_W + col * SW;
				const float *wk = s_dw + k * (KH * KW);
				float v = CONV_BIAS ? s_db[k] : 0.0f;
#pragma unroll
				for (int kh = 0; kh < KH; kh++)
#pragma unroll
					for (int kw = 0; kw < KW; kw++)
						v = fmaf(sp[kh * DH * IN_W + kw * DW], wk[kh * KW + kw], v);
				s_mid[k * MID_PITCH + p] = v;
			}
			__syncthreads();
			/* 3. The pointwise terms of these KC channels. */
			if constexpr (PRECISION == 32) {
#pragma unroll 2
				for (int k = 0; k < KC; k++) {
					float mv[TP], wv[TCO];
#pragma unroll
					for (int j = 0; j < TP; j++)
						mv[j] = s_mid[k * MID_PITCH + j * NPX + px];
					const float *wp = s_pw + k * PW_PITCH + cg * TCO;
					if constexpr (TCO % 4 == 0) {
#pragma unroll
						for (int i = 0; i < TCO; i += 4) {
							const float4 w4 = *reinterpret_cast<const float4 *>(wp + i);
							wv[i] = w4.x;
							wv[i + 1] = w4.y;
							wv[i + 2] = w4.z;
							wv[i + 3] = w4.w;
						}
					} else {
#pragma unroll
						for (int i = 0; i < TCO; i++)
							wv[i] = wp[i];
					}
#pragma unroll
					for (int i = 0; i < TCO; i++)
#pragma unroll
						for (int j = 0; j < TP; j++)
							acc[i][j] = fmaf(wv[i], mv[j], acc[i][j]);
				}
			} else {
#pragma unroll
				for (int kk = 0; kk < KC; kk += 8) {
					const float *m_lo = s_mid + (kk + tq) * MID_PITCH, *m_hi = m_lo + 4 * MID_PITCH;
					const float *w_lo = s_pw + (kk + tq) * PW_PITCH, *w_hi = w_lo + 4 * PW_PITCH;
#pragma unroll
					for (int i = 0; i < TPW; i++) {
						const int tile = warp + i * WARPS;
						if (tile >= TILES)   /* the same for the whole warp */
							break;
						const int m0 = tile / NT_ALL * 16 + g, n0 = tile % NT_ALL * 8 + g;
						if constexpr (PRECISION == 3) {
							const float av[4] = { m_lo[m0], m_lo[m0 + 8], m_hi[m0], m_hi[m0 + 8] };
							const float w0 = w_lo[n0], w1 = w_hi[n0];
							uint32_t big[4], small[4], b0, b1, s0, s1;
#pragma unroll
							for (int c = 0; c < 4; c++)
								tf32_split(av[c], big[c], small[c]);
							tf32_split(w0, b0, s0);
							tf32_split(w1, b1, s1);
							mma_m16n8k8_tf32(acc[i], small, b0, b1);
							mma_m16n8k8_tf32(acc[i], big, s0, s1);
							mma_m16n8k8_tf32(acc[i], big, b0, b1);
						} else {
							const uint32_t a[4] = { to_tf32(m_lo[m0]), to_tf32(m_lo[m0 + 8]),
										to_tf32(m_hi[m0]), to_tf32(m_hi[m0 + 8]) };
							mma_m16n8k8_tf32(acc[i], a, to_tf32(w_lo[n0]), to_tf32(w_hi[n0]));
						}
					}
				}
			}
		}

		/* The outputs of the tile inside y. */
		const int64_t plane = (int64_t)OH * OW;
		if constexpr (PRECISION == 32) {
#pragma unroll
			for (int i = 0; i < TCO; i++) {
				const int co = co0 + cg * TCO + i;
				if (co >= Cout)
					break;
				T *yp = y + (n * Cout + co) * plane;
#pragma unroll
				for (int j = 0; j < TP; j++) {
					const int p = j * NPX + px, oh = oh0 + p / TILE_W, ow = ow0 + p % TILE_W;
					if (oh < OH && ow < OW)
						yp[(int64_t)oh * OW + ow] = from_float<T>(acc[i][j]);
				}
			}
		} else {
#pragma unroll
			for (int i = 0; i < TPW; i++) {
				const int tile = warp + i * WARPS;
				if (tile >= TILES)
					break;
				const int co = co0 + tile % NT_ALL * 8 + 2 * tq;
#pragma unroll
				for (int e = 0; e < 4; e++) {
					const int p = tile / NT_ALL * 16 + g + (e >= 2 ? 8 : 0), c = co + (e & 1);
					const int oh = oh0 + p / TILE_W, ow = ow0 + p % TILE_W;
					if (c < Cout && oh < OH && ow < OW)
						y[(n * Cout + c) * plane + (int64_t)oh * OW + ow] = from_float<T>(acc[i][e]);
				}
			}
		}
	}
}

/* ---- launch ---- */

template <typename T>
static int launch(const kb_tensor *in, kb_tensor *y, int64_t N, int C, int mult, int Cout, int H, int W, int OH,
		  int OW, cudaStream_t st)
{
	const int tiles_h = (OH + TH - 1) / TH, tiles_w = (OW + TILE_W - 1) / TILE_W;
	const int co_tiles = (Cout + CO_TILE - 1) / CO_TILE;
	const int64_t tiles = (int64_t)tiles_h * tiles_w;
	if (tiles > 2147483647LL)
		return KB_ERR_SHAPE;
	const int64_t total = N * tiles * co_tiles;
	const unsigned grid = (unsigned)(total < (1 << 30) ? total : (1 << 30));   /* the rest grid-strides */
	const kb_tensor *pw = &in[2 + CONV_BIAS];
	void (*kernel)(const T *, const T *, const T *, const T *, const T *, T *, int64_t, int, int, int, int, int,
		       int, int, int, int, int, int) = dwsep_kernel<T>;
	if (SMEM_BYTES > 48 * 1024 &&
	    cudaFuncSetAttribute((const void *)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
				 SMEM_BYTES) != cudaSuccess)
		return KB_ERR_LAUNCH;
	kernel<<<grid, THREADS, SMEM_BYTES, st>>>((const T *)in[0].data, (const T *)in[1].data,
						   CONV_BIAS ? (const T *)in[2].data : nullptr, (const T *)pw->data,
						   CONV_PW_BIAS ? (const T *)pw[1].data : nullptr, (T *)y->data, total, C,
						   mult, C * mult, Cout, H, W, OH, OW, tiles_w, (int)tiles, co_tiles);
	return cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
}

#if SPLIT
/* SPLIT=1, the depthwise step alone: mid[n][cm][oh][ow] in fp32 (as the
 * fused path keeps it), a block a run of 1024 outputs of one (n, cm) plane
 * (32-bit index arithmetic within it), the window unrolled, x through the
 * read-only cache (neighbouring windows overlap). */
#define SPLIT_RUN 1024
template <typename T>
__global__ void __launch_bounds__(256)
dw_mid_kernel(const T *__restrict__ x, const T *__restrict__ dw, const T *__restrict__ dwb, float *__restrict__ mid,
	      int runs, int C, int mult, int H, int W, int OH, int OW)
{
	const int64_t plane = blockIdx.x / (unsigned)runs;   /* n * CM + cm */
	const int cm = (int)(plane % (C * mult)), p0 = (int)(blockIdx.x % (unsigned)runs) * SPLIT_RUN;
	const int64_t n = plane / (C * mult);
	const T *xp = x + (n * C + cm / mult) * (int64_t)H * W;
	float w[KH * KW];
#pragma unroll
	for (int k = 0; k < KH * KW; k++)
		w[k] = to_float(dw[(int64_t)cm * KH * KW + k]);
	const float b = CONV_BIAS ? to_float(dwb[cm]) : 0.0f;
	float *mp = mid + plane * (int64_t)OH * OW;
	const int count = OH * OW;
#pragma unroll 4
	for (int p = p0 + threadIdx.x; p < min(p0 + SPLIT_RUN, count); p += 256) {
		const int oh = p / OW, ow = p - oh * OW;
		float acc = b;
#pragma unroll
		for (int kh = 0; kh < KH; kh++) {
			const int ih = oh * SH - PH + kh * DH;
			if (ih < 0 || ih >= H)
				continue;
#pragma unroll
			for (int kw = 0; kw < KW; kw++) {
				const int iw = ow * SW - PW + kw * DW;
				if (iw >= 0 && iw < W)
					acc = fmaf(w[kh * KW + kw], to_float(xp[(int64_t)ih * W + iw]), acc);
			}
		}
		mp[p] = acc;
	}
}

/* fp16 and bf16 pointwise weights widened to fp32 for the GEMM. */
template <typename T> __global__ void widen_kernel(const T *__restrict__ a, float *__restrict__ b, int64_t n)
{
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
		b[i] = to_float(a[i]);
}

/* SPLIT=1: the depthwise step into fp32 scratch, then the pointwise GEMM
 * (pw_gemm.cuh, 128 x 128 tiles 32 deep, 8 warps, 3 stages: the tile measured on 86,
 * bench/device-2026-12-05c-h100.md; conv_pointwise's default is now 4 warps) over it,
 * y rounded to T. */
typedef pwg<128, 128, 32, 8, 3, PRECISION == 1 ? 1 : 3> SPLIT_GEMM;

template <typename T>
static int launch_split(const kb_tensor *in, kb_tensor *y, int64_t N, int C, int mult, int Cout, int H, int W,
			int OH, int OW, cudaStream_t st)
{
	const int CM = C * mult;
	if ((int64_t)OH * OW > 2147483647LL)
		return KB_ERR_SHAPE;
	const int P = OH * OW;
	const int64_t runs = ((int64_t)P + SPLIT_RUN - 1) / SPLIT_RUN, blocks = N * CM * runs;
	if (blocks > 2147483647LL)
		return KB_ERR_SHAPE;
	const kb_tensor *pw = &in[2 + CONV_BIAS];
	const bool wide = sizeof(T) != sizeof(float);   /* the pointwise weights need widening */
	const size_t mid_n = (size_t)(N * CM) * (size_t)P, w_n = wide ? (size_t)Cout * CM : 0;
	float *mid = nullptr;
	kb_keep_pool_mapped();
	if (cudaMallocAsync((void **)&mid, (mid_n + w_n) * sizeof(float), st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	float *wf = wide ? mid + mid_n : (float *)pw->data;   /* mid_n floats keep wf 4-byte aligned */
	dw_mid_kernel<T><<<(unsigned)blocks, 256, 0, st>>>((const T *)in[0].data, (const T *)in[1].data,
							    CONV_BIAS ? (const T *)in[2].data : nullptr, mid, (int)runs,
							    C, mult, H, W, OH, OW);
	if (wide)
		widen_kernel<T><<<(unsigned)((w_n + 255) / 256 < 4096 ? (w_n + 255) / 256 : 4096), 256, 0, st>>>(
			(const T *)pw->data, wf, (int64_t)w_n);
	int rc = cudaGetLastError() == cudaSuccess ? KB_OK : KB_ERR_LAUNCH;
	if (rc == KB_OK) {
		const T *bp = CONV_PW_BIAS ? (const T *)pw[1].data : nullptr;
		T *yp = (T *)y->data;
		const bool v16 = P % 4 == 0 && CM % 4 == 0 && ((uintptr_t)wf | (uintptr_t)yp) % 16 == 0;
		rc = v16 ? pwg_launch<SPLIT_GEMM, true, T>(mid, wf, bp, yp, N, CM, Cout, P, st)
			 : pwg_launch<SPLIT_GEMM, false, T>(mid, wf, bp, yp, N, CM, Cout, P, st);
	}
	if (cudaFreeAsync(mid, st) != cudaSuccess && rc == KB_OK)
		rc = KB_ERR_LAUNCH;
	return rc;
}
#define LAUNCH launch_split
#else
#define LAUNCH launch
#endif

/* PyTorch's output extent of one axis; below 1 where the dilated window
 * does not fit in the padded input (PyTorch refuses that). */
static int64_t out_extent(int64_t in, int k, int s, int p, int dil)
{
	const int64_t num = in + 2 * (int64_t)p - (int64_t)dil * (k - 1) - 1;
	return num < 0 ? 0 : num / s + 1;
}

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!kb_args_one_dtype(in, n_in, 3 + CONV_BIAS + CONV_PW_BIAS, out, n_out, 1))
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *dw = &in[1], *pw = &in[2 + CONV_BIAS];
	kb_tensor *y = &out[0];
	if ((x->ndim != 4 && x->ndim != 3) || y->ndim != x->ndim || dw->ndim != 4 || pw->ndim != 4)
		return KB_ERR_SHAPE;
	const int bat = x->ndim == 4;
	const int64_t N = bat ? x->shape[0] : 1, C = x->shape[bat], H = x->shape[bat + 1], W = x->shape[bat + 2];
	const int64_t CM = dw->shape[0], Cout = pw->shape[0];
	if (N < 0 || C < 1 || H < 1 || W < 1 || CM < C || CM % C || CM > 2147483647LL || Cout < 1 ||
	    Cout > 2147483647LL || H > 2147483647LL || W > 2147483647LL)
		return KB_ERR_SHAPE;
#ifdef CONV_GROUPS
	if (C != CONV_GROUPS)
		return KB_ERR_SHAPE;
#endif
	if (dw->shape[1] != 1 || dw->shape[2] != KH || dw->shape[3] != KW)
		return KB_ERR_SHAPE;
	if (pw->shape[1] != CM || pw->shape[2] != 1 || pw->shape[3] != 1)
		return KB_ERR_SHAPE;
	if (CONV_BIAS && (in[2].ndim != 1 || in[2].shape[0] != CM))
		return KB_ERR_SHAPE;
	if (CONV_PW_BIAS && (pw[1].ndim != 1 || pw[1].shape[0] != Cout))
		return KB_ERR_SHAPE;
	const int64_t OH = out_extent(H, KH, SH, PH, DH), OW = out_extent(W, KW, SW, PW, DW);
	if (OH < 1 || OW < 1 || OH > 2147483647LL || OW > 2147483647LL)
		return KB_ERR_SHAPE;
	if ((bat && y->shape[0] != N) || y->shape[bat] != Cout || y->shape[bat + 1] != OH || y->shape[bat + 2] != OW)
		return KB_ERR_SHAPE;
	if (N == 0)
		return KB_OK;
	cudaStream_t st = (cudaStream_t)stream;
	const int mult = (int)(CM / C);
	switch (x->dtype) {
	case KB_F32:
		return LAUNCH<float>(in, y, N, (int)C, mult, (int)Cout, (int)H, (int)W, (int)OH, (int)OW, st);
#if !KB_F32_ONLY
	case KB_F16:
		return LAUNCH<__half>(in, y, N, (int)C, mult, (int)Cout, (int)H, (int)W, (int)OH, (int)OW, st);
	default:
		return LAUNCH<__nv_bfloat16>(in, y, N, (int)C, mult, (int)Cout, (int)H, (int)W, (int)OH, (int)OW, st);
#else
	default:
		return KB_ERR_SHAPE;
#endif
	}
}
