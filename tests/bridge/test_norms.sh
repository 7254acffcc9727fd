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

# want NAME: the op and the defines that must (+) and must not (-) be there.
want() {
	case $1 in
	*batchnorm_eval) echo "batchnorm norm_groups +NORM_TRAINING_0 -NORM_INSTANCE -NORM_GROUPS" ;;
	*BatchNorm* | *batchnorm*) echo "batchnorm norm_groups +NORM_TRAINING_1 -NORM_INSTANCE -NORM_GROUPS" ;;
	*InstanceNorm* | *instancenorm*) echo "instancenorm norm_groups +NORM_INSTANCE +NORM_TRAINING_1 -NORM_GROUPS" ;;
	*GroupNorm* | *groupnorm*) echo "groupnorm norm_groups +NORM_GROUPS -NORM_INSTANCE" ;;
	*L1Norm* | *l1norm*) echo "l1norm rownorm +NORM_ROW_P_1 +NORM_DIM" ;;
	*L2Norm* | *l2norm*) echo "l2norm rownorm +NORM_ROW_P_2 +NORM_DIM" ;;
	*layernorm*) echo "layernorm layernorm_row" ;;
	esac
}
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	set -- $(want "$name")
	op=$1 tpl=$2
	shift 2
	"$K" -q describe "$f" >"$tmp/$name.desc" 2>&1
	bad=""
	grep -q "op $op " "$tmp/$name.desc" || bad="not op $op"
	for d in "$@"; do
		w=${d#?}
		case $d in
		+*_[0-9]) grep -qx "#define ${w%_*} ${w##*_}" "$tmp/$name.desc" || bad="$bad, no $w" ;;
		+*) grep -q "^#define $w " "$tmp/$name.desc" || bad="$bad, no $w" ;;
		-*) grep -q "^#define $w " "$tmp/$name.desc" && bad="$bad, $w" ;;
		esac
	done
	[ -z "$bad" ] && ok "$name: $op, $*" || not_ok "$name: $op, $* ($bad)" "$(head -8 "$tmp/$name.desc")"
	"$K" -q template "$tpl" --for "$f" >"$tmp/src/$name--default.cu" 2>"$tmp/err" &&
		! grep -q . "$tmp/err" && ok "$name: $tpl realised" ||
		not_ok "$name: $tpl realised, with no warning" "$(cat "$tmp/err")"
	case $name in
	odd_batchnorm | odd_batchnorm_eval | odd_instancenorm | odd_groupnorm)
		"$K" -q template norm_groups --for "$f" THREADS=128 VEC=1 SPLIT=1 STATS=0 UNROLL=1 STREAM=0 \
			>"$tmp/src/$name--low.cu" 2>>"$tmp/err"
		"$K" -q template norm_groups --for "$f" THREADS=512 VEC=4 SPLIT=64 STATS=2 UNROLL=4 STREAM=1 \
			>"$tmp/src/$name--high.cu" 2>>"$tmp/err"
		"$K" -q template norm_groups --for "$f" STATS=1 VEC=2 >"$tmp/src/$name--mid.cu" 2>>"$tmp/err" ;;
	odd_l1norm | odd_l2norm)
		"$K" -q template rownorm --for "$f" THREADS=128 VEC=1 PER_ROW=1 CACHE=0 STREAM=0 \
			>"$tmp/src/$name--low.cu" 2>>"$tmp/err"
		"$K" -q template rownorm --for "$f" THREADS=1024 VEC=4 PER_ROW=2 CACHE=16 STREAM=1 \
			>"$tmp/src/$name--high.cu" 2>>"$tmp/err"
		"$K" -q template rownorm --for "$f" PER_ROW=0 VEC=2 CACHE=4 >"$tmp/src/$name--mid.cu" 2>>"$tmp/err" ;;
	odd_layernorm | odd_layernorm_vec)
		"$K" -q template layernorm_row --for "$f" THREADS=256 VEC=1 BLOCKS_PER_ROW=64 ROWS_PER_LAUNCH=1 \
			>"$tmp/src/$name--low.cu" 2>>"$tmp/err"
		"$K" -q template layernorm_row --for "$f" THREADS=1024 VEC=4 BLOCKS_PER_ROW=1024 ROWS_PER_LAUNCH=2 \
			>"$tmp/src/$name--high.cu" 2>>"$tmp/err"
		"$K" -q template layernorm_split --for "$f" >"$tmp/src/$name--split.cu" 2>>"$tmp/err"
		"$K" -q template layernorm_split --for "$f" THREADS=256 VEC=1 BLOCKS_PER_SM=1 SMEM_CACHE=0 HINTS=0 \
			UNROLL=1 >"$tmp/src/$name--split-low.cu" 2>>"$tmp/err"
		"$K" -q template layernorm_split --for "$f" THREADS=1024 VEC=4 BLOCKS_PER_SM=4 SMEM_CACHE=1 HINTS=2 \
			UNROLL=4 >"$tmp/src/$name--split-high.cu" 2>>"$tmp/err" ;;
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
	"$K" -q describe "$tmp/$name.py" >"$tmp/$name.desc" 2>&1
	grep -q NORM_ROW_P "$tmp/$name.desc" && not_ok "$name: no NORM_ROW_P" "$(cat "$tmp/$name.desc")" ||
		ok "$name: no NORM_ROW_P ($(sed -n 's/^family *\(.*\)/\1/p' "$tmp/$name.desc"))"
	"$K" -q template rownorm --for "$tmp/$name.py" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "does not serve" "$tmp/err" && ok "$name: rownorm refused by template --for" ||
		not_ok "$name: rownorm refused by template --for (exit $rc)" "$(cat "$tmp/err")"
done

export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds norm_groups "$tmp/p/odd_batchnorm.py" 1
round0_holds norm_groups "$tmp/p/odd_groupnorm.py" 1
round0_holds rownorm "$tmp/p/odd_l2norm.py" 1
round0_holds rownorm "$tmp/l1_eps.py" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
