/* SPDX-License-Identifier: MIT */
/* Helpers shared by several unit tests. */
#ifndef PAGESCAN_UNIT_HELPERS_H
#define PAGESCAN_UNIT_HELPERS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pagescan/model/region.h"

/* Two region lists hold the same regions, categories included. */
static inline bool regions_same(const struct ps_regions *a, const struct ps_regions *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].start != b->r[i].start || a->r[i].end != b->r[i].end || a->r[i].cats != b->r[i].cats)
			return false;
	return true;
}

/* tests/data/NAME, found from this header's path (CMake compiles the tests
 * by their absolute paths; this file lives next to them). Allocated. */
static inline char *data_path(const char *name)
{
	const char *f = __FILE__;
	const char *slash = strrchr(f, '/');
	char *p = NULL;
	if (!slash || asprintf(&p, "%.*s/../data/%s", (int)(slash - f), f, name) < 0)
		return NULL;
	return p;
}

#endif
