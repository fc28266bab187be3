/* SPDX-License-Identifier: MIT */
/* --compare soft-dirty's counting (model/softdirty.h): the sweep against a
 * naive page-by-page oracle over random sets, per-mapping counts and the
 * watch's worst mappings by hand, and the session's order of the soft-dirty
 * calls (read before the harvest, cleared right after it, before the
 * follow, and after the first arming: docs/soft-dirty.md#order-and-race),
 * with the race carried from one tick to the next. */
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/json.h"
#include "pagescan/model/recording.h"
#include "pagescan/model/report.h"
#include "pagescan/model/session.h"
#include "pagescan/model/softdirty.h"
#include "pagescan/model/util.h"
#include "pagescan/render/report_fmt.h"
#include "tap.h"

#define NP 600 /* pages of the random window */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static uint64_t pg(uint64_t n)
{
	return n * PS_PAGE_SIZE;
}

/* Runs of set pages of mark[] as regions. */
static void to_regions(const unsigned char *mark, uint64_t base, struct ps_regions *out)
{
	ps_regions_clear(out);
	for (uint64_t i = 0; i < NP; i++)
		if (mark[i])
			ps_regions_push(out, pg(base + i), pg(base + i + 1), PS_CAT_WRITTEN);
}

static void test_sweep_random(void)
{
	struct ps_regions w = { 0 }, s = { 0 }, rc = { 0 }, none = { 0 }, out = { 0 };
	struct ps_rangeset t = { 0 };
	unsigned char mw[NP], ms[NP], mt[NP], mr[NP];
	bool all = true, pieces = true;

	for (int round = 0; round < 200; round++) {
		/* Runs of random lengths, densities varying by round. */
		uint64_t dw = 1 + rnd(8), ds = 1 + rnd(8), dt = 1 + rnd(4);
		for (uint64_t i = 0; i < NP;) {
			uint64_t len = 1 + rnd(9);
			unsigned char v = rnd(dw + 1) == 0;
			for (uint64_t k = 0; k < len && i < NP; k++)
				mw[i++] = v;
		}
		for (uint64_t i = 0; i < NP;) {
			uint64_t len = 1 + rnd(9);
			unsigned char v = rnd(ds + 1) == 0;
			for (uint64_t k = 0; k < len && i < NP; k++)
				ms[i++] = v;
		}
		for (uint64_t i = 0; i < NP;) {
			uint64_t len = 1 + rnd(60);
			unsigned char v = rnd(dt + 1) != 0;
			for (uint64_t k = 0; k < len && i < NP; k++)
				mt[i++] = v;
		}
		for (uint64_t i = 0; i < NP;) {
			uint64_t len = 1 + rnd(20);
			unsigned char v = rnd(4) == 0;
			for (uint64_t k = 0; k < len && i < NP; k++)
				mr[i++] = v;
		}
		uint64_t base = 0x100 + rnd(1000);
		to_regions(mw, base, &w);
		to_regions(ms, base, &s);
		to_regions(mr, base, &rc);
		ps_rangeset_clear(&t);
		for (uint64_t i = 0; i < NP; i++)
			if (mt[i])
				ps_rangeset_add(&t, pg(base + i), pg(base + i + 1));

		struct ps_sd_counts want = { 0 }, got;
		for (uint64_t i = 0; i < NP; i++) {
			if (mw[i]) {
				want.written_pages++;
				want.soft_dirty_pages += ms[i];
				want.race_pages += !ms[i];
			} else if (ms[i] && mt[i]) {
				want.soft_dirty_pages++;
				/* odd rounds: with the previous tick's race (even: none) */
				bool race = (round & 1) && mr[i];
				want.false_pages += !race;
				want.race_pages += race;
			}
		}
		if (ps_sd_classify(&w, &s, round & 1 ? &rc : &none, &t, &out, &got) < 0 ||
		    got.written_pages != want.written_pages ||
		    got.soft_dirty_pages != want.soft_dirty_pages || got.false_pages != want.false_pages ||
		    got.race_pages != want.race_pages) {
			all = false;
			printf("# round %d: got w%llu s%llu f%llu r%llu, want w%llu s%llu f%llu r%llu\n", round,
			       (unsigned long long)got.written_pages, (unsigned long long)got.soft_dirty_pages,
			       (unsigned long long)got.false_pages, (unsigned long long)got.race_pages,
			       (unsigned long long)want.written_pages, (unsigned long long)want.soft_dirty_pages,
			       (unsigned long long)want.false_pages, (unsigned long long)want.race_pages);
		}
		/* The pieces: sorted, disjoint, each page's membership right. */
		uint64_t last = 0;
		for (size_t k = 0; k < out.n; k++) {
			const struct ps_region *r = &out.r[k];
			if (r->start < last || r->end <= r->start)
				pieces = false;
			last = r->end;
			for (uint64_t a = r->start; a < r->end; a += PS_PAGE_SIZE) {
				uint64_t i = a / PS_PAGE_SIZE - base;
				if (i >= NP) {
					pieces = false;
					break;
				}
				uint64_t cats = (mw[i] ? PS_SD_W : 0) | (ms[i] ? PS_SD_S : 0) |
				                ((round & 1) && !mw[i] && ms[i] && mr[i] ? PS_SD_R : 0);
				if (r->cats != cats || (!mw[i] && !(ms[i] && mt[i])))
					pieces = false;
			}
		}
	}
	ok(all, "the sweep counts written, soft-dirty, false and race pages like the page-by-page oracle");
	ok(pieces, "the pieces are sorted, disjoint and say which pages are written, soft-dirty and the race's");
	ps_regions_free(&w);
	ps_regions_free(&s);
	ps_regions_free(&rc);
	ps_regions_free(&out);
	ps_rangeset_free(&t);
}

/* Two mappings: H = [heap] pages 16..31, M = anonymous 64..95, a moved
 * mapping N = 128..159 (soft-dirty by the move, nothing written). */
static const char MAPS[] =
	"00010000-00020000 rw-p 00000000 00:00 0                          [heap]\n"
	"00040000-00060000 rw-p 00000000 00:00 0 \n"
	"00080000-000a0000 rw-p 00000000 00:00 0 \n";

static void test_per_mapping(void)
{
	struct ps_maps maps = { 0 };
	struct ps_err err = { 0 };
	struct ps_rangeset t = { 0 };
	struct ps_regions w = { 0 };
	struct ps_sd_report r;
	struct ps_sdcmp *c = ps_sdcmp_new();

	if (!ok(c && ps_maps_parse(MAPS, strlen(MAPS), &maps, &err) == 0, "setup"))
		return;
	ps_rangeset_add(&t, 0x10000, 0x20000);
	ps_rangeset_add(&t, 0x40000, 0x60000);
	ps_rangeset_add(&t, 0x80000, 0xa0000);
	/* Interval 1: heap pages 16-17 written (soft-dirty too); M pages 64-73
	 * written, 64-69 soft-dirty (70-73 the race); N all soft-dirty (moved);
	 * soft-dirty outside every tracked range and written page (0x30000,
	 * an untracked mapping) is not counted. */
	ps_regions_push(&w, 0x10000, 0x12000, PS_CAT_WRITTEN);
	ps_regions_push(&w, 0x40000, 0x4a000, PS_CAT_WRITTEN);
	struct ps_regions *s = ps_sdcmp_soft(c);
	ps_regions_push(s, 0x10000, 0x12000, PS_CAT_SOFT_DIRTY);
	ps_regions_push(s, 0x30000, 0x31000, PS_CAT_SOFT_DIRTY);
	ps_regions_push(s, 0x40000, 0x46000, PS_CAT_SOFT_DIRTY);
	ps_regions_push(s, 0x80000, 0xa0000, PS_CAT_SOFT_DIRTY);
	if (!ok(ps_sdcmp_interval(c, &w, NULL, &t, &maps, &r) == 0, "interval 1 compared"))
		return;
	is_u64(r.c.written_pages, 12, "written pages");
	is_u64(r.c.soft_dirty_pages, 2 + 6 + 32, "soft-dirty pages in the tracked ranges");
	is_u64(r.c.false_pages, 32, "false positives: the moved mapping");
	is_u64(r.c.race_pages, 4, "written, not soft-dirty: the race");
	if (ok(r.nper_mapping == 3, "three mappings")) {
		is_str(r.per_mapping[0].mapping, "[heap]", "by address: [heap]");
		is_u64(r.per_mapping[0].c.soft_dirty_pages, 2, "[heap] soft-dirty");
		is_u64(r.per_mapping[1].start, 0x40000, "then M");
		is_u64(r.per_mapping[1].c.race_pages, 4, "M: 4 in the race");
		is_u64(r.per_mapping[1].c.false_pages, 0, "M no false positive");
		is_u64(r.per_mapping[2].start, 0x80000, "then N");
		is_u64(r.per_mapping[2].c.false_pages, 32, "N: 32 false positives");
		is_u64(r.per_mapping[2].c.written_pages, 0, "N: nothing written");
	}
	/* Interval 2: heap page 20 soft-dirty only; the buffer was emptied. */
	ps_regions_clear(&w);
	ps_regions_push(s, 0x14000, 0x15000, PS_CAT_SOFT_DIRTY);
	ok(ps_sdcmp_interval(c, &w, NULL, &t, &maps, &r) == 0 && r.c.soft_dirty_pages == 1 && r.c.false_pages == 1 &&
	       r.nper_mapping == 1,
	   "interval 2: the last interval's soft-dirty pages are not counted again");
	ps_sdcmp_end(c, &r);
	is_u64(r.c.soft_dirty_pages, 41, "the watch: soft-dirty summed");
	is_u64(r.c.false_pages, 33, "the watch: false positives summed");
	if (ok(r.nper_mapping == 3, "the worst mappings")) {
		is_u64(r.per_mapping[0].start, 0x80000, "worst: N (32 false)");
		is_str(r.per_mapping[1].mapping, "[heap]", "then [heap] (1 false)");
		is_u64(r.per_mapping[2].start, 0x40000, "then M (0 false, 6 soft-dirty)");
	}
	ps_regions_free(&w);
	ps_rangeset_free(&t);
	ps_maps_free(&maps);
	ps_sdcmp_free(c);
}

/* ---- the session's order of calls ------------------------------------------ */

struct fake {
	char log[256];
	struct ps_rangeset tracked;
	uint64_t t;
	int ticks;
};

static void logc(struct fake *f, char c)
{
	size_t n = strlen(f->log);
	if (n + 1 < sizeof(f->log))
		f->log[n] = c, f->log[n + 1] = 0;
}

static int f_harvest(void *ctx, bool clear, struct ps_regions *out, struct ps_err *err)
{
	struct fake *f = ctx;
	(void)clear, (void)err;
	logc(f, 'H');
	/* every tick: pages 0-3 of M written */
	ps_regions_push(out, 0x40000, 0x44000, PS_CAT_WRITTEN);
	return 0;
}

static int f_follow(void *ctx, bool count_prewritten, struct ps_maps *maps, struct ps_sync_result *res,
                    struct ps_err *err)
{
	struct fake *f = ctx;
	logc(f, 'F');
	ps_rangeset_clear(&f->tracked);
	ps_rangeset_add(&f->tracked, 0x10000, 0x20000);
	ps_rangeset_add(&f->tracked, 0x40000, 0x60000);
	ps_rangeset_add(&f->tracked, 0x80000, 0xa0000);
	int r = ps_maps_parse(MAPS, strlen(MAPS), maps, err);
	if (r == 0 && !f->ticks)
		ps_spans_add(&res->engaged, 0x10000, 0x20000, "[heap]", NULL);
	/* the first tick's follow: N 0-1 written before it engaged N (after
	 * the tick's clear) */
	if (r == 0 && f->ticks == 1 && count_prewritten)
		ps_regions_push(&res->prewritten, 0x80000, 0x82000, PS_CAT_WRITTEN);
	f->ticks++;
	return r;
}

static const struct ps_rangeset *f_tracked(void *ctx)
{
	return &((struct fake *)ctx)->tracked;
}

static uint64_t f_now(void *ctx)
{
	return ((struct fake *)ctx)->t += 1000000;
}

static int f_sd_get(void *ctx, const struct ps_maps *maps, struct ps_regions *out, struct ps_err *err)
{
	struct fake *f = ctx;
	(void)err;
	logc(f, 'S');
	if (maps->n != 3)
		return -1;
	/* M 0-5 soft-dirty (4-5 not written), N 0-1 */
	ps_regions_push(out, 0x40000, 0x46000, PS_CAT_SOFT_DIRTY);
	ps_regions_push(out, 0x80000, 0x82000, PS_CAT_SOFT_DIRTY);
	return 0;
}

static int f_sd_clear(void *ctx, struct ps_err *err)
{
	(void)err;
	logc(ctx, 'C');
	return 0;
}

static void test_session_order(void)
{
	struct fake f = { 0 };
	struct ps_err err = { 0 };
	struct ps_session_source src = {
		.harvest = f_harvest, .follow = f_follow, .tracked = f_tracked, .now_ns = f_now, .ctx = &f,
		.soft_dirty_get = f_sd_get, .soft_dirty_clear = f_sd_clear, .sd_ctx = &f,
	};
	struct ps_session_opts o = { .pid = 1, .command = "fake", .interval_ns = 1000000, .compare_soft_dirty = true };
	struct ps_session *s = ps_session_new(&src, &o);
	struct ps_watch_start st;
	struct ps_interval iv;
	struct ps_watch_end e;

	if (!ok(s && ps_session_begin(s, &err) > 0, "begin"))
		return;
	ps_session_start(s, &st);
	ok(st.soft_dirty, "the start record says soft-dirty is compared");
	ps_session_clock_start(s);
	if (!ok(ps_session_tick(s, &iv, &err) == 0, "tick 1"))
		return;
	ok(iv.soft_dirty && iv.soft_dirty->c.written_pages == 6 && iv.soft_dirty->c.soft_dirty_pages == 8 &&
	       iv.soft_dirty->c.false_pages == 2 && iv.soft_dirty->c.race_pages == 0,
	   "tick 1: 6 written (N 0-1 by the follow), 8 soft-dirty, 2 false positives");
	if (!ok(ps_session_tick(s, &iv, &err) == 0, "tick 2"))
		return;
	ok(iv.soft_dirty && iv.soft_dirty->c.written_pages == 4 && iv.soft_dirty->c.soft_dirty_pages == 8 &&
	       iv.soft_dirty->c.false_pages == 2 && iv.soft_dirty->c.race_pages == 2,
	   "tick 2: N 0-1 soft-dirty, not written, written after the last clear: the race, not false");
	is_str(f.log, "FCSHCFSHCF",
	       "cleared after the arming; each tick reads soft-dirty, harvests, clears, then follows");
	ps_session_end(s, PS_END_COUNT, NULL, -1, &e);
	ok(e.soft_dirty && e.soft_dirty->c.false_pages == 4 && e.soft_dirty->c.race_pages == 2 &&
	       e.soft_dirty->nper_mapping == 2 && e.soft_dirty->per_mapping[0].start == 0x40000,
	   "the end sums both ticks; worst mappings M (2 false per tick) before N");
	ps_session_free(s);

	/* Without the option: nothing of it. */
	f.log[0] = 0;
	f.ticks = 0;
	o.compare_soft_dirty = false;
	s = ps_session_new(&src, &o);
	if (ok(s && ps_session_begin(s, &err) > 0, "begin without --compare")) {
		ps_session_clock_start(s);
		ok(ps_session_tick(s, &iv, &err) == 0 && !iv.soft_dirty, "no comparison in the record");
		is_str(f.log, "FHF", "no soft-dirty call");
	}
	ps_session_free(s);
	ps_rangeset_free(&f.tracked);
}

/* ---- report of a recording made with --compare soft-dirty -------------------- */

#define SD_START "{\"type\":\"start\",\"format_version\":1,\"pagescan\":\"t\",\"pid\":7,\"command\":\"t\"," \
	"\"interval_s\":0.1,\"page_size\":4096,\"mode\":\"interval\",\"tracked_pages\":64," \
	"\"engaged\":[{\"start\":\"0x10000\",\"end\":\"0x50000\",\"pages\":64,\"mapping\":\"[anon]\"}],\"compare\":\"soft-dirty\"}\n"
#define SD_IV(seq, regions, w, s, f, r, maps)                                                                   \
	"{\"type\":\"interval\",\"seq\":" #seq ",\"time_s\":0." #seq ",\"elapsed_s\":0.1,\"tracked_pages\":64,\"written_pages\":" #w \
	",\"regions\":[" regions "],\"soft_dirty\":{\"written_pages\":" #w ",\"soft_dirty_pages\":" #s           \
	",\"false_pages\":" #f ",\"race_pages\":" #r ",\"mappings\":[" maps "],\"false_regions\":[],"             \
	"\"race_regions\":[]}}\n"
#define SD_MAP(name, start, w, s, f, r)                                                                      \
	"{\"mapping\":\"" name "\",\"start\":\"" start "\",\"written_pages\":" #w ",\"soft_dirty_pages\":" #s \
	",\"false_pages\":" #f ",\"race_pages\":" #r "}"

static void test_report_sd(void)
{
	/* Interval 1: 4 written, 10 soft-dirty, 6 false (A 2, B 4). Interval 2:
	 * 2 written, 1 soft-dirty, 0 false, 1 race (A; a recording of a
	 * development build: missed_pages). Interval 3: 0 soft-dirty. */
	static const char rec_text[] =
		SD_START
		SD_IV(1, "{\"start\":\"0x10000\",\"end\":\"0x14000\",\"pages\":4}", 4, 10, 6, 0,
		      SD_MAP("[anon]", "0x10000", 4, 6, 2, 0) "," SD_MAP("[anon]", "0x30000", 0, 4, 4, 0))
		"{\"type\":\"interval\",\"seq\":2,\"time_s\":0.2,\"elapsed_s\":0.1,\"tracked_pages\":64,\"written_pages\":2,"
		"\"regions\":[{\"start\":\"0x10000\",\"end\":\"0x12000\",\"pages\":2}],\"soft_dirty\":{"
		"\"written_pages\":2,\"soft_dirty_pages\":1,\"false_pages\":0,\"missed_pages\":1,\"mappings\":["
		"{\"mapping\":\"[anon]\",\"start\":\"0x10000\",\"written_pages\":2,\"soft_dirty_pages\":1,"
		"\"false_pages\":0,\"missed_pages\":1}]}}\n"
		SD_IV(3, "", 0, 0, 0, 0, "")
		"{\"type\":\"end\",\"reason\":\"count\",\"intervals\":3,\"duration_s\":0.3,\"wss_pages\":4,"
		"\"soft_dirty\":{\"written_pages\":6,\"soft_dirty_pages\":11,\"false_pages\":6,\"race_pages\":1,"
		"\"worst_mappings\":[],\"cost\":\"c\"}}\n";
	struct ps_recording *rec = NULL;
	struct ps_report *r = NULL;
	struct ps_warnings w = { 0 };
	struct ps_err err = { 0 };

	if (!ok(ps_recording_parse(rec_text, strlen(rec_text), &rec, &w, &err) == 0, "the recording reads: %s",
	        err.msg))
		return;
	ok(w.n == 0, "without a warning%s%s", w.n ? ": " : "", w.n ? w.msg[0] : "");
	ok(rec->soft_dirty && rec->niv == 3 && rec->iv[0].has_sd && rec->iv[1].sd.race_pages == 1 &&
	       rec->iv[0].nsd_maps == 2 && rec->end_has_sd,
	   "the comparison of each interval and of the end is read (missed_pages read as race_pages)");
	if (!ok(ps_report_analyse(rec, NULL, &r, &w, &err) == 0, "analysed")) {
		ps_recording_free(rec);
		return;
	}
	ok(w.n == 0, "the end's sums agree with the intervals'%s%s", w.n ? ": " : "", w.n ? w.msg[0] : "");
	ok(r->sd.present && r->sd.intervals == 3 && r->sd.c.written_pages == 6 && r->sd.c.soft_dirty_pages == 11 &&
	       r->sd.c.false_pages == 6 && r->sd.c.race_pages == 1,
	   "summed over the intervals");
	/* shares per interval with soft-dirty pages: 0.6 and 0 */
	ok(r->sd.false_share.max > 0.599 && r->sd.false_share.max < 0.601 && r->sd.false_share.mean > 0.299 &&
	       r->sd.false_share.mean < 0.301,
	   "false-positive share per interval: max 0.6, mean 0.3");
	if (ok(r->sd.nmap == 2, "two mappings (one summed over two intervals)")) {
		ok(r->sd.map[0].start == 0x30 && r->sd.map[0].c.false_pages == 4, "worst first: 0x30000, 4 false");
		ok(r->sd.map[1].start == 0x10 && r->sd.map[1].c.soft_dirty_pages == 7 && r->sd.map[1].c.false_pages == 2 &&
		       r->sd.map[1].c.race_pages == 1 && r->sd.map[1].c.written_pages == 6,
		   "then 0x10000: its two intervals summed");
	}
	struct ps_out out;
	ps_out_init(&out, -1);
	ps_report_text(&out, rec, r);
	ps_out_chr(&out, '\0');
	ok(strstr(out.buf, "soft-dirty (--compare soft-dirty): 11 pages marked, 6 not written (false positives, 54.5% of "
	                   "soft-dirty), 1 in the read-to-clear race\n") != NULL,
	   "text: the summary line");
	if (!ok(strstr(out.buf, "\n           1           4          10           6    60.0%           0\n") != NULL,
	        "text: interval 1's row"))
		printf("# %s\n", out.buf);
	ok(strstr(out.buf, "           0           4           4   100.0%           0  0x30000 [anon]\n") != NULL,
	   "text: the worst mapping's row");
	ps_out_free(&out);
	ps_out_init(&out, -1);
	ps_report_json(&out, rec, r, &w);
	struct ps_json j = { 0 };
	uint64_t u = 0;
	double d = 0;
	if (ok(ps_json_parse(&j, out.buf, out.len) == 0, "json: parses")) {
		uint32_t sd = ps_json_get(&j, 0, "soft_dirty");
		ok(ps_json_u64(&j, ps_json_get(&j, sd, "false_pages"), &u) == 0 && u == 6, "json: false_pages");
		ok(ps_json_double(&j, ps_json_get(&j, sd, "false_share"), &d) == 0 && d > 0.545 && d < 0.546,
		   "json: false_share");
		uint32_t pi = ps_json_get(&j, sd, "per_interval");
		ok(pi && j.node[pi].b == 3, "json: every interval");
		uint32_t m = ps_json_get(&j, sd, "mappings");
		ok(m && j.node[m].b == 2 && ps_json_u64(&j, ps_json_get(&j, j.node[m].a, "false_pages"), &u) == 0 && u == 4,
		   "json: the mappings, worst first");
	}
	ps_json_free(&j);
	ps_out_free(&out);
	ps_report_free(r);
	ps_recording_free(rec);

	/* Without --compare: no soft_dirty, in the JSON or the text. */
	const char *plain = strstr(rec_text, "{\"type\":\"interval\"");
	char *t = malloc(strlen(rec_text) + 1);
	size_t sl = (size_t)(strstr(rec_text, ",\"compare\"") - rec_text);
	memcpy(t, rec_text, sl);
	memcpy(t + sl, "}\n", 2);
	memcpy(t + sl + 2, plain, strlen(plain) + 1);
	ps_warnings_free(&w);
	w = (struct ps_warnings){ 0 };
	if (ok(ps_recording_parse(t, strlen(t), &rec, &w, &err) == 0 && ps_report_analyse(rec, NULL, &r, &w, &err) == 0,
	       "without --compare: analysed")) {
		ok(!r->sd.present, "no comparison");
		ps_out_init(&out, -1);
		ps_report_json(&out, rec, r, &w);
		ps_out_chr(&out, '\0');
		ok(strstr(out.buf, "soft_dirty") == NULL, "json: no soft_dirty");
		ps_out_free(&out);
		ps_out_init(&out, -1);
		ps_report_text(&out, rec, r);
		ps_out_chr(&out, '\0');
		ok(strstr(out.buf, "soft-dirty") == NULL, "text: no soft-dirty");
		ps_out_free(&out);
		ps_report_free(r);
		ps_recording_free(rec);
	}
	free(t);
	ps_warnings_free(&w);
}

/* ps_sd_worst: the mappings with soft-dirty pages, most false positives
 * first, then most soft-dirty pages, then lowest address; at most max. */
static void test_worst(void)
{
	struct ps_sd_mapping m[] = {
		{ .start = 0x1000, .mapping = "a", .c = { .soft_dirty_pages = 4, .false_pages = 1 } },
		{ .start = 0x2000, .mapping = "b", .c = { .written_pages = 9 } },
		{ .start = 0x3000, .mapping = "c", .c = { .soft_dirty_pages = 9, .false_pages = 3 } },
		{ .start = 0x4000, .mapping = "d", .c = { .soft_dirty_pages = 6, .false_pages = 1 } },
		{ .start = 0x5000, .mapping = "e", .c = { .soft_dirty_pages = 4, .false_pages = 1 } },
		{ .start = 0x6000, .mapping = "f", .c = { .soft_dirty_pages = 2 } },
	};
	struct ps_sd_report r = { .per_mapping = m, .nper_mapping = 6 };
	const struct ps_sd_mapping *w[PS_SD_WORST_MAX];
	char got[32] = "";
	size_t n = ps_sd_worst(&r, w, PS_SD_WORST_MAX);
	for (size_t i = 0; i < n; i++)
		strncat(got, w[i]->mapping, sizeof(got) - strlen(got) - 1);
	is_str(got, "cdaef", "worst first; a mapping without soft-dirty pages left out");
	is_u64(ps_sd_worst(&r, w, 2), 2, "at most max");
	ok(w[0] == &m[2] && w[1] == &m[3], "the two worst");
	is_u64(ps_sd_worst(&(struct ps_sd_report){ 0 }, w, 5), 0, "none");
}

int main(void)
{
	test_sweep_random();
	test_report_sd();
	test_worst();
	/* The scripted maps are in 4 KiB pages (the default page size). */
	if (PS_PAGE_SIZE == 4096) {
		test_per_mapping();
		test_session_order();
	}
	return tap_done();
}
