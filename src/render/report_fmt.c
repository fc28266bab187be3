/* SPDX-License-Identifier: MIT */
/* The report as text for people and as one JSON document for programs
 * (docs/FORMAT.md, "report -f json"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/util.h"
#include "pagescan/render/fmt.h"
#include "pagescan/render/report_fmt.h"
#include "softdirty_fmt.h"

#define MIB (1024.0 * 1024.0)
#define TEXT_MAPPINGS 20
#define TEXT_SD_INTERVALS 40

uint64_t ps_report_u64(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 0x1p64)
		return UINT64_MAX;
	return (uint64_t)(v + 0.5); /* below 2^64 - 2048 + 0.5: rounds within range */
}

static void human_pages(struct ps_out *o, uint64_t pages)
{
	ps_out_human(o, pages * PS_PAGE_SIZE);
}

/* A duration with a unit that keeps three significant-ish digits. */
static const char *dur_str(double s, char *buf, size_t n)
{
	if (s <= 0)
		snprintf(buf, n, "0 ms");
	else if (s < 0.001)
		snprintf(buf, n, "%.3f ms", s * 1e3);
	else if (s < 1)
		snprintf(buf, n, "%.1f ms", s * 1e3);
	else
		snprintf(buf, n, "%.3f s", s);
	return buf;
}

static void duration(struct ps_out *o, double s)
{
	char b[32];
	ps_out_str(o, dur_str(s, b, sizeof(b)));
}

/* Right-aligned columns. */
static void rdur(struct ps_out *o, double s, int width)
{
	char b[32];
	ps_out_printf(o, "%*s", width, dur_str(s, b, sizeof(b)));
}

static void rhuman(struct ps_out *o, uint64_t bytes, int width)
{
	char h[16];
	ps_out_printf(o, "%*s", width, ps_human_bytes(bytes, h, sizeof(h)));
}

static void bandwidth(struct ps_out *o, double bps)
{
	ps_out_human(o, ps_report_u64(bps));
	ps_out_str(o, "/s");
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* ---- text ------------------------------------------------------------------------- */

static void text_summary(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r)
{
	/* Names come from the recording (and so from the target): escaped. */
	if (rec->workload && rec->cgroup) {
		ps_out_printf(o, "recording: workload of %zu process%s (cgroup ", rec->nprocs, rec->nprocs == 1 ? "" : "es");
		ps_fmt_label_text(o, rec->cgroup);
		ps_out_chr(o, ')');
	} else if (rec->workload) {
		ps_out_printf(o, "recording: workload of %zu process%s (%s %" PRId64 " (", rec->nprocs,
		              rec->nprocs == 1 ? "" : "es", strcmp(rec->workload_kind, "tree") == 0 ? "the tree of" : "from",
		              rec->pid);
		ps_fmt_label_text(o, rec->command);
		ps_out_str(o, "))");
	} else {
		ps_out_printf(o, "recording: process %" PRId64 " (", rec->pid);
		ps_fmt_label_text(o, rec->command);
		ps_out_chr(o, ')');
	}
	ps_out_printf(o, ", %" PRIu64 " interval%s of %.3f s (seq %" PRIu64 "-%" PRIu64 "), ",
	              r->intervals, r->intervals == 1 ? "" : "s", rec->interval_s, r->first_seq, r->last_seq);
	duration(o, r->duration_s);
	if (rec->has_end) {
		ps_out_str(o, ", ended: ");
		ps_fmt_label_text(o, rec->end_reason);
	} else
		ps_out_str(o, ", no end record");
	ps_out_str(o, rec->accumulate ? ", recorded with --accumulate" : "");
	if (rec->sample_fraction > 0)
		ps_out_printf(o, ", recorded with --sample %g: dirty rates estimated, page counts only the pages seen",
		              rec->sample_fraction);
	ps_out_chr(o, '\n');
	ps_out_printf(o, "tracked: %" PRIu64 " pages (", r->tracked_pages);
	human_pages(o, r->tracked_pages);
	ps_out_str(o, ") at the start");
	if (r->tracked_pages_max != r->tracked_pages) {
		ps_out_printf(o, ", at most %" PRIu64 " (", r->tracked_pages_max);
		human_pages(o, r->tracked_pages_max);
		ps_out_chr(o, ')');
	}
	if (rec->nskipped)
		ps_out_printf(o, "; %zu mapping%s could not be tracked", rec->nskipped, rec->nskipped == 1 ? "" : "s");
	ps_out_chr(o, '\n');
	ps_out_printf(o, "unique pages written: %" PRIu64 " (", r->unique_pages);
	human_pages(o, r->unique_pages);
	ps_out_printf(o, "), %.1f%% of the tracked pages; %" PRIu64 " written in one interval only\n",
	              pct(r->unique_pages, r->tracked_pages_max), r->once_pages);
	if (rec->workload)
		ps_out_printf(o, "of the workload, pages of shared mappings counted once: %" PRIu64
		              " of them shared; %" PRIu64 " process%s not tracked\n", r->shared_unique_pages,
		              rec->skipped_processes, rec->skipped_processes == 1 ? "" : "es");
	ps_out_printf(o, "dirty rate (pages/s%s): mean %.0f  stddev %.0f  p50 %.0f  p95 %.0f  p99 %.0f  max %.0f"
	              "  (mean %.2f MiB/s, max %.2f MiB/s)\n", rec->sample_fraction > 0 ? ", estimated" : "", r->rate.mean, r->rate.stddev, r->rate.p50,
	              r->rate.p95, r->rate.p99, r->rate.max, r->rate.mean * PS_PAGE_SIZE / MIB,
	              r->rate.max * PS_PAGE_SIZE / MIB);
	if (r->sd.present)
		ps_out_printf(o, "soft-dirty (--compare soft-dirty): %" PRIu64 " pages marked, %" PRIu64 " not written "
		              "(false positives, %.1f%% of soft-dirty), %" PRIu64 " in the read-to-clear race\n",
		              r->sd.c.soft_dirty_pages, r->sd.c.false_pages, 100 * ps_report_sd_false_share(&r->sd.c),
		              r->sd.c.race_pages);
}

static int cmp_iv_false(const void *a, const void *b)
{
	const struct ps_rec_interval *x = *(const struct ps_rec_interval *const *)a;
	const struct ps_rec_interval *y = *(const struct ps_rec_interval *const *)b;
	if (x->sd.false_pages != y->sd.false_pages)
		return x->sd.false_pages < y->sd.false_pages ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_iv_seq(const void *a, const void *b)
{
	const struct ps_rec_interval *x = *(const struct ps_rec_interval *const *)a;
	const struct ps_rec_interval *y = *(const struct ps_rec_interval *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void text_sd_counts(struct ps_out *o, const struct ps_sd_counts *c)
{
	ps_out_printf(o, "  %10" PRIu64 "  %10" PRIu64 "  %10" PRIu64 "  %6.1f%%  %10" PRIu64, c->written_pages,
	              c->soft_dirty_pages, c->false_pages, 100 * ps_report_sd_false_share(c), c->race_pages);
}

/* --compare soft-dirty: per interval (at most TEXT_SD_INTERVALS: those with
 * the most false positives) and per mapping. */
static void text_soft_dirty(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r)
{
	const struct ps_report_sd *sd = &r->sd;
	if (!sd->present)
		return;
	ps_out_printf(o, "\nsoft-dirty compared (docs/soft-dirty.md): %" PRIu64 " of %" PRIu64 " intervals; false "
	              "positives: soft-dirty pages not written; race: pages a store between the soft-dirty read and "
	              "its clear put on one side only\n", sd->intervals, r->intervals);
	if (!sd->intervals)
		return;
	ps_out_printf(o, "  false-positive share per interval with soft-dirty pages: mean %.1f%%  p50 %.1f%%  "
	              "p95 %.1f%%  max %.1f%%\n", 100 * sd->false_share.mean, 100 * sd->false_share.p50,
	              100 * sd->false_share.p95, 100 * sd->false_share.max);
	// NOLINTNEXTLINE(bugprone-sizeof-expression): array of pointers
	const struct ps_rec_interval **v = malloc(sd->intervals * sizeof(*v));
	if (!v) {
		o->error = o->error ? o->error : ENOMEM;
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < rec->niv; i++)
		if (rec->iv[i].has_sd)
			v[n++] = &rec->iv[i];
	size_t shown = n;
	if (n > TEXT_SD_INTERVALS) {
		qsort(v, n, sizeof(*v), cmp_iv_false); // NOLINT(bugprone-sizeof-expression): array of pointers
		shown = TEXT_SD_INTERVALS;
		qsort(v, shown, sizeof(*v), cmp_iv_seq); // NOLINT(bugprone-sizeof-expression): array of pointers
		ps_out_printf(o, "  the %d intervals with the most false positives (-f json lists all %zu):\n",
		              TEXT_SD_INTERVALS, n);
	}
	ps_out_str(o, "         seq     written  soft-dirty       false   false%        race\n");
	for (size_t i = 0; i < shown; i++) {
		ps_out_printf(o, "  %10" PRIu64, v[i]->seq);
		text_sd_counts(o, &v[i]->sd);
		ps_out_chr(o, '\n');
	}
	free(v);
	ps_out_str(o, "  total     ");
	text_sd_counts(o, &sd->c);
	ps_out_chr(o, '\n');
	if (!sd->nmap)
		return;
	ps_out_str(o, "\n  per mapping, by false positives:\n");
	ps_out_str(o, "     written  soft-dirty       false   false%        race  mapping\n");
	size_t nm = 0;
	for (size_t i = 0; i < sd->nmap; i++) {
		const struct ps_report_sd_mapping *m = &sd->map[i];
		if (!m->c.soft_dirty_pages && !m->c.race_pages)
			continue;
		if (nm++ == TEXT_MAPPINGS) {
			ps_out_printf(o, "  ... more mappings (-f json lists all %zu)\n", sd->nmap);
			break;
		}
		text_sd_counts(o, &m->c);
		ps_out_str(o, "  ");
		ps_out_hex(o, m->start * PS_PAGE_SIZE);
		ps_out_chr(o, ' ');
		ps_fmt_label_text(o, m->mapping);
		ps_out_chr(o, '\n');
	}
}

static void text_windows(struct ps_out *o, const struct ps_report *r, bool sampled)
{
	ps_out_str(o, "\nwrite working set by window length (distinct pages written within N consecutive "
	              "intervals; ");
	ps_out_str(o, sampled ? "only the pages seen in the samples, not estimates):\n" : "exact):\n");
	ps_out_str(o, "  intervals     window     mean pages      max pages     mean      max   mean rate\n");
	for (size_t i = 0; i < r->nwin; i++) {
		const struct ps_report_window *w = &r->win[i];
		ps_out_printf(o, "  %9" PRIu64 "  ", w->len);
		rdur(o, w->seconds, 9);
		ps_out_printf(o, "  %13.1f  %13" PRIu64 "  ", w->mean_pages, w->max_pages);
		rhuman(o, ps_report_u64(w->mean_pages * PS_PAGE_SIZE), 7);
		ps_out_str(o, "  ");
		rhuman(o, w->max_pages * PS_PAGE_SIZE, 7);
		ps_out_str(o, "  ");
		char h[16], b[24];
		uint64_t rate = w->seconds > 0 ? ps_report_u64(w->mean_pages * PS_PAGE_SIZE / w->seconds) : 0;
		snprintf(b, sizeof(b), "%s/s", ps_human_bytes(rate, h, sizeof(h)));
		ps_out_printf(o, "%10s\n", b);
	}
}

static void text_precopy(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r)
{
	const struct ps_precopy *pc = &r->precopy;

	if (!pc->done)
		return;
	ps_out_str(o, "\npre-copy simulation: bandwidth ");
	bandwidth(o, (double)pc->bandwidth);
	ps_out_str(o, ", downtime budget ");
	duration(o, pc->downtime_s);
	ps_out_printf(o, ", at most %" PRIu64 " live round%s\n", pc->max_rounds, pc->max_rounds == 1 ? "" : "s");
	ps_out_str(o, "  round       start    duration        pages      bytes\n");
	size_t show = pc->nrounds, skip_from = SIZE_MAX;
	if (show > 24) { /* long non-converging runs: the first and the last rounds */
		skip_from = 12;
	}
	for (size_t i = 0; i < pc->nrounds; i++) {
		const struct ps_precopy_round *rd = &pc->rounds[i];
		if (i == skip_from) {
			ps_out_printf(o, "    ... %zu rounds ...\n", pc->nrounds - 24);
			i = pc->nrounds - 12;
			rd = &pc->rounds[i];
		}
		ps_out_printf(o, "  %5zu  %8.3f s  ", i, rd->start_s);
		rdur(o, rd->duration_s, 10);
		ps_out_printf(o, "  %11" PRIu64 "  ", rd->pages);
		rhuman(o, rd->pages * PS_PAGE_SIZE, 9);
		ps_out_chr(o, '\n');
	}
	switch (pc->outcome) {
	case PS_PRECOPY_CONVERGED:
		ps_out_printf(o, "  converges after %zu live round%s: stop-and-copy of %" PRIu64 " pages (",
		              pc->nrounds, pc->nrounds == 1 ? "" : "s", pc->pending_pages);
		human_pages(o, pc->pending_pages);
		ps_out_str(o, "), expected downtime ");
		duration(o, pc->downtime_est_s);
		ps_out_str(o, "\n  total sent: ");
		ps_out_human(o, pc->total_bytes);
		ps_out_printf(o, " (%.2f x the tracked memory)\n",
		              r->tracked_pages ? (double)pc->total_bytes / (double)(r->tracked_pages * PS_PAGE_SIZE) : 0);
		break;
	case PS_PRECOPY_MAX_ROUNDS:
		ps_out_printf(o, "  does not converge in %zu rounds: %" PRIu64 " pages (", pc->nrounds, pc->pending_pages);
		human_pages(o, pc->pending_pages);
		ps_out_str(o, ") are still dirty, a downtime of ");
		duration(o, pc->downtime_est_s);
		ps_out_str(o, " if stopped there; total sent then: ");
		ps_out_human(o, pc->total_bytes);
		ps_out_chr(o, '\n');
		break;
	case PS_PRECOPY_OUT_OF_DATA:
		ps_out_printf(o, "  the recording runs out: it ends at %.3f s, but round %zu would run until %.3f s; "
		              "record longer (or raise --bandwidth)\n", pc->data_end_s, pc->nrounds - 1,
		              pc->needed_until_s);
		break;
	}
	if (pc->outcome != PS_PRECOPY_CONVERGED) {
		if (pc->needed_bandwidth > 0) {
			ps_out_str(o, "  it would converge within this recording at about ");
			bandwidth(o, pc->needed_bandwidth);
			ps_out_chr(o, '\n');
		} else {
			ps_out_str(o, "  no bandwidth found at which it converges within this recording\n");
		}
	}
	if (pc->short_rounds)
		ps_out_printf(o, "  note: some rounds are shorter than the recording interval (%.3f s); their dirty sets "
		              "count whole intervals, an overestimate: record with a shorter interval\n",
		              rec->interval_s);
}

static int cmp_written(const void *a, const void *b)
{
	const struct ps_report_mapping *x = a, *y = b;
	if (x->written_pages != y->written_pages)
		return x->written_pages < y->written_pages ? 1 : -1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void text_mappings(struct ps_out *o, const struct ps_report *r)
{
	struct ps_report_mapping *v;
	size_t n = 0, never = 0;
	uint64_t never_pages = 0;

	if (!r->nmap)
		return;
	v = malloc(r->nmap * sizeof(*v)); /* copies, sorted by pages written */
	if (!v) {
		o->error = o->error ? o->error : ENOMEM; /* sticky, like the buffer's own */
		return;
	}
	for (size_t i = 0; i < r->nmap; i++) {
		if (r->map[i].written_pages) {
			v[n++] = r->map[i];
		} else {
			never++;
			never_pages += r->map[i].tracked_pages;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_written);
	ps_out_str(o, "\nper mapping, by pages written:\n");
	ps_out_str(o, "    written    tracked  never written    written once  intervals/page  mapping\n");
	for (size_t i = 0; i < n && i < TEXT_MAPPINGS; i++) {
		const struct ps_report_mapping *m = &v[i];
		uint64_t nw = m->tracked_pages > m->written_pages ? m->tracked_pages - m->written_pages : 0;
		ps_out_printf(o, "  %9" PRIu64 "  %9" PRIu64 "  %12.1f%%  %7" PRIu64 " %5.1f%%  %14.2f  ",
		              m->written_pages, m->tracked_pages, pct(nw, m->tracked_pages), m->once_pages,
		              pct(m->once_pages, m->written_pages),
		              m->written_pages ? (double)m->page_writes / (double)m->written_pages : 0);
		ps_out_hex(o, m->start * PS_PAGE_SIZE);
		ps_out_chr(o, '-');
		ps_out_hex(o, m->end * PS_PAGE_SIZE);
		ps_out_chr(o, ' ');
		ps_fmt_label_text(o, m->mapping);
		if (m->dropped)
			ps_out_str(o, " (unmapped during the watch)");
		if (m->readonly_written)
			ps_out_str(o, " (read-only: written before it was protected, not tracked)");
		ps_out_chr(o, '\n');
	}
	if (n > TEXT_MAPPINGS) {
		uint64_t rest = 0;
		for (size_t i = TEXT_MAPPINGS; i < n; i++)
			rest += v[i].written_pages;
		ps_out_printf(o, "  ... %zu more written mappings (%" PRIu64 " pages; -f json lists all)\n",
		              n - TEXT_MAPPINGS, rest);
	}
	if (never) {
		ps_out_printf(o, "  %zu tracked mapping%s never written (%" PRIu64 " pages, ", never, never == 1 ? "" : "s",
		              never_pages);
		human_pages(o, never_pages);
		ps_out_str(o, ")\n");
	}
	free(v);
}

#define TEXT_PROCESS_MAPPINGS 8

/* A workload's processes, busiest first, then each one's mappings. */
static void text_processes(struct ps_out *o, const struct ps_report *r)
{
	ps_out_str(o, "\nper process, by distinct pages written (write working set):\n");
	ps_out_str(o, "        pid  wss pages  page-writes  shared writes  intervals  mean pages/s  max pages/s  command\n");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct ps_report_process *p = &r->procs[i];
		const struct ps_report *pr = p->rep;
		ps_out_printf(o, "  %9" PRId64 "  %9" PRIu64 "  %11" PRIu64 "  %13" PRIu64 "  %9" PRIu64 "  %12.0f  %11.0f  ",
		              p->proc->pid, pr ? pr->unique_pages : 0, pr ? pr->page_writes : 0,
		              p->proc->shared_written_pages, pr ? pr->intervals : 0, pr ? pr->rate.mean : 0,
		              pr ? pr->rate.max : 0);
		ps_fmt_label_text(o, p->proc->command);
		if (p->proc->exited) {
			ps_out_str(o, " (gone: ");
			ps_fmt_label_text(o, p->proc->exit_reason);
			ps_out_chr(o, ')');
		}
		ps_out_chr(o, '\n');
	}
	/* The mappings of the busiest few (JSON has every process's). */
	size_t shown = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct ps_report_process *p = &r->procs[i];
		if (!p->rep || !p->rep->unique_pages)
			continue;
		if (shown++ == TEXT_PROCESS_MAPPINGS) {
			ps_out_printf(o, "\n(the mappings of the %zu busiest processes are shown; -f json lists all)\n",
			              (size_t)TEXT_PROCESS_MAPPINGS);
			break;
		}
		ps_out_printf(o, "\nprocess %" PRId64 " (", p->proc->pid);
		ps_fmt_label_text(o, p->proc->command);
		ps_out_chr(o, ')');
		text_mappings(o, p->rep);
	}
}

void ps_report_text(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r)
{
	text_summary(o, rec, r);
	text_windows(o, r, rec->sample_fraction > 0);
	text_precopy(o, rec, r);
	if (rec->workload)
		text_processes(o, r);
	else
		text_mappings(o, r);
	text_soft_dirty(o, rec, r);
}

/* ---- JSON --------------------------------------------------------------------------- */

static void jstr(struct ps_out *o, const char *s)
{
	ps_out_json_str(o, s ? s : "", s ? strlen(s) : 0);
}

static void jkey(struct ps_out *o, const char *k)
{
	ps_out_chr(o, '"');
	ps_out_str(o, k);
	ps_out_str(o, "\":");
}

static void jnum(struct ps_out *o, const char *k, double v, int decimals)
{
	jkey(o, k);
	ps_out_fixed(o, v, decimals);
}

static void ju64(struct ps_out *o, const char *k, uint64_t v)
{
	jkey(o, k);
	ps_out_u64(o, v);
}

static void jaddr(struct ps_out *o, const char *k, uint64_t page)
{
	jkey(o, k);
	ps_out_chr(o, '"');
	ps_out_hex(o, page * PS_PAGE_SIZE);
	ps_out_chr(o, '"');
}

static void json_stats(struct ps_out *o, const struct ps_summary *s, double scale, int decimals)
{
	ps_out_chr(o, '{');
	jnum(o, "mean", s->mean * scale, decimals);
	ps_out_chr(o, ',');
	jnum(o, "stddev", s->stddev * scale, decimals);
	ps_out_chr(o, ',');
	jnum(o, "p50", s->p50 * scale, decimals);
	ps_out_chr(o, ',');
	jnum(o, "p95", s->p95 * scale, decimals);
	ps_out_chr(o, ',');
	jnum(o, "p99", s->p99 * scale, decimals);
	ps_out_chr(o, ',');
	jnum(o, "max", s->max * scale, decimals);
	ps_out_chr(o, '}');
}

static void json_precopy(struct ps_out *o, const struct ps_report *r)
{
	const struct ps_precopy *pc = &r->precopy;
	static const char *const outcome[] = { [PS_PRECOPY_CONVERGED] = "converged",
	                                       [PS_PRECOPY_MAX_ROUNDS] = "max-rounds",
	                                       [PS_PRECOPY_OUT_OF_DATA] = "out-of-data" };

	if (!pc->done) {
		ps_out_str(o, "null");
		return;
	}
	ps_out_chr(o, '{');
	ju64(o, "bandwidth", pc->bandwidth);
	ps_out_chr(o, ',');
	jnum(o, "downtime_s", pc->downtime_s, 6);
	ps_out_chr(o, ',');
	ju64(o, "max_rounds", pc->max_rounds);
	ps_out_str(o, ",\"rounds\":[");
	for (size_t i = 0; i < pc->nrounds; i++) {
		if (i)
			ps_out_chr(o, ',');
		ps_out_chr(o, '{');
		ju64(o, "round", i);
		ps_out_chr(o, ',');
		jnum(o, "start_s", pc->rounds[i].start_s, 6);
		ps_out_chr(o, ',');
		jnum(o, "duration_s", pc->rounds[i].duration_s, 6);
		ps_out_chr(o, ',');
		ju64(o, "pages", pc->rounds[i].pages);
		ps_out_chr(o, ',');
		ju64(o, "bytes", pc->rounds[i].pages * PS_PAGE_SIZE);
		ps_out_chr(o, '}');
	}
	ps_out_str(o, "],\"outcome\":\"");
	ps_out_str(o, outcome[pc->outcome]);
	ps_out_str(o, "\",");
	ju64(o, "live_rounds", pc->nrounds);
	if (pc->outcome == PS_PRECOPY_OUT_OF_DATA) {
		ps_out_str(o, ",\"final_pages\":null,\"final_bytes\":null,\"downtime_expected_s\":null,"
		              "\"total_bytes\":null,");
		jnum(o, "recording_end_s", pc->data_end_s, 6);
		ps_out_chr(o, ',');
		jnum(o, "round_end_s", pc->needed_until_s, 6);
	} else {
		ps_out_chr(o, ',');
		ju64(o, "final_pages", pc->pending_pages);
		ps_out_chr(o, ',');
		ju64(o, "final_bytes", pc->pending_pages * PS_PAGE_SIZE);
		ps_out_chr(o, ',');
		jnum(o, "downtime_expected_s", pc->downtime_est_s, 6);
		ps_out_chr(o, ',');
		ju64(o, "total_bytes", pc->total_bytes);
	}
	ps_out_str(o, ",\"short_rounds\":");
	ps_out_str(o, pc->short_rounds ? "true" : "false");
	ps_out_str(o, ",\"needed_bandwidth\":");
	if (pc->outcome != PS_PRECOPY_CONVERGED && pc->needed_bandwidth > 0)
		ps_out_u64(o, ps_report_u64(pc->needed_bandwidth));
	else
		ps_out_str(o, "null");
	ps_out_chr(o, '}');
}

static void json_mappings(struct ps_out *o, const struct ps_report *r);
static void json_workload(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r);

/* The counts and soft-dirty's false-positive share of them. */
static void json_sd_counts(struct ps_out *o, const struct ps_sd_counts *c)
{
	ps_sd_json_counts(o, c);
	ps_out_chr(o, ',');
	jnum(o, "false_share", ps_report_sd_false_share(c), 4);
}

/* ,"soft_dirty":{...} (docs/FORMAT.md, "report -f json"); nothing
 * without --compare soft-dirty. */
static void json_soft_dirty(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r)
{
	const struct ps_report_sd *sd = &r->sd;
	if (!sd->present)
		return;
	ps_out_str(o, ",\"soft_dirty\":{");
	ju64(o, "intervals", sd->intervals);
	ps_out_chr(o, ',');
	json_sd_counts(o, &sd->c);
	ps_out_str(o, ",\"false_share_per_interval\":");
	json_stats(o, &sd->false_share, 1, 4);
	ps_out_str(o, ",\"per_interval\":[");
	bool first = true;
	for (size_t i = 0; i < rec->niv; i++) {
		const struct ps_rec_interval *iv = &rec->iv[i];
		if (!iv->has_sd)
			continue;
		ps_out_str(o, first ? "{" : ",{");
		first = false;
		ju64(o, "seq", iv->seq);
		ps_out_chr(o, ',');
		json_sd_counts(o, &iv->sd);
		ps_out_chr(o, '}');
	}
	ps_out_str(o, "],\"mappings\":[");
	for (size_t i = 0; i < sd->nmap; i++) {
		const struct ps_report_sd_mapping *m = &sd->map[i];
		if (i)
			ps_out_chr(o, ',');
		ps_out_str(o, "{\"mapping\":");
		jstr(o, m->mapping);
		ps_out_chr(o, ',');
		jaddr(o, "start", m->start);
		ps_out_chr(o, ',');
		json_sd_counts(o, &m->c);
		ps_out_chr(o, '}');
	}
	ps_out_str(o, "]}");
}

void ps_report_json(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r,
                    const struct ps_warnings *w)
{
	ps_out_str(o, "{\"type\":\"report\",\"format_version\":1,\"pagescan\":\"" PAGESCAN_VERSION "\","
	              "\"recording\":{");
	jkey(o, "pid");
	ps_out_i64(o, rec->pid);
	ps_out_str(o, ",\"command\":");
	jstr(o, rec->command);
	ps_out_str(o, ",\"recorded_by\":");
	jstr(o, rec->pagescan);
	ps_out_str(o, rec->accumulate ? ",\"mode\":\"accumulate\"," : ",\"mode\":\"interval\",");
	if (rec->sample_fraction > 0) {
		ps_out_str(o, "\"estimated\":true,");
		jnum(o, "sample_fraction", rec->sample_fraction, 6);
		ps_out_chr(o, ',');
	}
	jnum(o, "interval_s", rec->interval_s, 6);
	ps_out_chr(o, ',');
	ju64(o, "intervals", r->intervals);
	ps_out_chr(o, ',');
	ju64(o, "first_seq", r->first_seq);
	ps_out_chr(o, ',');
	ju64(o, "last_seq", r->last_seq);
	ps_out_chr(o, ',');
	jnum(o, "duration_s", r->duration_s, 6);
	ps_out_str(o, ",\"end_reason\":");
	if (rec->has_end)
		jstr(o, rec->end_reason);
	else
		ps_out_str(o, "null");
	ps_out_str(o, ",\"skipped_mappings\":");
	ps_out_u64(o, rec->nskipped);

	ps_out_str(o, "},\"summary\":{");
	ju64(o, "tracked_pages", r->tracked_pages);
	ps_out_chr(o, ',');
	ju64(o, "tracked_bytes", r->tracked_pages * PS_PAGE_SIZE);
	ps_out_chr(o, ',');
	ju64(o, "tracked_pages_max", r->tracked_pages_max);
	ps_out_chr(o, ',');
	ju64(o, "unique_pages", r->unique_pages);
	ps_out_chr(o, ',');
	ju64(o, "unique_bytes", r->unique_pages * PS_PAGE_SIZE);
	ps_out_chr(o, ',');
	ju64(o, "page_writes", r->page_writes);
	ps_out_chr(o, ',');
	ju64(o, "once_pages", r->once_pages);
	ps_out_str(o, ",\"rate_pages_s\":");
	json_stats(o, &r->rate, 1, 1);
	ps_out_str(o, ",\"rate_bytes_s\":");
	json_stats(o, &r->rate, PS_PAGE_SIZE, 0);

	ps_out_str(o, "},\"windows\":[");
	for (size_t i = 0; i < r->nwin; i++) {
		const struct ps_report_window *win = &r->win[i];
		if (i)
			ps_out_chr(o, ',');
		ps_out_chr(o, '{');
		ju64(o, "intervals", win->len);
		ps_out_chr(o, ',');
		jnum(o, "seconds", win->seconds, 6);
		ps_out_chr(o, ',');
		jnum(o, "mean_pages", win->mean_pages, 3);
		ps_out_chr(o, ',');
		ju64(o, "max_pages", win->max_pages);
		ps_out_chr(o, ',');
		ju64(o, "max_first_seq", win->max_seq);
		ps_out_chr(o, ',');
		jnum(o, "mean_bytes", win->mean_pages * PS_PAGE_SIZE, 0);
		ps_out_chr(o, ',');
		ju64(o, "max_bytes", win->max_pages * PS_PAGE_SIZE);
		ps_out_chr(o, '}');
	}
	ps_out_str(o, "],\"precopy\":");
	json_precopy(o, r);

	ps_out_str(o, ",\"mappings\":");
	if (rec->workload) /* per process, in "processes" */
		ps_out_str(o, "[]");
	else
		json_mappings(o, r);
	if (rec->workload)
		json_workload(o, rec, r);
	json_soft_dirty(o, rec, r);
	ps_out_str(o, ",\"warnings\":[");
	for (size_t i = 0; w && i < w->n; i++) {
		if (i)
			ps_out_chr(o, ',');
		jstr(o, w->msg[i]);
	}
	ps_out_str(o, "],\"warnings_suppressed\":");
	ps_out_u64(o, w ? w->suppressed : 0);
	ps_out_str(o, "}\n");
}

static void json_mappings(struct ps_out *o, const struct ps_report *r)
{
	ps_out_chr(o, '[');
	for (size_t i = 0; i < r->nmap; i++) {
		const struct ps_report_mapping *m = &r->map[i];
		uint64_t nw = m->tracked_pages > m->written_pages ? m->tracked_pages - m->written_pages : 0;
		if (i)
			ps_out_chr(o, ',');
		ps_out_str(o, "{\"mapping\":");
		jstr(o, m->mapping);
		ps_out_chr(o, ',');
		jaddr(o, "start", m->start);
		ps_out_chr(o, ',');
		jaddr(o, "end", m->end);
		ps_out_chr(o, ',');
		ju64(o, "tracked_pages", m->tracked_pages);
		ps_out_chr(o, ',');
		ju64(o, "written_pages", m->written_pages);
		ps_out_chr(o, ',');
		ju64(o, "never_written_pages", nw);
		ps_out_chr(o, ',');
		jnum(o, "never_written_share", m->tracked_pages ? (double)nw / (double)m->tracked_pages : 0, 4);
		ps_out_chr(o, ',');
		ju64(o, "once_pages", m->once_pages);
		ps_out_chr(o, ',');
		ju64(o, "page_writes", m->page_writes);
		ps_out_chr(o, ',');
		jnum(o, "mean_intervals_per_page",
		     m->written_pages ? (double)m->page_writes / (double)m->written_pages : 0, 3);
		ps_out_str(o, m->dropped ? ",\"dropped\":true" : ",\"dropped\":false");
		ps_out_str(o, m->readonly_written ? ",\"readonly_written\":true}" : ",\"readonly_written\":false}");
	}
	ps_out_chr(o, ']');
}

/* ,"workload":{...},"processes":[...] (docs/FORMAT.md) */
static void json_workload(struct ps_out *o, const struct ps_recording *rec, const struct ps_report *r)
{
	ps_out_str(o, ",\"workload\":{\"kind\":");
	jstr(o, rec->workload_kind);
	if (rec->cgroup) {
		ps_out_str(o, ",\"cgroup\":");
		jstr(o, rec->cgroup);
	}
	ps_out_chr(o, ',');
	ju64(o, "processes", rec->nprocs);
	ps_out_chr(o, ',');
	ju64(o, "untracked_processes", rec->skipped_processes);
	ps_out_chr(o, ',');
	ju64(o, "shared_unique_pages", r->shared_unique_pages);
	ps_out_str(o, "},\"processes\":[");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct ps_report_process *p = &r->procs[i];
		const struct ps_report *pr = p->rep;
		if (i)
			ps_out_chr(o, ',');
		ps_out_chr(o, '{');
		jkey(o, "pid");
		ps_out_i64(o, p->proc->pid);
		ps_out_str(o, ",\"command\":");
		jstr(o, p->proc->command);
		ps_out_chr(o, ',');
		jnum(o, "start_s", p->proc->start_s, 6);
		ps_out_str(o, ",\"exit_reason\":");
		if (p->proc->exited)
			jstr(o, p->proc->exit_reason);
		else
			ps_out_str(o, "null");
		ps_out_chr(o, ',');
		ju64(o, "intervals", pr ? pr->intervals : 0);
		ps_out_chr(o, ',');
		ju64(o, "tracked_pages", pr ? pr->tracked_pages_max : p->proc->rec->tracked_pages);
		ps_out_chr(o, ',');
		ju64(o, "unique_pages", pr ? pr->unique_pages : 0);
		ps_out_chr(o, ',');
		ju64(o, "unique_bytes", pr ? pr->unique_pages * PS_PAGE_SIZE : 0);
		ps_out_chr(o, ',');
		ju64(o, "page_writes", pr ? pr->page_writes : 0);
		ps_out_chr(o, ',');
		ju64(o, "once_pages", pr ? pr->once_pages : 0);
		ps_out_chr(o, ',');
		ju64(o, "shared_page_writes", p->proc->shared_written_pages);
		ps_out_str(o, ",\"rate_pages_s\":");
		if (pr)
			json_stats(o, &pr->rate, 1, 1);
		else
			ps_out_str(o, "null");
		ps_out_str(o, ",\"mappings\":");
		if (pr)
			json_mappings(o, pr);
		else
			ps_out_str(o, "[]");
		ps_out_chr(o, '}');
	}
	ps_out_chr(o, ']');
}
