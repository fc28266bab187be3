/* SPDX-License-Identifier: MIT */
/* The report as one self-contained SVG: a time x address heatmap of the
 * writes (one band per mapping, in address order, gaps between mappings
 * taking no space) and the dirty rate over time below it, on the same time
 * axis. No scripts, no external fonts or images: generic font families only.
 * Numbers go through ps_out_fixed (no locale). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/util.h"
#include "pagescan/render/report_fmt.h"

#define W 1000.0          /* canvas width */
#define PL 250.0          /* plot left: labels go before it */
#define PW 700.0          /* plot width */
#define TOP 64.0          /* heatmap top */
#define HEAT_H 420.0      /* heatmap height to share among the bands */
#define BAND_MIN 16.0     /* the smallest band still holds a label */
#define CELL_MIN 2.0      /* smallest cell height */
#define MAX_COLS 350
#define MAX_BANDS 40
#define RATE_H 140.0
#define LABEL_CHARS 36

/* Share of a cell's page-intervals written: upper bounds of the levels. */
static const double level_max[] = { 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0 };
static const char *const level_colour[] = { "#fff3b0", "#fed976", "#feb24c", "#fd8d3c",
                                            "#fc4e2a", "#e31a1c", "#bd0026", "#800026" };
static const char *const level_label[] = { "1%", "3%", "10%", "20%", "35%", "50%", "75%", "100%" };
#define NLEVELS 8

struct band {
	const struct ps_report_mapping *m;
	double y, h;           /* pixels */
	size_t cells;          /* cell rows */
	size_t cell0;          /* first row in the grid */
};

static void num(struct ps_out *o, double v)
{
	ps_out_fixed(o, v, 2);
}

/* XML text: escapes, control characters (not allowed in XML 1.0) as '?'.
 * The recording's strings are valid UTF-8 (the reader made sure). */
static void xml_text(struct ps_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '<': ps_out_str(o, "&lt;"); break;
		case '>': ps_out_str(o, "&gt;"); break;
		case '&': ps_out_str(o, "&amp;"); break;
		case '"': ps_out_str(o, "&quot;"); break;
		case '\'': ps_out_str(o, "&apos;"); break;
		default:
			ps_out_chr(o, c < 0x20 || c == 0x7f ? '?' : (char)c);
		}
	}
}

/* A label of at most LABEL_CHARS characters: long paths keep their tail. */
static void label(struct ps_out *o, const char *s)
{
	size_t chars = 0, len = strlen(s);
	const char *p = s;

	for (size_t i = 0; i < len; i++)
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	if (chars <= LABEL_CHARS) {
		xml_text(o, s, len);
		return;
	}
	/* skip characters from the front until LABEL_CHARS - 1 remain */
	size_t drop = chars - (LABEL_CHARS - 1);
	while (*p && drop) {
		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
		drop--;
	}
	ps_out_str(o, "\xe2\x80\xa6"); /* … */
	xml_text(o, p, strlen(p));
}

static void text_open(struct ps_out *o, double x, double y, const char *attrs)
{
	ps_out_str(o, "<text x=\"");
	num(o, x);
	ps_out_str(o, "\" y=\"");
	num(o, y);
	ps_out_str(o, "\"");
	if (attrs) {
		ps_out_chr(o, ' ');
		ps_out_str(o, attrs);
	}
	ps_out_chr(o, '>');
}

static void line(struct ps_out *o, double x1, double y1, double x2, double y2, const char *attrs)
{
	ps_out_str(o, "<line x1=\"");
	num(o, x1);
	ps_out_str(o, "\" y1=\"");
	num(o, y1);
	ps_out_str(o, "\" x2=\"");
	num(o, x2);
	ps_out_str(o, "\" y2=\"");
	num(o, y2);
	ps_out_str(o, "\" ");
	ps_out_str(o, attrs);
	ps_out_str(o, "/>\n");
}

static void rect(struct ps_out *o, double x, double y, double w, double h, const char *attrs)
{
	ps_out_str(o, "<rect x=\"");
	num(o, x);
	ps_out_str(o, "\" y=\"");
	num(o, y);
	ps_out_str(o, "\" width=\"");
	num(o, w);
	ps_out_str(o, "\" height=\"");
	num(o, h);
	ps_out_str(o, "\" ");
	ps_out_str(o, attrs);
	ps_out_str(o, "/>\n");
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving at most max ticks. */
static double nice_step(double span, int max)
{
	double raw = span / max, p = pow(10, floor(log10(raw)));

	if (!(raw > 0) || !isfinite(raw))
		return 1;
	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

static int cmp_band_pick(const void *a, const void *b)
{
	const struct band *x = a, *y = b;
	if (x->m->written_pages != y->m->written_pages)
		return x->m->written_pages < y->m->written_pages ? 1 : -1;
	if (x->m->tracked_pages != y->m->tracked_pages)
		return x->m->tracked_pages < y->m->tracked_pages ? 1 : -1;
	return x->m->start < y->m->start ? -1 : x->m->start > y->m->start;
}

static int cmp_band_addr(const void *a, const void *b)
{
	const struct band *x = a, *y = b;
	return x->m->start < y->m->start ? -1 : x->m->start > y->m->start;
}

/* Bands: the mappings that were tracked, the most written first when there
 * are too many; shown in address order, heights by size with a minimum. */
static size_t make_bands(const struct ps_report *r, struct band *b, size_t *hidden)
{
	size_t n = 0;
	double total = 0;

	for (size_t i = 0; i < r->nmap; i++)
		if (r->map[i].tracked_pages)
			b[n++] = (struct band){ .m = &r->map[i] };
	*hidden = 0;
	if (n > MAX_BANDS) {
		qsort(b, n, sizeof(*b), cmp_band_pick);
		*hidden = n - MAX_BANDS;
		n = MAX_BANDS;
	}
	qsort(b, n, sizeof(*b), cmp_band_addr);
	for (size_t i = 0; i < n; i++)
		total += (double)b[i].m->tracked_pages;
	double y = TOP, cell0 = 0;
	for (size_t i = 0; i < n; i++) {
		double h = floor(HEAT_H * (double)b[i].m->tracked_pages / total);
		if (h < BAND_MIN)
			h = BAND_MIN;
		size_t cells = (size_t)(h / CELL_MIN);
		if (cells > b[i].m->tracked_pages)
			cells = (size_t)b[i].m->tracked_pages;
		if (cells == 0)
			cells = 1;
		b[i].y = y;
		b[i].h = h;
		b[i].cells = cells;
		b[i].cell0 = (size_t)cell0;
		y += h;
		cell0 += (double)cells;
	}
	return n;
}

/* The band holding page p (bands sorted by start), or NULL; next_start gets
 * the start of the next band above p when p is in none. */
static const struct band *band_at(const struct band *b, size_t n, uint64_t p, uint64_t *next_start)
{
	size_t lo = 0, hi = n;

	while (lo < hi) { /* first band starting after p */
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].m->start <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	*next_start = lo < n ? b[lo].m->start : UINT64_MAX;
	if (lo && p < b[lo - 1].m->end)
		return &b[lo - 1];
	return NULL;
}

struct grid {
	size_t cols, rows;
	double *v;        /* [col * rows + row]: pages written (summed over the column's intervals) */
	double *col_iv;   /* intervals per column */
	double *col_pages, *col_elapsed, *col_maxrate;
};

static void grid_free(struct grid *g)
{
	free(g->v);
	free(g->col_iv);
	free(g->col_pages);
	free(g->col_elapsed);
	free(g->col_maxrate);
}

static int fill_grid(const struct ps_recording *rec, const struct ps_report *r, const struct band *b, size_t nb,
                     struct grid *g, double t0, double t1)
{
	size_t rows = nb ? b[nb - 1].cell0 + b[nb - 1].cells : 0;

	g->cols = r->intervals < MAX_COLS ? r->intervals : MAX_COLS;
	g->rows = rows;
	g->v = calloc(g->cols * (rows ? rows : 1), sizeof(*g->v));
	g->col_iv = calloc(g->cols, sizeof(double));
	g->col_pages = calloc(g->cols, sizeof(double));
	g->col_elapsed = calloc(g->cols, sizeof(double));
	g->col_maxrate = calloc(g->cols, sizeof(double));
	if (!g->v || !g->col_iv || !g->col_pages || !g->col_elapsed || !g->col_maxrate)
		return -1;
	for (size_t t = 0; t < r->intervals; t++) {
		const struct ps_rec_interval *iv = &rec->iv[t];
		double mid = (r->iv_start[t] + r->iv_end[t]) / 2;
		size_t c = t1 > t0 ? (size_t)((mid - t0) / (t1 - t0) * (double)g->cols) : 0;
		if (c >= g->cols)
			c = g->cols - 1;
		g->col_iv[c] += 1;
		g->col_pages[c] += (double)iv->pages;
		g->col_elapsed[c] += iv->elapsed_s;
		if (iv->elapsed_s > 0 && (double)iv->pages / iv->elapsed_s > g->col_maxrate[c])
			g->col_maxrate[c] = (double)iv->pages / iv->elapsed_s;
		for (size_t q = iv->run0; q < iv->run0 + iv->nruns; q++) {
			uint64_t s = rec->runs[q].start, e = rec->runs[q].end;
			while (s < e) {
				uint64_t next;
				const struct band *bd = band_at(b, nb, s, &next);
				if (!bd) {
					s = next; /* a hidden mapping, or outside every one */
					continue;
				}
				uint64_t ce = e < bd->m->end ? e : bd->m->end;
				double pages = (double)bd->m->tracked_pages, cells = (double)bd->cells;
				/* cell k covers pages [k*pages/cells, (k+1)*pages/cells) of the band */
				while (s < ce) {
					size_t k = (size_t)((double)(s - bd->m->start) * cells / pages);
					if (k >= bd->cells)
						k = bd->cells - 1;
					uint64_t kend = bd->m->start + (uint64_t)ceil((double)(k + 1) * pages / cells);
					if (kend <= s)
						kend = s + 1;
					uint64_t pe = ce < kend ? ce : kend;
					g->v[c * rows + bd->cell0 + k] += (double)(pe - s);
					s = pe;
				}
			}
		}
	}
	return 0;
}

static int level_of(double share)
{
	if (share <= 0)
		return -1;
	for (int l = 0; l < NLEVELS; l++)
		if (share <= level_max[l])
			return l;
	return NLEVELS - 1;
}

static void heat_cells(struct ps_out *o, const struct grid *g, const struct band *b, size_t nb)
{
	double cw = PW / (double)g->cols;

	for (int l = 0; l < NLEVELS; l++) {
		bool open = false;
		for (size_t i = 0; i < nb; i++) {
			double ch = b[i].h / (double)b[i].cells;
			double pages = (double)b[i].m->tracked_pages, cells = (double)b[i].cells;
			for (size_t k = 0; k < b[i].cells; k++) {
				/* pages in this cell, as fill_grid splits them */
				double lo = ceil((double)k * pages / cells), hi = ceil((double)(k + 1) * pages / cells);
				double cp = hi - lo > 0 ? hi - lo : 1;
				size_t c = 0;
				while (c < g->cols) {
					size_t row = b[i].cell0 + k;
					double share = g->col_iv[c] > 0 ? g->v[c * g->rows + row] / (cp * g->col_iv[c]) : 0;
					if (level_of(share) != l) {
						c++;
						continue;
					}
					size_t c2 = c + 1;
					while (c2 < g->cols) {
						double s2 = g->col_iv[c2] > 0 ? g->v[c2 * g->rows + row] / (cp * g->col_iv[c2]) : 0;
						if (level_of(s2) != l)
							break;
						c2++;
					}
					if (!open) {
						ps_out_str(o, "<path fill=\"");
						ps_out_str(o, level_colour[l]);
						ps_out_str(o, "\" d=\"");
						open = true;
					}
					ps_out_chr(o, 'M');
					num(o, PL + (double)c * cw);
					ps_out_chr(o, ' ');
					num(o, b[i].y + (double)k * ch);
					ps_out_chr(o, 'h');
					num(o, (double)(c2 - c) * cw);
					ps_out_chr(o, 'v');
					num(o, ch);
					ps_out_chr(o, 'h');
					num(o, -(double)(c2 - c) * cw);
					ps_out_str(o, "z");
					c = c2;
				}
			}
		}
		if (open)
			ps_out_str(o, "\"/>\n");
	}
}

static void time_axis(struct ps_out *o, double y, double t0, double t1, bool labels)
{
	double span = t1 - t0, step = nice_step(span, 10);

	line(o, PL, y, PL + PW, y, "stroke=\"#444\"");
	/* counted, not t += step: huge times would absorb the step */
	double k0 = ceil(t0 / step);
	for (int k = 0; k <= 20; k++) {
		double t = (k0 + k) * step;
		if (t > t1 + step * 1e-9)
			break;
		double x = PL + (span > 0 ? (t - t0) / span * PW : 0);
		line(o, x, y, x, y + 4, "stroke=\"#444\"");
		if (!labels)
			continue;
		text_open(o, x, y + 16, "text-anchor=\"middle\"");
		ps_out_fixed(o, t, step < 0.01 ? 3 : step < 0.1 ? 2 : step < 1 ? 1 : 0);
		ps_out_str(o, " s</text>\n");
	}
}

void ps_report_svg(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r)
{
	struct band *b = calloc(r->nmap ? r->nmap : 1, sizeof(*b));
	struct grid g = { 0 };
	size_t nb, hidden = 0;
	double t0 = r->iv_start[0], t1 = r->iv_end[r->intervals - 1];

	if (!b) {
		o->error = o->error ? o->error : ENOMEM;
		return;
	}
	nb = make_bands(r, b, &hidden);
	if (fill_grid(rec, r, b, nb, &g, t0, t1) < 0) {
		grid_free(&g);
		free(b);
		o->error = o->error ? o->error : ENOMEM;
		return;
	}
	double heat_end = nb ? b[nb - 1].y + b[nb - 1].h : TOP + 40;
	double rate_top = heat_end + 56, rate_end = rate_top + RATE_H;
	double legend_y = rate_end + 56, height = legend_y + 44;

	ps_out_str(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	ps_out_str(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
	num(o, W);
	ps_out_str(o, "\" height=\"");
	num(o, height);
	ps_out_str(o, "\" viewBox=\"0 0 ");
	num(o, W);
	ps_out_chr(o, ' ');
	num(o, height);
	ps_out_str(o, "\" font-family=\"sans-serif\" font-size=\"11\">\n");
	ps_out_str(o, rec->workload ? "<title>pagescan report: workload of process " : "<title>pagescan report: process ");
	ps_out_i64(o, rec->pid);
	ps_out_str(o, " (");
	xml_text(o, rec->command, strlen(rec->command));
	ps_out_str(o, ")</title>\n");
	rect(o, 0, 0, W, height, "fill=\"#ffffff\"");

	/* Title and subtitle. */
	text_open(o, 12, 22, "font-size=\"15\" font-weight=\"bold\"");
	if (rec->workload) /* bands: each process's mappings (named "PID mapping"), then the shared files */
		ps_out_printf(o, "pagescan: pages written by a workload of %zu process%s (%s ", rec->nprocs,
		              rec->nprocs == 1 ? "" : "es", rec->cgroup ? "cgroup" : "first");
	else
		ps_out_str(o, "pagescan: pages written by process ");
	if (rec->cgroup) {
		xml_text(o, rec->cgroup, strlen(rec->cgroup));
	} else {
		ps_out_i64(o, rec->pid);
		ps_out_str(o, " (");
		xml_text(o, rec->command, strlen(rec->command));
		ps_out_chr(o, ')');
	}
	ps_out_str(o, rec->workload ? ")</text>\n" : "</text>\n");
	text_open(o, 12, 40, "fill=\"#333\"");
	ps_out_u64(o, r->intervals);
	ps_out_str(o, " intervals of ");
	ps_out_fixed(o, rec->interval_s, 3);
	ps_out_str(o, " s, ");
	ps_out_fixed(o, r->duration_s, 1);
	ps_out_str(o, " s; ");
	ps_out_u64(o, r->unique_pages);
	ps_out_str(o, " distinct pages written (");
	ps_out_human(o, r->unique_pages * PS_PAGE_SIZE);
	ps_out_str(o, ") of ");
	ps_out_u64(o, r->tracked_pages_max);
	ps_out_str(o, " tracked (");
	ps_out_human(o, r->tracked_pages_max * PS_PAGE_SIZE);
	ps_out_str(o, "); mean dirty rate ");
	ps_out_human(o, ps_report_u64(r->rate.mean * PS_PAGE_SIZE));
	ps_out_str(o, "/s</text>\n");
	text_open(o, PL, TOP - 8, "fill=\"#333\"");
	ps_out_str(o, "writes over time; one band per mapping, addresses increasing downwards, gaps between "
	              "mappings not drawn</text>\n");

	/* Heatmap: band backgrounds, cells, separators and labels. */
	ps_out_str(o, "<g shape-rendering=\"crispEdges\">\n");
	for (size_t i = 0; i < nb; i++)
		rect(o, PL, b[i].y, PW, b[i].h, i % 2 ? "fill=\"#ececec\"" : "fill=\"#f5f5f5\"");
	heat_cells(o, &g, b, nb);
	for (size_t i = 1; i < nb; i++)
		line(o, PL - 6, b[i].y, PL + PW, b[i].y, "stroke=\"#999\" stroke-width=\"0.5\"");
	ps_out_str(o, "</g>\n");
	ps_out_str(o, "<g fill=\"#222\">\n");
	for (size_t i = 0; i < nb; i++) {
		const struct ps_report_mapping *m = b[i].m;
		bool two = b[i].h >= 28;
		text_open(o, PL - 8, b[i].y + (two ? 12 : b[i].h / 2 + 4), "text-anchor=\"end\"");
		label(o, m->mapping);
		ps_out_str(o, "</text>\n");
		if (two) {
			text_open(o, PL - 8, b[i].y + 25, "text-anchor=\"end\" font-size=\"9\" fill=\"#555\"");
			/* A workload's key (recording.h): the process's address, or the shared file's offset. */
			if (m->start & PS_REC_KEY_SHARED)
				ps_out_str(o, "offset ");
			ps_out_hex(o, (m->start & (m->start & PS_REC_KEY_SHARED ? ((uint64_t)1 << 40) - 1
			                                                       : ((uint64_t)1 << PS_REC_KEY_PROC_SHIFT) - 1)) *
			                      PS_PAGE_SIZE);
			ps_out_str(o, "  ");
			ps_out_u64(o, m->written_pages);
			ps_out_chr(o, '/');
			ps_out_u64(o, m->tracked_pages);
			ps_out_str(o, " pages written</text>\n");
		}
	}
	if (!nb) {
		text_open(o, PL + PW / 2, TOP + 24, "text-anchor=\"middle\"");
		ps_out_str(o, "no tracked mappings in the recording</text>\n");
	}
	ps_out_str(o, "</g>\n");
	rect(o, PL, TOP, PW, heat_end - TOP, "fill=\"none\" stroke=\"#444\"");
	time_axis(o, heat_end, t0, t1, true);
	text_open(o, PL + PW, heat_end + 32, "text-anchor=\"end\" fill=\"#555\"");
	ps_out_str(o, "time since the watch started");
	if (g.cols < r->intervals) {
		ps_out_str(o, "; a column is ");
		ps_out_fixed(o, (double)r->intervals / (double)g.cols, 1);
		ps_out_str(o, " intervals");
	}
	if (hidden) {
		ps_out_str(o, "; ");
		ps_out_u64(o, hidden);
		ps_out_str(o, " less written mappings not shown");
	}
	ps_out_str(o, "</text>\n");

	/* Dirty rate: mean per column (line) and the largest interval (light). */
	double maxrate = 0;
	for (size_t c = 0; c < g.cols; c++)
		if (g.col_maxrate[c] > maxrate)
			maxrate = g.col_maxrate[c];
	/* y steps of 1, 2 or 5 KiB/MiB/GiB so that the labels are round */
	double maxb = maxrate * PS_PAGE_SIZE > 0 ? maxrate * PS_PAGE_SIZE : (double)PS_PAGE_SIZE, unit = 1;
	while (unit < 0x1p60 && maxb >= unit * 1024 * 2)
		unit *= 1024;
	double ystep = nice_step(maxb / unit, 4) * unit;
	double ytop = ceil(maxb / ystep) * ystep;
	text_open(o, PL, rate_top - 8, "fill=\"#333\"");
	ps_out_str(o, "dirty rate (bytes/s): mean per column");
	if (g.cols < r->intervals)
		ps_out_str(o, ", light: the fastest interval in it");
	ps_out_str(o, "</text>\n");
	rect(o, PL, rate_top, PW, RATE_H, "fill=\"#fafafa\" stroke=\"#444\"");
	for (int k = 0; k <= 20 && k * ystep <= ytop + ystep * 1e-9; k++) {
		double v = k * ystep;
		double y = rate_end - v / ytop * RATE_H;
		line(o, PL, y, PL + PW, y, "stroke=\"#ddd\"");
		text_open(o, PL - 6, y + 4, "text-anchor=\"end\"");
		ps_out_human(o, ps_report_u64(v));
		ps_out_str(o, "/s</text>\n");
	}
	double cw = PW / (double)(g.cols ? g.cols : 1);
	for (int pass = g.cols < r->intervals ? 0 : 1; pass < 2; pass++) {
		ps_out_str(o, pass ? "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\""
		                   : "<polyline fill=\"none\" stroke=\"#f0a8a0\" stroke-width=\"1\" points=\"");
		bool first = true;
		for (size_t c = 0; c < g.cols; c++) {
			if (g.col_iv[c] == 0)
				continue;
			double rate = pass ? (g.col_elapsed[c] > 0 ? g.col_pages[c] / g.col_elapsed[c] : 0) : g.col_maxrate[c];
			double y = rate_end - rate * PS_PAGE_SIZE / ytop * RATE_H;
			if (!first)
				ps_out_chr(o, ' ');
			first = false;
			num(o, PL + (double)c * cw);
			ps_out_chr(o, ',');
			num(o, y);
			ps_out_chr(o, ' ');
			num(o, PL + (double)(c + 1) * cw);
			ps_out_chr(o, ',');
			num(o, y);
		}
		ps_out_str(o, "\"/>\n");
	}
	time_axis(o, rate_end, t0, t1, true);

	/* Legend. */
	text_open(o, PL, legend_y - 14, "fill=\"#333\"");
	ps_out_str(o, "cell colour: share of the cell's pages written, per interval</text>\n");
	for (int l = 0; l < NLEVELS; l++) {
		double x = PL + (double)l * 66;
		char attrs[64];
		snprintf(attrs, sizeof(attrs), "fill=\"%s\" stroke=\"#888\" stroke-width=\"0.5\"", level_colour[l]);
		rect(o, x, legend_y - 8, 20, 14, attrs);
		text_open(o, x + 24, legend_y + 4, NULL);
		ps_out_str(o, "\xe2\x89\xa4 ");
		ps_out_str(o, level_label[l]);
		ps_out_str(o, "</text>\n");
	}
	rect(o, PL + NLEVELS * 66, legend_y - 8, 20, 14, "fill=\"#f5f5f5\" stroke=\"#888\" stroke-width=\"0.5\"");
	text_open(o, PL + NLEVELS * 66 + 24, legend_y + 4, NULL);
	ps_out_str(o, "none</text>\n");
	text_open(o, 12, legend_y + 30, "fill=\"#555\" font-size=\"10\"");
	ps_out_str(o, "pagescan ");
	ps_out_str(o, PAGESCAN_VERSION);
	ps_out_str(o, " report of a recording by pagescan ");
	xml_text(o, rec->pagescan, strlen(rec->pagescan));
	ps_out_str(o, "; exact page sets (userfaultfd write-protect + PAGEMAP_SCAN), ");
	ps_out_u64(o, PS_PAGE_SIZE / 1024);
	ps_out_str(o, " KiB pages</text>\n");
	ps_out_str(o, "</svg>\n");
	grid_free(&g);
	free(b);
}
