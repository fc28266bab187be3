/* SPDX-License-Identifier: MIT */
/* Calibrating the write-protect fault, and sampling the target's counters
 * (see wpcost.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/kernel/wpcost.h"
#include "pagescan/model/util.h"

/* 1 MiB of 4 KiB pages: enough faults to time (0.3-4 ms a pass at 1.3-15 us
 * a fault), little memory: the region is pagescan's largest allocation, so
 * its peak RSS (4 MiB of pages made it 7 MiB instead of 4). */
#define CAL_PAGES 256u
#define CAL_ROUNDS 5u
#define CAL_STRIDE 389u        /* odd: visits every page, defeats the prefetcher */

/* This thread's CPU time: a fault runs in the faulting thread's time, and
 * unlike the wall clock it leaves out the time others ran meanwhile (on a
 * busy machine a pass is often preempted). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return ps_now_ns();
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One pass over the region, one store per page, in a scattered order. */
static uint64_t timed_pass(volatile unsigned char *p, uint64_t page, unsigned char v)
{
	uint64_t t0 = thread_cpu_ns();
	for (uint64_t i = 0; i < CAL_PAGES; i++)
		p[((i * CAL_STRIDE) % CAL_PAGES) * page] = v;
	return thread_cpu_ns() - t0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median over the rounds of (protected pass - unprotected pass) / pages,
 * or a negative value when userfaultfd cannot be used here. */
static double measure(int uffd, unsigned char *p, uint64_t page)
{
	uint64_t len = CAL_PAGES * page;
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(uffd, UFFDIO_API, &api) < 0)
		return -1;
	struct uffdio_register reg = { .range = { .start = (uintptr_t)p, .len = len }, .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		return -1;
	double cost[CAL_ROUNDS];
	for (unsigned r = 0; r < CAL_ROUNDS; r++) {
		struct uffdio_writeprotect wp = { .range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
		if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
			return -1;
		uint64_t faulting = timed_pass(p, page, (unsigned char)(2 * r + 1));
		uint64_t plain = timed_pass(p, page, (unsigned char)(2 * r + 2));
		cost[r] = faulting > plain ? (double)(faulting - plain) / CAL_PAGES : 0;
	}
	qsort(cost, CAL_ROUNDS, sizeof(cost[0]), cmp_dbl);
	return cost[CAL_ROUNDS / 2];
}

void ps_wpcost_calibrate(struct ps_wpcost *ret)
{
	*ret = (struct ps_wpcost){ .fault_ns = PS_WPCOST_DEFAULT_NS };
	/* The machine's page (16 KiB on some arm64), not the report's 4 KiB unit. */
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t page = ps > 0 ? (uint64_t)ps : PS_PAGE_SIZE;
	size_t len = (size_t)(CAL_PAGES * page);
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	/* 4 KiB pages, as tracking leaves the target's; populated, so the
	 * protected pass times write-protect faults and nothing else. */
	(void)madvise(p, len, MADV_NOHUGEPAGE);
	timed_pass(p, page, 0xff);
	int saved = errno;
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (uffd >= 0) {
		double ns = measure(uffd, p, page);
		/* Under 50 ns is a failed measurement (a preempted pass), not a fault. */
		if (ns >= 50) {
			ret->fault_ns = ns;
			ret->calibrated = true;
		}
		close(uffd); /* unregisters the region */
	}
	munmap(p, len);
	errno = saved;
}

void ps_wpcost_sample(const struct ps_target *t, struct ps_proc_sample *ret)
{
	char *buf = NULL;
	size_t len = 0;
	*ret = (struct ps_proc_sample){ 0 };
	if (ps_target_stat(t, &buf, &len) < 0)
		return;
	if (ps_proc_stat_parse(buf, len, ret) < 0)
		ret->valid = false;
	free(buf);
}

double ps_wpcost_tick_s(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? 1.0 / (double)hz : 0.01;
}
