/* SPDX-License-Identifier: MIT */
/* Warnings collected for the caller to show (pure; nothing here prints). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/util.h"
#include "pagescan/model/warnings.h"

void ps_warnings_add(struct ps_warnings *w, const char *fmt, ...)
{
	va_list ap;
	char *m;
	int r;

	if (!w)
		return;
	if (w->n >= PS_WARNINGS_KEEP) {
		w->suppressed++;
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (r < 0) {
		w->suppressed++;
		return;
	}
	if (ps_grow((void **)&w->msg, &w->cap, w->n + 1, sizeof(*w->msg)) < 0) {
		free(m);
		w->suppressed++;
		return;
	}
	w->msg[w->n++] = m;
}

void ps_warnings_free(struct ps_warnings *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->msg[i]);
	free(w->msg);
	memset(w, 0, sizeof(*w));
}
