#!/usr/bin/env bash
# test_export.sh - `kbreed export` without a GPU: runs made with the fake
# worker (as tests/cli/test_cli.sh makes them), then their winners and a
# candidate exported, and every file checked as far as a machine without
# CUDA can: the files are there, the Python parses, and ModelNew, imported
# with load_inline replaced by a CPU stand-in of the ABI
# (tests/cli/check_export.py), has Model's constructor, signature,
# parameters and state_dict and gives Model's outputs, its outputs
# allocated from the spec it gave once. The custom operator of op/
# (tests/cli/check_op.py): defined in C++ with the schema the problem
# implies (a tuple return and a number among the arguments: tiny_pair),
# registered for CUDA, its fake in Python on the same arguments; tiny_pair's
# built for the CPU and called through torch's dispatcher, and its
# model_new.py's C++ with load_inline, ModelNew called through it
# (tests/cli/check_cpp_cpu.py); model_new.py's C++ as load_inline would
# build it for CUDA compiled (g++ -fsyntax-only) against this machine's
# torch headers.
# Building and running the exports on a GPU is `make test-gpu`, section 6.
# Prints "ok - ..." / "not ok - ..." per check and "N passed, M failed" last.
set -u
. "$(dirname "$0")/lib.sh"
PY=${PYTHON:-/usr/bin/python3}

export KBREED_CACHE=$TMP/cache XDG_DATA_HOME=$TMP/data
export KBREED_WORKER=$B/tests/fake_worker
export KBREED_PYTHON=$ROOT/tests/unit/fake_python.sh
export KBREED_FAKE_SEARCH=1 KBREED_FAKE_GPU=1
export KBREED_NVCC=$ROOT/tests/cli/fake_nvcc.sh
unset KBREED_DB KBREED_ARCH

# The source of candidate $2 of database $1, byte for byte, into $3.
source_of() { "$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
open(sys.argv[3], "w").write(c.execute("SELECT source FROM candidates WHERE id=?", (int(sys.argv[2]),)).fetchone()[0])' "$@"; }

# export_ok NAME DIR PROBLEM DB CANDIDATE: the files, parsing, and ModelNew.
export_ok() {
	local name=$1 dir=$2 problem=$3 db=$4 cand=$5 f missing=""
	for f in kernel.cu kbreed_candidate.h model_new.py README.md op/setup.py op/csrc/kernel.cu \
		op/csrc/kbreed_candidate.h op/csrc/launch.cpp; do
		[ -s "$dir/$f" ] || missing="$missing $f"
	done
	set -- "$dir"/op/kbreed_*/__init__.py
	[ -s "$1" ] || missing="$missing op/PACKAGE/__init__.py"
	[ -z "$missing" ] && ok "$name: every file written" || not_ok "$name: every file written" "missing:$missing"
	local pkg
	pkg=$(dirname "$1")
	for f in "$dir/model_new.py" "$dir/op/setup.py" "$pkg/__init__.py" "$pkg/_runtime.py" "$pkg/problem.py"; do
		"$PY" -m py_compile "$f" 2>"$TMP/err" && ok "$name: ${f#"$dir"/} parses" || not_ok "$name: ${f#"$dir"/} parses" "$(cat "$TMP/err")"
	done
	cmp -s "$problem" "$pkg/problem.py" && ok "$name: the op package carries the problem file verbatim" ||
		not_ok "$name: the op package carries the problem file verbatim"
	cmp -s "$ROOT/include/kbreed_candidate.h" "$dir/op/csrc/kbreed_candidate.h" && ok "$name: the ABI header beside the op's kernel" ||
		not_ok "$name: the ABI header beside the op's kernel"
	"$PY" tests/cli/check_op.py "$dir/op" "$problem" >"$TMP/check" 2>"$TMP/check.err"
	local rc=$?
	sed "s/^/    /" "$TMP/check"
	if [ $rc -eq 0 ] && grep -q "^ok - its schema is the problem's" "$TMP/check"; then
		ok "$name: the operator is defined in C++ with the problem's schema, its fake in Python ($(grep -c '^ok' "$TMP/check") checks, tests/cli/check_op.py)"
	else
		not_ok "$name: the operator's registration" "$(grep '^not ok' "$TMP/check"; tail -5 "$TMP/check.err")"
	fi
	source_of "$db" "$cand" "$TMP/source.cu"
	"$PY" tests/cli/check_export.py "$dir" "$problem" "$TMP/source.cu" >"$TMP/check" 2>"$TMP/check.err"
	rc=$?
	sed "s/^/    /" "$TMP/check"
	if [ $rc -eq 0 ] && grep -q "^ok - ModelNew's outputs are Model's" "$TMP/check"; then
		ok "$name: ModelNew is a drop-in for Model ($(grep -c '^ok' "$TMP/check") checks, tests/cli/check_export.py)"
	else
		not_ok "$name: ModelNew is a drop-in for Model" "$(grep '^not ok' "$TMP/check"; tail -5 "$TMP/check.err")"
	fi
}

# --- a problem with parameters: LayerNorm (weight, bias) ---------------------
$K -q run tests/data/tiny_layernorm.py --rounds 1 --ideas 2 --impls 2 --reps 20 --db "$TMP/ln.db" --out "$TMP/out-ln" >/dev/null 2>"$TMP/err"
check "layernorm run: exit 0" $? 0
$K export 1 --db "$TMP/ln.db" --out "$TMP/ln" >"$TMP/out" 2>"$TMP/err"
check "export of run 1: exit 0" $? 0
grep -q "exported candidate #$(q "$TMP/ln.db" "SELECT winner FROM runs WHERE id=1") of run 1" "$TMP/out" && ok "export names the winner" ||
	not_ok "export names the winner" "$(cat "$TMP/out" "$TMP/err")"
export_ok "layernorm winner" "$TMP/ln" tests/data/tiny_layernorm.py "$TMP/ln.db" "$(q "$TMP/ln.db" "SELECT winner FROM runs WHERE id=1")"
grep -q 'm.def("forward(Tensor x, Tensor ln_weight, Tensor ln_bias) -> Tensor");' "$TMP"/ln/op/csrc/launch.cpp &&
	ok "the op's arguments: the input, then the parameters by name" || not_ok "the op's arguments" "$(grep -n 'm.def("forward' "$TMP"/ln/op/csrc/launch.cpp)"

# --- two tensors and a number in, a tuple out: the schema, the C++ compiled --
$K -q run tests/data/tiny_pair.py --rounds 0 --reps 20 --seed-kernel kernels/naive/gelu.cu --db "$TMP/pair.db" --out "$TMP/out-pair" >/dev/null 2>"$TMP/err"
check "a run of tiny_pair seeded with a kernel: exit 0" $? 0
pair=$(q "$TMP/pair.db" "SELECT id FROM candidates WHERE origin='user'")
$K export "c$pair" --db "$TMP/pair.db" --out "$TMP/pair" >/dev/null 2>"$TMP/err"
check "export of tiny_pair's kernel: exit 0" $? 0
export_ok "tiny_pair" "$TMP/pair" tests/data/tiny_pair.py "$TMP/pair.db" "$pair"
grep -q 'm.def("forward(Tensor a, Tensor b, Tensor alpha) -> (Tensor, Tensor)");' "$TMP"/pair/op/csrc/launch.cpp &&
	ok "tiny_pair's schema: the number a Tensor, the tuple two" ||
	not_ok "tiny_pair's schema" "$(grep -n 'm.def("forward' "$TMP"/pair/op/csrc/launch.cpp)"
# model_new.py's C++ against this machine's torch headers, as load_inline
# would build it (its sources, then the module it writes for
# functions=[...]). Debian's CPU torch lacks CUDA's generated
# cuda_cmake_macros.h: a stand-in.
# Neither build is in the sanitizer run (SANITIZER_LOGS): g++ and torch's
# extension builder, not kbreed, take its minutes there, on the same bytes
# the plain run built.
inc="" san_skip=""
[ -n "${SANITIZER_LOGS:-}" ] && san_skip="not in the sanitizer run" ||
	inc=$("$PY" -c 'import torch.utils.cpp_extension as c; print(" ".join(c.include_paths()))' 2>/dev/null)
pyinc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
cuda=${CUDA_HOME:-/usr/local/cuda}/include
set -- $inc
if [ -n "$inc" ] && [ -f "$1/torch/extension.h" ] && [ -f "$cuda/cuda_runtime_api.h" ] && command -v g++ >/dev/null; then
	mkdir -p "$TMP/inc/c10/cuda/impl"
	[ -f "$1/c10/cuda/impl/cuda_cmake_macros.h" ] || echo '#define C10_CUDA_BUILD_SHARED_LIBS' >"$TMP/inc/c10/cuda/impl/cuda_cmake_macros.h"
	flags=""
	for i in $inc "$TMP/inc" "$pyinc" "$cuda" "$TMP/pair/op/csrc"; do flags="$flags -I$i"; done
	"$PY" - "$TMP/pair/model_new.py" "$TMP/inline.cpp" <<'PYEOF' 2>"$TMP/err.py"
import importlib.util, sys
import torch.utils.cpp_extension as cpp_extension
asked = {}
def record(**kw):
    asked.update(kw)
    raise SystemExit(0)
cpp_extension.load_inline = record
spec = importlib.util.spec_from_file_location("model_new_cpp", sys.argv[1])
try:
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
except SystemExit:
    pass
with open(sys.argv[2], "w") as f:
    f.write("#include <torch/extension.h>\n" + asked["cpp_sources"][0] + "\nPYBIND11_MODULE(TORCH_EXTENSION_NAME, m)\n{\n"
            + "".join('m.def("%s", torch::wrap_pybind_function(%s), "%s");\n' % (n, n, n) for n in asked["functions"]) + "}\n")
PYEOF
	# shellcheck disable=SC2086
	if [ -s "$TMP/inline.cpp" ] && g++ -fsyntax-only -w -std=c++17 $flags -DTORCH_EXTENSION_NAME=_C "$TMP/inline.cpp" 2>"$TMP/err"; then
		ok "model_new.py's C++, as load_inline builds it, compiles against torch's headers"
	else
		not_ok "model_new.py's C++, as load_inline builds it, compiles" "$(tail -3 "$TMP/err.py"; grep -m5 error "$TMP/err")"
	fi
else
	ok "model_new.py's C++ compiles # SKIP ${san_skip:-no torch C++ headers, CUDA headers or g++ here}"
fi
# The operator and model_new.py's C++ built for the CPU (their CUDA ties
# swapped, a CPU kbreed_forward of tiny_pair) and called: the operator
# through torch's dispatcher and its Python module, ModelNew through run().
if [ -n "$inc" ] && "$PY" -c 'import sys, torch.utils.cpp_extension as c; sys.exit(not c.is_ninja_available())' 2>/dev/null; then
	mkdir -p "$TMP/opcpu"
	"$PY" tests/cli/check_cpp_cpu.py "$TMP/pair" "$TMP/opcpu" >"$TMP/check" 2>"$TMP/check.err"
	rc=$?
	sed "s/^/    /" "$TMP/check"
	if [ $rc -eq 0 ] && grep -q "^ok - through the dispatcher" "$TMP/check" && grep -q "^ok - ModelNew's outputs are Model's" "$TMP/check"; then
		ok "tiny_pair's C++ built for the CPU: the operator through the dispatcher, ModelNew through run() ($(grep -c '^ok' "$TMP/check") checks, tests/cli/check_cpp_cpu.py)"
	else
		not_ok "tiny_pair's C++ on the CPU" "$(grep '^not ok' "$TMP/check"; tail -5 "$TMP/check.err")"
	fi
else
	ok "tiny_pair's C++ on the CPU # SKIP ${san_skip:-no torch C++ extension builder (ninja) here}"
fi

# --- a longer run: its winner, and a candidate that is not the winner ------
$K -q run tests/data/search_gelu.py --rounds 3 --ideas 3 --impls 2 --reps 20 --db "$TMP/gelu.db" --out "$TMP/out-gelu" >/dev/null 2>"$TMP/err"
check "gelu run: exit 0" $? 0
winner=$(q "$TMP/gelu.db" "SELECT winner FROM runs WHERE id=1")
$K export 1 --db "$TMP/gelu.db" --out "$TMP/gelu" >/dev/null 2>"$TMP/err"
check "export of the gelu run: exit 0" $? 0
export_ok "gelu winner" "$TMP/gelu" tests/data/search_gelu.py "$TMP/gelu.db" "$winner"
other=$(q "$TMP/gelu.db" "SELECT id FROM candidates WHERE id != $winner AND source LIKE '%kbreed_forward%' ORDER BY id DESC LIMIT 1")
mkdir -p "$TMP/cwd"
(cd "$TMP/cwd" && $K export "c$other" --db "$TMP/gelu.db" >"$TMP/out" 2>"$TMP/err")
check "export of candidate c$other: exit 0" $? 0
d=$TMP/cwd/kbreed-out/search_gelu-run1/export-c$other
[ -s "$d/model_new.py" ] && ok "the default --out: kbreed-out/PROBLEM-runN/export-cID" || not_ok "the default --out" "$(ls -R "$TMP/cwd" | head)"
export_ok "gelu candidate $other" "$d" tests/data/search_gelu.py "$TMP/gelu.db" "$other"

# --- a kernel whose text is hard to carry in a Python string -----------------
# Quotes of every kind, backslashes, escapes Python would read, a tab, UTF-8
# and an export skeleton's own key: the kernel handed to load_inline must
# still be the source byte for byte (check_export.py compares them).
"$PY" - "$TMP/tricky.cu" <<'PYEOF'
import sys
tricky = ("// kbreed test: quotes ' \" ''' \"\"\" and backslashes \\ \\\\ \\n \\x41 \\u00e9 {} %s @KB_NS@\n"
          "// a tab:\tand UTF-8: \u00d7 \u00e9\n"
          "#define KB_TRICKY \"a\\\"b\\\\c\\n\" \\\n  /* continued */\n")
with open("kernels/naive/gelu.cu", encoding="utf-8") as f:
    rest = f.read()
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write(tricky + rest)
PYEOF
$K -q run tests/data/search_gelu.py --rounds 0 --reps 20 --seed-kernel "$TMP/tricky.cu" --db "$TMP/tricky.db" --out "$TMP/out-tricky" >/dev/null 2>"$TMP/err"
check "a run seeded with the tricky kernel: exit 0" $? 0
tricky=$(q "$TMP/tricky.db" "SELECT id FROM candidates WHERE origin='user'")
$K export "c$tricky" --db "$TMP/tricky.db" --out "$TMP/tricky" >/dev/null 2>"$TMP/err"
check "export of the tricky kernel: exit 0" $? 0
grep -q "KB_TRICKY" "$TMP/tricky/model_new.py" && ok "the tricky kernel is the one exported" || not_ok "the tricky kernel is the one exported"
export_ok "tricky kernel" "$TMP/tricky" tests/data/search_gelu.py "$TMP/tricky.db" "$tricky"
{ printf '// not UTF-8: \377\n'; cat kernels/naive/gelu.cu; } >"$TMP/latin1.cu"
$K -q run tests/data/search_gelu.py --rounds 0 --reps 20 --seed-kernel "$TMP/latin1.cu" --db "$TMP/latin1.db" --out "$TMP/out-latin1" >/dev/null 2>"$TMP/err"
latin1=$(q "$TMP/latin1.db" "SELECT id FROM candidates WHERE origin='user'")

# --- refused: exit 2, a clear message, nothing made --------------------------
refused() {
	local what=$1 msg=$2
	shift 2
	"$@" >/dev/null 2>"$TMP/err"
	local rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$msg" "$TMP/err"; then ok "refused: $what"; else not_ok "refused: $what" "rc $rc: $(cat "$TMP/err")"; fi
}
refused "no operand" "export takes one run" $K export --db "$TMP/gelu.db"
refused "a run that is not a number" "want a run number or a candidate" $K export abc --db "$TMP/gelu.db"
refused "run 0" "a run must be" $K export 0 --db "$TMP/gelu.db"
refused "a run that does not exist" "run 9" $K export 9 --db "$TMP/gelu.db" --out "$TMP/nope"
refused "a candidate that does not exist" "no candidate 99999" $K export c99999 --db "$TMP/gelu.db" --out "$TMP/nope"
refused "a database that does not exist" "no database at" $K export 1 --db "$TMP/none.db" --out "$TMP/nope"
[ ! -e "$TMP/none.db" ] && ok "no database made by a refused export" || not_ok "no database made by a refused export"
[ ! -e "$TMP/nope" ] && ok "no export directory made by a refused export" || not_ok "no export directory made by a refused export"
$K -q run tests/data/search_gelu.py --dry-run --rounds 0 --db "$TMP/dry.db" --out "$TMP/out-dry" >/dev/null 2>&1
refused "a run without a winner" "has no winner" $K export 1 --db "$TMP/dry.db" --out "$TMP/nope"
refused "a kernel that is not UTF-8" "is not UTF-8 text" $K export "c$latin1" --db "$TMP/latin1.db" --out "$TMP/latin1"
touch "$TMP/a-file"
refused "--out on a file" "--out" $K export 1 --db "$TMP/gelu.db" --out "$TMP/a-file"

# --- the problem file changed since the run: warned, exported as it is now ---
cp tests/data/tiny_layernorm.py "$TMP/moved.py"
$K -q run "$TMP/moved.py" --rounds 0 --reps 20 --db "$TMP/moved.db" --out "$TMP/out-moved" >/dev/null 2>&1
echo "# edited" >>"$TMP/moved.py"
$K export 1 --db "$TMP/moved.db" --out "$TMP/moved" >/dev/null 2>"$TMP/err"
check "export after the problem changed: exit 0" $? 0
grep -q "changed since run 1 judged" "$TMP/err" && ok "a changed problem file is warned about" || not_ok "a changed problem file is warned about" "$(cat "$TMP/err")"
rm "$TMP/moved.py"
refused "the problem file gone" "cannot read the run's problem file" $K export 1 --db "$TMP/moved.db" --out "$TMP/nope"

test_summary
