/* SPDX-License-Identifier: MIT */
/* The heatmap grid model and its view state (pagescan/model/heat.h): pure,
 * no output; pagescan/render/heat_frame.h draws it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/heat.h"
#include "pagescan/model/util.h"

static const char ramp[] = ".:-=+*#%@";

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- values and glyphs ---------------------------------------------------------- */

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
	free(h->proc);
	h->proc = NULL;
	h->nproc = h->proc_cap = 0;
}

int ps_heat_copy(struct ps_heat *dst, const struct ps_heat *src)
{
	ps_heat_free(dst);
	*dst = *src;
	dst->seg = NULL;
	dst->nseg = 0;
	dst->seen = (struct ps_regions){ 0 };
	dst->proc = NULL;
	dst->nproc = dst->proc_cap = 0;
	if (src->nproc) {
		dst->proc = malloc(src->nproc * sizeof(*dst->proc));
		if (!dst->proc)
			goto fail;
		memcpy(dst->proc, src->proc, src->nproc * sizeof(*dst->proc));
		dst->nproc = dst->proc_cap = src->nproc;
	}
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
	/* The soft-dirty sums: each old segment's to the first new one of
	 * the same mapping it overlaps. */
	for (size_t k = 0, i = 0; k < h->nseg; k++) {
		while (i < n && ns[i].end <= h->seg[k].start)
			i++;
		for (size_t q = i; q < n && ns[q].start < h->seg[k].end; q++)
			if (!strcmp(ns[q].label, h->seg[k].label)) {
				ps_sd_counts_add(&ns[q].sd_sum, &h->seg[k].sd_sum);
				break;
			}
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
		s->sd_sum = (struct ps_sd_counts){ 0 };
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
	h->workload = w->workload != NULL;
	if (h->workload) {
		/* Each process's ranges come with its first interval. */
		h->nlive = (size_t)w->nprocesses;
		return 0;
	}
	return ps_heat_layout(h, w->tracked, w->maps);
}

/* The slot of pid (added if new), or -1 (too many, or no memory). */
static long proc_slot(struct ps_heat *h, pid_t pid)
{
	for (size_t i = h->nproc; i-- > 0;)
		if (h->proc[i].pid == pid)
			return (long)i;
	if (h->nproc >= PS_HEAT_MAX_PROCS ||
	    ps_grow((void **)&h->proc, &h->proc_cap, h->nproc + 1, sizeof(*h->proc)) < 0)
		return -1;
	h->proc[h->nproc] = (struct ps_heat_proc){ .pid = pid };
	return (long)h->nproc++;
}

struct wl_item {
	size_t slot;
	const struct ps_process_interval *p;
};

static int cmp_item(const void *a, const void *b)
{
	const struct wl_item *x = a, *y = b;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* A workload's interval: every process's tracked ranges, maps and written
 * regions moved to its keys, then laid out and applied as one. */
static int workload_interval(struct ps_heat *h, const struct ps_interval *iv)
{
	const uint64_t lim = 1ull << PS_HEAT_KEY_SHIFT;
	struct wl_item *it = calloc(iv->nprocesses ? iv->nprocesses : 1, sizeof(*it));
	struct ps_rangeset tr = { 0 };
	struct ps_maps mp = { 0 };
	struct ps_regions wr = { 0 };
	size_t n = 0, nv = 0;
	int r = -ENOMEM;

	if (!it)
		return -ENOMEM;
	for (size_t i = 0; i < h->nproc; i++)
		h->proc[i].live = false;
	for (size_t i = 0; i < iv->nprocesses; i++) {
		const struct ps_process_interval *p = &iv->processes[i];
		long k = proc_slot(h, p->pid);
		if (k < 0)
			continue; /* past PS_HEAT_MAX_PROCS: not drawn */
		struct ps_heat_proc *hp = &h->proc[k];
		snprintf(hp->command, sizeof(hp->command), "%s", p->command ? p->command : "");
		hp->live = true;
		hp->written_pages = p->written_pages;
		hp->wss_pages = p->wss_pages;
		it[n++] = (struct wl_item){ (size_t)k, p };
		if (p->iv && p->iv->maps)
			nv += p->iv->maps->n;
	}
	h->nlive = iv->nprocesses;
	if (n)
		qsort(it, n, sizeof(*it), cmp_item);
	if (nv && !(mp.v = calloc(nv, sizeof(*mp.v))))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct ps_interval *pi = it[i].p->iv;
		uint64_t base = (uint64_t)(it[i].slot + 1) << PS_HEAT_KEY_SHIFT;
		if (!pi)
			continue;
		if (pi->tracked)
			for (size_t q = 0; q < pi->tracked->n; q++)
				if (pi->tracked->r[q].end <= lim &&
				    ps_rangeset_add(&tr, base | pi->tracked->r[q].start, base | pi->tracked->r[q].end) < 0)
					goto out;
		if (pi->maps && mp.v)
			for (size_t q = 0; q < pi->maps->n; q++) {
				if (pi->maps->v[q].end > lim)
					continue;
				mp.v[mp.n] = pi->maps->v[q];
				mp.v[mp.n].start |= base;
				mp.v[mp.n].end |= base;
				mp.n++;
			}
		if (pi->written)
			for (size_t q = 0; q < pi->written->n; q++) {
				const struct ps_region *g = &pi->written->r[q];
				if (g->end <= lim && ps_regions_push(&wr, base | g->start, base | g->end, g->cats) < 0)
					goto out;
			}
	}
	if ((r = ps_heat_layout(h, &tr, &mp)) < 0)
		goto out;
	r = ps_heat_apply(h, &wr);
out:
	free(it);
	free(mp.v);
	ps_rangeset_free(&tr);
	ps_regions_free(&wr);
	return r;
}

/* An interval's soft-dirty comparison per mapping (by address) onto the
 * segments: each mapping's counts on the first segment inside it. */
static void sd_assign(struct ps_heat *h, const struct ps_sd_report *sd)
{
	for (size_t i = 0; i < h->nseg; i++)
		h->seg[i].sd_now = (struct ps_sd_counts){ 0 };
	for (size_t k = 0, j = 0; k < sd->nper_mapping; k++) {
		const struct ps_sd_mapping *m = &sd->per_mapping[k];
		while (j < h->nseg && h->seg[j].end <= m->start)
			j++;
		if (j < h->nseg && h->seg[j].start < m->end) {
			ps_sd_counts_add(&h->seg[j].sd_now, &m->c);
			ps_sd_counts_add(&h->seg[j].sd_sum, &m->c);
		}
	}
}

int ps_heat_interval(struct ps_heat *h, const struct ps_interval *iv)
{
	if (!h->workload && iv->nprocesses) {
		/* run: the command's first fork made the watch a workload. From
		 * here on, bands by process (the command's among them); the single
		 * address space's layout goes. */
		segs_free(h->seg, h->nseg);
		h->seg = NULL;
		h->nseg = 0;
		ps_regions_clear(&h->seen);
		h->workload = true;
	}
	if (h->workload) {
		int r = workload_interval(h, iv);
		if (r < 0)
			return r;
		goto figures;
	}
	if (iv->exec_command) {
		/* A new program, a new address space: nothing of the old map
		 * carries over, even where a mapping of the same name sits at the
		 * same address. */
		segs_free(h->seg, h->nseg);
		h->seg = NULL;
		h->nseg = 0;
		ps_regions_clear(&h->seen);
		h->pid = iv->exec_pid;
		snprintf(h->command, sizeof(h->command), "%s", iv->exec_command);
	}
	int r = ps_heat_layout(h, iv->tracked, iv->maps);
	if (r < 0)
		return r;
	r = ps_heat_apply(h, iv->written);
	if (r < 0)
		return r;
	if (iv->soft_dirty)
		sd_assign(h, iv->soft_dirty);
figures:
	h->seq = iv->seq;
	h->time_s = iv->time_s;
	h->elapsed_s = iv->elapsed_s;
	h->rate_pages_s = iv->rate_pages_s;
	h->written_pages = iv->written_pages;
	h->harvest_us = iv->harvest_us;
	h->tracked_pages = iv->tracked_pages;
	h->wss_pages = iv->wss_pages;
	h->overhead = iv->overhead;
	h->asked_ns = (uint64_t)(iv->interval_s * 1e9 + 0.5);
	h->sample = iv->sample;
	h->soft_dirty = iv->soft_dirty != NULL;
	h->sd = iv->soft_dirty ? iv->soft_dirty->c : (struct ps_sd_counts){ 0 };
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

/* ---- grid geometry ------------------------------------------------------------------- */

uint64_t ps_heat_seg_cells(const struct ps_heat_seg *s, unsigned z)
{
	return (s->pages + (1ull << z) - 1) >> z;
}

uint64_t ps_heat_seg_rows(const struct ps_heat_seg *s, unsigned z, int wc)
{
	uint64_t c = ps_heat_seg_cells(s, z);
	return c ? (c + (uint64_t)wc - 1) / (uint64_t)wc : 1;
}

/* ---- bands: the display order ----------------------------------------------------- */

struct band_key {
	long i;
	uint64_t ever, now, start;
};

static int cmp_busiest(const void *a, const void *b)
{
	const struct band_key *x = a, *y = b;
	if (x->ever != y->ever)
		return x->ever < y->ever ? 1 : -1;
	if (x->now != y->now)
		return x->now < y->now ? 1 : -1;
	return (x->start > y->start) - (x->start < y->start);
}

/* Idle and small; the focused mapping keeps its band. */
static bool foldable(const struct ps_heat_seg *s, const struct ps_heat_view *v)
{
	return !s->ever_pages && !s->now_pages && s->pages <= PS_HEAT_FOLD_PAGES &&
	       !(v->has_focus && v->focus == s->start);
}

struct proc_key {
	size_t slot;
	uint64_t ever, now;
	size_t first, n;         /* its segments: seg[first .. first + n) (keys sort by slot) */
};

static int cmp_proc_busiest(const void *a, const void *b)
{
	const struct proc_key *x = a, *y = b;
	if (x->ever != y->ever)
		return x->ever < y->ever ? 1 : -1;
	if (x->now != y->now)
		return x->now < y->now ? 1 : -1;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* A workload: a header band per process in the last interval (or with
 * segments), busiest first (distinct pages written since the start or
 * reset, then in the last interval, then first seen); under it its
 * mappings in the order of one process's view, none folded. by_address:
 * processes as first seen, mappings by address. */
static int workload_order(const struct ps_heat *h, struct ps_heat_view *v)
{
	struct proc_key *pk = calloc(h->nproc ? h->nproc : 1, sizeof(*pk));
	struct band_key *k = calloc(h->nseg ? h->nseg : 1, sizeof(*k));
	if (!pk || !k || ps_grow((void **)&v->band, &v->band_cap, h->nseg + h->nproc + 1, sizeof(*v->band)) < 0) {
		free(pk);
		free(k);
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->nproc; i++)
		pk[i] = (struct proc_key){ .slot = i };
	for (size_t i = 0; i < h->nseg; i++) {
		size_t slot = (size_t)(h->seg[i].start >> PS_HEAT_KEY_SHIFT) - 1;
		if (slot >= h->nproc)
			continue;
		if (!pk[slot].n)
			pk[slot].first = i;
		pk[slot].n++;
		pk[slot].ever += h->seg[i].ever_pages;
		pk[slot].now += h->seg[i].now_pages;
	}
	size_t np = 0;
	for (size_t i = 0; i < h->nproc; i++)
		if (h->proc[i].live || pk[i].n)
			pk[np++] = pk[i];
	if (np && !v->by_address)
		qsort(pk, np, sizeof(*pk), cmp_proc_busiest);
	for (size_t i = 0; i < np; i++) {
		v->band[v->nbands++] = PS_HEAT_BAND_PROC(pk[i].slot);
		for (size_t q = 0; q < pk[i].n; q++) {
			const struct ps_heat_seg *s = &h->seg[pk[i].first + q];
			k[q] = (struct band_key){ (long)(pk[i].first + q), s->ever_pages, s->now_pages, s->start };
		}
		if (pk[i].n && !v->by_address)
			qsort(k, pk[i].n, sizeof(*k), cmp_busiest);
		for (size_t q = 0; q < pk[i].n; q++)
			v->band[v->nbands++] = k[q].i;
	}
	free(pk);
	free(k);
	return 0;
}

int ps_heat_view_order(const struct ps_heat *h, struct ps_heat_view *v)
{
	struct band_key *k = NULL;
	size_t nfold = 0;

	v->nbands = 0;
	v->nfolded = 0;
	v->folded_pages = 0;
	if (h->workload) {
		if (workload_order(h, v) < 0)
			goto fail;
		return 0;
	}
	if (ps_grow((void **)&v->band, &v->band_cap, h->nseg + 1, sizeof(*v->band)) < 0)
		goto fail;
	if (v->by_address) {
		for (size_t i = 0; i < h->nseg; i++)
			v->band[v->nbands++] = (long)i;
		return 0;
	}
	for (size_t i = 0; i < h->nseg; i++)
		nfold += foldable(&h->seg[i], v);
	if (nfold < 2)
		nfold = 0; /* folding one row into one row gains nothing */
	if (h->nseg && !(k = malloc(h->nseg * sizeof(*k))))
		goto fail;
	size_t n = 0;
	for (size_t i = 0; i < h->nseg; i++) {
		const struct ps_heat_seg *s = &h->seg[i];
		if (nfold && foldable(s, v)) {
			v->nfolded++;
			v->folded_pages += s->pages;
			continue;
		}
		k[n++] = (struct band_key){ (long)i, s->ever_pages, s->now_pages, s->start };
	}
	if (n)
		qsort(k, n, sizeof(*k), cmp_busiest);
	for (size_t i = 0; i < n; i++)
		v->band[v->nbands++] = k[i].i;
	if (v->nfolded)
		v->band[v->nbands++] = PS_HEAT_BAND_FOLD;
	free(k);
	return 0;
fail:
	free(v->band);
	v->band = NULL;
	v->band_cap = v->nbands = v->nfolded = 0;
	v->folded_pages = 0;
	return -ENOMEM;
}

size_t ps_heat_view_nbands(const struct ps_heat *h, const struct ps_heat_view *v)
{
	return v->band ? v->nbands : h->nseg;
}

long ps_heat_view_band(const struct ps_heat_view *v, size_t k)
{
	return v->band ? v->band[k] : (long)k;
}

uint64_t ps_heat_band_rows(const struct ps_heat *h, const struct ps_heat_view *v, size_t k, unsigned z, int wc)
{
	long si = ps_heat_view_band(v, k);
	if (si < 0 || (size_t)si >= h->nseg)
		return 1; /* the fold row, a process's header */
	return ps_heat_seg_rows(&h->seg[si], z, wc);
}

static uint64_t total_rows(const struct ps_heat *h, const struct ps_heat_view *v, unsigned z, int wc)
{
	uint64_t n = 0;
	size_t nb = ps_heat_view_nbands(h, v);
	for (size_t k = 0; k < nb; k++)
		n += ps_heat_band_rows(h, v, k, z, wc);
	return n;
}

/* Zooming out past the point where every mapping fits one row gains nothing. */
static unsigned max_zoom(const struct ps_heat *h, int wc)
{
	unsigned z = h->bin_shift;
	for (size_t i = 0; i < h->nseg; i++)
		while (z < 52 && ps_heat_seg_cells(&h->seg[i], z) > (uint64_t)wc)
			z++;
	return z;
}

static unsigned auto_zoom(const struct ps_heat *h, const struct ps_heat_view *v, int wc, int G)
{
	unsigned zmax = max_zoom(h, wc);
	for (unsigned z = h->bin_shift; z < zmax; z++)
		if (total_rows(h, v, z, wc) <= (uint64_t)G)
			return z;
	return zmax;
}

static unsigned clamp_zoom(const struct ps_heat *h, unsigned z, int wc)
{
	unsigned zmax = max_zoom(h, wc);
	return z < h->bin_shift ? h->bin_shift : z > zmax ? zmax : z;
}

/* First grid row of segment si (0 when it is not shown). */
static uint64_t row_of_seg(const struct ps_heat *h, const struct ps_heat_view *v, size_t si, unsigned z, int wc)
{
	uint64_t row = 0;
	size_t nb = ps_heat_view_nbands(h, v);
	for (size_t k = 0; k < nb; k++) {
		if (ps_heat_view_band(v, k) == (long)si)
			return row;
		row += ps_heat_band_rows(h, v, k, z, wc);
	}
	return 0;
}

/* The row showing address addr (or its band's first row; 0 when no band
 * shows it). */
static uint64_t row_of_addr(const struct ps_heat *h, const struct ps_heat_view *v, uint64_t addr, unsigned z, int wc)
{
	uint64_t row = 0;
	size_t nb = ps_heat_view_nbands(h, v);
	for (size_t k = 0; k < nb; k++) {
		long si = ps_heat_view_band(v, k);
		if (si >= 0 && (size_t)si < h->nseg) {
			const struct ps_heat_seg *s = &h->seg[si];
			if (s->start <= addr && addr < s->end) {
				uint64_t cell = ((addr - s->start) >> PS_PAGE_SHIFT) >> z;
				return row + cell / (uint64_t)wc;
			}
		}
		row += ps_heat_band_rows(h, v, k, z, wc);
	}
	return 0;
}

/* Start address of grid row `row` (UINT64_MAX: none, or the fold row). */
static uint64_t addr_of_row(const struct ps_heat *h, const struct ps_heat_view *v, uint64_t row, unsigned z, int wc)
{
	size_t nb = ps_heat_view_nbands(h, v);
	for (size_t k = 0; k < nb; k++) {
		uint64_t n = ps_heat_band_rows(h, v, k, z, wc);
		if (row < n) {
			long si = ps_heat_view_band(v, k);
			if (si < 0 || (size_t)si >= h->nseg)
				return UINT64_MAX;
			return h->seg[si].start + ((row * (uint64_t)wc) << z) * PS_PAGE_SIZE;
		}
		row -= n;
	}
	return UINT64_MAX;
}

long ps_heat_seg_index(const struct ps_heat *h, uint64_t start)
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

void ps_heat_view_free(struct ps_heat_view *v)
{
	free(v->band);
	v->band = NULL;
	v->band_cap = v->nbands = 0;
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

void ps_heat_view_fit(const struct ps_heat *h, struct ps_heat_view *v, int cells, int grid_rows)
{
	if (cells <= 0 || grid_rows <= 0) {
		v->too_small = true;
		v->cells = 0;
		v->grid_rows = 0;
		return;
	}
	v->too_small = false;
	v->cells = cells;
	v->grid_rows = grid_rows;
	ps_heat_view_order(h, v); /* out of memory: address order */
	v->shown_zoom = v->zoom_auto ? auto_zoom(h, v, cells, grid_rows) : clamp_zoom(h, v->zoom, cells);
	v->rows = total_rows(h, v, v->shown_zoom, cells);
	if (v->top > max_top(v))
		v->top = max_top(v);
	if (v->has_focus && ps_heat_seg_index(h, v->focus) < 0)
		v->has_focus = false; /* its mapping went away */
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
	if (v->cells <= 0 || v->too_small) {
		if (a == PS_HA_TOGGLE_ORDER) {
			v->by_address = !v->by_address;
			return true;
		}
		return false; /* nothing drawn yet: no geometry to act on */
	}
	/* The bands of this h (the last fit may have seen another picture). */
	ps_heat_view_order(h, v);
	if (a == PS_HA_TOGGLE_ORDER) {
		/* Keep the focused mapping in view, else start at the top. */
		v->by_address = !v->by_address;
		ps_heat_view_order(h, v);
		if (v->zoom_auto)
			v->shown_zoom = auto_zoom(h, v, v->cells, v->grid_rows);
		v->rows = total_rows(h, v, v->shown_zoom, v->cells);
		v->top = 0;
		long fi = v->has_focus ? ps_heat_seg_index(h, v->focus) : -1;
		if (fi >= 0)
			show_row(v, row_of_seg(h, v, (size_t)fi, v->shown_zoom, v->cells));
		return true;
	}
	switch (a) {
	case PS_HA_ZOOM_IN:
	case PS_HA_ZOOM_OUT:
	case PS_HA_ZOOM_AUTO: {
		/* Keep the focused mapping, else the top row's address, in view. */
		uint64_t anchor = v->has_focus ? v->focus : addr_of_row(h, v, v->top, v->shown_zoom, v->cells);
		unsigned z = v->shown_zoom;
		if (a == PS_HA_ZOOM_AUTO) {
			v->zoom_auto = true;
			z = auto_zoom(h, v, v->cells, v->grid_rows);
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
		v->rows = total_rows(h, v, z, v->cells);
		v->top = 0;
		if (anchor != UINT64_MAX)
			show_row(v, row_of_addr(h, v, anchor, z, v->cells));
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
		/* In display order, over the bands that show a mapping. */
		size_t nb = ps_heat_view_nbands(h, v), cur = SIZE_MAX, nseg = 0;
		long fi = v->has_focus ? ps_heat_seg_index(h, v->focus) : -1;
		for (size_t k = 0; k < nb; k++) {
			long si = ps_heat_view_band(v, k);
			if (si < 0)
				continue;
			if (si == fi)
				cur = nseg;
			nseg++;
		}
		if (!nseg)
			return false;
		size_t want;
		if (a == PS_HA_FOCUS_NEXT)
			want = cur == SIZE_MAX ? 0 : (cur + 1) % nseg;
		else
			want = cur == SIZE_MAX || cur == 0 ? nseg - 1 : cur - 1;
		long si = -1;
		for (size_t k = 0, j = 0; k < nb; k++) {
			long b = ps_heat_view_band(v, k);
			if (b < 0)
				continue;
			if (j++ == want) {
				si = b;
				break;
			}
		}
		if (si < 0)
			return false;
		v->has_focus = true;
		v->focus = h->seg[si].start;
		show_row(v, row_of_seg(h, v, (size_t)si, v->shown_zoom, v->cells));
		return true;
	}
	case PS_HA_UNFOCUS:
		v->has_focus = false;
		return true;
	default:
		return false;
	}
}
