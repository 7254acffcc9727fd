@KB_BANNER@
# ---- the problem, as kbreed judged it ------------------------------------
@KB_PROBLEM_SOURCE@
# ---- end of the problem ----------------------------------------------------

@KB_RUNTIME@

from torch.utils.cpp_extension import load_inline as _kb_load_inline

# The kernel, with its ABI header (include/kbreed_candidate.h) written in.
_KB_KERNEL = '''@KB_KERNEL@'''

# The C++ wrapper (export/launch.cpp): launch(ins, outs) calls kbreed_forward().
_KB_LAUNCH = '''@KB_LAUNCH@'''

# Built once per machine (PyTorch caches it under ~/.cache/torch_extensions).
_kb_ext = _kb_load_inline(
    name="@KB_EXT_NAME@",
    cpp_sources=[_KB_LAUNCH],
    cuda_sources=[_KB_KERNEL],
    functions=["launch"],
    extra_cflags=["-O3"],
    extra_cuda_cflags=_kb_nvcc_flags("@KB_ARCH@"),
    verbose=False,
)


class ModelNew(Model):
    """The problem's Model with forward() computed by kbreed's kernel
    (candidate #@KB_CANDIDATE@). Same constructor, parameters, buffers and
    state_dict as Model; forward() takes CUDA tensors and, like the kernel,
    does not support autograd."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kb_init = (args, kwargs)
        self._kb_specs = {}
        self._kb_scalars = {}

    def forward(self, @KB_FORWARD_PARAMS@):
        args = @KB_FORWARD_ARGS@
        ins = _kb_tensors(self, args, self._kb_scalars)
        spec = _kb_output_specs(Model, self._kb_init, self, args, ins, self._kb_specs)
        outs = _kb_empty_outputs(spec, ins[0].device)
        _kb_ext.launch(ins, outs)
        return _kb_result(outs, spec)
