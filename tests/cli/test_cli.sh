#!/usr/bin/env bash
# test_cli.sh - kbreed as a user meets it, on a machine without a GPU: bad
# usage, no GPU, unusable databases, a full disk, kill -9 at several moments
# followed by --resume, and a run of more than 1000 candidates whose memory
# stays flat. A scripted worker (<build>/tests/fake_worker) stands in for the
# GPU, tests/cli/fake_nvcc.sh for nvcc where many candidates are needed, and
# tests/unit/fake_python.sh for PyTorch's timings.
#
#   tests/cli/test_cli.sh        (from anywhere; needs `make` and sqlite3)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
# The build under test: build/, or $KBREED_BUILD (relative to the checkout or
# absolute), e.g. the sanitized build-asan/ of `make test-asan`.
case ${KBREED_BUILD:-build} in
/*) B=$KBREED_BUILD ;;
*) B=$ROOT/${KBREED_BUILD:-build} ;;
esac
K=$B/kbreed
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kbreed-cli-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); [ -n "${2:-}" ] && echo "#   $2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi; }
q() { sqlite3 "$1" "$2" 2>&1; }

export KBREED_CACHE=$TMP/cache
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_FAKE_SEARCH=1
unset KBREED_FAKE_GPU KBREED_DB

# --- bad usage -------------------------------------------------------------
$K --bogus >/dev/null 2>"$TMP/err"; check "unknown option: exit 2" $? 2
$K frobnicate >/dev/null 2>"$TMP/err"; check "unknown command: exit 2" $? 2
grep -q "unknown command 'frobnicate'" "$TMP/err" && ok "unknown command named" || not_ok "unknown command named"
$K run >/dev/null 2>"$TMP/err"; check "run without a problem: exit 2" $? 2
$K run gelu --rounds abc >/dev/null 2>"$TMP/err"; check "non-numeric --rounds: exit 2" $? 2
grep -q "must be an integer" "$TMP/err" && ok "--rounds message" || not_ok "--rounds message" "$(cat "$TMP/err")"
$K eval tests/data/tiny_gelu.py kernels/bad/good_gelu.cu --frob >/dev/null 2>"$TMP/err"; check "eval unknown flag: exit 2" $? 2
$K run no_such_problem >/dev/null 2>"$TMP/err"; check "unknown problem: exit 2" $? 2
grep -q "no problem named 'no_such_problem'" "$TMP/err" && ok "unknown problem named" || not_ok "unknown problem named"

# --- no GPU ----------------------------------------------------------------
$K eval tests/data/tiny_gelu.py kernels/bad/good_gelu.cu >/dev/null 2>"$TMP/err"; check "eval without a GPU: exit 2" $? 2
grep -q "needs an NVIDIA GPU" "$TMP/err" && ok "eval says it needs a GPU" || not_ok "eval says it needs a GPU" "$(cat "$TMP/err")"
$K run tests/data/search_gelu.py --db "$TMP/nogpu.db" >/dev/null 2>"$TMP/err"; check "run without a GPU: exit 2" $? 2

export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
# --dry-run needs no GPU: it proposes, realises and compiles, and judges nothing.
$K -q run tests/data/search_gelu.py --dry-run --rounds 2 --ideas 3 --impls 2 --db "$TMP/dry.db" --out "$TMP/out-dry" >"$TMP/out" 2>"$TMP/err"
check "dry run without a GPU: exit 0" $? 0
grep -q "none judged" "$TMP/out" && ok "dry run says nothing was judged" || not_ok "dry run says nothing was judged" "$(cat "$TMP/out" "$TMP/err")"
check "dry run: rounds 0 to 2 proposed" "$(q "$TMP/dry.db" "SELECT count(DISTINCT round) FROM candidates")" 3
check "dry run: every candidate compiled, none judged" "$(q "$TMP/dry.db" "SELECT count(*) FROM evaluations WHERE verdict != 'not_run'")" 0
check "dry run: the run is marked as one" "$(q "$TMP/dry.db" "SELECT status FROM runs")" dry-run
$K -q run --resume 1 --db "$TMP/dry.db" >/dev/null 2>"$TMP/err"; check "a dry run is not resumed" $? 2

export KBREED_FAKE_GPU=1
RUN="$K -q run tests/data/search_gelu.py --rounds 3 --ideas 3 --impls 2 --reps 20"

# --- databases that cannot be used -----------------------------------------
$RUN --db /proc/kbreed-nope/x.db >/dev/null 2>"$TMP/err"; check "unwritable database: exit 2" $? 2
grep -q "database" "$TMP/err" && ok "unwritable database named" || not_ok "unwritable database named" "$(cat "$TMP/err")"
head -c 10000 /dev/urandom >"$TMP/corrupt.db"
cp "$TMP/corrupt.db" "$TMP/corrupt.copy"
$RUN --db "$TMP/corrupt.db" >/dev/null 2>"$TMP/err"; check "corrupt database: exit 2" $? 2
cmp -s "$TMP/corrupt.db" "$TMP/corrupt.copy" && ok "corrupt database left untouched" || not_ok "corrupt database left untouched"

# --- a full disk while writing sources, then resume ------------------------
KBREED_TEST_ENOSPC=/runs/ $RUN --db "$TMP/full.db" --out "$TMP/out-full" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -ne 0 ] && ok "full disk: non-zero exit ($rc)" || not_ok "full disk: non-zero exit"
grep -q "disk full" "$TMP/err" && ok "full disk: clear message" || not_ok "full disk: clear message" "$(cat "$TMP/err")"
check "full disk: the run and its first candidate are stored" "$(q "$TMP/full.db" "SELECT count(*) FROM runs; SELECT count(*) FROM candidates" | tr '\n' ' ')" "1 1 "
$K -q run --resume 1 --db "$TMP/full.db" --out "$TMP/out-full" >/dev/null 2>"$TMP/err"
check "full disk: resume finishes" $? 0
check "full disk: resumed run done" "$(q "$TMP/full.db" "SELECT status FROM runs WHERE id=1")" done

# --- kill -9 at several moments, then --resume ------------------------------
for delay in 0.4 1.2 2.0 2.8; do
	db=$TMP/kill-$delay.db
	KBREED_FAKE_DELAY_MS=250 $RUN --db "$db" --out "$TMP/out-kill" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	before=$(q "$db" "SELECT candidate || ':' || verdict || ':' || median_ms FROM evaluations ORDER BY candidate" 2>/dev/null)
	n_before=$(echo "$before" | grep -c . )
	$K -q run --resume 1 --db "$db" --out "$TMP/out-kill" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ "$(q "$db" "SELECT status FROM runs WHERE id=1")" = done ] && [ $rc -eq 0 ]; then
		ok "kill -9 after ${delay}s ($n_before judged): resume finished"
	else
		# Killed before the run row was written: nothing to resume, nothing lost.
		if [ "$(q "$db" "SELECT count(*) FROM runs" 2>/dev/null)" = 0 ] || [ ! -s "$db" ]; then
			ok "kill -9 after ${delay}s: killed before the run was stored"
			continue
		fi
		not_ok "kill -9 after ${delay}s: resume finished" "rc $rc: $(tail -2 "$TMP/err")"
	fi
	after=$(q "$db" "SELECT candidate || ':' || verdict || ':' || median_ms FROM evaluations ORDER BY candidate")
	lost=$(comm -23 <(echo "$before" | sort) <(echo "$after" | sort) | grep -c .)
	check "kill -9 after ${delay}s: no finished evaluation lost or changed" "$lost" 0
	check "kill -9 after ${delay}s: every candidate judged exactly once" \
		"$(q "$db" "SELECT (SELECT count(*) FROM candidates) - (SELECT count(DISTINCT candidate) FROM evaluations)")" 0
	check "kill -9 after ${delay}s: database sound" "$(q "$db" "PRAGMA integrity_check")" ok
done

# --- a long run: more than 1000 candidates, memory flat ----------------------
export KBREED_TEMPLATES=$ROOT/tests/data/templates
export KBREED_PLAYBOOK=$ROOT/tests/data/playbook_wide.json
# Peak resident memory (kB) of a kbreed run, read from /proc while it runs.
# Under AddressSanitizer (make test-asan) freed memory would wait in its
# quarantine (up to 256 MB) and look like growth, so the quarantine is off
# here; ASan's leak check at exit watches the same run.
peak() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" "$@" >/dev/null 2>"$TMP/long.err" &
	local pid=$! hwm=0 v
	while kill -0 $pid 2>/dev/null; do
		v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$pid/status 2>/dev/null)
		[ -n "$v" ] && hwm=$v
		sleep 0.1
	done
	wait $pid
	echo "$? $hwm"
}
set -- $(peak $K -q run tests/data/search_gelu.py --db "$TMP/short.db" --out "$TMP/out-short" --rounds 8 --ideas 8 --impls 4 --reps 20)
short_rc=$1 short_kb=$2
set -- $(peak $K -q run tests/data/search_gelu.py --db "$TMP/long.db" --out "$TMP/out-long" --rounds 40 --ideas 8 --impls 4 --reps 20)
long_rc=$1 long_kb=$2
check "long run finished" "$long_rc" 0
n=$(q "$TMP/long.db" "SELECT count(*) FROM candidates")
[ "$n" -ge 1000 ] && ok "long run: $n candidates" || not_ok "long run: at least 1000 candidates" "$n ($(tail -3 "$TMP/long.err"))"
check "long run: every candidate judged once" "$(q "$TMP/long.db" "SELECT (SELECT count(*) FROM candidates) - (SELECT count(*) FROM evaluations)")" 0
check "long run: database sound" "$(q "$TMP/long.db" "PRAGMA integrity_check")" ok
short_n=$(q "$TMP/short.db" "SELECT count(*) FROM candidates")
growth=$((long_kb - short_kb))
if [ "$short_rc" -eq 0 ] && [ "$growth" -lt 16384 ]; then
	ok "memory flat: peak ${short_kb} kB at $short_n candidates, ${long_kb} kB at $n"
else
	not_ok "memory flat" "peak ${short_kb} kB at $short_n candidates, ${long_kb} kB at $n (rc $short_rc)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
