"""tests/gpu/section3_verdicts.py RESULTS.json ODD.py REFUSED KERNEL.cu...

Section 3's reading of one `kbreed eval --json --tolerance crfm` session
over a template's realisations on an odd problem: one line per kernel,
"ok WHAT" or "not_ok WHAT". A PRECISION=1 realisation (single TF32) must be
correct under crfm; every other one correct under crfm and pass the strict
profile too (element-wise and norm-relative, over every input set); one of
a template named in REFUSED (the file's KBREED_TEST_REFUSED) must refuse the
problem (runtime_error) unless it is a PRECISION=1 one. A failure says its
verdict and the first words of its detail."""
import json
import os
import sys

path, odd, refused = sys.argv[1], sys.argv[2], sys.argv[3].split()
kernels = sys.argv[4:]
try:
    with open(path) as f:
        results = json.load(f)
except (OSError, ValueError) as e:
    results = []
    why = "no results (%s)" % e
if isinstance(results, dict):
    results = [results]
for i, k in enumerate(kernels):
    name = os.path.basename(k)[:-3]
    loose = name.endswith("--PRECISION-1")
    what = "%s on %s (%s)" % (name, odd, "crfm" if loose else "strict")
    if i >= len(results):
        print("not_ok", what + ": " + (why if not results else "no result"))
        continue
    r = results[i]
    verdict = r.get("verdict", "?")
    detail = " ".join(str(r.get("detail") or "").split())[:200]
    if name.split("--")[0] in refused and not loose:
        good = verdict == "runtime_error"
        print("ok" if good else "not_ok", what + ": " + ("refused" if good else
              "got %s, not runtime_error (refused): %s" % (verdict, detail)))
        continue
    strict = (r.get("correctness") or {}).get("strict") or {}
    if verdict != "correct":
        print("not_ok", "%s: got %s: %s" % (what, verdict, detail))
    elif not loose and not (strict.get("pass") and strict.get("norm_pass")):
        print("not_ok", "%s: correct under crfm only (strict: %d bad elements, norm %s; rel_l2 %g)" % (
            what, strict.get("bad_elements", -1), strict.get("norm_pass"),
            (r.get("correctness") or {}).get("rel_l2_err", -1)))
    else:
        print("ok", what + ": correct")
