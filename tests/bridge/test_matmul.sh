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
	describe "$f" || { not_ok "$name: described" "$(cat "$tmp/$name.desc")"; continue; }
	op=$(sed -n 's/^family .*, op \([a-z_0-9]*\) (.*/\1/p' "$tmp/$name.desc")
	case "$serves" in *" $op "*) ;; *) continue ;; esac
	realise gemm_wgmma_tf32 "$f" default
	case $name in
	odd_*)
		realise gemm_wgmma_tf32 "$f" low BN=128 STAGES=2 PRECISION=1 GROUP=1 SPLIT_K=1
		realise gemm_wgmma_tf32 "$f" high BN=256 STAGES=4 PRECISION=3 GROUP=16 SPLIT_K=32 ;;
	esac
done

# The op and the defines say how the operands lie.
want_op odd_matmul_fp32_tn matmul_tn "TRANS_A 1" "TRANS_B 0"
want_op odd_matmul_fp32_nt matmul_nt "TRANS_A 0" "TRANS_B 1"
want_op odd_matmul_fp32_tt matmul_tt "TRANS_A 1" "TRANS_B 1"
want_op odd_matmul_fp32_batched matmul_batched "TRANS_A 0" "TRANS_B 0"
want_op odd_matmul_fp32_batched_nt matmul_batched "TRANS_A 0" "TRANS_B 1"
want_op odd_matmul_fp32_tensor3d matmul_tensor3d "TRANS_A 0" "TRANS_B 0"
want_op odd_matmul_fp32_tensor4d matmul_tensor4d "TRANS_A 0" "TRANS_B 0"
want_op odd_matmul_fp32_triu matmul_triu "TRANS_A 0" "TRANS_B 0" "MATMUL_TRI 1" "MATMUL_TRI_DIAG 0"
want_op odd_matmul_fp32_tril_diag matmul_tril "MATMUL_TRI 2" "MATMUL_TRI_DIAG 3"
want_op odd_matmul_fp32_splitk matmul_fp32 "TRANS_A 0" "TRANS_B 0"
want_op 1_Square_matrix_multiplication_ matmul_fp32 "TRANS_A 0" "TRANS_B 0"
want_op 10_3D_tensor_matrix_multiplication matmul_tensor3d "TRANS_A 0" "TRANS_B 0"
want_op 11_4D_tensor_matrix_multiplication matmul_tensor4d "TRANS_A 0" "TRANS_B 0"
want_op 14_Matmul_for_upper_triangular_matrices matmul_triu "MATMUL_TRI 1" "MATMUL_TRI_DIAG 0"
want_op 15_Matmul_for_lower_triangular_matrices matmul_tril "MATMUL_TRI 2"
want_op 16_Matmul_with_transposed_A matmul_tn "TRANS_A 1" "TRANS_B 0"
want_op 17_Matmul_with_transposed_B matmul_nt "TRANS_A 0" "TRANS_B 1"
want_op 18_Matmul_with_transposed_both matmul_tt "TRANS_A 1" "TRANS_B 1"

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
	describe "$tmp/$name.py"
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
describe "$tmp/tn_fp16.py"
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
