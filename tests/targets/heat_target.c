/* SPDX-License-Identifier: MIT */
/*
 * heat_target: a process with one hot area and one cold area, for the
 * heatmap end-to-end tests.
 *
 * Usage: heat_target READYFIFO [HOTPAGES [COLDPAGES]]
 *   1. maps HOTPAGES (default 256) and COLDPAGES (default 256) private
 *      anonymous pages as two separate mappings (PROT_NONE pages before,
 *      between and after them keep the kernel from merging them with each
 *      other or with a neighbour);
 *   2. opens READYFIFO for writing (waits for the reader) and writes
 *      "ready PID 0xHOT 0xCOLD\n" (the two start addresses, lowercase hex
 *      as pagescan prints them), then closes it;
 *   3. writes one byte into every hot page, again and again (a 1 ms pause
 *      between sweeps), and never touches the cold pages; runs until killed.
 * Calls prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY). Exit status 120 on a usage
 * or setup error, with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PAGE ((unsigned long)sysconf(_SC_PAGESIZE)) /* the kernel's: 4, 16 or 64 KiB */

static unsigned long pages_arg(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 262144) {
		fprintf(stderr, "heat_target: page count must be 1..262144, not \"%s\"\n", s);
		exit(120);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long hot = 256, cold = 256;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: heat_target READYFIFO [HOTPAGES [COLDPAGES]]\n");
		return 120;
	}
	if (argc > 2)
		hot = pages_arg(argv[2]);
	if (argc > 3)
		cold = pages_arg(argv[3]);
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);

	size_t len = (1 + hot + 1 + cold + 1) * PAGE;
	char *guard = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED) {
		fprintf(stderr, "heat_target: mmap: %s\n", strerror(errno));
		return 120;
	}
	char *base = guard + PAGE;
	volatile char *hot_p = (volatile char *)base;
	char *cold_p = base + (hot + 1) * PAGE;
	if (mprotect(base, hot * PAGE, PROT_READ | PROT_WRITE) < 0 ||
	    mprotect(cold_p, cold * PAGE, PROT_READ | PROT_WRITE) < 0) {
		fprintf(stderr, "heat_target: mprotect: %s\n", strerror(errno));
		return 120;
	}

	int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "heat_target: cannot open %s: %s\n", argv[1], strerror(errno));
		return 120;
	}
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "ready %d %p %p\n", (int)getpid(), (void *)base, (void *)cold_p);
	if (write(fd, msg, (size_t)n) != n) {
		fprintf(stderr, "heat_target: cannot write to %s: %s\n", argv[1], strerror(errno));
		return 120;
	}
	close(fd);

	struct timespec pause = { .tv_nsec = 1000000 };
	for (unsigned char v = 1;; v++) {
		for (unsigned long i = 0; i < hot; i++)
			hot_p[i * PAGE + (i % 64)] = (char)(v | 1);
		nanosleep(&pause, NULL);
	}
}
