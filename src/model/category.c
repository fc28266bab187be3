/* SPDX-License-Identifier: MIT */
/* The category table and mask expressions ("present,!file,written|swapped").
 *
 * Mask grammar decisions (documented in the man page):
 *  - terms are separated by ',', alternatives by '|'; blanks around terms,
 *    alternatives and after '!' are ignored; names are case-sensitive.
 *  - a term repeated with the same polarity is harmless ("file,file").
 *  - the kernel has one inversion bit per category, shared by the required
 *    and the any-of mask, so a category must have the same polarity in the
 *    whole expression: "file,!file" (never matches), "file,!file|present" and
 *    "file|!file" (inexpressible) are EINVAL.
 *  - at most one term may contain '|' (the kernel has one any-of mask).
 *  - an any-of group that shares a member with the required terms is always
 *    satisfied and is dropped ("file,file|present" == "file"); a group with
 *    one distinct member is a required term ("file|file" == "file"). This
 *    keeps ps_mask_format() canonical and lets the scan use its fast path. */
#include <errno.h>
#include <string.h>

#include "pagescan/model/category.h"

/* The categories in output order: NAME, BIT, SINCE, HELP (struct ps_category).
 * Both ps_categories[] and the space-separated list of names are expanded
 * from this one list, so they cannot disagree. */
#define CATEGORIES(X) \
	X("written", PS_CAT_WRITTEN, "6.7", \
	  "written since last write-protected (meaningful only in wpallowed ranges)") \
	X("present", PS_CAT_PRESENT, "6.7", \
	  "resident in memory") \
	X("swapped", PS_CAT_SWAPPED, "6.7", \
	  "swapped out, or holding a userfaultfd write-protect or guard marker") \
	X("file", PS_CAT_FILE, "6.7", \
	  "file-backed or shared memory (shmem, memfd, shared anonymous)") \
	X("pfnzero", PS_CAT_PFNZERO, "6.7", \
	  "maps the shared zero page (read but never written)") \
	X("huge", PS_CAT_HUGE, "6.7", \
	  "part of a transparent or hugetlb huge page") \
	X("soft-dirty", PS_CAT_SOFT_DIRTY, "6.8", \
	  "soft-dirty: written since soft-dirty bits were last cleared") \
	X("guard", PS_CAT_GUARD, "6.16", \
	  "a guard region page (MADV_GUARD_INSTALL)") \
	X("wpallowed", PS_CAT_WPALLOWED, "6.7", \
	  "in a range registered for userfaultfd write-protect tracking")

#define TABLE_ENTRY(name, bit, since, help) { name, bit, since, help },
#define SPACE_NAME(name, bit, since, help) " " name

const struct ps_category ps_categories[] = { CATEGORIES(TABLE_ENTRY) };
const size_t ps_ncategories = sizeof(ps_categories) / sizeof(ps_categories[0]);

/* " written present ...": each name after a space (ps_category_names()
 * skips the first). */
static const char space_names[] = CATEGORIES(SPACE_NAME);

/* Longest token echoed back in an error message. */
#define TOKEN_MAX 64

uint64_t ps_category_bit(const char *name, size_t len)
{
	for (size_t i = 0; i < ps_ncategories; i++) {
		const char *c = ps_categories[i].name;

		if (strlen(c) == len && memcmp(c, name, len) == 0)
			return ps_categories[i].bit;
	}
	return 0;
}

const char *ps_category_names(void)
{
	return space_names + 1;
}

/* Append s to buf (size n, length *len): as much as fits, always terminated. */
static void append(char *buf, size_t n, size_t *len, const char *s)
{
	size_t l = strlen(s);

	if (n == 0 || *len >= n - 1)
		return;
	if (l > n - 1 - *len)
		l = n - 1 - *len;
	memcpy(buf + *len, s, l);
	*len += l;
	buf[*len] = '\0';
}

size_t ps_categories_format(uint64_t cats, char *buf, size_t n)
{
	size_t len = 0;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ps_ncategories; i++) {
		if (!(cats & ps_categories[i].bit))
			continue;
		if (len)
			append(buf, n, &len, ",");
		append(buf, n, &len, ps_categories[i].name);
	}
	if (len == 0)
		append(buf, n, &len, "-");
	return len;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Trim blanks from [*b, *e). */
static void trim(const char **b, const char **e)
{
	while (*b < *e && is_blank(**b))
		(*b)++;
	while (*e > *b && is_blank((*e)[-1]))
		(*e)--;
}

static int tokfmt_len(size_t len)
{
	return (int)(len > TOKEN_MAX ? TOKEN_MAX : len);
}

static const char *tokfmt_more(size_t len)
{
	return len > TOKEN_MAX ? "..." : "";
}

static const char *cat_name(uint64_t bit)
{
	for (size_t i = 0; i < ps_ncategories; i++)
		if (ps_categories[i].bit == bit)
			return ps_categories[i].name;
	return "?";
}

struct mask_state {
	struct ps_mask m;
	uint64_t seen;       /* categories mentioned so far */
	uint64_t seen_group; /* ... and those mentioned inside the |-group */
};

/* One literal "[!]NAME" in [b, e); group says whether it sits in the |-group. */
static int parse_literal(struct mask_state *st, const char *b, const char *e, bool group,
                         struct ps_err *err)
{
	bool neg = false;
	uint64_t bit;

	trim(&b, &e);
	if (b == e)
		return ps_errf(err, EINVAL, group ?
			"empty alternative in the any-of group (write NAME|NAME)" :
			"empty term in category mask (stray ',')");
	if (*b == '!') {
		neg = true;
		b++;
		trim(&b, &e);
		if (b == e)
			return ps_errf(err, EINVAL, "'!' without a category name");
		if (*b == '!')
			return ps_errf(err, EINVAL, "\"!%.*s%s\": only one '!' per category",
			               tokfmt_len((size_t)(e - b)), b, tokfmt_more((size_t)(e - b)));
	}
	bit = ps_category_bit(b, (size_t)(e - b));
	if (!bit)
		return ps_errf(err, EINVAL, "unknown category \"%.*s%s\"; valid: %s",
		               tokfmt_len((size_t)(e - b)), b, tokfmt_more((size_t)(e - b)),
		               ps_category_names());

	if ((st->seen & bit) && !!(st->m.inverted & bit) != neg) {
		const char *name = cat_name(bit);
		bool both_required = !group && !(st->seen_group & bit);

		if (both_required)
			return ps_errf(err, EINVAL,
				"\"%s\" and \"!%s\" contradict each other: no page can match", name, name);
		return ps_errf(err, EINVAL,
			"\"%s\" and \"!%s\" in one mask: the kernel inverts a category for the whole mask, so it needs one polarity",
			name, name);
	}
	st->seen |= bit;
	if (neg)
		st->m.inverted |= bit;
	if (group) {
		st->seen_group |= bit;
		st->m.anyof |= bit;
	} else {
		st->m.mask |= bit;
	}
	return 0;
}

int ps_mask_parse(const char *s, struct ps_mask *ret, struct ps_err *err)
{
	struct mask_state st = { 0 };
	const char *p = s, *b, *e;
	bool have_group = false;
	int r;

	b = s;
	e = s ? s + strlen(s) : s;
	if (s)
		trim(&b, &e);
	if (!s || b == e)
		return ps_errf(err, EINVAL, "empty category mask; valid categories: %s",
		               ps_category_names());

	for (;;) {
		const char *term_end = strchrnul(p, ',');
		const char *bar = memchr(p, '|', (size_t)(term_end - p));

		if (bar) {
			if (have_group) {
				b = p;
				e = term_end;
				trim(&b, &e);
				return ps_errf(err, EINVAL,
					"only one any-of group (A|B) is allowed per mask; \"%.*s%s\" is a second one",
					tokfmt_len((size_t)(e - b)), b, tokfmt_more((size_t)(e - b)));
			}
			have_group = true;
			for (const char *q = p; q <= term_end; ) {
				const char *alt_end = memchr(q, '|', (size_t)(term_end - q));

				if (!alt_end)
					alt_end = term_end;
				r = parse_literal(&st, q, alt_end, true, err);
				if (r < 0)
					return r;
				q = alt_end + 1;
			}
		} else {
			r = parse_literal(&st, p, term_end, false, err);
			if (r < 0)
				return r;
		}
		if (*term_end == '\0')
			break;
		p = term_end + 1;
	}

	/* A group sharing a member with the required terms always holds
	 * (polarities agree, checked above). */
	if (st.m.anyof & st.m.mask)
		st.m.anyof = 0;
	/* One alternative is just a requirement. */
	if (st.m.anyof && !(st.m.anyof & (st.m.anyof - 1))) {
		st.m.mask |= st.m.anyof;
		st.m.anyof = 0;
	}
	/* Inversion of a dropped alternative ("!file|swapped,swapped") means
	 * nothing; keep the form canonical. */
	st.m.inverted &= st.m.mask | st.m.anyof;
	*ret = st.m;
	return 0;
}

bool ps_mask_match(const struct ps_mask *m, uint64_t cats)
{
	uint64_t c = cats ^ m->inverted;

	return (c & m->mask) == m->mask && (m->anyof == 0 || (c & m->anyof));
}

uint64_t ps_mask_bits(const struct ps_mask *m)
{
	return m->mask | m->anyof;
}

size_t ps_mask_format(const struct ps_mask *m, char *buf, size_t n)
{
	size_t len = 0;
	bool first = true;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ps_ncategories; i++) {
		uint64_t bit = ps_categories[i].bit;

		if (!(m->mask & bit))
			continue;
		if (!first)
			append(buf, n, &len, ",");
		if (m->inverted & bit)
			append(buf, n, &len, "!");
		append(buf, n, &len, ps_categories[i].name);
		first = false;
	}
	if (!first && (m->anyof & PS_CAT_ALL))
		append(buf, n, &len, ",");
	first = true;
	for (size_t i = 0; i < ps_ncategories; i++) {
		uint64_t bit = ps_categories[i].bit;

		if (!(m->anyof & bit))
			continue;
		if (!first)
			append(buf, n, &len, "|");
		if (m->inverted & bit)
			append(buf, n, &len, "!");
		append(buf, n, &len, ps_categories[i].name);
		first = false;
	}
	return len;
}
