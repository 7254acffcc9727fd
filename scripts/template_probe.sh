#!/bin/sh
# scripts/template_probe.sh TEMPLATE SETTINGS... -- PROBLEM.py...
#
# One template at several knob settings on each problem, judged and timed
# beside PyTorch eager in one `kbreed eval` session per problem: which
# setting is faster at full size, without a search (say, conv_igemm's
# products on mma.sync against wgmma, on the convolutions where a run
# found it). Each SETTINGS is one argument of space-separated KNOB=VALUE
# ("" for the template's defaults); each is realised for each problem with
# `kbreed template --for`, so the problem's defines come with it, and a
# setting the template runs as another (its same: lines) is said so.
#
# Writes under ${OUT:-build/probe}: NAME.json (`kbreed eval --json`, a list
# in the order of the settings), NAME-K.cu (the realisations) and
# probe.md, one markdown row per problem and setting: verdict, kernel ms,
# eager ms, % of eager, % of the floor. Exit status: 0 when every problem
# was judged (whatever the verdicts), 1 when some problem could not be
# (its realisation or its session failed: said on stderr and in its row),
# 2 on bad usage.
#
#   OUT=DIR sh scripts/template_probe.sh conv_igemm "BK=32" "BK=32 WGMMA=1" -- .kb/level1/62_*.py
#
# kbreed options for the sessions go in KBREED_PROBE_OPTS (e.g. "--reps 50").
set -u
cd "$(dirname "$0")/.." || exit 2
K=${KBREED_BUILD:-build}/kbreed
usage() {
	echo "usage: sh scripts/template_probe.sh TEMPLATE SETTINGS... -- PROBLEM.py..." >&2
	echo "  (each SETTINGS one argument, \"KNOB=V KNOB=V\", \"\" for the defaults)" >&2
	exit 2
}
[ $# -ge 1 ] || usage
case $1 in -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
tpl=$1
shift
OUT=${OUT:-build/probe}
mkdir -p "$OUT" || exit 2
nset=0
: >"$OUT/settings"
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	nset=$((nset + 1))
	printf '%s\n' "$1" >>"$OUT/settings"
	shift
done
[ "${1:-}" = -- ] || usage
shift
[ "$nset" -gt 0 ] && [ $# -gt 0 ] || usage
"$K" template 2>/dev/null | grep -q "^$tpl " || { echo "template_probe: no template named $tpl" >&2; exit 2; }
for p in "$@"; do
	[ -f "$p" ] || { echo "template_probe: no problem file $p" >&2; exit 2; }
done

rc=0
echo "| problem | settings | verdict | kernel ms | eager ms | % of eager | % of floor |" >"$OUT/probe.md"
echo "|---|---|---|---|---|---|---|" >>"$OUT/probe.md"
for p in "$@"; do
	name=$(basename "$p" .py)
	set --
	i=0
	bad=0
	while IFS= read -r s; do
		i=$((i + 1))
		# shellcheck disable=SC2086 # the settings are words on purpose
		if "$K" template --for "$p" "$tpl" $s >"$OUT/$name-$i.cu" 2>"$OUT/$name-$i.err"; then
			sed 's/^/  /' "$OUT/$name-$i.err" >&2
			set -- "$@" "$OUT/$name-$i.cu"
		else
			echo "template_probe: $name: $tpl not realised with '$s': $(tail -1 "$OUT/$name-$i.err")" >&2
			bad=1
		fi
	done <"$OUT/settings"
	echo "template_probe: $name: $# realisations, one session" >&2
	if [ "$bad" -eq 1 ] || [ $# -eq 0 ]; then
		rc=1
		echo "| $name | (see stderr) | not realised | | | | |" >>"$OUT/probe.md"
		continue
	fi
	# shellcheck disable=SC2086
	"$K" eval --json ${KBREED_PROBE_OPTS:-} "$p" "$@" >"$OUT/$name.json"
	erc=$?
	if [ "$erc" -gt 1 ] || ! python3 - "$OUT/$name.json" "$OUT/settings" "$name" >>"$OUT/probe.md" <<'EOF'; then
import json, sys
rows = json.load(open(sys.argv[1]))
rows = rows if isinstance(rows, list) else [rows]
sets = open(sys.argv[2]).read().split("\n")[:len(rows)]
def num(x, f):
    return f % x if isinstance(x, (int, float)) else "-"
for s, r in zip(sets, rows):
    t = (r.get("time") or {}).get("median_ms")
    e = ((r.get("pytorch") or {}).get("eager") or {}).get("median_ms")
    print("| %s | %s | %s | %s | %s | %s | %s |" % (sys.argv[3], s or "(defaults)", r.get("verdict"),
          num(t, "%.4f"), num(e, "%.4f"), num(r.get("pct_eager"), "%.1f%%"), num(r.get("pct_floor"), "%.1f%%")))
EOF
		echo "template_probe: $name: the session failed (kbreed eval exit $erc)" >&2
		echo "| $name | (see stderr) | session failed | | | | |" >>"$OUT/probe.md"
		rc=1
	fi
done
cat "$OUT/probe.md"
exit $rc
