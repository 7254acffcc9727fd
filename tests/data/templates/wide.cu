// kbreed-template: wide
// family: elementwise
// problems: gelu
// knob A: 1 2 3 4 | default 1 | category compute | a knob with no effect: the long-run test needs a wide space
// knob B: 1 2 3 4 | default 1 | category compute | another
// knob C: 1 2 3 4 | default 1 | category compute | another
// knob D: 1 2 3 4 | default 1 | category compute | another
// knob E: 1 2 3 4 | default 1 | category compute | another
// knob F: 1 2 3 4 | default 1 | category compute | another
/* A template for tests of long runs (tests/cli/test_cli.sh): 4096 genomes, compiled
 * by a fake nvcc and judged by a fake worker, so its body never runs. */
#include "kbreed_candidate.h"
KBREED_CANDIDATE_ABI
KB_EXPORT int kbreed_forward(const kb_tensor *in, int n_in, kb_tensor *out, int n_out, void *stream)
{
	return KB_ERR_SHAPE;
}
