/* SPDX-License-Identifier: MIT */
/* The observer effect (model/overhead.h): parsing /proc/PID/stat, the
 * estimate and its bounds, the budget controller (stretch, hold, relax,
 * bounds), and the watch's sums. */
#include <errno.h>
#include <string.h>

#include "pagescan/model/overhead.h"
#include "tap.h"

#define MS 1000000ull
#define EPS 1e-9

static void test_stat_parse(void)
{
	/* comm with spaces and a ')' of its own: fields count after the last ')' */
	const char *st = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 777 0 3 0 120 35 0 0 20 0 2 0 100 0 0\n";
	struct ps_proc_sample s;
	is_int(ps_proc_stat_parse(st, strlen(st), &s), 0, "stat: parsed");
	ok(s.valid, "stat: valid");
	is_u64(s.minflt, 777, "stat: minflt (field 10)");
	is_u64(s.cpu_ticks, 155, "stat: utime + stime (fields 14, 15)");
	is_u64(s.stime_ticks, 35, "stat: stime (field 15)");
	const char *cut = "4242 (x) S 1 4242 4242 0 -1 4194560 777";
	is_int(ps_proc_stat_parse(cut, strlen(cut), &s), -EINVAL, "stat: cut short");
	ok(!s.valid, "stat: cut short is not valid");
	is_int(ps_proc_stat_parse("garbage", 7, &s), -EINVAL, "stat: no ')'");
}

static struct ps_proc_sample sample(uint64_t ticks, uint64_t minflt)
{
	return (struct ps_proc_sample){ .valid = true, .cpu_ticks = ticks, .minflt = minflt };
}

static void test_estimate(void)
{
	struct ps_overhead o;
	/* No counters: written pages x cost, over the interval. */
	struct ps_overhead_in in = { .elapsed_s = 1.0, .written_pages = 10000, .fault_ns = 2000, .tick_s = 0.01 };
	ps_overhead_estimate(&in, &o);
	ok(o.known, "estimate: known");
	is_u64(o.faults, 10000, "estimate: faults = written pages without counters");
	is_dbl(o.fault_s, 0.02, EPS, "estimate: 10000 x 2 us");
	is_dbl(o.share, 0.02, EPS, "estimate: share of 1 s");
	ok(o.cpu_share < 0 && o.cpu_s < 0, "estimate: CPU share unknown without counters");

	/* Counters: fewer minor faults than written pages bound the faults. */
	in.before = sample(100, 5000);
	in.after = sample(150, 11000); /* 6000 faults, 0.5 s of CPU */
	ps_overhead_estimate(&in, &o);
	is_u64(o.faults, 6000, "estimate: faults bounded by the minor faults");
	is_dbl(o.fault_s, 0.012, EPS, "estimate: 6000 x 2 us");
	is_dbl(o.cpu_s, 0.5, EPS, "estimate: CPU time from ticks");
	is_dbl(o.cpu_share, 0.024, EPS, "estimate: share of its CPU time");

	/* The fault time cannot exceed its CPU time (plus one tick). */
	in.written_pages = 1000000;
	in.after = sample(110, 2000000); /* 0.1 s of CPU */
	ps_overhead_estimate(&in, &o);
	is_dbl(o.fault_s, 0.11, EPS, "estimate: bounded by CPU time + one tick");
	is_dbl(o.cpu_share, 1.0, EPS, "estimate: CPU share at most 1");

	/* Counters going backwards (an exec'd image, a reused pid): ignored. */
	in.written_pages = 100;
	in.after = sample(50, 10);
	ps_overhead_estimate(&in, &o);
	is_u64(o.faults, 100, "estimate: backwards counters ignored");
	ok(o.cpu_share < 0, "estimate: no CPU share from backwards counters");

	in.elapsed_s = 0;
	ps_overhead_estimate(&in, &o);
	ok(!o.known, "estimate: unknown for an empty interval");
}

static struct ps_proc_sample sample_sys(uint64_t ticks, uint64_t stime, uint64_t minflt)
{
	return (struct ps_proc_sample){ .valid = true, .cpu_ticks = ticks, .stime_ticks = stime, .minflt = minflt };
}

/* The target's own cost per fault: taken where its faults are at least half
 * its system time at the calibrated cost, and only when larger. */
static void test_estimate_own_cost(void)
{
	struct ps_overhead o;
	struct ps_overhead_in in = { .elapsed_s = 1.0, .written_pages = 400000, .fault_ns = 1000, .tick_s = 0.01,
	                             .before = sample_sys(0, 0, 0) };

	/* Fault-bound: 400,000 faults are 0.4 s at 1 us, half of its 0.8 s
	 * of system time; 0.8 s over 500,000 minor faults is 1.6 us each. */
	in.after = sample_sys(100, 80, 500000);
	ps_overhead_estimate(&in, &o);
	is_dbl(o.fault_ns, 1600, 1e-6, "own cost: system time per minor fault");
	is_dbl(o.fault_s, 0.64, EPS, "own cost: 400000 x 1.6 us");
	is_dbl(o.cpu_share, 0.64, EPS, "own cost: share of its CPU time");

	/* Just under half: the calibrated cost stays. */
	in.written_pages = 399999;
	ps_overhead_estimate(&in, &o);
	is_dbl(o.fault_ns, 1000, EPS, "own cost: not where the faults are under half the system time");

	/* A target whose system time is mostly system calls (a server): its
	 * few faults keep the calibrated cost. */
	in.written_pages = 1000;
	in.after = sample_sys(100, 50, 1000);
	ps_overhead_estimate(&in, &o);
	is_dbl(o.fault_ns, 1000, EPS, "own cost: not for a target busy in system calls");
	is_dbl(o.fault_s, 0.001, EPS, "own cost: 1000 x 1 us");

	/* Cheaper than calibrated: the calibration is the floor. */
	in.written_pages = 100000;
	in.after = sample_sys(100, 2, 100000);
	ps_overhead_estimate(&in, &o);
	is_dbl(o.fault_ns, 1000, EPS, "own cost: never below the calibrated one");

	/* Under two ticks of system time: too coarse to divide (5,000 faults
	 * are half of one tick at 1 us, and one tick over them is 2 us). */
	in.after = sample_sys(100, 1, 5000);
	in.written_pages = 5000;
	ps_overhead_estimate(&in, &o);
	is_dbl(o.fault_ns, 1000, EPS, "own cost: not from a single tick");

	/* Without counters: the calibrated cost. */
	in.after.valid = false;
	ps_overhead_estimate(&in, &o);
	is_dbl(o.fault_ns, 1000, EPS, "own cost: calibrated without counters");
}

static struct ps_overhead share(double s)
{
	return (struct ps_overhead){ .known = true, .share = s, .cpu_share = -1, .cpu_s = -1 };
}

static void test_budget(void)
{
	struct ps_budget b;
	ps_budget_init(&b, 0.10, 100 * MS);
	is_u64(b.cur_ns, 100 * MS, "budget: starts at -i");
	is_u64(b.max_ns, 60000 * MS, "budget: max 60 s, whatever -i");

	/* stretch: at least 2x, else share/budget */
	struct ps_overhead o = share(0.11);
	is_u64(ps_budget_next(&b, &o), 200 * MS, "stretch: just over the budget doubles");
	o = share(0.80);
	is_u64(ps_budget_next(&b, &o), 1600 * MS, "stretch: 8x the budget, 8x longer");
	/* hold between a third of the budget and the budget */
	o = share(0.10);
	is_u64(ps_budget_next(&b, &o), 1600 * MS, "hold: at the budget");
	o = share(0.04);
	is_u64(ps_budget_next(&b, &o), 1600 * MS, "hold: above a third of it");
	ok(!o.over_budget, "over: not while it can stretch");
	/* bounds: never beyond the maximum; over it there, said so */
	o = share(50.0);
	is_u64(ps_budget_next(&b, &o), 60000 * MS, "bound: at most 60 s");
	ok(!o.over_budget, "over: not when the interval that ended could still stretch");
	is_u64(ps_budget_next(&b, &o), 60000 * MS, "bound: stays at the maximum");
	ok(o.over_budget, "over: over the budget at the maximum");
	o = share(0.08);
	is_u64(ps_budget_next(&b, &o), 60000 * MS, "hold: at the maximum, under the budget");
	ok(!o.over_budget, "over: not under the budget");
	/* relax: to where the share would be half the budget (level x cur /
	 * next = budget / 2), at least halved, never below -i */
	o = share(0.01);
	uint64_t want[] = { 12000, 2400, 480, 100, 100 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_u64(ps_budget_next(&b, &o), want[i] * MS, "relax: step %zu", i);
	o = share(50.0);
	ps_budget_next(&b, &o);
	o = share(0.03);
	is_u64(ps_budget_next(&b, &o), 25000 * MS, "relax: just under a third of the budget halves");
	o = share(0);
	is_u64(ps_budget_next(&b, &o), 100 * MS, "relax: nothing written, back to -i at once");
	/* unknown estimates change nothing */
	o = (struct ps_overhead){ 0 };
	is_u64(ps_budget_next(&b, &o), 100 * MS, "unknown: unchanged");

	/* off: fixed intervals whatever the estimate */
	ps_budget_init(&b, 0, 100 * MS);
	o = share(5.0);
	is_u64(ps_budget_next(&b, &o), 100 * MS, "off: fixed");

	/* the 60 s ceiling, and -i above it */
	ps_budget_init(&b, 0.10, 2000 * MS);
	is_u64(b.max_ns, 60000 * MS, "bound: at most 60 s");
	ps_budget_init(&b, 0.10, 120000 * MS);
	is_u64(b.max_ns, 120000 * MS, "bound: never below -i");
	o = share(1.0);
	is_u64(ps_budget_next(&b, &o), 120000 * MS, "bound: -i above 60 s is not stretched");

	/* the share of its CPU time, once it ran long enough to measure it */
	ps_budget_init(&b, 0.10, 100 * MS);
	o = (struct ps_overhead){ .known = true, .share = 0.05, .cpu_share = 0.40, .cpu_s = 0.125 };
	is_dbl(ps_overhead_level(&o), 0.40, EPS, "level: CPU share when larger and measurable");
	is_u64(ps_budget_next(&b, &o), 400 * MS, "stretch: by the CPU share of a starved target");
	o.cpu_s = 0.05;
	is_dbl(ps_overhead_level(&o), 0.05, EPS, "level: the interval's share under 0.1 s of CPU");
	o = (struct ps_overhead){ .known = true, .share = 1.5, .cpu_share = 0.75, .cpu_s = 2.0 };
	is_dbl(ps_overhead_level(&o), 1.5, EPS, "level: the interval's share when larger (several threads)");

	/* odd lengths are whole milliseconds */
	ps_budget_init(&b, 0.10, 30 * MS);
	o = share(0.333);
	is_u64(ps_budget_next(&b, &o), 99 * MS, "stretch: whole milliseconds");
}

static void test_summary(void)
{
	struct ps_overhead_summary s = { .cpu_share = -1 };
	struct ps_overhead a = { .known = true, .fault_s = 0.1, .share = 0.1, .cpu_share = 0.2, .cpu_s = 0.5 };
	struct ps_overhead b = { .known = true, .fault_s = 0.3, .share = 0.15, .cpu_share = -1, .cpu_s = -1 };
	ps_overhead_add(&s, &a, 1.0, 100 * MS, 100 * MS);
	b.over_budget = true;
	b.own_cost = true;
	ps_overhead_add(&s, &b, 2.0, 400 * MS, 100 * MS);
	ok(s.known, "summary: known");
	is_dbl(s.fault_s, 0.4, EPS, "summary: fault time summed");
	is_dbl(s.share, 0.4 / 3.0, EPS, "summary: share of the summed time");
	is_dbl(s.max_share, 0.15, EPS, "summary: worst interval");
	is_dbl(s.cpu_share, 0.2, EPS, "summary: CPU share over the intervals that have one");
	is_u64(s.stretched, 1, "summary: stretched intervals counted");
	is_u64(s.over_budget, 1, "summary: intervals over the budget at the maximum counted");
	is_dbl(s.longest_s, 0.4, EPS, "summary: longest interval asked");
	is_u64(s.own_cost, 1, "summary: intervals estimated with the target's own cost counted");
}

int main(void)
{
	test_stat_parse();
	test_estimate();
	test_estimate_own_cost();
	test_budget();
	test_summary();
	return tap_done();
}
