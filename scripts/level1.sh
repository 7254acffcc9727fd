#!/bin/sh
# scripts/level1.sh - the generated naive kernels of a folder of problems,
# judged on this GPU: for each KernelBench-format file, `kbreed generate`
# writes the kernel that would start a run, and `kbreed eval` judges it
# (correctness on fresh inputs; timing kept short, no PyTorch baseline).
#
#   sh scripts/level1.sh DIR [K/N]     every problem of DIR, or the K-th of N shards
#
# Writes $OUT/level1/<name>.{cu,json,log} and appends to $OUT/level1.txt one
# line per problem: name | verdict (or "no kernel") | median ms | the judge's
# detail (or the generator's reason). Problems run one at a time, or
# KBREED_LEVEL1_JOBS at once: faster, but the judge expects the GPU to itself,
# and on the H200 two full-size problems at once had honest kernels rejected
# by the host-clock check (the GPU time-slices between the processes, so the
# host waits longer than the kernel's events say): such problems are judged
# again alone at the end, and a problem's last line counts. Before judging, every
# kernel is generated and compiled at once (KBREED_LEVEL1_PRECOMPILE=0: not),
# so the GPU does not wait on nvcc. KBREED_LEVEL1_SETS (default 2) and
# KBREED_LEVEL1_STRESS (on|off, default on) set the input sets judged: at
# KernelBench's full sizes, reference data is most of a problem's time (the
# stressed sets add five to the plain ones). Each result line ends with the
# problem's seconds; <name>.log stamps each line of the judge's log. Ends
# with "N correct of M". This is a check of correctness, not a benchmark: a
# forced cutoff (KBREED_EARLY_CUTOFF_MS, default 0.0001 ms; set
# KBREED_LEVEL1_CUTOFF_MS=0 for none) stops timing after 5 calls, each still
# checked, since a naive kernel at full size can take seconds a call.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build/level1-out}
K=build/kbreed
# The compile cache both passes share (not under $OUT: only results go back).
CB=${KBREED_LEVEL1_BUILD:-${TMPDIR:-/tmp}/kbreed-level1-compiled}
export KBREED_LEVEL1_BUILD=$CB
if [ "${1:-}" = --gen ]; then
	o=$OUT/level1/$(basename "$2" .py)
	[ -s "$o.cu" ] || KBREED_CACHE="$CB" "$K" generate "$2" >"$o.cu" 2>"$o.log" || rm -f "$o.cu"
	exit 0
fi
if [ "${1:-}" = --one ]; then
	p=$2
	name=$(basename "$p" .py)
	o=$OUT/level1/$name
	# A cache of its own, removed after: the reference data of a full-size
	# problem can take tens of GB, and the disk holds a few of them at most.
	# KBREED_LEVEL1_CACHES lists places for it (default $TMPDIR): the one
	# with the most free space at the start is taken.
	best=${TMPDIR:-/tmp} most=0
	for d in ${KBREED_LEVEL1_CACHES:-}; do
		free=$(df -Pk "$d" 2>/dev/null | awk 'NR == 2 { print $4 }')
		[ "${free:-0}" -gt "$most" ] && best=$d most=$free
	done
	export KBREED_CACHE="$best/kbreed-level1/$name"
	trap 'rm -rf "$KBREED_CACHE"' EXIT
	# The machine's ceilings are measured once for all problems, not per cache;
	# the compiled kernels come from the shared compile cache of the first pass.
	mkdir -p "$KBREED_CACHE/machine" "$OUT/level1/machine"
	cp "$OUT/level1/machine/"*.json "$KBREED_CACHE/machine/" 2>/dev/null
	[ -d "$CB/build" ] && ln -s "$(cd "$CB/build" && pwd)" "$KBREED_CACHE/build"
	if [ ! -s "$o.cu" ] && ! "$K" generate "$p" >"$o.cu" 2>"$o.log"; then
		rm -f "$o.cu"
	fi
	if [ ! -s "$o.cu" ]; then
		echo "$name | no kernel | - | $(tail -1 "$o.log")"
		exit 0
	fi
	# Each line of the judge's log carries the seconds since this problem
	# started: where the time goes (references, the worker, the kernel).
	t0=$(date +%s)
	{ KBREED_EARLY_CUTOFF_MS=${KBREED_LEVEL1_CUTOFF_MS:-0.0001} timeout 400 "$K" -v eval --json --no-baseline \
		--sets "${KBREED_LEVEL1_SETS:-2}" --stress "${KBREED_LEVEL1_STRESS:-on}" --adaptive on \
		--warmup 1 --reps 20 --timeout 240 "$p" "$o.cu" >"$o.json"; } 2>&1 |
		while IFS= read -r l; do echo "+$(($(date +%s) - t0))s $l"; done >>"$o.log"
	secs=$(($(date +%s) - t0))
	cp -n "$KBREED_CACHE/machine/"*.json "$OUT/level1/machine/" 2>/dev/null
	v=$(sed -n 's/.*"verdict": "\([a-z_]*\)".*/\1/p' "$o.json" | head -1)
	ms=$(sed -n 's/.*"median_ms": \([0-9.e+-]*\).*/\1/p' "$o.json" | head -1)
	d=$(sed -n 's/.*"detail": "\([^"]*\)".*/\1/p' "$o.json" | head -1 | cut -c1-200)
	echo "$name | ${v:-error} | ${ms:--} | ${d:-$(tail -1 "$o.log" | cut -c1-200)} | ${secs}s"
	exit 0
fi
DIR=${1:?usage: scripts/level1.sh DIR [K/N]}
SHARD=${2:-0/1}
k=${SHARD%/*}
n=${SHARD#*/}
mkdir -p "$OUT/level1"
ls "$DIR"/*.py | awk -v k="$k" -v n="$n" '(NR - 1) % n == k' >"$OUT/level1/list-$k"
export OUT
# First pass, no GPU needed: every kernel generated and compiled, on all cores
# at once, into a compile cache the judging pass shares. Only then are the
# problems judged one at a time.
if [ "${KBREED_LEVEL1_PRECOMPILE:-1}" = 1 ]; then
	t0=$(date +%s)
	mkdir -p "$CB"
	xargs -P "$(nproc)" -n 1 sh "$0" --gen <"$OUT/level1/list-$k"
	ls "$OUT"/level1/*.cu >/dev/null 2>&1 &&
		KBREED_CACHE="$CB" "$K" -q compile "$OUT"/level1/*.cu >"$OUT/level1/compile.txt" 2>&1
	echo "# generated and compiled in $(($(date +%s) - t0)) s: $(cat "$OUT/level1/compile.txt" 2>/dev/null | grep -c ': ok') kernels" >&2
fi
# Each line lands as soon as its problem is judged: a run cut short keeps them.
jobs=${KBREED_LEVEL1_JOBS:-1}
xargs -P "$jobs" -n 1 sh "$0" --one <"$OUT/level1/list-$k" | tee -a "$OUT/level1.txt"
# Judges that shared the GPU can reject an honest kernel by the host-clock
# check (the host's wait includes the other processes' time slices): those
# problems are judged again, alone, and their later line is the one counted.
if [ "$jobs" -gt 1 ]; then
	grep '| rejected |.*host clock' "$OUT/level1.txt" | cut -d' ' -f1 | sort -u |
		while read -r name; do
			grep -F "/$name.py" "$OUT/level1/list-$k"
		done >"$OUT/level1/again-$k"
	if [ -s "$OUT/level1/again-$k" ]; then
		echo "# judged again alone (host-clock rejections beside other judges): $(wc -l <"$OUT/level1/again-$k")" >&2
		xargs -P 1 -n 1 sh "$0" --one <"$OUT/level1/again-$k" | tee -a "$OUT/level1.txt"
	fi
fi
# A problem's last line is its result.
awk -F' [|] ' '{ v[$1] = $2 } END { c = 0; for (n in v) { m++; if (v[n] == "correct") c++ } print c " correct of " m }' "$OUT/level1.txt"
