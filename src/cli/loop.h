/* SPDX-License-Identifier: MIT */
/* The watch loop of watch, run and demo: one poll over a timer, a signalfd,
 * the target's pidfd (or SIGCHLD of a launched command) and the heatmap's
 * keyboard; each tick asks the session for an interval record and hands it
 * to the sinks. */
#ifndef PAGESCAN_CLI_LOOP_H
#define PAGESCAN_CLI_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "pagescan/kernel/launch.h"
#include "pagescan/kernel/target.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/kernel/wpcost.h"
#include "pagescan/model/overhead.h"
#include "pagescan/model/session.h"
#include "pagescan/render/outbuf.h"

struct ps_sink;

struct ps_loop {
	const struct ps_watch_args *a;
	struct ps_target t;
	struct ps_tracker *tr;
	struct ps_session *session;
	struct ps_launch *launch;          /* run: the command; NULL otherwise */
	struct ps_out out;
	int out_fd, tfd, dfd, sfd;
	struct ps_sink *sinks[2];
	size_t nsinks;
	bool ended;
	bool epipe;                        /* the output's reader went away */
	bool noted_ksm, noted_thp;         /* the harvest notes, once each */
	/* The observer effect (docs/overhead.md): the calibrated fault cost, the
	 * budget that times the intervals, the target's counters at the last
	 * tick, the sums for the end record. */
	struct ps_wpcost wpcost;
	struct ps_budget budget;
	struct ps_proc_sample last_stat;
	double tick_s;
	uint64_t prev_written;             /* accumulate: the last cumulative count */
	struct ps_overhead_summary overhead;
};

/* Open the output (-o FILE or standard output). */
int ps_loop_init(struct ps_loop *l, const struct ps_watch_args *a, struct ps_err *err);
/* The sinks: heatmap ("tui", "text" or NULL: the format's), and --prom-file. */
int ps_loop_make_sinks(struct ps_loop *l, const char *heatmap, struct ps_err *err);
/* Engage the target (l->t, open) by attaching, and begin the session. */
int ps_loop_attach(struct ps_loop *l, struct ps_err *err);
/* Engage a command stopped at its exec (l->launch), and begin the session. */
int ps_loop_launched(struct ps_loop *l, struct ps_err *err);
/* Watch until the end (count, duration, signal, the target's exit or exec,
 * q in the heatmap); the end record is written. On failure the caller ends
 * the watch with ps_loop_end(PS_END_ERROR). */
int ps_loop_run(struct ps_loop *l, struct ps_err *err);
/* Write the end record (once). */
void ps_loop_end(struct ps_loop *l, enum ps_end_reason reason, const char *detail);
/* Sinks first (the terminal is restored), then tracking, then the rest. */
void ps_loop_free(struct ps_loop *l);

#endif
