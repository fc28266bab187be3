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
 *     truth                write the pages written since the last "mark"
 *                          to TRUTHFILE -> "ok PAGES"
 *     mark                 forget the pages written so far -> "ok"
 *     quit                 -> exits 0
 *   brk_grow --run N MS TRUTHFILE INFOFILE
 *                          grow N steps at MS ms, write the truth, then
 *                          "MAPPINGS HEAPLINES" to INFOFILE, and exit 0.
 * Truth: merged sorted ranges "0xSTART 0xEND", end exclusive, lowercase hex.
 * Exit status 120 on a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
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

/* Mappings and [heap] lines of /proc/self/maps. */
static void count_maps(unsigned long *maps, unsigned long *heap)
{
	*maps = *heap = 0;
	read_file("/proc/self/maps");
	for (char *p = buf; *p;) {
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = 0;
		if (!strstr(p, "[vsyscall]"))
			(*maps)++;
		if (strstr(p, "[heap]"))
			(*heap)++;
		p = nl + 1;
	}
}

/* AnonHugePages (kB) of the VMA that contains addr. */
static unsigned long anonhuge(uintptr_t addr)
{
	unsigned long kb = 0;
	int in = 0;
	read_file("/proc/self/smaps");
	for (char *p = buf; *p;) {
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = 0;
		unsigned long s, e;
		if (sscanf(p, "%lx-%lx ", &s, &e) == 2 && strchr(p, '-') < strchr(p, ' '))
			in = addr >= s && addr < e;
		else if (in && strncmp(p, "AnonHugePages:", 14) == 0)
			kb += strtoul(p + 14, NULL, 10);
		p = nl + 1;
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

static int run_mode(int argc, char **argv)
{
	if (argc != 6)
		die("usage: brk_grow --run N MS TRUTHFILE INFOFILE");
	grow(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
	write_truth(argv[4]);
	unsigned long m, h;
	count_maps(&m, &h);
	int fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("brk_grow: cannot open the info file");
	char line[64];
	int l = snprintf(line, sizeof(line), "%lu %lu\n", m, h);
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
