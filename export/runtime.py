# ---- kbreed export runtime (export/runtime.py) --------------------------
# How a module's tensors reach kbreed_forward(), exactly as the GPU worker
# passes them (docs/ABI.md): in[] = forward()'s arguments in order (a Python
# number becomes a 0-d tensor, as the bridge makes it), then
# named_parameters(), then named_buffers(); every tensor contiguous. out[] =
# forward()'s results, allocated by the C++ side (launch.cpp, run) with the
# shapes and dtypes the problem's own Model.forward gives, found once per
# input signature by running it on the meta device (no data, no GPU work).
import os as _kb_os

import torch as _kb_torch

try:
    from torch.func import functional_call as _kb_functional_call
except ImportError:  # torch 1.x
    from torch.nn.utils.stateless import functional_call as _kb_functional_call


def _kb_arch(default):
    """The compile target: $KBREED_ARCH, else the GPU's, as kbreed picks it
    (sm_90a on 9.0, sm_100a on 10.0: the arch-specific targets that enable
    wgmma and TMA), else the target the kernel was judged on."""
    env = _kb_os.environ.get("KBREED_ARCH")
    if env:
        return env
    if _kb_torch.cuda.is_available():
        major, minor = _kb_torch.cuda.get_device_capability()
        return "sm_%d%d%s" % (major, minor, "a" if (major, minor) in ((9, 0), (10, 0)) else "")
    return default


def _kb_nvcc_flags(default_arch):
    """nvcc flags as kbreed's own build line: -O3, -lineinfo, one target.
    PyTorch's extension builder defines __CUDA_NO_HALF_OPERATORS__ and its
    kin, which kbreed's build does not: they are undefined again here, so
    the kernel compiles as it was judged."""
    arch = _kb_arch(default_arch)
    num = arch[3:]
    return ["-O3", "-lineinfo", "-gencode=arch=compute_%s,code=%s" % (num, arch),
            "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
            "-U__CUDA_NO_BFLOAT16_CONVERSIONS__", "-U__CUDA_NO_HALF2_OPERATORS__"]


def _kb_tensors(module, args, scalars):
    """in[] for kbreed_forward: args (numbers as 0-d tensors on the device
    of the first tensor, cached in scalars), parameters, buffers. The C++
    side (run) makes each contiguous."""
    params = [p for _, p in module.named_parameters()] + [b for _, b in module.named_buffers()]
    device = None
    for t in list(args) + params:
        if isinstance(t, _kb_torch.Tensor):
            device = t.device
            break
    ins = []
    for a in args:
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            key = (type(a), a, device)
            t = scalars.get(key)
            if t is None:
                t = scalars[key] = _kb_torch.tensor(a).to(device)
            a = t
        ins.append(a)
    return ins + [p.detach() for p in params]


def _kb_meta(t):
    if isinstance(t, _kb_torch.Tensor):
        return _kb_torch.empty(t.shape, dtype=t.dtype, device="meta")
    return t


def _kb_reference_on_meta(model_class, init, module, args):
    """The problem's Model built on the meta device (its parameters from
    module's shapes and dtypes) and run on meta copies of args: what
    forward() returns, without data."""
    init_args, init_kwargs = init
    with _kb_torch.random.fork_rng(devices=[]):
        try:
            with _kb_torch.device("meta"):
                ref = model_class(*init_args, **init_kwargs)
        except (AttributeError, TypeError, RuntimeError):
            # torch 1.x has no device context: build on the CPU, then move.
            ref = model_class(*init_args, **init_kwargs).to("meta")
    state = {n: _kb_meta(p) for n, p in list(module.named_parameters()) + list(module.named_buffers())}
    with _kb_torch.no_grad():
        return _kb_functional_call(ref, state, tuple(_kb_meta(a) for a in args))


def _kb_output_spec(model_class, init, module, args):
    """What run() allocates for forward(*args) of module: ([a meta tensor
    of each output's shape and dtype], whether forward() returns one
    tensor). run() asks once per input signature and caches the answer.
    Where the forward cannot run on meta, it runs once for real (the
    problem's own Model.forward, under no_grad) to learn them."""
    try:
        out = _kb_reference_on_meta(model_class, init, module, args)
    except Exception:
        with _kb_torch.no_grad():
            out = model_class.forward(module, *args)
    single = isinstance(out, _kb_torch.Tensor)
    outs = [out] if single else list(out)
    return [_kb_meta(o) for o in outs], single
# ---- end of the kbreed export runtime ------------------------------------
