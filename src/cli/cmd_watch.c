/* watch and run: one event loop (timerfd, signalfd, pidfd, poll) that
 * harvests written pages every interval and feeds the sinks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/render/heat.h"   /* ps_sink_heattext_new */
#include "watch_loop.h"
#include "pagescan/model/category.h"
#include "pagescan/render/fmt.h"
#include "pagescan/kernel/inject.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/model/util.h"


/* ---- per-mapping totals over the whole watch ------------------------------- */

struct total {
	uint64_t start, end;
	char *label;
	uint64_t pages;
};

static int totals_add(struct ps_watch *w, const struct ps_mapping_count *c)
{
	/* Keyed by mapping start and name; sorted by start. */
	size_t lo = 0, hi = w->ntotals;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w->totals[mid].start < c->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < w->ntotals && w->totals[i].start == c->start; i++) {
		if (strcmp(w->totals[i].label, c->mapping) == 0) {
			w->totals[i].pages += c->written_pages;
			w->totals[i].end = c->end;
			return 0;
		}
	}
	if (w->ntotals >= 1u << 20)
		return 0; /* bounded; the hottest list stays right for all but pathological churn */
	if (ps_grow((void **)&w->totals, &w->totals_cap, w->ntotals + 1, sizeof(*w->totals)) < 0)
		return -ENOMEM;
	char *l = strdup(c->mapping);
	if (!l)
		return -ENOMEM;
	memmove(&w->totals[lo + 1], &w->totals[lo], (w->ntotals - lo) * sizeof(*w->totals));
	w->totals[lo] = (struct total){ .start = c->start, .end = c->end, .label = l, .pages = c->written_pages };
	w->ntotals++;
	return 0;
}

/* ---- region set helpers ------------------------------------------------------ */

/* out = a ∪ b (both sorted; categories dropped to WRITTEN). */
static int regions_union(const struct ps_regions *a, const struct ps_regions *b, struct ps_regions *out)
{
	size_t i = 0, j = 0;
	ps_regions_clear(out);
	while (i < a->n || j < b->n) {
		const struct ps_region *r;
		if (j >= b->n || (i < a->n && a->r[i].start <= b->r[j].start))
			r = &a->r[i++];
		else
			r = &b->r[j++];
		if (out->n && r->start <= out->r[out->n - 1].end) {
			if (r->end > out->r[out->n - 1].end)
				out->r[out->n - 1].end = r->end;
			continue;
		}
		if (ps_regions_push(out, r->start, r->end, PS_CAT_WRITTEN) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- per-interval bookkeeping ------------------------------------------------ */

struct count_ctx {
	struct ps_watch *w;
	int r;
};

static int count_piece(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct count_ctx *c = ctx;
	struct ps_watch *w = c->w;
	uint64_t pages = (piece->end - piece->start) >> PS_PAGE_SHIFT;
	uint64_t start = vma ? vma->start : piece->start;
	const char *label = vma ? ps_vma_label(vma) : "[unmapped]";

	if (w->ncounts && w->counts[w->ncounts - 1].start == start &&
	    w->counts[w->ncounts - 1].mapping == label) {
		/* Same snapshot: one VMA's pieces share its label pointer. */
		w->counts[w->ncounts - 1].written_pages += pages;
		return 0;
	}
	if (ps_grow((void **)&w->counts, &w->counts_cap, w->ncounts + 1, sizeof(*w->counts)) < 0) {
		c->r = -ENOMEM;
		return 1;
	}
	w->counts[w->ncounts++] = (struct ps_mapping_count){
		.start = start, .end = vma ? vma->end : piece->end, .mapping = label, .written_pages = pages,
	};
	return 0;
}

static int end_watch(struct ps_watch *w, enum ps_end_reason reason, const char *detail);

/* Harvest, follow the mappings, report one interval. final: the last one
 * (signal, duration, exit stop of a run): reported even when short. */
int ps_watch_tick(struct ps_watch *w, struct ps_err *err)
{
	uint64_t now0 = ps_now_ns();
	struct ps_scan_stats st;
	int r;

	ps_regions_clear(&w->harvest);
	r = ps_tracker_harvest(&w->tr, !w->o->accumulate, &w->harvest, &st, err);
	uint64_t now = ps_now_ns();
	if (r < 0)
		return r;
	uint64_t harvest_us = (now - now0) / 1000;

	/* New mappings since the last tick, and vanished ones. */
	ps_maps_free(&w->prev_maps);
	w->prev_maps = w->maps;
	w->maps = (struct ps_maps){ 0 };
	ps_sync_result_free(&w->sync);
	w->sync = (struct ps_sync_result){ 0 };
	r = ps_maps_read(w->t.mmfd, &w->maps, err);
	if (r < 0)
		return r;
	r = ps_tracker_sync(&w->tr, &w->maps, true, &w->sync, err);
	if (r < 0)
		return r;

	/* This interval's written set: the harvest plus pages already written in
	 * mappings engaged just now. */
	r = regions_union(&w->harvest, &w->sync.prewritten, &w->interval);
	if (r < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	uint64_t before = ps_regions_pages(&w->wss);
	r = regions_union(&w->wss, &w->interval, &w->tmp);
	if (r < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	struct ps_regions swap = w->wss;
	w->wss = w->tmp;
	w->tmp = swap;
	uint64_t wss_pages = ps_regions_pages(&w->wss);

	const struct ps_regions *shown = w->o->accumulate ? &w->wss : &w->interval;
	uint64_t written = ps_regions_pages(shown);
	double elapsed = (double)(now - w->last_ns) / 1e9;
	uint64_t fresh = w->o->accumulate ? wss_pages - before : written;
	double rate = elapsed > 0 ? (double)fresh / elapsed : 0;
	w->last_ns = now;
	w->seq++;
	if (ps_samples_add(&w->rates, rate) < 0)
		return ps_errf(err, ENOMEM, "out of memory");

	w->ncounts = 0;
	struct count_ctx cc = { .w = w };
	ps_regions_walk(&w->interval, &w->maps, count_piece, &cc);
	if (cc.r < 0)
		return ps_errf(err, ENOMEM, "out of memory");
	if (w->o->accumulate) {
		/* Per-mapping counts of the cumulative set; the watch totals are
		 * taken from it at the end (adding them up would count twice). */
		w->ncounts = 0;
		ps_regions_walk(&w->wss, &w->maps, count_piece, &cc);
	} else {
		for (size_t i = 0; i < w->ncounts; i++)
			if (totals_add(w, &w->counts[i]) < 0)
				return ps_errf(err, ENOMEM, "out of memory");
	}

	struct ps_interval iv = {
		.seq = w->seq,
		.time_s = (double)(now - w->t0_ns) / 1e9,
		.elapsed_s = elapsed,
		.written_pages = written,
		.rate_pages_s = rate,
		.harvest_us = harvest_us,
		.tracked_pages = ps_rangeset_total(&w->tr.armed) >> PS_PAGE_SHIFT,
		.wss_pages = wss_pages,
		.maps = &w->maps,
		.tracked = &w->tr.armed,
		.written = shown,
		.per_mapping = w->counts, .nper_mapping = w->ncounts,
		.engaged = w->sync.engaged.v, .nengaged = w->sync.engaged.n,
		.dropped = w->sync.dropped.v, .ndropped = w->sync.dropped.n,
	};
	for (size_t i = 0; i < w->nsinks; i++) {
		r = w->sinks[i]->interval(w->sinks[i], &iv);
		if (r == -EPIPE) {
			/* The reader went away (`| head`): stop quietly. */
			w->ended = w->epipe = true;
			return 0;
		}
		if (r < 0)
			return ps_errf(err, -r, "cannot write the report: %s", strerror(-r));
	}
	return 0;
}

static int cmp_total(const void *a, const void *b)
{
	const struct total *x = a, *y = b;
	if (x->pages != y->pages)
		return x->pages < y->pages ? 1 : -1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int end_watch(struct ps_watch *w, enum ps_end_reason reason, const char *detail)
{
	struct ps_mapping_count hot[5];
	size_t nhot = 0;

	if (w->ended)
		return 0;
	w->ended = true;
	if (w->epipe)
		return 0;
	if (w->o->accumulate) {
		/* Distinct pages per mapping over the whole watch. */
		struct count_ctx cc = { .w = w };
		w->ncounts = 0;
		ps_regions_walk(&w->wss, &w->maps, count_piece, &cc);
		for (size_t i = 0; i < w->ncounts; i++)
			totals_add(w, &w->counts[i]);
	}
	if (w->ntotals)
		qsort(w->totals, w->ntotals, sizeof(*w->totals), cmp_total);
	for (size_t i = 0; i < w->ntotals && nhot < 5; i++) {
		if (!w->totals[i].pages)
			break;
		hot[nhot++] = (struct ps_mapping_count){ .start = w->totals[i].start, .end = w->totals[i].end,
		                                         .mapping = w->totals[i].label, .written_pages = w->totals[i].pages };
	}
	struct ps_watch_end e = {
		.reason = reason,
		.detail = detail,
		.intervals = w->seq,
		.duration_s = (double)(ps_now_ns() - w->t0_ns) / 1e9,
		.wss_pages = ps_regions_pages(&w->wss),
		.hottest = hot, .nhottest = nhot,
		.has_exit_status = w->has_exit_status,
		.exit_status = w->exit_status,
	};
	ps_summarize(&w->rates, &e.rate);
	int r = 0;
	for (size_t i = 0; i < w->nsinks; i++) {
		int r2 = w->sinks[i]->end(w->sinks[i], &e);
		if (r2 < 0 && !r)
			r = r2;
	}
	return r;
}

/* ---- setup -------------------------------------------------------------------- */

static int open_output(struct ps_watch *w, struct ps_err *err)
{
	int fd = STDOUT_FILENO;
	if (w->o->output) {
		fd = open(w->o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return ps_errf(err, errno, "cannot open %s: %s", w->o->output, strerror(errno));
		w->out_fd = fd;
	}
	ps_out_init(&w->out, fd);
	return 0;
}

static int make_sinks(struct ps_watch *w, struct ps_err *err)
{
	struct ps_sink *s = NULL;
	const struct ps_opts *o = w->o;

	if (o->heatmap && strcmp(o->heatmap, "tui") == 0) {
		s = ps_tui_sink_new(w->out_fd >= 0 ? w->out_fd : STDOUT_FILENO, err);
		if (!s)
			return -err->code;
	} else if (o->heatmap) {
		s = ps_sink_heattext_new(&w->out);
	} else if (o->format == PS_FMT_JSON) {
		s = ps_sink_json_new(&w->out, o->quiet);
	} else if (o->format == PS_FMT_CSV) {
		s = ps_sink_csv_new(&w->out);
	} else {
		s = ps_sink_text_new(&w->out, o->quiet);
	}
	if (!s)
		return ps_errf(err, ENOMEM, "out of memory");
	w->sinks[w->nsinks++] = s;
	if (o->prom_file) {
		s = ps_sink_prom_new(o->prom_file, err);
		if (!s)
			return -err->code;
		w->sinks[w->nsinks++] = s;
	}
	return 0;
}

static int start_sinks(struct ps_watch *w, struct ps_err *err)
{
	struct ps_watch_start ws = {
		.pid = w->t.pid,
		.command = w->t.comm,
		.interval_ns = w->o->interval_ns,
		.accumulate = w->o->accumulate,
		.tracked_pages = ps_rangeset_total(&w->tr.armed) >> PS_PAGE_SHIFT,
		.engaged = w->sync.engaged.v, .nengaged = w->sync.engaged.n,
		.skipped = w->sync.skipped.v, .nskipped = w->sync.skipped.n,
		.maps = &w->maps,
		.tracked = &w->tr.armed,
	};
	for (size_t i = 0; i < w->nsinks; i++) {
		int r = w->sinks[i]->start(w->sinks[i], &ws);
		if (r == -EPIPE) {
			w->ended = w->epipe = true;
			return 0;
		}
		if (r < 0)
			return ps_errf(err, -r, "cannot start the report: %s", strerror(-r));
	}
	return 0;
}

/* Engage a process by attaching to it (watch, demo). */
int ps_watch_engage_attached(struct ps_watch *w, struct ps_err *err)
{
	char warning[256] = "";
	int local = -1;

	if (ps_target_open_pagemap(&w->t, err) < 0 || ps_check_kernel(&w->t, err) < 0 ||
	    ps_check_untracked(&w->t, err) < 0)
		return -err->code;
	if (ps_remote_userfaultfd(&w->t, NULL, false, &local, NULL, warning, sizeof(warning), err) < 0)
		return -err->code;
	if (warning[0])
		ps_warn("%s", warning);
	if (ps_tracker_init(&w->tr, &w->t, local, w->o->ranges, w->o->nranges, err) < 0) {
		close(local);
		return -err->code;
	}
	return 0;
}

static int engage_first(struct ps_watch *w, struct ps_err *err)
{
	if (ps_maps_read(w->t.mmfd, &w->maps, err) < 0 ||
	    ps_tracker_sync(&w->tr, &w->maps, false, &w->sync, err) < 0)
		return -err->code;
	if (w->sync.engaged.n == 0)
		return ps_errf(err, ENOENT, "nothing in process %d could be tracked (%zu mappings refused)%s",
		               w->t.pid, w->sync.skipped.n, w->o->nranges ? "; check the -r ranges" : "");
	return 0;
}

void ps_watch_free(struct ps_watch *w)
{
	for (size_t i = 0; i < w->nsinks; i++)
		if (w->sinks[i]->destroy)
			w->sinks[i]->destroy(w->sinks[i]);
	w->nsinks = 0;
	ps_tracker_disarm(&w->tr);
	ps_tracker_done(&w->tr);
	ps_sync_result_free(&w->sync);
	ps_maps_free(&w->maps);
	ps_maps_free(&w->prev_maps);
	ps_regions_free(&w->harvest);
	ps_regions_free(&w->interval);
	ps_regions_free(&w->wss);
	ps_regions_free(&w->tmp);
	ps_samples_free(&w->rates);
	for (size_t i = 0; i < w->ntotals; i++)
		free(w->totals[i].label);
	free(w->totals);
	free(w->counts);
	ps_out_flush(&w->out);
	ps_out_free(&w->out);
	ps_close(&w->out_fd);
	ps_close(&w->tfd);
	ps_close(&w->dfd);
	ps_close(&w->sfd);
	ps_target_close(&w->t);
}

int ps_watch_init(struct ps_watch *w, struct ps_opts *o, struct ps_err *err)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->t = (struct ps_target)PS_TARGET_INIT;
	w->tr.uffd = -1;
	w->out_fd = w->tfd = w->dfd = w->sfd = -1;
	w->child = 0;
	return open_output(w, err);
}

static int arm_timers(struct ps_watch *w, struct ps_err *err)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = (time_t)(w->o->interval_ns / 1000000000ull), .tv_nsec = (long)(w->o->interval_ns % 1000000000ull) },
	};
	its.it_value = its.it_interval;
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (w->tfd < 0 || timerfd_settime(w->tfd, 0, &its, NULL) < 0)
		return ps_errf(err, errno, "cannot create a timer: %s", strerror(errno));
	if (w->o->duration_ns) {
		struct itimerspec d = { .it_value = { .tv_sec = (time_t)(w->o->duration_ns / 1000000000ull),
		                                      .tv_nsec = (long)(w->o->duration_ns % 1000000000ull) } };
		w->dfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (w->dfd < 0 || timerfd_settime(w->dfd, 0, &d, NULL) < 0)
			return ps_errf(err, errno, "cannot create a timer: %s", strerror(errno));
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	w->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w->sfd < 0)
		return ps_errf(err, errno, "cannot create a signalfd: %s", strerror(errno));
	return 0;
}

/* ---- the loop ------------------------------------------------------------------- */

static int tick_or_end(struct ps_watch *w, struct ps_err *err)
{
	int r = ps_watch_tick(w, err);
	if (r == -ESRCH) {
		/* The mm is gone: exit, or exec (the process lives on with a new mm). */
		bool exec = !ps_target_exiting(&w->t);
		if (w->child && w->child_traced)
			return 0; /* run: the exit stop, exec stop or exit status will end it */
		end_watch(w, exec ? PS_END_TARGET_EXEC : PS_END_TARGET_EXIT, NULL);
		return 1;
	}
	if (r < 0)
		return r;
	if (w->o->count && w->seq >= w->o->count) {
		end_watch(w, PS_END_COUNT, NULL);
		return 1;
	}
	return 0;
}

int ps_watch_loop(struct ps_watch *w, struct ps_err *err)
{
	int r = arm_timers(w, err);
	if (r < 0)
		return r;
	r = start_sinks(w, err);
	if (r < 0)
		return r;
	w->t0_ns = w->last_ns = ps_now_ns();

	while (!w->ended) {
		struct pollfd p[5];
		int n = 0;
		p[n++] = (struct pollfd){ .fd = w->tfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = w->sfd, .events = POLLIN };
		int pid_i = -1, dur_i = -1, in_i = -1;
		if (!w->child) {
			pid_i = n;
			p[n++] = (struct pollfd){ .fd = w->t.pidfd, .events = POLLIN };
		}
		if (w->dfd >= 0) {
			dur_i = n;
			p[n++] = (struct pollfd){ .fd = w->dfd, .events = POLLIN };
		}
		struct ps_sink *in = NULL;
		for (size_t i = 0; i < w->nsinks; i++)
			if (w->sinks[i]->input && w->sinks[i]->input_fd >= 0)
				in = w->sinks[i];
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
			struct signalfd_siginfo si;
			while (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					if (w->child) {
						r = ps_run_reap(w, err);
						if (r < 0)
							return r;
					}
					continue;
				}
				if (w->child && ps_run_forward(w, &si))
					continue;
				/* A last, partial interval, then the end record. */
				r = tick_or_end(w, err);
				if (r < 0)
					return r;
				end_watch(w, PS_END_SIGNAL, strsignal((int)si.ssi_signo));
				w->end_signal = (int)si.ssi_signo;
				break;
			}
			if (w->ended)
				break;
		}
		if (in_i >= 0 && (p[in_i].revents & (POLLIN | POLLHUP))) {
			if (in->input(in) == PS_SINK_QUIT) {
				end_watch(w, PS_END_QUIT, NULL);
				break;
			}
		}
		if (dur_i >= 0 && (p[dur_i].revents & POLLIN)) {
			r = tick_or_end(w, err);
			if (r < 0)
				return r;
			end_watch(w, PS_END_DURATION, NULL);
			break;
		}
		if (p[0].revents & POLLIN) {
			uint64_t exp;
			if (read(w->tfd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp)) {
				r = tick_or_end(w, err);
				if (r < 0)
					return r;
			}
		}
		if (pid_i >= 0 && (p[pid_i].revents & (POLLIN | POLLHUP))) {
			/* Its mm is gone with it: what it wrote since the last tick is lost
			 * (use `pagescan run` to catch the very end). */
			end_watch(w, PS_END_TARGET_EXIT, NULL);
			break;
		}
	}
	return 0;
}

int ps_cmd_watch(struct ps_opts *o, struct ps_err *err)
{
	struct ps_watch w;
	int rc = PS_EXIT_FAIL;

	if (ps_watch_init(&w, o, err) < 0)
		return PS_EXIT_FAIL;
	if (ps_target_open(&w.t, o->pid, err) < 0)
		goto out;
	if (make_sinks(&w, err) < 0)
		goto out;
	if (ps_watch_engage_attached(&w, err) < 0 || engage_first(&w, err) < 0)
		goto out;
	if (ps_watch_loop(&w, err) < 0) {
		end_watch(&w, PS_END_ERROR, err->msg);
		goto out;
	}
	rc = PS_EXIT_OK;
out:
	ps_watch_free(&w);
	return rc;
}

/* Exported for run. */
int ps_watch_make_sinks(struct ps_watch *w, struct ps_err *err)
{
	return make_sinks(w, err);
}

int ps_watch_engage_first(struct ps_watch *w, struct ps_err *err)
{
	return engage_first(w, err);
}

int ps_watch_end(struct ps_watch *w, enum ps_end_reason reason, const char *detail)
{
	return end_watch(w, reason, detail);
}
