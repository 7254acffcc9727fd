"""check_cpp_cpu.py - the C++ of tiny_pair's export, built and called on the
CPU with this machine's torch (any version with C++ extensions).

    python3 tests/cli/check_cpp_cpu.py EXPORT_DIR WORK_DIR

EXPORT_DIR is an export of tests/data/tiny_pair.py (a, b, alpha in;
a + alpha * b and a * b out). Its C++ is taken as written, with only what
ties it to CUDA swapped for the CPU (each swap must apply): the two CUDA
headers for a guard and a stream that do nothing, is_cuda() for is_cpu(),
the CUDA dispatch key for CPU. kbreed_forward is a CPU stand-in that
computes tiny_pair. Built into WORK_DIR with torch's own builder:

op/csrc/launch.cpp with torch.utils.cpp_extension.load, then checked
through torch's dispatcher and through the Python module: the schema
registered, the call refused before a spec function is given, the outputs
(a tuple) right, the spec function asked once per signature (and again for
a new shape or after set_spec_fn), run() with its own spec function and
tags from new_tag(), a spec function's Python error raised as itself, a
kernel's refusal as RuntimeError naming KB_ERR_SHAPE.

model_new.py's C++ with load_inline as model_new.py asks for it (its
cpp_sources, functions, name), the CPU stand-in added; then model_new.py
run twice in this process with load_inline answering with that module:
ModelNew's outputs are Model's, instances and copies take tags of their
own, and a ModelNew of the first run still works after the second run
(which shares the extension).

Prints "ok - ..." / "not ok - ..." lines; exits 1 when one failed.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, exit_status  # noqa: E402  (tests/tap.py)

import torch
from torch.utils.cpp_extension import load

export_dir, work = sys.argv[1:3]
op_dir = os.path.join(export_dir, "op")




STUB = r"""/* tiny_pair's kbreed_forward on the CPU: out0 = a + alpha * b, out1 = a * b. */
#include "kbreed_candidate.h"
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	(void)stream;
	if (n_in != 3 || n_out != 2 || in[0].dtype != KB_F32 || in[2].ndim != 0)
		return KB_ERR_SHAPE;
	long n = 1;
	for (int d = 0; d < in[0].ndim; d++)
		n *= in[0].shape[d];
	const float *a = (const float *)in[0].data, *b = (const float *)in[1].data;
	const float alpha = *(const float *)in[2].data;
	float *o0 = (float *)out[0].data, *o1 = (float *)out[1].data;
	for (long i = 0; i < n; i++) {
		o0[i] = a[i] + alpha * b[i];
		o1[i] = a[i] * b[i];
	}
	return KB_OK;
}
"""
CPU_STANDINS = """
namespace c10 { namespace cuda { struct CUDAGuard { explicit CUDAGuard(const at::Device &) {} }; } }
namespace at { namespace cuda {
struct KbStream { void *stream() const { return nullptr; } };
inline KbStream getCurrentCUDAStream(int) { return {}; }
} }
typedef void *cudaStream_t;
"""

pkgs = [d for d in os.listdir(op_dir) if d.startswith("kbreed_")]
ns = pkgs[0] if len(pkgs) == 1 else "?"
with open(os.path.join(op_dir, "csrc", "launch.cpp")) as f:
    cpp = f.read()
swaps = [("#include <ATen/cuda/CUDAContext.h>\n", ""), ("#include <c10/cuda/CUDAGuard.h>\n", CPU_STANDINS),
         ("t.is_cuda()", "t.is_cpu()"), ("dev.is_cuda()", "dev.is_cpu()"), ("(%s, CUDA, m)" % ns, "(%s, CPU, m)" % ns)]
missing = [a for a, _ in swaps if a not in cpp]
check("launch.cpp has what ties it to CUDA where expected (%d swaps)" % len(swaps), not missing, missing)
for a, b in swaps:
    cpp = cpp.replace(a, b)
os.makedirs(os.path.join(work, "build"), exist_ok=True)
with open(os.path.join(work, "launch_cpu.cpp"), "w") as f:
    f.write(cpp)
with open(os.path.join(work, "stub_forward.cpp"), "w") as f:
    f.write(STUB)
try:
    C = load(name="_C", sources=[os.path.join(work, "launch_cpu.cpp"), os.path.join(work, "stub_forward.cpp")],
             extra_include_paths=[os.path.join(op_dir, "csrc")], extra_cflags=["-std=c++17", "-w"],
             build_directory=os.path.join(work, "build"), verbose=False)
    check("launch.cpp builds and loads as a CPU extension", True)
except Exception as e:
    check("launch.cpp builds and loads as a CPU extension", False, str(e)[-2000:])
    sys.exit(1)

op = getattr(torch.ops, ns).forward
schema = str(op.default._schema)
check("the operator is registered: %s" % schema,
      schema == "%s::forward(Tensor a, Tensor b, Tensor alpha) -> (Tensor, Tensor)" % ns, schema)
torch.manual_seed(5)
a, b, alpha = torch.randn(8, 33), torch.randn(8, 33), torch.tensor(0.5)
try:
    op(a, b, alpha)
    check("called before set_spec_fn: refused", False)
except RuntimeError as e:
    check("called before set_spec_fn: refused", "set_spec_fn was not called" in str(e), e)

asked = []


def spec(tag, ins):
    asked.append((tag, [tuple(t.shape) for t in ins]))
    return [torch.empty(ins[0].shape, device="meta"), torch.empty(ins[0].shape, device="meta")], False


C.set_spec_fn(spec)
outs = [op(a, b, alpha) for _ in range(3)]
check("through the dispatcher: a tuple of a + alpha * b and a * b",
      all(isinstance(o, tuple) and len(o) == 2 and torch.allclose(o[0], a + 0.5 * b) and torch.equal(o[1], a * b)
          for o in outs))
check("each call's outputs are new tensors", outs[0][0].data_ptr() != outs[1][0].data_ptr())
check("the spec asked once for three calls, with tag 0 and in[]: %s" % asked,
      asked == [(0, [(8, 33), (8, 33), ()])], asked)
got = op(a.t().contiguous().t(), b, alpha)
check("a non-contiguous input made contiguous", torch.allclose(got[0], a + 0.5 * b) and len(asked) == 1, asked)
a2, b2 = torch.randn(3, 5), torch.randn(3, 5)
got = op(a2, b2, alpha)
check("a new shape: asked again, outputs of that shape",
      len(asked) == 2 and got[0].shape == (3, 5) and torch.equal(got[1], a2 * b2), asked)

got = C.run([a, b, alpha], 0, None)
check("run(ins, 0, None): set_spec_fn's function, its cache", isinstance(got, tuple) and len(asked) == 2
      and torch.equal(got[1], a * b), asked)
t1, t2 = C.new_tag(), C.new_tag()
check("new_tag(): 1, then 2", (t1, t2) == (1, 2), (t1, t2))
own = []


def spec_own(tag, ins):
    own.append(tag)
    return spec(tag, ins)


C.run([a, b, alpha], t1, spec_own)
C.run([a, b, alpha], t1, spec_own)
C.run([a, b, alpha], t2, spec_own)
check("run(ins, tag, fn): fn asked once per tag and signature: %s" % own, own == [t1, t2], own)


def spec_raises(tag, ins):
    raise ValueError("kbreed test: the spec function failed")


try:
    C.run([a, b, alpha], C.new_tag(), spec_raises)
    check("a spec function's error raised as itself", False)
except ValueError as e:
    check("a spec function's error raised as itself", "spec function failed" in str(e), e)


def spec_single(tag, ins):
    return [torch.empty(ins[0].shape, device="meta")], True


C.set_spec_fn(spec_single)
try:
    op(a, b, alpha)
    check("a kernel's refusal raised, naming KB_ERR_SHAPE", False)
except RuntimeError as e:
    check("a kernel's refusal raised, naming KB_ERR_SHAPE", "KB_ERR_SHAPE" in str(e), e)

# --- model_new.py's C++, as load_inline builds it -----------------------------
import importlib.util  # noqa: E402

import torch.utils.cpp_extension as cpp_extension  # noqa: E402

real_load_inline = cpp_extension.load_inline
asked_for = []


def ask(**kw):
    asked_for.append(kw)
    raise SystemExit(0)


def run_model_new(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(export_dir, "model_new.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cpp_extension.load_inline = ask
try:
    run_model_new("model_new_asks")
except SystemExit:
    pass
kw = asked_for[0]
src = kw["cpp_sources"][0]
inline_swaps = [a for a in swaps if "CUDA, m)" not in a[0]]
missing = [a for a, _ in inline_swaps if a not in src]
check("model_new.py's C++ has what ties it to CUDA where expected (%d swaps), and no operator" % len(inline_swaps),
      not missing and "TORCH_LIBRARY" not in src, missing)
for a, b in inline_swaps:
    src = src.replace(a, b)
os.makedirs(os.path.join(work, "inline"), exist_ok=True)
try:
    ext = real_load_inline(name=kw["name"], cpp_sources=[src + STUB.replace('#include "kbreed_candidate.h"', "")],
                           functions=kw["functions"], extra_cflags=["-std=c++17", "-w"],
                           build_directory=os.path.join(work, "inline"), verbose=False)
    check("model_new.py's C++ builds with load_inline (functions=%s)" % kw["functions"], True)
except Exception as e:
    check("model_new.py's C++ builds with load_inline", False, str(e)[-2000:])
    sys.exit(1)
cpp_extension.load_inline = lambda **kw: ext
first = run_model_new("model_new_first")
torch.manual_seed(6)
inputs = first.get_inputs()
want = first.Model()(*inputs)
m1, m2 = first.ModelNew(), first.ModelNew()
got = m1(*inputs)
check("ModelNew's outputs are Model's, through the C++ run()",
      isinstance(got, tuple) and all(torch.allclose(g, w) for g, w in zip(got, want)))
import copy  # noqa: E402
twin = copy.deepcopy(m1)
tags = [m1._kb_tag, m2._kb_tag, twin._kb_tag]
check("each ModelNew and a copy take a tag of their own: %s" % tags, len(set(tags)) == 3, tags)
check("the copy computes the same", all(torch.allclose(g, w) for g, w in zip(twin(*inputs), want)))
second = run_model_new("model_new_second")
m3 = second.ModelNew()
check("after model_new.py ran again in this process, old and new ModelNew both compute (tags %d, %d)"
      % (m1._kb_tag, m3._kb_tag),
      m3._kb_tag not in tags and all(torch.allclose(g, w) for g, w in zip(m1(*inputs), want))
      and all(torch.allclose(g, w) for g, w in zip(m3(*inputs), want)))
a2 = [torch.randn(2, 7), torch.randn(2, 7), 2.0]
check("a new shape and number: outputs of that shape",
      all(torch.allclose(g, w) for g, w in zip(m1(*a2), first.Model()(*a2))))
sys.exit(exit_status())
