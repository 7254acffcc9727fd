// kbreed-template: conv_igemm
// family: conv
// problems: conv2d conv2d_relu_maxpool conv1d conv3d conv1d_grouped conv2d_grouped conv3d_grouped conv1d_pointwise conv2d_pointwise conv3d_pointwise conv_transpose1d conv_transpose2d conv_transpose3d conv_transpose1d_grouped conv_transpose2d_grouped conv_transpose3d_grouped conv_transpose1d_pointwise conv_transpose2d_pointwise conv_transpose3d_pointwise
// seeds-from: matmul
// knob BM: 64 128 256 | default 128 | category memory access | output positions per block (rows of the implicit GEMM); halved while a thread would hold more than 128 accumulators (BM*BN/threads)
// knob BN: 32 64 96 128 | default 96 | category memory access | output channels per block, an upper bound: n8 tiles past Cout are neither loaded nor multiplied (Cout = 96 fits one BN = 96 or 128 block; 96 holds no idle accumulators)
// knob BK: 16 32 | default 16 | category memory access | reduction depth (Cin/groups*KD*KH*KW taps) per pipeline slice; K is padded with zeros to a multiple of BK
// knob WARPS: 4 8 | default 8 | category parallelism | warps per block; the warp grid (along M x along N) is derived from the tile
// knob STAGES: 2 3 4 | default 3 | category asynchronous | cp.async ring depth in shared memory (lowered to what fits in 227 KB)
// knob PRECISION: 1 2 3 | default 3 | category data type | loose 1 | 1 = single TF32 (passes only the loose 1e-2 profile); 3 = 3xTF32 split (big*big + big*small + small*big), fp32-class accuracy; 2 = 3xBF16, the same three products of bfloat16 halves on wgmma m64nBNk16 at twice TF32's rate (about 4e-6 relative; WGMMA=1 only, runs as 3 under WGMMA=0)
// knob WGMMA: 0 1 | default 0 | category compute | 1 = the products on Hopper's warpgroup MMA (wgmma m64nBNk8, A from registers, B from shared memory; sm_90a only, KB_ERR_SHAPE elsewhere), BK runs as 32 and BN 96 as 128; 0 = mma.sync m16n8k8 per warp
// knob OVERLAP: 0 1 | default 0 | category asynchronous | WGMMA=1 only: 1 = wgmma.wait_group 1, a slice's products run on the tensor cores while the next slice's A fragments are loaded and split (two A register sets); the ring then loads one slice fewer ahead, so STAGES 2 runs as 3; 0 = wait_group 0 after each slice
// knob PHASES: 0 1 | default 0 | category control flow | 1 = a transposed conv with a stride above 1 runs as one dense GEMM per output phase (only the taps that divide: no zero taps gathered or multiplied); 0 = the division gather over every tap. The same where no stride is above 1 or the conv is forward
// knob NHWC: 0 1 2 3 4 | default 0 | category memory access | 1 = a pre-pass writes x channels-last (N, D, H, W, groups, channels padded to 4) and K runs (tap, channel), so the gather copies a tap's 4 channels per 16-byte cp.async instead of one value per 4-byte one; 2 = the same pre-pass writes each channel already split into bfloat16 hi and lo (channels padded to 8), the gather copies them into the swizzled layout wgmma reads A from by descriptor: no A fragments loaded or split in registers; 3 = that layout, A loaded into registers by ldmatrix once per slice (no split), so that the two products with A's hi halves read it from shared memory once; 4 = 2's operands loaded by TMA instead of the gather: each slice of A one box of x channels-last (a patch of output positions, one tap, 32 channels' hi and lo halves; the padding's zeros filled in by the copy engine) and of B one box of the weights, by one thread on an mbarrier (channels padded to 32; convs of stride 1 without the fused pool, run as 2 elsewhere) (2, 3 and 4: WGMMA=1 PRECISION=2 only, run as 1 elsewhere); forward convs, transposed ones of stride 1, and the strided transposed ones at PHASES=1 (each phase's gather; PHASES=0's division gather runs as 0)
// start sm_90a !CONV_NARROW_CIN: WGMMA=1 OVERLAP=0 PRECISION=2 BN=128 STAGES=3 NHWC=4
// start sm_90a !CONV_NARROW_CIN: WGMMA=1 OVERLAP=0 PRECISION=2 BN=64 WARPS=4 STAGES=4 NHWC=4
// start sm_90a !CONV_NARROW_CIN: WGMMA=1 OVERLAP=0 PRECISION=2 BN=64 WARPS=4 STAGES=3 NHWC=3 PHASES=1
// start sm_90a !CONV_NARROW_CIN: WGMMA=1 OVERLAP=0 PRECISION=2 BN=32 WARPS=4 STAGES=3 NHWC=3 PHASES=1
// start sm_90a CONV_NARROW_CIN: WGMMA=1 OVERLAP=0 PRECISION=2 BN=128 STAGES=3 NHWC=1
// start sm_90a CONV_NARROW_CIN: WGMMA=1 OVERLAP=0 PRECISION=2 BN=64 WARPS=4 STAGES=4 NHWC=1
// start sm_90a CONV_NARROW_CIN CONV_TRANSPOSED_STRIDED: WGMMA=1 OVERLAP=0 PRECISION=2 BN=32 WARPS=4 STAGES=3 NHWC=1 PHASES=1
// same: WGMMA=1 BK=16 as BK=32
// same: WGMMA=1 BN=96 as BN=128
// same: WGMMA=1 WARPS=4 BM=256 as BM=128
// same: WGMMA=1 WARPS=8 BM=64 as BM=128
// same: WGMMA=0 OVERLAP=1 as OVERLAP=0
// same: WGMMA=0 PRECISION=2 as PRECISION=3
// same: WGMMA=0 NHWC=2 as NHWC=1
// same: PRECISION=1 NHWC=2 as NHWC=1
// same: PRECISION=3 NHWC=2 as NHWC=1
// same: WGMMA=0 NHWC=3 as NHWC=1
// same: PRECISION=1 NHWC=3 as NHWC=1
// same: PRECISION=3 NHWC=3 as NHWC=1
// same: WGMMA=0 NHWC=4 as NHWC=1
// same: PRECISION=1 NHWC=4 as NHWC=1
// same: PRECISION=3 NHWC=4 as NHWC=1
// same: WGMMA=1 OVERLAP=1 STAGES=2 as STAGES=3
// same: WGMMA=1 OVERLAP=1 BN=128 WARPS=8 BM=256 PRECISION=3 as OVERLAP=0
// same: WGMMA=1 OVERLAP=1 BN=128 WARPS=4 BM=128 PRECISION=3 as OVERLAP=0
// same: WGMMA=1 OVERLAP=1 BN=128 WARPS=8 BM=256 PRECISION=1 as OVERLAP=0
// same: WGMMA=1 OVERLAP=1 BN=128 WARPS=4 BM=128 PRECISION=1 as OVERLAP=0
// same: WARPS=4 BN=96 BM=256 as BM=128
// same: WARPS=4 BN=128 BM=256 as BM=128
// check: WGMMA=1 OVERLAP=1
// check: WGMMA=1 OVERLAP=1 BM=128 BN=64 WARPS=4 STAGES=4
// check: WGMMA=1 OVERLAP=1 PRECISION=2
// check: WGMMA=1 PRECISION=2 BM=128 BN=64 WARPS=4
// check: WGMMA=1 OVERLAP=1 PRECISION=2 BM=256 BN=128 WARPS=8
// check: NHWC=1 BK=16 BM=64
// check: NHWC=1 WGMMA=1 PRECISION=2
// check: NHWC=1 WGMMA=1 OVERLAP=1 PRECISION=2 BN=64 WARPS=4
// check: NHWC=2 WGMMA=1 PRECISION=2
// check: NHWC=2 WGMMA=1 OVERLAP=1 PRECISION=2 BN=64 WARPS=4
// check: NHWC=2 WGMMA=1 OVERLAP=1 PRECISION=2 BM=256 BN=128 WARPS=8
// check: NHWC=3 WGMMA=1 PRECISION=2 BN=64 WARPS=4
// check: NHWC=3 WGMMA=1 OVERLAP=1 PRECISION=2
// check: NHWC=4 WGMMA=1 PRECISION=2
// check: NHWC=4 WGMMA=1 PRECISION=2 BN=64 WARPS=4 STAGES=4
// check: NHWC=4 WGMMA=1 OVERLAP=1 PRECISION=2 BM=256 BN=128 WARPS=8
// check: WGMMA=1 OVERLAP=1 PRECISION=2 BN=32 WARPS=4 PHASES=1
// check: WGMMA=1 PRECISION=3 BN=32 WARPS=8 BM=256
// check: NHWC=4 WGMMA=1 PRECISION=2 BN=32 WARPS=4 STAGES=4
// check: NHWC=1 PHASES=1 BK=16 BN=32
// check: NHWC=2 PHASES=1 WGMMA=1 PRECISION=2 BN=32 WARPS=4
// check: NHWC=3 PHASES=1 WGMMA=1 OVERLAP=1 PRECISION=2 BN=64 WARPS=4
/*
 * conv_igemm.cu - nn.Conv1d/2d/3d and nn.ConvTranspose1d/2d/3d (zero
 * padding; any stride, padding, dilation and output padding per axis; any
 * groups) with or without bias, a forward 2-D one optionally followed by
 * ReLU and MaxPool2d (no padding, floor mode), fp32, as an implicit GEMM on
 * the tensor cores (mma.sync m16n8k8 TF32). Depthwise convolutions
 * (groups = Cin) are not served: one input channel per group leaves K at
 * the tap count, too short for the tensor cores (conv2d_depthwise has a
 * direct template of its own).
 *
 * Hyper-parameters no tensor carries come from recognition (or the problem
 * file's KBREED_DEFINES), as #defines in front of this file:
 *   CONV_DIMS               1, 2 or 3 (default: 3 where a _D name is given,
 *                           1 where only _W names are, else 2)
 *   CONV_STRIDE[_D|_H|_W]   required; the per-axis name wins over the bare one
 *   CONV_PAD[_D|_H|_W]      required
 *   CONV_DIL[_D|_H|_W]      default 1
 *   CONV_OUT_PAD[_D|_H|_W]  default 0 (transposed only)
 *   CONV_GROUPS             default 1
 *   CONV_TRANSPOSED         0 or 1 (default 0)
 *   RELU                    0 or 1 (default 0)
 *   POOL                    max-pool window, 0 = no pooling (default 0)
 *   POOL_STRIDE             pool stride (default POOL, as in PyTorch)
 * Each is a compile-time constant: the 2-D forward conv of groups 1 and
 * dilation 1 compiles to the kernel it was before the rest was added.
 *
 * Layout (contiguous, row-major, fp32), spatial axes (D, H, W) as many as
 * CONV_DIMS (the missing ones count as 1: a 1-D conv runs as a 2-D one with
 * H = KH = 1), G = CONV_GROUPS:
 *   in[0]  x       (N, Cin, D, H, W)           e.g. (100, 3, 224, 224)
 *   in[1]  weight  (Cout, Cin/G, KD, KH, KW)   e.g. (96, 3, 11, 11)
 *                  (Cin, Cout/G, KD, KH, KW)   transposed
 *   in[2]  bias    (Cout)                      absent when n_in == 2
 *   out[0] y       (N, Cout, Do, Ho, Wo)       POOL = 0, e.g. (100, 96, 55, 55)
 *                  (N, Cout, Po, Qo)           POOL > 0, e.g. (100, 96, 27, 27)
 *   Ho = (H + 2*PAD - DIL*(KH-1) - 1) / STRIDE + 1, per axis;
 *   transposed: Ho = (H-1)*STRIDE - 2*PAD + DIL*(KH-1) + OUT_PAD + 1;
 *   Po = (Ho - POOL) / POOL_STRIDE + 1, Qo likewise.
 *
 * The GEMM, one per group g: D[m][co] = sum_k A[m][k] * B[k][co], m = (n,
 * od, oh, ow) flattened (M = N*Do*Ho*Wo), co one of the group's Cout/G
 * channels, k = (ci, kd, kh, kw) flattened over the group's Cin/G input
 * channels (K = Cin/G*KD*KH*KW), and per axis
 *   forward:     A = x[n][g*Cin/G + ci][oh*STRIDE - PAD + kh*DIL] (0 outside),
 *                B = weight[g*Cout/G + co][k] (the weight as stored is B
 *                transposed);
 *   transposed, stride 1 on every axis: the forward conv above with padding
 *                DIL*(k-1) - PAD (which may be negative) and B = weight[g*Cin/G
 *                + ci][co][taps flipped along every axis] (the flattened tap
 *                index t read as T-1-t), so it runs the forward kernel;
 *   transposed, a stride above 1 (TGATHER), PHASES=0 (TDIV): A =
 *                x[...][(oh + PAD - kh*DIL) / STRIDE] where that divides and
 *                lies inside, 0 otherwise, B = the weight unflipped. Correct
 *                but wasteful: only about one tap in STRIDE per axis is
 *                nonzero, and every one is gathered and multiplied;
 *   transposed, a stride above 1, PHASES=1 (PHASED): one GEMM per output
 *                phase, each a forward conv of stride 1 over only the taps
 *                that divide (below).
 *
 * The phase split (PHASED). Output o of a strided axis has the phase r =
 * (o + PAD) mod STRIDE; the taps k with k*DIL = r (mod STRIDE) are exactly
 * those that divide, every kstep = STRIDE/gcd(DIL, STRIDE)-th from the
 * first, k0, and the phase's outputs are every STRIDE-th from o0. Taking a
 * phase's taps in reverse, tap q (k = k0 + (ntap-1-q)*kstep) of the phase's
 * output j (o = o0 + j*STRIDE) reads input j + q*dstep - pad, dstep =
 * DIL/gcd(DIL, STRIDE): a forward conv of stride 1, dilation dstep and a
 * padding (maybe negative) of the phase's own (templates/common/
 * conv_phase.cuh works these out, for the host and the device alike). With
 * the phases of the axes combined (STRIDE_D*STRIDE_H*STRIDE_W of them, the
 * grid's y dimension, phase = (rd*STRIDE_H + rh)*STRIDE_W + rw), phase p is
 * the GEMM
 *   M = N x its outputs (about M/phases), K = Cin/G x its taps (about
 *   K/phases), N = Cout/G,
 * run by the forward gather (conv_phase_setup rewrites a block's copy of
 * the arguments into the phase's extents, pads and weights); its tiles
 * store every STRIDE-th output of y. The weight re-layout lays each phase's
 * taps out contiguously and reversed (conv_prep_phase_weights), in a slot
 * per phase sized for the phase with the most taps; the grid's x dimension
 * covers the phase with the most outputs, and the blocks past a smaller
 * phase's end return at once. Edge cases:
 *   - KH not a multiple of STRIDE: the phases' tap counts differ by one;
 *   - DIL not coprime with STRIDE: the phases r that gcd(DIL, STRIDE) does
 *     not divide have no taps at all (K = 0: no slice runs, the outputs get
 *     the bias alone, or 0);
 *   - output padding, or an output shorter than STRIDE: the phases' output
 *     counts differ by one, and a phase may have none (M = 0: all its
 *     blocks return);
 *   - groups: as for the other paths, a block's channel tile lies in one
 *     group, and each phase's slot holds every group's weights.
 * PHASES=1 is the same kernel as PHASES=0 where TGATHER is 0 (a forward
 * conv, or a transposed one of stride 1 everywhere).
 *
 * Channels-last (NHWC=1, CLAST: wherever the gather is a forward one,
 * the problem's or a phase's, i.e. not TDIV's). The gather below copies one input value per 4-byte
 * cp.async, because in x's own layout consecutive taps (ci, kh, kw) of a
 * position are neither adjacent nor aligned. conv_prep_input rewrites x
 * once per call into scratch as xc (N, D, H, W, G, Cgp), each group's Cg
 * channels padded with zeros to Cgp, a multiple of 4 (a tiled
 * transpose through shared memory), and K runs over (tap, channel), k =
 * ((kd*KH + kh)*KW + kw)*Cgp + ci, K = T*Cgp. Four consecutive k of a
 * position are then four adjacent channels of one input pixel, 16 aligned
 * bytes: one 16-byte cp.async (.ca: the neighbouring positions and taps
 * read the same pixels, so they stay in L1) fills them, a quarter of the
 * copies. A lane copies 4 taps of a row, so a warp covers 4 rows (BK =
 * 32) or 8 (BK = 16); its state is (ci, kw, kh[, kd]) with ci the fastest
 * digit and the top digit past its extent meaning past K. The weights are
 * laid out in the same (tap, channel) order, zero on the padding channels;
 * everything after the gather is unchanged. The cost: x read and written
 * once more, and Cg rounded up to 4 in K.
 *
 * A block's channel tile lies inside one group (the channel tiles of a
 * group are ceil((Cout/G)/BN), so a small Cout/G leaves part of a BN tile
 * idle, and BN = 32 suits it best).
 *
 * Weights first. A small kernel rewrites the weights once per call into the
 * order in which the mma wants them (scratch of the call's own, by
 * cudaMallocAsync on its stream and freed by cudaFreeAsync there after the
 * main kernel, so that calls on several streams at once, with their own
 * weights, do not share it; the pool keeps it mapped between calls),
 * group by group, K and
 * Cout/G padded with zeros to multiples of 8 (the transposed weights
 * swapped and flipped here, see above): for each (k8 block kb, n8 block nb) 32 lanes x
 * {b0, b1} (PRECISION=1) or {b0, b1, b0 small, b1 small} (PRECISION=3),
 * b0 = B[8kb + t][8nb + g], b1 = B[8kb + t + 4][8nb + g] (g = lane/4,
 * t = lane%4), each already rounded to TF32 (cvt.rna) and, for 3xTF32,
 * split into big = tf32(w) and small = tf32(w - big). A B fragment is then
 * one 16-byte (8-byte) shared-memory load with no conversion.
 *
 * Main kernel. A block owns a tile of TBM output positions by BN output
 * channels (grid x: position tiles, the channel tiles of one adjacent;
 * grid y: the phase, PHASED only). K is walked in BK-deep slices through a STAGES ring of
 * shared-memory buffers filled by cp.async, STAGES-1 slices ahead of the
 * one being multiplied, one __syncthreads per slice. The copies of the
 * slice ahead are issued in BK/8 pieces, one before each k8 step of the
 * current slice, so the gather's many small copies drain while the mma
 * issue instead of stalling the warp in one burst. Where a thread holds
 * at most 64 accumulators and two rings fit, two blocks share an SM
 * (launch bounds), so one block's gather and epilogue overlap the other's
 * mma.
 *   A slice (TBM x BK): gathered from x on the fly (im2col): lane l of a
 *     warp loads tap k = slice*BK + l % BK for one position (two positions
 *     per warp when BK = 16), so a warp reads runs of consecutive kw, i.e.
 *     consecutive addresses of x (DIL apart). Each position's base address
 *     and its first input row/column (oh*S - P, ow*S - P; a depth too for
 *     3-D) are computed once per block into a shared table; each thread
 *     carries the (ci, kd, kh, kw) of its tap from slice to slice with a
 *     mixed-radix add, so no division runs in the loop (TGATHER's divide by
 *     the constant STRIDE aside: the table holds oh + P and the sample's
 *     address, and each tap's input position is worked out per copy; the
 *     phase split has no division: it is a forward gather). 4-byte
 *     cp.async; taps in the padding, past K or past M copy
 *     zero bytes (src-size 0: nothing is read, the slot is zero-filled).
 *     Stored row-major sA[TBM][BK + 4]: the 4-float pad puts the eight
 *     16-byte rows read by one ldmatrix phase in distinct banks, and the
 *     two positions of a BK = 16 warp are four rows apart, so the two
 *     half-warps write disjoint banks.
 *   B slice: the prepared blocks of this slice and channel tile, copied with
 *     16-byte cp.async (only the n8 blocks below Cout).
 * Warp tile WTM x WTN, MT = WTM/16 by NT = WTN/8 mma tiles; the n8 tiles of
 * the block are dealt to the WARPS_N warp columns round-robin (warp column
 * wn takes tiles wn, wn + WARPS_N, ...), so a Cout below BN leaves every
 * warp the same share, and pairs of tiles wholly past Cout are skipped
 * (warp-uniform branch). A fragments: one ldmatrix.x4 per m16 tile (b16
 * 8x8 matrices = 8 rows x 4 fp32: lanes 0-7 rows 0-7 at k 0-3 -> a0,
 * lanes 8-15 rows 8-15 -> a1, lanes 16-23 rows 0-7 at k 4-7 -> a2, lanes
 * 24-31 rows 8-15 -> a3), then split: big = x with the low 13 bits
 * cleared, small = (x - big) likewise (x - big is exact); PRECISION=1
 * rounds with cvt.rna.tf32. 3xTF32 issues small*big, big*small, big*big
 * into one fp32 accumulator (small*small, ~2^-20 relative, is dropped).
 *
 * Epilogue. The accumulators (c0,c1: row g, columns 2t,2t+1; c2,c3: row
 * g+8) get the bias and ReLU and are staged through shared memory (reusing
 * the ring) as sC[channel][position] with a TBM + 4 stride (conflict-free
 * for the fragment writes), a chunk of channels at a time where the whole
 * tile does not fit. Then:
 *   POOL = 0: each warp stores runs of consecutive positions of one channel
 *     (consecutive ow: contiguous in y), evict-first (__stcs).
 *   POOL > 0: y is filled with 0xff bytes before the kernel. The block
 *     finds the pooled rows (n, po) whose windows meet its position range
 *     (a contiguous range of pooled rows, since positions are contiguous);
 *     one thread per (pooled cell, group of 8 channels) takes the max over
 *     the window's conv outputs that lie in the tile, from shared memory,
 *     and folds it into y with one atomic per cell and channel: a float max
 *     on bit patterns, atomicMax(int) for values with the sign bit clear and
 *     atomicMin(unsigned) for the others, for which the 0xffffffff fill is
 *     the identity. It holds for any sign, so ReLU is not required; windows
 *     split between blocks are completed by their neighbours' atomics.
 *     Every window has at least one conv output (floor mode), so every cell
 *     is written.
 * WGMMA=1 (Hopper, sm_90a). The same gather, weights and epilogue; the
 * products move from mma.sync (one warp, m16n8k8, B fragments loaded from
 * shared memory into registers per warp) to wgmma.mma_async m64nBNk8
 * (a warpgroup of four warps, B read by the tensor cores straight from
 * shared memory, once per warpgroup). BK is 32 (one 128-byte row of 32
 * taps per channel, the unit of the 128-byte swizzle), BN 32, 64 or 128
 * (96 runs as 128: every column of the wgmma is multiplied, the ones past
 * Cout are not stored; 32, m64n32, serves a Cout of 32 or fewer without
 * idle columns, and leaves room for two blocks an SM), and a warpgroup owns TBM / (WARPS/4)
 * positions, one or two m64 tiles (BM is raised or lowered to fit).
 *   Weights: conv_prep_weights writes, per group and BK slice, the rows of
 *     B^T (one per output channel, nnb*8 of them, 32 taps = 128 bytes
 *     each), first the big halves, then (PRECISION=3) the small ones.
 *     The block copies its BN rows of each with 16-byte cp.async into the
 *     stage, 16-byte piece c of row r at piece c ^ (r % 8) of the row
 *     (the 128-byte swizzle TMA writes for gemm_wgmma_tf32: each piece
 *     starts on a 1024-byte boundary, the dynamic shared memory is aligned
 *     up to 1024 bytes). wgmma reads it K-major through a descriptor: start
 *     = piece + 32 * k8 step, SBO = 1024 (next 8 rows), LBO unused.
 *   A: each warp loads its 16 rows of each m64 tile with ldmatrix from sA,
 *     as the mma.sync path does (the register layout of wgmma's A for
 *     tf32 is mma.sync's m16n8k8 one, warp w of the warpgroup holding rows
 *     16w..16w+15), and splits them into big and small in registers.
 *   Per slice: cp.async.wait, fence.proxy.async (the copies were made by
 *     the generic proxy, wgmma reads through the async one), the block
 *     barrier; every A fragment of the slice is loaded and split, then
 *     wgmma.fence and, per k8 step and m64 tile, small*big, big*small and
 *     big*big (PRECISION=3) into one accumulator set, as the mma.sync path
 *     does; one commit, then wgmma.wait_group 0 before the slot can be
 *     refilled, the A registers fenced after the wait so that the compiler
 *     keeps them until the tensor cores have read them.
 *   OVERLAP=1: wait_group 1 instead of 0, so that slice kt's products run
 *     on the tensor cores while the warps wait at the next barrier, load and
 *     split slice kt+1's A fragments and issue its gather. The A registers
 *     come in two sets (the main loop takes two slices per trip, each with
 *     its own set, a constant index), the set of the group just retired
 *     fenced after each wait; the ring loads STAGES-2 slices ahead, not
 *     STAGES-1, so that the slot refilled in slice kt (slice kt-2's) is no
 *     longer read by any warpgroup's wgmma (each retired it in slice kt-1,
 *     before the barrier of slice kt). STAGES 2 runs as 3; two m64 tiles of
 *     128 columns run without at PRECISION=3 (no registers for a second
 *     set of 64) and 1; PRECISION=2 holds half as many A registers (32 a
 *     set), and there two sets fit beside the 128 accumulators.
 *   PRECISION=2 (3xBF16): the same three products of bfloat16 halves, hi =
 *     bf16(x), lo = bf16(x - hi) (cvt.rn), on wgmma m64nBNk16 .bf16, which
 *     the tensor cores run at twice the TF32 rate. A k16 step is built from
 *     the two k8 fragments ldmatrix loads (no other load): a thread holds
 *     taps t and t+4 of each (rows g and g+8), and a bf16 register holds
 *     two taps, so taps t, t+4 of the even k8 step fill slots 2t, 2t+1 of
 *     the k16 step and the odd step's slots 2t+8, 2t+9: the step's 16 taps
 *     are multiplied in the order 0 4 1 5 2 6 3 7, 8 12 9 13 ... The weights
 *     are laid out in that order too, one 128-byte row per channel and
 *     slice: 64 bytes of hi (2 k16 steps), then 64 of lo, in the one
 *     swizzled piece (a K step is 32 bytes of a row, as for TF32; the small
 *     halves' descriptors start 64 bytes in). A_REGS halve: 2 k16 steps of
 *     4 hi and 4 lo registers per m64 tile, not 4 k8 steps of 4 + 4.
 *     Accuracy as gemm_wgmma_tf32's PRECISION=2 (about 4e-6 relative in
 *     the norm on its CPU model; strict allows 1e-4).
 *   NHWC=2 (ASMEM; CL16 is NHWC 2 or 3 where the gather is a forward one,
 *     at PRECISION=2): A from shared memory.
 *     The split of A is done once per call instead of once per slice and
 *     warpgroup: conv_prep_input writes each channel's bf16 hi and lo (4
 *     bytes a channel as at NHWC=1: of each 8 channels, 16 bytes of hi
 *     halves, then 16 of lo; Cg padded to 8), and a lane of the gather
 *     copies one 8-channel piece of a tap, its hi to piece q and its lo to
 *     piece q + 4 of the position's 128-byte row (4 lanes a row, 8 rows a
 *     warp), swizzled as B's rows are: 64 bytes of hi taps, then 64 of lo,
 *     in tap order. wgmma then reads A by descriptor as it reads B (the
 *     warpgroup's m64 tile at 64 rows x 128 bytes, a K step 32 bytes in,
 *     lo 64 bytes in), so the weights' rows hold the taps in order too
 *     (not 0 4 1 5 ...: no ldmatrix fragments to match). No A registers
 *     and no ldmatrix or cvt in the loop; each slice's wgmma are issued
 *     first and the next slice's copies while they run. The cost: each of
 *     the three products reads its whole A and B from shared memory (A's
 *     hi halves twice), and at BN = 64 an A tile is as large as a B one.
 *   NHWC=3 (CL16 without ASMEM): the same pre-pass, gather and weights, A
 *     loaded into registers once per slice by ldmatrix from the swizzled
 *     rows (a lane's address: its row of the warp's 16, piece 2ks or 2ks+1
 *     for k 0-7 or 8-15 of k16 step ks, 4 pieces on for lo, XOR the row's
 *     low 3 bits), which is the register layout of wgmma's bf16 A as the
 *     RS path above has it, in tap order; no split. Then the RS path's
 *     products and OVERLAP as above: the tensor cores read only B.
 *   NHWC=4 (ATMA: ASMEM's consumers, fed by TMA). The gather's copies,
 *     two 16-byte cp.async a lane and row, are what keeps L1 busiest at
 *     NHWC=2; here the copy engine makes them. The pre-pass pads each
 *     group's channels to 32 and lays out each 32 of a pixel as 64 bytes
 *     of hi halves, then 64 of lo: one slice's 128-byte row of A exactly,
 *     so a slice (one tap, 32 channels: Cgp/32 slices a tap) of a block's
 *     positions is one TMA box of x seen as a 5-D bf16 tensor (2*ctot, W,
 *     H, D, N), box (64, BW, BH, 1, 1) at (channel, ow0 - pad + kw*DIL,
 *     oh0 - pad + kh*DIL, od - pad + kd*DIL, n), written 128-byte swizzled
 *     as wgmma reads it; the padding's rows and columns lie outside the
 *     tensor and the engine fills them with zeros. A block therefore owns
 *     a patch of BH x BW outputs (TBM of them) of one sample and output
 *     depth instead of a run of M: the host picks BW (a power of two from
 *     8 to TBM) so that the patches waste the fewest positions past Wo and
 *     Ho, and those rows are multiplied and not stored. B's slice is a box
 *     of the prepared weights seen as (64, nnb*8 rows, slices), rows past
 *     the group's padded channels zero-filled. Thread 0 issues both boxes
 *     on the slot's mbarrier (expecting their bytes); every thread waits
 *     on it in place of cp.async's wait, and the block barrier per slice
 *     still says when a slot is free again. Stride 1 only (a stride would
 *     need the box's element strides, and strided transposed convs take
 *     another gather anyway); no fused pool.
 *   Accumulators: register 4i+{0,1} holds row 16*w + lane/4 of the m64
 *     tile, columns 8i + 2*(lane%4) + {0,1}; 4i+{2,3} 8 rows further
 *     down. They go through sC to the same epilogue.
 * Written without a GPU at hand: tests/data/odd_conv*.py with WGMMA=1 in
 * `make test-gpu` (section 3) are its checks (PRECISION=2's first run, on
 * an H100: 4.3e-6 to 5.2e-6 in the norm on three odd convs,
 * bench/device-2026-12-06-h100.md).
 *
 * Limits (KB_ERR_SHAPE otherwise): N*Do*Ho*Wo, Cin*D*H*W, Cin/G*KD*KH*KW
 * and Cout below 2^31 - 2^16; every extent, DIL*(k-1) and extent*STRIDE
 * below 2^28; Cin and Cout divisible by G; PHASES=1: at most 65535 phases
 * (STRIDE_D*STRIDE_H*STRIDE_W, a static_assert). NaN propagates through ReLU and
 * the pool as in PyTorch.
 */
#ifndef BM
#define BM 256
#endif
#ifndef BN
#define BN 128
#endif
#ifndef BK
#define BK 16
#endif
#ifndef WARPS
#define WARPS 8
#endif
#ifndef STAGES
#define STAGES 3
#endif
#ifndef PRECISION
#define PRECISION 3
#endif
#ifndef PHASES
#define PHASES 0
#endif
#ifndef WGMMA
#define WGMMA 0
#endif
/* WGMMA: 32 taps per slice (a 128-byte row), BN 32, 64 or 128 (see the top). */
#if WGMMA && BK != 32
#undef BK
#define BK 32
#endif
#if WGMMA && BN == 96
#undef BN
#define BN 128
#endif
#ifndef OVERLAP
#define OVERLAP 0
#endif
#ifndef NHWC
#define NHWC 0
#endif
/* 3xBF16 is the wgmma path's (k16 steps from two of the gather's k8 ones) */
#if !WGMMA && PRECISION == 2
#undef PRECISION
#define PRECISION 3
#endif
/* NHWC=2's bf16 halves are the 3xBF16 wgmma path's operands */
#if NHWC >= 2 && !(WGMMA && PRECISION == 2)
#undef NHWC
#define NHWC 1
#endif
/* OVERLAP belongs to the wgmma path; there the ring needs a third stage.
 * A warpgroup with two m64 tiles of 128 columns (128 accumulators) has no
 * registers left for a second 3xTF32 A set (64): ptxas would serialise the
 * wgmma, so it runs without (the same: lines in the header, in this
 * order); the 32 of a 3xBF16 set fit (240 registers, no spill). TF32
 * alone (PRECISION=1, loose only) has ptxas serialise the wgmma with
 * OVERLAP=1 at any tile; it runs without here as before. */
#if !WGMMA && OVERLAP
#undef OVERLAP
#define OVERLAP 0
#endif
#if OVERLAP && STAGES < 3
#undef STAGES
#define STAGES 3
#endif
#if OVERLAP && PRECISION != 2 && BN == 128 && ((WARPS == 8 && BM == 256) || (WARPS == 4 && BM >= 128))
#undef OVERLAP
#define OVERLAP 0
#endif

/* The problem's hyper-parameters per axis (D, H, W): STRIDE_A, PAD_A,
 * DIL_A, OPAD_A; axes the problem does not have are 1 wide. */
#include "../common/conv_geometry.cuh" // kbreed:inline

#ifndef RELU
#define RELU 0
#endif
#ifndef POOL
#define POOL 0
#endif
#ifndef POOL_STRIDE
#define POOL_STRIDE POOL
#endif

/* Transposed with a stride above 1 on some axis: the division gather (see
 * the top); transposed with stride 1 everywhere runs as a forward conv. */
#if CONV_TRANSPOSED && (STRIDE_D > 1 || STRIDE_H > 1 || STRIDE_W > 1)
#define TGATHER 1
#else
#define TGATHER 0
#endif
/* PHASED: TGATHER split by output phase (PHASES=1), each phase a forward
 * conv of stride 1 over its own taps (see the top); TDIV: TGATHER's
 * division gather over every tap (PHASES=0). */
#define PHASED (TGATHER && PHASES)
#define TDIV (TGATHER && !PHASES)
/* NHWC=4's boxes need a stride of 1 on every axis (a patch of outputs reads
 * a patch of inputs) and no fused pool (its epilogue takes a tile's
 * positions as one run of consecutive ones; a patch's are not): elsewhere
 * it runs as 2. */
#if NHWC == 4 && (STRIDE_D > 1 || STRIDE_H > 1 || STRIDE_W > 1 || POOL > 0)
#undef NHWC
#define NHWC 2
#endif
/* CLAST: the channels-last gather (NHWC=1), where the gather is a forward
 * one: the problem's own taps, or each phase's under PHASED (not TDIV's
 * division gather, which indexes the taps otherwise). */
#define CLAST (NHWC && (!TGATHER || PHASED))
/* CL16: NHWC=2, 3 or 4 there, x's channels as bf16 hi and lo; ASMEM: NHWC=2
 * or 4, A read by wgmma from shared memory (NHWC=3: by ldmatrix into
 * registers); ATMA: NHWC=4, A and B loaded by TMA */
#define CL16 (CLAST && NHWC >= 2)
#define ASMEM (CL16 && (NHWC == 2 || NHWC == 4))
#define ATMA (CL16 && NHWC == 4)

#include <cuda_runtime.h>
#include <stdint.h>
#include "kbreed_candidate.h"
#include "../common/ampere.cuh" // kbreed:inline
#include "../common/host.cuh" // kbreed:inline
#include "../common/conv_phase.cuh" // kbreed:inline
#include "../common/reduce.cuh" // kbreed:inline
#if WGMMA
#include "../common/hopper.cuh" // kbreed:inline
#endif
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define CONV_WGMMA_DEVICE WGMMA
#else
#define CONV_WGMMA_DEVICE 0
#endif

static_assert(BM == 64 || BM == 128 || BM == 256, "BM is 64, 128 or 256");
static_assert(BN == 32 || BN == 64 || BN == 96 || BN == 128, "BN is 32, 64, 96 or 128");
static_assert(BK == 16 || BK == 32, "BK is 16 or 32");
static_assert(WARPS == 4 || WARPS == 8, "WARPS is 4 or 8");
static_assert(STAGES >= 2 && STAGES <= 4, "STAGES is 2, 3 or 4");
static_assert(PRECISION >= 1 && PRECISION <= 3, "PRECISION is 1, 2 or 3");
static_assert(PHASES == 0 || PHASES == 1, "PHASES is 0 or 1");
static_assert(WGMMA == 0 || WGMMA == 1, "WGMMA is 0 or 1");
static_assert(!WGMMA || (BK == 32 && BN != 96), "WGMMA runs BK = 32, BN = 32, 64 or 128");
static_assert(OVERLAP == 0 || OVERLAP == 1, "OVERLAP is 0 or 1");
static_assert(NHWC >= 0 && NHWC <= 4, "NHWC is 0 to 4");
static_assert(CONV_DIMS >= 1 && CONV_DIMS <= 3, "CONV_DIMS is 1, 2 or 3");
static_assert(STRIDE_D >= 1 && STRIDE_H >= 1 && STRIDE_W >= 1, "strides >= 1");
static_assert(PAD_D >= 0 && PAD_H >= 0 && PAD_W >= 0, "paddings >= 0");
static_assert(DIL_D >= 1 && DIL_H >= 1 && DIL_W >= 1, "dilations >= 1");
static_assert(OPAD_D >= 0 && OPAD_H >= 0 && OPAD_W >= 0, "output paddings >= 0");
static_assert(CONV_TRANSPOSED || (OPAD_D == 0 && OPAD_H == 0 && OPAD_W == 0),
	      "output padding belongs to a transposed convolution");
static_assert(CONV_GROUPS >= 1, "CONV_GROUPS >= 1");
static_assert(CONV_TRANSPOSED == 0 || CONV_TRANSPOSED == 1, "CONV_TRANSPOSED is 0 or 1");
static_assert(POOL == 0 || (CONV_DIMS == 2 && !CONV_TRANSPOSED), "the fused max-pool follows a forward 2-D conv");
static_assert(RELU == 0 || RELU == 1, "RELU is 0 or 1");
static_assert(POOL >= 0 && (POOL == 0 || POOL_STRIDE >= 1), "POOL >= 0, POOL_STRIDE >= 1");

KBREED_CANDIDATE_ABI

#define NTHREADS (WARPS * 32)

/* The gather's stride and dilation per axis: the problem's, or under
 * PHASED a phase's (stride 1, dilation DIL / gcd(DIL, STRIDE): see
 * conv_phase.cuh). NPHASE phases, the grid's y dimension. */
__host__ __device__ constexpr int cgcd(int x, int y) { return y ? cgcd(y, x % y) : x; }
#if PHASED
#define GSTR_D 1
#define GSTR_H 1
#define GSTR_W 1
#define GDIL_D (DIL_D / cgcd(DIL_D, STRIDE_D))
#define GDIL_H (DIL_H / cgcd(DIL_H, STRIDE_H))
#define GDIL_W (DIL_W / cgcd(DIL_W, STRIDE_W))
#define NPHASE (STRIDE_D * STRIDE_H * STRIDE_W)
#else
#define GSTR_D STRIDE_D
#define GSTR_H STRIDE_H
#define GSTR_W STRIDE_W
#define GDIL_D DIL_D
#define GDIL_H DIL_H
#define GDIL_W DIL_W
#define NPHASE 1
#endif
static_assert(NPHASE <= 65535, "the phases are the grid's y dimension");

/* Block tile rows: halved while a thread would hold more than 128 accumulators. */
constexpr int clamp_bm(int bm)
{
	while (bm > 64 && bm * BN / NTHREADS > 128)
		bm /= 2;
	return bm;
}
#if WGMMA
/* Warpgroups, and the positions each owns: whole m64 tiles (MW of them). */
constexpr int NWG = WARPS / 4;
constexpr int clamp_wg(int bm)
{
	return bm < 64 * NWG ? 64 * NWG : bm > 128 * NWG ? 128 * NWG : bm;
}
constexpr int TBM = clamp_wg(clamp_bm(BM));
constexpr int RWG = TBM / NWG;
constexpr int MW = RWG / 64;
static_assert(RWG % 64 == 0 && MW >= 1 && MW <= 2, "a warpgroup owns one or two m64 tiles");
/* wgmma K steps per slice: k8 on TF32, k16 on bf16 (PRECISION=2) */
constexpr int KSTEPS = PRECISION == 2 ? BK / 16 : BK / 8;
#else
constexpr int TBM = clamp_bm(BM);
#endif

/* Warp grid: the WARPS_N (warps along the channels) whose warp tile needs
 * the fewest fragment loads per k step (MT + NT), fewer columns on ties. */
constexpr int warp_cost(int wn)
{
	int wm = WARPS / wn;
	int tm = TBM / wm, tn = BN / wn;
	if (WARPS % wn || tm < 16 || tm % 16 || tn < 8 || tn % 8)
		return 1 << 20;
	return tm / 16 + tn / 8;
}
constexpr int pick_warps_n()
{
	int best = 1;
	for (int wn = 2; wn <= WARPS; wn *= 2)
		if (warp_cost(wn) < warp_cost(best))
			best = wn;
	return best;
}
constexpr int WARPS_N = pick_warps_n();
constexpr int WARPS_M = WARPS / WARPS_N;
constexpr int WTM = TBM / WARPS_M;   /* warp tile rows */
constexpr int MT = WTM / 16;         /* m16 tiles per warp */
constexpr int NT = BN / 8 / WARPS_N; /* n8 tiles per warp */
constexpr int NCH = NT % 2 == 0 ? 2 : 1; /* n8 tiles per skip test */
static_assert(warp_cost(WARPS_N) < (1 << 20), "no warp grid fits the tile");
static_assert(NT % NCH == 0, "NT");

constexpr int FR = PRECISION == 3 ? 4 : 2;          /* floats per lane per B block (PRECISION=2: two bf16 pairs) */
/* sA row stride (floats); CL16: one 128-byte swizzled row (32 taps of bf16
 * hi, then of lo), no pad */
constexpr int LDK = CL16 ? BK : BK + 4;
constexpr int A_FLOATS = TBM * LDK;
constexpr int B_FLOATS = (BK / 8) * (BN / 8) * 32 * FR;
constexpr int STAGE_FLOATS = A_FLOATS + B_FLOATS;
/* int4 per position, and for 3-D an int (the first input depth) */
constexpr int MINFO_BYTES = TBM * 16 + (CONV_DIMS == 3 ? TBM * 4 : 0);
constexpr int SMEM_CAP = 227 * 1024;
/* WGMMA: slack to align the ring up to 1024 bytes (the swizzle's unit) */
constexpr int ALIGN_SLACK = WGMMA ? 1024 : 0;
/* A register sets (OVERLAP: slice kt's are read by the tensor cores while
 * slice kt+1's load), and the slices the ring holds ahead of the one being
 * multiplied: a slot is refilled only once no wgmma in flight reads it. */
constexpr int NBUF = 1 + OVERLAP;
constexpr int fit_stages()
{
	int s = STAGES;
	while (s > 1 + NBUF && s * STAGE_FLOATS * 4 + MINFO_BYTES + ALIGN_SLACK > SMEM_CAP)
		s--;
	return s;
}
constexpr int NSTAGE = fit_stages();
constexpr int AHEAD = NSTAGE - NBUF;
static_assert(AHEAD >= 1, "the ring loads at least one slice ahead");
constexpr int SMEM_BYTES = NSTAGE * STAGE_FLOATS * 4 + MINFO_BYTES + ALIGN_SLACK;
#if WGMMA
/* one piece of B^T in a stage: BN rows of 32 taps */
constexpr int BPIECE_BYTES = BN * 128;
/* where the small halves of B^T start: the next piece (TF32), or the
 * second half of each row (bf16: 64 bytes of hi, then 64 of lo) */
constexpr int SMALL_OFF = PRECISION == 2 ? 64 : BPIECE_BYTES;
static_assert((A_FLOATS * 4) % 1024 == 0 && (STAGE_FLOATS * 4) % 1024 == 0 && BPIECE_BYTES % 1024 == 0,
	      "B pieces start on 1024-byte boundaries");
#endif
static_assert(SMEM_BYTES <= SMEM_CAP, "shared memory");

/* Gather: lanes along k, RPI positions per warp instruction, NR per thread
 * (CLAST: a lane copies GCH = 4 taps of a row, so 4 or 8 positions; CL16:
 * the hi and lo halves of 8 taps, so 8 positions). */
#if CL16
constexpr int GCH = 8;
#elif CLAST
constexpr int GCH = 4;
#else
constexpr int GCH = 1;
#endif
constexpr int RPI = 32 * GCH / BK;
constexpr int ROWSTEP = WARPS * RPI;
constexpr int NR = TBM / ROWSTEP;
static_assert(TBM % ROWSTEP == 0 && NR >= 1, "gather rows");

/* Epilogue staging: sC[CW][TBM + 4], CW channels at a time. */
constexpr int LDC = TBM + 4;
constexpr int pick_cw()
{
	int cw = BN;
	while (cw > 8 && cw * LDC > NSTAGE * STAGE_FLOATS)
		cw = cw / 2 % 8 == 0 ? cw / 2 : 8; /* whole n8 tiles per chunk */
	return cw;
}
constexpr int CW = pick_cw();
static_assert(CW % 8 == 0 && CW * LDC <= NSTAGE * STAGE_FLOATS, "epilogue staging");

/* Two blocks per SM where the accumulators leave room (at most 64 per
 * thread, so 128 registers suffice) and two rings fit in shared memory:
 * one block's gather then overlaps the other's mma and epilogue (WGMMA:
 * and the other's wgmma fill the tensor cores while this one waits for
 * its slice; its A fragments, 32 registers per m64 tile, still fit: 128
 * registers, a spill of a few bytes at the most). */
#if OVERLAP
/* ... and where the accumulators and both A register sets fit in 96 */
constexpr int A_REGS = ASMEM ? 0 : NBUF * KSTEPS * MW * 4 * (PRECISION == 1 ? 1 : 2);
constexpr bool REGS2 = TBM * BN / NTHREADS + A_REGS <= 96;
#else
constexpr bool REGS2 = TBM * BN / NTHREADS <= 64;
#endif
constexpr int MINB = (REGS2 && 2 * (SMEM_BYTES + 1024) <= 228 * 1024) ? 2 : 1;

/* The gather of the next slice is issued in KPARTS pieces, one before each
 * k8 step of the current slice, so that its copies drain while mma issue;
 * where a thread copies fewer rows than that, one row a piece (GPARTS, the
 * pieces past it copy nothing). */
constexpr int KPARTS = BK / 8;
constexpr int GPARTS = NR < KPARTS ? NR : KPARTS;
static_assert(NR % GPARTS == 0, "gather parts");

#define BIG_NEG (-(1 << 29)) /* input row of positions past M: never inside */
#define BIG_POS (1 << 29)    /* TGATHER: the kh offset of taps past K, never inside */

/* ---- PTX wrappers: cp.async, ldmatrix, mma.sync in templates/common; here this kernel's own ---- */

/* One digit of a mixed-radix add: d += add (add < 2*radix - d, so one
 * wrap at most), kept below radix; returns the carry into the next digit. */
__device__ __forceinline__ int digit_add(int &d, int add, int radix)
{
	d += add;
	if (d >= radix) {
		d -= radix;
		return 1;
	}
	return 0;
}

/* Float max on the bit pattern; 0xffffffff is the identity (see the top). */
__device__ __forceinline__ void atomic_fmax(float *p, float v)
{
	int i = __float_as_int(v);
	if (i >= 0)
		atomicMax((int *)p, i);
	else
		atomicMin((unsigned *)p, (unsigned)i);
}

__device__ __forceinline__ float act(float v)
{
#if RELU
	return v < 0.0f ? 0.0f : v; /* keeps NaN */
#else
	return v;
#endif
}

/* ---- weights into fragment order ----------------------------------------- */

/* wsp: (CONV_GROUPS, nkb, nnb, 32 lanes, FR) floats; nkb = k8 blocks up to
 * K padded to a multiple of BK (zeros past K), nnb = ceil(Coutg/8) (zeros
 * past the group's channels). B[k][co] of group grp, k = (ci, tap), or
 * under CLAST k = (tap, ci) over Cgp channels (zero past Cg):
 *   forward     w[grp*Coutg + co][ci][tap]          w is (Cout, Cin/groups, k...)
 *   transposed  w[grp*Cg + ci][co][T - 1 - tap]     w is (Cin, Cout/groups, k...),
 *               flipped along every axis (FLIP; the TGATHER gather takes
 *               the taps as they are: tap, not T - 1 - tap) */
#define FLIP (CONV_TRANSPOSED && !TGATHER)

/* Stores the prepared values of item i of wsp: lane (i % 32) of k8 block
 * kb and n8 block nb (i / 32 = (grp * nkb + kb) * nnb + nb), w0 = B[8kb +
 * t][8nb + g] and w1 = B[8kb + t + 4][8nb + g] (g = lane/4, t = lane%4):
 * rounded to TF32, and for 3xTF32 split into big and small. Fragment order
 * (see above) at item i; under WGMMA the rows of B^T (see the top): per
 * group and BK slice, the big piece of nnb*8 rows of 32 taps, then the
 * small one, each row a channel. */
__device__ __forceinline__ void wsp_put(float *__restrict__ wsp, int64_t i, int nnb, float w0, float w1)
{
#if PRECISION == 2
	/* one row of B^T per channel and slice: 64 bytes of bf16 hi, then 64 of
	 * lo; taps t and t+4 of k8 block kk are slots 2t and 2t+1 of its half
	 * of a k16 step (see the top), one 4-byte word each */
	uint32_t hi, lo;
	bf16x2_split(w0, w1, hi, lo);
	const int lane = (int)(i & 31);
	const int64_t blk = i >> 5;
	const int nb = (int)(blk % nnb);
	const int64_t kbg = blk / nnb; /* grp * nkb + kb; nkb is a whole number of slices */
	const int64_t slice = kbg / (BK / 8);
	const int kk = (int)(kbg % (BK / 8));
#if CL16
	/* A comes from shared memory in tap order, so B^T's row holds the taps
	 * in order too: tap 8kk + t and 8kk + t + 4, one bf16 each */
	uint16_t *p = reinterpret_cast<uint16_t *>(wsp) + slice * ((int64_t)nnb * 8 * 64) +
		      (int64_t)(nb * 8 + (lane >> 2)) * 64 + 8 * kk + (lane & 3);
	p[0] = (uint16_t)(hi & 0xffffu);
	p[4] = (uint16_t)(hi >> 16);
	p[32] = (uint16_t)(lo & 0xffffu);
	p[36] = (uint16_t)(lo >> 16);
#else
	uint32_t *p = reinterpret_cast<uint32_t *>(wsp) + slice * ((int64_t)nnb * 8 * 32) +
		      (int64_t)(nb * 8 + (lane >> 2)) * 32 + 4 * kk + (lane & 3);
	p[0] = hi;
	p[16] = lo;
#endif
#else
#if PRECISION == 3
	uint32_t b0, b1, s0, s1;
	tf32_split(w0, b0, s0);
	tf32_split(w1, b1, s1);
#else
	const unsigned b0 = to_tf32(w0), b1 = to_tf32(w1);
#endif
#if WGMMA
	const int lane = (int)(i & 31);
	const int64_t blk = i >> 5;
	const int nb = (int)(blk % nnb);
	const int64_t kbg = blk / nnb; /* grp * nkb + kb; nkb is a whole number of slices */
	const int64_t slice = kbg / (BK / 8);
	const int kin = (int)(kbg % (BK / 8)) * 8 + (lane & 3);
	const int64_t piece = (int64_t)nnb * 8 * 32;
	float *p = wsp + slice * (FR / 2) * piece + (int64_t)(nb * 8 + (lane >> 2)) * 32 + kin;
	p[0] = __uint_as_float(b0);
	p[4] = __uint_as_float(b1);
#if PRECISION == 3
	p[piece] = __uint_as_float(s0);
	p[piece + 4] = __uint_as_float(s1);
#endif
#elif PRECISION == 3
	reinterpret_cast<float4 *>(wsp)[i] = make_float4(__uint_as_float(b0), __uint_as_float(b1),
							 __uint_as_float(s0), __uint_as_float(s1));
#else
	reinterpret_cast<float2 *>(wsp)[i] = make_float2(__uint_as_float(b0), __uint_as_float(b1));
#endif
#endif /* PRECISION == 2 */
}
__global__ void conv_prep_weights(const float *__restrict__ w, float *__restrict__ wsp, int Cg, int Cgp,
				  int Coutg, int K, int nkb, int nnb, int T)
{
	int64_t total = (int64_t)CONV_GROUPS * nkb * nnb * 32;
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
	     i += (int64_t)gridDim.x * blockDim.x) {
		int lane = (int)(i & 31);
		int64_t blk = i >> 5;
		int nb = (int)(blk % nnb), kb = (int)(blk / nnb);
#if CONV_GROUPS > 1
		const int grp = kb / nkb;
		kb -= grp * nkb;
#else
		const int grp = 0;
#endif
		const int n = nb * 8 + (lane >> 2);
		float wv[2] = { 0.0f, 0.0f };
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const int k = kb * 8 + (lane & 3) + 4 * h;
			if (n >= Coutg || k >= K)
				continue;
#if CLAST
			const int t = k / Cgp, ci = k - t * Cgp;
			if (ci >= Cg)
				continue; /* a padding channel */
#else
			const int ci = k / T, t = k - ci * T;
#endif
#if CONV_TRANSPOSED
			wv[h] = w[((int64_t)(grp * Cg + ci) * Coutg + n) * T + (FLIP ? T - 1 - t : t)];
#else
			wv[h] = w[(((int64_t)grp * Coutg + n) * Cg + ci) * T + t];
#endif
		}
		wsp_put(wsp, i, nnb, wv[0], wv[1]);
	}
}

#if CLAST
/* x (N, Cin, S), S = D*H*W, rewritten channels-last as xc (N, S, G, Cgp):
 * group grp's channel ci at xc[n][p][grp][ci], channels past Cg zero
 * (CL16: the same 4 bytes a channel, each 8 channels' 32 bytes their bf16
 * hi halves, then their lo halves). A tile of 32 channels x PREP_P
 * positions per block and sample goes through shared memory, position-major
 * with a row of 33 words, so that both of its passes are free of bank
 * conflicts: the reads, four channels' runs of 32 positions per warp
 * instruction (16 bytes a lane: 128-byte lines), and the writes, 16 bytes a
 * thread, a position's channels in consecutive threads (whole lines again).
 * Grid (position tiles, channel tiles, samples up to 65535, the rest by a
 * loop). */
constexpr int PREP_P = 128;
__global__ void __launch_bounds__(256) conv_prep_input(const float *__restrict__ x, float *__restrict__ xc, int N,
						       int Cg, int Cgp, int S)
{
	__shared__ float tile[PREP_P][33];
	const int ctot = CONV_GROUPS * Cgp;
	const int p0 = blockIdx.x * PREP_P, c0 = blockIdx.y * 32;
	const int lane = threadIdx.x & 31, wp = threadIdx.x >> 5;
	const int cr = lane >> 3, pl = lane & 7; /* read pass: channel of 4, 4 positions of 32 */
	const bool vec = (S & 3) == 0;            /* 16-byte reads: every row starts aligned */
	for (int n = blockIdx.z; n < N; n += gridDim.z) {
		const float *xn = x + (int64_t)n * CONV_GROUPS * Cg * S;
#pragma unroll
		for (int u = 0; u < PREP_P / 32; u++) { /* 8 channel quads x PREP_P/32 runs, 8 warps */
			const int idx = wp + 8 * u, cq = idx & 7, pc = idx >> 3;
			const int cl = 4 * cq + cr, c = c0 + cl, grp = c / Cgp, ci = c - grp * Cgp;
			const int pr = 32 * pc + 4 * pl, p = p0 + pr;
			float v[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
			if (c < ctot && ci < Cg) {
				const float *src = xn + (int64_t)(grp * Cg + ci) * S + p;
				if (vec && p + 3 < S) {
					const float4 q = __ldcs(reinterpret_cast<const float4 *>(src));
					v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
				} else {
#pragma unroll
					for (int k = 0; k < 4; k++)
						if (p + k < S)
							v[k] = src[k];
				}
			}
#pragma unroll
			for (int k = 0; k < 4; k++)
				tile[pr + k][cl] = v[k];
		}
		__syncthreads();
#pragma unroll
		for (int u = 0; u < PREP_P * 8 / 256; u++) {
			const int it = threadIdx.x + 256 * u, pr = it >> 3, p = p0 + pr;
#if CL16
			/* 8 channels, their hi halves (h = 0) or their lo ones: 16 bytes;
			 * of each 8 channels' 32 bytes the hi half first, or (ATMA) of
			 * each 32 channels' 128 the 64 bytes of hi halves first */
			const int cb = (it >> 1) & 3, h = it & 1, c = c0 + 8 * cb;
			const int piece = ATMA ? 4 * h + cb : 2 * cb + h;
			if (p < S && c < ctot) {
				uint32_t hl[2][4];
#pragma unroll
				for (int j = 0; j < 4; j++)
					bf16x2_split(tile[pr][8 * cb + 2 * j], tile[pr][8 * cb + 2 * j + 1], hl[0][j], hl[1][j]);
				reinterpret_cast<uint4 *>(xc)[(((int64_t)n * S + p) * ctot + c0) / 4 + piece] =
					h ? make_uint4(hl[1][0], hl[1][1], hl[1][2], hl[1][3])
					  : make_uint4(hl[0][0], hl[0][1], hl[0][2], hl[0][3]);
			}
#else
			/* 4 channels: 16 bytes */
			const int q = it & 7, c = c0 + 4 * q;
			if (p < S && c < ctot)
				*reinterpret_cast<float4 *>(xc + ((int64_t)n * S + p) * ctot + c) =
					make_float4(tile[pr][4 * q], tile[pr][4 * q + 1], tile[pr][4 * q + 2], tile[pr][4 * q + 3]);
#endif
		}
		__syncthreads();
	}
}
#endif

#if PHASED
/* Phase ph's geometry per axis (D, H, W): ph = (rd*STRIDE_H + rh)*STRIDE_W
 * + rw; an axis the problem lacks is one phase of one tap and one output.
 * k* are the kernel's extents, o* the whole output's. */
__host__ __device__ __forceinline__ void conv_phase_axes(int ph, int kd, int kh, int kw, int od, int oh, int ow,
							 conv_phase_axis *pd, conv_phase_axis *phh, conv_phase_axis *pw)
{
	const int rw = ph % STRIDE_W, rh = ph / STRIDE_W % STRIDE_H, rd = ph / STRIDE_W / STRIDE_H;
	*pd = conv_phase_axis_of(rd, STRIDE_D, DIL_D, PAD_D, kd, od);
	*phh = conv_phase_axis_of(rh, STRIDE_H, DIL_H, PAD_H, kh, oh);
	*pw = conv_phase_axis_of(rw, STRIDE_W, DIL_W, PAD_W, kw, ow);
}

/* PHASED: wsp holds NPHASE slots of (CONV_GROUPS, nkb, nnb, 32 lanes, FR)
 * floats (blockIdx.y: the phase), nkb enough for the phase with the most
 * taps. In phase ph, B[k][co] of group grp, k = (ci, qd, qh, qw) over the
 * phase's taps (ntap per axis), is
 *   w[grp*Cg + ci][co][kd][kh][kw],  kh = k0 + (ntap - 1 - qh)*kstep
 * per axis (the phase's taps, reversed: conv_phase.cuh), zero past the
 * phase's K = Cg*ntap_d*ntap_h*ntap_w; under CLAST k = (qd, qh, qw, ci)
 * over Cgp channels (zero past Cg), K = Cgp*ntap_d*ntap_h*ntap_w. */
__global__ void conv_prep_phase_weights(const float *__restrict__ w, float *__restrict__ wsp, int Cg, int Cgp,
					int Coutg, int KD, int KH, int KW, int nkb, int nnb)
{
	conv_phase_axis pd, phh, pw;
	conv_phase_axes(blockIdx.y, KD, KH, KW, 1, 1, 1, &pd, &phh, &pw);
	const int tw = pw.ntap, thw = phh.ntap * pw.ntap, tp = pd.ntap * thw; /* the phase's taps */
	const int Kp = Cgp * tp, T = KD * KH * KW;
	const int64_t total = (int64_t)CONV_GROUPS * nkb * nnb * 32;
	wsp += (size_t)blockIdx.y * total * FR;
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
	     i += (int64_t)gridDim.x * blockDim.x) {
		int lane = (int)(i & 31);
		int64_t blk = i >> 5;
		int nb = (int)(blk % nnb), kb = (int)(blk / nnb);
		const int grp = kb / nkb;
		kb -= grp * nkb;
		int n = nb * 8 + (lane >> 2);
		float wv[2] = { 0.0f, 0.0f };
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const int k = kb * 8 + (lane & 3) + 4 * h;
			if (n >= Coutg || k >= Kp)
				continue;
#if CLAST
			int t = k / Cgp;
			const int ci = k - t * Cgp;
			if (ci >= Cg)
				continue; /* a padding channel */
#else
			const int ci = k / tp;
			int t = k - ci * tp;
#endif
			int qd = t / thw;
			t -= qd * thw;
			int qh = t / tw, qw = t - qh * tw;
			int kd = pd.k0 + (pd.ntap - 1 - qd) * pd.kstep;
			int kh = phh.k0 + (phh.ntap - 1 - qh) * phh.kstep;
			int kw = pw.k0 + (pw.ntap - 1 - qw) * pw.kstep;
			wv[h] = w[((int64_t)(grp * Cg + ci) * Coutg + n) * T + ((int64_t)kd * KH + kh) * KW + kw];
		}
		wsp_put(wsp, i, nnb, wv[0], wv[1]);
	}
}
#endif

#if WGMMA
/* D(64 x BN, fp32, BN/2 per thread) += A(64 x 8, registers) * B(BN x 8)^T
 * (shared memory, K-major, 128-byte swizzle); both TF32, or at PRECISION=2
 * A(64 x 16) * B(BN x 16)^T on bf16 (B not transposed: K-major). */
#if PRECISION == 2
#define WGMMA_RS(n) "wgmma.mma_async.sync.aligned.m64n" #n "k16.f32.bf16.bf16"
#define WGMMA_RS_ARGS "p, 1, 1, 0"
#else
#define WGMMA_RS(n) "wgmma.mma_async.sync.aligned.m64n" #n "k8.f32.tf32.tf32"
#define WGMMA_RS_ARGS "p, 1, 1"
#endif
#if ASMEM
/* (A from shared memory: wgmma_ss below) */
#elif BN == 32
static __device__ __forceinline__ void wgmma_rs(float *d, const uint32_t *a, uint64_t db)
{
#if CONV_WGMMA_DEVICE
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\n"
		     WGMMA_RS(32) " {"
		     KB_WGMMA_REGS16
		     "}, {%16, %17, %18, %19}, %20, " WGMMA_RS_ARGS ";\n}\n"
		     : KB_WGMMA_ACC16(d)
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
#else
	__trap();
#endif
}
#elif BN == 64
static __device__ __forceinline__ void wgmma_rs(float *d, const uint32_t *a, uint64_t db)
{
#if CONV_WGMMA_DEVICE
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
		     WGMMA_RS(64) " {"
		     KB_WGMMA_REGS32
		     "}, {%32, %33, %34, %35}, %36, " WGMMA_RS_ARGS ";\n}\n"
		     : KB_WGMMA_ACC32(d)
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
#else
	__trap();
#endif
}
#else
static __device__ __forceinline__ void wgmma_rs(float *d, const uint32_t *a, uint64_t db)
{
#if CONV_WGMMA_DEVICE
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
		     WGMMA_RS(128) " {"
		     KB_WGMMA_REGS64
		     "}, {%64, %65, %66, %67}, %68, " WGMMA_RS_ARGS ";\n}\n"
		     : KB_WGMMA_ACC64(d)
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
#else
	__trap();
#endif
}
#endif
#endif

#if ASMEM
/* D(64 x BN, fp32) += A(64 x 16) * B(BN x 16)^T, bf16, both from shared
 * memory (K-major, 128-byte swizzle) through descriptors da and db. */
#define WGMMA_SS(n) "wgmma.mma_async.sync.aligned.m64n" #n "k16.f32.bf16.bf16"
#if BN == 32
static __device__ __forceinline__ void wgmma_ss(float *d, uint64_t da, uint64_t db)
{
#if CONV_WGMMA_DEVICE
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
		     WGMMA_SS(32) " {"
		     KB_WGMMA_REGS16
		     "}, %16, %17, p, 1, 1, 0, 0;\n}\n"
		     : KB_WGMMA_ACC16(d)
		     : "l"(da), "l"(db), "r"(1));
#else
	__trap();
#endif
}
#elif BN == 64
static __device__ __forceinline__ void wgmma_ss(float *d, uint64_t da, uint64_t db)
{
#if CONV_WGMMA_DEVICE
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
		     WGMMA_SS(64) " {"
		     KB_WGMMA_REGS32
		     "}, %32, %33, p, 1, 1, 0, 0;\n}\n"
		     : KB_WGMMA_ACC32(d)
		     : "l"(da), "l"(db), "r"(1));
#else
	__trap();
#endif
}
#else
static __device__ __forceinline__ void wgmma_ss(float *d, uint64_t da, uint64_t db)
{
#if CONV_WGMMA_DEVICE
	asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
		     WGMMA_SS(128) " {"
		     KB_WGMMA_REGS64
		     "}, %64, %65, p, 1, 1, 0, 0;\n}\n"
		     : KB_WGMMA_ACC64(d)
		     : "l"(da), "l"(db), "r"(1));
#else
	__trap();
#endif
}
#endif
#endif

/* ---- the convolution ------------------------------------------------------ */

struct conv_args {
	const float *x;    /* (N, Cin, H, W) */
	const float *wsp;  /* prepared weights, see conv_prep_weights */
	const float *bias; /* (Cout) or NULL */
	float *y;          /* (N, Cout, Ho, Wo) or (N, Cout, Po, Qo) */
	int Cin, H, W, Cout, KH, KW, Ho, Wo, Po, Qo;
	int M, K, nk;      /* positions, taps, BK slices */
	int nnb;           /* n8 blocks of the prepared weights, per group */
	int ntiles;        /* channel tiles, of all groups */
	int dci, dkh, dkw; /* BK as (ci, [kd,] kh, kw) digits: BK = ((dci*KD + dkd)*KH + dkh)*KW + dkw;
			    * CLAST: as ([kd,] kh, kw, ci) digits, BK = ((dkd*KH + dkh)*KW + dkw)*Cgp + dci */
#if CLAST
	int Cgp, ctot; /* channels per group and tap as laid out (Cg rounded up to 4); G*Cgp */
#endif
#if ATMA
	int cpt;    /* slices a tap: Cgp / 32 */
	int bw, bh; /* a block's patch of outputs: bh rows of bw positions (bw a power of two, bw*bh = TBM) */
	int lbw;    /* log2(bw) */
	int tw, th; /* patches along Wo and along Ho */
#endif
	/* Only where the problem needs them (the 2-D forward conv's kernel is
	 * the same code as before they were added): */
#if CONV_DIMS == 3
	int D, KD, Do, dkd; /* input depth, kernel depth, output depth, BK's kd digit */
#endif
#if CONV_GROUPS > 1
	int Cg, Coutg, tpg; /* in and out channels per group, channel tiles per group */
#endif
#if (CONV_TRANSPOSED && !TGATHER) || PHASED
	int pad_d, pad_h, pad_w; /* DIL*(k-1) - PAD per axis; PHASED: the phase's */
#endif
#if TDIV
	int DS, HS, WS; /* D*STRIDE_D, H*STRIDE_H, W*STRIDE_W */
#endif
#if PHASED
	/* The host fills the problem's values; conv_phase_setup turns a copy
	 * into the block's phase: KH, KW, (KD), Ho, Wo, (Do), M, K, nk, the
	 * digits, the pads and wsp become the phase's, a forward conv of
	 * stride 1 whose outputs are every STRIDE-th of y from (od0, oh0, ow0). */
	int N;                /* samples */
	int KDf, KHf, KWf;    /* the kernel's extents (1 on missing axes) */
	int Dof, Hof, Wof;    /* y's extents (1 on missing axes) */
	int nkg;              /* BK slices per group in a phase's weight slot */
	int od0, oh0, ow0;    /* the phase's first output per axis */
#endif
};

/* BK's digits: the step one BK-deep slice takes through K's mixed radix,
 * ([kd,] kh, kw, ci) channels-last, (ci, [kd,] kh, kw) otherwise, from a's
 * window (KH, KW, KD) and, channels-last, its padded group width Cgp: the
 * host's for the problem, conv_phase_setup's for an output phase. */
__host__ __device__ inline void conv_bk_digits(conv_args &a)
{
#if CLAST
	const int dt = BK / a.Cgp; /* whole taps in BK */
	a.dci = BK % a.Cgp;
	a.dkw = dt % a.KW;
#if CONV_DIMS == 3
	a.dkh = dt / a.KW % a.KH;
	a.dkd = dt / (a.KH * a.KW);
#else
	a.dkh = dt / a.KW;
#endif
#else
	const int khw = a.KH * a.KW;
#if CONV_DIMS == 3
	const int T = a.KD * khw;
	a.dkd = (BK % T) / khw;
#else
	const int T = khw;
#endif
	a.dci = BK / T;
	a.dkh = (BK % khw) / a.KW;
	a.dkw = (BK % khw) % a.KW;
#endif
}

#if PHASED
/* a, filled by the host for the whole problem, becomes phase ph's GEMM. */
__device__ __forceinline__ void conv_phase_setup(conv_args &a, int ph)
{
	conv_phase_axis pd, phh, pw;
	conv_phase_axes(ph, a.KDf, a.KHf, a.KWf, a.Dof, a.Hof, a.Wof, &pd, &phh, &pw);
	const int tp = pd.ntap * phh.ntap * pw.ntap;
#if CLAST
	a.K = a.Cgp * tp; /* (tap, channel), each group's channels padded to Cgp */
#else
	a.K = a.Cin / CONV_GROUPS * tp;
#endif
	a.nk = (a.K + BK - 1) / BK;
	a.M = a.N * pd.nout * phh.nout * pw.nout;
	/* a phase with no taps runs no slice (bias only); its digits need extents >= 1 */
	a.KH = max(phh.ntap, 1);
	a.KW = max(pw.ntap, 1);
	a.Ho = phh.nout;
	a.Wo = pw.nout;
	a.pad_d = pd.pad;
	a.pad_h = phh.pad;
	a.pad_w = pw.pad;
	a.od0 = pd.o0;
	a.oh0 = phh.o0;
	a.ow0 = pw.o0;
#if CONV_DIMS == 3
	a.KD = max(pd.ntap, 1);
	a.Do = pd.nout;
#endif
	conv_bk_digits(a); /* as the host's for a forward conv */
	a.wsp += (size_t)ph * CONV_GROUPS * a.nkg * (BK / 8) * a.nnb * 32 * FR;
}
#endif

#if ATMA
/* the boxes of x (channels-last, bf16 halves) and of the prepared weights */
#define CONV_MAPS , const __grid_constant__ CUtensorMap tmA, const __grid_constant__ CUtensorMap tmB
#else
#define CONV_MAPS
#endif
__global__ void __launch_bounds__(NTHREADS, MINB) conv_igemm_kernel(const conv_args args CONV_MAPS)
{
	extern __shared__ __align__(16) float smem_raw[];
#if WGMMA
	/* the ring aligned up to 1024 bytes (SMEM_BYTES holds the slack) */
	float *const smem = smem_raw + (((1024u - (smem_u32(smem_raw) & 1023u)) & 1023u) >> 2);
#else
	float *const smem = smem_raw;
#endif
	int4 *minfo = reinterpret_cast<int4 *>(smem + NSTAGE * STAGE_FLOATS);

	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
#if PHASED
	conv_args a = args;
	conv_phase_setup(a, blockIdx.y);
#else
	const conv_args &a = args;
#endif
	const int tile_m = blockIdx.x / a.ntiles, tile_n = blockIdx.x - tile_m * a.ntiles;
#if PHASED
	if (tile_m * TBM >= a.M)
		return; /* the grid covers the largest phase; this one is smaller (block-uniform) */
#endif
#if CONV_GROUPS > 1
	/* The channel tiles of one group, then the next group's. */
	const int grp = tile_n / a.tpg, tn = tile_n - grp * a.tpg;
	const int m0 = tile_m * TBM, n0 = grp * a.Coutg + tn * BN;
	const int mcount = min(TBM, a.M - m0);
	const int ncols = min(BN, a.Coutg - tn * BN);
	const int co_end = (grp + 1) * a.Coutg; /* the group's channels end here */
	const int64_t cin0 = (int64_t)grp * a.Cg; /* the group's first input channel */
#else
	const int m0 = tile_m * TBM, n0 = tile_n * BN;
	const int mcount = min(TBM, a.M - m0);
	const int ncols = min(BN, a.Cout - n0);
	const int co_end = a.Cout;
#endif
	const int nvalid = (ncols + 7) >> 3; /* n8 blocks with a channel below co_end */
	const int HoWo = a.Ho * a.Wo;
#if CONV_DIMS == 3
	const int npos = a.Do * HoWo; /* output positions per sample */
	const int HW = a.H * a.W;
	int *mid = reinterpret_cast<int *>(minfo + TBM); /* first input depth per position */
#else
	const int npos = HoWo;
#endif
#if (CONV_TRANSPOSED && !TGATHER) || PHASED
	const int pad_h = a.pad_h, pad_w = a.pad_w;
#if CONV_DIMS == 3
	const int pad_d = a.pad_d;
#endif
#elif !TDIV
	constexpr int pad_h = PAD_H, pad_w = PAD_W;
#if CONV_DIMS == 3
	constexpr int pad_d = PAD_D;
#endif
#endif

#if ATMA
	/* The block's patch: outputs (od0, oh0 + r / bw, ow0 + r % bw) of
	 * sample nimg for its rows r; tile_m = ((nimg*Do + od0)*th + ty)*tw + tx. */
	int pt = tile_m;
	const int ow0 = (pt % a.tw) * a.bw;
	pt /= a.tw;
	const int oh0 = (pt % a.th) * a.bh;
	pt /= a.th;
#if CONV_DIMS == 3
	const int od0 = pt % a.Do, nimg = pt / a.Do;
	const int pad_dz = pad_d;
#else
	const int od0 = 0, nimg = pt;
	constexpr int pad_dz = 0;
#endif
#if CONV_GROUPS > 1
	const int bgrp = grp, brow = tn * BN; /* the group, and the tile's first row of its weights */
#else
	const int bgrp = 0, brow = n0;
#endif
	(void)m0, (void)mcount, (void)nvalid; /* the table's and the gather's */
#if CONV_DIMS == 3
	(void)HW, (void)mid;
#endif
	/* a "full" mbarrier per slot, in the table's place (no table here) */
	const unsigned bars = smem_u32(minfo);
	if (tid == 0) {
		for (int sl = 0; sl < NSTAGE; sl++)
			mbar_init(bars + 8u * (unsigned)sl, 1);
		asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
	}
#else
	/* Per-position table: x address of tap (0,0,0) and the first input
	 * row/column (TDIV: the sample's address and oh + PAD, ow + PAD). */
	for (int r = tid; r < TBM; r += NTHREADS) {
		int4 e;
		if (r < mcount) {
			int m = m0 + r;
			int n = m / npos, p = m - n * npos;
#if CONV_DIMS == 3
			int od = p / HoWo;
			p -= od * HoWo;
#endif
			int oh = p / a.Wo, ow = p - oh * a.Wo;
#if TDIV
			int ih0 = oh + PAD_H, iw0 = ow + PAD_W;
#if CONV_DIMS == 3
			mid[r] = od + PAD_D;
#if CONV_GROUPS > 1
			int64_t off = ((int64_t)n * a.Cin + cin0) * a.D * HW;
#else
			int64_t off = (int64_t)n * a.Cin * a.D * HW;
#endif
#elif CONV_GROUPS > 1
			int64_t off = ((int64_t)n * a.Cin + cin0) * a.H * a.W;
#else
			int64_t off = (int64_t)n * a.Cin * a.H * a.W;
#endif
#elif CLAST
			/* xc[n][id0][ih0][iw0][grp][0] (channels-last, see conv_prep_input) */
			int ih0 = oh * GSTR_H - pad_h, iw0 = ow * GSTR_W - pad_w;
#if CONV_DIMS == 3
			int id0 = od * GSTR_D - pad_d;
			mid[r] = id0;
			int64_t pix = ((int64_t)n * a.D + id0) * HW + (int64_t)ih0 * a.W + iw0;
#else
			int64_t pix = (int64_t)n * a.H * a.W + (int64_t)ih0 * a.W + iw0;
#endif
#if CONV_GROUPS > 1
			int64_t off = pix * a.ctot + (int64_t)grp * a.Cgp;
#else
			int64_t off = pix * a.ctot;
#endif
#else
			int ih0 = oh * GSTR_H - pad_h, iw0 = ow * GSTR_W - pad_w;
#if CONV_DIMS == 3
			int id0 = od * GSTR_D - pad_d;
			mid[r] = id0;
#if CONV_GROUPS > 1
			int64_t off = ((int64_t)n * a.Cin + cin0) * a.D * HW + (int64_t)id0 * HW + (int64_t)ih0 * a.W + iw0;
#else
			int64_t off = (int64_t)n * a.Cin * a.D * HW + (int64_t)id0 * HW + (int64_t)ih0 * a.W + iw0;
#endif
#elif CONV_GROUPS > 1
			int64_t off = ((int64_t)n * a.Cin + cin0) * a.H * a.W + (int64_t)ih0 * a.W + iw0;
#else
			int64_t off = (int64_t)n * a.Cin * a.H * a.W + (int64_t)ih0 * a.W + iw0;
#endif
#endif
			unsigned long long p64 = (unsigned long long)(uintptr_t)a.x + (unsigned long long)(off * 4);
			e = make_int4((int)(unsigned)p64, (int)(unsigned)(p64 >> 32), ih0, iw0);
		} else {
			unsigned long long p64 = (unsigned long long)(uintptr_t)a.x;
			e = make_int4((int)(unsigned)p64, (int)(unsigned)(p64 >> 32), BIG_NEG, 0);
#if CONV_DIMS == 3
			mid[r] = 0;
#endif
		}
		minfo[r] = e;
	}
#endif /* ATMA */
	__syncthreads();

#if !ATMA /* the gather's state and copies (ATMA: tma_slice below) */
	/* Gather state: this thread's tap column kk and positions row0 + i*ROWSTEP. */
#if CLAST
	/* GCH taps (channels of one tap) from column kk; a warp's RPI rows: 4
	 * (BK = 32, a quarter-warp's 8 copies fill one 128-byte row) or 8 (BK =
	 * 16: rows 4 apart share a quarter-warp, 80 words apart, disjoint banks) */
	const int kk = GCH * (lane % (BK / GCH));
	const int rj = lane / (BK / GCH);
	/* CL16: 4 lanes a row, 8 consecutive rows a warp (their swizzled pieces
	 * spread over the banks) */
	const int row0 = warp * RPI + (RPI == 8 && !CL16 ? (rj >> 1) + (rj & 1) * 4 : rj);
	int ci, kh, kw;
#if CONV_DIMS == 3
	int kd;
	{
		const int t = kk / a.Cgp;
		ci = kk - t * a.Cgp;
		kw = t % a.KW;
		kh = t / a.KW % a.KH;
		kd = t / a.KW / a.KH;
	}
#else
	{
		const int t = kk / a.Cgp;
		ci = kk - t * a.Cgp;
		kw = t % a.KW;
		kh = t / a.KW;
	}
#endif
#else
	const int kk = lane % BK;
	const int row0 = RPI == 1 ? warp : (warp >> 2) * 8 + (warp & 3) + 4 * (lane / BK);
	int ci, kh, kw;
#if CONV_DIMS == 3
	int kd;
	{
		int khw = a.KH * a.KW, t = a.KD * khw;
		ci = kk / t;
		int r = kk - ci * t;
		kd = r / khw;
		r -= kd * khw;
		kh = r / a.KW;
		kw = r - kh * a.KW;
	}
#else
	{
		int khw = a.KH * a.KW;
		ci = kk / khw;
		int r = kk - ci * khw;
		kh = r / a.KW;
		kw = r - kh * a.KW;
	}
#endif
#endif /* CLAST */
#endif /* !ATMA */
	const unsigned sbase = smem_u32(smem);
#if ATMA
#elif CONV_GROUPS > 1
	/* the group's prepared weights, then this tile's n8 blocks in them */
#if PHASED
	const int nkg = a.nkg; /* slices per group in the phase's slot */
#else
	const int nkg = a.nk;
#endif
#if WGMMA
	const float *wtile = a.wsp + (size_t)grp * nkg * (BK / 8) * a.nnb * 32 * FR + (size_t)tn * BN * 32;
#else
	const float *wtile = a.wsp + ((size_t)grp * nkg * (BK / 8) * a.nnb + (size_t)(tn * BN / 8)) * 32 * FR;
#endif
#elif WGMMA
	const float *wtile = a.wsp + (size_t)n0 * 32; /* row n0 of each piece */
#else
	const float *wtile = a.wsp + (size_t)(n0 / 8) * 32 * FR;
#endif
#if !WGMMA
	const int bchunks = nvalid * 8 * FR; /* 16-byte chunks per k8 block row */
#endif

#if !ATMA
	/* The copies of one slice are issued in KPARTS pieces: slice_begin
	 * fixes the slot and this thread's tap offset, gather_part(p) copies
	 * rows p*NR/GPARTS .. (p+1)*NR/GPARTS - 1 of this thread's A column
	 * (part 0 also the B slice; parts from GPARTS on no rows), slice_end
	 * advances the tap by BK. */
	unsigned g_sa = 0, g_koff = 0;
	int g_khv = 0; /* the tap's row offset kh*DIL_H (past K: outside every row) */
#if TDIV
	int g_kwv = 0; /* kw*DIL_W */
#endif
#if CONV_DIMS == 3
	int g_kdv = 0; /* kd*DIL_D */
#endif
	auto slice_begin = [&](int slot) {
		g_sa = sbase + (unsigned)(slot * STAGE_FLOATS) * 4u;
#if CONV_GROUPS > 1
		const int cg = a.Cg; /* input channels per group */
#else
		const int cg = a.Cin;
#endif
#if CONV_DIMS == 3
		g_kdv = kd * GDIL_D;
#endif
#if TDIV
		/* input index * STRIDE = table entry - tap offset */
		g_kwv = kw * DIL_W;
		g_khv = ci < cg ? kh * DIL_H : BIG_POS;
#if CONV_DIMS == 3
		g_koff = (unsigned)ci * (unsigned)a.D * (unsigned)HW;
#else
		g_koff = (unsigned)ci * (unsigned)a.H * (unsigned)a.W;
#endif
#elif CLAST
		/* channel ci of tap (kd, kh, kw) at xc[...][kd*DIL][kh*DIL][kw*DIL][ci]
		 * from the position's base; past K when the top digit has run out */
		(void)cg;
#if CONV_DIMS == 3
		g_khv = kd < a.KD ? kh * GDIL_H : BIG_NEG;
		g_koff = (((unsigned)g_kdv * (unsigned)a.H + (unsigned)(kh * GDIL_H)) * (unsigned)a.W +
			  (unsigned)(kw * GDIL_W)) * (unsigned)a.ctot + (unsigned)ci;
#else
		g_khv = kh < a.KH ? kh * GDIL_H : BIG_NEG;
		g_koff = ((unsigned)(kh * GDIL_H) * (unsigned)a.W + (unsigned)(kw * GDIL_W)) * (unsigned)a.ctot +
			 (unsigned)ci;
#endif
#else
		g_khv = ci < cg ? kh * GDIL_H : BIG_NEG;
#if CONV_DIMS == 3
		g_koff = (((unsigned)ci * (unsigned)a.D + (unsigned)g_kdv) * (unsigned)a.H + (unsigned)(kh * GDIL_H)) *
				 (unsigned)a.W + (unsigned)(kw * GDIL_W);
#else
		g_koff = ((unsigned)ci * (unsigned)a.H + (unsigned)(kh * GDIL_H)) * (unsigned)a.W + (unsigned)(kw * GDIL_W);
#endif
#endif
	};
	auto gather_part = [&](int p, int slice) {
		const unsigned dst0 = g_sa + (unsigned)(row0 * LDK + kk) * 4u;
#pragma unroll
		for (int q = 0; q < NR / GPARTS; q++) {
			const int i = p * (NR / GPARTS) + q;
			if (GPARTS < KPARTS && p >= GPARTS)
				break;
			int4 e = minfo[row0 + i * ROWSTEP];
#if TDIV
			/* tap k of output o reads (o + PAD - k*DIL) / STRIDE where divisible */
			unsigned nh = (unsigned)(e.z - g_khv), nw = (unsigned)(e.w - g_kwv);
			bool ok = nh < (unsigned)a.HS && nw < (unsigned)a.WS && nh % STRIDE_H == 0 && nw % STRIDE_W == 0;
			unsigned o = (nh / STRIDE_H) * (unsigned)a.W + nw / STRIDE_W;
#if CONV_DIMS == 3
			unsigned nd = (unsigned)(mid[row0 + i * ROWSTEP] - g_kdv);
			ok = ok && nd < (unsigned)a.DS && nd % STRIDE_D == 0;
			o += (nd / STRIDE_D) * (unsigned)HW;
#endif
			unsigned long long p64 = ((unsigned long long)(unsigned)e.y << 32) | (unsigned)e.x;
			const float *src = reinterpret_cast<const float *>(p64 + (unsigned long long)(g_koff + o) * 4u);
#else
			int ih = e.z + g_khv, iw = e.w + kw * GDIL_W;
			bool ok = (unsigned)ih < (unsigned)a.H && (unsigned)iw < (unsigned)a.W;
#if CONV_DIMS == 3
			int id = mid[row0 + i * ROWSTEP] + g_kdv;
			ok = ok && (unsigned)id < (unsigned)a.D;
#endif
			unsigned long long p64 = ((unsigned long long)(unsigned)e.y << 32) | (unsigned)e.x;
			const float *src = reinterpret_cast<const float *>(p64 + (unsigned long long)g_koff * 4u);
#endif
#if CL16
			/* channels kk..kk+7 of the tap: their hi (16 bytes) and lo halves, to
			 * pieces kk/8 and kk/8 + 4 of the row, swizzled (see the top) */
			{
				(void)dst0;
				const int r = row0 + i * ROWSTEP;
				const unsigned drow = g_sa + (unsigned)(r * 128);
				cp_async16_ca(drow + (unsigned)((((kk >> 3)) ^ (r & 7)) << 4), src, ok ? 16 : 0);
				cp_async16_ca(drow + (unsigned)((((kk >> 3) + 4) ^ (r & 7)) << 4),
					      reinterpret_cast<const char *>(src) + 16, ok ? 16 : 0);
			}
#elif CLAST
			cp_async16_ca(dst0 + (unsigned)(i * ROWSTEP * LDK) * 4u, src, ok ? 16 : 0);
#else
			cp_async4(dst0 + (unsigned)(i * ROWSTEP * LDK) * 4u, src, ok ? 4 : 0);
#endif
		}
		if (p == 0) {
			const unsigned sb = g_sa + (unsigned)A_FLOATS * 4u;
#if WGMMA
			/* the slice's rows of B^T below Cout, swizzled (see the top) */
			const float *gs = wtile + (size_t)slice * (BK / 8) * a.nnb * 32 * FR;
			const size_t gpiece = (size_t)a.nnb * 8 * 32;
			const int chunks = nvalid * 8 * 8; /* 16-byte pieces of one B piece */
#pragma unroll
			for (int h = 0; h < FR / 2; h++)
				for (int c = tid; c < chunks; c += NTHREADS) {
					const int r = c >> 3, q = c & 7;
					cp_async16(sb + (unsigned)(h * BPIECE_BYTES + r * 128 + ((q ^ (r & 7)) << 4)),
						   gs + h * gpiece + r * 32 + q * 4);
				}
#else
#pragma unroll
			for (int kb = 0; kb < BK / 8; kb++) {
				const float *g = wtile + ((size_t)(slice * (BK / 8) + kb) * a.nnb) * 32 * FR;
				const unsigned d = sb + (unsigned)(kb * (BN / 8) * 32 * FR) * 4u;
				for (int c = tid; c < bchunks; c += NTHREADS)
					cp_async16(d + (unsigned)c * 16u, g + c * 4);
			}
#endif
		}
	};
	auto slice_end = [&]() {
		/* the tap's digits += BK's, the top one unbounded (past it: past K) */
#if CLAST
		int c = digit_add(ci, a.dci, a.Cgp);     /* ([kd,] kh, kw, ci) */
		c = digit_add(kw, a.dkw + c, a.KW);
#if CONV_DIMS == 3
		c = digit_add(kh, a.dkh + c, a.KH);
		kd += a.dkd + c;
#else
		kh += a.dkh + c;
#endif
#else
		int c = digit_add(kw, a.dkw, a.KW);      /* (ci, [kd,] kh, kw) */
		c = digit_add(kh, a.dkh + c, a.KH);
#if CONV_DIMS == 3
		c = digit_add(kd, a.dkd + c, a.KD);
#endif
		ci += a.dci + c;
#endif
	};
#endif /* !ATMA */

#if ATMA
	/* Thread 0: slice s into slot `slot`, A's box and B's on the slot's
	 * mbarrier, which then waits for both boxes' bytes (zero-filled ones
	 * count too). Slice s is tap s / cpt's channels 32*(s % cpt) on. */
	auto tma_slice = [&](int slot, int s) {
		const unsigned sa = sbase + (unsigned)(slot * STAGE_FLOATS) * 4u, bar = bars + 8u * (unsigned)slot;
		int tap = s / a.cpt;
		const int chunk = s - tap * a.cpt;
		const int tkw = tap % a.KW;
		tap /= a.KW;
#if CONV_DIMS == 3
		const int tkh = tap % a.KH, tkd = tap / a.KH;
#else
		const int tkh = tap, tkd = 0;
#endif
		mbar_arrive_expect_tx(bar, (unsigned)(TBM + BN) * 128u);
		tma_load_5d(sa, &tmA, (bgrp * a.cpt + chunk) * 64, ow0 - pad_w + tkw * GDIL_W,
			    oh0 - pad_h + tkh * GDIL_H, od0 - pad_dz + tkd * GDIL_D, nimg, bar);
		tma_load_3d(sa + (unsigned)A_FLOATS * 4u, &tmB, 0, brow, bgrp * a.nk + s, bar);
	};
#endif

#if WGMMA
	/* warp wq of warpgroup wg: rows rowbase.. +15 of each of its m64 tiles */
	const int wg = warp >> 2, wq = warp & 3;
	const int rowbase = wg * RWG + wq * 16;
	float acc[MW][BN / 2];
#pragma unroll
	for (int i = 0; i < MW; i++)
#pragma unroll
		for (int c = 0; c < BN / 2; c++)
			acc[i][c] = 0.0f;
	auto acc_fence = [&]() {
#pragma unroll
		for (int i = 0; i < MW; i++)
#pragma unroll
			for (int c = 0; c < BN / 2; c++)
				reg_fence(acc[i][c]);
	};
#if ASMEM
	/* A by descriptor: this warpgroup's rows of the slot, 128 bytes each */
	const unsigned a_wg = (unsigned)(wg * RWG * 128);
#else
#if CL16
	/* ldmatrix from the swizzled bf16 rows: this lane's row of its warp's 16
	 * and its 16-byte piece (k 0-7 or 8-15 of a k16 step), swizzled */
	const int a_row = rowbase + (lane & 7) + ((lane >> 3) & 1) * 8;
	const unsigned a_lane = (unsigned)(a_row * 128), a_piece = (unsigned)(lane >> 4), a_swz = (unsigned)(a_row & 7);
#else
	const int a_lane = (rowbase + (lane & 7) + ((lane >> 3) & 1) * 8) * LDK + (lane >> 4) * 4;
#endif
	/* every A fragment of a slice, split; set b of NBUF (OVERLAP: the other
	 * set is still being read by the tensor cores) */
	uint32_t abig[NBUF][KSTEPS][MW][4];
#if PRECISION != 1
	uint32_t asmall[NBUF][KSTEPS][MW][4];
#endif
	auto a_fence = [&](int set) {
#pragma unroll
		for (int ks = 0; ks < KSTEPS; ks++)
#pragma unroll
			for (int i = 0; i < MW; i++)
#pragma unroll
				for (int c = 0; c < 4; c++) {
					reg_fence(abig[set][ks][i][c]);
#if PRECISION != 1
					reg_fence(asmall[set][ks][i][c]);
#endif
				}
	};
#if OVERLAP
	/* the first wait fences the set no slice has filled yet */
#pragma unroll
	for (int b = 0; b < NBUF; b++)
#pragma unroll
		for (int ks = 0; ks < KSTEPS; ks++)
#pragma unroll
			for (int i = 0; i < MW; i++)
#pragma unroll
				for (int c = 0; c < 4; c++) {
					abig[b][ks][i][c] = 0u;
#if PRECISION != 1
					asmall[b][ks][i][c] = 0u;
#endif
				}
#endif
#endif /* ASMEM */
#else
	const int wm = warp % WARPS_M, wn = warp / WARPS_M;
	float acc[MT][NT][4];
#pragma unroll
	for (int i = 0; i < MT; i++)
#pragma unroll
		for (int j = 0; j < NT; j++)
#pragma unroll
			for (int c = 0; c < 4; c++)
				acc[i][j][c] = 0.0f;

	/* ldmatrix row address of this lane (see the top), in floats within a slot */
	const int a_lane = (wm * WTM + (lane & 7) + ((lane >> 3) & 1) * 8) * LDK + (lane >> 4) * 4;
#endif

#if ATMA
	if (tid == 0)
		for (int s = 0; s < AHEAD && s < a.nk; s++)
			tma_slice(s, s);
#else
#pragma unroll 1
	for (int s = 0; s < AHEAD; s++) {
		if (s < a.nk) {
			slice_begin(s);
#pragma unroll
			for (int p = 0; p < KPARTS; p++)
				gather_part(p, s);
			slice_end();
		}
		cp_async_commit();
	}
#endif

	/* NBUF slices per trip, so that each one's A register set is a constant */
#pragma unroll 1
	for (int kt0 = 0; kt0 < a.nk; kt0 += NBUF) {
#pragma unroll
		for (int b = 0; b < NBUF; b++) {
			const int kt = kt0 + b;
			if (NBUF > 1 && kt >= a.nk)
				break;
#if ATMA
			/* slot (kt-NBUF) % NSTAGE free (as below); thread 0 refills it
			 * with slice kt + AHEAD, and all wait for slice kt's boxes */
			__syncthreads();
			const int ls = kt + AHEAD;
			if (tid == 0 && ls < a.nk)
				tma_slice(ls % NSTAGE, ls);
			const int slot = kt % NSTAGE;
			mbar_wait(bars + 8u * (unsigned)slot, (unsigned)(kt / NSTAGE) & 1u);
#else
			cp_async_wait<AHEAD - 1>();
#if WGMMA
			/* this thread's copies, made by the generic proxy, seen by wgmma's async one */
			asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
			/* slice kt visible to all; slot (kt-NBUF) % NSTAGE free (OVERLAP: every
			 * warpgroup's wait_group 1 in slice kt-1 retired slice kt-2's wgmma) */
			__syncthreads();
			const int ls = kt + AHEAD; /* the slice loaded during this one */
			const bool loading = ls < a.nk;
			if (loading)
				slice_begin(ls % NSTAGE);
			const int slot = kt % NSTAGE;
#endif
			const unsigned sa = sbase + (unsigned)(slot * STAGE_FLOATS) * 4u;
#if ASMEM
			/* the wgmma of this slice's K steps, A and B both by descriptor (a K
			 * step is 32 bytes of a row, the lo halves 64 bytes in: the same
			 * layout for both); the next slice's copies while they run */
			{
				const unsigned sah = sa + a_wg;
				const unsigned sbh = sa + (unsigned)A_FLOATS * 4u;
				wgmma_fence();
#pragma unroll
				for (int ks = 0; ks < KSTEPS; ks++) {
					const uint64_t dbig = smem_desc(sbh + (unsigned)ks * 32u, 16, 1024);
					const uint64_t dsmall = smem_desc(sbh + (unsigned)SMALL_OFF + (unsigned)ks * 32u, 16, 1024);
#pragma unroll
					for (int i = 0; i < MW; i++) {
						const unsigned ai = sah + (unsigned)(i * 64 * 128) + (unsigned)ks * 32u;
						wgmma_ss(acc[i], smem_desc(ai + (unsigned)SMALL_OFF, 16, 1024), dbig);
						wgmma_ss(acc[i], smem_desc(ai, 16, 1024), dsmall);
						wgmma_ss(acc[i], smem_desc(ai, 16, 1024), dbig);
					}
				}
				wgmma_commit();
#if !ATMA
#pragma unroll
				for (int k8 = 0; k8 < BK / 8; k8++)
					if (loading)
						gather_part(k8, ls);
#endif
				wgmma_wait<OVERLAP>();
#if !OVERLAP
				acc_fence();
#endif
			}
#elif WGMMA
			/* every A fragment of the slice, split; then the wgmma of its K steps */
#pragma unroll
			for (int k8 = 0; k8 < BK / 8; k8++) {
				if (loading)
					gather_part(k8, ls);
#if CL16
				/* NHWC=3: k16 step k8/2's hi and lo fragments straight from the
				 * bf16 rows (pieces 2ks, 2ks+1; lo 4 pieces on), in tap order as
				 * the weights are; no split */
#pragma unroll
				for (int i = 0; i < MW; i++) {
					if (k8 & 1)
						break;
					const int ks = k8 / 2;
					const unsigned row = sa + a_lane + (unsigned)(i * 64 * 128);
					ldsm_x4(abig[b][ks][i], row + (((2u * ks + a_piece) ^ a_swz) << 4));
					ldsm_x4(asmall[b][ks][i], row + (((2u * ks + a_piece + 4u) ^ a_swz) << 4));
				}
#else
#pragma unroll
				for (int i = 0; i < MW; i++) {
					uint32_t r[4];
					ldsm_x4(r, sa + (unsigned)(a_lane + i * 64 * LDK + k8 * 8) * 4u);
#if PRECISION == 2
					/* k16 step k8/2: taps t and t+4 of this k8 step (r[0], r[2]
					 * row g; r[1], r[3] row g+8) are its slots 2t, 2t+1 (+8 for
					 * the odd k8 step), as the weights were laid out */
					const int ks = k8 / 2, h = (k8 & 1) * 2;
					bf16x2_split(__uint_as_float(r[0]), __uint_as_float(r[2]), abig[b][ks][i][h],
						     asmall[b][ks][i][h]);
					bf16x2_split(__uint_as_float(r[1]), __uint_as_float(r[3]), abig[b][ks][i][h + 1],
						     asmall[b][ks][i][h + 1]);
#else
#pragma unroll
					for (int c = 0; c < 4; c++) {
#if PRECISION == 3
						tf32_split_trunc(r[c], abig[b][k8][i][c], asmall[b][k8][i][c]);
#else
						abig[b][k8][i][c] = to_tf32(__uint_as_float(r[c]));
#endif
					}
#endif
				}
#endif /* CL16 */
			}
			{
				const unsigned sbh = sa + (unsigned)A_FLOATS * 4u; /* big piece of B^T */
				wgmma_fence();
#pragma unroll
				for (int ks = 0; ks < KSTEPS; ks++) {
					/* a K step is 32 bytes of a row (k8 TF32, k16 bf16) */
					const uint64_t dbig = smem_desc(sbh + (unsigned)ks * 32u, 16, 1024);
#if PRECISION != 1
					const uint64_t dsmall = smem_desc(sbh + (unsigned)SMALL_OFF + (unsigned)ks * 32u, 16, 1024);
#pragma unroll
					for (int i = 0; i < MW; i++) {
						wgmma_rs(acc[i], asmall[b][ks][i], dbig);
						wgmma_rs(acc[i], abig[b][ks][i], dsmall);
						wgmma_rs(acc[i], abig[b][ks][i], dbig);
					}
#else
#pragma unroll
					for (int i = 0; i < MW; i++)
						wgmma_rs(acc[i], abig[b][ks][i], dbig);
#endif
				}
				wgmma_commit();
				/* OVERLAP: slice kt-1's group is done, slice kt's runs on */
				wgmma_wait<OVERLAP>();
				/* the tensor cores have read the retired group's A registers: only
				 * now may they be reused (OVERLAP: the other set) */
				a_fence((b + OVERLAP) % NBUF);
#if !OVERLAP
				acc_fence();
#endif
			}
#else
			const float *sB = smem + slot * STAGE_FLOATS + A_FLOATS;
#pragma unroll
			for (int ks = 0; ks < BK / 8; ks++) {
				if (loading)
					gather_part(ks, ls);
				unsigned abig[MT][4];
#if PRECISION == 3
				unsigned asmall[MT][4];
#endif
#pragma unroll
				for (int i = 0; i < MT; i++) {
					unsigned r[4];
					ldsm_x4(r, sa + (unsigned)(a_lane + i * 16 * LDK + ks * 8) * 4u);
#pragma unroll
					for (int c = 0; c < 4; c++) {
#if PRECISION == 3
						tf32_split_trunc(r[c], abig[i][c], asmall[i][c]);
#else
						abig[i][c] = to_tf32(__uint_as_float(r[c]));
#endif
					}
				}
#pragma unroll
				for (int jc = 0; jc < NT; jc += NCH) {
					if (wn + WARPS_N * jc >= nvalid)
						continue; /* warp-uniform: these n8 tiles are past Cout */
#pragma unroll
					for (int jj = 0; jj < NCH; jj++) {
						const int j = jc + jj;
						const float *bp = sB + ((ks * (BN / 8) + wn + WARPS_N * j) * 32 + lane) * FR;
#if PRECISION == 3
						float4 b = *reinterpret_cast<const float4 *>(bp);
						unsigned bb0 = __float_as_uint(b.x), bb1 = __float_as_uint(b.y);
						unsigned bs0 = __float_as_uint(b.z), bs1 = __float_as_uint(b.w);
#pragma unroll
						for (int i = 0; i < MT; i++)
							mma_m16n8k8_tf32(acc[i][j], asmall[i], bb0, bb1);
#pragma unroll
						for (int i = 0; i < MT; i++)
							mma_m16n8k8_tf32(acc[i][j], abig[i], bs0, bs1);
#pragma unroll
						for (int i = 0; i < MT; i++)
							mma_m16n8k8_tf32(acc[i][j], abig[i], bb0, bb1);
#else
						float2 b = *reinterpret_cast<const float2 *>(bp);
#pragma unroll
						for (int i = 0; i < MT; i++)
							mma_m16n8k8_tf32(acc[i][j], abig[i], __float_as_uint(b.x), __float_as_uint(b.y));
#endif
					}
				}
			}
#endif
#if !ATMA
			if (loading)
				slice_end();
			cp_async_commit();
#endif
		}
	}
#if OVERLAP
	/* the last slice's group */
	wgmma_wait<0>();
#if !ASMEM
#pragma unroll
	for (int set = 0; set < NBUF; set++)
		a_fence(set);
#endif
	acc_fence();
#endif
	cp_async_wait<0>();
	__syncthreads(); /* the ring is free for the epilogue */

	/* ---- epilogue ---- */
	float *sC = smem;
	const int g = lane >> 2, t = lane & 3;
#if POOL == 0
	/* Positions this thread stores: rows er0 + u*ERT, channels ec0 + v*ECT. */
	constexpr int ERT = TBM < NTHREADS ? TBM : NTHREADS;
	constexpr int ECT = NTHREADS / ERT;
	constexpr int EU = TBM / ERT;
	const int er0 = tid % ERT, ec0 = tid / ERT;
#if PHASED
	const int ynpos = a.Dof * a.Hof * a.Wof; /* y's positions per sample and channel */
#else
	const int ynpos = npos;
#endif
	int64_t ybase[EU];
#pragma unroll
	for (int u = 0; u < EU; u++) {
		int r = er0 + u * ERT;
		ybase[u] = -1;
#if ATMA
		/* row r of the patch; rows past Ho or Wo are not stored */
		const int oh = oh0 + (r >> a.lbw), ow = ow0 + (r & (a.bw - 1));
		if (oh < a.Ho && ow < a.Wo)
			ybase[u] = ((int64_t)nimg * a.Cout + n0) * npos + ((int64_t)od0 * a.Ho + oh) * a.Wo + ow;
#else
		if (r < mcount) {
			int m = m0 + r;
			int n = m / npos, p = m - n * npos;
#if PHASED
			/* the phase's position p is y's (od, oh, ow)*STRIDE + (od0, oh0, ow0) */
#if CONV_DIMS == 3
			int od = p / HoWo;
			p -= od * HoWo;
			const int yd = od * STRIDE_D + a.od0;
#else
			const int yd = 0;
#endif
			int oh = p / a.Wo, ow = p - oh * a.Wo;
			int64_t q = ((int64_t)yd * a.Hof + oh * STRIDE_H + a.oh0) * a.Wof + ow * STRIDE_W + a.ow0;
			ybase[u] = ((int64_t)n * a.Cout + n0) * ynpos + q;
#else
			ybase[u] = ((int64_t)n * a.Cout + n0) * npos + p;
#endif
		}
#endif /* ATMA */
	}
#else
	/* Pooled rows R = n*Po + po whose windows meet positions [m0, m0 + mcount). */
	int R_lo, R_hi;
	{
		int n = m0 / HoWo, oh = (m0 - n * HoWo) / a.Wo;
		int po = oh - POOL + 1 <= 0 ? 0 : (oh - POOL + POOL_STRIDE) / POOL_STRIDE;
		R_lo = n * a.Po + min(po, a.Po);
		int ml = m0 + mcount - 1;
		n = ml / HoWo;
		oh = (ml - n * HoWo) / a.Wo;
		R_hi = n * a.Po + min(a.Po - 1, oh / POOL_STRIDE);
	}
	const int npairs = R_hi >= R_lo ? (R_hi - R_lo + 1) * a.Qo : 0;
	const int PoQo = a.Po * a.Qo;
#endif

#pragma unroll 1
	for (int c0 = 0; c0 < ncols; c0 += CW) {
		if (c0 > 0)
			__syncthreads(); /* the previous chunk has been read */
#if WGMMA
#pragma unroll
		for (int j = 0; j < BN / 8; j++) {
			const int col = j * 8; /* first column of accumulators 4j..4j+3 */
			if (col >= ncols || col < c0 || col >= c0 + CW)
				continue;
			const int cl = col - c0 + 2 * t;
			const int co = n0 + col + 2 * t;
			float b0 = 0.0f, b1 = 0.0f;
			if (a.bias) {
				if (co < co_end)
					b0 = __ldg(a.bias + co);
				if (co + 1 < co_end)
					b1 = __ldg(a.bias + co + 1);
			}
#pragma unroll
			for (int i = 0; i < MW; i++) {
				const int r = rowbase + i * 64 + g;
				sC[cl * LDC + r] = act(acc[i][4 * j] + b0);
				sC[(cl + 1) * LDC + r] = act(acc[i][4 * j + 1] + b1);
				sC[cl * LDC + r + 8] = act(acc[i][4 * j + 2] + b0);
				sC[(cl + 1) * LDC + r + 8] = act(acc[i][4 * j + 3] + b1);
			}
		}
#else
#pragma unroll
		for (int j = 0; j < NT; j++) {
			const int col = (wn + WARPS_N * j) * 8; /* first column of this n8 tile */
			if (col >= ncols || col < c0 || col >= c0 + CW)
				continue;
			const int cl = col - c0 + 2 * t;
			const int co = n0 + col + 2 * t;
			float b0 = 0.0f, b1 = 0.0f;
			if (a.bias) {
				if (co < co_end)
					b0 = __ldg(a.bias + co);
				if (co + 1 < co_end)
					b1 = __ldg(a.bias + co + 1);
			}
#pragma unroll
			for (int i = 0; i < MT; i++) {
				const int r = wm * WTM + i * 16 + g;
				sC[cl * LDC + r] = act(acc[i][j][0] + b0);
				sC[(cl + 1) * LDC + r] = act(acc[i][j][1] + b1);
				sC[cl * LDC + r + 8] = act(acc[i][j][2] + b0);
				sC[(cl + 1) * LDC + r + 8] = act(acc[i][j][3] + b1);
			}
		}
#endif
		__syncthreads();
		const int ncw = min(CW, ncols - c0);
#if POOL == 0
#pragma unroll
		for (int u = 0; u < EU; u++) {
			if (ybase[u] < 0)
				continue;
			float *yp = a.y + ybase[u] + (int64_t)c0 * ynpos;
			const int r = er0 + u * ERT;
			for (int c = ec0; c < ncw; c += ECT)
				__stcs(yp + (int64_t)c * ynpos, sC[c * LDC + r]);
		}
#else
		{
			const int ngroups = (ncw + 7) >> 3;
			const int items = npairs * ngroups;
			for (int it = tid; it < items; it += NTHREADS) {
				const int grp = it / npairs, pair = it - grp * npairs;
				const int rq = pair / a.Qo, qo = pair - rq * a.Qo;
				const int R = R_lo + rq;
				const int n = R / a.Po, po = R - n * a.Po;
				/* tile offset of the window's first conv output */
				const int w0 = n * HoWo + po * POOL_STRIDE * a.Wo + qo * POOL_STRIDE - m0;
				const int wl = w0 + (POOL - 1) * a.Wo + POOL - 1;
				const int cbeg = grp * 8, cend = min(ncw, cbeg + 8);
				float *yp = a.y + ((int64_t)n * a.Cout + n0 + c0) * PoQo + (int64_t)po * a.Qo + qo;
				if (w0 >= 0 && wl < mcount) {
					/* whole window in the tile */
					for (int c = cbeg; c < cend; c++) {
						const float *s = sC + c * LDC + w0;
						float v = s[0];
#pragma unroll
						for (int pr = 0; pr < POOL; pr++)
#pragma unroll
							for (int pc = 0; pc < POOL; pc++)
								v = kb_fmax_nan(v, s[pr * a.Wo + pc]);
						atomic_fmax(yp + (int64_t)c * PoQo, v);
					}
				} else {
					bool any = false;
#pragma unroll
					for (int pr = 0; pr < POOL; pr++)
#pragma unroll
						for (int pc = 0; pc < POOL; pc++)
							any |= (unsigned)(w0 + pr * a.Wo + pc) < (unsigned)mcount;
					if (!any)
						continue;
					for (int c = cbeg; c < cend; c++) {
						const float *s = sC + c * LDC;
						float v = -INFINITY;
#pragma unroll
						for (int pr = 0; pr < POOL; pr++)
#pragma unroll
							for (int pc = 0; pc < POOL; pc++) {
								int o = w0 + pr * a.Wo + pc;
								if ((unsigned)o < (unsigned)mcount)
									v = kb_fmax_nan(v, s[o]);
							}
						atomic_fmax(yp + (int64_t)c * PoQo, v);
					}
				}
			}
		}
#endif
	}
}

/* ---- host ----------------------------------------------------------------- */

KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in,
			     kb_tensor *out, int n_out, void *stream)
{
	if (!in || !out || (n_in != 2 && n_in != 3) || n_out != 1)
		return KB_ERR_SHAPE;
	const kb_tensor *x = &in[0], *w = &in[1], *b = n_in == 3 ? &in[2] : NULL;
	kb_tensor *y = &out[0];
	if (x->dtype != KB_F32 || w->dtype != KB_F32 || y->dtype != KB_F32 ||
	    (b && b->dtype != KB_F32))
		return KB_ERR_SHAPE;
	if (x->ndim != CONV_DIMS + 2 || w->ndim != CONV_DIMS + 2 || y->ndim != CONV_DIMS + 2 ||
	    (b && b->ndim != 1))
		return KB_ERR_SHAPE;
	const int64_t lim = (int64_t)INT32_MAX - 65536, ext = (int64_t)1 << 28;
	/* Spatial extents as (D, H, W), 1 on the axes the problem lacks. */
	int64_t N = x->shape[0], Cin = x->shape[1];
	int64_t isz[3] = { 1, 1, 1 }, ksz[3] = { 1, 1, 1 }, osz[3];
	for (int d = 0; d < CONV_DIMS; d++) {
		isz[3 - CONV_DIMS + d] = x->shape[2 + d];
		ksz[3 - CONV_DIMS + d] = w->shape[2 + d];
	}
	const int64_t str[3] = { STRIDE_D, STRIDE_H, STRIDE_W }, pad[3] = { PAD_D, PAD_H, PAD_W };
	const int64_t dil[3] = { DIL_D, DIL_H, DIL_W };
#if CONV_TRANSPOSED
	const int64_t opad[3] = { OPAD_D, OPAD_H, OPAD_W };
#endif
#if CONV_TRANSPOSED
	int64_t Cout = w->shape[1] * CONV_GROUPS; /* w is (Cin, Cout/groups, k...) */
	if (w->shape[0] != Cin)
		return KB_ERR_SHAPE;
#else
	int64_t Cout = w->shape[0];               /* w is (Cout, Cin/groups, k...) */
	if (w->shape[1] * CONV_GROUPS != Cin)
		return KB_ERR_SHAPE;
#endif
	if (N < 0 || Cin < 1 || Cout < 1 || Cin % CONV_GROUPS || Cout % CONV_GROUPS || (b && b->shape[0] != Cout))
		return KB_ERR_SHAPE;
	for (int d = 0; d < 3; d++) {
		if (isz[d] < 1 || ksz[d] < 1 || isz[d] >= ext || dil[d] * (ksz[d] - 1) >= ext)
			return KB_ERR_SHAPE;
#if CONV_TRANSPOSED
		osz[d] = (isz[d] - 1) * str[d] - 2 * pad[d] + dil[d] * (ksz[d] - 1) + opad[d] + 1;
#else
		if (isz[d] + 2 * pad[d] < dil[d] * (ksz[d] - 1) + 1)
			return KB_ERR_SHAPE;
		osz[d] = (isz[d] + 2 * pad[d] - dil[d] * (ksz[d] - 1) - 1) / str[d] + 1;
#endif
		if (osz[d] < 1 || osz[d] >= ext || isz[d] * str[d] >= ext)
			return KB_ERR_SHAPE;
	}
	const int64_t D = isz[0], H = isz[1], W = isz[2], KD = ksz[0], KH = ksz[1], KW = ksz[2];
	const int64_t Do = osz[0], Ho = osz[1], Wo = osz[2];
	const int64_t Cg = Cin / CONV_GROUPS, Coutg = Cout / CONV_GROUPS, T = KD * KH * KW;
	int64_t Po = 0, Qo = 0;
#if POOL > 0
	if (Ho < POOL || Wo < POOL)
		return KB_ERR_SHAPE;
	Po = (Ho - POOL) / POOL_STRIDE + 1;
	Qo = (Wo - POOL) / POOL_STRIDE + 1;
	if (y->shape[0] != N || y->shape[1] != Cout || y->shape[2] != Po || y->shape[3] != Qo)
		return KB_ERR_SHAPE;
#else
	if (y->shape[0] != N || y->shape[1] != Cout)
		return KB_ERR_SHAPE;
	for (int d = 0; d < CONV_DIMS; d++)
		if (y->shape[2 + d] != osz[3 - CONV_DIMS + d])
			return KB_ERR_SHAPE;
#endif
	int64_t M = N * Do * Ho * Wo, K = Cg * T;
#if CLAST
	/* channels-last: each group's channels padded to Cgp (CL16: to 8, a
	 * 16-byte piece of bf16; ATMA: to 32, a slice), K = (tap, channel) */
	const int64_t Cgp = ATMA ? (Cg + 31) / 32 * 32 : CL16 ? (Cg + 7) / 8 * 8 : (Cg + 3) / 4 * 4;
	const int64_t ctot = CONV_GROUPS * Cgp, S = D * H * W;
	K = T * Cgp;
	if (S * ctot > lim || (ctot + 31) / 32 > 65535)
		return KB_ERR_SHAPE;
#else
	const int64_t Cgp = Cg;
#endif
	if (M > lim || Cin * D * H * W > lim || K > lim || Cout > lim || T > lim)
		return KB_ERR_SHAPE;
	if (M == 0)
		return KB_OK; /* N == 0: y is empty */

	cudaStream_t st = (cudaStream_t)stream;
#if WGMMA
	static int major = 0; /* wgmma is sm_90a's */
	if (major == 0) {
		int dev = 0;
		if (cudaGetDevice(&dev) != cudaSuccess ||
		    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
			major = 0;
			return KB_ERR_LAUNCH;
		}
	}
	if (major != 9)
		return KB_ERR_SHAPE;
#endif
	static bool attr_set = false;
	if (!attr_set) {
		if (cudaFuncSetAttribute(conv_igemm_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
					 SMEM_BYTES) != cudaSuccess)
			return KB_ERR_LAUNCH;
		attr_set = true;
	}

	/* Weights in fragment order. */
	int nk = (int)((K + BK - 1) / BK);
	int64_t Mgrid = M; /* positions the grid's x dimension covers */
#if PHASED
	/* Each phase's slot holds as many slices as the phase with the most
	 * taps needs; the grid covers the phase with the most positions. */
	{
		int64_t Kmax = 0, Mmax = 0;
		for (int ph = 0; ph < NPHASE; ph++) {
			conv_phase_axis pd, phh, pw;
			conv_phase_axes(ph, (int)KD, (int)KH, (int)KW, (int)Do, (int)Ho, (int)Wo, &pd, &phh, &pw);
			int64_t Kp = Cgp * pd.ntap * phh.ntap * pw.ntap, Mp = N * pd.nout * phh.nout * pw.nout;
			Kmax = Kp > Kmax ? Kp : Kmax;
			Mmax = Mp > Mmax ? Mp : Mmax;
		}
		nk = (int)((Kmax + BK - 1) / BK);
		Mgrid = Mmax;
	}
#endif
	int nkb = nk * (BK / 8); /* k8 blocks up to the padded K the slices read */
	int nnb = (int)((Coutg + 7) / 8); /* per group */
	size_t wsp_floats = (size_t)NPHASE * CONV_GROUPS * nkb * nnb * 32 * FR;
	float *wsp = NULL, *xc = NULL;
	kb_keep_pool_mapped();
	if (cudaMallocAsync((void **)&wsp, wsp_floats * sizeof(float), st) != cudaSuccess)
		return KB_ERR_LAUNCH;
	int rc = KB_OK;
#if CLAST
	if (cudaMallocAsync((void **)&xc, (size_t)(N * S * ctot) * sizeof(float), st) != cudaSuccess) {
		rc = KB_ERR_LAUNCH;
		goto out;
	}
	conv_prep_input<<<dim3((unsigned)((S + PREP_P - 1) / PREP_P), (unsigned)((ctot + 31) / 32),
			       (unsigned)(N < 65535 ? N : 65535)), 256, 0, st>>>(
		(const float *)x->data, xc, (int)N, (int)Cg, (int)Cgp, (int)S);
	if (cudaGetLastError() != cudaSuccess) {
		rc = KB_ERR_LAUNCH;
		goto out;
	}
#endif
	{
		int64_t th = (int64_t)CONV_GROUPS * nkb * nnb * 32;
		int64_t blocks = (th + 255) / 256;
#if PHASED
		if (nkb > 0)
			conv_prep_phase_weights<<<dim3((unsigned)(blocks < 65536 ? blocks : 65536), NPHASE), 256, 0, st>>>(
				(const float *)w->data, wsp, (int)Cg, (int)Cgp, (int)Coutg, (int)KD, (int)KH, (int)KW, nkb, nnb);
#else
		conv_prep_weights<<<(unsigned)(blocks < 65536 ? blocks : 65536), 256, 0, st>>>(
			(const float *)w->data, wsp, (int)Cg, (int)Cgp, (int)Coutg, (int)K, nkb, nnb, (int)T);
#endif
		if (cudaGetLastError() != cudaSuccess) {
			rc = KB_ERR_LAUNCH;
			goto out;
		}
	}
#if POOL > 0
	if (cudaMemsetAsync(y->data, 0xff, (size_t)kb_numel(y) * sizeof(float), st) != cudaSuccess) {
		rc = KB_ERR_LAUNCH;
		goto out;
	}
#endif
	{
		conv_args a;
		a.x = CLAST ? xc : (const float *)x->data;
		a.wsp = wsp;
		a.bias = b ? (const float *)b->data : NULL;
		a.y = (float *)y->data;
		a.Cin = (int)Cin;
		a.H = (int)H;
		a.W = (int)W;
		a.Cout = (int)Cout;
		a.KH = (int)KH;
		a.KW = (int)KW;
		a.Ho = (int)Ho;
		a.Wo = (int)Wo;
		a.Po = (int)Po;
		a.Qo = (int)Qo;
		a.M = (int)M;
		a.K = (int)K;
		a.nk = nk;
		a.nnb = nnb;
		int tpg = (int)((Coutg + BN - 1) / BN); /* channel tiles per group */
		a.ntiles = CONV_GROUPS * tpg;
#if CLAST
		a.Cgp = (int)Cgp;
		a.ctot = (int)ctot;
#endif
#if CONV_DIMS == 3
		a.D = (int)D;
		a.KD = (int)KD;
		a.Do = (int)Do;
#endif
		conv_bk_digits(a);
#if CONV_GROUPS > 1
		a.Cg = (int)Cg;
		a.Coutg = (int)Coutg;
		a.tpg = tpg;
#endif
#if CONV_TRANSPOSED && !TGATHER
		a.pad_d = (int)(DIL_D * (KD - 1) - PAD_D);
		a.pad_h = (int)(DIL_H * (KH - 1) - PAD_H);
		a.pad_w = (int)(DIL_W * (KW - 1) - PAD_W);
#endif
#if TDIV
		a.DS = (int)(D * STRIDE_D);
		a.HS = (int)(H * STRIDE_H);
		a.WS = (int)(W * STRIDE_W);
#endif
#if PHASED
		a.N = (int)N;
		a.KDf = (int)KD;
		a.KHf = (int)KH;
		a.KWf = (int)KW;
		a.Dof = (int)Do;
		a.Hof = (int)Ho;
		a.Wof = (int)Wo;
		a.nkg = nk;
#endif
#if ATMA
		/* The patch: bw (a power of two, TBM down to 8) covering Wo x Ho
		 * with the fewest positions past them, a narrower one only where it
		 * saves 2% (wider boxes, fewer rows). */
		int bw = TBM;
		int64_t cover_best = -1;
		for (int c = TBM; c >= 8; c /= 2) {
			const int64_t r = TBM / c, cover = (Wo + c - 1) / c * c * ((Ho + r - 1) / r * r);
			if (cover_best < 0 || cover * 50 < cover_best * 49) {
				cover_best = cover;
				bw = c;
			}
		}
		a.bw = bw;
		a.bh = TBM / bw;
		for (a.lbw = 0; (1 << a.lbw) < bw; a.lbw++)
			;
		a.tw = (int)((Wo + bw - 1) / bw);
		a.th = (int)((Ho + a.bh - 1) / a.bh);
		a.cpt = (int)(Cgp / 32);
		Mgrid = N * Do * a.th * a.tw * TBM; /* a patch a block */
		if (Mgrid > lim) {
			rc = KB_ERR_SHAPE;
			goto out;
		}
		CUtensorMap tmA, tmB;
		const kb_encode_tiled_fn enc = kb_tensor_map_encoder();
		if (!enc) {
			rc = KB_ERR_LAUNCH;
			goto out;
		}
		{
			/* x channels-last as bf16 (2*ctot, W, H, D, N); boxes (64, bw, bh, 1, 1) */
			const cuuint64_t dims[5] = { (cuuint64_t)(2 * ctot), (cuuint64_t)W, (cuuint64_t)H, (cuuint64_t)D,
						     (cuuint64_t)N };
			const cuuint64_t pitch[4] = { (cuuint64_t)(4 * ctot), (cuuint64_t)(4 * ctot * W),
						      (cuuint64_t)(4 * ctot * W * H), (cuuint64_t)(4 * ctot * S) };
			const cuuint32_t box[5] = { 64, (cuuint32_t)bw, (cuuint32_t)a.bh, 1, 1 };
			const cuuint32_t one[5] = { 1, 1, 1, 1, 1 };
			/* the prepared weights as bf16 (64, nnb*8 rows, groups * slices); boxes (64, BN, 1) */
			const cuuint64_t wdims[3] = { 64, (cuuint64_t)nnb * 8, (cuuint64_t)CONV_GROUPS * nk };
			const cuuint64_t wpitch[2] = { 128, (cuuint64_t)nnb * 8 * 128 };
			const cuuint32_t wbox[3] = { 64, BN, 1 };
			if (enc(&tmA, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 5, xc, dims, pitch, box, one,
				CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
				CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) != CUDA_SUCCESS ||
			    enc(&tmB, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, wsp, wdims, wpitch, wbox, one,
				CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
				CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) != CUDA_SUCCESS) {
				rc = KB_ERR_LAUNCH;
				goto out;
			}
		}
#endif
		int64_t grid = ((Mgrid + TBM - 1) / TBM) * a.ntiles;
		if (grid > INT32_MAX) {
			rc = KB_ERR_SHAPE;
			goto out;
		}
#if ATMA
		conv_igemm_kernel<<<dim3((unsigned)grid, NPHASE), NTHREADS, SMEM_BYTES, st>>>(a, tmA, tmB);
#else
		conv_igemm_kernel<<<dim3((unsigned)grid, NPHASE), NTHREADS, SMEM_BYTES, st>>>(a);
#endif
		if (cudaGetLastError() != cudaSuccess)
			rc = KB_ERR_LAUNCH;
	}
out:
	if (cudaFreeAsync(wsp, st) != cudaSuccess && rc == KB_OK)
		rc = KB_ERR_LAUNCH;
	if (xc && cudaFreeAsync(xc, st) != cudaSuccess && rc == KB_OK)
		rc = KB_ERR_LAUNCH;
	return rc;
}
