/*
 * template.h - the playbook kernel templates: templates/FAMILY/NAME.cu.
 *
 * A template is a CUDA candidate whose behaviour is set by named knobs with
 * defaults; its header says which, in lines the playbook reads:
 *   // kbreed-template: softmax_online
 *   // family: softmax
 *   // problems: softmax
 *   // knob THREADS: 256 512 1024 | default 512 | category parallelism | threads per block
 *   // knob PRECISION: 1 3 | default 3 | category data type | loose 1 | 1 = TF32 ...
 *   // seeds-from: matmul          (optional)
 *   // requires: KB_PW_BODY        (optional)
 *   // arch: sm_90a                (optional)
 *   // same: WGMMA=1 BK=16 as BK=32  (optional, any number, after the knobs)
 *   // start sm_90a: WGMMA=1 PRECISION=2  (optional, a few, after the knobs)
 *   // start sm_90a CONV_NARROW_CIN !POOL: NHWC=1  (the same, for some problems)
 * The problems line names the problems (recognition's op names) the
 * template serves, or is `*`: any problem, which then needs a requires
 * line. A requires line
 * names defines the problem must have (recognition writes them from the op
 * graph) for the template to be offered at all: the pointwise template,
 * `problems: *` with `requires: KB_PW_BODY`, serves every pure pointwise
 * graph and no other, whatever recognition named it.
 * Each knob names the idea category its steps belong to (the category's
 * first words suffice) and may mark values `loose`: settings that lower the
 * precision, which a knob step never takes and strict runs never see.
 * An arch line names the one compile target whose features the template
 * needs (wgmma and TMA: sm_90a; elsewhere it returns KB_ERR_SHAPE): on that
 * GPU its round-0 candidate is judged before the other templates', as the
 * one written for it.
 * A same line says that every genome with the values before "as" compiles
 * to the kernel of the genome with the values after it instead (the
 * template overrides those knobs there: conv_igemm's wgmma path runs BK =
 * 32 whatever BK says). Realisations are rewritten to that one genome
 * (genome_canonical), so a search neither judges one kernel twice nor
 * records settings that did not run.
 * A start line names settings that round 0 also judges, besides the
 * defaults, on a GPU of that compile target (the knobs it does not name at
 * their defaults): what is measured best there, so that a short run does
 * not have to climb to it (conv_igemm's wgmma path on Hopper). Its
 * candidates come after the defaults of the templates written for that
 * target or the problem's structure (an arch or requires line), those
 * templates' lines first, and before the others' defaults. Names after
 * the target, each with or without a leading '!', limit the line to
 * problems whose defines have the NAMEs and none of the !NAMEs
 * (template_requires_met): a conv whose groups have 4 input channels or
 * fewer starts from a layout that pads them to 4, not to 32.
 * The seeds-from line names families whose banked kernels may lend this
 * template their settings of the knobs the two share (a convolution takes a
 * GEMM's tile shape). A genome is a template plus one value for each knob; realising a genome
 * prepends "#define KNOB value" lines to the template's text.
 *
 * Device helpers shared by several templates (the .cuh files of
 * templates/common) are written once and named on a marker line,
 *   #include "../common/hopper.cuh" // kbreed:inline
 * so that the template still compiles on its own with nvcc. Loading the
 * template replaces each marker line by that file's text (each file once,
 * however often it is named), so its text, and every candidate realised
 * from it, is one whole self-contained file.
 */
#ifndef KBREED_TEMPLATE_H
#define KBREED_TEMPLATE_H

#include <stdbool.h>

#define TEMPLATE_MAX_KNOBS 12
#define TEMPLATE_MAX_VALUES 8
#define TEMPLATE_MAX_SAME 24
#define TEMPLATE_MAX_START 8

/* The six categories of ideas (CRFM's); a knob's step belongs to one. */
extern const char *const idea_categories[6];
/* The category that word names (a whole category, or its first words, any
 * case), as spelt in idea_categories; NULL when none or several. */
const char *template_category(const char *word);

struct knob {
	char *name;                          /* owned, e.g. "VEC" */
	int values[TEMPLATE_MAX_VALUES];     /* allowed, in the header's order */
	int n_values;
	int def;                             /* the default, one of values */
	bool loose[TEMPLATE_MAX_VALUES];     /* values[i] lowers precision below the model's
					      * dtype (TF32 for fp32): only under the loose
					      * tolerance, and only through the catalogue */
	const char *category;                /* one of idea_categories: where a step of it belongs */
	char *what;                          /* owned: the header's description */
};

/* One same line: knob indices and values, before "as" (when) and after. */
struct knob_same {
	int n_when, n_as;
	int when_knob[TEMPLATE_MAX_KNOBS], when_value[TEMPLATE_MAX_KNOBS];
	int as_knob[TEMPLATE_MAX_KNOBS], as_value[TEMPLATE_MAX_KNOBS];
};

/* One start line: a compile target and the knobs it sets there. */
struct knob_start {
	char arch[16];                 /* e.g. "sm_90a" */
	char requires[128];            /* "NAME !NAME ...": the problem's defines it needs; "" for any */
	int n;
	int knob[TEMPLATE_MAX_KNOBS], value[TEMPLATE_MAX_KNOBS];
};

struct template {
	char *name;       /* owned, e.g. "softmax_online" */
	char *family;     /* owned */
	char *problems;   /* owned: space-separated problem names it serves */
	char *seeds_from; /* owned: space-separated families it takes knob settings from; "" if none */
	char *requires;   /* owned: space-separated names the problem's defines must #define; "" if none */
	char *arch;       /* owned: the compile target it is written for ("sm_90a"); "" for any */
	char *path;       /* owned */
	char *text;       /* owned: the whole file, helper files inlined */
	struct knob knobs[TEMPLATE_MAX_KNOBS];
	int n_knobs;
	struct knob_same same[TEMPLATE_MAX_SAME];
	int n_same;
	struct knob_start start[TEMPLATE_MAX_START];
	int n_start;
};

/* All templates under $KBREED_TEMPLATES, else <home>/templates, sorted by name. Returns 0, or -1 when
 * a template's header is malformed (reported with file and line). */
int template_load_all(struct template **out, int *n);
/* Parses one template file's header and inlines its helper files (marker
 * lines name them relative to path). Returns 0, or -1 (reported with file
 * and line) on a malformed header: a knob without a name, two knobs of one
 * name, a header line given twice, a missing or unreadable helper file. */
int template_parse(const char *path, const char *text, struct template *t);
/* text (of the file at path) with every marker line replaced by the text of
 * the file it names, recursively, each file at most once (*out: caller
 * frees). Returns 0, or -1 when a named file cannot be read. */
int template_inline(const char *path, const char *text, char **out);
void template_release(struct template *t);
void template_free_all(struct template *t, int n);
/* The template of a name, or NULL. */
const struct template *template_find(const struct template *t, int n, const char *name);
/* Whether t serves the problem of this op (named in its problems line, or
 * the line is `*`) whose defines ("#define NAME value" lines, may be NULL)
 * define every name of t's requires line. */
bool template_serves(const struct template *t, const char *op, const char *defines);
/* Whether defines ("#define NAME value" lines, may be NULL) define name. */
bool template_defines_name(const char *defines, const char *name);
/* Whether defines #define every NAME of requires ("NAME !NAME ...", space-
 * separated) and none of its "!NAME"s; "" is met by any. */
bool template_requires_met(const char *requires, const char *defines);
/* Whether t is written for a structure of the problem: its requires line
 * names a define the problem must have (one that only rules defines out,
 * "!NAME", does not make it so). */
bool template_specialised(const struct template *t);
/* Whether every "KNOB=value" in settings names a knob of t and an allowed
 * value (quietly: for deciding whether an idea applies). */
bool template_accepts(const struct template *t, const char *settings);
/* Whether space-separated "KNOB=value" settings name this knob (a whole
 * name: VEC is not found in XVEC=4). */
bool template_settings_name(const char *settings, const char *knob);
/* How many of the space-separated knob names t has. */
int template_count_knobs(const struct template *t, const char *names);
/* Index of a knob by name, or -1. */
int template_knob(const struct template *t, const char *name);

/* A template plus one value per knob (indices as in the template). */
struct genome {
	const struct template *tpl;
	int value[TEMPLATE_MAX_KNOBS];
};

void genome_default(struct genome *g, const struct template *t);
/* t at its defaults with start line i's settings (0 <= i < t->n_start). */
void genome_start(struct genome *g, const struct template *t, int i);
/* "THREADS=512 VEC=4" (caller frees). */
char *genome_knobs_str(const struct genome *g);
/* Parses "THREADS=512 VEC=4" into g (knobs not named keep their default);
 * -1 when a knob or value is unknown to the template. */
int genome_parse(struct genome *g, const struct template *t, const char *knobs);
bool genome_equal(const struct genome *a, const struct genome *b);
/* Rewrites g by its template's same lines, each applied where all its
 * values before "as" hold, until none changes it (at most as many passes
 * as there are lines, so a cycle cannot hang it). Returns how many knob
 * values changed. */
int genome_canonical(struct genome *g);
/* t's defaults, then every "KNOB=value" of knobs that t also has with that
 * value allowed; other settings are ignored. Returns how many were taken. */
int genome_transplant(struct genome *g, const struct template *t, const char *knobs);
/* The candidate source: the problem's defines (a block of "#define NAME
 * value" lines from the problem file, may be NULL), the knob defines, then
 * the template (caller frees). */
char *genome_realize(const struct genome *g, const char *defines);
/* Whether t's seeds-from line names family. */
bool template_seeds_from(const struct template *t, const char *family);

#endif
