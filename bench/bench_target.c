/* SPDX-License-Identifier: MIT */
/* Benchmark target processes, driven over stdin/stdout by the drivers.
 *
 *   bench_target hold SIZE RUN STRIDE
 *       map SIZE of anonymous memory, write RUN of every STRIDE pages, print
 *       "ready", then wait (blocked in read) until stdin closes.
 *   bench_target writer SIZE PERMILLE RUN [rotate] [thp] [threads=N]
 *       the write set is RUN pages out of every RUN*1000/PERMILLE; each "w"
 *       line writes it (one byte per page) and answers "done PAGES". With
 *       rotate the set moves by RUN pages each time and the whole mapping is
 *       populated first; without, only the set is populated (so a 16 GiB
 *       MAP_NORESERVE mapping costs only what the fraction needs). With
 *       thp the mapping is 2 MiB aligned, MADV_HUGEPAGE and populated whole:
 *       THP-backed memory of which the set is written (the same set each
 *       time unless rotate).
 *   bench_target pattern SIZE random|seq|hot RATE
 *       populate SIZE, print "ready", then write RATE pages per second (one
 *       byte per page, paced every millisecond) until stdin closes: random
 *       pages of the whole mapping (scattered: the worst case for a list of
 *       ranges), a sequential sweep, or random pages of a hot 64 MiB.
 *   bench_target spin SIZE
 *       populate SIZE, then the main thread spins writing one random page
 *       and reading clock_gettime per turn, and
 *       logs every gap between two readings longer than 5 us, by cause
 *       (from its context-switch counts): it slept (a ptrace stop, a lock)
 *       or was only preempted. Control thread: "g T0 T1" (CLOCK_MONOTONIC
 *       ns) answers "gap SLEPT_NS PREEMPTED_NS", the longest gaps of each
 *       kind that overlap [T0, T1].
 *   bench_target mapper SIZE
 *       populate SIZE, then a thread maps, touches and unmaps 1 MiB
 *       in a loop (a runtime's allocation path) and logs each mmap+munmap
 *       pair's time, the touching left out. The main thread: "m T0 T1"
 *       answers "pair LONGEST_NS BLOCKED_NS COUNT": the longest pair that
 *       overlaps [T0, T1], the longest time the thread spent blocked
 *       inside the mmap and munmap of one of them (waiting for the mmap
 *       lock), and how many there were.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "bench_common.h"

static char *map_anon(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %" PRIu64 " bytes: %s", size, strerror(errno));
	/* Deterministic 4 KiB pages whatever the THP setting. */
	madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

/* SIZE of anonymous memory backed by transparent huge pages: aligned to
 * 2 MiB, MADV_HUGEPAGE (THP "madvise" mode is enough), every page stored to
 * (the first store of each 2 MiB allocates its huge page). */
static char *map_thp(uint64_t size)
{
	const uint64_t pmd = 2ull << 20;
	char *raw = mmap(NULL, size + pmd, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap %" PRIu64 " bytes: %s", size, strerror(errno));
	char *p = (char *)(((uintptr_t)raw + pmd - 1) & ~(uintptr_t)(pmd - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (p + size < raw + size + pmd)
		munmap(p + size, (size_t)(raw + size + pmd - (p + size)));
	if (madvise(p, size, MADV_HUGEPAGE) < 0)
		die("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	return p;
}

/* map_anon(), every page stored to once. */
static char *map_populated(uint64_t size)
{
	char *p = map_anon(size);
	for (uint64_t i = 0; i < size; i += BPAGE)
		p[i] = 1;
	return p;
}

/* Read one command line from stdin; false at EOF. */
static bool read_cmd(char *buf, size_t n)
{
	size_t len = 0;
	while (len + 1 < n) {
		ssize_t r = read(STDIN_FILENO, buf + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = 0;
	return true;
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	char b[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	put(STDOUT_FILENO, b);
}

/* ---- hold ------------------------------------------------------------------ */

static int do_hold(int argc, char **argv)
{
	if (argc != 3)
		die("usage: bench_target hold SIZE RUN STRIDE");
	uint64_t size = parse_size(argv[0], "size");
	uint64_t run = parse_u64(argv[1], 1, 1u << 20, "run");
	uint64_t stride = parse_u64(argv[2], run, 1u << 20, "stride");
	char *p = map_anon(size);
	uint64_t pages = size >> BPAGE_SHIFT;
	for (uint64_t i = 0; i < pages; i++)
		if (i % stride < run)
			p[i << BPAGE_SHIFT] = 1;
	reply("ready %p\n", (void *)p);
	char c;
	while (read(STDIN_FILENO, &c, 1) > 0 || errno == EINTR)
		;
	return 0;
}

/* ---- writer ---------------------------------------------------------------- */

struct wjob {
	char *p;
	uint64_t from, to;   /* pages */
	uint64_t block, run, off;
	char val;
	uint64_t written;
};

static void write_set(struct wjob *j)
{
	uint64_t n = 0;
	for (uint64_t i = j->from; i < j->to; i++) {
		uint64_t pos = (i + j->block - j->off % j->block) % j->block;
		if (pos < j->run) {
			j->p[i << BPAGE_SHIFT] = j->val;
			n++;
		}
	}
	j->written = n;
}

/* Persistent helper threads: creating threads per write set would make
 * glibc MADV_DONTNEED the cached thread stacks, which the kernel reports as
 * written (zapped anonymous pages read "written"). */
static struct wjob jobs[16];
static unsigned nthreads = 1;
static pthread_barrier_t start_bar, done_bar;

static void *helper(void *arg)
{
	struct wjob *j = arg;
	for (;;) {
		pthread_barrier_wait(&start_bar);
		write_set(j);
		pthread_barrier_wait(&done_bar);
	}
	return NULL;
}

static void start_helpers(void)
{
	if (pthread_barrier_init(&start_bar, NULL, nthreads) || pthread_barrier_init(&done_bar, NULL, nthreads))
		die("pthread_barrier_init failed");
	for (unsigned t = 1; t < nthreads; t++) {
		pthread_t th;
		if (pthread_create(&th, NULL, helper, &jobs[t]))
			die("pthread_create failed");
	}
}

static uint64_t write_parallel(char *p, uint64_t pages, uint64_t block, uint64_t run, uint64_t off, char val)
{
	uint64_t per = (pages + nthreads - 1) / nthreads, total = 0;
	for (unsigned t = 0; t < nthreads; t++) {
		uint64_t a = per * t < pages ? per * t : pages, b = a + per < pages ? a + per : pages;
		jobs[t] = (struct wjob){ .p = p, .from = a, .to = b, .block = block, .run = run, .off = off, .val = val };
	}
	pthread_barrier_wait(&start_bar);
	write_set(&jobs[0]);
	pthread_barrier_wait(&done_bar);
	for (unsigned t = 0; t < nthreads; t++)
		total += jobs[t].written;
	return total;
}

static int do_writer(int argc, char **argv)
{
	if (argc < 3)
		die("usage: bench_target writer SIZE PERMILLE RUN [rotate] [thp] [threads=N]");
	uint64_t size = parse_size(argv[0], "size");
	uint64_t permille = parse_u64(argv[1], 0, 1000, "permille");
	uint64_t run = parse_u64(argv[2], 1, 1u << 20, "run");
	bool rotate = false, thp = false;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "rotate") == 0)
			rotate = true;
		else if (strcmp(argv[i], "thp") == 0)
			thp = true;
		else if (strncmp(argv[i], "threads=", 8) == 0)
			nthreads = (unsigned)parse_u64(argv[i] + 8, 1, 16, "threads");
		else
			die("unknown writer option %s", argv[i]);
	}
	start_helpers();
	char *p = thp ? map_thp(size) : map_anon(size);
	uint64_t pages = size >> BPAGE_SHIFT;
	uint64_t block = permille ? run * 1000 / permille : 0;
	if (permille && (block < run || run * 1000 % permille))
		die("RUN*1000 must be a multiple of PERMILLE");
	/* Populate what will be written, so the measured intervals see write
	 * faults on tracked pages, not first-touch allocation. */
	if (rotate || thp)
		write_parallel(p, pages, 1, 1, 0, 1);
	else if (permille)
		write_parallel(p, pages, block, run, 0, 1);
	reply("ready %p\n", (void *)p);

	char cmd[64];
	uint64_t k = 0;
	while (read_cmd(cmd, sizeof(cmd))) {
		if (strcmp(cmd, "q") == 0)
			break;
		if (strcmp(cmd, "w") != 0)
			die("writer: unknown command \"%s\"", cmd);
		uint64_t n = 0;
		if (permille) {
			uint64_t off = rotate ? (k * run) % block : 0;
			n = write_parallel(p, pages, block, run, off, (char)(k + 2));
		}
		k++;
		reply("done %" PRIu64 "\n", n);
	}
	return 0;
}

/* ---- pattern ----------------------------------------------------------------- */

static int do_pattern(int argc, char **argv)
{
	if (argc != 3)
		die("usage: bench_target pattern SIZE random|seq|hot RATE");
	uint64_t size = parse_size(argv[0], "size");
	const char *kind = argv[1];
	uint64_t rate = parse_u64(argv[2], 1, 100000000, "rate");
	uint64_t pages = size >> BPAGE_SHIFT, hot = (64u << 20) >> BPAGE_SHIFT;
	if (strcmp(kind, "random") && strcmp(kind, "seq") && strcmp(kind, "hot"))
		die("pattern: unknown kind %s (random, seq or hot)", kind);
	if (hot > pages)
		hot = pages;
	char *p = map_populated(size);
	reply("ready %p\n", (void *)p);

	/* Pace by the clock: the writes due so far, then wait 1 ms for stdin
	 * (its end stops the writer). */
	uint64_t t0 = now_ns(), done = 0, next = 0, x = 0x9e3779b97f4a7c15ull;
	for (;;) {
		uint64_t due = (now_ns() - t0) * rate / 1000000000ull;
		for (; done < due; done++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			uint64_t pg = kind[0] == 'r' ? x % pages : kind[0] == 'h' ? x % hot : next++ % pages;
			p[pg << BPAGE_SHIFT]++;
		}
		struct pollfd pf = { .fd = STDIN_FILENO, .events = POLLIN };
		if (poll(&pf, 1, 1) > 0)
			return 0; /* a line or the end: either way, stop */
	}
}

/* ---- spin ------------------------------------------------------------------ */

/* Every gap longer than 5 us in the spinner's clock readings, with its
 * cause from the thread's own context-switch counts: it slept (voluntary
 * switch: a ptrace stop, a lock) or it was only preempted (involuntary:
 * other load on this machine). Gaps with neither (interrupts) are left out. */
#define NGAPS 4096
struct gap {
	_Atomic uint64_t start, end;
	_Atomic int slept;
};
static struct gap gaps[NGAPS];
static _Atomic uint64_t ngaps, beat;

static void *spin_control(void *arg)
{
	(void)arg;
	char cmd[96];
	while (read_cmd(cmd, sizeof(cmd))) {
		unsigned long long t0, t1;
		if (sscanf(cmd, "g %llu %llu", &t0, &t1) == 2) {
			/* A gap still open (stopped, or not yet running again) is not
			 * logged: wait until the spinner turned once more. */
			uint64_t b = atomic_load(&beat);
			while (atomic_load(&beat) == b)
				sched_yield();
			uint64_t n = atomic_load(&ngaps), ms = 0, mp = 0;
			for (uint64_t i = n > NGAPS ? n - NGAPS : 0; i < n; i++) {
				struct gap *g = &gaps[i % NGAPS];
				uint64_t s = atomic_load(&g->start), e = atomic_load(&g->end);
				if (e < t0 || s > t1)
					continue; /* no overlap with the window */
				if (atomic_load(&g->slept))
					ms = e - s > ms ? e - s : ms;
				else
					mp = e - s > mp ? e - s : mp;
			}
			reply("gap %" PRIu64 " %" PRIu64 "\n", ms, mp);
		} else {
			die("spin: unknown command \"%s\"", cmd);
		}
	}
	_exit(0);
}

static void switches(long *vol, long *invol)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	*vol = ru.ru_nvcsw;
	*invol = ru.ru_nivcsw;
}

static int do_spin(int argc, char **argv)
{
	if (argc != 1)
		die("usage: bench_target spin SIZE");
	uint64_t size = parse_size(argv[0], "size");
	char *p = map_populated(size);
	pthread_t th;
	if (pthread_create(&th, NULL, spin_control, NULL))
		die("pthread_create failed");
	reply("ready %p\n", (void *)p);
	long vol, invol;
	switches(&vol, &invol);
	uint64_t prev = now_ns(), n = 0, x = 0x9e3779b97f4a7c15ull, npages = size / BPAGE;
	for (;;) {
		/* One write to a random page per turn: after each harvest the
		 * spinner takes write faults, so it also waits for anything that
		 * holds its address space's locks (the release, a harvest). */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[(x % npages) * BPAGE]++;
		uint64_t t = now_ns(), d = t - prev;
		/* Only gaps longer than a system call need classifying. The time
		 * spent in getrusage() counts in the next gap: a stop that lands
		 * in it is measured there (its switch is counted by then). */
		if (d > 5000) {
			long v, i;
			switches(&v, &i);
			if (v != vol || i != invol) {
				struct gap *g = &gaps[atomic_load_explicit(&ngaps, memory_order_relaxed) % NGAPS];
				atomic_store(&g->start, prev);
				atomic_store(&g->end, t);
				atomic_store(&g->slept, v != vol);
				atomic_fetch_add(&ngaps, 1);
			}
			vol = v;
			invol = i;
		}
		prev = t;
		atomic_store_explicit(&beat, ++n, memory_order_relaxed);
	}
}

/* ---- mapper ---------------------------------------------------------------- */

/* mmap and munmap take the address space's lock for writing, so they wait
 * for whatever holds it for reading: a PAGEMAP_SCAN call walks under it. */
#define NPAIRS 65536 /* several seconds of pairs */
#define MAPPER_CHUNK (1u << 20)
struct pair {
	_Atomic uint64_t start, end, ns, blocked;
};

/* The calling thread's time on a CPU and waiting for one (ns). The first
 * from its CPU clock, which the kernel brings up to date when read; the
 * schedstat file's own figure lags by up to a tick while the thread runs.
 * The second from /proc/thread-self/schedstat, whose wait is complete for
 * a thread that is running. */
static void sched_times(int fd, uint64_t *oncpu, uint64_t *runnable)
{
	char b[96];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	unsigned long long c = 0, r = 0;
	if (n <= 0)
		die("mapper: read /proc/thread-self/schedstat: %s", n < 0 ? strerror(errno) : "empty");
	b[n] = '\0';
	if (sscanf(b, "%llu %llu", &c, &r) != 2)
		die("mapper: unexpected schedstat \"%s\"", b);
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	*oncpu = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	*runnable = r;
}

/* Of a call that took WALL ns, the time the thread was blocked: neither on
 * a CPU nor waiting for one. A wait for the mmap lock is this; a preemption
 * and the hypervisor's own stalls (time the guest counts as on a CPU) are not. */
static uint64_t blocked_ns(uint64_t wall, uint64_t c0, uint64_t r0, uint64_t c1, uint64_t r1)
{
	uint64_t busy = (c1 - c0) + (r1 - r0);
	return wall > busy ? wall - busy : 0;
}
static struct pair pairs[NPAIRS];
static _Atomic uint64_t npairs;

/* The pairs in a thread of their own: injected system calls stop the
 * thread-group leader (docs/remote-syscalls.md#choosing-the-thread), which
 * answers the commands, so a stop for an injection is not counted as a
 * wait for the lock. */
static void *mapper_loop(void *arg)
{
	(void)arg;
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("mapper: open /proc/thread-self/schedstat: %s", strerror(errno));
	for (;;) {
		uint64_t c0, r0, c1, r1, c2, r2, c3, r3;
		sched_times(fd, &c0, &r0);
		uint64_t t0 = now_ns();
		char *m = mmap(NULL, MAPPER_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t t1 = now_ns();
		sched_times(fd, &c1, &r1);
		if (m == MAP_FAILED)
			die("mapper: mmap: %s", strerror(errno));
		for (uint64_t i = 0; i < MAPPER_CHUNK; i += BPAGE)
			m[i] = 1;
		sched_times(fd, &c2, &r2);
		uint64_t t2 = now_ns();
		munmap(m, MAPPER_CHUNK);
		uint64_t t3 = now_ns();
		sched_times(fd, &c3, &r3);
		/* Blocked inside mmap or munmap (a wait for the lock), not in the
		 * touching between them. The schedstat reads bracket the timed
		 * calls: their own microseconds count as busy, so a blocked time
		 * is never overstated. */
		struct pair *q = &pairs[atomic_load_explicit(&npairs, memory_order_relaxed) % NPAIRS];
		atomic_store(&q->start, t0);
		atomic_store(&q->end, t3);
		atomic_store(&q->ns, (t1 - t0) + (t3 - t2));
		atomic_store(&q->blocked, blocked_ns(t1 - t0, c0, r0, c1, r1) + blocked_ns(t3 - t2, c2, r2, c3, r3));
		atomic_fetch_add(&npairs, 1);
	}
	return NULL;
}

static int do_mapper(int argc, char **argv)
{
	if (argc != 1)
		die("usage: bench_target mapper SIZE");
	uint64_t size = parse_size(argv[0], "size");
	char *p = map_populated(size);
	pthread_t th;
	if (pthread_create(&th, NULL, mapper_loop, NULL))
		die("pthread_create failed");
	reply("ready %p\n", (void *)p);
	char cmd[96];
	while (read_cmd(cmd, sizeof(cmd))) {
		unsigned long long t0, t1;
		if (sscanf(cmd, "m %llu %llu", &t0, &t1) != 2)
			die("mapper: unknown command \"%s\"", cmd);
		/* A pair still waiting is not logged yet: wait for the next one. */
		uint64_t n0 = atomic_load(&npairs);
		while (atomic_load(&npairs) == n0)
			sched_yield();
		uint64_t n = atomic_load(&npairs), longest = 0, blocked = 0, count = 0;
		for (uint64_t i = n > NPAIRS ? n - NPAIRS : 0; i < n; i++) {
			struct pair *q = &pairs[i % NPAIRS];
			uint64_t s = atomic_load(&q->start), e = atomic_load(&q->end), ns = atomic_load(&q->ns);
			if (e < t0 || s > t1)
				continue;
			count++;
			uint64_t b = atomic_load(&q->blocked);
			longest = ns > longest ? ns : longest;
			blocked = b > blocked ? b : blocked;
		}
		reply("pair %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", longest, blocked, count);
	}
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		die("usage: bench_target hold|writer|pattern|spin|mapper ARGS...");
	if (strcmp(argv[1], "hold") == 0)
		return do_hold(argc - 2, argv + 2);
	if (strcmp(argv[1], "writer") == 0)
		return do_writer(argc - 2, argv + 2);
	if (strcmp(argv[1], "pattern") == 0)
		return do_pattern(argc - 2, argv + 2);
	if (strcmp(argv[1], "spin") == 0)
		return do_spin(argc - 2, argv + 2);
	if (strcmp(argv[1], "mapper") == 0)
		return do_mapper(argc - 2, argv + 2);
	die("unknown mode %s", argv[1]);
}
