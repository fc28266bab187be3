/* SPDX-License-Identifier: MIT */
/* Benchmark 3, pagescan's own cost: `pagescan watch -f json` on a
 * bench_target writer, the writes synchronised with the watch's ticks (the
 * target writes its set right after each interval record, so the next
 * harvest sees exactly that set when the writes finish in time).
 *
 *   bench_self --bin DIR --pagescan PATH --case NAME --size SIZE
 *              --permille P --run R [--rotate] [--threads N]
 *              [--interval DUR|auto] (--duration DUR | --intervals K)
 *              [--max-seconds S] [--round N]
 *   bench_self --bin DIR --pagescan PATH --case NAME --size SIZE
 *              --pattern random|seq|hot --rate PAGES_S [--interval DUR]
 *              --duration DUR [--round N]
 *
 * With --duration: CPU time (whole life and steady state between the first
 * and last interval record), peak RSS (VmHWM) and RSS growth of pagescan.
 * With --intervals: harvest_us of K intervals that saw a complete write set,
 * or of those seen in --max-seconds (default 300; then a timed_out row).
 * With --pattern (bench "pattern"): `watch -q` on a fully populated target
 * that writes PAGES_S pages a second by itself, not in step with the ticks
 * (bench_target pattern): the --duration figures, and pagescan's user CPU
 * against the kernel time it spends (nearly all of it harvesting) and
 * against the harvests' wall time. Raw rows on stdout. */
#include <getopt.h>

#include "bench_common.h"

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* The cost of one write-protect fault as pagescan calibrates it on this
 * machine: the wp_fault_ns of the start record of a `run` of /bin/true. */
static double fault_ns_here(char *pagescan)
{
	char *argv[] = { pagescan, "run", "-n", "1", "-i", "10ms", "-f", "json", "--max-overhead", "off",
		         "--", "/bin/true", NULL };
	pid_t pid;
	struct lreader *lr = spawn_reader(argv, &pid);
	double ns = -1;
	const char *l;
	while ((l = lr_next(lr, true)))
		if (json_type(l, "start"))
			ns = json_num(l, "wp_fault_ns");
	lr_free(lr);
	int st = wait_child(pid, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st) || ns <= 0)
		die("cannot get the fault cost from `pagescan run -- /bin/true` (status 0x%x)", st);
	return ns;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bin", required_argument, NULL, 'b' },      { "pagescan", required_argument, NULL, 'p' },
		{ "case", required_argument, NULL, 'c' },     { "size", required_argument, NULL, 's' },
		{ "permille", required_argument, NULL, 'f' }, { "run", required_argument, NULL, 'r' },
		{ "rotate", no_argument, NULL, 'R' },         { "threads", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' }, { "duration", required_argument, NULL, 'd' },
		{ "intervals", required_argument, NULL, 'k' }, { "round", required_argument, NULL, 'n' },
		{ "pattern", required_argument, NULL, 'P' },  { "rate", required_argument, NULL, 'w' },
		{ "max-seconds", required_argument, NULL, 'M' }, { 0 },
	};
	char *bin_dir = NULL, *pagescan = NULL, *cas = "self", *size_s = "4G", *permille_s = "100", *run_s = "16";
	char *interval = "1s", *duration = NULL, threads_s[32] = "threads=1", *pattern = NULL, *rate_s = "72000";
	bool rotate = false;
	uint64_t want = 0, threads = 1, max_s = 300;
	int round = 1, c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': bin_dir = optarg; break;
		case 'p': pagescan = optarg; break;
		case 'c': cas = optarg; break;
		case 's': size_s = optarg; break;
		case 'f': permille_s = optarg; break;
		case 'r': run_s = optarg; break;
		case 'R': rotate = true; break;
		case 't': threads = parse_u64(optarg, 1, 16, "threads"); break;
		case 'i': interval = optarg; break;
		case 'd': duration = optarg; break;
		case 'k': want = parse_u64(optarg, 1, 100000, "intervals"); break;
		case 'n': round = (int)parse_u64(optarg, 1, 100000, "round"); break;
		case 'P': pattern = optarg; break;
		case 'w': rate_s = optarg; break;
		case 'M': max_s = parse_u64(optarg, 1, 86400, "max-seconds"); break;
		default: die("usage: see the comment at the top of bench_self.c");
		}
	}
	if (!bin_dir || !pagescan || (!duration && !want) || (duration && want))
		die("--bin, --pagescan and one of --duration or --intervals are required");
	if (pattern && !duration)
		die("--pattern needs --duration");
	const char *bench = pattern ? "pattern" : "self";
	snprintf(threads_s, sizeof(threads_s), "threads=%" PRIu64, threads);
	uint64_t size = parse_size(size_s, "size");
	uint64_t permille = parse_u64(permille_s, 0, 1000, "permille");
	parse_u64(run_s, 1, 1u << 20, "run");
	uint64_t wpages = (size >> BPAGE_SHIFT) * permille / 1000;

	/* Memory the target really needs: all of it when rotating, else the set. */
	uint64_t need_kib = (rotate || pattern ? size : wpages << BPAGE_SHIFT) >> 10;
	long avail = mem_available_kib();
	if (avail >= 0 && need_kib + (2u << 20) > (uint64_t)avail) {
		fprintf(stderr, "bench_self: %s skipped: needs %" PRIu64 " MiB, %ld MiB available\n", cas, need_kib >> 10,
		        avail >> 10);
		emit(bench, cas, "skipped_low_memory", "flag", round, 1);
		return 0;
	}

	/* auto: long enough for the target to write its set twice over at
	 * the fault cost pagescan calibrates here, itself taken twice: a fault
	 * in a large target costs more than in the calibration's 4 MiB
	 * (docs/overhead.md). A fixed guess (2.5 us) left the 1 GiB writer of a
	 * guest whose faults cost 15-19 us racing every interval, and the bench
	 * waiting for complete ones for ever. */
	char ivbuf[32];
	if (strcmp(interval, "auto") == 0) {
		double est = (double)wpages * fault_ns_here(pagescan) * 1e-9 * 2 / (double)threads * 2;
		uint64_t s = est < 1 ? 1 : (uint64_t)est + 1;
		snprintf(ivbuf, sizeof(ivbuf), "%" PRIu64 "s", s);
		interval = ivbuf;
	}

	char tpath[4096];
	snprintf(tpath, sizeof(tpath), "%s/bench_target", bin_dir);
	char *wargv[] = { tpath, "writer", size_s, permille_s, run_s, rotate ? "rotate" : threads_s, threads_s, NULL };
	char *pargv_t[] = { tpath, "pattern", size_s, pattern, rate_s, NULL };
	char **targv = pattern ? pargv_t : wargv;
	int tin[2], tout[2];
	make_pipe(tin);
	make_pipe(tout);
	pid_t tpid = spawn(targv, tin[0], tout[1], STDERR_FILENO);
	close(tin[0]);
	close(tout[1]);
	struct lreader *tl = malloc(sizeof(*tl)), *pl = malloc(sizeof(*pl));
	if (!tl || !pl)
		die("out of memory");
	lr_init(tl, tout[0]);
	const char *l = lr_next(tl, true);
	if (!l || strncmp(l, "ready", 5) != 0)
		die("target did not start");

	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)tpid);
	/* Fixed intervals: what the engine costs at -i, not what the budget
	 * makes of it (--max-overhead stretches them under a heavy writer). */
	char *pargv[14] = { pagescan, "watch", pid, "-i", interval, "-f", "json", "--max-overhead", "off" };
	int pn = 9;
	if (pattern)
		pargv[pn++] = "-q";
	if (duration) {
		pargv[pn++] = "-d";
		pargv[pn++] = duration;
	}
	pargv[pn] = NULL;
	int pp[2];
	make_pipe(pp);
	uint64_t t0 = now_ns();
	pid_t ps = spawn(pargv, -1, pp[1], STDERR_FILENO);
	close(pp[1]);
	lr_init(pl, pp[0]);

	double *harvest = calloc(100000, sizeof(double)), *written = calloc(100000, sizeof(double));
	if (!harvest || !written)
		die("out of memory");
	size_t nvalid = 0;
	uint64_t line = 0, sent_at = UINT64_MAX, expect = 0;
	bool pending = false, started = false, timed_out = false;
	uint64_t deadline = t0 + max_s * 1000000000ull;
	double cpu_first = -1, cpu_last = -1;
	uint64_t tcpu_first = 0, tcpu_last = 0;
	double ut_first = 0, st_first = 0, ut_last = 0, st_last = 0;
	long rss_first = -1, rss_last = -1, rss_max = -1, hwm = -1, rss_5 = -1;
	uint64_t short_sets = 0;
	double harvest_sum_us = 0; /* pattern: the harvests after the first record */

	while (!pl->eof) {
		struct pollfd pf[2] = { { .fd = pp[0], .events = POLLIN }, { .fd = tout[0], .events = POLLIN } };
		uint64_t now = now_ns();
		if (want && now >= deadline) {
			/* Complete intervals are not coming (or too slowly): end
			 * with those seen. */
			kill(ps, SIGINT);
			want = 0;
			timed_out = true;
		}
		int ms = want ? (int)((deadline - now) / 1000000 + 1) : -1;
		if (poll(pf, 2, ms) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pf[1].revents) {
			while ((l = lr_next(tl, false))) {
				unsigned long long n;
				if (sscanf(l, "done %llu", &n) != 1)
					die("bad answer from the target: %s", l);
				pending = false;
				expect = n;
			}
			if (tl->eof)
				die("the target died");
		}
		if (!pf[0].revents)
			continue;
		while ((l = lr_next(pl, false))) {
			bool is_start = json_type(l, "start"), is_iv = json_type(l, "interval");
			if (!is_start && !is_iv)
				continue;
			if (is_iv) {
				line++;
				if (pattern) {
					/* Free-running writes: every harvest but the
					 * first (it follows the arming) counts. */
					if (line > 1 && nvalid < 100000) {
						harvest[nvalid] = json_num(l, "harvest_us");
						written[nvalid] = json_num(l, "written_pages");
						harvest_sum_us += harvest[nvalid++];
					}
				} else if (!pending && sent_at == line - 1 && nvalid < 100000) {
					/* Valid: the set was asked for right after the
					 * previous record and finished before this harvest. */
					harvest[nvalid] = json_num(l, "harvest_us");
					written[nvalid] = json_num(l, "written_pages");
					/* The answer can arrive while the harvest runs: a
					 * harvest that saw less than the set raced the writes. */
					if (written[nvalid] < (double)expect)
						short_sets++;
					else
						nvalid++;
				}
				uint64_t t = now_ns();
				double cpu = proc_cpu_ns(ps);
				long rss = proc_status_kib(ps, "VmRSS");
				long h = proc_status_kib(ps, "VmHWM");
				if (h > hwm)
					hwm = h;
				double ut, st;
				if (cpu >= 0 && proc_utime_stime(ps, &ut, &st) == 0) {
					if (cpu_first < 0) {
						cpu_first = cpu;
						tcpu_first = t;
						ut_first = ut;
						st_first = st;
						rss_first = rss;
					}
					cpu_last = cpu;
					tcpu_last = t;
					ut_last = ut;
					st_last = st;
					rss_last = rss;
					if (line <= 5)
						rss_5 = rss;
					if (rss > rss_max)
						rss_max = rss;
				}
				if (want && nvalid >= want) {
					kill(ps, SIGINT);
					want = 0;
				}
			}
			started = true;
			if (!pending && !pattern) {
				put(tin[1], "w\n");
				pending = true;
				sent_at = line;
			}
		}
	}
	struct rusage ru;
	int st = wait_child(ps, &ru);
	uint64_t t1 = now_ns();
	if (!started || !WIFEXITED(st) || WEXITSTATUS(st))
		die("pagescan watch failed (status 0x%x)", st);
	close(tin[1]);
	wait_child(tpid, NULL);
	if (short_sets)
		fprintf(stderr, "bench_self: %s: %" PRIu64 " intervals raced the writes (fewer pages than written), not counted\n",
		        cas, short_sets);
	if (timed_out)
		fprintf(stderr, "bench_self: %s: ended at --max-seconds %" PRIu64 " with %zu complete intervals\n", cas,
		        max_s, nvalid);

	if (duration) {
		double wall = (double)(t1 - t0) / 1e9, span = (double)(tcpu_last - tcpu_first) / 1e9;
		emit(bench, cas, "cpu_total", "%", round, rusage_cpu_s(&ru) / wall * 100);
		/* The one-off costs, mostly the kernel's: write-protecting the whole
		 * target when tracking starts (up to the first record, which
		 * includes one harvest), and un-protecting it when the userfaultfd
		 * is closed (after the last record). */
		if (cpu_first >= 0) {
			emit(bench, cas, "cpu_to_first_interval", "ms", round, cpu_first / 1e6);
			emit(bench, cas, "cpu_after_last_interval", "ms", round, rusage_cpu_s(&ru) * 1e3 - cpu_last / 1e6);
		}
		if (span > 0) {
			emit(bench, cas, "cpu_steady", "%", round, (cpu_last - cpu_first) / 1e9 / span * 100);
			emit(bench, cas, "utime_steady", "%", round, (ut_last - ut_first) / span * 100);
			emit(bench, cas, "stime_steady", "%", round, (st_last - st_first) / span * 100);
		}
		/* Peak RSS: VmHWM as last seen, or the kernel's figure at exit. */
		emit(bench, cas, "vmhwm", "KiB", round, (double)(hwm > ru.ru_maxrss ? hwm : ru.ru_maxrss));
		emit(bench, cas, "rss_first_interval", "KiB", round, (double)rss_first);
		/* Buffers reach their working size in the first intervals; growth
		 * after that would be a leak. */
		emit(bench, cas, "rss_growth_from_first", "KiB", round, (double)(rss_last - rss_first));
		emit(bench, cas, "rss_growth_after_5", "KiB", round, (double)(rss_last - rss_5));
		emit(bench, cas, "rss_max", "KiB", round, (double)rss_max);
		if (pattern) {
			/* A pattern that keeps writing new pages grows the write
			 * working set to the end: the page set's bound is a bit per
			 * tracked page (model/pageset.h), so growth past the 5th
			 * interval within it is the set, beyond it a leak. */
			double bound_kib = (double)(size / BPAGE) / 8 / 1024;
			emit(bench, cas, "rss_growth_vs_bound", "%", round, (double)(rss_last - rss_5) / bound_kib * 100);
			/* The user time pagescan spends per unit of kernel time
			 * (harvests, and reading the maps), and per harvest
			 * wall time, between the first and the last record. */
			double ut = ut_last - ut_first, kt = st_last - st_first;
			emit(bench, cas, "cpu_user_s", "s", round, tv_s(&ru.ru_utime));
			emit(bench, cas, "cpu_sys_s", "s", round, tv_s(&ru.ru_stime));
			if (kt > 0)
				emit(bench, cas, "user_vs_kernel", "%", round, ut / kt * 100);
			if (harvest_sum_us > 0)
				emit(bench, cas, "user_vs_harvest", "%", round, ut / (harvest_sum_us / 1e6) * 100);
			emit(bench, cas, "harvest_us_total", "us", round, harvest_sum_us);
		}
		emit(bench, cas, "harvest_us", "us", round, median(harvest, nvalid));
		emit(bench, cas, "written_pages", "pages", round, median(written, nvalid));
		emit(bench, cas, "intervals_complete", "count", round, (double)nvalid);
	} else {
		for (size_t i = 0; i < nvalid; i++) {
			emit("harvest", cas, "harvest_us", "us", (int)i + 1, harvest[i]);
			emit("harvest", cas, "written_pages", "pages", (int)i + 1, written[i]);
		}
		if (timed_out)
			emit("harvest", cas, "timed_out", "flag", 1, 1);
	}
	return 0;
}
