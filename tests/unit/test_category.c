/* SPDX-License-Identifier: MIT */
/* Category table, names, formatting and mask expressions. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/kernel/compat.h"
#include "tap.h"

#define W PS_CAT_WRITTEN
#define P PS_CAT_PRESENT
#define S PS_CAT_SWAPPED
#define F PS_CAT_FILE
#define Z PS_CAT_PFNZERO
#define H PS_CAT_HUGE
#define SD PS_CAT_SOFT_DIRTY
#define G PS_CAT_GUARD
#define WA PS_CAT_WPALLOWED
#define ALL PS_CAT_ALL

#define VALID "valid: written present swapped file pfnzero huge soft-dirty guard wpallowed"

/* The test's own copy of the vocabulary, to check the table against. */
static const struct {
	const char *name;
	uint64_t bit;
	uint64_t kernel_bit;
	const char *since;
} expect[] = {
	{ "written", W, PAGE_IS_WRITTEN, "6.7" },
	{ "present", P, PAGE_IS_PRESENT, "6.7" },
	{ "swapped", S, PAGE_IS_SWAPPED, "6.7" },
	{ "file", F, PAGE_IS_FILE, "6.7" },
	{ "pfnzero", Z, PAGE_IS_PFNZERO, "6.7" },
	{ "huge", H, PAGE_IS_HUGE, "6.7" },
	{ "soft-dirty", SD, PAGE_IS_SOFT_DIRTY, "6.8" },
	{ "guard", G, PAGE_IS_GUARD, "6.16" },
	{ "wpallowed", WA, PAGE_IS_WPALLOWED, "6.7" },
};
#define NEXPECT (sizeof(expect) / sizeof(expect[0]))

/* Test input made printable for TAP lines (blanks other than ' ' escaped). */
static const char *esc(const char *s)
{
	static char bufs[4][512];
	static int k;
	char *b = bufs[k++ % 4], *o = b;

	if (!s)
		return "(null)";
	for (; *s && o < b + sizeof(bufs[0]) - 3; s++) {
		if (*s == '\t' || *s == '\n') {
			*o++ = '\\';
			*o++ = *s == '\t' ? 't' : 'n';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return b;
}

static void test_table(void)
{
	uint64_t seen = 0;

	is_int(ps_ncategories, NEXPECT, "table has %zu categories", NEXPECT);
	for (size_t i = 0; i < NEXPECT && i < ps_ncategories; i++) {
		const struct ps_category *c = &ps_categories[i];

		is_str(c->name, expect[i].name, "table[%zu] is %s", i, expect[i].name);
		is_u64(c->bit, expect[i].bit, "%s bit", expect[i].name);
		is_u64(c->bit, expect[i].kernel_bit, "%s bit equals the kernel's PAGE_IS_*", expect[i].name);
		is_str(c->since, expect[i].since, "%s since %s", expect[i].name, expect[i].since);
		ok(c->help && c->help[0] && !strchr(c->help, '\n') && strlen(c->help) < 80,
		   "%s has a one-line help (%s)", c->name, c->help ? c->help : "(null)");
		ok(!(seen & c->bit), "%s bit is unique", c->name);
		seen |= c->bit;
	}
	is_u64(seen, PS_CAT_ALL, "the table covers PS_CAT_ALL exactly");
	ok(strstr(ps_categories[2].help, "write-protect") && strstr(ps_categories[2].help, "guard"),
	   "swapped help mentions write-protect and guard markers");
	ok(strstr(ps_categories[0].help, "wpallowed") != NULL, "written help says it needs wpallowed ranges");
}

static void test_names(void)
{
	char joined[256] = "";

	for (size_t i = 0; i < ps_ncategories; i++) {
		if (i && strlcat(joined, " ", sizeof(joined)) >= sizeof(joined))
			break;
		if (strlcat(joined, ps_categories[i].name, sizeof(joined)) >= sizeof(joined))
			break;
	}
	is_str(ps_category_names(), joined, "ps_category_names() is the table joined by spaces");
	is_str(ps_category_names(), "written present swapped file pfnzero huge soft-dirty guard wpallowed",
	       "ps_category_names() literal");
}

static void test_bit(void)
{
	static const struct {
		const char *s;
		size_t len;
		uint64_t bit;
	} t[] = {
		{ "presentX", 7, P },     /* only len bytes count */
		{ "soft-dirty,", 10, SD },
		{ "", 0, 0 },
		{ "writte", 6, 0 },
		{ "writtenx", 8, 0 },
		{ "Written", 7, 0 },
		{ "WRITTEN", 7, 0 },
		{ "soft_dirty", 10, 0 },
		{ "softdirty", 9, 0 },
		{ "soft", 4, 0 },
		{ " file", 5, 0 },
		{ "file ", 5, 0 },
		{ "!file", 5, 0 },
		{ "all", 3, 0 },
		{ "wp", 2, 0 },
	};

	for (size_t i = 0; i < NEXPECT; i++)
		is_u64(ps_category_bit(expect[i].name, strlen(expect[i].name)), expect[i].bit,
		       "ps_category_bit(\"%s\")", expect[i].name);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_u64(ps_category_bit(t[i].s, t[i].len), t[i].bit, "ps_category_bit(\"%s\", %zu)", t[i].s, t[i].len);
}

static void test_categories_format(void)
{
	static const struct {
		uint64_t cats;
		const char *want;
	} t[] = {
		{ 0, "-" },
		{ 1ull << 9, "-" },
		{ 1ull << 63, "-" },
		{ W, "written" },
		{ P | W, "written,present" },
		{ WA | W | P, "written,present,wpallowed" },
		{ S | G, "swapped,guard" },
		{ F | SD | H, "file,huge,soft-dirty" },
		{ ALL, "written,present,swapped,file,pfnzero,huge,soft-dirty,guard,wpallowed" },
		{ ALL | (1ull << 40), "written,present,swapped,file,pfnzero,huge,soft-dirty,guard,wpallowed" },
		{ P | (1ull << 9), "present" },
	};
	char buf[128], small[6];

	for (size_t i = 0; i < NEXPECT; i++) {
		const char *name = expect[i].name;
		size_t n = ps_categories_format(expect[i].bit, buf, sizeof(buf));

		is_str(buf, name, "format single category");
		is_int(n, strlen(name), "length of %s", buf);
	}
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n;

		memset(buf, 'X', sizeof(buf));
		n = ps_categories_format(t[i].cats, buf, sizeof(buf));
		is_str(buf, t[i].want, "format 0x%llx", (unsigned long long)t[i].cats);
		is_int(n, strlen(t[i].want), "format 0x%llx length", (unsigned long long)t[i].cats);
	}
	/* Every subset: names in table order, parseable back as required terms. */
	for (uint64_t c = 1; c <= ALL; c++) {
		struct ps_mask m;
		size_t n = ps_categories_format(c, buf, sizeof(buf));

		if (n != strlen(buf) || ps_mask_parse(buf, &m, NULL) != 0 || m.mask != c || m.inverted || m.anyof) {
			ok(0, "format/parse of subset 0x%llx (\"%s\")", (unsigned long long)c, buf);
			break;
		}
		if (c == ALL)
			ok(1, "all %llu subsets format and parse back", (unsigned long long)ALL);
	}
	/* Small buffers: never overflow, always terminated. */
	memset(small, 'X', sizeof(small));
	ps_categories_format(ALL, small, 5);
	is_str(small, "writ", "truncated into 5 bytes");
	ok(small[5] == 'X', "byte past n untouched");
	is_int(ps_categories_format(ALL, small, 0), 0, "n == 0 writes nothing");
	ok(small[0] == 'w', "n == 0 leaves buf alone");
	ps_categories_format(0, small, 1);
	is_str(small, "", "n == 1 gives an empty string");
}

struct mask_case {
	const char *s;
	uint64_t mask, inverted, anyof;
};

static const struct mask_case valid[] = {
	{ "written", W, 0, 0 },
	{ "!written", W, W, 0 },
	{ "present", P, 0, 0 },
	{ "swapped", S, 0, 0 },
	{ "file", F, 0, 0 },
	{ "pfnzero", Z, 0, 0 },
	{ "huge", H, 0, 0 },
	{ "soft-dirty", SD, 0, 0 },
	{ "guard", G, 0, 0 },
	{ "wpallowed", WA, 0, 0 },
	{ "!soft-dirty", SD, SD, 0 },
	{ "present,!file", P | F, F, 0 },
	{ "!file,present", P | F, F, 0 },
	{ "present,!file,swapped|written", P | F, F, S | W },
	{ "swapped|written,present,!file", P | F, F, S | W },
	{ "written|swapped", 0, 0, W | S },
	{ "!present|swapped", 0, P, P | S },
	{ "present,written|!swapped", P, S, W | S },
	{ "!present,!swapped|!file", P, P | S | F, S | F },
	{ "wpallowed,written", WA | W, 0, 0 },
	{ " present , ! file , written | swapped ", P | F, F, W | S },
	{ "\tpresent\n", P, 0, 0 },
	{ "present,\t!file", P | F, F, 0 },
	{ "file,file", F, 0, 0 },
	{ "!file,!file", F, F, 0 },
	{ "file,file|present", F, 0, 0 },          /* group always satisfied: dropped */
	{ "file|present,file", F, 0, 0 },
	{ "!file,!file|present", F, F, 0 },
	{ "present,!file,!file|written", P | F, F, 0 },
	{ "!file|swapped,swapped", S, 0, 0 },      /* dropped group leaves no stray inversion */
	{ "swapped,!file|!present|swapped", S, 0, 0 },
	{ "file|file", F, 0, 0 },                  /* one distinct alternative */
	{ "!file|!file", F, F, 0 },
	{ "present,file|file", P | F, 0, 0 },
	{ "file|file|present", 0, 0, F | P },
	{ "written,present,swapped,file,pfnzero,huge,soft-dirty,guard,wpallowed", ALL, 0, 0 },
	{ "wpallowed,guard,soft-dirty,huge,pfnzero,file,swapped,present,written", ALL, 0, 0 },
	{ "!written,!present,!swapped,!file,!pfnzero,!huge,!soft-dirty,!guard,!wpallowed", ALL, ALL, 0 },
	{ "written|present|swapped|file|pfnzero|huge|soft-dirty|guard|wpallowed", 0, 0, ALL },
	{ "!written|!present|!swapped|!file|!pfnzero|!huge|!soft-dirty|!guard|!wpallowed", 0, ALL, ALL },
	{ "wpallowed,!written,present|swapped", WA | W, W, P | S },
	{ "guard|soft-dirty", 0, 0, G | SD },
};

static const struct {
	const char *s;
	const char *msg;    /* exact message */
} invalid[] = {
	{ "", "empty category mask; valid categories: written present swapped file pfnzero huge soft-dirty guard wpallowed" },
	{ "   ", "empty category mask; valid categories: written present swapped file pfnzero huge soft-dirty guard wpallowed" },
	{ "foo", "unknown category \"foo\"; " VALID },
	{ "present,foo", "unknown category \"foo\"; " VALID },
	{ "present, foo ", "unknown category \"foo\"; " VALID },
	{ "present|foo", "unknown category \"foo\"; " VALID },
	{ "!foo", "unknown category \"foo\"; " VALID },
	{ "Written", "unknown category \"Written\"; " VALID },
	{ "soft_dirty", "unknown category \"soft_dirty\"; " VALID },
	{ "softdirty", "unknown category \"softdirty\"; " VALID },
	{ "soft dirty", "unknown category \"soft dirty\"; " VALID },
	{ "file present", "unknown category \"file present\"; " VALID },
	{ "file!", "unknown category \"file!\"; " VALID },
	{ "-file", "unknown category \"-file\"; " VALID },
	{ "file;present", "unknown category \"file;present\"; " VALID },
	{ "all", "unknown category \"all\"; " VALID },
	{ "file,!file", "\"file\" and \"!file\" contradict each other: no page can match" },
	{ "!file,file", "\"file\" and \"!file\" contradict each other: no page can match" },
	{ "present,written,!present", "\"present\" and \"!present\" contradict each other: no page can match" },
	{ "file,!file|present", "\"file\" and \"!file\" in one mask: the kernel inverts a category for the whole mask, so it needs one polarity" },
	{ "!file|present,file", "\"file\" and \"!file\" in one mask: the kernel inverts a category for the whole mask, so it needs one polarity" },
	{ "file|!file", "\"file\" and \"!file\" in one mask: the kernel inverts a category for the whole mask, so it needs one polarity" },
	{ "file|present,written|swapped", "only one any-of group (A|B) is allowed per mask; \"written|swapped\" is a second one" },
	{ "file|present, written | swapped ", "only one any-of group (A|B) is allowed per mask; \"written | swapped\" is a second one" },
	{ "file|file,present|present", "only one any-of group (A|B) is allowed per mask; \"present|present\" is a second one" },
	{ "file,", "empty term in category mask (stray ',')" },
	{ ",file", "empty term in category mask (stray ',')" },
	{ "file,,present", "empty term in category mask (stray ',')" },
	{ "file, ,present", "empty term in category mask (stray ',')" },
	{ ",", "empty term in category mask (stray ',')" },
	{ "file|", "empty alternative in the any-of group (write NAME|NAME)" },
	{ "|file", "empty alternative in the any-of group (write NAME|NAME)" },
	{ "file||present", "empty alternative in the any-of group (write NAME|NAME)" },
	{ "|", "empty alternative in the any-of group (write NAME|NAME)" },
	{ "!", "'!' without a category name" },
	{ "file,! ", "'!' without a category name" },
	{ "!|file", "'!' without a category name" },
	{ "!!file", "\"!!file\": only one '!' per category" },
	{ "! !file", "\"!!file\": only one '!' per category" },
};

/* Evaluate the expression text directly (AND of terms, OR inside a term,
 * '!' negates) to check parse+match against the grammar's meaning. */
static bool eval_literal(const char *b, const char *e, uint64_t cats)
{
	bool neg = false;

	while (b < e && strchr(" \t\n", *b))
		b++;
	while (e > b && strchr(" \t\n", e[-1]))
		e--;
	if (*b == '!') {
		neg = true;
		b++;
		while (b < e && *b == ' ')
			b++;
	}
	for (size_t i = 0; i < NEXPECT; i++)
		if (strlen(expect[i].name) == (size_t)(e - b) && !memcmp(expect[i].name, b, (size_t)(e - b)))
			return !!(cats & expect[i].bit) != neg;
	abort();
}

static bool eval_expr(const char *s, uint64_t cats)
{
	const char *p = s;

	for (;;) {
		const char *te = strchrnul(p, ',');
		bool any = false;

		for (const char *q = p; q <= te; ) {
			const char *ae = memchr(q, '|', (size_t)(te - q));

			if (!ae)
				ae = te;
			any |= eval_literal(q, ae, cats);
			q = ae + 1;
		}
		if (!any)
			return false;
		if (!*te)
			return true;
		p = te + 1;
	}
}

static bool mask_eq(const struct ps_mask *a, const struct ps_mask *b)
{
	return a->mask == b->mask && a->inverted == b->inverted && a->anyof == b->anyof;
}

static void test_mask_parse_valid(void)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct mask_case *c = &valid[i];
		struct ps_err err = { 0 };
		struct ps_mask m, m2;
		char buf[128], buf2[128];
		int r, bad = -1;

		memset(&m, 0xa5, sizeof(m));
		r = ps_mask_parse(c->s, &m, &err);
		is_int(r, 0, "parse \"%s\"", esc(c->s));
		if (r)
			printf("#   %s\n", err.msg);
		is_u64(m.mask, c->mask, "\"%s\" mask", esc(c->s));
		is_u64(m.inverted, c->inverted, "\"%s\" inverted", esc(c->s));
		is_u64(m.anyof, c->anyof, "\"%s\" anyof", esc(c->s));
		is_u64(ps_mask_bits(&m), c->mask | c->anyof, "\"%s\" bits", esc(c->s));
		ok(!(m.inverted & ~(m.mask | m.anyof)) && !(m.mask & m.anyof) &&
		   (m.anyof == 0 || (m.anyof & (m.anyof - 1))),
		   "\"%s\" is canonical (inversion only on used bits, disjoint masks, no 1-bit group)", esc(c->s));

		/* The kernel's test on the parsed mask means what the text says. */
		for (uint64_t cats = 0; cats <= ALL; cats++)
			if (ps_mask_match(&m, cats) != eval_expr(c->s, cats)) {
				bad = (int)cats;
				break;
			}
		ok(bad < 0, "\"%s\" matches the same pages as its text (all 512 combinations)", esc(c->s));
		if (bad >= 0)
			printf("#   differs at categories 0x%x\n", bad);

		/* Canonical form round-trips and is a fixed point. */
		ps_mask_format(&m, buf, sizeof(buf));
		r = ps_mask_parse(buf, &m2, NULL);
		ok(r == 0 && mask_eq(&m, &m2), "\"%s\" -> \"%s\" parses back to the same mask", esc(c->s), buf);
		ps_mask_format(&m2, buf2, sizeof(buf2));
		is_str(buf2, buf, "\"%s\" canonical form is stable", esc(c->s));
	}
}

static void test_mask_parse_invalid(void)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct ps_err err = { 0 };
		struct ps_mask m, sentinel;
		int r;

		memset(&m, 0x5a, sizeof(m));
		sentinel = m;
		r = ps_mask_parse(invalid[i].s, &m, &err);
		is_int(r, -EINVAL, "\"%s\" is rejected", esc(invalid[i].s));
		is_int(err.code, EINVAL, "\"%s\" err.code", esc(invalid[i].s));
		is_str(err.msg, invalid[i].msg, "\"%s\" message", esc(invalid[i].s));
		ok(mask_eq(&m, &sentinel), "\"%s\" leaves *ret alone", esc(invalid[i].s));
		is_int(ps_mask_parse(invalid[i].s, &m, NULL), -EINVAL, "\"%s\" with err == NULL", esc(invalid[i].s));
	}
	{
		struct ps_err err = { 0 };
		struct ps_mask m;
		char longname[300];

		is_int(ps_mask_parse(NULL, &m, &err), -EINVAL, "NULL string is rejected");
		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		is_int(ps_mask_parse(longname, &m, &err), -EINVAL, "300-byte name is rejected");
		ok(strncmp(err.msg, "unknown category \"xxxx", 22) == 0 && strstr(err.msg, "x...\"; " VALID),
		   "long bad token is shortened with \"...\" and the list survives: %s", err.msg);
		ok(strlen(err.msg) < 200, "message stays short (%zu)", strlen(err.msg));
	}
}

static void test_mask_format(void)
{
	static const struct {
		struct ps_mask m;
		const char *want;
	} t[] = {
		{ { W, 0, 0 }, "written" },
		{ { W | WA, 0, 0 }, "written,wpallowed" },
		{ { P | F, F, 0 }, "present,!file" },
		{ { P | F, F, S | W }, "present,!file,written|swapped" },
		{ { 0, 0, S | W }, "written|swapped" },
		{ { 0, P, P | S }, "!present|swapped" },
		{ { ALL, ALL, 0 }, "!written,!present,!swapped,!file,!pfnzero,!huge,!soft-dirty,!guard,!wpallowed" },
		{ { 0, 0, 0 }, "" },
		{ { 0, ALL, 0 }, "" },                      /* inversion of unused bits is irrelevant */
		{ { P | (1ull << 30), 0, 0 }, "present" },  /* unknown bits are not printed */
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = ps_mask_format(&t[i].m, buf, sizeof(buf));

		is_str(buf, t[i].want, "format case %zu", i);
		is_int(n, strlen(t[i].want), "format length of \"%s\"", buf);
	}
	{
		struct ps_mask m = { ALL, ALL, 0 };
		char small[8];

		memset(small, 'X', sizeof(small));
		is_int(ps_mask_format(&m, small, 6), 5, "truncated format returns what was written");
		is_str(small, "!writ", "truncated format is terminated");
		ok(small[6] == 'X', "no write past n");
		is_int(ps_mask_format(&m, small, 0), 0, "n == 0");
	}
}

/* Random canonical masks (mask and anyof disjoint, anyof 0 or >= 2 bits,
 * inversion only on used bits) round-trip through text exactly. */
static void test_mask_roundtrip_random(void)
{
	unsigned seed = 12345;
	int failures = 0, n = 20000;

	for (int i = 0; i < n; i++) {
		struct ps_mask m, back;
		char buf[128];
		uint64_t used;

		m.mask = (uint64_t)rand_r(&seed) & ALL;
		m.anyof = (uint64_t)rand_r(&seed) & ALL & ~m.mask;
		if (m.anyof && !(m.anyof & (m.anyof - 1)))
			m.anyof = 0;
		used = m.mask | m.anyof;
		if (!used)
			continue;
		m.inverted = (uint64_t)rand_r(&seed) & used;
		ps_mask_format(&m, buf, sizeof(buf));
		if (ps_mask_parse(buf, &back, NULL) != 0 || !mask_eq(&m, &back)) {
			if (failures++ < 5)
				printf("#   %llx/%llx/%llx -> \"%s\" does not round-trip\n",
				       (unsigned long long)m.mask, (unsigned long long)m.inverted,
				       (unsigned long long)m.anyof, buf);
		}
	}
	ok(failures == 0, "%d random canonical masks round-trip (%d failures)", n, failures);
}

static void test_mask_match(void)
{
	static const struct {
		struct ps_mask m;
		uint64_t cats;
		bool want;
	} t[] = {
		{ { 0, 0, 0 }, 0, true },                    /* empty mask matches all */
		{ { 0, 0, 0 }, ALL, true },
		{ { W, 0, 0 }, W, true },
		{ { W, 0, 0 }, W | P, true },
		{ { W, 0, 0 }, P, false },
		{ { W, W, 0 }, P, true },                    /* !written */
		{ { W, W, 0 }, W | P, false },
		{ { 0, 0, W | S }, P, false },
		{ { 0, 0, W | S }, S, true },
		{ { 0, 0, W | S }, W | S, true },
		{ { 0, P, P | S }, 0, true },                /* !present|swapped */
		{ { 0, P, P | S }, P, false },
		{ { 0, P, P | S }, P | S, true },
		{ { P | F, F, S | W }, P, false },
		{ { P | F, F, S | W }, P | W, true },
		{ { P | F, F, S | W }, P | W | F, false },
		{ { WA, 0, 0 }, WA | W | P, true },
		{ { 0, WA, 0 }, WA, true },                  /* inverted bit outside the masks: no effect */
		{ { 0, 1ull << 40, 1ull << 40 }, 0, true },  /* raw kernel semantics for any bit */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(ps_mask_match(&t[i].m, t[i].cats) == t[i].want,
		   "match(%llx/%llx/%llx, %llx) == %d", (unsigned long long)t[i].m.mask,
		   (unsigned long long)t[i].m.inverted, (unsigned long long)t[i].m.anyof,
		   (unsigned long long)t[i].cats, t[i].want);

	/* Exhaustive against the kernel's formula over small bit spaces. */
	{
		int bad = 0;

		for (uint64_t mask = 0; mask < 16; mask++)
			for (uint64_t inv = 0; inv < 16; inv++)
				for (uint64_t any = 0; any < 16; any++)
					for (uint64_t cats = 0; cats < 16; cats++) {
						struct ps_mask m = { mask, inv, any };
						uint64_t c = cats ^ inv;
						bool want = (c & mask) == mask && (any == 0 || (c & any));

						bad += ps_mask_match(&m, cats) != want;
					}
		ok(bad == 0, "ps_mask_match is the kernel's formula over 4 bits (%d mismatches)", bad);
	}
	{
		struct ps_mask m = { P, F, S | F };

		is_u64(ps_mask_bits(&m), P | S | F, "ps_mask_bits ignores inversion");
	}
}

int main(void)
{
	test_table();
	test_names();
	test_bit();
	test_categories_format();
	test_mask_parse_valid();
	test_mask_parse_invalid();
	test_mask_format();
	test_mask_roundtrip_random();
	test_mask_match();
	return tap_done();
}
