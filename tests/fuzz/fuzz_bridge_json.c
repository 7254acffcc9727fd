/*
 * fuzz_bridge_json.c - feeds the bridge's JSON decoders (src/bridge_json.c)
 * arbitrary bytes. Their input is the stdout of a Python process that runs
 * the user's problem file, and cached copies of it on disk: outside input
 * that must come back as a filled struct or a reported error, never a crash,
 * a leak or a wrapped number. Every input goes through all five decoders
 * (a problem twice into the same struct, as bridge_describe decodes);
 * a manifest is checked against the problem the same input described, when
 * it described one, and against a fixed two-tensor problem.
 *
 * Seeds (corpus/bridge_json/): describe replies (two with matrix products
 * reached through views and a tril), a manifest (one with
 * stressed sets written and skipped), timings with and without
 * torch.compile, ceilings, and an error reply, as docs/BRIDGE.md shows them.
 */
#include "bridge.h"
#include "fuzz.h"
#include "problem.h"
#include "recognize.h"

static void fixed_problem(struct problem *p, struct tensor_spec *in, struct tensor_spec *out)
{
	problem_init(p);
	memset(in, 0, sizeof *in);
	memset(out, 0, sizeof *out);
	in->dtype = out->dtype = KB_F32;
	in->ndim = out->ndim = 2;
	in->shape[0] = out->shape[0] = 4;
	in->shape[1] = out->shape[1] = 8;
	p->inputs = in;
	p->n_inputs = 1;
	p->outputs = out;
	p->n_outputs = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_cstr(data, size);

	free(bridge_json_error(json));

	/* Twice into one struct, as bridge_describe does when a cached reply
	 * fails to decode and a fresh one is decoded over it. */
	struct problem p;
	problem_init(&p);
	bridge_json_problem(json, &p);
	int described = bridge_json_problem(json, &p);
	/* Recognition reads the decoded graph (views, attributes, shapes) as
	 * the run does after every describe. */
	if (!described)
		recognize_problem(&p);

	struct refset r;
	memset(&r, 0, sizeof r);
	if (!described && bridge_json_manifest(json, &p, &r) == 0) {
		/* What the evaluator relies on: stressed sets numbered after the
		 * plain ones, each from a plain set, each kind once. */
		bool seen[STRESS_KINDS] = { false };
		if (r.n_stress + r.n_skipped > STRESS_KINDS)
			__builtin_trap();
		for (int i = 0; i < r.n_stress; i++) {
			if ((unsigned)r.stress[i].kind >= STRESS_KINDS || seen[r.stress[i].kind] ||
			    r.stress[i].from < 0 || r.stress[i].from >= r.sets)
				__builtin_trap();
			seen[r.stress[i].kind] = true;
		}
		for (int i = 0; i < r.n_skipped; i++) {
			if ((unsigned)r.skipped[i].kind >= STRESS_KINDS || seen[r.skipped[i].kind] || !r.skipped[i].why)
				__builtin_trap();
			seen[r.skipped[i].kind] = true;
		}
	}
	refset_release(&r);
	problem_release(&p);

	struct problem fixed;
	struct tensor_spec in, out;
	fixed_problem(&fixed, &in, &out);
	memset(&r, 0, sizeof r);
	bridge_json_manifest(json, &fixed, &r);
	refset_release(&r);

	struct baseline b;
	memset(&b, 0, sizeof b);
	bridge_json_baseline(json, &b);
	baseline_release(&b);

	struct ceilings c;
	memset(&c, 0, sizeof c);
	bridge_json_ceilings(json, &c);
	ceilings_release(&c);

	free(json);
	return 0;
}
