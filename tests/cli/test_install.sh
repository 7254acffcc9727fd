#!/usr/bin/env bash
# test_install.sh - kbreed installed by `make install PREFIX=...` into a
# temporary prefix, used from another directory: it finds its files in
# PREFIX/share/kbreed and its worker in PREFIX/libexec/kbreed (src/home.c),
# lists the templates and the suite, describes a problem through the real
# bridge (Python with torch on the CPU: $KBREED_PYTHON, default
# /usr/bin/python3), makes a dry run, and exports the winner of a run the
# fake worker judged (the export/ skeletons and the ABI header read from
# PREFIX/share/kbreed). A bare copy of the binary says where it looked and
# how to point it at its files (KBREED_HOME).
#
#   tests/cli/test_install.sh    (from anywhere; needs `make` and the fake
#                                 worker, <build>/tests/fake_worker, built)
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"

PY=${KBREED_PYTHON:-/usr/bin/python3}
case $PY in */fake_python.sh) PY=/usr/bin/python3 ;; esac
# Nothing of the checkout's may leak into the installed kbreed's search.
unset KBREED_HOME KBREED_WORKER KBREED_TEMPLATES KBREED_PLAYBOOK KBREED_DB KBREED_FAKE_GPU KBREED_FAKE_SEARCH
export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data KBREED_PYTHON=$PY

P=$TMP/prefix
san=
case $B in */build-asan) san=SANITIZE=1 ;; esac
# shellcheck disable=SC2086
make -C "$ROOT" --no-print-directory install PREFIX="$P" $san >"$TMP/install.log" 2>&1
check "make install PREFIX=...: exit 0" $? 0
K=$P/bin/kbreed
[ -x "$K" ] && [ -x "$P/libexec/kbreed/kbreed-worker" ] && ok "installed: bin/kbreed, libexec/kbreed/kbreed-worker" ||
	not_ok "installed: bin/kbreed, libexec/kbreed/kbreed-worker" "$(tail -5 "$TMP/install.log")"
missing=
for f in bridge/kbreed_bridge.py include/kbreed_candidate.h include/kbreed_worker_protocol.h playbook/ideas.json \
	playbook/prices.json prompts/ideas.md worker/worker.c docs/ABI.md docs/EXPORT.md export/model_new.py; do
	[ -f "$P/share/kbreed/$f" ] || missing="$missing $f"
done
for d in templates problems kernels/naive kernels/hacks prompts export; do
	n_src=$(cd "$ROOT/$d" && find . -type f ! -name '*.pyc' ! -path '*__pycache__*' | sort)
	n_dst=$(cd "$P/share/kbreed/$d" 2>/dev/null && find . -type f | sort)
	[ "$n_src" = "$n_dst" ] || missing="$missing $d/"
done
[ -z "$missing" ] && ok "share/kbreed holds the bridge, headers, playbook, prompts, templates, problems, kernels, export skeletons, worker source" ||
	not_ok "share/kbreed holds kbreed's files" "missing or different:$missing"
[ -z "$(find "$P" -name __pycache__ -o -name '*.pyc')" ] && ok "no Python caches installed" || not_ok "no Python caches installed"

# --- from another directory -------------------------------------------------
mkdir -p "$TMP/elsewhere"
cd "$TMP/elsewhere" || exit 1
"$K" template >"$TMP/tpl" 2>"$TMP/err"; check "installed: template: exit 0" $? 0
"$B/kbreed" template >"$TMP/tpl.checkout" 2>/dev/null
[ -s "$TMP/tpl" ] && cmp -s "$TMP/tpl" "$TMP/tpl.checkout" && ok "installed: template lists what the checkout's lists ($(grep -c '^[a-z]' "$TMP/tpl") templates)" ||
	not_ok "installed: template lists what the checkout's lists" "$(head -3 "$TMP/tpl" "$TMP/err")"
[ ! -s "$TMP/err" ] && ok "installed: no warning about its files" || not_ok "installed: no warning about its files" "$(cat "$TMP/err")"
"$K" template gelu_vec VEC=2 >"$TMP/real" 2>"$TMP/err"; check "installed: template realised: exit 0" $? 0
grep -q "kbreed_forward" "$TMP/real" && ok "installed: the realised template is a candidate" || not_ok "installed: the realised template is a candidate" "$(cat "$TMP/err")"

"$K" problems --json >"$TMP/problems.json" 2>"$TMP/err"; check "installed: problems (real bridge): exit 0" $? 0
want=$(ls "$P/share/kbreed/problems/"*.py | wc -l)
got=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/problems.json" 2>&1)
check "installed: problems describes every installed problem" "$got" "$want"

"$K" describe gelu >"$TMP/out" 2>"$TMP/err"; check "installed: describe gelu: exit 0" $? 0
grep -q "^problem   gelu ($P/share/kbreed/problems/gelu.py)" "$TMP/out" && ok "installed: describe reads the installed problem" ||
	not_ok "installed: describe reads the installed problem" "$(head -2 "$TMP/out" "$TMP/err")"

KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh "$K" -q run gelu --dry-run --rounds 1 --ideas 2 --impls 1 >"$TMP/out" 2>"$TMP/err"
check "installed: dry run from another directory: exit 0" $? 0
[ -s "$TMP/elsewhere/kbreed-out/gelu-run1/summary.md" ] && ok "installed: the dry run's summary is written under the working directory" ||
	not_ok "installed: the dry run's summary" "$(cat "$TMP/out" "$TMP/err")"
n=$(sqlite3 "$XDG_DATA_HOME/kbreed/kbreed.db" "SELECT count(DISTINCT round) || ' ' || (count(*) > 1) FROM candidates" 2>&1)
check "installed: the dry run is stored in the data directory (rounds 0 and 1)" "$n" "2 1"

# A run judged by the fake worker, then its winner exported, both by the
# installed kbreed from another directory: export reads its skeletons and
# the ABI header from share/kbreed, and writes what the checkout's writes;
# report and show read the run back.
if [ -x "$B/tests/fake_worker" ]; then
	cp "$ROOT/tests/data/tiny_gelu.py" "$TMP/elsewhere/mine.py"
	KBREED_WORKER=$B/tests/fake_worker KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh KBREED_FAKE_PYTHON_REAL=$PY \
		KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh KBREED_FAKE_GPU=1 KBREED_FAKE_SEARCH=1 \
		"$K" -q run mine.py --rounds 1 --ideas 2 --impls 1 --reps 20 --db "$TMP/judged.db" >"$TMP/out" 2>"$TMP/err"
	check "installed: a run judged by the fake worker: exit 0" $? 0
	w=$(sqlite3 "$TMP/judged.db" "SELECT winner FROM runs WHERE id=1" 2>&1)
	"$K" export 1 --db "$TMP/judged.db" >"$TMP/out" 2>"$TMP/err"
	check "installed: export of its winner from another directory: exit 0" $? 0
	d=$TMP/elsewhere/kbreed-out/mine-run1/export-c$w
	missing=
	for f in kernel.cu kbreed_candidate.h model_new.py README.md op/setup.py op/csrc/launch.cpp; do
		[ -s "$d/$f" ] || missing="$missing $f"
	done
	[ -z "$missing" ] && "$PY" -m py_compile "$d/model_new.py" "$d/op/setup.py" 2>"$TMP/err" &&
		ok "installed: the export's files are written and its Python parses" ||
		not_ok "installed: the export's files are written and its Python parses" "missing:$missing $(cat "$TMP/out" "$TMP/err")"
	"$B/kbreed" export 1 --db "$TMP/judged.db" --out "$TMP/export-checkout" >/dev/null 2>&1
	diff -r -x __pycache__ "$d" "$TMP/export-checkout" >"$TMP/diff" 2>&1 && ok "installed: the export is the checkout's, file for file" ||
		not_ok "installed: the export is the checkout's, file for file" "$(head -20 "$TMP/diff")"
	"$K" report 1 --db "$TMP/judged.db" >"$TMP/out" 2>"$TMP/err" && [ -s "$TMP/elsewhere/kbreed-out/mine-run1/report.html" ] &&
		ok "installed: report of the run from another directory" ||
		not_ok "installed: report of the run from another directory" "$(cat "$TMP/out" "$TMP/err")"
	"$K" show 1 --db "$TMP/judged.db" >"$TMP/out" 2>"$TMP/err" && grep -q "^\*" "$TMP/out" &&
		ok "installed: show of the run, its winner marked" || not_ok "installed: show of the run, its winner marked" "$(cat "$TMP/out" "$TMP/err")"
else
	not_ok "installed: export (needs $B/tests/fake_worker: make test builds it)"
fi

# The worker is the installed one: it starts, and says there is no GPU
# (or, on a machine with one, judges).
"$K" eval gelu "$P/share/kbreed/kernels/naive/gelu.cu" >/dev/null 2>"$TMP/err"
rc=$?
{ [ $rc -eq 0 ] || grep -q "no CUDA device" "$TMP/err"; } && ! grep -q "cannot run" "$TMP/err" &&
	ok "installed: the worker in libexec/kbreed starts (eval: exit $rc)" ||
	not_ok "installed: the worker in libexec/kbreed starts" "$(cat "$TMP/err")"

# --- KBREED_HOME overrides the installed files --------------------------------
KBREED_HOME=$ROOT "$K" describe gelu >"$TMP/out" 2>"$TMP/err"
grep -q "^problem   gelu ($ROOT/problems/gelu.py)" "$TMP/out" && ok "KBREED_HOME overrides the installed files" ||
	not_ok "KBREED_HOME overrides the installed files" "$(head -2 "$TMP/out" "$TMP/err")"

# --- a bare copy of the binary ---------------------------------------------
mkdir -p "$TMP/bare"
cp "$B/kbreed" "$TMP/bare/kbreed"
"$TMP/bare/kbreed" template >"$TMP/out" 2>"$TMP/err"; check "bare copy: template: exit 2" $? 2
grep -q "KBREED_HOME" "$TMP/err" && grep -q "no templates directory" "$TMP/err" && ok "bare copy: says where it looked and names KBREED_HOME" ||
	not_ok "bare copy: says where it looked and names KBREED_HOME" "$(cat "$TMP/err")"
KBREED_HOME=$P/share/kbreed "$TMP/bare/kbreed" template >"$TMP/out" 2>"$TMP/err"
check "bare copy with KBREED_HOME: template: exit 0" $? 0
cmp -s "$TMP/out" "$TMP/tpl.checkout" && ok "bare copy with KBREED_HOME: the templates listed" || not_ok "bare copy with KBREED_HOME: the templates listed" "$(cat "$TMP/err")"
KBREED_HOME=$P/share/kbreed "$TMP/bare/kbreed" eval gelu "$P/share/kbreed/kernels/naive/gelu.cu" >/dev/null 2>"$TMP/err"
grep -q "cannot run $TMP/bare/kbreed-worker" "$TMP/err" && ok "bare copy: the missing worker is named" ||
	not_ok "bare copy: the missing worker is named" "$(cat "$TMP/err")"

cd "$ROOT" || exit 1
make -C "$ROOT" --no-print-directory uninstall PREFIX="$P" $san >/dev/null 2>&1
[ ! -e "$K" ] && [ ! -e "$P/share/kbreed" ] && [ ! -e "$P/libexec/kbreed" ] && ok "make uninstall removes what install made" ||
	not_ok "make uninstall removes what install made"

test_summary
