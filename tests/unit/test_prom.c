/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition: label escaping and the rendered file. */
#include <stdint.h>
#include <string.h>

#include "pagescan/render/prom.h"
#include "tap.h"

/* Lines of s that begin with prefix. */
static size_t lines_starting(const char *s, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *p = s; *p;) {
		n += strncmp(p, prefix, len) == 0;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return n;
}

static void test_prom(void)
{
	struct ps_out out;
	struct ps_prom_state st = { .pid = 12, .command = "a\"b\\c\nd\xff", .running = true, .intervals = 3,
	                            .interval_s = 0.5, .written_pages = 10, .rate_pages_s = 20,
	                            .written_pages_total = 25, .wss_pages = 15, .tracked_pages = 100,
	                            .harvest_us = 250, .harvest_us_total = 700, .discarded_pages = 6,
	                            .zero_read_pages = 5, .ksm_merged_pages = 4, .thp_filled_pages = 512,
	                            .remapped_pages = 64, .over_budget = true,
	                            .over_budget_total = 3 };

	ps_out_init(&out, -1);
	ps_prom_label_value(&out, st.command);
	ps_out_chr(&out, '\0');
	is_str(out.buf, "a\\\"b\\\\c\\nd\xef\xbf\xbd", "prom: label value escaped, invalid UTF-8 replaced");
	ps_out_free(&out);

	/* Every byte that is not part of valid UTF-8 becomes one U+FFFD: a cut
	 * sequence, an overlong form, a surrogate; valid ones stay. */
	ps_out_init(&out, -1);
	ps_prom_label_value(&out, "a\xe2\x82" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80" "e\xc3\xa9\xf0\x9f\x98\x80");
	ps_out_chr(&out, '\0');
	is_str(out.buf, "a\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	       "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\xc3\xa9\xf0\x9f\x98\x80",
	       "prom: invalid UTF-8 replaced byte by byte, valid kept");
	ps_out_free(&out);

	ps_out_init(&out, -1);
	ps_prom_render(&out, &st);
	ps_out_chr(&out, '\0');
	ok(strstr(out.buf, "pagescan_written_pages{pid=\"12\",command=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} 10\n") != NULL,
	   "prom: written pages with labels");
	ok(strstr(out.buf, "pagescan_dirty_rate_bytes_per_second{pid=\"12\"") != NULL, "prom: rate in bytes/s");
	ok(strstr(out.buf, "} 81920.000\n") != NULL, "prom: 20 pages/s = 81920 bytes/s");
	ok(strstr(out.buf, "pagescan_harvest_seconds_total{pid=\"12\"") != NULL, "prom: harvest cost total");
	ok(strstr(out.buf, "} 0.000700\n") != NULL, "prom: 700 us = 0.0007 s");
	ok(strstr(out.buf, "pagescan_intervals_total{pid=\"12\"") != NULL, "prom: intervals total");
	ok(strstr(out.buf, "# TYPE pagescan_discarded_pages gauge\npagescan_discarded_pages{pid=\"12\"") != NULL &&
	   strstr(out.buf, "\"} 6\n# HELP pagescan_zero_read_pages ") != NULL, "prom: discarded pages gauge");
	ok(strstr(out.buf, "pagescan_zero_read_pages{") != NULL && strstr(out.buf, "pagescan_ksm_merged_pages{") != NULL &&
	   strstr(out.buf, "pagescan_thp_filled_pages{") != NULL && strstr(out.buf, "\"} 512\n") != NULL,
	   "prom: zero-read, KSM-merged and THP-filled gauges");
	ok(strstr(out.buf, "# TYPE pagescan_remapped_pages gauge\npagescan_remapped_pages{pid=\"12\"") != NULL &&
	   strstr(out.buf, "\"} 64\n# HELP pagescan_target_overhead_ratio ") != NULL,
	   "prom: remapped pages gauge");
	const char *over = strstr(out.buf, "# TYPE pagescan_over_budget gauge\npagescan_over_budget{pid=\"12\"");
	ok(over && strncmp(strchr(over, '}'), "} 1\n", 4) == 0, "prom: over-budget gauge");
	over = strstr(out.buf, "# TYPE pagescan_over_budget_intervals_total counter\npagescan_over_budget_intervals_total{");
	ok(over && strncmp(strchr(over, '}'), "} 3\n", 4) == 0, "prom: over-budget counter");
	is_u64(lines_starting(out.buf, "# HELP "), lines_starting(out.buf, "# TYPE "), "prom: HELP and TYPE for each metric");
	ok(lines_starting(out.buf, "# TYPE ") >= 10, "prom: at least 10 metrics");
	ok(out.len > 1 && out.buf[out.len - 2] == '\n', "prom: ends with a newline");
	ps_out_free(&out);
}

/* --compare soft-dirty: the counts, and per mapping (the worst first) a
 * sample each labelled with its name and start. */
static void test_prom_soft_dirty(void)
{
	struct ps_out out;
	struct ps_prom_state st = { .pid = 7, .command = "db", .soft_dirty = true,
	                            .sd = { .written_pages = 10, .soft_dirty_pages = 14, .false_pages = 4 },
	                            .sd_total = { .soft_dirty_pages = 30, .false_pages = 9 } };
	st.sd_map[0] = (struct ps_prom_sd_mapping){ .mapping = "[heap]", .start = 0x1000000,
	                                              .c = { .soft_dirty_pages = 8, .false_pages = 3 } };
	st.sd_map[1] = (struct ps_prom_sd_mapping){ .mapping = "/a \"b\"", .start = 0x7f0000000000,
	                                              .c = { .soft_dirty_pages = 6, .false_pages = 1 } };
	st.nsd_map = 2;
	ps_out_init(&out, -1);
	ps_prom_render(&out, &st);
	ps_out_chr(&out, '\0');
	ok(strstr(out.buf, "pagescan_soft_dirty_false_pages{pid=\"7\",command=\"db\"} 4\n") != NULL,
	   "prom: the interval's false positives");
	ok(strstr(out.buf, "pagescan_soft_dirty_mapping_false_pages{pid=\"7\",command=\"db\",mapping=\"[heap]\","
	                   "start=\"0x1000000\"} 3\n") != NULL,
	   "prom: a mapping's false positives, labelled with its name and start");
	ok(strstr(out.buf, "pagescan_soft_dirty_mapping_pages{pid=\"7\",command=\"db\",mapping=\"/a \\\"b\\\"\","
	                   "start=\"0x7f0000000000\"} 6\n") != NULL,
	   "prom: a mapping's soft-dirty pages, its name escaped");
	is_u64(lines_starting(out.buf, "pagescan_soft_dirty_mapping_false_pages{"), 2, "prom: a sample per mapping");
	is_u64(lines_starting(out.buf, "# TYPE pagescan_soft_dirty_mapping_pages gauge"), 1, "prom: its TYPE once");
	ps_out_free(&out);
}

int main(void)
{
	test_prom();
	test_prom_soft_dirty();
	return tap_done();
}
