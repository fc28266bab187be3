/* SPDX-License-Identifier: MIT */
/* The front end: each command's options, and the commands. */
#ifndef PAGESCAN_CLI_H
#define PAGESCAN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/category.h"
#include "pagescan/model/error.h"
#include "pagescan/model/range.h"
#include "pagescan/render/fmt.h"

struct ps_target;

#define PS_EXIT_OK 0
#define PS_EXIT_FAIL 1
#define PS_EXIT_USAGE 64

/* -r RANGE, repeatable. */
#define PS_MAX_RANGES 256
struct ps_selection {
	struct ps_rangespec v[PS_MAX_RANGES];
	size_t n;
};

struct ps_dump_args {
	pid_t pid;
	bool have_mask;
	struct ps_mask mask;
	struct ps_selection ranges;
	uint64_t max_pages;        /* 0 = no limit */
	bool clear;
	enum ps_fmt_kind format;
};

struct ps_engage_args {
	pid_t pid;
	struct ps_selection ranges;
	enum ps_fmt_kind format;
};

struct ps_release_args {
	pid_t pid;
	int fd;                    /* --fd, -1 = find it */
	enum ps_fmt_kind format;
	bool no_recollapse;        /* leave huge pages split by tracking as they are */
};

/* watch PID PID...: at most this many PIDs on the command line. */
#define PS_MAX_PIDS 1024
/* watch --max-processes default: a workload's processes tracked at once. */
#define PS_MAX_PROCESSES_DEFAULT 64

/* watch, run and demo (pointers and 8-byte fields first: no padding). */
struct ps_watch_args {
	char **argv;               /* run: the command */
	const char *user;          /* run --user USER[:GROUP], or NULL */
	const char *output;        /* -o FILE */
	const char *heatmap;       /* NULL, "tui" or "text" */
	const char *prom_file;
	const char *cgroup;        /* watch --cgroup PATH, or NULL */
	struct ps_selection ranges;
	pid_t pids[PS_MAX_PIDS];   /* watch: every PID given (pids[0] == pid) */
	size_t npids;
	uint64_t max_processes;    /* watch, run: --max-processes (a workload) */
	uint64_t interval_ns;
	uint64_t count;            /* 0 = unlimited */
	uint64_t duration_ns;      /* 0 = unlimited */
	double max_overhead;       /* --max-overhead: budget, a share of the interval; 0 = off */
	double sample_fraction;    /* --sample: share of pages sampled each interval; 0 = exact */
	uint64_t sample_seed;      /* --seed (have_seed), else chosen at start */
	pid_t pid;                 /* watch */
	enum ps_fmt_kind format;
	bool have_format;
	bool preserve_env;         /* run --preserve-env: keep HOME, USER, LOGNAME, SHELL */
	bool no_follow_exec;       /* run --no-follow-exec: an exec ends the watch */
	bool no_follow_forks;      /* run --no-follow-forks: only the command is tracked */
	bool tree;                 /* watch --tree: the PIDs and their descendants */
	bool accumulate;
	bool quiet;
	bool no_recollapse;        /* leave huge pages split by tracking as they are */
	bool compare_soft_dirty;   /* watch, run --compare soft-dirty (docs/soft-dirty.md) */
	bool have_seed;
	bool no_heatmap;           /* demo */
	bool ranges_internal;      /* demo: ranges of pagescan's choosing ([heap] may come later): no hint */
};

struct ps_report_args {
	const char *file;          /* NULL or "-" = standard input */
	enum ps_fmt_kind format;
	uint64_t bandwidth;        /* bytes per second, 0 = not given */
	uint64_t downtime_ns;      /* 0 = not given */
	uint64_t max_rounds;       /* 0 = default (30) */
	const char *svg_out;
};

/* Commands: return a PS_EXIT_* code (run: the command's exit status); on
 * failure err holds the message that main prints. They may print their
 * normal output, never errors; warnings go through ps_warn. */
int ps_cmd_dump(const struct ps_dump_args *a, struct ps_err *err);
int ps_cmd_engage(const struct ps_engage_args *a, struct ps_err *err);
int ps_cmd_release(const struct ps_release_args *a, struct ps_err *err);
int ps_cmd_watch(const struct ps_watch_args *a, struct ps_err *err);
int ps_cmd_run(const struct ps_watch_args *a, struct ps_err *err);
int ps_cmd_demo(const struct ps_watch_args *a, struct ps_err *err);
int ps_cmd_report(const struct ps_report_args *o, struct ps_err *err);

/* Non-fatal notes to stderr ("pagescan: warning: ..."), owned by main.c. */
void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Every note collected by a lower layer, through ps_warn. */
void ps_warn_notes(const struct ps_notes *notes);
/* tui.c: while the heatmap is on screen, a warning goes to its status line
 * and is printed when the heatmap closes (true); false when none is on
 * screen (ps_warn prints it then). */
bool ps_tui_hold_warning(const char *msg);
/* A -r that selects nothing in the process says so, with the closest names
 * it has (libc.so -> libc.so.6). */
void ps_warn_unmatched(const struct ps_target *t, const struct ps_rangespec *specs, size_t nspecs);

#endif
