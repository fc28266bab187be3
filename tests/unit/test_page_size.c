/* SPDX-License-Identifier: MIT */
/* The page size is the kernel's, at run time (4, 16 or 64 KiB): the setter,
 * the model's counts at 4096 and at 16384 (ranges, maps, regions), and a
 * recording written by the watch sink on a 16 KiB kernel, read back by
 * report on a 4 KiB one: pages, bytes, the text, JSON and SVG figures are
 * in the recording's pages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/heat.h"
#include "pagescan/model/json.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/recording.h"
#include "pagescan/model/region.h"
#include "pagescan/model/report.h"
#include "pagescan/model/util.h"
#include "pagescan/render/fmt.h"
#include "pagescan/render/heat_frame.h"
#include "pagescan/render/report_fmt.h"
#include "tap.h"

#define K16 16384ull

static const char *str(struct ps_out *o)
{
	ps_out_chr(o, '\0');
	o->len--;
	return o->buf;
}

static void test_set(void)
{
	is_u64(PS_PAGE_SIZE, 4096, "default page size 4096");
	is_u64(PS_PAGE_SHIFT, 12, "default shift 12");
	is_u64(PS_PMD_SIZE, 2u << 20, "4 KiB pages: a PMD maps 2 MiB");
	static const uint64_t good[] = { 4096, 8192, 16384, 32768, 65536 };
	static const unsigned shift[] = { 12, 13, 14, 15, 16 };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		is_int(ps_page_size_set(good[i]), 0, "page size %llu accepted", (unsigned long long)good[i]);
		ok(PS_PAGE_SIZE == good[i] && PS_PAGE_SHIFT == shift[i], "size %llu, shift %u",
		   (unsigned long long)PS_PAGE_SIZE, PS_PAGE_SHIFT);
	}
	is_u64(PS_PMD_SIZE, 512ull << 20, "64 KiB pages: a PMD maps 512 MiB");
	static const uint64_t bad[] = { 0, 1, 2048, 12288, 20480, 131072, 1ull << 40 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(ps_page_size_set(bad[i]) == -EINVAL && PS_PAGE_SIZE == 65536,
		   "page size %llu refused, the size unchanged", (unsigned long long)bad[i]);
	ps_page_size_set(K16);
	is_u64(PS_PMD_SIZE, 32ull << 20, "16 KiB pages: a PMD maps 32 MiB");
	ps_page_size_set(4096);
}

/* At page size ps: -r rounding, a maps line's alignment, region page counts. */
static void test_counts(uint64_t ps)
{
	struct ps_err err = { 0 };
	struct ps_rangespec rs;
	ps_page_size_set(ps);
	/* unaligned: the start rounds down, the end up, to the page */
	ok(ps_rangespec_parse("0x100001-0x100002", &rs, &err) == 0 && rs.start == 0x100000 && rs.end == 0x100000 + ps,
	   "%llu: -r rounds to one page", (unsigned long long)ps);
	char spec[64];
	snprintf(spec, sizeof(spec), "0x%llx-0x%llx", 0x100000ull + ps - 1, 0x100000ull + ps + 1);
	ok(ps_rangespec_parse(spec, &rs, &err) == 0 && rs.start == 0x100000 && rs.end == 0x100000 + 2 * ps,
	   "%llu: across a page boundary, two pages", (unsigned long long)ps);

	/* a maps line at 4 KiB alignment: only valid with 4 KiB pages */
	struct ps_maps m;
	const char *line = "100000-101000 rw-p 00000000 00:00 0 \n";
	int r = ps_maps_parse(line, strlen(line), &m, &err);
	if (ps == 4096) {
		ok(r == 0 && m.n == 1, "4096: a 4 KiB mapping parses");
		ps_maps_free(&m);
	} else {
		ok(r < 0, "%llu: a mapping not aligned to the page size is refused", (unsigned long long)ps);
	}

	struct ps_regions v = { 0 };
	ps_regions_push(&v, 0x100000, 0x100000 + 3 * ps, 0);
	ps_regions_push(&v, 0x200000, 0x200000 + 5 * ps, 0);
	is_u64(ps_regions_pages(&v), 8, "%llu: 3 + 5 pages", (unsigned long long)ps);
	ps_regions_free(&v);
	ps_page_size_set(4096);
}

/* The watch sink at 16 KiB: page_size, bytes and region pages. */
static char *record_16k(void)
{
	ps_page_size_set(K16);
	struct ps_maps m;
	struct ps_err err = { 0 };
	/* 16 pages of 16 KiB */
	const char *maps = "10000000-10040000 rw-p 00000000 00:00 0 \n";
	if (ps_maps_parse(maps, strlen(maps), &m, &err) < 0) {
		ok(0, "maps: %s", err.msg);
		return NULL;
	}
	struct ps_span eng = { 0x10000000, 0x10040000, "[anon]", NULL };
	struct ps_watch_start ws = { .pid = 42, .command = "t", .interval_ns = 1000000000, .tracked_pages = 16,
	                             .engaged = &eng, .nengaged = 1 };
	struct ps_out o;
	ps_out_init(&o, -1);
	struct ps_sink *s = ps_sink_json_new(&o, false);
	s->start(s, &ws);
	ok(strstr(str(&o), "\"page_size\":16384,") != NULL, "16K: the start record says page_size 16384");
	ok(strstr(str(&o), "\"end\":\"0x10040000\",\"pages\":16,") != NULL, "16K: engaged: 16 pages of 16 KiB");

	/* Pages written: I1 {0-3}, I2 {2-5}, I3 {8}. */
	static const uint64_t runs[3][2] = { { 0, 4 }, { 2, 6 }, { 8, 9 } };
	for (int i = 0; i < 3; i++) {
		struct ps_regions w = { 0 };
		ps_regions_push(&w, 0x10000000 + runs[i][0] * K16, 0x10000000 + runs[i][1] * K16, 0);
		uint64_t n = runs[i][1] - runs[i][0];
		struct ps_interval iv = { .seq = (uint64_t)i + 1, .time_s = i + 1.0, .elapsed_s = 1.0, .written_pages = n,
		                          .rate_pages_s = (double)n, .harvest_us = 5, .tracked_pages = 16,
		                          .wss_pages = i == 0 ? 4 : i == 1 ? 6 : 7, .maps = &m, .written = &w };
		size_t at = o.len;
		s->interval(s, &iv);
		char want[96];
		snprintf(want, sizeof(want), "\"written_pages\":%llu,\"written_bytes\":%llu,", (unsigned long long)n,
		         (unsigned long long)(n * K16));
		ok(strstr(str(&o) + at, want) != NULL, "16K: interval %d: %s", i + 1, want);
		ps_regions_free(&w);
	}
	struct ps_watch_end we = { .reason = PS_END_COUNT, .intervals = 3, .duration_s = 3, .wss_pages = 7,
	                           .rate = { .n = 3, .mean = 3, .min = 1, .max = 4, .p50 = 4, .p95 = 4, .p99 = 4 } };
	size_t at = o.len;
	s->end(s, &we);
	ok(strstr(str(&o) + at, "\"wss_pages\":7,\"wss_bytes\":114688,") != NULL, "16K: end: 7 pages = 114688 bytes");
	s->destroy(s);
	ps_maps_free(&m);
	char *text = strdup(str(&o));
	ps_out_free(&o);
	ps_page_size_set(4096);
	return text;
}

static void test_report_16k_on_4k(const char *text)
{
	struct ps_recording *rec = NULL;
	struct ps_report *rep = NULL;
	struct ps_warnings w = { 0 };
	struct ps_err err = { 0 };
	struct ps_report_opts ro = { .bandwidth = 8 * K16, .downtime_ns = 200000000 };

	/* this machine: 4 KiB */
	ps_page_size_set(4096);
	if (!ok(ps_recording_parse(text, strlen(text), &rec, &w, &err) == 0, "16K recording read (%s)", err.msg))
		return;
	is_u64(rec->page_size, K16, "the recording's page_size");
	is_u64(PS_PAGE_SIZE, K16, "reading it set the page size to the recording's");
	if (!ok(ps_report_analyse(rec, &ro, &rep, &w, &err) == 0, "analysed (%s)", err.msg)) {
		ps_recording_free(rec);
		return;
	}
	is_u64(rep->unique_pages, 7, "unique pages 7 (pages 0-5 and 8)");
	is_u64(rep->tracked_pages_max, 16, "tracked pages 16");

	struct ps_out out;
	ps_out_init(&out, -1);
	ps_report_text(&out, rec, rep);
	ok(strstr(str(&out), "unique pages written: 7 (112K)") != NULL, "text: 7 pages are 112K");
	ps_out_free(&out);

	ps_out_init(&out, -1);
	ps_report_json(&out, rec, rep, &w);
	struct ps_json j = { 0 };
	is_int(ps_json_parse(&j, out.buf, out.len), 0, "json report parses");
	uint32_t sum = ps_json_get(&j, 0, "summary");
	uint64_t u = 0, t = 0;
	ok(ps_json_u64(&j, ps_json_get(&j, sum, "unique_bytes"), &u) == 0 && u == 7 * K16, "json: unique_bytes %llu",
	   (unsigned long long)u);
	ok(ps_json_u64(&j, ps_json_get(&j, sum, "tracked_bytes"), &t) == 0 && t == 16 * K16, "json: tracked_bytes %llu",
	   (unsigned long long)t);
	ps_json_free(&j);
	ps_out_free(&out);

	ps_out_init(&out, -1);
	ps_report_svg(&out, rec, rep);
	ok(strstr(str(&out), "16 KiB pages</text>") != NULL, "svg: says 16 KiB pages");
	ok(strstr(str(&out), "112K") != NULL, "svg: 7 pages are 112K");
	ps_out_free(&out);
	ps_report_free(rep);
	ps_recording_free(rec);
	ps_warnings_free(&w);

	/* The same recording said to be of 4 KiB pages: its 16 KiB-aligned
	 * regions read as 4 pages each. A 4 KiB recording read on a 16 KiB
	 * machine goes back to 4096. */
	char *four = strdup(text);
	char *p = strstr(four, "\"page_size\":16384");
	memcpy(p, "\"page_size\":4096,", strlen("\"page_size\":4096,"));
	memmove(p + strlen("\"page_size\":4096,"), p + strlen("\"page_size\":16384,"),
	        strlen(p + strlen("\"page_size\":16384,")) + 1);
	ps_page_size_set(K16);
	w = (struct ps_warnings){ 0 };
	/* (each interval is dropped with a warning: "pages does not match") */
	ok(ps_recording_parse(four, strlen(four), &rec, &w, &err) < 0 && w.n > 0 && strstr(w.msg[0], "pages does not match"),
	   "16K regions claimed as 4 KiB pages: refused (%s)", err.msg);
	is_u64(PS_PAGE_SIZE, 4096, "the page size follows the recording: 4096");
	ps_warnings_free(&w);
	free(four);

	/* page sizes that are not supported */
	static const char *const odd[] = { "12288", "2048", "131072", "0", "\"16K\"" };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		char *bad = NULL;
		p = strstr(text, "16384");
		if (asprintf(&bad, "%.*s%s%s", (int)(p - text), text, odd[i], p + 5) < 0)
			return;
		w = (struct ps_warnings){ 0 };
		rec = NULL;
		ok(ps_recording_parse(bad, strlen(bad), &rec, &w, &err) < 0 && strstr(err.msg, "page_size"),
		   "page_size %s refused: %s", odd[i], err.msg);
		ps_recording_free(rec);
		ps_warnings_free(&w);
		free(bad);
	}
	ps_page_size_set(4096);
}

/* The heatmap at 16 KiB: a 1 MiB mapping is 64 pages; 8 written pages show
 * as 8 pages, 128K, and the frame names the mapping's addresses. */
static void test_heat_16k(void)
{
	ps_page_size_set(K16);
	struct ps_maps m;
	struct ps_rangeset t = { 0 };
	struct ps_err err = { 0 };
	const char *maps = "10000000-10100000 rw-p 00000000 00:00 0 \n";
	if (!ok(ps_maps_parse(maps, strlen(maps), &m, &err) == 0, "heat: maps (%s)", err.msg))
		return;
	ps_rangeset_add(&t, 0x10000000, 0x10100000);
	struct ps_heat h;
	ps_heat_init(&h);
	struct ps_watch_start ws = { .pid = 42, .command = "prog", .interval_ns = 1000000000ull, .tracked_pages = 64,
	                             .maps = &m, .tracked = &t };
	is_int(ps_heat_start(&h, &ws), 0, "heat: start");
	struct ps_regions w = { 0 };
	ps_regions_push(&w, 0x10000000, 0x10000000 + 8 * K16, 0);
	struct ps_interval iv = { .seq = 1, .time_s = 1, .elapsed_s = 1, .written_pages = 8, .rate_pages_s = 8,
	                          .tracked_pages = 64, .wss_pages = 8, .maps = &m, .tracked = &t, .written = &w };
	is_int(ps_heat_interval(&h, &iv), 0, "heat: interval");
	ok(h.nseg == 1 && h.seg[0].pages == 64, "heat: the 1 MiB mapping is 64 pages of 16 KiB (%llu)",
	   h.nseg ? (unsigned long long)h.seg[0].pages : 0ull);
	ok(h.nseg == 1 && h.seg[0].now_pages == 8 && h.seg[0].ever_pages == 8, "heat: 8 pages written");

	struct ps_heat_view v;
	ps_heat_view_init(&v, false);
	v.by_address = true;
	struct ps_heat_frame f = { 0 };
	ps_heat_frame_size(&f, 100, 12);
	ps_heat_render(&h, &v, &f);
	struct ps_out o;
	ps_out_init(&o, -1);
	ps_heat_frame_text(&f, &o);
	const char *text = str(&o);
	ok(strstr(text, "128K") != NULL, "heat frame: 8 pages written are 128K");
	ok(strstr(text, "1 cell = 1 page (16K)") != NULL, "heat frame: a cell is one 16K page");
	ok(strstr(text, "0x10000000 [anon]           [@@@@@@@@....") != NULL, "heat frame: 8 of 64 cells written");
	ok(strstr(text, "12.5%      0x10000000 [anon]") != NULL, "heat frame: 12.5%% of the mapping");
	ps_out_free(&o);
	ps_heat_frame_free(&f);
	ps_heat_view_free(&v);
	ps_heat_free(&h);
	ps_regions_free(&w);
	ps_rangeset_free(&t);
	ps_maps_free(&m);
	ps_page_size_set(4096);
}

int main(void)
{
	test_heat_16k();
	test_set();
	test_counts(4096);
	test_counts(K16);
	test_counts(65536);
	char *text = record_16k();
	if (text)
		test_report_16k_on_4k(text);
	free(text);
	return tap_done();
}
