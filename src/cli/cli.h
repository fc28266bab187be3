/* The front end: options shared by the commands, and the commands. */
#ifndef PAGESCAN_CLI_H
#define PAGESCAN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/category.h"
#include "pagescan/model/error.h"
#include "pagescan/model/range.h"

#define PS_EXIT_OK 0
#define PS_EXIT_FAIL 1
#define PS_EXIT_USAGE 64

enum ps_format { PS_FMT_TEXT, PS_FMT_JSON, PS_FMT_CSV };

#define PS_MAX_RANGES 256

struct ps_opts {
	pid_t pid;
	bool have_mask;
	struct ps_mask mask;
	struct ps_rangespec ranges[PS_MAX_RANGES];
	size_t nranges;
	uint64_t max_pages;
	bool clear;
	enum ps_format format;
	bool have_format;
	int release_fd;            /* release --fd, -1 = find it */
	/* watch / run / demo */
	uint64_t interval_ns;
	uint64_t count;            /* 0 = unlimited */
	uint64_t duration_ns;      /* 0 = unlimited */
	bool accumulate;
	bool quiet;
	const char *output;        /* -o FILE */
	const char *heatmap;       /* NULL, "tui" or "text" */
	const char *prom_file;
	bool no_heatmap;           /* demo */
	char **argv;               /* run: the command */
	/* report */
	const char *report_file;   /* NULL or "-" = standard input */
	uint64_t bandwidth;        /* bytes per second, 0 = not given */
	uint64_t downtime_ns;      /* 0 = not given */
	uint64_t max_rounds;       /* 0 = default (30) */
	const char *svg_out;
};

/* Commands: return a PS_EXIT_* code; on failure err holds the message that
 * main prints. They may print their normal output, never errors. */
int ps_cmd_dump(struct ps_opts *o, struct ps_err *err);
int ps_cmd_engage(struct ps_opts *o, struct ps_err *err);
int ps_cmd_release(struct ps_opts *o, struct ps_err *err);
int ps_cmd_watch(struct ps_opts *o, struct ps_err *err);
int ps_cmd_run(struct ps_opts *o, struct ps_err *err);
int ps_cmd_demo(struct ps_opts *o, struct ps_err *err);
int ps_cmd_report(struct ps_opts *o, struct ps_err *err);

struct ps_target;
/* Shared checks before tracking (cmd_dump.c): the kernel has PAGEMAP_SCAN and
 * WP_ASYNC; nothing in the target is write-protect tracked already. */
int ps_check_kernel(const struct ps_target *t, struct ps_err *err);
int ps_check_untracked(const struct ps_target *t, struct ps_err *err);

/* Non-fatal notes to stderr ("pagescan: warning: ..."), owned by main.c. */
void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
