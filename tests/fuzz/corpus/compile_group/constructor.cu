#include <cuda_runtime.h>
#undef NDEBUG
#if defined(X)
#  define Y 1
#elif 1
#endif
__attribute__((constructor)) static void f(void) {}
