/* SPDX-License-Identifier: MIT */
/* Benchmark "workload": pagescan watching N processes at once
 * (`watch PID PID...`).
 *
 *   bench_workload --bin DIR --pagescan PATH --procs N --size SIZE
 *                  --idle --duration DUR [--interval DUR] [--round R]
 *   bench_workload --bin DIR --pagescan PATH --procs N --size SIZE
 *                  --permille P --pairs K [--interval DUR] [--raw-after DUR]
 *                  [--round R]
 *
 * --idle: N `bench_target hold SIZE` processes (populated, then blocked in
 * read) under `watch -q -i INTERVAL -d DURATION`: pagescan's CPU share
 * between its first and last interval record and its peak RSS.
 *
 * --pairs: N `bench_target writer SIZE P 16 rotate` processes under `watch
 * -f json -i INTERVAL`. After one record every target writes its set and
 * the next record's harvest_us is pagescan's harvest of all N; after that
 * record every target writes its set again and this program harvests it
 * itself with the minimal loop (one PAGEMAP_SCAN get-and-protect of the
 * written pages per writable mapping of each target, on the registration
 * pagescan holds), and the record after that harvests nothing. Each such
 * pair gives one ratio, pagescan's harvest over the minimal loop's (both
 * wall time, the same pages of the same processes, the same second).
 * The minimal loop starts --raw-after (default: half the interval) after
 * the writes, from a sleep, as pagescan's harvest starts from its wait for
 * the tick and as an in-process tracker's would from its timer: run at
 * once, right after the writes with every cache warm, it took a third of
 * the time (bench/results/workload.md). 0 runs it at once.
 * Raw rows (bench,case,metric,unit,round,value) on stdout. */
#include <getopt.h>
#include <sys/ioctl.h>

#include "bench_common.h"

#define MAX_PROCS 1000

struct target {
	pid_t pid;
	int in, out;
	struct lreader lr;
};

static struct target *targets;
static size_t ntargets;

static void start_targets(char *const argv[], size_t n)
{
	targets = calloc(n, sizeof(*targets));
	if (!targets)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		int tin[2], tout[2];
		make_pipe(tin);
		make_pipe(tout);
		targets[i].pid = spawn(argv, tin[0], tout[1], STDERR_FILENO);
		close(tin[0]);
		close(tout[1]);
		targets[i].in = tin[1];
		targets[i].out = tout[0];
		lr_init(&targets[i].lr, tout[0]);
		ntargets++;
	}
	for (size_t i = 0; i < n; i++) {
		const char *l = lr_next(&targets[i].lr, true);
		if (!l || strncmp(l, "ready", 5) != 0)
			die("target %zu did not start", i);
	}
}

static void stop_targets(void)
{
	for (size_t i = 0; i < ntargets; i++)
		close(targets[i].in);
	for (size_t i = 0; i < ntargets; i++) {
		wait_child(targets[i].pid, NULL);
		close(targets[i].out);
	}
}

/* Every target writes its set; the pages written in all. */
static uint64_t write_sets(void)
{
	uint64_t pages = 0;
	for (size_t i = 0; i < ntargets; i++)
		put(targets[i].in, "w\n");
	for (size_t i = 0; i < ntargets; i++) {
		const char *l = lr_next(&targets[i].lr, true);
		unsigned long long n;
		if (!l || sscanf(l, "done %llu", &n) != 1)
			die("bad answer from target %zu", i);
		pages += n;
	}
	return pages;
}

/* The writable mappings of pid, as "start end" pairs; their number. */
static size_t writable_maps(pid_t pid, uint64_t (*v)[2], size_t max)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		die("%s: %s", path, strerror(errno));
	size_t n = 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) == 3 && perms[1] == 'w' && !strstr(line, "[vsyscall]")) {
			v[n][0] = a;
			v[n][1] = b;
			n++;
		}
	}
	fclose(f);
	return n;
}

/* The writable mappings of every target, read once (the targets map
 * nothing after they start) so the timed loop is the ioctls alone. */
static uint64_t (*tmaps)[2];
static size_t *tmaps_n;
#define MAPS_MAX 256

static void read_target_maps(void)
{
	tmaps = calloc(ntargets * MAPS_MAX, sizeof(*tmaps));
	tmaps_n = calloc(ntargets, sizeof(*tmaps_n));
	if (!tmaps || !tmaps_n)
		die("out of memory");
	for (size_t i = 0; i < ntargets; i++)
		tmaps_n[i] = writable_maps(targets[i].pid, tmaps + i * MAPS_MAX, MAPS_MAX);
}

/* The minimal harvest of every target: written pages, protected again. */
static uint64_t raw_harvest(const int *pagemap_fds)
{
	static struct page_region vec[1024];
	uint64_t pages = 0;
	for (size_t i = 0; i < ntargets; i++) {
		const uint64_t (*maps)[2] = (const uint64_t (*)[2])(tmaps + i * MAPS_MAX);
		for (size_t m = 0; m < tmaps_n[i]; m++)
			pages += raw_harvest_range(pagemap_fds[i], maps[m][0], maps[m][1], vec, 1024);
	}
	return pages;
}

static pid_t spawn_watch(const char *pagescan, const char *interval, const char *duration, bool quiet, int *out_fd)
{
	size_t argc = 0;
	char **argv = calloc(ntargets + 16, sizeof(char *));
	char (*pids)[16] = calloc(ntargets, 16);
	if (!argv || !pids)
		die("out of memory");
	argv[argc++] = (char *)pagescan;
	argv[argc++] = "watch";
	for (size_t i = 0; i < ntargets; i++) {
		snprintf(pids[i], 16, "%d", (int)targets[i].pid);
		argv[argc++] = pids[i];
	}
	argv[argc++] = "-f";
	argv[argc++] = "json";
	argv[argc++] = "-i";
	argv[argc++] = (char *)interval;
	argv[argc++] = "--max-overhead";
	argv[argc++] = "off";
	argv[argc++] = "--max-processes";
	argv[argc++] = "1000";
	if (quiet)
		argv[argc++] = "-q";
	if (duration) {
		argv[argc++] = "-d";
		argv[argc++] = (char *)duration;
	}
	argv[argc] = NULL;
	int p[2];
	make_pipe(p);
	pid_t ps = spawn(argv, -1, p[1], STDERR_FILENO);
	close(p[1]);
	*out_fd = p[0];
	free(argv);
	free(pids);
	return ps;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bin", required_argument, NULL, 'b' },      { "pagescan", required_argument, NULL, 'p' },
		{ "procs", required_argument, NULL, 'N' },    { "size", required_argument, NULL, 's' },
		{ "permille", required_argument, NULL, 'f' }, { "idle", no_argument, NULL, 'I' },
		{ "duration", required_argument, NULL, 'd' }, { "pairs", required_argument, NULL, 'k' },
		{ "interval", required_argument, NULL, 'i' }, { "round", required_argument, NULL, 'n' },
		{ "raw-after", required_argument, NULL, 'r' }, { 0 },
	};
	char *bin_dir = NULL, *pagescan = NULL, *size_s = "1M", *permille_s = "100", *interval = "1s",
	     *duration = NULL, *raw_after = NULL;
	uint64_t nprocs = 10, pairs = 0;
	bool idle = false;
	int round = 1, c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': bin_dir = optarg; break;
		case 'p': pagescan = optarg; break;
		case 'N': nprocs = parse_u64(optarg, 1, MAX_PROCS, "procs"); break;
		case 's': size_s = optarg; break;
		case 'f': permille_s = optarg; break;
		case 'I': idle = true; break;
		case 'd': duration = optarg; break;
		case 'k': pairs = parse_u64(optarg, 1, 10000, "pairs"); break;
		case 'i': interval = optarg; break;
		case 'n': round = (int)parse_u64(optarg, 1, 100000, "round"); break;
		case 'r': raw_after = optarg; break;
		default: die("usage: see the comment at the top of bench_workload.c");
		}
	}
	if (!bin_dir || !pagescan || idle == (pairs > 0) || (idle && !duration))
		die("--bin, --pagescan and either --idle --duration DUR or --pairs K are required");
	uint64_t size = parse_size(size_s, "size");
	uint64_t raw_after_ns = raw_after ? parse_dur_ns(raw_after, "raw-after") : parse_dur_ns(interval, "interval") / 2;
	parse_u64(permille_s, 1, 1000, "permille");
	long avail = mem_available_kib();
	uint64_t need_kib = nprocs * (size >> 10);
	char cas[64];
	snprintf(cas, sizeof(cas), "%s_%" PRIu64 "x%s", idle ? "idle" : "harvest", nprocs, size_s);
	if (avail >= 0 && need_kib + (1u << 20) > (uint64_t)avail) {
		fprintf(stderr, "bench_workload: %s skipped: needs %" PRIu64 " MiB, %ld MiB available\n", cas,
		        need_kib >> 10, avail >> 10);
		emit("workload", cas, "skipped_low_memory", "flag", round, 1);
		return 0;
	}

	char tpath[4096];
	snprintf(tpath, sizeof(tpath), "%s/bench_target", bin_dir);
	char *hold[] = { tpath, "hold", size_s, "1", "1", NULL };
	char *writer[] = { tpath, "writer", size_s, permille_s, "16", "rotate", NULL };
	start_targets(idle ? hold : writer, nprocs);

	int pfd;
	uint64_t t0 = now_ns();
	pid_t ps = spawn_watch(pagescan, interval, duration, idle, &pfd);
	struct lreader *pl = malloc(sizeof(*pl));
	double *ratio = calloc(pairs + 1, sizeof(double)), *ps_us = calloc(pairs + 1, sizeof(double)),
	       *raw_us = calloc(pairs + 1, sizeof(double));
	int *pm = calloc(nprocs, sizeof(int));
	if (!pl || !ratio || !ps_us || !raw_us || !pm)
		die("out of memory");
	lr_init(pl, pfd);

	/* --pairs: phase 0: write, then the next record is pagescan's harvest;
	 * 1: write and harvest here; 2: the record that harvests nothing. */
	int phase = -1;
	uint64_t expect = 0, done = 0, records = 0;
	double cpu_first = -1, cpu_last = -1;
	uint64_t tcpu_first = 0, tcpu_last = 0;
	long hwm = -1, rss_first = -1, rss_last = -1;
	const char *l;
	while ((l = lr_next(pl, true))) {
		if (json_type(l, "start") && !idle && phase < 0) {
			for (size_t i = 0; i < ntargets; i++) {
				char path[64];
				snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)targets[i].pid);
				pm[i] = open(path, O_RDONLY | O_CLOEXEC);
				if (pm[i] < 0)
					die("%s: %s", path, strerror(errno));
			}
			read_target_maps();
		}
		if (!json_type(l, "interval"))
			continue;
		records++;
		uint64_t t = now_ns();
		double cpu = proc_cpu_ns(ps);
		long rss = proc_status_kib(ps, "VmRSS"), h = proc_status_kib(ps, "VmHWM");
		if (h > hwm)
			hwm = h;
		if (cpu >= 0) {
			if (cpu_first < 0) {
				cpu_first = cpu;
				tcpu_first = t;
				rss_first = rss;
			}
			cpu_last = cpu;
			tcpu_last = t;
			rss_last = rss;
		}
		if (idle)
			continue;
		if (phase == 0) {
			/* This record harvested the sets written after the last. */
			double w = json_num(l, "written_pages");
			if (w >= (double)expect) {
				ps_us[done] = json_num(l, "harvest_us");
				expect = write_sets();
				sleep_ns(raw_after_ns);
				uint64_t r0 = now_ns();
				uint64_t got = raw_harvest(pm);
				raw_us[done] = (double)(now_ns() - r0) / 1e3;
				/* A tick of pagescan's during the loop took some
				 * pages: not the same work, not counted. */
				if (got >= expect) {
					ratio[done] = raw_us[done] > 0 ? ps_us[done] / raw_us[done] : 0;
					done++;
				} else {
					fprintf(stderr, "bench_workload: a tick raced the minimal loop, again\n");
				}
				phase = 2;
			} else {
				fprintf(stderr, "bench_workload: a harvest raced the writes (%.0f of %" PRIu64 " pages), again\n",
				        w, expect);
				expect = write_sets();
			}
		} else if (phase == 2 || phase < 0) {
			if (done >= pairs) {
				kill(ps, SIGINT);
				phase = 3;
				continue;
			}
			/* The first record follows the arming: start from it. */
			expect = write_sets();
			phase = 0;
		}
	}
	struct rusage ru;
	int st = wait_child(ps, &ru);
	uint64_t t1 = now_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("pagescan watch failed (status 0x%x)", st);
	for (size_t i = 0; !idle && i < ntargets; i++)
		close(pm[i]);
	stop_targets();

	if (idle) {
		double span = (double)(tcpu_last - tcpu_first) / 1e9;
		emit("workload", cas, "cpu_total", "%", round, rusage_cpu_s(&ru) / ((double)(t1 - t0) / 1e9) * 100);
		if (span > 0)
			emit("workload", cas, "cpu_steady", "%", round, (cpu_last - cpu_first) / 1e9 / span * 100);
		emit("workload", cas, "vmhwm", "KiB", round, (double)(hwm > ru.ru_maxrss ? hwm : ru.ru_maxrss));
		emit("workload", cas, "rss_growth_from_first", "KiB", round, (double)(rss_last - rss_first));
		emit("workload", cas, "intervals", "count", round, (double)records);
	} else {
		for (size_t i = 0; i < done; i++) {
			emit("workload", cas, "pagescan_harvest_us", "us", (int)i + 1, ps_us[i]);
			emit("workload", cas, "ioctl_harvest_us", "us", (int)i + 1, raw_us[i]);
			emit("workload", cas, "harvest_vs_ioctl", "ratio", (int)i + 1, ratio[i]);
		}
	}
	return 0;
}
