@KB_BANNER@
# Builds the custom operator's extension, @KB_NS@._C, with PyTorch's own
# extension builder (setuptools + torch.utils.cpp_extension): it finds
# PyTorch's headers and libraries and the ABI flags PyTorch was built with,
# which a CMake project would have to be told. kbreed's nvcc flags:
# -O3 -lineinfo and one target, $KBREED_ARCH else the GPU's (@KB_ARCH@ where
# the kernel was judged).
#   pip install --no-build-isolation .     or   python setup.py build_ext --inplace
import os
import sys

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "@KB_NS@"))
from _runtime import _kb_nvcc_flags  # noqa: E402

setup(
    name="@KB_NS@",
    version="@KB_VERSION@",
    description="kbreed kernel for @KB_PROBLEM@ (candidate #@KB_CANDIDATE@) as a PyTorch operator",
    packages=["@KB_NS@"],
    ext_modules=[CUDAExtension(
        "@KB_NS@._C", ["csrc/launch.cpp", "csrc/kernel.cu"],
        include_dirs=[os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc")],
        extra_compile_args={"cxx": ["-O3"], "nvcc": _kb_nvcc_flags("@KB_ARCH@")})],
    cmdclass={"build_ext": BuildExtension},
)
