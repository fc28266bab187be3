/* SPDX-License-Identifier: MIT */
/* Benchmark 2's workload: writes over a populated mapping as fast as it can
 * and measures its own throughput, with or without an in-process tracker.
 *
 *   bench_work rand|seq|hot|memcpy SIZE
 *
 * rand: one 8-byte store to a random page per operation; seq: one store per
 * page, sweeping the mapping in order; hot: 90 % of the stores to the first
 * 10 % of the pages, 10 % to the rest; memcpy: 64 KiB copies to random
 * 64 KiB-aligned places. Throughput is pages/s (MiB/s for memcpy).
 *
 * The main thread runs the workload from "ready" on; a sampler thread keeps
 * the worst 100 ms slice; a control thread reads commands on stdin and
 * answers one line each on stdout:
 *   mark              -> "mark UNITS NS CPUNS MIN": work done so far (pages,
 *                        or MiB for memcpy), the time, the workload thread's
 *                        CPU time (its write faults included), and the worst
 *                        100 ms rate since the previous mark
 *   markh N           -> the same, taken by the tracker thread right after
 *                        its N-th harvest from now (windows aligned on
 *                        harvests, as the driver does with pagescan's records)
 *   track uffd NS     -> start the in-process userfaultfd tracker (WP_ASYNC +
 *                        PAGEMAP_SCAN get-and-clear every NS from a thread of
 *                        this process: the floor pagescan can reach); "ok"
 *                        once the mapping is armed
 *   track mprot NS    -> start the mprotect+SIGSEGV tracker (write-protect
 *                        everything every NS, unprotect page by page on
 *                        fault: the user-space alternative); "ok"
 *   untrack           -> stop it; "ok HARVESTS PAGES FALLBACKS"
 *   q                 -> exit
 */
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "bench_common.h"

#define BLOCK (64u << 10)

static char *buf;
static uint64_t size, npages;
static _Atomic uint64_t g_ops; /* operations done, published every 256 */
static enum { W_RAND, W_SEQ, W_HOT, W_MEMCPY } wl;

static inline uint64_t rng(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void __attribute__((noreturn)) workload(void)
{
	static char src[BLOCK];
	uint64_t s = 0x9e3779b97f4a7c15ull, ops = 0, idx = 0;
	uint64_t hot = npages / 10, nblocks = size / BLOCK;
	memset(src, 7, sizeof(src));
	for (;;) {
		for (int i = 0; i < 256; i++) {
			uint64_t r = rng(&s);
			switch (wl) {
			case W_RAND:
				idx = r % npages;
				break;
			case W_SEQ:
				idx = idx + 1 < npages ? idx + 1 : 0;
				break;
			case W_HOT:
				/* 58982/65536 = 90 % */
				idx = (r & 0xffff) < 58982 ? (r >> 16) % hot : hot + (r >> 16) % (npages - hot);
				break;
			case W_MEMCPY:
				memcpy(buf + (r % nblocks) * BLOCK, src, BLOCK);
				continue;
			}
			*(volatile uint64_t *)(buf + (idx << BPAGE_SHIFT) + ((r >> 40) & 0xff8)) = ops + (uint64_t)i;
		}
		ops += 256;
		atomic_store_explicit(&g_ops, ops, memory_order_relaxed);
	}
}

/* ---- snapshots --------------------------------------------------------------- */

static clockid_t main_clock;

static double units_per_op(void)
{
	return wl == W_MEMCPY ? (double)BLOCK / (1 << 20) : 1.0; /* MiB or pages */
}

/* CPU time of the workload thread (user + system: its faults included). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(main_clock, &ts) < 0)
		die("clock_gettime: %s", strerror(errno));
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct snap {
	double units;
	uint64_t t, cpu;
};

static struct snap snap_now(void)
{
	return (struct snap){ .units = (double)atomic_load(&g_ops) * units_per_op(), .t = now_ns(), .cpu = thread_cpu_ns() };
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t harvested = PTHREAD_COND_INITIALIZER;
static struct snap hsnap;       /* right after the last harvest */
static uint64_t hcount;         /* harvests so far */
static double minrate = -1;     /* worst 100 ms since the last mark */

static void *sampler(void *arg)
{
	(void)arg;
	struct snap a = snap_now();
	for (;;) {
		sleep_ns(100000000ull);
		struct snap b = snap_now();
		double r = (b.units - a.units) / ((double)(b.t - a.t) / 1e9);
		pthread_mutex_lock(&mu);
		if (minrate < 0 || r < minrate)
			minrate = r;
		pthread_mutex_unlock(&mu);
		a = b;
	}
	return NULL;
}

/* ---- in-process userfaultfd tracker ---------------------------------------- */

struct tracker {
	int kind;             /* 1 uffd, 2 mprot */
	uint64_t interval_ns;
	int stopfd;           /* eventfd */
	pthread_t th;
	int uffd, pagemap;
	uint64_t harvests, pages;
	struct page_region *regions; /* the collected set, as a tracker keeps it */
	size_t nregions, cap;
};
static struct tracker tr;

static void scan_self(uint64_t flags, bool collect)
{
	static struct page_region vec[512];
	uint64_t start = (uintptr_t)buf, end = start + size;
	if (collect)
		tr.nregions = 0;
	while (start < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .flags = flags, .start = start, .end = end,
			.vec = (uintptr_t)vec, .vec_len = 512,
			.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
		};
		int n = ioctl(tr.pagemap, PAGEMAP_SCAN, &a);
		if (n < 0)
			die("PAGEMAP_SCAN: %s", strerror(errno));
		for (int i = 0; collect && i < n; i++) {
			if (tr.nregions == tr.cap) {
				tr.cap = tr.cap ? tr.cap * 2 : 4096;
				tr.regions = realloc(tr.regions, tr.cap * sizeof(*tr.regions));
				if (!tr.regions)
					die("out of memory");
			}
			tr.regions[tr.nregions++] = vec[i];
			tr.pages += (vec[i].end - vec[i].start) >> BPAGE_SHIFT;
		}
		if (n < 512)
			break;
		start = a.walk_end;
	}
}

static void uffd_start(void)
{
	tr.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (tr.uffd < 0)
		die("userfaultfd: %s", strerror(errno));
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(tr.uffd, UFFDIO_API, &api) < 0)
		die("UFFDIO_API: %s", strerror(errno));
	struct uffdio_register reg = { .range = { .start = (uintptr_t)buf, .len = size }, .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(tr.uffd, UFFDIO_REGISTER, &reg) < 0)
		die("UFFDIO_REGISTER: %s", strerror(errno));
	tr.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (tr.pagemap < 0)
		die("open pagemap: %s", strerror(errno));
	scan_self(PM_SCAN_WP_MATCHING, false); /* arm: protect everything */
}

static void uffd_stop(void)
{
	close(tr.uffd); /* the kernel removes every protection */
	close(tr.pagemap);
}

/* ---- mprotect + SIGSEGV tracker -------------------------------------------- */

static _Atomic uint64_t *bitmap;
static _Atomic uint64_t fallbacks;
static struct sigaction old_segv;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr, b = (uintptr_t)buf;
	if (a < b || a >= b + size) {
		sigaction(sig, &old_segv, NULL); /* not ours: fault again, fatally */
		return;
	}
	uint64_t i = (a - b) >> BPAGE_SHIFT;
	atomic_fetch_or(&bitmap[i / 64], 1ull << (i % 64));
	if (mprotect(buf + (i << BPAGE_SHIFT), BPAGE, PROT_READ | PROT_WRITE) == 0)
		return;
	/* Out of VMAs (vm.max_map_count): fall back to 2 MiB granularity,
	 * counting every page of the chunk as written. */
	atomic_fetch_add(&fallbacks, 1);
	uint64_t c = i & ~511ull, n = c + 512 <= npages ? 512 : npages - c;
	for (uint64_t k = c; k < c + n; k++)
		atomic_fetch_or(&bitmap[k / 64], 1ull << (k % 64));
	if (mprotect(buf + (c << BPAGE_SHIFT), n << BPAGE_SHIFT, PROT_READ | PROT_WRITE) < 0)
		mprotect(buf, size, PROT_READ | PROT_WRITE);
}

static void mprot_harvest(void)
{
	/* Protect first, then collect: a write after the protect faults and
	 * lands in the next round (or this one); none is lost before. */
	if (mprotect(buf, size, PROT_READ) < 0)
		die("mprotect: %s", strerror(errno));
	for (uint64_t w = 0; w < (npages + 63) / 64; w++) {
		uint64_t v = atomic_exchange(&bitmap[w], 0);
		tr.pages += (uint64_t)__builtin_popcountll(v);
	}
}

/* The handler and the bitmap stay for the whole life of the process: a
 * fault raised just before the tracker stopped may be handled after. */
static void mprot_init(void)
{
	bitmap = calloc((npages + 63) / 64, sizeof(*bitmap));
	if (!bitmap)
		die("out of memory");
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv) < 0)
		die("sigaction: %s", strerror(errno));
}

static void mprot_start(void)
{
	for (uint64_t w = 0; w < (npages + 63) / 64; w++)
		atomic_store(&bitmap[w], 0);
	if (mprotect(buf, size, PROT_READ) < 0)
		die("mprotect: %s", strerror(errno));
}

static void mprot_stop(void)
{
	if (mprotect(buf, size, PROT_READ | PROT_WRITE) < 0)
		die("mprotect: %s", strerror(errno));
}

static void tracker_tick(void *arg)
{
	(void)arg;
	if (tr.kind == 1)
		scan_self(PM_SCAN_WP_MATCHING, true);
	else
		mprot_harvest();
	tr.harvests++;
	struct snap sn = snap_now();
	pthread_mutex_lock(&mu);
	hsnap = sn;
	hcount++;
	pthread_cond_broadcast(&harvested);
	pthread_mutex_unlock(&mu);
}

static void *tracker_thread(void *arg)
{
	(void)arg;
	every_until(tr.stopfd, tr.interval_ns, tracker_tick, NULL);
	return NULL;
}

static void track(int kind, uint64_t interval_ns)
{
	if (tr.kind)
		die("already tracking");
	tr.kind = kind;
	tr.interval_ns = interval_ns;
	tr.harvests = tr.pages = 0;
	atomic_store(&fallbacks, 0);
	tr.stopfd = eventfd(0, EFD_CLOEXEC);
	if (tr.stopfd < 0)
		die("eventfd: %s", strerror(errno));
	if (kind == 1)
		uffd_start();
	else
		mprot_start();
	if (pthread_create(&tr.th, NULL, tracker_thread, NULL))
		die("pthread_create failed");
}

static void untrack(void)
{
	uint64_t one = 1;
	if (!tr.kind)
		die("not tracking");
	if (write(tr.stopfd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write: %s", strerror(errno));
	pthread_join(tr.th, NULL);
	close(tr.stopfd);
	if (tr.kind == 1)
		uffd_stop();
	else
		mprot_stop();
	tr.kind = 0;
}

/* ---- control ----------------------------------------------------------------- */

static void reply_mark(struct snap sn, char *out, size_t n)
{
	pthread_mutex_lock(&mu);
	double m = minrate;
	minrate = -1;
	pthread_mutex_unlock(&mu);
	snprintf(out, n, "mark %.17g %" PRIu64 " %" PRIu64 " %.6g\n", sn.units, sn.t, sn.cpu, m);
}

static void *control(void *arg)
{
	(void)arg;
	FILE *in = fdopen(STDIN_FILENO, "r");
	char line[256], out[256];
	if (!in)
		die("fdopen failed");
	while (fgets(line, sizeof(line), in)) {
		char kind[16];
		unsigned long long v;
		if (strcmp(line, "mark\n") == 0) {
			reply_mark(snap_now(), out, sizeof(out));
		} else if (sscanf(line, "markh %llu", &v) == 1) {
			if (!tr.kind)
				die("markh without a tracker");
			pthread_mutex_lock(&mu);
			uint64_t target = hcount + v;
			while (hcount < target)
				pthread_cond_wait(&harvested, &mu);
			struct snap sn = hsnap;
			pthread_mutex_unlock(&mu);
			reply_mark(sn, out, sizeof(out));
		} else if (sscanf(line, "track %15s %llu", kind, &v) == 2) {
			if (strcmp(kind, "uffd") == 0)
				track(1, v);
			else if (strcmp(kind, "mprot") == 0)
				track(2, v);
			else
				die("unknown tracker %s", kind);
			snprintf(out, sizeof(out), "ok\n");
		} else if (strncmp(line, "untrack", 7) == 0) {
			untrack();
			snprintf(out, sizeof(out), "ok %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", tr.harvests, tr.pages,
			         atomic_load(&fallbacks));
		} else if (strncmp(line, "q", 1) == 0) {
			break;
		} else {
			die("unknown command: %s", line);
		}
		put(STDOUT_FILENO, out);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc != 3)
		die("usage: bench_work rand|seq|hot|memcpy SIZE");
	if (strcmp(argv[1], "rand") == 0)
		wl = W_RAND;
	else if (strcmp(argv[1], "seq") == 0)
		wl = W_SEQ;
	else if (strcmp(argv[1], "hot") == 0)
		wl = W_HOT;
	else if (strcmp(argv[1], "memcpy") == 0)
		wl = W_MEMCPY;
	else
		die("unknown workload %s", argv[1]);
	size = parse_size(argv[2], "size");
	if (size < BLOCK * 16 || size % BLOCK)
		die("size must be a multiple of 64 KiB, at least 1 MiB");
	npages = size >> BPAGE_SHIFT;
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	madvise(buf, size, MADV_NOHUGEPAGE);
	for (uint64_t i = 0; i < size; i += BPAGE)
		buf[i] = 1;
	mprot_init();
	if (pthread_getcpuclockid(pthread_self(), &main_clock))
		die("pthread_getcpuclockid failed");
	pthread_t th;
	if (pthread_create(&th, NULL, control, NULL) || pthread_create(&th, NULL, sampler, NULL))
		die("pthread_create failed");
	char msg[64];
	snprintf(msg, sizeof(msg), "ready %p\n", (void *)buf);
	put(STDOUT_FILENO, msg);
	workload();
}
