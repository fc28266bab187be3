/* SPDX-License-Identifier: MIT */
/* Benchmark "forkrun": what `pagescan run` costs a workload of several
 * processes (it follows every fork), against the same workload tracked by
 * one in-process tracker per process (the same kernel mechanism: each
 * process, right after fork, makes its own userfaultfd with WP_ASYNC and a
 * thread that harvests it with PAGEMAP_SCAN get-and-protect every interval).
 *
 *   bench_forkrun --bin DIR --pagescan PATH --case fork|churn|signals
 *                 --procs K --size SIZE --seconds D --rounds N
 *                 [--writes W] [--modes none,run:1s,runoff:100ms,inproc:1s,...]
 *
 * Cases (the workload is this program, `bench_forkrun work ...`):
 *   fork     a parent maps and populates SIZE of private memory, forks K
 *            children; each copies every page (copy-on-write), then, all at
 *            once, writes 8 bytes to random pages of its copy for D seconds
 *            and reports its write count through a pipe.
 *   churn    like make -jK: the parent keeps K short-lived children running
 *            for D seconds, a new one as soon as one exits; each writes W
 *            random pages of the SIZE it inherited (copy-on-write) and exits.
 *   signals  one process, two threads exchanging signals (ping-pong: the
 *            main thread sends SIGUSR1 to the other, whose handler sends
 *            SIGUSR2 back) for D seconds: under `run` every signal to a
 *            traced thread is a ptrace stop that pagescan must resume.
 *
 * Modes, each a whole run of the workload, interleaved round by round in a
 * rotating order: none (untracked); run:I (`pagescan run -q -i I`, the
 * default --max-overhead budget); runoff:I (the same, `--max-overhead off`:
 * fixed intervals, like for like with the in-process trackers); inproc:I
 * (an in-process tracker per process, every writable private mapping of the
 * process registered, as pagescan does, and a final harvest before a child
 * exits, as pagescan's at its exit stop).
 *
 * Raw rows (bench,case,metric,unit,round,value) on stdout: <mode>
 * (throughput: writes/s for fork and churn, round trips/s for signals),
 * <mode>_percpu (per CPU-second of the writing threads; fork only),
 * <mode>_rel and <mode>_percpu_rel (per round, / none), run_vs_inproc_<I>,
 * runoff_vs_inproc_<I> (per round, pagescan run / in-process at the same
 * interval), <mode>_pagescan_cpu (pagescan's CPU, % of one CPU over its
 * life), <mode>_children_s (churn: children completed per second),
 * <mode>_cpu_per_child (churn: the CPU time of everything, the workload,
 * its children and pagescan, per child: immune to other load on the
 * machine) and <kind>_vs_inproc_<I>_cpu_per_child (per round, run over
 * in-process: at most 1 is as cheap), <mode>_fork_us (churn: the
 * parent's mean fork() call, under run its fork stop included). */
#include <getopt.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "bench_common.h"

/* ============================ the workload ================================ */

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

/* ---- in-process tracker: one per process -------------------------------- */

struct ipt {
	bool on;
	int uffd, pm, stopfd;
	pthread_t th;
	uint64_t interval_ns;
	uint64_t (*r)[2];
	size_t nr, cap;
	uint64_t harvests, pages;
};
static struct ipt ipt;

static void ipt_harvest(void)
{
	static struct page_region vec[512];
	for (size_t i = 0; i < ipt.nr; i++)
		ipt.pages += raw_harvest_range(ipt.pm, ipt.r[i][0], ipt.r[i][1], vec, 512);
	ipt.harvests++;
}

static void ipt_tick(void *arg)
{
	(void)arg;
	ipt_harvest();
}

static void *ipt_thread(void *arg)
{
	(void)arg;
	every_until(ipt.stopfd, ipt.interval_ns, ipt_tick, NULL);
	return NULL;
}

/* Track this process: every writable private mapping registered for
 * write-protect (as pagescan engages a process), armed, and a thread that
 * harvests every interval_ns. */
static void ipt_start(uint64_t interval_ns)
{
	ipt.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (ipt.uffd < 0)
		die("userfaultfd: %s", strerror(errno));
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(ipt.uffd, UFFDIO_API, &api) < 0)
		die("UFFDIO_API: %s", strerror(errno));
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		die("/proc/self/maps: %s", strerror(errno));
	char line[512];
	ipt.nr = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) != 3 || perms[1] != 'w' || perms[3] != 'p')
			continue;
		struct uffdio_register reg = { .range = { .start = a, .len = b - a }, .mode = UFFDIO_REGISTER_MODE_WP };
		if (ioctl(ipt.uffd, UFFDIO_REGISTER, &reg) < 0)
			continue; /* not trackable: left out, as pagescan does */
		if (ipt.nr == ipt.cap) {
			ipt.cap = ipt.cap ? ipt.cap * 2 : 64;
			ipt.r = realloc(ipt.r, ipt.cap * sizeof(*ipt.r));
			if (!ipt.r)
				die("out of memory");
		}
		ipt.r[ipt.nr][0] = a;
		ipt.r[ipt.nr][1] = b;
		ipt.nr++;
	}
	fclose(f);
	ipt.pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (ipt.pm < 0)
		die("open pagemap: %s", strerror(errno));
	ipt_harvest(); /* arm: protect every page */
	ipt.harvests = ipt.pages = 0;
	ipt.interval_ns = interval_ns;
	ipt.stopfd = eventfd(0, EFD_CLOEXEC);
	if (ipt.stopfd < 0)
		die("eventfd: %s", strerror(errno));
	if (pthread_create(&ipt.th, NULL, ipt_thread, NULL))
		die("pthread_create failed");
	ipt.on = true;
}

/* Stop the thread and harvest what it has not (a child's last interval). */
static void ipt_finish(void)
{
	uint64_t one = 1;
	if (!ipt.on)
		return;
	if (write(ipt.stopfd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write: %s", strerror(errno));
	pthread_join(ipt.th, NULL);
	ipt_harvest();
}

/* In a new child: the parent's tracker is not ours (its thread did not
 * come along; its pagemap is the parent's). */
static void ipt_forget(void)
{
	if (!ipt.on)
		return;
	close(ipt.uffd);
	close(ipt.pm);
	close(ipt.stopfd);
	ipt.on = false;
}

/* Is [a, a+len) registered for write-protect (VmFlags "uw" in smaps)? */
static bool registered_wp(uintptr_t a)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false, wp = false;
	if (!f)
		die("/proc/self/smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = s <= a && a < e;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			wp = strstr(line, " uw") != NULL;
			break;
		}
	}
	fclose(f);
	return wp;
}

/* ---- the cases ------------------------------------------------------------- */

struct wargs {
	const char *cas;
	uint64_t procs, size, dur_ns, writes, track_ns; /* track_ns 0: no in-process tracker */
	bool expect_tracked;
};

struct result { /* one child's, through a pipe (atomic: < PIPE_BUF) */
	uint64_t writes, elapsed_ns, cpu_ns;
	int32_t bad; /* not tracked when it should have been */
	int32_t pad;
};

static char *region;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_result(int fd, const struct result *r)
{
	while (write(fd, r, sizeof(*r)) < 0)
		if (errno != EINTR)
			die("result pipe: %s", strerror(errno));
}

static bool get_result(int fd, struct result *r)
{
	ssize_t n;
	while ((n = read(fd, r, sizeof(*r))) < 0)
		if (errno != EINTR)
			die("result pipe: %s", strerror(errno));
	if (n != 0 && n != (ssize_t)sizeof(*r))
		die("short result");
	return n == (ssize_t)sizeof(*r);
}

static double self_and_children_cpu_s(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return rusage_cpu_s(&a) + rusage_cpu_s(&b);
}

/* fork: K long-lived writers started together. */
static void __attribute__((noreturn)) work_fork(const struct wargs *w)
{
	uint64_t npages = w->size / BPAGE;
	int ready[2], go[2], res[2];
	make_pipe(ready);
	make_pipe(go);
	make_pipe(res);
	pid_t *kids = calloc(w->procs, sizeof(*kids));
	if (!kids)
		die("out of memory");
	for (uint64_t k = 0; k < w->procs; k++) {
		pid_t p = fork();
		if (p < 0)
			die("fork: %s", strerror(errno));
		if (p) {
			kids[k] = p;
			continue;
		}
		ipt_forget();
		close(ready[0]);
		close(go[1]);
		close(res[0]);
		if (w->track_ns)
			ipt_start(w->track_ns);
		/* Its own copy of every page (copy-on-write), before the window. */
		for (uint64_t i = 0; i < npages; i++)
			region[i * BPAGE] = (char)k;
		struct result r = { 0 };
		if (w->expect_tracked && !registered_wp((uintptr_t)region))
			r.bad = 1;
		char c = 'r', g;
		if (write(ready[1], &c, 1) != 1)
			die("ready pipe: %s", strerror(errno));
		while (read(go[0], &g, 1) < 0 && errno == EINTR)
			;
		uint64_t s = 0x9e3779b97f4a7c15ull ^ (k + 1) * 0x632be59bd9b4e019ull, n = 0;
		uint64_t t0 = now_ns(), c0 = thread_cpu_ns(), t;
		for (;;) {
			for (int i = 0; i < 256; i++) {
				uint64_t x = rng(&s);
				*(volatile uint64_t *)(region + (x % npages) * BPAGE + ((x >> 40) & 0xff8)) = n + (uint64_t)i;
			}
			n += 256;
			if ((t = now_ns()) - t0 >= w->dur_ns)
				break;
		}
		r.writes = n;
		r.elapsed_ns = t - t0;
		r.cpu_ns = thread_cpu_ns() - c0;
		if (w->track_ns)
			ipt_finish();
		put_result(res[1], &r);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	close(res[1]);
	for (uint64_t k = 0; k < w->procs; k++) {
		char c;
		ssize_t n;
		while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			die("a child died before it was ready");
	}
	close(go[1]); /* go: every child reads EOF */
	double rate = 0, writes = 0, cpu = 0;
	int bad = 0;
	struct result r;
	for (uint64_t k = 0; k < w->procs; k++) {
		if (!get_result(res[0], &r))
			die("a child died before its result");
		rate += (double)r.writes / ((double)r.elapsed_ns / 1e9);
		writes += (double)r.writes;
		cpu += (double)r.cpu_ns / 1e9;
		bad += r.bad;
	}
	for (uint64_t k = 0; k < w->procs; k++)
		if (!WIFEXITED(wait_child(kids[k], NULL)))
			die("a child was killed");
	printf("result %.6g %.6g %.6g %" PRIu64 " %d\n", rate, cpu > 0 ? writes / cpu : 0, self_and_children_cpu_s(),
	       w->procs, bad);
	fflush(stdout);
	_exit(0);
}

/* churn: K at a time, a new child as soon as one exits, for D seconds. */
static void __attribute__((noreturn)) work_churn(const struct wargs *w)
{
	uint64_t npages = w->size / BPAGE;
	int res[2];
	make_pipe(res);
	uint64_t t0 = now_ns(), inflight = 0, done = 0, started = 0, fork_ns = 0;
	double writes = 0;
	int bad = 0;
	for (;;) {
		while (inflight < w->procs && now_ns() - t0 < w->dur_ns) {
			uint64_t tf = now_ns();
			pid_t p = fork();
			if (p < 0)
				die("fork: %s", strerror(errno));
			if (p) {
				fork_ns += now_ns() - tf; /* under run: its fork stop too */
				inflight++;
				started++;
				continue;
			}
			ipt_forget();
			close(res[0]);
			if (w->track_ns)
				ipt_start(w->track_ns);
			struct result r = { 0 };
			if (w->expect_tracked && started == 0 && !registered_wp((uintptr_t)region))
				r.bad = 1;
			uint64_t s = 0x9e3779b97f4a7c15ull ^ (started + 1) * 0x632be59bd9b4e019ull;
			uint64_t c0 = thread_cpu_ns(), ta = now_ns();
			for (uint64_t i = 0; i < w->writes; i++) {
				uint64_t x = rng(&s);
				*(volatile uint64_t *)(region + (x % npages) * BPAGE + ((x >> 40) & 0xff8)) = i;
			}
			r.writes = w->writes;
			r.elapsed_ns = now_ns() - ta;
			r.cpu_ns = thread_cpu_ns() - c0;
			if (w->track_ns)
				ipt_finish();
			put_result(res[1], &r);
			_exit(0);
		}
		if (!inflight)
			break;
		int st;
		pid_t p = wait(&st);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			die("wait: %s", strerror(errno));
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("a child failed (status 0x%x)", st);
		inflight--;
		done++;
		struct result r;
		if (!get_result(res[0], &r))
			die("a child exited without its result");
		writes += (double)r.writes;
		bad += r.bad;
	}
	double el = (double)(now_ns() - t0) / 1e9;
	if (w->track_ns)
		ipt_finish();
	printf("result %.6g %.6g %.6g %" PRIu64 " %d %.6g\n", writes / el, (double)done / el, self_and_children_cpu_s(),
	       done, bad, started ? (double)fork_ns / 1e3 / (double)started : 0);
	fflush(stdout);
	_exit(0);
}

/* signals: two threads, SIGUSR1 one way and SIGUSR2 back, for D seconds. */
static pid_t tid_a, tid_b;
static volatile sig_atomic_t pong;

static void on_usr1(int sig)
{
	(void)sig;
	syscall(SYS_tgkill, getpid(), tid_a, SIGUSR2);
}

static void on_usr2(int sig)
{
	(void)sig;
	pong = 1;
}

static void *receiver(void *arg)
{
	(void)arg;
	tid_b = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

static void __attribute__((noreturn)) work_signals(const struct wargs *w)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t usr2, old;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	/* SIGUSR2 is the main thread's only, taken in sigsuspend; the
	 * receiver (made with it blocked) never takes it. */
	pthread_sigmask(SIG_BLOCK, &usr2, &old);
	tid_a = (pid_t)syscall(SYS_gettid);
	pthread_t th;
	if (pthread_create(&th, NULL, receiver, NULL))
		die("pthread_create failed");
	while (!__atomic_load_n(&tid_b, __ATOMIC_ACQUIRE))
		sched_yield();
	/* (Its memory is no matter here: under run it was mapped after the
	 * exec stop and is registered at the next tick.) */
	(void)w->expect_tracked;
	sigset_t wait_mask = old;
	sigdelset(&wait_mask, SIGUSR2);
	uint64_t n = 0, t0 = now_ns(), t = t0;
	for (;;) {
		pong = 0;
		syscall(SYS_tgkill, getpid(), tid_b, SIGUSR1);
		while (!pong)
			sigsuspend(&wait_mask);
		n++;
		if ((n & 15) == 0 && (t = now_ns()) - t0 >= w->dur_ns)
			break;
	}
	printf("result %.6g 0 %.6g 1 0\n", (double)n / ((double)(t - t0) / 1e9), self_and_children_cpu_s());
	fflush(stdout);
	_exit(0);
}

/* bench_forkrun work CASE PROCS SIZE DUR_NS WRITES TRACK_NS EXPECT_TRACKED */
static int work_main(int argc, char **argv)
{
	if (argc != 9)
		die("usage: bench_forkrun work CASE PROCS SIZE DUR_NS WRITES TRACK_NS EXPECT_TRACKED");
	struct wargs w = {
		.cas = argv[2],
		.procs = parse_u64(argv[3], 1, 1000, "procs"),
		.size = parse_size(argv[4], "size"),
		.dur_ns = parse_u64(argv[5], 1, UINT64_MAX, "duration"),
		.writes = parse_u64(argv[6], 1, UINT64_MAX, "writes"),
		.track_ns = parse_u64(argv[7], 0, UINT64_MAX, "interval"),
		.expect_tracked = parse_u64(argv[8], 0, 1, "expect"),
	};
	if (w.size < BPAGE)
		die("size below a page");
	region = mmap(NULL, w.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	madvise(region, w.size, MADV_NOHUGEPAGE);
	for (uint64_t i = 0; i < w.size; i += BPAGE)
		region[i] = 1;
	/* The parent is tracked too (pagescan run tracks the command). */
	if (w.track_ns)
		ipt_start(w.track_ns);
	if (strcmp(w.cas, "fork") == 0)
		work_fork(&w);
	if (strcmp(w.cas, "churn") == 0)
		work_churn(&w);
	if (strcmp(w.cas, "signals") == 0)
		work_signals(&w);
	die("unknown case %s", w.cas);
}

/* ============================ the driver =================================== */

struct mode {
	char name[32];     /* none, run_1s, runoff_100ms, inproc_1s */
	char kind[16];     /* none, run, runoff, inproc */
	char interval[16]; /* as given: 1s, 100ms */
	uint64_t interval_ns;
	double rate, percpu, pscpu, children_s;
	double cpu_per_child; /* churn: ms of CPU in all (pagescan's included) per child */
	double fork_us;       /* churn: the parent's mean fork() */
};

static char *pagescan, *bin_dir, *cas;
static char json_path[256];

/* The end record of pagescan's JSON report: processes tracked, untracked. */
static void check_report(const char *mode, uint64_t expect)
{
	int fd = open(json_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", json_path, strerror(errno));
	struct lreader *lr = lr_new(fd);
	double procs = -1, untracked = -1;
	const char *l;
	while ((l = lr_next(lr, true)))
		if (json_type(l, "end")) {
			procs = json_num(l, "processes");
			untracked = json_num(l, "untracked_processes");
		}
	lr_free(lr);
	/* A single process is no workload: no "processes" then. */
	if (expect > 1 && (procs < (double)expect || untracked != 0))
		die("%s: pagescan tracked %.0f processes (%.0f untracked), expected %" PRIu64, mode, procs, untracked,
		    expect);
}

static void run_mode(struct mode *m, uint64_t procs, const char *size, uint64_t dur_ns, uint64_t writes)
{
	char wpath[4096], procs_s[24], dur_s[24], writes_s[24], track_s[24];
	snprintf(wpath, sizeof(wpath), "%s/bench_forkrun", bin_dir);
	snprintf(procs_s, sizeof(procs_s), "%" PRIu64, procs);
	snprintf(dur_s, sizeof(dur_s), "%" PRIu64, dur_ns);
	snprintf(writes_s, sizeof(writes_s), "%" PRIu64, writes);
	bool inproc = strcmp(m->kind, "inproc") == 0, run = strncmp(m->kind, "run", 3) == 0;
	snprintf(track_s, sizeof(track_s), "%" PRIu64, inproc ? m->interval_ns : 0);
	char *argv[32];
	int n = 0;
	if (run) {
		argv[n++] = pagescan;
		argv[n++] = "run";
		argv[n++] = "-q";
		argv[n++] = "-f";
		argv[n++] = "json";
		argv[n++] = "-o";
		argv[n++] = json_path;
		argv[n++] = "-i";
		argv[n++] = m->interval;
		if (strcmp(m->kind, "runoff") == 0) {
			argv[n++] = "--max-overhead";
			argv[n++] = "off";
		}
		argv[n++] = "--";
	}
	argv[n++] = wpath;
	argv[n++] = "work";
	argv[n++] = cas;
	argv[n++] = procs_s;
	argv[n++] = (char *)size;
	argv[n++] = dur_s;
	argv[n++] = writes_s;
	argv[n++] = track_s;
	argv[n++] = run || inproc ? "1" : "0";
	argv[n] = NULL;
	pid_t pid;
	uint64_t t0 = now_ns();
	struct lreader *lr = spawn_reader(argv, &pid);
	const char *l;
	double rate = -1, second = 0, wcpu = 0;
	unsigned long long count = 0;
	int bad = 0;
	m->fork_us = 0;
	while ((l = lr_next(lr, true)))
		if (sscanf(l, "result %lf %lf %lf %llu %d %lf", &rate, &second, &wcpu, &count, &bad, &m->fork_us) >= 5)
			break;
	while (lr_next(lr, true))
		;
	lr_free(lr);
	struct rusage ru;
	int st = wait_child(pid, &ru);
	double wall = (double)(now_ns() - t0) / 1e9;
	if (!WIFEXITED(st) || WEXITSTATUS(st) || rate < 0)
		die("%s: the workload failed (status 0x%x)", m->name, st);
	if (bad)
		die("%s: %d process(es) found their memory not registered for write-protect", m->name, bad);
	m->rate = rate;
	m->percpu = strcmp(cas, "fork") == 0 ? second : 0;
	m->children_s = strcmp(cas, "churn") == 0 ? second : 0;
	/* pagescan's rusage includes the workload it reaped: take it off. */
	m->pscpu = run ? (rusage_cpu_s(&ru) - wcpu) / wall * 100 : 0;
	m->cpu_per_child = count ? rusage_cpu_s(&ru) * 1e3 / (double)count : 0;
	if (run) {
		uint64_t expect = strcmp(cas, "signals") == 0 ? 1 : count + 1;
		check_report(m->name, expect);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "work") == 0)
		return work_main(argc, argv);

	static const struct option lo[] = {
		{ "bin", required_argument, NULL, 'b' },     { "pagescan", required_argument, NULL, 'p' },
		{ "case", required_argument, NULL, 'c' },    { "procs", required_argument, NULL, 'N' },
		{ "size", required_argument, NULL, 's' },    { "seconds", required_argument, NULL, 'd' },
		{ "rounds", required_argument, NULL, 'n' },  { "writes", required_argument, NULL, 'w' },
		{ "modes", required_argument, NULL, 'm' },   { 0 },
	};
	char *size = "64M", *modes = "none,run:1s,runoff:1s,runoff:100ms,inproc:1s,inproc:100ms";
	uint64_t procs = 4, dur_ns = 3000000000ull, writes = 20000;
	int rounds = 5, c;
	cas = "fork";
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': bin_dir = optarg; break;
		case 'p': pagescan = optarg; break;
		case 'c': cas = optarg; break;
		case 'N': procs = parse_u64(optarg, 1, 1000, "procs"); break;
		case 's': size = optarg; break;
		case 'd': dur_ns = parse_dur_ns(optarg, "seconds"); break;
		case 'n': rounds = (int)parse_u64(optarg, 1, 1000, "rounds"); break;
		case 'w': writes = parse_u64(optarg, 1, UINT64_MAX, "writes"); break;
		case 'm': modes = optarg; break;
		default: die("usage: see the comment at the top of bench_forkrun.c");
		}
	}
	if (!bin_dir || !pagescan || dur_ns == 0)
		die("--bin and --pagescan are required");
	if (strcmp(cas, "fork") && strcmp(cas, "churn") && strcmp(cas, "signals"))
		die("unknown case %s (fork, churn, signals)", cas);
	if (strcmp(cas, "signals") == 0)
		procs = 1;
	char label[48]; /* the case in the rows: fork_4x64M, churn_2x4M, signals */
	if (strcmp(cas, "signals") == 0)
		snprintf(label, sizeof(label), "signals");
	else
		snprintf(label, sizeof(label), "%.8s_%" PRIu64 "x%.16s", cas, procs, size);
	uint64_t bytes = parse_size(size, "size");
	long avail = mem_available_kib();
	if (avail >= 0 && (procs + 1) * (bytes >> 10) + (256u << 10) > (uint64_t)avail) {
		fprintf(stderr, "bench_forkrun: %s skipped: needs %" PRIu64 " MiB\n", label, (procs + 1) * (bytes >> 20));
		emit("forkrun", label, "skipped_low_memory", "flag", 1, 1);
		return 0;
	}

	static const char *const kinds[] = { "run", "runoff", "inproc", NULL };
	struct mode_spec spec[16];
	struct mode mv[16] = { 0 };
	int none, nm = parse_modes(modes, kinds, spec, 16, &none);
	for (int i = 0; i < nm; i++) {
		MODE_FROM_SPEC(&mv[i], &spec[i]);
	}

	const char *tmp = getenv("TMPDIR");
	snprintf(json_path, sizeof(json_path), "%s/bench_forkrun.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int jfd = mkstemp(json_path);
	if (jfd < 0)
		die("mkstemp %s: %s", json_path, strerror(errno));
	close(jfd);

	const char *unit = strcmp(cas, "signals") == 0 ? "trips/s" : "writes/s";
	char name[64];
	for (int r = 1; r <= rounds; r++) {
		for (int i = 0; i < nm; i++)
			run_mode(&mv[(i + r) % nm], procs, size, dur_ns, writes);
		for (int i = 0; i < nm; i++) {
			struct mode *m = &mv[i];
			emit("forkrun", label, m->name, unit, r, m->rate);
			if (m->percpu > 0) {
				snprintf(name, sizeof(name), "%.31s_percpu", m->name);
				emit("forkrun", label, name, unit, r, m->percpu);
			}
			if (m->children_s > 0) {
				snprintf(name, sizeof(name), "%.31s_children_s", m->name);
				emit("forkrun", label, name, "1/s", r, m->children_s);
				snprintf(name, sizeof(name), "%.31s_cpu_per_child", m->name);
				emit("forkrun", label, name, "ms", r, m->cpu_per_child);
				snprintf(name, sizeof(name), "%.31s_fork_us", m->name);
				emit("forkrun", label, name, "us", r, m->fork_us);
			}
			if (i != none) {
				snprintf(name, sizeof(name), "%.31s_rel", m->name);
				emit("forkrun", label, name, "x", r, m->rate / mv[none].rate);
				if (m->percpu > 0 && mv[none].percpu > 0) {
					snprintf(name, sizeof(name), "%.31s_percpu_rel", m->name);
					emit("forkrun", label, name, "x", r, m->percpu / mv[none].percpu);
				}
			}
			if (strncmp(m->kind, "run", 3) == 0) {
				snprintf(name, sizeof(name), "%.31s_pagescan_cpu", m->name);
				emit("forkrun", label, name, "%", r, m->pscpu);
			}
		}
		/* What the goal judges: pagescan run against the in-process
		 * trackers at the same interval, in the same round. */
		for (int i = 0; i < nm; i++) {
			if (strncmp(mv[i].kind, "run", 3))
				continue;
			for (int j = 0; j < nm; j++) {
				if (strcmp(mv[j].kind, "inproc") || mv[j].interval_ns != mv[i].interval_ns)
					continue;
				snprintf(name, sizeof(name), "%.31s_vs_inproc_%s", mv[i].kind, mv[i].interval);
				emit("forkrun", label, name, "x", r, mv[i].rate / mv[j].rate);
				if (mv[i].percpu > 0 && mv[j].percpu > 0) {
					snprintf(name, sizeof(name), "%.31s_vs_inproc_%s_percpu", mv[i].kind, mv[i].interval);
					emit("forkrun", label, name, "x", r, mv[i].percpu / mv[j].percpu);
				}
				if (mv[i].children_s > 0 && mv[j].cpu_per_child > 0) {
					snprintf(name, sizeof(name), "%.15s_vs_inproc_%.15s_cpu_per_child", mv[i].kind,
					         mv[i].interval);
					emit("forkrun", label, name, "x", r, mv[i].cpu_per_child / mv[j].cpu_per_child);
				}
			}
		}
	}
	unlink(json_path);
	return 0;
}
