/* SPDX-License-Identifier: MIT */
/* A watch session (see session.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/pageset.h"
#include "pagescan/model/session.h"
#include "pagescan/model/stats.h"
#include "pagescan/model/util.h"

#define NHOT 5
/* Per-mapping totals kept over a watch; past this, mappings that churn are
 * no longer added (the hottest list stays right for all but pathological
 * churn). */
#define TOTALS_MAX (1u << 20)
/* Pages new to the write working set are counted per mapping in batches of
 * this many regions, so no list as long as the harvest is built for them. */
#define FRESH_BATCH 1024

/* Written pages of one mapping over the whole watch. */
struct total {
	uint64_t start, end;
	char *label;
	uint64_t writes;    /* page-writes: summed over the intervals */
	uint64_t distinct;  /* distinct pages */
};

struct ps_session {
	struct ps_session_source src;
	struct ps_session_opts o;
	struct ps_maps maps;                /* this tick's snapshot */
	struct ps_maps prev_maps;           /* the previous one (records of the last tick may point into it) */
	struct ps_sync_result sync;         /* this tick's engaged/skipped/dropped */
	struct ps_regions harvest, interval;
	/* The write working set: a page set, so that neither its memory nor a
	 * tick's work grows with how scattered the writes are. */
	struct ps_pageset wss;
	struct ps_regions wss_regions;      /* accumulate: the wss as regions (the written set shown) */
	struct ps_regions fresh;            /* pages new to the watch, counted FRESH_BATCH regions at a time */
	struct ps_spans readonly_written;   /* this tick's new read-only mappings holding written pages */
	struct ps_samples rates;
	struct total *totals;               /* per mapping over the watch, by start */
	size_t ntotals, totals_cap;
	struct ps_mapping_count *counts;    /* per mapping this interval */
	size_t ncounts, counts_cap;
	struct ps_mapping_count hot[NHOT];
	struct ps_harvest_counts hc;        /* this interval's harvest counts */
	struct ps_harvest_counts hc_total;  /* summed over the intervals */
	uint64_t remapped_total;            /* remapped_pages summed (also with accumulate) */
	uint64_t seq, t0_ns, last_ns;
	bool clock_started;                 /* ps_session_clock_start() called: t0_ns is set */
	/* run: pages written in the images before the last exec (their address
	 * spaces are gone; the wss above is the current image's), and the exec
	 * the next interval record reports (ps_session_exec). */
	uint64_t base_wss_pages;
	struct ps_sync_result exec_sync;    /* the last exec's first snapshot, in the record after it */
	const char *exec_command;
	pid_t exec_pid;
	uint64_t execs;
	/* --compare soft-dirty (docs/soft-dirty.md), or NULL. */
	struct ps_sdcmp *sd;
	struct ps_sd_report sd_iv, sd_end;
};

struct ps_session *ps_session_new(const struct ps_session_source *src, const struct ps_session_opts *opts)
{
	struct ps_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->src = *src;
	s->o = *opts;
	if (opts->compare_soft_dirty && src->soft_dirty_get && src->soft_dirty_clear && !opts->accumulate &&
	    !(s->sd = ps_sdcmp_new())) {
		free(s);
		return NULL;
	}
	return s;
}

void ps_session_free(struct ps_session *s)
{
	if (!s)
		return;
	ps_sync_result_free(&s->sync);
	ps_sync_result_free(&s->exec_sync);
	ps_maps_free(&s->maps);
	ps_maps_free(&s->prev_maps);
	ps_regions_free(&s->harvest);
	ps_regions_free(&s->interval);
	ps_pageset_free(&s->wss);
	ps_regions_free(&s->wss_regions);
	ps_regions_free(&s->fresh);
	ps_spans_free(&s->readonly_written);
	ps_samples_free(&s->rates);
	for (size_t i = 0; i < s->ntotals; i++)
		free(s->totals[i].label);
	free(s->totals);
	free(s->counts);
	ps_sdcmp_free(s->sd);
	free(s);
}

/* ---- per-mapping totals over the whole watch ------------------------------- */

static int totals_add(struct ps_session *s, const struct ps_mapping_count *c, uint64_t writes, uint64_t distinct)
{
	/* Keyed by mapping start and name; sorted by start. */
	size_t lo = 0, hi = s->ntotals;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->totals[mid].start < c->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < s->ntotals && s->totals[i].start == c->start; i++) {
		if (strcmp(s->totals[i].label, c->mapping) == 0) {
			s->totals[i].writes += writes;
			s->totals[i].distinct += distinct;
			if (c->end > s->totals[i].end)
				s->totals[i].end = c->end;
			return 0;
		}
	}
	if (s->ntotals >= TOTALS_MAX)
		return 0;
	if (ps_grow((void **)&s->totals, &s->totals_cap, s->ntotals + 1, sizeof(*s->totals)) < 0)
		return -ENOMEM;
	char *l = strdup(c->mapping);
	if (!l)
		return -ENOMEM;
	memmove(&s->totals[lo + 1], &s->totals[lo], (s->ntotals - lo) * sizeof(*s->totals));
	s->totals[lo] = (struct total){ .start = c->start, .end = c->end, .label = l, .writes = writes,
	                                .distinct = distinct };
	s->ntotals++;
	return 0;
}

static int cmp_total(const void *a, const void *b)
{
	const struct total *x = a, *y = b;
	if (x->distinct != y->distinct)
		return x->distinct < y->distinct ? 1 : -1;
	if (x->writes != y->writes)
		return x->writes < y->writes ? 1 : -1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* ---- region sets ------------------------------------------------------------- */

/* out = a ∪ b (both sorted; categories dropped to WRITTEN). */
static int regions_union(const struct ps_regions *a, const struct ps_regions *b, struct ps_regions *out)
{
	size_t i = 0, j = 0;
	ps_regions_clear(out);
	while (i < a->n || j < b->n) {
		const struct ps_region *r;
		if (j >= b->n || (i < a->n && a->r[i].start <= b->r[j].start))
			r = &a->r[i++];
		else
			r = &b->r[j++];
		if (out->n && r->start <= out->r[out->n - 1].end) {
			if (r->end > out->r[out->n - 1].end)
				out->r[out->n - 1].end = r->end;
			continue;
		}
		if (ps_regions_push(out, r->start, r->end, PS_CAT_WRITTEN) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* v = v with touching regions merged, categories dropped to WRITTEN: what
 * regions_union(v, nothing) gives, without a copy. */
static void regions_merge_written(struct ps_regions *v)
{
	size_t w = 0;
	for (size_t i = 0; i < v->n; i++) {
		if (w && v->r[i].start <= v->r[w - 1].end) {
			if (v->r[i].end > v->r[w - 1].end)
				v->r[w - 1].end = v->r[i].end;
			continue;
		}
		v->r[w++] = (struct ps_region){ .start = v->r[i].start, .end = v->r[i].end, .cats = PS_CAT_WRITTEN };
	}
	v->n = w;
}

/* ---- per-mapping counts -------------------------------------------------------- */

static int count_piece(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct ps_session *s = ctx;
	uint64_t pages = (piece->end - piece->start) >> PS_PAGE_SHIFT;
	uint64_t start = vma ? vma->start : piece->start;
	const char *label = vma ? ps_vma_label(vma) : "[unmapped]";

	if (s->ncounts && s->counts[s->ncounts - 1].start == start &&
	    s->counts[s->ncounts - 1].mapping == label) {
		/* Same snapshot: one VMA's pieces share its label pointer. */
		s->counts[s->ncounts - 1].written_pages += pages;
		return 0;
	}
	if (ps_grow((void **)&s->counts, &s->counts_cap, s->ncounts + 1, sizeof(*s->counts)) < 0)
		return -ENOMEM;
	s->counts[s->ncounts++] = (struct ps_mapping_count){
		.start = start, .end = vma ? vma->end : piece->end, .mapping = label, .written_pages = pages,
	};
	return 0;
}

/* s->counts += the pages of set (above any counted so far) per mapping of
 * the current snapshot. */
static int count_more(struct ps_session *s, const struct ps_regions *set)
{
	return ps_regions_walk(set, &s->maps, count_piece, s) < 0 ? -ENOMEM : 0;
}

/* s->counts = the pages of set per mapping of the current snapshot. */
static int count_by_mapping(struct ps_session *s, const struct ps_regions *set)
{
	s->ncounts = 0;
	return count_more(s, set);
}

/* Count the batch of fresh pages, and start a new one. */
static int count_fresh(struct ps_session *s)
{
	int r = count_more(s, &s->fresh);
	ps_regions_clear(&s->fresh);
	return r;
}

/* ps_pageset_fresh_fn: one more run of pages new to the watch. */
static int fresh_run(void *ctx, uint64_t start, uint64_t end)
{
	struct ps_session *s = ctx;
	if (ps_regions_push(&s->fresh, start, end, PS_CAT_WRITTEN) < 0)
		return -ENOMEM;
	return s->fresh.n >= FRESH_BATCH ? count_fresh(s) : 0;
}

/* s->readonly_written = the mappings of this snapshot that are not writable
 * yet hold pages counted as already written (a new mapping the loader wrote
 * before making it read-only: RELRO), so that a reader of the records knows
 * those pages lie in no tracked range by design. */
static int readonly_written(struct ps_session *s)
{
	const struct ps_regions *pw = &s->sync.prewritten;
	ps_spans_clear(&s->readonly_written);
	for (size_t i = 0; i < pw->n; i++) {
		for (uint64_t a = pw->r[i].start; a < pw->r[i].end;) {
			size_t k = ps_maps_lower_bound(&s->maps, a);
			if (k >= s->maps.n || s->maps.v[k].start >= pw->r[i].end)
				break;
			const struct ps_vma *v = &s->maps.v[k];
			if (!(v->prot & PS_VMA_WRITE) &&
			    !(s->readonly_written.n && s->readonly_written.v[s->readonly_written.n - 1].start == v->start) &&
			    ps_spans_add(&s->readonly_written, v->start, v->end, ps_vma_label(v), NULL) < 0)
				return -ENOMEM;
			a = v->end;
		}
	}
	return 0;
}

/* ---- the session ---------------------------------------------------------------- */

int ps_session_begin(struct ps_session *s, struct ps_err *err)
{
	int r = s->src.follow(s->src.ctx, false, &s->maps, &s->sync, err);
	if (r < 0)
		return r;
	/* Soft-dirty bits cleared after the arming: a write in between
	 * is written and not soft-dirty (the race), never a false positive. */
	if (s->sd && s->src.soft_dirty_clear && (r = s->src.soft_dirty_clear(s->src.sd_ctx, err)) < 0)
		return r;
	return (int)(s->sync.engaged.n > (size_t)INT32_MAX ? INT32_MAX : s->sync.engaged.n);
}

size_t ps_session_skipped(const struct ps_session *s)
{
	return s->sync.skipped.n;
}

void ps_session_start(const struct ps_session *s, struct ps_watch_start *ret)
{
	const struct ps_rangeset *tracked = s->src.tracked(s->src.ctx);
	*ret = (struct ps_watch_start){
		.pid = s->o.pid,
		.command = s->o.command,
		.interval_ns = s->o.interval_ns,
		.accumulate = s->o.accumulate,
		.tracked_pages = ps_rangeset_total(tracked) >> PS_PAGE_SHIFT,
		.engaged = s->sync.engaged.v, .nengaged = s->sync.engaged.n,
		.skipped = s->sync.skipped.v, .nskipped = s->sync.skipped.n,
		.maps = &s->maps,
		.tracked = tracked,
		.soft_dirty = s->sd != NULL,
	};
}

void ps_session_clock_start(struct ps_session *s)
{
	s->t0_ns = s->last_ns = s->src.now_ns(s->src.ctx);
	s->clock_started = true;
}

uint64_t ps_session_intervals(const struct ps_session *s)
{
	return s->seq;
}

int ps_session_tick(struct ps_session *s, struct ps_interval *ret, struct ps_err *err)
{
	int r;
	/* --compare soft-dirty: read the soft-dirty bits just before the
	 * harvest, clear them just after it, before the follow: the window
	 * between the read and the clear is as short as the harvest
	 * (docs/soft-dirty.md#order-and-race). */
	bool sd = s->sd && s->src.soft_dirty_get && s->src.soft_dirty_clear;
	if (sd && (r = s->src.soft_dirty_get(s->src.sd_ctx, &s->maps, ps_sdcmp_soft(s->sd), err)) < 0)
		return r;
	uint64_t now0 = s->src.now_ns(s->src.ctx);

	ps_regions_clear(&s->harvest);
	r = s->src.harvest(s->src.ctx, !s->o.accumulate, &s->harvest, err);
	uint64_t now = s->src.now_ns(s->src.ctx);
	if (r < 0)
		return r;
	if (sd && (r = s->src.soft_dirty_clear(s->src.sd_ctx, err)) < 0)
		return r;
	uint64_t harvest_us = (now - now0) / 1000;
	/* What the harvest classified besides writes. With accumulate
	 * nothing is cleared, so each harvest counts against the start: the
	 * last one is the total. */
	s->hc = (struct ps_harvest_counts){ 0 };
	if (s->src.harvest_counts)
		s->src.harvest_counts(s->src.ctx, &s->hc);
	if (s->o.accumulate) {
		s->hc_total = s->hc;
	} else {
		s->hc_total.discarded_pages += s->hc.discarded_pages;
		s->hc_total.zero_read_pages += s->hc.zero_read_pages;
		s->hc_total.ksm_merged_pages += s->hc.ksm_merged_pages;
		s->hc_total.thp_filled_pages += s->hc.thp_filled_pages;
	}

	/* New mappings since the last tick, and vanished ones. */
	ps_maps_free(&s->prev_maps);
	s->prev_maps = s->maps;
	s->maps = (struct ps_maps){ 0 };
	/* After an exec, this record reports the new image's first snapshot. */
	ps_sync_result_free(&s->exec_sync);
	s->exec_sync = (struct ps_sync_result){ 0 };
	if (s->exec_command)
		s->exec_sync = s->sync;
	else
		ps_sync_result_free(&s->sync);
	s->sync = (struct ps_sync_result){ 0 };
	r = s->src.follow(s->src.ctx, true, &s->maps, &s->sync, err);
	if (r < 0)
		return r;
	/* Moved mappings (mremap) are found by the follow, after the harvest:
	 * this interval's count, summed over the watch also with accumulate
	 * (each move is counted once). */
	s->hc.remapped_pages = 0;
	if (s->src.harvest_counts) {
		struct ps_harvest_counts c = { 0 };
		s->src.harvest_counts(s->src.ctx, &c);
		s->hc.remapped_pages = c.remapped_pages;
	}
	s->remapped_total += s->hc.remapped_pages;
	s->hc_total.remapped_pages = s->remapped_total;

	/* This interval's written set: the harvest plus pages already written in
	 * mappings engaged just now (the harvest itself, merged in place, when
	 * there are none: no copy as long as the harvest). */
	const struct ps_regions *iv = &s->harvest;
	regions_merge_written(&s->harvest);
	if (s->sync.prewritten.n) {
		if (regions_union(&s->harvest, &s->sync.prewritten, &s->interval) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		iv = &s->interval;
	}
	if (readonly_written(s) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	uint64_t before = ps_pageset_pages(&s->wss);
	/* Distinct pages per mapping over the watch: the pages new to the
	 * write working set, counted where they are now. */
	s->ncounts = 0;
	ps_regions_clear(&s->fresh);
	if (ps_pageset_add(&s->wss, iv, fresh_run, s) < 0 || count_fresh(s) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < s->ncounts; i++)
		if (totals_add(s, &s->counts[i], s->o.accumulate ? s->counts[i].written_pages : 0,
		               s->counts[i].written_pages) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	uint64_t wss_pages = ps_pageset_pages(&s->wss);

	/* With accumulate the records show the whole set: only then is it
	 * turned back into regions (the one per-tick cost of its size). */
	if (s->o.accumulate && ps_pageset_regions(&s->wss, &s->wss_regions) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	const struct ps_regions *shown = s->o.accumulate ? &s->wss_regions : iv;
	uint64_t written = s->o.accumulate ? wss_pages : ps_regions_pages(shown);
	double elapsed = (double)(now - s->last_ns) / 1e9;
	uint64_t fresh = s->o.accumulate ? wss_pages - before : written;
	double rate = elapsed > 0 ? (double)fresh / elapsed : 0;
	s->last_ns = now;
	s->seq++;
	if (ps_samples_add(&s->rates, rate) < 0)
		return ps_errf(err, ENOMEM, "out of memory");

	if (s->o.accumulate) {
		/* Per-mapping counts of the cumulative set; the watch totals
		 * took its new pages above (adding these up would count twice). */
		if (count_by_mapping(s, &s->wss_regions) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
	} else {
		if (count_by_mapping(s, iv) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < s->ncounts; i++)
			if (totals_add(s, &s->counts[i], s->counts[i].written_pages, 0) < 0)
				return ps_errf(err, ENOMEM, "out of memory");
	}

	const struct ps_rangeset *tracked = s->src.tracked(s->src.ctx);
	*ret = (struct ps_interval){
		.seq = s->seq,
		.time_s = (double)(now - s->t0_ns) / 1e9,
		.elapsed_s = elapsed,
		.written_pages = written,
		.rate_pages_s = rate,
		.harvest_us = harvest_us,
		.tracked_pages = ps_rangeset_total(tracked) >> PS_PAGE_SHIFT,
		.wss_pages = s->base_wss_pages + wss_pages,
		.maps = &s->maps,
		.tracked = tracked,
		.written = shown,
		.per_mapping = s->counts, .nper_mapping = s->ncounts,
		.counts = s->hc,
		.engaged = s->sync.engaged.v, .nengaged = s->sync.engaged.n,
		.dropped = s->sync.dropped.v, .ndropped = s->sync.dropped.n,
		.readonly_written = s->readonly_written.v, .nreadonly_written = s->readonly_written.n,
		.exec_command = s->exec_command, .exec_pid = s->exec_pid, .execs = s->execs,
		.exec_engaged = s->exec_sync.engaged.v, .nexec_engaged = s->exec_sync.engaged.n,
		.exec_skipped = s->exec_sync.skipped.v, .nexec_skipped = s->exec_sync.skipped.n,
	};
	if (sd) {
		if (ps_sdcmp_interval(s->sd, iv, &s->sync.prewritten, tracked, &s->maps, &s->sd_iv) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		ret->soft_dirty = &s->sd_iv;
	}
	s->exec_command = NULL;
	s->execs = 0;
	return 0;
}

void ps_session_end(struct ps_session *s, enum ps_end_reason reason, const char *detail, int exit_status,
                    struct ps_watch_end *ret)
{
	size_t nhot = 0;

	if (s->ntotals)
		qsort(s->totals, s->ntotals, sizeof(*s->totals), cmp_total);
	for (size_t i = 0; i < s->ntotals && nhot < NHOT; i++) {
		const struct total *t = &s->totals[i];
		if (!t->distinct && !t->writes)
			break;
		s->hot[nhot++] = (struct ps_mapping_count){ .start = t->start, .end = t->end, .mapping = t->label,
		                                            .written_pages = t->writes, .distinct_pages = t->distinct,
		                                            .page_writes = s->o.accumulate ? 0 : t->writes };
	}
	*ret = (struct ps_watch_end){
		.reason = reason,
		.detail = detail,
		.intervals = s->seq,
		/* 0 when the clock never started (the start record failed). */
		.duration_s = s->clock_started ? (double)(s->src.now_ns(s->src.ctx) - s->t0_ns) / 1e9 : 0,
		.wss_pages = s->base_wss_pages + ps_pageset_pages(&s->wss),
		.counts = s->hc_total,
		.hottest = s->hot, .nhottest = nhot,
		.accumulate = s->o.accumulate,
		.has_exit_status = exit_status >= 0,
		.exit_status = exit_status >= 0 ? exit_status : 0,
	};
	ps_summarize(&s->rates, &ret->rate);
	if (s->sd) {
		ps_sdcmp_end(s->sd, &s->sd_end);
		ret->soft_dirty = &s->sd_end;
	}
}

/* ---- exec --------------------------------------------------------------------- */

int ps_session_exec(struct ps_session *s, const struct ps_session_source *src, pid_t pid, const char *command,
                    struct ps_err *err)
{
	/* The old image's pages are the old address space's: carried over as
	 * a count, and the current image's set starts empty. */
	s->base_wss_pages += ps_pageset_pages(&s->wss);
	ps_pageset_free(&s->wss);
	s->src = *src;
	s->exec_command = command;
	s->exec_pid = pid;
	s->execs++;
	/* The records of the last tick may still point into the old snapshot. */
	ps_maps_free(&s->prev_maps);
	s->prev_maps = s->maps;
	s->maps = (struct ps_maps){ 0 };
	ps_sync_result_free(&s->sync);
	s->sync = (struct ps_sync_result){ 0 };
	return ps_session_begin(s, err);
}
