/* SPDX-License-Identifier: MIT */
/* The heatmap's character frame (pagescan/render/heat_frame.h): the model
 * (pagescan/model/heat.h) drawn into cells of text and styles, the end
 * summary and the text sink. Nothing here draws on a terminal:
 * src/cli/tui.c paints the frame with ncurses, the text sink prints it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/render/heat_frame.h"
#include "pagescan/model/util.h"
#include "pagescan/render/sink.h"
#include "sample_fmt.h"
#include "softdirty_fmt.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- colours --------------------------------------------------------------------------- */

enum ps_heat_colors ps_heat_colors_pick(int ncolors, const char *no_color)
{
	/* The NO_COLOR convention: present and not empty disables colour. */
	if (no_color && *no_color)
		return PS_HEAT_MONO;
	if (ncolors >= 256)
		return PS_HEAT_256;
	if (ncolors >= 8)
		return PS_HEAT_8;
	return PS_HEAT_MONO;
}

enum { BLACK, RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN, WHITE };

void ps_heat_attr_of(enum ps_heat_style s, enum ps_heat_colors c, struct ps_heat_attr *a)
{
	/* Background ramps from cold blue to hot red; the glyph on top stays
	 * readable (dark on light backgrounds, light on dark ones). */
	static const short bg256[PS_HEAT_LEVELS] = { -1, 17, 19, 25, 30, 71, 178, 208, 196 };
	static const short fg256[PS_HEAT_LEVELS] = { 242, 250, 255, 255, 16, 16, 16, 16, 231 };
	static const short bg8[PS_HEAT_LEVELS] = { -1, BLUE, BLUE, CYAN, CYAN, GREEN, YELLOW, RED, RED };
	static const short fg8[PS_HEAT_LEVELS] = { -1, WHITE, WHITE, BLACK, BLACK, BLACK, BLACK, WHITE, WHITE };

	*a = (struct ps_heat_attr){ .fg = -1, .bg = -1 };
	switch (s) {
	case PS_HS_TEXT:
	case PS_HS_LABEL:
		return;
	case PS_HS_TITLE:
		a->bold = true;
		return;
	case PS_HS_DIM:
		a->dim = true;
		return;
	case PS_HS_FOCUS:
		a->reverse = true;
		a->bold = true;
		return;
	case PS_HS_ALERT:
		a->bold = true;
		if (c == PS_HEAT_MONO)
			a->reverse = true;
		else
			a->fg = c == PS_HEAT_256 ? 196 : RED;
		return;
	case PS_HS_HELP:
		if (c == PS_HEAT_MONO) {
			a->reverse = true;
		} else {
			a->fg = c == PS_HEAT_256 ? 231 : WHITE;
			a->bg = c == PS_HEAT_256 ? 24 : BLUE;
		}
		return;
	default:
		break;
	}
	int l = (int)s - PS_HS_HEAT0;
	if (l < 0 || l >= PS_HEAT_LEVELS)
		return;
	switch (c) {
	case PS_HEAT_256:
		a->fg = fg256[l];
		a->bg = bg256[l];
		a->bold = l == PS_HEAT_LEVELS - 1;
		break;
	case PS_HEAT_8:
		a->fg = fg8[l];
		a->bg = bg8[l];
		a->dim = l == 0;
		a->bold = l == 2 || l == 4 || l == PS_HEAT_LEVELS - 1;
		break;
	case PS_HEAT_MONO:
		/* The glyph carries the level; attributes only reinforce it. */
		a->dim = l == 0;
		a->bold = l >= 5;
		a->reverse = l == PS_HEAT_LEVELS - 1;
		break;
	}
}

/* ---- frame geometry ------------------------------------------------------------------ */

struct geom {
	int aw, nw;      /* address and name widths */
	int lw;          /* label: marker, address, space, name, space */
	int wc;          /* cells per row */
	int gy, G;       /* first grid line, grid lines */
	int T;           /* table rows */
};

static int addr_width(const struct ps_heat *h)
{
	int w = 14; /* "0x7fffffffffff" */
	if (h->nseg) {
		char b[24];
		uint64_t hi = 0; /* a workload's keys are not in address order */
		for (size_t i = 0; i < h->nseg; i++)
			hi = MAX(hi, PS_HEAT_ADDR(h->seg[i].end));
		int n = snprintf(b, sizeof(b), "0x%" PRIx64, hi);
		w = MAX(w, n);
	}
	return w;
}

static bool geom_of(const struct ps_heat *h, int W, int H, bool interactive, struct geom *g)
{
	if (W < PS_HEAT_MIN_W || H < PS_HEAT_MIN_H)
		return false;
	g->aw = addr_width(h);
	g->nw = W >= 120 ? 24 : W >= 90 ? 16 : 10;
	g->lw = 1 + g->aw + 1 + g->nw + 1;
	g->wc = W - g->lw - 2;
	g->T = H >= 26 ? 5 : H >= 20 ? 3 : 1;
	g->gy = 3;
	g->G = H - g->gy - 2 - g->T - (interactive ? 1 : 0);
	return g->wc >= 8 && g->G >= 2;
}

/* ---- the frame ----------------------------------------------------------------------- */

int ps_heat_frame_size(struct ps_heat_frame *f, int w, int h)
{
	w = w < 1 ? 1 : w > PS_HEAT_MAX_DIM ? PS_HEAT_MAX_DIM : w;
	h = h < 1 ? 1 : h > PS_HEAT_MAX_DIM ? PS_HEAT_MAX_DIM : h;
	if (w != f->w || h != f->h) {
		size_t n = (size_t)w * (size_t)h;
		char *ch = malloc(n);
		unsigned char *st = malloc(n);
		if (!ch || !st) {
			free(ch);
			free(st);
			return -ENOMEM;
		}
		free(f->ch);
		free(f->st);
		f->ch = ch;
		f->st = st;
		f->w = w;
		f->h = h;
	}
	memset(f->ch, ' ', (size_t)f->w * (size_t)f->h);
	memset(f->st, PS_HS_TEXT, (size_t)f->w * (size_t)f->h);
	return 0;
}

void ps_heat_frame_free(struct ps_heat_frame *f)
{
	free(f->ch);
	free(f->st);
	f->ch = NULL;
	f->st = NULL;
	f->w = f->h = 0;
}

/* Write s at (x, y), clipped to the frame; non-printable bytes become '?'.
 * Returns the column after it. */
static int put(struct ps_heat_frame *f, int x, int y, enum ps_heat_style st, const char *s)
{
	if (y < 0 || y >= f->h)
		return x;
	for (; *s; s++, x++) {
		if (x < 0 || x >= f->w)
			continue;
		unsigned char c = (unsigned char)*s;
		f->ch[y * f->w + x] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		f->st[y * f->w + x] = (unsigned char)st;
	}
	return x;
}

static int putc_(struct ps_heat_frame *f, int x, int y, enum ps_heat_style st, char c)
{
	char s[2] = { c, 0 };
	return put(f, x, y, st, s);
}

static __attribute__((format(printf, 5, 6))) int putf(struct ps_heat_frame *f, int x, int y,
                                                      enum ps_heat_style st, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
	va_end(ap);
	return put(f, x, y, st, buf);
}

const char *ps_heat_frame_line(const struct ps_heat_frame *f, int y, char *buf)
{
	int n = f->w;
	if (y < 0 || y >= f->h) {
		buf[0] = 0;
		return buf;
	}
	memcpy(buf, f->ch + y * f->w, (size_t)f->w);
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = 0;
	return buf;
}

void ps_heat_frame_text(const struct ps_heat_frame *f, struct ps_out *o)
{
	for (int y = 0; y < f->h; y++) {
		int n = f->w;
		const char *l = f->ch + y * f->w;
		while (n > 0 && l[n - 1] == ' ')
			n--;
		ps_out_mem(o, l, (size_t)n);
		ps_out_chr(o, '\n');
	}
}

/* ---- formatting helpers ------------------------------------------------------------ */

/* "1s", "250ms", "1.5s", "2m" */
static void fmt_interval(uint64_t ns, char *b, size_t n)
{
	if (ns % 60000000000ull == 0)
		snprintf(b, n, "%" PRIu64 "m", (uint64_t)(ns / 60000000000ull));
	else if (ns % 1000000000ull == 0)
		snprintf(b, n, "%" PRIu64 "s", (uint64_t)(ns / 1000000000ull));
	else if (ns % 1000000ull == 0 && ns < 1000000000ull)
		snprintf(b, n, "%" PRIu64 "ms", (uint64_t)(ns / 1000000ull));
	else
		snprintf(b, n, "%.3gs", (double)ns / 1e9);
}

/* "950", "12.3k", "4.56M" */
static void fmt_count(double v, char *b, size_t n)
{
	if (v < 9999.5)
		snprintf(b, n, "%.0f", v);
	else if (v < 999950)
		snprintf(b, n, "%.1fk", v / 1e3);
	else if (v < 999950000)
		snprintf(b, n, "%.2fM", v / 1e6);
	else
		snprintf(b, n, "%.2fG", v / 1e9);
}

static void fmt_us(uint64_t us, char *b, size_t n)
{
	if (us < 1000)
		snprintf(b, n, "%" PRIu64 "us", us);
	else if (us < 1000000)
		snprintf(b, n, "%.1fms", (double)us / 1e3);
	else
		snprintf(b, n, "%.2fs", (double)us / 1e6);
}

static const char *pages_h(uint64_t pages, char *b, size_t n)
{
	return ps_human_bytes(pages * PS_PAGE_SIZE, b, n);
}

/* A mapping's display name: the file's base name, printable, at most w
 * columns ('~' marks a cut). */
static void name_of(const char *label, int w, char *b, size_t n)
{
	const char *s = label;
	if (s[0] == '/') {
		const char *slash = strrchr(s, '/');
		if (slash && slash[1])
			s = slash + 1;
	}
	size_t len = strlen(s);
	if (w < 1 || (size_t)w >= n)
		w = (int)n - 1;
	if (len <= (size_t)w) {
		snprintf(b, n, "%s", s);
	} else {
		memcpy(b, s, (size_t)w - 1);
		b[w - 1] = '~';
		b[w] = 0;
	}
}

/* ---- rendering ----------------------------------------------------------------------- */

/* The first of n candidate texts that fits in the w - x columns left (the
 * last one, cut, when none does). */
static int put_fit(struct ps_heat_frame *f, int x, int y, enum ps_heat_style st, const char *const *cand, int n)
{
	for (int i = 0; i < n - 1; i++)
		if ((int)strlen(cand[i]) <= f->w - x)
			return put(f, x, y, st, cand[i]);
	return put(f, x, y, st, cand[n - 1]);
}

static void render_header(const struct ps_heat *h, const struct ps_heat_view *v, struct ps_heat_frame *f)
{
	char iv[80], a[32], b[32], c[32], d[32], sb[64], t[3][384], to[5][560];
	const char *state = NULL;
	enum ps_heat_style sst = PS_HS_ALERT;

	if (v->paused) {
		snprintf(sb, sizeof(sb), "PAUSED (live #%" PRIu64 ")", v->live_seq);
		state = sb;
	} else if (h->ended) {
		snprintf(sb, sizeof(sb), "ended: %s", h->end_reason);
		state = sb;
	} else if (!h->seq) {
		state = "waiting for the first interval";
		sst = PS_HS_DIM;
	}
	int room = f->w - (state ? (int)strlen(state) + 2 : 0);

	fmt_interval(h->interval_ns, iv, sizeof(iv));
	if (h->asked_ns > h->interval_ns) {
		/* --max-overhead stretched it (docs/overhead.md) */
		char st[24];
		fmt_interval(h->asked_ns, st, sizeof(st));
		size_t len = strlen(iv);
		snprintf(iv + len, sizeof(iv) - len, ", now %s", st);
	}
	char at[64] = "";
	if (h->seq)
		snprintf(at, sizeof(at), "  #%" PRIu64 " at %.1fs", h->seq, h->time_s);
	if (h->workload)
		snprintf(t[0], sizeof(t[0]), "  %zu process%s (first %d %s)  every %s%s", h->nlive, h->nlive == 1 ? "" : "es",
		         (int)h->pid, h->command, iv, at);
	else
		snprintf(t[0], sizeof(t[0]), "  pid %d (%s)  every %s%s", (int)h->pid, h->command, iv, at);
	int x = 0;
	if ((int)(strlen("pagescan heatmap") + strlen(t[0])) <= room)
		x = put(f, 0, 0, PS_HS_TITLE, "pagescan heatmap");
	x = put(f, x, 0, PS_HS_TEXT, x ? t[0] : t[0] + 2);
	if (state)
		put(f, MAX(f->w - (int)strlen(state), x + 2), 0, sst, state);

	if (!h->seq) {
		putf(f, 0, 1, PS_HS_TEXT, "tracking %" PRIu64 " pages (%s) in %zu mapping%s", h->tracked_pages,
		     pages_h(h->tracked_pages, a, sizeof(a)), h->nseg, h->nseg == 1 ? "" : "s");
		return;
	}
	fmt_count(h->rate_pages_s, b, sizeof(b));
	fmt_us(h->harvest_us, c, sizeof(c));
	double mib = h->rate_pages_s * (double)PS_PAGE_SIZE / (1024.0 * 1024.0);
	double pct = h->elapsed_s > 0 ? (double)h->harvest_us / (h->elapsed_s * 1e6) * 100 : 0;
	const char *all = h->accumulate ? " in all" : "";
	pages_h(h->written_pages, a, sizeof(a));
	pages_h(h->wss_pages, d, sizeof(d));
	/* --sample: the written pages and the working set are estimates,
	 * "written ~N (+-M, sampled 1/16)": the 95 % interval's half-width,
	 * "+-" since the frame holds ASCII (docs/sampling.md). */
	const char *est = h->sample.estimated ? "~" : "";
	char sm[3][80] = { "", "", "" };
	if (h->sample.estimated) {
		char fr[24], hw[32];
		ps_sample_fraction_str(fr, sizeof(fr), h->sample.fraction);
		double half = (h->sample.written_hi - h->sample.written_lo) / 2;
		uint64_t halfp = half > 0 ? (uint64_t)(half + 0.5) : 0;
		snprintf(sm[0], sizeof(sm[0]), " (+-%" PRIu64 ", sampled %s)", halfp, fr);
		snprintf(sm[1], sizeof(sm[1]), " (+-%s, sampled %s)", pages_h(halfp, hw, sizeof(hw)), fr);
		snprintf(sm[2], sizeof(sm[2]), " (sampled %s)", fr);
	}
	snprintf(t[0], sizeof(t[0]),
	         "written %s%" PRIu64 "%s pages (%s)%s  %s pages/s  %.1f MiB/s | wss %s%" PRIu64 " pages (%s) | harvest %s (%.2f%%)",
	         est, h->written_pages, sm[0], a, all, b, mib, est, h->wss_pages, d, c, pct);
	snprintf(t[1], sizeof(t[1]), "written %s%s%s%s  %s pages/s  %.1f MiB/s | wss %s%s | harvest %s (%.2f%%)", est, a,
	         sm[1], all, b, mib, est, d, c, pct);
	snprintf(t[2], sizeof(t[2]), "written %s%s%s%s %.1f MiB/s | wss %s%s | harvest %s", est, a, sm[2], all, mib, est, d,
	         c);
	/* The target's estimated loss to the faults (docs/overhead.md), where
	 * the line has room for it. */
	char ov[48] = "";
	if (h->overhead.known)
		snprintf(ov, sizeof(ov), " | overhead ~%.1f%%%s", h->overhead.share * 100,
		         h->overhead.over_budget ? " over budget" : "");
	/* --compare soft-dirty (docs/soft-dirty.md): what soft-dirty reported
	 * this interval and how much of it was not written. Asked for, so it
	 * stays where the overhead is left out for room. */
	char sd[2][112] = { "", "" };
	if (h->soft_dirty) {
		char race[40] = "";
		if (h->sd.race_pages)
			snprintf(race, sizeof(race), ", %" PRIu64 " in the race", h->sd.race_pages);
		snprintf(sd[0], sizeof(sd[0]), " | soft-dirty %" PRIu64 ", %" PRIu64 " not written%s", h->sd.soft_dirty_pages,
		         h->sd.false_pages, race);
		snprintf(sd[1], sizeof(sd[1]), " | soft-dirty %" PRIu64 "/%" PRIu64 " false", h->sd.soft_dirty_pages,
		         h->sd.false_pages);
	}
	/* Widest first: each long form with the estimate, then without it. */
	for (int i = 0; i < 2; i++) {
		snprintf(to[2 * i], sizeof(to[0]), "%s%s%s", t[i], sd[0], ov);
		snprintf(to[2 * i + 1], sizeof(to[0]), "%s%s", t[i], sd[0]);
	}
	snprintf(to[4], sizeof(to[4]), "%s%s", t[2], sd[1]);
	const char *cand[] = { to[0], to[1], to[2], to[3], to[4] };
	put_fit(f, 0, 1, PS_HS_TEXT, cand, 5);
}

static void render_scale(const struct ps_heat *h, const struct ps_heat_view *v, const struct geom *g,
                         struct ps_heat_frame *f)
{
	char a[32], rows[64], srows[64], t[2][192];
	uint64_t per = 1ull << v->shown_zoom;
	const char *aut = v->zoom_auto ? ", auto" : "";
	const char *since = h->reset ? "reset" : "start";

	if (v->rows <= (uint64_t)g->G) {
		snprintf(rows, sizeof(rows), "all %" PRIu64 " row%s", v->rows, v->rows == 1 ? "" : "s");
		snprintf(srows, sizeof(srows), "%" PRIu64 " row%s", v->rows, v->rows == 1 ? "" : "s");
	} else {
		uint64_t last = MIN(v->top + (uint64_t)g->G, v->rows);
		snprintf(rows, sizeof(rows), "rows %" PRIu64 "-%" PRIu64 " of %" PRIu64, v->top + 1, last, v->rows);
		snprintf(srows, sizeof(srows), "rows %" PRIu64 "-%" PRIu64 "/%" PRIu64, v->top + 1, last, v->rows);
	}
	pages_h(per, a, sizeof(a));
	if (v->mode == PS_HEAT_INTERVAL) {
		snprintf(t[0], sizeof(t[0]), "1 cell = %" PRIu64 " page%s (%s)%s | interval view, fading x%g | %s", per,
		         per == 1 ? "" : "s", a, aut, h->decay, rows);
		snprintf(t[1], sizeof(t[1]), "1 cell = %" PRIu64 " page%s%s | interval x%g | %s", per,
		         per == 1 ? "" : "s", aut, h->decay, srows);
	} else {
		snprintf(t[0], sizeof(t[0]), "1 cell = %" PRIu64 " page%s (%s)%s | cumulative view, since %s | %s", per,
		         per == 1 ? "" : "s", a, aut, since, rows);
		snprintf(t[1], sizeof(t[1]), "1 cell = %" PRIu64 " page%s%s | cumulative | %s", per, per == 1 ? "" : "s",
		         aut, srows);
	}
	const char *cand[] = { t[0], t[1] };
	put_fit(f, 0, 2, PS_HS_TEXT, cand, 2);
}

static void render_row(const struct ps_heat *h, const struct ps_heat_view *v, const struct geom *g,
                       struct ps_heat_frame *f, int y, size_t si, uint64_t rin)
{
	const struct ps_heat_seg *s = &h->seg[si];
	unsigned z = v->shown_zoom;
	bool focus = v->has_focus && v->focus == s->start;
	uint64_t ncells = ps_heat_seg_cells(s, z), cell0 = rin * (uint64_t)g->wc;
	uint64_t addr = s->start + (cell0 << z) * PS_PAGE_SIZE;
	enum ps_heat_style lst = focus ? PS_HS_FOCUS : rin == 0 ? PS_HS_LABEL : PS_HS_DIM;
	char hex[24], name[64];

	putc_(f, 0, y, focus ? PS_HS_FOCUS : PS_HS_TEXT, focus ? '>' : ' ');
	snprintf(hex, sizeof(hex), "0x%" PRIx64, PS_HEAT_ADDR(addr));
	putf(f, 1, y, lst, "%*s", g->aw, hex);
	name_of(s->label, g->nw, name, sizeof(name));
	putf(f, 1 + g->aw, y, lst, " %-*s", g->nw, name);
	int x = g->lw;
	putc_(f, x++, y, PS_HS_DIM, rin == 0 ? '[' : ' ');
	uint64_t n = MIN((uint64_t)g->wc, ncells - cell0);
	for (uint64_t c = 0; c < n; c++) {
		double val = ps_heat_value(h, si, (cell0 + c) << z, 1ull << z, v->mode);
		int l = ps_heat_level(val);
		putc_(f, x++, y, (enum ps_heat_style)(PS_HS_HEAT0 + l), ps_heat_glyph(l));
	}
	if (cell0 + n == ncells)
		putc_(f, x, y, PS_HS_DIM, ']');
}

/* A workload's process header: "pid 123 (cmd): written 5 pages, wss 40 pages". */
static void render_proc(const struct ps_heat *h, struct ps_heat_frame *f, int y, size_t slot)
{
	if (slot >= h->nproc)
		return;
	const struct ps_heat_proc *p = &h->proc[slot];
	char a[32], t[2][192];
	pages_h(p->wss_pages, a, sizeof(a));
	snprintf(t[0], sizeof(t[0]), "pid %d (%s): written %" PRIu64 " page%s, wss %" PRIu64 " pages (%s)%s",
	         (int)p->pid, p->command, p->written_pages, p->written_pages == 1 ? "" : "s", p->wss_pages, a,
	         p->live ? "" : ", gone");
	snprintf(t[1], sizeof(t[1]), "pid %d (%s): %" PRIu64 "/%" PRIu64 "%s", (int)p->pid, p->command,
	         p->written_pages, p->wss_pages, p->live ? "" : " gone");
	const char *cand[] = { t[0], t[1] };
	put_fit(f, 0, y, PS_HS_TITLE, cand, 2);
}

/* The fold row: idle small mappings, counted, not drawn. */
static void render_fold(const struct ps_heat_view *v, const struct geom *g, struct ps_heat_frame *f, int y)
{
	char a[32], t[2][160];
	pages_h(v->folded_pages, a, sizeof(a));
	snprintf(t[0], sizeof(t[0]), "%*s ... %zu idle mappings of <= %d pages folded (%" PRIu64 " pages, %s; o: all)",
	         g->aw, "", v->nfolded, PS_HEAT_FOLD_PAGES, v->folded_pages, a);
	snprintf(t[1], sizeof(t[1]), "%*s ... %zu idle mappings folded (o: all)", g->aw, "", v->nfolded);
	const char *cand[] = { t[0], t[1] };
	put_fit(f, 1, y, PS_HS_DIM, cand, 2);
}

static void render_grid(const struct ps_heat *h, const struct ps_heat_view *v, const struct geom *g,
                        struct ps_heat_frame *f)
{
	if (!h->nseg) {
		put(f, 1, g->gy, PS_HS_DIM, h->started ? "no tracked mappings" : "starting...");
		return;
	}
	/* Bands in the view's order (busiest first, or by address). */
	size_t nb = ps_heat_view_nbands(h, v), k = 0;
	uint64_t row = 0;
	for (; k < nb; k++) {
		uint64_t n = ps_heat_band_rows(h, v, k, v->shown_zoom, g->wc);
		if (row + n > v->top)
			break;
		row += n;
	}
	uint64_t rin = v->top - row;
	for (int y = 0; y < g->G && k < nb; y++) {
		long si = ps_heat_view_band(v, k);
		if (si == PS_HEAT_BAND_FOLD)
			render_fold(v, g, f, g->gy + y);
		else if (si < 0)
			render_proc(h, f, g->gy + y, PS_HEAT_BAND_PROC_SLOT(si));
		else
			render_row(h, v, g, f, g->gy + y, (size_t)si, rin);
		if (++rin >= ps_heat_band_rows(h, v, k, v->shown_zoom, g->wc)) {
			k++;
			rin = 0;
		}
	}
}

static void render_legend(const struct ps_heat_view *v, struct ps_heat_frame *f, int y)
{
	static const char *const wide[PS_HEAT_LEVELS] = { "0%", ">0%", ">12.5%", ">25%", ">37.5%", ">50%",
	                                                  ">62.5%", ">75%", ">87.5%" };
	/* Since when: the scale line says (start or reset). */
	const char *what = v->mode == PS_HEAT_INTERVAL ? "of a cell written" : "of a cell ever written";
	int x = 0;
	if (f->w >= 96) {
		for (int l = 0; l < PS_HEAT_LEVELS; l++) {
			x = putc_(f, x, y, (enum ps_heat_style)(PS_HS_HEAT0 + l), ps_heat_glyph(l));
			x = putf(f, x, y, PS_HS_TEXT, " %s%s", wide[l], l < PS_HEAT_LEVELS - 1 ? "  " : "");
		}
	} else {
		for (int l = 0; l < PS_HEAT_LEVELS; l++)
			x = putc_(f, x, y, (enum ps_heat_style)(PS_HS_HEAT0 + l), ps_heat_glyph(l));
		x = put(f, x, y, PS_HS_TEXT, " = 0 to 100%");
	}
	putf(f, x, y, PS_HS_TEXT, " %s", what);
}

struct rank {
	size_t i;
	uint64_t key1, key2;
};

static int cmp_rank(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	if (x->key1 != y->key1)
		return x->key1 < y->key1 ? 1 : -1;
	if (x->key2 != y->key2)
		return x->key2 < y->key2 ? 1 : -1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* A segment's soft-dirty false positives in the view: the last
 * interval's, or since start/reset. */
static uint64_t sd_false(const struct ps_heat_seg *s, bool cum)
{
	return cum ? s->sd_sum.false_pages : s->sd_now.false_pages;
}

static void render_table(const struct ps_heat *h, const struct ps_heat_view *v, const struct geom *g,
                         struct ps_heat_frame *f, int y)
{
	bool wide = f->w >= 90;
	const char *since = h->reset ? "since reset" : "since start";
	char hx[24], nm[64], r[32];

	/* Say what the list counts: "now" is pages written in the last
	 * interval, "since start/reset" distinct pages; the ranking follows
	 * the view (interval: now; cumulative: distinct pages). */
	bool cum = v->mode == PS_HEAT_CUMULATIVE;
	/* --compare soft-dirty: a column of the mapping's soft-dirty pages
	 * not written (false positives), in the last interval or, in the
	 * cumulative view, since start/reset. */
	bool sdc = h->soft_dirty && !h->workload;
	int x0 = 0;
	if (wide)
		x0 = putf(f, 0, y, PS_HS_TITLE, " %9s %9s %10s %12s %8s", "pages/s", "MiB/s", "now", since, "% of map");
	else
		x0 = putf(f, 0, y, PS_HS_TITLE, " %8s %11s", "pages/s", since);
	if (sdc)
		x0 = putf(f, x0, y, PS_HS_TITLE, " %9s", "sd false");
	if (wide && !sdc)
		putf(f, x0, y, PS_HS_TITLE, "  %-*s %s", g->aw, "address",
		     cum ? "hottest mappings (distinct)" : "hottest mappings (pages now)");
	else
		putf(f, x0, y, PS_HS_TITLE, "  %-*s %s", g->aw, "address", cum ? "hottest (distinct)" : "hottest (now)");

	/* The focused mapping first, then the hottest. */
	struct rank top[8];
	size_t ntop = 0, want = (size_t)g->T;
	long fi = v->has_focus ? ps_heat_seg_index(h, v->focus) : -1;
	if (fi >= 0)
		top[ntop++] = (struct rank){ .i = (size_t)fi };
	struct rank *all = h->nseg ? malloc(h->nseg * sizeof(*all)) : NULL;
	size_t nall = 0;
	for (size_t i = 0; all && i < h->nseg; i++) {
		const struct ps_heat_seg *s = &h->seg[i];
		if ((long)i == fi || (!s->now_pages && !s->ever_pages && !(sdc && sd_false(s, cum))))
			continue;
		if (v->mode == PS_HEAT_CUMULATIVE)
			all[nall++] = (struct rank){ i, s->ever_pages, s->now_pages };
		else
			all[nall++] = (struct rank){ i, s->now_pages, s->ever_pages };
	}
	if (all)
		qsort(all, nall, sizeof(*all), cmp_rank);
	for (size_t k = 0; k < nall && ntop < want; k++)
		top[ntop++] = all[k];
	free(all);
	if (!ntop) {
		put(f, 1, y + 1, PS_HS_DIM, h->seq ? "nothing written yet" : "");
		return;
	}
	for (size_t k = 0; k < ntop && k < want; k++) {
		const struct ps_heat_seg *s = &h->seg[top[k].i];
		double rate = h->elapsed_s > 0 ? (double)s->now_pages / h->elapsed_s : 0;
		bool focus = (long)top[k].i == fi;
		enum ps_heat_style st = focus ? PS_HS_FOCUS : PS_HS_TEXT;
		int yy = y + 1 + (int)k;
		snprintf(hx, sizeof(hx), "0x%" PRIx64, PS_HEAT_ADDR(s->start));
		fmt_count(rate, r, sizeof(r));
		int x = putc_(f, 0, yy, st, focus ? '>' : ' ');
		if (wide)
			x = putf(f, x, yy, st, "%9s %9.2f %10" PRIu64 " %12" PRIu64 " %7.1f%%", r,
			         rate * (double)PS_PAGE_SIZE / (1024.0 * 1024.0), s->now_pages, s->ever_pages,
			         s->pages ? 100.0 * (double)s->ever_pages / (double)s->pages : 0.0);
		else
			x = putf(f, x, yy, st, "%8s %11" PRIu64, r, s->ever_pages);
		if (sdc)
			x = putf(f, x, yy, st, " %9" PRIu64, sd_false(s, cum));
		x = putf(f, x, yy, st, "  %*s ", g->aw, hx);
		if (h->workload) { /* whose */
			size_t slot = (size_t)(s->start >> PS_HEAT_KEY_SHIFT) - 1;
			if (slot < h->nproc)
				x = putf(f, x, yy, st, "%d ", (int)h->proc[slot].pid);
		}
		name_of(s->label, MAX(f->w - x, 1), nm, sizeof(nm));
		put(f, x, yy, st, nm);
	}
}

static void render_keys(struct ps_heat_frame *f, int y)
{
	put(f, 0, y, PS_HS_DIM,
	    f->w >= 107 ? "q quit  space pause  +/- zoom  a fit  arrows/PgUp/PgDn scroll  Tab focus  c view  o order"
	                  "  r reset  ? help"
	    : f->w >= 100 ? "q quit  space pause  +/- zoom  a fit  arrows/PgUp/PgDn scroll  Tab focus  c view  o order"
	                    "  ? help"
	    : f->w >= 72  ? "q quit  space pause  +/- zoom  arrows scroll  Tab focus  o order  ? help"
	                  : "q quit  space pause  +/- zoom  arrows scroll  Tab focus  ? help");
}

static void render_help(struct ps_heat_frame *f)
{
	static const char *const lines[] = {
		"pagescan heatmap keys",
		"",
		"q          quit",
		"space      pause the display (intervals keep coming)",
		"+ / -      zoom in / out (pages per cell)",
		"a          automatic zoom: fit the mappings on screen",
		"Up/Down    scroll one row",
		"PgUp/PgDn  scroll one screen      Home/End  top/bottom",
		"Tab        focus the next mapping (Shift-Tab, Left:",
		"           previous; Right: next; Esc: no focus)",
		"c          interval view (fading) / cumulative view",
		"o          order: busiest mappings first (idle small ones",
		"           folded) / every mapping in address order",
		"r          reset the history and the cumulative counts",
		"?          this help; any key closes it",
		"",
		"A cell covers a run of pages; its glyph and colour show",
		"the share of them written. Each row starts at its address;",
		"\"now\" counts pages written in the last interval, \"since",
		"start\" distinct pages written since the start (or reset).",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0]));
	int bw = MIN(f->w, 62), bh = MIN(f->h, n + 2);
	int x0 = (f->w - bw) / 2, y0 = (f->h - bh) / 2;
	for (int y = 0; y < bh; y++) {
		for (int x = 0; x < bw; x++) {
			bool edge_y = y == 0 || y == bh - 1, edge_x = x == 0 || x == bw - 1;
			putc_(f, x0 + x, y0 + y, PS_HS_HELP, edge_y && edge_x ? '+' : edge_y ? '-' : edge_x ? '|' : ' ');
		}
		if (y > 0 && y < bh - 1 && y - 1 < n) {
			char b[128];
			int w = bw - 4;
			snprintf(b, sizeof(b), "%.*s", w > 0 ? w : 0, lines[y - 1]);
			put(f, x0 + 2, y0 + y, PS_HS_HELP, b);
		}
	}
}

static void render_too_small(struct ps_heat_frame *f)
{
	char b[3][96];
	snprintf(b[0], sizeof(b[0]), "terminal too small: %dx%d", f->w, f->h);
	snprintf(b[1], sizeof(b[1]), "the heatmap needs at least %dx%d;", PS_HEAT_MIN_W, PS_HEAT_MIN_H);
	snprintf(b[2], sizeof(b[2]), "enlarge the window, or press q to quit");
	/* Wrap rather than cut: the message must be readable at any size. */
	int y = 0;
	for (int i = 0; i < 3 && y < f->h; i++) {
		const char *s = b[i];
		size_t len = strlen(s);
		while (len && y < f->h) {
			size_t take = MIN(len, (size_t)f->w);
			char line[96];
			memcpy(line, s, take);
			line[take] = 0;
			put(f, 0, y++, PS_HS_ALERT, line);
			s += take;
			len -= take;
		}
	}
}

void ps_heat_render(const struct ps_heat *h, struct ps_heat_view *v, struct ps_heat_frame *f)
{
	struct geom g;

	if (!f->ch)
		return; /* never sized: ps_heat_frame_size() failed */
	memset(f->ch, ' ', (size_t)f->w * (size_t)f->h);
	memset(f->st, PS_HS_TEXT, (size_t)f->w * (size_t)f->h);
	bool fits = geom_of(h, f->w, f->h, v->interactive, &g);
	ps_heat_view_fit(h, v, fits ? g.wc : 0, fits ? g.G : 0);
	if (!fits) {
		render_too_small(f);
		return;
	}
	render_header(h, v, f);
	render_scale(h, v, &g, f);
	render_grid(h, v, &g, f);
	render_legend(v, f, g.gy + g.G);
	render_table(h, v, &g, f, g.gy + g.G + 1);
	if (v->interactive) {
		render_keys(f, f->h - 1);
		if (v->help)
			render_help(f);
	}
}

/* ---- summary and the text sink ------------------------------------------------------- */

/* A mapping name for a terminal line: control bytes as \ooo (as /proc
 * writes a newline), so a name cannot drive the terminal. */
static void out_name(struct ps_out *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			ps_out_printf(o, "\\%03o", c);
		else
			ps_out_chr(o, (char)c);
	}
}

void ps_heat_summary(struct ps_out *o, const struct ps_watch_end *e)
{
	char a[32], m[32], p[32], x[32];
	ps_out_printf(o, "end: %s", ps_end_reason_name(e->reason));
	if (e->detail) {
		ps_out_str(o, " (");
		out_name(o, e->detail);
		ps_out_chr(o, ')');
	}
	fmt_count(e->rate.mean, m, sizeof(m));
	fmt_count(e->rate.p95, p, sizeof(p));
	fmt_count(e->rate.max, x, sizeof(x));
	ps_out_printf(o, " after %" PRIu64 " interval%s (%.1fs); write working set %" PRIu64 " pages (%s); "
	                 "dirty rate mean %s p95 %s max %s pages/s",
	              e->intervals, e->intervals == 1 ? "" : "s", e->duration_s, e->wss_pages,
	              pages_h(e->wss_pages, a, sizeof(a)), m, p, x);
	if (e->nhottest) {
		ps_out_str(o, "; hottest ");
		out_name(o, e->hottest[0].mapping);
		ps_out_printf(o, " (%" PRIu64 " distinct page%s written)", e->hottest[0].distinct_pages,
		              e->hottest[0].distinct_pages == 1 ? "" : "s");
	}
	if (e->soft_dirty) {
		ps_out_str(o, "; ");
		ps_sd_text_counts(o, &e->soft_dirty->c);
		const struct ps_sd_report *sd = e->soft_dirty;
		if (sd->nper_mapping && sd->per_mapping[0].c.false_pages) {
			ps_out_str(o, ", most in ");
			out_name(o, sd->per_mapping[0].mapping);
			ps_out_printf(o, " (%" PRIu64 ")", sd->per_mapping[0].c.false_pages);
		}
	}
	if (e->has_exit_status)
		ps_out_printf(o, "; exit status %d", e->exit_status);
	ps_out_chr(o, '\n');
}

struct heattext {
	struct ps_sink s;
	struct ps_out *o;
	struct ps_heat h;
	struct ps_heat_view v;
	struct ps_heat_frame f;
};

static int ht_start(struct ps_sink *s, const struct ps_watch_start *w)
{
	struct heattext *t = (struct heattext *)s;
	return ps_heat_start(&t->h, w);
}

static int ht_interval(struct ps_sink *s, const struct ps_interval *iv)
{
	struct heattext *t = (struct heattext *)s;
	int r = ps_heat_interval(&t->h, iv);
	if (r < 0)
		return r;
	ps_heat_render(&t->h, &t->v, &t->f);
	ps_heat_frame_text(&t->f, t->o);
	return ps_out_flush(t->o);
}

static int ht_end(struct ps_sink *s, const struct ps_watch_end *e)
{
	struct heattext *t = (struct heattext *)s;
	ps_heat_end(&t->h, e);
	ps_heat_summary(t->o, e);
	return ps_out_flush(t->o);
}

static void ht_destroy(struct ps_sink *s)
{
	struct heattext *t = (struct heattext *)s;
	ps_heat_free(&t->h);
	ps_heat_view_free(&t->v);
	ps_heat_frame_free(&t->f);
	free(t);
}

static int env_dim(const char *name, int def)
{
	const char *s = getenv(name);
	struct ps_err e;
	long long n;
	if (!s || !*s || ps_parse_int(s, 1, PS_HEAT_MAX_DIM, &n, &e) < 0)
		return def;
	return (int)n;
}

struct ps_sink *ps_sink_heattext_new(struct ps_out *o)
{
	struct heattext *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->o = o;
	ps_heat_init(&t->h);
	ps_heat_view_init(&t->v, false);
	if (ps_heat_frame_size(&t->f, env_dim("COLUMNS", 100), env_dim("LINES", 30)) < 0) {
		free(t);
		return NULL;
	}
	t->s.start = ht_start;
	t->s.interval = ht_interval;
	t->s.end = ht_end;
	t->s.destroy = ht_destroy;
	t->s.input_fd = -1;
	return &t->s;
}
