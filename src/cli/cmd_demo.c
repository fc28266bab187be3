/* SPDX-License-Identifier: MIT */
/* demo: watch a built-in workload, so one command shows pagescan at work.
 *
 * pagescan forks a child that waits on a pipe, engages tracking in it the
 * way `watch` engages a running process, then lets it start: a sequential
 * sweep over a buffer, a few hot spots in an otherwise cold buffer, a heap
 * that grows (brk) and is freed again, mappings that appear and vanish over
 * time, and a second thread writing a ring with a skewed random pattern.
 *
 * The workload's mappings live in an arena reserved (PROT_NONE) before the
 * fork; tracking covers that arena and [heap], so the view shows the
 * workload, not the libraries it inherited from pagescan. Its buffers are
 * mapped (not touched) before the fork, so tracking covers them at once. The child dies
 * with pagescan (PR_SET_PDEATHSIG) and is killed when the watch ends. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "loop.h"
#include "pagescan/kernel/launch.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/util.h"


#define DEMO_NAME "pagescan-demo"
#define PAGE ((size_t)PS_PAGE_SIZE)

/* The arena, in pages; a PROT_NONE page between parts keeps their VMAs apart. */
enum {
	ARENA_PAGES = 16384,
	SWEEP_PAGES = 4096,
	HOT_PAGES = 2048,
	RING_PAGES = 512,
	TSTACK_PAGES = 256,
	SLOT_PAGES = 256,
	NSLOTS = 6,
	SWEEP_OFF = 1,
	HOT_OFF = SWEEP_OFF + SWEEP_PAGES + 1,
	RING_OFF = HOT_OFF + HOT_PAGES + 1,
	TSTACK_OFF = RING_OFF + RING_PAGES + 1,
	SLOT_OFF = TSTACK_OFF + TSTACK_PAGES + 1,
};
_Static_assert(SLOT_OFF + NSLOTS * (SLOT_PAGES + 1) < ARENA_PAGES, "the demo arena is too small");

#define TICK_NS 10000000L /* the workload's step: 10 ms */

/* ---- the workload (child) ------------------------------------------------------- */

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41 /* Linux 5.17 */
#define PR_SET_VMA_ANON_NAME 0
#endif

static int map_part(char *arena, size_t off, size_t pages, const char *name)
{
	char *p = mmap(arena + off * PAGE, pages * PAGE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* "[anon:demo sweep]" in the maps where the kernel names anonymous
	 * memory (CONFIG_ANON_VMA_NAME); plain [anon] elsewhere. */
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, pages * PAGE, (unsigned long)name);
	return 0;
}

static volatile char *part(char *arena, size_t off)
{
	return (volatile char *)arena + off * PAGE;
}

static void unmap_part(char *arena, size_t off, size_t pages)
{
	/* Back to reserved: the mapping vanishes from the tracked set. */
	// cppcheck-suppress leakReturnValNotUsed ; MAP_FIXED over our own arena: nothing new to free
	if (mmap(arena + off * PAGE, pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
	         -1, 0) == MAP_FAILED)
		_exit(120);
}

static void *ring_writer(void *arg)
{
	volatile char *ring = arg;
	uint32_t x = 2463534242u;
	struct timespec pause = { .tv_nsec = 50000000 };

	for (;;) {
		/* Bursts of 16 pages at random places (xorshift), squared so they
		 * land more often near the ring's start. */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		uint64_t u = x % RING_PAGES, first = u * u / RING_PAGES;
		for (uint64_t p = first; p < first + 16 && p < RING_PAGES; p++)
			ring[p * PAGE + 64] = (char)x;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void sleep_until(struct timespec *next)
{
	next->tv_nsec += TICK_NS;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_nsec -= 1000000000L;
		next->tv_sec++;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
}

static __attribute__((noreturn)) void workload(char *arena)
{
	static const struct { size_t off, pages; } spots[] = { { 200, 16 }, { 1000, 64 }, { 1800, 8 } };
	/* Mapped by pagescan before the fork (tracked from the start). */
	volatile char *sweep = part(arena, SWEEP_OFF), *hot = part(arena, HOT_OFF);
	volatile char *ring = part(arena, RING_OFF), *tstack = part(arena, TSTACK_OFF);
	bool slot_live[NSLOTS] = { false };
	void *chunks[256];
	size_t nchunks = 0, pos = 0;
	int next_slot = 0;
	pthread_attr_t attr;
	pthread_t th;

	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstack(&attr, (void *)tstack, TSTACK_PAGES * PAGE) != 0 ||
	    pthread_create(&th, &attr, ring_writer, (void *)ring) != 0)
		_exit(120);

	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned long tick = 0;; tick++) {
		char v = (char)(tick | 1);

		/* A sequential sweep: 1000 pages/s, round and round. */
		for (int i = 0; i < 10; i++) {
			sweep[pos * PAGE] = v;
			pos = (pos + 1) % SWEEP_PAGES;
		}
		/* Hot spots, written at every step; the rest stays cold. */
		for (size_t s = 0; s < sizeof(spots) / sizeof(spots[0]); s++)
			for (size_t p = 0; p < spots[s].pages; p++)
				hot[(spots[s].off + p) * PAGE + 8] = v;
		/* The heap grows by 64 KiB 20 times a second to 16 MiB, then is
		 * freed (and trimmed) and grows again. */
		if (tick % 5 == 0) {
			if (nchunks == sizeof(chunks) / sizeof(chunks[0])) {
				while (nchunks)
					free(chunks[--nchunks]);
				malloc_trim(0);
			} else if ((chunks[nchunks] = malloc(64 * 1024))) {
				memset(chunks[nchunks], v, 64 * 1024);
				nchunks++;
			}
		}
		/* Every 2 s a new 1 MiB mapping, written once; the oldest of six
		 * goes away first. Live ones get their first pages touched. */
		if (tick % 200 == 0) {
			size_t off = SLOT_OFF + (size_t)next_slot * (SLOT_PAGES + 1);
			if (slot_live[next_slot])
				unmap_part(arena, off, SLOT_PAGES);
			if (map_part(arena, off, SLOT_PAGES, "demo new mapping") < 0)
				_exit(120);
			volatile char *p = part(arena, off);
			for (size_t i = 0; i < SLOT_PAGES; i++)
				p[i * PAGE] = v;
			slot_live[next_slot] = true;
			next_slot = (next_slot + 1) % NSLOTS;
		} else if (tick % 50 == 0) {
			for (int k = 0; k < NSLOTS; k++) {
				volatile char *p = (volatile char *)arena + (SLOT_OFF + (size_t)k * (SLOT_PAGES + 1)) * PAGE;
				for (size_t i = 0; slot_live[k] && i < 8; i++)
					p[i * PAGE] = v;
			}
		}
		sleep_until(&next);
	}
}

static __attribute__((noreturn)) void demo_child(pid_t parent, int go_fd, char *arena)
{
	sigset_t none;
	char c;
	ssize_t n;

	/* Die with pagescan, whatever kills it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, DEMO_NAME);
	/* Its own process group: Ctrl-C is pagescan's to handle. */
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
	}
	/* Tracking is engaged while this read blocks. */
	while ((n = read(go_fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(0);
	close(go_fd);
	workload(arena);
}

/* ---- pagescan (parent) -------------------------------------------------------------- */

/* The sinks: the heatmap on a terminal unless told otherwise; where the
 * terminal cannot show it, the text watch. */
static int make_sinks(struct ps_loop *l, struct ps_err *err)
{
	const struct ps_watch_args *a = l->a;
	const char *heatmap = a->heatmap;

	if (!a->no_heatmap && !a->have_format && isatty(STDOUT_FILENO))
		heatmap = "tui";
	if (ps_loop_make_sinks(l, heatmap, err) == 0)
		return 0;
	if (!heatmap)
		return -err->code;
	ps_warn("%s; showing the text watch instead", err->msg);
	*err = (struct ps_err){ 0 };
	return ps_loop_make_sinks(l, NULL, err);
}

int ps_cmd_demo(const struct ps_watch_args *args, struct ps_err *err)
{
	struct ps_watch_args a = *args;
	struct ps_loop l;
	int go[2] = { -1, -1 };
	int rc = PS_EXIT_FAIL;
	pid_t child = -1;

	if (ps_loop_init(&l, &a, err) < 0)
		return PS_EXIT_FAIL;
	char *arena = mmap(NULL, ARENA_PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena == MAP_FAILED) {
		ps_errf(err, errno, "cannot reserve memory for the demo: %s", strerror(errno));
		goto out;
	}
	/* The workload's fixed parts exist before it starts, so they are
	 * tracked from its first write; its other mappings come later. */
	int e = 0;
	if ((e = map_part(arena, SWEEP_OFF, SWEEP_PAGES, "demo sweep")) < 0 ||
	    (e = map_part(arena, HOT_OFF, HOT_PAGES, "demo hot spots")) < 0 ||
	    (e = map_part(arena, RING_OFF, RING_PAGES, "demo ring")) < 0 ||
	    (e = map_part(arena, TSTACK_OFF, TSTACK_PAGES, "demo thread stack")) < 0) {
		ps_errf(err, -e, "cannot map memory for the demo: %s", strerror(-e));
		goto out;
	}
	/* What to track: the workload's arena and its heap. */
	a.ranges.v[0] = (struct ps_rangespec){ .kind = PS_RANGE_ADDR, .start = (uintptr_t)arena,
	                                       .end = (uintptr_t)arena + ARENA_PAGES * PAGE };
	a.ranges.v[1] = (struct ps_rangespec){ .kind = PS_RANGE_SELECTOR, .selector = "[heap]" };
	a.ranges.n = 2;
	a.ranges_internal = true;
	if (pipe2(go, O_CLOEXEC) < 0) {
		ps_errf(err, errno, "pipe: %s", strerror(errno));
		goto out;
	}
	pid_t parent = getpid();
	fflush(NULL);
	child = fork();
	if (child < 0) {
		ps_errf(err, errno, "cannot start the demo workload: fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0) {
		close(go[1]);
		demo_child(parent, go[0], arena);
	}
	ps_close(&go[0]);
	munmap(arena, ARENA_PAGES * PAGE);
	arena = MAP_FAILED;

	if (ps_target_open(&l.t, child, err) < 0)
		goto out;
	/* The child names itself so at once; /proc may still show the old name. */
	snprintf(l.t.comm, sizeof(l.t.comm), "%s", DEMO_NAME);
	if (make_sinks(&l, err) < 0 || ps_loop_attach(&l, err) < 0)
		goto out;
	if (write(go[1], "g", 1) != 1) {
		ps_errf(err, errno, "cannot start the demo workload: %s", strerror(errno));
		goto out;
	}
	ps_close(&go[1]);
	if (ps_loop_run(&l, err) < 0) {
		ps_loop_end(&l, PS_END_ERROR, err->msg);
		goto out;
	}
	/* The workload runs until killed: still running here means the watch
	 * ended as asked (q, count, duration, signal). */
	int status;
	pid_t p;
	while ((p = waitpid(child, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (p == child) {
		child = -1;
		ps_errf(err, ECHILD, "the demo workload stopped unexpectedly (status %d)", ps_wait_status_code(status));
		goto out;
	}
	rc = PS_EXIT_OK;
out:
	/* Terminal restored (sinks destroyed) before main prints anything. */
	ps_loop_free(&l);
	if (arena != MAP_FAILED)
		munmap(arena, ARENA_PAGES * PAGE);
	if (child > 0) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	ps_close(&go[0]);
	ps_close(&go[1]);
	return rc;
}
