/* SPDX-License-Identifier: MIT */
/* -r RANGE arguments: address ranges or mapping selectors. */
#ifndef PAGESCAN_RANGE_H
#define PAGESCAN_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"

enum ps_range_kind { PS_RANGE_ADDR, PS_RANGE_SELECTOR };

struct ps_rangespec {
	enum ps_range_kind kind;
	uint64_t start, end;   /* PS_RANGE_ADDR: [start,end), start rounded down and end up to pages */
	char selector[256];    /* PS_RANGE_SELECTOR: see ps_vma_match() */
};

/* "START-END", "START+LENGTH" (START/END hex 0x.. or decimal, LENGTH with
 * K/M/G suffixes), or a selector ("[heap]", "anon", "libc.so.6", "/path").
 * EINVAL for empty, end <= start, overflow, junk; the message says why. */
int ps_rangespec_parse(const char *s, struct ps_rangespec *ret, struct ps_err *err);

/* A sorted set of disjoint [start,end) intervals (pages or bytes). */
struct ps_rangeset {
	struct { uint64_t start, end; } *r;
	size_t n, cap;
};

int ps_rangeset_add(struct ps_rangeset *s, uint64_t start, uint64_t end); /* union; merges neighbours */
int ps_rangeset_remove(struct ps_rangeset *s, uint64_t start, uint64_t end);
/* Bytes of [start, end) that s covers. */
uint64_t ps_rangeset_overlap(const struct ps_rangeset *s, uint64_t start, uint64_t end);
int ps_rangeset_contains(const struct ps_rangeset *s, uint64_t start, uint64_t end); /* fully covered: 1, else 0 */
uint64_t ps_rangeset_total(const struct ps_rangeset *s); /* sum of lengths */
void ps_rangeset_clear(struct ps_rangeset *s);
void ps_rangeset_free(struct ps_rangeset *s);

/* The parts of the maps selected by specs (all of them when nspecs == 0),
 * clipped to VMAs, as a rangeset. */
int ps_rangespec_resolve(const struct ps_rangespec *specs, size_t nspecs,
                         const struct ps_maps *maps, struct ps_rangeset *ret);

/* The names of maps a selector could use (a file's basename, or its path
 * when want starts with '/'; "[heap]", "[stack]"...; "anon") closest to
 * want by edit distance (ties by name), distinct, best first: up to max of
 * them into out (pointers into maps, or static strings). Returns how many. */
size_t ps_closest_names(const char *want, const struct ps_maps *maps, const char **out, size_t max);

/* For each spec that selects nothing in maps (a selector no mapping
 * matches, an address range that covers no mapping), a note saying so and,
 * for a selector, the closest names the process has. Returns how many. */
size_t ps_rangespec_note_unmatched(const struct ps_rangespec *specs, size_t nspecs, const struct ps_maps *maps,
                                   struct ps_notes *notes);

#endif
