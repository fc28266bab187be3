/* SPDX-License-Identifier: MIT */
/* The inputs of the observer-effect estimate (model/overhead.h,
 * docs/overhead.md): the cost of one write-protect fault on this machine,
 * measured in pagescan's own process, and the target's CPU time and minor
 * faults from /proc/PID/stat. */
#ifndef PAGESCAN_WPCOST_H
#define PAGESCAN_WPCOST_H

#include <stdbool.h>

#include "pagescan/kernel/target.h"
#include "pagescan/model/overhead.h"

struct ps_wpcost {
	double fault_ns;           /* one asynchronous write-protect fault */
	bool calibrated;           /* measured; false: PS_WPCOST_DEFAULT_NS */
};

/* Time first writes to write-protected pages of a small WP_ASYNC region of
 * pagescan's own against writes to the same pages unprotected (a few ms).
 * Falls back to the default when userfaultfd is unavailable; never fails. */
void ps_wpcost_calibrate(struct ps_wpcost *ret);

/* The target's counters now; ret->valid false when /proc/PID/stat cannot be
 * read (the estimate then goes without them). */
void ps_wpcost_sample(const struct ps_target *t, struct ps_proc_sample *ret);

/* One clock tick of /proc/PID/stat's times, in seconds. */
double ps_wpcost_tick_s(void);

#endif
