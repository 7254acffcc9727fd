#!/bin/bash
# tests/bridge/test_pool.sh [PYTHON] - the pooling template on real graphs:
# for scaled-down copies of KernelBench level 1's pools
# ($KBREED_KERNELBENCH/level1: max and average, 1-D to 3-D) and the
# odd-shaped pools of tests/data (odd_pool_*.py: dilation, ceil mode,
# count_include_pad off, divisor_override, max's indices, fp16, bf16, an
# unbatched input, stride 1 on aligned rows, rows wide enough for the
# block-per-row kernel, in fp16 and fp32), recognition writes the POOL_*
# defines and POOL_OP, `kbreed template pool_nd --for` realises them, and
# nvcc compiles them at the defaults and at the knob extremes, ROWS=2's
# tile heights too (sm_90a; not in the sanitizer run).
# Graphs the template does not compute (a pool and a relu, the indices
# alone, a flattened result, a transposed input) get no POOL_OP and are
# refused; a dry run's round 0 holds pool_nd for a pool and not for the
# others; a run on the fake GPU proposes the catalogue's pool-* ideas and
# their kernels are pool_nd's.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

# The problems: level 1's pools (scaled down) where present, and the
# odd-shaped ones of tests/data.
level1_copies $(cd "$bench/level1" 2>/dev/null && ls *_Pooling_*.py 2>/dev/null | sed 's/\.py$//')
cp tests/data/odd_pool_*.py "$tmp/p/"
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 pools, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: recognised with POOL_OP; realised at the defaults; the odd ones
# also at every knob's lowest and highest values.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^#define POOL_OP POOL_OP_\(MAX\|AVG\)$' "$tmp/$name.desc"; then ok "$name: recognised with POOL_OP"
	else not_ok "$name: recognised with POOL_OP" "$(cat "$tmp/$name.desc")"; fi
	realise pool_nd "$f" default
	"$K" -q template reduce_dim --for "$f" >/dev/null 2>&1 &&
		not_ok "$name: reduce_dim is not offered to a pool"
	case $name in
	odd_*)
		realise pool_nd "$f" low THREADS=64 OPT=1 WINDOW=0 VEC=1 STREAM=0 ROWS=0
		realise pool_nd "$f" high THREADS=1024 OPT=8 WINDOW=1 VEC=4 STREAM=1 ROWS=1
		realise pool_nd "$f" slab-low ROWS=2 TILE_H=4 THREADS=64 VEC=1
		realise pool_nd "$f" slab-high ROWS=2 TILE_H=32 THREADS=1024 VEC=4 ;;
	esac
done

# The defines say what each graph computes.
want odd_pool_max1d "POOL_OP POOL_OP_MAX" "POOL_W 5" "POOL_STRIDE_W 2" "POOL_PAD_W 2" "POOL_DIL_W 3" "POOL_CEIL 1"
want odd_pool_max1d_wide "POOL_OP POOL_OP_MAX" "POOL_W 7" "POOL_STRIDE_W 1" "POOL_PAD_W 3" "POOL_DIL_W 2" "POOL_CEIL 0"
want odd_pool_max2d_fp16 "POOL_OP POOL_OP_MAX" "POOL_H 3" "POOL_W 4" "POOL_STRIDE_H 2" "POOL_STRIDE_W 3" \
	"POOL_PAD_H 1" "POOL_PAD_W 2" "POOL_DIL_H 2" "POOL_DIL_W 1"
want odd_pool_max3d_indices "POOL_OP POOL_OP_MAX" "POOL_D 3" "POOL_STRIDE_D 2" "POOL_CEIL 0" "POOL_INDICES 1"
lacks odd_pool_max3d_nan POOL_INDICES
want odd_pool_avg1d "POOL_OP POOL_OP_AVG" "POOL_W 4" "POOL_STRIDE_W 3" "POOL_COUNT_PAD 0" "POOL_CEIL 1"
want odd_pool_avg2d_bf16 "POOL_OP POOL_OP_AVG" "POOL_H 5" "POOL_W 5" "POOL_COUNT_PAD 1"
want odd_pool_avg2d_unbatched "POOL_OP POOL_OP_AVG" "POOL_H 3" "POOL_W 3" "POOL_COUNT_PAD 0"
want odd_pool_avg3d_divisor "POOL_OP POOL_OP_AVG" "POOL_D 2" "POOL_H 3" "POOL_STRIDE_D 1" "POOL_PAD_W 0" "POOL_DIVISOR 7"
want odd_pool_avg2d_rows_fp16 "POOL_OP POOL_OP_AVG" "POOL_H 3" "POOL_W 5" "POOL_STRIDE_H 2" "POOL_STRIDE_W 3" "POOL_CEIL 1"
want odd_pool_max3d_rows "POOL_OP POOL_OP_MAX" "POOL_D 2" "POOL_H 3" "POOL_W 3" "POOL_STRIDE_W 3" "POOL_DIL_H 2"
want odd_pool_max3d_nan "POOL_OP POOL_OP_MAX" "POOL_D 3" "POOL_H 3" "POOL_W 3" "POOL_STRIDE_W 2" "POOL_DIL_W 2" "POOL_PAD_D 1"
# stride=None is the window.
want 45_Average_Pooling_2D "POOL_OP POOL_OP_AVG" "POOL_STRIDE_H 11" "POOL_STRIDE_W 11"
want 41_Max_Pooling_1D "POOL_OP POOL_OP_MAX" "POOL_DIL_W 3"
# The pooled dims: the op's (1-D pools are traced as 2-D ones over an
# unsqueezed input), whatever the input's rank.
for p in odd_pool_max1d odd_pool_max1d_wide odd_pool_avg1d odd_pool_avg2d_unbatched; do
	case $p in
	*1d) axes='[DH]' ;;
	*) axes=D ;;
	esac
	grep -q "^#define POOL_$axes " "$tmp/$p.desc" && not_ok "$p: no POOL_$axes" "$(grep '^#define' "$tmp/$p.desc")" ||
		ok "$p: no POOL_$axes"
done
compile_realisations

# Graphs the template does not compute, each from odd_pool_max3d_indices.py
# with another forward: refused by `template --for`, and no POOL_OP written.
variant() { # name, forward expression
	sed "s|return self.pool(x)|return $2|" tests/data/odd_pool_max3d_indices.py >"$tmp/$1.py"
}
variant with_relu "torch.relu(self.pool(x)[0])"
variant indices_only "self.pool(x)[1]"
variant flattened "self.pool(x)[0].flatten(1)"
variant transposed "self.pool(x.transpose(3, 4))[0]"
variant values_only "self.pool(x)[0]"
for name in with_relu indices_only flattened transposed; do
	describe "$tmp/$name.py"
	grep -q POOL_OP "$tmp/$name.desc" && not_ok "$name: no POOL_OP" "$(cat "$tmp/$name.desc")"
	refused pool_nd "$tmp/$name.py"
done
describe "$tmp/values_only.py"
want values_only "POOL_OP POOL_OP_MAX" "POOL_D 3"
lacks values_only POOL_INDICES

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
for f in "$tmp"/p/odd_pool_avg1d.py "$tmp"/p/odd_pool_max3d_indices.py "$tmp"/p/odd_pool_max3d_nan.py \
	"$tmp/with_relu.py" "$tmp/indices_only.py"; do
	name=$(basename "$f" .py)
	# ROWS=2 has no start line (measured slower than ROWS=0 on level 1's
	# 3-D pools: bench/device-2026-12-06j-h100.md); an idea offers it. A
	# 3-D pool without indices also holds the sm_90a start line (ROWS=0),
	# not with indices (every ROWS is then the indexed kernel) nor on
	# another target.
	case $name in
	with_relu | indices_only) w=0 ;;
	odd_pool_max3d_nan) w=2 ;;
	*) w=1 ;;
	esac
	round0_holds pool_nd "$f" "$w"
done
round0_holds pool_nd "$tmp"/p/odd_pool_max3d_nan.py 1 --arch sm_80

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's pool-* ideas, and their kernels are pool_nd's.
fake_gpu_proposes "$tmp/p/odd_pool_avg2d_unbatched.py" pool- pool_nd
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
