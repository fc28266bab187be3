/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps parsing, lookup, selectors; and a read of our own maps. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagescan/kernel/sys.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/util.h"
#include "tap.h"

/* Real-looking (Linux 6.18), plus the names that break naive parsers. Anonymous
 * lines carry the kernel's trailing space, except the two marked. */
static const char fixture[] =
	"55d0c2a00000-55d0c2a02000 r--p 00000000 fe:00 247134                     /usr/bin/my prog\n"
	"55d0c2a02000-55d0c2a07000 r-xp 00002000 fe:00 247134                     /usr/bin/my prog\n"
	"55d0c2a07000-55d0c2a0a000 rw-p 00007000 fe:00 247134                     /usr/bin/my prog\n"
	"55d0c3b6e000-55d0c3b8f000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f5d6c000000-7f5d6c021000 rw-p 00000000 00:00 0 \n"
	"7f5d6c021000-7f5d70000000 ---p 00000000 00:00 0\n"                         /* no trailing space */
	"7f5d71000000-7f5d71001000 rw-s 00000000 00:01 1024                       /dev/zero (deleted)\n"
	"7f5d71001000-7f5d71002000 rw-s 00000000 00:01 32769                      /SYSV00000000 (deleted)\n"
	"7f5d71002000-7f5d71003000 rw-s 00000000 00:01 5                          /memfd:pool (deleted)\n"
	"7f5d71003000-7f5d71004000 rw-s 00000000 00:19 7                          /dev/shm/ring buf\n"
	"7f5d71004000-7f5d71005000 rw-p 00000000 00:00 0                          [anon:jemalloc arena]\n"
	"7f5d71005000-7f5d71006000 r--p 00000000 fe:00 99                         /tmp/weird\\012name \"quoted\" back\\slash\n"
	"7f5d71006000-7f5d71007000 r--p 00001000 fe:00 100                        /tmp/caf\xe9 \xff\xfe (deleted)\n"
	"7f5d71007000-7f5d71008000 r--p 00000000 fe:00 101                        /tmp/trailing space \n"
	"7f5d71008000-7f5d71009000 r-xp 00000000 00:00 0                          [uprobes]\n"
	"7f5d71009000-7f5d7100a000 rw-p 00000000 00:00 0                          [stack:1234]\n"
	"7f5d7100a000-7f5d7100b000 r--p 00000000 103:02 4194305                   anon_inode:[perf_event]\n"
	"7f5d71d17000-7f5d71d3d000 r--p 00000000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f5d71d3d000-7f5d71e93000 r-xp 00026000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f5d71e93000-7f5d71ee6000 r--p 0017c000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f5d71ee6000-7f5d71eea000 r--p 001cf000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f5d71eea000-7f5d71eec000 rw-p 001d3000 fe:00 332835                     /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f5d71eec000-7f5d71ef9000 rw-p 00000000 00:00 0 \n"
	"7f5d71f06000-7f5d71f0a000 r--p 00000000 00:00 0                          [vvar]\n"
	"7f5d71f0a000-7f5d71f0c000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
	"7f5d71f0c000-7f5d71f0e000 r-xp 00000000 00:00 0                          [vdso]\n"
	"7ffc1e0d3000-7ffc1e0f4000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]"; /* no final newline */

enum { NFIX = 28 };

static const struct {
	enum ps_vma_kind kind;
	const char *name;
} fixture_names[NFIX] = {
	{ PS_VMA_FILE, "/usr/bin/my prog" },
	{ PS_VMA_FILE, "/usr/bin/my prog" },
	{ PS_VMA_FILE, "/usr/bin/my prog" },
	{ PS_VMA_HEAP, "[heap]" },
	{ PS_VMA_ANON, "" },
	{ PS_VMA_ANON, "" },
	{ PS_VMA_SHMEM, "/dev/zero (deleted)" },
	{ PS_VMA_SHMEM, "/SYSV00000000 (deleted)" },
	{ PS_VMA_SHMEM, "/memfd:pool (deleted)" },
	{ PS_VMA_SHMEM, "/dev/shm/ring buf" },
	{ PS_VMA_SPECIAL, "[anon:jemalloc arena]" },
	{ PS_VMA_FILE, "/tmp/weird\\012name \"quoted\" back\\slash" },
	{ PS_VMA_FILE, "/tmp/caf\xe9 \xff\xfe (deleted)" },
	{ PS_VMA_FILE, "/tmp/trailing space " },
	{ PS_VMA_SPECIAL, "[uprobes]" },
	{ PS_VMA_SPECIAL, "[stack:1234]" },
	{ PS_VMA_FILE, "anon_inode:[perf_event]" },
	{ PS_VMA_FILE, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ PS_VMA_FILE, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ PS_VMA_FILE, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ PS_VMA_FILE, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ PS_VMA_FILE, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ PS_VMA_ANON, "" },
	{ PS_VMA_VVAR, "[vvar]" },
	{ PS_VMA_VVAR, "[vvar_vclock]" },
	{ PS_VMA_VDSO, "[vdso]" },
	{ PS_VMA_STACK, "[stack]" },
	{ PS_VMA_VSYSCALL, "[vsyscall]" },
};

static void test_fixture(void)
{
	struct ps_maps m = { 0 };
	struct ps_err err = { 0 };
	bool names = true, kinds = true, inside = true, sorted = true;
	const struct ps_vma *v;

	is_int(ps_maps_parse(fixture, sizeof(fixture) - 1, &m, &err), 0, "fixture parses");
	if (m.n != NFIX) {
		is_u64(m.n, NFIX, "entry count");
		return;
	}
	is_u64(m.n, NFIX, "entry count");
	for (size_t i = 0; i < m.n; i++) {
		v = &m.v[i];
		if (strcmp(v->name, fixture_names[i].name) != 0) {
			names = false;
			printf("# line %zu name \"%s\"\n", i + 1, v->name);
		}
		if (v->kind != fixture_names[i].kind) {
			kinds = false;
			printf("# line %zu kind %d\n", i + 1, v->kind);
		}
		if (v->name < m.text || v->name > m.text + sizeof(fixture) - 1)
			inside = false;
		if (i && v->start < m.v[i - 1].end)
			sorted = false;
	}
	ok(names, "names byte-for-byte (spaces, quotes, backslashes, \\012, invalid UTF-8, trailing space)");
	ok(kinds, "kinds");
	ok(inside, "names point into the snapshot's text");
	ok(sorted, "sorted");

	v = &m.v[0];
	ok(v->start == 0x55d0c2a00000 && v->end == 0x55d0c2a02000, "line 1 range");
	ok(v->prot == PS_VMA_READ && v->offset == 0 && v->dev_major == 0xfe && v->dev_minor == 0 &&
	   v->inode == 247134, "line 1 fields");
	v = &m.v[1];
	ok(v->prot == (PS_VMA_READ | PS_VMA_EXEC) && v->offset == 0x2000, "line 2 r-xp, offset");
	ok(m.v[5].prot == 0, "---p: no permission bits");
	ok(m.v[6].prot == (PS_VMA_READ | PS_VMA_WRITE | PS_VMA_SHARED) && m.v[6].dev_minor == 1 &&
	   m.v[6].inode == 1024, "rw-s shared, device 00:01");
	ok(m.v[16].dev_major == 0x103 && m.v[16].dev_minor == 2 && m.v[16].inode == 4194305,
	   "three-digit major");
	ok(m.v[20].offset == 0x1cf000, "libc offset");
	v = &m.v[NFIX - 1];
	ok(v->start == 0xffffffffff600000ull && v->end == 0xffffffffff601000ull &&
	   v->prot == PS_VMA_EXEC, "vsyscall at the top of the address space, --xp");

	is_str(ps_vma_label(&m.v[4]), "[anon]", "label of anonymous");
	is_str(ps_vma_label(&m.v[3]), "[heap]", "label of heap");
	is_str(ps_vma_label(&m.v[0]), "/usr/bin/my prog", "label of a file");

	/* lookups */
	is_int(ps_maps_find(&m, 0), -1, "find below everything");
	is_int(ps_maps_find(&m, 0x55d0c2a00000 - 1), -1, "find just below the first");
	is_int(ps_maps_find(&m, 0x55d0c2a00000), 0, "find first start");
	is_int(ps_maps_find(&m, 0x55d0c2a01fff), 0, "find first end-1");
	is_int(ps_maps_find(&m, 0x55d0c2a02000), 1, "find at an adjacent boundary");
	is_int(ps_maps_find(&m, 0x55d0c2a0a000), -1, "find in a gap (at the previous end)");
	is_int(ps_maps_find(&m, 0x55d0c3b6dfff), -1, "find in a gap (before the next start)");
	is_int(ps_maps_find(&m, 0x7ffc1e0e0000), 26, "find stack");
	is_int(ps_maps_find(&m, 0xffffffffff600fffull), 27, "find last byte of vsyscall");
	is_int(ps_maps_find(&m, UINT64_MAX), -1, "find above everything");
	is_u64(ps_maps_lower_bound(&m, 0), 0, "lower_bound 0");
	is_u64(ps_maps_lower_bound(&m, 0x55d0c2a02000), 1, "lower_bound at a boundary: the next VMA");
	is_u64(ps_maps_lower_bound(&m, 0x55d0c2a0b000), 3, "lower_bound in a gap: the next VMA");
	is_u64(ps_maps_lower_bound(&m, 0x7f5d71f0dfff), 25, "lower_bound inside");
	is_u64(ps_maps_lower_bound(&m, UINT64_MAX), NFIX, "lower_bound past the end: n");
	{
		bool all = true;

		for (size_t i = 0; i < m.n; i++) {
			if (ps_maps_find(&m, m.v[i].start) != (long)i || ps_maps_find(&m, m.v[i].end - 1) != (long)i ||
			    ps_maps_lower_bound(&m, m.v[i].start) != i || ps_maps_lower_bound(&m, m.v[i].end - 1) != i)
				all = false;
			if (i + 1 < m.n && m.v[i].end < m.v[i + 1].start &&
			    (ps_maps_find(&m, m.v[i].end) != -1 || ps_maps_lower_bound(&m, m.v[i].end) != i + 1))
				all = false;
		}
		ok(all, "find/lower_bound at every start, end-1 and gap");
	}
	ps_maps_free(&m);
	ok(m.v == NULL && m.text == NULL && m.n == 0, "free resets");
	ps_maps_free(&m);
	ps_maps_free(NULL);
}

/* Which fixture lines a selector matches, as a string of line numbers. */
static const char *matches(const struct ps_maps *m, const char *sel)
{
	static char buf[256];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++)
		if (ps_vma_match(&m->v[i], sel))
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%zu", len ? "," : "", i + 1);
	return buf;
}

static void test_selectors(void)
{
	struct ps_maps m = { 0 };

	if (ps_maps_parse(fixture, sizeof(fixture) - 1, &m, NULL) != 0) {
		ok(0, "fixture parses");
		return;
	}
	is_str(matches(&m, "[heap]"), "4", "[heap]");
	is_str(matches(&m, "[stack]"), "27", "[stack] (not [stack:1234])");
	is_str(matches(&m, "[stack:1234]"), "16", "[stack:1234] exactly");
	is_str(matches(&m, "[vdso]"), "26", "[vdso]");
	is_str(matches(&m, "[vvar]"), "24", "[vvar] (not [vvar_vclock])");
	is_str(matches(&m, "[vvar_vclock]"), "25", "[vvar_vclock]");
	is_str(matches(&m, "[vsyscall]"), "28", "[vsyscall]");
	is_str(matches(&m, "anon"), "5,6,23", "anon: unnamed anonymous only");
	is_str(matches(&m, "[anon]"), "5,6,23", "[anon] = anon");
	is_str(matches(&m, "[anon:jemalloc arena]"), "11", "named anonymous exactly");
	is_str(matches(&m, "shm"), "7,8,9,10", "shm");
	is_str(matches(&m, "/usr/bin/my prog"), "1,2,3", "exact path with a space");
	is_str(matches(&m, "my prog"), "1,2,3", "basename with a space");
	is_str(matches(&m, "libc.so.6"), "18,19,20,21,22", "basename libc.so.6");
	is_str(matches(&m, "/usr/lib/x86_64-linux-gnu/libc.so.6"), "18,19,20,21,22", "exact libc path");
	is_str(matches(&m, "libc"), "", "no prefix matching");
	is_str(matches(&m, "/usr/bin"), "", "a directory is not a prefix match");
	is_str(matches(&m, "/usr/lib/x86_64-linux-gnu/libc.so"), "", "exact path means exact");
	is_str(matches(&m, "caf\xe9 \xff\xfe"), "13", "basename ignores \" (deleted)\", raw bytes");
	is_str(matches(&m, "caf\xe9 \xff\xfe (deleted)"), "13", "basename with \" (deleted)\" also matches");
	is_str(matches(&m, "/tmp/caf\xe9 \xff\xfe (deleted)"), "13", "exact path with (deleted)");
	is_str(matches(&m, "/tmp/caf\xe9 \xff\xfe"), "", "exact path without (deleted) does not");
	is_str(matches(&m, "memfd:pool"), "9", "memfd by basename");
	is_str(matches(&m, "SYSV00000000"), "8", "SysV by basename");
	is_str(matches(&m, "ring buf"), "10", "/dev/shm file by basename");
	is_str(matches(&m, "weird\\012name \"quoted\" back\\slash"), "12", "basename with \\012, quotes, backslash");
	is_str(matches(&m, "trailing space "), "14", "basename keeps a trailing space");
	is_str(matches(&m, "anon_inode:[perf_event]"), "17", "a name without '/' is its own basename");
	is_str(matches(&m, "heap"), "", "heap without brackets matches nothing");
	is_str(matches(&m, ""), "", "empty selector matches nothing");
	is_str(matches(&m, NULL), "", "NULL selector matches nothing");
	ps_maps_free(&m);
}

/* Prepend two good lines, then a bad one: the message names line 3 and the reason. */
static void bad_line(const char *line, const char *why, const char *reason)
{
	static const char good[] =
		"00400000-00401000 r--p 00000000 fe:00 12 /bin/x\n"
		"00401000-00402000 r-xp 00001000 fe:00 12 /bin/x\n";
	char text[512];
	struct ps_maps m = { .n = 12345 };
	struct ps_err err = { 0 };
	int r;

	snprintf(text, sizeof(text), "%s%s\n", good, line);
	r = ps_maps_parse(text, strlen(text), &m, &err);
	ok(r == -EINVAL && err.code == EINVAL && strncmp(err.msg, "maps line 3: ", 13) == 0 &&
	   strcmp(err.msg + 13, reason) == 0 && m.n == 12345, "rejected (%s): \"%s\"", why, err.msg);
}

/* A literal's exact length (it may contain NUL bytes). */
#define PARSE(lit) ps_maps_parse(lit, sizeof(lit) - 1, &m, &err)

static void test_malformed(void)
{
	struct ps_maps m = { .n = 777 };
	struct ps_err err = { 0 };
	char *big;
	size_t nbig;

	bad_line("", "empty line", "empty line");
	bad_line("00402000-00403000 rw-p 00000000 fe:00", "no inode", "too few fields");
	bad_line("00402000-00403000 rw-p 00000000", "no device", "too few fields");
	bad_line("00402000-00403000 rw-p", "no offset", "too few fields");
	bad_line("00402000-00403000", "no permissions", "too few fields");
	bad_line("00402000", "no end", "too few fields");
	bad_line("00402000-", "empty end", "bad end address");
	bad_line("-00403000 rw-p 00000000 fe:00 0", "empty start", "bad start address");
	bad_line("0040g000-00403000 rw-p 00000000 fe:00 0", "non-hex start", "bad start address");
	bad_line("00402000-0040300x rw-p 00000000 fe:00 0", "non-hex end", "bad end address");
	bad_line("00402000-00403000 rw-p 0000z000 fe:00 0", "non-hex offset", "bad offset");
	bad_line("00402000-00403000 rw-p 00000000 fg:00 0", "non-hex major", "bad device major");
	bad_line("00402000-00403000 rw-p 00000000 fe-00 0", "no colon in device", "expected ':' in the device");
	bad_line("00402000-00403000 rw-p 00000000 fe:00 x", "non-decimal inode", "bad inode");
	bad_line("00402000-00403000 rw-p 00000000 fe:00 12x /bin/x", "junk after inode", "bad inode");
	bad_line("00402000-00403000 rw-p 00000000 fe:00 99999999999999999999", "inode overflow", "bad inode");
	bad_line("10000000000000000-10000000000001000 rw-p 00000000 00:00 0", "17-digit address", "bad start address");
	bad_line("00402000-00403000 rwxq 00000000 fe:00 0", "bad share flag", "bad permissions");
	bad_line("00402000-00403000 RW-p 00000000 fe:00 0", "upper-case permissions", "bad permissions");
	bad_line("00402000-00403000 rw- 00000000 fe:00 0", "three permission letters", "bad permissions");
	bad_line("00402000-00403000 wr-p 00000000 fe:00 0", "permissions out of order", "bad permissions");
	bad_line("00402000-00403000  rw-p 00000000 fe:00 0", "two spaces", "bad permissions");
	bad_line("00402000-00403000\trw-p 00000000 fe:00 0", "tab separator", "expected a space after the address range");
	bad_line(" 00402000-00403000 rw-p 00000000 fe:00 0", "leading space", "bad start address");
	bad_line("00402000-00403000 rw-p 00000000 fe:00 0\t/x", "tab before the name", "junk after the inode");
	bad_line("00402000-00403000 rw-p 00000000 fe:00 0\r", "CR after the inode", "junk after the inode");
	bad_line("00403000-00402000 rw-p 00000000 fe:00 0", "start > end", "start address not below end address");
	bad_line("00402000-00402000 rw-p 00000000 fe:00 0", "start == end", "start address not below end address");
	bad_line("00402001-00403000 rw-p 00000000 fe:00 0", "unaligned start", "address not page aligned");
	bad_line("00402000-00403fff rw-p 00000000 fe:00 0", "unaligned end", "address not page aligned");
	bad_line("00401800-00403000 rw-p 00000000 fe:00 0", "overlapping (and unaligned)", "address not page aligned");
	bad_line("00401000-00403000 rw-p 00000000 fe:00 0", "overlapping the previous line", "overlaps the previous mapping");
	bad_line("00300000-00301000 rw-p 00000000 fe:00 0", "not sorted", "mappings not sorted by address");

	/* the message numbers lines from 1 and counts the first one */
	ok(PARSE("zz\n") == -EINVAL && strncmp(err.msg, "maps line 1: ", 13) == 0,
	   "line 1: \"%s\"", err.msg);
	ok(PARSE("00400000-00401000 r--p 00000000 fe:00 12 /x\n\n") == -EINVAL &&
	   strncmp(err.msg, "maps line 2: ", 13) == 0, "blank second line: \"%s\"", err.msg);
	ok(PARSE("00400000-00401000 r--p 00000000 fe:00 12 /x\0y\n") == -EINVAL &&
	   strncmp(err.msg, "maps line 1: ", 13) == 0, "NUL byte: \"%s\"", err.msg);
	is_u64(m.n, 777, "output untouched on failure");
	ok(ps_maps_parse("00400000-00401000 r--p 00000000 fe:00 12 /x\n", 30, &m, &err) == -EINVAL,
	   "length is honoured (text cut mid-line)");

	/* empty and minimal inputs */
	is_int(PARSE(""), 0, "empty text: no mappings");
	ok(m.n == 0 && m.text != NULL, "empty snapshot");
	ps_maps_free(&m);
	is_int(PARSE("00400000-00401000 ---p 00000000 00:00 0"), 0,
	       "one anonymous line without newline");
	ok(m.n == 1 && m.v[0].kind == PS_VMA_ANON && m.v[0].name[0] == '\0', "anonymous, empty name");
	ps_maps_free(&m);
	is_int(PARSE("00400000-00401000 ---p 00000000 00:00 0     \n"), 0,
	       "anonymous with several trailing spaces");
	ok(m.n == 1 && m.v[0].name[0] == '\0', "still anonymous");
	ps_maps_free(&m);
	is_int(PARSE("00400000-00401000 r--p 00000000 00:00 0 /a\n"
		     "00401000-00402000 r--p 00000000 00:00 0 /b\n"), 0, "single space before the name (not column-aligned)");
	ok(m.n == 2 && strcmp(m.v[0].name, "/a") == 0 && strcmp(m.v[1].name, "/b") == 0, "names /a /b");
	ps_maps_free(&m);
	is_int(PARSE("00400000-00401000 r--p 00000000 00:00 0 \\ \n"), 0, "name \"\\ \"");
	ok(m.n == 1 && strcmp(m.v[0].name, "\\ ") == 0 && m.v[0].kind == PS_VMA_FILE, "kept as is");
	ps_maps_free(&m);
	is_int(PARSE("0-1000 r--p 0 0:0 0\n"), 0, "short hex fields, address 0");
	ok(m.n == 1 && m.v[0].start == 0 && m.v[0].end == 0x1000, "[0, 0x1000)");
	ps_maps_free(&m);

	/* one line more than the cap: E2BIG before any allocation per line */
	nbig = (size_t)PS_MAPS_MAX + 1;
	big = malloc(nbig);
	memset(big, '\n', nbig);
	is_int(ps_maps_parse(big, nbig, &m, &err), -E2BIG, "more than PS_MAPS_MAX lines: E2BIG");
	ok(strstr(err.msg, "maps") != NULL, "message: \"%s\"", err.msg);
	free(big);
}

/* Our own maps through the kernel, including a file whose name has a
 * newline, spaces and a quote. */
static void test_self(void)
{
	char dir[] = "/tmp/pagescan-maps-XXXXXX", path[128], want[160];
	struct ps_maps m = { 0 };
	struct ps_err err = { 0 };
	int procfd, fd;
	long i;
	void *p = MAP_FAILED, *anon;
	bool found = false;

	procfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!mkdtemp(dir) || procfd < 0) {
		ok(0, "setup: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/a b\n\"c\"", dir);
	snprintf(want, sizeof(want), "%s/a b\\012\"c\"", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 && ftruncate(fd, 8192) == 0)
		p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	anon = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	is_int(ps_maps_read(procfd, &m, &err), 0, "read /proc/self/maps: %s", err.msg);
	ok(m.n > 5, "some mappings (%zu)", m.n);
	/* The frame, not a local: ASan's detect_stack_use_after_return moves
	 * address-taken locals to heap-allocated fake frames. */
	i = ps_maps_find(&m, (uintptr_t)__builtin_frame_address(0));
	ok(i >= 0 && m.v[i].kind == PS_VMA_STACK, "our stack frame is on [stack]");
	i = ps_maps_find(&m, (uintptr_t)test_self);
	ok(i >= 0 && m.v[i].kind == PS_VMA_FILE && (m.v[i].prot & PS_VMA_EXEC), "our code is in an executable file mapping");
	i = ps_maps_find(&m, (uintptr_t)anon);
	ok(i >= 0 && m.v[i].start <= (uintptr_t)anon && m.v[i].end >= (uintptr_t)anon + 3 * 4096 &&
	   (m.v[i].prot & PS_VMA_WRITE), "our anonymous mapping is covered");
	if (p != MAP_FAILED) {
		i = ps_maps_find(&m, (uintptr_t)p);
		found = i >= 0 && strcmp(m.v[i].name, want) == 0 && ps_vma_match(&m.v[i], "a b\\012\"c\"") &&
			m.v[i].kind == PS_VMA_FILE && (m.v[i].prot & PS_VMA_SHARED);
		ok(found, "file name with newline shows as \\012: \"%s\"", i >= 0 ? m.v[i].name : "(none)");
	} else {
		ok(0, "mmap of the test file: %s", strerror(errno));
	}
	ps_maps_free(&m);

	/* after unlinking: " (deleted)", still matched by basename */
	if (p != MAP_FAILED && unlink(path) == 0) {
		char wantdel[200];

		snprintf(wantdel, sizeof(wantdel), "%s (deleted)", want);
		is_int(ps_maps_read(procfd, &m, &err), 0, "read again");
		i = ps_maps_find(&m, (uintptr_t)p);
		ok(i >= 0 && strcmp(m.v[i].name, wantdel) == 0 && ps_vma_match(&m.v[i], "a b\\012\"c\""),
		   "deleted file: \"%s\"", i >= 0 ? m.v[i].name : "(none)");
		ps_maps_free(&m);
	} else {
		unlink(path);
	}
	if (p != MAP_FAILED)
		munmap(p, 8192);
	munmap(anon, 3 * 4096);
	if (fd >= 0)
		close(fd);
	rmdir(dir);

	/* a directory without "maps": an error naming the cause */
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	m.n = 99;
	is_int(ps_maps_read(fd, &m, &err), -ENOENT, "no maps file: -ENOENT");
	ok(err.code == ENOENT && strstr(err.msg, "maps") != NULL && m.n == 99, "message: \"%s\"", err.msg);
	close(fd);
	close(procfd);
}

int main(void)
{
	test_fixture();
	test_selectors();
	test_malformed();
	test_self();
	return tap_done();
}
