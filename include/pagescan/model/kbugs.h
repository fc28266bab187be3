/* SPDX-License-Identifier: MIT */
/* Known kernel bugs in PAGEMAP_SCAN and userfaultfd asynchronous
 * write-protect that lose or invent writes, or leave write-protection
 * behind, by kernel release (docs/memory-events.md#kernel-versions). Pure:
 * the caller passes uname's release string. */
#ifndef PAGESCAN_KBUGS_H
#define PAGESCAN_KBUGS_H

#include <stddef.h>

struct ps_kbug {
	const char *id;       /* short name */
	unsigned from[3];     /* first affected version (inclusive) */
	unsigned fixed[3];    /* first fixed version on that line (exclusive end) */
	const char *effect;   /* what pagescan users see */
	const char *fix;      /* the fix: commit and title, and where it landed */
};

/* Parse "6.8.9-300.fc40.x86_64" into {6, 8, 9}; missing parts are 0.
 * Returns 0, or -1 if it does not start with MAJOR.MINOR. */
int ps_kernel_version_parse(const char *release, unsigned v[3]);

/* The known bugs that affect release: fills up to max pointers into a
 * static table, returns how many affect it (may exceed max). An
 * unparsable release affects nothing. */
size_t ps_kbugs_affecting(const char *release, const struct ps_kbug **out, size_t max);

/* All known bugs (for the docs and tests). */
const struct ps_kbug *ps_kbugs_table(size_t *n);

#endif
