#include "kbreed_candidate.h"
#include <unistd.h>
KBREED_CANDIDATE_ABI
/* This kernel does not call cublasSgemm, nor exec anything... */
// ... except that it does: "execv" below.
static const char *msg = "a \"quoted\" cudnn \\ string";
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	char *argv[] = { (char *)"/bin/true", 0 };
	return execv (argv[0], argv);
}
