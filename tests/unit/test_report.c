/* SPDX-License-Identifier: MIT */
/* Recordings and reports: the recording reader and the analysis on
 * hand-made recordings whose answers are worked out here (and on random ones
 * against a brute force), and the text, JSON and SVG renderings. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/json.h"
#include "pagescan/model/recording.h"
#include "pagescan/model/report.h"
#include "pagescan/render/report_fmt.h"
#include "tap.h"

#define EPS 1e-9
#define PAGE 4096ull
#define BASE 0x10000000ull

/* ---- recordings --------------------------------------------------------------------- */

#define START(tracked, engaged) \
	"{\"type\":\"start\",\"format_version\":1,\"pagescan\":\"0.1.0\",\"pid\":42,\"command\":\"t\"," \
	"\"interval_s\":1.000,\"page_size\":4096,\"mode\":\"interval\",\"tracked_pages\":" #tracked "," \
	"\"engaged\":[" engaged "],\"skipped\":[]}\n"
#define ANON16 "{\"start\":\"0x10000000\",\"end\":\"0x10010000\",\"pages\":16,\"mapping\":\"[anon]\"}"
#define IV(seq, pages, regions) \
	"{\"type\":\"interval\",\"seq\":" #seq ",\"time_s\":" #seq ".000000,\"elapsed_s\":1.000000," \
	"\"written_pages\":" #pages ",\"harvest_us\":5,\"tracked_pages\":16,\"regions\":[" regions "]," \
	"\"mappings\":[],\"engaged\":[],\"dropped\":[]}\n"
#define R(s, e, n) "{\"start\":\"" s "\",\"end\":\"" e "\",\"pages\":" #n ",\"mapping\":\"[anon]\"}"

/* Pages written: I1 {0-3}, I2 {2-5}, I3 {}, I4 {0-7}, I5 {8}, I6 {0-3}. */
static const char rec1[] =
	START(16, ANON16)
	IV(1, 4, R("0x10000000", "0x10004000", 4))
	IV(2, 4, R("0x10002000", "0x10006000", 4))
	IV(3, 0, "")
	IV(4, 8, R("0x10000000", "0x10008000", 8))
	IV(5, 1, R("0x10008000", "0x10009000", 1))
	IV(6, 4, R("0x10000000", "0x10004000", 4))
	"{\"type\":\"end\",\"reason\":\"count\",\"intervals\":6,\"duration_s\":6.000100,\"wss_pages\":9,"
	"\"wss_bytes\":36864,\"rate_pages_s\":{\"mean\":3.5,\"p50\":4.0,\"p95\":7.0,\"max\":8.0},\"hottest\":[]}\n";

static int load(const char *text, size_t len, struct ps_recording **rec, struct ps_report **rep,
                const struct ps_report_opts *o, struct ps_warnings *w)
{
	struct ps_err err = { 0 };
	*rec = NULL;
	*rep = NULL;
	int r = ps_recording_parse(text, len, rec, w, &err);
	if (r < 0) {
		printf("# %s\n", err.msg);
		return r;
	}
	r = ps_report_analyse(*rec, o, rep, w, &err);
	if (r < 0) {
		printf("# %s\n", err.msg);
		ps_recording_free(*rec);
		*rec = NULL;
	}
	return *rep ? r : -EINVAL;
}

static bool has_warning(const struct ps_warnings *w, const char *needle)
{
	for (size_t i = 0; i < w->n; i++)
		if (strstr(w->msg[i], needle))
			return true;
	return false;
}

static void dump_warnings(const struct ps_warnings *w)
{
	for (size_t i = 0; i < w->n; i++)
		printf("#   warning: %s\n", w->msg[i]);
}

static void test_hand_made(void)
{
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };

	if (!ok(load(rec1, sizeof(rec1) - 1, &rec, &r, NULL, &w) == 0, "rec1 loads") || !r)
		return;
	is_u64(w.n, 0, "rec1: no warnings");
	dump_warnings(&w);
	is_u64(r->intervals, 6, "rec1: 6 intervals");
	is_dbl(r->duration_s, 6.0001, EPS, "rec1: duration from the end record");
	is_u64(r->tracked_pages, 16, "rec1: tracked pages");
	is_u64(r->unique_pages, 9, "rec1: unique pages = |{0..8}|");
	is_u64(r->page_writes, 21, "rec1: page writes 4+4+0+8+1+4");
	is_u64(r->once_pages, 3, "rec1: pages 6, 7 and 8 are written once");

	/* Rates 4,4,0,8,1,4 pages/s; sorted 0,1,4,4,4,8. */
	is_dbl(r->rate.mean, 3.5, EPS, "rec1: rate mean");
	is_dbl(r->rate.stddev, sqrt(39.5 / 6), EPS, "rec1: rate population stddev");
	is_dbl(r->rate.p50, 4, EPS, "rec1: p50");
	is_dbl(r->rate.p95, 7, EPS, "rec1: p95 = 4 + 0.75 x (8 - 4)");
	is_dbl(r->rate.p99, 7.8, EPS, "rec1: p99 = 4 + 0.95 x (8 - 4)");
	is_dbl(r->rate.max, 8, EPS, "rec1: max");

	/* Windows: 1, 2, 5 and the whole (6). */
	is_u64(r->nwin, 4, "rec1: window lengths 1 2 5 6");
	if (r->nwin == 4) {
		is_u64(r->win[0].len, 1, "w1 len");
		is_dbl(r->win[0].mean_pages, 21.0 / 6, EPS, "w1 mean = 21/6");
		is_u64(r->win[0].max_pages, 8, "w1 max");
		is_u64(r->win[0].max_seq, 4, "w1 max at interval 4");
		is_dbl(r->win[0].seconds, 1, EPS, "w1 lasts 1 s");
		/* [1,2] {0-5}=6, [2,3] {2-5}=4, [3,4] 8, [4,5] {0-8}=9, [5,6] {0-3,8}=5 */
		is_u64(r->win[1].len, 2, "w2 len");
		is_dbl(r->win[1].mean_pages, 32.0 / 5, EPS, "w2 mean = (6+4+8+9+5)/5");
		is_u64(r->win[1].max_pages, 9, "w2 max");
		is_u64(r->win[1].max_seq, 4, "w2 max at interval 4");
		is_u64(r->win[2].len, 5, "w5 len");
		is_dbl(r->win[2].mean_pages, 9, EPS, "w5 mean: both windows hold {0-8}");
		is_u64(r->win[2].max_seq, 1, "w5 first maximal window starts at 1");
		is_u64(r->win[3].len, 6, "whole recording as the last window");
		is_u64(r->win[3].max_pages, 9, "whole = unique pages");
	}
	is_u64(ps_report_distinct(r, 1, 3), 8, "distinct in I2..I4 = {0-7}");
	is_u64(ps_report_distinct(r, 2, 2), 0, "distinct in I3 (empty)");
	is_u64(ps_report_distinct(r, 4, 5), 5, "distinct in I5..I6 = {0-3,8}");

	/* Dirtied over time spans: partial intervals count whole. */
	uint64_t p;
	ok(ps_report_dirtied(r, 0, 2, &p) && p == 6, "dirtied in [0,2): I1 and I2 = 6 pages");
	ok(ps_report_dirtied(r, 1.5, 0.1, &p) && p == 4, "dirtied in [1.5,1.6): I2 counts whole");
	ok(ps_report_dirtied(r, 2, 1, &p) && p == 0, "dirtied in [2,3): I3 only, nothing");
	ok(ps_report_dirtied(r, 2.999, 0.01, &p) && p == 8, "dirtied across the I3/I4 boundary");
	ok(!ps_report_dirtied(r, 5.5, 1, &p), "a span past the end of the recording");

	is_u64(r->nmap, 1, "rec1: one mapping");
	if (r->nmap == 1) {
		is_str(r->map[0].mapping, "[anon]", "mapping name");
		is_u64(r->map[0].tracked_pages, 16, "mapping tracked");
		is_u64(r->map[0].written_pages, 9, "mapping written");
		is_u64(r->map[0].page_writes, 21, "mapping page writes (mean 21/9 intervals per page)");
		is_u64(r->map[0].once_pages, 3, "mapping written once");
	}
	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);
}

/* ---- a recording builder for the bigger cases --------------------------------------- */

struct sb {
	char *s;
	size_t len;
	FILE *f;
};

static void sb_open(struct sb *b)
{
	b->s = NULL;
	b->f = open_memstream(&b->s, &b->len);
}

static void sb_close(struct sb *b)
{
	fclose(b->f);
}

static void b_start(struct sb *b, double interval, uint64_t tracked, const char *mode)
{
	fprintf(b->f, "{\"type\":\"start\",\"format_version\":1,\"pagescan\":\"0.1.0\",\"pid\":7,\"command\":\"b\","
	              "\"interval_s\":%.3f,\"page_size\":4096,\"mode\":\"%s\",\"tracked_pages\":%llu,\"engaged\":"
	              "[{\"start\":\"0x%llx\",\"end\":\"0x%llx\",\"pages\":%llu,\"mapping\":\"[anon]\"}],\"skipped\":[]}\n",
	        interval, mode, (unsigned long long)tracked, BASE, BASE + tracked * PAGE, (unsigned long long)tracked);
}

/* set: bitmap of pages (64 at most) */
static void b_interval(struct sb *b, uint64_t seq, double time, double elapsed, uint64_t set)
{
	int first = 1, n = 0;
	fprintf(b->f, "{\"type\":\"interval\",\"seq\":%llu,\"time_s\":%.6f,\"elapsed_s\":%.6f,\"regions\":[",
	        (unsigned long long)seq, time, elapsed);
	for (int p = 0; p < 64;) {
		if (!(set >> p & 1)) {
			p++;
			continue;
		}
		int q = p;
		while (q < 64 && (set >> q & 1))
			q++;
		fprintf(b->f, "%s{\"start\":\"0x%llx\",\"end\":\"0x%llx\",\"pages\":%d,\"mapping\":\"[anon]\"}",
		        first ? "" : ",", BASE + (uint64_t)p * PAGE, BASE + (uint64_t)q * PAGE, q - p);
		first = 0;
		n += q - p;
		p = q;
	}
	fprintf(b->f, "],\"written_pages\":%d}\n", n);
}

static int popcount64(uint64_t v)
{
	return __builtin_popcountll(v);
}

/* Random recordings against a brute force: windows, distinct, totals. */
static void test_brute_force(void)
{
	uint64_t seed = 88172645463325252ull;
	int bad = 0;

	for (int round = 0; round < 300 && !bad; round++) {
		size_t n = 1 + round % 37;
		uint64_t sets[40];
		struct sb b;
		sb_open(&b);
		b_start(&b, 0.5, 64, "interval");
		for (size_t i = 0; i < n; i++) {
			/* xorshift; sparse, dense and empty sets */
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			uint64_t m = seed;
			switch (seed % 4) {
			case 0: m &= seed >> 11; break;
			case 1: m &= (seed >> 5) & (seed >> 23); break;
			case 2: m = (seed % 5 == 0) ? 0 : m; break;
			default: break;
			}
			sets[i] = m;
			b_interval(&b, i + 1, 0.5 * (double)(i + 1), 0.5, m);
		}
		sb_close(&b);
		struct ps_recording *rec;
		struct ps_report *r;
		struct ps_warnings w = { 0 };
		if (load(b.s, b.len, &rec, &r, NULL, &w) < 0) {
			ok(0, "random recording %d loads", round);
			free(b.s);
			return;
		}
		uint64_t all = 0, writes = 0, once = 0;
		for (size_t i = 0; i < n; i++) {
			all |= sets[i];
			writes += (uint64_t)popcount64(sets[i]);
		}
		for (int p = 0; p < 64; p++) {
			int c = 0;
			for (size_t i = 0; i < n; i++)
				c += (int)(sets[i] >> p & 1);
			once += c == 1;
		}
		if (r->unique_pages != (uint64_t)popcount64(all) || r->page_writes != writes || r->once_pages != once)
			bad++;
		for (size_t i = 0; i < n; i++) {
			uint64_t u = 0;
			for (size_t k = i; k < n; k++) {
				u |= sets[k];
				if (ps_report_distinct(r, i, k) != (uint64_t)popcount64(u))
					bad++;
			}
		}
		for (size_t wi = 0; wi < r->nwin; wi++) {
			uint64_t len = r->win[wi].len, max = 0, sum = 0;
			for (size_t i = 0; i + len <= n; i++) {
				uint64_t u = 0;
				for (size_t k = i; k < i + len; k++)
					u |= sets[k];
				uint64_t c = (uint64_t)popcount64(u);
				sum += c;
				if (c > max)
					max = c;
			}
			if (r->win[wi].max_pages != max ||
			    fabs(r->win[wi].mean_pages - (double)sum / (double)(n - len + 1)) > 1e-9)
				bad++;
		}
		if (bad)
			printf("# random recording %d (n=%zu) differs from the brute force\n", round, n);
		ps_report_free(r);
		ps_recording_free(rec);
		ps_warnings_free(&w);
		free(b.s);
	}
	is_int(bad, 0, "300 random recordings: distinct, windows, totals equal the brute force");
}

/* ---- pre-copy ------------------------------------------------------------------------ */

static void test_precopy_converges(void)
{
	/* 80 intervals of 0.125 s; interval k writes page k-1 only. 128 pages
	 * tracked, 64 pages/s, budget 1/32 s = 2 pages.
	 * round 0: 128 pages, 2 s, [0,2) covers I1..I16: 16 pages dirty;
	 * round 1: 16 pages, 0.25 s, [2,2.25) covers I17, I18: 2 pages, fits. */
	struct sb b;
	sb_open(&b);
	b_start(&b, 0.125, 128, "interval");
	for (int i = 0; i < 80; i++)
		b_interval(&b, (uint64_t)i + 1, 0.125 * (i + 1), 0.125, i < 64 ? 1ull << i : 1ull << (i - 64));
	sb_close(&b);
	struct ps_report_opts o = { .bandwidth = 64 * PAGE, .downtime_ns = 31250000 };
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };
	if (!ok(load(b.s, b.len, &rec, &r, &o, &w) == 0, "converging recording loads") || !r) {
		free(b.s);
		return;
	}
	const struct ps_precopy *pc = &r->precopy;
	ok(pc->done, "precopy simulated");
	is_int(pc->outcome, PS_PRECOPY_CONVERGED, "converges");
	is_u64(pc->nrounds, 2, "after 2 live rounds");
	if (pc->nrounds == 2) {
		is_u64(pc->rounds[0].pages, 128, "round 0 sends the tracked memory");
		is_dbl(pc->rounds[0].duration_s, 2, EPS, "round 0 takes 2 s");
		is_u64(pc->rounds[1].pages, 16, "round 1: pages dirtied during round 0");
		is_dbl(pc->rounds[1].start_s, 2, EPS, "round 1 starts at 2 s");
		is_dbl(pc->rounds[1].duration_s, 0.25, EPS, "round 1 takes 0.25 s");
	}
	is_u64(pc->pending_pages, 2, "stop-and-copy of 2 pages");
	is_dbl(pc->downtime_est_s, 2.0 / 64, EPS, "downtime 2/64 s");
	is_u64(pc->total_bytes, (128 + 16 + 2) * PAGE, "total bytes");
	ok(!pc->short_rounds, "no round shorter than an interval");
	is_u64(r->unique_pages, 64, "80 intervals over 64 pages");
	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);
	free(b.s);
}

static void test_precopy_stuck(void)
{
	/* 10 intervals of 1 s, each writes pages 0-9; 64 pages tracked;
	 * 20 pages/s, budget 0.1 s = 2 pages: every round leaves 10 dirty.
	 * round 0: 64 pages, 3.2 s; then 10 pages, 0.5 s each. */
	struct sb b;
	sb_open(&b);
	b_start(&b, 1, 64, "interval");
	for (int i = 0; i < 10; i++)
		b_interval(&b, (uint64_t)i + 1, i + 1, 1, 0x3ff);
	fprintf(b.f, "{\"type\":\"end\",\"reason\":\"count\",\"intervals\":10,\"duration_s\":10.0}\n");
	sb_close(&b);

	struct ps_report_opts o = { .bandwidth = 20 * PAGE, .downtime_ns = 100000000, .max_rounds = 5 };
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };
	if (!ok(load(b.s, b.len, &rec, &r, &o, &w) == 0, "stuck recording loads") || !r) {
		free(b.s);
		return;
	}
	const struct ps_precopy *pc = &r->precopy;
	is_int(pc->outcome, PS_PRECOPY_MAX_ROUNDS, "does not converge in 5 rounds");
	is_u64(pc->nrounds, 5, "5 live rounds");
	if (pc->nrounds == 5) {
		is_dbl(pc->rounds[0].duration_s, 3.2, 1e-9, "round 0: 64 pages at 20 pages/s");
		for (int i = 1; i < 5; i++) {
			is_u64(pc->rounds[i].pages, 10, "round %d: 10 pages", i);
			is_dbl(pc->rounds[i].start_s, 3.2 + 0.5 * (i - 1), 1e-9, "round %d start", i);
		}
	}
	is_u64(pc->pending_pages, 10, "10 pages still dirty");
	is_dbl(pc->downtime_est_s, 0.5, 1e-9, "downtime if stopped: 0.5 s");
	is_u64(pc->total_bytes, (64 + 40 + 10) * PAGE, "total bytes if stopped there");
	/* Converges once 10 pages fit 0.1 s: 100 pages/s. */
	ok(pc->needed_bandwidth >= 100 * PAGE * 0.999 && pc->needed_bandwidth <= 100 * PAGE * 1.0011,
	   "needed bandwidth about 100 pages/s (got %.0f)", pc->needed_bandwidth);
	ps_report_free(r);

	/* With 30 rounds the recording runs out: round k >= 1 ends at 3.2 + 0.5k > 10 for k = 14. */
	o.max_rounds = 0;
	struct ps_err err = { 0 };
	ok(ps_report_analyse(rec, &o, &r, &w, &err) == 0, "analyse again with the default rounds");
	pc = &r->precopy;
	is_u64(pc->max_rounds, PS_PRECOPY_DEFAULT_ROUNDS, "default 30 rounds");
	is_int(pc->outcome, PS_PRECOPY_OUT_OF_DATA, "the recording runs out");
	is_u64(pc->nrounds, 15, "during round 14");
	is_dbl(pc->data_end_s, 10, 1e-9, "recording ends at 10 s");
	is_dbl(pc->needed_until_s, 10.2, 1e-9, "round 14 would end at 10.2 s");
	ok(pc->needed_bandwidth > 0, "a bandwidth at which it converges is given");
	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);
	free(b.s);
}

/* ---- robustness ------------------------------------------------------------------------ */

static void test_cut_and_unknown(void)
{
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };
	const char *end = strstr(rec1, "{\"type\":\"end\"");

	/* The end record cut in the middle, no final newline. */
	size_t cut = (size_t)(end - rec1) + 30;
	if (!ok(load(rec1, cut, &rec, &r, NULL, &w) == 0, "cut-off end record: still read") || !r)
		return;
	ok(has_warning(&w, "line 8 is cut off"), "... with a warning about line 8");
	ok(has_warning(&w, "no end record"), "... and about the missing end record");
	is_u64(r->intervals, 6, "... all 6 intervals");
	is_u64(r->unique_pages, 9, "... same answer");
	is_dbl(r->duration_s, 6, EPS, "... duration from the last interval");
	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);

	/* The last interval cut. */
	const char *iv6 = strstr(rec1, "{\"type\":\"interval\",\"seq\":6");
	if (!ok(load(rec1, (size_t)(iv6 - rec1) + 50, &rec, &r, NULL, &w) == 0, "cut-off interval: still read") || !r)
		return;
	ok(has_warning(&w, "line 7 is cut off"), "... with a warning about line 7");
	is_u64(r->intervals, 5, "... 5 intervals");
	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);

	/* Unknown fields, an unknown record type, a bad line in the middle. */
	const char *iv2 = strstr(rec1, "{\"type\":\"interval\",\"seq\":2");
	const char *iv3 = strstr(rec1, "{\"type\":\"interval\",\"seq\":3");
	char *t = NULL;
	if (asprintf(&t, "%.*s%s%.*s%s%s", (int)(iv2 + 1 - rec1), rec1, "\"future\":{\"x\":[1,2,\"\\u00e9\"]},",
	             (int)(iv3 - (iv2 + 1)), iv2 + 1, "{\"type\":\"marker\",\"at\":1}\n{\"seq\":oops}\n", iv3) < 0)
		return;
	if (!ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "unknown fields and records: still read") || !r) {
		free(t);
		return;
	}
	ok(has_warning(&w, "unknown field \"future\" in interval records"), "... warns about the unknown field");
	ok(has_warning(&w, "unknown record type \"marker\""), "... and the unknown record type");
	ok(has_warning(&w, "is not valid JSON"), "... and the broken line");
	dump_warnings(&w);
	is_u64(r->intervals, 6, "... all 6 intervals");
	is_u64(r->win[1].max_pages, 9, "... same window answer");
	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);
	free(t);

	/* Fields a watch writes only sometimes are known: no warning. */
	t = NULL;
	if (asprintf(&t, "%.*s%s%s", (int)(iv2 + 1 - rec1), rec1, "\"over_budget\":true,", iv2 + 1) < 0)
		return;
	if (!ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "over_budget in an interval: read") || !r) {
		free(t);
		return;
	}
	ok(!has_warning(&w, "unknown field"), "... without an unknown-field warning");
	dump_warnings(&w);
	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);
	free(t);
}

static void test_refused(void)
{
	struct ps_recording *rec = NULL;
	struct ps_warnings w = { 0 };
	struct ps_err err = { 0 };
	char *t = strdup(rec1);
	char *v = strstr(t, "\"format_version\":1");

	v[strlen("\"format_version\":")] = '3';
	is_int(ps_recording_parse(t, strlen(t), &rec, &w, &err), -EPROTONOSUPPORT, "format_version 3 refused");
	ok(strstr(err.msg, "format_version 3") && strstr(err.msg, "newer"), "... clearly: %s", err.msg);
	free(t);

	is_int(ps_recording_parse("hello\n", 6, &rec, &w, &err), -EINVAL, "not JSON: refused");
	ok(strstr(err.msg, "not a pagescan recording") != NULL, "... %s", err.msg);
	const char *iv = strstr(rec1, "{\"type\":\"interval\"");
	is_int(ps_recording_parse(iv, strlen(iv), &rec, &w, &err), -EINVAL, "no start record: refused");
	ok(strstr(err.msg, "not a start record") != NULL, "... %s", err.msg);
	const char *only_start = START(16, ANON16);
	is_int(ps_recording_parse(only_start, strlen(only_start), &rec, &w, &err), -ENODATA, "no intervals: refused");
	is_int(ps_recording_parse("", 0, &rec, &w, &err), -EINVAL, "empty input: refused");
	const char *bad_mode = "{\"type\":\"start\",\"format_version\":1,\"mode\":\"sampled\"}\n";
	is_int(ps_recording_parse(bad_mode, strlen(bad_mode), &rec, &w, &err), -EINVAL, "unknown mode refused");
	ps_warnings_free(&w);
}

static void test_accumulate_and_mappings(void)
{
	/* --accumulate: cumulative sets {0,1}, {0-2}, {0-2,5} -> new pages {0,1}, {2}, {5}. */
	struct sb b;
	sb_open(&b);
	b_start(&b, 1, 16, "accumulate");
	b_interval(&b, 1, 1, 1, 0x3);
	b_interval(&b, 2, 2, 1, 0x7);
	b_interval(&b, 3, 3, 1, 0x27);
	sb_close(&b);
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };
	if (ok(load(b.s, b.len, &rec, &r, NULL, &w) == 0, "accumulate recording loads") && r) {
		ok(has_warning(&w, "--accumulate"), "accumulate: warns about lower bounds");
		is_u64(r->unique_pages, 4, "accumulate: 4 unique pages");
		is_u64(r->page_writes, 4, "accumulate: each page once");
		is_u64(r->win[0].max_pages, 2, "accumulate: at most 2 new pages in an interval");
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	free(b.s);

	/* A heap engaged in two steps is one mapping; an unmapped one is flagged. */
	static const char t[] =
		"{\"type\":\"start\",\"format_version\":1,\"pid\":1,\"command\":\"h\",\"interval_s\":1,\"mode\":\"interval\","
		"\"tracked_pages\":12,\"engaged\":["
		"{\"start\":\"0x1000\",\"end\":\"0x5000\",\"pages\":4,\"mapping\":\"[heap]\"},"
		"{\"start\":\"0x20000\",\"end\":\"0x28000\",\"pages\":8,\"mapping\":\"/lib/libx.so\"}],\"skipped\":[]}\n"
		"{\"type\":\"interval\",\"seq\":1,\"time_s\":1,\"elapsed_s\":1,\"tracked_pages\":16,\"regions\":["
		"{\"start\":\"0x4000\",\"end\":\"0x7000\",\"pages\":3,\"mapping\":\"[heap]\"},"
		"{\"start\":\"0x20000\",\"end\":\"0x21000\",\"pages\":1,\"mapping\":\"/lib/libx.so\"}],"
		"\"engaged\":[{\"start\":\"0x5000\",\"end\":\"0x9000\",\"pages\":4,\"mapping\":\"[heap]\"}],\"dropped\":[]}\n"
		"{\"type\":\"interval\",\"seq\":2,\"time_s\":2,\"elapsed_s\":1,\"tracked_pages\":8,\"regions\":["
		"{\"start\":\"0x4000\",\"end\":\"0x5000\",\"pages\":1,\"mapping\":\"[heap]\"}],"
		"\"engaged\":[],\"dropped\":[{\"start\":\"0x20000\",\"end\":\"0x28000\",\"mapping\":\"/lib/libx.so\"}]}\n"
		"{\"type\":\"end\",\"reason\":\"signal\",\"intervals\":2,\"duration_s\":2.0,\"wss_pages\":4}\n";
	if (ok(load(t, sizeof(t) - 1, &rec, &r, NULL, &w) == 0, "two-mapping recording loads") && r) {
		is_u64(w.n, 0, "no warnings");
		dump_warnings(&w);
		is_u64(r->nmap, 2, "two mappings");
	if (r->nmap == 2) {
			is_str(r->map[0].mapping, "[heap]", "heap first (by address)");
			is_u64(r->map[0].start, 1, "heap from page 1");
			is_u64(r->map[0].end, 9, "heap grown to page 9: one mapping");
			is_u64(r->map[0].tracked_pages, 8, "heap tracked 8 pages");
			is_u64(r->map[0].written_pages, 3, "heap: 3 distinct pages");
			is_u64(r->map[0].page_writes, 4, "heap: page 4 twice");
			is_u64(r->map[0].once_pages, 2, "heap: pages 5, 6 once");
			ok(!r->map[0].dropped, "heap stayed");
			is_u64(r->map[1].written_pages, 1, "libx: 1 page");
			ok(r->map[1].dropped, "libx was unmapped");
		}
		is_u64(r->tracked_pages_max, 16, "tracked at most 16 pages");
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
}

/* The loader's early writes: pages in a mapping the recording lists as
 * readonly_written are explained (no warning; a mapping of their own, not
 * tracked, never merged with the engaged one next to it); pages in neither
 * an engaged nor such a range are warned about. */
static void test_readonly_written(void)
{
#define RO_START \
	"{\"type\":\"start\",\"format_version\":1,\"pid\":1,\"command\":\"t\",\"interval_s\":1,\"mode\":\"interval\"," \
	"\"tracked_pages\":2,\"engaged\":[{\"start\":\"0x1000\",\"end\":\"0x3000\",\"pages\":2,\"mapping\":\"/bin/t\"}]," \
	"\"skipped\":[]}\n"
#define RO_IV(extra, ro) \
	"{\"type\":\"interval\",\"seq\":1,\"time_s\":1,\"elapsed_s\":1,\"tracked_pages\":4,\"regions\":[" \
	"{\"start\":\"0x1000\",\"end\":\"0x2000\",\"pages\":1,\"mapping\":\"/bin/t\"}," \
	"{\"start\":\"0x10000\",\"end\":\"0x14000\",\"pages\":4,\"mapping\":\"/lib/libc.so.6\"}," \
	"{\"start\":\"0x14000\",\"end\":\"0x15000\",\"pages\":1,\"mapping\":\"/lib/libc.so.6\"}" extra "]," \
	"\"engaged\":[{\"start\":\"0x14000\",\"end\":\"0x16000\",\"pages\":2,\"mapping\":\"/lib/libc.so.6\"}]," \
	"\"dropped\":[]" ro "}\n"
#define RO_LIST ",\"readonly_written\":[{\"start\":\"0x10000\",\"end\":\"0x14000\",\"pages\":4,\"mapping\":\"/lib/libc.so.6\"}]"
#define RO_END "{\"type\":\"end\",\"reason\":\"target-exit\",\"intervals\":1,\"duration_s\":1.0,\"wss_pages\":6}\n"
	static const char clean[] = RO_START RO_IV("", RO_LIST) RO_END;
	static const char doctored[] =
		RO_START RO_IV(",{\"start\":\"0x30000\",\"end\":\"0x32000\",\"pages\":2,\"mapping\":\"[anon]\"}", RO_LIST) RO_END;
	static const char old[] = RO_START RO_IV("", "") RO_END;
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };

	if (ok(load(clean, sizeof(clean) - 1, &rec, &r, NULL, &w) == 0, "readonly_written: loads") && r) {
		is_u64(w.n, 0, "readonly_written: no warning");
		dump_warnings(&w);
		is_u64(r->unique_pages, 6, "readonly_written: 6 pages written in all");
		ok(r->nmap == 3 && r->map[1].start == 0x10 && r->map[1].end == 0x14 && r->map[1].readonly_written &&
		   r->map[1].tracked_pages == 0 && r->map[1].written_pages == 4,
		   "the read-only libc piece: its own mapping, 4 pages written, none tracked");
		ok(r->nmap == 3 && r->map[2].start == 0x14 && !r->map[2].readonly_written && r->map[2].tracked_pages == 2 &&
		   r->map[2].written_pages == 1, "the writable libc piece next to it: engaged, not merged");
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	w = (struct ps_warnings){ 0 };
	if (ok(load(doctored, sizeof(doctored) - 1, &rec, &r, NULL, &w) == 0, "doctored: loads") && r) {
		ok(has_warning(&w, "2 written pages lie outside every engaged range"), "doctored: 2 pages warned about");
		is_u64(r->unique_pages, 8, "doctored: counted in the totals");
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	w = (struct ps_warnings){ 0 };
	if (ok(load(old, sizeof(old) - 1, &rec, &r, NULL, &w) == 0, "no readonly_written key: loads") && r) {
		ok(has_warning(&w, "4 written pages lie outside every engaged range"), "no list: the 4 loader pages warned about");
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
}

/* ---- output ------------------------------------------------------------------------------ */

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_output(void)
{
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };
	struct ps_report_opts o = { .bandwidth = 8 * PAGE, .downtime_ns = 200000000 };
	/* A mapping name that needs escaping in XML and JSON: [anon] becomes
	 * <&\">! in the JSON text of the start record, <&">! decoded. */
	const char *m = strstr(rec1, "[anon]\"}],\"skipped\"");
	char *t = NULL;
	if (asprintf(&t, "%.*s<&\\\">!%s", (int)(m - rec1), rec1, m + 6) < 0)
		return;

	if (!ok(load(t, strlen(t), &rec, &r, &o, &w) == 0, "output: loads") || !r) {
		free(t);
		return;
	}
	struct ps_out out;
	ps_out_init(&out, -1);
	ps_report_text(&out, rec, r);
	ps_out_chr(&out, '\0');
	ok(strstr(out.buf, "unique pages written: 9 (36K)") != NULL, "text: unique pages");
	ok(strstr(out.buf, "converges after 2 live rounds") != NULL, "text: convergence");
	ok(strstr(out.buf, "p95 7  p99 8  max 8") != NULL, "text: percentiles");
	ps_out_free(&out);

	ps_out_init(&out, -1);
	ps_report_json(&out, rec, r, &w);
	struct ps_json j = { 0 };
	is_int(ps_json_parse(&j, out.buf, out.len), 0, "json report: parses with our own reader");
	ps_out_chr(&out, '\0');
	is_u64(count(out.buf, "\n"), 1, "json report: one line");
	uint64_t u;
	uint32_t s = ps_json_get(&j, 0, "summary");
	ok(ps_json_u64(&j, ps_json_get(&j, s, "unique_pages"), &u) == 0 && u == 9, "json report: unique_pages");
	uint32_t pc = ps_json_get(&j, 0, "precopy");
	is_str(ps_json_str(&j, ps_json_get(&j, pc, "outcome"), NULL), "converged", "json report: outcome");
	uint32_t maps = ps_json_get(&j, 0, "mappings");
	is_str(ps_json_str(&j, ps_json_get(&j, j.node[maps].a, "mapping"), NULL), "<&\">!",
	       "json report: mapping name escaped and read back");
	ps_json_free(&j);
	ps_out_free(&out);

	ps_out_init(&out, -1);
	ps_report_svg(&out, rec, r);
	ps_out_chr(&out, '\0');
	ok(strncmp(out.buf, "<?xml", 5) == 0, "svg: XML declaration");
	is_u64(count(out.buf, "<svg"), 1, "svg: one svg element");
	ok(strstr(out.buf, "</svg>\n") != NULL, "svg: closed");
	ok(strstr(out.buf, "&lt;&amp;&quot;&gt;!") != NULL, "svg: label XML-escaped");
	ok(!strstr(out.buf, "href") && !strstr(out.buf, "<script") && !strstr(out.buf, "@import") &&
	   !strstr(out.buf, "url("), "svg: no external references");
	ok(!strstr(out.buf, "nan") && !strstr(out.buf, "inf"), "svg: no NaN or infinity");
	is_u64(count(out.buf, "<g"), count(out.buf, "</g>"), "svg: groups balanced");
	is_u64(count(out.buf, "<text"), count(out.buf, "</text>"), "svg: texts balanced");
	ps_out_free(&out);

	ps_report_free(r);
	ps_recording_free(rec);
	ps_warnings_free(&w);
	free(t);
}

/* A workload (format_version 2, tests/fuzz/corpus/fuzz_report/seed06): a
 * parent 42 and a child 43 each write private pages 0-1 of [anon] (their
 * own pages) and pages of one memfd (dev 00:01, inode 7) by file offset:
 * 42 pages 0-1, 43 pages 1-2 in interval 1; 43 exits; 42 writes [anon] 1-2
 * and memfd page 3 in interval 2. The workload: 7 pages in interval 1 (4
 * own + 3 shared), 3 in interval 2, 9 distinct (5 own + 4 shared). */
static const char recw[] =
	"{\"type\":\"start\",\"format_version\":2,\"pagescan\":\"0.1.0\",\"pid\":42,\"command\":\"p\",\"workload\":\"tree\",\"processes\":2,\"max_processes\":64,\"interval_s\":1.000,\"page_size\":4096,\"mode\":\"interval\",\"region_lists\":true,\"tracked_pages\":48}\n"
	"{\"type\":\"process\",\"event\":\"start\",\"pid\":42,\"command\":\"p\",\"time_s\":0.000001,\"tracked_pages\":24,\"engaged\":[{\"start\":\"0x10000000\",\"end\":\"0x10008000\",\"pages\":8,\"mapping\":\"[anon]\"},{\"start\":\"0x20000000\",\"end\":\"0x20010000\",\"pages\":16,\"mapping\":\"/memfd:m (deleted)\"}],\"skipped\":[]}\n"
	"{\"type\":\"process\",\"event\":\"start\",\"pid\":43,\"command\":\"c\",\"time_s\":0.000002,\"tracked_pages\":24,\"engaged\":[{\"start\":\"0x10000000\",\"end\":\"0x10008000\",\"pages\":8,\"mapping\":\"[anon]\"},{\"start\":\"0x20000000\",\"end\":\"0x20010000\",\"pages\":16,\"mapping\":\"/memfd:m (deleted)\"}],\"skipped\":[]}\n"
	"{\"type\":\"interval\",\"seq\":1,\"time_s\":1.000000,\"elapsed_s\":1.000000,\"written_pages\":7,\"harvest_us\":9,\"tracked_pages\":48,\"wss_pages\":7,\"shared_written_pages\":3,\"shared_wss_pages\":3,\"processes\":[{\"pid\":42,\"command\":\"p\",\"written_pages\":4,\"shared_written_pages\":2,\"wss_pages\":4,\"tracked_pages\":24,\"harvest_us\":5,\"regions\":[{\"start\":\"0x10000000\",\"end\":\"0x10002000\",\"pages\":2,\"mapping\":\"[anon]\"},{\"start\":\"0x20000000\",\"end\":\"0x20002000\",\"pages\":2,\"mapping\":\"/memfd:m (deleted)\",\"shared\":{\"dev\":\"00:01\",\"inode\":7,\"offset\":\"0x0\"}}],\"mappings\":[],\"engaged\":[],\"dropped\":[],\"readonly_written\":[]},{\"pid\":43,\"command\":\"c\",\"written_pages\":4,\"shared_written_pages\":2,\"wss_pages\":4,\"tracked_pages\":24,\"harvest_us\":4,\"regions\":[{\"start\":\"0x10000000\",\"end\":\"0x10002000\",\"pages\":2,\"mapping\":\"[anon]\"},{\"start\":\"0x20001000\",\"end\":\"0x20003000\",\"pages\":2,\"mapping\":\"/memfd:m (deleted)\",\"shared\":{\"dev\":\"00:01\",\"inode\":7,\"offset\":\"0x1000\"}}],\"mappings\":[],\"engaged\":[],\"dropped\":[],\"readonly_written\":[]}]}\n"
	"{\"type\":\"process\",\"event\":\"exit\",\"pid\":43,\"command\":\"c\",\"time_s\":1.500000,\"reason\":\"exit\",\"intervals\":1,\"wss_pages\":4}\n"
	"{\"type\":\"interval\",\"seq\":2,\"time_s\":2.000000,\"elapsed_s\":1.000000,\"written_pages\":3,\"harvest_us\":5,\"tracked_pages\":24,\"wss_pages\":9,\"shared_written_pages\":1,\"shared_wss_pages\":4,\"processes\":[{\"pid\":42,\"command\":\"p\",\"written_pages\":3,\"shared_written_pages\":1,\"wss_pages\":6,\"tracked_pages\":24,\"harvest_us\":5,\"regions\":[{\"start\":\"0x10001000\",\"end\":\"0x10003000\",\"pages\":2,\"mapping\":\"[anon]\"},{\"start\":\"0x20003000\",\"end\":\"0x20004000\",\"pages\":1,\"mapping\":\"/memfd:m (deleted)\",\"shared\":{\"dev\":\"00:01\",\"inode\":7,\"offset\":\"0x3000\"}}],\"mappings\":[],\"engaged\":[],\"dropped\":[],\"readonly_written\":[]}]}\n"
	"{\"type\":\"end\",\"reason\":\"signal\",\"detail\":\"Interrupt\",\"intervals\":2,\"duration_s\":2.000000,\"wss_pages\":9,\"wss_bytes\":36864,\"shared_wss_pages\":4,\"processes\":2,\"untracked_processes\":0,\"hottest\":[],\"hottest_by\":\"distinct_pages\"}\n";

static void test_workload(void)
{
	struct ps_recording *rec;
	struct ps_report *rep;
	struct ps_warnings w = { 0 };
	struct ps_report_opts o = { .bandwidth = 4 * PAGE, .downtime_ns = 1000000000ull };

	if (load(recw, sizeof(recw) - 1, &rec, &rep, &o, &w) < 0) {
		ok(false, "workload recording loads");
		return;
	}
	ok(rec->workload && rec->nprocs == 2 && strcmp(rec->workload_kind, "tree") == 0, "a workload of 2 processes");
	is_int((long long)rec->iv[0].pages, 7, "interval 1: 7 pages of the workload (shared once)");
	is_int((long long)rec->iv[0].shared_pages, 3, "... 3 of them shared");
	is_int((long long)rec->iv[1].pages, 3, "interval 2: 3 pages");
	is_int((long long)rep->unique_pages, 9, "write working set 9 = the end record's wss_pages");
	is_int((long long)rep->shared_unique_pages, 4, "... 4 shared = shared_wss_pages");
	is_int((long long)rep->page_writes, 10, "page-writes 10");
	is_int((long long)ps_report_distinct(rep, 0, 0), 7, "window of interval 1: 7");
	is_int((long long)rep->nprocs, 2, "2 processes");
	ok(rep->nprocs == 2 && rep->procs[0].proc->pid == 42 && rep->procs[0].rep->unique_pages == 4 + 2,
	   "busiest first: 42 with 6 distinct pages by address");
	ok(rep->nprocs == 2 && rep->procs[1].proc->pid == 43 && rep->procs[1].rep->unique_pages == 4 &&
	   rep->procs[1].proc->exited && strcmp(rep->procs[1].proc->exit_reason, "exit") == 0 &&
	   rep->procs[1].rep->intervals == 1, "then 43: 4 pages, 1 interval, gone (exit)");
	ok(rep->precopy.done && rep->precopy.nrounds >= 1 && rep->precopy.rounds[0].pages == 48,
	   "pre-copy round 0 sends the workload's 48 tracked pages");
	is_int((long long)w.n, 0, "no warnings");
	dump_warnings(&w);

	/* The renderings name each process. */
	struct ps_out out;
	ps_out_init(&out, -1);
	ps_report_text(&out, rec, rep);
	ps_out_chr(&out, '\0');
	ok( strstr(out.buf, "recording: workload of 2 processes (the tree of 42 (p))") &&
	   strstr(out.buf, "4 of them shared") && strstr(out.buf, "(gone: exit)") && strstr(out.buf, "\nprocess 43 (c)"),
	   "text: the workload and its processes");
	ps_out_free(&out);
	ps_out_init(&out, -1);
	ps_report_json(&out, rec, rep, &w);
	struct ps_json j = { 0 };
	ok(ps_json_parse(&j, out.buf, out.len) == 0, "JSON parses");
	uint32_t procs = ps_json_get(&j, 0, "processes");
	ok(procs && j.node[procs].b == 2, "JSON: 2 processes");
	ps_json_free(&j);
	ps_out_free(&out);
	ps_out_init(&out, -1);
	ps_report_svg(&out, rec, rep);
	ps_out_chr(&out, '\0');
	ok( strstr(out.buf, "a workload of 2 processes") && strstr(out.buf, "42 [anon]") &&
	   strstr(out.buf, "shared /memfd:m (deleted)"), "SVG: bands by process, the shared file once");
	ps_out_free(&out);
	ps_report_free(rep);
	ps_recording_free(rec);
	ps_warnings_free(&w);

	/* Without "shared" on regions (recorded by an earlier build), shared
	 * pages count per process and the report says so. */
	char *t = strdup(recw);
	for (char *p; (p = strstr(t, ",\"shared\":{"));) {
		char *e = strchr(p, '}');
		memmove(p, e + 1, strlen(e + 1) + 1);
	}
	struct ps_warnings w2 = { 0 };
	if (load(t, strlen(t), &rec, &rep, NULL, &w2) == 0) {
		is_int((long long)rep->unique_pages, 10, "without \"shared\": memfd pages by address, 3 of 42 + 2 of 43");
		ok(has_warning(&w2, "without \"shared\" on regions"), "... with a warning");
		ps_report_free(rep);
		ps_recording_free(rec);
	} else {
		ok(false, "loads without \"shared\"");
	}
	ps_warnings_free(&w2);
	free(t);
}

/* --compare soft-dirty recordings: the comparisons summed; an interval
 * whose comparison is not valid (more false positives than soft-dirty
 * pages) is left out with a warning; an end record whose sums or interval
 * count disagree with the intervals read is warned about. */
#define START_SD \
	"{\"type\":\"start\",\"format_version\":1,\"pagescan\":\"0.1.0\",\"pid\":42,\"command\":\"t\"," \
	"\"interval_s\":1.000,\"page_size\":4096,\"mode\":\"interval\",\"tracked_pages\":16,\"compare\":\"soft-dirty\"," \
	"\"engaged\":[" ANON16 "],\"skipped\":[]}\n"
#define IV_SD(seq, sd, fp) \
	"{\"type\":\"interval\",\"seq\":" #seq ",\"time_s\":" #seq ".000000,\"elapsed_s\":1.000000," \
	"\"written_pages\":2,\"harvest_us\":5,\"tracked_pages\":16,\"regions\":[" \
	R("0x10000000", "0x10002000", 2) "],\"soft_dirty\":{\"written_pages\":2,\"soft_dirty_pages\":" #sd \
	",\"false_pages\":" #fp ",\"race_pages\":0},\"mappings\":[],\"engaged\":[],\"dropped\":[]}\n"
#define END_SD(intervals, sd, fp) \
	"{\"type\":\"end\",\"reason\":\"count\",\"intervals\":" #intervals ",\"duration_s\":2.000100," \
	"\"wss_pages\":2,\"wss_bytes\":8192,\"rate_pages_s\":{\"mean\":2.0,\"p50\":2.0,\"p95\":2.0,\"max\":2.0}," \
	"\"hottest\":[],\"soft_dirty\":{\"written_pages\":4,\"soft_dirty_pages\":" #sd ",\"false_pages\":" #fp \
	",\"race_pages\":0}}\n"

static void test_soft_dirty_warnings(void)
{
	struct ps_recording *rec;
	struct ps_report *r;
	struct ps_warnings w = { 0 };

	static const char good[] = START_SD IV_SD(1, 6, 4) IV_SD(2, 3, 1) END_SD(2, 9, 5);
	if (ok(load(good, sizeof(good) - 1, &rec, &r, NULL, &w) == 0 && r, "soft-dirty recording: read")) {
		ok(r->sd.present, "... with its comparison");
		is_u64(r->sd.intervals, 2, "... in both intervals");
		is_u64(r->sd.c.soft_dirty_pages, 9, "... soft-dirty pages summed");
		is_u64(r->sd.c.false_pages, 5, "... false positives summed");
		is_u64(w.n, 0, "... no warnings");
		dump_warnings(&w);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);

	static const char end_off[] = START_SD IV_SD(1, 6, 4) IV_SD(2, 3, 1) END_SD(3, 10, 5);
	if (ok(load(end_off, sizeof(end_off) - 1, &rec, &r, NULL, &w) == 0 && r, "an end record that disagrees: read")) {
		ok(has_warning(&w, "the end record counts 10 soft-dirty pages and 5 false positives, the intervals 9 and 5"),
		   "... warns that its soft-dirty sums differ from the intervals'");
		ok(has_warning(&w, "the end record counts 3 intervals, the last one read is 2"),
		   "... and that it counts more intervals than were read");
		dump_warnings(&w);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);

	static const char bad[] = START_SD IV_SD(1, 6, 4) IV_SD(2, 3, 5) END_SD(2, 9, 9);
	if (ok(load(bad, sizeof(bad) - 1, &rec, &r, NULL, &w) == 0 && r, "an invalid comparison: read")) {
		ok(has_warning(&w, "interval 2 has no valid soft_dirty comparison"), "... warns about interval 2");
		is_u64(r->sd.intervals, 1, "... and leaves it out of the comparison");
		is_u64(r->sd.c.soft_dirty_pages, 6, "... which holds interval 1's");
		ok(!has_warning(&w, "the end record counts 9"), "... without comparing the end record to a part");
		is_u64(r->intervals, 2, "... both intervals still in the rest of the report");
		dump_warnings(&w);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
}

/* ---- corrupt numbers and records -------------------------------------------------- */

/* An interval record with its clock and written_pages given as text. */
#define IVF(seq, time, elapsed, pages, regions) \
	"{\"type\":\"interval\",\"seq\":" seq ",\"time_s\":" time ",\"elapsed_s\":" elapsed "," \
	"\"written_pages\":" pages ",\"harvest_us\":5,\"tracked_pages\":16,\"regions\":[" regions "]," \
	"\"mappings\":[],\"engaged\":[],\"dropped\":[]}\n"
#define END2 \
	"{\"type\":\"end\",\"reason\":\"count\",\"intervals\":2,\"duration_s\":2.000100,\"wss_pages\":4}\n"
#define R4 R("0x10000000", "0x10004000", 4)

/* s with every occurrence of from replaced by to (malloc'd). */
static char *subst(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	for (const char *p = s; (p = strstr(p, from)); p += fl)
		n++;
	char *out = malloc(strlen(s) + n * tl + 1), *o = out;
	if (!out)
		abort();
	for (const char *p = s, *q; ; p = q + fl) {
		q = strstr(p, from);
		size_t k = q ? (size_t)(q - p) : strlen(p);
		memcpy(o, p, k);
		o += k;
		if (!q)
			break;
		memcpy(o, to, tl);
		o += tl;
	}
	*o = 0;
	return out;
}

/* Every interval record invalid: refused, the error naming the first
 * reason and how many more records were left out, each warned about
 * (an unknown record type once). */
static void test_no_valid_interval(void)
{
	static const struct {
		const char *what, *text, *reason;
	} cases[] = {
		{ "a bad hex address",
		  START(16, ANON16) IVF("1", "1.0", "1.0", "4", R("0x1000000g", "0x10004000", 4))
		  IVF("2", "2.0", "1.0", "4", R("0x1000000g", "0x10004000", 4)) END2,
		  "line 2: interval 1, region 1: start or end is not a \"0x...\" address" },
		{ "pages that do not fit",
		  START(16, ANON16) IVF("1", "1.0", "1.0", "4", R("0x10000000", "0x10004000", 99999999999999999999))
		  IVF("2", "2.0", "1.0", "4", R("0x10000000", "0x10004000", 99999999999999999999)) END2,
		  "line 2: interval 1, region 1: pages does not match start and end" },
		{ "an end at the top of the address space",
		  START(16, ANON16) IVF("1", "1.0", "1.0", "4", R("0x10000000", "0xffffffffffffffff", 4))
		  IVF("2", "2.0", "1.0", "4", R("0x10000000", "0xffffffffffffffff", 4)) END2,
		  "line 2: interval 1, region 1: start or end is not page-aligned" },
		{ "a negative elapsed_s",
		  START(16, ANON16) IVF("1", "1.0", "-1", "4", R4) IVF("2", "2.0", "-1", "4", R4) END2,
		  "line 2: interval 1: elapsed_s -1 is out of range" },
		{ "elapsed_s 0",
		  START(16, ANON16) IVF("1", "1.0", "0", "4", R4) IVF("2", "2.0", "0.000000", "4", R4) END2,
		  "line 2: interval 1: elapsed_s 0 is out of range" },
		{ "seq as a string",
		  START(16, ANON16) IVF("\"1\"", "1.0", "1.0", "4", R4) IVF("\"2\"", "2.0", "1.0", "4", R4) END2,
		  "line 2: an interval record without a valid seq" },
		{ "time_s as a string",
		  START(16, ANON16) IVF("1", "\"1.0\"", "1.0", "4", R4) IVF("2", "\"2.0\"", "1.0", "4", R4) END2,
		  "line 2: interval 1 has no valid time_s" },
		{ "an unknown record type",
		  START(16, ANON16) "{\"type\":\"intervalX\",\"seq\":1}\n{\"type\":\"intervalX\",\"seq\":2}\n" END2,
		  "line 2: unknown record type \"intervalX\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ps_recording *rec = NULL;
		struct ps_warnings w = { 0 };
		struct ps_err err = { 0 };
		is_int(ps_recording_parse(cases[i].text, strlen(cases[i].text), &rec, &w, &err), -ENODATA,
		       "every interval with %s: refused", cases[i].what);
		ok(strstr(err.msg, "no valid interval records") && strstr(err.msg, cases[i].reason) &&
		   strstr(err.msg, "1 more record left out"), "... naming the first reason: %s", err.msg);
		ok(has_warning(&w, cases[i].reason), "... which is also a warning");
		dump_warnings(&w);
		ps_recording_free(rec);
		ps_warnings_free(&w);
	}

	/* Nothing but a start record: still the plain error. */
	struct ps_recording *rec = NULL;
	struct ps_err err = { 0 };
	const char *only = START(16, ANON16) END2;
	is_int(ps_recording_parse(only, strlen(only), &rec, NULL, &err), -ENODATA, "no interval records: refused");
	ok(strstr(err.msg, "has no interval records") != NULL, "... %s", err.msg);
}

/* Times out of range: the start record refused, an interval ignored (the
 * field and the line named), the end record's duration not used. */
static void test_time_bounds(void)
{
	struct ps_recording *rec = NULL;
	struct ps_report *r;
	struct ps_warnings w = { 0 };
	struct ps_err err = { 0 };

	char *t = subst(rec1, "\"interval_s\":1.000", "\"interval_s\":1e308");
	is_int(ps_recording_parse(t, strlen(t), &rec, &w, &err), -EINVAL, "interval_s 1e308: refused");
	ok(strstr(err.msg, "line 1: the start record's interval_s 1e+308 is out of range") != NULL, "... %s", err.msg);
	free(t);
	t = subst(rec1, "\"interval_s\":1.000", "\"interval_s\":10000000");
	if (ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "interval_s 1e7: read")) {
		is_dbl(rec->interval_s, 1e7, EPS, "... as it is");
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	free(t);

	static const struct {
		const char *what, *from, *to, *warning;
	} cases[] = {
		{ "elapsed_s 0", "\"seq\":2,\"time_s\":2.000000,\"elapsed_s\":1.000000",
		  "\"seq\":2,\"time_s\":2.000000,\"elapsed_s\":0.000000",
		  "line 3: interval 2: elapsed_s 0 is out of range (above 0, at most 10000000 s) (ignored)" },
		{ "elapsed_s 1e308", "\"seq\":2,\"time_s\":2.000000,\"elapsed_s\":1.000000",
		  "\"seq\":2,\"time_s\":2.000000,\"elapsed_s\":1e308",
		  "line 3: interval 2: elapsed_s 1e+308 is out of range" },
		{ "time_s 1e300", "\"seq\":2,\"time_s\":2.000000", "\"seq\":2,\"time_s\":1e300",
		  "line 3: interval 2: time_s 1e+300 is out of range (0 to 1000000000 s) (ignored)" },
		{ "time_s -1", "\"seq\":2,\"time_s\":2.000000", "\"seq\":2,\"time_s\":-1",
		  "line 3: interval 2: time_s -1 is out of range" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = subst(rec1, cases[i].from, cases[i].to);
		if (ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "an interval with %s: read", cases[i].what)) {
			ok(has_warning(&w, cases[i].warning), "... warned: %s", cases[i].warning);
			is_u64(r->intervals, 5, "... the interval ignored");
			ok(r->rate.max < 10, "... and not in the dirty rates (max %g pages/s)", r->rate.max);
			dump_warnings(&w);
			ps_report_free(r);
			ps_recording_free(rec);
		}
		ps_warnings_free(&w);
		free(t);
	}

	/* elapsed_s 0 everywhere: refused (it gave a dirty rate of 0). */
	t = subst(rec1, "\"elapsed_s\":1.000000", "\"elapsed_s\":0");
	is_int(ps_recording_parse(t, strlen(t), &rec, &w, &err), -ENODATA, "elapsed_s 0 in every interval: refused");
	ok(strstr(err.msg, "elapsed_s 0 is out of range") && strstr(err.msg, "5 more records left out"), "... %s",
	   err.msg);
	ps_warnings_free(&w);
	free(t);

	/* The end record's duration_s: warned and replaced by the last interval's end. */
	t = subst(rec1, "\"duration_s\":6.000100", "\"duration_s\":1e308");
	if (ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "duration_s 1e308 in the end record: read")) {
		ok(has_warning(&w, "line 8: the end record's duration_s 1e+308 is out of range"), "... warned");
		is_dbl(r->duration_s, 6, EPS, "... the duration is the last interval's end");
		dump_warnings(&w);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	free(t);

	/* A process event of a workload. */
	t = subst(recw, "\"time_s\":0.000002", "\"time_s\":1e308");
	if (ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "a process start at time_s 1e308: read")) {
		ok(has_warning(&w, "line 3: process event: time_s 1e+308 is out of range"), "... warned");
		ok(has_warning(&w, "process 43 without a start event"), "... the event ignored");
		for (size_t i = 0; i < rec->nprocs; i++)
			ok(rec->procs[i].start_s <= 1, "... process %lld starts at %g s", (long long)rec->procs[i].pid,
			   rec->procs[i].start_s);
		dump_warnings(&w);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	free(t);
}

/* written_pages and tracked_pages that are not page counts. */
static void test_counts_out_of_range(void)
{
	struct ps_recording *rec = NULL;
	struct ps_report *r;
	struct ps_warnings w = { 0 };

	static const char *const bad[] = { "99999999999999999999", "-4", "4.5", "\"4\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *to = NULL;
		if (asprintf(&to, "\"seq\":2,\"time_s\":2.000000,\"elapsed_s\":1.000000,\"written_pages\":%s", bad[i]) < 0)
			return;
		char *t = subst(rec1, "\"seq\":2,\"time_s\":2.000000,\"elapsed_s\":1.000000,\"written_pages\":4", to);
		free(to);
		if (ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "written_pages %s: read", bad[i])) {
			ok(has_warning(&w, "line 3: interval 2 says written_pages ") &&
			   has_warning(&w, ", not a page count, and its regions hold 4 pages (the regions are used)"),
			   "... warned like a mismatch");
			is_u64(r->intervals, 6, "... the interval kept");
			is_u64(rec->iv[1].pages, 4, "... with its regions' pages");
			dump_warnings(&w);
			ps_report_free(r);
			ps_recording_free(rec);
		}
		ps_warnings_free(&w);
		free(t);
	}

	/* tracked_pages beyond a 64-bit address space: 0 in every interval, not
	 * only in the first (warned once). */
	char *t = subst(rec1, "\"tracked_pages\":16,\"regions\"", "\"tracked_pages\":1152921504606846976,\"regions\"");
	if (ok(load(t, strlen(t), &rec, &r, NULL, &w) == 0, "tracked_pages 2^60 in every interval: read")) {
		ok(has_warning(&w, "interval 1 has no valid tracked_pages"), "... warned");
		bool all0 = true;
		for (size_t i = 0; i < rec->niv; i++)
			all0 = all0 && rec->iv[i].tracked_pages == 0;
		ok(all0, "... none of them kept");
		is_u64(r->tracked_pages_max, 16, "... the most tracked is the start record's");
		dump_warnings(&w);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	free(t);

	/* A workload's: its interval's written_pages, a process's. */
	t = subst(recw, "\"written_pages\":7,", "\"written_pages\":99999999999999999999,");
	char *t2 = subst(t, "\"pid\":42,\"command\":\"p\",\"written_pages\":4,",
	                 "\"pid\":42,\"command\":\"p\",\"written_pages\":18446744073709551615,");
	if (ok(load(t2, strlen(t2), &rec, &r, NULL, &w) == 0, "a workload's written_pages out of range: read")) {
		ok(has_warning(&w, "line 4: interval 1 says the workload wrote 99999999999999999999 pages, not a page "
		                   "count"), "... warned");
		is_u64(rec->procs[0].written_pages, 3, "... a process's out of range not summed (3, not a wrapped sum)");
		dump_warnings(&w);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	ps_warnings_free(&w);
	free(t);
	free(t2);
}

int main(void)
{
	test_hand_made();
	test_brute_force();
	test_precopy_converges();
	test_precopy_stuck();
	test_cut_and_unknown();
	test_refused();
	test_accumulate_and_mappings();
	test_readonly_written();
	test_output();
	test_workload();
	test_soft_dirty_warnings();
	test_no_valid_interval();
	test_time_bounds();
	test_counts_out_of_range();
	return tap_done();
}

