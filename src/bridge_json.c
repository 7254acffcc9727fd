/*
 * bridge_json.c - the bridge's replies (docs/BRIDGE.md) read into kbreed's
 * structs, through jansson; the pure half of the bridge (bridge.c runs the
 * Python side and caches what it makes). Every reply is checked field by
 * field: a missing or mistyped field, or a number out of its range, is an
 * error with the field's name, never a zero or a wrapped value taken on trust.
 */
#include "bridge.h"

#include "graph.h"
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
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
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
		if (json_is_integer(v) ? buf_printf(&b, "#define %s %lld\n", key, (long long)json_integer_value(v))
				       : buf_printf(&b, "#define %s %.17g\n", key, json_real_value(v))) {
			rc = error("%s: the defines exceed %u KiB", what, (1u << 16) / 1024);
			break;
		}
	}
	if (rc) {
		buf_release(&b);
		return -1;
	}
	*out = buf_detach(&b);
	return 0;
}


/* ---- the op graph (docs/BRIDGE.md, "The op graph") ---- */

/* A string of at most GRAPH_MAX_NAME bytes with no NUL inside, copied. */
static int graph_string(json_t *v, char **out, const char *field, const char *what)
{
	if (!json_is_string(v))
		return error("%s: %s is not a string", what, field);
	size_t n = json_string_length(v);
	if (n > GRAPH_MAX_NAME || strlen(json_string_value(v)) != n)
		return error("%s: %s is longer than %d bytes or holds a NUL", what, field,
			     GRAPH_MAX_NAME);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* An index into the tensors: a JSON integer in [0, n). */
static int graph_index(json_t *v, int n, int *out, const char *field, const char *what)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= n)
		return error("%s: %s is not a tensor number in [0, %d)", what, field, n);
	*out = (int)json_integer_value(v);
	return 0;
}

static int graph_tensor(json_t *e, int i, struct graph_tensor *t, const char *what)
{
	static const char *const kinds[] = { "input", "param", "const", "inter" };
	char field[64];
	snprintf(field, sizeof field, "graph tensor %d", i);
	t->index = -1;
	t->producer = -1;
	if (!json_is_object(e))
		return error("%s: %s is not an object", what, field);
	json_t *kind = json_object_get(e, "kind"), *dtype = json_object_get(e, "dtype");
	json_t *shape = json_object_get(e, "shape"), *index = json_object_get(e, "index");
	int k = 0;
	while (k < 4 && !(json_is_string(kind) && !strcmp(json_string_value(kind), kinds[k])))
		k++;
	if (k == 4)
		return error("%s: %s has no kind among input, param, const, inter", what, field);
	t->kind = (enum graph_tensor_kind)k;
	if (graph_string(json_object_get(e, "name"), &t->name, field, what))
		return -1;
	if (!json_is_string(dtype))
		return error("%s: %s has no dtype", what, field);
	t->dtype = strcmp(json_string_value(dtype), "other") ? dtype_parse(json_string_value(dtype))
		: GRAPH_DTYPE_OTHER;
	if (t->dtype == -1 && strcmp(json_string_value(dtype), "other"))
		return error("%s: %s has an unknown dtype", what, field);
	if (!json_is_array(shape) || json_array_size(shape) > KBREED_MAX_DIMS)
		return error("%s: %s has no shape of at most %d dims", what, field, KBREED_MAX_DIMS);
	t->ndim = (int)json_array_size(shape);
	int64_t numel = 1;
	for (int d = 0; d < t->ndim; d++) {
		json_t *v = json_array_get(shape, (size_t)d);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return error("%s: %s has a bad dimension", what, field);
		t->shape[d] = json_integer_value(v);
		if (t->shape[d] > 0 && numel > BRIDGE_JSON_MAX_ELEMENTS / t->shape[d])
			return error("%s: %s has more than %lld elements", what, field,
				     (long long)BRIDGE_JSON_MAX_ELEMENTS);
		numel *= t->shape[d];
	}
	if (t->kind == GRAPH_INPUT || t->kind == GRAPH_PARAM) {
		if (!json_is_integer(index) || json_integer_value(index) < 0 ||
		    json_integer_value(index) >= GRAPH_MAX_TENSORS)
			return error("%s: %s has no index", what, field);
		t->index = (int)json_integer_value(index);
	}
	return 0;
}

/* A JSON number as a double; "inf", "-inf" and "nan" stand for the
 * non-finite floats JSON cannot write. */
static bool graph_float(json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	const char *s = json_string_value(v);
	if (!s)
		return false;
	if (!strcmp(s, "inf"))
		*out = INFINITY;
	else if (!strcmp(s, "-inf"))
		*out = -INFINITY;
	else if (!strcmp(s, "nan"))
		*out = NAN;
	else
		return false;
	return true;
}

static int graph_value(json_t *v, struct graph_value *out, const char *field, const char *what)
{
	memset(out, 0, sizeof *out);
	if (json_is_null(v)) {
		out->type = GRAPH_NONE;
	} else if (json_is_boolean(v)) {
		out->type = GRAPH_BOOL;
		out->b = json_is_true(v);
	} else if (json_is_integer(v)) {
		out->type = GRAPH_INT;
		out->i = json_integer_value(v);
	} else if (json_is_real(v) || (json_is_string(v) && graph_float(v, &out->f))) {
		out->type = GRAPH_FLOAT;
		graph_float(v, &out->f);
	} else if (json_is_string(v)) {
		out->type = GRAPH_STRING;
		return graph_string(v, &out->s, field, what);
	} else if (json_is_array(v)) {
		size_t n = json_array_size(v);
		if (n > GRAPH_MAX_LIST)
			return error("%s: %s has more than %d elements", what, field, GRAPH_MAX_LIST);
		bool ints = true;
		for (size_t i = 0; i < n; i++) {
			json_t *x = json_array_get(v, i);
			double d;
			if (!json_is_integer(x) && !graph_float(x, &d))
				return error("%s: %s holds something other than numbers", what, field);
			ints &= json_is_integer(x);
		}
		out->type = ints ? GRAPH_INTS : GRAPH_FLOATS;
		out->n = (int)n;
		if (ints && n)
			out->ints = xcalloc(n, sizeof *out->ints);
		else if (n)
			out->floats = xcalloc(n, sizeof *out->floats);
		for (size_t i = 0; i < n; i++) {
			json_t *x = json_array_get(v, i);
			if (ints)
				out->ints[i] = json_integer_value(x);
			else
				graph_float(x, &out->floats[i]);
		}
	} else {
		return error("%s: %s is not a number, string, list, bool or null", what, field);
	}
	return 0;
}

static int graph_op(json_t *e, int k, struct op_graph *g, const char *what)
{
	struct graph_op *op = &g->ops[k];
	char field[96];
	snprintf(field, sizeof field, "graph op %d", k);
	if (!json_is_object(e))
		return error("%s: %s is not an object", what, field);
	json_t *args = json_object_get(e, "args"), *attrs = json_object_get(e, "attrs");
	json_t *outs = json_object_get(e, "outputs");
	if (graph_string(json_object_get(e, "op"), &op->name, field, what) ||
	    graph_string(json_object_get(e, "overload"), &op->overload, field, what))
		return -1;
	if (!json_is_array(args) || json_array_size(args) > GRAPH_MAX_OP_INPUTS ||
	    !json_is_object(attrs) || json_object_size(attrs) > GRAPH_MAX_ATTRS ||
	    !json_is_array(outs) || json_array_size(outs) > GRAPH_MAX_OP_OUTPUTS)
		return error("%s: %s (%s) needs args (at most %d), attrs (at most %d) and outputs "
			     "(at most %d)", what, field, op->name, GRAPH_MAX_OP_INPUTS,
			     GRAPH_MAX_ATTRS, GRAPH_MAX_OP_OUTPUTS);
	op->args = xcalloc(json_array_size(args) + 1, sizeof *op->args);
	for (size_t a = 0; a < json_array_size(args); a++) {
		json_t *x = json_array_get(args, a);
		op->n_args++;
		if (!json_is_object(x) ||
		    graph_string(json_object_get(x, "name"), &op->args[a].name, field, what) ||
		    graph_index(json_object_get(x, "tensor"), g->n_tensors, &op->args[a].tensor,
				field, what))
			return error("%s: %s (%s) argument %zu is not {name, tensor}", what, field,
				     op->name, a);
	}
	op->attrs = xcalloc(json_object_size(attrs) + 1, sizeof *op->attrs);
	const char *key;
	json_t *v;
	json_object_foreach(attrs, key, v) {
		struct graph_attr *at = &op->attrs[op->n_attrs++];
		if (strlen(key) > GRAPH_MAX_NAME)
			return error("%s: %s has an attribute name over %d bytes", what, field,
				     GRAPH_MAX_NAME);
		at->name = xstrdup(key);
		if (graph_value(v, &at->value, field, what))
			return -1;
	}
	op->outputs = xcalloc(json_array_size(outs) + 1, sizeof *op->outputs);
	for (size_t o = 0; o < json_array_size(outs); o++) {
		int t;
		if (graph_index(json_array_get(outs, o), g->n_tensors, &t, field, what))
			return -1;
		op->outputs[op->n_outputs++] = t;
		if (g->tensors[t].kind != GRAPH_INTER || g->tensors[t].producer != -1)
			return error("%s: %s (%s) returns tensor %d, which is not a new one", what,
				     field, op->name, t);
		g->tensors[t].producer = k;
	}
	return 0;
}

static int bridge_json_graph(json_t *j, struct op_graph **out, const char *what)
{
	struct op_graph *g = graph_new();
	int rc = -1;
	json_t *tensors = json_object_get(j, "tensors"), *ops = json_object_get(j, "ops");
	json_t *outs = json_object_get(j, "outputs");
	if (!json_is_object(j) || !json_is_array(tensors) || !json_is_array(ops) ||
	    !json_is_array(outs)) {
		error("%s: the graph needs tensors, ops and outputs lists", what);
		goto out;
	}
	if (json_array_size(tensors) > GRAPH_MAX_TENSORS || json_array_size(ops) > GRAPH_MAX_OPS ||
	    json_array_size(outs) > GRAPH_MAX_TENSORS) {
		error("%s: the graph has more than %d tensors or %d ops", what, GRAPH_MAX_TENSORS,
		      GRAPH_MAX_OPS);
		goto out;
	}
	g->tensors = xcalloc(json_array_size(tensors) + 1, sizeof *g->tensors);
	for (size_t i = 0; i < json_array_size(tensors); i++) {
		g->n_tensors++;
		if (graph_tensor(json_array_get(tensors, i), (int)i, &g->tensors[i], what))
			goto out;
		if (g->tensors[i].kind == GRAPH_INPUT)
			g->n_inputs++;
		else if (g->tensors[i].kind == GRAPH_PARAM)
			g->n_params++;
	}
	g->ops = xcalloc(json_array_size(ops) + 1, sizeof *g->ops);
	for (size_t k = 0; k < json_array_size(ops); k++) {
		g->n_ops++;
		if (graph_op(json_array_get(ops, k), (int)k, g, what))
			goto out;
	}
	g->outputs = xcalloc(json_array_size(outs) + 1, sizeof *g->outputs);
	for (size_t o = 0; o < json_array_size(outs); o++) {
		if (graph_index(json_array_get(outs, o), g->n_tensors, &g->outputs[o],
				"graph output", what))
			goto out;
		g->n_outputs++;
	}
	if (graph_validate(g, what))
		goto out;
	*out = g;
	g = NULL;
	rc = 0;
out:
	graph_free(g);
	return rc;
}

int bridge_json_graph_text(const char *text, struct op_graph **out)
{
	const char *what = "op graph";
	json_t *j = parse(text, what);
	if (!j)
		return -1;
	int rc = bridge_json_graph(j, out, what);
	json_decref(j);
	return rc;
}

/* "declared": the KBREED_ names the file sets. Absent: none (an older bridge). */
static int get_declared(json_t *o, struct problem *p, const char *what)
{
	p->family_declared = p->op_declared = p->defines_declared = false;
	if (!o)
		return 0;
	if (!json_is_array(o) || json_array_size(o) > 16)
		return error("%s: declared is not a short list", what);
	for (size_t i = 0; i < json_array_size(o); i++) {
		const char *s = json_string_value(json_array_get(o, i));
		if (!s)
			return error("%s: declared holds something other than names", what);
		p->family_declared |= !strcmp(s, "KBREED_FAMILY");
		p->op_declared |= !strcmp(s, "KBREED_OP");
		p->defines_declared |= !strcmp(s, "KBREED_DEFINES");
		p->flops_declared |= !strcmp(s, "KBREED_FLOPS");
	}
	return 0;
}

/* "stress": the stressed input kinds the file allows, counted. Absent: all
 * (an older bridge, whose files could not narrow them). */
static int get_stress_kinds(json_t *o, struct problem *p, const char *what)
{
	p->n_stress_kinds = STRESS_KINDS;
	if (!o)
		return 0;
	if (!json_is_array(o) || json_array_size(o) > STRESS_KINDS)
		return error("%s: stress is not a list of at most %d kinds", what, STRESS_KINDS);
	for (size_t i = 0; i < json_array_size(o); i++) {
		enum stress_kind k;
		if (stress_kind_parse(json_string_value(json_array_get(o, i)), &k))
			return error("%s: stress holds something other than a stress kind", what);
	}
	p->n_stress_kinds = (int)json_array_size(o);
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
	if (get_defines(json_object_get(j, "defines"), &p->defines, what) ||
	    get_declared(json_object_get(j, "declared"), p, what) ||
	    get_stress_kinds(json_object_get(j, "stress"), p, what))
		goto out;
	graph_free(p->graph);
	p->graph = NULL;
	free(p->graph_error);
	p->graph_error = NULL;
	json_t *graph = json_object_get(j, "graph");
	if (graph && !json_is_null(graph)) {
		if (bridge_json_graph(graph, &p->graph, what))
			goto out;
		if (p->graph->n_inputs != p->n_inputs || p->graph->n_params != p->n_params ||
		    p->graph->n_outputs != p->n_outputs) {
			error("%s: the graph's inputs, params or outputs differ from the lists", what);
			goto out;
		}
	} else {
		json_t *why = json_object_get(j, "graph_error");
		p->graph_error = xstrdup(json_is_string(why) ? json_string_value(why)
					 : "the bridge sent no op graph (an older bridge?)");
	}
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

/* A stress kind's name under key of e. */
static int get_stress_kind(json_t *e, enum stress_kind *k, const char *what)
{
	json_t *v = json_object_get(e, "kind");
	if (!json_is_string(v) || stress_kind_parse(json_string_value(v), k))
		return error("%s: a stressed set's 'kind' is missing or no stress kind", what);
	return 0;
}

/* The manifest's "stress" and "stress_skipped" (absent: none) into *r's
 * fields, which the caller frees on failure too. Each kind at most once,
 * written or skipped; written sets numbered sets, sets + 1, ... */
static int get_stress(json_t *j, int sets, struct refset *r, const char *what)
{
	json_t *list = json_object_get(j, "stress"), *skip = json_object_get(j, "stress_skipped");
	bool seen[STRESS_KINDS] = { false };
	size_t i;
	json_t *e;
	if ((list && !json_is_array(list)) || (skip && !json_is_array(skip)))
		return error("%s: 'stress' and 'stress_skipped' must be lists", what);
	if (json_array_size(list) + json_array_size(skip) > STRESS_KINDS)
		return error("%s: more stressed sets than there are stress kinds", what);
	if (json_array_size(list))
		r->stress = xcalloc(json_array_size(list), sizeof *r->stress);
	json_array_foreach(list, i, e) {
		struct stress_set *t = &r->stress[i];
		int set = 0;
		if (!json_is_object(e) || get_stress_kind(e, &t->kind, what) ||
		    get_int(e, "set", 0, INT_MAX, &set, what) || get_int(e, "from", 0, sets - 1, &t->from, what))
			return -1;
		if ((long long)set != (long long)sets + (long long)i)
			return error("%s: stressed set %d should be numbered %lld", what, set, (long long)sets + (long long)i);
		if (seen[t->kind])
			return error("%s: stress kind %s given twice", what, stress_kind_name(t->kind));
		seen[t->kind] = true;
		r->n_stress++;
	}
	if (json_array_size(skip))
		r->skipped = xcalloc(json_array_size(skip), sizeof *r->skipped);
	json_array_foreach(skip, i, e) {
		struct stress_skip *t = &r->skipped[i];
		if (!json_is_object(e) || get_stress_kind(e, &t->kind, what) ||
		    get_int(e, "from", 0, sets - 1, &t->from, what))
			return -1;
		if (seen[t->kind])
			return error("%s: stress kind %s given twice", what, stress_kind_name(t->kind));
		seen[t->kind] = true;
		t->why = get_string(e, "why", "");
		r->n_skipped++;
	}
	return 0;
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
	struct refset st = { 0 };
	if (get_stress(j, sets, &st, what)) {
		refset_release(&st);
		goto out;
	}
	free(r->stress);
	for (int i = 0; i < r->n_skipped; i++)
		free(r->skipped[i].why);
	free(r->skipped);
	r->stress = st.stress;
	r->n_stress = st.n_stress;
	r->skipped = st.skipped;
	r->n_skipped = st.n_skipped;
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
	json_t *f = json_object_get(j, "eager_fp32");
	if (!rc && json_is_object(f) && !(rc = get_timing(f, &b->eager_fp32, what)))
		b->has_eager_fp32 = true;
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

/* ---- kbreed describe --json ---- */

static json_t *encode_value(const struct graph_value *v)
{
	json_t *a;
	switch (v->type) {
	case GRAPH_BOOL: return json_boolean(v->b);
	case GRAPH_INT: return json_integer(v->i);
	case GRAPH_FLOAT:
		return isfinite(v->f) ? json_real(v->f)
			: json_string(isnan(v->f) ? "nan" : v->f > 0 ? "inf" : "-inf");
	case GRAPH_STRING: return json_string(v->s ? v->s : "");
	case GRAPH_INTS:
	case GRAPH_FLOATS:
		a = json_array();
		for (int i = 0; i < v->n; i++)
			json_array_append_new(a, v->type == GRAPH_INTS ? json_integer(v->ints[i])
					      : isfinite(v->floats[i]) ? json_real(v->floats[i])
					      : json_string(isnan(v->floats[i]) ? "nan"
							    : v->floats[i] > 0 ? "inf" : "-inf"));
		return a;
	case GRAPH_NONE: break;
	}
	return json_null();
}

static json_t *encode_graph(const struct op_graph *g)
{
	static const char *const kinds[] = { "input", "param", "const", "inter" };
	json_t *o = json_object(), *tensors = json_array(), *ops = json_array(), *outs = json_array();
	for (int i = 0; i < g->n_tensors; i++) {
		const struct graph_tensor *t = &g->tensors[i];
		json_t *shape = json_array();
		for (int d = 0; d < t->ndim; d++)
			json_array_append_new(shape, json_integer(t->shape[d]));
		json_t *e = json_pack("{s:s, s:s, s:s, s:o}", "kind", kinds[t->kind], "name", t->name,
				      "dtype", t->dtype == GRAPH_DTYPE_OTHER ? "other"
				      : dtype_name((enum kb_dtype)t->dtype), "shape", shape);
		if (e && t->index >= 0)
			json_object_set_new(e, "index", json_integer(t->index));
		json_array_append_new(tensors, e);
	}
	for (int k = 0; k < g->n_ops; k++) {
		const struct graph_op *op = &g->ops[k];
		json_t *args = json_array(), *attrs = json_object(), *res = json_array();
		for (int a = 0; a < op->n_args; a++)
			json_array_append_new(args, json_pack("{s:s, s:i}", "name", op->args[a].name,
							      "tensor", op->args[a].tensor));
		for (int a = 0; a < op->n_attrs; a++)
			json_object_set_new(attrs, op->attrs[a].name, encode_value(&op->attrs[a].value));
		for (int r = 0; r < op->n_outputs; r++)
			json_array_append_new(res, json_integer(op->outputs[r]));
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:o, s:o}", "op", op->name,
						     "overload", op->overload, "args", args,
						     "attrs", attrs, "outputs", res));
	}
	for (int r = 0; r < g->n_outputs; r++)
		json_array_append_new(outs, json_integer(g->outputs[r]));
	json_object_set_new(o, "tensors", tensors);
	json_object_set_new(o, "ops", ops);
	json_object_set_new(o, "outputs", outs);
	return o;
}

char *bridge_json_describe(const struct problem *p, bool recognised, const char *missing)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:f, s:f}", "name", p->name,
			      "family", p->family, "op", p->op, "declared", p->family_declared,
			      "recognised", recognised, "defines", p->defines ? p->defines : "",
			      "flops", p->flops, "min_bytes", p->min_bytes);
	char *text = NULL;
	if (!o)
		return NULL;
	json_object_set_new(o, "missing", missing ? json_string(missing) : json_null());
	json_object_set_new(o, "graph", p->graph ? encode_graph(p->graph) : json_null());
	json_object_set_new(o, "graph_error", p->graph_error ? json_string(p->graph_error) : json_null());
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}
