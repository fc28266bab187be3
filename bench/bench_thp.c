/* SPDX-License-Identifier: MIT */
/* Benchmark "thp": a big THP-backed target that writes a small part of its
 * memory every tick (issue 20: the cost follows written memory, not tracked
 * memory).
 *
 *   bench_thp --bin DIR --pagescan PATH --size SIZE [--permille P] [--run R]
 *             [--interval DUR] [--seconds S] [--pairs K] [--rounds N]
 *             [--project SIZE]
 *
 * One `bench_target writer SIZE P R thp threads=2` (2 MiB aligned,
 * MADV_HUGEPAGE, populated whole: THP-backed; every "w" writes the same
 * set, R pages out of every R*1000/P: with R = 512, P/10 % of its huge
 * pages whole), then N rounds, each one `pagescan watch -f json -q -i DUR
 * --max-overhead off` on it:
 *
 * 1. steady, S seconds: the target writes its set right after every
 *    interval record (when its last set is done), so at most one set per
 *    tick: pagescan's CPU share of a core between two records (cpu_share),
 *    the median harvest_us and written_pages of the records whose set was
 *    complete, the share of ticks that had a complete set (a target that
 *    cannot write its set within a tick leaves ticks out: said, not hidden);
 * 2. K pairs, as bench_workload but with pagescan stopped (SIGSTOP) while
 *    the target writes and while this program harvests, so no tick races
 *    them: after a record the target writes its set and the next record's
 *    harvest_us is pagescan's; after that record the target writes it again
 *    and this program harvests it with the minimal loop (PAGEMAP_SCAN
 *    get-and-protect of the written pages over each writable mapping, on
 *    the registration pagescan holds; wall and CPU time). harvest_vs_ioctl:
 *    median of the per-pair ratios.
 *
 * Per round: tick_cpu_us, pagescan's CPU time over a tick that harvested
 * the whole set (from SIGCONT to its record: harvest, sync, output), and
 * tick_share = that times the ticks per second: its share of a core if
 * every tick had a whole set, whatever the target managed on a loaded
 * machine; ioctl_share the same for the minimal loop's CPU per harvest
 * (a tracker that does nothing but the ioctls); tick_cpu_vs_ioctl the
 * median of the per-pair ratios. *_projected: times PROJECT/SIZE (every
 * cost taken as growing with tracked memory, the fixed cost per tick
 * included: an upper bound). cpu_share is the steady phase's share (the
 * ticks had written_per_tick pages on average, of set_pages). Raw rows
 * (bench,case,metric,unit,round,value) on stdout. */
#include <getopt.h>
#include <sys/ioctl.h>

#include "bench_common.h"

#define MAPS_MAX 256

static pid_t tpid;
static int tin = -1;
static struct lreader tl;
static uint64_t maps[MAPS_MAX][2];
static size_t nmaps;

static void read_maps(void)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)tpid);
	FILE *f = fopen(path, "re");
	if (!f)
		die("%s: %s", path, strerror(errno));
	nmaps = 0;
	while (nmaps < MAPS_MAX && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) == 3 && perms[1] == 'w' && !strstr(line, "[vsyscall]")) {
			maps[nmaps][0] = a;
			maps[nmaps][1] = b;
			nmaps++;
		}
	}
	fclose(f);
}

/* The minimal harvest: written pages of every writable mapping, protected again. */
static uint64_t raw_harvest(int pm)
{
	static struct page_region vec[512];
	uint64_t pages = 0;
	for (size_t m = 0; m < nmaps; m++)
		pages += raw_harvest_range(pm, maps[m][0], maps[m][1], vec, 512);
	return pages;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Ask for the set; wait for it when block. */
static uint64_t write_set(void)
{
	put(tin, "w\n");
	const char *l = lr_next(&tl, true);
	unsigned long long n;
	if (!l || sscanf(l, "done %llu", &n) != 1)
		die("bad answer from the target");
	return n;
}

/* The next interval record of the watch, NULL at its end. */
static const char *next_record(struct lreader *pl)
{
	const char *l;
	while ((l = lr_next(pl, true)))
		if (json_type(l, "interval"))
			return l;
	return NULL;
}

/* SIGSTOP pid and wait until it is stopped ("T" in /proc/PID/stat). */
static void stop_proc(pid_t pid)
{
	kill(pid, SIGSTOP);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (;;) {
		char buf[512];
		FILE *f = fopen(path, "re");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		const char *p = strrchr(buf, ')');
		if (!p || p[1] == 0 || p[2] == 'T' || p[2] == 't' || p[2] == 'Z')
			return;
		sleep_ns(100000);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bin", required_argument, NULL, 'b' },      { "pagescan", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },     { "permille", required_argument, NULL, 'f' },
		{ "run", required_argument, NULL, 'r' },      { "interval", required_argument, NULL, 'i' },
		{ "seconds", required_argument, NULL, 'S' },  { "pairs", required_argument, NULL, 'k' },
		{ "rounds", required_argument, NULL, 'n' },   { "project", required_argument, NULL, 'P' },
		{ 0 },
	};
	char *bin_dir = NULL, *pagescan = NULL, *size_s = "16G", *permille_s = "10", *run_s = "512",
	     *interval = "100ms", *project_s = "64G";
	uint64_t seconds = 20, pairs = 10, rounds = 3;
	int c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': bin_dir = optarg; break;
		case 'p': pagescan = optarg; break;
		case 's': size_s = optarg; break;
		case 'f': permille_s = optarg; break;
		case 'r': run_s = optarg; break;
		case 'i': interval = optarg; break;
		case 'S': seconds = parse_u64(optarg, 1, 3600, "seconds"); break;
		case 'k': pairs = parse_u64(optarg, 0, 10000, "pairs"); break;
		case 'n': rounds = parse_u64(optarg, 1, 1000, "rounds"); break;
		case 'P': project_s = optarg; break;
		default: die("usage: see the comment at the top of bench_thp.c");
		}
	}
	if (!bin_dir || !pagescan)
		die("--bin and --pagescan are required");
	uint64_t size = parse_size(size_s, "size"), project = parse_size(project_s, "project");
	parse_u64(permille_s, 1, 1000, "permille");
	parse_u64(run_s, 1, 1u << 20, "run");
	double tick_s = (double)parse_dur_ns(interval, "interval") / 1e9;
	char cas[64];
	snprintf(cas, sizeof(cas), "thp_%s_%spm_%s", size_s, permille_s, interval);

	long avail = mem_available_kib();
	if (avail >= 0 && (size >> 10) + (2u << 20) > (uint64_t)avail) {
		fprintf(stderr, "bench_thp: %s skipped: needs %" PRIu64 " MiB, %ld MiB available\n", cas, size >> 20,
		        avail >> 10);
		emit("thp", cas, "skipped_low_memory", "flag", 1, 1);
		return 0;
	}

	char tpath[4096];
	snprintf(tpath, sizeof(tpath), "%s/bench_target", bin_dir);
	char *targv[] = { tpath, "writer", size_s, permille_s, run_s, "thp", "threads=2", NULL };
	int ti[2], to[2];
	make_pipe(ti);
	make_pipe(to);
	uint64_t tp0 = now_ns();
	tpid = spawn(targv, ti[0], to[1], STDERR_FILENO);
	close(ti[0]);
	close(to[1]);
	tin = ti[1];
	lr_init(&tl, to[0]);
	const char *l = lr_next(&tl, true);
	if (!l || strncmp(l, "ready", 5) != 0)
		die("target did not start");
	emit("thp", cas, "populate_s", "s", 1, (double)(now_ns() - tp0) / 1e9);
	read_maps();
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)tpid);

	size_t cap = (size_t)(seconds / tick_s) + 100;
	double *hv = calloc(cap, sizeof(double)), *wv = calloc(cap, sizeof(double));
	double *ps_us = calloc(pairs + 1, sizeof(double)), *raw_us = calloc(pairs + 1, sizeof(double)),
	       *raw_cpu = calloc(pairs + 1, sizeof(double)), *ratio = calloc(pairs + 1, sizeof(double)),
	       *tick_cpu = calloc(pairs + 1, sizeof(double)), *cpu_ratio = calloc(pairs + 1, sizeof(double));
	struct lreader *pl = malloc(sizeof(*pl));
	if (!hv || !wv || !ps_us || !raw_us || !raw_cpu || !ratio || !tick_cpu || !cpu_ratio || !pl)
		die("out of memory");

	for (int round = 1; round <= (int)rounds; round++) {
		/* The target's THP share now (after earlier rounds' splits). */
		char sp[16];
		snprintf(sp, sizeof(sp), "%d", (int)tpid);
		long thp_kib = -1, rss_kib = -1;
		{
			char f[128], line[256];
			snprintf(f, sizeof(f), "/proc/%s/smaps_rollup", sp);
			FILE *fp = fopen(f, "re");
			while (fp && fgets(line, sizeof(line), fp)) {
				sscanf(line, "AnonHugePages: %ld kB", &thp_kib);
				sscanf(line, "Rss: %ld kB", &rss_kib);
			}
			if (fp)
				fclose(fp);
		}
		char *pargv[] = { pagescan, "watch", sp, "-f", "json", "-q", "-i", interval, "--max-overhead", "off", NULL };
		int pp[2];
		make_pipe(pp);
		pid_t ps = spawn(pargv, -1, pp[1], STDERR_FILENO);
		close(pp[1]);
		lr_init(pl, pp[0]);
		int pm = -1;

		/* 1. steady */
		uint64_t line = 0, sent_at = UINT64_MAX, expect = 0, t_first = 0, t_last = 0, ticks = 0;
		double cpu_first = -1, cpu_last = -1, wsum = 0;
		bool pending = false;
		size_t nv = 0;
		uint64_t end_at = 0;
		while (!pl->eof) {
			struct pollfd pf[2] = { { .fd = pp[0], .events = POLLIN }, { .fd = to[0], .events = POLLIN } };
			if (poll(pf, 2, -1) < 0 && errno != EINTR)
				die("poll: %s", strerror(errno));
			if (pf[1].revents) {
				while ((l = lr_next(&tl, false))) {
					unsigned long long n;
					if (sscanf(l, "done %llu", &n) != 1)
						die("bad answer from the target: %s", l);
					pending = false;
					expect = n;
				}
				if (tl.eof)
					die("the target died");
			}
			if (!pf[0].revents)
				continue;
			bool stop = false;
			while ((l = lr_next(pl, false))) {
				if (json_type(l, "start") && pm < 0) {
					pm = open(path, O_RDONLY | O_CLOEXEC);
					if (pm < 0)
						die("%s: %s", path, strerror(errno));
				}
				if (!json_type(l, "interval"))
					continue;
				line++;
				uint64_t t = now_ns();
				double cpu = proc_cpu_ns(ps);
				if (line >= 2) {
					/* The first record follows the arming. */
					if (cpu_first < 0) {
						cpu_first = cpu;
						t_first = t;
						end_at = t + seconds * 1000000000ull;
					} else {
						ticks++;
						cpu_last = cpu;
						t_last = t;
						wsum += json_num(l, "written_pages");
						if (!pending && sent_at == line - 1 && nv < cap) {
							hv[nv] = json_num(l, "harvest_us");
							wv[nv] = json_num(l, "written_pages");
							if (wv[nv] >= (double)expect)
								nv++;
						}
					}
				}
				if (end_at && t >= end_at) {
					stop = true;
					break;
				}
				if (!pending) {
					put(tin, "w\n");
					pending = true;
					sent_at = line;
				}
			}
			if (stop)
				break;
		}
		/* Let the last set finish. */
		while (pending) {
			l = lr_next(&tl, true);
			if (!l)
				die("the target died");
			pending = false;
		}

		/* 2. pairs. pagescan is stopped (SIGSTOP) while the target writes
		 * its set and while this program harvests, so that no tick races
		 * either: a set written while pagescan is stopped is harvested
		 * whole by its next tick. */
		size_t done = 0;
		uint64_t tries = 0;
		while (done < pairs && tries++ < pairs * 3) {
			if (!next_record(pl))
				break;
			stop_proc(ps);
			expect = write_set();
			double c0p = proc_cpu_ns(ps);
			kill(ps, SIGCONT);
			if (!(l = next_record(pl)))
				break;
			tick_cpu[done] = (proc_cpu_ns(ps) - c0p) / 1e3;
			double w = json_num(l, "written_pages");
			ps_us[done] = json_num(l, "harvest_us");
			stop_proc(ps);
			uint64_t again = write_set();
			uint64_t r0 = now_ns(), c0 = thread_cpu_ns();
			uint64_t got = raw_harvest(pm);
			raw_cpu[done] = (double)(thread_cpu_ns() - c0) / 1e3;
			raw_us[done] = (double)(now_ns() - r0) / 1e3;
			kill(ps, SIGCONT);
			if (w >= (double)expect && got >= again) {
				ratio[done] = raw_us[done] > 0 ? ps_us[done] / raw_us[done] : 0;
				cpu_ratio[done] = raw_cpu[done] > 0 ? tick_cpu[done] / raw_cpu[done] : 0;
				done++;
			} else {
				fprintf(stderr, "bench_thp: a harvest saw less than the set (%.0f of %" PRIu64 ", %" PRIu64
				        " of %" PRIu64 "), again\n", w, expect, got, again);
			}
		}
		kill(ps, SIGINT);
		while (lr_next(pl, true))
			;
		struct rusage ru;
		int st = wait_child(ps, &ru);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("pagescan watch failed (status 0x%x)", st);
		close(pp[0]);
		if (pm >= 0)
			close(pm);

		double span = (double)(t_last - t_first) / 1e9;
		double share = span > 0 ? (cpu_last - cpu_first) / 1e9 / span * 100 : 0;
		emit("thp", cas, "target_thp", "%", round, rss_kib > 0 ? (double)thp_kib / (double)rss_kib * 100 : 0);
		emit("thp", cas, "cpu_share", "%", round, share);
		emit("thp", cas, "ticks", "count", round, (double)ticks);
		emit("thp", cas, "ticks_with_set", "%", round, ticks ? (double)nv / (double)ticks * 100 : 0);
		/* What the target managed to write (a set per tick is the aim). */
		emit("thp", cas, "written_per_tick", "pages", round, ticks ? wsum / (double)ticks : 0);
		emit("thp", cas, "set_pages", "pages", round, (double)expect);
		if (nv) {
			emit("thp", cas, "harvest_us", "us", round, median(hv, nv));
			emit("thp", cas, "written_pages", "pages", round, median(wv, nv));
		}
		emit("thp", cas, "vmhwm", "KiB", round, (double)ru.ru_maxrss);
		emit("thp", cas, "projected_share", "%", round, share * (double)project / (double)size);
		emit("thp", cas, "pairs", "count", round, (double)done);
		if (done) {
			double pr = median(ps_us, done), rr = median(raw_us, done), rc = median(raw_cpu, done),
			       q = median(ratio, done);
			emit("thp", cas, "pagescan_harvest_us", "us", round, pr);
			emit("thp", cas, "ioctl_harvest_us", "us", round, rr);
			emit("thp", cas, "ioctl_harvest_cpu_us", "us", round, rc);
			emit("thp", cas, "harvest_vs_ioctl", "ratio", round, q);
			/* A tick with the whole set: pagescan's CPU over it (the
			 * harvest, the sync, the record), at the interval. */
			double tc = median(tick_cpu, done), tshare = tc / 1e6 / tick_s * 100;
			double ishare = rc / 1e6 / tick_s * 100;
			emit("thp", cas, "tick_cpu_us", "us", round, tc);
			emit("thp", cas, "tick_share", "%", round, tshare);
			emit("thp", cas, "tick_share_projected", "%", round, tshare * (double)project / (double)size);
			emit("thp", cas, "ioctl_share", "%", round, ishare);
			emit("thp", cas, "ioctl_share_projected", "%", round, ishare * (double)project / (double)size);
			emit("thp", cas, "tick_cpu_vs_ioctl", "ratio", round, median(cpu_ratio, done));
		}
	}
	close(tin);
	wait_child(tpid, NULL);
	return 0;
}
