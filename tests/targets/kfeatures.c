/* SPDX-License-Identifier: MIT */
/*
 * kfeatures: does this kernel have what pagescan needs? Used by the e2e
 * tests to skip cleanly (or fail under PAGESCAN_MUST_WORK=1).
 *
 * Usage: kfeatures
 *   Probes, in this process: the PAGEMAP_SCAN ioctl on /proc/self/pagemap,
 *   userfaultfd(UFFD_USER_MODE_ONLY) with UFFD_FEATURE_WP_ASYNC, and a
 *   WP-async registration of an anonymous page that PAGEMAP_SCAN then sees
 *   as wpallowed and, after a write, written.
 *   Prints "ok" (exit 0) or one line naming what is missing (exit 1).
 * Usage: kfeatures zeropage
 *   Does a read of a never-touched private anonymous page map the shared
 *   zero page? Some kernels allocate a page instead (a guest kernel booted
 *   with pvm_no_zero_page=1); such a read then looks like a write to
 *   PAGEMAP_SCAN, and the tests of reads skip. "ok" or the reason, as above.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Spelled out: the installed UAPI headers may predate Linux 6.7. */
struct probe_page_region {
	uint64_t start, end, categories;
};

struct probe_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};

#define PROBE_PAGEMAP_SCAN _IOWR('f', 16, struct probe_pm_scan_arg)
#define PROBE_WPALLOWED (1ULL << 0)
#define PROBE_WRITTEN (1ULL << 1)
#define PROBE_PFNZERO (1ULL << 5)
#define PROBE_WP_MATCHING (1ULL << 0)
#define PROBE_UFFD_USER_MODE_ONLY 1
#define PROBE_FEATURE_WP_UNPOPULATED (1ULL << 13)
#define PROBE_FEATURE_WP_ASYNC (1ULL << 15)

static int fail(const char *what)
{
	printf("%s\n", what);
	return 1;
}

static long scan(int fd, void *start, size_t len, uint64_t flags,
		 uint64_t mask, struct probe_page_region *vec, size_t vec_len)
{
	struct probe_pm_scan_arg arg = {
		.size = sizeof(arg), .flags = flags,
		.start = (uintptr_t)start, .end = (uintptr_t)start + len,
		.vec = (uintptr_t)vec, .vec_len = vec_len,
		.category_mask = mask, .return_mask = mask,
	};

	return ioctl(fd, PROBE_PAGEMAP_SCAN, &arg);
}

/* The kernel's command line parameter that names the zero page, if any. */
static void zero_page_param(char *out, size_t n)
{
	char buf[4096] = "", *save = NULL;
	FILE *f = fopen("/proc/cmdline", "re");
	*out = 0;
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f))
		for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
			if (strstr(w, "zero_page"))
				snprintf(out, n, " (kernel command line: %s)", w);
	fclose(f);
}

static int probe_zero_page(void)
{
	struct probe_page_region r[2];
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char why[512], param[256];
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	volatile unsigned char *p = mmap(NULL, page, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (pm < 0 || p == MAP_FAILED)
		return fail("cannot probe the zero page");
	(void)p[0]; /* a read fault */
	if (scan(pm, (void *)p, page, 0, PROBE_PFNZERO, r, 2) == 1) {
		printf("ok\n");
		return 0;
	}
	zero_page_param(param, sizeof(param));
	snprintf(why, sizeof(why),
		 "this kernel maps no zero page on a read fault%s: a read of never-touched memory allocates a page, which PAGEMAP_SCAN reports written",
		 param);
	return fail(why);
}

int main(int argc, char **argv)
{
	struct probe_page_region r[4];
	struct uffdio_api api;
	struct uffdio_register reg;
	unsigned char *p;
	int pm, uffd;
	long n;
	const size_t page = (size_t)sysconf(_SC_PAGESIZE); /* 4, 16 or 64 KiB */

	if (argc == 2 && strcmp(argv[1], "zeropage") == 0)
		return probe_zero_page();
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return fail("cannot open /proc/self/pagemap");
	p = mmap(NULL, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail("mmap failed");
	if (scan(pm, p, page, 0, 0, r, 4) < 0)
		return fail(errno == ENOTTY ?
			    "PAGEMAP_SCAN ioctl missing (needs Linux 6.7+)" :
			    "PAGEMAP_SCAN ioctl fails");
	uffd = (int)syscall(SYS_userfaultfd,
			    O_CLOEXEC | O_NONBLOCK | PROBE_UFFD_USER_MODE_ONLY);
	if (uffd < 0)
		return fail("userfaultfd(UFFD_USER_MODE_ONLY) unavailable");
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = PROBE_FEATURE_WP_ASYNC | PROBE_FEATURE_WP_UNPOPULATED;
	if (ioctl(uffd, UFFDIO_API, &api))
		return fail("userfaultfd lacks UFFD_FEATURE_WP_ASYNC (needs Linux 6.7+ with PTE markers)");
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return fail("UFFDIO_REGISTER_MODE_WP fails on anonymous memory");
	if (scan(pm, p, page, PROBE_WP_MATCHING, PROBE_WRITTEN, NULL, 0) < 0)
		return fail("PAGEMAP_SCAN PM_SCAN_WP_MATCHING fails");
	n = scan(pm, p, page, 0, PROBE_WPALLOWED, r, 4);
	if (n != 1)
		return fail("PAGEMAP_SCAN does not report wpallowed");
	n = scan(pm, p, page, 0, PROBE_WRITTEN, r, 4);
	if (n != 0)
		return fail("PAGEMAP_SCAN reports an armed page as written");
	p[100] = 1;
	n = scan(pm, p, page, 0, PROBE_WRITTEN, r, 4);
	if (n != 1)
		return fail("PAGEMAP_SCAN misses an async uffd-wp write");
	printf("ok\n");
	return 0;
}
