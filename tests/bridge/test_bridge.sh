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

# --- reference bytes against an independent computation ---------------------
# The bridge writes set i's files on a thread while it makes set i + 1, and
# gives set 0's forwards copies made on the device: none of that may change
# a byte. The checker recomputes every file the plain way documented in
# docs/BRIDGE.md (seeds, upcast, cast back, raw little-endian bytes), without
# the bridge's code, and compares the bytes.
cat >"$TMP/same_bytes.py" <<'EOF'
import copy, importlib.util, json, sys
import numpy as np
import torch
path, d = sys.argv[1], sys.argv[2] + "/"
man = json.load(open(d + "manifest.json"))
spec = importlib.util.spec_from_file_location("problem_under_test", path)
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
S = man["seed"]
TYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64,
         "i32": torch.int32, "i64": torch.int64, "bool": torch.bool}

def raw(t):
    t = t.detach().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)
    elif t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.numpy().tobytes()   # this machine is little-endian, as the files are

def same(name, t):
    got = open(d + name, "rb").read()
    assert got == raw(t), "%s differs (%d bytes, expected %d)" % (name, len(got), len(raw(t)))

def load(name, e):
    dt = TYPES[e["dtype"]]
    data = bytearray(open(d + name, "rb").read())
    if dt == torch.bool:
        return torch.frombuffer(data, dtype=torch.uint8).to(torch.bool).reshape(e["shape"])
    return torch.frombuffer(data, dtype=dt).reshape(e["shape"]).clone()

torch.manual_seed(S)
model = m.Model(*m.get_init_inputs())
state = list(model.named_parameters()) + list(model.named_buffers())
for j, (_, t) in enumerate(state):
    same("param%d.bin" % j, t)
floats = [t.dtype for _, t in state if t.is_floating_point()]
outs = [TYPES[e["dtype"]] for e in man["outputs"]]
ref = copy.deepcopy(model)

def reference(xs, target):
    with torch.no_grad():
        r = ref(*[x.to(target) if target is not None and x.is_floating_point() else x.clone()
                  for x in xs])
    r = [r] if isinstance(r, torch.Tensor) else list(r)
    return [t.to(dt) for t, dt in zip(r, outs)]

checked = 0
target = None   # None: at the model's own precision ("upcast": false)
for i in range(man["sets"]):
    torch.manual_seed(S + 1 + i)
    xs = [torch.tensor(x) if isinstance(x, (int, float)) else x for x in m.get_inputs()]
    if target is None and man["upcast"]:
        fl = floats + [x.dtype for x in xs if x.is_floating_point()]
        target = torch.float32 if all(t in (torch.float16, torch.bfloat16) for t in fl) else torch.float64
        ref = ref.to(dtype=target)
    for j, x in enumerate(xs):
        same("set%d.in%d.bin" % (i, j), x)
    for j, y in enumerate(reference(xs, target)):
        same("set%d.out%d.bin" % (i, j), y)
        checked += 1
for s in man["stress"]:   # stressed inputs as written; their references recomputed
    xs = [load("set%d.in%d.bin" % (s["set"], j), e) for j, e in enumerate(man["inputs"])]
    for j, y in enumerate(reference(xs, target)):
        same("set%d.out%d.bin" % (s["set"], j), y)
        checked += 1
assert checked == len(outs) * (man["sets"] + len(man["stress"])), checked
print(checked)
EOF
# Two rarer paths: the upcast fails on set 1, so every set is redone at the
# model's own precision; a fp16 model that does not run on the CPU, so set 0's
# determinism check runs on the float32 upcast (fp16 and bool outputs).
cat >"$TMP/bytes_redo.py" <<'EOF'
import torch
import torch.nn as nn
class Model(nn.Module):
    calls = 0
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(17))
    def forward(self, x):
        if x.dtype == torch.float64:
            Model.calls += 1
            if Model.calls >= 2:
                raise RuntimeError("no float64 here")
        return torch.tanh(x * self.w)
def get_inputs():
    return [torch.randn(5, 17)]
def get_init_inputs():
    return []
EOF
cat >"$TMP/bytes_halfcpu.py" <<'EOF'
import torch
import torch.nn as nn
class Model(nn.Module):
    def forward(self, x, y):
        if x.dtype == torch.float16 and x.device.type == "cpu":
            raise RuntimeError("no half kernel on the CPU")
        return torch.sigmoid(x) * y, (x > 0)
def get_inputs():
    return [torch.randn(6, 40).half(), torch.randn(6, 40).half()]
def get_init_inputs():
    return []
EOF
for spec in "tiny_gelu:--stress" "odd_leaky_relu_fp16:--stress" "odd_groupnorm_bf16:" \
	"odd_pool_max3d_indices:--stress" "odd_batchnorm:" "$TMP/bytes_redo:" "$TMP/bytes_halfcpu:--stress"; do
	p=${spec%%:*}
	case $p in /*) f=$p.py; p=$(basename "$p") ;; *) f=$DATA/$p.py ;; esac
	R=$TMP/bytes_$p
	bridge reference "$f" --dir "$R" --sets 3 --device cpu ${spec#*:}
	if [ "$rc" -eq 0 ] && n=$("$PY" "$TMP/same_bytes.py" "$f" "$R" 2>>"$TMP/err"); then
		ok "reference $p ${spec#*:}: every file byte for byte as recomputed plainly ($n outputs)"
	else
		notok "reference $p ${spec#*:}: every file byte for byte as recomputed plainly" "rc=$rc; $(tail -n 2 "$TMP/err")"
	fi
done

if grep -q '"upcast": false' "$TMP/bytes_bytes_redo/manifest.json" 2>/dev/null &&
	grep -q '"upcast": true' "$TMP/bytes_bytes_halfcpu/manifest.json" 2>/dev/null; then
	ok "reference: the redo at native precision and the upcast-only fp16 model were the paths taken"
else
	notok "reference: the redo at native precision and the upcast-only fp16 model were the paths taken"
fi

# --verbose: a line of phase seconds per set, the same bytes.
bridge --verbose reference "$DATA/odd_pool_max3d_indices.py" --dir "$TMP/bytes_verbose" --sets 3 --device cpu --stress
good=1
for i in 0 1 2; do
	grep -Eq "^kbreed_bridge: reference set $i: [0-9.]+ s: .*get_inputs [0-9.]+.*upcast [0-9.]+.*\(writer\) write [0-9.]+" "$TMP/err" || good=0
done
grep -Eq "^kbreed_bridge: reference set 0: .*forward [0-9.]+, determinism [0-9.]+" "$TMP/err" || good=0
grep -Eq "^kbreed_bridge: reference set [0-9]+ \(scale_up\): .*stress [0-9.]+" "$TMP/err" || good=0
grep -q "^kbreed_bridge: reference: done after" "$TMP/err" || good=0
if [ "$rc" -eq 0 ] && [ "$good" = 1 ] && diff -r "$TMP/bytes_verbose" "$TMP/bytes_odd_pool_max3d_indices" >/dev/null; then
	ok "reference --verbose: seconds per phase for each set on stderr, the same files"
else
	notok "reference --verbose: seconds per phase for each set on stderr, the same files" "rc=$rc; $(grep 'reference set' "$TMP/err" | head -n 3)"
fi
bridge reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_quiet" --sets 2 --device cpu
if [ "$rc" -eq 0 ] && ! grep -q "reference set" "$TMP/err"; then
	ok "reference without --verbose: no timings"
else
	notok "reference without --verbose: no timings" "$(head -n 3 "$TMP/err")"
fi

# kbreed -v passes --verbose and shows the bridge's stderr as debug lines;
# without -v the bridge stays quiet and its stderr is not shown.
case ${KBREED_BUILD:-build} in
/*) KB=$KBREED_BUILD/kbreed ;;
*) KB=$ROOT/${KBREED_BUILD:-build}/kbreed ;;
esac
if [ -x "$KB" ]; then
	KBREED_PYTHON=$PY KBREED_CACHE=$TMP/kcache1 "$KB" -v describe "$DATA/tiny_gelu.py" >/dev/null 2>"$TMP/kerr"
	krc=$?
	KBREED_PYTHON=$PY KBREED_CACHE=$TMP/kcache2 "$KB" describe "$DATA/tiny_gelu.py" >/dev/null 2>"$TMP/kerr2"
	if [ "$krc" -eq 0 ] && grep -q "^kbreed: debug: bridge: kbreed_bridge: describe: done after [0-9.]* s$" "$TMP/kerr" &&
		! grep -q "kbreed_bridge" "$TMP/kerr2"; then
		ok "kbreed -v: the bridge's --verbose log shown as debug lines"
	else
		notok "kbreed -v: the bridge's --verbose log shown as debug lines" "rc=$krc; $(tail -n 3 "$TMP/kerr")"
	fi
else
	notok "kbreed -v: the bridge's --verbose log shown as debug lines" "$KB is not built (make)"
fi

# A write that fails on the writer thread still fails the command: a file
# size limit below the first set file's 8580 bytes (Python ignores SIGXFSZ,
# so the write raises EFBIG).
rm -rf "$TMP/ref_efbig"
(ulimit -f 8; "$PY" "$BRIDGE" reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_efbig" --sets 2 --device cpu >"$TMP/out" 2>"$TMP/err")
rc=$?
expect "reference: a write that fails on the writer thread is exit 1 with the error" 1 \
	'"File too large" in d["error"]'
if [ ! -e "$TMP/ref_efbig/manifest.json" ] && [ -z "$(ls "$TMP/ref_efbig" | grep 'set1')" ]; then
	ok "reference: after a failed write, no manifest and no later set's files"
else
	notok "reference: after a failed write, no manifest and no later set's files" "$(ls -a "$TMP/ref_efbig" | tr '\n' ' ')"
fi

# --- stressed input sets (reference --stress) ---------------------------------

R=$TMP/ref_stress
bridge reference "$DATA/tiny_gelu.py" --dir "$R" --sets 2 --device cpu --stress
expect "reference --stress: the five kinds after the plain sets, each from a plain set" 0 \
	'[(e["set"], e["kind"], e["from"]) for e in d["stress"]] == [(2, "scale_up", 0), (3, "scale_down", 1),
	  (4, "shift", 0), (5, "ties", 1), (6, "clustered_max", 0)] and d["stress_skipped"] == [] and d["sets"] == 2'
good=1
for s in 2 3 4 5 6; do
	size_is "$R/set$s.in0.bin" 8580 && size_is "$R/set$s.out0.bin" 8580 || good=0
done
if [ "$good" = 1 ]; then ok "reference --stress: a set's files per stressed set"
else notok "reference --stress: a set's files per stressed set" "$(ls "$R" | tr '\n' ' ')"; fi
bridge reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_stress2" --sets 2 --device cpu --stress
same=1
for f in "$R"/set*.bin; do cmp -s "$f" "$TMP/ref_stress2/$(basename "$f")" || same=0; done
if [ "$rc" -eq 0 ] && [ "$same" = 1 ]; then ok "reference --stress: reproducible from the seed"
else notok "reference --stress: reproducible from the seed"; fi
bridge reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_stress3" --sets 2 --device cpu --stress --seed 43
if [ "$rc" -eq 0 ] && ! cmp -s "$R/set6.in0.bin" "$TMP/ref_stress3/set6.in0.bin"; then
	ok "reference --stress: another seed, other stressed inputs"
else
	notok "reference --stress: another seed, other stressed inputs"
fi
if "$PY" - "$R" <<'EOF' 2>>"$TMP/err"; then
import math, sys
import numpy as np
import torch
d = sys.argv[1] + "/"
def load(s, what):
    return np.fromfile(d + "set%d.%s0.bin" % (s, what), np.float32).reshape(33, 65)
x0, x1 = load(0, "in").astype(np.float64), load(1, "in").astype(np.float64)
assert np.array_equal(load(2, "in"), (x0 * 1e3).astype(np.float32))            # scale_up, from set 0
assert np.array_equal(load(3, "in"), (x1 * 1e-3).astype(np.float32))           # scale_down, from set 1
rms = math.sqrt((x0 ** 2).mean())
assert np.array_equal(load(4, "in"), (x0 + 100 * rms).astype(np.float32))      # shift
t = load(5, "in")                                                               # ties: a grid
step = 2.0 ** round(math.log2(math.sqrt((x1 ** 2).mean()) / 4))
assert np.array_equal(t, np.round(x1 / step) * step) and len(np.unique(t)) < 40, len(np.unique(t))
c = load(6, "in")                                                               # clustered maxima
m = c.max()
assert m == x0.max()
cols = np.where((c == m).all(axis=0))[0]
assert len(cols) >= 3 and 0 in cols and 64 in cols and any(b - a == 1 for a, b in zip(cols, cols[1:])), cols
assert ((c == m).sum(axis=1) >= 3).all()
for s in range(7):   # every reference recomputed by PyTorch, in float64, on the stressed inputs
    x = torch.from_numpy(load(s, "in").astype(np.float64))
    want = torch.nn.functional.gelu(x).float().numpy()
    assert np.abs(load(s, "out") - want).max() <= 1e-6 * max(1.0, np.abs(want).max()), s
EOF
	ok "reference --stress: x1e3, x1e-3, + 100 rms, a grid, clustered maxima; references by PyTorch"
else
	notok "reference --stress: x1e3, x1e-3, + 100 rms, a grid, clustered maxima; references by PyTorch" "$(tail -n 3 "$TMP/err")"
fi
bridge reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_plain" --sets 2 --device cpu
if [ "$rc" -eq 0 ] && jcheck 'd["stress"] == [] and d["stress_skipped"] == []' && [ ! -e "$TMP/ref_plain/set2.in0.bin" ]; then
	ok "reference without --stress: the plain sets alone"
else
	notok "reference without --stress: the plain sets alone"
fi
# --stress-max (kbreed's reference budget): the first K kinds made, the
# others skipped for the budget and not written; the sets made are the
# same bytes as without it.
bridge reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_max" --sets 2 --device cpu --stress --stress-max 2
expect "reference --stress-max 2: two kinds made, three skipped for the budget" 0 \
	'[(e["set"], e["kind"], e["from"]) for e in d["stress"]] == [(2, "scale_up", 0), (3, "scale_down", 1)] and
	 [(e["kind"], e["from"]) for e in d["stress_skipped"]] == [("shift", 0), ("ties", 1), ("clustered_max", 0)] and
	 all("budget" in e["why"] for e in d["stress_skipped"])'
same=1
for f in "$TMP/ref_max"/set*.bin; do cmp -s "$f" "$R/$(basename "$f")" || same=0; done
if [ "$same" = 1 ] && [ -e "$TMP/ref_max/set3.in0.bin" ] && [ ! -e "$TMP/ref_max/set4.in0.bin" ]; then
	ok "reference --stress-max 2: the sets made, byte for byte those of --stress; no more"
else
	notok "reference --stress-max 2: the sets made, byte for byte those of --stress; no more" "$(ls "$TMP/ref_max" | tr '\n' ' ')"
fi
bridge reference "$DATA/tiny_gelu.py" --dir "$TMP/ref_max0" --sets 2 --device cpu --stress-max 1
expect "reference --stress-max without --stress: refused" 1 '"goes with --stress" in d["error"]'

# A reference that overflows (exp of x1e3 and of x + 100 rms) and a stressed
# input that does not fit its dtype (fp16 x1e3): skipped, recorded, the rest
# numbered without gaps; integer inputs untouched.
cat >"$TMP/stress_exp.py" <<'EOF'
import torch
import torch.nn as nn
class Model(nn.Module):
    def forward(self, x, idx):
        return torch.exp(x).index_select(1, idx)
def get_inputs():
    return [torch.randn(6, 40), torch.randint(0, 40, (40,))]
def get_init_inputs():
    return []
EOF
bridge reference "$TMP/stress_exp.py" --dir "$TMP/ref_exp" --sets 2 --device cpu --stress
expect "reference --stress: non-finite references skipped with the reason, the rest numbered on" 0 \
	'[e["kind"] for e in d["stress_skipped"]] == ["scale_up", "shift"] and
	 all("not finite" in e["why"] for e in d["stress_skipped"]) and
	 [(e["set"], e["kind"]) for e in d["stress"]] == [(2, "scale_down"), (3, "ties"), (4, "clustered_max")]'
if [ ! -e "$TMP/ref_exp/set5.in0.bin" ] && cmp -s "$TMP/ref_exp/set2.in1.bin" "$TMP/ref_exp/set1.in1.bin" &&
	cmp -s "$TMP/ref_exp/set3.in1.bin" "$TMP/ref_exp/set1.in1.bin" &&
	cmp -s "$TMP/ref_exp/set4.in1.bin" "$TMP/ref_exp/set0.in1.bin" &&
	! cmp -s "$TMP/ref_exp/set2.in0.bin" "$TMP/ref_exp/set1.in0.bin"; then
	ok "reference --stress: integer inputs untouched, no files of skipped sets"
else
	notok "reference --stress: integer inputs untouched, no files of skipped sets" "$(ls "$TMP/ref_exp" | tr '\n' ' ')"
fi
cat >"$TMP/stress_half.py" <<'EOF'
import torch
import torch.nn as nn
class Model(nn.Module):
    def forward(self, x):
        return x * 2
def get_inputs():
    return [(torch.randn(8, 16) * 200).half()]
def get_init_inputs():
    return []
EOF
bridge reference "$TMP/stress_half.py" --dir "$TMP/ref_half" --sets 1 --device cpu --stress
expect "reference --stress: a stressed fp16 input beyond fp16's range is skipped" 0 \
	'[(e["kind"], e["why"]) for e in d["stress_skipped"]] == [("scale_up", "a stressed input is not finite in its dtype")]'

cat >"$TMP/stress_raises.py" <<'EOF'
import torch
import torch.nn as nn
class Model(nn.Module):
    def forward(self, x):
        if x.abs().max() > 50:
            raise ValueError("outside the domain")
        return x * 2
def get_inputs():
    return [torch.randn(8, 16)]
def get_init_inputs():
    return []
EOF
bridge reference "$TMP/stress_raises.py" --dir "$TMP/ref_raises" --sets 1 --device cpu --stress
expect "reference --stress: a forward that raises on a stressed set skips it, the upcast kept" 0 \
	'[e["kind"] for e in d["stress_skipped"]] == ["scale_up", "shift"] and d["upcast"] is True and
	 all("outside the domain" in e["why"] for e in d["stress_skipped"]) and len(d["stress"]) == 3'

# KBREED_STRESS narrows the kinds (made in kbreed's order) or turns them off;
# anything but a list of known kinds, each once, is a problem-file error.
sed 's/^import torch$/&\nKBREED_STRESS = ["ties", "scale_down"]/' "$DATA/tiny_gelu.py" >"$TMP/stress_some.py"
bridge describe "$TMP/stress_some.py"
expect "describe: KBREED_STRESS reported as stress" 0 'd["stress"] == ["scale_down", "ties"]'
bridge reference "$TMP/stress_some.py" --dir "$TMP/ref_some" --sets 1 --device cpu --stress
expect "reference --stress: KBREED_STRESS narrows the kinds" 0 \
	'[(e["set"], e["kind"]) for e in d["stress"]] == [(1, "scale_down"), (2, "ties")] and d["stress_skipped"] == []'
sed 's/^import torch$/&\nKBREED_STRESS = []/' "$DATA/tiny_gelu.py" >"$TMP/stress_none.py"
bridge reference "$TMP/stress_none.py" --dir "$TMP/ref_none" --sets 1 --device cpu --stress
expect "reference --stress: KBREED_STRESS = [] makes none" 0 'd["stress"] == [] and d["stress_skipped"] == []'
bridge describe "$DATA/tiny_gelu.py"
expect "describe: no KBREED_STRESS, every kind" 0 \
	'd["stress"] == ["scale_up", "scale_down", "shift", "ties", "clustered_max"]'
for bad in '"ties"' '["bogus"]' '["ties", "ties"]' '3' '[None]' '{"ties": 1}'; do
	sed "s/^import torch$/&\nKBREED_STRESS = $bad/" "$DATA/tiny_gelu.py" >"$TMP/stress_bad.py"
	bridge describe "$TMP/stress_bad.py"
	expect "describe: KBREED_STRESS = $bad is an error" 2 '"KBREED_STRESS" in d["error"]'
done

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
