/* SPDX-License-Identifier: MIT */
/* Known kernel bugs by release (model/kbugs.h). */
#include <stdint.h>
#include <string.h>

#include "pagescan/model/kbugs.h"
#include "tap.h"

static size_t affecting(const char *release)
{
	const struct ps_kbug *b[8];
	return ps_kbugs_affecting(release, b, 8);
}

static int has(const char *release, const char *id)
{
	const struct ps_kbug *b[8];
	size_t n = ps_kbugs_affecting(release, b, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		if (strcmp(b[i]->id, id) == 0)
			return 1;
	return 0;
}

static void test_parse(void)
{
	unsigned v[3];
	ok(ps_kernel_version_parse("6.8.9-300.fc40.x86_64", v) == 0 && v[0] == 6 && v[1] == 8 && v[2] == 9, "distro release");
	ok(ps_kernel_version_parse("6.18.0-rc3", v) == 0 && v[0] == 6 && v[1] == 18 && v[2] == 0, "rc: minor, patch 0");
	ok(ps_kernel_version_parse("6.7", v) == 0 && v[0] == 6 && v[1] == 7 && v[2] == 0, "no patch level");
	ok(ps_kernel_version_parse("6.9-rc7", v) == 0 && v[1] == 9 && v[2] == 0, "6.9-rc7");
	ok(ps_kernel_version_parse("6", v) < 0, "major only: refused");
	ok(ps_kernel_version_parse("", v) < 0, "empty: refused");
	ok(ps_kernel_version_parse("x.y", v) < 0, "garbage: refused");
}

static void test_ranges(void)
{
	/* the close bug: 6.7.0 .. 6.8.9, fixed in 6.8.10 and 6.9 */
	ok(has("6.7.0", "uffd-close-leaves-wp"), "6.7.0 affected");
	ok(has("6.7.12", "uffd-close-leaves-wp"), "6.7.12 (last 6.7) affected");
	ok(has("6.8.9", "uffd-close-leaves-wp"), "6.8.9 affected");
	ok(!has("6.8.10", "uffd-close-leaves-wp"), "6.8.10 fixed");
	ok(!has("6.9.0", "uffd-close-leaves-wp"), "6.9 fixed");
	ok(!has("6.6.30", "uffd-close-leaves-wp"), "6.6 has no WP_ASYNC: not listed");
	is_u64(affecting("6.8.9-arch1"), 4, "6.8.9: four known bugs");
	is_u64(affecting("6.8.10"), 1, "6.8.10: the huge zero page one");
	/* the huge zero page read as written: 6.7.0 .. 6.12.35, 6.13 and 6.14
	 * (never fixed), 6.15.0 .. 6.15.4; fixed in 6.12.36, 6.15.5, 6.16 */
	ok(has("6.7.0", "huge-zero-not-pfnzero"), "huge zero: 6.7.0 affected");
	ok(has("6.11.11", "huge-zero-not-pfnzero"), "huge zero: 6.11 affected");
	ok(has("6.12.35", "huge-zero-not-pfnzero"), "huge zero: 6.12.35 affected");
	ok(!has("6.12.36", "huge-zero-not-pfnzero"), "huge zero: 6.12.36 fixed");
	ok(!has("6.12.60-1-lts", "huge-zero-not-pfnzero"), "huge zero: later 6.12 fixed");
	ok(has("6.13.0", "huge-zero-not-pfnzero"), "huge zero: 6.13.0 affected");
	ok(has("6.14.11", "huge-zero-not-pfnzero"), "huge zero: 6.14.11 (last 6.14) affected");
	ok(has("6.15.4-200.fc42.x86_64", "huge-zero-not-pfnzero"), "huge zero: 6.15.4 affected");
	ok(!has("6.15.5", "huge-zero-not-pfnzero"), "huge zero: 6.15.5 fixed");
	ok(!has("6.16.0", "huge-zero-not-pfnzero"), "huge zero: 6.16 fixed");
	ok(!has("6.6.90", "huge-zero-not-pfnzero"), "huge zero: 6.6 has no PAGEMAP_SCAN");
	is_u64(affecting("6.12.35"), 1, "6.12.35: one known bug");
	is_u64(affecting("6.14.3"), 1, "6.14.3: one known bug");
	is_u64(affecting("6.18.44"), 0, "6.18: none");
	is_u64(affecting("7.0.1"), 0, "7.0: none");
	is_u64(affecting("garbage"), 0, "unparsable: none");
	is_u64(affecting(NULL), 0, "NULL: none");
	/* more matches than room: the count is still right */
	const struct ps_kbug *one[1];
	is_u64(ps_kbugs_affecting("6.7.5", one, 1), 4, "count beyond max");
	size_t n;
	const struct ps_kbug *t = ps_kbugs_table(&n);
	for (size_t i = 0; i < n; i++)
		ok(t[i].id && t[i].effect && t[i].fix && strstr(t[i].fix, " in ") != NULL,
		   "%s names its fix and where it landed", t[i].id);
}

int main(void)
{
	test_parse();
	test_ranges();
	return tap_done();
}
