/* SPDX-License-Identifier: MIT */
/* -r RANGE parsing, interval sets (against a bitmap model) and resolution
 * of specs against a maps snapshot. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/spans.h"
#include "pagescan/model/util.h"
#include "tap.h"

/* ---- ps_rangespec_parse ----------------------------------------------- */

static void test_parse_addr_forms(void)
{
	static const struct {
		const char *s;
		uint64_t start, end;
	} t[] = {
		{ "0x1000+4K", 0x1000, 0x2000 },
		{ "4096-8192", 0x1000, 0x2000 },
		{ "0x1001-0x1002", 0x1000, 0x2000 },
		{ "0x1000-0x2000", 0x1000, 0x2000 },
		{ "0x1000-0x2001", 0x1000, 0x3000 },
		{ "0x1fff-0x2001", 0x1000, 0x3000 },
		{ "0-1", 0, 0x1000 },
		{ "1+1", 0, 0x1000 },
		{ "0+4096", 0, 0x1000 },
		{ "0x1000+1", 0x1000, 0x2000 },
		{ "0x1000+4097", 0x1000, 0x3000 },
		{ "0x1000+0x1000", 0x1000, 0x2000 },
		{ "0x1000+1M", 0x1000, 0x101000 },
		{ "0x1000+2MiB", 0x1000, 0x201000 },
		{ "0x1000+1G", 0x1000, 0x40001000 },
		{ "0x7f0000000000+4KiB", 0x7f0000000000, 0x7f0000001000 },
		{ "0X7F0000000000-0X7F0000000001", 0x7f0000000000, 0x7f0000001000 },
		{ "0x0-0xfffffffffffff000", 0, 0xfffffffffffff000 },
		{ "0xffffffffffffe000+4K", 0xffffffffffffe000, 0xfffffffffffff000 },
		{ "0xffffffffffffe000-0xffffffffffffefff", 0xffffffffffffe000, 0xfffffffffffff000 },
		{ "0xffffffffffffefff-0xfffffffffffff000", 0xffffffffffffe000, 0xfffffffffffff000 },
		{ "140737488351232-140737488355328", 0x7ffffffff000, 0x800000000000 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ps_rangespec rs;
		struct ps_err err = { 0 };
		int r;

		memset(&rs, 0x77, sizeof(rs));
		r = ps_rangespec_parse(t[i].s, &rs, &err);
		is_int(r, 0, "parse \"%s\"", t[i].s);
		if (r)
			printf("#   %s\n", err.msg);
		is_int(rs.kind, PS_RANGE_ADDR, "\"%s\" is an address range", t[i].s);
		is_u64(rs.start, t[i].start, "\"%s\" start", t[i].s);
		is_u64(rs.end, t[i].end, "\"%s\" end", t[i].s);
	}
}

static void test_parse_selectors(void)
{
	static const char *t[] = {
		"[heap]", "[stack]", "[vdso]", "[vvar]", "[anon:foo]", "anon", "[anon]", "shm",
		"libc.so.6", "ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/memfd:buf (deleted)", "a b", "-foo", "+foo", "ff-100", "deadbeef+4K", "x",
		"lib-1.2.so", "/1.so",
	};
	char sel[300];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ps_rangespec rs;
		int r;

		memset(&rs, 0x77, sizeof(rs));
		r = ps_rangespec_parse(t[i], &rs, NULL);
		is_int(r, 0, "parse selector \"%s\"", t[i]);
		is_int(rs.kind, PS_RANGE_SELECTOR, "\"%s\" is a selector", t[i]);
		is_str(rs.selector, t[i], "selector %zu kept verbatim", i);
	}

	/* 255 bytes fit, 256 don't. */
	memset(sel, 'a', sizeof(sel));
	sel[0] = '/';
	sel[255] = '\0';
	{
		struct ps_rangespec rs;
		struct ps_err err = { 0 };

		is_int(ps_rangespec_parse(sel, &rs, &err), 0, "255-byte selector accepted");
		ok(rs.kind == PS_RANGE_SELECTOR && strcmp(rs.selector, sel) == 0, "255-byte selector intact");
		sel[255] = 'a';
		sel[256] = '\0';
		is_int(ps_rangespec_parse(sel, &rs, &err), -EINVAL, "256-byte selector rejected");
		ok(strstr(err.msg, "too long") && strstr(err.msg, "255"), "message: %s", err.msg);
		sel[299] = '\0';
		memset(sel, 'b', 299);
		is_int(ps_rangespec_parse(sel, &rs, &err), -EINVAL, "299-byte selector rejected");
	}
}

static void test_parse_errors(void)
{
	static const struct {
		const char *s;
		int ret;
		const char *msg;  /* substring */
	} t[] = {
		{ "", -EINVAL, "empty range" },
		{ "0x1000-0x1000", -EINVAL, "end must be above start" },
		{ "0x2000-0x1000", -EINVAL, "end must be above start" },
		{ "4096-4095", -EINVAL, "end must be above start" },
		{ "0-0", -EINVAL, "end must be above start" },
		{ "0x1000+0", -EINVAL, "length must be greater than 0" },
		{ "0x1000+0K", -EINVAL, "length must be greater than 0" },
		{ "0x1000", -EINVAL, "expected START-END or START+LENGTH" },
		{ "4096", -EINVAL, "expected START-END or START+LENGTH" },
		{ "1.so", -EINVAL, "use its full path" },
		{ "0x1000-", -EINVAL, "range \"0x1000-\": end: empty address" },
		{ "0x1000+", -EINVAL, "range \"0x1000+\": length: empty size" },
		{ "-0x1000", 0, NULL },   /* not numeric-looking: a selector */
		{ "0x-0x1000", -EINVAL, "range \"0x-0x1000\": start: invalid address \"0x\"" },
		{ "0xZZ-0x1000", -EINVAL, "range \"0xZZ-0x1000\": start: invalid address \"0xZZ\"" },
		{ "0x1000-0xZZ", -EINVAL, "range \"0x1000-0xZZ\": end: invalid address \"0xZZ\"" },
		{ "0x1000-4K", -EINVAL, "end: invalid address \"4K\"" },
		{ "0x1000+1.5K", -EINVAL, "length: invalid size \"1.5K\"" },
		{ "0x1000+-1", -EINVAL, "length: invalid size \"-1\"" },
		{ "0x1000--0x2000", -EINVAL, "end: invalid address \"-0x2000\"" },
		{ "0x1000-0x2000-0x3000", -EINVAL, "end: invalid address \"0x2000-0x3000\"" },
		{ "0x1000+4K+4K", -EINVAL, "length: invalid size \"4K+4K\"" },
		{ "1e3-2e3", -EINVAL, "start: invalid address \"1e3\"" },
		{ "0x1000+4K ", -EINVAL, "length: invalid size \"4K \"" },
		{ "0x1000 +4K", -EINVAL, "start: invalid address \"0x1000 \"" },
		{ "4K-8K", -EINVAL, "start: invalid address \"4K\"" },
		{ "0x1000-0x2000 ", -EINVAL, "end: invalid address" },
		{ "18446744073709551616-18446744073709551617", -EINVAL, "start: address \"18446744073709551616\" is out of range" },
		{ "0x1000-0x10000000000000000", -EINVAL, "end: address \"0x10000000000000000\" is out of range" },
		{ "0x1000+16E", -EINVAL, "length: size \"16E\" is too large" },
		{ "0xfffffffffffff000+4K", -EINVAL, "extends past the end of the address space" },
		{ "0xfffffffffffff000-0xffffffffffffffff", -EINVAL, "extends past the end of the address space" },
		{ "0xfffffffffffff001-0xfffffffffffff002", -EINVAL, "extends past the end of the address space" },
		{ "1+0xffffffffffffffff", -EINVAL, "extends past the end of the address space" },
		{ "0+0xffffffffffffffff", -EINVAL, "extends past the end of the address space" },
		{ "0x1000+0xfffffffffffff000", -EINVAL, "extends past the end of the address space" },
		{ "0x1000+15E", 0, NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ps_rangespec rs, sentinel;
		struct ps_err err = { 0 };
		int r;

		memset(&rs, 0x77, sizeof(rs));
		sentinel = rs;
		r = ps_rangespec_parse(t[i].s, &rs, &err);
		is_int(r, t[i].ret, "\"%s\" -> %d", t[i].s, t[i].ret);
		if (!t[i].msg)
			continue;
		ok(strstr(err.msg, t[i].msg) != NULL, "\"%s\" message: %s", t[i].s, err.msg);
		is_int(err.code, -t[i].ret, "\"%s\" err.code", t[i].s);
		/* Byte for byte, padding included: any store into *ret counts. */
		ok(memcmp(&rs, &sentinel, sizeof(rs)) == 0, "\"%s\" leaves *ret alone", t[i].s); // NOLINT(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c): intended
		is_int(ps_rangespec_parse(t[i].s, &rs, NULL), t[i].ret, "\"%s\" with err == NULL", t[i].s);
	}
	is_int(ps_rangespec_parse(NULL, &(struct ps_rangespec){ 0 }, NULL), -EINVAL, "NULL string");
	{
		struct ps_err err = { 0 };
		char longnum[200];

		memset(longnum, '1', sizeof(longnum) - 1);
		longnum[sizeof(longnum) - 1] = '\0';
		longnum[5] = '-';
		is_int(ps_rangespec_parse(longnum, &(struct ps_rangespec){ 0 }, &err), -EINVAL,
		       "200-char numeric range rejected");
		ok(strstr(err.msg, "...") != NULL, "long input shortened in message: %s", err.msg);
	}
}

/* ---- rangeset ------------------------------------------------------------ */

struct iv {
	uint64_t start, end;
};

static bool set_is(const struct ps_rangeset *s, const struct iv *want, size_t n)
{
	if (s->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s->r[i].start != want[i].start || s->r[i].end != want[i].end)
			return false;
	return true;
}

static void dump(const struct ps_rangeset *s)
{
	printf("#   set:");
	for (size_t i = 0; i < s->n; i++)
		printf(" [%llu,%llu)", (unsigned long long)s->r[i].start, (unsigned long long)s->r[i].end);
	printf("\n");
}

#define SET_IS(s, name, ...) do { \
	static const struct iv w_[] = { __VA_ARGS__ }; \
	if (!ok(set_is((s), w_, sizeof(w_) / sizeof(w_[0])), "%s", name)) dump(s); } while (0)
#define SET_EMPTY(s, name) do { if (!ok((s)->n == 0, "%s", name)) dump(s); } while (0)

static void test_rangeset_cases(void)
{
	struct ps_rangeset s = { 0 };

	SET_EMPTY(&s, "new set is empty");
	is_u64(ps_rangeset_total(&s), 0, "empty total");
	is_int(ps_rangeset_contains(&s, 0, 1), 0, "empty contains nothing");
	is_int(ps_rangeset_contains(&s, 5, 5), 1, "empty interval is always covered");
	is_int(ps_rangeset_remove(&s, 0, 100), 0, "remove from empty");
	SET_EMPTY(&s, "still empty");

	/* union */
	ps_rangeset_add(&s, 10, 20);
	SET_IS(&s, "first add", { 10, 20 });
	ps_rangeset_add(&s, 5, 5);
	ps_rangeset_add(&s, 30, 20);
	SET_IS(&s, "empty and inverted intervals are no-ops", { 10, 20 });
	ps_rangeset_add(&s, 30, 40);
	SET_IS(&s, "disjoint after", { 10, 20 }, { 30, 40 });
	ps_rangeset_add(&s, 0, 5);
	SET_IS(&s, "disjoint before", { 0, 5 }, { 10, 20 }, { 30, 40 });
	ps_rangeset_add(&s, 22, 25);
	SET_IS(&s, "disjoint middle", { 0, 5 }, { 10, 20 }, { 22, 25 }, { 30, 40 });
	ps_rangeset_add(&s, 20, 22);
	SET_IS(&s, "touching both neighbours merges three", { 0, 5 }, { 10, 25 }, { 30, 40 });
	ps_rangeset_add(&s, 5, 6);
	SET_IS(&s, "touching left neighbour's end", { 0, 6 }, { 10, 25 }, { 30, 40 });
	ps_rangeset_add(&s, 9, 10);
	SET_IS(&s, "touching right neighbour's start", { 0, 6 }, { 9, 25 }, { 30, 40 });
	ps_rangeset_add(&s, 12, 18);
	SET_IS(&s, "nested add changes nothing", { 0, 6 }, { 9, 25 }, { 30, 40 });
	ps_rangeset_add(&s, 9, 25);
	SET_IS(&s, "identical add changes nothing", { 0, 6 }, { 9, 25 }, { 30, 40 });
	ps_rangeset_add(&s, 24, 32);
	SET_IS(&s, "overlap two", { 0, 6 }, { 9, 40 });
	ps_rangeset_add(&s, 50, 60);
	ps_rangeset_add(&s, 70, 80);
	ps_rangeset_add(&s, 45, 100);
	SET_IS(&s, "superset swallows several", { 0, 6 }, { 9, 40 }, { 45, 100 });
	is_u64(ps_rangeset_total(&s), 6 + 31 + 55, "total");
	is_int(ps_rangeset_contains(&s, 9, 40), 1, "contains exact interval");
	is_int(ps_rangeset_contains(&s, 10, 39), 1, "contains inside");
	is_int(ps_rangeset_contains(&s, 8, 10), 0, "starts in a gap");
	is_int(ps_rangeset_contains(&s, 39, 41), 0, "ends in a gap");
	is_int(ps_rangeset_contains(&s, 0, 100), 0, "spans gaps");
	is_int(ps_rangeset_contains(&s, 100, 101), 0, "past the end");
	is_int(ps_rangeset_contains(&s, 40, 41), 0, "touching is not covered");

	/* difference */
	ps_rangeset_remove(&s, 6, 9);
	SET_IS(&s, "removing a gap changes nothing", { 0, 6 }, { 9, 40 }, { 45, 100 });
	ps_rangeset_remove(&s, 20, 25);
	SET_IS(&s, "hole splits", { 0, 6 }, { 9, 20 }, { 25, 40 }, { 45, 100 });
	ps_rangeset_remove(&s, 9, 12);
	SET_IS(&s, "trim the front", { 0, 6 }, { 12, 20 }, { 25, 40 }, { 45, 100 });
	ps_rangeset_remove(&s, 38, 40);
	SET_IS(&s, "trim the back", { 0, 6 }, { 12, 20 }, { 25, 38 }, { 45, 100 });
	ps_rangeset_remove(&s, 15, 50);
	SET_IS(&s, "across several, trimming both ends", { 0, 6 }, { 12, 15 }, { 50, 100 });
	ps_rangeset_remove(&s, 12, 15);
	SET_IS(&s, "exact removal", { 0, 6 }, { 50, 100 });
	ps_rangeset_remove(&s, 60, 60);
	ps_rangeset_remove(&s, 70, 60);
	SET_IS(&s, "empty removals are no-ops", { 0, 6 }, { 50, 100 });
	ps_rangeset_remove(&s, 0, 1000);
	SET_EMPTY(&s, "remove everything");

	/* extremes */
	ps_rangeset_add(&s, 0, UINT64_MAX);
	is_u64(ps_rangeset_total(&s), UINT64_MAX, "whole space total");
	ps_rangeset_remove(&s, 1, UINT64_MAX - 1);
	SET_IS(&s, "remove all but the ends", { 0, 1 }, { UINT64_MAX - 1, UINT64_MAX });
	is_int(ps_rangeset_contains(&s, UINT64_MAX - 1, UINT64_MAX), 1, "top covered");
	ps_rangeset_clear(&s);
	SET_EMPTY(&s, "clear empties");
	ok(s.r != NULL && s.cap > 0, "clear keeps the memory");
	ps_rangeset_free(&s);
	ok(s.r == NULL && s.n == 0 && s.cap == 0, "free resets");
	ps_rangeset_add(&s, 1, 2);
	SET_IS(&s, "usable after free", { 1, 2 });
	ps_rangeset_free(&s);
	ps_rangeset_free(&s);
	ok(1, "double free is safe");
}

/* Random operations on a small universe, checked against a bitmap. */
#define U 512

static bool check_against(const struct ps_rangeset *s, const bool *bm, uint64_t base, const char **why)
{
	uint64_t total = 0;
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i].start >= s->r[i].end) {
			*why = "empty interval stored";
			return false;
		}
		if (i && s->r[i - 1].end >= s->r[i].start) {
			*why = "intervals overlap, touch or are unsorted";
			return false;
		}
		if (s->r[i].start < base || s->r[i].end > base + U) {
			*why = "interval outside the universe";
			return false;
		}
	}
	for (uint64_t x = 0; x < U; x++) {
		bool in;

		while (k < s->n && s->r[k].end <= base + x)
			k++;
		in = k < s->n && s->r[k].start <= base + x;
		if (in != bm[x]) {
			*why = "coverage differs from the bitmap";
			return false;
		}
		total += bm[x];
	}
	if (ps_rangeset_total(s) != total) {
		*why = "total differs";
		return false;
	}
	return true;
}

static void run_random(uint64_t base, unsigned seed, int ops, const char *name)
{
	struct ps_rangeset s = { 0 };
	bool bm[U] = { 0 };
	const char *why = NULL;
	int op, bad_contains = 0, checked = 0;
	size_t maxn = 0;

	for (op = 0; op < ops; op++) {
		uint64_t a = (uint64_t)rand_r(&seed) % (U + 1);
		uint64_t len = (uint64_t)rand_r(&seed) % ((rand_r(&seed) & 7) ? 8 : 128);
		uint64_t b = a + len > U ? U : a + len;
		int kind = rand_r(&seed) % 10;

		if (kind < 6) {
			if (ps_rangeset_add(&s, base + a, base + b) != 0)
				break;
			for (uint64_t x = a; x < b; x++)
				bm[x] = true;
		} else if (kind < 9) {
			if (ps_rangeset_remove(&s, base + a, base + b) != 0)
				break;
			for (uint64_t x = a; x < b; x++)
				bm[x] = false;
		} else {
			ps_rangeset_clear(&s);
			memset(bm, 0, sizeof(bm));
		}
		if (s.n > maxn)
			maxn = s.n;
		if (!check_against(&s, bm, base, &why))
			break;
		/* Random containment queries. */
		for (int q = 0; q < 4; q++) {
			uint64_t qa = (uint64_t)rand_r(&seed) % U;
			uint64_t qb = qa + (uint64_t)rand_r(&seed) % 16;
			bool want = true;

			if (qb > U)
				qb = U;
			for (uint64_t x = qa; x < qb; x++)
				want &= bm[x];
			bad_contains += ps_rangeset_contains(&s, base + qa, base + qb) != (int)want;
			checked++;
		}
	}
	if (!ok(op == ops, "%s: %d random add/remove/clear ops match the bitmap (peak %zu intervals)", name, ops, maxn))
		printf("#   op %d: %s\n", op, why ? why : "allocation failed"), dump(&s);
	ok(bad_contains == 0, "%s: %d contains() queries agree (%d wrong)", name, checked, bad_contains);
	ps_rangeset_free(&s);
}

static void test_rangeset_random(void)
{
	run_random(0, 1, 200000, "low addresses");
	run_random(UINT64_MAX - U, 2, 50000, "top of the address space");
	run_random(0x7f0000000000ull, 3, 50000, "typical user addresses");
}

static void test_rangeset_scale(void)
{
	struct ps_rangeset s = { 0 };
	unsigned seed = 99;
	size_t n = 1000000, pages = 2 * n, runs = 0;
	unsigned char *bm = calloc(pages, 1);
	uint64_t want = 0;
	int good = 1;

	/* Ascending appends, as a scan produces them: 10^6 disjoint ranges
	 * (every even page). */
	for (size_t i = 0; i < n && good; i++) {
		good = ps_rangeset_add(&s, i * 2 * PS_PAGE_SIZE, i * 2 * PS_PAGE_SIZE + PS_PAGE_SIZE) == 0;
		bm[2 * i] = 1;
	}
	ok(good && s.n == n, "10^6 ascending disjoint adds (%zu intervals)", s.n);
	is_u64(ps_rangeset_total(&s), n * PS_PAGE_SIZE, "total of 10^6 pages");
	ok(ps_rangeset_contains(&s, 2 * 500000 * PS_PAGE_SIZE, 2 * 500000 * PS_PAGE_SIZE + PS_PAGE_SIZE) &&
	   !ps_rangeset_contains(&s, 2 * 500000 * PS_PAGE_SIZE, 2 * 500000 * PS_PAGE_SIZE + 2 * PS_PAGE_SIZE),
	   "contains in a 10^6 set");

	/* Random single-page adds and removes anywhere in it (each may memmove
	 * the tail: O(n), so a few thousand). */
	for (size_t i = 0; i < 4000 && good; i++) {
		size_t p = (size_t)rand_r(&seed) % pages;

		if (i & 1) {
			good = ps_rangeset_add(&s, p * PS_PAGE_SIZE, (p + 1) * PS_PAGE_SIZE) == 0;
			bm[p] = 1;
		} else {
			good = ps_rangeset_remove(&s, p * PS_PAGE_SIZE, (p + 1) * PS_PAGE_SIZE) == 0;
			bm[p] = 0;
		}
	}
	for (size_t p = 0; p < pages; p++) {
		want += bm[p] ? PS_PAGE_SIZE : 0;
		runs += bm[p] && (p == 0 || !bm[p - 1]);
	}
	ok(good && ps_rangeset_total(&s) == want && s.n == runs,
	   "4000 random edits of a 10^6 set match the page bitmap (%zu intervals, want %zu)", s.n, runs);

	/* Filling every gap from the top collapses the set to one interval. */
	for (size_t k = pages; k-- > 0 && good; )
		good = ps_rangeset_add(&s, k * PS_PAGE_SIZE, (k + 1) * PS_PAGE_SIZE) == 0;
	ok(good && s.n == 1 && s.r[0].start == 0 && s.r[0].end == pages * PS_PAGE_SIZE,
	   "filling all gaps merges to one interval (%zu)", s.n);
	free(bm);
	ps_rangeset_free(&s);
}

/* ---- ps_rangespec_resolve --------------------------------------------- */

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

static struct ps_vma fake_vmas[] = {
	{ .start = 0x400000, .end = 0x401000, .kind = PS_VMA_FILE, .name = "/usr/bin/cat", .prot = PS_VMA_READ },
	{ .start = 0x401000, .end = 0x405000, .kind = PS_VMA_FILE, .name = "/usr/bin/cat", .prot = PS_VMA_READ | PS_VMA_EXEC },
	{ .start = 0x600000, .end = 0x621000, .kind = PS_VMA_HEAP, .name = "[heap]", .prot = PS_VMA_READ | PS_VMA_WRITE },
	{ .start = 0x7f0000000000, .end = 0x7f0000010000, .kind = PS_VMA_ANON, .name = "", .prot = PS_VMA_READ | PS_VMA_WRITE },
	{ .start = 0x7f0000010000, .end = 0x7f0000200000, .kind = PS_VMA_FILE, .name = LIBC, .prot = PS_VMA_READ },
	{ .start = 0x7f0000200000, .end = 0x7f0000210000, .kind = PS_VMA_FILE, .name = LIBC, .prot = PS_VMA_READ | PS_VMA_WRITE },
	{ .start = 0x7f0000300000, .end = 0x7f0000301000, .kind = PS_VMA_SHMEM, .name = "/dev/zero (deleted)", .prot = PS_VMA_READ | PS_VMA_WRITE | PS_VMA_SHARED },
	{ .start = 0x7f0000400000, .end = 0x7f0000402000, .kind = PS_VMA_ANON, .name = "", .prot = PS_VMA_READ | PS_VMA_WRITE },
	{ .start = 0x7ffc00000000, .end = 0x7ffc00021000, .kind = PS_VMA_STACK, .name = "[stack]", .prot = PS_VMA_READ | PS_VMA_WRITE },
};

static int resolve_strs(const char **strs, size_t n, const struct ps_maps *maps, struct ps_rangeset *out)
{
	struct ps_rangespec specs[8];

	for (size_t i = 0; i < n; i++)
		if (ps_rangespec_parse(strs[i], &specs[i], NULL) != 0)
			return -999;
	return ps_rangespec_resolve(specs, n, maps, out);
}

#define RESOLVE_IS(name, strs, ...) do { \
	static const struct iv w_[] = { __VA_ARGS__ }; \
	int r_ = resolve_strs((strs), sizeof(strs) / sizeof((strs)[0]), &maps, &out); \
	if (!ok(r_ == 0 && set_is(&out, w_, sizeof(w_) / sizeof(w_[0])), "%s", name)) dump(&out); } while (0)

static void test_resolve(void)
{
	struct ps_maps maps = { .v = fake_vmas, .n = sizeof(fake_vmas) / sizeof(fake_vmas[0]), .text = NULL };
	struct ps_rangeset out = { 0 };

	is_int(ps_rangespec_resolve(NULL, 0, &maps, &out), 0, "no specs");
	SET_IS(&out, "no specs: every VMA (adjacent ones merged)",
	       { 0x400000, 0x405000 }, { 0x600000, 0x621000 }, { 0x7f0000000000, 0x7f0000210000 },
	       { 0x7f0000300000, 0x7f0000301000 }, { 0x7f0000400000, 0x7f0000402000 },
	       { 0x7ffc00000000, 0x7ffc00021000 });
	{
		static const char *s[] = { "[heap]" };
		RESOLVE_IS("[heap]", s, { 0x600000, 0x621000 });
	}
	{
		static const char *s[] = { "[stack]" };
		RESOLVE_IS("[stack]", s, { 0x7ffc00000000, 0x7ffc00021000 });
	}
	{
		static const char *s[] = { "libc.so.6" };
		RESOLVE_IS("libc.so.6 (basename)", s, { 0x7f0000010000, 0x7f0000210000 });
	}
	{
		static const char *s[] = { LIBC };
		RESOLVE_IS("libc by full path", s, { 0x7f0000010000, 0x7f0000210000 });
	}
	{
		static const char *s[] = { "anon" };
		RESOLVE_IS("anon", s, { 0x7f0000000000, 0x7f0000010000 }, { 0x7f0000400000, 0x7f0000402000 });
	}
	{
		static const char *s[] = { "no-such-lib.so" };
		RESOLVE_IS("unknown selector selects nothing", s);
	}
	{
		static const char *s[] = { "0x7f0000008000-0x7f0000020000" };
		RESOLVE_IS("address range across two adjacent VMAs", s, { 0x7f0000008000, 0x7f0000020000 });
	}
	{
		static const char *s[] = { "0x404000-0x700000" };
		RESOLVE_IS("address range clipped at both ends and across a hole", s,
		           { 0x404000, 0x405000 }, { 0x600000, 0x621000 });
	}
	{
		static const char *s[] = { "0x500000+64K" };
		RESOLVE_IS("address range in a hole selects nothing", s);
	}
	{
		static const char *s[] = { "0+0x400000" };
		RESOLVE_IS("address range ending where the first VMA starts", s);
	}
	{
		static const char *s[] = { "0x7ffc00021000-0xfffffffffffff000" };
		RESOLVE_IS("address range after the last VMA", s);
	}
	{
		static const char *s[] = { "0-0xfffffffffffff000" };
		RESOLVE_IS("address range over everything equals no specs", s,
		           { 0x400000, 0x405000 }, { 0x600000, 0x621000 }, { 0x7f0000000000, 0x7f0000210000 },
		           { 0x7f0000300000, 0x7f0000301000 }, { 0x7f0000400000, 0x7f0000402000 },
		           { 0x7ffc00000000, 0x7ffc00021000 });
	}
	{
		static const char *s[] = { "0x620000+8K", "[heap]", "0x400800-0x400900", "shm" };
		RESOLVE_IS("union of overlapping ranges and selectors", s,
		           { 0x400000, 0x401000 }, { 0x600000, 0x621000 }, { 0x7f0000300000, 0x7f0000301000 });
	}
	{
		static const char *s[] = { "[stack]", "[heap]" };
		RESOLVE_IS("spec order does not matter", s, { 0x600000, 0x621000 }, { 0x7ffc00000000, 0x7ffc00021000 });
	}
	/* The result replaces what was in ret. */
	{
		static const char *s[] = { "[heap]" };

		ps_rangeset_add(&out, 1, 2);
		ps_rangeset_add(&out, 0x600000, 0x700000);
		RESOLVE_IS("ret is cleared first", s, { 0x600000, 0x621000 });
	}
	{
		struct ps_maps empty = { 0 };
		struct ps_rangespec sp;

		ps_rangespec_parse("0-0x1000000", &sp, NULL);
		is_int(ps_rangespec_resolve(&sp, 1, &empty, &out), 0, "empty maps");
		SET_EMPTY(&out, "empty maps give an empty set");
		is_int(ps_rangespec_resolve(NULL, 0, &empty, &out), 0, "empty maps, no specs");
		SET_EMPTY(&out, "still empty");
	}
	{
		struct ps_rangespec sp = { .kind = (enum ps_range_kind)42 };

		is_int(ps_rangespec_resolve(&sp, 1, &maps, &out), -EINVAL, "unknown spec kind is -EINVAL");
	}
	ps_rangeset_free(&out);
}

/* Random address specs on random page-granular maps vs a page bitmap. */
static void test_resolve_random(void)
{
	enum { PAGES = 256 };
	unsigned seed = 4242;
	int bad = 0, rounds = 2000;

	for (int round = 0; round < rounds; round++) {
		struct ps_vma vmas[PAGES];
		struct ps_maps maps = { .v = vmas, .n = 0 };
		struct ps_rangespec specs[4];
		struct ps_rangeset out = { 0 };
		bool in_vma[PAGES] = { 0 }, want[PAGES] = { 0 };
		size_t nspecs = (size_t)rand_r(&seed) % 5;
		uint64_t p = (uint64_t)rand_r(&seed) % 8;

		while (p < PAGES) {
			uint64_t len = 1 + (uint64_t)rand_r(&seed) % 16;

			if (p + len > PAGES)
				len = PAGES - p;
			vmas[maps.n] = (struct ps_vma){ .start = p * PS_PAGE_SIZE, .end = (p + len) * PS_PAGE_SIZE,
			                                .kind = PS_VMA_ANON, .name = "" };
			maps.n++;
			for (uint64_t x = p; x < p + len; x++)
				in_vma[x] = true;
			p += len + (uint64_t)rand_r(&seed) % 3;  /* 0: adjacent VMAs */
		}
		for (size_t k = 0; k < nspecs; k++) {
			/* Byte-granular ends exercise the page rounding too. */
			uint64_t a = (uint64_t)rand_r(&seed) % (PAGES * PS_PAGE_SIZE);
			uint64_t b = a + 1 + (uint64_t)rand_r(&seed) % (40 * PS_PAGE_SIZE);

			specs[k] = (struct ps_rangespec){ .kind = PS_RANGE_ADDR, .start = a & ~(PS_PAGE_SIZE - 1),
			                                  .end = (b + PS_PAGE_SIZE - 1) & ~(PS_PAGE_SIZE - 1) };
			for (uint64_t x = a / PS_PAGE_SIZE; x < PAGES && x * PS_PAGE_SIZE < b; x++)
				want[x] |= in_vma[x];
		}
		if (nspecs == 0)
			memcpy(want, in_vma, sizeof(want));
		if (ps_rangespec_resolve(specs, nspecs, &maps, &out) != 0) {
			bad++;
			continue;
		}
		{
			struct ps_rangeset model = { 0 };

			for (uint64_t x = 0; x < PAGES; x++)
				if (want[x])
					ps_rangeset_add(&model, x * PS_PAGE_SIZE, (x + 1) * PS_PAGE_SIZE);
			if (model.n != out.n || (model.n && memcmp(model.r, out.r, model.n * sizeof(*model.r)))) {
				if (bad++ < 3) {
					printf("#   round %d differs\n", round);
					dump(&out);
					dump(&model);
				}
			}
			ps_rangeset_free(&model);
		}
		ps_rangeset_free(&out);
	}
	ok(bad == 0, "%d random maps/spec sets resolve like the page bitmap (%d wrong)", rounds, bad);
}

/* Selectors that match nothing: the closest names, and the notes. */
static void test_unmatched(void)
{
	struct ps_maps maps = { .v = fake_vmas, .n = sizeof(fake_vmas) / sizeof(fake_vmas[0]), .text = NULL };
	const char *near[3];

	size_t n = ps_closest_names("libc.so", &maps, near, 3);
	ok(n == 3 && strcmp(near[0], "libc.so.6") == 0, "libc.so: libc.so.6 first (%s)", n ? near[0] : "-");
	bool distinct = true;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			distinct &= strcmp(near[i], near[j]) != 0;
	ok(distinct, "each name once (libc has two mappings)");
	n = ps_closest_names("[heep]", &maps, near, 1);
	ok(n == 1 && strcmp(near[0], "[heap]") == 0, "[heep]: [heap]");
	n = ps_closest_names("/usr/lib/x86_64-linux-gnu/libc.so", &maps, near, 1);
	ok(n == 1 && strcmp(near[0], LIBC) == 0, "a path: the closest full path");
	n = ps_closest_names("cat", &maps, near, 3);
	ok(n == 3 && strcmp(near[0], "cat") == 0, "an exact name is closest (distance 0)");
	n = ps_closest_names("x", &(struct ps_maps){ 0 }, near, 3);
	is_int((int)n, 0, "no mappings: no names");

	struct ps_rangespec specs[4];
	const char *strs[] = { "libc.so", "libc.so.6", "nosuchlib.so", "0x1000-0x2000" };
	for (size_t i = 0; i < 4; i++)
		ps_rangespec_parse(strs[i], &specs[i], NULL);
	struct ps_notes notes = { 0 };
	is_int((int)ps_rangespec_note_unmatched(specs, 4, &maps, &notes), 3, "three of four select nothing");
	is_int((int)notes.n, 3, "one note each");
	static const char w0[] = "-r libc.so matches no mapping of the process; closest names it has: libc.so.6, ";
	static const char w1[] = "-r nosuchlib.so matches no mapping of the process; closest names it has: ";
	ok(strncmp(notes.msg[0], w0, sizeof(w0) - 1) == 0, "note: %s", notes.msg[0]);
	ok(strncmp(notes.msg[1], w1, sizeof(w1) - 1) == 0, "note: %s", notes.msg[1]);
	is_str(notes.msg[2], "-r 0x1000-0x2000 covers no mapping of the process", "address range note");
	notes.n = 0;
	is_int((int)ps_rangespec_note_unmatched(specs + 1, 1, &maps, &notes), 0, "libc.so.6 matches: no note");
	is_int((int)notes.n, 0, "no note");
}

/* ps_rangeset_overlap against a byte-by-byte count. */
static void test_overlap(void)
{
	struct ps_rangeset s = { 0 };
	is_u64(ps_rangeset_overlap(&s, 0, 100), 0, "overlap: empty set");
	ps_rangeset_add(&s, 10, 20);
	ps_rangeset_add(&s, 30, 40);
	ps_rangeset_add(&s, 50, 60);
	int bad = 0;
	for (uint64_t a = 0; a < 70; a++)
		for (uint64_t b = a; b < 70; b++) {
			uint64_t want = 0;
			for (uint64_t x = a; x < b; x++)
				want += (x >= 10 && x < 20) || (x >= 30 && x < 40) || (x >= 50 && x < 60);
			bad += ps_rangeset_overlap(&s, a, b) != want;
		}
	is_int(bad, 0, "overlap equals the naive count for every [a, b) in [0, 70)");
	is_u64(ps_rangeset_overlap(&s, 15, 55), 5 + 10 + 5, "overlap across three intervals, cut at both ends");
	ps_rangeset_free(&s);
}

/* ---- ps_spans_cut, against a page bitmap -------------------------------- */

static void test_spans_cut(void)
{
	/* spans over pages [0, 40): [2,10) [12,20) "r" [25,40); every cut
	 * [a,b) with 0 <= a < b <= 40 against the bitmap of what must stay */
	int bad = 0;
	for (uint64_t a = 0; a < 40; a++)
		for (uint64_t b = a + 1; b <= 40; b++) {
			struct ps_spans s = { 0 };
			bool want[40] = { 0 }, got[40] = { 0 };
			static const uint64_t sp[3][2] = { { 2, 10 }, { 12, 20 }, { 25, 40 } };
			for (int k = 0; k < 3; k++) {
				ps_spans_add(&s, sp[k][0], sp[k][1], "m", k == 1 ? "r" : NULL);
				for (uint64_t p = sp[k][0]; p < sp[k][1]; p++)
					want[p] = p < a || p >= b;
			}
			if (ps_spans_cut(&s, a, b) < 0)
				bad++;
			for (size_t i = 0; i < s.n; i++) {
				if (s.v[i].start >= s.v[i].end)
					bad++;
				bool in_r = s.v[i].start >= 12 && s.v[i].end <= 20;
				if (in_r != (s.v[i].reason && strcmp(s.v[i].reason, "r") == 0))
					bad++;
				for (uint64_t p = s.v[i].start; p < s.v[i].end && p < 40; p++) {
					bad += got[p] ? 1 : 0; /* overlap */
					got[p] = true;
				}
			}
			if (memcmp(want, got, sizeof(want)) != 0)
				bad++;
			ps_spans_free(&s);
		}
	is_int(bad, 0, "ps_spans_cut: every [a,b) of [0,40) leaves exactly the pages outside it, reasons kept");
}

int main(void)
{
	test_spans_cut();
	test_overlap();
	test_parse_addr_forms();
	test_parse_selectors();
	test_parse_errors();
	test_rangeset_cases();
	test_rangeset_random();
	test_rangeset_scale();
	test_resolve();
	test_resolve_random();
	test_unmatched();
	return tap_done();
}
