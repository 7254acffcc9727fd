#!/bin/sh
# tests/run_tests.sh - runs every test that needs no GPU (`make test`): the
# cmocka unit tests given as arguments, then the shell tests of the bridge and
# of the command line. SHELL_TESTS="tests/cli/test_show.sh ..." runs only
# the shell tests named (make test-asan UNIT_TESTS=test_store SHELL_TESTS=...
# then checks a part of kbreed under the sanitizers in minutes, not an hour).
# Ends with one line "N passed, M failed" summing the test cases.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
export KBREED_PYTHON="${KBREED_PYTHON:-$PYTHON}"
passed=0
failed=0
log=$(mktemp)

# Sanitized builds (make test-asan) set SANITIZER_LOGS: every ASan or LSan
# report of a process started here, or of its descendants that keep the
# environment, then lands in that directory, and a test that left one there
# failed whatever its own checks said (a test expecting "exit 1" must not pass
# on a report's exit). UBSan's reports stay on stderr (GCC 12's combined
# runtime ignores UBSan's log_path); their exit status, 86, gives them away.
san_reports() { :; }
if [ -n "${SANITIZER_LOGS:-}" ]; then
	rm -rf "$SANITIZER_LOGS" && mkdir -p "$SANITIZER_LOGS" || exit 1
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_LOGS/asan"
	# san_reports NAME: prints and counts the reports left since the last call.
	san_reports() {
		for r in "$SANITIZER_LOGS"/asan.*; do
			[ -f "$r" ] || continue
			echo "sanitizer report from $1 ($(basename "$r")):"
			cat "$r"
			failed=$((failed + 1))
			mkdir -p "$SANITIZER_LOGS/seen" && mv "$r" "$SANITIZER_LOGS/seen/"
		done
	}
fi
for t in "$@"; do
	t0=$(date +%s)
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	echo "# $t: $(($(date +%s) - t0)) s"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log")
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "$t exited with status $rc"
		failed=$((failed + 1))
	fi
	san_reports "$t"
done
for script in tests/layers/check.sh "tests/bridge/test_bridge.sh $KBREED_PYTHON" "tests/bridge/test_level1.sh $KBREED_PYTHON" "tests/bridge/test_pointwise.sh $KBREED_PYTHON" "tests/bridge/test_scan.sh $KBREED_PYTHON" "tests/bridge/test_reduce.sh $KBREED_PYTHON" "tests/bridge/test_pool.sh $KBREED_PYTHON" tests/cli/test_cli.sh tests/cli/test_llm_run.sh tests/cli/test_gpus.sh tests/cli/test_adaptive.sh tests/slurm/test_slurm.sh tests/cli/test_export.sh tests/cli/test_report.sh \
	tests/cli/test_pyeval.sh tests/cli/test_show.sh tests/cli/test_store_paths.sh tests/cli/test_install.sh; do
	case " ${SHELL_TESTS:-${script%% *}} " in
	*" ${script%% *} "*) ;;
	*) continue ;;
	esac
	t0=$(date +%s)
	# shellcheck disable=SC2086
	bash $script >"$log" 2>&1
	cat "$log"
	echo "# $script: $(($(date +%s) - t0)) s"
	line=$(tail -1 "$log")
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		echo "$script printed no summary"
		failed=$((failed + 1))
	else
		passed=$((passed + p))
		failed=$((failed + f))
	fi
	san_reports "$script"
done
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
