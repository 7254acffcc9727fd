/*
 * template.c - reading template headers and realising genomes as sources.
 * Loading a template also inlines the shared helper files it names on
 * marker lines, so that every candidate made from it is one whole file.
 */
#define _GNU_SOURCE
#include "template.h"

#include "home.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

void template_release(struct template *t)
{
	free(t->name);
	free(t->family);
	free(t->problems);
	free(t->seeds_from);
	free(t->arch);
	free(t->requires);
	free(t->path);
	free(t->text);
	for (int i = 0; i < t->n_knobs; i++) {
		free(t->knobs[i].name);
		free(t->knobs[i].what);
	}
	memset(t, 0, sizeof *t);
}

void template_free_all(struct template *t, int n)
{
	for (int i = 0; i < n; i++)
		template_release(&t[i]);
	free(t);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

const char *const idea_categories[6] = {
	"memory access",
	"asynchronous operations and latency hiding",
	"data type and precision",
	"compute and instruction",
	"parallelism and occupancy",
	"control flow and loops",
};

const char *template_category(const char *word)
{
	size_t len = strlen(word);
	const char *found = NULL;
	for (int c = 0; c < 6 && len; c++)
		if (!strncasecmp(idea_categories[c], word, len) &&
		    (idea_categories[c][len] == '\0' || idea_categories[c][len] == ' ')) {
			if (found)
				return NULL;  /* ambiguous */
			found = idea_categories[c];
		}
	return found;
}

#define KNOB_FORM "'knob NAME: v1 v2 | default v | category C | [loose v... |] what'"

#define SAME_FORM "'// same: KNOB=V... as KNOB=V...'"
#define START_FORM "'// start ARCH [NAME|!NAME...]: KNOB=V...'"

/* "KNOB=V KNOB=V" of a same or start line (what: "same", "start"; form:
 * the line's form) into knob indices and values (allowed ones). */
static int parse_settings(const struct template *t, char *side, int *knob, int *value, int *n,
			  const char *what, const char *form, const char *path, int line)
{
	*n = 0;
	for (char *save = NULL, *kv = strtok_r(side, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			return error("%s:%d: a %s line reads %s, not '%s'", path, line, what, form, kv);
		*eq = '\0';
		int k = template_knob(t, kv);
		if (k < 0)
			return error("%s:%d: %s: no knob %s above this line", path, line, what, kv);
		char *end;
		long v = strtol(eq + 1, &end, 10);
		bool allowed = false;
		for (int i = 0; i < t->knobs[k].n_values && !*end && eq[1]; i++)
			allowed |= t->knobs[k].values[i] == v;
		if (!allowed)
			return error("%s:%d: %s: %s=%s is not among the knob's values", path, line, what, kv, eq + 1);
		for (int i = 0; i < *n; i++)
			if (knob[i] == k)
				return error("%s:%d: %s: %s named twice", path, line, what, kv);
		knob[*n] = k;
		value[(*n)++] = (int)v;
	}
	return 0;
}

/* "KNOB=V... as KNOB=V...": genomes with the first values run as with the second. */
static int parse_same(struct template *t, char *spec, const char *path, int line)
{
	if (t->n_same == TEMPLATE_MAX_SAME)
		return error("%s:%d: more than %d same lines", path, line, TEMPLATE_MAX_SAME);
	char *as = strstr(spec, " as ");
	if (!as)
		return error("%s:%d: a same line reads " SAME_FORM, path, line);
	*as = '\0';
	struct knob_same *r = &t->same[t->n_same];
	memset(r, 0, sizeof *r);
	if (parse_settings(t, spec, r->when_knob, r->when_value, &r->n_when, "same", SAME_FORM, path, line) ||
	    parse_settings(t, as + 4, r->as_knob, r->as_value, &r->n_as, "same", SAME_FORM, path, line))
		return -1;
	if (!r->n_when || !r->n_as)
		return error("%s:%d: a same line names settings on both sides of 'as'", path, line);
	t->n_same++;
	return 0;
}

/* Whether s is a C identifier (a define's name). */
static bool c_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* "ARCH: KNOB=V...": settings round 0 also judges on that target. */
static int parse_start(struct template *t, char *spec, const char *path, int line)
{
	if (t->n_start == TEMPLATE_MAX_START)
		return error("%s:%d: more than %d start lines", path, line, TEMPLATE_MAX_START);
	char *colon = strchr(spec, ':');
	if (!colon)
		return error("%s:%d: a start line reads " START_FORM, path, line);
	*colon = '\0';
	char *arch = trim(spec), *req = strchr(arch, ' ');
	struct knob_start *r = &t->start[t->n_start];
	memset(r, 0, sizeof *r);
	if (req) {   /* the defines a problem needs for this line: recognition's flags */
		*req = '\0';
		req = trim(req + 1);
		if (strlen(req) >= sizeof r->requires)
			return error("%s:%d: a start line's defines are longer than %zu bytes", path, line,
				     sizeof r->requires - 1);
		memcpy(r->requires, req, strlen(req) + 1);
		char *save = NULL;
		for (char *w = strtok_r(req, " ", &save); w; w = strtok_r(NULL, " ", &save))
			if (!c_name(w + (*w == '!')))
				return error("%s:%d: a start line reads " START_FORM " (the defines are C names, "
					     "each with or without a leading '!'), not '%s'", path, line, w);
	}
	if (!*arch || strlen(arch) >= sizeof r->arch)
		return error("%s:%d: a start line reads " START_FORM " (ARCH one word, e.g. sm_90a)", path, line);
	memcpy(r->arch, arch, strlen(arch) + 1);
	if (parse_settings(t, colon + 1, r->knob, r->value, &r->n, "start", START_FORM, path, line))
		return -1;
	if (!r->n)
		return error("%s:%d: a start line names at least one setting", path, line);
	t->n_start++;
	return 0;
}

/* "// knob NAME: v1 v2 v3 | default v | category C | loose v... | what": the
 * category and loose fields in any order after the default; what is the rest
 * of the line. */
static int parse_knob(struct template *t, char *spec, const char *path, int line)
{
	if (t->n_knobs == TEMPLATE_MAX_KNOBS)
		return error("%s:%d: more than %d knobs", path, line, TEMPLATE_MAX_KNOBS);
	char *colon = strchr(spec, ':');
	char *bar1 = colon ? strchr(colon, '|') : NULL;
	if (!colon || !bar1)
		return error("%s:%d: a knob line reads " KNOB_FORM, path, line);
	*colon = *bar1 = '\0';
	struct knob *k = &t->knobs[t->n_knobs];
	memset(k, 0, sizeof *k);
	char *name = trim(spec);
	if (!*name)
		return error("%s:%d: a knob needs a name: " KNOB_FORM, path, line);
	if (template_knob(t, name) >= 0)
		return error("%s:%d: a second knob named %s", path, line, name);
	for (char *c = name; *c; c++)
		if (!isupper((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
			return error("%s:%d: knob names are UPPER_CASE identifiers, not '%s'", path, line, name);
	char *vals = trim(colon + 1);
	k->n_values = 0;
	for (char *save = NULL, *v = strtok_r(vals, " ", &save); v; v = strtok_r(NULL, " ", &save)) {
		char *end;
		long x = strtol(v, &end, 10);
		if (*end || k->n_values == TEMPLATE_MAX_VALUES || x < -1000000000L || x > 1000000000L)
			return error("%s:%d: knob %s: bad or too many values", path, line, name);
		k->values[k->n_values++] = (int)x;
	}
	/* The fields after the values: default, then category and loose. */
	char *field = bar1 + 1, *what = NULL;
	bool has_default = false;
	while (field) {
		while (isspace((unsigned char)*field))
			field++;
		if (has_default && strncmp(field, "category ", 9) && strncmp(field, "loose ", 6)) {
			what = trim(field);  /* the rest of the line, bars and all */
			break;
		}
		char *bar = strchr(field, '|');
		if (bar)
			*bar = '\0';
		char *f = trim(field);
		int v;
		if (!has_default) {
			if (sscanf(f, "default %d", &v) != 1 || k->n_values == 0)
				return error("%s:%d: knob %s needs values and '| default V'", path, line, name);
			bool found = false;
			for (int i = 0; i < k->n_values; i++)
				found |= k->values[i] == v;
			if (!found)
				return error("%s:%d: knob %s: default %d is not among its values", path, line, name, v);
			k->def = v;
			has_default = true;
		} else if (!strncmp(f, "category ", 9)) {
			if (k->category)
				return error("%s:%d: knob %s: a second category", path, line, name);
			k->category = template_category(trim(f + 9));
			if (!k->category)
				return error("%s:%d: knob %s: '%s' names none of the six idea categories (memory "
					     "access, asynchronous operations and latency hiding, data type and precision, "
					     "compute and instruction, parallelism and occupancy, control flow and loops)",
					     path, line, name, trim(f + 9));
		} else if (!strncmp(f, "loose ", 6)) {
			for (char *save = NULL, *w = strtok_r(f + 6, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
				char *end;
				long x = strtol(w, &end, 10);
				int at = -1;
				for (int i = 0; i < k->n_values && !*end; i++)
					if (k->values[i] == x)
						at = i;
				if (at < 0)
					return error("%s:%d: knob %s: loose value '%s' is not among its values", path, line,
						     name, w);
				if (k->values[at] == k->def)
					return error("%s:%d: knob %s: the default %d cannot be loose", path, line, name,
						     k->def);
				k->loose[at] = true;
			}
		}
		field = bar ? bar + 1 : NULL;
	}
	if (!has_default)
		return error("%s:%d: knob %s needs values and '| default V'", path, line, name);
	if (!k->category)
		return error("%s:%d: knob %s needs '| category C |' (one of the six idea categories)", path, line,
			     name);
	k->name = xstrdup(name);
	k->what = xstrdup(what ? what : "");
	t->n_knobs++;
	return 0;
}

/* One header field: `*field` is set from value, or an error if it was set. */
static int header_field(char **field, const char *key, const char *value, const char *path, int line)
{
	if (*field)
		return error("%s:%d: a second '%s' line", path, line, key);
	*field = xstrdup(value);
	return 0;
}

#define INLINE_MAX_FILES 8   /* helper files one template may pull in */
#define INLINE_MAX_DEPTH 4   /* a helper may inline another, this deep */
#define INLINE_MARKER "kbreed:inline"

/* The helper files inlined so far, by real path: each goes in once. */
struct inliner {
	char *done[INLINE_MAX_FILES];
	int n_done;
	struct buf out;
};

/* Whether line (up to its newline) is a marker: '#include "F" // kbreed:inline'. */
static bool is_marker(const char *line, size_t len)
{
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len < 8 || strncmp(line, "#include", 8))
		return false;
	return memmem(line, len, INLINE_MARKER, strlen(INLINE_MARKER)) != NULL;
}

static int inline_text(struct inliner *in, const char *path, const char *text, int depth);

/* Replaces one marker line of file `path` by the named file's text. */
static int inline_one(struct inliner *in, const char *path, int line, const char *l, size_t len, int depth)
{
	const char *q1 = memchr(l, '"', len);
	const char *q2 = q1 ? memchr(q1 + 1, '"', len - (size_t)(q1 + 1 - l)) : NULL;
	if (!q1 || !q2 || q2 == q1 + 1 || q1[1] == '/')
		return error("%s:%d: a marker line reads '#include \"RELATIVE/PATH\" // %s'", path, line,
			     INLINE_MARKER);
	if (depth >= INLINE_MAX_DEPTH)
		return error("%s:%d: helper files inline each other more than %d deep", path, line,
			     INLINE_MAX_DEPTH);
	char *rel = xasprintf("%.*s", (int)(q2 - q1 - 1), q1 + 1);
	const char *slash = strrchr(path, '/');
	char *want = slash ? xasprintf("%.*s/%s", (int)(slash - path), path, rel) : xstrdup(rel);
	char real[PATH_MAX], *text = NULL;
	int rc = 0;
	if (!realpath(want, real)) {
		rc = error("%s:%d: cannot inline %s (%s): %s", path, line, rel, want, strerror(errno));
		goto out;
	}
	for (int i = 0; i < in->n_done; i++)
		if (!strcmp(in->done[i], real))
			goto out;  /* already inlined above: once is enough */
	if (in->n_done == INLINE_MAX_FILES) {
		rc = error("%s:%d: more than %d helper files inlined", path, line, INLINE_MAX_FILES);
		goto out;
	}
	if (util_read_file(real, 1u << 20, &text, NULL)) {
		rc = error("%s:%d: cannot inline %s", path, line, rel);
		goto out;
	}
	in->done[in->n_done++] = xstrdup(real);
	buf_printf(&in->out, "// ---- inlined from %s ----\n", rel);
	rc = inline_text(in, real, text, depth + 1);
	if (!rc)
		buf_printf(&in->out, "// ---- end of %s ----\n", rel);
out:
	free(text);
	free(want);
	free(rel);
	return rc;
}

static int inline_text(struct inliner *in, const char *path, const char *text, int depth)
{
	int rc = 0, line = 0;
	for (const char *l = text; *l && !rc;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		line++;
		if (is_marker(l, len))
			rc = inline_one(in, path, line, l, len, depth);
		else if (buf_append(&in->out, l, len) || buf_append(&in->out, "\n", 1))
			rc = error("%s: the template with its helpers passes %u MiB", path, 4u);
		l += len + (nl ? 1 : 0);
	}
	return rc;
}

int template_inline(const char *path, const char *text, char **out)
{
	struct inliner in;
	memset(&in, 0, sizeof in);
	buf_init(&in.out, 4u << 20);
	int rc = inline_text(&in, path, text, 0);
	for (int i = 0; i < in.n_done; i++)
		free(in.done[i]);
	*out = rc ? NULL : buf_detach(&in.out);
	if (rc)
		buf_release(&in.out);
	return rc;
}

int template_parse(const char *path, const char *text, struct template *t)
{
	memset(t, 0, sizeof *t);
	t->path = xstrdup(path);
	char *copy = xstrdup(text);
	int rc = 0, line = 0;
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l && !rc; l = strtok_r(NULL, "\n", &save)) {
		line++;
		if (strncmp(l, "//", 2))
			break;  /* the header ends at the first line that is not a // comment */
		char *s = trim(l + 2);
		if (!strncmp(s, "kbreed-template:", 16))
			rc = header_field(&t->name, "kbreed-template:", trim(s + 16), path, line);
		else if (!strncmp(s, "family:", 7))
			rc = header_field(&t->family, "family:", trim(s + 7), path, line);
		else if (!strncmp(s, "problems:", 9))
			rc = header_field(&t->problems, "problems:", trim(s + 9), path, line);
		else if (!strncmp(s, "seeds-from:", 11))
			rc = header_field(&t->seeds_from, "seeds-from:", trim(s + 11), path, line);
		else if (!strncmp(s, "requires:", 9))
			rc = header_field(&t->requires, "requires:", trim(s + 9), path, line);
		else if (!strncmp(s, "arch:", 5))
			rc = header_field(&t->arch, "arch:", trim(s + 5), path, line);
		else if (!strncmp(s, "knob ", 5))
			rc = parse_knob(t, s + 5, path, line);
		else if (!strncmp(s, "same:", 5))
			rc = parse_same(t, s + 5, path, line);
		else if (!strncmp(s, "start ", 6))
			rc = parse_start(t, s + 6, path, line);
	}
	free(copy);
	if (!t->seeds_from)
		t->seeds_from = xstrdup("");
	if (!t->requires)
		t->requires = xstrdup("");
	if (!t->arch)
		t->arch = xstrdup("");
	if (!rc && (!t->name || !t->family || !t->problems || !*t->name))
		rc = error("%s: a template opens with '// kbreed-template: NAME', '// family: F' and '// problems: P...'", path);
	if (!rc && !strcmp(t->problems, "*") && !*t->requires)
		rc = error("%s: 'problems: *' (any problem) needs a 'requires:' line naming the defines that "
			   "select its problems", path);
	if (!rc)
		rc = template_inline(path, text, &t->text);
	if (rc)
		template_release(t);
	return rc;
}

static int cmp_template(const void *a, const void *b)
{
	return strcmp(((const struct template *)a)->name, ((const struct template *)b)->name);
}

static int load_dir(const char *dir, struct template **out, int *n, int *cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		size_t len = strlen(e->d_name);
		if (util_is_dir(path)) {
			rc = load_dir(path, out, n, cap);
		} else if (len > 3 && !strcmp(e->d_name + len - 3, ".cu")) {
			char *text = NULL;
			if (util_read_file(path, 1u << 20, &text, NULL)) {
				rc = -1;
			} else {
				if (*n == *cap) {
					*cap = *cap ? 2 * *cap : 16;
					*out = xrealloc(*out, (size_t)*cap * sizeof **out);
				}
				rc = template_parse(path, text, &(*out)[*n]);
				if (!rc)
					(*n)++;
				free(text);
			}
		}
		free(path);
	}
	closedir(d);
	return rc;
}

int template_load_all(struct template **out, int *n)
{
	*out = NULL;
	*n = 0;
	int cap = 0;
	const char *env = getenv("KBREED_TEMPLATES");
	char *dir = env && *env ? xstrdup(env) : xasprintf("%s/templates", home_dir());
	/* A missing directory is a kbreed that cannot find its files, not an
	 * empty playbook. */
	int rc = util_is_dir(dir) ? load_dir(dir, out, n, &cap)
		: error("no templates directory %s%s", dir, env && *env ? " ($KBREED_TEMPLATES)"
			: "; set KBREED_HOME to kbreed's files, or install kbreed with `make install`");
	free(dir);
	if (rc) {
		template_free_all(*out, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	if (*n)
		qsort(*out, (size_t)*n, sizeof **out, cmp_template);
	return 0;
}

const struct template *template_find(const struct template *t, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

bool template_defines_name(const char *defines, const char *name)
{
	size_t len = strlen(name);
	for (const char *l = defines; l && *l && len;) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (!strncmp(l, "#define", 7)) {
			const char *w = l + 7;
			while (*w == ' ' || *w == '\t')
				w++;
			if (!strncmp(w, name, len) && (w[len] == ' ' || w[len] == '\t' || w[len] == '\n' ||
							w[len] == '(' || w[len] == '\0'))
				return true;
		}
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	return false;
}

bool template_requires_met(const char *requires, const char *defines)
{
	char *copy = xstrdup(requires);
	bool ok = true;
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && ok; w = strtok_r(NULL, " ", &save))
		ok = *w == '!' ? !template_defines_name(defines, w + 1) : template_defines_name(defines, w);
	free(copy);
	return ok;
}

bool template_specialised(const struct template *t)
{
	char *copy = xstrdup(t->requires);
	bool named = false;
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && !named; w = strtok_r(NULL, " ", &save))
		named = *w != '!';
	free(copy);
	return named;
}

bool template_serves(const struct template *t, const char *op, const char *defines)
{
	if (strcmp(t->problems, "*") && !util_word_in(t->problems, op))
		return false;
	return template_requires_met(t->requires, defines);
}

bool template_seeds_from(const struct template *t, const char *family)
{
	return util_word_in(t->seeds_from, family);
}

/* A knob setting's value, "256": a decimal int and nothing else (no wrap,
 * no trailing text). Returns 0, or -1 where it is not one. */
static int knob_value(const char *s, int *v)
{
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (end == s || *end || errno || x < INT_MIN || x > INT_MAX)
		return -1;
	*v = (int)x;
	return 0;
}

bool template_accepts(const struct template *t, const char *settings)
{
	char *copy = xstrdup(settings);
	bool ok = true;
	for (char *save = NULL, *kv = strtok_r(copy, " ", &save); kv && ok; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			ok = false;
			break;
		}
		*eq = '\0';
		int k = template_knob(t, kv), v = 0;
		ok = false;
		for (int i = 0; k >= 0 && knob_value(eq + 1, &v) == 0 && i < t->knobs[k].n_values; i++)
			ok |= t->knobs[k].values[i] == v;
	}
	free(copy);
	return ok;
}

bool template_settings_name(const char *settings, const char *knob)
{
	size_t len = strlen(knob);
	if (!len)
		return false;  /* no name is named (and an empty needle never advances) */
	for (const char *p = settings; (p = strstr(p, knob)); p += len)
		if ((p == settings || p[-1] == ' ') && p[len] == '=')
			return true;
	return false;
}

int template_count_knobs(const struct template *t, const char *names)
{
	char *copy = xstrdup(names);
	int n = 0;
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		n += template_knob(t, w) >= 0;
	free(copy);
	return n;
}

int template_knob(const struct template *t, const char *name)
{
	for (int i = 0; i < t->n_knobs; i++)
		if (!strcmp(t->knobs[i].name, name))
			return i;
	return -1;
}

void genome_default(struct genome *g, const struct template *t)
{
	memset(g, 0, sizeof *g);
	g->tpl = t;
	for (int i = 0; i < t->n_knobs; i++)
		g->value[i] = t->knobs[i].def;
}

void genome_start(struct genome *g, const struct template *t, int i)
{
	genome_default(g, t);
	for (int k = 0; k < t->start[i].n; k++)
		g->value[t->start[i].knob[k]] = t->start[i].value[k];
}

char *genome_knobs_str(const struct genome *g)
{
	struct buf b;
	buf_init(&b, 4096);
	for (int i = 0; g->tpl && i < g->tpl->n_knobs; i++)
		buf_printf(&b, "%s%s=%d", i ? " " : "", g->tpl->knobs[i].name, g->value[i]);
	return buf_detach(&b);
}

int genome_parse(struct genome *g, const struct template *t, const char *knobs)
{
	genome_default(g, t);
	char *copy = xstrdup(knobs);
	int rc = 0;
	for (char *save = NULL, *kv = strtok_r(copy, " ", &save); kv && !rc; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		int k = -1, v = 0;
		if (eq) {
			*eq = '\0';
			k = template_knob(t, kv);
			if (knob_value(eq + 1, &v))
				k = -1;
		}
		bool allowed = false;
		for (int i = 0; k >= 0 && i < t->knobs[k].n_values; i++)
			allowed |= t->knobs[k].values[i] == v;
		if (!allowed)
			rc = error("template %s has no knob setting '%s%s%s'", t->name, kv, eq ? "=" : "", eq ? eq + 1 : "");
		else
			g->value[k] = v;
	}
	free(copy);
	return rc;
}

bool genome_equal(const struct genome *a, const struct genome *b)
{
	if (a->tpl != b->tpl)
		return false;
	for (int i = 0; a->tpl && i < a->tpl->n_knobs; i++)
		if (a->value[i] != b->value[i])
			return false;
	return true;
}

int genome_canonical(struct genome *g)
{
	const struct template *t = g->tpl;
	int changed = 0;
	for (int pass = 0; t && pass < t->n_same; pass++) {
		int before = changed;
		for (int i = 0; i < t->n_same; i++) {
			const struct knob_same *r = &t->same[i];
			bool holds = true;
			for (int w = 0; w < r->n_when && holds; w++)
				holds = g->value[r->when_knob[w]] == r->when_value[w];
			for (int a = 0; a < r->n_as && holds; a++)
				if (g->value[r->as_knob[a]] != r->as_value[a]) {
					g->value[r->as_knob[a]] = r->as_value[a];
					changed++;
				}
		}
		if (changed == before)
			break;
	}
	return changed;
}

int genome_transplant(struct genome *g, const struct template *t, const char *knobs)
{
	genome_default(g, t);
	char *copy = xstrdup(knobs);
	int taken = 0;
	for (char *save = NULL, *kv = strtok_r(copy, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq = '\0';
		int k = template_knob(t, kv), v = 0;
		if (knob_value(eq + 1, &v))
			continue;
		for (int i = 0; k >= 0 && i < t->knobs[k].n_values; i++)
			if (t->knobs[k].values[i] == v) {
				g->value[k] = v;
				taken++;
				break;
			}
	}
	free(copy);
	return taken;
}

char *genome_realize(const struct genome *g, const char *defines)
{
	struct buf b;
	buf_init(&b, 4u << 20);
	buf_printf(&b, "// kbreed candidate: template %s\n", g->tpl->name);
	if (defines && *defines)
		buf_append(&b, defines, strlen(defines));
	for (int i = 0; i < g->tpl->n_knobs; i++)
		buf_printf(&b, "#define %s %d\n", g->tpl->knobs[i].name, g->value[i]);
	buf_append(&b, g->tpl->text, strlen(g->tpl->text));
	return buf_detach(&b);
}
