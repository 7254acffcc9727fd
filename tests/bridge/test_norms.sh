#!/bin/bash
# tests/bridge/test_norms.sh [PYTHON] - the group-statistics and row-norm
# templates on real graphs: for KernelBench-form problems (tests/data/kb_*.py:
# BatchNorm2d, InstanceNorm2d, GroupNorm, L1 and L2 norm over dim 1; and
# scaled-down copies of level 1's where present) and the odd-shaped ones
# (odd_batchnorm*, odd_instancenorm*, odd_groupnorm*, odd_l1norm*,
# odd_l2norm*, odd_layernorm*), recognition names the op and writes the
# defines the templates read (NORM_INSTANCE, NORM_GROUPS, NORM_TRAINING,
# NORM_ROW_P); `kbreed template norm_groups|rownorm|layernorm_row|layernorm_split
# --for` realises them and nvcc compiles them at the defaults and at every
# knob's extremes (sm_90a; not in the sanitizer run). Row norms that are not exactly x / ||x|| over one dim
# with keepdim (an eps, F.normalize's clamp, a mean, no keepdim) get no
# NORM_ROW_P and are refused by rownorm; a dry run's round 0 holds each
# template where it serves.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies 33_BatchNorm 34_InstanceNorm 35_GroupNorm_ 38_L1Norm_ 39_L2Norm_
cp tests/data/kb_*norm.py tests/data/odd_batchnorm*.py tests/data/odd_instancenorm*.py \
	tests/data/odd_groupnorm*.py tests/data/odd_l1norm*.py tests/data/odd_l2norm*.py \
	tests/data/odd_layernorm*.py "$tmp/p/"

# Each: its op and the defines that must be there (NAME VALUE, or NAME with
# any value) and must not (-NAME) (want_op); the template realised at the
# defaults with no warning, and the odd ones at every knob's extremes.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	case $name in
	*batchnorm_eval) op=batchnorm tpl=norm_groups && set -- "NORM_TRAINING 0" -NORM_INSTANCE -NORM_GROUPS ;;
	*BatchNorm* | *batchnorm*) op=batchnorm tpl=norm_groups && set -- "NORM_TRAINING 1" -NORM_INSTANCE -NORM_GROUPS ;;
	*InstanceNorm* | *instancenorm*) op=instancenorm tpl=norm_groups && set -- NORM_INSTANCE "NORM_TRAINING 1" -NORM_GROUPS ;;
	*GroupNorm* | *groupnorm*) op=groupnorm tpl=norm_groups && set -- NORM_GROUPS -NORM_INSTANCE ;;
	*L1Norm* | *l1norm*) op=l1norm tpl=rownorm && set -- "NORM_ROW_P 1" NORM_DIM ;;
	*L2Norm* | *l2norm*) op=l2norm tpl=rownorm && set -- "NORM_ROW_P 2" NORM_DIM ;;
	*layernorm*) op=layernorm tpl=layernorm_row && set -- ;;
	*) not_ok "$name: a norm this test knows"; continue ;;
	esac
	describe "$f"
	want_op "$name" $op "$@"
	if realise "$tpl" "$f" default; then
		grep -q . "$tmp/err" && not_ok "$name: $tpl realised, with no warning" "$(cat "$tmp/err")" || ok "$name: $tpl realised"
	fi
	case $name in
	odd_batchnorm | odd_batchnorm_eval | odd_instancenorm | odd_groupnorm)
		realise norm_groups "$f" low THREADS=128 VEC=1 SPLIT=1 STATS=0 UNROLL=1 STREAM=0
		realise norm_groups "$f" high THREADS=512 VEC=4 SPLIT=64 STATS=2 UNROLL=4 STREAM=1
		realise norm_groups "$f" mid STATS=1 VEC=2 ;;
	odd_l1norm | odd_l2norm)
		realise rownorm "$f" low THREADS=128 VEC=1 PER_ROW=1 CACHE=0 STREAM=0
		realise rownorm "$f" high THREADS=1024 VEC=4 PER_ROW=2 CACHE=16 STREAM=1
		realise rownorm "$f" mid PER_ROW=0 VEC=2 CACHE=4 ;;
	odd_layernorm | odd_layernorm_vec | odd_layernorm_wide)
		realise layernorm_row "$f" low THREADS=256 VEC=1 BLOCKS_PER_ROW=64 ROWS_PER_LAUNCH=1
		realise layernorm_row "$f" high THREADS=1024 VEC=4 BLOCKS_PER_ROW=1024 ROWS_PER_LAUNCH=2
		realise layernorm_split "$f" split
		realise layernorm_split "$f" split-low THREADS=256 VEC=1 BLOCKS_PER_SM=1 SMEM_CACHE=0 HINTS=0 UNROLL=1 ROWS=1
		realise layernorm_split "$f" split-high THREADS=1024 VEC=4 BLOCKS_PER_SM=4 SMEM_CACHE=1 HINTS=2 UNROLL=4 ROWS=2
		realise layernorm_split "$f" split-two ROWS=2 HINTS=2 UNROLL=1 ;;
	esac
done
compile_realisations

# Not exactly x / ||x|| over one dim, keepdim: each from odd_l1norm.py or
# odd_l2norm.py with another forward.
variant() { # name, source, forward's return expression
	sed -e "s|^        return x / .*|        return $3|" "tests/data/$2.py" >"$tmp/$1.py"
}
variant l1_eps odd_l1norm "x / (torch.sum(torch.abs(x), dim=1, keepdim=True) + 1e-6)"
variant l1_mean odd_l1norm "x / torch.mean(torch.abs(x), dim=1, keepdim=True)"
variant l2_normalize odd_l2norm "torch.nn.functional.normalize(x, p=2, dim=1)"
variant l2_nokeep odd_l2norm "x / torch.norm(x, p=2, dim=0)"
for name in l1_eps l1_mean l2_normalize l2_nokeep; do
	describe "$tmp/$name.py"
	grep -q NORM_ROW_P "$tmp/$name.desc" && not_ok "$name: no NORM_ROW_P" "$(cat "$tmp/$name.desc")" ||
		ok "$name: no NORM_ROW_P ($(sed -n 's/^family *\(.*\)/\1/p' "$tmp/$name.desc"))"
	refused rownorm "$tmp/$name.py"
done

export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds norm_groups "$tmp/p/odd_batchnorm.py" 1
round0_holds norm_groups "$tmp/p/odd_groupnorm.py" 1
round0_holds rownorm "$tmp/p/odd_l2norm.py" 1
round0_holds rownorm "$tmp/l1_eps.py" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
