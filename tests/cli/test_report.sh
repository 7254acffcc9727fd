#!/usr/bin/env bash
# test_report.sh - `kbreed report` of a run made with the fake worker (as
# tests/cli/test_cli.sh makes runs), opened in headless Chromium (Debian's
# `chromium`; .ci/run installs it): the page is self-contained (no script,
# no link, nothing fetched), the DOM Chromium built holds every chart with
# one point per candidate, one node per ancestor of the winner and one
# point per round, the browser logged no console message, and a screenshot
# is kept as an artefact: <build>/artifacts/report.png beside report.html.
# Without chromium the browser checks are skipped, saying so.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"

export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_FAKE_SEARCH=1 KBREED_FAKE_GPU=1
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
unset KBREED_DB

DB=$TMP/r.db
# The winner's ancestors by parent1 and parent2, the winner included.
ANC="WITH RECURSIVE a(id) AS (SELECT winner FROM runs WHERE id=1
	UNION SELECT c.parent1 FROM candidates c JOIN a ON c.id=a.id WHERE c.parent1 IS NOT NULL
	UNION SELECT c.parent2 FROM candidates c JOIN a ON c.id=a.id WHERE c.parent2 IS NOT NULL)"
# The fake worker's times come from a hash of each compiled object's name,
# which changes with anything in include/: the first seed whose winner has
# ancestors (the lineage chart needs them) is the run the page shows.
for seed in 3 4 5 6 7 8 9 10; do
	rm -rf "$DB" "$DB-wal" "$DB-shm" "$TMP/out"
	$K -q run tests/data/search_gelu.py --rounds 8 --ideas 4 --impls 2 --reps 20 --seed $seed --db "$DB" --out "$TMP/out" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc -ne 0 ] || [ "$(q "$DB" "$ANC SELECT count(*) FROM a")" -ge 2 ] && break
done
check "a run with the fake worker (seed $seed): exit 0" $rc 0
PAGE=$B/artifacts/report.html
mkdir -p "$B/artifacts"
rm -f "$PAGE" "$B/artifacts/report.png"
$K report 1 --db "$DB" --out "$PAGE" >"$TMP/out.txt" 2>"$TMP/err"
check "report: exit 0" $? 0
grep -q "^report: $PAGE$" "$TMP/out.txt" && ok "report says where the page is" || not_ok "report says where the page is" "$(cat "$TMP/out.txt" "$TMP/err")"
[ -s "$PAGE" ] && ok "the page is written" || not_ok "the page is written"

# --- self-contained: nothing the viewer has to fetch -------------------------
grep -Eqi '<script|<link|<img|<iframe|@import|url\(' "$PAGE" && not_ok "no script, link, image or import in the page" ||
	ok "no script, link, image or import in the page"
refs=$(grep -Eo '(src|href)="[^"]*"|https?://[^" ]*' "$PAGE" | grep -v '^http://www.w3.org/2000/svg$' | sort -u)
[ -z "$refs" ] && ok "no address in the page but the SVG namespace" || not_ok "no address in the page but the SVG namespace" "$refs"
n_cands=$(q "$DB" "SELECT count(*) FROM candidates WHERE run=1")
for id in trajectory candidates lineage categories roofline; do
	grep -q "<svg id=\"$id\"" "$PAGE" && ok "chart $id written" || not_ok "chart $id written"
done

n_nodes=$(q "$DB" "$ANC SELECT count(*) FROM a")
n_edges=$(q "$DB" "$ANC SELECT (SELECT count(*) FROM candidates WHERE id IN a AND parent1 IN a)
	+ (SELECT count(*) FROM candidates WHERE id IN a AND parent2 IN a)")
n_rounds=$(q "$DB" "SELECT count(DISTINCT round) FROM candidates WHERE run=1")
[ "$n_nodes" -ge 2 ] && ok "the winner has $n_nodes kernels in its lineage" || not_ok "the winner descends from others (the test needs a lineage)" "$n_nodes"

# --- in Chromium ---------------------------------------------------------------
CHROME=${KBREED_CHROMIUM:-}
[ -n "$CHROME" ] || CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	echo "skip - the browser checks: chromium is not installed (apt-get install chromium; .ci/run installs it)"
else
	# --no-sandbox: CI runs as root in a container, where Chromium's own sandbox cannot start.
	flags="--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=$TMP/profile --enable-logging=stderr --v=0"
	# shellcheck disable=SC2086
	timeout 120 "$CHROME" $flags --dump-dom "file://$PAGE" >"$TMP/dom.html" 2>"$TMP/dom.err"
	check "chromium --dump-dom: exit 0" $? 0
	for id in trajectory candidates lineage categories roofline; do
		grep -q "<svg id=\"$id\"" "$TMP/dom.html" && ok "rendered DOM: chart $id" || not_ok "rendered DOM: chart $id" "$(tail -3 "$TMP/dom.err")"
	done
	check "rendered DOM: one point per candidate" "$(grep -o '<circle class="cand v-[a-z_]*[ a-z]*" cx' "$TMP/dom.html" | grep -vc legend)" "$n_cands"
	check "rendered DOM: the winner ringed once" "$(grep -o '<circle class="cand v-[a-z_]* winner"' "$TMP/dom.html" | grep -c .)" 1
	check "rendered DOM: one lineage node per ancestor" "$(grep -o '<g class="node[ a-z]*">' "$TMP/dom.html" | grep -c .)" "$n_nodes"
	check "rendered DOM: an edge per parent link" "$(grep -o '<line class="edge' "$TMP/dom.html" | grep -c .)" "$n_edges"
	check "rendered DOM: a best-so-far point per round" "$(grep -o 'class="best-point"' "$TMP/dom.html" | grep -c .)" "$n_rounds"
	check "rendered DOM: six categories" "$(grep -o 'class="bar-all cat-bar"' "$TMP/dom.html" | grep -c .)" 6
	grep -q 'class="best"' "$TMP/dom.html" && ok "rendered DOM: the trajectory line" || not_ok "rendered DOM: the trajectory line"
	grep -q 'class="ref-eager"' "$TMP/dom.html" && ok "rendered DOM: PyTorch eager's line" || not_ok "rendered DOM: PyTorch eager's line"
	grep -Eq 'class="(roof-winner|bar-ok roof-winner)"' "$TMP/dom.html" && ok "rendered DOM: the winner on the roofline" ||
		not_ok "rendered DOM: the winner on the roofline" "$(grep -o 'roofline not drawn[^<]*' "$TMP/dom.html")"
	cons=$(grep -Ei 'CONSOLE|Uncaught|Failed to load|Refused to' "$TMP/dom.err")
	[ -z "$cons" ] && ok "no console message" || not_ok "no console message" "$cons"
	# shellcheck disable=SC2086
	timeout 120 "$CHROME" $flags --hide-scrollbars --window-size=1000,3200 --screenshot="$B/artifacts/report.png" \
		"file://$PAGE" >/dev/null 2>"$TMP/shot.err"
	check "chromium --screenshot: exit 0" $? 0
	magic=$(head -c 8 "$B/artifacts/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
	size=$(stat -c %s "$B/artifacts/report.png" 2>/dev/null || echo 0)
	if [ "$magic" = 89504e470d0a1a0a ] && [ "$size" -gt 20000 ]; then
		ok "screenshot kept: $B/artifacts/report.png ($size bytes)"
	else
		not_ok "screenshot kept" "magic $magic, $size bytes: $(tail -3 "$TMP/shot.err")"
	fi
fi

# --- refused: exit 2, a clear message ------------------------------------------
refused() {
	local what=$1 msg=$2
	shift 2
	"$@" >/dev/null 2>"$TMP/err"
	local rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$msg" "$TMP/err"; then ok "refused: $what"; else not_ok "refused: $what" "rc $rc: $(cat "$TMP/err")"; fi
}
refused "no run" "report takes one run" $K report --db "$DB"
refused "a candidate" "takes a run, not a candidate" $K report c3 --db "$DB"
refused "a run that does not exist" "run 7" $K report 7 --db "$DB" --out "$TMP/x.html"
refused "--out on a directory" "is a directory" $K report 1 --db "$DB" --out "$TMP"
refused "a database that does not exist" "no database at" $K report 1 --db "$TMP/none.db" --out "$TMP/x.html"
[ ! -e "$TMP/none.db" ] && [ ! -e "$TMP/x.html" ] && ok "a refused report makes nothing" || not_ok "a refused report makes nothing"

# --- a dry run: nothing timed, still a page ----------------------------------------
$K -q run tests/data/search_gelu.py --dry-run --rounds 1 --ideas 2 --impls 2 --db "$TMP/dry.db" --out "$TMP/out-dry" >/dev/null 2>&1
$K report 1 --db "$TMP/dry.db" --out "$TMP/dry.html" >/dev/null 2>"$TMP/err"
check "report of a dry run: exit 0" $? 0
grep -q "no winner: nothing to trace" "$TMP/dry.html" && grep -q "roofline not drawn: no timed winner" "$TMP/dry.html" &&
	ok "a dry run's page says there is no winner" || not_ok "a dry run's page says there is no winner"
check "a dry run's page: every candidate on the untimed strip" "$(grep -o 'class="cand v-not_run"' "$TMP/dry.html" | grep -c .)" \
	"$(q "$TMP/dry.db" "SELECT count(*) FROM candidates")"

test_summary
