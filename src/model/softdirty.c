/* SPDX-License-Identifier: MIT */
/* --compare soft-dirty: the counting (see include/pagescan/model/softdirty.h,
 * docs/soft-dirty.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/softdirty.h"
#include "pagescan/model/util.h"

#define NWORST 5
/* Per-mapping sums kept over a watch; past this, new mappings are left out
 * of the per-mapping sums (the totals stay whole). */
#define SD_TOTALS_MAX (1u << 16)

struct sd_total {
	uint64_t start, end;
	char *label;
	struct ps_sd_counts c;
};

struct ps_sdcmp {
	struct ps_regions soft;        /* this interval's soft-dirty pages, from the source */
	struct ps_regions race;        /* the previous tick's pages written after its clear */
	struct ps_regions pieces;      /* the classified pieces (PS_SD_W / PS_SD_S / PS_SD_R) */
	struct ps_sd_mapping *pm;      /* this interval, per mapping */
	size_t npm, pm_cap;
	struct sd_total *t;            /* over the watch, by start */
	size_t nt, t_cap;
	struct ps_sd_mapping worst[NWORST];
	struct ps_sd_counts total;
};

struct ps_sdcmp *ps_sdcmp_new(void)
{
	return calloc(1, sizeof(struct ps_sdcmp));
}

void ps_sdcmp_free(struct ps_sdcmp *c)
{
	if (!c)
		return;
	ps_regions_free(&c->soft);
	ps_regions_free(&c->race);
	ps_regions_free(&c->pieces);
	free(c->pm);
	for (size_t i = 0; i < c->nt; i++)
		free(c->t[i].label);
	free(c->t);
	free(c);
}

struct ps_regions *ps_sdcmp_soft(struct ps_sdcmp *c)
{
	return &c->soft;
}

/* ---- the sweep ------------------------------------------------------------------ */

/* Where pos lies against [s, e): inside (in set, *next lowered to e) or
 * before it (*next lowered to s). */
static bool against(uint64_t pos, uint64_t s, uint64_t e, uint64_t *next)
{
	if (s <= pos) {
		if (e < *next)
			*next = e;
		return true;
	}
	if (s < *next)
		*next = s;
	return false;
}

void ps_sd_counts_add(struct ps_sd_counts *to, const struct ps_sd_counts *c)
{
	to->written_pages += c->written_pages;
	to->soft_dirty_pages += c->soft_dirty_pages;
	to->false_pages += c->false_pages;
	to->race_pages += c->race_pages;
}

static void count_piece(struct ps_sd_counts *c, uint64_t pages, uint64_t cats)
{
	if (cats & PS_SD_W) {
		c->written_pages += pages;
		if (cats & PS_SD_S)
			c->soft_dirty_pages += pages;
		else
			c->race_pages += pages;
	} else if (cats & PS_SD_S) {
		c->soft_dirty_pages += pages;
		if (cats & PS_SD_R)
			c->race_pages += pages;
		else
			c->false_pages += pages;
	}
}

int ps_sd_classify(const struct ps_regions *written, const struct ps_regions *soft, const struct ps_regions *race,
                   const struct ps_rangeset *tracked, struct ps_regions *out, struct ps_sd_counts *c)
{
	size_t iw = 0, is = 0, it = 0, ir = 0;
	uint64_t pos = 0;

	ps_regions_clear(out);
	*c = (struct ps_sd_counts){ 0 };
	for (;;) {
		while (iw < written->n && written->r[iw].end <= pos)
			iw++;
		while (is < soft->n && soft->r[is].end <= pos)
			is++;
		while (it < tracked->n && tracked->r[it].end <= pos)
			it++;
		while (ir < race->n && race->r[ir].end <= pos)
			ir++;
		if (iw == written->n && is == soft->n)
			break;
		uint64_t next = UINT64_MAX;
		bool w = iw < written->n && against(pos, written->r[iw].start, written->r[iw].end, &next);
		bool s = is < soft->n && against(pos, soft->r[is].start, soft->r[is].end, &next);
		bool t = it < tracked->n && against(pos, tracked->r[it].start, tracked->r[it].end, &next);
		bool rc = ir < race->n && against(pos, race->r[ir].start, race->r[ir].end, &next);
		/* Soft-dirty counts where pagescan looks: the tracked ranges, and
		 * the written pages (a new mapping's pages written before it was
		 * engaged, a read-only mapping's relocations). A soft-dirty page
		 * not written that the previous tick counted written after its
		 * clear is the race's (docs/soft-dirty.md#order-and-race). */
		if (w || (s && t)) {
			uint64_t cats = (w ? PS_SD_W : 0) | (s ? PS_SD_S : 0) | (!w && s && rc ? PS_SD_R : 0);
			count_piece(c, (next - pos) >> PS_PAGE_SHIFT, cats);
			if (ps_regions_push(out, pos, next, cats) < 0)
				return -ENOMEM;
		}
		pos = next;
	}
	return 0;
}

/* ---- per mapping ---------------------------------------------------------------- */

static int pm_piece(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct ps_sdcmp *c = ctx;
	uint64_t start = vma ? vma->start : piece->start;
	const char *label = vma ? ps_vma_label(vma) : "[unmapped]";
	struct ps_sd_mapping *m = c->npm ? &c->pm[c->npm - 1] : NULL;

	if (!m || m->start != start || m->mapping != label) {
		if (ps_grow((void **)&c->pm, &c->pm_cap, c->npm + 1, sizeof(*c->pm)) < 0)
			return -ENOMEM;
		m = &c->pm[c->npm++];
		*m = (struct ps_sd_mapping){ .start = start, .end = vma ? vma->end : piece->end, .mapping = label };
	}
	if (!vma && piece->end > m->end)
		m->end = piece->end;
	count_piece(&m->c, (piece->end - piece->start) >> PS_PAGE_SHIFT, piece->cats);
	return 0;
}

static int totals_add(struct ps_sdcmp *c, const struct ps_sd_mapping *m)
{
	size_t lo = 0, hi = c->nt;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->t[mid].start < m->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < c->nt && c->t[i].start == m->start; i++) {
		if (strcmp(c->t[i].label, m->mapping) == 0) {
			ps_sd_counts_add(&c->t[i].c, &m->c);
			if (m->end > c->t[i].end)
				c->t[i].end = m->end;
			return 0;
		}
	}
	if (c->nt >= SD_TOTALS_MAX)
		return 0;
	if (ps_grow((void **)&c->t, &c->t_cap, c->nt + 1, sizeof(*c->t)) < 0)
		return -ENOMEM;
	char *l = strdup(m->mapping);
	if (!l)
		return -ENOMEM;
	memmove(&c->t[lo + 1], &c->t[lo], (c->nt - lo) * sizeof(*c->t));
	c->t[lo] = (struct sd_total){ .start = m->start, .end = m->end, .label = l, .c = m->c };
	c->nt++;
	return 0;
}

int ps_sdcmp_interval(struct ps_sdcmp *c, const struct ps_regions *written, const struct ps_regions *prewritten,
                      const struct ps_rangeset *tracked, const struct ps_maps *maps, struct ps_sd_report *ret)
{
	struct ps_sd_counts n;
	int r = ps_sd_classify(written, &c->soft, &c->race, tracked, &c->pieces, &n);
	ps_regions_clear(&c->soft);
	ps_regions_clear(&c->race);
	if (r < 0)
		return r;
	for (size_t i = 0; prewritten && i < prewritten->n; i++)
		if (ps_regions_push(&c->race, prewritten->r[i].start, prewritten->r[i].end, 0) < 0)
			return -ENOMEM;
	c->npm = 0;
	if (ps_regions_walk(&c->pieces, maps, pm_piece, c) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->npm; i++)
		if (totals_add(c, &c->pm[i]) < 0)
			return -ENOMEM;
	ps_sd_counts_add(&c->total, &n);
	*ret = (struct ps_sd_report){ .c = n, .per_mapping = c->pm, .nper_mapping = c->npm, .pieces = &c->pieces };
	return 0;
}

/* Is mapping a (counts ca, at start as) worse than b: more false
 * positives, then more soft-dirty pages, then a lower address. */
static bool worse(const struct ps_sd_counts *ca, uint64_t as, const struct ps_sd_counts *cb, uint64_t bs)
{
	if (ca->false_pages != cb->false_pages)
		return ca->false_pages > cb->false_pages;
	if (ca->soft_dirty_pages != cb->soft_dirty_pages)
		return ca->soft_dirty_pages > cb->soft_dirty_pages;
	return as < bs;
}

/* A mapping in the running for the worst: its counts, start, index. */
struct cand {
	const struct ps_sd_counts *c;
	uint64_t start;
	size_t i;
};

/* Insert x into best[0..*n), kept worst first and at most max long. */
static void worst_insert(struct cand *best, size_t *n, size_t max, struct cand x)
{
	size_t k = *n < max ? (*n)++ : max;
	while (k > 0 && worse(x.c, x.start, best[k - 1].c, best[k - 1].start)) {
		if (k < max)
			best[k] = best[k - 1];
		k--;
	}
	if (k < max)
		best[k] = x;
}

void ps_sdcmp_end(struct ps_sdcmp *c, struct ps_sd_report *ret)
{
	/* The NWORST worst (the totals stay sorted by start). */
	struct cand best[NWORST] = { { 0 } };
	size_t n = 0;
	for (size_t i = 0; i < c->nt; i++)
		if (c->t[i].c.false_pages || c->t[i].c.soft_dirty_pages)
			worst_insert(best, &n, NWORST, (struct cand){ &c->t[i].c, c->t[i].start, i });
	for (size_t i = 0; i < n; i++) {
		const struct sd_total *t = &c->t[best[i].i];
		c->worst[i] = (struct ps_sd_mapping){ .start = t->start, .end = t->end, .mapping = t->label, .c = t->c };
	}
	*ret = (struct ps_sd_report){ .c = c->total, .per_mapping = c->worst, .nper_mapping = n };
}

size_t ps_sd_worst(const struct ps_sd_report *r, const struct ps_sd_mapping **out, size_t max)
{
	struct cand best[PS_SD_WORST_MAX] = { { 0 } };
	size_t n = 0;
	if (max > PS_SD_WORST_MAX)
		max = PS_SD_WORST_MAX;
	for (size_t i = 0; i < r->nper_mapping; i++) {
		const struct ps_sd_mapping *m = &r->per_mapping[i];
		if (m->c.false_pages || m->c.soft_dirty_pages)
			worst_insert(best, &n, max, (struct cand){ &m->c, m->start, i });
	}
	for (size_t i = 0; i < n; i++)
		out[i] = &r->per_mapping[best[i].i];
	return n;
}
