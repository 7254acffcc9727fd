#include <cuda_runtime.h>
#define \
  BM 64
extern __shared__ __align__(16) float smem[];
extern "C" int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *s)
{ return BM; }
#pragma unroll
/* extern "C" { */
const char *s = "#pragma pack";
