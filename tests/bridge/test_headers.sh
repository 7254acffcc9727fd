#!/bin/bash
# tests/bridge/test_headers.sh [PYTHON] - what a candidate costs nvcc before
# its own code: the headers each template pulls in for the problem it is
# realised for. Measured on the development machine (bench/
# compile-headers-2026-12-05-cpu.md), cooperative_groups.h costs about 2.5 s
# of CPU a compile and cuda_bf16.h or cuda_fp16.h about 0.4 s each, against
# ~1.6 s for a whole empty candidate; the judge compiles thousands.
#   - No template includes cooperative groups (grid_barrier.cuh and CUDA's
#     cluster intrinsics do what the templates used it for).
#   - Realised for fp32 problems (the suite's, and a pure pointwise graph),
#     every template that serves them includes neither cuda_fp16.h nor
#     cuda_bf16.h (KB_F32_ONLY leaves them out); realised for the suite's
#     fp16 problems, none includes cuda_bf16.h; for a bf16 product, the
#     products' templates do. Each checked by `nvcc -M` (preprocessing only)
#     on the realisation.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

heavy='cooperative_groups'
hits=$(grep -rln "^[[:space:]]*#[[:space:]]*include[[:space:]]*<$heavy" templates/ 2>/dev/null)
[ -z "$hits" ] && ok "no template includes cooperative groups" ||
	not_ok "no template includes cooperative groups" "$hits"

nvcc=${KBREED_NVCC:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}
[ -x "$nvcc" ] || nvcc=nvcc
# Not under the sanitizers: nvcc's preprocessing is the same there, and the
# realisations are the other template tests' too.
if [ -n "${SANITIZER_LOGS:-}" ] || ! command -v "$nvcc" >/dev/null; then
	echo "# no nvcc, or the sanitizer run: the realisations' headers not checked"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

# deps TEMPLATE PROBLEM: the headers nvcc reads for the realisation, one a line.
deps() {
	local tag
	tag=$(basename "$2" .py)
	"$K" -q template --for "$2" "$1" >"$tmp/src/$1-$tag.cu" 2>"$tmp/err" || return 1
	"$nvcc" -M -std=c++17 -arch=sm_90a -I"$root/include" "$tmp/src/$1-$tag.cu" 2>>"$tmp/err" |
		tr ' \\' '\n\n' | grep '\.h' >"$tmp/deps" || return 1
}

# check TEMPLATE PROBLEM "HEADER..." (must not) ["HEADER..." (must)]
check() {
	local bad="" miss="" h
	if ! deps "$1" "$2"; then
		not_ok "$1 for $(basename "$2" .py): realised and preprocessed" "$(cat "$tmp/err")"
		return
	fi
	for h in $3; do grep -q "/$h\$" "$tmp/deps" && bad="$bad $h"; done
	for h in ${4:-}; do grep -q "/$h\$" "$tmp/deps" || miss="$miss $h"; done
	[ -z "$bad$miss" ] && ok "$1 for $(basename "$2" .py): not$(printf ' %s' $3)${4:+; with $4}" ||
		not_ok "$1 for $(basename "$2" .py): headers${bad:+ included:$bad}${miss:+ missing:$miss}"
}

# The templates serving OP, from `kbreed template`.
serving() {
	"$K" template 2>/dev/null | awk -v op="$1" '/^[a-z]/ {
		s = $0; sub(/.*serves /, "", s); sub(/\)$/, "", s); n = split(s, o, " ")
		for (i = 1; i <= n; i++) if (o[i] == op) print $1 }'
}

fp32_ops="layernorm softmax rmsnorm gelu cumsum matmul_fp32 conv2d conv2d_relu_maxpool"
n=0
for p in $fp32_ops; do
	for t in $(serving "$p"); do
		check "$t" "$p" "cuda_fp16.h cuda_bf16.h cooperative_groups.h"
		n=$((n + 1))
	done
done
# A pure pointwise graph: pointwise_vec, with the graph's body.
cat >"$tmp/p/pointwise_fp32.py" <<'EOF'
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.relu(x) * 0.5 + 1.0


def get_inputs():
    return [torch.randn(64, 1000)]


def get_init_inputs():
    return []
EOF
check pointwise_vec "$tmp/p/pointwise_fp32.py" "cuda_fp16.h cuda_bf16.h"
# The other families' fp32 problems of tests/data: the templates serving each's op.
for f in odd_dwconv_aligned odd_dwsep odd_conv2d_pointwise_vec odd_groupnorm odd_l2norm odd_loss_hinge \
	odd_matvec odd_pool_avg1d odd_frobenius odd_reduce_prod odd_matmul_fp32_tril_diag; do
	[ -f "tests/data/$f.py" ] || continue
	op=$("$K" -q describe "tests/data/$f.py" 2>/dev/null | sed -n 's/^family .*, op \([a-z_0-9]*\) (.*/\1/p')
	[ -n "$op" ] || { not_ok "$f: described"; continue; }
	for t in $(serving "$op"); do
		check "$t" "tests/data/$f.py" "cuda_fp16.h cuda_bf16.h cooperative_groups.h"
		n=$((n + 1))
	done
done
[ $n -ge 20 ] && ok "the fp32 problems' templates checked ($n)" || not_ok "the fp32 problems' templates checked ($n)"
for p in matmul_fp16 attention_fp16; do
	for t in $(serving "$p"); do
		check "$t" "$p" "cuda_bf16.h cooperative_groups.h" "cuda_fp16.h"
	done
done
# bf16 products: the element type's header is there.
for t in gemm_wgmma_f16 gemm_mma_f16; do
	check "$t" tests/data/odd_matmul_bf16_batched.py "cooperative_groups.h" "cuda_bf16.h"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
