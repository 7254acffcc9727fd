// launch.cpp - PyTorch's side of a kbreed kernel (export/launch.cpp, written
// by `kbreed export`). Hands at::Tensors to the kernel's kbreed_forward()
// exactly as kbreed's GPU worker does (docs/ABI.md): each tensor as a
// kb_tensor (device pointer, dtype, shape), inputs then outputs, on the
// current CUDA stream of the tensors' device. Nothing here synchronises.
//
//   launch(ins, outs)      the caller allocated the outputs
//   run(ins, tag, fn)      the outputs allocated here, with the shapes and
//                          dtypes of a per-signature cache (key: tag, then
//                          each input's dtype and shape); on a miss fn is
//                          asked once, under the GIL: fn(tag, ins) ->
//                          ([meta tensor per output], single); fn None: the
//                          one set_spec_fn(fn) gave. Returns one tensor when
//                          single, else a tuple.
//   new_tag()              a tag no other caller in this process has (1, 2,
//                          ...; 0 is the operator's): one per set of outputs
//                          rules, e.g. per module with its constructor's args
// kb_run() is what the custom operator's CUDA kernel calls (op_module.cpp,
// tag 0, set_spec_fn's function), so torch.ops and torch.compile's graphs
// reach the kernel without Python, but for a new input signature. All of it
// is static: the Python module is written into the same file (load_inline,
// op_module.cpp), and two exports loaded in one process share no symbol.
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

@KB_HEADER@

static int32_t kb_dtype_of(const at::Tensor &t)
{
	switch (t.scalar_type()) {
	case at::kFloat: return KB_F32;
	case at::kHalf: return KB_F16;
	case at::kBFloat16: return KB_BF16;
	case at::kDouble: return KB_F64;
	case at::kInt: return KB_I32;
	case at::kLong: return KB_I64;
	case at::kBool: return KB_BOOL;
	default: return -1;
	}
}

static kb_tensor kb_view(const at::Tensor &t, const char *what, size_t i, const at::Device &dev)
{
	TORCH_CHECK(t.is_cuda() && t.device() == dev, "kbreed: ", what, "[", i,
		    "] must be a CUDA tensor on ", dev, ", not on ", t.device());
	TORCH_CHECK(t.is_contiguous(), "kbreed: ", what, "[", i, "] must be contiguous");
	TORCH_CHECK(t.dim() <= KBREED_MAX_DIMS, "kbreed: ", what, "[", i, "] has ", t.dim(),
		    " dimensions; the ABI carries at most ", KBREED_MAX_DIMS);
	kb_tensor k;
	std::memset(&k, 0, sizeof k);
	k.dtype = kb_dtype_of(t);
	TORCH_CHECK(k.dtype >= 0, "kbreed: ", what, "[", i, "] has dtype ", t.scalar_type(),
		    ", which the ABI does not carry");
	k.data = const_cast<void *>(t.data_ptr());
	k.ndim = (int32_t)t.dim();
	for (int64_t d = 0; d < t.dim(); d++)
		k.shape[d] = t.size(d);
	return k;
}

[[maybe_unused]] static void launch(std::vector<at::Tensor> ins, std::vector<at::Tensor> outs)
{
	TORCH_CHECK(!outs.empty(), "kbreed: no output tensors");
	const at::Device dev = outs[0].device();
	TORCH_CHECK(dev.is_cuda(), "kbreed: outputs must be CUDA tensors");
	const c10::cuda::CUDAGuard guard(dev);
	std::vector<kb_tensor> in, out;
	for (size_t i = 0; i < ins.size(); i++)
		in.push_back(kb_view(ins[i], "input", i, dev));
	for (size_t i = 0; i < outs.size(); i++)
		out.push_back(kb_view(outs[i], "output", i, dev));
	cudaStream_t stream = at::cuda::getCurrentCUDAStream(dev.index()).stream();
	int rc = kbreed_forward(in.data(), (int)in.size(), out.data(), (int)out.size(), (void *)stream);
	TORCH_CHECK(rc == KB_OK, "kbreed kernel @KB_NAME@ returned ", rc,
		    rc == KB_ERR_SHAPE ? " (KB_ERR_SHAPE: shapes or dtypes it does not support)"
		    : rc == KB_ERR_LAUNCH ? " (KB_ERR_LAUNCH: a CUDA call or launch failed)" : "");
}

// What forward() returns for one input signature.
struct kb_out_spec {
	std::vector<std::vector<int64_t>> shapes;   // per output, outermost first
	std::vector<at::ScalarType> dtypes;         // per output
	bool single;                                // one tensor, not a tuple
};

static std::mutex kb_specs_mu;   // guards kb_specs
static std::unordered_map<std::string, std::shared_ptr<const kb_out_spec>> kb_specs;
// The Python spec function: a new reference, kept for the life of the
// process (never released: the interpreter may be gone at exit).
static PyObject *kb_spec_fn = nullptr;
static std::atomic<int64_t> kb_next_tag{1};

[[maybe_unused]] static int64_t new_tag()
{
	return kb_next_tag++;
}

[[maybe_unused]] static void set_spec_fn(py::object fn)
{
	py::gil_scoped_acquire gil;
	{
		std::lock_guard<std::mutex> lock(kb_specs_mu);
		kb_specs.clear();
	}
	Py_XDECREF(kb_spec_fn);
	kb_spec_fn = fn.inc_ref().ptr();
}

// The cache key: tag, then per input its dtype, rank and sizes, as bytes.
static std::string kb_key(int64_t tag, const std::vector<at::Tensor> &ins)
{
	std::string key;
	auto put = [&key](int64_t v) { key.append(reinterpret_cast<const char *>(&v), sizeof v); };
	put(tag);
	put((int64_t)ins.size());
	for (const at::Tensor &t : ins) {
		put((int64_t)t.scalar_type());
		put(t.dim());
		for (int64_t s : t.sizes())
			put(s);
	}
	return key;
}

// fn: borrowed, nullptr for set_spec_fn's.
static std::shared_ptr<const kb_out_spec> kb_spec_of(int64_t tag, const std::vector<at::Tensor> &ins, PyObject *fn)
{
	const std::string key = kb_key(tag, ins);
	{
		std::lock_guard<std::mutex> lock(kb_specs_mu);
		auto it = kb_specs.find(key);
		if (it != kb_specs.end())
			return it->second;
	}
	// A new signature: ask Python (the lock is not held: the GIL comes first).
	auto spec = std::make_shared<kb_out_spec>();
	{
		py::gil_scoped_acquire gil;
		if (!fn)
			fn = kb_spec_fn;
		TORCH_CHECK(fn, "kbreed: no output spec function (set_spec_fn was not called)");
		py::object got = py::reinterpret_borrow<py::object>(fn)(tag, ins);
		py::tuple pair = got.cast<py::tuple>();
		TORCH_CHECK(pair.size() == 2, "kbreed: the spec function must return (outputs, single)");
		for (const at::Tensor &m : pair[0].cast<std::vector<at::Tensor>>()) {
			spec->shapes.push_back(m.sizes().vec());
			spec->dtypes.push_back(m.scalar_type());
		}
		spec->single = pair[1].cast<bool>();
	}
	TORCH_CHECK(!spec->shapes.empty(), "kbreed: the spec function gave no outputs");
	TORCH_CHECK(!spec->single || spec->shapes.size() == 1, "kbreed: a single output, but ",
		    spec->shapes.size(), " specs");
	std::lock_guard<std::mutex> lock(kb_specs_mu);
	return kb_specs.emplace(key, std::move(spec)).first->second;
}

// The kernel on ins (made contiguous), its outputs allocated here on the
// device of ins[0], their spec asked of fn (borrowed; nullptr: set_spec_fn's)
// on a new signature; *single says whether forward() returns one tensor.
static std::vector<at::Tensor> kb_run(int64_t tag, const std::vector<at::Tensor> &given, bool *single, PyObject *fn)
{
	TORCH_CHECK(!given.empty(), "kbreed: no input tensors");
	std::vector<at::Tensor> ins;
	ins.reserve(given.size());
	for (const at::Tensor &t : given)
		ins.push_back(t.contiguous());
	std::shared_ptr<const kb_out_spec> spec = kb_spec_of(tag, ins, fn);
	const at::TensorOptions on = at::TensorOptions().device(ins[0].device());
	std::vector<at::Tensor> outs;
	outs.reserve(spec->shapes.size());
	for (size_t i = 0; i < spec->shapes.size(); i++)
		outs.push_back(at::empty(spec->shapes[i], on.dtype(spec->dtypes[i])));
	launch(ins, outs);
	*single = spec->single;
	return outs;
}

[[maybe_unused]] static py::object run(std::vector<at::Tensor> ins, int64_t tag, py::object spec_fn)
{
	bool single = false;
	std::vector<at::Tensor> outs = kb_run(tag, ins, &single, spec_fn.is_none() ? nullptr : spec_fn.ptr());
	if (single)
		return py::cast(outs[0]);
	py::tuple t(outs.size());
	for (size_t i = 0; i < outs.size(); i++)
		t[i] = py::cast(outs[i]);
	return t;
}
@KB_MODULE@