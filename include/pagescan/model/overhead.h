/* SPDX-License-Identifier: MIT */
/* The observer effect (docs/overhead.md): what tracking costs the target,
 * estimated each interval from figures pagescan gets without touching it,
 * and the budget that stretches the interval when the estimate exceeds it.
 * Pure arithmetic: the inputs (the calibrated cost of one write-protect
 * fault, the target's CPU time and minor faults) come from kernel/wpcost.h. */
#ifndef PAGESCAN_OVERHEAD_H
#define PAGESCAN_OVERHEAD_H

#include <stdbool.h>
#include <stdint.h>

/* Used when calibrating is impossible (no userfaultfd in pagescan's own
 * process): the cost measured on the reference machine (docs/overhead.md). */
#define PS_WPCOST_DEFAULT_NS 1300.0

/* The default budget, as a share of the interval (--max-overhead 10). */
#define PS_OVERHEAD_DEFAULT_BUDGET 0.10
/* How far the budget stretches the interval: at most 60 s, whatever -i
 * (but never below -i itself). A bound relative to -i (it was 64 x -i)
 * left a 1 GiB writer at -i 100ms at 6.4 s and several times the budget
 * (bench/results/cost.md). */
#define PS_BUDGET_MAX_NS 60000000000ull

/* The target's counters (/proc/PID/stat) at one moment. */
struct ps_proc_sample {
	bool valid;
	uint64_t cpu_ticks;        /* utime + stime, in clock ticks */
	uint64_t stime_ticks;      /* stime alone (the faults are system time) */
	uint64_t minflt;
};

/* Parse /proc/PID/stat (the command may hold spaces and parentheses: the
 * fields are counted after the last ')'). 0, or -EINVAL. */
int ps_proc_stat_parse(const char *buf, size_t len, struct ps_proc_sample *ret);

/* One interval's estimate. */
struct ps_overhead {
	bool known;                /* false: nothing to estimate from (no harvest) */
	uint64_t faults;           /* write-protect faults counted: pages written that
	                            * faulted (interval: written pages; accumulate: new
	                            * ones), bounded by the target's minor faults */
	double fault_ns;           /* the cost of one fault used: the calibrated one, or the
	                            * target's own (ps_overhead_estimate) when larger */
	bool own_cost;             /* fault_ns is the target's own */
	double fault_s;            /* faults x fault_ns, bounded by its CPU time */
	double share;              /* fault_s / elapsed_s: the target's slowdown when one
	                            * thread does the writing (> 1 possible with several) */
	double cpu_share;          /* fault_s / the target's CPU time in the interval; < 0
	                            * when unknown (no /proc/PID/stat, or no CPU time) */
	double cpu_s;              /* the target's CPU time in the interval; < 0 unknown */
	bool over_budget;          /* set by ps_budget_next: over the budget in an interval
	                            * already as long as the budget allows: the budget
	                            * cannot be kept (said plainly, not stretched further) */
};

struct ps_overhead_in {
	double elapsed_s;
	uint64_t written_pages;    /* the interval's new writes (accumulate: new pages) */
	double fault_ns;           /* the calibrated cost of one fault */
	struct ps_proc_sample before, after; /* the target's counters around the interval */
	double tick_s;             /* one clock tick (1/CLK_TCK) */
};

/* faults x the cost of one fault, bounded by the target's CPU time. The
 * cost is the calibrated one, except in an interval whose faults make at
 * least half the target's system time even at the calibrated cost
 * (PS_OVERHEAD_OWN_SHARE, and at least PS_OVERHEAD_OWN_TICKS of it): there
 * the target's own system time per minor fault, when larger. A fault in a
 * large address space costs more than in pagescan's small calibration
 * region; with half the system time known to be faults, this
 * over-estimates by at most 2x, where the calibrated cost under-estimated
 * up to 9x (docs/overhead.md). */
#define PS_OVERHEAD_OWN_SHARE 0.5
#define PS_OVERHEAD_OWN_TICKS 2
void ps_overhead_estimate(const struct ps_overhead_in *in, struct ps_overhead *ret);

/* What the budget compares: the share of the interval, or the share of the
 * target's CPU time when larger and measurable (the target ran at least
 * PS_OVERHEAD_MIN_CPU_S in the interval; /proc/PID/stat counts in clock
 * ticks). A CPU-bound target that gets only part of a CPU loses cpu_share
 * of its progress, more than share says (docs/overhead.md). */
#define PS_OVERHEAD_MIN_CPU_S 0.1
double ps_overhead_level(const struct ps_overhead *o);

/* The budget controller: the next interval from the last estimate (its
 * level, ps_overhead_level).
 *   stretch  level > budget: the next interval is longer, by level/budget
 *            (at least 2x), at most the maximum;
 *   relax    level < budget/3: shorter, to where a target that keeps
 *            rewriting the same pages would be at half the budget (its
 *            share grows as the interval shrinks), at least halved, never
 *            below -i: a target that stopped writing is back at -i after
 *            one interval;
 *   hold     otherwise.
 * An interval over the budget that was already the maximum sets
 * o->over_budget: the budget cannot be kept. */
struct ps_budget {
	double budget;             /* share of the interval; 0 = off (fixed intervals) */
	uint64_t base_ns;          /* -i */
	uint64_t max_ns;           /* the longest stretch */
	uint64_t cur_ns;           /* the interval being timed now */
};

void ps_budget_init(struct ps_budget *b, double budget, uint64_t base_ns);
/* The next interval after one that ended with estimate o. */
uint64_t ps_budget_next(struct ps_budget *b, struct ps_overhead *o);

/* The watch's sums, for the end record. */
struct ps_overhead_summary {
	bool known;
	double fault_s;            /* summed over the intervals */
	double share;              /* fault_s / the duration summed over the intervals */
	double max_share;          /* the worst interval */
	double cpu_share;          /* fault_s / the CPU time summed; < 0 unknown */
	uint64_t stretched;        /* intervals longer than -i */
	uint64_t over_budget;      /* intervals over the budget at the longest stretch */
	uint64_t own_cost;         /* intervals estimated with the target's own cost */
	double longest_s;          /* the longest interval asked */
	double fault_ns;           /* the calibrated cost (or the default) */
	bool calibrated;           /* fault_ns was measured (else the default) */
	double budget;             /* 0 = off */
	/* internal sums */
	double elapsed_s, cpu_s, cpu_fault_s;
};

void ps_overhead_add(struct ps_overhead_summary *s, const struct ps_overhead *o, double elapsed_s,
                     uint64_t asked_ns, uint64_t base_ns);

#endif
