#!/usr/bin/env bash
# test_pyeval.sh - `kbreed eval PROBLEM SOLUTION.py` on a machine without a
# GPU: KernelBench-style solutions (class ModelNew) judged by the real Python
# worker (bridge/kbreed_pyworker.py), isolated as on a GPU host, in its CPU
# mode for tests (KBREED_PYWORKER_CPU=1: host clocks of CPU calls stand in
# for CUDA events); the fake worker stands in for the GPU's description and
# tests/unit/fake_python.sh for PyTorch's timings. A correct solution, one
# whose parameters only the judge's loading makes right, reward hacks
# (a cached result, a mutated input, reading the references, a thread left
# running) and broken files, each with the class it must get; then the
# Python worker alone, speaking the worker protocol, and its tail rule's
# arithmetic (the floor of Python's own wait). The same solutions on a GPU:
# `make test-gpu`, section 7.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"
PY=${PYTHON:-/usr/bin/python3}

export KBREED_CACHE=$TMP/cache
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_FAKE_PYTHON_REAL=$PY
export KBREED_FAKE_GPU=1 KBREED_PYWORKER_CPU=1
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
unset KBREED_DB KBREED_ARCH KBREED_FAKE_SEARCH KBREED_FAKE_TIME_SCALE

# The Python worker's constants are the C headers' (each line names its
# #define in a comment): the two ends of the protocol must not drift apart.
consts=$(sed -n 's/^\([A-Z_]*\) = \([0-9.]*\) *# \(KB[A-Z_]*\).*/\1 \2 \3/p' bridge/kbreed_pyworker.py)
n=0
while read -r name value define; do
	[ -n "$name" ] || continue
	n=$((n + 1))
	c=$(sed -n "s/^#define $define \([0-9.]*\)\( .*\)\{0,1\}$/\1/p" include/kbreed_worker_protocol.h include/kbreed_candidate.h)
	check "the Python worker's $name is $define" "$value" "$c"
done <<CONSTS
$consts
CONSTS
[ "$n" -ge 10 ] && ok "the Python worker names $n of the headers' constants" || not_ok "the Python worker's constants: $n found"

GELU=tests/data/search_gelu.py
EVAL="$K eval --json --reps 20"
S=kernels/python
D=tests/data/pysolutions

# judged NAME PROBLEM SOLUTION CLASS [DETAIL]: one solution gets CLASS (and
# a detail holding DETAIL), and eval's exit status says so.
judged() {
	local name=$1 problem=$2 sol=$3 want=$4 detail=${5:-} rc want_rc=1
	$EVAL "$problem" "$sol" >"$TMP/out.json" 2>"$TMP/err"
	rc=$?
	[ "$want" = correct ] && want_rc=0
	local got
	got=$(jq -r '.verdict' "$TMP/out.json" 2>/dev/null)
	if [ "$got" = "$want" ] && [ $rc = $want_rc ]; then
		ok "$name: $want (exit $rc)"
	else
		not_ok "$name: $want (exit $want_rc)" "got '$got' (exit $rc): $(jq -r '.detail' "$TMP/out.json" 2>/dev/null) $(tail -3 "$TMP/err")"
	fi
	if [ -n "$detail" ]; then
		jq -r '.detail' "$TMP/out.json" 2>/dev/null | grep -q -- "$detail" && ok "$name: the detail says '$detail'" ||
			not_ok "$name: the detail says '$detail'" "$(jq -r '.detail' "$TMP/out.json" 2>/dev/null)"
	fi
}

# --- correct solutions --------------------------------------------------------
judged "torch ops, exact GELU" $GELU $S/gelu_torch.py correct
check "a correct solution: 20 timed calls" "$(jq -r '.time.reps' "$TMP/out.json" 2>&1)" 20
judged "LayerNorm, parameters loaded from the problem" tests/data/tiny_layernorm.py $D/layernorm_ok.py correct

# --- reward hacks -----------------------------------------------------------
judged "a result cached on the first call" $GELU $S/cached.py incorrect
judged "an input mutated" $GELU $S/mutates_input.py rejected "modified input 0"
refs=$(ls "$KBREED_CACHE"/refs/*/set0.out0.bin 2>/dev/null | wc -l)
[ "$refs" -gt 0 ] && ok "the references are in the cache ($refs), for the solution to look for" ||
	not_ok "the references are in the cache" "$(ls -R "$KBREED_CACHE" 2>&1 | head)"
judged "reading the reference outputs" $GELU $S/reads_refs.py incorrect
judged "a thread left running" $GELU $S/left_thread.py rejected "threads of the solution still running"

# --- broken solutions -------------------------------------------------------
judged "forward raises" $GELU $D/raises.py runtime_error "ValueError: this solution gives up"
judged "an output of the wrong shape" $GELU $D/wrong_shape.py runtime_error "output 0 is float32 \[33, 1029\]"
judged "ModelNew only in a comment" $GELU $D/comment_only.py load_error "defines no ModelNew"
printf 'import torch\nclass ModelNew(torch.nn.Module)\n' >"$TMP/syntax.py"
judged "a syntax error" $GELU "$TMP/syntax.py" load_error "syntax error at line 2"
$EVAL $GELU $D/no_model.py >"$TMP/out" 2>"$TMP/err"
check "no ModelNew at all: exit 2" $? 2
grep -q "defines no ModelNew" "$TMP/err" && ok "no ModelNew: said so" || not_ok "no ModelNew: said so" "$(cat "$TMP/err")"
[ -s "$TMP/out" ] && not_ok "no ModelNew: nothing judged" "$(cat "$TMP/out")" || ok "no ModelNew: nothing judged"

# --- one session, kernels and solutions -----------------------------------------
# A hack, then a correct solution (a fresh worker, which reads the inputs
# the first one read through the same descriptors), then a .cu kernel (the
# GPU worker, here the fake, for which any such name is correct): each gets
# its own class.
KBREED_FAKE_SEARCH=1 $K eval --json --reps 20 $GELU $S/cached.py $S/gelu_torch.py kernels/naive/gelu.cu >"$TMP/mixed.json" 2>"$TMP/err"
check "mixed session: exit 1 (one not correct)" $? 1
check "mixed session: the classes in order" "$(jq -r '.[].verdict' "$TMP/mixed.json" 2>&1 | tr '\n' ' ')" "incorrect correct correct "

# --- a Python solution is no seed of a run -----------------------------------------
$K run $GELU --seed-kernel $S/gelu_torch.py --db "$TMP/run.db" >/dev/null 2>"$TMP/err"
check "run --seed-kernel SOLUTION.py: exit 2" $? 2
grep -q "is a Python solution" "$TMP/err" && ok "run --seed-kernel SOLUTION.py: said why" ||
	not_ok "run --seed-kernel SOLUTION.py: said why" "$(cat "$TMP/err")"
$K eval --help | grep -q "SOLUTION.py" && ok "eval --help names Python solutions" || not_ok "eval --help names Python solutions"

# --- the Python worker alone, speaking the protocol -------------------------------
# A job of one set of one (33, 1030) fp32 input, read by path; two "eval"s:
# one solution per process.
W=bridge/kbreed_pyworker.py
"$PY" -c 'import sys; sys.stdout.buffer.write(bytes(33 * 1030 * 4))' >"$TMP/in.bin"
printf 'import torch\ndef get_init_inputs():\n    return []\n' >"$TMP/problem.py"
job() {
	printf 'kbreed-job %s\nsets 1\nwarmup 1\nreps 3\nflush_mb 0\n' "$1"
	printf 'tensor input 0 0 0 2 33 1030 %s\ntensor output -1 0 0 2 33 1030 -\n' "$TMP/in.bin"
}
# The protocol's version, as kbreed and both workers are built with it.
V=$(sed -n 's/^#define KBREED_WORKER_PROTOCOL \([0-9]*\).*/\1/p' include/kbreed_worker_protocol.h)
job "$V" >"$TMP/job"
mkdir -p "$TMP/o1" "$TMP/o2"
printf 'eval %s\t%s\nfrob\neval %s\t%s\nquit\n' "$ROOT/$S/gelu_torch.py" "$TMP/o1" "$ROOT/$S/gelu_torch.py" "$TMP/o2" |
	"$PY" $W "$TMP/job" --problem "$TMP/problem.py" --problem-name problem.py --seed 42 >"$TMP/replies" 2>"$TMP/log"
check "worker: exit 0 after quit" $? 0
check "worker: ready, version $V" "$(head -1 "$TMP/replies")" "ready $V 0"
check "worker: one first-sight call, three timed" "$(grep -c '^first 0 ' "$TMP/replies") $(grep -c '^time ' "$TMP/replies")" "1 3"
check "worker: the first solution ends ok" "$(grep -m1 '^end' "$TMP/replies")" "end ok"
[ -s "$TMP/o1/set0.out0.bin" ] && [ -s "$TMP/o1/timed0.out0.bin" ] && ok "worker: outputs written" || not_ok "worker: outputs written" "$(ls "$TMP/o1")"
grep -q '^error unknown command$' "$TMP/replies" && ok "worker: an unknown command is answered" || not_ok "worker: an unknown command is answered" "$(cat "$TMP/replies")"
grep -q '^fault load_error this worker has judged a solution already' "$TMP/replies" && [ "$(tail -1 "$TMP/replies")" = "end fault" ] &&
	ok "worker: a second solution is refused" || not_ok "worker: a second solution is refused" "$(cat "$TMP/replies")"
grep -q "CPU MODE" "$TMP/log" && ok "worker: the CPU mode says so in its log" || not_ok "worker: the CPU mode says so in its log"
job 1 >"$TMP/job1"
echo quit | "$PY" $W "$TMP/job1" --problem "$TMP/problem.py" --problem-name problem.py --seed 42 >"$TMP/replies" 2>/dev/null
check "worker: a job of protocol 1: exit 5" $? 5
grep -q '^error .*protocol version mismatch' "$TMP/replies" && ok "worker: the mismatch is the reply" || not_ok "worker: the mismatch is the reply" "$(cat "$TMP/replies")"
job "$V" | sed 's/^tensor output.*//' >"$TMP/job-noout"
echo quit | "$PY" $W "$TMP/job-noout" --problem "$TMP/problem.py" --problem-name problem.py --seed 42 >/dev/null 2>&1
check "worker: a job without outputs: exit 4" $? 4
echo quit | "$PY" $W "$TMP/job" --problem "$TMP/problem.py" >/dev/null 2>&1
check "worker: bad usage: exit 4" $? 4
# Stressed sets: timed_sets names the sets the timed calls draw on, at most sets.
job "$V" | sed 's/^sets 1$/sets 1\ntimed_sets 2/' >"$TMP/job-timed"
echo quit | "$PY" $W "$TMP/job-timed" --problem "$TMP/problem.py" --problem-name problem.py --seed 42 >/dev/null 2>&1
check "worker: more timed sets than sets: exit 4" $? 4
job "$V" | sed 's/^sets 1$/sets 1\ntimed_sets 1/' >"$TMP/job-timed"
echo quit | "$PY" $W "$TMP/job-timed" --problem "$TMP/problem.py" --problem-name problem.py --seed 42 >/dev/null 2>&1
check "worker: timed_sets within sets: exit 0" $? 0

# --- the tail's floor: work past the stream's end, judged above Python's own wait -----
# The worker's functions with stand-ins for CUDA's events and synchronize
# (no GPU here): a synchronize() that takes 2 ms on an idle device is the
# floor, an honest call's tail of 2.01 ms is no hidden work, 2.1 ms is.
# Numbers from the H200: an honest GELU's least tail 0.026 ms over a floor
# of about that size passes; on a floor of zero (the floor ignored) it did not.
floor=$("$PY" - <<'PYEOF' 2>&1
import sys, time
sys.path.insert(0, "bridge")
import kbreed_pyworker as w

class Event:
    def record(self): pass
    def synchronize(self): pass
    def elapsed_time(self, other): return 0.0

class Quiet:
    def broken(self): return None

def synchronize():
    time.sleep(0.002)

floor = w.tail_floor((Event(), Event(), synchronize), Quiet(), lambda: None, calls=5)
print("floor", "ok" if 2.0 <= floor < 50.0 else floor)
print("honest", w.tail_fault(floor + 0.01, floor))
why = w.tail_fault(floor + 0.1, floor) or ""
print("hidden", "floor of %.3f ms" % floor in why and "escaped the events" in why)
print("h200", w.tail_fault(0.026, 0.024), w.tail_fault(0.026, 0.0) is not None, w.tail_fault(0.05, 0.024) is not None)
print("median", w.median([0.02, 5.0, 0.021, 0.019, 9.0]), w.median([1, 2, 3, 4]), w.median([]))
PYEOF
)
line() { echo "$floor" | sed -n "s/^$1 //p"; }
check "tail floor: synchronize() timed as in a call (2 ms a wait)" "$(line floor)" ok
check "tail floor: a tail 0.01 ms above the floor is no hidden work" "$(line honest)" None
check "tail floor: 0.1 ms above it is, and the detail states the floor" "$(line hidden)" True
check "tail floor: H200's honest GELU passes, rejected on a floor of zero; 0.05 ms rejected" "$(line h200)" "None True True"
check "tail floor: the median ignores slow samples" "$(line median)" "0.021 2.5 0.0"

test_summary
