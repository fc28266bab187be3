/* SPDX-License-Identifier: MIT */
/* The watch records of a fixed sequence of harvests, byte for byte: a fake
 * source replays 24 ticks of scattered writes (random regions, some of
 * mixed categories, in four mappings; one engaged with pages already
 * written, one dropped, every page of one written at once), with and
 * without --accumulate into the JSON sink (region lists included), and
 * without it into the text sink. The output must equal
 * tests/data/session-replay.txt ("@PAGESCAN_VERSION@" for the version),
 * which the session produced before its write working set became a page
 * set: a change of the session's data structures must not change a byte.
 *
 * After an intended change of the output: PS_REPLAY_WRITE=FILE writes the
 * new output to FILE instead of comparing; read the difference before
 * replacing tests/data/session-replay.txt with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/session.h"
#include "pagescan/model/util.h"
#include "pagescan/render/fmt.h"
#include "pagescan/render/outbuf.h"
#include "pagescan/render/sink.h"
#include "helpers.h"
#include "tap.h"

#define NTICKS 24
#define MAPS_TEXT(extra) \
	"10000000-10400000 rw-p 00000000 00:00 0                          [heap]\n" \
	"20000000-20100000 rw-p 00000000 00:00 0 \n" \
	extra \
	"7f0000000000-7f0000040000 rw-s 00000000 00:05 77                 /dev/shm/data\n"
static const char MAPS_START[] = MAPS_TEXT("");
static const char MAPS_NEW[] = MAPS_TEXT("30000000-30080000 rw-p 00000000 00:00 0                          [stack]\n");

struct replay {
	uint64_t rng, now;
	int tick;
	bool in_tick;
	struct ps_rangeset tracked;
};

static uint64_t rnd(struct replay *r, uint64_t n)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng % n;
}

/* Random sorted regions in [lo, hi) (bytes), n tries, runs of up to maxrun pages. */
static void scatter(struct replay *r, struct ps_regions *out, uint64_t lo, uint64_t hi, int n, uint64_t maxrun)
{
	uint64_t p = lo;
	for (int i = 0; i < n && p < hi; i++) {
		p += rnd(r, (hi - lo) / PS_PAGE_SIZE / (uint64_t)n + 1) * PS_PAGE_SIZE;
		uint64_t e = p + (1 + rnd(r, maxrun)) * PS_PAGE_SIZE;
		if (e > hi)
			e = hi;
		if (p < e)
			ps_regions_push(out, p, e, rnd(r, 4) ? PS_CAT_WRITTEN : PS_CAT_WRITTEN | PS_CAT_PRESENT);
		p = e;
	}
}

static int replay_harvest(void *ctx, bool clear, struct ps_regions *out, struct ps_err *err)
{
	struct replay *r = ctx;
	(void)clear;
	(void)err;
	if (r->tick == 7) {
		/* Every page of the shared mapping at once. */
		ps_regions_push(out, 0x10000000, 0x10000000 + 64 * PS_PAGE_SIZE, PS_CAT_WRITTEN);
		ps_regions_push(out, 0x7f0000000000ull, 0x7f0000040000ull, PS_CAT_WRITTEN);
		return 0;
	}
	scatter(r, out, 0x10000000, 0x10400000, 8, r->tick % 3 ? 3 : 40);
	if (r->tick < 18)
		scatter(r, out, 0x20000000, 0x20100000, 5, 2);
	if (r->tick >= 12 && r->tick < 22)
		scatter(r, out, 0x30000000, 0x30080000, 4, 5);
	if (r->tick % 5 == 0)
		scatter(r, out, 0x7f0000000000ull, 0x7f0000040000ull, 4, 8);
	return 0;
}

static int replay_follow(void *ctx, bool count_prewritten, struct ps_maps *maps, struct ps_sync_result *res,
                         struct ps_err *err)
{
	struct replay *r = ctx;
	/* [stack] appears at tick 12 with pages written before it was engaged;
	 * the anonymous mapping is dropped at tick 18. */
	const char *text = r->in_tick && r->tick >= 12 ? MAPS_NEW : MAPS_START;
	if (ps_maps_parse(text, strlen(text), maps, err) < 0)
		return -1;
	if (!r->in_tick) {
		for (size_t i = 0; i < maps->n; i++) {
			ps_spans_add(&res->engaged, maps->v[i].start, maps->v[i].end, ps_vma_label(&maps->v[i]), NULL);
			ps_rangeset_add(&r->tracked, maps->v[i].start, maps->v[i].end);
		}
		return 0;
	}
	if (r->tick == 12) {
		ps_spans_add(&res->engaged, 0x30000000, 0x30080000, "[stack]", NULL);
		ps_rangeset_add(&r->tracked, 0x30000000, 0x30080000);
		if (count_prewritten) {
			ps_regions_push(&res->prewritten, 0x30000000, 0x30004000, PS_CAT_WRITTEN);
			ps_regions_push(&res->prewritten, 0x30010000, 0x30011000, PS_CAT_WRITTEN);
		}
	}
	if (r->tick == 18) {
		ps_spans_add(&res->dropped, 0x20000000, 0x20100000, "(unmapped)", NULL);
		ps_rangeset_remove(&r->tracked, 0x20000000, 0x20100000);
	}
	return 0;
}

static const struct ps_rangeset *replay_tracked(void *ctx)
{
	return &((struct replay *)ctx)->tracked;
}

static uint64_t replay_now(void *ctx)
{
	struct replay *r = ctx;
	r->now += 250000000 + rnd(r, 1000) * 1000; /* ~0.25 s, irregular */
	return r->now;
}

/* One whole watch into the sink; 0 or a failing step. */
static int run(struct ps_sink *sink, bool accumulate)
{
	struct replay r = { .rng = 0x2545f4914f6cdd1dull, .now = 1000000000 };
	struct ps_session_source src = {
		.harvest = replay_harvest, .follow = replay_follow, .tracked = replay_tracked, .now_ns = replay_now,
		.ctx = &r,
	};
	struct ps_session_opts o = { .pid = 4242, .command = "replay", .interval_ns = 250000000,
	                             .accumulate = accumulate };
	struct ps_session *s = ps_session_new(&src, &o);
	struct ps_err err = { 0 };
	struct ps_watch_start ws;
	struct ps_watch_end we;
	int bad = 0;

	if (!s || ps_session_begin(s, &err) <= 0)
		bad = 1;
	if (!bad) {
		ps_session_start(s, &ws);
		ps_session_clock_start(s);
		bad = sink->start(sink, &ws) ? 2 : 0;
	}
	for (r.tick = 1; !bad && r.tick <= NTICKS; r.tick++) {
		struct ps_interval iv;
		r.in_tick = true;
		if (ps_session_tick(s, &iv, &err) < 0 || sink->interval(sink, &iv))
			bad = 3;
		r.in_tick = false;
	}
	if (!bad) {
		ps_session_end(s, PS_END_SIGNAL, "SIGINT", -1, &we);
		bad = sink->end(sink, &we) ? 4 : 0;
	}
	ps_session_free(s);
	ps_rangeset_free(&r.tracked);
	return bad;
}

/* The version in the start record, as the token the file holds. */
static void unversion(struct ps_out *o)
{
	static const char tok[] = "@PAGESCAN_VERSION@";
	char key[64];
	int klen = snprintf(key, sizeof(key), "\"pagescan\":\"%s\"", PAGESCAN_VERSION);
	struct ps_out n;
	ps_out_init(&n, -1);
	for (size_t i = 0; i < o->len;) {
		if (klen > 0 && o->len - i >= (size_t)klen && memcmp(o->buf + i, key, (size_t)klen) == 0) {
			ps_out_str(&n, "\"pagescan\":\"");
			ps_out_str(&n, tok);
			ps_out_chr(&n, '"');
			i += (size_t)klen;
		} else {
			ps_out_chr(&n, o->buf[i++]);
		}
	}
	ps_out_free(o);
	*o = n;
}

int main(void)
{
	struct ps_out o;
	ps_out_init(&o, -1);
	for (int acc = 0; acc < 2; acc++) {
		/* The text sink once: its lines come from the same fields. */
		struct ps_sink *js = ps_sink_json_new(&o, false), *ts = acc ? NULL : ps_sink_text_new(&o, false);
		is_int(js ? run(js, acc) : -1, 0, "json%s: the whole watch replayed", acc ? ", accumulate" : "");
		if (!acc)
			is_int(ts ? run(ts, acc) : -1, 0, "text: the whole watch replayed");
		if (js)
			js->destroy(js);
		if (ts)
			ts->destroy(ts);
	}

	unversion(&o);
	const char *write_to = getenv("PS_REPLAY_WRITE");
	char *path = write_to ? strdup(write_to) : data_path("session-replay.txt");
	FILE *fp = path ? fopen(path, write_to ? "w" : "r") : NULL;
	if (!ok(fp != NULL, "open %s", path ? path : "session-replay.txt")) {
		free(path);
		ps_out_free(&o);
		return tap_done();
	}
	if (write_to) {
		ok(fwrite(o.buf, 1, o.len, fp) == o.len, "wrote %zu bytes to %s", o.len, path);
	} else {
		char *want = malloc(o.len + 2);
		size_t n = want ? fread(want, 1, o.len + 1, fp) : 0;
		size_t at = 0;
		while (at < n && at < o.len && want[at] == o.buf[at])
			at++;
		if (!ok(n == o.len && at == o.len, "the records equal %s (%zu bytes)", path, o.len))
			printf("#   first difference at byte %zu (got %zu bytes, want %zu)\n", at, o.len, n);
		free(want);
	}
	fclose(fp);
	free(path);
	ps_out_free(&o);
	return tap_done();
}
