#!/bin/bash
# tests/bridge/test_scan.sh [PYTHON] - the scan template on real graphs: for
# scaled-down copies of KernelBench level 1's scans ($KBREED_KERNELBENCH/level1:
# cumprod, the exclusive and the masked cumsum) and the odd-shaped scans of
# tests/data, recognition names the variant in its defines (SCAN_PROD,
# SCAN_EXCLUSIVE, SCAN_MASKED), `kbreed template cumsum_block --for` realises
# it, and nvcc compiles it at its defaults and knob extremes (sm_90a; not in
# the sanitizer run); a dry run's round 0 holds it; a reverse cumsum, which
# it does not compute, and a problem of another family are not offered it.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies 90_cumprod 92_cumsum_exclusive 93_masked_cumsum
cp tests/data/odd_cumsum*.py tests/data/odd_cumprod.py "$tmp/p/"

# The variant each should be recognised as: its op, and the define that says so.
want_of() {
	case $1 in
	90_cumprod | odd_cumprod) echo "cumprod SCAN_PROD" ;;
	92_cumsum_exclusive | odd_cumsum_exclusive) echo "cumsum_exclusive SCAN_EXCLUSIVE" ;;
	93_masked_cumsum | odd_cumsum_masked) echo "cumsum_masked SCAN_MASKED" ;;
	*) echo "cumsum -" ;;
	esac
}
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	set -- $(want_of "$name")
	describe "$f"
	if grep -q "op $1 (" "$tmp/$name.desc" && { [ "$2" = - ] || grep -q "^#define $2 1$" "$tmp/$name.desc"; }; then
		ok "$name: recognised as $1$([ "$2" = - ] || echo " ($2)")"
	else
		not_ok "$name: recognised as $1 $2" "$(cat "$tmp/$name.desc")"
	fi
	# No other variant's define: a cumsum is neither a product nor exclusive.
	others=$(grep -c '^#define SCAN_\(PROD\|EXCLUSIVE\|MASKED\|REVERSE\) ' "$tmp/$name.desc")
	[ "$others" -eq "$([ "$2" = - ] && echo 0 || echo 1)" ] && ok "$name: one variant define at most" ||
		not_ok "$name: $others variant defines" "$(cat "$tmp/$name.desc")"
	realise cumsum_block "$f" default && ok "$name: cumsum_block realised"
	case $name in
	odd_*)
		realise cumsum_block "$f" low THREADS=64 VEC=1 ITEMS=1 TRANSPOSE=0 GRID=0
		realise cumsum_block "$f" high THREADS=1024 VEC=4 ITEMS=8 TRANSPOSE=1 GRID=1 ;;
	esac
done
grep -q '^#define SCAN_MASKED 1$' "$tmp/src/odd_cumsum_masked--default.cu" &&
	ok "the masked variant's define reaches the kernel" || not_ok "the masked variant's define reaches the kernel"

# A reverse cumsum (flip, cumsum, flip) and a softmax: not offered (round 0
# below); the reverse one forced through `template --for` does not compile.
sed 's/return torch.cumsum(x, dim=self.dim)/return torch.cumsum(x.flip(self.dim), dim=self.dim).flip(self.dim)/; /^KBREED_/d' \
	tests/data/odd_cumsum.py >"$tmp/reverse.py"
sed 's/return torch.cumsum(x, dim=self.dim)/return torch.softmax(x, dim=self.dim)/; /^KBREED_/d' \
	tests/data/odd_cumsum.py >"$tmp/softmax.py"
grep -q '^#define SCAN_REVERSE 1$' <("$K" -q describe "$tmp/reverse.py" 2>&1) &&
	ok "reverse: recognised with SCAN_REVERSE" || not_ok "reverse: recognised with SCAN_REVERSE"

if [ -z "${SANITIZER_LOGS:-}" ]; then
	compile_realisations
	"$K" -q template cumsum_block --for "$tmp/reverse.py" >"$tmp/reverse.cu" 2>"$tmp/err"
	"$K" -q compile --arch sm_90a "$tmp/reverse.cu" >"$tmp/compiled" 2>&1
	log=$(sed -n 's/.*compile_error.* \(\/.*\)$/\1/p' "$tmp/compiled")
	grep -q compile_error "$tmp/compiled" && grep -q "does not compute a reverse scan" "$log" 2>/dev/null &&
		ok "reverse: cumsum_block forced on it does not compile, and says why" ||
		not_ok "reverse: cumsum_block forced on it does not compile, and says why" "$(cat "$tmp/compiled" "$log" 2>&1)"
fi

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
for f in "$tmp"/p/odd_cumprod.py "$tmp"/p/odd_cumsum_masked.py "$tmp/reverse.py" "$tmp/softmax.py"; do
	w=1
	case $(basename "$f" .py) in reverse | softmax) w=0 ;; esac
	round0_holds cumsum_block "$f" "$w"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
