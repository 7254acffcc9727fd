#!/bin/bash
# tests/bridge/test_reduce.sh [PYTHON] - the reduction template on real
# graphs: for scaled-down copies of KernelBench level 1's reductions
# ($KBREED_KERNELBENCH/level1: sum, mean, max, min, prod, argmax, argmin over
# a dim) and the odd-shaped reductions of tests/data (odd_reduce_*.py),
# recognition writes KB_RED_* defines, `kbreed template reduce_dim --for`
# realises them, and nvcc compiles them at the defaults and at the knob
# extremes (sm_90a; not in the sanitizer run). Graphs the template does not
# compute (all dims, dims apart, both results of max.dim, a dtype= cast, a
# softmax) get no KB_RED_OP and are refused; a dry run's round 0 holds
# reduce_dim for a reduction and not for the others; a run on the fake GPU
# proposes ideas of the catalogue's reduce-* family, the row ones for a
# reduced axis that is innermost and the column ones for a strided one.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

# The problems: level 1's reductions (scaled down) where present, and the
# odd-shaped ones of tests/data.
level1_copies $(cd "$bench/level1" 2>/dev/null && ls *_reduction_over_a_dimension.py *_Arg*_over_a_dimension.py 2>/dev/null | sed 's/\.py$//')
cp tests/data/odd_reduce_*.py "$tmp/p/"
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 reductions, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: recognised with KB_RED_OP; realised at the defaults; the odd ones
# also at every knob's lowest and highest values.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^#define KB_RED_OP KB_RED_' "$tmp/$name.desc"; then ok "$name: recognised with KB_RED_OP"
	else not_ok "$name: recognised with KB_RED_OP" "$(cat "$tmp/$name.desc")"; fi
	realise reduce_dim "$f" default
	"$K" -q template pointwise_vec --for "$f" >/dev/null 2>&1 &&
		not_ok "$name: pointwise_vec is not offered to a reduction"
	case $name in
	odd_*)
		realise reduce_dim "$f" low THREADS=64 VEC=1 PER_ROW=1 SPLIT=1 UNROLL=1 STREAM=0
		realise reduce_dim "$f" high THREADS=1024 VEC=4 PER_ROW=2 SPLIT=32 UNROLL=8 STREAM=1 ;;
	esac
done

# The defines say what each graph computes.
want odd_reduce_sum_inner "KB_RED_OP KB_RED_SUM" "KB_RED_RANK 3" "KB_RED_DIM 2" "KB_RED_KEEPDIM 1" "KB_RED_INNERMOST 1"
want odd_reduce_mean_strided "KB_RED_OP KB_RED_MEAN" "KB_RED_DIM 1" "KB_RED_NDIMS 1" "KB_RED_KEEPDIM 0"
want odd_reduce_max_fp16 "KB_RED_OP KB_RED_MAX" "KB_RED_DIM 1"
want odd_reduce_min_dims "KB_RED_OP KB_RED_MIN" "KB_RED_RANK 4" "KB_RED_DIM 1" "KB_RED_NDIMS 2"
want odd_reduce_min_nan "KB_RED_OP KB_RED_MIN" "KB_RED_DIM 2" "KB_RED_INNERMOST 1"
want odd_reduce_prod "KB_RED_OP KB_RED_PROD" "KB_RED_DIM 0" "KB_RED_RANK 2"
want odd_reduce_argmax_bf16 "KB_RED_OP KB_RED_ARGMAX" "KB_RED_DIM 1" "KB_RED_INNERMOST 1"
want odd_reduce_argmin "KB_RED_OP KB_RED_ARGMIN" "KB_RED_KEEPDIM 1"
# A strided axis is not KB_RED_INNERMOST.
lacks odd_reduce_mean_strided KB_RED_INNERMOST
# A problem of fp32 tensors only leaves fp16 and bf16 out of every compile
# (templates/common/dtype.cuh); one with a half-precision tensor keeps them.
want odd_reduce_mean_strided "KB_F32_ONLY 1"
lacks odd_reduce_max_fp16 KB_F32_ONLY
lacks odd_reduce_argmax_bf16 KB_F32_ONLY
compile_realisations

# Graphs the template does not compute, each from odd_reduce_argmin.py with
# another forward: refused by `template --for`, and no KB_RED_OP written.
# torch.max(x, dim)[1] is an argmax, and gets one.
variant() { # name, forward expression
	sed "s|return torch.argmin(x, dim=1, keepdim=True)|return $2|" tests/data/odd_reduce_argmin.py >"$tmp/$1.py"
}
variant all_dims "torch.sum(x)"
variant dims_apart "torch.sum(x, dim=(0, 2))"
variant both_results "torch.max(x, dim=1)"
variant cast "torch.sum(x, dim=1, dtype=torch.float64)"
variant softmax "torch.softmax(x, dim=1)"
variant max_indices "torch.max(x, dim=1)[1]"
for name in all_dims dims_apart both_results cast softmax; do
	describe "$tmp/$name.py"
	grep -q KB_RED_OP "$tmp/$name.desc" && not_ok "$name: no KB_RED_OP" "$(cat "$tmp/$name.desc")"
	refused reduce_dim "$tmp/$name.py"
done
describe "$tmp/max_indices.py"
want max_indices "KB_RED_OP KB_RED_ARGMAX" "KB_RED_KEEPDIM 0"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
# Strided ones also start from the start line (!KB_RED_INNERMOST).
for f in "$tmp"/p/odd_reduce_prod.py "$tmp"/p/odd_reduce_argmax_bf16.py "$tmp"/p/odd_reduce_mean_strided.py \
	"$tmp/all_dims.py" "$tmp/softmax.py"; do
	name=$(basename "$f" .py)
	case $name in
	all_dims | softmax) w=0 ;;
	odd_reduce_prod | odd_reduce_mean_strided) w=2 ;;
	*) w=1 ;;
	esac
	round0_holds reduce_dim "$f" "$w"
done

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's reduce-* ideas, the row ones only where the reduced axis is
# innermost, splitting R only where it is strided, and their kernels are
# reduce_dim's.
fake_gpu_proposes "$tmp/p/odd_reduce_sum_inner.py" reduce- reduce_dim
run_has_no_idea reduce-split-r
fake_gpu_proposes "$tmp/p/odd_reduce_mean_strided.py" reduce- reduce_dim
run_has_no_idea reduce-warp-per-row reduce-block-per-row
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
