// launch.cpp - PyTorch's side of a kbreed kernel (export/launch.cpp, written
// by `kbreed export`). launch(ins, outs) hands at::Tensors to the kernel's
// kbreed_forward() exactly as kbreed's GPU worker does (docs/ABI.md): each
// tensor as a kb_tensor (device pointer, dtype, shape), inputs then
// outputs, on the current CUDA stream of the tensors' device. The caller
// allocates the outputs; nothing here synchronises.
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <cstring>
#include <string>
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

void launch(std::vector<at::Tensor> ins, std::vector<at::Tensor> outs)
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
@KB_MODULE@