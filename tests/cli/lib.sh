# tests/cli/lib.sh - the start and the end shared by the shell tests of the
# command line (tests/cli/test_*.sh, tests/slurm/test_slurm.sh). A test
# sources it first, after `set -u`:
#
#   . "$(dirname "$0")/lib.sh"            (tests/slurm: "$(dirname "$0")/../cli/lib.sh")
#
# and gets:
#   ROOT     the checkout (two levels above the test), made the working directory
#   B        the build under test: build/, or $KBREED_BUILD (relative to the
#            checkout or absolute), e.g. the sanitized build-asan/ of `make test-asan`
#   K        $B/kbreed
#   TMP      a fresh directory under $TMPDIR or /tmp ($TMP_PARENT when the
#            test sets it before), removed at exit (a test that needs more at
#            exit sets its own trap, which replaces this one)
#   ok NAME, not_ok NAME [WHY], check NAME GOT WANT: one "ok - NAME" or
#            "not ok - NAME" line (WHY on a "#   " line below), counted
#   q DB SQL: sqlite3's answer, errors included
#   test_summary: prints "N passed, M failed" (the line tests/run_tests.sh
#            reads, always the last) and succeeds when nothing failed
# Everything else (the environment each test sets, its own helpers) stays in
# the test. What it sets is used by the tests that source it:
# shellcheck shell=bash disable=SC2034
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
case ${KBREED_BUILD:-build} in
/*) B=$KBREED_BUILD ;;
*) B=$ROOT/${KBREED_BUILD:-build} ;;
esac
K=$B/kbreed
# kbreed-cli-test.XXXXXX for test_cli.sh, and so on.
_name=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMP_PARENT:-${TMPDIR:-/tmp}}/kbreed-${_name#test_}-test.XXXXXX") || exit 2
unset _name
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); [ -n "${2:-}" ] && echo "#   $2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi; }
q() { sqlite3 "$1" "$2" 2>&1; }
test_summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
