#!/bin/bash
# tests/bridge/test_matvec.sh [PYTHON] - the memory-bound matrix templates
# on real graphs: for scaled-down copies of KernelBench level 1's
# matrix-vector and diagonal products ($KBREED_KERNELBENCH/level1: 4 and 12)
# and the odd-shaped ones of tests/data (odd_matvec*.py: an odd K, torch.mv,
# a batch of matrices, a handful of long rows, fp16, bf16;
# odd_rowscale*.py: diag(a) @ B as a broadcast multiply and as torch.diag
# into an mm, B @ diag(a) scaling the columns, fp16, bf16), recognition
# writes KB_MATVEC or KB_DIAG_ROWS, `kbreed template gemv|rowscale --for`
# realises them, and nvcc compiles them at the defaults and at the knob
# extremes (sm_90a; not in the sanitizer run).
# Graphs the templates do not compute (a product scaled or passed through
# a relu, a transposed A, a diagonal product of mixed dtypes) get no define
# and are refused; a dry run's round 0 holds the template for the products
# and not for the others; a run on the fake GPU proposes the catalogue's
# gemv-* ideas and their kernels are gemv's.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies 4_Matrix_vector_multiplication_ 12_Matmul_with_diagonal_matrices_
cp tests/data/odd_matvec*.py tests/data/odd_rowscale*.py "$tmp/p/"
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 problems, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Which template a problem is for, and the other one.
tpl_of() {
	case $1 in
	*matvec* | 4_*) echo gemv ;;
	*) echo rowscale ;;
	esac
}

# Each: recognised with its define; realised at the defaults; the other
# template refused; the odd ones also at every knob's lowest and highest.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	t=$(tpl_of "$name")
	describe "$f"
	if [ "$t" = gemv ]; then
		def='#define KB_MATVEC 1'
		op=matvec
		other=rowscale
	else
		def='#define KB_DIAG_ROWS [01]'
		op=matmul_diag
		other=gemv
	fi
	if grep -q "^family *matmul, op $op " "$tmp/$name.desc" && grep -qx "$def" "$tmp/$name.desc"; then
		ok "$name: recognised as $op with ${def#\#define }"
	else
		not_ok "$name: recognised as $op with ${def#\#define }" "$(cat "$tmp/$name.desc")"
	fi
	realise "$t" "$f" default
	"$K" -q template "$other" --for "$f" >/dev/null 2>&1 &&
		not_ok "$name: $other is not offered to $op"
	case $name in
	odd_matvec*)
		realise gemv "$f" low THREADS=64 ROWS_PER_BLOCK=1 SPLIT_K=0 VEC=1 UNROLL=1 STREAM=0
		realise gemv "$f" high THREADS=1024 ROWS_PER_BLOCK=8 SPLIT_K=32 VEC=4 UNROLL=8 STREAM=1 ;;
	odd_rowscale*)
		realise rowscale "$f" low THREADS=64 VEC=1 ITEMS=1 STREAM=0
		realise rowscale "$f" high THREADS=1024 VEC=4 ITEMS=8 STREAM=1 ;;
	esac
done

# The side a diagonal product scales says KB_DIAG_ROWS.
want odd_rowscale "KB_DIAG_ROWS 1"
want odd_rowscale_diag "KB_DIAG_ROWS 1"
want odd_rowscale_fp16 "KB_DIAG_ROWS 1"
want odd_rowscale_cols "KB_DIAG_ROWS 0"
want odd_rowscale_cols_bf16 "KB_DIAG_ROWS 0"
want 12_Matmul_with_diagonal_matrices_ "KB_DIAG_ROWS 1"
want 4_Matrix_vector_multiplication_ "KB_MATVEC 1"
compile_realisations

# Graphs the templates do not compute, each from an odd problem with
# another forward or other inputs: no define written, the template refused
# by `template --for` (the files declare the op, so only the define is missing).
variant() { # name, source problem, sed expression
	sed "$3" "tests/data/$2.py" >"$tmp/$1.py"
}
variant mv_scaled odd_matvec 's|return torch.matmul(A, B)|return torch.matmul(A, B) * 2|'
variant mv_relu odd_matvec 's|return torch.matmul(A, B)|return torch.relu(torch.matmul(A, B))|'
variant mv_transposed odd_matvec 's|return torch.matmul(A, B)|return torch.matmul(A.t(), B)|; s|torch.rand(M, K)|torch.rand(K, M)|'
variant diag_mixed odd_rowscale_fp16 's|torch.randn(N, dtype=torch.float16)|torch.randn(N)|'
variant diag_relu odd_rowscale 's|return A.unsqueeze(1) \* B|return torch.relu(A.unsqueeze(1) * B)|'
variant mv_plain odd_matvec 's|return torch.matmul(A, B)|return A @ B|'
for name in mv_scaled mv_relu mv_transposed diag_mixed diag_relu; do
	case $name in
	mv_*) t=gemv ;;
	*) t=rowscale ;;
	esac
	describe "$tmp/$name.py"
	grep -q 'KB_MATVEC\|KB_DIAG_ROWS' "$tmp/$name.desc" && not_ok "$name: no KB_MATVEC or KB_DIAG_ROWS" "$(cat "$tmp/$name.desc")"
	refused $t "$tmp/$name.py"
done
describe "$tmp/mv_plain.py"
want mv_plain "KB_MATVEC 1"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds gemv "$tmp/p/odd_matvec_vec.py" 1
round0_holds gemv "$tmp/mv_scaled.py" 0
round0_holds rowscale "$tmp/p/odd_rowscale_cols.py" 1
round0_holds rowscale "$tmp/diag_mixed.py" 0

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's gemv-* ideas, and their kernels are gemv's.
fake_gpu_proposes "$tmp/p/odd_matvec_vec.py" gemv- gemv
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
