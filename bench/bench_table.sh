#!/bin/sh
# bench/bench_table.sh - markdown tables from `kbreed bench` result files
# (bench/results/*.json; the format is in bench/README.md):
#   sh bench/bench_table.sh RESULTS.json...
# One table per file, one row per problem: PyTorch eager and torch.compile,
# the time found, the three ratios (250% means 2.5 times faster), the round
# that found it, the winner's template and knobs, and the donor (the problem
# and template of the bank kernel its line started from). Then a line with
# the command, the GPU and the date. A value the file does not have (no
# torch.compile timing, no correct kernel, an older file without the
# winner's fields) prints as "-". A row timed on a GPU other than the
# file's (a bench over several models) names its GPU after the problem.
# Needs jq.
set -eu
if [ $# -eq 0 ]; then
	echo "usage: sh bench/bench_table.sh RESULTS.json..." >&2
	exit 2
fi
command -v jq >/dev/null || { echo "bench_table.sh needs jq" >&2; exit 2; }
first=1
for f in "$@"; do
	[ $first -eq 1 ] || echo
	first=0
	echo "| problem | eager ms | compile ms | found ms | % of eager | % of compile | % of floor | round | template | knobs | donor |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	# One tab-separated line per row, "-" for what is missing; awk formats
	# the numbers.
	jq -L "$(dirname "$0")" -r '
	include "winner";
	def v: if . == null then "-" else tostring end;
	.results[] | [
		(.problem + (if .gpu then " (" + .gpu + ")" else "" end)),
		(.eager_ms | v), (.compile_ms | v), (.best_ms | v),
		(.pct_eager | v), (.pct_compile | v), (.pct_floor | v), (.round_found | v),
		(.template | v),
		knobs_text, donor_text
	] | @tsv' "$f" | awk -F '\t' '
	function ms(x) { return x == "-" ? x : sprintf("%.4f", x) }
	function pct(x) { return x == "-" ? x : sprintf("%.1f%%", x) }
	{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		$1, ms($2), ms($3), ms($4), pct($5), pct($6), pct($7), $8, $9, $10, $11 }'
	jq -r '"\ncommand: `\(.command)`; GPU: \(.gpu); date: \(.date)"' "$f"
done
