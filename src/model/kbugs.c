/* SPDX-License-Identifier: MIT */
/* Known kernel bugs by release; see include/pagescan/model/kbugs.h. */
#include <stdlib.h>

#include "pagescan/model/kbugs.h"

/* Sources: the commits named below (mainline and linux-stable), CVE-2024-36881
 * for the first; docs/memory-events.md#kernel-versions has the evidence. A
 * bug fixed on several stable lines has one entry per affected range (same
 * id): a release is in at most one of them. */
static const struct ps_kbug kbugs[] = {
	{
		.id = "uffd-close-leaves-wp",
		.from = { 6, 7, 0 }, .fixed = { 6, 8, 10 },
		.effect = "closing the userfaultfd does not reset write-protected page table entries: "
		          "the target keeps write-protect bits after pagescan exits (CVE-2024-36881)",
		.fix = "c88033efe9a3 \"mm/userfaultfd: reset ptes when close() for wr-protected ones\", "
		       "in 6.9 and 6.8.10",
	},
	{
		.id = "pmd-entry-uffd-wp-confusion",
		.from = { 6, 7, 0 }, .fixed = { 6, 8, 10 },
		.effect = "the WRITTEN fast path tests the write-protect bit of non-present entries "
		          "as if present: swapped or migrating pages can read written or clean wrongly",
		.fix = "2c7ad9a590d1 \"fs/proc/task_mmu: fix uffd-wp confusion in pagemap_scan_pmd_entry()\", "
		       "in 6.9 and 6.8.10",
	},
	{
		.id = "pagemap-scan-young-dirty-loss",
		.from = { 6, 7, 0 }, .fixed = { 6, 8, 10 },
		.effect = "write-protecting in a scan drops the accessed and dirty bits of the target's "
		          "page table entries (a dirty file page can be treated as clean)",
		.fix = "c70dce4982ce \"fs/proc/task_mmu: fix loss of young/dirty bits during pagemap scan\", "
		       "in 6.9 and 6.8.10",
	},
#define HUGE_ZERO_EFFECT                                                                        \
	"the huge zero page is not reported as the zero page (is_zero_pfn() on a PMD): a read "    \
	"of an empty 2 MiB range of a THP mapping reads as 512 written pages"
#define HUGE_ZERO_FIX                                                                           \
	"4a5e85f4eb8f \"fs/proc/task_mmu: fix PAGE_IS_PFNZERO detection for the huge zero folio\", " \
	"in 6.16, 6.15.5 and 6.12.36 (6.13 and 6.14 never got it)"
	{
		.id = "huge-zero-not-pfnzero",
		.from = { 6, 7, 0 }, .fixed = { 6, 12, 36 },
		.effect = HUGE_ZERO_EFFECT,
		.fix = HUGE_ZERO_FIX,
	},
	{
		.id = "huge-zero-not-pfnzero",
		.from = { 6, 13, 0 }, .fixed = { 6, 15, 5 },
		.effect = HUGE_ZERO_EFFECT,
		.fix = HUGE_ZERO_FIX,
	},
};

int ps_kernel_version_parse(const char *release, unsigned v[3])
{
	const char *p = release;
	for (int i = 0; i < 3; i++) {
		v[i] = 0;
		if (i > 0) {
			if (*p != '.')
				return i >= 2 ? 0 : -1;
			p++;
		}
		if (*p < '0' || *p > '9')
			return i >= 2 ? 0 : -1;
		char *end;
		unsigned long n = strtoul(p, &end, 10);
		if (n > 100000)
			return -1;
		v[i] = (unsigned)n;
		p = end;
	}
	return 0;
}

static int vcmp(const unsigned a[3], const unsigned b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

size_t ps_kbugs_affecting(const char *release, const struct ps_kbug **out, size_t max)
{
	unsigned v[3];
	size_t n = 0;
	if (!release || ps_kernel_version_parse(release, v) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(kbugs) / sizeof(kbugs[0]); i++) {
		if (vcmp(v, kbugs[i].from) < 0 || vcmp(v, kbugs[i].fixed) >= 0)
			continue;
		if (n < max)
			out[n] = &kbugs[i];
		n++;
	}
	return n;
}

const struct ps_kbug *ps_kbugs_table(size_t *n)
{
	*n = sizeof(kbugs) / sizeof(kbugs[0]);
	return kbugs;
}
