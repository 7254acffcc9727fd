/*
 * bridge.h - kbreed's side of the PyTorch bridge (bridge/kbreed_bridge.py,
 * contract in docs/BRIDGE.md). Problem loading, reference data, PyTorch's
 * own timings and the machine's ceilings all come through here, each as a
 * plain struct; results that are slow to make are cached on disk.
 */
#ifndef KBREED_BRIDGE_H
#define KBREED_BRIDGE_H

#include "problem.h"

#include <stdbool.h>
#include <sys/types.h>

/* The stressed input sets (docs/EVALUATION.md, *Inputs beyond one
 * distribution*): a plain set's floating inputs transformed by the bridge,
 * the reference recomputed by PyTorch on them. In the order they are made. */
enum stress_kind {
	STRESS_SCALE_UP,       /* x 1e3 */
	STRESS_SCALE_DOWN,     /* x 1e-3 */
	STRESS_SHIFT,          /* + 100 x rms */
	STRESS_TIES,           /* rounded to a coarse grid: many equal values */
	STRESS_CLUSTERED_MAX,  /* several equal maxima in every row, two adjacent */
};
#define STRESS_KINDS (STRESS_CLUSTERED_MAX + 1)

/* "scale_up", "scale_down", "shift", "ties", "clustered_max"; "?" out of range. */
const char *stress_kind_name(enum stress_kind k);
/* The kind a name names. Returns 0, or -1 (k untouched) for another name. */
int stress_kind_parse(const char *name, enum stress_kind *k);

/* A stressed set in the reference data. */
struct stress_set {
	enum stress_kind kind;
	int from;       /* the plain set it stresses */
};

/* A stressed set the bridge did not write: its reference is not finite (an
 * overflow, the log of a zero) or could not be computed. */
struct stress_skip {
	enum stress_kind kind;
	int from;
	char *why;      /* owned */
};

/* A directory of reference data: inputs and outputs of `sets` plain input
 * sets, then of n_stress stressed ones. */
struct refset {
	char *dir;      /* owned; holds manifest.json, param*.bin, set*.in*.bin, set*.out*.bin */
	int sets;       /* plain input sets (get_inputs()), each with its own seed */
	int seed;       /* base seed: model under seed, set i under seed + 1 + i */
	bool upcast;    /* references computed in higher precision than the model's */
	char *device;   /* where they were computed ("cuda" or "cpu"); owned */
	char *gpu;      /* GPU name when computed on one; owned, may be "" */
	struct stress_set *stress;     /* [n_stress]: file set sets + i; owned, NULL when none */
	int n_stress;
	struct stress_skip *skipped;   /* [n_skipped]: stressed sets not made; owned */
	int n_skipped;
};

struct timing {
	double median_ms;
	double min_ms;
	double max_ms;
	int reps;
};

/* PyTorch's time for a problem, measured with kbreed's protocol. */
struct baseline {
	struct timing eager;
	bool has_eager_fp32;     /* eager timed again with TF32 off (bridge_tf32_by_default) */
	struct timing eager_fp32;
	bool has_compile;        /* torch.compile was asked for and ran */
	struct timing compile;
	char *compile_error;     /* owned; NULL unless torch.compile failed */
	char *gpu;               /* owned */
};

/* What the machine can do at best, measured once per GPU. */
struct ceilings {
	char *gpu;               /* owned */
	double bandwidth_gbs;    /* device copy, bytes read + written, 1e9 B/s */
	double fp32_tflops;      /* matmul, TF32 off */
	double tf32_tflops;
	double fp16_tflops;
	double bf16_tflops;
};

void refset_release(struct refset *r);
void baseline_release(struct baseline *b);
/* A deep copy of from into to (released first by the caller). */
void baseline_copy(struct baseline *to, const struct baseline *from);
void ceilings_release(struct ceilings *c);

/* Loads a problem file's description into p (p->path is set from path).
 * Cached by the file's content. Returns 0 or -1 with the reason reported. */
int bridge_describe(const char *path, struct problem *p);

/* Describes the problems `names` (suite names or paths) into the describe
 * cache, one after the other, in a child process, so that a bench's later
 * problems find their descriptions made while the first ones run (a
 * description starts Python and imports PyTorch: seconds of nothing for the
 * GPU). The child prints nothing; a problem it cannot describe is left to be
 * described, and reported, when it starts. Returns the child's pid, or 0
 * when there is nothing to do or no child could be started (nothing is lost
 * either way). Call before any thread starts (it forks). */
pid_t bridge_describe_ahead(const char *const *names, int n);

/* Waits for bridge_describe_ahead's child (a pid of 0: nothing to wait for). */
void bridge_describe_ahead_end(pid_t pid);

/* Makes sure reference data for (problem, sets, seed, stress) exists in the
 * cache, computing it on the GPU when needed; fills r. `device` is "cuda" or
 * "cpu"; with stress, the stressed sets the problem allows follow the plain
 * ones (its KBREED_STRESS; those whose reference is not finite skipped).
 * Where they would exceed the reference data's budget (src/refbudget.h),
 * fewer are made, in refbudget's order, and a warning says so: r->sets may
 * then be below `sets`, and the stressed kinds left out are among
 * r->skipped. The caller judges on r->sets plain sets. */
int bridge_reference(const struct problem *p, int sets, int seed, bool stress, const char *device,
		     struct refset *r);

/* Whether PyTorch's defaults compute part of this problem in TF32, which
 * the strict tolerance rejects: cuDNN's convolutions allow TF32 unless told
 * otherwise (torch.backends.cudnn.allow_tf32), so an fp32 problem with a
 * convolution (its family, or an aten.convolution in its graph). */
bool bridge_tf32_by_default(const struct problem *p);

/* Times PyTorch eager (and torch.compile when with_compile) now, on this
 * GPU; where bridge_tf32_by_default, eager also with TF32 off. */
int bridge_baseline(const struct problem *p, int reps, int warmup, int flush_mb,
		    bool with_compile, struct baseline *b);

/* The machine's ceilings for the named GPU, measured once and cached. */
int bridge_ceilings(const char *gpu_name, struct ceilings *c);

/* The ceilings measured earlier for the named GPU, from the cache only:
 * nothing is measured. Returns 0, or -1 when none are cached (reported only
 * when the cached file is malformed). */
int bridge_ceilings_cached(const char *gpu_name, struct ceilings *c);

/* The Python interpreter the bridge runs under: $KBREED_PYTHON or python3. */
const char *bridge_python(void);

/* The bridge's replies read into structs (bridge_json.c). Each returns 0, or
 * -1 with the missing, mistyped or out-of-range field reported. */

/* When json is {"error": "..."}, returns the message (caller frees); else NULL. */
char *bridge_json_error(const char *json);
/* Fills a problem's description from describe's reply (path untouched),
 * its op graph included: p->graph, or p->graph_error when the bridge could
 * not record one. A graph that is there but malformed is an error. */
int bridge_json_problem(const char *json, struct problem *p);
/* Fills r from a manifest and checks its tensors against the problem's;
 * sets must be a whole number >= 1 and seed a whole number that fits an int;
 * "stress" (absent: none) lists the stressed sets as {"set", "kind", "from"},
 * numbered sets, sets + 1, ... and each from a plain set, at most
 * STRESS_KINDS of them, each kind once; "stress_skipped" (absent: none)
 * lists {"kind", "from", "why"}. */
int bridge_json_manifest(const char *json, const struct problem *p, struct refset *r);
/* Timings: reps must be a whole number >= 1 that fits an int. */
int bridge_json_baseline(const char *json, struct baseline *b);
int bridge_json_ceilings(const char *json, struct ceilings *c);

/* Decodes an op graph alone (the "graph" object of describe's reply) into
 * *out (caller frees with graph_free). Returns 0, or -1 with the reason. */
int bridge_json_graph_text(const char *json, struct op_graph **out);
/* `kbreed describe --json`: p's name, family, op, declared, recognised,
 * defines (the #define lines), flops, min_bytes, missing (or null), graph
 * (describe's format, or null) and graph_error. Caller frees; NULL when
 * encoding failed. */
char *bridge_json_describe(const struct problem *p, bool recognised, const char *missing);

#endif
