/* SPDX-License-Identifier: MIT */
/* The watch session without a process: a fake source scripts what each tick
 * harvests, the maps snapshot, the mappings engaged and dropped, and the
 * clock; the records must come out exactly as computed by hand. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/session.h"
#include "pagescan/model/util.h"
#include "tap.h"

/* The scripted maps are in 4 KiB pages; the test runs at the default page
 * size (4096), and the tables below need a constant. */
#define P(n) ((uint64_t)(n) * 4096ull)
#define MS(n) ((uint64_t)(n) * 1000000ull)

/* Mappings: A = [0x10000, +16 pages) "[heap]", B = [0x40000, +16 pages)
 * anonymous, C = [0x80000, +8 pages) a file, appearing later. */
#define A 0x10000ull
#define B 0x40000ull
#define C 0x80000ull
static const char MAPS_AB[] =
	"00010000-00020000 rw-p 00000000 00:00 0                          [heap]\n"
	"00040000-00050000 rw-p 00000000 00:00 0 \n";
static const char MAPS_ABC[] =
	"00010000-00020000 rw-p 00000000 00:00 0                          [heap]\n"
	"00040000-00050000 rw-p 00000000 00:00 0 \n"
	"00080000-00088000 rw-s 00000000 00:05 77                         /dev/shm/data\n";
static const char MAPS_AC[] =
	"00010000-00020000 rw-p 00000000 00:00 0                          [heap]\n"
	"00080000-00088000 rw-s 00000000 00:05 77                         /dev/shm/data\n";

struct range {
	uint64_t start, end;
};

/* What the next tick sees. */
struct step {
	struct range harvest[4];        /* ends at {0,0} */
	const char *maps;               /* snapshot text */
	struct range engaged[2];        /* new this tick: labels looked up in the snapshot */
	struct range dropped[2];
	struct range prewritten[2];
	uint64_t t_before, t_after;     /* the clock around the harvest */
	int harvest_err;                /* negative errno, or 0 */
	struct ps_harvest_counts counts; /* what the harvest classified (a counting source) */
};

struct fake {
	const struct step *steps;
	size_t nsteps, cur;             /* cur: the step of the current tick */
	uint64_t t_start, t_end;        /* clock_start and end */
	int nclock;                     /* now_ns calls within the current tick */
	bool in_tick, started;
	bool last_clear;
	int harvests;
	struct ps_rangeset tracked;
};

static void push_all(struct ps_regions *r, const struct range *v, size_t max)
{
	for (size_t i = 0; i < max && v[i].end; i++)
		ps_regions_push(r, v[i].start, v[i].end, PS_CAT_WRITTEN);
}

static int fake_harvest(void *ctx, bool clear, struct ps_regions *out, struct ps_err *err)
{
	struct fake *f = ctx;
	const struct step *s = &f->steps[f->cur];
	f->harvests++;
	f->last_clear = clear;
	if (s->harvest_err)
		return ps_errf(err, -s->harvest_err, "harvest failed");
	push_all(out, s->harvest, 4);
	return 0;
}

static void fake_counts(void *ctx, struct ps_harvest_counts *ret)
{
	struct fake *f = ctx;
	*ret = f->steps[f->cur].counts;
}

static const char *label_at(const struct ps_maps *m, uint64_t a)
{
	long i = ps_maps_find(m, a);
	return i < 0 ? "(unmapped)" : ps_vma_label(&m->v[i]);
}

static int fake_follow(void *ctx, bool count_prewritten, struct ps_maps *maps, struct ps_sync_result *res,
                       struct ps_err *err)
{
	struct fake *f = ctx;
	/* begin() follows before the first tick; a tick follows after its harvest. */
	const struct step *s = &f->steps[f->in_tick ? f->cur : 0];
	const char *text = f->in_tick ? s->maps : MAPS_AB;
	int r = ps_maps_parse(text, strlen(text), maps, err);
	if (r < 0)
		return r;
	if (!f->in_tick) {
		/* The first snapshot: A and B engaged, nothing else. */
		for (size_t i = 0; i < maps->n; i++) {
			ps_spans_add(&res->engaged, maps->v[i].start, maps->v[i].end, ps_vma_label(&maps->v[i]), NULL);
			ps_rangeset_add(&f->tracked, maps->v[i].start, maps->v[i].end);
		}
		ps_spans_add(&res->skipped, 0xffff0000, 0xffff1000, "[vdso]", "kernel refused: [vdso] cannot be tracked (EINVAL)");
		return 0;
	}
	for (size_t i = 0; i < 2 && s->engaged[i].end; i++) {
		ps_spans_add(&res->engaged, s->engaged[i].start, s->engaged[i].end, label_at(maps, s->engaged[i].start), NULL);
		ps_rangeset_add(&f->tracked, s->engaged[i].start, s->engaged[i].end);
	}
	for (size_t i = 0; i < 2 && s->dropped[i].end; i++) {
		ps_spans_add(&res->dropped, s->dropped[i].start, s->dropped[i].end, "(unmapped)", NULL);
		ps_rangeset_remove(&f->tracked, s->dropped[i].start, s->dropped[i].end);
	}
	if (count_prewritten)
		push_all(&res->prewritten, s->prewritten, 2);
	return 0;
}

static const struct ps_rangeset *fake_tracked(void *ctx)
{
	return &((struct fake *)ctx)->tracked;
}

static uint64_t fake_now(void *ctx)
{
	struct fake *f = ctx;
	if (!f->started) {
		f->started = true;
		return f->t_start;
	}
	if (!f->in_tick)
		return f->t_end;
	return f->nclock++ == 0 ? f->steps[f->cur].t_before : f->steps[f->cur].t_after;
}

/* counting: the source has the optional harvest_counts callback. */
static struct ps_session *make_src(struct fake *f, const struct step *steps, size_t n, bool accumulate,
                                   bool counting)
{
	*f = (struct fake){ .steps = steps, .nsteps = n };
	struct ps_session_source src = {
		.harvest = fake_harvest, .follow = fake_follow, .tracked = fake_tracked, .now_ns = fake_now,
		.harvest_counts = counting ? fake_counts : NULL, .ctx = f,
	};
	struct ps_session_opts o = { .pid = 42, .command = "victim", .interval_ns = MS(1000), .accumulate = accumulate };
	return ps_session_new(&src, &o);
}

static struct ps_session *make(struct fake *f, const struct step *steps, size_t n, bool accumulate)
{
	return make_src(f, steps, n, accumulate, false);
}

/* A session past begin (A and B engaged) and time zero; NULL on failure. */
static struct ps_session *started(struct fake *f, const struct step *steps, size_t n)
{
	struct ps_err err = { 0 };
	struct ps_session *s = make(f, steps, n, false);
	if (!ok(s != NULL, "session created"))
		return NULL;
	is_int(ps_session_begin(s, &err), 2, "begin: two mappings engaged");
	ps_session_clock_start(s);
	return s;
}

static void finish(struct ps_session *s, struct fake *f)
{
	ps_session_free(s);
	ps_rangeset_free(&f->tracked);
}

static int tick(struct ps_session *s, struct fake *f, size_t i, struct ps_interval *iv, struct ps_err *err)
{
	f->cur = i;
	f->nclock = 0;
	f->in_tick = true;
	int r = ps_session_tick(s, iv, err);
	f->in_tick = false;
	return r;
}

/* The start record, the per-interval totals, union and rate, late ticks. */
static void test_intervals(void)
{
	static const struct step steps[] = {
		/* #1 at 1.0 s: 3 pages of A and 2 of B. */
		{ .harvest = { { A, A + P(3) }, { B + P(4), B + P(6) } }, .maps = MAPS_AB,
		  .t_before = MS(1000), .t_after = MS(1000) + 250000 },
		/* #2 late, at 3.5 s: 2 pages of A again, 1 new. */
		{ .harvest = { { A + P(1), A + P(4) } }, .maps = MAPS_AB, .t_before = MS(3500), .t_after = MS(3500) },
		/* #3 at 4.5 s: nothing. */
		{ .maps = MAPS_AB, .t_before = MS(4500), .t_after = MS(4500) },
	};
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = make(&f, steps, 3, false);
	if (!ok(s != NULL, "session created"))
		return;

	is_int(ps_session_begin(s, &err), 2, "begin: two mappings engaged");
	is_u64(ps_session_skipped(s), 1, "begin: one skipped");
	struct ps_watch_start ws;
	ps_session_start(s, &ws);
	is_int(ws.pid, 42, "start: pid");
	is_str(ws.command, "victim", "start: command");
	is_u64(ws.interval_ns, MS(1000), "start: interval");
	is_u64(ws.tracked_pages, 32, "start: tracked pages");
	is_u64(ws.nengaged, 2, "start: engaged");
	ok(ws.nskipped == 1 && strcmp(ws.skipped[0].mapping, "[vdso]") == 0, "start: skipped [vdso]");
	ok(ws.maps && ws.maps->n == 2, "start: the snapshot");
	ps_session_clock_start(s);

	struct ps_interval iv;
	is_int(tick(s, &f, 0, &iv, &err), 0, "#1");
	ok(f.last_clear, "#1: harvest clears (re-protects)");
	is_u64(iv.seq, 1, "#1: seq");
	is_dbl(iv.time_s, 1.00025, 1e-9, "#1: time at the end of the harvest");
	is_dbl(iv.elapsed_s, 1.00025, 1e-9, "#1: elapsed");
	is_u64(iv.harvest_us, 250, "#1: harvest took 250 us");
	is_u64(iv.written_pages, 5, "#1: written");
	is_u64(iv.wss_pages, 5, "#1: wss");
	is_dbl(iv.rate_pages_s, 5 / 1.00025, 1e-9, "#1: rate");
	is_u64(iv.tracked_pages, 32, "#1: tracked");
	is_u64(iv.written->n, 2, "#1: two regions");
	ok(iv.nper_mapping == 2 && iv.per_mapping[0].start == A && iv.per_mapping[0].written_pages == 3 &&
	   strcmp(iv.per_mapping[0].mapping, "[heap]") == 0 && iv.per_mapping[1].start == B &&
	   iv.per_mapping[1].written_pages == 2 && strcmp(iv.per_mapping[1].mapping, "[anon]") == 0,
	   "#1: per mapping [heap] 3, [anon] 2");
	ok(iv.nengaged == 0 && iv.ndropped == 0, "#1: no mapping engaged or dropped");
	ok(iv.counts.discarded_pages == 0 && iv.counts.zero_read_pages == 0 && iv.counts.ksm_merged_pages == 0 &&
	   iv.counts.thp_filled_pages == 0, "#1: a source without harvest counts: all 0");

	is_int(tick(s, &f, 1, &iv, &err), 0, "#2 (late)");
	is_dbl(iv.elapsed_s, 2.49975, 1e-9, "#2: elapsed is the true length, not the interval");
	is_u64(iv.written_pages, 3, "#2: written");
	is_dbl(iv.rate_pages_s, 3 / 2.49975, 1e-9, "#2: rate over the true length");
	is_u64(iv.wss_pages, 6, "#2: wss is the union (A 0-4, B 4-6)");
	ok(iv.nper_mapping == 1 && iv.per_mapping[0].written_pages == 3, "#2: per mapping [heap] 3");

	is_int(tick(s, &f, 2, &iv, &err), 0, "#3");
	is_u64(iv.written_pages, 0, "#3: nothing written");
	is_u64(iv.nper_mapping, 0, "#3: no per-mapping counts");
	is_u64(ps_session_intervals(s), 3, "three intervals");

	f.t_end = MS(5000);
	struct ps_watch_end e;
	ps_session_end(s, PS_END_COUNT, NULL, -1, &e);
	is_int(e.reason, PS_END_COUNT, "end: reason");
	is_u64(e.intervals, 3, "end: intervals");
	is_dbl(e.duration_s, 5.0, 1e-9, "end: duration from time zero");
	is_u64(e.wss_pages, 6, "end: wss");
	ok(!e.has_exit_status, "end: no exit status for a watch");
	is_u64(e.rate.n, 3, "end: three rates");
	is_dbl(e.rate.max, 5 / 1.00025, 1e-9, "end: max rate");
	is_dbl(e.rate.min, 0, 1e-9, "end: min rate");
	ok(e.nhottest == 2 && e.hottest[0].start == A && e.hottest[0].written_pages == 6 &&
	   e.hottest[1].start == B && e.hottest[1].written_pages == 2,
	   "end: hottest [heap] written_pages 6 (3+3, the old measure), [anon] 2");
	ok(e.hottest[0].distinct_pages == 4 && e.hottest[0].page_writes == 6 && e.hottest[1].distinct_pages == 2 &&
	   e.hottest[1].page_writes == 2 && !e.accumulate,
	   "end: hottest [heap] 4 distinct pages, 6 page-writes; [anon] 2 and 2");
	finish(s, &f);
}

/* New mappings: prewritten pages join the interval (union with the
 * harvest); dropped mappings are reported; pieces outside any mapping are
 * "[unmapped]". */
static void test_new_and_dropped(void)
{
	static const struct step steps[] = {
		/* #1: C appears with 2 pages written before it was engaged, one of
		 * them also harvested (no double count); a harvested piece
		 * straddles the end of B and the hole after it. */
		{ .harvest = { { B + P(15), B + P(17) }, { C + P(1), C + P(2) } }, .maps = MAPS_ABC,
		  .engaged = { { C, C + P(8) } }, .prewritten = { { C, C + P(2) } },
		  .t_before = MS(1000), .t_after = MS(1000) },
		/* #2: B is gone; A written. */
		{ .harvest = { { A, A + P(1) } }, .maps = MAPS_AC, .dropped = { { B, B + P(16) } },
		  .t_before = MS(2000), .t_after = MS(2000) },
	};
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = started(&f, steps, 2);
	if (!s)
		return;

	struct ps_interval iv;
	is_int(tick(s, &f, 0, &iv, &err), 0, "new mapping: tick");
	is_u64(iv.written_pages, 4, "new mapping: harvest ∪ prewritten = B 1 + hole 1 + C 2");
	ok(iv.written->n == 2 && iv.written->r[1].start == C && iv.written->r[1].end == C + P(2),
	   "new mapping: C's pieces merged into one region");
	ok(iv.nengaged == 1 && iv.engaged[0].start == C && strcmp(iv.engaged[0].mapping, "/dev/shm/data") == 0,
	   "new mapping: engaged, named from the new snapshot");
	is_u64(iv.tracked_pages, 40, "new mapping: tracked grows by 8 pages");
	ok(iv.nper_mapping == 3 && iv.per_mapping[0].start == B && iv.per_mapping[0].written_pages == 1 &&
	   strcmp(iv.per_mapping[1].mapping, "[unmapped]") == 0 && iv.per_mapping[1].written_pages == 1 &&
	   iv.per_mapping[2].start == C && iv.per_mapping[2].written_pages == 2,
	   "new mapping: per mapping B 1, [unmapped] 1, C 2");

	is_int(tick(s, &f, 1, &iv, &err), 0, "dropped mapping: tick");
	ok(iv.ndropped == 1 && iv.dropped[0].start == B && iv.dropped[0].end == B + P(16), "dropped mapping: reported");
	is_u64(iv.tracked_pages, 24, "dropped mapping: tracked shrinks");
	is_u64(iv.wss_pages, 5, "dropped mapping: wss keeps what was written there");
	finish(s, &f);
}

/* Accumulate: never re-protect; the record shows the cumulative set, the
 * rate counts new pages only, and the hottest list distinct pages. */
static void test_accumulate(void)
{
	static const struct step steps[] = {
		{ .harvest = { { A, A + P(4) } }, .maps = MAPS_AB, .t_before = MS(1000), .t_after = MS(1000) },
		/* The kernel reports A 0-4 again (not cleared) plus B 0-2. */
		{ .harvest = { { A, A + P(4) }, { B, B + P(2) } }, .maps = MAPS_AB, .t_before = MS(2000), .t_after = MS(2000) },
	};
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = make(&f, steps, 2, true);
	if (!ok(s != NULL, "session created"))
		return;
	ps_session_begin(s, &err);
	struct ps_watch_start ws;
	ps_session_start(s, &ws);
	ok(ws.accumulate, "accumulate: in the start record");
	ps_session_clock_start(s);

	struct ps_interval iv;
	tick(s, &f, 0, &iv, &err);
	ok(!f.last_clear, "accumulate: the harvest does not re-protect");
	tick(s, &f, 1, &iv, &err);
	is_u64(iv.written_pages, 6, "accumulate: written is the cumulative set");
	is_dbl(iv.rate_pages_s, 2.0, 1e-9, "accumulate: rate counts new pages only");
	ok(iv.nper_mapping == 2 && iv.per_mapping[0].written_pages == 4 && iv.per_mapping[1].written_pages == 2,
	   "accumulate: per mapping of the cumulative set");
	struct ps_watch_end e;
	f.t_end = MS(2000);
	ps_session_end(s, PS_END_TARGET_EXIT, NULL, 3, &e);
	ok(e.nhottest == 2 && e.hottest[0].written_pages == 4 && e.hottest[1].written_pages == 2,
	   "accumulate: hottest by distinct pages (A 4, not 8)");
	ok(e.accumulate && e.hottest[0].distinct_pages == 4 && e.hottest[0].page_writes == 0 &&
	   e.hottest[1].distinct_pages == 2, "accumulate: distinct pages, page-writes unknown (0)");
	ok(e.has_exit_status && e.exit_status == 3, "end: the exit status of a run");
	finish(s, &f);
}

/* The hottest list: at most five, by pages then address. */
static void test_hottest(void)
{
	static const char maps7[] =
		"00010000-00020000 rw-p 00000000 00:00 0 \n"
		"00020000-00030000 rw-p 00000000 00:00 0 \n"
		"00030000-00040000 rw-p 00000000 00:00 0 \n"
		"00040000-00050000 rw-p 00000000 00:00 0 \n"
		"00050000-00060000 rw-p 00000000 00:00 0 \n"
		"00060000-00070000 rw-p 00000000 00:00 0 \n"
		"00070000-00080000 rw-p 00000000 00:00 0 \n";
	/* Pages written: 0x10000: 1, 0x20000: 3, 0x30000: 3, 0x40000: 5, 0x50000: 2, 0x60000: 4, 0x70000: 0. */
	static const struct step steps[] = {
		{ .harvest = { { 0x10000, 0x10000 + P(1) }, { 0x20000, 0x20000 + P(3) }, { 0x30000, 0x30000 + P(3) },
		               { 0x40000, 0x40000 + P(5) } }, .maps = maps7, .t_before = MS(1000), .t_after = MS(1000) },
		{ .harvest = { { 0x50000, 0x50000 + P(2) }, { 0x60000, 0x60000 + P(4) } }, .maps = maps7,
		  .t_before = MS(2000), .t_after = MS(2000) },
	};
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = started(&f, steps, 2);
	if (!s)
		return;
	struct ps_interval iv;
	tick(s, &f, 0, &iv, &err);
	tick(s, &f, 1, &iv, &err);
	struct ps_watch_end e;
	ps_session_end(s, PS_END_SIGNAL, "Interrupt", -1, &e);
	is_str(e.detail, "Interrupt", "hottest: detail kept");
	uint64_t want_start[] = { 0x40000, 0x60000, 0x20000, 0x30000, 0x50000 };
	uint64_t want_pages[] = { 5, 4, 3, 3, 2 };
	bool same = e.nhottest == 5;
	for (size_t i = 0; same && i < 5; i++)
		same = e.hottest[i].start == want_start[i] && e.hottest[i].written_pages == want_pages[i];
	ok(same, "hottest: five, by pages, ties by address; the sixth (1 page) left out");
	finish(s, &f);
}

/* A mapping written whole in 5 intervals is as hot as its size in distinct
 * pages (16), not 80 page-writes; B (a 2-page piece written 3 times, then
 * 6 other pages) has 8 distinct pages and 12 page-writes. */
static void test_hottest_distinct(void)
{
	static const struct step steps[] = {
		{ .harvest = { { A, A + P(16) }, { B, B + P(2) } }, .maps = MAPS_AB, .t_before = MS(1000), .t_after = MS(1000) },
		{ .harvest = { { A, A + P(16) }, { B, B + P(2) } }, .maps = MAPS_AB, .t_before = MS(2000), .t_after = MS(2000) },
		{ .harvest = { { A, A + P(16) }, { B, B + P(2) } }, .maps = MAPS_AB, .t_before = MS(3000), .t_after = MS(3000) },
		{ .harvest = { { A, A + P(16) }, { B + P(2), B + P(8) } }, .maps = MAPS_AB, .t_before = MS(4000), .t_after = MS(4000) },
		{ .harvest = { { A, A + P(16) } }, .maps = MAPS_AB, .t_before = MS(5000), .t_after = MS(5000) },
	};
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = started(&f, steps, 5);
	if (!s)
		return;
	struct ps_interval iv;
	for (size_t i = 0; i < 5; i++)
		tick(s, &f, i, &iv, &err);
	struct ps_watch_end e;
	f.t_end = MS(5000);
	ps_session_end(s, PS_END_COUNT, NULL, -1, &e);
	ok(e.nhottest == 2 && e.hottest[0].start == A && e.hottest[0].distinct_pages == 16 &&
	   e.hottest[0].page_writes == 80, "whole mapping written 5 times: 16 distinct pages (80 page-writes)");
	ok(e.nhottest == 2 && e.hottest[1].start == B && e.hottest[1].distinct_pages == 8 &&
	   e.hottest[1].page_writes == 12, "B: 8 distinct pages, 12 page-writes");
	finish(s, &f);

	/* The order follows distinct pages, not page-writes: A 3 pages written
	 * 5 times (15 page-writes) ranks below B's 10 pages written once. */
	static const struct step steps2[] = {
		{ .harvest = { { A, A + P(3) }, { B, B + P(10) } }, .maps = MAPS_AB, .t_before = MS(1000), .t_after = MS(1000) },
		{ .harvest = { { A, A + P(3) } }, .maps = MAPS_AB, .t_before = MS(2000), .t_after = MS(2000) },
		{ .harvest = { { A, A + P(3) } }, .maps = MAPS_AB, .t_before = MS(3000), .t_after = MS(3000) },
		{ .harvest = { { A, A + P(3) } }, .maps = MAPS_AB, .t_before = MS(4000), .t_after = MS(4000) },
		{ .harvest = { { A, A + P(3) } }, .maps = MAPS_AB, .t_before = MS(5000), .t_after = MS(5000) },
	};
	s = started(&f, steps2, 5);
	if (!s)
		return;
	for (size_t i = 0; i < 5; i++)
		tick(s, &f, i, &iv, &err);
	ps_session_end(s, PS_END_COUNT, NULL, -1, &e);
	ok(e.nhottest == 2 && e.hottest[0].start == B && e.hottest[0].distinct_pages == 10 &&
	   e.hottest[0].page_writes == 10 && e.hottest[1].start == A && e.hottest[1].distinct_pages == 3 &&
	   e.hottest[1].page_writes == 15, "by distinct pages: B (10, 10 page-writes) before A (3, 15 page-writes)");
	finish(s, &f);
}

/* A new read-only mapping holding pages written before it was protected
 * (RELRO): its pages are in the interval, and the record names it. */
static void test_readonly_written(void)
{
	static const char maps_relro[] =
		"00010000-00020000 rw-p 00000000 00:00 0                          [heap]\n"
		"00040000-00050000 rw-p 00000000 00:00 0 \n"
		"00080000-00084000 r--p 00010000 08:01 99                         /lib/libc.so.6\n"
		"00084000-00086000 rw-p 00014000 08:01 99                         /lib/libc.so.6\n";
	static const struct step steps[] = {
		{ .harvest = { { A, A + P(1) } }, .maps = maps_relro, .engaged = { { C + P(4), C + P(6) } },
		  .prewritten = { { C, C + P(5) } }, .t_before = MS(1000), .t_after = MS(1000) },
		{ .harvest = { { A, A + P(1) } }, .maps = maps_relro, .t_before = MS(2000), .t_after = MS(2000) },
	};
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = started(&f, steps, 2);
	if (!s)
		return;
	struct ps_interval iv;
	is_int(tick(s, &f, 0, &iv, &err), 0, "relro: tick");
	is_u64(iv.written_pages, 6, "relro: A 1 + 4 read-only + 1 writable written before");
	ok(iv.nreadonly_written == 1 && iv.readonly_written[0].start == C && iv.readonly_written[0].end == C + P(4) &&
	   strcmp(iv.readonly_written[0].mapping, "/lib/libc.so.6") == 0,
	   "relro: the read-only mapping is listed whole, once; the writable one is not");
	ok(iv.nengaged == 1 && iv.engaged[0].start == C + P(4), "relro: only the writable part engaged");
	is_int(tick(s, &f, 1, &iv, &err), 0, "relro: next tick");
	is_u64(iv.nreadonly_written, 0, "relro: listed in the interval that counted it only");
	finish(s, &f);
}

/* A classifying source: each interval carries its harvest's counts, the end
 * their sum; with accumulate (nothing cleared) the last harvest's, except
 * remapped pages (found by the follow, once per move): summed in both. */
static void test_harvest_counts(void)
{
	static const struct step steps[] = {
		{ .harvest = { { A, A + P(2) } }, .maps = MAPS_AB, .t_before = MS(1000), .t_after = MS(1000),
		  .counts = { .discarded_pages = 4, .zero_read_pages = 3 } },
		{ .maps = MAPS_AB, .t_before = MS(2000), .t_after = MS(2000),
		  .counts = { .zero_read_pages = 2, .ksm_merged_pages = 7, .remapped_pages = 5 } },
		{ .harvest = { { B, B + P(16) } }, .maps = MAPS_AB, .t_before = MS(3000), .t_after = MS(3000),
		  .counts = { .thp_filled_pages = 16 } },
	};
	for (int acc = 0; acc < 2; acc++) {
		struct fake f;
		struct ps_err err = { 0 };
		struct ps_session *s = make_src(&f, steps, 3, acc, true);
		if (!ok(s != NULL, "session created"))
			return;
		is_int(ps_session_begin(s, &err), 2, "begin: two mappings engaged");
		ps_session_clock_start(s);
		struct ps_interval iv;
		is_int(tick(s, &f, 0, &iv, &err), 0, "#1");
		ok(iv.counts.discarded_pages == 4 && iv.counts.zero_read_pages == 3 && iv.counts.ksm_merged_pages == 0 &&
		   iv.counts.thp_filled_pages == 0, "#1: discarded 4, zero-read 3");
		is_int(tick(s, &f, 1, &iv, &err), 0, "#2");
		ok(iv.counts.discarded_pages == 0 && iv.counts.zero_read_pages == 2 && iv.counts.ksm_merged_pages == 7 &&
		   iv.counts.remapped_pages == 5, "#2: this harvest's counts, not the sum");
		is_int(tick(s, &f, 2, &iv, &err), 0, "#3");
		ok(iv.counts.thp_filled_pages == 16 && iv.counts.zero_read_pages == 0 && iv.counts.remapped_pages == 0,
		   "#3: thp-filled 16");
		f.t_end = MS(3000);
		struct ps_watch_end e;
		ps_session_end(s, PS_END_COUNT, NULL, -1, &e);
		if (acc)
			ok(e.counts.discarded_pages == 0 && e.counts.zero_read_pages == 0 && e.counts.ksm_merged_pages == 0 &&
			   e.counts.thp_filled_pages == 16 && e.counts.remapped_pages == 5,
			   "end, accumulate: the last harvest's counts, the remapped pages summed");
		else
			ok(e.counts.discarded_pages == 4 && e.counts.zero_read_pages == 5 && e.counts.ksm_merged_pages == 7 &&
			   e.counts.thp_filled_pages == 16 && e.counts.remapped_pages == 5,
			   "end: the counts summed over the intervals");
		finish(s, &f);
	}
}

/* Errors pass through unchanged: -ESRCH tells the caller the mm is gone. */
static void test_errors(void)
{
	static const struct step steps[] = {
		{ .maps = MAPS_AB, .harvest_err = -ESRCH, .t_before = MS(1000), .t_after = MS(1000) },
	};
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = started(&f, steps, 1);
	if (!s)
		return;
	struct ps_interval iv;
	is_int(tick(s, &f, 0, &iv, &err), -ESRCH, "harvest error: -ESRCH passed on");
	is_u64(ps_session_intervals(s), 0, "harvest error: no interval counted");
	finish(s, &f);
}

/* run: the target exec'd. The new source takes over, the next record names
 * the program and its first snapshot, and the wss is the sum over the
 * images even where their addresses coincide (different address spaces). */
static void test_exec(void)
{
	static const struct step before[] = {
		{ .harvest = { { A, A + P(3) }, { B, B + P(2) } }, .maps = MAPS_AB, .t_before = MS(1000), .t_after = MS(1000) },
	};
	static const struct step after[] = {
		{ .harvest = { { A + P(1), A + P(3) } }, .maps = MAPS_AB, .t_before = MS(2000), .t_after = MS(2000) },
		{ .harvest = { { A + P(2), A + P(4) } }, .maps = MAPS_AB, .t_before = MS(3000), .t_after = MS(3000) },
	};
	struct fake f, g = { .steps = after, .nsteps = 2, .started = true, .t_end = MS(3500) };
	struct ps_err err = { 0 };
	struct ps_session *s = started(&f, before, 1);
	if (!s)
		return;
	struct ps_interval iv;
	is_int(tick(s, &f, 0, &iv, &err), 0, "exec: a tick before it");
	ok(iv.exec_command == NULL && iv.nexec_engaged == 0, "exec: none reported before it");
	is_u64(iv.wss_pages, 5, "exec: the old image's wss");

	struct ps_session_source src = {
		.harvest = fake_harvest, .follow = fake_follow, .tracked = fake_tracked, .now_ns = fake_now, .ctx = &g,
	};
	is_int(ps_session_exec(s, &src, 42, "newprog", &err), 2, "exec: the new image's mappings engaged");
	is_int(f.harvests, 1, "exec: the old source is not asked again");
	is_int(tick(s, &g, 0, &iv, &err), 0, "exec: tick on the new source");
	is_int(g.harvests, 1, "exec: the new source harvested");
	is_u64(iv.seq, 2, "exec: intervals keep counting");
	ok(iv.exec_command && strcmp(iv.exec_command, "newprog") == 0 && iv.exec_pid == 42 && iv.execs == 1,
	   "exec: the record names the new program");
	ok(iv.nexec_engaged == 2 && iv.exec_engaged[0].start == A && strcmp(iv.exec_engaged[0].mapping, "[heap]") == 0 &&
	   iv.nexec_skipped == 1, "exec: the record carries the new image's first snapshot");
	is_u64(iv.written_pages, 2, "exec: the new image's pages");
	is_u64(iv.wss_pages, 7, "exec: wss = old 5 + new 2, same addresses counted again");

	is_int(tick(s, &g, 1, &iv, &err), 0, "exec: the next tick");
	ok(iv.exec_command == NULL && iv.nexec_engaged == 0 && iv.execs == 0, "exec: reported once");
	is_u64(iv.wss_pages, 8, "exec: the new image's union grows (1 new page)");
	struct ps_watch_end e;
	ps_session_end(s, PS_END_TARGET_EXIT, NULL, 0, &e);
	is_u64(e.wss_pages, 8, "exec: end wss is the sum");
	is_u64(e.intervals, 3, "exec: end counts every interval");
	ps_rangeset_free(&g.tracked);
	finish(s, &f);
}

/* A watch whose start record failed ends before its clock started: the
 * end says 0 s, not the clock's value since boot (the end line of
 * `watch --prom-file DIR` once said the system's uptime). */
static void test_end_unstarted(void)
{
	static const struct step steps[] = { { .maps = MAPS_AB } };
	struct fake f;
	struct ps_err err = { 0 };
	struct ps_session *s = make(&f, steps, 1, false);
	if (!ok(s != NULL, "unstarted: session created"))
		return;
	is_int(ps_session_begin(s, &err), 2, "unstarted: begin engages two mappings");
	f.started = true; /* the clock reads t_end from now on */
	f.t_end = MS(123456789);
	struct ps_watch_end e;
	ps_session_end(s, PS_END_ERROR, "cannot start the report", -1, &e);
	ok(e.duration_s == 0 && e.intervals == 0, "unstarted: 0 intervals in 0 s, not the clock's value");
	finish(s, &f);
}

int main(void)
{
	test_intervals();
	test_new_and_dropped();
	test_accumulate();
	test_hottest();
	test_hottest_distinct();
	test_readonly_written();
	test_errors();
	test_harvest_counts();
	test_exec();
	test_end_unstarted();
	return tap_done();
}
