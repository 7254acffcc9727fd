@KB_BANNER@
# A PyTorch custom operator, torch.ops.@KB_NS@.forward, defined in C++
# (csrc/launch.cpp: TORCH_LIBRARY, schema "@KB_SCHEMA@",
# and a CUDA kernel that allocates the outputs and calls kbreed_forward()
# with no Python on the way), with its fake implementation here
# (register_fake, torch >= 2.4), so torch.compile traces around it; and
# ModelNew, the problem's Model whose forward() calls it. Build the
# extension first (setup.py, beside this package):
#   pip install --no-build-isolation .      or  python setup.py build_ext --inplace
# then:
#   import @KB_NS@
#   y = torch.ops.@KB_NS@.forward(@KB_OP_ARGS@)
#   model = @KB_NS@.ModelNew(*@KB_NS@.get_init_inputs()).cuda()
import torch

if not hasattr(torch.library, "register_fake"):
    raise ImportError("@KB_NS@ needs torch >= 2.4 (torch.library.register_fake); this is torch "
                      + torch.__version__ + ". The ModelNew file of the same export needs no op.")

from . import _C  # noqa: E402  (registers the operator)
from ._runtime import _kb_functional_call, _kb_tensors  # noqa: E402
from .problem import Model, get_init_inputs, get_inputs  # noqa: E402,F401

# The problem's Model on the meta device, built here at import, outside any
# tracing: it gives the op its output shapes (no data, no GPU work).
with torch.random.fork_rng(devices=[]):
    with torch.device("meta"):
        _reference_model = Model(*get_init_inputs())


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


def _spec(tag, ins):
    """For the C++ side, once per input signature: a meta tensor per output
    and whether the op returns one tensor."""
    outs = _reference([torch.empty(t.shape, dtype=t.dtype, device="meta") for t in ins])
    return [torch.empty(o.shape, dtype=o.dtype, device="meta") for o in outs], @KB_SINGLE@


_C.set_spec_fn(_spec)
forward = torch.ops.@KB_NS@.forward


@torch.library.register_fake("@KB_NS@::forward")
def _(@KB_OP_ARGS@):
    outs = [o.new_empty(o.shape) for o in _reference([@KB_OP_ARGS@])]
    return outs[0] if @KB_SINGLE@ else tuple(outs)


class ModelNew(Model):
    """The problem's Model with forward() through torch.ops.@KB_NS@.forward
    under torch.compile, and in eager mode through _C.run, the C++ function
    the op's CUDA kernel calls (one call from Python, no dispatcher): same
    constructor, parameters and state_dict; no autograd."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kb_scalars = {}

    def forward(self, @KB_FORWARD_PARAMS@):
        tensors = _kb_tensors(self, @KB_FORWARD_ARGS@, self._kb_scalars)
        if torch.compiler.is_compiling():
            return forward(*tensors)
        return _C.run(tensors, 0, _spec)
