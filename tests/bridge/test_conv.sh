#!/bin/bash
# tests/bridge/test_conv.sh [PYTHON] - the implicit-GEMM convolution template
# on real graphs: for scaled-down copies of KernelBench level 1's
# convolutions ($KBREED_KERNELBENCH/level1: 1-D to 3-D, strided, padded,
# dilated, grouped, transposed) and the odd-shaped ones of tests/data
# (odd_conv*.py: 1-D, 3-D, dilation, groups, a 1x1 kernel, asymmetric
# hyper-parameters, transposed with stride 1 and above, output padding, no
# bias), recognition names the op and writes the CONV_* defines, `kbreed
# template conv_igemm --for` realises them, and nvcc compiles them at the
# defaults and at the knob extremes, the odd ones also with the products
# on wgmma (WGMMA=1), overlapped with the next slice's loads (OVERLAP=1),
# that one on 3xTF32 and 3xBF16 (PRECISION=3 and 2) in turn (sm_90a; not
# in the sanitizer run).
# The ops it does not serve (depthwise, depthwise-separable) are refused:
# `kbreed template` does not list them among its ops, a dry run's round 0
# holds conv_igemm for the others and not for them, and a run on the fake
# GPU proposes conv_igemm kernels for a grouped transposed conv and none
# for a depthwise one.
# The phase split (PHASES=1) of the strided transposed convs: recognition
# marks them (CONV_TRANSPOSED_STRIDED, and only them), their PHASES=1
# realisations compile and take the problem's shapes, PHASES=1 compiles to
# the PTX of PHASES=0 where the division gather does not apply (and not
# where it does), its index arithmetic
# (templates/common/conv_phase.cuh) rebuilds each transposed conv phase by
# phase as PyTorch computes it (conv_phase_check.py, on the CPU), and a
# fake-GPU run proposes the idea for a strided transposed conv and not for
# a forward one.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

# The ops conv_igemm serves, from its header.
served=$(sed -n 's|^// problems: ||p' templates/conv/conv_igemm.cu)
serves() { case " $served " in *" $1 "*) return 0 ;; esac; return 1; }
for op in conv1d conv2d conv3d conv2d_grouped conv_transpose1d conv_transpose2d conv_transpose3d \
	conv_transpose3d_grouped conv2d_pointwise conv2d_relu_maxpool; do
	serves $op && ok "conv_igemm serves $op" || not_ok "conv_igemm serves $op" "$served"
done
for op in conv2d_depthwise conv1d_depthwise conv3d_depthwise conv2d_depthwise_separable conv2d_chain; do
	serves $op && not_ok "conv_igemm does not serve $op" "$served" || ok "conv_igemm does not serve $op"
done
"$K" template 2>/dev/null | grep '^conv_igemm' | grep -q 'conv_transpose3d_grouped' &&
	ok "kbreed template lists conv_igemm's new ops" || not_ok "kbreed template lists conv_igemm's new ops"

# The problems: level 1's convolutions (scaled down) where present, and the
# odd-shaped ones of tests/data.
level1_copies $(cd "$bench/level1" 2>/dev/null && ls *_conv_*.py 2>/dev/null | sed 's/\.py$//')
cp tests/data/odd_conv*.py "$tmp/p/"
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 convolutions, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: recognised as a conv with CONV_DIMS (or declared by the file);
# realised where served, at the defaults; the odd ones also at every
# knob's lowest and highest values.
n_served=0
n_refused=0
n_phased=0
n_odd=0
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	op=$(sed -n 's/^family *conv, op \([a-z_0-9]*\) (.*/\1/p' "$tmp/$name.desc")
	if [ -z "$op" ]; then
		not_ok "$name: recognised as a convolution" "$(head -5 "$tmp/$name.desc")"
		continue
	fi
	if grep -q '(recognised)' "$tmp/$name.desc"; then
		grep -q '^#define CONV_DIMS [123]$' "$tmp/$name.desc" && grep -q '^#define CONV_GROUPS ' "$tmp/$name.desc" &&
			ok "$name: recognised as $op with CONV_DIMS and CONV_GROUPS" ||
			not_ok "$name: recognised as $op with CONV_DIMS and CONV_GROUPS" "$(grep '^#define' "$tmp/$name.desc")"
	fi
	if ! serves "$op"; then
		n_refused=$((n_refused + 1))
		continue
	fi
	n_served=$((n_served + 1))
	realise conv_igemm "$f" default
	case $name in
	odd_*)
		realise conv_igemm "$f" low BM=64 BN=32 BK=16 WARPS=4 STAGES=2 PRECISION=1 PHASES=0
		realise conv_igemm "$f" high BM=256 BN=128 BK=32 WARPS=8 STAGES=4 PRECISION=3 PHASES=1
		# wgmma (sm_90a): BN 32 and BK 16 run as 64 and 32, one warpgroup of two m64 tiles
		realise conv_igemm "$f" wgmma BM=256 BN=32 BK=16 WARPS=4 STAGES=2 PRECISION=3 PHASES=1 WGMMA=1
		# and overlapped (wait_group 1, two A register sets), two m64 tiles of
		# 64 columns, 3xTF32 and 3xBF16 on every other file
		n_odd=$((n_odd + 1))
		realise conv_igemm "$f" overlap BM=128 BN=64 BK=32 WARPS=4 STAGES=3 PRECISION=$((2 + n_odd % 2)) PHASES=1 \
			WGMMA=1 OVERLAP=1 ;;
	esac
	# The phase split where it applies: at the defaults, and for the odd
	# ones with the lowest tile too (its smallest tiles see most phases end).
	if grep -qx '#define CONV_TRANSPOSED_STRIDED 1' "$tmp/$name.desc"; then
		n_phased=$((n_phased + 1))
		realise conv_igemm "$f" phases PHASES=1
		case $name in
		odd_*) realise conv_igemm "$f" phaseslow BM=64 BN=32 BK=16 WARPS=4 STAGES=2 PRECISION=1 PHASES=1 ;;
		esac
	fi
done
echo "# $n_phased strided transposed convolutions realised with PHASES=1"
[ "$n_phased" -ge 3 ] && ok "at least 3 strided transposed convolutions realised with PHASES=1 ($n_phased)" ||
	not_ok "at least 3 strided transposed convolutions realised with PHASES=1 ($n_phased)"
echo "# $n_served served, $n_refused refused (depthwise and the like)"
[ "$n_served" -ge 15 ] && ok "at least 15 convolutions served ($n_served)" ||
	not_ok "at least 15 convolutions served ($n_served)"

# The defines say what each graph computes.
want odd_conv1d "CONV_DIMS 1" "CONV_STRIDE_W 3" "CONV_PAD_W 2" "CONV_DIL_W 2" "CONV_BIAS 1" "CONV_TRANSPOSED 0"
want odd_conv2d_dilated "CONV_DIMS 2" "CONV_STRIDE_H 1" "CONV_STRIDE_W 2" "CONV_PAD_H 2" "CONV_PAD_W 3" \
	"CONV_DIL_H 2" "CONV_DIL_W 3" "CONV_BIAS 0"
want odd_conv3d "CONV_DIMS 3" "CONV_STRIDE_D 2" "CONV_PAD_W 2" "CONV_DIL_H 2" "CONV_GROUPS 1"
want odd_conv2d_grouped "CONV_DIMS 2" "CONV_GROUPS 3" "CONV_STRIDE 2"
want odd_conv3d_grouped "CONV_DIMS 3" "CONV_GROUPS 2" "CONV_PAD_W 0" "CONV_COUT_GROUP 5"
want odd_conv_transpose1d "CONV_DIMS 1" "CONV_TRANSPOSED 1" "CONV_DIL_W 3" "CONV_OUT_PAD_W 2" "CONV_STRIDE_W 1"
want odd_conv_transpose1d_strided "CONV_TRANSPOSED 1" "CONV_STRIDE_W 2" "CONV_OUT_PAD_W 1"
want odd_conv_transpose2d "CONV_TRANSPOSED 1" "CONV_STRIDE 1" "CONV_PAD_H 1" "CONV_PAD_W 3" "CONV_DIL_H 2"
want odd_conv_transpose2d_strided "CONV_TRANSPOSED 1" "CONV_STRIDE_H 2" "CONV_STRIDE_W 3" "CONV_OUT_PAD_W 2" "CONV_GROUPS 2"
want odd_conv_transpose3d_grouped "CONV_DIMS 3" "CONV_TRANSPOSED 1" "CONV_GROUPS 4" "CONV_OUT_PAD_D 1" "CONV_DIL_H 2"
want odd_conv_transpose1d_strided "CONV_TRANSPOSED_STRIDED 1"
want odd_conv_transpose2d_strided "CONV_TRANSPOSED_STRIDED 1"
want odd_conv_transpose3d_grouped "CONV_TRANSPOSED_STRIDED 1"
# Not for a stride-1 transposed conv, nor for a strided forward one.
for p in odd_conv_transpose1d odd_conv_transpose2d odd_conv1d odd_conv2d_grouped; do
	lacks "$p" CONV_TRANSPOSED_STRIDED
done
# CONV_STRIDED: a stride above 1 on some axis, forward or transposed.
for p in odd_conv1d odd_conv2d_grouped odd_conv3d odd_conv_transpose2d_strided; do
	want "$p" "CONV_STRIDED 1"
done
for p in odd_conv_transpose1d odd_conv_transpose2d odd_conv2d_wide_grouped odd_conv3d_grouped; do
	lacks "$p" CONV_STRIDED
done
# The ops' names: what the problems line is matched against.
want_op odd_conv2d_pointwise conv2d_pointwise
want_op odd_conv_transpose2d_strided conv_transpose2d_grouped
want_op odd_conv_transpose3d_grouped conv_transpose3d_grouped
want_op 82_conv_depthwise_2D_square_input_square_kernel conv2d_depthwise
want_op 86_conv_depthwise_separable_2D conv2d_depthwise_separable

compile_realisations

# ptx NAME OUT KNOB=V...: conv_igemm realised for $tmp/p/NAME.py at those
# knobs and compiled to $tmp/OUT.ptx (diagnostics in $tmp/err).
ptx() {
	ptx_name=$1 ptx_out=$2
	shift 2
	"$K" -q template conv_igemm --for "$tmp/p/$ptx_name.py" "$@" >"$tmp/$ptx_out.cu" 2>"$tmp/err" &&
		nvcc -arch=sm_90a -ptx -I"$root/include" -o "$tmp/$ptx_out.ptx" "$tmp/$ptx_out.cu" 2>>"$tmp/err"
}

# Where the division gather does not apply (a forward conv, a stride-1
# transposed one) PHASES=1 is PHASES=0: the same device code, PTX for PTX.
if [ -z "${SANITIZER_LOGS:-}" ] && command -v nvcc >/dev/null; then
	for name in odd_conv2d_grouped odd_conv_transpose2d; do
		[ -f "$tmp/p/$name.py" ] || continue
		for ph in 0 1; do
			ptx "$name" "ptx-$name-$ph" PHASES=$ph
		done
		[ -s "$tmp/ptx-$name-0.ptx" ] && cmp -s "$tmp/ptx-$name-0.ptx" "$tmp/ptx-$name-1.ptx" &&
			ok "$name: PHASES=1 compiles to the PTX of PHASES=0" ||
			not_ok "$name: PHASES=1 compiles to the PTX of PHASES=0" "$(cat "$tmp/err")"
	done
	# ... and where it applies, it does not.
	name=odd_conv_transpose2d_strided
	for ph in 0 1; do
		ptx "$name" "ptx-$name-$ph" PHASES=$ph
	done
	[ -s "$tmp/ptx-$name-1.ptx" ] && ! cmp -s "$tmp/ptx-$name-0.ptx" "$tmp/ptx-$name-1.ptx" &&
		grep -q conv_prep_phase_weights "$tmp/ptx-$name-1.ptx" &&
		ok "$name: PHASES=1 compiles to the phase split" ||
		not_ok "$name: PHASES=1 compiles to the phase split" "$(cat "$tmp/err")"
	# NHWC=1: the channels-last gather (its pre-pass, conv_prep_input) for
	# a grouped forward conv; for the strided transposed one, not with the
	# division gather (PHASES=0: the PTX of NHWC=0, made above), and each
	# phase's at PHASES=1 (NHWC=2: 8 channels' bf16 halves a copy, wgmma
	# reading A by descriptor).
	ptx "$name" "nhwc-t" NHWC=1
	[ -s "$tmp/nhwc-t.ptx" ] && cmp -s "$tmp/ptx-$name-0.ptx" "$tmp/nhwc-t.ptx" &&
		ok "$name: NHWC=1 at PHASES=0 compiles to the PTX of NHWC=0" ||
		not_ok "$name: NHWC=1 at PHASES=0 compiles to the PTX of NHWC=0" "$(cat "$tmp/err")"
	ptx "$name" "nhwc-tp" NHWC=1 PHASES=1
	[ -s "$tmp/nhwc-tp.ptx" ] && grep -q conv_prep_input "$tmp/nhwc-tp.ptx" &&
		grep -q conv_prep_phase_weights "$tmp/nhwc-tp.ptx" &&
		grep -q 'cp.async.ca.shared.global.*16' "$tmp/nhwc-tp.ptx" &&
		! grep -Eq 'cp.async.ca.shared.global \[[^]]*\], \[[^]]*\], 4,' "$tmp/nhwc-tp.ptx" &&
		ok "$name: NHWC=1 at PHASES=1 compiles to the phase split with the channels-last gather" ||
		not_ok "$name: NHWC=1 at PHASES=1 compiles to the phase split with the channels-last gather" "$(cat "$tmp/err")"
	ptx "$name" "nhwc2-tp" NHWC=2 PHASES=1 WGMMA=1 PRECISION=2 BN=32
	[ -s "$tmp/nhwc2-tp.ptx" ] && grep -q conv_prep_input "$tmp/nhwc2-tp.ptx" &&
		grep -q conv_prep_phase_weights "$tmp/nhwc2-tp.ptx" &&
		grep -Eq 'wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 *\{[^}]*\}, *%rd[0-9]+, *%rd[0-9]+' \
			"$tmp/nhwc2-tp.ptx" && ! grep -q 'ldmatrix' "$tmp/nhwc2-tp.ptx" &&
		ok "$name: NHWC=2 at PHASES=1 compiles to the phase split with wgmma m64n32 from shared memory" ||
		not_ok "$name: NHWC=2 at PHASES=1 compiles to the phase split with wgmma m64n32 from shared memory" "$(cat "$tmp/err")"
	name=odd_conv2d_grouped
	ptx "$name" "nhwc-g" NHWC=1
	[ -s "$tmp/nhwc-g.ptx" ] && grep -q conv_prep_input "$tmp/nhwc-g.ptx" &&
		grep -q 'cp.async.ca.shared.global.*16' "$tmp/nhwc-g.ptx" &&
		ok "$name: NHWC=1 compiles to the channels-last gather" ||
		not_ok "$name: NHWC=1 compiles to the channels-last gather" "$(cat "$tmp/err")"
	# NHWC=2 on the 3xBF16 wgmma path: A by descriptor (wgmma with two
	# descriptors, no ldmatrix), x split into bf16 by the pre-pass; off that
	# path it is NHWC=1's kernel.
	ptx "$name" "nhwc2" NHWC=2 WGMMA=1 PRECISION=2
	[ -s "$tmp/nhwc2.ptx" ] && grep -q conv_prep_input "$tmp/nhwc2.ptx" &&
		grep -q 'cvt.rn.bf16x2.f32' "$tmp/nhwc2.ptx" &&
		grep -Eq 'wgmma.mma_async.sync.aligned.m64n[0-9]+k16.f32.bf16.bf16 *\{[^}]*\}, *%rd[0-9]+, *%rd[0-9]+' \
			"$tmp/nhwc2.ptx" &&
		! grep -q 'ldmatrix' "$tmp/nhwc2.ptx" &&
		ok "$name: NHWC=2 compiles to wgmma with A from shared memory" ||
		not_ok "$name: NHWC=2 compiles to wgmma with A from shared memory" "$(cat "$tmp/err")"
	# NHWC=3: the same layout, A loaded by ldmatrix into registers (wgmma
	# with a register list for A), no split in the main kernel's loop.
	ptx "$name" "nhwc3" NHWC=3 WGMMA=1 PRECISION=2
	[ -s "$tmp/nhwc3.ptx" ] && grep -q conv_prep_input "$tmp/nhwc3.ptx" &&
		grep -Eq 'wgmma.mma_async.sync.aligned.m64n[0-9]+k16.f32.bf16.bf16 *\{[^}]*\}, *\{%r[0-9]+' "$tmp/nhwc3.ptx" &&
		grep -q 'ldmatrix' "$tmp/nhwc3.ptx" && ! cmp -s "$tmp/nhwc2.ptx" "$tmp/nhwc3.ptx" &&
		ok "$name: NHWC=3 compiles to wgmma with A from registers, loaded by ldmatrix" ||
		not_ok "$name: NHWC=3 compiles to wgmma with A from registers, loaded by ldmatrix" "$(cat "$tmp/err")"
	ptx "$name" "nhwc2-0" NHWC=2 WGMMA=0
	[ -s "$tmp/nhwc2-0.ptx" ] && cmp -s "$tmp/nhwc-g.ptx" "$tmp/nhwc2-0.ptx" &&
		ok "$name: NHWC=2 off the wgmma path compiles to the PTX of NHWC=1" ||
		not_ok "$name: NHWC=2 off the wgmma path compiles to the PTX of NHWC=1" "$(cat "$tmp/err")"
	# NHWC=4 on a strided conv (this one) is NHWC=2's kernel, PTX for PTX ...
	ptx "$name" "nhwc4-s" NHWC=4 WGMMA=1 PRECISION=2
	[ -s "$tmp/nhwc4-s.ptx" ] && cmp -s "$tmp/nhwc2.ptx" "$tmp/nhwc4-s.ptx" &&
		ok "$name: NHWC=4 with a stride above 1 compiles to the PTX of NHWC=2" ||
		not_ok "$name: NHWC=4 with a stride above 1 compiles to the PTX of NHWC=2" "$(cat "$tmp/err")"
	# ... and on one of stride 1 the operands come by TMA: a 5-D box of x and
	# a 3-D one of the weights on an mbarrier, wgmma reading both from shared
	# memory as at NHWC=2, no gather's cp.async in the main kernel.
	name=odd_conv2d_wide_grouped
	ptx "$name" "nhwc4" NHWC=4 WGMMA=1 PRECISION=2
	[ -s "$tmp/nhwc4.ptx" ] && grep -q conv_prep_input "$tmp/nhwc4.ptx" &&
		grep -q 'cp.async.bulk.tensor.5d.shared::cluster.global.tile.mbarrier' "$tmp/nhwc4.ptx" &&
		grep -q 'cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier' "$tmp/nhwc4.ptx" &&
		grep -q 'mbarrier.try_wait.parity' "$tmp/nhwc4.ptx" &&
		grep -Eq 'wgmma.mma_async.sync.aligned.m64n[0-9]+k16.f32.bf16.bf16 *\{[^}]*\}, *%rd[0-9]+, *%rd[0-9]+' \
			"$tmp/nhwc4.ptx" &&
		! grep -q 'cp.async.ca.shared.global' "$tmp/nhwc4.ptx" && ! grep -q 'ldmatrix' "$tmp/nhwc4.ptx" &&
		ok "$name: NHWC=4 compiles to TMA boxes of x and the weights, and wgmma from shared memory" ||
		not_ok "$name: NHWC=4 compiles to TMA boxes of x and the weights, and wgmma from shared memory" "$(cat "$tmp/err")"
	# A fused pool keeps NHWC=2 (its epilogue wants a run of positions).
	name=odd_conv2d_relu_maxpool_small
	ptx "$name" "nhwc2-p" NHWC=2 WGMMA=1 PRECISION=2
	ptx "$name" "nhwc4-p" NHWC=4 WGMMA=1 PRECISION=2
	[ -s "$tmp/nhwc4-p.ptx" ] && cmp -s "$tmp/nhwc2-p.ptx" "$tmp/nhwc4-p.ptx" &&
		ok "$name: NHWC=4 with a fused pool compiles to the PTX of NHWC=2" ||
		not_ok "$name: NHWC=4 with a fused pool compiles to the PTX of NHWC=2" "$(cat "$tmp/err")"
fi

# The phase split's index arithmetic, on the CPU: every transposed conv
# here (level 1's and the odd ones) rebuilt phase by phase from the
# template's own conv_phase.cuh matches PyTorch, each output written once.
tfiles=$(ls "$tmp"/p/*transpose*.py 2>/dev/null)
"$KBREED_PYTHON" tests/bridge/conv_phase_check.py templates/common/conv_phase.cuh $tfiles >"$tmp/phase.out" 2>&1
rc=$?
n_ok=$(grep -c '^ok ' "$tmp/phase.out")
n_t=$(echo "$tfiles" | grep -c .)
sed 's/^/# /' "$tmp/phase.out" | grep -v '^# ok ' | head -20
[ $rc -eq 0 ] && [ "$n_ok" -eq "$n_t" ] && [ "$n_t" -ge 5 ] &&
	ok "the phase split rebuilds all $n_t transposed convolutions as PyTorch does" ||
	not_ok "the phase split rebuilds all $n_t transposed convolutions as PyTorch does (exit $rc, $n_ok ok)" \
		"$(grep -v '^ok ' "$tmp/phase.out")"
grep -q '^ok .*phases with no outputs' "$tmp/phase.out" && grep -q '^ok .*phases with no taps' "$tmp/phase.out" &&
	ok "the check met phases with no outputs and phases with no taps" ||
	not_ok "the check met phases with no outputs and phases with no taps" "$(cat "$tmp/phase.out")"

# A depthwise conv (groups = Cin, from odd_conv2d_grouped.py): recognised
# as such, so not one of conv_igemm's.
sed 's/nn.Conv2d(12, 30, 3, stride=2, padding=1, groups=3/nn.Conv2d(12, 24, 3, stride=2, padding=1, groups=12/' \
	tests/data/odd_conv2d_grouped.py >"$tmp/depthwise.py"
describe "$tmp/depthwise.py"
want_op depthwise conv2d_depthwise

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters):
# on sm_90a conv_igemm at its defaults and at its start lines for the
# problem, elsewhere at its defaults alone. Four lines where each group
# has more than 4 input channels (the wgmma path with A and B by TMA at
# BN = 128 first, then at BN = 64, then A by ldmatrix at BN = 64 and 32
# with the phase split); where it has 4 or fewer (CONV_NARROW_CIN: 3 in
# odd_conv3d_grouped and odd_conv_transpose2d_strided), the channels-last
# gather padded to 4 channels (NHWC=1) at BN = 128 and 64, and with the
# phase split where the conv is transposed and strided.
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
for f in "$tmp"/p/odd_conv1d.py "$tmp"/p/odd_conv3d_grouped.py "$tmp"/p/odd_conv_transpose2d_strided.py \
	"$tmp"/p/odd_conv2d.py "$tmp/depthwise.py"; do
	name=$(basename "$f" .py)
	case $name in
	depthwise) w=0 ;;
	odd_conv3d_grouped) w=3 ;;
	odd_conv_transpose2d_strided) w=4 ;;
	*) w=5 ;;
	esac
	round0_holds conv_igemm "$f" "$w"
done
for name in odd_conv3d_grouped odd_conv_transpose2d_strided; do
	n=$(sqlite3 "$tmp/$name.db" "SELECT group_concat(knobs, '; ') FROM (SELECT knobs FROM candidates
		WHERE round = 0 AND template = 'conv_igemm' AND ' ' || knobs || ' ' LIKE '% WGMMA=1 %' ORDER BY id)" 2>&1)
	case " $(printf '%s' "$n" | tr ';' ' ') " in
	*" NHWC=2 "* | *" NHWC=3 "* | *" NHWC=4 "*) not_ok "$name: round 0's start lines pad no channel past 4" "$n" ;;
	*" NHWC=1 "*) ok "$name: round 0's start lines gather channels-last padded to 4 (NHWC=1), none to 8 or 32" ;;
	*) not_ok "$name: round 0's start lines gather channels-last padded to 4 (NHWC=1)" "$n" ;;
	esac
done
describe "$tmp/p/odd_conv3d_grouped.py"
grep -q '^#define CONV_NARROW_CIN 1' "$tmp/odd_conv3d_grouped.desc" &&
	ok "odd_conv3d_grouped (3 channels a group): CONV_NARROW_CIN" ||
	not_ok "odd_conv3d_grouped (3 channels a group): CONV_NARROW_CIN" "$(cat "$tmp/odd_conv3d_grouped.desc")"
describe "$tmp/p/odd_conv1d.py"
grep -q 'CONV_NARROW_CIN' "$tmp/odd_conv1d.desc" &&
	not_ok "odd_conv1d (6 channels): no CONV_NARROW_CIN" "$(cat "$tmp/odd_conv1d.desc")" ||
	ok "odd_conv1d (6 channels): no CONV_NARROW_CIN"
round0_holds conv_igemm "$tmp/p/odd_conv2d.py" 1 --arch sm_80
n=$(sqlite3 "$tmp/odd_conv2d.db" "SELECT knobs FROM candidates WHERE round = 0 AND template = 'conv_igemm' ORDER BY id LIMIT 1" 2>&1)
case " $n " in
*" BN=128 "*" WGMMA=1 OVERLAP=0 "*" NHWC=4 "*) ok "odd_conv2d: round 0 on sm_90a judges the start line's wgmma settings first ($n)" ;;
*) not_ok "odd_conv2d: round 0 on sm_90a judges the start line's wgmma settings first" "$n" ;;
esac
for f in "$tmp"/p/8[2-6]_conv_depthwise*.py; do
	[ -f "$f" ] && round0_holds conv_igemm "$f" 0
done

# A run on the fake GPU (fake_gpu_run): a grouped transposed conv gets the
# catalogue's conv-* ideas and conv_igemm kernels after round 0, among them
# the phase split (conv-transposed-phases, its kernels at PHASES=1); a
# strided forward conv gets conv_igemm kernels but never that idea; a
# depthwise one gets no conv_igemm kernel in any round.
fake_gpu_proposes "$tmp/p/odd_conv_transpose3d_grouped.py" conv- conv_igemm
n_ph=$(run_sql "SELECT count(*) FROM ideas WHERE catalog_id = 'conv-transposed-phases'")
n_phk=$(run_sql "SELECT count(*) FROM candidates c JOIN ideas i ON c.idea = i.id
	WHERE i.catalog_id = 'conv-transposed-phases' AND c.template = 'conv_igemm' AND ' ' || c.knobs || ' ' LIKE '% PHASES=1 %'")
[ "${n_ph:-0}" -ge 1 ] 2>/dev/null && [ "${n_phk:-0}" -ge 1 ] 2>/dev/null &&
	ok "$run_name: the run proposes the phase split ($n_ph) with PHASES=1 kernels ($n_phk)" ||
	not_ok "$run_name: the run proposes the phase split with PHASES=1 kernels ($n_ph, $n_phk)" "$run_ideas"
fake_gpu_proposes "$tmp/p/odd_conv2d_grouped.py" conv- conv_igemm
run_has_no_idea conv-transposed-phases
fake_gpu_run "$tmp/depthwise.py"
n_tpl=$(run_sql "SELECT count(*) FROM candidates WHERE template = 'conv_igemm'")
[ $run_rc -eq 0 ] && [ "$n_tpl" = 0 ] && ok "depthwise: a fake-GPU run proposes no conv_igemm kernel" ||
	not_ok "depthwise: a fake-GPU run proposes no conv_igemm kernel (exit $run_rc, $n_tpl)" "$run_ideas $(tail -5 "$tmp/err")"
run_has_no_idea conv-transposed-phases
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
