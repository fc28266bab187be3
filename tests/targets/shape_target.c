/* SPDX-License-Identifier: MIT */
/*
 * shape_target: a scriptable target with unusual process shapes for
 * tests/e2e/fault_shapes.bats and soak.bats: worker threads, a zombie
 * leader, a seccomp filter on userfaultfd, its own userfaultfds, fork, exec,
 * vfork, mremap, munmap and a full file descriptor table. It records which
 * pages it wrote, so a test can compare pagescan's report with the truth.
 *
 * Usage: shape_target [-t N] [-z] [-s errno|trap|kill] CMD REPLY
 *   CMD, REPLY   fifo paths, or fd:N for descriptors inherited from the
 *                caller (works across a uid change). Commands are read
 *                from CMD, one per line; exactly one reply line each,
 *                "ok ..." or "err ...", on REPLY. EOF on CMD: exit 3.
 *   -t N         start N worker threads (1..64), blocked on a condition
 *                variable until a "twrite" command.
 *   -z           zombie leader: commands are served by another thread and
 *                the main thread calls pthread_exit().
 *   -s MODE      prctl(PR_SET_NO_NEW_PRIVS) + a seccomp filter returning
 *                ERRNO(EPERM), TRAP or KILL_PROCESS for userfaultfd() and
 *                allowing everything else.
 *   -S MODE      the same filter, installed by the thread that serves the
 *                commands on itself alone (no TSYNC): with -z, the only
 *                live thread has it and the leader's status shows none.
 *   A SIGSYS handler (SA_SIGINFO) that only counts its calls is always
 *   installed, so the signal state is the same in every mode.
 *
 * Mappings are private anonymous, read-write, between two PROT_NONE guard
 * pages (so they never merge with a neighbour). Page indexes count 4 KiB
 * pages. SPEC: "all", "every:N[:OFF]" or a list "0,3,5-9".
 *
 *   map NAME PAGES        -> ok 0xSTART 0xEND
 *   mapwrite NAME PAGES USEC -> ok 0xSTART 0xEND  maps NAME (one mmap,
 *                            read-write, no guard pages), then writes each
 *                            page once, in order, USEC microseconds apart
 *   write NAME SPEC       -> ok NPAGES   one byte per page (a value that
 *                            changes with every write, at an offset fixed
 *                            per page), from the command thread
 *   twrite NAME SPEC      -> ok NPAGES   all -t workers at once (barrier
 *                            start), page i by worker i % N
 *   read NAME SPEC        -> ok NPAGES   loads one byte per page
 *   check NAME            -> ok check NPAGES | err check ...  every byte of
 *                            the mapping as the writes left it
 *   mark                  -> ok          clears the truth set
 *   truth                 -> ok NPAGES [0xS 0xE]...  pages written since
 *                            the last mark (all mappings, merged, sorted)
 *   ever NAME             -> ok NPAGES [0xS 0xE]...  pages of NAME ever
 *                            written (hold private anonymous data)
 *   unmap NAME            -> ok
 *   protect NAME rw|none [SPEC] -> ok NPAGES  mprotect() the whole
 *                            mapping, then at once write SPEC (if given)
 *   mremap NAME           -> ok 0xSTART 0xEND  moves it (MREMAP_FIXED) to
 *                            an address that was never mapped before
 *   fork NAME SPEC        -> ok PID      the child writes SPEC into its copy
 *                            of NAME, then waits until "reap"
 *   reap                  -> ok STATUS   lets the child exit and reaps it
 *   exec                  -> ok exec PID  re-executes /proc/self/exe with
 *                            the same arguments; the new image replies
 *   vfork PATH            -> ok vfork STATUS  the child of vfork() blocks in
 *                            read() on the fifo PATH until a byte arrives,
 *                            then _exit(0)s; the parent stays in vfork()
 *   uffdmiss NAME         -> ok FD       the program's own userfaultfd,
 *                            NAME registered in MISSING mode; a handler
 *                            thread fills faulting pages with a pattern
 *   utouch NAME SPEC      -> ok NPAGES FAULTS  reads the pages, checking the
 *                            pattern; FAULTS counts all faults served
 *   uffdreg NAME          -> ok | err EBUSY ...  registers NAME with the
 *                            program's MISSING userfaultfd
 *   wpasync NAME          -> ok FD       the program's own userfaultfd with
 *                            WP_ASYNC; NAME registered and write-protected
 *   wpcheck NAME          -> ok wpcheck NPAGES | err ...  its own
 *                            PAGEMAP_SCAN get-and-clear of NAME equals the
 *                            pages it wrote there since the last wpcheck
 *   churn NAME on|off     -> ok          a thread writing NAME continuously
 *                            (16 pages, then 1 ms sleep)
 *   fill                  -> ok NFDS     opens /dev/null until EMFILE
 *   unfill                -> ok NFDS     closes them again
 *   tryuffd [kernel]      -> ok RET ERRNO  the program's own
 *                            userfaultfd(O_CLOEXEC | UFFD_USER_MODE_ONLY), or
 *                            with "kernel" without UFFD_USER_MODE_ONLY
 *   sigsys                -> ok COUNT    calls of the SIGSYS handler
 *   exit CODE             -> ok          then exit(CODE)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE ((unsigned long)sysconf(_SC_PAGESIZE)) /* the kernel's: 4, 16 or 64 KiB */
#define MAX_MAPS 32
#define MAX_PAGES (1UL << 18)
#define MAX_THREADS 64
#define LINE 1024

/* Spelled out: the installed UAPI headers may predate Linux 6.7. */
struct st_page_region {
	uint64_t start, end, categories;
};
struct st_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define ST_PAGEMAP_SCAN _IOWR('f', 16, struct st_pm_scan_arg)
#define ST_PAGE_IS_WRITTEN (1ULL << 1)
#define ST_PM_SCAN_WP_MATCHING (1ULL << 0)
#define ST_FEATURE_WP_UNPOPULATED (1ULL << 13)
#define ST_FEATURE_WP_ASYNC (1ULL << 15)
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#if defined(__x86_64__)
#define ST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "unsupported architecture"
#endif

enum kind { K_PLAIN, K_MISSING };

struct mapping {
	bool used;
	char name[32];
	enum kind kind;
	unsigned char *base;
	size_t npages;
	unsigned char *last;	/* last value written per page, 0 = never */
	uint64_t *truth;	/* written since the last mark (atomic) */
	uint64_t *own;		/* written since the last wpcheck (atomic) */
	unsigned char *touched;	/* K_MISSING: pages read through utouch */
};

static struct mapping maps[MAX_MAPS];
static int cmd_fd = -1, reply_fd = -1;
static char **saved_argv;
static unsigned gen;
static volatile sig_atomic_t sigsys_calls;

/* ---- replies ---- */

static void reply_raw(const char *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(reply_fd, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(4);
		off += (size_t)w;
	}
}

static int reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int reply(const char *fmt, ...)
{
	char buf[LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = snprintf(buf, sizeof(buf), "err reply format");
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	reply_raw(buf, (size_t)n);
	return 0;
}

/* A growing reply line for range lists. */
struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[128];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->n + (size_t)n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->n + (size_t)n + 2)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			_exit(5);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, tmp, (size_t)n);
	b->n += (size_t)n;
}

/* ---- parsing ---- */

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*ret = v;
	return 0;
}

/* Parse SPEC for a mapping of n pages into a 0/1 array sel[n]. */
static int parse_spec(const char *spec, size_t n, unsigned char *sel)
{
	memset(sel, 0, n);
	if (strcmp(spec, "all") == 0) {
		memset(sel, 1, n);
		return 0;
	}
	if (strncmp(spec, "every:", 6) == 0) {
		char buf[64], *colon;
		uint64_t step, off = 0;
		snprintf(buf, sizeof(buf), "%s", spec + 6);
		colon = strchr(buf, ':');
		if (colon) {
			*colon = 0;
			if (parse_u64(colon + 1, n ? n - 1 : 0, &off))
				return -1;
		}
		if (parse_u64(buf, n, &step) || step == 0)
			return -1;
		for (uint64_t i = off; i < n; i += step)
			sel[i] = 1;
		return 0;
	}
	char *copy = strdup(spec), *save = NULL;
	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t a, b;
		if (dash)
			*dash = 0;
		if (parse_u64(tok, n - 1, &a) || (dash ? parse_u64(dash + 1, n - 1, &b) : (b = a, 0)) || b < a) {
			free(copy);
			return -1;
		}
		for (uint64_t i = a; i <= b; i++)
			sel[i] = 1;
	}
	free(copy);
	return 0;
}

/* ---- content model ---- */

static size_t page_off(size_t idx)
{
	return (idx * 257 + 8) & (PAGE - 1);
}

static unsigned char page_val(unsigned g, size_t idx)
{
	return (unsigned char)(1 + (g * 37u + idx) % 255u);
}

static unsigned char pattern_byte(size_t idx, size_t off)
{
	return (unsigned char)((idx * 131 + off * 7) ^ 0xa5);
}

static void bit_set(uint64_t *bm, size_t i)
{
	__atomic_fetch_or(&bm[i / 64], 1ULL << (i % 64), __ATOMIC_RELAXED);
}

static bool bit_get(const uint64_t *bm, size_t i)
{
	return __atomic_load_n(&bm[i / 64], __ATOMIC_RELAXED) >> (i % 64) & 1;
}

static void write_page(struct mapping *m, size_t i, unsigned char v)
{
	m->base[i * PAGE + page_off(i)] = v;
	m->last[i] = v;
	bit_set(m->truth, i);
	bit_set(m->own, i);
}

static struct mapping *find_map(const char *name)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && strcmp(maps[i].name, name) == 0)
			return &maps[i];
	return NULL;
}

/* ---- worker threads ---- */

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER, wdone = PTHREAD_COND_INITIALIZER;
static int nworkers, ndone;
static unsigned job_seq;
static struct mapping *job_map;
static const unsigned char *job_sel;
static unsigned job_val_gen;

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	unsigned seen = 0;

	for (;;) {
		pthread_mutex_lock(&wlock);
		while (job_seq == seen)
			pthread_cond_wait(&wcond, &wlock);
		seen = job_seq;
		struct mapping *m = job_map;
		const unsigned char *sel = job_sel;
		unsigned g = job_val_gen;
		pthread_mutex_unlock(&wlock);
		/* Each worker writes its own pages: i % nworkers == me. */
		for (size_t i = (size_t)me; i < m->npages; i += (size_t)nworkers)
			if (sel[i])
				write_page(m, i, page_val(g, i));
		pthread_mutex_lock(&wlock);
		if (++ndone == nworkers)
			pthread_cond_signal(&wdone);
		pthread_mutex_unlock(&wlock);
	}
	return NULL;
}

/* ---- commands ---- */

static int cmd_map(char **av, int ac)
{
	uint64_t n;
	struct mapping *m = NULL;

	if (ac != 3 || strlen(av[1]) > 31 || parse_u64(av[2], MAX_PAGES, &n) || n == 0)
		return reply("err usage: map NAME PAGES");
	if (find_map(av[1]))
		return reply("err %s exists", av[1]);
	for (int i = 0; i < MAX_MAPS && !m; i++)
		if (!maps[i].used)
			m = &maps[i];
	if (!m)
		return reply("err too many mappings");
	size_t len = n * PAGE;
	unsigned char *g = mmap(NULL, len + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g == MAP_FAILED)
		return reply("err mmap: %s", strerror(errno));
	if (mprotect(g + PAGE, len, PROT_READ | PROT_WRITE))
		return reply("err mprotect: %s", strerror(errno));
	memset(m, 0, sizeof(*m));
	m->base = g + PAGE;
	m->npages = n;
	m->last = calloc(n, 1);
	m->touched = calloc(n, 1);
	m->truth = calloc((n + 63) / 64, 8);
	m->own = calloc((n + 63) / 64, 8);
	if (!m->last || !m->touched || !m->truth || !m->own)
		return reply("err out of memory");
	snprintf(m->name, sizeof(m->name), "%s", av[1]);
	m->used = true;
	return reply("ok %p %p", (void *)m->base, (void *)(m->base + len));
}

/* mapwrite NAME PAGES USEC: one mmap (read-write from the start, no guard
 * pages), then every page written once, USEC microseconds apart: a program
 * filling fresh memory while a watch engages it. */
static int cmd_mapwrite(char **av, int ac)
{
	uint64_t n, usec;
	struct mapping *m = NULL;

	if (ac != 4 || strlen(av[1]) > 31 || find_map(av[1]) || parse_u64(av[2], MAX_PAGES, &n) || n == 0 ||
	    parse_u64(av[3], 1000000, &usec))
		return reply("err usage: mapwrite NAME PAGES USEC");
	for (int i = 0; i < MAX_MAPS && !m; i++)
		if (!maps[i].used)
			m = &maps[i];
	if (!m)
		return reply("err too many mappings");
	memset(m, 0, sizeof(*m));
	m->npages = n;
	m->last = calloc(n, 1);
	m->touched = calloc(n, 1);
	m->truth = calloc((n + 63) / 64, 8);
	m->own = calloc((n + 63) / 64, 8);
	if (!m->last || !m->touched || !m->truth || !m->own)
		return reply("err out of memory");
	m->base = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->base == MAP_FAILED)
		return reply("err mmap: %s", strerror(errno));
	snprintf(m->name, sizeof(m->name), "%s", av[1]);
	m->used = true;
	gen++;
	for (size_t i = 0; i < n; i++) {
		struct timespec t0, t;
		write_page(m, i, page_val(gen, i));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)(t.tv_nsec - t0.tv_nsec) < usec * 1000u);
	}
	return reply("ok %p %p", (void *)m->base, (void *)(m->base + n * PAGE));
}

static int with_sel(char **av, int ac, int want, struct mapping **mp, unsigned char **selp)
{
	if (ac != want)
		return -1;
	*mp = find_map(av[1]);
	if (!*mp)
		return -1;
	*selp = malloc((*mp)->npages);
	if (!*selp || parse_spec(av[2], (*mp)->npages, *selp)) {
		free(*selp);
		return -1;
	}
	return 0;
}

static int cmd_write(char **av, int ac)
{
	struct mapping *m;
	unsigned char *sel;
	size_t n = 0;

	if (with_sel(av, ac, 3, &m, &sel))
		return reply("err usage: write NAME SPEC");
	gen++;
	for (size_t i = 0; i < m->npages; i++)
		if (sel[i]) {
			write_page(m, i, page_val(gen, i));
			n++;
		}
	free(sel);
	return reply("ok %zu", n);
}

static int cmd_twrite(char **av, int ac)
{
	struct mapping *m;
	unsigned char *sel;
	size_t n = 0;

	if (!nworkers)
		return reply("err no worker threads (-t)");
	if (with_sel(av, ac, 3, &m, &sel))
		return reply("err usage: twrite NAME SPEC");
	gen++;
	for (size_t i = 0; i < m->npages; i++)
		n += sel[i];
	pthread_mutex_lock(&wlock);
	job_map = m;
	job_sel = sel;
	job_val_gen = gen;
	ndone = 0;
	job_seq++;
	pthread_cond_broadcast(&wcond);
	while (ndone < nworkers)
		pthread_cond_wait(&wdone, &wlock);
	pthread_mutex_unlock(&wlock);
	free(sel);
	return reply("ok %zu", n);
}

static int cmd_read(char **av, int ac)
{
	struct mapping *m;
	unsigned char *sel;
	size_t n = 0;
	volatile unsigned char sink = 0;

	if (with_sel(av, ac, 3, &m, &sel))
		return reply("err usage: read NAME SPEC");
	for (size_t i = 0; i < m->npages; i++)
		if (sel[i]) {
			sink ^= m->base[i * PAGE];
			n++;
		}
	(void)sink;
	free(sel);
	return reply("ok %zu", n);
}

static int cmd_check(char **av, int ac)
{
	struct mapping *m;

	if (ac != 2 || !(m = find_map(av[1])))
		return reply("err usage: check NAME");
	for (size_t i = 0; i < m->npages; i++) {
		const unsigned char *p = m->base + i * PAGE;
		if (m->kind == K_MISSING) {
			if (!m->touched[i])
				continue;
			for (size_t o = 0; o < PAGE; o++)
				if (p[o] != pattern_byte(i, o))
					return reply("err check %s page %zu offset %zu got %u want %u", m->name, i, o,
					             p[o], pattern_byte(i, o));
			continue;
		}
		for (size_t o = 0; o < PAGE; o++) {
			unsigned char want = o == page_off(i) ? m->last[i] : 0;
			if (p[o] != want)
				return reply("err check %s page %zu offset %zu got %u want %u", m->name, i, o, p[o], want);
		}
	}
	return reply("ok check %zu", m->npages);
}

static int cmd_mark(void)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used)
			memset(maps[i].truth, 0, (maps[i].npages + 63) / 64 * 8);
	return reply("ok");
}

/* Append the pages of bm (or of last[] != 0) as ranges, merging with the
 * previous range when adjacent. */
static void add_ranges(struct sbuf *b, const struct mapping *m, bool ever, uintptr_t *cs, uintptr_t *ce,
                       size_t *npages)
{
	for (size_t i = 0; i < m->npages; i++) {
		bool on = ever ? m->last[i] != 0 : bit_get(m->truth, i);
		if (!on)
			continue;
		uintptr_t a = (uintptr_t)m->base + i * PAGE;
		(*npages)++;
		if (*ce == a) {
			*ce = a + PAGE;
			continue;
		}
		if (*ce)
			sb_add(b, " 0x%lx 0x%lx", (unsigned long)*cs, (unsigned long)*ce);
		*cs = a;
		*ce = a + PAGE;
	}
}

static int cmp_base(const void *a, const void *b)
{
	const struct mapping *x = *(const struct mapping *const *)a, *y = *(const struct mapping *const *)b;
	return x->base < y->base ? -1 : x->base > y->base;
}

static int cmd_truth(char **av, int ac, bool ever)
{
	struct mapping *list[MAX_MAPS];
	int n = 0;
	struct sbuf b = { 0 };
	uintptr_t cs = 0, ce = 0;
	size_t npages = 0;

	if (ever) {
		if (ac != 2 || !(list[0] = find_map(av[1])))
			return reply("err usage: ever NAME");
		n = 1;
	} else {
		for (int i = 0; i < MAX_MAPS; i++)
			if (maps[i].used && maps[i].kind == K_PLAIN)
				list[n++] = &maps[i];
		qsort(list, (size_t)n, sizeof(list[0]), cmp_base); // NOLINT(bugprone-sizeof-expression): array of pointers
	}
	for (int i = 0; i < n; i++)
		add_ranges(&b, list[i], ever, &cs, &ce, &npages);
	if (ce)
		sb_add(&b, " 0x%lx 0x%lx", (unsigned long)cs, (unsigned long)ce);
	char head[64];
	int hn = snprintf(head, sizeof(head), "ok %zu", npages);
	reply_raw(head, (size_t)hn);
	if (b.n)
		reply_raw(b.p, b.n);
	reply_raw("\n", 1);
	free(b.p);
	return 0;
}

/* protect NAME rw|none [SPEC]: mprotect the whole mapping (a PROT_NONE
 * reservation made writable is how malloc arenas and JITs grow), then at
 * once write SPEC. */
static int cmd_protect(char **av, int ac)
{
	struct mapping *m;
	unsigned char *sel = NULL;
	int prot;

	if ((ac != 3 && ac != 4) || !(m = find_map(av[1])))
		return reply("err usage: protect NAME rw|none [SPEC]");
	if (ac == 4) {
		sel = malloc(m->npages);
		if (!sel || parse_spec(av[3], m->npages, sel)) {
			free(sel);
			return reply("err bad SPEC");
		}
	}
	if (strcmp(av[2], "rw") == 0)
		prot = PROT_READ | PROT_WRITE;
	else if (strcmp(av[2], "none") == 0)
		prot = PROT_NONE;
	else
		return reply("err usage: protect NAME rw|none");
	if (mprotect(m->base, m->npages * PAGE, prot)) {
		free(sel);
		return reply("err mprotect: %s", strerror(errno));
	}
	size_t n = 0;
	gen++;
	for (size_t i = 0; sel && i < m->npages; i++)
		if (sel[i]) {
			write_page(m, i, page_val(gen, i));
			n++;
		}
	free(sel);
	return reply("ok %zu", n);
}

static int cmd_unmap(char **av, int ac)
{
	struct mapping *m;

	if (ac != 2 || !(m = find_map(av[1])))
		return reply("err usage: unmap NAME");
	if (munmap(m->base, m->npages * PAGE))
		return reply("err munmap: %s", strerror(errno));
	free(m->last);
	free(m->touched);
	free(m->truth);
	free(m->own);
	m->used = false;
	return reply("ok");
}

static int cmd_mremap(char **av, int ac)
{
	struct mapping *m;

	if (ac != 2 || !(m = find_map(av[1])))
		return reply("err usage: mremap NAME");
	size_t len = m->npages * PAGE;
	/* A fresh hole with guard pages around it, never mapped before. */
	unsigned char *g = mmap(NULL, len + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g == MAP_FAILED)
		return reply("err mmap: %s", strerror(errno));
	if (munmap(g + PAGE, len))
		return reply("err munmap: %s", strerror(errno));
	void *p = mremap(m->base, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, g + PAGE);
	if (p == MAP_FAILED)
		return reply("err mremap: %s", strerror(errno));
	m->base = p;
	return reply("ok %p %p", p, (void *)((unsigned char *)p + len));
}

static pid_t fork_child = -1;
static int fork_release_fd = -1;

static int cmd_fork(char **av, int ac)
{
	struct mapping *m;
	unsigned char *sel;
	int done[2], hold[2];

	if (fork_child > 0)
		return reply("err a child is still running");
	if (with_sel(av, ac, 3, &m, &sel))
		return reply("err usage: fork NAME SPEC");
	if (pipe2(done, O_CLOEXEC) || pipe2(hold, O_CLOEXEC))
		return reply("err pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return reply("err fork: %s", strerror(errno));
	if (pid == 0) {
		char c = 0;
		close(hold[1]);
		/* Only this thread lives in the child: write, report, wait. */
		for (size_t i = 0; i < m->npages; i++)
			if (sel[i])
				m->base[i * PAGE + page_off(i)] = (unsigned char)(0xc0 | (i & 0x3f));
		if (write(done[1], "x", 1) != 1)
			_exit(6);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	free(sel);
	close(done[1]);
	close(hold[0]);
	char c;
	ssize_t r;
	while ((r = read(done[0], &c, 1)) < 0 && errno == EINTR)
		;
	close(done[0]);
	fork_child = pid;
	fork_release_fd = hold[1];
	if (r != 1)
		return reply("err child failed");
	return reply("ok %d", (int)pid);
}

static int cmd_reap(void)
{
	int st;

	if (fork_child <= 0)
		return reply("err no child");
	close(fork_release_fd);
	fork_release_fd = -1;
	if (waitpid(fork_child, &st, 0) < 0)
		return reply("err waitpid: %s", strerror(errno));
	fork_child = -1;
	return reply("ok %d", st);
}

static int cmd_exec(void)
{
	if (setenv("SHAPE_TARGET_EXECED", "1", 1))
		return reply("err setenv");
	execv("/proc/self/exe", saved_argv);
	return reply("err exec: %s", strerror(errno));
}

/* Kept apart and never inlined: the vfork child shares this stack frame. */
static __attribute__((noinline)) pid_t vfork_wait(int fd)
{
	char c;
	pid_t pid = vfork();

	if (pid == 0) {
		syscall(SYS_read, fd, &c, 1);
		_exit(0);
	}
	return pid;
}

static int cmd_vfork(char **av, int ac)
{
	int st;

	if (ac != 2)
		return reply("err usage: vfork PATH");
	int fd = open(av[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return reply("err open %s: %s", av[1], strerror(errno));
	pid_t pid = vfork_wait(fd);
	close(fd);
	if (pid < 0)
		return reply("err vfork: %s", strerror(errno));
	if (waitpid(pid, &st, 0) < 0)
		return reply("err waitpid: %s", strerror(errno));
	return reply("ok vfork %d", st);
}

/* ---- the program's own userfaultfds ---- */

static int miss_uffd = -1;
static unsigned long miss_faults;

static struct mapping *map_at(uintptr_t a)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && a >= (uintptr_t)maps[i].base && a < (uintptr_t)maps[i].base + maps[i].npages * PAGE)
			return &maps[i];
	return NULL;
}

static void *miss_handler(void *arg)
{
	unsigned char *page = aligned_alloc(PAGE, PAGE);
	(void)arg;
	if (!page)
		_exit(7);
	for (;;) {
		struct uffd_msg msg;
		ssize_t r = read(miss_uffd, &msg, sizeof(msg));
		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(msg))
			_exit(8);
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uintptr_t a = (uintptr_t)msg.arg.pagefault.address & ~(PAGE - 1);
		struct mapping *m = map_at(a);
		size_t idx = m ? (a - (uintptr_t)m->base) / PAGE : 0;
		for (size_t o = 0; o < PAGE; o++)
			page[o] = pattern_byte(idx, o);
		/* Counted before the copy wakes the faulting thread, which may
		 * report the count at once. */
		__atomic_fetch_add(&miss_faults, 1, __ATOMIC_RELAXED);
		struct uffdio_copy c = { .dst = a, .src = (uintptr_t)page, .len = PAGE };
		if (ioctl(miss_uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
			_exit(9);
	}
	return NULL;
}

static int miss_register(struct mapping *m)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)m->base, .len = m->npages * PAGE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	return ioctl(miss_uffd, UFFDIO_REGISTER, &reg);
}

static int cmd_uffdmiss(char **av, int ac)
{
	struct mapping *m;
	pthread_t th;

	if (ac != 2 || !(m = find_map(av[1])))
		return reply("err usage: uffdmiss NAME");
	if (miss_uffd >= 0)
		return reply("err already have one");
	miss_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (miss_uffd < 0)
		return reply("err userfaultfd: %s", strerror(errno));
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(miss_uffd, UFFDIO_API, &api))
		return reply("err UFFDIO_API: %s", strerror(errno));
	if (miss_register(m))
		return reply("err UFFDIO_REGISTER: %s", strerror(errno));
	m->kind = K_MISSING;
	if (pthread_create(&th, NULL, miss_handler, NULL))
		return reply("err pthread_create");
	return reply("ok %d", miss_uffd);
}

static int cmd_uffdreg(char **av, int ac)
{
	struct mapping *m;

	if (ac != 2 || !(m = find_map(av[1])) || miss_uffd < 0)
		return reply("err usage: uffdreg NAME (after uffdmiss)");
	if (miss_register(m)) {
		int e = errno;
		return reply("err %s %s", e == EBUSY ? "EBUSY" : "errno", strerror(e));
	}
	m->kind = K_MISSING;
	return reply("ok");
}

static int cmd_utouch(char **av, int ac)
{
	struct mapping *m;
	unsigned char *sel;
	size_t n = 0;

	if (with_sel(av, ac, 3, &m, &sel) || m->kind != K_MISSING)
		return reply("err usage: utouch NAME SPEC (a uffdmiss mapping)");
	for (size_t i = 0; i < m->npages; i++) {
		if (!sel[i])
			continue;
		const volatile unsigned char *p = m->base + i * PAGE;
		for (size_t o = 0; o < PAGE; o += 511)
			if (p[o] != pattern_byte(i, o)) {
				free(sel);
				return reply("err utouch page %zu offset %zu got %u", i, o, p[o]);
			}
		m->touched[i] = 1;
		n++;
	}
	free(sel);
	return reply("ok %zu %lu", n, __atomic_load_n(&miss_faults, __ATOMIC_RELAXED));
}

static int wp_uffd = -1, pagemap_fd = -1;

static long own_scan(struct mapping *m, uint64_t flags, struct st_page_region *vec, size_t nvec)
{
	struct st_pm_scan_arg arg = {
		.size = sizeof(arg), .flags = flags,
		.start = (uintptr_t)m->base, .end = (uintptr_t)m->base + m->npages * PAGE,
		.vec = (uintptr_t)vec, .vec_len = nvec,
		.category_mask = ST_PAGE_IS_WRITTEN, .return_mask = ST_PAGE_IS_WRITTEN,
	};
	return ioctl(pagemap_fd, ST_PAGEMAP_SCAN, &arg);
}

static int cmd_wpasync(char **av, int ac)
{
	struct mapping *m;

	if (ac != 2 || !(m = find_map(av[1])))
		return reply("err usage: wpasync NAME");
	if (wp_uffd >= 0)
		return reply("err already have one");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		return reply("err open pagemap: %s", strerror(errno));
	wp_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (wp_uffd < 0)
		return reply("err userfaultfd: %s", strerror(errno));
	struct uffdio_api api = { .api = UFFD_API, .features = ST_FEATURE_WP_ASYNC | ST_FEATURE_WP_UNPOPULATED };
	if (ioctl(wp_uffd, UFFDIO_API, &api))
		return reply("err UFFDIO_API: %s", strerror(errno));
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)m->base, .len = m->npages * PAGE },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	if (ioctl(wp_uffd, UFFDIO_REGISTER, &reg))
		return reply("err UFFDIO_REGISTER: %s", strerror(errno));
	if (own_scan(m, ST_PM_SCAN_WP_MATCHING, NULL, 0) < 0)
		return reply("err PAGEMAP_SCAN: %s", strerror(errno));
	memset(m->own, 0, (m->npages + 63) / 64 * 8);
	return reply("ok %d", wp_uffd);
}

static int cmd_wpcheck(char **av, int ac)
{
	struct mapping *m;
	struct st_page_region vec[512];

	if (ac != 2 || !(m = find_map(av[1])) || wp_uffd < 0)
		return reply("err usage: wpcheck NAME (after wpasync)");
	unsigned char *got = calloc(m->npages, 1);
	if (!got)
		return reply("err out of memory");
	/* One get-and-clear pass; the mapping is small enough for one vector. */
	long n = own_scan(m, ST_PM_SCAN_WP_MATCHING, vec, 512);
	if (n < 0) {
		free(got);
		return reply("err PAGEMAP_SCAN: %s", strerror(errno));
	}
	for (long k = 0; k < n; k++)
		for (uint64_t a = vec[k].start; a < vec[k].end; a += PAGE)
			got[(a - (uintptr_t)m->base) / PAGE] = 1;
	size_t cnt = 0;
	for (size_t i = 0; i < m->npages; i++) {
		bool want = bit_get(m->own, i);
		int seen = got[i];
		if (want != (seen != 0)) {
			free(got);
			return reply("err wpcheck page %zu: wrote %d, own scan says %d", i, want, seen);
		}
		cnt += want;
	}
	free(got);
	memset(m->own, 0, (m->npages + 63) / 64 * 8);
	return reply("ok wpcheck %zu", cnt);
}

/* ---- churn ---- */

static struct mapping *churn_map;
static volatile int churn_on;
static pthread_t churn_th;

static void *churner(void *arg)
{
	size_t i = 0;
	(void)arg;
	while (__atomic_load_n(&churn_on, __ATOMIC_RELAXED)) {
		for (int k = 0; k < 16; k++, i = (i * 7 + 13) % churn_map->npages)
			write_page(churn_map, i, page_val(gen + 1000u + (unsigned)k, i));
		struct timespec ts = { .tv_nsec = 1000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int cmd_churn(char **av, int ac)
{
	if (ac != 3)
		return reply("err usage: churn NAME on|off");
	if (strcmp(av[2], "on") == 0) {
		if (churn_on || !(churn_map = find_map(av[1])))
			return reply("err churn");
		churn_on = 1;
		if (pthread_create(&churn_th, NULL, churner, NULL))
			return reply("err pthread_create");
		return reply("ok");
	}
	if (!churn_on)
		return reply("err not churning");
	__atomic_store_n(&churn_on, 0, __ATOMIC_RELAXED);
	pthread_join(churn_th, NULL);
	return reply("ok");
}

/* ---- fds, seccomp ---- */

static int *fill_fds;
static size_t nfill;

static int cmd_fill(void)
{
	for (;;) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE)
				break;
			return reply("err open: %s", strerror(errno));
		}
		int *p = realloc(fill_fds, (nfill + 1) * sizeof(*p));
		if (!p)
			return reply("err out of memory");
		fill_fds = p;
		fill_fds[nfill++] = fd;
	}
	return reply("ok %zu", nfill);
}

static int cmd_unfill(void)
{
	size_t n = nfill;
	while (nfill)
		close(fill_fds[--nfill]);
	return reply("ok %zu", n);
}

static int cmd_tryuffd(char **av, int ac)
{
	int flags = O_CLOEXEC | UFFD_USER_MODE_ONLY;

	if (ac == 2 && strcmp(av[1], "kernel") == 0)
		flags = O_CLOEXEC;
	else if (ac != 1)
		return reply("err usage: tryuffd [kernel]");
	errno = 0;
	long r = syscall(SYS_userfaultfd, flags);
	int e = errno;
	if (r >= 0 && r != SYS_userfaultfd)
		close((int)r);
	return reply("ok %ld %d", r, e);
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	sigsys_calls++;
}

static int install_seccomp(const char *mode)
{
	uint32_t action;

	if (strcmp(mode, "errno") == 0)
		action = SECCOMP_RET_ERRNO | EPERM;
	else if (strcmp(mode, "trap") == 0)
		action = SECCOMP_RET_TRAP;
	else if (strcmp(mode, "kill") == 0)
		action = SECCOMP_RET_KILL_PROCESS;
	else
		return -1;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* ---- command loop ---- */

static int dispatch(char *line)
{
	char *av[8];
	int ac = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t && ac < 8; t = strtok_r(NULL, " \t", &save))
		av[ac++] = t;
	if (ac == 0)
		return reply("err empty command");
	const char *c = av[0];
	if (!strcmp(c, "map"))
		return cmd_map(av, ac);
	if (!strcmp(c, "write"))
		return cmd_write(av, ac);
	if (!strcmp(c, "mapwrite"))
		return cmd_mapwrite(av, ac);
	if (!strcmp(c, "twrite"))
		return cmd_twrite(av, ac);
	if (!strcmp(c, "read"))
		return cmd_read(av, ac);
	if (!strcmp(c, "check"))
		return cmd_check(av, ac);
	if (!strcmp(c, "mark"))
		return cmd_mark();
	if (!strcmp(c, "truth"))
		return cmd_truth(av, ac, false);
	if (!strcmp(c, "ever"))
		return cmd_truth(av, ac, true);
	if (!strcmp(c, "unmap"))
		return cmd_unmap(av, ac);
	if (!strcmp(c, "protect"))
		return cmd_protect(av, ac);
	if (!strcmp(c, "mremap"))
		return cmd_mremap(av, ac);
	if (!strcmp(c, "fork"))
		return cmd_fork(av, ac);
	if (!strcmp(c, "reap"))
		return cmd_reap();
	if (!strcmp(c, "exec"))
		return cmd_exec();
	if (!strcmp(c, "vfork"))
		return cmd_vfork(av, ac);
	if (!strcmp(c, "uffdmiss"))
		return cmd_uffdmiss(av, ac);
	if (!strcmp(c, "uffdreg"))
		return cmd_uffdreg(av, ac);
	if (!strcmp(c, "utouch"))
		return cmd_utouch(av, ac);
	if (!strcmp(c, "wpasync"))
		return cmd_wpasync(av, ac);
	if (!strcmp(c, "wpcheck"))
		return cmd_wpcheck(av, ac);
	if (!strcmp(c, "churn"))
		return cmd_churn(av, ac);
	if (!strcmp(c, "fill"))
		return cmd_fill();
	if (!strcmp(c, "unfill"))
		return cmd_unfill();
	if (!strcmp(c, "tryuffd"))
		return cmd_tryuffd(av, ac);
	if (!strcmp(c, "sigsys"))
		return reply("ok %d", (int)sigsys_calls);
	if (!strcmp(c, "exit")) {
		uint64_t code;
		if (ac != 2 || parse_u64(av[1], 255, &code))
			return reply("err usage: exit CODE");
		reply("ok");
		exit((int)code);
	}
	return reply("err unknown command %s", c);
}

static const char *serve_sec; /* -S: the serving thread's own filter */

static void *serve(void *arg)
{
	char buf[LINE];
	size_t have = 0;
	(void)arg;

	if (serve_sec && install_seccomp(serve_sec)) {
		fprintf(stderr, "cannot install the thread's seccomp filter (%s): %s\n", serve_sec, strerror(errno));
		exit(120);
	}

	for (;;) {
		char *nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = 0;
			size_t used = (size_t)(nl - buf) + 1;
			char line[LINE];
			memcpy(line, buf, used);
			memmove(buf, buf + used, have - used);
			have -= used;
			dispatch(line);
			continue;
		}
		if (have == sizeof(buf)) {
			reply("err line too long");
			have = 0;
		}
		ssize_t r = read(cmd_fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			exit(3);
		have += (size_t)r;
	}
	return NULL;
}

static int open_chan(const char *spec, int flags)
{
	uint64_t fd;

	if (strncmp(spec, "fd:", 3) == 0)
		return parse_u64(spec + 3, INT_MAX, &fd) ? -1 : (int)fd;
	return open(spec, flags | O_CLOEXEC);
}

static void usage(void)
{
	fprintf(stderr, "usage: shape_target [-t N] [-z] [-s errno|trap|kill] CMD REPLY\n");
	exit(120);
}

int main(int argc, char **argv)
{
	uint64_t nthreads = 0;
	bool zombie = false;
	const char *sec = NULL;
	int opt;

	saved_argv = argv;
	while ((opt = getopt(argc, argv, "t:zs:S:")) != -1) {
		switch (opt) {
		case 't':
			if (parse_u64(optarg, MAX_THREADS, &nthreads) || nthreads == 0)
				usage();
			break;
		case 'z':
			zombie = true;
			break;
		case 's':
			sec = optarg;
			break;
		case 'S':
			serve_sec = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		perror("sigaction");
		return 120;
	}
	/* Re-executed: the seccomp filter survived the exec. */
	bool execed = getenv("SHAPE_TARGET_EXECED") != NULL;
	if (sec && !execed && install_seccomp(sec)) {
		fprintf(stderr, "cannot install the seccomp filter (%s): %s\n", sec, strerror(errno));
		return 120;
	}
	cmd_fd = open_chan(argv[optind], O_RDWR);
	reply_fd = open_chan(argv[optind + 1], O_RDWR);
	if (cmd_fd < 0 || reply_fd < 0) {
		fprintf(stderr, "cannot open the command channels: %s\n", strerror(errno));
		return 120;
	}
	if (execed) {
		unsetenv("SHAPE_TARGET_EXECED");
		reply("ok exec %d", (int)getpid());
	}
	nworkers = (int)nthreads;
	for (int i = 0; i < nworkers; i++) {
		pthread_t th;
		if (pthread_create(&th, NULL, worker, (void *)(intptr_t)i)) {
			fprintf(stderr, "pthread_create failed\n");
			return 120;
		}
	}
	if (zombie) {
		pthread_t th;
		if (pthread_create(&th, NULL, serve, NULL)) {
			fprintf(stderr, "pthread_create failed\n");
			return 120;
		}
		pthread_exit(NULL);
	}
	serve(NULL);
	return 0;
}
