#!/bin/bash
# tests/bridge/test_conv_pointwise.sh [PYTHON] - the pointwise (1x1)
# convolution template on real graphs: for a scaled-down copy of KernelBench
# level 1's 87_conv_pointwise_2D and the odd-shaped 1x1 convs of tests/data
# (2-D with and without bias, with and without 16-byte alignment, 3-D),
# recognition writes CONV_POINTWISE_PLAIN (a 1x1 window, stride 1, no
# padding, groups 1), `kbreed template conv_pointwise --for` realises them,
# and nvcc compiles them at the defaults and at the knob extremes (sm_90a;
# not in the sanitizer run), the weights resident among them. A 1x1 conv with a stride and a 3x3 conv get no
# CONV_POINTWISE_PLAIN and are refused. A dry run's round 0 holds
# conv_pointwise for the plain ones and not for the strided one.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies 87_conv_pointwise_2D
cp tests/data/odd_conv2d_pointwise.py tests/data/odd_conv2d_pointwise_vec.py tests/data/odd_conv3d_pointwise.py "$tmp/p/"
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	realise conv_pointwise "$f" default
	case $name in
	odd_*)
		realise conv_pointwise "$f" low BM=64 BN=64 BK=16 WARPS=4 STAGES=2 PRECISION=1
		realise conv_pointwise "$f" high BM=128 BN=128 BK=32 WARPS=8 STAGES=4 PRECISION=3
		realise conv_pointwise "$f" bf16-low BM=64 BN=64 BK=16 WARPS=4 STAGES=2 PRECISION=2
		realise conv_pointwise "$f" bf16-high BM=128 BN=128 BK=32 WARPS=8 STAGES=4 PRECISION=2
		realise conv_pointwise "$f" wide BM=128 BN=256 BK=32 WARPS=8 STAGES=4 PRECISION=3
		realise conv_pointwise "$f" resident BM=64 BN=256 BK=16 WARPS=8 STAGES=2 PRECISION=2 WRES=1 ;;
	esac
done
want_op odd_conv2d_pointwise conv2d_pointwise "CONV_POINTWISE_PLAIN 1" "CONV_BIAS 0"
want_op odd_conv2d_pointwise_vec conv2d_pointwise "CONV_POINTWISE_PLAIN 1" "CONV_BIAS 1"
want_op odd_conv3d_pointwise conv3d_pointwise "CONV_POINTWISE_PLAIN 1" "CONV_DIMS 3"
want_op 87_conv_pointwise_2D conv2d_pointwise "CONV_POINTWISE_PLAIN 1"
compile_realisations

# Not a plain GEMM of x's rows: a 1x1 window with a stride, and a 3x3 conv.
cp tests/data/odd_conv2d_pointwise_strided.py tests/data/odd_conv2d.py "$tmp/"
for name in odd_conv2d_pointwise_strided odd_conv2d; do
	describe "$tmp/$name.py"
	lacks "$name" CONV_POINTWISE_PLAIN
	refused conv_pointwise "$tmp/$name.py"
done
want_op odd_conv2d_pointwise_strided conv2d_pointwise "CONV_STRIDE 2"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters):
# conv_pointwise at its defaults and its two sm_90a start lines (the
# weights resident, at BN = 256 and 128).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds conv_pointwise "$tmp/p/odd_conv2d_pointwise_vec.py" 3
# ... all before conv_igemm's defaults and start lines (it is written for
# this structure: its requires line), so that a short run judges them at
# all.
order=$(sqlite3 "$tmp/odd_conv2d_pointwise_vec.db" "SELECT group_concat(template, ' ') FROM (SELECT template
	FROM candidates WHERE round = 0 AND template IN ('conv_pointwise', 'conv_igemm') ORDER BY id)" 2>&1)
case "$order" in
"conv_pointwise conv_pointwise conv_pointwise conv_igemm"*) ok "odd_conv2d_pointwise_vec: round 0 seeds conv_pointwise's three before conv_igemm" ;;
*) not_ok "odd_conv2d_pointwise_vec: round 0 seeds conv_pointwise's three before conv_igemm" "$order" ;;
esac
# With 160 input channels the weight tile does not fit beside WRES's ring
# (no CONV_FEW_CIN): conv_pointwise at its defaults alone.
sed 's/Conv2d(36, 70,/Conv2d(160, 70,/; s/randn(3, 36,/randn(3, 160,/' "$tmp/p/odd_conv2d_pointwise_vec.py" \
	>"$tmp/odd_conv2d_pointwise_wide.py"
describe "$tmp/odd_conv2d_pointwise_wide.py"
grep -q CONV_FEW_CIN "$tmp/odd_conv2d_pointwise_wide.desc" &&
	not_ok "odd_conv2d_pointwise_wide (160 channels): no CONV_FEW_CIN" "$(cat "$tmp/odd_conv2d_pointwise_wide.desc")" ||
	ok "odd_conv2d_pointwise_wide (160 channels): no CONV_FEW_CIN"
grep -q '^#define CONV_FEW_CIN 1' "$tmp/odd_conv2d_pointwise_vec.desc" &&
	ok "odd_conv2d_pointwise_vec (36 channels): CONV_FEW_CIN" ||
	not_ok "odd_conv2d_pointwise_vec (36 channels): CONV_FEW_CIN" "$(cat "$tmp/odd_conv2d_pointwise_vec.desc")"
round0_holds conv_pointwise "$tmp/odd_conv2d_pointwise_wide.py" 1
# (each call runs again into the problem's one database: the first count
# is of one run)
round0_holds conv_igemm "$tmp/odd_conv2d_pointwise_strided.py" 5
round0_holds conv_pointwise "$tmp/odd_conv2d_pointwise_strided.py" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
