/* SPDX-License-Identifier: MIT */
/* pagescan: exact written-page tracking for live processes.
 * main() parses the command line (argp, one parser per command), runs the
 * command, and is the only place that prints errors and chooses the exit code. */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "help.h"
#include "pagescan/kernel/proctree.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/overhead.h"
#include "pagescan/model/sample.h"
#include "pagescan/model/util.h"

const char *argp_program_version = "pagescan " PAGESCAN_VERSION;

enum {
	OPT_CLEAR = 0x100,
	OPT_ACCUMULATE,
	OPT_HEATMAP,
	OPT_NO_HEATMAP,
	OPT_FD,
	OPT_PROM_FILE,
	OPT_BANDWIDTH,
	OPT_DOWNTIME,
	OPT_MAX_ROUNDS,
	OPT_SVG,
	OPT_USER,
	OPT_PRESERVE_ENV,
	OPT_NO_RECOLLAPSE,
	OPT_MAX_OVERHEAD,
	OPT_NO_FOLLOW_EXEC,
	OPT_TREE,
	OPT_CGROUP,
	OPT_MAX_PROCESSES,
	OPT_NO_FOLLOW_FORKS,
	OPT_COMPARE,
	OPT_SAMPLE,
	OPT_SEED,
};

void ps_warn(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	/* clang-tidy 14's analyzer loses va_start on some paths into here (no
	 * path notes; the code is the textbook form). */
	int n = vasprintf(&msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	if (n < 0) {
		fputs("pagescan: warning: (out of memory formatting a warning)\n", stderr);
		return;
	}
	/* Under the heatmap: in its status line, and printed when it closes,
	 * not over the screen. */
	if (!ps_tui_hold_warning(msg))
		fprintf(stderr, "pagescan: warning: %s\n", msg);
	free(msg);
}

void ps_warn_notes(const struct ps_notes *notes)
{
	size_t shown = notes->n < PS_NOTES_MAX ? notes->n : PS_NOTES_MAX;
	for (size_t i = 0; i < shown; i++)
		ps_warn("%s", notes->msg[i]);
	if (notes->n > shown)
		ps_warn("%zu more warnings left out", notes->n - shown);
}

/* ---- option parsing shared by the commands ------------------------------ */

#define ARG_ERR(state, e) argp_error((state), "%s", (e).msg)

static enum ps_fmt_kind parse_format(struct argp_state *state, const char *arg, bool csv_ok)
{
	if (strcmp(arg, "text") == 0)
		return PS_OUT_TEXT;
	if (strcmp(arg, "json") == 0)
		return PS_OUT_JSON;
	if (csv_ok && strcmp(arg, "csv") == 0)
		return PS_OUT_CSV;
	argp_error(state, "unknown format \"%s\"; valid: text, json%s", arg, csv_ok ? ", csv" : "");
	return PS_OUT_TEXT;
}

static void parse_range(struct argp_state *state, struct ps_selection *sel, const char *arg)
{
	struct ps_err e = { 0 };
	if (sel->n >= PS_MAX_RANGES)
		argp_error(state, "too many ranges (at most %d)", PS_MAX_RANGES);
	if (ps_rangespec_parse(arg, &sel->v[sel->n], &e) < 0)
		ARG_ERR(state, e);
	sel->n++;
}

static void parse_pid_arg(struct argp_state *state, pid_t *pid, const char *arg)
{
	struct ps_err e = { 0 };
	if (*pid)
		argp_error(state, "unexpected argument \"%s\" (one PID only)", arg);
	if (ps_parse_pid(arg, pid, &e) < 0)
		ARG_ERR(state, e);
}

static void need_pid(struct argp_state *state, pid_t pid)
{
	if (!pid)
		argp_error(state, "missing PID");
}

/* ---- dump ---------------------------------------------------------------- */

static const struct argp_option dump_options[] = {
	{ "mask", 'm', "MASK", 0, "Pages to report: comma-separated terms, NAME set, !NAME clear, A|B at least one (default: present|swapped)", 0 },
	{ "range", 'r', "RANGE", 0, "Only this range: START-END, START+LENGTH, or a mapping ([heap], [stack], anon, shm, libc.so.6, /path); repeatable", 0 },
	{ "max-pages", 'M', "N", 0, "Stop after N pages (the summary says truncated)", 0 },
	{ "clear", OPT_CLEAR, NULL, 0, "Write-protect again the written pages reported (atomic get-and-clear); needs written in MASK", 0 },
	{ "format", 'f', "FORMAT", 0, "Output format: text (default) or json (JSON Lines)", 0 },
	{ 0 }
};

static error_t dump_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_dump_args *o = state->input;
	struct ps_err e = { 0 };
	long long n;

	switch (key) {
	case 'm':
		if (ps_mask_parse(arg, &o->mask, &e) < 0)
			ARG_ERR(state, e);
		o->have_mask = true;
		break;
	case 'r':
		parse_range(state, &o->ranges, arg);
		break;
	case 'M':
		if (ps_parse_int(arg, 1, LLONG_MAX, &n, &e) < 0)
			argp_error(state, "invalid --max-pages \"%s\": %s", arg, e.msg);
		o->max_pages = (uint64_t)n;
		break;
	case OPT_CLEAR:
		o->clear = true;
		break;
	case 'f':
		o->format = parse_format(state, arg, false);
		break;
	case ARGP_KEY_ARG:
		parse_pid_arg(state, &o->pid, arg);
		break;
	case ARGP_KEY_END:
		need_pid(state, o->pid);
		if (o->clear && (!o->have_mask || !(o->mask.mask & ~o->mask.inverted & PS_CAT_WRITTEN)))
			argp_error(state, "--clear needs \"written\" as a required term of --mask (e.g. -m written)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp dump_argp = {
	dump_options, dump_parse, "PID",
	"Report the target's pages by category, as compact address ranges.\v"
	"Categories: " PS_HELP_CATEGORIES ". "
	"\"written\" is only reported inside ranges that engage (or watch) tracks; "
	"\"swapped\" also covers write-protect and guard markers.\n\n"
	"Examples:\n"
	"  pagescan dump 1234                        present and swapped pages\n"
	"  pagescan dump 1234 -m 'present,!file' -r '[heap]'\n"
	"  pagescan dump 1234 -m written --clear -f json   after pagescan engage",
	NULL, ps_help_filter, NULL
};

/* ---- engage / release ---------------------------------------------------- */

static const struct argp_option engage_options[] = {
	{ "range", 'r', "RANGE", 0, "Only track this range or mapping (repeatable; default: every writable mapping)", 0 },
	{ "format", 'f', "FORMAT", 0, "Output format: text (default) or json", 0 },
	{ 0 }
};

static error_t engage_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_engage_args *o = state->input;

	switch (key) {
	case 'r':
		parse_range(state, &o->ranges, arg);
		break;
	case 'f':
		o->format = parse_format(state, arg, false);
		break;
	case ARGP_KEY_ARG:
		parse_pid_arg(state, &o->pid, arg);
		break;
	case ARGP_KEY_END:
		need_pid(state, o->pid);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp engage_argp = {
	engage_options, engage_parse, "PID",
	"Start persistent write tracking: a userfaultfd is created inside the target and left there, "
	"so later `pagescan dump PID -m written [--clear]` reports the pages written since.\v"
	"Tracking lasts until `pagescan release PID` or the target exits or execs. Mappings created "
	"later are not tracked (use watch for that).",
	NULL, NULL, NULL
};

static const struct argp_option release_options[] = {
	{ "fd", OPT_FD, "FD", 0, "Close this userfaultfd of the target (when several qualify, or one whose setup was cut short)", 0 },
	{ "format", 'f', "FORMAT", 0, "Output format: text (default) or json", 0 },
	{ "no-recollapse", OPT_NO_RECOLLAPSE, NULL, 0, "Leave the huge pages tracking split as they are (default: collapse them again, in pagescan's time)", 0 },
	{ 0 }
};

static error_t release_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_release_args *o = state->input;
	struct ps_err e = { 0 };
	long long n;

	switch (key) {
	case OPT_FD:
		if (ps_parse_int(arg, 0, INT32_MAX, &n, &e) < 0)
			argp_error(state, "invalid --fd \"%s\": %s", arg, e.msg);
		o->fd = (int)n;
		break;
	case 'f':
		o->format = parse_format(state, arg, false);
		break;
	case OPT_NO_RECOLLAPSE:
		o->no_recollapse = true;
		break;
	case ARGP_KEY_INIT:
		o->fd = -1;
		break;
	case ARGP_KEY_ARG:
		parse_pid_arg(state, &o->pid, arg);
		break;
	case ARGP_KEY_END:
		need_pid(state, o->pid);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp release_argp = {
	release_options, release_parse, "PID",
	"Stop persistent tracking: close, inside the target, the userfaultfd that engage left. "
	"All its pages lose their write protection; nothing of pagescan remains in the target.",
	NULL, NULL, NULL
};

/* ---- watch / run / demo -------------------------------------------------- */

#define WATCH_OPTIONS \
	{ "interval", 'i', "INTERVAL", 0, "Harvest every INTERVAL (default 1s; e.g. 100ms, 2s, 1m)", 0 }, \
	{ "count", 'n', "COUNT", 0, "Stop after COUNT intervals", 0 }, \
	{ "duration", 'd', "DURATION", 0, "Stop after DURATION (e.g. 30s, 5m)", 0 }, \
	{ "format", 'f', "FORMAT", 0, "Output format: text (default), json (JSON Lines) or csv", 0 }, \
	{ "accumulate", OPT_ACCUMULATE, NULL, 0, "Report the cumulative write set instead of per-interval writes (no re-protection)", 0 }, \
	{ "output", 'o', "FILE", 0, "Write the report to FILE instead of standard output", 0 }, \
	{ "quiet", 'q', NULL, 0, "Totals only, no region lists (text and JSON formats)", 0 }, \
	{ "heatmap", OPT_HEATMAP, "MODE", OPTION_ARG_OPTIONAL, "Live ncurses heatmap (MODE tui, the default), or text frames (MODE text)", 0 }, \
	{ "prom-file", OPT_PROM_FILE, "PATH", 0, "After every interval, atomically rewrite PATH with Prometheus metrics", 0 }, \
	{ "no-recollapse", OPT_NO_RECOLLAPSE, NULL, 0, "Leave the huge pages tracking split as they are (default: collapse them again at the end, in pagescan's time)", 0 }, \
	MAX_OVERHEAD_OPTION

#define MAX_OVERHEAD_OPTION \
	{ "max-overhead", OPT_MAX_OVERHEAD, "PCT", 0, "Keep the estimated time the target loses to write-protect faults under PCT % of each interval by stretching the interval (default 10; off: fixed intervals)", 0 }

/* watch and run: docs/soft-dirty.md. */
#define COMPARE_OPTION \
	{ "compare", OPT_COMPARE, "soft-dirty", 0, "Also report, each interval, the pages the kernel's soft-dirty bits mark and how many of them were not written (false positives); clears the target's soft-dirty bits every interval (needs CONFIG_MEM_SOFT_DIRTY)", 0 }

/* watch and run (one process): docs/sampling.md. */
#define SAMPLE_OPTIONS \
	{ "sample", OPT_SAMPLE, "FRACTION", 0, "Write-protect a fresh random FRACTION of the pages each interval (e.g. 1/16) and report estimated written pages, rate and write working set with 95 % confidence intervals; costs the target about FRACTION of exact tracking (default: exact)", 0 }, \
	{ "seed", OPT_SEED, "N", 0, "With --sample: seed the random choice of pages (default: from the clock; the start record gives it)", 0 }

static const struct argp_option watch_options[] = {
	{ "range", 'r', "RANGE", 0, "Only track this range or mapping (repeatable; default: every writable mapping)", 0 },
	WATCH_OPTIONS,
	{ "tree", OPT_TREE, NULL, 0, "Watch the PIDs and all their descendants; new ones are tracked from the next interval", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "Watch every process of the cgroup v2 directory PATH; processes joining are tracked from the next interval, those leaving dropped", 0 },
	{ "max-processes", OPT_MAX_PROCESSES, "N", 0, "Track at most N processes at once in a workload (default 64); more are reported and not tracked", 0 },
	COMPARE_OPTION,
	SAMPLE_OPTIONS,
	{ 0 }
};

/* --max-overhead PCT: a percentage in (0, 100] ("10", "2.5", "10%"), or off. */
static double parse_max_overhead(struct argp_state *state, const char *arg)
{
	if (strcmp(arg, "off") == 0)
		return 0;
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (end != arg && *end == '%')
		end++;
	if (errno || end == arg || *end || !(v > 0 && v <= 100))
		argp_error(state, "invalid --max-overhead \"%s\": give a percentage of the interval above 0 and up to 100 (e.g. 10), or off", arg);
	return v / 100;
}

static error_t watch_common(int key, char *arg, struct argp_state *state)
{
	struct ps_watch_args *o = state->input;
	struct ps_err e = { 0 };
	long long n;

	switch (key) {
	case 'i':
		if (ps_parse_duration(arg, &o->interval_ns, &e) < 0)
			argp_error(state, "invalid --interval \"%s\": %s", arg, e.msg);
		if (o->interval_ns < 10000000ull)
			argp_error(state, "--interval must be at least 10ms");
		break;
	case 'n':
		if (ps_parse_int(arg, 1, LLONG_MAX, &n, &e) < 0)
			argp_error(state, "invalid --count \"%s\": %s", arg, e.msg);
		o->count = (uint64_t)n;
		break;
	case 'd':
		if (ps_parse_duration(arg, &o->duration_ns, &e) < 0)
			argp_error(state, "invalid --duration \"%s\": %s", arg, e.msg);
		break;
	case 'f':
		o->format = parse_format(state, arg, true);
		o->have_format = true;
		break;
	case OPT_ACCUMULATE:
		o->accumulate = true;
		break;
	case 'o':
		if (!*arg)
			argp_error(state, "-o needs a file name (an empty one was given)");
		o->output = arg;
		break;
	case 'q':
		o->quiet = true;
		break;
	case OPT_HEATMAP:
		if (!arg || strcmp(arg, "tui") == 0)
			o->heatmap = "tui";
		else if (strcmp(arg, "text") == 0)
			o->heatmap = "text";
		else
			argp_error(state, "unknown heatmap mode \"%s\"; valid: tui, text", arg);
		break;
	case OPT_PROM_FILE:
		if (!*arg)
			argp_error(state, "--prom-file needs a file name (an empty one was given)");
		o->prom_file = arg;
		break;
	case OPT_NO_RECOLLAPSE:
		o->no_recollapse = true;
		break;
	case OPT_MAX_OVERHEAD:
		o->max_overhead = parse_max_overhead(state, arg);
		break;
	case OPT_SAMPLE:
		if (ps_sample_parse_fraction(arg, &o->sample_fraction, &e) < 0)
			ARG_ERR(state, e);
		break;
	case OPT_SEED: {
		uint64_t v;
		if (ps_parse_uint(arg, UINT64_MAX, &v, &e) < 0)
			argp_error(state, "invalid --seed \"%s\": %s", arg, e.msg);
		o->sample_seed = v;
		o->have_seed = true;
		break;
	}
	case OPT_COMPARE:
		if (strcmp(arg, "soft-dirty") != 0)
			argp_error(state, "unknown --compare \"%s\"; valid: soft-dirty", arg);
		o->compare_soft_dirty = true;
		break;
	case 'r':
		parse_range(state, &o->ranges, arg);
		break;
	case ARGP_KEY_INIT:
		o->interval_ns = 1000000000ull;
		o->max_overhead = PS_OVERHEAD_DEFAULT_BUDGET;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void watch_check(struct argp_state *state, const struct ps_watch_args *o)
{
	if (o->heatmap && o->have_format)
		argp_error(state, "--heatmap and --format cannot be combined");
	if (o->sample_fraction && o->compare_soft_dirty)
		argp_error(state, "--sample and --compare soft-dirty cannot be combined: the comparison needs every write");
	if (o->have_seed && !o->sample_fraction)
		argp_error(state, "--seed goes with --sample FRACTION");
	if (o->sample_fraction && o->accumulate)
		argp_error(state, "--sample estimates each interval's writes: drop --accumulate");
	if (o->sample_fraction && (o->npids > 1 || o->tree || o->cgroup))
		argp_error(state, "--sample watches one process: give one PID, without --tree or --cgroup");
	if (o->sample_fraction && o->argv && !o->no_follow_forks)
		argp_error(state, "--sample watches one process: add --no-follow-forks");
	if (o->compare_soft_dirty && o->accumulate)
		argp_error(state, "--compare soft-dirty compares each interval's writes: drop --accumulate");
}

static error_t watch_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_watch_args *o = state->input;
	struct ps_err e = { 0 };
	long long n;

	switch (key) {
	case ARGP_KEY_ARG: {
		pid_t pid = 0;
		if (o->npids >= PS_MAX_PIDS)
			argp_error(state, "too many PIDs (at most %d); use --tree or --cgroup for large workloads",
			           PS_MAX_PIDS);
		parse_pid_arg(state, &pid, arg);
		for (size_t i = 0; i < o->npids; i++)
			if (o->pids[i] == pid)
				argp_error(state, "PID %d given twice", (int)pid);
		o->pids[o->npids++] = pid;
		o->pid = o->pids[0];
		return 0;
	}
	case OPT_TREE:
		o->tree = true;
		return 0;
	case OPT_CGROUP:
		if (!*arg)
			argp_error(state, "--cgroup needs a cgroup v2 directory, e.g. /sys/fs/cgroup/system.slice/NAME.service");
		o->cgroup = arg;
		return 0;
	case OPT_MAX_PROCESSES:
		if (ps_parse_int(arg, 1, 1000000, &n, &e) < 0)
			argp_error(state, "invalid --max-processes \"%s\": %s", arg, e.msg);
		o->max_processes = (uint64_t)n;
		return 0;
	case ARGP_KEY_END:
		if (o->cgroup && o->npids)
			argp_error(state, "--cgroup takes no PID: give either PIDs or --cgroup PATH");
		if (o->cgroup && o->tree)
			argp_error(state, "--tree and --cgroup cannot be combined");
		if (o->cgroup && ps_cgroup_check(o->cgroup, &e) < 0)
			ARG_ERR(state, e);
		if (!o->cgroup)
			need_pid(state, o->pid);
		if (!o->max_processes)
			o->max_processes = PS_MAX_PROCESSES_DEFAULT;
		else if (o->npids > o->max_processes)
			argp_error(state, "%zu PIDs given but --max-processes %llu: raise --max-processes", o->npids,
			           (unsigned long long)o->max_processes);
		watch_check(state, o);
		return 0;
	default:
		return watch_common(key, arg, state);
	}
}

static const struct argp watch_argp = {
	watch_options, watch_parse, "PID [PID...]\n--tree PID [PID...]\n--cgroup PATH",
	"Watch live processes: every interval, report exactly which pages they wrote, "
	"the dirty rate, and per-mapping counts; a summary at the end. Several PIDs, --tree or --cgroup "
	"watch a workload: totals with the pages of shared mappings counted once, and per process.\v"
	"Tracking is transient: pagescan holds the only userfaultfd, so it ends however pagescan "
	"exits. Mappings created later are tracked from the next interval. Children the target forks "
	"are not tracked unless --tree is given. The watch ends after --count or --duration, on "
	"SIGINT/SIGTERM, or when the target (every process of a workload) exits or execs.",
	NULL, NULL, NULL
};

static const struct argp_option run_options[] = {
	{ "range", 'r', "RANGE", 0, "Only track this range or mapping (repeatable)", 0 },
	WATCH_OPTIONS,
	{ "user", OPT_USER, "USER[:GROUP]", 0, "Run CMD as USER (name or uid): its uid, primary group (or GROUP), supplementary groups, and HOME, USER, LOGNAME, SHELL; pagescan keeps its privileges", 0 },
	{ "preserve-env", OPT_PRESERVE_ENV, NULL, 0, "With --user: keep HOME, USER, LOGNAME and SHELL as they are", 0 },
	{ "no-follow-exec", OPT_NO_FOLLOW_EXEC, NULL, 0, "End the watch when the command execs another program (default: track the new program from its first instruction)", 0 },
	{ "no-follow-forks", OPT_NO_FOLLOW_FORKS, NULL, 0, "Track the command only, not the processes it forks (default: track every process it and its children make, from its first instruction)", 0 },
	{ "max-processes", OPT_MAX_PROCESSES, "N", 0, "Track at most N processes at once (default 64); more run on untracked and are reported", 0 },
	COMPARE_OPTION,
	SAMPLE_OPTIONS,
	{ 0 }
};

static error_t run_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_watch_args *o = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		/* The command and its arguments: everything from here on. */
		o->argv = &state->argv[state->next - 1];
		state->next = state->argc;
		return 0;
	case OPT_USER:
		o->user = arg;
		return 0;
	case OPT_PRESERVE_ENV:
		o->preserve_env = true;
		return 0;
	case OPT_NO_FOLLOW_EXEC:
		o->no_follow_exec = true;
		return 0;
	case OPT_NO_FOLLOW_FORKS:
		o->no_follow_forks = true;
		return 0;
	case OPT_MAX_PROCESSES: {
		long long n;
		struct ps_err e = { 0 };
		if (ps_parse_int(arg, 1, 1000000, &n, &e) < 0)
			argp_error(state, "invalid --max-processes \"%s\": %s", arg, e.msg);
		o->max_processes = (uint64_t)n;
		return 0;
	}
	case ARGP_KEY_END:
		if (!o->max_processes)
			o->max_processes = PS_MAX_PROCESSES_DEFAULT;
		if (!o->argv)
			argp_error(state, "missing command (pagescan run [OPTION...] -- CMD [ARG...])");
		if (o->preserve_env && !o->user)
			argp_error(state, "--preserve-env goes with --user");
		watch_check(state, o);
		return 0;
	default:
		return watch_common(key, arg, state);
	}
}

static const struct argp run_argp = {
	run_options, run_parse, "-- CMD [ARG...]",
	"Run CMD with write tracking engaged before its first instruction, watch it until it exits, "
	"and exit with its status (128+N when killed by signal N).\v"
	"Its standard input, output and error stay yours; use -o FILE to keep the report apart. When the "
	"command execs another program (env, sh -c 'exec ...', a shebang script), the new program is "
	"tracked from its first instruction; --no-follow-exec ends the watch there instead. Every process "
	"the command (or one of its children) forks is tracked too, from its first instruction: the report "
	"becomes a workload's (totals with shared pages once, and per process); --no-follow-forks tracks "
	"the command alone.",
	NULL, NULL, NULL
};

static const struct argp_option demo_options[] = {
	{ "no-heatmap", OPT_NO_HEATMAP, NULL, 0, "Print the text watch instead of the heatmap", 0 },
	{ "interval", 'i', "INTERVAL", 0, "Harvest every INTERVAL (default 1s)", 0 },
	{ "count", 'n', "COUNT", 0, "Stop after COUNT intervals", 0 },
	{ "duration", 'd', "DURATION", 0, "Stop after DURATION", 0 },
	{ "format", 'f', "FORMAT", 0, "With --no-heatmap: text, json or csv", 0 },
	{ "quiet", 'q', NULL, 0, "Totals only, no region lists (text and JSON formats)", 0 },
	MAX_OVERHEAD_OPTION,
	{ 0 }
};

static error_t demo_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_watch_args *o = state->input;

	switch (key) {
	case OPT_NO_HEATMAP:
		o->no_heatmap = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument \"%s\"", arg);
		return 0;
	case ARGP_KEY_END:
		return 0;
	default:
		return watch_common(key, arg, state);
	}
}

static const struct argp demo_argp = {
	demo_options, demo_parse, NULL,
	"Start a built-in workload (a sequential sweep, hot spots, a growing heap, a second thread) "
	"and watch it: the heatmap on a terminal, the text watch otherwise or with --no-heatmap.",
	NULL, NULL, NULL
};

/* ---- report -------------------------------------------------------------- */

static const struct argp_option report_options[] = {
	{ "format", 'f', "FORMAT", 0, "Output format: text (default) or json", 0 },
	{ "bandwidth", OPT_BANDWIDTH, "RATE", 0, "Pre-copy simulation: link bandwidth in bytes per second (K/M/G suffixes, e.g. 1G)", 0 },
	{ "downtime", OPT_DOWNTIME, "TIME", 0, "Pre-copy simulation: acceptable final downtime (e.g. 300ms)", 0 },
	{ "max-rounds", OPT_MAX_ROUNDS, "N", 0, "Pre-copy simulation: give up after N rounds (default 30)", 0 },
	{ "svg", OPT_SVG, "FILE", 0, "Also write a time x address heatmap and the dirty rate as one SVG file", 0 },
	{ 0 }
};

static error_t report_parse(int key, char *arg, struct argp_state *state)
{
	struct ps_report_args *o = state->input;
	struct ps_err e = { 0 };
	long long n;

	switch (key) {
	case 'f':
		o->format = parse_format(state, arg, false);
		break;
	case OPT_BANDWIDTH:
		if (ps_parse_size(arg, &o->bandwidth, &e) < 0 || o->bandwidth == 0)
			argp_error(state, "invalid --bandwidth \"%s\": %s", arg, e.msg[0] ? e.msg : "must be > 0");
		break;
	case OPT_DOWNTIME:
		if (ps_parse_duration(arg, &o->downtime_ns, &e) < 0)
			argp_error(state, "invalid --downtime \"%s\": %s", arg, e.msg);
		break;
	case OPT_MAX_ROUNDS:
		if (ps_parse_int(arg, 1, 100000, &n, &e) < 0)
			argp_error(state, "invalid --max-rounds \"%s\": %s", arg, e.msg);
		o->max_rounds = (uint64_t)n;
		break;
	case OPT_SVG:
		if (!*arg)
			argp_error(state, "--svg needs a file name (an empty one was given)");
		o->svg_out = arg;
		break;
	case ARGP_KEY_ARG:
		if (o->file)
			argp_error(state, "unexpected argument \"%s\" (one recording only)", arg);
		if (!*arg)
			argp_error(state, "the recording's file name is empty: give FILE, or - for standard input");
		o->file = arg;
		break;
	case ARGP_KEY_END:
		if ((o->bandwidth != 0) != (o->downtime_ns != 0))
			argp_error(state, "--bandwidth and --downtime go together");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp report_argp = {
	report_options, report_parse, "[FILE|-]",
	"Analyse a recording made with `pagescan watch -f json -o FILE`: dirty-rate statistics, the "
	"write working set against window length, per-mapping write statistics and, with --bandwidth "
	"and --downtime, an iterative pre-copy (live migration) convergence estimate.",
	NULL, NULL, NULL
};

/* ---- top level ------------------------------------------------------------ */

/* Each command's options, parsed by its own argp parser. */
union args {
	struct ps_dump_args dump;
	struct ps_engage_args engage;
	struct ps_release_args release;
	struct ps_watch_args watch;
	struct ps_report_args report;
};

static int run_dump(const union args *a, struct ps_err *err) { return ps_cmd_dump(&a->dump, err); }
static int run_engage(const union args *a, struct ps_err *err) { return ps_cmd_engage(&a->engage, err); }
static int run_release(const union args *a, struct ps_err *err) { return ps_cmd_release(&a->release, err); }
static int run_watch(const union args *a, struct ps_err *err) { return ps_cmd_watch(&a->watch, err); }
static int run_run(const union args *a, struct ps_err *err) { return ps_cmd_run(&a->watch, err); }
static int run_demo(const union args *a, struct ps_err *err) { return ps_cmd_demo(&a->watch, err); }
static int run_report(const union args *a, struct ps_err *err) { return ps_cmd_report(&a->report, err); }

struct command {
	const char *name;
	const struct argp *argp;
	int (*run)(const union args *a, struct ps_err *err);
	bool changes_target;       /* short, bounded, and must not stop half way */
};

static const struct command commands[] = {
	{ "dump", &dump_argp, run_dump, false },
	{ "engage", &engage_argp, run_engage, true },
	{ "release", &release_argp, run_release, true },
	{ "watch", &watch_argp, run_watch, false },
	{ "run", &run_argp, run_run, false },
	{ "demo", &demo_argp, run_demo, false },
	{ "report", &report_argp, run_report, false },
};

static const struct command *selected;
static int sub_argc;
static char **sub_argv;

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			if (strcmp(arg, commands[i].name) == 0) {
				selected = &commands[i];
				sub_argc = state->argc - state->next + 1;
				sub_argv = &state->argv[state->next - 1];
				state->next = state->argc;
				return 0;
			}
		}
		argp_error(state, "unknown command \"%s\"; commands: dump, engage, release, watch, run, demo, report", arg);
		return 0;
	case ARGP_KEY_END:
		if (!selected)
			argp_error(state, "missing command; commands: dump, engage, release, watch, run, demo, report");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp top_argp = {
	NULL, top_parse, "COMMAND [ARG...]",
	"Exact written-page tracking for live Linux processes (userfaultfd asynchronous write-protect "
	"and PAGEMAP_SCAN, Linux 6.7+).\v"
	"Commands:\n"
	"  dump PID      report page categories as address ranges\n"
	"  engage PID    start persistent write tracking\n"
	"  release PID   stop persistent write tracking\n"
	"  watch PID     report written pages and dirty rate every interval\n"
	"  run -- CMD    run a command and watch it from its first instruction\n"
	"  demo          watch a built-in workload\n"
	"  report FILE   analyse a recording (working set, pre-copy estimate, SVG)\n\n"
	"`pagescan COMMAND --help` describes each command. Exit status: 0 success, 1 failure, "
	"64 usage error.",
	NULL, NULL, NULL
};

static void block_signals(void)
{
	/* SIGCHLD: waited for with sigtimedwait/signalfd. The rest are read
	 * through a signalfd in watch, and otherwise must not interrupt an
	 * injection half way (ending pagescan then would kill a target that holds
	 * borrowed registers); commands that block are bounded. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* EPIPE is handled where output is written */
}

int main(int argc, char **argv)
{
	static union args a; /* large (the -r ranges): not on the stack */
	struct ps_err err = { 0 };

	if (getuid() != geteuid() || getgid() != getegid()) {
		fputs("pagescan: refusing to run set-uid or set-gid; run it as root or grant CAP_SYS_PTRACE instead\n", stderr);
		return PS_EXIT_FAIL;
	}
	/* The kernel's page size, before the options (ranges are rounded to
	 * pages); report reads the recording's instead. */
	long page = sysconf(_SC_PAGESIZE);
	bool page_ok = page > 0 && ps_page_size_set((uint64_t)page) == 0;
	argp_parse(&top_argp, argc, argv, ARGP_IN_ORDER, NULL, NULL);

	char name[64];
	snprintf(name, sizeof(name), "pagescan %s", selected->name);
	sub_argv[0] = name;
	argp_parse(selected->argp, sub_argc, sub_argv, ARGP_IN_ORDER, NULL, &a);

	if (!page_ok && strcmp(selected->name, "report") != 0) {
		fprintf(stderr, "pagescan: this kernel uses %ld-byte pages; pagescan supports 4, 8, 16, 32 and 64 KiB pages\n",
		        page);
		return PS_EXIT_FAIL;
	}
	block_signals();
	/* Several descriptors per tracked process: a tree of a few hundred
	 * would not fit in the usual soft limit of 1024. */
	ps_nofile_raise();
	if (selected->changes_target) {
		/* Short, bounded commands that change the target: a stray signal
		 * must not stop them half way (engage would leave a userfaultfd
		 * in the target). Signals stay pending until exit. */
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
	}
	int rc = selected->run(&a, &err);
	if (rc != PS_EXIT_OK && err.msg[0])
		fprintf(stderr, "pagescan: %s\n", err.msg);
	if (fflush(stdout) != 0 && rc == PS_EXIT_OK && errno != EPIPE) {
		fprintf(stderr, "pagescan: cannot write the output: %s\n", strerror(errno));
		rc = PS_EXIT_FAIL;
	}
	return rc;
}
