/* test_playbook.c - the playbook: its catalogue is consistent with the
 * templates, every template compiles across its knob values, choices are
 * conditioned on history, realisations are distinct, recombination mixes. */
#include "testing.h"

#include "bridge.h"
#include "compile.h"
#include "home.h"
#include "propose.h"
#include "realize.h"
#include "template.h"
#include "util.h"

static struct template *tpls;
static int n_tpls;
static struct idea_def *cat;
static int n_cat;

static int setup(void **state)
{
	test_private_cache_shared_nvcc();
	if (template_load_all(&tpls, &n_tpls) || propose_load_catalog(&cat, &n_cat))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	template_free_all(tpls, n_tpls);
	for (int i = 0; i < n_cat; i++)
		idea_def_release(&cat[i]);
	free(cat);
	return 0;
}

static void test_header_parsing(void **state)
{
	const char *text = "// kbreed-template: demo\n// family: elementwise\n// problems: gelu relu\n"
			   "// knob VEC: 1 2 4 | default 4 | category Memory | floats per load\n"
			   "// knob THREADS: 128 256 | default 256 | category compute | threads\n#include <x>\n";
	struct template t;
	assert_int_equal(template_parse("demo.cu", text, &t), 0);
	assert_string_equal(t.name, "demo");
	assert_int_equal(t.n_knobs, 2);
	assert_int_equal(t.knobs[0].n_values, 3);
	assert_string_equal(t.knobs[0].category, "memory access");
	assert_string_equal(t.knobs[0].what, "floats per load");
	assert_int_equal(t.knobs[0].def, 4);
	assert_true(template_serves(&t, "relu", NULL));
	assert_false(template_serves(&t, "rel", NULL));
	struct genome g;
	assert_int_equal(genome_parse(&g, &t, "THREADS=128"), 0);
	char *k = genome_knobs_str(&g);
	assert_string_equal(k, "VEC=4 THREADS=128");
	free(k);
	assert_int_equal(genome_parse(&g, &t, "THREADS=100"), -1);
	assert_int_equal(genome_parse(&g, &t, "NOPE=1"), -1);
	/* A value is a whole int: no wrap past INT_MAX (2^32 + 128 is not 128),
	 * no trailing text, not empty. */
	assert_int_equal(genome_parse(&g, &t, "THREADS=4294967424"), -1);
	assert_int_equal(genome_parse(&g, &t, "THREADS=128x"), -1);
	assert_int_equal(genome_parse(&g, &t, "THREADS="), -1);
	assert_false(template_accepts(&t, "THREADS=4294967424"));
	assert_false(template_accepts(&t, "THREADS=128.5"));
	assert_true(template_settings_name("VEC=2 THREADS=256", "THREADS"));
	assert_false(template_settings_name("XVEC=2", "VEC"));
	assert_false(template_settings_name("VECTOR=2", "VEC"));
	assert_true(template_accepts(&t, "VEC=2 THREADS=256"));
	assert_false(template_accepts(&t, "VEC=3"));
	assert_int_equal(genome_parse(&g, &t, "THREADS=128"), 0);
	char *src = genome_realize(&g, NULL);
	assert_non_null(strstr(src, "#define VEC 4\n#define THREADS 128\n// kbreed-template: demo"));
	free(src);
	/* The problem's defines come first, then the knobs. */
	src = genome_realize(&g, "#define CONV_STRIDE 4\n");
	assert_non_null(strstr(src, "#define CONV_STRIDE 4\n#define VEC 4\n#define THREADS 128\n"));
	free(src);
	/* Transplant: shared knobs with allowed values carry, the rest is ignored. */
	assert_int_equal(genome_transplant(&g, &t, "BM=128 THREADS=256 VEC=3 junk"), 1);
	assert_int_equal(genome_transplant(&g, &t, "THREADS=4294967552 VEC=18446744073709551618"), 0);
	assert_int_equal(genome_transplant(&g, &t, "BM=128 THREADS=256 VEC=3 junk"), 1);
	k = genome_knobs_str(&g);
	assert_string_equal(k, "VEC=4 THREADS=256");
	free(k);
	assert_false(template_seeds_from(&t, "matmul"));
	template_release(&t);
	assert_int_equal(template_parse("s.cu", "// kbreed-template: s\n// family: conv\n// problems: conv2d\n"
					"// seeds-from: matmul attention\n// knob BM: 64 128 | default 64 | category compute | rows\n", &t), 0);
	assert_true(template_seeds_from(&t, "matmul"));
	assert_true(template_seeds_from(&t, "attention"));
	assert_false(template_seeds_from(&t, "mat"));
	template_release(&t);
	/* A default outside the values, or a missing header, is an error. */
	assert_int_equal(template_parse("bad.cu", "// kbreed-template: b\n// family: f\n// problems: p\n"
					"// knob A: 1 2 | default 3 | category compute | x\n", &t), -1);
	assert_int_equal(template_parse("bad.cu", "#include <x>\n", &t), -1);
}

static void test_header_errors(void **state)
{
	/* Each malformed header is refused (and released: the test runs
	 * leak-free under a checker). A knob without a name used to hang
	 * template_settings_name on an empty needle. */
	const char *head = "// kbreed-template: b\n// family: f\n// problems: p\n";
	const char *bad[] = {
		"// knob : 1 2 | default 1 | category compute | x\n",
		"// knob   : 1 2 | default 1 | category compute | x\n",
		"// knob A: 1 2 | default 1 | category compute | x\n// knob A: 1 4 | default 4 | category compute | y\n",
		"// kbreed-template: again\n",
		"// family: g\n",
		"// problems: q\n",
		"// seeds-from: matmul\n// seeds-from: conv\n",
		/* The category is required, named, and unique; loose values are
		 * among the values and never the default. */
		"// knob A: 1 2 | default 1 | x\n",
		"// knob A: 1 2 | default 1 | category speed | x\n",
		"// knob A: 1 2 | default 1 | category c | x\n",  /* not a whole word */
		"// knob A: 1 2 | default 1 | category memory | category compute | x\n",
		"// knob A: 1 2 | default 2 | category data | loose 3 | x\n",
		"// knob A: 1 2 | default 2 | category data | loose 2 | x\n",
		"// knob A: 1 2 | default 2 | category data | loose 1x | x\n",
	};
	struct template t;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *text = xasprintf("%s%s#include <x>\n", head, bad[i]);
		if (template_parse("bad.cu", text, &t) != -1)
			fail_msg("accepted a malformed header:\n%s", text);
		free(text);
	}
	char *ok = xasprintf("%s// knob A: 1 2 | default 1 | category compute | x\n// knob B: 1 2 | default 1 | category compute | y\n", head);
	assert_int_equal(template_parse("ok.cu", ok, &t), 0);
	assert_int_equal(t.n_knobs, 2);
	template_release(&t);
	free(ok);
	assert_false(template_settings_name("A=1 B=2", ""));
	/* Category and loose in either order; what keeps its bars. */
	ok = xasprintf("%s// knob P: 1 2 3 | default 3 | loose 1 2 | category data type | 1 = tf32 | 3 = fp32\n", head);
	assert_int_equal(template_parse("ok.cu", ok, &t), 0);
	assert_string_equal(t.knobs[0].category, "data type and precision");
	assert_true(t.knobs[0].loose[0] && t.knobs[0].loose[1] && !t.knobs[0].loose[2]);
	assert_string_equal(t.knobs[0].what, "1 = tf32 | 3 = fp32");
	template_release(&t);
	free(ok);
	assert_null(template_category("async"));
	assert_string_equal(template_category("asynchronous"), "asynchronous operations and latency hiding");
	assert_string_equal(template_category("PARALLELISM AND"), "parallelism and occupancy");
	assert_null(template_category("parallel"));  /* whole words only */
	assert_null(template_category(""));
}

/* Writes text to dir/name, making the directories on the way. */
static void put(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name), *slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(util_mkdirs(path), 0);
	*slash = '/';
	assert_int_equal(util_write_file(path, text, strlen(text)), 0);
	free(path);
}

static void test_helpers_inlined(void **state)
{
	/* Marker lines are replaced by the named file, nested helpers too, each
	 * file once; a missing file is an error naming file and line. */
	char *dir = test_tmpdir();
	put(dir, "common/a.cuh", "#include \"b.cuh\" // kbreed:inline\nint helper_a;\n");
	put(dir, "common/b.cuh", "int helper_b;\n");
	const char *text = "// kbreed-template: t\n// family: f\n// problems: p\n"
			   "// knob A: 1 2 | default 1 | category compute | x\n"
			   "#include \"../common/a.cuh\" // kbreed:inline\n"
			   "  #include \"../common/b.cuh\"   // kbreed:inline\n"
			   "#include \"../common/a.cuh\" // kbreed:inline\n"
			   "int body;\n";
	put(dir, "fam/t.cu", text);
	char *path = xasprintf("%s/fam/t.cu", dir);
	struct template t;
	assert_int_equal(template_parse(path, text, &t), 0);
	assert_null(strstr(t.text, "kbreed:inline"));
	const char *b = strstr(t.text, "int helper_b;\n"), *a = strstr(t.text, "int helper_a;\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(b < a);                            /* b comes in where a names it */
	assert_null(strstr(b + 1, "int helper_b;"));   /* once */
	assert_null(strstr(a + 1, "int helper_a;"));
	assert_non_null(strstr(t.text, "int body;\n"));
	assert_int_equal(strncmp(t.text, "// kbreed-template: t\n", 22), 0);
	struct genome g;
	genome_default(&g, &t);
	char *src = genome_realize(&g, NULL);
	assert_null(strstr(src, "kbreed:inline"));
	assert_non_null(strstr(src, "int helper_a;"));
	free(src);
	template_release(&t);

	char *missing = xasprintf("%s#include \"../common/nope.cuh\" // kbreed:inline\n",
				  "// kbreed-template: t\n// family: f\n// problems: p\n");
	assert_int_equal(template_parse(path, missing, &t), -1);
	char *odd = xasprintf("%s#include <common/a.cuh> // kbreed:inline\n",
			      "// kbreed-template: t\n// family: f\n// problems: p\n");
	assert_int_equal(template_parse(path, odd, &t), -1);
	util_remove_tree(dir);
	free(odd);
	free(missing);
	free(path);
	free(dir);
}

static char *suite_defines(const struct template *t);

static void test_realised_templates_stand_alone(void **state)
{
	/* Every shipped template's candidate holds no marker line and compiles
	 * alone in an empty directory: nvcc is given no path to templates/. */
	int with_helpers = 0;
	char *dir = test_tmpdir();
	if (!getenv("KBREED_PYTHON"))
		setenv("KBREED_PYTHON", "/usr/bin/python3", 1);
	struct compile_job jobs[64];
	int n = 0;
	for (int t = 0; t < n_tpls; t++) {
		char *raw = NULL;
		assert_int_equal(util_read_file(tpls[t].path, 1u << 20, &raw, NULL), 0);
		with_helpers += strstr(raw, "kbreed:inline") != NULL;
		free(raw);
		struct genome g;
		genome_default(&g, &tpls[t]);
		char *defines = suite_defines(&tpls[t]);
		char *src = genome_realize(&g, defines);
		free(defines);
		for (const char *l = src; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (!strncmp(l, "#include \"", 10) && strncmp(l, "#include \"kbreed_candidate.h\"", 29))
				fail_msg("%s realises with a local include: %.60s", tpls[t].name, l);
		assert_null(strstr(src, "kbreed:inline"));
		char *p = xasprintf("%s/%s.cu", dir, tpls[t].name);
		assert_int_equal(util_write_file(p, src, strlen(src)), 0);
		memset(&jobs[n], 0, sizeof jobs[n]);
		jobs[n++].source = p;
		assert_true(n < 64);
		free(src);
	}
	assert_true(with_helpers >= 6);
	struct compile_opts o = { .arch = "sm_90a" };
	assert_int_equal(compile_batch(jobs, n, &o), 0);
	for (int i = 0; i < n; i++) {
		if (!jobs[i].ok)
			fail_msg("%s does not compile alone:\n%s", jobs[i].source, jobs[i].log);
		compile_job_release(&jobs[i]);
		free((char *)jobs[i].source);
	}
	util_remove_tree(dir);
	free(dir);
}

static void test_catalog_matches_templates(void **state)
{
	assert_true(n_tpls >= 6);
	assert_true(n_cat >= 15);
	int per_cat[6] = { 0 };
	for (int i = 0; i < n_cat; i++) {
		const struct idea_def *d = &cat[i];
		for (int c = 0; c < 6; c++)
			per_cat[c] += !strcmp(d->category, idea_categories[c]);
		if (*d->to) {
			const struct template *t = template_find(tpls, n_tpls, d->to);
			if (!t)
				fail_msg("idea %s moves to unknown template %s", d->id, d->to);
			if (!template_accepts(t, d->set))
				fail_msg("idea %s sets '%s', which %s does not accept", d->id, d->set, t->name);
			char *copy = xstrdup(d->vary);
			for (char *sv = NULL, *w = strtok_r(copy, " ", &sv); w; w = strtok_r(NULL, " ", &sv))
				if (template_knob(t, w) < 0)
					fail_msg("idea %s varies %s, which %s lacks", d->id, w, t->name);
			free(copy);
			/* when names knobs of the templates the parent may have. */
			copy = xstrdup(d->from);
			for (char *sv = NULL, *w = strtok_r(copy, " ", &sv); w && *d->when; w = strtok_r(NULL, " ", &sv)) {
				const struct template *f = template_find(tpls, n_tpls, w);
				if (!f || !template_accepts(f, d->when))
					fail_msg("idea %s's when '%s' does not fit its parent template %s", d->id,
						 d->when, w);
			}
			free(copy);
		} else {
			/* A generic idea must fit at least one template. */
			bool fits = false;
			for (int t = 0; t < n_tpls; t++)
				fits |= template_accepts(&tpls[t], d->set) &&
					(!*d->vary || template_count_knobs(&tpls[t], d->vary) > 0);
			if (!fits)
				fail_msg("idea %s fits no template", d->id);
		}
	}
	/* The playbook covers most of the six categories. */
	int covered = 0;
	for (int c = 0; c < 6; c++)
		covered += per_cat[c] > 0;
	assert_true(covered >= 5);
}

/* The KBREED_DEFINES of the first suite problem t serves (a convolution's
 * stride and padding), through the real bridge; "" when it has none. */
static char *suite_defines(const struct template *t)
{
	char *copy = xstrdup(t->problems), *defines = NULL;
	for (char *sv = NULL, *w = strtok_r(copy, " ", &sv); w && !defines; w = strtok_r(NULL, " ", &sv)) {
		char *path = xasprintf("%s/problems/%s.py", home_dir(), w);
		if (util_file_exists(path)) {
			struct problem p;
			problem_init(&p);
			if (bridge_describe(path, &p))
				fail_msg("cannot describe %s for template %s", path, t->name);
			defines = p.defines ? xstrdup(p.defines) : xstrdup("");
			problem_release(&p);
		}
		free(path);
	}
	free(copy);
	return defines ? defines : xstrdup("");
}

static void test_templates_compile(void **state)
{
	/* Every template with every knob at its lowest value, and with every
	 * knob at its highest, with the defines of a problem it serves: each
	 * knob's extremes compile (the defaults compile in
	 * test_realised_templates_stand_alone). Knobs are independent by
	 * design (a template clamps what does not fit), so two sources per
	 * template cover them: one per knob end took 290 nvcc runs, 27 minutes
	 * of a 2-core CI machine. The attention templates also take the
	 * problem facts they may meet (templates/common/attention.cuh): bf16 at
	 * the lowest end, causal with a scale of its own at the highest, so
	 * that both sides of each compile. */
	struct compile_job jobs[128];
	char *paths[128];
	int n = 0;
	char *dir = test_tmpdir();
	if (!getenv("KBREED_PYTHON"))
		setenv("KBREED_PYTHON", "/usr/bin/python3", 1);
	for (int t = 0; t < n_tpls; t++) {
		char *defines = suite_defines(&tpls[t]);
		for (int end = 0; end < 2; end++) {
			struct genome g;
			genome_default(&g, &tpls[t]);
			for (int k = 0; k < tpls[t].n_knobs; k++)
				g.value[k] = tpls[t].knobs[k].values[end ? tpls[t].knobs[k].n_values - 1 : 0];
			bool attention = !strcmp(tpls[t].family, "attention");
			char *facts = xasprintf("%s%s", defines,
						!attention ? ""
						: end	   ? "#define ATTN_CAUSAL 1\n#define ATTN_SCALE 0.3\n"
							   : "#define ATTN_BF16 1\n");
			char *src = genome_realize(&g, facts);
			free(facts);
			paths[n] = xasprintf("%s/%s-%s.cu", dir, tpls[t].name, end ? "highest" : "lowest");
			assert_int_equal(util_write_file(paths[n], src, strlen(src)), 0);
			free(src);
			memset(&jobs[n], 0, sizeof jobs[n]);
			jobs[n].source = paths[n];
			n++;
			assert_true(n < 128);
		}
		free(defines);
	}
	struct compile_opts o = { .arch = "sm_90a" };
	assert_int_equal(compile_batch(jobs, n, &o), 0);
	for (int i = 0; i < n; i++) {
		if (!jobs[i].ok)
			fail_msg("%s does not compile:\n%s", jobs[i].source, jobs[i].log);
		compile_job_release(&jobs[i]);
		free(paths[i]);
	}
	util_remove_tree(dir);
	free(dir);
}

static struct propose_ctx ctx_for(const char *op, const char *family, struct known *hist, int n_hist,
				  const char *const *tried, int n_tried, uint64_t *rng)
{
	return (struct propose_ctx){ .problem = op, .family = family, .bound = "memory", .floor_ms = 0.7,
				     .eager_ms = 0.7, .templates = tpls, .n_templates = n_tpls,
				     .catalog = cat, .n_catalog = n_cat, .history = hist,
				     .n_history = n_hist, .tried = tried, .n_tried = n_tried, .rng = rng };
}

static void test_loose_ideas_only_under_crfm(void **state)
{
	/* An idea that lowers precision (TF32 for fp32 data) is proposed only
	 * when the run is judged under the loose tolerance. */
	uint64_t rng = 5;
	struct known naive = { .id = 1, .correct = true, .median_ms = 2.7, .pct_floor = 40 };
	const struct known *seeds[] = { &naive };
	for (int strict = 0; strict < 2; strict++) {
		struct propose_ctx ctx = ctx_for("matmul_fp32", "matmul", &naive, 1, NULL, 0, &rng);
		ctx.strict = strict;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), loose = 0;
		assert_true(n >= 1);
		for (int i = 0; i < n; i++) {
			for (int c = 0; c < n_cat; c++)
				if (!strcmp(cat[c].id, p[i].catalog_id))
					loose += cat[c].loose;
			proposal_release(&p[i]);
		}
		if (strict)
			assert_int_equal(loose, 0);
		else
			assert_true(loose >= 1);
	}
}

static void test_pointwise_template_offered(void **state)
{
	/* `problems: *` needs a requires line; the template then serves exactly
	 * the problems whose defines define what it requires, whatever the op. */
	struct template t;
	assert_int_equal(template_parse("w.cu", "// kbreed-template: w\n// family: elementwise\n// problems: *\n"
					"#include <x>\n", &t), -1);
	assert_int_equal(template_parse("w.cu", "// kbreed-template: w\n// family: elementwise\n// problems: *\n"
					"// requires: KB_PW_BODY\n#include <x>\n", &t), 0);
	const char *body = "#define LEAKY_SLOPE 0.01\n#define KB_PW_BODY real t0 = v; return t0;\n";
	assert_true(template_serves(&t, "leaky_relu", body));
	assert_true(template_serves(&t, "pointwise_chain", body));
	assert_false(template_serves(&t, "leaky_relu", NULL));
	assert_false(template_serves(&t, "leaky_relu", ""));
	assert_false(template_serves(&t, "leaky_relu", "#define KB_PW_BODYX 1\n#define Y KB_PW_BODY\n// KB_PW_BODY\n"));
	assert_true(template_defines_name("  #define  F(x) x\n", "F"));
	assert_false(template_defines_name("#define FF 1\n", "F"));
	template_release(&t);
	/* The catalogue moves a pointwise problem's naive kernel to
	 * pointwise_vec only when recognition wrote its body. */
	const struct template *pv = template_find(tpls, n_tpls, "pointwise_vec");
	assert_non_null(pv);
	assert_true(template_serves(pv, "relu", body));
	assert_false(template_serves(pv, "gelu", NULL));
	uint64_t rng = 7;
	struct known naive = { .id = 1, .correct = true, .median_ms = 0.9, .pct_floor = 60 };
	const struct known *seeds[] = { &naive };
	for (int with = 0; with < 2; with++) {
		struct propose_ctx ctx = ctx_for("leaky_relu", "elementwise", &naive, 1, NULL, 0, &rng);
		ctx.defines = with ? body : NULL;
		struct proposal p[16];
		int n = propose_playbook(&ctx, seeds, 1, 16, p), to_pv = 0;
		for (int i = 0; i < n; i++) {
			to_pv += p[i].to == pv;
			proposal_release(&p[i]);
		}
		if (with)
			assert_true(to_pv >= 1);
		else
			assert_int_equal(to_pv, 0);
	}
}

static void test_reduce_template_offered(void **state)
{
	/* reduce_dim serves the reductions whose graph recognition wrote as
	 * KB_RED_* defines, and nothing else. */
	const char *rows = "#define REDUCE_DIM -1\n#define KB_RED_OP KB_RED_SUM\n#define KB_RED_RANK 2\n"
			   "#define KB_RED_DIM 1\n#define KB_RED_NDIMS 1\n#define KB_RED_KEEPDIM 0\n"
			   "#define KB_RED_INNERMOST 1\n";
	const char *cols = "#define KB_RED_OP KB_RED_ARGMIN\n#define KB_RED_RANK 3\n#define KB_RED_DIM 1\n"
			   "#define KB_RED_NDIMS 1\n#define KB_RED_KEEPDIM 0\n";
	const struct template *rd = template_find(tpls, n_tpls, "reduce_dim");
	assert_non_null(rd);
	assert_true(template_serves(rd, "sum_dim", rows));
	assert_true(template_serves(rd, "argmin_dim", cols));
	assert_false(template_serves(rd, "sum_dim", "#define REDUCE_DIM 1\n#define KEEPDIM 0\n"));
	assert_false(template_serves(rd, "sum_all", rows));
	assert_false(template_serves(rd, "gelu", rows));
	/* From the naive kernel the catalogue moves to reduce_dim only with
	 * the defines; from reduce_dim, the row ideas (a warp or a block per
	 * row) go to problems whose reduced axis is innermost, splitting R
	 * among a column's threads to those whose axis is strided. */
	uint64_t rng = 11;
	struct known naive = { .id = 1, .correct = true, .median_ms = 3.0, .pct_floor = 20 };
	struct known tuned = { .id = 2, .tpl = rd, .correct = true, .median_ms = 1.0, .pct_floor = 70 };
	genome_default(&tuned.genome, rd);
	for (int with = 0; with < 3; with++) {
		const char *defines = with == 0 ? NULL : with == 1 ? rows : cols;
		struct known *hist = with ? &tuned : &naive;
		const struct known *seeds[] = { hist };
		struct propose_ctx ctx = ctx_for(with == 2 ? "argmin_dim" : "sum_dim", "reduce", hist, 1, NULL, 0, &rng);
		ctx.defines = defines;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), to_rd = 0, row_ideas = 0, split = 0;
		for (int i = 0; i < n; i++) {
			to_rd += p[i].to == rd;
			row_ideas += !strcmp(p[i].catalog_id, "reduce-warp-per-row") ||
				     !strcmp(p[i].catalog_id, "reduce-block-per-row");
			split += !strcmp(p[i].catalog_id, "reduce-split-r");
			proposal_release(&p[i]);
		}
		if (with == 0) {
			assert_int_equal(to_rd, 0);
			/* ... and with the defines, from naive, reduce-one-pass. */
			ctx.defines = rows;
			n = propose_playbook(&ctx, seeds, 1, 64, p);
			bool one_pass = false;
			for (int i = 0; i < n; i++) {
				one_pass |= !strcmp(p[i].catalog_id, "reduce-one-pass") && p[i].to == rd;
				proposal_release(&p[i]);
			}
			assert_true(one_pass);
		} else {
			assert_true(to_rd >= 3);
			assert_int_equal(row_ideas, with == 1 ? 2 : 0);
			assert_int_equal(split, with == 1 ? 0 : 1);
		}
	}
}

static void test_loss_template_offered(void **state)
{
	/* loss_reduce serves the losses whose graph recognition wrote as
	 * KB_LOSS_* defines, and nothing else. */
	const char *elems = "#define LOSS_BETA 1\n#define KB_LOSS_OP KB_LOSS_SMOOTH_L1\n"
			    "#define KB_LOSS_REDUCTION KB_LOSS_MEAN\n#define KB_LOSS_BETA (1)\n";
	const char *rows = "#define KB_LOSS_OP KB_LOSS_TRIPLET\n#define KB_LOSS_REDUCTION KB_LOSS_MEAN\n"
			   "#define KB_LOSS_MARGIN (1)\n#define KB_LOSS_EPS (1e-06)\n#define KB_LOSS_ROWS 1\n";
	const struct template *lr = template_find(tpls, n_tpls, "loss_reduce");
	assert_non_null(lr);
	assert_true(template_serves(lr, "huber_loss", elems));
	assert_true(template_serves(lr, "triplet_margin_loss", rows));
	assert_false(template_serves(lr, "huber_loss", "#define LOSS_BETA 1\n"));
	assert_false(template_serves(lr, "huber_loss", NULL));
	assert_false(template_serves(lr, "log_softmax", elems));
	assert_false(template_serves(lr, "sum_dim", elems));
	/* From the naive kernel the catalogue moves to loss_reduce only with
	 * the defines; from loss_reduce, the row ideas (a warp or a block per
	 * row) go only to a loss with a term per row. */
	uint64_t rng = 13;
	struct known naive = { .id = 1, .correct = true, .median_ms = 3.0, .pct_floor = 20 };
	struct known tuned = { .id = 2, .tpl = lr, .correct = true, .median_ms = 1.0, .pct_floor = 70 };
	genome_default(&tuned.genome, lr);
	for (int with = 0; with < 3; with++) {
		const char *defines = with == 0 ? NULL : with == 1 ? elems : rows;
		struct known *hist = with ? &tuned : &naive;
		const struct known *seeds[] = { hist };
		const char *op = with == 2 ? "triplet_margin_loss" : "huber_loss";
		struct propose_ctx ctx = ctx_for(op, "loss", hist, 1, NULL, 0, &rng);
		ctx.defines = defines;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), to_lr = 0, row_ideas = 0;
		for (int i = 0; i < n; i++) {
			to_lr += p[i].to == lr;
			row_ideas += !strcmp(p[i].catalog_id, "loss-warp-per-row") ||
				     !strcmp(p[i].catalog_id, "loss-block-per-row");
			proposal_release(&p[i]);
		}
		if (with == 0) {
			assert_int_equal(to_lr, 0);
			/* ... and with the defines, from naive, loss-one-pass. */
			ctx.defines = elems;
			n = propose_playbook(&ctx, seeds, 1, 64, p);
			bool one_pass = false;
			for (int i = 0; i < n; i++) {
				one_pass |= !strcmp(p[i].catalog_id, "loss-one-pass") && p[i].to == lr;
				proposal_release(&p[i]);
			}
			assert_true(one_pass);
		} else {
			assert_true(to_lr >= 3);
			assert_int_equal(row_ideas, with == 2 ? 2 : 0);
		}
	}
}

static void test_pool_template_offered(void **state)
{
	/* pool_nd serves the pools whose graph recognition marked with
	 * POOL_OP, max and average, 1-D to 3-D, and nothing else. */
	const char *max3 = "#define POOL 3\n#define POOL_D 3\n#define POOL_H 3\n#define POOL_W 3\n"
			   "#define POOL_STRIDE_W 2\n#define POOL_OP POOL_OP_MAX\n";
	const char *avg1 = "#define POOL_W 8\n#define POOL_COUNT_PAD 1\n#define POOL_OP POOL_OP_AVG\n";
	const struct template *pn = template_find(tpls, n_tpls, "pool_nd");
	assert_non_null(pn);
	assert_true(template_serves(pn, "maxpool3d", max3));
	assert_true(template_serves(pn, "avgpool1d", avg1));
	assert_false(template_serves(pn, "avgpool1d", "#define POOL_W 8\n#define POOL_COUNT_PAD 1\n"));
	assert_false(template_serves(pn, "conv2d_relu_maxpool", max3));
	assert_false(template_serves(pn, "sum_dim", max3));
	/* From the naive kernel the catalogue moves to pool_nd only with
	 * POOL_OP; from pool_nd, the pool-* ideas stay on it. */
	uint64_t rng = 5;
	struct known naive = { .id = 1, .correct = true, .median_ms = 3.0, .pct_floor = 20 };
	struct known tuned = { .id = 2, .tpl = pn, .correct = true, .median_ms = 1.0, .pct_floor = 60 };
	genome_default(&tuned.genome, pn);
	for (int with = 0; with < 3; with++) {
		struct known *hist = with == 2 ? &tuned : &naive;
		const struct known *seeds[] = { hist };
		struct propose_ctx ctx = ctx_for("avgpool1d", "pool", hist, 1, NULL, 0, &rng);
		ctx.defines = with ? avg1 : NULL;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), to_pn = 0, one_pass = 0, pool_ideas = 0;
		for (int i = 0; i < n; i++) {
			to_pn += p[i].to == pn;
			one_pass += !strcmp(p[i].catalog_id, "pool-one-pass") && p[i].to == pn;
			pool_ideas += !strncmp(p[i].catalog_id, "pool-", 5) && p[i].to == pn;
			proposal_release(&p[i]);
		}
		if (with == 0)
			assert_int_equal(to_pn, 0);
		else if (with == 1)
			assert_int_equal(one_pass, 1);
		else
			assert_true(pool_ideas >= 3 && one_pass == 0);
	}
}

static void test_dwconv_template_offered(void **state)
{
	/* conv_depthwise serves depthwise 2-D convolutions whose window
	 * recognition wrote (CONV_KERNEL_H/_W), and nothing else; conv_igemm
	 * (dense convolutions) is not offered to them. */
	const char *dw = "#define CONV_STRIDE 1\n#define CONV_KERNEL_H 3\n#define CONV_KERNEL_W 7\n"
			 "#define CONV_GROUPS 8\n#define CONV_BIAS 0\n";
	const struct template *cd = template_find(tpls, n_tpls, "conv_depthwise");
	const struct template *ig = template_find(tpls, n_tpls, "conv_igemm");
	assert_non_null(cd);
	assert_non_null(ig);
	assert_true(template_serves(cd, "conv2d_depthwise", dw));
	assert_false(template_serves(cd, "conv2d_depthwise", "#define CONV_STRIDE 1\n#define CONV_GROUPS 8\n"));
	assert_false(template_serves(cd, "conv2d", dw));
	assert_false(template_serves(cd, "conv2d_grouped", dw));
	assert_false(template_serves(ig, "conv2d_depthwise", dw));
	/* From the naive kernel the catalogue moves to conv_depthwise (and
	 * never to conv_igemm) only with the window; from conv_depthwise, the
	 * dwconv-* ideas stay on it. */
	uint64_t rng = 9;
	struct known naive = { .id = 1, .correct = true, .median_ms = 3.0, .pct_floor = 20 };
	struct known tuned = { .id = 2, .tpl = cd, .correct = true, .median_ms = 1.0, .pct_floor = 60 };
	genome_default(&tuned.genome, cd);
	for (int with = 0; with < 3; with++) {
		struct known *hist = with == 2 ? &tuned : &naive;
		const struct known *seeds[] = { hist };
		struct propose_ctx ctx = ctx_for("conv2d_depthwise", "conv", hist, 1, NULL, 0, &rng);
		ctx.defines = with ? dw : NULL;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), to_cd = 0, to_ig = 0, direct = 0, dw_ideas = 0;
		for (int i = 0; i < n; i++) {
			to_cd += p[i].to == cd;
			to_ig += p[i].to == ig;
			direct += !strcmp(p[i].catalog_id, "dwconv-direct") && p[i].to == cd;
			dw_ideas += !strncmp(p[i].catalog_id, "dwconv-", 7) && p[i].to == cd;
			proposal_release(&p[i]);
		}
		assert_int_equal(to_ig, 0);
		if (with == 0)
			assert_int_equal(to_cd, 0);
		else if (with == 1)
			assert_int_equal(direct, 1);
		else
			assert_true(dw_ideas >= 3 && direct == 0);
	}
	/* A parent that stages element by element is offered the wide loads;
	 * one that has them already is not. */
	for (int vec = 1; vec <= 4; vec += 3) {
		char set[16];
		snprintf(set, sizeof set, "VEC=%d", vec);
		assert_int_equal(genome_parse(&tuned.genome, cd, set), 0);
		const struct known *seeds[] = { &tuned };
		struct propose_ctx ctx = ctx_for("conv2d_depthwise", "conv", &tuned, 1, NULL, 0, &rng);
		ctx.defines = dw;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), wide = 0;
		for (int i = 0; i < n; i++) {
			wide += !strcmp(p[i].catalog_id, "dwconv-wide-staging");
			proposal_release(&p[i]);
		}
		assert_int_equal(wide, vec == 1);
	}
}

static void test_conv_phases_offered(void **state)
{
	/* conv-transposed-phases (conv_igemm's PHASES=1) is offered where
	 * recognition marks a transposed conv with a stride above 1
	 * (CONV_TRANSPOSED_STRIDED), from the naive kernel and from a
	 * conv_igemm parent at PHASES=0; never to a forward or a stride-1
	 * transposed conv. */
	const char *tstrided = "#define CONV_DIMS 2\n#define CONV_STRIDE 2\n#define CONV_PAD 1\n"
			       "#define CONV_GROUPS 1\n#define CONV_TRANSPOSED 1\n#define CONV_TRANSPOSED_STRIDED 1\n";
	const char *tunit = "#define CONV_DIMS 2\n#define CONV_STRIDE 1\n#define CONV_PAD 1\n"
			    "#define CONV_GROUPS 1\n#define CONV_TRANSPOSED 1\n";
	const char *fwd = "#define CONV_DIMS 2\n#define CONV_STRIDE 2\n#define CONV_PAD 1\n"
			  "#define CONV_GROUPS 1\n#define CONV_TRANSPOSED 0\n";
	const struct template *ig = template_find(tpls, n_tpls, "conv_igemm");
	assert_non_null(ig);
	uint64_t rng = 11;
	struct known naive = { .id = 1, .correct = true, .median_ms = 3.0, .pct_floor = 20 };
	struct known tuned = { .id = 2, .tpl = ig, .correct = true, .median_ms = 1.0, .pct_floor = 40 };
	genome_default(&tuned.genome, ig);
	const char *ops[] = { "conv_transpose2d", "conv_transpose2d", "conv2d" };
	const char *defs[] = { tstrided, tunit, fwd };
	for (int d = 0; d < 3; d++) {
		for (int from = 0; from < 2; from++) {
			struct known *hist = from ? &tuned : &naive;
			const struct known *seeds[] = { hist };
			struct propose_ctx ctx = ctx_for(ops[d], "conv", hist, 1, NULL, 0, &rng);
			ctx.defines = defs[d];
			struct proposal p[64];
			int n = propose_playbook(&ctx, seeds, 1, 64, p), phases = 0;
			for (int i = 0; i < n; i++) {
				if (!strcmp(p[i].catalog_id, "conv-transposed-phases")) {
					phases++;
					assert_ptr_equal(p[i].to, ig);
					assert_string_equal(p[i].set, "PHASES=1");
				}
				proposal_release(&p[i]);
			}
			if (d == 0 && phases != 1)
				fail_msg("a strided transposed conv (from %s) is offered the phase split %d times, not once",
					 from ? "conv_igemm" : "naive", phases);
			if (d > 0 && phases != 0)
				fail_msg("%s (from %s) is offered the phase split", ops[d], from ? "conv_igemm" : "naive");
		}
	}
}

static void test_ideas_change_what_they_say(void **state)
{
	/* An idea's text describes a change: conv-two-blocks-per-sm halves a
	 * 256-position tile ("when": "BM=256"), so a conv_igemm parent at BM=128
	 * is not offered it; and an idea that keeps the template must change a
	 * knob it sets: conv-transposed-phases (PHASES=1, varying BM BN) is not
	 * offered to a parent that already has PHASES=1. */
	const char *tstrided = "#define CONV_DIMS 2\n#define CONV_STRIDE 2\n#define CONV_PAD 1\n"
			       "#define CONV_GROUPS 1\n#define CONV_TRANSPOSED 1\n#define CONV_TRANSPOSED_STRIDED 1\n";
	const struct template *ig = template_find(tpls, n_tpls, "conv_igemm");
	assert_non_null(ig);
	struct { const char *knobs, *idea; int offered; } cases[] = {
		{ "BM=256 BN=96 WARPS=8 PHASES=0", "conv-two-blocks-per-sm", 1 },
		{ "BM=128 BN=96 WARPS=8 PHASES=0", "conv-two-blocks-per-sm", 0 },
		{ "BM=128 BN=128 WARPS=8 PHASES=0", "conv-two-blocks-per-sm", 0 },
		{ "BM=128 BN=96 WARPS=8 PHASES=0", "conv-transposed-phases", 1 },
		{ "BM=128 BN=96 WARPS=8 PHASES=1", "conv-transposed-phases", 0 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		uint64_t rng = 3;
		struct known parent = { .id = 7, .tpl = ig, .correct = true, .median_ms = 1.0, .pct_floor = 40 };
		assert_int_equal(genome_parse(&parent.genome, ig, cases[c].knobs), 0);
		const struct known *seeds[] = { &parent };
		struct propose_ctx ctx = ctx_for("conv_transpose2d", "conv", &parent, 1, NULL, 0, &rng);
		ctx.defines = tstrided;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), got = 0;
		for (int i = 0; i < n; i++) {
			if (!strcmp(p[i].catalog_id, cases[c].idea)) {
				got++;
				char *k = genome_knobs_str(&parent.genome);  /* the parent, as it is */
				assert_non_null(strstr(p[i].text, k));
				free(k);
			}
			proposal_release(&p[i]);
		}
		if (got != cases[c].offered)
			fail_msg("%s offered %d times to a conv_igemm parent at %s, expected %d", cases[c].idea, got,
				 cases[c].knobs, cases[c].offered);
	}
}

static void test_dwsep_template_offered(void **state)
{
	/* conv_dwsep serves depthwise-separable 2-D convolutions whose window
	 * and pointwise bias recognition wrote, and nothing else; neither
	 * conv_depthwise nor conv_igemm is offered to them. */
	const char *ds = "#define CONV_STRIDE 1\n#define CONV_PAD 1\n#define CONV_KERNEL_H 3\n#define CONV_KERNEL_W 3\n"
			 "#define CONV_GROUPS 64\n#define CONV_BIAS 0\n#define CONV_PW_BIAS 0\n";
	const struct template *t = template_find(tpls, n_tpls, "conv_dwsep");
	const struct template *cd = template_find(tpls, n_tpls, "conv_depthwise");
	const struct template *ig = template_find(tpls, n_tpls, "conv_igemm");
	assert_non_null(t);
	assert_true(template_serves(t, "conv2d_depthwise_separable", ds));
	assert_false(template_serves(t, "conv2d_depthwise_separable",
				     "#define CONV_KERNEL_H 3\n#define CONV_KERNEL_W 3\n#define CONV_GROUPS 64\n"));
	assert_false(template_serves(t, "conv2d_depthwise", ds));
	assert_false(template_serves(t, "conv2d_chain", ds));
	assert_false(template_serves(cd, "conv2d_depthwise_separable", ds));
	assert_false(template_serves(ig, "conv2d_depthwise_separable", ds));
	/* From the naive kernel the catalogue moves to conv_dwsep only with the
	 * defines; from conv_dwsep, the dwsep-* ideas stay on it, the loose one
	 * only under the loose tolerance. */
	uint64_t rng = 11;
	struct known naive = { .id = 1, .correct = true, .median_ms = 3.0, .pct_floor = 20 };
	struct known tuned = { .id = 2, .tpl = t, .correct = true, .median_ms = 1.0, .pct_floor = 60 };
	genome_default(&tuned.genome, t);
	for (int with = 0; with < 4; with++) {
		struct known *hist = with >= 2 ? &tuned : &naive;
		const struct known *seeds[] = { hist };
		struct propose_ctx ctx = ctx_for("conv2d_depthwise_separable", "conv", hist, 1, NULL, 0, &rng);
		ctx.defines = with ? ds : NULL;
		ctx.strict = with != 3;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), to_t = 0, others = 0, fused = 0, own = 0, loose = 0;
		for (int i = 0; i < n; i++) {
			to_t += p[i].to == t;
			others += p[i].to == cd || p[i].to == ig;
			fused += !strcmp(p[i].catalog_id, "dwsep-fused") && p[i].to == t;
			own += !strncmp(p[i].catalog_id, "dwsep-", 6) && p[i].to == t;
			loose += !strcmp(p[i].catalog_id, "dwsep-tf32-loose");
			proposal_release(&p[i]);
		}
		assert_int_equal(others, 0);
		if (with == 0)
			assert_int_equal(to_t, 0);
		else if (with == 1)
			assert_int_equal(fused, 1);
		else
			assert_true(own >= 3 && fused == 0);
		assert_int_equal(loose > 0, with == 3);
	}
}

/* The ideas of a memory-bound matrix template: from the naive kernel,
 * `one_pass` moving to t, only where the problem's defines say t serves it;
 * from t's own kernel, at least min_own of the ideas named `prefix`*, none
 * of them the move from naive. */
static void matrix_template_ideas(const struct template *t, const char *op, const char *defines,
				  const char *one_pass_id, const char *prefix, int min_own)
{
	uint64_t rng = 9;
	struct known naive = { .id = 1, .correct = true, .median_ms = 3.0, .pct_floor = 20 };
	struct known tuned = { .id = 2, .tpl = t, .correct = true, .median_ms = 1.0, .pct_floor = 60 };
	genome_default(&tuned.genome, t);
	for (int with = 0; with < 3; with++) {
		struct known *hist = with == 2 ? &tuned : &naive;
		const struct known *seeds[] = { hist };
		struct propose_ctx ctx = ctx_for(op, "matmul", hist, 1, NULL, 0, &rng);
		ctx.defines = with ? defines : NULL;
		struct proposal p[64];
		int n = propose_playbook(&ctx, seeds, 1, 64, p), to_t = 0, one_pass = 0, own = 0;
		for (int i = 0; i < n; i++) {
			to_t += p[i].to == t;
			one_pass += !strcmp(p[i].catalog_id, one_pass_id) && p[i].to == t;
			own += !strncmp(p[i].catalog_id, prefix, strlen(prefix)) && p[i].to == t;
			proposal_release(&p[i]);
		}
		if (with == 0)
			assert_int_equal(to_t, 0);
		else if (with == 1)
			assert_int_equal(one_pass, 1);
		else
			assert_true(own >= min_own && one_pass == 0);
	}
}

static void test_matrix_vector_templates_offered(void **state)
{
	/* gemv serves the matrix-vector products recognition marked with
	 * KB_MATVEC (A @ b and nothing more); rowscale the diagonal products
	 * marked with KB_DIAG_ROWS, either side. */
	const char *mv = "#define TRANS_A 0\n#define TRANS_B 0\n#define KB_MATVEC 1\n";
	const char *rows = "#define KB_DIAG_ROWS 1\n", *cols = "#define KB_DIAG_ROWS 0\n";
	const struct template *gv = template_find(tpls, n_tpls, "gemv");
	const struct template *rs = template_find(tpls, n_tpls, "rowscale");
	assert_non_null(gv);
	assert_non_null(rs);
	assert_true(template_serves(gv, "matvec", mv));
	assert_false(template_serves(gv, "matvec", "#define TRANS_A 0\n#define TRANS_B 0\n"));
	assert_false(template_serves(gv, "matmul_fp32", mv));
	assert_false(template_serves(gv, "matmul_diag", rows));
	assert_true(template_serves(rs, "matmul_diag", rows));
	assert_true(template_serves(rs, "matmul_diag", cols));
	assert_false(template_serves(rs, "matmul_diag", NULL));
	assert_false(template_serves(rs, "matvec", mv));
	matrix_template_ideas(gv, "matvec", mv, "gemv-one-pass", "gemv-", 4);
	matrix_template_ideas(rs, "matmul_diag", cols, "rowscale-one-pass", "rowscale-", 2);
}

static void test_conditioned_on_history(void **state)
{
	uint64_t rng = 42;
	struct known naive = { .id = 1, .correct = true, .median_ms = 1.3, .pct_floor = 55 };
	const struct known *seeds[] = { &naive };
	struct propose_ctx ctx = ctx_for("gelu", "elementwise", &naive, 1, NULL, 0, &rng);
	struct proposal p[16];
	int n = propose_playbook(&ctx, seeds, 1, 16, p);
	assert_true(n >= 2);
	char *first = xasprintf("%s:1", p[0].catalog_id);
	for (int i = 0; i < n; i++) {
		/* From a hand-written kernel, only ideas that bring a template apply. */
		assert_non_null(p[i].to);
		assert_true(template_serves(p[i].to, "gelu", NULL));
		/* The text carries the parent's measured facts. */
		assert_true(strstr(p[i].text, "1.3000 ms") || strstr(p[i].text, "55%"));
		assert_null(strstr(p[i].text, "{"));
		proposal_release(&p[i]);
	}
	/* An idea tried on this parent is not proposed for it again. */
	const char *tried[] = { first };
	ctx = ctx_for("gelu", "elementwise", &naive, 1, tried, 1, &rng);
	int m = propose_playbook(&ctx, seeds, 1, 16, p);
	assert_int_equal(m, n - 1);
	for (int i = 0; i < m; i++) {
		char *key = xasprintf("%s:1", p[i].catalog_id);
		assert_string_not_equal(key, first);
		free(key);
		proposal_release(&p[i]);
	}
	free(first);
	/* Nothing for a family the playbook does not know. */
	ctx = ctx_for("mystery", "mystery", &naive, 1, NULL, 0, &rng);
	assert_int_equal(propose_playbook(&ctx, seeds, 1, 16, p), 0);
}

static void test_categories_that_pay_are_favoured(void **state)
{
	/* History: memory-access ideas doubled speed, the others gave nothing.
	 * Over many draws of one idea, memory access should win most often. */
	const struct template *t = template_find(tpls, n_tpls, "gelu_vec");
	assert_non_null(t);
	struct known hist[4] = {
		{ .id = 1, .correct = true, .median_ms = 2.0 },
		{ .id = 2, .tpl = t, .correct = true, .median_ms = 1.0, .parent_ms = 2.0, .idea = 1,
		  .idea_catalog = "gelu-vector", .idea_category = "memory access" },
		{ .id = 3, .tpl = t, .correct = true, .median_ms = 2.0, .parent_ms = 2.0, .idea = 2,
		  .idea_catalog = "gelu-ilp", .idea_category = "asynchronous operations and latency hiding" },
		{ .id = 4, .tpl = t, .correct = true, .median_ms = 2.0, .parent_ms = 2.0, .idea = 3,
		  .idea_catalog = "gelu-grid-stride", .idea_category = "control flow and loops" },
	};
	for (int i = 1; i < 4; i++)
		genome_default(&hist[i].genome, t);
	const struct known *seeds[] = { &hist[1] };
	int memory = 0, draws = 300;
	uint64_t rng = 1;
	for (int d = 0; d < draws; d++) {
		struct propose_ctx ctx = ctx_for("gelu", "elementwise", hist, 4, NULL, 0, &rng);
		struct proposal p;
		assert_int_equal(propose_playbook(&ctx, seeds, 1, 1, &p), 1);
		memory += !strcmp(p.category, "memory access");
		proposal_release(&p);
	}
	int memory_ideas = 0, applicable = 0;
	for (int i = 0; i < n_cat; i++) {
		if (strstr(cat[i].families, "elementwise") || !strcmp(cat[i].families, "*")) {
			applicable++;
			memory_ideas += !strcmp(cat[i].category, "memory access");
		}
	}
	/* Favoured beyond its share of the applicable ideas. */
	assert_true((double)memory / draws > (double)memory_ideas / applicable);
}

static void test_same_lines(void **state)
{
	/* A same line: genomes with the values before "as" run as the genome
	 * with the values after it. Parsed against the knobs above it;
	 * canonicalisation applies the lines until none changes the genome
	 * (a chain is followed, a cycle ends); realisations and ideas use it. */
	const char *head = "// kbreed-template: s\n// family: f\n// problems: p\n"
			   "// knob W: 0 1 | default 0 | category compute | path\n"
			   "// knob BK: 16 32 | default 16 | category memory | depth\n"
			   "// knob BN: 32 64 96 128 | default 96 | category memory | tile\n";
	char *text = xasprintf("%s// same: W=1 BK=16 as BK=32\n// same: W=1 BN=32 as BN=64\n"
			       "// same: W=1 BN=96 as BN=128\n// same: BN=128 BK=32 W=0 as BN=96\n#include <x>\n", head);
	struct template t;
	assert_int_equal(template_parse("s.cu", text, &t), 0);
	free(text);
	assert_int_equal(t.n_same, 4);
	assert_int_equal(t.same[0].n_when, 2);
	assert_int_equal(t.same[0].n_as, 1);
	struct genome g;
	assert_int_equal(genome_parse(&g, &t, "W=1 BK=16 BN=32"), 0);
	assert_int_equal(genome_canonical(&g), 2);
	char *k = genome_knobs_str(&g);
	assert_string_equal(k, "W=1 BK=32 BN=64");
	free(k);
	assert_int_equal(genome_canonical(&g), 0);    /* canonical stays */
	assert_int_equal(genome_parse(&g, &t, "W=0 BK=16 BN=32"), 0);
	assert_int_equal(genome_canonical(&g), 0);    /* no line holds */
	assert_int_equal(genome_parse(&g, &t, "W=0 BK=32 BN=128"), 0);
	assert_int_equal(genome_canonical(&g), 1);
	assert_int_equal(g.value[2], 96);
	/* An idea that sets BK=16 on a W=1 parent (at BK=32) changes nothing
	 * that runs: not offered as a change; W=1 on a W=0 parent is, and each
	 * of its realisations is canonical and new. */
	struct known parent = { .id = 3, .tpl = &t, .correct = true, .median_ms = 1.0 };
	assert_int_equal(genome_parse(&parent.genome, &t, "W=0 BK=16 BN=96"), 0);
	struct proposal pr = { .catalog_id = "w", .parent1 = &parent, .to = &t, .set = "W=1", .vary = "BK BN" };
	struct genome seen[1] = { parent.genome }, out[8];
	uint64_t rng = 5;
	int r = realize_playbook(&pr, 8, seen, 1, &rng, out);
	assert_int_equal(r, 2);   /* W=1 leaves BK=32 and BN 64 or 128: two kernels */
	for (int x = 0; x < r; x++) {
		struct genome c = out[x];
		assert_int_equal(genome_canonical(&c), 0);
		assert_int_equal(out[x].value[0], 1);
		assert_int_equal(out[x].value[1], 32);
		for (int y = 0; y < x; y++)
			assert_false(genome_equal(&out[x], &out[y]));
	}
	template_release(&t);
	/* A cycle ends (at most as many passes as lines). */
	text = xasprintf("%s// same: BN=32 as BN=64\n// same: BN=64 as BN=32\n#include <x>\n", head);
	assert_int_equal(template_parse("c.cu", text, &t), 0);
	free(text);
	assert_int_equal(genome_parse(&g, &t, "BN=32"), 0);
	assert_true(genome_canonical(&g) <= 4);   /* two passes of two lines */
	template_release(&t);
	/* Malformed lines are refused: no "as", an empty side, a knob not
	 * above the line, a value the knob lacks, a knob twice on one side. */
	const char *bad[] = {
		"// same: W=1 BK=16\n", "// same: as BK=32\n", "// same: W=1 as\n",
		"// same: X=1 as BK=32\n", "// same: W=1 BK=8 as BK=32\n", "// same: W=1 as BK=32x\n",
		"// same: W=1 W=1 as BK=32\n", "// same: W=1 BK as BK=32\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		text = xasprintf("%s%s#include <x>\n", head, bad[i]);
		if (template_parse("bad.cu", text, &t) != -1)
			fail_msg("accepted a malformed same line:\n%s", bad[i]);
		free(text);
	}
	text = xasprintf("// kbreed-template: s\n// family: f\n// problems: p\n// same: W=1 as W=0\n"
			 "// knob W: 0 1 | default 0 | category compute | path\n#include <x>\n");
	assert_int_equal(template_parse("order.cu", text, &t), -1);   /* before its knob */
	free(text);
}

static void test_requires_line(void **state)
{
	/* A requires line: the defines a problem needs (NAME) or must not have
	 * (!NAME) for the template to serve it. Only one that names a define
	 * the problem must have makes the template specialised (round 0 judges
	 * those first); one that only rules structures out does not. */
	const char *lines[] = { "", "// requires: !STRIDED\n", "// requires: NARROW !STRIDED\n" };
	const bool specialised[] = { false, false, true };
	for (int i = 0; i < 3; i++) {
		char *text = xasprintf("// kbreed-template: r\n// family: f\n// problems: p q\n%s"
				       "// knob W: 0 1 | default 0 | category compute | path\n#include <x>\n", lines[i]);
		struct template t;
		assert_int_equal(template_parse("r.cu", text, &t), 0);
		free(text);
		assert_int_equal(template_specialised(&t), specialised[i]);
		assert_true(template_serves(&t, "q", "#define NARROW 1\n") == true);
		assert_true(template_serves(&t, "q", "#define NARROW 1\n#define STRIDED 1\n") == (i == 0));
		assert_true(template_serves(&t, "q", "#define OTHER 1\n") == (i != 2));
		assert_false(template_serves(&t, "z", "#define NARROW 1\n"));
		template_release(&t);
	}
}

static void test_start_lines(void **state)
{
	/* A start line: a compile target and the settings round 0 also judges
	 * there, parsed against the knobs above it; genome_start is the
	 * defaults with those settings. */
	const char *head = "// kbreed-template: s\n// family: f\n// problems: p\n"
			   "// knob W: 0 1 | default 0 | category compute | path\n"
			   "// knob BK: 16 32 | default 16 | category memory | depth\n"
			   "// knob BN: 32 64 96 128 | default 96 | category memory | tile\n";
	char *text = xasprintf("%s// start sm_90a: W=1 BN=128\n// start sm_80: BK=32\n"
			       "// start sm_90a NARROW !STRIDED: BN=32\n#include <x>\n", head);
	struct template t;
	assert_int_equal(template_parse("s.cu", text, &t), 0);
	free(text);
	assert_int_equal(t.n_start, 3);
	assert_string_equal(t.start[0].arch, "sm_90a");
	assert_string_equal(t.start[0].requires, "");
	assert_string_equal(t.start[1].arch, "sm_80");
	/* A line's defines (after the target): the problem's must have each
	 * NAME and none of the !NAMEs for round 0 to judge it. */
	assert_string_equal(t.start[2].arch, "sm_90a");
	assert_string_equal(t.start[2].requires, "NARROW !STRIDED");
	assert_true(template_requires_met(t.start[0].requires, "#define CONV_DIMS 2\n"));
	assert_true(template_requires_met(t.start[2].requires, "#define NARROW 1\n"));
	assert_false(template_requires_met(t.start[2].requires, "#define CONV_DIMS 2\n"));
	assert_false(template_requires_met(t.start[2].requires, "#define NARROW 1\n#define STRIDED 1\n"));
	assert_false(template_requires_met(t.start[2].requires, "#define NARROWER 1\n"));
	struct genome g;
	genome_start(&g, &t, 0);
	char *k = genome_knobs_str(&g);
	assert_string_equal(k, "W=1 BK=16 BN=128");
	free(k);
	genome_start(&g, &t, 1);
	k = genome_knobs_str(&g);
	assert_string_equal(k, "W=0 BK=32 BN=96");
	free(k);
	template_release(&t);
	/* Malformed lines are refused: no colon, no target, defines that are
	 * not C names (a leading digit, '=', '-', a '!' inside or twice), no
	 * settings, a knob not
	 * above the line, a value the knob lacks, a knob twice, a setting
	 * without a value, a target too long; more than TEMPLATE_MAX_START
	 * lines. */
	const char *bad[] = {
		"// start sm_90a W=1\n", "// start : W=1\n", "// start sm 90a: W=1\n", "// start sm_90a:\n",
		"// start sm_90a A=1: W=1\n", "// start sm_90a A!B: W=1\n", "// start sm_90a !!A: W=1\n",
		"// start sm_90a A-B: W=1\n",
		"// start sm_90a: X=1\n", "// start sm_90a: BK=8\n", "// start sm_90a: W=1 W=0\n",
		"// start sm_90a: W\n", "// start sm_90a_with_a_very_long_name: W=1\n",
		"// start a: W=1\n// start b: W=1\n// start c: W=1\n// start d: W=1\n// start e: W=1\n"
		"// start f: W=1\n// start g: W=1\n// start h: W=1\n// start i: W=1\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		text = xasprintf("%s%s#include <x>\n", head, bad[i]);
		if (template_parse("bad.cu", text, &t) != -1)
			fail_msg("accepted a malformed start line:\n%s", bad[i]);
		free(text);
	}
}

static const char *const conv2d_defines =
	"#define CONV_DIMS 2\n#define CONV_STRIDE 1\n#define CONV_PAD 1\n#define CONV_GROUPS 1\n";

/* A strided transposed conv's (recognition adds CONV_STRIDED and
 * CONV_TRANSPOSED_STRIDED). */
static const char *const tconv2d_strided_defines =
	"#define CONV_DIMS 2\n#define CONV_STRIDE 2\n#define CONV_PAD 1\n#define CONV_GROUPS 1\n"
	"#define CONV_TRANSPOSED 1\n#define CONV_STRIDED 1\n#define CONV_TRANSPOSED_STRIDED 1\n";

/* A strided forward conv's, and a conv + ReLU + max-pool's. */
static const char *const conv2d_strided_defines =
	"#define CONV_DIMS 2\n#define CONV_STRIDE 2\n#define CONV_PAD 1\n#define CONV_GROUPS 1\n#define CONV_STRIDED 1\n";
static const char *const conv2d_pool_defines =
	"#define CONV_DIMS 2\n#define CONV_STRIDE 1\n#define CONV_PAD 1\n#define CONV_GROUPS 1\n"
	"#define RELU 1\n#define POOL 2\n#define POOL_STRIDE 2\n";

/* How many times the playbook offers idea ID to PARENT (a kernel of the
 * conv OP that DEFINES describe; the catalogue, or CATALOG's one idea);
 * offers_for: of a conv2d (a conv_igemm parent, so far). */
static int offers_op(struct known *parent, const char *id, const struct idea_def *catalog, uint64_t *rng,
		     const char *defines, const char *op)
{
	const struct known *seeds[] = { parent };
	struct propose_ctx ctx = ctx_for(op, "conv", parent, 1, NULL, 0, rng);
	ctx.defines = defines;
	if (catalog) {
		ctx.catalog = catalog;
		ctx.n_catalog = 1;
	}
	struct proposal p[64];
	int n = propose_playbook(&ctx, seeds, 1, 64, p), offered = 0;
	for (int i = 0; i < n; i++) {
		offered += !strcmp(p[i].catalog_id, id);
		proposal_release(&p[i]);
	}
	return offered;
}

static int offers_for(struct known *parent, const char *id, const struct idea_def *catalog, uint64_t *rng,
		      const char *defines)
{
	return offers_op(parent, id, catalog, rng, defines, "conv2d");
}

/* The same for a conv2d's kernel. */
static int offers(struct known *parent, const char *id, const struct idea_def *catalog, uint64_t *rng)
{
	return offers_for(parent, id, catalog, rng, conv2d_defines);
}

static void test_ideas_do_not_restate_same_settings(void **state)
{
	/* conv_igemm runs BK=16 as BK=32 under WGMMA=1: conv-pipeline-depth
	 * varies STAGES and BK, and is still offered (STAGES moves), but no
	 * realisation records BK=16 with WGMMA=1; conv-wgmma is not offered to a
	 * parent already at WGMMA=1. */
	const struct template *ig = template_find(tpls, n_tpls, "conv_igemm");
	assert_non_null(ig);
	int bk = template_knob(ig, "BK"), wg = template_knob(ig, "WGMMA");
	assert_true(bk >= 0 && wg >= 0);
	uint64_t rng = 11;
	struct known parent = { .id = 7, .tpl = ig, .correct = true, .median_ms = 1.0, .pct_floor = 40 };
	assert_int_equal(genome_parse(&parent.genome, ig, "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1"), 0);
	const struct known *seeds[] = { &parent };
	struct propose_ctx ctx = ctx_for("conv2d", "conv", &parent, 1, NULL, 0, &rng);
	ctx.defines = conv2d_defines;
	struct proposal p[64];
	int n = propose_playbook(&ctx, seeds, 1, 64, p), realised = 0;
	struct genome seen[1] = { parent.genome }, out[8];
	for (int i = 0; i < n; i++) {
		if (!strcmp(p[i].catalog_id, "conv-wgmma"))
			fail_msg("conv-wgmma offered to a parent at WGMMA=1");
		if (p[i].to == ig) {
			int r = realize_playbook(&p[i], 8, seen, 1, &rng, out);
			for (int x = 0; x < r; x++, realised++)
				if (out[x].value[wg] == 1 && out[x].value[bk] == 16)
					fail_msg("%s realised BK=16 with WGMMA=1", p[i].catalog_id);
		}
		proposal_release(&p[i]);
	}
	assert_true(realised > 0);
	/* At WGMMA=0 the idea is offered. */
	assert_int_equal(genome_parse(&parent.genome, ig, "BM=128 BN=128 BK=32 WARPS=8 WGMMA=0"), 0);
	assert_int_equal(offers(&parent, "conv-wgmma", NULL, &rng), 1);
	/* An idea that sets BK=16: a change at WGMMA=0, none at WGMMA=1 (it
	 * runs as BK=32 there), so offered to the first parent only. */
	struct idea_def bk16 = { .id = "bk16", .category = "memory access", .text = "halve BK ({knobs})",
				 .families = "conv", .from = "conv_igemm", .to = "conv_igemm", .set = "BK=16",
				 .vary = "", .requires = "", .when = "" };
	for (int w = 0; w < 2; w++) {
		assert_int_equal(genome_parse(&parent.genome, ig, w ? "BK=32 WGMMA=1" : "BK=32 WGMMA=0"), 0);
		int offered = offers(&parent, "bk16", &bk16, &rng);
		if (offered != !w)
			fail_msg("an idea setting BK=16 offered %d times to a parent at BK=32 WGMMA=%d", offered, w);
	}
	/* conv-wgmma-overlap (when WGMMA=1, set OVERLAP=1): offered to a wgmma
	 * parent without it; not to one with it, nor to an mma.sync parent,
	 * nor where OVERLAP=1 runs as 0 (two m64 tiles of 128 columns: its
	 * same: line), where it would restate the parent.
	 * conv-wgmma-3xbf16 (set WGMMA=1 PRECISION=2): offered to a 3xTF32
	 * parent on either path, not to one already at 3xBF16 on wgmma; an
	 * mma.sync parent at PRECISION=2 runs as 3 (its same: line) and is
	 * offered it too.
	 * conv-channels-last (when NHWC=0, set NHWC=1): offered to a parent
	 * with the NCHW gather on either path, not to one already channels-last.
	 * conv-bf16-smem-operand (when NHWC=1, set NHWC=2 WGMMA=1 PRECISION=2):
	 * offered to a channels-last parent on either path; not to an NCHW one
	 * nor to one already reading A from shared memory.
	 * conv-bf16-register-operand (when NHWC=2, set NHWC=3): offered to a
	 * parent reading A by descriptor only.
	 * conv-tma-operands (when NHWC=2, set NHWC=4): the same parents, not
	 * one already loading by TMA or by ldmatrix. */
	const struct {
		const char *idea, *genome;
		int want;
	} cases[] = {
		{ "conv-wgmma-overlap", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 OVERLAP=0", 1 },
		{ "conv-wgmma-overlap", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 OVERLAP=1", 0 },
		{ "conv-wgmma-overlap", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=0 OVERLAP=0", 0 },
		{ "conv-wgmma-overlap", "BM=256 BN=128 BK=32 WARPS=8 WGMMA=1 OVERLAP=0", 0 },
		{ "conv-wgmma-3xbf16", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=3", 1 },
		{ "conv-wgmma-3xbf16", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=0 PRECISION=3", 1 },
		{ "conv-wgmma-3xbf16", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2", 0 },
		{ "conv-wgmma-3xbf16", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=0 PRECISION=2", 1 },
		{ "conv-channels-last", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=0", 1 },
		{ "conv-channels-last", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=0 NHWC=0", 1 },
		{ "conv-channels-last", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=1", 0 },
		{ "conv-bf16-smem-operand", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=1", 1 },
		{ "conv-bf16-smem-operand", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=0 PRECISION=3 NHWC=1", 1 },
		{ "conv-bf16-smem-operand", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=0", 0 },
		{ "conv-bf16-smem-operand", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=2", 0 },
		{ "conv-bf16-register-operand", "BM=128 BN=64 BK=32 WARPS=4 WGMMA=1 PRECISION=2 NHWC=2", 1 },
		{ "conv-bf16-register-operand", "BM=128 BN=64 BK=32 WARPS=4 WGMMA=1 PRECISION=2 NHWC=1", 0 },
		{ "conv-bf16-register-operand", "BM=128 BN=64 BK=32 WARPS=4 WGMMA=1 PRECISION=2 NHWC=3", 0 },
		{ "conv-tma-operands", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=2", 1 },
		{ "conv-tma-operands", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=3", 0 },
		{ "conv-tma-operands", "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=4", 0 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		assert_int_equal(genome_parse(&parent.genome, ig, cases[c].genome), 0);
		int offered = offers(&parent, cases[c].idea, NULL, &rng);
		if (offered != cases[c].want)
			fail_msg("%s offered %d times to a parent at %s", cases[c].idea, offered, cases[c].genome);
	}
	/* A strided transposed conv gathers through its phases or divisions,
	 * which NHWC=1 leaves as they are: not offered there. */
	assert_int_equal(genome_parse(&parent.genome, ig, "BM=128 BN=128 BK=32 WARPS=8 NHWC=0"), 0);
	int offered = offers_for(&parent, "conv-channels-last", NULL, &rng, tconv2d_strided_defines);
	if (offered != 0)
		fail_msg("conv-channels-last offered %d times to a strided transposed conv", offered);
	assert_int_equal(genome_parse(&parent.genome, ig, "BM=128 BN=128 BK=32 WARPS=8 NHWC=1"), 0);
	offered = offers_for(&parent, "conv-bf16-smem-operand", NULL, &rng, tconv2d_strided_defines);
	if (offered != 0)
		fail_msg("conv-bf16-smem-operand offered %d times to a strided transposed conv", offered);
	/* NHWC=4's boxes need stride 1 and no fused pool: not offered to a
	 * strided conv, forward or transposed, nor to a conv + pool; offered
	 * to the stride-1 conv the cases above are. */
	assert_int_equal(genome_parse(&parent.genome, ig, "BM=128 BN=128 BK=32 WARPS=8 WGMMA=1 PRECISION=2 NHWC=2"), 0);
	const char *const no_tma[] = { tconv2d_strided_defines, conv2d_strided_defines, conv2d_pool_defines };
	for (size_t i = 0; i < sizeof no_tma / sizeof no_tma[0]; i++) {
		offered = offers_for(&parent, "conv-tma-operands", NULL, &rng, no_tma[i]);
		if (offered != 0)
			fail_msg("conv-tma-operands offered %d times to problem %zu (strided or pooled)", offered, i);
	}
	offered = offers_for(&parent, "conv-tma-operands", NULL, &rng, conv2d_defines);
	if (offered != 1)
		fail_msg("conv-tma-operands offered %d times to a stride-1 conv", offered);
	/* conv-phases-channels-last (when PHASES=1 NHWC=0): a strided
	 * transposed conv's phased parent only; not its division gather's
	 * (PHASES=0, which NHWC leaves as it is), nor a forward conv. */
	const struct {
		const char *genome, *defines;
		int want;
	} phased[] = {
		{ "BM=128 BN=32 BK=16 WARPS=4 PHASES=1 NHWC=0", tconv2d_strided_defines, 1 },
		{ "BM=128 BN=32 BK=16 WARPS=4 PHASES=0 NHWC=0", tconv2d_strided_defines, 0 },
		{ "BM=128 BN=32 BK=16 WARPS=4 PHASES=1 NHWC=1", tconv2d_strided_defines, 0 },
		{ "BM=128 BN=32 BK=16 WARPS=4 PHASES=1 NHWC=0", conv2d_defines, 0 },
	};
	for (size_t i = 0; i < sizeof phased / sizeof phased[0]; i++) {
		assert_int_equal(genome_parse(&parent.genome, ig, phased[i].genome), 0);
		offered = offers_for(&parent, "conv-phases-channels-last", NULL, &rng, phased[i].defines);
		if (offered != phased[i].want)
			fail_msg("conv-phases-channels-last offered %d times to case %zu (%s)", offered, i, phased[i].genome);
	}
	/* conv-pointwise-3xbf16 (when PRECISION=3, set PRECISION=2): offered to
	 * a 3xTF32 conv_pointwise parent, not to one already at 3xBF16. */
	const struct template *pw = template_find(tpls, n_tpls, "conv_pointwise");
	assert_non_null(pw);
	struct known pwp = { .id = 8, .tpl = pw, .correct = true, .median_ms = 1.0, .pct_floor = 70 };
	const char *const pw_defines = "#define CONV_DIMS 2\n#define CONV_POINTWISE_PLAIN 1\n#define CONV_GROUPS 1\n";
	for (int prec = 2; prec <= 3; prec++) {
		char knobs[64];
		snprintf(knobs, sizeof knobs, "BM=128 BN=128 PRECISION=%d", prec);
		assert_int_equal(genome_parse(&pwp.genome, pw, knobs), 0);
		offered = offers_op(&pwp, "conv-pointwise-3xbf16", NULL, &rng, pw_defines, "conv2d_pointwise");
		if (offered != (prec == 3))
			fail_msg("conv-pointwise-3xbf16 offered %d times to a parent at PRECISION=%d", offered, prec);
	}
	/* conv-pointwise-resident-weights (requires CONV_FEW_CIN, when
	 * PRECISION=2 WRES=0, set WRES=1): offered only to a 3xBF16 parent
	 * whose weights are not resident yet, and only where the problem's
	 * weight tile fits (128 input channels or fewer). */
	const char *const pw_few_defines =
		"#define CONV_DIMS 2\n#define CONV_POINTWISE_PLAIN 1\n#define CONV_GROUPS 1\n#define CONV_FEW_CIN 1\n";
	const struct {
		const char *genome, *defines;
		int want;
	} res[] = {
		{ "PRECISION=2 WRES=0", pw_few_defines, 1 }, { "PRECISION=2 WRES=1", pw_few_defines, 0 },
		{ "PRECISION=3 WRES=0", pw_few_defines, 0 }, { "PRECISION=2 WRES=0", pw_defines, 0 },
	};
	for (size_t i = 0; i < sizeof res / sizeof res[0]; i++) {
		assert_int_equal(genome_parse(&pwp.genome, pw, res[i].genome), 0);
		offered = offers_op(&pwp, "conv-pointwise-resident-weights", NULL, &rng, res[i].defines, "conv2d_pointwise");
		if (offered != res[i].want)
			fail_msg("conv-pointwise-resident-weights offered %d times to case %zu (%s)", offered, i, res[i].genome);
	}
}

static void test_realisations_and_recombination(void **state)
{
	const struct template *t = template_find(tpls, n_tpls, "gelu_vec");
	struct known a = { .id = 5, .tpl = t, .correct = true, .median_ms = 1.0, .idea_category = "memory access" };
	struct known b = { .id = 6, .tpl = t, .correct = true, .median_ms = 1.1 };
	genome_default(&a.genome, t);
	genome_default(&b.genome, t);
	b.genome.value[0] = t->knobs[0].values[0] == a.genome.value[0] ? t->knobs[0].values[1] : t->knobs[0].values[0];
	b.genome.value[t->n_knobs - 1] = t->knobs[t->n_knobs - 1].values[0] == a.genome.value[t->n_knobs - 1]
		? t->knobs[t->n_knobs - 1].values[1] : t->knobs[t->n_knobs - 1].values[0];
	struct known hist[] = { a, b };
	const struct known *seeds[] = { &hist[0], &hist[1] };
	uint64_t rng = 9;
	struct propose_ctx ctx = ctx_for("gelu", "elementwise", hist, 2, NULL, 0, &rng);
	struct proposal p[4];
	int n = propose_playbook(&ctx, seeds, 2, 4, p);
	assert_true(n >= 2);
	assert_string_equal(p[0].catalog_id, "recombine");
	assert_ptr_equal(p[0].parent2, &hist[1]);
	struct genome out[8];
	struct genome seen[2] = { a.genome, b.genome };
	int k = realize_playbook(&p[0], 4, seen, 2, &rng, out);
	assert_true(k >= 1);
	for (int i = 0; i < k; i++) {
		assert_false(genome_equal(&out[i], &a.genome));
		assert_false(genome_equal(&out[i], &b.genome));
		for (int j = 0; j < t->n_knobs; j++)
			assert_true(out[i].value[j] == a.genome.value[j] || out[i].value[j] == b.genome.value[j]);
	}
	/* An idea with knobs to vary gives distinct realisations, none seen before. */
	for (int i = 1; i < n; i++) {
		if (!p[i].def || !*p[i].def->vary)
			continue;
		int r = realize_playbook(&p[i], 3, seen, 2, &rng, out);
		assert_true(r >= 1);
		for (int x = 0; x < r; x++)
			for (int y = x + 1; y < r; y++)
				assert_false(genome_equal(&out[x], &out[y]));
	}
	for (int i = 0; i < n; i++)
		proposal_release(&p[i]);
}

static void test_realisations_widen_when_the_idea_is_spent(void **state)
{
	/* An idea whose own settings were all tried (it sets VEC=4, the
	 * parent's value, and varies nothing) is still realised k ways: one or
	 * two other knobs move to neighbouring values, the idea's own stays. */
	const struct template *t = template_find(tpls, n_tpls, "gelu_vec");
	assert_non_null(t);
	struct known a = { .id = 5, .tpl = t, .correct = true, .median_ms = 1.0 };
	genome_default(&a.genome, t);
	struct proposal p = { .catalog_id = "x", .parent1 = &a, .to = t, .set = "VEC=4", .vary = "" };
	struct genome seen[1] = { a.genome }, out[4];
	uint64_t rng = 9;
	int vec = template_knob(t, "VEC");
	int r = realize_playbook(&p, 4, seen, 1, &rng, out);
	assert_int_equal(r, 4);
	for (int x = 0; x < r; x++) {
		int d = 0;
		for (int k = 0; k < t->n_knobs; k++)
			d += out[x].value[k] != a.genome.value[k];
		assert_true(d >= 1 && d <= 3);
		assert_int_equal(out[x].value[vec], 4);
		assert_false(genome_equal(&out[x], &a.genome));
		for (int y = 0; y < x; y++)
			assert_false(genome_equal(&out[x], &out[y]));
	}
	/* Nothing new left: a template of one knob of one value realises none. */
	struct template one = { .name = "one", .n_knobs = 1 };
	one.knobs[0] = (struct knob){ .name = "A", .values = { 1 }, .n_values = 1, .def = 1,
				      .category = idea_categories[0] };
	struct known b = { .id = 6, .tpl = &one, .correct = true };
	genome_default(&b.genome, &one);
	struct proposal q = { .catalog_id = "y", .parent1 = &b, .to = &one, .set = "", .vary = "A" };
	struct genome seen1[1] = { b.genome };
	assert_int_equal(realize_playbook(&q, 4, seen1, 1, &rng, out), 0);
}

static void test_knob_steps_when_the_catalogue_runs_dry(void **state)
{
	/* A seed of a template, every catalogue idea already tried on it (here:
	 * no catalogue at all): the round is filled with knob steps, each an
	 * English idea naming the parent, the knob and its new value. */
	const struct template *t = template_find(tpls, n_tpls, "gemm_tf32");
	assert_non_null(t);
	struct known a = { .id = 27, .tpl = t, .correct = true, .median_ms = 1.5, .pct_floor = 77 };
	genome_default(&a.genome, t);
	const struct known *seeds[] = { &a };
	uint64_t rng = 3;
	struct propose_ctx ctx = ctx_for("matmul_fp32", "matmul", &a, 1, NULL, 0, &rng);
	ctx.n_catalog = 0;
	ctx.strict = true;
	struct proposal p[64];
	int n = propose_playbook(&ctx, seeds, 1, 64, p);
	/* Every other value of every knob gives a step, neighbours first
	 * (a loose value, PRECISION=1 here, only under the loose tolerance). */
	int precision = template_knob(t, "PRECISION");
	assert_true(precision >= 0 && t->knobs[precision].loose[0]);
	int expect = 0, near = 0;
	for (int k = 0; k < t->n_knobs; k++) {
		int at = 0;
		for (int v = 0; v < t->knobs[k].n_values; v++)
			if (t->knobs[k].values[v] == a.genome.value[k])
				at = v;
		for (int v = 0; v < t->knobs[k].n_values; v++)
			expect += v != at && !t->knobs[k].loose[v];
		near += (at > 0 && !t->knobs[k].loose[at - 1]) +
			(at + 1 < t->knobs[k].n_values && !t->knobs[k].loose[at + 1]);
	}
	assert_true(near >= 2 && expect > near);
	assert_int_equal(n, expect);
	for (int i = 0; i < near; i++) {
		/* The first steps move a knob to a neighbouring value. */
		struct genome g;
		assert_int_equal(genome_parse(&g, t, p[i].set), 0);
		for (int k = 0; k < t->n_knobs; k++)
			if (template_settings_name(p[i].set, t->knobs[k].name)) {
				int at = 0, to = 0;
				for (int v = 0; v < t->knobs[k].n_values; v++) {
					at = t->knobs[k].values[v] == a.genome.value[k] ? v : at;
					to = t->knobs[k].values[v] == g.value[k] ? v : to;
				}
				assert_int_equal(abs(at - to), 1);
			}
	}
	struct genome seen[1] = { a.genome };
	for (int i = 0; i < n; i++) {
		assert_true(p[i].step);
		assert_ptr_equal(p[i].parent1, &a);
		assert_true(!strncmp(p[i].catalog_id, "step ", 5));
		assert_string_equal(p[i].catalog_id + 5, p[i].set);
		assert_non_null(strstr(p[i].text, "As #27"));
		assert_non_null(strstr(p[i].text, p[i].set));
		assert_null(strstr(p[i].set, "PRECISION"));
		/* The step's category is its knob's, as the header states it. */
		for (int k = 0; k < t->n_knobs; k++)
			if (template_settings_name(p[i].set, t->knobs[k].name))
				assert_string_equal(p[i].category, t->knobs[k].category);
		/* Realised: first the step alone, then with one more knob moved
		 * to a neighbouring value; all distinct, none the parent. */
		struct genome out[4];
		int r = realize_playbook(&p[i], 4, seen, 1, &rng, out);
		assert_true(r >= 1);
		struct genome step;
		assert_int_equal(genome_parse(&step, t, p[i].set), 0);
		int diff = 0;
		for (int k = 0; k < t->n_knobs; k++)
			diff += out[0].value[k] != a.genome.value[k];
		assert_int_equal(diff, 1);
		for (int x = 1; x < r; x++) {
			int d = 0;
			for (int k = 0; k < t->n_knobs; k++)
				d += out[x].value[k] != a.genome.value[k];
			assert_int_equal(d, 2);
			/* The second knob moved never takes a loose value. */
			assert_int_equal(out[x].value[precision], a.genome.value[precision]);
			for (int y = 0; y < x; y++)
				assert_false(genome_equal(&out[x], &out[y]));
		}
	}
	/* A step tried on this seed is not proposed again. */
	char *first = xasprintf("%s:27", p[0].catalog_id);
	const char *tried[] = { first };
	ctx.tried = tried;
	ctx.n_tried = 1;
	struct proposal q[64];
	int m = propose_playbook(&ctx, seeds, 1, 64, q);
	assert_int_equal(m, n - 1);
	for (int i = 0; i < m; i++) {
		assert_string_not_equal(q[i].catalog_id, p[0].catalog_id);
		proposal_release(&q[i]);
	}
	for (int i = 0; i < n; i++)
		proposal_release(&p[i]);
	free(first);
	/* Under the loose tolerance, the loose value is a step too. */
	ctx.strict = false;
	ctx.tried = NULL;
	ctx.n_tried = 0;
	m = propose_playbook(&ctx, seeds, 1, 64, q);
	assert_int_equal(m, n + 1);
	bool loose_step = false;
	for (int i = 0; i < m; i++) {
		loose_step |= !strcmp(q[i].set, "PRECISION=1");
		proposal_release(&q[i]);
	}
	assert_true(loose_step);
	ctx.strict = true;
	/* The same seed gives the same steps in the same order (--seed). */
	uint64_t r1 = 11, r2 = 11;
	ctx.tried = NULL;
	ctx.n_tried = 0;
	ctx.rng = &r1;
	int n1 = propose_playbook(&ctx, seeds, 1, 5, p);
	ctx.rng = &r2;
	int n2 = propose_playbook(&ctx, seeds, 1, 5, q);
	assert_int_equal(n1, n2);
	for (int i = 0; i < n1; i++) {
		assert_string_equal(p[i].catalog_id, q[i].catalog_id);
		proposal_release(&p[i]);
		proposal_release(&q[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_parsing),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_helpers_inlined),
		cmocka_unit_test(test_realised_templates_stand_alone),
		cmocka_unit_test(test_catalog_matches_templates),
		cmocka_unit_test(test_templates_compile),
		cmocka_unit_test(test_conditioned_on_history),
		cmocka_unit_test(test_pointwise_template_offered),
		cmocka_unit_test(test_reduce_template_offered),
		cmocka_unit_test(test_loss_template_offered),
		cmocka_unit_test(test_pool_template_offered),
		cmocka_unit_test(test_dwconv_template_offered),
		cmocka_unit_test(test_dwsep_template_offered),
		cmocka_unit_test(test_conv_phases_offered),
		cmocka_unit_test(test_ideas_change_what_they_say),
		cmocka_unit_test(test_matrix_vector_templates_offered),
		cmocka_unit_test(test_loose_ideas_only_under_crfm),
		cmocka_unit_test(test_categories_that_pay_are_favoured),
		cmocka_unit_test(test_same_lines),
		cmocka_unit_test(test_requires_line),
		cmocka_unit_test(test_start_lines),
		cmocka_unit_test(test_ideas_do_not_restate_same_settings),
		cmocka_unit_test(test_realisations_and_recombination),
		cmocka_unit_test(test_realisations_widen_when_the_idea_is_spent),
		cmocka_unit_test(test_knob_steps_when_the_catalogue_runs_dry),
	};
	if (getenv("KBREED_TEST_FILTER"))
		cmocka_set_test_filter(getenv("KBREED_TEST_FILTER"));
	return cmocka_run_group_tests_name("playbook", tests, setup, teardown);
}
