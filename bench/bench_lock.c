/* SPDX-License-Identifier: MIT */
/* Benchmark "lock": how long the target's own memory-map calls wait for
 * pagescan. PAGEMAP_SCAN holds the target's mmap lock for reading for its
 * whole walk, so the target's mmap, munmap, mprotect and brk wait until a
 * call returns (docs/kernel-interfaces.md#scanning-in-pieces).
 *
 * The target (bench_target mapper) populates SIZE of 4 KiB pages and then
 * maps, touches and unmaps 1 MiB in a loop, timing each mmap+munmap pair.
 * Per round, one after the other:
 *   idle     300 ms without pagescan (the pair's own time and the VM's noise)
 *   engage   `pagescan engage PID` (the arming pass)
 *   dump     `pagescan dump PID -m written --clear` (one harvest of engage's tracking)
 *   release  `pagescan release PID`
 *   harvest  `pagescan watch PID -i INTERVAL -n N+1 -q -f json`: each interval
 *            record but the first (which follows the arming) closes a window
 *            holding one harvest
 * Rows (ms): <phase>_pair_max (the longest pair in the window), <phase>_wait_max
 * (the longest time the target's thread was blocked inside one pair's mmap
 * and munmap: the lock wait itself, without preemption or the VM's stalls),
 * engage_sys and dump_sys (pagescan's system time: the scans' own cost),
 * harvest_us (the watch's median harvest time, µs).
 *
 *   bench_lock --bin DIR --pagescan PATH --size SIZE [--rounds N]
 *              [--interval 200ms] [--harvests 5] [--case NAME]
 * SIZE shrinks to half of MemAvailable when memory is short (noted on stderr).
 */
#include "bench_common.h"

static const char *bench = "lock";

struct target {
	pid_t pid;
	int in;             /* its stdin: commands */
	struct lreader out; /* its stdout: answers */
};

/* The longest pair, and the longest blocked time of one, overlapping [t0, t1], in ms. */
static void pairs_in(struct target *t, uint64_t t0, uint64_t t1, double *longest, double *blocked)
{
	char cmd[96];
	unsigned long long l, s, n;
	snprintf(cmd, sizeof(cmd), "m %" PRIu64 " %" PRIu64 "\n", t0, t1);
	put(t->in, cmd);
	const char *a = lr_next(&t->out, true);
	if (!a || sscanf(a, "pair %llu %llu %llu", &l, &s, &n) != 3)
		die("bad answer from the mapper: %s", a ? a : "(none)");
	if (n == 0)
		die("the mapper did no mmap+munmap in a window of %.1f ms", (double)(t1 - t0) / 1e6);
	*longest = (double)l / 1e6;
	*blocked = (double)s / 1e6;
}

/* Run pagescan with args, output to /dev/null; its system time in ms. */
static double run_pagescan(char *const argv[], const char *what)
{
	struct rusage ru;
	pid_t p = spawn(argv, -1, -1, STDERR_FILENO);
	int st = wait_child(p, &ru);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("pagescan %s failed (status 0x%x)", what, st);
	return (double)ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static void emit_window(const char *cas, const char *phase, int round, double longest, double blocked)
{
	char m[64];
	snprintf(m, sizeof(m), "%s_pair_max", phase);
	emit(bench, cas, m, "ms", round, longest);
	snprintf(m, sizeof(m), "%s_wait_max", phase);
	emit(bench, cas, m, "ms", round, blocked);
}

/* Time a pagescan command and report the target's longest pair meanwhile. */
static double phase(struct target *t, char *const argv[], const char *cas, const char *name, int round)
{
	double longest, blocked;
	uint64_t t0 = now_ns();
	double sys = run_pagescan(argv, name);
	uint64_t t1 = now_ns();
	pairs_in(t, t0, t1, &longest, &blocked);
	emit_window(cas, name, round, longest, blocked);
	return sys;
}

/* The watch: the longest pair per harvest window, max over the windows. */
static void watch_phase(struct target *t, char *pagescan, char *pid, char *interval, int harvests, const char *cas,
                        int round)
{
	char count[16];
	snprintf(count, sizeof(count), "%d", harvests + 1);
	char *argv[] = { pagescan, "watch", pid, "-i", interval, "-n", count, "-q", "-f", "json", "--max-overhead", "off", NULL };
	int pp[2];
	make_pipe(pp);
	pid_t ps = spawn(argv, -1, pp[1], STDERR_FILENO);
	close(pp[1]);
	struct lreader *pl = malloc(sizeof(*pl));
	double *hv = calloc((size_t)harvests + 1, sizeof(double));
	if (!pl || !hv)
		die("out of memory");
	lr_init(pl, pp[0]);
	double worst = 0, worst_blocked = 0;
	int seen = 0, nh = 0;
	uint64_t prev = 0;
	const char *l;
	while ((l = lr_next(pl, true))) {
		if (!json_type(l, "interval"))
			continue;
		uint64_t now = now_ns();
		double h = json_num(l, "harvest_us");
		if (seen++ > 0) {
			double longest, blocked;
			pairs_in(t, prev, now, &longest, &blocked);
			worst = longest > worst ? longest : worst;
			worst_blocked = blocked > worst_blocked ? blocked : worst_blocked;
			if (nh < harvests)
				hv[nh++] = h;
		}
		prev = now;
	}
	int st = wait_child(ps, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st) || nh == 0)
		die("pagescan watch failed (status 0x%x, %d harvests)", st, nh);
	close(pp[0]);
	emit_window(cas, "harvest", round, worst, worst_blocked);
	emit(bench, cas, "harvest_us", "us", round, median(hv, (size_t)nh));
	free(hv);
	free(pl);
}

int main(int argc, char **argv)
{
	char *bin_dir = NULL, *pagescan = NULL, *size_s = NULL, *cas = NULL, *interval = "200ms";
	int rounds = 3, harvests = 5;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i];
		char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			die("%s needs a value", a);
		if (strcmp(a, "--bin") == 0)
			bin_dir = v;
		else if (strcmp(a, "--pagescan") == 0)
			pagescan = v;
		else if (strcmp(a, "--size") == 0)
			size_s = v;
		else if (strcmp(a, "--rounds") == 0)
			rounds = (int)parse_u64(v, 1, 1000, "rounds");
		else if (strcmp(a, "--interval") == 0)
			interval = v;
		else if (strcmp(a, "--harvests") == 0)
			harvests = (int)parse_u64(v, 1, 1000, "harvests");
		else if (strcmp(a, "--case") == 0)
			cas = v;
		else
			die("unknown argument %s", a);
	}
	if (!bin_dir || !pagescan || !size_s)
		die("usage: bench_lock --bin DIR --pagescan PATH --size SIZE [--rounds N] [--interval I] "
		    "[--harvests N] [--case NAME]");
	parse_dur_ns(interval, "interval");

	/* The target's pages plus pagescan's and the rest of the machine's. */
	uint64_t size = parse_size(size_s, "size");
	long avail = mem_available_kib();
	char sbuf[32], cbuf[64];
	if (avail > 0 && size / 1024 > (uint64_t)avail / 2) {
		uint64_t fit = ((uint64_t)avail / 2 * 1024) & ~((1ull << 30) - 1);
		if (fit < (256ull << 20))
			fit = 256ull << 20;
		fprintf(stderr, "bench_lock: %s does not fit in half of MemAvailable (%ld MiB): %" PRIu64 " MiB instead\n",
		        size_s, avail / 1024, fit >> 20);
		size = fit;
	}
	snprintf(sbuf, sizeof(sbuf), "%" PRIu64 "M", size >> 20);
	if (!cas) {
		snprintf(cbuf, sizeof(cbuf), "mapper_%s", sbuf);
		cas = cbuf;
	}

	char tpath[4096];
	snprintf(tpath, sizeof(tpath), "%s/bench_target", bin_dir);
	for (int r = 1; r <= rounds; r++) {
		char *targv[] = { tpath, "mapper", sbuf, NULL };
		int tin[2], tout[2];
		make_pipe(tin);
		make_pipe(tout);
		struct target t = { .pid = spawn(targv, tin[0], tout[1], STDERR_FILENO), .in = tin[1] };
		close(tin[0]);
		close(tout[1]);
		lr_init(&t.out, tout[0]);
		const char *l = lr_next(&t.out, true);
		if (!l || strncmp(l, "ready", 5) != 0)
			die("target did not start");
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)t.pid);

		double longest, blocked;
		uint64_t t0 = now_ns();
		sleep_ns(300000000);
		pairs_in(&t, t0, now_ns(), &longest, &blocked);
		emit_window(cas, "idle", r, longest, blocked);

		char *eng[] = { pagescan, "engage", pid, NULL };
		emit(bench, cas, "engage_sys", "ms", r, phase(&t, eng, cas, "engage", r));
		char *dump[] = { pagescan, "dump", pid, "-m", "written", "--clear", "-f", "json", NULL };
		emit(bench, cas, "dump_sys", "ms", r, phase(&t, dump, cas, "dump", r));
		char *rel[] = { pagescan, "release", pid, NULL };
		phase(&t, rel, cas, "release", r);

		watch_phase(&t, pagescan, pid, interval, harvests, cas, r);

		close(t.in);
		wait_child(t.pid, NULL);
		close(tout[0]);
	}
	return 0;
}
