#!/bin/bash
# tests/bridge/test_attention.sh [PYTHON] - the flash templates' host side
# for what recognition sends them beyond plain fp16 attention: the problem
# facts reach the realisation (`kbreed template --for` of an odd bf16 causal
# problem writes ATTN_BF16, ATTN_CAUSAL and ATTN_HEAD_DIM), nvcc compiles flash_mma and
# flash_wgmma for it and for fp16 attention with a head dim no kernel is
# instantiated for (D = 80), and each compiled kbreed_forward takes its
# problem's shapes (build/tests/shape_probe, no GPU). Then what they must
# refuse: a bf16 realisation given fp16 tensors, and in flash_mma a head dim
# that is no multiple of 8 (rows not 16-byte aligned) or above 256, while it
# takes 200 (run as 256) where the problem (D = 80, declared by its file)
# names no head dim; the bf16 problem's ATTN_HEAD_DIM 128 keeps only
# flash_mma's kernel of head dims 97 to 128, and 200 is refused there. Recognition of causal, scaled and bf16 SDPA graphs
# is test_graph's (torch 2.11's graphs; the torch here has no SDPA); the
# kernels' results are `make test-gpu`'s (scripts/plans/attention.plan).
# The compiles and probes are skipped in the sanitizer run.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

cp tests/data/odd_attention_fp16_d80.py tests/data/odd_attention_bf16_causal.py "$tmp/p/"
for f in "$tmp"/p/*.py; do
	describe "$f"
	realise flash_mma "$f" flash_mma
	realise flash_wgmma "$f" flash_wgmma
done
want_op odd_attention_bf16_causal attention_bf16 "ATTN_BF16 1" "ATTN_CAUSAL 1" -ATTN_SCALE "ATTN_HEAD_DIM 128"
want_op odd_attention_fp16_d80 attention_fp16 -ATTN_BF16 -ATTN_CAUSAL -ATTN_SCALE
for t in flash_mma flash_wgmma; do
	src=$tmp/src/odd_attention_bf16_causal--$t.cu
	grep -q "^#define ATTN_BF16 1$" "$src" && grep -q "^#define ATTN_CAUSAL 1$" "$src" &&
		ok "$t: the problem's ATTN_BF16 and ATTN_CAUSAL in its realisation" ||
		not_ok "$t: the problem's ATTN_BF16 and ATTN_CAUSAL in its realisation"
done
compile_realisations

# probe WANT NAME TEMPLATE SPEC...: shape_probe on the compiled realisation
# of TEMPLATE for problem NAME, with the tensors SPEC (IN... -- OUT...):
# WANT 0 takes them, 1 refuses them (KB_ERR_SHAPE).
probe() {
	local want=$1 name=$2 t=$3 so rc
	shift 3
	so=$(grep -F "$tmp/src/$name--$t.cu: ok" "$tmp/compiled" | awk '{ print $NF }')
	if [ -z "$so" ] || [ ! -f "$so" ]; then
		not_ok "$t for $name: compiled, to probe $*"
		return
	fi
	"$B/tests/shape_probe" "$so" "$@" >/dev/null 2>&1
	rc=$?
	[ $rc -eq "$want" ] && ok "$t ($name): $([ "$want" = 0 ] && echo takes || echo refuses) $*" ||
		not_ok "$t ($name): $([ "$want" = 0 ] && echo takes || echo refuses) $* (shape_probe exit $rc)"
}
# q, k, v and out of dtype $1 and head dim $2
qkv() { echo "$1:2x3x7x$2 $1:2x3x9x$2 $1:2x3x9x$2 -- $1:2x3x7x$2"; }
if [ -z "${SANITIZER_LOGS:-}" ]; then
	for t in flash_mma flash_wgmma; do
		# shellcheck disable=SC2046
		{
			probe 1 odd_attention_bf16_causal $t $(qkv f16 128)
			probe 0 odd_attention_bf16_causal $t $(qkv bf16 72)
			probe 1 odd_attention_fp16_d80 $t $(qkv bf16 80)
		}
	done
	# shellcheck disable=SC2046
	{
		probe 1 odd_attention_fp16_d80 flash_mma $(qkv f16 100)
		probe 1 odd_attention_fp16_d80 flash_mma $(qkv f16 264)
		probe 0 odd_attention_fp16_d80 flash_mma $(qkv f16 200)
		probe 0 odd_attention_fp16_d80 flash_mma $(qkv f16 24)
		# ATTN_HEAD_DIM 128 compiled only the kernel of head dims 97-128:
		# 200 has none (flash_wgmma says so only after its GPU setup,
		# which the probe cannot pass)
		probe 1 odd_attention_bf16_causal flash_mma $(qkv bf16 200)
	}
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
