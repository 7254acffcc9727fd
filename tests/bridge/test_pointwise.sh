#!/bin/bash
# tests/bridge/test_pointwise.sh [PYTHON] - the pointwise template on real
# graphs: for scaled-down copies of KernelBench level 1's pointwise problems
# ($KBREED_KERNELBENCH/level1) and the odd-shaped pointwise problems of
# tests/data, recognition writes the graph's expression (KB_PW_BODY), `kbreed
# template pointwise_vec --for` realises it, and nvcc compiles it at its
# defaults and knob extremes (sm_90a; not in the sanitizer run); a dry run's
# round 0 holds the template; a non-pointwise problem, and a pointwise one
# with a broadcast operand, are offered neither.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

# The problems: level 1's pointwise ones (scaled down) where present, and
# the odd-shaped ones of tests/data.
pw="19_ReLU 20_LeakyReLU 21_Sigmoid 22_Tanh 25_Swish 26_GELU_ 27_SELU_ 28_HardSigmoid 29_Softplus 30_Softsign 31_ELU 32_HardTanh 5_Matrix_scalar_multiplication"
level1_copies $pw
cp tests/data/odd_leaky_relu*.py tests/data/odd_softplus_bf16.py tests/data/odd_scale.py \
	tests/data/odd_pointwise_chain.py "$tmp/p/"
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 pointwise problems, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: recognised with a body; realised at the defaults; the knob extremes
# on the odd ones and on a few level-1 ones (compiling every one is slow).
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^#define KB_PW_BODY ' "$tmp/$name.desc"; then ok "$name: its graph is written as KB_PW_BODY"
	else not_ok "$name: its graph is written as KB_PW_BODY" "$(cat "$tmp/$name.desc")"; fi
	realise pointwise_vec "$f" default
	case $name in
	odd_* | 20_* | 5_*)
		realise pointwise_vec "$f" low THREADS=64 VEC=1 ITEMS=1 GRID=0 STREAM=0
		realise pointwise_vec "$f" high THREADS=1024 VEC=4 ITEMS=8 GRID=1 STREAM=1 ;;
	esac
done
# The body is the problem's: leaky_relu's slope and softplus's beta are in it.
grep -q '(real)0.070000000000000007' "$tmp/src/odd_leaky_relu--default.cu" && ok "the slope is in the body" ||
	not_ok "the slope is in the body"
grep -q 'x0 \* (real)2 > (real)5' "$tmp/src/odd_softplus_bf16--default.cu" && ok "softplus's beta and threshold are in the body" ||
	not_ok "softplus's beta and threshold are in the body"
grep -q 'KB_PW_NIN 2' "$tmp/src/odd_scale--default.cu" && ok "the scalar input is an input of the template" ||
	not_ok "the scalar input is an input of the template"
compile_realisations

# Not offered: a softmax (not pointwise) and a pointwise graph with a
# broadcast operand (x + a row vector), by `template --for` and round 0.
cat >"$tmp/bcast.py" <<'PY'
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x, b):
        return torch.relu(x + b)


def get_inputs():
    return [torch.randn(16, 33), torch.randn(33)]


def get_init_inputs():
    return []
PY
sed 's/return F.gelu(x)/return torch.softmax(x, dim=1)/; /^KBREED_/d' tests/data/odd_gelu.py >"$tmp/softmax.py"
refused pointwise_vec "$tmp/bcast.py"
refused pointwise_vec "$tmp/softmax.py"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
for f in "$tmp"/p/odd_scale.py "$tmp"/p/odd_leaky_relu_fp16.py "$tmp/bcast.py" "$tmp/softmax.py"; do
	case $(basename "$f" .py) in
	bcast | softmax) w=0 ;;
	*) w=1 ;;
	esac
	round0_holds pointwise_vec "$f" "$w"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
