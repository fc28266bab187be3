/* SPDX-License-Identifier: MIT */
/* The analysis of a recording: rates, the write working set over windows,
 * per-mapping statistics and the pre-copy simulation. Pure: no I/O, no
 * printing. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/report.h"
#include "pagescan/model/softdirty.h"
#include "pagescan/model/util.h"

/* Coordinate compression: every run boundary of every interval (and every
 * mapping boundary) cuts the address space into elements; an element is
 * written in an interval either entirely or not at all. Walking the
 * intervals in order and painting their runs over the elements gives, for
 * each piece of an interval's set, the interval in which those pages were
 * last written before ("prev"). Aggregated per interval as pairs
 * (prev, pages), this answers exactly:
 *
 *   distinct pages in intervals i..j = sum over t in i..j of the pages of
 *   pairs of t whose prev lies before i (or never written before).
 *
 * Cost: sorting the boundaries, plus one step per element covered by a run
 * (a run covers one element unless other intervals cut it), plus pairs. */

struct ps_report_pair {
	uint32_t prev;     /* 0: never written before; k: last written in interval k-1 */
	uint64_t pages;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* LSD radix sort by 16-bit digits; digits equal for all values are skipped. */
static int sort_u64(uint64_t *v, size_t n)
{
	if (n < 4096) {
		qsort(v, n, sizeof(*v), cmp_u64);
		return 0;
	}
	uint64_t *tmp = malloc(n * sizeof(*v)), *src = v, *dst = tmp;
	size_t *cnt = malloc(65536 * sizeof(*cnt));
	if (!tmp || !cnt) {
		free(tmp);
		free(cnt);
		return -ENOMEM;
	}
	for (unsigned shift = 0; shift < 64; shift += 16) {
		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(src[i] >> shift) & 0xffff]++;
		if (cnt[(src[0] >> shift) & 0xffff] == n)
			continue;
		size_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = cnt[d];
			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i] >> shift) & 0xffff]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(cnt);
	return 0;
}

/* First index in e[lo..n) with e[idx] >= x, galloping from lo. */
static size_t gallop(const uint64_t *e, size_t n, size_t lo, uint64_t x)
{
	size_t step = 1, hi;

	if (lo >= n || e[lo] >= x)
		return lo;
	/* e[lo] < x: find hi with e[hi] >= x (or n). */
	hi = lo + 1;
	while (hi < n && e[hi] < x) {
		lo = hi;
		step *= 2;
		hi = lo + step;
	}
	if (hi > n)
		hi = n;
	/* e[lo] < x <= e[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (e[mid] < x)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

struct row {
	uint64_t start, end;
	const char *label;
	bool readonly;
};

static int cmp_row_label(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->label, y->label);
	if (c)
		return c;
	if (x->readonly != y->readonly)
		return x->readonly ? 1 : -1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_map_addr(const void *a, const void *b)
{
	const struct ps_report_mapping *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->mapping, y->mapping);
}

/* Mappings: engaged ranges merged per name when they touch or overlap; and
 * the read-only mappings whose early writes were counted (the loader's
 * relocations under RELRO), merged the same way among themselves. */
static int build_mappings(const struct ps_recording *rec, struct ps_report *rep)
{
	struct row *rows = NULL;
	size_t n = 0;

	for (size_t i = 0; i < rec->nspans; i++)
		n += !rec->spans[i].dropped;
	if (n) {
		rows = malloc(n * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
	}
	n = 0;
	for (size_t i = 0; i < rec->nspans; i++)
		if (!rec->spans[i].dropped)
			rows[n++] = (struct row){ rec->spans[i].start, rec->spans[i].end, rec->spans[i].mapping,
			                          rec->spans[i].readonly_written };
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_row_label);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(rows[k - 1].label, rows[i].label) == 0 && rows[k - 1].readonly == rows[i].readonly &&
		    rows[i].start <= rows[k - 1].end) {
			if (rows[i].end > rows[k - 1].end)
				rows[k - 1].end = rows[i].end;
		} else {
			rows[k++] = rows[i];
		}
	}
	rep->map = calloc(k ? k : 1, sizeof(*rep->map));
	if (!rep->map) {
		free(rows);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++)
		rep->map[i] = (struct ps_report_mapping){ .start = rows[i].start, .end = rows[i].end,
		                                          .mapping = rows[i].label,
		                                          .tracked_pages = rows[i].readonly ? 0 : rows[i].end - rows[i].start,
		                                          .readonly_written = rows[i].readonly };
	rep->nmap = k;
	free(rows);
	if (rep->nmap)
		qsort(rep->map, rep->nmap, sizeof(*rep->map), cmp_map_addr);
	/* Unmapped during the watch: a dropped range with the same name inside.
	 * Mappings are sorted by start; none is longer than maxlen. */
	uint64_t maxlen = 0;
	for (size_t m = 0; m < rep->nmap; m++)
		if (rep->map[m].end - rep->map[m].start > maxlen)
			maxlen = rep->map[m].end - rep->map[m].start;
	for (size_t i = 0; i < rec->nspans; i++) {
		const struct ps_rec_span *s = &rec->spans[i];
		size_t lo = 0, hi = rep->nmap;
		if (!s->dropped)
			continue;
		while (lo < hi) { /* first mapping starting at or after s->end */
			size_t mid = lo + (hi - lo) / 2;
			if (rep->map[mid].start < s->end)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t m = lo; m-- > 0 && rep->map[m].start + maxlen > s->start;)
			if (s->start < rep->map[m].end && strcmp(rep->map[m].mapping, s->mapping) == 0)
				rep->map[m].dropped = true;
	}
	return 0;
}

/* Index of the mapping holding [s, e), or SIZE_MAX; *hint walks forward. */
static size_t find_mapping(const struct ps_report *rep, size_t *hint, uint64_t s, uint64_t e)
{
	size_t k = *hint;

	while (k + 1 < rep->nmap && rep->map[k + 1].start <= s)
		k++;
	*hint = k;
	/* Mappings of different names may overlap (an address reused): look back a little. */
	for (size_t b = 0; b < 32 && b <= k && k < rep->nmap; b++) {
		const struct ps_report_mapping *m = &rep->map[k - b];
		if (m->start <= s && e <= m->end)
			return k - b;
	}
	return SIZE_MAX;
}

static int paint(const struct ps_recording *rec, struct ps_report *rep, struct ps_warnings *w)
{
	size_t nb = 2 * rec->nruns + 2 * rep->nmap, ne;
	uint64_t *e = NULL, *acc = NULL;
	struct elem { uint32_t last, cnt; } *el = NULL; /* together: one cache miss per element */
	uint32_t *touched = NULL;
	size_t ntouched = 0, paircap = 0;
	int r = -ENOMEM;

	rep->pair_at = calloc(rec->niv + 1, sizeof(*rep->pair_at));
	e = malloc((nb ? nb : 1) * sizeof(*e));
	acc = calloc(rec->niv + 1, sizeof(*acc));
	touched = malloc((rec->niv + 1) * sizeof(*touched));
	if (!rep->pair_at || !e || !acc || !touched)
		goto out;
	nb = 0;
	for (size_t i = 0; i < rec->nruns; i++) {
		e[nb++] = rec->runs[i].start;
		e[nb++] = rec->runs[i].end;
	}
	for (size_t i = 0; i < rep->nmap; i++) {
		e[nb++] = rep->map[i].start;
		e[nb++] = rep->map[i].end;
	}
	if (sort_u64(e, nb) < 0)
		goto out;
	ne = 0;
	for (size_t i = 0; i < nb; i++)
		if (!ne || e[i] != e[ne - 1])
			e[ne++] = e[i];
	/* Elements are [e[k], e[k+1]) for k < ne - 1. */
	el = calloc(ne ? ne : 1, sizeof(*el));
	if (!el)
		goto out;

	for (size_t t = 0; t < rec->niv; t++) {
		const struct ps_rec_interval *iv = &rec->iv[t];
		size_t hint = 0;
		rep->pair_at[t] = rep->npair;
		for (size_t q = iv->run0; q < iv->run0 + iv->nruns; q++) {
			size_t a = gallop(e, ne, hint, rec->runs[q].start);
			/* most runs cover one element */
			size_t b = a + 1 < ne && e[a + 1] == rec->runs[q].end ? a + 1 : gallop(e, ne, a, rec->runs[q].end);
			for (size_t k = a; k < b; k++) {
				uint32_t p = el[k].last;
				if (!acc[p])
					touched[ntouched++] = p;
				acc[p] += e[k + 1] - e[k];
				el[k].last = (uint32_t)(t + 1);
				if (el[k].cnt != UINT32_MAX)
					el[k].cnt++;
			}
			hint = b;
		}
		if (ps_grow((void **)&rep->pair, &paircap, rep->npair + ntouched, sizeof(*rep->pair)) < 0)
			goto out;
		for (size_t i = 0; i < ntouched; i++) {
			rep->pair[rep->npair++] = (struct ps_report_pair){ touched[i], acc[touched[i]] };
			acc[touched[i]] = 0;
		}
		ntouched = 0;
	}
	rep->pair_at[rec->niv] = rep->npair;

	/* Totals and per-mapping figures from the elements. */
	size_t hint = 0;
	uint64_t outside = 0;
	for (size_t k = 0; k + 1 < ne; k++) {
		uint32_t c = el[k].cnt;
		if (!c)
			continue;
		uint64_t len = e[k + 1] - e[k];
		rep->unique_pages += len;
		if (e[k] & PS_REC_KEY_SHARED)
			rep->shared_unique_pages += len;
		rep->page_writes += (uint64_t)c * len;
		if (c == 1)
			rep->once_pages += len;
		size_t m = find_mapping(rep, &hint, e[k], e[k + 1]);
		if (m == SIZE_MAX) {
			outside += len;
			continue;
		}
		rep->map[m].written_pages += len;
		rep->map[m].page_writes += (uint64_t)c * len;
		if (c == 1)
			rep->map[m].once_pages += len;
	}
	if (outside && !rec->workload) /* a workload's ranges are per process */
		ps_warnings_add(w, "%llu written pages lie outside every engaged range of the recording "
		                "(and outside every read-only mapping it lists as written before it was protected; "
		                "counted in the totals, not per mapping)", (unsigned long long)outside);
	r = 0;
out:
	free(e);
	free(acc);
	free(touched);
	free(el);
	return r;
}

uint64_t ps_report_distinct(const struct ps_report *r, size_t first, size_t last)
{
	uint64_t sum = 0;

	if (first > last || last >= r->intervals)
		return 0;
	for (size_t p = r->pair_at[first]; p < r->pair_at[last + 1]; p++)
		if (r->pair[p].prev <= first) /* never, or last written before interval `first` */
			sum += r->pair[p].pages;
	return sum;
}

/* Window lengths: 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, ... and the whole recording. */
static uint64_t next_window(uint64_t w)
{
	static const uint64_t steps[] = { 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 18000, 36000,
	                                  86400 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] > w)
			return steps[i];
	return w * 2;
}

static int windows(const struct ps_recording *rec, struct ps_report *rep)
{
	size_t n = rec->niv, cap = 0;
	/* Unsigned: sums wrap harmlessly, every true prefix sum is a page count. */
	uint64_t *d = calloc(n + 1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	for (uint64_t len = 1;; len = next_window(len)) {
		if (len > n)
			len = n;
		/* A first write in interval t of pages last written in prev counts in
		 * the windows that contain t but not prev: starts in
		 * [max(prev_idx + 1, t - len + 1), min(t, n - len)]. */
		memset(d, 0, (n + 1) * sizeof(*d));
		for (size_t t = 0; t < n; t++) {
			for (size_t p = rep->pair_at[t]; p < rep->pair_at[t + 1]; p++) {
				uint64_t lo = rep->pair[p].prev; /* = prev index + 1, or 0 */
				if (t + 1 >= len && t + 1 - len > lo)
					lo = t + 1 - len;
				uint64_t hi = t < n - len ? t : n - len;
				if (lo > hi)
					continue;
				d[lo] += rep->pair[p].pages;
				d[hi + 1] -= rep->pair[p].pages;
			}
		}
		struct ps_report_window win = { .len = len, .seconds = (double)len * rec->interval_s };
		uint64_t cur = 0;
		double sum = 0;
		for (size_t i = 0; i + len <= n; i++) {
			cur += d[i];
			sum += (double)cur;
			if (cur > win.max_pages || i == 0) {
				win.max_pages = cur;
				win.max_seq = rec->iv[i].seq;
			}
		}
		win.mean_pages = sum / (double)(n - len + 1);
		if (ps_grow((void **)&rep->win, &cap, rep->nwin + 1, sizeof(*rep->win)) < 0) {
			free(d);
			return -ENOMEM;
		}
		rep->win[rep->nwin++] = win;
		if (len == n)
			break;
	}
	free(d);
	return 0;
}

/* Times in a recording have microsecond resolution: boundaries closer than
 * half of that touch, they do not overlap. */
#define TIME_EPS 5e-7

bool ps_report_dirtied(const struct ps_report *r, double start_s, double len_s, uint64_t *ret_pages)
{
	size_t n = r->intervals, lo, hi, first;
	double end = start_s + len_s, eps = TIME_EPS;

	*ret_pages = 0;
	if (end > r->iv_end[n - 1] + eps)
		return false;
	if (len_s <= 0)
		return true;
	if (eps > len_s / 4)
		eps = len_s / 4;
	/* first interval ending after start_s */
	lo = 0;
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->iv_end[mid] > start_s + eps)
			hi = mid;
		else
			lo = mid + 1;
	}
	first = lo;
	/* one past the last interval beginning before end */
	lo = 0;
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->iv_start[mid] < end - eps)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || first >= lo)
		return true;
	*ret_pages = ps_report_distinct(r, first, lo - 1);
	return true;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Iterative pre-copy on the recorded page sets. */
static int simulate(const struct ps_recording *rec, const struct ps_report *r, double bw, double downtime,
                    uint64_t max_rounds, struct ps_precopy *pc, bool keep)
{
	double t = r->iv_start[0], budget = bw * downtime;
	uint64_t pages = rec->tracked_pages;
	size_t cap = 0;

	pc->outcome = PS_PRECOPY_MAX_ROUNDS;
	pc->total_bytes = 0;
	pc->nrounds = 0;
	pc->short_rounds = false;
	for (uint64_t k = 0;; k++) {
		double dur = (double)pages * (double)PS_PAGE_SIZE / bw;
		uint64_t next;
		if (keep) {
			if (ps_grow((void **)&pc->rounds, &cap, pc->nrounds + 1, sizeof(*pc->rounds)) < 0)
				return -ENOMEM;
			pc->rounds[pc->nrounds] = (struct ps_precopy_round){ t, dur, pages };
		}
		pc->nrounds++;
		pc->total_bytes = sat_add(pc->total_bytes, pages * PS_PAGE_SIZE);
		if (dur > 0 && dur < rec->interval_s)
			pc->short_rounds = true;
		if (!ps_report_dirtied(r, t, dur, &next)) {
			pc->outcome = PS_PRECOPY_OUT_OF_DATA;
			pc->data_end_s = r->iv_end[r->intervals - 1];
			pc->needed_until_s = t + dur;
			pc->pending_pages = 0;
			pc->downtime_est_s = 0;
			return 0;
		}
		t += dur;
		pc->pending_pages = next;
		pc->downtime_est_s = (double)next * (double)PS_PAGE_SIZE / bw;
		if ((double)next * (double)PS_PAGE_SIZE <= budget) {
			pc->outcome = PS_PRECOPY_CONVERGED;
			pc->total_bytes = sat_add(pc->total_bytes, next * PS_PAGE_SIZE);
			return 0;
		}
		if (k + 1 >= max_rounds) {
			pc->total_bytes = sat_add(pc->total_bytes, next * PS_PAGE_SIZE);
			return 0;
		}
		pages = next;
	}
}

static int precopy(const struct ps_recording *rec, struct ps_report *r, const struct ps_report_opts *o)
{
	struct ps_precopy *pc = &r->precopy;
	int ret;

	pc->done = true;
	pc->bandwidth = o->bandwidth;
	pc->downtime_s = (double)o->downtime_ns / 1e9;
	pc->max_rounds = o->max_rounds ? o->max_rounds : PS_PRECOPY_DEFAULT_ROUNDS;
	ret = simulate(rec, r, (double)o->bandwidth, pc->downtime_s, pc->max_rounds, pc, true);
	if (ret < 0 || pc->outcome == PS_PRECOPY_CONVERGED)
		return ret;

	/* The smallest bandwidth at which it converges within the recording:
	 * double until it does, then bisect on a log scale. */
	struct ps_precopy t = { 0 };
	double lo = (double)o->bandwidth, hi = lo;
	bool found = false;
	while (hi < 1e15) {
		hi *= 2;
		if ((ret = simulate(rec, r, hi, pc->downtime_s, pc->max_rounds, &t, false)) < 0)
			return ret;
		if (t.outcome == PS_PRECOPY_CONVERGED) {
			found = true;
			break;
		}
		lo = hi;
	}
	if (!found)
		return 0;
	for (int i = 0; i < 40 && hi / lo > 1.001; i++) {
		double mid = sqrt(lo * hi);
		if ((ret = simulate(rec, r, mid, pc->downtime_s, pc->max_rounds, &t, false)) < 0)
			return ret;
		if (t.outcome == PS_PRECOPY_CONVERGED)
			hi = mid;
		else
			lo = mid;
	}
	pc->needed_bandwidth = hi;
	return 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct ps_report_process *x = a, *y = b;
	uint64_t xu = x->rep ? x->rep->unique_pages : 0, yu = y->rep ? y->rep->unique_pages : 0;
	uint64_t xw = x->rep ? x->rep->page_writes : 0, yw = y->rep ? y->rep->page_writes : 0;
	if (xu != yu)
		return xu < yu ? 1 : -1;
	if (xw != yw)
		return xw < yw ? 1 : -1;
	if (x->proc->pid != y->proc->pid)
		return x->proc->pid < y->proc->pid ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

static int analyse(const struct ps_recording *rec, const struct ps_report_opts *o, struct ps_report **ret,
                   struct ps_warnings *w, struct ps_err *err);
static void report_free_fields(struct ps_report *r);

/* ---- --compare soft-dirty ------------------------------------------------------- */

double ps_report_sd_false_share(const struct ps_sd_counts *c)
{
	return c->soft_dirty_pages ? (double)c->false_pages / (double)c->soft_dirty_pages : 0;
}

static int cmp_sd_addr(const void *a, const void *b)
{
	const struct ps_report_sd_mapping *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->mapping, y->mapping);
}

static int cmp_sd_worst(const void *a, const void *b)
{
	const struct ps_report_sd_mapping *x = a, *y = b;
	if (x->c.false_pages != y->c.false_pages)
		return x->c.false_pages < y->c.false_pages ? 1 : -1;
	if (x->c.soft_dirty_pages != y->c.soft_dirty_pages)
		return x->c.soft_dirty_pages < y->c.soft_dirty_pages ? 1 : -1;
	return cmp_sd_addr(a, b);
}

/* The intervals' comparisons summed, their false-positive shares, and the
 * mappings' sums (one per start and name). */
static int soft_dirty(const struct ps_recording *rec, struct ps_report *r, struct ps_warnings *w)
{
	struct ps_report_sd *sd = &r->sd;
	struct ps_samples shares = { 0 };

	if (!rec->soft_dirty)
		return 0;
	sd->present = true;
	for (size_t i = 0; i < rec->niv; i++) {
		const struct ps_rec_interval *iv = &rec->iv[i];
		if (!iv->has_sd)
			continue;
		sd->intervals++;
		ps_sd_counts_add(&sd->c, &iv->sd);
		if (iv->sd.soft_dirty_pages && ps_samples_add(&shares, ps_report_sd_false_share(&iv->sd)) < 0) {
			ps_samples_free(&shares);
			return -ENOMEM;
		}
	}
	ps_summarize(&shares, &sd->false_share);
	ps_samples_free(&shares);
	if (rec->nsd_maps) {
		sd->map = malloc(rec->nsd_maps * sizeof(*sd->map));
		if (!sd->map)
			return -ENOMEM;
		for (size_t i = 0; i < rec->nsd_maps; i++)
			sd->map[i] = (struct ps_report_sd_mapping){ .start = rec->sd_maps[i].start,
			                                            .mapping = rec->sd_maps[i].mapping,
			                                            .c = rec->sd_maps[i].c };
		qsort(sd->map, rec->nsd_maps, sizeof(*sd->map), cmp_sd_addr);
		size_t n = 0;
		for (size_t i = 0; i < rec->nsd_maps; i++) {
			if (n && cmp_sd_addr(&sd->map[n - 1], &sd->map[i]) == 0)
				ps_sd_counts_add(&sd->map[n - 1].c, &sd->map[i].c);
			else
				sd->map[n++] = sd->map[i];
		}
		sd->nmap = n;
		qsort(sd->map, n, sizeof(*sd->map), cmp_sd_worst);
	}
	if (rec->end_has_sd && sd->intervals == rec->niv &&
	    (rec->end_sd.soft_dirty_pages != sd->c.soft_dirty_pages || rec->end_sd.false_pages != sd->c.false_pages))
		ps_warnings_add(w, "the end record counts %llu soft-dirty pages and %llu false positives, the "
		                "intervals %llu and %llu (intervals missing from the recording?)",
		                (unsigned long long)rec->end_sd.soft_dirty_pages, (unsigned long long)rec->end_sd.false_pages,
		                (unsigned long long)sd->c.soft_dirty_pages, (unsigned long long)sd->c.false_pages);
	return 0;
}

/* A workload's processes: each one's own analysis, busiest first. */
static int processes(const struct ps_recording *rec, struct ps_report *r, struct ps_warnings *w, struct ps_err *err)
{
	r->procs = calloc(rec->nprocs, sizeof(*r->procs));
	if (!r->procs)
		return ps_errf(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < rec->nprocs; i++) {
		const struct ps_rec_process *p = &rec->procs[i];
		r->procs[r->nprocs].proc = p;
		if (p->rec->niv) {
			int e = analyse(p->rec, NULL, &r->procs[r->nprocs].rep, w, err);
			if (e < 0)
				return e;
			if (r->procs[r->nprocs].rep->unique_pages != p->recorded_wss_pages)
				ps_warnings_add(w, "process %lld (%s) says it wrote %llu distinct pages, its intervals "
				                "hold %llu", (long long)p->pid, p->command,
				                (unsigned long long)p->recorded_wss_pages,
				                (unsigned long long)r->procs[r->nprocs].rep->unique_pages);
		}
		r->nprocs++;
	}
	if (r->nprocs)
		qsort(r->procs, r->nprocs, sizeof(*r->procs), cmp_proc);
	return 0;
}

int ps_report_analyse(const struct ps_recording *rec, const struct ps_report_opts *o, struct ps_report **ret,
                      struct ps_warnings *w, struct ps_err *err)
{
	int e = analyse(rec, o, ret, w, err);
	if (e < 0 || !rec->workload || !rec->nprocs)
		return e;
	if ((e = processes(rec, *ret, w, err)) < 0) {
		ps_report_free(*ret);
		*ret = NULL;
	}
	return e;
}

/* One recording's analysis (a workload's as a whole, or one process's). */
static int analyse(const struct ps_recording *rec, const struct ps_report_opts *o, struct ps_report **ret,
                   struct ps_warnings *w, struct ps_err *err)
{
	struct ps_report *r = calloc(1, sizeof(*r));
	struct ps_samples rates = { 0 };
	size_t n = rec->niv;

	if (!r)
		return ps_errf(err, ENOMEM, "out of memory");
	if (n == 0 || n > UINT32_MAX - 1) {
		free(r);
		return ps_errf(err, EINVAL, "no intervals to analyse");
	}
	r->intervals = n;
	r->first_seq = rec->iv[0].seq;
	r->last_seq = rec->iv[n - 1].seq;
	r->duration_s = rec->has_end && rec->end_duration_s >= 0 ? rec->end_duration_s : rec->iv[n - 1].time_s;
	r->tracked_pages = r->tracked_pages_max = rec->tracked_pages;
	r->iv_start = malloc(n * sizeof(*r->iv_start));
	r->iv_end = malloc(n * sizeof(*r->iv_end));
	if (!r->iv_start || !r->iv_end)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const struct ps_rec_interval *iv = &rec->iv[i];
		r->iv_end[i] = iv->time_s;
		r->iv_start[i] = iv->time_s - iv->elapsed_s;
		if (r->iv_start[i] < 0)
			r->iv_start[i] = 0;
		/* Rounding in the recording (microseconds) must not make neighbours overlap. */
		if (i && r->iv_start[i] < r->iv_end[i - 1])
			r->iv_start[i] = r->iv_end[i - 1];
		if (iv->tracked_pages > r->tracked_pages_max)
			r->tracked_pages_max = iv->tracked_pages;
		/* sampled: the recorded estimates (docs/sampling.md) */
		if (iv->elapsed_s > 0 && ps_samples_add(&rates, (double)iv->est_pages / iv->elapsed_s) < 0)
			goto oom;
	}
	ps_summarize(&rates, &r->rate);
	ps_samples_free(&rates);

	if (build_mappings(rec, r) < 0 || paint(rec, r, w) < 0 || windows(rec, r) < 0 || soft_dirty(rec, r, w) < 0)
		goto oom;
	if (rec->end_has_wss && !rec->accumulate && !(rec->sample_fraction > 0) && rec->end_wss_pages != r->unique_pages)
		ps_warnings_add(w, "the end record says %llu distinct pages were written, the intervals hold %llu "
		                "(intervals missing from the recording?)", (unsigned long long)rec->end_wss_pages,
		                (unsigned long long)r->unique_pages);
	if (o && o->bandwidth && precopy(rec, r, o) < 0)
		goto oom;
	*ret = r;
	return 0;
oom:
	ps_samples_free(&rates);
	report_free_fields(r);
	return ps_errf(err, ENOMEM, "out of memory");
}

/* Everything but the processes (a process's own report has none). */
static void report_free_fields(struct ps_report *r)
{
	free(r->win);
	free(r->map);
	free(r->precopy.rounds);
	free(r->sd.map);
	free(r->pair);
	free(r->pair_at);
	free(r->iv_start);
	free(r->iv_end);
	free(r);
}

void ps_report_free(struct ps_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].rep)
			report_free_fields(r->procs[i].rep);
	free(r->procs);
	report_free_fields(r);
}
