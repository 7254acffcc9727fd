# tests/bridge/template_lib.sh - what the template shell tests (test_pointwise,
# test_scan, test_reduce, test_loss, test_pool, test_matmul, test_matvec,
# test_dwconv, test_dwsep, test_conv, test_frobenius, test_norms,
# test_softmax, test_conv_pointwise, test_attention, test_headers) share; sourced from the
# checkout's root, with the test's PYTHON as $1. Sets root, B and K (the
# build under test), bench (KernelBench), passed/failed with ok and not_ok,
# and tmp (removed at exit), where KBREED_CACHE lives, with $tmp/p for the
# problems and $tmp/src for the realisations. The functions below, in the
# order a test uses them:
#   level1_copies NAME...      scaled-down copies of level-1 problems
#   describe FILE              its description in $tmp/NAME.desc
#   realise TEMPLATE FILE TAG [KNOB=V...]  a realisation in $tmp/src
#   want, want_op, lacks       a description's op and defines
#   compile_realisations       nvcc on $tmp/src, then probe_shapes
#   refused TEMPLATE FILE      `template --for` refuses FILE
#   round0_holds               what a dry run's round 0 proposes (on sm_90a, or --arch)
#   fake_gpu_run, fake_gpu_proposes, run_sql, run_has_no_idea
#                              a search on the fake GPU and what it proposed
root=$(pwd)
case ${KBREED_BUILD:-build} in
/*) B=$KBREED_BUILD ;;
*) B=$root/${KBREED_BUILD:-build} ;;
esac
K="$B/kbreed"
export KBREED_PYTHON="${1:-${KBREED_PYTHON:-/usr/bin/python3}}"
bench="${KBREED_KERNELBENCH:-$root/../shared/kernelbench}"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && echo "$2" | head -20 | sed 's/^/  /'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KBREED_CACHE="$tmp/cache" XDG_CACHE_HOME="$tmp/cache"
# The bridge's descriptions are shared with the other build's run (make test,
# then test-asan): it finds these problems described and parses the JSON
# again, without running Python on them again.
if [ -n "${KBREED_TEST_DESCRIBE_CACHE:-}" ]; then
	mkdir -p "$KBREED_TEST_DESCRIBE_CACHE" "$KBREED_CACHE" && ln -s "$KBREED_TEST_DESCRIBE_CACHE" "$KBREED_CACHE/describe"
fi
mkdir -p "$tmp/p" "$tmp/src"

level1_copies() {
	if [ ! -d "$bench/level1" ]; then
		echo "# no KernelBench level 1 at $bench/level1: only tests/data's problems"
		return 0
	fi
	mkdir -p "$tmp/l1in"
	for n in "$@"; do
		[ -f "$bench/level1/$n.py" ] && cp "$bench/level1/$n.py" "$tmp/l1in/"
	done
	ls "$tmp/l1in"/*.py >/dev/null 2>&1 || return 0
	bash tests/bridge/scale_level1.sh "$tmp/l1in" "$tmp/p" >/dev/null
}

# describe FILE: `kbreed describe FILE`, its output and its errors, into
# $tmp/NAME.desc (NAME: FILE's name less .py), where want, want_op and lacks
# read it; returns kbreed's exit status.
describe() {
	"$K" -q describe "$1" >"$tmp/$(basename "$1" .py).desc" 2>&1
}

# realise TEMPLATE FILE TAG [KNOB=VALUE...]: `kbreed template TEMPLATE --for
# FILE` with those knobs (none: the defaults) into $tmp/src/NAME--TAG.cu,
# for compile_realisations (one with knobs moved is also listed in
# $tmp/moved); its errors and warnings in $tmp/err. A failure is a not_ok (a
# success is not an ok: compiling it is the check); returns kbreed's exit
# status.
realise() {
	local t=$1 f=$2 tag=$3 name rc
	shift 3
	name=$(basename "$f" .py)
	"$K" -q template "$t" --for "$f" "$@" >"$tmp/src/$name--$tag.cu" 2>"$tmp/err"
	rc=$?
	[ $# -gt 0 ] && echo "$tmp/src/$name--$tag.cu" >>"$tmp/moved"
	[ $rc -eq 0 ] || not_ok "$name: $t realised${1:+ with $*} (exit $rc)" "$(cat "$tmp/err")"
	return $rc
}

# want PROBLEM SPEC...: one check that $tmp/PROBLEM.desc (see describe) has
# every SPEC: "NAME VALUE" the line "#define NAME VALUE", as written (no
# pattern: "KB_LOSS_BETA (0.5)" is those characters); a bare NAME a #define
# of NAME with any value; -NAME no #define of NAME. The first SPEC missed is
# the not_ok, with the description's defines. A problem that is not here
# at all (no description, and no PROBLEM.py in $tmp/p or $tmp: a level-1
# copy where KernelBench is absent) is noted with "#" and not checked; one
# that is here without a description fails.
want() {
	want_op "$1" "" "${@:2}"
}

# want_op PROBLEM OP SPEC...: the same one check, and first that the
# description's family line names the op OP (exactly; none: "").
want_op() {
	local p=$1 op=$2 desc=$tmp/$1.desc d
	shift 2
	if [ ! -f "$desc" ]; then
		if [ -f "$tmp/p/$p.py" ] || [ -f "$tmp/$p.py" ]; then
			not_ok "$p: described ($desc is missing)"
		else
			echo "# $p: not here"
		fi
		return
	fi
	if [ -n "$op" ] && ! grep -q "^family *[a-z_0-9]*, op $op (" "$desc"; then
		not_ok "$p: op $op" "$(head -3 "$desc")"
		return
	fi
	for d in "$@"; do
		case $d in
		-*) grep -q "^#define ${d#-}\([[:blank:]]\|$\)" "$desc" && { not_ok "$p: no #define ${d#-}" "$(grep '^#define' "$desc")"; return; } ;;
		*" "*) grep -qxF "#define $d" "$desc" || { not_ok "$p: #define $d" "$(grep '^#define' "$desc")"; return; } ;;
		*) grep -q "^#define $d\([[:blank:]]\|$\)" "$desc" || { not_ok "$p: #define $d (any value)" "$(grep '^#define' "$desc")"; return; } ;;
		esac
	done
	ok "$p: ${op:+op $op${1:+, }}$*"
}

# lacks PROBLEM NAME...: one check that $tmp/PROBLEM.desc defines none of
# the NAMEs (want PROBLEM -NAME..., worded as such).
lacks() {
	local p=$1 n
	shift
	[ -f "$tmp/$p.desc" ] || { not_ok "$p: described ($tmp/$p.desc is missing)"; return; }
	for n in "$@"; do
		grep -q "^#define $n\([[:blank:]]\|$\)" "$tmp/$p.desc" && { not_ok "$p: no #define $n" "$(grep '^#define' "$tmp/$p.desc")"; return; }
	done
	ok "$p: none of $*"
}

# refused TEMPLATE FILE: one check that `kbreed template TEMPLATE --for
# FILE` refuses it: exit 2, saying that the template does not serve it.
refused() {
	local name rc
	name=$(basename "$2" .py)
	"$K" -q template "$1" --for "$2" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "does not serve" "$tmp/err" && ok "$name: $1 refused by template --for" ||
		not_ok "$name: $1 refused by template --for (exit $rc)" "$(cat "$tmp/err")"
}

# round0_holds TEMPLATE FILE WANT [RUN OPTIONS...]: a dry run of FILE
# (KBREED_NVCC standing in for nvcc; the compile target sm_90a unless the
# options say --arch) has WANT candidates of TEMPLATE in round 0. Calls with
# the same options share the problem's database (a count is of every run
# in it); other options get a database of their own.
round0_holds() {
	local name n tpl=$1 file=$2 want=$3 db
	shift 3
	name=$(basename "$file" .py)
	db=$tmp/$name$(printf '%s' "$*" | tr -c 'A-Za-z0-9' _).db
	"$K" -q run "$file" --dry-run --rounds 0 "$@" --db "$db" --out "$tmp/out-$name" >/dev/null 2>"$tmp/err"
	n=$(sqlite3 "$db" "SELECT count(*) FROM candidates WHERE round = 0 AND template = '$tpl'" 2>&1)
	[ "$n" = "$want" ] && ok "$name: dry run${*:+ ($*)} round 0 holds $tpl $want time(s)" ||
		not_ok "$name: dry run${*:+ ($*)} round 0 holds $tpl $want time(s), not '$n'" "$(cat "$tmp/err")"
}

# compile_realisations: nvcc (sm_90a) compiles every realisation the test
# wrote into $tmp/src: those at a template's defaults whole, through `kbreed
# compile` (a shared object, then probe_shapes), those with knobs moved
# (realise's $tmp/moved) to device code alone (nvcc -cubin, with the flags
# kbreed gives nvcc, src/compile.c): nvcc's host half is most of a small
# kernel's compile and the same for every knob, these were two thirds of
# the compiles, and CI's time is nvcc's. Each template's host code at its
# knob extremes compiles whole in test_playbook (templates_compile), and
# every realisation runs whole on odd shapes in `make test-gpu`. Skipped in
# the sanitizer run, whose build of kbreed is the thing under test there,
# not the templates.
compile_realisations() {
	local total built whole devonly nvcc
	[ -z "${SANITIZER_LOGS:-}" ] || return 0
	total=$(ls "$tmp"/src/*.cu | wc -l)
	touch "$tmp/moved"
	ls "$tmp"/src/*.cu | grep -vxF -f "$tmp/moved" >"$tmp/whole"
	whole=$(grep -c . "$tmp/whole")
	devonly=$((total - whole))
	: >"$tmp/compiled"
	if [ "$whole" -gt 0 ]; then
		# shellcheck disable=SC2046
		"$K" -q compile --arch sm_90a --jobs 2 $(cat "$tmp/whole") >"$tmp/compiled" 2>&1
	fi
	nvcc=${KBREED_NVCC:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}
	[ -x "$nvcc" ] || nvcc=nvcc
	if [ "$devonly" -gt 0 ]; then
		sort -u "$tmp/moved" | xargs -P 2 -I{} sh -c '"$1" -O3 -std=c++17 -lineinfo -gencode arch=compute_90a,code=sm_90a \
			-I"$2/include" -cubin -o "$3.cubin" "$3" >"$3.log" 2>&1 &&
			echo "$3: device code ok" || { echo "$3: device code FAILED"; head -20 "$3.log"; }' _ "$nvcc" "$root" {} \
			>>"$tmp/compiled"
	fi
	built=$(grep -c ': ok\|: device code ok' "$tmp/compiled")
	[ "$built" -eq "$total" ] && ok "nvcc compiles all $total realisations ($whole whole, $devonly device code)" ||
		not_ok "nvcc compiles all $total realisations (only $built)" "$(grep -v ': ok\|: device code ok' "$tmp/compiled")"
	probe_shapes
}

# probe_shapes: each compiled realisation $tmp/src/NAME--*.cu of a problem
# $tmp/p/NAME.py takes that problem's shapes: its kbreed_forward, called with
# them on this machine without a GPU (build/tests/shape_probe), gets past its
# shape and dtype checks (any status but KB_ERR_SHAPE; the first CUDA call
# then fails). A host-side check that refuses the problem a template was
# realised for is found here, not on the GPU.
probe_shapes() {
	local src so name spec refused=0 probed=0 why=""
	[ -x "$B/tests/shape_probe" ] || { not_ok "shape probe built ($B/tests/shape_probe)"; return; }
	while read -r src so; do
		src=${src%:}
		name=$(basename "$src" .cu)
		name=${name%%--*}
		[ -f "$tmp/p/$name.py" ] && [ -f "$so" ] || continue
		spec=$("$K" -q describe --json "$tmp/p/$name.py" | python3 tests/bridge/shape_spec.py) || continue
		probed=$((probed + 1))
		# shellcheck disable=SC2086
		if ! "$B/tests/shape_probe" "$so" $spec >/dev/null 2>"$tmp/probe-err"; then
			refused=$((refused + 1))
			why="$why$(basename "$src"): $spec $(cat "$tmp/probe-err")
"
		fi
	done <<EOF_COMPILED
$(grep ': ok' "$tmp/compiled" | awk '{ print $1, $NF }')
EOF_COMPILED
	[ "$refused" -eq 0 ] && ok "all $probed compiled realisations take their problem's shapes" ||
		not_ok "$refused of $probed compiled realisations refuse their problem's shapes (KB_ERR_SHAPE)" "$why"
}

# fake_gpu_run FILE: a search of FILE on the fake GPU (build/tests/fake_worker:
# every candidate correct, times from a hash of its name; the bridge on the
# CPU through tests/unit/fake_python.sh, PyTorch's timings canned), 3 rounds
# of 4 ideas, 2 implementations each, 20 reps; the environment for it is set
# for that command alone (KBREED_NVCC as the test has it). Checks nothing;
# leaves run_name (FILE's name less .py), run_rc (kbreed's exit status),
# run_db ($tmp/run-NAME.db), run_ideas (the catalogue ids of its ideas, on
# one line), $tmp/run-NAME (its output) and $tmp/err (its errors).
fake_gpu_run() {
	run_name=$(basename "$1" .py)
	run_db=$tmp/run-$run_name.db
	KBREED_WORKER=$B/tests/fake_worker KBREED_FAKE_SEARCH=1 KBREED_FAKE_GPU=1 \
		KBREED_FAKE_PYTHON_REAL=$KBREED_PYTHON KBREED_PYTHON=$root/tests/unit/fake_python.sh \
		"$K" -q run "$1" --rounds 3 --ideas 4 --impls 2 --reps 20 --db "$run_db" \
		--out "$tmp/run-$run_name" >/dev/null 2>"$tmp/err"
	run_rc=$?
	run_ideas=$(sqlite3 "$run_db" "SELECT DISTINCT catalog_id FROM ideas" 2>&1 | tr '\n' ' ')
}

# run_sql SQL: what sqlite3 prints for SQL on the last fake_gpu_run's
# database: a count where SQL asks for one, else an error no count equals.
run_sql() {
	sqlite3 "$run_db" "$1" 2>&1
}

# fake_gpu_proposes [-i MIN] FILE PREFIX [TEMPLATE [OTHER...]]: one check
# that a fake_gpu_run of FILE exits 0 with at least MIN (default 2) ideas
# whose catalogue id begins with PREFIX, at least 4 candidates of TEMPLATE
# in the rounds after 0 (where a TEMPLATE is named), and no candidate of
# any OTHER template in any round. Leaves what fake_gpu_run leaves.
fake_gpu_proposes() {
	local min=2 prefix tpl="" others="" n_ideas n_tpl=- n_other=0 t what
	if [ "$1" = -i ]; then
		min=$2
		shift 2
	fi
	fake_gpu_run "$1"
	prefix=$2
	[ $# -ge 3 ] && tpl=$3
	[ $# -ge 4 ] && for t in "${@:4}"; do others="$others${others:+, }'$t'"; done
	n_ideas=$(run_sql "SELECT count(*) FROM ideas WHERE catalog_id LIKE '$prefix%'")
	[ -n "$tpl" ] && n_tpl=$(run_sql "SELECT count(*) FROM candidates WHERE round > 0 AND template = '$tpl'")
	[ -n "$others" ] && n_other=$(run_sql "SELECT count(*) FROM candidates WHERE template IN ($others)")
	what="$prefix* ideas${tpl:+ and $tpl kernels}${others:+, none of ${*:4}}"
	if [ $run_rc -eq 0 ] && [ "${n_ideas:-0}" -ge "$min" ] 2>/dev/null &&
		{ [ -z "$tpl" ] || [ "${n_tpl:-0}" -ge 4 ] 2>/dev/null; } && [ "$n_other" = 0 ]; then
		ok "$run_name: a fake-GPU run proposes $what ($n_ideas ideas${tpl:+, $n_tpl kernels})"
	else
		not_ok "$run_name: a fake-GPU run proposes $what (exit $run_rc, ideas $n_ideas, kernels $n_tpl, others $n_other)" \
			"$run_ideas $(tail -5 "$tmp/err")"
	fi
}

# run_has_no_idea PATTERN...: one check that the last fake_gpu_run proposed
# no idea whose catalogue id is LIKE any PATTERN (SQL: % is any text).
run_has_no_idea() {
	local pat n why=""
	for pat in "$@"; do
		n=$(run_sql "SELECT count(*) FROM ideas WHERE catalog_id LIKE '$pat'")
		[ "$n" = 0 ] || why="$why $pat: $n;"
	done
	[ -z "$why" ] && ok "$run_name: no idea $* proposed" || not_ok "$run_name: no idea $* proposed ($why)" "$run_ideas"
}
