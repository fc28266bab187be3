/* The heatmap grid model and its rendering into a character frame (heat.h).
 * Nothing here draws on a terminal: src/cli/tui.c paints the frame with
 * ncurses, the text sink below prints it. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/render/heat.h"
#include "pagescan/model/util.h"

static const char ramp[] = ".:-=+*#%@";

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- values, glyphs, colours ---------------------------------------------------- */

int ps_heat_level(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 1)
		return PS_HEAT_LEVELS - 1;
	/* (k-1)/8 < v <= k/8; the tolerance keeps exact eighths on their level. */
	int l = (int)ceil(v * (PS_HEAT_LEVELS - 1) - 1e-9);
	return l < 1 ? 1 : l > PS_HEAT_LEVELS - 1 ? PS_HEAT_LEVELS - 1 : l;
}

char ps_heat_glyph(int level)
{
	if (level < 0)
		level = 0;
	if (level > PS_HEAT_LEVELS - 1)
		level = PS_HEAT_LEVELS - 1;
	return ramp[level];
}

enum ps_heat_colors ps_heat_colors_pick(int ncolors, const char *no_color)
{
	/* https://no-color.org: present and not empty disables colour. */
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

/* ---- the model ------------------------------------------------------------------- */

void ps_heat_init(struct ps_heat *h)
{
	memset(h, 0, sizeof(*h));
	h->max_bins = 1u << 20;
	h->decay = PS_HEAT_DECAY;
}

static void segs_free(struct ps_heat_seg *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].label);
		free(s[i].bin);
	}
	free(s);
}

void ps_heat_free(struct ps_heat *h)
{
	segs_free(h->seg, h->nseg);
	h->seg = NULL;
	h->nseg = 0;
	ps_regions_free(&h->seen);
}

int ps_heat_copy(struct ps_heat *dst, const struct ps_heat *src)
{
	ps_heat_free(dst);
	*dst = *src;
	dst->seg = NULL;
	dst->nseg = 0;
	dst->seen = (struct ps_regions){ 0 };
	if (src->nseg) {
		dst->seg = calloc(src->nseg, sizeof(*dst->seg));
		if (!dst->seg)
			goto fail;
		dst->nseg = src->nseg;
		for (size_t i = 0; i < src->nseg; i++) {
			struct ps_heat_seg *d = &dst->seg[i];
			*d = src->seg[i];
			d->label = strdup(src->seg[i].label);
			d->bin = malloc(src->seg[i].nbins * sizeof(*d->bin));
			if (!d->label || !d->bin)
				goto fail;
			memcpy(d->bin, src->seg[i].bin, src->seg[i].nbins * sizeof(*d->bin));
		}
	}
	if (src->seen.n) {
		dst->seen.r = malloc(src->seen.n * sizeof(*dst->seen.r));
		if (!dst->seen.r)
			goto fail;
		memcpy(dst->seen.r, src->seen.r, src->seen.n * sizeof(*dst->seen.r));
		dst->seen.n = dst->seen.cap = src->seen.n;
	}
	return 0;
fail:
	ps_heat_free(dst);
	return -ENOMEM;
}

static uint64_t bin_pages(const struct ps_heat_seg *s, unsigned shift, size_t b)
{
	uint64_t first = (uint64_t)b << shift;
	return MIN(1ull << shift, s->pages - first);
}

/* Calls fn for each part of the sorted regions r[0..n) inside a segment. */
typedef int (*clip_fn)(struct ps_heat *h, size_t seg, uint64_t start, uint64_t end, void *ctx);

static int clip_walk(struct ps_heat *h, const struct ps_region *r, size_t n, clip_fn fn, void *ctx)
{
	size_t i = 0, j = 0;
	while (i < n && j < h->nseg) {
		uint64_t a = MAX(r[i].start, h->seg[j].start), b = MIN(r[i].end, h->seg[j].end);
		if (a < b) {
			int e = fn(h, j, a, b, ctx);
			if (e)
				return e;
		}
		if (r[i].end <= h->seg[j].end)
			i++;
		else
			j++;
	}
	return 0;
}

/* Count pages [a, b) (bytes) of segment si into its bins. */
static void add_pages(struct ps_heat *h, size_t si, uint64_t a, uint64_t b, bool ever)
{
	struct ps_heat_seg *s = &h->seg[si];
	uint64_t p = (a - s->start) >> PS_PAGE_SHIFT, e = (b - s->start) >> PS_PAGE_SHIFT;
	while (p < e) {
		uint64_t bi = p >> h->bin_shift;
		uint64_t q = MIN(e, (bi + 1) << h->bin_shift);
		if (ever) {
			s->bin[bi].ever += (uint32_t)(q - p);
			s->ever_pages += q - p;
		} else {
			s->bin[bi].now += (uint32_t)(q - p);
			s->now_pages += q - p;
		}
		p = q;
	}
}

static int count_ever(struct ps_heat *h, size_t si, uint64_t a, uint64_t b, void *ctx)
{
	(void)ctx;
	add_pages(h, si, a, b, true);
	return 0;
}

struct piece {
	uint64_t start, end;
	const char *label;
};

/* The tracked ranges split at VMA boundaries, in address order. */
static int pieces_of(const struct ps_rangeset *tracked, const struct ps_maps *maps, struct piece **ret, size_t *nret)
{
	struct piece *p = NULL;
	size_t n = 0, cap = 0;

	*ret = NULL;
	*nret = 0;
	if (!tracked || !maps)
		return 0;
	for (size_t i = 0; i < tracked->n; i++) {
		uint64_t s = tracked->r[i].start, e = tracked->r[i].end;
		for (size_t j = ps_maps_lower_bound(maps, s); j < maps->n && maps->v[j].start < e; j++) {
			uint64_t a = MAX(s, maps->v[j].start), b = MIN(e, maps->v[j].end);
			if (a >= b)
				continue;
			if (ps_grow((void **)&p, &cap, n + 1, sizeof(*p)) < 0) {
				free(p);
				return -ENOMEM;
			}
			p[n++] = (struct piece){ a, b, ps_vma_label(&maps->v[j]) };
		}
	}
	*ret = p;
	*nret = n;
	return 0;
}

static bool same_layout(const struct ps_heat *h, const struct piece *p, size_t n)
{
	if (n != h->nseg)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i].start != h->seg[i].start || p[i].end != h->seg[i].end || strcmp(p[i].label, h->seg[i].label))
			return false;
	return true;
}

/* Bins hold at most 2^31 pages, so their uint32_t counters cannot overflow. */
#define MAX_BIN_SHIFT 31

static unsigned pick_shift(const struct piece *p, size_t n, size_t max_bins)
{
	for (unsigned s = 0; s < MAX_BIN_SHIFT; s++) {
		uint64_t total = 0;
		for (size_t i = 0; i < n && total <= max_bins; i++)
			total += (((p[i].end - p[i].start) >> PS_PAGE_SHIFT) + (1ull << s) - 1) >> s;
		if (total <= max_bins)
			return s;
	}
	return MAX_BIN_SHIFT; /* more mappings than max_bins: one bin each at most */
}

/* Add old heat over [a, b) (bytes) into the new bins, weighted by pages. */
static void carry_heat(struct ps_heat_seg *ns, unsigned nshift, const struct ps_heat_seg *os, unsigned oshift,
                       uint64_t a, uint64_t b)
{
	uint64_t p = a >> PS_PAGE_SHIFT, e = b >> PS_PAGE_SHIFT;
	uint64_t n0 = ns->start >> PS_PAGE_SHIFT, o0 = os->start >> PS_PAGE_SHIFT;
	while (p < e) {
		uint64_t nb = (p - n0) >> nshift, ob = (p - o0) >> oshift;
		uint64_t q = MIN(e, MIN(n0 + ((nb + 1) << nshift), o0 + ((ob + 1) << oshift)));
		ns->bin[nb].heat += os->bin[ob].heat * (float)(q - p);
		p = q;
	}
}

/* seen = seen ∩ keep (both sorted, disjoint). */
static int intersect(struct ps_regions *seen, const struct ps_regions *keep)
{
	struct ps_regions out = { 0 };
	size_t i = 0, j = 0;
	while (i < seen->n && j < keep->n) {
		uint64_t a = MAX(seen->r[i].start, keep->r[j].start), b = MIN(seen->r[i].end, keep->r[j].end);
		if (a < b && ps_regions_push(&out, a, b, 0) < 0) {
			ps_regions_free(&out);
			return -ENOMEM;
		}
		if (seen->r[i].end <= keep->r[j].end)
			i++;
		else
			j++;
	}
	ps_regions_free(seen);
	*seen = out;
	return 0;
}

int ps_heat_layout(struct ps_heat *h, const struct ps_rangeset *tracked, const struct ps_maps *maps)
{
	struct piece *p;
	size_t n;
	struct ps_regions keep = { 0 };
	struct ps_heat_seg *ns = NULL;
	int r = pieces_of(tracked, maps, &p, &n);
	if (r < 0)
		return r;
	if (same_layout(h, p, n)) {
		free(p);
		return 0;
	}
	unsigned shift = pick_shift(p, n, h->max_bins);
	r = -ENOMEM;
	if (n && !(ns = calloc(n, sizeof(*ns))))
		goto out;
	for (size_t i = 0; i < n; i++) {
		ns[i].start = p[i].start;
		ns[i].end = p[i].end;
		ns[i].pages = (p[i].end - p[i].start) >> PS_PAGE_SHIFT;
		ns[i].nbins = (size_t)((ns[i].pages + (1ull << shift) - 1) >> shift);
		ns[i].label = strdup(p[i].label);
		ns[i].bin = calloc(ns[i].nbins ? ns[i].nbins : 1, sizeof(*ns[i].bin));
		if (!ns[i].label || !ns[i].bin)
			goto out;
	}
	/* Carry the old state over where the same mapping stays: heat by
	 * address, cumulative counts exactly (recounted from seen). */
	for (size_t i = 0, j = 0; i < n; i++) {
		while (j < h->nseg && h->seg[j].end <= ns[i].start)
			j++;
		for (size_t k = j; k < h->nseg && h->seg[k].start < ns[i].end; k++) {
			if (strcmp(h->seg[k].label, ns[i].label))
				continue;
			uint64_t a = MAX(ns[i].start, h->seg[k].start), b = MIN(ns[i].end, h->seg[k].end);
			carry_heat(&ns[i], shift, &h->seg[k], h->bin_shift, a, b);
			if (ps_regions_push(&keep, a, b, 0) < 0)
				goto out;
		}
		for (size_t b = 0; b < ns[i].nbins; b++)
			ns[i].bin[b].heat /= (float)bin_pages(&ns[i], shift, b);
	}
	if (intersect(&h->seen, &keep) < 0)
		goto out;
	segs_free(h->seg, h->nseg);
	h->seg = ns;
	h->nseg = n;
	h->bin_shift = shift;
	ns = NULL;
	clip_walk(h, h->seen.r, h->seen.n, count_ever, NULL);
	r = 0;
out:
	if (ns)
		segs_free(ns, n);
	ps_regions_free(&keep);
	free(p);
	return r;
}

struct clip_ctx {
	struct ps_regions *out;
	int r;
};

static int clip_now(struct ps_heat *h, size_t si, uint64_t a, uint64_t b, void *ctx)
{
	struct clip_ctx *c = ctx;
	add_pages(h, si, a, b, false);
	if (ps_regions_push(c->out, a, b, 0) < 0) {
		c->r = -ENOMEM;
		return 1;
	}
	return 0;
}

int ps_heat_apply(struct ps_heat *h, const struct ps_regions *written)
{
	struct ps_regions cl = { 0 }, fresh = { 0 }, uni = { 0 };
	int r = -ENOMEM;

	for (size_t i = 0; i < h->nseg; i++) {
		h->seg[i].now_pages = 0;
		for (size_t b = 0; b < h->seg[i].nbins; b++)
			h->seg[i].bin[b].now = 0;
	}
	/* This interval's pages inside the segments. */
	struct clip_ctx cc = { .out = &cl };
	clip_walk(h, written->r, written->n, clip_now, &cc);
	if (cc.r < 0)
		goto out;
	/* fresh = cl - seen; seen = seen ∪ cl (both sorted, disjoint). */
	size_t j = 0;
	for (size_t i = 0; i < cl.n; i++) {
		uint64_t cur = cl.r[i].start, end = cl.r[i].end;
		while (j < h->seen.n && h->seen.r[j].end <= cur)
			j++;
		for (size_t k = j; cur < end; k++) {
			uint64_t next = k < h->seen.n ? MIN(h->seen.r[k].start, end) : end;
			if (cur < next && ps_regions_push(&fresh, cur, next, 0) < 0)
				goto out;
			if (k >= h->seen.n)
				break;
			cur = MAX(cur, h->seen.r[k].end);
		}
	}
	for (size_t a = 0, b = 0; a < h->seen.n || b < cl.n;) {
		const struct ps_region *x;
		if (b >= cl.n || (a < h->seen.n && h->seen.r[a].start <= cl.r[b].start))
			x = &h->seen.r[a++];
		else
			x = &cl.r[b++];
		if (uni.n && x->start <= uni.r[uni.n - 1].end) {
			if (x->end > uni.r[uni.n - 1].end)
				uni.r[uni.n - 1].end = x->end;
		} else if (ps_regions_push(&uni, x->start, x->end, 0) < 0) {
			goto out;
		}
	}
	clip_walk(h, fresh.r, fresh.n, count_ever, NULL);
	ps_regions_free(&h->seen);
	h->seen = uni;
	uni = (struct ps_regions){ 0 };

	/* Fade, then let this interval's share win where it is hotter. */
	for (size_t i = 0; i < h->nseg; i++) {
		struct ps_heat_seg *s = &h->seg[i];
		for (size_t b = 0; b < s->nbins; b++) {
			double faded = (double)s->bin[b].heat * h->decay;
			double share = (double)s->bin[b].now / (double)bin_pages(s, h->bin_shift, b);
			if (faded < PS_HEAT_FLOOR)
				faded = 0;
			s->bin[b].heat = (float)(share > faded ? share : faded);
		}
	}
	r = 0;
out:
	ps_regions_free(&cl);
	ps_regions_free(&fresh);
	ps_regions_free(&uni);
	return r;
}

void ps_heat_reset(struct ps_heat *h)
{
	for (size_t i = 0; i < h->nseg; i++) {
		struct ps_heat_seg *s = &h->seg[i];
		s->ever_pages = 0;
		for (size_t b = 0; b < s->nbins; b++) {
			s->bin[b].heat = 0;
			s->bin[b].ever = 0;
		}
	}
	ps_regions_clear(&h->seen);
	h->reset = true;
}

int ps_heat_start(struct ps_heat *h, const struct ps_watch_start *w)
{
	h->pid = w->pid;
	snprintf(h->command, sizeof(h->command), "%s", w->command ? w->command : "");
	h->interval_ns = w->interval_ns;
	h->accumulate = w->accumulate;
	h->tracked_pages = w->tracked_pages;
	h->started = true;
	return ps_heat_layout(h, w->tracked, w->maps);
}

int ps_heat_interval(struct ps_heat *h, const struct ps_interval *iv)
{
	int r = ps_heat_layout(h, iv->tracked, iv->maps);
	if (r < 0)
		return r;
	r = ps_heat_apply(h, iv->written);
	if (r < 0)
		return r;
	h->seq = iv->seq;
	h->time_s = iv->time_s;
	h->elapsed_s = iv->elapsed_s;
	h->rate_pages_s = iv->rate_pages_s;
	h->written_pages = iv->written_pages;
	h->harvest_us = iv->harvest_us;
	h->tracked_pages = iv->tracked_pages;
	h->wss_pages = iv->wss_pages;
	return 0;
}

void ps_heat_end(struct ps_heat *h, const struct ps_watch_end *e)
{
	h->ended = true;
	snprintf(h->end_reason, sizeof(h->end_reason), "%s", ps_end_reason_name(e->reason));
}

double ps_heat_value(const struct ps_heat *h, size_t si, uint64_t first, uint64_t npages, enum ps_heat_mode mode)
{
	if (si >= h->nseg)
		return 0;
	const struct ps_heat_seg *s = &h->seg[si];
	uint64_t end = MIN(s->pages, first + npages);
	double num = 0, den = 0;
	for (uint64_t p = first; p < end;) {
		size_t b = (size_t)(p >> h->bin_shift);
		uint64_t q = MIN(end, ((uint64_t)b + 1) << h->bin_shift);
		double part = (double)(q - p);
		if (mode == PS_HEAT_CUMULATIVE)
			num += (double)s->bin[b].ever * part / (double)bin_pages(s, h->bin_shift, b);
		else
			num += (double)s->bin[b].heat * part;
		den += part;
		p = q;
	}
	return den > 0 ? num / den : 0;
}

/* ---- geometry ------------------------------------------------------------------------ */

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
		int n = snprintf(b, sizeof(b), "0x%" PRIx64, h->seg[h->nseg - 1].end);
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

static uint64_t seg_cells(const struct ps_heat_seg *s, unsigned z)
{
	return (s->pages + (1ull << z) - 1) >> z;
}

static uint64_t seg_rows(const struct ps_heat_seg *s, unsigned z, int wc)
{
	uint64_t c = seg_cells(s, z);
	return c ? (c + (uint64_t)wc - 1) / (uint64_t)wc : 1;
}

static uint64_t total_rows(const struct ps_heat *h, unsigned z, int wc)
{
	uint64_t n = 0;
	for (size_t i = 0; i < h->nseg; i++)
		n += seg_rows(&h->seg[i], z, wc);
	return n;
}

/* Zooming out past the point where every mapping fits one row gains nothing. */
static unsigned max_zoom(const struct ps_heat *h, int wc)
{
	unsigned z = h->bin_shift;
	for (size_t i = 0; i < h->nseg; i++)
		while (z < 52 && seg_cells(&h->seg[i], z) > (uint64_t)wc)
			z++;
	return z;
}

static unsigned auto_zoom(const struct ps_heat *h, int wc, int G)
{
	unsigned zmax = max_zoom(h, wc);
	for (unsigned z = h->bin_shift; z < zmax; z++)
		if (total_rows(h, z, wc) <= (uint64_t)G)
			return z;
	return zmax;
}

static unsigned clamp_zoom(const struct ps_heat *h, unsigned z, int wc)
{
	unsigned zmax = max_zoom(h, wc);
	return z < h->bin_shift ? h->bin_shift : z > zmax ? zmax : z;
}

/* First grid row of segment si. */
static uint64_t row_of_seg(const struct ps_heat *h, size_t si, unsigned z, int wc)
{
	uint64_t row = 0;
	for (size_t i = 0; i < si && i < h->nseg; i++)
		row += seg_rows(&h->seg[i], z, wc);
	return row;
}

/* The row showing address addr (or the next mapping's first row). */
static uint64_t row_of_addr(const struct ps_heat *h, uint64_t addr, unsigned z, int wc)
{
	uint64_t row = 0;
	for (size_t i = 0; i < h->nseg; i++) {
		const struct ps_heat_seg *s = &h->seg[i];
		if (addr < s->end) {
			if (addr <= s->start)
				return row;
			uint64_t cell = ((addr - s->start) >> PS_PAGE_SHIFT) >> z;
			return row + cell / (uint64_t)wc;
		}
		row += seg_rows(s, z, wc);
	}
	return row;
}

/* Start address of grid row `row`. */
static uint64_t addr_of_row(const struct ps_heat *h, uint64_t row, unsigned z, int wc)
{
	for (size_t i = 0; i < h->nseg; i++) {
		uint64_t n = seg_rows(&h->seg[i], z, wc);
		if (row < n)
			return h->seg[i].start + ((row * (uint64_t)wc) << z) * PS_PAGE_SIZE;
		row -= n;
	}
	return UINT64_MAX;
}

static long seg_index(const struct ps_heat *h, uint64_t start)
{
	for (size_t i = 0; i < h->nseg; i++)
		if (h->seg[i].start == start)
			return (long)i;
	return -1;
}

/* ---- the view ------------------------------------------------------------------------ */

void ps_heat_view_init(struct ps_heat_view *v, bool interactive)
{
	memset(v, 0, sizeof(*v));
	v->mode = PS_HEAT_INTERVAL;
	v->zoom_auto = true;
	v->interactive = interactive;
}

static uint64_t max_top(const struct ps_heat_view *v)
{
	return v->rows > (uint64_t)v->grid_rows ? v->rows - (uint64_t)v->grid_rows : 0;
}

static void show_row(struct ps_heat_view *v, uint64_t row)
{
	if (row < v->top || row >= v->top + (uint64_t)v->grid_rows)
		v->top = row;
	if (v->top > max_top(v))
		v->top = max_top(v);
}

bool ps_heat_action(const struct ps_heat *h, struct ps_heat_view *v, enum ps_heat_action a)
{
	uint64_t page = v->grid_rows > 1 ? (uint64_t)v->grid_rows - 1 : 1;

	if (a == PS_HA_HELP) {
		v->help = !v->help;
		return true;
	}
	if (a == PS_HA_TOGGLE_MODE) {
		v->mode = v->mode == PS_HEAT_INTERVAL ? PS_HEAT_CUMULATIVE : PS_HEAT_INTERVAL;
		return true;
	}
	if (v->cells <= 0 || v->too_small)
		return false; /* nothing drawn yet: no geometry to act on */
	switch (a) {
	case PS_HA_ZOOM_IN:
	case PS_HA_ZOOM_OUT:
	case PS_HA_ZOOM_AUTO: {
		/* Keep the focused mapping, else the top row's address, in view. */
		uint64_t anchor = v->has_focus ? v->focus : addr_of_row(h, v->top, v->shown_zoom, v->cells);
		unsigned z = v->shown_zoom;
		if (a == PS_HA_ZOOM_AUTO) {
			v->zoom_auto = true;
			z = auto_zoom(h, v->cells, v->grid_rows);
		} else {
			if (a == PS_HA_ZOOM_IN && z > 0)
				z--;
			else if (a == PS_HA_ZOOM_OUT)
				z++;
			z = clamp_zoom(h, z, v->cells);
			v->zoom_auto = false;
			v->zoom = z;
		}
		v->shown_zoom = z;
		v->rows = total_rows(h, z, v->cells);
		v->top = 0;
		if (anchor != UINT64_MAX)
			show_row(v, row_of_addr(h, anchor, z, v->cells));
		return true;
	}
	case PS_HA_UP:
		if (v->top)
			v->top--;
		return true;
	case PS_HA_DOWN:
		if (v->top < max_top(v))
			v->top++;
		return true;
	case PS_HA_PGUP:
		v->top = v->top > page ? v->top - page : 0;
		return true;
	case PS_HA_PGDN:
		v->top = MIN(v->top + page, max_top(v));
		return true;
	case PS_HA_HOME:
		v->top = 0;
		return true;
	case PS_HA_END:
		v->top = max_top(v);
		return true;
	case PS_HA_FOCUS_NEXT:
	case PS_HA_FOCUS_PREV: {
		if (!h->nseg)
			return false;
		long i = v->has_focus ? seg_index(h, v->focus) : -1;
		if (a == PS_HA_FOCUS_NEXT)
			i = i < 0 ? 0 : (i + 1) % (long)h->nseg;
		else
			i = i <= 0 ? (long)h->nseg - 1 : i - 1;
		v->has_focus = true;
		v->focus = h->seg[i].start;
		show_row(v, row_of_seg(h, (size_t)i, v->shown_zoom, v->cells));
		return true;
	}
	case PS_HA_UNFOCUS:
		v->has_focus = false;
		return true;
	default:
		return false;
	}
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
	vsnprintf(buf, sizeof(buf), fmt, ap);
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
	char iv[32], a[32], b[32], c[32], d[32], sb[64], t[3][256];
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
	char at[64] = "";
	if (h->seq)
		snprintf(at, sizeof(at), "  #%" PRIu64 " at %.1fs", h->seq, h->time_s);
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
	snprintf(t[0], sizeof(t[0]),
	         "written %" PRIu64 " pages (%s)%s  %s pages/s  %.1f MiB/s | wss %" PRIu64 " pages (%s) | harvest %s (%.2f%%)",
	         h->written_pages, a, all, b, mib, h->wss_pages, d, c, pct);
	snprintf(t[1], sizeof(t[1]), "written %s%s  %s pages/s  %.1f MiB/s | wss %s | harvest %s (%.2f%%)", a, all, b,
	         mib, d, c, pct);
	snprintf(t[2], sizeof(t[2]), "written %s%s %.1f MiB/s | wss %s | harvest %s", a, all, mib, d, c);
	const char *cand[] = { t[0], t[1], t[2] };
	put_fit(f, 0, 1, PS_HS_TEXT, cand, 3);
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
	uint64_t ncells = seg_cells(s, z), cell0 = rin * (uint64_t)g->wc;
	uint64_t addr = s->start + (cell0 << z) * PS_PAGE_SIZE;
	enum ps_heat_style lst = focus ? PS_HS_FOCUS : rin == 0 ? PS_HS_LABEL : PS_HS_DIM;
	char hex[24], name[64];

	putc_(f, 0, y, focus ? PS_HS_FOCUS : PS_HS_TEXT, focus ? '>' : ' ');
	snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
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

static void render_grid(const struct ps_heat *h, const struct ps_heat_view *v, const struct geom *g,
                        struct ps_heat_frame *f)
{
	if (!h->nseg) {
		put(f, 1, g->gy, PS_HS_DIM, h->started ? "no tracked mappings" : "starting...");
		return;
	}
	uint64_t row = 0;
	size_t si = 0;
	for (; si < h->nseg; si++) {
		uint64_t n = seg_rows(&h->seg[si], v->shown_zoom, g->wc);
		if (row + n > v->top)
			break;
		row += n;
	}
	uint64_t rin = v->top - row;
	for (int y = 0; y < g->G && si < h->nseg; y++) {
		render_row(h, v, g, f, g->gy + y, si, rin);
		if (++rin >= seg_rows(&h->seg[si], v->shown_zoom, g->wc)) {
			si++;
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

static void render_table(const struct ps_heat *h, const struct ps_heat_view *v, const struct geom *g,
                         struct ps_heat_frame *f, int y)
{
	bool wide = f->w >= 90;
	const char *since = h->reset ? "since reset" : "since start";
	char hx[24], nm[64], r[32];

	if (wide)
		putf(f, 0, y, PS_HS_TITLE, " %9s %9s %10s %12s %8s  %-*s %s", "pages/s", "MiB/s", "now", since,
		     "% of map", g->aw, "address", "hottest mappings");
	else
		putf(f, 0, y, PS_HS_TITLE, " %8s %11s  %-*s %s", "pages/s", since, g->aw, "address", "hottest");

	/* The focused mapping first, then the hottest. */
	struct rank top[8];
	size_t ntop = 0, want = (size_t)g->T;
	long fi = v->has_focus ? seg_index(h, v->focus) : -1;
	if (fi >= 0)
		top[ntop++] = (struct rank){ .i = (size_t)fi };
	struct rank *all = h->nseg ? malloc(h->nseg * sizeof(*all)) : NULL;
	size_t nall = 0;
	for (size_t i = 0; all && i < h->nseg; i++) {
		const struct ps_heat_seg *s = &h->seg[i];
		if ((long)i == fi || (!s->now_pages && !s->ever_pages))
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
		snprintf(hx, sizeof(hx), "0x%" PRIx64, s->start);
		fmt_count(rate, r, sizeof(r));
		int x = putc_(f, 0, yy, st, focus ? '>' : ' ');
		if (wide) {
			x = putf(f, x, yy, st, "%9s %9.2f %10" PRIu64 " %12" PRIu64 " %7.1f%%  %*s ", r,
			         rate * (double)PS_PAGE_SIZE / (1024.0 * 1024.0), s->now_pages, s->ever_pages,
			         s->pages ? 100.0 * (double)s->ever_pages / (double)s->pages : 0.0, g->aw, hx);
		} else {
			x = putf(f, x, yy, st, "%8s %11" PRIu64 "  %*s ", r, s->ever_pages, g->aw, hx);
		}
		name_of(s->label, MAX(f->w - x, 1), nm, sizeof(nm));
		put(f, x, yy, st, nm);
	}
}

static void render_keys(struct ps_heat_frame *f, int y)
{
	put(f, 0, y, PS_HS_DIM,
	    f->w >= 100 ? "q quit  space pause  +/- zoom  a fit  arrows/PgUp/PgDn scroll  Tab focus  c view  r reset"
	                  "  ? help"
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
		"r          reset the history and the cumulative counts",
		"?          this help; any key closes it",
		"",
		"A cell covers a run of pages; its glyph and colour show",
		"the share of them written. Each row starts at its address.",
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
	if (!geom_of(h, f->w, f->h, v->interactive, &g)) {
		v->too_small = true;
		v->cells = 0;
		v->grid_rows = 0;
		render_too_small(f);
		return;
	}
	v->too_small = false;
	v->cells = g.wc;
	v->grid_rows = g.G;
	v->shown_zoom = v->zoom_auto ? auto_zoom(h, g.wc, g.G) : clamp_zoom(h, v->zoom, g.wc);
	v->rows = total_rows(h, v->shown_zoom, g.wc);
	if (v->top > max_top(v))
		v->top = max_top(v);
	if (v->has_focus && seg_index(h, v->focus) < 0)
		v->has_focus = false; /* its mapping went away */

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
		ps_out_printf(o, " (%" PRIu64 " pages)", e->hottest[0].written_pages);
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
