#!/bin/sh
# scripts/device.sh - one call on a GPU machine: the GPU checks and the
# benchmarks, everything written under $OUT.
#
#   OUT=DIR sh scripts/device.sh test              # make test-gpu's checks
#   OUT=DIR sh scripts/device.sh bench [ARGS...]   # kbreed bench ARGS (problems, options)
#   OUT=DIR sh scripts/device.sh all [ARGS...]     # both
#   OUT=DIR sh scripts/device.sh level1 DIR [K/N]  # generated naive kernels of DIR's problems (scripts/level1.sh;
#                                                  # KBREED_LEVEL1_LIMIT=SECONDS ends it in time)
#   OUT=DIR sh scripts/device.sh level1-bench [FILES|FAMILY...] [-- OPTIONS]
#                                                  # kbreed bench one problem at a time (scripts/level1_bench.sh;
#                                                  # KBREED_BENCH_DEADLINE=SECONDS starts none that cannot end in time;
#                                                  # its cache is on disk, build/level1-bench-cache where KBREED_CACHE
#                                                  # is in RAM, unless KBREED_BENCH_CACHE=DIR names one)
#   OUT=DIR sh scripts/device.sh probe TEMPLATE SETTINGS... -- PROBLEM...
#                                                  # one template at several knob settings per problem, beside
#                                                  # eager, one kbreed eval each (scripts/template_probe.sh)
#   OUT=DIR sh scripts/device.sh profile TEMPLATE SETTINGS PROBLEM [SECTION...]
#                                                  # one realisation called in a plain process
#                                                  # (scripts/kb_run.cu) under ncu: the kernels of
#                                                  # one call after a warm-up, the sections named
#                                                  # (default: speed of light, compute and memory
#                                                  # workloads, warp states), into $OUT/ncu.txt
#   OUT=DIR sh scripts/device.sh groups [PROBLEM...] [-- OPTIONS]
#                                                  # kbreed bench twice, each candidate compiled alone
#                                                  # (KBREED_COMPILE_GROUP=1) and then in groups (the default),
#                                                  # a fresh cache and database each: the nvcc wait and the
#                                                  # GPU's busy share of each run ($OUT/groups.md)
#                                                  # (KBREED_GROUPS_MODES="alone" or "groups": one pass only)
#   OUT=DIR sh scripts/device.sh plan FILE          # several of these steps in one call, each under its own
#                                                  # time limit (lines "SECONDS NAME [VAR=VALUE...] STEP ARGS...",
#                                                  # shell quoting; '#' comments): each into $OUT/NAME, then
#                                                  # all of them in $OUT/plan.tgz, a log in $OUT/plan.txt
#   OUT=DIR sh scripts/device.sh describe FILE...   # each problem's description (kbreed describe --json)
#                                                  # into $OUT/NAME.json
#   sh scripts/device.sh clean                      # the reference data under $KBREED_CACHE removed (between
#                                                  # the steps of a plan that share a cache in RAM)
#   KBREED_GPU_SECTIONS="3 4" ... test              # some of test-gpu's sections
#   KBREED_DEVICE_LIMIT=SECONDS ... test            # stop the checks in time for results.tgz
#                                                  # (a call cut by its own limit returns no tarball)
#
# The GPU machine may lack -dev headers: build kbreed elsewhere (`make`; jansson
# is linked statically) and bring build/ along. Candidates and the worker are
# compiled with that machine's nvcc. Results: $OUT/machine.txt, test-gpu.txt,
# bench.txt, bench-naive.md, bench-table.md (bench/bench_table.sh, where the
# machine has jq), and results.tgz (JSON results, run summaries and winners) -
# $OUT may return only a few files.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build/device-out}
mkdir -p "$OUT"
step=${1:-all}
[ $# -gt 0 ] && shift
# The cache: KBREED_CACHE, else /tmp/kbreed-cache. Where that is in RAM (a
# tmpfs /tmp), level1-bench moves it to disk itself; each full-size problem's
# reference data stays within kbreed's budget (docs/EVALUATION.md).
export KBREED_CACHE=${KBREED_CACHE:-/tmp/kbreed-cache}
export PYTHONUNBUFFERED=1
{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader
	python3 -c 'import torch; print("torch", torch.__version__)'
	build/kbreed version
	# nvcc's pace depends on the CPUs: how many, and the cgroup's quota if any.
	echo "cpus: $(nproc) online; cgroup cpu.max: $(cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo none)"
} 2>&1 | tee "$OUT/machine.txt"
rc=0
rm -rf build/device-results
mkdir -p build/device-results
if [ "$step" = test ] || [ "$step" = all ]; then
	# Straight into $OUT: a call cut short by its time limit still returns them.
	KBREED_RESULTS=build/device-results/gpu timeout "${KBREED_DEVICE_LIMIT:-0}" sh tests/gpu/run.sh 2>&1 |
		tee "$OUT/test-gpu.txt"
	tail -1 "$OUT/test-gpu.txt" | grep -q ' 0 failed' || rc=1
	ls build/device-results/gpu/naive-*.json >/dev/null 2>&1 &&
		sh bench/table.sh build/device-results/gpu/naive-*.json >"$OUT/bench-naive.md"
fi
if [ "$step" = level1 ]; then
	# KBREED_LEVEL1_LIMIT (seconds) stops the judging in time for the tarball.
	OUT="$OUT" timeout "${KBREED_LEVEL1_LIMIT:-0}" sh scripts/level1.sh "$@" 2>&1 | tail -100 >"$OUT/level1-tail.txt"
	cat "$OUT/level1-tail.txt"
	# Each problem's kernel, verdict and log, as one file: only 8 come back.
	tar czf "$OUT/level1.tgz" -C "$OUT" level1 && rm -rf "$OUT/level1"
fi
if [ "$step" = level1-bench ]; then
	# Each problem's results land in $OUT/bench/NAME.json as it ends, and all
	# of them (with logs and winners) in $OUT/level1-bench.tgz, rewritten after
	# each: a call cut short returns what was finished. Only 8 files come back:
	# at a whole end the loose copies go, the tarball has them.
	OUT="$OUT" sh scripts/level1_bench.sh "$@" 2>&1 | tee "$OUT/level1-bench.txt"
	[ -s "$OUT/level1-bench.tgz" ] && rm -rf "$OUT/bench"
fi
if [ "$step" = probe ]; then
	# $OUT/probe.md and, for a few problems, each one's JSON and realisations.
	OUT="$OUT/probe" sh scripts/template_probe.sh "$@" 2>&1 | tee "$OUT/probe.txt"
	tar czf "$OUT/probe.tgz" -C "$OUT" probe && rm -rf "$OUT/probe"
fi
if [ "$step" = profile ]; then
	# The worker's sandbox and clean environment keep a profiler out, so the
	# candidate runs in kb_run, with the problem's tensors in order (its
	# inputs, then its parameters; then the outputs) from `kbreed describe`.
	if [ $# -lt 3 ]; then
		echo "usage: sh scripts/device.sh profile TEMPLATE SETTINGS PROBLEM [SECTION...]" >&2
		exit 2
	fi
	tpl=$1 settings=$2 problem=$3
	shift 3
	[ $# -gt 0 ] || set -- SpeedOfLight ComputeWorkloadAnalysis MemoryWorkloadAnalysis WarpStateStats \
		SchedulerStats Occupancy LaunchStats
	sections=""
	for sec in "$@"; do sections="$sections --section $sec"; done
	nvcc -O2 -o build/kb_run scripts/kb_run.cu -ldl || exit 1
	# shellcheck disable=SC2086 # the settings are words on purpose
	build/kbreed template --for "$problem" "$tpl" $settings >"$OUT/candidate.cu" || exit 1
	arch=${KBREED_ARCH:-sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)}
	[ "$arch" = sm_90 ] && arch=sm_90a
	nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -lineinfo -gencode "arch=compute_${arch#sm_},code=$arch" \
		-I include -o build/candidate.so "$OUT/candidate.cu" -Xptxas -v >"$OUT/ptxas.txt" 2>&1 || exit 1
	build/kbreed describe --json "$problem" >"$OUT/describe.json" || exit 1
	tensors=$(python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["graph"]
t = g["tensors"]
words = lambda x: "%s:%s" % (x["dtype"], ",".join(str(d) for d in x["shape"]) or "1")
ins = [x for x in t if x["kind"] == "input"] + [x for x in t if x["kind"] == "param"]
print(" ".join([words(x) for x in ins] + ["--"] + [words(t[i]) for i in g["outputs"]]))' "$OUT/describe.json") || exit 1
	echo "tensors: $tensors" | tee "$OUT/tensors.txt"
	# shellcheck disable=SC2086 # the tensors are words on purpose
	build/kb_run build/candidate.so 5 $tensors | tee "$OUT/time.txt"
	# kb_run's fills (one kernel an input) and the warm-up call's kernels
	# are skipped: count them from a run of one call after the warm-up.
	nin=$(echo "$tensors" | sed 's/ --.*//' | wc -w)
	# shellcheck disable=SC2086
	n=$(ncu --clock-control none --print-summary none --metrics gpu__time_duration.sum build/kb_run \
		build/candidate.so 1 $tensors 2>/dev/null | grep -c 'gpu__time_duration.sum')
	per=$(((n - nin) / 2))
	echo "kernels a call: $per"
	# shellcheck disable=SC2086
	ncu --clock-control none --launch-skip "$((nin + per))" --launch-count "$per" $sections build/kb_run \
		build/candidate.so 1 $tensors >"$OUT/ncu.txt" 2>&1
	rc=$?
	tail -c 20000 "$OUT/ncu.txt"
fi
if [ "$step" = bench ] || [ "$step" = all ]; then
	build/kbreed bench --out build/device-results/runs --results build/device-results/bench.json "$@" 2>&1 |
		tee "$OUT/bench.txt"
	[ -f build/device-results/bench.json ] && command -v jq >/dev/null &&
		sh bench/bench_table.sh build/device-results/bench.json >"$OUT/bench-table.md"
fi
if [ "$step" = groups ]; then
	# Default problems: three of the suite that ran ~200 s at the defaults
	# on 2026-12-04 (bench/suite-defaults-2026-12-04-h200.md): both passes
	# fit a 10-minute call.
	problems=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do problems="$problems $1"; shift; done
	[ "${1:-}" = -- ] && shift
	[ -n "$problems" ] || problems="matmul_fp16 conv2d_relu_maxpool layernorm"
	# KBREED_GROUPS_MODES="groups" runs one pass only (the other timed before).
	modes=${KBREED_GROUPS_MODES:-alone groups}
	for mode in $modes; do
		d=build/device-results/groups-$mode
		rm -rf "$d" && mkdir -p "$d"
		group=; [ $mode = alone ] && group=1
		start=$(date +%s)
		# shellcheck disable=SC2086 # the problems are words
		KBREED_COMPILE_GROUP=$group KBREED_CACHE=$d/cache build/kbreed bench $problems --no-bank \
			--db "$d/k.db" --out "$d/runs" --results "$d/bench.json" "$@" 2>&1 | tail -20 >"$OUT/groups-$mode.txt"
		echo "$mode: $(($(date +%s) - start)) s" >>"$OUT/groups-wall.txt"
		rm -rf "$d/cache"
	done
	{
		echo "# kbreed bench$problems --no-bank, alone (KBREED_COMPILE_GROUP=1) and in groups"
		echo
		cat "$OUT/groups-wall.txt"
		for mode in $modes; do
			echo
			echo "## $mode"
			for f in "build/device-results/groups-$mode"/runs/*/summary.md; do
				[ -f "$f" ] || continue
				echo "- $(basename "$(dirname "$f")"): $(grep -h -e '^- GPU busy' -e '^- nvcc:' "$f" | sed 's/^- //' | tr '\n' ' ')"
			done
			command -v jq >/dev/null && [ -f build/device-results/groups-$mode/bench.json ] &&
				sh bench/bench_table.sh build/device-results/groups-$mode/bench.json
		done
	} >"$OUT/groups.md"
	cat "$OUT/groups.md"
fi
if [ "$step" = describe ]; then
	for f in "$@"; do
		build/kbreed describe --json "$f" >"$OUT/$(basename "$f" .py).json" 2>&1 || rc=1
	done
fi
if [ "$step" = clean ]; then
	rm -rf "$KBREED_CACHE/refs"
fi
if [ "$step" = plan ]; then
	# One call, several steps: each line runs as `OUT=$OUT/NAME timeout
	# SECONDS sh scripts/device.sh STEP ARGS...` with its VAR=VALUE words
	# exported, one after the other; a step cut by its limit leaves what it
	# wrote. Each step first writes the machine's facts (nvidia-smi, torch's
	# import: several seconds), so a limit below about 15 s cuts even clean. A call returns at most 8 files: the steps' folders go into one
	# tarball, their starts and last lines into plan.txt.
	plan=${1:-}
	if [ ! -f "$plan" ]; then
		echo "usage: sh scripts/device.sh plan FILE (lines: SECONDS NAME [VAR=VALUE...] STEP ARGS...)" >&2
		exit 2
	fi
	t0=$(date +%s)
	names=""
	: >"$OUT/plan.txt"
	while IFS= read -r line <&3; do
		case $line in '' | '#'*) continue ;; esac
		eval "set -- $line"
		if [ $# -lt 3 ]; then
			echo "plan: '$line': SECONDS NAME [VAR=VALUE...] STEP ARGS..." | tee -a "$OUT/plan.txt"
			rc=1
			continue
		fi
		secs=$1 name=$2
		shift 2
		mkdir -p "$OUT/$name"
		names="$names $name"
		echo "[$(($(date +%s) - t0)) s] $name: $*" | tee -a "$OUT/plan.txt"
		(
			while [ $# -gt 0 ] && [ "${1#*=}" != "$1" ]; do
				# shellcheck disable=SC2163 # "$1" is a VAR=VALUE word: export assigns it
				export "$1"
				shift
			done
			OUT="$OUT/$name" exec timeout "$secs" sh scripts/device.sh "$@"
		) </dev/null >"$OUT/$name/step.txt" 2>&1
		step_rc=$?
		[ $step_rc -eq 0 ] || rc=1
		tail -30 "$OUT/$name/step.txt" | tee -a "$OUT/plan.txt"
		echo "[$(($(date +%s) - t0)) s] $name: exit $step_rc" | tee -a "$OUT/plan.txt"
	done 3<"$plan"
	# shellcheck disable=SC2086 # the names are words
	[ -n "$names" ] && tar czf "$OUT/plan.tgz" -C "$OUT" $names && (cd "$OUT" && rm -rf $names)
fi
case $step in
level1-bench | probe | plan | describe | clean) ;;
*) tar czf "$OUT/results.tgz" -C build device-results 2>/dev/null ;;
esac
exit $rc
