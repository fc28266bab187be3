/* SPDX-License-Identifier: MIT */
/* The watch loop (see loop.h). */
#include <errno.h>
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
#include "sinks.h"
#include "pagescan/kernel/engage.h"
#include "pagescan/kernel/kwarn.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/render/fmt.h"
#include "pagescan/render/heat_frame.h"
#include "pagescan/model/watch.h"
#include "pagescan/render/sink.h"

int ps_loop_init(struct ps_loop *l, const struct ps_watch_args *a, struct ps_err *err)
{
	*l = (struct ps_loop){ .a = a, .t = PS_TARGET_INIT, .out_fd = -1, .tfd = -1, .dfd = -1, .sfd = -1 };
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

/* The session's source: the tracker. */
static void tracker_source(struct ps_loop *l, struct ps_tracker *tr, struct ps_session_source *src)
{
	ps_tracker_set_recollapse(tr, !l->a->no_recollapse);
	ps_tracker_source(tr, src);
}

/* n: the mappings engaged by an image's first snapshot; none is an error. */
static int engaged_some(struct ps_loop *l, int n, struct ps_err *err)
{
	if (n == 0)
		return ps_errf(err, ENOENT, "nothing in process %d could be tracked (%zu mappings refused)%s",
		               l->t.pid, ps_session_skipped(l->session), l->a->ranges.n ? "; check the -r ranges" : "");
	return n < 0 ? n : 0;
}

/* The session on the tracker, and its first snapshot: every selected
 * mapping engaged. */
static int begin_session(struct ps_loop *l, struct ps_tracker *tr, struct ps_err *err)
{
	struct ps_session_source src;
	struct ps_session_opts so = {
		.pid = l->t.pid,
		.command = l->t.comm,
		.interval_ns = l->a->interval_ns,
		.accumulate = l->a->accumulate,
	};
	tracker_source(l, tr, &src);
	l->session = ps_session_new(&src, &so);
	if (!l->session)
		return ps_errf(err, ENOMEM, "out of memory");
	return engaged_some(l, ps_session_begin(l->session, err), err);
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
	/* The kernel's known bugs, as attach warns (ps_engage_launched takes
	 * no notes). */
	struct ps_notes notes = { 0 };
	ps_note_kernel_bugs(&notes);
	ps_warn_notes(&notes);
	struct ps_tracker *tr = ps_engage_launched(l->launch, &l->t, l->a->ranges.v, l->a->ranges.n, armed, l, err);
	if (!tr) {
		l->tr = NULL; /* freed by the failing engage */
		return -err->code;
	}
	l->tr = tr;
	return 0;
}

/* run: the command exec'd, and the new image is engaged (armed, still
 * stopped): the session goes on with it. */
static int exec_armed(void *ctx, struct ps_tracker *tr, struct ps_err *err)
{
	struct ps_loop *l = ctx;
	struct ps_session_source src;
	tracker_source(l, tr, &src);
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
	l->tr = ps_engage_launched(l->launch, &l->t, l->a->ranges.v, l->a->ranges.n, exec_armed, l, &e);
	if (l->tr)
		return 1;
	ps_note(&notes, "cannot track process %d after its exec (%s): %s; it runs on untracked", l->launch->child,
	        l->t.comm[0] ? l->t.comm : "?", e.msg);
	ps_warn_notes(&notes);
	ps_loop_end(l, PS_END_TARGET_EXEC, e.msg);
	return 0;
}

/* ---- records to the sinks ---------------------------------------------------------- */

/* What a sink answered: 1 when the reader went away (-EPIPE, `| head`),
 * which ends the watch quietly; -errno on a failure ("cannot VERB the
 * report: ..."); else 0. */
static int sink_answer(struct ps_loop *l, int r, const char *verb, struct ps_err *err)
{
	if (r == -EPIPE) {
		l->ended = l->epipe = true;
		return 1;
	}
	if (r < 0)
		return ps_errf(err, -r, "cannot %s the report: %s", verb, strerror(-r));
	return 0;
}

static int start_sinks(struct ps_loop *l, struct ps_err *err)
{
	struct ps_watch_start ws;
	ps_session_start(l->session, &ws);
	ws.wp_fault_ns = l->wpcost.fault_ns;
	ws.wp_fault_calibrated = l->wpcost.calibrated;
	ws.max_overhead = l->budget.budget;
	for (size_t i = 0; i < l->nsinks; i++) {
		int r = sink_answer(l, l->sinks[i]->start(l->sinks[i], &ws), "start", err);
		if (r)
			return r < 0 ? r : 0;
	}
	return 0;
}

/* What the harvest classified that needs saying, once per watch
 * (docs/memory-events.md). */
static void note_counts(struct ps_loop *l, const struct ps_harvest_counts *c, struct ps_notes *notes)
{
	if (c->ksm_merged_pages && !l->noted_ksm) {
		l->noted_ksm = true;
		ps_note(notes, "KSM merged %llu page%s of process %d: a merge replaces the page without the write-protect bit, so the kernel reports it written; pagescan leaves merged pages out (counted as ksm_merged_pages), and a later write to one is reported (docs/memory-events.md)",
		        (unsigned long long)c->ksm_merged_pages, c->ksm_merged_pages == 1 ? "" : "s", l->t.pid);
	}
	if (c->thp_filled_pages && !l->noted_thp) {
		l->noted_thp = true;
		ps_note(notes, "writes into empty 2 MiB ranges of process %d allocated whole huge pages (%llu pages): the kernel does not say which 4 KiB were stored to, so pagescan reports them all written (counted as thp_filled_pages) and arms those mappings' holes from now on (docs/memory-events.md)",
		        l->t.pid, (unsigned long long)c->thp_filled_pages);
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
	l->tick_s = ps_wpcost_tick_s();
	l->overhead = (struct ps_overhead_summary){ .fault_ns = l->wpcost.fault_ns,
	                                            .calibrated = l->wpcost.calibrated,
	                                            .budget = l->budget.budget, .cpu_share = -1 };
	ps_wpcost_sample(&l->t, &l->last_stat);
}

/* This interval's estimate, then the next interval's length: when the budget
 * changes it, the timer is re-armed from now (the session measures elapsed_s
 * itself, and the next harvest gets every page written meanwhile). */
static int overhead_tick(struct ps_loop *l, struct ps_interval *iv, struct ps_err *err)
{
	struct ps_proc_sample now;
	ps_wpcost_sample(&l->t, &now);
	uint64_t fresh = iv->written_pages;
	if (l->a->accumulate) {
		/* No re-protection: only the pages new to the set faulted. */
		fresh = iv->written_pages > l->prev_written ? iv->written_pages - l->prev_written : 0;
		l->prev_written = iv->written_pages;
	}
	struct ps_overhead_in in = { .elapsed_s = iv->elapsed_s, .written_pages = fresh,
	                             .fault_ns = l->wpcost.fault_ns, .before = l->last_stat, .after = now,
	                             .tick_s = l->tick_s };
	ps_overhead_estimate(&in, &iv->overhead);
	l->last_stat = now;
	uint64_t asked = l->budget.cur_ns;
	iv->interval_s = (double)asked / 1e9;
	iv->stretched = asked > l->budget.base_ns;
	ps_overhead_add(&l->overhead, &iv->overhead, iv->elapsed_s, asked, l->budget.base_ns);
	uint64_t next = ps_budget_next(&l->budget, &iv->overhead);
	if (next != asked && l->tfd >= 0 && set_timer(l->tfd, next) < 0)
		return ps_errf(err, errno, "cannot set the timer: %s", strerror(errno));
	return 0;
}

/* One interval: harvest, follow the mappings, report. */
static int tick(struct ps_loop *l, struct ps_err *err)
{
	struct ps_interval iv;
	struct ps_notes notes = { 0 };
	int r = ps_session_tick(l->session, &iv, err);
	ps_tracker_take_notes(l->tr, &notes); /* the map-count limit */
	if (r == 0)
		note_counts(l, &iv.counts, &notes);
	ps_warn_notes(&notes);
	if (r < 0)
		return r;
	r = overhead_tick(l, &iv, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->nsinks; i++) {
		r = sink_answer(l, l->sinks[i]->interval(l->sinks[i], &iv), "write", err);
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
	if (l->epipe || !l->session)
		return;
	int status = l->launch && l->launch->exited ? l->launch->exit_status : -1;
	ps_session_end(l->session, reason, detail, status, &e);
	e.overhead = l->overhead;
	for (size_t i = 0; i < l->nsinks; i++)
		l->sinks[i]->end(l->sinks[i], &e);
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

/* A tick that may end the watch: 1 when it did. */
static int tick_or_end(struct ps_loop *l, struct ps_err *err)
{
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

/* run: what the command did. */
static int on_launch_event(void *ctx, enum ps_launch_event ev, struct ps_err *err)
{
	struct ps_loop *l = ctx;

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
	r = start_sinks(l, err);
	if (r < 0)
		return r;
	ps_session_clock_start(l->session);

	while (!l->ended) {
		struct pollfd p[5];
		int n = 0;
		p[n++] = (struct pollfd){ .fd = l->tfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = l->sfd, .events = POLLIN };
		int pid_i = -1, dur_i = -1, in_i = -1;
		if (!l->launch) {
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
static void report_huge(struct ps_loop *l)
{
	struct ps_notes notes = { 0 };
	const struct ps_huge_stats *h = l->tr ? ps_tracker_huge(l->tr) : NULL;
	if (!h || !h->split)
		return;
	if (h->recollapse_off)
		ps_note(&notes, "tracking split %llu of the %llu huge pages (2 MiB) of process %d; left split (--no-recollapse): khugepaged may collapse them again, slowly",
		        (unsigned long long)h->split, (unsigned long long)h->huge_armed, l->t.pid);
	else
		ps_note(&notes, "tracking split %llu of the %llu huge pages (2 MiB) of process %d; MADV_COLLAPSE gave %llu of %llu back in %.1f ms (pagescan's CPU time: %.1f ms)%s%s",
		        (unsigned long long)h->split, (unsigned long long)h->huge_armed, l->t.pid,
		        (unsigned long long)h->recollapsed, (unsigned long long)h->recollapse_asked,
		        (double)h->recollapse_wall_ns / 1e6, (double)h->recollapse_cpu_ns / 1e6,
		        h->recollapse_errno ? "; the kernel refused some: " : "",
		        h->recollapse_errno ? strerror(h->recollapse_errno) : "");
	ps_warn_notes(&notes);
}

void ps_loop_free(struct ps_loop *l)
{
	for (size_t i = 0; i < l->nsinks; i++)
		if (l->sinks[i]->destroy)
			l->sinks[i]->destroy(l->sinks[i]);
	l->nsinks = 0;
	ps_tracker_disarm(l->tr);
	report_huge(l);
	ps_session_free(l->session);
	l->session = NULL;
	ps_tracker_free(l->tr);
	l->tr = NULL;
	ps_out_flush(&l->out);
	ps_out_free(&l->out);
	ps_close(&l->out_fd);
	ps_close(&l->tfd);
	ps_close(&l->dfd);
	ps_close(&l->sfd);
	ps_target_close(&l->t);
}
