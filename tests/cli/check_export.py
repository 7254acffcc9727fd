"""check_export.py - what can be checked of a `kbreed export` without a GPU.

    python3 tests/cli/check_export.py EXPORT_DIR PROBLEM.py SOURCE.cu

model_new.py is imported with torch.utils.cpp_extension.load_inline replaced
by a stand-in that records what it was asked to build and returns a module
that does on the CPU what export/launch.cpp does on the GPU:
run(ins, tag, fn) makes ins contiguous, asks fn (None: the one given to
set_spec_fn) once per (tag, input signature) for the outputs' shapes and
dtypes, allocates them,
and launch(ins, outs) computes what docs/ABI.md says kbreed_forward() must:
in[] = forward()'s arguments, then named_parameters(), then
named_buffers(); out[] = forward()'s results, preallocated. The
stand-in holds the problem's own Model, imported separately, so a wrong
order, count, dtype or output shape in the export shows as an error or a
wrong value. Checked: ModelNew's constructor, forward() signature,
parameters and state_dict against Model's; ModelNew's outputs against
Model's on fresh inputs; the sources and flags given to load_inline.

Not checked here (they need CUDA and nvcc: `make test-gpu`, section 6):
that the kernel compiles under load_inline, its values and speed on the
GPU, and the custom operator of op/ working (torch.library.register_fake
needs torch >= 2.4; CI has Debian's 1.13: tests/cli/test_export.sh only
compiles its C++ for syntax and parses its schema).

Prints "ok - ..." / "not ok - ..." lines; exits 1 when one failed.
"""
import copy
import importlib.util
import inspect
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, exit_status  # noqa: E402  (tests/tap.py)

import torch
import torch.utils.cpp_extension as cpp_extension

export_dir, problem_path, source_path = sys.argv[1:4]




def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


problem = load("kbreed_problem_under_test", problem_path)
calls = []


class Launcher:
    """launch(ins, outs) as the ABI defines it, computed by the problem's Model;
    run(ins, tag, fn), set_spec_fn(fn) and new_tag() as launch.cpp defines them."""

    def __init__(self):
        self.launched = 0
        self.spec_fn = None
        self.specs = {}
        self.asked = 0
        self.tags = 0

    def new_tag(self):
        self.tags += 1
        return self.tags

    def set_spec_fn(self, fn):
        self.spec_fn = fn
        self.specs = {}

    def run(self, ins, tag, fn):
        assert isinstance(tag, int), "tag %r is not an int" % (tag,)
        fn = self.spec_fn if fn is None else fn
        ins = [t.contiguous() for t in ins]
        key = (tag,) + tuple((t.dtype, tuple(t.shape)) for t in ins)
        if key not in self.specs:
            assert fn is not None, "run() with no spec function"
            self.asked += 1
            metas, single = fn(tag, ins)
            assert isinstance(single, bool), "single is %r" % (single,)
            assert all(isinstance(m, torch.Tensor) for m in metas), "the spec is not a list of tensors"
            assert not single or len(metas) == 1, "single, but %d outputs" % len(metas)
            self.specs[key] = ([(tuple(m.shape), m.dtype) for m in metas], single)
        shapes, single = self.specs[key]
        outs = [torch.empty(s, dtype=d) for s, d in shapes]
        self.launch(ins, outs)
        return outs[0] if single else tuple(outs)

    def launch(self, ins, outs):
        self.launched += 1
        ref = problem.Model(*problem.get_init_inputs())
        names = [n for n, _ in ref.named_parameters()] + [n for n, _ in ref.named_buffers()]
        n_args = len(ins) - len(names)
        assert n_args >= 0, "fewer tensors than parameters and buffers: %d" % len(ins)
        for t in list(ins) + list(outs):
            assert isinstance(t, torch.Tensor) and t.is_contiguous(), "a tensor not contiguous"
        state = dict(zip(names, ins[n_args:]))
        try:
            from torch.func import functional_call
        except ImportError:
            from torch.nn.utils.stateless import functional_call
        with torch.no_grad():
            got = functional_call(ref, state, tuple(ins[:n_args]))
        got = [got] if isinstance(got, torch.Tensor) else list(got)
        assert len(got) == len(outs), "%d outputs allocated, forward gives %d" % (len(outs), len(got))
        for o, g in zip(outs, got):
            assert o.shape == g.shape and o.dtype == g.dtype, \
                "output allocated as %s %s, forward gives %s %s" % (o.dtype, tuple(o.shape), g.dtype, tuple(g.shape))
            o.copy_(g)


launcher = Launcher()


def fake_load_inline(**kw):
    calls.append(kw)
    return launcher


cpp_extension.load_inline = fake_load_inline
os.environ.pop("KBREED_ARCH", None)
mn = load("model_new_under_test", os.path.join(export_dir, "model_new.py"))

# --- what load_inline was asked to build ------------------------------------
check("load_inline called once at import", len(calls) == 1, calls)
kw = calls[0] if calls else {}
with open(source_path) as f:
    source = f.read()
with open(os.path.join(export_dir, "kbreed_candidate.h")) as f:
    header = f.read()
cuda = (kw.get("cuda_sources") or [""])[0]
src_lines = [l for l in source.splitlines() if "kbreed_candidate.h" not in l or not l.lstrip().startswith("#")]
cuda_lines = cuda.splitlines()
hdr_lines = header.splitlines()
# The kernel given to nvcc is the stored source with the header written in
# where it was included: take the header's lines out and the rest is the source.
stripped = []
i = 0
while i < len(cuda_lines):
    if cuda_lines[i:i + len(hdr_lines)] == hdr_lines:
        i += len(hdr_lines)
        continue
    stripped.append(cuda_lines[i])
    i += 1
check("the kernel built is the stored source, header written in", stripped == src_lines and header in cuda,
      "%d lines vs %d" % (len(stripped), len(src_lines)))
check("no #include of the ABI header left for load_inline to find",
      not any(l.lstrip().startswith("#") and "kbreed_candidate.h" in l for l in cuda_lines))
check("the wrapper calls kbreed_forward with the current stream",
      "kbreed_forward(" in kw.get("cpp_sources", [""])[0] and "getCurrentCUDAStream" in kw.get("cpp_sources", [""])[0])
check("functions=['launch', 'run', 'new_tag']", kw.get("functions") == ["launch", "run", "new_tag"],
      kw.get("functions"))
cpp = kw.get("cpp_sources", [""])[0]
check("the wrapper defines run() and set_spec_fn(), and no operator (that is op/'s)",
      "py::object run(std::vector<at::Tensor> ins, int64_t tag, py::object spec_fn)" in cpp
      and "int64_t new_tag()" in cpp
      and "TORCH_LIBRARY" not in cpp and "PYBIND11_MODULE" not in cpp)
flags = kw.get("extra_cuda_cflags", [])
check("one target, the run's (no CUDA here): %s" % [f for f in flags if "arch" in f],
      [f for f in flags if "arch" in f] == ["-gencode=arch=compute_90a,code=sm_90a"], flags)
check("PyTorch's half-operator defines undone",
      "-U__CUDA_NO_HALF_OPERATORS__" in flags and "-U__CUDA_NO_HALF_CONVERSIONS__" in flags, flags)
check("-O3", "-O3" in flags and "-O3" in kw.get("extra_cflags", []), flags)
with open(os.path.join(export_dir, "kernel.cu")) as f:
    check("kernel.cu ends with the stored source, byte for byte", f.read().endswith(source))

# --- ModelNew against Model -------------------------------------------------
Model, ModelNew = problem.Model, mn.ModelNew
check("ModelNew is a Model (same constructor, same modules)", issubclass(ModelNew, mn.Model))
sig_ref = [p.name for p in inspect.signature(Model.forward).parameters.values()]
sig_new = [p.name for p in inspect.signature(ModelNew.forward).parameters.values()]
var_args = any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(Model.forward).parameters.values())
check("forward() signature %s" % sig_new, sig_new == sig_ref or (var_args and sig_new == ["self", "args"]),
      (sig_new, sig_ref))
init = problem.get_init_inputs()
torch.manual_seed(7)
ref = Model(*init)
torch.manual_seed(7)
new = ModelNew(*init)
sd_ref, sd_new = ref.state_dict(), new.state_dict()
check("same state_dict keys %s" % list(sd_new), list(sd_ref) == list(sd_new), (list(sd_ref), list(sd_new)))
check("same parameter shapes, dtypes and values",
      all(sd_ref[k].shape == sd_new[k].shape and sd_ref[k].dtype == sd_new[k].dtype and torch.equal(sd_ref[k], sd_new[k])
          for k in sd_ref if k in sd_new))
check("same named_parameters() order",
      [n for n, _ in ref.named_parameters()] == [n for n, _ in new.named_parameters()])
try:
    new.load_state_dict(ref.state_dict(), strict=True)
    check("Model's state_dict loads into ModelNew (strict)", True)
except Exception as e:
    check("Model's state_dict loads into ModelNew (strict)", False, e)
with torch.no_grad():
    for p in new.parameters():  # other values than at init: the kernel must read them
        p.mul_(1.5)
    ref.load_state_dict(new.state_dict())
for seed in (11, 12):
    torch.manual_seed(seed)
    inputs = problem.get_inputs()
    with torch.no_grad():
        want = ref(*inputs)
        try:
            got = new(*inputs)
        except Exception as e:
            check("ModelNew runs (inputs seed %d)" % seed, False, "%s: %s" % (type(e).__name__, e))
            continue
    want = [want] if isinstance(want, torch.Tensor) else list(want)
    got_l = [got] if isinstance(got, torch.Tensor) else list(got)
    check("ModelNew's outputs are Model's (inputs seed %d, through the ABI stand-in)" % seed,
          len(want) == len(got_l) and type(got) is type(want[0] if len(want) == 1 else tuple(want))
          and all(torch.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True) for a, b in zip(want, got_l)))
check("the kernel was launched for each call", launcher.launched == 2, launcher.launched)
check("the outputs' spec asked once for one signature", launcher.asked == 1, launcher.asked)
# A copy (deepcopy goes through __setstate__, as unpickling does) gets a tag
# of its own from the extension, so its outputs' spec is asked for again.
twin = copy.deepcopy(new)
check("ModelNew's tags come from the extension, a copy's too: %r, %r" % (new._kb_tag, twin._kb_tag),
      launcher.tags == 2 and {new._kb_tag, twin._kb_tag} == {1, 2}, launcher.tags)
with torch.no_grad():
    got = twin(*inputs)
check("the copy's outputs are Model's, its spec asked for itself",
      launcher.asked == 2 and all(torch.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
                                  for a, b in zip(want, [got] if isinstance(got, torch.Tensor) else list(got))),
      launcher.asked)
sys.exit(exit_status())
