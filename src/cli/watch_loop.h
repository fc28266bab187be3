/* The watch loop's state, shared by watch, run and demo. */
#ifndef PAGESCAN_WATCH_LOOP_H
#define PAGESCAN_WATCH_LOOP_H

#include <signal.h>
#include <sys/signalfd.h>

#include "cli.h"
#include "sinks.h"
#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"
#include "pagescan/render/outbuf.h"
#include "pagescan/model/region.h"
#include "pagescan/model/stats.h"
#include "pagescan/kernel/target.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/model/watch.h"

struct total;

struct ps_watch {
	struct ps_opts *o;
	struct ps_target t;
	struct ps_tracker tr;
	struct ps_maps maps, prev_maps;     /* this tick's snapshot, the previous one */
	struct ps_sync_result sync;         /* this tick's engaged/skipped/dropped */
	struct ps_regions harvest, interval, wss, tmp;
	struct ps_samples rates;
	struct total *totals;               /* per mapping over the watch */
	size_t ntotals, totals_cap;
	struct ps_mapping_count *counts;    /* per mapping this interval */
	size_t ncounts, counts_cap;
	struct ps_out out;
	int out_fd, tfd, dfd, sfd;
	struct ps_sink *sinks[2];
	size_t nsinks;
	uint64_t seq, t0_ns, last_ns;
	bool ended;
	bool epipe;                         /* output reader went away */
	int end_signal;
	/* run */
	pid_t child;
	bool child_traced;
	bool child_exited;
	bool has_exit_status;
	int exit_status;
};

int ps_watch_init(struct ps_watch *w, struct ps_opts *o, struct ps_err *err);
int ps_watch_make_sinks(struct ps_watch *w, struct ps_err *err);
int ps_watch_engage_attached(struct ps_watch *w, struct ps_err *err); /* inject + tracker init */
int ps_watch_engage_first(struct ps_watch *w, struct ps_err *err);    /* first sync */
int ps_watch_tick(struct ps_watch *w, struct ps_err *err);
int ps_watch_loop(struct ps_watch *w, struct ps_err *err);
int ps_watch_end(struct ps_watch *w, enum ps_end_reason reason, const char *detail);
void ps_watch_free(struct ps_watch *w);

/* run: reap/handle ptrace stops of the child (on SIGCHLD), and forward a
 * signal sent to pagescan by someone else to the child (returns true when
 * forwarded: the watch goes on until the child exits). */
int ps_run_reap(struct ps_watch *w, struct ps_err *err);
bool ps_run_forward(struct ps_watch *w, const struct signalfd_siginfo *si);


#endif
