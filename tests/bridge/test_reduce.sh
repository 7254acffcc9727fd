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
	"$K" -q describe "$f" >"$tmp/$name.desc" 2>&1
	if grep -q '^#define KB_RED_OP KB_RED_' "$tmp/$name.desc"; then ok "$name: recognised with KB_RED_OP"
	else not_ok "$name: recognised with KB_RED_OP" "$(cat "$tmp/$name.desc")"; fi
	"$K" -q template reduce_dim --for "$f" >"$tmp/src/$name--default.cu" 2>"$tmp/err" ||
		not_ok "$name: reduce_dim realised" "$(cat "$tmp/err")"
	"$K" -q template pointwise_vec --for "$f" >/dev/null 2>&1 &&
		not_ok "$name: pointwise_vec is not offered to a reduction"
	case $name in
	odd_*)
		"$K" -q template reduce_dim --for "$f" THREADS=64 VEC=1 PER_ROW=1 SPLIT=1 UNROLL=1 STREAM=0 \
			>"$tmp/src/$name--low.cu" 2>>"$tmp/err"
		"$K" -q template reduce_dim --for "$f" THREADS=1024 VEC=4 PER_ROW=2 SPLIT=32 UNROLL=8 STREAM=1 \
			>"$tmp/src/$name--high.cu" 2>>"$tmp/err" ;;
	esac
done

# The defines say what each graph computes.
want() { # problem, then the define lines it must have
	p=$1
	shift
	for d in "$@"; do
		grep -qx "#define $d" "$tmp/$p.desc" || { not_ok "$p: #define $d" "$(grep '^#define' "$tmp/$p.desc")"; return; }
	done
	ok "$p: $*"
}
want odd_reduce_sum_inner "KB_RED_OP KB_RED_SUM" "KB_RED_RANK 3" "KB_RED_DIM 2" "KB_RED_KEEPDIM 1" "KB_RED_INNERMOST 1"
want odd_reduce_mean_strided "KB_RED_OP KB_RED_MEAN" "KB_RED_DIM 1" "KB_RED_NDIMS 1" "KB_RED_KEEPDIM 0"
want odd_reduce_max_fp16 "KB_RED_OP KB_RED_MAX" "KB_RED_DIM 1"
want odd_reduce_min_dims "KB_RED_OP KB_RED_MIN" "KB_RED_RANK 4" "KB_RED_DIM 1" "KB_RED_NDIMS 2"
want odd_reduce_prod "KB_RED_OP KB_RED_PROD" "KB_RED_DIM 0" "KB_RED_RANK 2"
want odd_reduce_argmax_bf16 "KB_RED_OP KB_RED_ARGMAX" "KB_RED_DIM 1" "KB_RED_INNERMOST 1"
want odd_reduce_argmin "KB_RED_OP KB_RED_ARGMIN" "KB_RED_KEEPDIM 1"
grep -q '^#define KB_RED_INNERMOST' "$tmp/odd_reduce_mean_strided.desc" &&
	not_ok "odd_reduce_mean_strided: a strided axis is not KB_RED_INNERMOST" || ok "odd_reduce_mean_strided: a strided axis is not KB_RED_INNERMOST"
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
	"$K" -q describe "$tmp/$name.py" >"$tmp/$name.desc" 2>&1
	grep -q KB_RED_OP "$tmp/$name.desc" && not_ok "$name: no KB_RED_OP" "$(cat "$tmp/$name.desc")"
	"$K" -q template reduce_dim --for "$tmp/$name.py" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "does not serve" "$tmp/err" && ok "$name: reduce_dim refused by template --for" ||
		not_ok "$name: reduce_dim refused by template --for (exit $rc)" "$(cat "$tmp/err")"
done
"$K" -q describe "$tmp/max_indices.py" >"$tmp/max_indices.desc" 2>&1
want max_indices "KB_RED_OP KB_RED_ARGMAX" "KB_RED_KEEPDIM 0"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
for f in "$tmp"/p/odd_reduce_prod.py "$tmp"/p/odd_reduce_argmax_bf16.py "$tmp/all_dims.py" "$tmp/softmax.py"; do
	name=$(basename "$f" .py)
	case $name in
	all_dims | softmax) w=0 ;;
	*) w=1 ;;
	esac
	round0_holds reduce_dim "$f" "$w"
done

# A run on the fake GPU (every candidate correct, times from a hash of its
# name; references from the CPU, PyTorch's timings canned): the rounds after 0 propose the catalogue's reduce-* ideas, the
# row ones only where the reduced axis is innermost, splitting R only where
# it is strided, and their kernels are reduce_dim's.
export KBREED_WORKER=$B/tests/fake_worker KBREED_FAKE_SEARCH=1 KBREED_FAKE_GPU=1
export KBREED_FAKE_PYTHON_REAL=$KBREED_PYTHON KBREED_PYTHON=$root/tests/unit/fake_python.sh
for name in odd_reduce_sum_inner odd_reduce_mean_strided; do
	"$K" -q run "$tmp/p/$name.py" --rounds 3 --ideas 4 --impls 2 --reps 20 --db "$tmp/run-$name.db" \
		--out "$tmp/run-$name" >/dev/null 2>"$tmp/err"
	rc=$?
	ideas=$(sqlite3 "$tmp/run-$name.db" "SELECT DISTINCT catalog_id FROM ideas" 2>&1 | tr '\n' ' ')
	n_red=$(sqlite3 "$tmp/run-$name.db" "SELECT count(*) FROM ideas WHERE catalog_id LIKE 'reduce-%'" 2>&1)
	n_tpl=$(sqlite3 "$tmp/run-$name.db" "SELECT count(*) FROM candidates WHERE round > 0 AND template = 'reduce_dim'" 2>&1)
	[ $rc -eq 0 ] && [ "${n_red:-0}" -ge 2 ] && [ "${n_tpl:-0}" -ge 4 ] &&
		ok "$name: a fake-GPU run proposes reduce-* ideas ($n_red) and reduce_dim kernels ($n_tpl)" ||
		not_ok "$name: a fake-GPU run proposes reduce-* ideas and reduce_dim kernels (exit $rc, $n_red, $n_tpl)" "$ideas $(tail -5 "$tmp/err")"
	case $name in
	*inner) bad=reduce-split-r ;;
	*) bad="reduce-warp-per-row reduce-block-per-row" ;;
	esac
	hit=""
	for b in $bad; do
		case " $ideas " in *" $b "*) hit="$hit $b" ;; esac
	done
	[ -z "$hit" ] && ok "$name: none of $bad proposed" || not_ok "$name: none of $bad proposed" "$ideas"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
