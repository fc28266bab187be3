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
#include "pagescan/model/stats.h"
#include "pagescan/model/workload.h"
#include "pagescan/kernel/proctree.h"
#include "pagescan/render/outbuf.h"

struct ps_sink;
struct ps_asyncout;

/* A workload's process skipped before the start record was written: its
 * event follows the start record. */
struct ps_pending_skip {
	pid_t pid;
	char comm[64];
	char reason[sizeof(((struct ps_err *)0)->msg)];
};

/* A process of a workload (watch PID PID..., --tree, --cgroup): its own
 * target, tracker and session; allocated one by one (the tracker keeps a
 * pointer to the target). */
struct ps_member {
	uint64_t id;                       /* the workload's name for it (pids may be reused) */
	struct ps_target t;
	struct ps_tracker *tr;
	struct ps_session *session;
	struct ps_interval iv;             /* this tick's record */
	struct ps_proc_sample last_stat;
	const char *gone;                  /* why it leaves at this tick, or NULL */
	/* run following forks: */
	bool borrowed;                     /* the command's first tracking: t is a copy of the
	                                    * loop's (the tracker points there; closed with it) */
	bool final;                        /* harvested at its exit stop: iv is its last record */
};

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
	/* run: the output goes through a queue and its writer thread
	 * (asyncout.h) so that a reader that does not read never holds up the
	 * command at its ptrace stops. stalled: the queue was over its cap
	 * (stalled_bytes waiting); the watch ended as on EPIPE. */
	struct ps_asyncout *aout;
	size_t stalled_bytes;
	struct ps_err late_err;            /* run: the report's failure once the command runs; code 0: none */
	int aout_error;                    /* ps_loop_free: the writer's error, -errno */
	bool stalled;
	/* run, once the command runs: a report that cannot be written ends
	 * the tracking (the command runs on untracked, never killed for its
	 * report) and cmd_run says this after the command's end (late_err). */
	bool cmd_running;
	bool released;                     /* ps_loop_release: tracking given up already */
	bool kernel_noted;                 /* the running kernel's notes said (once, when tracking began) */
	bool ended;
	bool epipe;                        /* the output's reader went away */
	bool noted_ksm, noted_thp, noted_hugetlb; /* the memory-event notes, once each */
	/* The observer effect (docs/overhead.md): the calibrated fault cost, the
	 * budget that times the intervals, the target's counters at the last
	 * tick, the sums for the end record. */
	struct ps_wpcost wpcost;
	struct ps_budget budget;
	struct ps_proc_sample last_stat;
	double tick_s;
	uint64_t prev_written;             /* accumulate: the last cumulative count */
	struct ps_overhead_summary overhead;
	/* --sample (docs/sampling.md): the seed, the intervals estimated, the
	 * estimated rates (for the end record), the last interval's figures. */
	uint64_t sample_seed;
	bool sample_seeded;
	uint64_t sample_k;
	struct ps_samples sample_rates;
	struct ps_sample_iv sample_last;
	/* A workload (several PIDs, --tree, --cgroup): the members instead of
	 * t, tr and session, and the workload's own totals. */
	bool multi;
	struct ps_member **m;
	size_t nm, mcap;
	struct ps_workload *workload;
	struct ps_pids done;               /* never (again): exited, refused, over the limit */
	struct ps_pids found;              /* discovery's scratch list */
	struct ps_process_interval *procs;
	size_t procs_cap;
	struct ps_samples wrates;
	uint64_t next_id, wseq, w_t0_ns, w_last_ns, prev_wss;
	uint64_t tracked_total, untracked;
	struct ps_harvest_counts wcounts;  /* summed over the intervals */
	/* --compare soft-dirty: the members' comparisons summed, this tick's
	 * and over the watch (counts only; per mapping in each process's
	 * record). */
	struct ps_sd_report wsd_iv, wsd_end;
	struct ps_pending_skip *pending;
	size_t npending, pending_cap;
	bool noted_limit;
	bool noted_nofile; /* pagescan's own descriptors ran out: said once */
	/* run following forks: the command is fed to the workload from the
	 * start (as cmd_id) so that, once it has made a process, the totals
	 * include what it wrote before; until then the records are one
	 * process's, as without following. */
	bool follow_forks;
	uint64_t cmd_id;
};

/* Open the output (-o FILE or standard output). */
int ps_loop_init(struct ps_loop *l, const struct ps_watch_args *a, struct ps_err *err);
/* The sinks: heatmap ("tui", "text" or NULL: the format's), and --prom-file. */
int ps_loop_make_sinks(struct ps_loop *l, const char *heatmap, struct ps_err *err);
/* run, once the command is launched (never before its fork: asyncout.h):
 * the output of the sinks (not the terminal heatmap) goes through a queue
 * drained by a writer thread from now on. */
int ps_loop_async_output(struct ps_loop *l, struct ps_err *err);
/* Engage the target (l->t, open) by attaching, and begin the session. */
int ps_loop_attach(struct ps_loop *l, struct ps_err *err);
/* A workload: find its processes (a->pids, --tree, --cgroup) and engage
 * each; those that cannot be tracked are skipped with a warning. Fails when
 * none could be. */
int ps_loop_workload(struct ps_loop *l, struct ps_err *err);
/* Engage a command stopped at its exec (l->launch), and begin the session.
 * With l->launch->follow_forks, every process it makes is tracked too: the
 * watch becomes a workload's (format_version 2 records) at the first. */
int ps_loop_launched(struct ps_loop *l, struct ps_err *err);
/* Watch until the end (count, duration, signal, the target's exit or exec,
 * q in the heatmap); the end record is written. On failure the caller ends
 * the watch with ps_loop_end(PS_END_ERROR). */
int ps_loop_run(struct ps_loop *l, struct ps_err *err);
/* run, once the watch is over (its end, an error): let go of every
 * process's tracking now, so that the command runs on to its end untracked
 * (no write-protect left) while pagescan waits for it. Once; ps_loop_free
 * does it otherwise, and says what giving the huge pages back did (after
 * the sinks: the terminal heatmap may still hold the screen here). */
void ps_loop_release(struct ps_loop *l);
/* Write the end record (once). */
void ps_loop_end(struct ps_loop *l, enum ps_end_reason reason, const char *detail);
/* Sinks first (the terminal is restored), then tracking, then the rest;
 * the output queue is drained (l->aout_error says how that went). */
void ps_loop_free(struct ps_loop *l);

#endif
