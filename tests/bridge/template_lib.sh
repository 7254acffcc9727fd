# tests/bridge/template_lib.sh - what the template shell tests (test_pointwise,
# test_scan, test_reduce, test_loss, test_pool, test_matmul, test_matvec,
# test_dwconv, test_dwsep, test_conv, test_frobenius, test_norms) share; sourced from the
# checkout's root, with the test's PYTHON as $1. Sets root, B and K (the build
# under test), bench (KernelBench), passed/failed with ok and not_ok, and tmp (removed at exit),
# where KBREED_CACHE lives; level1_copies NAME... writes scaled-down copies of
# those level-1 problems, where present, into $tmp/p; compile_realisations and
# round0_holds are below.
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

# round0_holds TEMPLATE FILE WANT: a dry run of FILE (KBREED_NVCC standing in
# for nvcc) has WANT candidates of TEMPLATE in round 0.
round0_holds() {
	local name n
	name=$(basename "$2" .py)
	"$K" -q run "$2" --dry-run --rounds 0 --db "$tmp/$name.db" --out "$tmp/out-$name" >/dev/null 2>"$tmp/err"
	n=$(sqlite3 "$tmp/$name.db" "SELECT count(*) FROM candidates WHERE round = 0 AND template = '$1'" 2>&1)
	[ "$n" = "$3" ] && ok "$name: dry run round 0 holds $1 $3 time(s)" ||
		not_ok "$name: dry run round 0 holds $1 $3 time(s), not '$n'" "$(cat "$tmp/err")"
}

# compile_realisations: nvcc (through `kbreed compile`, sm_90a) compiles every
# realisation the test wrote into $tmp/src; skipped in the sanitizer run,
# whose build of kbreed is the thing under test there, not the templates.
compile_realisations() {
	local total built
	[ -z "${SANITIZER_LOGS:-}" ] || return 0
	total=$(ls "$tmp"/src/*.cu | wc -l)
	"$K" -q compile --arch sm_90a --jobs 2 "$tmp"/src/*.cu >"$tmp/compiled" 2>&1
	built=$(grep -c ': ok' "$tmp/compiled")
	[ "$built" -eq "$total" ] && ok "nvcc compiles all $total realisations" ||
		not_ok "nvcc compiles all $total realisations (only $built)" "$(grep -v ': ok' "$tmp/compiled")"
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
