#!/usr/bin/env bash
# test_level1_bench.sh - the resumable level-1 benchmark without a GPU:
# bench/level1_table.sh's merge of hand-made per-problem results files (the
# rows kept, the geometric means, the missing problems, each target met or
# missed by how much), and scripts/level1_bench.sh on the fake GPU (a
# scripted worker, tests/cli/fake_nvcc.sh for nvcc, tests/unit/fake_python.sh
# for PyTorch's timings): families resolved from the index and from kbreed's
# description, problems with kept results skipped, none started that the
# deadline leaves no time for, one cut at the deadline, each result copied
# under $OUT and into its tarball as it ends; a cache in RAM moved to disk
# (KBREED_BENCH_CACHE: kept where the caller names it); and
# scripts/template_probe.sh there (settings of one template side by side).
#
#   tests/cli/test_level1_bench.sh   (from anywhere; needs `make`, python3 with torch, jq)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"

# --- bench/level1_table.sh ----------------------------------------------------
# result FILE NAME EAGER COMPILE BEST FLOOR BOUND [EAGER_FP32]: a results
# file of one problem as `kbreed bench` writes it ("null" for what is
# missing; the ratios from the times, as kbreed computes them; eager with
# TF32 off only where given, as kbreed writes it only for fp32 convolutions).
result() {
	awk -v name="$2" -v e="$3" -v c="$4" -v b="$5" -v f="$6" -v bound="$7" -v e32="${8:-}" 'function r(x, y) { return x == "null" || y == "null" ? "null" : x / y * 100 }
	BEGIN {
		ok = b != "null"
		printf "{\n  \"gpu\": \"Test GPU\",\n  \"date\": \"2026-12-04\",\n"
		printf "  \"command\": \"kbreed bench /k/level1/%s.py --max-minutes 1 --torch-compile --results out/%s.json\",\n", name, name
		printf "  \"results\": [\n    {\n      \"problem\": \"/k/level1/%s.py\",\n      \"run\": 1,\n      \"tolerance\": \"strict\",\n", name
		printf "      \"eager_ms\": %s,\n      \"compile_ms\": %s,\n      \"best_ms\": %s,\n", ok ? e : "null", ok ? c : "null", b
		printf "      \"floor_ms\": %s,\n      \"bound\": %s,\n", f, bound == "null" ? "null" : "\"" bound "\""
		printf "      \"pct_eager\": %s,\n      \"pct_compile\": %s,\n      \"pct_floor\": %s,\n", ok ? r(e, b) : "null", ok ? r(c, b) : "null", ok ? r(f, b) : "null"
		if (ok && e32 != "")
			printf "      \"eager_fp32_ms\": %s,\n      \"pct_eager_fp32\": %s,\n", e32, r(e32, b)
		printf "      \"round_found\": %s,\n      \"passes_strict\": %s,\n      \"passes_crfm\": %s,\n      \"winner\": %s,\n",
			ok ? 1 : "null", ok ? "true" : "null", ok ? "true" : "null", ok ? 7 : "null"
		printf "      \"template\": %s,\n      \"knobs\": %s,\n      \"idea\": null,\n      \"donor\": %s\n    }\n  ]\n}\n",
			ok ? "\"tpl_" name "\"" : "null", ok ? "{\"VEC\": 4, \"THREADS\": 256}" : "null",
			ok ? "{\"problem\": \"1_mm\", \"template\": \"gemm\", \"seed\": 3}" : "null"
	}' >"$1"
}
mkdir -p "$TMP/t/a" "$TMP/t/b"
printf '# problem family op\n1_mm matmul matmul_fp32\n2_conv conv conv2d\n3_conv conv conv3d\n10_relu elementwise relu\n11_sum reduce sum_dim\n12_ln norm layernorm\n13_softmax softmax softmax\n' >"$TMP/t/index"
result "$TMP/t/a/10_relu.json" 10_relu 1.0 0.8 0.5 0.45 memory      # 200% of eager, 160% of compile, 90% of floor
result "$TMP/t/a/11_sum.json" 11_sum 1.0 null 0.8 0.6 memory       # 125%, no compile time, 75% of floor
result "$TMP/t/a/12_ln.json" 12_ln 1.0 1.0 null null null          # no correct kernel
result "$TMP/t/a/1_mm.json" 1_mm 2.0 2.0 1.0 0.5 compute           # 200%
result "$TMP/t/a/2_conv.json" 2_conv 1.0 1.0 2.0 0.5 compute       # 50%, replaced by b/'s
result "$TMP/t/b/2_conv.json" 2_conv 1.0 1.0 1.25 0.5 compute 3.0  # 80%; 240% of eager with TF32 off
result "$TMP/t/a/3_conv.json" 3_conv 3.0 3.0 1.0 0.5 compute 6.0   # 300%; 600%
result "$TMP/t/a/77_other.json" 77_other 1.0 1.0 1.0 0.5 memory    # in no family
# geo X...: the geometric mean of X... as the table prints it.
geo() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += log($i); printf "%.2f", exp(s / NF) }'; }

sh bench/level1_table.sh --index "$TMP/t/index" "$TMP/t/a" "$TMP/t/b/2_conv.json" >"$TMP/table" 2>"$TMP/err"
check "level1_table.sh: exit 0" $? 0
mem=$(sed -n '/^## Memory-bound/,/^## Matrix/p' "$TMP/table")
cmp=$(sed -n '/^## Matrix/,$p' "$TMP/table")
check "level1_table.sh: the memory group's rows, in KernelBench order" \
	"$(echo "$mem" | grep '^| [0-9]' | cut -d'|' -f2 | tr -d ' ' | tr '\n' ' ')" "10_relu 11_sum 12_ln "
check "level1_table.sh: a row whole (times, ratios, bound, template, knobs, donor, GPU, date)" \
	"$(echo "$mem" | grep '^| 10_relu ')" \
	"| 10_relu | elementwise | 1.0000 | 0.8000 | 0.5000 | 200.0% | 160.0% | 90.0% | memory | tpl_10_relu | VEC=4 THREADS=256 | 1_mm/gemm | Test GPU | 2026-12-04 |"
check "level1_table.sh: the row of a problem with no correct kernel" \
	"$(echo "$mem" | grep '^| 12_ln ' | cut -d'|' -f4-11)" " - | - | - | - | - | - | - | - "
check "level1_table.sh: correct of the index's problems of the group" "$(echo "$mem" | grep '^Correct:')" \
	"Correct: 2 of 4 (3 with results)."
check "level1_table.sh: the problem with no results" "$(echo "$mem" | grep '^Missing')" \
	"Missing (no results yet): 1: 13_softmax."
check "level1_table.sh: the problem with no correct kernel" "$(echo "$mem" | grep '^No correct')" "No correct kernel: 12_ln."
check "level1_table.sh: geometric means over eager and torch.compile, of the correct rows with each" \
	"$(echo "$mem" | grep '^Geometric')" \
	"Geometric mean of the speed-up over eager: $(geo 2.0 1.25)x (2 problems); over torch.compile: $(geo 1.6)x (1 problem)."
check "level1_table.sh: every problem >= 95% of eager: missed by the problem with no correct kernel alone" \
	"$(echo "$mem" | grep '>= 95% of eager')" "- every problem >= 95% of eager: missed: no correct kernel for 12_ln [on 3 of 4 problems]"
check "level1_table.sh: the floor target missed by the worst's points, the problems below named" \
	"$(echo "$mem" | grep 'of its floor')" \
	"- every memory-bound problem >= 85% of its floor: missed by 10.0 points at the worst (11_sum); 1 below: 11_sum 75.0% [on 2 of 4 problems]"
g=$(awk 'BEGIN { printf "%.12f", sqrt(2.0 * 1.25) }')
check "level1_table.sh: the geometric-mean target missed by how much" \
	"$(echo "$mem" | grep 'geometric mean >= 1.6x')" \
	"- geometric mean >= 1.6x eager: missed by $(awk -v g="$g" 'BEGIN { printf "%.2fx (%.2fx, %.1f%% short)", 1.6 - g, g, (1.6 - g) / 1.6 * 100 }') [on 2 of 4 problems]"
check "level1_table.sh: the commands, the problem written PROBLEM, with GPU and date" \
	"$(echo "$mem" | grep '^- `kbreed')" \
	"- \`kbreed bench /k/level1/PROBLEM.py --max-minutes 1 --torch-compile --results out/PROBLEM.json\` (Test GPU, 2026-12-04): 3 problems"
check "level1_table.sh: a later file replaces an earlier one's row" "$(echo "$cmp" | grep '^| 2_conv ' | cut -d'|' -f7)" " 80.0% "
check "level1_table.sh: the compute group, all judged" "$(echo "$cmp" | grep -E '^(Correct|Missing)')" \
	"Correct: 3 of 3 (3 with results).
Missing (no results yet): none."
check "level1_table.sh: none below 90%: missed, by the worst's points" "$(echo "$cmp" | grep 'none below 90%')" \
	"- none below 90% of eager: missed by 10.0 points at the worst (2_conv); 1 below: 2_conv 80.0%"
check "level1_table.sh: the matrix products' and the convolutions' geometric means, each met" \
	"$(echo "$cmp" | grep -E 'geometric mean >= 1\.[35]x')" \
	"- geometric mean >= 1.5x eager over the matrix products: met (2.00x)
- geometric mean >= 1.3x eager over the convolutions: met ($(geo 0.8 3.0)x)"
check "level1_table.sh: over eager with TF32 off where it was timed, and the problems below 90% against it" \
	"$(echo "$cmp" | grep '^Over eager with TF32 off')" \
	"Over eager with TF32 off (the fp32 arithmetic of the strict tolerance), where timed: $(geo 2.4 6.0)x (2 problems); those below 90% of eager, against eager with TF32 off: 2_conv 240.0%."
check "level1_table.sh: a problem of no family is named, not counted" "$(tail -1 "$TMP/table")" \
	"Not in the index (no family), left out: 77_other."
# Once the conv that was below is above 90%, that target is met; a faster
# 11_sum lifts the memory group's geometric mean above 1.6x.
result "$TMP/t/b/2_conv.json" 2_conv 1.0 1.0 1.0 0.5 compute
result "$TMP/t/b/11_sum.json" 11_sum 1.0 null 0.6 0.55 memory
sh bench/level1_table.sh --index "$TMP/t/index" --group compute "$TMP/t/a" "$TMP/t/b" >"$TMP/table2" 2>&1
check "level1_table.sh --group compute: that table alone" "$(grep -c '^## ' "$TMP/table2")" 1
check "level1_table.sh: none below 90%: met once none is" "$(grep 'none below 90%' "$TMP/table2")" "- none below 90% of eager: met"
sh bench/level1_table.sh --index "$TMP/t/index" --group memory "$TMP/t/a" "$TMP/t/b" >"$TMP/table3" 2>&1
check "level1_table.sh: the geometric-mean target met once it is" "$(grep 'geometric mean >= 1.6x' "$TMP/table3")" \
	"- geometric mean >= 1.6x eager: met ($(geo 2.0 1.6667)x) [on 2 of 4 problems]"
rm "$TMP/t/a/12_ln.json"
result "$TMP/t/b/12_ln.json" 12_ln 1.0 1.0 1.1 0.9 memory
sh bench/level1_table.sh --index "$TMP/t/index" --group memory "$TMP/t/a" "$TMP/t/b" >"$TMP/table4" 2>&1
check "level1_table.sh: each problem's target missed by one below, no longer by one with no kernel" \
	"$(grep '>= 95% of eager' "$TMP/table4")" \
	"- every problem >= 95% of eager: missed by 4.1 points at the worst (12_ln); 1 below: 12_ln 90.9% [on 3 of 4 problems]"
# A row whose PyTorch times are the session's start (its closing measurement
# failed: eager_from_start) says so in its eager column and under the table.
sed 's/"pct_eager":/"eager_from_start": true,\n      "pct_eager":/' "$TMP/t/b/12_ln.json" >"$TMP/t/b/12_ln.tmp" &&
	mv "$TMP/t/b/12_ln.tmp" "$TMP/t/b/12_ln.json"
sh bench/level1_table.sh --index "$TMP/t/index" --group memory "$TMP/t/a" "$TMP/t/b" >"$TMP/table5" 2>&1
check "level1_table.sh: eager_from_start marks the row's eager time (start)" \
	"$(grep '^| 12_ln ' "$TMP/table5" | cut -d'|' -f4)|$(grep -c '(start)' "$TMP/table5")" " 1.0000 (start) |2"
check "level1_table.sh: and says under the table what (start) means" "$(grep -c '^PyTorch times marked (start): 1 row ' "$TMP/table5")" 1
sh bench/level1_table.sh --index "$TMP/t/index" --group fast "$TMP/t/a" >/dev/null 2>&1
check "level1_table.sh: an unknown group: exit 2" $? 2
sh bench/level1_table.sh --index "$TMP/t/index" "$TMP/t/nothing" >/dev/null 2>&1
check "level1_table.sh: a missing results file: exit 2" $? 2

# --- scripts/level1_bench.sh on the fake GPU ------------------------------------
export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
export KBREED_FAKE_GPU=1 KBREED_FAKE_SEARCH=1
export KBREED_BENCH_WORK=$TMP/work OUT=$TMP/out KBREED_LEVEL1_DIR=$TMP/l1
unset KBREED_DB KBREED_HOME KBREED_BENCH_DEADLINE KBREED_BENCH_GUESS
mkdir -p "$TMP/l1" "$TMP/done"
# Three small GELUs of other shapes; the index calls b_gelu a matrix product
# (it is not) and lists no c_gelu, whose family kbreed's description gives.
n=0
for p in a_gelu b_gelu c_gelu; do
	n=$((n + 1))
	sed "s/^M, N = .*/M, N = $((16 + n)), $((1024 + n))/" tests/data/search_gelu.py >"$TMP/l1/$p.py"
done
printf '# problem family op\na_gelu elementwise gelu\nb_gelu matmul matmul_fp32\n' >"$TMP/index"
export KBREED_BENCH_INDEX=$TMP/index
L=scripts/level1_bench.sh
check "level1_bench.sh --list FAMILY: the family's problems, by the index or by kbreed's description" \
	"$(KBREED_BENCH_DONE='' sh $L --list elementwise 2>&1 | tr '\n' ' ')" "$TMP/l1/a_gelu.py $TMP/l1/c_gelu.py "
check "level1_bench.sh --list: pointwise is elementwise, a file named twice runs once" \
	"$(KBREED_BENCH_DONE='' sh $L --list pointwise "$TMP/l1/a_gelu.py" matmul 2>&1 | tr '\n' ' ')" \
	"$TMP/l1/a_gelu.py $TMP/l1/c_gelu.py $TMP/l1/b_gelu.py "
sh $L --list softmaxes >/dev/null 2>&1
check "level1_bench.sh: neither a file nor a family: exit 2" $? 2
sh $L --list "$TMP/l1/none.py" >/dev/null 2>&1
check "level1_bench.sh: no such problem file: exit 2" $? 2
# a_gelu's results are kept from an earlier call.
echo '{"results": []}' >"$TMP/done/a_gelu.json"
export KBREED_BENCH_DONE=$TMP/done
check "level1_bench.sh --list: a problem with results kept is done" \
	"$(sh $L --list "$TMP/l1/a_gelu.py" "$TMP/l1/b_gelu.py" 2>&1 | tr '\n' ' ')" "a_gelu: done ($TMP/done) $TMP/l1/b_gelu.py "

# Unset, the kept results are those of this GPU's model, by nvidia-smi's name.
mkdir -p "$TMP/smi" "$TMP/res/h100" "$TMP/res/h200"
echo '{"results": []}' >"$TMP/res/h100/b_gelu.json"
echo '{"results": []}' >"$TMP/res/h200/c_gelu.json"
for gpu in "NVIDIA H100 80GB HBM3:b_gelu: done ($TMP/res/h100) $TMP/l1/c_gelu.py " \
	"NVIDIA H200:$TMP/l1/b_gelu.py c_gelu: done ($TMP/res/h200) " \
	"NVIDIA A100-SXM4-80GB:$TMP/l1/b_gelu.py $TMP/l1/c_gelu.py "; do
	printf '#!/bin/sh\necho "%s"\n' "${gpu%%:*}" >"$TMP/smi/nvidia-smi"
	chmod +x "$TMP/smi/nvidia-smi"
	check "level1_bench.sh --list on an ${gpu%%:*}: its own model's kept results only" \
		"$(env -u KBREED_BENCH_DONE PATH="$TMP/smi:$PATH" KBREED_BENCH_RESULTS=$TMP/res \
			sh $L --list "$TMP/l1/b_gelu.py" "$TMP/l1/c_gelu.py" 2>&1 | tr '\n' ' ')" "${gpu#*:}"
done

# No time for the first problem's guess: nothing starts, nothing runs.
KBREED_BENCH_DEADLINE=100 KBREED_BENCH_GUESS=90 sh $L "$TMP/l1/a_gelu.py" "$TMP/l1/b_gelu.py" "$TMP/l1/c_gelu.py" \
	-- --rounds 0 --reps 20 >"$TMP/run0" 2>&1
check "level1_bench.sh: exit 0 when the deadline leaves no time" $? 0
check "level1_bench.sh: the kept problem skipped" "$(grep -c "a_gelu: skipped, results already in $TMP/done" "$TMP/run0")" 1
check "level1_bench.sh: a guess of 90 s and a quarter does not fit in 100 s: none started" \
	"$(grep -c ': start' "$TMP/run0") $(grep 'left for the next call' "$TMP/run0" | sed 's/^+[0-9]*s //')" \
	"0 left for the next call (deadline 100 s): b_gelu c_gelu"
check "level1_bench.sh: the last line counts" "$(tail -1 "$TMP/run0" | sed 's/^+[0-9]*s //')" \
	"0 done, 0 correct, 1 skipped (results already), 2 left"
[ ! -e "$TMP/work/b_gelu.log" ] && [ -z "$(ls "$TMP/out/bench")" ] && ok "level1_bench.sh: nothing ran, nothing written" ||
	not_ok "level1_bench.sh: nothing ran, nothing written"

# A deadline in time: b_gelu and c_gelu run, the second guessed from the first.
# (No description cached: --list above described c_gelu.)
rm -rf "$TMP/cache/describe"
KBREED_FAKE_EVENT_LOG=$TMP/events1 KBREED_BENCH_DEADLINE=600 KBREED_BENCH_GUESS=1 sh $L "$TMP/l1/a_gelu.py" \
	"$TMP/l1/b_gelu.py" "$TMP/l1/c_gelu.py" -- --rounds 0 --reps 20 >"$TMP/run1" 2>&1
check "level1_bench.sh: exit 0" $? 0
# c_gelu is described in the background while b_gelu runs: its description
# starts before b_gelu's PyTorch timing, not after b_gelu's run.
c_describe=$(grep -n '^describe c_gelu.py$' "$TMP/events1" | head -1 | cut -d: -f1)
first_time=$(grep -n '^time ' "$TMP/events1" | head -1 | cut -d: -f1)
[ -n "$c_describe" ] && [ -n "$first_time" ] && [ "$c_describe" -lt "$first_time" ] &&
	ok "level1_bench.sh: the next problem is described while the first runs" ||
	not_ok "level1_bench.sh: the next problem is described while the first runs" "$(cat "$TMP/events1")"
check "level1_bench.sh: two done, both correct" "$(tail -1 "$TMP/run1" | sed 's/^+[0-9]*s //')" \
	"2 done, 2 correct, 1 skipped (results already), 0 left"
first=$(sed -n 's/.*b_gelu: .* ms, .*(\([0-9]*\)s)$/\1/p' "$TMP/run1")
check "level1_bench.sh: the second's estimate is the first's seconds" \
	"$(grep -c "c_gelu: start (elementwise/gelu, ~${first:-x}s)" "$TMP/run1")" 1
check "level1_bench.sh: the index's family on the start line" "$(grep -c 'b_gelu: start (matmul/matmul_fp32, ~1s)' "$TMP/run1")" 1
for p in b_gelu c_gelu; do
	check "level1_bench.sh: $p's results under \$OUT/bench, as kbreed bench wrote them" \
		"$(jq -r '.results[0].problem + " " + (.results[0].best_ms > 0 | tostring) + " " + (.command | test("--max-minutes 1 --torch-compile .*--rounds 0 --reps 20$") | tostring)' "$TMP/out/bench/$p.json" 2>&1)" \
		"$TMP/l1/$p.py true true"
	cmp -s "$TMP/out/bench/$p.json" "$TMP/work/$p.json" && ok "level1_bench.sh: $p's copy is whole" || not_ok "level1_bench.sh: $p's copy is whole"
done
check "level1_bench.sh: an elementwise problem runs from an empty bank, a matrix product may borrow" \
	"$(jq -r '.command | test(" --no-bank ") | tostring' "$TMP/out/bench/c_gelu.json" "$TMP/out/bench/b_gelu.json" | tr '\n' ' ')" \
	"true false "
check "level1_bench.sh: the tarball holds both results, logs and winners" \
	"$(tar tzf "$TMP/out/level1-bench.tgz" 2>&1 | grep -E '^work/(b_gelu|c_gelu)\.(json|log)$|^work/runs/[bc]_gelu/winner\.cu$' | sort | tr '\n' ' ')" \
	"work/b_gelu.json work/b_gelu.log work/c_gelu.json work/c_gelu.log work/runs/b_gelu/winner.cu work/runs/c_gelu/winner.cu "
check "level1_bench.sh: no partial file left under \$OUT" "$(find "$TMP/out" -name '*.part' | wc -l)" 0
check "level1_bench.sh: each problem's reference data removed after it" "$(ls "$TMP/cache/refs" 2>/dev/null | wc -l)" 0
# Again: everything is done, in $OUT or kept.
sh $L "$TMP/l1/a_gelu.py" "$TMP/l1/b_gelu.py" "$TMP/l1/c_gelu.py" >"$TMP/run2" 2>&1
check "level1_bench.sh: a second call finds all done" "$(tail -1 "$TMP/run2" | sed 's/^+[0-9]*s //')" \
	"0 done, 0 correct, 3 skipped (results already), 0 left"
check "level1_bench.sh: results in \$OUT/bench count as done" "$(grep -c "skipped, results already in $TMP/out/bench" "$TMP/run2")" 2

# $OUT emptied, as for each call on a machine kept warm: the work folder's
# results still count.
rm -r "$TMP/out"
sh $L "$TMP/l1/b_gelu.py" "$TMP/l1/c_gelu.py" >"$TMP/run2b" 2>&1
check "level1_bench.sh: results in the work folder count as done" "$(grep -c "skipped, results already in $TMP/work" "$TMP/run2b")" 2

# A problem still running at the deadline is stopped: no results, not done,
# the script ends in time (each candidate takes 8 s on this fake GPU). The
# deadline leaves the script's own start-up (slow under the sanitizers)
# seconds enough to start the problem: with 2 s it sometimes saw 1 s gone
# and, rightly, started nothing.
rm -f "$TMP/work/c_gelu.json"
t0=$(date +%s)
KBREED_FAKE_DELAY_MS=8000 KBREED_BENCH_DEADLINE=6 KBREED_BENCH_GUESS=1 sh $L "$TMP/l1/c_gelu.py" -- --rounds 0 --reps 20 >"$TMP/run3" 2>&1
secs=$(($(date +%s) - t0))
check "level1_bench.sh: the problem stopped at the deadline" "$(grep -c 'c_gelu: stopped at the deadline after [0-9]*s, no results' "$TMP/run3")" 1
check "level1_bench.sh: the stopped problem is left for the next call" "$(tail -1 "$TMP/run3" | sed 's/^+[0-9]*s //')" \
	"0 done, 0 correct, 0 skipped (results already), 1 left"
[ ! -e "$TMP/out/bench/c_gelu.json" ] && ok "level1_bench.sh: no results file for the stopped problem" ||
	not_ok "level1_bench.sh: no results file for the stopped problem"
[ "$secs" -lt 19 ] && ok "level1_bench.sh: ends soon after the deadline ($secs s)" || not_ok "level1_bench.sh: ends soon after the deadline" "$secs s"
# KBREED_BENCH_KEEP_REFS=1: the reference data stays (so the removal above
# had something to remove).
KBREED_BENCH_KEEP_REFS=1 sh $L "$TMP/l1/c_gelu.py" -- --rounds 0 --reps 20 >"$TMP/run4" 2>&1
check "level1_bench.sh: the stopped problem runs in the next call" "$(tail -1 "$TMP/run4" | sed 's/^+[0-9]*s //')" \
	"1 done, 1 correct, 0 skipped (results already), 0 left"
check "level1_bench.sh: KBREED_BENCH_KEEP_REFS=1 keeps its reference data" "$(ls "$TMP/cache/refs" | sed 's/-.*//')" c_gelu

# A cache in RAM (KBREED_CACHE on /dev/shm, as when it filled the H200's
# memory): the script's cache goes to disk, W-cache, and says so; unless
# KBREED_BENCH_CACHE names one, which is used as it is. Each time, the
# reference data is removed after the problem.
ramfs() { case $(stat -f -c %T "$1" 2>/dev/null) in tmpfs | ramfs) return 0 ;; esac; return 1; }
if [ -d /dev/shm ] && [ -w /dev/shm ] && ramfs /dev/shm && ! ramfs "$TMP"; then
	shm=$(mktemp -d /dev/shm/kbreed-level1-bench-test.XXXXXX)
	trap 'rm -rf "$TMP" "$shm"' EXIT
	rm -f "$TMP/work/c_gelu.json" "$TMP/out/bench/c_gelu.json"
	KBREED_CACHE=$shm/cache sh $L "$TMP/l1/c_gelu.py" -- --rounds 0 --reps 20 >"$TMP/run5" 2>&1
	check "level1_bench.sh: a cache in RAM is replaced by W-cache, said first" \
		"$(head -1 "$TMP/run5" | sed 's/^+[0-9]*s //')" \
		"the cache $shm/cache is in RAM: using $TMP/work-cache, on disk (KBREED_BENCH_CACHE=DIR: another)"
	check "level1_bench.sh: the problem ran with the cache on disk" "$(tail -1 "$TMP/run5" | sed 's/^+[0-9]*s //')" \
		"1 done, 1 correct, 0 skipped (results already), 0 left"
	[ -d "$TMP/work-cache/refs" ] && [ -z "$(ls "$TMP/work-cache/refs")" ] && [ ! -e "$shm/cache/refs" ] &&
		ok "level1_bench.sh: its reference data made on disk, removed after it, none in RAM" ||
		not_ok "level1_bench.sh: its reference data made on disk, removed after it, none in RAM" \
			"$(ls -R "$TMP/work-cache/refs" "$shm/cache" 2>&1 | head -5)"
	tar tzf "$TMP/out/level1-bench.tgz" >"$TMP/tar5" && ! grep -q 'work-cache' "$TMP/tar5" &&
		ok "level1_bench.sh: the cache on disk is not in the tarball" || not_ok "level1_bench.sh: the cache on disk is not in the tarball"
	rm -f "$TMP/work/c_gelu.json" "$TMP/out/bench/c_gelu.json"
	KBREED_BENCH_KEEP_REFS=1 KBREED_BENCH_CACHE=$shm/named sh $L "$TMP/l1/c_gelu.py" -- --rounds 0 --reps 20 >"$TMP/run6" 2>&1
	check "level1_bench.sh: KBREED_BENCH_CACHE in RAM is the caller's choice: used, nothing said" \
		"$(ls "$shm/named/refs" 2>&1 | sed 's/-.*//') $(grep -c 'is in RAM' "$TMP/run6")" "c_gelu 0"
else
	ok "level1_bench.sh: a cache in RAM # skip: no writable tmpfs /dev/shm beside a $TMP on disk"
fi

# --- scripts/template_probe.sh on the fake GPU -------------------------------------
# Two settings of gelu_vec on one problem: both realised, one session (the
# references made once), a row each; a setting the template lacks and bad
# usage said and refused.
P=scripts/template_probe.sh
OUT=$TMP/probe sh $P gelu_vec "" "VEC=2" -- "$TMP/l1/a_gelu.py" >"$TMP/probe.out" 2>"$TMP/probe.err"
check "template_probe.sh: exit 0" $? 0
check "template_probe.sh: a row per setting, judged" \
	"$(grep '^| a_gelu' "$TMP/probe/probe.md" | cut -d'|' -f3,4 | tr -d ' ' | tr '\n' ' ')" "(defaults)|correct VEC=2|correct "
check "template_probe.sh: one session, the reference data made once" "$(grep -c 'making reference data' "$TMP/probe.err")" 1
check "template_probe.sh: the realisations and the session's JSON kept" \
	"$(ls "$TMP/probe" | grep -c '^a_gelu-[12]\.cu$') $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/probe/a_gelu.json")" "2 2"
check "template_probe.sh: the table printed" "$(grep -c '^| a_gelu' "$TMP/probe.out")" 2
OUT=$TMP/probe2 sh $P gelu_vec "VEC=3" -- "$TMP/l1/a_gelu.py" >/dev/null 2>"$TMP/probe2.err"
check "template_probe.sh: a setting the template lacks: exit 1, said" \
	"$? $(grep -c 'not realised with' "$TMP/probe2.err") $(grep -c 'not realised' "$TMP/probe2/probe.md")" "1 1 1"
sh $P gelu_vec "VEC=2" "$TMP/l1/a_gelu.py" >/dev/null 2>&1
check "template_probe.sh: no -- before the problems: exit 2" $? 2
sh $P no_such_template "" -- "$TMP/l1/a_gelu.py" >/dev/null 2>&1
check "template_probe.sh: no such template: exit 2" $? 2
sh $P gelu_vec "" -- "$TMP/l1/none.py" >/dev/null 2>&1
check "template_probe.sh: no such problem file: exit 2" $? 2
test_summary
