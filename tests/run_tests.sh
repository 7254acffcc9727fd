#!/bin/sh
# tests/run_tests.sh - runs every test that needs no GPU (`make test`): the
# cmocka unit tests given as arguments, then the shell tests of the bridge and
# of the command line. SHELL_TESTS="tests/cli/test_show.sh ..." runs only
# the shell tests named (make test-asan UNIT_TESTS=test_store SHELL_TESTS=...
# then checks a part of kbreed under the sanitizers in minutes, not an hour).
# KBREED_TEST_JOBS tests run at once (default: the number of CPUs, at most 4):
# most tests wait on nvcc or Python, one process at a time. Each test's output
# is printed whole as soon as it ends; the longest tests start first. Ends with
# the tests that failed, if any, and one line "N passed, M failed" summing the
# test cases.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
export KBREED_PYTHON="${KBREED_PYTHON:-$PYTHON}"

# Sanitized builds (make test-asan) set SANITIZER_LOGS: every ASan or LSan
# report of a process a test started, or of its descendants that keep the
# environment, then lands in that test's directory under it, and a test that
# left one there failed whatever its own checks said (a test expecting
# "exit 1" must not pass on a report's exit). UBSan's reports stay on stderr
# (GCC 12's combined runtime ignores UBSan's log_path); their exit status, 86,
# gives them away.

# --one DIR I: runs line I of DIR/list; writes DIR/I.log (its output) and
# DIR/I.sum ("passed failed seconds"); the log's last line "# TEST: N s,
# CPU M s" (wall and CPU seconds).
if [ "${1:-}" = --one ]; then
	dir=$2 i=$3
	t=$(sed -n "${i}p" "$dir/list")
	log=$dir/$i.log
	if [ -n "${SANITIZER_LOGS:-}" ]; then
		mkdir -p "$SANITIZER_LOGS/$i"
		export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_LOGS/$i/asan"
	fi
	t0=$(date +%s)
	case $t in
	*.sh*)
		# shellcheck disable=SC2086
		bash $t >"$log" 2>&1
		line=$(tail -1 "$log")
		p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
		f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
		if [ -z "$p" ]; then
			echo "$t printed no summary" >>"$log"
			p=0 f=1
		fi
		;;
	*)
		"$t" >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log")
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log")
		if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
			echo "$t exited with status $rc" >>"$log"
			f=1
		fi
		;;
	esac
	secs=$(($(date +%s) - t0))
	# And the CPU seconds (user + system) of the processes it ran, as this
	# shell's children: what the test costs, where its wall time on CI's two
	# cores is shared with the test beside it.
	times >"$log.times"
	cpu=$(awk 'NR == 2 { for (k = 1; k <= 2; k++) { split($k, a, "m"); sub(/s$/, "", a[2]); c += a[1] * 60 + a[2] }
		printf "%.0f", c }' "$log.times")
	echo "# $t: $secs s, CPU ${cpu:-?} s" >>"$log"
	if [ -n "${SANITIZER_LOGS:-}" ]; then
		for r in "$SANITIZER_LOGS/$i"/asan.*; do
			[ -f "$r" ] || continue
			{ echo "sanitizer report from $t ($(basename "$r")):"; cat "$r"; } >>"$log"
			f=$((${f:-0} + 1))
		done
	fi
	echo "${p:-0} ${f:-0} $secs" >"$dir/$i.sum"
	flock "$dir/list" cat "$log"
	exit 0
fi

if [ -n "${SANITIZER_LOGS:-}" ]; then
	rm -rf "$SANITIZER_LOGS" && mkdir -p "$SANITIZER_LOGS" || exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for t in "$@"; do
	echo "$t"
done >"$dir/list"
for script in tests/layers/check.sh tests/bridge/test_template_state.sh "tests/bridge/test_template_same.sh $KBREED_PYTHON" "tests/bridge/test_bridge.sh $KBREED_PYTHON" "tests/bridge/test_level1.sh $KBREED_PYTHON" "tests/bridge/test_pointwise.sh $KBREED_PYTHON" "tests/bridge/test_scan.sh $KBREED_PYTHON" "tests/bridge/test_reduce.sh $KBREED_PYTHON" "tests/bridge/test_loss.sh $KBREED_PYTHON" "tests/bridge/test_pool.sh $KBREED_PYTHON" "tests/bridge/test_matmul.sh $KBREED_PYTHON" "tests/bridge/test_dwconv.sh $KBREED_PYTHON" "tests/bridge/test_convt_direct.sh $KBREED_PYTHON" "tests/bridge/test_conv1d_rows.sh $KBREED_PYTHON" "tests/bridge/test_dwsep.sh $KBREED_PYTHON" "tests/bridge/test_frobenius.sh $KBREED_PYTHON" "tests/bridge/test_norms.sh $KBREED_PYTHON" "tests/bridge/test_softmax.sh $KBREED_PYTHON" "tests/bridge/test_matvec.sh $KBREED_PYTHON" "tests/bridge/test_conv.sh $KBREED_PYTHON" "tests/bridge/test_conv_pointwise.sh $KBREED_PYTHON" "tests/bridge/test_attention.sh $KBREED_PYTHON" "tests/bridge/test_headers.sh $KBREED_PYTHON" tests/cli/test_cli.sh tests/cli/test_llm_run.sh tests/cli/test_gpus.sh tests/cli/test_adaptive.sh tests/slurm/test_slurm.sh tests/cli/test_export.sh tests/cli/test_report.sh \
	tests/cli/test_pyeval.sh tests/cli/test_show.sh tests/cli/test_store_paths.sh tests/cli/test_install.sh tests/cli/test_level1_bench.sh tests/cli/test_refbudget.sh; do
	case " ${SHELL_TESTS:-${script%% *}} " in
	*" ${script%% *} "*) echo "$script" >>"$dir/list" ;;
	esac
done
n=$(grep -c . "$dir/list")
# The longest first, so that the last to end is not a long one started late:
# the order of their CPU seconds in a clean clone's `.ci/run` on a 2-core
# machine (2026-12-04: plain, 20 tests of 100 to 440 s), and under the
# sanitizers, where nvcc's work is cached from the plain pass and
# test_search (190 s), test_cli (170 s), test_export and test_bridge.sh
# (130-150 s) are the longest.
slow="test_conv.sh test_playbook test_level1.sh test_search test_matmul.sh test_loss.sh test_softmax.sh
	test_pool.sh test_norms.sh test_cli.sh test_matvec.sh test_dwconv.sh test_reduce.sh test_pointwise.sh
	test_dwsep.sh test_bridge.sh test_export.sh test_linkcheck test_compile test_scan.sh"
[ -n "${SANITIZER_LOGS:-}" ] &&
	slow="test_search test_cli.sh test_export.sh test_bridge.sh test_compile test_matvec.sh test_softmax.sh
	test_install.sh test_conv.sh test_playbook test_gpus.sh test_adaptive.sh test_level1_bench.sh test_slurm.sh"
for slow in $slow; do
	grep -n "$slow" "$dir/list" | cut -d: -f1
done >"$dir/order"
seq 1 "$n" | grep -vxF -f "$dir/order" >>"$dir/order"
jobs=${KBREED_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -gt 4 ] && [ -z "${KBREED_TEST_JOBS:-}" ] && jobs=4
xargs -P "$jobs" -n 1 sh "$0" --one "$dir" <"$dir/order"
passed=0
failed=0
i=1
while [ "$i" -le "$n" ]; do
	t=$(sed -n "${i}p" "$dir/list")
	if [ -f "$dir/$i.sum" ]; then
		read -r p f secs <"$dir/$i.sum"
	else
		p=0 f=1
	fi
	[ "$f" -gt 0 ] && echo "FAILED: $t ($f)"
	passed=$((passed + p))
	failed=$((failed + f))
	i=$((i + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
