/* SPDX-License-Identifier: MIT */
/* The two reference readers of the dump benchmark, run from another process
 * like pagescan itself:
 *
 *   bench_scan ioctl PID       minimal PAGEMAP_SCAN loop over the whole user
 *                              address space, present|swapped any-of, return
 *                              mask present|swapped (the kernel limit)
 *   bench_scan ioctl-all PID   the same loop asking for every category the
 *                              kernel knows, in every mapping
 *   bench_scan ioctl-split PID the same categories as ioctl-all, but FILE is
 *                              asked for only in mappings where it can be
 *                              set (not in private anonymous ones): one
 *                              scan per run of mappings of the same kind
 *   bench_scan naive PID       /proc/PID/maps, then 8 bytes of
 *                              /proc/PID/pagemap per page, merged into the
 *                              same ranges as "ioctl"
 *
 * All print one line per region, "START-END CATS" in hex, through one large
 * buffer (the cheapest honest output), and a last line "# REGIONS PAGES". */
#include <sys/ioctl.h>

#include "bench_common.h"

/* Top of user space with 4-level page tables; PAGEMAP_SCAN skips holes. */
#define USER_TOP 0x7ffffffff000ull

static char obuf[1 << 20];
static size_t olen;
static uint64_t nregions, npages;

static void oflush(void)
{
	size_t off = 0;
	while (off < olen) {
		ssize_t w = write(STDOUT_FILENO, obuf + off, olen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write: %s", strerror(errno));
		off += (size_t)w;
	}
	olen = 0;
}

static char *hex(char *p, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	*p++ = '0';
	*p++ = 'x';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static void out_region(uint64_t s, uint64_t e, uint64_t cats)
{
	if (olen + 64 > sizeof(obuf))
		oflush();
	char *p = obuf + olen;
	p = hex(p, s);
	*p++ = '-';
	p = hex(p, e);
	*p++ = ' ';
	p = hex(p, cats);
	*p++ = '\n';
	olen = (size_t)(p - obuf);
	nregions++;
	npages += (e - s) >> BPAGE_SHIFT;
}

/* Regions merge across calls (the kernel cuts one when the vector fills). */
static uint64_t cur_s, cur_e, cur_c;

static void add(uint64_t s, uint64_t e, uint64_t c)
{
	if (cur_e == s && cur_c == c && cur_e) {
		cur_e = e;
		return;
	}
	if (cur_e)
		out_region(cur_s, cur_e, cur_c);
	cur_s = s;
	cur_e = e;
	cur_c = c;
}

static void finish(void)
{
	if (cur_e)
		out_region(cur_s, cur_e, cur_c);
	char tail[64];
	snprintf(tail, sizeof(tail), "# %" PRIu64 " %" PRIu64 "\n", nregions, npages);
	if (olen + sizeof(tail) > sizeof(obuf))
		oflush();
	memcpy(obuf + olen, tail, strlen(tail));
	olen += strlen(tail);
	oflush();
}

static uint64_t supported_cats(int fd)
{
	/* Largest accepted set: 0x1ff (6.16+), 0xff (6.8), 0x7f (6.7). */
	static const uint64_t sets[] = { 0x1ff, 0xff, 0x7f };
	for (size_t i = 0; i < 3; i++) {
		struct pm_scan_arg a = { .size = sizeof(a), .start = 0x10000, .end = 0x10000,
		                         .category_mask = sets[i], .return_mask = sets[i] };
		if (ioctl(fd, PAGEMAP_SCAN, &a) == 0)
			return sets[i];
	}
	die("PAGEMAP_SCAN not supported: %s", strerror(errno));
}

static void scan_range(int fd, uint64_t start, uint64_t end, uint64_t ret_mask)
{
	static struct page_region vec[512]; /* <= 512: stale walk_end quirk */
	for (;;) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = start, .end = end,
			.vec = (uintptr_t)vec, .vec_len = 512,
			.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.return_mask = ret_mask,
		};
		int n = ioctl(fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			die("PAGEMAP_SCAN: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			add(vec[i].start, vec[i].end, vec[i].categories);
		if (n < 512 || a.walk_end >= end)
			break;
		start = a.walk_end;
	}
}

static void scan_ioctl(int fd, uint64_t ret_mask)
{
	scan_range(fd, 0, USER_TOP, ret_mask);
}

/* Private anonymous memory ([heap], [stack], unnamed, [anon:NAME]) holds
 * anonymous pages or the zero page, never page cache: FILE is always clear
 * there, and computing it costs the kernel a struct page lookup per page. */
static bool never_file(const char *line)
{
	char perms[8] = "";
	int off = 0;
	if (sscanf(line, "%*x-%*x %7s %*s %*s %*s%n", perms, &off) != 1 || perms[3] != 'p')
		return false;
	const char *name = line + off;
	while (*name == ' ')
		name++;
	return *name == '\n' || *name == 0 || !strncmp(name, "[heap]", 6) || !strncmp(name, "[stack", 6) ||
	       !strncmp(name, "[anon:", 6);
}

static void scan_split(int pid, int fd, uint64_t all)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		die("open %s: %s", path, strerror(errno));
	uint64_t rs = 0, re = 0;
	int kind = -1; /* of the run [rs, re): 1 never file, 0 other */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			die("bad maps line");
		if (s >= USER_TOP)
			continue; /* [vsyscall] */
		int k = never_file(line);
		if (k != kind && kind >= 0) {
			scan_range(fd, rs, re, kind ? all & ~(uint64_t)PAGE_IS_FILE : all);
			rs = s;
		} else if (kind < 0) {
			rs = s;
		}
		kind = k;
		re = e;
	}
	if (kind >= 0)
		scan_range(fd, rs, re, kind ? all & ~(uint64_t)PAGE_IS_FILE : all);
	fclose(f);
}

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

static void scan_naive(int pid, int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		die("open %s: %s", path, strerror(errno));
	static uint64_t ent[8192]; /* 64 KiB per read */
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			die("bad maps line");
		if (strstr(line, "[vsyscall]"))
			continue;
		for (uint64_t a = s; a < e;) {
			uint64_t n = (e - a) >> BPAGE_SHIFT;
			if (n > 8192)
				n = 8192;
			ssize_t r = pread(fd, ent, n * 8, (off_t)((a >> BPAGE_SHIFT) * 8));
			if (r < 0)
				die("read pagemap: %s", strerror(errno));
			if (r == 0 || r % 8)
				die("short pagemap read");
			n = (uint64_t)r / 8;
			for (uint64_t i = 0; i < n; i++) {
				uint64_t c = ent[i] & PM_PRESENT ? PAGE_IS_PRESENT : ent[i] & PM_SWAPPED ? PAGE_IS_SWAPPED : 0;
				uint64_t pa = a + (i << BPAGE_SHIFT);
				if (c)
					add(pa, pa + BPAGE, c);
			}
			a += n << BPAGE_SHIFT;
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		die("usage: bench_scan ioctl|ioctl-all|ioctl-split|naive PID");
	int pid = (int)parse_u64(argv[2], 1, INT32_MAX, "pid");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (strcmp(argv[1], "ioctl") == 0)
		scan_ioctl(fd, PAGE_IS_PRESENT | PAGE_IS_SWAPPED);
	else if (strcmp(argv[1], "ioctl-all") == 0)
		scan_ioctl(fd, supported_cats(fd));
	else if (strcmp(argv[1], "ioctl-split") == 0)
		scan_split(pid, fd, supported_cats(fd));
	else if (strcmp(argv[1], "naive") == 0)
		scan_naive(pid, fd);
	else
		die("unknown method %s", argv[1]);
	finish();
	return 0;
}
