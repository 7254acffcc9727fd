#!/usr/bin/env bash
# test_bridge.sh - checks bridge/kbreed_bridge.py against docs/BRIDGE.md on the
# tiny problems in tests/data/, on the CPU (CI has no GPU).
#
#   tests/bridge/test_bridge.sh [PYTHON]     (default: /usr/bin/python3)
#
# PYTHON must have torch and numpy. Prints "ok - ..." or "not ok - ..." per
# check and a last line "N passed, M failed"; exits non-zero if any failed.

set -u

PY=${1:-/usr/bin/python3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BRIDGE=$ROOT/bridge/kbreed_bridge.py
DATA=$ROOT/tests/data
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kbreed-bridge-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0

ok() { echo "ok - $1"; passed=$((passed + 1)); }
notok() {
	echo "not ok - $1"
	failed=$((failed + 1))
	if [ -n "${2:-}" ]; then echo "#   $2"; fi
}

# bridge ARGS...: runs the bridge; stdout in $TMP/out, stderr in $TMP/err, status in $rc.
bridge() {
	"$PY" "$BRIDGE" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# jcheck EXPR: true when stdout was exactly one JSON object and EXPR (Python,
# over the parsed object `d`) holds.
jcheck() {
	"$PY" - "$TMP/out" "$1" <<'EOF' 2>>"$TMP/err"
import json, sys
text = open(sys.argv[1]).read()
lines = text.splitlines()
assert len(lines) == 1, "stdout has %d lines" % len(lines)
d = json.loads(lines[0])
assert isinstance(d, dict)
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
EOF
}

# expect NAME CODE EXPR: the last bridge call exited CODE and its JSON satisfies EXPR.
expect() {
	local name=$1 code=$2 expr=$3
	if [ "$rc" -ne "$code" ]; then
		notok "$name" "exit status $rc, expected $code; stdout: $(head -c 300 "$TMP/out"); stderr: $(tail -n 3 "$TMP/err" | tr '\n' ' ')"
	elif ! jcheck "$expr"; then
		notok "$name" "stdout does not satisfy: $expr; stdout: $(head -c 400 "$TMP/out")"
	else
		ok "$name"
	fi
}

# size_is FILE BYTES
size_is() {
	[ -f "$1" ] && [ "$(wc -c <"$1" | tr -d ' ')" -eq "$2" ]
}

if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	notok "python $PY has torch and numpy"
	echo "$passed passed, $failed failed"
	exit 1
fi
ok "python $PY has torch and numpy"
HAS_CUDA=$("$PY" -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null)

# --- describe ---------------------------------------------------------------

bridge describe "$DATA/tiny_layernorm.py"
expect "describe tiny_layernorm: name, family, input, output" 0 \
	'd["name"] == "tiny_layernorm" and d["family"] == "norm" and d["notes"] != "" and
	 d["inputs"] == [{"name": "x", "dtype": "f32", "shape": [4, 8, 16, 16]}] and
	 d["outputs"] == [{"name": "out0", "dtype": "f32", "shape": [4, 8, 16, 16]}]'
expect "describe tiny_layernorm: weight and bias listed as params" 0 \
	'd["params"] == [{"name": "ln.weight", "dtype": "f32", "shape": [16, 16]},
	                 {"name": "ln.bias", "dtype": "f32", "shape": [16, 16]}]'
expect "describe tiny_layernorm: min_bytes counts inputs, params, outputs once" 0 \
	'd["min_bytes"] == 4 * (2 * 4 * 8 * 16 * 16 + 2 * 16 * 16)'
sha=$(sha256sum "$DATA/tiny_layernorm.py" | cut -d' ' -f1)
expect "describe tiny_layernorm: file_sha256 of the file's bytes" 0 \
	"d['file_sha256'] == '$sha' and isinstance(d['flops'], int) and isinstance(d['torch'], str)"

bridge describe "$DATA/tiny_matmul.py"
expect "describe tiny_matmul: two named inputs, KBREED_FLOPS" 0 \
	'[i["name"] for i in d["inputs"]] == ["A", "B"] and d["outputs"][0]["shape"] == [17, 9] and
	 d["flops"] == 2 * 17 * 33 * 9 and d["params"] == []'

bridge describe "$DATA/tiny_gelu.py"
expect "describe tiny_gelu: defaults for missing metadata" 0 \
	'd["family"] == "elementwise" and d["notes"] == "" and d["outputs"][0]["shape"] == [33, 65]'

# --- reference --------------------------------------------------------------

R=$TMP/ref_ln
bridge reference "$DATA/tiny_layernorm.py" --dir "$R" --sets 2 --device cpu
expect "reference tiny_layernorm: exits 0 with the manifest" 0 \
	'd["sets"] == 2 and d["seed"] == 42 and d["device"] == "cpu" and d["upcast"] is True and
	 d["gpu"] is None and len(d["params"]) == 2 and d["outputs"][0]["shape"] == [4, 8, 16, 16]'
if [ -f "$R/manifest.json" ] && cmp -s <(tr -d ' \n' <"$R/manifest.json") <(tr -d ' \n' <"$TMP/out"); then
	ok "reference tiny_layernorm: manifest.json written, same as stdout"
else
	notok "reference tiny_layernorm: manifest.json written, same as stdout"
fi
good=1
for f in param0.bin:1024 param1.bin:1024 set0.in0.bin:32768 set0.out0.bin:32768 \
	set1.in0.bin:32768 set1.out0.bin:32768; do
	size_is "$R/${f%%:*}" "${f##*:}" || { good=0; notok "reference tiny_layernorm: ${f%%:*} is ${f##*:} bytes"; }
done
[ "$good" = 1 ] && ok "reference tiny_layernorm: param and set files of the right byte sizes"
if [ -z "$(find "$R" -name '.*' -type f)" ]; then
	ok "reference tiny_layernorm: no temporary files left"
else
	notok "reference tiny_layernorm: no temporary files left" "$(ls -a "$R" | tr '\n' ' ')"
fi
if "$PY" - "$R" <<'EOF' 2>>"$TMP/err"; then
import sys
import numpy as np
import torch
d = sys.argv[1] + "/"
w = np.fromfile(d + "param0.bin", np.float32).reshape(16, 16).astype(np.float64)
b = np.fromfile(d + "param1.bin", np.float32).reshape(16, 16).astype(np.float64)
assert not np.allclose(w, 1.0) and not np.allclose(b, 0.0)   # the file randomises them
for i in range(2):
    x = np.fromfile(d + "set%d.in0.bin" % i, np.float32).reshape(4, 8, 16, 16)
    torch.manual_seed(42 + 1 + i)   # set i's inputs come from get_inputs() under seed S+1+i
    assert np.array_equal(x, torch.randn(4, 8, 16, 16).numpy())
    x = x.astype(np.float64)
    m = x.mean(axis=(2, 3), keepdims=True)
    v = ((x - m) ** 2).mean(axis=(2, 3), keepdims=True)
    want = ((x - m) / np.sqrt(v + 1e-5) * w + b).astype(np.float32)
    got = np.fromfile(d + "set%d.out0.bin" % i, np.float32).reshape(4, 8, 16, 16)
    assert np.abs(got.astype(np.float64) - want).max() <= 1e-6, np.abs(got - want).max()
EOF
	ok "reference tiny_layernorm: inputs from seed S+1+i, outputs match a float64 LayerNorm"
else
	notok "reference tiny_layernorm: inputs from seed S+1+i, outputs match a float64 LayerNorm" "$(tail -n 2 "$TMP/err")"
fi

bridge reference "$DATA/tiny_layernorm.py" --dir "$R" --sets 1 --device cpu --seed 7
if [ "$rc" -eq 0 ] && [ ! -e "$R/set1.in0.bin" ] && [ ! -e "$R/set1.out0.bin" ] && jcheck 'd["sets"] == 1 and d["seed"] == 7'; then
	ok "reference into a used dir: files of the earlier run removed"
else
	notok "reference into a used dir: files of the earlier run removed" "rc=$rc; $(ls "$R" | tr '\n' ' ')"
fi

R=$TMP/ref_mm
bridge reference "$DATA/tiny_matmul.py" --dir "$R" --sets 3 --device cpu
if [ "$rc" -eq 0 ] && size_is "$R/set2.in0.bin" 2244 && size_is "$R/set2.in1.bin" 1188 &&
	size_is "$R/set2.out0.bin" 612 && [ ! -e "$R/param0.bin" ] && [ -f "$R/manifest.json" ]; then
	ok "reference tiny_matmul: two inputs, one output per set, no params"
else
	notok "reference tiny_matmul: two inputs, one output per set, no params" "rc=$rc; $(ls -l "$R" 2>&1 | tr '\n' ' ')"
fi

R=$TMP/ref_gelu
bridge reference "$DATA/tiny_gelu.py" --dir "$R" --sets 1 --device cpu
if [ "$rc" -eq 0 ] && size_is "$R/set0.in0.bin" 8580 && size_is "$R/set0.out0.bin" 8580; then
	ok "reference tiny_gelu: odd sizes written whole"
else
	notok "reference tiny_gelu: odd sizes written whole" "rc=$rc"
fi

# --- bad problem files: exit 2 with an error ----------------------------------

for bad in bad_syntax bad_no_get_inputs bad_inputs_type; do
	bridge describe "$DATA/$bad.py"
	expect "describe $bad: exit 2 with an error naming the file" 2 \
		"isinstance(d.get('error'), str) and '$bad.py' in d['error'] and len(d) == 1"
done
bridge reference "$DATA/bad_inputs_type.py" --dir "$TMP/ref_bad" --sets 1 --device cpu
expect "reference bad_inputs_type: exit 2 with an error" 2 '"error" in d'
bridge reference "$DATA/bad_nondeterministic.py" --dir "$TMP/ref_nd" --sets 1 --device cpu
expect "reference bad_nondeterministic: exit 2, says not deterministic" 2 \
	'"deterministic" in d["error"]'
if [ ! -e "$TMP/ref_nd/manifest.json" ]; then
	ok "reference bad_nondeterministic: no manifest written"
else
	notok "reference bad_nondeterministic: no manifest written"
fi
# KBREED_DEFINES: reported as given; a name that is no C identifier, or a
# value that is no number, is a problem-file error.
sed 's/^import torch$/&\nKBREED_DEFINES = {"CONV_STRIDE": 4, "EPS": 0.5}/' "$DATA/tiny_gelu.py" >"$TMP/defines_ok.py"
bridge describe "$TMP/defines_ok.py"
expect "describe: KBREED_DEFINES reported" 0 'd["defines"] == {"CONV_STRIDE": 4, "EPS": 0.5}'
for bad in '{"1X": 4}' '{"STRIDE": "4"}' '{"S": True}' '[4]'; do
	sed "s/^import torch$/&\nKBREED_DEFINES = $bad/" "$DATA/tiny_gelu.py" >"$TMP/defines_bad.py"
	bridge describe "$TMP/defines_bad.py"
	expect "describe: KBREED_DEFINES = $bad is an error" 2 '"KBREED_DEFINES" in d["error"]'
done
bridge describe "$DATA/tiny_gelu.py"
expect "describe: no KBREED_DEFINES, empty defines" 0 'd["defines"] == {}'

bridge describe "$TMP/no_such_problem.py"
expect "describe of a missing file: exit 2" 2 '"no_such_problem.py" in d["error"]'

# --- usage and CUDA ---------------------------------------------------------------

bridge frobnicate
expect "unknown command: exit 1 with a JSON error" 1 '"error" in d'

if [ "$HAS_CUDA" = 1 ]; then
	bridge time "$DATA/tiny_matmul.py" --reps 5 --warmup 2
	expect "time tiny_matmul on CUDA: eager timings" 0 \
		'd["eager"]["reps"] == 5 and 0 < d["eager"]["min_ms"] <= d["eager"]["median_ms"] <= d["eager"]["max_ms"] and d["compile"] is None'
else
	bridge time "$DATA/tiny_matmul.py"
	expect "time without CUDA: exit 4 with an error" 4 '"CUDA" in d["error"]'
	bridge ceilings
	expect "ceilings without CUDA: exit 4 with an error" 4 '"CUDA" in d["error"]'
	bridge reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_cuda" --sets 1 --device cuda
	expect "reference --device cuda without CUDA: exit 4" 4 '"CUDA" in d["error"]'
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
