/* SPDX-License-Identifier: MIT */
/* -r RANGE specs and sorted interval sets.
 *
 * Range grammar decisions (documented in the man page):
 *  - an argument starting with a digit is an address range, START-END or
 *    START+LENGTH; anything else is a mapping selector (see ps_vma_match()).
 *    So a numeric-looking argument that fails to parse is an error, never a
 *    selector, and a mapping whose basename starts with a digit must be
 *    selected by its full path.
 *  - START and END are 0x hex or decimal (hex needs the 0x); LENGTH is a size
 *    (ps_parse_size(): K, M, G... suffixes). No blanks anywhere.
 *  - END is exclusive and must be above START, LENGTH must be > 0; then the
 *    range is widened to whole pages (START down, END up), so 0x1001-0x1002
 *    is 0x1000-0x2000. A range whose end (after rounding) would pass 2^64 is
 *    an error.
 *  - selectors are 1..255 bytes, kept verbatim. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/range.h"
#include "pagescan/model/util.h"

#define TOKEN_MAX 64
#define TOK(s) (int)(strlen(s) > TOKEN_MAX ? TOKEN_MAX : strlen(s)), (s), (strlen(s) > TOKEN_MAX ? "..." : "")

/* Longest START/END/LENGTH token: 0x + 16 digits with leading zeros is
 * legal, so allow generous room but keep a bound for the stack copy. */
#define NUMBER_MAX 128

/* A part failed to parse (its message is in err): name the whole argument.
 * Always EINVAL, overflow included, as range.h promises. */
static int bad_part(struct ps_err *err, const char *s, const char *part)
{
	ps_err_prefix(err, "range \"%.*s%s\": %s", TOK(s), part);
	if (err)
		err->code = EINVAL;
	return -EINVAL;
}

int ps_rangespec_parse(const char *s, struct ps_rangespec *ret, struct ps_err *err)
{
	struct ps_rangespec rs = { 0 };
	char first[NUMBER_MAX], second[NUMBER_MAX];
	uint64_t a, b, end;
	size_t flen, slen, len;
	const char *sep;
	int r;

	if (!s || !*s)
		return ps_errf(err, EINVAL, "empty range: expected START-END, START+LENGTH or a mapping name");
	len = strlen(s);

	if (!(s[0] >= '0' && s[0] <= '9')) {
		if (len >= sizeof(rs.selector))
			return ps_errf(err, EINVAL, "mapping selector \"%.*s%s\" is too long (maximum %zu bytes)",
			               TOK(s), sizeof(rs.selector) - 1);
		rs.kind = PS_RANGE_SELECTOR;
		memcpy(rs.selector, s, len + 1);
		*ret = rs;
		return 0;
	}

	sep = strpbrk(s, "-+");
	if (!sep)
		return ps_errf(err, EINVAL,
			"range \"%.*s%s\": expected START-END or START+LENGTH (a mapping name can't start with a digit; use its full path)",
			TOK(s));
	flen = (size_t)(sep - s);
	slen = len - flen - 1;
	if (flen >= NUMBER_MAX || slen >= NUMBER_MAX)
		return ps_errf(err, EINVAL, "range \"%.*s%s\": number too long", TOK(s));
	memcpy(first, s, flen);
	first[flen] = '\0';
	memcpy(second, sep + 1, slen);
	second[slen] = '\0';

	r = ps_parse_addr(first, &a, err);
	if (r < 0)
		return bad_part(err, s, "start");
	if (*sep == '-') {
		r = ps_parse_addr(second, &b, err);
		if (r < 0)
			return bad_part(err, s, "end");
		if (b <= a)
			return ps_errf(err, EINVAL, "range \"%.*s%s\": end must be above start (the end is exclusive)",
			               TOK(s));
		end = b;
	} else {
		r = ps_parse_size(second, &b, err);
		if (r < 0)
			return bad_part(err, s, "length");
		if (b == 0)
			return ps_errf(err, EINVAL, "range \"%.*s%s\": length must be greater than 0", TOK(s));
		if (b > UINT64_MAX - a)
			return ps_errf(err, EINVAL, "range \"%.*s%s\" extends past the end of the address space",
			               TOK(s));
		end = a + b;
	}
	/* [a, end) with end <= 2^64 - 1 here; rounding up must not wrap. */
	if (end > UINT64_MAX - (PS_PAGE_SIZE - 1))
		return ps_errf(err, EINVAL, "range \"%.*s%s\" extends past the end of the address space",
		               TOK(s));
	rs.kind = PS_RANGE_ADDR;
	rs.start = a & ~(PS_PAGE_SIZE - 1);
	rs.end = (end + PS_PAGE_SIZE - 1) & ~(PS_PAGE_SIZE - 1);
	*ret = rs;
	return 0;
}

/* First index whose end is >= x (or > x when strict). */
static size_t first_end_from(const struct ps_rangeset *s, uint64_t x, bool strict)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t e = s->r[mid].end;

		if (strict ? e > x : e >= x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* First index whose start is > x (or >= x when !strict). */
static size_t first_start_from(const struct ps_rangeset *s, uint64_t x, bool strict)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t b = s->r[mid].start;

		if (strict ? b > x : b >= x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int reserve(struct ps_rangeset *s, size_t need)
{
	void *p = s->r;
	int r = ps_grow(&p, &s->cap, need, sizeof(*s->r));

	s->r = p;
	return r;
}

int ps_rangeset_add(struct ps_rangeset *s, uint64_t start, uint64_t end)
{
	size_t i, j;
	int r;

	if (start >= end)
		return 0;
	/* Intervals i..j-1 overlap or touch [start, end). */
	i = first_end_from(s, start, false);
	j = first_start_from(s, end, true);
	if (i == j) {
		r = reserve(s, s->n + 1);
		if (r < 0)
			return r;
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
		s->r[i].start = start;
		s->r[i].end = end;
		s->n++;
		return 0;
	}
	if (s->r[i].start < start)
		start = s->r[i].start;
	if (s->r[j - 1].end > end)
		end = s->r[j - 1].end;
	s->r[i].start = start;
	s->r[i].end = end;
	memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
	s->n -= j - i - 1;
	return 0;
}

int ps_rangeset_remove(struct ps_rangeset *s, uint64_t start, uint64_t end)
{
	size_t i, j;
	int r;

	if (start >= end)
		return 0;
	/* Intervals i..j-1 overlap [start, end). */
	i = first_end_from(s, start, true);
	j = first_start_from(s, end, false);
	if (i >= j)
		return 0;
	if (j - i == 1 && s->r[i].start < start && s->r[i].end > end) {
		/* A hole in the middle of one interval: split it. */
		uint64_t old_end = s->r[i].end;

		r = reserve(s, s->n + 1);
		if (r < 0)
			return r;
		memmove(&s->r[i + 2], &s->r[i + 1], (s->n - i - 1) * sizeof(*s->r));
		s->r[i].end = start;
		s->r[i + 1].start = end;
		s->r[i + 1].end = old_end;
		s->n++;
		return 0;
	}
	if (s->r[i].start < start) {
		s->r[i].end = start;
		i++;
	}
	if (s->r[j - 1].end > end) {
		s->r[j - 1].start = end;
		j--;
	}
	if (i < j) {
		memmove(&s->r[i], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= j - i;
	}
	return 0;
}

uint64_t ps_rangeset_overlap(const struct ps_rangeset *s, uint64_t start, uint64_t end)
{
	uint64_t n = 0;

	for (size_t i = first_end_from(s, start, true); i < s->n && s->r[i].start < end; i++) {
		uint64_t a = s->r[i].start > start ? s->r[i].start : start;
		uint64_t b = s->r[i].end < end ? s->r[i].end : end;
		n += b - a;
	}
	return n;
}

int ps_rangeset_contains(const struct ps_rangeset *s, uint64_t start, uint64_t end)
{
	size_t i;

	if (start >= end)
		return 1;
	/* Touching intervals are merged, so a covered range lies in one. */
	i = first_end_from(s, start, true);
	return i < s->n && s->r[i].start <= start && s->r[i].end >= end;
}

uint64_t ps_rangeset_total(const struct ps_rangeset *s)
{
	uint64_t t = 0;

	for (size_t i = 0; i < s->n; i++)
		t += s->r[i].end - s->r[i].start;
	return t;
}

void ps_rangeset_clear(struct ps_rangeset *s)
{
	s->n = 0;
}

void ps_rangeset_free(struct ps_rangeset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
	s->cap = 0;
}

static int add_clipped(const struct ps_maps *maps, uint64_t start, uint64_t end,
                       struct ps_rangeset *ret)
{
	for (size_t i = ps_maps_lower_bound(maps, start); i < maps->n && maps->v[i].start < end; i++) {
		const struct ps_vma *v = &maps->v[i];
		uint64_t b = v->start > start ? v->start : start;
		uint64_t e = v->end < end ? v->end : end;
		int r = ps_rangeset_add(ret, b, e);

		if (r < 0)
			return r;
	}
	return 0;
}

int ps_rangespec_resolve(const struct ps_rangespec *specs, size_t nspecs,
                         const struct ps_maps *maps, struct ps_rangeset *ret)
{
	int r;

	ps_rangeset_clear(ret);
	if (nspecs == 0) {
		for (size_t i = 0; i < maps->n; i++) {
			r = ps_rangeset_add(ret, maps->v[i].start, maps->v[i].end);
			if (r < 0)
				return r;
		}
		return 0;
	}
	for (size_t k = 0; k < nspecs; k++) {
		const struct ps_rangespec *sp = &specs[k];

		switch (sp->kind) {
		case PS_RANGE_ADDR:
			r = add_clipped(maps, sp->start, sp->end, ret);
			break;
		case PS_RANGE_SELECTOR:
			r = 0;
			for (size_t i = 0; i < maps->n && r == 0; i++)
				if (ps_vma_match(&maps->v[i], sp->selector))
					r = ps_rangeset_add(ret, maps->v[i].start, maps->v[i].end);
			break;
		default:
			r = -EINVAL;
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- selectors that match nothing ---------------------------------------------- */

/* The name v goes by for a selector like want (see ps_vma_match()). */
static const char *selector_name(const struct ps_vma *v, const char *want)
{
	if (v->kind == PS_VMA_ANON)
		return "anon";
	if (!v->name[0])
		return NULL;
	if (want[0] == '/' || v->name[0] == '[')
		return v->name;
	if (v->kind != PS_VMA_FILE && v->kind != PS_VMA_SHMEM)
		return NULL;
	const char *base = strrchr(v->name, '/');
	return base ? base + 1 : v->name;
}

/* Levenshtein distance of a and b (each cut at 255 bytes). */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t n = strnlen(a, 255), m = strnlen(b, 255);
	unsigned row[256];
	for (size_t j = 0; j <= m; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= m; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[m];
}

size_t ps_closest_names(const char *want, const struct ps_maps *maps, const char **out, size_t max)
{
	unsigned dist[16];
	size_t n = 0;

	if (max > 16)
		max = 16;
	for (size_t i = 0; i < maps->n && max; i++) {
		const char *name = selector_name(&maps->v[i], want);
		if (!name)
			continue;
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(out[k], name) == 0;
		if (seen)
			continue;
		unsigned d = edit_distance(want, name);
		/* insert into out[0..n) by (distance, name), keeping max */
		size_t at = n;
		while (at > 0 && (d < dist[at - 1] || (d == dist[at - 1] && strcmp(name, out[at - 1]) < 0)))
			at--;
		if (at >= max)
			continue;
		size_t last = n < max ? n : max - 1;
		for (size_t k = last; k > at; k--) {
			out[k] = out[k - 1];
			dist[k] = dist[k - 1];
		}
		out[at] = name;
		dist[at] = d;
		if (n < max)
			n++;
	}
	return n;
}

size_t ps_rangespec_note_unmatched(const struct ps_rangespec *specs, size_t nspecs, const struct ps_maps *maps,
                                   struct ps_notes *notes)
{
	size_t bad = 0;
	for (size_t k = 0; k < nspecs; k++) {
		const struct ps_rangespec *sp = &specs[k];
		bool hit = false;
		if (sp->kind == PS_RANGE_SELECTOR) {
			for (size_t i = 0; i < maps->n && !hit; i++)
				hit = ps_vma_match(&maps->v[i], sp->selector);
		} else {
			size_t i = ps_maps_lower_bound(maps, sp->start);
			hit = i < maps->n && maps->v[i].start < sp->end;
		}
		if (hit)
			continue;
		bad++;
		if (sp->kind != PS_RANGE_SELECTOR) {
			ps_note(notes, "-r 0x%llx-0x%llx covers no mapping of the process",
			        (unsigned long long)sp->start, (unsigned long long)sp->end);
			continue;
		}
		const char *near[3];
		size_t nn = ps_closest_names(sp->selector, maps, near, 3);
		char list[400] = "";
		size_t len = 0;
		for (size_t i = 0; i < nn && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", near[i]);
		ps_note(notes, "-r %s matches no mapping of the process%s%s", sp->selector,
		        nn ? "; closest names it has: " : "", list);
	}
	return bad;
}
