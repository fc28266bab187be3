/* SPDX-License-Identifier: MIT */
/* The observer effect: the estimate and the budget (see overhead.h and
 * docs/overhead.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/overhead.h"
#include "pagescan/model/util.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

int ps_proc_stat_parse(const char *buf, size_t len, struct ps_proc_sample *ret)
{
	*ret = (struct ps_proc_sample){ 0 };
	const char *p = NULL;
	for (size_t i = len; i > 0; i--) {
		if (buf[i - 1] == ')') {
			p = buf + i;
			break;
		}
	}
	if (!p)
		return -EINVAL;
	/* After "pid (comm)": state is field 3; minflt 10, utime 14, stime 15. */
	const char *end = buf + len;
	uint64_t v[16] = { 0 };
	int field = 3;
	while (field <= 15) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			return -EINVAL;
		const char *tok = p;
		while (p < end && *p != ' ' && *p != '\n')
			p++;
		if (field >= 4) {
			uint64_t x = 0;
			for (const char *q = tok; q < p; q++) {
				if (*q < '0' || *q > '9') {
					if (field == 10 || field == 14 || field == 15)
						return -EINVAL;
					break;
				}
				x = x * 10 + (uint64_t)(*q - '0');
			}
			v[field] = x;
		}
		field++;
	}
	ret->minflt = v[10];
	ret->cpu_ticks = v[14] + v[15];
	ret->stime_ticks = v[15];
	ret->valid = true;
	return 0;
}

void ps_overhead_estimate(const struct ps_overhead_in *in, struct ps_overhead *ret)
{
	*ret = (struct ps_overhead){ .known = in->elapsed_s > 0, .cpu_share = -1, .cpu_s = -1 };
	if (!ret->known)
		return;
	uint64_t faults = in->written_pages;
	bool counters = in->before.valid && in->after.valid && in->after.minflt >= in->before.minflt &&
	                in->after.cpu_ticks >= in->before.cpu_ticks;
	double fault_ns = in->fault_ns;
	if (counters) {
		/* Every write-protect fault is a minor fault of the target: fewer
		 * minor faults than written pages means some pages were written
		 * without one (a huge page a single fault filled, a write by the
		 * kernel). */
		uint64_t minflt = in->after.minflt - in->before.minflt;
		faults = MIN(faults, minflt);
		/* The target's own cost per fault, where its faults are most of
		 * its system time (ps_overhead_estimate() in overhead.h). */
		if (in->after.stime_ticks >= in->before.stime_ticks + PS_OVERHEAD_OWN_TICKS && minflt > 0) {
			double sys_s = (double)(in->after.stime_ticks - in->before.stime_ticks) * in->tick_s;
			double own_ns = sys_s / (double)minflt * 1e9;
			if ((double)faults * fault_ns / 1e9 >= PS_OVERHEAD_OWN_SHARE * sys_s && own_ns > fault_ns) {
				fault_ns = own_ns;
				ret->own_cost = true;
			}
		}
	}
	double fault_s = (double)faults * fault_ns / 1e9;
	if (counters) {
		/* The faults run in the target's own time (system time): they
		 * cannot have taken more than it had, give or take one tick. */
		double cpu_s = (double)(in->after.cpu_ticks - in->before.cpu_ticks) * in->tick_s;
		fault_s = MIN(fault_s, cpu_s + in->tick_s);
		ret->cpu_s = cpu_s;
		if (cpu_s > 0)
			ret->cpu_share = MIN(fault_s / cpu_s, 1.0);
	}
	ret->fault_ns = fault_ns;
	ret->faults = faults;
	ret->fault_s = fault_s;
	ret->share = fault_s / in->elapsed_s;
}

double ps_overhead_level(const struct ps_overhead *o)
{
	if (o->cpu_s >= PS_OVERHEAD_MIN_CPU_S && o->cpu_share > o->share)
		return o->cpu_share;
	return o->share;
}

void ps_budget_init(struct ps_budget *b, double budget, uint64_t base_ns)
{
	uint64_t max = MAX(PS_BUDGET_MAX_NS, base_ns);
	*b = (struct ps_budget){ .budget = budget, .base_ns = base_ns, .max_ns = max, .cur_ns = base_ns };
}

uint64_t ps_budget_next(struct ps_budget *b, struct ps_overhead *o)
{
	o->over_budget = false;
	if (b->budget <= 0 || !o->known)
		return b->cur_ns;
	double level = ps_overhead_level(o);
	double next = (double)b->cur_ns;
	if (level > b->budget && b->cur_ns >= b->max_ns) {
		/* Stretching further is not allowed: say so. */
		o->over_budget = true;
	}
	if (level > b->budget)
		next *= MAX(2.0, level / b->budget);
	else if (level < b->budget / 3)
		next *= MIN(0.5, level / (b->budget / 2));
	if (next > (double)b->max_ns)
		next = (double)b->max_ns;
	if (next < (double)b->base_ns)
		next = (double)b->base_ns;
	/* Whole milliseconds (the records print them); -i itself as it is.
	 * (A microsecond more: 60 s x 0.2 is 11.999999... s in doubles.) */
	uint64_t ns = (uint64_t)next;
	if (ns != b->base_ns && ns != b->max_ns)
		ns = (ns + 1000) / 1000000 * 1000000;
	b->cur_ns = MAX(ns, b->base_ns);
	return b->cur_ns;
}

void ps_overhead_add(struct ps_overhead_summary *s, const struct ps_overhead *o, double elapsed_s,
                     uint64_t asked_ns, uint64_t base_ns)
{
	if (asked_ns > base_ns)
		s->stretched++;
	if (o->over_budget)
		s->over_budget++;
	if ((double)asked_ns / 1e9 > s->longest_s)
		s->longest_s = (double)asked_ns / 1e9;
	if (!o->known)
		return;
	s->known = true;
	if (o->own_cost)
		s->own_cost++;
	s->fault_s += o->fault_s;
	s->elapsed_s += elapsed_s;
	s->share = s->elapsed_s > 0 ? s->fault_s / s->elapsed_s : 0;
	s->max_share = MAX(s->max_share, o->share);
	if (o->cpu_s >= 0) {
		s->cpu_s += o->cpu_s;
		s->cpu_fault_s += o->fault_s;
	}
	s->cpu_share = s->cpu_s > 0 ? MIN(s->cpu_fault_s / s->cpu_s, 1.0) : -1;
}
