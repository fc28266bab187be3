/* SPDX-License-Identifier: MIT */
/*
 * victim: a scriptable target process for pagescan's end-to-end tests. It
 * records the truth (which pages it wrote) itself, so a test can compare
 * pagescan's report with it byte for byte.
 *
 * Usage: victim CMDFIFO REPLYFIFO
 *   Opens CMDFIFO for reading, then REPLYFIFO for writing. One command per
 *   line; exactly one reply line per command, "ok ..." or "err ...".
 *   Calls prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY); installs no signal
 *   handlers (sigread installs one for SIGUSR1 and restores the previous
 *   disposition before replying); never uses mlockall. At start it creates
 *   and joins one thread, so glibc's lazily installed SIGSETXID handler is
 *   already in SigCgt before the first command. EOF on CMDFIFO exits with
 *   status 3.
 *
 * Page indexes count 4 KiB pages from the start of a mapping. NAME is up to
 * 31 characters of [A-Za-z0-9_.-]. Every blocking command runs in the main
 * thread (the thread group leader).
 *
 *   map NAME KIND PAGES      -> ok 0xSTART 0xEND [PATH]
 *       anon     private anonymous, left unpopulated
 *       shared   MAP_SHARED|MAP_ANONYMOUS, left unpopulated
 *       file     MAP_PRIVATE of a new prefilled file in $TMPDIR (default
 *                /tmp), populated by reads (PATH is printed)
 *       shmfile  MAP_SHARED of a new prefilled file in /dev/shm, populated
 *                by reads (PATH is printed)
 *       thp      2 MiB aligned private anonymous with MADV_HUGEPAGE,
 *                populated by storing zeros (PAGES: a multiple of 512)
 *       none     PROT_NONE anonymous
 *       ro       PROT_READ anonymous
 *     Populating is not a write: the truth set is unchanged by map.
 *     Files are removed by unmap and at exit.
 *   write NAME SPEC          -> ok NPAGES
 *       Stores one non-zero byte into each selected page; the byte changes
 *       with every write command, its offset differs from page to page
 *       (fixed per page). Each page is added to the truth set.
 *   read NAME SPEC           -> ok NPAGES   loads one byte of each page
 *   threads N NAME SPEC      -> ok NPAGES
 *       N threads (1..64) write disjoint interleaved parts of SPEC at the
 *       same time (barrier start); joined before the reply.
 *   spawnthreads N           -> ok TOTAL    N more threads that stay blocked
 *                                           on a condition variable until exit
 *   check NAME               -> ok check NPAGES
 *       Verifies every byte of the mapping: the initial content (zero, or the
 *       file pattern) except the last byte written into each page. Reading
 *       unpopulated anonymous pages maps the zero page. Replies
 *       "err check NAME page I offset O got X want Y" on the first mismatch.
 *   mark                     -> ok          clears the truth set
 *   truth FILE               -> ok NPAGES
 *       Writes the truth set (pages written since the last mark, all
 *       mappings) to FILE as merged ranges "0xSTART 0xEND" (end exclusive,
 *       lowercase hex), sorted; ranges of adjacent mappings are merged.
 *   unmap NAME               -> ok          (its truth pages are dropped)
 *   protect NAME FIRST-LAST PROT -> ok       mprotect() pages FIRST..LAST
 *       (inclusive) to PROT: r, rw or none (splits the VMA). write, read
 *       and check refuse / skip pages that their protection forbids.
 * Blocking commands make the raw system call themselves, with every
 * register the kernel preserves across `syscall` (all but rax, rcx, r11)
 * and two red-zone words below rsp holding known values, compared after
 * the call returns; any change replies "err registers changed across
 * CALL: REG,..." instead of the normal reply. No command retries after
 * EINTR: an injection must be invisible to the target.
 *
 *   sleep SECS               -> ok ELAPSED  nanosleep(2) (syscall 35);
 *                                           ELAPSED by CLOCK_MONOTONIC,
 *                                           3 decimals; "err sleep ERRNO
 *                                           after ELAPSED" on failure
 *   clocksleep SECS [abs]    -> ok ELAPSED  clock_nanosleep(2) (syscall 230)
 *       on CLOCK_MONOTONIC: relative, or with "abs" TIMER_ABSTIME until
 *       now + SECS.
 *   poll SECS                -> ok ELAPSED  poll() on no fds with a timeout
 *                                           (syscall 7)
 *   readfifo PATH            -> ok read N DATA
 *       Opens PATH O_RDWR (does not block) and blocks in one read(); DATA
 *       is what was read, bytes outside 0x20..0x7e shown as '?'.
 *   futex FIFO [SECS]        -> ok futex RESULTS
 *       A second thread blocks in read() on FIFO (opened O_RDWR); when a
 *       byte arrives it sets a futex word and FUTEX_WAKEs it. Meanwhile the
 *       main thread loops FUTEX_WAIT_PRIVATE on that word while it is 0
 *       (with a relative timeout of SECS if given; at most 16 calls).
 *       RESULTS lists what each call returned, comma-separated: 0 or the
 *       errno name (e.g. "0", "EINTR,0", "ETIMEDOUT"). On ETIMEDOUT the
 *       helper thread is released by the victim itself.
 *   epoll PATH               -> ok epoll N DATA | ok epoll ERRNO
 *       Opens the fifo PATH O_RDWR|O_NONBLOCK, adds it (EPOLLIN) to a new
 *       epoll instance and blocks in one epoll_wait(2) (syscall 232,
 *       timeout -1); N is its result and DATA what one read() then got.
 *       ERRNO (e.g. EINTR) when epoll_wait failed: nothing is read.
 *   listen                   -> ok PORT
 *       A TCP socket listening on 127.0.0.1:PORT (one at a time).
 *   accept                   -> ok accept N DATA
 *       Blocks in accept4(2) (syscall 288) on the listen socket, then reads
 *       the connection to EOF (at most 255 bytes); closes both sockets.
 *   sigread PATH [restart]   -> ok sigread read N DATA handler H
 *                            |  ok sigread ERRNO handler H
 *       Opens the fifo PATH O_RDWR, installs a SIGUSR1 handler (counting
 *       calls; SA_RESTART only with "restart") and blocks in one read();
 *       H is how often the handler ran. The old disposition is restored
 *       before the reply.
 *   spin SECS [NOTIFYFIFO [STOPFIFO]]
 *                            -> ok spin clean ITER | err spin corrupted ...
 *       A user-mode loop keeping live values in rax, rcx, rdx, rsi, rdi,
 *       r10, r11 (and three red-zone words below rsp), checking their
 *       invariants on every iteration. With NOTIFYFIFO, writes "spinning"
 *       to it (opened for writing, so it waits for a reader) just before
 *       the loop starts. It stops after SECS, or, with STOPFIFO, as soon as
 *       a byte arrives there (a helper thread blocks in read() on it,
 *       opened O_RDWR).
 *   sve SECS [NOTIFYFIFO [STOPFIFO]]
 *                            -> ok sve clean ITER | err sve corrupted ...
 *                            |  err sve unusable: REASON
 *       The same with live SVE state (aarch64 with SVE and a vector length
 *       above 128 bits): z0 and p0 hold known values across the loop.
 *   sme SECS [NOTIFYFIFO [STOPFIFO]]
 *                            -> ok sme clean ITER | err sme corrupted ...
 *                            |  err sme unusable: REASON
 *       The same in SME streaming mode with ZA enabled (aarch64 with
 *       HWCAP2_SME): SVCR.SM and SVCR.ZA stay set, the streaming z0 and p0
 *       and a row of ZA hold known values across the loop.
 *   rseq NOTIFYFIFO STOPFIFO -> ok rseq commits C aborts A violations V
 *       Loops through an rseq critical section (on the struct rseq glibc
 *       registered for the main thread) until a byte arrives on STOPFIFO
 *       (as for spin); writes "rseq" to NOTIFYFIFO first. The section
 *       checks on every inner step that rseq_cs still points at its
 *       descriptor: the kernel clears it when it preempts the thread
 *       outside a section, so seeing it cleared inside means the section
 *       went on after a preemption without its abort handler (a
 *       violation). C counts commits, A aborts. "err rseq ..." when glibc
 *       did not register rseq.
 *   status                   -> ok FDCOUNT SIGBLK SIGIGN SIGCGT
 *       open fds (from /proc/self/fd) and the hex masks of
 *       /proc/thread-self/status, for "left as it was" checks.
 *   thp NAME                 -> ok KB       AnonHugePages of the VMA at
 *                                           NAME's start (/proc/self/smaps)
 *   zombie                   -> ok PID      forks a child that exits at once
 *                                           and is never reaped
 *   trigger FIFO fork        -> ok armed
 *   trigger FIFO exec PROG [ARG...] -> ok armed
 *       A helper thread blocks in read() on FIFO (opened O_RDWR); when a
 *       byte arrives it forks a child that waits in pause() until killed,
 *       or execs PROG with the ARGs (at most 3), from that thread: another
 *       thread than the one pagescan stops (the main thread blocks in
 *       read() on CMDFIFO). One trigger per victim.
 *   vfork FIFO PROG [ARG...] -> ok PID
 *       A helper thread makes a vfork child (clone CLONE_VM|CLONE_VFORK, its
 *       own stack) that blocks in read() on FIFO, then execs PROG with the
 *       ARGs (at most 3) when a byte arrives. PID is the child: a process of
 *       its own that shares this address space until its exec. One per
 *       victim.
 *   exit CODE                -> ok          then exit(CODE)
 *
 * SPEC: "all"; a list "0,3,5-9" (inclusive ranges); "every:N[:OFF]" (pages
 * OFF, OFF+N, ...); "rand:COUNT:SEED" (COUNT distinct pseudo-random pages,
 * deterministic for a SEED).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The kernel's page size (main sets it: 4, 16 or 64 KiB); PAGE_MAX sizes buffers. */
static unsigned long page_size = 4096;
#define PAGE page_size
#define PAGE_MAX 65536UL
#define THP_SIZE (PAGE * (PAGE / 8)) /* a PMD: 2 MiB with 4 KiB pages, 32 MiB with 16 KiB */
#define MAX_MAPS 64
#define MAX_PAGES (1UL << 20)	/* 4 GiB per mapping is plenty */
#define MAX_THREADS 64
#define MAX_IDLE_THREADS 256
#define LINE_MAX_LEN 4096

enum kind { K_ANON, K_SHARED, K_FILE, K_SHMFILE, K_THP, K_NONE, K_RO };

static const char *const kind_names[] = {
	[K_ANON] = "anon", [K_SHARED] = "shared", [K_FILE] = "file",
	[K_SHMFILE] = "shmfile", [K_THP] = "thp", [K_NONE] = "none",
	[K_RO] = "ro",
};

struct mapping {
	bool used;
	char name[32];
	enum kind kind;
	unsigned char *base;
	size_t npages;
	char path[PATH_MAX];	/* file kinds: the backing file */
	unsigned char *last;	/* last byte written per page, 0 = never */
	unsigned char *prot;	/* per page: PROT_READ / PROT_WRITE bits */
	uint64_t *truth;	/* bitmap: written since the last mark */
};

static struct mapping maps[MAX_MAPS];
static int reply_fd = -1;
static unsigned gen;	/* counts write commands: the stored byte changes */

/* ---- replies ---- */

static int reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int reply(const char *fmt, ...)
{
	char buf[LINE_MAX_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	/* clang-analyzer 14 loses track of va_start in the -fsanitize=address
	 * compile of this file (victim_asan) */
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	if (n < 0)
		n = snprintf(buf, sizeof(buf), "err reply format");
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(reply_fd, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(4);
		off += w;
	}
	return 0;
}

/* ---- strict number parsing ---- */

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_secs(const char *s, double *ret)
{
	char *end;
	double d;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || !isfinite(d) || d < 0 || d > 3600)
		return -1;
	*ret = d;
	return 0;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- page content model ---- */

static size_t page_off(size_t idx)
{
	return (idx * 257 + 8) & (PAGE - 1);
}

static unsigned char page_val(unsigned g, size_t idx)
{
	return (unsigned char)(1 + (g * 37u + idx) % 255u);
}

/* Initial content of the file kinds; anonymous kinds start as zeros. */
static unsigned char file_byte(size_t idx, size_t off)
{
	return (unsigned char)((idx * 131 + off * 7) ^ 0x5a);
}

static bool is_file_kind(enum kind k)
{
	return k == K_FILE || k == K_SHMFILE;
}

static void bit_set(uint64_t *bm, size_t i)
{
	bm[i / 64] |= 1ULL << (i % 64);
}

static bool bit_get(const uint64_t *bm, size_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static size_t bm_words(size_t n)
{
	return (n + 63) / 64;
}

/* ---- mapping table ---- */

static struct mapping *find_map(const char *name)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && strcmp(maps[i].name, name) == 0)
			return &maps[i];
	return NULL;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 31)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		      *s == '-'))
			return false;
	return true;
}

static void drop_files(void)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && maps[i].path[0])
			unlink(maps[i].path);
}

/* Create PATH prefilled with the file pattern and return an O_RDWR fd. */
static int make_file(const char *path, size_t npages)
{
	static unsigned char buf[PAGE_MAX];
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	for (size_t p = 0; p < npages; p++) {
		for (size_t o = 0; o < PAGE; o++)
			buf[o] = file_byte(p, o);
		if (pwrite(fd, buf, PAGE, (off_t)(p * PAGE)) != (ssize_t)PAGE) {
			int e = errno ? errno : EIO;
			close(fd);
			unlink(path);
			errno = e;
			return -1;
		}
	}
	return fd;
}

static int cmd_map(char **av, int ac)
{
	struct mapping *m = NULL;
	uint64_t npages;
	enum kind k;
	size_t len;
	void *p = MAP_FAILED;
	int fd = -1;
	size_t ki;

	if (ac != 4)
		return reply("err usage: map NAME KIND PAGES");
	if (!valid_name(av[1]))
		return reply("err bad name");
	if (find_map(av[1]))
		return reply("err name %s exists", av[1]);
	for (ki = 0; ki < sizeof(kind_names) / sizeof(kind_names[0]); ki++)
		if (strcmp(av[2], kind_names[ki]) == 0)
			break;
	if (ki == sizeof(kind_names) / sizeof(kind_names[0]))
		return reply("err unknown kind %s", av[2]);
	k = (enum kind)ki;
	if (parse_u64(av[3], MAX_PAGES, &npages) || npages == 0)
		return reply("err bad page count %s", av[3]);
	if (k == K_THP && npages % (THP_SIZE / PAGE))
		return reply("err thp needs a multiple of 512 pages");
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].used) {
			m = &maps[i];
			break;
		}
	if (!m)
		return reply("err too many mappings");
	memset(m, 0, sizeof(*m));
	len = npages * PAGE;

	switch (k) {
	case K_ANON:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case K_SHARED:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		break;
	case K_NONE:
		p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		break;
	case K_RO:
		p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		break;
	case K_FILE:
	case K_SHMFILE: {
		const char *dir = "/dev/shm";

		if (k == K_FILE) {
			dir = getenv("TMPDIR");
			if (!dir || !*dir)
				dir = "/tmp";
		}
		if ((size_t)snprintf(m->path, sizeof(m->path),
				     "%s/pagescan-victim-%d-%s", dir,
				     (int)getpid(), av[1]) >= sizeof(m->path))
			return reply("err path too long");
		fd = make_file(m->path, npages);
		if (fd < 0) {
			int e = errno;
			m->path[0] = 0;
			return reply("err create file: %s", strerror(e));
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 k == K_FILE ? MAP_PRIVATE : MAP_SHARED, fd, 0);
		close(fd);
		break;
	}
	case K_THP: {
		unsigned char *raw = mmap(NULL, len + THP_SIZE,
					  PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uintptr_t a;

		if (raw == MAP_FAILED)
			break;
		a = ((uintptr_t)raw + THP_SIZE - 1) & ~(THP_SIZE - 1);
		if (a > (uintptr_t)raw)
			munmap(raw, a - (uintptr_t)raw);
		if ((uintptr_t)raw + len + THP_SIZE > a + len)
			munmap((void *)(a + len),
			       (uintptr_t)raw + len + THP_SIZE - (a + len));
		p = (void *)a;
		if (madvise(p, len, MADV_HUGEPAGE)) {
			int e = errno;
			munmap(p, len);
			return reply("err madvise(MADV_HUGEPAGE): %s",
				     strerror(e));
		}
		break;
	}
	}
	if (p == MAP_FAILED) {
		int e = errno;
		if (m->path[0])
			unlink(m->path);
		return reply("err mmap: %s", strerror(e));
	}
	m->last = calloc(npages, 1);
	m->prot = malloc(npages);
	m->truth = calloc(bm_words(npages), sizeof(uint64_t));
	if (!m->last || !m->prot || !m->truth) {
		free(m->last);
		free(m->prot);
		free(m->truth);
		munmap(p, len);
		if (m->path[0])
			unlink(m->path);
		return reply("err out of memory");
	}
	memset(m->prot, k == K_NONE ? PROT_NONE :
		  k == K_RO ? PROT_READ : PROT_READ | PROT_WRITE, npages);
	m->used = true;
	snprintf(m->name, sizeof(m->name), "%s", av[1]);
	m->kind = k;
	m->base = p;
	m->npages = npages;

	/* Populate without writing: reads for files, zero stores for THP. */
	if (is_file_kind(k)) {
		unsigned sum = 0;
		for (size_t i = 0; i < npages; i++)
			sum += ((volatile unsigned char *)p)[i * PAGE];
		(void)sum;
	} else if (k == K_THP) {
		for (size_t i = 0; i < npages; i++)
			((volatile unsigned char *)p)[i * PAGE] = 0;
	}
	if (m->path[0])
		return reply("ok %p %p %s", p, (void *)((char *)p + len),
			     m->path);
	return reply("ok %p %p", p, (void *)((char *)p + len));
}

static int cmd_unmap(char **av, int ac)
{
	struct mapping *m;

	if (ac != 2)
		return reply("err usage: unmap NAME");
	m = find_map(av[1]);
	if (!m)
		return reply("err no mapping %s", av[1]);
	if (munmap(m->base, m->npages * PAGE))
		return reply("err munmap: %s", strerror(errno));
	if (m->path[0])
		unlink(m->path);
	free(m->last);
	free(m->prot);
	free(m->truth);
	memset(m, 0, sizeof(*m));
	return reply("ok");
}

/* ---- page selections ---- */

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Parse SPEC for a mapping of n pages into a bitmap; NULL + message on error. */
static uint64_t *parse_spec(const char *spec, size_t n, char *msg, size_t msglen)
{
	uint64_t *bm = calloc(bm_words(n), sizeof(uint64_t));
	char tmp[LINE_MAX_LEN];
	uint64_t a, b;

	if (!bm) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	if (strcmp(spec, "all") == 0) {
		for (size_t i = 0; i < n; i++)
			bit_set(bm, i);
		return bm;
	}
	if (strncmp(spec, "every:", 6) == 0) {
		char *colon;

		snprintf(tmp, sizeof(tmp), "%s", spec + 6);
		colon = strchr(tmp, ':');
		b = 0;
		if (colon) {
			*colon = 0;
			if (parse_u64(colon + 1, n - 1, &b))
				goto bad;
		}
		if (parse_u64(tmp, n, &a) || a == 0)
			goto bad;
		for (size_t i = b; i < n; i += a)
			bit_set(bm, i);
		return bm;
	}
	if (strncmp(spec, "rand:", 5) == 0) {
		char *colon;
		uint64_t seed, got = 0;

		snprintf(tmp, sizeof(tmp), "%s", spec + 5);
		colon = strchr(tmp, ':');
		if (!colon)
			goto bad;
		*colon = 0;
		if (parse_u64(tmp, n, &a) || parse_u64(colon + 1, UINT64_MAX, &seed))
			goto bad;
		seed = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
		if (!seed)
			seed = 1;
		while (got < a) {
			size_t i = xorshift(&seed) % n;
			if (!bit_get(bm, i)) {
				bit_set(bm, i);
				got++;
			}
		}
		return bm;
	}
	/* list of N and A-B */
	snprintf(tmp, sizeof(tmp), "%s", spec);
	for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');

		if (dash) {
			*dash = 0;
			if (parse_u64(tok, n - 1, &a) ||
			    parse_u64(dash + 1, n - 1, &b) || b < a)
				goto bad;
		} else {
			if (parse_u64(tok, n - 1, &a))
				goto bad;
			b = a;
		}
		for (uint64_t i = a; i <= b; i++)
			bit_set(bm, i);
	}
	if (spec[0] == ',' || spec[0] == 0 || spec[strlen(spec) - 1] == ',' ||
	    strstr(spec, ",,"))
		goto bad;
	return bm;
bad:
	free(bm);
	snprintf(msg, msglen, "bad spec %s for %zu pages", spec, n);
	return NULL;
}

static int cmd_write_read(char **av, int ac, bool write)
{
	struct mapping *m;
	char msg[256];
	uint64_t *sel;
	size_t count = 0;
	unsigned sum = 0;

	if (ac != 3)
		return reply("err usage: %s NAME SPEC", av[0]);
	m = find_map(av[1]);
	if (!m)
		return reply("err no mapping %s", av[1]);
	sel = parse_spec(av[2], m->npages, msg, sizeof(msg));
	if (!sel)
		return reply("err %s", msg);
	for (size_t i = 0; i < m->npages; i++) {
		int need = write ? PROT_WRITE : PROT_READ;

		if (bit_get(sel, i) && !(m->prot[i] & need)) {
			free(sel);
			return reply("err page %zu of %s is not %s", i, m->name,
				     write ? "writable" : "readable");
		}
	}
	if (write)
		gen++;
	for (size_t i = 0; i < m->npages; i++) {
		volatile unsigned char *b;

		if (!bit_get(sel, i))
			continue;
		b = m->base + i * PAGE + page_off(i);
		if (write) {
			unsigned char v = page_val(gen, i);
			*b = v;
			m->last[i] = v;
			bit_set(m->truth, i);
		} else {
			sum += *b;
		}
		count++;
	}
	(void)sum;
	free(sel);
	return reply("ok %zu", count);
}

/* ---- threads ---- */

struct writer {
	pthread_t th;
	struct mapping *m;
	const size_t *idx;
	size_t nidx;
	unsigned nthreads, me;
	unsigned g;
	pthread_barrier_t *bar;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_barrier_wait(w->bar);
	for (size_t i = w->me; i < w->nidx; i += w->nthreads) {
		size_t p = w->idx[i];
		*(volatile unsigned char *)(w->m->base + p * PAGE + page_off(p)) =
			page_val(w->g, p);
	}
	return NULL;
}

static int cmd_threads(char **av, int ac)
{
	struct writer ws[MAX_THREADS];
	pthread_barrier_t bar;
	struct mapping *m;
	uint64_t n;
	uint64_t *sel;
	size_t *idx, nidx = 0;
	char msg[256];
	unsigned started = 0;
	int err = 0;

	if (ac != 4)
		return reply("err usage: threads N NAME SPEC");
	if (parse_u64(av[1], MAX_THREADS, &n) || n == 0)
		return reply("err bad thread count %s", av[1]);
	m = find_map(av[2]);
	if (!m)
		return reply("err no mapping %s", av[2]);
	sel = parse_spec(av[3], m->npages, msg, sizeof(msg));
	if (!sel)
		return reply("err %s", msg);
	for (size_t i = 0; i < m->npages; i++)
		if (bit_get(sel, i) && !(m->prot[i] & PROT_WRITE)) {
			free(sel);
			return reply("err page %zu of %s is not writable", i,
				     m->name);
		}
	idx = malloc(m->npages * sizeof(*idx));
	if (!idx) {
		free(sel);
		return reply("err out of memory");
	}
	for (size_t i = 0; i < m->npages; i++)
		if (bit_get(sel, i))
			idx[nidx++] = i;
	free(sel);
	gen++;
	pthread_barrier_init(&bar, NULL, (unsigned)n);
	for (unsigned t = 0; t < n; t++) {
		ws[t] = (struct writer){ .m = m, .idx = idx, .nidx = nidx,
					 .nthreads = (unsigned)n, .me = t,
					 .g = gen, .bar = &bar };
		err = pthread_create(&ws[t].th, NULL, writer_main, &ws[t]);
		if (err)
			break;
		started++;
	}
	if (err) {
		/* The barrier can never open: nothing was written yet, give up. */
		reply("err pthread_create: %s", strerror(err));
		_exit(5);
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(ws[t].th, NULL);
	pthread_barrier_destroy(&bar);
	for (size_t i = 0; i < nidx; i++) {
		m->last[idx[i]] = page_val(gen, idx[i]);
		bit_set(m->truth, idx[i]);
	}
	free(idx);
	return reply("ok %zu", nidx);
}

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static bool idle_release;	/* never set: the threads live until exit */
static unsigned idle_count;

static void *idle_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_lock);
	while (!idle_release)
		pthread_cond_wait(&idle_cond, &idle_lock);
	pthread_mutex_unlock(&idle_lock);
	return NULL;
}

static int cmd_spawnthreads(char **av, int ac)
{
	uint64_t n;

	if (ac != 2)
		return reply("err usage: spawnthreads N");
	if (parse_u64(av[1], MAX_IDLE_THREADS, &n) || n == 0 ||
	    idle_count + n > MAX_IDLE_THREADS)
		return reply("err bad thread count %s", av[1]);
	for (uint64_t i = 0; i < n; i++) {
		pthread_t th;
		int err = pthread_create(&th, NULL, idle_main, NULL);

		if (err)
			return reply("err pthread_create: %s", strerror(err));
		pthread_detach(th);
		idle_count++;
	}
	return reply("ok %u", idle_count);
}

/* ---- verification and truth ---- */

static int cmd_check(char **av, int ac)
{
	static unsigned char want[PAGE_MAX];
	struct mapping *m;
	size_t checked = 0;
	bool zero;

	if (ac != 2)
		return reply("err usage: check NAME");
	m = find_map(av[1]);
	if (!m)
		return reply("err no mapping %s", av[1]);
	zero = !is_file_kind(m->kind);
	if (zero)
		memset(want, 0, PAGE);
	for (size_t i = 0; i < m->npages; i++) {
		const unsigned char *pg = m->base + i * PAGE;
		size_t off = page_off(i);

		if (!(m->prot[i] & PROT_READ))
			continue;	/* not readable: nothing to verify */
		if (!zero)
			for (size_t o = 0; o < PAGE; o++)
				want[o] = file_byte(i, o);
		if (m->last[i])
			want[off] = m->last[i];
		if (memcmp(pg, want, PAGE)) {
			for (size_t o = 0; o < PAGE; o++)
				if (pg[o] != want[o])
					return reply("err check %s page %zu offset %zu got 0x%02x want 0x%02x",
						     m->name, i, o, pg[o], want[o]);
		}
		if (zero)
			want[off] = 0;
		checked++;
	}
	return reply("ok check %zu", checked);
}

static int cmd_protect(char **av, int ac)
{
	struct mapping *m;
	uint64_t a, b;
	char *dash;
	int prot;

	if (ac != 4)
		return reply("err usage: protect NAME FIRST-LAST r|rw|none");
	m = find_map(av[1]);
	if (!m)
		return reply("err no mapping %s", av[1]);
	dash = strchr(av[2], '-');
	if (!dash)
		return reply("err bad page range %s", av[2]);
	*dash = 0;
	if (parse_u64(av[2], m->npages - 1, &a) ||
	    parse_u64(dash + 1, m->npages - 1, &b) || b < a)
		return reply("err bad page range");
	if (!strcmp(av[3], "r"))
		prot = PROT_READ;
	else if (!strcmp(av[3], "rw"))
		prot = PROT_READ | PROT_WRITE;
	else if (!strcmp(av[3], "none"))
		prot = PROT_NONE;
	else
		return reply("err bad protection %s", av[3]);
	if (mprotect(m->base + a * PAGE, (b - a + 1) * PAGE, prot))
		return reply("err mprotect: %s", strerror(errno));
	memset(m->prot + a, prot, b - a + 1);
	return reply("ok");
}

static int cmp_map(const void *a, const void *b)
{
	const struct mapping *x = *(struct mapping *const *)a;
	const struct mapping *y = *(struct mapping *const *)b;

	return x->base < y->base ? -1 : x->base > y->base;
}

static int cmd_truth(char **av, int ac)
{
	struct mapping *order[MAX_MAPS];
	uintptr_t rs = 0, re = 0;
	size_t n = 0, pages = 0;
	bool open_range = false;
	FILE *f;

	if (ac != 2)
		return reply("err usage: truth FILE");
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used)
			order[n++] = &maps[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): array of pointers */
	qsort(order, n, sizeof(order[0]), cmp_map);
	f = fopen(av[1], "we");
	if (!f)
		return reply("err open %s: %s", av[1], strerror(errno));
	for (size_t k = 0; k < n; k++) {
		struct mapping *m = order[k];

		for (size_t i = 0; i < m->npages; i++) {
			uintptr_t a;

			if (!bit_get(m->truth, i))
				continue;
			a = (uintptr_t)m->base + i * PAGE;
			pages++;
			if (open_range && a == re) {
				re = a + PAGE;
				continue;
			}
			if (open_range)
				fprintf(f, "0x%" PRIxPTR " 0x%" PRIxPTR "\n", rs, re);
			rs = a;
			re = a + PAGE;
			open_range = true;
		}
	}
	if (open_range)
		fprintf(f, "0x%" PRIxPTR " 0x%" PRIxPTR "\n", rs, re);
	if (fclose(f))
		return reply("err write %s: %s", av[1], strerror(errno));
	return reply("ok %zu", pages);
}

static int cmd_mark(int ac)
{
	if (ac != 1)
		return reply("err usage: mark");
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used)
			memset(maps[i].truth, 0,
			       bm_words(maps[i].npages) * sizeof(uint64_t));
	return reply("ok");
}

/* ---- checked raw system calls ---- */

#define STR_(x) #x
#define STR(x) STR_(x)

/* Values the kernel must hand back unchanged across `syscall`. */
#define CS_R8 0x0818283848586878
#define CS_R9 0x0919293949596979
#define CS_RBX 0x1b2b3b4b5b6b7b8b
#define CS_RBP 0x1a2a3a4a5a6a7a8a
#define CS_R12 0x1c2c3c4c5c6c7c8c
#define CS_R13 0x1d2d3d4d5d6d7d8d
#define CS_R14 0x1e2e3e4e5e6e7e8e
#define CS_R15 0x1f2f3f4f5f6f7f8f
#define CS_RED 0x2d3d4d5d6d7d8d9d

#if defined(__x86_64__)
/*
 * long victim_syscall(long nr, long a1, long a2, long a3, long a4,
 *                     unsigned *bad)
 * The raw system call nr(a1, a2, a3, a4) with r8, r9, rbx, rbp, r12-r15 and
 * two red-zone words loaded with the CS_* values; afterwards the argument
 * registers and those are compared and *bad gets one bit per change, in
 * the order of bad_names[]. Returns rax (-errno on failure).
 */
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl victim_syscall\n"
	"	.hidden victim_syscall\n"
	"	.type victim_syscall, @function\n"
	"victim_syscall:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	pushq %r9\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	pushq %rdi\n"
	"	pushq %rsi\n"
	"	pushq %rdx\n"
	"	pushq %r10\n"
	"	movabsq $" STR(CS_R8) ", %r8\n"
	"	movabsq $" STR(CS_R9) ", %r9\n"
	"	movabsq $" STR(CS_RBX) ", %rbx\n"
	"	movabsq $" STR(CS_RBP) ", %rbp\n"
	"	movabsq $" STR(CS_R12) ", %r12\n"
	"	movabsq $" STR(CS_R13) ", %r13\n"
	"	movabsq $" STR(CS_R14) ", %r14\n"
	"	movabsq $" STR(CS_R15) ", %r15\n"
	"	movabsq $" STR(CS_RED) ", %rcx\n"
	"	movq %rcx, -8(%rsp)\n"
	"	movq %rcx, -128(%rsp)\n"
	"	syscall\n"
	"	xorl %ecx, %ecx\n"
	"	cmpq 0(%rsp), %r10\n	je 1f\n	orl $1, %ecx\n1:\n"
	"	cmpq 8(%rsp), %rdx\n	je 1f\n	orl $2, %ecx\n1:\n"
	"	cmpq 16(%rsp), %rsi\n	je 1f\n	orl $4, %ecx\n1:\n"
	"	cmpq 24(%rsp), %rdi\n	je 1f\n	orl $8, %ecx\n1:\n"
	"	movabsq $" STR(CS_R8) ", %r11\n"
	"	cmpq %r11, %r8\n	je 1f\n	orl $16, %ecx\n1:\n"
	"	movabsq $" STR(CS_R9) ", %r11\n"
	"	cmpq %r11, %r9\n	je 1f\n	orl $32, %ecx\n1:\n"
	"	movabsq $" STR(CS_RBX) ", %r11\n"
	"	cmpq %r11, %rbx\n	je 1f\n	orl $64, %ecx\n1:\n"
	"	movabsq $" STR(CS_RBP) ", %r11\n"
	"	cmpq %r11, %rbp\n	je 1f\n	orl $128, %ecx\n1:\n"
	"	movabsq $" STR(CS_R12) ", %r11\n"
	"	cmpq %r11, %r12\n	je 1f\n	orl $256, %ecx\n1:\n"
	"	movabsq $" STR(CS_R13) ", %r11\n"
	"	cmpq %r11, %r13\n	je 1f\n	orl $512, %ecx\n1:\n"
	"	movabsq $" STR(CS_R14) ", %r11\n"
	"	cmpq %r11, %r14\n	je 1f\n	orl $1024, %ecx\n1:\n"
	"	movabsq $" STR(CS_R15) ", %r11\n"
	"	cmpq %r11, %r15\n	je 1f\n	orl $2048, %ecx\n1:\n"
	"	movabsq $" STR(CS_RED) ", %r11\n"
	"	cmpq %r11, -8(%rsp)\n	je 1f\n	orl $4096, %ecx\n1:\n"
	"	cmpq %r11, -128(%rsp)\n	je 1f\n	orl $8192, %ecx\n1:\n"
	"	addq $32, %rsp\n"
	"	popq %r9\n"
	"	movl %ecx, (%r9)\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n"
	"	.size victim_syscall, .-victim_syscall\n"
	"	.popsection\n");

static const char *const bad_names[] = {
	"r10", "rdx", "rsi", "rdi", "r8", "r9", "rbx", "rbp",
	"r12", "r13", "r14", "r15", "redzone-8", "redzone-128",
};

#elif defined(__aarch64__)
/*
 * The same on aarch64: the kernel keeps every register but x0 across svc.
 * x1-x3 (arguments), x4-x7, x9-x15 and x19-x28 are checked; x4 is 0 (a
 * fifth argument of NULL), the others are loaded with CS_* style values.
 */
#define A64_K(n) "0x5a5a5a5a000000" #n
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl victim_syscall\n"
	"	.hidden victim_syscall\n"
	"	.type victim_syscall, %function\n"
	"victim_syscall:\n"
	"	stp x29, x30, [sp, #-112]!\n"
	"	stp x19, x20, [sp, #16]\n"
	"	stp x21, x22, [sp, #32]\n"
	"	stp x23, x24, [sp, #48]\n"
	"	stp x25, x26, [sp, #64]\n"
	"	stp x27, x28, [sp, #80]\n"
	"	str x5, [sp, #96]\n"
	"	mov x8, x0\n"
	"	mov x0, x1\n	mov x1, x2\n	mov x2, x3\n	mov x3, x4\n"
	"	mov x16, x1\n	mov x17, x2\n	mov x18, x3\n"
	"	mov x4, #0\n"
	"	ldr x5, =" A64_K(05) "\n	ldr x6, =" A64_K(06) "\n	ldr x7, =" A64_K(07) "\n"
	"	ldr x9, =" A64_K(09) "\n	ldr x10, =" A64_K(10) "\n	ldr x11, =" A64_K(11) "\n"
	"	ldr x12, =" A64_K(12) "\n	ldr x13, =" A64_K(13) "\n	ldr x14, =" A64_K(14) "\n"
	"	ldr x15, =" A64_K(15) "\n	ldr x19, =" A64_K(19) "\n	ldr x20, =" A64_K(20) "\n"
	"	ldr x21, =" A64_K(21) "\n	ldr x22, =" A64_K(22) "\n	ldr x23, =" A64_K(23) "\n"
	"	ldr x24, =" A64_K(24) "\n	ldr x25, =" A64_K(25) "\n	ldr x26, =" A64_K(26) "\n"
	"	ldr x27, =" A64_K(27) "\n	ldr x28, =" A64_K(28) "\n"
	"	svc #0\n"
	"	mov w29, #0\n"
#define A64_CHECK(reg, k, bit) \
	"	ldr x30, =" A64_K(k) "\n	cmp " reg ", x30\n	b.eq 1f\n	orr w29, w29, #" #bit "\n1:\n"
	"	cmp x1, x16\n	b.eq 1f\n	orr w29, w29, #1\n1:\n"
	"	cmp x2, x17\n	b.eq 1f\n	orr w29, w29, #2\n1:\n"
	"	cmp x3, x18\n	b.eq 1f\n	orr w29, w29, #4\n1:\n"
	"	cbz x4, 1f\n	orr w29, w29, #8\n1:\n"
	A64_CHECK("x5", 05, 16) A64_CHECK("x6", 06, 32) A64_CHECK("x7", 07, 64)
	A64_CHECK("x9", 09, 128) A64_CHECK("x10", 10, 256) A64_CHECK("x11", 11, 512)
	A64_CHECK("x12", 12, 1024) A64_CHECK("x13", 13, 2048) A64_CHECK("x14", 14, 4096)
	A64_CHECK("x15", 15, 8192) A64_CHECK("x19", 19, 16384) A64_CHECK("x20", 20, 32768)
	A64_CHECK("x21", 21, 65536) A64_CHECK("x22", 22, 131072) A64_CHECK("x23", 23, 262144)
	A64_CHECK("x24", 24, 524288) A64_CHECK("x25", 25, 1048576) A64_CHECK("x26", 26, 2097152)
	A64_CHECK("x27", 27, 4194304) A64_CHECK("x28", 28, 8388608)
	"	ldr x5, [sp, #96]\n"
	"	str w29, [x5]\n"
	"	ldp x19, x20, [sp, #16]\n"
	"	ldp x21, x22, [sp, #32]\n"
	"	ldp x23, x24, [sp, #48]\n"
	"	ldp x25, x26, [sp, #64]\n"
	"	ldp x27, x28, [sp, #80]\n"
	"	ldp x29, x30, [sp], #112\n"
	"	ret\n"
	"	.ltorg\n"
	"	.size victim_syscall, .-victim_syscall\n"
	"	.popsection\n");

static const char *const bad_names[] = {
	"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x9", "x10", "x11", "x12", "x13",
	"x14", "x15", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
};
#else
#error "victim: x86-64 and aarch64 only"
#endif

long victim_syscall(long nr, long a1, long a2, long a3, long a4,
		    unsigned *bad);

static unsigned sc_bad;	/* registers changed since the command started */

static long sc(long nr, long a1, long a2, long a3, long a4)
{
	unsigned bad = 0;
	long r = victim_syscall(nr, a1, a2, a3, a4, &bad);

	sc_bad |= bad;
	return r;
}

static int reply_bad(const char *what)
{
	char names[256];
	size_t len = 0;

	names[0] = 0;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		if (sc_bad & 1u << i)
			len += (size_t)snprintf(names + len, sizeof(names) - len,
						"%s%s", len ? "," : "",
						bad_names[i]);
	sc_bad = 0;
	return reply("err registers changed across %s: %s", what, names);
}

static const char *errname(long r)
{
	const char *n = strerrorname_np((int)-r);

	return n ? n : "E?";
}

static void printable(char *buf, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '?';
	buf[n] = 0;
}

/* ---- helper threads ---- */

/* A thread blocked in read() on a fifo; sets *flag and runs done() when a
 * byte arrives (or when stopper_end() releases it). */
struct stopper {
	pthread_t th;
	int fd;
	int *flag;
	void (*done)(void);
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;
	char c;

	while (read(s->fd, &c, 1) < 0 && errno == EINTR)
		;
	__atomic_store_n(s->flag, 1, __ATOMIC_SEQ_CST);
	if (s->done)
		s->done();
	return NULL;
}

static int stopper_start(struct stopper *s, const char *path, int *flag,
			 void (*done)(void))
{
	int err;

	s->flag = flag;
	s->done = done;
	__atomic_store_n(flag, 0, __ATOMIC_SEQ_CST);
	/* O_RDWR: never blocks in open(), and the writer never waits either. */
	s->fd = open(path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0)
		return -errno;
	err = pthread_create(&s->th, NULL, stopper_main, s);
	if (err) {
		close(s->fd);
		return -err;
	}
	return 0;
}

static void stopper_end(struct stopper *s)
{
	/* Not triggered from outside (timeout): release it ourselves. */
	if (!__atomic_load_n(s->flag, __ATOMIC_SEQ_CST) &&
	    write(s->fd, "x", 1) != 1)
		pthread_cancel(s->th);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* Write WORD and a newline to the fifo PATH (waits for its reader). */
static __attribute__((unused)) int notify(const char *path, const char *word)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s\n", word);
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n) {
		int e = errno ? errno : EIO;
		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

/* ---- blocking commands ---- */

static void secs_to_ts(double secs, struct timespec *ts)
{
	ts->tv_sec = (time_t)secs;
	ts->tv_nsec = (long)((secs - (double)ts->tv_sec) * 1e9);
	if (ts->tv_nsec >= 1000000000L)
		ts->tv_nsec = 999999999L;
}

static int cmd_sleep(char **av, int ac)
{
	struct timespec ts, rem;
	double secs, t0;
	long r;

	if (ac != 2 || parse_secs(av[1], &secs))
		return reply("err usage: sleep SECS");
	secs_to_ts(secs, &ts);
	sc_bad = 0;
	t0 = now_mono();
	r = sc(SYS_nanosleep, (long)&ts, (long)&rem, 0, 0);
	if (sc_bad)
		return reply_bad("nanosleep");
	if (r < 0)
		return reply("err sleep %s after %.3f", errname(r),
			     now_mono() - t0);
	return reply("ok %.3f", now_mono() - t0);
}

static int cmd_clocksleep(char **av, int ac)
{
	struct timespec ts, rem;
	double secs, t0;
	bool abs = false;
	long r;

	if ((ac != 2 && ac != 3) || parse_secs(av[1], &secs) ||
	    (ac == 3 && strcmp(av[2], "abs")))
		return reply("err usage: clocksleep SECS [abs]");
	abs = ac == 3;
	secs_to_ts(secs, &ts);
	sc_bad = 0;
	t0 = now_mono();
	if (abs) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ts.tv_sec += now.tv_sec;
		ts.tv_nsec += now.tv_nsec;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
	}
	r = sc(SYS_clock_nanosleep, CLOCK_MONOTONIC, abs ? TIMER_ABSTIME : 0,
	       (long)&ts, abs ? 0 : (long)&rem);
	if (sc_bad)
		return reply_bad("clock_nanosleep");
	if (r < 0)
		return reply("err clocksleep %s after %.3f", errname(r),
			     now_mono() - t0);
	return reply("ok %.3f", now_mono() - t0);
}

static int cmd_poll(char **av, int ac)
{
	double secs, t0;
	long r;

	if (ac != 2 || parse_secs(av[1], &secs))
		return reply("err usage: poll SECS");
	sc_bad = 0;
	t0 = now_mono();
#ifdef SYS_poll
	r = sc(SYS_poll, 0, 0, (long)(secs * 1000 + 0.5), 0);
#else
	struct timespec pts = { .tv_sec = (time_t)secs,
				.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };
	r = sc(SYS_ppoll, 0, 0, (long)&pts, 0);
#endif
	if (sc_bad)
		return reply_bad("poll");
	if (r)
		return reply("err poll returned %ld (%s) after %.3f",
			     r < 0 ? -1 : r, r < 0 ? errname(r) : "-",
			     now_mono() - t0);
	return reply("ok %.3f", now_mono() - t0);
}

static int cmd_readfifo(char **av, int ac)
{
	char buf[256];
	long n;
	int fd;

	if (ac != 2)
		return reply("err usage: readfifo PATH");
	/* O_RDWR on a fifo never blocks in open(): the wait is in read(). */
	fd = open(av[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return reply("err open %s: %s", av[1], strerror(errno));
	sc_bad = 0;
	n = sc(SYS_read, fd, (long)buf, sizeof(buf) - 1, 0);
	close(fd);
	if (sc_bad)
		return reply_bad("read");
	if (n < 0)
		return reply("err read %s", errname(n));
	printable(buf, n);
	return reply("ok read %ld %s", n, buf);
}

static uint32_t futex_word;

static void futex_wake_all(void)
{
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}

static int cmd_futex(char **av, int ac)
{
	struct stopper waker = { 0 };
	struct timespec ts;
	char res[256];
	size_t len = 0;
	double secs = 0;
	int calls = 0, r;

	if ((ac != 2 && ac != 3) || (ac == 3 && parse_secs(av[2], &secs)))
		return reply("err usage: futex FIFO [SECS]");
	r = stopper_start(&waker, av[1], (int *)&futex_word, futex_wake_all);
	if (r < 0)
		return reply("err futex helper %s: %s", av[1], strerror(-r));
	res[0] = 0;
	sc_bad = 0;
	while (!__atomic_load_n(&futex_word, __ATOMIC_SEQ_CST) && calls < 16) {
		long ret;

		secs_to_ts(secs, &ts);
		ret = sc(SYS_futex, (long)&futex_word, FUTEX_WAIT_PRIVATE, 0,
			 ac == 3 ? (long)&ts : 0);
		len += (size_t)snprintf(res + len, sizeof(res) - len, "%s%s",
					calls ? "," : "",
					ret == 0 ? "0" : errname(ret));
		calls++;
		if (ret == -ETIMEDOUT)
			break;
	}
	stopper_end(&waker);
	if (sc_bad)
		return reply_bad("futex");
	return reply("ok futex %s", res);
}

static int cmd_epoll(char **av, int ac)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char buf[256];
	int ep, fd;
	long r;

	if (ac != 2)
		return reply("err usage: epoll PATH");
	fd = open(av[1], O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return reply("err open %s: %s", av[1], strerror(errno));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		int e = errno;
		close(fd);
		if (ep >= 0)
			close(ep);
		return reply("err epoll setup: %s", strerror(e));
	}
	sc_bad = 0;
#ifdef SYS_epoll_wait
	r = sc(SYS_epoll_wait, ep, (long)&ev, 1, -1);
#else
	r = sc(SYS_epoll_pwait, ep, (long)&ev, 1, -1); /* no sigmask: x4 = 0 */
#endif
	close(ep);
	if (sc_bad) {
		close(fd);
		return reply_bad("epoll_wait");
	}
	if (r < 0) {
		close(fd);
		return reply("ok epoll %s", errname(r));
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	printable(buf, n);
	return reply("ok epoll %ld %s", r, buf);
}

static int listen_fd = -1;

static int cmd_listen(int ac)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int fd;

	if (ac != 1)
		return reply("err usage: listen");
	if (listen_fd >= 0)
		return reply("err already listening");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return reply("err socket: %s", strerror(errno));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen)) {
		int e = errno;
		close(fd);
		return reply("err listen: %s", strerror(e));
	}
	listen_fd = fd;
	return reply("ok %u", (unsigned)ntohs(sin.sin_port));
}

static int cmd_accept(int ac)
{
	char buf[256];
	size_t got = 0;
	long c;

	if (ac != 1)
		return reply("err usage: accept");
	if (listen_fd < 0)
		return reply("err not listening");
	sc_bad = 0;
	c = sc(SYS_accept4, listen_fd, 0, 0, SOCK_CLOEXEC);
	close(listen_fd);
	listen_fd = -1;
	if (sc_bad) {
		if (c >= 0)
			close((int)c);
		return reply_bad("accept4");
	}
	if (c < 0)
		return reply("err accept %s", errname(c));
	while (got < sizeof(buf) - 1) {
		ssize_t n = read((int)c, buf + got, sizeof(buf) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close((int)c);
	printable(buf, (ssize_t)got);
	return reply("ok accept %zu %s", got, buf);
}

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static int cmd_sigread(char **av, int ac)
{
	struct sigaction sa, old;
	char buf[256];
	int fd, h;
	long n;

	if ((ac != 2 && ac != 3) || (ac == 3 && strcmp(av[2], "restart")))
		return reply("err usage: sigread PATH [restart]");
	fd = open(av[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return reply("err open %s: %s", av[1], strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = ac == 3 ? SA_RESTART : 0;
	usr1_count = 0;
	if (sigaction(SIGUSR1, &sa, &old)) {
		int e = errno;
		close(fd);
		return reply("err sigaction: %s", strerror(e));
	}
	sc_bad = 0;
	n = sc(SYS_read, fd, (long)buf, sizeof(buf) - 1, 0);
	h = usr1_count;
	sigaction(SIGUSR1, &old, NULL);
	close(fd);
	if (sc_bad)
		return reply_bad("read");
	if (n < 0)
		return reply("ok sigread %s handler %d", errname(n), h);
	printable(buf, n);
	return reply("ok sigread read %ld %s handler %d", n, buf, h);
}

#if defined(__x86_64__)
#define K_RCX 0x3c3c3c3c
#define K_RDX 0x01234567
#define K_RSI 0x02468ace
#define K_RDI 0x11223344
#define K_R10 0x0f0f0f0f
#define K_R11 0x05050505
#define K_RED 0x1d2c3b4a
/*
 * Run n iterations with live values in registers (and the red zone) that a
 * careless injection would clobber: syscall itself overwrites rcx and r11,
 * rax carries the result, rdi/rsi/rdx/r10 the arguments. With i the
 * iteration: rcx = K - i, rdx = K + 2i, rsi = K + 3i, rdi = K + 8i,
 * r10 = K - 5i, r11 = K + 7i. Returns iterations done; *bad set on a
 * broken invariant.
 */
static __attribute__((noinline)) unsigned long spin_chunk(unsigned long n,
							   int *bad)
{
	register unsigned long cnt __asm__("r8") = n;
	register unsigned long flag __asm__("r9");
	unsigned long done;

	__asm__ volatile(
		"movq $" STR(K_RED) ", -8(%%rsp)\n\t"
		"movq $" STR(K_RED) ", -64(%%rsp)\n\t"
		"movq $" STR(K_RED) ", -128(%%rsp)\n\t"
		"xorl %%eax, %%eax\n\t"
		"movq $" STR(K_RCX) ", %%rcx\n\t"
		"movq $" STR(K_RDX) ", %%rdx\n\t"
		"movq $" STR(K_RSI) ", %%rsi\n\t"
		"movq $" STR(K_RDI) ", %%rdi\n\t"
		"movq $" STR(K_R10) ", %%r10\n\t"
		"movq $" STR(K_R11) ", %%r11\n\t"
		"1:\n\t"
		"addq $1, %%rax\n\t"
		"subq $1, %%rcx\n\t"
		"addq $2, %%rdx\n\t"
		"addq $3, %%rsi\n\t"
		"addq $8, %%rdi\n\t"
		"subq $5, %%r10\n\t"
		"addq $7, %%r11\n\t"
		"leaq (%%rax,%%rcx), %%r9\n\t"
		"cmpq $" STR(K_RCX) ", %%r9\n\t"
		"jne 2f\n\t"
		"leaq " STR(K_RDX) "(%%rax,%%rax), %%r9\n\t"
		"cmpq %%r9, %%rdx\n\t"
		"jne 2f\n\t"
		"leaq " STR(K_RSI) "(%%rax,%%rax,2), %%r9\n\t"
		"cmpq %%r9, %%rsi\n\t"
		"jne 2f\n\t"
		"leaq " STR(K_RDI) "(,%%rax,8), %%r9\n\t"
		"cmpq %%r9, %%rdi\n\t"
		"jne 2f\n\t"
		"leaq (%%rax,%%rax,4), %%r9\n\t"
		"addq %%r10, %%r9\n\t"
		"cmpq $" STR(K_R10) ", %%r9\n\t"
		"jne 2f\n\t"
		"leaq (,%%rax,8), %%r9\n\t"
		"subq %%rax, %%r9\n\t"
		"addq $" STR(K_R11) ", %%r9\n\t"
		"cmpq %%r9, %%r11\n\t"
		"jne 2f\n\t"
		"cmpq $" STR(K_RED) ", -8(%%rsp)\n\t"
		"jne 2f\n\t"
		"cmpq $" STR(K_RED) ", -64(%%rsp)\n\t"
		"jne 2f\n\t"
		"cmpq $" STR(K_RED) ", -128(%%rsp)\n\t"
		"jne 2f\n\t"
		"subq $1, %%r8\n\t"
		"jnz 1b\n\t"
		"xorl %%r9d, %%r9d\n\t"
		"jmp 3f\n\t"
		"2:\n\t"
		"movl $1, %%r9d\n\t"
		"3:\n\t"
		: "=&a"(done), "+r"(cnt), "=&r"(flag)
		:
		: "rcx", "rdx", "rsi", "rdi", "r10", "r11", "cc", "memory");
	*bad = flag != 0 || (!flag && done != n);
	return done;
}

#elif defined(__aarch64__)
#define K_X1 3000
#define K_X2 1000
#define K_X3 1100
#define K_X4 1200
#define K_X5 2900
#define K_X6 1300
#define K_X7 1400
#define K_X8 1500
#define K_X16 1600
#define K_X17 1700
/*
 * The same on aarch64, where the kernel keeps every register but x0 across
 * svc, so an injection must give back all of them: x0 counts the
 * iterations i; x1 = K - i, x2 = K + 2i, x3 = K + 3i, x4 = K + 8i,
 * x5 = K - 5i, x6 = K + 7i, x7 = K + 11i, x8 (the syscall number) = K + 13i,
 * x16 and x17 (the linker's scratch registers) = K + 17i and K + 19i, and
 * d0 = i as a double (the FP/SIMD registers). AAPCS64 has no red zone.
 */
static __attribute__((noinline)) unsigned long spin_chunk(unsigned long n,
							   int *bad)
{
	register unsigned long cnt __asm__("x15") = n;
	register unsigned long flag __asm__("x9");
	register unsigned long done __asm__("x0");

	__asm__ volatile(
		"mov x0, #0\n\t"
		"mov x1, #" STR(K_X1) "\n\t"
		"mov x2, #" STR(K_X2) "\n\t"
		"mov x3, #" STR(K_X3) "\n\t"
		"mov x4, #" STR(K_X4) "\n\t"
		"mov x5, #" STR(K_X5) "\n\t"
		"mov x6, #" STR(K_X6) "\n\t"
		"mov x7, #" STR(K_X7) "\n\t"
		"mov x8, #" STR(K_X8) "\n\t"
		"mov x16, #" STR(K_X16) "\n\t"
		"mov x17, #" STR(K_X17) "\n\t"
		"fmov d0, xzr\n\t"
		"fmov d1, #1.0\n\t"
		"1:\n\t"
		"add x0, x0, #1\n\t"
		"sub x1, x1, #1\n\t"
		"add x2, x2, #2\n\t"
		"add x3, x3, #3\n\t"
		"add x4, x4, #8\n\t"
		"sub x5, x5, #5\n\t"
		"add x6, x6, #7\n\t"
		"add x7, x7, #11\n\t"
		"add x8, x8, #13\n\t"
		"add x16, x16, #17\n\t"
		"add x17, x17, #19\n\t"
		"fadd d0, d0, d1\n\t"
		"add x9, x0, x1\n\t"
		"cmp x9, #" STR(K_X1) "\n\t"
		"b.ne 2f\n\t"
		"add x9, x0, x0\n\t"
		"add x9, x9, #" STR(K_X2) "\n\t"
		"cmp x2, x9\n\t"
		"b.ne 2f\n\t"
		"add x9, x0, x0, lsl #1\n\t"
		"add x9, x9, #" STR(K_X3) "\n\t"
		"cmp x3, x9\n\t"
		"b.ne 2f\n\t"
		"lsl x9, x0, #3\n\t"
		"add x9, x9, #" STR(K_X4) "\n\t"
		"cmp x4, x9\n\t"
		"b.ne 2f\n\t"
		"add x9, x0, x0, lsl #2\n\t"
		"add x9, x9, x5\n\t"
		"cmp x9, #" STR(K_X5) "\n\t"
		"b.ne 2f\n\t"
		"lsl x9, x0, #3\n\t"
		"sub x9, x9, x0\n\t"
		"add x9, x9, #" STR(K_X6) "\n\t"
		"cmp x6, x9\n\t"
		"b.ne 2f\n\t"
		"mov x10, #11\n\t"
		"madd x9, x0, x10, xzr\n\t"
		"add x9, x9, #" STR(K_X7) "\n\t"
		"cmp x7, x9\n\t"
		"b.ne 2f\n\t"
		"mov x10, #13\n\t"
		"madd x9, x0, x10, xzr\n\t"
		"add x9, x9, #" STR(K_X8) "\n\t"
		"cmp x8, x9\n\t"
		"b.ne 2f\n\t"
		"mov x10, #17\n\t"
		"madd x9, x0, x10, xzr\n\t"
		"add x9, x9, #" STR(K_X16) "\n\t"
		"cmp x16, x9\n\t"
		"b.ne 2f\n\t"
		"mov x10, #19\n\t"
		"madd x9, x0, x10, xzr\n\t"
		"add x9, x9, #" STR(K_X17) "\n\t"
		"cmp x17, x9\n\t"
		"b.ne 2f\n\t"
		"ucvtf d2, x0\n\t"
		"fcmp d0, d2\n\t"
		"b.ne 2f\n\t"
		"subs x15, x15, #1\n\t"
		"b.ne 1b\n\t"
		"mov x9, #0\n\t"
		"b 3f\n\t"
		"2:\n\t"
		"mov x9, #1\n\t"
		"3:\n\t"
		: "=&r"(done), "+r"(cnt), "=&r"(flag)
		:
		: "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x10", "x16",
		  "x17", "d0", "d1", "d2", "cc", "memory");
	*bad = flag != 0 || (!flag && done != n);
	return done;
}
#endif

#if defined(__aarch64__)
#ifndef HWCAP_SVE
#define HWCAP_SVE (1 << 22)
#endif
/*
 * The SVE registers: a syscall discards everything beyond the 128-bit
 * FPSIMD part, so an injection into a thread with live SVE state must give
 * it back. z0 holds 1, 2, 3, ... in its 64-bit lanes and p0 is all true; each
 * iteration compares them with freshly computed ones (lanes 3 and up, and
 * p0, would read 0 after a discard).
 */
static __attribute__((noinline)) unsigned long sve_chunk(unsigned long n,
							  int *bad)
{
	register unsigned long cnt __asm__("x15") = n;
	register unsigned long flag __asm__("x9");

	__asm__ volatile(
		".arch_extension sve\n\t"
		"ptrue p0.d\n\t"
		"index z0.d, #1, #1\n\t"
		"1:\n\t"
		"ptrue p2.d\n\t"
		"index z1.d, #1, #1\n\t"
		"cmpne p1.d, p2/z, z0.d, z1.d\n\t"
		"b.any 2f\n\t"
		"cntp x10, p2, p0.d\n\t"
		"cntd x11\n\t"
		"cmp x10, x11\n\t"
		"b.ne 2f\n\t"
		"subs x15, x15, #1\n\t"
		"b.ne 1b\n\t"
		"mov x9, #0\n\t"
		"b 3f\n\t"
		"2:\n\t"
		"mov x9, #1\n\t"
		"3:\n\t"
		: "+r"(cnt), "=&r"(flag)
		:
		: "x10", "x11", "v0", "v1", "cc", "memory");
	*bad = flag != 0;
	return flag ? n - cnt : n;
}

/* Why the sve command cannot check anything here, or NULL. */
static const char *sve_unusable(void)
{
	if (!(getauxval(AT_HWCAP) & HWCAP_SVE))
		return "this CPU has no SVE";
	if (prctl(PR_SVE_GET_VL) < 0 || (prctl(PR_SVE_GET_VL) & 0xffff) <= 16)
		return "the SVE vector length is 128 bits: nothing beyond FPSIMD to lose";
	return NULL;
}

#ifndef HWCAP2_SME
#define HWCAP2_SME (1 << 23)
#endif
/*
 * SME streaming mode: a syscall clears PSTATE.SM, and leaving streaming mode
 * zeroes every Z and P register; ZA stays. So an injection into a thread in
 * streaming mode must put it back in streaming mode with its registers.
 * Each chunk enters streaming mode with ZA enabled (smstart), puts 1, 2,
 * 3, ... in the 64-bit lanes of z0 and of the first row of ZA tile 0 and
 * sets p0 all true, then checks on every iteration, before any instruction
 * that needs streaming mode, that SVCR still has SM and ZA set, then z0, p0
 * and the ZA row against freshly computed values; smstop at the end (which
 * zeroes the vector registers: all of v0-v31 are clobbered).
 */
static __attribute__((noinline)) unsigned long sme_chunk(unsigned long n,
							  int *bad)
{
	register unsigned long cnt __asm__("x15") = n;
	register unsigned long flag __asm__("x9");

	__asm__ volatile(
		".arch_extension sve\n\t"
		".arch_extension sme\n\t"
		"smstart\n\t"
		"ptrue p0.d\n\t"
		"index z0.d, #1, #1\n\t"
		"mov w12, #0\n\t"
		"mova za0h.d[w12, 0], p0/m, z0.d\n\t"
		"1:\n\t"
		"mrs x10, svcr\n\t"
		"and x10, x10, #3\n\t"
		"cmp x10, #3\n\t"
		"b.ne 2f\n\t"
		"ptrue p2.d\n\t"
		"index z1.d, #1, #1\n\t"
		"cmpne p1.d, p2/z, z0.d, z1.d\n\t"
		"b.any 2f\n\t"
		"cntp x10, p2, p0.d\n\t"
		"cntd x11\n\t"
		"cmp x10, x11\n\t"
		"b.ne 2f\n\t"
		"mov z2.d, #0\n\t"
		"mova z2.d, p2/m, za0h.d[w12, 0]\n\t"
		"cmpne p1.d, p2/z, z2.d, z1.d\n\t"
		"b.any 2f\n\t"
		"subs x15, x15, #1\n\t"
		"b.ne 1b\n\t"
		"mov x9, #0\n\t"
		"b 3f\n\t"
		"2:\n\t"
		"mov x9, #1\n\t"
		"3:\n\t"
		"smstop\n\t"
		: "+r"(cnt), "=&r"(flag)
		:
		: "x10", "x11", "x12", "v0", "v1", "v2", "v3", "v4", "v5", "v6",
		  "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
		  "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",
		  "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory");
	*bad = flag != 0;
	return flag ? n - cnt : n;
}

/* Why the sme command cannot check anything here, or NULL. */
static const char *sme_unusable(void)
{
	if (!(getauxval(AT_HWCAP2) & HWCAP2_SME))
		return "the kernel reports no SME (no HWCAP2_SME): a CPU without SME, or a kernel built "
		       "without CONFIG_ARM64_SME (Debian 12's 6.12 kernels: it depends on BROKEN there)";
	return NULL;
}
#else
static unsigned long sve_chunk(unsigned long n, int *bad)
{
	(void)n;
	*bad = 1;
	return 0;
}

static const char *sve_unusable(void)
{
	return "SVE is an aarch64 feature";
}

static unsigned long sme_chunk(unsigned long n, int *bad)
{
	(void)n;
	*bad = 1;
	return 0;
}

static const char *sme_unusable(void)
{
	return "SME is an aarch64 feature";
}
#endif

static int spin_stop;

/* spin, sve and sme: run chunk until SECS pass or a byte arrives on STOPFIFO. */
static int spin_loop(char **av, int ac,
		     unsigned long (*chunk)(unsigned long, int *))
{
	unsigned long total = 0;
	struct stopper st = { 0 };
	double secs, t0;
	int r;

	if (ac < 2 || ac > 4 || parse_secs(av[1], &secs))
		return reply("err usage: %s SECS [NOTIFYFIFO [STOPFIFO]]", av[0]);
	__atomic_store_n(&spin_stop, 0, __ATOMIC_SEQ_CST);
	if (ac == 4) {
		r = stopper_start(&st, av[3], &spin_stop, NULL);
		if (r < 0)
			return reply("err open %s: %s", av[3], strerror(-r));
	}
	if (ac >= 3) {
		r = notify(av[2], "spinning");
		if (r < 0) {
			if (ac == 4)
				stopper_end(&st);
			return reply("err notify %s: %s", av[2], strerror(-r));
		}
	}
	t0 = now_mono();
	do {
		int bad;
		unsigned long done = chunk(1UL << 20, &bad);

		total += done;
		if (bad) {
			if (ac == 4)
				stopper_end(&st);
			return reply("err %s corrupted after %lu iterations",
				     av[0], total);
		}
	} while (now_mono() - t0 < secs &&
		 !__atomic_load_n(&spin_stop, __ATOMIC_SEQ_CST));
	if (ac == 4)
		stopper_end(&st);
	return reply("ok %s clean %lu", av[0], total);
}

static int cmd_spin(char **av, int ac)
{
	return spin_loop(av, ac, spin_chunk);
}

static int cmd_sve(char **av, int ac)
{
	const char *why = sve_unusable();

	if (why)
		return reply("err sve unusable: %s", why);
	return spin_loop(av, ac, sve_chunk);
}

static int cmd_sme(char **av, int ac)
{
	const char *why = sme_unusable();

	if (why)
		return reply("err sme unusable: %s", why);
	return spin_loop(av, ac, sme_chunk);
}

/* ---- rseq ---- */

/*
 * One pass through an rseq critical section: publish the descriptor in
 * *cs_field (the thread's rseq->rseq_cs), then, inside the section, check
 * inner times that it is still there, and commit by incrementing *commits.
 * Returns 0 after a commit, 1 from the abort handler, 2 when the check saw
 * rseq_cs cleared inside the section (the kernel only clears it outside a
 * section or when it aborts one: the section continued without its abort).
 */
#if defined(__x86_64__)
static __attribute__((noinline)) int rseq_pass(uint64_t *cs_field,
					       uint64_t *commits,
					       unsigned long inner)
{
	int ret;

	__asm__ volatile(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"3:\n\t"
		".long 0, 0\n\t"	/* version, flags */
		".quad 1f, (2f - 1f), 4f\n\t"	/* start, length, abort */
		".popsection\n\t"
		"leaq 3b(%%rip), %%rax\n\t"
		"movq %%rax, (%[csf])\n\t"
		"1:\n\t"
		"movq %[inner], %%rcx\n\t"
		"5:\n\t"
		"cmpq %%rax, (%[csf])\n\t"
		"jne 6f\n\t"
		"subq $1, %%rcx\n\t"
		"jnz 5b\n\t"
		"addq $1, (%[commits])\n\t"	/* the commit */
		"2:\n\t"
		"xorl %%eax, %%eax\n\t"
		"jmp 7f\n\t"
		"6:\n\t"
		"movl $2, %%eax\n\t"
		"jmp 7f\n\t"
		/* ud1 with RSEQ_SIG as its operand: the signature before abort */
		".byte 0x0f, 0xb9, 0x3d\n\t"
		".long " STR(RSEQ_SIG) "\n\t"
		"4:\n\t"
		"movl $1, %%eax\n\t"
		"7:\n\t"
		: "=&a"(ret)
		: [csf] "r"(cs_field), [commits] "r"(commits),
		  [inner] "r"(inner)
		: "rcx", "cc", "memory");
	return ret;
}

#elif defined(__aarch64__)
static __attribute__((noinline)) int rseq_pass(uint64_t *cs_field,
					       uint64_t *commits,
					       unsigned long inner)
{
	register unsigned long ret __asm__("x0");

	__asm__ volatile(
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"3:\n\t"
		".long 0, 0\n\t"	/* version, flags */
		".quad 1f, (2f - 1f), 4f\n\t"	/* start, length, abort */
		".popsection\n\t"
		"adrp x9, 3b\n\t"
		"add x9, x9, :lo12:3b\n\t"
		"str x9, [%[csf]]\n\t"
		"1:\n\t"
		"mov x10, %[inner]\n\t"
		"5:\n\t"
		"ldr x11, [%[csf]]\n\t"
		"cmp x11, x9\n\t"
		"b.ne 6f\n\t"
		"subs x10, x10, #1\n\t"
		"b.ne 5b\n\t"
		"ldr x11, [%[commits]]\n\t"
		"add x11, x11, #1\n\t"
		"str x11, [%[commits]]\n\t"	/* the commit */
		"2:\n\t"
		"mov x0, #0\n\t"
		"b 7f\n\t"
		"6:\n\t"
		"mov x0, #2\n\t"
		"b 7f\n\t"
		/* the signature right before the abort handler */
		".long " STR(RSEQ_SIG) "\n\t"
		"4:\n\t"
		"mov x0, #1\n\t"
		"7:\n\t"
		: "=&r"(ret)
		: [csf] "r"(cs_field), [commits] "r"(commits),
		  [inner] "r"(inner)
		: "x9", "x10", "x11", "cc", "memory");
	return (int)ret;
}
#endif

static int rseq_stop;

static int cmd_rseq(char **av, int ac)
{
	uint64_t commits = 0, aborts = 0, violations = 0;
	struct stopper st = { 0 };
	struct rseq *rs;
	int r;

	if (ac != 3)
		return reply("err usage: rseq NOTIFYFIFO STOPFIFO");
	if (__rseq_size < 20)	/* the original ABI: rseq_cs at offset 8 */
		return reply("err rseq: glibc did not register rseq (__rseq_size %u; GLIBC_TUNABLES glibc.pthread.rseq=0?)",
			     __rseq_size);
	rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	if ((int32_t)rs->cpu_id < 0)
		return reply("err rseq: registration failed (cpu_id %d)",
			     (int)(int32_t)rs->cpu_id);
	r = stopper_start(&st, av[2], &rseq_stop, NULL);
	if (r < 0)
		return reply("err open %s: %s", av[2], strerror(-r));
	r = notify(av[1], "rseq");
	if (r < 0) {
		stopper_end(&st);
		return reply("err notify %s: %s", av[1], strerror(-r));
	}
	while (!__atomic_load_n(&rseq_stop, __ATOMIC_SEQ_CST)) {
		switch (rseq_pass((uint64_t *)&rs->rseq_cs, &commits, 2000)) {
		case 1:
			aborts++;
			break;
		case 2:
			violations++;
			break;
		}
	}
	stopper_end(&st);
	return reply("ok rseq commits %" PRIu64 " aborts %" PRIu64
		     " violations %" PRIu64, commits, aborts, violations);
}

/* ---- process state ---- */

static int read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < n - 1) {
		ssize_t r = read(fd, buf + off, n - 1 - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += r;
	}
	buf[off] = 0;
	close(fd);
	return 0;
}

static void status_field(const char *status, const char *key, char *out,
			 size_t n)
{
	const char *p = strstr(status, key);
	size_t k = 0;

	snprintf(out, n, "?");
	if (!p)
		return;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	while (p[k] && p[k] != '\n' && k < n - 1)
		k++;
	memcpy(out, p, k);
	out[k] = 0;
}

static int cmd_status(int ac)
{
	static char status[16384];
	char blk[64], ign[64], cgt[64];
	struct dirent *de;
	int count = 0;
	DIR *d;

	if (ac != 1)
		return reply("err usage: status");
	d = opendir("/proc/self/fd");
	if (!d)
		return reply("err opendir: %s", strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			count++;
	closedir(d);
	count--;	/* the directory's own fd */
	if (read_small("/proc/thread-self/status", status, sizeof(status)))
		return reply("err status: %s", strerror(errno));
	status_field(status, "\nSigBlk:", blk, sizeof(blk));
	status_field(status, "\nSigIgn:", ign, sizeof(ign));
	status_field(status, "\nSigCgt:", cgt, sizeof(cgt));
	return reply("ok %d %s %s %s", count, blk, ign, cgt);
}

static int cmd_thp(char **av, int ac)
{
	struct mapping *m;
	char line[512];
	bool in = false;
	FILE *f;

	if (ac != 2)
		return reply("err usage: thp NAME");
	m = find_map(av[1]);
	if (!m)
		return reply("err no mapping %s", av[1]);
	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return reply("err smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, kb;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = s <= (uintptr_t)m->base && (uintptr_t)m->base < e;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1) {
			fclose(f);
			return reply("ok %lu", kb);
		}
	}
	fclose(f);
	return reply("err no smaps entry for %s", m->name);
}

static int cmd_zombie(int ac)
{
	siginfo_t si;
	pid_t pid;

	if (ac != 1)
		return reply("err usage: zombie");
	pid = fork();
	if (pid < 0)
		return reply("err fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	/* WNOWAIT: wait until it is a zombie, but leave it unreaped. */
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT)) {
		if (errno != EINTR)
			return reply("err waitid: %s", strerror(errno));
	}
	return reply("ok %d", (int)pid);
}

/* ---- fork or exec from another thread ---- */

static struct stopper trigger;
static int trigger_fired;
static bool trigger_exec;
static char *trigger_argv[6];

static void trigger_fire(void)
{
	if (trigger_exec) {
		execv(trigger_argv[0], trigger_argv);
		_exit(127);
	}
	if (fork() == 0) {
		/* gone with the victim, even when a test fails */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;)
			pause();
	}
	/* PR_SET_PDEATHSIG acts when this thread ends: it never does. */
	for (;;)
		pause();
}

static int cmd_trigger(char **av, int ac)
{
	bool exec = ac >= 4 && ac <= 7 && !strcmp(av[2], "exec");
	int r;

	if (trigger.th)
		return reply("err trigger already armed");
	if (!exec && !(ac == 3 && !strcmp(av[2], "fork")))
		return reply("err usage: trigger FIFO fork | trigger FIFO exec PROG [ARG...]");
	trigger_exec = exec;
	for (int i = 3; exec && i < ac; i++) {
		trigger_argv[i - 3] = strdup(av[i]);
		if (!trigger_argv[i - 3])
			return reply("err out of memory");
	}
	r = stopper_start(&trigger, av[1], &trigger_fired, trigger_fire);
	if (r < 0)
		return reply("err trigger %s: %s", av[1], strerror(-r));
	return reply("ok armed");
}

/* ---- a vfork child that execs on a byte ---- */

static pid_t vfork_parent;
static int vfork_fd = -1, vfork_ready[2] = { -1, -1 }; /* the child's pid, or -1, on vfork_ready */
static char *vfork_argv[6];
static char vfork_stack[256 * 1024] __attribute__((aligned(16)));

/* Runs in the victim's address space until its exec: system calls only,
 * on its own stack. */
static int vfork_child(void *arg)
{
	char c;
	pid_t me = getpid();

	(void)arg;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* gone with the victim */
	if (getppid() != vfork_parent)
		_exit(1); /* it died before the prctl */
	if (write(vfork_ready[1], &me, sizeof(me)) != sizeof(me))
		_exit(1);
	while (read(vfork_fd, &c, 1) < 0 && errno == EINTR)
		;
	execv(vfork_argv[0], vfork_argv);
	_exit(127);
}

static void *vfork_main(void *arg)
{
	(void)arg;
	/* The thread stays blocked in clone() until the child's exec, then
	 * lives on (the child's PR_SET_PDEATHSIG follows this thread). */
	pid_t none = -1;
	if (clone(vfork_child, vfork_stack + sizeof(vfork_stack), CLONE_VM | CLONE_VFORK | SIGCHLD, NULL) < 0 &&
	    write(vfork_ready[1], &none, sizeof(none)) != sizeof(none))
		abort();
	for (;;)
		pause();
	return NULL;
}

static int cmd_vfork(char **av, int ac)
{
	pthread_t th;
	int err;

	if (ac < 3 || ac > 6)
		return reply("err usage: vfork FIFO PROG [ARG...]");
	if (vfork_fd >= 0)
		return reply("err vfork already done");
	for (int i = 2; i < ac; i++) {
		vfork_argv[i - 2] = strdup(av[i]);
		if (!vfork_argv[i - 2])
			return reply("err out of memory");
	}
	vfork_parent = getpid();
	vfork_fd = open(av[1], O_RDWR | O_CLOEXEC);
	if (vfork_fd < 0)
		return reply("err %s: %s", av[1], strerror(errno));
	if (pipe2(vfork_ready, O_CLOEXEC) < 0)
		return reply("err pipe2: %s", strerror(errno));
	err = pthread_create(&th, NULL, vfork_main, NULL);
	if (err)
		return reply("err pthread_create: %s", strerror(err));
	/* The child writes its pid once it is set up (about to block on FIFO). */
	pid_t pid = -1;
	ssize_t got;
	while ((got = read(vfork_ready[0], &pid, sizeof(pid))) < 0 && errno == EINTR)
		;
	if (got != sizeof(pid) || pid <= 0)
		return reply("err clone: no child");
	return reply("ok %d", (int)pid);
}

/* ---- main loop ---- */

static void *noop_main(void *arg)
{
	return arg;
}

/* glibc installs its internal SIGSETXID handler when the first thread is
 * created: do that at start, so that `status` (SigCgt) stays the same when
 * a later command starts and joins threads. */
static void warm_up_threads(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, noop_main, NULL) == 0)
		pthread_join(th, NULL);
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *in;
	int cmd_fd;

	if (argc != 3) {
		fprintf(stderr, "usage: victim CMDFIFO REPLYFIFO\n");
		return 2;
	}
	long ps = sysconf(_SC_PAGESIZE);
	if (ps < 4096 || (unsigned long)ps > PAGE_MAX) {
		fprintf(stderr, "victim: page size %ld is not 4 to 64 KiB\n", ps);
		return 2;
	}
	page_size = (unsigned long)ps;
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	warm_up_threads();
	cmd_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (cmd_fd < 0) {
		perror(argv[1]);
		return 2;
	}
	reply_fd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (reply_fd < 0) {
		perror(argv[2]);
		return 2;
	}
	in = fdopen(cmd_fd, "r");
	if (!in) {
		perror("fdopen");
		return 2;
	}
	atexit(drop_files);

	for (;;) {
		char *av[8], *save = NULL;
		ssize_t len;
		int ac = 0;

		errno = 0;
		len = getline(&line, &cap, in);
		if (len < 0) {
			if (errno == EINTR) {
				clearerr(in);
				continue;
			}
			fprintf(stderr, "victim: end of commands\n");
			exit(3);
		}
		if (len > LINE_MAX_LEN) {
			reply("err line too long");
			continue;
		}
		for (char *tok = strtok_r(line, " \t\r\n", &save); tok;
		     tok = strtok_r(NULL, " \t\r\n", &save)) {
			if (ac == (int)(sizeof(av) / sizeof(av[0]))) {
				ac = -1;
				break;
			}
			av[ac++] = tok;
		}
		if (ac < 0) {
			reply("err too many words");
			continue;
		}
		if (ac == 0) {
			reply("err empty command");
			continue;
		}
		if (!strcmp(av[0], "map"))
			cmd_map(av, ac);
		else if (!strcmp(av[0], "unmap"))
			cmd_unmap(av, ac);
		else if (!strcmp(av[0], "write"))
			cmd_write_read(av, ac, true);
		else if (!strcmp(av[0], "read"))
			cmd_write_read(av, ac, false);
		else if (!strcmp(av[0], "threads"))
			cmd_threads(av, ac);
		else if (!strcmp(av[0], "spawnthreads"))
			cmd_spawnthreads(av, ac);
		else if (!strcmp(av[0], "protect"))
			cmd_protect(av, ac);
		else if (!strcmp(av[0], "check"))
			cmd_check(av, ac);
		else if (!strcmp(av[0], "mark"))
			cmd_mark(ac);
		else if (!strcmp(av[0], "truth"))
			cmd_truth(av, ac);
		else if (!strcmp(av[0], "sleep"))
			cmd_sleep(av, ac);
		else if (!strcmp(av[0], "clocksleep"))
			cmd_clocksleep(av, ac);
		else if (!strcmp(av[0], "poll"))
			cmd_poll(av, ac);
		else if (!strcmp(av[0], "futex"))
			cmd_futex(av, ac);
		else if (!strcmp(av[0], "epoll"))
			cmd_epoll(av, ac);
		else if (!strcmp(av[0], "listen"))
			cmd_listen(ac);
		else if (!strcmp(av[0], "accept"))
			cmd_accept(ac);
		else if (!strcmp(av[0], "sigread"))
			cmd_sigread(av, ac);
		else if (!strcmp(av[0], "rseq"))
			cmd_rseq(av, ac);
		else if (!strcmp(av[0], "readfifo"))
			cmd_readfifo(av, ac);
		else if (!strcmp(av[0], "spin"))
			cmd_spin(av, ac);
		else if (!strcmp(av[0], "sve"))
			cmd_sve(av, ac);
		else if (!strcmp(av[0], "sme"))
			cmd_sme(av, ac);
		else if (!strcmp(av[0], "status"))
			cmd_status(ac);
		else if (!strcmp(av[0], "thp"))
			cmd_thp(av, ac);
		else if (!strcmp(av[0], "zombie"))
			cmd_zombie(ac);
		else if (!strcmp(av[0], "trigger"))
			cmd_trigger(av, ac);
		else if (!strcmp(av[0], "vfork"))
			cmd_vfork(av, ac);
		else if (!strcmp(av[0], "exit")) {
			uint64_t code;

			if (ac != 2 || parse_u64(av[1], 255, &code)) {
				reply("err usage: exit CODE");
				continue;
			}
			reply("ok");
			exit((int)code);
		} else {
			reply("err unknown command %s", av[0]);
		}
	}
}
