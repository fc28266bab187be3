/* SPDX-License-Identifier: MIT */
/* Benchmark 1, dump speed: time whole processes listing the present and
 * swapped pages of a target, output to /dev/null, round by round with the
 * methods interleaved (this VM's speed drifts for seconds at a time).
 *
 *   bench_dump --bin DIR --pagescan PATH --case NAME --size SIZE --run R
 *              --stride S --rounds N
 *
 * Prints raw rows (bench,case,metric,unit,round,value) on stdout. */
#include <getopt.h>

#include "bench_common.h"

enum { M_PAGESCAN, M_PAGESCAN_JSON, M_IOCTL, M_IOCTL_ALL, M_IOCTL_SPLIT, M_NAIVE, M_VERSION, M_N };
static const char *mname[M_N] = { "pagescan", "pagescan_json", "ioctl", "ioctl_all", "ioctl_split", "naive",
	                          "pagescan_version" };
static const char *scanarg[M_N] = { [M_IOCTL] = "ioctl", [M_IOCTL_ALL] = "ioctl-all", [M_IOCTL_SPLIT] = "ioctl-split",
	                            [M_NAIVE] = "naive" };

static char *bin_dir, *pagescan, *case_name = "sparse";
static char pidbuf[16];
static char scanpath[4096];

static void argv_for(int m, char **argv)
{
	int n = 0;
	if (m == M_VERSION) {
		/* Start-up alone: exec, dynamic linking, argp, exit. */
		argv[n++] = pagescan;
		argv[n++] = "--version";
	} else if (m == M_PAGESCAN || m == M_PAGESCAN_JSON) {
		argv[n++] = pagescan;
		argv[n++] = "dump";
		argv[n++] = pidbuf;
		if (m == M_PAGESCAN_JSON) {
			argv[n++] = "-f";
			argv[n++] = "json";
		}
	} else {
		argv[n++] = scanpath;
		argv[n++] = (char *)scanarg[m];
		argv[n++] = pidbuf;
	}
	argv[n] = NULL;
}

/* Run one method; wall and CPU time in ms. */
static void timed(int m, double *wall, double *cpu)
{
	char *argv[8];
	struct rusage ru;
	argv_for(m, argv);
	uint64_t t0 = now_ns();
	pid_t pid = spawn(argv, -1, -1, STDERR_FILENO);
	int st = wait_child(pid, &ru);
	uint64_t t1 = now_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("%s failed (status 0x%x)", mname[m], st);
	*wall = (double)(t1 - t0) / 1e6;
	*cpu = rusage_cpu_s(&ru) * 1e3;
}

/* Run one method into a pipe; count pages and regions from its output. */
static void count(int m, uint64_t *pages, uint64_t *regions)
{
	char *argv[8];
	pid_t pid;
	argv_for(m, argv);
	struct lreader *lr = spawn_reader(argv, &pid);
	const char *l;
	*pages = *regions = 0;
	while ((l = lr_next(lr, true))) {
		unsigned long long a, b;
		if (m == M_PAGESCAN_JSON) {
			if (json_type(l, "summary")) {
				*pages = (uint64_t)json_num(l, "pages");
				*regions = (uint64_t)json_num(l, "regions");
			}
		} else if (m == M_PAGESCAN) {
			if (sscanf(l, "%llu regions, %llu pages", &a, &b) == 2) {
				*regions = a;
				*pages = b;
			}
		} else if (sscanf(l, "# %llu %llu", &a, &b) == 2) {
			*regions = a;
			*pages = b;
		}
	}
	lr_free(lr);
	int st = wait_child(pid, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("%s failed (status 0x%x)", mname[m], st);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bin", required_argument, NULL, 'b' },   { "pagescan", required_argument, NULL, 'p' },
		{ "case", required_argument, NULL, 'c' },  { "size", required_argument, NULL, 's' },
		{ "run", required_argument, NULL, 'r' },   { "stride", required_argument, NULL, 't' },
		{ "rounds", required_argument, NULL, 'n' }, { 0 },
	};
	char *size = "4G", *run = "16", *stride = "64";
	int rounds = 10, c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': bin_dir = optarg; break;
		case 'p': pagescan = optarg; break;
		case 'c': case_name = optarg; break;
		case 's': size = optarg; break;
		case 'r': run = optarg; break;
		case 't': stride = optarg; break;
		case 'n': rounds = (int)parse_u64(optarg, 1, 10000, "rounds"); break;
		default: die("usage: bench_dump --bin DIR --pagescan PATH [--case NAME --size S --run R --stride S --rounds N]");
		}
	}
	if (!bin_dir || !pagescan)
		die("--bin and --pagescan are required");
	snprintf(scanpath, sizeof(scanpath), "%s/bench_scan", bin_dir);

	/* The target: hold SIZE RUN STRIDE. */
	char tpath[4096];
	snprintf(tpath, sizeof(tpath), "%s/bench_target", bin_dir);
	char *targv[] = { tpath, "hold", size, run, stride, NULL };
	int tin[2], tout[2];
	make_pipe(tin);
	make_pipe(tout);
	pid_t tpid = spawn(targv, tin[0], tout[1], STDERR_FILENO);
	close(tin[0]);
	close(tout[1]);
	struct lreader lr;
	lr_init(&lr, tout[0]);
	const char *l = lr_next(&lr, true);
	if (!l || strncmp(l, "ready", 5) != 0)
		die("target did not start");
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)tpid);

	/* Same answer from every method, or the comparison is meaningless. */
	uint64_t pages[M_N], regions[M_N];
	for (int m = 0; m < M_VERSION; m++) {
		char name[64];
		count(m, &pages[m], &regions[m]);
		snprintf(name, sizeof(name), "%s_regions", mname[m]);
		emit("dump", case_name, name, "regions", 0, (double)regions[m]);
	}
	for (int m = 0; m < M_VERSION; m++) {
		if (pages[m] != pages[M_IOCTL])
			die("%s reports %" PRIu64 " pages, ioctl %" PRIu64, mname[m], pages[m], pages[M_IOCTL]);
	}
	emit("dump", case_name, "pages", "pages", 0, (double)pages[M_IOCTL]);

	/* One warm-up round (page cache, dynamic loader), then the measured ones. */
	double wall[M_N], cpu[M_N];
	for (int m = 0; m < M_N; m++)
		timed(m, &wall[m], &cpu[m]);
	for (int r = 1; r <= rounds; r++) {
		for (int i = 0; i < M_N; i++) {
			int m = (i + r) % M_N; /* rotate the order: no method always goes first */
			timed(m, &wall[m], &cpu[m]);
		}
		for (int m = 0; m < M_N; m++) {
			char name[64];
			emit("dump", case_name, mname[m], "ms", r, wall[m]);
			snprintf(name, sizeof(name), "%s_cpu", mname[m]);
			emit("dump", case_name, name, "ms", r, cpu[m]);
		}
		emit("dump", case_name, "ratio_pagescan_ioctl", "x", r, wall[M_PAGESCAN] / wall[M_IOCTL]);
		emit("dump", case_name, "ratio_pagescan_ioctl_all", "x", r, wall[M_PAGESCAN] / wall[M_IOCTL_ALL]);
		emit("dump", case_name, "ratio_ioctl_split_ioctl", "x", r, wall[M_IOCTL_SPLIT] / wall[M_IOCTL]);
		emit("dump", case_name, "ratio_pagescan_json_ioctl", "x", r, wall[M_PAGESCAN_JSON] / wall[M_IOCTL]);
		emit("dump", case_name, "ratio_naive_ioctl", "x", r, wall[M_NAIVE] / wall[M_IOCTL]);
		emit("dump", case_name, "ratio_pagescan_naive", "x", r, wall[M_PAGESCAN] / wall[M_NAIVE]);
		/* The same from CPU time: what other load on the machine does not skew. */
		emit("dump", case_name, "ratio_pagescan_ioctl_cpu", "x", r, cpu[M_PAGESCAN] / cpu[M_IOCTL]);
		emit("dump", case_name, "ratio_pagescan_ioctl_all_cpu", "x", r, cpu[M_PAGESCAN] / cpu[M_IOCTL_ALL]);
		emit("dump", case_name, "ratio_naive_ioctl_cpu", "x", r, cpu[M_NAIVE] / cpu[M_IOCTL]);
		emit("dump", case_name, "ratio_ioctl_split_ioctl_cpu", "x", r, cpu[M_IOCTL_SPLIT] / cpu[M_IOCTL]);
	}
	close(tin[1]);
	wait_child(tpid, NULL);
	return 0;
}
