#!/bin/bash
# tests/bridge/test_softmax.sh [PYTHON] - the softmax templates on real
# graphs: for a scaled-down copy of KernelBench level 1's 23_Softmax and the
# softmax problems of tests/data (odd_softmax_*.py, odd_log_softmax*.py:
# log_softmax, softmax over a strided dim, over dim -1 of a 3-D tensor, rows
# too long for one SM's shared memory), recognition writes SOFTMAX_DIM,
# SOFTMAX_LOG for log_softmax and SOFTMAX_INNERMOST where the dim is
# innermost; `kbreed template --for` realises softmax_online for every one
# and softmax_cluster for the innermost ones only (refused for the strided
# ones), and nvcc compiles them at the defaults and at the knob extremes
# (sm_90a; not in the sanitizer run). A dry run's round 0 holds
# softmax_cluster only where the dim is innermost; a run on the fake GPU
# proposes the catalogue's softmax-cluster-* ideas for long rows and its
# softmax-strided-* ideas for a strided dim, never the other way round.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies 23_Softmax
cp tests/data/odd_softmax_*.py tests/data/odd_log_softmax*.py "$tmp/p/"
# Softmax over dim 1 of (3, 17, 1): nothing but an extent of 1 after the
# dim, so it is innermost all the same.
sed -e 's|torch.randn(3, 17, 5)|torch.randn(3, 17, 1)|' -e '/^KBREED_/d' tests/data/odd_softmax_3d.py \
	>"$tmp/p/odd_softmax_unit_tail.py"
echo "# $(ls "$tmp/p" | grep -vc '^odd_') level-1 softmax, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

innermost() { grep -qx "#define SOFTMAX_INNERMOST 1" "$tmp/$1.desc"; }

# Each: recognised (or declared) as softmax or log_softmax; softmax_online
# realised for all, softmax_cluster for the innermost ones, each at the
# defaults and, for the odd ones, at every knob's lowest and highest value.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	case $name in
	*log_softmax*) op=log_softmax ;;
	*) op=softmax ;;
	esac
	if grep -q "^family    softmax, op $op (" "$tmp/$name.desc"; then ok "$name: softmax family, op $op"
	else not_ok "$name: softmax family, op $op" "$(head -4 "$tmp/$name.desc")"; fi
	realise softmax_online "$f" online-default
	case $name in
	odd_*)
		realise softmax_online "$f" online-low THREADS=256 VEC=1 ONLINE=0 STREAM_STORES=0 \
			BLOCKS_PER_SM=0 SMEM_KB=0 SPLIT=1
		realise softmax_online "$f" online-high THREADS=1024 VEC=4 ONLINE=1 STREAM_STORES=1 \
			BLOCKS_PER_SM=2 SMEM_KB=200 SPLIT=8 ;;
	esac
	if innermost "$name"; then
		realise softmax_cluster "$f" cluster-default
		case $name in
		odd_*)
			realise softmax_cluster "$f" cluster-low CLUSTER=2 THREADS=256 VEC=1 STREAM=0
			realise softmax_cluster "$f" cluster-high CLUSTER=16 THREADS=1024 VEC=4 STREAM=1 BULK=1 CHUNKS=8 ;;
		esac
	elif grep -q "^#define SOFTMAX_DIM" "$tmp/$name.desc"; then
		# recognised, and strided: the cluster template is refused
		"$K" -q template softmax_cluster --for "$f" >/dev/null 2>"$tmp/err"
		rc=$?
		[ $rc -eq 2 ] && grep -q "its requires line is 'SOFTMAX_INNERMOST'" "$tmp/err" &&
			ok "$name: softmax_cluster refused (a strided dim)" ||
			not_ok "$name: softmax_cluster refused (exit $rc)" "$(cat "$tmp/err")"
	fi
done

# The defines say what each graph computes.
want odd_log_softmax "SOFTMAX_DIM 1" "SOFTMAX_LOG 1" "SOFTMAX_INNERMOST 1"
want odd_log_softmax_strided "SOFTMAX_DIM 1" "SOFTMAX_LOG 1"
lacks odd_log_softmax_strided SOFTMAX_INNERMOST
want odd_log_softmax_cluster "SOFTMAX_DIM -1" "SOFTMAX_LOG 1" "SOFTMAX_INNERMOST 1"
want odd_softmax_dim1_long "SOFTMAX_DIM 1"
lacks odd_softmax_dim1_long SOFTMAX_INNERMOST SOFTMAX_LOG
want odd_softmax_lastdim "SOFTMAX_DIM -1" "SOFTMAX_INNERMOST 1"
lacks odd_softmax_lastdim SOFTMAX_LOG
want odd_softmax_cluster "SOFTMAX_DIM 1" "SOFTMAX_INNERMOST 1"
want odd_softmax_cluster_vec "SOFTMAX_DIM 1" "SOFTMAX_INNERMOST 1"
want odd_softmax_cluster_rows "SOFTMAX_DIM 1" "SOFTMAX_INNERMOST 1"
want odd_softmax_unit_tail "SOFTMAX_DIM 1" "SOFTMAX_INNERMOST 1"
[ -f "$tmp/p/23_Softmax.py" ] && want 23_Softmax "SOFTMAX_DIM 1" "SOFTMAX_INNERMOST 1"
# The realisations carry them ahead of the template.
grep -qx "#define SOFTMAX_LOG 1" "$tmp/src/odd_log_softmax_cluster--cluster-default.cu" &&
	ok "odd_log_softmax_cluster: softmax_cluster realised with SOFTMAX_LOG 1" ||
	not_ok "odd_log_softmax_cluster: softmax_cluster realised with SOFTMAX_LOG 1"
compile_realisations

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds softmax_cluster "$tmp/p/odd_softmax_cluster.py" 1
round0_holds softmax_cluster "$tmp/p/odd_softmax_dim1_long.py" 0
round0_holds softmax_online "$tmp/p/odd_log_softmax_strided.py" 1

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose
# softmax-cluster-* ideas for long innermost rows and softmax-strided-* ones
# for a strided dim, and never the other family.
fake_gpu_proposes -i 1 "$tmp/p/odd_softmax_cluster.py" softmax-cluster-
run_has_no_idea 'softmax-strided-%'
fake_gpu_proposes -i 1 "$tmp/p/odd_softmax_dim1_long.py" softmax-strided-
run_has_no_idea 'softmax-cluster-%'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
