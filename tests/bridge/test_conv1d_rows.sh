#!/bin/bash
# tests/bridge/test_conv1d_rows.sh [PYTHON] - the 1-D convolution template
# whose B fragments come from input spans staged in shared memory,
# conv1d_rows, on real graphs: for scaled-down copies of KernelBench level
# 1's forward 1-D convolutions ($KBREED_KERNELBENCH/level1: 67, and 76,
# dilated and strided) and stride-1 transposed ones (64, and 74, dilated),
# and the odd-shaped ones of tests/data (strided, padded and dilated with a
# bias and rows of 97; grouped with spans that start left of x; 130 output
# channels and 40 input channels, rows of 4094; transposed with an output
# padding; transposed, grouped, with a padding past the window's reach),
# recognition names the op conv1d (conv1d_grouped, conv_transpose1d,
# conv_transpose1d_grouped), `kbreed template conv1d_rows --for` realises
# them, and nvcc compiles them at the defaults and the odd ones at knob
# extremes and the check lines (sm_90a; not in the sanitizer run). A dry
# run's round 0 holds it for a 1-D convolution, forward or transposed of
# stride 1 (twice on sm_90a: its start line for the stride) and not for a
# 2-D one nor a strided transposed 1-D one, which `template --for` refuses
# by its requires line; a run on the fake GPU proposes the catalogue's
# conv1d-rows ideas and judges the template's kernels.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies $(cd "$bench/level1" 2>/dev/null && ls 64_conv_transposed_1D.py 67_conv_standard_1D*.py \
	74_conv_transposed_1D_dilated*.py 76_conv_standard_1D*.py 2>/dev/null |
	sed 's/\.py$//')
for f in odd_conv1d odd_conv1d_grouped odd_conv1d_wide odd_conv_transpose1d odd_conv_transpose1d_grouped; do
	cp "tests/data/$f.py" "$tmp/p/"
done
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 1-D convolutions, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: described as a 1-D conv, forward or transposed; realised at the defaults, the odd
# ones also at the knobs' lowest and highest values and the check lines.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^family *conv, op conv\(1d\|_transpose1d\)\(_grouped\)\? (recognised)' "$tmp/$name.desc"; then
		ok "$name: recognised as a 1-D conv"
	else not_ok "$name: recognised as a 1-D conv" "$(cat "$tmp/$name.desc")"; fi
	realise conv1d_rows "$f" default
	case $name in
	odd_*)
		realise conv1d_rows "$f" low CO=64 OT=64 CK=16 STAGES=2 STREAM=0
		realise conv1d_rows "$f" high CO=128 OT=256 CK=32 STAGES=4 STREAM=1
		realise conv1d_rows "$f" check1 CO=64 OT=64 CK=32 STAGES=4 STREAM=1
		realise conv1d_rows "$f" check2 CO=128 OT=256 CK=16 STAGES=2 ;;
	esac
done

# The defines the kernel's compile-time geometry comes from.
want odd_conv1d_grouped "CONV_DIMS 1" "CONV_KERNEL_W 4" "CONV_STRIDE_W 2" "CONV_PAD_W 3" "CONV_DIL_W 3" \
	"CONV_GROUPS 3" "CONV_BIAS 1" "CONV_TRANSPOSED 0"
want odd_conv1d_wide "CONV_DIMS 1" "CONV_KERNEL_W 3" "CONV_STRIDE_W 1" "CONV_PAD_W 1" "CONV_BIAS 0"
want odd_conv_transpose1d_grouped "CONV_DIMS 1" "CONV_KERNEL_W 3" "CONV_STRIDE_W 1" "CONV_PAD_W 3" \
	"CONV_GROUPS 4" "CONV_BIAS 1" "CONV_TRANSPOSED 1"
compile_realisations

# The realisation carries the problem's geometry and the knobs' defaults.
"$K" -q template conv1d_rows --for "$tmp/p/odd_conv1d_grouped.py" >"$tmp/grouped.cu" 2>"$tmp/err"
if grep -q '^#define CONV_GROUPS 3' "$tmp/grouped.cu" && grep -q '^#define CO 128' "$tmp/grouped.cu" &&
	grep -q '^#define OT 128' "$tmp/grouped.cu"; then
	ok "odd_conv1d_grouped: realised with its defines and the knobs' defaults"
else not_ok "odd_conv1d_grouped: realised with its defines and the knobs' defaults" "$(head -40 "$tmp/grouped.cu")"; fi

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters):
# its defaults for a 1-D conv and, on sm_90a, its start line for the
# stride (one for a stride of 1, one for larger), a transposed one's of
# stride 1 too; nothing for a 2-D one or a strided transposed one.
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds conv1d_rows "$tmp/p/odd_conv1d_wide.py" 2
round0_holds conv1d_rows "$tmp/p/odd_conv1d_wide.py" 1 --arch sm_80
round0_holds conv1d_rows "$tmp/p/odd_conv1d_grouped.py" 2
round0_holds conv1d_rows tests/data/odd_conv2d.py 0
round0_holds conv1d_rows "$tmp/p/odd_conv_transpose1d_grouped.py" 2
round0_holds conv1d_rows tests/data/odd_conv_transpose1d_strided.py 0
"$K" -q template conv1d_rows --for tests/data/odd_conv_transpose1d_strided.py >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q "its requires line is '!CONV_TRANSPOSED_STRIDED'" "$tmp/err" &&
	ok "odd_conv_transpose1d_strided: refused by the requires line" ||
	not_ok "odd_conv_transpose1d_strided: refused by the requires line (exit $rc)" "$(cat "$tmp/err")"

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's conv1d-rows ideas, and some of their kernels are this template's.
fake_gpu_proposes "$tmp/p/odd_conv1d_grouped.py" conv1d-rows conv1d_rows
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
