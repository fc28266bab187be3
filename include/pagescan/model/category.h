/* SPDX-License-Identifier: MIT */
/* Page categories of PAGEMAP_SCAN and the mask expressions users write.
 * One table, ps_categories[], drives parsing, output names and the category
 * list of --help (src/cli/help.c). The shell completions, the man page and
 * README.md are checked in; tests/e2e/docs.bats fails when their category
 * lists differ from this table. */
#ifndef PAGESCAN_CATEGORY_H
#define PAGESCAN_CATEGORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"

enum {
	PS_CAT_WPALLOWED = 1u << 0,
	PS_CAT_WRITTEN = 1u << 1,
	PS_CAT_FILE = 1u << 2,
	PS_CAT_PRESENT = 1u << 3,
	PS_CAT_SWAPPED = 1u << 4,
	PS_CAT_PFNZERO = 1u << 5,
	PS_CAT_HUGE = 1u << 6,
	PS_CAT_SOFT_DIRTY = 1u << 7,
	PS_CAT_GUARD = 1u << 8,
	PS_CAT_ALL = (1u << 9) - 1,
};

struct ps_category {
	const char *name;   /* "written", "soft-dirty", ... */
	uint64_t bit;       /* PS_CAT_* */
	const char *since;  /* first Linux version that accepts it, "6.7" */
	const char *help;   /* one line for --help and the man page */
};

/* The table, in output order (the order of ps_categories_format() and
 * ps_mask_format()). */
extern const struct ps_category ps_categories[];
extern const size_t ps_ncategories;

/* Bit for a name, 0 when unknown. */
uint64_t ps_category_bit(const char *name, size_t len);

/* "present,written" into buf (table order); "-" when cats has no known bit.
 * Returns the length written (excluding NUL); never overflows (n >= 128 always suffices). */
size_t ps_categories_format(uint64_t cats, char *buf, size_t n);

/* Space-separated list of all names in table order ("written present ..."),
 * for error messages and help text. */
const char *ps_category_names(void);

/* A mask in the kernel's own form (struct pm_scan_arg fields). */
struct ps_mask {
	uint64_t mask;      /* category_mask: these bits (after inversion) must be set */
	uint64_t inverted;  /* category_inverted */
	uint64_t anyof;     /* category_anyof_mask: at least one (after inversion) */
};

/* Parse "TERM[,TERM]...": NAME must be set, !NAME must be clear, A|B|C at
 * least one of them (a term may also be !A|B). At most one |-group (the kernel
 * has one any-of mask). Contradictions (NAME and !NAME) and unknown names are
 * EINVAL with a message that lists the valid names. Empty string: EINVAL. */
int ps_mask_parse(const char *s, struct ps_mask *ret, struct ps_err *err);

/* Does a page with categories cats match? (the kernel's own test) */
bool ps_mask_match(const struct ps_mask *m, uint64_t cats);

/* All bits the mask refers to. */
uint64_t ps_mask_bits(const struct ps_mask *m);

/* Canonical text form, e.g. "present,!file,written|swapped" (table order). */
size_t ps_mask_format(const struct ps_mask *m, char *buf, size_t n);

#endif
