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
# in the sanitizer run); gemm_tf32 likewise for the odd plain products, the
# long K among them (split into pieces, no longer refused). The same for fp16 and bf16 products (tests/data's
# odd_matmul_fp16_nt, _fp16_tn, _bf16_batched and a few written here) and
# gemm_wgmma_f16, whose PTX shows the wgmma each layout needs and whose
# realisations refuse what their defines do not cover. Products whose
# operands lie otherwise (swapped, sliced, broadcast by expand) are named
# matmul_other, and a dry run's round 0 holds gemm_wgmma_tf32 (or _f16) for
# the layouts it takes, not for those.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies $(cd "$bench/level1" 2>/dev/null && ls | sed -n 's/\.py$//p' | grep -E '^([0-9]|1[0-8])_')
cp tests/data/odd_matmul_fp32_*.py "$tmp/p/"
echo "# $(ls "$tmp/p" | grep -vc '^odd_') level-1 products, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: described; the layouts gemm_wgmma_tf32 serves are realised at the
# defaults, the odd ones also at every knob's lowest and highest values,
# three of them at PRECISION=2 (between the ends).
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
	# 3xBF16 (PRECISION=2, bf16 halves and k16 wgmma) on a row-major, a
	# transposed (the transposing pre-pass) and a split-K product.
	case $name in
	odd_matmul_fp32 | odd_matmul_fp32_tn | odd_matmul_fp32_splitk)
		realise gemm_wgmma_tf32 "$f" bf16x3 PRECISION=2 STAGES=2 GROUP=1 ;;
	esac
	# gemm_tf32 (mma.sync) takes the plain rank-2 product, a long K cut
	# into pieces (odd_matmul_fp32_splitk: the shape probe sees it taken).
	case $name:$op in
	odd_*:matmul_fp32)
		realise gemm_tf32 "$f" default
		realise gemm_tf32 "$f" high BM=256 BN=256 STAGES=4 PRECISION=3 SPLIT_K=32 ;;
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

# The 16-bit products gemm_wgmma_f16 serves: the odd ones of tests/data
# (x @ w.T and A.T @ B in fp16, bmm in bf16) and, written here, a 3-D and a
# 4-D tensor times a matrix in fp16 (the batch folds into M), a batch of
# A.T @ B.T in fp16, a 4-D batch of A @ B.T and a plain product in bf16. Each is named with its dtype and gets the
# defines the template is compiled from (MATMUL_BATCH only where the batch
# does not fold, MATMUL_BF16 for bf16), and is realised at the defaults, and
# three of them (the new layouts) also at every knob's lowest and highest
# values (and the one setting where WG_M = 128 takes effect: BN = 128). A triangle in fp16 is named, not served.
prod16() { # name, forward expression, inputs
	cat >"$tmp/p/$1.py" <<EOF
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, A, B):
        return $2


def get_inputs():
    return [$3]


def get_init_inputs():
    return []
EOF
}
cp tests/data/odd_matmul_fp16_nt.py tests/data/odd_matmul_fp16_tn.py tests/data/odd_matmul_bf16_batched.py "$tmp/p/"
prod16 f16_tensor3d "torch.matmul(A, B)" "torch.randn(3, 45, 72).half(), torch.randn(72, 40).half()"
prod16 f16_tensor4d "torch.matmul(A, B)" "torch.randn(2, 3, 45, 72).half(), torch.randn(72, 40).half()"
prod16 f16_batched_tt "torch.matmul(A.transpose(-2, -1), B.transpose(-2, -1))" \
	"torch.randn(4, 72, 45).half(), torch.randn(4, 40, 72).half()"
prod16 bf16_batched_nt "torch.matmul(A, B.transpose(-2, -1))" \
	"torch.randn(2, 3, 45, 72).bfloat16(), torch.randn(2, 3, 40, 72).bfloat16()"
prod16 bf16_plain "torch.matmul(A, B)" "torch.randn(45, 72).bfloat16(), torch.randn(72, 40).bfloat16()"
prod16 f16_triu "torch.triu(torch.matmul(A, B))" "torch.randn(40, 40).half(), torch.randn(40, 40).half()"
f16s="odd_matmul_fp16_nt odd_matmul_fp16_tn odd_matmul_bf16_batched f16_tensor3d f16_tensor4d f16_batched_tt bf16_batched_nt bf16_plain"
for name in $f16s f16_triu; do
	f=$tmp/p/$name.py
	describe "$f" || { not_ok "$name: described" "$(cat "$tmp/$name.desc")"; continue; }
	sed -n 's/^family .*, op \([a-z_0-9]*\) (.*/\1/p' "$tmp/$name.desc" >"$tmp/$name.op"
	[ "$name" = f16_triu ] && continue
	realise gemm_wgmma_f16 "$f" default || continue
	# The knob extremes on the layouts of the new code paths (A M-major;
	# a batch with bf16 and B K-major; a batch with both transposed): each
	# wgmma realisation costs CI half a minute of nvcc.
	case $name in
	odd_matmul_fp16_tn | bf16_batched_nt | f16_batched_tt)
		realise gemm_wgmma_f16 "$f" low BN=128 WG_M=64 CONSUMERS=1 STAGES=3 GROUP=1 CLUSTER=1 &&
			realise gemm_wgmma_f16 "$f" high BN=256 WG_M=128 CONSUMERS=2 STAGES=6 GROUP=16 CLUSTER=2 &&
			realise gemm_wgmma_f16 "$f" wgm128 BN=128 WG_M=128 CLUSTER=2 ;;
	esac
done
want_op odd_matmul_fp16_nt matmul_nt_fp16 "TRANS_A 0" "TRANS_B 1"
lacks odd_matmul_fp16_nt MATMUL_BATCH MATMUL_BF16
want_op odd_matmul_fp16_tn matmul_tn_fp16 "TRANS_A 1" "TRANS_B 0"
want_op odd_matmul_bf16_batched matmul_batched_bf16 "TRANS_A 0" "TRANS_B 0" "MATMUL_BATCH 1" "MATMUL_BF16 1"
want_op f16_tensor3d matmul_tensor3d_fp16 "TRANS_A 0" "TRANS_B 0"
lacks f16_tensor3d MATMUL_BATCH MATMUL_BF16
want_op f16_tensor4d matmul_tensor4d_fp16 "TRANS_A 0" "TRANS_B 0"
lacks f16_tensor4d MATMUL_BATCH
want_op f16_batched_tt matmul_batched_fp16 "TRANS_A 1" "TRANS_B 1" "MATMUL_BATCH 1"
want_op bf16_batched_nt matmul_batched_bf16 "TRANS_A 0" "TRANS_B 1" "MATMUL_BATCH 1" "MATMUL_BF16 1"
want_op bf16_plain matmul_bf16 "TRANS_A 0" "TRANS_B 0" "MATMUL_BF16 1"
lacks bf16_plain MATMUL_BATCH
want_op f16_triu matmul_triu_fp16 "MATMUL_TRI 1"
# Realised on request all the same (its problem's shapes probed below, not
# by compile_realisations: the name has no problem file).
"$K" -q template gemm_wgmma_f16 --for "$tmp/p/f16_triu.py" >"$tmp/src/tri--default.cu" 2>"$tmp/err" ||
	not_ok "f16_triu: gemm_wgmma_f16 realised on request" "$(cat "$tmp/err")"
"$K" template 2>/dev/null | grep '^gemm_wgmma_f16 ' | grep -q ' matmul_triu_fp16[ )]' &&
	not_ok "gemm_wgmma_f16 does not list matmul_triu_fp16" || ok "gemm_wgmma_f16 does not list matmul_triu_fp16"

# wgmma as each layout needs it, in the PTX of the default realisations:
# the input type and the transpose bits (imm-trans-a 1: A M-major, as A.T is
# stored; imm-trans-b 0: B K-major, as B.T is); 3-D boxes only with a batch.
ptx_has() { # name, type, trans-a, trans-b, TMA dims
	local w all
	nvcc -arch=sm_90a -ptx -I"$root/include" -o "$tmp/$1.ptx" "$tmp/src/$1--default.cu" 2>"$tmp/err" ||
		{ not_ok "$1: PTX" "$(cat "$tmp/err")"; return; }
	w=$(grep -c "wgmma.mma_async.sync.aligned.m64n256k16.f32.$2.$2 .*, p, 1, 1, $3, $4;" "$tmp/$1.ptx")
	all=$(grep -c "wgmma.mma_async" "$tmp/$1.ptx")
	if [ "$w" -gt 0 ] && [ "$w" = "$all" ] && grep -q "cp.async.bulk.tensor.$5d" "$tmp/$1.ptx" &&
		! grep -q "cp.async.bulk.tensor.$((5 - $5))d" "$tmp/$1.ptx"; then
		ok "$1: wgmma .$2, transpose bits $3 $4, $5-D boxes"
	else
		not_ok "$1: wgmma .$2, transpose bits $3 $4, $5-D boxes ($w of $all wgmma)" \
			"$(grep -m1 wgmma.mma_async "$tmp/$1.ptx" | sed 's/{[^}]*}/{...}/')"
	fi
}
if [ -z "${SANITIZER_LOGS:-}" ]; then
	ptx_has f16_tensor3d f16 0 1 2
	ptx_has odd_matmul_fp16_nt f16 0 0 2
	ptx_has odd_matmul_fp16_tn f16 1 1 2
	ptx_has f16_batched_tt f16 1 0 3
	ptx_has odd_matmul_bf16_batched bf16 0 1 3
	ptx_has bf16_plain bf16 0 1 2
	# A tensor times a matrix folds into the plain kernel: the PTX of the
	# template with no defines at all (the one measured against cuBLAS).
	"$K" -q template gemm_wgmma_f16 >"$tmp/plain.cu" 2>"$tmp/err" &&
		nvcc -arch=sm_90a -ptx -I"$root/include" -o "$tmp/plain.ptx" "$tmp/plain.cu" 2>>"$tmp/err"
	[ -s "$tmp/plain.ptx" ] && cmp -s "$tmp/plain.ptx" "$tmp/f16_tensor3d.ptx" &&
		ok "f16_tensor3d: the PTX of gemm_wgmma_f16 without defines" ||
		not_ok "f16_tensor3d: the PTX of gemm_wgmma_f16 without defines" "$(cat "$tmp/err")"
fi

compile_realisations

# gemm_wgmma_f16 refuses what its defines do not cover (KB_ERR_SHAPE before
# any CUDA call): a triangle, a batch of B without MATMUL_BATCH, the other
# 16-bit dtype, an operand lying otherwise than TRANS_A/TRANS_B say.
probe_refuses() { # realisation, what, then shape_probe's tensors
	local so
	so=$(grep "^$tmp/src/$1.cu: ok" "$tmp/compiled" | awk '{ print $NF }')
	shift
	local what=$1
	shift
	[ -n "$so" ] || { not_ok "$what: refused (not compiled)"; return; }
	"$B/tests/shape_probe" "$so" "$@" >/dev/null 2>&1
	[ $? -eq 1 ] && ok "$what: refused" || not_ok "$what: refused"
}
if [ -z "${SANITIZER_LOGS:-}" ]; then
	probe_refuses tri--default "realisation for triu(A @ B)" f16:40x40 f16:40x40 -- f16:40x40
	probe_refuses f16_tensor3d--default "plain fp16 realisation on a batch of B" \
		f16:3x45x72 f16:3x72x40 -- f16:3x45x40
	probe_refuses f16_tensor3d--default "fp16 realisation on bf16 tensors" bf16:3x45x72 bf16:72x40 -- bf16:3x45x40
	probe_refuses bf16_plain--default "bf16 realisation on fp16 tensors" f16:45x72 f16:72x40 -- f16:45x40
	probe_refuses odd_matmul_fp16_nt--default "A @ B.T realisation on B's transpose" \
		f16:333x517 f16:517x259 -- f16:333x259
fi

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
# A transposed product in fp16: named with its dtype (gemm_wgmma_f16's).
sed -e "s|torch.randn(517, 333), torch.randn(517, 259)|torch.randn(51, 33, dtype=torch.float16), torch.randn(51, 29, dtype=torch.float16)|" \
	tests/data/odd_matmul_fp32_tn.py >"$tmp/tn_fp16.py"
describe "$tmp/tn_fp16.py"
grep -q "op matmul_tn_fp16 " "$tmp/tn_fp16.desc" && ok "tn_fp16: op matmul_tn_fp16" ||
	not_ok "tn_fp16: op matmul_tn_fp16" "$(head -3 "$tmp/tn_fp16.desc")"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
# (gemm_wgmma_tf32 at its defaults, 3xTF32, and at its start line, 3xBF16)
round0_holds gemm_wgmma_tf32 "$tmp/p/odd_matmul_fp32_tn.py" 2
round0_holds gemm_wgmma_tf32 "$tmp/p/odd_matmul_fp32_batched_nt.py" 2
round0_holds gemm_wgmma_tf32 "$tmp/swapped.py" 0
round0_holds gemm_wgmma_tf32 "$tmp/broadcast.py" 0
round0_holds gemm_wgmma_f16 "$tmp/p/odd_matmul_fp16_nt.py" 1
round0_holds gemm_wgmma_f16 "$tmp/p/odd_matmul_bf16_batched.py" 1
round0_holds gemm_wgmma_f16 "$tmp/p/f16_triu.py" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
