/*
 * export.c - `kbreed export`: a stored kernel taken back into PyTorch.
 *
 * Reads the candidate and its run from the store, the problem file the run
 * judged it on and the problem's description (the bridge, cached), then
 * fills the skeletons of <home>/export/ and writes the files export.h
 * lists. The kernel is the stored source, byte for byte; the Python files
 * carry the problem file verbatim (so ModelNew is its Model, with the same
 * constructor, parameters and state_dict) and the runtime that passes
 * tensors to kbreed_forward() in the ABI's order (export/runtime.py).
 * Everything is decided here; the skeletons only hold text.
 */
#define _GNU_SOURCE
#include "export.h"

#include "bridge.h"
#include "home.h"
#include "log.h"
#include "problem.h"
#include "store.h"
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_FILE_CAP (64u << 20)    /* a source, a skeleton, a problem file */

void export_result_release(struct export_result *r)
{
	free(r->dir);
	free(r->problem);
	free(r->verdict);
	memset(r, 0, sizeof *r);
}

/* tpl with every @KEY@ of kv (KEY, value pairs, NULL-terminated) replaced by
 * its value; values are not scanned again. Caller frees; NULL past the cap. */
static char *fill(const char *tpl, const char *const *kv)
{
	struct buf b;
	int rc = 0;
	buf_init(&b, EXPORT_FILE_CAP);
	for (const char *p = tpl; *p && !rc;) {
		const char *at = strchr(p, '@');
		if (!at) {
			rc = buf_append(&b, p, strlen(p));
			break;
		}
		rc = buf_append(&b, p, (size_t)(at - p));
		const char *const *k = kv;
		for (; !rc && k[0]; k += 2) {
			size_t n = strlen(k[0]);
			if (!strncmp(at + 1, k[0], n) && at[1 + n] == '@')
				break;
		}
		if (rc)
			break;
		if (k[0]) {
			rc = buf_append(&b, k[1], strlen(k[1]));
			p = at + strlen(k[0]) + 2;
		} else {
			rc = buf_append(&b, "@", 1);
			p = at + 1;
		}
	}
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Whether s is valid UTF-8 (Python reads its sources as UTF-8). */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *s < 0xc2))
			return false;
		s++;
		for (int i = 0; i < n; i++, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* s as the body of a Python '''...''' string whose value is s exactly:
 * backslashes and quotes escaped, control characters but newline and tab
 * as \xNN. Caller frees; NULL (reported) when s is not UTF-8. */
static char *py_string_body(const char *s, const char *what)
{
	if (!utf8_valid((const unsigned char *)s)) {
		error("%s is not UTF-8 text; it cannot go into a Python file", what);
		return NULL;
	}
	struct buf b;
	buf_init(&b, EXPORT_FILE_CAP);
	int rc = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c && !rc; c++) {
		if (*c == '\\' || *c == '\'')
			rc = buf_printf(&b, "\\%c", *c);
		else if (*c < 0x20 && *c != '\n' && *c != '\t')
			rc = buf_printf(&b, "\\x%02x", *c);
		else
			rc = buf_append(&b, c, 1);
	}
	if (rc) {
		error("%s is too large to export", what);
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Whether line (up to its newline) is #include "kbreed_candidate.h". */
static bool includes_abi_header(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line++ != '#')
		return false;
	while (*line == ' ' || *line == '\t')
		line++;
	if (strncmp(line, "include", 7))
		return false;
	line += 7;
	while (*line == ' ' || *line == '\t')
		line++;
	return !strncmp(line, "\"kbreed_candidate.h\"", 20) || !strncmp(line, "<kbreed_candidate.h>", 20);
}

/* source with each line that includes the ABI header replaced by the
 * header's text: one file that compiles without the header beside it. */
static char *inline_header(const char *source, const char *header)
{
	struct buf b;
	buf_init(&b, EXPORT_FILE_CAP);
	int rc = 0;
	for (const char *line = source; *line && !rc;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (includes_abi_header(line))
			rc = buf_printf(&b, "%s%s", header, header[0] && header[strlen(header) - 1] != '\n' ? "\n" : "");
		else
			rc = buf_append(&b, line, len);
		line += len;
	}
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static bool is_identifier(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* Python's keywords, the names the op's Python uses and the one name torch's
 * schema parser refuses: an argument of the op must be none of them. */
static bool reserved(const char *s)
{
	static const char *const words[] = {
		"False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
		"continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
		"if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
		"return", "try", "while", "with", "yield", "self", "torch", "forward", "ins", "outs",
		"spec", "t", "NoneType", NULL };
	for (int i = 0; words[i]; i++)
		if (!strcmp(s, words[i]))
			return true;
	return !strncmp(s, "_", 1);
}

/* A Python identifier made from name ("ln.weight" -> "ln_weight"), unique
 * among names[0..n) (caller frees). */
static char *op_arg_name(const char *name, char *const *names, int n)
{
	char *s = xasprintf("%s%s", isdigit((unsigned char)name[0]) || !name[0] ? "t" : "", name);
	for (char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			*c = '_';
	if (reserved(s)) {
		char *r = xasprintf("%s%s_", s[0] == '_' ? "t" : "", s);
		free(s);
		s = r;
	}
	for (int k = 2;; k++) {
		bool taken = false;
		for (int i = 0; i < n && !taken; i++)
			taken = !strcmp(names[i], s);
		if (!taken)
			return s;
		char *r = xasprintf("%s_%d", s, k);
		free(s);
		s = r;
		if (k > 1000)
			BUG("no free argument name");
	}
}

/* A name safe for a Python package and a torch.library namespace:
 * lowercase letters, digits and underscores (caller frees). */
static char *ns_name(const char *problem, int64_t candidate)
{
	char *s = xasprintf("kbreed_%s_c%lld", problem, (long long)candidate);
	for (char *c = s; *c; c++)
		*c = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '_';
	return s;
}

static int read_text(const char *path, const char *what, char **out)
{
	size_t len = 0;
	if (util_read_file(path, EXPORT_FILE_CAP, out, &len))
		return error("cannot read %s %s", what, path);
	if (strlen(*out) != len) {
		free(*out);
		*out = NULL;
		return error("%s %s holds a NUL byte", what, path);
	}
	return 0;
}

/* <home>/export/<name>, read (caller frees), or NULL reported. */
static char *skeleton(const char *name)
{
	char *path = xasprintf("%s/export/%s", home_dir(), name), *text = NULL;
	read_text(path, "the export skeleton", &text);
	free(path);
	return text;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = util_write_file(path, text, strlen(text));
	free(path);
	return rc;
}

/* Everything the files are made from. */
struct export_job {
	struct run_row run;
	struct cand_row cand;           /* with its evaluation, if any */
	struct problem p;               /* as the bridge describes the run's file */
	char *problem_source;           /* the file, verbatim */
	char *header;                   /* include/kbreed_candidate.h */
	char *ns;                       /* kbreed_<problem>_c<id> */
	char *banner;                   /* the comment that opens each file, '#' lines */
	char *fwd_params, *fwd_args;    /* ModelNew.forward's parameters and its args tuple */
	char *op_args;                  /* the op's arguments, "x, ln_weight, ln_bias" */
	char *op_schema;                /* its TORCH_LIBRARY schema */
};

static void export_job_release(struct export_job *j)
{
	run_row_release(&j->run);
	cand_row_release(&j->cand);
	problem_release(&j->p);
	free(j->problem_source);
	free(j->header);
	free(j->ns);
	free(j->banner);
	free(j->fwd_params);
	free(j->fwd_args);
	free(j->op_args);
	free(j->op_schema);
}

/* The run and candidate named by req, from the store. */
static int load_rows(const struct export_request *req, struct export_job *j)
{
	int rc = -1, n = 0;
	int64_t run = req->run, want = req->candidate;
	struct cand_row *rows = NULL;
	if (!util_file_exists(req->db_path))
		return error("no database at %s (--db, $KBREED_DB)", req->db_path);
	struct store *s = store_open(req->db_path);
	if (!s)
		return -1;
	if (want && store_candidate_run(s, want, &run))
		goto out;
	if (store_run_get(s, run, &j->run))
		goto out;
	if (!want && !(want = j->run.winner)) {
		error("run %lld has no winner (%s); export one of its candidates with cID",
		      (long long)run, run_state_name(j->run.status));
		goto out;
	}
	if (store_candidates_of_run(s, run, &rows, &n))
		goto out;
	for (int i = 0; i < n; i++)
		if (rows[i].id == want) {
			j->cand = rows[i];
			memset(&rows[i], 0, sizeof rows[i]);
			rc = 0;
		}
	if (rc)
		error("run %lld has no candidate %lld", (long long)run, (long long)want);
	else if (!j->cand.source || !*j->cand.source)
		rc = error("candidate %lld has no stored source", (long long)want);
out:
	for (int i = 0; i < n; i++)
		cand_row_release(&rows[i]);
	free(rows);
	store_close(s);
	return rc;
}

/* The problem file and its description; the header; names and signatures. */
static int prepare(struct export_job *j)
{
	char sha[65];
	if (read_text(j->run.problem_path, "the run's problem file", &j->problem_source))
		return -1;
	util_sha256_hex(j->problem_source, strlen(j->problem_source), sha);
	if (j->run.problem_sha && *j->run.problem_sha && strcmp(sha, j->run.problem_sha))
		warn("%s changed since run %lld judged its kernels; the export carries the file as it is now",
		     j->run.problem_path, (long long)j->run.id);
	if (bridge_describe(j->run.problem_path, &j->p))
		return -1;
	char *hpath = xasprintf("%s/include/kbreed_candidate.h", home_dir());
	int rc = read_text(hpath, "the ABI header", &j->header);
	free(hpath);
	if (rc)
		return -1;
	if (j->p.n_outputs < 1)
		return error("%s: the problem has no outputs", j->p.name);
	j->ns = ns_name(j->run.problem, j->cand.id);

	struct buf b;
	buf_init(&b, 1u << 16);
	buf_printf(&b, "# kbreed export of %s: candidate #%lld of run %lld (round %d", j->run.problem,
		   (long long)j->cand.id, (long long)j->run.id, j->cand.round);
	if (*j->cand.template_name)
		buf_printf(&b, ", template %s%s%s", j->cand.template_name, *j->cand.knobs ? " " : "", j->cand.knobs);
	buf_printf(&b, ").\n# Judged %s", j->cand.evaluated ? verdict_name(j->cand.verdict) : "not at all");
	if (j->cand.median_ms > 0)
		buf_printf(&b, ": %.4f ms on %s = %.0f%% of PyTorch eager", j->cand.median_ms, j->run.gpu,
			   j->cand.pct_eager);
	buf_printf(&b, ", target %s.\n# Written by `kbreed export`; docs/EXPORT.md explains these files.", j->run.arch);
	j->banner = buf_detach(&b);

	/* ModelNew.forward: the problem's argument names, else *args. */
	bool named = true;
	for (int i = 0; i < j->p.n_inputs && named; i++) {
		char fallback[32];
		snprintf(fallback, sizeof fallback, "in%d", i);
		named = is_identifier(j->p.inputs[i].name) && strcmp(j->p.inputs[i].name, fallback) &&
			strcmp(j->p.inputs[i].name, "self");
	}
	struct buf params, args;
	buf_init(&params, 1u << 20);
	buf_init(&args, 1u << 20);
	if (named && j->p.n_inputs) {
		for (int i = 0; i < j->p.n_inputs; i++) {
			buf_printf(&params, "%s%s", i ? ", " : "", j->p.inputs[i].name);
			buf_printf(&args, "%s%s", i ? ", " : "(", j->p.inputs[i].name);
		}
		buf_printf(&args, ",)");
	} else {
		buf_printf(&params, "*args");
		buf_printf(&args, "args");
	}
	j->fwd_params = buf_detach(&params);
	j->fwd_args = buf_detach(&args);

	/* The op: one tensor argument per entry of in[], named after it (a
	 * number among forward()'s arguments is a 0-d tensor there, as in[]
	 * carries it). The schema says the same in TORCH_LIBRARY's terms:
	 * "forward(Tensor x, Tensor w) -> Tensor", "-> (Tensor, Tensor)". */
	int n = j->p.n_inputs + j->p.n_params;
	char **names = xcalloc((size_t)n + 1, sizeof *names);
	struct buf schema;
	buf_init(&args, 1u << 20);
	buf_init(&schema, 1u << 20);
	buf_printf(&schema, "forward(");
	for (int i = 0; i < n; i++) {
		const struct tensor_spec *t = i < j->p.n_inputs ? &j->p.inputs[i] : &j->p.params[i - j->p.n_inputs];
		names[i] = op_arg_name(t->name, names, i);
		buf_printf(&args, "%s%s", i ? ", " : "", names[i]);
		buf_printf(&schema, "%sTensor %s", i ? ", " : "", names[i]);
	}
	buf_printf(&schema, ") -> %s", j->p.n_outputs == 1 ? "" : "(");
	for (int i = 0; i < j->p.n_outputs; i++)
		buf_printf(&schema, "%sTensor", i ? ", " : "");
	buf_printf(&schema, "%s", j->p.n_outputs == 1 ? "" : ")");
	j->op_schema = buf_detach(&schema);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	j->op_args = buf_detach(&args);
	return 0;
}

/* The banner with each line's leading '#' replaced by prefix ("//" for
 * C++, "" for markdown). */
static char *banner_as(const char *banner, const char *prefix)
{
	struct buf b;
	buf_init(&b, 1u << 16);
	for (const char *c = banner; *c; c++) {
		if (*c == '#' && (c == banner || c[-1] == '\n')) {
			buf_printf(&b, "%s", prefix);
			continue;
		}
		buf_append(&b, c, 1);
	}
	return buf_detach(&b);
}

static int write_files(struct export_job *j, const char *dir)
{
	int rc = -1;
	char *runtime = skeleton("runtime.py"), *launch = skeleton("launch.cpp");
	char *model_new = skeleton("model_new.py"), *op_init = skeleton("op_init.py");
	char *setup = skeleton("setup.py"), *op_module = skeleton("op_module.cpp"), *module = NULL;
	char *kernel_inline = NULL, *kernel_py = NULL, *launch_inline = NULL, *launch_py = NULL;
	char *launch_pkg = NULL, *text = NULL, *cxx = banner_as(j->banner, "//"), *md = banner_as(j->banner, ""), *kernel_cu = NULL;
	char *opdir = xasprintf("%s/op", dir), *csrc = xasprintf("%s/op/csrc", dir);
	char *pkg = xasprintf("%s/op/%s", dir, j->ns), *cand = xasprintf("%lld", (long long)j->cand.id);
	if (!runtime || !launch || !model_new || !op_init || !setup || !op_module)
		goto out;
	const char *single = j->p.n_outputs == 1 ? "True" : "False";
	const char *const keys[] = {
		"KB_BANNER", j->banner, "KB_NS", j->ns, "KB_NAME", j->ns, "KB_CANDIDATE", cand,
		"KB_ARCH", j->run.arch, "KB_PROBLEM", j->run.problem, "KB_VERSION", "0.0.0",
		"KB_FORWARD_PARAMS", j->fwd_params, "KB_FORWARD_ARGS", j->fwd_args,
		"KB_OP_ARGS", j->op_args,
		"KB_SINGLE", single, "KB_EXT_NAME", j->ns, "KB_SCHEMA", j->op_schema, NULL };

	/* The standalone kernel, as the store holds it, its header beside. */
	kernel_cu = xasprintf("%s\n// Build: nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -gencode arch=compute_%s,code=%s"
			      " -I. kernel.cu -o kernel.so\n%s", cxx, j->run.arch + 3, j->run.arch, j->cand.source);
	if (util_mkdirs(dir) || util_mkdirs(csrc) || util_mkdirs(pkg) ||
	    write_text(dir, "kernel.cu", kernel_cu) || write_text(dir, "kbreed_candidate.h", j->header))
		goto out;

	/* model_new.py: the header written into the kernel and the wrapper. */
	const char *launch_keys[] = { "KB_HEADER", j->header, "KB_MODULE", "", "KB_NAME", j->ns, NULL };
	if (!(kernel_inline = inline_header(j->cand.source, j->header)) ||
	    !(launch_inline = fill(launch, launch_keys)))
		goto out;
	if (!(kernel_py = py_string_body(kernel_inline, "the kernel")) ||
	    !(launch_py = py_string_body(launch_inline, "the C++ wrapper")))
		goto out;
	/* One pass, so that nothing inserted is read as a key again. */
	const char *mn_keys[sizeof keys / sizeof keys[0] + 8];
	size_t nk = sizeof keys / sizeof keys[0] - 1;
	memcpy(mn_keys, keys, nk * sizeof keys[0]);
	const char *const more[] = { "KB_PROBLEM_SOURCE", j->problem_source, "KB_RUNTIME", runtime,
				     "KB_KERNEL", kernel_py, "KB_LAUNCH", launch_py, NULL };
	memcpy(mn_keys + nk, more, sizeof more);
	if (!(text = fill(model_new, mn_keys)) || write_text(dir, "model_new.py", text))
		goto out;
	free(text);
	text = NULL;

	/* op/: setup.py, csrc/ and the package; its launch.cpp ends with the
	 * operator's registration and the Python module. */
	if (!(module = fill(op_module, keys)))
		goto out;
	const char *pkg_keys[] = { "KB_HEADER", "#include \"kbreed_candidate.h\"", "KB_NAME", j->ns, "KB_MODULE", module, NULL };
	if (!(launch_pkg = fill(launch, pkg_keys)) || write_text(csrc, "launch.cpp", launch_pkg) ||
	    write_text(csrc, "kernel.cu", kernel_cu) || write_text(csrc, "kbreed_candidate.h", j->header) ||
	    write_text(pkg, "problem.py", j->problem_source) || write_text(pkg, "_runtime.py", runtime))
		goto out;
	if (!(text = fill(op_init, keys)) || write_text(pkg, "__init__.py", text))
		goto out;
	free(text);
	text = NULL;
	if (!(text = fill(setup, keys)) || write_text(opdir, "setup.py", text))
		goto out;
	free(text);
	text = NULL;

	text = xasprintf(
		"# %s: kbreed candidate #%lld (run %lld)\n\n"
		"%s\n\n"
		"| file | what |\n|---|---|\n"
		"| `kernel.cu`, `kbreed_candidate.h` | the kernel as kbreed judged it; build line in its first lines |\n"
		"| `model_new.py` | KernelBench format: `ModelNew(Model)`, built with `load_inline` on import; a drop-in for `Model` |\n"
		"| `op/` | the PyTorch operator `torch.ops.%s.forward` (torch >= 2.4): `cd op && pip install --no-build-isolation .` |\n\n"
		"```python\n"
		"import model_new                       # compiles the kernel once (CUDA and nvcc needed)\n"
		"m = model_new.ModelNew(*model_new.get_init_inputs()).cuda()\n"
		"y = m(*[x.cuda() for x in model_new.get_inputs()])\n"
		"```\n\n"
		"ModelNew has Model's constructor, parameters and state_dict; its forward() takes CUDA\n"
		"tensors and does not support autograd. KBREED_ARCH overrides the compile target.\n",
		j->run.problem, (long long)j->cand.id, (long long)j->run.id, md, j->ns);
	if (write_text(dir, "README.md", text))
		goto out;
	rc = 0;
out:
	free(runtime);
	free(launch);
	free(model_new);
	free(op_init);
	free(setup);
	free(op_module);
	free(module);
	free(kernel_inline);
	free(kernel_py);
	free(launch_inline);
	free(launch_py);
	free(launch_pkg);
	free(text);
	free(cxx);
	free(md);
	free(kernel_cu);
	free(opdir);
	free(csrc);
	free(pkg);
	free(cand);
	return rc;
}

int export_write(const struct export_request *req, struct export_result *out)
{
	struct export_job j;
	memset(&j, 0, sizeof j);
	problem_init(&j.p);
	memset(out, 0, sizeof *out);
	int rc = load_rows(req, &j);
	if (!rc)
		rc = prepare(&j);
	if (rc)
		goto out;
	out->dir = req->out_dir ? xstrdup(req->out_dir)
				: xasprintf("kbreed-out/%s-run%lld/export-c%lld", j.run.problem,
					    (long long)j.run.id, (long long)j.cand.id);
	if (j.cand.evaluated && j.cand.verdict != VERDICT_CORRECT)
		warn("candidate %lld was judged %s; exporting it all the same", (long long)j.cand.id,
		     verdict_name(j.cand.verdict));
	else if (!j.cand.evaluated)
		warn("candidate %lld was never judged; exporting it all the same", (long long)j.cand.id);
	rc = write_files(&j, out->dir);
	if (rc) {
		error("the export to %s is incomplete", out->dir);
		goto out;
	}
	out->problem = xstrdup(j.run.problem);
	out->run = j.run.id;
	out->candidate = j.cand.id;
	out->verdict = xstrdup(j.cand.evaluated ? verdict_name(j.cand.verdict) : "not judged");
	out->median_ms = j.cand.median_ms;
out:
	export_job_release(&j);
	return rc;
}
