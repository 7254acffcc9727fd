#!/bin/sh
# scripts/probe.sh - time a few realisations of one template on a problem, in
# one `kbreed eval` session beside PyTorch: a quick look before a search.
#
#   sh scripts/probe.sh PROBLEM TEMPLATE SETTINGS...   (SETTINGS: "" for the
#   defaults, or quoted "KNOB=V KNOB=V")
#
# Prints one line per realisation (verdict, median ms, % of eager); the JSON
# goes to $PROBE_OUT/PROBLEM--TEMPLATE.json (default build/probe).
set -u
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: probe.sh PROBLEM TEMPLATE SETTINGS..." >&2; exit 2; }
problem=$1 tpl=$2
shift 2
out=${PROBE_OUT:-build/probe}
dir="$out/src/$problem--$tpl"
mkdir -p "$dir"
i=0
files=""
for s in "$@"; do
	i=$((i + 1))
	f="$dir/$i.cu"
	# shellcheck disable=SC2086
	build/kbreed template "$tpl" $s --for "$problem" >"$f" || exit 2
	files="$files $f"
	echo "$i: $tpl ${s:-(defaults)}"
done
# shellcheck disable=SC2086
build/kbreed eval --json ${PROBE_EVAL_ARGS:-} "$problem" $files >"$out/$problem--$tpl.json" 2>"$out/$problem--$tpl.log"
python3 - "$out/$problem--$tpl.json" <<'PY'
import json, sys
text, docs, i = open(sys.argv[1]).read(), [], 0
dec = json.JSONDecoder()
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    d, i = dec.raw_decode(text, i)
    docs.extend(d if isinstance(d, list) else [d])
for d in docs:
    t = (d.get("time") or {}).get("median_ms")
    c = d.get("correctness") or {}
    print("%-40s %-13s %9s ms %7s%% of eager  strict %s crfm %s  %s" % (
        d.get("candidate", "?")[-40:], d.get("verdict"), "%.4f" % t if t else "-",
        "%.1f" % d["pct_eager"] if d.get("pct_eager") else "-",
        (c.get("strict") or {}).get("pass"), (c.get("crfm") or {}).get("pass"),
        (d.get("detail") or "")[:150]))
PY
