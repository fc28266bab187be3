/* SPDX-License-Identifier: MIT */
/*
 * memevents: a target that lives through memory events on command (swap,
 * reclaim, madvise, THP, hugetlb, KSM, mremap, fork, kernel-side writes,
 * mlock, guard regions) and records the truth: the pages it stored to,
 * itself or through the kernel on its behalf (read(2), O_DIRECT, io_uring,
 * vmsplice, process_vm_writev by a child). tests/e2e/memevents.bats compares
 * pagescan's report with it.
 *
 * Usage: memevents CMDFIFO REPLYFIFO. One command per line, one reply line
 * per command: "ok ..." or "err ...". EOF on CMDFIFO exits 3.
 *
 * SPEC selects pages of a mapping: "all", "A-B" (inclusive), "A", or
 * "every:N" (pages 0, N, 2N, ...).
 *
 *   map NAME KIND PAGES  -> ok 0xSTART 0xEND
 *       anon      private anonymous, unpopulated
 *       reserve   private anonymous MAP_NORESERVE (PAGES may be huge)
 *       thp       2 MiB aligned anonymous, MADV_HUGEPAGE, populated by a
 *                 read of every page (the huge zero page, or nothing)
 *       thpfull   like thp, populated by writing zeros (before tracking:
 *                 use mark afterwards)
 *       file      MAP_SHARED of a new file in $TMPDIR filled with 0x5a, read
 *       pfile     MAP_PRIVATE of such a file, read
 *       shm       MAP_SHARED|MAP_ANONYMOUS, unpopulated
 *       hugetlb   MAP_HUGETLB 2 MiB pages (PAGES a multiple of 512)
 *       populate  private anonymous MAP_POPULATE
 *       arena     private anonymous right below a PROT_NONE reservation of
 *                 64 pages (a malloc arena: pagescan follows its last page
 *                 by its bytes)
 *       below:X   private anonymous right below mapping X (top-down mmaps:
 *                 learned growth, its first page followed by its bytes)
 *       locked    private anonymous, mlock()ed (populated)
 *       secret    memfd_secret(2) mapping (err if the kernel has none)
 *   write NAME SPEC      -> ok N    one byte stored into each page (truth)
 *   fill NAME SPEC BYTE  -> ok N    every byte of each page set to BYTE (truth)
 *   read NAME SPEC       -> ok N    one load per page
 *   madv NAME SPEC ADV   -> ok      madvise: dontneed free remove pageout
 *                                   cold collapse mergeable unmergeable
 *                                   hugepage guard_install guard_remove
 *   fadvise NAME         -> ok      posix_fadvise(DONTNEED) on the file
 *   protect NAME SPEC none|r|rw -> ok  mprotect
 *   unmap NAME SPEC      -> ok      munmap of part (or all) of a mapping
 *   fresh NAME           -> ok      a new private anonymous mapping in place of
 *                                   NAME (mmap MAP_FIXED over it: munmap and
 *                                   mmap in one call), unpopulated
 *   mremap NAME PAGES    -> ok 0xSTART 0xEND   move (and grow/shrink) to a
 *                                   new place (MREMAP_MAYMOVE|MREMAP_FIXED);
 *                                   the truth moves with the pages
 *   resize NAME PAGES    -> ok 0xSTART 0xEND   shrink or grow in place (no move)
 *   fork NAME PSPEC CSPEC -> ok     fork; the child writes CSPEC (not truth)
 *                                   and exits; the parent then writes PSPEC
 *                                   (truth) and reaps the child
 *   sysread NAME SPEC    -> ok N    read(2) of a file into each page (truth)
 *   direct NAME SPEC     -> ok N    O_DIRECT read into each page (truth)
 *   vmsplice NAME SPEC   -> ok N    vmsplice(2) from a pipe into each page (truth)
 *   pvwrite NAME SPEC    -> ok N    a child writes each page with
 *                                   process_vm_writev (truth)
 *   uring_reg NAME       -> ok      io_uring: register NAME as a fixed
 *                                   buffer (pins it; err without io_uring)
 *   uring_read NAME SPEC -> ok N    IORING_OP_READ_FIXED into each page (truth)
 *   mark                 -> ok      clear the truth
 *   truth FILE           -> ok N    truth as merged "0xSTART 0xEND" lines
 *   vmpte                -> ok KB   VmPTE of this process
 *   exit                 -> (exits 0)
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE ((unsigned long)sysconf(_SC_PAGESIZE)) /* the kernel's: 4, 16 or 64 KiB */
#define HPAGE (2ul << 20)
#define MAXMAP 64

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

struct map {
	char name[32];
	char *addr;
	size_t pages;
	int fd;           /* backing file, or -1 */
	char path[256];
	uint8_t *truth;   /* one byte per page */
};

static struct map maps[MAXMAP];
static FILE *reply;
static unsigned char gen = 1;
static char srcpath[256]; /* a file of 0x77 bytes for the kernel-side reads */

static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ok(const char *fmt, ...)
{
	va_list ap;
	fputs("ok", reply);
	if (fmt[0]) {
		fputc(' ', reply);
		va_start(ap, fmt);
		vfprintf(reply, fmt, ap);
		va_end(ap);
	}
	fputc('\n', reply);
	fflush(reply);
}

static void ok0(void)
{
	fputs("ok\n", reply);
	fflush(reply);
}

static void fail(const char *what)
{
	fprintf(reply, "err %s: %s\n", what, strerror(errno));
	fflush(reply);
}

static struct map *find(const char *name)
{
	for (int i = 0; i < MAXMAP; i++)
		if (maps[i].addr && strcmp(maps[i].name, name) == 0)
			return &maps[i];
	return NULL;
}

/* Parse SPEC into [a, b] with step; false if bad. */
static int spec(const struct map *m, const char *s, size_t *a, size_t *b, size_t *step)
{
	*step = 1;
	if (strcmp(s, "all") == 0) {
		*a = 0, *b = m->pages - 1;
	} else if (strncmp(s, "every:", 6) == 0) {
		*a = 0, *b = m->pages - 1, *step = strtoul(s + 6, NULL, 10);
		if (*step == 0)
			return 0;
	} else {
		char *e;
		*a = strtoul(s, &e, 10);
		*b = *e == '-' ? strtoul(e + 1, NULL, 10) : *a;
	}
	return *a <= *b && *b < m->pages;
}

static void make_file(const char *dir, const char *name, size_t len, int c, char *path, size_t n)
{
	snprintf(path, n, "%s/memevents-%d-%s", dir, getpid(), name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char buf[65536];
	memset(buf, c, sizeof(buf));
	for (size_t done = 0; done < len;) {
		size_t k = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (write(fd, buf, k) != (ssize_t)k)
			exit(4);
		done += k;
	}
	fsync(fd);
	close(fd);
}

static const char *tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

static void cmd_map(char *name, char *kind, size_t pages)
{
	struct map *m = NULL;
	for (int i = 0; i < MAXMAP && !m; i++)
		if (!maps[i].addr)
			m = &maps[i];
	if (!m || pages == 0 || find(name)) {
		errno = EINVAL;
		return fail("map");
	}
	size_t len = pages * PAGE;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS, fd = -1;
	char *p = MAP_FAILED;
	m->path[0] = 0;
	if (!strcmp(kind, "anon") || !strcmp(kind, "locked")) {
		p = mmap(NULL, len, prot, flags, -1, 0);
	} else if (!strcmp(kind, "reserve")) {
		p = mmap(NULL, len, prot, flags | MAP_NORESERVE, -1, 0);
	} else if (!strcmp(kind, "arena")) {
		p = mmap(NULL, len + 64 * PAGE, PROT_NONE, flags | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED && mprotect(p, len, prot) < 0) {
			int e = errno;
			munmap(p, len + 64 * PAGE);
			errno = e;
			p = MAP_FAILED;
		}
	} else if (!strncmp(kind, "below:", 6)) {
		struct map *x = find(kind + 6);
		if (!x || (uintptr_t)x->addr < len) {
			errno = EINVAL;
			return fail("map below");
		}
		p = mmap(x->addr - len, len, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
	} else if (!strcmp(kind, "populate")) {
		p = mmap(NULL, len, prot, flags | MAP_POPULATE, -1, 0);
	} else if (!strcmp(kind, "shm")) {
		p = mmap(NULL, len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	} else if (!strcmp(kind, "thp") || !strcmp(kind, "thpfull")) {
		char *r = mmap(NULL, len + HPAGE, prot, flags, -1, 0);
		if (r != MAP_FAILED) {
			p = (char *)(((uintptr_t)r + HPAGE - 1) & ~(HPAGE - 1));
			if (p > r)
				munmap(r, (size_t)(p - r));
			munmap(p + len, (size_t)(r + HPAGE - p));
			madvise(p, len, MADV_HUGEPAGE);
			for (size_t i = 0; i < pages; i++) {
				if (kind[3])
					((volatile char *)p)[i * PAGE] = 0;
				else
					(void)((volatile char *)p)[i * PAGE];
			}
		}
	} else if (!strcmp(kind, "file") || !strcmp(kind, "pfile")) {
		make_file(tmpdir(), name, len, 0x5a, m->path, sizeof(m->path));
		fd = open(m->path, O_RDWR | O_CLOEXEC);
		p = mmap(NULL, len, prot, kind[0] == 'p' ? MAP_PRIVATE : MAP_SHARED, fd, 0);
		for (size_t i = 0; p != MAP_FAILED && i < pages; i++)
			(void)((volatile char *)p)[i * PAGE];
	} else if (!strcmp(kind, "hugetlb")) {
		p = mmap(NULL, len, prot, flags | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	} else if (!strcmp(kind, "secret")) {
		fd = (int)syscall(SYS_memfd_secret, O_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, (off_t)len) == 0)
			p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	} else {
		errno = EINVAL;
		return fail("map: unknown kind");
	}
	if (p == MAP_FAILED) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return fail("map");
	}
	if (!strcmp(kind, "locked") && mlock(p, len) < 0) {
		munmap(p, len);
		return fail("mlock");
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->addr = p;
	m->pages = pages;
	m->fd = fd;
	m->truth = calloc(pages, 1);
	ok("%#lx %#lx", (unsigned long)p, (unsigned long)(p + len));
}

/* The kernel stores into page i of m on our behalf. */
static int kwrite(struct map *m, size_t i, const char *how)
{
	char *dst = m->addr + i * PAGE + (i * 97) % PAGE;
	if (!strcmp(how, "sysread") || !strcmp(how, "direct")) {
		int fd = open(srcpath, O_RDONLY | O_CLOEXEC | (how[0] == 'd' ? O_DIRECT : 0));
		if (fd < 0)
			return -1;
		ssize_t n = how[0] == 'd' ? pread(fd, m->addr + i * PAGE, PAGE, 0) : read(fd, dst, 1);
		close(fd);
		return n > 0 ? 0 : -1;
	}
	if (!strcmp(how, "vmsplice")) {
		int pp[2];
		if (pipe(pp) < 0)
			return -1;
		char c = 0x77;
		struct iovec iov = { .iov_base = dst, .iov_len = 1 };
		ssize_t n = -1;
		if (write(pp[1], &c, 1) == 1)
			n = vmsplice(pp[0], &iov, 1, 0);
		close(pp[0]);
		close(pp[1]);
		return n == 1 ? 0 : -1;
	}
	errno = EINVAL;
	return -1;
}

/* ---- io_uring, raw ------------------------------------------------------ */

static struct {
	int fd;
	struct io_uring_params p;
	char *sq, *cq;
	struct io_uring_sqe *sqes;
	struct map *buf;
} ur = { .fd = -1 };

static int uring_setup(void)
{
	if (ur.fd >= 0)
		return 0;
	memset(&ur.p, 0, sizeof(ur.p));
	ur.fd = (int)syscall(__NR_io_uring_setup, 4, &ur.p);
	if (ur.fd < 0)
		return -1;
	size_t sqsz = ur.p.sq_off.array + ur.p.sq_entries * sizeof(unsigned);
	size_t cqsz = ur.p.cq_off.cqes + ur.p.cq_entries * sizeof(struct io_uring_cqe);
	ur.sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ur.fd, IORING_OFF_SQ_RING);
	ur.cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ur.fd, IORING_OFF_CQ_RING);
	ur.sqes = mmap(NULL, ur.p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_POPULATE, ur.fd, IORING_OFF_SQES);
	if (ur.sq == MAP_FAILED || ur.cq == MAP_FAILED || ur.sqes == MAP_FAILED)
		return -1;
	return 0;
}

static int uring_read_fixed(int fd, char *dst, unsigned len)
{
	unsigned *tail = (unsigned *)(ur.sq + ur.p.sq_off.tail);
	unsigned mask = *(unsigned *)(ur.sq + ur.p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(ur.sq + ur.p.sq_off.array);
	unsigned t = *tail, idx = t & mask;
	struct io_uring_sqe *sqe = &ur.sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_READ_FIXED;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)dst;
	sqe->len = len;
	sqe->off = 0;
	sqe->buf_index = 0;
	array[idx] = idx;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ur.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -1;
	unsigned *chead = (unsigned *)(ur.cq + ur.p.cq_off.head);
	unsigned cmask = *(unsigned *)(ur.cq + ur.p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(ur.cq + ur.p.cq_off.cqes);
	unsigned h = *chead;
	int res = cqes[h & cmask].res;
	__atomic_store_n(chead, h + 1, __ATOMIC_RELEASE);
	if (res < 0) {
		errno = -res;
		return -1;
	}
	return 0;
}

/* ---- truth -------------------------------------------------------------- */

static void cmd_truth(const char *file)
{
	FILE *f = fopen(file, "w");
	if (!f)
		return fail("truth");
	/* maps sorted by address, ranges merged across adjacent mappings */
	struct map *order[MAXMAP];
	int n = 0;
	for (int i = 0; i < MAXMAP; i++)
		if (maps[i].addr)
			order[n++] = &maps[i];
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && order[j - 1]->addr > order[j]->addr; j--) {
			struct map *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	uintptr_t cs = 0, ce = 0;
	size_t total = 0;
	for (int k = 0; k < n; k++)
		for (size_t i = 0; i < order[k]->pages; i++) {
			if (!order[k]->truth[i])
				continue;
			uintptr_t a = (uintptr_t)order[k]->addr + i * PAGE;
			total++;
			if (ce == a) {
				ce += PAGE;
				continue;
			}
			if (ce)
				fprintf(f, "%#lx %#lx\n", (unsigned long)cs, (unsigned long)ce);
			cs = a, ce = a + PAGE;
		}
	if (ce)
		fprintf(f, "%#lx %#lx\n", (unsigned long)cs, (unsigned long)ce);
	fclose(f);
	ok("%zu", total);
}

static int advice(const char *s)
{
	static const struct { const char *n; int v; } t[] = {
		{ "dontneed", MADV_DONTNEED }, { "free", MADV_FREE }, { "remove", MADV_REMOVE },
		{ "pageout", MADV_PAGEOUT }, { "cold", MADV_COLD }, { "collapse", MADV_COLLAPSE },
		{ "mergeable", MADV_MERGEABLE }, { "unmergeable", MADV_UNMERGEABLE },
		{ "hugepage", MADV_HUGEPAGE }, { "guard_install", MADV_GUARD_INSTALL },
		{ "guard_remove", MADV_GUARD_REMOVE }, { "willneed", MADV_WILLNEED },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].n))
			return t[i].v;
	return -1;
}

static long vmpte(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char l[256];
	long v = -1;
	while (f && fgets(l, sizeof(l), f))
		if (!strncmp(l, "VmPTE:", 6))
			v = atol(l + 6);
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: memevents CMDFIFO REPLYFIFO\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	reply = in ? fopen(argv[2], "w") : NULL;
	if (!reply)
		return 2;
	make_file(tmpdir(), "src", 1 << 20, 0x77, srcpath, sizeof(srcpath));
	char line[1024];
	while (fgets(line, sizeof(line), in)) {
		char *w[6] = { 0 };
		int nw = 0;
		for (char *s = strtok(line, " \t\n"); s && nw < 6; s = strtok(NULL, " \t\n"))
			w[nw++] = s;
		if (nw == 0)
			continue;
		const char *c = w[0];
		struct map *m = nw > 1 ? find(w[1]) : NULL;
		size_t a = 0, b = 0, st = 1;
		if (!strcmp(c, "exit")) {
			break;
		} else if (!strcmp(c, "map") && nw == 4) {
			cmd_map(w[1], w[2], strtoul(w[3], NULL, 10));
			continue;
		} else if (!strcmp(c, "mark")) {
			for (int i = 0; i < MAXMAP; i++)
				if (maps[i].addr)
					memset(maps[i].truth, 0, maps[i].pages);
			ok0();
			continue;
		} else if (!strcmp(c, "truth") && nw == 2) {
			cmd_truth(w[1]);
			continue;
		} else if (!strcmp(c, "vmpte")) {
			ok("%ld", vmpte());
			continue;
		}
		if (!m) {
			errno = ENOENT;
			fail(c);
			continue;
		}
		if ((!strcmp(c, "mremap") || !strcmp(c, "resize")) && nw == 3) {
			size_t np = strtoul(w[2], NULL, 10);
			/* mremap: a fresh place (reserve, then move onto it);
			 * resize: in place, no move */
			char *to = c[0] == 'r' ? NULL : mmap(NULL, np * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *p = to == MAP_FAILED ? MAP_FAILED
			          : c[0] == 'r'    ? mremap(m->addr, m->pages * PAGE, np * PAGE, 0)
			                           : mremap(m->addr, m->pages * PAGE, np * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
			if (p == MAP_FAILED) {
				fail("mremap");
				continue;
			}
			uint8_t *t = calloc(np, 1);
			memcpy(t, m->truth, np < m->pages ? np : m->pages);
			free(m->truth);
			m->truth = t;
			m->addr = p;
			m->pages = np;
			ok("%#lx %#lx", (unsigned long)p, (unsigned long)(p + np * PAGE));
			continue;
		}
		if (!strcmp(c, "fresh")) {
			if (m->fd >= 0 || mmap(m->addr, m->pages * PAGE, PROT_READ | PROT_WRITE,
			                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
				fail("fresh");
				continue;
			}
			memset(m->truth, 0, m->pages);
			ok0();
			continue;
		}
		if (!strcmp(c, "fadvise")) {
			if (m->fd < 0 && m->path[0])
				m->fd = open(m->path, O_RDWR | O_CLOEXEC);
			int e = m->fd < 0 ? EBADF : posix_fadvise(m->fd, 0, 0, POSIX_FADV_DONTNEED);
			if (e) {
				errno = e;
				fail("fadvise");
			} else {
				ok0();
			}
			continue;
		}
		if (!strcmp(c, "uring_reg")) {
			struct iovec iov = { .iov_base = m->addr, .iov_len = m->pages * PAGE };
			if (uring_setup() < 0 || syscall(__NR_io_uring_register, ur.fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
				fail("io_uring");
				continue;
			}
			ur.buf = m;
			ok0();
			continue;
		}
		if (nw < 3 || !spec(m, w[2], &a, &b, &st)) {
			errno = EINVAL;
			fail(c);
			continue;
		}
		char *pa = m->addr + a * PAGE;
		size_t plen = (b - a + 1) * PAGE;
		if (!strcmp(c, "write") || !strcmp(c, "read") || !strcmp(c, "fill")) {
			size_t n = 0;
			int byte = nw > 3 ? (int)strtol(w[3], NULL, 0) : 0;
			for (size_t i = a; i <= b; i += st, n++) {
				volatile char *q = m->addr + i * PAGE;
				if (c[0] == 'r') {
					(void)q[(i * 97) % PAGE];
					continue;
				}
				if (c[0] == 'f')
					memset(m->addr + i * PAGE, byte, PAGE);
				else
					q[(i * 97) % PAGE] = (char)gen;
				m->truth[i] = 1;
			}
			gen = gen == 255 ? 1 : gen + 1;
			ok("%zu", n);
		} else if (!strcmp(c, "madv") && nw == 4) {
			int adv = advice(w[3]);
			if (adv < 0 || madvise(pa, plen, adv) < 0)
				fail("madvise");
			else
				ok0();
		} else if (!strcmp(c, "protect") && nw == 4) {
			int prot = !strcmp(w[3], "rw") ? PROT_READ | PROT_WRITE : !strcmp(w[3], "r") ? PROT_READ : PROT_NONE;
			if (mprotect(pa, plen, prot) < 0)
				fail("mprotect");
			else
				ok0();
		} else if (!strcmp(c, "unmap")) {
			if (munmap(pa, plen) < 0) {
				fail("munmap");
				continue;
			}
			memset(m->truth + a, 0, b - a + 1);
			if (a == 0 && b == m->pages - 1) {
				free(m->truth);
				if (m->fd >= 0)
					close(m->fd);
				if (m->path[0])
					unlink(m->path);
				memset(m, 0, sizeof(*m));
			} else if (a == 0) { /* keep the tail */
				memmove(m->truth, m->truth + b + 1, m->pages - b - 1);
				m->addr += plen;
				m->pages -= b + 1;
			} else if (b == m->pages - 1) {
				m->pages = a;
			}
			ok0();
		} else if (!strcmp(c, "fork") && nw == 4) {
			struct map cm = *m;
			size_t ca, cb, cst;
			if (!spec(m, w[3], &ca, &cb, &cst)) {
				errno = EINVAL;
				fail("fork");
				continue;
			}
			pid_t pid = fork();
			if (pid == 0) {
				for (size_t i = ca; i <= cb; i += cst)
					((volatile char *)cm.addr)[i * PAGE + 1] = (char)0xcc;
				_exit(0);
			}
			int status;
			if (pid < 0 || waitpid(pid, &status, 0) != pid) {
				fail("fork");
				continue;
			}
			size_t n = 0;
			for (size_t i = a; i <= b; i += st, n++) {
				((volatile char *)m->addr)[i * PAGE + 2] = (char)gen;
				m->truth[i] = 1;
			}
			gen = gen == 255 ? 1 : gen + 1;
			ok("%zu", n);
		} else if (!strcmp(c, "pvwrite")) {
			pid_t parent = getpid(), pid = fork();
			if (pid == 0) {
				char v = 0x66;
				for (size_t i = a; i <= b; i += st) {
					struct iovec l = { &v, 1 }, r = { m->addr + i * PAGE + 3, 1 };
					if (process_vm_writev(parent, &l, 1, &r, 1, 0) != 1)
						_exit(1);
				}
				_exit(0);
			}
			int status = -1;
			if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
				errno = EIO;
				fail("process_vm_writev");
				continue;
			}
			size_t n = 0;
			for (size_t i = a; i <= b; i += st, n++)
				m->truth[i] = 1;
			ok("%zu", n);
		} else if (!strcmp(c, "sysread") || !strcmp(c, "direct") || !strcmp(c, "vmsplice") ||
		           !strcmp(c, "uring_read")) {
			size_t n = 0;
			int bad = 0, ufd = -1;
			if (c[0] == 'u' && (ur.buf != m || (ufd = open(srcpath, O_RDONLY | O_CLOEXEC)) < 0)) {
				errno = EINVAL;
				fail("uring_read: register the buffer first");
				continue;
			}
			for (size_t i = a; i <= b && !bad; i += st, n++) {
				if (c[0] == 'u')
					bad = uring_read_fixed(ufd, m->addr + i * PAGE + 5, 1) < 0;
				else
					bad = kwrite(m, i, c) < 0;
				if (!bad)
					m->truth[i] = 1;
			}
			if (ufd >= 0)
				close(ufd);
			if (bad)
				fail(c);
			else
				ok("%zu", n);
		} else {
			errno = EINVAL;
			fail(c);
		}
	}
	for (int i = 0; i < MAXMAP; i++)
		if (maps[i].path[0])
			unlink(maps[i].path);
	unlink(srcpath);
	return feof(in) ? 3 : 0;
}
