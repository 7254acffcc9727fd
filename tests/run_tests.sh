#!/bin/sh
# tests/run_tests.sh - runs every test that needs no GPU (`make test`): the
# cmocka unit tests given as arguments, then the shell tests of the bridge and
# of the command line.
# Ends with one line "N passed, M failed" summing the test cases.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
export KBREED_PYTHON="${KBREED_PYTHON:-$PYTHON}"
passed=0
failed=0
log=$(mktemp)
for t in "$@"; do
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log")
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "$t exited with status $rc"
		failed=$((failed + 1))
	fi
done
for script in "tests/bridge/test_bridge.sh $KBREED_PYTHON" "tests/bridge/test_level1.sh $KBREED_PYTHON" tests/cli/test_cli.sh tests/cli/test_llm_run.sh; do
	# shellcheck disable=SC2086
	bash $script >"$log" 2>&1
	cat "$log"
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
done
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
