#!/bin/bash
# tests/bridge/test_matmul.sh [PYTHON] - matrix products on real graphs: for
# scaled-down copies of KernelBench level 1's products
# ($KBREED_KERNELBENCH/level1) and the odd-shaped ones of tests/data
# (odd_matmul_fp32_*.py: A.T, B.T, both, bmm, two batch dims, a 3-D and an
# einsum 4-D tensor times a matrix, triu and tril with an offset diagonal,
# a long K), recognition follows the views between the stored inputs and
# the product (src/views.c) and writes the op and TRANS_A, TRANS_B,
# MATMUL_TRI; `kbreed template gemm_wgmma_tf32 --for` realises each, and
# nvcc compiles them at the defaults and at the knob extremes (sm_90a; not
# in the sanitizer run). Products whose operands lie otherwise (swapped,
# sliced, broadcast by expand) are named matmul_other, and a dry run's
# round 0 holds gemm_wgmma_tf32 for the layouts it takes, not for those.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies $(cd "$bench/level1" 2>/dev/null && ls | sed -n 's/\.py$//p' | grep -E '^([0-9]|1[0-8])_')
cp tests/data/odd_matmul_fp32_*.py "$tmp/p/"
echo "# $(ls "$tmp/p" | grep -vc '^odd_') level-1 products, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: described; the layouts gemm_wgmma_tf32 serves are realised at the
# defaults, the odd ones also at every knob's lowest and highest values.
serves=" matmul_fp32 matmul_nt matmul_tn matmul_tt matmul_batched matmul_tensor3d matmul_tensor4d matmul_triu matmul_tril "
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	"$K" -q describe "$f" >"$tmp/$name.desc" 2>&1 || { not_ok "$name: described" "$(cat "$tmp/$name.desc")"; continue; }
	op=$(sed -n 's/^family .*, op \([a-z_0-9]*\) (.*/\1/p' "$tmp/$name.desc")
	echo "$op" >"$tmp/$name.op"
	case "$serves" in *" $op "*) ;; *) continue ;; esac
	"$K" -q template gemm_wgmma_tf32 --for "$f" >"$tmp/src/$name--default.cu" 2>"$tmp/err" ||
		not_ok "$name: gemm_wgmma_tf32 realised" "$(cat "$tmp/err")"
	case $name in
	odd_*)
		"$K" -q template gemm_wgmma_tf32 --for "$f" BN=128 STAGES=2 PRECISION=1 GROUP=1 SPLIT_K=1 \
			>"$tmp/src/$name--low.cu" 2>>"$tmp/err"
		"$K" -q template gemm_wgmma_tf32 --for "$f" BN=256 STAGES=4 PRECISION=3 GROUP=16 SPLIT_K=32 \
			>"$tmp/src/$name--high.cu" 2>>"$tmp/err" ;;
	esac
done

# The op and the defines say how the operands lie.
want() { # problem, op, then the define lines it must have
	p=$1
	op=$2
	shift 2
	[ -f "$tmp/$p.desc" ] || { echo "# $p: not here"; return; }
	[ "$(cat "$tmp/$p.op")" = "$op" ] || { not_ok "$p: op $op" "$(head -3 "$tmp/$p.desc")"; return; }
	for d in "$@"; do
		grep -qx "#define $d" "$tmp/$p.desc" || { not_ok "$p: #define $d" "$(grep '^#define' "$tmp/$p.desc")"; return; }
	done
	ok "$p: $op $*"
}
want odd_matmul_fp32_tn matmul_tn "TRANS_A 1" "TRANS_B 0"
want odd_matmul_fp32_nt matmul_nt "TRANS_A 0" "TRANS_B 1"
want odd_matmul_fp32_tt matmul_tt "TRANS_A 1" "TRANS_B 1"
want odd_matmul_fp32_batched matmul_batched "TRANS_A 0" "TRANS_B 0"
want odd_matmul_fp32_batched_nt matmul_batched "TRANS_A 0" "TRANS_B 1"
want odd_matmul_fp32_tensor3d matmul_tensor3d "TRANS_A 0" "TRANS_B 0"
want odd_matmul_fp32_tensor4d matmul_tensor4d "TRANS_A 0" "TRANS_B 0"
want odd_matmul_fp32_triu matmul_triu "TRANS_A 0" "TRANS_B 0" "MATMUL_TRI 1" "MATMUL_TRI_DIAG 0"
want odd_matmul_fp32_tril_diag matmul_tril "MATMUL_TRI 2" "MATMUL_TRI_DIAG 3"
want odd_matmul_fp32_splitk matmul_fp32 "TRANS_A 0" "TRANS_B 0"
want 1_Square_matrix_multiplication_ matmul_fp32 "TRANS_A 0" "TRANS_B 0"
want 10_3D_tensor_matrix_multiplication matmul_tensor3d "TRANS_A 0" "TRANS_B 0"
want 11_4D_tensor_matrix_multiplication matmul_tensor4d "TRANS_A 0" "TRANS_B 0"
want 14_Matmul_for_upper_triangular_matrices matmul_triu "MATMUL_TRI 1" "MATMUL_TRI_DIAG 0"
want 15_Matmul_for_lower_triangular_matrices matmul_tril "MATMUL_TRI 2"
want 16_Matmul_with_transposed_A matmul_tn "TRANS_A 1" "TRANS_B 0"
want 17_Matmul_with_transposed_B matmul_nt "TRANS_A 0" "TRANS_B 1"
want 18_Matmul_with_transposed_both matmul_tt "TRANS_A 1" "TRANS_B 1"

compile_realisations

# Products whose operands lie in ways the templates do not take, each from
# odd_matmul_fp32_tn.py with another forward (and inputs): named
# matmul_other, no TRANS_A written, and not offered in round 0 (below).
variant() { # name, forward expression, inputs
	sed -e "s|return torch.matmul(A.T, B)|return $2|" -e "s|return \[torch.randn(517, 333), torch.randn(517, 259)\]|return [$3]|" \
		tests/data/odd_matmul_fp32_tn.py >"$tmp/$1.py"
}
variant swapped "torch.matmul(B, A)" "torch.randn(33, 40), torch.randn(20, 33)"
variant sliced "torch.matmul(A[:, :30], B)" "torch.randn(20, 40), torch.randn(30, 17)"
variant batch_moved "torch.matmul(A.transpose(0, 1), B)" "torch.randn(20, 3, 30), torch.randn(3, 30, 17)"
variant broadcast "torch.matmul(A, B)" "torch.randn(20, 30), torch.randn(4, 30, 17)"
for name in swapped sliced batch_moved broadcast; do
	"$K" -q describe "$tmp/$name.py" >"$tmp/$name.desc" 2>&1
	op=$(sed -n 's/^family .*, op \([a-z_0-9]*\) (.*/\1/p' "$tmp/$name.desc")
	if [ "$op" = matmul_other ] && ! grep -q TRANS_A "$tmp/$name.desc"; then ok "$name: matmul_other, no TRANS_A"
	else not_ok "$name: matmul_other, no TRANS_A (op '$op')" "$(cat "$tmp/$name.desc")"; fi
done
# Realised on request all the same, with a warning that no search offers it.
"$K" template gemm_wgmma_tf32 --for "$tmp/swapped.py" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && grep -q "does not list swapped's op matmul_other" "$tmp/err" &&
	ok "swapped: template --for realises gemm_wgmma_tf32 with a warning" ||
	not_ok "swapped: template --for realises gemm_wgmma_tf32 with a warning (exit $rc)" "$(cat "$tmp/err")"
# A transposed product in fp16: named with its dtype, which no template takes.
sed -e "s|torch.randn(517, 333), torch.randn(517, 259)|torch.randn(51, 33, dtype=torch.float16), torch.randn(51, 29, dtype=torch.float16)|" \
	tests/data/odd_matmul_fp32_tn.py >"$tmp/tn_fp16.py"
"$K" -q describe "$tmp/tn_fp16.py" >"$tmp/tn_fp16.desc" 2>&1
grep -q "op matmul_tn_fp16 " "$tmp/tn_fp16.desc" && ok "tn_fp16: op matmul_tn_fp16" ||
	not_ok "tn_fp16: op matmul_tn_fp16" "$(head -3 "$tmp/tn_fp16.desc")"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds gemm_wgmma_tf32 "$tmp/p/odd_matmul_fp32_tn.py" 1
round0_holds gemm_wgmma_tf32 "$tmp/p/odd_matmul_fp32_batched_nt.py" 1
round0_holds gemm_wgmma_tf32 "$tmp/swapped.py" 0
round0_holds gemm_wgmma_tf32 "$tmp/broadcast.py" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
