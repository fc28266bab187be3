/* Watch sinks: exact bytes of the JSON and text interval records, with and
 * without region lists, and the mapping-name cache across intervals (a new
 * maps snapshot can put a different mapping at the same VMA address). */
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
	       "\"tracked_pages\":64,\"wss_pages\":9,\"regions\":["
	       "{\"start\":\"0x11000\",\"end\":\"0x12000\",\"pages\":1,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x1f000\",\"end\":\"0x20000\",\"pages\":1,\"mapping\":\"[anon]\"},"
	       "{\"start\":\"0x20000\",\"end\":\"0x22000\",\"pages\":2,\"mapping\":\"/dev/shm/a\\\"b\"}"
	       "],\"mappings\":[],\"engaged\":[],\"dropped\":[]}\n",
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
	ok(strstr(str(&o), "\"wss_pages\":9,\"mappings\":[]") != NULL, "quiet JSON keeps the counts");
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

int main(void)
{
	test_label_cache();
	test_json();
	test_text();
	return tap_done();
}
