/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition format, in the style of node_exporter's
 * textfile collector: HELP and TYPE lines, then one sample per metric,
 * labelled with the pid and the command. Writing the file is the front
 * end's business (cli/sink_prom.c). */
#include <stdint.h>
#include <string.h>

#include "pagescan/model/utf8.h"
#include "pagescan/model/util.h"
#include "pagescan/render/prom.h"

void ps_prom_label_value(struct ps_out *o, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			ps_out_str(o, "\\\\");
			i++;
		} else if (c == '"') {
			ps_out_str(o, "\\\"");
			i++;
		} else if (c == '\n') {
			ps_out_str(o, "\\n");
			i++;
		} else {
			size_t l = ps_utf8_seq((const unsigned char *)s + i, n - i);
			if (l == 0) {
				ps_out_str(o, PS_UTF8_REPLACEMENT);
				i++;
			} else {
				ps_out_mem(o, s + i, l);
				i += l;
			}
		}
	}
}

void ps_prom_head(struct ps_out *o, const char *name, const char *type, const char *help)
{
	ps_out_str(o, "# HELP ");
	ps_out_str(o, name);
	ps_out_chr(o, ' ');
	ps_out_str(o, help);
	ps_out_str(o, "\n# TYPE ");
	ps_out_str(o, name);
	ps_out_chr(o, ' ');
	ps_out_str(o, type);
	ps_out_chr(o, '\n');
}

/* name{pid="P",command="C" : a sample's name and first labels. */
static void labels_open(struct ps_out *o, const char *name, int64_t pid, const char *command)
{
	ps_out_str(o, name);
	ps_out_str(o, "{pid=\"");
	ps_out_i64(o, pid);
	ps_out_str(o, "\",command=\"");
	ps_prom_label_value(o, command ? command : "");
	ps_out_chr(o, '"');
}

/* name{pid="P",command="C"} : a sample up to its value. */
static void sample_start(struct ps_out *o, const char *name, int64_t pid, const char *command)
{
	labels_open(o, name, pid, command);
	ps_out_str(o, "} ");
}

/* --compare soft-dirty per mapping: one metric, a sample per mapping of
 * st->sd_map labelled also with its name and start address: its false
 * positives, or its soft-dirty pages. */
static void sd_mapping_metric(struct ps_out *o, const struct ps_prom_state *st, const char *name, const char *help,
                              bool false_pages)
{
	ps_prom_head(o, name, "gauge", help);
	for (size_t i = 0; i < st->nsd_map; i++) {
		const struct ps_prom_sd_mapping *m = &st->sd_map[i];
		labels_open(o, name, st->pid, st->command);
		ps_out_str(o, ",mapping=\"");
		ps_prom_label_value(o, m->mapping ? m->mapping : "");
		ps_out_str(o, "\",start=\"");
		ps_out_hex(o, m->start);
		ps_out_str(o, "\"} ");
		ps_out_u64(o, false_pages ? m->c.false_pages : m->c.soft_dirty_pages);
		ps_out_chr(o, '\n');
	}
}

void ps_prom_sample_u64(struct ps_out *o, const char *name, int64_t pid, const char *command, uint64_t v)
{
	sample_start(o, name, pid, command);
	ps_out_u64(o, v);
	ps_out_chr(o, '\n');
}

void ps_prom_metric_u64(struct ps_out *o, const struct ps_prom_state *st, const char *name, const char *type,
                        const char *help, uint64_t v)
{
	ps_prom_head(o, name, type, help);
	ps_prom_sample_u64(o, name, st->pid, st->command, v);
}

static void metric_dbl(struct ps_out *o, const struct ps_prom_state *st, const char *name, const char *type,
                       const char *help, double v, int decimals)
{
	ps_prom_head(o, name, type, help);
	sample_start(o, name, st->pid, st->command);
	ps_out_fixed(o, v, decimals);
	ps_out_chr(o, '\n');
}

void ps_prom_render(struct ps_out *o, const struct ps_prom_state *st)
{
	ps_prom_metric_u64(o, st, "pagescan_watch_running", "gauge",
	                   "1 while the pagescan watch writing this file runs, 0 after it ended.", st->running);
	ps_prom_metric_u64(o, st, "pagescan_intervals_total", "counter", "Intervals harvested since the watch started.",
	                   st->intervals);
	metric_dbl(o, st, "pagescan_interval_seconds", "gauge", "Length of the last interval.", st->interval_s, 6);
	ps_prom_metric_u64(o, st, "pagescan_written_pages", "gauge",
	                   "Pages (of the kernel's page size) written during the last interval (cumulative with --accumulate).",
	                   st->written_pages);
	ps_prom_metric_u64(o, st, "pagescan_written_bytes", "gauge",
	                   "Bytes of the pages written during the last interval (cumulative with --accumulate).",
	                   st->written_pages * PS_PAGE_SIZE);
	ps_prom_metric_u64(o, st, "pagescan_written_pages_total", "counter",
	                   "Pages written, summed over intervals (a page written in two intervals counts twice).",
	                   st->written_pages_total);
	metric_dbl(o, st, "pagescan_dirty_rate_pages_per_second", "gauge",
	           "Pages written per second during the last interval.", st->rate_pages_s, 3);
	metric_dbl(o, st, "pagescan_dirty_rate_bytes_per_second", "gauge",
	           "Bytes of pages written per second during the last interval.",
	           st->rate_pages_s * (double)PS_PAGE_SIZE, 3);
	ps_prom_metric_u64(o, st, "pagescan_write_working_set_pages", "gauge",
	                   "Distinct pages written since the watch started.", st->wss_pages);
	ps_prom_metric_u64(o, st, "pagescan_write_working_set_bytes", "gauge",
	                   "Bytes of the distinct pages written since the watch started.", st->wss_pages * PS_PAGE_SIZE);
	ps_prom_metric_u64(o, st, "pagescan_tracked_pages", "gauge", "Pages under write tracking.", st->tracked_pages);
	ps_prom_metric_u64(o, st, "pagescan_tracked_bytes", "gauge", "Bytes under write tracking.",
	                   st->tracked_pages * PS_PAGE_SIZE);
	metric_dbl(o, st, "pagescan_harvest_seconds", "gauge",
	           "Time the last harvest of written pages took (PAGEMAP_SCAN and re-arming).",
	           (double)st->harvest_us / 1e6, 6);
	metric_dbl(o, st, "pagescan_harvest_seconds_total", "counter",
	           "Time spent harvesting written pages since the watch started.",
	           (double)st->harvest_us_total / 1e6, 6);
	ps_prom_metric_u64(o, st, "pagescan_discarded_pages", "gauge",
	                   "Pages the last harvest found discarded (MADV_DONTNEED, MADV_FREE, MADV_REMOVE): not writes.",
	                   st->discarded_pages);
	ps_prom_metric_u64(o, st, "pagescan_zero_read_pages", "gauge",
	                   "Pages the last harvest found mapped to the zero page by a read: not writes.",
	                   st->zero_read_pages);
	ps_prom_metric_u64(o, st, "pagescan_ksm_merged_pages", "gauge",
	                   "Pages the last harvest found merged by KSM: not writes.", st->ksm_merged_pages);
	ps_prom_metric_u64(o, st, "pagescan_thp_filled_pages", "gauge",
	                   "Written pages of huge pages a fault allocated whole in the last interval (reported whole).",
	                   st->thp_filled_pages);
	ps_prom_metric_u64(o, st, "pagescan_remapped_pages", "gauge",
	                   "Present pages of mappings moved (mremap) in the last interval: written or not is unknown, not counted as written.",
	                   st->remapped_pages);
	metric_dbl(o, st, "pagescan_target_overhead_ratio", "gauge",
	           "Estimated share of the last interval the target spent in write-protect faults (docs/overhead.md).",
	           st->overhead_share, 4);
	metric_dbl(o, st, "pagescan_target_overhead_seconds_total", "counter",
	           "Estimated time the target spent in write-protect faults since the watch started.",
	           st->overhead_s_total, 6);
	metric_dbl(o, st, "pagescan_interval_target_seconds", "gauge",
	           "The interval asked for the last interval: -i, or longer when --max-overhead stretched it.",
	           st->asked_interval_s, 3);
	ps_prom_metric_u64(o, st, "pagescan_interval_stretched", "gauge",
	                   "1 when --max-overhead stretched the last interval beyond -i.", st->stretched);
	ps_prom_metric_u64(o, st, "pagescan_over_budget", "gauge",
	                   "1 when the last interval was over the --max-overhead budget at the longest stretch (the budget cannot be kept).",
	                   st->over_budget);
	ps_prom_metric_u64(o, st, "pagescan_over_budget_intervals_total", "counter",
	                   "Intervals over the --max-overhead budget at the longest stretch since the watch started.",
	                   st->over_budget_total);
	if (st->estimated) {
		/* --sample (docs/sampling.md) */
		ps_prom_metric_u64(o, st, "pagescan_estimated", "gauge",
		           "1: written pages, dirty rates and the write working set are estimates from a sample (--sample).", 1);
		metric_dbl(o, st, "pagescan_written_pages_ci95_low", "gauge",
		           "Lower end of the 95 % confidence interval of the last interval's written pages (--sample).",
		           st->written_lo, 0);
		metric_dbl(o, st, "pagescan_written_pages_ci95_high", "gauge",
		           "Upper end of the 95 % confidence interval of the last interval's written pages (--sample).",
		           st->written_hi, 0);
	}
	if (st->soft_dirty) {
		/* --compare soft-dirty (docs/soft-dirty.md) */
		ps_prom_metric_u64(o, st, "pagescan_soft_dirty_pages", "gauge",
		           "Pages the kernel's soft-dirty bits marked in the last interval (tracked ranges and written pages).",
		           st->sd.soft_dirty_pages);
		ps_prom_metric_u64(o, st, "pagescan_soft_dirty_false_pages", "gauge",
		           "Soft-dirty pages of the last interval that were not written (soft-dirty's false positives).",
		           st->sd.false_pages);
		ps_prom_metric_u64(o, st, "pagescan_soft_dirty_race_pages", "gauge",
		           "Pages of the last interval a store between the soft-dirty read and its clear put on one side only.",
		           st->sd.race_pages);
		ps_prom_metric_u64(o, st, "pagescan_soft_dirty_pages_total", "counter",
		           "Soft-dirty pages summed over the intervals.", st->sd_total.soft_dirty_pages);
		ps_prom_metric_u64(o, st, "pagescan_soft_dirty_false_pages_total", "counter",
		           "Soft-dirty pages not written, summed over the intervals.", st->sd_total.false_pages);
		sd_mapping_metric(o, st, "pagescan_soft_dirty_mapping_pages",
		                  "Soft-dirty pages of the last interval per mapping, for the (at most 5) mappings with the most false positives.",
		                  false);
		sd_mapping_metric(o, st, "pagescan_soft_dirty_mapping_false_pages",
		                  "Soft-dirty pages of the last interval not written per mapping, for the (at most 5) mappings with the most.",
		                  true);
	}
}
