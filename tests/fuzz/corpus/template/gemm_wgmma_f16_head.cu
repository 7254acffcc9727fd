// kbreed-template: gemm_wgmma_f16
// family: matmul
// problems: matmul_fp16
// knob BN: 128 192 256 | default 256 | category memory access | block tile columns (of B and C) = the n of each wgmma (m64nBNk16)
// knob WG_M: 64 128 | default 64 | category compute | rows of C per consumer warpgroup (one or two m64 wgmma per k step); 128 runs as 64 unless BN is 128, so that a thread holds at most 128 fp32 accumulators
// knob CONSUMERS: 1 2 | default 2 | category parallelism | consumer warpgroups per block, stacked along M: the block tile is (CONSUMERS x WG_M) x BN and all consumers share each B stage
// knob STAGES: 3 4 5 6 | default 4 | category asynchronous | shared-memory stages of the TMA ring (A and B slices 64 deep in K); clamped to what fits in 227 KB
// knob GROUP: 1 8 16 | default 8 | category memory access | tile raster of the persistent loop: GROUP rows of tiles are swept column by column, so their A rows and the B columns in use stay in L2
// knob CLUSTER: 1 2 | default 1 | category memory access | blocks per thread-block cluster, on vertically adjacent tiles: with 2, each B slice is read from L2 once and multicast by TMA into both blocks' shared memory
/*
 * gemm_wgmma_f16.cu - C = A @ B on Hopper tensor cores with wgmma, operands
 * brought into shared memory by the tensor memory accelerator (TMA); fp16 in
 * and out, fp32 accumulation. Needs sm_90a (wgmma, setmaxnreg, TMA); on any
 * other GPU it returns KB_ERR_SHAPE.
 *
 * Layout (contiguous, row-major, fp16):
 *   in[0]  A  (..., M, K)   e.g. (4096, 4096); leading dims fold into M
 *   in[1]  B  (K, N)        e.g. (4096, 4096); N is the contiguous dim
 *   out[0] C  (..., M, N)
 *
 * Strategy. A persistent grid (one block per SM, held to one by asking for
 * more than half the SM's shared memory) walks the BM x BN tiles of C, BM =
 * CONSUMERS * WG_M. Blocks come in clusters of CLUSTER; a cluster takes a
 * unit of CLUSTER vertically adjacent tiles (same columns of B), block rank
 * r the r-th, and the clusters walk the units in a grouped raster (GROUP
 * rows of units column by column); a unit's tile below M is computed from
 * any valid rows of A and not stored. Each block is warp-specialised:
 * warpgroup 0 is the producer (it drops to 40 registers with setmaxnreg and
 * one thread issues all copies), warpgroups 1..CONSUMERS are consumers
 * (raised to 232 or 240 registers). For every tile and every 64-deep K
 * step, the producer waits until ring stage s is empty, announces the
 * stage's byte count on its "full" mbarrier and issues
 * cp.async.bulk.tensor copies: its own BM x 64 box of A, and the 64 x 64
 * boxes of B numbered j = rank (mod CLUSTER) among the BN/64 of the stage,
 * multicast to every block of the cluster (so each block's "full" barrier
 * counts bytes sent by all producers of the cluster). Each consumer waits on
 * "full", issues 4 k16 steps of wgmma.mma_async m64nBNk16 (twice each when
 * WG_M = 128) into fp32 accumulators held in registers, commits them as one
 * group, and once the previous step's group has completed
 * (wgmma.wait_group 1) each of its warps arrives on the previous stage's
 * "em