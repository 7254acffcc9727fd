/*
 * codec.c - JSON through jansson, the only file that includes it. Every
 * reply of the bridge is checked field by field: a missing or mistyped field
 * is an error with the field's name, never a zero taken on trust.
 */
#include "codec.h"

#include "compare.h"
#include "evaluate.h"
#include "llm.h"
#include "llm_propose.h"
#include "propose.h"
#include "log.h"
#include "report.h"
#include "util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text, const char *what)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		error("%s: not JSON (%s at line %d)", what, e.text, e.line);
	else if (!json_is_object(j)) {
		error("%s: expected a JSON object", what);
		json_decref(j);
		j = NULL;
	}
	return j;
}

char *codec_error_message(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	char *msg = NULL;
	if (j && json_is_object(j)) {
		json_t *e = json_object_get(j, "error");
		if (json_is_string(e))
			msg = xstrdup(json_string_value(e));
	}
	json_decref(j);
	return msg;
}

static int get_number(json_t *o, const char *key, double *out, const char *what)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return error("%s: field '%s' missing or not a number", what, key);
	*out = json_number_value(v);
	return 0;
}

static char *get_string(json_t *o, const char *key, const char *fallback)
{
	json_t *v = json_object_get(o, key);
	return xstrdup(json_is_string(v) ? json_string_value(v) : fallback);
}

static int get_specs(json_t *o, const char *key, struct tensor_spec **out, int *n,
		     const char *what)
{
	json_t *arr = json_object_get(o, key);
	if (!json_is_array(arr))
		return error("%s: field '%s' missing or not a list", what, key);
	size_t len = json_array_size(arr);
	if (len > 64)
		return error("%s: %zu %s; kbreed handles at most 64", what, len, key);
	struct tensor_spec *t = xcalloc(len, sizeof *t);
	*out = t;
	*n = (int)len;
	for (size_t i = 0; i < len; i++) {
		json_t *e = json_array_get(arr, i);
		json_t *shape = json_object_get(e, "shape");
		json_t *dtype = json_object_get(e, "dtype");
		t[i].name = get_string(e, "name", "");
		int dt = json_is_string(dtype) ? dtype_parse(json_string_value(dtype)) : -1;
		if (dt < 0)
			return error("%s: %s[%zu] has an unsupported dtype %s", what, key, i,
				     json_is_string(dtype) ? json_string_value(dtype) : "(none)");
		t[i].dtype = (enum kb_dtype)dt;
		if (!json_is_array(shape) || json_array_size(shape) > KBREED_MAX_DIMS)
			return error("%s: %s[%zu] has no shape of at most %d dims", what, key, i,
				     KBREED_MAX_DIMS);
		t[i].ndim = (int)json_array_size(shape);
		for (int d = 0; d < t[i].ndim; d++) {
			json_t *v = json_array_get(shape, (size_t)d);
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return error("%s: %s[%zu] has a bad dimension", what, key, i);
			t[i].shape[d] = json_integer_value(v);
		}
	}
	return 0;
}

/* {"CONV_STRIDE": 4, ...} into "#define CONV_STRIDE 4\n..."; names must be
 * C identifiers and values numbers (the bridge checks both; so do we). */
static int get_defines(json_t *o, char **out, const char *what)
{
	struct buf b;
	buf_init(&b, 1u << 16);
	const char *key;
	json_t *v;
	int rc = 0;
	if (o && !json_is_object(o))
		rc = error("%s: defines is not an object", what);
	json_object_foreach(o, key, v) {
		bool ident = *key && !isdigit((unsigned char)*key);
		for (const char *c = key; *c; c++)
			ident &= isalnum((unsigned char)*c) || *c == '_';
		if (!ident || !json_is_number(v)) {
			rc = error("%s: define '%s' is not NAME: number", what, key);
			break;
		}
		if (json_is_integer(v))
			buf_printf(&b, "#define %s %lld\n", key, (long long)json_integer_value(v));
		else
			buf_printf(&b, "#define %s %.17g\n", key, json_real_value(v));
	}
	if (rc) {
		buf_release(&b);
		return -1;
	}
	*out = buf_detach(&b);
	return 0;
}

int codec_problem(const char *text, struct problem *p)
{
	const char *what = "problem description";
	json_t *j = parse(text, what);
	if (!j)
		return -1;
	int rc = -1;
	free(p->name);
	free(p->family);
	free(p->op);
	free(p->notes);
	free(p->defines);
	p->defines = NULL;
	p->name = get_string(j, "name", "problem");
	p->family = get_string(j, "family", "generic");
	p->op = get_string(j, "op", p->name);
	p->notes = get_string(j, "notes", "");
	char *sha = get_string(j, "file_sha256", "");
	snprintf(p->sha256, sizeof p->sha256, "%s", sha);
	free(sha);
	if (get_specs(j, "inputs", &p->inputs, &p->n_inputs, what) ||
	    get_specs(j, "params", &p->params, &p->n_params, what) ||
	    get_specs(j, "outputs", &p->outputs, &p->n_outputs, what) ||
	    get_number(j, "flops", &p->flops, what) ||
	    get_number(j, "min_bytes", &p->min_bytes, what))
		goto out;
	if (p->n_outputs < 1) {
		error("%s: the model returns no tensor", what);
		goto out;
	}
	if (get_defines(json_object_get(j, "defines"), &p->defines, what))
		goto out;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static bool same_specs(const struct tensor_spec *a, int na, const struct tensor_spec *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++) {
		if (a[i].dtype != b[i].dtype || a[i].ndim != b[i].ndim)
			return false;
		for (int d = 0; d < a[i].ndim; d++)
			if (a[i].shape[d] != b[i].shape[d])
				return false;
	}
	return true;
}

int codec_manifest(const char *text, const struct problem *p, struct refset *r)
{
	const char *what = "reference manifest";
	json_t *j = parse(text, what);
	if (!j)
		return -1;
	struct problem m;
	problem_init(&m);
	int rc = -1;
	double sets = 0, seed = 0;
	if (get_number(j, "sets", &sets, what) || get_number(j, "seed", &seed, what) ||
	    get_specs(j, "inputs", &m.inputs, &m.n_inputs, what) ||
	    get_specs(j, "params", &m.params, &m.n_params, what) ||
	    get_specs(j, "outputs", &m.outputs, &m.n_outputs, what))
		goto out;
	if (!same_specs(m.inputs, m.n_inputs, p->inputs, p->n_inputs) ||
	    !same_specs(m.params, m.n_params, p->params, p->n_params) ||
	    !same_specs(m.outputs, m.n_outputs, p->outputs, p->n_outputs)) {
		error("%s: tensors differ from the problem's description", what);
		goto out;
	}
	r->sets = (int)sets;
	r->seed = (int)seed;
	r->upcast = json_is_true(json_object_get(j, "upcast"));
	free(r->device);
	free(r->gpu);
	r->device = get_string(j, "device", "");
	r->gpu = get_string(j, "gpu", "");
	rc = 0;
out:
	problem_release(&m);
	json_decref(j);
	return rc;
}

static int get_timing(json_t *o, struct timing *t, const char *what)
{
	if (!json_is_object(o))
		return error("%s: timing missing", what);
	double reps = 0;
	if (get_number(o, "median_ms", &t->median_ms, what) ||
	    get_number(o, "min_ms", &t->min_ms, what) ||
	    get_number(o, "max_ms", &t->max_ms, what) || get_number(o, "reps", &reps, what))
		return -1;
	t->reps = (int)reps;
	return 0;
}

int codec_baseline(const char *text, struct baseline *b)
{
	const char *what = "PyTorch timing";
	json_t *j = parse(text, what);
	if (!j)
		return -1;
	int rc = get_timing(json_object_get(j, "eager"), &b->eager, what);
	json_t *c = json_object_get(j, "compile");
	if (!rc && json_is_object(c)) {
		json_t *err = json_object_get(c, "error");
		if (json_is_string(err))
			b->compile_error = xstrdup(json_string_value(err));
		else if (!(rc = get_timing(c, &b->compile, what)))
			b->has_compile = true;
	}
	b->gpu = get_string(j, "gpu", "");
	json_decref(j);
	return rc;
}

int codec_ceilings(const char *text, struct ceilings *c)
{
	const char *what = "machine ceilings";
	json_t *j = parse(text, what);
	if (!j)
		return -1;
	int rc = -1;
	if (get_number(j, "bandwidth_gbs", &c->bandwidth_gbs, what) ||
	    get_number(j, "fp32_tflops", &c->fp32_tflops, what) ||
	    get_number(j, "tf32_tflops", &c->tf32_tflops, what) ||
	    get_number(j, "fp16_tflops", &c->fp16_tflops, what) ||
	    get_number(j, "bf16_tflops", &c->bf16_tflops, what))
		goto out;
	if (c->bandwidth_gbs <= 0) {
		error("%s: bandwidth must be positive", what);
		goto out;
	}
	c->gpu = get_string(j, "gpu", "");
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* A JSON string from text that may not be UTF-8 (compiler logs): bytes
 * outside ASCII become '?' when the text does not validate. */
static json_t *text_json(const char *s)
{
	json_t *v = json_string(s ? s : "");
	if (v)
		return v;
	char *copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v ? v : json_string("");
}

static json_t *timing_json(const struct timing *t)
{
	return json_pack("{s:f, s:f, s:f, s:i}", "median_ms", t->median_ms, "min_ms", t->min_ms,
			 "max_ms", t->max_ms, "reps", t->reps);
}

static json_t *num_or_null(double v, bool valid)
{
	return valid ? json_real(v) : json_null();
}

char *codec_report_json(const struct eval_report *r)
{
	const struct eval_result *res = r->result;
	json_t *o = json_object();
	json_object_set_new(o, "problem", text_json(r->problem->name));
	json_object_set_new(o, "candidate", text_json(r->candidate));
	json_object_set_new(o, "verdict", json_string(verdict_name(res->verdict)));
	json_object_set_new(o, "tolerance", json_string(tolerance_name(r->opts->tolerance)));
	json_object_set_new(o, "detail", text_json(res->detail));
	json_object_set_new(o, "arch", json_string(r->arch ? r->arch : ""));
	if (res->checked) {
		json_t *c = json_object();
		for (int p = 0; p < TOL_PROFILES; p++) {
			double atol, rtol;
			tolerance_get(p, r->problem->outputs[0].dtype, &atol, &rtol);
			json_t *v = json_pack("{s:b, s:f, s:f, s:I}", "pass", res->pass[p], "atol",
					      atol, "rtol", rtol, "bad_elements",
					      (json_int_t)res->stats.n_bad[p]);
			if (res->stats.first_bad[p] >= 0) {
				json_object_set_new(v, "first_bad", json_pack("{s:i, s:i, s:I, s:f, s:f}",
					"set", res->bad_set[p], "output", res->bad_output[p],
					"index", (json_int_t)res->stats.first_bad[p],
					"got", res->stats.first_got[p], "want", res->stats.first_want[p]));
			}
			json_object_set_new(c, tolerance_name(p), v);
		}
		json_object_set_new(c, "elements", json_integer((json_int_t)res->stats.n));
		json_object_set_new(c, "max_abs_err", json_real(res->stats.max_abs));
		json_object_set_new(c, "max_rel_err", json_real(res->stats.max_rel));
		json_object_set_new(c, "nonfinite", json_integer((json_int_t)res->stats.n_nonfinite));
		json_object_set_new(c, "sets", json_integer(r->opts->sets));
		json_object_set_new(o, "correctness", c);
	}
	if (res->timed) {
		json_t *t = timing_json(&res->time);
		json_object_set_new(t, "host_median_ms", json_real(res->host_median_ms));
		json_object_set_new(t, "warmup", json_integer(r->opts->warmup));
		json_object_set_new(t, "flush_mb", json_integer(r->opts->flush_mb));
		json_object_set_new(t, "sm_clock_mhz", json_integer(res->sm_clock_mhz));
		json_object_set_new(t, "mem_clock_mhz", json_integer(res->mem_clock_mhz));
		json_object_set_new(o, "time", t);
	}
	if (r->baseline) {
		json_t *b = json_object();
		json_object_set_new(b, "eager", timing_json(&r->baseline->eager));
		if (r->baseline->has_compile)
			json_object_set_new(b, "compile", timing_json(&r->baseline->compile));
		if (r->baseline->compile_error)
			json_object_set_new(b, "compile_error", text_json(r->baseline->compile_error));
		json_object_set_new(o, "pytorch", b);
	}
	json_object_set_new(o, "pct_eager", num_or_null(r->pct_eager, r->pct_eager > 0));
	json_object_set_new(o, "pct_compile", num_or_null(r->pct_compile, r->pct_compile > 0));
	json_object_set_new(o, "pct_floor", num_or_null(r->pct_floor, r->pct_floor > 0));
	json_object_set_new(o, "floor_ms", num_or_null(r->roof.floor_ms, r->roof.floor_ms > 0));
	json_object_set_new(o, "bound", r->roof.floor_ms > 0 ? json_string(r->roof.bound) : json_null());
	if (r->gpu) {
		json_object_set_new(o, "gpu", json_pack("{s:s, s:i, s:i, s:i, s:i}", "name",
			r->gpu->name ? r->gpu->name : "", "cc_major", r->gpu->cc_major,
			"cc_minor", r->gpu->cc_minor, "sm_count", r->gpu->sm_count,
			"driver", r->gpu->driver));
	}
	if (r->ceilings) {
		json_object_set_new(o, "ceilings", json_pack("{s:f, s:f, s:f, s:f, s:f}",
			"bandwidth_gbs", r->ceilings->bandwidth_gbs,
			"fp32_tflops", r->ceilings->fp32_tflops, "tf32_tflops", r->ceilings->tf32_tflops,
			"fp16_tflops", r->ceilings->fp16_tflops, "bf16_tflops", r->ceilings->bf16_tflops));
	}
	if (res->leaked_bytes)
		json_object_set_new(o, "leaked_bytes", json_integer((json_int_t)res->leaked_bytes));
	json_object_set_new(o, "wall_s", json_real(res->wall_s));
	if (res->log && *res->log)
		json_object_set_new(o, "log", text_json(res->log));
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *out = xstrdup(s ? s : "{}");
	free(s);
	return out;
}

int codec_catalog(const char *text, struct idea_def **defs, int *n)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	*defs = NULL;
	*n = 0;
	if (!j || !json_is_array(j)) {
		json_decref(j);
		return error("idea catalogue: not a JSON list (%s at line %d)", j ? "wrong type" : e.text, e.line);
	}
	size_t len = json_array_size(j);
	*defs = xcalloc(len, sizeof **defs);
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		json_t *o = json_array_get(j, i);
		struct idea_def *d = &(*defs)[i];
		json_t *id = json_object_get(o, "id"), *cat = json_object_get(o, "category"),
		       *txt = json_object_get(o, "text");
		if (!json_is_string(id) || !json_is_string(cat) || !json_is_string(txt)) {
			rc = error("idea catalogue: entry %zu needs string fields id, category and text", i);
			break;
		}
		d->id = xstrdup(json_string_value(id));
		d->category = xstrdup(json_string_value(cat));
		d->text = xstrdup(json_string_value(txt));
		d->families = get_string(o, "families", "*");
		d->from = get_string(o, "from", "*");
		d->to = get_string(o, "to", "");
		d->set = get_string(o, "set", "");
		d->vary = get_string(o, "vary", "");
		json_t *loose = json_object_get(o, "loose");
		if (loose && !json_is_boolean(loose)) {
			rc = error("idea catalogue: entry %zu (%s): loose must be true or false", i, d->id);
			break;
		}
		d->loose = json_is_true(loose);
		*n = (int)i + 1;
	}
	json_decref(j);
	return rc;
}

char *codec_bench_json(const char *gpu, const char *date, const char *command,
		       const struct bench_row *rows, int n)
{
	json_t *o = json_object();
	json_object_set_new(o, "gpu", text_json(gpu));
	json_object_set_new(o, "date", text_json(date));
	json_object_set_new(o, "command", text_json(command));
	json_t *arr = json_array();
	for (int i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		json_t *x = json_object();
		json_object_set_new(x, "problem", text_json(r->problem));
		json_object_set_new(x, "tolerance", text_json(r->tolerance));
		json_object_set_new(x, "eager_ms", num_or_null(r->eager_ms, r->ok));
		json_object_set_new(x, "compile_ms", num_or_null(r->compile_ms, r->ok && r->compile_ms > 0));
		json_object_set_new(x, "best_ms", num_or_null(r->best_ms, r->ok));
		json_object_set_new(x, "pct_eager", num_or_null(r->pct_eager, r->ok));
		json_object_set_new(x, "pct_compile", num_or_null(r->pct_compile, r->ok && r->pct_compile > 0));
		json_object_set_new(x, "pct_floor", num_or_null(r->pct_floor, r->ok && r->pct_floor > 0));
		json_object_set_new(x, "round_found", r->ok ? json_integer(r->round_found) : json_null());
		json_object_set_new(x, "passes_strict", r->ok ? json_boolean(r->pass_strict) : json_null());
		json_object_set_new(x, "passes_crfm", r->ok ? json_boolean(r->pass_crfm) : json_null());
		json_array_append_new(arr, x);
	}
	json_object_set_new(o, "results", arr);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *out = xstrdup(s ? s : "{}");
	free(s);
	return out;
}

/* The LLM client's wire formats. Replies from model endpoints are data from
 * outside: nothing here prints, every field is checked for its type, and a
 * body that is not what the API promises becomes LLM_MALFORMED with a short
 * snippet of it in the reply's error. */

#define CODEC_SNIPPET 200
#define CODEC_ANTHROPIC_MAX_TOKENS 16000

/* The first bytes of a body for an error message, on one line (caller frees). */
static char *codec_snippet(const char *body)
{
	size_t n = strlen(body);
	bool cut = n > CODEC_SNIPPET;
	char *s = xmalloc(CODEC_SNIPPET + 4);
	memcpy(s, body, cut ? CODEC_SNIPPET : n);
	s[cut ? CODEC_SNIPPET : n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if (cut)
		strcat(s, "...");
	return s;
}

static int codec_malformed(struct llm_reply *r, const char *body, const char *what)
{
	char *snip = codec_snippet(body);
	free(r->error);
	r->error = xasprintf("malformed reply: %s: %s", what, snip);
	r->status = LLM_MALFORMED;
	free(snip);
	return -1;
}

/* An integer field of an object, 0 when absent or not a number. */
static long codec_long(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_real(v))
		return (long)json_real_value(v);
	return 0;
}

static void codec_set_text_json(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, text_json(s));
}

static char *codec_dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		BUG("json_dumps failed on a request");
	char *out = xstrdup(s);
	free(s);
	return out;
}

static json_t *codec_message(const char *role, const char *content)
{
	json_t *m = json_object();
	json_object_set_new(m, "role", json_string(role));
	codec_set_text_json(m, "content", content);
	return m;
}

char *codec_openai_request(const struct llm_config *c, const char *system, const char *prompt)
{
	json_t *o = json_object();
	codec_set_text_json(o, "model", c->model);
	json_t *msgs = json_array();
	if (system && *system)
		json_array_append_new(msgs, codec_message("system", system));
	json_array_append_new(msgs, codec_message("user", prompt));
	json_object_set_new(o, "messages", msgs);
	if (c->temperature >= 0)
		json_object_set_new(o, "temperature", json_real(c->temperature));
	if (c->max_tokens > 0)
		json_object_set_new(o, c->legacy_max_tokens ? "max_tokens" : "max_completion_tokens",
				    json_integer(c->max_tokens));
	if (c->reasoning_effort)
		codec_set_text_json(o, "reasoning_effort", c->reasoning_effort);
	return codec_dump(o);
}

char *codec_anthropic_request(const struct llm_config *c, const char *system, const char *prompt)
{
	json_t *o = json_object();
	long max = c->max_tokens > 0 ? c->max_tokens : CODEC_ANTHROPIC_MAX_TOKENS;
	codec_set_text_json(o, "model", c->model);
	json_object_set_new(o, "max_tokens", json_integer(max));
	if (system && *system)
		codec_set_text_json(o, "system", system);
	json_t *msgs = json_array();
	json_array_append_new(msgs, codec_message("user", prompt));
	json_object_set_new(o, "messages", msgs);
	const char *effort = c->reasoning_effort;
	if (effort && strcmp(effort, "none")) {
		long budget = max / 2;
		if (!strcmp(effort, "minimal") || !strcmp(effort, "low"))
			budget = max / 4;
		else if (!strcmp(effort, "high"))
			budget = max * 3 / 4;
		if (budget < 1024)
			budget = 1024;
		json_object_set_new(o, "thinking", json_pack("{s:s, s:I}", "type", "enabled",
							     "budget_tokens", (json_int_t)budget));
	} else if (c->temperature >= 0) {
		json_object_set_new(o, "temperature", json_real(c->temperature));
	}
	return codec_dump(o);
}

/* Starts decoding a reply: the body as a JSON object, or LLM_MALFORMED. */
static json_t *codec_reply_object(const char *body, struct llm_reply *r)
{
	json_t *j = json_loads(body, 0, NULL);
	if (!j)
		codec_malformed(r, body, "not JSON");
	else if (!json_is_object(j)) {
		json_decref(j);
		j = NULL;
		codec_malformed(r, body, "not a JSON object");
	}
	return j;
}

/* A 2xx body that carries an error instead of a reply (some proxies). */
static int codec_error_in_reply(json_t *j, const char *body, struct llm_reply *r)
{
	char *type = NULL, *msg = NULL;
	char *text = json_dumps(j, JSON_COMPACT);
	int rc;
	if (text && !codec_api_error(text, &type, &msg)) {
		char *what = xasprintf("an error instead of a reply (%s: %s)", type ? type : "error",
				       msg ? msg : "no message");
		rc = codec_malformed(r, body, what);
		free(what);
	} else {
		rc = -1;
	}
	free(text);
	free(type);
	free(msg);
	return rc;
}

int codec_openai_reply(const char *body, struct llm_reply *r)
{
	json_t *j = codec_reply_object(body, r);
	if (!j)
		return -1;
	int rc = -1;
	json_t *choices = json_object_get(j, "choices");
	if (!json_is_array(choices) || json_array_size(choices) == 0) {
		if (codec_error_in_reply(j, body, r))
			codec_malformed(r, body, "no choices");
		goto out;
	}
	json_t *choice = json_array_get(choices, 0);
	json_t *msg = json_object_get(choice, "message");
	if (!json_is_object(msg)) {
		codec_malformed(r, body, "choices[0] has no message");
		goto out;
	}
	json_t *content = json_object_get(msg, "content");
	struct buf text;
	buf_init(&text, 0);
	if (json_is_string(content)) {
		buf_append(&text, json_string_value(content), json_string_length(content));
	} else if (json_is_array(content)) {
		/* Content as parts, as some compatible servers send it. */
		size_t i;
		json_t *part;
		json_array_foreach(content, i, part) {
			json_t *t = json_object_get(part, "text");
			if (json_is_string(t))
				buf_append(&text, json_string_value(t), json_string_length(t));
		}
	} else if (!json_is_null(content) && content) {
		buf_release(&text);
		codec_malformed(r, body, "message.content is neither text nor null");
		goto out;
	}
	json_t *finish = json_object_get(choice, "finish_reason");
	free(r->finish_reason);
	r->finish_reason = json_is_string(finish) ? xstrdup(json_string_value(finish)) : NULL;
	json_t *usage = json_object_get(j, "usage");
	r->in_tokens = codec_long(usage, "prompt_tokens");
	r->out_tokens = codec_long(usage, "completion_tokens");
	r->cached_tokens = codec_long(json_object_get(usage, "prompt_tokens_details"), "cached_tokens");
	r->reasoning_tokens = codec_long(json_object_get(usage, "completion_tokens_details"),
					 "reasoning_tokens");
	json_t *refusal = json_object_get(msg, "refusal");
	free(r->text);
	r->text = NULL;
	if (json_is_string(refusal) || (r->finish_reason && !strcmp(r->finish_reason, "content_filter"))) {
		r->status = LLM_REFUSED;
		free(r->error);
		r->error = xasprintf("the model refused: %s", json_is_string(refusal) ?
				     json_string_value(refusal) : "finish_reason content_filter");
		buf_release(&text);
	} else {
		r->status = LLM_OK;
		r->text = buf_detach(&text);
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int codec_anthropic_reply(const char *body, struct llm_reply *r)
{
	json_t *j = codec_reply_object(body, r);
	if (!j)
		return -1;
	int rc = -1;
	json_t *content = json_object_get(j, "content");
	if (!json_is_array(content)) {
		if (codec_error_in_reply(j, body, r))
			codec_malformed(r, body, "no content list");
		goto out;
	}
	/* The text blocks, in order; thinking and tool blocks are not the reply. */
	struct buf text;
	buf_init(&text, 0);
	size_t i;
	json_t *block;
	json_array_foreach(content, i, block) {
		json_t *type = json_object_get(block, "type"), *t = json_object_get(block, "text");
		if (json_is_string(type) && !strcmp(json_string_value(type), "text") && json_is_string(t))
			buf_append(&text, json_string_value(t), json_string_length(t));
	}
	json_t *stop = json_object_get(j, "stop_reason");
	free(r->finish_reason);
	r->finish_reason = json_is_string(stop) ? xstrdup(json_string_value(stop)) : NULL;
	json_t *usage = json_object_get(j, "usage");
	r->cached_tokens = codec_long(usage, "cache_read_input_tokens");
	r->in_tokens = codec_long(usage, "input_tokens") + r->cached_tokens +
		       codec_long(usage, "cache_creation_input_tokens");
	r->out_tokens = codec_long(usage, "output_tokens");
	r->reasoning_tokens = 0;
	free(r->text);
	r->text = NULL;
	if (r->finish_reason && !strcmp(r->finish_reason, "refusal")) {
		r->status = LLM_REFUSED;
		free(r->error);
		r->error = xasprintf("the model refused (stop_reason refusal)%s%.200s",
				     text.len ? ": " : "", buf_str(&text));
		buf_release(&text);
	} else {
		r->status = LLM_OK;
		r->text = buf_detach(&text);
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static char *codec_string_or_null(json_t *v)
{
	return json_is_string(v) && json_string_length(v) ? xstrdup(json_string_value(v)) : NULL;
}

int codec_api_error(const char *body, char **type, char **message)
{
	*type = *message = NULL;
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	json_t *o = json_is_array(j) ? json_array_get(j, 0) : j;  /* Gemini: a list */
	if (!json_is_object(o)) {
		json_decref(j);
		return -1;
	}
	json_t *e = json_object_get(o, "error");
	if (json_is_string(e)) {
		*message = codec_string_or_null(e);
	} else {
		json_t *src = json_is_object(e) ? e : o;
		*message = codec_string_or_null(json_object_get(src, "message"));
		char *t = codec_string_or_null(json_object_get(src, "type"));
		char *code = codec_string_or_null(json_object_get(src, "code"));
		if (!t)
			t = codec_string_or_null(json_object_get(src, "status"));
		if (!json_is_object(e) && t && !strcmp(t, "error")) {
			/* Anthropic's envelope {"type": "error"} with no error object. */
			free(t);
			t = NULL;
		}
		if (t && code && strcmp(t, code)) {
			*type = xasprintf("%s/%s", t, code);
			free(t);
			free(code);
		} else if (t) {
			*type = t;
			free(code);
		} else {
			*type = code;
		}
	}
	json_decref(j);
	return *type || *message ? 0 : -1;
}

/* The ideas list of the LLM proposer: read leniently, since a model wrote
 * it; judging the entries is llm_parse_ideas's. */
static int llm_parent_id(json_t *v, int64_t *id)
{
	if (json_is_integer(v)) {
		*id = (int64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	const char *s = json_string_value(v);
	if (!*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
		return -1;
	*id = (int64_t)strtoll(s, NULL, 10);
	return 0;
}

int codec_llm_ideas(const char *text, struct llm_idea **ideas, int *n, char **why)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	json_t *list = j;
	*ideas = NULL;
	*n = 0;
	if (!j) {
		*why = xasprintf("the JSON list is not valid JSON (%s at line %d)", e.text, e.line);
		return -1;
	}
	if (json_is_object(j))
		list = json_object_get(j, "ideas");
	if (!json_is_array(list)) {
		*why = xstrdup("the JSON is not a list of ideas");
		json_decref(j);
		return -1;
	}
	size_t len = json_array_size(list);
	*ideas = xcalloc(len ? len : 1, sizeof **ideas);
	for (size_t i = 0; i < len; i++) {
		json_t *o = json_array_get(list, i);
		struct llm_idea *d = &(*ideas)[i];
		*n = (int)i + 1;
		if (!json_is_object(o))
			continue;
		json_t *cat = json_object_get(o, "category"), *txt = json_object_get(o, "idea");
		if (!txt)
			txt = json_object_get(o, "text");
		d->category = json_is_string(cat) ? xstrdup(json_string_value(cat)) : NULL;
		d->text = json_is_string(txt) ? xstrdup(json_string_value(txt)) : NULL;
		json_t *par = json_object_get(o, "parents");
		for (size_t k = 0; json_is_array(par) && k < json_array_size(par) && d->n_parents < 2; k++) {
			int64_t id;
			if (!llm_parent_id(json_array_get(par, k), &id))
				d->parents[d->n_parents++] = id;
		}
	}
	json_decref(j);
	return 0;
}

int codec_prices(const char *text, struct price **prices, int *n)
{
	json_t *j = parse(text, "price table");
	*prices = NULL;
	*n = 0;
	if (!j)
		return -1;
	const char *key;
	json_t *v;
	*prices = xcalloc(json_object_size(j) + 1, sizeof **prices);
	json_object_foreach(j, key, v) {
		if (key[0] == '_')
			continue;
		struct price *p = &(*prices)[(*n)++];
		p->prefix = xstrdup(key);
		double in = 0, cached = 0, out = 0;
		if (!json_is_object(v) || get_number(v, "in", &in, "price table") ||
		    get_number(v, "out", &out, "price table")) {
			json_decref(j);
			return error("price table: %s needs numbers 'in' and 'out'", key);
		}
		if (get_number(v, "cached_in", &cached, "price table"))
			cached = in;
		p->in = in;
		p->cached_in = cached;
		p->out = out;
	}
	json_decref(j);
	return 0;
}
