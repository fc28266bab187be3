/* SPDX-License-Identifier: MIT */
/* Span lists (see spans.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/spans.h"
#include "pagescan/model/util.h"

int ps_spans_add(struct ps_spans *s, uint64_t start, uint64_t end, const char *mapping, const char *reason)
{
	char *rs = NULL;
	if (ps_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	if (reason && !(rs = strdup(reason)))
		return -ENOMEM;
	s->v[s->n++] = (struct ps_span){ .start = start, .end = end, .mapping = mapping, .reason = rs };
	return 0;
}

int ps_spans_cut(struct ps_spans *s, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < s->n; i++) {
		struct ps_span *x = &s->v[i];
		if (x->end <= start || x->start >= end)
			continue;
		if (x->start < start && x->end > end) {
			/* a hole in the middle: the right part becomes a span of its own */
			if (ps_spans_add(s, end, s->v[i].end, s->v[i].mapping, s->v[i].reason) < 0)
				return -ENOMEM;
			s->v[i].end = start;
		} else if (x->start < start) {
			x->end = start;
		} else if (x->end > end) {
			x->start = end;
		} else {
			free((char *)x->reason);
			memmove(x, x + 1, (s->n - i - 1) * sizeof(*x));
			s->n--;
			i--;
		}
	}
	return 0;
}

void ps_spans_clear(struct ps_spans *s)
{
	for (size_t i = 0; i < s->n; i++)
		free((char *)s->v[i].reason);
	s->n = 0;
}

void ps_spans_free(struct ps_spans *s)
{
	ps_spans_clear(s);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

void ps_sync_result_free(struct ps_sync_result *r)
{
	ps_spans_free(&r->engaged);
	ps_spans_free(&r->skipped);
	ps_spans_free(&r->dropped);
	ps_regions_free(&r->prewritten);
}
