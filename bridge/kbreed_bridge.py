#!/usr/bin/env python3
"""kbreed_bridge.py - the PyTorch side of kbreed, and the only Python in it.

kbreed breeds fast CUDA kernels against PyTorch references. Its pipeline is

    problem -> propose -> realize -> compile -> evaluate -> store -> report

and this bridge serves two of those stages. For *problem* it reads a
KernelBench-format file (`class Model(nn.Module)`, `get_inputs()`,
`get_init_inputs()`) and says what tensors go in and come out (`describe`).
For *evaluate* it writes the reference data a candidate kernel is judged
against (`reference`), times PyTorch itself as the baseline to beat (`time`),
and measures the GPU's bandwidth and matrix-product ceilings (`ceilings`).

The C side (src/bridge.c) runs it as a child process:

    PYTHON bridge/kbreed_bridge.py COMMAND ARGS...

docs/BRIDGE.md is the contract. In short: every command prints exactly one
JSON object on stdout and exits 0, or prints {"error": "message"} and exits
non-zero (2 = bad problem file, 3 = torch missing or broken, 4 = no CUDA where
it is needed, 1 = anything else). Everything else - warnings, tracebacks,
whatever a problem file prints - goes to stderr: file descriptor 1 is pointed
at stderr as soon as the bridge starts and the JSON goes to a saved copy.

It needs the standard library, torch, and numpy (for writing tensor bytes),
and runs on torch 1.13 (CPU, as in CI) as well as torch 2.x with CUDA.
"""

import argparse
import copy
import hashlib
import importlib.util
import inspect
import json
import os
import platform
import re
import statistics
import sys
import time
import traceback
import warnings

EXIT_OTHER = 1       # anything not listed below
EXIT_PROBLEM = 2     # the problem file is unusable (or not deterministic)
EXIT_TORCH = 3       # torch (or numpy, which torch needs here) cannot be imported
EXIT_NO_CUDA = 4     # the command needs CUDA and there is none

DEFAULT_SEED = 42
MAX_DIMS = 8         # KBREED_MAX_DIMS in include/kbreed_candidate.h

# Stressed input sets (reference --stress), in the order they are made:
# STRESS_NAMES in src/bridge_json.c lists the same names.
STRESS_KINDS = ("scale_up", "scale_down", "shift", "ties", "clustered_max")
STRESS_SCALE_UP = 1e3
STRESS_SCALE_DOWN = 1e-3
STRESS_SHIFT_RMS = 100.0     # shift: + 100 x the tensor's rms
STRESS_TIES_LEVELS = 4       # ties: a grid step of rms / 4, rounded to a power of two

torch = None         # bound by _import_torch(), so that a missing torch is exit 3, not a crash
VERBOSE = False      # --verbose: log where the time goes (kbreed -v passes it)

# ---------------------------------------------------------------------------
# errors and output
# ---------------------------------------------------------------------------


class BridgeError(Exception):
    """An error with a message for the C side and the exit status to use."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _log(msg):
    print("kbreed_bridge: " + msg, file=sys.stderr, flush=True)


class _Phases:
    """Seconds spent in each phase of a piece of work, for --verbose. Phases
    are named as they are entered (`with ph("write"):`); a phase entered again
    adds to its time. On CUDA the device is synchronised at the end of each
    phase, so that asynchronous work is charged to the phase that queued it;
    without --verbose nothing is measured and nothing synchronised."""

    def __init__(self, device):
        self.sync = VERBOSE and device == "cuda"
        self.seconds = {}    # phase name -> seconds, in the order first entered

    def __call__(self, name):
        return _PhaseTimer(self, name)

    def line(self):
        total = sum(self.seconds.values())
        parts = ["%s %.2f" % (k, v) for k, v in self.seconds.items()]
        return "%.2f s: %s" % (total, ", ".join(parts))


class _PhaseTimer:
    def __init__(self, phases, name):
        self.phases, self.name = phases, name

    def __enter__(self):
        if VERBOSE:
            self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if VERBOSE:
            if self.phases.sync:
                torch.cuda.synchronize()
            dt = time.perf_counter() - self.start
            self.phases.seconds[self.name] = self.phases.seconds.get(self.name, 0.0) + dt
        return False


def _claim_stdout():
    """Keeps stdout for the one JSON answer: returns a duplicate of fd 1 and
    points fd 1 at stderr, so that prints from problem files, torch.compile
    or C extensions cannot corrupt the answer."""
    try:
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
        return fd
    except OSError:
        return 1


def _emit(fd, obj):
    data = (json.dumps(obj, allow_nan=False) + "\n").encode("utf-8")
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _python_id():
    return "%s (Python %s)" % (sys.executable or "python", platform.python_version())


def _import_torch():
    global torch
    try:
        import torch as t  # noqa: F401
    except ImportError as e:
        raise BridgeError(EXIT_TORCH, "torch is missing: %s cannot import it (%s); set "
                          "KBREED_PYTHON to a Python that has PyTorch" % (_python_id(), e))
    except Exception as e:  # a broken install raises all sorts of things
        raise BridgeError(EXIT_TORCH, "torch is broken: importing it in %s raised %s: %s"
                          % (_python_id(), type(e).__name__, e))
    torch = t


def _torch_version():
    return torch.__version__.split("+")[0]


def _require_cuda(command):
    if not torch.cuda.is_available():
        raise BridgeError(EXIT_NO_CUDA, "%s needs CUDA, but torch %s in %s sees no CUDA device "
                          "(built for CUDA %s)" % (command, torch.__version__, _python_id(),
                                                   torch.version.cuda or "none"))


def _set_flag(obj, attr, value):
    """Sets a torch.backends flag through its long-standing name, only when it
    differs. Newer torch (2.9+) warns that these names are deprecated in favour
    of fp32_precision, but mixing the two APIs can raise, and torch.compile
    still reads the old one, so the bridge uses the old one consistently."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            current = getattr(obj, attr)
        except Exception:   # torch.backends.cuda.matmul raises AssertionError for unknown names
            return
        if current != value:
            setattr(obj, attr, value)


def _set_tf32(matmul, cudnn):
    _set_flag(torch.backends.cuda.matmul, "allow_tf32", matmul)
    _set_flag(torch.backends.cudnn, "allow_tf32", cudnn)


# ---------------------------------------------------------------------------
# problem files
# ---------------------------------------------------------------------------

DTYPE_NAMES = {}   # torch.dtype -> kbreed name; filled once torch is imported
DTYPE_SIZES = {"f32": 4, "f16": 2, "bf16": 2, "f64": 8, "i32": 4, "i64": 8, "bool": 1}


def _dtype_name(dtype, what, path):
    if not DTYPE_NAMES:
        DTYPE_NAMES.update({torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
                            torch.float64: "f64", torch.int32: "i32", torch.int64: "i64",
                            torch.bool: "bool"})
    name = DTYPE_NAMES.get(dtype)
    if name is None:
        raise BridgeError(EXIT_PROBLEM, "%s: %s has dtype %s; kbreed supports %s"
                          % (path, what, dtype, " ".join(DTYPE_SIZES)))
    return name


def _entry(name, t, path):
    """One tensor's description: {"name", "dtype", "shape"}."""
    what = "%s %s" % ("tensor", name)
    if t.dim() > MAX_DIMS:
        raise BridgeError(EXIT_PROBLEM, "%s: %s has %d dimensions; kbreed supports at most %d"
                          % (path, what, t.dim(), MAX_DIMS))
    return {"name": name, "dtype": _dtype_name(t.dtype, what, path), "shape": list(t.shape)}


def _entry_bytes(e):
    n = DTYPE_SIZES[e["dtype"]]
    for d in e["shape"]:
        n *= d
    return n


class Problem:
    """A loaded problem file and its kbreed metadata."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.name = os.path.splitext(os.path.basename(path))[0]
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise BridgeError(EXIT_PROBLEM, "cannot read problem file %s: %s" % (path, e.strerror or e))
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.inputs_on_cpu = False   # make_inputs: the device would not do
        self.module = self._load(data)
        m = self.module
        for attr, kind in (("Model", "class Model(nn.Module)"), ("get_inputs", "get_inputs()"),
                           ("get_init_inputs", "get_init_inputs()")):
            if not callable(getattr(m, attr, None)):
                raise BridgeError(EXIT_PROBLEM, "%s: no %s; a KernelBench problem defines "
                                  "class Model(nn.Module), get_inputs() and get_init_inputs()"
                                  % (self.path, kind))
        self.declared = [a for a in ("KBREED_FAMILY", "KBREED_OP", "KBREED_DEFINES", "KBREED_FLOPS")
                         if hasattr(m, a)]
        self.family = self._meta_str("KBREED_FAMILY", "generic")
        self.op = self._meta_str("KBREED_OP", self.name)
        self.notes = self._meta_str("KBREED_NOTES", "")
        flops = getattr(m, "KBREED_FLOPS", None)
        if flops is not None:
            if isinstance(flops, bool) or not isinstance(flops, (int, float)) or flops < 0 \
                    or flops != flops or flops == float("inf"):
                raise BridgeError(EXIT_PROBLEM, "%s: KBREED_FLOPS must be a non-negative number, "
                                  "not %r" % (self.path, flops))
            flops = int(flops)
        self.flops = flops   # None: count them
        self.defines = self._defines()
        self.stress = self._stress()

    def _load(self, data):
        # The module name comes from a hash of the path and bytes, so two
        # problem files with the same stem never share a sys.modules entry.
        digest = hashlib.sha256(self.path.encode("utf-8") + b"\0" + data).hexdigest()[:16]
        modname = "kbreed_problem_" + digest
        try:
            spec = importlib.util.spec_from_file_location(modname, self.path)
            if spec is None or spec.loader is None:
                raise BridgeError(EXIT_PROBLEM, "%s: not loadable as a Python module "
                                  "(does it end in .py?)" % self.path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            sys.dont_write_bytecode = True   # leave no __pycache__ beside problem files
            spec.loader.exec_module(module)
        except BridgeError:
            raise
        except SyntaxError as e:
            raise BridgeError(EXIT_PROBLEM, "%s: syntax error at line %s: %s"
                              % (self.path, e.lineno, e.msg))
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            raise BridgeError(EXIT_PROBLEM, "%s: loading it raised %s: %s"
                              % (self.path, type(e).__name__, e))
        return module

    def _defines(self):
        """KBREED_DEFINES: hyper-parameters no tensor carries (a stride, a pool
        window), as {NAME: number}; kbreed prepends them to realised templates
        as #define lines."""
        d = getattr(self.module, "KBREED_DEFINES", {})
        if not isinstance(d, dict):
            raise BridgeError(EXIT_PROBLEM, "%s: KBREED_DEFINES must be a dict of NAME: number, "
                              "not %r" % (self.path, d))
        for k, v in d.items():
            if not isinstance(k, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k) \
                    or isinstance(v, bool) or not isinstance(v, (int, float)) or v != v \
                    or v in (float("inf"), float("-inf")):
                raise BridgeError(EXIT_PROBLEM, "%s: KBREED_DEFINES entry %r: %r must be a C "
                                  "identifier and a finite number" % (self.path, k, v))
        return dict(d)

    def _stress(self):
        """KBREED_STRESS: the stressed input kinds the operator's domain
        allows, a list of names from STRESS_KINDS ([] for none); absent: all."""
        v = getattr(self.module, "KBREED_STRESS", None)
        if v is None:
            return list(STRESS_KINDS)
        if not isinstance(v, (list, tuple)):
            raise BridgeError(EXIT_PROBLEM, "%s: KBREED_STRESS must be a list of stress kinds "
                              "(%s), or [] for none, not %r"
                              % (self.path, ", ".join(STRESS_KINDS), v))
        seen = []
        for k in v:
            if not isinstance(k, str) or k not in STRESS_KINDS:
                raise BridgeError(EXIT_PROBLEM, "%s: KBREED_STRESS names %r, which is no stress "
                                  "kind; kinds: %s" % (self.path, k, ", ".join(STRESS_KINDS)))
            if k in seen:
                raise BridgeError(EXIT_PROBLEM, "%s: KBREED_STRESS names %r twice" % (self.path, k))
            seen.append(k)
        return [k for k in STRESS_KINDS if k in seen]   # kbreed's order, whatever the file's

    def _meta_str(self, attr, default):
        v = getattr(self.module, attr, default)
        if not isinstance(v, str):
            raise BridgeError(EXIT_PROBLEM, "%s: %s must be a string, not %r" % (self.path, attr, v))
        return " ".join(v.split()) if attr == "KBREED_NOTES" else v.strip()

    # -- calling into the file ----------------------------------------------

    def _user(self, what, fn, *args):
        """Runs problem code; an exception becomes exit 1 naming the file."""
        try:
            return fn(*args)
        except BridgeError:
            raise
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            raise BridgeError(EXIT_OTHER, "%s: %s raised %s: %s"
                              % (self.path, what, type(e).__name__, _short(e)))

    def build_model(self, seed):
        """Model(*get_init_inputs()) under torch.manual_seed(seed)."""
        torch.manual_seed(seed)
        init = self._user("get_init_inputs()", self.module.get_init_inputs)
        if not isinstance(init, (list, tuple)):
            raise BridgeError(EXIT_PROBLEM, "%s: get_init_inputs() returned %s, expected a list "
                              "or tuple" % (self.path, type(init).__name__))
        model = self._user("Model(*get_init_inputs())", self.module.Model, *init)
        if not isinstance(model, torch.nn.Module):
            raise BridgeError(EXIT_PROBLEM, "%s: Model is not a torch.nn.Module (got %s)"
                              % (self.path, type(model).__name__))
        return model

    def make_inputs(self, seed, device=None):
        """get_inputs() under torch.manual_seed(seed), checked. With a CUDA
        device (the references), its tensor factories make the tensors
        there: on one CPU core torch.randn and .half() of attention's three
        268 MB inputs take about 8 s a set (1.9 s and 0.8 s a tensor on the
        development machine), and the references make 9 sets; a one-minute
        run on the H200 waited 50 s for them. The same seed gives the same
        values there each time (the references make a set again for its
        stressed copies); a get_inputs() that cannot run so (numpy on a
        tensor, say), or a torch without device contexts, makes them on the
        CPU, as describe does."""
        if (device is not None and str(device).startswith("cuda") and hasattr(torch.device, "__enter__")
                and not self.inputs_on_cpu):
            try:
                with torch.device(device):
                    inputs = self._seeded_inputs(seed)
                return self._checked_inputs(inputs)
            except BridgeError:
                raise
            except Exception as e:
                _log("%s: get_inputs() on %s raised %s; its inputs are made on the CPU"
                     % (self.path, device, _short(e, 200)))
                self.inputs_on_cpu = True
        return self._checked_inputs(self._user("get_inputs()", self._seeded_inputs, seed))

    def _seeded_inputs(self, seed):
        if seed is not None:
            torch.manual_seed(seed)
        return self.module.get_inputs()

    def _checked_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise BridgeError(EXIT_PROBLEM, "%s: get_inputs() returned %s, expected a list or "
                              "tuple of tensors" % (self.path, type(inputs).__name__))
        inputs = list(inputs)
        for j, t in enumerate(inputs):
            if isinstance(t, (int, float)) and not isinstance(t, bool):
                # A Python number (a scale factor) becomes a 0-d tensor: the
                # candidate ABI carries tensors only.
                inputs[j] = t = torch.tensor(t)
            if not isinstance(t, torch.Tensor):
                raise BridgeError(EXIT_PROBLEM, "%s: get_inputs() element %d is %s, expected a "
                                  "tensor" % (self.path, j, type(t).__name__))
        return list(inputs)

    def forward(self, model, inputs):
        """model(*inputs) without autograd; returns the outputs as a list."""
        with torch.no_grad():
            out = self._user("Model.forward", model, *inputs)
        return self.check_outputs(out)

    def check_outputs(self, out):
        if isinstance(out, torch.Tensor):
            return [out]
        if isinstance(out, (list, tuple)) and out and all(isinstance(t, torch.Tensor) for t in out):
            return list(out)
        if isinstance(out, (list, tuple)) and not out:
            got = "an empty %s" % type(out).__name__
        elif isinstance(out, (list, tuple)):
            kinds = ", ".join(sorted(set(type(t).__name__ for t in out)))
            got = "a %s holding %s" % (type(out).__name__, kinds)
        else:
            got = type(out).__name__
        raise BridgeError(EXIT_PROBLEM, "%s: Model.forward returned %s, expected a tensor or a "
                          "tuple of tensors" % (self.path, got))

    def input_names(self, model, n):
        """forward()'s positional parameter names, else in0, in1, ..."""
        names = []
        try:
            for p in inspect.signature(model.forward).parameters.values():
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                    names.append(p.name)
                else:
                    break
        except (TypeError, ValueError):
            pass
        out = []
        for j in range(n):
            name = names[j] if j < len(names) else "in%d" % j
            out.append(name if name not in out else "in%d" % j)
        return out

    def describe_tensors(self, model, inputs, outputs):
        """The inputs/params/outputs lists of describe and the manifest."""
        ins = [_entry(n, t, self.path) for n, t in zip(self.input_names(model, len(inputs)), inputs)]
        params = [_entry(n, t, self.path) for n, t in _params_and_buffers(model)]
        outs = [_entry("out%d" % j, t, self.path) for j, t in enumerate(outputs)]
        return ins, params, outs


def _short(e, limit=2000):
    s = str(e).strip()
    return s if len(s) <= limit else s[:limit] + "..."


def _params_and_buffers(model):
    return list(model.named_parameters()) + list(model.named_buffers())


# ---------------------------------------------------------------------------
# the op graph
# ---------------------------------------------------------------------------
#
# describe records Model.forward as the ATen operators it calls: a
# TorchDispatchMode (the mechanism make_fx is built on, present from torch
# 1.13 to 2.x) sees every operator after autograd and after composite ops have
# been broken down, with concrete (meta) tensors, so shapes are known and
# Python control flow needs no tracing. docs/BRIDGE.md has the JSON format.

GRAPH_MAX_OPS = 8192        # GRAPH_MAX_OPS in src/graph.h
GRAPH_MAX_TENSORS = 16384   # GRAPH_MAX_TENSORS
GRAPH_MAX_LIST = 64         # GRAPH_MAX_LIST
GRAPH_MAX_NAME = 256        # GRAPH_MAX_NAME


class _GraphError(Exception):
    """The forward ran, but its graph cannot be described (too big, a dtype
    or rank kbreed cannot carry, or the recorder met something unexpected)."""


def _graph_value(v):
    """A non-tensor argument as JSON: bool, int, float (non-finite ones as
    the strings "inf", "-inf", "nan"), a list of numbers, a string, or None.
    Raises _GraphError for anything else."""
    if v is None or isinstance(v, (bool, str)):
        if isinstance(v, str) and len(v.encode("utf-8")) > GRAPH_MAX_NAME:
            raise _GraphError("a string argument is longer than %d bytes" % GRAPH_MAX_NAME)
        return v
    if isinstance(v, int):
        if not -2**63 <= v < 2**63:
            raise _GraphError("an integer argument does not fit 64 bits")
        return v
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, (list, tuple, torch.Size)):
        if len(v) > GRAPH_MAX_LIST:
            raise _GraphError("a list argument has more than %d elements" % GRAPH_MAX_LIST)
        items = [_graph_value(x) for x in v]
        if all(isinstance(x, int) and not isinstance(x, bool) for x in items):
            return items
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in items):
            return [float(x) for x in items]
        raise _GraphError("a list argument holds %s" % ", ".join(sorted(set(type(x).__name__ for x in v))))
    if isinstance(v, torch.dtype):
        return DTYPE_NAMES.get(v, str(v).replace("torch.", ""))
    if isinstance(v, (torch.device, torch.layout, torch.memory_format)):
        return str(v).replace("torch.", "")
    try:   # SymInt / SymFloat, or a torch scalar type of the newer releases
        if isinstance(v, torch.SymInt):
            return _graph_value(int(v))
    except AttributeError:
        pass
    raise _GraphError("an argument of type %s" % type(v).__name__)


def _GraphRecorder(inputs, params):
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):
        """Keeps every tensor it sees alive (so that id() stays unique) and
        numbers it: inputs, then parameters, then the rest as met."""

        def __init__(self):
            super().__init__()
            self.tensors = []    # [kind, index, name, tensor]
            self.ids = {}        # id(tensor) -> number
            self.ops = []
            self.error = None
            for j, t in enumerate(inputs):
                self._add(t, "input", j, None)
            for j, (name, t) in enumerate(params):
                if id(t) not in self.ids:
                    self._add(t, "param", j, name)

        def _add(self, t, kind, index, name):
            if len(self.tensors) >= GRAPH_MAX_TENSORS:
                raise _GraphError("more than %d tensors" % GRAPH_MAX_TENSORS)
            n = len(self.tensors)
            self.tensors.append([kind, index, name, t])
            self.ids[id(t)] = n
            return n

        def _ref(self, t):
            n = self.ids.get(id(t))
            return n if n is not None else self._add(t, "const", -1, None)

        def _record(self, func, args, kwargs, out):
            if len(self.ops) >= GRAPH_MAX_OPS:
                raise _GraphError("more than %d operators" % GRAPH_MAX_OPS)
            schema = func._schema
            bound = {}
            for j, a in enumerate(schema.arguments):
                if j < len(args):
                    bound[a.name] = args[j]
                elif a.name in kwargs:
                    bound[a.name] = kwargs[a.name]
                elif a.default_value is not None and not a.kwarg_only:
                    v = a.default_value   # int[2] padding=0 stands for [0, 0]
                    n = getattr(a, "N", None)
                    bound[a.name] = [v] * n if isinstance(v, int) and n else v
            op_args, attrs = [], {}
            for name, v in bound.items():
                if isinstance(v, torch.Tensor):
                    op_args.append({"name": name, "tensor": self._ref(v)})
                elif isinstance(v, (list, tuple)) and v and all(isinstance(x, torch.Tensor) for x in v):
                    op_args.extend({"name": name, "tensor": self._ref(x)} for x in v)
                elif isinstance(v, (list, tuple)) and any(isinstance(x, torch.Tensor) for x in v):
                    op_args.extend({"name": name, "tensor": self._ref(x)} for x in v
                                   if isinstance(x, torch.Tensor))   # Tensor?[]: Nones dropped
                else:
                    attrs[name] = _graph_value(v)
            flat = list(out) if isinstance(out, (list, tuple)) else [out]
            outs = []
            number = len(self.ops)
            for t in flat:
                if isinstance(t, torch.Tensor):
                    outs.append(self._add(t, "inter", number, None))   # in place: a new number
            packet = func.overloadpacket.__name__
            self.ops.append({"op": "aten." + packet if "::" not in str(schema.name) or
                             schema.name.startswith("aten::") else schema.name.replace("::", "."),
                             "overload": func._overloadname, "args": op_args,
                             "attrs": attrs, "outputs": outs})

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if self.error is None:
                try:
                    self._record(func, args, kwargs, out)
                except _GraphError as e:
                    self.error = str(e)
                except Exception as e:   # the recorder's fault; the forward goes on
                    self.error = "recording %s raised %s: %s" % (func, type(e).__name__, _short(e, 300))
            return out

        def graph(self, ins, params_desc, outputs):
            """The JSON graph, given describe's input and param entries."""
            if self.error is not None:
                raise _GraphError(self.error)
            tensors = []
            for kind, index, name, t in self.tensors:
                if t.dim() > MAX_DIMS:
                    raise _GraphError("a tensor has %d dimensions; kbreed carries at most %d"
                                      % (t.dim(), MAX_DIMS))
                if kind == "input":
                    name = ins[index]["name"]
                elif kind == "param":
                    name = params_desc[index]["name"]
                e = {"kind": kind, "name": name or "t%d" % len(tensors),
                     "dtype": DTYPE_NAMES.get(t.dtype, "other"), "shape": list(t.shape)}
                if kind in ("input", "param"):
                    e["index"] = index
                tensors.append(e)
            outs = []
            for t in outputs:
                n = self.ids.get(id(t))
                if n is None:
                    raise _GraphError("forward returned a tensor no operator made")
                outs.append(n)
            return {"tensors": tensors, "ops": self.ops, "outputs": outs}

    return Recorder()


# ---------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------


def _has_device_context():
    try:
        with torch.device("meta"):
            pass
        return True
    except Exception:
        return False


def _flop_counter():
    try:
        from torch.utils.flop_counter import FlopCounterMode
        return FlopCounterMode
    except Exception:
        return None


def _forward_counting(prob, model, inputs, count):
    """Forward, counting FLOPs with FlopCounterMode when asked and possible,
    and recording the op graph. Returns (outputs, flops or None, recorder)."""
    counter = _flop_counter() if count else None
    if counter is not None:
        try:
            recorder = _GraphRecorder(inputs, _params_and_buffers(model))
            with torch.no_grad():
                with counter(display=False) as fc:
                    with recorder:
                        out = model(*inputs)
            return prob.check_outputs(out), int(fc.get_total_flops()), recorder
        except BridgeError:
            raise
        except Exception as e:
            _log("counting FLOPs failed (%s: %s); running without the counter"
                 % (type(e).__name__, _short(e, 300)))
    recorder = _GraphRecorder(inputs, _params_and_buffers(model))
    with recorder:
        outputs = prob.forward(model, inputs)
    return outputs, None, recorder


def _shapes_on_meta_context(prob, count):
    """torch >= 2: the model and the inputs are built under the meta device,
    so nothing is allocated and no work is done."""
    with torch.device("meta"):
        model = prob.build_model(DEFAULT_SEED)
        inputs = prob.make_inputs(DEFAULT_SEED + 1)
        outputs, flops, rec = _forward_counting(prob, model, inputs, count)
    return model, inputs, outputs, flops, rec


def _shapes_on_cpu_then_meta(prob, count):
    """Older torch: build on the CPU (that is real memory, but no work), move
    to meta and run forward there."""
    model = prob.build_model(DEFAULT_SEED)
    inputs = prob.make_inputs(DEFAULT_SEED + 1)
    model.to("meta")
    inputs = [t.to("meta") for t in inputs]
    outputs, flops, rec = _forward_counting(prob, model, inputs, count)
    return model, inputs, outputs, flops, rec


def _shapes_on_cpu(prob, count):
    """Last resort: the real forward on the CPU."""
    model = prob.build_model(DEFAULT_SEED)
    inputs = prob.make_inputs(DEFAULT_SEED + 1)
    outputs, flops, rec = _forward_counting(prob, model, inputs, count)
    return model, inputs, outputs, flops, rec


def _infer_shapes(prob, count=True):
    """Runs the problem as cheaply as torch allows: meta device context, then
    CPU-built tensors moved to meta, then a real CPU forward. Errors that are
    the file's fault (bad types) end it at once; anything else falls through
    to the next way, and the last way's error is the answer."""
    ways = []
    if _has_device_context():
        ways.append(("meta device", _shapes_on_meta_context))
    ways.append(("CPU-built tensors on meta", _shapes_on_cpu_then_meta))
    ways.append(("CPU", _shapes_on_cpu))
    for i, (label, way) in enumerate(ways):
        last = i == len(ways) - 1
        try:
            return way(prob, count)
        except BridgeError as e:
            if e.code == EXIT_PROBLEM or last:
                raise
            _log("shapes on %s failed (%s); trying the next way" % (label, _short(e, 300)))
        except Exception as e:
            if last:
                raise
            _log("shapes on %s failed (%s: %s); trying the next way"
                 % (label, type(e).__name__, _short(e, 300)))
    raise AssertionError("unreachable")


def cmd_describe(args):
    prob = Problem(args.problem)
    model, inputs, outputs, counted, recorder = _infer_shapes(prob, count=prob.flops is None)
    ins, params, outs = prob.describe_tensors(model, inputs, outputs)
    flops = prob.flops if prob.flops is not None else (counted or 0)
    graph, graph_error = None, None
    if recorder is None:
        graph_error = "the op graph could not be recorded (see stderr)"
    else:
        try:
            graph = recorder.graph(ins, params, outputs)
        except _GraphError as e:
            graph_error = str(e)
    return {
        "name": prob.name, "family": prob.family, "op": prob.op, "notes": prob.notes,
        "defines": prob.defines, "inputs": ins, "params": params, "outputs": outs,
        "flops": flops, "min_bytes": sum(_entry_bytes(e) for e in ins + params + outs),
        "declared": prob.declared, "stress": prob.stress, "graph": graph, "graph_error": graph_error,
        "torch": _torch_version(), "file_sha256": prob.sha256,
    }


# ---------------------------------------------------------------------------
# reference
# ---------------------------------------------------------------------------

_OWN_FILE = re.compile(r"^(param\d+\.bin|set\d+\.(in|out)\d+\.bin|manifest\.json|\..*\.tmp\d+)$")


def _tensor_bytes_view(t):
    """A flat uint8 numpy view of t's raw little-endian row-major bytes."""
    import numpy as np
    t = t.detach().cpu().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)       # numpy has no bfloat16; the bits are what matter
    elif t.dtype == torch.bool:
        t = t.to(torch.uint8)
    a = t.numpy().reshape(-1)
    if sys.byteorder != "little":
        a = a.byteswap()
    return a.view(np.uint8)


WRITE_CHUNK = 64 << 20   # bytes per write call


def _write_fd(fd, view):
    """Writes the whole flat byte view into fd, in calls of WRITE_CHUNK bytes
    (os.write may write less than asked). One thread: a tmpfs file takes
    its writes one at a time, so splitting one file among threads gains
    nothing."""
    done = 0
    while done < len(view):
        n = os.write(fd, view[done:done + WRITE_CHUNK])
        if n <= 0:
            raise OSError("short write")
        done += n


def _write_atomic(directory, name, data):
    """Writes data (bytes-like) to directory/name through a temporary name and
    a rename, so a reader never sees a half-written file. The bytes go from
    data's own memory to the file, with no buffered file object between."""
    tmp = os.path.join(directory, ".%s.tmp%d" % (name, os.getpid()))
    view = memoryview(data).cast("B")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        _write_fd(fd, view)
    finally:
        os.close(fd)
    os.replace(tmp, os.path.join(directory, name))


def _write_tensor(directory, name, t, ph):
    with ph("to_host"):
        data = _tensor_bytes_view(t)
    with ph("write"):
        _write_atomic(directory, name, data)


def _prepare_dir(directory):
    """Creates DIR and removes the manifest and data files of an earlier run
    (manifest first, so DIR never looks complete while it is being written)."""
    try:
        os.makedirs(directory, exist_ok=True)
        man = os.path.join(directory, "manifest.json")
        if os.path.exists(man):
            os.remove(man)
        for f in os.listdir(directory):
            if _OWN_FILE.match(f):
                os.remove(os.path.join(directory, f))
    except OSError as e:
        raise BridgeError(EXIT_OTHER, "cannot prepare reference directory %s: %s" % (directory, e))


def _same(a, b):
    """Bitwise-equal outputs, NaN equal to NaN."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if torch.equal(a, b):
        return True
    if a.is_floating_point() or a.is_complex():
        return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
    return False


def _check_deterministic(prob, first, second):
    for j, (a, b) in enumerate(zip(first, second)):
        if _same(a, b):
            continue
        detail = ""
        if a.shape == b.shape and a.dtype == b.dtype and a.is_floating_point():
            diff = (a.double() - b.double()).abs()
            bad = ~((a == b) | (torch.isnan(a) & torch.isnan(b)))
            detail = " (%d of %d elements differ, max abs diff %.3g)" % (
                int(bad.sum()), a.numel(), float(diff[bad].nan_to_num(float("inf")).max()))
        raise BridgeError(EXIT_PROBLEM, "%s: Model.forward is not deterministic: output %d "
                          "differs between two runs on set 0%s; kbreed cannot judge kernels "
                          "against a reference that moves" % (prob.path, j, detail))
    if len(first) != len(second):
        raise BridgeError(EXIT_PROBLEM, "%s: Model.forward is not deterministic: it returned "
                          "%d then %d outputs" % (prob.path, len(first), len(second)))


def _upcast_dtype(model, inputs):
    """float64 for fp32 models, float32 for fp16/bf16 ones, None when nothing
    is floating point."""
    floats = [t.dtype for _, t in _params_and_buffers(model) if t.is_floating_point()]
    floats += [t.dtype for t in inputs if t.is_floating_point()]
    if not floats:
        return None
    if all(d in (torch.float16, torch.bfloat16) for d in floats):
        return torch.float32
    return torch.float64


def _on_device(inputs, device, dtype=None):
    """Fresh device copies of CPU inputs (floating ones cast to dtype if given),
    so that a forward that writes into its inputs cannot change a later run."""
    out = []
    for t in inputs:
        u = t.to(device)
        if dtype is not None and u.is_floating_point():
            u = u.to(dtype)
        out.append(u.clone() if u.data_ptr() == t.data_ptr() else u)
    return out


def _fresh_copies(base, dtype=None):
    """Fresh copies of tensors already on the device (floating ones cast to
    dtype if given), made there: the same values _on_device gives from the
    host tensors base was copied from, without copying from the host again."""
    out = []
    for u in base:
        v = u.to(dtype) if dtype is not None and u.is_floating_point() else u
        out.append(v.clone() if v.data_ptr() == u.data_ptr() else v)
    return out


def _stress_tensor(kind, t, rng):
    """One input under a stress kind (STRESS_KINDS), in its own dtype, or t
    itself: integer and boolean tensors and scalars (numel <= 1, hyper-
    parameters such as a margin) are never touched. The arithmetic is in
    float64 and rounded to the dtype once.
      scale_up / scale_down  x * 1e3 / x * 1e-3
      shift                  x + 100 * rms(x) (100 when rms is 0)
      ties                   x rounded to a grid of step 2^round(log2(rms/4)):
                             few distinct values, many equal ones
      clustered_max          the tensor's maximum written at positions 0, p,
                             p + 1 and n - 1 of the last dimension (p from
                             rng): every row holds several equal maxima, two
                             of them adjacent, and at those positions every
                             other dimension is constant."""
    import math
    if not t.is_floating_point() or t.numel() <= 1:
        return t
    x = t.detach().to(torch.float64)
    mask = torch.isfinite(x)
    finite = x if bool(mask.all()) else x[mask]   # no copy in the usual case
    del mask
    rms = float(finite.pow(2).mean().sqrt()) if finite.numel() else 0.0
    if kind == "scale_up":
        y = x * STRESS_SCALE_UP
    elif kind == "scale_down":
        y = x * STRESS_SCALE_DOWN
    elif kind == "shift":
        y = x + STRESS_SHIFT_RMS * (rms if rms > 0 else 1.0)
    elif kind == "ties":
        step = 2.0 ** round(math.log2(rms / STRESS_TIES_LEVELS)) if rms > 0 else 1.0
        y = torch.round(x / step) * step
    elif kind == "clustered_max":
        n = x.shape[-1] if x.dim() else 1
        y = x.clone().reshape(-1, n) if n > 1 else x.clone().reshape(1, -1)
        n = y.shape[1]
        p = rng.randrange(1, n - 2) if n >= 4 else 0
        cols = sorted(set([0, p, min(p + 1, n - 1), n - 1]))
        y[:, cols] = float(finite.max()) if finite.numel() else 0.0
        y = y.reshape(x.shape)
    else:
        raise AssertionError("unknown stress kind %r" % kind)
    return y.to(t.dtype)


def _stress_inputs(kind, inputs, seed):
    """The stressed copy of one input set: every floating input under the
    kind, reproducibly from the run's seed."""
    import random
    rng = random.Random("%d:%s" % (seed, kind))
    return [_stress_tensor(kind, t, rng) for t in inputs]


def _nonfinite(tensors):
    """Non-finite elements per tensor (0 for integer ones)."""
    return [t.numel() - int(torch.isfinite(t).sum()) if t.is_floating_point() else 0
            for t in tensors]


def _reference_settings():
    """Exact arithmetic for the reference: no TF32, no reduced-precision fp16
    reductions, deterministic algorithms where torch has them."""
    _set_tf32(False, False)
    _set_flag(torch.backends.cuda.matmul, "allow_fp16_reduced_precision_reduction", False)
    _set_flag(torch.backends.cuda.matmul, "allow_bf16_reduced_precision_reduction", False)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
    except Exception as e:
        _log("deterministic algorithms unavailable: %s" % e)


class _Writer:
    """Writes the reference files on a thread of its own, so that writing one
    set overlaps making the next: the bytes go to the host (from the device,
    where the tensors are there) and into the files while the main thread
    runs get_inputs() and the forwards. Files are written in the order they
    are handed over, each atomically (_write_atomic). The first error is
    raised again in the main thread by the next put() or drain(),
    and nothing more is written after it. The caller drains one set's files
    before it hands over the next set's, so at most one set waits."""

    def __init__(self, directory):
        import queue
        import threading
        self.directory = directory
        self.jobs = queue.Queue()
        self.error = None       # the first exception a write raised
        self.cancelled = False
        self.phases = {}        # set number -> _Phases of its writes (no device sync)
        self.thread = threading.Thread(target=self._run, name="kbreed-writer", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            job = self.jobs.get()
            if job is None:
                self.jobs.task_done()
                return
            name, t, key = job
            del job
            try:
                if self.error is None and not self.cancelled:
                    _write_tensor(self.directory, name, t, self.phases.setdefault(key, _Phases("cpu")))
            except BaseException as e:   # raised again in the main thread
                self.error = e
            del t
            self.jobs.task_done()

    def _raise(self):
        if self.error is not None:
            e, self.error = self.error, None
            self.cancelled = True
            raise e

    def put(self, name, t, key):
        """Queues tensor t for the file name; key is the set it belongs to."""
        self._raise()
        self.jobs.put((name, t, key))

    def drain(self):
        """Waits until every file handed over is written."""
        self.jobs.join()
        self._raise()

    def close(self, failed):
        """Ends the thread, after the files still queued are written, or,
        when the run failed, after the one being written (the rest are
        dropped: nothing a failed run leaves is used)."""
        if self.thread.is_alive():
            self.cancelled = self.cancelled or failed
            self.jobs.put(None)
            self.thread.join()


def cmd_reference(args):
    if args.sets < 1:
        raise BridgeError(EXIT_OTHER, "--sets must be at least 1")
    if args.stress_max is not None and (args.stress_max < 0 or not args.stress):
        raise BridgeError(EXIT_OTHER, "--stress-max must be at least 0, and goes with --stress")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        _require_cuda("reference --device cuda")
    try:
        importlib.import_module("numpy")   # Tensor.numpy() needs it to write the bytes
    except Exception as e:
        raise BridgeError(EXIT_TORCH, "numpy is missing in %s (%s); reference needs it to write "
                          "tensor bytes" % (_python_id(), e))
    prob = Problem(args.problem)
    _reference_settings()
    seed, directory = args.seed, args.dir
    _prepare_dir(directory)
    writer = _Writer(directory)
    failed = True
    try:
        manifest = _reference(args, prob, device, writer)
        failed = False
        return manifest
    finally:
        writer.close(failed)


def _reference(args, prob, device, writer):
    seed, directory = args.seed, args.dir
    if VERBOSE:
        _log("reference %s: device %s, %d CPU threads, torch %s" % (
            prob.name, device, torch.get_num_threads(), torch.__version__))
    ph = _Phases(device)   # the model and its parameters
    with ph("build_model"):
        model = prob.build_model(seed)
    state = _params_and_buffers(model)   # CPU tensors as built, before any forward
    param_entries = [_entry(n, t, prob.path) for n, t in state]
    for j, (_, t) in enumerate(state):
        _write_tensor(directory, "param%d.bin" % j, t, ph)
    with ph("model_to_device"):
        pristine = copy.deepcopy(model)       # the upcast copy is made from this
        model = model.to(device)
    set_phases = {}   # set number -> _Phases of the main thread; set 0's native forwards count for set 0

    # Set 0 at the model's own precision, twice: the determinism check, and
    # the output dtypes the reference is cast back to. Its inputs go to the
    # device once; each forward gets fresh copies made there.
    ph0 = set_phases[0] = _Phases(device)
    with ph0("get_inputs"):
        set0 = prob.make_inputs(seed + 1, device)
    in_entries = [_entry(n, t, prob.path) for n, t in zip(prob.input_names(model, len(set0)), set0)]
    target = _upcast_dtype(pristine, set0)
    with ph0("to_device"):
        base0 = [t.to(device) for t in set0]   # on the CPU: set0 itself
    native = None
    try:
        with ph0("to_device"):
            dev = _fresh_copies(base0)
        with ph0("forward"):
            native = prob.forward(model, dev)
        del dev
    except BridgeError as e:
        if e.code == EXIT_PROBLEM or device != "cpu" or target != torch.float32:
            raise
        # torch's CPU kernels lack many fp16/bf16 ops; the float32 upcast may
        # still run. (Only on the CPU: on CUDA such a model is simply broken.)
        _log("native-precision forward failed on the CPU (%s); using the upcast alone" % e)
    if native is not None:
        with ph0("to_device"):
            dev = _fresh_copies(base0)
        with ph0("determinism"):
            _check_deterministic(prob, native, prob.forward(model, dev))
        del dev
        out_types = [(t.dtype, tuple(t.shape)) for t in native]
    else:
        _, _, outs, _, _ = _infer_shapes(prob, count=False)
        out_types = [(t.dtype, tuple(t.shape)) for t in outs]
    has_native = native is not None   # the model runs at its own precision here
    n_inputs = len(set0)

    ref_model = None
    if target is not None:
        try:
            with ph("model_to_device"):
                ref_model = copy.deepcopy(pristine).to(device=device, dtype=target)
        except Exception as e:
            _log("cannot convert the model to %s (%s); reference at native precision" % (target, e))
    else:
        _log("nothing floating point to upcast; reference at native precision")
    if VERBOSE:
        _log("reference model and %d parameter files: %s" % (len(state), ph.line()))

    def device_inputs(i, inputs, dtype=None):
        """Fresh device copies of set i's inputs (cast to dtype if given)."""
        if i == 0 and base0 is not None:
            return _fresh_copies(base0, dtype)
        return _on_device(inputs, device, dtype)

    def reference_outputs(i, inputs, ph):
        """Set i's reference: upcast if ref_model, else native."""
        nonlocal base0
        if ref_model is None:
            if i == 0 and native is not None:   # still held: set 0's first pass
                return native
            with ph("to_device"):
                dev = device_inputs(i, inputs)
            with ph("forward"):
                return prob.forward(model, dev)
        with ph("to_device"):
            dev = device_inputs(i, inputs, target)
            if i == 0 and native is not None:
                base0 = None   # its last copy is made: free it before the upcast forward
        with ph("upcast"):
            outs = prob.forward(ref_model, dev)
        del dev
        if i == 0 and not has_native:   # the determinism check, on the upcast instead
            with ph("to_device"):
                dev = device_inputs(i, inputs, target)
            with ph("determinism"):
                _check_deterministic(prob, outs, prob.forward(ref_model, dev))
            del dev
        if [tuple(t.shape) for t in outs] != [s for _, s in out_types]:
            raise BridgeError(EXIT_OTHER, "upcast outputs have shapes %s, native ones %s"
                              % ([list(t.shape) for t in outs], [list(s) for _, s in out_types]))
        with ph("cast_back"):
            return [t.to(dt) for t, (dt, _) in zip(outs, out_types)]

    def log_set(i, kind):
        """With --verbose, set i's seconds: the main thread's phases, then
        the writer's (to_host, write), which overlap the next set's."""
        if VERBOSE and i in set_phases:
            line = set_phases.pop(i)
            w = writer.phases.pop(i, None)
            if w is not None:
                line.seconds.update(("(writer) " + k, v) for k, v in w.seconds.items())
            _log("reference set %d%s: %s" % (i, "" if kind is None else " (%s)" % kind, line.line()))

    # The plain sets 0..N-1, then with --stress one set per kind the file
    # allows (KBREED_STRESS), numbered from N: kind m stresses plain set
    # m % N. A stressed set whose reference has more non-finite elements
    # than its plain set's (an overflow, a log of zero) is skipped and
    # recorded, not written: there is nothing to judge a kernel against.
    # The writer writes set i while set i + 1 is made.
    kinds = prob.stress if args.stress else []
    budget_why = "over kbreed's reference data budget (KBREED_REF_BUDGET_GB)"
    left_out = []           # kinds beyond --stress-max: recorded as skipped, nothing made
    if args.stress_max is not None and args.stress_max < len(kinds):
        left_out = [{"kind": kind, "from": (args.stress_max + m) % args.sets, "why": budget_why}
                    for m, kind in enumerate(kinds[args.stress_max:])]
        kinds = kinds[:args.stress_max]
    plan = [(i, None, i) for i in range(args.sets)]
    plan += [(args.sets + m, kind, m % args.sets) for m, kind in enumerate(kinds)]
    counted = set(src for _, kind, src in plan if kind is not None)   # plain sets stress compares with
    while True:
        nonfinite = {}          # plain set -> non-finite elements per output
        stressed, skipped = [], []
        pending = None          # (set, kind) the writer still writes
        k = 0
        while k < len(plan):
            i, kind, src = plan[k]
            if i not in set_phases:
                set_phases[i] = _Phases(device)
            ph = set_phases[i]
            # Sets are made as they are needed (they can be large) and
            # made again, identically, when needed again; set 0's inputs
            # are kept only while the next step stresses them too.
            if src == 0 and set0 is not None:
                inputs = set0
            else:
                with ph("get_inputs"):
                    inputs = prob.make_inputs(seed + 1 + src, device)
            if k + 1 < len(plan) and plan[k + 1][2] == 0 and src == 0:
                set0 = inputs
            else:
                set0 = None
            got = [_entry(n["name"], t, prob.path) for n, t in zip(in_entries, inputs)]
            if len(inputs) != n_inputs or got != in_entries:
                raise BridgeError(EXIT_PROBLEM, "%s: get_inputs() gave different shapes or dtypes "
                                  "for set %d than for set 0" % (prob.path, src))
            if pending is not None:
                with set_phases.setdefault(pending[0], _Phases(device))("wait_for_writer"):
                    writer.drain()
                log_set(*pending)
                pending = None
            if kind is None:   # a plain set's inputs are written whatever its forward does
                for j, t in enumerate(inputs):
                    writer.put("set%d.in%d.bin" % (i, j), t, i)
            why = None
            if kind is not None:
                with ph("stress"):
                    before = sum(_nonfinite(inputs))
                    inputs = _stress_inputs(kind, inputs, seed)
                    if sum(_nonfinite(inputs)) > before:
                        why = "a stressed input is not finite in its dtype"
            outs = None
            if why is None:
                try:
                    outs = reference_outputs(i, inputs, ph)
                except Exception as e:
                    # The plain sets ran at this precision: a stressed set
                    # that fails is skipped, never a reason to redo them.
                    if kind is not None:
                        why = "the reference forward failed: %s" % _short(e, 300)
                    elif ref_model is None or (isinstance(e, BridgeError) and e.code == EXIT_PROBLEM):
                        raise
                    elif not has_native:
                        raise BridgeError(EXIT_OTHER, "%s: the upcast forward failed (%s) and the "
                                          "model does not run at its own precision on %s either"
                                          % (prob.path, _short(e, 500), device))
                    else:
                        _log("upcast forward failed on set %d (%s); redoing every set at native "
                             "precision" % (i, _short(e, 500)))
                        ref_model = None
                        break
            if outs is not None and kind is None:
                if i in counted:
                    with ph("nonfinite"):
                        nonfinite[i] = _nonfinite(outs)
            elif outs is not None:
                with ph("nonfinite"):
                    counts = _nonfinite(outs)
                bad = [(j, n, t.numel()) for j, (n, n0, t) in
                       enumerate(zip(counts, nonfinite[src], outs)) if n > n0]
                if bad:
                    j, n, total = bad[0]
                    why = ("the reference is not finite: %d of %d elements of output %d are "
                           "Inf or NaN" % (n, total, j))
                    outs = None
            if why is not None:
                _log("stressed set %s (from set %d) skipped: %s" % (kind, src, why))
                skipped.append({"kind": kind, "from": src, "why": why})
                del inputs
                log_set(i, kind)
                k += 1
                continue
            if i == 0:
                out_entries = [_entry("out%d" % j, t, prob.path) for j, t in enumerate(outs)]
                base0 = native = None   # set 0's forwards are done; a redo computes it again
            n = args.sets + len(stressed)  # stressed sets are numbered without gaps
            if kind is not None:
                stressed.append({"set": n, "kind": kind, "from": src})
                for j, t in enumerate(inputs):
                    writer.put("set%d.in%d.bin" % (n, j), t, i)
            for j, t in enumerate(outs):
                writer.put("set%d.out%d.bin" % (i if kind is None else n, j), t, i)
            del outs, inputs
            pending = (i, kind)
            k += 1
        writer.drain()
        if pending is not None:
            log_set(*pending)
        if k == len(plan):
            break
        for f in os.listdir(directory):   # redo every set: no set file of the attempt stays
            if re.match(r"^set\d+\.(in|out)\d+\.bin$", f):
                os.remove(os.path.join(directory, f))

    manifest = {
        "sets": args.sets, "seed": seed, "device": device, "upcast": ref_model is not None,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "inputs": in_entries, "params": param_entries, "outputs": out_entries,
        "stress": stressed, "stress_skipped": skipped + left_out,
        "torch": _torch_version(), "file_sha256": prob.sha256,
    }
    _write_atomic(directory, "manifest.json", (json.dumps(manifest) + "\n").encode())
    return manifest


# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------


def _flush_buffer(mb):
    return torch.empty(max(int(mb), 0) * (1 << 20), dtype=torch.uint8, device="cuda")


def _time_calls(fn, arg_sets, reps, warmup, flush):
    """kbreed's protocol: warm-up calls, then per timed call an L2 flush
    outside the timed region, CUDA events around the call on the current
    stream, and a device synchronise. Alternates the argument sets."""
    for k in range(warmup):
        fn(*arg_sets[k % len(arg_sets)])
    torch.cuda.synchronize()
    times = []
    for k in range(reps):
        args = arg_sets[k % len(arg_sets)]
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        if flush.numel():
            flush.zero_()
        start.record()
        fn(*args)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "reps": reps}


def cmd_time(args):
    _require_cuda("time")
    if args.reps < 1 or args.warmup < 0:
        raise BridgeError(EXIT_OTHER, "--reps must be at least 1 and --warmup at least 0")
    prob = Problem(args.problem)
    _set_tf32(False, True)   # PyTorch's defaults, whatever the environment did
    model = prob.build_model(args.seed).to("cuda")
    # Made on the GPU, as the references are: torch.rand makes 2.1 GB on one
    # CPU core in 7 s, and a full-size level-1 problem's two sets are up to
    # 17 GB (46_Average_Pooling_3D's, 8.6 GB each: this command took 38 s of
    # its one-minute run on the H200, the references 17 s).
    arg_sets = [[t.to("cuda") for t in prob.make_inputs(args.seed + 1 + i, "cuda")] for i in range(2)]
    prob.forward(model, arg_sets[0])   # checks the outputs once, outside the timing
    flush = _flush_buffer(args.flush_mb)
    with torch.no_grad():
        eager = _time_calls(model, arg_sets, args.reps, args.warmup, flush)
        eager_fp32 = None
        if args.eager_fp32:
            # cuDNN's convolutions use TF32 by default; the strict tolerance
            # asks for fp32 arithmetic: eager timed that way too, beside.
            _set_tf32(False, False)
            try:
                eager_fp32 = _time_calls(model, arg_sets, args.reps, args.warmup, flush)
            finally:
                _set_tf32(False, True)
        compiled = _time_compiled(model, arg_sets, args, flush) if args.compile else None
    return {"eager": eager, "eager_fp32": eager_fp32, "compile": compiled,
            "gpu": torch.cuda.get_device_name(0), "torch": _torch_version()}


def _time_compiled(model, arg_sets, args, flush):
    """torch.compile(model), default mode; a failure is reported, not fatal."""
    if not hasattr(torch, "compile"):
        return {"error": "torch.compile needs torch >= 2.0 (this is %s)" % torch.__version__}
    try:
        compiled = torch.compile(model)
        # the first call compiles: it happens in the warm-up, never in the timing
        return _time_calls(compiled, arg_sets, args.reps, max(args.warmup, 2), flush)
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        return {"error": "%s: %s" % (type(e).__name__, _short(e, 1000))}


# ---------------------------------------------------------------------------
# ceilings
# ---------------------------------------------------------------------------


def _median_event_ms(fn, reps, warmup, flush):
    return _time_calls(lambda: fn(), [[]], reps, warmup, flush)["median_ms"]


def _copy_bandwidth_gbs(flush, size=1 << 30):
    """Device-to-device copy between two 1 GiB buffers: bytes read plus bytes
    written per second, in GB/s (1e9 bytes/s)."""
    src = torch.empty(size, dtype=torch.uint8, device="cuda").fill_(1)
    dst = torch.empty_like(src)
    ms = _median_event_ms(lambda: dst.copy_(src), 20, 3, flush)
    return 2.0 * size / (ms * 1e-3) / 1e9


def _matmul_tflops(dtype, flush, n=8192):
    """torch.mm at n^3 on random data, in TFLOP/s (2 n^3 per product)."""
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    c = torch.empty(n, n, device="cuda", dtype=dtype)
    ms = _median_event_ms(lambda: torch.mm(a, b, out=c), 10, 3, flush)
    return 2.0 * n ** 3 / (ms * 1e-3) / 1e12


def cmd_ceilings(args):
    _require_cuda("ceilings")
    flush = _flush_buffer(args.flush_mb)
    props = torch.cuda.get_device_properties(0)
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    result = {"gpu": torch.cuda.get_device_name(0), "bandwidth_gbs": _copy_bandwidth_gbs(flush)}
    try:
        for key, dtype, tf32 in (("fp32_tflops", torch.float32, False),
                                 ("tf32_tflops", torch.float32, True),
                                 ("fp16_tflops", torch.float16, False),
                                 ("bf16_tflops", torch.bfloat16, False)):
            _set_tf32(tf32, saved[1])
            result[key] = _matmul_tflops(dtype, flush)
    finally:
        _set_tf32(*saved)
    result.update({"sm_count": props.multi_processor_count,
                   "l2_bytes": getattr(props, "L2_cache_size", None),
                   "cc": "%d.%d" % (props.major, props.minor), "torch": _torch_version()})
    return result


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as a BridgeError (JSON, exit 1)
    instead of printing usage and exiting 2, which means a bad problem."""

    def error(self, message):
        raise BridgeError(EXIT_OTHER, "usage: %s: %s" % (self.prog, message))


def _parser():
    p = _Parser(prog="kbreed_bridge.py", description="kbreed's PyTorch bridge (docs/BRIDGE.md)")
    p.add_argument("--verbose", action="store_true",
                   help="log on stderr where the time goes (reference: seconds per phase per set)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser("describe", help="shapes, dtypes, FLOPs of a problem")
    d.add_argument("problem")
    d.set_defaults(func=cmd_describe)

    r = sub.add_parser("reference", help="write reference inputs/outputs")
    r.add_argument("problem")
    r.add_argument("--dir", required=True)
    r.add_argument("--sets", type=int, required=True)
    r.add_argument("--seed", type=int, default=DEFAULT_SEED)
    r.add_argument("--device", choices=("cuda", "cpu"), default=None,
                   help="default: cuda when available, else cpu")
    r.add_argument("--stress", action="store_true",
                   help="add the stressed input sets the problem allows (KBREED_STRESS)")
    r.add_argument("--stress-max", type=int, default=None, metavar="K",
                   help="with --stress: make only the first K of those kinds; the others are "
                   "listed as skipped (kbreed's reference data budget)")
    r.set_defaults(func=cmd_reference)

    t = sub.add_parser("time", help="time PyTorch eager (and torch.compile)")
    t.add_argument("problem")
    t.add_argument("--reps", type=int, default=30)
    t.add_argument("--warmup", type=int, default=10)
    t.add_argument("--flush-mb", type=int, default=256)
    t.add_argument("--compile", action="store_true")
    t.add_argument("--eager-fp32", action="store_true",
                   help="time eager again with TF32 off (cuDNN and matmul), as eager_fp32")
    t.add_argument("--seed", type=int, default=DEFAULT_SEED)
    t.set_defaults(func=cmd_time)

    c = sub.add_parser("ceilings", help="measure bandwidth and matmul ceilings")
    c.add_argument("--flush-mb", type=int, default=256)
    c.set_defaults(func=cmd_ceilings)
    return p


def main(argv=None):
    out_fd = _claim_stdout()
    code = 0
    started = time.perf_counter()
    try:
        args = _parser().parse_args(argv)
        global VERBOSE
        VERBOSE = args.verbose
        if args.command == "reference":
            # cuBLAS is only deterministic with a fixed workspace; must be set
            # before CUDA starts.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        _import_torch()
        result = args.func(args)
    except BridgeError as e:
        result, code = {"error": str(e)}, e.code
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        oom = "out of memory" in str(e).lower()
        result, code = {"error": "%s%s: %s" % ("out of memory: " if oom else "", type(e).__name__,
                                                _short(e))}, EXIT_OTHER
    if VERBOSE:
        _log("%s: %s after %.2f s" % (args.command, "failed" if code else "done",
                                      time.perf_counter() - started))
    sys.stdout.flush()
    sys.stderr.flush()
    _emit(out_fd, result)
    return code


if __name__ == "__main__":
    sys.exit(main())
