#!/bin/sh
# tests/gpu/run.sh - the checks that need an NVIDIA GPU (`make test-gpu`).
#
# 1. Each of the ten naive kernels is judged correct on its suite problem,
#    on the plain input sets and the stressed ones (docs/EVALUATION.md).
# 2. Deliberately bad kernels (kernels/bad/, each naming its expected class on
#    its first line) get that class, judged in one session with a correct
#    kernel after each, which must still come out correct: a bad candidate
#    never spoils the next evaluation.
# 3. Every template at its knob extremes on odd shapes; 4. reward hacks.
# 5. --gpus on this host: asked for all, one GPU runs as kbreed always ran
#    (same candidates under --seed, no device recorded); with several GPUs,
#    a run judges on every one of the first's model (docs/SCALE.md).
# 6. Exports: the winner of a short run of a memory-bound problem, a GEMM and
#    attention, exported (kbreed export), imported in PyTorch, checked
#    against Model on fresh inputs and timed interleaved with it: each must
#    keep 95% of the speed-up over eager the run judged (tests/gpu/check_export.py).
# 7. Python solutions (KernelBench's class ModelNew, kernels/python/, each
#    naming its expected class on its first line) judged by the Python
#    worker on a GELU ($GELU below), each followed by a correct one in plain
#    torch ops, which must stay correct; then, when section 6 ran, the
#    exported model_new.py of its gelu winner, which must be correct too.
# 8. Adaptive timing in the real worker: eval under a forced tiny cutoff stops
#    after 5 timed calls, correct and checked in full; --adaptive off times
#    every call; a short run stores its early stops and its winner fully
#    timed, and its summary states the idle share. The references make their
#    inputs on the GPU, and on the CPU (said) where get_inputs() cannot.
# 9. Checking on the GPU (--compare gpu, the default, asked for so that a
#    fallback is said): the hacks of section 4 (which checks from files),
#    judged with the comparer holding the references on the GPU.
# Results (JSON from `kbreed eval --json`) go to $KBREED_RESULTS (default
# build/gpu-results). Ends with "N passed, M failed".
# KBREED_GPU_PREPARE=sm_90a (with section 3 alone) only compiles section 3's
# candidates for that arch into $KBREED_CACHE, on any machine with nvcc: a
# cache to carry to the GPU machine, whose device time then goes to judging.
set -u
cd "$(dirname "$0")/../.."
K=build/kbreed
RESULTS=${KBREED_RESULTS:-build/gpu-results}
mkdir -p "$RESULTS"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; }

if [ ! -x "$K" ] || [ ! -x build/kbreed-worker ]; then
	echo "build/kbreed and build/kbreed-worker are needed: run make first" >&2
	exit 2
fi

# The GELU of the checks of behaviour (hacks, --gpus, exports, Python
# solutions, adaptive timing): 64 MB a tensor rather than the suite's 1 GB,
# whose reference data takes minutes to make. KBREED_GPU_GELU names another.
GELU=${KBREED_GPU_GELU:-tests/data/mid_gelu.py}

# KBREED_GPU_SECTIONS picks sections (default "1 2 3 4 5 6 7 8 9").
SECTIONS=${KBREED_GPU_SECTIONS:-1 2 3 4 5 6 7 8 9}
section() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

verdicts() { grep -o '"verdict": "[a-z_]*"' "$1" | sed 's/.*: "\(.*\)"/\1/'; }

# expect FILE PREFIX SUFFIX: each of $list's kernels got its class in
# $expected (FILE: the results of one `kbreed eval --json` of $list, in
# order); a "not ok" is followed by the result's detail and the end of its
# log, as comment lines (the JSON stays on the GPU machine).
expect() {
	_got=$(verdicts "$1" | tr '\n' ' ')
	_k=0
	# shellcheck disable=SC2086
	set -- "$1" "$2" "$3" $list
	_file=$1 _pre=$2 _suf=$3
	shift 3
	for _want in $expected; do
		_g=$(echo "$_got" | cut -d' ' -f1)
		_got=$(echo "$_got" | cut -d' ' -f2-)
		if [ "$_g" = "$_want" ]; then
			ok "$_pre$1$_suf: $_g"
		else
			not_ok "$_pre$1$_suf: got '$_g', want '$_want'"
			python3 - "$_file" "$_k" <<'PY' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
r = (d.get("results", [d]) if isinstance(d, dict) else d)[int(sys.argv[2])]
print("#   detail: " + " ".join((r.get("detail") or "-").split())[:600])
for line in (r.get("log") or "").splitlines()[-12:]:
    print("#   log: " + line[:300])
PY
		fi
		_k=$((_k + 1))
		shift
	done
}

if section 2; then
# 2 first: it is quick, and says early whether the worker works at all.
list=""
expected=""
for k in kernels/bad/*.cu; do
	[ "$k" = kernels/bad/good_gelu.cu ] && continue
	want=$(sed -n '1s|^// expect: \([a-z_]*\).*|\1|p' "$k")
	list="$list $k kernels/bad/good_gelu.cu"
	expected="$expected $want correct"
done
# shellcheck disable=SC2086
$K eval --json --timeout 20 --no-baseline tests/data/tiny_gelu.py $list >"$RESULTS/bad.json" 2>"$RESULTS/bad.log"
expect "$RESULTS/bad.json" "" ""

fi

if section 1; then
for p in layernorm softmax rmsnorm gelu cumsum matmul_fp32 matmul_fp16 conv2d conv2d_relu_maxpool attention_fp16; do
	$K eval --json "$p" "kernels/naive/$p.cu" >"$RESULTS/naive-$p.json" 2>"$RESULTS/naive-$p.log"
	g=$(verdicts "$RESULTS/naive-$p.json")
	if [ "$g" = correct ] && ! grep -q '"detail": "correct on 5 input sets, [0-9] stressed set' "$RESULTS/naive-$p.json"; then
		not_ok "naive $p: correct, but judged on no stressed set"
		sed -n 's/^  "detail": //p' "$RESULTS/naive-$p.json"
	elif [ "$g" = correct ]; then
		ok "naive $p: correct, stressed sets included"
	else
		not_ok "naive $p: got '$g'"
		sed -n 's/^  "detail": //p' "$RESULTS/naive-$p.json"
		tail -5 "$RESULTS/naive-$p.log"
	fi
done

fi

# 3. Every playbook template, at its defaults and at each knob's lowest and
#    highest value (every value of PRECISION), and at the settings of its
#    "// check:" header lines, is correct on every odd-shaped problem of an op it serves
#    (tests/data/odd_<op>*.py: sizes that are multiples of nothing), realised
#    with that file's KBREED_DEFINES (`kbreed template --for`). A template
#    serving `*` (pointwise_vec) runs on every odd problem `template --for`
#    accepts: those whose graph recognition wrote as KB_PW_BODY.
if section 3; then
T=build/gpu-templates
rm -rf "$T"
mkdir -p "$T"
$K template | awk '
	/^[a-z]/ { name = $1; ops = $0; sub(/.*serves /, "", ops); sub(/\)$/, "", ops)
		print "T " name " " ops; next }
	/^  [A-Z]/ { vals = $0; sub(/^[^[]*\[/, "", vals); sub(/\].*/, "", vals); gsub(/[*~]/, "", vals)
	  n = split(vals, v, " "); print "K " $1 " " v[1] " " v[n]
	  # PRECISION changes the arithmetic: every value, not only the ends
	  if ($1 == "PRECISION") for (i = 2; i < n; i++) print "K " $1 " " v[i] " " v[i] }' >"$T/list"
# Each template's "// check: KNOB=V..." header lines, as "NAME I SETTINGS":
# settings whose knobs act only together (conv_igemm's OVERLAP needs WGMMA=1).
awk 'FNR == 1 { name = "" } /^\/\/ kbreed-template: / { name = $3; n = 0 }
	/^\/\/ check: / && name != "" { sub(/^\/\/ check: /, ""); print name, ++n, $0 }' templates/*/*.cu >"$T/checks"
# KBREED_GPU_ODD narrows the odd problems (a glob; default all), e.g.
# "tests/data/odd_conv*.py" for conv_igemm on every kind of convolution it serves.
for odd in ${KBREED_GPU_ODD:-tests/data/odd_*.py}; do
	# The op the file declares, or the one recognition names (odd_cumprod).
	op=$($K -q describe "$odd" 2>/dev/null | sed -n 's/^family .*, op \([a-z_0-9]*\) (.*/\1/p')
	[ -n "$op" ] || continue
	name=$(basename "$odd" .py)
	mkdir -p "$T/$name"
	serves=0
	while read -r kind a b c; do
		if [ "$kind" = T ]; then
			tname=$a
			serves=0
			if [ "$b" = "*" ]; then
				# problems: * (the pointwise template): served when
				# `template --for` accepts the problem's defines.
				$K -q template "$tname" --for "$odd" >"$T/$name/$tname--default.cu" 2>/dev/null &&
					serves=1 || rm -f "$T/$name/$tname--default.cu"
			else
				for o in $b $c; do [ "$o" = "$op" ] && serves=1; done
				# A template whose requires line the problem's defines
				# miss (softmax_cluster on a strided softmax) does not
				# serve it either.
				if [ $serves = 1 ] && ! $K -q template "$tname" --for "$odd" \
					>"$T/$name/$tname--default.cu" 2>"$T/$name/$tname.err"; then
					serves=0
					rm -f "$T/$name/$tname--default.cu"
					grep -q "its requires line is" "$T/$name/$tname.err" ||
						not_ok "$tname on $odd: not realised ($(head -1 "$T/$name/$tname.err"))"
				fi
				rm -f "$T/$name/$tname.err"
			fi
		elif [ $serves = 1 ]; then
			$K template "$tname" "$a=$b" --for "$odd" >"$T/$name/$tname--$a-$b.cu"
			$K template "$tname" "$a=$c" --for "$odd" >"$T/$name/$tname--$a-$c.cu"
		fi
	done <"$T/list"
	# And each served template's check lines (see $T/checks).
	while read -r tname i settings; do
		[ -e "$T/$name/$tname--default.cu" ] || continue
		# shellcheck disable=SC2086
		$K -q template "$tname" $settings --for "$odd" >"$T/$name/$tname--check$i.cu" ||
			not_ok "$tname on $odd: check line $i ($settings) not realised"
	done <"$T/checks"
	# PRECISION=1 realisations (single TF32 for fp32 data) are meant to pass
	# only the loose crfm tolerance, the rest the strict one. One session
	# judges them all under crfm (so every input set is checked for every
	# candidate), and both profiles' results are read from its JSON.
	set -- "$T/$name"/*.cu
	[ -e "$1" ] || continue
	if [ -n "${KBREED_GPU_PREPARE:-}" ]; then
		# Compile only, for the GPU's arch, into $KBREED_CACHE: a cache
		# built on a machine without a GPU, carried to one with it.
		echo "# $(date -u +%H:%M:%S) compiling for $KBREED_GPU_PREPARE: $odd, $# candidates"
		$K -q compile --arch "$KBREED_GPU_PREPARE" "$@" >"$T/$name/compiled" ||
			echo "# some of them did not compile (the GPU run will say which)"
		# And each takes the problem's shapes (tests/unit/shape_probe.c).
		# (Those of a template the file names in KBREED_TEST_REFUSED must not.)
		spec=$($K -q describe --json "$odd" | python3 tests/bridge/shape_spec.py)
		refused=" $(sed -n 's/^KBREED_TEST_REFUSED = "\(.*\)"/\1/p' "$odd") "
		grep ': ok' "$T/$name/compiled" | awk '{ print $1, $NF }' | while read -r src so; do
			t=$(basename "${src%:}" .cu)
			want=0
			case "$refused" in *" ${t%%--*} "*) want=1 ;; esac
			case $t in *--PRECISION-1) want=0 ;; esac
			# shellcheck disable=SC2086
			build/tests/shape_probe "$so" $spec >/dev/null 2>&1
			got=$?
			[ "$got" = "$want" ] || [ "$got" -gt 1 ] ||
				echo "not ok - $t on $odd ($spec): shape_probe says $got, not $want (1: refused)"
		done
		continue
	fi
	echo "# $(date -u +%H:%M:%S) templates on $odd: $# candidates"
	$K eval --json --no-baseline --reps 20 --timeout 20 --tolerance crfm "$odd" "$@" \
		>"$RESULTS/templates-$name.json" 2>"$RESULTS/templates-$name.log"
	# KBREED_TEST_REFUSED in the file names templates whose strict
	# realisations must refuse it (beyond their accurate range).
	refused=$(sed -n 's/^KBREED_TEST_REFUSED = "\(.*\)"/\1/p' "$odd")
	python3 tests/gpu/section3_verdicts.py "$RESULTS/templates-$name.json" "$odd" "$refused" "$@" \
		>"$T/$name/verdicts"
	while read -r res what; do
		if [ "$res" = ok ]; then ok "$what"; else not_ok "$what"; fi
	done <"$T/$name/verdicts"
done
fi

# The reward hacks of sections 4 and 9 (kernels/hacks/, expected class on
# the first line of each; clamps_input apart), each followed by the naive
# GELU, which must stay correct: into $list and $expected.
hacks() {
	list=""
	expected=""
	for k in kernels/hacks/*.cu; do
		[ "$k" = kernels/hacks/clamps_input.cu ] && continue
		want=$(sed -n '1s|^// expect: \([a-z_]*\).*|\1|p' "$k")
		list="$list $k kernels/naive/gelu.cu"
		expected="$expected $want correct"
	done
}

if section 4; then
# 4. Reward hacks, checked from files (--compare files; section 9 checks
#    them on the GPU), three input sets (the fewest that still show results
#    cached by content), on $GELU. The naive kernel after each must still
#    come out correct.
hacks
# Without the stressed sets (they would double 1 GB sets of reference data
# for hacks that the plain sets catch); clamps_input, which only a stressed
# set catches, is judged with them below.
echo "# $(date -u +%H:%M:%S) reward hacks: $(echo $list | wc -w) kernels"
# shellcheck disable=SC2086
$K eval --json --compare files --timeout 60 --sets 3 --stress off --no-baseline "$GELU" $list >"$RESULTS/hacks.json" 2>"$RESULTS/hacks.log"
expect "$RESULTS/hacks.json" "" ""
# The kernel right only on torch.randn's range is caught by a stressed set,
# and the detail names the kind: scale_up or shift, the sets past its clamp
# (from files the sets are compared in order, scale_up first; on the GPU in
# the order the worker first sees them).
$K eval --json --timeout 60 --sets 3 --no-baseline "$GELU" kernels/hacks/clamps_input.cu kernels/naive/gelu.cu \
	>"$RESULTS/clamps.json" 2>"$RESULTS/clamps.log"
got=$(verdicts "$RESULTS/clamps.json" | tr '\n' ' ')
[ "$got" = "incorrect correct " ] && ok "kernels/hacks/clamps_input.cu: incorrect, and the naive kernel after it correct" ||
	not_ok "kernels/hacks/clamps_input.cu: got '$got', want 'incorrect correct'"
if grep -q '"detail": "stressed set \(scale_up\|shift\): ' "$RESULTS/clamps.json"; then
	ok "kernels/hacks/clamps_input.cu: caught by a stressed set past its clamp (scale_up or shift)"
else
	not_ok "kernels/hacks/clamps_input.cu: no detail starts with the stressed set scale_up or shift"
fi

fi

if section 5; then
# 5. --gpus. A short search twice (a GELU of 64 MB), without --gpus and with
#    --gpus all, from the same seed and without the bank: the same candidates. On one GPU,
#    nothing names a device; on several, both runs judge on all of them.
db=$RESULTS/gpus.db
rm -f "$db" "$db-wal" "$db-shm"
# Queries through Python's sqlite3: the GPU machine may lack the sqlite3 program.
PY=${KBREED_PYTHON:-python3}
sq() { "$PY" -c 'import sqlite3, sys; r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0]; print("" if r is None else r)' "$db" "$1"; }
trail() { sq "SELECT group_concat(round || ':' || template || '[' || knobs || ']', ' ') FROM (SELECT * FROM candidates WHERE run = $1 ORDER BY id)"; }
n_gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
for g in "" "--gpus all"; do
	# shellcheck disable=SC2086
	$K -q run tests/data/mid_gelu.py --rounds 1 --ideas 3 --impls 2 --seed 5 --no-bank --db "$db" --out "$RESULTS/gpus-out" $g \
		>>"$RESULTS/gpus.log" 2>&1 && ok "run gelu ${g:-(no --gpus)}" || not_ok "run gelu ${g:-(no --gpus)}: see $RESULTS/gpus.log"
done
if [ "$(trail 1)" = "$(trail 2)" ] && [ -n "$(trail 1)" ]; then ok "--gpus all: the same candidates as without"; else not_ok "--gpus all: candidates differ: '$(trail 1)' vs '$(trail 2)'"; fi
devices=$(sq "SELECT count(DISTINCT device) FROM evaluations WHERE device IS NOT NULL")
if [ "$n_gpus" -le 1 ] && [ "$devices" = 0 ]; then ok "one GPU: no device recorded";
elif [ "$n_gpus" -gt 1 ] && [ "$devices" -gt 1 ]; then ok "$n_gpus GPUs: candidates judged on $devices of them";
else not_ok "GPUs $n_gpus, devices recorded $devices"; fi
$K -q run tests/data/mid_gelu.py --gpus "$n_gpus" --db "$db" >/dev/null 2>&1
if [ $? -eq 2 ]; then ok "--gpus $n_gpus (one past the last): refused"; else not_ok "--gpus $n_gpus: not refused"; fi
fi

if section 6; then
# 6. Exports in PyTorch. A short run of each (one round, at most
#    KBREED_GPU_EXPORT_MINUTES, 3 by default; KBREED_GPU_EXPORT names other
#    problems, by name or file), its winner exported, then tests/gpu/check_export.py:
#    model_new.py built with load_inline and op/ built with its setup.py, each
#    correct against Model (in higher precision) on fresh inputs, op/ also
#    under torch.compile(fullgraph=True); then all timed in one process,
#    interleaved with Model after a warm-up, and each must keep >= 95% of the
#    speed-up the run judged (final_eager_ms / final_ms of its runs row).
#    PYTHON: $KBREED_PYTHON, else python3.
PY=${KBREED_PYTHON:-python3}
DB=$RESULTS/export.db
rm -f "$DB" "$DB-wal" "$DB-shm"
for p in ${KBREED_GPU_EXPORT:-$GELU matmul_fp16 attention_fp16}; do
	out=$RESULTS/export-$(basename "$p" .py)
	rm -rf "$out"
	echo "# $(date -u +%H:%M:%S) export: a short run of $p"
	if ! $K -q run "$p" --rounds 1 --ideas 2 --impls 2 --max-minutes "${KBREED_GPU_EXPORT_MINUTES:-3}" --no-bank \
		--db "$DB" --out "$out/run" >"$out.log" 2>&1; then
		not_ok "export $p: the short run found no winner"
		tail -5 "$out.log"
		continue
	fi
	run=$("$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT max(id) FROM runs").fetchone()[0])' "$DB")
	# The winner and eager, as the run's final re-timing measured them.
	read -r judged eager <<EOF
$("$PY" -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute("SELECT final_ms, final_eager_ms FROM runs WHERE id=?", (int(sys.argv[2]),)).fetchone())' "$DB" "$run")
EOF
	if ! $K export "$run" --db "$DB" --out "$out/export" >>"$out.log" 2>&1; then
		not_ok "export $p: kbreed export $run"
		tail -5 "$out.log"
		continue
	fi
	ok "export $p: run $run exported (winner judged at $judged ms, eager at $eager ms)"
	$K report "$run" --db "$DB" --out "$out/report.html" >>"$out.log" 2>&1 && ok "export $p: report written" ||
		not_ok "export $p: report written"
	"$PY" tests/gpu/check_export.py "$out/export" "$judged" "$eager" >"$out.check" 2>"$out.check.err"
	rc=$?
	while read -r line; do
		case "$line" in
		"ok - "*) ok "export $p: ${line#ok - }" ;;
		"not ok - "*) not_ok "export $p: ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$out.check"
	[ $rc -eq 0 ] || [ -s "$out.check" ] || { not_ok "export $p: check_export.py failed"; tail -20 "$out.check.err"; }
done

fi

if section 7; then
# 7. Python solutions (KBREED_GPU_PYTHON names some of kernels/python/).
#    load_inline builds in each solution's own directory,
#    so the two that use it compile once each (a minute or so). The solutions
#    run under $KBREED_PYTHON's torch, which must have CUDA.
list=""
expected=""
for k in ${KBREED_GPU_PYTHON:-kernels/python/*.py}; do
	[ "$k" = kernels/python/gelu_torch.py ] && continue
	want=$(sed -n '1s|^# expect: \([a-z_]*\).*|\1|p' "$k")
	list="$list $k kernels/python/gelu_torch.py"
	expected="$expected $want correct"
done
# The exported GELU, from section 6 (whichever GELU problem it ran): the
# exported kernel serves any size.
exported=$(ls "$RESULTS"/export-*gelu/export/model_new.py 2>/dev/null | head -1)
if [ -n "$exported" ]; then
	list="$list $exported"
	expected="$expected correct"
fi
echo "# $(date -u +%H:%M:%S) python solutions: $(echo $list | wc -w)"
# shellcheck disable=SC2086
$K eval --json --timeout 60 --sets 3 --no-baseline "$GELU" $list >"$RESULTS/python.json" 2>"$RESULTS/python.log"
expect "$RESULTS/python.json" "python " ""
sed -n 's/^  "detail": /# /p' "$RESULTS/python.json"
fi

if section 8; then
# 8. Adaptive timing (docs/EVALUATION.md): the real worker honours a cutoff.
#    KBREED_EARLY_CUTOFF_MS forces one far below any kernel's time.
PY=${KBREED_PYTHON:-python3}
jget() { "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }
KBREED_EARLY_CUTOFF_MS=0.0001 $K eval --json --adaptive on --reps 30 "$GELU" kernels/naive/gelu.cu \
	>"$RESULTS/adaptive-on.json" 2>"$RESULTS/adaptive-on.log"
got=$(jget "$RESULTS/adaptive-on.json" "(d['verdict'], d['time']['reps'], d['time']['early'], d['correctness']['strict']['pass'])")
if [ "$got" = "('correct', 5, True, True)" ]; then ok "adaptive: a tiny cutoff stops naive gelu after 5 timed calls, correct"
else not_ok "adaptive: tiny cutoff: got $got (want correct, 5 calls, early, strict pass)"; tail -5 "$RESULTS/adaptive-on.log"; fi
KBREED_EARLY_CUTOFF_MS=0.0001 $K eval --json --adaptive off --reps 30 "$GELU" kernels/naive/gelu.cu \
	>"$RESULTS/adaptive-off.json" 2>"$RESULTS/adaptive-off.log"
got=$(jget "$RESULTS/adaptive-off.json" "(d['verdict'], d['time']['reps'], d['time']['early'])")
if [ "$got" = "('correct', 30, False)" ]; then ok "adaptive off: every one of 30 timed calls"
else not_ok "adaptive off: got $got (want correct, 30 calls, not early)"; fi
# A short run: what stopped early is stored so, the winner was timed in full
# (and re-timed without a cutoff), and the summary says where idle time went.
db=$RESULTS/adaptive.db
rm -f "$db" "$db-wal" "$db-shm"
if $K -q run softmax --rounds 1 --ideas 4 --impls 2 --no-bank --db "$db" --out "$RESULTS/adaptive-run" \
	>"$RESULTS/adaptive-run.log" 2>&1; then
	ok "adaptive: a short run of softmax"
	sq() { "$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$db" "$1"; }
	early=$(sq "SELECT count(*) FROM evaluations WHERE early = 1")
	bad=$(sq "SELECT count(*) FROM evaluations WHERE early = 1 AND NOT (reps = 5 AND median_ms > cutoff_ms)")
	full=$(sq "SELECT count(*) FROM evaluations WHERE early = 0 AND verdict = 'correct' AND reps != 30")
	# The winner is fully timed unless nothing was (it is re-timed in full then).
	wearly=$(sq "SELECT count(*) FROM runs r JOIN evaluations e ON e.candidate = r.winner WHERE e.early = 1 AND EXISTS (SELECT 1 FROM evaluations f WHERE f.early = 0 AND f.verdict = 'correct')")
	echo "# adaptive run: $early of $(sq "SELECT count(*) FROM evaluations") evaluations stopped early"
	if [ "$bad" = 0 ] && [ "$full" = 0 ]; then ok "adaptive run: early stops after 5 calls above their cutoff, the rest 30 calls"
	else not_ok "adaptive run: $bad early rows off, $full full rows with other reps"; fi
	if [ "$wearly" = 0 ] && [ "$(sq "SELECT final_ms > 0 FROM runs")" = 1 ]; then ok "adaptive run: the winner timed in full, and re-timed"
	else not_ok "adaptive run: an early winner though a fully timed kernel exists, or no re-timing"; fi
	grep "GPU busy" "$RESULTS/adaptive-run/summary.md"
	grep -q "idle share" "$RESULTS/adaptive-run/summary.md" && ok "adaptive run: the summary states the idle share" ||
		not_ok "adaptive run: no idle share in the summary"
else
	not_ok "adaptive: the short run of softmax failed"
	tail -5 "$RESULTS/adaptive-run.log"
fi
# The references make each set's inputs on the GPU (get_inputs() with the
# GPU as torch's default device), and fall back to the CPU, said once, for
# a get_inputs() that cannot run there (numpy_gelu.py: .numpy() of a GPU
# tensor). A cache of their own, so that the references are made here.
for f in "$GELU" tests/data/numpy_gelu.py; do
	name=$(basename "$f" .py)
	KBREED_CACHE=$RESULTS/inputs-cache-$name $K -v eval --json --sets 1 --stress off --no-baseline "$f" \
		kernels/naive/gelu.cu >"$RESULTS/inputs-$name.json" 2>"$RESULTS/inputs-$name.log"
	verdict=$(jget "$RESULTS/inputs-$name.json" "d['verdict']")
	on_gpu=$(grep -c "reference $name: device cuda" "$RESULTS/inputs-$name.log")
	fell=$(grep -c "get_inputs() on cuda.* raised" "$RESULTS/inputs-$name.log")
	want_fell=0
	[ "$name" = numpy_gelu ] && want_fell=1
	if [ "$verdict" = correct ] && [ "$on_gpu" -ge 1 ] && [ "$fell" = "$want_fell" ]; then
		ok "references of $name: made on cuda, inputs fell back to the CPU $fell time(s), judged correct"
	else
		not_ok "references of $name: verdict $verdict, 'device cuda' $on_gpu line(s), CPU fallback said $fell time(s) (want $want_fell)"
		grep -m3 "reference\|get_inputs" "$RESULTS/inputs-$name.log"
	fi
done
fi

if section 9; then
# 9. Checking on the GPU (--compare gpu, the default; docs/EVALUATION.md):
#    the hacks of section 4 again, the comparer holding the references.
#    The same verdicts, the comparer really used (no fallback to files), and
#    reads_comparer.cu, which tries the comparer's /proc entries (mem, maps,
#    fd/) and CUDA IPC handles guessed from its own output buffer's, finds no
#    way in: any way that opens makes it fail as runtime_error instead of the
#    incorrect it expects.
hacks
echo "# $(date -u +%H:%M:%S) reward hacks, checked on the GPU"
# shellcheck disable=SC2086
$K eval --json --compare gpu --timeout 60 --sets 3 --stress off --no-baseline "$GELU" $list \
	>"$RESULTS/hacks-gpu.json" 2>"$RESULTS/hacks-gpu.log"
expect "$RESULTS/hacks-gpu.json" "" ", checked on the GPU"
if grep -q "checking on the GPU is off" "$RESULTS/hacks-gpu.log"; then
	not_ok "--compare gpu fell back to files: $(grep -m1 'checking on the GPU is off' "$RESULTS/hacks-gpu.log")"
else
	ok "--compare gpu: every hack checked by the comparer"
fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
