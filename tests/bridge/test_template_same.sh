#!/bin/sh
# tests/bridge/test_template_same.sh [PYTHON] - a template's same lines
# ("// same: WHEN... as AS...": genomes with the WHEN values run as with the
# AS values, the template overriding those knobs there) tell the truth, and
# kbreed acts on them. For each line of each template under templates/:
#   - the template realised for an odd problem it serves (the table below)
#     at its defaults with the WHEN values, and the same source with the AS
#     values in place of the WHEN ones, compile to the same PTX (sm_90a):
#     the line names no difference the kernel has;
#   - `kbreed template --for` asked for the WHEN values realises the AS
#     ones and says so on stderr;
#   - `kbreed template` lists the line under the template's knobs.
# And each "// check:" and "// start ARCH:" line's settings realise as
# asked (a start line also listed by `kbreed template`).
# Under the sanitizers (SANITIZER_LOGS) the PTX comparisons are skipped.
# Parsing (a knob or value not in the template, no "as") is covered by
# test_playbook; the search's use (no genome judged twice, an idea that
# only restates its parent not offered) likewise.
# Prints "ok - ..." / "not ok - ..." and "N passed, M failed" last.
set -u
cd "$(dirname "$0")/../.." || exit 2
[ $# -gt 0 ] && export KBREED_PYTHON="$1"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -20 | sed 's/^/  /'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
K=${KBREED_BUILD:-build}/kbreed
nvcc=${KBREED_NVCC:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}
[ -x "$nvcc" ] || nvcc=nvcc

# The odd problem each template with same lines is checked on.
problem_for() {
	case $1 in
	conv_igemm) echo tests/data/odd_conv2d.py ;;
	gemm_wgmma_tf32) echo tests/data/odd_matmul_fp32.py ;;
	gemm_wgmma_f16) echo tests/data/odd_matmul_fp16.py ;;
	gemv) echo tests/data/odd_matvec.py ;;
	softmax_cluster) echo tests/data/odd_softmax_cluster_vec.py ;;
	conv_dwsep) echo tests/data/kb_conv_dwsep.py ;;
	conv_pointwise) echo tests/data/odd_conv2d_pointwise_vec.py ;;
	pool_nd) echo tests/data/odd_pool_max3d_rows.py ;;
	layernorm_split) echo tests/data/odd_layernorm_vec.py ;;
	*) echo "" ;;
	esac
}

"$K" template >"$tmp/list" 2>&1 || not_ok "kbreed template lists the templates" "$(cat "$tmp/list")"
n_lines=0
for f in templates/*/*.cu; do
	grep -q '^// same: ' "$f" || continue
	t=$(sed -n 's|^// kbreed-template: ||p' "$f")
	p=$(problem_for "$t")
	if [ -z "$p" ]; then
		not_ok "$t: an odd problem to check its same lines on (add one to problem_for)"
		continue
	fi
	i=0
	sed -n 's|^// same: ||p' "$f" >"$tmp/$t.same"
	while read -r line; do
		i=$((i + 1))
		n_lines=$((n_lines + 1))
		when=${line%% as *}
		as=${line#* as }
		# The listing shows the line.
		awk -v t="$t" -v l="  same: $line" '/^[a-z]/ { cur = $1 } cur == t && $0 == l { found = 1 } END { exit !found }' \
			"$tmp/list" && ok "$t: kbreed template lists 'same: $line'" ||
			not_ok "$t: kbreed template lists 'same: $line'"
		# Realised as asked (WHEN), kbreed writes the AS values, and says so.
		if ! "$K" template --for "$p" "$t" $when >"$tmp/$t-$i-asked.cu" 2>"$tmp/$t-$i.err"; then
			not_ok "$t: realised with $when" "$(cat "$tmp/$t-$i.err")"
			continue
		fi
		want=$(for kv in $as; do echo "#define ${kv%%=*} ${kv#*=}"; done)
		got=$(for kv in $as; do grep -x "#define ${kv%%=*} [-0-9]*" "$tmp/$t-$i-asked.cu" | head -1; done)
		[ "$got" = "$want" ] && grep -q "runs .* as .*(its same: lines)" "$tmp/$t-$i.err" &&
			ok "$t: asked for $when, realises $as and says so" ||
			not_ok "$t: asked for $when, realises $as and says so" "$got
$(cat "$tmp/$t-$i.err")"
		# The kernel as realised (AS), and the same source with the WHEN
		# values back in the knobs' define lines: the same PTX (nvcc's
		# work, not kbreed's: not again under the sanitizers).
		[ -z "${SANITIZER_LOGS:-}" ] || continue
		cp "$tmp/$t-$i-asked.cu" "$tmp/$t-$i-as.cu"
		cp "$tmp/$t-$i-asked.cu" "$tmp/$t-$i-when.cu"
		for kv in $when; do
			k=${kv%%=*}
			# the knob's define line only (the first): the template's own lines stay
			sed -i "0,/^#define $k [-0-9]*\$/s||#define $k ${kv#*=}|" "$tmp/$t-$i-when.cu"
		done
		if cmp -s "$tmp/$t-$i-as.cu" "$tmp/$t-$i-when.cu"; then
			not_ok "$t: the WHEN source of '$line' differs from the AS one" "(no define was rewritten)"
			continue
		fi
		for side in as when; do
			"$nvcc" -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -Iinclude -ptx \
				-o "$tmp/$t-$i-$side.ptx" "$tmp/$t-$i-$side.cu" >"$tmp/$t-$i-$side.log" 2>&1 ||
				not_ok "$t: '$line': the $side side compiles" "$(head -20 "$tmp/$t-$i-$side.log")"
		done
		[ -s "$tmp/$t-$i-as.ptx" ] && cmp -s "$tmp/$t-$i-as.ptx" "$tmp/$t-$i-when.ptx" &&
			ok "$t: '$line' compiles to the same PTX" ||
			not_ok "$t: '$line' compiles to the same PTX" "$(diff "$tmp/$t-$i-as.ptx" "$tmp/$t-$i-when.ptx" | head -10)"
	done <"$tmp/$t.same"
done
[ "$n_lines" -gt 0 ] && ok "$n_lines same lines checked" || not_ok "some template has same lines to check"

# "// check: KNOB=V..." lines (settings make test-gpu's section 3 judges as
# well) and "// start ARCH: KNOB=V..." lines (settings round 0 also judges
# on ARCH): each names knob values of its template, and realises with every
# one of them in place (no same line rewrites a setting it asks for).
realises_as_asked() { # TEMPLATE LINE SETTINGS...
	local t=$1 line=$2 missing="" kv
	shift 2
	if ! "$K" -q template "$t" "$@" >"$tmp/$t-asked.cu" 2>"$tmp/$t-asked.err"; then
		not_ok "$t: '$line' realises" "$(cat "$tmp/$t-asked.err")"
		return
	fi
	for kv in "$@"; do
		grep -qx "#define ${kv%%=*} ${kv#*=}" "$tmp/$t-asked.cu" || missing="$missing $kv"
	done
	[ -z "$missing" ] && ok "$t: '$line' realises as asked" || not_ok "$t: '$line' realises as asked" "rewritten:$missing"
}
n_checks=0
n_starts=0
for f in templates/*/*.cu; do
	t=$(sed -n 's|^// kbreed-template: ||p' "$f")
	sed -n 's|^// check: ||p' "$f" >"$tmp/$t.check"
	while read -r settings; do
		n_checks=$((n_checks + 1))
		# shellcheck disable=SC2086
		realises_as_asked "$t" "check: $settings" $settings
	done <"$tmp/$t.check"
	sed -n 's|^// start ||p' "$f" >"$tmp/$t.start"
	while read -r line; do
		n_starts=$((n_starts + 1))
		# shellcheck disable=SC2086
		realises_as_asked "$t" "start $line" ${line#*:}
		awk -v t="$t" -v l="  start $line" '/^[a-z]/ { cur = $1 } cur == t && $0 == l { found = 1 } END { exit !found }' \
			"$tmp/list" && ok "$t: kbreed template lists 'start $line'" ||
			not_ok "$t: kbreed template lists 'start $line'"
	done <"$tmp/$t.start"
done
[ "$n_checks" -gt 0 ] && ok "$n_checks check lines realised" || not_ok "some template has check lines"
[ "$n_starts" -gt 0 ] && ok "$n_starts start lines realised" || not_ok "some template has start lines"
[ -z "${SANITIZER_LOGS:-}" ] || echo "# skip: the PTX comparisons (nvcc's, done in the plain run)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
