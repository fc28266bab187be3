/* SPDX-License-Identifier: MIT */
/* Mapping ranges engaged, skipped or dropped by the tracker, as lists. */
#ifndef PAGESCAN_SPANS_H
#define PAGESCAN_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/region.h"

/* A mapping range engaged, skipped or dropped. */
struct ps_span {
	uint64_t start, end;
	const char *mapping;  /* label as in ps_vma_label() */
	const char *reason;   /* skipped only: "kernel refused: [vdso] cannot be tracked (EINVAL)" etc., else NULL */
};

/* A growable list of spans; reasons are owned, mapping labels borrowed from
 * the maps snapshot given to the call that produced them. */
struct ps_spans {
	struct ps_span *v;
	size_t n, cap;
};
int ps_spans_add(struct ps_spans *s, uint64_t start, uint64_t end, const char *mapping, const char *reason);
/* Remove [start, end) from every span (a span cut in the middle becomes two,
 * the right part last). 0, or -ENOMEM (s is then unchanged but for spans
 * already cut). */
int ps_spans_cut(struct ps_spans *s, uint64_t start, uint64_t end);
void ps_spans_clear(struct ps_spans *s);
void ps_spans_free(struct ps_spans *s);

/* What one bring-up of the registrations against a maps snapshot changed:
 * mappings engaged, skipped (with the reason) and dropped (vanished), and,
 * when asked for, the pages already written in newly engaged ones. */
struct ps_sync_result {
	struct ps_spans engaged, skipped, dropped;
	struct ps_regions prewritten; /* only with count_prewritten: pages already written in new mappings */
};
void ps_sync_result_free(struct ps_sync_result *r);

#endif
