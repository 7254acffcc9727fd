
// ---- the custom operator (export/op_module.cpp, in the op package only) ----
// torch.ops.@KB_NS@.forward, defined here with the schema kbreed made from
// the problem (one Tensor per entry of in[]), its CUDA kernel kb_run() with
// the package's spec function (tag 0); its fake implementation is the
// package's, in Python (register_fake), which set_python_module names.
#include <torch/library.h>

// Boxed: the inputs taken off the dispatcher's stack, the outputs pushed.
static void kb_forward_cuda(const c10::OperatorHandle &op, torch::jit::Stack *stack)
{
	const size_t n = op.schema().arguments().size();
	std::vector<at::Tensor> ins;
	ins.reserve(n);
	for (const c10::IValue &v : torch::jit::last(stack, n))
		ins.push_back(v.toTensor());
	torch::jit::drop(stack, n);
	bool single = false;
	std::vector<at::Tensor> outs = kb_run(0, ins, &single, nullptr);
	TORCH_CHECK(outs.size() == op.schema().returns().size(), "kbreed: ", outs.size(),
		    " outputs, but the schema returns ", op.schema().returns().size());
	for (at::Tensor &o : outs)
		torch::jit::push(stack, std::move(o));
}

// The package as the operator's Python module, which torch requires of a
// C++ operator whose fake implementation is Python's: set_python_module on
// the torch that has it, impl_abstract_pystub, its older name, else nothing
// (torch < 2.2, which cannot import the package anyway).
template <typename L>
static auto kb_python_module(L &m, int) -> decltype(m.set_python_module(""), void())
{
	m.set_python_module("@KB_NS@");
}
template <typename L>
static auto kb_python_module(L &m, long) -> decltype(m.impl_abstract_pystub(""), void())
{
	m.impl_abstract_pystub("@KB_NS@");
}
template <typename L>
static void kb_python_module(L &, ...)
{
}

TORCH_LIBRARY(@KB_NS@, m)
{
	kb_python_module(m, 0);
	m.def("@KB_SCHEMA@");
}

TORCH_LIBRARY_IMPL(@KB_NS@, CUDA, m)
{
	m.impl("forward", torch::CppFunction::makeFromBoxedFunction<&kb_forward_cuda>());
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m)
{
	m.def("launch", &launch, "kbreed_forward(ins, outs) on the current stream; outs allocated by the caller");
	m.def("run", &run, "the kernel on ins, its outputs allocated from the cached spec of (tag, signature)");
	m.def("new_tag", &new_tag, "a tag of run() no other caller has");
	m.def("set_spec_fn", &set_spec_fn, "fn(tag, ins) -> ([meta tensor per output], single), asked once per signature");
}
