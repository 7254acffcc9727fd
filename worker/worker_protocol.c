/*
 * worker_protocol.c - the encoders and decoders of the worker protocol
 * (include/kbreed_worker_protocol.h), written once and linked into kbreed,
 * the GPU worker and the fake worker. libc only: the worker is built on its
 * own, against the CUDA runtime, and must not need kbreed's helpers.
 */
#define _GNU_SOURCE
#include "../include/kbreed_worker_protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { [KBW_INPUT] = "input", [KBW_PARAM] = "param", [KBW_OUTPUT] = "output",
					  [KBW_REFERENCE] = "reference" };
static const char *const fault_names[] = {
	[KBW_FAULT_LOAD] = "load_error", [KBW_FAULT_RUNTIME] = "runtime_error", [KBW_FAULT_REJECTED] = "rejected",
};
static const size_t dtype_bytes[] = { [KB_F32] = 4, [KB_F16] = 2, [KB_BF16] = 2, [KB_F64] = 8,
				      [KB_I32] = 4, [KB_I64] = 8, [KB_BOOL] = 1 };

/* snprintf into why, when there is a why. Returns rc, for one-line exits. */
static int say(int rc, char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int say(int rc, char *why, size_t cap, const char *fmt, ...)
{
	if (why && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

void kbw_job_init(struct kbw_job *j)
{
	memset(j, 0, sizeof *j);
}

void kbw_job_release(struct kbw_job *j)
{
	for (int i = 0; i < j->n_tensors; i++)
		free(j->tensor[i].source);
	free(j->tensor);
	kbw_job_init(j);
}

int kbw_job_add(struct kbw_job *j, enum kbw_kind kind, int set, int index, int dtype,
		int ndim, const int64_t *shape, const char *source)
{
	struct kbw_tensor *grown = realloc(j->tensor, (size_t)(j->n_tensors + 1) * sizeof *grown);
	if (!grown)
		return -1;
	j->tensor = grown;
	struct kbw_tensor *t = &j->tensor[j->n_tensors];
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->set = set;
	t->index = index;
	t->dtype = dtype;
	t->ndim = ndim;
	for (int d = 0; d < ndim && d < KBREED_MAX_DIMS; d++)
		t->shape[d] = shape[d];
	if (source && !(t->source = strdup(source)))
		return -1;
	j->n_tensors++;
	if (kind == KBW_REFERENCE) {
		j->n_refs++;   /* checked against sets x outputs once all are read */
		return 0;
	}
	int *count = kind == KBW_INPUT ? &j->n_inputs : kind == KBW_PARAM ? &j->n_params : &j->n_outputs;
	if (index + 1 > *count)
		*count = index + 1;
	return 0;
}

size_t kbw_tensor_bytes(const struct kbw_tensor *t)
{
	size_t n = t->dtype >= 0 && t->dtype <= KB_BOOL ? dtype_bytes[t->dtype] : 0;
	for (int d = 0; d < t->ndim; d++)
		n *= (size_t)t->shape[d];
	return n;
}

int kbw_check_version(int theirs, const char *what, const char *me, char *why, size_t why_cap)
{
	if (theirs == KBREED_WORKER_PROTOCOL)
		return 0;
	return say(-1, why, why_cap,
		   "protocol version mismatch: the %s speaks worker protocol version %d, this %s speaks %d; "
		   "build kbreed and kbreed-worker from the same checkout (make)",
		   what, theirs, me, KBREED_WORKER_PROTOCOL);
}

/* Appends printf output to a growing text; -1 when memory runs out. */
static int append(char **text, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int append(char **text, size_t *len, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(*text ? *text + *len : NULL, *text ? *cap - *len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if (*text && *len + (size_t)n < *cap) {
			*len += (size_t)n;
			return 0;
		}
		size_t want = (*cap ? *cap * 2 : 4096) + (size_t)n;
		char *grown = realloc(*text, want);
		if (!grown)
			return -1;
		*text = grown;
		*cap = want;
	}
}

int kbw_job_format(const struct kbw_job *j, char **text, size_t *len, char *why, size_t why_cap)
{
	size_t cap = 0;
	int rc = -1;
	*text = NULL;
	*len = 0;
	if (append(text, len, &cap, "kbreed-job %d\nsets %d\ntimed_sets %d\nwarmup %d\nreps %d\nflush_mb %d\n",
		   j->version, j->sets, j->timed_sets > 0 ? j->timed_sets : j->sets, j->warmup, j->reps, j->flush_mb))
		goto oom;
	for (int i = 0; i < j->n_tensors; i++) {
		const struct kbw_tensor *t = &j->tensor[i];
		const char *src = t->source ? t->source : "-";
		if (!*src || strlen(src) >= KBW_MAX_PATH || strpbrk(src, " \t\r\n") || (t->source && !strcmp(src, "-"))) {
			rc = say(-1, why, why_cap, "tensor %d's source cannot go on a job line: \"%.64s\"", i, src);
			goto fail;
		}
		if ((unsigned)t->kind > KBW_REFERENCE ||
		    append(text, len, &cap, "tensor %s %d %d %d %d", kind_names[t->kind], t->set, t->index, t->dtype, t->ndim))
			goto oom;
		for (int d = 0; d < t->ndim && d < KBREED_MAX_DIMS; d++)
			if (append(text, len, &cap, " %lld", (long long)t->shape[d]))
				goto oom;
		if (append(text, len, &cap, " %s\n", src))
			goto oom;
	}
	for (int o = 0; o < j->n_tols && o < KBW_MAX_TENSORS; o++) {
		if (append(text, len, &cap, "tolerance %d", o))
			goto oom;
		for (int k = 0; k < 2 * KBW_PROFILES; k++)
			if (append(text, len, &cap, " %.17g", j->tol[o][k]))
				goto oom;
		if (append(text, len, &cap, "\n"))
			goto oom;
	}
	return 0;
oom:
	rc = say(-1, why, why_cap, "cannot encode the job: out of memory");
fail:
	free(*text);
	*text = NULL;
	*len = 0;
	return rc;
}

/* Decodes "tensor ..." into j. Returns 0, or -1 with why filled. */
static int parse_tensor(struct kbw_job *j, const char *line, char *why, size_t why_cap)
{
	char kind[16];
	int set, idx, dtype, ndim, used = 0;
	if (sscanf(line, "tensor %15s %d %d %d %d%n", kind, &set, &idx, &dtype, &ndim, &used) != 5)
		return say(-1, why, why_cap, "bad tensor line: %.200s", line);
	int k = -1;
	for (int i = 0; i <= KBW_REFERENCE; i++)
		if (!strcmp(kind, kind_names[i]))
			k = i;
	if (k < 0)
		return say(-1, why, why_cap, "unknown tensor kind: %.200s", line);
	if (idx < 0 || idx >= KBW_MAX_TENSORS || ndim < 0 || ndim > KBREED_MAX_DIMS || dtype < 0 || dtype > KB_BOOL ||
	    (k == KBW_INPUT || k == KBW_REFERENCE ? set < 0 || set >= KBW_MAX_SETS : set != -1))
		return say(-1, why, why_cap, "tensor line out of range: %.200s", line);
	const char *p = line + used;
	int64_t shape[KBREED_MAX_DIMS];
	for (int d = 0; d < ndim; d++) {
		long long v;
		int n = 0;
		if (sscanf(p, " %lld%n", &v, &n) != 1 || v < 0)
			return say(-1, why, why_cap, "bad shape: %.200s", line);
		shape[d] = v;
		p += n;
	}
	if (*p != ' ' || !p[1] || strchr(p + 1, ' '))
		return say(-1, why, why_cap, "bad tensor source: %.200s", line);
	p++;
	bool none = !strcmp(p, "-");
	if (none != (k == KBW_OUTPUT))
		return say(-1, why, why_cap, "%s", k == KBW_OUTPUT ? "an output with contents" : "an input, param or reference without contents");
	if (strlen(p) >= KBW_MAX_PATH)
		return say(-1, why, why_cap, "tensor source longer than %d bytes", KBW_MAX_PATH);
	for (int i = 0; i < j->n_tensors; i++)
		if (j->tensor[i].kind == (enum kbw_kind)k && j->tensor[i].set == set && j->tensor[i].index == idx)
			return say(-1, why, why_cap, "tensor given twice: %.200s", line);
	if (kbw_job_add(j, (enum kbw_kind)k, set, idx, dtype, ndim, shape, none ? NULL : p))
		return say(-1, why, why_cap, "out of memory");
	return 0;
}

/* Whether every tensor the counts promise is there. */
static bool job_complete(const struct kbw_job *j)
{
	int want = j->sets * j->n_inputs + j->n_params + j->n_outputs;
	/* References: none (the candidate's worker), or every set's every
	 * output (the comparer's job). */
	if (j->n_refs && j->n_refs != j->sets * j->n_outputs)
		return false;
	return j->n_tensors == want + j->n_refs;   /* no duplicates, so a missing one shows */
}

int kbw_job_read(FILE *f, const char *name, struct kbw_job *j, char *why, size_t why_cap)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = KBW_EXIT_JOB, lineno = 0;
	bool header = false, seen[5] = { false };
	kbw_job_init(j);
	j->version = -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n)
			continue;
		if (!header) {
			int used = 0;
			if (sscanf(line, "kbreed-job %d%n", &j->version, &used) != 1 || line[used]) {
				say(0, why, why_cap, "%s is not a kbreed job file", name);
				goto fail;
			}
			char mismatch[512];
			if (kbw_check_version(j->version, "job file", "worker", mismatch, sizeof mismatch)) {
				say(0, why, why_cap, "%s: %s", name, mismatch);
				rc = KBW_EXIT_VERSION;
				goto fail;
			}
			header = true;
			continue;
		}
		static const char *const keys[] = { "sets", "timed_sets", "warmup", "reps", "flush_mb" };
		int *vals[] = { &j->sets, &j->timed_sets, &j->warmup, &j->reps, &j->flush_mb };
		int k = 0, used = 0;
		while (k < 5 && strncmp(line, keys[k], strlen(keys[k])))
			k++;
		if (!strncmp(line, "tolerance ", 10)) {
			int o = -1, u = 0;
			double *t = NULL;
			if (sscanf(line, "tolerance %d%n", &o, &u) != 1 || o != j->n_tols || o >= KBW_MAX_TENSORS) {
				say(0, why, why_cap, "%s, line %d: bad or out-of-order tolerance line: %.200s", name, lineno, line);
				goto fail;
			}
			t = j->tol[o];
			for (int q = 0; q < 2 * KBW_PROFILES; q++) {
				int m = 0;
				if (sscanf(line + u, " %lf%n", &t[q], &m) != 1 || !(t[q] >= 0) || t[q] > 1e9) {
					say(0, why, why_cap, "%s, line %d: bad tolerance: %.200s", name, lineno, line);
					goto fail;
				}
				u += m;
			}
			if (line[u]) {
				say(0, why, why_cap, "%s, line %d: bad tolerance line: %.200s", name, lineno, line);
				goto fail;
			}
			j->n_tols++;
		} else if (!strncmp(line, "tensor ", 7)) {
			char msg[512];
			if (parse_tensor(j, line, msg, sizeof msg)) {
				say(0, why, why_cap, "%s, line %d: %s", name, lineno, msg);
				goto fail;
			}
		} else if (k < 5 && line[strlen(keys[k])] == ' ' && !seen[k] &&
			   sscanf(line + strlen(keys[k]), " %d%n", vals[k], &used) == 1 &&
			   !line[strlen(keys[k]) + (size_t)used]) {
			seen[k] = true;
		} else {
			say(0, why, why_cap, "%s, line %d: unknown or repeated job line: %.200s", name, lineno, line);
			goto fail;
		}
	}
	if (ferror(f)) {
		say(0, why, why_cap, "cannot read %s: %s", name, strerror(errno));
		goto fail;
	}
	if (!header) {
		say(0, why, why_cap, "%s is empty", name);
		goto fail;
	}
	if (!seen[1])
		j->timed_sets = j->sets;   /* every set feeds the timed calls */
	if (j->sets < 1 || j->sets > KBW_MAX_SETS || j->timed_sets < 1 || j->timed_sets > j->sets ||
	    j->reps < 1 || j->warmup < 0 || j->flush_mb < 0 || j->n_outputs < 1 || !job_complete(j)) {
		say(0, why, why_cap, "job %s is incomplete or out of range", name);
		goto fail;
	}
	if (j->n_tols && j->n_tols != j->n_outputs) {
		say(0, why, why_cap, "job %s: tolerances for %d outputs, but %d outputs", name, j->n_tols, j->n_outputs);
		goto fail;
	}
	for (int i = 0; i < j->n_tensors; i++)
		if ((j->tensor[i].kind == KBW_INPUT || j->tensor[i].kind == KBW_REFERENCE) && j->tensor[i].set >= j->sets) {
			say(0, why, why_cap, "job %s: an input of set %d, but %d sets", name, j->tensor[i].set, j->sets);
			goto fail;
		}
	free(line);
	return 0;
fail:
	free(line);
	kbw_job_release(j);
	return rc;
}

int kbw_job_load(const char *path, struct kbw_job *j, char *why, size_t why_cap)
{
	kbw_job_init(j);
	FILE *f = fopen(path, "r");
	if (!f)
		return say(KBW_EXIT_JOB, why, why_cap, "cannot open job %s: %s", path, strerror(errno));
	int rc = kbw_job_read(f, path, j, why, why_cap);
	fclose(f);
	return rc;
}

int kbw_format_eval(char *buf, size_t cap, const char *so, const char *outdir)
{
	if (strpbrk(so, "\t\r\n") || strpbrk(outdir, "\t\r\n") || strlen(so) >= KBW_MAX_PATH ||
	    strlen(outdir) >= KBW_MAX_PATH)
		return -1;
	int n = snprintf(buf, cap, "eval %s\t%s\n", so, outdir);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int kbw_format_eval_cutoff(char *buf, size_t cap, const char *so, const char *outdir, double cutoff_ms,
			   int calls)
{
	int n = kbw_format_eval(buf, cap, so, outdir);
	if (n < 0 || !(cutoff_ms > 0))
		return n;
	if (calls < 1 || cutoff_ms > 1e12)
		return -1;
	int m = snprintf(buf + n - 1, cap - (size_t)(n - 1), "\tcutoff %.6f %d\n", cutoff_ms, calls);
	return m < 0 || (size_t)m >= cap - (size_t)(n - 1) ? -1 : n - 1 + m;
}

int kbw_format_eval_opts(char *buf, size_t cap, const char *so, const char *outdir, double cutoff_ms,
			 int calls, bool gpu)
{
	int n = kbw_format_eval_cutoff(buf, cap, so, outdir, cutoff_ms, calls);
	if (n < 0 || !gpu)
		return n;
	if ((size_t)n + 4 >= cap)
		return -1;
	memcpy(buf + n - 1, "\tgpu\n", 6);
	return n + 4;
}

/* Decodes "eval ..." (after kbw_parse_cmd saw its name) into e. */
static enum kbw_command parse_eval_line(char *line, struct kbw_eval *e)
{
	char *tab = strchr(line + 5, '\t');
	if (!tab || tab == line + 5 || !tab[1] || tab[1] == '\t')
		return KBW_CMD_BAD;
	char *field = strchr(tab + 1, '\t');
	if (field)
		*field++ = '\0';
	/* Options, one per field: "cutoff <ms> <calls>" first when given, then
	 * "gpu"; each once, nothing else. */
	while (field) {
		char *next = strchr(field, '\t');
		if (next)
			*next++ = '\0';
		double ms = 0;
		int calls = 0, used = 0;
		if (!strcmp(field, "gpu") && !e->gpu) {
			e->gpu = true;
		} else if (!e->gpu && !(e->cutoff_ms > 0) &&
			   sscanf(field, "cutoff %lf %d%n", &ms, &calls, &used) == 2 && !field[used] &&
			   ms > 0 && ms <= 1e12 && calls >= 1) {
			e->cutoff_ms = ms;
			e->cutoff_calls = calls;
		} else {
			return KBW_CMD_BAD;
		}
		field = next;
	}
	*tab = '\0';
	e->so = line + 5;
	e->outdir = tab + 1;
	return KBW_CMD_EVAL;
}

int kbw_format_handle(char *buf, size_t cap, const struct kbw_handle *h)
{
	size_t len = strlen(h->hex);
	if ((h->kind != KBW_INPUT && h->kind != KBW_PARAM && h->kind != KBW_OUTPUT) || h->index < 0 ||
	    h->index >= KBW_MAX_TENSORS || !len || len > KBW_HANDLE_HEX || strspn(h->hex, "0123456789abcdef") != len)
		return -1;
	int n = snprintf(buf, cap, "handle %s %d %s\n", kind_names[h->kind], h->index, h->hex);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Decodes "handle <kind> <index> <hex>". Returns 0 or -1. */
static int parse_handle(const char *line, struct kbw_handle *h)
{
	char kind[16];
	int used = 0;
	memset(h, 0, sizeof *h);
	if (sscanf(line, "handle %15s %d %n", kind, &h->index, &used) != 2 || !used)
		return -1;
	const char *hex = line + used;
	size_t len = strlen(hex);
	if (!len || len > KBW_HANDLE_HEX || strspn(hex, "0123456789abcdef") != len || h->index < 0 ||
	    h->index >= KBW_MAX_TENSORS)
		return -1;
	int k = -1;
	for (int i = 0; i <= KBW_OUTPUT; i++)
		if (!strcmp(kind, kind_names[i]))
			k = i;
	if (k < 0)
		return -1;
	h->kind = (enum kbw_kind)k;
	memcpy(h->hex, hex, len + 1);
	return 0;
}

enum kbw_command kbw_parse_cmd(char *line, struct kbw_cmd *c)
{
	memset(c, 0, sizeof *c);
	int u = 0;
	if (!strcmp(line, "quit"))
		return c->cmd = KBW_CMD_QUIT;
	if (!strncmp(line, "eval ", 5))
		return c->cmd = parse_eval_line(line, &c->eval);
	if (!strcmp(line, "export"))
		return c->cmd = KBW_CMD_EXPORT;
	if (!strcmp(line, "go"))
		return c->cmd = KBW_CMD_GO;
	if (!strncmp(line, "stop ", 5) || !strcmp(line, "stop")) {
		c->text = line[4] ? line + 5 : line + 4;
		return c->cmd = KBW_CMD_STOP;
	}
	if (!strcmp(line, "attach"))
		return c->cmd = KBW_CMD_ATTACH;
	if (!strncmp(line, "handle ", 7))
		return c->cmd = parse_handle(line, &c->handle) ? KBW_CMD_BAD : KBW_CMD_HANDLE;
	if (!strncmp(line, "compare ", 8) && sscanf(line, "compare %d %d%n", &c->set, &c->pass, &u) == 2 &&
	    !line[u] && c->set >= 0 && c->set < KBW_MAX_SETS && (c->pass == 0 || c->pass == 1))
		return c->cmd = KBW_CMD_COMPARE;
	return c->cmd = KBW_CMD_BAD;
}

enum kbw_command kbw_parse_eval(char *line, struct kbw_eval *e)
{
	struct kbw_cmd c;
	enum kbw_command k = kbw_parse_cmd(line, &c);
	*e = c.eval;
	return k == KBW_CMD_EVAL || k == KBW_CMD_QUIT ? k : KBW_CMD_BAD;
}

enum kbw_command kbw_parse_command(char *line, const char **so, const char **outdir)
{
	struct kbw_eval e;
	enum kbw_command c = kbw_parse_eval(line, &e);
	*so = e.so;
	*outdir = e.outdir;
	return c;
}

const char *kbw_fault_name(enum kbw_fault f)
{
	return (unsigned)f <= KBW_FAULT_REJECTED ? fault_names[f] : "?";
}

int kbw_fault_parse(const char *name, enum kbw_fault *f)
{
	for (int i = 0; i <= KBW_FAULT_REJECTED; i++)
		if (!strcmp(name, fault_names[i])) {
			*f = (enum kbw_fault)i;
			return 0;
		}
	return -1;
}

/* "<prefix> <message>\n" with the message on one line, cut to fit a line. */
static int format_message(char *buf, size_t cap, const char *prefix, const char *text)
{
	size_t limit = cap < KBW_MAX_LINE ? cap : KBW_MAX_LINE;
	size_t plen = strlen(prefix), tlen = strlen(text ? text : "");
	if (limit < plen + 6)
		return -1;
	size_t room = limit - plen - 3;   /* space, newline, NUL */
	bool cut = tlen > room;
	if (cut)
		tlen = room - 3;
	memcpy(buf, prefix, plen);
	buf[plen] = ' ';
	char *m = buf + plen + 1;
	memcpy(m, text ? text : "", tlen);
	for (size_t i = 0; i < tlen; i++)
		if (m[i] == '\n' || m[i] == '\r')
			m[i] = ' ';
	size_t n = plen + 1 + tlen;
	if (cut) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '\n';
	buf[n] = '\0';
	return (int)n;
}

int kbw_format_stop(char *buf, size_t cap, const char *why)
{
	return format_message(buf, cap, "stop", why);
}

int kbw_format_reply(char *buf, size_t cap, const struct kbw_reply *r)
{
	int n;
	char prefix[32];
	switch (r->kind) {
	case KBW_REPLY_READY:
		n = snprintf(buf, cap, "ready %d %llu%s%s%s\n", r->version, r->bytes, r->cutoff ? " cutoff" : "",
			     r->ipc ? " ipc" : "", r->compare ? " compare" : "");
		break;
	case KBW_REPLY_HANDLE:
		return kbw_format_handle(buf, cap, &r->handle);
	case KBW_REPLY_CHECK:
		n = snprintf(buf, cap, "check %d %d\n", r->set, r->pass);
		break;
	case KBW_REPLY_STATS: {
		const struct kbw_stats *s = &r->stats;
		/* %.17g: every double comes back as it was. */
		n = snprintf(buf, cap, "stats %d %.17g %lld %lld %lld %lld %lld %.17g %.17g %.17g %.17g %lld %.17g %.17g %.17g %.17g\n",
			     s->output, s->scale, s->n, s->n_bad[0], s->n_bad[1], s->first_bad[0], s->first_bad[1],
			     s->first_got[0], s->first_want[0], s->first_got[1], s->first_want[1], s->n_nonfinite,
			     s->max_abs, s->max_rel, s->err_sq, s->ref_sq);
		break;
	}
	case KBW_REPLY_ERROR:
		return format_message(buf, cap, "error", r->text);
	case KBW_REPLY_FAULT:
		snprintf(prefix, sizeof prefix, "fault %s", kbw_fault_name(r->fault));
		return format_message(buf, cap, prefix, r->text);
	case KBW_REPLY_FIRST:
		n = snprintf(buf, cap, "first %d %.6f %.6f\n", r->set, r->event_ms, r->host_ms);
		break;
	case KBW_REPLY_TIME:
		n = snprintf(buf, cap, "time %.6f %.6f\n", r->event_ms, r->host_ms);
		break;
	case KBW_REPLY_CLOCKS:
		n = snprintf(buf, cap, "clocks %d %d\n", r->sm_mhz, r->mem_mhz);
		break;
	case KBW_REPLY_LEAK:
		n = snprintf(buf, cap, "leak %llu\n", r->bytes);
		break;
	case KBW_REPLY_THREADS:
		n = snprintf(buf, cap, "threads %d\n", r->threads);
		break;
	case KBW_REPLY_END:
		n = snprintf(buf, cap, "end %s\n", r->ok ? "ok" : "fault");
		break;
	case KBW_REPLY_EARLY:
		n = snprintf(buf, cap, "early %d\n", r->calls);
		break;
	default:
		return -1;
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Whether a sscanf that returned got (of want fields) and stopped at used
 * consumed the whole line. */
static bool whole(const char *line, int got, int want, int used)
{
	return got == want && used > 0 && !line[used];
}

int kbw_parse_reply(const char *line, struct kbw_reply *r)
{
	memset(r, 0, sizeof *r);
	int u = 0, g;
	if (!strncmp(line, "ready ", 6)) {
		r->kind = KBW_REPLY_READY;
		if ((g = sscanf(line, "ready %d %llu%n", &r->version, &r->bytes, &u), whole(line, g, 2, u)))
			return 0;
		if (g == 2 && u > 0) {
			/* Options, each once, in this order. */
			const char *p = line + u;
			static const char *const opt[] = { " cutoff", " ipc", " compare" };
			bool *flag[] = { &r->cutoff, &r->ipc, &r->compare };
			for (int k = 0; k < 3; k++)
				if (!strncmp(p, opt[k], strlen(opt[k])) && (!p[strlen(opt[k])] || p[strlen(opt[k])] == ' ')) {
					*flag[k] = true;
					p += strlen(opt[k]);
				}
			if (!*p)
				return 0;
		}
		r->version = 1;   /* "ready <free_bytes>": a worker from before versions */
		return (g = sscanf(line, "ready %llu%n", &r->bytes, &u), whole(line, g, 1, u)) ? 0 : -1;
	}
	if (!strncmp(line, "error ", 6) || !strcmp(line, "error")) {
		r->kind = KBW_REPLY_ERROR;
		r->text = line[5] ? line + 6 : line + 5;
		return 0;
	}
	if (!strncmp(line, "fault ", 6)) {
		r->kind = KBW_REPLY_FAULT;
		const char *cls = line + 6, *sp = strchr(cls, ' ');
		size_t len = sp ? (size_t)(sp - cls) : strlen(cls);
		char name[32];
		if (len >= sizeof name)
			return -1;
		memcpy(name, cls, len);
		name[len] = '\0';
		r->text = sp ? sp + 1 : cls + len;
		return kbw_fault_parse(name, &r->fault);
	}
	if (!strncmp(line, "first ", 6)) {
		r->kind = KBW_REPLY_FIRST;
		return (g = sscanf(line, "first %d %lf %lf%n", &r->set, &r->event_ms, &r->host_ms, &u), whole(line, g, 3, u)) ? 0 : -1;
	}
	if (!strncmp(line, "time ", 5)) {
		r->kind = KBW_REPLY_TIME;
		return (g = sscanf(line, "time %lf %lf%n", &r->event_ms, &r->host_ms, &u), whole(line, g, 2, u)) ? 0 : -1;
	}
	if (!strncmp(line, "clocks ", 7)) {
		r->kind = KBW_REPLY_CLOCKS;
		return (g = sscanf(line, "clocks %d %d%n", &r->sm_mhz, &r->mem_mhz, &u), whole(line, g, 2, u)) ? 0 : -1;
	}
	if (!strncmp(line, "leak ", 5)) {
		r->kind = KBW_REPLY_LEAK;
		return (g = sscanf(line, "leak %llu%n", &r->bytes, &u), whole(line, g, 1, u)) ? 0 : -1;
	}
	if (!strncmp(line, "threads ", 8)) {
		r->kind = KBW_REPLY_THREADS;
		return (g = sscanf(line, "threads %d%n", &r->threads, &u), whole(line, g, 1, u)) ? 0 : -1;
	}
	if (!strncmp(line, "early ", 6)) {
		r->kind = KBW_REPLY_EARLY;
		return (g = sscanf(line, "early %d%n", &r->calls, &u), whole(line, g, 1, u)) && r->calls >= 0 ? 0 : -1;
	}
	if (!strncmp(line, "handle ", 7)) {
		r->kind = KBW_REPLY_HANDLE;
		return parse_handle(line, &r->handle);
	}
	if (!strncmp(line, "check ", 6)) {
		r->kind = KBW_REPLY_CHECK;
		return (g = sscanf(line, "check %d %d%n", &r->set, &r->pass, &u), whole(line, g, 2, u)) && r->set >= 0 &&
		       (r->pass == 0 || r->pass == 1) ? 0 : -1;
	}
	if (!strncmp(line, "stats ", 6)) {
		struct kbw_stats *s = &r->stats;
		r->kind = KBW_REPLY_STATS;
		g = sscanf(line, "stats %d %lf %lld %lld %lld %lld %lld %lf %lf %lf %lf %lld %lf %lf %lf %lf%n", &s->output,
			   &s->scale, &s->n, &s->n_bad[0], &s->n_bad[1], &s->first_bad[0], &s->first_bad[1], &s->first_got[0],
			   &s->first_want[0], &s->first_got[1], &s->first_want[1], &s->n_nonfinite, &s->max_abs, &s->max_rel,
			   &s->err_sq, &s->ref_sq, &u);
		return whole(line, g, 16, u) && s->output >= 0 && s->output < KBW_MAX_TENSORS && s->n >= 0 ? 0 : -1;
	}
	if (!strcmp(line, "end ok") || !strcmp(line, "end fault")) {
		r->kind = KBW_REPLY_END;
		r->ok = !strcmp(line, "end ok");
		return 0;
	}
	return -1;
}

int kbw_format_info(char *buf, size_t cap, const struct kbw_info *i)
{
	int n = snprintf(buf, cap,
			 "protocol %d\nname %s\ncc %d %d\nsm_count %d\nl2_bytes %lld\nmem_bytes %lld\n"
			 "smem_per_block_optin %lld\ndriver %d\nruntime %d\nclocks %d %d\ndevices %d\n",
			 i->version, i->name, i->cc_major, i->cc_minor, i->sm_count, i->l2_bytes, i->mem_bytes,
			 i->smem_per_block_optin, i->driver, i->runtime, i->sm_clock_mhz, i->mem_clock_mhz,
			 i->devices > 0 ? i->devices : 1);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int kbw_parse_info(const char *text, struct kbw_info *i, char *why, size_t why_cap)
{
	memset(i, 0, sizeof *i);
	i->version = 1;
	i->devices = 1;
	if (!strncmp(text, "error", 5)) {
		const char *msg = text[5] == ' ' ? text + 6 : text + 5;
		size_t len = strcspn(msg, "\n");
		return say(-1, why, why_cap, "%.*s", (int)(len < 1000 ? len : 1000), msg);
	}
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		char one[512];
		snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one - 1 ? len : sizeof one - 1), line);
		/* Each line names its field; lines not known here are skipped, so
		 * that a field can be added without a new protocol version. */
		if (!strncmp(one, "name ", 5))
			snprintf(i->name, sizeof i->name, "%.255s", one + 5);
		sscanf(one, "protocol %d", &i->version);
		sscanf(one, "cc %d %d", &i->cc_major, &i->cc_minor);
		sscanf(one, "sm_count %d", &i->sm_count);
		sscanf(one, "l2_bytes %lld", &i->l2_bytes);
		sscanf(one, "mem_bytes %lld", &i->mem_bytes);
		sscanf(one, "smem_per_block_optin %lld", &i->smem_per_block_optin);
		sscanf(one, "driver %d", &i->driver);
		sscanf(one, "runtime %d", &i->runtime);
		sscanf(one, "clocks %d %d", &i->sm_clock_mhz, &i->mem_clock_mhz);
		sscanf(one, "devices %d", &i->devices);
		line += len + (line[len] == '\n');
	}
	if (!i->name[0] || !i->cc_major)
		return say(-1, why, why_cap, "the GPU worker's --info reply is incomplete");
	if (i->devices < 1)
		i->devices = 1;
	return 0;
}
