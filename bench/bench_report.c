/* SPDX-License-Identifier: MIT */
/* Aggregate the raw rows of a benchmark run into a summary CSV and a
 * Markdown report: every figure is the median of its rounds with min and
 * max; ratios were computed per round by the drivers (commands interleaved
 * round by round), so their median is the median of per-round ratios.
 *
 *   bench_report RAW.csv SUMMARY.csv REPORT.md
 *
 * RAW.csv: "# key: value" metadata lines, a header, then
 * bench,case,metric,unit,round,value rows. */
#include <math.h>

#include "bench_common.h"

struct group {
	char bench[32], cas[48], metric[64], unit[16];
	double *v;
	size_t n, cap;
	double med, min, max;
};

static struct group *groups;
static size_t ngroups, gcap;

struct meta {
	char key[32], val[256];
};
static struct meta metas[32];
static size_t nmetas;

static const char *meta(const char *k)
{
	for (size_t i = 0; i < nmetas; i++)
		if (strcmp(metas[i].key, k) == 0)
			return metas[i].val;
	return "?";
}

static struct group *find(const char *b, const char *c, const char *m, bool create, const char *unit)
{
	for (size_t i = 0; i < ngroups; i++)
		if (!strcmp(groups[i].bench, b) && !strcmp(groups[i].cas, c) && !strcmp(groups[i].metric, m))
			return &groups[i];
	if (!create)
		return NULL;
	if (ngroups == gcap) {
		gcap = gcap ? gcap * 2 : 64;
		groups = realloc(groups, gcap * sizeof(*groups));
		if (!groups)
			die("out of memory");
	}
	struct group *g = &groups[ngroups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->bench, sizeof(g->bench), "%s", b);
	snprintf(g->cas, sizeof(g->cas), "%s", c);
	snprintf(g->metric, sizeof(g->metric), "%s", m);
	snprintf(g->unit, sizeof(g->unit), "%s", unit);
	return g;
}

static void add(struct group *g, double v)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->v = realloc(g->v, g->cap * sizeof(double));
		if (!g->v)
			die("out of memory");
	}
	g->v[g->n++] = v;
}

/* Split a CSV line in place (no quoting in our rows). */
static int split(char *s, char **f, int max)
{
	int n = 0;
	f[n++] = s;
	for (char *p = s; *p && n < max; p++)
		if (*p == ',') {
			*p = 0;
			f[n++] = p + 1;
		}
	return n;
}

static const char *num(double v, char *buf, size_t n)
{
	double a = fabs(v);
	if (isnan(v))
		snprintf(buf, n, "n/a");
	else if (a >= 1e9)
		snprintf(buf, n, "%.2f G", v / 1e9);
	else if (a >= 1e6)
		snprintf(buf, n, "%.2f M", v / 1e6);
	else if (a >= 100)
		snprintf(buf, n, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, n, "%.1f", v);
	else if (a >= 0.1 || a == 0)
		snprintf(buf, n, "%.2f", v);
	else
		snprintf(buf, n, "%.3f", v);
	return buf;
}

/* "median [min–max]" */
static const char *cell(const struct group *g, char *buf, size_t n)
{
	char a[32], b[32], c[32];
	if (!g)
		return "–";
	if (g->n == 1 || g->min == g->max)
		snprintf(buf, n, "%s", num(g->med, a, sizeof(a)));
	else
		snprintf(buf, n, "%s [%s – %s]", num(g->med, a, sizeof(a)), num(g->min, b, sizeof(b)),
		         num(g->max, c, sizeof(c)));
	return buf;
}

/* ---- targets: the limits pagescan's performance is judged against ---------- */

struct target {
	const char *bench, *cas, *metric; /* cas "*": every case */
	bool use_max;                     /* judge the max, else the median */
	bool less;                        /* value must be < (<=) limit, else >= */
	double limit;
	const char *goal;
};

static const struct target targets[] = {
	{ "dump", "*", "ratio_pagescan_ioctl", false, true, 1.25,
	  "`dump` within 1.25× of the minimal PAGEMAP_SCAN loop (whole process, output included)" },
	{ "dump", "*", "ratio_pagescan_ioctl_cpu", false, true, 1.25, "the same in CPU time (immune to other load)" },
	{ "cost", "*", "watch_vs_inproc_1s", false, false, 0.95,
	  "target throughput under `watch -i 1s` ≥ 95 % of the in-process tracker" },
	{ "cost", "*", "watch_vs_inproc_100ms", false, false, 0.95,
	  "target throughput under `watch -i 100ms` ≥ 95 % of the in-process tracker" },
	{ "cost", "*", "watch_vs_inproc_1s_percpu", false, false, 0.95,
	  "same, per CPU-second of the workload thread, `-i 1s` (immune to other load)" },
	{ "cost", "*", "watch_vs_inproc_100ms_percpu", false, false, 0.95,
	  "same, per CPU-second of the workload thread, `-i 100ms`" },
	{ "cost", "*", "watchr_vs_inproc_100ms", false, false, 0.95,
	  "the same with every written region in the output (`watch -f json` without -q), `-i 100ms`" },
	{ "cost", "*", "watchr_vs_inproc_100ms_percpu", false, false, 0.95,
	  "same, per CPU-second of the workload thread" },
	{ "self", "*", "cpu_steady", false, true, 1.0, "pagescan CPU < 1 % of one CPU while watching (first to last interval)" },
	{ "self", "*", "cpu_total", false, true, 1.0,
	  "the same over pagescan's whole life (attach, arming and release included)" },
	{ "self", "*", "vmhwm", false, true, 8192, "pagescan peak RSS (VmHWM) < 8 MiB" },
	{ "self", "*", "rss_growth_after_5", true, true, 0.0001, "no RSS growth (from the 5th interval to the last)" },
	{ "pattern", "*", "vmhwm", false, true, 8192, "pagescan peak RSS (VmHWM) < 8 MiB for any write pattern" },
	{ "pattern", "*", "rss_growth_vs_bound", true, true, 100.0,
	  "RSS growth (5th interval to the last) within the page set's bound, a bit per tracked page (128 KiB for 4 GiB)" },
	{ "pattern", "*", "user_vs_kernel", false, true, 20.0,
	  "pagescan's user CPU < 20 % of the kernel time it spends (harvests)" },
	{ "attach", "*", "target_stopped", true, true, 1.0, "target stopped < 1 ms during injection (max of all rounds)" },
	{ "attach", "*", "stopped_whole_watch", false, true, 1.0,
	  "the target's longest wait over the whole watch, release included (a writing target)" },
	{ "lock", "*", "engage_wait_max", false, true, 2.0,
	  "the target's longest mmap+munmap wait during `engage` (the arming pass, in ~1 ms pieces) < 2 ms" },
	{ "lock", "*", "harvest_wait_max", false, true, 2.0,
	  "the same during the harvests of a `watch` (longest over 5 harvests) < 2 ms" },
	{ "workload", "*", "harvest_vs_ioctl", false, true, 1.10,
	  "harvesting N processes in one watch within 1.10× of the minimal PAGEMAP_SCAN loop over the same ranges" },
	{ "workload", "*", "cpu_steady", false, true, 1.0, "pagescan CPU < 1 % of one CPU watching idle small processes at 1 s" },
	{ "workload", "*", "vmhwm", false, true, 16384, "pagescan peak RSS < 16 MiB watching idle small processes" },
	{ "thp", "*", "tick_share_projected", false, true, 2.0,
	  "THP-backed target, 1 % written per 100 ms tick: pagescan's share of a core projected to 64 GiB < 2 %" },
	{ "forkrun", "*", "run_vs_inproc_1s", false, false, 0.95,
	  "a workload of processes under `run -i 1s` (following forks) ≥ 95 % of its throughput under one in-process tracker per process" },
	{ "forkrun", "*", "runoff_vs_inproc_1s", false, false, 0.95,
	  "the same with fixed intervals (`--max-overhead off`), `-i 1s`" },
	{ "forkrun", "*", "runoff_vs_inproc_100ms", false, false, 0.95,
	  "the same with fixed intervals, `-i 100ms`" },
	{ "forkrun", "*", "runoff_vs_inproc_1s_cpu_per_child", false, true, 1.05,
	  "short-lived children: the CPU per child, pagescan's included, under `run -i 1s` < 1.05× the in-process trackers' (immune to other load)" },
};

static void write_targets(FILE *f)
{
	char b1[96], v[32], lim[32];
	fprintf(f, "## Targets\n\n| goal | case | judged | all runs: median [min – max] | limit | met |\n"
	           "|---|---|---|---|---|---|\n");
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		const struct target *tg = &targets[t];
		for (size_t i = 0; i < ngroups; i++) {
			const struct group *g = &groups[i];
			if (strcmp(g->bench, tg->bench) || strcmp(g->metric, tg->metric) ||
			    (strcmp(tg->cas, "*") && strcmp(tg->cas, g->cas)))
				continue;
			double x = tg->use_max ? g->max : g->med;
			bool zero = tg->limit < 0.001; /* "no growth": at most 0 */
			bool ok = tg->less ? (zero ? x <= 0 : x < tg->limit) : x >= tg->limit;
			fprintf(f, "| %s | %s | %s: **%s %s** | %s %s | %s %s %s | %s |\n", tg->goal, g->cas,
			        tg->use_max ? "max" : "median", num(x, v, sizeof(v)), g->unit, cell(g, b1, sizeof(b1)), g->unit,
			        tg->less ? (zero ? "≤" : "<") : "≥", zero ? "0" : num(tg->limit, lim, sizeof(lim)), g->unit,
			        ok ? "yes" : "**no**");
		}
	}
	fprintf(f, "\n");
}

/* ---- sections ---------------------------------------------------------------- */

static void generic_table(FILE *f, const char *bench)
{
	char b[96];
	fprintf(f, "| case | metric | median [min – max] | unit | runs |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < ngroups; i++) {
		const struct group *g = &groups[i];
		if (strcmp(g->bench, bench))
			continue;
		fprintf(f, "| %s | %s | %s | %s | %zu |\n", g->cas, g->metric, cell(g, b, sizeof(b)), g->unit, g->n);
	}
	fprintf(f, "\n");
}

/* Cost: one table per workload, one row per tracking mode. */
static void cost_tables(FILE *f)
{
	char cases[16][48];
	size_t nc = 0;
	for (size_t i = 0; i < ngroups; i++) {
		if (strcmp(groups[i].bench, "cost"))
			continue;
		size_t k;
		for (k = 0; k < nc && strcmp(cases[k], groups[i].cas); k++)
			;
		if (k == nc && nc < 16)
			snprintf(cases[nc++], sizeof(cases[0]), "%s", groups[i].cas);
	}
	for (size_t c = 0; c < nc; c++) {
		char b1[96], b2[96], b3[96], b4[96], name[128];
		fprintf(f, "**%s**\n\n| mode | throughput | relative to none | per CPU-second of the workload | "
		           "relative to none | worst 100 ms slice | pagescan CPU %% |\n|---|---|---|---|---|---|---|\n",
		        cases[c]);
		for (size_t i = 0; i < ngroups; i++) {
			const struct group *g = &groups[i];
			if (strcmp(g->bench, "cost") || strcmp(g->cas, cases[c]))
				continue;
			/* A mode's own row: its throughput metric, not a derived one. */
			const char *m = g->metric;
			if (strstr(m, "_rel") || strstr(m, "_min100ms") || strstr(m, "_percpu") || strstr(m, "_pagescan_cpu") ||
			    strstr(m, "_vs_inproc") || strstr(m, "_est") || strstr(m, "_loss"))
				continue;
			char b5[96], b6[96];
			snprintf(name, sizeof(name), "%s_rel", m);
			const struct group *rel = find("cost", cases[c], name, false, "");
			snprintf(name, sizeof(name), "%s_percpu", m);
			const struct group *pc = find("cost", cases[c], name, false, "");
			snprintf(name, sizeof(name), "%s_percpu_rel", m);
			const struct group *pcrel = find("cost", cases[c], name, false, "");
			snprintf(name, sizeof(name), "%s_min100ms", m);
			const struct group *mn = find("cost", cases[c], name, false, "");
			snprintf(name, sizeof(name), "%s_pagescan_cpu", m);
			const struct group *cpu = find("cost", cases[c], name, false, "");
			fprintf(f, "| %s | %s %s | %s | %s | %s | %s | %s |\n", m, cell(g, b1, sizeof(b1)), g->unit,
			        rel ? cell(rel, b2, sizeof(b2)) : "1", cell(pc, b5, sizeof(b5)),
			        pcrel ? cell(pcrel, b6, sizeof(b6)) : "1", cell(mn, b3, sizeof(b3)),
			        cpu ? cell(cpu, b4, sizeof(b4)) : "");
		}
		for (size_t i = 0; i < ngroups; i++) {
			const struct group *g = &groups[i];
			if (!strcmp(g->bench, "cost") && !strcmp(g->cas, cases[c]) && strstr(g->metric, "_vs_inproc"))
				fprintf(f, "| **%s** | %s × | | | | | |\n", g->metric, cell(g, b1, sizeof(b1)));
		}
		fprintf(f, "\n");
	}
}

static void section(FILE *f, const char *bench, const char *title, const char *intro)
{
	bool any = false;
	for (size_t i = 0; i < ngroups && !any; i++)
		any = !strcmp(groups[i].bench, bench);
	if (!any)
		return;
	fprintf(f, "## %s\n\n%s\n\n", title, intro);
	if (!strcmp(bench, "cost"))
		cost_tables(f);
	else
		generic_table(f, bench);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		die("usage: bench_report RAW.csv SUMMARY.csv REPORT.md");
	FILE *in = fopen(argv[1], "re");
	if (!in)
		die("open %s: %s", argv[1], strerror(errno));
	char line[1024];
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] == '#') {
			char *colon = strchr(line, ':');
			if (colon && nmetas < 32) {
				*colon = 0;
				char *v = colon + 1;
				while (*v == ' ')
					v++;
				snprintf(metas[nmetas].key, sizeof(metas[0].key), "%.31s", line + 2);
				snprintf(metas[nmetas].val, sizeof(metas[0].val), "%.255s", v);
				nmetas++;
			}
			continue;
		}
		char *f[8];
		if (split(line, f, 8) != 6 || !strcmp(f[0], "bench"))
			continue;
		char *end;
		double v = strtod(f[5], &end);
		if (*end)
			die("bad value in row: %s", f[5]);
		add(find(f[0], f[1], f[2], true, f[3]), v);
	}
	fclose(in);
	for (size_t i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];
		double *tmp = malloc(g->n * sizeof(double));
		if (!tmp)
			die("out of memory");
		memcpy(tmp, g->v, g->n * sizeof(double));
		g->med = median(tmp, g->n);
		g->min = tmp[0];
		g->max = tmp[g->n - 1];
		free(tmp);
	}

	FILE *s = fopen(argv[2], "we");
	if (!s)
		die("open %s: %s", argv[2], strerror(errno));
	fprintf(s, "bench,case,metric,unit,runs,median,min,max\n");
	for (size_t i = 0; i < ngroups; i++) {
		const struct group *g = &groups[i];
		fprintf(s, "%s,%s,%s,%s,%zu,%.6g,%.6g,%.6g\n", g->bench, g->cas, g->metric, g->unit, g->n, g->med, g->min,
		        g->max);
	}
	fclose(s);

	FILE *m = fopen(argv[3], "we");
	if (!m)
		die("open %s: %s", argv[3], strerror(errno));
	fprintf(m, "# pagescan benchmarks (%s run)\n\n", meta("mode"));
	fprintf(m, "| | |\n|---|---|\n| date | %s |\n| pagescan | %s |\n| kernel | %s |\n| CPU | %s |\n"
	           "| cores | %s |\n| memory | %s |\n| load average at start | %s |\n| nice | %s |\n| wall time | %s |\n\n",
	        meta("date"), meta("pagescan"), meta("kernel"), meta("cpu"), meta("cores"), meta("memory"), meta("load"),
	        meta("nice"), meta("duration"));
	fprintf(m, "Every figure is the median of its runs, [min – max] after it. Ratios are "
	           "medians of per-round ratios: the compared commands ran interleaved, round by "
	           "round, because this VM switches between a fast and a slow mode for seconds "
	           "at a time. See README.md for what each benchmark measures.\n\n");
	write_targets(m);
	section(m, "dump", "1. Dump speed",
	        "Wall time of whole processes (start to exit, output to /dev/null) listing present|swapped "
	        "pages of the target. `ioctl`: minimal PAGEMAP_SCAN loop, return mask present|swapped; "
	        "`ioctl_all`: the same loop returning every category in every mapping; "
	        "`ioctl_split`: the output of `ioctl_all`, asking for FILE only outside private anonymous mappings "
	        "(as `pagescan dump` does); "
	        "`naive`: 8 bytes of /proc/PID/pagemap per page. `_cpu`: CPU time of the same process.");
	section(m, "cost", "2. Cost to the target",
	        "Throughput the workload measures itself (one thread, 1 GiB) while untracked, under `pagescan "
	        "watch -f json -q` started on the running workload (`watch`: totals and per-mapping counts, the "
	        "same work as the in-process tracker), under `pagescan watch -f json` (`watchr`: every written "
	        "region written out too, read by the driver), under an in-process tracker with the same kernel "
	        "mechanism (`inproc`: userfaultfd WP_ASYNC + PAGEMAP_SCAN get-and-clear from a thread of the "
	        "workload, counting) and under mprotect+SIGSEGV (`mprot`). `watch_vs_inproc`, "
	        "`watchr_vs_inproc`: per-round ratios.");
	section(m, "self", "3. pagescan's own cost",
	        "`pagescan watch -i 1s -f json` on a fully populated target that writes a new 10 % of its pages "
	        "(runs of 16) after every interval. `cpu_total`: CPU time / wall time over pagescan's whole "
	        "life; `cpu_steady`, `utime_steady`, `stime_steady`: between the first and the last interval "
	        "(stime is the kernel's page-table walk done for pagescan); `cpu_to_first_interval`: CPU time "
	        "from the start to the first record (attach, arming: write-protecting every page, one harvest); "
	        "`cpu_after_last_interval`: from the last record to the exit (the kernel un-protects every page "
	        "as pagescan unregisters the mappings in pieces of about 1 ms). `rss_growth_after_5`: VmRSS at the last "
	        "interval minus VmRSS at the 5th (buffers reach their working size in the first intervals).");
	section(m, "pattern", "3a. pagescan's own cost by write pattern",
	        "`pagescan watch -q -f json` at 1 s and 100 ms on a fully populated target that writes 72,000 "
	        "pages/s by itself (not in step with the ticks): `random` pages of the whole mapping (~7 % of "
	        "4 GiB a second, scattered: the worst case for a list of ranges), a `seq`uential sweep, random "
	        "pages of a `hot` 64 MiB. Rows as in 3; `cpu_user_s`, `cpu_sys_s`: rusage over the whole life; "
	        "`user_vs_kernel`: user over system time between the first and the last record (the system "
	        "time is nearly all harvesting; /proc/PID/stat, 10 ms resolution); `user_vs_harvest`: the "
	        "same user time over the harvests' wall time (`harvest_us` summed).");
	section(m, "harvest", "3b. Harvest time per interval",
	        "`harvest_us` from the JSON records, by tracked size and fraction written per interval (the "
	        "same pages each time, runs of 16; MAP_NORESERVE, only written pages populated). Only "
	        "intervals whose write set finished before the harvest are counted.");
	section(m, "attach", "4. Attach cost",
	        "`time_to_start`: from starting `pagescan watch` to its first record (target engaged and armed). "
	        "`target_stopped`: longest time the target's main thread (the one injected into) slept while "
	        "pagescan attached, seen by the thread itself spinning on clock_gettime. `target_preempted`: "
	        "its longest gap from preemption only (other load). `stopped_whole_watch`: longest sleep over "
	        "pagescan's whole life, release included. `preempted_no_pagescan`: longest gap in an equally "
	        "long window without pagescan.");
	section(m, "lock", "5. The target's mmap lock",
	        "A populated target (4 KiB pages) whose thread maps, touches and unmaps 1 MiB in a loop and "
	        "times each mmap+munmap: PAGEMAP_SCAN holds its mmap lock for a call's whole walk. "
	        "`<phase>_pair_max`: the longest pair during `idle` (no pagescan), `engage`, one `dump -m "
	        "written --clear`, `release`, and the harvests of a `watch -i 200ms` (the longest over 5); "
	        "`<phase>_wait_max`: the longest time the thread was blocked inside one pair (the lock wait itself: "
	        "the pair's time less the thread's CPU time and its wait for a CPU; preemption and VM stalls left out). "
	        "`engage_sys`, `dump_sys`: pagescan's system time (the scans); `harvest_us`: median harvest.");
	section(m, "workload", "6. Workloads: several processes in one watch",
	        "`harvest_<N>x<SIZE>`: N writer processes under `watch PID...`; after one record each writes "
	        "10 % of its mapping and the next record's `harvest_us` is pagescan's harvest of all N "
	        "(`pagescan_harvest_us`); then each writes again and the benchmark harvests them itself with "
	        "the minimal loop, one PAGEMAP_SCAN get-and-protect of the written pages per writable mapping "
	        "on the registration pagescan holds (`ioctl_harvest_us`). `harvest_vs_ioctl`: per-pair ratios. "
	        "`idle_<N>x1M`: N idle populated processes under `watch -q -i 1s`: pagescan's CPU between its "
	        "first and last record (`cpu_steady`) and its peak RSS.");
	section(m, "thp", "7. A big THP-backed target, 1 % written per tick",
	        "`thp_<SIZE>_10pm_100ms`: a populated THP-backed target that writes the same 1 % of its memory "
	        "(one huge page in 100, whole) per tick under `watch -q -i 100ms`. `tick_cpu_us`: pagescan's CPU "
	        "over a tick that harvested the whole set (pagescan stopped while the target writes); "
	        "`tick_share`: that at 10 ticks a second; `ioctl_*`: the minimal get-and-protect loop over the "
	        "same set; `tick_cpu_vs_ioctl`: per-pair ratios; `*_projected`: times 64 GiB / SIZE (an upper "
	        "bound). `cpu_share`: free-running, with `written_per_tick` of `set_pages` actually written.");
	section(m, "forkrun", "8. A workload of processes under `run`",
	        "`bench_forkrun` (bench/results/forkrun.md): `fork`: K children forked together, each writing random "
	        "pages of its own copy of SIZE for a fixed time (writes/s, summed); `churn`: short-lived children, K "
	        "at a time, each 1,000 random writes over memory it inherited (make-like); `signals`: two threads "
	        "exchanging signals (round trips/s). Each a whole run, untracked (`none`), under `pagescan run -q "
	        "-i I` (`run`: the default budget; `runoff`: `--max-overhead off`) and with one in-process tracker "
	        "per process (`inproc`: its own userfaultfd WP_ASYNC and a thread harvesting with PAGEMAP_SCAN "
	        "every I). `*_vs_inproc_*`: per-round ratios.");
	fclose(m);
	return 0;
}
