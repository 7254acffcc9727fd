@KB_BANNER@
# A PyTorch custom operator, torch.ops.@KB_NS@.forward, registered through
# torch.library (torch >= 2.4) with a fake implementation, so torch.compile
# traces around it; and ModelNew, the problem's Model whose forward() calls
# it. Build the extension first (setup.py, beside this package):
#   pip install --no-build-isolation .      or  python setup.py build_ext --inplace
# then:
#   import @KB_NS@
#   y = torch.ops.@KB_NS@.forward(@KB_OP_ARGS@)
#   model = @KB_NS@.ModelNew(*@KB_NS@.get_init_inputs()).cuda()
from typing import List, Tuple  # noqa: F401  (the op's annotations may use them)

import torch

from . import _C
from ._runtime import _kb_empty_outputs, _kb_functional_call, _kb_result, _kb_tensors
from .problem import Model, get_init_inputs, get_inputs  # noqa: F401

if not hasattr(torch.library, "custom_op"):
    raise ImportError("@KB_NS@ needs torch >= 2.4 (torch.library.custom_op); this is torch "
                      + torch.__version__ + ". The ModelNew file of the same export needs no op.")

# The problem's Model on the meta device, built here at import, outside any
# tracing: it gives the op its output shapes (no data, no GPU work).
with torch.random.fork_rng(devices=[]):
    with torch.device("meta"):
        _reference_model = Model(*get_init_inputs())
_specs = {}


def _reference(tensors):
    """The problem's Model.forward on tensors (arguments, then parameters and
    buffers by name): on meta copies for the shapes of the real op, on the
    fake tensors themselves when torch.compile traces."""
    m = _reference_model
    names = [n for n, _ in m.named_parameters()] + [n for n, _ in m.named_buffers()]
    n_args = len(tensors) - len(names)
    with torch.no_grad():
        out = _kb_functional_call(m, dict(zip(names, tensors[n_args:])), tuple(tensors[:n_args]))
    return [out] if isinstance(out, torch.Tensor) else list(out)


def _spec(ins):
    key = tuple((tuple(t.shape), t.dtype) for t in ins)
    spec = _specs.get(key)
    if spec is None:
        outs = _reference([torch.empty(t.shape, dtype=t.dtype, device="meta") for t in ins])
        spec = _specs[key] = ([(tuple(o.shape), o.dtype) for o in outs], @KB_SINGLE@)
    return spec


def _launch(ins):
    """The kernel on contiguous CUDA tensors ins: its outputs, allocated here."""
    spec = _spec(ins)
    outs = _kb_empty_outputs(spec, ins[0].device)
    _C.launch(ins, outs)
    return _kb_result(outs, spec)


@torch.library.custom_op("@KB_NS@::forward", mutates_args=(), device_types="cuda")
def forward(@KB_OP_PARAMS@) -> @KB_OP_RETURN@:
    """kbreed candidate #@KB_CANDIDATE@: in[] = @KB_OP_ARGS@ (docs/ABI.md)."""
    return _launch([t.contiguous() for t in (@KB_OP_ARGS@,)])


@forward.register_fake
def _(@KB_OP_ARGS@):
    outs = [o.new_empty(o.shape) for o in _reference([@KB_OP_ARGS@])]
    return outs[0] if @KB_SINGLE@ else tuple(outs)


class ModelNew(Model):
    """The problem's Model with forward() through torch.ops.@KB_NS@.forward
    under torch.compile, and straight to the kernel in eager mode (the
    custom op's Python dispatch costs tens of microseconds a call, a fifth
    of a small kernel's time): same constructor, parameters and
    state_dict; no autograd."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kb_scalars = {}

    def forward(self, @KB_FORWARD_PARAMS@):
        tensors = _kb_tensors(self, @KB_FORWARD_ARGS@, self._kb_scalars)
        if torch.compiler.is_compiling():
            return forward(*tensors)
        return _launch([t.contiguous() for t in tensors])
