/*
 * report_html.c - `kbreed report`: a run as one self-contained HTML page.
 *
 * The data half reads the run, its candidates and ideas from the store, the
 * problem's FLOPs and bytes (the bridge's cached description) and the GPU's
 * ceilings (cached when the run measured them). The drawing half turns them
 * into inline SVG: a few axes, lines, circles and labels need no charting
 * library, and drawing them here means the page holds no script at all
 * (hover text is SVG <title>): nothing to vendor, nothing to fetch, nothing
 * that can fail in the viewer's browser. Every chart is an <svg> with an id
 * (trajectory, candidates, lineage, categories, roofline), which is what the
 * CI test looks for in the rendered page.
 */
#define _GNU_SOURCE
#include "report_html.h"

#include "bridge.h"
#include "log.h"
#include "problem.h"
#include "propose.h"
#include "report.h"
#include "store.h"
#include "util.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_CAP (256u << 20)          /* the page; a run of 100k candidates fits */
#define LINEAGE_MAX 48                 /* ancestors drawn in the lineage tree */
#define W 900                          /* chart width, px */
#define H 340                          /* chart height, px */
#define ML 70                          /* margins: left, right, top, bottom */
#define MR 170
#define MT 20
#define MB 45

/* Everything the page shows. */
struct page {
	struct run_row run;
	struct cand_row *cands;
	int n_cands;
	struct idea_row *ideas;
	int n_ideas;
	double floor_ms;                   /* from the evaluations; 0 when unknown */
	struct problem p;
	bool have_problem;                 /* the description could be read */
	struct ceilings ceil;
	bool have_ceil;                    /* cached ceilings of the run's GPU */
};

static void page_release(struct page *pg)
{
	run_row_release(&pg->run);
	for (int i = 0; i < pg->n_cands; i++)
		cand_row_release(&pg->cands[i]);
	free(pg->cands);
	for (int i = 0; i < pg->n_ideas; i++)
		idea_row_release(&pg->ideas[i]);
	free(pg->ideas);
	problem_release(&pg->p);
	ceilings_release(&pg->ceil);
}

/* The store hands rows over in id order (ORDER BY id): found by bisection,
 * so that a run of 100k candidates draws in moments. */
static const struct cand_row *cand_by_id(const struct page *pg, int64_t id)
{
	int lo = 0, hi = pg->n_cands - 1;
	while (id && lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (pg->cands[mid].id == id)
			return &pg->cands[mid];
		if (pg->cands[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static const struct idea_row *idea_by_id(const struct page *pg, int64_t id)
{
	int lo = 0, hi = pg->n_ideas - 1;
	while (id && lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (pg->ideas[mid].id == id)
			return &pg->ideas[mid];
		if (pg->ideas[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static bool timed(const struct cand_row *c)
{
	return c->evaluated && c->verdict == VERDICT_CORRECT && c->median_ms > 0;
}

/* ---- drawing helpers ------------------------------------------------------ */

/* Text escaped for HTML and SVG, at most max bytes of it (0: all), with an
 * ellipsis when cut (never inside a UTF-8 sequence). */
static void esc_n(struct buf *b, const char *s, size_t max)
{
	size_t n = 0;
	for (const char *c = s ? s : ""; *c; c++, n++) {
		if (max && n >= max && ((unsigned char)*c & 0xc0) != 0x80) {
			buf_printf(b, "...");
			return;
		}
		switch (*c) {
		case '&': buf_printf(b, "&amp;"); break;
		case '<': buf_printf(b, "&lt;"); break;
		case '>': buf_printf(b, "&gt;"); break;
		case '"': buf_printf(b, "&quot;"); break;
		case '\'': buf_printf(b, "&#39;"); break;
		default: buf_append(b, c, 1);
		}
	}
}

static void esc(struct buf *b, const char *s)
{
	esc_n(b, s, 0);
}

/* A value on a log axis from lo to hi, mapped onto [a, b] (a at lo). */
static double logmap(double v, double lo, double hi, double a, double b)
{
	if (v < lo)
		v = lo;
	if (v > hi)
		v = hi;
	return a + (log(v) - log(lo)) / (log(hi) - log(lo)) * (b - a);
}

/* Widens [*lo, *hi] to whole decades around it (a log axis). */
static void decades(double *lo, double *hi)
{
	*lo = pow(10, floor(log10(*lo)));
	*hi = pow(10, ceil(log10(*hi)));
	if (*hi <= *lo)
		*hi = *lo * 10;
}

/* The ticks of a log axis: 1, 2 and 5 of each decade, labelled. */
static void log_ticks_y(struct buf *b, double lo, double hi, const char *unit)
{
	for (double d = lo; d <= hi * 1.0001; d *= 10)
		for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) {
			double v = d * m;
			if (v > hi * 1.0001)
				break;
			double y = logmap(v, lo, hi, H - MB, MT);
			buf_printf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
				   "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>\n",
				   ML, W - MR, y, y, ML - 6, y + 4, v, m == 1 ? unit : "");
		}
}

static void svg_open(struct buf *b, const char *id, int height, const char *label)
{
	buf_printf(b, "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", id, W, height, W, height);
	esc(b, label);
	buf_printf(b, "\">\n");
}

/* A horizontal reference line across the plot, labelled at its right end. */
static void ref_line(struct buf *b, const char *cls, double y, const char *label, double ms)
{
	buf_printf(b, "<line class=\"%s\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"><title>%s %.4g ms</title></line>"
		   "<text class=\"%s-label\" x=\"%d\" y=\"%.1f\">%s %.4g ms</text>\n",
		   cls, ML, W - MR, y, y, label, ms, cls, W - MR + 6, y + 4, label, ms);
}

/* Rounds are bands of equal width; a round's points spread over its band. */
static double round_band(int rounds)
{
	return (W - ML - MR) / (double)(rounds + 1);
}

static double round_x(int r, int rounds)
{
	return ML + (r + 0.5) * round_band(rounds);
}

static void round_axis(struct buf *b, int rounds)
{
	for (int r = 0; r <= rounds; r++) {
		double x = round_x(r, rounds);
		buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x,
			   H - MB + 16, r);
	}
	buf_printf(b, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
		   "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">round</text>\n",
		   ML, W - MR, H - MB, H - MB, (ML + W - MR) / 2, H - 8);
}

/* The time range of the time charts: every timed candidate and the lines. */
static void time_range(const struct page *pg, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = 0;
	double refs[] = { pg->run.eager_ms, pg->run.compile_ms, pg->floor_ms };
	for (int i = 0; i < 3; i++)
		if (refs[i] > 0) {
			*lo = fmin(*lo, refs[i]);
			*hi = fmax(*hi, refs[i]);
		}
	for (int i = 0; i < pg->n_cands; i++)
		if (timed(&pg->cands[i])) {
			*lo = fmin(*lo, pg->cands[i].median_ms);
			*hi = fmax(*hi, pg->cands[i].median_ms);
		}
	if (!(*hi > 0)) {
		*lo = 0.1;
		*hi = 10;
	}
	decades(lo, hi);
}

static void time_refs(struct buf *b, const struct page *pg, double lo, double hi)
{
	if (pg->run.eager_ms > 0)
		ref_line(b, "ref-eager", logmap(pg->run.eager_ms, lo, hi, H - MB, MT), "PyTorch eager", pg->run.eager_ms);
	if (pg->run.compile_ms > 0)
		ref_line(b, "ref-compile", logmap(pg->run.compile_ms, lo, hi, H - MB, MT), "torch.compile",
			 pg->run.compile_ms);
	if (pg->floor_ms > 0)
		ref_line(b, "ref-floor", logmap(pg->floor_ms, lo, hi, H - MB, MT), "floor", pg->floor_ms);
}

/* ---- the charts ------------------------------------------------------------ */

static void chart_trajectory(struct buf *b, const struct page *pg)
{
	double lo, hi, best = INFINITY;
	int rounds = pg->run.rounds;
	time_range(pg, &lo, &hi);
	svg_open(b, "trajectory", H, "best time so far per round, against PyTorch and the floor");
	log_ticks_y(b, lo, hi, " ms");
	round_axis(b, rounds);
	time_refs(b, pg, lo, hi);
	struct buf path;
	buf_init(&path, 1u << 20);
	for (int r = 0; r <= rounds; r++) {
		int n = 0;
		for (int i = 0; i < pg->n_cands; i++)
			if (pg->cands[i].round == r) {
				n++;
				if (timed(&pg->cands[i]))
					best = fmin(best, pg->cands[i].median_ms);
			}
		if (!isfinite(best))
			continue;
		double x = round_x(r, rounds), y = logmap(best, lo, hi, H - MB, MT);
		buf_printf(&path, "%s%.1f,%.1f", path.len ? " " : "", x, y);
		buf_printf(b, "<circle class=\"best-point\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"><title>round %d: best so far "
			   "%.4g ms (%d candidates this round)</title></circle>\n", x, y, r, best, n);
	}
	if (path.len)
		buf_printf(b, "<polyline class=\"best\" points=\"%s\"/>\n", buf_str(&path));
	buf_release(&path);
	buf_printf(b, "</svg>\n");
}

static void chart_candidates(struct buf *b, const struct page *pg)
{
	double lo, hi;
	int rounds = pg->run.rounds;
	time_range(pg, &lo, &hi);
	int strip = H - MB + 30;   /* untimed candidates: a strip under the axis */
	svg_open(b, "candidates", H + 40, "every candidate: time by round, coloured by verdict");
	log_ticks_y(b, lo, hi, " ms");
	round_axis(b, rounds);
	time_refs(b, pg, lo, hi);
	buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">not timed</text>\n", ML - 6, strip + 4);
	double span = round_band(rounds) * 0.7;
	/* Candidates per round, and how many of each round are drawn so far. */
	int *per = xcalloc((size_t)rounds + 2, sizeof *per), *seen = xcalloc((size_t)rounds + 2, sizeof *seen);
	for (int i = 0; i < pg->n_cands; i++)
		if (pg->cands[i].round >= 0 && pg->cands[i].round <= rounds)
			per[pg->cands[i].round]++;
	for (int i = 0, k = 0; i < pg->n_cands; i++) {
		const struct cand_row *c = &pg->cands[i];
		if (c->round < 0 || c->round > rounds)
			continue;
		int n = per[c->round], at = seen[c->round]++;
		double x = round_x(c->round, rounds) + (n > 1 ? ((double)at / (n - 1) - 0.5) * span : 0);
		double y = timed(c) ? logmap(c->median_ms, lo, hi, H - MB, MT) : strip + ((k++ % 3) - 1) * 4;
		const char *v = c->evaluated ? verdict_name(c->verdict) : "not_judged";
		const struct idea_row *idea = idea_by_id(pg, c->idea);
		buf_printf(b, "<circle class=\"cand v-%s%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\"><title>#%lld, round %d, %s: %s",
			   v, c->id == pg->run.winner ? " winner" : "", x, y, c->id == pg->run.winner ? 6 : 3,
			   (long long)c->id, c->round, c->origin, v);
		if (timed(c))
			buf_printf(b, ", %.4g ms (%.0f%% of eager)%s", c->median_ms, c->pct_eager,
				   c->early ? ", timing stopped early (adaptive)" : "");
		if (*c->template_name) {
			buf_printf(b, "\ntemplate ");
			esc(b, c->template_name);
			if (*c->knobs) {
				buf_printf(b, " [");
				esc(b, c->knobs);
				buf_printf(b, "]");
			}
		}
		if (idea) {
			buf_printf(b, "\nidea (%s): ", idea->category);
			esc(b, idea->text);
		}
		buf_printf(b, "</title></circle>\n");
	}
	free(per);
	free(seen);
	/* The legend: one entry per verdict present. */
	int row = 0;
	for (int v = 0; v < VERDICTS; v++) {
		int n = 0;
		for (int i = 0; i < pg->n_cands; i++)
			n += pg->cands[i].evaluated && pg->cands[i].verdict == (enum verdict)v;
		if (!n)
			continue;
		buf_printf(b, "<circle class=\"cand v-%s legend\" cx=\"%d\" cy=\"%d\" r=\"4\"/>"
			   "<text class=\"tick\" x=\"%d\" y=\"%d\">%s (%d)</text>\n",
			   verdict_name(v), W - MR + 20, MT + 150 + 16 * row, W - MR + 28, MT + 154 + 16 * row,
			   verdict_name(v), n);
		row++;
	}
	buf_printf(b, "</svg>\n");
}

/* The winner's ancestors (parent1 and parent2, breadth first, capped). */
static int lineage(const struct page *pg, const struct cand_row **out)
{
	int n = 0;
	const struct cand_row *w = cand_by_id(pg, pg->run.winner);
	if (!w)
		return 0;
	out[n++] = w;
	for (int i = 0; i < n; i++) {
		int64_t parents[2] = { out[i]->parent1, out[i]->parent2 };
		for (int k = 0; k < 2; k++) {
			const struct cand_row *p = cand_by_id(pg, parents[k]);
			bool seen = !p;
			for (int j = 0; j < n && !seen; j++)
				seen = out[j] == p;
			if (!seen && n < LINEAGE_MAX)
				out[n++] = p;
		}
	}
	return n;
}

static int by_round(const void *a, const void *b)
{
	const struct cand_row *x = *(const struct cand_row *const *)a, *y = *(const struct cand_row *const *)b;
	return x->round != y->round ? (x->round > y->round) - (x->round < y->round) : (x->id > y->id) - (x->id < y->id);
}

/* One row per ancestor, oldest first, in its round's column; each edge runs
 * from parent to child and the child's idea is written beside the child. */
static void chart_lineage(struct buf *b, const struct page *pg)
{
	const struct cand_row *nodes[LINEAGE_MAX];
	int n = lineage(pg, nodes), rounds = pg->run.rounds;
	double x[LINEAGE_MAX], y[LINEAGE_MAX];
	qsort(nodes, (size_t)n, sizeof nodes[0], by_round);
	int height = MT + 20 + (n ? n : 1) * 56;
	svg_open(b, "lineage", height, "the winner's lineage, with the idea on each edge");
	if (!n) {
		buf_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\">no winner: nothing to trace</text></svg>\n", ML, MT + 30);
		return;
	}
	for (int i = 0; i < n; i++) {
		x[i] = ML + 48 + (W - ML - 150) * (rounds ? (double)nodes[i]->round / (rounds + 1) : 0);
		y[i] = MT + 20 + i * 56;
	}
	/* Edges first, under the nodes. */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			if (nodes[j]->id != nodes[i]->parent1 && nodes[j]->id != nodes[i]->parent2)
				continue;
			buf_printf(b, "<line class=\"edge%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
				   nodes[j]->id == nodes[i]->parent2 ? " recombined" : "", x[j], y[j] + 17, x[i], y[i] - 17);
		}
	for (int i = 0; i < n; i++) {
		const struct cand_row *c = nodes[i];
		const struct idea_row *idea = idea_by_id(pg, c->idea);
		buf_printf(b, "<g class=\"node%s\"><title>#%lld, round %d, %s", c->id == pg->run.winner ? " winner" : "",
			   (long long)c->id, c->round, c->origin);
		if (*c->template_name) {
			buf_printf(b, " ");
			esc(b, c->template_name);
			buf_printf(b, " ");
			esc(b, c->knobs);
		}
		buf_printf(b, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"96\" height=\"34\" rx=\"5\"/>"
			   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">#%lld r%d</text>"
			   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
			   x[i] - 48, y[i] - 17, x[i], y[i] - 3, (long long)c->id, c->round, x[i], y[i] + 12);
		if (timed(c))
			buf_printf(b, "%.4g ms%s", c->median_ms, c->early ? " (early)" : "");
		else
			buf_printf(b, "%s", c->evaluated ? verdict_name(c->verdict) : "not judged");
		buf_printf(b, "</text></g>\n");
		if (c->parent1 || c->parent2) {
			buf_printf(b, "<text class=\"edge-label\" x=\"%.1f\" y=\"%.1f\"><title>", x[i] + 56, y[i] + 4);
			if (idea) {
				buf_printf(b, "%s: ", idea->category);
				esc(b, idea->text);
			}
			buf_printf(b, "</title>%s", c->parent2 ? "recombined: " : "");
			if (idea)
				esc_n(b, idea->text, 64);
			buf_printf(b, "</text>\n");
		}
	}
	buf_printf(b, "</svg>\n");
}

static void chart_categories(struct buf *b, const struct page *pg)
{
	int ideas[6] = { 0 }, cands[6] = { 0 }, ok[6] = { 0 }, most = 1;
	for (int k = 0; k < 6; k++) {
		for (int i = 0; i < pg->n_ideas; i++)
			ideas[k] += !strcmp(pg->ideas[i].category, idea_categories[k]);
		for (int i = 0; i < pg->n_cands; i++) {
			const struct idea_row *idea = idea_by_id(pg, pg->cands[i].idea);
			if (idea && !strcmp(idea->category, idea_categories[k])) {
				cands[k]++;
				ok[k] += timed(&pg->cands[i]);
			}
		}
		most = cands[k] > most ? cands[k] : most;
	}
	int height = MT + 6 * 40 + 30, left = 330;
	svg_open(b, "categories", height, "ideas by category: candidates, and how many were correct");
	for (int k = 0; k < 6; k++) {
		double y = MT + k * 40, wa = (double)cands[k] / most * (W - left - MR), wc = (double)ok[k] / most * (W - left - MR);
		buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s (%d idea%s)</text>"
			   "<rect class=\"bar-all cat-bar\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"14\"><title>%s: %d candidates</title></rect>"
			   "<rect class=\"bar-ok\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"14\"><title>%s: %d correct</title></rect>"
			   "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%d / %d correct</text>\n",
			   left - 8, y + 15, idea_categories[k], ideas[k], ideas[k] == 1 ? "" : "s",
			   left, y + 4, wa, idea_categories[k], cands[k], left, y + 4, wc, idea_categories[k], ok[k],
			   left + wa + 6, y + 15, ok[k], cands[k]);
	}
	buf_printf(b, "</svg>\n");
}

static void chart_roofline(struct buf *b, const struct page *pg)
{
	const struct cand_row *w = cand_by_id(pg, pg->run.winner);
	double ms = pg->run.final_ms > 0 ? pg->run.final_ms : w ? w->median_ms : 0;
	double eager = pg->run.final_eager_ms > 0 ? pg->run.final_eager_ms : pg->run.eager_ms;
	svg_open(b, "roofline", H, "the winner on the roofline of this GPU");
	const char *why = !w || ms <= 0 ? "no timed winner"
			  : !pg->have_problem ? "the problem's description could not be read"
			  : !pg->have_ceil ? "no ceilings were measured for this GPU on this machine"
			  : NULL;
	if (why) {
		buf_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\">roofline not drawn: %s</text></svg>\n", ML, MT + 30, why);
		return;
	}
	struct roofline roof;
	roofline_compute(&pg->p, &pg->ceil, &roof);
	double bw = pg->ceil.bandwidth_gbs, bytes = pg->p.min_bytes, flops = pg->p.flops;
	if (flops <= 0 || roof.peak_tflops <= 0) {
		/* No FLOPs to place it by: achieved bandwidth against the copy rate. */
		double got = bytes / (ms * 1e-3) / 1e9, ref = eager > 0 ? bytes / (eager * 1e-3) / 1e9 : 0;
		double scale = (W - ML - MR - 140) / fmax(bw, fmax(got, ref));
		const char *names[3] = { "peak (device copy)", "kbreed winner", "PyTorch eager" };
		const char *cls[3] = { "bar-all", "bar-ok roof-winner", "bar-eager" };
		double vals[3] = { bw, got, ref };
		for (int i = 0; i < 3; i++) {
			if (vals[i] <= 0)
				continue;
			double y = MT + 30 + i * 50;
			buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>"
				   "<rect class=\"%s\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"20\"><title>%.0f GB/s</title></rect>"
				   "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%.0f GB/s (%.0f%%)</text>\n",
				   ML + 130, y + 14, names[i], cls[i], ML + 140, y, vals[i] * scale, vals[i],
				   ML + 146 + vals[i] * scale, y + 14, vals[i], vals[i] / bw * 100);
		}
		buf_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\">memory-bound, no FLOPs counted: %.3g MB moved at "
			   "least once per call</text></svg>\n", ML, H - 20, bytes / 1e6);
		return;
	}
	double ai = flops / bytes, got = flops / (ms * 1e-3) / 1e12, peak = roof.peak_tflops;
	double ref = eager > 0 ? flops / (eager * 1e-3) / 1e12 : 0;
	double ridge = peak / (bw / 1e3);   /* FLOP/byte where the roofs meet */
	double xlo = fmin(ai, ridge) / 10, xhi = fmax(ai, ridge) * 10, ylo = fmin(got, ref > 0 ? ref : got) / 10, yhi = peak * 2;
	decades(&xlo, &xhi);
	decades(&ylo, &yhi);
	log_ticks_y(b, ylo, yhi, " TFLOP/s");
	for (double d = xlo; d <= xhi * 1.0001; d *= 10) {
		double x = logmap(d, xlo, xhi, ML, W - MR);
		buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x, H - MB + 16, d);
	}
	buf_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">FLOP per byte (fewest bytes)</text>\n",
		   (ML + W - MR) / 2, H - 8);
	/* The roof: bandwidth up to the ridge, then the peak. */
	double x0 = xlo, y0 = x0 * bw / 1e3;
	if (y0 < ylo) {
		x0 = ylo / (bw / 1e3);
		y0 = ylo;
	}
	buf_printf(b, "<polyline class=\"roof\" points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"><title>%.0f GB/s; %.0f TFLOP/s"
		   "</title></polyline>\n", logmap(x0, xlo, xhi, ML, W - MR), logmap(y0, ylo, yhi, H - MB, MT),
		   logmap(ridge, xlo, xhi, ML, W - MR), logmap(peak, ylo, yhi, H - MB, MT),
		   (double)(W - MR), logmap(peak, ylo, yhi, H - MB, MT), bw, peak);
	buf_printf(b, "<text class=\"roof-label\" x=\"%d\" y=\"%.1f\">peak %.0f TFLOP/s</text>\n", W - MR + 6,
		   logmap(peak, ylo, yhi, H - MB, MT) + 4, peak);
	if (ref > 0)
		buf_printf(b, "<circle class=\"roof-eager\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"><title>PyTorch eager: %.3g TFLOP/s"
			   "</title></circle>\n", logmap(ai, xlo, xhi, ML, W - MR), logmap(ref, ylo, yhi, H - MB, MT), ref);
	buf_printf(b, "<circle class=\"roof-winner\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\"><title>the winner: %.3g TFLOP/s at "
		   "%.3g FLOP/byte, %.0f%% of its roof</title></circle>\n"
		   "<text class=\"roof-label\" x=\"%.1f\" y=\"%.1f\">winner %.3g TFLOP/s</text>\n",
		   logmap(ai, xlo, xhi, ML, W - MR), logmap(got, ylo, yhi, H - MB, MT), got, ai,
		   got / fmin(peak, ai * bw / 1e3) * 100, logmap(ai, xlo, xhi, ML, W - MR) + 9,
		   logmap(got, ylo, yhi, H - MB, MT) + 4, got);
	buf_printf(b, "</svg>\n");
}

/* ---- the page ----------------------------------------------------------------- */

static const char style[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222}"
	"h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse}"
	"td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}"
	".chart{display:block;background:#fcfcfc;border:1px solid #e4e4e4}"
	".chart text{font:12px system-ui,sans-serif;fill:#333}.grid{stroke:#eee}.axis{stroke:#999}"
	".best{fill:none;stroke:#1f6feb;stroke-width:2.5}.best-point{fill:#1f6feb}"
	".ref-eager{stroke:#d1242f;stroke-dasharray:6 4}.ref-compile{stroke:#8250df;stroke-dasharray:6 4}"
	".ref-floor{stroke:#1a7f37;stroke-dasharray:2 3}"
	".cand{stroke:#fff;stroke-width:.5}.cand.winner{stroke:#000;stroke-width:2}"
	".v-correct{fill:#1a7f37}.v-incorrect{fill:#d1242f}.v-rejected{fill:#bf3989}"
	".v-compile_error{fill:#9a6700}.v-load_error{fill:#bc4c00}.v-runtime_error{fill:#cf222e}"
	".v-timeout{fill:#6e7781}.v-not_run,.v-not_judged{fill:#afb8c1}"
	".edge{stroke:#888;stroke-width:1.5}.edge.recombined{stroke-dasharray:4 3}"
	".node rect{fill:#fff;stroke:#1f6feb}.node.winner rect{fill:#ddf4ff;stroke-width:2.5}"
	".bar-all{fill:#d0d7de}.bar-ok{fill:#1a7f37}.bar-eager{fill:#d1242f}"
	".roof{fill:none;stroke:#444;stroke-width:2}.roof-winner{fill:#1f6feb}.roof-eager{fill:#d1242f}"
	".note{color:#666}";

static void page_html(struct buf *b, const struct page *pg)
{
	const struct run_row *r = &pg->run;
	const struct cand_row *w = cand_by_id(pg, r->winner);
	int correct = 0;
	for (int i = 0; i < pg->n_cands; i++)
		correct += pg->cands[i].evaluated && pg->cands[i].verdict == VERDICT_CORRECT;
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<meta name=\"generator\" content=\"kbreed report\"><title>kbreed run %lld: ", (long long)r->id);
	esc(b, r->problem);
	buf_printf(b, "</title><style>%s</style></head><body>\n<h1>kbreed run %lld: ", style, (long long)r->id);
	esc(b, r->problem);
	buf_printf(b, "</h1>\n<table id=\"facts\">\n<tr><th>GPU</th><td>");
	esc(b, r->gpu);
	buf_printf(b, " (");
	esc(b, r->arch);
	buf_printf(b, ")</td></tr>\n<tr><th>search</th><td>");
	esc(b, r->proposer);
	buf_printf(b, ", %d rounds of %d ideas x %d realisations, %d seeds kept, tolerance ", r->rounds, r->ideas, r->impls, r->keep);
	esc(b, r->tolerance);
	buf_printf(b, "; %s</td></tr>\n<tr><th>candidates</th><td>%d, %d correct</td></tr>\n", run_state_name(r->status),
		   pg->n_cands, correct);
	buf_printf(b, "<tr><th>PyTorch</th><td>eager %.4g ms", r->eager_ms);
	if (r->compile_ms > 0)
		buf_printf(b, ", torch.compile %.4g ms", r->compile_ms);
	if (pg->floor_ms > 0)
		buf_printf(b, "; floor %.4g ms", pg->floor_ms);
	buf_printf(b, "</td></tr>\n<tr><th>winner</th><td>");
	if (w) {
		double ms = r->final_ms > 0 ? r->final_ms : w->median_ms;
		double eager = r->final_eager_ms > 0 ? r->final_eager_ms : r->eager_ms;
		buf_printf(b, "#%lld, round %d: <b>%.4g ms</b> = <b>%.0f%% of PyTorch eager</b> (%.4g ms, re-timed beside it)",
			   (long long)w->id, w->round, ms, eager > 0 ? eager / ms * 100 : 0, eager);
		if (pg->floor_ms > 0)
			buf_printf(b, ", %.0f%% of the floor", pg->floor_ms / ms * 100);
		buf_printf(b, "; <code>kbreed export %lld</code> takes it into PyTorch", (long long)r->id);
	} else {
		buf_printf(b, "none");
	}
	buf_printf(b, "</td></tr>\n</table>\n");
	buf_printf(b, "<h2>Trajectory</h2>\n<p class=\"note\">The best correct time so far after each round (log scale),"
		   " against PyTorch eager, torch.compile and the floor (the fewest bytes at the copy rate, or the FLOPs"
		   " at the peak).</p>\n");
	chart_trajectory(b, pg);
	buf_printf(b, "<h2>Every candidate</h2>\n<p class=\"note\">One point per candidate, by round; correct ones at their"
		   " time, the rest on the strip below. Hover for the idea and the knobs; the winner is ringed.</p>\n");
	chart_candidates(b, pg);
	buf_printf(b, "<h2>The winner's lineage</h2>\n<p class=\"note\">Each kernel the winner descends from, by round;"
		   " each edge is labelled with the idea that made the child (hover for all of it).</p>\n");
	chart_lineage(b, pg);
	buf_printf(b, "<h2>Ideas by category</h2>\n");
	chart_categories(b, pg);
	buf_printf(b, "<h2>The winner on the roofline</h2>\n");
	chart_roofline(b, pg);
	char date[32];
	time_t now = time(NULL);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	buf_printf(b, "<p class=\"note\">Written by <code>kbreed report %lld</code> on %s. Self-contained: no script, no"
		   " network.</p>\n</body></html>\n", (long long)r->id, date);
}

/* ---- the data ------------------------------------------------------------------ */

static int page_load(struct page *pg, const char *db_path, int64_t run)
{
	int rc = -1;
	if (!util_file_exists(db_path))
		return error("no database at %s (--db, $KBREED_DB)", db_path);
	struct store *s = store_open(db_path);
	if (!s)
		return -1;
	if (store_run_get(s, run, &pg->run) || store_candidates_of_run(s, run, &pg->cands, &pg->n_cands) ||
	    store_ideas_of_run(s, run, &pg->ideas, &pg->n_ideas))
		goto out;
	for (int i = 1; i < pg->n_cands; i++)
		if (pg->cands[i].id <= pg->cands[i - 1].id)
			BUG("the store's candidates are not in id order");
	for (int i = 1; i < pg->n_ideas; i++)
		if (pg->ideas[i].id <= pg->ideas[i - 1].id)
			BUG("the store's ideas are not in id order");
	/* The sources are not drawn: memory stays small for long runs. */
	for (int i = 0; i < pg->n_cands; i++) {
		free(pg->cands[i].source);
		pg->cands[i].source = NULL;
		if (timed(&pg->cands[i]) && pg->cands[i].pct_floor > 0 && !pg->floor_ms)
			pg->floor_ms = pg->cands[i].median_ms * pg->cands[i].pct_floor / 100;
	}
	rc = 0;
out:
	store_close(s);
	if (rc)
		return -1;
	/* The roofline's inputs; the page is written without them. */
	if (util_file_exists(pg->run.problem_path))
		pg->have_problem = bridge_describe(pg->run.problem_path, &pg->p) == 0;
	if (!pg->have_problem)
		warn("report: %s cannot be described; the roofline is left out", pg->run.problem_path);
	pg->have_ceil = bridge_ceilings_cached(pg->run.gpu, &pg->ceil) == 0;
	return 0;
}

int report_html_write(const char *db_path, int64_t run, const char *out_path, char **written)
{
	struct page pg;
	struct buf b;
	memset(&pg, 0, sizeof pg);
	problem_init(&pg.p);
	buf_init(&b, PAGE_CAP);
	*written = NULL;
	int rc = page_load(&pg, db_path, run);
	if (rc)
		goto out;
	char *path = out_path ? xstrdup(out_path)
			      : xasprintf("kbreed-out/%s-run%lld/report.html", pg.run.problem, (long long)run);
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	page_html(&b, &pg);
	if (b.len < 8 || strcmp(buf_str(&b) + b.len - 8, "</html>\n"))
		rc = error("report: the page of run %lld outgrew %u MiB", (long long)run, PAGE_CAP >> 20);
	else if ((slash && util_mkdirs(dir)) || util_write_file(path, buf_str(&b), b.len))
		rc = -1;
	free(dir);
	if (rc)
		free(path);
	else
		*written = path;
out:
	buf_release(&b);
	page_release(&pg);
	return rc;
}
