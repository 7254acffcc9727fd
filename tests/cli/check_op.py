"""check_op.py - the custom operator of a `kbreed export` (op/), as far as a
machine without CUDA and with torch < 2.4 can check it.

    python3 tests/cli/check_op.py OP_DIR PROBLEM.py

The operator's schema is expected from the problem itself, independently of
kbreed: one Tensor per forward() argument (a number included: in[] carries
it as a 0-d tensor), then per named_parameters() and named_buffers() entry
(dots as underscores), returning Tensor or a tuple of as many Tensors as
Model.forward gives on get_inputs(). Checked: csrc/launch.cpp defines the
operator with exactly that schema (which torch's own schema parser accepts)
in TORCH_LIBRARY of the package's namespace, implements it for CUDA in
TORCH_LIBRARY_IMPL, names the package as its Python module and exports
launch, run, set_spec_fn and new_tag; the package registers its fake implementation
for that operator with the schema's argument names, gives the C++ side its
spec function and calls _C.run in ModelNew's eager path; setup.py builds
the extension as <package>._C. Compiling launch.cpp is test_export.sh's.

Prints "ok - ..." / "not ok - ..." lines; exits 1 when one failed.
"""
import ast
import importlib.util
import inspect
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import check, exit_status  # noqa: E402  (tests/tap.py)

import torch

op_dir, problem_path = sys.argv[1:3]




spec = importlib.util.spec_from_file_location("kbreed_problem_for_op", problem_path)
problem = importlib.util.module_from_spec(spec)
spec.loader.exec_module(problem)

model = problem.Model(*problem.get_init_inputs())
args = [p.name for p in list(inspect.signature(model.forward).parameters.values())]
names = args + [n.replace(".", "_") for n, _ in list(model.named_parameters()) + list(model.named_buffers())]
with torch.no_grad():
    out = model(*problem.get_inputs())
n_out = 1 if isinstance(out, torch.Tensor) else len(out)
want = "forward(%s) -> %s" % (", ".join("Tensor " + n for n in names),
                              "Tensor" if n_out == 1 else "(%s)" % ", ".join(["Tensor"] * n_out))

pkgs = [d for d in os.listdir(op_dir) if d.startswith("kbreed_") and os.path.isdir(os.path.join(op_dir, d))]
check("one package in op/", len(pkgs) == 1, pkgs)
ns = pkgs[0] if pkgs else "?"
with open(os.path.join(op_dir, "csrc", "launch.cpp")) as f:
    cpp = f.read()
with open(os.path.join(op_dir, ns, "__init__.py")) as f:
    init = f.read()
with open(os.path.join(op_dir, "setup.py")) as f:
    setup = f.read()

# --- the C++ registration ---------------------------------------------------
defs = re.findall(r'm\.def\("(forward\([^"]*)"\)', cpp)
check("launch.cpp defines one operator: %s" % defs, len(defs) == 1, defs)
got = defs[0] if defs else ""
check("its schema is the problem's: %s" % want, got == want, "got %r" % got)
try:
    schema = torch._C.parse_schema(got)
    check("torch parses the schema", True)
    check("the schema's arguments are Tensors named as the op's: %s" % [a.name for a in schema.arguments],
          [a.name for a in schema.arguments] == names and all(str(a.type) == "Tensor" for a in schema.arguments),
          [(a.name, str(a.type)) for a in schema.arguments])
    check("the schema returns %d tensor(s)" % n_out,
          len(schema.returns) == n_out and all(str(r.type) == "Tensor" for r in schema.returns))
except RuntimeError as e:
    check("torch parses the schema", False, e)
check("TORCH_LIBRARY(%s, m)" % ns, re.findall(r"\bTORCH_LIBRARY\((\w+), m\)", cpp) == [ns],
      re.findall(r"\bTORCH_LIBRARY\((\w+), m\)", cpp))
check("TORCH_LIBRARY_IMPL(%s, CUDA, m) implements forward" % ns,
      re.findall(r"\bTORCH_LIBRARY_IMPL\((\w+), (\w+), m\)", cpp) == [(ns, "CUDA")]
      and cpp.count('m.impl("forward", ') == 1)
check("the operator names its Python module (for the fake): %s" % ns,
      'm.set_python_module("%s")' % ns in cpp and 'm.impl_abstract_pystub("%s")' % ns in cpp)
check("the Python module exports launch, run, set_spec_fn and new_tag",
      all('m.def("%s", &%s,' % (f, f) in cpp for f in ("launch", "run", "set_spec_fn", "new_tag"))
      and "PYBIND11_MODULE(TORCH_EXTENSION_NAME, m)" in cpp)
check("the CUDA kernel allocates through kb_run, with the package's tag 0 and spec function",
      "kb_run(0, ins, &single, nullptr)" in cpp)

# --- the package --------------------------------------------------------------
tree = ast.parse(init)
fakes = [f for f in tree.body if isinstance(f, ast.FunctionDef) and any(
    isinstance(d, ast.Call) and ast.unparse(d.func) == "torch.library.register_fake"
    and [ast.literal_eval(a) for a in d.args] == ["%s::forward" % ns] for d in f.decorator_list)]
check("register_fake(\"%s::forward\") on one function" % ns, len(fakes) == 1)
if fakes:
    fake_args = [a.arg for a in fakes[0].args.args]
    check("the fake takes the schema's arguments: %s" % fake_args, fake_args == names, (fake_args, names))
calls = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Call)]
check("the package gives the C++ side its spec function", "_C.set_spec_fn(_spec)" in calls, calls)
check("ModelNew: torch.ops under torch.compile, _C.run in eager mode",
      "forward(*tensors)" in calls and "_C.run(tensors, 0, _spec)" in calls
      and "forward = torch.ops.%s.forward" % ns in init)
check("no torch.library.custom_op (the op is C++'s)", "custom_op(" not in init)
check("setup.py builds %s._C from launch.cpp and kernel.cu" % ns,
      '"%s._C", ["csrc/launch.cpp", "csrc/kernel.cu"]' % ns in setup)
sys.exit(exit_status())
