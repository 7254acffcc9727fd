#!/bin/bash
# tests/bridge/test_convt_direct.sh [PYTHON] - the direct strided transposed
# convolution template, conv_transpose_direct, on real graphs: for
# scaled-down copies of KernelBench level 1's strided transposed
# convolutions ($KBREED_KERNELBENCH/level1: 1-D 79, 2-D 81 and 75 (grouped),
# 3-D 73 and 72 (grouped)) and the odd-shaped strided ones of tests/data
# (1-D with output padding, 2-D grouped and dilated, 3-D grouped with
# output padding and a bias, 2-D with a stride above the window), recognition
# writes CONV_TRANSPOSED_STRIDED, `kbreed template conv_transpose_direct
# --for` realises them, and nvcc compiles them at the defaults and the odd
# ones at knob extremes (sm_90a; not in the sanitizer run). The template
# is refused where the stride is 1 on every axis and for a forward conv
# (its requires line); a dry run's round 0 holds it (twice on sm_90a: its
# start line) for a strided
# transposed conv and not for the others; a run on the fake GPU proposes
# the catalogue's convt-* ideas and judges the template's kernels.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies $(cd "$bench/level1" 2>/dev/null && ls 7[2359]_conv_transposed_*.py 81_conv_transposed_*.py 2>/dev/null |
	sed 's/\.py$//')
for f in odd_conv_transpose1d_strided odd_conv_transpose2d_strided odd_conv_transpose3d_grouped odd_conv_transpose2d_sparse; do
	cp "tests/data/$f.py" "$tmp/p/"
done
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 strided transposed convolutions, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: described as a strided transposed conv; realised at the defaults,
# the odd ones also at the knobs' lowest and highest values.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^family *conv, op conv_transpose[123]d\(_grouped\)\? (recognised)' "$tmp/$name.desc" &&
		grep -q '^#define CONV_TRANSPOSED_STRIDED 1' "$tmp/$name.desc"; then
		ok "$name: recognised as a strided transposed conv"
	else not_ok "$name: recognised as a strided transposed conv" "$(cat "$tmp/$name.desc")"; fi
	realise conv_transpose_direct "$f" default
	case $name in
	odd_conv_transpose3d_grouped | odd_conv_transpose2d_sparse)
		realise conv_transpose_direct "$f" low CO=8 LANES=16 ROWS=1 WARPS=1 OPT=1 STREAM=0
		realise conv_transpose_direct "$f" high CO=64 LANES=128 ROWS=8 WARPS=4 OPT=2 STREAM=1 ;;
	odd_*) realise conv_transpose_direct "$f" low CO=8 LANES=16 ROWS=1 WARPS=1 STREAM=0 ;;
	esac
done

# The defines the kernel's compile-time geometry comes from.
want odd_conv_transpose2d_sparse "CONV_DIMS 2" "CONV_KERNEL_H 3" "CONV_KERNEL_W 2" "CONV_STRIDE_H 5" \
	"CONV_STRIDE_W 4" "CONV_PAD_H 1" "CONV_PAD_W 2" "CONV_DIL_H 2" "CONV_DIL_W 3" "CONV_OUT_PAD_H 2" \
	"CONV_OUT_PAD_W 1" "CONV_BIAS 1" "CONV_COUT_GROUP 7"
want odd_conv_transpose3d_grouped "CONV_DIMS 3" "CONV_KERNEL_D 3" "CONV_KERNEL_H 2" "CONV_KERNEL_W 3" "CONV_GROUPS 4" "CONV_COUT_GROUP 3"
want odd_conv_transpose1d_strided "CONV_DIMS 1" "CONV_KERNEL_W 4" "CONV_STRIDE_W 2" "CONV_OUT_PAD_W 1" "CONV_BIAS 0" "CONV_COUT_GROUP 9"
compile_realisations

# The realisation carries the problem's geometry: the sparse one's.
"$K" -q template conv_transpose_direct --for "$tmp/p/odd_conv_transpose2d_sparse.py" >"$tmp/sparse.cu" 2>"$tmp/err"
if grep -q '^#define CONV_STRIDE_H 5' "$tmp/sparse.cu" && grep -q '^#define CO 32' "$tmp/sparse.cu"; then
	ok "odd_conv_transpose2d_sparse: realised with its defines and the knobs' defaults"
else not_ok "odd_conv_transpose2d_sparse: realised with its defines and the knobs' defaults" "$(head -40 "$tmp/sparse.cu")"; fi

# Not served: a transposed conv of stride 1 (no CONV_TRANSPOSED_STRIDED) and
# a forward one (not in its problems line).
for f in tests/data/odd_conv_transpose1d.py tests/data/odd_conv_transpose2d.py tests/data/odd_conv2d.py; do
	refused conv_transpose_direct "$f"
done

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
# On sm_90a: its defaults and its start line; elsewhere the defaults alone.
round0_holds conv_transpose_direct "$tmp/p/odd_conv_transpose2d_sparse.py" 2
round0_holds conv_transpose_direct "$tmp/p/odd_conv_transpose1d_strided.py" 2
round0_holds conv_transpose_direct "$tmp/p/odd_conv_transpose1d_strided.py" 1 --arch sm_80
round0_holds conv_transpose_direct tests/data/odd_conv_transpose2d.py 0
round0_holds conv_transpose_direct tests/data/odd_conv2d.py 0

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's convt-* ideas, and some of their kernels are this template's.
fake_gpu_proposes "$tmp/p/odd_conv_transpose2d_sparse.py" convt- conv_transpose_direct
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
