/* SPDX-License-Identifier: MIT */
/* Benchmark 4, attach cost: time from starting `pagescan watch` to its first
 * record ("start": the target is engaged and armed), and how long the
 * target is stopped meanwhile, seen from the target: its main thread (the
 * one pagescan injects into) spins on clock_gettime and keeps the largest
 * gap between two readings during which it slept (ptrace stop, lock wait),
 * apart from gaps where it was only preempted by other load.
 *
 *   bench_attach --bin DIR --pagescan PATH [--size SIZE] [--rounds N]
 *
 * Each round also measures the largest gap over an equally long window
 * without pagescan (scheduling noise of this machine) and the largest sleep
 * over pagescan's whole life (attach, one tick, release). Raw rows on stdout. */
#include <getopt.h>

#include "bench_common.h"

static int tin;
static struct lreader tl;

static const char *ask(const char *cmd)
{
	put(tin, cmd);
	const char *l = lr_next(&tl, true);
	if (!l)
		die("the target died");
	return l;
}

/* Longest gaps (ms) overlapping [t0, t1]: slept (stopped), preempted. */
static void gaps(uint64_t t0, uint64_t t1, double *slept, double *preempted)
{
	unsigned long long s, p;
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "g %" PRIu64 " %" PRIu64 "\n", t0, t1);
	const char *l = ask(cmd);
	if (sscanf(l, "gap %llu %llu", &s, &p) != 2)
		die("bad answer from the target: %s", l);
	*slept = (double)s / 1e6;
	*preempted = (double)p / 1e6;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bin", required_argument, NULL, 'b' },  { "pagescan", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' }, { "rounds", required_argument, NULL, 'n' },
		{ 0 },
	};
	char *bin_dir = NULL, *pagescan = NULL, *size = "256M";
	int rounds = 20, c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': bin_dir = optarg; break;
		case 'p': pagescan = optarg; break;
		case 's': size = optarg; break;
		case 'n': rounds = (int)parse_u64(optarg, 1, 10000, "rounds"); break;
		default: die("usage: bench_attach --bin DIR --pagescan PATH [--size SIZE] [--rounds N]");
		}
	}
	if (!bin_dir || !pagescan)
		die("--bin and --pagescan are required");

	char tpath[4096];
	snprintf(tpath, sizeof(tpath), "%s/bench_target", bin_dir);
	char *targv[] = { tpath, "spin", size, NULL };
	int in[2], out[2];
	make_pipe(in);
	make_pipe(out);
	pid_t tpid = spawn(targv, in[0], out[1], STDERR_FILENO);
	close(in[0]);
	close(out[1]);
	tin = in[1];
	lr_init(&tl, out[0]);
	const char *l = lr_next(&tl, true);
	if (!l || strncmp(l, "ready", 5) != 0)
		die("target did not start");

	char pid[16], cas[64];
	snprintf(pid, sizeof(pid), "%d", (int)tpid);
	snprintf(cas, sizeof(cas), "spin_%s", size);
	char *pargv[] = { pagescan, "watch", pid, "-i", "1s", "-f", "json", "--max-overhead", "off", NULL };
	struct lreader *pl = malloc(sizeof(*pl));
	if (!pl)
		die("out of memory");

	for (int r = 0; r <= rounds; r++) {
		int p[2];
		make_pipe(p);
		uint64_t t0 = now_ns();
		pid_t ps = spawn(pargv, -1, p[1], STDERR_FILENO);
		close(p[1]);
		lr_init(pl, p[0]);
		while ((l = lr_next(pl, true)) && !json_type(l, "start"))
			;
		uint64_t t1 = now_ns();
		if (!l)
			die("pagescan watch did not start");
		double stopped, preempted;
		gaps(t0, t1, &stopped, &preempted);
		kill(ps, SIGINT);
		while (lr_next(pl, true))
			;
		int st = wait_child(ps, NULL);
		uint64_t t2 = now_ns();
		close(p[0]);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("pagescan watch failed (status 0x%x)", st);
		double life, life_p;
		gaps(t0, t2, &life, &life_p);

		/* The same length of time without pagescan: this machine's noise. */
		uint64_t b0 = now_ns();
		sleep_ns(t1 - t0);
		double base, base_p;
		gaps(b0, now_ns(), &base, &base_p);
		if (r == 0)
			continue; /* warm-up: page cache, dynamic loader */
		emit("attach", cas, "time_to_start", "ms", r, (double)(t1 - t0) / 1e6);
		emit("attach", cas, "target_stopped", "ms", r, stopped);
		emit("attach", cas, "target_preempted", "ms", r, preempted);
		emit("attach", cas, "stopped_whole_watch", "ms", r, life);
		emit("attach", cas, "preempted_no_pagescan", "ms", r, base_p > base ? base_p : base);
	}
	free(pl);
	close(tin);
	kill(tpid, SIGTERM);
	wait_child(tpid, NULL);
	return 0;
}
