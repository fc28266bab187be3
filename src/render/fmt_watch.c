/* SPDX-License-Identifier: MIT */
/* Watch sinks: text for people, JSON Lines and CSV for programs (schema in
 * docs/FORMAT.md). Each record is flushed at once so pipes see it live. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/render/fmt.h"
#include "pagescan/model/util.h"
#include "line.h"
#include "sample_fmt.h"
#include "softdirty_fmt.h"
#include "pagescan/render/sink.h"

#define MIB (1024.0 * 1024.0)

struct fsink {
	struct ps_sink s;
	struct ps_out *o;
	bool quiet;                  /* no region lists */
	bool workload;               /* the start record was a workload's */
	bool specials_said;          /* the special kernel mappings were listed (once) */
	bool sample;                 /* --sample: CSV has its columns */
	bool soft_dirty;             /* --compare soft-dirty: CSV has its columns */
	struct ps_label_cache label; /* valid during one interval call (one maps snapshot) */
	/* Text per-mapping line: repeated[i] when per_mapping[i]'s name occurs
	 * more than once in the interval (then its address is shown). */
	bool *repeated;
	size_t *order;
	size_t rep_cap;
	/* Text region sizes ("4.0K"): humanize_number() is a printf, and most
	 * regions have one of a few sizes. Direct-mapped by page count. */
	struct {
		uint64_t pages;
		char s[24];
	} hb[64];
};

static int flush(struct fsink *f)
{
	int r = ps_out_flush(f->o);
	return r;
}

static double rate_mib(double pages_s)
{
	return pages_s * (double)PS_PAGE_SIZE / MIB;
}

static void json_str(struct ps_out *o, const char *s)
{
	ps_out_json_str(o, s ? s : "", s ? strlen(s) : 0);
}

/* ---- JSON ------------------------------------------------------------------ */

/* ,"discarded_pages":N,"zero_read_pages":N,"ksm_merged_pages":N,"thp_filled_pages":N,
 * "remapped_pages":N */
static void json_counts(struct ps_out *o, const struct ps_harvest_counts *c)
{
	ps_out_str(o, ",\"discarded_pages\":");
	ps_out_u64(o, c->discarded_pages);
	ps_out_str(o, ",\"zero_read_pages\":");
	ps_out_u64(o, c->zero_read_pages);
	ps_out_str(o, ",\"ksm_merged_pages\":");
	ps_out_u64(o, c->ksm_merged_pages);
	ps_out_str(o, ",\"thp_filled_pages\":");
	ps_out_u64(o, c->thp_filled_pages);
	ps_out_str(o, ",\"remapped_pages\":");
	ps_out_u64(o, c->remapped_pages);
}

/* A share as a fraction (0.0421), or null when unknown (negative). */
static void json_share(struct ps_out *o, double v)
{
	if (v < 0)
		ps_out_str(o, "null");
	else
		ps_out_fixed(o, v, 4);
}

/* ,"interval_s":I,"stretched":B[,"over_budget":true],"target_overhead":{
 * "faults":N,"fault_ns":N,"fault_s":F,"share":S,"cpu_share":C|null}|null
 * (docs/overhead.md; over_budget only when the budget could not be kept) */
static void json_overhead(struct ps_out *o, const struct ps_interval *iv)
{
	const struct ps_overhead *t = &iv->overhead;
	ps_out_str(o, ",\"interval_s\":");
	ps_out_fixed(o, iv->interval_s, 3);
	ps_out_str(o, iv->stretched ? ",\"stretched\":true" : ",\"stretched\":false");
	if (t->over_budget)
		ps_out_str(o, ",\"over_budget\":true");
	ps_out_str(o, ",\"target_overhead\":");
	if (!t->known) {
		ps_out_str(o, "null");
		return;
	}
	ps_out_str(o, "{\"faults\":");
	ps_out_u64(o, t->faults);
	ps_out_str(o, ",\"fault_ns\":");
	ps_out_u64(o, (uint64_t)(t->fault_ns + 0.5));
	ps_out_str(o, ",\"fault_s\":");
	ps_out_fixed(o, t->fault_s, 6);
	ps_out_str(o, ",\"share\":");
	json_share(o, t->share);
	ps_out_str(o, ",\"cpu_share\":");
	json_share(o, t->cpu_share);
	ps_out_chr(o, '}');
}

/* The end record's ,"target_overhead":{...} */
static void json_overhead_end(struct ps_out *o, const struct ps_overhead_summary *t)
{
	ps_out_str(o, ",\"target_overhead\":{\"fault_s\":");
	ps_out_fixed(o, t->fault_s, 6);
	ps_out_str(o, ",\"share\":");
	json_share(o, t->known ? t->share : -1);
	ps_out_str(o, ",\"max_share\":");
	json_share(o, t->known ? t->max_share : -1);
	ps_out_str(o, ",\"cpu_share\":");
	json_share(o, t->known ? t->cpu_share : -1);
	ps_out_str(o, ",\"stretched_intervals\":");
	ps_out_u64(o, t->stretched);
	ps_out_str(o, ",\"longest_interval_s\":");
	ps_out_fixed(o, t->longest_s, 3);
	if (t->over_budget) {
		ps_out_str(o, ",\"over_budget_intervals\":");
		ps_out_u64(o, t->over_budget);
	}
	if (t->own_cost) {
		ps_out_str(o, ",\"own_cost_intervals\":");
		ps_out_u64(o, t->own_cost);
	}
	ps_out_chr(o, '}');
}

static int json_start(struct ps_sink *s, const struct ps_watch_start *w)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	f->workload = w->workload != NULL;
	if (w->workload)
		ps_out_str(o, "{\"type\":\"start\",\"format_version\":2,\"pagescan\":\"" PAGESCAN_VERSION "\",\"pid\":");
	else
		ps_out_str(o, "{\"type\":\"start\",\"format_version\":1,\"pagescan\":\"" PAGESCAN_VERSION "\",\"pid\":");
	ps_out_i64(o, w->pid);
	ps_out_str(o, ",\"command\":");
	json_str(o, w->command);
	if (w->workload) {
		ps_out_str(o, ",\"workload\":");
		json_str(o, w->workload);
		if (w->cgroup) {
			ps_out_str(o, ",\"cgroup\":");
			json_str(o, w->cgroup);
		}
		ps_out_str(o, ",\"processes\":");
		ps_out_u64(o, w->nprocesses);
		ps_out_str(o, ",\"max_processes\":");
		ps_out_u64(o, w->max_processes);
	}
	ps_out_str(o, ",\"interval_s\":");
	ps_out_fixed(o, (double)w->interval_ns / 1e9, 3);
	ps_out_str(o, ",\"page_size\":");
	ps_out_u64(o, PS_PAGE_SIZE);
	ps_out_str(o, ",\"mode\":");
	ps_out_str(o, w->accumulate ? "\"accumulate\"" : "\"interval\"");
	ps_out_str(o, f->quiet ? ",\"region_lists\":false" : ",\"region_lists\":true");
	ps_out_str(o, ",\"tracked_pages\":");
	ps_out_u64(o, w->tracked_pages);
	ps_out_str(o, ",\"max_overhead\":");
	json_share(o, w->max_overhead > 0 ? w->max_overhead : -1);
	ps_out_str(o, ",\"wp_fault_ns\":");
	ps_out_fixed(o, w->wp_fault_ns, 1);
	ps_out_str(o, w->wp_fault_calibrated ? ",\"wp_fault_calibrated\":true" : ",\"wp_fault_calibrated\":false");
	if (w->sample_fraction > 0)
		ps_sample_json_start(o, w->sample_fraction, w->sample_seed);
	if (w->soft_dirty)
		ps_out_str(o, ",\"compare\":\"soft-dirty\"");
	if (!w->workload) {
		/* A workload's are in each process's start event. */
		ps_out_str(o, ",\"engaged\":");
		ps_fmt_spans_json(o, w->engaged, w->nengaged, false);
		ps_out_str(o, ",\"skipped\":");
		ps_fmt_spans_json(o, w->skipped, w->nskipped, true);
	}
	ps_out_str(o, "}\n");
	return flush(f);
}

/* {"type":"process","event":"start"|"exit"|"skipped","pid":N,"command":S,"time_s":T,...} */
static int json_event(struct ps_sink *s, const struct ps_process_event *ev)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	static const char *const kind[] = { "start", "exit", "skipped" };
	ps_out_str(o, "{\"type\":\"process\",\"event\":\"");
	ps_out_str(o, kind[ev->kind]);
	ps_out_str(o, "\",\"pid\":");
	ps_out_i64(o, ev->pid);
	ps_out_str(o, ",\"command\":");
	json_str(o, ev->command);
	ps_out_str(o, ",\"time_s\":");
	ps_out_fixed(o, ev->time_s, 6);
	switch (ev->kind) {
	case PS_PROCESS_START:
		ps_out_str(o, ",\"tracked_pages\":");
		ps_out_u64(o, ev->tracked_pages);
		ps_out_str(o, ",\"engaged\":");
		ps_fmt_spans_json(o, ev->engaged, ev->nengaged, false);
		ps_out_str(o, ",\"skipped\":");
		ps_fmt_spans_json(o, ev->skipped, ev->nskipped, true);
		break;
	case PS_PROCESS_EXIT:
		ps_out_str(o, ",\"reason\":");
		json_str(o, ev->reason);
		ps_out_str(o, ",\"intervals\":");
		ps_out_u64(o, ev->intervals);
		ps_out_str(o, ",\"wss_pages\":");
		ps_out_u64(o, ev->wss_pages);
		break;
	case PS_PROCESS_SKIPPED:
		ps_out_str(o, ",\"reason\":");
		json_str(o, ev->reason);
		break;
	}
	ps_out_str(o, "}\n");
	return flush(f);
}

struct json_walk {
	struct fsink *f;
	bool first;
};

/* The hot path of a watch at short intervals (one call per written region):
 * the line is built locally, the escaped mapping name comes from the cache. */
static int json_region(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct json_walk *j = ctx;
	const struct ps_out *label = ps_label_cache_get(&j->f->label, vma, true);
	char line[256], *p = line;
	if (!j->first)
		*p++ = ',';
	j->first = false;
	p = PS_PUT_LIT(p, "{\"start\":\"");
	p = ps_put_hex(p, piece->start, 0);
	p = PS_PUT_LIT(p, "\",\"end\":\"");
	p = ps_put_hex(p, piece->end, 0);
	p = PS_PUT_LIT(p, "\",\"pages\":");
	p = ps_put_u64(p, (piece->end - piece->start) >> PS_PAGE_SHIFT, 0);
	p = PS_PUT_LIT(p, ",\"mapping\":");
	if (j->f->workload && vma && (vma->prot & PS_VMA_SHARED)) {
		/* A workload's page of a shared mapping: what backs it (docs/FORMAT.md). */
		ps_out_mem(j->f->o, line, (size_t)(p - line));
		ps_out_mem(j->f->o, label->buf, label->len);
		ps_out_printf(j->f->o, ",\"shared\":{\"dev\":\"%02x:%02x\",\"inode\":", vma->dev_major, vma->dev_minor);
		ps_out_u64(j->f->o, vma->inode);
		ps_out_str(j->f->o, ",\"offset\":\"");
		ps_out_hex(j->f->o, vma->offset + (piece->start - vma->start));
		ps_out_str(j->f->o, "\"}}");
		return 0;
	}
	if (label->len < sizeof(line) - (size_t)(p - line) - 1) {
		p = ps_put_mem(p, label->buf, label->len);
		*p++ = '}';
		ps_out_mem(j->f->o, line, (size_t)(p - line));
	} else {
		ps_out_mem(j->f->o, line, (size_t)(p - line));
		ps_out_mem(j->f->o, label->buf, label->len);
		ps_out_chr(j->f->o, '}');
	}
	return 0;
}

static void json_body(struct fsink *f, const struct ps_interval *iv);
static void json_workload(struct fsink *f, const struct ps_interval *iv);

static int json_interval(struct ps_sink *s, const struct ps_interval *iv)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	ps_out_str(o, "{\"type\":\"interval\",\"seq\":");
	ps_out_u64(o, iv->seq);
	ps_out_str(o, ",\"time_s\":");
	ps_out_fixed(o, iv->time_s, 6);
	ps_out_str(o, ",\"elapsed_s\":");
	ps_out_fixed(o, iv->elapsed_s, 6);
	ps_out_str(o, ",\"written_pages\":");
	ps_out_u64(o, iv->written_pages);
	ps_out_str(o, ",\"written_bytes\":");
	ps_out_u64(o, iv->written_pages * PS_PAGE_SIZE);
	ps_out_str(o, ",\"rate_pages_s\":");
	ps_out_fixed(o, iv->rate_pages_s, 1);
	ps_out_str(o, ",\"rate_mib_s\":");
	ps_out_fixed(o, rate_mib(iv->rate_pages_s), 3);
	ps_out_str(o, ",\"harvest_us\":");
	ps_out_u64(o, iv->harvest_us);
	ps_out_str(o, ",\"tracked_pages\":");
	ps_out_u64(o, iv->tracked_pages);
	ps_out_str(o, ",\"wss_pages\":");
	ps_out_u64(o, iv->wss_pages);
	json_counts(o, &iv->counts);
	json_overhead(o, iv);
	if (iv->sample.estimated)
		ps_sample_json_interval(o, &iv->sample);
	if (iv->soft_dirty)
		ps_sd_json(o, iv->soft_dirty, false, !f->quiet);
	if (iv->nprocesses || iv->processes) {
		json_workload(f, iv);
		ps_out_str(o, "}\n");
		return flush(f);
	}
	json_body(f, iv);
	ps_out_str(o, "}\n");
	return flush(f);
}

/* One process's lists: regions (unless quiet), mappings, engaged, dropped,
 * readonly_written, exec. */
static void json_body(struct fsink *f, const struct ps_interval *iv)
{
	struct ps_out *o = f->o;
	if (!f->quiet) {
		ps_out_str(o, ",\"regions\":[");
		struct json_walk j = { .f = f, .first = true };
		ps_label_cache_reset(&f->label);
		ps_regions_walk(iv->written, iv->maps, json_region, &j);
		ps_out_chr(o, ']');
	}
	ps_out_str(o, ",\"mappings\":[");
	for (size_t i = 0; i < iv->nper_mapping; i++) {
		const struct ps_mapping_count *c = &iv->per_mapping[i];
		if (i)
			ps_out_chr(o, ',');
		ps_out_str(o, "{\"mapping\":");
		json_str(o, c->mapping);
		ps_out_str(o, ",\"start\":\"");
		ps_out_hex(o, c->start);
		ps_out_str(o, "\",\"written_pages\":");
		ps_out_u64(o, c->written_pages);
		ps_out_chr(o, '}');
	}
	ps_out_str(o, "],\"engaged\":");
	ps_fmt_spans_json(o, iv->engaged, iv->nengaged, false);
	ps_out_str(o, ",\"dropped\":");
	ps_fmt_spans_json(o, iv->dropped, iv->ndropped, false);
	ps_out_str(o, ",\"readonly_written\":");
	ps_fmt_spans_json(o, iv->readonly_written, iv->nreadonly_written, false);
	if (iv->exec_command) {
		ps_out_str(o, ",\"exec\":{\"pid\":");
		ps_out_u64(o, (uint64_t)iv->exec_pid);
		ps_out_str(o, ",\"command\":");
		json_str(o, iv->exec_command);
		ps_out_str(o, ",\"execs\":");
		ps_out_u64(o, iv->execs);
		ps_out_str(o, ",\"engaged\":");
		ps_fmt_spans_json(o, iv->exec_engaged, iv->nexec_engaged, false);
		ps_out_str(o, ",\"skipped\":");
		ps_fmt_spans_json(o, iv->exec_skipped, iv->nexec_skipped, true);
		ps_out_chr(o, '}');
	}
}

/* A workload's interval: ,"shared_written_pages":N,"shared_wss_pages":N,
 * "processes":[{"pid":N,"command":S,"written_pages":N,...lists}] */
static void json_workload(struct fsink *f, const struct ps_interval *iv)
{
	struct ps_out *o = f->o;
	ps_out_str(o, ",\"shared_written_pages\":");
	ps_out_u64(o, iv->shared_written_pages);
	ps_out_str(o, ",\"shared_wss_pages\":");
	ps_out_u64(o, iv->shared_wss_pages);
	ps_out_str(o, ",\"processes\":[");
	for (size_t i = 0; i < iv->nprocesses; i++) {
		const struct ps_process_interval *p = &iv->processes[i];
		if (i)
			ps_out_chr(o, ',');
		ps_out_str(o, "{\"pid\":");
		ps_out_i64(o, p->pid);
		ps_out_str(o, ",\"command\":");
		json_str(o, p->command);
		ps_out_str(o, ",\"written_pages\":");
		ps_out_u64(o, p->written_pages);
		ps_out_str(o, ",\"shared_written_pages\":");
		ps_out_u64(o, p->shared_written_pages);
		ps_out_str(o, ",\"wss_pages\":");
		ps_out_u64(o, p->wss_pages);
		ps_out_str(o, ",\"tracked_pages\":");
		ps_out_u64(o, p->iv->tracked_pages);
		ps_out_str(o, ",\"harvest_us\":");
		ps_out_u64(o, p->iv->harvest_us);
		json_counts(o, &p->iv->counts);
		if (p->iv->soft_dirty)
			ps_sd_json(o, p->iv->soft_dirty, false, !f->quiet);
		json_body(f, p->iv);
		ps_out_chr(o, '}');
	}
	ps_out_chr(o, ']');
}

static int json_end(struct ps_sink *s, const struct ps_watch_end *e)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	ps_out_str(o, "{\"type\":\"end\",\"reason\":\"");
	ps_out_str(o, ps_end_reason_name(e->reason));
	ps_out_chr(o, '"');
	if (e->detail) {
		ps_out_str(o, ",\"detail\":");
		json_str(o, e->detail);
	}
	ps_out_str(o, ",\"intervals\":");
	ps_out_u64(o, e->intervals);
	ps_out_str(o, ",\"duration_s\":");
	ps_out_fixed(o, e->duration_s, 6);
	ps_out_str(o, ",\"wss_pages\":");
	ps_out_u64(o, e->wss_pages);
	ps_out_str(o, ",\"wss_bytes\":");
	ps_out_u64(o, e->wss_pages * PS_PAGE_SIZE);
	if (e->workload) {
		ps_out_str(o, ",\"shared_wss_pages\":");
		ps_out_u64(o, e->shared_wss_pages);
		ps_out_str(o, ",\"processes\":");
		ps_out_u64(o, e->processes);
		ps_out_str(o, ",\"untracked_processes\":");
		ps_out_u64(o, e->untracked_processes);
	}
	json_counts(o, &e->counts);
	json_overhead_end(o, &e->overhead);
	if (e->sample.estimated)
		ps_sample_json_end(o, &e->sample);
	if (e->soft_dirty)
		ps_sd_json(o, e->soft_dirty, true, false);
	ps_out_str(o, ",\"rate_pages_s\":{\"mean\":");
	ps_out_fixed(o, e->rate.mean, 1);
	ps_out_str(o, ",\"p50\":");
	ps_out_fixed(o, e->rate.p50, 1);
	ps_out_str(o, ",\"p95\":");
	ps_out_fixed(o, e->rate.p95, 1);
	ps_out_str(o, ",\"max\":");
	ps_out_fixed(o, e->rate.max, 1);
	ps_out_str(o, "},\"hottest\":[");
	for (size_t i = 0; i < e->nhottest; i++) {
		if (i)
			ps_out_chr(o, ',');
		ps_out_str(o, "{\"mapping\":");
		json_str(o, e->hottest[i].mapping);
		ps_out_str(o, ",\"start\":\"");
		ps_out_hex(o, e->hottest[i].start);
		ps_out_str(o, "\",\"written_pages\":");
		ps_out_u64(o, e->hottest[i].written_pages);
		ps_out_str(o, ",\"distinct_pages\":");
		ps_out_u64(o, e->hottest[i].distinct_pages);
		if (!e->accumulate) {
			ps_out_str(o, ",\"page_writes\":");
			ps_out_u64(o, e->hottest[i].page_writes);
		}
		ps_out_chr(o, '}');
	}
	ps_out_str(o, "],\"hottest_by\":\"distinct_pages\"");
	if (e->has_exit_status) {
		ps_out_str(o, ",\"exit_status\":");
		ps_out_i64(o, e->exit_status);
	}
	ps_out_str(o, "}\n");
	return flush(f);
}

/* ---- CSV ---------------------------------------------------------------------- */

static int csv_start(struct ps_sink *s, const struct ps_watch_start *w)
{
	struct fsink *f = (struct fsink *)s;
	f->workload = w->workload != NULL;
	ps_out_str(f->o, "seq,time_s,elapsed_s,written_pages,written_bytes,rate_pages_s,rate_mib_s,harvest_us,"
	                 "tracked_pages,wss_pages,regions,top_mapping,top_mapping_pages,"
	                 "discarded_pages,zero_read_pages,ksm_merged_pages,thp_filled_pages,remapped_pages,"
	                 "interval_s,stretched,overhead_faults,overhead_fault_s,overhead_share,overhead_cpu_share,over_budget");
	f->soft_dirty = w->soft_dirty;
	if (f->soft_dirty)
		ps_sd_csv_header(f->o);
	f->sample = w->sample_fraction > 0;
	if (f->sample)
		ps_sample_csv_header(f->o);
	/* A workload: a row of totals (pid empty), then one per process. */
	ps_out_str(f->o, f->workload ? ",pid,command\n" : "\n");
	return flush(f);
}

struct count_walk {
	uint64_t n;
};

static int count_region(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	(void)piece;
	(void)vma;
	((struct count_walk *)ctx)->n++;
	return 0;
}

static const struct ps_mapping_count *top_mapping(const struct ps_interval *iv)
{
	const struct ps_mapping_count *top = NULL;
	for (size_t i = 0; i < iv->nper_mapping; i++)
		if (!top || iv->per_mapping[i].written_pages > top->written_pages)
			top = &iv->per_mapping[i];
	return top;
}

/* ,interval_s,stretched(0/1),overhead_faults,overhead_fault_s,overhead_share,
 * overhead_cpu_share,over_budget(0/1): the four estimates empty when unknown
 * (the share fields as fractions, like JSON's). */
static void csv_overhead(struct ps_out *o, const struct ps_interval *iv)
{
	const struct ps_overhead *t = &iv->overhead;
	ps_out_chr(o, ',');
	ps_out_fixed(o, iv->interval_s, 3);
	ps_out_str(o, iv->stretched ? ",1," : ",0,");
	if (t->known) {
		ps_out_u64(o, t->faults);
		ps_out_chr(o, ',');
		ps_out_fixed(o, t->fault_s, 6);
		ps_out_chr(o, ',');
		ps_out_fixed(o, t->share, 4);
	} else {
		ps_out_str(o, ",,");
	}
	ps_out_chr(o, ',');
	if (t->known && t->cpu_share >= 0)
		ps_out_fixed(o, t->cpu_share, 4);
	ps_out_str(o, t->over_budget ? ",1" : ",0");
}

static void csv_row(struct fsink *f, const struct ps_interval *iv, const struct ps_process_interval *p);

static int csv_interval(struct ps_sink *s, const struct ps_interval *iv)
{
	struct fsink *f = (struct fsink *)s;
	csv_row(f, iv, NULL);
	/* A run that became a workload when the command forked: its header
	 * has no pid column, so its rows stay the totals (docs/FORMAT.md). */
	for (size_t i = 0; f->workload && i < iv->nprocesses; i++) {
		/* The process's own record, on the workload's clock. */
		struct ps_interval one = *iv->processes[i].iv;
		one.seq = iv->seq;
		one.time_s = iv->time_s;
		one.interval_s = iv->interval_s;
		one.stretched = iv->stretched;
		csv_row(f, &one, &iv->processes[i]);
	}
	return flush(f);
}

/* One row: the record's figures; p: a workload's process (its pid and
 * command in the last columns). */
static void csv_row(struct fsink *f, const struct ps_interval *iv, const struct ps_process_interval *p)
{
	struct ps_out *o = f->o;
	struct count_walk cw = { 0 };
	if (iv->written)
		ps_regions_walk(iv->written, iv->maps, count_region, &cw);
	const struct ps_mapping_count *top = top_mapping(iv);

	ps_out_u64(o, iv->seq);
	ps_out_chr(o, ',');
	ps_out_fixed(o, iv->time_s, 6);
	ps_out_chr(o, ',');
	ps_out_fixed(o, iv->elapsed_s, 6);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->written_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->written_pages * PS_PAGE_SIZE);
	ps_out_chr(o, ',');
	ps_out_fixed(o, iv->rate_pages_s, 1);
	ps_out_chr(o, ',');
	ps_out_fixed(o, rate_mib(iv->rate_pages_s), 3);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->harvest_us);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->tracked_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->wss_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, cw.n);
	ps_out_chr(o, ',');
	if (top)
		ps_out_csv_str(o, top->mapping, strlen(top->mapping));
	ps_out_chr(o, ',');
	ps_out_u64(o, top ? top->written_pages : 0);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->counts.discarded_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->counts.zero_read_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->counts.ksm_merged_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->counts.thp_filled_pages);
	ps_out_chr(o, ',');
	ps_out_u64(o, iv->counts.remapped_pages);
	csv_overhead(o, iv);
	if (f->soft_dirty)
		ps_sd_csv_row(o, iv->soft_dirty);
	if (f->sample)
		ps_sample_csv_row(o, &iv->sample);
	if (f->workload) {
		ps_out_chr(o, ',');
		if (p) {
			ps_out_i64(o, p->pid);
			ps_out_chr(o, ',');
			ps_out_csv_str(o, p->command, strlen(p->command));
		} else {
			ps_out_chr(o, ',');
		}
	}
	ps_out_chr(o, '\n');
}

static int csv_end(struct ps_sink *s, const struct ps_watch_end *e)
{
	(void)s;
	(void)e;
	return 0;
}

/* ---- text --------------------------------------------------------------------- */

/* "  discarded N  zero-read N  ksm-merged N  thp-filled N  remapped N", the non-zero
 * ones only; returns whether any was. */
static bool text_counts(struct ps_out *o, const struct ps_harvest_counts *c)
{
	static const char *const name[] = { "discarded", "zero-read", "ksm-merged", "thp-filled", "remapped" };
	const uint64_t v[] = { c->discarded_pages, c->zero_read_pages, c->ksm_merged_pages, c->thp_filled_pages,
	                       c->remapped_pages };
	bool any = false;
	for (size_t i = 0; i < 5; i++) {
		if (!v[i])
			continue;
		ps_out_str(o, "  ");
		ps_out_str(o, name[i]);
		ps_out_chr(o, ' ');
		ps_out_u64(o, v[i]);
		any = true;
	}
	return any;
}

static bool counts_any(const struct ps_harvest_counts *c)
{
	return c->discarded_pages || c->zero_read_pages || c->ksm_merged_pages || c->thp_filled_pages ||
	       c->remapped_pages;
}

/* "  overhead ~4.2% (17% of its CPU)  stretched to 0.400s": the estimated
 * time the target lost to write-protect faults, and the budget's interval. */
static void text_overhead(struct ps_out *o, const struct ps_interval *iv)
{
	const struct ps_overhead *t = &iv->overhead;
	if (t->known) {
		ps_out_printf(o, "  overhead ~%.1f%%", t->share * 100);
		if (t->cpu_share >= 0)
			ps_out_printf(o, " (%.0f%% of its CPU)", t->cpu_share * 100);
	}
	if (iv->stretched)
		ps_out_printf(o, "  stretched to %.3fs", iv->interval_s);
	if (t->over_budget)
		ps_out_str(o, "  over budget (the longest stretch)");
}

/* The end summary's estimate line (docs/overhead.md). */
static void text_overhead_end(struct ps_out *o, const struct ps_overhead_summary *t)
{
	if (!t->known)
		return;
	ps_out_printf(o, "target overhead (estimated): %.1f%% of the time, worst interval %.1f%%", t->share * 100,
	              t->max_share * 100);
	if (t->cpu_share >= 0)
		ps_out_printf(o, ", %.0f%% of its CPU time", t->cpu_share * 100);
	ps_out_printf(o, " (%.2fus a fault, %s", t->fault_ns / 1e3, t->calibrated ? "calibrated" : "default");
	if (t->own_cost)
		ps_out_printf(o, "; the target's own, larger, in %llu interval%s", (unsigned long long)t->own_cost,
		              t->own_cost == 1 ? "" : "s");
	ps_out_str(o, ")\n");
	if (t->budget > 0) {
		ps_out_printf(o, "budget %g%%: %llu interval%s stretched, the longest %.3fs", t->budget * 100,
		              (unsigned long long)t->stretched, t->stretched == 1 ? "" : "s", t->longest_s);
		if (t->over_budget)
			ps_out_printf(o, "; not kept: %llu interval%s over the budget at the longest stretch",
			              (unsigned long long)t->over_budget, t->over_budget == 1 ? "" : "s");
		ps_out_chr(o, '\n');
	}
}

/* "watching 3 processes (the tree of 123 (cmd)): 456 pages (1.8M) tracked, every 1.000s" */
static int text_start_workload(struct fsink *f, const struct ps_watch_start *w)
{
	struct ps_out *o = f->o;
	f->workload = true;
	ps_out_printf(o, "watching %llu process%s (", (unsigned long long)w->nprocesses, w->nprocesses == 1 ? "" : "es");
	if (w->cgroup) {
		ps_out_str(o, "cgroup ");
		ps_fmt_label_text(o, w->cgroup);
	} else {
		ps_out_str(o, strcmp(w->workload, "tree") == 0 ? "the tree of " : "from ");
		ps_out_printf(o, "%d ", (int)w->pid);
		ps_out_chr(o, '(');
		ps_fmt_label_text(o, w->command);
		ps_out_chr(o, ')');
	}
	ps_out_printf(o, "; at most %llu): %llu pages (", (unsigned long long)w->max_processes,
	              (unsigned long long)w->tracked_pages);
	ps_out_human(o, w->tracked_pages * PS_PAGE_SIZE);
	ps_out_str(o, ") tracked, every ");
	ps_out_fixed(o, (double)w->interval_ns / 1e9, 3);
	ps_out_str(o, w->accumulate ? "s, cumulative\n" : "s\n");
	return flush(f);
}

/* "+ process 124 (cmd): 5 ranges, 300 pages (1.2M) tracked",
 * "- process 124 (cmd) exit after 3 intervals: wss 40 pages",
 * "! process 125 (cmd) not tracked: why" */
static int text_event(struct ps_sink *s, const struct ps_process_event *ev)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	static const char mark[] = { '+', '-', '!' };
	ps_out_printf(o, "%c process %d (", mark[ev->kind], (int)ev->pid);
	ps_fmt_label_text(o, ev->command);
	ps_out_chr(o, ')');
	switch (ev->kind) {
	case PS_PROCESS_START:
		ps_out_printf(o, ": %zu range%s, %llu pages (", ev->nengaged, ev->nengaged == 1 ? "" : "s",
		              (unsigned long long)ev->tracked_pages);
		ps_out_human(o, ev->tracked_pages * PS_PAGE_SIZE);
		ps_out_str(o, ") tracked\n");
		/* The special kernel mappings once: every process has them. */
		if (!f->quiet && ps_fmt_skipped_text(o, ev->skipped, ev->nskipped, !f->specials_said))
			f->specials_said = true;
		break;
	case PS_PROCESS_EXIT:
		ps_out_str(o, " gone (");
		ps_fmt_label_text(o, ev->reason);
		ps_out_printf(o, ") after %llu interval%s: wss %llu page%s\n", (unsigned long long)ev->intervals,
		              ev->intervals == 1 ? "" : "s", (unsigned long long)ev->wss_pages,
		              ev->wss_pages == 1 ? "" : "s");
		break;
	case PS_PROCESS_SKIPPED:
		ps_out_str(o, " not tracked: ");
		ps_fmt_label_text(o, ev->reason);
		ps_out_chr(o, '\n');
		break;
	}
	return flush(f);
}

static int text_start(struct ps_sink *s, const struct ps_watch_start *w)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	if (w->workload)
		return text_start_workload(f, w);
	ps_out_printf(o, "watching process %d (", (int)w->pid);
	ps_fmt_label_text(o, w->command);
	ps_out_printf(o, "): %zu range%s, %llu pages (", w->nengaged, w->nengaged == 1 ? "" : "s",
	              (unsigned long long)w->tracked_pages);
	ps_out_human(o, w->tracked_pages * PS_PAGE_SIZE);
	ps_out_str(o, ") tracked, every ");
	ps_out_fixed(o, (double)w->interval_ns / 1e9, 3);
	ps_out_str(o, w->accumulate ? "s, cumulative\n" : "s\n");
	f->specials_said = ps_fmt_skipped_text(o, w->skipped, w->nskipped, true);
	if (w->sample_fraction > 0)
		ps_sample_text_start(o, w->sample_fraction, w->sample_seed);
	if (w->soft_dirty)
		ps_sd_text_start(o);
	return flush(f);
}

static int text_region(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct fsink *f = ctx;
	const struct ps_out *label = ps_label_cache_get(&f->label, vma, false);
	char line[128], *p = line;
	uint64_t pages = (piece->end - piece->start) >> PS_PAGE_SHIFT;
	__typeof__(f->hb[0]) *hb = &f->hb[pages % 64];
	if (hb->pages != pages || !hb->s[0]) {
		ps_human_bytes(pages * PS_PAGE_SIZE, hb->s, sizeof(hb->s));
		hb->pages = pages;
	}
	p = PS_PUT_LIT(p, "    ");
	p = ps_put_hex(p, piece->start, 12);
	*p++ = '-';
	p = ps_put_hex(p, piece->end, 12);
	p = PS_PUT_LIT(p, "  ");
	p = ps_put_mem(p, hb->s, strlen(hb->s));
	p = PS_PUT_LIT(p, "  ");
	ps_out_mem(f->o, line, (size_t)(p - line));
	ps_out_mem(f->o, label->buf, label->len);
	ps_out_chr(f->o, '\n');
	return 0;
}

static int cmp_pm_name(const void *a, const void *b, void *ctx)
{
	const struct ps_mapping_count *pm = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(pm[x].mapping, pm[y].mapping);
	return c ? c : (x > y) - (x < y);
}

/* f->repeated[i]: the name of per_mapping[i] is not unique in iv. */
static int mark_repeated(struct fsink *f, const struct ps_interval *iv)
{
	size_t n = iv->nper_mapping;
	if (n > f->rep_cap) {
		bool *r = realloc(f->repeated, n * sizeof(*r));
		if (!r)
			return -ENOMEM;
		f->repeated = r;
		size_t *o = realloc(f->order, n * sizeof(*o));
		if (!o)
			return -ENOMEM;
		f->order = o;
		f->rep_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		f->order[i] = i;
		f->repeated[i] = false;
	}
	qsort_r(f->order, n, sizeof(*f->order), cmp_pm_name, (void *)iv->per_mapping);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(iv->per_mapping[f->order[i - 1]].mapping, iv->per_mapping[f->order[i]].mapping) == 0)
			f->repeated[f->order[i - 1]] = f->repeated[f->order[i]] = true;
	}
	return 0;
}

/* A workload's processes by written pages, most first (then by pid). */
static int cmp_proc(const void *a, const void *b, void *ctx)
{
	const struct ps_process_interval *p = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	if (p[x].written_pages != p[y].written_pages)
		return p[x].written_pages < p[y].written_pages ? 1 : -1;
	return (p[x].pid > p[y].pid) - (p[x].pid < p[y].pid);
}

#define TOP_PROCESSES 3

/* "  3 processes: 123 cmd 20, 124 cmd 10, 125 x 0 (+2)": the busiest. */
static int text_top(struct fsink *f, const struct ps_interval *iv)
{
	struct ps_out *o = f->o;
	size_t n = iv->nprocesses;
	if (n > f->rep_cap) {
		size_t *ord = realloc(f->order, n * sizeof(*ord));
		if (!ord)
			return -ENOMEM;
		f->order = ord;
		bool *r = realloc(f->repeated, n * sizeof(*r));
		if (!r)
			return -ENOMEM;
		f->repeated = r;
		f->rep_cap = n;
	}
	for (size_t i = 0; i < n; i++)
		f->order[i] = i;
	qsort_r(f->order, n, sizeof(*f->order), cmp_proc, (void *)iv->processes);
	ps_out_printf(o, "  %zu process%s", n, n == 1 ? "" : "es");
	for (size_t i = 0; i < n && i < TOP_PROCESSES; i++) {
		const struct ps_process_interval *p = &iv->processes[f->order[i]];
		ps_out_printf(o, "%s%d ", i ? ", " : ": ", (int)p->pid);
		ps_fmt_label_text(o, p->command);
		ps_out_printf(o, " %llu", (unsigned long long)p->written_pages);
	}
	if (n > TOP_PROCESSES)
		ps_out_printf(o, " (+%zu)", n - TOP_PROCESSES);
	return 0;
}

static int text_interval(struct ps_sink *s, const struct ps_interval *iv)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	if (f->workload || iv->processes) {
		/* One line: the totals and the busiest processes (also once a
		 * run's command forked). */
		ps_out_printf(o, "#%llu %8.3fs  written %llu page%s (", (unsigned long long)iv->seq, iv->time_s,
		              (unsigned long long)iv->written_pages, iv->written_pages == 1 ? "" : "s");
		ps_out_human(o, iv->written_pages * PS_PAGE_SIZE);
		ps_out_printf(o, ")  %.0f pages/s  %.2f MiB/s  wss %llu page%s", iv->rate_pages_s,
		              rate_mib(iv->rate_pages_s), (unsigned long long)iv->wss_pages, iv->wss_pages == 1 ? "" : "s");
		if (iv->shared_wss_pages)
			ps_out_printf(o, " (shared %llu)", (unsigned long long)iv->shared_wss_pages);
		ps_out_printf(o, "  harvest %lluus", (unsigned long long)iv->harvest_us);
		text_counts(o, &iv->counts);
		text_overhead(o, iv);
		if (text_top(f, iv) < 0)
			return -ENOMEM;
		ps_out_chr(o, '\n');
		return flush(f);
	}
	ps_out_printf(o, "#%llu %8.3fs  written %s%llu page%s (", (unsigned long long)iv->seq, iv->time_s,
	              iv->sample.estimated ? "~" : "", (unsigned long long)iv->written_pages,
	              iv->written_pages == 1 ? "" : "s");
	ps_out_human(o, iv->written_pages * PS_PAGE_SIZE);
	ps_out_printf(o, ")  %.0f pages/s  %.2f MiB/s  wss %s%llu page%s  harvest %lluus", iv->rate_pages_s,
	              rate_mib(iv->rate_pages_s), iv->sample.estimated ? "~" : "", (unsigned long long)iv->wss_pages,
	              iv->wss_pages == 1 ? "" : "s", (unsigned long long)iv->harvest_us);
	text_counts(o, &iv->counts);
	text_overhead(o, iv);
	if (iv->sample.estimated)
		ps_sample_text_interval(o, &iv->sample);
	ps_out_chr(o, '\n');
	if (iv->soft_dirty)
		ps_sd_text_interval(o, iv->soft_dirty, f->quiet);
	if (iv->exec_command) {
		ps_out_printf(o, "exec: %d now runs ", (int)iv->exec_pid);
		ps_fmt_label_text(o, iv->exec_command);
		ps_out_chr(o, '\n');
	}
	if (!f->quiet) {
		for (size_t i = 0; i < iv->nexec_engaged; i++)
			ps_fmt_span_text(o, "  + tracking  ", &iv->exec_engaged[i]);
		for (size_t i = 0; i < iv->nengaged; i++)
			ps_fmt_span_text(o, "  + tracking  ", &iv->engaged[i]);
		for (size_t i = 0; i < iv->ndropped; i++)
			ps_fmt_span_text(o, "  - unmapped  ", &iv->dropped[i]);
		for (size_t i = 0; i < iv->nreadonly_written; i++)
			ps_fmt_span_text(o, "  = written before it was made read-only (not tracked)  ",
			                 &iv->readonly_written[i]);
	}
	if (!f->quiet) {
		ps_label_cache_reset(&f->label);
		ps_regions_walk(iv->written, iv->maps, text_region, f);
		if (iv->nper_mapping > 1) {
			ps_out_str(o, "  per mapping:");
			if (mark_repeated(f, iv) < 0)
				return -ENOMEM;
			for (size_t i = 0; i < iv->nper_mapping; i++) {
				ps_out_chr(o, ' ');
				ps_fmt_label_text(o, iv->per_mapping[i].mapping);
				if (f->repeated[i]) {
					ps_out_chr(o, '@');
					ps_out_hex(o, iv->per_mapping[i].start);
				}
				ps_out_chr(o, '=');
				ps_out_u64(o, iv->per_mapping[i].written_pages);
			}
			ps_out_chr(o, '\n');
		}
	}
	return flush(f);
}

static int text_end(struct ps_sink *s, const struct ps_watch_end *e)
{
	struct fsink *f = (struct fsink *)s;
	struct ps_out *o = f->o;
	ps_out_printf(o, "end: %s", ps_end_reason_name(e->reason));
	if (e->detail)
		ps_out_printf(o, " (%s)", e->detail);
	ps_out_printf(o, " after %llu interval%s, %.3fs\n", (unsigned long long)e->intervals,
	              e->intervals == 1 ? "" : "s", e->duration_s);
	ps_out_printf(o, "write working set: %llu page%s (", (unsigned long long)e->wss_pages, e->wss_pages == 1 ? "" : "s");
	ps_out_human(o, e->wss_pages * PS_PAGE_SIZE);
	ps_out_str(o, ")\n");
	if (e->intervals)
		ps_out_printf(o, "dirty rate (pages/s): mean %.0f  p50 %.0f  p95 %.0f  max %.0f  (mean %.2f MiB/s)\n",
		              e->rate.mean, e->rate.p50, e->rate.p95, e->rate.max, rate_mib(e->rate.mean));
	text_overhead_end(o, &e->overhead);
	if (e->sample.estimated)
		ps_sample_text_end(o, &e->sample);
	if (counts_any(&e->counts)) {
		/* Pages the harvests classified (docs/memory-events.md). */
		ps_out_str(o, "classified pages:");
		text_counts(o, &e->counts);
		ps_out_chr(o, '\n');
	}
	if (e->soft_dirty)
		ps_sd_text_end(o, e->soft_dirty);
	if (e->nhottest) {
		/* Say what is counted: distinct pages (the size written), and,
		 * apart, page-writes (a page written in k intervals counts k times). */
		ps_out_str(o, e->accumulate ? "hottest mappings (distinct pages written):\n"
		                            : "hottest mappings (distinct pages written; page-writes summed over the "
		                              "intervals):\n");
		for (size_t i = 0; i < e->nhottest; i++) {
			ps_out_printf(o, "  %10llu pages  ", (unsigned long long)e->hottest[i].distinct_pages);
			if (!e->accumulate)
				ps_out_printf(o, "%10llu page-writes  ", (unsigned long long)e->hottest[i].page_writes);
			ps_out_hex(o, e->hottest[i].start);
			ps_out_chr(o, ' ');
			ps_fmt_label_text(o, e->hottest[i].mapping);
			ps_out_chr(o, '\n');
		}
	}
	if (e->workload) {
		ps_out_printf(o, "processes: %llu tracked", (unsigned long long)e->processes);
		if (e->untracked_processes)
			ps_out_printf(o, ", %llu not tracked", (unsigned long long)e->untracked_processes);
		ps_out_printf(o, "; shared pages in the write working set: %llu (counted once)\n",
		              (unsigned long long)e->shared_wss_pages);
	}
	if (e->has_exit_status)
		ps_out_printf(o, "command exit status: %d\n", e->exit_status);
	return flush(f);
}

static void fsink_destroy(struct ps_sink *s)
{
	struct fsink *f = (struct fsink *)s;
	ps_label_cache_free(&f->label);
	free(f->repeated);
	free(f->order);
	free(s);
}

static struct ps_sink *fsink_new(struct ps_out *o, bool quiet,
                                 int (*start)(struct ps_sink *, const struct ps_watch_start *),
                                 int (*interval)(struct ps_sink *, const struct ps_interval *),
                                 int (*end)(struct ps_sink *, const struct ps_watch_end *))
{
	struct fsink *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->o = o;
	f->quiet = quiet;
	f->s.start = start;
	f->s.interval = interval;
	f->s.end = end;
	f->s.destroy = fsink_destroy;
	f->s.input_fd = -1;
	return &f->s;
}

struct ps_sink *ps_sink_text_new(struct ps_out *o, bool quiet)
{
	struct ps_sink *s = fsink_new(o, quiet, text_start, text_interval, text_end);
	if (s)
		s->event = text_event;
	return s;
}

struct ps_sink *ps_sink_json_new(struct ps_out *o, bool quiet)
{
	struct ps_sink *s = fsink_new(o, quiet, json_start, json_interval, json_end);
	if (s)
		s->event = json_event;
	return s;
}

struct ps_sink *ps_sink_csv_new(struct ps_out *o)
{
	return fsink_new(o, false, csv_start, csv_interval, csv_end);
}
