#!/bin/sh
# scripts/level1_bench.sh - KernelBench level 1 benchmarked a few problems at
# a time, across calls that each have a time limit: `kbreed bench` on one
# problem after the other, each result file kept as soon as it is written, and
# no problem started that cannot finish before the deadline.
#
#   sh scripts/level1_bench.sh [PROBLEM.py | FAMILY]... [-- BENCH OPTIONS...]
#   sh scripts/level1_bench.sh --list [PROBLEM.py | FAMILY]...   what would run, nothing run
#   sh scripts/level1_bench.sh --index DIR      "NAME FAMILY OP" per problem of DIR
#
# A FAMILY is one of kbreed's (elementwise, reduce, norm, softmax, scan, loss,
# pool, matmul, conv, attention; pointwise and reduction say the first two):
# every problem of the level-1 folder ($KBREED_LEVEL1_DIR, else .kb/level1,
# shared/kernelbench/level1 or ../shared/kernelbench/level1, the first that
# exists) of that family. A problem's family is read from the index
# ($KBREED_BENCH_INDEX, default bench/level1/families.txt, which --index
# writes), else from `kbreed -q describe`.
#
# Each problem runs as `kbreed bench FILE --max-minutes 1 --torch-compile
# --out W/runs --results W/NAME.json` (W: $KBREED_BENCH_WORK, default
# build/level1-bench), BENCH OPTIONS after these (--max-minutes or
# --torch-compile among them replace the defaults); its log is W/NAME.log.
# A problem of the memory-bound families also gets --no-bank: those targets
# are for a run from an empty bank, while the database of a machine kept warm
# holds the winners of the problems before it. Matrix products, convolutions
# and attention may borrow from the bank (their results name the donor).
# Its results file is then copied to $OUT/bench/NAME.json, and W as a whole
# (results, logs, winners) to $OUT/level1-bench.tgz, both renamed into place:
# a call cut short returns every problem finished before the cut.
#
# A problem is skipped when NAME.json is already in $OUT/bench, in W (an
# earlier call on the same machine: a warm one keeps build/) or in one of
# $KBREED_BENCH_DONE (space-separated folders; default, the results committed
# from earlier calls on this GPU's model: R/h200 on an H200, R/h100 on an
# H100, by nvidia-smi's name, R/h200 where there is no GPU (--list on the
# development machine), none on other GPUs; R is $KBREED_BENCH_RESULTS,
# default bench/level1). A ratio is valid within one GPU only: an H100's
# results do not stand for the H200's.
#
# KBREED_BENCH_FLAGS: kbreed's own options before `bench` (e.g. -v: the
# log then has the reference data's seconds per phase and set).
#
# KBREED_BENCH_DEADLINE=SECONDS (from this script's start; 0 or unset: none):
# a problem is started only if the longest problem so far, or
# $KBREED_BENCH_GUESS seconds (default 150) before any has run, plus a quarter,
# fits in the time left; a problem still running at the deadline is stopped
# (its result is lost, the next call runs it again). Reference data of a
# full-size problem can take GBs: each problem's is removed from the cache
# after it ($KBREED_BENCH_KEEP_REFS=1: kept), and kbreed makes no more of it
# than its budget allows (docs/EVALUATION.md, KBREED_REF_BUDGET_GB).
#
# The cache kbreed uses here (compiled kernels, descriptions, reference data)
# is on disk: KBREED_CACHE (else kbreed's default), unless that is in RAM
# (tmpfs or ramfs: /dev/shm, on some machines /tmp), where a full-size
# problem's sets would take the machine's memory; then W-cache
# (build/level1-bench-cache), said on the first line. KBREED_BENCH_CACHE=DIR
# names the cache outright, in RAM or not (the caller's choice).
#
# Prints one line per problem, stamped with the seconds since the start, and
# a last line: done, correct, skipped, left for the next call.
set -u
cd "$(dirname "$0")/.." || exit 2
OUT=${OUT:-build/level1-bench-out}
K=${KBREED_BUILD:-build}/kbreed
W=${KBREED_BENCH_WORK:-build/level1-bench}
INDEX=${KBREED_BENCH_INDEX:-bench/level1/families.txt}
t0=$(date +%s)

usage() {
	echo "usage: sh scripts/level1_bench.sh [--list] [PROBLEM.py | FAMILY]... [-- BENCH OPTIONS...]" >&2
	echo "   or: sh scripts/level1_bench.sh --index DIR" >&2
	exit 2
}

# family_of FILE: "FAMILY OP" of FILE, from the index where it names FILE,
# else from kbreed's description; "none -" where neither says.
family_of() {
	fo_name=$(basename "$1" .py)
	fo=$(awk -v n="$fo_name" '$1 == n { print $2, $3; exit }' "$INDEX" 2>/dev/null)
	[ -n "$fo" ] || fo=$("$K" -q describe "$1" 2>/dev/null |
		sed -n 's/^family *\([A-Za-z0-9_]*\), op \([A-Za-z0-9_]*\).*/\1 \2/p' | head -1)
	echo "${fo:-none -}"
}

if [ "${1:-}" = --index ]; then
	[ $# -eq 2 ] && [ -d "$2" ] || usage
	INDEX=/dev/null
	echo "# problem family op: kbreed -q describe of each problem of level 1 (scripts/level1_bench.sh --index)"
	for p in "$2"/*.py; do
		echo "$(basename "$p" .py) $(family_of "$p")"
	done
	exit 0
fi
list_only=0
if [ "${1:-}" = --list ]; then
	list_only=1
	shift
fi

level1_dir() {
	for d in ${KBREED_LEVEL1_DIR:-} .kb/level1 shared/kernelbench/level1 ../shared/kernelbench/level1; do
		[ -d "$d" ] && { echo "$d"; return 0; }
	done
	echo "level1_bench.sh: no level-1 folder (set KBREED_LEVEL1_DIR)" >&2
	return 1
}

# The problems, in the order named, each once: $W/list.
mkdir -p "$W" || exit 2
: >"$W/list.new"
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	case $1 in
	*.py)
		[ -f "$1" ] || { echo "level1_bench.sh: no such problem: $1" >&2; exit 2; }
		echo "$1" >>"$W/list.new"
		;;
	elementwise | pointwise | reduce | reduction | norm | softmax | scan | loss | pool | matmul | conv | attention)
		fam=$1
		[ "$fam" = pointwise ] && fam=elementwise
		[ "$fam" = reduction ] && fam=reduce
		dir=$(level1_dir) || exit 2
		# In KernelBench's order: by the number that starts the name.
		for p in "$dir"/*.py; do
			[ "$(family_of "$p" | cut -d' ' -f1)" = "$fam" ] && echo "$p"
		done | awk -F/ '{ n = $NF; sub(/_.*/, "", n); print n + 0 "\t" $0 }' | sort -n -k1,1 | cut -f2- >>"$W/list.new"
		;;
	*)
		echo "level1_bench.sh: neither a problem file (.py) nor a family: $1" >&2
		usage
		;;
	esac
	shift
done
[ $# -gt 0 ] && shift # the --
awk '!seen[$0]++' "$W/list.new" >"$W/list"
rm -f "$W/list.new"
[ -s "$W/list" ] || { echo "level1_bench.sh: no problems" >&2; exit 2; }

# The committed results of this GPU's model (above).
gpu_results() {
	r=${KBREED_BENCH_RESULTS:-bench/level1}
	case $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1) in
	*H100*) echo "$r/h100" ;;
	*H200* | "") echo "$r/h200" ;;
	*) echo "" ;;
	esac
}
kept=${KBREED_BENCH_DONE-$(gpu_results)}

# done_in NAME: the folder that already holds NAME's results, if any.
done_in() {
	# shellcheck disable=SC2086 # the folders are words
	for d in "$OUT/bench" "$W" $kept; do
		[ -f "$d/$1.json" ] && { echo "$d"; return 0; }
	done
	return 1
}

if [ $list_only = 1 ]; then
	while read -r p; do
		name=$(basename "$p" .py)
		d=$(done_in "$name") && echo "$name: done ($d)" || echo "$p"
	done <"$W/list"
	exit 0
fi

mkdir -p "$OUT/bench" || exit 2
# The options every problem gets, then the caller's.
defaults="--max-minutes 1 --torch-compile"
for o in "$@"; do
	case $o in
	--max-minutes) defaults=$(echo "$defaults" | sed 's/--max-minutes 1 *//') ;;
	--torch-compile) defaults=$(echo "$defaults" | sed 's/ *--torch-compile//') ;;
	esac
done
deadline=${KBREED_BENCH_DEADLINE:-0}
guess=${KBREED_BENCH_GUESS:-150}
longest=0 n_done=0 n_correct=0 n_skipped=0 left=""
say() { echo "+$(($(date +%s) - t0))s $*"; }

# in_ram DIR: DIR (or the nearest folder above it that exists) is on tmpfs or ramfs.
in_ram() {
	ir=$1
	while [ ! -d "$ir" ] && [ "$ir" != "$(dirname "$ir")" ]; do ir=$(dirname "$ir"); done
	case $(stat -f -c %T "$ir" 2>/dev/null) in
	tmpfs | ramfs) return 0 ;;
	esac
	return 1
}
# The cache: on disk unless the caller names one (see the top).
if [ -n "${KBREED_BENCH_CACHE:-}" ]; then
	cache=$KBREED_BENCH_CACHE
else
	cache=${KBREED_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kbreed}
	if in_ram "$cache"; then
		if in_ram "${W%/}-cache"; then
			say "the cache $cache is in RAM, and so is ${W%/}-cache: it stays (KBREED_BENCH_CACHE=DIR: another)"
		else
			say "the cache $cache is in RAM: using ${W%/}-cache, on disk (KBREED_BENCH_CACHE=DIR: another)"
			cache=${W%/}-cache
		fi
	fi
fi
export KBREED_CACHE=$cache

# field NAME KEY [DIGITS]: KEY's first value in W/NAME.json, "-" for null;
# a number with DIGITS decimals where DIGITS is given.
field() {
	fv=$(sed -n "s/.*\"$2\": \\([^,]*\\),*\$/\\1/p" "$W/$1.json" | head -1 | tr -d '"')
	case $fv in
	"" | null) echo - ;;
	*) [ -n "${3:-}" ] && awk -v x="$fv" -v d="$3" 'BEGIN { printf("%." d "f\n", x) }' || echo "$fv" ;;
	esac
}

# The problems after the first to run are described in the background, one
# after the other, while the first ones run: a description starts Python and
# imports torch (seconds), inside a run's one-minute budget unless it is
# cached. The first describes itself.
first=1
while read -r p; do
	done_in "$(basename "$p" .py)" >/dev/null && continue
	[ $first = 1 ] && first=0 && continue
	"$K" -q describe "$p" >/dev/null 2>&1
done <"$W/list" &
ahead=$!
while read -r p; do
	name=$(basename "$p" .py)
	if d=$(done_in "$name"); then
		n_skipped=$((n_skipped + 1))
		say "$name: skipped, results already in $d"
		continue
	fi
	now=$(($(date +%s) - t0))
	est=$guess
	[ $longest -gt 0 ] && est=$longest
	need=$((est + est / 4))
	if [ "$deadline" -gt 0 ] && [ $((now + need)) -ge "$deadline" ]; then
		left="$left $name"
		continue
	fi
	pfam=$(family_of "$p") # once: without the index it asks kbreed describe (Python)
	say "$name: start ($(echo "$pfam" | tr ' ' '/'), ~${est}s)"
	rm -f "$W/$name.json"
	start=$(date +%s)
	# At the deadline TERM (to kbreed and its children), KILL 10 s later.
	tmo=""
	[ "$deadline" -gt 0 ] && tmo="timeout -k 10 $((deadline - now))"
	bank=--no-bank
	case $pfam in matmul* | conv* | attention*) bank= ;; esac
	# shellcheck disable=SC2086
	$tmo "$K" ${KBREED_BENCH_FLAGS:-} bench "$p" $defaults $bank --out "$W/runs" --results "$W/$name.json" "$@" </dev/null >"$W/$name.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	[ $secs -gt $longest ] && longest=$secs
	[ "${KBREED_BENCH_KEEP_REFS:-0}" = 1 ] || rm -rf "$cache/refs/$name"-*
	if [ "$deadline" -gt 0 ] && { [ $rc -eq 124 ] || [ $rc -eq 137 ]; }; then
		say "$name: stopped at the deadline after ${secs}s, no results"
		left="$left $name"
		continue
	fi
	if [ ! -s "$W/$name.json" ]; then
		say "$name: failed (exit $rc) after ${secs}s, no results: $(tail -1 "$W/$name.log")"
		continue
	fi
	cp "$W/$name.json" "$OUT/bench/$name.json.part" && mv "$OUT/bench/$name.json.part" "$OUT/bench/$name.json"
	tar czf "$OUT/level1-bench.tgz.part" -C "$(dirname "$W")" "$(basename "$W")" &&
		mv "$OUT/level1-bench.tgz.part" "$OUT/level1-bench.tgz"
	n_done=$((n_done + 1))
	best=$(field "$name" best_ms 4)
	if [ "$best" = - ]; then
		say "$name: no correct kernel (${secs}s)"
	else
		n_correct=$((n_correct + 1))
		say "$name: $best ms, $(field "$name" pct_eager 1)% of eager, $(field "$name" pct_compile 1)% of compile," \
			"$(field "$name" pct_floor 1)% of floor, $(field "$name" template) (${secs}s)"
	fi
done <"$W/list"
kill "$ahead" 2>/dev/null
wait "$ahead" 2>/dev/null
[ -n "$left" ] && say "left for the next call (deadline $deadline s):$left"
say "$n_done done, $n_correct correct, $n_skipped skipped (results already), $(echo "$left" | wc -w) left"
exit 0
