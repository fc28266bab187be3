/* SPDX-License-Identifier: MIT */
/* Warnings (pure): problems that do not stop the work (a recording's line
 * cut off, an unknown field, an inconsistent count), collected as lines for
 * the caller to show. Nothing here prints. */
#ifndef PAGESCAN_WARNINGS_H
#define PAGESCAN_WARNINGS_H

#include <stddef.h>

/* At most PS_WARNINGS_KEEP messages are kept; later ones are only counted. */
#define PS_WARNINGS_KEEP 64

struct ps_warnings {
	char **msg;          /* one line each, no "warning:" prefix */
	size_t n, cap;
	size_t suppressed;   /* warnings beyond PS_WARNINGS_KEEP */
};

/* Adds one (w may be NULL: nothing happens); a message that cannot be
 * stored (memory) is counted in suppressed. */
void ps_warnings_add(struct ps_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ps_warnings_free(struct ps_warnings *w);

#endif
