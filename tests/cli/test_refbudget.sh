#!/usr/bin/env bash
# test_refbudget.sh - the reference data's budget (docs/EVALUATION.md, *The
# reference data's budget*) through kbreed itself, on a machine without a
# GPU: a problem whose sets exceed a small forced budget
# (KBREED_REF_BUDGET_GB) is judged on fewer sets, kbreed says so once, and
# the eval JSON, the verdict's detail and a run's stored evaluations count
# the sets that ran, not those asked; without the override nothing changes.
# The fake worker stands in for the GPU, tests/unit/fake_python.sh for
# PyTorch's timings (the reference data is made for real, on the CPU).
#
#   tests/cli/test_refbudget.sh   (from anywhere; needs `make`, python3 with torch, jq, sqlite3)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"

export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_FAKE_GPU=1 KBREED_FAKE_SEARCH=1
unset KBREED_DB KBREED_REF_BUDGET_GB KBREED_FAKE_TIME_SCALE

# tiny_gelu: one 33 x 65 fp32 input and its output, 17160 bytes a set; the
# default 5 plain and 5 stressed sets take 172 kB. 60 kB holds 3 sets: 2
# plain (the plain sets go first, down to 2) and 1 stressed (the first
# kind, scale_up; the others from the last).
EVAL="$K eval --json --reps 20 tests/data/tiny_gelu.py kernels/naive/gelu.cu"
KBREED_REF_BUDGET_GB=0.00006 $EVAL >"$TMP/cut.json" 2>"$TMP/cut.err"
check "over the budget: correct on what was made (exit 0)" "$?/$(jq -r .verdict "$TMP/cut.json" 2>&1)" 0/correct
check "over the budget: said once, with the sizes, the budget, its reason and the sets judged" \
	"$(grep -c 'reference data for tiny_gelu: 10 sets of 17.2 kB would take 172 kB, more than the budget 60 kB (the cap, 60 kB, from KBREED_REF_BUDGET_GB): judging on 3 sets (2 plain, 1 stressed)' "$TMP/cut.err")" 1
check "over the budget: the eval JSON counts the sets judged" \
	"$(jq -c '[.correctness.sets, .correctness.set_kinds]' "$TMP/cut.json" 2>&1)" \
	'[2,{"plain":2,"scale_up":1,"scale_down":0,"shift":0,"ties":0,"clustered_max":0}]'
check "over the budget: the kinds left out listed as skipped, with the budget as the reason" \
	"$(jq -r '[.correctness.stress_skipped[] | .kind + ": " + .why] | join("; ")' "$TMP/cut.json" 2>&1)" \
	"scale_down: over kbreed's reference data budget (KBREED_REF_BUDGET_GB); shift: over kbreed's reference data budget (KBREED_REF_BUDGET_GB); ties: over kbreed's reference data budget (KBREED_REF_BUDGET_GB); clustered_max: over kbreed's reference data budget (KBREED_REF_BUDGET_GB)"
jq -r .detail "$TMP/cut.json" | grep -q '^correct on 2 input sets, 1 stressed set (scale_up; scale_down skipped: over' &&
	ok "over the budget: the detail claims 2 input sets and 1 stressed set" ||
	not_ok "over the budget: the detail claims 2 input sets and 1 stressed set" "$(jq -r .detail "$TMP/cut.json")"
check "over the budget: the data made holds those sets alone" \
	"$(ls "$KBREED_CACHE"/refs/tiny_gelu-*/ | grep -c '^set[0-9]*\.in0\.bin$')" 3

# Less than one set: one plain set, never none. (The data already made
# would serve: a larger set made earlier is taken as it is.)
rm -rf "$KBREED_CACHE/refs"
KBREED_REF_BUDGET_GB=0.000001 $EVAL >"$TMP/one.json" 2>"$TMP/one.err"
check "a budget below one set: judged on one plain set" \
	"$(jq -c '[.verdict, .correctness.sets, .correctness.set_kinds.plain, (.correctness.stress_skipped | length)]' "$TMP/one.json" 2>&1)" \
	'["correct",1,1,5]'
grep -q 'judging on 1 set (1 plain, 0 stressed)' "$TMP/one.err" && ok "a budget below one set: said so" ||
	not_ok "a budget below one set: said so" "$(cat "$TMP/one.err")"

# Within the budget (the default: 32 GB at most): as before, nothing said.
rm -rf "$KBREED_CACHE/refs"
$EVAL >"$TMP/all.json" 2>"$TMP/all.err"
check "within the budget: every set asked" \
	"$(jq -c '[.verdict, .correctness.sets, .correctness.set_kinds, .correctness.stress_skipped]' "$TMP/all.json" 2>&1)" \
	'["correct",5,{"plain":5,"scale_up":1,"scale_down":1,"shift":1,"ties":1,"clustered_max":1},[]]'
grep -q 'more than the budget' "$TMP/all.err" && not_ok "within the budget: no word of it" "$(cat "$TMP/all.err")" ||
	ok "within the budget: no word of it"

# A malformed budget stops the judging, said, rather than being ignored.
KBREED_REF_BUDGET_GB=lots $EVAL >"$TMP/bad.json" 2>"$TMP/bad.err"
rc=$?
[ $rc -ne 0 ] && grep -q 'KBREED_REF_BUDGET_GB=lots' "$TMP/bad.err" && ok "a malformed budget: an error (exit $rc)" ||
	not_ok "a malformed budget: an error" "exit $rc: $(cat "$TMP/bad.err")"

# A run: its evaluations record the sets that ran. search_gelu's sets are
# 33 x 1030 fp32 in and out, 271920 bytes: 0.9 MB holds 3.
KBREED_REF_BUDGET_GB=0.0009 $K run tests/data/search_gelu.py --rounds 1 --ideas 2 --impls 1 --reps 20 \
	--db "$TMP/cut.db" --out "$TMP/out-cut" >/dev/null 2>"$TMP/run.err"
check "a run over the budget: exit 0" $? 0
check "a run over the budget: said once" "$(grep -c 'judging on 3 sets (2 plain, 1 stressed)' "$TMP/run.err")" 1
check "a run over the budget: every evaluation records 2 plain sets" \
	"$(q "$TMP/cut.db" "SELECT group_concat(DISTINCT sets) FROM evaluations WHERE verdict != 'not_run'")" 2
[ "$(q "$TMP/cut.db" "SELECT count(*) FROM evaluations WHERE verdict = 'correct'")" -gt 0 ] &&
	ok "a run over the budget: its kernels judged correct" || not_ok "a run over the budget: its kernels judged correct" "$(tail -3 "$TMP/run.err")"
$K run tests/data/search_gelu.py --rounds 0 --reps 20 --db "$TMP/all.db" --out "$TMP/out-all" >/dev/null 2>"$TMP/run2.err"
check "a run within the budget: 5 sets recorded" \
	"$(q "$TMP/all.db" "SELECT group_concat(DISTINCT sets) FROM evaluations WHERE verdict != 'not_run'")" 5
test_summary
