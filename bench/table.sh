#!/bin/sh
# bench/table.sh - a markdown table from `kbreed eval --json` result files:
#   sh bench/table.sh RESULT.json...
# One row per file: problem, verdict, kernel median, PyTorch eager median,
# % of eager, the floor, % of the floor, and the bound.
echo "| problem | verdict | kernel ms | eager ms | % of eager | floor ms | % of floor | bound |"
echo "|---|---|---|---|---|---|---|---|"
for f in "$@"; do
	awk '
	/^  "problem":/ { gsub(/[",]/, "", $2); problem = $2 }
	/^  "verdict":/ { gsub(/[",]/, "", $2); verdict = $2 }
	/^  "time":/ { in_time = 1 }
	/^  "pytorch":/ { in_torch = 1 }
	/"median_ms":/ { v = $2; gsub(/,/, "", v)
		if (in_time && kernel == "") kernel = v
		else if (in_torch && eager == "") eager = v }
	/^  }/ { in_time = 0; in_torch = 0 }
	/^  "pct_eager":/ { gsub(/,/, "", $2); pe = $2 }
	/^  "pct_floor":/ { gsub(/,/, "", $2); pf = $2 }
	/^  "floor_ms":/ { gsub(/,/, "", $2); fl = $2 }
	/^  "bound":/ { gsub(/[",]/, "", $2); bound = $2 }
	END { printf "| %s | %s | %.4f | %.4f | %.1f%% | %.4f | %.1f%% | %s |\n",
		problem, verdict, kernel, eager, pe, fl, pf, bound }
	' "$f"
done
