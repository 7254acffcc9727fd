"""tests/bridge/shape_spec.py - reads `kbreed describe --json` on stdin and
prints the problem's tensors as tests/unit/shape_probe.c takes them: the
candidate's inputs (forward's arguments, then parameters, then buffers)
as DTYPE:D0xD1..., then --, then the outputs."""
import json
import sys

g = json.load(sys.stdin)["graph"]
t = g["tensors"]


def spec(x):
    return x["dtype"] + ":" + "x".join(str(d) for d in x["shape"])


args = [x for kind in ("input", "param", "buffer")
        for x in sorted((x for x in t if x["kind"] == kind), key=lambda x: x.get("index", 0))]
print(" ".join(spec(x) for x in args), "--", " ".join(spec(t[i]) for i in g["outputs"]))
