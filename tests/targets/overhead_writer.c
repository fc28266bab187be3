/* SPDX-License-Identifier: MIT */
/*
 * overhead_writer: a heavy writer for the --max-overhead tests
 * (tests/e2e/overhead.bats), in victim's fifo protocol.
 *
 * Usage: overhead_writer CMDFIFO REPLYFIFO
 *   One command per line on CMDFIFO, one reply line each on REPLYFIFO.
 *
 *   map PAGES        -> ok 0xSTART 0xEND   private anonymous, 4 KiB pages
 *                                          (MADV_NOHUGEPAGE), populated
 *                                          before any tracking can start
 *   start            -> ok                 a thread stores into every page,
 *                                          in passes, until stop
 *   stop             -> ok PASSES          stops and joins it (its last
 *                                          pass is whole)
 *   sparse K FILE    -> ok NPAGES          stores into every K-th page once,
 *                                          then writes those pages to FILE
 *                                          as merged "0xS 0xE" lines (the
 *                                          truth of this command)
 *   exit CODE        -> ok                 then exit(CODE)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE ((unsigned long)sysconf(_SC_PAGESIZE)) /* the kernel's: 4, 16 or 64 KiB */

static volatile unsigned char *buf;
static unsigned long npages;
static atomic_bool running;
static unsigned long passes;
static pthread_t writer;

static void *write_passes(void *arg)
{
	(void)arg;
	unsigned char v = 1;
	while (atomic_load(&running)) {
		for (unsigned long i = 0; i < npages; i++)
			buf[i * PAGE + (i % 64)] = v;
		v++;
		passes++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: overhead_writer CMDFIFO REPLYFIFO\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	FILE *out = in ? fopen(argv[2], "w") : NULL;
	if (!out) {
		perror("overhead_writer: fifo");
		return 2;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	char line[512];
	while (fgets(line, sizeof(line), in)) {
		unsigned long n, k;
		char file[400];
		int code;
		if (sscanf(line, "map %lu", &n) == 1 && !buf && n) {
			void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				fprintf(out, "err map %m\n");
				continue;
			}
			madvise(p, n * PAGE, MADV_NOHUGEPAGE);
			memset(p, 0, n * PAGE);
			buf = p;
			npages = n;
			fprintf(out, "ok %p 0x%lx\n", p, (unsigned long)(uintptr_t)p + n * PAGE);
		} else if (strcmp(line, "start\n") == 0 && buf && !atomic_load(&running)) {
			passes = 0;
			atomic_store(&running, true);
			if (pthread_create(&writer, NULL, write_passes, NULL) != 0) {
				atomic_store(&running, false);
				fprintf(out, "err start\n");
				continue;
			}
			fprintf(out, "ok\n");
		} else if (strcmp(line, "stop\n") == 0 && atomic_load(&running)) {
			atomic_store(&running, false);
			pthread_join(writer, NULL);
			fprintf(out, "ok %lu\n", passes);
		} else if (sscanf(line, "sparse %lu %399s", &k, file) == 2 && buf && k && !atomic_load(&running)) {
			FILE *t = fopen(file, "w");
			if (!t) {
				fprintf(out, "err sparse %m\n");
				continue;
			}
			unsigned long cnt = 0;
			for (unsigned long i = 0; i < npages; i += k, cnt++) {
				buf[i * PAGE] ^= 0xff;
				/* k == 1 is one range; else one page each */
				if (k > 1 || i == 0)
					fprintf(t, "%p 0x%lx\n", (void *)(buf + i * PAGE),
					        (unsigned long)(uintptr_t)(buf + (k > 1 ? (i + 1) * PAGE : npages * PAGE)));
			}
			fclose(t);
			fprintf(out, "ok %lu\n", cnt);
		} else if (sscanf(line, "exit %d", &code) == 1) {
			fprintf(out, "ok\n");
			return code;
		} else {
			line[strcspn(line, "\n")] = 0;
			fprintf(out, "err unknown command '%s'\n", line);
		}
	}
	return 3;
}
