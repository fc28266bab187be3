/* SPDX-License-Identifier: MIT */
/* The watch sink for `watch --prom-file PATH`: at the start, after every
 * interval and at the end, the metrics (render/prom.c) replace PATH
 * atomically (files.c): a reader, such as node_exporter's textfile
 * collector, sees the previous file or the new one, never a partial one.
 * PATH's directory is opened once, at the start; every version is a new
 * file under a random name (O_EXCL|O_NOFOLLOW) renamed over PATH there. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "sinks.h"
#include "pagescan/model/util.h"
#include "pagescan/render/outbuf.h"
#include "pagescan/render/prom.h"
#include "pagescan/render/sink.h"

/* A workload's process as of the last interval. */
struct prom_proc {
	int64_t pid;
	char *command;
	uint64_t written_pages, wss_pages;
};

struct prom_sink {
	struct ps_sink s;
	struct ps_replace file;
	char *command;
	bool accumulate;
	struct ps_prom_state st;
	struct ps_out out;
	/* A workload: its processes, and the shared pages of its wss. */
	bool workload;
	struct prom_proc *procs;
	size_t nprocs, procs_cap;
	uint64_t shared_wss_pages;
};

/* st's soft-dirty mappings from r (their names copied: the file is
 * written again at the end, after r is gone); r NULL: none. 0 or -ENOMEM. */
static int sd_mappings(struct prom_sink *ps, const struct ps_sd_report *r)
{
	struct ps_prom_state *st = &ps->st;
	const struct ps_sd_mapping *w[PS_PROM_SD_MAPPINGS];
	for (size_t i = 0; i < st->nsd_map; i++)
		free((char *)st->sd_map[i].mapping);
	st->nsd_map = 0;
	size_t n = r ? ps_sd_worst(r, w, PS_PROM_SD_MAPPINGS) : 0;
	for (size_t i = 0; i < n; i++) {
		char *name = strdup(w[i]->mapping);
		if (!name)
			return -ENOMEM;
		st->sd_map[st->nsd_map++] = (struct ps_prom_sd_mapping){ .mapping = name, .start = w[i]->start, .c = w[i]->c };
	}
	return 0;
}

static void procs_clear(struct prom_sink *ps)
{
	for (size_t i = 0; i < ps->nprocs; i++)
		free(ps->procs[i].command);
	ps->nprocs = 0;
}

/* A workload's series: the process count and shared pages (labelled like
 * the totals), then written and wss pages per process, labelled with its
 * own pid and command. */
static void render_workload(struct prom_sink *ps)
{
	struct ps_out *o = &ps->out;
	static const struct {
		const char *name, *help;
	} per[] = {
		{ "pagescan_process_written_pages", "Pages this process wrote in the last interval (shared pages included)." },
		{ "pagescan_process_wss_pages", "Distinct pages this process wrote since it joined the watch." },
	};
	ps_prom_metric_u64(o, &ps->st, "pagescan_workload_processes", "gauge", "Processes tracked in the last interval.",
	                   ps->nprocs);
	ps_prom_metric_u64(o, &ps->st, "pagescan_workload_shared_wss_pages", "gauge",
	                   "Pages of shared mappings in the write working set (counted once).", ps->shared_wss_pages);
	for (size_t k = 0; k < 2; k++) {
		ps_prom_head(o, per[k].name, "gauge", per[k].help);
		for (size_t i = 0; i < ps->nprocs; i++)
			ps_prom_sample_u64(o, per[k].name, ps->procs[i].pid, ps->procs[i].command,
			                   k ? ps->procs[i].wss_pages : ps->procs[i].written_pages);
	}
}

static int publish(struct prom_sink *ps)
{
	ps->out.len = 0;
	ps_prom_render(&ps->out, &ps->st);
	if (ps->workload)
		render_workload(ps);
	if (ps->out.error)
		return -ps->out.error;
	/* The watch loop words the error; only the code matters here. */
	return ps_replace_write(&ps->file, ps->out.buf, ps->out.len, NULL);
}

static int prom_start(struct ps_sink *s, const struct ps_watch_start *w)
{
	struct prom_sink *ps = (struct prom_sink *)s;

	free(ps->command);
	ps->command = strdup(w->command ? w->command : "");
	if (!ps->command)
		return -ENOMEM;
	ps->accumulate = w->accumulate;
	ps->workload = w->workload != NULL;
	ps->st = (struct ps_prom_state){ .pid = w->pid, .command = ps->command, .running = true,
	                                 .tracked_pages = w->tracked_pages, .soft_dirty = w->soft_dirty };
	return publish(ps);
}

static int prom_interval(struct ps_sink *s, const struct ps_interval *iv)
{
	struct prom_sink *ps = (struct prom_sink *)s;
	struct ps_prom_state *st = &ps->st;

	if (iv->exec_command) {
		/* run followed an exec: the series are labelled with the program
		 * now running (a new series, as after a restart). */
		char *c = strdup(iv->exec_command);
		if (!c)
			return -ENOMEM;
		free(ps->command);
		st->command = ps->command = c;
	}
	/* run turns into a workload at the command's first fork: from the
	 * first interval that lists processes on. */
	if (iv->nprocesses)
		ps->workload = true;
	if (ps->workload) {
		procs_clear(ps);
		if (ps_grow((void **)&ps->procs, &ps->procs_cap, iv->nprocesses ? iv->nprocesses : 1,
		            sizeof(*ps->procs)) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < iv->nprocesses; i++) {
			const struct ps_process_interval *p = &iv->processes[i];
			char *c = strdup(p->command ? p->command : "");
			if (!c)
				return -ENOMEM;
			ps->procs[ps->nprocs++] = (struct prom_proc){ .pid = p->pid, .command = c,
			                                              .written_pages = p->written_pages,
			                                              .wss_pages = p->wss_pages };
		}
		ps->shared_wss_pages = iv->shared_wss_pages;
	}
	st->intervals = iv->seq;
	st->interval_s = iv->elapsed_s;
	st->written_pages = iv->written_pages;
	st->rate_pages_s = iv->rate_pages_s;
	/* With --accumulate written_pages is the cumulative set: the sum of
	 * per-interval writes is then not known, the distinct count is. */
	st->written_pages_total = ps->accumulate ? iv->wss_pages : st->written_pages_total + iv->written_pages;
	st->wss_pages = iv->wss_pages;
	st->tracked_pages = iv->tracked_pages;
	st->harvest_us = iv->harvest_us;
	st->harvest_us_total += iv->harvest_us;
	st->discarded_pages = iv->counts.discarded_pages;
	st->zero_read_pages = iv->counts.zero_read_pages;
	st->ksm_merged_pages = iv->counts.ksm_merged_pages;
	st->thp_filled_pages = iv->counts.thp_filled_pages;
	st->remapped_pages = iv->counts.remapped_pages;
	st->overhead_share = iv->overhead.known ? iv->overhead.share : 0;
	st->overhead_s_total += iv->overhead.known ? iv->overhead.fault_s : 0;
	st->asked_interval_s = iv->interval_s;
	st->stretched = iv->stretched;
	st->over_budget = iv->overhead.over_budget;
	st->over_budget_total += iv->overhead.over_budget;
	st->estimated = iv->sample.estimated;
	st->written_lo = iv->sample.written_lo;
	st->written_hi = iv->sample.written_hi;
	if (iv->soft_dirty) {
		st->sd = iv->soft_dirty->c;
		ps_sd_counts_add(&st->sd_total, &st->sd);
		if (sd_mappings(ps, iv->soft_dirty) < 0)
			return -ENOMEM;
	}
	return publish(ps);
}

static int prom_end(struct ps_sink *s, const struct ps_watch_end *e)
{
	struct prom_sink *ps = (struct prom_sink *)s;

	(void)e;
	ps->st.running = false;
	return publish(ps);
}

static void prom_destroy(struct ps_sink *s)
{
	struct prom_sink *ps = (struct prom_sink *)s;

	sd_mappings(ps, NULL);
	ps_out_free(&ps->out);
	ps_replace_close(&ps->file);
	procs_clear(ps);
	free(ps->procs);
	free(ps->command);
	free(ps);
}

struct ps_sink *ps_sink_prom_new(const char *path, struct ps_err *err)
{
	struct prom_sink *ps;

	if (!path || !*path || strlen(path) > PATH_MAX - 8) {
		ps_errf(err, EINVAL, "--prom-file needs a file name (at most %d bytes)", PATH_MAX - 8);
		return NULL;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		ps_errf(err, ENOMEM, "out of memory");
		return NULL;
	}
	/* Fail now, before attaching, when the directory is not writable. */
	if (ps_replace_open(&ps->file, path, err) < 0) {
		ps_err_prefix(err, "cannot write --prom-file %s", path);
		free(ps);
		return NULL;
	}
	ps_out_init(&ps->out, -1);
	ps->s = (struct ps_sink){ .start = prom_start, .interval = prom_interval, .end = prom_end,
	                          .destroy = prom_destroy, .input_fd = -1 };
	return &ps->s;
}
