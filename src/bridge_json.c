/*
 * bridge_json.c - the bridge's replies (docs/BRIDGE.md) read into kbreed's
 * structs, through jansson; the pure half of the bridge (bridge.c runs the
 * Python side and caches what it makes). Every reply is checked field by
 * field: a missing or mistyped field, or a number out of its range, is an
 * error with the field's name, never a zero or a wrapped value taken on trust.
 */
#include "bridge.h"

#include "log.h"
#include "util.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The most elements one tensor may have: 2^56, far beyond any GPU's memory,
 * small enough that elements times any dtype's size fits an int64_t. */
#define BRIDGE_JSON_MAX_ELEMENTS ((int64_t)1 << 56)

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

char *bridge_json_error(const char *text)
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

/* A whole number in [lo, hi]: a count or a seed that becomes an int. A real
 * is taken only when it is whole; one outside the range is an error rather
 * than a value the cast would wrap or make undefined. */
static int get_int(json_t *o, const char *key, int lo, int hi, int *out, const char *what)
{
	double v = 0;
	if (get_number(o, key, &v, what))
		return -1;
	if (!(v >= lo && v <= hi) || v != floor(v))
		return error("%s: field '%s' is %.17g, not a whole number in [%d, %d]", what, key,
			     v, lo, hi);
	*out = (int)v;
	return 0;
}

static char *get_string(json_t *o, const char *key, const char *fallback)
{
	json_t *v = json_object_get(o, key);
	return xstrdup(json_is_string(v) ? json_string_value(v) : fallback);
}

/* Frees what *out held (a struct decoded over), then fills it. */
static int get_specs(json_t *o, const char *key, struct tensor_spec **out, int *n,
		     const char *what)
{
	for (int i = 0; *out && i < *n; i++)
		free((*out)[i].name);
	free(*out);
	*out = NULL;
	*n = 0;
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
		int64_t numel = 1;  /* bounded, so that sizes in bytes cannot overflow */
		for (int d = 0; d < t[i].ndim; d++) {
			json_t *v = json_array_get(shape, (size_t)d);
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return error("%s: %s[%zu] has a bad dimension", what, key, i);
			t[i].shape[d] = json_integer_value(v);
			if (t[i].shape[d] > 0 && numel > BRIDGE_JSON_MAX_ELEMENTS / t[i].shape[d])
				return error("%s: %s[%zu] has more than %lld elements", what, key, i,
					     (long long)BRIDGE_JSON_MAX_ELEMENTS);
			numel *= t[i].shape[d];
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

int bridge_json_problem(const char *text, struct problem *p)
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

int bridge_json_manifest(const char *text, const struct problem *p, struct refset *r)
{
	const char *what = "reference manifest";
	json_t *j = parse(text, what);
	if (!j)
		return -1;
	struct problem m;
	problem_init(&m);
	int rc = -1;
	int sets = 0, seed = 0;
	if (get_int(j, "sets", 1, INT_MAX, &sets, what) ||
	    get_int(j, "seed", INT_MIN, INT_MAX, &seed, what) ||
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
	r->sets = sets;
	r->seed = seed;
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
	int reps = 0;
	if (get_number(o, "median_ms", &t->median_ms, what) ||
	    get_number(o, "min_ms", &t->min_ms, what) ||
	    get_number(o, "max_ms", &t->max_ms, what) ||
	    get_int(o, "reps", 1, INT_MAX, &reps, what))
		return -1;
	t->reps = reps;
	return 0;
}

int bridge_json_baseline(const char *text, struct baseline *b)
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

int bridge_json_ceilings(const char *text, struct ceilings *c)
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
