#!/usr/bin/env bash
# test_gpus.sh - every GPU of a host, without a GPU: the fake worker plays a
# host of several (KBREED_FAKE_GPUS, a model name per GPU) and logs where each
# candidate ran (KBREED_FAKE_EVAL_LOG). Checks that one run's candidates go to
# both GPUs of one model, each judged once, with the device recorded (and
# shown by kbreed show); that a run never mixes models; that --gpus picks;
# that one GPU, asked for all, gives the very candidates and winner of the
# one-GPU kbreed; and that bench runs different problems on different GPUs
# at once, its results naming each problem's run.
#
#   tests/cli/test_gpus.sh       (from anywhere; needs `make` and sqlite3)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"

export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
export KBREED_FAKE_SEARCH=1
export KBREED_FAKE_DELAY_MS=20
unset KBREED_FAKE_GPU KBREED_FAKE_GPUS KBREED_DB CUDA_VISIBLE_DEVICES
RUN="$K -q run tests/data/search_gelu.py --rounds 2 --ideas 3 --impls 2 --reps 20 --seed 3"
# The candidates of a run, in order, and its winner's source.
trail() { q "$1" "SELECT group_concat(round || ':' || template || '[' || knobs || ']', ' ') FROM (SELECT * FROM candidates ORDER BY id)"; }
winner() { q "$1" "SELECT c.source_sha FROM runs r JOIN candidates c ON c.id = r.winner"; }

# --- one GPU: as kbreed always ran -------------------------------------------
KBREED_FAKE_GPU=1 $RUN --db "$TMP/one.db" --out "$TMP/o-one" >/dev/null 2>"$TMP/err"; check "one GPU: exit 0" $? 0
KBREED_FAKE_GPUS=H200 KBREED_FAKE_EVAL_LOG=$TMP/ev-all $RUN --gpus all --db "$TMP/all.db" --out "$TMP/o-all" >/dev/null 2>"$TMP/err"
check "one GPU, --gpus all: exit 0" $? 0
check "one GPU, --gpus all: the same candidates" "$(trail "$TMP/all.db")" "$(trail "$TMP/one.db")"
check "one GPU, --gpus all: the same winner" "$(winner "$TMP/all.db")" "$(winner "$TMP/one.db")"
[ -n "$(winner "$TMP/one.db")" ] && ok "one GPU: a winner" || not_ok "one GPU: a winner"
check "one GPU: the worker kept kbreed's view (no CUDA_VISIBLE_DEVICES)" "$(awk '{print $1}' "$TMP/ev-all" | sort -u)" "-"
check "one GPU: no device recorded" "$(q "$TMP/all.db" "SELECT count(*) FROM evaluations WHERE device IS NOT NULL")" 0

# kbreed -v: the bridge's per-set reference timings among the debug lines
# (a cache of its own, so that the references are made, not found).
KBREED_FAKE_GPU=1 KBREED_CACHE=$TMP/cache-v ${RUN/ -q / -v } --rounds 1 --db "$TMP/v.db" --out "$TMP/o-v" >/dev/null 2>"$TMP/err"
check "-v: exit 0" $? 0
grep -Eq "^kbreed: debug: bridge: kbreed_bridge: reference set 0: [0-9.]+ s: get_inputs" "$TMP/err" &&
	grep -q "^kbreed: debug: bridge: kbreed_bridge: reference: done after" "$TMP/err" &&
	ok "-v: the reference's seconds per phase and set shown" ||
	not_ok "-v: the reference's seconds per phase and set shown" "$(grep bridge "$TMP/err" | head -n 5)"

# --- two GPUs of one model: one run on both -----------------------------------
export KBREED_FAKE_GPUS=H200,H200
KBREED_FAKE_EVAL_LOG=$TMP/ev-two KBREED_FAKE_WORKER_STARTS=$TMP/starts-two $RUN --db "$TMP/two.db" --out "$TMP/o-two" >/dev/null 2>"$TMP/err"
check "two GPUs: exit 0" $? 0
check "two GPUs: candidates judged on GPU 0 and GPU 1" "$(awk '{print $1}' "$TMP/ev-two" | sort -u | tr '\n' ' ')" "0 1 "
check "two GPUs: one worker per GPU, none restarted" "$(wc -l <"$TMP/starts-two")" 2
n_cands=$(q "$TMP/two.db" "SELECT count(*) FROM candidates")
check "two GPUs: every candidate judged" "$(q "$TMP/two.db" "SELECT count(*) FROM evaluations")" "$n_cands"
check "two GPUs: every candidate correct (none lost to a worker)" "$(q "$TMP/two.db" "SELECT count(*) FROM evaluations WHERE verdict = 'correct'")" "$n_cands"
# Each candidate reaches a worker once; the winner once more, re-timed at the end.
check "two GPUs: no candidate judged twice" "$(awk '{print $2}' "$TMP/ev-two" | sort | uniq -d | wc -l)" 1
check "two GPUs: the worker log holds each candidate and the re-timing" "$(wc -l <"$TMP/ev-two")" $((n_cands + 1))
check "two GPUs: the store records the device of each evaluation" \
	"$(q "$TMP/two.db" "SELECT group_concat(device) FROM (SELECT DISTINCT device FROM evaluations ORDER BY device)")" "0,1"
check "two GPUs: and the model" "$(q "$TMP/two.db" "SELECT group_concat(DISTINCT gpu) FROM evaluations")" "H200"
check "two GPUs: the same candidates as on one" "$(trail "$TMP/two.db")" "$(trail "$TMP/one.db")"
grep -q "GPU: 2 x H200" "$TMP/o-two/summary.md" && ok "two GPUs: the summary names them" || not_ok "two GPUs: the summary names them"
# kbreed show names the device a candidate was judged on.
for dev in 0 1; do
	c=$(q "$TMP/two.db" "SELECT min(candidate) FROM evaluations WHERE device = '$dev'")
	$K show --db "$TMP/two.db" 1 "$c" >"$TMP/show" 2>"$TMP/err"
	grep -q "^GPU       H200 (device $dev), " "$TMP/show" && ok "two GPUs: show names candidate $c's device ($dev)" ||
		not_ok "two GPUs: show names candidate $c's device ($dev)" "$(cat "$TMP/show" "$TMP/err" | head -20)"
	check "two GPUs: show --json names candidate $c's device" "$($K show --db "$TMP/two.db" 1 "$c" --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["candidate"]["evaluation"]["device"])' 2>&1)" "$dev"
done

# --- two models: a run keeps to one ------------------------------------------
export KBREED_FAKE_GPUS=H200,A100
KBREED_FAKE_EVAL_LOG=$TMP/ev-mixed $RUN --db "$TMP/mixed.db" --out "$TMP/o-mixed" >/dev/null 2>"$TMP/err"
check "two models: exit 0" $? 0
grep -q "GPU 1 (A100) is left out" "$TMP/err" && ok "two models: the other model is left out, said" || not_ok "two models: said" "$(cat "$TMP/err")"
check "two models: every candidate on the first GPU" "$(awk '{print $1}' "$TMP/ev-mixed" | sort -u)" "0"
check "two models: times of one model only" "$(q "$TMP/mixed.db" "SELECT group_concat(DISTINCT gpu) FROM evaluations")" "H200"
KBREED_FAKE_EVAL_LOG=$TMP/ev-one $RUN --gpus 1 --db "$TMP/g1.db" --out "$TMP/o-g1" >/dev/null 2>"$TMP/err"
check "--gpus 1: exit 0" $? 0
check "--gpus 1: judged on GPU 1 only" "$(awk '{print $1}' "$TMP/ev-one" | sort -u)" "1"
check "--gpus 1: the run and its times are the A100's" "$(q "$TMP/g1.db" "SELECT gpu FROM runs") $(q "$TMP/g1.db" "SELECT group_concat(DISTINCT gpu) FROM evaluations")" "A100 A100"
check "--gpus 1: the bank holds the winner for the A100" "$(q "$TMP/g1.db" "SELECT gpu FROM bank")" "A100"
$RUN --gpus 2 --db "$TMP/g2.db" >/dev/null 2>"$TMP/err"; check "--gpus 2 of two: exit 2" $? 2
grep -q "no GPU 2 here; 2 are visible" "$TMP/err" && ok "--gpus 2: says so" || not_ok "--gpus 2: says so" "$(cat "$TMP/err")"
$RUN --gpus 0,x --db "$TMP/g2.db" >/dev/null 2>&1; check "--gpus 0,x: exit 2" $? 2
# Slurm's own list: the workers get its entries, not the indices.
CUDA_VISIBLE_DEVICES=1 KBREED_FAKE_GPUS=H200,A100 KBREED_FAKE_EVAL_LOG=$TMP/ev-vis $RUN --db "$TMP/vis.db" --out "$TMP/o-vis" >/dev/null 2>"$TMP/err"
check "CUDA_VISIBLE_DEVICES=1: exit 0" $? 0
check "CUDA_VISIBLE_DEVICES=1: the A100 judged" "$(q "$TMP/vis.db" "SELECT gpu FROM runs")" "A100"

# --- bench: different problems on different GPUs at once -----------------------
export KBREED_FAKE_GPUS=H200,H200
KBREED_FAKE_EVAL_LOG=$TMP/ev-bench $K -q bench tests/data/search_gelu.py tests/data/tiny_gelu.py tests/data/tiny_layernorm.py \
	--rounds 1 --ideas 2 --impls 2 --reps 20 --db "$TMP/bench.db" --out "$TMP/o-bench" --results "$TMP/bench.json" >"$TMP/out" 2>"$TMP/err"
check "bench on two GPUs: exit 0" $? 0
check "bench on two GPUs: three runs" "$(q "$TMP/bench.db" "SELECT count(*) FROM runs WHERE status = 'done'")" 3
check "bench on two GPUs: each run on one GPU" "$(q "$TMP/bench.db" "SELECT count(*) FROM (SELECT c.run FROM evaluations e JOIN candidates c ON c.id = e.candidate GROUP BY c.run HAVING count(DISTINCT e.device) = 1)")" 3
check "bench on two GPUs: both GPUs used" "$(q "$TMP/bench.db" "SELECT count(DISTINCT device) FROM evaluations")" 2
check "bench on two GPUs: the results name each problem's run" \
	"$(python3 -c 'import json, sys; print(" ".join(r["problem"].split("/")[-1][:-3] + ":" + str(r["run"]) for r in json.load(open(sys.argv[1]))["results"]))' "$TMP/bench.json" 2>&1)" \
	"$(q "$TMP/bench.db" "SELECT group_concat(p || ':' || id, ' ') FROM (SELECT id, problem AS p FROM runs ORDER BY CASE problem WHEN 'search_gelu' THEN 0 WHEN 'tiny_gelu' THEN 1 ELSE 2 END)")"
check "bench on two GPUs: one model, one table" "$(grep -c "| GPU |" "$TMP/out")" 0
# Each child hands its row back through a pipe, which carries no strings:
# the winners' templates and knobs are read from the database after.
check "bench on two GPUs: each row's winner, template and knobs, as stored" \
	"$(jq -r '.results[] | "\(.winner) \(.template // "") \((.knobs // {}) | to_entries | map("\(.key)=\(.value)") | join(" "))"' "$TMP/bench.json" 2>&1)" \
	"$(q "$TMP/bench.db" "SELECT r.winner || ' ' || c.template || ' ' || c.knobs FROM runs r JOIN candidates c ON c.id = r.winner
		ORDER BY CASE r.problem WHEN 'search_gelu' THEN 0 WHEN 'tiny_gelu' THEN 1 ELSE 2 END")"
export KBREED_FAKE_GPUS=H200,A100
$K -q bench tests/data/tiny_gelu.py tests/data/tiny_layernorm.py --reps 20 --rounds 0 --db "$TMP/bench2.db" \
	--results "$TMP/bench2.json" >"$TMP/out" 2>"$TMP/err"
rc=$?; check "bench on two models: exit 0" $rc 0; [ $rc -eq 0 ] || cat "$TMP/err"
grep -q "| GPU |" "$TMP/out" && ok "bench on two models: each row names its GPU" || not_ok "bench on two models: GPU column" "$(cat "$TMP/out")"
grep -q '"gpu": "H200, A100"' "$TMP/bench2.json" && grep -q '"gpu": "A100"' "$TMP/bench2.json" \
	&& ok "bench on two models: the results name both, each row its own" || not_ok "bench on two models: results" "$(cat "$TMP/bench2.json")"
# --continue: a finished bench is kept, nothing judged again.
KBREED_FAKE_EVAL_LOG=$TMP/ev-again $K -q bench tests/data/tiny_gelu.py tests/data/tiny_layernorm.py --reps 20 --rounds 0 \
	--db "$TMP/bench2.db" --results "$TMP/bench3.json" --continue >"$TMP/out" 2>"$TMP/err"
check "bench --continue of a finished bench: exit 0" $? 0
check "bench --continue: nothing judged again" "$(cat "$TMP/ev-again" 2>/dev/null | wc -l)" 0
check "bench --continue: no new run" "$(q "$TMP/bench2.db" "SELECT count(*) FROM runs")" 2

test_summary
