#!/bin/bash
# tests/bridge/test_dwconv.sh [PYTHON] - the depthwise convolution template
# on real graphs: for scaled-down copies of KernelBench level 1's depthwise
# 2-D convolutions ($KBREED_KERNELBENCH/level1, problems 82 to 85: square and
# asymmetric inputs and windows) and the odd-shaped ones of tests/data
# (odd_dwconv_*.py: stride 2, dilation 2, an asymmetric window, unequal
# padding, no bias, a channel multiplier of 2, fp16, bf16 on an unbatched
# input, rows of a multiple of 4 elements for the wide staging loads), recognition names them conv2d_depthwise and writes the CONV_*
# defines with the window (CONV_KERNEL_H/_W), `kbreed template conv_depthwise
# --for` realises them, and nvcc compiles them at the defaults and at the
# knob extremes (sm_90a; not in the sanitizer run). conv_igemm is not
# offered to them. Graphs the template does not compute (a dense or grouped
# convolution, a depthwise one followed by a ReLU) are refused; a dry run's
# round 0 holds conv_depthwise for a depthwise convolution and not for the
# others; a run on the fake GPU proposes the catalogue's dwconv-* ideas and
# their kernels are conv_depthwise's.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

# The problems: level 1's depthwise convolutions (scaled down) where
# present, and the odd-shaped ones of tests/data.
level1_copies $(cd "$bench/level1" 2>/dev/null && ls 8[2-5]_conv_depthwise_2D_*.py 2>/dev/null | sed 's/\.py$//')
cp tests/data/odd_dwconv_*.py "$tmp/p/"
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 depthwise convolutions, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: recognised as conv2d_depthwise with its window; realised at the
# defaults; the odd ones also at every knob's lowest and highest values and
# with more threads than a small tile has outputs.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^family *conv, op conv2d_depthwise (recognised)' "$tmp/$name.desc" &&
		grep -q '^#define CONV_KERNEL_H [1-9]' "$tmp/$name.desc" &&
		grep -q '^#define CONV_KERNEL_W [1-9]' "$tmp/$name.desc"; then
		ok "$name: recognised as conv2d_depthwise with its window"
	else not_ok "$name: recognised as conv2d_depthwise with its window" "$(cat "$tmp/$name.desc")"; fi
	realise conv_depthwise "$f" default
	case $name in
	odd_*)
		realise conv_depthwise "$f" low TILE_W=32 TILE_H=8 OUT_PER_THREAD=1 THREADS=64 VEC=1 STREAM=0
		realise conv_depthwise "$f" high TILE_W=128 TILE_H=64 OUT_PER_THREAD=8 THREADS=512 VEC=4 STREAM=1
		realise conv_depthwise "$f" idle TILE_W=32 TILE_H=8 OUT_PER_THREAD=8 THREADS=512 ;;
	esac
done

# conv_igemm (dense convolutions) is not offered to a depthwise one: its
# problems: line names conv2d and not conv2d_depthwise (round 0 below too).
serves=$("$K" template | sed -n 's/^conv_igemm (family conv, serves \(.*\))$/\1/p')
case " $serves " in
*" conv2d_depthwise "*) not_ok "conv_igemm does not serve conv2d_depthwise" "$serves" ;;
*" conv2d "*) ok "conv_igemm serves $serves, not conv2d_depthwise" ;;
*) not_ok "conv_igemm serves conv2d, not conv2d_depthwise" "'$serves'" ;;
esac

# The defines say what each graph computes.
want odd_dwconv_stride2 "CONV_KERNEL 3" "CONV_STRIDE_H 2" "CONV_STRIDE_W 2" "CONV_PAD 1" "CONV_GROUPS 6" "CONV_BIAS 1"
want odd_dwconv_dilated "CONV_KERNEL_H 3" "CONV_KERNEL_W 5" "CONV_PAD_H 2" "CONV_PAD_W 3" "CONV_DIL_H 2" "CONV_DIL_W 2" \
	"CONV_BIAS 0"
want odd_dwconv_mult2 "CONV_KERNEL_H 5" "CONV_KERNEL_W 3" "CONV_STRIDE_H 1" "CONV_STRIDE_W 2" "CONV_PAD_H 0" \
	"CONV_GROUPS 4" "CONV_BIAS 1"
want odd_dwconv_fp16 "CONV_KERNEL 3" "CONV_PAD 1" "CONV_GROUPS 7"
want odd_dwconv_aligned "CONV_KERNEL 5" "CONV_PAD_H 2" "CONV_PAD_W 1" "CONV_GROUPS 6" "CONV_BIAS 1"
want odd_dwconv_bf16_unbatched "CONV_KERNEL 7" "CONV_STRIDE_H 3" "CONV_DIL_H 1" "CONV_DIL_W 2" "CONV_GROUPS 3"
want 83_conv_depthwise_2D_square_input_asymmetric_kernel "CONV_KERNEL_H 3" "CONV_KERNEL_W 1" "CONV_BIAS 0"
want 85_conv_depthwise_2D_asymmetric_input_asymmetric_kernel "CONV_KERNEL_H 3" "CONV_KERNEL_W 7"
# The bare name only where the axes agree.
lacks odd_dwconv_mult2 CONV_KERNEL
compile_realisations

# Graphs the template does not compute, each from odd_dwconv_stride2.py with
# another module or forward: refused by `template --for`.
variant() { # name, sed expression
	sed "$2" tests/data/odd_dwconv_stride2.py >"$tmp/$1.py"
}
variant dense 's/groups=6/groups=1/'
variant grouped 's/groups=6/groups=2/'
variant with_relu 's/return self.conv(x)/return torch.relu(self.conv(x))/'
variant same_as_stride2 's/^KBREED_NOTES.*/KBREED_NOTES = "a copy"/'
for name in dense grouped with_relu; do
	describe "$tmp/$name.py"
	grep -q 'op conv2d_depthwise' "$tmp/$name.desc" && not_ok "$name: not conv2d_depthwise" "$(cat "$tmp/$name.desc")"
	refused conv_depthwise "$tmp/$name.py"
done
# The variants' edits took: the unedited copy is still served.
"$K" -q template conv_depthwise --for "$tmp/same_as_stride2.py" >/dev/null 2>"$tmp/err" &&
	ok "same_as_stride2: conv_depthwise realised" || not_ok "same_as_stride2: conv_depthwise realised" "$(cat "$tmp/err")"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
for f in "$tmp"/p/odd_dwconv_mult2.py "$tmp"/p/odd_dwconv_fp16.py "$tmp/dense.py" "$tmp/with_relu.py"; do
	name=$(basename "$f" .py)
	case $name in
	dense | with_relu) w=0 ;;
	*) w=1 ;;
	esac
	round0_holds conv_depthwise "$f" "$w"
done
round0_holds conv_igemm "$tmp/p/odd_dwconv_mult2.py" 0
if [ -f "$tmp/p/82_conv_depthwise_2D_square_input_square_kernel.py" ]; then
	round0_holds conv_depthwise "$tmp/p/82_conv_depthwise_2D_square_input_square_kernel.py" 1
	round0_holds conv_igemm "$tmp/p/82_conv_depthwise_2D_square_input_square_kernel.py" 0
fi

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's dwconv-* ideas, and their kernels are conv_depthwise's.
fake_gpu_proposes "$tmp/p/odd_dwconv_dilated.py" dwconv- conv_depthwise conv_igemm
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
