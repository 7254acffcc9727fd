#!/bin/sh
# bench/level1_table.sh - the level-1 benchmark as two tables, one per target
# set, merged from many `kbreed bench` results files (scripts/level1_bench.sh
# writes one per problem; bench/level1/h200/ keeps them):
#
#   sh bench/level1_table.sh [--index FILE] [--group memory|compute|all] RESULTS.json|DIR...
#
# The index (default bench/level1/families.txt: "NAME FAMILY OP" lines, from
# scripts/level1_bench.sh --index) says each problem's family and which
# problems there are. Groups: memory, the memory-bound families (elementwise,
# reduce, norm, softmax, scan, loss, pool); compute, the matrix products,
# convolutions and attention (matmul, conv, attention). Each group's table has
# one row per problem with results (a problem in several files: the last one
# named counts; a DIR means its *.json in name order), its GPU and date, then:
# how many are correct, which problems have no results yet or no correct
# kernel, the geometric means of the speed-ups over eager and torch.compile,
# each target checked (met, or missed by how much, and on how many of the
# group's problems; a problem with no correct kernel misses the targets on
# each problem's speed-up), and the commands that made the rows, with the problem's
# file and name written PROBLEM.
#
# Targets, memory: every problem >= 95% of eager, every memory-bound one >=
# 85% of its floor, geometric mean >= 1.6x eager. Compute: none below 90% of
# eager, geometric mean >= 1.5x over the matrix products, >= 1.3x over the
# convolutions. Needs jq.
set -eu
index=bench/level1/families.txt
group=all
usage() {
	echo "usage: sh bench/level1_table.sh [--index FILE] [--group memory|compute|all] RESULTS.json|DIR..." >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--index) [ $# -ge 2 ] || usage; index=$2; shift 2 ;;
	--group) [ $# -ge 2 ] || usage; group=$2; shift 2 ;;
	-*) usage ;;
	*) break ;;
	esac
done
case $group in memory | compute | all) ;; *) usage ;; esac
[ $# -gt 0 ] || usage
[ -f "$index" ] || { echo "level1_table.sh: no index $index" >&2; exit 2; }
command -v jq >/dev/null || { echo "level1_table.sh needs jq" >&2; exit 2; }

# Every results file, in the order named (a folder's in name order).
files=$(mktemp)
trap 'rm -f "$files"' EXIT
for a in "$@"; do
	if [ -d "$a" ]; then
		ls "$a"/*.json 2>/dev/null | sort
	elif [ -f "$a" ]; then
		echo "$a"
	else
		echo "level1_table.sh: no such file or folder: $a" >&2
		exit 2
	fi
done >"$files"

# One tab-separated line per row: "R", then name (the file name of its
# problem, less .py), GPU, date, command with the problem written PROBLEM,
# the times and ratios ("-" where null), bound, template, knobs, donor. The
# index's lines come first, as "I name family".
{
	awk '!/^#/ && NF >= 2 { print "I\t" $1 "\t" $2 }' "$index"
	while IFS= read -r f; do
		jq -L "$(dirname "$0")" -r '
		include "winner";
		def v: if . == null then "-" else tostring end;
		.gpu as $gpu | .date as $date | .command as $cmd |
		.results[] |
		(.problem | sub(".*/"; "") | sub("\\.py$"; "")) as $name |
		["R", $name, (.gpu // $gpu), $date,
		 ($cmd | split(" ") | map(
			if (. | endswith(".py")) and ((. | sub(".*/"; "") | sub("\\.py$"; "")) == $name) then sub("[^/]*\\.py$"; "PROBLEM.py")
			elif (. | endswith("/" + $name + ".json")) or . == ($name + ".json") then sub("[^/]*\\.json$"; "PROBLEM.json")
			else . end) | join(" ")),
		 (.eager_ms | v), (.compile_ms | v), (.best_ms | v),
		 (.pct_eager | v), (.pct_compile | v), (.pct_floor | v), (.bound | v),
		 (.template | v),
		 knobs_text, donor_text, (.pct_eager_fp32 | v),
		 (if .eager_from_start then "start" else "-" end)
		] | @tsv' "$f"
	done <"$files"
} | awk -F '\t' -v group="$group" '
function ms(x) { return x == "-" ? x : sprintf("%.4f", x) }
function pct(x) { return x == "-" ? x : sprintf("%.1f%%", x) }
# The leading number of a KernelBench name, for the order of the rows.
function num(n) { return n ~ /^[0-9]+_/ ? substr(n, 1, index(n, "_") - 1) + 0 : 100000 }
function in_group(fam, g) {
	if (g == "memory")
		return fam ~ /^(elementwise|reduce|norm|softmax|scan|loss|pool)$/
	return fam ~ /^(matmul|conv|attention)$/
}
# sort_names(list, n): list[1..n] in KernelBench order (insertion sort).
function sort_names(list, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = list[i]
		for (j = i - 1; j >= 1 && (num(list[j]) > num(t) || (num(list[j]) == num(t) && list[j] > t)); j--)
			list[j + 1] = list[j]
		list[j + 1] = t
	}
}
# geo(sum of logs, count): the geometric mean as "1.23x (N problems)", "-" for none.
function geo(s, n) { return n ? sprintf("%.2fx (%d problem%s)", exp(s / n), n, n == 1 ? "" : "s") : "-" }
# target_each(what, judged, n_below, below, worst, worst_name, want, n_bad, bad, scope):
# a per-problem target, missed by the worst problem below it and by each with
# no correct kernel (n_bad of them, named in bad; 0 where those do not count).
function target_each(what, n_judged, n_below, below, worst, worst_name, want, n_bad, bad, scope,    t) {
	if (n_judged == 0)
		return "- " what ": not judged yet"
	if (n_below == 0 && n_bad == 0)
		return "- " what ": met" scope
	t = "- " what ": missed"
	if (n_below)
		t = t sprintf(" by %.1f points at the worst (%s); %d below: %s", want - worst, worst_name, n_below, below)
	if (n_bad)
		t = t (n_below ? "; " : ": ") "no correct kernel for " bad
	return t scope
}
function target_geo(what, s, n, want, scope,    g) {
	if (n == 0)
		return "- " what ": not judged yet (no correct results)"
	g = exp(s / n)
	if (g >= want)
		return sprintf("- %s: met (%.2fx)%s", what, g, scope)
	return sprintf("- %s: missed by %.2fx (%.2fx, %.1f%% short)%s", what, want - g, g, (want - g) / want * 100, scope)
}
# scope(judged, of): "" when every problem of the set is judged, else how many.
function scope(judged, of) { return judged == of ? "" : sprintf(" [on %d of %d problems]", judged, of) }
$1 == "I" { fam[$2] = $3; indexed[++n_index] = $2; next }
$1 == "R" {
	name = $2
	if (!(name in row))
		names[++n_names] = name
	row[name] = $0
	next
}
function table(g, title, families,    i, n, list, name, f, r, nm, nc, nmiss, miss, nbad, bad, nlist, cmds, ncmd, c,
		se, ne, sc, nc2, smm, nmm, scv, ncv, nb95, b95, w95, w95n, nfl, nbfl, bfl, wfl, wfln, nb90, b90, nset, nmmset, ncvset,
		sf, nf, nbf, bf) {
	print "## " title
	print ""
	print "| problem | family | eager ms | compile ms | found ms | % of eager | % of compile | % of floor | bound | template | knobs | donor | GPU | date |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	n = 0
	for (i = 1; i <= n_names; i++) {
		name = names[i]
		if (name in fam && in_group(fam[name], g))
			list[++n] = name
	}
	sort_names(list, n)
	nc = 0; nbad = 0; bad = ""; nstart = 0
	se = 0; ne = 0; sc = 0; nc2 = 0; smm = 0; nmm = 0; scv = 0; ncv = 0
	nb95 = 0; b95 = ""; w95 = 1e9; nfl = 0; nbfl = 0; bfl = ""; wfl = 1e9; nb90 = 0; b90 = ""
	sf = 0; nf = 0; nbf = 0; bf = ""
	for (i = 1; i <= n; i++) {
		split(row[list[i]], r, "\t")
		name = r[2]
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, fam[name],
			ms(r[6]) (r[17] == "start" ? " (start)" : ""), ms(r[7]), ms(r[8]), pct(r[9]), pct(r[10]), pct(r[11]),
			r[12], r[13], r[14], r[15], r[3], r[4]
		if (r[17] == "start")
			nstart++
		c = "`" r[5] "` (" r[3] ", " r[4] ")"
		if (!(c in cmds))
			cmd_order[++ncmd] = c
		cmds[c]++
		if (r[8] == "-") {
			bad = bad (nbad++ ? ", " : "") name
			continue
		}
		nc++
		se += log(r[9] / 100); ne++
		if (r[10] != "-") { sc += log(r[10] / 100); nc2++ }
		if (r[16] != "-" && r[16] != "") {
			sf += log(r[16] / 100); nf++
			if (r[9] + 0 < 90) { bf = bf (nbf++ ? ", " : "") sprintf("%s %.1f%%", name, r[16]) }
		}
		if (fam[name] == "matmul") { smm += log(r[9] / 100); nmm++ }
		if (fam[name] == "conv") { scv += log(r[9] / 100); ncv++ }
		if (r[9] + 0 < 95) { b95 = b95 (nb95++ ? ", " : "") sprintf("%s %.1f%%", name, r[9]) }
		if (r[9] + 0 < w95) { w95 = r[9] + 0; w95n = name }
		if (r[9] + 0 < 90) { b90 = b90 (nb90++ ? ", " : "") sprintf("%s %.1f%%", name, r[9]) }
		if (r[12] == "memory" && r[11] != "-") {
			nfl++
			if (r[11] + 0 < 85) { bfl = bfl (nbfl++ ? ", " : "") sprintf("%s %.1f%%", name, r[11]) }
			if (r[11] + 0 < wfl) { wfl = r[11] + 0; wfln = name }
		}
	}
	# The set: the problems of these families in the index.
	nset = 0; nmiss = 0; miss = ""; nmmset = 0; ncvset = 0
	for (i = 1; i <= n_index; i++) {
		name = indexed[i]
		if (!in_group(fam[name], g))
			continue
		nset++
		if (fam[name] == "matmul") nmmset++
		if (fam[name] == "conv") ncvset++
		if (!(name in row))
			mlist[++nmiss] = name
	}
	sort_names(mlist, nmiss)
	for (i = 1; i <= nmiss; i++)
		miss = miss (i > 1 ? ", " : "") mlist[i]
	print ""
	printf "Correct: %d of %d (%d with results).\n", nc, nset, n
	print "Missing (no results yet): " (nmiss ? nmiss ": " miss : "none") "."
	if (nbad)
		print "No correct kernel: " bad "."
	if (nstart)
		printf "PyTorch times marked (start): %d row%s whose closing measurement failed; the winner is placed against the times from the session start (eager_from_start, bench/README.md).\n", nstart, nstart == 1 ? "" : "s"
	printf "Geometric mean of the speed-up over eager: %s; over torch.compile: %s.\n", geo(se, ne), geo(sc, nc2)
	if (g == "compute")
		printf "Over eager, the matrix products: %s; the convolutions: %s.\n", geo(smm, nmm), geo(scv, ncv)
	# PyTorch eager computes fp32 convolutions in TF32 by default (cuDNN);
	# where it was also timed with TF32 off, the fp32 the strict tolerance asks for.
	if (nf)
		printf "Over eager with TF32 off (the fp32 arithmetic of the strict tolerance), where timed: %s%s.\n",
			geo(sf, nf), nbf ? "; those below 90% of eager, against eager with TF32 off: " bf : ""
	print ""
	print "Targets:"
	if (g == "memory") {
		print target_each("every problem >= 95% of eager", n, nb95, b95, w95, w95n, 95, nbad, bad, scope(n, nset))
		print target_each("every memory-bound problem >= 85% of its floor", nfl, nbfl, bfl, wfl, wfln, 85, 0, "", scope(nc, nset))
		print target_geo("geometric mean >= 1.6x eager", se, ne, 1.6, scope(nc, nset))
	} else {
		print target_each("none below 90% of eager", n, nb90, b90, w95, w95n, 90, nbad, bad, scope(n, nset))
		print target_geo("geometric mean >= 1.5x eager over the matrix products", smm, nmm, 1.5, scope(nmm, nmmset))
		print target_geo("geometric mean >= 1.3x eager over the convolutions", scv, ncv, 1.3, scope(ncv, ncvset))
	}
	if (ncmd) {
		print ""
		print "Commands (each row ran alone, its file and name for PROBLEM; GPU, date):"
		for (i = 1; i <= ncmd; i++)
			printf "- %s: %d problem%s\n", cmd_order[i], cmds[cmd_order[i]], cmds[cmd_order[i]] == 1 ? "" : "s"
	}
	delete cmds; delete cmd_order; ncmd = 0; delete mlist; delete list
}
END {
	first = 1
	if (group == "memory" || group == "all") {
		table("memory", "Memory-bound families (elementwise, reduce, norm, softmax, scan, loss, pool)")
		first = 0
	}
	if (group == "compute" || group == "all") {
		if (!first)
			print ""
		table("compute", "Matrix products, convolutions, attention (matmul, conv, attention)")
	}
	for (i = 1; i <= n_names; i++)
		if (!(names[i] in fam))
			other = other (other == "" ? "" : ", ") names[i]
	if (other != "") {
		print ""
		print "Not in the index " "(no family), left out: " other "."
	}
}'
