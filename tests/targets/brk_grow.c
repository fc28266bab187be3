/* SPDX-License-Identifier: MIT */
/*
 * brk_grow: a target for the footprint tests (tests/e2e/footprint.bats). It
 * grows its heap with sbrk(4096), writing each new page, as a program whose
 * heap grows would; it holds a THP-backed region written sparsely; it can
 * make many small mappings; and it records the truth of what it wrote. It
 * never calls malloc or stdio (both could use the heap it measures).
 *
 * Usage:
 *   brk_grow CMDFIFO REPLYFIFO TRUTHFILE     commands, one per line:
 *     maps                 -> "ok MAPPINGS HEAPLINES"
 *     grow N MS            N steps: sbrk(4096), write the new page, sleep MS ms
 *                          -> "ok HEAPSTART HEAPEND"
 *     thp MIB              map MIB MiB 2 MiB-aligned, MADV_HUGEPAGE, write all
 *                          (before any watch) -> "ok START END ANONHUGE_KB"
 *     thpwrite             write one byte in every 2 MiB page of it, and in
 *                          page 1 of every 4th -> "ok PAGES"
 *     anonhuge             -> "ok ANONHUGE_KB" (of the THP region's VMA)
 *     mmaps N              N one-page private anonymous mappings, read-only and
 *                          writable by turns (they cannot merge), never
 *                          written -> "ok FAILED" (mmap calls that failed)
 *     arena N MS PAGES     as a glibc malloc arena of a thread grows (grow_heap):
 *                          the first time, reserve 64 MiB PROT_NONE aligned to
 *                          64 MiB and make its first 32 pages read-write and
 *                          write all but the last (the top chunk's end); then,
 *                          in a thread, N steps: mprotect the
 *                          next PAGES pages read-write, write each at once,
 *                          sleep MS ms -> "ok START END" (the read-write part)
 *     down N MS PAGES      N anonymous mmaps of PAGES pages with no address
 *                          hint (the kernel places each right below the one
 *                          before), each written whole at once, MS ms apart
 *                          -> "ok START END ADJACENT" (the span of all the
 *                          down mappings so far; how many of these N landed
 *                          right below the one before). The first ones may
 *                          fill gaps between other mappings: "extent FILE"
 *                          lists them.
 *     extent FILE          the down mappings made so far, merged, as in the
 *                          truth file -> "ok PAGES"
 *     downvmas             -> "ok RUNS VMAS": the down mappings' runs of
 *                          adjacent ones, and the mappings that meet them
 *     fixed N MS PAGES     as a JIT or GC heap grows without a reservation:
 *                          the first time, map 32 pages and write them; then
 *                          N steps: mmap(MAP_FIXED_NOREPLACE) PAGES pages right
 *                          after its end, write each at once -> "ok START END"
 *     many K N MS          K mappings growing by mmap(MAP_FIXED_NOREPLACE)
 *                          right after their end, as "fixed" does for one (a
 *                          program with many growing heaps): the first time,
 *                          map K mappings of 4 pages, each written, at the
 *                          start of slots of 256 pages with unmapped gaps in
 *                          between; then N steps: one page after the end of
 *                          each, written at once, MS ms apart -> "ok START END"
 *                          (the slots)
 *     manyvmas             -> "ok MOST ALL": the most mappings one of the
 *                          many's slots holds, and all in the slots
 *     vmas START END       -> "ok N": the mappings that meet [START, END)
 *     reserves K           K more arena-like regions: 2 read-write pages (the
 *                          first written) below a 62-page PROT_NONE
 *                          reservation -> "ok MADE" (each is a tail while
 *                          tracked; for measuring what tails cost)
 *     rtouch               write the last read-write page of each -> "ok PAGES"
 *     truth                write the pages written since the last "mark"
 *                          to TRUTHFILE -> "ok PAGES"
 *     mark                 forget the pages written so far -> "ok"
 *     quit                 -> exits 0
 *   brk_grow --run N MS TRUTHFILE INFOFILE [KIND]
 *                          grow N steps at MS ms, write the truth, then
 *                          "MAPPINGS HEAPLINES VMAS RUNS" to INFOFILE (VMAS:
 *                          the mappings of the grown region; with down, of
 *                          its RUNS runs of adjacent mappings, and the
 *                          extent to INFOFILE.extent), and exit 0. KIND:
 *                          brk (the default: sbrk(4096) a step), arena (one
 *                          page a step, as "arena"), down (one-page mmaps, as
 *                          "down"), fixed (one page a step, as "fixed").
 * Truth: merged sorted ranges "0xSTART 0xEND", end exclusive, lowercase hex.
 * Exit status 120 on a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE ((unsigned long)sysconf(_SC_PAGESIZE)) /* the kernel's: 4, 16 or 64 KiB */
#define HUGE (2UL << 20)
#define MAXPAGES (1u << 20)

static uintptr_t written[MAXPAGES];
static size_t nwritten;
static char buf[1 << 22];

static void die(const char *msg)
{
	(void)!write(2, msg, strlen(msg));
	(void)!write(2, "\n", 1);
	_exit(120);
}

static void note(uintptr_t page)
{
	if (nwritten < MAXPAGES)
		written[nwritten++] = page;
}

/* Insertion sort: the pages come nearly sorted, and qsort may call malloc. */
static void sort_written(void)
{
	for (size_t i = 1; i < nwritten; i++) {
		uintptr_t x = written[i];
		size_t j = i;
		for (; j > 0 && written[j - 1] > x; j--)
			written[j] = written[j - 1];
		written[j] = x;
	}
}

static size_t write_truth(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t pages = 0;
	if (fd < 0)
		die("brk_grow: cannot open the truth file");
	sort_written();
	for (size_t i = 0; i < nwritten;) {
		uintptr_t s = written[i], e = s + PAGE;
		size_t j = i + 1;
		for (; j < nwritten && written[j] <= e; j++)
			if (written[j] == e)
				e += PAGE;
		char line[64];
		int l = snprintf(line, sizeof(line), "0x%lx 0x%lx\n", (unsigned long)s, (unsigned long)e);
		(void)!write(fd, line, (size_t)l);
		pages += (e - s) / PAGE;
		i = j;
	}
	close(fd);
	return pages;
}

static size_t read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;
	if (fd < 0)
		return 0;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = 0;
	return n;
}

/* The next line of a buffer read_file() filled, its newline cut; NULL at
 * the end (a last line without one is left out, as /proc never writes it). */
static char *line_next(char **rest)
{
	char *l = *rest, *nl = strchr(l, '\n');
	if (!*l || !nl)
		return NULL;
	*nl = 0;
	*rest = nl + 1;
	return l;
}

/* Mappings and [heap] lines of /proc/self/maps. */
static void count_maps(unsigned long *maps, unsigned long *heap)
{
	*maps = *heap = 0;
	read_file("/proc/self/maps");
	for (char *rest = buf, *p; (p = line_next(&rest));) {
		if (!strstr(p, "[vsyscall]"))
			(*maps)++;
		if (strstr(p, "[heap]"))
			(*heap)++;
	}
}

/* AnonHugePages (kB) of the VMA that contains addr. */
static unsigned long anonhuge(uintptr_t addr)
{
	unsigned long kb = 0;
	int in = 0;
	read_file("/proc/self/smaps");
	for (char *rest = buf, *p; (p = line_next(&rest));) {
		unsigned long s, e;
		if (sscanf(p, "%lx-%lx ", &s, &e) == 2 && strchr(p, '-') < strchr(p, ' '))
			in = addr >= s && addr < e;
		else if (in && strncmp(p, "AnonHugePages:", 14) == 0)
			kb += strtoul(p + 14, NULL, 10);
	}
	return kb;
}

static void grow(unsigned long n, unsigned long ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
	for (unsigned long i = 0; i < n; i++) {
		char *p = sbrk((intptr_t)PAGE);
		if (p == (void *)-1)
			die("brk_grow: sbrk failed");
		/* sbrk returns the old break: page aligned here, as we only grow by pages */
		if ((uintptr_t)p % PAGE)
			die("brk_grow: the break is not page aligned");
		*(volatile char *)(p + 7) = (char)(1 + i);
		note((uintptr_t)p);
		if (ms)
			nanosleep(&ts, NULL);
	}
}

/* The mappings of /proc/self/maps that meet [s, e). */
static unsigned long count_vmas(uintptr_t s, uintptr_t e)
{
	unsigned long n = 0;
	read_file("/proc/self/maps");
	for (char *rest = buf, *p; (p = line_next(&rest));) {
		unsigned long a, b;
		if (sscanf(p, "%lx-%lx ", &a, &b) == 2 && a < e && b > s)
			n++;
	}
	return n;
}

static void nap(unsigned long ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
	if (ms)
		nanosleep(&ts, NULL);
}

/* Write one byte into each page of [p, p + len) and note it. */
static void write_pages(char *p, size_t len, unsigned char v)
{
	for (size_t o = 0; o < len; o += PAGE) {
		*(volatile char *)(p + o + 11) = (char)v;
		note((uintptr_t)p + o);
	}
}

/* arena: a 64 MiB PROT_NONE reservation whose read-write part grows by mprotect. */
#define ARENA_SIZE (64UL << 20)
static char *arena;
static size_t arena_rw;
struct arena_job { unsigned long n, ms, pages; int err; };

static void *arena_thread(void *arg)
{
	struct arena_job *j = arg;
	for (unsigned long i = 0; i < j->n && arena_rw + j->pages * PAGE <= ARENA_SIZE; i++) {
		if (mprotect(arena + arena_rw, j->pages * PAGE, PROT_READ | PROT_WRITE) < 0) {
			j->err = errno;
			break;
		}
		write_pages(arena + arena_rw, j->pages * PAGE, (unsigned char)(1 + i));
		arena_rw += j->pages * PAGE;
		nap(j->ms);
	}
	return NULL;
}

static int arena_grow(unsigned long n, unsigned long ms, unsigned long pages)
{
	if (!arena) {
		char *raw = mmap(NULL, 2 * ARENA_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (raw == MAP_FAILED)
			return errno;
		/* aligned to its size, as glibc's new_heap() does; the rest unmapped */
		char *a = (char *)(((uintptr_t)raw + ARENA_SIZE - 1) & ~(ARENA_SIZE - 1));
		if (a > raw)
			munmap(raw, (size_t)(a - raw));
		munmap(a + ARENA_SIZE, (size_t)(raw + 2 * ARENA_SIZE - (a + ARENA_SIZE)));
		if (mprotect(a, 32 * PAGE, PROT_READ | PROT_WRITE) < 0)
			return errno;
		arena = a;
		arena_rw = 32 * PAGE;
		/* all but the last page: glibc's top chunk leaves it untouched */
		write_pages(arena, arena_rw - PAGE, 1);
	}
	struct arena_job j = { .n = n, .ms = ms, .pages = pages };
	pthread_t th;
	if (pthread_create(&th, NULL, arena_thread, &j) != 0)
		return EAGAIN;
	pthread_join(th, NULL);
	return j.err;
}

/* down: mmaps the kernel places top-down, each right below the one before. */
static uintptr_t down_lo, down_hi;
static uintptr_t down_at[MAXPAGES / 4];
static size_t ndown;
static size_t down_pages;

/* The down mappings, merged, to path (in the truth's format). */
static size_t write_extent(const char *path)
{
	static uintptr_t save[MAXPAGES];
	size_t saved = nwritten, n = 0;
	memcpy(save, written, saved * sizeof(*save));
	nwritten = 0;
	for (size_t i = 0; i < ndown; i++)
		for (size_t k = 0; k < down_pages; k++)
			note(down_at[i] + k * PAGE);
	n = write_truth(path);
	memcpy(written, save, saved * sizeof(*save));
	nwritten = saved;
	return n;
}
static unsigned long down_maps(unsigned long n, unsigned long ms, unsigned long pages)
{
	unsigned long adjacent = 0;
	for (unsigned long i = 0; i < n; i++) {
		char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("brk_grow: mmap failed");
		if (down_lo && (uintptr_t)p + pages * PAGE == down_lo)
			adjacent++;
		if (ndown < sizeof(down_at) / sizeof(*down_at))
			down_at[ndown++] = (uintptr_t)p;
		down_pages = pages;
		write_pages(p, pages * PAGE, (unsigned char)(1 + i));
		if (!down_lo || (uintptr_t)p < down_lo)
			down_lo = (uintptr_t)p;
		if ((uintptr_t)p + pages * PAGE > down_hi)
			down_hi = (uintptr_t)p + pages * PAGE;
		nap(ms);
	}
	return adjacent;
}

/* reserves: many small arena-like regions. */
static char *resv[4096];
static size_t nresv;

/* The down mappings as runs of adjacent ones: how many runs; *vmas = the
 * mappings that meet them (one per run without pagescan). */
static unsigned long down_runs(unsigned long *vmas)
{
	static uintptr_t s[MAXPAGES / 4];
	unsigned long runs = 0;
	size_t len = down_pages * PAGE;
	memcpy(s, down_at, ndown * sizeof(*s));
	for (size_t i = 1; i < ndown; i++) {
		uintptr_t x = s[i];
		size_t j = i;
		for (; j > 0 && s[j - 1] > x; j--)
			s[j] = s[j - 1];
		s[j] = x;
	}
	*vmas = 0;
	for (size_t i = 0; i < ndown;) {
		size_t j = i + 1;
		while (j < ndown && s[j] == s[j - 1] + len)
			j++;
		runs++;
		*vmas += count_vmas(s[i], s[j - 1] + len);
		i = j;
	}
	return runs;
}

/* fixed: growth by mmap(MAP_FIXED_NOREPLACE) right after the end. */
static char *fixed;
static size_t fixed_len;
static int fixed_grow(unsigned long n, unsigned long ms, unsigned long pages)
{
	if (!fixed) {
		/* room above: reserve, keep the first 32 pages, give back the rest */
		size_t room = 64UL << 20;
		char *p = mmap(NULL, room, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return errno;
		munmap(p + 32 * PAGE, room - 32 * PAGE);
		fixed = p;
		fixed_len = 32 * PAGE;
		write_pages(fixed, fixed_len, 1);
	}
	for (unsigned long i = 0; i < n; i++) {
		char *want = fixed + fixed_len;
		char *p = mmap(want, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			return errno;
		if (p != want)
			return EEXIST; /* a kernel without MAP_FIXED_NOREPLACE */
		write_pages(p, pages * PAGE, (unsigned char)(1 + i));
		fixed_len += pages * PAGE;
		nap(ms);
	}
	return 0;
}

/* many: K mappings growing by MAP_FIXED right after their end. */
#define MANY_SLOT 256 /* pages */
static char *many;
static size_t nmany, many_len[4096];
static int many_grow(unsigned long k, unsigned long n, unsigned long ms)
{
	if (!many) {
		if (k == 0 || k > sizeof(many_len) / sizeof(*many_len))
			return EINVAL;
		char *p = mmap(NULL, k * MANY_SLOT * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return errno;
		munmap(p, k * MANY_SLOT * PAGE);
		for (size_t i = 0; i < k; i++) {
			char *want = p + i * MANY_SLOT * PAGE;
			char *q = mmap(want, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (q == MAP_FAILED)
				return errno;
			if (q != want)
				return EEXIST;
			write_pages(q, 4 * PAGE, 1);
			many_len[i] = 4 * PAGE;
		}
		many = p;
		nmany = k;
	}
	for (unsigned long s = 0; s < n; s++) {
		for (size_t i = 0; i < nmany; i++) {
			char *want = many + i * MANY_SLOT * PAGE + many_len[i];
			if (many_len[i] + PAGE > MANY_SLOT * PAGE)
				return ENOSPC;
			char *q = mmap(want, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (q == MAP_FAILED)
				return errno;
			if (q != want)
				return EEXIST;
			write_pages(q, PAGE, (unsigned char)(2 + s));
			many_len[i] += PAGE;
		}
		nap(ms);
	}
	return 0;
}

/* The most mappings one slot of the many holds; *all: in all slots. */
static unsigned long many_vmas(unsigned long *all)
{
	static unsigned short per[4096];
	uintptr_t lo = (uintptr_t)many, hi = lo + nmany * MANY_SLOT * PAGE;
	unsigned long most = 0;
	memset(per, 0, sizeof(per));
	*all = 0;
	read_file("/proc/self/maps");
	for (char *rest = buf, *p; (p = line_next(&rest));) {
		unsigned long a, b;
		if (sscanf(p, "%lx-%lx ", &a, &b) == 2 && a >= lo && a < hi) {
			size_t i = (a - lo) / (MANY_SLOT * PAGE);
			(*all)++;
			if (++per[i] > most)
				most = per[i];
		}
	}
	return most;
}

static int run_mode(int argc, char **argv)
{
	if (argc != 6 && argc != 7)
		die("usage: brk_grow --run N MS TRUTHFILE INFOFILE [brk|arena|down|fixed]");
	const char *kind = argc == 7 ? argv[6] : "brk";
	unsigned long n = strtoul(argv[2], NULL, 10), ms = strtoul(argv[3], NULL, 10);
	uintptr_t s = 0, e = 0;
	if (strcmp(kind, "brk") == 0) {
		s = (uintptr_t)sbrk(0);
		grow(n, ms);
		e = (uintptr_t)sbrk(0);
	} else if (strcmp(kind, "arena") == 0) {
		if (arena_grow(n, ms, 1) != 0)
			die("brk_grow: arena failed");
		s = (uintptr_t)arena;
		e = s + arena_rw;
	} else if (strcmp(kind, "down") == 0) {
		down_maps(n, ms, 1);
		s = down_lo;
		e = down_hi;
	} else if (strcmp(kind, "fixed") == 0) {
		if (fixed_grow(n, ms, 1) != 0)
			die("brk_grow: fixed failed");
		s = (uintptr_t)fixed;
		e = s + fixed_len;
	} else {
		die("brk_grow: KIND is brk, arena, down or fixed");
	}
	write_truth(argv[4]);
	if (ndown) {
		char ext[4096];
		snprintf(ext, sizeof(ext), "%s.extent", argv[5]);
		write_extent(ext);
	}
	unsigned long m, h, vm = count_vmas(s, e), runs = 1;
	if (ndown)
		runs = down_runs(&vm);
	count_maps(&m, &h);
	int fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("brk_grow: cannot open the info file");
	char line[96];
	int l = snprintf(line, sizeof(line), "%lu %lu %lu %lu\n", m, h, vm, runs);
	(void)!write(fd, line, (size_t)l);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static char *thp;
	static size_t thp_len;
	char line[256], out[256];
	size_t ll = 0;

	if (argc >= 2 && strcmp(argv[1], "--run") == 0)
		return run_mode(argc, argv);
	if (argc != 4)
		die("usage: brk_grow CMDFIFO REPLYFIFO TRUTHFILE");
	int cfd = open(argv[1], O_RDONLY | O_CLOEXEC);
	int rfd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (cfd < 0 || rfd < 0)
		die("brk_grow: cannot open the fifos");
	for (;;) {
		char c;
		ssize_t r = read(cfd, &c, 1);
		if (r <= 0)
			return 0;
		if (c != '\n') {
			if (ll < sizeof(line) - 1)
				line[ll++] = c;
			continue;
		}
		line[ll] = 0;
		ll = 0;
		unsigned long a = 0, b = 0, m, h;
		int n = 0;
		if (strcmp(line, "maps") == 0) {
			count_maps(&m, &h);
			n = snprintf(out, sizeof(out), "ok %lu %lu\n", m, h);
		} else if (sscanf(line, "grow %lu %lu", &a, &b) == 2) {
			uintptr_t s0 = (uintptr_t)sbrk(0);
			grow(a, b);
			n = snprintf(out, sizeof(out), "ok 0x%lx 0x%lx\n", (unsigned long)s0, (unsigned long)(uintptr_t)sbrk(0));
		} else if (sscanf(line, "thp %lu", &a) == 1) {
			thp_len = a << 20;
			char *raw = mmap(NULL, thp_len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (raw == MAP_FAILED)
				die("brk_grow: mmap failed");
			thp = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
			if (madvise(thp, thp_len, MADV_HUGEPAGE) < 0) {
				n = snprintf(out, sizeof(out), "err madvise MADV_HUGEPAGE: %s\n", strerror(errno));
			} else {
				for (size_t o = 0; o < thp_len; o += PAGE)
					thp[o] = 1; /* before any watch: never reported */
				n = snprintf(out, sizeof(out), "ok 0x%lx 0x%lx %lu\n", (unsigned long)(uintptr_t)thp,
				             (unsigned long)((uintptr_t)thp + thp_len), anonhuge((uintptr_t)thp));
			}
		} else if (strcmp(line, "thpwrite") == 0 && thp) {
			size_t pages = 0;
			for (size_t o = 0, k = 0; o < thp_len; o += HUGE, k++) {
				thp[o + 9] = 2;
				note((uintptr_t)thp + o);
				pages++;
				if (k % 4 == 0) {
					thp[o + PAGE + 9] = 3;
					note((uintptr_t)thp + o + PAGE);
					pages++;
				}
			}
			n = snprintf(out, sizeof(out), "ok %zu\n", pages);
		} else if (strcmp(line, "anonhuge") == 0 && thp) {
			n = snprintf(out, sizeof(out), "ok %lu\n", anonhuge((uintptr_t)thp));
		} else if (sscanf(line, "mmaps %lu", &a) == 1) {
			unsigned long failed = 0;
			for (unsigned long i = 0; i < a; i++)
				if (mmap(NULL, PAGE, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
					failed++;
			n = snprintf(out, sizeof(out), "ok %lu\n", failed);
		} else if (sscanf(line, "arena %lu %lu %lu", &a, &b, &m) == 3) {
			int e = arena_grow(a, b, m);
			if (e)
				n = snprintf(out, sizeof(out), "err arena: %s\n", strerror(e));
			else
				n = snprintf(out, sizeof(out), "ok 0x%lx 0x%lx\n", (unsigned long)(uintptr_t)arena,
				             (unsigned long)((uintptr_t)arena + arena_rw));
		} else if (sscanf(line, "down %lu %lu %lu", &a, &b, &m) == 3) {
			unsigned long adj = down_maps(a, b, m);
			n = snprintf(out, sizeof(out), "ok 0x%lx 0x%lx %lu\n", (unsigned long)down_lo, (unsigned long)down_hi, adj);
		} else if (sscanf(line, "fixed %lu %lu %lu", &a, &b, &m) == 3) {
			int e = fixed_grow(a, b, m);
			if (e)
				n = snprintf(out, sizeof(out), "err fixed: %s\n", strerror(e));
			else
				n = snprintf(out, sizeof(out), "ok 0x%lx 0x%lx\n", (unsigned long)(uintptr_t)fixed,
				             (unsigned long)((uintptr_t)fixed + fixed_len));
		} else if (sscanf(line, "reserves %lu", &a) == 1) {
			unsigned long made = 0;
			for (; made < a && nresv < sizeof(resv) / sizeof(*resv); made++) {
				char *p = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
				if (p == MAP_FAILED || mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE) < 0)
					break;
				write_pages(p, PAGE, 1);
				resv[nresv++] = p;
			}
			n = snprintf(out, sizeof(out), "ok %lu\n", made);
		} else if (strcmp(line, "rtouch") == 0) {
			for (size_t i = 0; i < nresv; i++)
				write_pages(resv[i] + PAGE, PAGE, (unsigned char)(2 + i));
			n = snprintf(out, sizeof(out), "ok %zu\n", nresv);
		} else if (strcmp(line, "downvmas") == 0) {
			unsigned long vm = 0, runs = down_runs(&vm);
			n = snprintf(out, sizeof(out), "ok %lu %lu\n", runs, vm);
		} else if (strncmp(line, "extent ", 7) == 0) {
			n = snprintf(out, sizeof(out), "ok %zu\n", write_extent(line + 7));
		} else if (sscanf(line, "many %lu %lu %lu", &a, &b, &m) == 3) {
			int e = many_grow(a, b, m);
			if (e)
				n = snprintf(out, sizeof(out), "err many: %s\n", strerror(e));
			else
				n = snprintf(out, sizeof(out), "ok 0x%lx 0x%lx\n", (unsigned long)(uintptr_t)many,
				             (unsigned long)((uintptr_t)many + nmany * MANY_SLOT * PAGE));
		} else if (strcmp(line, "manyvmas") == 0) {
			unsigned long all = 0, most = many_vmas(&all);
			n = snprintf(out, sizeof(out), "ok %lu %lu\n", most, all);
		} else if (sscanf(line, "vmas %lx %lx", &a, &b) == 2) {
			n = snprintf(out, sizeof(out), "ok %lu\n", count_vmas(a, b));
		} else if (strcmp(line, "truth") == 0) {
			n = snprintf(out, sizeof(out), "ok %zu\n", write_truth(argv[3]));
		} else if (strcmp(line, "mark") == 0) {
			nwritten = 0;
			n = snprintf(out, sizeof(out), "ok\n");
		} else if (strcmp(line, "quit") == 0) {
			(void)!write(rfd, "ok\n", 3);
			return 0;
		} else {
			n = snprintf(out, sizeof(out), "err unknown command: %s\n", line);
		}
		(void)!write(rfd, out, (size_t)n);
	}
}
