/* SPDX-License-Identifier: MIT */
/* The watch loop (see loop.h). */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "files.h"
#include "loop.h"
#include "asyncout.h"
#include "sinks.h"
#include "pagescan/kernel/engage.h"
#include "pagescan/kernel/inject.h"
#include "pagescan/kernel/kwarn.h"
#include "pagescan/kernel/sample.h"
#include "pagescan/kernel/softdirty.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/render/fmt.h"
#include "pagescan/render/heat_frame.h"
#include "pagescan/model/util.h"
#include "pagescan/model/watch.h"
#include "pagescan/render/sink.h"

int ps_loop_init(struct ps_loop *l, const struct ps_watch_args *a, struct ps_err *err)
{
	*l = (struct ps_loop){ .a = a, .t = PS_TARGET_INIT, .out_fd = -1, .tfd = -1, .dfd = -1, .sfd = -1 };
	/* Before anything is created or launched: a kernel without soft-dirty
	 * bits refuses --compare soft-dirty (docs/soft-dirty.md). */
	if (a->compare_soft_dirty && ps_softdirty_probe(err) < 0)
		return -err->code;
	int fd = STDOUT_FILENO;
	if (a->output) {
		fd = ps_open_output(a->output, err);
		if (fd < 0)
			return fd;
		l->out_fd = fd;
	}
	ps_out_init(&l->out, fd);
	return 0;
}

int ps_loop_make_sinks(struct ps_loop *l, const char *heatmap, struct ps_err *err)
{
	const struct ps_watch_args *a = l->a;
	struct ps_sink *s = NULL;

	if (heatmap && strcmp(heatmap, "tui") == 0) {
		s = ps_tui_sink_new(l->out_fd >= 0 ? l->out_fd : STDOUT_FILENO, err);
		if (!s)
			return -err->code;
	} else if (heatmap) {
		s = ps_sink_heattext_new(&l->out);
	} else if (a->format == PS_OUT_JSON) {
		s = ps_sink_json_new(&l->out, a->quiet);
	} else if (a->format == PS_OUT_CSV) {
		s = ps_sink_csv_new(&l->out);
	} else {
		s = ps_sink_text_new(&l->out, a->quiet);
	}
	if (!s)
		return ps_errf(err, ENOMEM, "out of memory");
	l->sinks[l->nsinks++] = s;
	if (a->prom_file) {
		s = ps_sink_prom_new(a->prom_file, err);
		if (!s)
			return -err->code;
		l->sinks[l->nsinks++] = s;
	}
	return 0;
}

/* ---- engaging ------------------------------------------------------------------ */

static void report_huge(struct ps_tracker *tr, pid_t pid);
static void workload_end(struct ps_loop *l, enum ps_end_reason reason, const char *detail);

/* The session's source: tracker tr of process t, with --compare soft-dirty
 * t's soft-dirty bits beside. */
static void session_source(struct ps_loop *l, struct ps_tracker *tr, struct ps_target *t,
                           struct ps_session_source *src)
{
	ps_tracker_set_recollapse(tr, !l->a->no_recollapse);
	if (l->a->sample_fraction > 0) {
		if (!l->sample_seeded) {
			l->sample_seed = l->a->have_seed ? l->a->sample_seed : ps_now_ns() ^ ((uint64_t)getpid() << 32);
			l->sample_seeded = true;
		}
		/* Out of memory leaves it exact; sample_apply() then fails the tick. */
		(void)ps_tracker_set_sample(tr, l->a->sample_fraction, l->sample_seed);
	}
	ps_tracker_source(tr, src);
	if (l->a->compare_soft_dirty)
		ps_softdirty_source(t, src);
}

/* n: the mappings engaged by an image's first snapshot; none is an error. */
static int engaged_some(struct ps_loop *l, int n, struct ps_err *err)
{
	if (n == 0)
		return ps_errf(err, ENOENT, "nothing in process %d could be tracked (%zu mappings refused)%s",
		               l->t.pid, ps_session_skipped(l->session), l->a->ranges.n ? "; check the -r ranges" : "");
	return n < 0 ? n : 0;
}

/* The running kernel's known bugs and quirks (ps_note_kernel_bugs), said
 * once per command when tracking has begun: a command that fails says
 * only why. */
static void note_kernel(struct ps_loop *l)
{
	struct ps_notes notes = { 0 };

	if (l->kernel_noted)
		return;
	l->kernel_noted = true;
	ps_note_kernel_bugs(&notes);
	ps_warn_notes(&notes);
}

/* A session on tracker tr of process t (a single process or a member),
 * with --compare soft-dirty its soft-dirty bits beside. NULL: no memory. */
static struct ps_session *new_session(struct ps_loop *l, struct ps_tracker *tr, struct ps_target *t)
{
	struct ps_session_source src;
	struct ps_session_opts so = {
		.pid = t->pid,
		.command = t->comm,
		.interval_ns = l->a->interval_ns,
		.accumulate = l->a->accumulate,
		.compare_soft_dirty = l->a->compare_soft_dirty,
	};
	session_source(l, tr, t, &src);
	return ps_session_new(&src, &so);
}

/* The session on the tracker, and its first snapshot: every selected
 * mapping engaged. */
static int begin_session(struct ps_loop *l, struct ps_tracker *tr, struct ps_err *err)
{
	l->session = new_session(l, tr, &l->t);
	if (!l->session)
		return ps_errf(err, ENOMEM, "out of memory");
	int r = engaged_some(l, ps_session_begin(l->session, err), err);
	if (r >= 0)
		note_kernel(l);
	return r;
}

void ps_warn_unmatched(const struct ps_target *t, const struct ps_rangespec *specs, size_t nspecs)
{
	struct ps_maps maps = { 0 };
	struct ps_notes notes = { 0 };
	struct ps_err err = { 0 };

	if (!nspecs || ps_maps_read(t->mmfd, &maps, &err) < 0)
		return;
	ps_rangespec_note_unmatched(specs, nspecs, &maps, &notes);
	ps_maps_free(&maps);
	ps_warn_notes(&notes);
}

/* A failure to VERB sink i's output in err, naming the file: "cannot
 * write the report to FILE: ..." (-o), "cannot write --prom-file PATH:
 * ...", or "cannot VERB the report: ..." (standard output). */
static int sink_failed(const struct ps_loop *l, size_t i, int r, const char *verb, struct ps_err *err)
{
	if (i > 0 && l->a->prom_file)
		return ps_errf(err, -r, "cannot write --prom-file %s: %s", l->a->prom_file, strerror(-r));
	if (l->a->output)
		return ps_errf(err, -r, "cannot write the report to %s: %s", l->a->output, strerror(-r));
	return ps_errf(err, -r, "cannot %s the report: %s", verb, strerror(-r));
}

int ps_loop_async_output(struct ps_loop *l, struct ps_err *err)
{
	const char *hm = l->a->heatmap;

	if (l->aout || (hm && strcmp(hm, "tui") == 0))
		return 0; /* the terminal heatmap writes to its terminal itself */
	/* What was formatted before goes out first, synchronously. */
	int r = ps_out_flush(&l->out);
	if (r < 0 && r != -EPIPE)
		return sink_failed(l, 0, r, "write", err);
	size_t cap = 0;
#ifdef PAGESCAN_TEST_HOOKS
	/* Test twin only (cmake/TestHooks.cmake): a small cap, in bytes, for
	 * the test of a reader that stops reading (run.bats). */
	const char *c = getenv("PAGESCAN_TEST_OUTPUT_CAP");
	long long v;
	if (c && ps_parse_int(c, 1, 1LL << 40, &v, NULL) == 0)
		cap = (size_t)v;
#endif
	l->aout = ps_asyncout_start(l->out.fd, cap);
	if (!l->aout)
		return ps_errf(err, errno, "cannot start the output's writer thread: %s", strerror(errno));
	l->out.write = ps_asyncout_write;
	l->out.write_ctx = l->aout;
	return 0;
}

int ps_loop_attach(struct ps_loop *l, struct ps_err *err)
{
	struct ps_notes notes = { 0 };
	l->tr = ps_engage_attach(&l->t, l->a->ranges.v, l->a->ranges.n, &notes, err);
	ps_warn_notes(&notes);
	if (!l->a->ranges_internal)
		ps_warn_unmatched(&l->t, l->a->ranges.v, l->a->ranges.n);
	if (!l->tr)
		return -err->code;
	return begin_session(l, l->tr, err);
}

static int armed(void *ctx, struct ps_tracker *tr, struct ps_err *err)
{
	struct ps_loop *l = ctx;
	l->tr = tr;
	return begin_session(l, tr, err);
}

int ps_loop_launched(struct ps_loop *l, struct ps_err *err)
{
	if (l->launch->follow_forks) {
		l->follow_forks = true;
		l->workload = ps_workload_new(l->a->accumulate);
		if (!l->workload)
			return ps_errf(err, ENOMEM, "out of memory");
		l->cmd_id = ++l->next_id;
	}
	struct ps_tracker *tr = ps_engage_launched(l->launch, l->launch->child, &l->t, l->a->ranges.v,
	                                           l->a->ranges.n, armed, l, err);
	if (!tr) {
		l->tr = NULL; /* freed by the failing engage */
		return -err->code;
	}
	l->tr = tr;
	l->tracked_total = 1;
	l->cmd_running = true; /* armed and its start record out: it runs */
	return 0;
}

/* run: the command exec'd, and the new image is engaged (armed, still
 * stopped): the session goes on with it. */
static int exec_armed(void *ctx, struct ps_tracker *tr, struct ps_err *err)
{
	struct ps_loop *l = ctx;
	struct ps_session_source src;
	session_source(l, tr, &l->t, &src);
	return engaged_some(l, ps_session_exec(l->session, &src, l->t.pid, l->t.comm, err), err);
}

/* run: the command, stopped at an exec before the new program's first
 * instruction. The old image's tracking went with its address space (what
 * it wrote since the last tick is lost: docs/remote-syscalls.md#following-exec);
 * engage the new one the way the first was. 1 when engaged; when it cannot
 * be, the watch ends (target-exec, with the reason) and the command runs on
 * untracked. */
static int follow_exec(struct ps_loop *l)
{
	struct ps_notes notes = { 0 };
	struct ps_err e = { 0 };

	ps_tracker_free(l->tr); /* nothing to disarm: its address space is gone */
	l->tr = NULL;
	ps_target_close(&l->t);
	l->t = (struct ps_target)PS_TARGET_INIT;
	l->tr = ps_engage_launched(l->launch, l->launch->child, &l->t, l->a->ranges.v, l->a->ranges.n, exec_armed, l,
	                           &e);
	if (l->tr) {
		if (l->workload) {
			/* A new program: its pages are new ones of the workload
			 * (the old image's stay counted). */
			ps_workload_drop(l->workload, l->cmd_id);
			l->cmd_id = ++l->next_id;
		}
		l->tracked_total++;
		return 1;
	}
	ps_note(&notes, "cannot track process %d after its exec (%s): %s; it runs on untracked", l->launch->child,
	        l->t.comm[0] ? l->t.comm : "?", e.msg);
	ps_warn_notes(&notes);
	ps_loop_end(l, PS_END_TARGET_EXEC, e.msg);
	return 0;
}

/* ---- records to the sinks ---------------------------------------------------------- */

/* What sink i answered: 1 when the reader went away (-EPIPE, `| head`),
 * which ends the watch quietly; -errno on a failure ("cannot VERB the
 * report: ...", naming the file, sink_failed()); else 0. */
static int sink_answer(struct ps_loop *l, size_t i, int r, const char *verb, struct ps_err *err)
{
	if (r == -EPIPE) {
		l->ended = l->epipe = true;
		return 1;
	}
	if (r == -ENOBUFS && l->aout && ps_asyncout_refused(l->aout)) {
		/* run: the reader has stopped reading (the queue is over its cap).
		 * Waiting for it would hold up the command at its next ptrace
		 * stop: end as on EPIPE (the command runs on untracked), and
		 * cmd_run says why. */
		l->stalled_bytes = ps_asyncout_pending(l->aout);
		l->ended = l->epipe = l->stalled = true;
		return 1;
	}
	if (r < 0 && l->cmd_running) {
		/* run: the command is not to pay for its report (a full disk,
		 * the writer's error): end as on EPIPE, the command runs on
		 * untracked, and cmd_run reports it after its end. */
		if (!l->late_err.code)
			sink_failed(l, i, r, verb, &l->late_err);
		l->ended = l->epipe = true;
		return 1;
	}
	if (r < 0)
		return sink_failed(l, i, r, verb, err);
	return 0;
}

/* A hugetlb mapping engaged (MAP_HUGETLB memory reads "/anon_hugepage"):
 * the kernel write-protects it by huge page, so one store reports a whole
 * huge page written. Said once per watch (docs/memory-events.md). */
static void note_hugetlb(struct ps_loop *l, pid_t pid, const struct ps_span *v, size_t n, struct ps_notes *notes)
{
	for (size_t i = 0; i < n && !l->noted_hugetlb; i++) {
		if (!v[i].mapping || !strstr(v[i].mapping, "/anon_hugepage"))
			continue;
		l->noted_hugetlb = true;
		ps_note(notes, "process %d maps hugetlb memory (%s at 0x%llx): the kernel write-protects it by huge page, so one store reports its whole huge page (2 MiB or 1 GiB) written (docs/memory-events.md)",
		        (int)pid, v[i].mapping, (unsigned long long)v[i].start);
	}
}

static int start_sinks(struct ps_loop *l, struct ps_err *err)
{
	struct ps_watch_start ws;
	ps_session_start(l->session, &ws);
	ws.wp_fault_ns = l->wpcost.fault_ns;
	ws.wp_fault_calibrated = l->wpcost.calibrated;
	ws.max_overhead = l->budget.budget;
	ws.sample_fraction = l->a->sample_fraction;
	ws.sample_seed = l->sample_seed;
	struct ps_notes notes = { 0 };
	note_hugetlb(l, ws.pid, ws.engaged, ws.nengaged, &notes);
	ps_warn_notes(&notes);
	for (size_t i = 0; i < l->nsinks; i++) {
		int r = sink_answer(l, i, l->sinks[i]->start(l->sinks[i], &ws), "start", err);
		if (r)
			return r < 0 ? r : 0;
	}
	return 0;
}

/* What the harvest classified that needs saying, once per watch
 * (docs/memory-events.md). */
static void note_counts(struct ps_loop *l, pid_t pid, const struct ps_harvest_counts *c, struct ps_notes *notes)
{
	if (c->ksm_merged_pages && !l->noted_ksm) {
		l->noted_ksm = true;
		ps_note(notes, "KSM merged %llu page%s of process %d: a merge replaces the page without the write-protect bit, so the kernel reports it written; pagescan leaves merged pages out (counted as ksm_merged_pages), and a later write to one is reported (docs/memory-events.md)",
		        (unsigned long long)c->ksm_merged_pages, c->ksm_merged_pages == 1 ? "" : "s", (int)pid);
	}
	if (c->thp_filled_pages && !l->noted_thp) {
		l->noted_thp = true;
		ps_note(notes, "writes into empty %llu MiB ranges of process %d allocated whole huge pages (%llu pages): the kernel does not say which %llu KiB pages were stored to, so pagescan reports them all written (counted as thp_filled_pages) and arms those mappings' holes from now on (docs/memory-events.md)",
		        (unsigned long long)(PS_PMD_SIZE >> 20), (int)pid, (unsigned long long)c->thp_filled_pages,
		        (unsigned long long)(PS_PAGE_SIZE >> 10));
	}
}

/* The timer: the first expiry after ns, then every ns. */
static int set_timer(int fd, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
	struct itimerspec its = { .it_interval = ts, .it_value = ts };
	return timerfd_settime(fd, 0, &its, NULL);
}

/* The observer effect before the first interval: the fault cost on this
 * machine, the budget, the target's counters (docs/overhead.md). */
static void overhead_begin(struct ps_loop *l)
{
	ps_wpcost_calibrate(&l->wpcost);
	ps_budget_init(&l->budget, l->a->max_overhead, l->a->interval_ns);
#ifdef PAGESCAN_TEST_HOOKS
	/* Test twin only (cmake/TestHooks.cmake): the longest stretch in ms
	 * instead of 60 s, for the test of a budget that cannot be kept
	 * (overhead.bats) without a minute's wait. */
	const char *m = getenv("PAGESCAN_TEST_BUDGET_MAX_MS");
	long long ms;
	if (m && ps_parse_int(m, 1, 60000, &ms, NULL) == 0 && (uint64_t)ms * 1000000ull > l->budget.base_ns)
		l->budget.max_ns = (uint64_t)ms * 1000000ull;
#endif
	l->tick_s = ps_wpcost_tick_s();
	l->overhead = (struct ps_overhead_summary){ .fault_ns = l->wpcost.fault_ns,
	                                            .calibrated = l->wpcost.calibrated,
	                                            .budget = l->budget.budget, .cpu_share = -1 };
	ps_wpcost_sample(&l->t, &l->last_stat);
}

/* The estimate of iv from the target's counters before and after it, then
 * the next interval's length (the timer re-armed when the budget changes it). */
static int overhead_apply(struct ps_loop *l, struct ps_interval *iv, const struct ps_proc_sample *before,
                          const struct ps_proc_sample *after, struct ps_err *err)
{
	uint64_t fresh = iv->written_pages;
	if (l->a->accumulate) {
		/* No re-protection: only the pages new to the set faulted. */
		fresh = iv->written_pages > l->prev_written ? iv->written_pages - l->prev_written : 0;
		l->prev_written = iv->written_pages;
	}
	struct ps_overhead_in in = { .elapsed_s = iv->elapsed_s, .written_pages = fresh,
	                             .fault_ns = l->wpcost.fault_ns, .before = *before, .after = *after,
	                             .tick_s = l->tick_s };
	ps_overhead_estimate(&in, &iv->overhead);
	uint64_t asked = l->budget.cur_ns;
	iv->interval_s = (double)asked / 1e9;
	iv->stretched = asked > l->budget.base_ns;
	uint64_t next = ps_budget_next(&l->budget, &iv->overhead); /* sets over_budget */
	ps_overhead_add(&l->overhead, &iv->overhead, iv->elapsed_s, asked, l->budget.base_ns);
	if (iv->overhead.over_budget && l->overhead.over_budget == 1) {
		/* once: the budget cannot be kept (docs/overhead.md) */
		struct ps_notes notes = { 0 };
		char cpu[48] = ""; /* its share of the target's CPU, when known */
		if (iv->overhead.cpu_share >= 0)
			snprintf(cpu, sizeof(cpu), " (%.0f%% of its CPU)", iv->overhead.cpu_share * 100);
		ps_note(&notes, "the --max-overhead budget (%g%%) cannot be kept: the target lost ~%.0f%% of its time%s to write-protect faults in a %.1fs interval, the longest the budget stretches to; the interval stays there and every interval over the budget says so (over_budget). --sample 1/16 cuts the faults; --max-overhead off keeps -i",
		        l->budget.budget * 100, iv->overhead.share * 100,
		        cpu, (double)asked / 1e9);
		ps_warn_notes(&notes);
	}
	if (next != asked && l->tfd >= 0 && set_timer(l->tfd, next) < 0)
		return ps_errf(err, errno, "cannot set the timer: %s", strerror(errno));
	return 0;
}

/* This interval's estimate, then the next interval's length: when the budget
 * changes it, the timer is re-armed from now (the session measures elapsed_s
 * itself, and the next harvest gets every page written meanwhile). */
static int overhead_tick(struct ps_loop *l, struct ps_interval *iv, struct ps_err *err)
{
	struct ps_proc_sample now;
	ps_wpcost_sample(&l->t, &now);
	struct ps_proc_sample before = l->last_stat;
	l->last_stat = now;
	return overhead_apply(l, iv, &before, &now, err);
}

static void add_counts(struct ps_harvest_counts *to, const struct ps_harvest_counts *c);

/* run following forks, one process so far: its record goes to the workload
 * too (nothing is written from it), so that the totals are whole once a
 * second process comes. */
static int feed_workload(struct ps_loop *l, const struct ps_interval *iv, struct ps_err *err)
{
	struct ps_workload_member wm;
	struct ps_workload_totals t;
	ps_workload_begin_tick(l->workload);
	if (ps_workload_add(l->workload, l->cmd_id, iv, &wm) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	ps_workload_end_tick(l->workload, &t);
	l->wseq = iv->seq;
	l->prev_wss = t.wss_pages;
	l->w_last_ns = ps_now_ns();
	if (l->a->accumulate)
		l->wcounts = iv->counts;
	else
		add_counts(&l->wcounts, &iv->counts);
	if (iv->soft_dirty)
		ps_sd_counts_add(&l->wsd_end.c, &iv->soft_dirty->c);
	if (ps_samples_add(&l->wrates, iv->rate_pages_s) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	return 0;
}

/* --sample: this interval's estimate from the sample the tracker read
 * (model/sample.h): written_pages, rate_pages_s and wss_pages become
 * estimates; the pages counted exactly besides the sample (already written
 * in mappings engaged in this interval) are added as they are. After
 * overhead_tick: only the sampled pages faulted. */
static int sample_apply(struct ps_loop *l, struct ps_interval *iv, struct ps_err *err)
{
	const struct ps_sampler *sm = l->tr ? ps_tracker_sampler(l->tr) : NULL;
	if (!sm)
		return ps_errf(err, ENOMEM, "out of memory");
	struct ps_sampler_result sr;
	struct ps_sample_est est;
	ps_sampler_last(sm, &sr);
	ps_sample_estimate(sr.blocks, sr.nblocks, sr.population_pages, sr.population_blocks, sr.fraction, &est);
	uint64_t seen = iv->written_pages;
	double extra = seen > est.seen_written ? (double)(seen - est.seen_written) : 0;
	double w = extra, lo = extra, hi = extra;
	if (est.valid) {
		w += est.written;
		lo += est.lo;
		hi += est.hi;
	} else {
		hi += (double)(sr.population_pages - est.seen_written); /* no block drawn: anything */
	}
	struct ps_sample_iv *s = &iv->sample;
	*s = (struct ps_sample_iv){ .estimated = true, .fraction = sr.fraction, .block_pages = sr.block_pages,
	                            .sampled_pages = est.sampled_pages, .seen_written = seen,
	                            .written_lo = lo, .written_hi = hi, .wss_seen = iv->wss_pages };
	iv->written_pages = (uint64_t)llround(w);
	if (iv->elapsed_s > 0) {
		iv->rate_pages_s = w / iv->elapsed_s;
		s->rate_lo = lo / iv->elapsed_s;
		s->rate_hi = hi / iv->elapsed_s;
	}
	l->sample_k++;
	ps_sample_wss_bounds(iv->wss_pages, l->sample_k, sr.fraction, iv->tracked_pages, &s->wss_lo, &s->wss_hi);
	iv->wss_pages = (uint64_t)llround(s->wss_lo);
	l->sample_last = *s;
	if (ps_samples_add(&l->sample_rates, iv->rate_pages_s) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	return 0;
}

/* One interval: harvest, follow the mappings, report. */
static int tick(struct ps_loop *l, struct ps_err *err)
{
	struct ps_interval iv;
	struct ps_notes notes = { 0 };
	int r = ps_session_tick(l->session, &iv, err);
	ps_tracker_take_notes(l->tr, &notes); /* the map-count limit */
	if (r == 0) {
		note_counts(l, l->t.pid, &iv.counts, &notes);
		note_hugetlb(l, l->t.pid, iv.engaged, iv.nengaged, &notes);
		note_hugetlb(l, l->t.pid, iv.exec_engaged, iv.nexec_engaged, &notes);
	}
	ps_warn_notes(&notes);
	if (r < 0)
		return r;
	r = overhead_tick(l, &iv, err);
	if (r < 0)
		return r;
	if (l->a->sample_fraction > 0) {
		r = sample_apply(l, &iv, err);
		if (r < 0)
			return r;
	}
	if (l->workload) {
		r = feed_workload(l, &iv, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->nsinks; i++) {
		r = sink_answer(l, i, l->sinks[i]->interval(l->sinks[i], &iv), "write", err);
		if (r)
			return r < 0 ? r : 0;
	}
	return 0;
}

void ps_loop_end(struct ps_loop *l, enum ps_end_reason reason, const char *detail)
{
	struct ps_watch_end e;

	if (l->ended)
		return;
	l->ended = true;
	if (l->aout)
		ps_asyncout_uncap(l->aout); /* tracking is over: the end record is never refused */
	if (l->multi && !l->epipe) {
		workload_end(l, reason, detail);
		return;
	}
	if (l->epipe || !l->session)
		return;
	int status = l->launch && l->launch->exited ? l->launch->exit_status : -1;
	ps_session_end(l->session, reason, detail, status, &e);
	e.overhead = l->overhead;
	if (l->a->sample_fraction > 0) {
		/* estimates: the rates and the working set of the sampled intervals */
		e.sample = l->sample_last;
		e.sample.estimated = true;
		e.sample.fraction = l->a->sample_fraction;
		if (l->sample_k) {
			e.wss_pages = (uint64_t)llround(l->sample_last.wss_lo);
			ps_summarize(&l->sample_rates, &e.rate);
		}
	}
	for (size_t i = 0; i < l->nsinks; i++)
		l->sinks[i]->end(l->sinks[i], &e);
}

/* ---- a workload ------------------------------------------------------------------- */

static struct ps_member *member_find(const struct ps_loop *l, pid_t pid)
{
	for (size_t i = 0; i < l->nm; i++)
		if (l->m[i]->t.pid == pid)
			return l->m[i];
	return NULL;
}

static double workload_time_s(const struct ps_loop *l)
{
	return l->w_t0_ns ? (double)(ps_now_ns() - l->w_t0_ns) / 1e9 : 0;
}

/* Every sink that takes events gets ev. */
static int send_event(struct ps_loop *l, const struct ps_process_event *ev, struct ps_err *err)
{
	for (size_t i = 0; i < l->nsinks; i++) {
		if (!l->sinks[i]->event)
			continue;
		int r = sink_answer(l, i, l->sinks[i]->event(l->sinks[i], ev), "write", err);
		if (r)
			return r < 0 ? r : 0;
	}
	return 0;
}

/* pid is not tracked, for reason (warn: say so on standard error too). Its
 * event goes out now, or after the start record. */
static int skip_process(struct ps_loop *l, pid_t pid, const char *comm, const char *reason, bool warn,
                        struct ps_err *err)
{
	if (ps_pids_add(&l->done, pid) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	if (warn)
		ps_warn("process %d (%s) is not tracked: %s", (int)pid, comm && comm[0] ? comm : "?", reason);
	if (!l->w_t0_ns) {
		if (ps_grow((void **)&l->pending, &l->pending_cap, l->npending + 1, sizeof(*l->pending)) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		struct ps_pending_skip *p = &l->pending[l->npending++];
		p->pid = pid;
		snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "");
		snprintf(p->reason, sizeof(p->reason), "%s", reason);
		return 0;
	}
	struct ps_process_event ev = { .kind = PS_PROCESS_SKIPPED, .pid = pid, .command = comm ? comm : "",
	                               .reason = reason, .time_s = workload_time_s(l) };
	return send_event(l, &ev, err);
}

/* /proc/PID/comm of a process not opened, for the messages. */
static void comm_of(pid_t pid, char *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	buf[0] = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)n, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static void member_free(struct ps_member *m, bool disarm)
{
	if (disarm && m->tr) {
		ps_tracker_disarm(m->tr);
		report_huge(m->tr, m->t.pid);
	}
	ps_session_free(m->session);
	ps_tracker_free(m->tr);
	if (!m->borrowed)
		ps_target_close(&m->t);
	free(m);
}

static int member_start_event(struct ps_loop *l, const struct ps_member *m, struct ps_err *err)
{
	struct ps_watch_start ws;
	struct ps_notes notes = { 0 };
	ps_session_start(m->session, &ws);
	note_hugetlb(l, m->t.pid, ws.engaged, ws.nengaged, &notes);
	ps_warn_notes(&notes);
	struct ps_process_event ev = { .kind = PS_PROCESS_START, .pid = m->t.pid, .command = m->t.comm,
	                               .time_s = workload_time_s(l), .tracked_pages = ws.tracked_pages,
	                               .engaged = ws.engaged, .nengaged = ws.nengaged,
	                               .skipped = ws.skipped, .nskipped = ws.nskipped };
	return send_event(l, &ev, err);
}

/* A process past --max-processes: its name in comm, the reason in why,
 * counted, and one warning for the watch ("WHO more than N processes ...:
 * process P (NAME) and any more FATE"). */
static void over_limit(struct ps_loop *l, pid_t pid, const char *who, const char *fate, char *comm, size_t ncomm,
                       char *why, size_t nwhy)
{
	comm_of(pid, comm, ncomm);
	l->untracked++;
	snprintf(why, nwhy, "over --max-processes %llu", (unsigned long long)l->a->max_processes);
	if (!l->noted_limit)
		ps_warn("%s more than %llu processes (--max-processes): process %d (%s) and any more %s (the output "
		        "lists them); raise --max-processes to track them",
		        who, (unsigned long long)l->a->max_processes, (int)pid, comm[0] ? comm : "?", fate);
	l->noted_limit = true;
}

/* pid is not tracked for want of descriptors (the reason in e): counted,
 * listed, and one warning for the watch. */
static int skip_nofile(struct ps_loop *l, pid_t pid, const char *comm, const struct ps_err *e, struct ps_err *err)
{
	if (!l->noted_nofile)
		ps_warn("process %d (%s) is not tracked, nor others while this lasts (the output lists them): %s", (int)pid,
		        comm[0] ? comm : "?", e->msg);
	l->noted_nofile = true;
	l->untracked++;
	return skip_process(l, pid, comm, e->msg, false, err);
}

/* Has pagescan no room for one more process's descriptors? Then why (out of
 * its own descriptors, or the system's) in e, naming the fix. */
static bool no_fd_room(struct ps_err *e)
{
	uint64_t lim;
	int why = ps_nofile_room(PS_NOFILE_RESERVE, &lim);

	if (why == EMFILE)
		ps_errf(e, EMFILE,
		        "pagescan is near its limit of %llu open files (RLIMIT_NOFILE; it keeps about 7 per tracked "
		        "process): raise its hard limit (ulimit -Hn, LimitNOFILE= in a service) or lower --max-processes",
		        (unsigned long long)lim);
	else if (why == ENFILE)
		ps_errf(e, ENFILE, "the system's file table is full (sysctl fs.file-max): close files or raise it");
	return why != 0;
}

/* Track pid as a new member: 1 when it is, 0 when it is skipped (said, or
 * for a process that keeps calling exec as pagescan attaches: nothing said,
 * found again by the next tick's discovery), negative on a failure that
 * ends the watch. */
static int member_engage(struct ps_loop *l, pid_t pid, struct ps_err *err)
{
	char comm[64], why[300];
	struct ps_err e = { 0 };
	struct ps_notes notes = { 0 };

	if (ps_pids_has(&l->done, pid) || member_find(l, pid))
		return 0;
	if (l->nm >= l->a->max_processes) {
		over_limit(l, pid, "the workload has", "are not tracked", comm, sizeof(comm), why, sizeof(why));
		return skip_process(l, pid, comm, why, false, err);
	}
	if (no_fd_room(&e)) {
		comm_of(pid, comm, sizeof(comm));
		return skip_nofile(l, pid, comm, &e, err);
	}
	struct ps_member *m = calloc(1, sizeof(*m));
	// NOLINTNEXTLINE(bugprone-sizeof-expression): array of pointers
	if (!m || ps_grow((void **)&l->m, &l->mcap, l->nm + 1, sizeof(*l->m)) < 0) {
		free(m);
		return ps_errf(err, ENOMEM, "out of memory");
	}
	m->t = (struct ps_target)PS_TARGET_INIT;
	if (ps_target_open(&m->t, pid, &e) < 0)
		goto skip;
	for (size_t i = 0; i < l->nm; i++) {
		if (ps_proc_same_mm(pid, l->m[i]->t.pid) == 1) {
			snprintf(why, sizeof(why), "shares its address space with process %d (CLONE_VM), tracked once as %d",
			         (int)l->m[i]->t.pid, (int)l->m[i]->t.pid);
			snprintf(comm, sizeof(comm), "%s", m->t.comm);
			member_free(m, false);
			return skip_process(l, pid, comm, why, false, err);
		}
	}
	m->tr = ps_engage_attach(&m->t, l->a->ranges.v, l->a->ranges.n, &notes, &e);
	/* This process's own notes (a fork during the injection); the
	 * kernel's come once, when the first process is tracked. */
	ps_warn_notes(&notes);
	if (!l->tracked_total)
		ps_warn_unmatched(&m->t, l->a->ranges.v, l->a->ranges.n);
	if (!m->tr)
		goto skip;
	m->session = new_session(l, m->tr, &m->t);
	if (!m->session) {
		member_free(m, true);
		return ps_errf(err, ENOMEM, "out of memory");
	}
	int n = ps_session_begin(m->session, &e);
	if (n <= 0) {
		if (n == 0)
			ps_errf(&e, ENOENT, "nothing in it could be tracked (%zu mappings refused)",
			        ps_session_skipped(m->session));
		goto skip;
	}
	m->id = ++l->next_id;
	ps_wpcost_sample(&m->t, &m->last_stat);
	ps_session_clock_start(m->session);
	l->m[l->nm++] = m;
	l->tracked_total++;
	note_kernel(l);
	if (l->w_t0_ns)
		return member_start_event(l, m, err) < 0 ? -err->code : 1;
	return 1;
skip:;
	/* Out of descriptors half way (the system's, or a burst): said the same way. */
	bool nofile = (e.code == EMFILE || e.code == ENFILE) && no_fd_room(&e);
	/* Still exec'ing after ps_engage_attach()'s tries, or exec'd during the
	 * injection or the arming (its address space gone, the process alive):
	 * not done with, the next tick's discovery finds its new program. */
	bool execed = e.code == PS_EEXECED || (e.code == ESRCH && ps_target_exiting(&m->t) == 0);
	snprintf(comm, sizeof(comm), "%s", m->t.comm);
	if (!comm[0])
		comm_of(pid, comm, sizeof(comm));
	member_free(m, true);
	if (nofile)
		return skip_nofile(l, pid, comm, &e, err);
	if (execed)
		return 0;
	if (e.code == ENOMEM)
		return ps_errf(err, ENOMEM, "out of memory");
	/* One found by discovery (during the watch, or a descendant or cgroup
	 * member at its start) that exited before it could be engaged (a
	 * short-lived process, a zombie not reaped yet) is only listed: it has
	 * nothing to track. A PID given that is gone is worth a warning. */
	bool given = false;
	for (size_t i = 0; i < l->a->npids; i++)
		given = given || l->a->pids[i] == pid;
	bool gone = e.code == ESRCH && (l->w_t0_ns || !given);
	if (!gone)
		l->untracked++;
	return skip_process(l, pid, comm, e.msg[0] ? e.msg : strerror(e.code), !gone, err);
}

/* The processes the workload has now, into l->found. */
static int discover(struct ps_loop *l, struct ps_err *err)
{
	const struct ps_watch_args *a = l->a;
	size_t bound = a->max_processes * 4 + 64; /* a fork bomb: bounded work per tick */
	l->found.n = 0;
	if (a->cgroup)
		return ps_cgroup_procs(a->cgroup, &l->found, err);
	if (!a->tree) {
		for (size_t i = 0; i < a->npids; i++)
			if (ps_pids_add(&l->found, a->pids[i]) < 0)
				return ps_errf(err, ENOMEM, "out of memory");
		return 0;
	}
	/* The roots and every member: a member whose parent exited (now a
	 * child of init or a subreaper) still brings its own children. */
	struct ps_pids roots = { 0 };
	int r = 0;
	for (size_t i = 0; i < a->npids && r == 0; i++)
		r = ps_pids_add(&roots, a->pids[i]);
	for (size_t i = 0; i < l->nm && r == 0; i++)
		r = ps_pids_add(&roots, l->m[i]->t.pid);
	if (r == 0)
		r = ps_proc_descendants(roots.v, roots.n, bound, &l->found);
	ps_pids_free(&roots);
	return r < 0 ? ps_errf(err, ENOMEM, "out of memory") : 0;
}

/* Engage what discovery found that is not tracked yet. */
static int engage_found(struct ps_loop *l, struct ps_err *err)
{
	for (size_t i = 0; i < l->found.n && !l->ended; i++) {
		int r = member_engage(l, l->found.v[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int ps_loop_workload(struct ps_loop *l, struct ps_err *err)
{
	const struct ps_watch_args *a = l->a;

	l->multi = true;
	l->workload = ps_workload_new(a->accumulate);
	if (!l->workload)
		return ps_errf(err, ENOMEM, "out of memory");
	if (a->cgroup && ps_cgroup_check(a->cgroup, err) < 0)
		return -err->code;
	int r = discover(l, err);
	if (r < 0)
		return r;
	if (!l->found.n)
		return ps_errf(err, ENOENT, "the cgroup %s has no process: start the workload first", a->cgroup);
	r = engage_found(l, err);
	if (r < 0)
		return r;
	if (!l->nm)
		return ps_errf(err, ESRCH, "none of the %zu processes could be tracked (the warnings say why)",
		               l->found.n);
	return 0;
}

/* The start record of a workload, and the events of its first processes. */
static int workload_start(struct ps_loop *l, struct ps_err *err)
{
	const struct ps_member *first = l->m[0];
	uint64_t tracked = 0;
	for (size_t i = 0; i < l->nm; i++) {
		struct ps_watch_start one;
		ps_session_start(l->m[i]->session, &one);
		tracked += one.tracked_pages;
	}
	struct ps_watch_start ws = {
		.pid = first->t.pid, .command = first->t.comm, .interval_ns = l->a->interval_ns,
		.accumulate = l->a->accumulate, .tracked_pages = tracked,
		.wp_fault_ns = l->wpcost.fault_ns, .wp_fault_calibrated = l->wpcost.calibrated,
		.max_overhead = l->budget.budget,
		.workload = l->a->cgroup ? "cgroup" : l->a->tree ? "tree" : "pids",
		.cgroup = l->a->cgroup, .max_processes = l->a->max_processes, .nprocesses = l->nm,
		.soft_dirty = l->a->compare_soft_dirty,
	};
	for (size_t i = 0; i < l->nsinks; i++) {
		int r = sink_answer(l, i, l->sinks[i]->start(l->sinks[i], &ws), "start", err);
		if (r)
			return r < 0 ? r : 0;
	}
	l->w_t0_ns = l->w_last_ns = ps_now_ns();
	for (size_t i = 0; i < l->nm && !l->ended; i++) {
		int r = member_start_event(l, l->m[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->npending && !l->ended; i++) {
		struct ps_process_event ev = { .kind = PS_PROCESS_SKIPPED, .pid = l->pending[i].pid,
		                               .command = l->pending[i].comm, .reason = l->pending[i].reason };
		int r = send_event(l, &ev, err);
		if (r < 0)
			return r;
	}
	l->npending = 0;
	return 0;
}

static void add_counts(struct ps_harvest_counts *to, const struct ps_harvest_counts *c)
{
	to->discarded_pages += c->discarded_pages;
	to->zero_read_pages += c->zero_read_pages;
	to->ksm_merged_pages += c->ksm_merged_pages;
	to->thp_filled_pages += c->thp_filled_pages;
	to->remapped_pages += c->remapped_pages;
}

/* Add a member's counters to the workload's. */
static void sample_add(struct ps_proc_sample *to, const struct ps_proc_sample *s)
{
	to->cpu_ticks += s->cpu_ticks;
	to->stime_ticks += s->stime_ticks;
	to->minflt += s->minflt;
}

/* The observer effect of a workload's interval: the members' write faults
 * and counters summed (the share may exceed 1 with several processes
 * writing at once). */
static int workload_overhead(struct ps_loop *l, struct ps_interval *iv, struct ps_err *err)
{
	struct ps_proc_sample before = { .valid = true }, after = { .valid = true };
	for (size_t i = 0; i < l->nm; i++) {
		struct ps_member *m = l->m[i];
		struct ps_proc_sample now;
		ps_wpcost_sample(&m->t, &now);
		if (!now.valid || !m->last_stat.valid) {
			before.valid = after.valid = false;
		} else {
			sample_add(&before, &m->last_stat);
			sample_add(&after, &now);
		}
		m->last_stat = now;
	}
	return overhead_apply(l, iv, &before, &after, err);
}

/* A member whose record could not be taken leaves: its exit event (what
 * was harvested up to its last tick), then it is freed. */
static int member_leave(struct ps_loop *l, size_t i, const char *reason, bool disarm, struct ps_err *err)
{
	struct ps_member *m = l->m[i];
	struct ps_watch_end e;
	ps_session_end(m->session, PS_END_TARGET_EXIT, NULL, -1, &e);
	struct ps_process_event ev = { .kind = PS_PROCESS_EXIT, .pid = m->t.pid, .command = m->t.comm,
	                               .reason = reason, .time_s = workload_time_s(l), .intervals = e.intervals,
	                               .wss_pages = e.wss_pages };
	int r = send_event(l, &ev, err);
	/* One that exec'd or left the cgroup may come back as a new member
	 * (its new image; moved back). */
	bool final = strcmp(reason, "exit") == 0 || strcmp(reason, "error") == 0;
	if (final && ps_pids_add(&l->done, m->t.pid) < 0)
		r = ps_errf(err, ENOMEM, "out of memory");
	ps_workload_drop(l->workload, m->id);
	member_free(m, disarm);
	memmove(&l->m[i], &l->m[i + 1], (l->nm - i - 1) * sizeof(*l->m)); // NOLINT(bugprone-sizeof-expression): array of pointers
	l->nm--;
	return r;
}

static int workload_tick(struct ps_loop *l, struct ps_err *err)
{
	struct ps_notes notes = { 0 };
	struct ps_harvest_counts counts = { 0 };
	uint64_t harvest_us = 0, tracked = 0;
	size_t np = 0;
	int r;

	if (ps_grow((void **)&l->procs, &l->procs_cap, l->nm ? l->nm : 1, sizeof(*l->procs)) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	ps_workload_begin_tick(l->workload);
	l->wsd_iv.c = (struct ps_sd_counts){ 0 };
	for (size_t i = 0; i < l->nm; i++) {
		struct ps_member *m = l->m[i];
		struct ps_err e = { 0 };
		m->gone = NULL;
		/* run: one harvested at its exit stop has its last record. */
		r = m->final ? 0 : ps_session_tick(m->session, &m->iv, &e);
		if (m->final)
			m->gone = "exit";
		ps_tracker_take_notes(m->tr, &notes);
		if (r == -ENOMEM)
			return ps_errf(err, ENOMEM, "out of memory");
		if (r < 0) {
			/* Its address space is gone: it exited, or exec'd (watch
			 * engages the new image as a new member). */
			m->gone = r == -ESRCH ? (ps_target_exiting(&m->t) ? "exit" : "exec") : "error";
			if (r != -ESRCH)
				ps_warn("process %d (%s) is dropped: %s", (int)m->t.pid, m->t.comm, e.msg);
			continue;
		}
		note_counts(l, m->t.pid, &m->iv.counts, &notes);
		note_hugetlb(l, m->t.pid, m->iv.engaged, m->iv.nengaged, &notes);
		struct ps_workload_member wm;
		if (ps_workload_add(l->workload, m->id, &m->iv, &wm) < 0)
			return ps_errf(err, ENOMEM, "out of memory");
		add_counts(&counts, &m->iv.counts);
		if (m->iv.soft_dirty)
			ps_sd_counts_add(&l->wsd_iv.c, &m->iv.soft_dirty->c);
		harvest_us += m->iv.harvest_us;
		tracked += m->iv.tracked_pages;
		l->procs[np++] = (struct ps_process_interval){ .pid = m->t.pid, .command = m->t.comm,
		                                               .written_pages = wm.written_pages,
		                                               .shared_written_pages = wm.shared_written_pages,
		                                               .wss_pages = wm.wss_pages, .iv = &m->iv };
	}
	ps_warn_notes(&notes);
	struct ps_workload_totals t;
	ps_workload_end_tick(l->workload, &t);

	/* The members that left, before the interval they are not in (one
	 * harvested at its exit stop is in it: it leaves after it). */
	for (size_t i = l->nm; i-- > 0;) {
		if (!l->m[i]->gone || l->m[i]->final)
			continue;
		r = member_leave(l, i, l->m[i]->gone, strcmp(l->m[i]->gone, "error") == 0, err);
		if (r < 0)
			return r;
	}
	if (l->ended)
		return 0;

	uint64_t now = ps_now_ns();
	double elapsed = (double)(now - l->w_last_ns) / 1e9;
	uint64_t prev_wss = l->wseq ? l->prev_wss : 0;
	uint64_t fresh = l->a->accumulate ? t.wss_pages - prev_wss : t.written_pages;
	l->prev_wss = t.wss_pages;
	double rate = elapsed > 0 ? (double)fresh / elapsed : 0;
	l->w_last_ns = now;
	l->wseq++;
	if (l->a->accumulate)
		l->wcounts = counts;
	else
		add_counts(&l->wcounts, &counts);
	ps_sd_counts_add(&l->wsd_end.c, &l->wsd_iv.c);
	if (ps_samples_add(&l->wrates, rate) < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	struct ps_interval iv = {
		.seq = l->wseq,
		.time_s = (double)(now - l->w_t0_ns) / 1e9,
		.elapsed_s = elapsed,
		.written_pages = t.written_pages,
		.rate_pages_s = rate,
		.harvest_us = harvest_us,
		.tracked_pages = tracked,
		.wss_pages = t.wss_pages,
		.counts = counts,
		.processes = l->procs, .nprocesses = np,
		.shared_written_pages = t.shared_written_pages,
		.shared_wss_pages = t.shared_wss_pages,
		.soft_dirty = l->a->compare_soft_dirty ? &l->wsd_iv : NULL,
	};
	r = workload_overhead(l, &iv, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->nsinks; i++) {
		r = sink_answer(l, i, l->sinks[i]->interval(l->sinks[i], &iv), "write", err);
		if (r)
			return r < 0 ? r : 0;
	}

	for (size_t i = l->nm; i-- > 0 && !l->ended;) {
		if (!l->m[i]->final)
			continue;
		r = member_leave(l, i, "exit", false, err);
		if (r < 0)
			return r;
	}
	if (l->launch)
		return 0; /* run: new processes come from their fork stops */
	/* Who joined (and, for a cgroup, who left) since. */
	r = discover(l, err);
	if (r < 0)
		return r;
	if (l->a->cgroup) {
		for (size_t i = l->nm; i-- > 0;) {
			if (ps_pids_has(&l->found, l->m[i]->t.pid))
				continue;
			/* It may come back: then it is a new member. */
			r = member_leave(l, i, "left the cgroup", true, err);
			if (r < 0)
				return r;
		}
	}
	return engage_found(l, err);
}

static void workload_end(struct ps_loop *l, enum ps_end_reason reason, const char *detail)
{
	struct ps_watch_end e = {
		.reason = reason,
		.detail = detail,
		.intervals = l->wseq,
		.duration_s = l->w_t0_ns ? (double)(ps_now_ns() - l->w_t0_ns) / 1e9 : 0,
		.wss_pages = ps_workload_wss_pages(l->workload),
		.counts = l->wcounts,
		.accumulate = l->a->accumulate,
		.overhead = l->overhead,
		.workload = true,
		.processes = l->tracked_total,
		.untracked_processes = l->untracked,
		.soft_dirty = l->a->compare_soft_dirty ? &l->wsd_end : NULL,
	};
	if (l->launch && l->launch->exited) {
		e.has_exit_status = true;
		e.exit_status = l->launch->exit_status;
	}
	struct ps_workload_totals t;
	ps_workload_end_tick(l->workload, &t);
	e.shared_wss_pages = t.shared_wss_pages;
	ps_summarize(&l->wrates, &e.rate);
	for (size_t i = 0; i < l->nsinks; i++)
		l->sinks[i]->end(l->sinks[i], &e);
}

static void workload_free(struct ps_loop *l)
{
	for (size_t i = 0; i < l->nm; i++)
		member_free(l->m[i], false); /* disarmed by ps_loop_release */
	free(l->m);
	l->m = NULL;
	l->nm = 0;
	ps_workload_free(l->workload);
	l->workload = NULL;
	ps_pids_free(&l->done);
	ps_pids_free(&l->found);
	free(l->procs);
	ps_samples_free(&l->wrates);
	ps_samples_free(&l->sample_rates);
	free(l->pending);
	l->pending = NULL;
	l->npending = l->pending_cap = 0;
}

/* ---- the loop ------------------------------------------------------------------- */

static int arm_timers(struct ps_loop *l, struct ps_err *err)
{
	const struct ps_watch_args *a = l->a;
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->tfd < 0 || set_timer(l->tfd, a->interval_ns) < 0)
		return ps_errf(err, errno, "cannot create a timer: %s", strerror(errno));
	if (a->duration_ns) {
		struct itimerspec d = { .it_value = { .tv_sec = (time_t)(a->duration_ns / 1000000000ull),
		                                      .tv_nsec = (long)(a->duration_ns % 1000000000ull) } };
		l->dfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (l->dfd < 0 || timerfd_settime(l->dfd, 0, &d, NULL) < 0)
			return ps_errf(err, errno, "cannot create a timer: %s", strerror(errno));
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	l->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->sfd < 0)
		return ps_errf(err, errno, "cannot create a signalfd: %s", strerror(errno));
	return 0;
}

/* run, a workload: the command has left for good (its last record
 * harvested at its exit stop) but its exit status is not in yet. The end
 * record waits for it (on_member_event), so that it carries the status.
 * Still pagescan's tracee, it is known to be exiting without asking /proc:
 * PF_EXITING is set only once the command runs on from its exit stop, and a
 * tick before it is scheduled again ended the watch without the status
 * (one left untracked at an exec is released: it may run on for long). */
static bool cmd_exit_pending(const struct ps_loop *l)
{
	return l->launch && !l->launch->exited && ps_pids_has(&l->done, l->launch->child) &&
	       (l->launch->traced || ps_target_exiting(&l->t) == 1);
}

/* A tick that may end the watch: 1 when it did. */
static int tick_or_end(struct ps_loop *l, struct ps_err *err)
{
#ifdef PAGESCAN_TEST_HOOKS
	/* Test twin only (cmake/TestHooks.cmake): the Nth tick fails as an
	 * internal error would, for the test of run's way out (errors.bats). */
	static long long ticks;
	const char *f = getenv("PAGESCAN_TEST_TICK_FAIL");
	long long at;
	if (f && ps_parse_int(f, 1, 1LL << 40, &at, NULL) == 0 && ++ticks == at)
		return ps_errf(err, EIO, "tick %lld failed (PAGESCAN_TEST_TICK_FAIL)", at);
#endif
	if (l->multi) {
		if (!l->nm && cmd_exit_pending(l))
			return 0; /* no record until its exit status ends the watch */
		int r = workload_tick(l, err);
		if (r < 0 || l->ended)
			return r < 0 ? r : 1;
		if (!l->nm) {
			if (cmd_exit_pending(l))
				return 0;
			ps_loop_end(l, PS_END_TARGET_EXIT, "no process left");
			return 1;
		}
		if (l->a->count && l->wseq >= l->a->count) {
			ps_loop_end(l, PS_END_COUNT, NULL);
			return 1;
		}
		return 0;
	}
	int r = tick(l, err);
	if (r == -ESRCH) {
		/* The mm is gone: exit, or exec (the process lives on with a new mm). */
		bool exec = !ps_target_exiting(&l->t);
		if (l->launch && l->launch->traced)
			return 0; /* run: the exit stop, exec stop or exit status will end it */
		ps_loop_end(l, exec ? PS_END_TARGET_EXEC : PS_END_TARGET_EXIT, NULL);
		return 1;
	}
	if (r < 0)
		return r;
	if (l->a->count && ps_session_intervals(l->session) >= l->a->count) {
		ps_loop_end(l, PS_END_COUNT, NULL);
		return 1;
	}
	return 0;
}

/* ---- run following forks ------------------------------------------------------- */

/* The first process the command made is tracked: the watch becomes a
 * workload's, the command its first member (its session, tracker and
 * target go on; the workload has had its records from the start). Its start
 * event marks the switch in the output. */
static int become_workload(struct ps_loop *l, struct ps_err *err)
{
	struct ps_member *m = calloc(1, sizeof(*m));
	// NOLINTNEXTLINE(bugprone-sizeof-expression): array of pointers
	if (!m || ps_grow((void **)&l->m, &l->mcap, l->nm + 1, sizeof(*l->m)) < 0) {
		free(m);
		return ps_errf(err, ENOMEM, "out of memory");
	}
	m->id = l->cmd_id;
	m->t = l->t;
	m->borrowed = true;
	m->tr = l->tr;
	m->session = l->session;
	m->last_stat = l->last_stat;
	l->tr = NULL;
	l->session = NULL;
	l->m[l->nm++] = m;
	l->multi = true;
	l->wseq = ps_session_intervals(m->session);
	return member_start_event(l, m, err) < 0 ? -err->code : 0;
}

/* A member's first snapshot, while its process is still stopped. */
struct launched_member {
	struct ps_loop *l;
	struct ps_member *m;
};

static int member_armed(void *ctx, struct ps_tracker *tr, struct ps_err *err)
{
	struct launched_member *lm = ctx;
	struct ps_member *m = lm->m;
	m->tr = tr;
	m->session = new_session(lm->l, tr, &m->t);
	if (!m->session)
		return ps_errf(err, ENOMEM, "out of memory");
	int n = ps_session_begin(m->session, err);
	if (n == 0)
		return ps_errf(err, ENOENT, "nothing in it could be tracked (%zu mappings refused)",
		               ps_session_skipped(m->session));
	return n < 0 ? n : 0;
}

/* run: process pid (a new one the command or a member made, stopped before
 * its first instruction; or a new image after an exec) becomes a member.
 * 1 when it is (it runs on under trace), 0 when it is skipped (said; the
 * caller releases it), negative on a failure that ends the watch. */
static int member_engage_launched(struct ps_loop *l, pid_t pid, struct ps_err *err)
{
	char comm[64], why[300];
	struct ps_err e = { 0 };

	/* At once: one harvested at its exit stop is gone (it only waits for
	 * the next tick to be reported). */
	size_t now = l->multi ? 0 : 1;
	for (size_t i = 0; l->multi && i < l->nm; i++)
		now += !l->m[i]->final;
	if (now >= l->a->max_processes) {
		over_limit(l, pid, "the command made", "run on untracked", comm, sizeof(comm), why, sizeof(why));
		if (!l->multi) {
			int r = become_workload(l, err);
			if (r < 0)
				return r;
		}
		return skip_process(l, pid, comm, why, false, err);
	}
	if (no_fd_room(&e)) {
		comm_of(pid, comm, sizeof(comm));
		if (!l->multi) {
			int r = become_workload(l, err);
			if (r < 0)
				return r;
		}
		return skip_nofile(l, pid, comm, &e, err);
	}
	struct ps_member *m = calloc(1, sizeof(*m));
	if (!m)
		return ps_errf(err, ENOMEM, "out of memory");
	m->t = (struct ps_target)PS_TARGET_INIT;
	struct launched_member lm = { .l = l, .m = m };
	struct ps_tracker *tr = ps_engage_launched(l->launch, pid, &m->t, l->a->ranges.v, l->a->ranges.n,
	                                           member_armed, &lm, &e);
	if (!tr) {
		m->tr = NULL; /* freed by the failing engage */
		snprintf(comm, sizeof(comm), "%s", m->t.comm);
		if (!comm[0])
			comm_of(pid, comm, sizeof(comm));
		member_free(m, false);
		if (e.code == ENOMEM)
			return ps_errf(err, ENOMEM, "out of memory");
		if (e.code == ESRCH)
			return 0; /* gone already: nothing it wrote can be read */
		l->untracked++;
		if (!l->multi) {
			int r = become_workload(l, err);
			if (r < 0)
				return r;
		}
		return skip_process(l, pid, comm, e.msg[0] ? e.msg : strerror(e.code), true, err) < 0 ? -err->code : 0;
	}
	m->tr = tr;
	if (!l->multi) {
		int r = become_workload(l, err);
		if (r < 0) {
			member_free(m, true);
			return r;
		}
	}
	// NOLINTNEXTLINE(bugprone-sizeof-expression): array of pointers
	if (ps_grow((void **)&l->m, &l->mcap, l->nm + 1, sizeof(*l->m)) < 0) {
		member_free(m, true);
		return ps_errf(err, ENOMEM, "out of memory");
	}
	m->id = ++l->next_id;
	ps_wpcost_sample(&m->t, &m->last_stat);
	ps_session_clock_start(m->session);
	l->m[l->nm++] = m;
	l->tracked_total++;
	note_kernel(l);
	return member_start_event(l, m, err) < 0 ? -err->code : 1;
}

static size_t member_index(const struct ps_loop *l, pid_t pid)
{
	for (size_t i = 0; i < l->nm; i++)
		if (l->m[i]->t.pid == pid)
			return i;
	return (size_t)-1;
}

/* run, a workload: every member has exited (or is harvested at its exit
 * stop): the last interval now, and the end. */
static int maybe_all_gone(struct ps_loop *l, struct ps_err *err)
{
	for (size_t i = 0; i < l->nm; i++)
		if (!l->m[i]->final && ps_target_alive(&l->m[i]->t) == 1)
			return 0;
	return tick_or_end(l, err) < 0 ? -err->code : 0;
}

/* run, a workload: what a process did. */
static int on_member_event(struct ps_loop *l, enum ps_launch_event ev, pid_t pid, struct ps_err *err)
{
	size_t i = member_index(l, pid);
	struct ps_member *m = i == (size_t)-1 ? NULL : l->m[i];

	switch (ev) {
	case PS_LAUNCH_EXIT_STOP:
		/* Its mm still exists: its last record now, sent at the next tick. */
		if (m && !m->final && !l->ended) {
			struct ps_err e = { 0 };
			if (ps_session_tick(m->session, &m->iv, &e) == 0)
				m->final = true;
			else if (e.code == ENOMEM)
				return ps_errf(err, ENOMEM, "out of memory");
		}
		return 0;
	case PS_LAUNCH_EXEC:
		if (m) {
			int r = member_leave(l, i, "exec", false, err);
			if (r < 0)
				return r;
		}
		if (l->ended || l->a->no_follow_exec)
			return 0;
		return member_engage_launched(l, pid, err);
	case PS_LAUNCH_FORK:
		return l->ended ? 0 : member_engage_launched(l, pid, err);
	case PS_LAUNCH_EXITED:
		if (l->ended)
			return 0;
		if (!m) {
			/* The command's exit status, every member gone (tick_or_end
			 * waited for it). */
			if (pid == l->launch->child && !l->nm)
				ps_loop_end(l, PS_END_TARGET_EXIT, "no process left");
			return 0;
		}
		return maybe_all_gone(l, err);
	}
	return 0;
}

/* run: what the command (or a process it made) did. */
static int on_launch_event(void *ctx, enum ps_launch_event ev, pid_t pid, struct ps_err *err)
{
	struct ps_loop *l = ctx;

	if (l->multi)
		return on_member_event(l, ev, pid, err);
	if (pid != l->launch->child) {
		/* Following forks, the command alone tracked so far: a thread or
		 * a process sharing its address space (nothing to do), or a
		 * process to track. */
		if (l->ended || (ev != PS_LAUNCH_FORK && (ev != PS_LAUNCH_EXEC || l->a->no_follow_exec)))
			return 0;
		return member_engage_launched(l, pid, err);
	}
	switch (ev) {
	case PS_LAUNCH_EXIT_STOP:
		/* Its mm still exists: harvest the last interval now. */
		if (!l->ended) {
			int r = tick(l, err);
			if (r < 0 && r != -ESRCH)
				return r;
		}
		return 0;
	case PS_LAUNCH_EXEC:
		/* A new program image: the old mm and its tracking are gone. */
		if (!l->ended && !l->a->no_follow_exec)
			return follow_exec(l);
		ps_loop_end(l, PS_END_TARGET_EXEC, NULL);
		return 0;
	case PS_LAUNCH_EXITED:
		ps_loop_end(l, PS_END_TARGET_EXIT, NULL);
		return 0;
	case PS_LAUNCH_FORK:
		return 0;
	}
	return 0;
}

/* Signals read from the signalfd: SIGCHLD of a launched command, or the end. */
static int on_signals(struct ps_loop *l, struct ps_err *err)
{
	struct signalfd_siginfo si;
	while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (l->launch) {
				int r = ps_launch_reap(l->launch, on_launch_event, l, err);
				if (r < 0)
					return r;
			}
			continue;
		}
		if (l->launch && ps_launch_forward(l->launch, (int)si.ssi_signo, si.ssi_code, (pid_t)si.ssi_pid))
			continue;
		/* A last, partial interval, then the end record. */
		int r = tick_or_end(l, err);
		if (r < 0)
			return r;
		ps_loop_end(l, PS_END_SIGNAL, strsignal((int)si.ssi_signo));
		break;
	}
	return 0;
}

int ps_loop_run(struct ps_loop *l, struct ps_err *err)
{
	overhead_begin(l);
	int r = arm_timers(l, err);
	if (r < 0)
		return r;
	if (l->multi) {
		r = workload_start(l, err);
		if (r < 0)
			return r;
	} else {
		r = start_sinks(l, err);
		if (r < 0)
			return r;
		ps_session_clock_start(l->session);
		if (l->follow_forks)
			l->w_t0_ns = l->w_last_ns = ps_now_ns();
	}

	while (!l->ended) {
		struct pollfd p[5];
		int n = 0;
		p[n++] = (struct pollfd){ .fd = l->tfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = l->sfd, .events = POLLIN };
		int pid_i = -1, dur_i = -1, in_i = -1;
		if (!l->launch && !l->multi) {
			pid_i = n;
			p[n++] = (struct pollfd){ .fd = l->t.pidfd, .events = POLLIN };
		}
		if (l->dfd >= 0) {
			dur_i = n;
			p[n++] = (struct pollfd){ .fd = l->dfd, .events = POLLIN };
		}
		struct ps_sink *in = NULL;
		for (size_t i = 0; i < l->nsinks; i++)
			if (l->sinks[i]->input && l->sinks[i]->input_fd >= 0)
				in = l->sinks[i];
		if (in) {
			in_i = n;
			p[n++] = (struct pollfd){ .fd = in->input_fd, .events = POLLIN };
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ps_errf(err, errno, "poll failed: %s", strerror(errno));
		}
		if (p[1].revents & POLLIN) {
			r = on_signals(l, err);
			if (r < 0)
				return r;
			if (l->ended)
				break;
		}
		if (in_i >= 0 && (p[in_i].revents & (POLLIN | POLLHUP))) {
			if (in->input(in) == PS_SINK_QUIT) {
				ps_loop_end(l, PS_END_QUIT, NULL);
				break;
			}
		}
		if (dur_i >= 0 && (p[dur_i].revents & POLLIN)) {
			r = tick_or_end(l, err);
			if (r < 0)
				return r;
			ps_loop_end(l, PS_END_DURATION, NULL);
			break;
		}
		if (p[0].revents & POLLIN) {
			uint64_t exp;
			if (read(l->tfd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp)) {
				r = tick_or_end(l, err);
				if (r < 0)
					return r;
			}
		}
		if (pid_i >= 0 && (p[pid_i].revents & (POLLIN | POLLHUP))) {
			/* Its mm is gone with it: what it wrote since the last tick is lost
			 * (use `pagescan run` to catch the very end). */
			ps_loop_end(l, PS_END_TARGET_EXIT, NULL);
			break;
		}
	}
	return 0;
}

/* After disarm: the huge pages tracking split, and what giving them back cost. */
static void report_huge(struct ps_tracker *tr, pid_t pid)
{
	struct ps_notes notes = { 0 };
	const struct ps_huge_stats *h = tr ? ps_tracker_huge(tr) : NULL;
	if (!h || !h->split)
		return;
	if (h->recollapse_off)
		ps_note(&notes, "tracking split %llu of the %llu huge pages (%llu MiB) of process %d; left split (--no-recollapse): khugepaged may collapse them again, slowly",
		        (unsigned long long)h->split, (unsigned long long)h->huge_armed,
		        (unsigned long long)(PS_PMD_SIZE >> 20), (int)pid);
	else
		ps_note(&notes, "tracking split %llu of the %llu huge pages (%llu MiB) of process %d; MADV_COLLAPSE gave %llu of %llu back in %.1f ms (pagescan's CPU time: %.1f ms)%s%s",
		        (unsigned long long)h->split, (unsigned long long)h->huge_armed,
		        (unsigned long long)(PS_PMD_SIZE >> 20), (int)pid,
		        (unsigned long long)h->recollapsed, (unsigned long long)h->recollapse_asked,
		        (double)h->recollapse_wall_ns / 1e6, (double)h->recollapse_cpu_ns / 1e6,
		        h->recollapse_errno ? "; the kernel refused some: " : "",
		        h->recollapse_errno ? strerror(h->recollapse_errno) : "");
	ps_warn_notes(&notes);
}

void ps_loop_release(struct ps_loop *l)
{
	if (l->released)
		return;
	l->released = true;
	ps_tracker_disarm(l->tr);
	for (size_t i = 0; i < l->nm; i++)
		ps_tracker_disarm(l->m[i]->tr);
}

void ps_loop_free(struct ps_loop *l)
{
	for (size_t i = 0; i < l->nsinks; i++)
		if (l->sinks[i]->destroy)
			l->sinks[i]->destroy(l->sinks[i]);
	l->nsinks = 0;
	ps_loop_release(l);
	/* Only now, the terminal restored: what giving the huge pages back did. */
	report_huge(l->tr, l->t.pid);
	for (size_t i = 0; i < l->nm; i++)
		report_huge(l->m[i]->tr, l->m[i]->t.pid);
	workload_free(l);
	ps_session_free(l->session);
	l->session = NULL;
	ps_tracker_free(l->tr);
	l->tr = NULL;
	ps_out_flush(&l->out);
	l->aout_error = ps_asyncout_finish(l->aout);
	l->aout = NULL;
	l->out.write = NULL;
	ps_out_free(&l->out);
	ps_close(&l->out_fd);
	ps_close(&l->tfd);
	ps_close(&l->dfd);
	ps_close(&l->sfd);
	ps_target_close(&l->t);
}
