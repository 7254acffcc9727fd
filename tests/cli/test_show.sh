#!/usr/bin/env bash
# test_show.sh - what a run leaves, read back: `kbreed show` (the runs, one
# run's candidates as a table, one candidate whole; --json for each) checked
# against the database itself, its refusals (no such database, run or
# candidate, a candidate of another run: exit 2, nothing created), and the
# JSON outcome of `kbreed run --json` and `kbreed bench --json` (refused
# with --slurm), each winner's template, knobs, idea and donor among it, and
# bench/bench_table.sh's table of a bench file. A scripted worker
# (<build>/tests/fake_worker) stands in for the GPU, tests/cli/fake_nvcc.sh
# for nvcc, tests/unit/fake_python.sh for PyTorch's timings.
#
#   tests/cli/test_show.sh       (from anywhere; needs `make`, sqlite3, python3, jq)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
export KBREED_FAKE_GPU=1 KBREED_FAKE_SEARCH=1
unset KBREED_DB KBREED_HOME

DB=$TMP/runs.db
# A kernel nvcc refuses (tests/cli/fake_nvcc.sh fails it as on a full disk):
# a candidate with a compile error and a compiler's log.
{ echo "// fake_nvcc: disk full while / exists"; cat kernels/naive/gelu.cu; } >"$TMP/broken.cu"

# --- run --json ----------------------------------------------------------------
$K -q run tests/data/search_gelu.py --rounds 2 --ideas 3 --impls 2 --reps 20 --db "$DB" --out "$TMP/out1" \
	--seed-kernel "$TMP/broken.cu" --json >"$TMP/run.json" 2>"$TMP/err"
check "run --json: exit 0" $? 0
"$PY" - "$TMP/run.json" "$DB" <<'EOF' >"$TMP/py" 2>&1
import json, os, sqlite3, sys
o = json.load(open(sys.argv[1]))  # the whole of stdout is one object
db = sqlite3.connect(sys.argv[2])
run, status, winner, final_ms, final_eager = db.execute(
    "SELECT id, status, winner, final_ms, final_eager_ms FROM runs ORDER BY id DESC LIMIT 1").fetchone()
n = db.execute("SELECT count(*) FROM candidates WHERE run=?", (run,)).fetchone()[0]
round_found, tpl, knobs, idea = db.execute("SELECT c.round, c.template, c.knobs, i.text FROM candidates c"
                                          " LEFT JOIN ideas i ON i.id = c.idea WHERE c.id=?", (winner,)).fetchone()
want = {"run": run, "problem": "search_gelu", "status": status, "candidates": n, "winner": winner,
        "round_found": round_found, "best_ms": final_ms, "eager_ms": final_eager, "passes_strict": True,
        "template": tpl or None, "idea": idea, "donor": None}
bad = {k: (o.get(k), v) for k, v in want.items() if o.get(k) != v}
if " ".join("%s=%s" % kv for kv in (o["knobs"] or {}).items()) != (knobs or ""):
    bad["knobs"] = (o["knobs"], knobs)
if o["bound"] not in ("memory", "compute") or not o["floor_ms"]:
    bad["bound"] = (o["bound"], o["floor_ms"])
if abs(o["pct_eager"] - final_eager / final_ms * 100) > 1e-6:
    bad["pct_eager"] = o["pct_eager"]
for k in ("winner_path", "summary_path"):
    if not os.path.isfile(o[k] or ""):
        bad[k] = o[k]
print(bad or "same")
EOF
check "run --json: one object, as the database has it (run, status, winner, times, files, template, knobs, idea, no donor)" "$(cat "$TMP/py")" same

$K -q run tests/data/search_gelu.py --dry-run --rounds 1 --ideas 2 --impls 1 --db "$DB" --out "$TMP/out2" --json >"$TMP/dry.json" 2>"$TMP/err"
check "run --dry-run --json: exit 0" $? 0
"$PY" - "$TMP/dry.json" "$DB" <<'EOF' >"$TMP/py" 2>&1
import json, sqlite3, sys
o = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
n = db.execute("SELECT count(*) FROM candidates WHERE run=?", (o["run"],)).fetchone()[0]
print([o["status"], o["winner"], o["best_ms"], o["candidates"] == n, o["run"]])
EOF
check "run --dry-run --json: status dry_run, no winner, no time" "$(cat "$TMP/py")" "['dry_run', None, None, True, 2]"
$K run --help | grep -q -- "--json" && $K bench --help | grep -q -- "--json" && ok "run and bench --help list --json" ||
	not_ok "run and bench --help list --json"

# --- show: the runs ------------------------------------------------------------
$K show --db "$DB" >"$TMP/out" 2>"$TMP/err"; check "show (the runs): exit 0" $? 0
check "show (the runs): one line per run" "$(grep -cE '^ +[0-9]+ ' "$TMP/out")" "$(q "$DB" "SELECT count(*) FROM runs")"
$K show --db "$DB" --json >"$TMP/out" 2>"$TMP/err"
check "show --json (the runs): their ids and states" \
	"$("$PY" -c 'import json, sys; print(" ".join("%d:%s" % (r["id"], r["status"]) for r in json.load(open(sys.argv[1]))))' "$TMP/out" 2>&1)" \
	"$(q "$DB" "SELECT id || ':' || status FROM runs ORDER BY id" | tr '\n' ' ' | sed 's/ $//')"

# --- show RUN: the table -------------------------------------------------------
$K show --db "$DB" 1 >"$TMP/table" 2>"$TMP/err"; check "show RUN: exit 0" $? 0
# id:verdict:time of each row, as the table prints them and as stored.
rows=$(awk '/^[* ] *[0-9]+ / { id = $1 == "*" ? $2 : $1; print id ":" $(NF - 2) ":" $(NF - 1) }' "$TMP/table")
want=$(q "$DB" "SELECT c.id || ':' || e.verdict || ':' || CASE WHEN e.median_ms > 0 THEN printf('%.4f', e.median_ms) ELSE '-' END
	FROM candidates c JOIN evaluations e ON e.candidate = c.id WHERE c.run = 1 ORDER BY c.id")
[ -n "$rows" ] && [ "$rows" = "$want" ] && ok "show RUN: every candidate, its verdict and time, as stored ($(echo "$rows" | wc -l) rows)" ||
	not_ok "show RUN: every candidate, its verdict and time, as stored" "table: $(echo $rows) stored: $(echo $want)"
winner=$(q "$DB" "SELECT winner FROM runs WHERE id=1")
check "show RUN: the winner marked" "$(sed -n 's/^\* *\([0-9]*\) .*/\1/p' "$TMP/table")" "$winner"
broken=$(q "$DB" "SELECT candidate FROM evaluations WHERE verdict='compile_error'")
grep -qE "^ +$broken +0 +user .*compile_error +- +-$" "$TMP/table" && ok "show RUN: the user's broken kernel: round 0, compile_error, no time" ||
	not_ok "show RUN: the user's broken kernel" "$(grep -E "^ +$broken " "$TMP/table")"
idea=$(q "$DB" "SELECT substr(i.category || ': ' || i.text, 1, 20) FROM candidates c JOIN ideas i ON i.id = c.idea WHERE c.run = 1 ORDER BY c.id LIMIT 1")
grep -qF "$idea" "$TMP/table" && ok "show RUN: the ideas named" || not_ok "show RUN: the ideas named" "$idea"

$K show --db "$DB" 1 --json >"$TMP/run1.json" 2>"$TMP/err"; check "show RUN --json: exit 0" $? 0
"$PY" - "$TMP/run1.json" "$DB" <<'EOF' >"$TMP/py" 2>&1
import json, sqlite3, sys
o = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
rows = db.execute("""SELECT c.id, c.round, c.origin, c.template, c.knobs, e.verdict, e.median_ms, e.pct_eager,
    i.text, i.category, c.parent1 FROM candidates c LEFT JOIN evaluations e ON e.candidate = c.id
    LEFT JOIN ideas i ON i.id = c.idea WHERE c.run = 1 ORDER BY c.id""").fetchall()
got = [(c["id"], c["round"], c["origin"], c["template"] or "", c["knobs"] or "", c["verdict"],
        c["median_ms"] or 0.0, c["pct_eager"] or 0.0, c["idea"] and c["idea"]["text"],
        c["idea"] and c["idea"]["category"], c["parent1"]) for c in o["candidates"]]
want = [(r[0], r[1], r[2], r[3] or "", r[4] or "", r[5], r[6] or 0.0, r[7] or 0.0, r[8], r[9], r[10]) for r in rows]
w = db.execute("SELECT winner, eager_ms, uid FROM runs WHERE id = 1").fetchone()
print("same" if got == want and (o["run"]["winner"], o["run"]["eager_ms"], o["run"]["uid"]) == w else [got, want, o["run"], w])
EOF
check "show RUN --json: the run (its uid too) and every candidate with its idea, parent, verdict and times, as stored" "$(cat "$TMP/py")" same

# --- show RUN CANDIDATE ----------------------------------------------------------
$K show --db "$DB" 1 "$winner" >"$TMP/cand" 2>"$TMP/err"; check "show RUN CANDIDATE: exit 0" $? 0
grep -q "^candidate #$winner (the winner), round" "$TMP/cand" && grep -q "^verdict   correct" "$TMP/cand" &&
	grep -q "^time      [0-9.]* ms median" "$TMP/cand" && ok "show RUN CANDIDATE: the winner, its verdict and time" ||
	not_ok "show RUN CANDIDATE: the winner, its verdict and time" "$(head -12 "$TMP/cand")"
"$PY" - "$TMP/cand" "$DB" "$winner" <<'EOF' >"$TMP/py" 2>&1
import re, sqlite3, sys
out = open(sys.argv[1]).read()
src = sqlite3.connect(sys.argv[2]).execute("SELECT source FROM candidates WHERE id=?", (int(sys.argv[3]),)).fetchone()[0]
m = re.search(r"\n--- source \(sha256 [0-9a-f]{16}\) ---\n", out)
print("same" if m and out[m.end():].rstrip("\n") == src.rstrip("\n") else "differs")
EOF
check "show RUN CANDIDATE: the stored source, whole" "$(cat "$TMP/py")" same

$K show --db "$DB" 1 "$broken" >"$TMP/cand" 2>"$TMP/err"; check "show RUN CANDIDATE (compile error): exit 0" $? 0
grep -q "^verdict   compile_error" "$TMP/cand" && ok "show RUN CANDIDATE: the compile error" || not_ok "show RUN CANDIDATE: the compile error" "$(head -12 "$TMP/cand")"
# The log as stored: what the compiler said of the kernel, here that the
# machine (not the kernel) stopped nvcc, and where the full log is.
"$PY" - "$TMP/cand" "$DB" "$broken" <<'EOF' >"$TMP/py" 2>&1
import re, sqlite3, sys
out = open(sys.argv[1]).read()
log = sqlite3.connect(sys.argv[2]).execute("SELECT log FROM evaluations WHERE candidate=?",
                                           (int(sys.argv[3]),)).fetchone()[0]
m = re.search(r"\n--- errors and logs ---\n(.*)\n--- source", out, re.S)
print("same" if m and log and "the machine stopped nvcc" in log and m.group(1).strip("\n") == log.strip("\n")
      else [m and m.group(1), log])
EOF
check "show RUN CANDIDATE: the compiler's log, as stored, under errors and logs" "$(cat "$TMP/py")" same
$K show --db "$DB" 1 "$broken" --json >"$TMP/cand.json" 2>"$TMP/err"
"$PY" - "$TMP/cand.json" "$DB" "$broken" <<'EOF' >"$TMP/py" 2>&1
import json, sqlite3, sys
o = json.load(open(sys.argv[1]))["candidate"]
db = sqlite3.connect(sys.argv[2])
src, log, detail = db.execute("SELECT c.source, e.log, e.detail FROM candidates c JOIN evaluations e ON e.candidate = c.id"
                              " WHERE c.id=?", (int(sys.argv[3]),)).fetchone()
e = o["evaluation"]
print("same" if (o["source"], e["log"], e["detail"], e["verdict"], e["median_ms"]) == (src, log, detail, "compile_error", None)
      else [o["source"] == src, e])
EOF
check "show RUN CANDIDATE --json: source, verdict, detail and log as stored" "$(cat "$TMP/py")" same

# --- a candidate not judged yet (the disk filled before it was) ---------------------
KBREED_TEST_ENOSPC=/runs/ $K -q run tests/data/search_gelu.py --rounds 1 --ideas 2 --impls 1 --reps 20 \
	--db "$TMP/full.db" --out "$TMP/out3" >/dev/null 2>&1
$K show --db "$TMP/full.db" 1 >"$TMP/out" 2>"$TMP/err"
grep -qE "^ +1 +0 +naive .* not judged +- +-$" "$TMP/out" && ok "show RUN: a candidate not judged yet says so" ||
	not_ok "show RUN: a candidate not judged yet says so" "$(cat "$TMP/out" "$TMP/err")"
$K show --db "$TMP/full.db" 1 1 --json >"$TMP/out" 2>"$TMP/err"
check "show RUN CANDIDATE --json: no verdict, no evaluation" \
	"$("$PY" -c 'import json, sys; c = json.load(open(sys.argv[1]))["candidate"]; print(c["verdict"], c["evaluation"])' "$TMP/out" 2>&1)" "None None"

# --- refusals: exit 2, a clear message, nothing made ---------------------------------
refused() {
	local what=$1 msg=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$msg" "$TMP/err" && [ ! -s "$TMP/out" ]; then
		ok "refused: $what"
	else
		not_ok "refused: $what" "rc $rc: $(cat "$TMP/err" "$TMP/out" | head -3)"
	fi
}
refused "a run that does not exist" "has no run 99" $K show --db "$DB" 99
refused "a run that does not exist (--json)" "has no run 99" $K show --db "$DB" 99 --json
refused "a candidate that does not exist" "has no candidate 9999" $K show --db "$DB" 1 9999
other=$(q "$DB" "SELECT min(id) FROM candidates WHERE run=2")
refused "a candidate of another run" "candidate $other is one of run 2's, not of run 1's" $K show --db "$DB" 1 "$other"
refused "a run that is not a number" "RUN must be an integer" $K show --db "$DB" one
refused "a candidate that is not a number" "CANDIDATE must be an integer" $K show --db "$DB" 1 '#3'
refused "three operands" "at most one of its candidates" $K show --db "$DB" 1 2 3
refused "a database that does not exist" "no database at $TMP/none.db" $K show --db "$TMP/none.db" 1
[ ! -e "$TMP/none.db" ] && ok "show makes no database" || not_ok "show makes no database"
refused "the default database, absent" "no database at $XDG_DATA_HOME/kbreed/kbreed.db" $K show
[ ! -e "$XDG_DATA_HOME/kbreed/kbreed.db" ] && ok "show makes no default database" || not_ok "show makes no default database"
refused "an unknown option" "unknown option '--bogus'" $K show --bogus
q "$TMP/foreign.db" "CREATE TABLE notes(x TEXT);" >/dev/null
refused "another program's database" "not a kbreed database" $K show --db "$TMP/foreign.db" 1

# --- bench --json, and bench/bench_table.sh -------------------------------------
# Two problems in one database: the second, a GELU of another shape, is
# seeded from the bank by the first's winner (gelu_vec serves both; the fake
# GPU times a kernel by its source, so the banked one is as fast there), and
# with this --seed its winner descends from that seed over two rounds. The
# naive kernel (kernels/naive/gelu.cu) is made slow, as on a GPU, so that the
# first problem's winner is a template's, which the bank can lend (its own
# cache: the marks are made as kernels are compiled).
sed 's/^M, N = .*/M, N = 17, 2050/' tests/data/search_gelu.py >"$TMP/other_gelu.py"
KBREED_FAKE_EVENT_LOG=$TMP/bench-events KBREED_CACHE=$TMP/bench-cache KBREED_FAKE_SLOW_TEXT="naive/gelu.cu -" \
	$K -q bench tests/data/search_gelu.py "$TMP/other_gelu.py" --seed 2 --rounds 2 --ideas 2 --impls 2 --reps 20 \
	--db "$TMP/bench.db" --out "$TMP/bench-out" --results "$TMP/bench.json" --json >"$TMP/bench.stdout" 2>"$TMP/err"
check "bench --json: exit 0" $? 0
# The second problem is described while the first runs: its description
# starts before the first run's PyTorch timing (which follows the first
# one's description and references), not after the first run's end.
first_describe=$(grep -n '^describe other_gelu.py$' "$TMP/bench-events" | head -1 | cut -d: -f1)
first_time=$(grep -n '^time ' "$TMP/bench-events" | head -1 | cut -d: -f1)
[ -n "$first_describe" ] && [ -n "$first_time" ] && [ "$first_describe" -lt "$first_time" ] &&
	ok "bench: the second problem is described while the first runs" ||
	not_ok "bench: the second problem is described while the first runs" "$(cat "$TMP/bench-events")"
"$PY" - "$TMP/bench.stdout" "$TMP/bench.json" "$TMP/bench.db" <<'EOF' >"$TMP/py" 2>&1
import json, sqlite3, sys
o = json.load(open(sys.argv[1]))  # the whole of stdout is one object
f = json.load(open(sys.argv[2]))
runs = sqlite3.connect(sys.argv[3]).execute("SELECT id, final_ms FROM runs ORDER BY id").fetchall()
got = [(r["run"], r["best_ms"]) for r in o["results"]]
print("same" if o == f and got == runs and len(runs) == 2 else [o, f, runs])
EOF
check "bench --json: stdout is the results file, with the run of each problem" "$(cat "$TMP/py")" same
# Each row's winner as the database has it: the run's winner, its template,
# knobs and idea, the floor its evaluation was judged against, and the
# donor: the bank kernel at the root of its line (parent1 back to round 0).
"$PY" - "$TMP/bench.json" "$TMP/bench.db" <<'EOF' >"$TMP/py" 2>&1
import json, sqlite3, sys
rows = json.load(open(sys.argv[1]))["results"]
db = sqlite3.connect(sys.argv[2])
bad = []
for r in rows:
    winner, problem = db.execute("SELECT winner, problem FROM runs WHERE id=?", (r["run"],)).fetchone()
    tpl, knobs, idea, floor = db.execute(
        "SELECT c.template, c.knobs, i.text, e.floor_ms FROM candidates c LEFT JOIN ideas i ON i.id = c.idea"
        " JOIN evaluations e ON e.candidate = c.id WHERE c.id=?", (winner,)).fetchone()
    root = winner
    while True:
        parent = db.execute("SELECT parent1 FROM candidates WHERE id=?", (root,)).fetchone()[0]
        if not parent:
            break
        root = parent
    origin, root_tpl = db.execute("SELECT origin, template FROM candidates WHERE id=?", (root,)).fetchone()
    donor = None
    if origin.startswith("bank:"):
        p, t = origin[len("bank:"):].rsplit("/", 1)
        donor = {"problem": p, "template": t, "seed": root}
    elif origin == "bank":
        donor = {"problem": problem, "template": root_tpl or None, "seed": root}
    want = {"winner": winner, "template": tpl or None, "idea": idea, "donor": donor}
    have = {k: r[k] for k in want}
    knobs_text = " ".join("%s=%s" % kv for kv in (r["knobs"] or {}).items())
    if (have != want or knobs_text != (knobs or "") or abs(r["floor_ms"] - floor) > 1e-12
            or r["bound"] not in ("memory", "compute") or abs(r["pct_floor"] - floor / r["best_ms"] * 100) > 1e-6):
        bad.append([have, want, r["knobs"], knobs, r["floor_ms"], floor, r["bound"]])
print(bad or "same")
EOF
check "bench --json: each winner's template, knobs, idea, floor and donor, as stored" "$(cat "$TMP/py")" same
check "bench --json: the second problem's winner descends from the first's, lent by the bank" \
	"$(jq -r '.results[1].donor | "\(.problem)/\(.template) \(.seed)"' "$TMP/bench.json" 2>&1)" \
	"$(q "$TMP/bench.db" "SELECT b.problem || '/' || b.template || ' ' || c.id FROM bank b, candidates c
		WHERE b.run = 1 AND c.run = 2 AND c.origin = 'bank:' || b.problem || '/' || b.template")"
check "bench --json: the first problem's winner owes the bank nothing" "$(jq -c '.results[0].donor' "$TMP/bench.json")" null
# The table of that file: each problem's row, its numbers and its winner as
# stored, then the command, GPU and date.
sh bench/bench_table.sh "$TMP/bench.json" >"$TMP/table" 2>"$TMP/err"
check "bench_table.sh: exit 0" $? 0
check "bench_table.sh: the header" "$(head -1 "$TMP/table")" \
	"| problem | eager ms | compile ms | found ms | % of eager | % of compile | % of floor | round | template | knobs | donor |"
for run in 1 2; do
	p=$(jq -r ".results[$run - 1].problem" "$TMP/bench.json")
	donor=$(jq -r ".results[$run - 1].donor.seed // 0" "$TMP/bench.json")
	want=$(q "$TMP/bench.db" "SELECT '| $p | ' || printf('%.4f', r.final_eager_ms) || ' | - | ' || printf('%.4f', r.final_ms)
		|| ' | ' || printf('%.1f%%', r.final_eager_ms / r.final_ms * 100) || ' | - | '
		|| printf('%.1f%%', e.floor_ms / r.final_ms * 100) || ' | ' || c.round || ' | ' || coalesce(nullif(c.template, ''), '-') || ' | '
		|| coalesce(nullif(c.knobs, ''), '-') || ' | ' || coalesce((SELECT substr(origin, 6) FROM candidates WHERE id = $donor), '-') || ' |'
		FROM runs r JOIN candidates c ON c.id = r.winner JOIN evaluations e ON e.candidate = c.id WHERE r.id = $run")
	check "bench_table.sh: run $run's row, as stored" "$(grep -F "| $p |" "$TMP/table")" "$want"
done
check "bench_table.sh: the command, GPU and date" "$(tail -1 "$TMP/table")" \
	"command: \`$(jq -r .command "$TMP/bench.json")\`; GPU: Fake GPU; date: $(date -u +%F)"
# A Slurm bench's results come later, from its jobs: --json is refused
# before anything is written or submitted.
refused "bench --slurm --json" "drop one of them" $K bench --slurm --slurm-dir "$TMP/slurm" --json tests/data/search_gelu.py
[ ! -e "$TMP/slurm" ] && ok "bench --slurm --json: nothing made" || not_ok "bench --slurm --json: nothing made"

test_summary
