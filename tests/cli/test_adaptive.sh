#!/usr/bin/env bash
# test_adaptive.sh - adaptive timing and overlap as a user meets them, on a
# machine without a GPU: the scripted worker (<build>/tests/fake_worker) times
# each candidate by a hash of its name and honours a cutoff as the real worker
# does; tests/cli/fake_nvcc.sh compiles, tests/unit/fake_python.sh stands in
# for PyTorch's timings (eager 2.0 ms). Checks:
# - eval: off by default (every timed call); --adaptive on with a forced tiny
#   cutoff ($KBREED_EARLY_CUTOFF_MS) stops early, says so and records it in
#   its JSON; a worker that does not take a cutoff times every call;
# - run: early-stopped candidates are stored as such, with fewer timed calls,
#   never the winner while a fully timed one exists, and the winner is re-timed
#   without a cutoff; round 0 judges its template before the naive kernel,
#   and a naive kernel far slower than PyTorch stops early under 1.3 x eager;
#   --adaptive off times every call of every candidate;
# - overlap: nvcc starts before the references are made (the fake reference
#   step waits for a compile to begin: the order of the lines, not the clock);
#   the summary states the idle share and its causes;
# - groups: the judge compiles several candidates to one nvcc, and the
#   summary counts them;
# - the closing measurement: PyTorch is timed again once the workers have
#   ended; a closing time that fails (out of memory) keeps the winner, placed
#   against the start's times, and says so.
#
#   tests/cli/test_adaptive.sh   (from anywhere; needs `make` and sqlite3)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
case ${KBREED_BUILD:-build} in
/*) B=$KBREED_BUILD ;;
*) B=$ROOT/${KBREED_BUILD:-build} ;;
esac
K=$B/kbreed
unset KBREED_COMPILE_GROUP   # the default grouping, whatever the caller set
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kbreed-adaptive-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); [ -n "${2:-}" ] && echo "#   $2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi; }
q() { sqlite3 "$1" "$2" 2>&1; }
# A field of eval's JSON: jq-like, with the Python at hand.
PY=${PYTHON:-/usr/bin/python3}
field() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2" 2>&1; }

export KBREED_CACHE=$TMP/cache
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
export KBREED_FAKE_SEARCH=1
export KBREED_FAKE_GPU=1
unset KBREED_DB KBREED_FAKE_GPUS CUDA_VISIBLE_DEVICES KBREED_EARLY_CUTOFF_MS KBREED_FAKE_NO_CUTOFF

# --- eval ----------------------------------------------------------------------
EVAL="$K -q eval tests/data/tiny_gelu.py kernels/bad/good_gelu.cu --reps 20 --json"
KBREED_EARLY_CUTOFF_MS=0.01 $EVAL >"$TMP/off.json" 2>"$TMP/err"
check "eval, adaptive off by default: exit 0" $? 0
check "eval, off: every timed call" "$(field "$TMP/off.json" "d['time']['reps']")" 20
check "eval, off: not early, no cutoff" "$(field "$TMP/off.json" "(d['time']['early'], d['time']['cutoff_ms'])")" "(False, None)"

KBREED_EARLY_CUTOFF_MS=0.01 $EVAL --adaptive on >"$TMP/on.json" 2>"$TMP/err"
check "eval --adaptive on, a tiny cutoff: exit 0 (correct)" $? 0
check "eval, on: correct" "$(field "$TMP/on.json" "d['verdict']")" correct
check "eval, on: 5 of 20 timed calls" "$(field "$TMP/on.json" "(d['time']['reps'], d['time']['reps_asked'])")" "(5, 20)"
check "eval, on: early, under the cutoff given" "$(field "$TMP/on.json" "(d['time']['early'], d['time']['cutoff_ms'])")" "(True, 0.01)"
check "eval, on: every set checked" "$(field "$TMP/on.json" "d['correctness']['strict']['pass']")" True
KBREED_EARLY_CUTOFF_MS=0.01 $K -q eval tests/data/tiny_gelu.py kernels/bad/good_gelu.cu --reps 20 --adaptive on >"$TMP/on.txt" 2>&1
grep -q "timing stopped early after 5 of 20 calls" "$TMP/on.txt" && ok "eval, on: the report says timing stopped early" \
	|| not_ok "eval, on: the report says timing stopped early" "$(cat "$TMP/on.txt")"

# Without a forced cutoff the cutoff is 1.3 x PyTorch eager (2.0 ms here): the
# fake's times (0.5 to 1.5 ms) are close contenders, timed in full.
$EVAL --adaptive on >"$TMP/near.json" 2>"$TMP/err"
check "eval, on, near PyTorch: every timed call" "$(field "$TMP/near.json" "(d['time']['reps'], d['time']['early'])")" "(20, False)"
check "eval, on: the cutoff is 1.3 x eager" "$(field "$TMP/near.json" "round(d['time']['cutoff_ms'], 6)")" 2.6

# A worker that does not say it takes a cutoff is never sent one.
KBREED_FAKE_NO_CUTOFF=1 KBREED_EARLY_CUTOFF_MS=0.01 $EVAL --adaptive on >"$TMP/old.json" 2>"$TMP/err"
check "eval, a worker without cutoffs: exit 0" $? 0
check "eval, a worker without cutoffs: every timed call, no cutoff" \
	"$(field "$TMP/old.json" "(d['time']['reps'], d['time']['early'], d['time']['cutoff_ms'])")" "(20, False, None)"

$K eval tests/data/tiny_gelu.py kernels/bad/good_gelu.cu --adaptive maybe >/dev/null 2>"$TMP/err"
check "--adaptive maybe: exit 2" $? 2
grep -q "must be on or off" "$TMP/err" && ok "--adaptive maybe: says on or off" || not_ok "--adaptive maybe: says on or off" "$(cat "$TMP/err")"
$K run --help | grep -q -- "--adaptive on|off" && ok "run --help lists --adaptive" || not_ok "run --help lists --adaptive"

# --- run -------------------------------------------------------------------------
RUN="$K -q run tests/data/search_gelu.py --rounds 2 --ideas 3 --impls 2 --reps 20 --seed 5"
# Every candidate under a tiny cutoff: all stop early; the winner is re-timed
# without a cutoff all the same (the fake's log names each eval's cutoff).
KBREED_EARLY_CUTOFF_MS=0.01 KBREED_FAKE_EVAL_LOG=$TMP/ev-all $RUN --db "$TMP/all.db" --out "$TMP/o-all" >/dev/null 2>"$TMP/err"
check "run, all early: exit 0" $? 0
n=$(q "$TMP/all.db" "SELECT count(*) FROM evaluations")
check "run, all early: every evaluation early, 5 timed calls, under the cutoff" \
	"$(q "$TMP/all.db" "SELECT count(*) FROM evaluations WHERE early = 1 AND reps = 5 AND cutoff_ms = 0.01 AND verdict = 'correct'")" "$n"
check "run, all early: a winner" "$(q "$TMP/all.db" "SELECT winner IS NOT NULL FROM runs")" 1
check "run, all early: the last eval is the winner's re-timing, without a cutoff" "$(tail -n 1 "$TMP/ev-all" | awk '{print $3}')" "-"
check "run, all early: every eval before it had the cutoff" "$(head -n -1 "$TMP/ev-all" | awk '$3 != "0.01"' | wc -l)" 0
grep -q "$n stopped timing early" "$TMP/o-all/summary.md" && ok "run, all early: the summary counts them" \
	|| not_ok "run, all early: the summary counts them" "$(grep 'this invocation' "$TMP/o-all/summary.md")"

# The default: the cutoff is 1.3 x the best before each batch.
KBREED_FAKE_EVAL_LOG=$TMP/ev-on $RUN --db "$TMP/on.db" --out "$TMP/o-on" >/dev/null 2>"$TMP/err"
check "run, adaptive: exit 0" $? 0
early=$(q "$TMP/on.db" "SELECT count(*) FROM evaluations WHERE early = 1")
[ "$early" -gt 0 ] && ok "run, adaptive: $early candidates stopped early" || not_ok "run, adaptive: some candidates stopped early" "$early"
check "run, adaptive: each early one made 5 timed calls, every one slower than its cutoff" \
	"$(q "$TMP/on.db" "SELECT count(*) FROM evaluations WHERE early = 1 AND reps = 5 AND median_ms > cutoff_ms AND cutoff_ms > 0")" "$early"
check "run, adaptive: the others made every timed call" \
	"$(q "$TMP/on.db" "SELECT count(*) FROM evaluations WHERE early = 0 AND verdict = 'correct' AND reps != 20")" 0
check "run, adaptive: the winner was timed in full" \
	"$(q "$TMP/on.db" "SELECT e.early FROM runs r JOIN evaluations e ON e.candidate = r.winner")" 0
check "run, adaptive: no early one is faster than the winner" \
	"$(q "$TMP/on.db" "SELECT count(*) FROM evaluations e, runs r JOIN evaluations w ON w.candidate = r.winner WHERE e.early = 1 AND e.median_ms < w.median_ms")" 0
check "run, adaptive: round 0's cutoff is 1.3 x eager" \
	"$(q "$TMP/on.db" "SELECT DISTINCT round(e.cutoff_ms, 6) FROM evaluations e JOIN candidates c ON c.id = e.candidate WHERE c.round = 0")" 2.6
check "run, adaptive: the winner re-timed without a cutoff" "$(tail -n 1 "$TMP/ev-on" | awk '{print $3}')" "-"

# Round 0 spends a short budget on what may win: the template at its defaults
# is judged before the naive kernel, and a naive kernel hundreds of times
# slower than PyTorch (500 ms a call against eager's 2.0 ms) stops after its
# first 5 timed calls under round 0's cutoff, 1.3 x eager: nothing is timed
# yet, and PyTorch's time, made while round 0 compiles, is known before the
# first candidate runs. (A cache of its own: the mark is made at compile time.)
KBREED_CACHE=$TMP/cache-r0 KBREED_FAKE_SLOW_TEXT="naive/gelu.cu -" KBREED_FAKE_SLOW_MS=500 $RUN --rounds 0 --db "$TMP/r0.db" --out "$TMP/o-r0" \
	>/dev/null 2>"$TMP/err"
check "run, round 0: exit 0" $? 0
check "run, round 0: the template judged before the naive kernel" \
	"$(q "$TMP/r0.db" "SELECT c.origin FROM evaluations e JOIN candidates c ON c.id = e.candidate ORDER BY e.id" | tr '\n' ' ')" \
	"template naive "
check "run, round 0: the naive kernel (500 ms) stopped after 5 timed calls, under 1.3 x eager" \
	"$(q "$TMP/r0.db" "SELECT e.early, e.reps, round(e.cutoff_ms, 6), e.median_ms > 100 * r.eager_ms FROM evaluations e
		JOIN candidates c ON c.id = e.candidate JOIN runs r ON r.id = c.run WHERE c.origin = 'naive'")" "1|5|2.6|1"
check "run, round 0: the template, a close contender, timed in full under the same cutoff" \
	"$(q "$TMP/r0.db" "SELECT e.early, e.reps, round(e.cutoff_ms, 6) FROM evaluations e
		JOIN candidates c ON c.id = e.candidate WHERE c.origin = 'template'")" "0|20|2.6"
check "run, round 0: the template wins" \
	"$(q "$TMP/r0.db" "SELECT c.origin FROM runs r JOIN candidates c ON c.id = r.winner")" template

$RUN --adaptive off --db "$TMP/off.db" --out "$TMP/o-off" >/dev/null 2>"$TMP/err"
check "run --adaptive off: exit 0" $? 0
check "run --adaptive off: nothing early, every timed call, no cutoff" \
	"$(q "$TMP/off.db" "SELECT count(*) FROM evaluations WHERE early = 1 OR reps != 20 OR cutoff_ms != 0")" 0
check "run --adaptive off: the same candidates" \
	"$(q "$TMP/off.db" "SELECT count(*) FROM candidates")" "$(q "$TMP/on.db" "SELECT count(*) FROM candidates")"

# --- overlap ---------------------------------------------------------------------
# The reference step ends only once a compile has started: with the
# references made before round 0 is compiled, it would wait in vain.
export KBREED_CACHE=$TMP/cache2
KBREED_FAKE_EVENT_LOG=$TMP/events KBREED_FAKE_REFERENCE_AWAITS_NVCC=1 $RUN --rounds 1 --db "$TMP/ov.db" --out "$TMP/o-ov" \
	>/dev/null 2>"$TMP/err"
check "overlap: exit 0" $? 0
grep -q "no compile started" "$TMP/events" && not_ok "overlap: nvcc started while the references were made" "$(cat "$TMP/events")" \
	|| ok "overlap: nvcc started while the references were made"
first_nvcc=$(grep -n '^nvcc' "$TMP/events" | head -n 1 | cut -d: -f1)
ref_end=$(grep -n '^reference end' "$TMP/events" | head -n 1 | cut -d: -f1)
[ -n "$first_nvcc" ] && [ -n "$ref_end" ] && [ "$first_nvcc" -lt "$ref_end" ] \
	&& ok "overlap: the first compile began before the references were done" \
	|| not_ok "overlap: the first compile began before the references were done" "$(cat "$TMP/events")"
grep -q "idle share [0-9]*%: waiting for nvcc [0-9.]* s, for the references and PyTorch [0-9.]* s, proposing [0-9.]* s, the store [0-9.]* s, other [0-9.]* s" \
	"$TMP/o-ov/summary.md" && ok "overlap: the summary names where the idle time went" \
	|| not_ok "overlap: the summary names where the idle time went" "$(cat "$TMP/o-ov/summary.md")"
grep -q "GPU busy [0-9]*% (judging" "$TMP/o-ov/summary.md" && ok "overlap: the summary states the GPU's busy share" \
	|| not_ok "overlap: the summary states the GPU's busy share"
check "overlap: the run records PyTorch's time made meanwhile" "$(q "$TMP/ov.db" "SELECT eager_ms FROM runs")" 2.0
# The judge compiles in groups (src/compile_group.h): the fake nvcc logs a
# group's compile as one line naming its members, and the summary counts
# the candidates compiled that way.
grep -q '^nvcc group c[0-9]*\.cu c[0-9]*\.cu' "$TMP/events" && ok "groups: the judge compiles several candidates to one nvcc" \
	|| not_ok "groups: the judge compiles several candidates to one nvcc" "$(grep '^nvcc' "$TMP/events")"
grouped=$(sed -n 's/.*candidates compiled (\([0-9]*\) of them several to one nvcc).*/\1/p' "$TMP/o-ov/summary.md")
[ -n "$grouped" ] && [ "$grouped" -gt 1 ] && ok "groups: the summary counts the candidates compiled in groups ($grouped)" \
	|| not_ok "groups: the summary counts the candidates compiled in groups" "$(grep 'nvcc:' "$TMP/o-ov/summary.md")"

# --torch-compile: the search's minutes are not spent on inductor. The
# session starts timing eager alone; torch.compile is timed beside the
# winner's re-timing, and that figure is the run's and the summary's.
export KBREED_CACHE=$TMP/cache4
KBREED_FAKE_EVENT_LOG=$TMP/events-tc $RUN --rounds 1 --torch-compile --db "$TMP/tc.db" --out "$TMP/o-tc" \
	>/dev/null 2>"$TMP/err"
check "--torch-compile: exit 0" $? 0
check "--torch-compile: eager timed at the start, torch.compile only beside the winner's re-timing" \
	"$(grep '^time' "$TMP/events-tc" | tr '\n' ' ')" "time eager time compile "
check "--torch-compile: the run records torch.compile's time" "$(q "$TMP/tc.db" "SELECT compile_ms FROM runs")" 1.5
grep -q "PyTorch eager 2.0000 ms, torch.compile 1.5000 ms" "$TMP/o-tc/summary.md" &&
	ok "--torch-compile: the summary names torch.compile's time" ||
	not_ok "--torch-compile: the summary names torch.compile's time" "$(head -6 "$TMP/o-tc/summary.md")"

# The closing measurement: PyTorch is timed again after the workers have
# ended (the GPU memory they held is free for it); where it still fails (out
# of memory), the winner is kept, placed against the session's start times.
export KBREED_CACHE=$TMP/cache5
KBREED_FAKE_EVENT_LOG=$TMP/events-end KBREED_FAKE_WORKER_STARTS=$TMP/starts-end $RUN --rounds 1 \
	--db "$TMP/end.db" --out "$TMP/o-end" >/dev/null 2>"$TMP/err"
check "closing time: exit 0" $? 0
check "closing time: PyTorch timed twice, the workers ended before the second" \
	"$(grep -E '^(time|workers)' "$TMP/events-end" | tail -n 2 | tr '\n' ' ')" "time eager workers 0 "
[ -s "$TMP/starts-end" ] && ok "closing time: a worker ran" || not_ok "closing time: a worker ran"
export KBREED_CACHE=$TMP/cache6
KBREED_FAKE_EVENT_LOG=$TMP/events-oom KBREED_FAKE_TIME_OOM_AT=2 $RUN --rounds 1 --db "$TMP/oom.db" --out "$TMP/o-oom" \
	>/dev/null 2>"$TMP/err"
check "closing time out of memory: exit 0" $? 0
grep -q "PyTorch could not be timed again beside the winner" "$TMP/err" &&
	ok "closing time out of memory: says so" || not_ok "closing time out of memory: says so" "$(tail -n 3 "$TMP/err")"
check "closing time out of memory: the run keeps its winner, against eager from the start" \
	"$(q "$TMP/oom.db" "SELECT winner IS NOT NULL, final_eager_ms FROM runs")" "1|2.0"
grep -q "PyTorch eager 2.0000 ms (timed at the session's start" "$TMP/o-oom/summary.md" &&
	ok "closing time out of memory: the summary says where eager's time is from" ||
	not_ok "closing time out of memory: the summary says where eager's time is from" "$(grep winner "$TMP/o-oom/summary.md")"
[ -s "$TMP/o-oom/winner.cu" ] && ok "closing time out of memory: winner.cu written" ||
	not_ok "closing time out of memory: winner.cu written"
export KBREED_CACHE=$TMP/cache7
KBREED_FAKE_EVENT_LOG=$TMP/events-oomb KBREED_FAKE_TIME_OOM_AT=2 $K -q bench tests/data/search_gelu.py --rounds 1 \
	--ideas 3 --impls 2 --reps 20 --seed 5 --db "$TMP/oomb.db" --results "$TMP/oomb.json" >/dev/null 2>"$TMP/err"
check "closing time out of memory, bench: exit 0" $? 0
check "closing time out of memory, bench: the row has its winner and says eager is the start's" \
	"$(field "$TMP/oomb.json" "d['results'][0].get('eager_from_start')")|$(field "$TMP/oomb.json" "d['results'][0]['eager_ms']")" "True|2.0"
check "closing time, bench: no such mark where PyTorch was timed again" \
	"$($K -q bench tests/data/search_gelu.py --rounds 0 --reps 20 --db "$TMP/endb.db" --results "$TMP/endb.json" \
		>/dev/null 2>&1; field "$TMP/endb.json" "d['results'][0].get('eager_from_start')")" "None"

# eval overlaps too: its kernel compiles while the references are made.
export KBREED_CACHE=$TMP/cache3
KBREED_FAKE_EVENT_LOG=$TMP/events-eval KBREED_FAKE_REFERENCE_AWAITS_NVCC=1 $EVAL >/dev/null 2>"$TMP/err"
check "overlap, eval: exit 0" $? 0
grep -q "no compile started" "$TMP/events-eval" && not_ok "overlap, eval: nvcc started while the references were made" \
	|| ok "overlap, eval: nvcc started while the references were made"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
