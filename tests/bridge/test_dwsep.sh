#!/bin/bash
# tests/bridge/test_dwsep.sh [PYTHON] - the fused depthwise-separable
# convolution template on real graphs: for a scaled-down copy of KernelBench
# level 1's problem 86 ($KBREED_KERNELBENCH/level1, where present), its
# KernelBench-form copy tests/data/kb_conv_dwsep.py and the odd-shaped ones
# of tests/data (odd_dwsep*.py: odd extents, channels that fill no tile,
# stride 2 with unequal padding and dilation and an asymmetric window, both
# biases, a channel multiplier of 2 in fp16, bf16 on an unbatched input with
# more output channels than one channel tile), recognition names them
# conv2d_depthwise_separable, writes the CONV_* defines of the depthwise step
# and CONV_PW_BIAS, and counts the floor's FLOPs from the shapes (depthwise
# plus pointwise); `kbreed template conv_dwsep --for` realises them, and nvcc
# compiles them at the defaults and at the knob extremes (sm_90a; not in the
# sanitizer run), each then taking its problem's shapes. Graphs that are not
# a depthwise conv feeding a 1x1 one (a 3x3 second conv, a grouped 1x1 one,
# a ReLU between, the pointwise registered first) are not
# conv2d_depthwise_separable and are refused; a dry run's round 0 holds
# conv_dwsep (and neither conv_depthwise nor conv_igemm) for the separable
# ones; a run on the fake GPU proposes the catalogue's dwsep-* ideas and
# their kernels are conv_dwsep's.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

# The problems: level 1's depthwise-separable convolution (scaled down)
# where present, and those of tests/data.
level1_copies 86_conv_depthwise_separable_2D
cp tests/data/kb_conv_dwsep.py tests/data/odd_dwsep*.py "$tmp/p/"
echo "# $(ls "$tmp/p" | grep -vc '^odd_') KernelBench-form problems, $(ls "$tmp/p" | grep -c '^odd_') odd ones"
[ "$(ls "$tmp/p" | grep -c '^odd_dwsep')" -ge 4 ] && ok "at least 4 odd depthwise-separable problems" ||
	not_ok "at least 4 odd depthwise-separable problems" "$(ls "$tmp/p")"

# Each: recognised with its window and the pointwise bias; its floor the
# depthwise's 2*N*CM*OH*OW*KH*KW FLOPs plus the pointwise's
# 2*N*Cout*OH*OW*CM, from the parameters' and the output's shapes; realised
# at the defaults; the odd ones also at every knob's lowest and highest
# values, in TF32 (PRECISION=1) and in 3xTF32 (PRECISION=3).
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^family *conv, op conv2d_depthwise_separable (recognised)' "$tmp/$name.desc" &&
		grep -q '^#define CONV_KERNEL_H [1-9]' "$tmp/$name.desc" &&
		grep -q '^#define CONV_PW_BIAS [01]$' "$tmp/$name.desc"; then
		ok "$name: recognised as conv2d_depthwise_separable with its window and CONV_PW_BIAS"
	else not_ok "$name: recognised as conv2d_depthwise_separable with its window and CONV_PW_BIAS" "$(cat "$tmp/$name.desc")"; fi
	floor=$("$K" -q describe --json "$f" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
g = d["graph"]
params = {t["name"]: t["shape"] for t in g["tensors"] if t["kind"] == "param"}
dw = params["depthwise.weight"]
pw = params["pointwise.weight"]
y = g["tensors"][g["outputs"][0]]["shape"]
pixels = 1
for e in y:
    pixels *= e
pixels //= pw[0]                       # N*OH*OW
want = 2 * pixels * dw[0] * dw[2] * dw[3] + 2 * pixels * pw[0] * pw[1]
print("%d %d" % (d["flops"], want))' 2>&1)
	set -- $floor
	[ $# -eq 2 ] && [ "$1" = "$2" ] && [ "$1" -gt 0 ] && ok "$name: floor of $1 FLOPs, depthwise plus pointwise" ||
		not_ok "$name: floor of depthwise plus pointwise FLOPs (got, want)" "$floor"
	realise conv_dwsep "$f" default
	case $name in
	odd_*)
		realise conv_dwsep "$f" low TILE_W=16 TILE_H=1 CO_TILE=16 KC=8 THREADS=64
		realise conv_dwsep "$f" high TILE_W=64 TILE_H=8 CO_TILE=128 KC=32 THREADS=256
		realise conv_dwsep "$f" tf32 PRECISION=1
		realise conv_dwsep "$f" tf32x3 TILE_W=32 TILE_H=2 CO_TILE=64 THREADS=128 PRECISION=3
		realise conv_dwsep "$f" tf32-idle TILE_W=16 TILE_H=1 CO_TILE=16 THREADS=256 PRECISION=1
		realise conv_dwsep "$f" split SPLIT=1
		realise conv_dwsep "$f" split-tf32 SPLIT=1 PRECISION=1 ;;
	esac
done
# The realisations at the knob extremes are what they say.
grep -q '^#define TILE_W 16$' "$tmp/src/odd_dwsep--low.cu" && grep -q '^#define KC 32$' "$tmp/src/odd_dwsep--high.cu" &&
	grep -q '^#define PRECISION 1$' "$tmp/src/odd_dwsep--tf32.cu" && ok "the knob extremes are realised" ||
	not_ok "the knob extremes are realised" "$(grep -h '^#define \(TILE_W\|KC\|PRECISION\) ' "$tmp"/src/odd_dwsep--*.cu)"

# PRECISION=1 is marked loose: `kbreed template` lists it with ~.
"$K" template 2>/dev/null | sed -n '/^conv_dwsep /,/^[a-z]/p' | grep -q '^  PRECISION  *\[1~ 3 32\*\]' &&
	ok "conv_dwsep lists PRECISION 1 as loose, 3 as strict and 32 as the default" ||
	not_ok "conv_dwsep lists PRECISION 1 as loose, 3 as strict and 32 as the default" "$("$K" template 2>&1 | sed -n '/^conv_dwsep /,/^[a-z]/p')"

# Neither conv_depthwise nor conv_igemm serves the op.
for t in conv_depthwise conv_igemm; do
	serves=$("$K" template | sed -n "s/^$t (family conv, serves \(.*\))\$/\1/p")
	case " $serves " in
	*" conv2d_depthwise_separable "*) not_ok "$t does not serve conv2d_depthwise_separable" "$serves" ;;
	"  ") not_ok "$t listed" ;;
	*) ok "$t does not serve conv2d_depthwise_separable" ;;
	esac
done

# The defines say what each graph computes.
want odd_dwsep "CONV_KERNEL 3" "CONV_PAD 1" "CONV_STRIDE 1" "CONV_GROUPS 6" "CONV_BIAS 0" "CONV_PW_BIAS 0"
want odd_dwsep_strided "CONV_KERNEL_H 3" "CONV_KERNEL_W 5" "CONV_STRIDE 2" "CONV_PAD_H 1" "CONV_PAD_W 3" \
	"CONV_DIL_H 2" "CONV_DIL_W 1" "CONV_GROUPS 5" "CONV_BIAS 1" "CONV_PW_BIAS 1"
want odd_dwsep_mult2_fp16 "CONV_KERNEL 3" "CONV_GROUPS 4" "CONV_BIAS 0" "CONV_PW_BIAS 1"
want odd_dwsep_bf16_unbatched "CONV_KERNEL 5" "CONV_PAD_W 4" "CONV_DIL_W 2" "CONV_GROUPS 3" "CONV_BIAS 1" "CONV_PW_BIAS 0"
want kb_conv_dwsep "CONV_KERNEL 3" "CONV_PAD 1" "CONV_GROUPS 8" "CONV_BIAS 0" "CONV_PW_BIAS 0"
want 86_conv_depthwise_separable_2D "CONV_KERNEL 3" "CONV_PAD 1" "CONV_BIAS 0" "CONV_PW_BIAS 0"
compile_realisations

# Graphs the template does not compute, each from odd_dwsep_strided.py with
# another module or forward: not conv2d_depthwise_separable, and refused by
# `template --for`.
variant() { # name, sed expression
	sed "$2" tests/data/odd_dwsep_strided.py >"$tmp/$1.py"
}
variant dense_second 's/nn.Conv2d(5, 19, 1, bias=True)/nn.Conv2d(5, 19, 3, bias=True)/'
variant grouped_second 's/nn.Conv2d(5, 19, 1, bias=True)/nn.Conv2d(5, 20, 1, groups=5, bias=True)/'
variant strided_second 's/nn.Conv2d(5, 19, 1, bias=True)/nn.Conv2d(5, 19, 1, stride=2, bias=True)/'
variant relu_between 's/return self.pointwise(x)/return self.pointwise(torch.relu(x))/'
variant pointwise_first 's/^        self.depthwise = nn.Conv2d(5, 5, (3, 5)/        self.pointwise = nn.Conv2d(5, 19, 1, bias=True)\n        self.depthwise = nn.Conv2d(5, 5, (3, 5)/'
variant same_as_strided 's/^KBREED_NOTES.*/KBREED_NOTES = "a copy"/'
grep -c 'self.pointwise = ' "$tmp/pointwise_first.py" | grep -qx 2 || not_ok "pointwise_first: the edit took" "$(cat "$tmp/pointwise_first.py")"
for name in dense_second grouped_second strided_second relu_between pointwise_first; do
	describe "$tmp/$name.py"
	grep -q 'op conv2d_depthwise_separable' "$tmp/$name.desc" &&
		not_ok "$name: not conv2d_depthwise_separable" "$(head -3 "$tmp/$name.desc")"
	refused conv_dwsep "$tmp/$name.py"
done
# The variants' edits took: the unedited copy is still served.
"$K" -q template conv_dwsep --for "$tmp/same_as_strided.py" >/dev/null 2>"$tmp/err" &&
	ok "same_as_strided: conv_dwsep realised" || not_ok "same_as_strided: conv_dwsep realised" "$(cat "$tmp/err")"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
round0_holds conv_dwsep "$tmp/p/odd_dwsep_mult2_fp16.py" 1
round0_holds conv_depthwise "$tmp/p/odd_dwsep_mult2_fp16.py" 0
round0_holds conv_igemm "$tmp/p/odd_dwsep_mult2_fp16.py" 0
round0_holds conv_dwsep "$tmp/dense_second.py" 0
if [ -f "$tmp/p/86_conv_depthwise_separable_2D.py" ]; then
	round0_holds conv_dwsep "$tmp/p/86_conv_depthwise_separable_2D.py" 1
fi

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's dwsep-* ideas, and their kernels are conv_dwsep's.
fake_gpu_proposes "$tmp/p/odd_dwsep.py" dwsep- conv_dwsep conv_igemm conv_depthwise
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
