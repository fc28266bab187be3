/* SPDX-License-Identifier: MIT */
/* Watch sinks: exact bytes of the JSON and text interval records, with and
 * without region lists, and the mapping-name cache across intervals (a new
 * maps snapshot can put a different mapping at the same VMA address); and
 * every record every sink writes (start, interval, end; JSON, CSV, text),
 * whole, built by hand with a different value in every field, so that a
 * field printed in another's place cannot pass. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/render/fmt.h"
#include "tap.h"

#define PG 4096ull

static const char *str(struct ps_out *o)
{
	ps_out_chr(o, '\0');
	o->len--;
	return o->buf;
}

static struct ps_maps maps_of(const char *text)
{
	struct ps_maps m;
	struct ps_err err = { 0 };
	if (ps_maps_parse(text, strlen(text), &m, &err) < 0) {
		ok(0, "maps parse: %s", err.msg);
		exit(1);
	}
	return m;
}

static struct ps_interval interval(const struct ps_maps *m, const struct ps_regions *w)
{
	return (struct ps_interval){ .seq = 3, .time_s = 0.3, .elapsed_s = 0.1, .written_pages = 5,
	                             .rate_pages_s = 50, .harvest_us = 7, .tracked_pages = 64,
	                             .wss_pages = 9, .maps = m, .written = w };
}

static void test_json(void)
{
	struct ps_maps m = maps_of("10000-20000 rw-p 00000000 00:00 0 \n"
	                           "20000-30000 rw-s 00000000 00:05 7 /dev/shm/a\"b\n");
	struct ps_regions w = { 0 };
	/* one region across both mappings: split at the boundary */
	ps_regions_push(&w, 0x11000, 0x12000, 0);
	ps_regions_push(&w, 0x1f000, 0x22000, 0);
	struct ps_out o;
	ps_out_init(&o, -1);
	struct ps_interval iv = interval(&m, &w);

	struct ps_sink *s = ps_sink_json_new(&o, false);
	s->interval(s, &iv);
	is_str(str(&o),
	       "{\"type\":\"interval\",\"seq\":3,\"time_s\":0.300000,\"elapsed_s\":0.100000,\"written_pages\":5,"
	       "\"written_bytes\":20480,\"rate_pages_s\":50.0,\"rate_mib_s\":0.195,\"harvest_us\":7,"
	       "\"tracked_pages\":64,\"wss_pages\":9,\"discarded_pages\":0,\"zero_read_pages\":0,"
	       "\"ksm_merged_pages\":0,\"thp_filled_pages\":0,\"remapped_pages\":0,"
	       "\"interval_s\":0.000,\"stretched\":false,\"target_overhead\":null,\"regions\":["
	       "{\"start\":\"0x11000\",\"end\":\"0x12000\",\"pages\":1,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x1f000\",\"end\":\"0x20000\",\"pages\":1,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x20000\",\"end\":\"0x22000\",\"pages\":2,\"mapping\":\"/dev/shm/a\\\"b\"}"
	       "],\"mappings\":[],\"engaged\":[],\"dropped\":[],\"readonly_written\":[]}\n",
	       "JSON interval: regions split at the mapping, names escaped");

	/* The next interval's snapshot has another mapping at the same VMA
	 * address (made certain here by renaming it in place): the name must
	 * not come from the previous interval's cache. */
	m.v[0].name = "/data/x";
	ps_regions_clear(&w);
	ps_regions_push(&w, 0x10000, 0x11000, 0);
	iv = interval(&m, &w);
	o.len = 0;
	s->interval(s, &iv);
	ok(strstr(str(&o), "\"mapping\":\"/data/x\"}") != NULL, "the name cache is reset per interval");
	s->destroy(s);

	/* -q: no "regions" key at all, the rest unchanged */
	o.len = 0;
	s = ps_sink_json_new(&o, true);
	s->interval(s, &iv);
	ok(strstr(str(&o), "regions") == NULL, "quiet JSON has no regions key");
	ok(strstr(str(&o), "\"target_overhead\":null,\"mappings\":[]") != NULL, "quiet JSON keeps the counts");
	o.len = 0;
	struct ps_watch_start ws = { .pid = 42, .command = "x", .interval_ns = 100000000 };
	s->start(s, &ws);
	ok(strstr(str(&o), "\"mode\":\"interval\",\"region_lists\":false,") != NULL, "start says region_lists false");
	s->destroy(s);
	o.len = 0;
	s = ps_sink_json_new(&o, false);
	s->start(s, &ws);
	ok(strstr(str(&o), "\"region_lists\":true,") != NULL, "start says region_lists true");
	s->destroy(s);

	ps_maps_free(&m);
	ps_regions_free(&w);
	ps_out_free(&o);
}

static void test_text(void)
{
	struct ps_maps m = maps_of("10000-20000 rw-p 00000000 00:00 0 \n"
	                           "7f0000000000-7f0000400000 rw-p 00000000 08:01 5 /x\\012y\n");
	struct ps_regions w = { 0 };
	ps_regions_push(&w, 0x11000, 0x12000, 0);
	ps_regions_push(&w, 0x13000, 0x14000, 0);
	ps_regions_push(&w, 0x7f0000000000, 0x7f0000300000, 0);
	struct ps_out o;
	ps_out_init(&o, -1);
	struct ps_interval iv = interval(&m, &w);
	struct ps_sink *s = ps_sink_text_new(&o, false);
	s->interval(s, &iv);
	const char *t = str(&o);
	ok(strstr(t, "\n    0x000000011000-0x000000012000  4.0K  [anon]\n"
	             "    0x000000013000-0x000000014000  4.0K  [anon]\n"
	             "    0x7f0000000000-0x7f0000300000  3.0M  /x\\012y\n") != NULL,
	   "text region lines (sizes from the cache, names escaped)");
	s->destroy(s);
	o.len = 0;
	s = ps_sink_text_new(&o, true);
	s->interval(s, &iv);
	ok(strstr(str(&o), "    0x") == NULL, "quiet text has no region lines");
	s->destroy(s);
	ps_maps_free(&m);
	ps_regions_free(&w);
	ps_out_free(&o);
}

/* The cache is keyed by the escaping too: the same mapping asked for as
 * JSON, then for a terminal, gets each form. */
static void test_label_cache(void)
{
	struct ps_maps m = maps_of("10000-20000 rw-p 00000000 08:01 5 /a\"b\\012c\n");
	struct ps_label_cache c = { 0 };
	const struct ps_out *l = ps_label_cache_get(&c, &m.v[0], true);
	ok(l->len == 13 && memcmp(l->buf, "\"/a\\\"b\\\\012c\"", 13) == 0, "JSON form");
	l = ps_label_cache_get(&c, &m.v[0], false);
	ok(l->len == 9 && memcmp(l->buf, "/a\"b\\012c", 9) == 0, "terminal form, same mapping");
	l = ps_label_cache_get(&c, NULL, false);
	ok(l->len == 10 && memcmp(l->buf, "[unmapped]", 10) == 0, "no mapping");
	ps_label_cache_free(&c);
	ps_maps_free(&m);
}

/* ---- every record of every sink, whole ------------------------------------------------ */

/* Two mappings, one with a name that needs escaping in JSON and in CSV. */
#define REC_MAPS "10000-20000 rw-p 00000000 00:00 0 \n" \
                 "7f0000000000-7f0000400000 rw-p 00000000 08:01 5 /x\"y\n"

static const struct ps_span rec_engaged[] = {
	{ 0x10000, 0x20000, "[anon]", NULL },
	{ 0x7f0000000000, 0x7f0000400000, "/x\"y", NULL },
};
static const struct ps_span rec_skipped[] = {
	{ 0x30000, 0x31000, "[vvar]", "special kernel mapping: it cannot be write-protected" },
	{ 0x40000, 0x42000, "/dev/dri", "the kernel cannot write-protect this kind of mapping (EINVAL)" },
};

static struct ps_watch_start rec_start(bool accumulate)
{
	/* 16 + 1024 pages engaged */
	return (struct ps_watch_start){ .pid = 4242, .command = "wr\"it", .interval_ns = 250000000,
	                                .accumulate = accumulate, .tracked_pages = 1040,
	                                .engaged = rec_engaged, .nengaged = 2,
	                                .skipped = rec_skipped, .nskipped = 2,
	                                .wp_fault_ns = 1234.5, .wp_fault_calibrated = true,
	                                .max_overhead = accumulate ? 0 : 0.1 };
}

static const struct ps_mapping_count rec_per_mapping[] = {
	{ 0x10000, 0x20000, "[anon]", 3 },
	{ 0x7f0000000000, 0x7f0000400000, "/x\"y", 34 },
};
static const struct ps_span rec_new[] = { { 0x50000, 0x58000, "[heap]", NULL } };
static const struct ps_span rec_gone[] = { { 0x60000, 0x61000, "(unmapped)", NULL } };
static const struct ps_span rec_relro[] = { { 0x70000, 0x74000, "/lib/libc.so.6", NULL } };

/* 37 pages in 3 pieces: 2 + 1 in [anon], 34 in /x"y. */
static struct ps_interval rec_interval(const struct ps_maps *m, const struct ps_regions *w)
{
	return (struct ps_interval){ .seq = 7, .time_s = 1.75, .elapsed_s = 0.2504, .written_pages = 37,
	                             .rate_pages_s = 147.8, .harvest_us = 123, .tracked_pages = 1040,
	                             .wss_pages = 512, .maps = m, .written = w,
	                             .counts = { .discarded_pages = 12, .zero_read_pages = 4 },
	                             .per_mapping = rec_per_mapping, .nper_mapping = 2,
	                             .engaged = rec_new, .nengaged = 1, .dropped = rec_gone, .ndropped = 1,
	                             .readonly_written = rec_relro, .nreadonly_written = 1,
	                             .overhead = { .known = true, .faults = 37, .fault_ns = 284.9, .fault_s = 0.010541, .share = 0.0421,
	                                           .cpu_share = 0.1734, .cpu_s = 0.0608 },
	                             .interval_s = 0.25 };
}

/* written_pages (the old measure: page-writes), distinct pages, page-writes */
static const struct ps_mapping_count rec_hottest[] = {
	{ 0x7f0000000000, 0x7f0000400000, "/x\"y", 90, 34, 90 },
	{ 0x10000, 0x20000, "[anon]", 21, 16, 21 },
};

/* Every statistic different, each one unlike the others after rounding
 * (1 decimal in JSON, none in text). */
static struct ps_watch_end rec_end(void)
{
	return (struct ps_watch_end){
		.reason = PS_END_SIGNAL, .detail = "Interrupt", .intervals = 7, .duration_s = 1.750123,
		.wss_pages = 512,
		.counts = { .discarded_pages = 30, .zero_read_pages = 8, .ksm_merged_pages = 3, .thp_filled_pages = 512 },
		.rate = { .n = 7, .mean = 150.3, .stddev = 33.3, .min = 12.2, .max = 201.4,
		          .p50 = 140.6, .p95 = 190.8, .p99 = 199.1 },
		.hottest = rec_hottest, .nhottest = 2, .has_exit_status = true, .exit_status = 3,
		.overhead = { .known = true, .fault_s = 0.07375, .share = 0.0421, .max_share = 0.1266, .cpu_share = 0.2,
		              .stretched = 3, .longest_s = 1.0, .fault_ns = 1234.5, .calibrated = true, .budget = 0.1 },
	};
}

/* One interval and one end that print their singulars and leave out what is empty. */
static struct ps_watch_end rec_end_small(void)
{
	return (struct ps_watch_end){
		.reason = PS_END_COUNT, .intervals = 1, .duration_s = 0.25, .wss_pages = 1,
		.rate = { .n = 1, .mean = 4.4, .min = 4.4, .max = 4.4, .p50 = 4.4, .p95 = 4.4, .p99 = 4.4 },
	};
}

struct rec_fixture {
	struct ps_maps m;
	struct ps_regions w;
	struct ps_out o;
};

static void rec_setup(struct rec_fixture *f)
{
	f->m = maps_of(REC_MAPS);
	f->w = (struct ps_regions){ 0 };
	ps_regions_push(&f->w, 0x10000, 0x12000, 0);
	ps_regions_push(&f->w, 0x13000, 0x14000, 0);
	ps_regions_push(&f->w, 0x7f0000000000, 0x7f0000022000, 0);
	ps_out_init(&f->o, -1);
}

static void rec_teardown(struct rec_fixture *f)
{
	ps_maps_free(&f->m);
	ps_regions_free(&f->w);
	ps_out_free(&f->o);
}

/* The whole output of one record. */
static const char *rec_run(struct rec_fixture *f, struct ps_sink *s, int which, const void *rec)
{
	f->o.len = 0;
	int r = which == 0 ? s->start(s, rec) : which == 1 ? s->interval(s, rec) : s->end(s, rec);
	is_int(r, 0, "the sink accepts the record");
	return str(&f->o);
}

static void test_records_json(void)
{
	struct rec_fixture f;
	rec_setup(&f);
	struct ps_watch_start ws = rec_start(false);
	struct ps_interval iv = rec_interval(&f.m, &f.w);
	struct ps_watch_end we = rec_end(), small = rec_end_small();
	struct ps_sink *s = ps_sink_json_new(&f.o, false);

	is_str(rec_run(&f, s, 0, &ws),
	       "{\"type\":\"start\",\"format_version\":1,\"pagescan\":\"" PAGESCAN_VERSION "\",\"pid\":4242,"
	       "\"command\":\"wr\\\"it\",\"interval_s\":0.250,\"page_size\":4096,\"mode\":\"interval\","
	       "\"region_lists\":true,\"tracked_pages\":1040,"
	       "\"max_overhead\":0.1000,\"wp_fault_ns\":1234.5,\"wp_fault_calibrated\":true,\"engaged\":["
	       "{\"start\":\"0x10000\",\"end\":\"0x20000\",\"pages\":16,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x7f0000000000\",\"end\":\"0x7f0000400000\",\"pages\":1024,\"mapping\":\"/x\\\"y\"}],"
	       "\"skipped\":["
	       "{\"start\":\"0x30000\",\"end\":\"0x31000\",\"pages\":1,\"mapping\":\"[vvar]\","
	       "\"reason\":\"special kernel mapping: it cannot be write-protected\"},"
	       "{\"start\":\"0x40000\",\"end\":\"0x42000\",\"pages\":2,\"mapping\":\"/dev/dri\","
	       "\"reason\":\"the kernel cannot write-protect this kind of mapping (EINVAL)\"}]}\n",
	       "JSON start record, whole");
	is_str(rec_run(&f, s, 1, &iv),
	       "{\"type\":\"interval\",\"seq\":7,\"time_s\":1.750000,\"elapsed_s\":0.250400,\"written_pages\":37,"
	       "\"written_bytes\":151552,\"rate_pages_s\":147.8,\"rate_mib_s\":0.577,\"harvest_us\":123,"
	       "\"tracked_pages\":1040,\"wss_pages\":512,\"discarded_pages\":12,\"zero_read_pages\":4,"
	       "\"ksm_merged_pages\":0,\"thp_filled_pages\":0,\"remapped_pages\":0,"
	       "\"interval_s\":0.250,\"stretched\":false,\"target_overhead\":{\"faults\":37,\"fault_ns\":285,\"fault_s\":0.010541,"
	       "\"share\":0.0421,\"cpu_share\":0.1734},\"regions\":["
	       "{\"start\":\"0x10000\",\"end\":\"0x12000\",\"pages\":2,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x13000\",\"end\":\"0x14000\",\"pages\":1,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x7f0000000000\",\"end\":\"0x7f0000022000\",\"pages\":34,\"mapping\":\"/x\\\"y\"}],"
	       "\"mappings\":[{\"mapping\":\"[anon]\",\"start\":\"0x10000\",\"written_pages\":3},"
	       "{\"mapping\":\"/x\\\"y\",\"start\":\"0x7f0000000000\",\"written_pages\":34}],"
	       "\"engaged\":[{\"start\":\"0x50000\",\"end\":\"0x58000\",\"pages\":8,\"mapping\":\"[heap]\"}],"
	       "\"dropped\":[{\"start\":\"0x60000\",\"end\":\"0x61000\",\"pages\":1,\"mapping\":\"(unmapped)\"}],"
	       "\"readonly_written\":[{\"start\":\"0x70000\",\"end\":\"0x74000\",\"pages\":4,\"mapping\":\"/lib/libc.so.6\"}]}\n",
	       "JSON interval record, whole");
	is_str(rec_run(&f, s, 2, &we),
	       "{\"type\":\"end\",\"reason\":\"signal\",\"detail\":\"Interrupt\",\"intervals\":7,"
	       "\"duration_s\":1.750123,\"wss_pages\":512,\"wss_bytes\":2097152,"
	       "\"discarded_pages\":30,\"zero_read_pages\":8,\"ksm_merged_pages\":3,\"thp_filled_pages\":512,\"remapped_pages\":0,"
	       "\"target_overhead\":{\"fault_s\":0.073750,\"share\":0.0421,\"max_share\":0.1266,\"cpu_share\":0.2000,"
	       "\"stretched_intervals\":3,\"longest_interval_s\":1.000},"
	       "\"rate_pages_s\":{\"mean\":150.3,\"p50\":140.6,\"p95\":190.8,\"max\":201.4},"
	       "\"hottest\":[{\"mapping\":\"/x\\\"y\",\"start\":\"0x7f0000000000\",\"written_pages\":90,"
	       "\"distinct_pages\":34,\"page_writes\":90},"
	       "{\"mapping\":\"[anon]\",\"start\":\"0x10000\",\"written_pages\":21,\"distinct_pages\":16,"
	       "\"page_writes\":21}],\"hottest_by\":\"distinct_pages\",\"exit_status\":3}\n",
	       "JSON end record, whole: each statistic in its own field");
	is_str(rec_run(&f, s, 2, &small),
	       "{\"type\":\"end\",\"reason\":\"count\",\"intervals\":1,\"duration_s\":0.250000,\"wss_pages\":1,"
	       "\"wss_bytes\":4096,\"discarded_pages\":0,\"zero_read_pages\":0,\"ksm_merged_pages\":0,"
	       "\"thp_filled_pages\":0,\"remapped_pages\":0,"
	       "\"target_overhead\":{\"fault_s\":0.000000,\"share\":null,\"max_share\":null,\"cpu_share\":null,"
	       "\"stretched_intervals\":0,\"longest_interval_s\":0.000},\"rate_pages_s\":{\"mean\":4.4,\"p50\":4.4,\"p95\":4.4,\"max\":4.4},"
	       "\"hottest\":[],\"hottest_by\":\"distinct_pages\"}\n",
	       "JSON end record without detail, hottest or exit status");
	s->destroy(s);

	/* -q: the same records without region lists */
	s = ps_sink_json_new(&f.o, true);
	ws = rec_start(true);
	is_str(rec_run(&f, s, 0, &ws),
	       "{\"type\":\"start\",\"format_version\":1,\"pagescan\":\"" PAGESCAN_VERSION "\",\"pid\":4242,"
	       "\"command\":\"wr\\\"it\",\"interval_s\":0.250,\"page_size\":4096,\"mode\":\"accumulate\","
	       "\"region_lists\":false,\"tracked_pages\":1040,"
	       "\"max_overhead\":null,\"wp_fault_ns\":1234.5,\"wp_fault_calibrated\":true,\"engaged\":["
	       "{\"start\":\"0x10000\",\"end\":\"0x20000\",\"pages\":16,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x7f0000000000\",\"end\":\"0x7f0000400000\",\"pages\":1024,\"mapping\":\"/x\\\"y\"}],"
	       "\"skipped\":["
	       "{\"start\":\"0x30000\",\"end\":\"0x31000\",\"pages\":1,\"mapping\":\"[vvar]\","
	       "\"reason\":\"special kernel mapping: it cannot be write-protected\"},"
	       "{\"start\":\"0x40000\",\"end\":\"0x42000\",\"pages\":2,\"mapping\":\"/dev/dri\","
	       "\"reason\":\"the kernel cannot write-protect this kind of mapping (EINVAL)\"}]}\n",
	       "quiet JSON start record (accumulate), whole");
	is_str(rec_run(&f, s, 1, &iv),
	       "{\"type\":\"interval\",\"seq\":7,\"time_s\":1.750000,\"elapsed_s\":0.250400,\"written_pages\":37,"
	       "\"written_bytes\":151552,\"rate_pages_s\":147.8,\"rate_mib_s\":0.577,\"harvest_us\":123,"
	       "\"tracked_pages\":1040,\"wss_pages\":512,\"discarded_pages\":12,\"zero_read_pages\":4,"
	       "\"ksm_merged_pages\":0,\"thp_filled_pages\":0,\"remapped_pages\":0,"
	       "\"interval_s\":0.250,\"stretched\":false,\"target_overhead\":{\"faults\":37,\"fault_ns\":285,\"fault_s\":0.010541,"
	       "\"share\":0.0421,\"cpu_share\":0.1734},"
	       "\"mappings\":[{\"mapping\":\"[anon]\",\"start\":\"0x10000\",\"written_pages\":3},"
	       "{\"mapping\":\"/x\\\"y\",\"start\":\"0x7f0000000000\",\"written_pages\":34}],"
	       "\"engaged\":[{\"start\":\"0x50000\",\"end\":\"0x58000\",\"pages\":8,\"mapping\":\"[heap]\"}],"
	       "\"dropped\":[{\"start\":\"0x60000\",\"end\":\"0x61000\",\"pages\":1,\"mapping\":\"(unmapped)\"}],"
	       "\"readonly_written\":[{\"start\":\"0x70000\",\"end\":\"0x74000\",\"pages\":4,\"mapping\":\"/lib/libc.so.6\"}]}\n",
	       "quiet JSON interval record, whole");
	s->destroy(s);
	rec_teardown(&f);
}

static void test_records_csv(void)
{
	struct rec_fixture f;
	rec_setup(&f);
	struct ps_watch_start ws = rec_start(false);
	struct ps_interval iv = rec_interval(&f.m, &f.w);
	struct ps_watch_end we = rec_end();
	struct ps_sink *s = ps_sink_csv_new(&f.o);

	is_str(rec_run(&f, s, 0, &ws),
	       "seq,time_s,elapsed_s,written_pages,written_bytes,rate_pages_s,rate_mib_s,harvest_us,"
	       "tracked_pages,wss_pages,regions,top_mapping,top_mapping_pages,"
	       "discarded_pages,zero_read_pages,ksm_merged_pages,thp_filled_pages,remapped_pages,"
	       "interval_s,stretched,overhead_faults,overhead_fault_s,overhead_share,overhead_cpu_share,over_budget\n",
	       "CSV start: the header");
	is_str(rec_run(&f, s, 1, &iv), "7,1.750000,0.250400,37,151552,147.8,0.577,123,1040,512,3,\"/x\"\"y\",34,12,4,0,0,0,"
	       "0.250,0,37,0.010541,0.0421,0.1734,0\n",
	       "CSV interval row, whole (top mapping quoted)");
	iv.nper_mapping = 0;
	ps_regions_clear(&f.w);
	iv.written_pages = 0;
	iv.rate_pages_s = 0;
	iv.overhead = (struct ps_overhead){ .known = true, .cpu_share = -1, .cpu_s = -1 };
	iv.stretched = true;
	iv.interval_s = 0.5;
	iv.overhead.over_budget = true;
	is_str(rec_run(&f, s, 1, &iv), "7,1.750000,0.250400,0,0,0.0,0.000,123,1040,512,0,,0,12,4,0,0,0,0.500,1,0,0.000000,0.0000,,1\n",
	       "CSV interval row with nothing written, stretched, over the budget, no CPU share");
	iv.overhead.known = false;
	iv.overhead.over_budget = false;
	is_str(rec_run(&f, s, 1, &iv), "7,1.750000,0.250400,0,0,0.0,0.000,123,1040,512,0,,0,12,4,0,0,0,0.500,1,,,,,0\n",
	       "CSV interval row without an estimate: empty columns");
	is_str(rec_run(&f, s, 2, &we), "", "CSV end: nothing");
	s->destroy(s);
	rec_teardown(&f);
}

static void test_records_text(void)
{
	struct rec_fixture f;
	rec_setup(&f);
	struct ps_watch_start ws = rec_start(false);
	struct ps_interval iv = rec_interval(&f.m, &f.w);
	struct ps_watch_end we = rec_end(), small = rec_end_small();
	struct ps_sink *s = ps_sink_text_new(&f.o, false);

	is_str(rec_run(&f, s, 0, &ws),
	       "watching process 4242 (wr\"it): 2 ranges, 1040 pages (4.1M) tracked, every 0.250s\n"
	       "  not tracked (special kernel mappings): [vvar]\n"
	       "  skipped  0x000000040000-0x000000042000  8.0K  /dev/dri: the kernel cannot write-protect this kind of mapping (EINVAL)\n",
	       "text start, whole");
	is_str(rec_run(&f, s, 1, &iv),
	       "#7    1.750s  written 37 pages (148K)  148 pages/s  0.58 MiB/s  wss 512 pages  harvest 123us"
	       "  discarded 12  zero-read 4  overhead ~4.2% (17% of its CPU)\n"
	       "  + tracking  0x000000050000-0x000000058000  32K  [heap]\n"
	       "  - unmapped  0x000000060000-0x000000061000  4.0K  (unmapped)\n"
	       "  = written before it was made read-only (not tracked)  0x000000070000-0x000000074000  16K  /lib/libc.so.6\n"
	       "    0x000000010000-0x000000012000  8.0K  [anon]\n"
	       "    0x000000013000-0x000000014000  4.0K  [anon]\n"
	       "    0x7f0000000000-0x7f0000022000  136K  /x\"y\n"
	       "  per mapping: [anon]=3 /x\"y=34\n",
	       "text interval, whole");
	is_str(rec_run(&f, s, 2, &we),
	       "end: signal (Interrupt) after 7 intervals, 1.750s\n"
	       "write working set: 512 pages (2.0M)\n"
	       "dirty rate (pages/s): mean 150  p50 141  p95 191  max 201  (mean 0.59 MiB/s)\n"
	       "target overhead (estimated): 4.2% of the time, worst interval 12.7%, 20% of its CPU time (1.23us a fault, calibrated)\n"
	       "budget 10%: 3 intervals stretched, the longest 1.000s\n"
	       "classified pages:  discarded 30  zero-read 8  ksm-merged 3  thp-filled 512\n"
	       "hottest mappings (distinct pages written; page-writes summed over the intervals):\n"
	       "          34 pages          90 page-writes  0x7f0000000000 /x\"y\n"
	       "          16 pages          21 page-writes  0x10000 [anon]\n"
	       "command exit status: 3\n",
	       "text end, whole: each statistic in its place");
	is_str(rec_run(&f, s, 2, &small),
	       "end: count after 1 interval, 0.250s\n"
	       "write working set: 1 page (4.0K)\n"
	       "dirty rate (pages/s): mean 4  p50 4  p95 4  max 4  (mean 0.02 MiB/s)\n",
	       "text end, singulars, nothing empty printed");
	s->destroy(s);

	/* -q and accumulate: the interval line only */
	s = ps_sink_text_new(&f.o, true);
	ws = rec_start(true);
	is_str(rec_run(&f, s, 0, &ws),
	       "watching process 4242 (wr\"it): 2 ranges, 1040 pages (4.1M) tracked, every 0.250s, cumulative\n"
	       "  not tracked (special kernel mappings): [vvar]\n"
	       "  skipped  0x000000040000-0x000000042000  8.0K  /dev/dri: the kernel cannot write-protect this kind of mapping (EINVAL)\n",
	       "text start, cumulative");
	is_str(rec_run(&f, s, 1, &iv),
	       "#7    1.750s  written 37 pages (148K)  148 pages/s  0.58 MiB/s  wss 512 pages  harvest 123us"
	       "  discarded 12  zero-read 4  overhead ~4.2% (17% of its CPU)\n",
	       "quiet text interval: one line");
	iv.counts = (struct ps_harvest_counts){ .thp_filled_pages = 512 };
	is_str(rec_run(&f, s, 1, &iv),
	       "#7    1.750s  written 37 pages (148K)  148 pages/s  0.58 MiB/s  wss 512 pages  harvest 123us"
	       "  thp-filled 512  overhead ~4.2% (17% of its CPU)\n",
	       "text interval: only the counts that are not zero");
	iv.counts = (struct ps_harvest_counts){ .remapped_pages = 64 };
	is_str(rec_run(&f, s, 1, &iv),
	       "#7    1.750s  written 37 pages (148K)  148 pages/s  0.58 MiB/s  wss 512 pages  harvest 123us"
	       "  remapped 64  overhead ~4.2% (17% of its CPU)\n",
	       "text interval: remapped pages (mremap)");
	iv.counts = (struct ps_harvest_counts){ 0 };
	is_str(rec_run(&f, s, 1, &iv),
	       "#7    1.750s  written 37 pages (148K)  148 pages/s  0.58 MiB/s  wss 512 pages  harvest 123us"
	       "  overhead ~4.2% (17% of its CPU)\n",
	       "text interval: no counts when all are zero");
	/* the budget stretched it; the CPU share unknown, then the estimate */
	iv.stretched = true;
	iv.interval_s = 1.0;
	iv.overhead.cpu_share = -1;
	is_str(rec_run(&f, s, 1, &iv),
	       "#7    1.750s  written 37 pages (148K)  148 pages/s  0.58 MiB/s  wss 512 pages  harvest 123us"
	       "  overhead ~4.2%  stretched to 1.000s\n",
	       "text interval: stretched, said so");
	iv.overhead.known = false;
	is_str(rec_run(&f, s, 1, &iv),
	       "#7    1.750s  written 37 pages (148K)  148 pages/s  0.58 MiB/s  wss 512 pages  harvest 123us"
	       "  stretched to 1.000s\n",
	       "text interval: no estimate, nothing said of it");
	/* accumulate: page-writes are not seen, so only distinct pages */
	we.accumulate = true;
	is_str(rec_run(&f, s, 2, &we),
	       "end: signal (Interrupt) after 7 intervals, 1.750s\n"
	       "write working set: 512 pages (2.0M)\n"
	       "dirty rate (pages/s): mean 150  p50 141  p95 191  max 201  (mean 0.59 MiB/s)\n"
	       "target overhead (estimated): 4.2% of the time, worst interval 12.7%, 20% of its CPU time (1.23us a fault, calibrated)\n"
	       "budget 10%: 3 intervals stretched, the longest 1.000s\n"
	       "classified pages:  discarded 30  zero-read 8  ksm-merged 3  thp-filled 512\n"
	       "hottest mappings (distinct pages written):\n"
	       "          34 pages  0x7f0000000000 /x\"y\n"
	       "          16 pages  0x10000 [anon]\n"
	       "command exit status: 3\n",
	       "text end, cumulative: distinct pages only, said so");
	s->destroy(s);
	s = ps_sink_json_new(&f.o, false);
	ok(strstr(rec_run(&f, s, 2, &we),
	          "\"written_pages\":90,\"distinct_pages\":34},") != NULL,
	   "JSON end, cumulative: no page_writes field");
	s->destroy(s);
	rec_teardown(&f);
}

/* Names that repeat in the per-mapping line carry the mapping's address;
 * unique names do not. */
static void test_per_mapping_repeated(void)
{
	struct ps_maps m = maps_of("10000-20000 rw-p 00000000 00:00 0 [heap]\n"
	                           "30000-40000 rw-p 00000000 00:00 0 [heap]\n"
	                           "50000-60000 rw-p 00000000 00:00 0 \n"
	                           "7f0000000000-7f0000400000 rw-p 00000000 08:01 5 /x\n");
	struct ps_regions w = { 0 };
	ps_regions_push(&w, 0x10000, 0x11000, 0);
	static const struct ps_mapping_count pm[] = {
		{ 0x10000, 0x20000, "[heap]", 17 },
		{ 0x30000, 0x40000, "[heap]", 36 },
		{ 0x50000, 0x60000, "[anon]", 2 },
		{ 0x7f0000000000, 0x7f0000400000, "/x", 5 },
	};
	struct ps_out o;
	ps_out_init(&o, -1);
	struct ps_interval iv = interval(&m, &w);
	iv.per_mapping = pm;
	iv.nper_mapping = 4;
	struct ps_sink *s = ps_sink_text_new(&o, false);
	s->interval(s, &iv);
	ok(strstr(str(&o), "\n  per mapping: [heap]@0x10000=17 [heap]@0x30000=36 [anon]=2 /x=5\n") != NULL,
	   "repeated names carry their address, unique ones do not");
	s->destroy(s);
	ps_maps_free(&m);
	ps_regions_free(&w);
	ps_out_free(&o);
}

/* Process events in text: the special kernel mappings are listed once (at
 * the start of a one-process watch, or with the first process of a
 * workload), other skipped mappings with each process. */
static const char *ev_run(struct rec_fixture *f, struct ps_sink *s, const struct ps_process_event *ev)
{
	f->o.len = 0;
	is_int(s->event(s, ev), 0, "the sink accepts the event");
	return str(&f->o);
}

static void test_events_text(void)
{
	struct rec_fixture f;
	rec_setup(&f);
	struct ps_process_event start = { .kind = PS_PROCESS_START, .pid = 7, .command = "sh", .tracked_pages = 1040,
	                                  .engaged = rec_engaged, .nengaged = 2,
	                                  .skipped = rec_skipped, .nskipped = 2 };
	const char *dri = "  skipped  0x000000040000-0x000000042000  8.0K  /dev/dri: the kernel cannot write-protect this kind of mapping (EINVAL)\n";
	char want[512];

	struct ps_sink *s = ps_sink_text_new(&f.o, false);
	struct ps_watch_start ws = rec_start(false);
	rec_run(&f, s, 0, &ws);
	snprintf(want, sizeof(want), "+ process 7 (sh): 2 ranges, 1040 pages (4.1M) tracked\n%s", dri);
	is_str(ev_run(&f, s, &start), want, "a joiner after a one-process start: no special mappings line");
	s->destroy(s);

	s = ps_sink_text_new(&f.o, false);
	ws.workload = "tree";
	ws.nprocesses = 2;
	ws.max_processes = 64;
	is_str(rec_run(&f, s, 0, &ws), "watching 2 processes (the tree of 4242 (wr\"it); at most 64): 1040 pages (4.1M) tracked, every 0.250s\n",
	       "a workload's start: no special mappings line");
	struct ps_process_event bare = start;
	bare.nskipped = 0;
	is_str(ev_run(&f, s, &bare), "+ process 7 (sh): 2 ranges, 1040 pages (4.1M) tracked\n",
	       "a first process without special mappings: nothing to say");
	snprintf(want, sizeof(want),
	         "+ process 7 (sh): 2 ranges, 1040 pages (4.1M) tracked\n"
	         "  not tracked (special kernel mappings): [vvar]\n%s", dri);
	is_str(ev_run(&f, s, &start), want, "a workload's first process: the special mappings line");
	start.pid = 8;
	snprintf(want, sizeof(want), "+ process 8 (sh): 2 ranges, 1040 pages (4.1M) tracked\n%s", dri);
	is_str(ev_run(&f, s, &start), want, "its second process: not again");
	struct ps_process_event gone = { .kind = PS_PROCESS_EXIT, .pid = 8, .command = "sh", .reason = "exec",
	                                 .intervals = 1, .wss_pages = 3 };
	is_str(ev_run(&f, s, &gone), "- process 8 (sh) gone (exec) after 1 interval: wss 3 pages\n", "exit line");
	struct ps_process_event skip = { .kind = PS_PROCESS_SKIPPED, .pid = 9, .command = "su", .reason = "traced by 12" };
	is_str(ev_run(&f, s, &skip), "! process 9 (su) not tracked: traced by 12\n", "skipped line");
	s->destroy(s);

	s = ps_sink_text_new(&f.o, true);
	rec_run(&f, s, 0, &ws);
	is_str(ev_run(&f, s, &start), "+ process 8 (sh): 2 ranges, 1040 pages (4.1M) tracked\n", "-q: the line alone");
	s->destroy(s);
	rec_teardown(&f);
}

int main(void)
{
	test_label_cache();
	test_json();
	test_text();
	test_records_json();
	test_records_csv();
	test_records_text();
	test_per_mapping_repeated();
	test_events_text();
	return tap_done();
}
