#!/bin/sh
# bench/level1_record.sh - files the one-minute runs of a device call's
# level1-bench step into bench/: each problem's JSON result into
# bench/level1/<gpu>/ (h100 or h200, from the result's own "gpu" field, so
# that a ratio is never filed beside another GPU's), and its run summary and
# winner into bench/runs/<date>/level1-<gpu>/<problem>/ (<date> from the
# result). A result already filed for that GPU is replaced: the newer run is
# the one the table shows (git keeps the older).
#
#   sh bench/level1_record.sh LEVEL1-BENCH.TGZ
#
# LEVEL1-BENCH.TGZ: the level1-bench.tgz that `scripts/device.sh
# level1-bench` (or a plan's level1-bench step) wrote under $OUT. Prints one
# line per problem filed; exits 1 when the archive holds no result.
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: sh bench/level1_record.sh LEVEL1-BENCH.TGZ" >&2; exit 2; }
tgz=$1
[ -f "$tgz" ] || { echo "level1_record: no file $tgz" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar xzf "$tgz" -C "$tmp"
n=0
for json in "$tmp"/level1-bench/*.json; do
	[ -f "$json" ] || continue
	name=$(basename "$json" .json)
	fields=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
gpu = d.get("gpu", "")
kind = "h200" if "H200" in gpu else "h100" if "H100" in gpu else ""
print(kind, d.get("date", ""))' "$json")
	kind=${fields% *}
	date=${fields#* }
	if [ -z "$kind" ] || [ -z "$date" ]; then
		echo "level1_record: $name: no H100 or H200 named, or no date: not filed" >&2
		continue
	fi
	mkdir -p "bench/level1/$kind"
	cp "$json" "bench/level1/$kind/$name.json"
	run=$tmp/level1-bench/runs/$name
	if [ -d "$run" ]; then
		dest=bench/runs/$date/level1-$kind/$name
		mkdir -p "$dest"
		for f in summary.md winner.cu; do
			[ -f "$run/$f" ] && cp "$run/$f" "$dest/$f"
		done
	fi
	echo "$name -> bench/level1/$kind ($date)"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "level1_record: no result in $tgz" >&2; exit 1; }
