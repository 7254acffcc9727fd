/*
 * llm_propose.c - the LLM proposer's pure half (see llm_propose.h): prompt
 * templates in, ideas and CUDA sources out. Replies are model output and are
 * read defensively: fenced blocks are found line by line, the JSON is read
 * here through jansson, and every refusal comes back as a reason rather than
 * an error.
 */
#define _GNU_SOURCE
#include "llm_propose.h"

#include "home.h"
#include "log.h"
#include "propose.h"
#include "util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROMPT_FILE_CAP (1u << 20)   /* a template file */
#define PROMPT_CAP (16u << 20)       /* a filled prompt */
#define TEXT_CAP (16u << 20)         /* seeds and history texts */

int llm_prompt_load(const char *name, char **text)
{
	*text = NULL;
	if (!name || !*name || strchr(name, '/'))
		return error("prompt template: bad name '%s'", name ? name : "(null)");
	const char *env = getenv("KBREED_PROMPTS");
	char *path = env && *env ? xasprintf("%s/%s.md", env, name)
				 : xasprintf("%s/prompts/%s.md", home_dir(), name);
	char *raw = NULL;
	int rc = util_read_file(path, PROMPT_FILE_CAP, &raw, NULL);
	if (rc)
		goto out;
	const char *body = raw;
	if (!strncmp(body, "<!--", 4)) {
		const char *end = strstr(body, "-->");
		if (end) {
			body = end + 3;
			while (*body == '\n' || *body == '\r')
				body++;
		}
	}
	*text = xstrdup(body);
out:
	free(raw);
	free(path);
	return rc;
}

char *llm_prompt_fill(const char *tmpl, const char *const *keys, const char *const *values, int n)
{
	struct buf b;
	buf_init(&b, PROMPT_CAP);
	int rc = 0;
	const char *p = tmpl;
	while (*p && !rc) {
		const char *brace = strchr(p, '{');
		if (!brace) {
			rc = buf_append(&b, p, strlen(p));
			break;
		}
		rc = buf_append(&b, p, (size_t)(brace - p));
		int k = -1;
		for (int i = 0; i < n && k < 0; i++) {
			size_t len = strlen(keys[i]);
			if (!strncmp(brace + 1, keys[i], len) && brace[1 + len] == '}')
				k = i;
		}
		if (k < 0) {
			if (!rc)
				rc = buf_append(&b, "{", 1);
			p = brace + 1;
			continue;
		}
		const char *v = values[k] ? values[k] : "";
		if (!rc)
			rc = buf_append(&b, v, strlen(v));
		p = brace + 2 + strlen(keys[k]);
	}
	if (rc) {
		buf_release(&b);
		error("prompt: the filled template would exceed %u MiB", PROMPT_CAP >> 20);
		return NULL;
	}
	return b.len ? buf_detach(&b) : xstrdup("");
}

char *llm_categories_text(void)
{
	struct buf b;
	buf_init(&b, 4096);
	for (int c = 0; c < 6; c++)
		buf_printf(&b, "  - %s\n", idea_categories[c]);
	return buf_detach(&b);
}

/* A buffer's text, or a note when the cap cut it (never silently short). */
static char *detach_or_note(struct buf *b, int rc, const char *what)
{
	if (rc) {
		b->cap += 4096;   /* room for the note */
		buf_printf(b, "\n(%s cut: over %u MiB)\n", what, TEXT_CAP >> 20);
	}
	return b->len ? buf_detach(b) : xstrdup("");
}

char *llm_seeds_text(const struct llm_seed *seeds, int n)
{
	struct buf b;
	buf_init(&b, TEXT_CAP);
	int rc = 0;
	if (n == 0)
		rc = buf_printf(&b, "(no seeds yet)\n");
	for (int i = 0; i < n && !rc; i++) {
		const struct llm_seed *s = &seeds[i];
		if (s->median_ms <= 0) {
			/* Nothing timed it (a dry run): no number is made up. */
			rc = buf_printf(&b, "### Seed %lld: not timed yet\n", (long long)s->id);
		} else {
			rc = buf_printf(&b, "### Seed %lld: %.4f ms, %.0f %% of eager", (long long)s->id,
					s->median_ms, s->pct_eager);
			if (!rc)
				rc = s->pct_floor > 0 ? buf_printf(&b, ", %.0f %% of floor\n", s->pct_floor)
						      : buf_printf(&b, ", floor unknown\n");
		}
		if (!rc)
			rc = buf_printf(&b, "Idea: %s\n\n```cuda\n%s%s```\n\n",
					s->idea && *s->idea ? s->idea : "(none: a starting kernel)",
					s->source ? s->source : "",
					s->source && *s->source && s->source[strlen(s->source) - 1] == '\n' ? "" : "\n");
	}
	return detach_or_note(&b, rc, "seeds");
}

char *llm_history_text(const struct llm_tried *tried, int n)
{
	struct buf b;
	buf_init(&b, TEXT_CAP);
	int rc = 0;
	if (n == 0)
		rc = buf_printf(&b, "(none yet)\n");
	for (int i = 0; i < n && !rc; i++) {
		const struct llm_tried *t = &tried[i];
		rc = buf_printf(&b, "- on seed");
		for (int k = 0; k < t->n_parents && !rc; k++)
			rc = buf_printf(&b, "%s %lld", k ? " and" : "", (long long)t->parents[k]);
		if (!rc)
			rc = buf_printf(&b, " [%s] %s -> %s\n", t->category ? t->category : "?",
					t->idea ? t->idea : "", t->outcome ? t->outcome : "not measured");
	}
	return detach_or_note(&b, rc, "history");
}

void llm_idea_release(struct llm_idea *i)
{
	if (!i)
		return;
	free(i->category);
	free(i->text);
	memset(i, 0, sizeof *i);
}

/* A fenced block of a reply: ```tag at the start of a line, then the body up
 * to a line that starts with ``` (or the end of the reply). */
struct fence {
	const char *tag;    /* the info string's first word */
	size_t tag_len;
	const char *body;
	size_t body_len;
};

/* Finds the next fenced block at or after *pos (which must be at a line's
 * start); advances *pos past it. Returns false when none is left. */
static bool next_fence(const char **pos, struct fence *f)
{
	const char *p = *pos;
	while (*p) {
		const char *line = p;
		while (*line == ' ' || *line == '\t')
			line++;
		const char *eol = strchr(p, '\n');
		const char *next = eol ? eol + 1 : p + strlen(p);
		if (strncmp(line, "```", 3)) {
			p = next;
			continue;
		}
		const char *t = line + 3;
		while (*t == '`')
			t++;
		while (*t == ' ' || *t == '\t')
			t++;
		f->tag = t;
		f->tag_len = 0;
		while (t[f->tag_len] && !isspace((unsigned char)t[f->tag_len]) && t[f->tag_len] != '`')
			f->tag_len++;
		f->body = next;
		const char *q = next;
		while (*q) {
			const char *l = q;
			while (*l == ' ' || *l == '\t')
				l++;
			if (!strncmp(l, "```", 3))
				break;
			const char *e = strchr(q, '\n');
			q = e ? e + 1 : q + strlen(q);
		}
		f->body_len = (size_t)(q - next);
		if (*q) {
			const char *e = strchr(q, '\n');
			q = e ? e + 1 : q + strlen(q);
		}
		*pos = q;
		return true;
	}
	*pos = p;
	return false;
}

static bool tag_is(const struct fence *f, const char *name)
{
	return f->tag_len == strlen(name) && !strncasecmp(f->tag, name, f->tag_len);
}

/* End of the [ ... ] span opening at open (past the matching ']', or the
 * end of the text when it is cut short), skipping JSON strings. */
static const char *bracket_end(const char *open)
{
	int depth = 0;
	bool in_str = false;
	const char *p = open;
	for (; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"') {
			in_str = true;
		} else if (*p == '[' || *p == '{') {
			depth++;
		} else if (*p == ']' || *p == '}') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return p;
}

/* The JSON text of an ideas reply (caller frees), or NULL. */
static char *find_ideas_json(const char *reply)
{
	const char *pos = reply;
	struct fence f;
	while (next_fence(&pos, &f))
		if (tag_is(&f, "json"))
			return strndup(f.body, f.body_len);
	/* No ```json block: a '[' that opens a list of objects, else the first '['. */
	const char *open = NULL;
	for (const char *p = strchr(reply, '['); p && !open; p = strchr(p + 1, '[')) {
		const char *q = p + 1;
		while (isspace((unsigned char)*q))
			q++;
		if (*q == '{')
			open = p;
	}
	if (!open)
		open = strchr(reply, '[');
	if (!open)
		return NULL;
	return strndup(open, (size_t)(bracket_end(open) - open));
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

/* Reads json, a list of objects (or an object whose "ideas" member is one),
 * into *ideas (caller releases each and frees the array), one entry per
 * element in order: category and text (from "idea", else "text") copied as
 * given, NULL when absent or not strings (and both NULL for an element that
 * is not an object); parents from "parents", integers and all-digit strings
 * only, the first two. Returns 0; or -1 with *why (caller frees) when json
 * is not valid JSON or holds no such list. Prints nothing: the text is a
 * model's. */
static int llm_read_ideas(const char *text, struct llm_idea **ideas, int *n, char **why)
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

/* The canonical category for a model's spelling, or NULL. */
static const char *canonical_category(const char *cat)
{
	if (!cat)
		return NULL;
	while (isspace((unsigned char)*cat))
		cat++;
	size_t len = strlen(cat);
	while (len && isspace((unsigned char)cat[len - 1]))
		len--;
	for (int c = 0; c < 6; c++)
		if (strlen(idea_categories[c]) == len && !strncasecmp(cat, idea_categories[c], len))
			return idea_categories[c];
	return NULL;
}

static bool blank(const char *s)
{
	if (!s)
		return true;
	while (isspace((unsigned char)*s))
		s++;
	return !*s;
}

int llm_parse_ideas(const char *reply, int max, struct llm_idea *out, int *n, char **why)
{
	struct llm_idea *raw = NULL;
	int n_raw = 0, malformed = 0, unknown = 0, empty = 0, over = 0;
	char *first_unknown = NULL;
	struct buf reason;
	buf_init(&reason, 4096);
	*why = NULL;
	if (!n)
		return -1;
	*n = 0;
	if (!reply || max < 0 || (max > 0 && !out))
		return -1;

	char *json = find_ideas_json(reply);
	if (!json) {
		*why = xstrdup("no JSON list in the reply");
		return 0;
	}
	if (llm_read_ideas(json, &raw, &n_raw, why))
		goto out;
	for (int i = 0; i < n_raw; i++) {
		struct llm_idea *r = &raw[i];
		const char *cat = canonical_category(r->category);
		if (!r->category && !r->text) {
			malformed++;
		} else if (!cat) {
			if (!unknown++)
				first_unknown = xstrdup(r->category ? r->category : "(none)");
		} else if (blank(r->text)) {
			empty++;
		} else if (*n >= max) {
			over++;
		} else {
			struct llm_idea *d = &out[(*n)++];
			*d = *r;
			d->category = xstrdup(cat);
			free(r->category);
			r->category = NULL;
			r->text = NULL;   /* moved to d */
		}
	}
	if (n_raw == 0)
		buf_printf(&reason, "; the JSON list is empty");
	if (malformed)
		buf_printf(&reason, "; %d dropped: no category and no idea", malformed);
	if (unknown)
		buf_printf(&reason, "; %d dropped: unknown category '%.80s'%s", unknown, first_unknown,
			   unknown > 1 ? " and others" : "");
	if (empty)
		buf_printf(&reason, "; %d dropped: empty idea", empty);
	if (over)
		buf_printf(&reason, "; %d beyond the limit of %d", over, max);
	if (reason.len)
		*why = xstrdup(buf_str(&reason) + 2);
out:
	for (int i = 0; i < n_raw; i++)
		llm_idea_release(&raw[i]);
	free(raw);
	free(json);
	free(first_unknown);
	buf_release(&reason);
	return 0;
}

/* The source with the ABI's include and macro added where missing (caller
 * frees). */
static char *complete_source(const char *src, size_t len)
{
	struct buf b;
	buf_init(&b, 0);
	char *s = strndup(src, len);
	bool has_include = strstr(s, "kbreed_candidate.h") != NULL;
	bool has_abi = strstr(s, "KBREED_CANDIDATE_ABI") || strstr(s, "kbreed_abi_version");
	if (!has_include) {
		buf_printf(&b, "#include \"kbreed_candidate.h\"\n%s", has_abi ? "" : "KBREED_CANDIDATE_ABI\n");
		buf_append(&b, s, strlen(s));
	} else if (!has_abi) {
		/* After the line that includes the header. */
		const char *inc = strstr(s, "kbreed_candidate.h");
		const char *eol = strchr(inc, '\n');
		size_t head = eol ? (size_t)(eol + 1 - s) : strlen(s);
		buf_append(&b, s, head);
		if (!eol)
			buf_append(&b, "\n", 1);
		buf_printf(&b, "KBREED_CANDIDATE_ABI\n");
		buf_append(&b, s + head, strlen(s + head));
	} else {
		buf_append(&b, s, strlen(s));
	}
	if (b.len && b.data[b.len - 1] != '\n')
		buf_append(&b, "\n", 1);
	free(s);
	return b.len ? buf_detach(&b) : xstrdup("");
}

static bool body_has(const struct fence *f, const char *needle)
{
	return memmem(f->body, f->body_len, needle, strlen(needle)) != NULL;
}

int llm_extract_source(const char *reply, char **source, char **why)
{
	*source = NULL;
	*why = NULL;
	const char *pos = reply ? reply : "";
	struct fence f, tagged = { 0 }, untagged = { 0 };
	bool any = false, have_tagged = false, have_untagged = false;
	while (next_fence(&pos, &f)) {
		any = true;
		if (!body_has(&f, "kbreed_forward"))
			continue;
		if (tag_is(&f, "cuda") || tag_is(&f, "cu") || tag_is(&f, "c++") || tag_is(&f, "cpp")) {
			tagged = f;
			have_tagged = true;
		} else if (f.tag_len == 0) {
			untagged = f;
			have_untagged = true;
		}
	}
	if (!any) {
		*why = xstrdup("no code block in the reply");
		return -1;
	}
	if (!have_tagged && !have_untagged) {
		*why = xstrdup("the code defines no kbreed_forward");
		return -1;
	}
	const struct fence *pick = have_tagged ? &tagged : &untagged;
	*source = complete_source(pick->body, pick->body_len);
	return 0;
}
